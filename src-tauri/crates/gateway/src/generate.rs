//! Running a request and recording it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use switchboard_core::{
    AppError, Attempt, AttemptOutcome, ChatRole, ChatTurn, EngineRequest, ErrorCode, FailureClass, FinishReason,
    GenerationStats, ModelRef, NewRequestRecord, Priority, RequestStatus, RoutingEventKind, SamplingParams,
};
use switchboard_store::queries::requests;

use switchboard_providers::{ChatMessage, ChatRequest, Usage};

use crate::remote::Failure;
use crate::route::Planned;
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
}

/// What the candidate that answered produced.
struct Answer {
    stats: GenerationStats,
    usage: Usage,
    cost_usd: f64,
    cut: Option<AppError>,
    reservation: Option<crate::remote::Reservation>,
    /// The provider charged, for budget warnings.
    provider: Option<switchboard_core::ProviderSettings>,
}

/// The routing class of a local engine error.
fn local_class(code: ErrorCode) -> FailureClass {
    match code {
        ErrorCode::ModelMissing => FailureClass::ModelMissing,
        ErrorCode::ModelLoadFailed => FailureClass::ModelLoadFailed,
        ErrorCode::PromptTooLong => FailureClass::PromptTooLong,
        ErrorCode::EngineFailed => FailureClass::EngineFailed,
        ErrorCode::Busy => FailureClass::Unavailable,
        ErrorCode::InvalidInput => FailureClass::InvalidRequest,
        _ => FailureClass::Other,
    }
}

fn attempt(
    model: &ModelRef,
    outcome: AttemptOutcome,
    failure: Option<&Failure>,
    tries: u32,
    since: Instant,
) -> Attempt {
    Attempt {
        candidate: model.to_string(),
        outcome,
        class: failure.map(|f| f.class),
        message: failure.map(|f| f.error.message.clone()),
        tries,
        duration_ms: since.elapsed().as_secs_f64() * 1000.0,
    }
}

/// The error of a request no candidate answered: the one failure as it is,
/// or each candidate's reason in route order.
fn route_error(failures: &[(ModelRef, Failure)]) -> AppError {
    match failures {
        [] => AppError::new(ErrorCode::ModelMissing, "the route has no candidate to try"),
        [(_, only)] => only.error.clone(),
        [.., (_, last)] => {
            let reasons: Vec<String> = failures.iter().map(|(m, f)| format!("{m}: {}", f.error.message)).collect();
            AppError::new(last.error.code, format!("no candidate of the route could answer. {}", reasons.join(" · ")))
        }
    }
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
        // The use case first: a request for an unknown one is refused before it is admitted.
        let use_case = self.use_case(&req.use_case).await?;
        let (request_id, cancel) = self.admit(&req.request_id)?;
        let started = Instant::now();
        let result = self.follow_route(&use_case, &req, &cancel, on_event).await;
        self.running.lock().expect("running lock").remove(&request_id);
        let Routed { model, params, attempts, outcome, failures } = result;

        let mut record = NewRequestRecord {
            params: params.clone(),
            route: attempts.clone(),
            ..NewRequestRecord::empty(&use_case.id, &model, started.elapsed().as_secs_f64() * 1000.0)
        };
        let fell_back =
            attempts.iter().any(|a| a.outcome != AttemptOutcome::Answered && a.class != Some(FailureClass::LocalOnly));
        match outcome {
            Some(answer) => {
                let Answer { stats, usage, cost_usd, cut, reservation, provider } = answer;
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
                    ..record
                };
                let row = requests::insert(self.store.pool(), &record).await?;
                // The cost is in the ledger now: the reservation can go.
                drop(reservation);
                if let Some(p) = &provider {
                    self.after_charge(p, &use_case.id, &row.id).await;
                }
                if fell_back && status == RequestStatus::Ok {
                    let reasons: Vec<String> =
                        failures.iter().map(|(m, f)| format!("{m}: {}", f.error.message)).collect();
                    let message = format!("{}: answered by {model} after {}", use_case.name, reasons.join(" · "));
                    self.raise(
                        RoutingEventKind::FellBack,
                        Some(&model.provider),
                        Some(&use_case.id),
                        Some(&row.id),
                        message,
                    )
                    .await;
                }
                if let Some(error) = cut {
                    return Err(error);
                }
                Ok(GenerationSummary {
                    request_id,
                    ledger_id: row.id,
                    model: model.to_string(),
                    status,
                    stats,
                    params: params.expect("an answer ran with parameters"),
                    route: attempts,
                })
            }
            None => {
                let error = route_error(&failures);
                tracing::warn!(use_case = %use_case.id, %model, code = %code_name(error.code), error = %error.message, "request failed");
                record.error = Some(format!("{}: {}", code_name(error.code), error.message));
                match requests::insert(self.store.pool(), &record).await {
                    Ok(row) if failures.len() > 1 => {
                        let message = format!("{}: {}", use_case.name, error.message);
                        self.raise(RoutingEventKind::RouteFailed, None, Some(&use_case.id), Some(&row.id), message)
                            .await;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(%e, "could not record a failed request"),
                }
                Err(error)
            }
        }
    }

    /// Tries the route's candidates in order until one answers.
    async fn follow_route(
        &self,
        use_case: &switchboard_core::UseCase,
        req: &LlmRequest,
        cancel: &Arc<AtomicBool>,
        on_event: impl Fn(GenerationEvent) + Send + 'static,
    ) -> Routed {
        let on_event = Arc::new(Mutex::new(on_event));
        let emitted = Arc::new(AtomicBool::new(false));
        let fallback_model = || {
            ModelRef::parse(req.model.as_deref().unwrap_or(&use_case.model))
                .unwrap_or_else(|_| ModelRef::local(req.model.clone().unwrap_or_default()))
        };
        let mut routed =
            Routed { model: fallback_model(), params: None, attempts: Vec::new(), outcome: None, failures: Vec::new() };
        let stop = |routed: &mut Routed, error: AppError| {
            let f = Failure::failed(FailureClass::InvalidRequest, error, 0);
            routed.failures.push((routed.model.clone(), f));
        };
        if let Err(e) = self.check_request(use_case, req) {
            stop(&mut routed, e);
            return routed;
        }
        if let Some(p) = &req.params {
            if let Err(e) = p.validate() {
                routed.params = Some(p.clone());
                stop(&mut routed, AppError::for_field(e.field.clone(), e.to_string()));
                return routed;
            }
        }
        let (plan, local_only) = match self.plan(use_case, req.model.as_deref()).await {
            Ok(p) => p,
            Err(e) => {
                stop(&mut routed, e);
                return routed;
            }
        };
        for (model, f) in local_only {
            routed.attempts.push(attempt(&model, AttemptOutcome::Skipped, Some(&f), 0, Instant::now()));
            routed.failures.push((model, f));
        }
        // Providers that refused the request outright: their other candidates are passed over.
        let mut refused_by: Vec<String> = Vec::new();
        for candidate in plan {
            let since = Instant::now();
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            let Planned { model, params: own, target } = candidate;
            routed.model = model.clone();
            let params = req.params.clone().or(own).unwrap_or_else(|| use_case.effective_params(None));
            routed.params = Some(params.clone());
            let target = match target {
                Ok(t) if refused_by.contains(&model.provider) => {
                    let (_, earlier) =
                        routed.failures.iter().rev().find(|(m, _)| m.provider == model.provider).expect("recorded");
                    let f = Failure::skipped(earlier.class, earlier.error.clone());
                    let _ = t;
                    routed.attempts.push(attempt(&model, AttemptOutcome::Skipped, Some(&f), 0, since));
                    routed.failures.push((model, f));
                    continue;
                }
                Ok(t) => t,
                Err(f) => {
                    routed.attempts.push(attempt(&model, AttemptOutcome::Skipped, Some(&f), 0, since));
                    routed.failures.push((model, f));
                    continue;
                }
            };
            if let Err(e) = params.validate() {
                let f =
                    Failure::skipped(FailureClass::InvalidRequest, AppError::for_field(e.field.clone(), e.to_string()));
                routed.attempts.push(attempt(&model, AttemptOutcome::Skipped, Some(&f), 0, since));
                routed.failures.push((model, f));
                continue;
            }
            {
                let on_event = on_event.lock().expect("event sink lock");
                on_event(GenerationEvent::Started { model: model.to_string() });
            }
            let emit = {
                let on_event = on_event.clone();
                let emitted = emitted.clone();
                move |text: &str| {
                    emitted.store(true, Ordering::Relaxed);
                    let on_event = on_event.lock().expect("event sink lock");
                    on_event(GenerationEvent::Token { text: text.to_string() });
                }
            };
            let result = match target {
                Target::Local { path, load } => {
                    let engine_req = EngineRequest {
                        system_prompt: use_case.system_prompt.clone(),
                        prompt: req.prompt.clone(),
                        params,
                        json_schema: use_case.json_schema.clone(),
                        raw_prompt: false,
                        ignore_eos: false,
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
                    .map(|stats| Answer {
                        stats,
                        usage: Usage::default(),
                        cost_usd: 0.0,
                        cut: None,
                        reservation: None,
                        provider: None,
                    })
                    .map_err(|e| Failure::failed(local_class(e.code), e, 1))
                }
                Target::Remote { provider } => {
                    let chat = ChatRequest {
                        model: model.model.clone(),
                        messages: chat_messages(use_case, req),
                        params,
                        json_schema: use_case.json_schema.clone(),
                        meter: Default::default(),
                    };
                    let mut emit = emit;
                    self.run_remote(&use_case.id, &provider, chat, cancel.clone(), &mut emit).await.map(|o| Answer {
                        stats: o.stats,
                        usage: o.usage,
                        cost_usd: o.cost_usd,
                        cut: o.cut,
                        reservation: o.reservation,
                        provider: Some(provider.clone()),
                    })
                }
            };
            match result {
                Ok(answer) => {
                    let outcome = if answer.stats.finish_reason == FinishReason::Cancelled {
                        AttemptOutcome::Cancelled
                    } else if answer.cut.is_some() {
                        AttemptOutcome::Failed
                    } else {
                        AttemptOutcome::Answered
                    };
                    let cut = answer.cut.clone().map(|e| Failure::failed(FailureClass::StreamCut, e, 1));
                    routed.attempts.push(attempt(&model, outcome, cut.as_ref(), 1, since));
                    routed.outcome = Some(answer);
                    return routed;
                }
                Err(f) => {
                    let outcome = if f.skipped { AttemptOutcome::Skipped } else { AttemptOutcome::Failed };
                    routed.attempts.push(attempt(&model, outcome, Some(&f), f.tries, since));
                    // Text reached the caller, or the request itself is wrong: the route ends here.
                    let ends = emitted.load(Ordering::Relaxed)
                        || (f.class == FailureClass::InvalidRequest && model.is_local());
                    if f.fail_fast {
                        refused_by.push(model.provider.clone());
                    }
                    routed.failures.push((model, f));
                    if ends {
                        break;
                    }
                }
            }
        }
        if routed.outcome.is_none() && cancel.load(Ordering::Relaxed) && routed.failures.is_empty() {
            routed.failures.push((
                routed.model.clone(),
                Failure::failed(FailureClass::Other, AppError::new(ErrorCode::Cancelled, "stopped by the user"), 0),
            ));
        }
        routed
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

/// What following a route came to.
struct Routed {
    /// The candidate that answered, else the last one tried.
    model: ModelRef,
    params: Option<SamplingParams>,
    attempts: Vec<Attempt>,
    outcome: Option<Answer>,
    failures: Vec<(ModelRef, Failure)>,
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
