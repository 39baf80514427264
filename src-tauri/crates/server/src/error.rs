//! One error type for every endpoint, written in the calling API's own
//! format: OpenAI's `{"error": {"message", "type", "param", "code"}}` under
//! `/v1`, Ollama's `{"error": "..."}` under `/api`, and Switchboard's
//! `{"error": {"code", "message", "field"}}` for the configuration API.
//! Internal details are logged, not sent.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchboard_core::{AppError, ErrorCode};

/// Which API's error format a response uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Ollama,
    Config,
}

impl Dialect {
    /// The dialect of the endpoint at `path`.
    pub fn of_path(path: &str) -> Self {
        if path.starts_with("/v1/") || path == "/v1" {
            Dialect::OpenAi
        } else if path.starts_with("/api/") {
            Dialect::Ollama
        } else {
            Dialect::Config
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: AppError,
    pub dialect: Dialect,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(dialect: Dialect, status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, error: AppError::new(code, message), dialect, retry_after: None }
    }

    pub fn bad_request(dialect: Dialect, message: impl Into<String>) -> Self {
        Self::new(dialect, StatusCode::BAD_REQUEST, ErrorCode::InvalidInput, message)
    }

    pub fn field(dialect: Dialect, field: &str, message: impl Into<String>) -> Self {
        Self::from_app(dialect, AppError::for_field(field, message))
    }

    /// The status an error from the gateway or an operation maps to.
    pub fn from_app(dialect: Dialect, error: AppError) -> Self {
        let status = match error.code {
            ErrorCode::InvalidInput | ErrorCode::PromptTooLong => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound | ErrorCode::ModelMissing => StatusCode::NOT_FOUND,
            ErrorCode::Cancelled => StatusCode::from_u16(499).expect("a status"),
            ErrorCode::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::BudgetExceeded => StatusCode::PAYMENT_REQUIRED,
            ErrorCode::ProviderAuth
            | ErrorCode::ProviderUnavailable
            | ErrorCode::ProviderFailed
            | ErrorCode::EngineFailed
            | ErrorCode::ModelLoadFailed => StatusCode::BAD_GATEWAY,
            ErrorCode::DownloadFailed
            | ErrorCode::StorageFailed
            | ErrorCode::SecretUnavailable
            | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self { status, error, dialect, retry_after: None }
    }

    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The body in this error's dialect.
    pub fn body(&self) -> serde_json::Value {
        let message = &self.error.message;
        match self.dialect {
            Dialect::OpenAi => json!({
                "error": {
                    "message": message,
                    "type": openai_type(self.status),
                    "param": self.error.field,
                    "code": code_name(self.error.code),
                }
            }),
            // Ollama's error is one string: the field goes into it.
            Dialect::Ollama => match &self.error.field {
                Some(f) if !message.starts_with(f.as_str()) => json!({ "error": format!("{f}: {message}") }),
                _ => json!({ "error": message }),
            },
            Dialect::Config => json!({ "error": self.error }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = %self.status, error = %self.error.message, "API request failed");
        }
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after {
            response.headers_mut().insert("retry-after", HeaderValue::from(s));
        }
        response
    }
}

/// OpenAI's error `type` for a status.
fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 404 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        402 => "insufficient_quota",
        429 => "rate_limit_error",
        _ => "server_error",
    }
}

pub fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}
