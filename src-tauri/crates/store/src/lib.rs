//! Switchboard's persistence: one SQLite file (WAL mode) opened with its
//! migrations applied, and one query module per table.
//!
//! **Invariant:** SQL lives here and nowhere else; callers get typed functions.

pub mod api;
mod cached;
pub mod config;
mod error;
mod json;
pub mod ledger;
pub mod providers;
pub mod queries;

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
pub use sqlx::SqlitePool;
use sqlx::{Sqlite, Transaction};

pub use cached::MAX_AGE as READ_CACHE_MAX_AGE;
pub use config::now;
pub use error::StoreError;

/// The migrations compiled into the binary; never edit one once released.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A write transaction (see [`Store::write_tx`]); used as the connection it holds.
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    cache: std::sync::Arc<cached::ReadCache>,
    /// The read cache's generation when the transaction began.
    generation: u64,
}

impl WriteTx {
    /// Commits, and once the change is visible to every reader makes sure
    /// no read cached while it was being committed is used again.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, cache, generation } = self;
        tx.commit().await?;
        cache.settled(generation);
        Ok(())
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// The open database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    ledger: ledger::LedgerWriter,
    /// The configuration requests read, in memory (see `cached.rs`).
    cache: std::sync::Arc<cached::ReadCache>,
}

impl Store {
    /// Opens (creating if needed) the SQLite file at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Open { path: path.display().to_string(), reason: e.to_string() })?;
        }
        // Created readable by the user only; SQLite gives its -wal and -shm files the same mode.
        if !path.exists() {
            switchboard_files::private_file_options()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| StoreError::Open { path: path.display().to_string(), reason: e.to_string() })?;
        }
        // A file name, not a URL: `?`, `#` and `%` in a path are just characters.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // 16 MiB of page cache per connection (SQLite's default is 2 MiB): a large
            // ledger's indexes stay in memory while rows are added and summed.
            .pragma("cache_size", "-16384")
            // Statement journals and sorts in memory: no temporary file per ledger batch.
            .pragma("temp_store", "memory")
            .busy_timeout(Duration::from_secs(5));
        let cache = std::sync::Arc::new(cached::ReadCache::default());
        let watcher = cache.clone();
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_connect(move |conn, _| {
                let watcher = watcher.clone();
                Box::pin(async move { watcher.watch(conn).await })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open { path: path.display().to_string(), reason: e.to_string() })?;
        MIGRATOR.run(&pool).await?;
        let ledger = ledger::LedgerWriter::start(pool.clone());
        Ok(Self { pool, ledger, cache })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Appends a ledger row through the group-committing writer and returns
    /// it once committed (see `ledger/writer.rs`).
    pub async fn record(
        &self,
        rec: &switchboard_core::NewRequestRecord,
    ) -> Result<switchboard_core::RequestRecord, StoreError> {
        self.ledger.insert(rec).await
    }

    /// Appends a ledger row and returns it without waiting for its commit
    /// (see the loss window in `ledger/writer.rs`); [`Self::close`] and
    /// [`Self::flush_ledger`] wait for every queued row.
    pub async fn record_queued(
        &self,
        rec: &switchboard_core::NewRequestRecord,
    ) -> Result<switchboard_core::RequestRecord, StoreError> {
        self.ledger.insert_queued(rec).await
    }

    /// Waits until every ledger row sent so far has committed.
    pub async fn flush_ledger(&self) {
        self.ledger.flush().await;
    }

    /// The pool to read the ledger from, once every row sent so far (queued
    /// ones included) has committed: whoever reads the ledger in this process
    /// sees every request answered before the read.
    pub async fn ledger_reader(&self) -> &SqlitePool {
        self.ledger.flush().await;
        &self.pool
    }

    /// SQLite's own check of the whole file: `Ok` or what it found wrong.
    pub async fn integrity_check(&self) -> Result<(), StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&self.pool).await?;
        if rows.len() == 1 && rows[0] == "ok" {
            Ok(())
        } else {
            Err(StoreError::Open {
                path: "the database".into(),
                reason: format!("integrity check: {}", rows.join("; ")),
            })
        }
    }

    /// Writes a ledger row and the vision description made from it in one transaction.
    pub async fn record_description(
        &self,
        record: &switchboard_core::NewRequestRecord,
        describe: impl FnOnce(&switchboard_core::RequestRecord) -> queries::vision::VisionDescription,
    ) -> Result<(switchboard_core::RequestRecord, queries::vision::VisionDescription), StoreError> {
        let mut tx = self.write_tx().await?;
        let row = queries::requests::insert(&mut *tx, record).await?;
        let description = describe(&row);
        queries::vision::insert(&mut *tx, &description).await?;
        tx.commit().await?;
        Ok((row, description))
    }

    /// A transaction that takes the write lock at once (`BEGIN IMMEDIATE`).
    /// A deferred transaction that reads and then writes fails with "database
    /// is locked" when another writer committed in between, whatever the busy
    /// time-out; one that starts as a writer waits its turn instead.
    pub async fn write_tx(&self) -> Result<WriteTx, StoreError> {
        let generation = self.cache.generation();
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, cache: self.cache.clone(), generation })
    }

    pub async fn close(&self) {
        self.ledger.flush().await;
        self.pool.close().await;
    }
}
