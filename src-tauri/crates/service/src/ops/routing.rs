//! Routing as the admin sees it: the global settings, how each candidate of
//! a route stands now, and the events routing raised.

use switchboard_core::{AppError, RoutingEvent, RoutingSettings};
use switchboard_gateway::CandidateState;

use crate::state::AppState;

/// Events shown at most, newest first.
pub const MAX_EVENTS: u32 = 500;

pub async fn settings(state: &AppState) -> Result<RoutingSettings, AppError> {
    Ok(state.store().routing_settings().await?)
}

pub async fn save_settings(state: &AppState, settings: RoutingSettings) -> Result<RoutingSettings, AppError> {
    state.store().save_routing_settings(&state.actor, &settings).await?;
    Ok(settings)
}

/// How each model stands now (in the order given), e.g. a route being edited.
pub async fn candidate_states(state: &AppState, models: Vec<String>) -> Result<Vec<CandidateState>, AppError> {
    if models.len() > 1 + switchboard_core::MAX_FALLBACKS {
        return Err(AppError::for_field("models", format!("at most {} models", 1 + switchboard_core::MAX_FALLBACKS)));
    }
    state.gateway.candidate_states(&models).await
}

pub async fn events(state: &AppState, provider: Option<String>, limit: u32) -> Result<Vec<RoutingEvent>, AppError> {
    Ok(state.store().events(provider.as_deref(), limit.clamp(1, MAX_EVENTS)).await?)
}
