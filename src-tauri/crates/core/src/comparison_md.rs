//! A comparison report as Markdown with its charts as SVG images beside it:
//! the summary table, bar charts of latency, throughput and cost, and every
//! answer under its prompt. Text only; the caller writes the files.

use std::fmt::Write as _;

use crate::ComparisonReport;

/// The Markdown text, and the images it links to as `(file name, SVG)`;
/// image files are named `{stem}-{chart}.svg`.
pub fn report_markdown(report: &ComparisonReport, stem: &str) -> (String, Vec<(String, String)>) {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", one_line(&report.name));
    let _ = writeln!(
        md,
        "Run {} with the use case `{}`: {} prompts at {} candidates, one request at a time.\n",
        report.created_at,
        report.use_case,
        report.prompts.len(),
        report.results.len()
    );
    md.push_str("| candidate | runs | failures | latency p50 | latency p95 | time to first token | tokens/s | cost per 1,000 requests |\n");
    md.push_str("|---|---|---|---|---|---|---|---|\n");
    let ms = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.0} ms"));
    for r in &report.results {
        let s = &r.summary;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | ${:.4} |",
            r.candidate,
            s.runs,
            s.failures,
            ms(s.p50_latency_ms),
            ms(s.p95_latency_ms),
            ms(s.avg_ttft_ms),
            s.avg_tokens_per_second.map_or("–".to_string(), |v| format!("{v:.1}")),
            s.cost_per_1000_usd
        );
    }
    type Measure = fn(&crate::CandidateSummary) -> f64;
    let charts: [(&str, &str, Measure); 4] = [
        ("latency-p50", "Latency p50 (ms)", |s| s.p50_latency_ms.unwrap_or(0.0)),
        ("latency-p95", "Latency p95 (ms)", |s| s.p95_latency_ms.unwrap_or(0.0)),
        ("tokens-per-second", "Tokens per second", |s| s.avg_tokens_per_second.unwrap_or(0.0)),
        ("cost-per-1000", "Cost per 1,000 requests (USD)", |s| s.cost_per_1000_usd),
    ];
    let mut images = Vec::new();
    md.push('\n');
    for (key, title, value) in &charts {
        let bars: Vec<(String, f64)> =
            report.results.iter().map(|r| (r.candidate.clone(), value(&r.summary))).collect();
        let file = format!("{stem}-{key}.svg");
        let _ = writeln!(md, "![{title}]({file})\n");
        images.push((file, bar_chart_svg(title, &bars)));
    }
    md.push_str("## Answers\n");
    for (i, prompt) in report.prompts.iter().enumerate() {
        let _ = writeln!(md, "\n### Prompt {}\n", i + 1);
        for line in prompt.lines() {
            let _ = writeln!(md, "> {line}");
        }
        for r in &report.results {
            let _ = writeln!(md, "\n**{}**\n", r.candidate);
            match r.runs.iter().find(|run| run.prompt_index as usize == i) {
                Some(run) if run.ok => {
                    let _ = writeln!(md, "```text\n{}\n```", run.answer.replace("```", "'''"));
                }
                Some(run) => {
                    let _ = writeln!(md, "_failed: {}_", one_line(run.error.as_deref().unwrap_or("unknown")));
                }
                None => md.push_str("_not run_\n"),
            }
        }
    }
    (md, images)
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A horizontal bar chart: one labelled bar per candidate, its value written at its end.
pub fn bar_chart_svg(title: &str, bars: &[(String, f64)]) -> String {
    const LABEL_W: f64 = 260.0;
    const BAR_W: f64 = 380.0;
    const ROW_H: f64 = 28.0;
    let max = bars.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let height = 40.0 + ROW_H * bars.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"8\" y=\"20\" font-weight=\"bold\">{}</text>",
        escape(title),
        w = LABEL_W + BAR_W + 110.0,
    );
    const COLORS: [&str; 8] = ["#228be6", "#12b886", "#fd7e14", "#be4bdb", "#fa5252", "#15aabf", "#82c91e", "#e64980"];
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 32.0 + ROW_H * i as f64;
        let w = if max > 0.0 { value / max * BAR_W } else { 0.0 };
        let _ = write!(
            svg,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{bx}\" y=\"{y}\" width=\"{w:.1}\" height=\"{h}\" fill=\"{}\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\">{}</text>",
            escape(label),
            COLORS[i % COLORS.len()],
            format_value(*value),
            lx = LABEL_W - 8.0,
            ty = y + 15.0,
            bx = LABEL_W,
            h = ROW_H - 8.0,
            vx = LABEL_W + w + 6.0,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn format_value(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v < 0.01 {
        format!("{v:.6}")
    } else if v < 100.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CandidateResult, CandidateSummary, ComparisonRun};

    #[test]
    fn markdown_holds_the_table_the_charts_and_every_answer() {
        let run = |i: u32, ok: bool, answer: &str| ComparisonRun {
            prompt_index: i,
            ok,
            answer: answer.into(),
            error: (!ok).then(|| "provider_unavailable: 503".into()),
            latency_ms: 120.0,
            ttft_ms: Some(20.0),
            tokens_per_second: Some(50.0),
            input_tokens: 5,
            output_tokens: 6,
            cost_usd: 0.002,
            ledger_id: None,
        };
        let result = |candidate: &str, runs: Vec<ComparisonRun>| CandidateResult {
            candidate: candidate.into(),
            summary: CandidateSummary::of(&runs),
            runs,
        };
        let report = ComparisonReport {
            id: "r".into(),
            created_at: "2026-12-02T10:00:00.000Z".into(),
            name: "Local <vs> cloud".into(),
            use_case: "answer_generation".into(),
            prompts: vec!["Who?".into(), "Why?\nReally?".into()],
            results: vec![
                result("local/gemma", vec![run(0, true, "Ada."), run(1, true, "Because.")]),
                result("openai/gpt-4o-mini", vec![run(0, true, "Ada Lovelace."), run(1, false, "")]),
            ],
        };
        let (md, images) = report_markdown(&report, "cmp");
        assert!(md.starts_with("# Local <vs> cloud\n"));
        assert!(md.contains("| local/gemma | 2 | 0 | 120 ms | 120 ms | 20 ms | 50.0 | $2.0000 |"), "{md}");
        assert!(md.contains("| openai/gpt-4o-mini | 2 | 1 |"));
        assert!(md.contains("![Latency p50 (ms)](cmp-latency-p50.svg)"));
        assert!(md.contains("> Why?\n> Really?"));
        assert!(md.contains("**openai/gpt-4o-mini**\n\n_failed: provider_unavailable: 503_"));
        assert!(md.contains("```text\nAda Lovelace.\n```"));
        assert_eq!(images.len(), 4);
        let (name, svg) = &images[3];
        assert_eq!(name, "cmp-cost-per-1000.svg");
        assert!(svg.starts_with("<svg") && svg.contains(">local/gemma</text>") && svg.contains("Cost per 1,000"));
        // Labels are escaped in the SVG.
        let svg = bar_chart_svg("a < b", &[("x&y".into(), 1.0)]);
        assert!(svg.contains("a &lt; b") && svg.contains("x&amp;y"));
    }
}
