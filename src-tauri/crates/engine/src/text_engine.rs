//! Text generation: load a GGUF model once, then stream tokens for each request.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use serde::Serialize;
use switchboard_core::{FinishReason, GenerationStats, SamplingParams};

use crate::{gguf, sampler, stop::StopMatcher, EngineError};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EngineConfig {
    /// Threads for generation and prompt processing.
    pub threads: u32,
    /// Context window; capped by what the model was trained for.
    pub n_ctx: u32,
    /// Logical batch size for prompt processing.
    pub n_batch: u32,
    /// Always give llama.cpp's sampler the whole vocabulary, even where only the
    /// top-k candidates can be chosen (slower; the same tokens; for verification).
    pub sample_full_vocabulary: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { threads: crate::default_threads(), n_ctx: 4096, n_batch: 512, sample_full_vocabulary: false }
    }
}

/// One generation request, already resolved to its model and parameters.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// Instructions placed before the user's text (as a system turn when the model's template has one).
    pub system_prompt: Option<String>,
    /// The user's text; wrapped in the model's chat template when it has one.
    pub prompt: String,
    /// Feed `prompt` to the model verbatim (no chat template).
    pub raw_prompt: bool,
    pub params: SamplingParams,
    /// Keep generating past end-of-text (benchmarks measure a fixed length).
    pub ignore_eos: bool,
    /// A JSON schema the output must follow, enforced as a llama.cpp grammar.
    pub json_schema: Option<String>,
}

/// What the engine knows of a loaded model, from its GGUF metadata.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub name: String,
    pub architecture: String,
    pub parameters: u64,
    pub size_bytes: u64,
    pub context_length: u32,
    pub has_chat_template: bool,
}

struct Loaded {
    model: LlamaModel,
    info: ModelInfo,
}

/// The engine: llama.cpp's process-wide backend and at most one resident model.
pub struct Engine {
    config: EngineConfig,
    loaded: Mutex<Option<Loaded>>,
}

/// The devices llama.cpp can compute on in this process.
pub fn devices() -> Vec<switchboard_core::EngineDevice> {
    // Initialising the backend registers the compiled-in backends.
    let _ = backend();
    llama_cpp_2::list_llama_ggml_backend_devices()
        .into_iter()
        .map(|d| switchboard_core::EngineDevice {
            name: d.name,
            description: d.description,
            backend: d.backend,
            memory_total_bytes: d.memory_total as f64,
            memory_free_bytes: d.memory_free as f64,
        })
        .collect()
}

fn backend() -> Result<&'static LlamaBackend, EngineError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EngineError::Context(e.clone()))
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Self { config, loaded: Mutex::new(None) }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Information on the resident model, if any.
    pub fn loaded_model(&self) -> Option<ModelInfo> {
        self.lock().as_ref().map(|l| l.info.clone())
    }

    /// Loads `path` unless it is already resident; returns its info and the load time in ms.
    pub fn load(&self, path: &Path) -> Result<(ModelInfo, f64), EngineError> {
        let mut guard = self.lock();
        let load_ms = Self::ensure_loaded(&mut guard, path)?;
        Ok((guard.as_ref().expect("loaded").info.clone(), load_ms))
    }

    /// Generates text for `req` with the model at `path`, calling `on_text` with
    /// each piece of decoded text as it is produced. Cancellation ends the
    /// request cleanly with [`FinishReason::Cancelled`]; what was produced stays.
    pub fn generate(
        &self,
        path: &Path,
        req: &GenerateRequest,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<GenerationStats, EngineError> {
        let started = Instant::now();
        req.params.validate().map_err(|e| EngineError::Params(e.to_string()))?;
        if req.prompt.trim().is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let mut guard = self.lock();
        let load_ms = Self::ensure_loaded(&mut guard, path)?;
        let loaded = guard.as_ref().expect("loaded");
        let model = &loaded.model;
        let n_ctx = self.config.n_ctx.min(loaded.info.context_length.max(1));

        let prompt = if req.raw_prompt {
            req.prompt.clone()
        } else {
            render_prompt(model, req.system_prompt.as_deref(), &req.prompt)
        };
        let vocab = model.vocab();
        let tokens = vocab.tokenize(prompt.as_bytes(), true, true);
        let prompt_tokens = tokens.len() as u32;
        if prompt_tokens >= n_ctx {
            return Err(EngineError::PromptTooLong { prompt_tokens, n_ctx });
        }

        let threads = self.config.threads.max(1) as i32;
        let n_batch = self.config.n_batch.max(1);
        let ctx_params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_batch)
            .with_n_ubatch(n_batch)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let mut ctx = model.new_context(backend()?, ctx_params).map_err(|e| EngineError::Context(e.to_string()))?;

        // Prompt processing, in batches of n_batch; logits only for the last token.
        let prompt_started = Instant::now();
        let mut batch = LlamaBatch::new(n_batch as usize, 1);
        let last = tokens.len() - 1;
        for (chunk_index, chunk) in tokens.chunks(n_batch as usize).enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Ok(stats(started, load_ms, prompt_tokens, 0, None, None, None, FinishReason::Cancelled));
            }
            batch.clear();
            for (i, token) in chunk.iter().enumerate() {
                let pos = chunk_index * n_batch as usize + i;
                batch.add(*token, pos as i32, &[0], pos == last).map_err(|e| EngineError::Decode(e.to_string()))?;
            }
            ctx.decode(&mut batch).map_err(|e| EngineError::Decode(e.to_string()))?;
        }
        let prompt_secs = prompt_started.elapsed().as_secs_f64();

        let grammar = match &req.json_schema {
            Some(schema) => Some(sampler::schema_grammar(model, schema)?),
            None => None,
        };
        // A grammar must see every token it could allow, so it needs the whole vocabulary.
        let candidate_limit = if self.config.sample_full_vocabulary || grammar.is_some() {
            None
        } else {
            sampler::candidate_limit(&req.params)
        };
        let has_grammar = grammar.is_some();
        let mut sampler = sampler::build(&req.params, model.n_vocab(), random_seed(), grammar);
        // The penalties' window starts with the prompt, as in llama.cpp's server, so
        // a repeat penalty also stops the model parroting the prompt. (A grammar would
        // take the prompt for output, so with a schema the window holds output only.)
        if !has_grammar && req.params.uses_penalties() {
            for &token in &tokens {
                sampler.accept(token);
            }
        }
        let mut candidates = Vec::with_capacity(candidate_limit.unwrap_or(0));
        let mut stops = StopMatcher::new(&req.params.stop);
        let mut utf8 = encoding_rs::UTF_8.new_decoder();
        let mut piece = Vec::with_capacity(32);
        let mut text = String::with_capacity(64);
        let mut n_past = prompt_tokens;
        let mut produced = 0u32;
        let mut first_token: Option<Instant> = None;
        let mut last_token = Instant::now();
        let mut logits_at = batch.n_tokens() - 1;

        let finish = loop {
            if cancel.load(Ordering::Relaxed) {
                break FinishReason::Cancelled;
            }
            if produced >= req.params.max_tokens {
                break FinishReason::MaxTokens;
            }
            if n_past >= n_ctx {
                break FinishReason::ContextFull;
            }
            let token: LlamaToken = match candidate_limit {
                Some(k) => {
                    sampler::top_candidates(ctx.get_logits_ith(logits_at), k, &mut candidates);
                    let mut array = LlamaTokenDataArray::new(std::mem::take(&mut candidates), true);
                    sampler.apply(&mut array);
                    let token = array
                        .selected_token()
                        .ok_or_else(|| EngineError::Decode("the sampler chose no token".into()))?;
                    candidates = array.data;
                    // `apply` does not accept; `sample` (below) does, so accept here only.
                    sampler.accept(token);
                    token
                }
                // `sample` also accepts the token into the chain's history.
                None => sampler.sample(&ctx, logits_at),
            };
            if vocab.is_eog(token) && !req.ignore_eos {
                break FinishReason::EndOfText;
            }
            produced += 1;
            last_token = Instant::now();
            first_token.get_or_insert(last_token);

            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            text.clear();
            let capacity = utf8.max_utf8_buffer_length(piece.len()).unwrap_or(piece.len() * 3 + 4);
            text.reserve(capacity);
            let _ = utf8.decode_to_string(&piece, &mut text, false);
            if !text.is_empty() {
                let pushed = stops.push(&text);
                if !pushed.emit.is_empty() {
                    on_text(&pushed.emit);
                }
                if pushed.stopped {
                    break FinishReason::StopSequence;
                }
            }

            batch.clear();
            batch.add(token, n_past as i32, &[0], true).map_err(|e| EngineError::Decode(e.to_string()))?;
            ctx.decode(&mut batch).map_err(|e| EngineError::Decode(e.to_string()))?;
            n_past += 1;
            logits_at = 0;
        };
        if finish != FinishReason::StopSequence {
            let rest = stops.finish();
            if !rest.is_empty() {
                on_text(&rest);
            }
        }

        let prompt_tps = (prompt_secs > 0.0).then(|| f64::from(prompt_tokens) / prompt_secs);
        let gen_tps = first_token.and_then(|first| {
            let secs = last_token.duration_since(first).as_secs_f64();
            (produced > 1 && secs > 0.0).then(|| f64::from(produced - 1) / secs)
        });
        let ttft = first_token.map(|t| t.duration_since(started).as_secs_f64() * 1000.0);
        Ok(stats(started, load_ms, prompt_tokens, produced, ttft, prompt_tps, gen_tps, finish))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Loaded>> {
        // A panic while holding the lock leaves no half-written state worth refusing.
        self.loaded.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn ensure_loaded(slot: &mut Option<Loaded>, path: &Path) -> Result<f64, EngineError> {
        if slot.as_ref().is_some_and(|l| l.info.path == path) {
            return Ok(0.0);
        }
        *slot = None; // free the old model before loading the next
        gguf::check_gguf_header(path)?;
        let started = Instant::now();
        let params = LlamaModelParams::default();
        let model = LlamaModel::load_from_file(backend()?, path, &params)
            .map_err(|_| EngineError::ModelLoad { path: path.display().to_string() })?;
        let meta = |key: &str| model.meta_val_str(key).ok();
        let info = ModelInfo {
            path: path.to_path_buf(),
            name: meta("general.name")
                .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .unwrap_or_default(),
            architecture: meta("general.architecture").unwrap_or_default(),
            parameters: model.n_params(),
            size_bytes: model.size(),
            context_length: model.n_ctx_train(),
            has_chat_template: model.chat_template(None).is_ok(),
        };
        tracing::info!(path = %path.display(), name = %info.name, "model loaded");
        *slot = Some(Loaded { model, info });
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    }
}

/// Wraps the prompt (and system prompt) as turns in the model's own chat
/// template; a model without one (a base model) gets plain text.
fn render_prompt(model: &LlamaModel, system: Option<&str>, prompt: &str) -> String {
    let system = system.map(str::trim).filter(|s| !s.is_empty());
    let plain = || match system {
        Some(s) => format!("{s}\n\n{prompt}"),
        None => prompt.to_string(),
    };
    let Ok(template) = model.chat_template(None) else {
        return plain();
    };
    let mut turns = Vec::new();
    if let Some(s) = system {
        turns.push(("system", s));
    }
    turns.push(("user", prompt));
    let messages: Result<Vec<_>, _> =
        turns.into_iter().map(|(role, text)| LlamaChatMessage::new(role.into(), text.into())).collect();
    match messages {
        Ok(messages) => model.apply_chat_template(&template, &messages, true).unwrap_or_else(|_| plain()),
        Err(_) => plain(),
    }
}

fn random_seed() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.finish() as u32
}

#[allow(clippy::too_many_arguments)]
fn stats(
    started: Instant,
    load_ms: f64,
    input_tokens: u32,
    output_tokens: u32,
    ttft_ms: Option<f64>,
    prompt_tokens_per_second: Option<f64>,
    tokens_per_second: Option<f64>,
    finish_reason: FinishReason,
) -> GenerationStats {
    GenerationStats {
        input_tokens,
        output_tokens,
        ttft_ms,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        load_ms,
        prompt_tokens_per_second,
        tokens_per_second,
        finish_reason,
    }
}

/// The engine as the gateway sees it.
impl switchboard_core::TextEngine for Engine {
    fn generate(
        &self,
        model_path: &Path,
        req: &switchboard_core::EngineRequest,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<GenerationStats, switchboard_core::AppError> {
        let req = GenerateRequest {
            system_prompt: req.system_prompt.clone(),
            prompt: req.prompt.clone(),
            raw_prompt: req.raw_prompt,
            params: req.params.clone(),
            ignore_eos: req.ignore_eos,
            json_schema: req.json_schema.clone(),
        };
        Engine::generate(self, model_path, &req, cancel, on_text).map_err(Into::into)
    }
}
