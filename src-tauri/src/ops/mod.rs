//! Each operation written once, free of Tauri: a command, a test or (later)
//! the local HTTP API calls these and adds only transport.

pub mod default_model;
pub mod generate;
pub mod history;
