//! `costs export` and `compare`: the ledger read out to a file, and
//! candidates run side by side (each run an ordinary, recorded request).

use switchboard_core::{AppError, ComparisonRequest, ExportFormat, LedgerFilter, RequestStatus};
use switchboard_service::{ops, AppState};

use crate::args::{CompareArgs, CostsCommand, FormatArg};
use crate::Out;

pub async fn costs(state: &AppState, out: &Out, cmd: CostsCommand) -> Result<(), AppError> {
    let CostsCommand::Export(a) = cmd;
    let format = match a.format {
        FormatArg::Csv => ExportFormat::Csv,
        FormatArg::Jsonl => ExportFormat::Jsonl,
    };
    let status = a
        .status
        .map(|s| {
            RequestStatus::parse(&s)
                .ok_or_else(|| AppError::for_field("status", format!("'{s}' is not a status (ok, error, cancelled)")))
        })
        .transpose()?;
    let filter = LedgerFilter {
        from: a.from,
        to: a.to,
        use_case: a.use_case,
        provider: a.provider,
        model: a.model,
        status,
        caller: a.caller,
        search: None,
    };
    let path = std::path::absolute(&a.out).map_err(|e| AppError::for_field("out", e.to_string()))?;
    let rows = ops::history::export_to(state, &filter, format, &path).await?;
    out.print(&serde_json::json!({"rows": rows, "path": path}), |_| {
        format!("wrote {rows} requests to {}", path.display())
    });
    Ok(())
}

pub async fn compare(state: &AppState, out: &Out, a: CompareArgs) -> Result<(), AppError> {
    let prompts = match (a.prompts, a.samples) {
        (Some(file), false) => ops::compare::prompts_from_file(&file)?,
        (None, true) => switchboard_core::sample_prompts(),
        _ => return Err(AppError::for_field("prompts", "give --prompts FILE or --samples")),
    };
    let req = ComparisonRequest {
        name: a.name.unwrap_or_else(|| "Local vs cloud".into()),
        use_case: a.use_case,
        candidates: a.candidates.into_iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect(),
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
    let mut written = Vec::new();
    if let Some(md) = a.markdown {
        let path = std::path::absolute(&md).map_err(|e| AppError::for_field("markdown", e.to_string()))?;
        written = ops::compare::export_markdown(&report, &path)?;
    }
    out.print(&report, |report| {
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} ms"));
        let mut lines = vec![format!(
            "{:<40} {:>5} {:>8} {:>10} {:>10} {:>10} {:>9} {:>14}",
            "candidate", "runs", "failures", "p50", "p95", "ttft", "tok/s", "$ per 1,000"
        )];
        for r in &report.results {
            let s = &r.summary;
            lines.push(format!(
                "{:<40} {:>5} {:>8} {:>10} {:>10} {:>10} {:>9} {:>14.4}",
                r.candidate,
                s.runs,
                s.failures,
                ms(s.p50_latency_ms),
                ms(s.p95_latency_ms),
                ms(s.avg_ttft_ms),
                s.avg_tokens_per_second.map_or("-".to_string(), |v| format!("{v:.1}")),
                s.cost_per_1000_usd
            ));
        }
        lines.push(format!("saved as report {}", report.id));
        lines.extend(written.iter().map(|f| format!("wrote {f}")));
        lines.join("\n")
    });
    Ok(())
}
