//! The `audit_log` table.

use sqlx::{QueryBuilder, Row, Sqlite, SqliteExecutor};
use switchboard_core::{AuditEntry, AuditFilter};

use crate::StoreError;

/// One change to record; `at` and `actor` are shared by a whole save.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub entity: &'static str,
    pub entity_id: String,
    pub action: &'static str,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

pub async fn insert<'e>(
    db: impl SqliteExecutor<'e>,
    at: &str,
    actor: &str,
    e: &NewAuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, entity, entity_id, action, field, old_value, new_value)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(at)
    .bind(actor)
    .bind(e.entity)
    .bind(&e.entity_id)
    .bind(e.action)
    .bind(&e.field)
    .bind(&e.old_value)
    .bind(&e.new_value)
    .execute(db)
    .await?;
    Ok(())
}

/// Newest first, narrowed by `filter`.
pub async fn list<'e>(db: impl SqliteExecutor<'e>, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT id, at, actor, entity, entity_id, action, field, old_value, new_value FROM audit_log WHERE 1 = 1",
    );
    let exact = [
        ("entity", &filter.entity),
        ("entity_id", &filter.entity_id),
        ("actor", &filter.actor),
        ("action", &filter.action),
    ];
    for (column, value) in exact {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            q.push(format!(" AND {column} = ")).push_bind(v.to_string());
        }
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        let like = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        q.push(" AND (COALESCE(field, '') LIKE ")
            .push_bind(like.clone())
            .push(" ESCAPE '\\' OR COALESCE(old_value, '') LIKE ")
            .push_bind(like.clone())
            .push(" ESCAPE '\\' OR COALESCE(new_value, '') LIKE ")
            .push_bind(like)
            .push(" ESCAPE '\\')");
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(filter.limit.clamp(1, 1000)));
    let rows = q.build().fetch_all(db).await?;
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            Ok(AuditEntry {
                id: u32::try_from(id).map_err(|_| StoreError::Corrupt(format!("audit id {id}")))?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                entity: row.try_get("entity")?,
                entity_id: row.try_get("entity_id")?,
                action: row.try_get("action")?,
                field: row.try_get("field")?,
                old_value: row.try_get("old_value")?,
                new_value: row.try_get("new_value")?,
            })
        })
        .collect()
}
