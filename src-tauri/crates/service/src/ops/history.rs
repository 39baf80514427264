//! Reading the request ledger: History's filtered pages, one request's
//! detail, the values its filters offer, exports to a file, and the
//! retention job that deletes kept request text when its time is up.

use std::path::Path;

use serde::Serialize;
use switchboard_core::{AppError, ErrorCode, ExportFormat, LedgerFilter, LedgerPage, RequestRecord, RequestText};
use switchboard_store::ledger::{self, Resolved};
use switchboard_store::queries::{request_texts, requests};

use crate::state::AppState;

/// One request with everything kept about it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct RequestDetail {
    pub record: RequestRecord,
    /// The prompt and answer, where the use case keeps text and the period has not ended.
    pub text: Option<RequestText>,
}

/// The values History's filters offer: what the ledger holds.
#[derive(Debug, Clone, Default, Serialize, specta::Type)]
pub struct LedgerFacets {
    pub use_cases: Vec<String>,
    pub providers: Vec<String>,
    pub models: Vec<String>,
    pub callers: Vec<String>,
}

pub async fn page(
    state: &AppState,
    filter: &LedgerFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<LedgerPage, AppError> {
    let r = Resolved::local(filter)?;
    ledger::page(state.store().ledger_reader().await, &r, cursor, limit).await
}

/// How many rows `filter` matches; none where only reading every row could tell (a search).
pub async fn count(state: &AppState, filter: &LedgerFilter) -> Result<Option<u32>, AppError> {
    let r = Resolved::local(filter)?;
    ledger::count(state.store().ledger_reader().await, &r).await
}

pub async fn detail(state: &AppState, id: &str) -> Result<RequestDetail, AppError> {
    let pool = state.store().ledger_reader().await;
    let record = requests::get(pool, id)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no request '{id}' in the ledger")))?;
    let text = request_texts::get(pool, id, &switchboard_store::now()).await?;
    Ok(RequestDetail { record, text })
}

pub async fn facets(state: &AppState) -> Result<LedgerFacets, AppError> {
    let f = ledger::facets(state.store().ledger_reader().await).await?;
    Ok(LedgerFacets { use_cases: f.use_cases, providers: f.providers, models: f.models, callers: f.callers })
}

/// Streams the rows `filter` selects into `path` (written beside it, then
/// moved into place, so a failed export leaves no half file); returns how many.
pub async fn export_to(
    state: &AppState,
    filter: &LedgerFilter,
    format: ExportFormat,
    path: &Path,
) -> Result<u64, AppError> {
    let r = Resolved::local(filter)?;
    if !path.is_absolute() || path.file_name().is_none() {
        return Err(AppError::for_field("path", "choose a file to export to"));
    }
    let Some(dir) = path.parent().filter(|d| d.is_dir()) else {
        return Err(AppError::for_field("path", format!("the folder of {} does not exist", path.display())));
    };
    let io =
        |e: std::io::Error| AppError::new(ErrorCode::StorageFailed, format!("could not write {}: {e}", path.display()));
    let tmp =
        tempfile::Builder::new().prefix(".switchboard-export-").suffix(".partial").tempfile_in(dir).map_err(io)?;
    let (file, tmp_path) = tmp.into_parts();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let n = ledger::export(state.store().ledger_reader().await, &r, format, &mut out).await?;
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    tmp_path.persist(path).map_err(|e| io(e.error))?;
    Ok(n)
}

/// Deletes request text whose retention period has ended; returns how many.
pub async fn purge_expired_text(state: &AppState) -> Result<u64, AppError> {
    Ok(request_texts::delete_expired(state.store().pool(), &switchboard_store::now()).await?)
}

/// The newest `limit` rows, for checks that want the latest requests as they are.
pub async fn recent_requests(state: &AppState, limit: u32) -> Result<Vec<RequestRecord>, AppError> {
    Ok(requests::recent(state.store().ledger_reader().await, limit.clamp(1, switchboard_core::MAX_PAGE_ROWS)).await?)
}
