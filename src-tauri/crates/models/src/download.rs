//! Model downloads from a URL into the models folder: progress, pause and
//! resume (HTTP range requests), cancel, size and sha256 verification.
//!
//! Bytes go to `<name>.partial` with a `<name>.partial.json` note of where
//! they come from, so a paused download survives a restart; only a verified
//! GGUF is renamed to `<name>`. File names are checked so that nothing is
//! written outside the models folder.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use switchboard_core::is_loopback_host;

use crate::FetchError;

/// What to download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct DownloadRequest {
    pub url: String,
    /// The name in the models folder; from the URL when absent.
    #[serde(default)]
    pub file_name: Option<String>,
    /// Expected sha256 (hex); checked before the file is kept.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Expected size in bytes.
    #[serde(default)]
    pub size_bytes: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DownloadState {
    Running,
    Paused,
    Verifying,
    Done,
    Failed,
    Cancelled,
}

/// A download as the Models page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct DownloadStatus {
    pub id: String,
    pub url: String,
    pub file_name: String,
    pub state: DownloadState,
    pub done_bytes: f64,
    pub total_bytes: Option<f64>,
    pub bytes_per_second: Option<f64>,
    /// Why it failed (it can be resumed when the partial file was kept).
    pub error: Option<String>,
}

/// No byte from the server for this long: the download has stalled.
const STALL: Duration = Duration::from_secs(60);

/// The client downloads use: connect and between-bytes time-outs, a total
/// bound of a day, and redirects only to https (or to this machine), at most 10.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(STALL)
        .timeout(Duration::from_secs(24 * 60 * 60))
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("more than 10 redirects")
            } else if attempt.url().scheme() == "https" || attempt.url().host_str().is_some_and(is_loopback_host) {
                attempt.follow()
            } else {
                let to = attempt.url().to_string();
                attempt.error(format!("redirected to plain http ({to}); only https redirects are followed"))
            }
        }))
        .build()
        .expect("HTTP client")
}

const RUN: u8 = 0;
const PAUSE: u8 = 1;
const CANCEL: u8 = 2;

struct Entry {
    request: DownloadRequest,
    status: DownloadStatus,
    control: Arc<AtomicU8>,
}

/// The downloads of one models folder.
#[derive(Clone)]
pub struct Downloads {
    /// The runtime downloads run on (the one `new` was called on), so that
    /// callers outside it (a synchronous UI command) can still start one.
    runtime: Option<tokio::runtime::Handle>,
    client: reqwest::Client,
    dir: PathBuf,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    /// No byte for this long fails the download (it can be resumed).
    stall: Duration,
}

/// The file name a download will have, from the request or the URL's last segment.
pub fn download_file_name(req: &DownloadRequest) -> Result<String, FetchError> {
    let from_url = || {
        let url = reqwest::Url::parse(&req.url).ok()?;
        url.path_segments()?.rfind(|s| !s.is_empty()).map(str::to_string)
    };
    let name = match &req.file_name {
        Some(n) if !n.trim().is_empty() => n.trim().to_string(),
        _ => from_url().ok_or_else(|| FetchError::BadFileName(req.url.clone()))?,
    };
    check_model_file_name(&name)?;
    Ok(name)
}

/// A name a model may have in the models folder: a plain `*.gguf` file name.
pub fn check_model_file_name(name: &str) -> Result<(), FetchError> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'));
    if name.starts_with('.') || !ok_chars || !name.to_ascii_lowercase().ends_with(".gguf") || name.len() > 200 {
        return Err(FetchError::BadFileName(format!(
            "{name} (a model needs a plain file name ending in .gguf: letters, digits, '.', '-', '_', '+')"
        )));
    }
    Ok(())
}

fn parse_sha256(s: &str) -> Result<String, FetchError> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() != 64 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(FetchError::BadInput(format!("'{s}' is not a sha256 (64 hexadecimal digits)")));
    }
    Ok(s)
}

fn partial_of(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_os_string();
    s.push(".partial");
    PathBuf::from(s)
}

fn note_of(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_os_string();
    s.push(".partial.json");
    PathBuf::from(s)
}

impl Downloads {
    /// The downloads of `dir`; paused ones left by an earlier run are listed again.
    pub fn new(client: reqwest::Client, dir: PathBuf) -> Self {
        let this = Self {
            runtime: tokio::runtime::Handle::try_current().ok(),
            client,
            dir,
            entries: Arc::default(),
            stall: STALL,
        };
        this.recover();
        this
    }

    fn recover(&self) {
        let Ok(read) = std::fs::read_dir(&self.dir) else { return };
        for e in read.flatten() {
            let path = e.path();
            if !path.to_string_lossy().ends_with(".partial.json") {
                continue;
            }
            let Some(request) =
                std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<DownloadRequest>(&b).ok())
            else {
                continue;
            };
            let Ok(name) = download_file_name(&request) else { continue };
            let done = std::fs::metadata(partial_of(&self.dir.join(&name))).map(|m| m.len()).unwrap_or(0);
            let id = name.clone();
            let status = DownloadStatus {
                id: id.clone(),
                url: request.url.clone(),
                file_name: name,
                state: DownloadState::Paused,
                done_bytes: done as f64,
                total_bytes: request.size_bytes,
                bytes_per_second: None,
                error: None,
            };
            self.entries
                .lock()
                .expect("downloads lock")
                .insert(id, Entry { request, status, control: Arc::new(AtomicU8::new(PAUSE)) });
        }
    }

    /// Changes how long a silent server is waited for (default 60 s).
    pub fn with_stall_timeout(mut self, stall: Duration) -> Self {
        self.stall = stall;
        self
    }

    /// Every download of this session (and paused ones from before), newest names last.
    pub fn list(&self) -> Vec<DownloadStatus> {
        let mut out: Vec<DownloadStatus> =
            self.entries.lock().expect("downloads lock").values().map(|e| e.status.clone()).collect();
        out.sort_by(|a, b| a.file_name.cmp(&b.file_name));
        out
    }

    pub fn status(&self, id: &str) -> Option<DownloadStatus> {
        self.entries.lock().expect("downloads lock").get(id).map(|e| e.status.clone())
    }

    /// Starts a download; refused when the URL or name is unusable, the file
    /// exists, or a download to that name is under way.
    pub fn start(&self, request: DownloadRequest) -> Result<DownloadStatus, FetchError> {
        let url = reqwest::Url::parse(request.url.trim())
            .map_err(|e| FetchError::BadInput(format!("'{}' is not a URL: {e}", request.url)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(FetchError::BadInput(format!("'{}' is not an http(s) URL", request.url)));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::BadInput("put no user name or password in the URL".into()));
        }
        let mut request = DownloadRequest { url: url.to_string(), ..request };
        let name = download_file_name(&request)?;
        request.file_name = Some(name.clone());
        request.sha256 = request.sha256.as_deref().filter(|s| !s.trim().is_empty()).map(parse_sha256).transpose()?;
        if url.scheme() == "http" && !url.host_str().is_some_and(is_loopback_host) && request.sha256.is_none() {
            return Err(FetchError::BadInput(format!(
                "'{}' is plain http from another machine: anyone on the way could change the file; use https, or give the file's sha256 so it can be verified",
                request.url
            )));
        }
        if let Some(size) = request.size_bytes {
            if !(size.is_finite() && size >= 1.0) {
                return Err(FetchError::BadInput(format!("expected size {size} is not a positive number of bytes")));
            }
        }
        let dest = self.dir.join(&name);
        if dest.exists() {
            return Err(FetchError::BadInput(format!("{name} is already in the models folder; delete it first")));
        }
        {
            let entries = self.entries.lock().expect("downloads lock");
            if entries.get(&name).is_some_and(|e| {
                matches!(e.status.state, DownloadState::Running | DownloadState::Verifying | DownloadState::Paused)
            }) {
                return Err(FetchError::BadInput(format!(
                    "{name} is already being downloaded; resume or cancel that download"
                )));
            }
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| FetchError::io(&self.dir, e))?;
        // A stale partial file from an unrelated download must not be resumed.
        let _ = std::fs::remove_file(partial_of(&dest));
        let note = serde_json::to_vec(&request).expect("request serialises");
        std::fs::write(note_of(&dest), note).map_err(|e| FetchError::io(&note_of(&dest), e))?;
        let status = DownloadStatus {
            id: name.clone(),
            url: request.url.clone(),
            file_name: name.clone(),
            state: DownloadState::Running,
            done_bytes: 0.0,
            total_bytes: request.size_bytes,
            bytes_per_second: None,
            error: None,
        };
        let control = Arc::new(AtomicU8::new(RUN));
        self.entries
            .lock()
            .expect("downloads lock")
            .insert(name.clone(), Entry { request, status: status.clone(), control: control.clone() });
        self.spawn(name, control);
        Ok(status)
    }

    /// Pauses a running download; the bytes so far are kept.
    pub fn pause(&self, id: &str) -> Result<DownloadStatus, FetchError> {
        self.signal(id, PAUSE, &[DownloadState::Running])
    }

    /// Continues a paused or failed download from where it stopped.
    pub fn resume(&self, id: &str) -> Result<DownloadStatus, FetchError> {
        let control = {
            let mut entries = self.entries.lock().expect("downloads lock");
            let entry = entries.get_mut(id).ok_or_else(|| FetchError::BadInput(format!("no download '{id}'")))?;
            if !matches!(entry.status.state, DownloadState::Paused | DownloadState::Failed) {
                return Err(FetchError::BadInput(format!("the download of {id} is not paused")));
            }
            entry.status.state = DownloadState::Running;
            entry.status.error = None;
            entry.control = Arc::new(AtomicU8::new(RUN));
            entry.control.clone()
        };
        self.spawn(id.to_string(), control);
        Ok(self.status(id).expect("present"))
    }

    /// Stops a download and deletes what it wrote.
    pub fn cancel(&self, id: &str) -> Result<DownloadStatus, FetchError> {
        let was_running = {
            let mut entries = self.entries.lock().expect("downloads lock");
            let entry = entries.get_mut(id).ok_or_else(|| FetchError::BadInput(format!("no download '{id}'")))?;
            let running = matches!(entry.status.state, DownloadState::Running | DownloadState::Verifying);
            entry.control.store(CANCEL, Ordering::Relaxed);
            if !running && entry.status.state != DownloadState::Done {
                entry.status.state = DownloadState::Cancelled;
            }
            running
        };
        if !was_running {
            self.remove_partial(id);
        }
        Ok(self.status(id).expect("present"))
    }

    fn signal(&self, id: &str, to: u8, from: &[DownloadState]) -> Result<DownloadStatus, FetchError> {
        let entries = self.entries.lock().expect("downloads lock");
        let entry = entries.get(id).ok_or_else(|| FetchError::BadInput(format!("no download '{id}'")))?;
        if !from.contains(&entry.status.state) {
            return Err(FetchError::BadInput(format!("the download of {id} is not running")));
        }
        entry.control.store(to, Ordering::Relaxed);
        Ok(entry.status.clone())
    }

    /// Waits until the download is no longer running (tests, scripts).
    pub async fn wait(&self, id: &str) -> Option<DownloadStatus> {
        loop {
            let s = self.status(id)?;
            if !matches!(s.state, DownloadState::Running | DownloadState::Verifying) {
                return Some(s);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn remove_partial(&self, id: &str) {
        let dest = self.dir.join(id);
        let _ = std::fs::remove_file(partial_of(&dest));
        let _ = std::fs::remove_file(note_of(&dest));
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut DownloadStatus)) {
        if let Some(e) = self.entries.lock().expect("downloads lock").get_mut(id) {
            f(&mut e.status);
        }
    }

    fn spawn(&self, id: String, control: Arc<AtomicU8>) {
        let this = self.clone();
        let task = async move {
            let request = match this.entries.lock().expect("downloads lock").get(&id) {
                Some(e) => e.request.clone(),
                None => return,
            };
            let result = this.run(&id, &request, &control).await;
            match result {
                Ok(()) => this.update(&id, |s| {
                    s.state = DownloadState::Done;
                    s.bytes_per_second = None;
                }),
                Err(FetchError::Cancelled) if control.load(Ordering::Relaxed) == PAUSE => {
                    this.update(&id, |s| {
                        s.state = DownloadState::Paused;
                        s.bytes_per_second = None;
                    });
                }
                Err(FetchError::Cancelled) => {
                    this.remove_partial(&id);
                    this.update(&id, |s| {
                        s.state = DownloadState::Cancelled;
                        s.bytes_per_second = None;
                    });
                }
                Err(e) => {
                    tracing::warn!(download = %id, %e, "model download failed");
                    this.update(&id, |s| {
                        s.state = DownloadState::Failed;
                        s.bytes_per_second = None;
                        s.error = Some(e.to_string());
                    });
                }
            }
        };
        match &self.runtime {
            Some(handle) => drop(handle.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }

    async fn run(&self, id: &str, request: &DownloadRequest, control: &AtomicU8) -> Result<(), FetchError> {
        let dest = self.dir.join(id);
        let partial = partial_of(&dest);
        let url = &request.url;
        let expected_size = request.size_bytes.map(|s| s as u64);

        // What is already there counts towards the file and its hash.
        let mut have = std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
        if expected_size.is_some_and(|size| have > size) {
            let _ = std::fs::remove_file(&partial);
            have = 0;
        }
        let mut hasher = Sha256::new();
        if have > 0 {
            let mut f = std::fs::File::open(&partial).map_err(|e| FetchError::io(&partial, e))?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf).map_err(|e| FetchError::io(&partial, e))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        }

        let mut get = self.client.get(url);
        if have > 0 {
            get = get.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let net = |e: reqwest::Error| FetchError::Network { url: url.clone(), reason: e.to_string() };
        let resp = get.send().await.map_err(net)?;
        let status = resp.status().as_u16();
        let mut file = match status {
            206 => {
                // The server must continue exactly where we stopped.
                let start = resp
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if start != Some(have) {
                    return Err(FetchError::BadInput(format!(
                        "{url} resumed at byte {start:?} instead of {have}; cancel and start again"
                    )));
                }
                std::fs::OpenOptions::new().append(true).open(&partial).map_err(|e| FetchError::io(&partial, e))?
            }
            200 => {
                // No range support (or a fresh start): begin again from byte 0.
                have = 0;
                hasher = Sha256::new();
                std::fs::File::create(&partial).map_err(|e| FetchError::io(&partial, e))?
            }
            416 if expected_size == Some(have) => {
                std::fs::OpenOptions::new().append(true).open(&partial).map_err(|e| FetchError::io(&partial, e))?
            }
            _ => return Err(FetchError::Http { url: url.clone(), status }),
        };
        let total = expected_size.or_else(|| resp.content_length().map(|l| l + have));
        if let (Some(expected), Some(len)) = (expected_size, resp.content_length()) {
            if status != 416 && have + len != expected {
                return Err(FetchError::Size { what: id.to_string(), expected, actual: have + len });
            }
        }
        self.update(id, |s| {
            s.done_bytes = have as f64;
            s.total_bytes = total.map(|t| t as f64);
        });

        let mut done = have;
        let started = Instant::now();
        let mut last_report = Instant::now();
        let mut stream = resp.bytes_stream();
        if status != 416 {
            let mut last_byte = Instant::now();
            loop {
                // Pause and cancel act within a fraction of a second, not when the next chunk arrives.
                let next = tokio::time::timeout(Duration::from_millis(100), stream.next()).await;
                if control.load(Ordering::Relaxed) != RUN {
                    file.flush().map_err(|e| FetchError::io(&partial, e))?;
                    return Err(FetchError::Cancelled);
                }
                let chunk = match next {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break,
                    Err(_) if last_byte.elapsed() > self.stall => {
                        file.flush().map_err(|e| FetchError::io(&partial, e))?;
                        self.update(id, |s| s.done_bytes = done as f64);
                        return Err(FetchError::Network {
                            url: url.clone(),
                            reason: format!(
                                "the server sent nothing for {} s after {done} bytes; resume to continue",
                                self.stall.as_secs_f64()
                            ),
                        });
                    }
                    Err(_) => {
                        // A quiet moment: show what has arrived so far.
                        self.update(id, |s| s.done_bytes = done as f64);
                        continue;
                    }
                };
                last_byte = Instant::now();
                let chunk = chunk.map_err(|e| FetchError::Network {
                    url: url.clone(),
                    reason: format!("the connection broke after {done} bytes ({e}); resume to continue"),
                })?;
                if total.is_some_and(|total| done + chunk.len() as u64 > total) {
                    // More than the file should hold: stop now rather than fill the disk.
                    drop(file);
                    let _ = std::fs::remove_file(&partial);
                    let expected = total.expect("checked");
                    return Err(FetchError::Size { what: id.to_string(), expected, actual: done + chunk.len() as u64 });
                }
                file.write_all(&chunk).map_err(|e| FetchError::io(&partial, e))?;
                hasher.update(&chunk);
                done += chunk.len() as u64;
                if last_report.elapsed() > Duration::from_millis(100) {
                    last_report = Instant::now();
                    let rate = (done - have) as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    self.update(id, |s| {
                        s.done_bytes = done as f64;
                        s.bytes_per_second = Some(rate);
                    });
                }
            }
        }
        file.flush().map_err(|e| FetchError::io(&partial, e))?;
        drop(file);
        self.update(id, |s| {
            s.done_bytes = done as f64;
            s.state = DownloadState::Verifying;
        });
        if let Some(total) = total {
            if done < total {
                return Err(FetchError::Network {
                    url: url.clone(),
                    reason: format!("the download ended early at {done} of {total} bytes; resume to continue"),
                });
            }
            if done > total {
                let _ = std::fs::remove_file(&partial);
                return Err(FetchError::Size { what: id.to_string(), expected: total, actual: done });
            }
        }
        let actual = hex::encode(hasher.finalize());
        if let Some(expected) = &request.sha256 {
            if *expected != actual {
                let _ = std::fs::remove_file(&partial);
                let _ = std::fs::remove_file(note_of(&dest));
                return Err(FetchError::Checksum { what: id.to_string(), expected: expected.clone(), actual });
            }
        }
        if let Err(e) = crate::gguf::read_header(&partial) {
            let _ = std::fs::remove_file(&partial);
            let _ = std::fs::remove_file(note_of(&dest));
            return Err(FetchError::BadInput(format!("the downloaded file is not a usable model: {e}")));
        }
        std::fs::rename(&partial, &dest).map_err(|e| FetchError::io(&dest, e))?;
        let _ = std::fs::remove_file(note_of(&dest));
        tracing::info!(file = %dest.display(), bytes = done, sha256 = %actual, "model downloaded");
        Ok(())
    }
}
