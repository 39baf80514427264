//! How each candidate of a route stands now (available, budget spent,
//! paused ...), for the route editor: what a request would find there.

use serde::Serialize;
use switchboard_core::{AppError, RouteCandidate};

use crate::route::{local_only_failure, placement_of};
use crate::{Gateway, Target};

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

impl Gateway {
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
                Ok(Target::Group { group, members }) => {
                    let paused = members.iter().all(|p| {
                        let h = self.health.report(&p.id);
                        h.circuit == "open" || h.cooling_until.is_some()
                    });
                    if paused {
                        state(
                            CandidateStatus::CircuitOpen,
                            Some(format!("every member of {} is paused", group.name)),
                            None,
                        )
                    } else {
                        let names: Vec<&str> = members.iter().map(|p| p.display_name.as_str()).collect();
                        state(CandidateStatus::Available, Some(names.join(", ")), None)
                    }
                }
                Ok(Target::Remote { provider }) => {
                    let provider_health = self.health.report(&provider.id);
                    // The model's own circuit when it is the one paused.
                    let model_health =
                        self.health.report(&crate::remote::model_health_key(&provider.id, &planned.model.model));
                    let health = if provider_health.circuit == "closed" && model_health.circuit != "closed" {
                        model_health
                    } else {
                        provider_health
                    };
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
