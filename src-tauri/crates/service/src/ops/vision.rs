//! The Vision page: which model describes images, previews of dropped or
//! picked files (each checked on its own), past descriptions, saving one.

use std::path::Path;

use base64::Engine as _;
use serde::Serialize;
use switchboard_core::{AppError, ErrorCode, ModelRef, UseCase};
use switchboard_gateway::DEFAULT_VISION_PROMPT;
use switchboard_images::ImageLimits;
use switchboard_store::queries::vision::{self, VisionDescription};

use crate::state::AppState;

pub const VISION_USE_CASE: &str = "vision_vlm";

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct VisionPage {
    pub use_case: UseCase,
    /// `provider/model` the use case sends images to.
    pub model: String,
    /// Why that model cannot describe images now (no projector, missing file), if so.
    pub problem: Option<String>,
    /// The prompt box's starting text: the use case's system prompt is separate.
    pub default_prompt: String,
    pub history: Vec<VisionDescription>,
}

/// A file as the Vision page shows it before describing it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ImagePreview {
    pub path: String,
    pub name: String,
    /// Why this file cannot be described (not an image, corrupt, too large...).
    pub error: Option<String>,
    pub format: Option<String>,
    pub width: u32,
    pub height: u32,
    /// A small PNG as a `data:` URL.
    pub thumbnail: Option<String>,
    pub sha256: Option<String>,
}

pub async fn page(state: &AppState) -> Result<VisionPage, AppError> {
    let use_case = state.store().use_case(VISION_USE_CASE).await?;
    let model = use_case.model.clone();
    // A problem with the model is worth a warning; if a fallback can see, requests go there.
    let mut problem = model_problem(state, &model).await;
    if let Some(p) = &problem {
        for c in &use_case.fallbacks {
            if model_problem(state, &c.model).await.is_none() {
                problem = Some(format!("{p}. Requests fall back to {}.", c.model));
                break;
            }
        }
    }
    let history = vision::recent(state.store().pool(), 50).await?;
    Ok(VisionPage { use_case, model, problem, default_prompt: DEFAULT_VISION_PROMPT.into(), history })
}

async fn model_problem(state: &AppState, model: &str) -> Option<String> {
    let parsed = match ModelRef::parse(model) {
        Ok(m) => m,
        Err(e) => return Some(e.message),
    };
    if !parsed.is_local() {
        let options = crate::ops::models::list(state).await.ok()?;
        return match options.iter().find(|o| o.id == model) {
            Some(o) if o.has("vision") => None,
            Some(_) => Some(format!("{model} is not known to take images")),
            None => Some(format!("{model} is not offered by an enabled provider")),
        };
    }
    match state.gateway.local_model(&parsed.model).await {
        Ok(Some(entry)) => match entry.projector_path {
            None => Some(format!(
                "{model} has no vision projector: pair an mmproj file with it on the Models page, or choose a vision model for the use case"
            )),
            Some(p) if !p.is_file() => Some(format!("the vision projector of {model} is gone ({})", p.display())),
            Some(_) => None,
        },
        Ok(None) => Some(format!("{model} is not in the library")),
        Err(e) => Some(e.message),
    }
}

/// Checks each file on its own: a bad one gets its reason, the others a thumbnail.
pub async fn previews(paths: Vec<String>) -> Vec<ImagePreview> {
    tokio::task::spawn_blocking(move || paths.into_iter().map(|p| preview(Path::new(&p))).collect())
        .await
        .unwrap_or_default()
}

fn preview(path: &Path) -> ImagePreview {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    let mut out = ImagePreview {
        path: path.display().to_string(),
        name,
        error: None,
        format: None,
        width: 0,
        height: 0,
        thumbnail: None,
        sha256: None,
    };
    let limits = ImageLimits { max_side: 512, ..ImageLimits::default() };
    match switchboard_images::load(path, &limits) {
        Ok(img) => {
            out.format = Some(img.format.to_string());
            out.width = img.original_width;
            out.height = img.original_height;
            out.sha256 = Some(img.sha256.clone());
            let png = img.thumbnail_png(160);
            out.thumbnail =
                Some(format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)));
        }
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}

/// Writes a description to the text file the user chose in the save dialog:
/// through a uniquely named temporary file in the same folder, then renamed,
/// readable by the user only.
pub async fn save_text(path: &Path, text: String) -> Result<(), AppError> {
    if !path.is_absolute() || path.file_name().is_none() {
        return Err(AppError::for_field("path", "choose a file to save to"));
    }
    let Some(dir) = path.parent().filter(|d| d.is_dir()) else {
        return Err(AppError::for_field("path", format!("the folder of {} does not exist", path.display())));
    };
    let (dir, target) = (dir.to_path_buf(), path.to_path_buf());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        // tempfile creates its files with mode 0600.
        let mut tmp = tempfile::Builder::new().prefix(".switchboard-").suffix(".partial").tempfile_in(&dir)?;
        tmp.write_all(text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&target).map_err(|e| e.error)?;
        Ok(())
    })
    .await
    .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?
    .map_err(|e| AppError::new(ErrorCode::StorageFailed, format!("cannot write {}: {e}", path.display())))
}
