//! The Models page: library, imports, downloads, per-model settings, embeddings.

use std::sync::Arc;
use tauri::State;

use switchboard_core::AppError;
use switchboard_gateway::{EmbedRequest, EmbedResponse};
use switchboard_models::{DownloadRequest, DownloadStatus};

use crate::ops;
use crate::ops::library::{EngineSettings, ImportMode, LibraryModel, ModelSettings, ModelsPage};
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn models_page(state: State<'_, Arc<AppState>>) -> Result<ModelsPage, AppError> {
    ops::library::page(&state).await
}

#[tauri::command]
#[specta::specta]
pub async fn import_model(
    state: State<'_, Arc<AppState>>,
    path: String,
    mode: ImportMode,
) -> Result<LibraryModel, AppError> {
    ops::library::import(&state, path, mode).await
}

#[tauri::command]
#[specta::specta]
pub async fn save_model_settings(
    state: State<'_, Arc<AppState>>,
    id: String,
    settings: ModelSettings,
) -> Result<LibraryModel, AppError> {
    ops::library::save_settings(&state, &id, settings).await
}

/// Loads a text model into memory now, so that its next request does not wait for it.
#[tauri::command]
#[specta::specta]
pub async fn load_model_now(state: State<'_, Arc<AppState>>, id: String) -> Result<LibraryModel, AppError> {
    ops::library::load_now(&state, &id).await
}

/// Takes a model out of memory once its requests have ended.
#[tauri::command]
#[specta::specta]
pub async fn unload_model(state: State<'_, Arc<AppState>>, id: String) -> Result<LibraryModel, AppError> {
    ops::library::unload(&state, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_model(state: State<'_, Arc<AppState>>, id: String) -> Result<ModelsPage, AppError> {
    ops::library::delete(&state, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn save_engine_settings(
    state: State<'_, Arc<AppState>>,
    settings: EngineSettings,
) -> Result<ModelsPage, AppError> {
    ops::library::save_engine_settings(&state, settings).await
}

// Async so that they run on the runtime the download tasks are spawned on.
#[tauri::command]
#[specta::specta]
pub async fn start_download(
    state: State<'_, Arc<AppState>>,
    request: DownloadRequest,
) -> Result<DownloadStatus, AppError> {
    ops::library::start_download(&state, request)
}

#[tauri::command]
#[specta::specta]
pub async fn pause_download(state: State<'_, Arc<AppState>>, id: String) -> Result<DownloadStatus, AppError> {
    state.downloads.pause(&id).map_err(Into::into)
}

#[tauri::command]
#[specta::specta]
pub async fn resume_download(state: State<'_, Arc<AppState>>, id: String) -> Result<DownloadStatus, AppError> {
    state.downloads.resume(&id).map_err(Into::into)
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_download(state: State<'_, Arc<AppState>>, id: String) -> Result<DownloadStatus, AppError> {
    state.downloads.cancel(&id).map_err(Into::into)
}

/// One vector per text from a local embedding model.
#[tauri::command]
#[specta::specta]
pub async fn embed(state: State<'_, Arc<AppState>>, request: EmbedRequest) -> Result<EmbedResponse, AppError> {
    state.gateway.embed(request).await
}
