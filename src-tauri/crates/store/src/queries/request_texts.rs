//! The `request_texts` table: prompts and answers of requests whose use case
//! keeps them, each until its `delete_after`.

use sqlx::{Row, SqliteExecutor};
use switchboard_core::RequestText;

use crate::StoreError;

pub async fn insert<'e>(db: impl SqliteExecutor<'e>, request_id: &str, text: &RequestText) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO request_texts (request_id, prompt_json, response, delete_after) VALUES (?, ?, ?, ?)")
        .bind(request_id)
        .bind(crate::json::to_text(&text.prompt))
        .bind(&text.response)
        .bind(&text.delete_after)
        .execute(db)
        .await?;
    Ok(())
}

/// The text of one request, unless it was not kept or has expired.
pub async fn get<'e>(
    db: impl SqliteExecutor<'e>,
    request_id: &str,
    now: &str,
) -> Result<Option<RequestText>, StoreError> {
    let row = sqlx::query(
        "SELECT prompt_json, response, delete_after FROM request_texts WHERE request_id = ? AND delete_after > ?",
    )
    .bind(request_id)
    .bind(now)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        let prompt: String = r.try_get("prompt_json")?;
        Ok(RequestText {
            prompt: crate::json::from_text(&prompt, "prompt_json")?,
            response: r.try_get("response")?,
            delete_after: r.try_get("delete_after")?,
        })
    })
    .transpose()
}

/// Deletes the texts whose time is up (the ledger rows stay); returns how many.
pub async fn delete_expired<'e>(db: impl SqliteExecutor<'e>, now: &str) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM request_texts WHERE delete_after <= ?").bind(now).execute(db).await?.rows_affected())
}
