//! The ledger's sums, pages, exports and text retention against a real
//! SQLite file: hourly sums against a full scan, time zones and month ends,
//! cancelled and failed rows, cached tokens, byte-exact exports.

use chrono::{FixedOffset, TimeZone, Utc};
use switchboard_core::{ExportFormat, LedgerFilter, NewRequestRecord, RequestStatus, RequestText};
use switchboard_store::ledger::{self, Resolved};
use switchboard_store::queries::{request_texts, requests};
use switchboard_store::Store;

struct Row {
    at: &'static str,
    use_case: &'static str,
    provider: &'static str,
    model: &'static str,
    status: RequestStatus,
    input: u32,
    cached: u32,
    output: u32,
    cost: f64,
    latency: f64,
}

fn record(r: &Row) -> NewRequestRecord {
    let local = r.provider == "local";
    NewRequestRecord {
        use_case: r.use_case.into(),
        input_tokens: r.input,
        cached_input_tokens: r.cached,
        output_tokens: r.output,
        cost_usd: r.cost,
        ttft_ms: (r.status == RequestStatus::Ok).then_some(r.latency / 4.0),
        tokens_per_second: (r.status == RequestStatus::Ok).then_some(50.0),
        status: r.status,
        error: (r.status == RequestStatus::Error).then(|| "provider_unavailable: upstream 503".to_string()),
        local,
        cost_avoided_usd: if local { 0.002 } else { 0.0 },
        ..NewRequestRecord::empty(
            r.use_case,
            &switchboard_core::ModelRef { provider: r.provider.into(), model: r.model.into() },
            r.latency,
        )
    }
}

use RequestStatus::{Cancelled, Error, Ok as Done};

/// Around the turn of November in Tokyo (UTC+9: December starts at 15:00 UTC on 30 November).
const FIXTURE: &[Row] = &[
    // November in Tokyo (and in UTC).
    Row {
        at: "2026-11-30T14:59:59.999Z",
        use_case: "answer_generation",
        provider: "openai",
        model: "gpt-4o-mini",
        status: Done,
        input: 1000,
        cached: 400,
        output: 200,
        cost: 0.25,
        latency: 800.0,
    },
    // December in Tokyo, still November in UTC.
    Row {
        at: "2026-11-30T15:00:00.000Z",
        use_case: "answer_generation",
        provider: "openai",
        model: "gpt-4o-mini",
        status: Done,
        input: 2000,
        cached: 0,
        output: 100,
        cost: 0.5,
        latency: 1000.0,
    },
    Row {
        at: "2026-11-30T15:30:00.000Z",
        use_case: "answer_generation",
        provider: "openai",
        model: "gpt-4o-mini",
        status: Error,
        input: 0,
        cached: 0,
        output: 0,
        cost: 0.0,
        latency: 30.0,
    },
    Row {
        at: "2026-12-01T00:10:00.000Z",
        use_case: "intent_classification",
        provider: "local",
        model: "gemma",
        status: Done,
        input: 50,
        cached: 0,
        output: 5,
        cost: 0.0,
        latency: 120.0,
    },
    Row {
        at: "2026-12-01T00:20:00.000Z",
        use_case: "intent_classification",
        provider: "local",
        model: "gemma",
        status: Cancelled,
        input: 50,
        cached: 0,
        output: 2,
        cost: 0.0,
        latency: 60.0,
    },
    Row {
        at: "2026-12-31T14:59:59.999Z",
        use_case: "answer_generation",
        provider: "anthropic",
        model: "claude",
        status: Done,
        input: 300,
        cached: 100,
        output: 300,
        cost: 1.0,
        latency: 2000.0,
    },
    // January in Tokyo.
    Row {
        at: "2026-12-31T15:00:00.000Z",
        use_case: "answer_generation",
        provider: "anthropic",
        model: "claude",
        status: Done,
        input: 1,
        cached: 0,
        output: 1,
        cost: 8.0,
        latency: 1.0,
    },
];

async fn store_with(rows: &[Row]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ledger.db")).await.unwrap();
    for (i, r) in rows.iter().enumerate() {
        requests::insert_with(store.pool(), &record(r), &format!("r{i:03}"), r.at).await.unwrap();
    }
    (dir, store)
}

#[tokio::test]
async fn a_tokyo_december_sums_exactly_the_rows_of_its_month() {
    let (_dir, store) = store_with(FIXTURE).await;
    let tokyo = FixedOffset::east_opt(9 * 3600).unwrap();
    let report = ledger::cost_report_with_p95(store.pool(), "2026-12-01", "2026-12-31", &tokyo).await.unwrap();
    let t = &report.totals;
    // Rows 1..=5 (by hand): five requests, one failed, one cancelled.
    assert_eq!((t.requests, t.errors, t.cancelled), (5, 1, 1));
    assert_eq!(t.input_tokens, 2000.0 + 50.0 + 50.0 + 300.0);
    assert_eq!(t.cached_input_tokens, 100.0);
    assert_eq!(t.output_tokens, 100.0 + 5.0 + 2.0 + 300.0);
    assert!((t.cost_usd - 1.5).abs() < 1e-12, "{}", t.cost_usd);
    assert!((t.cost_avoided_usd - 0.004).abs() < 1e-12);
    // Local share: the two local rows; the cloud cost is the three cloud rows'.
    assert_eq!((report.local_share.local_requests, report.local_share.cloud_requests), (2, 3));
    // Days in Tokyo: 30 Nov 15:00 UTC is 1 December there.
    let days: Vec<(&str, &str, f64)> =
        report.days.iter().map(|d| (d.day.as_str(), d.provider.as_str(), d.cost_usd)).collect();
    assert_eq!(
        days,
        vec![("2026-12-01", "local", 0.0), ("2026-12-01", "openai", 0.5), ("2026-12-31", "anthropic", 1.0)]
    );
    // Breakdown: the most expensive first; latency averages and percentiles per group, errors as a rate.
    let b = &report.breakdown;
    assert_eq!((b[0].provider.as_str(), b[0].totals.requests), ("anthropic", 1));
    let openai = b.iter().find(|g| g.provider == "openai").unwrap();
    assert_eq!(openai.avg_latency_ms, 515.0);
    assert_eq!(openai.p95_latency_ms, Some(1000.0));
    assert_eq!(openai.error_rate, 0.5);
    assert_eq!(openai.avg_ttft_ms, Some(250.0));
    let local = b.iter().find(|g| g.provider == "local").unwrap();
    assert!(local.local && !openai.local);

    // The same rows in UTC: December is rows 3..=6.
    let utc = ledger::cost_report(store.pool(), "2026-12-01", "2026-12-31", &Utc).await.unwrap();
    assert_eq!(utc.totals.requests, 4);
    assert!((utc.totals.cost_usd - 9.0).abs() < 1e-12);
}

#[tokio::test]
async fn reports_refuse_bad_ranges() {
    let (_dir, store) = store_with(&[]).await;
    for (from, to, field) in
        [("2026-12-31", "2026-12-01", "to"), ("yesterday", "2026-12-01", "from"), ("", "2026-12-01", "from")]
    {
        let e = ledger::cost_report(store.pool(), from, to, &Utc).await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{from}..{to}");
    }
    // An empty ledger is a report of zeros, not an error.
    let r = ledger::cost_report(store.pool(), "2026-12-01", "2026-12-31", &Utc).await.unwrap();
    assert_eq!((r.totals.requests, r.breakdown.len(), r.days.len()), (0, 0, 0));
    // Days with spaces around them (a `+` in a query string) are the same days.
    let r = ledger::cost_report(store.pool(), " 2026-12-01", "2026-12-31 ", &Utc).await.unwrap();
    assert_eq!((r.from.as_str(), r.to.as_str(), r.totals.requests), ("2026-12-01", "2026-12-31", 0));
}

/// A small deterministic generator (no crate needed for a test's randomness).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[tokio::test]
async fn hourly_sums_equal_a_full_scan_in_any_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ledger.db")).await.unwrap();
    let mut rng = Lcg(7);
    let base = Utc.with_ymd_and_hms(2026, 10, 25, 0, 0, 0).unwrap();
    let mut all = Vec::new();
    let mut tx = store.write_tx().await.unwrap();
    for i in 0..3000 {
        let at = base + chrono::Duration::milliseconds(rng.next(70 * 24 * 3600 * 1000) as i64);
        let status = [Done, Done, Done, Error, Cancelled][rng.next(5) as usize];
        let provider = ["local", "openai", "anthropic"][rng.next(3) as usize];
        let r = Row {
            at: "",
            use_case: ["answer_generation", "intent_classification"][rng.next(2) as usize],
            provider,
            model: ["a", "b"][rng.next(2) as usize],
            status,
            input: rng.next(5000) as u32,
            cached: 0,
            output: rng.next(900) as u32,
            cost: if provider == "local" { 0.0 } else { rng.next(100_000) as f64 / 1e6 },
            latency: rng.next(30_000) as f64 / 10.0,
        };
        let created = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let rec = record(&r);
        requests::insert_with(&mut *tx, &rec, &format!("g{i:05}"), &created).await.unwrap();
        all.push((at, rec));
    }
    tx.commit().await.unwrap();
    // A row removed later leaves the sums exact too.
    sqlx::query("DELETE FROM requests WHERE id = 'g00042'").execute(store.pool()).await.unwrap();
    all.remove(42);

    let zones = [
        FixedOffset::east_opt(0).unwrap(),
        FixedOffset::east_opt(9 * 3600).unwrap(),
        FixedOffset::west_opt(5 * 3600).unwrap(),
        FixedOffset::east_opt(5 * 3600 + 1800).unwrap(), // India: days start on the half hour
        FixedOffset::east_opt(5 * 3600 + 2700).unwrap(), // Nepal
    ];
    for tz in zones {
        for (from, to) in [("2026-11-01", "2026-11-30"), ("2026-10-31", "2026-11-02"), ("2026-12-15", "2026-12-15")] {
            let f = LedgerFilter { from: Some(from.into()), to: Some(to.into()), ..Default::default() };
            let r = Resolved::new(&f, &tz).unwrap();
            let (start, end) = (r.start.clone().unwrap(), r.end.clone().unwrap());
            let in_range: Vec<&NewRequestRecord> = all
                .iter()
                .filter(|(at, _)| {
                    let s = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    s >= start && s < end
                })
                .map(|(_, rec)| rec)
                .collect();
            let report = ledger::cost_report(store.pool(), from, to, &tz).await.unwrap();
            let t = &report.totals;
            assert_eq!(t.requests as usize, in_range.len(), "{tz} {from}..{to}");
            assert_eq!(t.errors as usize, in_range.iter().filter(|r| r.status == Error).count());
            assert_eq!(t.cancelled as usize, in_range.iter().filter(|r| r.status == Cancelled).count());
            assert_eq!(t.input_tokens, in_range.iter().map(|r| f64::from(r.input_tokens)).sum::<f64>());
            assert_eq!(t.output_tokens, in_range.iter().map(|r| f64::from(r.output_tokens)).sum::<f64>());
            let cost: f64 = in_range.iter().map(|r| r.cost_usd).sum();
            assert!((t.cost_usd - cost).abs() < 1e-9, "{tz} {from}..{to}: {} vs {cost}", t.cost_usd);
            let p = report.breakdown.iter().map(|b| b.totals.requests).sum::<u32>();
            assert_eq!(p, t.requests);
            // Counting for History agrees, with and without a status.
            let n = ledger::count(store.pool(), &r).await.unwrap();
            assert_eq!(n, Some(in_range.len() as u32));
            let errors = Resolved::new(&LedgerFilter { status: Some(Error), ..f.clone() }, &tz).unwrap();
            assert_eq!(
                ledger::count(store.pool(), &errors).await.unwrap(),
                Some(in_range.iter().filter(|r| r.status == Error).count() as u32)
            );
        }
    }
}

#[tokio::test]
async fn ledger_rows_cannot_be_changed() {
    let (_dir, store) = store_with(FIXTURE).await;
    let e = sqlx::query("UPDATE requests SET cost_usd = 0").execute(store.pool()).await.unwrap_err();
    assert!(e.to_string().contains("not changed once written"), "{e}");
}

#[tokio::test]
async fn history_pages_through_filters_with_cursors_and_counts() {
    let (_dir, store) = store_with(FIXTURE).await;
    let all = Resolved::all();
    let first = ledger::page(store.pool(), &all, None, 3).await.unwrap();
    assert_eq!(ledger::count(store.pool(), &all).await.unwrap(), Some(7));
    let ids: Vec<&str> = first.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r006", "r005", "r004"]);
    let second = ledger::page(store.pool(), &all, first.next_cursor.as_deref(), 3).await.unwrap();
    assert_eq!(second.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["r003", "r002", "r001"]);
    let last = ledger::page(store.pool(), &all, second.next_cursor.as_deref(), 3).await.unwrap();
    assert_eq!((last.rows.len(), last.next_cursor.is_none()), (1, true));

    let by = |f: LedgerFilter| Resolved::new(&f, &Utc).unwrap();
    let openai = by(LedgerFilter { provider: Some("openai".into()), ..Default::default() });
    let p = ledger::page(store.pool(), &openai, None, 100).await.unwrap();
    assert_eq!((p.rows.len(), ledger::count(store.pool(), &openai).await.unwrap()), (3, Some(3)));
    let failed = by(LedgerFilter { status: Some(Error), ..Default::default() });
    assert_eq!(ledger::page(store.pool(), &failed, None, 100).await.unwrap().rows[0].id, "r002");
    // Search by error text (case-insensitive) and by id; a search has no quick total.
    let s = by(LedgerFilter { search: Some("UPSTREAM 503".into()), ..Default::default() });
    let p = ledger::page(store.pool(), &s, None, 100).await.unwrap();
    assert_eq!((p.rows.len(), ledger::count(store.pool(), &s).await.unwrap()), (1, None));
    let s = by(LedgerFilter { search: Some("r004".into()), ..Default::default() });
    assert_eq!(ledger::page(store.pool(), &s, None, 100).await.unwrap().rows[0].id, "r004");
    // Wildcards are plain characters.
    let s = by(LedgerFilter { search: Some("%".into()), ..Default::default() });
    assert!(ledger::page(store.pool(), &s, None, 100).await.unwrap().rows.is_empty());
    // Caller and days (UTC here): 1 December holds two local rows.
    let c = by(LedgerFilter {
        caller: Some("window".into()),
        from: Some("2026-12-01".into()),
        to: Some("2026-12-01".into()),
        ..Default::default()
    });
    let p = ledger::page(store.pool(), &c, None, 100).await.unwrap();
    assert_eq!((p.rows.len(), ledger::count(store.pool(), &c).await.unwrap()), (2, Some(2)));
    let nobody = by(LedgerFilter { caller: Some("token:ci".into()), ..Default::default() });
    assert_eq!(ledger::count(store.pool(), &nobody).await.unwrap(), Some(0));
    let nobody_failed = by(LedgerFilter { caller: Some("window".into()), status: Some(Error), ..Default::default() });
    assert_eq!(ledger::count(store.pool(), &nobody_failed).await.unwrap(), Some(1));
    // Rows of one millisecond page in the order they were written, none twice.
    let dir = tempfile::tempdir().unwrap();
    let same = Store::open(&dir.path().join("same.db")).await.unwrap();
    for id in ["z", "a", "m"] {
        requests::insert_with(same.pool(), &record(&FIXTURE[0]), id, "2026-12-01T00:00:00.000Z").await.unwrap();
    }
    let one = ledger::page(same.pool(), &all, None, 2).await.unwrap();
    let two = ledger::page(same.pool(), &all, one.next_cursor.as_deref(), 2).await.unwrap();
    let seen: Vec<&str> = one.rows.iter().chain(&two.rows).map(|r| r.id.as_str()).collect();
    assert_eq!(seen, ["m", "a", "z"]);
    // A forged cursor is refused, not misread.
    assert!(ledger::page(store.pool(), &all, Some("garbage"), 3).await.is_err());
}

#[tokio::test]
async fn exports_are_byte_exact_csv_and_json_lines() {
    let (_dir, store) = store_with(&FIXTURE[1..3]).await;
    let mut csv = Vec::new();
    let n = ledger::export(store.pool(), &Resolved::all(), ExportFormat::Csv, &mut csv).await.unwrap();
    assert_eq!(n, 2);
    let expected = "id,created_at,caller,use_case,provider,model,local,status,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,image_count,image_tokens,cost_usd,cost_avoided_usd,latency_ms,ttft_ms,tokens_per_second,cache_hit,tokens_saved,attempts,error,params,route\n\
r000,2026-11-30T15:00:00.000Z,window,answer_generation,openai,gpt-4o-mini,false,ok,2000,0,100,0,0,0,0.5,0.0,1000.0,250.0,50.0,false,0,0,,,\n\
r001,2026-11-30T15:30:00.000Z,window,answer_generation,openai,gpt-4o-mini,false,error,0,0,0,0,0,0,0.0,0.0,30.0,,,false,0,0,provider_unavailable: upstream 503,,\n";
    assert_eq!(String::from_utf8(csv).unwrap(), expected);

    let mut jsonl = Vec::new();
    let f = Resolved::new(&LedgerFilter { status: Some(Error), ..Default::default() }, &Utc).unwrap();
    assert_eq!(ledger::export(store.pool(), &f, ExportFormat::Jsonl, &mut jsonl).await.unwrap(), 1);
    let expected = r#"{"id":"r001","created_at":"2026-11-30T15:30:00.000Z","use_case":"answer_generation","provider":"openai","model":"gpt-4o-mini","input_tokens":0,"output_tokens":0,"cached_input_tokens":0,"reasoning_tokens":0,"cost_usd":0.0,"latency_ms":30.0,"ttft_ms":null,"tokens_per_second":null,"status":"error","error":"provider_unavailable: upstream 503","params":null,"image_count":0,"image_tokens":0,"route":[],"cache_hit":false,"tokens_saved":0,"caller":"window","local":false,"cost_avoided_usd":0.0}"#;
    assert_eq!(String::from_utf8(jsonl).unwrap(), format!("{expected}\n"));
}

#[tokio::test]
async fn quoted_csv_fields_survive_commas_quotes_and_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ledger.db")).await.unwrap();
    let mut rec = record(&FIXTURE[2]);
    rec.error = Some("invalid_input: said \"no\", then\nstopped".into());
    rec.model = "odd,model".into();
    rec.params = Some(switchboard_core::SamplingParams::new(0.5, 40, 0.9, 256, 1.1));
    rec.route = vec![switchboard_core::Attempt {
        candidate: "openai/odd,model".into(),
        outcome: switchboard_core::AttemptOutcome::Failed,
        class: None,
        message: Some("503".into()),
        tries: 3,
        duration_ms: 12.5,
    }];
    requests::insert_with(store.pool(), &rec, "q", "2026-12-01T00:00:00.000Z").await.unwrap();
    let mut out = Vec::new();
    ledger::export(store.pool(), &Resolved::all(), ExportFormat::Csv, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(",\"odd,model\","), "{text}");
    assert!(
        text.contains(",1,\"invalid_input: said \"\"no\"\", then\nstopped\",\"{\"\"temperature\"\":0.5,"),
        "{text}"
    );
    assert!(text.ends_with("\"\"duration_ms\"\":12.5}]\"\n"), "{text}");
    // JSON lines carry the same row as objects, JSON columns nested, not as strings.
    let mut out = Vec::new();
    ledger::export(store.pool(), &Resolved::all(), ExportFormat::Jsonl, &mut out).await.unwrap();
    let line: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(line["params"]["temperature"], 0.5);
    assert_eq!(line["route"][0]["tries"], 3);
    assert_eq!(line["model"], "odd,model");
    let back: switchboard_core::RequestRecord = serde_json::from_value(line).unwrap();
    assert_eq!(back.record, rec, "a JSON line reads back as the row it came from");
}

#[tokio::test]
async fn retention_deletes_the_text_and_keeps_the_row() {
    let (_dir, store) = store_with(&FIXTURE[..2]).await;
    let text = |until: &str| RequestText {
        prompt: vec![switchboard_core::ChatTurn { role: switchboard_core::ChatRole::User, content: "hello".into() }],
        response: "hi".into(),
        delete_after: until.into(),
    };
    request_texts::insert(store.pool(), "r000", &text("2026-12-10T00:00:00.000Z")).await.unwrap();
    request_texts::insert(store.pool(), "r001", &text("2027-01-10T00:00:00.000Z")).await.unwrap();
    let now = "2026-12-20T00:00:00.000Z";
    // An expired text is not shown even before the job runs.
    assert_eq!(request_texts::get(store.pool(), "r000", now).await.unwrap(), None);
    assert_eq!(request_texts::delete_expired(store.pool(), now).await.unwrap(), 1);
    assert_eq!(request_texts::get(store.pool(), "r001", now).await.unwrap().unwrap().response, "hi");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM request_texts").fetch_one(store.pool()).await.unwrap();
    assert_eq!(left, 1);
    // Both ledger rows stay, with their sums.
    assert!(requests::get(store.pool(), "r000").await.unwrap().is_some());
    assert_eq!(ledger::count(store.pool(), &Resolved::all()).await.unwrap(), Some(2));
    // A text for a row that does not exist is refused.
    assert!(request_texts::insert(store.pool(), "nope", &text(now)).await.is_err());
}

#[tokio::test]
async fn rows_written_before_the_sums_existed_are_summed_by_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    // A database as version 0.9 of the schema left it, with two ledger rows.
    {
        let pool = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true),
        )
        .await
        .unwrap();
        let mut old = sqlx::migrate::Migrator {
            migrations: switchboard_store::MIGRATOR.migrations.clone(),
            ..switchboard_store::MIGRATOR
        };
        old.migrations = old.migrations.iter().filter(|m| m.version <= 9).cloned().collect::<Vec<_>>().into();
        old.run(&pool).await.unwrap();
        for (id, provider, cost) in [("a", "openai", 0.5), ("b", "local", 0.0)] {
            sqlx::query(
                "INSERT INTO requests (id, created_at, use_case, provider, model, input_tokens, output_tokens, cost_usd,
                                       latency_ms, status) VALUES (?, '2026-11-03T10:00:00.000Z', 'answer_generation', ?, 'm', 10, 5, ?, 100, 'ok')",
            )
            .bind(id)
            .bind(provider)
            .bind(cost)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let store = Store::open(&path).await.unwrap();
    let r = ledger::cost_report(store.pool(), "2026-11-01", "2026-11-30", &Utc).await.unwrap();
    assert_eq!((r.totals.requests, r.totals.input_tokens, r.totals.cost_usd), (2, 20.0, 0.5));
    assert_eq!((r.local_share.local_requests, r.local_share.cloud_requests), (1, 1));
    let rows = requests::recent(store.pool(), 10).await.unwrap();
    assert!(rows.iter().all(|r| r.record.caller == "window"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_group_committing_writer_keeps_every_row_and_fails_only_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ledger.db")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..300u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut rec = record(&FIXTURE[(i % 7) as usize]);
            // One row in the middle breaks a CHECK: it alone fails.
            if i == 150 {
                rec.cost_usd = -1.0;
            }
            store.record(&rec).await
        }));
    }
    let mut ids = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(row) => ids.push(row.id),
            Err(_) => failed += 1,
        }
    }
    assert_eq!((ids.len(), failed), (299, 1));
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests").fetch_one(store.pool()).await.unwrap();
    assert_eq!(stored, 299, "every acknowledged row is there");
    for id in ids.iter().step_by(37) {
        assert!(requests::get(store.pool(), id).await.unwrap().is_some());
    }
    // Ids are time-ordered and unique.
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 299);
    // The hourly sums hold every committed row.
    assert_eq!(ledger::count(store.pool(), &Resolved::all()).await.unwrap(), Some(299));
    store.close().await;
}
