//! The Providers page: settings and keys saved together (keys sealed before
//! they reach the store, only masks come back), "Test connection", model
//! lists, spend against budget, and price-file import.

use serde::{Deserialize, Serialize};
use switchboard_core::{pricing, AppError, ErrorCode, ModelPrice, ProviderSettings, BUILTIN_PRICES_SOURCE};
use switchboard_gateway::{ProviderHealth, VaultStatus};
use switchboard_providers::{adapter, validate_base_url, Endpoint, ProbeReport};
use switchboard_store::providers::KeyChange;
use switchboard_store::queries::providers::{ListedModel, ProviderCheck, ProviderRow};

use crate::state::AppState;

/// A stored key as the UI may see it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct KeyView {
    pub id: String,
    /// `sk-...abcd`
    pub mask: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ProviderView {
    pub settings: ProviderSettings,
    /// In the order they are tried.
    pub keys: Vec<KeyView>,
    pub check: ProviderCheck,
    pub models: Vec<ListedModel>,
    pub spend_this_month_usd: f64,
    /// Our sampling parameters this provider has no field for.
    pub unsupported_params: Vec<String>,
    pub needs_key: bool,
    pub is_cloud: bool,
    pub default_base_url: String,
    /// Circuit, recent failures and rate-limit pause, as routing sees them.
    pub health: ProviderHealth,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct PriceSummary {
    pub builtin_source: String,
    pub builtin_count: u32,
    pub imported_count: u32,
    pub imported_source: Option<String>,
    pub imported_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ProvidersPage {
    pub providers: Vec<ProviderView>,
    /// Endpoint groups: provider instances serving the same models as one candidate.
    pub groups: Vec<switchboard_core::ProviderGroup>,
    pub vault: VaultStatus,
    pub prices: PriceSummary,
}

/// One card's changes. Plaintext keys travel this way only, UI to back end.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct ProviderUpdate {
    pub settings: ProviderSettings,
    /// Replaces the first key in place (or becomes the first key).
    #[serde(default)]
    pub new_key: Option<String>,
    /// Further keys, tried after the existing ones.
    #[serde(default)]
    pub add_keys: Vec<String>,
    /// Ids of keys to delete.
    #[serde(default)]
    pub remove_keys: Vec<String>,
}

/// What "Test connection" found, in words.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ConnectionReport {
    pub ok: bool,
    pub message: String,
    pub report: Option<ProbeReport>,
    pub checked_at: String,
}

pub async fn page(state: &AppState) -> Result<ProvidersPage, AppError> {
    let store = state.store();
    let models = store.provider_models().await?;
    let mut providers = Vec::new();
    for ProviderRow { settings, check } in store.providers().await? {
        let keys =
            store.provider_keys(&settings.id).await?.into_iter().map(|k| KeyView { id: k.id, mask: k.mask }).collect();
        let kind = settings.kind;
        providers.push(ProviderView {
            keys,
            check,
            models: models.iter().filter(|m| m.provider_id == settings.id).cloned().collect(),
            spend_this_month_usd: store.month_spend_now(&settings.id).await?,
            unsupported_params: kind.unsupported_params().iter().map(|s| s.to_string()).collect(),
            needs_key: kind.needs_key(),
            is_cloud: kind.is_cloud(),
            default_base_url: kind.default_base_url().to_string(),
            health: state.gateway.provider_health(&settings.id),
            settings,
        });
    }
    let (imported, source, at) = store.imported_prices().await?;
    Ok(ProvidersPage {
        providers,
        groups: store.groups().await?,
        vault: state.gateway.vault_status(),
        prices: PriceSummary {
            builtin_source: BUILTIN_PRICES_SOURCE.into(),
            builtin_count: pricing::builtin_count() as u32,
            imported_count: imported as u32,
            imported_source: source,
            imported_at: at,
        },
    })
}

fn field(id: &str, name: &str, message: impl Into<String>) -> AppError {
    AppError::for_field(format!("{id}.{name}"), message)
}

/// Checks one card before anything is written.
fn validate(old: &ProviderRow, key_count_after: usize, s: &ProviderSettings) -> Result<(), AppError> {
    let id = &s.id;
    if s.kind != old.settings.kind {
        return Err(field(id, "kind", "a provider's kind cannot change"));
    }
    let name = s.display_name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(field(id, "display_name", "the name must be 1 to 80 characters"));
    }
    let needs_url = s.enabled || !s.base_url.trim().is_empty();
    if needs_url {
        validate_base_url(&s.base_url, s.kind, s.allow_http).map_err(|e| field(id, "base_url", e.message))?;
    }
    if let Some(b) = s.monthly_budget_usd {
        if !b.is_finite() || !(0.0..=1e9).contains(&b) {
            return Err(field(id, "monthly_budget_usd", "the budget must be a number of dollars, 0 or more"));
        }
    }
    s.limits.validate().map_err(|e| field(id, &e.field, e.message))?;
    if s.kind == switchboard_core::ProviderKind::Azure && s.enabled {
        if s.azure_deployments.as_deref().is_none_or(|d| d.trim().is_empty()) {
            return Err(field(id, "azure_deployments", "Azure OpenAI needs at least one deployment name"));
        }
        if s.azure_api_version.as_deref().is_none_or(|v| v.trim().is_empty()) {
            return Err(field(id, "azure_api_version", "Azure OpenAI needs an api-version, e.g. 2024-10-21"));
        }
    }
    if s.enabled && s.kind.needs_key() && key_count_after == 0 {
        return Err(field(id, "api_key", format!("{name} needs an API key before it can be enabled")));
    }
    Ok(())
}

fn tidy(mut s: ProviderSettings) -> ProviderSettings {
    s.display_name = s.display_name.trim().to_string();
    s.base_url = s.base_url.trim().trim_end_matches('/').to_string();
    let blank_to_none = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    s.azure_deployments = blank_to_none(s.azure_deployments);
    s.azure_api_version = blank_to_none(s.azure_api_version);
    s
}

/// Saves every card: all are validated first, so a mistake on one card saves nothing.
pub async fn save_all(state: &AppState, updates: Vec<ProviderUpdate>) -> Result<ProvidersPage, AppError> {
    let store = state.store();
    let gateway = &state.gateway;
    let mut plans = Vec::new();
    let mut before = Vec::new();
    for u in updates {
        let settings = tidy(u.settings);
        let old = store.provider(&settings.id).await?;
        before.push(old.settings.clone());
        let existing = store.provider_keys(&settings.id).await?;
        for id in &u.remove_keys {
            if !existing.iter().any(|k| &k.id == id) {
                return Err(field(&settings.id, "api_key", format!("no key {id} to remove")));
            }
        }
        let mut changes: Vec<KeyChange> = u.remove_keys.iter().map(|id| KeyChange::Remove { id: id.clone() }).collect();
        let kept: Vec<_> = existing.iter().filter(|k| !u.remove_keys.contains(&k.id)).collect();
        let mut next_position = existing.iter().map(|k| k.position + 1).max().unwrap_or(0);
        let seal = |id: Option<&str>, pos: i64, text: &str| {
            gateway.seal_key(&settings.id, id, pos, text).map_err(|e| field(&settings.id, "api_key", e.message))
        };
        if let Some(text) = u.new_key.as_deref().filter(|t| !t.trim().is_empty()) {
            match kept.first() {
                Some(first) => changes.push(KeyChange::Replace(seal(Some(&first.id), first.position, text)?)),
                None => {
                    changes.push(KeyChange::Add(seal(None, next_position, text)?));
                    next_position += 1;
                }
            }
        }
        for text in u.add_keys.iter().filter(|t| !t.trim().is_empty()) {
            changes.push(KeyChange::Add(seal(None, next_position, text)?));
            next_position += 1;
        }
        let added = changes.iter().filter(|c| matches!(c, KeyChange::Add(_))).count();
        validate(&old, kept.len() + added, &settings)?;
        // A key is for the host it was entered for: a cloud provider pointed at
        // another host gets its key again, so that it is never sent there unasked.
        let new_key_given = u.new_key.as_deref().is_some_and(|t| !t.trim().is_empty());
        if settings.kind.is_cloud()
            && !kept.is_empty()
            && !new_key_given
            && host_of(&old.settings.base_url) != host_of(&settings.base_url)
        {
            return Err(field(
                &settings.id,
                "api_key",
                format!(
                    "the base URL now points at {}: enter the API key again for the new host (stored keys are not sent to a host they were not entered for)",
                    host_of(&settings.base_url).unwrap_or_else(|| settings.base_url.clone())
                ),
            ));
        }
        plans.push((settings, changes));
    }
    // One transaction: a failure part-way leaves every provider as it was.
    store.save_providers(&state.actor, &plans).await?;
    for (settings, changes) in &plans {
        // A new address or key deserves a fresh start: past failures were the old one's.
        let old = before.iter().find(|o| o.id == settings.id);
        if !changes.is_empty() || old.is_none_or(|o| o.base_url != settings.base_url || o.limits != settings.limits) {
            state.gateway.reset_provider_health(&settings.id);
        }
    }
    state.gateway.recheck_master_key().await?;
    page(state).await
}

/// A new provider instance the admin asked for.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct NewProviderRequest {
    pub kind: switchboard_core::ProviderKind,
    /// Shown on its card; its id (which names its models) is made from it.
    pub name: String,
}

/// Adds a provider instance of any kind (a second OpenAI-compatible server,
/// another Azure resource), disabled, at the kind's default endpoint. Its id
/// comes from the name, made unique with a number when taken.
pub async fn create(state: &AppState, new: NewProviderRequest) -> Result<ProvidersPage, AppError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::for_field("name", "the name must be 1 to 80 characters"));
    }
    let base = switchboard_core::provider_id_from_name(name);
    if base.len() < 2 {
        return Err(AppError::for_field("name", "the name needs at least two letters or digits"));
    }
    let taken: Vec<String> = state.store().providers().await?.into_iter().map(|r| r.settings.id).collect();
    let id = std::iter::once(base.clone())
        .chain((2..).map(|n| format!("{}-{n}", base.chars().take(36).collect::<String>())))
        .find(|id| !taken.contains(id) && id != switchboard_core::ModelRef::LOCAL)
        .expect("a free id");
    switchboard_core::validate_provider_id(&id).map_err(|e| AppError::for_field("name", e.message))?;
    state.store().create_provider(&state.actor, &switchboard_core::new_provider(new.kind, &id, name)).await?;
    page(state).await
}

/// A new endpoint group the admin asked for.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct NewGroupRequest {
    pub name: String,
    pub members: Vec<String>,
    pub strategy: switchboard_core::BalanceStrategy,
}

/// Adds an endpoint group; its id (which names its models) is made from its name.
pub async fn create_group(state: &AppState, new: NewGroupRequest) -> Result<ProvidersPage, AppError> {
    let id = switchboard_core::provider_id_from_name(&new.name);
    let group = switchboard_core::ProviderGroup {
        id,
        name: new.name.trim().to_string(),
        members: new.members,
        strategy: new.strategy,
    };
    group
        .validate()
        .map_err(|e| AppError::for_field(if e.field == "id" { "name".into() } else { e.field }, e.message))?;
    state.store().create_group(&state.actor, &group).await?;
    page(state).await
}

pub async fn delete_group(state: &AppState, id: &str) -> Result<ProvidersPage, AppError> {
    state.store().delete_group(&state.actor, id).await?;
    page(state).await
}

/// Removes a provider instance, its keys and its model list; refused while a route uses it.
pub async fn delete(state: &AppState, id: &str) -> Result<ProvidersPage, AppError> {
    state.store().delete_provider(&state.actor, id).await?;
    state.gateway.reset_provider_health(id);
    page(state).await
}

/// The plaintext of one key, for the UI's "Show" (which hides it again after a moment).
pub async fn reveal_key(state: &AppState, provider_id: &str, key_id: &str) -> Result<String, AppError> {
    let keys = state.gateway.open_keys(provider_id).await?;
    let (_, key) = keys
        .into_iter()
        .find(|(id, _)| id == key_id)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no key {key_id} for {provider_id}")))?;
    tracing::info!(provider = provider_id, "an API key was shown to the admin");
    Ok(key.to_string())
}

async fn endpoint(state: &AppState, settings: &ProviderSettings) -> Result<Endpoint, AppError> {
    let key = state.gateway.open_keys(&settings.id).await?.into_iter().next().map(|(_, k)| k.to_string());
    if key.is_none() && settings.kind.needs_key() {
        return Err(AppError::new(
            ErrorCode::SecretUnavailable,
            format!("{} has no API key yet: enter one and save", settings.display_name),
        ));
    }
    Ok(Endpoint::for_provider(settings, key))
}

/// Lists the provider's models (stored for the model dropdowns), then asks
/// the first for one token. The outcome is stored as the provider's status;
/// the token asked for is a ledger row of `caller` (`window`, `cli`, `token:<name>`).
pub async fn test_connection(state: &AppState, caller: &str, id: &str) -> Result<ConnectionReport, AppError> {
    let settings = state.store().provider(id).await?.settings;
    let checked_at = switchboard_store::config::now();
    let outcome = async {
        let endpoint = endpoint(state, &settings).await?;
        validate_base_url(&endpoint.base_url, settings.kind, settings.allow_http)
            .map_err(|e| AppError::for_field(format!("{id}.base_url"), e.message))?;
        let provider = adapter(endpoint, state.gateway.http().clone())
            .map_err(|e| AppError::new(ErrorCode::InvalidInput, e.message))?;
        let models = provider.list_models().await.map_err(|e| provider_error(&settings, &e))?;
        store_models(state, id, &models, &checked_at).await?;
        let chosen = probe_model(state, &settings, &models).await?;
        let report = provider.probe(chosen.as_deref()).await.map_err(|e| provider_error(&settings, &e))?;
        Ok::<_, AppError>(report)
    }
    .await;
    if let Ok(ProbeReport { completion_model: Some(model), completion_ms: Some(ms), .. }) = &outcome {
        record_probe(state, caller, &settings, model, *ms).await;
    }
    let report = match outcome {
        Ok(report) => {
            let message = match (&report.completion_model, report.completion_ms) {
                (Some(m), Some(ms)) => format!(
                    "Connected: {} models listed in {:.0} ms; {m} answered in {ms:.0} ms",
                    report.model_count, report.list_ms
                ),
                _ => format!("Connected, but the provider lists no models ({:.0} ms)", report.list_ms),
            };
            ConnectionReport { ok: true, message, report: Some(report), checked_at }
        }
        Err(e) => ConnectionReport { ok: false, message: e.message, report: None, checked_at },
    };
    let check = ProviderCheck {
        checked_at: Some(report.checked_at.clone()),
        ok: Some(report.ok),
        message: Some(report.message.clone()),
    };
    state.store().set_provider_check(id, &check).await?;
    Ok(report)
}

/// "Test connection" asks for one token, which the provider bills: it goes in
/// the ledger (use case `connection_test`) like any other request.
async fn record_probe(state: &AppState, caller: &str, settings: &ProviderSettings, model: &str, ms: f64) {
    // "Say OK." with the chat framing, and the one token asked for.
    const PROBE_INPUT_TOKENS: u32 = 10;
    let price = state.store().price(settings.kind.as_str(), model).await.ok().flatten();
    let model_ref = switchboard_core::ModelRef { provider: settings.id.clone(), model: model.to_string() };
    let record = switchboard_core::NewRequestRecord {
        input_tokens: PROBE_INPUT_TOKENS,
        output_tokens: 1,
        cost_usd: price.map_or(0.0, |p| p.cost(PROBE_INPUT_TOKENS, 0, 1)),
        status: switchboard_core::RequestStatus::Ok,
        caller: caller.to_string(),
        ..switchboard_core::NewRequestRecord::empty("connection_test", &model_ref, ms)
    };
    if let Err(e) = state.store().record(&record).await {
        tracing::error!(%e, "could not record a connection test");
    }
}

/// The model "Test connection" asks for a token: one a use case uses, else a
/// chat model the price table knows (a listing also holds embedding, image and
/// audio models), else the first listed.
async fn probe_model(
    state: &AppState,
    settings: &ProviderSettings,
    models: &[switchboard_providers::RemoteModel],
) -> Result<Option<String>, AppError> {
    let prefix = format!("{}/", settings.id);
    let assigned: Vec<String> = state
        .store()
        .use_cases()
        .await?
        .into_iter()
        .filter_map(|u| u.model.strip_prefix(&prefix).map(str::to_string))
        .collect();
    if let Some(m) = models.iter().find(|m| assigned.contains(&m.id)) {
        return Ok(Some(m.id.clone()));
    }
    for m in models {
        if state.store().price(settings.kind.as_str(), &m.id).await?.is_some() {
            return Ok(Some(m.id.clone()));
        }
    }
    Ok(models.first().map(|m| m.id.clone()))
}

/// Fetches the provider's model list again.
pub async fn refresh_models(state: &AppState, id: &str) -> Result<Vec<ListedModel>, AppError> {
    let settings = state.store().provider(id).await?.settings;
    let provider = adapter(endpoint(state, &settings).await?, state.gateway.http().clone())
        .map_err(|e| AppError::new(ErrorCode::InvalidInput, e.message))?;
    let models = provider.list_models().await.map_err(|e| provider_error(&settings, &e))?;
    let at = switchboard_store::config::now();
    store_models(state, id, &models, &at).await?;
    Ok(state.store().provider_models().await?.into_iter().filter(|m| m.provider_id == id).collect())
}

async fn store_models(
    state: &AppState,
    id: &str,
    models: &[switchboard_providers::RemoteModel],
    at: &str,
) -> Result<(), AppError> {
    let kind = state.store().provider(id).await?.settings.kind;
    let mut listed = Vec::new();
    for m in models {
        // The price table knows which models read images when the provider does not say.
        let price: Option<ModelPrice> = state.store().price(kind.as_str(), &m.id).await?;
        listed.push(ListedModel {
            provider_id: id.to_string(),
            model: m.id.clone(),
            display_name: m.display_name.clone(),
            vision: m.vision.or(price.as_ref().and_then(|p| p.vision)),
            context_length: m.context_length.or(price.as_ref().and_then(|p| p.context_length)),
            fetched_at: at.to_string(),
        });
    }
    Ok(state.store().replace_provider_models(id, &listed).await?)
}

fn provider_error(settings: &ProviderSettings, e: &switchboard_providers::ProviderError) -> AppError {
    switchboard_gateway::provider_error(settings, e)
}

/// Imports a LiteLLM-format price file, replacing earlier imports.
pub async fn import_prices(state: &AppState, file_name: &str, text: &str) -> Result<PriceSummary, AppError> {
    if text.len() > 64 * 1024 * 1024 {
        return Err(AppError::new(ErrorCode::InvalidInput, "the price file is larger than 64 MB"));
    }
    let parsed = pricing::parse_litellm(text)?;
    let source = std::path::Path::new(file_name).file_name().and_then(|n| n.to_str()).unwrap_or("prices.json");
    state.store().import_prices(&state.actor, &parsed.prices, source).await?;
    Ok(page(state).await?.prices)
}

/// The host (and port) of a base URL, for telling whether it moved.
fn host_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    Some(format!("{}:{}", parsed.host_str()?.to_ascii_lowercase(), parsed.port_or_known_default().unwrap_or(0)))
}
