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

/// Who said a turn of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

/// One earlier turn of a conversation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct ChatTurn {
    pub role: ChatRole,
    pub content: String,
}

/// The most turns a request may carry before its new prompt.
pub const MAX_HISTORY_TURNS: usize = 500;

/// Checks earlier turns: at most [`MAX_HISTORY_TURNS`], none empty; the field is named.
pub fn validate_history(history: &[ChatTurn]) -> Result<(), AppError> {
    if history.len() > MAX_HISTORY_TURNS {
        return Err(AppError::for_field(
            "history",
            format!("a conversation may carry at most {MAX_HISTORY_TURNS} earlier turns, not {}", history.len()),
        ));
    }
    if let Some(i) = history.iter().position(|t| t.content.trim().is_empty()) {
        return Err(AppError::for_field(
            format!("history[{i}].content"),
            format!("turn {} of the history is empty", i + 1),
        ));
    }
    Ok(())
}

/// How a local model is loaded; `None` leaves the choice to the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct ModelLoadSettings {
    /// Layers offloaded to the GPU; `None` = llama.cpp's automatic fit to free GPU memory.
    #[serde(default)]
    pub gpu_layers: Option<u32>,
    /// Context window in tokens; `None` = the engine default, capped by the model's training context.
    #[serde(default)]
    pub context_length: Option<u32>,
    /// CPU threads; `None` = the machine's physical cores.
    #[serde(default)]
    pub threads: Option<u32>,
    /// Requests generated at once in the model's one context (continuous
    /// batching), sharing its context window; `None` = the engine default.
    #[serde(default)]
    pub parallel: Option<u32>,
}

/// The most requests one model generates at once.
pub const MAX_PARALLEL: u32 = 64;

impl ModelLoadSettings {
    /// Range checks, naming the field.
    pub fn validate(&self) -> Result<(), AppError> {
        if let Some(n) = self.gpu_layers.filter(|&n| n > 1024) {
            return Err(AppError::for_field("gpu_layers", format!("GPU layers must be 0 to 1024, not {n}")));
        }
        if let Some(n) = self.context_length.filter(|&n| !(256..=1_048_576).contains(&n)) {
            return Err(AppError::for_field(
                "context_length",
                format!("context length must be 256 to 1048576 tokens, not {n}"),
            ));
        }
        if let Some(n) = self.threads.filter(|&n| !(1..=256).contains(&n)) {
            return Err(AppError::for_field("threads", format!("threads must be 1 to 256, not {n}")));
        }
        if let Some(n) = self.parallel.filter(|&n| !(1..=MAX_PARALLEL).contains(&n)) {
            return Err(AppError::for_field(
                "parallel",
                format!("parallel requests must be 1 to {MAX_PARALLEL}, not {n}"),
            ));
        }
        Ok(())
    }
}

/// A model held in the engine's memory.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct ResidentModel {
    pub path: String,
    pub name: String,
    pub load: ModelLoadSettings,
    /// The context window in use.
    pub context_length: u32,
    /// Layers on the GPU, out of `total_layers` (the repeating layers plus the output layer).
    pub offloaded_layers: u32,
    pub total_layers: u32,
    pub size_bytes: f64,
    /// Seconds since it last served a request.
    pub idle_seconds: f64,
}

/// Vectors for a batch of texts, one per text, in order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    /// Tokens read, all texts together.
    pub input_tokens: u32,
    pub latency_ms: f64,
    /// `mean`, `cls`, `last`, ...: the model's own pooling.
    pub pooling: String,
}

/// Pixels for a vision model: upright RGB, `width * height * 3` bytes
/// (base64 on the wire to the engine worker).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EngineImage {
    pub width: u32,
    pub height: u32,
    #[serde(with = "base64_bytes")]
    pub rgb: Vec<u8>,
}

mod base64_bytes {
    use base64::Engine as _;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Images and a prompt for a vision model (a text model paired with a projector).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VisionRequest {
    pub system_prompt: Option<String>,
    pub prompt: String,
    pub images: Vec<EngineImage>,
    pub params: SamplingParams,
    #[serde(default)]
    pub load: ModelLoadSettings,
    #[serde(default)]
    pub priority: Priority,
    /// Encode each image once more on its own to time the encoder (benchmarks).
    #[serde(default)]
    pub time_encoder: bool,
    /// Generate exactly `max_tokens`, ignoring end-of-generation (benchmarks).
    #[serde(default)]
    pub ignore_eos: bool,
}

/// How a vision request went: the text statistics plus the images' share.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VisionStats {
    pub stats: GenerationStats,
    pub image_count: u32,
    /// Positions the images took in the context.
    pub image_tokens: u32,
    /// Milliseconds to encode the images and decode the whole prompt into the model.
    pub prompt_ms: f64,
    /// Milliseconds the image encoder alone took (only with `time_encoder`).
    pub encode_ms: Option<f64>,
}

/// A request as the engine receives it: everything already resolved.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EngineRequest {
    pub system_prompt: Option<String>,
    /// Earlier turns of the conversation, oldest first (the new user turn is `prompt`).
    #[serde(default)]
    pub history: Vec<ChatTurn>,
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
    /// How to load the model (GPU layers, context, threads).
    #[serde(default)]
    pub load: ModelLoadSettings,
    /// Process the whole prompt even where the start of it is still in the KV cache (benchmarks).
    #[serde(default)]
    pub no_prompt_cache: bool,
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

    /// One vector per text from an embedding model (its own pooling).
    fn embed(
        &self,
        model_path: &Path,
        load: &ModelLoadSettings,
        texts: &[String],
        priority: Priority,
    ) -> Result<Embeddings, AppError>;

    /// Describes images with a text model and its vision projector, streaming text.
    fn describe(
        &self,
        model_path: &Path,
        projector_path: &Path,
        req: &VisionRequest,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<VisionStats, AppError>;

    /// The models held in memory now (none when the engine has not started).
    fn resident_models(&self) -> Vec<ResidentModel> {
        Vec::new()
    }

    /// Loads the model now, as its first request would, so that the request
    /// does not wait for it. The load time in ms (0 when it was in memory).
    fn load_model(&self, _model_path: &Path, _load: &ModelLoadSettings) -> Result<f64, AppError> {
        Err(AppError::new(crate::ErrorCode::EngineFailed, "this engine cannot load a model ahead of a request"))
    }

    /// Takes the model out of memory once the requests on it have ended;
    /// whether it was in memory. Nothing is started to answer this.
    fn unload_model(&self, _model_path: &Path) -> Result<bool, AppError> {
        Ok(false)
    }

    /// The request's prompt tokens as the model's own tokenizer counts them
    /// (chat template applied), where that can be told at once: the model is
    /// in memory and the engine is not busy. None otherwise; nothing is
    /// loaded for a count.
    fn count_tokens(&self, _model_path: &Path, _req: &EngineRequest) -> Result<Option<u32>, AppError> {
        Ok(None)
    }
}
