//! Routing settings, candidate states and routing events.

use std::sync::Arc;
use switchboard_core::{AppError, RoutingEvent, RoutingSettings};
use switchboard_gateway::CandidateState;
use tauri::State;

use crate::ops;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn routing_settings(state: State<'_, Arc<AppState>>) -> Result<RoutingSettings, AppError> {
    ops::routing::settings(&state).await
}

#[tauri::command]
#[specta::specta]
pub async fn save_routing_settings(
    state: State<'_, Arc<AppState>>,
    settings: RoutingSettings,
) -> Result<RoutingSettings, AppError> {
    ops::routing::save_settings(&state, settings).await
}

#[tauri::command]
#[specta::specta]
pub async fn candidate_states(
    state: State<'_, Arc<AppState>>,
    models: Vec<String>,
) -> Result<Vec<CandidateState>, AppError> {
    ops::routing::candidate_states(&state, models).await
}

#[tauri::command]
#[specta::specta]
pub async fn routing_events(
    state: State<'_, Arc<AppState>>,
    provider: Option<String>,
    limit: u32,
) -> Result<Vec<RoutingEvent>, AppError> {
    ops::routing::events(&state, provider, limit).await
}
