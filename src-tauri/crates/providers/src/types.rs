//! The provider-neutral shapes of a chat call.

use serde::{Deserialize, Serialize};
use switchboard_core::SamplingParams;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// An image sent with a message: already encoded (PNG, JPEG, WebP), base64.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInput {
    pub mime_type: String,
    pub base64: String,
}

impl ImageInput {
    pub fn data_url(&self) -> String {
        format!("data:{};base64,{}", self.mime_type, self.base64)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub role: Role,
    pub text: String,
    pub images: Vec<ImageInput>,
}

impl ChatMessage {
    pub fn new(role: Role, text: impl Into<String>) -> Self {
        Self { role, text: text.into(), images: Vec::new() }
    }
    pub fn system(text: impl Into<String>) -> Self {
        Self::new(Role::System, text)
    }
    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Role::User, text)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The provider's own model name (`gpt-4o-mini`, `qwen3:32b`).
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub params: SamplingParams,
    /// A JSON schema the answer must follow, where the provider supports it.
    pub json_schema: Option<String>,
    /// Usage as a streamed answer reports it, readable by the caller even when
    /// the stream is cut or the call is dropped (a cancel) before it ends.
    pub meter: UsageMeter,
}

/// The usage a stream has reported so far (Anthropic sends the input tokens
/// first, Gemini a running count): what was billed, should the stream end early.
#[derive(Debug, Clone, Default)]
pub struct UsageMeter(std::sync::Arc<std::sync::Mutex<Option<Usage>>>);

impl UsageMeter {
    pub fn set(&self, usage: Usage) {
        *self.0.lock().expect("meter lock") = Some(usage);
    }

    /// What the provider reported, if anything yet.
    pub fn get(&self) -> Option<Usage> {
        *self.0.lock().expect("meter lock")
    }
}

/// Two requests are the same whatever their meters read.
impl PartialEq for UsageMeter {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ChatRequest {
    /// The system prompt(s), joined, for APIs that take it apart from the messages.
    pub(crate) fn system_text(&self) -> Option<String> {
        let parts: Vec<&str> =
            self.messages.iter().filter(|m| m.role == Role::System).map(|m| m.text.as_str()).collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    pub(crate) fn schema_value(&self) -> Option<serde_json::Value> {
        self.json_schema.as_deref().and_then(|s| serde_json::from_str(s).ok())
    }
}

/// Token counts as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Usage {
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// Input tokens served from the provider's prompt cache (a subset of input_tokens).
    pub cached_input_tokens: u32,
    /// Output tokens spent on hidden reasoning (a subset of output_tokens).
    pub reasoning_tokens: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub usage: Usage,
    /// The provider's own word for why it stopped (`stop`, `length`, `end_turn`, ...).
    pub finish_reason: Option<String>,
}

/// A model a provider offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RemoteModel {
    pub id: String,
    pub display_name: Option<String>,
    /// Whether it takes images, when the provider says so.
    pub vision: Option<bool>,
    pub context_length: Option<u32>,
}

impl RemoteModel {
    pub fn named(id: impl Into<String>) -> Self {
        Self { id: id.into(), display_name: None, vision: None, context_length: None }
    }
}

/// What "Test connection" found.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ProbeReport {
    pub model_count: u32,
    pub list_ms: f64,
    /// The model asked for one token, when there was one to ask.
    pub completion_model: Option<String>,
    pub completion_ms: Option<f64>,
}
