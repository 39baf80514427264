//! Logging to stderr and, once the data folder is known, to
//! `<data>/logs/switchboard.log`: plain text (no colour codes), rotated by
//! size with a few old files kept, readable by the user only. Every line is
//! scrubbed on its way to either sink: API keys, bearer tokens, key fields
//! and e-mail addresses are masked, whatever a provider echoed back or a
//! request carried.

use std::borrow::Cow;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, OnceLock};

use regex::Regex;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// A log file grows to this size before it is rotated.
pub const MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;
/// Rotated files kept besides the current one (`switchboard.log.1` ... `.5`).
pub const KEPT_LOG_FILES: u32 = 5;

static LOG_FILE: OnceLock<Mutex<RotatingFile>> = OnceLock::new();

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,llama-cpp-2=warn,llama_cpp_2=warn"));
    let to_stderr = tracing_subscriber::fmt::layer().with_writer(|| Scrubbed(std::io::stderr()));
    let to_file = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(|| Scrubbed(FileSink));
    let _ = tracing_subscriber::registry().with(filter).with(to_stderr).with(to_file).try_init();
}

/// From now on, log lines also go to `path` (appended, rotated).
pub fn write_to_file(path: &Path) {
    match RotatingFile::open(path.to_path_buf(), MAX_LOG_BYTES, KEPT_LOG_FILES) {
        Ok(file) => {
            let _ = LOG_FILE.set(Mutex::new(file));
        }
        Err(e) => tracing::warn!(%e, path = %path.display(), "cannot open the log file; logging to stderr only"),
    }
}

/// Masks what must never be logged: API keys, bearer tokens, key-like
/// fields and e-mail addresses.
pub fn scrub(text: &str) -> Cow<'_, str> {
    static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
        [
            // Authorization schemes: "Bearer <token>", "Basic <credentials>".
            (r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}", "$1$2[redacted]"),
            // Named fields in headers, JSON, query strings and debug output.
            (
                r#"(?i)\b(api[-_]?key|x-api-key|x-goog-api-key|access[-_]?token|secret|password|token)(\\?["']?\s*[:=]\s*\\?["']?)[^\s"'\\,&}]{4,}"#,
                "$1$2[redacted]",
            ),
            // Key formats of the providers we talk to: sk-..., sk-ant-..., AIza...
            (r"\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}", "$1-[redacted]"),
            // Switchboard's own API tokens.
            (r"\bsb-[A-Za-z0-9_-]{8,}", "sb-[redacted]"),
            (r"\bAIza[0-9A-Za-z_-]{20,}", "[redacted]"),
            // Azure keys: 32 hex digits.
            (r"\b[0-9a-fA-F]{32}\b", "[redacted]"),
            (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", "[e-mail]"),
        ]
        .into_iter()
        .map(|(pattern, with)| (Regex::new(pattern).expect("valid pattern"), with))
        .collect()
    });
    let mut text = Cow::Borrowed(text);
    for (rule, with) in RULES.iter() {
        if let Cow::Owned(s) = rule.replace_all(&text, *with) {
            text = Cow::Owned(s);
        }
    }
    text
}

/// A sink that scrubs each formatted event (the formatter writes one event per call).
struct Scrubbed<W: Write>(W);

impl<W: Write> Write for Scrubbed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

struct FileSink;

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(file) = LOG_FILE.get() {
            let _ = file.lock().map(|mut f| f.write_all(buf));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(file) = LOG_FILE.get() {
            let _ = file.lock().map(|mut f| f.flush());
        }
        Ok(())
    }
}

/// An append-only file that moves aside when it reaches `max_bytes`:
/// `name` -> `name.1` -> ... -> `name.<keep>`, the oldest dropped.
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    len: u64,
    max_bytes: u64,
    keep: u32,
}

impl RotatingFile {
    pub fn open(path: PathBuf, max_bytes: u64, keep: u32) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            switchboard_files::create_private_dir(dir)?;
        }
        let file = open_private(&path)?;
        let len = file.metadata()?.len();
        Ok(Self { path, file, len, max_bytes, keep })
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        if self.keep == 0 {
            let _ = std::fs::remove_file(&self.path);
        } else {
            let _ = std::fs::remove_file(self.rotated(self.keep));
            for n in (1..self.keep).rev() {
                let _ = std::fs::rename(self.rotated(n), self.rotated(n + 1));
            }
            std::fs::rename(&self.path, self.rotated(1))?;
        }
        self.file = open_private(&self.path)?;
        self.len = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.len > 0 && self.len + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(buf)?;
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Opens `path` for appending, created readable by the user only.
fn open_private(path: &Path) -> std::io::Result<File> {
    switchboard_files::private_file_options().create(true).append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_addresses_are_masked_and_plain_text_is_kept() {
        let line = r#"provider said: {"error":"Incorrect API key provided: sk-proj-AbCdEf123456"} Authorization: Bearer eyJhbGciOi.payload.sig api_key=hunter2secret x-goog-api-key: AIzaSyA1234567890abcdefghijk mail jane.doe@example.com azure 0123456789abcdef0123456789abcdef api sb-Q2xvdWRzQXJlTm90QVNlcnZpY2VUb2tlbnMxMjM0"#;
        let out = scrub(line);
        for leaked in [
            "sk-proj-AbCdEf123456",
            "eyJhbGciOi",
            "hunter2secret",
            "AIzaSyA1234567890",
            "jane.doe@example.com",
            "0123456789abcdef0123",
            "sb-Q2xvdWRz",
        ] {
            assert!(!out.contains(leaked), "{leaked} leaked: {out}");
        }
        assert!(out.contains("Incorrect API key provided") && out.contains("[e-mail]"), "{out}");
        let plain = "engine worker started pid=42 model=gemma-3-270m-q4_k_m.gguf latency_ms=12.5";
        assert_eq!(scrub(plain), plain);
    }

    #[test]
    fn the_log_file_rotates_and_keeps_a_few_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs").join("app.log");
        let mut file = RotatingFile::open(path.clone(), 100, 2).unwrap();
        for i in 0..20 {
            writeln!(file, "line {i:02} ..................................").unwrap();
        }
        file.flush().unwrap();
        let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "the current file and two rotated ones: {names:?}");
        assert!(std::fs::metadata(&path).unwrap().len() <= 100);
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.contains("line 19"), "the newest line is in the current file");
        let older = std::fs::read_to_string(dir.path().join("logs").join("app.log.1")).unwrap();
        assert!(older.contains("line 17") || older.contains("line 18"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
    }
}
