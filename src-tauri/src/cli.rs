//! Commands without a window, on the same data folder and database as the app:
//!
//!   switchboard compare --use-case ID --candidates A,B[,...] (--prompts FILE | --samples)
//!                       [--name NAME] [--markdown OUT.md] [--data-dir DIR]
//!   switchboard costs export --out FILE [--format csv|jsonl] [--from DAY] [--to DAY]
//!                       [--use-case ID] [--provider ID] [--model NAME] [--status ok|error|cancelled]
//!                       [--caller NAME] [--data-dir DIR]
//!
//! Exit codes: 0 done, 1 failed, 2 bad arguments.

use std::path::PathBuf;

use switchboard_core::{AppError, ComparisonRequest, ExportFormat, LedgerFilter, RequestStatus};

use crate::ops;
use crate::state::{AppState, Paths};

/// Runs the command `args` names (after the program name); none when `args`
/// is not a command of this module, and the app should start as usual.
pub fn run_if_requested(args: &[String]) -> Option<i32> {
    let command = match args.first().map(String::as_str) {
        Some("compare") => Command::Compare,
        Some("costs") if args.get(1).map(String::as_str) == Some("export") => Command::CostsExport,
        _ => return None,
    };
    let skip = if matches!(command, Command::CostsExport) { 2 } else { 1 };
    let options = match Options::parse(&args[skip..]) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("switchboard: {e}\n{USAGE}");
            return Some(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    Some(runtime.block_on(async move {
        match run(command, options).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("switchboard: {}", e.message);
                if e.code == switchboard_core::ErrorCode::InvalidInput {
                    2
                } else {
                    1
                }
            }
        }
    }))
}

const USAGE: &str = "usage:
  switchboard compare --use-case ID --candidates A,B[,...] (--prompts FILE | --samples) [--name NAME] [--markdown OUT.md] [--data-dir DIR]
  switchboard costs export --out FILE [--format csv|jsonl] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--use-case ID] [--provider ID] [--model NAME] [--status ok|error|cancelled] [--caller NAME] [--data-dir DIR]";

enum Command {
    Compare,
    CostsExport,
}

#[derive(Default)]
struct Options {
    values: std::collections::HashMap<String, String>,
    samples: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        const VALUED: &[&str] = &[
            "use-case",
            "candidates",
            "prompts",
            "name",
            "markdown",
            "data-dir",
            "out",
            "format",
            "from",
            "to",
            "provider",
            "model",
            "status",
            "caller",
        ];
        let mut o = Options::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let Some(flag) = arg.strip_prefix("--") else { return Err(format!("unexpected argument '{arg}'")) };
            if flag == "samples" {
                o.samples = true;
            } else if VALUED.contains(&flag) {
                let value = it.next().ok_or_else(|| format!("--{flag} needs a value"))?;
                o.values.insert(flag.to_string(), value.clone());
            } else {
                return Err(format!("unknown option --{flag}"));
            }
        }
        Ok(o)
    }

    fn get(&self, flag: &str) -> Option<String> {
        self.values.get(flag).cloned()
    }

    fn require(&self, flag: &str) -> Result<String, AppError> {
        self.get(flag).ok_or_else(|| AppError::for_field(flag, format!("--{flag} is required\n{USAGE}")))
    }
}

/// The app's data folder: `--data-dir`, `$SWITCHBOARD_DATA_DIR`, else where
/// the app keeps it on Linux (`$XDG_DATA_HOME` or `~/.local/share`, then the app's identifier).
fn paths(o: &Options) -> Result<Paths, AppError> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = env("HOME").unwrap_or_else(|| PathBuf::from("."));
    let data_dir = o.get("data-dir").map(PathBuf::from).or_else(|| env("SWITCHBOARD_DATA_DIR")).unwrap_or_else(|| {
        env("XDG_DATA_HOME").unwrap_or_else(|| home.join(".local/share")).join("dev.switchboard.app")
    });
    let model_cache = env("SWITCHBOARD_MODEL_CACHE")
        .unwrap_or_else(|| env("XDG_CACHE_HOME").unwrap_or_else(|| home.join(".cache")).join("switchboard/models"));
    Ok(Paths::under(data_dir, model_cache))
}

async fn run(command: Command, o: Options) -> Result<(), AppError> {
    let state = AppState::open(paths(&o)?).await?;
    match command {
        Command::Compare => compare(&state, &o).await,
        Command::CostsExport => costs_export(&state, &o).await,
    }
}

async fn compare(state: &AppState, o: &Options) -> Result<(), AppError> {
    let prompts = match (o.get("prompts"), o.samples) {
        (Some(file), false) => ops::compare::prompts_from_file(std::path::Path::new(&file))?,
        (None, true) => switchboard_core::sample_prompts(),
        _ => return Err(AppError::for_field("prompts", format!("give --prompts FILE or --samples\n{USAGE}"))),
    };
    let req = ComparisonRequest {
        name: o.get("name").unwrap_or_else(|| "Local vs cloud".into()),
        use_case: o.require("use-case")?,
        candidates: o
            .require("candidates")?
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        prompts,
    };
    let report = ops::compare::run(state, &req, |p| {
        eprintln!(
            "[{}/{}] {} prompt {}: {}",
            p.done,
            p.total,
            p.candidate,
            p.prompt_index + 1,
            if p.ok { "ok" } else { "failed" }
        );
    })
    .await?;
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} ms"));
    println!(
        "{:<40} {:>5} {:>8} {:>10} {:>10} {:>10} {:>9} {:>14}",
        "candidate", "runs", "failures", "p50", "p95", "ttft", "tok/s", "$ per 1,000"
    );
    for r in &report.results {
        let s = &r.summary;
        println!(
            "{:<40} {:>5} {:>8} {:>10} {:>10} {:>10} {:>9} {:>14.4}",
            r.candidate,
            s.runs,
            s.failures,
            ms(s.p50_latency_ms),
            ms(s.p95_latency_ms),
            ms(s.avg_ttft_ms),
            s.avg_tokens_per_second.map_or("-".to_string(), |v| format!("{v:.1}")),
            s.cost_per_1000_usd
        );
    }
    println!("saved as report {}", report.id);
    if let Some(out) = o.get("markdown") {
        let path = std::path::absolute(&out).map_err(|e| AppError::for_field("markdown", e.to_string()))?;
        for file in ops::compare::export_markdown(&report, &path)? {
            println!("wrote {file}");
        }
    }
    Ok(())
}

async fn costs_export(state: &AppState, o: &Options) -> Result<(), AppError> {
    let format = ExportFormat::parse(&o.get("format").unwrap_or_else(|| "csv".into()))?;
    let status = o
        .get("status")
        .map(|s| {
            RequestStatus::parse(&s)
                .ok_or_else(|| AppError::for_field("status", format!("'{s}' is not a status (ok, error, cancelled)")))
        })
        .transpose()?;
    let filter = LedgerFilter {
        from: o.get("from"),
        to: o.get("to"),
        use_case: o.get("use-case"),
        provider: o.get("provider"),
        model: o.get("model"),
        status,
        caller: o.get("caller"),
        search: None,
    };
    let out = std::path::absolute(o.require("out")?).map_err(|e| AppError::for_field("out", e.to_string()))?;
    let rows = ops::history::export_to(state, &filter, format, &out).await?;
    println!("wrote {rows} requests to {}", out.display());
    Ok(())
}
