//! The `model_prices` table: prices imported from a LiteLLM price file.

use sqlx::{Row, SqliteExecutor};
use switchboard_core::ModelPrice;

use crate::StoreError;

pub async fn get<'e>(
    db: impl SqliteExecutor<'e>,
    provider: &str,
    model: &str,
) -> Result<Option<ModelPrice>, StoreError> {
    let row = sqlx::query(
        "SELECT provider, model, input_per_mtok, output_per_mtok, cached_input_per_mtok, vision, context_length
         FROM model_prices WHERE provider = ? AND model = ?",
    )
    .bind(provider)
    .bind(model)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        let ctx: Option<i64> = r.try_get("context_length")?;
        Ok(ModelPrice {
            provider: r.try_get("provider")?,
            model: r.try_get("model")?,
            input_per_mtok: r.try_get("input_per_mtok")?,
            output_per_mtok: r.try_get("output_per_mtok")?,
            cached_input_per_mtok: r.try_get("cached_input_per_mtok")?,
            vision: r.try_get("vision")?,
            context_length: ctx.and_then(|c| u32::try_from(c).ok()),
        })
    })
    .transpose()
}

pub async fn delete_all<'e>(db: impl SqliteExecutor<'e>) -> Result<(), StoreError> {
    // `WHERE 1`: a DELETE without one is SQLite's truncate, which runs no update hook (the read cache's).
    sqlx::query("DELETE FROM model_prices WHERE 1").execute(db).await?;
    Ok(())
}

pub async fn insert<'e>(db: impl SqliteExecutor<'e>, p: &ModelPrice, source: &str, at: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT OR REPLACE INTO model_prices (provider, model, input_per_mtok, output_per_mtok, cached_input_per_mtok,
                                              vision, context_length, source, imported_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&p.provider)
    .bind(&p.model)
    .bind(p.input_per_mtok)
    .bind(p.output_per_mtok)
    .bind(p.cached_input_per_mtok)
    .bind(p.vision)
    .bind(p.context_length.map(i64::from))
    .bind(source)
    .bind(at)
    .execute(db)
    .await?;
    Ok(())
}

/// How many imported prices there are, and from which file.
pub async fn summary<'e>(db: impl SqliteExecutor<'e>) -> Result<(i64, Option<String>, Option<String>), StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n, MAX(source) AS source, MAX(imported_at) AS at FROM model_prices")
        .fetch_one(db)
        .await?;
    Ok((row.try_get("n")?, row.try_get("source")?, row.try_get("at")?))
}
