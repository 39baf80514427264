//! Crash isolation through the whole app path: the gateway runs the local
//! model in the engine worker (this crate's binary with `--engine-worker`);
//! when the worker dies mid-generation the request fails with a clear error
//! and a ledger row, and the app answers the next request.

use std::path::PathBuf;
use std::sync::{mpsc, Arc};

use switchboard_app::state::{AppState, Paths};
use switchboard_core::{ErrorCode, RequestStatus, SamplingParams};
use switchboard_gateway::{GenerationEvent, LlmRequest};
use switchboard_store::queries::requests;

fn cached_model() -> PathBuf {
    let path = switchboard_models::cached_default_model();
    assert!(path.exists(), "test model missing at {}: run fetch-model first", path.display());
    path
}

fn request(id: &str, prompt: &str, max_tokens: u32) -> LlmRequest {
    LlmRequest {
        request_id: id.into(),
        use_case: "answer_generation".into(),
        prompt: prompt.into(),
        model: None,
        params: Some(SamplingParams::new(0.7, 40, 0.9, max_tokens, 1.1)),
        priority: Default::default(),
        history: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_survives_its_engine_worker_dying_mid_generation() {
    // This test binary is not the app: point the supervisor at the app binary.
    std::env::set_var("SWITCHBOARD_ENGINE_WORKER", env!("CARGO_BIN_EXE_switchboard-desktop"));
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(AppState::open(Paths::under(dir.path().join("data"), dir.path().join("cache"))).await.unwrap());
    let model = s.paths.models_dir.join("gemma-3-270m-q4_k_m.gguf");
    if std::fs::hard_link(cached_model(), &model).is_err() {
        std::fs::copy(cached_model(), &model).unwrap();
    }

    let first = s.gateway.generate(request("warm", "Hi", 8), |_| {}).await.unwrap();
    assert_eq!(first.status, RequestStatus::Ok);
    let pid = s.engine.worker_pid().expect("a worker serves local requests");
    assert_ne!(pid, std::process::id());

    let (tx, rx) = mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        rx.recv().unwrap();
        // SAFETY: a signal to the worker process this test's app started.
        unsafe { libc::kill(pid as i32, libc::SIGABRT) };
    });
    let tx = std::sync::Mutex::new(Some(tx));
    let err = s
        .gateway
        .generate(request("doomed", "Write a long story about a lighthouse keeper.", 400), move |e| {
            if matches!(e, GenerationEvent::Token { .. }) {
                if let Some(tx) = tx.lock().unwrap().take() {
                    tx.send(()).unwrap();
                }
            }
        })
        .await
        .unwrap_err();
    killer.join().unwrap();
    assert_eq!(err.code, ErrorCode::EngineFailed);
    assert!(err.message.contains("SIGABRT"), "{}", err.message);

    let next = s.gateway.generate(request("after", "List three fruits.", 8), |_| {}).await.unwrap();
    assert_eq!(next.status, RequestStatus::Ok);
    assert_ne!(s.engine.worker_pid(), Some(pid), "a fresh worker");

    let rows = requests::recent(s.store().pool(), 10).await.unwrap();
    let doomed = rows.iter().find(|r| r.record.status == RequestStatus::Error).expect("the failed request is recorded");
    assert!(doomed.record.error.as_deref().unwrap().contains("engine_failed"));
    assert_eq!(rows.len(), 3);
}

async fn app_with_model(dir: &std::path::Path) -> Arc<AppState> {
    std::env::set_var("SWITCHBOARD_ENGINE_WORKER", env!("CARGO_BIN_EXE_switchboard-desktop"));
    let s = Arc::new(AppState::open(Paths::under(dir.join("data"), dir.join("cache"))).await.unwrap());
    let model = s.paths.models_dir.join("gemma-3-270m-q4_k_m.gguf");
    if std::fs::hard_link(cached_model(), &model).is_err() {
        std::fs::copy(cached_model(), &model).unwrap();
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_requests_thirty_seconds_apart_use_the_same_worker_and_resident_model() {
    // The gateway runs local jobs on tokio's blocking threads, which end after
    // 10 s idle; the worker they started must outlive them.
    let dir = tempfile::tempdir().unwrap();
    let s = app_with_model(dir.path()).await;
    let first = s.gateway.generate(request("first", "List three fruits.", 8), |_| {}).await.unwrap();
    assert!(first.stats.load_ms > 0.0);
    let pid = s.engine.worker_pid().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    let second = s.gateway.generate(request("second", "List three fruits.", 8), |_| {}).await.unwrap();
    assert_eq!(second.status, RequestStatus::Ok);
    assert_eq!(s.engine.worker_pid(), Some(pid), "the same worker answered");
    assert_eq!(second.stats.load_ms, 0.0, "the model stayed resident");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_worker_fails_its_request_with_a_ledger_row_and_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let s = app_with_model(dir.path()).await;
    s.gateway.generate(request("warm", "Hi", 4), |_| {}).await.unwrap();
    // A short bound for the test, once the model is loaded (a busy two-core machine loads slowly).
    s.engine.set_watchdog(switchboard_engine::Watchdog {
        stall: std::time::Duration::from_secs(2),
        cancel_grace: std::time::Duration::from_secs(10),
    });
    let pid = s.engine.worker_pid().unwrap();
    let frozen = std::sync::atomic::AtomicBool::new(false);
    let err = s
        .gateway
        .generate(request("stuck", "Write a long story about a lighthouse keeper.", 400), move |e| {
            if matches!(e, GenerationEvent::Token { .. }) && !frozen.swap(true, std::sync::atomic::Ordering::SeqCst) {
                // SAFETY: freezes the worker this test's app started, as a hung driver would.
                unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
            }
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::EngineFailed);
    assert!(err.message.contains("the engine stopped responding"), "{}", err.message);
    let rows = requests::recent(s.store().pool(), 10).await.unwrap();
    let stuck = rows.iter().find(|r| r.record.status == RequestStatus::Error).expect("the stuck request is recorded");
    assert!(stuck.record.error.as_deref().unwrap().contains("stopped responding"), "{:?}", stuck.record.error);
    // The fresh worker loads the model again: on a busy machine that alone can take longer than the test's bound.
    s.engine.set_watchdog(switchboard_engine::Watchdog::default());
    let next = s.gateway.generate(request("after", "List three fruits.", 8), |_| {}).await.unwrap();
    assert_eq!(next.status, RequestStatus::Ok);
    assert_ne!(s.engine.worker_pid(), Some(pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_before_the_first_token_falls_over_to_the_cloud_candidate() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let dir = tempfile::tempdir().unwrap();
    let s = app_with_model(dir.path()).await;
    s.gateway.generate(request("warm", "Hi", 4), |_| {}).await.unwrap();
    let pid = s.engine.worker_pid().expect("a worker serves local requests");

    // A cloud fallback: OpenAI's wire format on a local server.
    let cloud = MockServer::start().await;
    let body = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"from the cloud\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":3}}\n\n",
        "data: [DONE]\n\n"
    );
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body),
        )
        .mount(&cloud)
        .await;
    let mut openai = s.store().provider("openai").await.unwrap().settings;
    openai.enabled = true;
    openai.base_url = format!("{}/v1", cloud.uri());
    openai.allow_http = true;
    let key = s.gateway.seal_key("openai", None, 0, "sk-test-fallback-key-000000").unwrap();
    s.store().save_provider("tester", &openai, &[switchboard_store::providers::KeyChange::Add(key)]).await.unwrap();
    let mut cfg = s.store().use_case("answer_generation").await.unwrap().config();
    cfg.fallbacks = vec![switchboard_core::RouteCandidate { model: "openai/gpt-4o-mini".into(), params: None }];
    s.store().save_use_case("tester", "answer_generation", &cfg).await.unwrap();

    // The worker dies as soon as the local candidate starts on a long prompt: before any token.
    let (tx, rx) = mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        rx.recv().unwrap();
        // SAFETY: a signal to the worker process this test's app started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    });
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    let tx = std::sync::Mutex::new(Some(tx));
    let long_prompt =
        "Summarise the following notes. ".to_string() + &"the lighthouse keeper wrote a note. ".repeat(150);
    let summary = s
        .gateway
        .generate(request("doomed", &long_prompt, 8), move |e| {
            if let GenerationEvent::Started { model } = &e {
                if model.starts_with("local/") {
                    if let Some(tx) = tx.lock().unwrap().take() {
                        tx.send(()).unwrap();
                    }
                }
            }
            seen.lock().unwrap().push(e);
        })
        .await
        .unwrap();
    killer.join().unwrap();
    assert_eq!(summary.model, "openai/gpt-4o-mini");
    let tokens: String = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            GenerationEvent::Token { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(tokens, "from the cloud", "nothing from the dying worker reached the caller");
    assert_eq!(summary.route.len(), 2);
    assert_eq!(summary.route[0].class, Some(switchboard_core::FailureClass::EngineFailed));
    assert!(summary.route[0].message.as_deref().unwrap().contains("killed"), "{:?}", summary.route[0]);
    let row = &requests::recent(s.store().pool(), 1).await.unwrap()[0];
    assert_eq!((row.record.provider.as_str(), row.record.status), ("openai", RequestStatus::Ok));
    // The next local request gets a fresh worker.
    let next = s.gateway.generate(request("after", "List three fruits.", 8), |_| {}).await.unwrap();
    assert_eq!(next.status, RequestStatus::Ok);
    assert_ne!(s.engine.worker_pid(), Some(pid));
}
