//! Continuous batching: the generation requests for one model share its
//! context, each in a sequence of its own (a slot), the way llama.cpp's server
//! serves parallel slots. Every step decodes one batch holding the next token
//! of each request that is generating and as much of the waiting prompts as
//! fits; a request joins between two steps and leaves as soon as it ends, and
//! each has its own sampler, stop sequences, cancellation and statistics.
//!
//! The slots share the context window (llama.cpp's unified KV cache): one
//! request may use all of it while it is alone, and when the window runs
//! short, idle slots give up their cached prompts first, then a newcomer waits
//! for room, and only then the longest running request ends as `context_full`.
//! A finished request's tokens stay in its slot, so that the next request that
//! starts the same way (a conversation's next turn) skips what is cached.

use std::path::{Path, PathBuf};
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use switchboard_core::{FinishReason, GenerationStats, ModelLoadSettings, ResidentModel};

use crate::text_engine::{
    common_prefix, ensure_context, pulse, random_seed, render_prompt, stats, EngineConfig, GenerateRequest, Resident,
    SlotCache,
};
use crate::{sampler, stop::StopMatcher, Engine, EngineError};

/// One generation request for the scheduler.
#[derive(Debug, Clone)]
pub struct SeqRequest {
    /// The caller's id for the request; every callback names it.
    pub id: u64,
    pub path: PathBuf,
    pub req: GenerateRequest,
    /// When the request arrived: its latency and time to first token count from here.
    pub received: Instant,
}

/// What the scheduler reads requests from and reports to.
pub trait BatchIo {
    /// The next request to join the running batch, if one waits for this model
    /// loaded this way (asked between steps, so it must not block).
    fn next(&mut self, path: &Path, load: &ModelLoadSettings) -> Option<SeqRequest>;
    /// Whether the request has been cancelled.
    fn cancelled(&mut self, id: u64) -> bool;
    /// A piece of the request's text.
    fn text(&mut self, id: u64, text: &str);
    /// The models in memory once the batch's model is loaded (before any request ends).
    fn loaded(&mut self, _models: Vec<ResidentModel>) {}
    /// The request ended (every request admitted or refused ends exactly once).
    fn finished(&mut self, id: u64, result: Result<GenerationStats, EngineError>);
}

/// A request in its slot.
struct Seq {
    id: u64,
    slot: usize,
    tokens: Vec<LlamaToken>,
    /// The next prompt token to decode; the prompt is done at `tokens.len()`.
    next_prompt: usize,
    reuse: usize,
    req: GenerateRequest,
    sampler: LlamaSampler,
    candidate_limit: Option<usize>,
    stops: StopMatcher,
    utf8: encoding_rs::Decoder,
    /// Sampled, emitted and to be decoded in the next step.
    pending: Option<LlamaToken>,
    /// Where this sequence's logits are in the batch just decoded.
    logits_at: Option<i32>,
    /// Tokens of this step's batch to add to the slot once decoded.
    in_batch: usize,
    produced: u32,
    received: Instant,
    load_ms: f64,
    prompt_started: Option<Instant>,
    prompt_secs: f64,
    first_token: Option<Instant>,
    last_token: Instant,
}

impl Seq {
    fn prefilling(&self) -> bool {
        self.next_prompt < self.tokens.len()
    }

    fn stats(&self, finish: FinishReason) -> GenerationStats {
        let processed = (self.tokens.len() - self.reuse) as u32;
        let prompt_tps = (self.prompt_secs > 0.0 && processed > 0).then(|| f64::from(processed) / self.prompt_secs);
        let gen_tps = self.first_token.and_then(|first| {
            let secs = self.last_token.duration_since(first).as_secs_f64();
            (self.produced > 1 && secs > 0.0).then(|| f64::from(self.produced - 1) / secs)
        });
        let ttft = self.first_token.map(|t| t.duration_since(self.received).as_secs_f64() * 1000.0);
        let mut s = stats(
            self.received,
            self.load_ms,
            self.tokens.len() as u32,
            self.produced,
            ttft,
            prompt_tps,
            gen_tps,
            finish,
        );
        s.cached_input_tokens = self.reuse as u32;
        s
    }
}

enum Admission {
    Joined(Box<Seq>),
    /// No room in the context window until a running request ends.
    Wait(SeqRequest),
    Refused(u64, EngineError),
}

impl Engine {
    /// Generates `first` and every request `io` hands over for the same model
    /// while any is running, together in the model's context; returns when
    /// all have ended. Requests for other models wait for the next call.
    pub fn serve(&self, first: SeqRequest, io: &mut dyn BatchIo) {
        if let Err(e) = first.req.load.validate() {
            return io.finished(first.id, Err(EngineError::Params(e.message)));
        }
        let mut residents = self.lock();
        let (index, load_ms) = match self.resident(&mut residents, &first.path, &first.req.load) {
            Ok(found) => found,
            Err(e) => return io.finished(first.id, Err(e)),
        };
        residents[index].last_used = Instant::now();
        io.loaded(Self::describe_residents(&residents));
        let resident = &mut residents[index];
        let path = first.path.clone();
        let load = first.req.load.clone();
        let mut scheduler = Scheduler { config: self.config(), path: &path, load: &load, io, load_ms };
        scheduler.run(resident, first);
        resident.last_used = Instant::now();
    }
}

struct Scheduler<'a> {
    config: &'a EngineConfig,
    path: &'a Path,
    load: &'a ModelLoadSettings,
    io: &'a mut dyn BatchIo,
    /// The model's load time, reported by the first request only.
    load_ms: f64,
}

impl Scheduler<'_> {
    fn run(&mut self, resident: &mut Resident, first: SeqRequest) {
        let Resident { ctx: ctx_slot, slots, model, info, n_ctx, threads, .. } = resident;
        let (n_ctx, threads, sliding_window) = (*n_ctx, *threads, info.sliding_window);
        let model: &LlamaModel = model;
        let n_slots = slots.len().max(1);
        let n_batch = self.config.n_batch.max(n_slots as u32);
        let ctx = match ensure_context(ctx_slot, slots, model, n_ctx, threads, n_batch) {
            Ok(ctx) => ctx,
            Err(e) => return self.io.finished(first.id, Err(e)),
        };
        let mut batch = LlamaBatch::new(n_batch as usize, 1);
        let mut candidates: Vec<LlamaTokenData> = Vec::new();
        let mut active: Vec<Box<Seq>> = Vec::with_capacity(n_slots);
        let mut waiting = Some(first);
        let n_ctx_usize = n_ctx as usize;

        loop {
            // Newcomers take the free slots (the request that waited for room first).
            while active.len() < n_slots {
                let Some(request) = waiting.take().or_else(|| self.io.next(self.path, self.load)) else {
                    break;
                };
                match self.admit(ctx, model, slots, &active, n_ctx, sliding_window, request) {
                    Admission::Joined(seq) => active.push(seq),
                    Admission::Wait(request) => {
                        waiting = Some(request);
                        break;
                    }
                    Admission::Refused(id, e) => self.io.finished(id, Err(e)),
                }
            }
            if active.is_empty() {
                // Nothing runs, so a waiting request always has room: it was refused or admitted above.
                debug_assert!(waiting.is_none());
                return;
            }

            let mut i = 0;
            while i < active.len() {
                if self.io.cancelled(active[i].id) {
                    let seq = active.remove(i);
                    self.finish(slots, seq, FinishReason::Cancelled);
                } else {
                    i += 1;
                }
            }
            // Each generating request needs a cell for its next token; running short,
            // idle slots give theirs up first, then the longest request ends.
            loop {
                let generating = active.iter().filter(|s| s.pending.is_some()).count();
                if cells_in_use(slots, &active) + generating <= n_ctx_usize {
                    break;
                }
                if evict_idle(ctx, slots, &active, None) {
                    continue;
                }
                let Some(longest) = (0..active.len())
                    .filter(|&i| active[i].pending.is_some())
                    .max_by_key(|&i| slots[active[i].slot].cached.len())
                else {
                    break;
                };
                let seq = active.remove(longest);
                self.finish(slots, seq, FinishReason::ContextFull);
            }
            let mut i = 0;
            while i < active.len() {
                if active[i].pending.is_some() && slots[active[i].slot].cached.len() >= n_ctx_usize {
                    let seq = active.remove(i);
                    self.finish(slots, seq, FinishReason::ContextFull);
                } else {
                    i += 1;
                }
            }
            if active.is_empty() {
                continue;
            }

            // One batch: the generating requests' next tokens, then prompts as far as they fit.
            batch.clear();
            let mut failed = None;
            for seq in active.iter_mut() {
                seq.logits_at = None;
                seq.in_batch = 0;
                if let Some(token) = seq.pending {
                    let pos = slots[seq.slot].cached.len() as i32;
                    if let Err(e) = batch.add(token, pos, &[seq.slot as i32], true) {
                        failed = Some(e.to_string());
                    }
                    seq.logits_at = Some(batch.n_tokens() - 1);
                    seq.in_batch = 1;
                }
            }
            let mut room = n_batch as usize - batch.n_tokens() as usize;
            for seq in active.iter_mut().filter(|s| s.prefilling()) {
                if room == 0 {
                    break;
                }
                seq.prompt_started.get_or_insert_with(Instant::now);
                let end = seq.tokens.len().min(seq.next_prompt + room);
                let first_pos = slots[seq.slot].cached.len();
                for (k, token) in seq.tokens[seq.next_prompt..end].iter().enumerate() {
                    let last = seq.next_prompt + k == seq.tokens.len() - 1;
                    if let Err(e) = batch.add(*token, (first_pos + k) as i32, &[seq.slot as i32], last) {
                        failed = Some(e.to_string());
                    }
                }
                if end == seq.tokens.len() {
                    seq.logits_at = Some(batch.n_tokens() - 1);
                }
                seq.in_batch = end - seq.next_prompt;
                room -= seq.in_batch;
            }
            let decoded = match failed {
                Some(e) => Err(e),
                None => ctx.decode(&mut batch).map_err(|e| e.to_string()),
            };
            if let Err(e) = decoded {
                // The cache may hold part of the batch: every request in it fails, and all starts clean.
                ctx.clear_kv_cache();
                for slot in slots.iter_mut() {
                    slot.cached.clear();
                }
                for seq in active.drain(..) {
                    self.io.finished(seq.id, Err(EngineError::Decode(e.clone())));
                }
                continue;
            }
            pulse();

            // What was decoded joins its slot; each request with logits samples its next token.
            let mut i = 0;
            while i < active.len() {
                let seq = &mut active[i];
                let slot = &mut slots[seq.slot];
                if let Some(token) = seq.pending.take() {
                    slot.cached.push(token);
                } else if seq.in_batch > 0 {
                    slot.cached.extend_from_slice(&seq.tokens[seq.next_prompt..seq.next_prompt + seq.in_batch]);
                    seq.next_prompt += seq.in_batch;
                    if !seq.prefilling() {
                        seq.prompt_secs = seq.prompt_started.map_or(0.0, |t| t.elapsed().as_secs_f64());
                    }
                }
                let ended = match seq.logits_at {
                    Some(at) => self.sample(ctx, model, seq, at, &mut candidates),
                    None => Ok(None),
                };
                match ended {
                    Ok(None) => i += 1,
                    Ok(Some(reason)) => {
                        let seq = active.remove(i);
                        self.finish(slots, seq, reason);
                    }
                    Err(e) => {
                        let seq = active.remove(i);
                        slots[seq.slot].last_used = Instant::now();
                        self.io.finished(seq.id, Err(e));
                    }
                }
            }
        }
    }

    /// Tokenizes and checks a request and gives it the idle slot whose cache
    /// shares the longest start with its prompt.
    #[allow(clippy::too_many_arguments)]
    fn admit(
        &mut self,
        ctx: &mut LlamaContext<'static>,
        model: &LlamaModel,
        slots: &mut [SlotCache],
        active: &[Box<Seq>],
        n_ctx: u32,
        sliding_window: u32,
        request: SeqRequest,
    ) -> Admission {
        let req = &request.req;
        let refuse = |e: EngineError| Admission::Refused(request.id, e);
        if let Err(e) = req.params.validate() {
            return refuse(EngineError::Params(e.to_string()));
        }
        if req.prompt.trim().is_empty() {
            return refuse(EngineError::EmptyPrompt);
        }
        if let Err(e) = switchboard_core::validate_history(&req.history) {
            return refuse(EngineError::Params(e.message));
        }
        let prompt = if req.raw_prompt {
            req.prompt.clone()
        } else {
            render_prompt(model, req.system_prompt.as_deref(), &req.history, &req.prompt)
        };
        let tokens = model.vocab().tokenize(prompt.as_bytes(), true, true);
        let prompt_tokens = tokens.len() as u32;
        if prompt_tokens >= n_ctx {
            return refuse(EngineError::PromptTooLong { prompt_tokens, n_ctx });
        }
        let grammar = match &req.json_schema {
            Some(schema) => match sampler::schema_grammar(model, schema) {
                Ok(g) => Some(g),
                Err(e) => return refuse(e),
            },
            None => None,
        };

        // A request with a seed asks to be reproducible: llama.cpp computes a token
        // alone and inside a batch with different kernels, so it processes its whole
        // prompt rather than reuse cached state that may differ in the last bits.
        let use_cache = !req.no_prompt_cache && req.params.seed.is_none();
        let busy = |i: usize| active.iter().any(|s| s.slot == i);
        let slot = (0..slots.len())
            .filter(|&i| !busy(i))
            .max_by_key(|&i| {
                let shared = if use_cache { common_prefix(&slots[i].cached, &tokens) } else { 0 };
                (shared, std::cmp::Reverse(slots[i].last_used))
            })
            .expect("a free slot");
        let seq_id = slot as i32;
        let mut reuse = if use_cache { common_prefix(&slots[slot].cached, &tokens) } else { 0 };
        reuse = reuse.min(tokens.len() - 1);
        if reuse > 0 && sliding_window > 0 {
            // A sliding-window cache forgets old positions: reuse only if what the
            // new tokens must attend to is still there (as llama.cpp's server checks).
            let pos_min = ctx.kv_cache_seq_pos_min(seq_id);
            if pos_min > (reuse as i32 - sliding_window as i32).max(0) {
                reuse = 0;
            }
        }
        if reuse > 0 && !matches!(ctx.clear_kv_cache_seq(Some(slot as u32), Some(reuse as u32), None), Ok(true)) {
            reuse = 0;
        }
        if reuse == 0 {
            let _ = ctx.clear_kv_cache_seq(Some(slot as u32), None, None);
        }
        slots[slot].cached.truncate(reuse);

        // Room in the shared window for the prompt and a first token.
        let needed = tokens.len() - reuse + 1;
        while cells_in_use(slots, active) + needed > n_ctx as usize {
            if !evict_idle(ctx, slots, active, Some(slot)) {
                return Admission::Wait(request);
            }
        }

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
        slots[slot].last_used = Instant::now();
        let load_ms = std::mem::take(&mut self.load_ms);
        Admission::Joined(Box::new(Seq {
            id: request.id,
            slot,
            next_prompt: reuse,
            reuse,
            tokens,
            stops: StopMatcher::new(&req.params.stop),
            candidate_limit,
            sampler,
            utf8: encoding_rs::UTF_8.new_decoder(),
            pending: None,
            logits_at: None,
            in_batch: 0,
            produced: 0,
            received: request.received,
            load_ms,
            prompt_started: None,
            prompt_secs: 0.0,
            first_token: None,
            last_token: Instant::now(),
            req: request.req,
        }))
    }

    /// Samples the request's next token from its logits at `at` and streams its
    /// text; `Some(reason)` when the request ends here.
    fn sample(
        &mut self,
        ctx: &mut LlamaContext<'static>,
        model: &LlamaModel,
        seq: &mut Seq,
        at: i32,
        candidates: &mut Vec<LlamaTokenData>,
    ) -> Result<Option<FinishReason>, EngineError> {
        let vocab = model.vocab();
        let token = match seq.candidate_limit {
            Some(k) => {
                sampler::top_candidates(ctx.get_logits_ith(at), k, candidates);
                let mut array = LlamaTokenDataArray::new(std::mem::take(candidates), true);
                seq.sampler.apply(&mut array);
                let token =
                    array.selected_token().ok_or_else(|| EngineError::Decode("the sampler chose no token".into()))?;
                *candidates = array.data;
                // `apply` does not accept; `sample` (below) does, so accept here only.
                seq.sampler.accept(token);
                token
            }
            // `sample` also accepts the token into the chain's history.
            None => seq.sampler.sample(ctx, at),
        };
        if vocab.is_eog(token) && !seq.req.ignore_eos {
            return Ok(Some(FinishReason::EndOfText));
        }
        seq.produced += 1;
        seq.last_token = Instant::now();
        seq.first_token.get_or_insert(seq.last_token);

        let mut piece = Vec::with_capacity(32);
        vocab.token_to_piece_into(token, &mut piece, false, None);
        let mut text =
            String::with_capacity(seq.utf8.max_utf8_buffer_length(piece.len()).unwrap_or(piece.len() * 3 + 4));
        let _ = seq.utf8.decode_to_string(&piece, &mut text, false);
        if !text.is_empty() {
            let pushed = seq.stops.push(&text);
            if !pushed.emit.is_empty() {
                self.io.text(seq.id, &pushed.emit);
            }
            if pushed.stopped {
                return Ok(Some(FinishReason::StopSequence));
            }
        }
        if seq.produced >= seq.req.params.max_tokens {
            return Ok(Some(FinishReason::MaxTokens));
        }
        seq.pending = Some(token);
        Ok(None)
    }

    /// Ends a request: what its stop matcher held back goes out, then its statistics.
    fn finish(&mut self, slots: &mut [SlotCache], mut seq: Box<Seq>, reason: FinishReason) {
        if reason != FinishReason::StopSequence {
            let rest = seq.stops.finish();
            if !rest.is_empty() {
                self.io.text(seq.id, &rest);
            }
        }
        slots[seq.slot].last_used = Instant::now();
        let stats = seq.stats(reason);
        self.io.finished(seq.id, Ok(stats));
    }
}

/// Cells of the shared context window taken: every slot's cached tokens and
/// the prompt tokens admitted requests still have to decode.
fn cells_in_use(slots: &[SlotCache], active: &[Box<Seq>]) -> usize {
    slots.iter().map(|s| s.cached.len()).sum::<usize>()
        + active.iter().map(|s| s.tokens.len() - s.next_prompt).sum::<usize>()
}

/// Frees the cache of the least recently used idle slot (not `keep`); false when none holds anything.
fn evict_idle(
    ctx: &mut LlamaContext<'static>,
    slots: &mut [SlotCache],
    active: &[Box<Seq>],
    keep: Option<usize>,
) -> bool {
    let victim = (0..slots.len())
        .filter(|&i| Some(i) != keep && !slots[i].cached.is_empty() && !active.iter().any(|s| s.slot == i))
        .min_by_key(|&i| slots[i].last_used);
    match victim {
        Some(i) => {
            let _ = ctx.clear_kv_cache_seq(Some(i as u32), None, None);
            slots[i].cached.clear();
            true
        }
        None => false,
    }
}
