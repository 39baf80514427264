//! The Models page: the local library with what each GGUF header says,
//! imports (copy or reference), downloads, deletion, per-model load settings,
//! vision projector pairing, and the engine's residency settings.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use switchboard_core::{AppError, ErrorCode, ModelLoadSettings, ModelRef, ResidentModel};
use switchboard_gateway::LocalEntry;
use switchboard_models::library::ModelFacts;
use switchboard_models::{DownloadRequest, DownloadStatus};
use switchboard_store::queries::local_models::{self, LocalModelRow};

use crate::state::AppState;

/// One model in the library.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct LibraryModel {
    /// The id in `local/<id>`.
    pub id: String,
    pub path: String,
    /// The file lies outside the models folder (deleting the entry leaves it there).
    pub referenced: bool,
    pub size_bytes: f64,
    /// From the GGUF header; absent when the file cannot be read (see `error`).
    pub facts: Option<ModelFacts>,
    pub error: Option<String>,
    /// `text`, `vision` (a projector is paired), `embedding`, or `projector`.
    pub capabilities: Vec<String>,
    /// The id of the paired vision projector.
    pub projector: Option<String>,
    pub load: ModelLoadSettings,
    /// Held in the engine's memory now.
    pub resident: Option<ResidentModel>,
    /// Use cases that name this model.
    pub used_by: Vec<String>,
}

/// How long models stay in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct EngineSettings {
    /// Models held in memory at once (1 to 8); the least recently used goes first.
    pub max_resident_models: u32,
    /// Minutes a model may sit unused before it is unloaded (0: never; at most 1440).
    pub idle_unload_minutes: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        let d = switchboard_engine::EngineConfig::default();
        Self { max_resident_models: d.max_resident_models, idle_unload_minutes: (d.idle_unload_secs / 60) as u32 }
    }
}

impl EngineSettings {
    pub fn validate(&self) -> Result<(), AppError> {
        if !(1..=8).contains(&self.max_resident_models) {
            return Err(AppError::for_field(
                "max_resident_models",
                format!("resident models must be 1 to 8, not {}", self.max_resident_models),
            ));
        }
        if self.idle_unload_minutes > 1440 {
            return Err(AppError::for_field(
                "idle_unload_minutes",
                format!("the idle time-out must be 0 to 1440 minutes, not {}", self.idle_unload_minutes),
            ));
        }
        Ok(())
    }

    pub fn apply(&self, mut config: switchboard_engine::EngineConfig) -> switchboard_engine::EngineConfig {
        config.max_resident_models = self.max_resident_models;
        config.idle_unload_secs = u64::from(self.idle_unload_minutes) * 60;
        config
    }
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ModelsPage {
    pub models_dir: String,
    pub models: Vec<LibraryModel>,
    pub downloads: Vec<DownloadStatus>,
    pub engine: EngineSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Copy the file into the models folder.
    Copy,
    /// Use the file where it is.
    Reference,
}

/// What the admin sets for one model.
#[derive(Debug, Clone, PartialEq, Deserialize, specta::Type)]
pub struct ModelSettings {
    pub load: ModelLoadSettings,
    /// The id of a projector in the library, or none.
    pub projector: Option<String>,
}

const ENGINE_SETTINGS_KEY: &str = "engine";

pub async fn engine_settings(state: &AppState) -> Result<EngineSettings, AppError> {
    Ok(local_models::setting(state.store().pool(), ENGINE_SETTINGS_KEY)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

pub async fn save_engine_settings(state: &AppState, settings: EngineSettings) -> Result<ModelsPage, AppError> {
    settings.validate()?;
    let json = serde_json::to_string(&settings).expect("settings serialise");
    local_models::set_setting(state.store().pool(), ENGINE_SETTINGS_KEY, &json, &switchboard_store::now()).await?;
    state.engine.set_config(settings.apply(state.engine.config()));
    tracing::info!(?settings, "engine settings saved");
    page(state).await
}

pub async fn page(state: &AppState) -> Result<ModelsPage, AppError> {
    let entries = state.gateway.local_models().await?;
    let resident = state.engine_resident();
    let use_cases = state.store().use_cases().await?;
    let models = tokio::task::spawn_blocking(move || {
        let described: Vec<(LocalEntry, Result<ModelFacts, String>, u64)> = entries
            .into_iter()
            .map(|e| {
                let facts = switchboard_models::library::describe(&e.path).map_err(|err| err.to_string());
                let size = std::fs::metadata(&e.path).map(|m| m.len()).unwrap_or(0);
                (e, facts, size)
            })
            .collect();
        let projector_id =
            |path: &Path| described.iter().find(|(e, _, _)| e.path == path).map(|(e, _, _)| e.id.clone());
        described
            .iter()
            .map(|(e, facts, size)| {
                let mut capabilities = Vec::new();
                match facts {
                    Ok(f) if f.projector => capabilities.push("projector".to_string()),
                    Ok(f) if f.embedding => capabilities.push("embedding".to_string()),
                    Ok(_) => {
                        capabilities.push("text".to_string());
                        if e.projector_path.as_deref().is_some_and(Path::is_file) {
                            capabilities.push("vision".to_string());
                        }
                    }
                    Err(_) => {}
                }
                let local_ref = ModelRef::local(&e.id).to_string();
                LibraryModel {
                    id: e.id.clone(),
                    path: e.path.display().to_string(),
                    referenced: e.referenced,
                    size_bytes: *size as f64,
                    facts: facts.as_ref().ok().cloned(),
                    error: facts.as_ref().err().cloned(),
                    capabilities,
                    projector: e.projector_path.as_deref().and_then(projector_id),
                    load: e.load.clone(),
                    resident: resident.iter().find(|r| Path::new(&r.path) == e.path).cloned(),
                    used_by: use_cases.iter().filter(|u| u.model == local_ref).map(|u| u.name.clone()).collect(),
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(ModelsPage {
        models_dir: state.paths.models_dir.display().to_string(),
        models,
        downloads: state.downloads.list(),
        engine: engine_settings(state).await?,
    })
}

/// The id a file gets: its name without `.gguf`, checked like a downloaded file's.
fn id_for(path: &Path) -> Result<String, AppError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    switchboard_models::download::check_model_file_name(name)
        .map_err(|e| AppError::for_field("path", e.to_string()))?;
    Ok(name[..name.len() - ".gguf".len()].to_string())
}

/// Adds a GGUF file from disk: copied into the models folder, or referenced where it is.
pub async fn import(state: &AppState, path: String, mode: ImportMode) -> Result<LibraryModel, AppError> {
    let source = PathBuf::from(path.trim());
    if path.trim().is_empty() || !source.is_absolute() {
        return Err(AppError::for_field("path", "give the full path of a .gguf file"));
    }
    let meta = std::fs::metadata(&source)
        .map_err(|e| AppError::for_field("path", format!("cannot read {}: {e}", source.display())))?;
    if !meta.is_file() {
        return Err(AppError::for_field("path", format!("{} is not a file", source.display())));
    }
    let id = id_for(&source)?;
    let header = {
        let source = source.clone();
        tokio::task::spawn_blocking(move || switchboard_models::gguf::read_header(&source))
            .await
            .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?
    };
    if let Err(e) = header {
        return Err(AppError::for_field("path", e.to_string()));
    }
    let models_dir = state.paths.models_dir.clone();
    if source.parent().and_then(|p| p.canonicalize().ok()) == models_dir.canonicalize().ok() {
        return Err(AppError::for_field("path", format!("{} is already in the models folder", source.display())));
    }
    if state.gateway.local_model(&id).await?.is_some() {
        return Err(AppError::for_field(
            "path",
            format!("a model named {id} is already in the library; rename the file or delete the other one first"),
        ));
    }
    let at = switchboard_store::now();
    match mode {
        ImportMode::Copy => {
            let dest = models_dir.join(format!("{id}.gguf"));
            let (from, to, dir) = (source.clone(), dest.clone(), models_dir.clone());
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                // A regular file only, copied under a name no other import shares, then
                // moved into place; the partial file is removed if anything fails.
                let mut input = switchboard_files::open_regular(&from)?;
                let mut tmp = tempfile::Builder::new().prefix(".import-").suffix(".partial").tempfile_in(&dir)?;
                std::io::copy(&mut input, tmp.as_file_mut())?;
                tmp.as_file().sync_all()?;
                tmp.persist_noclobber(&to).map_err(|e| e.error)?;
                Ok(())
            })
            .await
            .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?
            .map_err(|e| {
                AppError::new(
                    ErrorCode::StorageFailed,
                    format!("cannot copy {} into the models folder: {e}", source.display()),
                )
            })?;
            tracing::info!(from = %source.display(), to = %dest.display(), "model copied into the library");
        }
        ImportMode::Reference => {
            let canonical = source.canonicalize().unwrap_or(source.clone());
            let row = LocalModelRow {
                id: id.clone(),
                path: canonical.display().to_string(),
                referenced: true,
                projector_path: None,
                load: ModelLoadSettings::default(),
                added_at: at.clone(),
            };
            local_models::upsert(state.store().pool(), &row, &at).await?;
            tracing::info!(path = %canonical.display(), "model referenced in the library");
        }
    }
    find(state, &id).await
}

/// Loads a text model into memory now, with its load settings, so that its
/// first request does not wait for it (Ollama's empty-prompt request does this).
pub async fn load_now(state: &AppState, id: &str) -> Result<LibraryModel, AppError> {
    let model = find(state, id).await?;
    if let Some(error) = &model.error {
        return Err(AppError::new(ErrorCode::ModelLoadFailed, format!("{id} cannot be read: {error}")));
    }
    if !model.capabilities.iter().any(|c| c == "text") {
        let what = if model.capabilities.iter().any(|c| c == "projector") {
            "a vision projector is loaded with the text model it is paired with"
        } else {
            "an embedding model is loaded by its first request"
        };
        return Err(AppError::new(ErrorCode::InvalidInput, format!("{id}: {what}")));
    }
    let engine = state.engine.clone();
    let (path, load) = (PathBuf::from(&model.path), model.load.clone());
    let load_ms = tokio::task::spawn_blocking(move || switchboard_core::TextEngine::load_model(&*engine, &path, &load))
        .await
        .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))??;
    tracing::info!(model = id, load_ms, "model loaded ahead of a request");
    find(state, id).await
}

/// Takes a model out of memory once the requests on it have ended (the next request loads it again).
pub async fn unload(state: &AppState, id: &str) -> Result<LibraryModel, AppError> {
    let model = find(state, id).await?;
    let engine = state.engine.clone();
    let path = PathBuf::from(&model.path);
    tokio::task::spawn_blocking(move || switchboard_core::TextEngine::unload_model(&*engine, &path))
        .await
        .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))??;
    find(state, id).await
}

async fn find(state: &AppState, id: &str) -> Result<LibraryModel, AppError> {
    page(state)
        .await?
        .models
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| AppError::new(ErrorCode::ModelMissing, format!("no model {id} in the library")))
}

/// Sets a model's load settings and vision projector.
pub async fn save_settings(state: &AppState, id: &str, settings: ModelSettings) -> Result<LibraryModel, AppError> {
    settings.load.validate()?;
    let entry = state
        .gateway
        .local_model(id)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::ModelMissing, format!("no model {id} in the library")))?;
    let projector_path = match settings.projector.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(pid) => {
            let projector = state
                .gateway
                .local_model(pid)
                .await?
                .ok_or_else(|| AppError::for_field("projector", format!("no projector {pid} in the library")))?;
            let (p_path, m_path) = (projector.path.clone(), entry.path.clone());
            let (p_facts, m_facts) = tokio::task::spawn_blocking(move || {
                (switchboard_models::library::describe(&p_path), switchboard_models::library::describe(&m_path))
            })
            .await
            .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
            let p_facts = p_facts.map_err(|e| AppError::for_field("projector", e.to_string()))?;
            if !p_facts.projector {
                return Err(AppError::for_field("projector", format!("{pid} is not a vision projector (mmproj)")));
            }
            if let (Some(dim), Ok(Some(width))) = (p_facts.projection_dim, m_facts.map(|f| f.embedding_length)) {
                if dim != width {
                    return Err(AppError::for_field(
                        "projector",
                        format!(
                            "{pid} produces {dim}-wide embeddings but {id} reads {width}; they do not belong together"
                        ),
                    ));
                }
            }
            Some(projector.path.display().to_string())
        }
    };
    let at = switchboard_store::now();
    let row = LocalModelRow {
        id: entry.id.clone(),
        path: entry.path.display().to_string(),
        referenced: entry.referenced,
        projector_path,
        load: settings.load,
        added_at: entry.row.map(|r| r.added_at).unwrap_or_else(|| at.clone()),
    };
    local_models::upsert(state.store().pool(), &row, &at).await?;
    tracing::info!(model = id, load = ?row.load, projector = ?row.projector_path, "model settings saved");
    find(state, id).await
}

/// Removes a model: a file in the models folder is deleted; a referenced file stays where it is.
pub async fn delete(state: &AppState, id: &str) -> Result<ModelsPage, AppError> {
    let entry = state
        .gateway
        .local_model(id)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::ModelMissing, format!("no model {id} in the library")))?;
    let local_ref = ModelRef::local(id).to_string();
    let users: Vec<String> =
        state.store().use_cases().await?.into_iter().filter(|u| u.model == local_ref).map(|u| u.name).collect();
    if !users.is_empty() {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("{id} is assigned to {}; assign another model there first", users.join(", ")),
        ));
    }
    if !entry.referenced {
        match std::fs::remove_file(&entry.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(AppError::new(
                    ErrorCode::StorageFailed,
                    format!("cannot delete {}: {e}", entry.path.display()),
                ))
            }
        }
    }
    local_models::delete(state.store().pool(), id).await?;
    tracing::info!(model = id, referenced = entry.referenced, "model removed from the library");
    page(state).await
}

pub fn start_download(state: &AppState, request: DownloadRequest) -> Result<DownloadStatus, AppError> {
    state.downloads.start(request).map_err(|e| {
        let err: AppError = e.into();
        if err.code == ErrorCode::InvalidInput {
            AppError { field: Some("url".into()), ..err }
        } else {
            err
        }
    })
}
