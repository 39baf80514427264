//! Local-versus-cloud comparisons from the window: run (progress streamed),
//! stop, list, open, delete, export as Markdown, and prompts from a file.

use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::State;

use switchboard_core::{AppError, ComparisonListing, ComparisonReport, ComparisonRequest};
use switchboard_gateway::ComparisonProgress;

use crate::ops;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn run_comparison(
    state: State<'_, Arc<AppState>>,
    request: ComparisonRequest,
    progress: Channel<ComparisonProgress>,
) -> Result<ComparisonReport, AppError> {
    ops::compare::run(&state, &request, move |p| drop(progress.send(p))).await
}

#[tauri::command]
#[specta::specta]
pub fn stop_comparison(state: State<'_, Arc<AppState>>) -> bool {
    ops::compare::stop(&state)
}

#[tauri::command]
#[specta::specta]
pub async fn list_comparisons(state: State<'_, Arc<AppState>>) -> Result<Vec<ComparisonListing>, AppError> {
    ops::compare::list(&state).await
}

#[tauri::command]
#[specta::specta]
pub async fn comparison_report(state: State<'_, Arc<AppState>>, id: String) -> Result<ComparisonReport, AppError> {
    ops::compare::get(&state, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_comparison(state: State<'_, Arc<AppState>>, id: String) -> Result<(), AppError> {
    ops::compare::delete(&state, &id).await
}

/// The built-in use cases' sample prompts.
#[tauri::command]
#[specta::specta]
pub fn sample_prompts() -> Vec<String> {
    switchboard_core::sample_prompts()
}

/// Prompts from a JSON or CSV file (a path the file picker or the user gave).
#[tauri::command]
#[specta::specta]
pub async fn prompts_from_file(path: String) -> Result<Vec<String>, AppError> {
    tokio::task::spawn_blocking(move || ops::compare::prompts_from_file(std::path::Path::new(&path)))
        .await
        .map_err(|e| AppError::new(switchboard_core::ErrorCode::Internal, e.to_string()))?
}

/// Asks where to save (native dialog), then writes the report as Markdown
/// with its charts beside it; the files written, none when cancelled.
#[tauri::command]
#[specta::specta]
pub async fn export_comparison(
    app: tauri::AppHandle,
    state: State<'_, Arc<AppState>>,
    id: String,
) -> Result<Option<Vec<String>>, AppError> {
    let report = ops::compare::get(&state, &id).await?;
    let name: String =
        report.name.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '-' }).take(80).collect();
    let Some(path) = super::dialogs::ask_save_path(app, &format!("{name}.md"), "md").await? else {
        return Ok(None);
    };
    tokio::task::spawn_blocking(move || ops::compare::export_markdown(&report, &path))
        .await
        .map_err(|e| AppError::new(switchboard_core::ErrorCode::Internal, e.to_string()))?
        .map(Some)
}
