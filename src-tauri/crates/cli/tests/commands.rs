//! The command line as a script uses it: `chat`, `describe`, `use-cases`,
//! `tokens`, `--help` and `--json`, exit codes, and several processes writing
//! to one database at once. The real binary on a data folder of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn command(data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(data)
        .args(args)
        .env("SWITCHBOARD_SECRET_STORE", "file")
        .env("SWITCHBOARD_ENGINE_WORKER", BIN)
        .env("SWITCHBOARD_MODEL_CACHE", data.join("no-cache"));
    c
}

fn run(data: &Path, args: &[&str]) -> Output {
    command(data, args).output().expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A data folder holding the test model.
fn data_with_model(dir: &Path) -> PathBuf {
    let model = switchboard_models::cached_default_model();
    assert!(model.exists(), "test model missing at {}: run fetch-model first", model.display());
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("models")).unwrap();
    let linked = data.join("models/gemma-3-270m-q4_k_m.gguf");
    if std::fs::hard_link(&model, &linked).is_err() {
        std::fs::copy(&model, &linked).unwrap();
    }
    data
}

#[test]
fn help_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(dir.path(), &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    for sub in ["serve", "chat", "describe", "models", "use-cases", "providers", "config", "costs", "compare", "tokens"]
    {
        assert!(text(&help.stdout).contains(sub), "--help lists {sub}");
    }
    let chat_help = run(dir.path(), &["chat", "--help"]);
    assert!(text(&chat_help.stdout).contains("--max-tokens"), "{}", text(&chat_help.stdout));
    let unknown = run(dir.path(), &["fly"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("unrecognized subcommand 'fly'"), "{}", text(&unknown.stderr));
}

#[test]
fn chat_streams_an_answer_records_it_as_the_command_line_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_with_model(dir.path());
    let plain = run(&data, &["chat", "--max-tokens", "6", "--temperature", "0", "Say hello."]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    assert!(!text(&plain.stdout).trim().is_empty());
    assert!(text(&plain.stderr).contains("local/gemma-3-270m-q4_k_m"), "statistics on stderr: {}", text(&plain.stderr));

    // The prompt from standard input, the answer as JSON.
    let mut child = command(&data, &["--json", "chat", "--use-case", "intent_classification", "--max-tokens", "6"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"Who reports to whom?").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["model"], "local/gemma-3-270m-q4_k_m");
    assert_eq!(v["stats"]["output_tokens"], 6);
    assert!(v["ledger_id"].as_str().unwrap().len() > 10);

    let csv = dir.path().join("ledger.csv");
    let export = run(&data, &["costs", "export", "--out", csv.to_str().unwrap(), "--caller", "cli"]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 3, "two requests by the command line");

    for (args, says) in [
        (vec!["chat", "--temperature", "5", "hi"], "temperature"),
        (vec!["chat", "--use-case", "nope", "hi"], "nope"),
        (vec!["chat", "--json-schema", "{not json", "hi"], "not JSON"),
        (vec!["chat", "   "], "empty"),
    ] {
        let o = run(&data, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(says), "{args:?}: {}", text(&o.stderr));
    }
}

#[test]
fn describe_refuses_what_is_not_an_image_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_with_model(dir.path());
    let fake = dir.path().join("notes.png");
    std::fs::write(&fake, b"this is text, not a picture").unwrap();
    let o = run(&data, &["describe", fake.to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o.stderr).contains("notes.png"), "{}", text(&o.stderr));
    let missing = run(&data, &["describe", dir.path().join("nowhere.jpg").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));
    assert!(text(&missing.stderr).contains("nowhere.jpg"));
}

#[test]
fn use_cases_and_tokens_change_as_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_with_model(dir.path());
    let set = run(&data, &["use-cases", "set", "answer_generation", "--temperature", "0.2", "--max-tokens", "300"]);
    assert_eq!(set.status.code(), Some(0), "{}", text(&set.stderr));
    let shown = run(&data, &["--json", "use-cases", "show", "answer_generation"]);
    let v: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(v["params"]["max_tokens"], 300);
    assert_eq!(v["route"][0]["model"], "local/gemma-3-270m-q4_k_m");
    let bad = run(&data, &["use-cases", "set", "answer_generation", "--top-p", "3"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("top_p"), "{}", text(&bad.stderr));
    let missing = run(&data, &["use-cases", "set", "answer_generation", "--model", "local/absent"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("not in the local model library"), "{}", text(&missing.stderr));

    let created = run(&data, &["--json", "tokens", "create", "notebook", "--admin"]);
    let v: serde_json::Value = serde_json::from_slice(&created.stdout).expect("JSON");
    let secret = v["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sb-") && secret.len() == 46, "{secret}");
    let listed = run(&data, &["tokens", "list"]);
    assert!(text(&listed.stdout).contains("notebook") && !text(&listed.stdout).contains(&secret), "never the secret");
    let db = std::fs::read(data.join("switchboard.db")).unwrap();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()), "only a hash in the database");
    assert_eq!(run(&data, &["tokens", "create", "notebook"]).status.code(), Some(2), "names are unique");
    assert_eq!(run(&data, &["tokens", "create", "bad name"]).status.code(), Some(2));
    assert_eq!(run(&data, &["tokens", "revoke", "notebook"]).status.code(), Some(0));
    let again = run(&data, &["tokens", "revoke", "notebook"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already revoked"));
}

#[test]
fn a_models_load_settings_change_from_the_command_line_and_bad_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_with_model(dir.path());
    let id = "gemma-3-270m-q4_k_m";
    let set = run(&data, &["--json", "models", "set", id, "--parallel", "8", "--context", "8192"]);
    assert_eq!(set.status.code(), Some(0), "{}", text(&set.stderr));
    let v: serde_json::Value = serde_json::from_slice(&set.stdout).expect("JSON");
    assert_eq!((v["load"]["parallel"].as_u64(), v["load"]["context_length"].as_u64()), (Some(8), Some(8192)));
    // What is not given stays; "default" gives the choice back.
    let again = run(&data, &["--json", "models", "set", id, "--context", "default"]);
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!((v["load"]["parallel"].as_u64(), v["load"]["context_length"].as_u64()), (Some(8), None));
    for (args, said) in [
        (vec!["--parallel", "0"], "parallel requests must be 1 to 64"),
        (vec!["--parallel", "65"], "parallel requests must be 1 to 64"),
        (vec!["--threads", "many"], "is not a whole number"),
    ] {
        let mut all = vec!["models", "set", id];
        all.extend(args);
        let bad = run(&data, &all);
        assert_eq!(bad.status.code(), Some(2), "{all:?}");
        assert!(text(&bad.stderr).contains(said), "{}", text(&bad.stderr));
    }
    let kept = run(&data, &["--json", "models", "set", id]);
    let v: serde_json::Value = serde_json::from_slice(&kept.stdout).expect("JSON");
    assert_eq!(v["load"]["parallel"].as_u64(), Some(8), "a refused change left the setting as it was");
    let missing = run(&data, &["models", "set", "absent", "--parallel", "2"]);
    assert_ne!(missing.status.code(), Some(0));
    assert!(text(&missing.stderr).contains("no model absent"), "{}", text(&missing.stderr));
}

#[test]
fn several_processes_on_one_database_each_leave_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_with_model(dir.path());
    // The schema first, so that the processes below race on writes, not on creating the file.
    assert_eq!(run(&data, &["tokens", "list"]).status.code(), Some(0));
    let children: Vec<_> = (0..3)
        .map(|i| {
            command(&data, &["chat", "--max-tokens", "4", &format!("Say {i}.")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .chain((0..3).map(|i| {
            command(&data, &["tokens", "create", &format!("t{i}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        }))
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let csv = dir.path().join("ledger.csv");
    assert_eq!(run(&data, &["costs", "export", "--out", csv.to_str().unwrap()]).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 4, "three requests, three rows");
    let tokens = run(&data, &["--json", "tokens", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&tokens.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
}
