//! The Switchboard desktop app: the Tauri shell around the engine and the store.
//!
//! Table of contents:
//! - [`state`]: what lives for the app's lifetime (paths, store, engine, model status).
//! - [`ops`]: each operation written once, free of Tauri (`async fn op(state, req)`).
//! - [`commands`]: thin Tauri commands over `ops`, exported to TypeScript.
//! - [`bindings`]: the tauri-specta builder that registers commands and events.

pub mod bindings;
pub mod commands;
pub mod logging;
pub mod ops;
pub mod state;

use tauri::Manager;

/// Starts the app: logging, state, the default-model check, then the window.
pub fn run() {
    logging::init();
    let builder = bindings::builder();

    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            let paths = state::Paths::resolve(app.handle())?;
            logging::write_to_file(&paths.log_file());
            let app_state = tauri::async_runtime::block_on(state::AppState::open(paths))?;
            let mut routing_events = app_state.gateway.subscribe();
            app.manage(app_state);
            ops::default_model::start_in_background(app.handle().clone());
            // Background health probes of the providers that ask for them.
            let prober = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    let state = prober.state::<state::AppState>();
                    state.gateway.probe_due().await;
                }
            });
            // Routing events to the window, as they happen.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                use tauri_specta::Event as _;
                loop {
                    match routing_events.recv().await {
                        Ok(event) => {
                            let _ = bindings::RoutingEventRaised(event).emit(&handle);
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "routing events came faster than the window took them");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running Switchboard");
}
