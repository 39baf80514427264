//! A request's route: which candidates it may go to, in what order, and how
//! each stands right now.
//!
//! The rules, in the order they apply:
//! - A request that names a model goes to that model only.
//! - Otherwise it follows the use case's route: the model, then the
//!   fallbacks; with "prefer cloud" the cloud candidates first.
//! - With "local only" (Settings) every candidate that leaves this machine is
//!   passed over (recorded as skipped): cloud providers always, Ollama and
//!   OpenAI-compatible servers unless they answer on loopback.
//! - A candidate whose model is missing, whose provider is disabled, whose
//!   budget is spent, whose circuit is open or whose rate limit has no slot is
//!   passed over; a failed one is left for the next: transient failures are
//!   retried at the same provider first (bounded, with back-off), anything
//!   that says "this provider cannot serve this" moves on at once.
//! - A refused key or an invalid request ("fail fast") is not retried, but the
//!   route goes on: another provider has its own key and may accept what this
//!   one refused. A refused key also passes over the provider's other
//!   candidates (the same key would be refused again); an invalid request
//!   (an unknown model, a parameter it rejects) passes over this model only.
//!   Only an error in the request itself (invalid parameters, a bad history)
//!   stops the route, because it would fail everywhere.
//! - Once text reached the caller the request stays where it is: a failure
//!   then ends it with the partial text kept (and charged).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use switchboard_core::{
    AppError, Attempt, AttemptOutcome, ErrorCode, FailureClass, FinishReason, GenerationStats, ModelRef,
    ParamOverrides, Placement, ProviderSettings, RouteCandidate, SamplingParams, UseCase,
};
use switchboard_providers::Usage;

use crate::remote::{Failure, RemoteOutcome};
use crate::{Gateway, GenerationEvent, Target};

/// Where a candidate streams its text.
pub(crate) type Emit = Box<dyn FnMut(&str) + Send + 'static>;

/// What the candidate that answered produced.
pub(crate) struct Answer {
    pub stats: GenerationStats,
    pub usage: Usage,
    pub cost_usd: f64,
    /// The stream broke after text reached the caller: charged, then reported.
    pub cut: Option<AppError>,
    pub reservation: Option<crate::budget::Reservation>,
    /// The provider charged, for budget warnings.
    pub provider: Option<ProviderSettings>,
    /// Context positions images took (vision).
    pub image_tokens: u32,
    /// The member of an endpoint group that answered: the ledger charges it.
    pub served_by: Option<String>,
}

impl Answer {
    pub fn local(stats: GenerationStats) -> Self {
        Self {
            stats,
            usage: Usage::default(),
            cost_usd: 0.0,
            cut: None,
            reservation: None,
            provider: None,
            image_tokens: 0,
            served_by: None,
        }
    }

    /// A member of an endpoint group answered.
    pub fn member(o: RemoteOutcome, member: ProviderSettings) -> Self {
        Self { served_by: Some(member.id.clone()), ..Self::remote(o, member) }
    }

    pub fn remote(o: RemoteOutcome, provider: ProviderSettings) -> Self {
        Self {
            stats: o.stats,
            usage: o.usage,
            cost_usd: o.cost_usd,
            cut: o.cut,
            reservation: o.reservation,
            provider: Some(provider),
            image_tokens: 0,
            served_by: None,
        }
    }
}

/// What following a route came to.
pub(crate) struct Routed {
    /// The candidate that answered, else the last one tried.
    pub model: ModelRef,
    pub params: Option<SamplingParams>,
    pub attempts: Vec<Attempt>,
    pub outcome: Option<Answer>,
    pub failures: Vec<(ModelRef, Failure)>,
}

impl Routed {
    /// A request refused before any candidate: wrong wherever it would go.
    pub fn refused(model: ModelRef, params: Option<SamplingParams>, error: AppError) -> Self {
        let failure = Failure::failed(FailureClass::InvalidRequest, error, 0);
        Self { failures: vec![(model.clone(), failure)], model, params, attempts: Vec::new(), outcome: None }
    }
}

/// The routing class of a local engine error.
pub(crate) fn local_class(code: ErrorCode) -> FailureClass {
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
pub(crate) fn route_error(failures: &[(ModelRef, Failure)]) -> AppError {
    match failures {
        [] => AppError::new(ErrorCode::ModelMissing, "the route has no candidate to try"),
        [(_, only)] => only.error.clone(),
        [.., (_, last)] => {
            let reasons: Vec<String> = failures.iter().map(|(m, f)| format!("{m}: {}", f.error.message)).collect();
            AppError::new(last.error.code, format!("no candidate of the route could answer. {}", reasons.join(" · ")))
        }
    }
}

/// One candidate of a request's route, resolved.
pub(crate) struct Planned {
    pub model: ModelRef,
    /// The candidate's own parameters, when it has them.
    pub params: Option<SamplingParams>,
    pub target: Result<Target, Failure>,
}

pub(crate) fn placement_of(target: &Result<Target, Failure>) -> Placement {
    match target {
        Ok(Target::Local { .. }) => Placement { cloud: false, on_this_machine: true },
        // A cloud API stays a cloud API behind a proxy on loopback: only the
        // other kinds (Ollama, OpenAI-compatible servers) can be this machine's.
        Ok(Target::Remote { provider }) => Placement {
            cloud: provider.kind.is_cloud(),
            on_this_machine: !provider.kind.is_cloud()
                && reqwest::Url::parse(&provider.base_url)
                    .ok()
                    .and_then(|u| u.host_str().map(switchboard_core::is_loopback_host))
                    .unwrap_or(false),
        },
        // A group is cloud if any member is, and stays on this machine only if every member does.
        Ok(Target::Group { members, .. }) => {
            let each: Vec<Placement> =
                members.iter().map(|p| placement_of(&Ok(Target::Remote { provider: p.clone() }))).collect();
            Placement { cloud: each.iter().any(|p| p.cloud), on_this_machine: each.iter().all(|p| p.on_this_machine) }
        }
        // Unknown: not known to stay on this machine.
        Err(_) => Placement { cloud: false, on_this_machine: false },
    }
}

pub(crate) fn local_only_failure(model: &ModelRef) -> Failure {
    Failure::skipped(
        FailureClass::LocalOnly,
        AppError::new(
            ErrorCode::InvalidInput,
            format!("{model} leaves this machine and \"local only\" is on (Settings)"),
        ),
    )
}

impl Gateway {
    pub(crate) async fn planned(&self, candidate: &RouteCandidate) -> Planned {
        match ModelRef::parse(&candidate.model) {
            Ok(model) => {
                let target = self.target_entry(&model).await.map(|(t, _)| t).map_err(|e| {
                    let class = match e.code {
                        ErrorCode::StorageFailed | ErrorCode::Internal => FailureClass::Other,
                        _ => FailureClass::ModelMissing,
                    };
                    Failure::skipped(class, e)
                });
                Planned { model, params: candidate.params.clone(), target }
            }
            Err(e) => Planned {
                model: ModelRef::local(candidate.model.clone()),
                params: candidate.params.clone(),
                target: Err(Failure::skipped(FailureClass::ModelMissing, e)),
            },
        }
    }

    /// The candidates a request tries, in order, and the ones "local only" passes over.
    pub(crate) async fn plan(
        &self,
        use_case: &UseCase,
        explicit_model: Option<&str>,
    ) -> Result<(Vec<Planned>, Vec<(ModelRef, Failure)>), AppError> {
        let candidates = match explicit_model {
            Some(m) => vec![RouteCandidate { model: m.to_string(), params: None }],
            None => use_case.candidates(),
        };
        let local_only = self.store.routing_settings().await?.local_only;
        let mut planned = Vec::with_capacity(candidates.len());
        for c in &candidates {
            planned.push(self.planned(c).await);
        }
        let placements: Vec<Placement> = planned.iter().map(|p| placement_of(&p.target)).collect();
        let indices: Vec<usize> = (0..planned.len()).collect();
        let (kept, skipped) = switchboard_core::route::order(
            &indices,
            |i| placements[*i],
            use_case.prefer_cloud && explicit_model.is_none(),
            local_only,
        );
        let mut slots: Vec<Option<Planned>> = planned.into_iter().map(Some).collect();
        let skipped = skipped
            .into_iter()
            .map(|i| {
                let p = slots[i].take().expect("each index once");
                let f = local_only_failure(&p.model);
                (p.model, f)
            })
            .collect();
        let kept = kept.into_iter().map(|i| slots[i].take().expect("each index once")).collect();
        Ok((kept, skipped))
    }

    /// Follows `use_case`'s route (or the one model the request names): each
    /// candidate in turn is resolved and handed to `run` until one answers.
    /// Candidates that cannot be tried are recorded as skipped, failures as
    /// failed; the loop stops once text reached the caller or the request
    /// itself proved wrong.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn follow<F, Fut>(
        &self,
        use_case: &UseCase,
        explicit_model: Option<&str>,
        request_params: Option<&SamplingParams>,
        overrides: Option<&ParamOverrides>,
        fallback_model: ModelRef,
        cancel: &Arc<AtomicBool>,
        on_event: impl Fn(GenerationEvent) + Send + 'static,
        mut run: F,
    ) -> Routed
    where
        F: FnMut(ModelRef, Target, SamplingParams, Emit) -> Fut,
        Fut: Future<Output = Result<Answer, Failure>>,
    {
        if let Some(p) = request_params {
            if let Err(e) = p.validate() {
                return Routed::refused(
                    fallback_model,
                    Some(p.clone()),
                    AppError::for_field(e.field.clone(), e.to_string()),
                );
            }
        }
        let (plan, local_only) = match self.plan(use_case, explicit_model).await {
            Ok(p) => p,
            Err(e) => return Routed::refused(fallback_model, None, e),
        };
        let mut routed =
            Routed { model: fallback_model, params: None, attempts: Vec::new(), outcome: None, failures: Vec::new() };
        for (model, f) in local_only {
            routed.attempts.push(attempt(&model, AttemptOutcome::Skipped, Some(&f), 0, Instant::now()));
            routed.failures.push((model, f));
        }
        let on_event = Arc::new(Mutex::new(on_event));
        let emitted = Arc::new(AtomicBool::new(false));
        // Providers that refused the request outright: their other candidates are passed over.
        let mut refused_by: Vec<String> = Vec::new();
        for Planned { model, params: own, target } in plan {
            let since = Instant::now();
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            routed.model = model.clone();
            let params = request_params.cloned().or(own).unwrap_or_else(|| use_case.effective_params(None));
            let params = match overrides {
                Some(o) => o.apply(params),
                None => params,
            };
            routed.params = Some(params.clone());
            let skip = |routed: &mut Routed, f: Failure| {
                routed.attempts.push(attempt(&model, AttemptOutcome::Skipped, Some(&f), 0, since));
                routed.failures.push((model.clone(), f));
            };
            let target = match target {
                Ok(_) if refused_by.contains(&model.provider) => {
                    let earlier = routed
                        .failures
                        .iter()
                        .rev()
                        .find(|(m, _)| m.provider == model.provider)
                        .map(|(_, f)| Failure::skipped(f.class, f.error.clone()))
                        .expect("the refusal was recorded");
                    skip(&mut routed, earlier);
                    continue;
                }
                Ok(t) => t,
                Err(f) => {
                    skip(&mut routed, f);
                    continue;
                }
            };
            if let Err(e) = params.validate() {
                let f =
                    Failure::skipped(FailureClass::InvalidRequest, AppError::for_field(e.field.clone(), e.to_string()));
                skip(&mut routed, f);
                continue;
            }
            on_event.lock().expect("event sink lock")(GenerationEvent::Started { model: model.to_string() });
            let emit: Emit = {
                let on_event = on_event.clone();
                let emitted = emitted.clone();
                Box::new(move |text: &str| {
                    emitted.store(true, Ordering::Relaxed);
                    on_event.lock().expect("event sink lock")(GenerationEvent::Token { text: text.to_string() });
                })
            };
            match run(model.clone(), target, params, emit).await {
                Ok(answer) => {
                    let outcome = if answer.stats.finish_reason == FinishReason::Cancelled {
                        AttemptOutcome::Cancelled
                    } else if answer.cut.is_some() {
                        AttemptOutcome::Failed
                    } else {
                        AttemptOutcome::Answered
                    };
                    let cut = answer.cut.clone().map(|e| Failure::failed(FailureClass::StreamCut, e, 1));
                    let mut step = attempt(&model, outcome, cut.as_ref(), 1, since);
                    if let Some(member) = &answer.served_by {
                        step.message.get_or_insert_with(|| format!("served by {member}"));
                    }
                    routed.attempts.push(step);
                    routed.outcome = Some(answer);
                    return routed;
                }
                Err(f) => {
                    let outcome = if f.skipped { AttemptOutcome::Skipped } else { AttemptOutcome::Failed };
                    routed.attempts.push(attempt(&model, outcome, Some(&f), f.tries, since));
                    // Text reached the caller, or the request itself is wrong: the route ends here.
                    let ends = emitted.load(Ordering::Relaxed)
                        || (f.class == FailureClass::InvalidRequest && model.is_local());
                    // A refused key refuses every model at that provider; an invalid
                    // request (an unknown model, a parameter it rejects) may be this model's alone.
                    if f.fail_fast && f.class == FailureClass::Auth {
                        refused_by.push(model.provider.clone());
                    }
                    routed.failures.push((model, f));
                    if ends {
                        break;
                    }
                }
            }
        }
        if routed.outcome.is_none() && routed.failures.is_empty() && cancel.load(Ordering::Relaxed) {
            let f = Failure::failed(FailureClass::Other, AppError::new(ErrorCode::Cancelled, "stopped by the user"), 0);
            routed.failures.push((routed.model.clone(), f));
        }
        routed
    }

    /// After a request's ledger row: budget warnings for the provider charged,
    /// and a "fell back" event when an earlier candidate did not answer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn announce(
        &self,
        use_case: &UseCase,
        model: &ModelRef,
        attempts: &[Attempt],
        failures: &[(ModelRef, Failure)],
        ledger_id: &str,
        status: switchboard_core::RequestStatus,
        provider: Option<&ProviderSettings>,
    ) {
        if let Some(p) = provider {
            self.after_charge(p, &use_case.id, ledger_id).await;
        }
        let fell_back =
            attempts.iter().any(|a| a.outcome != AttemptOutcome::Answered && a.class != Some(FailureClass::LocalOnly));
        if fell_back && status == switchboard_core::RequestStatus::Ok {
            let reasons: Vec<String> = failures
                .iter()
                .filter(|(_, f)| f.class != FailureClass::LocalOnly)
                .map(|(m, f)| format!("{m}: {}", f.error.message))
                .collect();
            let message = format!("{}: answered by {model} after {}", use_case.name, reasons.join(" · "));
            self.raise(
                switchboard_core::RoutingEventKind::FellBack,
                Some(&model.provider),
                Some(&use_case.id),
                Some(ledger_id),
                message,
            )
            .await;
        }
    }

    /// After the ledger row of a request no candidate answered.
    pub(crate) async fn announce_failure(
        &self,
        use_case: &UseCase,
        failures: &[(ModelRef, Failure)],
        error: &AppError,
        ledger_id: &str,
    ) {
        if failures.len() > 1 {
            let message = format!("{}: {}", use_case.name, error.message);
            self.raise(
                switchboard_core::RoutingEventKind::RouteFailed,
                None,
                Some(&use_case.id),
                Some(ledger_id),
                message,
            )
            .await;
        }
    }
}
