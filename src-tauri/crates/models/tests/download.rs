//! Model downloads against a local HTTP server that honours (or ignores)
//! range requests, can cut a body short and can send slowly.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use switchboard_models::{DownloadRequest, DownloadState, Downloads, FetchError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Default)]
struct Behaviour {
    /// Answer range requests with 206 (otherwise always 200 with the whole body).
    ranges: bool,
    /// The first response stops after this many body bytes (declaring the full length).
    cut_first_at: Option<usize>,
    /// Send the body in 64 KiB pieces with a pause between them.
    slow: bool,
    /// After this many body bytes, send nothing more and keep the connection open.
    stall_after: Option<usize>,
    /// Declare no length: chunked transfer encoding.
    chunked: bool,
}

struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
    ranges_seen: Arc<Mutex<Vec<String>>>,
}

async fn serve(body: Vec<u8>, behaviour: Behaviour) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let ranges_seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let body = Arc::new(body);
    {
        let (requests, ranges_seen) = (requests.clone(), ranges_seen.clone());
        tokio::spawn(async move {
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                let n = requests.fetch_add(1, Ordering::SeqCst);
                let (body, behaviour, ranges_seen) = (body.clone(), behaviour.clone(), ranges_seen.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if sock.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).to_lowercase();
                    let range = head
                        .lines()
                        .find_map(|l| l.strip_prefix("range: bytes="))
                        .and_then(|r| r.trim().strip_suffix('-'))
                        .and_then(|s| s.parse::<usize>().ok());
                    if let Some(r) = range {
                        ranges_seen.lock().unwrap().push(format!("{r}-"));
                    }
                    let (status, start) = match range {
                        Some(r) if behaviour.ranges && r < body.len() => ("206 Partial Content", r),
                        _ => ("200 OK", 0),
                    };
                    let part = &body[start..];
                    let mut header = if behaviour.chunked {
                        format!("HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n")
                    } else {
                        format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", part.len())
                    };
                    if start > 0 {
                        header.push_str(&format!("Content-Range: bytes {start}-{}/{}\r\n", body.len() - 1, body.len()));
                    }
                    header.push_str("\r\n");
                    sock.write_all(header.as_bytes()).await.unwrap();
                    let send = match behaviour.cut_first_at {
                        Some(cut) if n == 0 => &part[..cut],
                        _ => part,
                    };
                    let mut sent = 0;
                    for piece in send.chunks(64 * 1024) {
                        if behaviour.stall_after.is_some_and(|after| sent >= after) {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                        }
                        let written = if behaviour.chunked {
                            let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
                            framed.extend_from_slice(piece);
                            framed.extend_from_slice(b"\r\n");
                            sock.write_all(&framed).await
                        } else {
                            sock.write_all(piece).await
                        };
                        if written.is_err() {
                            return;
                        }
                        sent += piece.len();
                        if behaviour.slow {
                            tokio::time::sleep(Duration::from_millis(30)).await;
                        }
                    }
                    if behaviour.chunked {
                        let _ = sock.write_all(b"0\r\n\r\n").await;
                    }
                    let _ = sock.shutdown().await;
                });
            }
        });
    }
    Server { url: format!("http://{addr}/org/repo/resolve/main/tiny-model.gguf?download=true"), requests, ranges_seen }
}

/// A valid GGUF header (one metadata entry, one tensor) followed by `size` bytes of tensor data.
fn model_bytes(size: usize) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes());
    let s = |b: &mut Vec<u8>, t: &str| {
        b.extend_from_slice(&(t.len() as u64).to_le_bytes());
        b.extend_from_slice(t.as_bytes());
    };
    s(&mut b, "general.architecture");
    b.extend_from_slice(&8u32.to_le_bytes());
    s(&mut b, "llama");
    s(&mut b, "w");
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&((size / 4) as u64).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    while b.len() % 32 != 0 {
        b.push(0);
    }
    b.extend((0..size).map(|i| (i * 31 % 251) as u8));
    b
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn request(server: &Server, body: &[u8]) -> DownloadRequest {
    DownloadRequest {
        url: server.url.clone(),
        file_name: None,
        sha256: Some(sha(body)),
        size_bytes: Some(body.len() as f64),
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_download_is_verified_and_named_after_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let body = model_bytes(300_000);
    let server = serve(body.clone(), Behaviour { ranges: true, ..Default::default() }).await;
    let downloads = Downloads::new(reqwest::Client::new(), dir.path().to_path_buf());
    let started = downloads.start(request(&server, &body)).unwrap();
    assert_eq!(started.file_name, "tiny-model.gguf", "name from the URL's path, query dropped");
    let done = downloads.wait(&started.id).await.unwrap();
    assert_eq!(done.state, DownloadState::Done, "{:?}", done.error);
    assert_eq!(done.done_bytes, body.len() as f64);
    assert_eq!(std::fs::read(dir.path().join("tiny-model.gguf")).unwrap(), body);
    assert_eq!(files(dir.path()), ["tiny-model.gguf"], "no partial file or note left behind");

    // The same name again is refused: nothing is overwritten.
    let err = downloads.start(request(&server, &body)).unwrap_err();
    assert!(err.to_string().contains("already in the models folder"), "{err}");
}

#[tokio::test]
async fn a_truncated_body_keeps_its_bytes_and_resumes_with_a_range_request() {
    let dir = tempfile::tempdir().unwrap();
    let body = model_bytes(500_000);
    let server =
        serve(body.clone(), Behaviour { ranges: true, cut_first_at: Some(200_000), slow: false, ..Default::default() })
            .await;
    let downloads = Downloads::new(reqwest::Client::new(), dir.path().to_path_buf());
    let id = downloads.start(request(&server, &body)).unwrap().id;
    let failed = downloads.wait(&id).await.unwrap();
    assert_eq!(failed.state, DownloadState::Failed);
    let error = failed.error.unwrap();
    assert!(error.contains("resume to continue"), "{error}");
    assert!(!dir.path().join("tiny-model.gguf").exists(), "an incomplete file is never a model");
    let kept = std::fs::metadata(dir.path().join("tiny-model.gguf.partial")).unwrap().len();
    assert!(kept > 0 && kept <= 200_000, "the bytes received are kept: {kept}");

    downloads.resume(&id).unwrap();
    let done = downloads.wait(&id).await.unwrap();
    assert_eq!(done.state, DownloadState::Done, "{:?}", done.error);
    assert_eq!(server.ranges_seen.lock().unwrap().as_slice(), [format!("{kept}-")], "asked for the rest only");
    assert_eq!(std::fs::read(dir.path().join("tiny-model.gguf")).unwrap(), body, "sha256 verified across the resume");
}

#[tokio::test]
async fn pause_keeps_the_partial_file_and_a_restart_finds_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let body = model_bytes(2_000_000);
    let server = serve(body.clone(), Behaviour { ranges: true, slow: true, ..Default::default() }).await;
    let downloads = Downloads::new(reqwest::Client::new(), dir.path().to_path_buf());
    let id = downloads.start(request(&server, &body)).unwrap().id;
    // Wait for some progress, then pause.
    while downloads.status(&id).unwrap().done_bytes < 100_000.0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    downloads.pause(&id).unwrap();
    let paused = downloads.wait(&id).await.unwrap();
    assert_eq!(paused.state, DownloadState::Paused);
    assert!(paused.done_bytes > 0.0 && paused.done_bytes < body.len() as f64);
    assert!(downloads.pause(&id).is_err(), "a paused download cannot be paused again");

    // A new session (the app restarted) lists the paused download and resumes it.
    let again = Downloads::new(reqwest::Client::new(), dir.path().to_path_buf());
    let listed = again.list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, DownloadState::Paused);
    assert!(listed[0].done_bytes > 0.0);
    again.resume(&id).unwrap();
    let done = again.wait(&id).await.unwrap();
    assert_eq!(done.state, DownloadState::Done, "{:?}", done.error);
    assert_eq!(std::fs::read(dir.path().join("tiny-model.gguf")).unwrap(), body);
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn cancel_deletes_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let body = model_bytes(2_000_000);
    let server = serve(body.clone(), Behaviour { ranges: true, slow: true, ..Default::default() }).await;
    let downloads = Downloads::new(reqwest::Client::new(), dir.path().to_path_buf());
    let id = downloads.start(request(&server, &body)).unwrap().id;
    while downloads.status(&id).unwrap().done_bytes < 100_000.0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    downloads.cancel(&id).unwrap();
    let s = downloads.wait(&id).await.unwrap();
    assert_eq!(s.state, DownloadState::Cancelled);
    assert!(files(dir.path()).is_empty(), "nothing left: {:?}", files(dir.path()));
}

#[tokio::test]
async fn a_wrong_checksum_or_size_or_a_non_model_is_refused_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let body = model_bytes(100_000);
    let server = serve(body.clone(), Behaviour { ranges: true, ..Default::default() }).await;
    let downloads = Downloads::new(reqwest::Client::new(), dir.path().to_path_buf());

    let wrong = DownloadRequest { sha256: Some("0".repeat(64)), ..request(&server, &body) };
    let id = downloads.start(wrong).unwrap().id;
    let s = downloads.wait(&id).await.unwrap();
    assert_eq!(s.state, DownloadState::Failed);
    assert!(s.error.unwrap().contains("sha256"), "names the checksum");
    assert!(files(dir.path()).is_empty(), "a corrupt file is not kept: {:?}", files(dir.path()));

    let wrong_size = DownloadRequest { size_bytes: Some(123.0), ..request(&server, &body) };
    let id = downloads.start(wrong_size).unwrap().id;
    let s = downloads.wait(&id).await.unwrap();
    assert_eq!(s.state, DownloadState::Failed);
    assert!(s.error.unwrap().contains("expected 123 bytes"));

    // Not a GGUF at all (an HTML page, say): refused after download.
    let page = b"<html>not a model</html>".repeat(10);
    let html = serve(page.clone(), Behaviour::default()).await;
    let id = downloads
        .start(DownloadRequest {
            url: html.url.clone(),
            file_name: Some("page.gguf".into()),
            sha256: None,
            size_bytes: None,
        })
        .unwrap()
        .id;
    let s = downloads.wait(&id).await.unwrap();
    assert_eq!(s.state, DownloadState::Failed);
    assert!(s.error.unwrap().contains("not a usable model"));
    assert!(!dir.path().join("page.gguf").exists());
}

#[tokio::test]
async fn a_server_without_range_support_restarts_from_the_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let body = model_bytes(400_000);
    let server = serve(
        body.clone(),
        Behaviour { ranges: false, cut_first_at: Some(150_000), slow: false, ..Default::default() },
    )
    .await;
    let downloads = Downloads::new(reqwest::Client::new(), dir.path().to_path_buf());
    let id = downloads.start(request(&server, &body)).unwrap().id;
    assert_eq!(downloads.wait(&id).await.unwrap().state, DownloadState::Failed);
    downloads.resume(&id).unwrap();
    let s = downloads.wait(&id).await.unwrap();
    assert_eq!(s.state, DownloadState::Done, "{:?}", s.error);
    assert_eq!(std::fs::read(dir.path().join("tiny-model.gguf")).unwrap(), body, "not appended twice");
}

#[tokio::test]
async fn bad_requests_never_write_outside_the_models_folder() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("models");
    let downloads = Downloads::new(reqwest::Client::new(), dir.clone());
    let req = |url: &str, name: Option<&str>, sha: Option<&str>| DownloadRequest {
        url: url.into(),
        file_name: name.map(Into::into),
        sha256: sha.map(Into::into),
        size_bytes: None,
    };
    let cases = [
        req("http://127.0.0.1:9/m.gguf", Some("../escape.gguf"), None),
        req("http://127.0.0.1:9/m.gguf", Some("/etc/passwd.gguf"), None),
        req("http://127.0.0.1:9/m.gguf", Some(".hidden.gguf"), None),
        req("http://127.0.0.1:9/m.gguf", Some("notes.txt"), None),
        req("http://127.0.0.1:9/..%2F..%2Fescape.gguf", None, None),
        req("http://127.0.0.1:9/", None, None),
        req("ftp://example.com/m.gguf", None, None),
        req("file:///etc/passwd", None, None),
        req("not a url", None, None),
        req("http://user:pw@127.0.0.1:9/m.gguf", None, None),
        req("http://127.0.0.1:9/m.gguf", None, Some("abc")),
    ];
    for case in cases {
        let err = downloads.start(case.clone()).unwrap_err();
        assert!(matches!(err, FetchError::BadInput(_) | FetchError::BadFileName(_)), "{case:?}: {err}");
    }
    assert!(downloads.list().is_empty());
    let escaped: Vec<_> = std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(escaped.iter().all(|n| n == "models"), "nothing written beside the models folder: {escaped:?}");
}

#[tokio::test]
async fn pause_and_cancel_act_at_once_while_the_server_is_silent() {
    for pause in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let body = model_bytes(2_000_000);
        let server =
            serve(body.clone(), Behaviour { ranges: true, stall_after: Some(100_000), ..Default::default() }).await;
        // A client without any time-out: only the download's own checks can end the wait.
        let downloads = Downloads::new(reqwest::Client::new(), dir.path().to_path_buf());
        let id = downloads.start(request(&server, &body)).unwrap().id;
        while downloads.status(&id).unwrap().done_bytes < 100_000.0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if pause {
            downloads.pause(&id).unwrap();
        } else {
            downloads.cancel(&id).unwrap();
        }
        let ended = tokio::time::timeout(Duration::from_secs(2), downloads.wait(&id))
            .await
            .expect("the download stopped without waiting for the next chunk")
            .unwrap();
        let expected = if pause { DownloadState::Paused } else { DownloadState::Cancelled };
        assert_eq!(ended.state, expected);
    }
}

#[tokio::test]
async fn a_stalled_server_fails_the_download_in_bounded_time_and_it_can_resume() {
    let dir = tempfile::tempdir().unwrap();
    let body = model_bytes(2_000_000);
    let server =
        serve(body.clone(), Behaviour { ranges: true, stall_after: Some(100_000), ..Default::default() }).await;
    let downloads =
        Downloads::new(reqwest::Client::new(), dir.path().to_path_buf()).with_stall_timeout(Duration::from_secs(1));
    let id = downloads.start(request(&server, &body)).unwrap().id;
    let failed =
        tokio::time::timeout(Duration::from_secs(10), downloads.wait(&id)).await.expect("not running forever").unwrap();
    assert_eq!(failed.state, DownloadState::Failed);
    assert!(failed.error.as_deref().unwrap().contains("sent nothing for 1 s"), "{:?}", failed.error);
    assert!(failed.done_bytes >= 100_000.0, "{}", failed.done_bytes);
    // Resuming continues from the bytes kept (this server stalls again, further on).
    downloads.resume(&id).unwrap();
    let again = tokio::time::timeout(Duration::from_secs(10), downloads.wait(&id)).await.expect("bounded").unwrap();
    assert_eq!(again.state, DownloadState::Failed);
    assert!(again.done_bytes >= 200_000.0, "{}", again.done_bytes);
    assert_eq!(server.ranges_seen.lock().unwrap().len(), 1, "the resume asked for the rest by range");
}

#[tokio::test]
async fn a_body_longer_than_expected_is_stopped_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let body = model_bytes(2_000_000);
    // No length declared: only counting the bytes can notice.
    let server = serve(body.clone(), Behaviour { chunked: true, ..Default::default() }).await;
    let downloads = Downloads::new(reqwest::Client::new(), dir.path().to_path_buf());
    let req = DownloadRequest { size_bytes: Some(500_000.0), sha256: None, ..request(&server, &body) };
    let id = downloads.start(req).unwrap().id;
    let s = downloads.wait(&id).await.unwrap();
    assert_eq!(s.state, DownloadState::Failed);
    assert!(s.error.as_deref().unwrap().contains("500000"), "{:?}", s.error);
    let on_disk: u64 = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(on_disk < 100_000, "what was written is removed: {on_disk} bytes left");
}

#[tokio::test]
async fn plain_http_from_another_machine_needs_a_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let downloads = Downloads::new(reqwest::Client::new(), dir.path().to_path_buf());
    let req = |url: &str, sha256: Option<String>| DownloadRequest {
        url: url.into(),
        file_name: None,
        sha256,
        size_bytes: None,
    };
    let err = downloads.start(req("http://192.0.2.1/models/m.gguf", None)).unwrap_err();
    assert!(matches!(err, FetchError::BadInput(_)) && err.to_string().contains("sha256"), "{err}");
    let id = downloads.start(req("http://192.0.2.1/models/m.gguf", Some("ab".repeat(32)))).unwrap().id;
    downloads.cancel(&id).unwrap();
}
