//! The Models page below the UI, on a real SQLite file and real GGUF files:
//! import by copy and by reference, what the headers say, per-model settings,
//! projector pairing, deletion, residency settings, and every bad input refused
//! with the field named and nothing changed.

use std::path::{Path, PathBuf};

use switchboard_app::ops::library::{self, EngineSettings, ImportMode, ModelSettings};
use switchboard_app::ops::{models, use_cases};
use switchboard_app::state::{AppState, Paths};
use switchboard_core::{ErrorCode, ModelLoadSettings};

async fn state(dir: &Path) -> AppState {
    AppState::open(Paths::under(dir.join("data"), dir.join("cache"))).await.unwrap()
}

fn test_model() -> PathBuf {
    switchboard_models::cached_default_model()
}

fn place(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

/// A tiny GGUF that says it is a vision projector for a `width`-wide text model.
fn projector(path: &Path, width: u32) {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&3u64.to_le_bytes());
    let s = |b: &mut Vec<u8>, t: &str| {
        b.extend_from_slice(&(t.len() as u64).to_le_bytes());
        b.extend_from_slice(t.as_bytes());
    };
    s(&mut b, "general.architecture");
    b.extend_from_slice(&8u32.to_le_bytes());
    s(&mut b, "clip");
    s(&mut b, "general.type");
    b.extend_from_slice(&8u32.to_le_bytes());
    s(&mut b, "mmproj");
    s(&mut b, "clip.vision.projection_dim");
    b.extend_from_slice(&4u32.to_le_bytes());
    b.extend_from_slice(&width.to_le_bytes());
    std::fs::write(path, b).unwrap();
}

#[tokio::test]
async fn models_are_imported_by_copy_or_reference_and_described_from_their_headers() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path()).await;
    let outside = dir.path().join("downloads");
    place(&test_model(), &outside.join("gemma-copy.gguf"));
    place(&test_model(), &outside.join("gemma-ref.gguf"));

    let copied =
        library::import(&s, outside.join("gemma-copy.gguf").display().to_string(), ImportMode::Copy).await.unwrap();
    assert!(!copied.referenced);
    assert!(s.paths.models_dir.join("gemma-copy.gguf").is_file(), "copied into the models folder");
    let facts = copied.facts.clone().unwrap();
    assert_eq!(facts.architecture, "gemma3");
    assert_eq!(facts.name, "Gemma 3 270m");
    assert_eq!(facts.quantization.as_deref(), Some("Q4_K_M"));
    assert_eq!(facts.context_length, Some(32768));
    assert!((260e6..280e6).contains(&facts.parameters), "about 270M parameters: {}", facts.parameters);
    assert_eq!(copied.capabilities, ["text"]);
    assert!(copied.size_bytes > 250e6);

    let referenced =
        library::import(&s, outside.join("gemma-ref.gguf").display().to_string(), ImportMode::Reference).await.unwrap();
    assert!(referenced.referenced);
    assert!(!s.paths.models_dir.join("gemma-ref.gguf").exists(), "a reference copies nothing");
    assert_eq!(referenced.path, outside.join("gemma-ref.gguf").canonicalize().unwrap().display().to_string());

    // Both can be assigned to use cases.
    let options = models::list(&s).await.unwrap();
    for id in ["local/gemma-copy", "local/gemma-ref"] {
        assert!(options.iter().any(|o| o.id == id && o.available), "{id} in {options:?}");
    }

    // Deleting a referenced model leaves its file; deleting a copied one removes it.
    library::delete(&s, "gemma-ref").await.unwrap();
    assert!(outside.join("gemma-ref.gguf").is_file(), "the admin's own file is not touched");
    library::delete(&s, "gemma-copy").await.unwrap();
    assert!(!s.paths.models_dir.join("gemma-copy.gguf").exists());
    let page = library::page(&s).await.unwrap();
    assert!(page.models.iter().all(|m| m.id != "gemma-copy" && m.id != "gemma-ref"));
}

#[tokio::test]
async fn bad_imports_are_refused_with_the_reason_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path()).await;
    let outside = dir.path().join("files");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("report.gguf"), b"%PDF-1.7\n1 0 obj\n").unwrap();
    std::fs::write(outside.join("empty.gguf"), b"").unwrap();
    let model = std::fs::read(test_model()).unwrap();
    std::fs::write(outside.join("cut.gguf"), &model[..1000]).unwrap();
    place(&test_model(), &outside.join("has space.gguf"));
    place(&test_model(), &outside.join("gemma-3-270m-q4_k_m.gguf"));
    std::fs::create_dir_all(outside.join("folder.gguf")).unwrap();
    place(&test_model(), &s.paths.models_dir.join("gemma-3-270m-q4_k_m.gguf"));
    let before = library::page(&s).await.unwrap().models.len();

    let cases: Vec<(String, &str)> = vec![
        (String::new(), "full path"),
        ("relative/model.gguf".into(), "full path"),
        (outside.join("missing.gguf").display().to_string(), "cannot read"),
        (outside.join("folder.gguf").display().to_string(), "not a file"),
        (outside.join("report.gguf").display().to_string(), "not a GGUF file"),
        (outside.join("empty.gguf").display().to_string(), "not a GGUF file"),
        (outside.join("cut.gguf").display().to_string(), "truncated"),
        (outside.join("has space.gguf").display().to_string(), "plain file name"),
        // The default model is already in the library under that name.
        (outside.join("gemma-3-270m-q4_k_m.gguf").display().to_string(), "already in the library"),
    ];
    for (path, expected) in cases {
        for mode in [ImportMode::Copy, ImportMode::Reference] {
            let err = library::import(&s, path.clone(), mode).await.unwrap_err();
            assert_eq!(err.field.as_deref(), Some("path"), "{path}: {err:?}");
            assert!(err.message.contains(expected), "{path}: expected '{expected}' in '{}'", err.message);
        }
    }
    assert_eq!(library::page(&s).await.unwrap().models.len(), before, "nothing was added");
    let leftovers: Vec<_> = std::fs::read_dir(&s.paths.models_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn settings_and_projectors_are_checked_saved_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path()).await;
    place(&test_model(), &s.paths.models_dir.join("gemma.gguf"));
    projector(&s.paths.models_dir.join("mmproj-gemma.gguf"), 640);
    projector(&s.paths.models_dir.join("mmproj-other.gguf"), 2048);

    let page = library::page(&s).await.unwrap();
    let mm = page.models.iter().find(|m| m.id == "mmproj-gemma").unwrap();
    assert_eq!(mm.capabilities, ["projector"]);
    let options = models::list(&s).await.unwrap();
    assert!(options.iter().all(|o| !o.id.contains("mmproj")), "projectors are not assignable alone");

    let load =
        ModelLoadSettings { gpu_layers: Some(0), context_length: Some(2048), threads: Some(1), parallel: Some(2) };
    let saved = library::save_settings(
        &s,
        "gemma",
        ModelSettings { load: load.clone(), projector: Some("mmproj-gemma".into()) },
    )
    .await
    .unwrap();
    assert_eq!(saved.load, load);
    assert_eq!(saved.projector.as_deref(), Some("mmproj-gemma"));
    assert_eq!(saved.capabilities, ["text", "vision"], "paired with a projector: vision");
    let vision = models::list(&s).await.unwrap().into_iter().find(|o| o.id == "local/gemma").unwrap();
    assert!(vision.has("vision"));

    // Bad values: the field is named and what was saved stays.
    let bad = [
        (ModelLoadSettings { gpu_layers: Some(5000), ..load.clone() }, "gpu_layers"),
        (ModelLoadSettings { context_length: Some(100), ..load.clone() }, "context_length"),
        (ModelLoadSettings { threads: Some(0), ..load.clone() }, "threads"),
        (ModelLoadSettings { parallel: Some(0), ..load.clone() }, "parallel"),
        (ModelLoadSettings { parallel: Some(65), ..load.clone() }, "parallel"),
    ];
    for (l, field) in bad {
        let err = library::save_settings(&s, "gemma", ModelSettings { load: l, projector: None }).await.unwrap_err();
        assert_eq!(err.field.as_deref(), Some(field));
    }
    let err = library::save_settings(
        &s,
        "gemma",
        ModelSettings { load: load.clone(), projector: Some("mmproj-other".into()) },
    )
    .await
    .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("projector"));
    assert!(err.message.contains("2048") && err.message.contains("640"), "{}", err.message);
    let err =
        library::save_settings(&s, "gemma", ModelSettings { load: load.clone(), projector: Some("gemma".into()) })
            .await
            .unwrap_err();
    assert!(err.message.contains("not a vision projector"), "{}", err.message);
    let err =
        library::save_settings(&s, "nope", ModelSettings { load: load.clone(), projector: None }).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ModelMissing);
    let now = library::page(&s).await.unwrap().models.into_iter().find(|m| m.id == "gemma").unwrap();
    assert_eq!((now.load, now.projector.as_deref()), (load, Some("mmproj-gemma")), "unchanged by refusals");

    // A model a use case uses cannot be deleted.
    let uc = use_cases::list(&s).await.unwrap().into_iter().find(|u| u.id == "answer_generation").unwrap();
    let mut config = uc.config();
    config.model = "local/gemma".into();
    use_cases::save(&s, "answer_generation", config).await.unwrap();
    let err = library::delete(&s, "gemma").await.unwrap_err();
    assert!(err.message.contains("Answer generation"), "{}", err.message);
    assert!(s.paths.models_dir.join("gemma.gguf").is_file());
}

#[tokio::test]
async fn residency_settings_are_validated_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path()).await;
    assert_eq!(library::page(&s).await.unwrap().engine, EngineSettings::default());
    for (bad, field) in [
        (EngineSettings { max_resident_models: 0, idle_unload_minutes: 5 }, "max_resident_models"),
        (EngineSettings { max_resident_models: 9, idle_unload_minutes: 5 }, "max_resident_models"),
        (EngineSettings { max_resident_models: 2, idle_unload_minutes: 1441 }, "idle_unload_minutes"),
    ] {
        assert_eq!(library::save_engine_settings(&s, bad).await.unwrap_err().field.as_deref(), Some(field));
    }
    let good = EngineSettings { max_resident_models: 3, idle_unload_minutes: 0 };
    library::save_engine_settings(&s, good.clone()).await.unwrap();
    assert_eq!(s.engine.config().max_resident_models, 3, "applied to the engine");
    assert_eq!(s.engine.config().idle_unload_secs, 0);
    drop(s);
    let again = state(dir.path()).await;
    assert_eq!(library::page(&again).await.unwrap().engine, good);
    assert_eq!(again.engine.config().max_resident_models, 3, "applied at start-up");
}
