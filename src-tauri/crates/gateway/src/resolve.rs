//! From a name to what runs: the use case, and where a model runs.

use std::path::PathBuf;

use switchboard_core::{AppError, ErrorCode, ModelLoadSettings, ModelRef, ProviderSettings, UseCase};
use switchboard_store::StoreError;

use crate::Gateway;

/// Where a candidate runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The local engine, on this GGUF file, loaded with these settings.
    Local { path: PathBuf, load: ModelLoadSettings },
    /// A configured, enabled provider.
    Remote { provider: ProviderSettings },
    /// An endpoint group: its enabled members, balanced by its strategy.
    Group { group: switchboard_core::ProviderGroup, members: Vec<ProviderSettings> },
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

    /// Where a model runs: an enabled provider, or a local file (which must
    /// exist) with its load settings and library entry.
    pub(crate) async fn target_entry(&self, model: &ModelRef) -> Result<(Target, Option<crate::LocalEntry>), AppError> {
        if !model.is_local() {
            let provider = match self.store.provider(&model.provider).await {
                Ok(row) => row.settings,
                Err(StoreError::NotFound(_)) => {
                    if let Some(group) = self.store.group(&model.provider).await? {
                        let mut members = Vec::new();
                        for id in &group.members {
                            if let Ok(row) = self.store.provider(id).await {
                                if row.settings.enabled {
                                    members.push(row.settings);
                                }
                            }
                        }
                        if members.is_empty() {
                            return Err(AppError::new(
                                ErrorCode::ModelMissing,
                                format!("no member of the group {} is enabled (model {model})", group.name),
                            ));
                        }
                        return Ok((Target::Group { group, members }, None));
                    }
                    return Err(AppError::new(
                        ErrorCode::ModelMissing,
                        format!(
                            "no provider named '{}' is configured (model {model}); see the Providers page",
                            model.provider
                        ),
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            if !provider.enabled {
                return Err(AppError::new(
                    ErrorCode::ModelMissing,
                    format!(
                        "the provider {} is disabled; enable it on the Providers page to use {model}",
                        provider.display_name
                    ),
                ));
            }
            return Ok((Target::Remote { provider }, None));
        }
        let missing = || {
            AppError::new(
                ErrorCode::ModelMissing,
                format!(
                    "the model {model} is not in the library (models folder {}); if it is still downloading, try again when it is ready",
                    self.models_dir.display()
                ),
            )
        };
        let entry = self.local_model(&model.model).await?.ok_or_else(missing)?;
        if !entry.path.is_file() {
            return Err(AppError::new(
                ErrorCode::ModelMissing,
                format!(
                    "the file of {model} is gone ({}); import it again or remove it on the Models page",
                    entry.path.display()
                ),
            ));
        }
        Ok((Target::Local { path: entry.path.clone(), load: entry.load.clone() }, Some(entry)))
    }
}

/// One candidate of a use case's route as the configuration API shows it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct ResolvedCandidate {
    /// `provider/model`.
    pub model: String,
    /// The parameters a request without its own would run with here.
    pub params: switchboard_core::SamplingParams,
    /// Could be tried now (its provider enabled, the model known).
    pub available: bool,
    /// Why not, when it cannot.
    pub reason: Option<String>,
}

impl Gateway {
    /// `use_case`'s route in the order a request would try it ("prefer cloud"
    /// and "local only" applied), each candidate with its parameters.
    pub async fn resolved_route(
        &self,
        use_case: &switchboard_core::UseCase,
    ) -> Result<Vec<ResolvedCandidate>, AppError> {
        let (kept, skipped) = self.plan(use_case, None).await?;
        let mut out: Vec<ResolvedCandidate> = kept
            .into_iter()
            .map(|p| ResolvedCandidate {
                model: p.model.to_string(),
                params: p.params.unwrap_or_else(|| use_case.effective_params(None)),
                available: p.target.is_ok(),
                reason: p.target.err().map(|f| f.error.message),
            })
            .collect();
        out.extend(skipped.into_iter().map(|(model, f)| ResolvedCandidate {
            model: model.to_string(),
            params: use_case.effective_params(None),
            available: false,
            reason: Some(f.error.message),
        }));
        Ok(out)
    }
}
