//! The engine worker as a binary of its own (tests and tools); the app runs
//! the same loop as `switchboard --engine-worker`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !switchboard_engine::worker::run_if_requested(&args) {
        eprintln!("usage: engine-worker --engine-worker [<engine config json>]");
        std::process::exit(2);
    }
}
