//! Provider health: a circuit breaker per provider, rate limits per
//! provider, and "asked us to wait" cool-downs.
//!
//! The breaker opens after [`OPEN_AFTER_CONSECUTIVE`] failures in a row, or
//! when at least half of the last [`WINDOW`] requests failed (with at least
//! [`MIN_FOR_RATE`] of them). It stays open 30 s, then 60 s, 120 s ... (capped
//! at [`MAX_OPEN`]) each time it opens again without a success between; once
//! the time is up one request goes through as a probe (half-open) and its
//! outcome closes the circuit or opens it for the next, longer period.
//!
//! Only failures that say something about the provider's health count:
//! time-outs, server errors, unreachable hosts, cut streams and unreadable
//! answers. A refused key or an invalid request is the admin's to fix and
//! leaves the circuit alone; so does a 429 (handled as a rate limit).
//!
//! Time is `tokio::time::Instant`, so tests drive it with a paused clock.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use governor::{clock::Clock, DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use switchboard_providers::ErrorKind;
use tokio::time::Instant;

/// Consecutive failures that open the circuit.
pub const OPEN_AFTER_CONSECUTIVE: u32 = 3;
/// Requests the failure rate is measured over.
pub const WINDOW: usize = 20;
/// Requests in the window before the rate counts.
pub const MIN_FOR_RATE: usize = 10;
/// The first open period; doubled each time the circuit opens again.
pub const FIRST_OPEN: Duration = Duration::from_secs(30);
/// The longest open period.
pub const MAX_OPEN: Duration = Duration::from_secs(600);
/// How long a request waits for a rate-limit slot before the route moves on.
pub const MAX_SLOT_WAIT: Duration = Duration::from_secs(5);

/// Whether a failure of this kind counts against the provider's health.
pub fn counts_against_health(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Timeout | ErrorKind::Server | ErrorKind::Unavailable | ErrorKind::StreamCut | ErrorKind::BadResponse
    )
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Circuit {
    Closed,
    Open {
        until: Instant,
        level: u32,
    },
    /// The open period is over; one probe is (or may be) in flight.
    HalfOpen {
        level: u32,
        probing: bool,
    },
}

#[derive(Debug)]
struct ProviderHealthState {
    circuit: Circuit,
    consecutive: u32,
    /// Outcomes of the last requests, `true` = failed.
    recent: VecDeque<bool>,
    /// The provider asked us to wait (Retry-After beyond what a request waits).
    cool_until: Option<Instant>,
}

impl Default for ProviderHealthState {
    fn default() -> Self {
        Self { circuit: Circuit::Closed, consecutive: 0, recent: VecDeque::with_capacity(WINDOW), cool_until: None }
    }
}

/// What the breaker says about sending a request now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    Go,
    /// The circuit is open; it lets a probe through at this time.
    Open {
        retry_at: Instant,
    },
    /// The provider asked us to wait until then.
    CoolingDown {
        until: Instant,
    },
}

/// A change of circuit worth telling the admin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CircuitChange {
    Opened { for_: Duration },
    Closed,
}

/// How a provider is doing, for the Providers page and the route editor.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ProviderHealth {
    pub provider: String,
    /// `closed`, `open` or `half_open`.
    pub circuit: String,
    /// When an open circuit lets the next request through (RFC 3339 UTC).
    pub retry_at: Option<String>,
    pub consecutive_failures: u32,
    /// Failed share of the last requests (0 to 1), over `recent_requests`.
    pub failure_rate: f64,
    pub recent_requests: u32,
    /// Rate-limited by the provider until then (RFC 3339 UTC).
    pub cooling_until: Option<String>,
}

struct Limiters {
    rpm: Option<(u32, DefaultDirectRateLimiter)>,
    /// Tokens per minute: a bucket refilled continuously, `(limit, available, last refill)`.
    tpm: Option<(u32, f64, Instant)>,
}

#[derive(Default)]
pub struct Health {
    states: Mutex<HashMap<String, ProviderHealthState>>,
    limiters: Mutex<HashMap<String, Limiters>>,
}

fn open_period(level: u32) -> Duration {
    FIRST_OPEN.saturating_mul(2u32.saturating_pow(level.min(16))).min(MAX_OPEN)
}

/// An instant of the tokio clock as wall-clock time, for people.
pub fn wall_time(at: Instant) -> String {
    let now = Instant::now();
    let wall = if at >= now { SystemTime::now() + (at - now) } else { SystemTime::now() - (now - at) };
    chrono::DateTime::<chrono::Utc>::from(wall).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Health {
    /// May a request go to `provider` now? A half-open circuit admits one probe at a time.
    pub fn admit(&self, provider: &str) -> Admission {
        let now = Instant::now();
        let mut states = self.states.lock().expect("health lock");
        let s = states.entry(provider.to_string()).or_default();
        if let Some(until) = s.cool_until {
            if until > now {
                return Admission::CoolingDown { until };
            }
            s.cool_until = None;
        }
        match s.circuit {
            Circuit::Closed => Admission::Go,
            Circuit::Open { until, level } if now >= until => {
                s.circuit = Circuit::HalfOpen { level, probing: true };
                Admission::Go
            }
            Circuit::Open { until, .. } => Admission::Open { retry_at: until },
            Circuit::HalfOpen { level, probing: false } => {
                s.circuit = Circuit::HalfOpen { level, probing: true };
                Admission::Go
            }
            // A probe is out: the others wait for its answer elsewhere.
            Circuit::HalfOpen { probing: true, .. } => Admission::Open { retry_at: now + Duration::from_secs(1) },
        }
    }

    /// The provider answered.
    pub fn success(&self, provider: &str) -> Option<CircuitChange> {
        let mut states = self.states.lock().expect("health lock");
        let s = states.entry(provider.to_string()).or_default();
        s.consecutive = 0;
        push(&mut s.recent, false);
        let was_open = s.circuit != Circuit::Closed;
        s.circuit = Circuit::Closed;
        was_open.then_some(CircuitChange::Closed)
    }

    /// The provider failed with `kind`; returns the change when the circuit opens.
    pub fn failure(&self, provider: &str, kind: ErrorKind) -> Option<CircuitChange> {
        let mut states = self.states.lock().expect("health lock");
        let s = states.entry(provider.to_string()).or_default();
        if !counts_against_health(kind) {
            // The request did not go through: a probe that ends this way proves nothing.
            if let Circuit::HalfOpen { level, .. } = s.circuit {
                s.circuit = Circuit::HalfOpen { level, probing: false };
            }
            return None;
        }
        s.consecutive += 1;
        push(&mut s.recent, true);
        let now = Instant::now();
        let level = match s.circuit {
            Circuit::HalfOpen { level, .. } => Some(level + 1),
            Circuit::Open { .. } => None,
            Circuit::Closed => {
                let failed = s.recent.iter().filter(|f| **f).count();
                let by_rate = s.recent.len() >= MIN_FOR_RATE && failed * 2 >= s.recent.len();
                (s.consecutive >= OPEN_AFTER_CONSECUTIVE || by_rate).then_some(0)
            }
        };
        let level = level?;
        let for_ = open_period(level);
        s.circuit = Circuit::Open { until: now + for_, level };
        Some(CircuitChange::Opened { for_ })
    }

    /// The provider asked us to wait longer than a request will: skip it until `until`.
    pub fn cool_down(&self, provider: &str, until: Instant) {
        let mut states = self.states.lock().expect("health lock");
        let s = states.entry(provider.to_string()).or_default();
        s.cool_until = Some(s.cool_until.map_or(until, |u| u.max(until)));
    }

    /// Forgets a provider's history (its settings changed: a new URL or key deserves a fresh start).
    pub fn reset(&self, provider: &str) {
        self.states.lock().expect("health lock").remove(provider);
        self.limiters.lock().expect("limits lock").remove(provider);
    }

    pub fn report(&self, provider: &str) -> ProviderHealth {
        let now = Instant::now();
        let states = self.states.lock().expect("health lock");
        let default = ProviderHealthState::default();
        let s = states.get(provider).unwrap_or(&default);
        let (circuit, retry_at) = match s.circuit {
            Circuit::Closed => ("closed", None),
            Circuit::Open { until, .. } if until > now => ("open", Some(wall_time(until))),
            Circuit::Open { .. } | Circuit::HalfOpen { .. } => ("half_open", None),
        };
        let failed = s.recent.iter().filter(|f| **f).count();
        ProviderHealth {
            provider: provider.to_string(),
            circuit: circuit.to_string(),
            retry_at,
            consecutive_failures: s.consecutive,
            failure_rate: if s.recent.is_empty() { 0.0 } else { failed as f64 / s.recent.len() as f64 },
            recent_requests: s.recent.len() as u32,
            cooling_until: s.cool_until.filter(|u| *u > now).map(wall_time),
        }
    }

    /// Takes a request slot and `tokens` of the token budget at `provider`,
    /// waiting up to [`MAX_SLOT_WAIT`]; `Err(wait)` when the slot is further
    /// away than that (nothing is taken then).
    pub async fn acquire(
        &self,
        provider: &str,
        rpm: Option<u32>,
        tpm: Option<u32>,
        tokens: u32,
    ) -> Result<(), Duration> {
        let deadline = Instant::now() + MAX_SLOT_WAIT;
        loop {
            let wait = self.try_acquire(provider, rpm, tpm, tokens);
            match wait {
                None => return Ok(()),
                Some(w) if Instant::now() + w > deadline => return Err(w),
                Some(w) => tokio::time::sleep(w).await,
            }
        }
    }

    /// Takes the slot now or says how long until it is free.
    fn try_acquire(&self, provider: &str, rpm: Option<u32>, tpm: Option<u32>, tokens: u32) -> Option<Duration> {
        let mut all = self.limiters.lock().expect("limits lock");
        let l = all.entry(provider.to_string()).or_insert(Limiters { rpm: None, tpm: None });
        // Limits changed on the Providers page: start over with the new ones.
        if l.rpm.as_ref().map(|(n, _)| *n) != rpm {
            l.rpm = rpm.and_then(NonZeroU32::new).map(|n| (n.get(), RateLimiter::direct(Quota::per_minute(n))));
        }
        if l.tpm.as_ref().map(|(n, ..)| *n) != tpm {
            l.tpm = tpm.filter(|n| *n > 0).map(|n| (n, f64::from(n), Instant::now()));
        }
        // Tokens first (nothing taken if they are not there), then the request slot.
        let mut token_wait = None;
        if let Some((limit, available, at)) = &mut l.tpm {
            let now = Instant::now();
            let per_sec = f64::from(*limit) / 60.0;
            *available = (*available + (now - *at).as_secs_f64() * per_sec).min(f64::from(*limit));
            *at = now;
            // A request larger than the whole minute's budget waits for a full bucket.
            let need = f64::from(tokens).min(f64::from(*limit));
            if *available < need {
                token_wait = Some(Duration::from_secs_f64((need - *available) / per_sec));
            }
        }
        if let Some(w) = token_wait {
            return Some(w);
        }
        if let Some((_, limiter)) = &l.rpm {
            if let Err(not_until) = limiter.check() {
                return Some(not_until.wait_time_from(governor::clock::DefaultClock::default().now()));
            }
        }
        if let Some((limit, available, _)) = &mut l.tpm {
            *available -= f64::from(tokens).min(f64::from(*limit));
        }
        None
    }
}

fn push(recent: &mut VecDeque<bool>, failed: bool) {
    if recent.len() == WINDOW {
        recent.pop_front();
    }
    recent.push_back(failed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_and_escalates() {
        let h = Health::default();
        assert_eq!(h.admit("p"), Admission::Go);
        assert_eq!(h.failure("p", ErrorKind::Server), None);
        assert_eq!(h.failure("p", ErrorKind::Timeout), None);
        assert_eq!(h.failure("p", ErrorKind::Unavailable), Some(CircuitChange::Opened { for_: FIRST_OPEN }));
        assert!(matches!(h.admit("p"), Admission::Open { .. }));
        assert_eq!(h.report("p").circuit, "open");

        // 30 s later one probe goes through, the next waits for its answer.
        tokio::time::advance(FIRST_OPEN).await;
        assert_eq!(h.admit("p"), Admission::Go);
        assert!(matches!(h.admit("p"), Admission::Open { .. }));
        // The probe fails: open again, for twice as long.
        assert_eq!(h.failure("p", ErrorKind::Server), Some(CircuitChange::Opened { for_: FIRST_OPEN * 2 }));
        tokio::time::advance(FIRST_OPEN).await;
        assert!(matches!(h.admit("p"), Admission::Open { .. }), "still open after 30 of 60 s");
        tokio::time::advance(FIRST_OPEN).await;
        assert_eq!(h.admit("p"), Admission::Go);
        // The probe succeeds: closed, and the next failure starts counting from zero.
        assert_eq!(h.success("p"), Some(CircuitChange::Closed));
        assert_eq!(h.report("p").circuit, "closed");
        assert_eq!(h.failure("p", ErrorKind::Server), None);
        assert_eq!(h.admit("p"), Admission::Go);
    }

    #[test]
    fn open_periods_double_up_to_the_cap() {
        assert_eq!(open_period(0), Duration::from_secs(30));
        assert_eq!(open_period(1), Duration::from_secs(60));
        assert_eq!(open_period(2), Duration::from_secs(120));
        assert_eq!(open_period(10), MAX_OPEN);
        assert_eq!(open_period(u32::MAX), MAX_OPEN);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_rate_opens_it_too_and_admin_errors_do_not_count() {
        let h = Health::default();
        // Alternating failure and success never makes three in a row, but is a 50% failure rate.
        let mut opened = None;
        for i in 0..MIN_FOR_RATE {
            if i % 2 == 0 {
                opened = opened.or(h.failure("p", ErrorKind::Server));
            } else {
                h.success("p");
            }
        }
        assert!(opened.is_none(), "nine requests are too few to judge");
        assert!(h.failure("p", ErrorKind::Server).is_some(), "six of eleven failed");

        let h = Health::default();
        for _ in 0..10 {
            assert_eq!(h.failure("q", ErrorKind::Auth), None);
            assert_eq!(h.failure("q", ErrorKind::InvalidRequest), None);
            assert_eq!(h.failure("q", ErrorKind::RateLimited), None);
        }
        assert_eq!(h.admit("q"), Admission::Go);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cool_down_skips_the_provider_until_it_ends() {
        let h = Health::default();
        h.cool_down("p", Instant::now() + Duration::from_secs(90));
        assert!(matches!(h.admit("p"), Admission::CoolingDown { .. }));
        assert!(h.report("p").cooling_until.is_some());
        tokio::time::advance(Duration::from_secs(91)).await;
        assert_eq!(h.admit("p"), Admission::Go);
    }

    #[tokio::test]
    async fn requests_per_minute_are_limited_and_a_far_slot_is_refused_at_once() {
        let h = Health::default();
        assert_eq!(h.acquire("p", Some(2), None, 10).await, Ok(()));
        assert_eq!(h.acquire("p", Some(2), None, 10).await, Ok(()));
        let started = std::time::Instant::now();
        let wait = h.acquire("p", Some(2), None, 10).await.unwrap_err();
        assert!(wait > Duration::from_secs(20), "{wait:?}");
        assert!(started.elapsed() < Duration::from_millis(100), "a slot 30 s away is not waited for");
        // Another provider has its own limits.
        assert_eq!(h.acquire("q", Some(2), None, 10).await, Ok(()));
    }

    #[tokio::test]
    async fn tokens_per_minute_are_limited_and_refill() {
        let h = Health::default();
        // 6,000 tokens a minute = 100 a second.
        assert_eq!(h.acquire("p", None, Some(6_000), 5_950).await, Ok(()));
        // 100 tokens are 0.5 to 1 s away: waited for.
        let started = std::time::Instant::now();
        assert_eq!(h.acquire("p", None, Some(6_000), 100).await, Ok(()));
        assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
        // 6,000 more are a minute away: refused.
        assert!(h.acquire("p", None, Some(6_000), 6_000).await.is_err());
    }
}
