//! What a finished generation reports: counts and timings measured by the
//! engine, never estimated.

use serde::{Deserialize, Serialize};

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model produced an end-of-generation token.
    EndOfText,
    /// `max_tokens` was reached.
    MaxTokens,
    /// A stop sequence appeared in the output (it is not included).
    StopSequence,
    /// The caller cancelled.
    Cancelled,
    /// The context window filled up.
    ContextFull,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct GenerationStats {
    pub input_tokens: u32,
    /// Of `input_tokens`, those whose state was reused from an earlier request (prompt cache).
    #[serde(default)]
    pub cached_input_tokens: u32,
    pub output_tokens: u32,
    /// Milliseconds from the request's start to the first generated token.
    pub ttft_ms: Option<f64>,
    /// Milliseconds from the request's start to its end, model loading included.
    pub latency_ms: f64,
    /// Milliseconds spent loading the model for this request (0 when resident).
    pub load_ms: f64,
    /// Prompt tokens per second (prompt processing only).
    pub prompt_tokens_per_second: Option<f64>,
    /// Generated tokens per second, from the first token to the last.
    pub tokens_per_second: Option<f64>,
    pub finish_reason: FinishReason,
}
