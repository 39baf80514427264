//! `switchboard serve`: the service and the HTTP API without a window (the
//! API's settings from the app's Settings, flags overriding them), until
//! Ctrl-C or SIGTERM; then the listener stops, requests in flight finish and
//! every ledger row is written before the process ends.

use std::sync::Arc;

use switchboard_core::AppError;
use switchboard_service::{housekeeping, logging, ops, AppState, Paths};

use crate::args::ServeArgs;

pub async fn run(paths: Paths, args: ServeArgs) -> Result<(), AppError> {
    logging::init();
    logging::write_to_file(&paths.log_file());
    let state = Arc::new(AppState::open(paths).await?);
    let mut settings = state.store().api_settings().await?;
    if let Some(host) = args.host {
        settings.host = host;
    }
    if let Some(port) = args.port {
        settings.port = port;
    }
    if !args.allow_origins.is_empty() {
        settings.allowed_origins = args.allow_origins;
    }
    settings.fetch_image_urls |= args.fetch_image_urls;
    settings.max_body_mib = args.max_body_mib.unwrap_or(settings.max_body_mib);
    settings.max_images = args.max_images.unwrap_or(settings.max_images);
    settings.max_concurrent = args.max_concurrent.unwrap_or(settings.max_concurrent);
    let server = switchboard_server::start(state.clone(), settings).await?;
    // Said on stdout, so that scripts starting the server know when (and where) it listens.
    println!("listening on http://{}", server.address());
    let background = [
        tokio::spawn(housekeeping::run(state.clone())),
        tokio::spawn(housekeeping::probe_providers(state.clone())),
        tokio::spawn({
            let state = state.clone();
            async move { ops::default_model::make_available(&state, &|_| {}).await }
        }),
    ];
    shutdown_signal().await;
    tracing::info!("stopping: finishing the requests in flight");
    server.stop().await;
    for task in background {
        task.abort();
    }
    state.store().close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
