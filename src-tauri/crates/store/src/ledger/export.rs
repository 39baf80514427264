//! The ledger as CSV or JSON lines, streamed row by row from SQLite to a
//! writer: any size, oldest first, never all in memory.

use std::io::Write;

use futures_util::TryStreamExt;
use switchboard_core::{AppError, ErrorCode, ExportFormat};

use super::filter::{self, Resolved};
use crate::StoreError;

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

/// A text column as a CSV field: quoted where it holds a comma, a quote or a line break.
fn csv_text(column: &str) -> String {
    format!(
        "CASE WHEN {column} IS NULL THEN '' WHEN instr({column}, ',') OR instr({column}, '\"') OR instr({column}, char(10)) \
         OR instr({column}, char(13)) THEN '\"' || replace({column}, '\"', '\"\"') || '\"' ELSE {column} END"
    )
}

fn csv_bool(column: &str) -> String {
    format!("CASE {column} WHEN 1 THEN 'true' ELSE 'false' END")
}

/// Each row as one CSV line, built by SQLite: a million rows cross into Rust
/// as a million strings, not 25 million values.
fn csv_line() -> String {
    let opt_real = |c: &str| format!("COALESCE(CAST({c} AS TEXT), '')");
    [
        "id".to_string(),
        "created_at".into(),
        csv_text("caller"),
        csv_text("use_case"),
        csv_text("provider"),
        csv_text("model"),
        csv_bool("local"),
        "status".into(),
        "input_tokens".into(),
        "cached_input_tokens".into(),
        "output_tokens".into(),
        "reasoning_tokens".into(),
        "image_count".into(),
        "image_tokens".into(),
        "cost_usd".into(),
        "cost_avoided_usd".into(),
        "latency_ms".into(),
        opt_real("ttft_ms"),
        opt_real("tokens_per_second"),
        csv_bool("cache_hit"),
        "tokens_saved".into(),
        "COALESCE(json_array_length(route_json), 0)".into(),
        csv_text("error"),
        csv_text("params_json"),
        csv_text("route_json"),
    ]
    .join(" || ',' || ")
}

/// Each row as one JSON object, built by SQLite, with the fields and order of `RequestRecord`.
const JSON_LINE: &str = "json_object('id', id, 'created_at', created_at, 'use_case', use_case, 'provider', provider,
    'model', model, 'input_tokens', input_tokens, 'output_tokens', output_tokens,
    'cached_input_tokens', cached_input_tokens, 'reasoning_tokens', reasoning_tokens, 'cost_usd', cost_usd,
    'latency_ms', latency_ms, 'ttft_ms', ttft_ms, 'tokens_per_second', tokens_per_second, 'status', status,
    'error', error, 'params', json(params_json), 'image_count', image_count, 'image_tokens', image_tokens,
    'route', json(COALESCE(route_json, '[]')), 'cache_hit', json(CASE cache_hit WHEN 1 THEN 'true' ELSE 'false' END),
    'tokens_saved', tokens_saved, 'caller', caller, 'local', json(CASE local WHEN 1 THEN 'true' ELSE 'false' END),
    'cost_avoided_usd', cost_avoided_usd)";

/// Writes the rows `r` selects to `out`, oldest first; returns how many.
pub async fn export(
    db: &sqlx::SqlitePool,
    r: &Resolved,
    format: ExportFormat,
    out: &mut impl Write,
) -> Result<u64, AppError> {
    let c = filter::rows(r);
    let line = match format {
        ExportFormat::Csv => {
            out.write_all(CSV_COLUMNS.join(",").as_bytes()).map_err(io_failed)?;
            out.write_all(b"\n").map_err(io_failed)?;
            csv_line()
        }
        ExportFormat::Jsonl => JSON_LINE.to_string(),
    };
    let sql = format!("SELECT {line} FROM requests {} ORDER BY created_at, rowid", c.where_clause());
    let mut q = sqlx::query_scalar::<_, String>(&sql);
    for b in &c.binds {
        q = q.bind(b);
    }
    let mut rows = q.fetch(db);
    let mut n = 0u64;
    while let Some(text) = rows.try_next().await.map_err(StoreError::from)? {
        out.write_all(text.as_bytes()).map_err(io_failed)?;
        out.write_all(b"\n").map_err(io_failed)?;
        n += 1;
    }
    out.flush().map_err(io_failed)?;
    Ok(n)
}

fn io_failed(e: std::io::Error) -> AppError {
    AppError::new(ErrorCode::StorageFailed, format!("could not write the export: {e}"))
}
