//! The Costs page's figures over a range of days: totals, spend per day,
//! the breakdown by provider, model and use case (with latency percentiles
//! from the ledger rows), and the local share. Budgets are the gateway's to add.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone};
use sqlx::{Row, SqliteExecutor, SqlitePool};
use switchboard_core::{
    AppError, CostBreakdown, CostReport, CostTotals, DayCost, GroupLatency, LatencyPercentiles, LedgerFilter,
    LocalShare,
};

use super::filter::{self, Conditions, Resolved};
use crate::queries::requests::day_start;
use crate::StoreError;

/// Sums for one UTC hour, use case, provider, model and placement.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    pub use_case: String,
    pub provider: String,
    pub model: String,
    pub local: bool,
    pub totals: CostTotals,
    pub latency_ms: f64,
    pub ttft_ms: f64,
    pub ttft_count: u32,
    pub tokens_per_second: f64,
    pub tps_count: u32,
}

/// The summed columns, named as `bucket` reads them, over hourly sums (`h.`) or ledger rows.
const SUM_HOURLY: &str = "SUM(h.requests) AS requests, SUM(h.errors) AS errors, SUM(h.cancelled) AS cancelled,
    SUM(h.input_tokens) AS input_tokens, SUM(h.output_tokens) AS output_tokens,
    SUM(h.cached_input_tokens) AS cached_input_tokens, SUM(h.reasoning_tokens) AS reasoning_tokens,
    SUM(h.cost_usd) AS cost_usd, SUM(h.cost_avoided_usd) AS cost_avoided_usd, SUM(h.latency_ms) AS latency_ms,
    SUM(h.ttft_ms) AS ttft_ms, SUM(h.ttft_count) AS ttft_count, SUM(h.tokens_per_second) AS tokens_per_second,
    SUM(h.tps_count) AS tps_count, SUM(h.cache_hits) AS cache_hits, SUM(h.tokens_saved) AS tokens_saved";

const SUM_ROWS: &str = "COUNT(*) AS requests,
    SUM(status = 'error') AS errors, SUM(status = 'cancelled') AS cancelled, SUM(input_tokens) AS input_tokens,
    SUM(output_tokens) AS output_tokens, SUM(cached_input_tokens) AS cached_input_tokens,
    SUM(reasoning_tokens) AS reasoning_tokens, SUM(cost_usd) AS cost_usd, SUM(cost_avoided_usd) AS cost_avoided_usd,
    SUM(latency_ms) AS latency_ms, COALESCE(SUM(ttft_ms), 0.0) AS ttft_ms, COUNT(ttft_ms) AS ttft_count,
    COALESCE(SUM(tokens_per_second), 0.0) AS tokens_per_second, COUNT(tokens_per_second) AS tps_count,
    SUM(cache_hit) AS cache_hits, SUM(tokens_saved) AS tokens_saved";

/// Sums of the rows `r` selects per use case, provider and model over its
/// whole range, summed in SQLite (whole hours from `requests_hourly`, the
/// partial hours at the ends from the ledger): the month's totals and the
/// breakdown table.
pub(crate) async fn group_buckets<'e>(db: impl SqliteExecutor<'e>, r: &Resolved) -> Result<Vec<Bucket>, StoreError> {
    let split = filter::split(r.start.as_deref(), r.end.as_deref());
    let hourly = split.hourly("h.", &r.filter);
    let mut sql = format!(
        "SELECT h.use_case AS use_case, h.provider AS provider, h.model AS model, h.local AS local, {SUM_HOURLY}
         FROM requests_hourly h {} GROUP BY 1, 2, 3, 4",
        hourly.where_clause()
    );
    let mut binds = hourly.binds;
    for (_, edge) in split.edges(&r.filter) {
        sql.push_str(&format!(
            " UNION ALL SELECT use_case, provider, model, local, {SUM_ROWS} FROM requests {} GROUP BY 1, 2, 3, 4",
            edge.where_clause()
        ));
        binds.extend(edge.binds);
    }
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(db).await?;
    rows.iter().map(bucket).collect()
}

/// The longest range a report covers: ten years of days.
const MAX_REPORT_DAYS: i64 = 3660;

/// Sums of the rows `r` selects (range, use case, provider, model) per local
/// day of `days` (`(day, start, end)` instants) and dimension, summed in
/// SQLite: whole hours from `requests_hourly`, the partial hours at the
/// range's ends from the ledger. An hour belongs to the day it starts in.
/// (`CROSS JOIN` keeps the days outside, so each day reads its own hours
/// through the hourly table's key instead of the whole table once per day.)
pub(crate) async fn day_costs<'e>(
    db: impl SqliteExecutor<'e>,
    r: &Resolved,
    days: &[(String, String, String)],
) -> Result<Vec<DayCost>, StoreError> {
    let split = filter::split(r.start.as_deref(), r.end.as_deref());
    let ceil_hour = |instant: &str| filter::split(Some(instant), None).first_hour.expect("a start has a first hour");
    let mut binds: Vec<String> = Vec::new();
    let mut values = Vec::with_capacity(days.len());
    for (i, (day, start, end)) in days.iter().enumerate() {
        let first =
            if i == 0 { split.first_hour.clone().unwrap_or_else(|| ceil_hour(start)) } else { ceil_hour(start) };
        let last =
            if i + 1 == days.len() { split.end_hour.clone().unwrap_or_else(|| ceil_hour(end)) } else { ceil_hour(end) };
        values.push("(?, ?, ?)");
        binds.extend([day.clone(), first, last]);
    }
    let mut dims = Conditions::default();
    filter::dimensions_of("h.", &r.filter, &mut dims);
    let dims_sql = dims.sql.iter().map(|c| format!(" AND {c}")).collect::<String>();
    let mut sql = format!(
        "WITH days(day, first_hour, end_hour) AS (VALUES {})
         SELECT d.day AS day, h.provider AS provider, h.model AS model, h.use_case AS use_case,
                SUM(h.requests) AS requests, SUM(h.cost_usd) AS cost_usd
         FROM days d CROSS JOIN requests_hourly h ON h.hour >= d.first_hour AND h.hour < d.end_hour{dims_sql}
         GROUP BY 1, 2, 3, 4",
        values.join(", ")
    );
    binds.extend(dims.binds);
    // The partial hours at the ends belong to the first and the last day.
    for (start, edge) in split.edges(&r.filter) {
        let day = if start.as_deref() == r.start.as_deref() { &days[0].0 } else { &days[days.len() - 1].0 };
        sql.push_str(&format!(
            " UNION ALL SELECT ? AS day, provider, model, use_case, COUNT(*) AS requests, SUM(cost_usd) AS cost_usd
              FROM requests {} GROUP BY 1, 2, 3, 4",
            edge.where_clause()
        ));
        binds.push(day.clone());
        binds.extend(edge.binds);
    }
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    // Edge rows repeat a day the hourly part has: summed here.
    let mut sums: BTreeMap<(String, String, String, String), (u32, f64)> = BTreeMap::new();
    for row in q.fetch_all(db).await? {
        let key = (row.try_get("day")?, row.try_get("provider")?, row.try_get("model")?, row.try_get("use_case")?);
        let requests: i64 = row.try_get("requests")?;
        let e = sums.entry(key).or_default();
        e.0 += u32::try_from(requests).map_err(|_| StoreError::Corrupt(format!("requests = {requests}")))?;
        e.1 += row.try_get::<f64, _>("cost_usd")?;
    }
    Ok(sums
        .into_iter()
        .map(|((day, provider, model, use_case), (requests, cost_usd))| DayCost {
            day,
            provider,
            model,
            use_case,
            requests,
            cost_usd,
        })
        .collect())
}

fn bucket(row: &sqlx::sqlite::SqliteRow) -> Result<Bucket, StoreError> {
    let n = |c: &str| -> Result<u32, StoreError> {
        let v: i64 = row.try_get(c)?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("requests_hourly.{c} = {v}")))
    };
    let f = |c: &str| -> Result<f64, StoreError> { Ok(row.try_get::<i64, _>(c)? as f64) };
    Ok(Bucket {
        use_case: row.try_get("use_case")?,
        provider: row.try_get("provider")?,
        model: row.try_get("model")?,
        local: row.try_get("local")?,
        totals: CostTotals {
            requests: n("requests")?,
            errors: n("errors")?,
            cancelled: n("cancelled")?,
            input_tokens: f("input_tokens")?,
            output_tokens: f("output_tokens")?,
            cached_input_tokens: f("cached_input_tokens")?,
            reasoning_tokens: f("reasoning_tokens")?,
            cost_usd: row.try_get("cost_usd")?,
            cost_avoided_usd: row.try_get("cost_avoided_usd")?,
            cache_hits: n("cache_hits")?,
            tokens_saved: f("tokens_saved")?,
        },
        latency_ms: row.try_get("latency_ms")?,
        ttft_ms: row.try_get("ttft_ms")?,
        ttft_count: n("ttft_count")?,
        tokens_per_second: row.try_get("tokens_per_second")?,
        tps_count: n("tps_count")?,
    })
}

/// The Costs page's figures for the days `from..=to` in the time zone `tz`
/// (budgets left empty: they are the gateway's).
pub async fn cost_report<Tz: TimeZone>(db: &SqlitePool, from: &str, to: &str, tz: &Tz) -> Result<CostReport, AppError> {
    let (from, to) = (from.trim(), to.trim());
    if from.is_empty() || to.is_empty() {
        return Err(AppError::for_field("from", "a range needs its first and last day"));
    }
    let filter = LedgerFilter { from: Some(from.to_string()), to: Some(to.to_string()), ..Default::default() };
    let r = Resolved::new(&filter, tz)?;
    let (first, last) = (day(from), day(to));
    if (last - first).num_days() >= MAX_REPORT_DAYS {
        return Err(AppError::for_field("to", format!("a report covers at most {MAX_REPORT_DAYS} days")));
    }
    let days: Vec<(String, String, String)> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| (d.to_string(), day_start(d, tz), day_start(d.succ_opt().unwrap_or(d), tz)))
        .collect();
    let groups = group_buckets(db, &r).await?;
    let days = day_costs(db, &r, &days).await?;
    Ok(assemble(from, to, &groups, days))
}

/// The totals and breakdown of the rows `r` selects, without the days (the
/// month's totals by provider, model and use case).
pub async fn breakdown(db: &SqlitePool, r: &Resolved) -> Result<(CostTotals, Vec<CostBreakdown>), AppError> {
    let report = assemble("", "", &group_buckets(db, r).await?, Vec::new());
    Ok((report.totals, report.breakdown))
}

/// The report with its percentiles filled in: for tests and the benchmark's
/// "whole page" figure; the window asks for both at once.
pub async fn cost_report_with_p95<Tz: TimeZone>(
    db: &SqlitePool,
    from: &str,
    to: &str,
    tz: &Tz,
) -> Result<CostReport, AppError> {
    let mut report = cost_report(db, from, to, tz).await?;
    let p95 = latency_percentiles(db, from, to, tz).await?;
    for b in &mut report.breakdown {
        b.p95_latency_ms = p95
            .groups
            .iter()
            .find(|g| g.provider == b.provider && g.model == b.model && g.use_case == b.use_case)
            .map(|g| g.p95_latency_ms);
    }
    Ok(report)
}

/// The 95th percentile of latency per provider, model and use case over the
/// days `from..=to`, unless the range holds more than [`MAX_P95_ROWS`] rows.
pub async fn latency_percentiles<Tz: TimeZone>(
    db: &SqlitePool,
    from: &str,
    to: &str,
    tz: &Tz,
) -> Result<LatencyPercentiles, AppError> {
    let filter = LedgerFilter { from: Some(from.to_string()), to: Some(to.to_string()), ..Default::default() };
    let r = Resolved::new(&filter, tz)?;
    if super::page::count(db, &r).await?.unwrap_or(u32::MAX) > MAX_P95_ROWS {
        return Ok(LatencyPercentiles { complete: false, groups: Vec::new() });
    }
    let groups = latency_p95(db, &r)
        .await?
        .into_iter()
        .map(|((provider, model, use_case), p95_latency_ms)| GroupLatency { provider, model, use_case, p95_latency_ms })
        .collect();
    Ok(LatencyPercentiles { complete: true, groups })
}

/// Percentiles are read from the rows themselves; past this many the page
/// would wait on them, and they are left out.
pub const MAX_P95_ROWS: u32 = 250_000;

fn day(d: &str) -> NaiveDate {
    NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("Resolved::new checked the day")
}

type Key = (String, String, String);

/// Nearest-rank 95th percentile of latency per provider, model and use case,
/// ranked inside SQLite so that only one row per group comes back.
async fn latency_p95(db: &SqlitePool, r: &Resolved) -> Result<BTreeMap<Key, f64>, StoreError> {
    let c = filter::rows(r);
    let sql = format!(
        "SELECT provider, model, use_case, latency_ms FROM (
             SELECT provider, model, use_case, latency_ms,
                    ROW_NUMBER() OVER (PARTITION BY provider, model, use_case ORDER BY latency_ms) AS rank,
                    COUNT(*) OVER (PARTITION BY provider, model, use_case) AS n
             FROM requests {})
         WHERE rank = (n * 95 + 99) / 100",
        c.where_clause()
    );
    let mut q = sqlx::query(&sql);
    for b in &c.binds {
        q = q.bind(b);
    }
    let mut out = BTreeMap::new();
    for row in q.fetch_all(db).await? {
        out.insert(
            (row.try_get("provider")?, row.try_get("model")?, row.try_get("use_case")?),
            row.try_get("latency_ms")?,
        );
    }
    Ok(out)
}

/// `buckets` are per use case, provider and model over the whole range.
fn assemble(from: &str, to: &str, buckets: &[Bucket], days: Vec<DayCost>) -> CostReport {
    let mut totals = CostTotals::default();
    let mut groups: BTreeMap<Key, (bool, Bucket)> = BTreeMap::new();
    let mut share = LocalShare::default();
    for b in buckets {
        totals.add(&b.totals);
        let (local, g) = groups.entry((b.provider.clone(), b.model.clone(), b.use_case.clone())).or_default();
        *local |= b.local;
        g.totals.add(&b.totals);
        g.latency_ms += b.latency_ms;
        g.ttft_ms += b.ttft_ms;
        g.ttft_count += b.ttft_count;
        g.tokens_per_second += b.tokens_per_second;
        g.tps_count += b.tps_count;
        if b.local {
            share.local_requests += b.totals.requests;
            share.cost_avoided_usd += b.totals.cost_avoided_usd;
        } else {
            share.cloud_requests += b.totals.requests;
            share.cloud_cost_usd += b.totals.cost_usd;
        }
    }
    let mut breakdown: Vec<CostBreakdown> = groups
        .into_iter()
        .map(|(key, (local, g))| {
            let n = f64::from(g.totals.requests.max(1));
            CostBreakdown {
                local,
                avg_latency_ms: g.latency_ms / n,
                p95_latency_ms: None,
                avg_ttft_ms: (g.ttft_count > 0).then(|| g.ttft_ms / f64::from(g.ttft_count)),
                avg_tokens_per_second: (g.tps_count > 0).then(|| g.tokens_per_second / f64::from(g.tps_count)),
                error_rate: f64::from(g.totals.errors) / n,
                totals: g.totals,
                provider: key.0,
                model: key.1,
                use_case: key.2,
            }
        })
        .collect();
    breakdown.sort_by(|a, b| {
        b.totals.cost_usd.total_cmp(&a.totals.cost_usd).then(b.totals.requests.cmp(&a.totals.requests))
    });
    CostReport {
        from: from.to_string(),
        to: to.to_string(),
        totals,
        days,
        breakdown,
        local_share: share,
        budgets: Vec::new(),
        budget_month: String::new(),
    }
}
