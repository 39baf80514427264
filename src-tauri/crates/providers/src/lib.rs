//! Switchboard's remote providers. One trait ([`Provider`]) covers chat
//! (streamed or not), model listing and a connection probe; one adapter per
//! wire format speaks it: the OpenAI-compatible family (OpenAI, DashScope,
//! vLLM, LM Studio, llama.cpp server, TGI, any base URL), Azure OpenAI,
//! Anthropic Messages, Gemini generateContent and Ollama's native API.
//!
//! **Architecture Invariant:** adapters make exactly one HTTP exchange per
//! call and classify what went wrong ([`ErrorKind::action`]); retries, key
//! rotation and fallback are decisions of the gateway, not of this crate.
//! No adapter ever puts an API key in a URL, a log line or an error message.

mod anthropic;
mod error;
mod gemini;
mod http;
mod kind;
mod ollama;
mod openai;
mod stream;
mod types;

pub use error::{ErrorAction, ErrorKind, ProviderError};
pub use kind::{validate_base_url, ProviderKind};
pub use types::{
    ChatMessage, ChatRequest, ChatResponse, ImageInput, ProbeReport, RemoteModel, Role, Usage, UsageMeter,
};

use std::time::Instant;

use async_trait::async_trait;

/// Where and how to reach one provider. The key is plaintext only in memory,
/// for the duration of a call; `Debug` never prints it.
#[derive(Clone)]
pub struct Endpoint {
    pub kind: ProviderKind,
    pub base_url: String,
    pub api_key: Option<String>,
    /// Azure OpenAI only: the deployment that serves the model.
    pub azure_deployment: Option<String>,
    /// Azure OpenAI only, e.g. `2024-10-21`.
    pub azure_api_version: Option<String>,
    /// The admin allowed plain http (needed for any host but this machine, and for cloud kinds).
    pub allow_http: bool,
}

impl Endpoint {
    /// A configured provider reached with `api_key` (none for keyless local servers).
    pub fn for_provider(settings: &switchboard_core::ProviderSettings, api_key: Option<String>) -> Self {
        Self {
            kind: settings.kind,
            base_url: settings.base_url.clone(),
            api_key,
            azure_deployment: settings.azure_deployments.clone(),
            azure_api_version: settings.azure_api_version.clone(),
            allow_http: settings.allow_http,
        }
    }
}

/// The HTTP client providers are reached with: connect, between-bytes and
/// total time-outs, and no redirects (reqwest would forward key headers such
/// as `x-api-key`, `x-goog-api-key` and `api-key` to whatever host a redirect
/// names).
pub fn client() -> reqwest::Client {
    use std::time::Duration;
    // Between bytes: a long answer may stream for minutes, but not stall.
    // In total: no answer is worth half an hour.
    client_with(Duration::from_secs(10), Duration::from_secs(120), Duration::from_secs(30 * 60))
}

/// [`client`] with a provider's own time-outs: to connect, between two reads,
/// and for the whole request.
pub fn client_with(
    connect: std::time::Duration,
    read: std::time::Duration,
    total: std::time::Duration,
) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(connect)
        .read_timeout(read)
        .timeout(total)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("azure_deployment", &self.azure_deployment)
            .field("azure_api_version", &self.azure_api_version)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Receives streamed text as it arrives.
pub type TextSink<'a> = &'a mut (dyn FnMut(&str) + Send);

/// One provider, reached through its own wire format.
#[async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// Runs a chat request. With a sink the response is streamed (text goes
    /// to the sink as it arrives); without one it comes back in one piece.
    /// Either way the returned response holds the whole text and the usage
    /// the provider reported.
    async fn chat(&self, req: &ChatRequest, sink: Option<TextSink<'_>>) -> Result<ChatResponse, ProviderError>;

    /// The models the provider offers to this key.
    async fn list_models(&self) -> Result<Vec<RemoteModel>, ProviderError>;

    /// Asks `model` for a single token (the cheapest proof that chat works).
    async fn one_token(&self, model: &str) -> Result<(), ProviderError> {
        let params = switchboard_core::SamplingParams::new(0.0, 1, 1.0, 1, 1.0);
        let req = ChatRequest {
            model: model.into(),
            messages: vec![ChatMessage::user("Say OK.")],
            params,
            json_schema: None,
            meter: Default::default(),
        };
        self.chat(&req, None).await.map(|_| ())
    }

    /// "Test connection": lists the models, then asks `model` (or the first
    /// listed) for one token.
    async fn probe(&self, model: Option<&str>) -> Result<ProbeReport, ProviderError> {
        let started = Instant::now();
        let models = self.list_models().await?;
        let list_ms = started.elapsed().as_secs_f64() * 1000.0;
        let chosen = model.map(str::to_string).or_else(|| models.first().map(|m| m.id.clone()));
        let Some(chosen) = chosen else {
            return Ok(ProbeReport { model_count: 0, list_ms, completion_model: None, completion_ms: None });
        };
        let t = Instant::now();
        self.one_token(&chosen).await?;
        Ok(ProbeReport {
            model_count: models.len() as u32,
            list_ms,
            completion_model: Some(chosen),
            completion_ms: Some(t.elapsed().as_secs_f64() * 1000.0),
        })
    }
}

/// The adapter for `endpoint`. The client carries time-outs and proxy settings.
pub fn adapter(endpoint: Endpoint, client: reqwest::Client) -> Result<Box<dyn Provider>, ProviderError> {
    kind::validate_base_url(&endpoint.base_url, endpoint.kind, endpoint.allow_http)?;
    Ok(match endpoint.kind {
        ProviderKind::OpenAi | ProviderKind::DashScope | ProviderKind::OpenAiCompatible | ProviderKind::Azure => {
            Box::new(openai::OpenAiAdapter::new(endpoint, client)?)
        }
        ProviderKind::Anthropic => Box::new(anthropic::AnthropicAdapter::new(endpoint, client)),
        ProviderKind::Gemini => Box::new(gemini::GeminiAdapter::new(endpoint, client)),
        ProviderKind::Ollama => Box::new(ollama::OllamaAdapter::new(endpoint, client)),
    })
}
