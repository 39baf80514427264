//! Crash safety of the ledger: the app's process is killed with SIGKILL in
//! the middle of a burst of requests, many times over one data folder. After
//! each kill the database passes SQLite's integrity check, every request the
//! caller saw acknowledged has its ledger row, and the app opens normally.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_app::ops::providers;
use switchboard_app::state::{AppState, Paths};
use switchboard_gateway::LlmRequest;
use switchboard_store::queries::requests;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHILD_ENV: &str = "SWITCHBOARD_TEST_CRASH_CHILD";
const KEY: &str = "sk-crash-test-key-0000000001";

fn paths(dir: &std::path::Path) -> Paths {
    Paths::under(dir.join("data"), dir.join("cache"))
}

/// The child: the app's state on the shared folder, four callers sending
/// requests as fast as they are answered, each acknowledgement printed.
async fn burst(dir: &str, base_url: &str) {
    let s = Arc::new(AppState::open(paths(std::path::Path::new(dir))).await.unwrap());
    let mut settings = s.store().provider("openai").await.unwrap().settings;
    if !settings.enabled {
        settings.enabled = true;
        settings.base_url = base_url.to_string();
        settings.allow_http = true;
        let update =
            providers::ProviderUpdate { settings, new_key: Some(KEY.into()), add_keys: vec![], remove_keys: vec![] };
        providers::save_all(&s, vec![update]).await.unwrap();
    }
    println!("READY");
    let callers: Vec<_> = (0..4)
        .map(|caller| {
            let s = s.clone();
            tokio::spawn(async move {
                for n in 0.. {
                    let req = LlmRequest {
                        request_id: format!("{}-{caller}-{n}", std::process::id()),
                        use_case: "answer_generation".into(),
                        prompt: "Say hello".into(),
                        model: Some("openai/gpt-4o-mini".into()),
                        params: None,
                        priority: Default::default(),
                        history: Vec::new(),
                    };
                    let summary = s.gateway.generate(req, |_| {}).await.unwrap();
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {}", summary.ledger_id).unwrap();
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for c in callers {
        c.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_survives_sigkill_in_the_middle_of_a_burst() {
    if let Ok(args) = std::env::var(CHILD_ENV) {
        let (dir, base_url) = args.split_once('|').unwrap();
        burst(dir, base_url).await;
        return;
    }
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 1}
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged: Vec<String> = Vec::new();
    let mut seed = 0x9e37_79b9u64;
    for round in 0..15 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "the_ledger_survives_sigkill_in_the_middle_of_a_burst",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, format!("{}|{}/v1", dir.path().display(), server.uri()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until the child serves, then let the burst run a varying while.
        loop {
            let line = rx.recv_timeout(Duration::from_secs(60)).expect("the child starts");
            if line.contains("READY") {
                break;
            }
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(150 + seed % 600);
        let until = Instant::now() + run_for;
        let mut acks_this_round = 0;
        while Instant::now() < until {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(5)) {
                if let Some((_, id)) = line.split_once("ACK ") {
                    acknowledged.push(id.trim().to_string());
                    acks_this_round += 1;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Lines written before the kill still count as acknowledged.
        reader.join().unwrap();
        for line in rx.try_iter() {
            if let Some((_, id)) = line.split_once("ACK ") {
                acknowledged.push(id.trim().to_string());
                acks_this_round += 1;
            }
        }
        assert!(acks_this_round > 0, "round {round}: the burst was running when it was killed");
    }

    // The app opens normally, the file is whole, and every acknowledged request has its row.
    let s = AppState::open(paths(dir.path())).await.expect("the app starts after the kills");
    s.store().integrity_check().await.expect("PRAGMA integrity_check");
    let rows = requests::recent(s.store().pool(), 1_000_000).await.unwrap();
    let ids: std::collections::HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let missing: Vec<&String> = acknowledged.iter().filter(|id| !ids.contains(id.as_str())).collect();
    assert!(missing.is_empty(), "{} of {} acknowledged requests lost: {missing:?}", missing.len(), acknowledged.len());
    assert!(acknowledged.len() >= 15, "{} acknowledged", acknowledged.len());
}
