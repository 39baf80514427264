//! The ledger's writer: rows from every caller are committed together (group
//! commit). While one transaction commits, the rows that arrive meanwhile
//! wait and go in the next one, many rows to a multi-row INSERT. A busy
//! gateway then pays for one commit per batch instead of one per request.
//!
//! Two ways in:
//! - [`LedgerWriter::insert`] returns once the transaction holding the row
//!   has committed: an acknowledged row is never lost.
//! - [`LedgerWriter::insert_queued`] returns at once with the row's id; the
//!   row commits with the next batch, which waits [`GATHER`] for more
//!   queued rows to share its commit (at once when anyone waits for a commit).
//!   **Loss window:** if the process dies (killed, power cut) the rows queued
//!   and not yet committed are lost: at most [`MAX_QUEUED`] rows (past that,
//!   callers wait for the commit as with `insert`), in practice the requests
//!   answered in the last few milliseconds (`GATHER` plus one commit). A
//!   graceful stop ([`LedgerWriter::flush`], which `Store::close` runs) loses nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sqlx::SqlitePool;
use switchboard_core::{NewRequestRecord, RequestRecord};
use tokio::sync::{mpsc, oneshot};

use crate::queries::requests;
use crate::StoreError;

/// The most rows one transaction takes.
const MAX_BATCH: usize = 512;
/// How long queued rows wait for others to share their commit (none when
/// someone waits for a commit).
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);
/// The most queued rows waiting for their commit; past this, queued inserts wait too.
pub const MAX_QUEUED: usize = 4096;

type Reply = oneshot::Sender<Result<(), String>>;

enum Job {
    /// A row, and whom to tell once it committed (no one for a queued row).
    Row(Box<RequestRecord>, Option<Reply>),
    /// Answered once every row sent before it has committed.
    Flush(oneshot::Sender<()>),
}

/// A handle on the writer task; cheap to clone.
#[derive(Clone, Debug)]
pub struct LedgerWriter {
    tx: mpsc::UnboundedSender<Job>,
    /// Queued rows not yet committed.
    queued: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl LedgerWriter {
    /// Starts the writer task on the current tokio runtime.
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        tokio::spawn(run(pool, rx, queued.clone()));
        Self { tx, queued }
    }

    /// A row for `rec`, stamped now with a fresh time-ordered id.
    fn stamp(rec: &NewRequestRecord) -> RequestRecord {
        RequestRecord { id: uuid::Uuid::now_v7().to_string(), created_at: crate::now(), record: rec.clone() }
    }

    /// Appends a row, stamped now with a fresh time-ordered id, and returns
    /// it once it has committed.
    pub async fn insert(&self, rec: &NewRequestRecord) -> Result<RequestRecord, StoreError> {
        self.insert_row(Self::stamp(rec)).await
    }

    /// Appends a row and returns it at once; it commits with the next batch
    /// (see the loss window above). With [`MAX_QUEUED`] rows already waiting,
    /// waits for this one's commit instead.
    pub async fn insert_queued(&self, rec: &NewRequestRecord) -> Result<RequestRecord, StoreError> {
        let row = Self::stamp(rec);
        if self.queued.fetch_add(1, Ordering::AcqRel) >= MAX_QUEUED {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return self.insert_row(row).await;
        }
        if self.tx.send(Job::Row(Box::new(row.clone()), None)).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(StoreError::Corrupt("the ledger writer has stopped".into()));
        }
        Ok(row)
    }

    async fn insert_row(&self, row: RequestRecord) -> Result<RequestRecord, StoreError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Job::Row(Box::new(row.clone()), Some(reply)))
            .map_err(|_| StoreError::Corrupt("the ledger writer has stopped".into()))?;
        match done.await {
            Ok(Ok(())) => Ok(row),
            Ok(Err(e)) => Err(StoreError::Corrupt(format!("the ledger row was not written: {e}"))),
            Err(_) => Err(StoreError::Corrupt("the ledger writer stopped before the row was written".into())),
        }
    }

    /// Waits until every row sent so far has committed.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Job::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(pool: SqlitePool, mut rx: mpsc::UnboundedReceiver<Job>, queued: Arc<AtomicUsize>) {
    let mut rows: Vec<(Box<RequestRecord>, Option<Reply>)> = Vec::new();
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        // Whatever else is already waiting goes in the same transaction.
        while let Some(job) = next.take().or_else(|| if rows.len() < MAX_BATCH { rx.try_recv().ok() } else { None }) {
            match job {
                Job::Row(row, reply) => rows.push((row, reply)),
                Job::Flush(done) => flushes.push(done),
            }
        }
        // Only queued rows, which nobody waits for: the ones that follow
        // within a few milliseconds join them, one commit for all.
        let gather_until = tokio::time::Instant::now() + GATHER;
        while rows.len() < MAX_BATCH && flushes.is_empty() && rows.iter().all(|(_, reply)| reply.is_none()) {
            match tokio::time::timeout_at(gather_until, rx.recv()).await {
                Ok(Some(Job::Row(row, reply))) => rows.push((row, reply)),
                Ok(Some(Job::Flush(done))) => flushes.push(done),
                // Time is up, or every handle is gone: write what there is.
                Ok(None) | Err(_) => break,
            }
        }
        if !rows.is_empty() {
            let batch: Vec<&RequestRecord> = rows.iter().map(|(r, _)| r.as_ref()).collect();
            let done = |reply: Option<Reply>, result: Result<(), String>| match reply {
                Some(reply) => {
                    let _ = reply.send(result);
                }
                None => {
                    queued.fetch_sub(1, Ordering::AcqRel);
                }
            };
            match write(&pool, &batch).await {
                Ok(()) => {
                    for (_, reply) in rows.drain(..) {
                        done(reply, Ok(()));
                    }
                }
                // One bad row must not take its batch with it: each goes alone.
                Err(_) => {
                    for (row, reply) in rows.drain(..) {
                        let result = write(&pool, &[&row]).await.map_err(|e| e.to_string());
                        if let Err(e) = &result {
                            tracing::error!(error = %e, ledger_id = %row.id, "could not write a ledger row");
                        }
                        done(reply, result);
                    }
                }
            }
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn write(pool: &SqlitePool, batch: &[&RequestRecord]) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for chunk in batch.chunks(requests::MAX_ROWS_PER_INSERT) {
        requests::insert_many(&mut *tx, chunk).await?;
    }
    tx.commit().await?;
    Ok(())
}
