//! The generate operation end to end below the UI: a real SQLite file in a
//! temporary data folder, the real engine on the test model, and the ledger
//! row each outcome leaves behind.

use std::path::PathBuf;
use std::sync::mpsc;

use switchboard_app::ops::generate::{cancel, generate, GenerateInput, GenerationEvent};
use switchboard_app::state::{AppState, LocalModel, ModelStatus, Paths};
use switchboard_core::{AppError, ErrorCode, RequestStatus, SamplingParams};
use switchboard_store::queries::requests;

fn cached_model() -> PathBuf {
    let cache = std::env::var_os("SWITCHBOARD_MODEL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/switchboard/models"));
    let path = cache.join("gemma-3-270m-q4_k_m.gguf");
    assert!(path.exists(), "test model missing at {}: run fetch-model first", path.display());
    path
}

async fn state_with(model: Option<PathBuf>) -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Paths::under(dir.path().join("data"), dir.path().join("cache"))).await.unwrap();
    if let Some(path) = model {
        state.set_model_status(ModelStatus::Ready {
            model: LocalModel { name: "local/gemma-3-270m-q4_k_m".into(), path: path.display().to_string(), size_bytes: 1.0 },
        });
    }
    (state, dir)
}

fn input(id: &str, use_case: &str, prompt: &str, params: Option<SamplingParams>) -> GenerateInput {
    GenerateInput { request_id: id.into(), use_case: use_case.into(), prompt: prompt.into(), params }
}

fn short() -> Option<SamplingParams> {
    Some(SamplingParams::new(0.0, 40, 0.9, 12, 1.0))
}

async fn only_row(state: &AppState) -> switchboard_core::RequestRecord {
    let rows = requests::recent(state.store.pool(), 10).await.unwrap();
    assert_eq!(rows.len(), 1, "exactly one ledger row: {rows:?}");
    rows.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_generation_streams_tokens_and_its_ledger_row_matches_the_summary() {
    let (state, _dir) = state_with(Some(cached_model())).await;
    let (tx, rx) = mpsc::channel();
    let summary = generate(&state, input("r1", "answer_generation", "Say hello.", short()), move |e| tx.send(e).unwrap())
        .await
        .unwrap();
    let events: Vec<GenerationEvent> = rx.try_iter().collect();
    assert!(matches!(&events[0], GenerationEvent::Started { model } if model == "local/gemma-3-270m-q4_k_m"));
    let tokens = events.iter().filter(|e| matches!(e, GenerationEvent::Token { .. })).count();
    assert!(tokens >= 1);
    assert_eq!(summary.status, RequestStatus::Ok);

    let row = only_row(&state).await;
    assert_eq!(row.id, summary.ledger_id);
    assert_eq!(row.record.use_case, "answer_generation");
    assert_eq!((row.record.provider.as_str(), row.record.model.as_str()), ("local", "gemma-3-270m-q4_k_m"));
    assert_eq!(row.record.input_tokens, summary.stats.input_tokens);
    assert_eq!(row.record.output_tokens, summary.stats.output_tokens);
    assert_eq!(row.record.cost_usd, 0.0);
    assert_eq!(row.record.status, RequestStatus::Ok);
    assert!(row.record.ttft_ms.is_some() && row.record.latency_ms > 0.0);
    assert!(state.paths.db_path.exists(), "a real SQLite file in the data folder");
}

#[tokio::test]
async fn stop_cancels_mid_stream_and_is_recorded_as_cancelled() {
    let (state, _dir) = state_with(Some(cached_model())).await;
    let state = std::sync::Arc::new(state);
    let (tx, rx) = mpsc::channel();
    let params = Some(SamplingParams::new(0.0, 40, 0.9, 2000, 1.0));
    let runner = {
        let state = state.clone();
        tokio::spawn(async move {
            generate(&state, input("long", "answer_generation", "Tell a very long story about ships.", params), move |e| {
                let _ = tx.send(e);
            })
            .await
        })
    };
    // Wait for the first token, then stop.
    let first = tokio::task::spawn_blocking(move || {
        rx.iter().find(|e| matches!(e, GenerationEvent::Token { .. })).is_some()
    });
    assert!(first.await.unwrap(), "a token arrives before the stop");
    assert!(cancel(&state, "long"));
    let summary = runner.await.unwrap().unwrap();
    assert_eq!(summary.status, RequestStatus::Cancelled);
    assert!(summary.stats.output_tokens < 2000);
    let row = only_row(&state).await;
    assert_eq!(row.record.status, RequestStatus::Cancelled);
    assert!(row.record.error.unwrap().contains("stopped by the user"));
    assert!(!cancel(&state, "long"), "a finished request cannot be stopped again");
}

async fn expect_failure(state: &AppState, inp: GenerateInput, code: ErrorCode) -> AppError {
    let err = generate(state, inp, |_| {}).await.unwrap_err();
    assert_eq!(err.code, code, "{err:?}");
    let row = only_row(state).await;
    assert_eq!(row.record.status, RequestStatus::Error);
    let recorded = row.record.error.unwrap();
    assert!(recorded.contains(&err.message), "ledger keeps the message: {recorded}");
    err
}

#[tokio::test]
async fn no_model_is_an_error_the_user_can_act_on_and_is_recorded() {
    let (state, _dir) = state_with(None).await;
    state.set_model_status(ModelStatus::Fetching { done: 50.0, total: 100.0 });
    let err = expect_failure(&state, input("a", "answer_generation", "hi", short()), ErrorCode::ModelMissing).await;
    assert!(err.message.contains("50%"), "{}", err.message);
}

#[tokio::test]
async fn a_missing_or_corrupt_model_file_is_recorded_and_the_next_request_works() {
    let (state, dir) = state_with(None).await;
    let corrupt = dir.path().join("corrupt.gguf");
    let bytes = std::fs::read(cached_model()).unwrap();
    std::fs::write(&corrupt, &bytes[..2 << 20]).unwrap();
    state.set_model_status(ModelStatus::Ready {
        model: LocalModel { name: "local/corrupt".into(), path: corrupt.display().to_string(), size_bytes: 1.0 },
    });
    let err = expect_failure(&state, input("c", "answer_generation", "hi", short()), ErrorCode::ModelLoadFailed).await;
    assert!(err.message.contains("corrupt"), "{}", err.message);

    std::fs::remove_file(&corrupt).unwrap();
    let err = generate(&state, input("d", "answer_generation", "hi", short()), |_| {}).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ModelMissing);

    state.set_model_status(ModelStatus::Ready {
        model: LocalModel { name: "local/gemma-3-270m-q4_k_m".into(), path: cached_model().display().to_string(), size_bytes: 1.0 },
    });
    generate(&state, input("e", "answer_generation", "hi", short()), |_| {}).await.unwrap();
}

#[tokio::test]
async fn a_prompt_longer_than_the_context_window_is_refused_and_recorded() {
    let (state, _dir) = state_with(Some(cached_model())).await;
    let long = "lorem ipsum ".repeat(4000);
    let err = expect_failure(&state, input("p", "answer_generation", &long, short()), ErrorCode::PromptTooLong).await;
    assert!(err.message.contains("context window"), "{}", err.message);
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let (state, _dir) = state_with(Some(cached_model())).await;
    let err = generate(&state, input("u", "no_such_use_case", "hi", None), |_| {}).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    let err = generate(&state, input("  ", "answer_generation", "hi", None), |_| {}).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(requests::recent(state.store.pool(), 10).await.unwrap().is_empty(), "refused before acceptance: no row");

    let mut hot = SamplingParams::new(0.7, 40, 0.9, 12, 1.0);
    hot.temperature = 9.0;
    let err = expect_failure(&state, input("t", "answer_generation", "hi", Some(hot)), ErrorCode::InvalidInput).await;
    assert!(err.message.contains("temperature"));
}
