//! JSON request bodies, read under the admin's size limit, and path and query
//! parameters; a body too large or not JSON, or a parameter that does not
//! read, is refused in the API's own error format, naming what is wrong.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use futures_util::StreamExt;
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
        // Read chunk by chunk under the limit: a body sent without a length cannot
        // fill the memory, and a connection that breaks is not called too large.
        let mut body = req.into_body().into_data_stream();
        let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(64 * 1024));
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::bad_request(dialect, format!("the request body could not be read: {e}")))?;
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err(ApiError::bad_request(dialect, "the request needs a JSON body"));
        }
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| ApiError::bad_request(dialect, format!("the body is not valid for this endpoint: {e}")))
    }
}

/// A path parameter of type `T`.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Arc<ApiState>> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<ApiState>) -> Result<Self, Self::Rejection> {
        let dialect = Dialect::of_path(parts.uri.path());
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(e) => Err(ApiError::bad_request(dialect, e.body_text())),
        }
    }
}

/// The query string as a `T`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Arc<ApiState>> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<ApiState>) -> Result<Self, Self::Rejection> {
        let dialect = Dialect::of_path(parts.uri.path());
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(e) => Err(ApiError::bad_request(dialect, e.body_text())),
        }
    }
}
