//! What every request passes before a handler: the Host header (a DNS
//! rebinding page names its own host, so only this machine's names and the
//! bound address are accepted), a token (Bearer or `x-api-key`, looked up by
//! its SHA-256), and a limit on requests served at once (as many again may
//! wait; past that a request is refused with 503 and `Retry-After`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use switchboard_core::{ApiToken, ErrorCode, TokenScope};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, Dialect};
use crate::ApiState;

/// Who is calling: the token's name and what it may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: String,
    pub name: String,
    pub scope: TokenScope,
}

impl Caller {
    /// How the ledger and the audit log name this caller.
    pub fn ledger_name(&self) -> String {
        format!("token:{}", self.name)
    }
}

/// How long a looked-up token is trusted before it is looked up again
/// (a token revoked elsewhere, by the command line say, stops working within this).
const TOKEN_TTL: Duration = Duration::from_secs(2);
/// How often a token's `last_used_at` is written.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct Tokens {
    seen: Mutex<HashMap<String, Seen>>,
}

struct Seen {
    token: ApiToken,
    checked: Instant,
    touched: Option<Instant>,
}

impl Tokens {
    /// The live token whose secret is `secret`.
    async fn find(&self, state: &ApiState, secret: &str) -> Result<Option<ApiToken>, ApiError> {
        let hash = switchboard_service::ops::api::hash_token(secret);
        if let Some(seen) = self.seen.lock().expect("tokens lock").get_mut(&hash) {
            if seen.checked.elapsed() < TOKEN_TTL {
                if seen.touched.is_none_or(|t| t.elapsed() >= TOUCH_EVERY) {
                    seen.touched = Some(Instant::now());
                    touch(state, seen.token.id.clone());
                }
                return Ok(Some(seen.token.clone()));
            }
        }
        let found = state
            .app
            .store()
            .api_token_by_hash(&hash)
            .await
            .map_err(|e| ApiError::from_app(Dialect::Config, e.into()))?;
        let mut seen = self.seen.lock().expect("tokens lock");
        match &found {
            Some(token) => {
                let touched = seen.get(&hash).and_then(|s| s.touched);
                let due = touched.is_none_or(|t| t.elapsed() >= TOUCH_EVERY);
                if due {
                    touch(state, token.id.clone());
                }
                let touched = if due { Some(Instant::now()) } else { touched };
                seen.insert(hash, Seen { token: token.clone(), checked: Instant::now(), touched });
            }
            None => {
                seen.remove(&hash);
            }
        }
        Ok(found)
    }
}

/// Writes a token's last use in the background: a failure costs a timestamp, never the request.
fn touch(state: &ApiState, id: String) {
    let app = state.app.clone();
    tokio::spawn(async move {
        if let Err(e) = app.store().touch_api_token(&id, &switchboard_store::now()).await {
            tracing::warn!(%e, "could not note a token's last use");
        }
    });
}

/// Requests served at once, and how many wait.
pub struct Limiter {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Limiter {
    pub fn new(max_concurrent: u32) -> Self {
        let n = max_concurrent.max(1) as usize;
        Self { running: Arc::new(Semaphore::new(n)), waiting: AtomicUsize::new(0), max_waiting: n }
    }

    /// A place among the requests served at once: at once if one is free,
    /// else after waiting in line, or `None` when the line is full too.
    /// A caller that gives up while waiting (its connection closed) leaves the line.
    pub async fn admit(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(p) = self.running.clone().try_acquire_owned() {
            return Some(p);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let _in_line = InLine(&self.waiting);
        Some(self.running.clone().acquire_owned().await.expect("the semaphore is never closed"))
    }
}

/// One request waiting for a place; dropping it (served or abandoned) leaves the line.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the Settings page shows about a running server.
#[derive(Default)]
pub struct Counters {
    pub served: AtomicU64,
    pub refused: AtomicU64,
}

/// The Host check, the token and the limiter, in that order.
pub async fn guard(State(state): State<Arc<ApiState>>, mut req: Request, next: Next) -> Response {
    let dialect = Dialect::of_path(req.uri().path());
    let refuse = |state: &ApiState, e: ApiError| {
        state.counters.refused.fetch_add(1, Ordering::Relaxed);
        e.into_response()
    };
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !host_allowed(host, state.bound) {
        let e = ApiError::new(
            dialect,
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidInput,
            format!("the Host header '{host}' names neither this machine nor the address the API is bound to"),
        );
        return refuse(&state, e);
    }
    let secret = bearer(&req).map(str::to_string);
    let Some(secret) = secret else {
        let e = ApiError::new(
            dialect,
            StatusCode::UNAUTHORIZED,
            ErrorCode::ProviderAuth,
            "an API token is required: send 'Authorization: Bearer sb-...' (create one in Settings or with `switchboard tokens create`)",
        );
        return refuse(&state, e);
    };
    let token = match state.tokens.find(&state, &secret).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            let e = ApiError::new(
                dialect,
                StatusCode::UNAUTHORIZED,
                ErrorCode::ProviderAuth,
                "this API token is not valid (unknown or revoked)",
            );
            return refuse(&state, e);
        }
        Err(e) => return refuse(&state, ApiError { dialect, ..e }),
    };
    req.extensions_mut().insert(Caller { token_id: token.id, name: token.name, scope: token.scope });

    let Some(permit) = state.limiter.admit().await else {
        let e = ApiError::new(
            dialect,
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Busy,
            "the server is serving as many requests as it may, with as many waiting; try again shortly",
        )
        .with_retry_after(1);
        return refuse(&state, e);
    };
    state.counters.served.fetch_add(1, Ordering::Relaxed);
    let response = next.run(req).await;
    // The permit is held until the body (a stream, perhaps) has been sent.
    let (parts, body) = response.into_parts();
    let body = axum::body::Body::from_stream(body.into_data_stream().map(move |chunk| {
        let _held = &permit;
        chunk
    }));
    Response::from_parts(parts, body)
}

/// The token a request carries: `Authorization: Bearer`, else `x-api-key`.
fn bearer(req: &Request) -> Option<&str> {
    let headers = req.headers();
    let auth = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()).and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    auth.or_else(|| headers.get("x-api-key").and_then(|h| h.to_str().ok()).map(str::trim)).filter(|t| !t.is_empty())
}

/// Whether `host` (a Host header, port included) names this machine or the bound address.
pub fn host_allowed(host: &str, bound: SocketAddr) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        // A bare IPv6 address has colons of its own.
        None if host.parse::<IpAddr>().is_ok() => host,
        None => host.rsplit_once(':').map_or(host, |(h, port)| if port.parse::<u16>().is_ok() { h } else { host }),
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let Ok(ip) = name.parse::<IpAddr>() else { return false };
    // Bound to every interface: any address of this machine, and a page cannot make a browser send a bare IP for its own name.
    ip.is_loopback() || ip == bound.ip() || bound.ip().is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_or_the_bound_address_passes() {
        let local: SocketAddr = "127.0.0.1:4315".parse().unwrap();
        for ok in ["localhost", "localhost:4315", "LOCALHOST:1", "127.0.0.1:4315", "[::1]:4315", "::1", "127.0.0.1"] {
            assert!(host_allowed(ok, local), "{ok}");
        }
        for bad in ["", "evil.example:4315", "localhost.evil.example", "192.168.1.20:4315", "[fe80::1]:4315"] {
            assert!(!host_allowed(bad, local), "{bad}");
        }
        let lan: SocketAddr = "192.168.1.20:4315".parse().unwrap();
        assert!(host_allowed("192.168.1.20:4315", lan));
        assert!(!host_allowed("attacker.example", lan));
        let any: SocketAddr = "0.0.0.0:4315".parse().unwrap();
        assert!(host_allowed("10.0.0.5:4315", any));
        assert!(!host_allowed("rebind.attacker.example:4315", any));
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_waiting_leaves_the_line() {
        let limiter = Arc::new(Limiter::new(1));
        let serving = limiter.admit().await.expect("a free place");
        // Callers that wait and then hang up, many more times than the line is long.
        for _ in 0..5 {
            let gave_up = tokio::time::timeout(Duration::from_millis(10), limiter.admit()).await;
            assert!(gave_up.is_err(), "no place was free, so the caller waited");
        }
        assert_eq!(limiter.waiting.load(Ordering::SeqCst), 0);
        // The line has room again: one more may wait, and is served when the place frees.
        let l = limiter.clone();
        let waiter = tokio::spawn(async move { l.admit().await.is_some() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(limiter.waiting.load(Ordering::SeqCst), 1);
        drop(serving);
        assert!(waiter.await.unwrap(), "a waiting caller is served once the place is free");
        assert_eq!(limiter.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_full_line_is_refused() {
        let limiter = Arc::new(Limiter::new(1));
        let _serving = limiter.admit().await.expect("a free place");
        let l = limiter.clone();
        let waiting = tokio::spawn(async move { l.admit().await.is_some() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(limiter.admit().await.is_none(), "one serving and one waiting: the next is refused");
        waiting.abort();
        let _ = waiting.await;
        assert_eq!(limiter.waiting.load(Ordering::SeqCst), 0, "an aborted waiter leaves the line");
    }
}
