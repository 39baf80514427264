//! The local API in Settings: its settings and state, and its tokens.

use std::sync::Arc;

use serde::Serialize;
use switchboard_core::{ApiServerSettings, ApiToken, AppError, CreatedToken, TokenScope};
use switchboard_server::ServerStatus;
use tauri::State;

use crate::api_server::ApiServer;
use crate::ops;
use crate::state::AppState;

/// Everything the Local API section shows.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ApiPage {
    pub settings: ApiServerSettings,
    pub status: ServerStatus,
    pub tokens: Vec<ApiToken>,
}

async fn page(state: &AppState, server: &ApiServer) -> Result<ApiPage, AppError> {
    Ok(ApiPage {
        settings: ops::api::settings(state).await?,
        status: server.status(),
        tokens: ops::api::tokens(state).await?,
    })
}

#[tauri::command]
#[specta::specta]
pub async fn api_page(state: State<'_, Arc<AppState>>, server: State<'_, ApiServer>) -> Result<ApiPage, AppError> {
    page(&state, &server).await
}

/// Saves the settings and (re)starts or stops the server to match them.
#[tauri::command]
#[specta::specta]
pub async fn save_api_settings(
    state: State<'_, Arc<AppState>>,
    server: State<'_, ApiServer>,
    settings: ApiServerSettings,
) -> Result<ApiPage, AppError> {
    let saved = ops::api::save_settings(&state, settings).await?;
    server.apply(state.inner().clone(), saved).await;
    page(&state, &server).await
}

#[tauri::command]
#[specta::specta]
pub async fn create_api_token(
    state: State<'_, Arc<AppState>>,
    name: String,
    admin: bool,
) -> Result<CreatedToken, AppError> {
    ops::api::create_token(&state, &name, if admin { TokenScope::Admin } else { TokenScope::Use }).await
}

#[tauri::command]
#[specta::specta]
pub async fn revoke_api_token(
    state: State<'_, Arc<AppState>>,
    server: State<'_, ApiServer>,
    name: String,
) -> Result<ApiPage, AppError> {
    ops::api::revoke_token(&state, &name).await?;
    page(&state, &server).await
}
