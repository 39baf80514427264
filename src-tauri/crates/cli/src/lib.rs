//! Switchboard's command line, built without Tauri so that it runs where no
//! display or WebKitGTK is installed: `serve` (the gateway, the engine worker
//! and the HTTP API, no window) and one subcommand per task an admin or a
//! script does. It opens the same data folder and database as the app
//! (`--data-dir`, `$SWITCHBOARD_DATA_DIR`, else the app's own); SQLite's
//! locking (WAL, a busy time-out, `BEGIN IMMEDIATE` for every write) keeps
//! two processes on one database whole.
//!
//! Exit codes: 0 done, 1 failed, 2 bad arguments or input.
//!
//! - [`args`]: the clap definitions (`--help` text lives there).
//! - [`serve`]: `switchboard serve`.
//! - [`generate`]: `chat` and `describe`.
//! - [`admin`]: `models`, `use-cases`, `config`, `tokens`; [`providers`]: `providers`.
//! - [`ledger`]: `costs export` and `compare`.

pub mod admin;
pub mod args;
pub mod generate;
pub mod ledger;
pub mod providers;
pub mod serve;

use std::ffi::OsString;

use clap::Parser;
use serde::Serialize;
use switchboard_core::{AppError, ErrorCode};
use switchboard_service::{AppState, Paths};

pub use args::{Cli, Command};

/// The subcommands, so that the desktop app's binary can hand them over.
pub const COMMANDS: &[&str] = &[
    "serve",
    "chat",
    "describe",
    "models",
    "use-cases",
    "providers",
    "config",
    "costs",
    "compare",
    "tokens",
    "help",
    "--help",
    "-h",
    "--version",
    "-V",
];

/// Whether `args` (after the program name) asks for a command-line subcommand.
pub fn is_command(first: Option<&str>) -> bool {
    first.is_some_and(|a| COMMANDS.contains(&a))
}

/// Parses `args` (program name first), runs the command and returns the exit code.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(async move {
        match dispatch(cli).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("switchboard: {}", e.message);
                exit_code(&e)
            }
        }
    })
}

fn exit_code(e: &AppError) -> i32 {
    match e.code {
        ErrorCode::InvalidInput | ErrorCode::NotFound => 2,
        _ => 1,
    }
}

async fn dispatch(cli: Cli) -> Result<(), AppError> {
    let out = Out { json: cli.json };
    let paths = Paths::resolve(cli.data_dir.clone(), Paths::default_data_dir(), Paths::default_cache_dir());
    match cli.command {
        Command::Serve(a) => serve::run(paths, a).await,
        command => {
            let state = open(paths).await?;
            let result = match command {
                Command::Serve(_) => unreachable!("handled above"),
                Command::Chat(a) => generate::chat(&state, &out, a).await,
                Command::Describe(a) => generate::describe(&state, &out, a).await,
                Command::Models(a) => admin::models(&state, &out, a).await,
                Command::UseCases(a) => admin::use_cases(&state, &out, a).await,
                Command::Config(a) => admin::config(&state, &out, a).await,
                Command::Providers(a) => providers::run(&state, &out, a).await,
                Command::Tokens(a) => admin::tokens(&state, &out, a).await,
                Command::Costs(a) => ledger::costs(&state, &out, a).await,
                Command::Compare(a) => ledger::compare(&state, &out, a).await,
            };
            // Every ledger row acknowledged is on disk before the process ends.
            state.store().close().await;
            result
        }
    }
}

/// Opens the data folder the way the app does.
pub async fn open(paths: Paths) -> Result<AppState, AppError> {
    AppState::open(paths).await
}

/// How results are printed: for people, or as JSON with `--json`.
pub struct Out {
    pub json: bool,
}

impl Out {
    /// Prints `value` as JSON with `--json`, else what `human` makes of it.
    pub fn print<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).expect("results serialise"));
        } else {
            let text = human(value);
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }
}
