//! The local library as routing sees it (referenced files, per-model load
//! settings) and embeddings, with the real engine on the test model.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchboard_core::{ChatRole, ChatTurn, ErrorCode, ModelLoadSettings, RequestStatus};
use switchboard_engine::{Engine, EngineConfig};
use switchboard_gateway::{EmbedRequest, Gateway, LlmRequest, Vault};
use switchboard_models::gguf::{copy_with_metadata, NewValue};
use switchboard_secrets::{KeyStorage, MasterKey};
use switchboard_store::queries::local_models::{self, LocalModelRow};
use switchboard_store::{queries::requests, Store};

fn cached_model() -> PathBuf {
    switchboard_models::cached_default_model()
}

struct Fixture {
    gateway: Gateway,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let dest = models.join("gemma-3-270m-q4_k_m.gguf");
    if std::fs::hard_link(cached_model(), &dest).is_err() {
        std::fs::copy(cached_model(), &dest).unwrap();
    }
    let store = Store::open(&dir.path().join("switchboard.db")).await.unwrap();
    store.seed_builtin_use_cases("tester").await.unwrap();
    let engine = Arc::new(Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() }));
    let vault = Vault::new(Ok((MasterKey::random().unwrap(), KeyStorage::Keyring)));
    Fixture { gateway: Gateway::new(store, engine, models, vault), dir }
}

fn row(id: &str, path: &Path, referenced: bool, load: ModelLoadSettings) -> LocalModelRow {
    LocalModelRow {
        id: id.into(),
        path: path.display().to_string(),
        referenced,
        projector_path: None,
        load,
        added_at: "2026-11-30T00:00:00.000Z".into(),
    }
}

fn ask(id: &str, model: &str, prompt: &str) -> LlmRequest {
    LlmRequest {
        request_id: id.into(),
        use_case: "answer_generation".into(),
        prompt: prompt.into(),
        history: Vec::new(),
        model: Some(model.into()),
        params: Some(switchboard_core::SamplingParams::new(0.0, 40, 1.0, 8, 1.0)),
        priority: Default::default(),
    }
}

/// The test model with `pooling_type = mean` in its metadata: an embedding model.
fn embedding_model(dir: &Path) -> PathBuf {
    let path = dir.join("gemma-mean-pooled.gguf");
    copy_with_metadata(&cached_model(), &path, &[("gemma3.pooling_type", NewValue::U32(1))]).unwrap();
    path
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[tokio::test]
async fn embeddings_come_from_the_models_own_pooling_and_are_recorded() {
    let f = fixture().await;
    let outside = f.dir.path().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    let path = embedding_model(&outside);
    let facts = switchboard_models::library::describe(&path).unwrap();
    assert!(facts.embedding, "pooling metadata makes it an embedding model");
    assert!(!switchboard_models::library::describe(&cached_model()).unwrap().embedding);
    local_models::upsert(f.gateway.store().pool(), &row("gemma-embed", &path, true, Default::default()), "now")
        .await
        .unwrap();

    let embed = |inputs: &[&str]| EmbedRequest {
        use_case: "answer_generation".into(),
        model: Some("local/gemma-embed".into()),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        priority: Default::default(),
    };
    let texts = ["The cat sat on the mat.", "Quarterly revenue rose by five percent."];
    let both = f.gateway.embed(embed(&texts)).await.unwrap();
    assert_eq!(both.vectors.len(), 2);
    assert_eq!(both.dimensions, 640, "Gemma 3 270M's embedding width");
    assert_eq!(both.pooling, "mean");
    for v in &both.vectors {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "L2-normalised: {norm}");
    }
    assert!(cosine(&both.vectors[0], &both.vectors[1]) < 0.999, "different texts, different vectors");
    // Alone or in a batch, in order: the same vector.
    let first = f.gateway.embed(embed(&texts[..1])).await.unwrap();
    assert!(cosine(&first.vectors[0], &both.vectors[0]) > 0.9999);
    assert!(both.input_tokens > first.input_tokens);

    let ledger = requests::recent(f.gateway.store().pool(), 10).await.unwrap();
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0].record.model, "gemma-embed");
    assert_eq!(ledger[0].record.status, RequestStatus::Ok);
    assert_eq!(ledger[0].record.input_tokens, first.input_tokens);

    // A generative model is refused, clearly, and the refusal is recorded.
    let err = f
        .gateway
        .embed(EmbedRequest { model: Some("local/gemma-3-270m-q4_k_m".into()), ..embed(&texts) })
        .await
        .unwrap_err();
    assert!(err.message.contains("not an embedding model"), "{}", err.message);
    let ledger = requests::recent(f.gateway.store().pool(), 10).await.unwrap();
    assert_eq!(ledger[0].record.status, RequestStatus::Error);

    // Bad inputs name the field.
    let err = f.gateway.embed(embed(&[])).await.unwrap_err();
    assert_eq!(err.field.as_deref(), Some("inputs"));
    let err = f.gateway.embed(embed(&["fine", "  "])).await.unwrap_err();
    assert_eq!(err.field.as_deref(), Some("inputs[1]"));
    let err = f
        .gateway
        .embed(EmbedRequest { model: Some("openai/text-embedding-3-small".into()), ..embed(&texts) })
        .await
        .unwrap_err();
    assert!(err.message.contains("local embedding models"), "{}", err.message);
}

#[tokio::test]
async fn a_models_load_settings_reach_the_engine_and_a_missing_file_is_named() {
    let f = fixture().await;
    let id = "gemma-3-270m-q4_k_m";
    let path = f.gateway.models_dir().join(format!("{id}.gguf"));
    let small = ModelLoadSettings { context_length: Some(256), ..Default::default() };
    local_models::upsert(f.gateway.store().pool(), &row(id, &path, false, small), "now").await.unwrap();
    let long = "Tell me about the sea and the sky. ".repeat(40);
    let err = f.gateway.generate(ask("r1", &format!("local/{id}"), &long), |_| {}).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::PromptTooLong);
    assert!(err.message.contains("256"), "{}", err.message);

    // A referenced file that went away: the error names the file.
    let gone = f.dir.path().join("gone.gguf");
    local_models::upsert(f.gateway.store().pool(), &row("gone", &gone, true, Default::default()), "now").await.unwrap();
    let err = f.gateway.generate(ask("r2", "local/gone", "hi"), |_| {}).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ModelMissing);
    assert!(err.message.contains("gone.gguf"), "{}", err.message);
}

#[tokio::test]
async fn a_conversation_reaches_the_local_model_and_reuses_its_cache() {
    let f = fixture().await;
    let model = "local/gemma-3-270m-q4_k_m";
    let first = ask("c1", model, "My name is Bartholomew. Say hello.");
    let a = f.gateway.generate(first.clone(), |_| {}).await.unwrap();
    let second = LlmRequest {
        request_id: "c2".into(),
        prompt: "What is my name?".into(),
        history: vec![
            ChatTurn { role: ChatRole::User, content: first.prompt.clone() },
            ChatTurn { role: ChatRole::Assistant, content: "Hello, Bartholomew!".into() },
        ],
        params: Some(switchboard_core::SamplingParams::new(0.0, 40, 1.0, 12, 1.0)),
        ..first.clone()
    };
    let b = f.gateway.generate(second, |_| {}).await.unwrap();
    assert!(b.stats.input_tokens > a.stats.input_tokens);
    assert!(b.stats.cached_input_tokens > 0, "the first turn's prompt was reused");
    let ledger = requests::recent(f.gateway.store().pool(), 1).await.unwrap();
    assert_eq!(ledger[0].record.cached_input_tokens, b.stats.cached_input_tokens, "recorded in the ledger");

    let bad = LlmRequest {
        request_id: "c3".into(),
        history: vec![ChatTurn { role: ChatRole::User, content: "".into() }],
        ..first
    };
    let err = f.gateway.generate(bad, |_| {}).await.unwrap_err();
    assert_eq!(err.field.as_deref(), Some("history[0].content"));
}
