//! Tauri commands: extract, call an op, return. No logic and no SQL here.

use tauri::ipc::Channel;
use tauri::State;

use switchboard_core::{builtin_use_cases, AppError, RequestRecord, UseCase};

use crate::ops;
use crate::ops::generate::{GenerateInput, GenerationEvent, GenerationSummary};
use crate::state::{AppState, ModelStatus};

/// Facts about this installation, for the Settings page.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub database: String,
    pub threads: u32,
}

#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        data_dir: state.paths.data_dir.display().to_string(),
        database: state.paths.db_path.display().to_string(),
        threads: state.engine.config().threads,
    }
}

#[tauri::command]
#[specta::specta]
pub fn list_use_cases() -> Vec<UseCase> {
    builtin_use_cases()
}

#[tauri::command]
#[specta::specta]
pub fn model_status(state: State<'_, AppState>) -> ModelStatus {
    state.model_status()
}

#[tauri::command]
#[specta::specta]
pub async fn generate(
    state: State<'_, AppState>,
    input: GenerateInput,
    on_event: Channel<GenerationEvent>,
) -> Result<GenerationSummary, AppError> {
    ops::generate::generate(&state, input, move |event| {
        let _ = on_event.send(event);
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub fn cancel_generation(state: State<'_, AppState>, request_id: String) -> bool {
    ops::generate::cancel(&state, &request_id)
}

#[tauri::command]
#[specta::specta]
pub async fn list_requests(state: State<'_, AppState>, limit: u32) -> Result<Vec<RequestRecord>, AppError> {
    ops::history::recent_requests(&state, limit).await
}
