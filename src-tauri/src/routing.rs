//! Routing's work in the background while the app runs: health probes of
//! the providers that ask for them, and routing events sent to the window as
//! they happen.

use std::time::Duration;

use tauri::{AppHandle, Manager};
use tauri_specta::Event as _;
use tokio::sync::broadcast::error::RecvError;

use crate::bindings::RoutingEventRaised;
use crate::state::AppState;

/// How often the gateway looks for providers due a probe.
const PROBE_TICK: Duration = Duration::from_secs(5);

/// Starts both loops; they live as long as the app.
pub fn start(app: &AppHandle) {
    let prober = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(PROBE_TICK).await;
            prober.state::<AppState>().gateway.probe_due().await;
        }
    });
    let mut events = app.state::<AppState>().gateway.subscribe();
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
