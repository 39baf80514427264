//! The Vision page.

use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::State;

use switchboard_core::AppError;
use switchboard_gateway::{DescribeRequest, DescribeSummary, GenerationEvent};

use crate::ops;
use crate::ops::vision::{ImagePreview, VisionPage};
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn vision_page(state: State<'_, Arc<AppState>>) -> Result<VisionPage, AppError> {
    ops::vision::page(&state).await
}

/// Thumbnails and checks for dropped or picked files, each on its own.
#[tauri::command]
#[specta::specta]
pub async fn image_previews(paths: Vec<String>) -> Vec<ImagePreview> {
    ops::vision::previews(paths).await
}

/// Describes one image, streaming the text through `on_event`.
#[tauri::command]
#[specta::specta]
pub async fn describe_image(
    state: State<'_, Arc<AppState>>,
    request: DescribeRequest,
    on_event: Channel<GenerationEvent>,
) -> Result<DescribeSummary, AppError> {
    let (forward, delivered) = super::generation::stream_to(on_event);
    let result = state.gateway.describe_image(request, forward).await;
    let _ = delivered.await;
    result
}

/// Asks where to save a description (the native save dialog, opened here so
/// that the web view never names a path to write), then writes it there.
/// `None` when the user cancelled the dialog.
#[tauri::command]
#[specta::specta]
pub async fn save_text_as(
    app: tauri::AppHandle,
    suggested_name: String,
    text: String,
) -> Result<Option<String>, AppError> {
    use tauri_plugin_dialog::DialogExt;
    let name: String = suggested_name.chars().filter(|c| !matches!(c, '/' | '\\' | '\0')).take(200).collect();
    let picked = tokio::task::spawn_blocking(move || {
        app.dialog().file().set_file_name(name).add_filter("Text", &["txt"]).blocking_save_file()
    })
    .await
    .map_err(|e| AppError::new(switchboard_core::ErrorCode::Internal, e.to_string()))?;
    let Some(path) = picked.and_then(|p| p.into_path().ok()) else {
        return Ok(None);
    };
    ops::vision::save_text(&path, text).await?;
    Ok(Some(path.display().to_string()))
}
