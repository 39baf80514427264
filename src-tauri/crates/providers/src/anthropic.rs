//! Anthropic's Messages API: `x-api-key` and `anthropic-version` headers, the
//! system prompt apart from the turns, images as base64 blocks, and its
//! typed SSE events (message_start, content_block_delta, message_delta, ...).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::http::Http;
use crate::stream::Sse;
use crate::{
    ChatRequest, ChatResponse, Endpoint, ErrorKind, Provider, ProviderError, ProviderKind, RemoteModel, Role, TextSink,
    Usage,
};

const API_VERSION: &str = "2023-06-01";

pub(crate) struct AnthropicAdapter {
    base: String,
    http: Http,
}

impl AnthropicAdapter {
    pub fn new(endpoint: Endpoint, client: reqwest::Client) -> Self {
        Self {
            base: endpoint.base_url.trim().trim_end_matches('/').to_string(),
            http: Http { client, key: endpoint.api_key },
        }
    }

    fn request(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let req = req.header("anthropic-version", API_VERSION);
        match &self.http.key {
            Some(key) => req.header("x-api-key", key),
            None => req,
        }
    }

    fn body(&self, req: &ChatRequest, stream: bool) -> Value {
        let p = &req.params;
        let messages: Vec<Value> = req
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| {
                let mut content: Vec<Value> = m
                    .images
                    .iter()
                    .map(|img| json!({"type": "image", "source": {"type": "base64", "media_type": img.mime_type, "data": img.base64}}))
                    .collect();
                content.push(json!({"type": "text", "text": m.text}));
                json!({"role": m.role, "content": content})
            })
            .collect();
        let mut body = Map::new();
        body.insert("model".into(), json!(req.model));
        body.insert("max_tokens".into(), json!(p.max_tokens));
        if let Some(system) = req.system_text() {
            body.insert("system".into(), json!(system));
        }
        body.insert("messages".into(), Value::Array(messages));
        body.insert("temperature".into(), json!(p.temperature.min(1.0)));
        body.insert("top_p".into(), json!(p.top_p));
        body.insert("top_k".into(), json!(p.top_k));
        if !p.stop.is_empty() {
            body.insert("stop_sequences".into(), json!(p.stop));
        }
        if stream {
            body.insert("stream".into(), json!(true));
        }
        Value::Object(body)
    }

    async fn post(&self, req: &ChatRequest, stream: bool) -> Result<reqwest::Response, ProviderError> {
        let url = format!("{}/v1/messages", self.base);
        self.http.send(self.request(self.http.client.post(url)).json(&self.body(req, stream))).await
    }

    async fn stream(&self, req: &ChatRequest, sink: TextSink<'_>) -> Result<ChatResponse, ProviderError> {
        let mut events = Sse::new(self.post(req, true).await?);
        let mut out = ChatResponse { text: String::new(), usage: Usage::default(), finish_reason: None };
        while let Some(ev) = events.next(&self.http).await? {
            let data: Value =
                serde_json::from_str(&ev.data).map_err(|e| self.http.scrub(ProviderError::bad_response(e)))?;
            let kind = ev.event.as_deref().or_else(|| data.get("type").and_then(Value::as_str)).unwrap_or_default();
            match kind {
                "message_start" => {
                    if let Some(u) = data.pointer("/message/usage") {
                        let u: WireUsage = serde_json::from_value(u.clone()).map_err(ProviderError::bad_response)?;
                        out.usage = u.into();
                        req.meter.set(out.usage);
                    }
                }
                "content_block_delta" => {
                    if let Some(text) = data.pointer("/delta/text").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                        sink(text);
                        out.text.push_str(text);
                    }
                }
                "message_delta" => {
                    if let Some(reason) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                        out.finish_reason = Some(reason.to_string());
                    }
                    if let Some(n) = data.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                        out.usage.output_tokens = n as u32;
                        req.meter.set(out.usage);
                    }
                }
                "message_stop" => return Ok(out),
                "error" => return Err(self.http.scrub(stream_error(&data))),
                _ => {} // ping, content_block_start/stop, and event types added later
            }
        }
        Err(ProviderError::new(
            ErrorKind::StreamCut,
            "the provider's stream ended before message_stop: the answer is incomplete",
        ))
    }
}

fn stream_error(data: &Value) -> ProviderError {
    let kind_name = data.pointer("/error/type").and_then(Value::as_str).unwrap_or("error");
    let message = data.pointer("/error/message").and_then(Value::as_str).unwrap_or("no details");
    let kind = match kind_name {
        "overloaded_error" => ErrorKind::Unavailable,
        "rate_limit_error" => ErrorKind::RateLimited,
        "authentication_error" | "permission_error" => ErrorKind::Auth,
        "invalid_request_error" => ErrorKind::InvalidRequest,
        _ => ErrorKind::Server,
    };
    ProviderError::new(kind, format!("the provider failed mid-stream ({kind_name}): {message}"))
}

#[async_trait]
impl Provider for AnthropicAdapter {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    async fn chat(&self, req: &ChatRequest, sink: Option<TextSink<'_>>) -> Result<ChatResponse, ProviderError> {
        if let Some(sink) = sink {
            return self.stream(req, sink).await;
        }
        let resp = self.post(req, false).await?;
        let msg: Message = self.http.json(resp).await?;
        let text = msg.content.iter().filter(|b| b.kind == "text").filter_map(|b| b.text.as_deref()).collect();
        Ok(ChatResponse { text, usage: msg.usage.into(), finish_reason: msg.stop_reason })
    }

    async fn list_models(&self) -> Result<Vec<RemoteModel>, ProviderError> {
        let url = format!("{}/v1/models", self.base);
        let resp = self.http.send(self.request(self.http.client.get(url)).query(&[("limit", "1000")])).await?;
        let list: ModelList = self.http.json(resp).await?;
        Ok(list
            .data
            .into_iter()
            // Every current Claude model reads images.
            .map(|m| RemoteModel { id: m.id, display_name: m.display_name, vision: Some(true), context_length: None })
            .collect())
    }
}

#[derive(Deserialize)]
struct Message {
    content: Vec<Block>,
    stop_reason: Option<String>,
    usage: WireUsage,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

/// Anthropic counts cached input apart from `input_tokens`; ours is the total.
#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u32,
    #[serde(default)]
    output_tokens: u32,
    #[serde(default)]
    cache_read_input_tokens: Option<u32>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u32>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        let cached = u.cache_read_input_tokens.unwrap_or(0);
        Usage {
            input_tokens: u.input_tokens + cached + u.cache_creation_input_tokens.unwrap_or(0),
            output_tokens: u.output_tokens,
            cached_input_tokens: cached,
            reasoning_tokens: 0,
        }
    }
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<WireModel>,
}

#[derive(Deserialize)]
struct WireModel {
    id: String,
    display_name: Option<String>,
}
