//! The `requests` ledger table.

use chrono::{SecondsFormat, Utc};
use sqlx::{Row, SqliteExecutor};
use switchboard_core::{NewRequestRecord, RequestRecord, RequestStatus};

use crate::StoreError;

/// Appends one ledger row and returns it as stored.
pub async fn insert<'e>(db: impl SqliteExecutor<'e>, rec: &NewRequestRecord) -> Result<RequestRecord, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    let created_at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    sqlx::query(
        "INSERT INTO requests (id, created_at, use_case, provider, model, input_tokens, output_tokens,
                               cost_usd, latency_ms, ttft_ms, tokens_per_second, status, error, params_json,
                               cached_input_tokens, reasoning_tokens, image_count, image_tokens)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(&created_at)
    .bind(&rec.use_case)
    .bind(&rec.provider)
    .bind(&rec.model)
    .bind(i64::from(rec.input_tokens))
    .bind(i64::from(rec.output_tokens))
    .bind(rec.cost_usd)
    .bind(rec.latency_ms)
    .bind(rec.ttft_ms)
    .bind(rec.tokens_per_second)
    .bind(rec.status.as_str())
    .bind(&rec.error)
    .bind(rec.params.as_ref().map(crate::json::to_text))
    .bind(i64::from(rec.cached_input_tokens))
    .bind(i64::from(rec.reasoning_tokens))
    .bind(i64::from(rec.image_count))
    .bind(i64::from(rec.image_tokens))
    .execute(db)
    .await?;
    Ok(RequestRecord { id, created_at, record: rec.clone() })
}

/// The most recent `limit` rows, newest first.
pub async fn recent<'e>(db: impl SqliteExecutor<'e>, limit: u32) -> Result<Vec<RequestRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, created_at, use_case, provider, model, input_tokens, output_tokens, cost_usd,
                latency_ms, ttft_ms, tokens_per_second, status, error, params_json, cached_input_tokens, reasoning_tokens,
                image_count, image_tokens
         FROM requests ORDER BY created_at DESC, rowid DESC LIMIT ?",
    )
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Monthly totals for one provider: `month` is `YYYY-MM`.
pub async fn month_spend<'e>(db: impl SqliteExecutor<'e>, provider: &str, month: &str) -> Result<f64, StoreError> {
    let (start, end) = month_bounds(month)?;
    let total: f64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(cost_usd), 0.0) FROM requests
         WHERE provider = ? AND created_at >= ? AND created_at < ?",
    )
    .bind(provider)
    .bind(start)
    .bind(end)
    .fetch_one(db)
    .await?;
    Ok(total)
}

fn month_bounds(month: &str) -> Result<(String, String), StoreError> {
    let bad = || StoreError::Corrupt(format!("'{month}' is not a month (YYYY-MM)"));
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&m) || y < 1970 {
        return Err(bad());
    }
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Ok((format!("{y:04}-{m:02}-01"), format!("{ny:04}-{nm:02}-01")))
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<RequestRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let count = |name: &str| -> Result<u32, StoreError> {
        let v: i64 = row.try_get(name)?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{name} = {v}")))
    };
    Ok(RequestRecord {
        id: row.try_get("id")?,
        created_at: row.try_get("created_at")?,
        record: NewRequestRecord {
            use_case: row.try_get("use_case")?,
            provider: row.try_get("provider")?,
            model: row.try_get("model")?,
            input_tokens: count("input_tokens")?,
            output_tokens: count("output_tokens")?,
            cached_input_tokens: count("cached_input_tokens")?,
            reasoning_tokens: count("reasoning_tokens")?,
            cost_usd: row.try_get("cost_usd")?,
            latency_ms: row.try_get("latency_ms")?,
            ttft_ms: row.try_get("ttft_ms")?,
            tokens_per_second: row.try_get("tokens_per_second")?,
            status: RequestStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status = {status}")))?,
            error: row.try_get("error")?,
            params: crate::json::from_opt_text(row.try_get("params_json")?, "params_json")?,
            image_count: count("image_count")?,
            image_tokens: count("image_tokens")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::month_bounds;

    #[test]
    fn month_bounds_cover_year_end_and_refuse_garbage() {
        assert_eq!(month_bounds("2026-12").unwrap(), ("2026-12-01".into(), "2027-01-01".into()));
        assert_eq!(month_bounds("2026-02").unwrap(), ("2026-02-01".into(), "2026-03-01".into()));
        for bad in ["2026", "2026-13", "2026-00", "abcd-ef", ""] {
            assert!(month_bounds(bad).is_err(), "{bad}");
        }
    }
}
