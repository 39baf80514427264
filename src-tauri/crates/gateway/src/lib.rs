//! Switchboard's gateway: the one function every caller (the UI, the local
//! HTTP API and the CLI) uses to run an LLM request. It resolves the use
//! case to a model and effective parameters (request override > custom
//! parameters > use-case defaults), validates them, runs the request, and
//! records it in the ledger whatever the outcome.
//!
//! A use case's requests follow its route: the model, then the fallbacks,
//! each tried in turn until one answers (see `route.rs` for the rules).
//! Remote models go to the providers crate's adapters with the provider's
//! keys (opened from the vault for one request), retries, key rotation,
//! circuit breakers, rate limits and budgets decided here; every request is
//! priced from what the provider reported.
//!
//! **Architecture Invariant:** the gateway links neither Tauri nor llama.cpp;
//! it reaches the engine through `switchboard_core::TextEngine`, the seam
//! where the engine's worker process plugs in.

mod balance;
mod budget;
mod cache;
mod compare;
mod costs;
mod embed;
mod events;
mod generate;
pub mod health;
mod library;
mod probe;
mod remote;
mod resolve;
mod route;
mod states;
mod vault;
mod vision;

pub use compare::{ComparisonProgress, COMPARE_CALLER};
pub use costs::{CostEstimate, EstimateRequest};
pub use embed::{EmbedRequest, EmbedResponse};
pub use generate::{GenerationEvent, GenerationSummary, LlmRequest, RequestExtras};
pub use health::ProviderHealth;
pub use library::LocalEntry;
pub use remote::provider_error;
pub use resolve::{ResolvedCandidate, Target};
pub use states::{CandidateState, CandidateStatus};
pub use vault::{Vault, VaultStatus};
pub use vision::{DescribeExtras, DescribeRequest, DescribeSummary, ImageBytes, ImageFacts, DEFAULT_VISION_PROMPT};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use switchboard_core::TextEngine;
use switchboard_store::Store;

pub struct Gateway {
    store: Store,
    engine: Arc<dyn TextEngine>,
    models_dir: PathBuf,
    vault: Vault,
    /// For providers: carries time-outs; never logs bodies.
    http: reqwest::Client,
    /// Cancel flags of the requests in flight, by request id.
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
    /// Worst-case cost of the cloud requests in flight, by provider: counted
    /// against the budget until each one's ledger row is written.
    reserved: budget::Reservations,
    /// Circuit breakers, rate limits and cool-downs, by provider.
    health: health::Health,
    /// Clients with a provider's own connect time-out, by that time-out.
    clients: Mutex<HashMap<std::time::Duration, reqwest::Client>>,
    /// Routing events, to whoever listens.
    events: tokio::sync::broadcast::Sender<switchboard_core::RoutingEvent>,
    /// Budget warnings already given this month.
    budget_marks: events::BudgetMarks,
    /// Answers reused for exact repeats, where a use case asks for it.
    cache: cache::ResponseCache,
    /// Endpoint groups: turns, requests in flight and latencies per member.
    balancer: balance::Balancer,
    /// When each provider was last probed in the background.
    probes: probe::ProbeTimes,
}

impl Gateway {
    pub fn new(store: Store, engine: Arc<dyn TextEngine>, models_dir: PathBuf, vault: Vault) -> Self {
        let http = switchboard_providers::client();
        Self {
            store,
            engine,
            models_dir,
            vault,
            http,
            running: Mutex::new(HashMap::new()),
            reserved: budget::Reservations::default(),
            health: health::Health::default(),
            clients: Mutex::new(HashMap::new()),
            events: events::channel(),
            budget_marks: events::BudgetMarks::default(),
            cache: cache::ResponseCache::default(),
            balancer: balance::Balancer::default(),
            probes: probe::ProbeTimes::default(),
        }
    }

    /// How `provider` is doing: circuit, recent failures, rate-limit pause.
    pub fn provider_health(&self, provider: &str) -> ProviderHealth {
        self.health.report(provider)
    }

    /// Forgets a provider's failures (after its settings changed).
    pub fn reset_provider_health(&self, provider: &str) {
        self.health.reset(provider);
    }

    /// The client providers are reached with (for model listing and probes too).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn models_dir(&self) -> &std::path::Path {
        &self.models_dir
    }

    /// Admits a request id (1 to 128 characters, not already running) and
    /// returns it trimmed with the cancel flag [`Self::cancel`] will set; the
    /// caller removes it from `running` when the request ends.
    fn admit(&self, request_id: &str) -> Result<(String, Arc<AtomicBool>), switchboard_core::AppError> {
        use switchboard_core::{AppError, ErrorCode};
        let request_id = request_id.trim().to_string();
        if request_id.is_empty() || request_id.len() > 128 {
            return Err(AppError::new(ErrorCode::InvalidInput, "request_id must be 1 to 128 characters"));
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let mut running = self.running.lock().expect("running lock");
        if running.contains_key(&request_id) {
            return Err(AppError::new(ErrorCode::InvalidInput, format!("request {request_id} is already running")));
        }
        running.insert(request_id.clone(), cancel.clone());
        Ok((request_id, cancel))
    }

    /// Stops a request in flight; false when no such request is running.
    pub fn cancel(&self, request_id: &str) -> bool {
        match self.running.lock().expect("running lock").get(request_id) {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}
