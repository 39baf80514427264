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

    // The admin enters the key again: the check value is renewed and the warning ends.
    let old = g.store().provider_keys("openai").await.unwrap();
    let replaced = g.seal_key("openai", Some(&old[0].id), old[0].position, KEY_A).unwrap();
    let settings = g.store().provider("openai").await.unwrap().settings;
    g.store().save_provider("tester", &settings, &[KeyChange::Replace(replaced)]).await.unwrap();
    g.recheck_master_key().await.unwrap();
    assert_eq!(g.vault_status().problem, None, "the wrong-key warning ends once every key opens");
    answer_with(&server, KEY_A, completion_stream()).await;
    let (sink, _rx) = collect();
    g.generate(request("after"), sink).await.expect("the re-entered key works");
    // And a restart with this master key raises no warning.
    g.check_master_key().await.unwrap();
    assert_eq!(g.vault_status().problem, None);
}

#[tokio::test]
async fn a_sealed_key_opens_only_for_its_own_provider() {
    let f = fixture(&[KEY_A], None).await;
    // The same sealed bytes under another provider's row: refused, not sent there.
    let mut moved = f.gateway.store().provider_keys("openai").await.unwrap().remove(0);
    moved.provider_id = "anthropic".into();
    moved.id = "moved-key".into();
    let sealed_for_openai = f.gateway.seal_key("openai", Some("moved-key"), 0, KEY_A).unwrap();
    moved.nonce = sealed_for_openai.nonce;
    moved.ciphertext = sealed_for_openai.ciphertext;
    let anthropic = f.gateway.store().provider("anthropic").await.unwrap().settings;
    f.gateway.store().save_provider("tester", &anthropic, &[KeyChange::Add(moved)]).await.unwrap();
    let err = f.gateway.open_keys("anthropic").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::SecretUnavailable, "{}", err.message);
    // Its own provider's key still opens.
    assert_eq!(f.gateway.open_keys("openai").await.unwrap()[0].1.as_str(), KEY_A);
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

/// An answer whose usage is what the request asked for at most (5 prompt tokens, 32 output).
fn modest_stream() -> ResponseTemplate {
    let body = [
        json!({"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}),
        json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 32}}),
    ]
    .iter()
    .map(|c| format!("data: {c}\n\n"))
    .collect::<String>()
        + "data: [DONE]\n\n";
    ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_cannot_overspend_a_budget() {
    // Each request may cost up to ~$0.00002; the budget allows about fifty of two hundred.
    let budget = 0.001;
    let f = fixture(&[KEY_A], Some(budget)).await;
    answer_with(&f.server, KEY_A, modest_stream().set_delay(Duration::from_millis(300))).await;
    let runs: Vec<_> = (0..200)
        .map(|i| {
            let g = f.gateway.clone();
            tokio::spawn(async move {
                let (sink, _rx) = collect();
                g.generate(request(&format!("burst-{i}")), sink).await
            })
        })
        .collect();
    let mut answered = 0;
    for run in runs {
        match run.await.unwrap() {
            Ok(_) => answered += 1,
            Err(e) => assert_eq!(e.code, ErrorCode::BudgetExceeded, "{}", e.message),
        }
    }
    let rows = requests::recent(f.gateway.store().pool(), 500).await.unwrap();
    assert_eq!(rows.len(), 200, "every request is recorded");
    let spent: f64 = rows.iter().map(|r| r.record.cost_usd).sum();
    assert!(spent <= budget, "spent ${spent} of a ${budget} budget");
    assert!((40..=50).contains(&answered), "{answered} answered: the budget allows about fifty");
    // Charged once per answer the provider served: no double billing.
    assert_eq!(f.server.received_requests().await.unwrap().len(), answered);
    assert_eq!(rows.iter().filter(|r| r.record.status == RequestStatus::Ok).count(), answered);
    // And the ledger's cost is exactly what the upstream says it served: 5 in, 32 out per answer
    // at gpt-4o-mini's $0.15 / $0.60 per million tokens.
    let served = answered as f64 * (5.0 * 0.15 + 32.0 * 0.6) / 1e6;
    assert!((spent - served).abs() < 1e-12, "ledger ${spent} vs served ${served}");
}

#[tokio::test]
async fn a_budgeted_provider_without_a_price_for_the_model_is_refused_by_name() {
    let f = fixture(&[KEY_A], Some(5.0)).await;
    answer_with(&f.server, KEY_A, modest_stream()).await;
    let (sink, _rx) = collect();
    let req = LlmRequest { model: Some("openai/my-private-finetune".into()), ..request("unpriced") };
    let err = f.gateway.generate(req, sink).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::BudgetExceeded);
    assert!(err.message.contains("no price is known for my-private-finetune"), "{}", err.message);
    assert!(f.server.received_requests().await.unwrap().is_empty(), "nothing left the machine");

    // Without a budget there is nothing to protect: it runs, recorded at $0.
    let f = fixture(&[KEY_A], None).await;
    answer_with(&f.server, KEY_A, modest_stream()).await;
    let (sink, _rx) = collect();
    let req = LlmRequest { model: Some("openai/my-private-finetune".into()), ..request("free") };
    f.gateway.generate(req, sink).await.unwrap();
}

#[tokio::test]
async fn a_stream_cut_after_text_is_charged_what_the_provider_billed() {
    // Anthropic reports the input in message_start; the stream then breaks.
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    let g = open_gateway(dir.path(), vault()).await;
    let mut settings = g.store().provider("anthropic").await.unwrap().settings;
    settings.enabled = true;
    settings.base_url = server.uri();
    settings.allow_http = true;
    let key = KeyChange::Add(g.seal_key("anthropic", None, 0, KEY_A).unwrap());
    g.store().save_provider("tester", &settings, &[key]).await.unwrap();
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "usage": {"input_tokens": 1200, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Once upon a time, there was a lighthouse"}}),
        ),
    ];
    let body: String = events.iter().map(|(e, d)| format!("event: {e}\ndata: {d}\n\n")).collect();
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body),
        )
        .mount(&server)
        .await;
    let (sink, rx) = collect();
    let req = LlmRequest {
        use_case: "answer_generation".into(),
        model: Some("anthropic/claude-sonnet-4-5".into()),
        ..request("cut")
    };
    let err = g.generate(req, sink).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ProviderUnavailable, "{}", err.message);
    assert_eq!(text(&rx), "Once upon a time, there was a lighthouse", "the partial text reached the caller");
    let row = last_row(&g).await;
    assert_eq!(row.record.status, RequestStatus::Error);
    assert_eq!(row.record.input_tokens, 1200, "the input the provider reported");
    assert!(row.record.output_tokens >= 8, "the streamed text, counted: {}", row.record.output_tokens);
    // claude-sonnet-4-5: $3/M input, $15/M output.
    let least = (1200.0 * 3.0 + 8.0 * 15.0) / 1e6;
    assert!(row.record.cost_usd >= least, "charged ${}, at least ${least}", row.record.cost_usd);
}

#[tokio::test]
async fn a_cancelled_request_is_charged_for_its_prompt_not_zero() {
    let f = fixture(&[KEY_A], None).await;
    answer_with(&f.server, KEY_A, completion_stream().set_delay(Duration::from_secs(20))).await;
    let g = f.gateway.clone();
    let run = tokio::spawn(async move {
        let (sink, _rx) = collect();
        g.generate(LlmRequest { prompt: "word ".repeat(400), ..request("paid") }, sink).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(f.gateway.cancel("paid"));
    run.await.unwrap().unwrap();
    let row = last_row(&f.gateway).await;
    assert_eq!(row.record.status, RequestStatus::Cancelled);
    assert!(row.record.input_tokens >= 400, "the prompt, counted: {}", row.record.input_tokens);
    assert!(row.record.cost_usd > 0.0);
}

#[tokio::test]
async fn with_two_master_keys_the_one_that_opens_the_stored_keys_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    // Keys sealed under a master key that lives in a file.
    let file_key = MasterKey::random().unwrap();
    let file_bytes = *file_key.bytes();
    {
        let g = open_gateway(
            dir.path(),
            Vault::new(Ok((file_key, KeyStorage::File { path: "k".into(), reason: "no keyring".into() }))),
        )
        .await;
        configure_openai(&g, &server, &[KEY_A], None).await;
        g.store().close().await;
    }
    // Later a keyring appeared with a key of its own; the file is still there.
    let again = MasterKey::from_bytes(file_bytes);
    let both = Vault::with_candidates(
        Ok((MasterKey::random().unwrap(), KeyStorage::Keyring)),
        Some((again, KeyStorage::File { path: "k".into(), reason: "both hold a key".into() })),
    );
    let g = open_gateway(dir.path(), both).await;
    let status = g.vault_status();
    assert_eq!(status.problem, None, "no wrong-key warning: the file's key opens the stored keys");
    assert!(
        matches!(status.storage, Some(KeyStorage::File { ref reason, .. }) if reason.contains("both")),
        "{status:?}"
    );
    assert_eq!(g.open_keys("openai").await.unwrap()[0].1.as_str(), KEY_A);
}
