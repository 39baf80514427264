//! The `routing_events` table: what routing did that an admin should hear about.

use sqlx::{Row, SqliteExecutor};
use switchboard_core::{RoutingEvent, RoutingEventKind};

use crate::StoreError;

/// Events kept; older ones are deleted as new ones arrive.
pub const KEEP: i64 = 10_000;

/// Stores `event` (its `id` is ignored) and returns it with its id.
pub async fn insert<'e>(db: impl SqliteExecutor<'e>, event: &RoutingEvent) -> Result<RoutingEvent, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO routing_events (at, kind, provider, use_case, ledger_id, message) VALUES (?, ?, ?, ?, ?, ?)
         RETURNING id",
    )
    .bind(&event.at)
    .bind(event.kind.as_str())
    .bind(&event.provider)
    .bind(&event.use_case)
    .bind(&event.ledger_id)
    .bind(&event.message)
    .fetch_one(db)
    .await?;
    Ok(RoutingEvent { id: event_id(id)?, ..event.clone() })
}

fn event_id(id: i64) -> Result<u32, StoreError> {
    u32::try_from(id).map_err(|_| StoreError::Corrupt(format!("routing event id {id}")))
}

/// Deletes all but the newest [`KEEP`] events.
pub async fn prune<'e>(db: impl SqliteExecutor<'e>) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM routing_events WHERE id <= (SELECT MAX(id) FROM routing_events) - ?")
        .bind(KEEP)
        .execute(db)
        .await?;
    Ok(())
}

/// The newest `limit` events, newest first, optionally of one provider.
pub async fn recent<'e>(
    db: impl SqliteExecutor<'e>,
    provider: Option<&str>,
    limit: u32,
) -> Result<Vec<RoutingEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, at, kind, provider, use_case, ledger_id, message FROM routing_events
         WHERE ?1 IS NULL OR provider = ?1 ORDER BY id DESC LIMIT ?2",
    )
    .bind(provider)
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(RoutingEvent {
                id: event_id(r.try_get("id")?)?,
                at: r.try_get("at")?,
                kind: RoutingEventKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("routing event kind '{kind}'")))?,
                provider: r.try_get("provider")?,
                use_case: r.try_get("use_case")?,
                ledger_id: r.try_get("ledger_id")?,
                message: r.try_get("message")?,
            })
        })
        .collect()
}
