//! The local-versus-cloud comparison: a set of prompts run against two or
//! more candidates (local models and provider models) under one use case's
//! system prompt and parameters, and the report that puts them side by side:
//! latency p50/p95, time to first token, tokens per second, cost per 1,000
//! requests, failures, and every answer.

use serde::{Deserialize, Serialize};

use crate::{AppError, ModelRef};

/// The most candidates one comparison runs.
pub const MAX_CANDIDATES: usize = 8;
/// The most prompts one comparison runs.
pub const MAX_PROMPTS: usize = 200;
/// The longest prompt.
pub const MAX_PROMPT_CHARS: usize = 32_000;
/// The largest prompt file read.
pub const MAX_PROMPT_FILE_BYTES: usize = 4 << 20;
pub const MAX_PROMPT_FILE_BYTES_U64: u64 = MAX_PROMPT_FILE_BYTES as u64;

/// What to compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ComparisonRequest {
    pub name: String,
    /// Whose system prompt, schema and parameters every candidate runs with.
    pub use_case: String,
    /// `provider/model`, 2 to 8, each once.
    pub candidates: Vec<String>,
    /// 1 to 200 prompts.
    pub prompts: Vec<String>,
}

impl ComparisonRequest {
    /// Checks every field; the first refusal names its field.
    pub fn validate(&self) -> Result<(), AppError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(AppError::for_field("name", "name: 1 to 120 characters"));
        }
        if !(2..=MAX_CANDIDATES).contains(&self.candidates.len()) {
            return Err(AppError::for_field(
                "candidates",
                format!("candidates: choose 2 to {MAX_CANDIDATES} models to compare"),
            ));
        }
        for (i, c) in self.candidates.iter().enumerate() {
            ModelRef::parse(c).map_err(|e| AppError::for_field(format!("candidates.{i}"), e.message))?;
            if self.candidates[..i].contains(c) {
                return Err(AppError::for_field(format!("candidates.{i}"), format!("{c} is listed twice")));
            }
        }
        if self.prompts.is_empty() || self.prompts.len() > MAX_PROMPTS {
            return Err(AppError::for_field("prompts", format!("prompts: 1 to {MAX_PROMPTS} prompts")));
        }
        for (i, p) in self.prompts.iter().enumerate() {
            if p.trim().is_empty() || p.chars().count() > MAX_PROMPT_CHARS {
                return Err(AppError::for_field(
                    format!("prompts.{i}"),
                    format!("prompt {}: 1 to {MAX_PROMPT_CHARS} characters", i + 1),
                ));
            }
        }
        Ok(())
    }
}

/// One prompt at one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ComparisonRun {
    pub prompt_index: u32,
    pub ok: bool,
    pub answer: String,
    pub error: Option<String>,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub tokens_per_second: Option<f64>,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub cost_usd: f64,
    /// The ledger row the run left.
    pub ledger_id: Option<String>,
}

/// A candidate's figures over its runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct CandidateSummary {
    pub runs: u32,
    pub failures: u32,
    /// Over answered runs (nearest rank).
    pub p50_latency_ms: Option<f64>,
    pub p95_latency_ms: Option<f64>,
    pub avg_ttft_ms: Option<f64>,
    pub avg_tokens_per_second: Option<f64>,
    /// Total cost over all runs, scaled to 1,000 requests.
    pub cost_per_1000_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct CandidateResult {
    pub candidate: String,
    pub summary: CandidateSummary,
    pub runs: Vec<ComparisonRun>,
}

/// A comparison as it ran; saved whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ComparisonReport {
    pub id: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub name: String,
    pub use_case: String,
    pub prompts: Vec<String>,
    pub results: Vec<CandidateResult>,
}

/// A saved report in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ComparisonListing {
    pub id: String,
    pub created_at: String,
    pub name: String,
    pub candidates: Vec<String>,
    pub prompts: u32,
}

impl CandidateSummary {
    pub fn of(runs: &[ComparisonRun]) -> Self {
        let answered: Vec<&ComparisonRun> = runs.iter().filter(|r| r.ok).collect();
        let mut latency: Vec<f64> = answered.iter().map(|r| r.latency_ms).collect();
        latency.sort_by(f64::total_cmp);
        let rank = |q: f64| -> Option<f64> {
            (!latency.is_empty()).then(|| {
                let r = ((latency.len() as f64) * q).ceil() as usize;
                latency[r.clamp(1, latency.len()) - 1]
            })
        };
        let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let cost: f64 = runs.iter().map(|r| r.cost_usd).sum();
        Self {
            runs: runs.len() as u32,
            failures: runs.iter().filter(|r| !r.ok).count() as u32,
            p50_latency_ms: rank(0.5),
            p95_latency_ms: rank(0.95),
            avg_ttft_ms: mean(answered.iter().filter_map(|r| r.ttft_ms).collect()),
            avg_tokens_per_second: mean(answered.iter().filter_map(|r| r.tokens_per_second).collect()),
            cost_per_1000_usd: if runs.is_empty() { 0.0 } else { cost / runs.len() as f64 * 1000.0 },
        }
    }
}

/// Prompts from a file: a JSON array of strings (or of objects with a
/// `prompt` field), or CSV with a `prompt` column (or a single column, with
/// or without that header). Blank entries are skipped.
pub fn parse_prompts(text: &str, file_name: &str) -> Result<Vec<String>, AppError> {
    let bad = |why: String| AppError::for_field("prompts", format!("{file_name}: {why}"));
    if text.len() > MAX_PROMPT_FILE_BYTES {
        return Err(bad(format!("larger than {} MiB", MAX_PROMPT_FILE_BYTES >> 20)));
    }
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    let prompts: Vec<String> = if trimmed.starts_with('[') {
        let items: Vec<serde_json::Value> =
            serde_json::from_str(trimmed).map_err(|e| bad(format!("not a JSON array of prompts: {e}")))?;
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                serde_json::Value::String(s) => Ok(s),
                serde_json::Value::Object(o) => match o.get("prompt") {
                    Some(serde_json::Value::String(s)) => Ok(s.clone()),
                    _ => Err(bad(format!("item {} has no \"prompt\" text", i + 1))),
                },
                _ => Err(bad(format!("item {} is neither text nor an object with \"prompt\"", i + 1))),
            })
            .collect::<Result<_, _>>()?
    } else {
        csv_prompts(trimmed).map_err(bad)?
    };
    let prompts: Vec<String> = prompts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
    if prompts.is_empty() {
        return Err(bad("holds no prompts".into()));
    }
    if prompts.len() > MAX_PROMPTS {
        return Err(bad(format!("holds {} prompts; at most {MAX_PROMPTS}", prompts.len())));
    }
    Ok(prompts)
}

/// CSV (RFC 4180 quoting) with a `prompt` column, or one column.
fn csv_prompts(text: &str) -> Result<Vec<String>, String> {
    let records = csv_records(text)?;
    let Some(header) = records.first() else { return Ok(Vec::new()) };
    let column = header.iter().position(|h| h.trim().eq_ignore_ascii_case("prompt"));
    match column {
        Some(c) => Ok(records[1..].iter().map(|r| r.get(c).cloned().unwrap_or_default()).collect()),
        None if header.len() == 1 => Ok(records.into_iter().map(|mut r| r.remove(0)).collect()),
        None => Err("a CSV file with several columns needs one named \"prompt\"".into()),
    }
}

fn csv_records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// Sample prompts of the built-in use cases, for a comparison without a file.
pub fn sample_prompts() -> Vec<String> {
    [
        "What did we decide about the budget in last week's meeting?",
        "Ada Lovelace worked with Charles Babbage in London on the Analytical Engine.",
        "Context: The office opens at 9 am. Question: When does the office open?",
        "Answer: The office opens at 9 am on weekdays.",
        "Compare the revenue of our two biggest customers and explain the difference.",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ok: bool, latency: f64, cost: f64) -> ComparisonRun {
        ComparisonRun {
            prompt_index: 0,
            ok,
            answer: String::new(),
            error: (!ok).then(|| "failed".into()),
            latency_ms: latency,
            ttft_ms: ok.then_some(latency / 10.0),
            tokens_per_second: ok.then_some(40.0),
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: cost,
            ledger_id: None,
        }
    }

    #[test]
    fn summaries_rank_answered_runs_and_scale_cost_to_a_thousand() {
        let runs: Vec<ComparisonRun> =
            (1..=20).map(|i| run(true, f64::from(i) * 100.0, 0.001)).chain([run(false, 5.0, 0.0)]).collect();
        let s = CandidateSummary::of(&runs);
        assert_eq!((s.runs, s.failures), (21, 1));
        assert_eq!(s.p50_latency_ms, Some(1000.0));
        assert_eq!(s.p95_latency_ms, Some(1900.0));
        assert!((s.cost_per_1000_usd - 0.02 / 21.0 * 1000.0).abs() < 1e-9);
        assert_eq!(CandidateSummary::of(&[run(false, 1.0, 0.0)]).p50_latency_ms, None);
    }

    #[test]
    fn prompt_files_in_json_and_csv_are_read_and_bad_ones_refused_by_name() {
        assert_eq!(parse_prompts(r#"["a", {"prompt": "b"}, "  "]"#, "p.json").unwrap(), ["a", "b"]);
        assert_eq!(
            parse_prompts("id,prompt\n1,\"x, \"\"quoted\"\"\"\n2,y\n", "p.csv").unwrap(),
            ["x, \"quoted\"", "y"]
        );
        assert_eq!(parse_prompts("prompt\r\nfirst\r\nsecond\r\n", "p.csv").unwrap(), ["first", "second"]);
        assert_eq!(parse_prompts("just one line", "p.txt").unwrap(), ["just one line"]);
        for (text, why) in [
            ("[1, 2]", "item 1"),
            ("[{\"text\": \"a\"}]", "no \"prompt\""),
            ("[not json", "not a JSON array"),
            ("a,b\n1,2", "named \"prompt\""),
            ("\"open", "not closed"),
            ("[]", "no prompts"),
        ] {
            let e = parse_prompts(text, "f").unwrap_err();
            assert!(e.message.contains(why), "{text}: {}", e.message);
            assert_eq!(e.field.as_deref(), Some("prompts"));
        }
        let many = serde_json::to_string(&vec!["p"; 201]).unwrap();
        assert!(parse_prompts(&many, "f").unwrap_err().message.contains("at most 200"));
    }

    #[test]
    fn requests_need_two_distinct_candidates_and_real_prompts() {
        let ok = ComparisonRequest {
            name: "Local vs cloud".into(),
            use_case: "answer_generation".into(),
            candidates: vec!["local/gemma".into(), "openai/gpt-4o-mini".into()],
            prompts: vec!["hi".into()],
        };
        assert!(ok.validate().is_ok());
        let field = |r: ComparisonRequest| r.validate().unwrap_err().field.unwrap();
        assert_eq!(field(ComparisonRequest { candidates: vec!["local/gemma".into()], ..ok.clone() }), "candidates");
        assert_eq!(
            field(ComparisonRequest { candidates: vec!["local/gemma".into(), "local/gemma".into()], ..ok.clone() }),
            "candidates.1"
        );
        assert_eq!(
            field(ComparisonRequest { candidates: vec!["a".into(), "local/x".into()], ..ok.clone() }),
            "candidates.0"
        );
        assert_eq!(field(ComparisonRequest { prompts: vec![" ".into()], ..ok.clone() }), "prompts.0");
        assert_eq!(field(ComparisonRequest { name: "".into(), ..ok }), "name");
    }
}
