//! The ledger as CSV or JSON lines, streamed row by row from SQLite to a
//! writer: any size, oldest first, never all in memory.

use std::io::Write;

use futures_util::TryStreamExt;
use switchboard_core::{AppError, ErrorCode, ExportFormat, RequestRecord};

use super::filter::{self, Resolved};
use crate::queries::requests::{from_row, COLUMNS};

/// The CSV header, in order (documented in the README).
pub const CSV_COLUMNS: [&str; 25] = [
    "id",
    "created_at",
    "caller",
    "use_case",
    "provider",
    "model",
    "local",
    "status",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "image_count",
    "image_tokens",
    "cost_usd",
    "cost_avoided_usd",
    "latency_ms",
    "ttft_ms",
    "tokens_per_second",
    "cache_hit",
    "tokens_saved",
    "attempts",
    "error",
    "params",
    "route",
];

/// Writes the rows `r` selects to `out`; returns how many.
pub async fn export(
    db: &sqlx::SqlitePool,
    r: &Resolved,
    format: ExportFormat,
    out: &mut impl Write,
) -> Result<u64, AppError> {
    let c = filter::rows(r);
    let sql = format!("SELECT {COLUMNS} FROM requests {} ORDER BY created_at, id", c.where_clause());
    let mut q = sqlx::query(&sql);
    for b in &c.binds {
        q = q.bind(b);
    }
    let mut rows = q.fetch(db);
    let mut n = 0u64;
    match format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(CSV_COLUMNS).map_err(write_failed)?;
            while let Some(row) = rows.try_next().await.map_err(crate::StoreError::from)? {
                w.write_record(csv_fields(&from_row(&row)?)).map_err(write_failed)?;
                n += 1;
            }
            w.flush().map_err(io_failed)?;
        }
        ExportFormat::Jsonl => {
            while let Some(row) = rows.try_next().await.map_err(crate::StoreError::from)? {
                serde_json::to_writer(&mut *out, &from_row(&row)?)
                    .map_err(|e| AppError::new(ErrorCode::StorageFailed, format!("could not write the export: {e}")))?;
                out.write_all(b"\n").map_err(io_failed)?;
                n += 1;
            }
        }
    }
    out.flush().map_err(io_failed)?;
    Ok(n)
}

fn csv_fields(r: &RequestRecord) -> [String; 25] {
    let x = &r.record;
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    [
        r.id.clone(),
        r.created_at.clone(),
        x.caller.clone(),
        x.use_case.clone(),
        x.provider.clone(),
        x.model.clone(),
        x.local.to_string(),
        x.status.as_str().to_string(),
        x.input_tokens.to_string(),
        x.cached_input_tokens.to_string(),
        x.output_tokens.to_string(),
        x.reasoning_tokens.to_string(),
        x.image_count.to_string(),
        x.image_tokens.to_string(),
        x.cost_usd.to_string(),
        x.cost_avoided_usd.to_string(),
        x.latency_ms.to_string(),
        opt(x.ttft_ms),
        opt(x.tokens_per_second),
        x.cache_hit.to_string(),
        x.tokens_saved.to_string(),
        x.route.len().to_string(),
        x.error.clone().unwrap_or_default(),
        x.params.as_ref().map(|p| serde_json::to_string(p).unwrap_or_default()).unwrap_or_default(),
        if x.route.is_empty() { String::new() } else { serde_json::to_string(&x.route).unwrap_or_default() },
    ]
}

fn write_failed(e: csv::Error) -> AppError {
    AppError::new(ErrorCode::StorageFailed, format!("could not write the export: {e}"))
}

fn io_failed(e: std::io::Error) -> AppError {
    AppError::new(ErrorCode::StorageFailed, format!("could not write the export: {e}"))
}
