//! The configuration every request reads (its use case, the routing
//! settings, a provider, its sealed keys, an endpoint group, a price), kept
//! in memory so that a request does not wait for SQLite to answer the same
//! questions again.
//!
//! **Invariant:** a change committed through this store is seen by every
//! read that starts after the commit returns: each pooled connection has an
//! update hook that notes a change to a configuration table and a commit hook
//! that then moves the generation on, a write transaction moves it on once
//! more after its commit returned (a read between the commit hook and the
//! commit becoming visible may have read the old row), and an entry filled
//! under an older generation is never returned. A single statement run on the
//! pool outside a write transaction relies on the hooks alone. A change made by another process (the
//! command line while the app serves) is seen within [`MAX_AGE`]: the whole
//! cache is dropped that often. The ledger's tables are not configuration: a
//! busy gateway writing rows does not empty the cache.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_core::{ModelPrice, ProviderGroup, RoutingSettings, UseCase};

use crate::queries::providers::{ProviderRow, StoredKey};
use crate::StoreError;

/// How long a read may be reused at most (what another process changed shows within this).
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// The tables whose rows the cache holds answers about.
const CONFIG_TABLES: [&str; 6] =
    ["use_cases", "app_settings", "providers", "provider_keys", "provider_groups", "model_prices"];

/// What the cache holds, table by table (an absent row as `None`).
#[derive(Default)]
pub(crate) struct Entries {
    /// The generation the entries were read under.
    generation: u64,
    since: Option<Instant>,
    pub use_cases: HashMap<String, Option<UseCase>>,
    pub routing: Option<RoutingSettings>,
    pub providers: HashMap<String, Option<ProviderRow>>,
    pub keys: HashMap<String, Vec<StoredKey>>,
    pub groups: HashMap<String, Option<ProviderGroup>>,
    pub prices: HashMap<(String, String), Option<ModelPrice>>,
}

/// One store's cache; shared by its clones.
#[derive(Default)]
pub(crate) struct ReadCache {
    /// Moved on by every commit that changed a configuration table.
    generation: Arc<AtomicU64>,
    entries: Mutex<Entries>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache").field("generation", &self.generation.load(Ordering::Relaxed)).finish()
    }
}

impl ReadCache {
    /// Installs the hooks that keep the cache true on a new pooled connection.
    pub(crate) async fn watch(&self, conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
        let mut handle = conn.lock_handle().await?;
        let touched = Arc::new(AtomicBool::new(false));
        let (t, generation) = (touched.clone(), self.generation.clone());
        handle.set_update_hook(move |change| {
            if CONFIG_TABLES.contains(&change.table) {
                t.store(true, Ordering::Relaxed);
                // Also now: a read that starts before the commit must not be kept under the new generation.
                generation.fetch_add(1, Ordering::AcqRel);
            }
        });
        let (t, generation) = (touched.clone(), self.generation.clone());
        handle.set_commit_hook(move || {
            if t.swap(false, Ordering::Relaxed) {
                generation.fetch_add(1, Ordering::AcqRel);
            }
            true
        });
        handle.set_rollback_hook(move || touched.store(false, Ordering::Relaxed));
        Ok(())
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// After a commit has returned: if configuration changed since
    /// `generation` (the hooks moved it on, before the commit was visible),
    /// what was read meanwhile may be old and is dropped.
    pub(crate) fn settled(&self, generation: u64) {
        if self.generation.load(Ordering::Acquire) != generation {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// What `pick` finds in memory; else what `load` reads from the file,
    /// kept by `put` unless configuration changed while it was read.
    pub(crate) async fn read<T: Clone>(
        &self,
        pick: impl FnOnce(&Entries) -> Option<T>,
        load: impl Future<Output = Result<T, StoreError>>,
        put: impl FnOnce(&mut Entries, T),
    ) -> Result<T, StoreError> {
        let generation = self.generation.load(Ordering::Acquire);
        {
            let mut entries = self.entries.lock().expect("read cache lock");
            let fresh = entries.generation == generation && entries.since.is_some_and(|s| s.elapsed() < MAX_AGE);
            if !fresh {
                *entries = Entries { generation, since: Some(Instant::now()), ..Entries::default() };
            } else if let Some(found) = pick(&entries) {
                return Ok(found);
            }
        }
        let found = load.await?;
        let mut entries = self.entries.lock().expect("read cache lock");
        if entries.generation == generation && self.generation.load(Ordering::Acquire) == generation {
            put(&mut entries, found.clone());
        }
        Ok(found)
    }
}
