//! The gateway with a real SQLite file and the real llama.cpp engine on the
//! test model: what the configuration says is what reaches the engine, and
//! every accepted request leaves one ledger row.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};

use switchboard_core::{AppError, ErrorCode, RequestRecord, RequestStatus, SamplingParams, UseCaseConfig};
use switchboard_engine::{Engine, EngineConfig, GenerateRequest};
use switchboard_gateway::{Gateway, GenerationEvent, LlmRequest, Vault};
use switchboard_secrets::{KeyStorage, MasterKey};
use switchboard_store::{queries::requests, Store};

fn cached_model() -> PathBuf {
    let path = switchboard_models::cached_default_model();
    assert!(path.exists(), "test model missing at {}: run fetch-model first", path.display());
    path
}

fn link_or_copy(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

struct Fixture {
    gateway: Arc<Gateway>,
    engine: Arc<Engine>,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    link_or_copy(&cached_model(), &models.join("gemma-3-270m-q4_k_m.gguf"));
    let store = Store::open(&dir.path().join("switchboard.db")).await.unwrap();
    store.seed_builtin_use_cases("tester").await.unwrap();
    let engine = Arc::new(Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() }));
    let vault = Vault::new(Ok((MasterKey::random().unwrap(), KeyStorage::Keyring)));
    let gateway = Arc::new(Gateway::new(store, engine.clone(), models, vault));
    Fixture { gateway, engine, dir }
}

fn request(id: &str, use_case: &str, prompt: &str) -> LlmRequest {
    LlmRequest {
        request_id: id.into(),
        use_case: use_case.into(),
        prompt: prompt.into(),
        model: None,
        params: None,
        priority: Default::default(),
        history: Vec::new(),
    }
}

async fn rows(g: &Gateway) -> Vec<RequestRecord> {
    requests::recent(g.store().pool(), 50).await.unwrap()
}

async fn set_custom(g: &Gateway, id: &str, params: SamplingParams, on: bool) {
    let mut cfg: UseCaseConfig = g.store().use_case(id).await.unwrap().config();
    cfg.custom_params = Some(params);
    cfg.use_custom_params = on;
    g.store().save_use_case("tester", id, &cfg).await.unwrap();
}

fn collect() -> (impl Fn(GenerationEvent) + Send + 'static, mpsc::Receiver<GenerationEvent>) {
    let (tx, rx) = mpsc::channel();
    (move |e| tx.send(e).unwrap(), rx)
}

#[tokio::test]
async fn saved_custom_parameters_are_exactly_what_reaches_the_engine() {
    let f = fixture().await;
    let prompt = "Name three colours.";
    let custom = SamplingParams { seed: Some(11), ..SamplingParams::new(0.0, 7, 0.6, 9, 1.0) };
    set_custom(&f.gateway, "answer_generation", custom.clone(), true).await;

    let (on_event, rx) = collect();
    let summary = f.gateway.generate(request("a", "answer_generation", prompt), on_event).await.unwrap();
    assert_eq!(summary.params, custom, "the gateway resolved the saved custom parameters");
    assert!(summary.stats.output_tokens <= 9, "max_tokens 9 reached the engine: {}", summary.stats.output_tokens);
    let streamed: String = rx
        .try_iter()
        .filter_map(|e| match e {
            GenerationEvent::Token { text } => Some(text),
            GenerationEvent::Started { .. } => None,
        })
        .collect();

    // The same parameters given to the engine directly produce the same text:
    // nothing was lost or altered on the way.
    let direct_req = GenerateRequest {
        system_prompt: None,
        prompt: prompt.into(),
        raw_prompt: false,
        params: custom.clone(),
        ignore_eos: false,
        json_schema: None,
        ..Default::default()
    };
    let mut direct = String::new();
    f.engine.generate(&cached_model(), &direct_req, &AtomicBool::new(false), &mut |t| direct.push_str(t)).unwrap();
    assert_eq!(streamed, direct);

    let row = &rows(&f.gateway).await[0];
    assert_eq!(row.record.params.as_ref(), Some(&custom), "the ledger row shows the parameters used");
    assert_eq!(row.record.model, "gemma-3-270m-q4_k_m");
}

#[tokio::test]
async fn a_request_override_beats_custom_parameters_which_beat_defaults() {
    let f = fixture().await;
    let defaults = f.gateway.store().use_case("followup_titles").await.unwrap().defaults;
    let greedy_defaults = SamplingParams { temperature: 0.0, max_tokens: 4, ..defaults.clone() };

    // Custom parameters stored but switched off: the defaults apply.
    set_custom(&f.gateway, "followup_titles", SamplingParams::new(0.0, 5, 0.5, 6, 1.0), false).await;
    let s = f.gateway.generate(request("d", "followup_titles", "Suggest a title."), |_| {}).await.unwrap();
    assert_eq!(s.params, defaults);

    let mut req = request("o", "followup_titles", "Suggest a title.");
    req.params = Some(greedy_defaults.clone());
    let s = f.gateway.generate(req, |_| {}).await.unwrap();
    assert_eq!(s.params, greedy_defaults);
    assert!(s.stats.output_tokens <= 4);
    assert_eq!(rows(&f.gateway).await[0].record.params.as_ref().unwrap().max_tokens, 4);
}

#[tokio::test]
async fn a_system_prompt_is_part_of_what_the_model_reads() {
    let f = fixture().await;
    let params = Some(SamplingParams::new(0.0, 40, 0.9, 2, 1.0));
    let mut req = request("1", "query_decomposition", "Split: weather and news?");
    req.params = params.clone();
    let plain = f.gateway.generate(req.clone(), |_| {}).await.unwrap();

    let mut cfg = f.gateway.store().use_case("query_decomposition").await.unwrap().config();
    cfg.system_prompt = Some("Answer with a numbered list of sub-questions only.".into());
    f.gateway.store().save_use_case("tester", "query_decomposition", &cfg).await.unwrap();
    req.request_id = "2".into();
    let with_system = f.gateway.generate(req, |_| {}).await.unwrap();
    assert!(
        with_system.stats.input_tokens >= plain.stats.input_tokens + 8,
        "system prompt tokens reach the model: {} vs {}",
        with_system.stats.input_tokens,
        plain.stats.input_tokens
    );
}

#[tokio::test]
async fn stop_cancels_mid_stream_and_is_recorded_as_cancelled() {
    let f = fixture().await;
    let (tx, rx) = mpsc::channel();
    let mut req = request("long", "answer_generation", "Tell a very long story about ships.");
    req.params = Some(SamplingParams::new(0.0, 40, 0.9, 2000, 1.0));
    let runner = {
        let g = f.gateway.clone();
        tokio::spawn(async move {
            g.generate(req, move |e| {
                let _ = tx.send(e);
            })
            .await
        })
    };
    let first = tokio::task::spawn_blocking(move || rx.iter().any(|e| matches!(e, GenerationEvent::Token { .. })));
    assert!(first.await.unwrap(), "a token arrives before the stop");
    assert!(f.gateway.cancel("long"));
    let summary = runner.await.unwrap().unwrap();
    assert_eq!(summary.status, RequestStatus::Cancelled);
    assert!(summary.stats.output_tokens < 2000);
    let row = &rows(&f.gateway).await[0];
    assert_eq!(row.record.status, RequestStatus::Cancelled);
    assert!(!f.gateway.cancel("long"), "a finished request cannot be stopped again");
}

async fn expect_recorded_failure(g: &Gateway, req: LlmRequest, code: ErrorCode) -> AppError {
    let before = rows(g).await.len();
    let err = g.generate(req, |_| {}).await.unwrap_err();
    assert_eq!(err.code, code, "{err:?}");
    let all = rows(g).await;
    assert_eq!(all.len(), before + 1, "one ledger row for the failed request");
    assert_eq!(all[0].record.status, RequestStatus::Error);
    assert!(all[0].record.error.as_deref().unwrap().contains(&err.message));
    err
}

#[tokio::test]
async fn failures_are_clear_recorded_and_leave_the_gateway_working() {
    let f = fixture().await;
    let g = &f.gateway;

    let mut req = request("m", "answer_generation", "hi");
    req.model = Some("local/not-downloaded".into());
    let err = expect_recorded_failure(g, req, ErrorCode::ModelMissing).await;
    assert!(err.message.contains("not in the library"), "{}", err.message);

    let bytes = std::fs::read(cached_model()).unwrap();
    std::fs::write(f.dir.path().join("models/corrupt.gguf"), &bytes[..2 << 20]).unwrap();
    let mut req = request("c", "answer_generation", "hi");
    req.model = Some("local/corrupt".into());
    let err = expect_recorded_failure(g, req, ErrorCode::ModelLoadFailed).await;
    assert!(err.message.contains("corrupt"), "{}", err.message);

    let long = "lorem ipsum ".repeat(4000);
    let err = expect_recorded_failure(g, request("p", "answer_generation", &long), ErrorCode::PromptTooLong).await;
    assert!(err.message.contains("context window"), "{}", err.message);

    let mut req = request("r", "answer_generation", "hi");
    req.model = Some("openai/gpt-4o-mini".into());
    expect_recorded_failure(g, req, ErrorCode::ModelMissing).await;

    expect_recorded_failure(g, request("v", "vision_vlm", "describe"), ErrorCode::InvalidInput).await;

    let mut cfg = g.store().use_case("entity_extraction").await.unwrap().config();
    cfg.enabled = false;
    g.store().save_use_case("tester", "entity_extraction", &cfg).await.unwrap();
    let err = expect_recorded_failure(g, request("x", "entity_extraction", "hi"), ErrorCode::InvalidInput).await;
    assert!(err.message.contains("disabled"));

    let mut req = request("t", "answer_generation", "hi");
    req.params = Some(SamplingParams::new(9.0, 40, 0.9, 8, 1.0));
    let err = expect_recorded_failure(g, req, ErrorCode::InvalidInput).await;
    assert_eq!(err.field.as_deref(), Some("temperature"));

    // Refused before acceptance: no ledger row.
    let before = rows(g).await.len();
    assert_eq!(
        g.generate(request("u", "no_such_use_case", "hi"), |_| {}).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        g.generate(request(" ", "answer_generation", "hi"), |_| {}).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(rows(g).await.len(), before);

    let mut req = request("ok", "answer_generation", "Say hi.");
    req.params = Some(SamplingParams::new(0.0, 40, 0.9, 4, 1.0));
    g.generate(req, |_| {}).await.unwrap();
}

#[tokio::test]
async fn a_use_cases_json_schema_reaches_the_engine_as_a_grammar() {
    let f = fixture().await;
    let mut cfg = f.gateway.store().use_case("intent_classification").await.unwrap().config();
    cfg.json_schema = Some(r#"{"type":"string","enum":["VECTOR","GRAPH","HYBRID","MEMORY"]}"#.into());
    f.gateway.store().save_use_case("tester", "intent_classification", &cfg).await.unwrap();
    let (on_event, rx) = collect();
    f.gateway.generate(request("s", "intent_classification", "Who reports to whom?"), on_event).await.unwrap();
    let text: String = rx
        .try_iter()
        .filter_map(|e| match e {
            GenerationEvent::Token { text } => Some(text),
            GenerationEvent::Started { .. } => None,
        })
        .collect();
    let value: String = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert!(["VECTOR", "GRAPH", "HYBRID", "MEMORY"].contains(&value.as_str()), "{value}");
}
