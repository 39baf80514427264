//! From a request to what runs: use case, model, parameters.

use std::path::PathBuf;

use switchboard_core::{AppError, ErrorCode, ModelRef, SamplingParams, UseCase};
use switchboard_store::StoreError;

use crate::{Gateway, LlmRequest};

/// A request resolved against the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub use_case: UseCase,
    pub model: ModelRef,
    pub model_path: PathBuf,
    pub params: SamplingParams,
}

impl Gateway {
    /// The use case a request names; unknown ids are refused before anything is recorded.
    pub async fn use_case(&self, id: &str) -> Result<UseCase, AppError> {
        match self.store.use_case(id).await {
            Ok(uc) => Ok(uc),
            Err(StoreError::NotFound(_)) => {
                Err(AppError::new(ErrorCode::InvalidInput, format!("unknown use case '{id}'")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Model: the request's, else the use case's. Parameters: the request's
    /// override, else the custom parameters when switched on, else the defaults.
    pub async fn resolve(&self, use_case: &UseCase, req: &LlmRequest) -> Result<Resolved, AppError> {
        if !use_case.enabled {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("the use case '{}' is disabled; enable it on the Use cases page", use_case.id),
            ));
        }
        let model = ModelRef::parse(req.model.as_deref().unwrap_or(&use_case.model))?;
        let params = use_case.effective_params(req.params.as_ref());
        params.validate().map_err(|e| AppError::for_field(e.field.clone(), e.to_string()))?;
        if !model.is_local() {
            return Err(AppError::new(
                ErrorCode::ModelMissing,
                format!("the provider '{}' of {model} is not configured on this workstation", model.provider),
            ));
        }
        let file = switchboard_models::library::find(&self.models_dir, &model.model).ok_or_else(|| {
            AppError::new(
                ErrorCode::ModelMissing,
                format!(
                    "the model {model} is not in the models folder ({}); if it is still downloading, try again when it is ready",
                    self.models_dir.display()
                ),
            )
        })?;
        if use_case.vision {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("{model} is a text model and cannot serve the vision use case '{}'", use_case.id),
            ));
        }
        Ok(Resolved { use_case: use_case.clone(), model, model_path: file.path, params })
    }
}
