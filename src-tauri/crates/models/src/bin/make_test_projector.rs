//! `make-test-projector PATH [WIDTH]`: writes the random-weight vision
//! projector (mmproj GGUF, projector type gemma3) used by the vision tests and
//! benchmark; WIDTH is the text model's embedding width (640 for the test model).

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: make-test-projector PATH [WIDTH]");
        return std::process::ExitCode::from(2);
    };
    let width = match args.next().map(|w| w.parse::<u32>()) {
        None => 640,
        Some(Ok(w)) if w > 0 => w,
        Some(_) => {
            eprintln!("make-test-projector: WIDTH must be a positive number");
            return std::process::ExitCode::from(2);
        }
    };
    let path = std::path::PathBuf::from(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(parent) {
            eprintln!("make-test-projector: {e}");
            return std::process::ExitCode::FAILURE;
        }
    }
    match switchboard_models::projector::write_test_projector(&path, width, 1) {
        Ok(()) => {
            println!("{}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-test-projector: {}: {e}", path.display());
            std::process::ExitCode::FAILURE
        }
    }
}
