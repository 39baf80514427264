//! `provider/model` names, e.g. `local/gemma-3-270m-q4_k_m` or `ollama/qwen3:32b`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{AppError, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
pub struct ModelRef {
    pub provider: String,
    pub model: String,
}

impl ModelRef {
    pub const LOCAL: &'static str = "local";

    pub fn local(model: impl Into<String>) -> Self {
        Self { provider: Self::LOCAL.into(), model: model.into() }
    }

    /// Parses `provider/model`. The model part may itself contain `/` or `:`
    /// (`openai-compatible/meta-llama/Llama-3-8B`), the provider may not.
    pub fn parse(s: &str) -> Result<Self, AppError> {
        let bad = || {
            AppError::new(
                ErrorCode::InvalidInput,
                format!("'{s}' is not a model name; expected provider/model, e.g. local/gemma-3-270m-q4_k_m"),
            )
        };
        let (provider, model) = s.split_once('/').ok_or_else(bad)?;
        let provider_ok = !provider.is_empty()
            && provider.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !provider_ok || model.trim().is_empty() || model != model.trim() {
            return Err(bad());
        }
        Ok(Self { provider: provider.into(), model: model.into() })
    }

    pub fn is_local(&self) -> bool {
        self.provider == Self::LOCAL
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        for s in ["local/gemma-3-270m-q4_k_m", "ollama/qwen3:32b", "openai-compatible/meta-llama/Llama-3-8B"] {
            let m = ModelRef::parse(s).unwrap();
            assert_eq!(m.to_string(), s);
        }
        assert!(ModelRef::parse("local/x").unwrap().is_local());
    }

    #[test]
    fn refuses_malformed_names() {
        for s in ["", "local", "/model", "local/", "Local/x", "lo cal/x", "local/ x"] {
            let err = ModelRef::parse(s).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{s}");
        }
    }
}
