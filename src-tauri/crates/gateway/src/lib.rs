//! Switchboard's gateway: the one function every caller (the UI, and later the
//! local HTTP API and the CLI) uses to run an LLM request. It resolves the use
//! case to a model and effective parameters (request override > custom
//! parameters > use-case defaults), validates them, runs the request, and
//! records it in the ledger whatever the outcome.
//!
//! **Architecture Invariant:** the gateway links neither Tauri nor llama.cpp;
//! it reaches the engine through `switchboard_core::TextEngine`, the seam
//! where the engine's worker process plugs in.

mod generate;
mod resolve;

pub use generate::{GenerationEvent, GenerationSummary, LlmRequest};
pub use resolve::Resolved;

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
    /// Cancel flags of the requests in flight, by request id.
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

impl Gateway {
    pub fn new(store: Store, engine: Arc<dyn TextEngine>, models_dir: PathBuf) -> Self {
        Self { store, engine, models_dir, running: Mutex::new(HashMap::new()) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn models_dir(&self) -> &std::path::Path {
        &self.models_dir
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
