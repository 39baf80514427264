//! Switchboard's local HTTP API (axum): OpenAI-compatible (`/v1`),
//! Ollama-compatible (`/api`) and a configuration API (`/config`), all over
//! the one gateway, so an API request gets its use case's route, budgets,
//! ledger row and audit exactly as a request from the window does.
//!
//! - [`guard`]: Host check, tokens, concurrency limit (every route).
//! - [`body`]: JSON bodies read under the size limit, errors in the API's own format.
//! - [`target`]: what a request's `model` names (a use case or a concrete model), images.
//! - [`conversation`]: a chat from either API as a gateway request (text or images).
//! - [`run`]: a generation as a stream of events, cancelled when the client goes.
//! - [`openai`], [`ollama`], [`config`]: the handlers; [`openapi`]: `/openapi.json`.
//!
//! **Architecture Invariant:** handlers parse, call the gateway or an op, and
//! format; no SQL and no routing decisions here.

pub mod body;
pub mod catalog;
pub mod config;
pub mod conversation;
pub mod error;
pub mod guard;
pub mod ollama;
pub mod openai;
pub mod openapi;
pub mod run;
pub mod target;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use switchboard_core::{ApiServerSettings, AppError, ErrorCode};
use switchboard_service::AppState;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

pub use guard::Caller;

/// What every handler shares.
pub struct ApiState {
    pub app: Arc<AppState>,
    pub settings: ApiServerSettings,
    /// The address the listener is bound to (the Host check accepts it).
    pub bound: SocketAddr,
    pub started_at: String,
    tokens: guard::Tokens,
    limiter: guard::Limiter,
    counters: guard::Counters,
    /// Fetches images given as http(s) URLs (when the admin allows it).
    http: reqwest::Client,
}

impl ApiState {
    pub fn new(app: Arc<AppState>, settings: ApiServerSettings, bound: SocketAddr) -> Self {
        Self {
            app,
            limiter: guard::Limiter::new(settings.max_concurrent),
            settings,
            bound,
            started_at: switchboard_store::now(),
            tokens: Default::default(),
            counters: Default::default(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::limited(3))
                .build()
                .expect("an HTTP client"),
        }
    }

    pub fn status(&self) -> ServerStatus {
        ServerStatus {
            running: true,
            address: Some(self.bound.to_string()),
            started_at: Some(self.started_at.clone()),
            requests_served: self.counters.served.load(Ordering::Relaxed) as f64,
            requests_refused: self.counters.refused.load(Ordering::Relaxed) as f64,
            exposed: self.settings.is_exposed(),
            error: None,
        }
    }
}

/// `v` as a JSON value with its `f32`s as written (0.7, not 0.699999988): the
/// text serialiser writes the shortest form, the value serialiser widens to f64.
pub fn json_value<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::from_str(&serde_json::to_string(v).expect("serialisable")).expect("valid JSON")
}

/// The server as Settings shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, specta::Type)]
pub struct ServerStatus {
    pub running: bool,
    /// `host:port` it listens on.
    pub address: Option<String>,
    pub started_at: Option<String>,
    pub requests_served: f64,
    /// Refused before a handler: wrong Host, no or bad token, too many at once.
    pub requests_refused: f64,
    /// Listening beyond this machine.
    pub exposed: bool,
    /// Why it is not running, when it failed to start.
    pub error: Option<String>,
}

/// Every route, behind the guard and (when origins are listed) CORS.
pub fn router(state: Arc<ApiState>) -> Router {
    let api = Router::new()
        .route("/", get(running))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/completions", post(openai::completions))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/v1/models", get(openai::models))
        .route("/v1/models/{*model}", get(openai::model))
        .route("/api/chat", post(ollama::chat))
        .route("/api/generate", post(ollama::generate))
        .route("/api/embed", post(ollama::embed))
        .route("/api/embeddings", post(ollama::embed))
        .route("/api/tags", get(ollama::tags))
        .route("/api/show", post(ollama::show))
        .route("/api/ps", get(ollama::ps))
        .route("/api/version", get(ollama::version))
        .route("/config", get(config::list))
        .route("/config/providers", get(config::providers))
        .route("/config/providers/{id}/test", post(config::test_provider))
        .route("/config/costs", get(config::costs))
        .route("/config/{use_case}", get(config::show).put(config::update))
        .route("/openapi.json", get(openapi::document))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard))
        .with_state(state.clone());
    match cors(&state.settings) {
        Some(layer) => api.layer(layer),
        None => api,
    }
}

/// CORS headers only for the origins the admin listed.
fn cors(settings: &ApiServerSettings) -> Option<CorsLayer> {
    if settings.allowed_origins.is_empty() {
        return None;
    }
    let origins =
        settings.allowed_origins.iter().filter_map(|o| o.trim_end_matches('/').parse().ok()).collect::<Vec<_>>();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST, axum::http::Method::PUT])
            // A listed origin may send any header (the OpenAI and Anthropic browser
            // clients add their own); the token is still required.
            .allow_headers(AllowHeaders::mirror_request()),
    )
}

/// What a client that checks for a server at its root (as Ollama's clients do) reads.
async fn running() -> &'static str {
    "Switchboard is running"
}

async fn not_found(uri: axum::http::Uri) -> error::ApiError {
    let path = uri.path();
    error::ApiError::new(
        error::Dialect::of_path(path),
        axum::http::StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!("no endpoint {path}; /openapi.json lists them"),
    )
}

/// A server that is listening, until [`RunningServer::stop`].
pub struct RunningServer {
    pub state: Arc<ApiState>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    pub fn address(&self) -> SocketAddr {
        self.state.bound
    }

    /// Stops listening and lets requests in flight finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Resolves when the server stopped by itself (it should not).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Binds `settings.host:settings.port` and serves until stopped.
pub async fn start(app: Arc<AppState>, settings: ApiServerSettings) -> Result<RunningServer, AppError> {
    settings.validate()?;
    let host = if settings.host.trim() == "localhost" { "127.0.0.1" } else { settings.host.trim() };
    let addr =
        SocketAddr::new(host.parse().map_err(|_| AppError::for_field("host", "not an IP address"))?, settings.port);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                "port {} is in use: another program (perhaps Switchboard itself: the app or `switchboard serve`) listens there; stop it or choose another port",
                settings.port
            )
        } else {
            format!("cannot listen on {addr}: {e}")
        };
        AppError::new(ErrorCode::InvalidInput, why)
    })?;
    let bound = listener.local_addr().map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
    if settings.is_exposed() {
        tracing::warn!(%bound, "the API listens beyond this machine: every request still needs a token");
    }
    let state = Arc::new(ApiState::new(app, settings, bound));
    let router = router(state.clone());
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
            tracing::error!(%e, "the API server stopped");
        }
    });
    tracing::info!(%bound, "API server listening");
    Ok(RunningServer { state, stop, task })
}
