//! The default local model: found on disk, copied from the shared cache, or
//! downloaded and verified, with progress published to the UI.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::state::{AppState, LocalModel, ModelStatus};
use switchboard_core::AppError;
use switchboard_models::{default_model, FetchOptions, Progress};

/// The index the default model's wheels are fetched from.
pub fn index_url() -> String {
    std::env::var("SWITCHBOARD_PYPI_INDEX").unwrap_or_else(|_| "https://pypi.org/simple".into())
}

/// Makes the default model available, telling `publish` (and the state) how it goes.
pub async fn make_available(state: &AppState, publish: &(dyn Fn(ModelStatus) + Send + Sync)) {
    let publish = |status: ModelStatus| {
        state.set_model_status(status.clone());
        publish(status);
    };
    match ensure(state, &publish).await {
        Ok(model) => publish(ModelStatus::Ready { model }),
        Err(error) => {
            tracing::error!(%error, "default model unavailable");
            publish(ModelStatus::Failed { error });
        }
    }
}

/// Ensures the default model is in the models folder; `publish` hears about progress.
pub async fn ensure(state: &AppState, publish: &(dyn Fn(ModelStatus) + Send + Sync)) -> Result<LocalModel, AppError> {
    let source = default_model();
    let cancel = AtomicBool::new(false);
    let last = std::sync::Mutex::new(Instant::now() - Duration::from_secs(1));
    let on_progress = |p: Progress| {
        // A few updates a second are plenty for a progress bar.
        let mut last = last.lock().expect("progress lock");
        if last.elapsed() >= Duration::from_millis(200) || p.done == p.total {
            *last = Instant::now();
            publish(ModelStatus::Fetching { done: p.done as f64, total: p.total as f64 });
        }
    };
    let opts = FetchOptions {
        index_url: index_url(),
        cache_dir: Some(state.paths.model_cache.clone()),
        cancel: &cancel,
        on_progress: &on_progress,
    };
    let path = switchboard_models::fetch(&state.http, &source, &state.paths.models_dir, &opts).await?;
    Ok(LocalModel {
        name: format!("local/{}", source.id),
        path: path.display().to_string(),
        size_bytes: source.size as f64,
    })
}
