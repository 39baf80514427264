//! Store errors.

use switchboard_core::{AppError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("stored row is invalid: {0}")]
    Corrupt(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::new(ErrorCode::StorageFailed, e.to_string())
    }
}
