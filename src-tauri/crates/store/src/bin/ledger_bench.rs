//! The ledger at scale: generates a ledger of a million requests (a year of
//! a busy installation) in a real SQLite file, then times what the Costs and
//! History pages and an export ask of it, and how fast rows go in.
//!
//!   ledger-bench [--rows N] [--db PATH]
//!
//! Prints a Markdown table (the benchmark's record) on stdout.

use std::time::{Duration, Instant};

use chrono::{Datelike, SecondsFormat, Utc};
use switchboard_core::{ExportFormat, LedgerFilter, ModelRef, NewRequestRecord, RequestStatus, SamplingParams};
use switchboard_store::ledger::{self, Resolved};
use switchboard_store::queries::requests;
use switchboard_store::Store;

const USE_CASES: [&str; 8] = [
    "intent_classification",
    "entity_extraction",
    "answer_generation",
    "followup_titles",
    "query_decomposition",
    "vision_vlm",
    "reasoning",
    "planning",
];
const MODELS: [(&str, &str, f64); 6] = [
    ("local", "gemma-3-270m-q4_k_m", 0.0),
    ("local", "qwen3-8b-q4_k_m", 0.0),
    ("ollama", "qwen3:32b", 0.0),
    ("openai", "gpt-4o-mini", 0.000_000_6),
    ("anthropic", "claude-sonnet-4", 0.000_015),
    ("dashscope", "qwen-plus", 0.000_001_2),
];
const CALLERS: [&str; 3] = ["window", "cli", "token:rag"];

struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn record(rng: &mut Rng) -> NewRequestRecord {
    let (provider, model, out_price) = MODELS[rng.next(MODELS.len() as u64) as usize];
    let roll = rng.next(100);
    let status = if roll < 3 {
        RequestStatus::Error
    } else if roll < 4 {
        RequestStatus::Cancelled
    } else {
        RequestStatus::Ok
    };
    let input = 50 + rng.next(4000) as u32;
    let output = if status == RequestStatus::Error { 0 } else { 10 + rng.next(800) as u32 };
    let local = out_price == 0.0;
    let latency = 50.0 + rng.next(8000) as f64;
    NewRequestRecord {
        use_case: USE_CASES[rng.next(USE_CASES.len() as u64) as usize].into(),
        caller: CALLERS[rng.next(CALLERS.len() as u64) as usize].into(),
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: if local { 0 } else { input / 4 },
        cost_usd: f64::from(output) * out_price + f64::from(input) * out_price / 4.0,
        cost_avoided_usd: if local { f64::from(output) * 0.000_000_6 + f64::from(input) * 0.000_000_15 } else { 0.0 },
        local,
        latency_ms: latency,
        ttft_ms: (status == RequestStatus::Ok).then_some(latency / 10.0),
        tokens_per_second: (status == RequestStatus::Ok).then_some(20.0 + rng.next(80) as f64),
        status,
        error: (status == RequestStatus::Error).then(|| "provider_unavailable: upstream answered 503".to_string()),
        params: Some(SamplingParams::new(0.7, 40, 0.9, 1024, 1.1)),
        ..NewRequestRecord::empty("x", &ModelRef { provider: provider.into(), model: model.into() }, latency)
    }
}

/// Median and slowest of `runs` timed calls.
async fn time<F, Fut, T>(runs: usize, mut f: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut all = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f().await);
        all.push(t.elapsed());
    }
    all.sort();
    (all[runs / 2], all[runs - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut rows: u64 = 1_000_000;
    let mut db: Option<std::path::PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).ok_or_else(|| anyhow::anyhow!("--rows N"))?,
            "--db" => db = args.next().map(Into::into),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let dir = tempfile::tempdir()?;
    let path = db.unwrap_or_else(|| dir.path().join("ledger.db"));
    let store = Store::open(&path).await?;
    let pool = store.pool();
    let mut rng = Rng(20261202);
    let now = Utc::now();
    let year_ms = 365 * 24 * 3600 * 1000_i64;

    // Generate: a year of requests, oldest first, 10,000 to a transaction.
    let t = Instant::now();
    let mut written = 0u64;
    while written < rows {
        let mut tx = store.write_tx().await?;
        for _ in 0..10_000.min(rows - written) {
            let at = now - chrono::Duration::milliseconds(year_ms - (written as i64 * year_ms / rows as i64));
            let id = format!("bench-{written:09}");
            requests::insert_with(&mut *tx, &record(&mut rng), &id, &at.to_rfc3339_opts(SecondsFormat::Millis, true))
                .await?;
            written += 1;
        }
        tx.commit().await?;
    }
    let batched = written as f64 / t.elapsed().as_secs_f64();
    sqlx::query("ANALYZE").execute(pool).await?;

    // As the gateway writes them (Store::record, group commit), one request after another: 10,000.
    let t = Instant::now();
    for _ in 0..10_000 {
        store.record(&record(&mut rng)).await?;
    }
    let single = 10_000.0 / t.elapsed().as_secs_f64();
    // The same with many requests ending at once (a busy local API), 20,480 rows each time.
    let mut concurrent = Vec::new();
    for writers in [64u64, 256] {
        let t = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut rng = Rng(w + 1);
                for _ in 0..(20_480 / writers) {
                    store.record(&record(&mut rng)).await.expect("insert");
                }
            }));
        }
        for task in tasks {
            task.await?;
        }
        concurrent.push((writers, 20_480.0 / t.elapsed().as_secs_f64()));
    }
    let total_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests").fetch_one(pool).await?;

    let local = now.with_timezone(&chrono::Local);
    let month_from = format!("{:04}-{:02}-01", local.year(), local.month());
    let month_to = local.date_naive().to_string();
    let month = LedgerFilter { from: Some(month_from.clone()), to: Some(month_to.clone()), ..Default::default() };
    let month_r = Resolved::local(&month)?;
    let year_from = (local.date_naive() - chrono::Duration::days(365)).to_string();

    let (totals, totals_max) = time(20, || ledger::count(pool, &month_r)).await;
    let (report, report_max) = time(10, || ledger::cost_report(pool, &month_from, &month_to, &chrono::Local)).await;
    let (report_p95, report_p95_max) =
        time(10, || ledger::latency_percentiles(pool, &month_from, &month_to, &chrono::Local)).await;
    let last_month_end = local.date_naive().with_day(1).expect("day 1").pred_opt().expect("a day before");
    let last_month = (last_month_end.with_day(1).expect("day 1").to_string(), last_month_end.to_string());
    let (prev, prev_max) = time(10, || ledger::cost_report(pool, &last_month.0, &last_month.1, &chrono::Local)).await;
    let (prev_p95, prev_p95_max) =
        time(10, || ledger::latency_percentiles(pool, &last_month.0, &last_month.1, &chrono::Local)).await;
    let prev_r = Resolved::local(&LedgerFilter {
        from: Some(last_month.0.clone()),
        to: Some(last_month.1.clone()),
        ..Default::default()
    })?;
    let (prev_totals, prev_totals_max) = time(20, || ledger::breakdown(pool, &prev_r)).await;
    let prev_rows = ledger::cost_report(pool, &last_month.0, &last_month.1, &chrono::Local).await?.totals.requests;
    let (year, year_max) = time(3, || ledger::cost_report(pool, &year_from, &month_to, &chrono::Local)).await;
    let page_of = |f: LedgerFilter| Resolved::local(&f).expect("a filter");
    let unfiltered = page_of(LedgerFilter::default());
    let (p0, p0_max) = time(20, || ledger::page(pool, &unfiltered, None, 100)).await;
    let errors =
        page_of(LedgerFilter { status: Some(RequestStatus::Error), provider: Some("openai".into()), ..month.clone() });
    let (p1, p1_max) = time(20, || ledger::page(pool, &errors, None, 100)).await;
    let caller = page_of(LedgerFilter {
        caller: Some("token:rag".into()),
        use_case: Some("planning".into()),
        ..Default::default()
    });
    let (p2, p2_max) = time(20, || ledger::page(pool, &caller, None, 100)).await;
    let deep = ledger::page(pool, &unfiltered, None, 100).await?;
    let (p3, p3_max) = time(20, || ledger::page(pool, &unfiltered, deep.next_cursor.as_deref(), 100)).await;
    let search = page_of(LedgerFilter { search: Some("503".into()), ..month.clone() });
    let (p4, p4_max) = time(5, || ledger::page(pool, &search, None, 100)).await;
    let (c0, c0_max) = time(10, || ledger::count(pool, &unfiltered)).await;
    let (c1, c1_max) = time(10, || ledger::count(pool, &caller)).await;

    let out = dir.path().join("export.csv");
    let t = Instant::now();
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    let exported = ledger::export(pool, &Resolved::all(), ExportFormat::Csv, &mut file).await?;
    drop(file);
    let export_csv = t.elapsed();
    let csv_bytes = std::fs::metadata(&out)?.len();
    let t = Instant::now();
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    ledger::export(pool, &Resolved::all(), ExportFormat::Jsonl, &mut file).await?;
    drop(file);
    let export_jsonl = t.elapsed();
    let db_bytes = std::fs::metadata(&path)?.len();

    println!("| measure | median | slowest | target |");
    println!("|---|---|---|---|");
    println!("| ledger rows | {total_rows} ({:.0} MB file) | | |", db_bytes as f64 / 1e6);
    println!(
        "| month's count from the hourly sums ({month_from}..{month_to}) | {} | {} | |",
        ms(totals),
        ms(totals_max)
    );
    println!("| Costs page, this month so far ({month_from} .. {month_to}): totals, per day, breakdown by provider, model and use case | {} | {} | < 50 ms (totals), < 300 ms (page) |", ms(report), ms(report_max));
    println!(
        "| the same range's p95 latency per group (asked beside the report) | {} | {} | |",
        ms(report_p95),
        ms(report_p95_max)
    );
    println!(
        "| last month's totals by provider, model and use case | {} | {} | < 50 ms |",
        ms(prev_totals),
        ms(prev_totals_max)
    );
    println!(
        "| Costs page, last month ({} .. {}, {prev_rows} requests) | {} | {} | < 300 ms |",
        last_month.0,
        last_month.1,
        ms(prev),
        ms(prev_max)
    );
    println!("| last month's p95 latency per group | {} | {} | |", ms(prev_p95), ms(prev_p95_max));
    println!("| Costs page, the whole year | {} | {} | |", ms(year), ms(year_max));
    println!("| History, first 100 rows, no filter | {} | {} | < 20 ms |", ms(p0), ms(p0_max));
    println!("| History, 100 rows: this month, openai, failed | {} | {} | < 20 ms |", ms(p1), ms(p1_max));
    println!("| History, 100 rows: caller token:rag, use case planning | {} | {} | < 20 ms |", ms(p2), ms(p2_max));
    println!("| History, the next 100 rows (cursor) | {} | {} | < 20 ms |", ms(p3), ms(p3_max));
    println!("| History, search of error text this month | {} | {} | |", ms(p4), ms(p4_max));
    println!("| History's count of matches, all rows (asked beside the page) | {} | {} | |", ms(c0), ms(c0_max));
    println!("| History's count of matches, caller and use case | {} | {} | |", ms(c1), ms(c1_max));
    println!(
        "| export CSV, {exported} rows ({:.0} MB) | {:.2} s | | < 10 s |",
        csv_bytes as f64 / 1e6,
        export_csv.as_secs_f64()
    );
    println!("| export JSON lines, {exported} rows | {:.2} s | | < 10 s |", export_jsonl.as_secs_f64());
    println!("| inserts as the gateway writes them, one request after another | {single:.0} rows/s | | ≥ 10,000/s |");
    for (writers, rate) in &concurrent {
        println!("| inserts as the gateway writes them, {writers} requests ending at once (group commit) | {rate:.0} rows/s | | ≥ 10,000/s |");
    }
    println!("| inserts, 10,000 rows per transaction (generation) | {batched:.0} rows/s | | |");
    Ok(())
}
