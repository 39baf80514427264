//! History's pages (newest first, by cursor) and how many rows a filter matches.

use sqlx::{Row, SqlitePool};
use switchboard_core::{decode_cursor, encode_cursor, AppError, LedgerPage, RequestStatus, MAX_PAGE_ROWS};

use super::filter::{self, Resolved};
use crate::queries::requests::{from_row, COLUMNS};
use crate::StoreError;

/// Up to `limit` rows older than `cursor` (from the newest when none). Rows
/// are ordered by time, then by their place in the table, which every index
/// on `created_at` already holds: no sort, whatever the ledger's size.
pub async fn page(db: &SqlitePool, r: &Resolved, cursor: Option<&str>, limit: u32) -> Result<LedgerPage, AppError> {
    let limit = limit.clamp(1, MAX_PAGE_ROWS);
    let mut c = filter::rows(r);
    let mut seq_bind = None;
    if let Some(cursor) = cursor.filter(|c| !c.is_empty()) {
        let (at, seq) = decode_cursor(cursor)?;
        c.push("(created_at < ? OR (created_at = ? AND rowid < ?))", [at.clone(), at]);
        seq_bind = Some(seq);
    }
    let sql = format!(
        "SELECT rowid AS seq, {COLUMNS} FROM requests {} ORDER BY created_at DESC, rowid DESC LIMIT {}",
        c.where_clause(),
        limit + 1
    );
    // The cursor's rowid is the last parameter of its condition: bound in order.
    let mut q = sqlx::query(&sql);
    let n = c.binds.len();
    for (i, b) in c.binds.iter().enumerate() {
        q = q.bind(b);
        if i + 1 == n {
            if let Some(seq) = seq_bind {
                q = q.bind(seq);
            }
        }
    }
    let rows = q.fetch_all(db).await.map_err(StoreError::from)?;
    let mut out = Vec::with_capacity(rows.len());
    let mut last_seq = 0i64;
    for row in rows.iter().take(limit as usize) {
        out.push(from_row(row)?);
        last_seq = row.try_get("seq").map_err(StoreError::from)?;
    }
    let next_cursor = (rows.len() > limit as usize).then(|| {
        let last = out.last().expect("a full page");
        encode_cursor(&last.created_at, last_seq)
    });
    Ok(LedgerPage { rows: out, next_cursor })
}

/// How many rows `r` matches: summed in SQLite from the hourly sums and the
/// partial hours at the ends, or counted in the ledger when the filter names
/// a caller; none with a search (that would read every row).
pub async fn count(db: &SqlitePool, r: &Resolved) -> Result<Option<u32>, AppError> {
    if r.filter.search.is_some() {
        return Ok(None);
    }
    let one = |sql: String, binds: Vec<String>| async move {
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        let row = q.fetch_one(db).await.map_err(StoreError::from)?;
        let get = |i: usize| -> Result<i64, StoreError> { Ok(row.try_get::<Option<i64>, _>(i)?.unwrap_or(0)) };
        Ok::<_, StoreError>((get(0)?, get(1)?, get(2)?))
    };
    let pick = |(all, errors, cancelled): (i64, i64, i64)| match r.filter.status {
        None => all,
        Some(RequestStatus::Error) => errors,
        Some(RequestStatus::Cancelled) => cancelled,
        Some(RequestStatus::Ok) => all - errors - cancelled,
    };
    let n = if r.filter.caller.is_some() {
        let c = filter::rows(&Resolved {
            filter: switchboard_core::LedgerFilter { status: None, ..r.filter.clone() },
            ..r.clone()
        });
        let sql = format!(
            "SELECT COUNT(*), SUM(status = 'error'), SUM(status = 'cancelled') FROM requests {}",
            c.where_clause()
        );
        pick(one(sql, c.binds).await?)
    } else {
        let split = filter::split(r.start.as_deref(), r.end.as_deref());
        let hourly = split.hourly("", &r.filter);
        let sql =
            format!("SELECT SUM(requests), SUM(errors), SUM(cancelled) FROM requests_hourly {}", hourly.where_clause());
        let mut n = pick(one(sql, hourly.binds).await?);
        for (_, edge) in split.edges(&r.filter) {
            let sql = format!(
                "SELECT COUNT(*), SUM(status = 'error'), SUM(status = 'cancelled') FROM requests {}",
                edge.where_clause()
            );
            n += pick(one(sql, edge.binds).await?);
        }
        n
    };
    Ok(Some(u32::try_from(n.max(0)).unwrap_or(u32::MAX)))
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
