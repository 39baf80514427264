//! Running a request at a remote provider: the circuit breaker and rate
//! limits asked first, the budget reservation (`budget.rs`), keys tried in
//! order (the next one on 401/429), retries of transient failures with
//! jittered exponential back-off and Retry-After, the provider's time-outs
//! (first token, idle gap, total), cancellation, and usage priced from the
//! price table. A request that ends
//! early (cancelled, or its stream cut after text reached the caller) is
//! charged what the provider billed: the usage it reported so far, else the
//! prompt and the streamed text counted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use switchboard_core::{
    AppError, ErrorCode, FailureClass, FinishReason, GenerationStats, ModelPrice, ProviderSettings, RoutingEventKind,
    UseCase,
};
use switchboard_providers::{adapter, ChatRequest, Endpoint, ErrorAction, ErrorKind, ProviderError, Usage};

use crate::budget::{count_tokens, prompt_tokens, Reservation};
use crate::health::{Admission, CircuitChange};
use crate::Gateway;

/// Attempts per key for transient failures (the first try included).
const ATTEMPTS_PER_KEY: u32 = 3;
/// A provider asking us to wait longer than this is passed over for now (and
/// skipped until the time it gave).
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// The pauses between tries of one key: exponential from 250 ms, doubled
/// each time, at most 8 s, with jitter so that many callers do not retry in step.
fn backoff() -> impl Iterator<Item = Duration> {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(8))
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(ATTEMPTS_PER_KEY as usize - 1)
        .build()
}

/// Why a candidate could not answer, as routing needs to know it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub error: AppError,
    pub class: FailureClass,
    /// Nothing was sent: the candidate was passed over.
    pub skipped: bool,
    /// Retrying elsewhere at the same provider repeats the mistake (a refused key, an invalid request).
    pub fail_fast: bool,
    /// Tries made at the provider.
    pub tries: u32,
}

impl Failure {
    pub fn skipped(class: FailureClass, error: AppError) -> Self {
        Self { error, class, skipped: true, fail_fast: false, tries: 0 }
    }

    pub fn failed(class: FailureClass, error: AppError, tries: u32) -> Self {
        Self { error, class, skipped: false, fail_fast: false, tries }
    }

    fn from_provider(provider: &ProviderSettings, e: &ProviderError, tries: u32) -> Self {
        Self {
            error: provider_error(provider, e),
            class: class_of(e.kind),
            skipped: false,
            fail_fast: e.action() == ErrorAction::FailFast,
            tries,
        }
    }
}

impl From<Failure> for AppError {
    fn from(f: Failure) -> Self {
        f.error
    }
}

/// The routing class of a provider error.
pub(crate) fn class_of(kind: ErrorKind) -> FailureClass {
    match kind {
        ErrorKind::Auth => FailureClass::Auth,
        ErrorKind::RateLimited => FailureClass::RateLimited,
        ErrorKind::Timeout => FailureClass::Timeout,
        ErrorKind::Server => FailureClass::Server,
        ErrorKind::Unavailable => FailureClass::Unavailable,
        ErrorKind::ContextTooLong => FailureClass::PromptTooLong,
        ErrorKind::InvalidRequest => FailureClass::InvalidRequest,
        ErrorKind::BadResponse => FailureClass::BadResponse,
        ErrorKind::StreamCut => FailureClass::StreamCut,
    }
}

/// What a finished remote request reports beyond the common stats.
pub(crate) struct RemoteOutcome {
    pub stats: GenerationStats,
    pub usage: Usage,
    pub cost_usd: f64,
    /// The stream broke after text reached the caller: the request failed,
    /// but what was streamed was billed and is charged.
    pub cut: Option<AppError>,
    /// Held until the caller has written the ledger row.
    pub reservation: Option<Reservation>,
}

/// What a request that ended early was billed: the usage the provider
/// reported so far, else the prompt and the text streamed, counted.
fn billed(req: &ChatRequest, streamed: &str) -> Usage {
    let reported = req.meter.get().unwrap_or_default();
    Usage {
        input_tokens: if reported.input_tokens > 0 { reported.input_tokens } else { prompt_tokens(req) },
        output_tokens: reported.output_tokens.max(count_tokens(streamed)),
        ..reported
    }
}

impl Gateway {
    /// Runs `req` at `provider` for `use_case`. Every way it can fail is a
    /// [`Failure`] that says whether anything was sent and whether another
    /// provider may succeed where this one could not.
    pub(crate) async fn run_remote(
        &self,
        use_case: &UseCase,
        provider: &ProviderSettings,
        req: ChatRequest,
        cancel: Arc<AtomicBool>,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<RemoteOutcome, Failure> {
        let started = Instant::now();
        // A model the provider reported failing has a circuit of its own.
        let model_key = model_health_key(&provider.id, &req.model);
        let admission = match self.health.admit(&provider.id) {
            Admission::Go => self.health.admit(&model_key),
            other => other,
        };
        let paused_model = !matches!(self.health.report(&model_key).circuit.as_str(), "closed");
        match admission {
            Admission::Go => {}
            Admission::Open { retry_at } => {
                let who = if paused_model {
                    format!("{} at {}", req.model, provider.display_name)
                } else {
                    provider.display_name.clone()
                };
                return Err(Failure::skipped(
                    FailureClass::CircuitOpen,
                    AppError::new(
                        ErrorCode::ProviderUnavailable,
                        format!(
                            "{who} failed repeatedly and is paused until {} (circuit open)",
                            crate::health::wall_time(retry_at)
                        ),
                    ),
                ));
            }
            Admission::CoolingDown { until } => {
                return Err(Failure::skipped(
                    FailureClass::RateLimited,
                    AppError::new(
                        ErrorCode::ProviderUnavailable,
                        format!(
                            "{} asked for a pause (rate limit) until {}",
                            provider.display_name,
                            crate::health::wall_time(until)
                        ),
                    ),
                ))
            }
        }
        // Looked up once: the budget reserves with it, the outcome is priced with it.
        let price = self
            .store
            .price(provider.kind.as_str(), &req.model)
            .await
            .map_err(|e| Failure::skipped(FailureClass::Other, e.into()))?;
        let keys = self.open_keys(&provider.id).await.map_err(|e| Failure::skipped(FailureClass::NoKey, e))?;
        if keys.is_empty() && provider.kind.needs_key() {
            return Err(Failure::skipped(
                FailureClass::NoKey,
                AppError::new(
                    ErrorCode::SecretUnavailable,
                    format!("{} has no API key; add one on the Providers page", provider.display_name),
                ),
            ));
        }
        let limits = &provider.limits;
        let tokens = prompt_tokens(&req).saturating_add(req.params.max_tokens);
        if let Err(wait) =
            self.health.acquire(&provider.id, limits.requests_per_minute, limits.tokens_per_minute, tokens).await
        {
            let message = format!(
                "{}: the rate limit set on the Providers page has no slot for {} s",
                provider.display_name,
                wait.as_secs().max(1)
            );
            self.raise(RoutingEventKind::RateLimited, Some(&provider.id), Some(&use_case.id), None, message.clone())
                .await;
            return Err(Failure::skipped(
                FailureClass::RateLimited,
                AppError::new(ErrorCode::ProviderUnavailable, message),
            ));
        }
        let reservation = self.reserve(provider, use_case, &req, price.as_ref()).await?;
        let key_slots: Vec<Option<&str>> =
            if keys.is_empty() { vec![None] } else { keys.iter().map(|(_, k)| Some(k.as_str())).collect() };
        let http = self.client_for(provider);

        let first_token_at = std::sync::Mutex::new(None::<Instant>);
        // The tokio clock, for the time-outs (tests pause it).
        let last_text_at = std::sync::Mutex::new(None::<tokio::time::Instant>);
        let streamed = std::sync::Mutex::new(String::new());
        let emitted = AtomicBool::new(false);
        let mut sink = |text: &str| {
            first_token_at.lock().expect("first token lock").get_or_insert_with(Instant::now);
            *last_text_at.lock().expect("last text lock") = Some(tokio::time::Instant::now());
            emitted.store(true, Ordering::Relaxed);
            streamed.lock().expect("streamed lock").push_str(text);
            on_text(text);
        };
        let first_token = || *first_token_at.lock().expect("first token lock");
        let billed_so_far = || billed(&req, &streamed.lock().expect("streamed lock"));
        let mut last_error: Option<ProviderError> = None;
        let mut tries = 0;
        'keys: for (slot, key) in key_slots.iter().enumerate() {
            let endpoint = Endpoint::for_provider(provider, key.map(str::to_string));
            let adapter = adapter(endpoint, http.clone()).map_err(|e| Failure::from_provider(provider, &e, tries))?;
            let mut pauses = backoff();
            loop {
                tries += 1;
                let sent_at = tokio::time::Instant::now();
                let result = tokio::select! {
                    r = adapter.chat(&req, Some(&mut sink)) => r,
                    e = stalled(provider, sent_at, &last_text_at) => Err(e),
                    _ = cancelled(&cancel) => {
                        return Ok(outcome(price.as_ref(), started, first_token(), billed_so_far(), FinishReason::Cancelled, None, reservation));
                    }
                };
                let err = match result {
                    Ok(resp) => {
                        let model_closed = self.health.success(&model_key);
                        if let Some(CircuitChange::Closed) = self.health.success(&provider.id).or(model_closed) {
                            let message = format!("{} answers again: its circuit is closed", provider.display_name);
                            self.raise(
                                RoutingEventKind::CircuitClosed,
                                Some(&provider.id),
                                Some(&use_case.id),
                                None,
                                message,
                            )
                            .await;
                        }
                        let finish = finish_reason(resp.finish_reason.as_deref());
                        return Ok(outcome(
                            price.as_ref(),
                            started,
                            first_token(),
                            resp.usage,
                            finish,
                            None,
                            reservation,
                        ));
                    }
                    Err(e) => e,
                };
                tracing::warn!(provider = %provider.id, key = slot, attempt = tries, kind = ?err.kind, "provider call failed");
                // A failure that names the model is the model's (Ollama: "model failed to load");
                // the provider's other models keep serving.
                let names_model = err.message.to_lowercase().contains(&req.model.to_lowercase());
                let (health_key, who) = if names_model {
                    (model_key.as_str(), format!("{} at {}", req.model, provider.display_name))
                } else {
                    (provider.id.as_str(), provider.display_name.clone())
                };
                if let Some(CircuitChange::Opened { for_ }) = self.health.failure(health_key, err.kind) {
                    let message = format!(
                        "{who} failed {} times in a row or too often ({}): not tried for {} s",
                        crate::health::OPEN_AFTER_CONSECUTIVE,
                        err.message,
                        for_.as_secs()
                    );
                    self.raise(RoutingEventKind::CircuitOpened, Some(&provider.id), Some(&use_case.id), None, message)
                        .await;
                }
                // Text already reached the caller: a retry would repeat it. What was streamed was billed.
                if emitted.load(Ordering::Relaxed) {
                    let cut = Some(provider_error(provider, &err));
                    return Ok(outcome(
                        price.as_ref(),
                        started,
                        first_token(),
                        billed_so_far(),
                        FinishReason::EndOfText,
                        cut,
                        reservation,
                    ));
                }
                let more_keys = slot + 1 < key_slots.len();
                if err.kind.rotates_key() && more_keys {
                    last_error = Some(err);
                    continue 'keys;
                }
                if err.action() != ErrorAction::RetrySame {
                    return Err(Failure::from_provider(provider, &err, tries));
                }
                if let Some(asked) = err.retry_after.filter(|w| *w > MAX_RETRY_WAIT) {
                    // Not worth holding the caller: skip this provider until then, try the next candidate now.
                    self.health
                        .cool_down(&provider.id, tokio::time::Instant::now() + asked.min(Duration::from_secs(86_400)));
                    return Err(Failure::from_provider(provider, &err, tries));
                }
                let Some(pause) = pauses.next() else {
                    return Err(Failure::from_provider(provider, &err, tries));
                };
                // The provider's Retry-After, when it gave one, else our back-off.
                let wait = err.retry_after.unwrap_or(pause);
                let open = |key: &str| self.health.report(key).circuit == "open";
                if open(&provider.id) || open(&model_key) {
                    // The circuit opened on this failure: do not hammer it.
                    return Err(Failure::from_provider(provider, &err, tries));
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancelled(&cancel) => {
                        // Between attempts nothing is in flight at the provider: nothing billed.
                        return Ok(outcome(price.as_ref(), started, None, Usage::default(), FinishReason::Cancelled, None, reservation));
                    }
                }
            }
        }
        Err(match last_error {
            Some(e) => Failure::from_provider(provider, &e, tries),
            None => Failure::failed(
                FailureClass::Unavailable,
                AppError::new(ErrorCode::ProviderFailed, format!("{} could not be reached", provider.display_name)),
                tries,
            ),
        })
    }

    /// The HTTP client with `provider`'s connect time-out (one per distinct setting).
    pub(crate) fn client_for(&self, provider: &ProviderSettings) -> reqwest::Client {
        let connect = provider.limits.connect();
        if connect == Duration::from_secs(u64::from(switchboard_core::ProviderLimits::DEFAULT_CONNECT_S)) {
            return self.http.clone();
        }
        let mut clients = self.clients.lock().expect("clients lock");
        clients
            .entry(connect)
            .or_insert_with(|| {
                switchboard_providers::client_with(connect, Duration::from_secs(120), Duration::from_secs(30 * 60))
            })
            .clone()
    }
}

/// Resolves when `provider`'s time-outs are passed for a try sent at
/// `sent_at`: no first token in time, a gap between chunks too long, or the
/// whole request too long.
async fn stalled(
    provider: &ProviderSettings,
    sent_at: tokio::time::Instant,
    last_text_at: &std::sync::Mutex<Option<tokio::time::Instant>>,
) -> ProviderError {
    let limits = &provider.limits;
    let total_end = sent_at + limits.total();
    loop {
        let last = (*last_text_at.lock().expect("last text lock")).filter(|t| *t >= sent_at);
        let (end, what) = match last {
            None => {
                (sent_at + limits.first_token(), format!("no first token within {} s", limits.first_token().as_secs()))
            }
            Some(t) => (t + limits.idle(), format!("the stream stalled: nothing for {} s", limits.idle().as_secs())),
        };
        let (end, what) = if total_end <= end {
            (total_end, format!("no complete answer within {} s", limits.total().as_secs()))
        } else {
            (end, what)
        };
        if tokio::time::Instant::now() >= end {
            return ProviderError::new(ErrorKind::Timeout, format!("{what} (time-outs on the Providers page)"));
        }
        tokio::time::sleep_until(end).await;
    }
}

/// The circuit key of one model at one provider.
pub(crate) fn model_health_key(provider: &str, model: &str) -> String {
    format!("{provider}/{model}")
}

/// The outcome of a remote request, priced from the usage.
#[allow(clippy::too_many_arguments)]
fn outcome(
    price: Option<&ModelPrice>,
    started: Instant,
    first_token: Option<Instant>,
    usage: Usage,
    finish_reason: FinishReason,
    cut: Option<AppError>,
    reservation: Option<Reservation>,
) -> RemoteOutcome {
    let end = Instant::now();
    let cost_usd = price.map_or(0.0, |p| p.cost(usage.input_tokens, usage.cached_input_tokens, usage.output_tokens));
    let gen_secs = first_token.map(|t| (end - t).as_secs_f64()).filter(|s| *s > 0.0);
    let stats = GenerationStats {
        input_tokens: usage.input_tokens,
        cached_input_tokens: usage.cached_input_tokens,
        output_tokens: usage.output_tokens,
        ttft_ms: first_token.map(|t| (t - started).as_secs_f64() * 1000.0),
        latency_ms: (end - started).as_secs_f64() * 1000.0,
        load_ms: 0.0,
        prompt_tokens_per_second: None,
        tokens_per_second: gen_secs.map(|s| usage.output_tokens.saturating_sub(1) as f64 / s),
        finish_reason,
    };
    RemoteOutcome { stats, usage, cost_usd, cut, reservation }
}

async fn cancelled(flag: &AtomicBool) {
    while !flag.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn finish_reason(provider_word: Option<&str>) -> FinishReason {
    match provider_word.map(str::to_ascii_lowercase).as_deref() {
        Some("length" | "max_tokens" | "model_length") => FinishReason::MaxTokens,
        Some("stop_sequence") => FinishReason::StopSequence,
        _ => FinishReason::EndOfText,
    }
}

/// A provider failure as the admin reads it: which provider, what happened, what to do.
pub fn provider_error(provider: &ProviderSettings, e: &ProviderError) -> AppError {
    let code = match e.kind {
        ErrorKind::Auth => ErrorCode::ProviderAuth,
        ErrorKind::ContextTooLong => ErrorCode::PromptTooLong,
        ErrorKind::RateLimited
        | ErrorKind::Timeout
        | ErrorKind::Server
        | ErrorKind::Unavailable
        | ErrorKind::StreamCut => ErrorCode::ProviderUnavailable,
        ErrorKind::InvalidRequest | ErrorKind::BadResponse => ErrorCode::ProviderFailed,
    };
    let advice = match e.action() {
        ErrorAction::FailFast => " (not retried: fix the setting, key or request)",
        ErrorAction::RetrySame => " (retried without success)",
        ErrorAction::TryNext => "",
    };
    AppError::new(code, format!("{}: {}{advice}", provider.display_name, e.message))
}
