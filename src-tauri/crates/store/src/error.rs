//! Store errors.

use switchboard_core::{AppError, ErrorCode, FieldError};

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
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("{0}")]
    Conflict(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(f) => f.into(),
            StoreError::NotFound(m) => AppError::new(ErrorCode::NotFound, m),
            StoreError::Conflict(m) => AppError::new(ErrorCode::InvalidInput, m),
            other => AppError::new(ErrorCode::StorageFailed, other.to_string()),
        }
    }
}
