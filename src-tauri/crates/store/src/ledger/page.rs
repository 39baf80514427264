//! History's pages (newest first, by cursor) and how many rows a filter matches.

use sqlx::{Row, SqlitePool};
use switchboard_core::{decode_cursor, encode_cursor, AppError, LedgerPage, RequestStatus, MAX_PAGE_ROWS};

use super::costs::buckets;
use super::filter::{self, Resolved};
use crate::queries::requests::{from_row, COLUMNS};

/// Up to `limit` rows older than `cursor` (from the newest when none).
pub async fn page(db: &SqlitePool, r: &Resolved, cursor: Option<&str>, limit: u32) -> Result<LedgerPage, AppError> {
    let limit = limit.clamp(1, MAX_PAGE_ROWS);
    let mut c = filter::rows(r);
    if let Some(cursor) = cursor.filter(|c| !c.is_empty()) {
        let (at, id) = decode_cursor(cursor)?;
        c.push("(created_at < ? OR (created_at = ? AND id < ?))", [at.clone(), at, id]);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM requests {} ORDER BY created_at DESC, id DESC LIMIT {}",
        c.where_clause(),
        limit + 1
    );
    let mut q = sqlx::query(&sql);
    for b in &c.binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(db).await.map_err(crate::StoreError::from)?;
    let mut rows = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(&r.created_at, &r.id))
    } else {
        None
    };
    let total = if cursor.is_some() { None } else { count(db, r).await? };
    Ok(LedgerPage { rows, next_cursor, total })
}

/// How many rows `r` matches: from the hourly sums where they can tell,
/// else counted in the ledger; none with a search (that would read every row).
pub async fn count(db: &SqlitePool, r: &Resolved) -> Result<Option<u32>, AppError> {
    if r.filter.search.is_some() {
        return Ok(None);
    }
    if r.filter.caller.is_some() {
        let c = filter::rows(r);
        let sql = format!("SELECT COUNT(*) FROM requests {}", c.where_clause());
        let mut q = sqlx::query(&sql);
        for b in &c.binds {
            q = q.bind(b);
        }
        let n: i64 =
            q.fetch_one(db).await.map_err(crate::StoreError::from)?.try_get(0).map_err(crate::StoreError::from)?;
        return Ok(Some(u32::try_from(n).unwrap_or(u32::MAX)));
    }
    let sums = buckets(db, r).await?;
    let n = sums.iter().fold(0u64, |n, b| {
        let t = &b.totals;
        n + u64::from(match r.filter.status {
            None => t.requests,
            Some(RequestStatus::Error) => t.errors,
            Some(RequestStatus::Cancelled) => t.cancelled,
            Some(RequestStatus::Ok) => t.requests - t.errors - t.cancelled,
        })
    });
    Ok(Some(u32::try_from(n).unwrap_or(u32::MAX)))
}

/// The use cases, providers, models and callers the ledger holds (History's filter choices).
pub async fn facets(db: &SqlitePool) -> Result<Facets, crate::StoreError> {
    let distinct = |sql: &'static str| async move { sqlx::query_scalar::<_, String>(sql).fetch_all(db).await };
    Ok(Facets {
        use_cases: distinct("SELECT DISTINCT use_case FROM requests_hourly ORDER BY 1").await?,
        providers: distinct("SELECT DISTINCT provider FROM requests_hourly ORDER BY 1").await?,
        models: distinct("SELECT DISTINCT model FROM requests_hourly ORDER BY 1").await?,
        callers: distinct("SELECT DISTINCT caller FROM requests ORDER BY 1").await?,
    })
}

/// What [`facets`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facets {
    pub use_cases: Vec<String>,
    pub providers: Vec<String>,
    pub models: Vec<String>,
    pub callers: Vec<String>,
}
