//! Configuration changes: each one validated, written in one transaction
//! together with its audit rows, so the table and its history never disagree.

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use switchboard_core::{builtin_use_cases, NewUseCase, RoutingEvent, RoutingSettings, UseCase, UseCaseConfig};

use crate::cached::Entries;
use crate::queries::audit::{self, NewAuditEntry};
use crate::queries::{events, local_models, use_cases};
use crate::{Store, StoreError};

/// Now, as stored: RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn json<T: Serialize>(v: &T) -> String {
    crate::json::to_text(v)
}

/// The audit rows for the fields that differ between two configurations.
pub fn config_changes(id: &str, action: &'static str, old: &UseCaseConfig, new: &UseCaseConfig) -> Vec<NewAuditEntry> {
    let mut out = Vec::new();
    let mut diff = |field: String, a: String, b: String| {
        if a != b {
            out.push(NewAuditEntry {
                entity: "use_case",
                entity_id: id.to_string(),
                action,
                field: Some(field),
                old_value: Some(a),
                new_value: Some(b),
            });
        }
    };
    diff("name".into(), json(&old.name), json(&new.name.trim()));
    diff("enabled".into(), json(&old.enabled), json(&new.enabled));
    diff("model".into(), json(&old.model), json(&new.model));
    diff("use_custom_params".into(), json(&old.use_custom_params), json(&new.use_custom_params));
    // One row per parameter, so the log reads "temperature 0.7 -> 0.9".
    // Through text, so f32 values read as written (0.9, not 0.8999999761581421).
    let as_map = |p: &Option<switchboard_core::SamplingParams>| match p {
        Some(p) => serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&json(p)).unwrap_or_default(),
        None => serde_json::Map::new(),
    };
    let (a, b) = (as_map(&old.custom_params), as_map(&new.custom_params));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let show = |v: Option<&serde_json::Value>| v.map_or("null".to_string(), |v| v.to_string());
        diff(format!("custom_params.{key}"), show(a.get(key)), show(b.get(key)));
    }
    diff("system_prompt".into(), json(&old.system_prompt), json(&new.system_prompt));
    diff("json_schema".into(), json(&old.json_schema), json(&new.json_schema));
    diff("fallbacks".into(), json(&old.fallbacks), json(&new.fallbacks));
    diff("prefer_cloud".into(), json(&old.prefer_cloud), json(&new.prefer_cloud));
    diff("cache_ttl_s".into(), json(&old.cache_ttl_s), json(&new.cache_ttl_s));
    diff("cache_random".into(), json(&old.cache_random), json(&new.cache_random));
    diff("monthly_budget_usd".into(), json(&old.monthly_budget_usd), json(&new.monthly_budget_usd));
    diff("keep_text_days".into(), json(&old.keep_text_days), json(&new.keep_text_days));
    out
}

/// Where [`RoutingSettings`] live in `app_settings`.
const ROUTING_KEY: &str = "routing";

impl Store {
    /// The settings every route follows (defaults until an admin saves some).
    pub async fn routing_settings(&self) -> Result<RoutingSettings, StoreError> {
        let load = async {
            match local_models::setting(self.pool(), ROUTING_KEY).await? {
                Some(text) => crate::json::from_text(&text, "app_settings.routing"),
                None => Ok(RoutingSettings::default()),
            }
        };
        self.cache.read(|e| e.routing.clone(), load, |e, found| e.routing = Some(found)).await
    }

    /// Saves the routing settings with an audit row per changed field.
    pub async fn save_routing_settings(&self, actor: &str, new: &RoutingSettings) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let old = match local_models::setting(&mut *tx, ROUTING_KEY).await? {
            Some(text) => crate::json::from_text(&text, "app_settings.routing")?,
            None => RoutingSettings::default(),
        };
        if &old != new {
            let at = now();
            local_models::set_setting(&mut *tx, ROUTING_KEY, &json(new), &at).await?;
            let entry = NewAuditEntry {
                entity: "settings",
                entity_id: ROUTING_KEY.to_string(),
                action: "update",
                field: Some("local_only".into()),
                old_value: Some(json(&old.local_only)),
                new_value: Some(json(&new.local_only)),
            };
            audit::insert(&mut *tx, &at, actor, &entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores a routing event (keeping the newest ten thousand) and returns it with its id.
    pub async fn record_event(&self, event: &RoutingEvent) -> Result<RoutingEvent, StoreError> {
        let mut tx = self.write_tx().await?;
        let stored = events::insert(&mut *tx, event).await?;
        if stored.id % 500 == 0 {
            events::prune(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// The newest routing events, of one provider or all.
    pub async fn events(&self, provider: Option<&str>, limit: u32) -> Result<Vec<RoutingEvent>, StoreError> {
        events::recent(self.pool(), provider, limit).await
    }

    /// Adds the built-in use cases that are not there yet; edits to existing ones stay.
    pub async fn seed_builtin_use_cases(&self, actor: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let at = now();
        for mut uc in builtin_use_cases() {
            uc.updated_at = at.clone();
            uc.updated_by = actor.to_string();
            use_cases::insert_if_missing(&mut *tx, &uc).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn use_cases(&self) -> Result<Vec<UseCase>, StoreError> {
        use_cases::list(self.pool()).await
    }

    pub async fn use_case(&self, id: &str) -> Result<UseCase, StoreError> {
        let put = |e: &mut Entries, found| {
            e.use_cases.insert(id.to_string(), found);
        };
        self.cache
            .read(|e| e.use_cases.get(id).cloned(), use_cases::get(self.pool(), id), put)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no use case '{id}'")))
    }

    /// Saves an admin's edit of one use case and audits each changed field.
    pub async fn save_use_case(&self, actor: &str, id: &str, cfg: &UseCaseConfig) -> Result<UseCase, StoreError> {
        cfg.validate()?;
        let mut tx = self.write_tx().await?;
        let old =
            use_cases::get(&mut *tx, id).await?.ok_or_else(|| StoreError::NotFound(format!("no use case '{id}'")))?;
        let changes = config_changes(id, "update", &old.config(), cfg);
        if !changes.is_empty() {
            let at = now();
            use_cases::update_config(&mut *tx, id, cfg, &at, actor).await?;
            for change in &changes {
                audit::insert(&mut *tx, &at, actor, change).await?;
            }
        }
        let saved = use_cases::get(&mut *tx, id).await?.expect("row just written");
        tx.commit().await?;
        Ok(saved)
    }

    pub async fn create_use_case(&self, actor: &str, new: &NewUseCase) -> Result<UseCase, StoreError> {
        new.validate()?;
        let mut tx = self.write_tx().await?;
        if use_cases::get(&mut *tx, &new.id).await?.is_some() {
            return Err(StoreError::Conflict(format!("a use case '{}' already exists", new.id)));
        }
        let at = now();
        let uc = UseCase {
            id: new.id.clone(),
            name: new.name.trim().to_string(),
            description: new.description.trim().to_string(),
            builtin: false,
            vision: new.vision,
            enabled: true,
            model: new.model.clone(),
            defaults: new.defaults.clone(),
            custom_params: None,
            use_custom_params: false,
            system_prompt: None,
            json_schema: None,
            fallbacks: Vec::new(),
            prefer_cloud: false,
            cache_ttl_s: None,
            cache_random: false,
            monthly_budget_usd: None,
            keep_text_days: None,
            updated_at: at.clone(),
            updated_by: actor.to_string(),
        };
        use_cases::insert(&mut *tx, &uc).await?;
        let entry = NewAuditEntry {
            entity: "use_case",
            entity_id: uc.id.clone(),
            action: "create",
            field: None,
            old_value: None,
            new_value: Some(json(&uc)),
        };
        audit::insert(&mut *tx, &at, actor, &entry).await?;
        tx.commit().await?;
        Ok(uc)
    }

    /// Deletes an admin-defined use case; built-ins can only be disabled.
    pub async fn delete_use_case(&self, actor: &str, id: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let old =
            use_cases::get(&mut *tx, id).await?.ok_or_else(|| StoreError::NotFound(format!("no use case '{id}'")))?;
        if old.builtin {
            return Err(StoreError::Conflict(format!("'{id}' is built in: it can be disabled but not deleted")));
        }
        use_cases::delete(&mut *tx, id).await?;
        let entry = NewAuditEntry {
            entity: "use_case",
            entity_id: id.to_string(),
            action: "delete",
            field: None,
            old_value: Some(json(&old)),
            new_value: None,
        };
        audit::insert(&mut *tx, &now(), actor, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies a whole, already validated configuration in one transaction:
    /// existing use cases get the imported settings, missing custom ones are
    /// created. Every change is audited as an import.
    pub async fn import_use_cases(&self, actor: &str, imported: &[UseCase]) -> Result<usize, StoreError> {
        let mut tx = self.write_tx().await?;
        let at = now();
        let mut changed = 0;
        for uc in imported {
            uc.config().validate()?;
            match use_cases::get(&mut *tx, &uc.id).await? {
                Some(old) => {
                    let changes = config_changes(&uc.id, "import", &old.config(), &uc.config());
                    if !changes.is_empty() {
                        use_cases::update_config(&mut *tx, &uc.id, &uc.config(), &at, actor).await?;
                        for change in &changes {
                            audit::insert(&mut *tx, &at, actor, change).await?;
                        }
                        changed += 1;
                    }
                }
                None => {
                    let new =
                        UseCase { builtin: false, updated_at: at.clone(), updated_by: actor.to_string(), ..uc.clone() };
                    use_cases::insert(&mut *tx, &new).await?;
                    let entry = NewAuditEntry {
                        entity: "use_case",
                        entity_id: uc.id.clone(),
                        action: "import",
                        field: None,
                        old_value: None,
                        new_value: Some(json(&new)),
                    };
                    audit::insert(&mut *tx, &at, actor, &entry).await?;
                    changed += 1;
                }
            }
        }
        tx.commit().await?;
        Ok(changed)
    }
}
