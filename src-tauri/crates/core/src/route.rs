//! Routes: the ordered candidates a use case's requests may go to, what
//! happened at each one a request tried, and the events routing raises.
//!
//! A route is the use case's model followed by its fallbacks, in the admin's
//! order. "Prefer cloud" moves the cloud candidates to the front (keeping
//! their order); "local only" (a global setting) drops every candidate that
//! would leave this machine.

use serde::{Deserialize, Serialize};

use crate::model_ref::ModelRef;
use crate::params::SamplingParams;
use crate::use_case::FieldError;

/// Fallbacks a use case may have after its model.
pub const MAX_FALLBACKS: usize = 8;

/// One model a use case's requests may go to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RouteCandidate {
    /// `provider/model`, e.g. `local/gemma-3-270m-q4_k_m` or `openai/gpt-4o-mini`.
    pub model: String,
    /// Replaces the use case's parameters when this candidate serves (a cloud
    /// fallback may need other limits than the local model); a request's own
    /// parameters still win.
    #[serde(default)]
    pub params: Option<SamplingParams>,
}

/// Checks a use case's fallbacks: known syntax, valid parameters, no model twice.
pub fn validate_fallbacks(primary: &str, fallbacks: &[RouteCandidate]) -> Result<(), FieldError> {
    let err = |field: String, message: String| FieldError { field, message };
    if fallbacks.len() > MAX_FALLBACKS {
        return Err(err("fallbacks".into(), format!("at most {MAX_FALLBACKS} fallbacks")));
    }
    let mut seen = vec![primary];
    for (i, c) in fallbacks.iter().enumerate() {
        ModelRef::parse(&c.model).map_err(|e| err(format!("fallbacks.{i}.model"), e.message))?;
        if seen.contains(&c.model.as_str()) {
            return Err(err(format!("fallbacks.{i}.model"), format!("{} is already in the route", c.model)));
        }
        seen.push(&c.model);
        if let Some(p) = &c.params {
            p.validate().map_err(|e| err(format!("fallbacks.{i}.params.{}", e.field), e.message))?;
        }
    }
    Ok(())
}

/// Where a candidate runs, as far as ordering is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// A cloud provider's API (billed, leaves the organisation).
    pub cloud: bool,
    /// Runs on this machine (the local engine, or a server on loopback).
    pub on_this_machine: bool,
}

/// The order a request tries `candidates` in: with `prefer_cloud`, cloud
/// candidates first (each group keeps the admin's order); with `local_only`,
/// only what runs on this machine. Returns the kept candidates and the
/// skipped ones.
pub fn order<T: Clone>(
    candidates: &[T],
    placement: impl Fn(&T) -> Placement,
    prefer_cloud: bool,
    local_only: bool,
) -> (Vec<T>, Vec<T>) {
    let (mut kept, skipped): (Vec<T>, Vec<T>) =
        candidates.iter().cloned().partition(|c| !local_only || placement(c).on_this_machine);
    if prefer_cloud {
        // A stable sort: cloud before the rest, each in the admin's order.
        kept.sort_by_key(|c| !placement(c).cloud);
    }
    (kept, skipped)
}

/// Settings that apply to every route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RoutingSettings {
    /// Nothing leaves this machine: every candidate that is not the local
    /// engine or a server on loopback is skipped.
    #[serde(default)]
    pub local_only: bool,
}

/// What became of one candidate a request tried (or passed over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// This candidate answered.
    Answered,
    /// It was tried and failed.
    Failed,
    /// It was not tried (budget spent, circuit open, rate-limited, missing, local only).
    Skipped,
    /// The user stopped the request while this candidate served it.
    Cancelled,
}

/// Why a candidate failed or was passed over: stable words the UI translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    ModelMissing,
    ModelLoadFailed,
    EngineFailed,
    PromptTooLong,
    BudgetSpent,
    PriceMissing,
    CircuitOpen,
    RateLimited,
    LocalOnly,
    Timeout,
    Unavailable,
    Server,
    Auth,
    InvalidRequest,
    BadResponse,
    StreamCut,
    NoKey,
    Other,
}

/// One step of a request's route, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Attempt {
    /// `provider/model`.
    pub candidate: String,
    pub outcome: AttemptOutcome,
    #[serde(default)]
    pub class: Option<FailureClass>,
    /// What went wrong, in words an admin can act on.
    #[serde(default)]
    pub message: Option<String>,
    /// Tries at this candidate (retries of transient failures included).
    #[serde(default)]
    pub tries: u32,
    pub duration_ms: f64,
}

/// Something routing did that an admin should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum RoutingEventKind {
    /// A request was answered by a later candidate than the first.
    FellBack,
    /// Every candidate failed.
    RouteFailed,
    /// A provider's month spend passed 80% of its budget.
    #[serde(rename = "budget_80")]
    Budget80,
    /// A provider's budget is spent: it is skipped until the month turns.
    BudgetSpent,
    /// A new month: a provider whose budget was spent serves again.
    BudgetReset,
    /// Consecutive failures: the provider is not tried until the circuit's retry time.
    CircuitOpened,
    /// The provider answered again.
    CircuitClosed,
    /// A request could not get a slot within its wait bound.
    RateLimited,
}

impl RoutingEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FellBack => "fell_back",
            Self::RouteFailed => "route_failed",
            Self::Budget80 => "budget_80",
            Self::BudgetSpent => "budget_spent",
            Self::BudgetReset => "budget_reset",
            Self::CircuitOpened => "circuit_opened",
            Self::CircuitClosed => "circuit_closed",
            Self::RateLimited => "rate_limited",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::FellBack,
            Self::RouteFailed,
            Self::Budget80,
            Self::BudgetSpent,
            Self::BudgetReset,
            Self::CircuitOpened,
            Self::CircuitClosed,
            Self::RateLimited,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Warnings ask for attention; the rest is information.
    pub fn is_warning(self) -> bool {
        matches!(self, Self::RouteFailed | Self::BudgetSpent | Self::CircuitOpened | Self::Budget80)
    }
}

/// A routing event, as raised and as stored in the events table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RoutingEvent {
    /// Stored events have an id; 0 before they are written.
    pub id: u32,
    /// RFC 3339 UTC.
    pub at: String,
    pub kind: RoutingEventKind,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub use_case: Option<String>,
    /// The ledger row of the request that raised it, if any.
    #[serde(default)]
    pub ledger_id: Option<String>,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(model: &str) -> RouteCandidate {
        RouteCandidate { model: model.into(), params: None }
    }

    fn placement(c: &RouteCandidate) -> Placement {
        let provider = c.model.split('/').next().unwrap();
        Placement {
            cloud: matches!(provider, "openai" | "anthropic"),
            on_this_machine: matches!(provider, "local" | "ollama"),
        }
    }

    fn models(v: &[RouteCandidate]) -> Vec<&str> {
        v.iter().map(|c| c.model.as_str()).collect()
    }

    #[test]
    fn prefer_cloud_moves_cloud_first_and_keeps_each_groups_order() {
        let route = [c("local/a"), c("openai/x"), c("ollama/b"), c("anthropic/y")];
        let (kept, skipped) = order(&route, placement, false, false);
        assert_eq!(models(&kept), ["local/a", "openai/x", "ollama/b", "anthropic/y"]);
        assert!(skipped.is_empty());
        let (kept, _) = order(&route, placement, true, false);
        assert_eq!(models(&kept), ["openai/x", "anthropic/y", "local/a", "ollama/b"]);
    }

    #[test]
    fn local_only_drops_what_leaves_the_machine() {
        let route = [c("openai/x"), c("local/a"), c("vllm/z"), c("ollama/b")];
        let (kept, skipped) = order(&route, placement, true, true);
        assert_eq!(models(&kept), ["local/a", "ollama/b"]);
        assert_eq!(models(&skipped), ["openai/x", "vllm/z"]);
    }

    #[test]
    fn fallbacks_are_checked() {
        assert!(validate_fallbacks("local/a", &[c("openai/x"), c("ollama/b")]).is_ok());
        let e = validate_fallbacks("local/a", &[c("openai/x"), c("local/a")]).unwrap_err();
        assert_eq!(e.field, "fallbacks.1.model");
        assert!(e.message.contains("already in the route"));
        let e = validate_fallbacks("local/a", &[c("not a model")]).unwrap_err();
        assert_eq!(e.field, "fallbacks.0.model");
        let too_many: Vec<_> = (0..=MAX_FALLBACKS).map(|i| c(&format!("openai/m{i}"))).collect();
        assert_eq!(validate_fallbacks("local/a", &too_many).unwrap_err().field, "fallbacks");
        let mut bad = c("openai/x");
        bad.params = Some(SamplingParams::new(9.0, 40, 0.9, 256, 1.0));
        assert_eq!(validate_fallbacks("local/a", &[bad]).unwrap_err().field, "fallbacks.0.params.temperature");
    }

    #[test]
    fn event_kinds_round_trip() {
        for k in [RoutingEventKind::FellBack, RoutingEventKind::CircuitClosed, RoutingEventKind::Budget80] {
            assert_eq!(RoutingEventKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
