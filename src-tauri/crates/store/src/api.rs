//! The local HTTP API's settings (in `app_settings`) and tokens
//! (`api_tokens`: a SHA-256 of each token, never the token). Every change is
//! written with its audit rows in one transaction.

use sqlx::{Row, SqliteExecutor};
use switchboard_core::{ApiServerSettings, ApiToken, TokenScope};

use crate::config::now;
use crate::queries::audit::{self, NewAuditEntry};
use crate::queries::local_models;
use crate::{Store, StoreError};

/// Where [`ApiServerSettings`] live in `app_settings`.
const API_KEY: &str = "api_server";

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("settings serialise")
}

impl Store {
    /// The API's settings (defaults until an admin saves some).
    pub async fn api_settings(&self) -> Result<ApiServerSettings, StoreError> {
        match local_models::setting(self.pool(), API_KEY).await? {
            Some(text) => crate::json::from_text(&text, "app_settings.api_server"),
            None => Ok(ApiServerSettings::default()),
        }
    }

    /// Saves the API's settings (validated) with an audit row per changed field.
    pub async fn save_api_settings(&self, actor: &str, new: &ApiServerSettings) -> Result<(), StoreError> {
        new.validate().map_err(|e| {
            StoreError::Invalid(switchboard_core::FieldError { field: e.field.unwrap_or_default(), message: e.message })
        })?;
        let mut tx = self.write_tx().await?;
        let old = match local_models::setting(&mut *tx, API_KEY).await? {
            Some(text) => crate::json::from_text(&text, "app_settings.api_server")?,
            None => ApiServerSettings::default(),
        };
        let (old_v, new_v) = (serde_json::to_value(&old).expect("json"), serde_json::to_value(new).expect("json"));
        let at = now();
        for (field, value) in new_v.as_object().expect("an object") {
            let before = &old_v[field.as_str()];
            if before != value {
                let entry = NewAuditEntry {
                    entity: "settings",
                    entity_id: API_KEY.to_string(),
                    action: "update",
                    field: Some(field.clone()),
                    old_value: Some(before.to_string()),
                    new_value: Some(value.to_string()),
                };
                audit::insert(&mut *tx, &at, actor, &entry).await?;
            }
        }
        local_models::set_setting(&mut *tx, API_KEY, &json(new), &at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a new token's hash; the name must be free (revoked tokens keep theirs).
    pub async fn create_api_token(
        &self,
        actor: &str,
        name: &str,
        scope: TokenScope,
        hash: &str,
        prefix: &str,
    ) -> Result<ApiToken, StoreError> {
        let mut tx = self.write_tx().await?;
        if sqlx::query("SELECT 1 FROM api_tokens WHERE name = ?").bind(name).fetch_optional(&mut *tx).await?.is_some() {
            return Err(StoreError::Conflict(format!("a token named '{name}' exists; pick another name")));
        }
        let token = ApiToken {
            id: uuid::Uuid::now_v7().to_string(),
            name: name.to_string(),
            scope,
            prefix: prefix.to_string(),
            created_at: now(),
            created_by: actor.to_string(),
            last_used_at: None,
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_tokens (id, name, scope, hash, prefix, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.id)
        .bind(&token.name)
        .bind(scope.as_str())
        .bind(hash)
        .bind(&token.prefix)
        .bind(&token.created_at)
        .bind(actor)
        .execute(&mut *tx)
        .await?;
        let entry = NewAuditEntry {
            entity: "api_token",
            entity_id: token.name.clone(),
            action: "create",
            field: None,
            old_value: None,
            new_value: Some(format!("{{\"scope\":\"{}\",\"prefix\":\"{}\"}}", scope.as_str(), token.prefix)),
        };
        audit::insert(&mut *tx, &token.created_at, actor, &entry).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Revokes the token named `name` (or with that id); revoking twice is refused.
    pub async fn revoke_api_token(&self, actor: &str, name: &str) -> Result<ApiToken, StoreError> {
        let mut tx = self.write_tx().await?;
        let token = token_where(&mut *tx, "name = ? OR id = ?", name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no token named '{name}'")))?;
        if token.revoked_at.is_some() {
            return Err(StoreError::Conflict(format!("the token '{}' is already revoked", token.name)));
        }
        let at = now();
        sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ?")
            .bind(&at)
            .bind(&token.id)
            .execute(&mut *tx)
            .await?;
        let entry = NewAuditEntry {
            entity: "api_token",
            entity_id: token.name.clone(),
            action: "delete",
            field: None,
            old_value: None,
            new_value: None,
        };
        audit::insert(&mut *tx, &at, actor, &entry).await?;
        tx.commit().await?;
        Ok(ApiToken { revoked_at: Some(at), ..token })
    }

    /// Every token, newest first, revoked ones included.
    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY created_at DESC, name"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(token_of).collect()
    }

    /// The live (not revoked) token with this hash.
    pub async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        token_where(self.pool(), "hash = ? AND revoked_at IS NULL AND ? IS NOT NULL", hash).await
    }

    /// Notes when a token was last used (the server calls this at most once a minute per token).
    pub async fn touch_api_token(&self, id: &str, at: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

const COLUMNS: &str = "id, name, scope, prefix, created_at, created_by, last_used_at, revoked_at";

/// The one token matching `condition`, which takes `value` twice.
async fn token_where<'e>(
    db: impl SqliteExecutor<'e>,
    condition: &str,
    value: &str,
) -> Result<Option<ApiToken>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE {condition}"))
        .bind(value)
        .bind(value)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(token_of).transpose()
}

fn token_of(r: &sqlx::sqlite::SqliteRow) -> Result<ApiToken, StoreError> {
    let scope: String = r.try_get("scope")?;
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        scope: TokenScope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown token scope '{scope}'")))?,
        prefix: r.try_get("prefix")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}
