//! The Vision page.

use tauri::ipc::Channel;
use tauri::State;

use switchboard_core::AppError;
use switchboard_gateway::{DescribeRequest, DescribeSummary, GenerationEvent};

use crate::ops;
use crate::ops::vision::{ImagePreview, VisionPage};
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn vision_page(state: State<'_, AppState>) -> Result<VisionPage, AppError> {
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
    state: State<'_, AppState>,
    request: DescribeRequest,
    on_event: Channel<GenerationEvent>,
) -> Result<DescribeSummary, AppError> {
    let (forward, delivered) = super::generation::stream_to(on_event);
    let result = state.gateway.describe_image(request, forward).await;
    let _ = delivered.await;
    result
}

#[tauri::command]
#[specta::specta]
pub async fn save_text_file(path: String, text: String) -> Result<(), AppError> {
    ops::vision::save_text(path, text).await
}
