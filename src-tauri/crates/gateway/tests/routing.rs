//! Routes: requests fail over along a use case's candidates. The upstreams
//! are local servers speaking OpenAI's streaming wire format that misbehave on
//! command (500 storms, 429s with and without Retry-After, resets, a first
//! token that never comes, a slow-loris, a reply that never ends, a stream
//! cut after some chunks), and each test checks the route's outcome and the
//! ledger row it left.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_core::{
    AttemptOutcome, ErrorCode, FailureClass, NewUseCase, ProviderKind, ProviderLimits, ProviderSettings, RequestRecord,
    RequestStatus, RouteCandidate, RoutingEventKind, RoutingSettings, SamplingParams,
};
use switchboard_engine::{Engine, EngineConfig};
use switchboard_gateway::{Gateway, GenerationEvent, LlmRequest, Vault};
use switchboard_secrets::{KeyStorage, MasterKey};
use switchboard_store::providers::KeyChange;
use switchboard_store::{queries::requests, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a fake upstream answers each request.
#[derive(Clone, Debug)]
enum Behaviour {
    /// A whole streamed answer: these chunks, usage, [DONE].
    Answer(&'static [&'static str]),
    /// An HTTP error with this status and optional Retry-After seconds.
    Status(u16, Option<u64>),
    /// Closes the connection as soon as the request is read.
    Reset,
    /// Reads the request and never answers.
    Silent,
    /// Sends the headers, then one byte of an SSE comment a second, forever.
    SlowLoris,
    /// These chunks, then the connection closes without [DONE].
    CutAfter(&'static [&'static str]),
    /// A text chunk every 200 ms, forever.
    Endless,
    /// A whole answer after this many milliseconds.
    Slow(u64, &'static [&'static str]),
    /// 404 "model not found" for this model, an answer for any other.
    UnknownModel(&'static str),
    /// A 500 that names this model ("failed to load"), an answer for any other.
    ModelDown(&'static str),
    /// An error with this status whose message names this model.
    Named(u16, &'static str),
}

struct Upstream {
    url: String,
    hits: Arc<AtomicUsize>,
}

async fn upstream(behaviour: Behaviour) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let behaviour = behaviour.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let _ = serve(socket, behaviour, counter).await;
            });
        }
    });
    Upstream { url, hits }
}

/// Reads one HTTP request (headers and a Content-Length body); its body, or none when the peer left.
async fn read_request(socket: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = socket.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(None);
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(Some(String::from_utf8_lossy(&buf[end + 4..]).into_owned()));
        }
    }
}

fn sse_chunk(text: &str) -> String {
    let c = json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
    format!("data: {c}\n\n")
}

const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";

async fn serve(mut socket: TcpStream, behaviour: Behaviour, hits: Arc<AtomicUsize>) -> std::io::Result<()> {
    let Some(body) = read_request(&mut socket).await? else {
        return Ok(());
    };
    hits.fetch_add(1, Ordering::SeqCst);
    let behaviour = match behaviour {
        Behaviour::UnknownModel(m) if body.contains(&format!("\"model\":\"{m}\"")) => Behaviour::Status(404, None),
        Behaviour::UnknownModel(_) => Behaviour::Answer(&["known model"]),
        Behaviour::ModelDown(m) if body.contains(&format!("\"model\":\"{m}\"")) => Behaviour::Named(500, m),
        Behaviour::ModelDown(_) => Behaviour::Answer(&["another model"]),
        other => other,
    };
    match behaviour {
        Behaviour::UnknownModel(_) | Behaviour::ModelDown(_) => unreachable!("resolved above"),
        Behaviour::Named(code, model) => {
            let body = json!({"error": {"message": format!("model '{model}' failed to load")}}).to_string();
            let head = format!(
                "HTTP/1.1 {code} Whatever\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(format!("{head}{body}").as_bytes()).await?;
        }
        Behaviour::Slow(ms, chunks) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let mut body: String = chunks.iter().map(|t| sse_chunk(t)).collect();
            body += "data: [DONE]\n\n";
            socket.write_all(format!("{SSE_HEAD}{body}").as_bytes()).await?;
        }
        Behaviour::Answer(chunks) => {
            let mut body: String = chunks.iter().map(|t| sse_chunk(t)).collect();
            let usage = json!({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": chunks.len()}});
            body += &format!("data: {usage}\n\ndata: [DONE]\n\n");
            socket.write_all(format!("{SSE_HEAD}{body}").as_bytes()).await?;
        }
        Behaviour::Status(code, retry_after) => {
            let body = json!({"error": {"message": format!("status {code} on purpose")}}).to_string();
            let retry = retry_after.map(|s| format!("retry-after: {s}\r\n")).unwrap_or_default();
            let head = format!(
                "HTTP/1.1 {code} Whatever\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{retry}connection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(format!("{head}{body}").as_bytes()).await?;
        }
        Behaviour::Reset => {
            drop(socket);
            return Ok(());
        }
        Behaviour::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Behaviour::SlowLoris => {
            socket.write_all(SSE_HEAD.as_bytes()).await?;
            loop {
                socket.write_all(b":").await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Behaviour::CutAfter(chunks) => {
            socket.write_all(SSE_HEAD.as_bytes()).await?;
            for t in chunks {
                socket.write_all(sse_chunk(t).as_bytes()).await?;
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }
        Behaviour::Endless => {
            socket.write_all(SSE_HEAD.as_bytes()).await?;
            loop {
                socket.write_all(sse_chunk("more ").as_bytes()).await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    socket.shutdown().await
}

struct Fixture {
    gateway: Arc<Gateway>,
    _dir: tempfile::TempDir,
}

/// A gateway whose providers `openai` and `dashscope` (both OpenAI's wire
/// format) answer at the given upstreams with tight time-outs, and a use case
/// `routed` with `route` (model first).
async fn fixture(providers: &[(&str, &Upstream, Option<f64>)], route: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("switchboard.db")).await.unwrap();
    store.seed_builtin_use_cases("tester").await.unwrap();
    store.seed_builtin_providers("tester").await.unwrap();
    let engine = Arc::new(Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() }));
    let vault = Vault::new(Ok((MasterKey::random().unwrap(), KeyStorage::Keyring)));
    let g = Gateway::new(store, engine, dir.path().join("models"), vault);
    g.check_master_key().await.unwrap();
    for (id, up, budget) in providers {
        configure(&g, id, &up.url, *budget, ProviderLimits::default()).await;
    }
    let uc = NewUseCase {
        id: "routed".into(),
        name: "Routed".into(),
        description: String::new(),
        vision: false,
        model: route[0].into(),
        defaults: SamplingParams::new(0.2, 10, 0.9, 16, 1.0),
    };
    g.store().create_use_case("tester", &uc).await.unwrap();
    set_route(&g, route, false).await;
    Fixture { gateway: Arc::new(g), _dir: dir }
}

async fn configure(g: &Gateway, id: &str, url: &str, budget: Option<f64>, limits: ProviderLimits) {
    let mut settings: ProviderSettings = g.store().provider(id).await.unwrap().settings;
    settings.enabled = true;
    settings.base_url = url.into();
    settings.allow_http = true;
    settings.monthly_budget_usd = budget;
    settings.limits = ProviderLimits {
        first_token_timeout_s: limits.first_token_timeout_s.or(Some(2)),
        idle_timeout_s: limits.idle_timeout_s.or(Some(2)),
        total_timeout_s: limits.total_timeout_s.or(Some(20)),
        ..limits
    };
    let keys = g.store().provider_keys(id).await.unwrap();
    let changes = if keys.is_empty() && settings.kind != ProviderKind::OpenAiCompatible {
        vec![KeyChange::Add(g.seal_key(id, None, 0, &format!("sk-{id}-test-key-0000000000")).unwrap())]
    } else {
        Vec::new()
    };
    g.store().save_provider("tester", &settings, &changes).await.unwrap();
}

async fn set_route(g: &Gateway, route: &[&str], prefer_cloud: bool) {
    let mut cfg = g.store().use_case("routed").await.unwrap().config();
    cfg.model = route[0].into();
    cfg.fallbacks = route[1..].iter().map(|m| RouteCandidate { model: m.to_string(), params: None }).collect();
    cfg.prefer_cloud = prefer_cloud;
    g.store().save_use_case("tester", "routed", &cfg).await.unwrap();
}

fn request(id: &str) -> LlmRequest {
    LlmRequest {
        request_id: id.into(),
        use_case: "routed".into(),
        prompt: "Say hello".into(),
        model: None,
        params: None,
        priority: Default::default(),
        history: Vec::new(),
    }
}

fn collect() -> (impl Fn(GenerationEvent) + Send + 'static, mpsc::Receiver<GenerationEvent>) {
    let (tx, rx) = mpsc::channel();
    (move |e| tx.send(e).unwrap(), rx)
}

fn text(rx: &mpsc::Receiver<GenerationEvent>) -> String {
    rx.try_iter()
        .filter_map(|e| match e {
            GenerationEvent::Token { text } => Some(text),
            _ => None,
        })
        .collect()
}

async fn last_row(g: &Gateway) -> RequestRecord {
    requests::recent(g.store().pool(), 1).await.unwrap().remove(0)
}

/// The route of a ledger row as `(candidate, outcome, class)`.
fn route_of(row: &RequestRecord) -> Vec<(String, AttemptOutcome, Option<FailureClass>)> {
    row.record.route.iter().map(|a| (a.candidate.clone(), a.outcome, a.class)).collect()
}

const HELLO: &[&str] = &["Hello", " from", " B"];

#[tokio::test]
async fn a_500_storm_is_retried_then_the_next_candidate_answers() {
    let a = upstream(Behaviour::Status(500, None)).await;
    let b = upstream(Behaviour::Answer(HELLO)).await;
    let f =
        fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini", "dashscope/qwen-plus"]).await;
    let (sink, rx) = collect();
    let summary = f.gateway.generate(request("r1"), sink).await.unwrap();
    assert_eq!(text(&rx), "Hello from B");
    assert_eq!(summary.model, "dashscope/qwen-plus");
    assert_eq!(a.hits.load(Ordering::SeqCst), 3, "three tries at the failing provider, then on");
    let row = last_row(&f.gateway).await;
    assert_eq!(row.record.status, RequestStatus::Ok);
    assert_eq!((row.record.provider.as_str(), row.record.model.as_str()), ("dashscope", "qwen-plus"));
    assert_eq!(
        route_of(&row),
        [
            ("openai/gpt-4o-mini".into(), AttemptOutcome::Failed, Some(FailureClass::Server)),
            ("dashscope/qwen-plus".into(), AttemptOutcome::Answered, None),
        ]
    );
    assert_eq!(row.record.route[0].tries, 3);
    assert!(row.record.cost_usd > 0.0, "the answer is charged at DashScope's price");
    // The fall-back is an event, with the ledger row it belongs to.
    let events = f.gateway.store().events(None, 10).await.unwrap();
    let fell = events.iter().find(|e| e.kind == RoutingEventKind::FellBack).expect("a fell-back event");
    assert_eq!(fell.ledger_id.as_deref(), Some(row.id.as_str()));
    assert!(fell.message.contains("status 500"), "{}", fell.message);
}

#[tokio::test]
async fn repeated_failures_open_the_circuit_and_later_requests_skip_the_provider() {
    let a = upstream(Behaviour::Status(500, None)).await;
    let b = upstream(Behaviour::Answer(HELLO)).await;
    let f =
        fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini", "dashscope/qwen-plus"]).await;
    let (sink, _rx) = collect();
    f.gateway.generate(request("r1"), sink).await.unwrap();
    assert_eq!(a.hits.load(Ordering::SeqCst), 3);
    assert_eq!(f.gateway.provider_health("openai").circuit, "open");
    let events = f.gateway.store().events(Some("openai"), 10).await.unwrap();
    assert!(events.iter().any(|e| e.kind == RoutingEventKind::CircuitOpened), "{events:?}");

    let started = Instant::now();
    let (sink, _rx) = collect();
    f.gateway.generate(request("r2"), sink).await.unwrap();
    assert_eq!(a.hits.load(Ordering::SeqCst), 3, "an open circuit sends nothing");
    assert!(started.elapsed() < Duration::from_secs(2), "no waiting on an open circuit");
    let row = last_row(&f.gateway).await;
    assert_eq!(
        route_of(&row)[0],
        ("openai/gpt-4o-mini".into(), AttemptOutcome::Skipped, Some(FailureClass::CircuitOpen))
    );
    assert!(f.gateway.provider_health("openai").retry_at.is_some());
}

#[tokio::test]
async fn a_429_with_a_long_retry_after_pauses_the_provider_and_one_without_is_retried() {
    let a = upstream(Behaviour::Status(429, Some(120))).await;
    let b = upstream(Behaviour::Answer(HELLO)).await;
    let f =
        fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini", "dashscope/qwen-plus"]).await;
    let started = Instant::now();
    let (sink, _rx) = collect();
    f.gateway.generate(request("r1"), sink).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "two minutes are not waited for");
    assert_eq!(a.hits.load(Ordering::SeqCst), 1, "asked to wait: not retried");
    let (sink, _rx) = collect();
    f.gateway.generate(request("r2"), sink).await.unwrap();
    assert_eq!(a.hits.load(Ordering::SeqCst), 1, "paused until the time it gave");
    let row = last_row(&f.gateway).await;
    assert_eq!(route_of(&row)[0].2, Some(FailureClass::RateLimited));
    assert!(f.gateway.provider_health("openai").cooling_until.is_some());
    assert_eq!(f.gateway.provider_health("openai").circuit, "closed", "a rate limit is not ill health");

    // Without Retry-After: retried with back-off at the same provider, then on.
    let a = upstream(Behaviour::Status(429, None)).await;
    let f =
        fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini", "dashscope/qwen-plus"]).await;
    let (sink, _rx) = collect();
    f.gateway.generate(request("r3"), sink).await.unwrap();
    assert_eq!(a.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_reset_connection_and_a_silent_upstream_fail_over() {
    for (behaviour, class) in [(Behaviour::Reset, None), (Behaviour::Silent, Some(FailureClass::Timeout))] {
        let a = upstream(behaviour.clone()).await;
        let b = upstream(Behaviour::Answer(HELLO)).await;
        let f =
            fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini", "dashscope/qwen-plus"])
                .await;
        let started = Instant::now();
        let (sink, rx) = collect();
        f.gateway.generate(request("r"), sink).await.unwrap_or_else(|e| panic!("{behaviour:?}: {e}"));
        assert_eq!(text(&rx), "Hello from B", "{behaviour:?}");
        let row = last_row(&f.gateway).await;
        let first = &row.record.route[0];
        assert_eq!(first.outcome, AttemptOutcome::Failed, "{behaviour:?}");
        if let Some(class) = class {
            assert_eq!(first.class, Some(class));
            assert!(first.message.as_deref().unwrap().contains("no first token within 2 s"), "{first:?}");
            // Three tries of two seconds each and the pauses between them: not an hour.
            assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
        }
    }
}

#[tokio::test]
async fn a_slow_loris_is_abandoned_by_the_first_token_time_out() {
    let a = upstream(Behaviour::SlowLoris).await;
    let b = upstream(Behaviour::Answer(HELLO)).await;
    let f =
        fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini", "dashscope/qwen-plus"]).await;
    let (sink, rx) = collect();
    f.gateway.generate(request("r"), sink).await.unwrap();
    assert_eq!(text(&rx), "Hello from B");
    assert_eq!(last_row(&f.gateway).await.record.route[0].class, Some(FailureClass::Timeout));
}

#[tokio::test]
async fn after_the_first_token_a_failure_ends_the_request_with_its_text_kept() {
    // A stream cut after three chunks, and a reply that never ends (total time-out 3 s).
    for behaviour in [Behaviour::CutAfter(&["one", " two", " three"]), Behaviour::Endless] {
        let a = upstream(behaviour.clone()).await;
        let b = upstream(Behaviour::Answer(HELLO)).await;
        let f =
            fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini", "dashscope/qwen-plus"])
                .await;
        let limits = ProviderLimits { total_timeout_s: Some(3), ..Default::default() };
        configure(&f.gateway, "openai", &a.url, None, limits).await;
        let (sink, rx) = collect();
        let err = f.gateway.generate(request("r"), sink).await.unwrap_err();
        let streamed = text(&rx);
        assert!(!streamed.is_empty() && !streamed.contains("from B"), "{behaviour:?}: {streamed}");
        assert_eq!(b.hits.load(Ordering::SeqCst), 0, "{behaviour:?}: no fail-over once text was shown");
        let row = last_row(&f.gateway).await;
        assert_eq!(row.record.status, RequestStatus::Error);
        assert!(row.record.output_tokens > 0, "{behaviour:?}: what was streamed is charged");
        assert_eq!(row.record.route.len(), 1);
        assert_eq!(row.record.route[0].outcome, AttemptOutcome::Failed);
        if matches!(behaviour, Behaviour::Endless) {
            assert!(err.message.contains("no complete answer within 3 s"), "{}", err.message);
        }
    }
}

#[tokio::test]
async fn a_refused_key_skips_that_providers_candidates_but_another_provider_answers() {
    let a = upstream(Behaviour::Status(401, None)).await;
    let b = upstream(Behaviour::Answer(HELLO)).await;
    let f = fixture(
        &[("openai", &a, None), ("dashscope", &b, None)],
        &["openai/gpt-4o-mini", "openai/gpt-4o", "dashscope/qwen-plus"],
    )
    .await;
    let (sink, _rx) = collect();
    f.gateway.generate(request("r"), sink).await.unwrap();
    assert_eq!(a.hits.load(Ordering::SeqCst), 1, "a refused key is not retried, nor tried for another model");
    assert_eq!(
        route_of(&last_row(&f.gateway).await),
        [
            ("openai/gpt-4o-mini".into(), AttemptOutcome::Failed, Some(FailureClass::Auth)),
            ("openai/gpt-4o".into(), AttemptOutcome::Skipped, Some(FailureClass::Auth)),
            ("dashscope/qwen-plus".into(), AttemptOutcome::Answered, None),
        ]
    );
}

#[tokio::test]
async fn when_every_candidate_fails_the_error_names_each_and_nothing_else_is_tried() {
    let a = upstream(Behaviour::Status(400, None)).await;
    let b = upstream(Behaviour::Status(401, None)).await;
    let f =
        fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini", "dashscope/qwen-plus"]).await;
    let (sink, _rx) = collect();
    let err = f.gateway.generate(request("r"), sink).await.unwrap_err();
    assert!(err.message.contains("openai/gpt-4o-mini: OpenAI: the provider refused the request"), "{}", err.message);
    assert!(err.message.contains("dashscope/qwen-plus: Alibaba DashScope: the API key was refused"), "{}", err.message);
    let row = last_row(&f.gateway).await;
    assert_eq!(row.record.status, RequestStatus::Error);
    assert_eq!(row.record.route.len(), 2);
    let events = f.gateway.store().events(None, 10).await.unwrap();
    assert!(events.iter().any(|e| e.kind == RoutingEventKind::RouteFailed));

    // A request whose own parameters are invalid fails everywhere: nothing is sent.
    let before = a.hits.load(Ordering::SeqCst) + b.hits.load(Ordering::SeqCst);
    let (sink, _rx) = collect();
    let req = LlmRequest { params: Some(SamplingParams::new(7.0, 10, 0.9, 16, 1.0)), ..request("bad") };
    let err = f.gateway.generate(req, sink).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert_eq!(a.hits.load(Ordering::SeqCst) + b.hits.load(Ordering::SeqCst), before);
    assert_eq!(last_row(&f.gateway).await.record.status, RequestStatus::Error, "still recorded");
}

#[tokio::test]
async fn a_spent_budget_is_skipped_and_a_missing_local_model_falls_over_to_the_cloud() {
    let a = upstream(Behaviour::Answer(&["from A"])).await;
    let b = upstream(Behaviour::Answer(HELLO)).await;
    // A: $0.0001 a month. The route starts with a local model that is not in the library.
    let f = fixture(
        &[("openai", &a, Some(0.000_1)), ("dashscope", &b, None)],
        &["local/not-downloaded", "openai/gpt-4o-mini", "dashscope/qwen-plus"],
    )
    .await;
    let mut spent = switchboard_core::NewRequestRecord::empty(
        "routed",
        &switchboard_core::ModelRef::parse("openai/gpt-4o-mini").unwrap(),
        1.0,
    );
    spent.cost_usd = 0.000_2;
    spent.status = RequestStatus::Ok;
    requests::insert(f.gateway.store().pool(), &spent).await.unwrap();

    let (sink, rx) = collect();
    f.gateway.generate(request("r"), sink).await.unwrap();
    assert_eq!(text(&rx), "Hello from B");
    assert_eq!(a.hits.load(Ordering::SeqCst), 0, "a spent budget sends nothing");
    assert_eq!(
        route_of(&last_row(&f.gateway).await),
        [
            ("local/not-downloaded".into(), AttemptOutcome::Skipped, Some(FailureClass::ModelMissing)),
            ("openai/gpt-4o-mini".into(), AttemptOutcome::Skipped, Some(FailureClass::BudgetSpent)),
            ("dashscope/qwen-plus".into(), AttemptOutcome::Answered, None),
        ]
    );
    let events = f.gateway.store().events(Some("openai"), 10).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == RoutingEventKind::BudgetSpent).count(), 1);
    // Said once a month, not once a request.
    let (sink, _rx) = collect();
    f.gateway.generate(request("r2"), sink).await.unwrap();
    let events = f.gateway.store().events(Some("openai"), 10).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == RoutingEventKind::BudgetSpent).count(), 1);
}

#[tokio::test]
async fn prefer_cloud_and_local_only_change_the_order_and_the_candidates() {
    let a = upstream(Behaviour::Answer(&["cloud"])).await;
    let lan = upstream(Behaviour::Answer(&["on this machine"])).await;
    let f = fixture(&[("openai", &a, None)], &["openai_compatible/local-llm", "openai/gpt-4o-mini"]).await;
    configure(&f.gateway, "openai_compatible", &lan.url, None, ProviderLimits::default()).await;

    let (sink, rx) = collect();
    f.gateway.generate(request("r1"), sink).await.unwrap();
    assert_eq!(text(&rx), "on this machine", "the admin's order");

    set_route(&f.gateway, &["openai_compatible/local-llm", "openai/gpt-4o-mini"], true).await;
    let (sink, rx) = collect();
    f.gateway.generate(request("r2"), sink).await.unwrap();
    assert_eq!(text(&rx), "cloud", "prefer cloud puts the cloud candidate first");

    f.gateway.store().save_routing_settings("tester", &RoutingSettings { local_only: true }).await.unwrap();
    let (sink, rx) = collect();
    f.gateway.generate(request("r3"), sink).await.unwrap();
    assert_eq!(text(&rx), "on this machine", "local only skips the cloud");
    assert_eq!(a.hits.load(Ordering::SeqCst), 1);
    assert_eq!(
        route_of(&last_row(&f.gateway).await)[0],
        ("openai/gpt-4o-mini".into(), AttemptOutcome::Skipped, Some(FailureClass::LocalOnly))
    );

    // A route with only cloud candidates under "local only" says so.
    set_route(&f.gateway, &["openai/gpt-4o-mini"], false).await;
    let (sink, _rx) = collect();
    let err = f.gateway.generate(request("r4"), sink).await.unwrap_err();
    assert!(err.message.contains("local only"), "{}", err.message);
    assert_eq!(a.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_rate_limit_without_a_slot_moves_the_request_on() {
    let a = upstream(Behaviour::Answer(&["from A"])).await;
    let b = upstream(Behaviour::Answer(HELLO)).await;
    let f =
        fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini", "dashscope/qwen-plus"]).await;
    let limits = ProviderLimits { requests_per_minute: Some(1), ..Default::default() };
    configure(&f.gateway, "openai", &a.url, None, limits).await;
    let (sink, rx) = collect();
    f.gateway.generate(request("r1"), sink).await.unwrap();
    assert_eq!(text(&rx), "from A");
    let started = Instant::now();
    let (sink, rx) = collect();
    f.gateway.generate(request("r2"), sink).await.unwrap();
    assert_eq!(text(&rx), "Hello from B");
    assert!(started.elapsed() < Duration::from_secs(2), "a slot a minute away is not waited for");
    assert_eq!(route_of(&last_row(&f.gateway).await)[0].2, Some(FailureClass::RateLimited));
    let events = f.gateway.store().events(Some("openai"), 10).await.unwrap();
    assert!(events.iter().any(|e| e.kind == RoutingEventKind::RateLimited));
}

#[tokio::test]
async fn each_candidate_runs_with_its_own_parameters_when_it_has_them() {
    let a = upstream(Behaviour::Status(500, None)).await;
    let b_body = Arc::new(std::sync::Mutex::new(String::new()));
    // B records what it was sent.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_url = format!("http://{}/v1", listener.local_addr().unwrap());
    {
        let b_body = b_body.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                loop {
                    let n = socket.read(&mut buf).await.unwrap();
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(i) = text.find("\r\n\r\n") {
                        if text[i + 4..].ends_with('}') {
                            *b_body.lock().unwrap() = text[i + 4..].to_string();
                            break;
                        }
                    }
                }
                let body = sse_chunk("ok") + "data: [DONE]\n\n";
                socket.write_all(format!("{SSE_HEAD}{body}").as_bytes()).await.unwrap();
                socket.shutdown().await.unwrap();
            }
        });
    }
    let b = Upstream { url: b_url, hits: Arc::new(AtomicUsize::new(0)) };
    let f = fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini"]).await;
    let mut cfg = f.gateway.store().use_case("routed").await.unwrap().config();
    cfg.fallbacks = vec![RouteCandidate {
        model: "dashscope/qwen-plus".into(),
        params: Some(SamplingParams::new(0.9, 5, 0.5, 77, 1.0)),
    }];
    f.gateway.store().save_use_case("tester", "routed", &cfg).await.unwrap();
    let (sink, _rx) = collect();
    let summary = f.gateway.generate(request("r"), sink).await.unwrap();
    let sent: serde_json::Value = serde_json::from_str(&b_body.lock().unwrap()).unwrap();
    assert_eq!(sent["max_tokens"], 77, "{sent}");
    assert_eq!(summary.params.max_tokens, 77);
    assert_eq!(last_row(&f.gateway).await.record.params.unwrap().max_tokens, 77);
}

#[tokio::test]
async fn a_vision_request_falls_over_from_a_local_model_without_projector_to_a_cloud_vision_model() {
    let cloud = upstream(Behaviour::Answer(&["A cat", " on a sofa"])).await;
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    // The test model is in the library, but has no projector: it cannot see.
    let cached = switchboard_models::cached_default_model();
    if std::fs::hard_link(&cached, models.join("gemma-3-270m-q4_k_m.gguf")).is_err() {
        std::fs::copy(&cached, models.join("gemma-3-270m-q4_k_m.gguf")).unwrap();
    }
    let store = Store::open(&dir.path().join("switchboard.db")).await.unwrap();
    store.seed_builtin_use_cases("tester").await.unwrap();
    store.seed_builtin_providers("tester").await.unwrap();
    let engine = Arc::new(Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() }));
    let vault = Vault::new(Ok((MasterKey::random().unwrap(), KeyStorage::Keyring)));
    let g = Gateway::new(store, engine, models, vault);
    g.check_master_key().await.unwrap();
    configure(&g, "openai", &cloud.url, None, ProviderLimits::default()).await;
    let mut cfg = g.store().use_case("vision_vlm").await.unwrap().config();
    cfg.fallbacks = vec![RouteCandidate { model: "openai/gpt-4o-mini".into(), params: None }];
    g.store().save_use_case("tester", "vision_vlm", &cfg).await.unwrap();

    let req = switchboard_gateway::DescribeRequest {
        request_id: "v1".into(),
        use_case: None,
        model: None,
        prompt: Some("What is in this picture?".into()),
        image_path: switchboard_models::test_images_dir().join("chelsea.png").display().to_string(),
        params: None,
    };
    let summary = g.describe_image(req, |_| {}).await.unwrap();
    assert_eq!(summary.text, "A cat on a sofa");
    assert_eq!(summary.model, "openai/gpt-4o-mini");
    assert_eq!(summary.route.len(), 2);
    assert_eq!(summary.route[0].class, Some(FailureClass::ModelMissing));
    assert!(summary.route[0].message.as_deref().unwrap().contains("no vision projector"));
    assert_eq!(cloud.hits.load(Ordering::SeqCst), 1);
    let row = last_row(&g).await;
    assert_eq!((row.record.provider.as_str(), row.record.image_count), ("openai", 1));
    let history = switchboard_store::queries::vision::recent(g.store().pool(), 5).await.unwrap();
    assert_eq!(history[0].model, "openai/gpt-4o-mini", "the history names the model that described it");
}

#[tokio::test]
async fn the_response_cache_answers_exact_repeats_at_no_cost_when_the_use_case_asks_for_it() {
    let a = upstream(Behaviour::Answer(HELLO)).await;
    let f = fixture(&[("openai", &a, None)], &["openai/gpt-4o-mini"]).await;
    let g = &f.gateway;
    let ask = |id: &str, prompt: &str, temperature: Option<f32>| LlmRequest {
        prompt: prompt.into(),
        params: temperature.map(|t| SamplingParams::new(t, 10, 0.9, 16, 1.0)),
        ..request(id)
    };
    let run = |req: LlmRequest| async move {
        let (sink, rx) = collect();
        let summary = g.generate(req, sink).await.unwrap();
        (summary, text(&rx))
    };
    let set_cache = |ttl: Option<u32>, random: bool| async move {
        let mut cfg = g.store().use_case("routed").await.unwrap().config();
        cfg.cache_ttl_s = ttl;
        cfg.cache_random = random;
        g.store().save_use_case("tester", "routed", &cfg).await.unwrap();
    };
    // Off by default: every request goes out.
    run(ask("a1", "hi", Some(0.0))).await;
    run(ask("a2", "hi", Some(0.0))).await;
    assert_eq!(a.hits.load(Ordering::SeqCst), 2);

    set_cache(Some(60), false).await;
    let (first, _) = run(ask("b1", "hi", Some(0.0))).await;
    assert!(!first.cache_hit);
    let (again, streamed) = run(ask("b2", "hi", Some(0.0))).await;
    assert_eq!(a.hits.load(Ordering::SeqCst), 3, "the repeat did not go out");
    assert!(again.cache_hit);
    assert_eq!(streamed, "Hello from B", "the cached answer is streamed like a fresh one");
    let row = last_row(g).await;
    assert!(row.record.cache_hit);
    assert_eq!((row.record.cost_usd, row.record.input_tokens, row.record.output_tokens), (0.0, 0, 0));
    assert_eq!(row.record.tokens_saved, 13, "10 prompt + 3 output tokens saved");
    assert_eq!(row.record.route[0].message.as_deref(), Some("answered from the response cache"));

    // Another prompt, or sampling with temperature: not a repeat.
    run(ask("c1", "hello there", Some(0.0))).await;
    run(ask("c2", "hi", Some(0.7))).await;
    run(ask("c3", "hi", Some(0.7))).await;
    assert_eq!(a.hits.load(Ordering::SeqCst), 6);
    // Unless the admin allows random answers to be reused.
    set_cache(Some(60), true).await;
    run(ask("d1", "hi", Some(0.7))).await;
    let (d2, _) = run(ask("d2", "hi", Some(0.7))).await;
    assert!(d2.cache_hit);
    assert_eq!(a.hits.load(Ordering::SeqCst), 7);

    // A changed configuration is a fresh start; an expired answer is not reused.
    set_cache(Some(1), true).await;
    run(ask("e1", "hi", Some(0.7))).await;
    assert_eq!(a.hits.load(Ordering::SeqCst), 8, "the configuration changed: asked again");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (e2, _) = run(ask("e2", "hi", Some(0.7))).await;
    assert!(!e2.cache_hit, "older than its time-to-live");
    assert_eq!(a.hits.load(Ordering::SeqCst), 9);
}

/// Two OpenAI-compatible servers `gpu-a` and `gpu-b` in a group `pool` with `strategy`, the route `pool/llm`.
async fn pool(a: &Upstream, b: &Upstream, strategy: switchboard_core::BalanceStrategy) -> Fixture {
    let f = fixture(&[], &["local/unused"]).await;
    let g = &f.gateway;
    for (id, up) in [("gpu-a", a), ("gpu-b", b)] {
        let p = switchboard_core::new_provider(ProviderKind::OpenAiCompatible, id, &id.to_uppercase());
        g.store().create_provider("tester", &p).await.unwrap();
        configure(g, id, &up.url, None, ProviderLimits::default()).await;
    }
    let group = switchboard_core::ProviderGroup {
        id: "pool".into(),
        name: "GPU pool".into(),
        members: vec!["gpu-a".into(), "gpu-b".into()],
        strategy,
    };
    g.store().create_group("tester", &group).await.unwrap();
    set_route(g, &["pool/llm"], false).await;
    f
}

#[tokio::test]
async fn an_endpoint_group_spreads_requests_and_passes_over_a_failing_member() {
    let a = upstream(Behaviour::Answer(&["from A"])).await;
    let b = upstream(Behaviour::Answer(&["from B"])).await;
    let f = pool(&a, &b, switchboard_core::BalanceStrategy::RoundRobin).await;
    let mut served = Vec::new();
    for i in 0..4 {
        let (sink, rx) = collect();
        let summary = f.gateway.generate(request(&format!("rr{i}")), sink).await.unwrap();
        assert_eq!(summary.model, "pool/llm");
        served.push(text(&rx));
        let row = last_row(&f.gateway).await;
        assert!(row.record.provider == "gpu-a" || row.record.provider == "gpu-b", "charged to the member");
        assert_eq!(row.record.route[0].message.as_deref(), Some(format!("served by {}", row.record.provider).as_str()));
    }
    assert_eq!((a.hits.load(Ordering::SeqCst), b.hits.load(Ordering::SeqCst)), (2, 2), "{served:?}");
    assert_ne!(served[0], served[1], "turns alternate");

    // A member that fails is passed over within the group; once its circuit opens it is not asked again.
    let bad = upstream(Behaviour::Status(500, None)).await;
    let good = upstream(Behaviour::Answer(&["from B"])).await;
    let f = pool(&bad, &good, switchboard_core::BalanceStrategy::RoundRobin).await;
    for i in 0..4 {
        let (sink, rx) = collect();
        f.gateway.generate(request(&format!("h{i}")), sink).await.unwrap();
        assert_eq!(text(&rx), "from B");
    }
    assert_eq!(bad.hits.load(Ordering::SeqCst), 3, "three tries, then its circuit opened");
    assert_eq!(good.hits.load(Ordering::SeqCst), 4);
    let states = f.gateway.candidate_states(&["pool/llm".to_string()]).await.unwrap();
    assert_eq!(states[0].status, switchboard_gateway::CandidateStatus::Available, "one member still serves");
}

#[tokio::test]
async fn lowest_latency_sends_requests_to_the_faster_member_once_both_are_measured() {
    let slow = upstream(Behaviour::Slow(400, &["slow"])).await;
    let fast = upstream(Behaviour::Answer(&["fast"])).await;
    let f = pool(&slow, &fast, switchboard_core::BalanceStrategy::LowestLatency).await;
    let mut answers = Vec::new();
    for i in 0..5 {
        let (sink, rx) = collect();
        f.gateway.generate(request(&format!("l{i}")), sink).await.unwrap();
        answers.push(text(&rx));
    }
    // Each member is measured once, then the fast one serves.
    assert_eq!(answers, ["slow", "fast", "fast", "fast", "fast"]);
    // A group whose members are all gone cannot be routed to, and says why.
    let mut settings = f.gateway.store().provider("gpu-b").await.unwrap().settings;
    settings.enabled = false;
    f.gateway.store().save_provider("tester", &settings, &[]).await.unwrap();
    let mut settings = f.gateway.store().provider("gpu-a").await.unwrap().settings;
    settings.enabled = false;
    f.gateway.store().save_provider("tester", &settings, &[]).await.unwrap();
    let (sink, _rx) = collect();
    let err = f.gateway.generate(request("none"), sink).await.unwrap_err();
    assert!(err.message.contains("no member of the group GPU pool is enabled"), "{}", err.message);
}

#[tokio::test]
async fn background_probes_open_a_failing_providers_circuit_and_close_it_when_it_answers() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let down = Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(503).set_body_string("down"))
        .mount_as_scoped(&server)
        .await;
    let a = upstream(Behaviour::Answer(HELLO)).await;
    let f = fixture(&[("openai", &a, None)], &["openai/gpt-4o-mini"]).await;
    // No interval: never probed.
    configure(&f.gateway, "openai", &format!("{}/v1", server.uri()), None, ProviderLimits::default()).await;
    assert!(f.gateway.probe_due().await.is_empty());
    let limits = ProviderLimits { probe_interval_s: Some(10), ..Default::default() };
    configure(&f.gateway, "openai", &format!("{}/v1", server.uri()), None, limits).await;
    assert_eq!(f.gateway.probe_due().await, ["openai"]);
    assert!(f.gateway.probe_due().await.is_empty(), "not again before its interval");
    assert_eq!(f.gateway.provider_health("openai").consecutive_failures, 1);
    // Two more failed probes (the interval passed, as far as the gateway knows) open the circuit.
    for _ in 0..2 {
        f.gateway.forget_probe_times();
        f.gateway.probe_due().await;
    }
    assert_eq!(f.gateway.provider_health("openai").circuit, "open");
    let events = f.gateway.store().events(Some("openai"), 5).await.unwrap();
    assert!(events.iter().any(|e| e.kind == RoutingEventKind::CircuitOpened && e.message.contains("health probes")));
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.url.path() == "/v1/models"), "probes never ask for a (billed) completion");

    // The provider comes back: the next probe closes the circuit.
    drop(down);
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [{"id": "gpt-4o-mini"}]})))
        .mount(&server)
        .await;
    f.gateway.forget_probe_times();
    f.gateway.probe_due().await;
    assert_eq!(f.gateway.provider_health("openai").circuit, "closed");
    let events = f.gateway.store().events(Some("openai"), 5).await.unwrap();
    assert_eq!(events[0].kind, RoutingEventKind::CircuitClosed);
}

#[tokio::test]
async fn a_use_case_budget_holds_across_providers() {
    let a = upstream(Behaviour::Answer(HELLO)).await;
    let b = upstream(Behaviour::Answer(HELLO)).await;
    let f =
        fixture(&[("openai", &a, None), ("dashscope", &b, None)], &["openai/gpt-4o-mini", "dashscope/qwen-plus"]).await;
    let mut cfg = f.gateway.store().use_case("routed").await.unwrap().config();
    cfg.monthly_budget_usd = Some(0.000_01);
    f.gateway.store().save_use_case("tester", "routed", &cfg).await.unwrap();
    // The month so far: this use case already spent its budget (at a third provider).
    let mut spent = switchboard_core::NewRequestRecord::empty(
        "routed",
        &switchboard_core::ModelRef::parse("anthropic/claude").unwrap(),
        1.0,
    );
    spent.cost_usd = 0.000_02;
    spent.status = RequestStatus::Ok;
    requests::insert(f.gateway.store().pool(), &spent).await.unwrap();

    let (sink, _rx) = collect();
    let err = f.gateway.generate(request("r"), sink).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::BudgetExceeded);
    assert!(err.message.contains("the use case Routed has spent"), "{}", err.message);
    assert_eq!(a.hits.load(Ordering::SeqCst) + b.hits.load(Ordering::SeqCst), 0, "nothing was sent anywhere");
    let events = f.gateway.store().events(None, 10).await.unwrap();
    assert!(events.iter().any(|e| e.kind == RoutingEventKind::BudgetSpent && e.use_case.as_deref() == Some("routed")));
    // Another use case is not held by it.
    let other =
        LlmRequest { use_case: "answer_generation".into(), model: Some("openai/gpt-4o-mini".into()), ..request("o") };
    let (sink, _rx) = collect();
    f.gateway.generate(other, sink).await.unwrap();
    assert_eq!(a.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unknown_model_passes_over_that_model_only_not_its_provider() {
    let a = upstream(Behaviour::UnknownModel("gpt-5-preview")).await;
    let f = fixture(&[("openai", &a, None)], &["openai/gpt-5-preview", "openai/gpt-4o-mini"]).await;
    let (sink, rx) = collect();
    let summary = f.gateway.generate(request("r"), sink).await.unwrap();
    assert_eq!(text(&rx), "known model");
    assert_eq!(summary.model, "openai/gpt-4o-mini");
    assert_eq!(summary.route[0].class, Some(FailureClass::InvalidRequest));
    assert_eq!(a.hits.load(Ordering::SeqCst), 2, "one refusal, not retried; then the other model");
}

#[tokio::test]
async fn a_failure_that_names_the_model_pauses_that_model_not_the_provider() {
    let a = upstream(Behaviour::ModelDown("llama-70b")).await;
    let f = fixture(&[("openai", &a, None)], &["openai/llama-70b", "openai/gpt-4o-mini"]).await;
    let (sink, rx) = collect();
    f.gateway.generate(request("r1"), sink).await.unwrap();
    assert_eq!(text(&rx), "another model");
    assert_eq!(a.hits.load(Ordering::SeqCst), 4, "three tries of the failing model, then the other");
    assert_eq!(f.gateway.provider_health("openai").circuit, "closed", "the provider is fine");
    let states = f.gateway.candidate_states(&["openai/llama-70b".into(), "openai/gpt-4o-mini".into()]).await.unwrap();
    assert_eq!(states[0].status, switchboard_gateway::CandidateStatus::CircuitOpen);
    assert_eq!(states[1].status, switchboard_gateway::CandidateStatus::Available);
    // The paused model is skipped; the provider's other model serves at once.
    let (sink, rx) = collect();
    f.gateway.generate(request("r2"), sink).await.unwrap();
    assert_eq!(text(&rx), "another model");
    assert_eq!(a.hits.load(Ordering::SeqCst), 5);
    let row = last_row(&f.gateway).await;
    assert_eq!(row.record.route[0].class, Some(FailureClass::CircuitOpen));
    assert!(
        row.record.route[0].message.as_deref().unwrap().contains("llama-70b at OpenAI"),
        "{:?}",
        row.record.route[0]
    );
}

#[tokio::test]
async fn estimates_price_each_candidate_before_anything_is_sent() {
    let a = upstream(Behaviour::Answer(HELLO)).await;
    let f = fixture(&[("openai", &a, None)], &["local/not-downloaded", "openai/gpt-4o-mini"]).await;
    let req = switchboard_gateway::EstimateRequest {
        use_case: "routed".into(),
        prompt: "Say hello to the whole team, please.".into(),
        history: Vec::new(),
        model: None,
        params: None,
    };
    let est = f.gateway.estimate(&req).await.unwrap();
    assert_eq!(est.len(), 2);
    assert_eq!(est[0].candidate, "local/not-downloaded");
    assert!(est[0].local && est[0].unavailable.is_some(), "{:?}", est[0]);
    assert_eq!((est[0].min_usd, est[0].max_usd), (0.0, 0.0));
    let cloud = &est[1];
    assert!(!cloud.local && cloud.priced && cloud.unavailable.is_none());
    assert_eq!(cloud.max_output_tokens, 16, "the use case's max tokens");
    let price = f.gateway.store().price("openai", "gpt-4o-mini").await.unwrap().unwrap();
    assert_eq!(cloud.min_usd, price.cost(cloud.input_tokens, 0, 0));
    assert_eq!(cloud.max_usd, price.cost(cloud.input_tokens, 0, 16));
    assert!(cloud.min_usd > 0.0 && cloud.max_usd > cloud.min_usd);
    // A longer prompt costs more; a request's own max tokens widens the range.
    let longer = f
        .gateway
        .estimate(&switchboard_gateway::EstimateRequest {
            prompt: req.prompt.repeat(20),
            params: Some(SamplingParams::new(0.2, 10, 0.9, 512, 1.0)),
            ..req.clone()
        })
        .await
        .unwrap();
    assert!(longer[1].min_usd > cloud.min_usd && longer[1].max_output_tokens == 512);
    // Nothing was sent, nothing was recorded.
    assert_eq!(a.hits.load(Ordering::SeqCst), 0);
    assert!(requests::recent(f.gateway.store().pool(), 1).await.unwrap().is_empty());
    // Bad input is refused by name.
    let bad = switchboard_gateway::EstimateRequest { use_case: "nope".into(), ..req.clone() };
    assert!(f.gateway.estimate(&bad).await.is_err());
    let bad = switchboard_gateway::EstimateRequest { model: Some("no-slash".into()), ..req };
    assert!(f.gateway.estimate(&bad).await.is_err());
}

#[tokio::test]
async fn a_self_hosted_answer_records_what_the_cloud_would_have_cost_and_kept_text_stays_its_time() {
    let own = upstream(Behaviour::Answer(HELLO)).await;
    let cloud = upstream(Behaviour::Answer(&["cloud"])).await;
    let f = fixture(
        &[("openai_compatible", &own, None), ("openai", &cloud, None)],
        &["openai_compatible/llama", "openai/gpt-4o-mini"],
    )
    .await;
    let mut cfg = f.gateway.store().use_case("routed").await.unwrap().config();
    cfg.keep_text_days = Some(7);
    f.gateway.store().save_use_case("tester", "routed", &cfg).await.unwrap();

    let (sink, _rx) = collect();
    f.gateway.generate_as("token:ci", request("saved"), sink).await.unwrap();
    let row = last_row(&f.gateway).await;
    assert_eq!(row.record.caller, "token:ci");
    assert!(row.record.local, "a server of the organisation's own is not the cloud");
    assert_eq!(row.record.cost_usd, 0.0);
    let price = f.gateway.store().price("openai", "gpt-4o-mini").await.unwrap().unwrap();
    let expected = price.cost(row.record.input_tokens, row.record.cached_input_tokens, row.record.output_tokens);
    assert!(expected > 0.0);
    assert_eq!(row.record.cost_avoided_usd, expected);
    // The conversation and the answer are kept for seven days.
    let now = switchboard_store::now();
    let kept = switchboard_store::queries::request_texts::get(f.gateway.store().pool(), &row.id, &now)
        .await
        .unwrap()
        .expect("the use case keeps text");
    assert_eq!(kept.prompt.last().unwrap().content, "Say hello");
    assert_eq!(kept.response, "Hello from B");
    let days = chrono::DateTime::parse_from_rfc3339(&kept.delete_after).unwrap().with_timezone(&chrono::Utc)
        - chrono::Utc::now();
    assert!((6..=7).contains(&days.num_days()), "{days}");
    // Without the opt-in nothing is kept, and a cloud answer saves nothing.
    cfg.keep_text_days = None;
    cfg.model = "openai/gpt-4o-mini".into();
    cfg.fallbacks = Vec::new();
    f.gateway.store().save_use_case("tester", "routed", &cfg).await.unwrap();
    let (sink, _rx) = collect();
    f.gateway.generate(request("cloud"), sink).await.unwrap();
    let row = last_row(&f.gateway).await;
    assert_eq!((row.record.caller.as_str(), row.record.local, row.record.cost_avoided_usd), ("window", false, 0.0));
    assert!(switchboard_store::queries::request_texts::get(f.gateway.store().pool(), &row.id, &now)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_comparison_runs_every_prompt_at_the_local_model_and_a_cloud_model_and_saves_the_report() {
    let cloud = upstream(Behaviour::Answer(HELLO)).await;
    let f = fixture(&[("openai", &cloud, None)], &["openai/gpt-4o-mini"]).await;
    let models = f._dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let model = switchboard_models::cached_default_model();
    assert!(model.exists(), "test model missing at {}: run fetch-model first", model.display());
    if std::fs::hard_link(&model, models.join("gemma-3-270m-q4_k_m.gguf")).is_err() {
        std::fs::copy(&model, models.join("gemma-3-270m-q4_k_m.gguf")).unwrap();
    }
    let req = switchboard_core::ComparisonRequest {
        name: "Local vs cloud".into(),
        use_case: "routed".into(),
        // The third has no provider configured: its runs fail and are counted.
        candidates: vec!["local/gemma-3-270m-q4_k_m".into(), "openai/gpt-4o-mini".into(), "dashscope/qwen-plus".into()],
        prompts: vec!["Name a colour.".into(), "Say hello.".into()],
    };
    let progress = std::sync::Mutex::new(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let report =
        f.gateway.compare(&req, &stop, |p| progress.lock().unwrap().push((p.done, p.total, p.ok))).await.unwrap();

    let progress = progress.into_inner().unwrap();
    assert_eq!(progress.iter().map(|p| p.0).collect::<Vec<_>>(), (1..=6).collect::<Vec<u32>>());
    assert!(progress.iter().all(|p| p.1 == 6));
    let [local, openai, missing] = &report.results[..] else { panic!("three candidates") };
    assert_eq!((local.summary.runs, local.summary.failures), (2, 0));
    assert!(local.runs.iter().all(|r| r.ok && r.output_tokens > 0 && r.cost_usd == 0.0), "{:?}", local.runs);
    assert!(local.summary.p50_latency_ms.is_some() && local.summary.avg_tokens_per_second.unwrap() > 0.0);
    assert_eq!(local.summary.cost_per_1000_usd, 0.0);
    assert_eq!(openai.summary.failures, 0);
    assert!(openai.runs.iter().all(|r| r.answer == "Hello from B"));
    let mean = openai.runs.iter().map(|r| r.cost_usd).sum::<f64>() / 2.0;
    assert!(mean > 0.0 && (openai.summary.cost_per_1000_usd - mean * 1000.0).abs() < 1e-12);
    assert_eq!((missing.summary.runs, missing.summary.failures), (2, 2));
    assert!(missing.runs[0].error.as_deref().unwrap().contains("dashscope"), "{:?}", missing.runs[0].error);
    // Saved whole; every run is a ledger row of the caller `compare`.
    let saved = switchboard_store::queries::reports::get(f.gateway.store().pool(), &report.id).await.unwrap().unwrap();
    assert_eq!(saved, report);
    let rows = requests::recent(f.gateway.store().pool(), 50).await.unwrap();
    assert_eq!(rows.iter().filter(|r| r.record.caller == switchboard_gateway::COMPARE_CALLER).count(), 6);
    assert!(local.runs.iter().all(|r| rows.iter().any(|row| Some(&row.id) == r.ledger_id.as_ref())));

    // The local model is in memory now: an estimate counts its prompt with the model's tokenizer,
    // exactly as the request itself did.
    let est = f
        .gateway
        .estimate(&switchboard_gateway::EstimateRequest {
            use_case: "routed".into(),
            prompt: "Say hello.".into(),
            history: Vec::new(),
            model: Some("local/gemma-3-270m-q4_k_m".into()),
            params: None,
        })
        .await
        .unwrap();
    assert!(est[0].counted, "{est:?}");
    assert_eq!(est[0].input_tokens, local.runs[1].input_tokens);

    // Stopped before it starts: nothing runs, the (empty) report is still saved; bad input is refused.
    stop.store(true, Ordering::Relaxed);
    let empty = f.gateway.compare(&req, &stop, |_| {}).await.unwrap();
    assert!(empty.results.iter().all(|r| r.runs.is_empty()));
    let bad = switchboard_core::ComparisonRequest { candidates: vec!["local/x".into()], ..req.clone() };
    assert_eq!(f.gateway.compare(&bad, &stop, |_| {}).await.unwrap_err().field.as_deref(), Some("candidates"));
    let unknown = switchboard_core::ComparisonRequest { use_case: "nope".into(), ..req };
    assert!(f.gateway.compare(&unknown, &stop, |_| {}).await.is_err());
}
