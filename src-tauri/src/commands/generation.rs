//! Running requests from the UI through the gateway.

use std::sync::Arc;
use std::time::Duration;

use tauri::ipc::Channel;
use tauri::State;
use tokio::sync::mpsc;

use switchboard_core::AppError;
use switchboard_gateway::{GenerationEvent, GenerationSummary, LlmRequest};

use crate::state::AppState;

/// How long streamed text is gathered before it is sent to the window: one
/// message per token costs the web view more than the tokens themselves.
const STREAM_INTERVAL: Duration = Duration::from_millis(30);

/// Forwards events to `channel`, tokens gathered per [`STREAM_INTERVAL`].
/// Returns the callback for the gateway and a task that ends, everything
/// delivered, once the callback is dropped.
pub(crate) fn stream_to(
    channel: Channel<GenerationEvent>,
) -> (impl Fn(GenerationEvent) + Send + Sync + 'static, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<GenerationEvent>();
    let task = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let GenerationEvent::Token { text } = event else {
                let _ = channel.send(event);
                continue;
            };
            let mut text = text;
            let deadline = tokio::time::Instant::now() + STREAM_INTERVAL;
            let mut other = None;
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(GenerationEvent::Token { text: more })) => text.push_str(&more),
                    Ok(Some(event)) => {
                        other = Some(event);
                        break;
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let _ = channel.send(GenerationEvent::Token { text });
            if let Some(event) = other {
                let _ = channel.send(event);
            }
        }
    });
    (move |event| drop(tx.send(event)), task)
}

#[tauri::command]
#[specta::specta]
pub async fn generate(
    state: State<'_, Arc<AppState>>,
    request: LlmRequest,
    on_event: Channel<GenerationEvent>,
) -> Result<GenerationSummary, AppError> {
    let (forward, delivered) = stream_to(on_event);
    let result = state.gateway.generate(request, forward).await;
    let _ = delivered.await;
    result
}

#[tauri::command]
#[specta::specta]
pub fn cancel_generation(state: State<'_, Arc<AppState>>, request_id: String) -> bool {
    state.gateway.cancel(&request_id)
}
