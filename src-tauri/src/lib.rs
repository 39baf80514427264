//! The Switchboard desktop app: the Tauri shell around the service (state and
//! operations, shared with the HTTP API and the command line).
//!
//! Table of contents:
//! - [`commands`]: thin Tauri commands over `ops`, exported to TypeScript.
//! - [`bindings`]: the tauri-specta builder that registers commands and events.
//! - [`background`]: the default model, routing events to the window, chores.
//! - [`api_server`]: the local HTTP API inside the app; [`tray`]: the tray icon
//!   that keeps it serving with the window closed; [`single_instance`]: one app per data folder.
//! - [`state`], [`ops`], [`logging`]: re-exported from `switchboard-service`.

pub mod api_server;
pub mod background;
pub mod bindings;
pub mod commands;
pub mod single_instance;
pub mod tray;

pub use switchboard_service::{housekeeping, logging, ops, state};

use std::sync::Arc;

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
            let paths = state::Paths::resolve(None, app.path().app_data_dir()?, app.path().cache_dir()?);
            std::fs::create_dir_all(&paths.data_dir)?;
            match single_instance::claim(&paths.data_dir) {
                single_instance::Claim::Other => {
                    tracing::info!("Switchboard already runs on this data folder: its window was shown");
                    std::process::exit(0);
                }
                single_instance::Claim::First(listener) => {
                    if let Some(l) = listener {
                        single_instance::listen(l, app.handle().clone());
                    }
                }
            }
            logging::write_to_file(&paths.log_file());
            let app_state = Arc::new(tauri::async_runtime::block_on(state::AppState::open(paths))?);
            app.manage(app_state.clone());
            app.manage(api_server::ApiServer::default());
            if let Err(e) = tray::create(app.handle()) {
                tracing::warn!(%e, "no tray icon");
            }
            background::start(app.handle(), app_state.clone());
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let server = handle.state::<api_server::ApiServer>();
                if let Err(e) = api_server::start_if_enabled(&server, app_state).await {
                    tracing::error!(error = %e.message, "could not read the local API's settings");
                }
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            // With the API serving, closing the window hides it; the tray's Quit ends the app.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if window.app_handle().state::<api_server::ApiServer>().is_running() {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .build(tauri::generate_context!())
        .expect("error while building Switchboard")
        .run(|app, event| {
            if let tauri::RunEvent::ExitRequested { .. } | tauri::RunEvent::Exit = event {
                single_instance::exiting();
            }
            if let tauri::RunEvent::Exit = event {
                // The API stops first (requests in flight get a few seconds to end), then
                // the ledger rows it queued are written, before the process ends.
                let server = app.state::<api_server::ApiServer>();
                tauri::async_runtime::block_on(async {
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server.stop()).await;
                    if let Some(state) = app.try_state::<Arc<state::AppState>>() {
                        state.store().flush_ledger().await;
                    }
                });
            }
        });
}
