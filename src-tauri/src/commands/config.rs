//! Use cases, models, configuration files and the audit log.

use std::sync::Arc;
use tauri::State;

use switchboard_core::{AppError, AuditEntry, AuditFilter, NewUseCase, UseCase, UseCaseConfig};

use crate::ops;
use crate::ops::config_io::{ExportedConfig, ImportPreview};
use crate::ops::models::ModelOption;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn list_use_cases(state: State<'_, Arc<AppState>>) -> Result<Vec<UseCase>, AppError> {
    ops::use_cases::list(&state).await
}

#[tauri::command]
#[specta::specta]
pub async fn save_use_case(
    state: State<'_, Arc<AppState>>,
    id: String,
    config: UseCaseConfig,
) -> Result<UseCase, AppError> {
    ops::use_cases::save(&state, &id, config).await
}

#[tauri::command]
#[specta::specta]
pub async fn create_use_case(state: State<'_, Arc<AppState>>, use_case: NewUseCase) -> Result<UseCase, AppError> {
    ops::use_cases::create(&state, use_case).await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_use_case(state: State<'_, Arc<AppState>>, id: String) -> Result<(), AppError> {
    ops::use_cases::delete(&state, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_models(state: State<'_, Arc<AppState>>) -> Result<Vec<ModelOption>, AppError> {
    ops::models::list(&state).await
}

#[tauri::command]
#[specta::specta]
pub async fn export_config(state: State<'_, Arc<AppState>>) -> Result<ExportedConfig, AppError> {
    ops::config_io::export_to_file(&state).await
}

#[tauri::command]
#[specta::specta]
pub async fn preview_config_import(state: State<'_, Arc<AppState>>, text: String) -> Result<ImportPreview, AppError> {
    ops::config_io::preview(&state, &text).await
}

#[tauri::command]
#[specta::specta]
pub async fn apply_config_import(state: State<'_, Arc<AppState>>, text: String) -> Result<u32, AppError> {
    ops::config_io::apply(&state, &text).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_audit(state: State<'_, Arc<AppState>>, filter: AuditFilter) -> Result<Vec<AuditEntry>, AppError> {
    ops::audit::list(&state, filter).await
}
