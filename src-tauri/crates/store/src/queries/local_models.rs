//! The `local_models` table (referenced models, projectors, load settings)
//! and `app_settings`.

use sqlx::{Row, SqliteExecutor};
use switchboard_core::ModelLoadSettings;

use crate::StoreError;

/// A library row: a model's path and what the admin set for it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalModelRow {
    pub id: String,
    pub path: String,
    pub referenced: bool,
    pub projector_path: Option<String>,
    pub load: ModelLoadSettings,
    pub added_at: String,
}

fn from_row(r: sqlx::sqlite::SqliteRow) -> Result<LocalModelRow, StoreError> {
    let u = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
    Ok(LocalModelRow {
        id: r.try_get("id")?,
        path: r.try_get("path")?,
        referenced: r.try_get("referenced")?,
        projector_path: r.try_get("projector_path")?,
        load: ModelLoadSettings {
            gpu_layers: u(r.try_get("gpu_layers")?),
            context_length: u(r.try_get("context_length")?),
            threads: u(r.try_get("threads")?),
            parallel: u(r.try_get("parallel")?),
        },
        added_at: r.try_get("added_at")?,
    })
}

const COLUMNS: &str = "id, path, referenced, projector_path, gpu_layers, context_length, threads, parallel, added_at";

pub async fn list<'e>(db: impl SqliteExecutor<'e>) -> Result<Vec<LocalModelRow>, StoreError> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM local_models ORDER BY id"))
        .fetch_all(db)
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

pub async fn get<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<Option<LocalModelRow>, StoreError> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM local_models WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .map(from_row)
        .transpose()
}

/// Inserts the row or replaces what is set for it.
pub async fn upsert<'e>(db: impl SqliteExecutor<'e>, row: &LocalModelRow, at: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO local_models (id, path, referenced, projector_path, gpu_layers, context_length, threads, parallel, added_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET path = excluded.path, referenced = excluded.referenced,
             projector_path = excluded.projector_path, gpu_layers = excluded.gpu_layers,
             context_length = excluded.context_length, threads = excluded.threads,
             parallel = excluded.parallel, updated_at = excluded.updated_at",
    )
    .bind(&row.id)
    .bind(&row.path)
    .bind(row.referenced)
    .bind(&row.projector_path)
    .bind(row.load.gpu_layers.map(i64::from))
    .bind(row.load.context_length.map(i64::from))
    .bind(row.load.threads.map(i64::from))
    .bind(row.load.parallel.map(i64::from))
    .bind(&row.added_at)
    .bind(at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query("DELETE FROM local_models WHERE id = ?").bind(id).execute(db).await?.rows_affected() > 0)
}

pub async fn setting<'e>(db: impl SqliteExecutor<'e>, key: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query("SELECT value FROM app_settings WHERE key = ?")
        .bind(key)
        .fetch_optional(db)
        .await?
        .map(|r| r.try_get("value"))
        .transpose()?)
}

pub async fn set_setting<'e>(db: impl SqliteExecutor<'e>, key: &str, value: &str, at: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO app_settings (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(at)
    .execute(db)
    .await?;
    Ok(())
}
