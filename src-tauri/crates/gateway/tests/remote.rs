//! The gateway with remote providers, against local servers speaking
//! OpenAI's and Anthropic's wire formats: keys opened from the vault and tried
//! in order, transient failures retried, fail-fast errors not, budgets
//! enforced, cancellation, and every request priced and recorded.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use serde_json::json;
use switchboard_core::{ErrorCode, NewUseCase, RequestRecord, RequestStatus, SamplingParams};
use switchboard_engine::{Engine, EngineConfig};
use switchboard_gateway::{Gateway, GenerationEvent, LlmRequest, Vault};
use switchboard_secrets::{KeyStorage, MasterKey};
use switchboard_store::providers::KeyChange;
use switchboard_store::{queries::requests, Store};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY_A: &str = "sk-first-key-0000000000aaaa";
const KEY_B: &str = "sk-second-key-000000000bbbb";

struct Fixture {
    gateway: Arc<Gateway>,
    server: MockServer,
    _dir: tempfile::TempDir,
}

fn vault() -> Vault {
    Vault::new(Ok((MasterKey::random().unwrap(), KeyStorage::Keyring)))
}

async fn open_gateway(dir: &std::path::Path, vault: Vault) -> Gateway {
    let store = Store::open(&dir.join("switchboard.db")).await.unwrap();
    store.seed_builtin_use_cases("tester").await.unwrap();
    store.seed_builtin_providers("tester").await.unwrap();
    let engine = Arc::new(Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() }));
    let g = Gateway::new(store, engine, dir.join("models"), vault);
    g.check_master_key().await.unwrap();
    g
}

/// OpenAI at a local server with `keys`, and a use case `cloud` on `openai/gpt-4o-mini`.
async fn fixture(keys: &[&str], budget: Option<f64>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    let gateway = open_gateway(dir.path(), vault()).await;
    configure_openai(&gateway, &server, keys, budget).await;
    Fixture { gateway: Arc::new(gateway), server, _dir: dir }
}

async fn configure_openai(g: &Gateway, server: &MockServer, keys: &[&str], budget: Option<f64>) {
    let mut settings = g.store().provider("openai").await.unwrap().settings;
    settings.enabled = true;
    settings.base_url = format!("{}/v1", server.uri());
    settings.allow_http = true;
    settings.monthly_budget_usd = budget;
    let changes: Vec<KeyChange> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| KeyChange::Add(g.seal_key("openai", None, i as i64, k).unwrap()))
        .collect();
    g.store().save_provider("tester", &settings, &changes).await.unwrap();
    let defaults = SamplingParams::new(0.2, 10, 0.9, 32, 1.0);
    if g.store().use_case("cloud").await.is_err() {
        let uc = NewUseCase {
            id: "cloud".into(),
            name: "Cloud".into(),
            description: String::new(),
            vision: false,
            model: "openai/gpt-4o-mini".into(),
            defaults,
        };
        g.store().create_use_case("tester", &uc).await.unwrap();
    }
}

fn completion_stream() -> ResponseTemplate {
    let body = [
        json!({"choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": null}]}),
        json!({"choices": [{"index": 0, "delta": {"content": " world"}, "finish_reason": "stop"}]}),
        json!({"choices": [], "usage": {"prompt_tokens": 1000, "completion_tokens": 2000, "prompt_tokens_details": {"cached_tokens": 400}}}),
    ]
    .iter()
    .map(|c| format!("data: {c}\n\n"))
    .collect::<String>()
        + "data: [DONE]\n\n";
    ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body)
}

async fn answer_with(server: &MockServer, key: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {key}").as_str()))
        .respond_with(response)
        .mount(server)
        .await;
}

fn request(id: &str) -> LlmRequest {
    LlmRequest {
        request_id: id.into(),
        use_case: "cloud".into(),
        prompt: "Say hello".into(),
        model: None,
        params: None,
        priority: Default::default(),
        history: Vec::new(),
    }
}

fn collect() -> (impl Fn(GenerationEvent) + Send + 'static, mpsc::Receiver<GenerationEvent>) {
    let (tx, rx) = mpsc::channel();
    (move |e| tx.send(e).unwrap(), rx)
}

fn text(rx: &mpsc::Receiver<GenerationEvent>) -> String {
    rx.try_iter()
        .filter_map(|e| match e {
            GenerationEvent::Token { text } => Some(text),
            _ => None,
        })
        .collect()
}

async fn last_row(g: &Gateway) -> RequestRecord {
    requests::recent(g.store().pool(), 1).await.unwrap().remove(0)
}

#[tokio::test]
async fn a_cloud_request_streams_and_is_priced_from_reported_usage() {
    let f = fixture(&[KEY_A], None).await;
    answer_with(&f.server, KEY_A, completion_stream()).await;
    let (sink, rx) = collect();
    let summary = f.gateway.generate(request("r1"), sink).await.unwrap();
    assert_eq!(text(&rx), "Hello world");
    assert_eq!(summary.model, "openai/gpt-4o-mini");
    assert_eq!(summary.stats.input_tokens, 1000);
    assert_eq!(summary.stats.output_tokens, 2000);

    let row = last_row(&f.gateway).await;
    assert_eq!(row.record.status, RequestStatus::Ok);
    assert_eq!(row.record.provider, "openai");
    assert_eq!(row.record.cached_input_tokens, 400);
    // gpt-4o-mini: $0.15/M input, $0.075/M cached input, $0.60/M output.
    let expected = (600.0 * 0.15 + 400.0 * 0.075 + 2000.0 * 0.6) / 1e6;
    assert!((row.record.cost_usd - expected).abs() < 1e-12, "{} vs {expected}", row.record.cost_usd);

    let sent: serde_json::Value = serde_json::from_slice(&f.server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["max_completion_tokens"], 32, "the use case's parameters reach the provider");
    assert_eq!(sent["messages"][0]["content"], "Say hello");
}

#[tokio::test]
async fn keys_rotate_on_401_and_429() {
    for refusal in [401u16, 429] {
        let f = fixture(&[KEY_A, KEY_B], None).await;
        answer_with(
            &f.server,
            KEY_A,
            ResponseTemplate::new(refusal).set_body_json(json!({"error": {"message": "no"}})),
        )
        .await;
        answer_with(&f.server, KEY_B, completion_stream()).await;
        let (sink, rx) = collect();
        f.gateway.generate(request("r"), sink).await.unwrap_or_else(|e| panic!("{refusal}: {e}"));
        assert_eq!(text(&rx), "Hello world");
        assert_eq!(f.server.received_requests().await.unwrap().len(), 2, "{refusal}: one try per key");
    }
}

#[tokio::test]
async fn transient_failures_are_retried_and_fail_fast_ones_are_not() {
    let f = fixture(&[KEY_A], None).await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&f.server)
        .await;
    answer_with(&f.server, KEY_A, completion_stream()).await;
    let (sink, _rx) = collect();
    f.gateway.generate(request("r1"), sink).await.unwrap();
    assert_eq!(f.server.received_requests().await.unwrap().len(), 2, "one retry after the 500");

    let f = fixture(&[KEY_A], None).await;
    answer_with(
        &f.server,
        KEY_A,
        ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "Invalid value for 'temperature'"}})),
    )
    .await;
    let (sink, _rx) = collect();
    let err = f.gateway.generate(request("r2"), sink).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ProviderFailed);
    assert!(
        err.message.contains("OpenAI") && err.message.contains("temperature") && err.message.contains("not retried")
    );
    assert_eq!(f.server.received_requests().await.unwrap().len(), 1);
    let row = last_row(&f.gateway).await;
    assert_eq!(row.record.status, RequestStatus::Error);
    assert!(row.record.error.unwrap().contains("provider_failed"));

    // A bad key with no other key to rotate to: shown as what to fix, once.
    let f = fixture(&[KEY_A], None).await;
    answer_with(&f.server, KEY_A, ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "bad key"}})))
        .await;
    let (sink, _rx) = collect();
    let err = f.gateway.generate(request("r3"), sink).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ProviderAuth);
    assert!(!err.message.contains(KEY_A));
    assert_eq!(f.server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_spent_budget_stops_requests_before_they_leave() {
    let f = fixture(&[KEY_A], Some(0.0)).await;
    answer_with(&f.server, KEY_A, completion_stream()).await;
    let (sink, _rx) = collect();
    let err = f.gateway.generate(request("r"), sink).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::BudgetExceeded);
    assert!(err.message.contains("$0.00"), "{}", err.message);
    assert!(f.server.received_requests().await.unwrap().is_empty());
    assert_eq!(last_row(&f.gateway).await.record.status, RequestStatus::Error);

    // Under budget: spend accumulates until the budget is reached.
    let f = fixture(&[KEY_A], Some(0.0012)).await;
    answer_with(&f.server, KEY_A, completion_stream()).await;
    let (sink, _rx) = collect();
    f.gateway.generate(request("a"), sink).await.unwrap(); // costs $0.00132
    let (sink, _rx) = collect();
    assert_eq!(f.gateway.generate(request("b"), sink).await.unwrap_err().code, ErrorCode::BudgetExceeded);
}

#[tokio::test]
async fn missing_disabled_and_keyless_providers_are_clear_errors() {
    let f = fixture(&[], None).await;
    let (sink, _rx) = collect();
    let err = f.gateway.generate(request("r1"), sink).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::SecretUnavailable);
    assert!(err.message.contains("no API key"));

    let mut settings = f.gateway.store().provider("openai").await.unwrap().settings;
    settings.enabled = false;
    f.gateway.store().save_provider("tester", &settings, &[]).await.unwrap();
    let (sink, _rx) = collect();
    let err = f.gateway.generate(request("r2"), sink).await.unwrap_err();
    assert!(err.message.contains("disabled"), "{}", err.message);

    let mut r = request("r3");
    r.model = Some("nowhere/some-model".into());
    let (sink, _rx) = collect();
    let err = f.gateway.generate(r, sink).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ModelMissing);
    assert!(f.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn keys_sealed_under_another_master_key_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    {
        let g = open_gateway(dir.path(), vault()).await;
        configure_openai(&g, &server, &[KEY_A], None).await;
        g.store().close().await;
    }
    // The keyring entry was reset: a new master key.
    let g = open_gateway(dir.path(), vault()).await;
    assert!(g.vault_status().problem.unwrap().contains("master key"));
    let (sink, _rx) = collect();
    let err = g.generate(request("r"), sink).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::SecretUnavailable);
    assert!(err.message.contains("enter the API key again"), "{}", err.message);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn cancelling_a_slow_provider_ends_the_request_at_once() {
    let f = fixture(&[KEY_A], None).await;
    answer_with(&f.server, KEY_A, completion_stream().set_delay(Duration::from_secs(20))).await;
    let g = f.gateway.clone();
    let run = tokio::spawn(async move {
        let (sink, _rx) = collect();
        g.generate(request("slow"), sink).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(f.gateway.cancel("slow"));
    let summary = tokio::time::timeout(Duration::from_secs(3), run).await.expect("ends promptly").unwrap().unwrap();
    assert_eq!(summary.status, RequestStatus::Cancelled);
    assert_eq!(last_row(&f.gateway).await.record.status, RequestStatus::Cancelled);
}
