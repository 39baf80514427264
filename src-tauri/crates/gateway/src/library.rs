//! The local model library as routing sees it: the GGUF files in the models
//! folder plus the rows of `local_models` (models referenced where they lie,
//! paired vision projectors, per-model load settings).

use std::path::PathBuf;

use switchboard_core::{AppError, ModelLoadSettings};
use switchboard_store::queries::local_models::{self, LocalModelRow};

use crate::Gateway;

/// A local model: where its file is and how to load it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalEntry {
    pub id: String,
    pub path: PathBuf,
    /// The file lies outside the models folder (deleting the entry leaves it there).
    pub referenced: bool,
    pub projector_path: Option<PathBuf>,
    pub load: ModelLoadSettings,
    /// The row, when the admin set something for this model.
    pub row: Option<LocalModelRow>,
}

impl From<LocalModelRow> for LocalEntry {
    fn from(r: LocalModelRow) -> Self {
        Self {
            id: r.id.clone(),
            path: PathBuf::from(&r.path),
            referenced: r.referenced,
            projector_path: r.projector_path.as_ref().map(PathBuf::from),
            load: r.load.clone(),
            row: Some(r),
        }
    }
}

impl From<switchboard_models::library::LocalModelFile> for LocalEntry {
    /// A file in the models folder that has no row: default settings, no projector.
    fn from(f: switchboard_models::library::LocalModelFile) -> Self {
        Self {
            id: f.id,
            path: f.path,
            referenced: false,
            projector_path: None,
            load: ModelLoadSettings::default(),
            row: None,
        }
    }
}

impl Gateway {
    /// Every local model: folder files (projectors included) and referenced files, by id.
    pub async fn local_models(&self) -> Result<Vec<LocalEntry>, AppError> {
        let rows = local_models::list(self.store.pool()).await?;
        let mut out: Vec<LocalEntry> = switchboard_models::library::scan_all(&self.models_dir)
            .into_iter()
            .filter(|f| !rows.iter().any(|r| r.id == f.id))
            .map(LocalEntry::from)
            .collect();
        out.extend(rows.into_iter().map(LocalEntry::from));
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The local model with this id, if the library has it (its file may be gone).
    pub async fn local_model(&self, id: &str) -> Result<Option<LocalEntry>, AppError> {
        if let Some(r) = local_models::get(self.store.pool(), id).await? {
            return Ok(Some(r.into()));
        }
        Ok(switchboard_models::library::find(&self.models_dir, id).map(LocalEntry::from))
    }
}
