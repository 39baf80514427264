//! Logging to stderr and, once the data folder is known, to
//! `<data>/logs/switchboard.log`. Nothing logged carries a secret: keys are
//! redacted in `Debug`, never formatted into messages, and scrubbed from
//! provider errors.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

static LOG_FILE: OnceLock<Mutex<File>> = OnceLock::new();

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,llama-cpp-2=warn,llama_cpp_2=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| Tee).try_init();
}

/// From now on, log lines also go to `path` (appended).
pub fn write_to_file(path: &Path) {
    let opened = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|_| std::fs::OpenOptions::new().create(true).append(true).open(path));
    match opened {
        Ok(file) => {
            let _ = LOG_FILE.set(Mutex::new(file));
        }
        Err(e) => tracing::warn!(%e, path = %path.display(), "cannot open the log file; logging to stderr only"),
    }
}

struct Tee;

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(file) = LOG_FILE.get() {
            let _ = file.lock().map(|mut f| f.write_all(buf));
        }
        std::io::stderr().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(file) = LOG_FILE.get() {
            let _ = file.lock().map(|mut f| f.flush());
        }
        std::io::stderr().flush()
    }
}
