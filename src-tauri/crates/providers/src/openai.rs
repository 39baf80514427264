//! OpenAI's chat completions wire format, spoken by OpenAI, Alibaba DashScope
//! (compatible mode), vLLM, LM Studio, llama.cpp's server, TGI and Azure
//! OpenAI (deployment in the path, `api-key` header, `api-version` query).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::http::Http;
use crate::stream::Sse;
use crate::{
    ChatMessage, ChatRequest, ChatResponse, Endpoint, ErrorKind, Provider, ProviderError, ProviderKind, RemoteModel,
    TextSink, Usage,
};

pub(crate) struct OpenAiAdapter {
    kind: ProviderKind,
    base: String,
    azure: Option<Azure>,
    http: Http,
}

struct Azure {
    api_version: String,
    deployments: Vec<String>,
}

impl OpenAiAdapter {
    pub fn new(endpoint: Endpoint, client: reqwest::Client) -> Result<Self, ProviderError> {
        let azure = if endpoint.kind == ProviderKind::Azure {
            let api_version = endpoint.azure_api_version.clone().filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                ProviderError::new(ErrorKind::InvalidRequest, "Azure OpenAI needs an api-version (e.g. 2024-10-21)")
            })?;
            let deployments: Vec<String> = endpoint
                .azure_deployment
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty())
                .collect();
            Some(Azure { api_version: api_version.trim().to_string(), deployments })
        } else {
            None
        };
        Ok(Self {
            kind: endpoint.kind,
            base: endpoint.base_url.trim().trim_end_matches('/').to_string(),
            azure,
            http: Http { client, key: endpoint.api_key },
        })
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match (&self.http.key, &self.azure) {
            (Some(key), Some(_)) => req.header("api-key", key),
            (Some(key), None) => req.bearer_auth(key),
            (None, _) => req,
        }
    }

    fn chat_url(&self, model: &str) -> String {
        match &self.azure {
            Some(_) => format!("{}/openai/deployments/{}/chat/completions", self.base, crate::http::segment(model)),
            None => format!("{}/chat/completions", self.base),
        }
        .to_string()
    }

    fn with_version(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.azure {
            Some(az) => req.query(&[("api-version", az.api_version.as_str())]),
            None => req,
        }
    }

    fn body(&self, req: &ChatRequest, stream: bool) -> Value {
        let p = &req.params;
        let mut body = Map::new();
        if self.azure.is_none() {
            body.insert("model".into(), json!(req.model));
        }
        body.insert("messages".into(), Value::Array(req.messages.iter().map(message).collect()));
        body.insert("temperature".into(), json!(p.temperature));
        body.insert("top_p".into(), json!(p.top_p));
        let max_field = match self.kind {
            ProviderKind::OpenAi | ProviderKind::Azure => "max_completion_tokens",
            _ => "max_tokens",
        };
        body.insert(max_field.into(), json!(p.max_tokens));
        if p.presence_penalty != 0.0 {
            body.insert("presence_penalty".into(), json!(p.presence_penalty));
        }
        if p.frequency_penalty != 0.0 {
            body.insert("frequency_penalty".into(), json!(p.frequency_penalty));
        }
        if !p.stop.is_empty() {
            body.insert("stop".into(), json!(p.stop));
        }
        if let Some(seed) = p.seed {
            body.insert("seed".into(), json!(seed));
        }
        // Sampling fields outside OpenAI's API that these servers accept.
        match self.kind {
            ProviderKind::DashScope => {
                body.insert("top_k".into(), json!(p.top_k));
                if p.repeat_penalty != 1.0 {
                    body.insert("repetition_penalty".into(), json!(p.repeat_penalty));
                }
            }
            ProviderKind::OpenAiCompatible => {
                body.insert("top_k".into(), json!(p.top_k));
                if p.min_p != 0.0 {
                    body.insert("min_p".into(), json!(p.min_p));
                }
                if p.repeat_penalty != 1.0 {
                    // llama.cpp server and LM Studio say repeat_penalty; vLLM and TGI repetition_penalty.
                    body.insert("repeat_penalty".into(), json!(p.repeat_penalty));
                    body.insert("repetition_penalty".into(), json!(p.repeat_penalty));
                }
            }
            _ => {}
        }
        if let Some(schema) = req.schema_value() {
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}),
            );
        }
        if stream {
            body.insert("stream".into(), json!(true));
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
        Value::Object(body)
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let http_req = self.with_version(self.http.client.post(self.chat_url(&req.model))).json(&self.body(req, false));
        let resp = self.http.send(self.authorize(http_req)).await?;
        self.parse_completion(resp).await
    }

    async fn parse_completion(&self, resp: reqwest::Response) -> Result<ChatResponse, ProviderError> {
        let body: Completion = self.http.json(resp).await?;
        let choice = body.choices.into_iter().next().ok_or_else(|| ProviderError::bad_response("no choices"))?;
        Ok(ChatResponse {
            text: choice.message.and_then(|m| m.content).unwrap_or_default(),
            usage: body.usage.map(Into::into).unwrap_or_default(),
            finish_reason: choice.finish_reason,
        })
    }

    async fn stream(&self, req: &ChatRequest, sink: TextSink<'_>) -> Result<ChatResponse, ProviderError> {
        let http_req = self.with_version(self.http.client.post(self.chat_url(&req.model))).json(&self.body(req, true));
        let resp = self.http.send(self.authorize(http_req)).await?;
        // Some compatible servers ignore `stream` and answer in one piece.
        let is_json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            let whole = self.parse_completion(resp).await?;
            if !whole.text.is_empty() {
                sink(&whole.text);
            }
            return Ok(whole);
        }
        let mut events = Sse::new(resp);
        let mut out = ChatResponse { text: String::new(), usage: Usage::default(), finish_reason: None };
        while let Some(ev) = events.next(&self.http).await? {
            if ev.data.trim() == "[DONE]" {
                return Ok(out);
            }
            let chunk: Chunk =
                serde_json::from_str(&ev.data).map_err(|e| self.http.scrub(ProviderError::bad_response(e)))?;
            if let Some(err) = chunk.error {
                return Err(self.http.scrub(ProviderError::new(
                    ErrorKind::Server,
                    format!(
                        "the provider failed mid-stream: {}",
                        err.get("message").and_then(Value::as_str).unwrap_or("no details")
                    ),
                )));
            }
            for choice in chunk.choices {
                if let Some(text) = choice.delta.and_then(|d| d.content).filter(|t| !t.is_empty()) {
                    sink(&text);
                    out.text.push_str(&text);
                }
                if choice.finish_reason.is_some() {
                    out.finish_reason = choice.finish_reason;
                }
            }
            if let Some(usage) = chunk.usage {
                out.usage = usage.into();
                req.meter.set(out.usage);
            }
        }
        Err(ProviderError::new(
            ErrorKind::StreamCut,
            "the provider's stream ended before [DONE]: the answer is incomplete",
        ))
    }
}

fn message(m: &ChatMessage) -> Value {
    if m.images.is_empty() {
        return json!({"role": m.role, "content": m.text});
    }
    let mut parts = vec![json!({"type": "text", "text": m.text})];
    parts.extend(m.images.iter().map(|img| json!({"type": "image_url", "image_url": {"url": img.data_url()}})));
    json!({"role": m.role, "content": parts})
}

#[async_trait]
impl Provider for OpenAiAdapter {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    async fn chat(&self, req: &ChatRequest, sink: Option<TextSink<'_>>) -> Result<ChatResponse, ProviderError> {
        match sink {
            Some(sink) => self.stream(req, sink).await,
            None => self.complete(req).await,
        }
    }

    async fn list_models(&self) -> Result<Vec<RemoteModel>, ProviderError> {
        let url = match &self.azure {
            Some(_) => format!("{}/openai/models", self.base),
            None => format!("{}/models", self.base),
        };
        let resp = self.http.send(self.authorize(self.with_version(self.http.client.get(url)))).await?;
        let list: ModelList = self.http.json(resp).await?;
        if let Some(az) = &self.azure {
            // Requests name a deployment, not a model: the configured deployments are the list.
            return Ok(az.deployments.iter().map(RemoteModel::named).collect());
        }
        Ok(list
            .data
            .into_iter()
            .map(|m| RemoteModel { id: m.id, display_name: None, vision: None, context_length: m.max_model_len })
            .collect())
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<Delta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<StreamChoice>,
    usage: Option<WireUsage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct StreamChoice {
    delta: Option<Delta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: u32,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: u32,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            cached_input_tokens: u.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
            reasoning_tokens: u.completion_tokens_details.map_or(0, |d| d.reasoning_tokens),
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
    /// vLLM reports the context length it serves.
    max_model_len: Option<u32>,
}
