//! The `vision_descriptions` table: the Vision page's history.

use sqlx::{Row, SqliteExecutor};

use crate::StoreError;

/// One description of one image.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
pub struct VisionDescription {
    pub id: String,
    pub created_at: String,
    pub use_case: String,
    /// `provider/model`.
    pub model: String,
    pub image_name: String,
    pub image_path: String,
    pub image_sha256: String,
    pub width: u32,
    pub height: u32,
    pub prompt: String,
    pub text: String,
    /// `ok`, `error` or `cancelled`.
    pub status: String,
    /// The request's ledger row.
    pub ledger_id: String,
}

pub async fn insert<'e>(db: impl SqliteExecutor<'e>, d: &VisionDescription) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO vision_descriptions (id, created_at, use_case, model, image_name, image_path, image_sha256,
                                          width, height, prompt, text, status, ledger_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&d.id)
    .bind(&d.created_at)
    .bind(&d.use_case)
    .bind(&d.model)
    .bind(&d.image_name)
    .bind(&d.image_path)
    .bind(&d.image_sha256)
    .bind(i64::from(d.width))
    .bind(i64::from(d.height))
    .bind(&d.prompt)
    .bind(&d.text)
    .bind(&d.status)
    .bind(&d.ledger_id)
    .execute(db)
    .await?;
    Ok(())
}

/// The most recent `limit` descriptions, newest first.
pub async fn recent<'e>(db: impl SqliteExecutor<'e>, limit: u32) -> Result<Vec<VisionDescription>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, created_at, use_case, model, image_name, image_path, image_sha256, width, height, prompt, text,
                status, ledger_id
         FROM vision_descriptions ORDER BY created_at DESC, rowid DESC LIMIT ?",
    )
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            let dim = |name: &str| -> Result<u32, StoreError> {
                let v: i64 = r.try_get(name)?;
                u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{name} = {v}")))
            };
            Ok(VisionDescription {
                id: r.try_get("id")?,
                created_at: r.try_get("created_at")?,
                use_case: r.try_get("use_case")?,
                model: r.try_get("model")?,
                image_name: r.try_get("image_name")?,
                image_path: r.try_get("image_path")?,
                image_sha256: r.try_get("image_sha256")?,
                width: dim("width")?,
                height: dim("height")?,
                prompt: r.try_get("prompt")?,
                text: r.try_get("text")?,
                status: r.try_get("status")?,
                ledger_id: r.try_get("ledger_id")?,
            })
        })
        .collect()
}
