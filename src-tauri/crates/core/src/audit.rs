//! Audit log records: who changed what configuration, when, from what to what.
//!
//! **Invariant:** values recorded here never contain secrets; callers record
//! configuration fields only.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct AuditEntry {
    pub id: u32,
    /// RFC 3339 UTC.
    pub at: String,
    /// The OS user.
    pub actor: String,
    /// What kind of thing changed, e.g. `use_case`.
    pub entity: String,
    pub entity_id: String,
    /// `create`, `update`, `delete` or `import`.
    pub action: String,
    /// The field that changed (`temperature`, `model`, ...); none for create/delete.
    pub field: Option<String>,
    /// JSON text of the old and new value.
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// Narrows the audit listing; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Free text matched against field, old and new values.
    pub text: Option<String>,
    pub limit: u32,
}
