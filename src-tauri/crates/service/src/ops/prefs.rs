//! Small UI preferences (theme, language, navigation layout), kept in the
//! database's `app_settings` like every other setting. (A file store the web
//! view could name paths for would be a way to write outside the data folder.)

use serde::{Deserialize, Serialize};
use switchboard_core::AppError;
use switchboard_store::queries::local_models;

use crate::state::AppState;

const KEY: &str = "ui_prefs";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    Light,
    Dark,
    #[default]
    Auto,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    En,
    De,
    Zh,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct UiPrefs {
    pub theme: Theme,
    pub language: Language,
    pub nav_collapsed: bool,
}

/// The saved preferences; defaults for anything missing or unreadable.
pub async fn load(state: &AppState) -> Result<UiPrefs, AppError> {
    let saved = local_models::setting(state.store().pool(), KEY).await?;
    Ok(saved.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default())
}

pub async fn save(state: &AppState, prefs: &UiPrefs) -> Result<UiPrefs, AppError> {
    let json = serde_json::to_string(prefs).expect("prefs serialise");
    local_models::set_setting(state.store().pool(), KEY, &json, &switchboard_store::now()).await?;
    Ok(prefs.clone())
}
