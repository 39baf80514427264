//! The local HTTP API inside the app: started at launch when Settings has it
//! on, restarted when its settings change, stopped on request. The window
//! reads its state (address, requests served, why it failed to start).

use std::sync::{Arc, Mutex};

use switchboard_core::{ApiServerSettings, AppError};
use switchboard_server::{RunningServer, ServerStatus};

use crate::state::AppState;

#[derive(Default)]
pub struct ApiServer {
    running: tokio::sync::Mutex<Option<RunningServer>>,
    /// Why the last start failed (port taken, say), until the next start.
    failed: Mutex<Option<String>>,
    /// Whether a server runs now (read without waiting for the lock).
    live: Mutex<Option<Arc<switchboard_server::ApiState>>>,
}

impl ApiServer {
    /// Stops any running server, then starts one if `settings.enabled`.
    pub async fn apply(&self, app: Arc<AppState>, settings: ApiServerSettings) -> ServerStatus {
        let mut running = self.running.lock().await;
        if let Some(server) = running.take() {
            *self.live.lock().expect("live lock") = None;
            server.stop().await;
        }
        *self.failed.lock().expect("failed lock") = None;
        if settings.enabled {
            match switchboard_server::start(app, settings).await {
                Ok(server) => {
                    *self.live.lock().expect("live lock") = Some(server.state.clone());
                    *running = Some(server);
                }
                Err(e) => {
                    tracing::error!(error = %e.message, "the local API could not start");
                    *self.failed.lock().expect("failed lock") = Some(e.message);
                }
            }
        }
        drop(running);
        self.status()
    }

    /// Stops the server (the setting stays as it is; the next launch starts it again).
    pub async fn stop(&self) {
        if let Some(server) = self.running.lock().await.take() {
            *self.live.lock().expect("live lock") = None;
            server.stop().await;
        }
    }

    pub fn is_running(&self) -> bool {
        self.live.lock().expect("live lock").is_some()
    }

    pub fn status(&self) -> ServerStatus {
        match &*self.live.lock().expect("live lock") {
            Some(state) => state.status(),
            None => ServerStatus { error: self.failed.lock().expect("failed lock").clone(), ..Default::default() },
        }
    }
}

/// Starts the server at launch when Settings has it on.
pub async fn start_if_enabled(server: &ApiServer, app: Arc<AppState>) -> Result<(), AppError> {
    let settings = app.store().api_settings().await?;
    if settings.enabled {
        server.apply(app, settings).await;
    }
    Ok(())
}
