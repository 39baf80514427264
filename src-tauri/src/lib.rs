//! The Switchboard desktop app: the Tauri shell around the engine and the store.
//!
//! Table of contents:
//! - [`state`]: what lives for the app's lifetime (paths, store, engine, model status).
//! - [`ops`]: each operation written once, free of Tauri (`async fn op(state, req)`).
//! - [`commands`]: thin Tauri commands over `ops`, exported to TypeScript.
//! - [`bindings`]: the tauri-specta builder that registers commands and events.

pub mod bindings;
pub mod commands;
pub mod ops;
pub mod state;

use tauri::Manager;

/// Starts the app: logging, state, the default-model check, then the window.
pub fn run() {
    init_logging();
    let builder = bindings::builder();

    tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::default().build())
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            let paths = state::Paths::resolve(app.handle())?;
            let app_state = tauri::async_runtime::block_on(state::AppState::open(paths))?;
            app.manage(app_state);
            ops::default_model::start_in_background(app.handle().clone());
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running Switchboard");
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,llama-cpp-2=warn,llama_cpp_2=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
