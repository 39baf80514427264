//! Text generation: load a GGUF model once, then stream tokens for each request.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use llama_cpp_2::context::params::{LlamaContextParams, LlamaPoolingType};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::mtmd::{MtmdBitmap, MtmdContext, MtmdContextParams, MtmdInputChunkType, MtmdInputText};
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::LlamaBackendDeviceType;
use serde::Serialize;
use switchboard_core::{
    ChatRole, ChatTurn, Embeddings, FinishReason, GenerationStats, ModelLoadSettings, ResidentModel, SamplingParams,
    VisionRequest, VisionStats,
};

use crate::{gguf, sampler, stop::StopMatcher, EngineError};

/// Counts units of work done (a decoded batch, a token, an image evaluated).
/// The worker reports it while a job runs, so that the supervisor can tell a
/// slow job from a stuck one.
static PULSE: AtomicU64 = AtomicU64::new(0);

pub(crate) fn pulse() {
    PULSE.fetch_add(1, Ordering::Relaxed);
}

/// How much work the engine has done in this process so far.
pub(crate) fn pulses() -> u64 {
    PULSE.load(Ordering::Relaxed)
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EngineConfig {
    /// Threads for generation and prompt processing (a model's own setting wins).
    pub threads: u32,
    /// Context window (a model's own setting wins); capped by what the model was trained for.
    pub n_ctx: u32,
    /// Logical batch size for prompt processing.
    pub n_batch: u32,
    /// Always give llama.cpp's sampler the whole vocabulary, even where only the
    /// top-k candidates can be chosen (slower; the same tokens; for verification).
    pub sample_full_vocabulary: bool,
    /// Models kept in memory at once; the least recently used goes first.
    #[serde(default = "default_max_resident")]
    pub max_resident_models: u32,
    /// A model unused for this many seconds is unloaded (0: never).
    #[serde(default = "default_idle_unload")]
    pub idle_unload_secs: u64,
    /// Requests a model generates at once (a model's own setting wins).
    #[serde(default = "default_parallel")]
    pub parallel: u32,
}

fn default_parallel() -> u32 {
    4
}

fn default_max_resident() -> u32 {
    2
}
fn default_idle_unload() -> u64 {
    15 * 60
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            threads: crate::default_threads(),
            n_ctx: 4096,
            n_batch: 512,
            sample_full_vocabulary: false,
            max_resident_models: default_max_resident(),
            idle_unload_secs: default_idle_unload(),
            parallel: default_parallel(),
        }
    }
}

/// One generation request, already resolved to its model and parameters.
#[derive(Debug, Clone, Default)]
pub struct GenerateRequest {
    /// Instructions placed before the conversation (as a system turn when the model's template has one).
    pub system_prompt: Option<String>,
    /// Earlier turns, oldest first.
    pub history: Vec<ChatTurn>,
    /// The user's new turn; wrapped in the model's chat template with the history.
    pub prompt: String,
    /// Feed `prompt` to the model verbatim (no chat template, no history).
    pub raw_prompt: bool,
    pub params: SamplingParams,
    /// Keep generating past end-of-text (benchmarks measure a fixed length).
    pub ignore_eos: bool,
    /// A JSON schema the output must follow, enforced as a llama.cpp grammar.
    pub json_schema: Option<String>,
    /// How to load the model.
    pub load: ModelLoadSettings,
    /// Process the whole prompt even where its start is still in the KV cache.
    pub no_prompt_cache: bool,
}

impl From<&switchboard_core::EngineRequest> for GenerateRequest {
    fn from(req: &switchboard_core::EngineRequest) -> Self {
        Self {
            system_prompt: req.system_prompt.clone(),
            history: req.history.clone(),
            prompt: req.prompt.clone(),
            raw_prompt: req.raw_prompt,
            params: req.params.clone(),
            ignore_eos: req.ignore_eos,
            json_schema: req.json_schema.clone(),
            load: req.load.clone(),
            no_prompt_cache: req.no_prompt_cache,
        }
    }
}

/// What the engine knows of a loaded model, from its GGUF metadata and the load.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub name: String,
    pub architecture: String,
    pub parameters: u64,
    pub size_bytes: u64,
    pub context_length: u32,
    pub has_chat_template: bool,
    /// Layers on a GPU, out of `total_layers` (repeating layers plus the output layer).
    pub offloaded_layers: u32,
    pub total_layers: u32,
    /// Sliding-window attention width (0: none); limits prompt-cache reuse.
    pub sliding_window: u32,
    /// The model's pooling for embeddings (`None`: a generative model).
    #[serde(skip)]
    pub pooling: Option<LlamaPoolingType>,
}

/// A model held in memory, with the context (and KV cache) its requests share.
///
/// Field order is drop order: the context borrows the model and goes first.
pub(crate) struct Resident {
    pub(crate) ctx: Option<LlamaContext<'static>>,
    /// The vision projector loaded for this model, and from where.
    mtmd: Option<(PathBuf, MtmdContext)>,
    /// One per parallel request: sequence `i` of `ctx` holds `slots[i]`'s tokens.
    pub(crate) slots: Vec<SlotCache>,
    pub(crate) model: Box<LlamaModel>,
    pub(crate) info: ModelInfo,
    load: ModelLoadSettings,
    pub(crate) n_ctx: u32,
    pub(crate) threads: u32,
    pub(crate) last_used: Instant,
}

/// What one sequence of a model's context holds.
pub(crate) struct SlotCache {
    /// The tokens whose state is in the KV cache for this sequence, in order.
    pub(crate) cached: Vec<LlamaToken>,
    pub(crate) last_used: Instant,
}

// SAFETY: a llama.cpp context may move between threads as long as one thread
// uses it at a time; residents are only reached through the engine's mutex.
unsafe impl Send for Resident {}

/// The generation context, created on first use and kept for the prompt
/// cache: one sequence per slot, sharing the window (unified KV cache).
pub(crate) fn ensure_context<'c>(
    slot: &'c mut Option<LlamaContext<'static>>,
    slots: &mut [SlotCache],
    model: &LlamaModel,
    n_ctx: u32,
    threads: u32,
    n_batch: u32,
) -> Result<&'c mut LlamaContext<'static>, EngineError> {
    if slot.is_none() {
        // SAFETY: the model is boxed in its Resident (its address never changes) and
        // outlives the context: `ctx` is declared before `model`, so it is dropped first.
        let model: &'static LlamaModel = unsafe { &*(model as *const LlamaModel) };
        let threads = threads as i32;
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_batch)
            .with_n_ubatch(n_batch)
            .with_n_threads(threads)
            .with_n_threads_batch(threads)
            .with_n_seq_max(slots.len().max(1) as u32)
            .with_kv_unified(slots.len() > 1);
        *slot = Some(model.new_context(backend()?, params).map_err(|e| EngineError::Context(e.to_string()))?);
        for s in slots.iter_mut() {
            s.cached.clear();
        }
    }
    Ok(slot.as_mut().expect("created"))
}

impl Resident {
    fn describe(&self) -> ResidentModel {
        ResidentModel {
            path: self.info.path.display().to_string(),
            name: self.info.name.clone(),
            load: self.load.clone(),
            context_length: self.n_ctx,
            offloaded_layers: self.info.offloaded_layers,
            total_layers: self.info.total_layers,
            size_bytes: self.info.size_bytes as f64,
            idle_seconds: self.last_used.elapsed().as_secs_f64(),
        }
    }
}

/// The engine: llama.cpp's process-wide backend and the models held in memory
/// (at most `max_resident_models`, least recently used unloaded first).
pub struct Engine {
    config: EngineConfig,
    residents: Mutex<Vec<Resident>>,
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

fn has_gpu() -> bool {
    let _ = backend();
    llama_cpp_2::list_llama_ggml_backend_devices()
        .iter()
        .any(|d| matches!(d.device_type, LlamaBackendDeviceType::Gpu | LlamaBackendDeviceType::IntegratedGpu))
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
        Self { config, residents: Mutex::new(Vec::new()) }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The most recently used resident model, if any.
    pub fn loaded_model(&self) -> Option<ModelInfo> {
        self.lock().iter().max_by_key(|r| r.last_used).map(|r| r.info.clone())
    }

    /// The models in memory, most recently used first.
    pub fn resident_models(&self) -> Vec<ResidentModel> {
        Self::describe_residents(&self.lock())
    }

    pub(crate) fn describe_residents(residents: &[Resident]) -> Vec<ResidentModel> {
        let mut out: Vec<&Resident> = residents.iter().collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.last_used));
        out.into_iter().map(Resident::describe).collect()
    }

    /// Unloads the models idle for longer than the configured time; returns their paths.
    /// Does nothing while a request holds the engine.
    pub fn unload_idle(&self) -> Vec<PathBuf> {
        if self.config.idle_unload_secs == 0 {
            return Vec::new();
        }
        let Ok(mut residents) = self.residents.try_lock() else {
            return Vec::new();
        };
        let limit = std::time::Duration::from_secs(self.config.idle_unload_secs);
        let mut gone = Vec::new();
        residents.retain(|r| {
            let keep = r.last_used.elapsed() < limit;
            if !keep {
                tracing::info!(path = %r.info.path.display(), "model unloaded after being idle");
                gone.push(r.info.path.clone());
            }
            keep
        });
        gone
    }

    /// Loads `path` with these settings ahead of a request (unless resident with
    /// them) and counts that as a use, so the idle unload starts from now.
    /// The load time in ms (0 when it was resident).
    pub fn preload(&self, path: &Path, load: &ModelLoadSettings) -> Result<f64, EngineError> {
        load.validate().map_err(|e| EngineError::Params(e.message))?;
        let mut residents = self.lock();
        let (index, load_ms) = self.resident(&mut residents, path, load)?;
        residents[index].last_used = Instant::now();
        Ok(load_ms)
    }

    /// Takes `path` out of memory (once the request using it has ended); whether it was resident.
    pub fn unload(&self, path: &Path) -> bool {
        let mut residents = self.lock();
        let before = residents.len();
        residents.retain(|r| r.info.path != path);
        let gone = residents.len() < before;
        if gone {
            tracing::info!(path = %path.display(), "model unloaded on request");
        }
        gone
    }

    /// Loads `path` with default settings unless it is already resident; returns its info and the load time in ms.
    pub fn load(&self, path: &Path) -> Result<(ModelInfo, f64), EngineError> {
        self.load_with(path, &ModelLoadSettings::default())
    }

    /// Loads `path` with these settings unless it is resident with them.
    pub fn load_with(&self, path: &Path, load: &ModelLoadSettings) -> Result<(ModelInfo, f64), EngineError> {
        load.validate().map_err(|e| EngineError::Params(e.message))?;
        let mut residents = self.lock();
        let (index, load_ms) = self.resident(&mut residents, path, load)?;
        Ok((residents[index].info.clone(), load_ms))
    }

    /// Generates text for `req` with the model at `path`, calling `on_text` with
    /// each piece of decoded text as it is produced. Cancellation ends the
    /// request cleanly with [`FinishReason::Cancelled`]; what was produced stays.
    /// The start of the prompt that is still in the model's KV cache from an
    /// earlier request (a conversation's earlier turns) is not processed again.
    /// (Requests served together share one context: see [`Engine::serve`].)
    pub fn generate(
        &self,
        path: &Path,
        req: &GenerateRequest,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<GenerationStats, EngineError> {
        struct One<'a> {
            cancel: &'a AtomicBool,
            on_text: &'a mut dyn FnMut(&str),
            result: Option<Result<GenerationStats, EngineError>>,
        }
        impl crate::batch::BatchIo for One<'_> {
            fn next(&mut self, _: &Path, _: &ModelLoadSettings) -> Option<crate::batch::SeqRequest> {
                None
            }
            fn cancelled(&mut self, _: u64) -> bool {
                self.cancel.load(Ordering::Relaxed)
            }
            fn text(&mut self, _: u64, text: &str) {
                (self.on_text)(text);
            }
            fn finished(&mut self, _: u64, result: Result<GenerationStats, EngineError>) {
                self.result = Some(result);
            }
        }
        let first =
            crate::batch::SeqRequest { id: 0, path: path.to_path_buf(), req: req.clone(), received: Instant::now() };
        let mut one = One { cancel, on_text, result: None };
        self.serve(first, &mut one);
        one.result.unwrap_or_else(|| Err(EngineError::Decode("the request ended without a result".into())))
    }

    /// The prompt's tokens as [`Self::generate`] would tokenize them, if the
    /// model at `path` is in memory and no request holds the engine; none
    /// otherwise (nothing is loaded for a count).
    pub fn count_prompt_tokens(&self, path: &Path, req: &GenerateRequest) -> Option<u32> {
        let residents = self.residents.try_lock().ok()?;
        let resident = residents.iter().find(|r| r.info.path == path)?;
        let model: &LlamaModel = &resident.model;
        let prompt = if req.raw_prompt {
            req.prompt.clone()
        } else {
            render_prompt(model, req.system_prompt.as_deref(), &req.history, &req.prompt)
        };
        Some(model.vocab().tokenize(prompt.as_bytes(), true, true).len() as u32)
    }

    /// One L2-normalised vector per text, pooled as the model says (mean, CLS,
    /// last). Refuses generative models (no pooling in their metadata) and
    /// texts longer than a batch.
    pub fn embed(&self, path: &Path, load: &ModelLoadSettings, texts: &[String]) -> Result<Embeddings, EngineError> {
        let started = Instant::now();
        load.validate().map_err(|e| EngineError::Params(e.message))?;
        if texts.is_empty() {
            return Err(EngineError::Params("give at least one text to embed".into()));
        }
        if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
            return Err(EngineError::Params(format!("text {} is empty", i + 1)));
        }
        let mut residents = self.lock();
        let (index, _) = self.resident(&mut residents, path, load)?;
        let resident = &mut residents[index];
        resident.last_used = Instant::now();
        let pooling = match resident.info.pooling {
            Some(p)
                if !matches!(p, LlamaPoolingType::None | LlamaPoolingType::Unspecified | LlamaPoolingType::Rank) =>
            {
                p
            }
            _ => {
                return Err(EngineError::NotEmbedding { name: resident.info.name.clone() });
            }
        };
        let vocab = resident.model.vocab();
        let tokenized: Vec<Vec<LlamaToken>> = texts.iter().map(|t| vocab.tokenize(t.as_bytes(), true, true)).collect();
        // Non-causal models see a text whole: it must fit one micro-batch.
        let n_batch = resident.n_ctx.min(8192);
        if let Some((i, t)) = tokenized.iter().enumerate().find(|(_, t)| t.len() as u32 > n_batch) {
            return Err(EngineError::Params(format!(
                "text {} is {} tokens; this model embeds at most {n_batch} tokens at once",
                i + 1,
                t.len()
            )));
        }
        let threads = resident.threads as i32;
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_batch))
            .with_n_batch(n_batch)
            .with_n_ubatch(n_batch)
            .with_n_threads(threads)
            .with_n_threads_batch(threads)
            .with_embeddings(true);
        let mut ctx =
            resident.model.new_context(backend()?, params).map_err(|e| EngineError::Context(e.to_string()))?;
        let mut batch = LlamaBatch::new(n_batch as usize, 1);
        let mut vectors = Vec::with_capacity(texts.len());
        let mut input_tokens = 0u32;
        for tokens in &tokenized {
            ctx.clear_kv_cache();
            batch.clear();
            batch.add_sequence(tokens, 0, true).map_err(|e| EngineError::Decode(e.to_string()))?;
            ctx.decode(&mut batch).map_err(|e| EngineError::Decode(e.to_string()))?;
            pulse();
            let v = ctx.embeddings_seq_ith(0).map_err(|e| EngineError::Decode(e.to_string()))?;
            let norm = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
            let scale = if norm > 0.0 { (1.0 / norm) as f32 } else { 1.0 };
            vectors.push(v.iter().map(|x| x * scale).collect());
            input_tokens += tokens.len() as u32;
        }
        Ok(Embeddings {
            vectors,
            input_tokens,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            pooling: format!("{pooling:?}").to_lowercase(),
        })
    }

    /// Describes `req.images` with the model at `path` and its vision projector
    /// at `projector`: the images go through llama.cpp's multimodal library
    /// (preprocessing, the projector's encoder, decoding into the model), then
    /// text streams as for any request. The batch is sized to hold the largest
    /// image whole, which models with non-causal image attention require.
    pub fn describe(
        &self,
        path: &Path,
        projector: &Path,
        req: &VisionRequest,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<VisionStats, EngineError> {
        let started = Instant::now();
        req.params.validate().map_err(|e| EngineError::Params(e.to_string()))?;
        req.load.validate().map_err(|e| EngineError::Params(e.message))?;
        if req.images.is_empty() {
            return Err(EngineError::Params("give at least one image".into()));
        }
        for (i, img) in req.images.iter().enumerate() {
            if img.width == 0 || img.height == 0 || img.rgb.len() != img.width as usize * img.height as usize * 3 {
                return Err(EngineError::Params(format!(
                    "image {} is not {}x{} RGB pixels",
                    i + 1,
                    img.width,
                    img.height
                )));
            }
        }
        gguf::check_gguf_header(projector)?;
        let mut residents = self.lock();
        let (index, mut load_ms) = self.resident(&mut residents, path, &req.load)?;
        let resident = &mut residents[index];
        resident.last_used = Instant::now();
        let Resident { mtmd, model, info, n_ctx, threads, .. } = resident;
        let (n_ctx, threads) = (*n_ctx, *threads);
        let model: &LlamaModel = model;
        if mtmd.as_ref().is_none_or(|(p, _)| p != projector) {
            *mtmd = None;
            let loading = Instant::now();
            let params = MtmdContextParams {
                use_gpu: has_gpu(),
                print_timings: false,
                n_threads: threads as i32,
                ..MtmdContextParams::default()
            };
            let shown = projector.display().to_string();
            let ctx = MtmdContext::init_from_file(&shown, model, &params)
                .map_err(|_| EngineError::Projector { path: shown.clone(), model: info.name.clone() })?;
            if !ctx.support_vision() {
                return Err(EngineError::Projector { path: shown, model: info.name.clone() });
            }
            *mtmd = Some((projector.to_path_buf(), ctx));
            load_ms += loading.elapsed().as_secs_f64() * 1000.0;
        }
        let (_, mtmd) = mtmd.as_mut().expect("loaded");

        let marker = llama_cpp_2::mtmd::mtmd_default_marker();
        let user = format!("{}{}", format!("{marker}\n").repeat(req.images.len()), req.prompt.trim());
        let prompt = render_prompt(model, req.system_prompt.as_deref(), &[], &user);
        let bitmaps = req
            .images
            .iter()
            .map(|img| MtmdBitmap::from_image_data(img.width, img.height, &img.rgb))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Params(format!("an image cannot be handed to llama.cpp: {e}")))?;
        let refs: Vec<&MtmdBitmap> = bitmaps.iter().collect();
        let chunks = mtmd
            .tokenize(MtmdInputText { text: prompt, add_special: true, parse_special: true }, &refs)
            .map_err(|e| EngineError::Decode(format!("the images could not be prepared for the model: {e}")))?;
        let mut image_tokens = 0u32;
        let mut largest_image = 0u32;
        for i in 0..chunks.len() {
            let chunk = chunks.get(i).expect("index in range");
            if chunk.chunk_type() == MtmdInputChunkType::Image {
                image_tokens += chunk.n_positions() as u32;
                largest_image = largest_image.max(chunk.n_tokens() as u32);
            }
        }
        let positions = chunks.total_positions().max(0) as u32;
        if positions >= n_ctx {
            return Err(EngineError::PromptTooLong { prompt_tokens: positions, n_ctx });
        }
        let encode_ms = if req.time_encoder {
            let timed = Instant::now();
            for i in 0..chunks.len() {
                let chunk = chunks.get(i).expect("index in range");
                if chunk.chunk_type() == MtmdInputChunkType::Image {
                    mtmd.encode_chunk(&chunk)
                        .map_err(|e| EngineError::Decode(format!("the image encoder failed: {e}")))?;
                }
            }
            Some(timed.elapsed().as_secs_f64() * 1000.0)
        } else {
            None
        };

        // A fresh context whose batch holds the largest image whole.
        let n_batch = vision_batch(self.config.n_batch, largest_image);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_batch)
            .with_n_ubatch(n_batch)
            .with_n_threads(threads as i32)
            .with_n_threads_batch(threads as i32);
        let mut ctx = model.new_context(backend()?, params).map_err(|e| EngineError::Context(e.to_string()))?;
        let prompt_started = Instant::now();
        let n_past = chunks
            .eval_chunks(mtmd, &mut ctx, 0, 0, n_batch as i32, true)
            .map_err(|e| EngineError::Decode(format!("the image prompt could not be evaluated: {e}")))?;
        pulse();
        let prompt_ms = prompt_started.elapsed().as_secs_f64() * 1000.0;
        let input_tokens = chunks.total_tokens() as u32;

        let sampler = sampler::build(&req.params, model.n_vocab(), random_seed(), None);
        let mut generated = Vec::new();
        let out = produce(
            &mut ctx,
            model,
            Decode {
                params: &req.params,
                ignore_eos: req.ignore_eos,
                candidate_limit: sampler::candidate_limit(&req.params),
                n_ctx,
                offset: n_past.max(0) as usize,
            },
            sampler,
            -1,
            &mut generated,
            cancel,
            on_text,
        )?;
        let gen_tps = out.first_token.and_then(|first| {
            let secs = out.last_token.duration_since(first).as_secs_f64();
            (out.produced > 1 && secs > 0.0).then(|| f64::from(out.produced - 1) / secs)
        });
        let prompt_tps = (prompt_ms > 0.0).then(|| f64::from(input_tokens) / (prompt_ms / 1000.0));
        let ttft = out.first_token.map(|t| t.duration_since(started).as_secs_f64() * 1000.0);
        Ok(VisionStats {
            stats: stats(started, load_ms, input_tokens, out.produced, ttft, prompt_tps, gen_tps, out.finish),
            image_count: req.images.len() as u32,
            image_tokens,
            prompt_ms,
            encode_ms,
        })
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Resident>> {
        // A panic while holding the lock leaves no half-written state worth refusing.
        self.residents.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The index of the resident model for `path` with `load`, loading it
    /// (and unloading the least recently used beyond the limit) when needed.
    pub(crate) fn resident(
        &self,
        residents: &mut Vec<Resident>,
        path: &Path,
        load: &ModelLoadSettings,
    ) -> Result<(usize, f64), EngineError> {
        if let Some(i) = residents.iter().position(|r| r.info.path == path) {
            if residents[i].load == *load {
                return Ok((i, 0.0));
            }
            residents.remove(i); // loaded with other settings: load it again
        }
        let max = self.config.max_resident_models.max(1) as usize;
        while residents.len() >= max {
            let lru = residents.iter().enumerate().min_by_key(|(_, r)| r.last_used).map(|(i, _)| i).expect("non-empty");
            let gone = residents.remove(lru);
            tracing::info!(path = %gone.info.path.display(), "model unloaded to make room");
        }
        let started = Instant::now();
        let (model, info) = load_model(path, load, self.config.n_ctx)?;
        let n_ctx = load.context_length.unwrap_or(self.config.n_ctx).min(info.context_length.max(1));
        let threads = load.threads.unwrap_or(self.config.threads).max(1);
        let parallel = load.parallel.unwrap_or(self.config.parallel).clamp(1, switchboard_core::MAX_PARALLEL);
        let now = Instant::now();
        residents.push(Resident {
            ctx: None,
            mtmd: None,
            slots: (0..parallel).map(|_| SlotCache { cached: Vec::new(), last_used: now }).collect(),
            model: Box::new(model),
            info,
            load: load.clone(),
            n_ctx,
            threads,
            last_used: Instant::now(),
        });
        Ok((residents.len() - 1, started.elapsed().as_secs_f64() * 1000.0))
    }
}

/// What the token loop needs to know.
struct Decode<'p> {
    params: &'p SamplingParams,
    ignore_eos: bool,
    /// Hand only this many top logits to the sampler (`None`: the whole vocabulary).
    candidate_limit: Option<usize>,
    n_ctx: u32,
    /// Positions before `cached[0]` (an image prompt evaluated by mtmd).
    offset: usize,
}

struct Produced {
    finish: FinishReason,
    produced: u32,
    first_token: Option<Instant>,
    last_token: Instant,
}

/// The token loop: sample, stop on end-of-generation, a stop sequence, max
/// tokens, a full context or cancellation; stream decoded text; decode each
/// token for the next. `cached` receives every decoded token.
#[allow(clippy::too_many_arguments)]
fn produce(
    ctx: &mut LlamaContext<'_>,
    model: &LlamaModel,
    d: Decode<'_>,
    mut sampler: llama_cpp_2::sampling::LlamaSampler,
    mut logits_at: i32,
    cached: &mut Vec<LlamaToken>,
    cancel: &AtomicBool,
    on_text: &mut dyn FnMut(&str),
) -> Result<Produced, EngineError> {
    let vocab = model.vocab();
    let mut batch = LlamaBatch::new(1, 1);
    let mut candidates = Vec::with_capacity(d.candidate_limit.unwrap_or(0));
    let mut stops = StopMatcher::new(&d.params.stop);
    let mut utf8 = encoding_rs::UTF_8.new_decoder();
    let mut piece = Vec::with_capacity(32);
    let mut text = String::with_capacity(64);
    let mut produced = 0u32;
    let mut first_token: Option<Instant> = None;
    let mut last_token = Instant::now();

    let finish = loop {
        if cancel.load(Ordering::Relaxed) {
            break FinishReason::Cancelled;
        }
        if produced >= d.params.max_tokens {
            break FinishReason::MaxTokens;
        }
        let pos = d.offset + cached.len();
        if pos as u32 >= d.n_ctx {
            break FinishReason::ContextFull;
        }
        let token: LlamaToken = match d.candidate_limit {
            Some(k) => {
                sampler::top_candidates(ctx.get_logits_ith(logits_at), k, &mut candidates);
                let mut array = LlamaTokenDataArray::new(std::mem::take(&mut candidates), true);
                sampler.apply(&mut array);
                let token =
                    array.selected_token().ok_or_else(|| EngineError::Decode("the sampler chose no token".into()))?;
                candidates = array.data;
                // `apply` does not accept; `sample` (below) does, so accept here only.
                sampler.accept(token);
                token
            }
            // `sample` also accepts the token into the chain's history.
            None => sampler.sample(ctx, logits_at),
        };
        if vocab.is_eog(token) && !d.ignore_eos {
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
        batch.add(token, pos as i32, &[0], true).map_err(|e| EngineError::Decode(e.to_string()))?;
        ctx.decode(&mut batch).map_err(|e| EngineError::Decode(e.to_string()))?;
        pulse();
        cached.push(token);
        logits_at = 0;
    };
    if finish != FinishReason::StopSequence {
        let rest = stops.finish();
        if !rest.is_empty() {
            on_text(&rest);
        }
    }
    Ok(Produced { finish, produced, first_token, last_token })
}

/// The batch (and micro-batch) for an image prompt: models whose image tokens
/// attend to each other non-causally need a whole image in one micro-batch, or
/// llama.cpp stops on `GGML_ASSERT(n_ubatch >= n_tokens)` (when the batch
/// handed over is larger than the micro-batch) or the image is split.
fn vision_batch(configured: u32, largest_image: u32) -> u32 {
    configured.max(largest_image).max(1)
}

pub(crate) fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Loads a model: GPU layers as set, else llama.cpp's automatic fit to free GPU memory.
fn load_model(path: &Path, load: &ModelLoadSettings, n_ctx: u32) -> Result<(LlamaModel, ModelInfo), EngineError> {
    gguf::check_gguf_header(path)?;
    let backend = backend()?;
    let gpu = has_gpu();
    let mut params = LlamaModelParams::default();
    match load.gpu_layers {
        Some(n) => params = params.with_n_gpu_layers(n),
        None if gpu => {
            // llama.cpp decides how many layers fit the free GPU memory (1 GiB margin per device).
            let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
                .map_err(|_| EngineError::ModelMissing { path: path.display().to_string() })?;
            let mut cparams =
                LlamaContextParams::default().with_n_ctx(NonZeroU32::new(load.context_length.unwrap_or(n_ctx)));
            let mut margins = vec![1usize << 30; llama_cpp_2::max_devices().max(1)];
            let fit = std::pin::Pin::new(&mut params).fit_params(
                &c_path,
                &mut cparams,
                &mut margins,
                load.context_length.unwrap_or(n_ctx).min(4096),
                llama_cpp_sys_2::GGML_LOG_LEVEL_WARN,
            );
            if let Err(e) = fit {
                tracing::warn!(%e, "automatic GPU fit found no allocation; loading with llama.cpp's defaults");
                params = LlamaModelParams::default();
            }
        }
        None => {}
    }
    let requested = params.n_gpu_layers();
    // Loading reports progress too: a large model from a slow disk is slow, not stuck.
    let params = params.with_progress_callback(|_| {
        pulse();
        true
    });
    let model = LlamaModel::load_from_file(backend, path, &params)
        .map_err(|_| EngineError::ModelLoad { path: path.display().to_string() })?;
    let meta = |key: &str| model.meta_val_str(key).ok();
    let architecture = meta("general.architecture").unwrap_or_default();
    let total_layers = model.n_layer() + 1;
    let offloaded_layers = if !gpu {
        0
    } else if requested < 0 {
        total_layers
    } else {
        (requested as u32).min(total_layers)
    };
    let pooling = meta(&format!("{architecture}.pooling_type")).and_then(|v| v.parse::<i32>().ok()).map(|v| match v {
        1 => LlamaPoolingType::Mean,
        2 => LlamaPoolingType::Cls,
        3 => LlamaPoolingType::Last,
        4 => LlamaPoolingType::Rank,
        _ => LlamaPoolingType::None,
    });
    let info = ModelInfo {
        path: path.to_path_buf(),
        name: meta("general.name")
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_default(),
        sliding_window: meta(&format!("{architecture}.attention.sliding_window"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        architecture,
        parameters: model.n_params(),
        size_bytes: model.size(),
        context_length: model.n_ctx_train(),
        has_chat_template: model.chat_template(None).is_ok(),
        offloaded_layers,
        total_layers,
        pooling,
    };
    tracing::info!(path = %path.display(), name = %info.name, offloaded_layers, total_layers, "model loaded");
    Ok((model, info))
}

/// Renders the conversation with the model's own chat template. A model
/// without one gets llama.cpp's built-in template for its architecture's
/// family (Gemma's turns for Gemma, ChatML otherwise), and plain text when
/// even that fails.
pub(crate) fn render_prompt(model: &LlamaModel, system: Option<&str>, history: &[ChatTurn], prompt: &str) -> String {
    let system = system.map(str::trim).filter(|s| !s.is_empty());
    let mut turns: Vec<(&str, &str)> = Vec::with_capacity(history.len() + 2);
    if let Some(s) = system {
        turns.push(("system", s));
    }
    for t in history {
        let role = match t.role {
            ChatRole::System => "system",
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
        };
        turns.push((role, t.content.as_str()));
    }
    turns.push(("user", prompt));
    let plain = || {
        let mut out = String::new();
        for (role, text) in &turns {
            out.push_str(&format!("{role}: {text}\n\n"));
        }
        out.push_str("assistant:");
        out
    };
    let template = match model.chat_template(None) {
        Ok(t) => t,
        Err(_) => match LlamaChatTemplate::new(fallback_template(model)) {
            Ok(t) => t,
            Err(_) => return plain(),
        },
    };
    let messages: Result<Vec<_>, _> =
        turns.iter().map(|(role, text)| LlamaChatMessage::new((*role).into(), (*text).into())).collect();
    match messages {
        Ok(messages) => model.apply_chat_template(&template, &messages, true).unwrap_or_else(|_| plain()),
        Err(_) => plain(),
    }
}

/// llama.cpp's built-in template for a model family that shipped without one.
fn fallback_template(model: &LlamaModel) -> &'static str {
    let arch = model.meta_val_str("general.architecture").unwrap_or_default();
    match arch.as_str() {
        a if a.starts_with("gemma") => "gemma",
        a if a.starts_with("phi3") => "phi3",
        "llama" | "llama4" => "llama3",
        a if a.starts_with("deepseek") => "deepseek3",
        _ => "chatml",
    }
}

pub(crate) fn random_seed() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.finish() as u32
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn stats(
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
        cached_input_tokens: 0,
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
        Engine::generate(self, model_path, &GenerateRequest::from(req), cancel, on_text).map_err(Into::into)
    }

    fn embed(
        &self,
        model_path: &Path,
        load: &ModelLoadSettings,
        texts: &[String],
        _priority: switchboard_core::Priority,
    ) -> Result<Embeddings, switchboard_core::AppError> {
        Engine::embed(self, model_path, load, texts).map_err(Into::into)
    }

    fn describe(
        &self,
        model_path: &Path,
        projector_path: &Path,
        req: &VisionRequest,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<VisionStats, switchboard_core::AppError> {
        Engine::describe(self, model_path, projector_path, req, cancel, on_text).map_err(Into::into)
    }

    fn resident_models(&self) -> Vec<ResidentModel> {
        Engine::resident_models(self)
    }

    fn load_model(&self, model_path: &Path, load: &ModelLoadSettings) -> Result<f64, switchboard_core::AppError> {
        self.preload(model_path, load).map_err(Into::into)
    }

    fn unload_model(&self, model_path: &Path) -> Result<bool, switchboard_core::AppError> {
        Ok(self.unload(model_path))
    }

    fn count_tokens(
        &self,
        model_path: &Path,
        req: &switchboard_core::EngineRequest,
    ) -> Result<Option<u32>, switchboard_core::AppError> {
        Ok(self.count_prompt_tokens(model_path, &GenerateRequest::from(req)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_prompt_batch_holds_the_largest_image() {
        assert_eq!(vision_batch(8, 16), 16);
        assert_eq!(vision_batch(512, 256), 512);
        assert_eq!(vision_batch(512, 1369), 1369, "a 518px Qwen-style image of 37x37 tokens");
        assert_eq!(vision_batch(0, 0), 1);
    }
}
