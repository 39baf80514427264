// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // The same binary is the engine worker: llama.cpp runs in a child process of the app.
    let args: Vec<String> = std::env::args().collect();
    if switchboard_engine::worker::run_if_requested(&args) {
        return;
    }
    // `switchboard-desktop serve`, `... chat` and the rest: the command line, no window.
    if switchboard_cli::is_command(args.get(1).map(String::as_str)) {
        std::process::exit(switchboard_cli::run(args));
    }
    switchboard_app::run();
}
