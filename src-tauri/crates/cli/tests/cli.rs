//! The command line's ledger commands (`switchboard compare`, `switchboard
//! costs export`), run as the real binary on a data folder of their own.

use std::path::Path;
use std::process::{Command, Output};

fn switchboard(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .args(["--data-dir", data.to_str().unwrap()])
        .env("SWITCHBOARD_SECRET_STORE", "file")
        .env("SWITCHBOARD_ENGINE_WORKER", env!("CARGO_BIN_EXE_switchboard"))
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn costs_export_writes_the_ledger_and_refuses_bad_arguments_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("ledger.csv");
    let done = switchboard(&data, &["costs", "export", "--out", out.to_str().unwrap()]);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert!(text(&done.stdout).contains("wrote 0 requests"));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.starts_with("id,created_at,caller,use_case,provider,model,"), "{csv}");
    assert_eq!(csv.lines().count(), 1);

    for (args, says) in [
        (vec!["costs", "export", "--out", "x.csv", "--format", "xml"], "invalid value 'xml'"),
        (vec!["costs", "export"], "--out <OUT>"),
        (vec!["costs", "export", "--out", "x.csv", "--from", "2026-13-01"], "is not a date"),
        (vec!["costs", "export", "--out", "x.csv", "--status", "maybe"], "not a status"),
        (vec!["costs", "export", "--bogus"], "unexpected argument '--bogus'"),
        (vec!["compare", "--use-case", "answer_generation", "--candidates", "local/a", "--samples"], "choose 2 to 8"),
        (
            vec!["compare", "--use-case", "answer_generation", "--candidates", "local/a,local/b"],
            "--prompts FILE or --samples",
        ),
    ] {
        let o = switchboard(&data, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(says), "{args:?}: {}", text(&o.stderr));
    }
}

#[test]
fn compare_runs_the_local_model_against_a_disabled_cloud_model_and_writes_markdown() {
    let model = switchboard_models::cached_default_model();
    assert!(model.exists(), "test model missing at {}: run fetch-model first", model.display());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("models")).unwrap();
    if std::fs::hard_link(&model, data.join("models/gemma-3-270m-q4_k_m.gguf")).is_err() {
        std::fs::copy(&model, data.join("models/gemma-3-270m-q4_k_m.gguf")).unwrap();
    }
    let prompts = dir.path().join("prompts.csv");
    std::fs::write(&prompts, "prompt\n\"Where is the report, please?\"\n").unwrap();
    let md = dir.path().join("report.md");
    let o = switchboard(
        &data,
        &[
            "compare",
            "--use-case",
            "intent_classification",
            "--candidates",
            "local/gemma-3-270m-q4_k_m,openai/gpt-4o-mini",
            "--prompts",
            prompts.to_str().unwrap(),
            "--markdown",
            md.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("[1/2] local/gemma-3-270m-q4_k_m prompt 1: ok"), "{stderr}");
    assert!(stderr.contains("[2/2] openai/gpt-4o-mini prompt 1: failed"), "{stderr}");
    let local = stdout.lines().find(|l| l.starts_with("local/gemma-3-270m-q4_k_m")).expect("a local row");
    let fields: Vec<&str> = local.split_whitespace().collect();
    assert_eq!((fields[1], fields[2]), ("1", "0"), "{local}");
    let cloud = stdout.lines().find(|l| l.starts_with("openai/gpt-4o-mini")).expect("a cloud row");
    assert_eq!(cloud.split_whitespace().nth(2), Some("1"), "{cloud}");
    let report = std::fs::read_to_string(&md).unwrap();
    assert!(report.contains("| local/gemma-3-270m-q4_k_m | 1 | 0 |"), "{report}");
    assert!(report.contains("_failed: the provider OpenAI is disabled"), "{report}");
    assert!(dir.path().join("report-latency-p50.svg").exists());
}
