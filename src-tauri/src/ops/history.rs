//! Reading the request ledger.

use switchboard_core::{AppError, RequestRecord};
use switchboard_store::queries::requests;

use crate::state::AppState;

/// At most this many rows are listed at once.
pub const MAX_LIMIT: u32 = 1000;

pub async fn recent_requests(state: &AppState, limit: u32) -> Result<Vec<RequestRecord>, AppError> {
    Ok(requests::recent(state.store().pool(), limit.clamp(1, MAX_LIMIT)).await?)
}
