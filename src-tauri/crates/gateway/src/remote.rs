//! Running a request at a remote provider: budget check with a reservation
//! of the request's worst-case cost, keys tried in order (the next one on
//! 401/429), retries of transient failures with back-off and Retry-After,
//! cancellation, and usage priced from the price table. A request that ends
//! early (cancelled, or its stream cut after text reached the caller) is
//! charged what the provider billed: the usage it reported so far, else the
//! prompt and the streamed text counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_core::{AppError, ErrorCode, FinishReason, GenerationStats, ModelPrice, ProviderSettings};
use switchboard_providers::{adapter, ChatRequest, Endpoint, ErrorAction, ErrorKind, ProviderError, Usage};

use crate::Gateway;

/// Attempts per key for transient failures (the first try included).
const ATTEMPTS_PER_KEY: u32 = 3;
/// A provider asking us to wait longer than this is treated as unavailable now.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

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

/// Worst-case costs of requests in flight, by provider id.
#[derive(Default, Clone)]
pub(crate) struct Reservations(Arc<Mutex<HashMap<String, f64>>>);

/// One request's share of [`Reservations`]; released when dropped.
pub(crate) struct Reservation {
    all: Reservations,
    provider: String,
    amount: f64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut all = self.all.0.lock().expect("reservations lock");
        if let Some(held) = all.get_mut(&self.provider) {
            *held -= self.amount;
            if *held <= 1e-12 {
                all.remove(&self.provider);
            }
        }
    }
}

/// Tokens in `text`, counted the way a reader would without the provider's
/// tokenizer: about four characters each, never less than one per word.
fn count_tokens(text: &str) -> u32 {
    let by_chars = text.chars().count().div_ceil(4);
    let words = text.split_whitespace().count();
    by_chars.max(words) as u32
}

/// The prompt's tokens, counted (images as a typical tile's worth each).
fn prompt_tokens(req: &ChatRequest) -> u32 {
    req.messages.iter().map(|m| count_tokens(&m.text) + 4 + 765 * m.images.len() as u32).sum()
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
    /// Reserves `req`'s worst-case cost against `provider`'s budget, or says
    /// why it cannot go: the budget would be passed, or no price is known.
    async fn reserve(
        &self,
        provider: &ProviderSettings,
        req: &ChatRequest,
        price: Option<&ModelPrice>,
    ) -> Result<Option<Reservation>, AppError> {
        let Some(budget) = provider.monthly_budget_usd else {
            return Ok(None);
        };
        let price = price.ok_or_else(|| {
            AppError::new(
                ErrorCode::BudgetExceeded,
                format!(
                    "{} has a monthly budget, but no price is known for {}: import a price file that lists it (Providers page) or remove the budget",
                    provider.display_name, req.model
                ),
            )
        })?;
        let worst = price.cost(prompt_tokens(req), 0, req.params.max_tokens);
        let spent = self.store.month_spend_now(&provider.id).await?;
        // Checked and reserved under one lock: two requests cannot both pass on the same headroom.
        let mut all = self.reserved.0.lock().expect("reservations lock");
        let held = all.get(&provider.id).copied().unwrap_or(0.0);
        if spent >= budget || spent + held + worst > budget {
            let detail = if spent >= budget {
                format!("has spent ${spent:.2} of its ${budget:.2} monthly budget")
            } else {
                format!(
                    "has ${:.4} of its ${budget:.2} monthly budget left (${held:.4} held by requests in flight), and this request may cost up to ${worst:.4}",
                    (budget - spent).max(0.0)
                )
            };
            return Err(AppError::new(
                ErrorCode::BudgetExceeded,
                format!(
                    "{} {detail}; raise the budget on the Providers page, lower max tokens or choose another model",
                    provider.display_name
                ),
            ));
        }
        *all.entry(provider.id.clone()).or_insert(0.0) += worst;
        Ok(Some(Reservation { all: self.reserved.clone(), provider: provider.id.clone(), amount: worst }))
    }

    pub(crate) async fn run_remote(
        &self,
        provider: &ProviderSettings,
        req: ChatRequest,
        cancel: Arc<AtomicBool>,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<RemoteOutcome, AppError> {
        let started = Instant::now();
        // Looked up once: the budget reserves with it, the outcome is priced with it.
        let price = self.store.price(provider.kind.as_str(), &req.model).await?;
        let reservation = self.reserve(provider, &req, price.as_ref()).await?;
        let keys = self.open_keys(&provider.id).await?;
        if keys.is_empty() && provider.kind.needs_key() {
            return Err(AppError::new(
                ErrorCode::SecretUnavailable,
                format!("{} has no API key; add one on the Providers page", provider.display_name),
            ));
        }
        let key_slots: Vec<Option<&str>> =
            if keys.is_empty() { vec![None] } else { keys.iter().map(|(_, k)| Some(k.as_str())).collect() };

        let first_token_at = std::sync::Mutex::new(None::<Instant>);
        let streamed = std::sync::Mutex::new(String::new());
        let emitted = AtomicBool::new(false);
        let mut sink = |text: &str| {
            first_token_at.lock().expect("first token lock").get_or_insert_with(Instant::now);
            emitted.store(true, Ordering::Relaxed);
            streamed.lock().expect("streamed lock").push_str(text);
            on_text(text);
        };
        let first_token = || *first_token_at.lock().expect("first token lock");
        let billed_so_far = || billed(&req, &streamed.lock().expect("streamed lock"));
        let mut last_error: Option<ProviderError> = None;
        'keys: for (slot, key) in key_slots.iter().enumerate() {
            let endpoint = Endpoint::for_provider(provider, key.map(str::to_string));
            let adapter = adapter(endpoint, self.http.clone()).map_err(|e| provider_error(provider, &e))?;
            for attempt in 1..=ATTEMPTS_PER_KEY {
                let result = tokio::select! {
                    r = adapter.chat(&req, Some(&mut sink)) => r,
                    _ = cancelled(&cancel) => {
                        return Ok(outcome(price.as_ref(), started, first_token(), billed_so_far(), FinishReason::Cancelled, None, reservation));
                    }
                };
                let err = match result {
                    Ok(resp) => {
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
                tracing::warn!(provider = %provider.id, key = slot, attempt, kind = ?err.kind, "provider call failed");
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
                let wait = err.retry_after.unwrap_or(Duration::from_millis(500 * 2u64.pow(attempt - 1)));
                if err.action() != ErrorAction::RetrySame || attempt == ATTEMPTS_PER_KEY || wait > MAX_RETRY_WAIT {
                    return Err(provider_error(provider, &err));
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancelled(&cancel) => {
                        // Between attempts nothing is in flight at the provider: nothing billed.
                        return Ok(outcome(price.as_ref(), started, None, Usage::default(), FinishReason::Cancelled, None, reservation));
                    }
                }
                last_error = Some(err);
            }
        }
        Err(last_error.map(|e| provider_error(provider, &e)).unwrap_or_else(|| {
            AppError::new(ErrorCode::ProviderFailed, format!("{} could not be reached", provider.display_name))
        }))
    }
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
