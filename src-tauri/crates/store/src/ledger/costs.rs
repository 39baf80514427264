//! The Costs page's figures over a range of days: totals, spend per day,
//! the breakdown by provider, model and use case (with latency percentiles
//! from the ledger rows), and the local share. Budgets are the gateway's to add.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use sqlx::{Row, SqliteExecutor, SqlitePool};
use switchboard_core::{AppError, CostBreakdown, CostReport, CostTotals, DayCost, LedgerFilter, LocalShare};

use super::filter::{self, Conditions, Resolved};
use crate::StoreError;

/// Sums for one UTC hour, use case, provider, model and placement.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    pub hour: String,
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

const SUMMED: &str = "hour, use_case, provider, model, local, requests, errors, cancelled, input_tokens, output_tokens,
    cached_input_tokens, reasoning_tokens, cost_usd, cost_avoided_usd, latency_ms, ttft_ms, ttft_count,
    tokens_per_second, tps_count, cache_hits, tokens_saved";

const FROM_ROWS: &str = "substr(created_at, 1, 13) AS hour, use_case, provider, model, local, COUNT(*) AS requests,
    SUM(status = 'error') AS errors, SUM(status = 'cancelled') AS cancelled, SUM(input_tokens) AS input_tokens,
    SUM(output_tokens) AS output_tokens, SUM(cached_input_tokens) AS cached_input_tokens,
    SUM(reasoning_tokens) AS reasoning_tokens, SUM(cost_usd) AS cost_usd, SUM(cost_avoided_usd) AS cost_avoided_usd,
    SUM(latency_ms) AS latency_ms, COALESCE(SUM(ttft_ms), 0.0) AS ttft_ms, COUNT(ttft_ms) AS ttft_count,
    COALESCE(SUM(tokens_per_second), 0.0) AS tokens_per_second, COUNT(tokens_per_second) AS tps_count,
    SUM(cache_hit) AS cache_hits, SUM(tokens_saved) AS tokens_saved";

/// The hourly sums of the rows `r` selects (by range, use case, provider and model only).
pub(crate) async fn buckets<'e>(db: impl SqliteExecutor<'e>, r: &Resolved) -> Result<Vec<Bucket>, StoreError> {
    let split = filter::split(r.start.as_deref(), r.end.as_deref());
    let mut hourly = Conditions::default();
    if let Some(h) = &split.first_hour {
        hourly.push("hour >= ?", [h.clone()]);
    }
    if let Some(h) = &split.end_hour {
        hourly.push("hour < ?", [h.clone()]);
    }
    filter::dimensions(&r.filter, &mut hourly);
    let mut sql = format!("SELECT {SUMMED} FROM requests_hourly {}", hourly.where_clause());
    let mut binds = hourly.binds;
    for (start, end) in &split.edges {
        let mut edge = Conditions::default();
        if let Some(s) = start {
            edge.push("created_at >= ?", [s.clone()]);
        }
        if let Some(e) = end {
            edge.push("created_at < ?", [e.clone()]);
        }
        filter::dimensions(&r.filter, &mut edge);
        sql.push_str(&format!(
            " UNION ALL SELECT {FROM_ROWS} FROM requests {} GROUP BY 1, 2, 3, 4, 5",
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

fn bucket(row: &sqlx::sqlite::SqliteRow) -> Result<Bucket, StoreError> {
    let n = |c: &str| -> Result<u32, StoreError> {
        let v: i64 = row.try_get(c)?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("requests_hourly.{c} = {v}")))
    };
    let f = |c: &str| -> Result<f64, StoreError> { Ok(row.try_get::<i64, _>(c)? as f64) };
    Ok(Bucket {
        hour: row.try_get("hour")?,
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
    if from.trim().is_empty() || to.trim().is_empty() {
        return Err(AppError::for_field("from", "a range needs its first and last day"));
    }
    let filter = LedgerFilter { from: Some(from.to_string()), to: Some(to.to_string()), ..Default::default() };
    let r = Resolved::new(&filter, tz)?;
    let buckets = buckets(db, &r).await?;
    let p95 = latency_p95(db, &r).await?;
    Ok(assemble(from, to, &buckets, &p95, tz))
}

type Key = (String, String, String);

/// Nearest-rank 95th percentile of latency per provider, model and use case.
async fn latency_p95(db: &SqlitePool, r: &Resolved) -> Result<BTreeMap<Key, f64>, StoreError> {
    let c = filter::rows(r);
    let sql = format!("SELECT provider, model, use_case, latency_ms FROM requests {}", c.where_clause());
    let mut q = sqlx::query(&sql);
    for b in &c.binds {
        q = q.bind(b);
    }
    let mut all: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    for row in q.fetch_all(db).await? {
        let key = (row.try_get("provider")?, row.try_get("model")?, row.try_get("use_case")?);
        all.entry(key).or_default().push(row.try_get("latency_ms")?);
    }
    Ok(all
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            let rank = ((v.len() as f64) * 0.95).ceil() as usize;
            (k, v[rank.clamp(1, v.len()) - 1])
        })
        .collect())
}

/// The local day an hour (`YYYY-MM-DDTHH`, UTC) starts on in `tz`.
fn local_day<Tz: TimeZone>(hour: &str, tz: &Tz) -> String {
    chrono::NaiveDateTime::parse_from_str(&format!("{hour}:00:00"), "%Y-%m-%dT%H:%M:%S")
        .map(|t| Utc.from_utc_datetime(&t).with_timezone(tz).date_naive().to_string())
        .unwrap_or_else(|_| hour.chars().take(10).collect())
}

fn assemble<Tz: TimeZone>(from: &str, to: &str, buckets: &[Bucket], p95: &BTreeMap<Key, f64>, tz: &Tz) -> CostReport {
    let mut totals = CostTotals::default();
    let mut days: BTreeMap<(String, String, String, String), (u32, f64)> = BTreeMap::new();
    let mut groups: BTreeMap<Key, (bool, Bucket)> = BTreeMap::new();
    let mut share = LocalShare::default();
    for b in buckets {
        totals.add(&b.totals);
        let day =
            days.entry((local_day(&b.hour, tz), b.provider.clone(), b.model.clone(), b.use_case.clone())).or_default();
        day.0 += b.totals.requests;
        day.1 += b.totals.cost_usd;
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
                p95_latency_ms: p95.get(&key).copied().unwrap_or(0.0),
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
    let days = days
        .into_iter()
        .map(|((day, provider, model, use_case), (requests, cost_usd))| DayCost {
            day,
            provider,
            model,
            use_case,
            requests,
            cost_usd,
        })
        .collect();
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
