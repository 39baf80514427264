//! The `requests` ledger table.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, TimeZone, Utc};
use sqlx::{Row, SqliteExecutor};
use switchboard_core::{NewRequestRecord, RequestRecord, RequestStatus};

use crate::StoreError;

/// The columns a ledger row is read from, in the order `from_row` expects.
pub(crate) const COLUMNS: &str = "id, created_at, use_case, provider, model, input_tokens, output_tokens, cost_usd,
    latency_ms, ttft_ms, tokens_per_second, status, error, params_json, cached_input_tokens, reasoning_tokens,
    image_count, image_tokens, route_json, cache_hit, tokens_saved, caller, local, cost_avoided_usd";

/// Appends one ledger row, stamped now with a fresh id, and returns it as stored.
/// Ids are time-ordered (UUID v7), so new rows go to the end of the id index.
pub async fn insert<'e>(db: impl SqliteExecutor<'e>, rec: &NewRequestRecord) -> Result<RequestRecord, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    let created_at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    insert_with(db, rec, &id, &created_at).await
}

/// Appends one ledger row with the given id and time (RFC 3339 UTC with
/// milliseconds, as `insert` writes it): for fixtures and generated ledgers.
pub async fn insert_with<'e>(
    db: impl SqliteExecutor<'e>,
    rec: &NewRequestRecord,
    id: &str,
    created_at: &str,
) -> Result<RequestRecord, StoreError> {
    let row = RequestRecord { id: id.to_string(), created_at: created_at.to_string(), record: rec.clone() };
    insert_many(db, &[&row]).await?;
    Ok(row)
}

const INSERT_COLUMNS: &str = "id, created_at, use_case, provider, model, input_tokens, output_tokens, cost_usd,
    latency_ms, ttft_ms, tokens_per_second, status, error, params_json, cached_input_tokens, reasoning_tokens,
    image_count, image_tokens, route_json, cache_hit, tokens_saved, caller, local, cost_avoided_usd";
const PER_ROW: usize = 24;

/// The most rows one INSERT statement carries (SQLite takes up to 32,766 parameters).
pub const MAX_ROWS_PER_INSERT: usize = 64;

/// Appends rows as stored records (their own ids and times) in one statement.
pub async fn insert_many<'e>(db: impl SqliteExecutor<'e>, rows: &[&RequestRecord]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    assert!(rows.len() <= MAX_ROWS_PER_INSERT, "at most {MAX_ROWS_PER_INSERT} rows per statement");
    let one = format!("({})", vec!["?"; PER_ROW].join(", "));
    let sql = format!("INSERT INTO requests ({INSERT_COLUMNS}) VALUES {}", vec![one; rows.len()].join(", "));
    let mut q = sqlx::query(&sql);
    for row in rows {
        let rec = &row.record;
        q = q
            .bind(&row.id)
            .bind(&row.created_at)
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
            .bind((!rec.route.is_empty()).then(|| crate::json::to_text(&rec.route)))
            .bind(rec.cache_hit)
            .bind(i64::from(rec.tokens_saved))
            .bind(&rec.caller)
            .bind(rec.local)
            .bind(rec.cost_avoided_usd.max(0.0));
    }
    q.execute(db).await?;
    Ok(())
}

/// The most recent `limit` rows, newest first.
pub async fn recent<'e>(db: impl SqliteExecutor<'e>, limit: u32) -> Result<Vec<RequestRecord>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM requests ORDER BY created_at DESC, rowid DESC LIMIT ?"))
        .bind(i64::from(limit))
        .fetch_all(db)
        .await?;
    rows.iter().map(from_row).collect()
}

/// One row by id.
pub async fn get<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<Option<RequestRecord>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM requests WHERE id = ?")).bind(id).fetch_optional(db).await?;
    row.as_ref().map(from_row).transpose()
}

/// Whose spend a sum covers.
#[derive(Debug, Clone, Copy)]
pub enum SpendOf<'a> {
    Provider(&'a str),
    UseCase(&'a str),
}

/// What a provider was charged, or a use case cost at every provider, in
/// `[start, end)` (RFC 3339 UTC, as stored).
pub async fn spend_between<'e>(
    db: impl SqliteExecutor<'e>,
    of: SpendOf<'_>,
    start: &str,
    end: &str,
) -> Result<f64, StoreError> {
    let (column, value) = match of {
        SpendOf::Provider(p) => ("provider", p),
        SpendOf::UseCase(u) => ("use_case", u),
    };
    let total: f64 = sqlx::query_scalar(&format!(
        "SELECT COALESCE(SUM(cost_usd), 0.0) FROM requests
         WHERE {column} = ? AND created_at >= ? AND created_at < ?"
    ))
    .bind(value)
    .bind(start)
    .bind(end)
    .fetch_one(db)
    .await?;
    Ok(total)
}

/// The calendar month that holds `now` in the time zone `tz`, as UTC
/// instants `[start, end)` in the ledger's format, and its name (`YYYY-MM`).
/// Budgets are monthly in the user's own time: in Tokyo December starts at
/// 15:00 UTC on 30 November.
pub fn month_window<Tz: TimeZone>(now: DateTime<Utc>, tz: &Tz) -> (String, String, String) {
    let local = now.with_timezone(tz);
    let (y, m) = (local.year(), local.month());
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let first = |y: i32, m: u32| day_start(NaiveDate::from_ymd_opt(y, m, 1).expect("a month's first day"), tz);
    (first(y, m), first(ny, nm), format!("{y:04}-{m:02}"))
}

/// When `day` begins in the time zone `tz`, as a UTC instant in the ledger's format.
pub fn day_start<Tz: TimeZone>(day: NaiveDate, tz: &Tz) -> String {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
    // Where midnight does not exist (a daylight-saving jump), the day starts when it does.
    let at = (0..=3)
        .find_map(|h| tz.from_local_datetime(&(midnight + chrono::Duration::hours(h))).earliest())
        .expect("a day has a start in every time zone");
    at.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<RequestRecord, StoreError> {
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
            route: crate::json::from_opt_text(row.try_get("route_json")?, "route_json")?.unwrap_or_default(),
            cache_hit: row.try_get("cache_hit")?,
            tokens_saved: count("tokens_saved")?,
            caller: row.try_get("caller")?,
            local: row.try_get("local")?,
            cost_avoided_usd: row.try_get("cost_avoided_usd")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone, Utc};

    use super::month_window;

    #[test]
    fn months_start_at_local_midnight() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 20, 0, 0).unwrap();
        assert_eq!(
            month_window(now, &Utc),
            ("2026-11-01T00:00:00.000Z".into(), "2026-12-01T00:00:00.000Z".into(), "2026-11".into())
        );
        // Tokyo (UTC+9): 20:00 UTC on 30 November is already December there.
        let tokyo = FixedOffset::east_opt(9 * 3600).unwrap();
        assert_eq!(
            month_window(now, &tokyo),
            ("2026-11-30T15:00:00.000Z".into(), "2026-12-31T15:00:00.000Z".into(), "2026-12".into())
        );
        // New York in winter (UTC-5): the year turns five hours after it does in London.
        let ny = FixedOffset::west_opt(5 * 3600).unwrap();
        let now = Utc.with_ymd_and_hms(2027, 1, 1, 3, 0, 0).unwrap();
        assert_eq!(
            month_window(now, &ny),
            ("2026-12-01T05:00:00.000Z".into(), "2027-01-01T05:00:00.000Z".into(), "2026-12".into())
        );
    }
}
