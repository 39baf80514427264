//! Chores that run while the app does: deleting kept request text once its
//! use case's retention period has ended (at start, then hourly), and the
//! providers' health probes.

use std::time::Duration;

use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(3600);

/// Runs for as long as the state lives (spawn it on the runtime).
pub async fn run(state: std::sync::Arc<AppState>) {
    loop {
        match crate::ops::history::purge_expired_text(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "deleted request text past its retention period"),
            Err(e) => tracing::error!(error = %e.message, "could not delete expired request text"),
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// How often the gateway looks for providers due a health probe.
const PROBE_TICK: Duration = Duration::from_secs(5);

/// Probes the providers that ask for it, for as long as the state lives.
pub async fn probe_providers(state: std::sync::Arc<AppState>) {
    loop {
        tokio::time::sleep(PROBE_TICK).await;
        state.gateway.probe_due().await;
    }
}
