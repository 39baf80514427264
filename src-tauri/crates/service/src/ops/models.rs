//! The models a use case can be assigned: the local library, then the models
//! each enabled provider listed at its last refresh.

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
    /// `text`, `vision` for models paired with a projector, `embedding` for embedding models.
    pub capabilities: Vec<String>,
    /// On disk and usable now.
    pub available: bool,
}

impl ModelOption {
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

pub async fn list(state: &AppState) -> Result<Vec<ModelOption>, switchboard_core::AppError> {
    let mut options = local(state).await?;
    let providers = state.store().providers().await?;
    let listed = state.store().provider_models().await?;
    // A group offers the models every enabled member listed.
    for g in state.store().groups().await? {
        let members: Vec<&str> = g
            .members
            .iter()
            .filter(|id| providers.iter().any(|p| &p.settings.id == *id && p.settings.enabled))
            .map(String::as_str)
            .collect();
        let Some(first) = members.first() else { continue };
        for m in listed.iter().filter(|m| m.provider_id == *first) {
            if members.iter().all(|id| listed.iter().any(|o| o.provider_id == *id && o.model == m.model)) {
                let mut capabilities = vec!["text".to_string()];
                if m.vision == Some(true) {
                    capabilities.push("vision".into());
                }
                options.push(ModelOption {
                    id: ModelRef { provider: g.id.clone(), model: m.model.clone() }.to_string(),
                    provider: g.name.clone(),
                    name: m.display_name.clone().unwrap_or_else(|| m.model.clone()),
                    size_bytes: 0.0,
                    capabilities,
                    available: true,
                });
            }
        }
    }
    for m in listed {
        let Some(p) = providers.iter().find(|p| p.settings.id == m.provider_id && p.settings.enabled) else {
            continue;
        };
        let mut capabilities = vec!["text".to_string()];
        if m.vision == Some(true) {
            capabilities.push("vision".into());
        }
        options.push(ModelOption {
            id: ModelRef { provider: m.provider_id.clone(), model: m.model.clone() }.to_string(),
            provider: p.settings.display_name.clone(),
            name: m.display_name.clone().unwrap_or_else(|| m.model.clone()),
            size_bytes: 0.0,
            capabilities,
            available: true,
        });
    }
    Ok(options)
}

/// The library's models (projectors left out: they serve with a text model).
async fn local(state: &AppState) -> Result<Vec<ModelOption>, switchboard_core::AppError> {
    let page = crate::ops::library::page(state).await?;
    Ok(page
        .models
        .into_iter()
        .filter(|m| !m.capabilities.iter().any(|c| c == "projector"))
        .map(|m| ModelOption {
            id: ModelRef::local(&m.id).to_string(),
            provider: ModelRef::LOCAL.into(),
            name: m.id.clone(),
            size_bytes: m.size_bytes,
            available: m.error.is_none(),
            capabilities: if m.capabilities.is_empty() { vec!["text".into()] } else { m.capabilities },
        })
        .collect())
}
