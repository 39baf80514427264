//! Configuration export and import. An import is validated whole, previewed,
//! and applied in one transaction or not at all. Secrets are never part of it.

use serde::Serialize;
use switchboard_core::{AppError, ConfigFile, UseCase};
use switchboard_store::config::config_changes;

use crate::ops::models;
use crate::state::AppState;

/// The configuration as pretty-printed JSON.
pub async fn export(state: &AppState) -> Result<String, AppError> {
    let use_cases = state.store().use_cases().await?;
    Ok(serde_json::to_string_pretty(&ConfigFile::new(switchboard_store::config::now(), &use_cases))
        .expect("config serialises"))
}

/// An export written to the data folder's `exports/`.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ExportedConfig {
    pub path: String,
    pub json: String,
}

pub async fn export_to_file(state: &AppState) -> Result<ExportedConfig, AppError> {
    let json = export(state).await?;
    let dir = state.paths.data_dir.join("exports");
    let stamp = switchboard_store::config::now().replace([':', '.'], "-");
    let path = dir.join(format!("switchboard-config-{stamp}.json"));
    // Readable by the user only, like the rest of the data folder.
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        switchboard_files::create_private_dir(&dir)?;
        switchboard_files::private_file_options().write(true).create_new(true).open(&path)?.write_all(json.as_bytes())
    };
    write().map_err(|e| {
        AppError::new(switchboard_core::ErrorCode::StorageFailed, format!("cannot write {}: {e}", path.display()))
    })?;
    Ok(ExportedConfig { path: path.display().to_string(), json })
}

/// One field an import would change.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ConfigChange {
    pub use_case: String,
    pub field: String,
    pub old_value: String,
    pub new_value: String,
}

/// What applying a file would do.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ImportPreview {
    pub use_cases_in_file: u32,
    pub changes: Vec<ConfigChange>,
    /// Use cases the file adds.
    pub new_use_cases: Vec<String>,
    /// Models the file names that are not in the library (requests to them will fail until they are).
    pub unknown_models: Vec<String>,
}

pub async fn preview(state: &AppState, text: &str) -> Result<ImportPreview, AppError> {
    plan(state, &ConfigFile::parse(text)?).await
}

/// Compares a parsed file with the installation; refuses what cannot be applied.
async fn plan(state: &AppState, file: &ConfigFile) -> Result<ImportPreview, AppError> {
    let current = state.store().use_cases().await?;
    let known: Vec<String> = models::list(state).await?.into_iter().map(|m| m.id).collect();
    let mut preview = ImportPreview {
        use_cases_in_file: file.use_cases.len() as u32,
        changes: Vec::new(),
        new_use_cases: Vec::new(),
        unknown_models: Vec::new(),
    };
    for exported in &file.use_cases {
        let incoming = exported.to_use_case();
        match current.iter().find(|u| u.id == incoming.id) {
            Some(existing) => {
                if existing.vision != incoming.vision {
                    return Err(AppError::new(
                        switchboard_core::ErrorCode::InvalidInput,
                        format!(
                            "use case '{}': the file says vision = {}, the installation {}",
                            incoming.id, incoming.vision, existing.vision
                        ),
                    ));
                }
                for c in config_changes(&incoming.id, "import", &existing.config(), &incoming.config()) {
                    preview.changes.push(ConfigChange {
                        use_case: incoming.id.clone(),
                        field: c.field.unwrap_or_default(),
                        old_value: c.old_value.unwrap_or_default(),
                        new_value: c.new_value.unwrap_or_default(),
                    });
                }
            }
            None => preview.new_use_cases.push(incoming.id.clone()),
        }
        if !known.contains(&incoming.model) && !preview.unknown_models.contains(&incoming.model) {
            preview.unknown_models.push(incoming.model.clone());
        }
    }
    Ok(preview)
}

/// Validates the whole file again and applies it atomically; returns how many use cases changed.
pub async fn apply(state: &AppState, text: &str) -> Result<u32, AppError> {
    let file = ConfigFile::parse(text)?;
    plan(state, &file).await?;
    let use_cases: Vec<UseCase> = file.use_cases.iter().map(|u| u.to_use_case()).collect();
    Ok(state.store().import_use_cases(&state.actor, &use_cases).await? as u32)
}
