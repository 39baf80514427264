//! The ledger's writer: rows from every caller are committed together (group
//! commit). A request's row is sent here and its caller waits until the
//! transaction holding it has committed, so an acknowledged row is never
//! lost; while one transaction commits, the rows that arrive meanwhile wait
//! and go in the next one, many rows to a multi-row INSERT. A busy gateway
//! then pays for one commit per batch instead of one per request.

use sqlx::SqlitePool;
use switchboard_core::{NewRequestRecord, RequestRecord};
use tokio::sync::{mpsc, oneshot};

use crate::queries::requests;
use crate::StoreError;

/// The most rows one transaction takes.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<(), String>>;

enum Job {
    Row(Box<RequestRecord>, Reply),
    /// Answered once every row sent before it has committed.
    Flush(oneshot::Sender<()>),
}

/// A handle on the writer task; cheap to clone.
#[derive(Clone, Debug)]
pub struct LedgerWriter {
    tx: mpsc::UnboundedSender<Job>,
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
        tokio::spawn(run(pool, rx));
        Self { tx }
    }

    /// Appends a row, stamped now with a fresh time-ordered id, and returns
    /// it once it has committed.
    pub async fn insert(&self, rec: &NewRequestRecord) -> Result<RequestRecord, StoreError> {
        let row = RequestRecord { id: uuid::Uuid::now_v7().to_string(), created_at: crate::now(), record: rec.clone() };
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Job::Row(Box::new(row.clone()), reply))
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

async fn run(pool: SqlitePool, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut rows: Vec<(Box<RequestRecord>, Reply)> = Vec::new();
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
        if !rows.is_empty() {
            let batch: Vec<&RequestRecord> = rows.iter().map(|(r, _)| r.as_ref()).collect();
            match write(&pool, &batch).await {
                Ok(()) => {
                    for (_, reply) in rows.drain(..) {
                        let _ = reply.send(Ok(()));
                    }
                }
                // One bad row must not take its batch with it: each goes alone.
                Err(_) => {
                    for (row, reply) in rows.drain(..) {
                        let result = write(&pool, &[&row]).await.map_err(|e| e.to_string());
                        if let Err(e) = &result {
                            tracing::error!(error = %e, "could not write a ledger row");
                        }
                        let _ = reply.send(result);
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
