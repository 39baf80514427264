//! The ledger against a real SQLite file.

use switchboard_core::{Attempt, AttemptOutcome, FailureClass, NewRequestRecord, RequestStatus};
use switchboard_store::{queries::requests, Store};

fn record(provider: &str, cost: f64, status: RequestStatus) -> NewRequestRecord {
    NewRequestRecord {
        use_case: "answer_generation".into(),
        provider: provider.into(),
        model: "gemma".into(),
        input_tokens: 12,
        cached_input_tokens: 0,
        reasoning_tokens: 0,
        output_tokens: 34,
        cost_usd: cost,
        latency_ms: 120.5,
        ttft_ms: Some(20.0),
        tokens_per_second: Some(45.0),
        status,
        error: (status != RequestStatus::Ok).then(|| "cancelled: stopped by the user".into()),
        params: Some(switchboard_core::SamplingParams::new(0.7, 40, 0.9, 256, 1.1)),
        image_count: 1,
        image_tokens: 16,
        route: vec![
            Attempt {
                candidate: "local/gemma".into(),
                outcome: AttemptOutcome::Failed,
                class: Some(FailureClass::EngineFailed),
                message: Some("the engine stopped".into()),
                tries: 1,
                duration_ms: 3.5,
            },
            Attempt {
                candidate: format!("{provider}/gemma"),
                outcome: AttemptOutcome::Answered,
                class: None,
                message: None,
                tries: 1,
                duration_ms: 117.0,
            },
        ],
        cache_hit: false,
        tokens_saved: 0,
        caller: "window".into(),
        local: provider == "local",
        cost_avoided_usd: 0.0,
    }
}

#[tokio::test]
async fn rows_survive_reopening_the_file_and_list_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/switchboard.db");
    {
        let store = Store::open(&path).await.unwrap();
        requests::insert(store.pool(), &record("local", 0.0, RequestStatus::Ok)).await.unwrap();
        requests::insert(store.pool(), &record("openai", 0.25, RequestStatus::Cancelled)).await.unwrap();
        store.close().await;
    }
    let store = Store::open(&path).await.unwrap();
    let rows = requests::recent(store.pool(), 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].record.provider, "openai");
    assert_eq!(rows[0].record.status, RequestStatus::Cancelled);
    assert_eq!(rows[1].record, record("local", 0.0, RequestStatus::Ok));
    assert_eq!(requests::recent(store.pool(), 1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn database_is_in_wal_mode_with_month_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
    assert_eq!(mode, "wal");
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT SUM(cost_usd) FROM requests WHERE provider = 'x' AND created_at >= '2026-01-01' AND created_at < '2026-02-01'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert!(plan.iter().any(|r| r.3.contains("requests_provider_created_at")), "{plan:?}");
}

#[tokio::test]
async fn month_spend_sums_one_provider_in_the_users_month() {
    use chrono::{FixedOffset, TimeZone, Utc};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    for cost in [0.5, 0.25] {
        requests::insert(store.pool(), &record("openai", cost, RequestStatus::Ok)).await.unwrap();
    }
    requests::insert(store.pool(), &record("anthropic", 9.0, RequestStatus::Ok)).await.unwrap();
    assert_eq!(store.month_spend_now("openai").await.unwrap(), 0.75);

    // Two rows either side of midnight UTC at the turn of November: in Tokyo both are in December.
    for (id, at) in [("late", "2026-11-30T16:00:00.000Z"), ("early", "2026-12-01T01:00:00.000Z")] {
        let mut rec = record("gemini", 1.0, RequestStatus::Ok);
        rec.model = id.into();
        requests::insert_with(store.pool(), &rec, id, at).await.unwrap();
    }
    let tokyo = FixedOffset::east_opt(9 * 3600).unwrap();
    let dec_2 = Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap();
    assert_eq!(store.month_spend_at("gemini", dec_2, &Utc).await.unwrap(), 1.0);
    assert_eq!(store.month_spend_at("gemini", dec_2, &tokyo).await.unwrap(), 2.0);
    // And the month turns by itself: January in Tokyo starts with nothing spent.
    let jan_in_tokyo = Utc.with_ymd_and_hms(2026, 12, 31, 15, 30, 0).unwrap();
    assert_eq!(store.month_spend_at("gemini", jan_in_tokyo, &tokyo).await.unwrap(), 0.0);
    assert_eq!(store.month_spend_at("gemini", jan_in_tokyo, &Utc).await.unwrap(), 1.0);
}

#[tokio::test]
async fn routing_events_are_kept_newest_first() {
    use switchboard_core::{RoutingEvent, RoutingEventKind};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    for (kind, provider) in [(RoutingEventKind::CircuitOpened, "openai"), (RoutingEventKind::FellBack, "local")] {
        let event = RoutingEvent {
            id: 0,
            at: switchboard_store::now(),
            kind,
            provider: Some(provider.into()),
            use_case: Some("answer_generation".into()),
            ledger_id: None,
            message: format!("{kind:?}"),
        };
        assert!(store.record_event(&event).await.unwrap().id > 0);
    }
    let all = store.events(None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [RoutingEventKind::FellBack, RoutingEventKind::CircuitOpened]
    );
    let openai = store.events(Some("openai"), 10).await.unwrap();
    assert_eq!(openai.len(), 1);
    assert_eq!(openai[0].kind, RoutingEventKind::CircuitOpened);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    std::fs::write(&path, b"this is not sqlite, but somebody's notes").unwrap();
    let err = Store::open(&path).await.unwrap_err();
    assert!(err.to_string().contains("s.db") || err.to_string().contains("database"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"this is not sqlite, but somebody's notes");
}
