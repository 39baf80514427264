//! The request ledger's records: one row per request, whatever its outcome.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Ok,
    Error,
    Cancelled,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(Self::Ok),
            "error" => Some(Self::Error),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// What the gateway writes when a request ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct NewRequestRecord {
    pub use_case: String,
    pub provider: String,
    pub model: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// Input tokens the provider served from its prompt cache (part of input_tokens).
    #[serde(default)]
    pub cached_input_tokens: u32,
    /// Output tokens spent on hidden reasoning (part of output_tokens).
    #[serde(default)]
    pub reasoning_tokens: u32,
    pub cost_usd: f64,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub tokens_per_second: Option<f64>,
    pub status: RequestStatus,
    /// `{code}: {message}` for failed and cancelled requests.
    pub error: Option<String>,
    /// The sampling parameters the request ran with, as they reached the engine.
    #[serde(default)]
    pub params: Option<crate::SamplingParams>,
    /// Images the request carried (vision).
    #[serde(default)]
    pub image_count: u32,
    /// Context positions the images took (part of input_tokens).
    #[serde(default)]
    pub image_tokens: u32,
    /// The candidates the request tried, in order; the last one answered
    /// when the status is `ok`. Empty for rows written before routes.
    #[serde(default)]
    pub route: Vec<crate::Attempt>,
    /// Answered from the response cache: nothing ran, nothing was charged.
    #[serde(default)]
    pub cache_hit: bool,
    /// Input plus output tokens a cache hit did not spend.
    #[serde(default)]
    pub tokens_saved: u32,
    /// Who asked: `window` (the app), `cli`, or `token:<name>` (the local API).
    #[serde(default = "window")]
    pub caller: String,
    /// Answered on the organisation's own hardware (not a cloud API).
    #[serde(default)]
    pub local: bool,
    /// For a local answer: its tokens at the prices of the route's first cloud candidate.
    #[serde(default)]
    pub cost_avoided_usd: f64,
}

/// The caller of requests made in the app's window.
pub const WINDOW_CALLER: &str = "window";

fn window() -> String {
    WINDOW_CALLER.to_string()
}

impl NewRequestRecord {
    /// The record of a request that ended without output: no tokens, no cost,
    /// status `error` until the caller fills in what happened.
    pub fn empty(use_case: &str, model: &crate::ModelRef, latency_ms: f64) -> Self {
        Self {
            use_case: use_case.to_string(),
            provider: model.provider.clone(),
            model: model.model.clone(),
            input_tokens: 0,
            output_tokens: 0,
            cached_input_tokens: 0,
            reasoning_tokens: 0,
            cost_usd: 0.0,
            latency_ms,
            ttft_ms: None,
            tokens_per_second: None,
            status: RequestStatus::Error,
            error: None,
            params: None,
            image_count: 0,
            image_tokens: 0,
            route: Vec::new(),
            cache_hit: false,
            tokens_saved: 0,
            caller: window(),
            local: model.provider == "local",
            cost_avoided_usd: 0.0,
        }
    }
}

/// A stored ledger row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RequestRecord {
    pub id: String,
    /// RFC 3339, UTC, millisecond precision.
    pub created_at: String,
    #[serde(flatten)]
    pub record: NewRequestRecord,
}
