//! Reading the audit log.

use switchboard_core::{AppError, AuditEntry, AuditFilter};
use switchboard_store::queries::audit;

use crate::state::AppState;

pub async fn list(state: &AppState, filter: AuditFilter) -> Result<Vec<AuditEntry>, AppError> {
    Ok(audit::list(state.store().pool(), &filter).await?)
}
