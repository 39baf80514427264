//! A generation as a stream of items: tokens as the gateway emits them, then
//! how it ended. The request is cancelled (and recorded as cancelled) when
//! the client goes away before the end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use switchboard_core::{AppError, Attempt, GenerationStats};
use switchboard_gateway::{DescribeExtras, DescribeRequest, GenerationEvent, LlmRequest, RequestExtras};
use switchboard_service::AppState;
use tokio::sync::mpsc;

/// How a request ended.
#[derive(Debug, Clone)]
pub struct Finished {
    pub ledger_id: String,
    /// The candidate that answered (`provider/model`).
    pub model: String,
    pub use_case: String,
    pub stats: GenerationStats,
    pub route: Vec<Attempt>,
    pub cache_hit: bool,
    /// Positions the images took in the context (vision requests).
    pub image_tokens: u32,
}

#[derive(Debug)]
pub enum Item {
    Token(String),
    Done(Result<Finished, AppError>),
}

/// A request running in the background.
pub struct Running {
    rx: mpsc::UnboundedReceiver<Item>,
    guard: CancelGuard,
}

impl Running {
    pub async fn next(&mut self) -> Option<Item> {
        let item = self.rx.recv().await;
        if matches!(item, Some(Item::Done(_)) | None) {
            self.guard.finished.store(true, Ordering::Relaxed);
        }
        item
    }

    /// Every token, then how it ended.
    pub async fn collect(mut self) -> Result<(String, Finished), AppError> {
        let mut text = String::new();
        while let Some(item) = self.next().await {
            match item {
                Item::Token(t) => text.push_str(&t),
                Item::Done(done) => return done.map(|f| (text, f)),
            }
        }
        Err(AppError::new(switchboard_core::ErrorCode::Internal, "the request ended without an answer"))
    }

    /// Waits for the first token or the end: an error before any text can
    /// still be answered with an error status instead of a broken stream.
    pub async fn first(&mut self) -> Option<Item> {
        self.next().await
    }
}

/// Cancels the request unless it finished.
struct CancelGuard {
    app: Arc<AppState>,
    request_id: String,
    finished: Arc<AtomicBool>,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.finished.load(Ordering::Relaxed) && self.app.gateway.cancel(&self.request_id) {
            tracing::info!(request_id = %self.request_id, "the client went away: request cancelled");
        }
    }
}

fn sink(tx: &mpsc::UnboundedSender<Item>) -> impl Fn(GenerationEvent) + Send + Sync + 'static {
    let tx = tx.clone();
    move |e| {
        if let GenerationEvent::Token { text } = e {
            let _ = tx.send(Item::Token(text));
        }
    }
}

pub fn new_request_id() -> String {
    format!("api-{}", uuid::Uuid::now_v7())
}

/// Starts a text request through the gateway.
pub fn chat(app: &Arc<AppState>, caller: String, req: LlmRequest, extras: RequestExtras) -> Running {
    let (tx, rx) = mpsc::unbounded_channel();
    let guard = CancelGuard { app: app.clone(), request_id: req.request_id.clone(), finished: Default::default() };
    let app = app.clone();
    let use_case = req.use_case.clone();
    tokio::spawn(async move {
        let done = app.gateway.generate_with(&caller, req, extras, sink(&tx)).await.map(|s| Finished {
            ledger_id: s.ledger_id,
            model: s.model,
            use_case,
            stats: s.stats,
            route: s.route,
            cache_hit: s.cache_hit,
            image_tokens: 0,
        });
        let _ = tx.send(Item::Done(done));
    });
    Running { rx, guard }
}

/// Starts a vision request (images and a prompt) through the gateway.
pub fn describe(app: &Arc<AppState>, caller: String, req: DescribeRequest, extras: DescribeExtras) -> Running {
    let (tx, rx) = mpsc::unbounded_channel();
    let guard = CancelGuard { app: app.clone(), request_id: req.request_id.clone(), finished: Default::default() };
    let app = app.clone();
    let use_case = req.use_case.clone().unwrap_or_default();
    tokio::spawn(async move {
        let done = app.gateway.describe_with(&caller, req, extras, sink(&tx)).await.map(|s| Finished {
            ledger_id: s.ledger_id,
            model: s.model,
            use_case,
            stats: s.stats,
            route: s.route,
            cache_hit: false,
            image_tokens: s.image_tokens,
        });
        let _ = tx.send(Item::Done(done));
    });
    Running { rx, guard }
}
