//! Provider configuration changes: settings and sealed keys written in one
//! transaction with their audit rows. Audit rows name keys by their mask only.

use switchboard_core::{builtin_providers, pricing, ModelPrice, ProviderSettings};

use crate::cached::Entries;
use crate::config::now;
use crate::queries::audit::{self, NewAuditEntry};
use crate::queries::model_prices;
use crate::queries::providers::{self as q, ListedModel, ProviderRow, StoredKey};
use crate::{Store, StoreError};

/// A change to a provider's keys, already sealed by the caller.
#[derive(Debug, Clone)]
pub enum KeyChange {
    Add(StoredKey),
    /// Same id (the sealing's associated data), new value.
    Replace(StoredKey),
    Remove {
        id: String,
    },
}

impl Store {
    pub async fn groups(&self) -> Result<Vec<switchboard_core::ProviderGroup>, StoreError> {
        crate::queries::groups::list(self.pool()).await
    }

    pub async fn group(&self, id: &str) -> Result<Option<switchboard_core::ProviderGroup>, StoreError> {
        let put = |e: &mut Entries, found| {
            e.groups.insert(id.to_string(), found);
        };
        self.cache.read(|e| e.groups.get(id).cloned(), crate::queries::groups::get(self.pool(), id), put).await
    }

    /// Adds an endpoint group: its id is free (no provider or group has it)
    /// and every member is a provider instance.
    pub async fn create_group(&self, actor: &str, group: &switchboard_core::ProviderGroup) -> Result<(), StoreError> {
        group.validate()?;
        let at = now();
        let mut tx = self.write_tx().await?;
        if q::get(&mut *tx, &group.id).await?.is_some()
            || crate::queries::groups::get(&mut *tx, &group.id).await?.is_some()
        {
            return Err(StoreError::Conflict(format!("a provider or group '{}' already exists", group.id)));
        }
        for m in &group.members {
            if q::get(&mut *tx, m).await?.is_none() {
                return Err(StoreError::Invalid(switchboard_core::FieldError {
                    field: "members".into(),
                    message: format!("no provider '{m}'"),
                }));
            }
        }
        crate::queries::groups::insert(&mut *tx, group, &at, actor).await?;
        let entry = NewAuditEntry {
            entity: "provider_group",
            entity_id: group.id.clone(),
            action: "create",
            field: None,
            old_value: None,
            new_value: Some(crate::json::to_text(group)),
        };
        audit::insert(&mut *tx, &at, actor, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a group; refused while a route names one of its models.
    pub async fn delete_group(&self, actor: &str, id: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let old = crate::queries::groups::get(&mut *tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no group '{id}'")))?;
        let users = route_users(&mut tx, id).await?;
        if !users.is_empty() {
            return Err(StoreError::Conflict(format!(
                "{} is in the route of {}: take it out there first",
                old.name,
                users.join(", ")
            )));
        }
        crate::queries::groups::delete(&mut *tx, id).await?;
        let entry = NewAuditEntry {
            entity: "provider_group",
            entity_id: id.to_string(),
            action: "delete",
            field: None,
            old_value: Some(crate::json::to_text(&old)),
            new_value: None,
        };
        audit::insert(&mut *tx, &now(), actor, &entry).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The use cases whose route names a model of the provider or group `id`.
async fn route_users(tx: &mut crate::WriteTx, id: &str) -> Result<Vec<String>, StoreError> {
    let prefix = format!("{id}/");
    Ok(crate::queries::use_cases::list(&mut **tx)
        .await?
        .into_iter()
        .filter(|uc| uc.candidates().iter().any(|c| c.model.starts_with(&prefix)))
        .map(|uc| uc.name)
        .collect())
}

/// Set once the built-in providers were added to this database.
const SEEDED_KEY: &str = "providers_seeded";

fn entry(entity: &'static str, id: &str, action: &'static str, field: &str, old: String, new: String) -> NewAuditEntry {
    NewAuditEntry {
        entity,
        entity_id: id.to_string(),
        action,
        field: Some(field.to_string()),
        old_value: Some(old),
        new_value: Some(new),
    }
}

/// Audit rows for the settings that differ.
fn settings_changes(old: &ProviderSettings, new: &ProviderSettings) -> Vec<NewAuditEntry> {
    let j = |v: serde_json::Value| v.to_string();
    let pairs = [
        ("display_name", j(old.display_name.clone().into()), j(new.display_name.clone().into())),
        ("enabled", j(old.enabled.into()), j(new.enabled.into())),
        ("base_url", j(old.base_url.clone().into()), j(new.base_url.clone().into())),
        ("allow_http", j(old.allow_http.into()), j(new.allow_http.into())),
        ("azure_deployments", j(old.azure_deployments.clone().into()), j(new.azure_deployments.clone().into())),
        ("azure_api_version", j(old.azure_api_version.clone().into()), j(new.azure_api_version.clone().into())),
        ("monthly_budget_usd", j(old.monthly_budget_usd.into()), j(new.monthly_budget_usd.into())),
        ("limits", crate::json::to_text(&old.limits), crate::json::to_text(&new.limits)),
    ];
    pairs
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(field, a, b)| entry("provider", &new.id, "update", field, a, b))
        .collect()
}

impl Store {
    /// Adds the built-in providers (disabled) once, to a fresh database: an
    /// admin who removes one does not find it back at the next start.
    pub async fn seed_builtin_providers(&self, actor: &str) -> Result<(), StoreError> {
        let at = now();
        let mut tx = self.write_tx().await?;
        if crate::queries::local_models::setting(&mut *tx, SEEDED_KEY).await?.is_none() {
            for p in builtin_providers() {
                q::insert_if_missing(&mut *tx, &p, &at, actor).await?;
            }
            crate::queries::local_models::set_setting(&mut *tx, SEEDED_KEY, "true", &at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds a provider instance (validated, disabled until the admin enables it).
    pub async fn create_provider(&self, actor: &str, settings: &ProviderSettings) -> Result<ProviderRow, StoreError> {
        switchboard_core::validate_provider_id(&settings.id)?;
        let at = now();
        let mut tx = self.write_tx().await?;
        if q::get(&mut *tx, &settings.id).await?.is_some()
            || crate::queries::groups::get(&mut *tx, &settings.id).await?.is_some()
        {
            return Err(StoreError::Conflict(format!("a provider or group '{}' already exists", settings.id)));
        }
        q::insert_if_missing(&mut *tx, settings, &at, actor).await?;
        let entry = NewAuditEntry {
            entity: "provider",
            entity_id: settings.id.clone(),
            action: "create",
            field: None,
            old_value: None,
            new_value: Some(crate::json::to_text(settings)),
        };
        audit::insert(&mut *tx, &at, actor, &entry).await?;
        let row = q::get(&mut *tx, &settings.id).await?.expect("row just written");
        tx.commit().await?;
        Ok(row)
    }

    /// Removes a provider instance with its keys and model list; refused while
    /// a use case's route names one of its models.
    pub async fn delete_provider(&self, actor: &str, id: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let old = q::get(&mut *tx, id).await?.ok_or_else(|| StoreError::NotFound(format!("no provider '{id}'")))?;
        let users = route_users(&mut tx, id).await?;
        if !users.is_empty() {
            return Err(StoreError::Conflict(format!(
                "{} is in the route of {}: take it out there first",
                old.settings.display_name,
                users.join(", ")
            )));
        }
        let groups: Vec<String> = crate::queries::groups::list(&mut *tx)
            .await?
            .into_iter()
            .filter(|g| g.members.iter().any(|m| m == id))
            .map(|g| g.name)
            .collect();
        if !groups.is_empty() {
            return Err(StoreError::Conflict(format!(
                "{} is a member of the group {}: take it out there first",
                old.settings.display_name,
                groups.join(", ")
            )));
        }
        q::delete(&mut *tx, id).await?;
        let entry = NewAuditEntry {
            entity: "provider",
            entity_id: id.to_string(),
            action: "delete",
            field: None,
            old_value: Some(crate::json::to_text(&old.settings)),
            new_value: None,
        };
        audit::insert(&mut *tx, &now(), actor, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn providers(&self) -> Result<Vec<ProviderRow>, StoreError> {
        q::list(self.pool()).await
    }

    pub async fn provider(&self, id: &str) -> Result<ProviderRow, StoreError> {
        let put = |e: &mut Entries, found| {
            e.providers.insert(id.to_string(), found);
        };
        self.cache
            .read(|e| e.providers.get(id).cloned(), q::get(self.pool(), id), put)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no provider '{id}'")))
    }

    pub async fn provider_keys(&self, id: &str) -> Result<Vec<StoredKey>, StoreError> {
        let put = |e: &mut Entries, found| {
            e.keys.insert(id.to_string(), found);
        };
        self.cache.read(|e| e.keys.get(id).cloned(), q::keys(self.pool(), id), put).await
    }

    /// Saves a provider's settings and key changes at once, with audit rows.
    pub async fn save_provider(
        &self,
        actor: &str,
        settings: &ProviderSettings,
        key_changes: &[KeyChange],
    ) -> Result<ProviderRow, StoreError> {
        let saved = self.save_providers(actor, &[(settings.clone(), key_changes.to_vec())]).await?;
        Ok(saved.into_iter().next().expect("one provider saved"))
    }

    /// Saves several providers ("Save all") in one transaction: all of them or none.
    pub async fn save_providers(
        &self,
        actor: &str,
        plans: &[(ProviderSettings, Vec<KeyChange>)],
    ) -> Result<Vec<ProviderRow>, StoreError> {
        let at = now();
        let mut tx = self.write_tx().await?;
        let mut saved = Vec::with_capacity(plans.len());
        for (settings, key_changes) in plans {
            saved.push(save_one(&mut tx, &at, actor, settings, key_changes).await?);
        }
        tx.commit().await?;
        Ok(saved)
    }

    pub async fn set_provider_check(&self, id: &str, check: &q::ProviderCheck) -> Result<(), StoreError> {
        let generation = self.cache.generation();
        q::set_check(self.pool(), id, check).await?;
        // One statement outside a write transaction: the cache is told once it is visible.
        self.cache.settled(generation);
        Ok(())
    }

    /// Replaces the model list a provider reported.
    pub async fn replace_provider_models(&self, id: &str, models: &[ListedModel]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        q::delete_models(&mut *tx, id).await?;
        for m in models {
            q::insert_model(&mut *tx, m).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn provider_models(&self) -> Result<Vec<ListedModel>, StoreError> {
        q::models(self.pool()).await
    }

    /// Replaces the imported prices with `prices` (one transaction, audited).
    pub async fn import_prices(&self, actor: &str, prices: &[ModelPrice], source: &str) -> Result<(), StoreError> {
        let at = now();
        let mut tx = self.write_tx().await?;
        let (before, _, _) = model_prices::summary(&mut *tx).await?;
        model_prices::delete_all(&mut *tx).await?;
        for p in prices {
            model_prices::insert(&mut *tx, p, source, &at).await?;
        }
        let c = entry("prices", source, "import", "model_prices", before.to_string(), prices.len().to_string());
        audit::insert(&mut *tx, &at, actor, &c).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The price of `model` at a provider of `kind`: imported first, then built in.
    pub async fn price(&self, kind: &str, model: &str) -> Result<Option<ModelPrice>, StoreError> {
        let key = (kind.to_string(), model.to_string());
        let load = async {
            Ok(match model_prices::get(self.pool(), kind, model).await? {
                Some(p) => Some(p),
                None => pricing::builtin_price(kind, model).cloned(),
            })
        };
        let put = |e: &mut Entries, found| {
            e.prices.insert(key.clone(), found);
        };
        self.cache.read(|e| e.prices.get(&key).cloned(), load, put).await
    }

    /// (count, source file name, imported at) of the imported prices.
    pub async fn imported_prices(&self) -> Result<(i64, Option<String>, Option<String>), StoreError> {
        model_prices::summary(self.pool()).await
    }

    pub async fn secret_check(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
        q::secret_check(self.pool()).await
    }

    pub async fn set_secret_check(&self, nonce: &[u8], ciphertext: &[u8]) -> Result<(), StoreError> {
        q::set_secret_check(self.pool(), nonce, ciphertext).await
    }
}

impl Store {
    /// This calendar month's spend at `provider`, the month as the user's
    /// clock and time zone see it.
    pub async fn month_spend_now(&self, provider: &str) -> Result<f64, StoreError> {
        self.month_spend_at(provider, chrono::Utc::now(), &chrono::Local).await
    }

    /// This month's spend of `use_case`, at every provider.
    pub async fn use_case_month_spend_now(&self, use_case: &str) -> Result<f64, StoreError> {
        let (start, end, _) = crate::queries::requests::month_window(chrono::Utc::now(), &chrono::Local);
        let of = crate::queries::requests::SpendOf::UseCase(use_case);
        // Rows queued on the ledger's writer count: they are spent.
        crate::queries::requests::spend_between(self.ledger_reader().await, of, &start, &end).await
    }

    /// The spend at `provider` in the month that holds `now` in `tz`.
    pub async fn month_spend_at<Tz: chrono::TimeZone>(
        &self,
        provider: &str,
        now: chrono::DateTime<chrono::Utc>,
        tz: &Tz,
    ) -> Result<f64, StoreError> {
        let (start, end, _) = crate::queries::requests::month_window(now, tz);
        let of = crate::queries::requests::SpendOf::Provider(provider);
        // Rows queued on the ledger's writer count: they are spent.
        crate::queries::requests::spend_between(self.ledger_reader().await, of, &start, &end).await
    }
}

async fn save_one(
    tx: &mut crate::WriteTx,
    at: &str,
    actor: &str,
    settings: &ProviderSettings,
    key_changes: &[KeyChange],
) -> Result<ProviderRow, StoreError> {
    let old = q::get(&mut **tx, &settings.id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no provider '{}'", settings.id)))?;
    q::update_settings(&mut **tx, settings, at, actor).await?;
    let mut changes = settings_changes(&old.settings, settings);
    let existing = q::keys(&mut **tx, &settings.id).await?;
    let mask_of = |id: &str| existing.iter().find(|k| k.id == id).map(|k| k.mask.clone());
    for change in key_changes {
        match change {
            KeyChange::Add(k) => {
                q::insert_key(&mut **tx, k, at).await?;
                changes.push(entry("provider_key", &settings.id, "create", "api_key", "null".into(), k.mask.clone()));
            }
            KeyChange::Replace(k) => {
                let old_mask = mask_of(&k.id).unwrap_or_default();
                q::replace_key(&mut **tx, k, at).await?;
                changes.push(entry("provider_key", &settings.id, "update", "api_key", old_mask, k.mask.clone()));
            }
            KeyChange::Remove { id } => {
                let old_mask = mask_of(id).unwrap_or_default();
                q::delete_key(&mut **tx, &settings.id, id).await?;
                changes.push(entry("provider_key", &settings.id, "delete", "api_key", old_mask, "null".into()));
            }
        }
    }
    for c in &changes {
        audit::insert(&mut **tx, at, actor, c).await?;
    }
    let saved = q::get(&mut **tx, &settings.id).await?.expect("row just updated");
    Ok(saved)
}
