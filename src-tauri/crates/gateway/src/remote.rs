//! Running a request at a remote provider: budget check, keys tried in order
//! (the next one on 401/429), retries of transient failures with back-off and
//! Retry-After, cancellation, and usage priced from the price table.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_core::{AppError, ErrorCode, FinishReason, GenerationStats, ProviderSettings};
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
}

impl Gateway {
    pub(crate) async fn run_remote(
        &self,
        provider: &ProviderSettings,
        req: ChatRequest,
        cancel: Arc<AtomicBool>,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<RemoteOutcome, AppError> {
        let started = Instant::now();
        if let Some(budget) = provider.monthly_budget_usd {
            let spent = self.store.month_spend_now(&provider.id).await?;
            if spent >= budget {
                return Err(AppError::new(
                    ErrorCode::BudgetExceeded,
                    format!(
                        "{} has spent ${spent:.2} of its ${budget:.2} monthly budget; raise the budget on the Providers page or choose another model",
                        provider.display_name
                    ),
                ));
            }
        }
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
        let emitted = AtomicBool::new(false);
        let mut sink = |text: &str| {
            first_token_at.lock().expect("first token lock").get_or_insert_with(Instant::now);
            emitted.store(true, Ordering::Relaxed);
            on_text(text);
        };
        let first_token = || *first_token_at.lock().expect("first token lock");
        let mut last_error: Option<ProviderError> = None;
        'keys: for (slot, key) in key_slots.iter().enumerate() {
            let endpoint = Endpoint::for_provider(provider, key.map(str::to_string));
            let adapter = adapter(endpoint, self.http.clone()).map_err(|e| provider_error(provider, &e))?;
            for attempt in 1..=ATTEMPTS_PER_KEY {
                let result = tokio::select! {
                    r = adapter.chat(&req, Some(&mut sink)) => r,
                    _ = cancelled(&cancel) => {
                        return Ok(self.finish(provider, &req.model, started, first_token(), Usage::default(), FinishReason::Cancelled).await);
                    }
                };
                let err = match result {
                    Ok(resp) => {
                        let finish = finish_reason(resp.finish_reason.as_deref());
                        return Ok(self.finish(provider, &req.model, started, first_token(), resp.usage, finish).await);
                    }
                    Err(e) => e,
                };
                tracing::warn!(provider = %provider.id, key = slot, attempt, kind = ?err.kind, "provider call failed");
                // Text already reached the caller: a retry would repeat it.
                if emitted.load(Ordering::Relaxed) {
                    return Err(provider_error(provider, &err));
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
                        return Ok(self.finish(provider, &req.model, started, None, Usage::default(), FinishReason::Cancelled).await);
                    }
                }
                last_error = Some(err);
            }
        }
        Err(last_error.map(|e| provider_error(provider, &e)).unwrap_or_else(|| {
            AppError::new(ErrorCode::ProviderFailed, format!("{} could not be reached", provider.display_name))
        }))
    }

    async fn finish(
        &self,
        provider: &ProviderSettings,
        model: &str,
        started: Instant,
        first_token: Option<Instant>,
        usage: Usage,
        finish_reason: FinishReason,
    ) -> RemoteOutcome {
        let end = Instant::now();
        let price = match self.store.price(provider.kind.as_str(), model).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(%e, "price lookup failed; recording no cost");
                None
            }
        };
        let cost_usd =
            price.map_or(0.0, |p| p.cost(usage.input_tokens, usage.cached_input_tokens, usage.output_tokens));
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
        RemoteOutcome { stats, usage, cost_usd }
    }
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
