//! Engine errors, each mapped to a code and a sentence a user can act on.

use switchboard_core::{AppError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the model file {path} does not exist; download or import it again")]
    ModelMissing { path: String },
    #[error("{path} is not a usable GGUF model: {reason}")]
    ModelInvalid { path: String, reason: String },
    #[error("llama.cpp could not load {path}; the file is corrupt, truncated or of an unsupported architecture")]
    ModelLoad { path: String },
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("the prompt is {prompt_tokens} tokens but the context window holds {n_ctx}; shorten it or raise the context length")]
    PromptTooLong { prompt_tokens: u32, n_ctx: u32 },
    #[error("could not create a llama.cpp context ({0}); lower the context length or free memory")]
    Context(String),
    #[error("llama.cpp failed while generating: {0}")]
    Decode(String),
    #[error("invalid parameters: {0}")]
    Params(String),
    #[error("llama.cpp could not load the vision projector {path} for {model}: a projector made for another model (its width must match the model's), or a corrupt file")]
    Projector { path: String, model: String },
    #[error("{name} is not an embedding model (its GGUF metadata names no pooling); choose an embedding model")]
    NotEmbedding { name: String },
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        let code = match &e {
            EngineError::ModelMissing { .. } => ErrorCode::ModelMissing,
            EngineError::ModelInvalid { .. } | EngineError::ModelLoad { .. } | EngineError::Projector { .. } => {
                ErrorCode::ModelLoadFailed
            }
            EngineError::PromptTooLong { .. } => ErrorCode::PromptTooLong,
            EngineError::EmptyPrompt | EngineError::Params(_) | EngineError::NotEmbedding { .. } => {
                ErrorCode::InvalidInput
            }
            EngineError::Context(_) | EngineError::Decode(_) => ErrorCode::EngineFailed,
        };
        AppError::new(code, e.to_string())
    }
}
