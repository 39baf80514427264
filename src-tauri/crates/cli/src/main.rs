//! `switchboard`: the command line and the headless server. With
//! `--engine-worker` the process is the llama.cpp worker the service starts.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if switchboard_engine::worker::run_if_requested(&args) {
        return;
    }
    std::process::exit(switchboard_cli::run(std::env::args_os()));
}
