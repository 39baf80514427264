//! The configuration requests read is kept in memory, and never outlives a
//! change: one made through the store (by any of its functions or by plain
//! SQL on its pool) is read back at once; one made by another process is
//! read back within the cache's maximum age.

use std::time::Duration;

use switchboard_core::{ModelPrice, NewRequestRecord, RoutingSettings};
use switchboard_store::Store;

async fn seeded(path: &std::path::Path) -> Store {
    let store = Store::open(path).await.unwrap();
    store.seed_builtin_use_cases("tester").await.unwrap();
    store.seed_builtin_providers("tester").await.unwrap();
    store
}

#[tokio::test]
async fn a_change_through_the_store_is_read_back_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir.path().join("s.db")).await;
    let original = store.use_case("answer_generation").await.unwrap().model;
    assert_ne!(original, "openai/gpt-4o-mini");
    // Read twice so that the answers are cached.
    for _ in 0..2 {
        assert_eq!(store.use_case("answer_generation").await.unwrap().model, original);
        assert!(!store.provider("openai").await.unwrap().settings.enabled);
        assert!(!store.routing_settings().await.unwrap().local_only);
    }

    let mut cfg = store.use_case("answer_generation").await.unwrap().config();
    cfg.model = "openai/gpt-4o-mini".into();
    store.save_use_case("tester", "answer_generation", &cfg).await.unwrap();
    assert_eq!(store.use_case("answer_generation").await.unwrap().model, "openai/gpt-4o-mini");

    let mut openai = store.provider("openai").await.unwrap().settings;
    openai.enabled = true;
    store.save_provider("tester", &openai, &[]).await.unwrap();
    assert!(store.provider("openai").await.unwrap().settings.enabled, "the provider's new settings");

    store.save_routing_settings("tester", &RoutingSettings { local_only: true }).await.unwrap();
    assert!(store.routing_settings().await.unwrap().local_only);

    // Plain SQL on the store's own pool is seen too (the connections' hooks, not the functions, notice).
    sqlx::query("UPDATE use_cases SET model = 'local/other' WHERE id = 'answer_generation'")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(store.use_case("answer_generation").await.unwrap().model, "local/other");
    sqlx::query("DELETE FROM use_cases WHERE id = 'answer_generation'").execute(store.pool()).await.unwrap();
    assert!(store.use_case("answer_generation").await.is_err(), "a deleted use case is gone at once");
}

#[tokio::test]
async fn an_absent_row_is_not_remembered_once_it_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir.path().join("s.db")).await;
    assert!(store.price("openai", "bench-model-9").await.unwrap().is_none());
    let price = ModelPrice {
        provider: "openai".into(),
        model: "bench-model-9".into(),
        input_per_mtok: 1.0,
        output_per_mtok: 2.0,
        cached_input_per_mtok: None,
        vision: None,
        context_length: None,
    };
    store.import_prices("tester", &[price], "prices.json").await.unwrap();
    let found = store.price("openai", "bench-model-9").await.unwrap().expect("the imported price");
    assert_eq!(found.output_per_mtok, 2.0);
    assert!(store.group("team").await.unwrap().is_none());
    assert!(store.provider_keys("openai").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_change_by_another_process_is_read_back_within_the_maximum_age() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = seeded(&path).await;
    assert_ne!(store.use_case("answer_generation").await.unwrap().model, "openai/gpt-4o-mini");
    // Another pool on the same file stands for another process: its commits run no hook of ours.
    let other = Store::open(&path).await.unwrap();
    let mut cfg = other.use_case("answer_generation").await.unwrap().config();
    cfg.model = "openai/gpt-4o-mini".into();
    other.save_use_case("cli", "answer_generation", &cfg).await.unwrap();
    tokio::time::sleep(switchboard_store::READ_CACHE_MAX_AGE + Duration::from_millis(50)).await;
    assert_eq!(store.use_case("answer_generation").await.unwrap().model, "openai/gpt-4o-mini");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_racing_with_changes_never_end_on_an_old_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir.path().join("s.db")).await;
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..200 {
                    store.use_case("answer_generation").await.unwrap();
                }
            })
        })
        .collect();
    let mut cfg = store.use_case("answer_generation").await.unwrap().config();
    for i in 0..40 {
        cfg.system_prompt = Some(format!("version {i}"));
        store.save_use_case("tester", "answer_generation", &cfg).await.unwrap();
        // Whatever the readers cached meanwhile, a read after the save sees it.
        let read = store.use_case("answer_generation").await.unwrap();
        assert_eq!(read.system_prompt.as_deref(), Some(format!("version {i}").as_str()));
    }
    for r in readers {
        r.await.unwrap();
    }
    // Ledger rows are not configuration, and a row written does not hide a change either.
    store
        .record(&NewRequestRecord::empty("answer_generation", &switchboard_core::ModelRef::local("x"), 1.0))
        .await
        .unwrap();
    assert_eq!(store.use_case("answer_generation").await.unwrap().system_prompt.as_deref(), Some("version 39"));
}
