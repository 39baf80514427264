//! Google Gemini's generateContent / streamGenerateContent (`alt=sse`), key in
//! the `x-goog-api-key` header (never in the URL, where logs would keep it).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::http::Http;
use crate::stream::Sse;
use crate::{
    ChatRequest, ChatResponse, Endpoint, ErrorKind, Provider, ProviderError, ProviderKind, RemoteModel, Role, TextSink,
    Usage,
};

pub(crate) struct GeminiAdapter {
    base: String,
    http: Http,
}

impl GeminiAdapter {
    pub fn new(endpoint: Endpoint, client: reqwest::Client) -> Self {
        Self {
            base: endpoint.base_url.trim().trim_end_matches('/').to_string(),
            http: Http { client, key: endpoint.api_key },
        }
    }

    fn request(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.http.key {
            Some(key) => req.header("x-goog-api-key", key),
            None => req,
        }
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let p = &req.params;
        let contents: Vec<Value> = req
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| {
                let mut parts = vec![json!({"text": m.text})];
                parts.extend(
                    m.images.iter().map(|img| json!({"inline_data": {"mime_type": img.mime_type, "data": img.base64}})),
                );
                let role = if m.role == Role::Assistant { "model" } else { "user" };
                json!({"role": role, "parts": parts})
            })
            .collect();
        let mut config = Map::new();
        config.insert("temperature".into(), json!(p.temperature));
        config.insert("topP".into(), json!(p.top_p));
        config.insert("topK".into(), json!(p.top_k));
        config.insert("maxOutputTokens".into(), json!(p.max_tokens));
        if !p.stop.is_empty() {
            config.insert("stopSequences".into(), json!(p.stop));
        }
        if p.presence_penalty != 0.0 {
            config.insert("presencePenalty".into(), json!(p.presence_penalty));
        }
        if p.frequency_penalty != 0.0 {
            config.insert("frequencyPenalty".into(), json!(p.frequency_penalty));
        }
        if let Some(seed) = p.seed {
            config.insert("seed".into(), json!(seed));
        }
        if let Some(schema) = req.schema_value() {
            config.insert("responseMimeType".into(), json!("application/json"));
            config.insert("responseJsonSchema".into(), schema);
        }
        let mut body = Map::new();
        if let Some(system) = req.system_text() {
            body.insert("systemInstruction".into(), json!({"parts": [{"text": system}]}));
        }
        body.insert("contents".into(), Value::Array(contents));
        body.insert("generationConfig".into(), Value::Object(config));
        Value::Object(body)
    }

    async fn stream(&self, req: &ChatRequest, sink: TextSink<'_>) -> Result<ChatResponse, ProviderError> {
        let url = format!("{}/v1beta/models/{}:streamGenerateContent", self.base, crate::http::segment(&req.model));
        let http_req = self.request(self.http.client.post(url)).query(&[("alt", "sse")]).json(&self.body(req));
        let mut events = Sse::new(self.http.send(http_req).await?);
        let mut out = ChatResponse { text: String::new(), usage: Usage::default(), finish_reason: None };
        while let Some(ev) = events.next(&self.http).await? {
            let chunk: GenerateResponse =
                serde_json::from_str(&ev.data).map_err(|e| self.http.scrub(ProviderError::bad_response(e)))?;
            let part = chunk.into_parts()?;
            if !part.text.is_empty() {
                sink(&part.text);
                out.text.push_str(&part.text);
            }
            if part.usage.is_some() {
                out.usage = part.usage.unwrap_or_default();
                req.meter.set(out.usage);
            }
            if part.finish_reason.is_some() {
                out.finish_reason = part.finish_reason;
            }
        }
        // Gemini's stream has no end marker: the last chunk carries finishReason.
        if out.finish_reason.is_none() {
            return Err(ProviderError::new(
                ErrorKind::StreamCut,
                "the provider's stream ended without a finishReason: the answer is incomplete",
            ));
        }
        Ok(out)
    }
}

#[async_trait]
impl Provider for GeminiAdapter {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Gemini
    }

    async fn chat(&self, req: &ChatRequest, sink: Option<TextSink<'_>>) -> Result<ChatResponse, ProviderError> {
        if let Some(sink) = sink {
            return self.stream(req, sink).await;
        }
        let url = format!("{}/v1beta/models/{}:generateContent", self.base, crate::http::segment(&req.model));
        let resp = self.http.send(self.request(self.http.client.post(url)).json(&self.body(req))).await?;
        let body: GenerateResponse = self.http.json(resp).await?;
        let part = body.into_parts()?;
        Ok(ChatResponse { text: part.text, usage: part.usage.unwrap_or_default(), finish_reason: part.finish_reason })
    }

    async fn list_models(&self) -> Result<Vec<RemoteModel>, ProviderError> {
        let url = format!("{}/v1beta/models", self.base);
        let resp = self.http.send(self.request(self.http.client.get(url)).query(&[("pageSize", "1000")])).await?;
        let list: ModelList = self.http.json(resp).await?;
        Ok(list
            .models
            .into_iter()
            .filter(|m| m.supported_generation_methods.iter().any(|g| g == "generateContent"))
            .map(|m| RemoteModel {
                id: m.name.strip_prefix("models/").unwrap_or(&m.name).to_string(),
                display_name: m.display_name,
                vision: None,
                context_length: m.input_token_limit,
            })
            .collect())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    usage_metadata: Option<UsageMetadata>,
    prompt_feedback: Option<Value>,
}

struct Parts {
    text: String,
    usage: Option<Usage>,
    finish_reason: Option<String>,
}

impl GenerateResponse {
    fn into_parts(self) -> Result<Parts, ProviderError> {
        if self.candidates.is_empty() {
            if let Some(reason) =
                self.prompt_feedback.as_ref().and_then(|f| f.get("blockReason")).and_then(Value::as_str)
            {
                return Err(ProviderError::new(
                    ErrorKind::InvalidRequest,
                    format!("the provider blocked the prompt ({reason})"),
                ));
            }
        }
        let (text, finish_reason) = match self.candidates.into_iter().next() {
            Some(c) => (
                c.content
                    .map(|content| {
                        content.parts.into_iter().filter(|p| !p.thought).filter_map(|p| p.text).collect::<String>()
                    })
                    .unwrap_or_default(),
                c.finish_reason,
            ),
            None => (String::new(), None),
        };
        Ok(Parts { text, usage: self.usage_metadata.map(Into::into), finish_reason })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    text: Option<String>,
    #[serde(default)]
    thought: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u32,
    #[serde(default)]
    candidates_token_count: u32,
    #[serde(default)]
    cached_content_token_count: u32,
    #[serde(default)]
    thoughts_token_count: u32,
}

/// Thinking tokens are billed as output: ours includes them.
impl From<UsageMetadata> for Usage {
    fn from(u: UsageMetadata) -> Self {
        Usage {
            input_tokens: u.prompt_token_count,
            output_tokens: u.candidates_token_count + u.thoughts_token_count,
            cached_input_tokens: u.cached_content_token_count,
            reasoning_tokens: u.thoughts_token_count,
        }
    }
}

#[derive(Deserialize)]
struct ModelList {
    #[serde(default)]
    models: Vec<WireModel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireModel {
    name: String,
    display_name: Option<String>,
    input_token_limit: Option<u32>,
    #[serde(default)]
    supported_generation_methods: Vec<String>,
}
