//! Endpoint groups: several provider instances that serve the same models
//! (two vLLM hosts, three llama-server machines), used as one candidate
//! (`{group}/{model}`) and balanced by a chosen strategy.

use serde::{Deserialize, Serialize};

use crate::use_case::FieldError;

/// Members a group may have.
pub const MAX_GROUP_MEMBERS: usize = 16;

/// How a group picks the member that serves a request; unhealthy members
/// (circuit open, paused by a rate limit) are passed over whatever the strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BalanceStrategy {
    /// Each member in turn.
    RoundRobin,
    /// The member with the fewest requests in flight.
    LeastBusy,
    /// The member that answered fastest lately (time to first token, averaged).
    LowestLatency,
    /// A weighted score over reliability (recent failure rate), latency,
    /// distance (this machine, the local network, the internet), cost (the
    /// price table) and load (requests in flight).
    WeightedScore,
}

impl BalanceStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoundRobin => "round_robin",
            Self::LeastBusy => "least_busy",
            Self::LowestLatency => "lowest_latency",
            Self::WeightedScore => "weighted_score",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::RoundRobin, Self::LeastBusy, Self::LowestLatency, Self::WeightedScore]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ProviderGroup {
    /// Names its models: `{id}/{model}`; never the id of a provider.
    pub id: String,
    pub name: String,
    /// Provider instance ids, in the admin's order.
    pub members: Vec<String>,
    pub strategy: BalanceStrategy,
}

impl ProviderGroup {
    pub fn validate(&self) -> Result<(), FieldError> {
        crate::validate_provider_id(&self.id)?;
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(FieldError { field: "name".into(), message: "the name must be 1 to 80 characters".into() });
        }
        if self.members.is_empty() || self.members.len() > MAX_GROUP_MEMBERS {
            return Err(FieldError {
                field: "members".into(),
                message: format!("a group has 1 to {MAX_GROUP_MEMBERS} members"),
            });
        }
        let mut seen = Vec::new();
        for m in &self.members {
            if seen.contains(&m) {
                return Err(FieldError { field: "members".into(), message: format!("{m} is in the group twice") });
            }
            seen.push(m);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_checked() {
        let g = ProviderGroup {
            id: "vllm-pool".into(),
            name: "vLLM pool".into(),
            members: vec!["gpu-a".into(), "gpu-b".into()],
            strategy: BalanceStrategy::RoundRobin,
        };
        assert!(g.validate().is_ok());
        assert_eq!(ProviderGroup { members: vec![], ..g.clone() }.validate().unwrap_err().field, "members");
        let twice = ProviderGroup { members: vec!["a1".into(), "a1".into()], ..g.clone() };
        assert!(twice.validate().unwrap_err().message.contains("twice"));
        assert_eq!(ProviderGroup { id: "local".into(), ..g.clone() }.validate().unwrap_err().field, "id");
        assert_eq!(ProviderGroup { name: " ".into(), ..g }.validate().unwrap_err().field, "name");
        for s in [BalanceStrategy::RoundRobin, BalanceStrategy::WeightedScore] {
            assert_eq!(BalanceStrategy::parse(s.as_str()), Some(s));
        }
    }
}
