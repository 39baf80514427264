//! Use-case configuration, export/import and the audit log, below the UI,
//! against a real SQLite file in a temporary data folder.

use switchboard_app::ops::{config_io, use_cases};
use switchboard_app::state::{AppState, Paths};
use switchboard_core::{AuditFilter, ErrorCode, NewUseCase, SamplingParams};
use switchboard_store::queries::audit;

async fn state() -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Paths::under(dir.path().join("data"), dir.path().join("cache"))).await.unwrap();
    // Two model files make a library to choose from (their content is not read here).
    for name in ["gemma-3-270m-q4_k_m.gguf", "other-model.gguf"] {
        std::fs::write(state.paths.models_dir.join(name), b"GGUF").unwrap();
    }
    (state, dir)
}

#[tokio::test]
async fn six_builtins_are_seeded_once_and_edits_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::under(dir.path().join("data"), dir.path().join("cache"));
    {
        let s = AppState::open(paths.clone()).await.unwrap();
        std::fs::write(s.paths.models_dir.join("other-model.gguf"), b"GGUF").unwrap();
        let list = use_cases::list(&s).await.unwrap();
        assert_eq!(list.len(), 6);
        let mut cfg = list.iter().find(|u| u.id == "answer_generation").unwrap().config();
        cfg.model = "local/other-model".into();
        cfg.use_custom_params = true;
        cfg.custom_params = Some(SamplingParams::new(1.3, 40, 0.9, 512, 1.1));
        let saved = use_cases::save(&s, "answer_generation", cfg).await.unwrap();
        assert_eq!(saved.updated_by, s.actor);
        s.store().close().await;
    }
    let s = AppState::open(paths).await.unwrap();
    let list = use_cases::list(&s).await.unwrap();
    assert_eq!(list.len(), 6, "seeding again adds nothing");
    let uc = list.iter().find(|u| u.id == "answer_generation").unwrap();
    assert_eq!(uc.model, "local/other-model");
    assert_eq!(uc.effective_params(None).temperature, 1.3);
}

#[tokio::test]
async fn invalid_edits_are_refused_in_rust_with_the_field_named() {
    let (s, _dir) = state().await;
    let base = s.store().use_case("intent_classification").await.unwrap().config();

    let mut bad = base.clone();
    bad.custom_params = Some(SamplingParams::new(2.5, 40, 0.9, 256, 1.0));
    bad.use_custom_params = true;
    let err = use_cases::save(&s, "intent_classification", bad).await.unwrap_err();
    assert_eq!(err.field.as_deref(), Some("custom_params.temperature"));

    let mut bad = base.clone();
    bad.model = "local/not-in-library".into();
    let err = use_cases::save(&s, "intent_classification", bad).await.unwrap_err();
    assert_eq!(err.field.as_deref(), Some("model"));

    // A text model cannot serve the vision use case.
    let mut vision = s.store().use_case("vision_vlm").await.unwrap().config();
    vision.model = "local/other-model".into();
    let err = use_cases::save(&s, "vision_vlm", vision).await.unwrap_err();
    assert!(err.message.contains("vision"), "{}", err.message);

    let err = use_cases::save(&s, "nope", base).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(audit::list(s.store().pool(), &AuditFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
}

#[tokio::test]
async fn custom_use_cases_can_be_added_renamed_and_deleted_builtins_only_disabled() {
    let (s, _dir) = state().await;
    let new = NewUseCase {
        id: "reasoning".into(),
        name: "Reasoning".into(),
        description: "Step-by-step answers".into(),
        vision: false,
        model: "local/gemma-3-270m-q4_k_m".into(),
        defaults: SamplingParams::new(0.6, 40, 0.95, 4096, 1.0),
    };
    use_cases::create(&s, new.clone()).await.unwrap();
    assert_eq!(use_cases::create(&s, new).await.unwrap_err().code, ErrorCode::InvalidInput, "duplicate id");

    let mut cfg = s.store().use_case("reasoning").await.unwrap().config();
    cfg.name = "Deep reasoning".into();
    use_cases::save(&s, "reasoning", cfg).await.unwrap();
    assert_eq!(use_cases::list(&s).await.unwrap().last().unwrap().name, "Deep reasoning");

    let err = use_cases::delete(&s, "answer_generation").await.unwrap_err();
    assert!(err.message.contains("disabled but not deleted"), "{}", err.message);
    use_cases::delete(&s, "reasoning").await.unwrap();
    assert_eq!(use_cases::list(&s).await.unwrap().len(), 6);

    let actions: Vec<String> = audit::list(
        s.store().pool(),
        &AuditFilter { entity_id: Some("reasoning".into()), limit: 10, ..Default::default() },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| e.action)
    .collect();
    assert_eq!(actions, ["delete", "update", "create"]);
}

#[tokio::test]
async fn every_change_is_audited_with_who_what_old_and_new() {
    let (s, _dir) = state().await;
    let mut cfg = s.store().use_case("answer_generation").await.unwrap().config();
    cfg.model = "local/other-model".into();
    cfg.use_custom_params = true;
    cfg.custom_params = Some(SamplingParams::new(0.9, 40, 0.9, 2048, 1.1));
    use_cases::save(&s, "answer_generation", cfg.clone()).await.unwrap();
    // Saving the same values again changes nothing and writes nothing.
    use_cases::save(&s, "answer_generation", cfg).await.unwrap();

    let all = audit::list(s.store().pool(), &AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    let model = all.iter().find(|e| e.field.as_deref() == Some("model")).unwrap();
    assert_eq!(model.actor, s.actor);
    assert_eq!(model.entity_id, "answer_generation");
    assert_eq!(model.old_value.as_deref(), Some("\"local/gemma-3-270m-q4_k_m\""));
    assert_eq!(model.new_value.as_deref(), Some("\"local/other-model\""));
    let temperature = all.iter().find(|e| e.field.as_deref() == Some("custom_params.temperature")).unwrap();
    assert_eq!(temperature.old_value.as_deref(), Some("null"));
    assert_eq!(temperature.new_value.as_deref(), Some("0.9"));
    assert_eq!(all.iter().filter(|e| e.field.as_deref() == Some("model")).count(), 1);

    let filtered = audit::list(
        s.store().pool(),
        &AuditFilter { text: Some("other-model".into()), limit: 100, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(filtered.len(), 1);
}

#[tokio::test]
async fn an_import_is_previewed_then_applied_atomically() {
    let (s, _dir) = state().await;
    let exported = config_io::export(&s).await.unwrap();
    assert!(!exported.contains("api_key") && !exported.contains("secret"));
    let preview = config_io::preview(&s, &exported).await.unwrap();
    assert_eq!(preview.use_cases_in_file, 6);
    assert!(preview.changes.is_empty() && preview.new_use_cases.is_empty());

    let edited = exported.replacen("\"use_custom_params\": false,\n      \"custom_params\": null", "\"use_custom_params\": true,\n      \"custom_params\": {\"temperature\": 1.5, \"top_k\": 40, \"top_p\": 0.9, \"max_tokens\": 600, \"repeat_penalty\": 1.0}", 1);
    assert_ne!(edited, exported, "the export has the expected shape");
    let preview = config_io::preview(&s, &edited).await.unwrap();
    let fields: Vec<&str> = preview.changes.iter().map(|c| c.field.as_str()).collect();
    assert!(fields.contains(&"use_custom_params") && fields.contains(&"custom_params.temperature"), "{fields:?}");
    assert_eq!(config_io::apply(&s, &edited).await.unwrap(), 1);
    let first = &use_cases::list(&s).await.unwrap()[0];
    assert_eq!(first.effective_params(None).temperature, 1.5);
    let imported =
        audit::list(s.store().pool(), &AuditFilter { action: Some("import".into()), limit: 100, ..Default::default() })
            .await
            .unwrap();
    assert!(!imported.is_empty());
}

#[tokio::test]
async fn bad_import_files_are_refused_and_change_nothing() {
    let (s, _dir) = state().await;
    let before = config_io::export(&s).await.unwrap();
    let good = before.clone();
    let bad_files = [
        (good[..good.len() / 3].to_string(), "truncated"),
        (good.replace("\"schema_version\": 2", "\"schema_version\": 3"), "schema version 3"),
        // A route that names its own model again.
        (
            good.replacen("\"fallbacks\": []", "\"fallbacks\": [{\"model\": \"local/gemma-3-270m-q4_k_m\"}]", 1),
            "already in the route",
        ),
        (good.replacen("\"top_k\": 10", "\"top_k\": 500", 1), "top_k"),
        // One valid change and one invalid one: nothing at all is applied.
        (
            good.replacen("\"enabled\": true", "\"enabled\": false", 1).replacen("\"top_p\": 0.7", "\"top_p\": 7.0", 1),
            "top_p",
        ),
    ];
    for (text, expected) in bad_files {
        let err = config_io::apply(&s, &text).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains(expected), "expected '{expected}' in {}", err.message);
        let after = config_io::export(&s).await.unwrap();
        let strip = |t: &str| t.lines().filter(|l| !l.contains("exported_at")).collect::<Vec<_>>().join("\n");
        assert_eq!(strip(&after), strip(&before), "nothing changed");
    }
    assert!(audit::list(s.store().pool(), &AuditFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
}

#[test]
fn the_author_of_changes_is_a_real_user_name() {
    let user = switchboard_app::state::os_user();
    assert!(!user.is_empty() && user != "unknown", "{user}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_and_exports_are_readable_by_the_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let (s, _dir) = state().await;
    let exported = config_io::export_to_file(&s).await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let file = std::path::Path::new(&exported.path);
    assert_eq!(mode(file), 0o600, "the export");
    assert_eq!(mode(file.parent().unwrap()), 0o700, "exports/");
    assert_eq!(mode(&s.paths.data_dir), 0o700, "the data folder");
    assert_eq!(mode(&s.paths.db_path), 0o600, "the database");
}
