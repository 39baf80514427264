//! The `providers`, `provider_keys`, `provider_models` and `secret_check` tables.

use serde::Serialize;
use sqlx::{Row, SqliteExecutor};
use switchboard_core::{ProviderKind, ProviderSettings};

use crate::StoreError;

/// The outcome of the last "Test connection".
#[derive(Debug, Clone, Default, PartialEq, Serialize, specta::Type)]
pub struct ProviderCheck {
    pub checked_at: Option<String>,
    pub ok: Option<bool>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRow {
    pub settings: ProviderSettings,
    pub check: ProviderCheck,
}

/// A sealed API key; only `mask` may leave the back end.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub id: String,
    pub provider_id: String,
    pub position: i64,
    pub mask: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// A model a provider listed.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ListedModel {
    pub provider_id: String,
    pub model: String,
    pub display_name: Option<String>,
    pub vision: Option<bool>,
    pub context_length: Option<u32>,
    pub fetched_at: String,
}

const COLUMNS: &str = "id, kind, display_name, enabled, base_url, allow_http, azure_deployments, azure_api_version,
                       monthly_budget_usd, limits_json, last_checked_at, last_ok, last_message";

pub async fn insert_if_missing<'e>(
    db: impl SqliteExecutor<'e>,
    p: &ProviderSettings,
    at: &str,
    actor: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT OR IGNORE INTO providers (id, kind, display_name, enabled, base_url, allow_http, azure_deployments,
                                          azure_api_version, monthly_budget_usd, limits_json, updated_at, updated_by,
                                          position)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(position), -1) + 1 FROM providers))",
    )
    .bind(&p.id)
    .bind(p.kind.as_str())
    .bind(&p.display_name)
    .bind(p.enabled)
    .bind(&p.base_url)
    .bind(p.allow_http)
    .bind(&p.azure_deployments)
    .bind(&p.azure_api_version)
    .bind(p.monthly_budget_usd)
    .bind(crate::json::to_text(&p.limits))
    .bind(at)
    .bind(actor)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn list<'e>(db: impl SqliteExecutor<'e>) -> Result<Vec<ProviderRow>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM providers ORDER BY position, id")).fetch_all(db).await?;
    rows.iter().map(from_row).collect()
}

pub async fn get<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<Option<ProviderRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM providers WHERE id = ?")).bind(id).fetch_optional(db).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update_settings<'e>(
    db: impl SqliteExecutor<'e>,
    p: &ProviderSettings,
    at: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE providers SET display_name = ?, enabled = ?, base_url = ?, allow_http = ?, azure_deployments = ?,
                              azure_api_version = ?, monthly_budget_usd = ?, limits_json = ?, updated_at = ?,
                              updated_by = ?
         WHERE id = ?",
    )
    .bind(&p.display_name)
    .bind(p.enabled)
    .bind(&p.base_url)
    .bind(p.allow_http)
    .bind(&p.azure_deployments)
    .bind(&p.azure_api_version)
    .bind(p.monthly_budget_usd)
    .bind(crate::json::to_text(&p.limits))
    .bind(at)
    .bind(actor)
    .bind(&p.id)
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("no provider '{}'", p.id)));
    }
    Ok(())
}

/// Deletes a provider; its keys and model list go with it (foreign keys cascade).
pub async fn delete<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM providers WHERE id = ?").bind(id).execute(db).await?;
    Ok(())
}

pub async fn set_check<'e>(db: impl SqliteExecutor<'e>, id: &str, check: &ProviderCheck) -> Result<(), StoreError> {
    sqlx::query("UPDATE providers SET last_checked_at = ?, last_ok = ?, last_message = ? WHERE id = ?")
        .bind(&check.checked_at)
        .bind(check.ok)
        .bind(&check.message)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ProviderRow, StoreError> {
    let kind: String = row.try_get("kind")?;
    let settings = ProviderSettings {
        id: row.try_get("id")?,
        kind: ProviderKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("provider kind '{kind}'")))?,
        display_name: row.try_get("display_name")?,
        enabled: row.try_get("enabled")?,
        base_url: row.try_get("base_url")?,
        allow_http: row.try_get("allow_http")?,
        azure_deployments: row.try_get("azure_deployments")?,
        azure_api_version: row.try_get("azure_api_version")?,
        monthly_budget_usd: row.try_get("monthly_budget_usd")?,
        limits: crate::json::from_text(&row.try_get::<String, _>("limits_json")?, "limits_json")?,
    };
    let check = ProviderCheck {
        checked_at: row.try_get("last_checked_at")?,
        ok: row.try_get("last_ok")?,
        message: row.try_get("last_message")?,
    };
    Ok(ProviderRow { settings, check })
}

// ---------------------------------------------------------------- keys

/// A provider's keys in the order they are tried.
pub async fn keys<'e>(db: impl SqliteExecutor<'e>, provider_id: &str) -> Result<Vec<StoredKey>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, provider_id, position, mask, nonce, ciphertext FROM provider_keys
         WHERE provider_id = ? ORDER BY position, created_at",
    )
    .bind(provider_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredKey {
                id: r.try_get("id")?,
                provider_id: r.try_get("provider_id")?,
                position: r.try_get("position")?,
                mask: r.try_get("mask")?,
                nonce: r.try_get("nonce")?,
                ciphertext: r.try_get("ciphertext")?,
            })
        })
        .collect()
}

pub async fn insert_key<'e>(db: impl SqliteExecutor<'e>, k: &StoredKey, at: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO provider_keys (id, provider_id, position, mask, nonce, ciphertext, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&k.id)
    .bind(&k.provider_id)
    .bind(k.position)
    .bind(&k.mask)
    .bind(&k.nonce)
    .bind(&k.ciphertext)
    .bind(at)
    .bind(at)
    .execute(db)
    .await?;
    Ok(())
}

/// Replaces a key's sealed value in place: one statement, so there is no
/// moment at which the provider has no key.
pub async fn replace_key<'e>(db: impl SqliteExecutor<'e>, k: &StoredKey, at: &str) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE provider_keys SET mask = ?, nonce = ?, ciphertext = ?, updated_at = ? WHERE id = ? AND provider_id = ?",
    )
    .bind(&k.mask)
    .bind(&k.nonce)
    .bind(&k.ciphertext)
    .bind(at)
    .bind(&k.id)
    .bind(&k.provider_id)
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("no key {} for provider {}", k.id, k.provider_id)));
    }
    Ok(())
}

pub async fn delete_key<'e>(db: impl SqliteExecutor<'e>, provider_id: &str, id: &str) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM provider_keys WHERE id = ? AND provider_id = ?")
        .bind(id)
        .bind(provider_id)
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("no key {id} for provider {provider_id}")));
    }
    Ok(())
}

// ---------------------------------------------------------------- models

pub async fn models<'e>(db: impl SqliteExecutor<'e>) -> Result<Vec<ListedModel>, StoreError> {
    let rows = sqlx::query(
        "SELECT provider_id, model, display_name, vision, context_length, fetched_at FROM provider_models
         ORDER BY provider_id, model",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            let ctx: Option<i64> = r.try_get("context_length")?;
            Ok(ListedModel {
                provider_id: r.try_get("provider_id")?,
                model: r.try_get("model")?,
                display_name: r.try_get("display_name")?,
                vision: r.try_get("vision")?,
                context_length: ctx.and_then(|c| u32::try_from(c).ok()),
                fetched_at: r.try_get("fetched_at")?,
            })
        })
        .collect()
}

pub async fn delete_models<'e>(db: impl SqliteExecutor<'e>, provider_id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM provider_models WHERE provider_id = ?").bind(provider_id).execute(db).await?;
    Ok(())
}

pub async fn insert_model<'e>(db: impl SqliteExecutor<'e>, m: &ListedModel) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT OR REPLACE INTO provider_models (provider_id, model, display_name, vision, context_length, fetched_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&m.provider_id)
    .bind(&m.model)
    .bind(&m.display_name)
    .bind(m.vision)
    .bind(m.context_length.map(i64::from))
    .bind(&m.fetched_at)
    .execute(db)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- master key check

pub async fn secret_check<'e>(db: impl SqliteExecutor<'e>) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
    let row = sqlx::query("SELECT nonce, ciphertext FROM secret_check WHERE id = 1").fetch_optional(db).await?;
    row.map(|r| Ok((r.try_get("nonce")?, r.try_get("ciphertext")?))).transpose()
}

pub async fn set_secret_check<'e>(
    db: impl SqliteExecutor<'e>,
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<(), StoreError> {
    sqlx::query("INSERT OR REPLACE INTO secret_check (id, nonce, ciphertext) VALUES (1, ?, ?)")
        .bind(nonce)
        .bind(ciphertext)
        .execute(db)
        .await?;
    Ok(())
}
