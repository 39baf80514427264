//! `switchboard chat` and `switchboard describe`: one request through the
//! gateway (route, budgets, ledger row with caller `cli`), the answer
//! printed as it comes, then a line of statistics on standard error.

use std::io::{Read, Write};
use std::path::Path;

use serde::Serialize;
use switchboard_core::{AppError, Attempt, GenerationStats, ParamOverrides};
use switchboard_gateway::{DescribeExtras, DescribeRequest, GenerationEvent, ImageBytes, LlmRequest, RequestExtras};
use switchboard_service::AppState;

use crate::args::{ChatArgs, DescribeArgs, ParamArgs};
use crate::Out;

/// How the command line appears in the ledger.
pub const CLI_CALLER: &str = "cli";

#[derive(Debug, Serialize)]
struct Answer {
    ledger_id: String,
    model: String,
    text: String,
    stats: GenerationStats,
    route: Vec<Attempt>,
}

pub fn overrides(p: &ParamArgs) -> ParamOverrides {
    ParamOverrides {
        temperature: p.temperature,
        top_k: p.top_k,
        top_p: p.top_p,
        max_tokens: p.max_tokens,
        repeat_penalty: p.repeat_penalty,
        seed: p.seed,
        stop: (!p.stop.is_empty()).then(|| p.stop.clone()),
        ..Default::default()
    }
}

/// The parameters given, checked against the use case's (a value out of range is refused by name).
async fn checked_overrides(state: &AppState, use_case: &str, p: &ParamArgs) -> Result<ParamOverrides, AppError> {
    let use_case = state.store().use_case(use_case).await?;
    let o = overrides(p);
    o.apply(use_case.effective_params(None))
        .validate()
        .map_err(|e| AppError::for_field(e.field.clone(), e.to_string()))?;
    Ok(o)
}

/// Tokens to standard output as they come (not with `--json`, which prints the whole answer at the end).
fn printer(json: bool) -> impl Fn(GenerationEvent) + Send + Sync + 'static {
    move |e| {
        if let (false, GenerationEvent::Token { text }) = (json, e) {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

fn collector() -> (std::sync::Arc<std::sync::Mutex<String>>, impl Fn(GenerationEvent) + Send + Sync + 'static) {
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = {
        let text = text.clone();
        move |e| {
            if let GenerationEvent::Token { text: t } = e {
                text.lock().expect("text lock").push_str(&t);
            }
        }
    };
    (text, sink)
}

pub async fn chat(state: &AppState, out: &Out, a: ChatArgs) -> Result<(), AppError> {
    let prompt = match a.prompt.as_deref() {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin().take(16 * 1024 * 1024).read_to_string(&mut s).map_err(|e| {
                AppError::for_field("prompt", format!("cannot read the prompt from standard input: {e}"))
            })?;
            s
        }
        Some(p) => p.to_string(),
    };
    if prompt.trim().is_empty() {
        return Err(AppError::for_field("prompt", "the prompt is empty"));
    }
    let json_schema = a.json_schema.as_deref().map(schema_text).transpose()?;
    let o = checked_overrides(state, &a.use_case, &a.params).await?;
    let req = LlmRequest {
        request_id: format!("cli-{}", uuid::Uuid::new_v4()),
        use_case: a.use_case,
        prompt,
        history: Vec::new(),
        model: a.model,
        params: None,
        priority: Default::default(),
    };
    let extras = RequestExtras {
        overrides: (!o.is_empty()).then_some(o),
        json_schema,
        ignore_eos: false,
        queue_ledger_row: false,
    };
    let (text, collect) = collector();
    let print = printer(out.json);
    let summary = state
        .gateway
        .generate_with(CLI_CALLER, req, extras, move |e| {
            collect(e.clone());
            print(e)
        })
        .await?;
    let answer = Answer {
        ledger_id: summary.ledger_id,
        model: summary.model,
        text: std::mem::take(&mut *text.lock().expect("text lock")),
        stats: summary.stats,
        route: summary.route,
    };
    finish(out, &answer);
    Ok(())
}

pub async fn describe(state: &AppState, out: &Out, a: DescribeArgs) -> Result<(), AppError> {
    let o = checked_overrides(state, &a.use_case, &a.params).await?;
    let mut images = Vec::with_capacity(a.images.len());
    for path in &a.images {
        images.push(read_image(path)?);
    }
    let req = DescribeRequest {
        request_id: format!("cli-{}", uuid::Uuid::new_v4()),
        use_case: Some(a.use_case),
        model: a.model,
        prompt: a.prompt,
        image_path: String::new(),
        params: None,
    };
    let extras = DescribeExtras { images, overrides: (!o.is_empty()).then_some(o) };
    let summary = state.gateway.describe_with(CLI_CALLER, req, extras, printer(out.json)).await?;
    let answer = Answer {
        ledger_id: summary.ledger_id,
        model: summary.model,
        text: summary.text,
        stats: summary.stats,
        route: summary.route,
    };
    finish(out, &answer);
    Ok(())
}

/// A regular image file, read with a cap (a device or a pipe named by mistake would never end).
fn read_image(path: &Path) -> Result<ImageBytes, AppError> {
    const CAP: u64 = 64 * 1024 * 1024;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    let bytes = switchboard_files::read_capped(path, CAP)
        .map_err(|e| AppError::for_field("images", format!("{}: {e}", path.display())))?;
    Ok(ImageBytes { name, bytes })
}

fn finish(out: &Out, answer: &Answer) {
    if out.json {
        out.print(answer, |_| String::new());
        return;
    }
    println!();
    let s = &answer.stats;
    eprintln!(
        "[{} · {} in, {} out · {:.0} ms{} · ledger {}]",
        answer.model,
        s.input_tokens,
        s.output_tokens,
        s.latency_ms,
        s.tokens_per_second.map_or(String::new(), |t| format!(" · {t:.1} tok/s")),
        answer.ledger_id
    );
}

/// `--json-schema`: a file holding the schema, or the schema itself; checked to be JSON.
fn schema_text(given: &str) -> Result<String, AppError> {
    let text = if Path::new(given).is_file() {
        let bytes = switchboard_files::read_capped(Path::new(given), 1024 * 1024)
            .map_err(|e| AppError::for_field("json_schema", format!("{given}: {e}")))?;
        String::from_utf8(bytes)
            .map_err(|_| AppError::for_field("json_schema", format!("{given} is not UTF-8 text")))?
    } else {
        given.to_string()
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| AppError::for_field("json_schema", format!("the schema is not JSON: {e}")))?;
    Ok(text)
}
