//! The `comparison_reports` table: local-versus-cloud comparisons, saved whole.

use sqlx::{Row, SqliteExecutor};
use switchboard_core::{ComparisonListing, ComparisonReport};

use crate::StoreError;

pub async fn insert<'e>(db: impl SqliteExecutor<'e>, report: &ComparisonReport) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO comparison_reports (id, created_at, name, report_json) VALUES (?, ?, ?, ?)")
        .bind(&report.id)
        .bind(&report.created_at)
        .bind(&report.name)
        .bind(crate::json::to_text(report))
        .execute(db)
        .await?;
    Ok(())
}

pub async fn get<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<Option<ComparisonReport>, StoreError> {
    let row =
        sqlx::query("SELECT report_json FROM comparison_reports WHERE id = ?").bind(id).fetch_optional(db).await?;
    row.map(|r| crate::json::from_text(&r.try_get::<String, _>("report_json")?, "report_json")).transpose()
}

/// Newest first.
pub async fn list<'e>(db: impl SqliteExecutor<'e>) -> Result<Vec<ComparisonListing>, StoreError> {
    let rows = sqlx::query("SELECT report_json FROM comparison_reports ORDER BY created_at DESC LIMIT 200")
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| {
            let report: ComparisonReport =
                crate::json::from_text(&r.try_get::<String, _>("report_json")?, "report_json")?;
            Ok(ComparisonListing {
                id: report.id,
                created_at: report.created_at,
                name: report.name,
                candidates: report.results.into_iter().map(|c| c.candidate).collect(),
                prompts: report.prompts.len() as u32,
            })
        })
        .collect()
}

pub async fn delete<'e>(db: impl SqliteExecutor<'e>, id: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query("DELETE FROM comparison_reports WHERE id = ?").bind(id).execute(db).await?.rows_affected() == 1)
}
