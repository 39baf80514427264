//! Running a request and recording it.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use switchboard_core::{
    AppError, Attempt, ChatRole, ChatTurn, EngineRequest, ErrorCode, FinishReason, GenerationStats, ModelRef,
    NewRequestRecord, ParamOverrides, Priority, RequestStatus, SamplingParams,
};

use switchboard_providers::{ChatMessage, ChatRequest};

use crate::cache::{reusable, Cached, ResponseCache};
use crate::remote::Failure;
use crate::route::{local_class, route_error, Answer, Emit, Routed};
use crate::{Gateway, Target};

/// A request for a use case, with optional per-request overrides.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct LlmRequest {
    /// Chosen by the caller so that it can cancel the request before it ends.
    pub request_id: String,
    pub use_case: String,
    /// The new user turn.
    pub prompt: String,
    /// Earlier turns of the conversation, oldest first.
    #[serde(default)]
    pub history: Vec<ChatTurn>,
    /// `provider/model`: this model only, no route. The use case's route when absent.
    #[serde(default)]
    pub model: Option<String>,
    /// Replaces the use case's parameters for this request only.
    #[serde(default)]
    pub params: Option<SamplingParams>,
    /// Interactive requests (the default) are served before background ones.
    #[serde(default)]
    pub priority: Priority,
}

/// What a request from the HTTP API may add to an [`LlmRequest`]: some of
/// the parameters (each replaces the candidate's own value) and a JSON
/// schema the answer must follow (replacing the use case's).
#[derive(Debug, Clone, Default)]
pub struct RequestExtras {
    pub overrides: Option<ParamOverrides>,
    pub json_schema: Option<String>,
    /// Generate up to max tokens past the end of the answer (local models;
    /// load tests measure a fixed length, as with llama.cpp's server).
    pub ignore_eos: bool,
    /// Answer without waiting for the ledger row's commit (the HTTP API):
    /// the row is queued on the ledger's writer and commits right after
    /// (see its loss window in the store's `ledger/writer.rs`). Requests that
    /// hold a budget reservation or keep their text still wait: the budget
    /// and the kept text need the row in the file.
    pub queue_ledger_row: bool,
}

/// Streamed while the request runs.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GenerationEvent {
    Started { model: String },
    Token { text: String },
}

/// Returned when the request ends normally or is cancelled.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct GenerationSummary {
    pub request_id: String,
    pub ledger_id: String,
    pub model: String,
    pub status: RequestStatus,
    pub stats: GenerationStats,
    /// The parameters the request ran with.
    pub params: SamplingParams,
    /// The candidates tried, in order; the last one answered.
    pub route: Vec<Attempt>,
    /// Answered from the response cache.
    pub cache_hit: bool,
}

impl Gateway {
    /// Runs `req` along its use case's route, streaming events to
    /// `on_event`. Once the request is accepted (known use case, fresh request
    /// id) every outcome, failures included, is written to the ledger as one
    /// row that lists the candidates tried.
    pub async fn generate(
        &self,
        req: LlmRequest,
        on_event: impl Fn(GenerationEvent) + Send + 'static,
    ) -> Result<GenerationSummary, AppError> {
        self.generate_as(switchboard_core::WINDOW_CALLER, req, on_event).await
    }

    /// [`Self::generate`] for `caller` (`window`, `cli`, `token:<name>`), whom the ledger names.
    pub async fn generate_as(
        &self,
        caller: &str,
        req: LlmRequest,
        on_event: impl Fn(GenerationEvent) + Send + 'static,
    ) -> Result<GenerationSummary, AppError> {
        self.generate_with(caller, req, RequestExtras::default(), on_event).await
    }

    /// [`Self::generate_as`] with a request's own parameter values and JSON schema.
    pub async fn generate_with(
        &self,
        caller: &str,
        req: LlmRequest,
        extras: RequestExtras,
        on_event: impl Fn(GenerationEvent) + Send + 'static,
    ) -> Result<GenerationSummary, AppError> {
        // The use case first: a request for an unknown one is refused before it is admitted.
        let use_case = self.use_case(&req.use_case).await?;
        let (request_id, cancel) = self.admit(&req.request_id)?;
        let started = Instant::now();
        // What is wrong with the request wherever it goes: checked once, before the cache and the route.
        let checked = self.check_request(&use_case, &req);
        let cache_key = if checked.is_ok() { ResponseCache::key(&use_case, &req, &extras) } else { None };
        if let (Some(key), Some(ttl)) = (&cache_key, use_case.cache_ttl_s) {
            if let Some(hit) = self.cache.get(key, std::time::Duration::from_secs(u64::from(ttl))) {
                let result = self.answer_from_cache(&use_case, caller, &request_id, &hit, started, &on_event).await;
                self.running.lock().expect("running lock").remove(&request_id);
                return result;
            }
        }
        // The answer's text, kept when the cache may reuse it or the use case keeps text.
        let text = Arc::new(std::sync::Mutex::new(String::new()));
        let on_event = {
            let text = text.clone();
            let keep = cache_key.is_some() || use_case.keep_text_days.is_some();
            move |e: GenerationEvent| {
                if let (true, GenerationEvent::Token { text: t }) = (keep, &e) {
                    text.lock().expect("text lock").push_str(t);
                }
                on_event(e)
            }
        };
        let result = self.follow_route(&use_case, &req, &extras, checked, &cancel, on_event).await;
        self.running.lock().expect("running lock").remove(&request_id);
        let Routed { model, params, attempts, outcome, failures } = result;

        let mut record = NewRequestRecord {
            params: params.clone(),
            route: attempts.clone(),
            caller: caller.to_string(),
            ..NewRequestRecord::empty(&use_case.id, &model, started.elapsed().as_secs_f64() * 1000.0)
        };
        match outcome {
            Some(answer) => {
                let Answer { stats, usage, cost_usd, cut, reservation, provider, served_by, .. } = answer;
                let status = if cut.is_some() {
                    RequestStatus::Error
                } else if stats.finish_reason == FinishReason::Cancelled {
                    RequestStatus::Cancelled
                } else {
                    RequestStatus::Ok
                };
                record = NewRequestRecord {
                    input_tokens: stats.input_tokens,
                    output_tokens: stats.output_tokens,
                    cached_input_tokens: usage.cached_input_tokens.max(stats.cached_input_tokens),
                    reasoning_tokens: usage.reasoning_tokens,
                    cost_usd,
                    latency_ms: stats.latency_ms,
                    ttft_ms: stats.ttft_ms,
                    tokens_per_second: stats.tokens_per_second,
                    status,
                    error: match &cut {
                        Some(e) => Some(format!("{}: {}", code_name(e.code), e.message)),
                        None => {
                            (status == RequestStatus::Cancelled).then(|| "cancelled: stopped by the user".to_string())
                        }
                    },
                    // A group's answer is charged to the member that gave it.
                    provider: served_by.unwrap_or(record.provider),
                    local: provider.as_ref().is_none_or(|p| !p.kind.is_cloud()),
                    ..record
                };
                if record.local {
                    record.cost_avoided_usd = self
                        .cost_avoided(&use_case, record.input_tokens, record.cached_input_tokens, record.output_tokens)
                        .await;
                }
                let row = if extras.queue_ledger_row && reservation.is_none() && use_case.keep_text_days.is_none() {
                    self.store.record_queued(&record).await?
                } else {
                    self.store.record(&record).await?
                };
                let answer_text = text.lock().expect("text lock").clone();
                self.keep_text(&use_case, &req, &row.id, &answer_text).await;
                // The cost is in the ledger now: the reservation can go.
                drop(reservation);
                self.announce(&use_case, &model, &attempts, &failures, &row.id, status, provider.as_ref()).await;
                if let Some(error) = cut {
                    return Err(error);
                }
                let params = params.expect("an answer ran with parameters");
                if let Some(key) = cache_key.filter(|_| status == RequestStatus::Ok && reusable(&use_case, &params)) {
                    let text = std::mem::take(&mut *text.lock().expect("text lock"));
                    self.cache.put(key, Cached::new(text, model.clone(), stats.clone(), params.clone()));
                }
                Ok(GenerationSummary {
                    request_id,
                    ledger_id: row.id,
                    model: model.to_string(),
                    status,
                    stats,
                    params,
                    route: attempts,
                    cache_hit: false,
                })
            }
            None => {
                let error = route_error(&failures);
                tracing::warn!(use_case = %use_case.id, %model, code = %code_name(error.code), error = %error.message, "request failed");
                record.error = Some(format!("{}: {}", code_name(error.code), error.message));
                match self.store.record(&record).await {
                    Ok(row) => {
                        self.keep_text(&use_case, &req, &row.id, "").await;
                        self.announce_failure(&use_case, &failures, &error, &row.id).await
                    }
                    Err(e) => tracing::error!(%e, "could not record a failed request"),
                }
                Err(error)
            }
        }
    }

    /// Answers with a cached answer: streamed at once, recorded as a cache
    /// hit at no cost with the tokens it saved.
    async fn answer_from_cache(
        &self,
        use_case: &switchboard_core::UseCase,
        caller: &str,
        request_id: &str,
        hit: &Cached,
        started: Instant,
        on_event: &(impl Fn(GenerationEvent) + Send + 'static),
    ) -> Result<GenerationSummary, AppError> {
        on_event(GenerationEvent::Started { model: hit.model.to_string() });
        on_event(GenerationEvent::Token { text: hit.text.clone() });
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let route = vec![Attempt {
            candidate: hit.model.to_string(),
            outcome: switchboard_core::AttemptOutcome::Answered,
            class: None,
            message: Some("answered from the response cache".into()),
            tries: 0,
            duration_ms: latency_ms,
        }];
        let record = NewRequestRecord {
            status: RequestStatus::Ok,
            params: Some(hit.params.clone()),
            route: route.clone(),
            cache_hit: true,
            tokens_saved: hit.stats.input_tokens.saturating_add(hit.stats.output_tokens),
            ttft_ms: Some(latency_ms),
            caller: caller.to_string(),
            ..NewRequestRecord::empty(&use_case.id, &hit.model, latency_ms)
        };
        let row = self.store.record(&record).await?;
        let stats = GenerationStats {
            latency_ms,
            ttft_ms: Some(latency_ms),
            load_ms: 0.0,
            prompt_tokens_per_second: None,
            tokens_per_second: None,
            ..hit.stats.clone()
        };
        Ok(GenerationSummary {
            request_id: request_id.to_string(),
            ledger_id: row.id,
            model: hit.model.to_string(),
            status: RequestStatus::Ok,
            stats,
            params: hit.params.clone(),
            route,
            cache_hit: true,
        })
    }

    /// Tries the route's candidates in order until one answers.
    async fn follow_route(
        &self,
        use_case: &switchboard_core::UseCase,
        req: &LlmRequest,
        extras: &RequestExtras,
        checked: Result<(), AppError>,
        cancel: &Arc<AtomicBool>,
        on_event: impl Fn(GenerationEvent) + Send + 'static,
    ) -> Routed {
        let fallback_model = ModelRef::parse(req.model.as_deref().unwrap_or(&use_case.model))
            .unwrap_or_else(|_| ModelRef::local(req.model.clone().unwrap_or_default()));
        if let Err(e) = checked {
            return Routed::refused(fallback_model, None, e);
        }
        let run = |model: ModelRef, target: Target, params: SamplingParams, emit: Emit| async move {
            match target {
                Target::Local { path, load } => {
                    let engine_req = EngineRequest {
                        system_prompt: use_case.system_prompt.clone(),
                        prompt: req.prompt.clone(),
                        params,
                        json_schema: extras.json_schema.clone().or_else(|| use_case.json_schema.clone()),
                        raw_prompt: false,
                        ignore_eos: extras.ignore_eos,
                        priority: req.priority,
                        history: req.history.clone(),
                        load,
                        no_prompt_cache: false,
                    };
                    let engine = self.engine.clone();
                    let flag = cancel.clone();
                    tokio::task::spawn_blocking(move || {
                        let mut emit = emit;
                        engine.generate(&path, &engine_req, &flag, &mut emit)
                    })
                    .await
                    .unwrap_or_else(|e| {
                        Err(AppError::new(ErrorCode::EngineFailed, format!("the engine stopped unexpectedly: {e}")))
                    })
                    .map(Answer::local)
                    .map_err(|e| Failure::failed(local_class(e.code), e, 1))
                }
                Target::Remote { provider } => {
                    let chat = chat_request(use_case, req, extras, &model, params);
                    let mut emit = emit;
                    self.run_remote(use_case, &provider, chat, cancel.clone(), &mut emit)
                        .await
                        .map(|o| Answer::remote(o, provider.clone()))
                }
                Target::Group { group, members } => {
                    let chat = chat_request(use_case, req, extras, &model, params);
                    let mut emit = emit;
                    self.run_group(use_case, &group, &members, chat, cancel.clone(), &mut emit)
                        .await
                        .map(|(o, member)| Answer::member(o, member))
                }
            }
        };
        self.follow(
            use_case,
            req.model.as_deref(),
            req.params.as_ref(),
            extras.overrides.as_ref(),
            fallback_model,
            cancel,
            on_event,
            run,
        )
        .await
    }

    /// Keeps the request's conversation and answer where its use case asks
    /// for it, until the retention period ends. A failure here loses the
    /// text, never the request.
    async fn keep_text(&self, use_case: &switchboard_core::UseCase, req: &LlmRequest, ledger_id: &str, answer: &str) {
        let Some(days) = use_case.keep_text_days else { return };
        let mut prompt = Vec::with_capacity(req.history.len() + 2);
        if let Some(system) = use_case.system_prompt.clone().filter(|s| !s.trim().is_empty()) {
            prompt.push(ChatTurn { role: ChatRole::System, content: system });
        }
        prompt.extend(req.history.iter().cloned());
        prompt.push(ChatTurn { role: ChatRole::User, content: req.prompt.clone() });
        let delete_after = (chrono::Utc::now() + chrono::Duration::days(i64::from(days)))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let text = switchboard_core::RequestText { prompt, response: answer.to_string(), delete_after };
        if let Err(e) = switchboard_store::queries::request_texts::insert(self.store.pool(), ledger_id, &text).await {
            tracing::error!(%e, "could not keep a request's text");
        }
    }

    /// What is wrong with the request wherever it goes.
    fn check_request(&self, use_case: &switchboard_core::UseCase, req: &LlmRequest) -> Result<(), AppError> {
        if !use_case.enabled {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("the use case '{}' is disabled; enable it on the Use cases page", use_case.id),
            ));
        }
        switchboard_core::validate_history(&req.history)?;
        if let Some(m) = &req.model {
            ModelRef::parse(m)?;
        }
        if use_case.vision {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("the vision use case '{}' describes images; it is served from the Vision page", use_case.id),
            ));
        }
        Ok(())
    }
}

/// The request as a provider's chat request for `model`.
fn chat_request(
    use_case: &switchboard_core::UseCase,
    req: &LlmRequest,
    extras: &RequestExtras,
    model: &ModelRef,
    params: SamplingParams,
) -> ChatRequest {
    ChatRequest {
        model: model.model.clone(),
        messages: chat_messages(use_case, req),
        params,
        json_schema: extras.json_schema.clone().or_else(|| use_case.json_schema.clone()),
        meter: Default::default(),
    }
}

/// The conversation as a provider's chat messages.
fn chat_messages(use_case: &switchboard_core::UseCase, req: &LlmRequest) -> Vec<ChatMessage> {
    let mut messages = Vec::new();
    if let Some(system) = use_case.system_prompt.clone().filter(|s| !s.trim().is_empty()) {
        messages.push(ChatMessage::system(system));
    }
    for turn in &req.history {
        messages.push(match turn.role {
            ChatRole::System => ChatMessage::system(turn.content.clone()),
            ChatRole::User => ChatMessage::user(turn.content.clone()),
            ChatRole::Assistant => ChatMessage::new(switchboard_providers::Role::Assistant, turn.content.clone()),
        });
    }
    messages.push(ChatMessage::user(req.prompt.clone()));
    messages
}

fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| format!("{code:?}"))
}
