//! Work the app starts beside its window: the default model made available
//! (progress to the window), routing events sent to the window as they
//! happen, and the service's chores (expired request text, provider probes).

use std::sync::Arc;

use tauri::AppHandle;
use tauri_specta::Event as _;
use tokio::sync::broadcast::error::RecvError;

use crate::bindings::{ModelStatusChanged, RoutingEventRaised};
use crate::state::AppState;

/// Starts every background task; they live as long as the app.
pub fn start(app: &AppHandle, state: Arc<AppState>) {
    let window = app.clone();
    let model_state = state.clone();
    tauri::async_runtime::spawn(async move {
        let publish = |status| {
            let _ = ModelStatusChanged(status).emit(&window);
        };
        crate::ops::default_model::make_available(&model_state, &publish).await;
    });
    tauri::async_runtime::spawn(switchboard_service::housekeeping::run(state.clone()));
    tauri::async_runtime::spawn(switchboard_service::housekeeping::probe_providers(state.clone()));
    let mut events = state.gateway.subscribe();
    let window = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let _ = RoutingEventRaised(event).emit(&window);
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "routing events came faster than the window took them");
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}
