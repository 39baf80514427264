//! The database file itself: any path opens as a file name, it is created
//! readable by the user only, and transactions that read then write wait for
//! each other instead of failing.

use std::sync::Arc;

use switchboard_store::Store;

#[tokio::test]
async fn a_path_with_url_characters_is_a_plain_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("odd ?#% folder");
    let path = folder.join("switch?board#1%20.db");
    let store = Store::open(&path).await.unwrap();
    store.seed_builtin_use_cases("tester").await.unwrap();
    store.close().await;
    assert!(path.is_file(), "the database is at the exact path given");
    let names: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(names.iter().all(|n| n.to_string_lossy().starts_with("switch?board#1%20.db")), "{names:?}");
    let again = Store::open(&path).await.unwrap();
    assert_eq!(again.use_cases().await.unwrap().len(), 6, "the data is there on reopening");
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_file_is_readable_by_the_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    let store = Store::open(&path).await.unwrap();
    store.seed_builtin_use_cases("tester").await.unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{:?} has mode {mode:o}", entry.file_name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_read_then_write_transactions_wait_their_turn() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("switchboard.db")).await.unwrap());
    store.seed_builtin_providers("tester").await.unwrap();
    // Each save reads the provider (for its audit rows), then writes it.
    let saves: Vec<_> = (0..24)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut settings = store.provider("openai").await?.settings;
                settings.monthly_budget_usd = Some(f64::from(i) + 1.0);
                store.save_provider("tester", &settings, &[]).await
            })
        })
        .collect();
    for save in saves {
        save.await.unwrap().expect("a concurrent save waits instead of failing with 'database is locked'");
    }
    let budget = store.provider("openai").await.unwrap().settings.monthly_budget_usd.unwrap();
    assert!((1.0..=24.0).contains(&budget));
}
