//! Endpoint groups: which member serves a request. Members whose circuit is
//! open or who asked for a pause go last (they are passed over when their
//! turn comes); the others are ordered by the group's strategy. Every member
//! is tried in that order until one answers, before the route moves on.

use std::collections::HashMap;
use std::sync::Mutex;

use switchboard_core::{AppError, BalanceStrategy, ErrorCode, FailureClass, ProviderGroup, ProviderSettings};
use switchboard_providers::ChatRequest;

use crate::remote::{Failure, RemoteOutcome};
use crate::Gateway;

/// Weight of a new latency sample in the running average.
const LATENCY_WEIGHT: f64 = 0.3;

#[derive(Default)]
pub(crate) struct Balancer {
    next: Mutex<HashMap<String, usize>>,
    in_flight: Mutex<HashMap<String, usize>>,
    /// Time to first token (else whole request), averaged, in ms.
    latency_ms: Mutex<HashMap<String, f64>>,
}

/// Counts a request in flight at a member while it lives.
struct InFlight<'a> {
    balancer: &'a Balancer,
    provider: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.balancer.in_flight.lock().expect("in-flight lock").get_mut(&self.provider) {
            *n = n.saturating_sub(1);
        }
    }
}

impl Balancer {
    fn enter(&self, provider: &str) -> InFlight<'_> {
        *self.in_flight.lock().expect("in-flight lock").entry(provider.to_string()).or_insert(0) += 1;
        InFlight { balancer: self, provider: provider.to_string() }
    }

    fn busy(&self, provider: &str) -> usize {
        self.in_flight.lock().expect("in-flight lock").get(provider).copied().unwrap_or(0)
    }

    fn latency(&self, provider: &str) -> Option<f64> {
        self.latency_ms.lock().expect("latency lock").get(provider).copied()
    }

    fn observe(&self, provider: &str, ms: f64) {
        let mut all = self.latency_ms.lock().expect("latency lock");
        let avg = all.entry(provider.to_string()).or_insert(ms);
        *avg = LATENCY_WEIGHT * ms + (1.0 - LATENCY_WEIGHT) * *avg;
    }

    fn turn(&self, group: &str, n: usize) -> usize {
        let mut next = self.next.lock().expect("round robin lock");
        let i = next.entry(group.to_string()).or_insert(0);
        let turn = *i % n.max(1);
        *i = i.wrapping_add(1);
        turn
    }
}

/// How far a request travels to a member: this machine, a private network, the internet.
fn distance_score(base_url: &str) -> f64 {
    let Some(host) = reqwest::Url::parse(base_url).ok().and_then(|u| u.host_str().map(str::to_string)) else {
        return 0.0;
    };
    if switchboard_core::is_loopback_host(&host) {
        return 1.0;
    }
    match host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) if ip.is_private() || ip.is_link_local() => 0.7,
        Ok(std::net::IpAddr::V6(ip)) if (ip.segments()[0] & 0xfe00) == 0xfc00 => 0.7,
        _ if host.ends_with(".local") || host.ends_with(".lan") || !host.contains('.') => 0.7,
        _ => 0.3,
    }
}

impl Gateway {
    /// `members` in the order a request tries them.
    async fn order_members(
        &self,
        group: &ProviderGroup,
        members: &[ProviderSettings],
        model: &str,
    ) -> Vec<ProviderSettings> {
        let b = &self.balancer;
        let mut ordered: Vec<ProviderSettings> = members.to_vec();
        match group.strategy {
            BalanceStrategy::RoundRobin => {
                let start = b.turn(&group.id, ordered.len());
                ordered.rotate_left(start);
            }
            BalanceStrategy::LeastBusy => ordered.sort_by_key(|p| b.busy(&p.id)),
            // Members not measured yet go first, so that each gets measured.
            BalanceStrategy::LowestLatency => {
                ordered.sort_by(|x, y| b.latency(&x.id).unwrap_or(0.0).total_cmp(&b.latency(&y.id).unwrap_or(0.0)))
            }
            BalanceStrategy::WeightedScore => {
                let mut scored = Vec::with_capacity(ordered.len());
                for p in ordered {
                    let health = self.health.report(&p.id);
                    let reliability = 1.0 - health.failure_rate;
                    let latency = b.latency(&p.id).map_or(0.5, |ms| 1.0 / (1.0 + ms / 1000.0));
                    let price = self.store.price(p.kind.as_str(), model).await.ok().flatten();
                    // USD per million output tokens: free (a local server, no price) scores best.
                    let cost = price.map_or(1.0, |pr| 1.0 / (1.0 + pr.output_per_mtok));
                    let load = 1.0 / (1.0 + b.busy(&p.id) as f64);
                    let score = 0.35 * reliability
                        + 0.25 * latency
                        + 0.15 * distance_score(&p.base_url)
                        + 0.15 * cost
                        + 0.10 * load;
                    scored.push((score, p));
                }
                scored.sort_by(|x, y| y.0.total_cmp(&x.0));
                ordered = scored.into_iter().map(|(_, p)| p).collect();
            }
        }
        // Unhealthy members last, in the same order.
        ordered.sort_by_key(|p| {
            let h = self.health.report(&p.id);
            h.circuit == "open" || h.cooling_until.is_some()
        });
        ordered
    }

    /// Runs `chat` at the group's members in turn until one answers; returns
    /// the answer and the member that gave it.
    pub(crate) async fn run_group(
        &self,
        use_case: &switchboard_core::UseCase,
        group: &ProviderGroup,
        members: &[ProviderSettings],
        chat: ChatRequest,
        cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(RemoteOutcome, ProviderSettings), Failure> {
        let mut failures: Vec<(String, Failure)> = Vec::new();
        for member in self.order_members(group, members, &chat.model).await {
            let _in_flight = self.balancer.enter(&member.id);
            // A fresh meter: usage reported by a member that failed is not this one's.
            let req = ChatRequest { meter: Default::default(), ..chat.clone() };
            match self.run_remote(use_case, &member, req, cancel.clone(), on_text).await {
                Ok(outcome) => {
                    if outcome.cut.is_none() {
                        self.balancer.observe(&member.id, outcome.stats.ttft_ms.unwrap_or(outcome.stats.latency_ms));
                    }
                    return Ok((outcome, member));
                }
                Err(f) => failures.push((member.display_name.clone(), f)),
            }
        }
        let skipped = failures.iter().all(|(_, f)| f.skipped);
        let (class, code, tries) = failures
            .last()
            .map(|(_, f)| (f.class, f.error.code, failures.iter().map(|(_, f)| f.tries).sum()))
            .unwrap_or((FailureClass::Unavailable, ErrorCode::ProviderUnavailable, 0));
        let reasons: Vec<String> = failures.iter().map(|(name, f)| format!("{name}: {}", f.error.message)).collect();
        let error = AppError::new(code, format!("no member of {} could answer ({})", group.name, reasons.join("; ")));
        Err(if skipped { Failure::skipped(class, error) } else { Failure::failed(class, error, tries) })
    }
}
