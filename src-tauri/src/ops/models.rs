//! The models a use case can be assigned: today the local library.

use serde::Serialize;
use switchboard_core::ModelRef;

use crate::state::AppState;

/// One choice in a model dropdown.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ModelOption {
    /// `provider/model`.
    pub id: String,
    pub provider: String,
    pub name: String,
    pub size_bytes: f64,
    /// `text`, and `vision` for models paired with a projector.
    pub capabilities: Vec<String>,
    /// On disk and usable now.
    pub available: bool,
}

impl ModelOption {
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

pub fn list(state: &AppState) -> Vec<ModelOption> {
    switchboard_models::library::scan(&state.paths.models_dir)
        .into_iter()
        .map(|m| ModelOption {
            id: ModelRef::local(&m.id).to_string(),
            provider: ModelRef::LOCAL.into(),
            name: m.id,
            size_bytes: m.size_bytes as f64,
            capabilities: vec!["text".into()],
            available: true,
        })
        .collect()
}
