//! The response cache, opt-in per use case: an exact repeat of a request
//! (same use case configuration, model, parameters, history and prompt) is
//! answered with the earlier answer, at once and at no cost.
//!
//! Answers sampled with temperature > 0 are not reused unless the use case
//! says so (they would differ if asked again). The key includes the use
//! case's last change, so editing the use case (model, route, parameters,
//! system prompt, schema) leaves earlier answers unreachable: they are
//! cleared in effect and age out. The cache lives in memory only and does
//! not survive a restart: it would otherwise keep prompts and answers on disk,
//! which Switchboard does not store unless asked to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use switchboard_core::{GenerationStats, ModelRef, SamplingParams, UseCase};

use crate::{LlmRequest, RequestExtras};

/// The memory the cache may take (answers and keys), in bytes.
const CAPACITY_BYTES: u64 = 64 << 20;

/// One answer kept for reuse.
pub(crate) struct Cached {
    pub text: String,
    pub model: ModelRef,
    pub stats: GenerationStats,
    pub params: SamplingParams,
    stored_at: Instant,
}

impl Cached {
    pub fn new(text: String, model: ModelRef, stats: GenerationStats, params: SamplingParams) -> Self {
        Self { text, model, stats, params, stored_at: Instant::now() }
    }
}

pub(crate) struct ResponseCache(moka::sync::Cache<String, Arc<Cached>>);

impl Default for ResponseCache {
    fn default() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|k: &String, v: &Arc<Cached>| u32::try_from(k.len() + v.text.len() + 256).unwrap_or(u32::MAX))
                .time_to_live(Duration::from_secs(u64::from(switchboard_core::use_case::MAX_CACHE_TTL_S)))
                .build(),
        )
    }
}

/// Whether parameters make answers worth reusing under `use_case`'s rules.
pub(crate) fn reusable(use_case: &UseCase, params: &SamplingParams) -> bool {
    use_case.cache_ttl_s.is_some() && (use_case.cache_random || params.temperature == 0.0)
}

impl ResponseCache {
    /// The key of `req` when its use case caches and its parameters allow it.
    pub fn key(use_case: &UseCase, req: &LlmRequest, extras: &RequestExtras) -> Option<String> {
        let params = req.params.clone().unwrap_or_else(|| use_case.effective_params(None));
        let params = extras.overrides.as_ref().map_or(params.clone(), |o| o.apply(params));
        if !reusable(use_case, &params) {
            return None;
        }
        let what = serde_json::json!({
            "use_case": use_case.id,
            "changed": use_case.updated_at,
            "model": req.model,
            "params": req.params,
            "history": req.history,
            "prompt": req.prompt,
            "overrides": extras.overrides,
            "json_schema": extras.json_schema,
            "ignore_eos": extras.ignore_eos,
        });
        Some(hex::encode(Sha256::digest(what.to_string().as_bytes())))
    }

    /// The answer stored under `key`, if younger than `ttl`.
    pub fn get(&self, key: &str, ttl: Duration) -> Option<Arc<Cached>> {
        self.0.get(key).filter(|c| c.stored_at.elapsed() <= ttl)
    }

    pub fn put(&self, key: String, answer: Cached) {
        self.0.insert(key, Arc::new(answer));
    }
}
