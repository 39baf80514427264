//! `bench-upstream PORT`: the gateway benchmark's fake OpenAI-compatible
//! upstream on 127.0.0.1: `GET /v1/models` and `POST /v1/chat/completions`
//! answering a fixed small reply at once (as SSE when `stream` is true, with
//! usage), so that what is measured in front of it is the gateway alone.

use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

const REPLY: &str = "The quick brown fox jumps over the lazy dog.";

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": "bench-model", "object": "model", "owned_by": "bench"}]}))
}

async fn chat(Json(body): Json<Value>) -> Response {
    let usage = json!({"prompt_tokens": 12, "completion_tokens": 10, "total_tokens": 22});
    if body.get("stream").and_then(Value::as_bool) != Some(true) {
        return Json(json!({
            "id": "bench", "object": "chat.completion", "created": 0, "model": "bench-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
            "usage": usage,
        }))
        .into_response();
    }
    let mut sse = String::new();
    for piece in REPLY.split_inclusive(' ') {
        let chunk = json!({"id": "bench", "object": "chat.completion.chunk", "created": 0, "model": "bench-model",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        sse.push_str(&format!("data: {chunk}\n\n"));
    }
    let last = json!({"id": "bench", "object": "chat.completion.chunk", "created": 0, "model": "bench-model",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage});
    sse.push_str(&format!("data: {last}\n\ndata: [DONE]\n\n"));
    ([(axum::http::header::CONTENT_TYPE, "text/event-stream")], sse).into_response()
}

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(p)) => p,
        _ => {
            eprintln!("usage: bench-upstream PORT");
            std::process::exit(2);
        }
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime");
    runtime.block_on(async move {
        let app = Router::new().route("/v1/models", get(models)).route("/v1/chat/completions", post(chat));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the port is free");
        println!("listening on http://127.0.0.1:{port}");
        axum::serve(listener, app).await.expect("serving");
    });
}
