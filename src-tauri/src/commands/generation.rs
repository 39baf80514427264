//! Running requests from the UI through the gateway.

use tauri::ipc::Channel;
use tauri::State;

use switchboard_core::AppError;
use switchboard_gateway::{GenerationEvent, GenerationSummary, LlmRequest};

use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn generate(
    state: State<'_, AppState>,
    request: LlmRequest,
    on_event: Channel<GenerationEvent>,
) -> Result<GenerationSummary, AppError> {
    state
        .gateway
        .generate(request, move |event| {
            let _ = on_event.send(event);
        })
        .await
}

#[tauri::command]
#[specta::specta]
pub fn cancel_generation(state: State<'_, AppState>, request_id: String) -> bool {
    state.gateway.cancel(&request_id)
}
