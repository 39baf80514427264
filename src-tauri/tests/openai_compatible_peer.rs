//! A real OpenAI-compatible peer: llama.cpp's own `llama-server` serving the
//! test model, reached through the OpenAI-compatible provider exactly as an
//! admin would configure it (Providers page ops, then the gateway).
//! `scripts/test` builds the server (`install_llama_server`) and names it in
//! SWITCHBOARD_LLAMA_SERVER.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_app::ops::{providers, use_cases};
use switchboard_app::state::{AppState, Paths};
use switchboard_core::{RequestStatus, SamplingParams};
use switchboard_gateway::{GenerationEvent, LlmRequest};
use switchboard_store::queries::requests;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cache() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/switchboard")
}

fn server_binary() -> PathBuf {
    let path = std::env::var_os("SWITCHBOARD_LLAMA_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache().join("tools/llama-server-0.3.36/bin/llama-server"));
    assert!(path.exists(), "llama-server missing at {}: scripts/test builds it (install_llama_server)", path.display());
    path
}

fn model() -> PathBuf {
    let path = switchboard_models::cached_default_model();
    assert!(path.exists(), "test model missing at {}: run fetch-model first", path.display());
    path
}

async fn start_server() -> (Server, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(server_binary())
        .args(["-m", model().to_str().unwrap(), "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["-c", "2048", "-t", "2", "--alias", "gemma-3-270m", "--no-webui"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start llama-server");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    let client = reqwest::Client::new();
    loop {
        let health = client.get(format!("http://127.0.0.1:{port}/health")).send().await;
        if matches!(&health, Ok(r) if r.status().is_success()) {
            return (server, port);
        }
        assert!(Instant::now() < deadline, "llama-server did not become healthy");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn llama_server_answers_through_the_openai_compatible_provider() {
    let (_server, port) = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let s = AppState::open(Paths::under(dir.path().join("data"), dir.path().join("cache"))).await.unwrap();

    let mut settings = s.store().provider("openai_compatible").await.unwrap().settings;
    settings.enabled = true;
    settings.base_url = format!("http://127.0.0.1:{port}/v1");
    providers::save_all(
        &s,
        vec![providers::ProviderUpdate { settings, new_key: None, add_keys: vec![], remove_keys: vec![] }],
    )
    .await
    .unwrap();
    let report = providers::test_connection(&s, "token:peer-check", "openai_compatible").await.unwrap();
    assert!(report.ok, "{}", report.message);
    assert_eq!(report.report.unwrap().completion_model.as_deref(), Some("gemma-3-270m"));

    let mut cfg = s.store().use_case("answer_generation").await.unwrap().config();
    cfg.model = "openai_compatible/gemma-3-270m".into();
    cfg.use_custom_params = true;
    let mut params = SamplingParams::new(0.0, 40, 1.0, 24, 1.0);
    params.seed = Some(1);
    cfg.custom_params = Some(params);
    use_cases::save(&s, "answer_generation", cfg).await.unwrap();

    let run = |id: &str| LlmRequest {
        request_id: id.into(),
        use_case: "answer_generation".into(),
        prompt: "Name three colours.".into(),
        model: None,
        params: None,
        priority: Default::default(),
        history: Vec::new(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let summary = s
        .gateway
        .generate(run("peer-1"), move |e| {
            if let GenerationEvent::Token { text } = e {
                tx.send(text).unwrap();
            }
        })
        .await
        .unwrap();
    let pieces: Vec<String> = rx.try_iter().collect();
    assert!(pieces.len() > 1, "the answer streamed in pieces: {pieces:?}");
    assert!(!pieces.concat().trim().is_empty());
    assert!(summary.stats.input_tokens > 5, "usage came from the server: {:?}", summary.stats);
    assert!(
        summary.stats.output_tokens > 0 && summary.stats.output_tokens <= 24,
        "max tokens honoured: {:?}",
        summary.stats
    );

    // Greedy and seeded: the same prompt gives the same text through the provider.
    let (tx, rx) = std::sync::mpsc::channel();
    s.gateway
        .generate(run("peer-2"), move |e| {
            if let GenerationEvent::Token { text } = e {
                tx.send(text).unwrap();
            }
        })
        .await
        .unwrap();
    assert_eq!(rx.try_iter().collect::<String>(), pieces.concat());

    let rows = requests::recent(s.store().pool(), 5).await.unwrap();
    // The connection test's one token is recorded too, apart from the two requests.
    let (probes, rows): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.record.use_case == "connection_test");
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].record.status, RequestStatus::Ok);
    assert_eq!(probes[0].record.caller, "token:peer-check", "the test is recorded under whoever asked for it");
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row.record.status, RequestStatus::Ok);
        assert_eq!(row.record.provider, "openai_compatible");
        assert_eq!(row.record.model, "gemma-3-270m");
        assert_eq!(row.record.cost_usd, 0.0, "a local server costs nothing");
    }
}
