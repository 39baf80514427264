//! Providers, keys, connection tests and prices.

use std::sync::Arc;
use tauri::State;

use switchboard_core::AppError;
use switchboard_store::queries::providers::ListedModel;

use crate::ops;
use crate::ops::providers::{ConnectionReport, PriceSummary, ProviderUpdate, ProvidersPage};
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn list_providers(state: State<'_, Arc<AppState>>) -> Result<ProvidersPage, AppError> {
    ops::providers::page(&state).await
}

#[tauri::command]
#[specta::specta]
pub async fn save_providers(
    state: State<'_, Arc<AppState>>,
    updates: Vec<ProviderUpdate>,
) -> Result<ProvidersPage, AppError> {
    ops::providers::save_all(&state, updates).await
}

#[tauri::command]
#[specta::specta]
pub async fn create_provider(
    state: State<'_, Arc<AppState>>,
    provider: ops::providers::NewProviderRequest,
) -> Result<ProvidersPage, AppError> {
    ops::providers::create(&state, provider).await
}

#[tauri::command]
#[specta::specta]
pub async fn create_group(
    state: State<'_, Arc<AppState>>,
    group: ops::providers::NewGroupRequest,
) -> Result<ProvidersPage, AppError> {
    ops::providers::create_group(&state, group).await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_group(state: State<'_, Arc<AppState>>, id: String) -> Result<ProvidersPage, AppError> {
    ops::providers::delete_group(&state, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_provider(state: State<'_, Arc<AppState>>, id: String) -> Result<ProvidersPage, AppError> {
    ops::providers::delete(&state, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn test_provider(state: State<'_, Arc<AppState>>, id: String) -> Result<ConnectionReport, AppError> {
    ops::providers::test_connection(&state, switchboard_core::WINDOW_CALLER, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn refresh_provider_models(
    state: State<'_, Arc<AppState>>,
    id: String,
) -> Result<Vec<ListedModel>, AppError> {
    ops::providers::refresh_models(&state, &id).await
}

/// The one response that carries a plaintext key: the admin asked to see it.
#[tauri::command]
#[specta::specta]
pub async fn reveal_provider_key(
    state: State<'_, Arc<AppState>>,
    provider_id: String,
    key_id: String,
) -> Result<String, AppError> {
    ops::providers::reveal_key(&state, &provider_id, &key_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn import_prices(
    state: State<'_, Arc<AppState>>,
    file_name: String,
    text: String,
) -> Result<PriceSummary, AppError> {
    ops::providers::import_prices(&state, &file_name, &text).await
}
