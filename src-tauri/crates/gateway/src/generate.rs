//! Running a request and recording it.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use switchboard_core::{
    AppError, ChatRole, ChatTurn, EngineRequest, ErrorCode, FinishReason, GenerationStats, ModelRef, NewRequestRecord,
    Priority, RequestStatus, SamplingParams,
};
use switchboard_store::queries::requests;

use switchboard_providers::{ChatMessage, ChatRequest, Usage};

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
    /// `provider/model`; the use case's model when absent.
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
}

impl Gateway {
    /// Runs `req`, streaming events to `on_event`. Once the request is
    /// accepted (known use case, fresh request id) every outcome, failures
    /// included, is written to the ledger.
    pub async fn generate(
        &self,
        req: LlmRequest,
        on_event: impl Fn(GenerationEvent) + Send + 'static,
    ) -> Result<GenerationSummary, AppError> {
        // The use case first: a request for an unknown one is refused before it is admitted.
        let use_case = self.use_case(&req.use_case).await?;
        let (request_id, cancel) = self.admit(&req.request_id)?;
        let started = Instant::now();
        let resolved = self.resolve(&use_case, &req).await;
        let model = match &resolved {
            Ok(r) => r.model.clone(),
            Err(_) => ModelRef::parse(req.model.as_deref().unwrap_or(&use_case.model))
                .unwrap_or_else(|_| ModelRef::local(req.model.clone().unwrap_or_default())),
        };
        let params = resolved.as_ref().ok().map(|r| r.params.clone());
        let outcome = match resolved {
            Ok(r) => {
                on_event(GenerationEvent::Started { model: r.model.to_string() });
                match r.target {
                    Target::Local { path, load } => {
                        let engine = self.engine.clone();
                        let engine_req = EngineRequest {
                            system_prompt: r.use_case.system_prompt.clone(),
                            prompt: req.prompt,
                            params: r.params,
                            json_schema: r.use_case.json_schema.clone(),
                            raw_prompt: false,
                            ignore_eos: false,
                            priority: req.priority,
                            history: req.history.clone(),
                            load,
                            no_prompt_cache: false,
                        };
                        let flag = cancel.clone();
                        tokio::task::spawn_blocking(move || {
                            let mut emit = |text: &str| on_event(GenerationEvent::Token { text: text.to_string() });
                            engine.generate(&path, &engine_req, &flag, &mut emit)
                        })
                        .await
                        .unwrap_or_else(|e| {
                            Err(AppError::new(ErrorCode::EngineFailed, format!("the engine stopped unexpectedly: {e}")))
                        })
                        .map(|stats| (stats, Usage::default(), 0.0, None, None))
                    }
                    Target::Remote { provider } => {
                        let mut messages = Vec::new();
                        if let Some(system) = r.use_case.system_prompt.clone().filter(|s| !s.trim().is_empty()) {
                            messages.push(ChatMessage::system(system));
                        }
                        for turn in &req.history {
                            messages.push(match turn.role {
                                ChatRole::System => ChatMessage::system(turn.content.clone()),
                                ChatRole::User => ChatMessage::user(turn.content.clone()),
                                ChatRole::Assistant => {
                                    ChatMessage::new(switchboard_providers::Role::Assistant, turn.content.clone())
                                }
                            });
                        }
                        messages.push(ChatMessage::user(req.prompt));
                        let chat = ChatRequest {
                            model: r.model.model.clone(),
                            messages,
                            params: r.params,
                            json_schema: r.use_case.json_schema.clone(),
                            meter: Default::default(),
                        };
                        let mut emit = move |text: &str| on_event(GenerationEvent::Token { text: text.to_string() });
                        self.run_remote(&provider, chat, cancel.clone(), &mut emit)
                            .await
                            .map(|o| (o.stats, o.usage, o.cost_usd, o.cut, o.reservation))
                    }
                }
            }
            Err(e) => Err(e),
        };
        self.running.lock().expect("running lock").remove(&request_id);

        let mut record = NewRequestRecord {
            params: params.clone(),
            ..NewRequestRecord::empty(&use_case.id, &model, started.elapsed().as_secs_f64() * 1000.0)
        };
        match outcome {
            Ok((stats, usage, cost_usd, cut, reservation)) => {
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
                if let Some(error) = cut {
                    return Err(error);
                }
                Ok(GenerationSummary {
                    request_id,
                    ledger_id: row.id,
                    model: model.to_string(),
                    status,
                    stats,
                    params: params.expect("resolved"),
                })
            }
            Err(error) => {
                tracing::warn!(use_case = %use_case.id, %model, code = %code_name(error.code), error = %error.message, "request failed");
                record.error = Some(format!("{}: {}", code_name(error.code), error.message));
                if let Err(e) = requests::insert(self.store.pool(), &record).await {
                    tracing::error!(%e, "could not record a failed request");
                }
                Err(error)
            }
        }
    }
}

fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| format!("{code:?}"))
}
