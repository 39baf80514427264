//! The API's tokens and settings in a real SQLite file: hashes only, names
//! unique, revocation final, every change audited.

use switchboard_core::{ApiServerSettings, AuditFilter, TokenScope};
use switchboard_store::Store;

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("api.db")).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn tokens_are_found_by_hash_until_revoked_and_names_stay_taken() {
    let (_dir, store) = store().await;
    let made = store.create_api_token("ada", "rag", TokenScope::Use, "hash-1", "sb-AbCd").await.unwrap();
    assert_eq!((made.name.as_str(), made.scope, made.prefix.as_str()), ("rag", TokenScope::Use, "sb-AbCd"));
    let found = store.api_token_by_hash("hash-1").await.unwrap().expect("found by its hash");
    assert_eq!(found.id, made.id);
    assert!(store.api_token_by_hash("hash-2").await.unwrap().is_none());

    let taken = store.create_api_token("ada", "rag", TokenScope::Admin, "hash-2", "sb-EfGh").await.unwrap_err();
    assert!(taken.to_string().contains("a token named 'rag' exists"), "{taken}");

    store.touch_api_token(&made.id, "2026-12-02T10:00:00.000Z").await.unwrap();
    let revoked = store.revoke_api_token("ada", "rag").await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(store.api_token_by_hash("hash-1").await.unwrap().is_none(), "a revoked token is not found");
    let again = store.revoke_api_token("ada", "rag").await.unwrap_err();
    assert!(again.to_string().contains("already revoked"), "{again}");
    assert!(store.revoke_api_token("ada", "nobody").await.is_err());
    // Revoked tokens keep their name: the ledger's token:rag still means one token.
    assert!(store.create_api_token("ada", "rag", TokenScope::Use, "hash-3", "sb-IjKl").await.is_err());

    let listed = store.api_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at.as_deref(), Some("2026-12-02T10:00:00.000Z"));
    let audit =
        switchboard_store::queries::audit::list(store.pool(), &AuditFilter { limit: 1000, ..Default::default() })
            .await
            .unwrap();
    let actions: Vec<(&str, &str)> =
        audit.iter().filter(|a| a.entity == "api_token").map(|a| (a.action.as_str(), a.entity_id.as_str())).collect();
    assert!(actions.contains(&("create", "rag")) && actions.contains(&("delete", "rag")), "{actions:?}");
    assert!(audit.iter().all(|a| !a.new_value.as_deref().unwrap_or("").contains("hash-1")), "no hash in the audit log");
}

#[tokio::test]
async fn settings_are_validated_and_each_changed_field_audited() {
    let (_dir, store) = store().await;
    assert_eq!(store.api_settings().await.unwrap(), ApiServerSettings::default());
    let on = ApiServerSettings { enabled: true, port: 4400, ..Default::default() };
    store.save_api_settings("ada", &on).await.unwrap();
    assert_eq!(store.api_settings().await.unwrap(), on);
    let audit =
        switchboard_store::queries::audit::list(store.pool(), &AuditFilter { limit: 1000, ..Default::default() })
            .await
            .unwrap();
    let mut fields: Vec<&str> = audit.iter().filter_map(|a| a.field.as_deref()).collect();
    fields.sort();
    assert_eq!(fields, ["enabled", "port"]);

    let bad = ApiServerSettings { port: 0, ..on.clone() };
    let refused = store.save_api_settings("ada", &bad).await.unwrap_err();
    assert!(refused.to_string().contains("port"), "{refused}");
    assert_eq!(store.api_settings().await.unwrap(), on, "nothing changed");
}
