//! Local-versus-cloud comparisons: one at a time, stoppable, saved whole;
//! prompts from a JSON or CSV file; reports exported as Markdown with their
//! charts as SVG files beside it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use switchboard_core::{
    AppError, ComparisonListing, ComparisonReport, ComparisonRequest, ErrorCode, MAX_PROMPT_FILE_BYTES_U64,
};
use switchboard_gateway::ComparisonProgress;
use switchboard_store::queries::reports;

use crate::state::AppState;

pub async fn run(
    state: &AppState,
    req: &ComparisonRequest,
    on_progress: impl Fn(ComparisonProgress),
) -> Result<ComparisonReport, AppError> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let mut running = state.comparison.lock().expect("comparison lock");
        if running.is_some() {
            return Err(AppError::new(ErrorCode::Busy, "a comparison is already running; stop it or wait for it"));
        }
        *running = Some(stop.clone());
    }
    let result = state.gateway.compare(req, &stop, on_progress).await;
    *state.comparison.lock().expect("comparison lock") = None;
    result
}

/// Stops the comparison running now after its current request; false when none runs.
pub fn stop(state: &AppState) -> bool {
    match &*state.comparison.lock().expect("comparison lock") {
        Some(flag) => {
            flag.store(true, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

pub async fn list(state: &AppState) -> Result<Vec<ComparisonListing>, AppError> {
    Ok(reports::list(state.store().pool()).await?)
}

pub async fn get(state: &AppState, id: &str) -> Result<ComparisonReport, AppError> {
    reports::get(state.store().pool(), id)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no comparison report '{id}'")))
}

pub async fn delete(state: &AppState, id: &str) -> Result<(), AppError> {
    if reports::delete(state.store().pool(), id).await? {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::NotFound, format!("no comparison report '{id}'")))
    }
}

/// Prompts from a JSON or CSV file the user chose.
pub fn prompts_from_file(path: &Path) -> Result<Vec<String>, AppError> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let text = switchboard_files::read_text_capped(path, MAX_PROMPT_FILE_BYTES_U64)
        .map_err(|e| AppError::for_field("prompts", format!("{name}: {e}")))?;
    switchboard_core::parse_prompts(&text, &name)
}

/// Writes the report as `path` (Markdown) and its charts beside it as
/// `<stem>-<chart>.svg`; returns every file written.
pub fn export_markdown(report: &ComparisonReport, path: &Path) -> Result<Vec<String>, AppError> {
    let Some(dir) = path.parent().filter(|d| d.is_dir()) else {
        return Err(AppError::for_field("path", format!("the folder of {} does not exist", path.display())));
    };
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "comparison".into());
    let (md, images) = switchboard_core::comparison_md::report_markdown(report, &stem);
    let mut written = Vec::new();
    let mut write = |target: &Path, text: &str| -> Result<(), AppError> {
        use std::io::Write;
        let io = |e: std::io::Error| {
            AppError::new(ErrorCode::StorageFailed, format!("could not write {}: {e}", target.display()))
        };
        let mut tmp =
            tempfile::Builder::new().prefix(".switchboard-").suffix(".partial").tempfile_in(dir).map_err(io)?;
        tmp.write_all(text.as_bytes()).map_err(io)?;
        tmp.persist(target).map_err(|e| io(e.error))?;
        written.push(target.display().to_string());
        Ok(())
    };
    for (name, svg) in &images {
        write(&dir.join(name), svg)?;
    }
    write(path, &md)?;
    Ok(written)
}
