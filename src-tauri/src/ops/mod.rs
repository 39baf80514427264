//! Each operation written once, free of Tauri: a command, a test or (later)
//! the local HTTP API calls these and adds only transport.

pub mod audit;
pub mod compare;
pub mod config_io;
pub mod default_model;
pub mod history;
pub mod library;
pub mod models;
pub mod prefs;
pub mod providers;
pub mod routing;
pub mod use_cases;
pub mod vision;
