//! The native file dialogs, opened by the back end: the web view asks for a
//! kind of file and gets the paths the user chose; it cannot open a dialog
//! (or name a path to write) itself.

use serde::Deserialize;
use switchboard_core::{AppError, ErrorCode};

/// What the user is asked to choose.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PickPurpose {
    /// Photos for the Vision page (several at once).
    Images,
    /// One GGUF model file to import.
    Model,
    /// A JSON or CSV file of prompts for a comparison.
    Prompts,
}

/// The image types the picker offers (the back end checks the content, not the name).
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff"];

/// Opens the dialog for `purpose`; an empty list when the user cancelled.
#[tauri::command]
#[specta::specta]
pub async fn pick_files(app: tauri::AppHandle, purpose: PickPurpose) -> Result<Vec<String>, AppError> {
    use tauri_plugin_dialog::DialogExt;
    let picked = tokio::task::spawn_blocking(move || {
        let dialog = app.dialog().file();
        match purpose {
            PickPurpose::Images => dialog.add_filter("Images", IMAGE_EXTENSIONS).blocking_pick_files(),
            PickPurpose::Model => dialog.add_filter("GGUF", &["gguf"]).blocking_pick_file().map(|p| vec![p]),
            PickPurpose::Prompts => {
                dialog.add_filter("Prompts", &["json", "csv", "txt"]).blocking_pick_file().map(|p| vec![p])
            }
        }
    })
    .await
    .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(picked
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.into_path().ok())
        .map(|p| p.display().to_string())
        .collect())
}

/// Asks where to save a file named `name` (native dialog); none when the user
/// cancelled. `SWITCHBOARD_SAVE_DIALOG_ANSWER`, where set, is taken as the
/// user's answer instead: the end-to-end tests cannot click in a GTK dialog.
pub(crate) async fn ask_save_path(
    app: tauri::AppHandle,
    name: &str,
    extension: &'static str,
) -> Result<Option<std::path::PathBuf>, AppError> {
    use tauri_plugin_dialog::DialogExt;
    if let Some(answer) = std::env::var_os("SWITCHBOARD_SAVE_DIALOG_ANSWER").filter(|a| !a.is_empty()) {
        return Ok(Some(std::path::PathBuf::from(answer)));
    }
    let name = name.to_string();
    let picked = tokio::task::spawn_blocking(move || {
        app.dialog().file().set_file_name(name).add_filter(extension, &[extension]).blocking_save_file()
    })
    .await
    .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(picked.and_then(|p| p.into_path().ok()))
}
