//! Several requests to one model at once, through the supervised worker on
//! the real test model: they share the model's context (continuous batching)
//! and each keeps its own sampling, stop sequences, cancellation and result.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use switchboard_core::{EngineRequest, FinishReason, GenerationStats, ModelLoadSettings, SamplingParams, TextEngine};
use switchboard_engine::{EngineConfig, WorkerCommand, WorkerEngine};

fn model_path() -> PathBuf {
    let path = switchboard_models::cached_default_model();
    assert!(path.exists(), "test model missing at {}: run fetch-model first", path.display());
    path
}

fn worker(parallel: u32) -> Arc<WorkerEngine> {
    Arc::new(WorkerEngine::new(
        WorkerCommand { program: env!("CARGO_BIN_EXE_engine-worker").into() },
        EngineConfig { threads: 2, parallel, ..EngineConfig::default() },
    ))
}

fn request(prompt: &str, max_tokens: u32) -> EngineRequest {
    EngineRequest {
        prompt: prompt.into(),
        params: SamplingParams::new(0.0, 40, 1.0, max_tokens, 1.0),
        ..Default::default()
    }
}

/// What one request saw: its text, its result, when its first and last pieces came.
struct Seen {
    text: String,
    stats: GenerationStats,
    first_piece: Option<Instant>,
    ended: Instant,
}

fn generate(w: &WorkerEngine, req: &EngineRequest, cancel: &AtomicBool, on_piece: &mut dyn FnMut(&str)) -> Seen {
    let mut text = String::new();
    let mut first_piece = None;
    let stats = w
        .generate(&model_path(), req, cancel, &mut |t| {
            first_piece.get_or_insert_with(Instant::now);
            text.push_str(t);
            on_piece(t);
        })
        .unwrap();
    Seen { text, stats, first_piece, ended: Instant::now() }
}

/// Runs the requests from threads started together.
fn together(w: &Arc<WorkerEngine>, reqs: Vec<EngineRequest>) -> Vec<Seen> {
    let barrier = Arc::new(Barrier::new(reqs.len()));
    let threads: Vec<_> = reqs
        .into_iter()
        .map(|req| {
            let (w, barrier) = (w.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                generate(&w, &req, &AtomicBool::new(false), &mut |_| {})
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// A raw completion whose continuation the model is sure of.
fn completion(prompt: &str, max_tokens: u32) -> EngineRequest {
    let mut req = request(prompt, max_tokens);
    req.raw_prompt = true;
    req
}

#[test]
fn requests_at_once_share_a_batch_and_each_continues_its_own_prompt() {
    let w = worker(4);
    // Loaded first, so that the four start together.
    generate(&w, &request("Hi", 2), &AtomicBool::new(false), &mut |_| {});
    let prompts = [
        ("1, 2, 3, 4, 5, 6, 7, 8,", "9, 10"),
        ("Monday, Tuesday, Wednesday,", "Thursday"),
        ("A, B, C, D, E, F,", "G, H"),
        ("January, February, March,", "April"),
    ];
    let solo: Vec<String> = prompts
        .iter()
        .map(|(p, _)| generate(&w, &completion(p, 12), &AtomicBool::new(false), &mut |_| {}).text)
        .collect();
    let seen = together(&w, prompts.iter().map(|(p, _)| completion(p, 12)).collect());
    for (((prompt, expected), alone), s) in prompts.iter().zip(&solo).zip(&seen) {
        eprintln!("{prompt:?}: alone {alone:?}, together {:?}", s.text);
        assert!(alone.contains(expected), "{prompt:?} alone: {alone:?}");
        assert!(s.text.contains(expected), "{prompt:?} in the batch continued another prompt: {:?}", s.text);
        assert_eq!(s.stats.input_tokens, generate_input_tokens(&w, prompt));
    }
    // They ran side by side: every one had its first piece before any one ended.
    let last_start = seen.iter().filter_map(|s| s.first_piece).max().unwrap();
    let first_end = seen.iter().map(|s| s.ended).min().unwrap();
    assert!(last_start < first_end, "the four requests were generated together, not one after another");
}

fn generate_input_tokens(w: &WorkerEngine, prompt: &str) -> u32 {
    generate(w, &completion(prompt, 1), &AtomicBool::new(false), &mut |_| {}).stats.input_tokens
}

#[test]
fn each_request_in_a_batch_keeps_its_own_limits_stops_and_cancellation() {
    let w = worker(4);
    generate(&w, &request("Hi", 2), &AtomicBool::new(false), &mut |_| {});
    let mut long = request("Write a long story about a lighthouse keeper.", 48);
    long.ignore_eos = true;
    let short = request("Write a long story about a lighthouse keeper.", 3);
    let mut stopped = request("Count from one to twenty, in words, separated by commas.", 64);
    stopped.params.stop = vec![",".into()];
    let mut doomed = request("Write a long story about a lighthouse keeper.", 400);
    doomed.ignore_eos = true;

    let barrier = Arc::new(Barrier::new(4));
    let spawn = |req: EngineRequest, cancel_after: Option<usize>| {
        let (w, barrier) = (w.clone(), barrier.clone());
        std::thread::spawn(move || {
            let cancel = AtomicBool::new(false);
            let mut pieces = 0;
            barrier.wait();
            generate(&w, &req, &cancel, &mut |_| {
                pieces += 1;
                if cancel_after.is_some_and(|n| pieces >= n) {
                    cancel.store(true, Ordering::Relaxed);
                }
            })
        })
    };
    let long = spawn(long, None);
    let short = spawn(short, None);
    let stopped = spawn(stopped, None);
    let doomed = spawn(doomed, Some(5));
    let (long, short, stopped, doomed) =
        (long.join().unwrap(), short.join().unwrap(), stopped.join().unwrap(), doomed.join().unwrap());

    assert_eq!((long.stats.output_tokens, long.stats.finish_reason), (48, FinishReason::MaxTokens));
    assert_eq!((short.stats.output_tokens, short.stats.finish_reason), (3, FinishReason::MaxTokens));
    assert_eq!(stopped.stats.finish_reason, FinishReason::StopSequence, "{:?}", stopped.text);
    assert!(!stopped.text.contains(','), "the stop sequence is not shown: {:?}", stopped.text);
    assert_eq!(doomed.stats.finish_reason, FinishReason::Cancelled);
    assert!(doomed.stats.output_tokens < 48, "cancelled at once, not at the end: {}", doomed.stats.output_tokens);
    // Each one is measured on its own.
    for s in [&long, &short, &stopped, &doomed] {
        assert!(s.stats.input_tokens > 5);
        assert!(s.stats.latency_ms > 0.0 && s.stats.ttft_ms.is_some());
    }
    assert!(long.stats.latency_ms > short.stats.latency_ms);
}

#[test]
fn a_bad_request_fails_alone_and_the_others_in_its_batch_go_on() {
    let w = worker(4);
    generate(&w, &request("Hi", 2), &AtomicBool::new(false), &mut |_| {});
    let mut good = request("Write a short poem about the sea.", 24);
    good.ignore_eos = true;
    let mut bad_schema = request("Give me JSON.", 16);
    bad_schema.json_schema = Some("{\"type\": \"no-such-type\"}".into());
    let errors = Arc::new(Mutex::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(3));
    let threads: Vec<_> = [good.clone(), bad_schema, good]
        .into_iter()
        .map(|req| {
            let (w, barrier, errors) = (w.clone(), barrier.clone(), errors.clone());
            std::thread::spawn(move || {
                barrier.wait();
                match w.generate(&model_path(), &req, &AtomicBool::new(false), &mut |_| {}) {
                    Ok(stats) => Some(stats),
                    Err(e) => {
                        errors.lock().unwrap().push(e.message);
                        None
                    }
                }
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("json_schema"), "{}", errors[0]);
    for stats in results.iter().flatten() {
        assert_eq!(stats.output_tokens, 24);
    }
    assert_eq!(results.iter().flatten().count(), 2);
}

#[test]
fn requests_share_the_context_window_and_the_longest_ends_when_it_is_full() {
    // Two slots in a 256-token window: together they cannot both write 200 tokens.
    let w = worker(2);
    let load = ModelLoadSettings { context_length: Some(256), ..Default::default() };
    let mut req = request("Write a long story about a lighthouse keeper.", 200);
    req.ignore_eos = true;
    req.load = load.clone();
    let mut warm = request("Hi", 2);
    warm.load = load;
    generate(&w, &warm, &AtomicBool::new(false), &mut |_| {});
    let mut seen = together(&w, vec![req.clone(), req]);
    seen.sort_by_key(|s| s.stats.output_tokens);
    // When the window filled, the longer one (the first to start) ended; the
    // other took the room it left and wrote all it asked for.
    let (ended, went_on) = (&seen[0].stats, &seen[1].stats);
    assert_eq!(ended.finish_reason, FinishReason::ContextFull, "{ended:?}");
    assert!(ended.output_tokens > 0 && ended.output_tokens < 200);
    assert!(
        ended.input_tokens + ended.output_tokens + went_on.input_tokens <= 256,
        "the first ended within the shared window"
    );
    assert_eq!((went_on.finish_reason, went_on.output_tokens), (FinishReason::MaxTokens, 200));

    // Alone, one request may use the whole window.
    let mut alone = request("Write a long story about a lighthouse keeper.", 200);
    alone.ignore_eos = true;
    alone.load = ModelLoadSettings { context_length: Some(256), ..Default::default() };
    let s = generate(&w, &alone, &AtomicBool::new(false), &mut |_| {});
    assert_eq!(s.stats.finish_reason, FinishReason::MaxTokens, "{:?}", s.stats);
    assert_eq!(s.stats.output_tokens, 200);
}

#[test]
fn more_callers_than_slots_wait_their_turn_and_all_are_answered() {
    let w = worker(2);
    generate(&w, &request("Hi", 2), &AtomicBool::new(false), &mut |_| {});
    let mut req = request("Write a short poem about the sea.", 12);
    req.ignore_eos = true;
    let started = Instant::now();
    let seen = together(&w, vec![req.clone(), req.clone(), req.clone(), req.clone(), req]);
    assert!(seen.iter().all(|s| s.stats.output_tokens == 12 && !s.text.is_empty()));
    // Two at a time: the last had to wait for a slot.
    let mut firsts: Vec<Duration> = seen.iter().map(|s| s.first_piece.unwrap() - started).collect();
    firsts.sort();
    assert!(firsts[4] > firsts[0] + Duration::from_millis(50), "{firsts:?}");
}
