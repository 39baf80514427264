//! Tauri commands: extract, call an op (or the gateway), return. No logic and no SQL here.

mod api;
mod compare;
mod config;
mod dialogs;
mod generation;
mod history;
mod library;
mod providers;
mod routing;
mod vision;

pub use api::*;
pub use compare::*;
pub use config::*;
pub use dialogs::*;
pub use generation::*;
pub use history::*;
pub use library::*;
pub use providers::*;
pub use routing::*;
pub use vision::*;

use std::sync::Arc;
use tauri::State;

use switchboard_core::AppError;

use crate::ops;
use crate::state::{AppState, ModelStatus};

/// Facts about this installation, for the Settings page.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub database: String,
    pub threads: u32,
    /// Recorded as the author of configuration changes.
    pub user: String,
}

/// The compute devices the engine worker found (starts the worker if needed).
#[tauri::command]
#[specta::specta]
pub async fn engine_devices(state: State<'_, Arc<AppState>>) -> Result<Vec<switchboard_core::EngineDevice>, AppError> {
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || engine.devices())
        .await
        .map_err(|e| AppError::new(switchboard_core::ErrorCode::EngineFailed, e.to_string()))?
}

#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, Arc<AppState>>) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        data_dir: state.paths.data_dir.display().to_string(),
        database: state.paths.db_path.display().to_string(),
        threads: state.engine.config().threads,
        user: state.actor.clone(),
    }
}

#[tauri::command]
#[specta::specta]
pub fn model_status(state: State<'_, Arc<AppState>>) -> ModelStatus {
    state.model_status()
}

/// The UI preferences (theme, language, navigation), read before the first render.
#[tauri::command]
#[specta::specta]
pub async fn ui_prefs(state: State<'_, Arc<AppState>>) -> Result<ops::prefs::UiPrefs, AppError> {
    ops::prefs::load(&state).await
}

#[tauri::command]
#[specta::specta]
pub async fn save_ui_prefs(
    state: State<'_, Arc<AppState>>,
    prefs: ops::prefs::UiPrefs,
) -> Result<ops::prefs::UiPrefs, AppError> {
    ops::prefs::save(&state, &prefs).await
}
