//! Chores that run while the app does: deleting kept request text once its
//! use case's retention period has ended (at start, then hourly).

use std::time::Duration;

use tauri::{AppHandle, Manager};

use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(3600);

pub fn start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match crate::ops::history::purge_expired_text(&app.state::<AppState>()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "deleted request text past its retention period"),
                Err(e) => tracing::error!(error = %e.message, "could not delete expired request text"),
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}
