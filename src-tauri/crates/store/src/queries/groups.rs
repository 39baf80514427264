//! The `provider_groups` table.

use sqlx::{Row, SqliteExecutor};
use switchboard_core::{BalanceStrategy, ProviderGroup};

use crate::json::{from_text, to_text};
use crate::StoreError;

pub async fn list<'e>(db: impl SqliteExecutor<'e>) -> Result<Vec<ProviderGroup>, StoreError> {
    let rows = sqlx::query("SELECT id, name, members_json, strategy FROM provider_groups ORDER BY position, id")
        .fetch_all(db)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<Option<ProviderGroup>, StoreError> {
    let row = sqlx::query("SELECT id, name, members_json, strategy FROM provider_groups WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn insert<'e>(db: impl SqliteExecutor<'e>, g: &ProviderGroup, at: &str, by: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO provider_groups (id, name, members_json, strategy, updated_at, updated_by, position)
         VALUES (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(position), -1) + 1 FROM provider_groups))",
    )
    .bind(&g.id)
    .bind(g.name.trim())
    .bind(to_text(&g.members))
    .bind(g.strategy.as_str())
    .bind(at)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM provider_groups WHERE id = ?").bind(id).execute(db).await?;
    Ok(())
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ProviderGroup, StoreError> {
    let strategy: String = row.try_get("strategy")?;
    let members: String = row.try_get("members_json")?;
    Ok(ProviderGroup {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        members: from_text(&members, "members_json")?,
        strategy: BalanceStrategy::parse(&strategy)
            .ok_or_else(|| StoreError::Corrupt(format!("group strategy '{strategy}'")))?,
    })
}
