//! Ollama-compatible endpoints, so an unchanged Ollama client talks to
//! Switchboard: `POST /api/chat` and `/api/generate` (streamed as NDJSON by
//! default, `images` as base64, `format` as "json" or a schema, `options`),
//! `POST /api/embed` (and the older `/api/embeddings`), `GET /api/tags`,
//! `POST /api/show`, `GET /api/ps`, `GET /api/version`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::stream;
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_core::{ChatTurn, ModelRef, ParamOverrides};

use crate::body::Json;
use crate::catalog::{parameter_size, Catalog, Entry};
use crate::conversation::{self, Conversation};
use crate::error::{ApiError, Dialect};
use crate::openai::{extension, stop_list, texts};
use crate::run::{Finished, Item, Running};
use crate::{target, ApiState, Caller};

const D: Dialect = Dialect::Ollama;

/// The Ollama API version this server answers as (clients check it for features).
pub const OLLAMA_VERSION: &str = "0.12.0";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChatRequest {
    pub model: String,
    #[schema(value_type = Vec<Object>)]
    #[serde(default)]
    pub messages: Vec<Value>,
    /// NDJSON unless false.
    pub stream: Option<bool>,
    /// "json" or a JSON schema.
    #[schema(value_type = Option<Object>)]
    pub format: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub options: Option<Value>,
    /// Not offered: refused when it lists any.
    #[schema(value_type = Option<Vec<Object>>)]
    pub tools: Option<Value>,
    /// 0 (or "0s") unloads the local model once the answer is written; other
    /// values are accepted and the engine's idle unload from Settings applies.
    #[schema(value_type = Option<Object>)]
    pub keep_alive: Option<Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GenerateRequest {
    pub model: String,
    #[serde(default)]
    pub prompt: String,
    pub system: Option<String>,
    /// Base64 images (the vision use case describes them).
    #[serde(default)]
    pub images: Vec<String>,
    pub stream: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub format: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub options: Option<Value>,
    /// Not offered (the model's chat template is always applied): refused when true.
    #[serde(default)]
    pub raw: bool,
    /// Not offered: refused when given.
    pub suffix: Option<String>,
    /// The token context of an earlier answer (deprecated by Ollama): not offered, refused when given.
    #[schema(value_type = Option<Vec<u64>>)]
    pub context: Option<Value>,
    /// As for `/api/chat`.
    #[schema(value_type = Option<Object>)]
    pub keep_alive: Option<Value>,
}

/// A chat, Ollama's way.
#[utoipa::path(post, path = "/api/chat", request_body = ChatRequest, tag = "ollama",
    responses((status = 200, description = "NDJSON chunks, or one object when stream is false")), security(("token" = [])))]
pub async fn chat(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<ChatRequest>,
) -> Result<Response, ApiError> {
    crate::openai::refuse_tools(req.tools.as_ref(), "tools", D)?;
    let unload_after = unloads(req.keep_alive.as_ref())?;
    if req.messages.is_empty() {
        let target = target::resolve(&state, &req.model, false, D).await?;
        return load_or_unload(&state, &target, req.model, unload_after, Shape::Chat).await;
    }
    let mut conv = Conversation::default();
    let n = req.messages.len();
    for (i, m) in req.messages.iter().enumerate() {
        let role = conversation::role(m.get("role").and_then(Value::as_str).unwrap_or(""), D, i)?;
        let content = match m.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(_) => return Err(ApiError::field(D, &format!("messages[{i}].content"), "a string")),
        };
        let images = strings(m.get("images"), &format!("messages[{i}].images"))?;
        if i + 1 == n {
            conv.images = images;
        } else if !images.is_empty() {
            conv.earlier_images = true;
        }
        conv.turns.push(ChatTurn { role, content });
    }
    conv.overrides = overrides(req.options.as_ref())?;
    conv.json_schema = format(req.format.as_ref())?;
    let vision = !conv.images.is_empty() || conv.earlier_images;
    let target = target::resolve(&state, &req.model, vision, D).await?;
    // Armed once the request has started (one refused as invalid leaves the model
    // alone, as Ollama does); from then on a failed or abandoned request unloads too.
    let model = unload_after.then(|| local_model(&target));
    let running = conversation::start(&state, &caller, target, conv, D).await?;
    let after = model.map(|model| UnloadAfter { state: state.clone(), model });
    answer(running, req.model, req.stream.unwrap_or(true), Shape::Chat, after).await
}

/// A completion of one prompt (with images for a vision use case), Ollama's way.
#[utoipa::path(post, path = "/api/generate", request_body = GenerateRequest, tag = "ollama",
    responses((status = 200, description = "NDJSON chunks, or one object when stream is false")), security(("token" = [])))]
pub async fn generate(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<GenerateRequest>,
) -> Result<Response, ApiError> {
    if req.raw {
        return Err(ApiError::field(
            D,
            "raw",
            "raw prompts are not offered: the model's chat template is always applied",
        ));
    }
    if req.suffix.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::field(D, "suffix", "filling in between a prompt and a suffix is not offered"));
    }
    if req.context.as_ref().is_some_and(|c| c.as_array().is_none_or(|a| !a.is_empty())) {
        return Err(ApiError::field(
            D,
            "context",
            "continuing from an earlier answer's context is not offered; use /api/chat with the earlier messages",
        ));
    }
    let unload_after = unloads(req.keep_alive.as_ref())?;
    let vision = !req.images.is_empty();
    let target = target::resolve(&state, &req.model, vision, D).await?;
    if req.prompt.trim().is_empty() && !vision {
        return load_or_unload(&state, &target, req.model, unload_after, Shape::Generate).await;
    }
    let mut conv = Conversation::default();
    if let Some(system) = req.system.filter(|s| !s.trim().is_empty()) {
        conv.turns.push(ChatTurn { role: switchboard_core::ChatRole::System, content: system });
    }
    let prompt =
        if req.prompt.trim().is_empty() { switchboard_gateway::DEFAULT_VISION_PROMPT.to_string() } else { req.prompt };
    conv.turns.push(ChatTurn { role: switchboard_core::ChatRole::User, content: prompt });
    conv.images = req.images;
    conv.overrides = overrides(req.options.as_ref())?;
    conv.json_schema = format(req.format.as_ref())?;
    let model = unload_after.then(|| local_model(&target));
    let running = conversation::start(&state, &caller, target, conv, D).await?;
    let after = model.map(|model| UnloadAfter { state: state.clone(), model });
    answer(running, req.model, req.stream.unwrap_or(true), Shape::Generate, after).await
}

/// Whether `keep_alive` asks for the model to leave memory after the request:
/// 0, "0", "0s", "0m". A duration or a negative number (forever) is accepted;
/// how long an unused model stays is the engine's setting.
fn unloads(keep_alive: Option<&Value>) -> Result<bool, ApiError> {
    let bad = || {
        ApiError::field(
            D,
            "keep_alive",
            "a duration (\"5m\", \"30s\", \"1h30m\"), a number of seconds, 0 to unload, or a negative value to keep",
        )
    };
    match keep_alive {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Number(n)) => n.as_f64().map(|n| n == 0.0).ok_or_else(bad),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(false),
        Some(Value::String(s)) => duration_seconds(s).map(|d| d == 0.0).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// A duration as Go writes one (`1h30m`, `-1m`, `1.5s`, `300ms`, `0`), or a
/// bare number of seconds, in seconds.
fn duration_seconds(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(seconds) = s.parse::<f64>() {
        return seconds.is_finite().then_some(seconds);
    }
    let (sign, mut rest) = match s.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let per = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * per;
    }
    Some(sign * total)
}

/// A request with nothing to answer: loads the model the target runs first
/// (when local) so that the next request does not wait, or unloads it when
/// `keep_alive` is 0, as Ollama does.
async fn load_or_unload(
    state: &ApiState,
    target: &target::Target,
    model: String,
    unload: bool,
    shape: Shape,
) -> Result<Response, ApiError> {
    if let Some(local) = local_model(target) {
        let done = if unload {
            switchboard_service::ops::library::unload(&state.app, &local).await
        } else {
            switchboard_service::ops::library::load_now(&state.app, &local).await
        };
        done.map_err(|e| ApiError::from_app(D, e))?;
    }
    let mut body = match shape {
        Shape::Chat => json!({"model": model, "created_at": now(), "message": {"role": "assistant", "content": ""}}),
        Shape::Generate => json!({"model": model, "created_at": now(), "response": ""}),
    };
    body["done"] = json!(true);
    body["done_reason"] = json!(if unload { "unload" } else { "load" });
    Ok(axum::Json(body).into_response())
}

/// The local model a target runs first, by its library id; none when it starts in the cloud.
fn local_model(target: &target::Target) -> Option<String> {
    let model_ref = target.model.as_deref().unwrap_or(&target.use_case.model);
    ModelRef::parse(model_ref).ok().filter(ModelRef::is_local).map(|m| m.model)
}

/// `keep_alive: 0`: the local model leaves memory when this is dropped, once
/// the answer is written or the request failed or its client went away.
struct UnloadAfter {
    state: Arc<ApiState>,
    model: Option<String>,
}

impl UnloadAfter {
    /// The request ended with an answer: the local model that gave it, if one did.
    fn answered(&mut self, done: &Finished) {
        if let Some(local) = ModelRef::parse(&done.model).ok().filter(ModelRef::is_local) {
            self.model = Some(local.model);
        }
    }
}

impl Drop for UnloadAfter {
    fn drop(&mut self) {
        let (Some(model), Ok(runtime)) = (self.model.take(), tokio::runtime::Handle::try_current()) else { return };
        let state = self.state.clone();
        runtime.spawn(async move {
            // Waits for the model's requests, this one included, to end.
            if let Err(e) = switchboard_service::ops::library::unload(&state.app, &model).await {
                tracing::warn!(%model, error = %e.message, "could not unload the model after the request");
            }
        });
    }
}

#[derive(Clone, Copy)]
enum Shape {
    Chat,
    Generate,
}

impl Shape {
    fn chunk(self, model: &str, text: &str) -> Value {
        match self {
            Shape::Chat => {
                json!({"model": model, "created_at": now(), "message": {"role": "assistant", "content": text}, "done": false})
            }
            Shape::Generate => json!({"model": model, "created_at": now(), "response": text, "done": false}),
        }
    }

    fn last(self, model: &str, text: &str, done: &Finished) -> Value {
        let mut v = self.chunk(model, text);
        let s = &done.stats;
        let ns = |ms: f64| (ms * 1e6).round() as u64;
        let prompt_ms = s.ttft_ms.unwrap_or(0.0);
        v["done"] = json!(true);
        v["done_reason"] = json!(crate::openai::finish_reason(s.finish_reason));
        v["total_duration"] = json!(ns(s.latency_ms));
        v["load_duration"] = json!(ns(s.load_ms));
        v["prompt_eval_count"] = json!(s.input_tokens);
        v["prompt_eval_duration"] = json!(ns(prompt_ms));
        v["eval_count"] = json!(s.output_tokens);
        v["eval_duration"] = json!(ns((s.latency_ms - prompt_ms).max(0.0)));
        v["switchboard"] = extension(done);
        v
    }
}

/// One object, or NDJSON lines ending with the statistics; then, with `unload_after`, the model leaves memory.
async fn answer(
    mut running: Running,
    model: String,
    stream: bool,
    shape: Shape,
    mut unload_after: Option<UnloadAfter>,
) -> Result<Response, ApiError> {
    if !stream {
        let (text, done) = running.collect().await.map_err(|e| ApiError::from_app(D, e))?;
        if let Some(after) = &mut unload_after {
            after.answered(&done);
        }
        return Ok(axum::Json(shape.last(&model, &text, &done)).into_response());
    }
    let first = running.first().await;
    if let Some(Item::Done(Err(e))) = first {
        return Err(ApiError::from_app(D, e));
    }
    // The guard lives in the stream's state: dropped when the stream ends or its client goes.
    let lines =
        stream::unfold((running, first, false, unload_after), move |(mut running, pending, ended, mut after)| {
            let model = model.clone();
            async move {
                if ended {
                    return None;
                }
                let item = match pending {
                    Some(item) => Some(item),
                    None => running.next().await,
                };
                let (line, ended) = match item? {
                    Item::Token(text) => (shape.chunk(&model, &text), false),
                    Item::Done(Ok(done)) => {
                        if let Some(after) = &mut after {
                            after.answered(&done);
                        }
                        (shape.last(&model, "", &done), true)
                    }
                    Item::Done(Err(e)) => (ApiError::from_app(D, e).body(), true),
                };
                Some((Ok::<_, std::convert::Infallible>(format!("{line}\n")), (running, None, ended, after)))
            }
        });
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], axum::body::Body::from_stream(lines)).into_response())
}

/// Ollama's `options` as parameter values.
fn overrides(options: Option<&Value>) -> Result<ParamOverrides, ApiError> {
    let Some(o) = options.filter(|o| !o.is_null()) else { return Ok(ParamOverrides::default()) };
    if !o.is_object() {
        return Err(ApiError::field(D, "options", "an object"));
    }
    let f = |k: &str| o.get(k).and_then(Value::as_f64).map(|v| v as f32);
    let u = |k: &str| -> Result<Option<u32>, ApiError> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .map(Some)
                .ok_or_else(|| ApiError::field(D, &format!("options.{k}"), "a whole number from 0 to 4294967295")),
        }
    };
    // num_predict -1 (no limit) and -2 (fill the context) leave the configured maximum.
    let num_predict = match o.get("num_predict").and_then(Value::as_i64) {
        Some(n) if n > 0 => Some(u32::try_from(n).unwrap_or(u32::MAX)),
        _ => None,
    };
    Ok(ParamOverrides {
        temperature: f("temperature"),
        top_k: u("top_k")?,
        top_p: f("top_p"),
        min_p: f("min_p"),
        max_tokens: num_predict,
        repeat_penalty: f("repeat_penalty"),
        presence_penalty: f("presence_penalty"),
        frequency_penalty: f("frequency_penalty"),
        stop: stop_list(o.get("stop"), D)?,
        // -1 asks for a random seed, as in llama.cpp.
        seed: match o.get("seed") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(-1) => None,
                Some(s) => Some(conversation::seed(s)),
                None => return Err(ApiError::field(D, "options.seed", "a whole number (-1 for a random seed)")),
            },
        },
    })
}

/// `format`: "json" for any JSON object, or a JSON schema.
fn format(format: Option<&Value>) -> Result<Option<String>, ApiError> {
    match format {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s == "json" => Ok(Some(r#"{"type":"object"}"#.to_string())),
        Some(v @ Value::Object(_)) => Ok(Some(v.to_string())),
        Some(_) => Err(ApiError::field(D, "format", "\"json\" or a JSON schema")),
    }
}

fn strings(v: Option<&Value>, field: &str) -> Result<Vec<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(|| ApiError::field(D, field, "base64 strings")))
            .collect(),
        Some(_) => Err(ApiError::field(D, field, "a list of base64 strings")),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmbedBody {
    pub model: String,
    /// A string or a list of strings (`/api/embed`).
    #[schema(value_type = Option<Object>)]
    pub input: Option<Value>,
    /// One string (the older `/api/embeddings`).
    pub prompt: Option<String>,
}

/// Embeddings from a local embedding model.
#[utoipa::path(post, path = "/api/embed", request_body = EmbedBody, tag = "ollama",
    responses((status = 200, description = "The embeddings")), security(("token" = [])))]
pub async fn embed(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<EmbedBody>,
) -> Result<Response, ApiError> {
    let legacy = req.input.is_none() && req.prompt.is_some();
    let inputs = match (&req.input, &req.prompt) {
        (Some(input), _) => texts(input, "input", D)?,
        (None, Some(p)) => vec![p.clone()],
        (None, None) => return Err(ApiError::field(D, "input", "give the text to embed")),
    };
    let out = crate::openai::embed(&state, &caller, &req.model, inputs, D).await?;
    if legacy {
        return Ok(axum::Json(json!({"embedding": out.vectors.first()})).into_response());
    }
    Ok(axum::Json(json!({
        "model": req.model,
        "embeddings": out.vectors,
        "total_duration": (out.latency_ms * 1e6).round() as u64,
        "load_duration": 0,
        "prompt_eval_count": out.input_tokens,
        "switchboard": {"ledger_id": out.ledger_id, "model": out.model, "pooling": out.pooling},
    }))
    .into_response())
}

/// The use cases and models, as Ollama lists its models (a use case with the
/// details of the model it runs first).
#[utoipa::path(get, path = "/api/tags", tag = "ollama", responses((status = 200, description = "The models")),
    security(("token" = [])))]
pub async fn tags(State(state): State<Arc<ApiState>>) -> Result<Response, ApiError> {
    let catalog = Catalog::read(&state, D).await?;
    let at = now();
    let entry = |name: &str, entry: Entry<'_>, modified: &str| {
        let model_ref = entry.model_ref();
        json!({
            "name": name, "model": name, "modified_at": modified, "size": size_of(&catalog, model_ref),
            "digest": digest_of(name), "details": details(&catalog, model_ref)
        })
    };
    let mut list: Vec<Value> =
        catalog.use_cases.iter().map(|u| entry(&u.id, Entry::UseCase(u), &u.updated_at)).collect();
    list.extend(catalog.models.iter().map(|m| entry(&m.id, Entry::Model(m), &at)));
    Ok(axum::Json(json!({"models": list})).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ShowRequest {
    pub model: Option<String>,
    /// The older name of `model`.
    pub name: Option<String>,
    /// Accepted; the answer is the same either way.
    #[serde(default)]
    pub verbose: bool,
}

/// What a use case or model is: the parameters and system prompt a request
/// gets, the model it runs (its architecture, size, context and quantisation
/// when local) and what it can do, as Ollama shows a model.
#[utoipa::path(post, path = "/api/show", request_body = ShowRequest, tag = "ollama",
    responses((status = 200, description = "The model"), (status = 404, description = "No such use case or model")),
    security(("token" = [])))]
pub async fn show(State(state): State<Arc<ApiState>>, Json(req): Json<ShowRequest>) -> Result<Response, ApiError> {
    let name = req.model.or(req.name).unwrap_or_default();
    if name.trim().is_empty() {
        return Err(ApiError::field(
            D,
            "model",
            "name a use case (answer_generation) or a model (local/<id>, <provider>/<model>)",
        ));
    }
    let catalog = Catalog::read(&state, D).await?;
    let entry = catalog.find(&name).ok_or_else(|| target::unknown(D, &name))?;
    let model_ref = entry.model_ref();
    let local = catalog.local(model_ref);
    let facts = local.and_then(|m| m.facts.as_ref());

    let mut parameters: Vec<(String, String)> = Vec::new();
    let mut modelfile = String::new();
    let (system, route) = match entry {
        Entry::UseCase(u) => {
            let p = u.effective_params(None);
            parameters.extend(
                [
                    ("temperature", p.temperature.to_string()),
                    ("top_k", p.top_k.to_string()),
                    ("top_p", p.top_p.to_string()),
                    ("min_p", p.min_p.to_string()),
                    ("num_predict", p.max_tokens.to_string()),
                    ("repeat_penalty", p.repeat_penalty.to_string()),
                    ("presence_penalty", p.presence_penalty.to_string()),
                    ("frequency_penalty", p.frequency_penalty.to_string()),
                ]
                .map(|(k, v)| (k.to_string(), v)),
            );
            parameters.extend(p.seed.map(|s| ("seed".to_string(), s.to_string())));
            parameters.extend(p.stop.iter().map(|s| ("stop".to_string(), json!(s).to_string())));
            modelfile.push_str(&format!("# Use case '{}' ({}), served by Switchboard\n", u.name, u.id));
            let route = state.app.gateway.resolved_route(u).await.map_err(|e| ApiError::from_app(D, e))?;
            (u.system_prompt.clone().filter(|s| !s.trim().is_empty()), Some(route))
        }
        Entry::Model(_) => {
            modelfile.push_str("# A model served by Switchboard, with the parameters each request gives\n");
            (None, None)
        }
    };
    if let Some(ctx) = local.and_then(|m| m.load.context_length) {
        parameters.push(("num_ctx".into(), ctx.to_string()));
    }
    modelfile.push_str(&format!("FROM {model_ref}\n"));
    for (k, v) in &parameters {
        modelfile.push_str(&format!("PARAMETER {k} {v}\n"));
    }
    if let Some(system) = &system {
        modelfile.push_str(&format!("SYSTEM \"\"\"{system}\"\"\"\n"));
    }

    let mut model_info = serde_json::Map::new();
    if let Some(f) = facts {
        let arch = &f.architecture;
        model_info.insert("general.architecture".into(), json!(arch));
        model_info.insert("general.basename".into(), json!(f.name));
        model_info.insert("general.parameter_count".into(), json!(f.parameters as u64));
        if let Some(n) = f.context_length {
            model_info.insert(format!("{arch}.context_length"), json!(n));
        }
        if let Some(n) = f.embedding_length {
            model_info.insert(format!("{arch}.embedding_length"), json!(n));
        }
    }
    let modified = match entry {
        Entry::UseCase(u) => u.updated_at.clone(),
        Entry::Model(_) => now(),
    };
    let mut out = json!({
        "modelfile": modelfile,
        "parameters": parameters.iter().map(|(k, v)| format!("{k:<30} {v}")).collect::<Vec<_>>().join("\n"),
        "details": details(&catalog, model_ref),
        "model_info": model_info,
        "capabilities": catalog.capabilities(entry),
        "modified_at": modified,
        "switchboard": {
            "kind": if matches!(entry, Entry::UseCase(_)) { "use_case" } else { "model" },
            "model": model_ref,
            "route": route.map(|r| crate::json_value(&r)),
        },
    });
    if let Some(system) = system {
        out["system"] = json!(system);
    }
    Ok(axum::Json(out).into_response())
}

/// The local models the engine holds in memory now, as Ollama lists its loaded models.
#[utoipa::path(get, path = "/api/ps", tag = "ollama", responses((status = 200, description = "The loaded models")),
    security(("token" = [])))]
pub async fn ps(State(state): State<Arc<ApiState>>) -> Result<Response, ApiError> {
    let catalog = Catalog::read(&state, D).await?;
    let now = chrono::Utc::now();
    let models: Vec<Value> = catalog
        .library
        .iter()
        .filter_map(|m| {
            let r = m.resident.as_ref()?;
            let name = ModelRef::local(&m.id).to_string();
            let on_gpu = if r.total_layers > 0 { r.offloaded_layers as f64 / r.total_layers as f64 } else { 0.0 };
            let mut v = json!({
                "name": name, "model": name, "size": r.size_bytes as u64, "digest": digest_of(&name),
                "details": details(&catalog, &name), "size_vram": (r.size_bytes * on_gpu) as u64,
                "context_length": r.context_length,
                "switchboard": {"used_by": m.used_by, "idle_seconds": r.idle_seconds,
                                "offloaded_layers": r.offloaded_layers, "total_layers": r.total_layers},
            });
            // Unloaded after the idle time Settings give; with none it stays until another model needs the room.
            if catalog.idle_unload_minutes > 0 {
                let left = (f64::from(catalog.idle_unload_minutes) * 60.0 - r.idle_seconds).max(0.0);
                let at = now + chrono::Duration::milliseconds((left * 1000.0) as i64);
                v["expires_at"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
            }
            Some(v)
        })
        .collect();
    Ok(axum::Json(json!({"models": models})).into_response())
}

/// Ollama's `details` of the model `model_ref` names: from its GGUF header when local.
fn details(catalog: &Catalog, model_ref: &str) -> Value {
    let local = catalog.local(model_ref);
    match local.and_then(|m| m.facts.as_ref()) {
        Some(f) => json!({
            "parent_model": "", "format": "gguf", "family": f.architecture, "families": [f.architecture],
            "parameter_size": parameter_size(f.parameters),
            "quantization_level": f.quantization.clone().unwrap_or_default()
        }),
        None => {
            let family = model_ref.split_once('/').map_or(model_ref, |(provider, _)| provider);
            json!({
                "parent_model": "", "format": if local.is_some() { "gguf" } else { "" }, "family": family,
                "families": [family], "parameter_size": "", "quantization_level": ""
            })
        }
    }
}

/// The bytes of a local model's file; 0 for a cloud model.
fn size_of(catalog: &Catalog, model_ref: &str) -> u64 {
    catalog.local(model_ref).map_or(0, |m| m.size_bytes as u64)
}

/// The Ollama API version answered, and Switchboard's own.
#[utoipa::path(get, path = "/api/version", tag = "ollama", responses((status = 200, description = "Versions")),
    security(("token" = [])))]
pub async fn version() -> Response {
    axum::Json(json!({"version": OLLAMA_VERSION, "switchboard": env!("CARGO_PKG_VERSION")})).into_response()
}

/// Ollama lists a sha256 per model: here, of the listed name.
fn digest_of(name: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(name.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_reads_as_go_durations_do() {
        for (given, seconds) in [
            ("5m", 300.0),
            ("1h30m", 5400.0),
            ("1.5h", 5400.0),
            ("300ms", 0.3),
            ("2m30.5s", 150.5),
            ("-1m", -60.0),
            ("+10s", 10.0),
            ("0", 0.0),
            ("0s", 0.0),
            ("45", 45.0),
            ("-1", -1.0),
        ] {
            assert_eq!(duration_seconds(given), Some(seconds), "{given}");
        }
        for bad in ["", "-", "m", "5 minutes", "5d", "1h30", "h1", "1..5s", "inf", "NaN"] {
            assert_eq!(duration_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_a_zero_keep_alive_unloads() {
        let unload = |v: Value| unloads(Some(&v));
        for zero in [json!(0), json!(0.0), json!("0"), json!("0s"), json!("0m0s"), json!(" 0 ")] {
            assert!(unload(zero.clone()).unwrap(), "{zero}");
        }
        for keep in [json!(-1), json!("-1m"), json!("1h30m"), json!(300), json!(""), Value::Null] {
            assert!(!unload(keep.clone()).unwrap(), "{keep}");
        }
        for bad in [json!("soon"), json!(true), json!([1]), json!("-")] {
            let e = unload(bad.clone()).unwrap_err();
            assert!(e.body().to_string().contains("keep_alive"), "{bad}");
        }
    }
}
