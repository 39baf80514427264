//! The HTTP API through its router (no port opened), on a real data folder,
//! the real engine worker and the test model: tokens, the Host check, limits,
//! both APIs' formats, the configuration API, and the ledger rows requests leave.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use switchboard_core::{ApiServerSettings, TokenScope};
use switchboard_server::{router, ApiState};
use switchboard_service::{ops, AppState, Paths};
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    app: Arc<AppState>,
    token: String,
    admin: String,
}

const MODEL: &str = "local/gemma-3-270m-q4_k_m";

async fn fixture() -> Fixture {
    std::env::set_var("SWITCHBOARD_SECRET_STORE", "file");
    std::env::set_var("SWITCHBOARD_ENGINE_WORKER", env!("CARGO_BIN_EXE_switchboard"));
    let model = switchboard_models::cached_default_model();
    assert!(model.exists(), "test model missing at {}: run fetch-model first", model.display());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("models")).unwrap();
    let linked = data.join("models/gemma-3-270m-q4_k_m.gguf");
    if std::fs::hard_link(&model, &linked).is_err() {
        std::fs::copy(&model, &linked).unwrap();
    }
    let app = Arc::new(AppState::open(Paths::under(data, dir.path().join("cache"))).await.unwrap());
    let token = ops::api::create_token(&app, "rag-service", TokenScope::Use).await.unwrap().secret;
    let admin = ops::api::create_token(&app, "ops", TokenScope::Admin).await.unwrap().secret;
    Fixture { _dir: dir, app, token, admin }
}

impl Fixture {
    fn router(&self, settings: ApiServerSettings) -> axum::Router {
        router(Arc::new(ApiState::new(self.app.clone(), settings, "127.0.0.1:4315".parse().unwrap())))
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn send(router: &axum::Router, req: Request<Body>) -> Reply {
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

fn request(method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path).header("host", "localhost:4315");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    match body {
        Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())).unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

fn chat_body(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 8, "temperature": 0, "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

#[tokio::test]
async fn requests_without_a_valid_token_or_from_another_host_are_refused_in_each_apis_format() {
    let f = fixture().await;
    let r = f.router(ApiServerSettings::default());

    let none = send(&r, request("GET", "/v1/models", None, None)).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.json()["error"]["type"], "authentication_error", "{}", none.body);
    let wrong = send(&r, request("GET", "/api/tags", Some("sb-not-a-token"), None)).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.json()["error"].as_str().unwrap().contains("not valid"), "Ollama's format: {}", wrong.body);

    // x-api-key works as well as Bearer.
    let keyed = Request::builder()
        .uri("/v1/models")
        .header("host", "127.0.0.1:4315")
        .header("x-api-key", &f.token)
        .body(Body::empty())
        .unwrap();
    let listed = send(&r, keyed).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let ids: Vec<String> =
        listed.json()["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()).collect();
    assert!(ids.contains(&"answer_generation".to_string()) && ids.contains(&MODEL.to_string()), "{ids:?}");

    // DNS rebinding: a page on another name reaching 127.0.0.1 carries its own Host.
    let rebound = Request::builder()
        .uri("/v1/models")
        .header("host", "attacker.example:4315")
        .header("authorization", format!("Bearer {}", f.token))
        .body(Body::empty())
        .unwrap();
    let refused = send(&r, rebound).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("Host header"), "{}", refused.body);

    // A revoked token stops working (within the lookup's two seconds).
    ops::api::revoke_token(&f.app, "rag-service").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let revoked = send(&r, request("GET", "/v1/models", Some(&f.token), None)).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED, "{}", revoked.body);

    // No CORS headers unless origins are listed; then only for those.
    assert!(listed.headers.get("access-control-allow-origin").is_none());
    let cors =
        f.router(ApiServerSettings { allowed_origins: vec!["http://localhost:3000".into()], ..Default::default() });
    let ask = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/v1/models")
            .header("host", "localhost:4315")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            // The OpenAI JavaScript client sends headers of its own.
            .header("access-control-request-headers", "authorization,content-type,x-stainless-os,openai-project")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = send(&cors, ask("http://localhost:3000")).await;
    assert_eq!(allowed.headers.get("access-control-allow-origin").unwrap(), "http://localhost:3000");
    let headers = allowed.headers.get("access-control-allow-headers").unwrap().to_str().unwrap().to_lowercase();
    assert!(headers.contains("x-stainless-os") && headers.contains("authorization"), "{headers}");
    let other = send(&cors, ask("http://evil.example")).await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn bad_bodies_are_refused_with_the_reason_and_nothing_runs() {
    let f = fixture().await;
    let r = f.router(ApiServerSettings { max_body_mib: 1, max_images: 1, ..Default::default() });
    let big = json!({"model": "answer_generation", "messages": [{"role": "user", "content": "x".repeat(1_200_000)}]});
    let too_large = send(&r, request("POST", "/v1/chat/completions", Some(&f.token), Some(big))).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", too_large.body);
    assert!(too_large.json()["error"]["message"].as_str().unwrap().contains("1 MiB"));
    // A body whose connection breaks halfway is not "too large".
    let broken = futures_util::stream::iter([
        Ok::<_, std::io::Error>(axum::body::Bytes::from_static(br#"{"model": "answer_generation", "mess"#)),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset")),
    ]);
    let req = Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("host", "localhost:4315")
        .header("authorization", format!("Bearer {}", f.token))
        .body(Body::from_stream(broken))
        .unwrap();
    let broken = send(&r, req).await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);
    assert!(broken.json()["error"]["message"].as_str().unwrap().contains("could not be read"), "{}", broken.body);

    let cases = [
        ("/v1/chat/completions", json!({"model": "answer_generation"}), "missing field `messages`"),
        (
            "/v1/chat/completions",
            json!({"model": "no_such_thing", "messages": [{"role": "user", "content": "hi"}]}),
            "no use case or model named 'no_such_thing'",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "answer_generation", "messages": [{"role": "user", "content": "hi"}], "temperature": 7}),
            "temperature",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "answer_generation", "messages": [{"role": "assistant", "content": "hi"}]}),
            "last message must be the user's",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "answer_generation", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}),
            "not a vision use case",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "vision_vlm", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}),
            "not fetched",
        ),
        ("/api/generate", json!({"model": "vision_vlm", "prompt": "what?", "images": ["AAAA", "AAAA"]}), "at most 1"),
        ("/api/generate", json!({"model": "vision_vlm", "prompt": "what?", "images": ["%%%"]}), "not valid base64"),
        (
            "/api/generate",
            json!({"model": "answer_generation", "prompt": "hi", "options": {"top_k": -3}}),
            "options.top_k",
        ),
        ("/v1/embeddings", json!({"model": "answer_generation", "input": [1, 2, 3]}), "token arrays are not accepted"),
        ("/v1/completions", json!({"model": "answer_generation"}), "missing field `prompt`"),
        ("/v1/completions", json!({"model": "answer_generation", "prompt": "  "}), "the prompt is empty"),
        ("/v1/completions", json!({"model": "answer_generation", "prompt": [1, 2]}), "token arrays are not accepted"),
        ("/v1/completions", json!({"model": "answer_generation", "prompt": ["a", "b"]}), "one prompt per request"),
        ("/v1/completions", json!({"model": "answer_generation", "prompt": "a", "suffix": "b"}), "suffix"),
        ("/v1/completions", json!({"model": "answer_generation", "prompt": "a", "logprobs": 2}), "logprobs"),
        ("/v1/completions", json!({"model": "answer_generation", "prompt": "a", "best_of": 3}), "best_of"),
        ("/v1/completions", json!({"model": "answer_generation", "prompt": "a", "top_p": 3}), "top_p"),
        ("/v1/completions", json!({"model": "no_such_thing", "prompt": "a"}), "no use case or model named"),
        (
            "/v1/chat/completions",
            json!({"model": "answer_generation", "messages": [{"role": "user", "content": "hi"}],
                   "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}),
            "tool calling is not offered",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "answer_generation", "messages": [{"role": "user", "content": "hi"}], "functions": [{"name": "f"}]}),
            "functions",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "answer_generation", "messages": [{"role": "user", "content": "hi"}], "logprobs": true}),
            "log-probabilities",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "answer_generation", "messages": [{"role": "tool", "content": "42"}]}),
            "the role 'tool' is not supported",
        ),
        (
            "/api/chat",
            json!({"model": "answer_generation", "messages": [{"role": "user", "content": "hi"}],
                   "tools": [{"type": "function", "function": {"name": "f"}}]}),
            "tools: tool calling is not offered",
        ),
        (
            "/api/generate",
            json!({"model": "answer_generation", "prompt": "hi", "raw": true}),
            "raw prompts are not offered",
        ),
        ("/api/generate", json!({"model": "answer_generation", "prompt": "hi", "suffix": "x"}), "suffix:"),
        ("/api/generate", json!({"model": "answer_generation", "prompt": "hi", "context": [1, 2]}), "context:"),
    ];
    for (path, body, says) in cases {
        let reply = send(&r, request("POST", path, Some(&f.token), Some(body.clone()))).await;
        assert!(reply.status.is_client_error(), "{path} {body}: {} {}", reply.status, reply.body);
        assert!(reply.body.contains(says), "{path} {body}: {}", reply.body);
    }
    let not_json = Request::builder()
        .method("POST")
        .uri("/api/chat")
        .header("host", "localhost")
        .header("authorization", format!("Bearer {}", f.token))
        .body(Body::from("{not json"))
        .unwrap();
    let reply = send(&r, not_json).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.json()["error"].as_str().unwrap().contains("not valid"), "{}", reply.body);
    // Rows the API queued on the ledger's writer commit first.
    f.app.store().flush_ledger().await;
    let ledger = switchboard_store::queries::requests::recent(f.app.store().pool(), 10).await.unwrap();
    assert!(ledger.is_empty(), "refused requests ran nothing: {ledger:?}");
}

#[tokio::test]
async fn chat_completions_answer_plain_and_streamed_with_usage_and_the_ledger_row_names_the_token() {
    let f = fixture().await;
    let r = f.router(ApiServerSettings::default());
    let plain =
        send(&r, request("POST", "/v1/chat/completions", Some(&f.token), Some(chat_body("answer_generation", false))))
            .await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.body);
    let v = plain.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "answer_generation");
    assert!(!v["choices"][0]["message"]["content"].as_str().unwrap().is_empty());
    assert_eq!(v["choices"][0]["finish_reason"], "length", "8 tokens at most");
    assert_eq!(v["usage"]["completion_tokens"], 8);
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 3);
    assert_eq!(v["switchboard"]["model"], MODEL);
    let ledger_id = v["switchboard"]["ledger_id"].as_str().unwrap().to_string();

    // Clients that always send these, empty or off, are served.
    let mut body = chat_body(MODEL, true);
    body["tools"] = json!([]);
    body["logprobs"] = json!(false);
    let streamed = send(&r, request("POST", "/v1/chat/completions", Some(&f.token), Some(body))).await;
    assert_eq!(streamed.status, StatusCode::OK, "{}", streamed.body);
    assert!(streamed.headers["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let events: Vec<&str> = streamed.body.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(events.last(), Some(&"[DONE]"), "{}", streamed.body);
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert!(!text.is_empty());
    let finish = chunks.iter().find(|c| c["choices"][0]["finish_reason"].is_string()).expect("a last chunk");
    assert_eq!(finish["choices"][0]["finish_reason"], "length");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"].as_array().unwrap().len(), 0, "include_usage: a last chunk with usage only");
    assert_eq!(usage["usage"]["completion_tokens"], 8);

    // Rows the API queued on the ledger's writer commit first.
    f.app.store().flush_ledger().await;
    let rows = switchboard_store::queries::requests::recent(f.app.store().pool(), 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.record.caller == "token:rag-service"), "{rows:?}");
    assert!(rows.iter().any(|r| r.id == ledger_id));
    let concrete = rows.iter().find(|r| r.id != ledger_id).unwrap();
    assert_eq!(concrete.record.use_case, "answer_generation", "a concrete model is recorded under Settings' use case");
    assert_eq!(concrete.record.params.as_ref().unwrap().max_tokens, 8, "the request's own max_tokens");
    assert_eq!(concrete.record.params.as_ref().unwrap().temperature, 0.0);
}

#[tokio::test]
async fn ollama_endpoints_answer_as_ollama_does() {
    let f = fixture().await;
    let r = f.router(ApiServerSettings::default());
    let version = send(&r, request("GET", "/api/version", Some(&f.token), None)).await;
    assert!(version.json()["version"].as_str().unwrap().starts_with("0."));
    let tags = send(&r, request("GET", "/api/tags", Some(&f.token), None)).await;
    let names: Vec<String> =
        tags.json()["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().into()).collect();
    assert!(names.contains(&"intent_classification".into()) && names.contains(&MODEL.into()), "{names:?}");

    // Streamed by default, as NDJSON, the last line with Ollama's counters.
    let body = json!({"model": "answer_generation:latest", "prompt": "Say hello.", "options": {"num_predict": 6, "temperature": 0}});
    let streamed = send(&r, request("POST", "/api/generate", Some(&f.token), Some(body))).await;
    assert_eq!(streamed.status, StatusCode::OK, "{}", streamed.body);
    assert_eq!(streamed.headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = streamed.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let last = lines.last().unwrap();
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "length");
    assert_eq!(last["eval_count"], 6);
    assert!(last["total_duration"].as_u64().unwrap() > 0);
    assert!(lines[..lines.len() - 1].iter().all(|l| l["done"] == false && l["response"].is_string()));

    let chat = json!({"model": "answer_generation", "stream": false, "format": "json",
        "messages": [{"role": "user", "content": "Give a JSON object with a key a."}], "options": {"num_predict": 24, "temperature": 0}});
    let answered = send(&r, request("POST", "/api/chat", Some(&f.token), Some(chat))).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    let v = answered.json();
    assert_eq!(v["message"]["role"], "assistant");
    assert!(
        v["message"]["content"].as_str().unwrap().trim_start().starts_with('{'),
        "format json: {}",
        v["message"]["content"]
    );
}

#[tokio::test]
async fn the_configuration_api_reads_for_everyone_and_changes_for_admins_with_an_audit_row() {
    let f = fixture().await;
    let r = f.router(ApiServerSettings::default());
    let one = send(&r, request("GET", "/config/answer_generation", Some(&f.token), None)).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    let v = one.json();
    assert_eq!(v["model"], MODEL);
    assert_eq!(v["params"]["temperature"], 0.7);
    assert_eq!(v["route"][0]["model"], MODEL);
    assert_eq!(v["route"][0]["available"], true);
    let all = send(&r, request("GET", "/config", Some(&f.token), None)).await;
    assert!(all.json()["use_cases"].as_array().unwrap().len() >= 6);

    let change = json!({"use_custom_params": true, "custom_params": {"temperature": 0.2, "top_k": 20, "top_p": 0.8, "max_tokens": 300, "repeat_penalty": 1.0}});
    let refused = send(&r, request("PUT", "/config/answer_generation", Some(&f.token), Some(change.clone()))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let saved = send(&r, request("PUT", "/config/answer_generation", Some(&f.admin), Some(change))).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.json()["params"]["temperature"], 0.2);
    let audit =
        ops::audit::list(&f.app, switchboard_core::AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let row = audit
        .iter()
        .find(|a| a.entity_id == "answer_generation" && a.field.as_deref() == Some("custom_params.temperature"))
        .unwrap_or_else(|| panic!("{audit:#?}"));
    assert_eq!(row.actor, "token:ops");

    let bad = json!({"custom_params": {"temperature": 9.0, "top_k": 20, "top_p": 0.8, "max_tokens": 300, "repeat_penalty": 1.0}});
    let refused = send(&r, request("PUT", "/config/answer_generation", Some(&f.admin), Some(bad))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["error"]["field"], "custom_params.temperature", "{}", refused.body);
    let unknown =
        send(&r, request("PUT", "/config/answer_generation", Some(&f.admin), Some(json!({"colour": "red"})))).await;
    assert_eq!(unknown.json()["error"]["field"], "colour");
    let missing = send(&r, request("GET", "/config/nope", Some(&f.token), None)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let providers = send(&r, request("GET", "/config/providers", Some(&f.token), None)).await;
    let list = providers.json()["providers"].as_array().unwrap().clone();
    assert!(list.iter().any(|p| p["id"] == "openai" && p["budget_state"] == "none"));
    let costs = send(&r, request("GET", "/config/costs", Some(&f.token), None)).await;
    assert_eq!(costs.status, StatusCode::OK, "{}", costs.body);
    // A day with a space after it (a '+' in the query) is that day; bad ranges are refused as JSON, by name.
    let spaced = send(&r, request("GET", "/config/costs?from=2026-01-01&to=2026-01-31+", Some(&f.token), None)).await;
    assert_eq!(spaced.status, StatusCode::OK, "{}", spaced.body);
    assert_eq!(spaced.json()["to"], "2026-01-31");
    for (query, says) in [
        ("from=2026-02-01&to=2026-01-01", "before the first"),
        ("from=yesterday", "not a date"),
        ("from=2026-01-01&from=2026-01-02", "duplicate field"),
    ] {
        let bad = send(&r, request("GET", &format!("/config/costs?{query}"), Some(&f.token), None)).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{query}: {}", bad.body);
        let message = bad.json()["error"]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(says), "{query}: {}", bad.body);
    }
    let doc = send(&r, request("GET", "/openapi.json", Some(&f.token), None)).await;
    let paths = doc.json()["paths"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    for p in [
        "/v1/chat/completions",
        "/v1/models/{model}",
        "/api/generate",
        "/api/show",
        "/api/ps",
        "/config/{use_case}",
        "/config/costs",
    ] {
        assert!(paths.contains(&p.to_string()), "{p} documented: {paths:?}");
    }
}

#[tokio::test]
async fn past_the_concurrency_limit_requests_wait_then_are_refused_with_retry_after() {
    let f = fixture().await;
    let r = f.router(ApiServerSettings { max_concurrent: 1, ..Default::default() });
    let long = json!({"model": "answer_generation", "messages": [{"role": "user", "content": "Count to one hundred."}], "max_tokens": 160, "temperature": 0});
    let first = tokio::spawn({
        let (r, t, b) = (r.clone(), f.token.clone(), long.clone());
        async move { send(&r, request("POST", "/v1/chat/completions", Some(&t), Some(b))).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = tokio::spawn({
        let (r, t, b) = (r.clone(), f.token.clone(), chat_body("answer_generation", false));
        async move { send(&r, request("POST", "/v1/chat/completions", Some(&t), Some(b))).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let third =
        send(&r, request("POST", "/v1/chat/completions", Some(&f.token), Some(chat_body("answer_generation", false))))
            .await;
    assert_eq!(
        third.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "one running, one waiting, the third refused: {}",
        third.body
    );
    assert_eq!(third.headers["retry-after"], "1");
    assert_eq!(first.await.unwrap().status, StatusCode::OK);
    assert_eq!(second.await.unwrap().status, StatusCode::OK, "the waiting request was served");
}

#[tokio::test]
async fn callers_at_once_are_generated_together_each_with_its_own_answer_and_ledger_row() {
    let f = fixture().await;
    let r = f.router(ApiServerSettings::default());
    // Loaded first, so that the three below start together.
    send(&r, request("POST", "/v1/chat/completions", Some(&f.token), Some(chat_body("answer_generation", false))))
        .await;
    let body = |prompt: &str, max_tokens: u32| {
        json!({"model": "answer_generation", "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens, "temperature": 0, "ignore_eos": true})
    };
    let started = std::time::Instant::now();
    let calls: Vec<_> = [("Tell me about the sea.", 40u32), ("Tell me about mountains.", 40), ("Say hello.", 12)]
        .into_iter()
        .map(|(prompt, n)| {
            let (r, t, b) = (r.clone(), f.token.clone(), body(prompt, n));
            tokio::spawn(async move {
                let reply = send(&r, request("POST", "/v1/chat/completions", Some(&t), Some(b))).await;
                (reply, started.elapsed())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        let (reply, took) = call.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        answers.push((reply.json(), took));
    }
    // ignore_eos: each wrote exactly what it asked for.
    let tokens: Vec<u64> = answers.iter().map(|(v, _)| v["usage"]["completion_tokens"].as_u64().unwrap()).collect();
    assert_eq!(tokens, [40, 40, 12]);
    // The short one did not wait for the long ones to finish.
    assert!(
        answers[2].1 < answers[0].1 && answers[2].1 < answers[1].1,
        "{:?}",
        answers.iter().map(|a| a.1).collect::<Vec<_>>()
    );
    // Rows the API queued on the ledger's writer commit first.
    f.app.store().flush_ledger().await;
    let rows = switchboard_store::queries::requests::recent(f.app.store().pool(), 10).await.unwrap();
    for (v, _) in &answers {
        let id = v["switchboard"]["ledger_id"].as_str().unwrap();
        let row = rows.iter().find(|r| r.id == id).expect("a ledger row for each caller");
        assert_eq!(u64::from(row.record.output_tokens), v["usage"]["completion_tokens"].as_u64().unwrap());
    }
}

#[tokio::test]
async fn clients_can_look_up_a_use_case_or_model_and_see_what_is_loaded() {
    let f = fixture().await;
    let r = f.router(ApiServerSettings::default());
    let facts = switchboard_models::library::describe(&switchboard_models::cached_default_model()).unwrap();

    // The root answers a client checking for a server; with a token like everything else.
    let root = send(&r, request("GET", "/", Some(&f.token), None)).await;
    assert_eq!((root.status, root.body.as_str()), (StatusCode::OK, "Switchboard is running"));
    assert_eq!(send(&r, request("GET", "/", None, None)).await.status, StatusCode::UNAUTHORIZED);

    // OpenAI's retrieve: a use case, a model (its id has a slash), and one that does not exist.
    let uc = send(&r, request("GET", "/v1/models/answer_generation", Some(&f.token), None)).await;
    assert_eq!(uc.status, StatusCode::OK, "{}", uc.body);
    assert_eq!(
        (uc.json()["id"].as_str(), uc.json()["switchboard"]["kind"].as_str()),
        (Some("answer_generation"), Some("use_case"))
    );
    let local = send(&r, request("GET", &format!("/v1/models/{MODEL}"), Some(&f.token), None)).await;
    assert_eq!(local.status, StatusCode::OK, "{}", local.body);
    assert_eq!(local.json()["id"], MODEL);
    assert_eq!(local.json()["owned_by"], "local");
    let missing = send(&r, request("GET", "/v1/models/no_such_thing", Some(&f.token), None)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["type"], "invalid_request_error");
    assert!(missing.json()["error"]["message"].as_str().unwrap().contains("no_such_thing"), "{}", missing.body);

    // Ollama's show: the use case's parameters and system prompt, its model's header facts.
    let show = |body: Value| send(&r, request("POST", "/api/show", Some(&f.token), Some(body)));
    let shown = show(json!({"model": "answer_generation"})).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    let v = shown.json();
    assert_eq!(v["switchboard"]["model"], MODEL);
    assert_eq!(v["details"]["family"], facts.architecture.as_str());
    assert_eq!(v["details"]["quantization_level"], facts.quantization.clone().unwrap().as_str());
    assert!(v["details"]["parameter_size"].as_str().unwrap().ends_with('M'), "{}", v["details"]);
    assert_eq!(
        v["model_info"][format!("{}.context_length", facts.architecture)].as_u64(),
        facts.context_length.map(u64::from)
    );
    assert_eq!(v["capabilities"], json!(["completion"]));
    let use_case = f.app.store().use_case("answer_generation").await.unwrap();
    let temperature = use_case.effective_params(None).temperature.to_string();
    let params = v["parameters"].as_str().unwrap();
    assert!(
        params.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["temperature", temperature.as_str()]),
        "{params}"
    );
    assert!(v["modelfile"].as_str().unwrap().contains(&format!("FROM {MODEL}")), "{}", v["modelfile"]);
    assert!(v["switchboard"]["route"].as_array().is_some_and(|r| !r.is_empty()), "{}", v["switchboard"]);
    // The older field name, Ollama's tag, a vision use case, a model by itself.
    let legacy = show(json!({"name": "answer_generation:latest"})).await;
    assert_eq!(legacy.status, StatusCode::OK, "{}", legacy.body);
    let vision = show(json!({"model": "vision_vlm"})).await.json();
    assert_eq!(vision["capabilities"], json!(["completion", "vision"]));
    let model = show(json!({"model": MODEL})).await.json();
    assert_eq!(
        (model["switchboard"]["kind"].as_str(), model["details"]["format"].as_str()),
        (Some("model"), Some("gguf"))
    );
    // Bad cases: no name, an unknown one, a disabled use case.
    let nameless = show(json!({})).await;
    assert_eq!(nameless.status, StatusCode::BAD_REQUEST);
    assert!(nameless.json()["error"].as_str().unwrap().starts_with("model:"), "{}", nameless.body);
    let unknown = show(json!({"model": "no_such_thing"})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.json()["error"].as_str().unwrap().contains("GET /api/tags"), "{}", unknown.body);
    let mut cfg = f.app.store().use_case("followup_titles").await.unwrap().config();
    cfg.enabled = false;
    f.app.store().save_use_case("tester", "followup_titles", &cfg).await.unwrap();
    assert_eq!(show(json!({"model": "followup_titles"})).await.status, StatusCode::NOT_FOUND);

    // The listing carries the same details.
    let tags = send(&r, request("GET", "/api/tags", Some(&f.token), None)).await.json();
    let listed = tags["models"].as_array().unwrap().iter().find(|m| m["name"] == MODEL).unwrap().clone();
    assert_eq!(listed["details"]["family"], facts.architecture.as_str());
    assert!(listed["size"].as_u64().unwrap() > 100_000_000);
    assert!(!tags["models"].as_array().unwrap().iter().any(|m| m["name"] == "followup_titles"));

    // Nothing loaded yet; after a request the model is, with its context.
    let ps = || send(&r, request("GET", "/api/ps", Some(&f.token), None));
    assert_eq!(ps().await.json()["models"], json!([]));
    let chat =
        send(&r, request("POST", "/v1/chat/completions", Some(&f.token), Some(chat_body("answer_generation", false))))
            .await;
    assert_eq!(chat.status, StatusCode::OK, "{}", chat.body);
    let loaded = ps().await.json();
    let models = loaded["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "{loaded}");
    assert_eq!(models[0]["name"], MODEL);
    assert!(models[0]["context_length"].as_u64().unwrap() > 0);
    assert!(models[0]["size"].as_u64().unwrap() > 0);
    assert!(models[0]["switchboard"]["used_by"].as_array().unwrap().iter().any(|u| u == use_case.name.as_str()));
}

#[tokio::test]
async fn the_older_completions_api_answers_plain_streamed_and_echoed() {
    let f = fixture().await;
    let r = f.router(ApiServerSettings::default());
    let body = |stream: bool, echo: bool| {
        json!({"model": "answer_generation", "prompt": "Say hello.", "max_tokens": 6, "temperature": 0,
               "stream": stream, "echo": echo, "stream_options": {"include_usage": true}})
    };
    let plain = send(&r, request("POST", "/v1/completions", Some(&f.token), Some(body(false, false)))).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.body);
    let v = plain.json();
    assert_eq!(v["object"], "text_completion");
    assert!(v["id"].as_str().unwrap().starts_with("cmpl-"));
    let text = v["choices"][0]["text"].as_str().unwrap().to_string();
    assert!(!text.is_empty());
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 6);
    assert_eq!(v["switchboard"]["model"], MODEL);

    // Streamed in pieces after the echoed prompt, then usage.
    let streamed = send(&r, request("POST", "/v1/completions", Some(&f.token), Some(body(true, true)))).await;
    assert_eq!(streamed.status, StatusCode::OK, "{}", streamed.body);
    let events: Vec<&str> = streamed.body.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(events.last(), Some(&"[DONE]"), "{}", streamed.body);
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    let pieces: Vec<&str> = chunks.iter().filter_map(|c| c["choices"][0]["text"].as_str()).collect();
    assert_eq!(pieces[0], "Say hello.", "the prompt first: {pieces:?}");
    assert!(pieces[1..].concat().len() > 1, "then the completion: {pieces:?}");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 6);

    let echoed = send(&r, request("POST", "/v1/completions", Some(&f.token), Some(body(false, true)))).await.json();
    let whole = echoed["choices"][0]["text"].as_str().unwrap();
    assert!(whole.starts_with("Say hello.") && whole.len() > "Say hello.".len(), "{whole}");

    // Each is a request of the use case in the ledger, under the token.
    f.app.store().flush_ledger().await;
    let rows = switchboard_store::queries::requests::recent(f.app.store().pool(), 10).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.record.caller == "token:rag-service" && r.record.use_case == "answer_generation"));
}

#[tokio::test]
async fn ollama_requests_load_and_unload_models_as_ollama_does() {
    let f = fixture().await;
    let r = f.router(ApiServerSettings::default());
    let ollama = |path: &'static str, body: Value| send(&r, request("POST", path, Some(&f.token), Some(body)));
    let loaded = || async {
        let ps = send(&r, request("GET", "/api/ps", Some(&f.token), None)).await.json();
        ps["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert!(loaded().await.is_empty());

    // An empty prompt loads the model the use case runs; the next request finds it in memory.
    let load = ollama("/api/generate", json!({"model": "answer_generation"})).await;
    assert_eq!(load.status, StatusCode::OK, "{}", load.body);
    assert_eq!((load.json()["done"].as_bool(), load.json()["done_reason"].as_str()), (Some(true), Some("load")));
    assert_eq!(loaded().await, [MODEL]);
    let body =
        json!({"model": "answer_generation", "prompt": "Say hello.", "stream": false, "options": {"num_predict": 2}});
    let first = ollama("/api/generate", body).await.json();
    assert_eq!(first["load_duration"], 0, "loaded ahead: {first}");

    // keep_alive 0 with nothing to answer unloads it.
    let unload = ollama("/api/chat", json!({"model": "answer_generation", "messages": [], "keep_alive": 0})).await;
    assert_eq!(unload.status, StatusCode::OK, "{}", unload.body);
    assert_eq!(unload.json()["done_reason"], "unload");
    assert_eq!(unload.json()["message"]["role"], "assistant");
    assert!(loaded().await.is_empty());

    // An empty chat loads too; keep_alive "0s" on a request unloads once it is answered.
    assert_eq!(
        ollama("/api/chat", json!({"model": "answer_generation", "messages": []})).await.json()["done_reason"],
        "load"
    );
    let body = json!({"model": "answer_generation", "stream": false, "keep_alive": "0s", "options": {"num_predict": 2},
                      "messages": [{"role": "user", "content": "Say hello."}]});
    let answered = ollama("/api/chat", body).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    let mut waited = 0;
    while !loaded().await.is_empty() {
        assert!(waited < 100, "unloaded after the answer");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    // A streamed request with keep_alive 0 whose client goes away after the first line unloads too.
    ollama("/api/generate", json!({"model": "answer_generation"})).await;
    assert_eq!(loaded().await, [MODEL]);
    let body = json!({"model": "answer_generation", "prompt": "Tell a long story.", "keep_alive": 0,
                      "options": {"num_predict": 400}});
    let response = r.clone().oneshot(request("POST", "/api/generate", Some(&f.token), Some(body))).await.unwrap();
    let mut lines = response.into_body();
    let first = lines.frame().await.expect("a first line").unwrap();
    assert!(first.data_ref().is_some_and(|d| d.starts_with(b"{")));
    drop(lines);
    let mut waited = 0;
    while !loaded().await.is_empty() {
        assert!(waited < 200, "unloaded after its client left");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    // Other durations are accepted (the engine's idle unload applies); bad ones are refused by name.
    let kept = json!({"model": "answer_generation", "prompt": "Hi", "stream": false, "keep_alive": "1h30m", "options": {"num_predict": 1, "seed": -1}});
    assert_eq!(ollama("/api/generate", kept).await.status, StatusCode::OK);
    assert_eq!(loaded().await, [MODEL]);
    for bad in [json!("soon"), json!(true), json!("5 parsecs")] {
        let reply = ollama("/api/generate", json!({"model": "answer_generation", "keep_alive": bad})).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}: {}", reply.body);
        assert!(reply.json()["error"].as_str().unwrap().starts_with("keep_alive:"), "{}", reply.body);
    }
    // A model the library does not have cannot be loaded.
    let missing = ollama("/api/generate", json!({"model": "local/not-here"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    assert!(missing.json()["error"].as_str().unwrap().contains("not-here"), "{}", missing.body);
    assert_eq!(loaded().await, [MODEL], "a failed load leaves what was loaded");
}
