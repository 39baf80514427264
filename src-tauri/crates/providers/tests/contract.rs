//! Contract tests: each adapter against a local server replaying the wire
//! format of the provider's documentation (plain and streamed answers with
//! usage, images in the request, 401, 429 with Retry-After, 500, a stream cut
//! off mid-way, malformed JSON).

use std::time::Duration;

use serde_json::{json, Value};
use switchboard_core::SamplingParams;
use switchboard_providers::{
    adapter, ChatMessage, ChatRequest, Endpoint, ErrorAction, ErrorKind, ImageInput, Provider, ProviderKind, Usage,
};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "sk-test-0123456789abcdef";

fn provider(kind: ProviderKind, server: &MockServer) -> Box<dyn Provider> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let base_url = match kind {
        ProviderKind::OpenAi | ProviderKind::DashScope | ProviderKind::OpenAiCompatible => {
            format!("{}/v1", server.uri())
        }
        _ => server.uri(),
    };
    let endpoint = Endpoint {
        kind,
        base_url,
        api_key: Some(KEY.into()),
        azure_deployment: Some("gpt4o-prod, mini".into()),
        azure_api_version: Some("2024-10-21".into()),
        allow_http: true,
    };
    adapter(endpoint, client).unwrap()
}

fn chat_path(kind: ProviderKind, stream: bool) -> String {
    match kind {
        ProviderKind::OpenAi | ProviderKind::DashScope | ProviderKind::OpenAiCompatible => {
            "/v1/chat/completions".into()
        }
        ProviderKind::Azure => "/openai/deployments/gpt4o-prod/chat/completions".into(),
        ProviderKind::Anthropic => "/v1/messages".into(),
        ProviderKind::Gemini if stream => "/v1beta/models/gpt4o-prod:streamGenerateContent".into(),
        ProviderKind::Gemini => "/v1beta/models/gpt4o-prod:generateContent".into(),
        ProviderKind::Ollama => "/api/chat".into(),
    }
}

/// The header each provider takes its key in.
fn auth_header(kind: ProviderKind) -> (&'static str, String) {
    match kind {
        ProviderKind::Azure => ("api-key", KEY.into()),
        ProviderKind::Anthropic => ("x-api-key", KEY.into()),
        ProviderKind::Gemini => ("x-goog-api-key", KEY.into()),
        _ => ("authorization", format!("Bearer {KEY}")),
    }
}

fn request() -> ChatRequest {
    let mut params = SamplingParams::new(0.3, 10, 0.5, 64, 1.1);
    params.stop = vec!["\n\n".into()];
    params.seed = Some(7);
    params.presence_penalty = 0.5;
    ChatRequest {
        model: "gpt4o-prod".into(),
        messages: vec![ChatMessage::system("Be brief."), ChatMessage::user("Say hi")],
        params,
        json_schema: None,
        meter: Default::default(),
    }
}

async fn mount(server: &MockServer, kind: ProviderKind, stream: bool, response: ResponseTemplate) {
    let (name, value) = auth_header(kind);
    Mock::given(method("POST"))
        .and(path(chat_path(kind, stream)))
        .and(header(name, value.as_str()))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn body_of_last(server: &MockServer) -> Value {
    let reqs: Vec<Request> = server.received_requests().await.unwrap();
    serde_json::from_slice(&reqs.last().unwrap().body).unwrap()
}

fn sse(events: &[(&str, Value)]) -> ResponseTemplate {
    let mut body = String::new();
    for (event, data) in events {
        if !event.is_empty() {
            body.push_str(&format!("event: {event}\n"));
        }
        body.push_str(&format!("data: {data}\n\n"));
    }
    ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body)
}

async fn stream(
    p: &dyn Provider,
    req: &ChatRequest,
) -> (Vec<String>, Result<switchboard_providers::ChatResponse, switchboard_providers::ProviderError>) {
    let mut pieces = Vec::new();
    let mut sink = |t: &str| pieces.push(t.to_string());
    let res = p.chat(req, Some(&mut sink)).await;
    (pieces, res)
}

// ---------------------------------------------------------------- OpenAI family

fn openai_completion() -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi there."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 19, "completion_tokens": 3, "total_tokens": 22,
                  "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 1}}
    })
}

fn openai_stream(done: bool) -> ResponseTemplate {
    let chunk = |delta: Value, finish: Value| json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    let mut body = String::new();
    for ev in [
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": "Hi"}), Value::Null),
        chunk(json!({"content": " there."}), Value::Null),
        chunk(json!({}), json!("stop")),
        json!({"id": "c", "object": "chat.completion.chunk", "choices": [],
               "usage": {"prompt_tokens": 19, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 0}}}),
    ] {
        body.push_str(&format!("data: {ev}\n\n"));
    }
    if done {
        body.push_str("data: [DONE]\n\n");
    }
    ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body)
}

#[tokio::test]
async fn openai_plain_answer_maps_parameters_and_usage() {
    for kind in [ProviderKind::OpenAi, ProviderKind::DashScope, ProviderKind::OpenAiCompatible, ProviderKind::Azure] {
        let server = MockServer::start().await;
        mount(&server, kind, false, ResponseTemplate::new(200).set_body_json(openai_completion())).await;
        let p = provider(kind, &server);
        let res = p.chat(&request(), None).await.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(res.text, "Hi there.");
        assert_eq!(res.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            res.usage,
            Usage { input_tokens: 19, output_tokens: 3, cached_input_tokens: 4, reasoning_tokens: 1 }
        );

        let body = body_of_last(&server).await;
        assert_eq!(body["messages"][0], json!({"role": "system", "content": "Be brief."}), "{kind:?}");
        assert_eq!(body["messages"][1], json!({"role": "user", "content": "Say hi"}));
        assert!((body["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-6);
        assert!((body["top_p"].as_f64().unwrap() - 0.5).abs() < 1e-6);
        assert_eq!(body["stop"], json!(["\n\n"]));
        assert_eq!(body["seed"], 7);
        assert!((body["presence_penalty"].as_f64().unwrap() - 0.5).abs() < 1e-6);
        assert!(body.get("stream").is_none());
        match kind {
            ProviderKind::OpenAi | ProviderKind::Azure => {
                assert_eq!(body["max_completion_tokens"], 64);
                assert!(body.get("top_k").is_none(), "OpenAI has no top_k");
            }
            ProviderKind::DashScope => {
                assert_eq!(body["max_tokens"], 64);
                assert_eq!(body["top_k"], 10);
                assert!((body["repetition_penalty"].as_f64().unwrap() - 1.1).abs() < 1e-6);
            }
            _ => {
                assert_eq!(body["max_tokens"], 64);
                assert_eq!(body["top_k"], 10);
                assert!((body["repeat_penalty"].as_f64().unwrap() - 1.1).abs() < 1e-6);
            }
        }
        if kind == ProviderKind::Azure {
            assert!(body.get("model").is_none(), "Azure names the deployment in the path");
            let reqs = server.received_requests().await.unwrap();
            assert_eq!(reqs[0].url.query(), Some("api-version=2024-10-21"));
        } else {
            assert_eq!(body["model"], "gpt4o-prod");
        }
    }
}

#[tokio::test]
async fn openai_stream_delivers_pieces_and_final_usage() {
    let server = MockServer::start().await;
    mount(&server, ProviderKind::OpenAi, true, openai_stream(true)).await;
    let p = provider(ProviderKind::OpenAi, &server);
    let (pieces, res) = stream(p.as_ref(), &request()).await;
    let res = res.unwrap();
    assert_eq!(pieces, ["Hi", " there."]);
    assert_eq!(res.text, "Hi there.");
    assert_eq!(res.usage.input_tokens, 19);
    assert_eq!(res.usage.output_tokens, 3);
    let body = body_of_last(&server).await;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn openai_stream_cut_before_done_is_an_error_after_the_partial_text() {
    let server = MockServer::start().await;
    mount(&server, ProviderKind::OpenAiCompatible, true, openai_stream(false)).await;
    let p = provider(ProviderKind::OpenAiCompatible, &server);
    let (pieces, res) = stream(p.as_ref(), &request()).await;
    assert_eq!(pieces, ["Hi", " there."]);
    let err = res.unwrap_err();
    assert_eq!(err.kind, ErrorKind::StreamCut);
    assert!(err.message.contains("incomplete"), "{}", err.message);
}

#[tokio::test]
async fn openai_images_go_as_data_url_parts_and_schema_as_response_format() {
    let server = MockServer::start().await;
    mount(&server, ProviderKind::OpenAi, false, ResponseTemplate::new(200).set_body_json(openai_completion())).await;
    let p = provider(ProviderKind::OpenAi, &server);
    let mut req = request();
    req.messages[1].images.push(ImageInput { mime_type: "image/png".into(), base64: "iVBORw0KGgo=".into() });
    req.json_schema = Some(r#"{"type":"object","properties":{"a":{"type":"string"}}}"#.into());
    p.chat(&req, None).await.unwrap();
    let body = body_of_last(&server).await;
    assert_eq!(
        body["messages"][1]["content"],
        json!([{"type": "text", "text": "Say hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}])
    );
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["schema"]["type"], "object");
}

#[tokio::test]
async fn a_server_that_ignores_stream_still_answers_through_the_sink() {
    let server = MockServer::start().await;
    mount(&server, ProviderKind::OpenAiCompatible, true, ResponseTemplate::new(200).set_body_json(openai_completion()))
        .await;
    let (pieces, res) = stream(provider(ProviderKind::OpenAiCompatible, &server).as_ref(), &request()).await;
    assert_eq!(pieces, ["Hi there."]);
    assert_eq!(res.unwrap().usage.input_tokens, 19);
}

#[tokio::test]
async fn openai_mid_stream_error_event_is_reported() {
    let server = MockServer::start().await;
    let body = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"error\":{\"message\":\"model crashed\",\"type\":\"server_error\"}}\n\n";
    mount(&server, ProviderKind::OpenAiCompatible, true, ResponseTemplate::new(200).set_body_string(body)).await;
    let p = provider(ProviderKind::OpenAiCompatible, &server);
    let (_, res) = stream(p.as_ref(), &request()).await;
    let err = res.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Server);
    assert!(err.message.contains("model crashed"));
}

#[tokio::test]
async fn model_lists() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}, {"id": "gpt-4o", "object": "model"}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"}],
            "has_more": false, "first_id": "claude-sonnet-4-5", "last_id": "claude-sonnet-4-5"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models"))
        .and(header("x-goog-api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"models": [
            {"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash", "inputTokenLimit": 1048576,
             "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/tags"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"models": [
            {"name": "qwen3:32b", "model": "qwen3:32b", "size": 20000000000u64,
             "details": {"family": "qwen3", "families": ["qwen3"], "parameter_size": "32.8B", "quantization_level": "Q4_K_M"}},
            {"name": "llava:7b", "details": {"families": ["llama", "clip"], "parameter_size": "7B"}}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/openai/models"))
        .and(query_param("api-version", "2024-10-21"))
        .and(header("api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "gpt-4o"}]})))
        .mount(&server)
        .await;

    let ids = |models: Vec<switchboard_providers::RemoteModel>| models.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(provider(ProviderKind::OpenAi, &server).list_models().await.unwrap()), ["gpt-4o-mini", "gpt-4o"]);
    let claude = provider(ProviderKind::Anthropic, &server).list_models().await.unwrap();
    assert_eq!(claude[0].display_name.as_deref(), Some("Claude Sonnet 4.5"));
    let gemini = provider(ProviderKind::Gemini, &server).list_models().await.unwrap();
    assert_eq!(ids(gemini.clone()), ["gemini-2.5-flash"], "embedding-only models are not chat models");
    assert_eq!(gemini[0].context_length, Some(1048576));
    let ollama = provider(ProviderKind::Ollama, &server).list_models().await.unwrap();
    assert_eq!(ollama[0].display_name.as_deref(), Some("32.8B Q4_K_M"));
    assert_eq!(ollama[1].vision, Some(true));
    assert_eq!(ids(provider(ProviderKind::Azure, &server).list_models().await.unwrap()), ["gpt4o-prod", "mini"]);
}

// ---------------------------------------------------------------- Anthropic

#[tokio::test]
async fn anthropic_plain_answer_and_request_shape() {
    let server = MockServer::start().await;
    let answer = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hi there."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 4, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 0}
    });
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let p = provider(ProviderKind::Anthropic, &server);
    let mut req = request();
    req.messages[1].images.push(ImageInput { mime_type: "image/jpeg".into(), base64: "/9j/4AAQ".into() });
    let res = p.chat(&req, None).await.unwrap();
    assert_eq!(res.text, "Hi there.");
    assert_eq!(res.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(res.usage, Usage { input_tokens: 112, output_tokens: 4, cached_input_tokens: 100, reasoning_tokens: 0 });
    let body = body_of_last(&server).await;
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["top_k"], 10);
    assert_eq!(body["stop_sequences"], json!(["\n\n"]));
    assert_eq!(body["messages"].as_array().unwrap().len(), 1, "the system prompt is not a turn");
    assert_eq!(
        body["messages"][0]["content"][0],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}})
    );
    assert_eq!(body["messages"][0]["content"][1], json!({"type": "text", "text": "Say hi"}));
}

fn anthropic_events(complete: bool) -> Vec<(&'static str, Value)> {
    let mut events = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5", "stop_reason": null, "usage": {"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 5}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " there."}}),
        ),
    ];
    if complete {
        events.extend([
            ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
            ("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 15}})),
            ("message_stop", json!({"type": "message_stop"})),
        ]);
    }
    events
}

#[tokio::test]
async fn anthropic_stream_events_and_usage() {
    let server = MockServer::start().await;
    mount(&server, ProviderKind::Anthropic, true, sse(&anthropic_events(true))).await;
    let p = provider(ProviderKind::Anthropic, &server);
    let (pieces, res) = stream(p.as_ref(), &request()).await;
    let res = res.unwrap();
    assert_eq!(pieces, ["Hi", " there."]);
    assert_eq!(res.usage, Usage { input_tokens: 30, output_tokens: 15, cached_input_tokens: 5, reasoning_tokens: 0 });
    assert_eq!(res.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(body_of_last(&server).await["stream"], true);

    let cut = MockServer::start().await;
    mount(&cut, ProviderKind::Anthropic, true, sse(&anthropic_events(false))).await;
    let (pieces, res) = stream(provider(ProviderKind::Anthropic, &cut).as_ref(), &request()).await;
    assert_eq!(pieces.concat(), "Hi there.");
    assert_eq!(res.unwrap_err().kind, ErrorKind::StreamCut);
}

#[tokio::test]
async fn anthropic_overloaded_error_event_mid_stream() {
    let server = MockServer::start().await;
    let mut events = anthropic_events(false);
    events.push(("error", json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})));
    mount(&server, ProviderKind::Anthropic, true, sse(&events)).await;
    let (_, res) = stream(provider(ProviderKind::Anthropic, &server).as_ref(), &request()).await;
    let err = res.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert_eq!(err.action(), ErrorAction::TryNext);
    assert!(err.message.contains("Overloaded"));
}

// ---------------------------------------------------------------- Gemini

fn gemini_chunk(text: &str, finish: Option<&str>, usage: Option<Value>) -> Value {
    let mut cand = json!({"content": {"role": "model", "parts": [{"text": text}]}, "index": 0});
    if let Some(f) = finish {
        cand["finishReason"] = json!(f);
    }
    let mut v = json!({"candidates": [cand], "modelVersion": "gemini-2.5-flash"});
    if let Some(u) = usage {
        v["usageMetadata"] = u;
    }
    v
}

#[tokio::test]
async fn gemini_plain_and_streamed() {
    let server = MockServer::start().await;
    let usage = json!({"promptTokenCount": 11, "candidatesTokenCount": 3, "thoughtsTokenCount": 20, "cachedContentTokenCount": 2, "totalTokenCount": 34});
    mount(
        &server,
        ProviderKind::Gemini,
        false,
        ResponseTemplate::new(200).set_body_json(gemini_chunk("Hi there.", Some("STOP"), Some(usage.clone()))),
    )
    .await;
    let p = provider(ProviderKind::Gemini, &server);
    let mut req = request();
    req.messages[1].images.push(ImageInput { mime_type: "image/webp".into(), base64: "UklGR".into() });
    let res = p.chat(&req, None).await.unwrap();
    assert_eq!(res.text, "Hi there.");
    assert_eq!(res.usage, Usage { input_tokens: 11, output_tokens: 23, cached_input_tokens: 2, reasoning_tokens: 20 });
    let body = body_of_last(&server).await;
    assert_eq!(body["systemInstruction"], json!({"parts": [{"text": "Be brief."}]}));
    assert_eq!(body["contents"][0]["role"], "user");
    assert_eq!(body["contents"][0]["parts"][1], json!({"inline_data": {"mime_type": "image/webp", "data": "UklGR"}}));
    let cfg = &body["generationConfig"];
    assert_eq!(cfg["maxOutputTokens"], 64);
    assert_eq!(cfg["topK"], 10);
    assert_eq!(cfg["stopSequences"], json!(["\n\n"]));
    assert_eq!(cfg["seed"], 7);
    let reqs = server.received_requests().await.unwrap();
    assert!(!reqs[0].url.as_str().contains(KEY), "the key never rides in the URL");

    let streamed = MockServer::start().await;
    let events = [("", gemini_chunk("Hi", None, None)), ("", gemini_chunk(" there.", Some("STOP"), Some(usage)))];
    Mock::given(method("POST"))
        .and(path(chat_path(ProviderKind::Gemini, true)))
        .and(query_param("alt", "sse"))
        .and(header("x-goog-api-key", KEY))
        .respond_with(sse(&events))
        .mount(&streamed)
        .await;
    let (pieces, res) = stream(provider(ProviderKind::Gemini, &streamed).as_ref(), &request()).await;
    assert_eq!(pieces, ["Hi", " there."]);
    assert_eq!(res.unwrap().usage.output_tokens, 23);

    let cut = MockServer::start().await;
    mount(&cut, ProviderKind::Gemini, true, sse(&events[..1])).await;
    let (_, res) = stream(provider(ProviderKind::Gemini, &cut).as_ref(), &request()).await;
    assert_eq!(res.unwrap_err().kind, ErrorKind::StreamCut);
}

#[tokio::test]
async fn gemini_blocked_prompt_is_a_clear_error() {
    let server = MockServer::start().await;
    let body = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 5}});
    mount(&server, ProviderKind::Gemini, false, ResponseTemplate::new(200).set_body_json(body)).await;
    let err = provider(ProviderKind::Gemini, &server).chat(&request(), None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert!(err.message.contains("SAFETY"));
}

// ---------------------------------------------------------------- Ollama

#[tokio::test]
async fn ollama_chat_options_images_and_ndjson_stream() {
    let server = MockServer::start().await;
    let lines = [
        json!({"model": "qwen3:32b", "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": "Hi"}, "done": false}),
        json!({"model": "qwen3:32b", "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": " there."}, "done": false}),
        json!({"model": "qwen3:32b", "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": ""}, "done": true,
               "done_reason": "stop", "total_duration": 1000, "prompt_eval_count": 26, "eval_count": 9}),
    ];
    let ndjson: String = lines.iter().map(|l| format!("{l}\n")).collect();
    mount(&server, ProviderKind::Ollama, true, ResponseTemplate::new(200).set_body_string(ndjson)).await;
    let p = provider(ProviderKind::Ollama, &server);
    let mut req = request();
    req.messages[1].images.push(ImageInput { mime_type: "image/png".into(), base64: "iVBORw0KGgo=".into() });
    req.json_schema = Some(r#"{"type":"object"}"#.into());
    let (pieces, res) = stream(p.as_ref(), &req).await;
    let res = res.unwrap();
    assert_eq!(pieces, ["Hi", " there."]);
    assert_eq!(res.usage, Usage { input_tokens: 26, output_tokens: 9, ..Usage::default() });
    assert_eq!(res.finish_reason.as_deref(), Some("stop"));
    let body = body_of_last(&server).await;
    assert_eq!(body["messages"][1]["images"], json!(["iVBORw0KGgo="]));
    assert_eq!(body["format"], json!({"type": "object"}));
    let o = &body["options"];
    assert_eq!(o["num_predict"], 64);
    assert_eq!(o["top_k"], 10);
    assert_eq!(o["seed"], 7);
    assert!((o["repeat_penalty"].as_f64().unwrap() - 1.1).abs() < 1e-6);
    assert_eq!(o["stop"], json!(["\n\n"]));

    let cut = MockServer::start().await;
    let partial: String = lines[..2].iter().map(|l| format!("{l}\n")).collect();
    mount(&cut, ProviderKind::Ollama, true, ResponseTemplate::new(200).set_body_string(partial)).await;
    let (_, res) = stream(provider(ProviderKind::Ollama, &cut).as_ref(), &request()).await;
    assert_eq!(res.unwrap_err().kind, ErrorKind::StreamCut);
}

#[tokio::test]
async fn ollama_probe_uses_generate_for_one_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/tags"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"models": [{"name": "llava:7b"}]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/generate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"model": "llava:7b", "response": "OK", "done": true, "prompt_eval_count": 8, "eval_count": 1}),
        ))
        .mount(&server)
        .await;
    let report = provider(ProviderKind::Ollama, &server).probe(None).await.unwrap();
    assert_eq!(report.model_count, 1);
    assert_eq!(report.completion_model.as_deref(), Some("llava:7b"));
    let body = body_of_last(&server).await;
    assert_eq!(body["options"]["num_predict"], 1);
    assert_eq!(body["prompt"], "Say OK.");
}

// ---------------------------------------------------------------- errors, every adapter

#[tokio::test]
async fn http_errors_are_classified_for_every_adapter() {
    for kind in ProviderKind::ALL {
        let cases: Vec<(ResponseTemplate, ErrorKind, ErrorAction)> = vec![
            (
                ResponseTemplate::new(401).set_body_json(json!({"error": {"message": format!("Incorrect API key provided: {KEY}"), "type": "invalid_request_error"}})),
                ErrorKind::Auth,
                ErrorAction::FailFast,
            ),
            (
                ResponseTemplate::new(429).insert_header("retry-after", "3").set_body_json(json!({"error": {"message": "Rate limit reached"}})),
                ErrorKind::RateLimited,
                ErrorAction::RetrySame,
            ),
            (ResponseTemplate::new(500).set_body_string("internal error"), ErrorKind::Server, ErrorAction::RetrySame),
            (
                ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "This model's maximum context length is 8192 tokens", "code": "context_length_exceeded"}})),
                ErrorKind::ContextTooLong,
                ErrorAction::TryNext,
            ),
            (
                ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "temperature must be <= 2"}})),
                ErrorKind::InvalidRequest,
                ErrorAction::FailFast,
            ),
            (ResponseTemplate::new(200).set_body_string("{\"choices\": [ {\"mess"), ErrorKind::BadResponse, ErrorAction::TryNext),
        ];
        for (response, expected, action) in cases {
            let server = MockServer::start().await;
            mount(&server, kind, false, response).await;
            let err = provider(kind, &server).chat(&request(), None).await.unwrap_err();
            assert_eq!(err.kind, expected, "{kind:?}: {}", err.message);
            assert_eq!(err.action(), action);
            assert!(!err.message.contains(KEY), "{kind:?} leaked the key: {}", err.message);
            if expected == ErrorKind::RateLimited {
                assert_eq!(err.retry_after, Some(Duration::from_secs(3)), "{kind:?}");
            }
        }
    }
}

#[tokio::test]
async fn unreachable_and_slow_providers() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = Endpoint {
        kind: ProviderKind::OpenAiCompatible,
        base_url: format!("http://127.0.0.1:{port}/v1"),
        api_key: None,
        azure_deployment: None,
        azure_api_version: None,
        allow_http: true,
    };
    let err = adapter(endpoint, reqwest::Client::new()).unwrap().chat(&request(), None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert_eq!(err.action(), ErrorAction::TryNext);

    let server = MockServer::start().await;
    mount(&server, ProviderKind::OpenAi, false, ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).await;
    let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let endpoint = Endpoint {
        kind: ProviderKind::OpenAi,
        base_url: format!("{}/v1", server.uri()),
        api_key: Some(KEY.into()),
        azure_deployment: None,
        azure_api_version: None,
        allow_http: true,
    };
    let err = adapter(endpoint, client).unwrap().chat(&request(), None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(err.action(), ErrorAction::RetrySame);
}

#[test]
fn endpoint_debug_hides_the_key() {
    let e = Endpoint {
        kind: ProviderKind::OpenAi,
        base_url: "https://api.openai.com/v1".into(),
        api_key: Some(KEY.into()),
        azure_deployment: None,
        azure_api_version: None,
        allow_http: true,
    };
    assert!(!format!("{e:?}").contains(KEY));
}

// ---------------------------------------------------------------- bounded and hostile replies

fn endpoint_at(kind: ProviderKind, base_url: String) -> Endpoint {
    Endpoint {
        kind,
        base_url,
        api_key: Some(KEY.into()),
        azure_deployment: Some("gpt4o-prod".into()),
        azure_api_version: Some("2024-10-21".into()),
        allow_http: true,
    }
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_key_stays_with_the_configured_host() {
    for kind in [ProviderKind::Anthropic, ProviderKind::Gemini, ProviderKind::Azure, ProviderKind::OpenAi] {
        let elsewhere = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_json(openai_completion()))
            .mount(&elsewhere)
            .await;
        let configured = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(
                ResponseTemplate::new(307).insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
            )
            .mount(&configured)
            .await;
        let base = if kind == ProviderKind::OpenAi { format!("{}/v1", configured.uri()) } else { configured.uri() };
        let p = adapter(endpoint_at(kind, base), switchboard_providers::client()).unwrap();
        let err = p.chat(&request(), None).await.unwrap_err();
        assert!(err.message.contains("redirect") && err.message.contains("/steal"), "{kind:?}: {}", err.message);
        assert_eq!(err.action(), ErrorAction::FailFast, "{kind:?}: the admin has to fix the base URL");
        assert!(elsewhere.received_requests().await.unwrap().is_empty(), "{kind:?}: the key went to another host");
    }
}

#[tokio::test]
async fn oversized_lines_events_and_bodies_are_refused_not_buffered() {
    // One SSE line of 5 MiB with no end in sight.
    let server = MockServer::start().await;
    let huge = format!("data: {}", "x".repeat(5 * 1024 * 1024));
    mount(
        &server,
        ProviderKind::OpenAi,
        true,
        ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(huge),
    )
    .await;
    let p = provider(ProviderKind::OpenAi, &server);
    let (_, res) = stream(p.as_ref(), &request()).await;
    let err = res.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadResponse);
    assert!(err.message.contains("larger than 4 MiB"), "{}", err.message);

    // An NDJSON line (Ollama) likewise.
    let server = MockServer::start().await;
    mount(&server, ProviderKind::Ollama, true, ResponseTemplate::new(200).set_body_string("{".repeat(5 * 1024 * 1024)))
        .await;
    let p = provider(ProviderKind::Ollama, &server);
    let (_, res) = stream(p.as_ref(), &request()).await;
    assert!(res.unwrap_err().message.contains("larger than"));

    // One event made of many small data lines.
    let server = MockServer::start().await;
    let line = format!("data: {}\n", "y".repeat(1024 * 1024));
    mount(
        &server,
        ProviderKind::Anthropic,
        true,
        ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(line.repeat(10)),
    )
    .await;
    let p = provider(ProviderKind::Anthropic, &server);
    let (_, res) = stream(p.as_ref(), &request()).await;
    assert!(res.unwrap_err().message.contains("larger than 8 MiB"));

    // A whole answer of 40 MiB.
    let server = MockServer::start().await;
    let body = format!(r#"{{"padding":"{}"}}"#, "z".repeat(40 * 1024 * 1024));
    mount(&server, ProviderKind::OpenAi, false, ResponseTemplate::new(200).set_body_string(body)).await;
    let p = provider(ProviderKind::OpenAi, &server);
    let err = p.chat(&request(), None).await.unwrap_err();
    assert!(err.message.contains("larger than 32 MiB"), "{}", err.message);
}

#[tokio::test]
async fn a_model_name_cannot_change_the_url_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/evil%2F..%2F..%2Fadmin%3Fx%3D1:generateContent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"parts": [{"text": "ok"}], "role": "model"}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1}
        })))
        .mount(&server)
        .await;
    let p = adapter(endpoint_at(ProviderKind::Gemini, server.uri()), switchboard_providers::client()).unwrap();
    let mut req = request();
    req.model = "evil/../../admin?x=1".into();
    let answer = p.chat(&req, None).await.expect("the name travels as one encoded segment");
    assert_eq!(answer.text, "ok");
}

#[test]
fn plain_http_to_another_machine_needs_the_admins_choice_for_every_kind() {
    for kind in [ProviderKind::Ollama, ProviderKind::OpenAiCompatible, ProviderKind::OpenAi, ProviderKind::Anthropic] {
        let mut e = endpoint_at(kind, "http://192.168.7.7:8000".into());
        e.allow_http = false;
        let err = adapter(e.clone(), switchboard_providers::client()).err().expect("refused");
        assert!(err.message.contains("http"), "{kind:?}: {}", err.message);
        e.allow_http = true;
        assert!(adapter(e, switchboard_providers::client()).is_ok());
    }
}

/// A seeded mutation loop over each streaming wire format (SSE for OpenAI,
/// Anthropic and Gemini, NDJSON for Ollama): flipped bytes, cut lines, huge
/// numbers, broken JSON. Every reply ends as an answer or an error, never a panic.
#[tokio::test]
async fn mutated_streams_end_as_answers_or_errors_never_a_panic() {
    let mut seed = 0x853c_49e6_748f_ea9bu64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let anthropic_body: String =
        anthropic_events(true).iter().map(|(e, d)| format!("event: {e}\ndata: {d}\n\n")).collect();
    let gemini_body: String = [
        gemini_chunk("Hello", None, None),
        gemini_chunk(" there", Some("STOP"), Some(json!({"promptTokenCount": 7, "candidatesTokenCount": 2}))),
    ]
    .iter()
    .map(|c| format!("data: {c}\n\n"))
    .collect();
    let ollama_body = [
        json!({"model": "m", "message": {"role": "assistant", "content": "Hi"}, "done": false}),
        json!({"model": "m", "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop", "prompt_eval_count": 5, "eval_count": 1}),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect::<String>();
    let openai_body = {
        let resp = openai_stream(true);
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any()).respond_with(resp).mount(&server).await;
        reqwest::get(server.uri()).await.unwrap().text().await.unwrap()
    };
    let splices: [&[u8]; 8] =
        [b"\n", b"\n\n", b"data: ", b"{", b"}", b"1e999", b"\"\\ud800\"", b"18446744073709551616"];
    for (kind, body) in [
        (ProviderKind::OpenAi, openai_body),
        (ProviderKind::Anthropic, anthropic_body),
        (ProviderKind::Gemini, gemini_body),
        (ProviderKind::Ollama, ollama_body),
    ] {
        let bodies: Vec<Vec<u8>> = (0..250)
            .map(|_| {
                let mut b = body.clone().into_bytes();
                for _ in 0..1 + next() % 3 {
                    if b.is_empty() {
                        break;
                    }
                    let at = (next() as usize) % b.len();
                    match next() % 4 {
                        0 => b[at] ^= 1 << (next() % 8),
                        1 => b.truncate(at),
                        2 => {
                            let s = splices[(next() % 8) as usize];
                            b.splice(at..at, s.iter().copied());
                        }
                        _ => {
                            let end = (at + (next() % 40) as usize).min(b.len());
                            b.drain(at..end);
                        }
                    }
                }
                b
            })
            .collect();
        let server = MockServer::start().await;
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (bodies, counter) = (std::sync::Arc::new(bodies), served.clone());
        let replies = bodies.clone();
        Mock::given(method("POST"))
            .respond_with(move |_: &Request| {
                let i = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ResponseTemplate::new(200)
                    .insert_header("content-type", "text/event-stream")
                    .set_body_bytes(replies[i % replies.len()].clone())
            })
            .mount(&server)
            .await;
        let p = provider(kind, &server);
        let (mut answered, mut failed) = (0, 0);
        for _ in 0..bodies.len() {
            match stream(p.as_ref(), &request()).await.1 {
                Ok(_) => answered += 1,
                Err(e) => {
                    assert!(!e.message.is_empty());
                    failed += 1;
                }
            }
        }
        assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), bodies.len());
        assert!(failed > 0 && answered + failed == bodies.len(), "{kind:?}: {answered} answered, {failed} failed");
    }
}
