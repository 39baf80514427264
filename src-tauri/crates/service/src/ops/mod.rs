//! Each operation written once, free of Tauri: a Tauri command, an HTTP
//! handler, a command-line subcommand or a test calls these and adds only transport.

pub mod api;
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
