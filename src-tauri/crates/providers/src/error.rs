//! What went wrong at a provider, classified so the gateway can decide:
//! retry the same provider, try the next one, or stop and tell the admin.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 401/403: the key is wrong, expired or lacks access.
    Auth,
    /// 429: too many requests or quota; may carry Retry-After.
    RateLimited,
    /// The provider did not answer in time (or answered 408/504).
    Timeout,
    /// 5xx: the provider failed.
    Server,
    /// The provider cannot be reached (refused, DNS, TLS) or is overloaded.
    Unavailable,
    /// The prompt does not fit the model's context window.
    ContextTooLong,
    /// 400/404/422: the request or the model name is wrong.
    InvalidRequest,
    /// The answer did not follow the provider's documented format.
    BadResponse,
    /// A stream ended before the provider said it was complete.
    StreamCut,
}

/// The gateway's decision for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorAction {
    /// Transient: the same provider may succeed after a pause.
    RetrySame,
    /// This provider cannot serve the request; another may.
    TryNext,
    /// Retrying anywhere repeats the mistake: show the admin what to fix.
    FailFast,
}

impl ErrorKind {
    pub fn action(self) -> ErrorAction {
        match self {
            Self::Timeout | Self::Server | Self::RateLimited | Self::StreamCut => ErrorAction::RetrySame,
            Self::Unavailable | Self::ContextTooLong | Self::BadResponse => ErrorAction::TryNext,
            Self::Auth | Self::InvalidRequest => ErrorAction::FailFast,
        }
    }

    /// Whether another key of the same provider may succeed (key rotation).
    pub fn rotates_key(self) -> bool {
        matches!(self, Self::Auth | Self::RateLimited)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// How long the provider asked us to wait (Retry-After).
    pub retry_after: Option<Duration>,
    /// What happened, in words an admin can act on; never contains a key.
    pub message: String,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, status: None, retry_after: None, message: message.into() }
    }

    pub fn action(&self) -> ErrorAction {
        self.kind.action()
    }

    pub(crate) fn bad_response(what: impl std::fmt::Display) -> Self {
        Self::new(ErrorKind::BadResponse, format!("the provider's answer could not be read: {what}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_routing_rules() {
        use ErrorAction::*;
        for (kind, action) in [
            (ErrorKind::Timeout, RetrySame),
            (ErrorKind::Server, RetrySame),
            (ErrorKind::RateLimited, RetrySame),
            (ErrorKind::Unavailable, TryNext),
            (ErrorKind::ContextTooLong, TryNext),
            (ErrorKind::Auth, FailFast),
            (ErrorKind::InvalidRequest, FailFast),
        ] {
            assert_eq!(kind.action(), action, "{kind:?}");
        }
        assert!(ErrorKind::Auth.rotates_key() && ErrorKind::RateLimited.rotates_key());
        assert!(!ErrorKind::Server.rotates_key());
    }
}
