//! Fetch errors, each naming what failed and what to do about it.

use switchboard_core::{AppError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot reach {url}: {reason}; check the network connection")]
    Network { url: String, reason: String },
    #[error("{url} answered HTTP {status}")]
    Http { url: String, status: u16 },
    #[error("the package index has no file for {package} {version}")]
    NotOnIndex { package: String, version: String },
    #[error("{what}: expected {expected} bytes, got {actual}; the download was cut short, ran longer, or the source changed")]
    Size { what: String, expected: u64, actual: u64 },
    #[error("{what}: sha256 is {actual}, expected {expected}; the file is corrupt or not the one published")]
    Checksum { what: String, expected: String, actual: String },
    #[error("{0} is not a valid file name for a model")]
    BadFileName(String),
    #[error("the archive {archive} has no member {member}")]
    MissingMember { archive: String, member: String },
    #[error("the archive {archive} cannot be read: {reason}")]
    BadArchive { archive: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("the download was cancelled")]
    Cancelled,
    #[error("{0}")]
    BadInput(String),
}

impl FetchError {
    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        FetchError::Io { path: path.display().to_string(), reason: e.to_string() }
    }
}

impl From<FetchError> for AppError {
    fn from(e: FetchError) -> Self {
        let code = match e {
            FetchError::Cancelled => ErrorCode::Cancelled,
            FetchError::BadInput(_) | FetchError::BadFileName(_) => ErrorCode::InvalidInput,
            _ => ErrorCode::DownloadFailed,
        };
        AppError::new(code, e.to_string())
    }
}
