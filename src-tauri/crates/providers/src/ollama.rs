//! Ollama's native API: /api/chat and /api/generate (images as base64 in
//! `images`), /api/tags, newline-delimited JSON streaming, and its own option
//! names (num_predict, repeat_penalty, ...).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::http::Http;
use crate::stream::Lines;
use crate::{
    ChatRequest, ChatResponse, Endpoint, ErrorKind, Provider, ProviderError, ProviderKind, RemoteModel, TextSink, Usage,
};

pub(crate) struct OllamaAdapter {
    base: String,
    http: Http,
}

impl OllamaAdapter {
    pub fn new(endpoint: Endpoint, client: reqwest::Client) -> Self {
        Self {
            base: endpoint.base_url.trim().trim_end_matches('/').to_string(),
            http: Http { client, key: endpoint.api_key },
        }
    }

    /// A key is optional: Ollama behind an authenticating proxy, or ollama.com.
    fn request(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.http.key {
            Some(key) => req.bearer_auth(key),
            None => req,
        }
    }

    fn options(req: &ChatRequest) -> Value {
        let p = &req.params;
        let mut o = Map::new();
        o.insert("temperature".into(), json!(p.temperature));
        o.insert("top_k".into(), json!(p.top_k));
        o.insert("top_p".into(), json!(p.top_p));
        o.insert("min_p".into(), json!(p.min_p));
        o.insert("num_predict".into(), json!(p.max_tokens));
        o.insert("repeat_penalty".into(), json!(p.repeat_penalty));
        o.insert("presence_penalty".into(), json!(p.presence_penalty));
        o.insert("frequency_penalty".into(), json!(p.frequency_penalty));
        if let Some(seed) = p.seed {
            o.insert("seed".into(), json!(seed));
        }
        if !p.stop.is_empty() {
            o.insert("stop".into(), json!(p.stop));
        }
        Value::Object(o)
    }

    fn chat_body(req: &ChatRequest, stream: bool) -> Value {
        let messages: Vec<Value> = req
            .messages
            .iter()
            .map(|m| {
                let mut msg = json!({"role": m.role, "content": m.text});
                if !m.images.is_empty() {
                    msg["images"] = json!(m.images.iter().map(|i| &i.base64).collect::<Vec<_>>());
                }
                msg
            })
            .collect();
        let mut body =
            json!({"model": req.model, "messages": messages, "stream": stream, "options": Self::options(req)});
        if let Some(schema) = req.schema_value() {
            body["format"] = schema;
        }
        body
    }

    /// A single prompt through /api/generate (images ride on the prompt).
    pub async fn generate(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let prompt = req.messages.iter().rev().find(|m| m.role != crate::Role::System);
        let mut body = json!({
            "model": req.model,
            "prompt": prompt.map(|m| m.text.as_str()).unwrap_or_default(),
            "stream": false,
            "options": Self::options(req),
        });
        if let Some(system) = req.system_text() {
            body["system"] = json!(system);
        }
        if let Some(m) = prompt.filter(|m| !m.images.is_empty()) {
            body["images"] = json!(m.images.iter().map(|i| &i.base64).collect::<Vec<_>>());
        }
        let url = format!("{}/api/generate", self.base);
        let resp = self.http.send(self.request(self.http.client.post(url)).json(&body)).await?;
        let line: Line = self.http.json(resp).await?;
        line.check(&self.http)?;
        let usage = line.usage();
        Ok(ChatResponse { text: line.response.unwrap_or_default(), usage, finish_reason: line.done_reason })
    }
}

#[async_trait]
impl Provider for OllamaAdapter {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Ollama
    }

    async fn chat(&self, req: &ChatRequest, sink: Option<TextSink<'_>>) -> Result<ChatResponse, ProviderError> {
        let url = format!("{}/api/chat", self.base);
        let stream = sink.is_some();
        let resp = self.http.send(self.request(self.http.client.post(url)).json(&Self::chat_body(req, stream))).await?;
        let Some(sink) = sink else {
            let line: Line = self.http.json(resp).await?;
            line.check(&self.http)?;
            let text = line.message.as_ref().map(|m| m.content.clone()).unwrap_or_default();
            return Ok(ChatResponse { text, usage: line.usage(), finish_reason: line.done_reason });
        };
        let mut lines = Lines::new(resp);
        let mut text = String::new();
        while let Some(raw) = lines.next(&self.http).await? {
            if raw.trim().is_empty() {
                continue;
            }
            let line: Line = serde_json::from_str(&raw).map_err(|e| self.http.scrub(ProviderError::bad_response(e)))?;
            line.check(&self.http)?;
            if let Some(piece) = line.message.as_ref().map(|m| m.content.as_str()).filter(|t| !t.is_empty()) {
                sink(piece);
                text.push_str(piece);
            }
            if line.done {
                return Ok(ChatResponse { text, usage: line.usage(), finish_reason: line.done_reason });
            }
        }
        Err(ProviderError::new(
            ErrorKind::StreamCut,
            "the provider's stream ended before \"done\": the answer is incomplete",
        ))
    }

    async fn list_models(&self) -> Result<Vec<RemoteModel>, ProviderError> {
        let url = format!("{}/api/tags", self.base);
        let resp = self.http.send(self.request(self.http.client.get(url))).await?;
        let tags: Tags = self.http.json(resp).await?;
        Ok(tags
            .models
            .into_iter()
            .map(|m| {
                let families = m.details.as_ref().and_then(|d| d.families.clone()).unwrap_or_default();
                let vision = families.iter().any(|f| f == "clip" || f == "mllama").then_some(true);
                let display_name = m.details.map(|d| {
                    [d.parameter_size, d.quantization_level].into_iter().flatten().collect::<Vec<_>>().join(" ")
                });
                RemoteModel {
                    id: m.name,
                    display_name: display_name.filter(|s| !s.is_empty()),
                    vision,
                    context_length: None,
                }
            })
            .collect())
    }

    /// One token through /api/generate.
    async fn one_token(&self, model: &str) -> Result<(), ProviderError> {
        let req = ChatRequest {
            model: model.into(),
            messages: vec![crate::ChatMessage::user("Say OK.")],
            params: switchboard_core::SamplingParams::new(0.0, 1, 1.0, 1, 1.0),
            json_schema: None,
            meter: Default::default(),
        };
        self.generate(&req).await.map(|_| ())
    }
}

/// One line of /api/chat or /api/generate (streamed or whole).
#[derive(Deserialize)]
struct Line {
    message: Option<WireMessage>,
    response: Option<String>,
    #[serde(default)]
    done: bool,
    done_reason: Option<String>,
    #[serde(default)]
    prompt_eval_count: u32,
    #[serde(default)]
    eval_count: u32,
    error: Option<String>,
}

impl Line {
    fn check(&self, http: &Http) -> Result<(), ProviderError> {
        match &self.error {
            Some(e) => Err(http.scrub(ProviderError::new(ErrorKind::Server, format!("the provider failed: {e}")))),
            None => Ok(()),
        }
    }

    fn usage(&self) -> Usage {
        Usage { input_tokens: self.prompt_eval_count, output_tokens: self.eval_count, ..Usage::default() }
    }
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: String,
}

#[derive(Deserialize)]
struct Tags {
    #[serde(default)]
    models: Vec<TagModel>,
}

#[derive(Deserialize)]
struct TagModel {
    name: String,
    details: Option<TagDetails>,
}

#[derive(Deserialize)]
struct TagDetails {
    parameter_size: Option<String>,
    quantization_level: Option<String>,
    families: Option<Vec<String>>,
}
