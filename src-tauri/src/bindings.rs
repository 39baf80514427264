//! The one registry of commands and events, and the TypeScript file generated
//! from it (`src/bindings.ts`). A test fails when that file is stale.

use std::path::{Path, PathBuf};

use serde::Serialize;
use specta_typescript::Typescript;
use tauri_specta::{collect_commands, collect_events, Builder, Event};

use crate::commands;
use crate::state::ModelStatus;

/// Emitted whenever the default model's status changes (download progress included).
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
pub struct ModelStatusChanged(pub ModelStatus);

/// Emitted for each routing event (fell back, budget warnings, circuits, rate limits).
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
pub struct RoutingEventRaised(pub switchboard_core::RoutingEvent);

pub fn builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            commands::app_info,
            commands::engine_devices,
            commands::model_status,
            commands::generate,
            commands::cancel_generation,
            commands::ledger_page,
            commands::ledger_count,
            commands::request_detail,
            commands::ledger_facets,
            commands::export_ledger,
            commands::cost_report,
            commands::latency_percentiles,
            commands::estimate_cost,
            commands::run_comparison,
            commands::stop_comparison,
            commands::list_comparisons,
            commands::comparison_report,
            commands::delete_comparison,
            commands::sample_prompts,
            commands::prompts_from_file,
            commands::export_comparison,
            commands::list_use_cases,
            commands::save_use_case,
            commands::create_use_case,
            commands::delete_use_case,
            commands::list_models,
            commands::export_config,
            commands::preview_config_import,
            commands::apply_config_import,
            commands::list_audit,
            commands::list_providers,
            commands::save_providers,
            commands::create_provider,
            commands::delete_provider,
            commands::create_group,
            commands::delete_group,
            commands::test_provider,
            commands::refresh_provider_models,
            commands::reveal_provider_key,
            commands::import_prices,
            commands::models_page,
            commands::import_model,
            commands::save_model_settings,
            commands::load_model_now,
            commands::unload_model,
            commands::delete_model,
            commands::save_engine_settings,
            commands::start_download,
            commands::pause_download,
            commands::resume_download,
            commands::cancel_download,
            commands::embed,
            commands::vision_page,
            commands::image_previews,
            commands::describe_image,
            commands::save_text_as,
            commands::pick_files,
            commands::ui_prefs,
            commands::save_ui_prefs,
            commands::routing_settings,
            commands::save_routing_settings,
            commands::candidate_states,
            commands::routing_events,
            commands::api_page,
            commands::save_api_settings,
            commands::create_api_token,
            commands::revoke_api_token,
        ])
        .events(collect_events![ModelStatusChanged, RoutingEventRaised])
        // One TypeScript type per Rust type; the wire shapes are the serialised ones.
        .disable_serde_phases()
}

/// Where the front end expects the bindings.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../src/bindings.ts")
}

pub fn export(builder: &Builder<tauri::Wry>, path: &Path) -> Result<(), String> {
    let ts = Typescript::default()
        .header("// Generated from the Rust commands by tauri-specta. Do not edit.\n// Regenerate: npm run bindings\n");
    builder.export(ts, path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_bindings_are_current() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("bindings.ts");
        export(&builder(), &fresh).unwrap();
        let fresh = std::fs::read_to_string(fresh).unwrap();
        let committed = std::fs::read_to_string(default_path()).unwrap_or_default();
        assert!(committed == fresh, "src/bindings.ts is stale: run `npm run bindings` and commit the result");
    }
}
