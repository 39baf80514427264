//! The ledger against a real SQLite file.

use switchboard_core::{NewRequestRecord, RequestStatus};
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
async fn month_spend_sums_one_provider_in_the_current_month() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    for cost in [0.5, 0.25] {
        requests::insert(store.pool(), &record("openai", cost, RequestStatus::Ok)).await.unwrap();
    }
    requests::insert(store.pool(), &record("anthropic", 9.0, RequestStatus::Ok)).await.unwrap();
    let month = chrono_month();
    assert_eq!(requests::month_spend(store.pool(), "openai", &month).await.unwrap(), 0.75);
    assert_eq!(requests::month_spend(store.pool(), "openai", "1999-01").await.unwrap(), 0.0);
    assert!(requests::month_spend(store.pool(), "openai", "1999-13").await.is_err());
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

fn chrono_month() -> String {
    chrono::Utc::now().format("%Y-%m").to_string()
}
