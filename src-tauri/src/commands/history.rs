//! History, costs and estimates: the ledger read page by page, one request's
//! detail, exports to a file the user picks, the Costs page's report, and a
//! request's expected cost before it is sent.

use std::sync::Arc;
use tauri::State;

use switchboard_core::{AppError, CostReport, ExportFormat, LedgerFilter, LedgerPage};
use switchboard_gateway::{CostEstimate, EstimateRequest};

use crate::ops;
use crate::ops::history::{LedgerFacets, RequestDetail};
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn ledger_page(
    state: State<'_, Arc<AppState>>,
    filter: LedgerFilter,
    cursor: Option<String>,
    limit: u32,
) -> Result<LedgerPage, AppError> {
    ops::history::page(&state, &filter, cursor.as_deref(), limit).await
}

#[tauri::command]
#[specta::specta]
pub async fn ledger_count(state: State<'_, Arc<AppState>>, filter: LedgerFilter) -> Result<Option<u32>, AppError> {
    ops::history::count(&state, &filter).await
}

#[tauri::command]
#[specta::specta]
pub async fn request_detail(state: State<'_, Arc<AppState>>, id: String) -> Result<RequestDetail, AppError> {
    ops::history::detail(&state, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn ledger_facets(state: State<'_, Arc<AppState>>) -> Result<LedgerFacets, AppError> {
    ops::history::facets(&state).await
}

/// Where an export went and how many rows it holds.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct ExportDone {
    pub path: String,
    pub rows: f64,
}

/// Asks where to save (native dialog), then streams the filtered ledger
/// there; none when the user cancelled.
#[tauri::command]
#[specta::specta]
pub async fn export_ledger(
    app: tauri::AppHandle,
    state: State<'_, Arc<AppState>>,
    filter: LedgerFilter,
    format: ExportFormat,
) -> Result<Option<ExportDone>, AppError> {
    let (name, ext) = match format {
        ExportFormat::Csv => ("switchboard-requests.csv", "csv"),
        ExportFormat::Jsonl => ("switchboard-requests.jsonl", "jsonl"),
    };
    let Some(path) = super::dialogs::ask_save_path(app, name, ext).await? else {
        return Ok(None);
    };
    let rows = ops::history::export_to(&state, &filter, format, &path).await?;
    Ok(Some(ExportDone { path: path.display().to_string(), rows: rows as f64 }))
}

#[tauri::command]
#[specta::specta]
pub async fn cost_report(state: State<'_, Arc<AppState>>, from: String, to: String) -> Result<CostReport, AppError> {
    state.gateway.cost_report(&from, &to).await
}

/// The report's p95 latencies, asked beside it (they read every row of the range).
#[tauri::command]
#[specta::specta]
pub async fn latency_percentiles(
    state: State<'_, Arc<AppState>>,
    from: String,
    to: String,
) -> Result<switchboard_core::LatencyPercentiles, AppError> {
    state.gateway.latency_percentiles(&from, &to).await
}

#[tauri::command]
#[specta::specta]
pub async fn estimate_cost(
    state: State<'_, Arc<AppState>>,
    request: EstimateRequest,
) -> Result<Vec<CostEstimate>, AppError> {
    state.gateway.estimate(&request).await
}
