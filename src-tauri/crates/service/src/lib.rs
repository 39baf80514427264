//! What Switchboard is without a window: the state that lives as long as the
//! process (paths, store, gateway, engine worker) and each operation written
//! once. The desktop app, the local HTTP API and the command line are thin
//! layers over this crate.
//!
//! - [`state`]: paths, the open store, the engine, the default model's status.
//! - [`ops`]: one `async fn op(state, req)` per operation.
//! - [`housekeeping`]: background chores (expired request text, provider probes).
//! - [`logging`]: log lines with secrets masked, to stderr and a file.
//!
//! **Architecture Invariant:** nothing here depends on Tauri or a display.

pub mod housekeeping;
pub mod logging;
pub mod ops;
pub mod state;

pub use state::{AppState, Paths};
