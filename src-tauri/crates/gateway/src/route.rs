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
//! - A refused key or an invalid request ("fail fast") is not retried at the
//!   same provider, but the route goes on to candidates at other providers:
//!   another provider has its own key and may accept what this one refused.
//!   Only an error in the request itself (invalid parameters, a bad history)
//!   stops the route, because it would fail everywhere.
//! - Once text reached the caller the request stays where it is: a failure
//!   then ends it with the partial text kept (and charged).

use serde::Serialize;
use switchboard_core::{
    AppError, ErrorCode, FailureClass, ModelRef, Placement, RouteCandidate, SamplingParams, UseCase,
};

use crate::remote::Failure;
use crate::{Gateway, Target};

/// One candidate of a request's route, resolved.
pub(crate) struct Planned {
    pub model: ModelRef,
    /// The candidate's own parameters, when it has them.
    pub params: Option<SamplingParams>,
    pub target: Result<Target, Failure>,
}

/// How a candidate stands now, for the route editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum CandidateStatus {
    Available,
    /// Not in the library, its file gone, or no such provider.
    ModelMissing,
    ProviderDisabled,
    BudgetSpent,
    CircuitOpen,
    RateLimited,
    /// "Local only" is on and this candidate leaves the machine.
    LocalOnly,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct CandidateState {
    pub model: String,
    pub status: CandidateStatus,
    /// Why, in words.
    pub detail: Option<String>,
    /// When a paused candidate is tried again (RFC 3339 UTC).
    pub retry_at: Option<String>,
    /// A cloud provider's API (billed by the provider).
    pub cloud: bool,
}

fn placement_of(target: &Result<Target, Failure>) -> Placement {
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
        // Unknown: not known to stay on this machine.
        Err(_) => Placement { cloud: false, on_this_machine: false },
    }
}

fn local_only_failure(model: &ModelRef) -> Failure {
    Failure::skipped(
        FailureClass::LocalOnly,
        AppError::new(
            ErrorCode::InvalidInput,
            format!("{model} leaves this machine and \"local only\" is on (Settings)"),
        ),
    )
}

impl Gateway {
    async fn planned(&self, candidate: &RouteCandidate) -> Planned {
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

    /// How each of `models` stands now: what a request would find there.
    pub async fn candidate_states(&self, models: &[String]) -> Result<Vec<CandidateState>, AppError> {
        let local_only = self.store.routing_settings().await?.local_only;
        let mut out = Vec::with_capacity(models.len());
        for m in models {
            let planned = self.planned(&RouteCandidate { model: m.clone(), params: None }).await;
            let placement = placement_of(&planned.target);
            let state = |status, detail: Option<String>, retry_at| CandidateState {
                model: m.clone(),
                status,
                detail,
                retry_at,
                cloud: placement.cloud,
            };
            out.push(match &planned.target {
                Err(f) => {
                    let disabled = f.error.message.contains("is disabled");
                    state(
                        if disabled { CandidateStatus::ProviderDisabled } else { CandidateStatus::ModelMissing },
                        Some(f.error.message.clone()),
                        None,
                    )
                }
                Ok(_) if local_only && !placement.on_this_machine => {
                    state(CandidateStatus::LocalOnly, Some(local_only_failure(&planned.model).error.message), None)
                }
                Ok(Target::Local { .. }) => state(CandidateStatus::Available, None, None),
                Ok(Target::Remote { provider }) => {
                    let health = self.health.report(&provider.id);
                    let spent = match provider.monthly_budget_usd {
                        Some(budget) => {
                            let spent = self.store.month_spend_now(&provider.id).await?;
                            (spent >= budget).then(|| format!("${spent:.2} of ${budget:.2} spent this month"))
                        }
                        None => None,
                    };
                    if let Some(detail) = spent {
                        state(CandidateStatus::BudgetSpent, Some(detail), None)
                    } else if health.circuit == "open" {
                        state(
                            CandidateStatus::CircuitOpen,
                            Some(format!("{} consecutive failures", health.consecutive_failures)),
                            health.retry_at,
                        )
                    } else if let Some(until) = health.cooling_until {
                        state(CandidateStatus::RateLimited, Some("the provider asked for a pause".into()), Some(until))
                    } else {
                        state(CandidateStatus::Available, None, None)
                    }
                }
            });
        }
        Ok(out)
    }
}
