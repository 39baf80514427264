//! Local text generation for a use case: resolve the model and parameters,
//! stream tokens, and record the request in the ledger whatever its outcome.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use switchboard_core::{
    find_use_case, AppError, ErrorCode, FinishReason, GenerationStats, ModelRef, NewRequestRecord, RequestStatus,
    SamplingParams,
};
use switchboard_engine::GenerateRequest;
use switchboard_store::queries::requests;

use crate::state::{AppState, ModelStatus};

/// A generation asked for by the UI.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct GenerateInput {
    /// Chosen by the caller so that Stop can name the request before it ends.
    pub request_id: String,
    pub use_case: String,
    pub prompt: String,
    /// Per-request parameters; the use case's defaults when absent.
    pub params: Option<SamplingParams>,
}

/// Streamed while the request runs.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GenerationEvent {
    Started { model: String },
    Token { text: String },
}

/// Returned when the request ends normally or is cancelled.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct GenerationSummary {
    pub request_id: String,
    pub ledger_id: String,
    pub model: String,
    pub status: RequestStatus,
    pub stats: GenerationStats,
}

pub async fn generate(
    state: &AppState,
    input: GenerateInput,
    on_event: impl Fn(GenerationEvent) + Send + 'static,
) -> Result<GenerationSummary, AppError> {
    let invalid = |m: String| AppError::new(ErrorCode::InvalidInput, m);
    let use_case = find_use_case(&input.use_case).ok_or_else(|| invalid(format!("unknown use case '{}'", input.use_case)))?;
    let request_id = input.request_id.trim().to_string();
    if request_id.is_empty() || request_id.len() > 128 {
        return Err(invalid("request_id must be 1 to 128 characters".into()));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let mut running = state.running.lock().expect("running lock");
        if running.contains_key(&request_id) {
            return Err(invalid(format!("request {request_id} is already running")));
        }
        running.insert(request_id.clone(), cancel.clone());
    }

    // From here on every outcome, failures included, lands in the ledger.
    let mut model = ModelRef::local(switchboard_models::default_model().id);
    let outcome = run(state, input, &use_case, &mut model, cancel, on_event).await;
    state.running.lock().expect("running lock").remove(&request_id);

    let mut record = NewRequestRecord {
        use_case: use_case.id.clone(),
        provider: model.provider.clone(),
        model: model.model.clone(),
        input_tokens: 0,
        output_tokens: 0,
        cost_usd: 0.0,
        latency_ms: 0.0,
        ttft_ms: None,
        tokens_per_second: None,
        status: RequestStatus::Error,
        error: None,
    };
    match outcome {
        Ok(stats) => {
            let status =
                if stats.finish_reason == FinishReason::Cancelled { RequestStatus::Cancelled } else { RequestStatus::Ok };
            record = NewRequestRecord {
                input_tokens: stats.input_tokens,
                output_tokens: stats.output_tokens,
                latency_ms: stats.latency_ms,
                ttft_ms: stats.ttft_ms,
                tokens_per_second: stats.tokens_per_second,
                status,
                error: (status == RequestStatus::Cancelled).then(|| "cancelled: stopped by the user".to_string()),
                ..record
            };
            let row = requests::insert(state.store.pool(), &record).await?;
            Ok(GenerationSummary { request_id, ledger_id: row.id, model: model.to_string(), status, stats })
        }
        Err((error, latency_ms)) => {
            record.latency_ms = latency_ms;
            record.error = Some(format!("{}: {}", code_name(error.code), error.message));
            if let Err(e) = requests::insert(state.store.pool(), &record).await {
                tracing::error!(%e, "could not record a failed request");
            }
            Err(error)
        }
    }
}

/// Resolves parameters and the model, then runs the engine on a blocking thread.
/// Errors carry the milliseconds spent, for the ledger.
async fn run(
    state: &AppState,
    input: GenerateInput,
    use_case: &switchboard_core::UseCase,
    model: &mut ModelRef,
    cancel: Arc<AtomicBool>,
    on_event: impl Fn(GenerationEvent) + Send + 'static,
) -> Result<GenerationStats, (AppError, f64)> {
    let started = std::time::Instant::now();
    let fail = |e: AppError| (e, started.elapsed().as_secs_f64() * 1000.0);
    let params = input.params.unwrap_or_else(|| use_case.defaults.clone());
    params.validate().map_err(|e| fail(AppError::new(ErrorCode::InvalidInput, e.to_string())))?;

    let model_path = match state.model_status() {
        ModelStatus::Ready { model: local } => {
            *model = ModelRef::parse(&local.name).map_err(fail)?;
            PathBuf::from(local.path)
        }
        ModelStatus::Fetching { done, total } => {
            return Err(fail(AppError::new(
                ErrorCode::ModelMissing,
                format!("the local model is still being downloaded ({:.0}%); try again when it is ready", done / total.max(1.0) * 100.0),
            )))
        }
        ModelStatus::Missing => return Err(fail(AppError::new(ErrorCode::ModelMissing, "no local model is available yet"))),
        ModelStatus::Failed { error } => {
            return Err(fail(AppError::new(ErrorCode::ModelMissing, format!("no local model: {}", error.message))))
        }
    };

    on_event(GenerationEvent::Started { model: model.to_string() });
    let engine = state.engine.clone();
    let req = GenerateRequest { prompt: input.prompt, raw_prompt: false, params, ignore_eos: false };
    tokio::task::spawn_blocking(move || {
        let mut emit = |text: &str| on_event(GenerationEvent::Token { text: text.to_string() });
        engine.generate(&model_path, &req, &cancel, &mut emit)
    })
    .await
    .map_err(|e| fail(AppError::new(ErrorCode::EngineFailed, format!("the engine stopped unexpectedly: {e}"))))?
    .map_err(|e| fail(AppError::from(e)))
}

/// Stops a request in flight; false when no such request is running.
pub fn cancel(state: &AppState, request_id: &str) -> bool {
    match state.running.lock().expect("running lock").get(request_id) {
        Some(flag) => {
            flag.store(true, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| format!("{code:?}"))
}
