//! The `use_cases` table.

use sqlx::{Row, SqliteExecutor};
use switchboard_core::{SamplingParams, UseCase, UseCaseConfig};

use crate::json::{from_opt_text, from_text, to_text};
use crate::StoreError;

const COLUMNS: &str = "id, name, description, builtin, vision, enabled, model, defaults_json, custom_params_json,
                       use_custom_params, system_prompt, json_schema, fallbacks_json, prefer_cloud, cache_ttl_s, cache_random, monthly_budget_usd, keep_text_days, updated_at, updated_by";

/// Adds a use case at the end of the list.
pub async fn insert<'e>(db: impl SqliteExecutor<'e>, uc: &UseCase) -> Result<(), StoreError> {
    write(db, "INSERT", uc).await.map(|_| ())
}

/// Adds a built-in unless a row with its id exists (admins' edits stay).
pub async fn insert_if_missing<'e>(db: impl SqliteExecutor<'e>, uc: &UseCase) -> Result<bool, StoreError> {
    write(db, "INSERT OR IGNORE", uc).await.map(|rows| rows == 1)
}

async fn write<'e>(db: impl SqliteExecutor<'e>, verb: &str, uc: &UseCase) -> Result<u64, StoreError> {
    let done = sqlx::query(&format!(
        "{verb} INTO use_cases (id, name, description, builtin, vision, enabled, model, defaults_json, custom_params_json,
                                use_custom_params, system_prompt, json_schema, fallbacks_json, prefer_cloud,
                                cache_ttl_s, cache_random, monthly_budget_usd, keep_text_days, updated_at, updated_by, position)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(position), -1) + 1 FROM use_cases))"
    ))
    .bind(&uc.id)
    .bind(&uc.name)
    .bind(&uc.description)
    .bind(uc.builtin)
    .bind(uc.vision)
    .bind(uc.enabled)
    .bind(&uc.model)
    .bind(to_text(&uc.defaults))
    .bind(uc.custom_params.as_ref().map(to_text))
    .bind(uc.use_custom_params)
    .bind(&uc.system_prompt)
    .bind(&uc.json_schema)
    .bind(to_text(&uc.fallbacks))
    .bind(uc.prefer_cloud)
    .bind(uc.cache_ttl_s.map(i64::from))
    .bind(uc.cache_random)
    .bind(uc.monthly_budget_usd)
    .bind(uc.keep_text_days.map(i64::from))
    .bind(&uc.updated_at)
    .bind(&uc.updated_by)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

pub async fn list<'e>(db: impl SqliteExecutor<'e>) -> Result<Vec<UseCase>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM use_cases ORDER BY position, id")).fetch_all(db).await?;
    rows.iter().map(from_row).collect()
}

pub async fn get<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<Option<UseCase>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM use_cases WHERE id = ?")).bind(id).fetch_optional(db).await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes the editable fields of one use case.
pub async fn update_config<'e>(
    db: impl SqliteExecutor<'e>,
    id: &str,
    cfg: &UseCaseConfig,
    at: &str,
    by: &str,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE use_cases SET name = ?, enabled = ?, model = ?, use_custom_params = ?, custom_params_json = ?,
                              system_prompt = ?, json_schema = ?, fallbacks_json = ?, prefer_cloud = ?,
                              cache_ttl_s = ?, cache_random = ?, monthly_budget_usd = ?, keep_text_days = ?,
                              updated_at = ?, updated_by = ?
         WHERE id = ?",
    )
    .bind(cfg.name.trim())
    .bind(cfg.enabled)
    .bind(&cfg.model)
    .bind(cfg.use_custom_params)
    .bind(cfg.custom_params.as_ref().map(to_text))
    .bind(&cfg.system_prompt)
    .bind(&cfg.json_schema)
    .bind(to_text(&cfg.fallbacks))
    .bind(cfg.prefer_cloud)
    .bind(cfg.cache_ttl_s.map(i64::from))
    .bind(cfg.cache_random)
    .bind(cfg.monthly_budget_usd)
    .bind(cfg.keep_text_days.map(i64::from))
    .bind(at)
    .bind(by)
    .bind(id)
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("no use case '{id}'")));
    }
    Ok(())
}

pub async fn delete<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM use_cases WHERE id = ?").bind(id).execute(db).await?;
    Ok(())
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<UseCase, StoreError> {
    let defaults: String = row.try_get("defaults_json")?;
    let fallbacks: String = row.try_get("fallbacks_json")?;
    Ok(UseCase {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        builtin: row.try_get("builtin")?,
        vision: row.try_get("vision")?,
        enabled: row.try_get("enabled")?,
        model: row.try_get("model")?,
        defaults: from_text::<SamplingParams>(&defaults, "defaults_json")?,
        custom_params: from_opt_text(row.try_get("custom_params_json")?, "custom_params_json")?,
        use_custom_params: row.try_get("use_custom_params")?,
        system_prompt: row.try_get("system_prompt")?,
        json_schema: row.try_get("json_schema")?,
        fallbacks: from_text(&fallbacks, "fallbacks_json")?,
        prefer_cloud: row.try_get("prefer_cloud")?,
        cache_ttl_s: row.try_get::<Option<i64>, _>("cache_ttl_s")?.map(|t| t.clamp(1, i64::from(u32::MAX)) as u32),
        cache_random: row.try_get("cache_random")?,
        monthly_budget_usd: row.try_get("monthly_budget_usd")?,
        keep_text_days: row
            .try_get::<Option<i64>, _>("keep_text_days")?
            .map(|d| d.clamp(1, i64::from(u32::MAX)) as u32),
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}
