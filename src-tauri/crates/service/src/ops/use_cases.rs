//! Listing and changing use cases. Values are checked here as well as in the
//! UI: the UI is not the only guard.

use switchboard_core::{AppError, ModelRef, NewUseCase, UseCase, UseCaseConfig};

use crate::ops::models;
use crate::state::AppState;

pub async fn list(state: &AppState) -> Result<Vec<UseCase>, AppError> {
    Ok(state.store().use_cases().await?)
}

/// A model must be in the local library or listed by an enabled provider,
/// and a vision use case needs a vision model.
pub async fn check_model(state: &AppState, model: &str, vision: bool) -> Result<(), AppError> {
    let parsed = ModelRef::parse(model).map_err(|e| AppError::for_field("model", e.message))?;
    let options = models::list(state).await?;
    let Some(option) = options.iter().find(|o| o.id == model) else {
        let why = if parsed.is_local() {
            format!("{model} is not in the local model library")
        } else {
            format!(
                "{model} is not offered by an enabled provider: enable '{}' on the Providers page and test its connection to list its models",
                parsed.provider
            )
        };
        return Err(AppError::for_field("model", why));
    };
    if vision && !option.has("vision") {
        return Err(AppError::for_field(
            "model",
            format!("{model} is a text model and cannot serve a vision use case"),
        ));
    }
    Ok(())
}

pub async fn save(state: &AppState, id: &str, cfg: UseCaseConfig) -> Result<UseCase, AppError> {
    save_as(state, &state.actor, id, cfg).await
}

/// [`save`] audited as `actor` (the HTTP API names its token: `token:<name>`).
pub async fn save_as(state: &AppState, actor: &str, id: &str, cfg: UseCaseConfig) -> Result<UseCase, AppError> {
    let current = state.store().use_case(id).await?;
    if cfg.model != current.model {
        check_model(state, &cfg.model, current.vision).await?;
    }
    // A fallback added now must exist like the model; ones already saved may have gone since (the route skips them).
    for (i, c) in cfg.fallbacks.iter().enumerate() {
        if !current.fallbacks.iter().any(|old| old.model == c.model) {
            check_model(state, &c.model, current.vision)
                .await
                .map_err(|e| AppError { field: Some(format!("fallbacks.{i}.model")), ..e })?;
        }
    }
    Ok(state.store().save_use_case(actor, id, &cfg).await?)
}

pub async fn create(state: &AppState, new: NewUseCase) -> Result<UseCase, AppError> {
    new.validate()?;
    check_model(state, &new.model, new.vision).await?;
    Ok(state.store().create_use_case(&state.actor, &new).await?)
}

pub async fn delete(state: &AppState, id: &str) -> Result<(), AppError> {
    Ok(state.store().delete_use_case(&state.actor, id).await?)
}
