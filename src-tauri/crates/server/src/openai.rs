//! OpenAI-compatible endpoints: `POST /v1/chat/completions` (streamed as SSE
//! or not), `POST /v1/completions`, `POST /v1/embeddings`, `GET /v1/models` and
//! `GET /v1/models/{model}`. Answers carry `usage`
//! and a `switchboard` object with the ledger id and the candidate that answered.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use base64::Engine as _;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_core::{ChatTurn, FinishReason, ParamOverrides};
use switchboard_gateway::EmbedRequest;

use crate::body::{Json, Path};
use crate::catalog::{Catalog, Entry};
use crate::conversation::{self, unix_now, Conversation};
use crate::error::{ApiError, Dialect};
use crate::run::{Finished, Item};
use crate::{target, ApiState, Caller};

const D: Dialect = Dialect::OpenAi;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChatCompletionRequest {
    /// A use case (`answer_generation`, `use-case/answer_generation`) or a model (`local/<id>`, `openai/gpt-4o-mini`).
    pub model: String,
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<Value>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub stream_options: Option<Value>,
    pub max_tokens: Option<u32>,
    pub max_completion_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    /// Not in OpenAI's API; llama.cpp's servers accept it too.
    pub top_k: Option<u32>,
    pub min_p: Option<f32>,
    pub repeat_penalty: Option<f32>,
    pub presence_penalty: Option<f32>,
    pub frequency_penalty: Option<f32>,
    /// A string or a list of strings.
    #[schema(value_type = Option<Object>)]
    pub stop: Option<Value>,
    pub seed: Option<i64>,
    /// `{"type": "json_schema", "json_schema": {"schema": {...}}}`, `{"type": "json_object"}` or `{"type": "text"}`.
    #[schema(value_type = Option<Object>)]
    pub response_format: Option<Value>,
    /// Only 1.
    pub n: Option<u32>,
    /// Not in OpenAI's API (llama.cpp's and vLLM's servers accept it): a local
    /// model writes `max_tokens` tokens, going on past the end of its answer.
    #[serde(default)]
    pub ignore_eos: bool,
    /// Not offered: refused when it lists any, rather than answered without them.
    #[schema(value_type = Option<Vec<Object>>)]
    pub tools: Option<Value>,
    /// The older form of `tools`; refused likewise.
    #[schema(value_type = Option<Vec<Object>>)]
    pub functions: Option<Value>,
    /// Only `false`: token log-probabilities are not offered.
    pub logprobs: Option<bool>,
}

/// Chat completions for a use case or a model.
#[utoipa::path(post, path = "/v1/chat/completions", request_body = ChatCompletionRequest, tag = "openai",
    responses((status = 200, description = "A chat.completion, or chat.completion.chunk events (SSE) when stream is true")),
    security(("token" = [])))]
pub async fn chat_completions(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    if req.n.is_some_and(|n| n != 1) {
        return Err(ApiError::field(D, "n", "only one choice per request (n = 1)"));
    }
    for (field, given) in [("tools", &req.tools), ("functions", &req.functions)] {
        refuse_tools(given.as_ref(), field, D)?;
    }
    if req.logprobs == Some(true) {
        return Err(ApiError::field(D, "logprobs", "token log-probabilities are not offered"));
    }
    let conv = conversation_of(&req)?;
    let target = target::resolve(&state, &req.model, !conv.images.is_empty() || conv.earlier_images, D).await?;
    let running = conversation::start(&state, &caller, target, conv, D).await?;
    let shape = Shape::Chat;
    answer(running, shape.maker(req.model), req.stream, include_usage(req.stream_options.as_ref()), None).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CompletionRequest {
    /// A use case or a model, as for chat completions.
    pub model: String,
    /// A string, or a list holding one string.
    #[schema(value_type = Object)]
    pub prompt: Value,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub stream_options: Option<Value>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<u32>,
    pub min_p: Option<f32>,
    pub repeat_penalty: Option<f32>,
    pub presence_penalty: Option<f32>,
    pub frequency_penalty: Option<f32>,
    #[schema(value_type = Option<Object>)]
    pub stop: Option<Value>,
    pub seed: Option<i64>,
    /// The prompt is written before the completion.
    #[serde(default)]
    pub echo: bool,
    /// Only 1.
    pub n: Option<u32>,
    /// Only 1.
    pub best_of: Option<u32>,
    /// Not offered (refused when given).
    pub suffix: Option<String>,
    /// Not offered (refused when given).
    pub logprobs: Option<u32>,
    #[serde(default)]
    pub ignore_eos: bool,
}

/// A completion of one prompt, for clients of the older completions API. The
/// prompt is the user's message in the model's chat template, as Ollama's
/// `/v1/completions` takes it; the use case's system prompt and route apply.
#[utoipa::path(post, path = "/v1/completions", request_body = CompletionRequest, tag = "openai",
    responses((status = 200, description = "A text_completion, or text_completion events (SSE) when stream is true")),
    security(("token" = [])))]
pub async fn completions(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<CompletionRequest>,
) -> Result<Response, ApiError> {
    for (field, n) in [("n", req.n), ("best_of", req.best_of)] {
        if n.is_some_and(|n| n != 1) {
            return Err(ApiError::field(D, field, "only one choice per request (1)"));
        }
    }
    if req.suffix.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::field(D, "suffix", "filling in between a prompt and a suffix is not offered"));
    }
    if req.logprobs.is_some() {
        return Err(ApiError::field(D, "logprobs", "token log-probabilities are not offered"));
    }
    let prompt = match &req.prompt {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.len() == 1 && items[0].is_string() => items[0].as_str().unwrap_or("").to_string(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            return Err(ApiError::field(D, "prompt", "one prompt per request (send each as its own request)"))
        }
        _ => return Err(ApiError::field(D, "prompt", "a string (token arrays are not accepted; send the text)")),
    };
    if prompt.trim().is_empty() {
        return Err(ApiError::field(D, "prompt", "the prompt is empty"));
    }
    let chat = ChatCompletionRequest {
        model: req.model.clone(),
        messages: vec![json!({"role": "user", "content": prompt})],
        stream: req.stream,
        stream_options: None,
        max_tokens: req.max_tokens,
        max_completion_tokens: None,
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        min_p: req.min_p,
        repeat_penalty: req.repeat_penalty,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        stop: req.stop,
        seed: req.seed,
        response_format: None,
        n: None,
        ignore_eos: req.ignore_eos,
        tools: None,
        functions: None,
        logprobs: None,
    };
    let conv = conversation_of(&chat)?;
    let target = target::resolve(&state, &req.model, false, D).await?;
    let running = conversation::start(&state, &caller, target, conv, D).await?;
    let echo = req.echo.then_some(prompt);
    answer(running, Shape::Text.maker(req.model), req.stream, include_usage(req.stream_options.as_ref()), echo).await
}

/// Tool calling is not offered: a request that lists tools is refused rather
/// than answered as if it had none (an agent would take a plain answer for the
/// model declining every tool). An empty list is no tools.
pub fn refuse_tools(tools: Option<&Value>, field: &str, dialect: Dialect) -> Result<(), ApiError> {
    match tools {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(list)) if list.is_empty() => Ok(()),
        Some(_) => Err(ApiError::field(
            dialect,
            field,
            "tool calling is not offered; send the request without tools (the use case answers in text)",
        )),
    }
}

fn include_usage(options: Option<&Value>) -> bool {
    options.and_then(|o| o.get("include_usage")).and_then(Value::as_bool).unwrap_or(false)
}

/// One answer, or SSE events ending with `[DONE]`; `echo` goes before the text.
async fn answer(
    mut running: crate::run::Running,
    maker: ChunkMaker,
    stream: bool,
    include_usage: bool,
    echo: Option<String>,
) -> Result<Response, ApiError> {
    if !stream {
        let (text, done) = running.collect().await.map_err(|e| ApiError::from_app(D, e))?;
        let text = echo.unwrap_or_default() + &text;
        let mut body = maker.whole(&text, finish_reason(done.stats.finish_reason));
        body["usage"] = usage(&done);
        body["switchboard"] = extension(&done);
        return Ok(axum::Json(body).into_response());
    }
    // An error before the first token is an error response, not a broken stream.
    let first = running.first().await;
    if let Some(Item::Done(Err(e))) = first {
        return Err(ApiError::from_app(D, e));
    }
    let head = stream::iter(maker.opening(echo.as_deref()));
    let rest = stream::unfold(
        (running, first, maker, include_usage, false),
        |(mut running, pending, maker, usage_too, ended)| async move {
            if ended {
                return None;
            }
            let item = match pending {
                Some(item) => Some(item),
                None => running.next().await,
            };
            let (events, ended) = match item {
                Some(Item::Token(text)) => (vec![maker.chunk(Some(&text), None)], false),
                Some(Item::Done(Ok(done))) => {
                    let mut last = maker.chunk(None, Some(finish_reason(done.stats.finish_reason)));
                    last["switchboard"] = extension(&done);
                    let mut events = vec![last];
                    if usage_too {
                        let mut u = maker.chunk(None, None);
                        u["choices"] = json!([]);
                        u["usage"] = usage(&done);
                        events.push(u);
                    }
                    (events, true)
                }
                // Text has gone out already: the error ends the stream in OpenAI's format.
                Some(Item::Done(Err(e))) => (vec![ApiError::from_app(D, e).body()], true),
                None => return None,
            };
            Some((stream::iter(events), (running, None, maker, usage_too, ended)))
        },
    )
    .flatten();
    let events = head.chain(rest).map(|v| Ok::<_, Infallible>(Event::default().data(v.to_string())));
    let done = stream::once(async { Ok::<_, Infallible>(Event::default().data("[DONE]")) });
    Ok(sse(events.chain(done)))
}

fn sse(events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> Response {
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}

/// Which API's objects an answer is written as.
#[derive(Clone, Copy)]
enum Shape {
    /// `chat.completion` and `chat.completion.chunk`.
    Chat,
    /// `text_completion`, whole or in pieces.
    Text,
}

impl Shape {
    fn maker(self, model: String) -> ChunkMaker {
        let prefix = match self {
            Shape::Chat => "chatcmpl",
            Shape::Text => "cmpl",
        };
        ChunkMaker {
            id: format!("{prefix}-{}", uuid::Uuid::now_v7().simple()),
            model,
            created: unix_now(),
            shape: self,
        }
    }
}

struct ChunkMaker {
    id: String,
    model: String,
    created: i64,
    shape: Shape,
}

impl ChunkMaker {
    fn object(&self, object: &str, choice: Value) -> Value {
        json!({"id": self.id, "object": object, "created": self.created, "model": self.model, "choices": [choice]})
    }

    /// The whole answer (usage and Switchboard's object are added by the caller).
    fn whole(&self, text: &str, finish: &str) -> Value {
        match self.shape {
            Shape::Chat => self.object(
                "chat.completion",
                json!({"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": null, "finish_reason": finish}),
            ),
            Shape::Text => self.object(
                "text_completion",
                json!({"index": 0, "text": text, "logprobs": null, "finish_reason": finish}),
            ),
        }
    }

    /// A piece of text, or none (the last event, with why it ended).
    fn chunk(&self, text: Option<&str>, finish: Option<&str>) -> Value {
        match self.shape {
            Shape::Chat => {
                let delta = text.map_or_else(|| json!({}), |t| json!({"content": t}));
                self.object(
                    "chat.completion.chunk",
                    json!({"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}),
                )
            }
            Shape::Text => self.object(
                "text_completion",
                json!({"index": 0, "text": text.unwrap_or(""), "logprobs": null, "finish_reason": finish}),
            ),
        }
    }

    /// What a stream starts with: the assistant's role for a chat, the echoed prompt for a completion.
    fn opening(&self, echo: Option<&str>) -> Vec<Value> {
        match self.shape {
            Shape::Chat => vec![self.object(
                "chat.completion.chunk",
                json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}),
            )],
            Shape::Text => echo.map(|e| self.chunk(Some(e), None)).into_iter().collect(),
        }
    }
}

/// The conversation, parameters and schema of an OpenAI request.
fn conversation_of(req: &ChatCompletionRequest) -> Result<Conversation, ApiError> {
    let mut conv = Conversation::default();
    let n = req.messages.len();
    for (i, m) in req.messages.iter().enumerate() {
        let role = conversation::role(m.get("role").and_then(Value::as_str).unwrap_or(""), D, i)?;
        let mut text = String::new();
        let mut images = Vec::new();
        match m.get("content") {
            Some(Value::String(s)) => text.push_str(s),
            Some(Value::Array(parts)) => {
                for (j, part) in parts.iter().enumerate() {
                    match part.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            if !text.is_empty() {
                                text.push('\n');
                            }
                            text.push_str(part.get("text").and_then(Value::as_str).unwrap_or(""));
                        }
                        Some("image_url") => {
                            let url =
                                part.get("image_url").and_then(|u| u.get("url").or(Some(u))).and_then(Value::as_str);
                            let url = url.ok_or_else(|| {
                                ApiError::field(D, &format!("messages[{i}].content[{j}].image_url"), "needs a url")
                            })?;
                            images.push(url.to_string());
                        }
                        other => {
                            return Err(ApiError::field(
                                D,
                                &format!("messages[{i}].content[{j}].type"),
                                format!("the content type {other:?} is not supported (text, image_url)"),
                            ))
                        }
                    }
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => {
                return Err(ApiError::field(D, &format!("messages[{i}].content"), "a string or a list of parts"))
            }
        }
        if i + 1 == n {
            conv.images = images;
        } else if !images.is_empty() {
            conv.earlier_images = true;
        }
        conv.turns.push(ChatTurn { role, content: text });
    }
    let seed = req.seed.map(conversation::seed);
    conv.overrides = ParamOverrides {
        temperature: req.temperature,
        top_k: req.top_k,
        top_p: req.top_p,
        min_p: req.min_p,
        max_tokens: req.max_completion_tokens.or(req.max_tokens),
        repeat_penalty: req.repeat_penalty,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        stop: stop_list(req.stop.as_ref(), D)?,
        seed,
    };
    conv.ignore_eos = req.ignore_eos;
    conv.json_schema = match &req.response_format {
        None => None,
        Some(f) => match f.get("type").and_then(Value::as_str) {
            Some("text") => None,
            Some("json_object") => Some(r#"{"type":"object"}"#.to_string()),
            Some("json_schema") => {
                let schema = f.get("json_schema").and_then(|s| s.get("schema")).ok_or_else(|| {
                    ApiError::field(D, "response_format.json_schema.schema", "a JSON schema is required")
                })?;
                Some(schema.to_string())
            }
            other => {
                return Err(ApiError::field(
                    D,
                    "response_format.type",
                    format!("{other:?} is not supported (text, json_object, json_schema)"),
                ))
            }
        },
    };
    Ok(conv)
}

/// `stop` as a string or a list of strings.
pub fn stop_list(stop: Option<&Value>, dialect: Dialect) -> Result<Option<Vec<String>>, ApiError> {
    match stop {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::field(dialect, "stop", "stop sequences are strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::field(dialect, "stop", "a string or a list of strings")),
    }
}

pub fn finish_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::MaxTokens | FinishReason::ContextFull => "length",
        FinishReason::EndOfText | FinishReason::StopSequence | FinishReason::Cancelled => "stop",
    }
}

fn usage(done: &Finished) -> Value {
    let s = &done.stats;
    json!({
        "prompt_tokens": s.input_tokens,
        "completion_tokens": s.output_tokens,
        "total_tokens": s.input_tokens + s.output_tokens,
        "prompt_tokens_details": {"cached_tokens": s.cached_input_tokens},
    })
}

/// What Switchboard adds to an answer.
pub fn extension(done: &Finished) -> Value {
    json!({
        "ledger_id": done.ledger_id,
        "use_case": done.use_case,
        "model": done.model,
        "route": done.route,
        "cache_hit": done.cache_hit,
        "image_tokens": done.image_tokens,
        "latency_ms": done.stats.latency_ms,
        "ttft_ms": done.stats.ttft_ms,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmbeddingRequest {
    pub model: String,
    /// A string or a list of strings.
    #[schema(value_type = Object)]
    pub input: Value,
    /// `float` (the default) or `base64` (little-endian f32).
    pub encoding_format: Option<String>,
    pub dimensions: Option<u32>,
}

/// Embeddings from a local embedding model.
#[utoipa::path(post, path = "/v1/embeddings", request_body = EmbeddingRequest, tag = "openai",
    responses((status = 200, description = "A list of embeddings")), security(("token" = [])))]
pub async fn embeddings(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<EmbeddingRequest>,
) -> Result<Response, ApiError> {
    let inputs = texts(&req.input, "input", D)?;
    let base64 = match req.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => return Err(ApiError::field(D, "encoding_format", format!("'{other}' is not float or base64"))),
    };
    let out = embed(&state, &caller, &req.model, inputs, D).await?;
    if let Some(d) = req.dimensions.filter(|d| *d != out.dimensions) {
        return Err(ApiError::field(
            D,
            "dimensions",
            format!("{} gives {} dimensions, not {d}", out.model, out.dimensions),
        ));
    }
    let data: Vec<Value> = out
        .vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    Ok(axum::Json(json!({
        "object": "list",
        "data": data,
        "model": req.model,
        "usage": {"prompt_tokens": out.input_tokens, "total_tokens": out.input_tokens},
        "switchboard": {"ledger_id": out.ledger_id, "model": out.model, "pooling": out.pooling},
    }))
    .into_response())
}

/// Embeds `inputs` with what `model` names, recorded under the caller's token.
pub async fn embed(
    state: &ApiState,
    caller: &Caller,
    model: &str,
    inputs: Vec<String>,
    dialect: Dialect,
) -> Result<switchboard_gateway::EmbedResponse, ApiError> {
    let target = target::resolve(state, model, false, dialect).await?;
    let req = EmbedRequest { use_case: target.use_case.id, model: target.model, inputs, priority: Default::default() };
    state.app.gateway.embed_as(&caller.ledger_name(), req).await.map_err(|e| ApiError::from_app(dialect, e))
}

/// A string or a list of strings, as embedding inputs.
pub fn texts(input: &Value, field: &str, dialect: Dialect) -> Result<Vec<String>, ApiError> {
    match input {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    ApiError::field(dialect, field, "a list of strings (token arrays are not accepted; send the text)")
                })
            })
            .collect(),
        _ => Err(ApiError::field(dialect, field, "a string or a non-empty list of strings")),
    }
}

/// Use cases first (with what they route to), then every concrete model.
#[utoipa::path(get, path = "/v1/models", tag = "openai", responses((status = 200, description = "The models")),
    security(("token" = [])))]
pub async fn models(State(state): State<Arc<ApiState>>) -> Result<Response, ApiError> {
    let catalog = Catalog::read(&state, D).await?;
    let created = unix_now();
    let data: Vec<Value> = catalog
        .use_cases
        .iter()
        .map(Entry::UseCase)
        .chain(catalog.models.iter().map(Entry::Model))
        .map(|e| model_object(e, created))
        .collect();
    Ok(axum::Json(json!({"object": "list", "data": data})).into_response())
}

/// One use case or model, as the listing has it.
#[utoipa::path(get, path = "/v1/models/{model}", tag = "openai", params(("model" = String, Path)),
    responses((status = 200, description = "The model"), (status = 404, description = "No such use case or model")),
    security(("token" = [])))]
pub async fn model(State(state): State<Arc<ApiState>>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let catalog = Catalog::read(&state, D).await?;
    let entry = catalog.find(&name).ok_or_else(|| target::unknown(D, &name))?;
    Ok(axum::Json(model_object(entry, unix_now())).into_response())
}

fn model_object(entry: Entry<'_>, created: i64) -> Value {
    match entry {
        Entry::UseCase(u) => json!({
            "id": u.id, "object": "model", "created": created, "owned_by": "switchboard",
            "switchboard": {"kind": "use_case", "name": u.name, "model": u.model, "vision": u.vision}
        }),
        Entry::Model(m) => json!({
            "id": m.id, "object": "model", "created": created, "owned_by": m.provider,
            "switchboard": {"kind": "model", "capabilities": m.capabilities, "available": m.available}
        }),
    }
}
