// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // The same binary is the engine worker: llama.cpp runs in a child process of the app.
    let args: Vec<String> = std::env::args().collect();
    if switchboard_engine::worker::run_if_requested(&args) {
        return;
    }
    if let Some(code) = switchboard_app::cli::run_if_requested(&args[1..]) {
        std::process::exit(code);
    }
    switchboard_app::run();
}
