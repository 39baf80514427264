//! JSON request bodies, read under the admin's size limit; a body too large
//! or not JSON is refused in the API's own error format, naming what is wrong.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use switchboard_core::ErrorCode;

use crate::error::{ApiError, Dialect};
use crate::ApiState;

/// A JSON body of type `T`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<ApiState>> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<ApiState>) -> Result<Self, Self::Rejection> {
        let dialect = Dialect::of_path(req.uri().path());
        let limit = state.settings.max_body_mib as usize * 1024 * 1024;
        let too_large = || {
            ApiError::new(
                dialect,
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidInput,
                format!(
                    "the request body is larger than {} MiB (the limit set in Settings)",
                    state.settings.max_body_mib
                ),
            )
        };
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| too_large())?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request(dialect, "the request needs a JSON body"));
        }
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| ApiError::bad_request(dialect, format!("the body is not valid for this endpoint: {e}")))
    }
}
