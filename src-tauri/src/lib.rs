//! The Switchboard desktop app: the Tauri shell around the engine and the store.
//!
//! Table of contents:
//! - [`state`]: what lives for the app's lifetime (paths, store, engine, model status).
//! - [`ops`]: each operation written once, free of Tauri (`async fn op(state, req)`).
//! - [`commands`]: thin Tauri commands over `ops`, exported to TypeScript.
//! - [`bindings`]: the tauri-specta builder that registers commands and events.
//! - [`routing`]: routing's background work (health probes, events to the window).
//! - [`cli`]: `compare` and `costs export` without a window, on the app's data.

pub mod bindings;
pub mod cli;
pub mod commands;
pub mod housekeeping;
pub mod logging;
pub mod ops;
pub mod routing;
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
            app.manage(app_state);
            ops::default_model::start_in_background(app.handle().clone());
            routing::start(app.handle());
            housekeeping::start(app.handle());
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running Switchboard");
}
