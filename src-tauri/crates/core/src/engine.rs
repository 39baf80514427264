//! What the gateway needs from a local engine: the seam between routing and
//! inference (today the in-process llama.cpp engine implements it).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::{AppError, GenerationStats, SamplingParams};

/// A compute device llama.cpp found (CPU, a CUDA or Vulkan GPU, ...).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct EngineDevice {
    /// llama.cpp's name, e.g. `CPU`, `CUDA0`, `Vulkan0`.
    pub name: String,
    pub description: String,
    /// `CPU`, `CUDA`, `Vulkan`, `Metal`, ...
    pub backend: String,
    pub memory_total_bytes: f64,
    pub memory_free_bytes: f64,
}

/// Who is waiting: a person watching the screen goes before batch work.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize, specta::Type,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Interactive,
    Background,
}

/// A request as the engine receives it: everything already resolved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EngineRequest {
    pub system_prompt: Option<String>,
    pub prompt: String,
    pub params: SamplingParams,
    /// A JSON schema the output must follow (applied as a grammar).
    pub json_schema: Option<String>,
    /// Feed `prompt` verbatim, without the chat template (benchmarks, base models).
    #[serde(default)]
    pub raw_prompt: bool,
    /// Generate exactly `max_tokens`, ignoring end-of-generation (benchmarks).
    #[serde(default)]
    pub ignore_eos: bool,
    /// Queue order when several requests wait for the engine.
    #[serde(default)]
    pub priority: Priority,
}

/// A local text engine (llama.cpp today). Blocking: the gateway calls it on a
/// blocking thread. `on_text` receives decoded text as it is produced;
/// `cancel` ends the request with `FinishReason::Cancelled`.
pub trait TextEngine: Send + Sync + 'static {
    fn generate(
        &self,
        model_path: &Path,
        req: &EngineRequest,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<GenerationStats, AppError>;
}
