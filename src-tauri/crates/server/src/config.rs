//! The configuration API: which model and parameters serve each use case
//! (with its route resolved), changing one (admin tokens only; validated and
//! audited exactly as the Use cases page does), the providers with their
//! status and budget, a provider's connection test, and this month's costs.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_core::{ErrorCode, TokenScope, UseCase, UseCaseConfig};
use switchboard_service::ops;

use crate::body::{Json, Path, Query};
use crate::error::{ApiError, Dialect};
use crate::{json_value, ApiState, Caller};

const D: Dialect = Dialect::Config;

fn app_error(e: switchboard_core::AppError) -> ApiError {
    ApiError::from_app(D, e)
}

/// A use case with the parameters a request gets and its route in order.
async fn entry(state: &ApiState, use_case: UseCase) -> Result<Value, ApiError> {
    let route = state.app.gateway.resolved_route(&use_case).await.map_err(app_error)?;
    let mut v = json_value(&use_case);
    v["params"] = json_value(&use_case.effective_params(None));
    v["route"] = json_value(&route);
    Ok(v)
}

/// Every use case with its resolved route and parameters.
#[utoipa::path(get, path = "/config", tag = "config", responses((status = 200, description = "The use cases")),
    security(("token" = [])))]
pub async fn list(State(state): State<Arc<ApiState>>) -> Result<Response, ApiError> {
    let mut out = Vec::new();
    for u in ops::use_cases::list(&state.app).await.map_err(app_error)? {
        out.push(entry(&state, u).await?);
    }
    Ok(axum::Json(json!({ "use_cases": out })).into_response())
}

/// One use case: its model, parameters and route.
#[utoipa::path(get, path = "/config/{use_case}", tag = "config", params(("use_case" = String, Path)),
    responses((status = 200, description = "The use case"), (status = 404, description = "No such use case")),
    security(("token" = [])))]
pub async fn show(State(state): State<Arc<ApiState>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let use_case = state.app.store().use_case(&id).await.map_err(|e| app_error(e.into()))?;
    Ok(axum::Json(entry(&state, use_case).await?).into_response())
}

/// Changes a use case: the fields given replace the saved ones (the rest stay), then the whole
/// configuration is validated and saved as the Use cases page saves it. Admin tokens only.
#[utoipa::path(put, path = "/config/{use_case}", tag = "config", params(("use_case" = String, Path)),
    request_body(content = Object, description = "The use case's configuration: name, enabled, model, use_custom_params, custom_params, system_prompt, json_schema, fallbacks, prefer_cloud, cache_ttl_s, cache_random, monthly_budget_usd, keep_text_days"),
    responses((status = 200, description = "The saved use case"), (status = 400, description = "A field refused, named"),
        (status = 403, description = "Not an admin token")),
    security(("token" = [])))]
pub async fn update(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(patch): Json<Value>,
) -> Result<Response, ApiError> {
    admin(&caller)?;
    let current = state.app.store().use_case(&id).await.map_err(|e| app_error(e.into()))?;
    let cfg = merged(current.config(), patch)?;
    let saved = ops::use_cases::save_as(&state.app, &caller.ledger_name(), &id, cfg).await.map_err(app_error)?;
    Ok(axum::Json(entry(&state, saved).await?).into_response())
}

/// Every provider with its status, health and this month's spend against its budget (keys masked).
#[utoipa::path(get, path = "/config/providers", tag = "config", responses((status = 200, description = "The providers")),
    security(("token" = [])))]
pub async fn providers(State(state): State<Arc<ApiState>>) -> Result<Response, ApiError> {
    let page = ops::providers::page(&state.app).await.map_err(app_error)?;
    let providers: Vec<Value> = page
        .providers
        .iter()
        .map(|p| {
            let budget = p.settings.monthly_budget_usd;
            let budget_state = match budget {
                None => "none",
                Some(b) if p.spend_this_month_usd >= b => "exceeded",
                Some(b) if p.spend_this_month_usd >= 0.8 * b => "warning",
                Some(_) => "ok",
            };
            json!({
                "id": p.settings.id,
                "kind": p.settings.kind,
                "enabled": p.settings.enabled,
                "base_url": p.settings.base_url,
                "keys": json_value(&p.keys),
                "check": json_value(&p.check),
                "health": json_value(&p.health),
                "models": p.models.len(),
                "spend_this_month_usd": p.spend_this_month_usd,
                "monthly_budget_usd": budget,
                "budget_state": budget_state,
            })
        })
        .collect();
    Ok(axum::Json(
        json!({ "providers": providers, "groups": json_value(&page.groups), "vault": json_value(&page.vault) }),
    )
    .into_response())
}

/// Tests a provider's connection with its stored keys. Admin tokens only.
#[utoipa::path(post, path = "/config/providers/{id}/test", tag = "config", params(("id" = String, Path)),
    responses((status = 200, description = "What the provider answered")), security(("token" = [])))]
pub async fn test_provider(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    admin(&caller)?;
    let report = ops::providers::test_connection(&state.app, &caller.ledger_name(), &id).await.map_err(app_error)?;
    Ok(axum::Json(report).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CostsQuery {
    /// First day (YYYY-MM-DD, this machine's time zone); the first of this month when absent.
    pub from: Option<String>,
    /// Last day, included; today when absent.
    pub to: Option<String>,
}

/// Costs and usage for a range of days (this month by default).
#[utoipa::path(get, path = "/config/costs", tag = "config", params(CostsQuery),
    responses((status = 200, description = "Totals, per day and per provider, model and use case")), security(("token" = [])))]
pub async fn costs(State(state): State<Arc<ApiState>>, Query(q): Query<CostsQuery>) -> Result<Response, ApiError> {
    let today = chrono::Local::now().date_naive();
    let from = q.from.unwrap_or_else(|| today.format("%Y-%m-01").to_string());
    let to = q.to.unwrap_or_else(|| today.format("%Y-%m-%d").to_string());
    let report = state.app.gateway.cost_report(&from, &to).await.map_err(app_error)?;
    Ok(axum::Json(report).into_response())
}

/// `base` with the fields of `patch` replaced; an unknown field is refused by name.
fn merged(base: UseCaseConfig, patch: Value) -> Result<UseCaseConfig, ApiError> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::bad_request(D, "the body is a JSON object of the fields to change"));
    };
    let mut cfg = json_value(&base);
    for (key, value) in patch {
        if cfg.get(&key).is_none() {
            return Err(ApiError::field(D, &key, format!("'{key}' is not a field of a use case's configuration")));
        }
        cfg[&key] = value;
    }
    serde_json::from_value(cfg).map_err(|e| ApiError::bad_request(D, format!("the configuration is not valid: {e}")))
}

fn admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.scope != TokenScope::Admin {
        return Err(ApiError::new(
            D,
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidInput,
            format!(
                "the token '{}' may use the models but not change the configuration; use an admin token",
                caller.name
            ),
        ));
    }
    Ok(())
}
