//! The error shape every caller sees: a stable machine-readable code and a
//! sentence a person can act on. Library crates map their own errors into it.

use serde::{Deserialize, Serialize};

/// Stable error codes; the UI and the HTTP API switch on these, never on text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A request or setting failed validation (bad range, unknown use case).
    InvalidInput,
    /// No model is configured, or its file is gone.
    ModelMissing,
    /// The model file exists but llama.cpp refused it (corrupt or unsupported).
    ModelLoadFailed,
    /// The prompt does not fit in the model's context window.
    PromptTooLong,
    /// The user stopped the request.
    Cancelled,
    /// Another generation is running and this one was not queued.
    Busy,
    /// Downloading or verifying a model failed.
    DownloadFailed,
    /// The engine failed while generating.
    EngineFailed,
    /// The local database failed.
    StorageFailed,
    /// The thing asked for does not exist.
    NotFound,
    /// A provider refused the API key (401/403): fix the key on the Providers page.
    ProviderAuth,
    /// A provider could not serve the request now (down, overloaded, rate-limited, timed out).
    ProviderUnavailable,
    /// A provider refused the request or answered something unreadable.
    ProviderFailed,
    /// The provider's monthly budget is spent.
    BudgetExceeded,
    /// A stored secret cannot be decrypted (the master key changed) or no key is configured.
    SecretUnavailable,
    /// Anything else; details are in the log.
    Internal,
}

/// `{code, message}`: what crosses to the UI or an API client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// The input field the error concerns, when there is one (`custom_params.temperature`).
    #[serde(default)]
    pub field: Option<String>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None }
    }

    pub fn for_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: ErrorCode::InvalidInput, message: message.into(), field: Some(field.into()) }
    }
}
