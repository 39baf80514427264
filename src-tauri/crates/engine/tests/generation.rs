//! The engine on the real test model (Gemma 3 270M Q4_K_M). The model is
//! obtained by `fetch-model` (scripts/test does this first); its path can be
//! overridden with SWITCHBOARD_TEST_MODEL.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use switchboard_core::{FinishReason, SamplingParams};
use switchboard_engine::{Engine, EngineConfig, EngineError, GenerateRequest};

fn model_path() -> PathBuf {
    let path = std::env::var_os("SWITCHBOARD_TEST_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("SWITCHBOARD_MODEL_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/switchboard/models"));
        cache.join("gemma-3-270m-q4_k_m.gguf")
    });
    assert!(
        path.exists(),
        "test model missing at {}: run `cargo run -p switchboard-models --bin fetch-model`",
        path.display()
    );
    path
}

fn engine() -> Engine {
    Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() })
}

fn request(prompt: &str, params: SamplingParams) -> GenerateRequest {
    GenerateRequest {
        system_prompt: None,
        prompt: prompt.into(),
        raw_prompt: false,
        params,
        ignore_eos: false,
        json_schema: None,
        ..Default::default()
    }
}

fn greedy(max_tokens: u32) -> SamplingParams {
    SamplingParams { temperature: 0.0, ..SamplingParams::new(0.0, 40, 0.9, max_tokens, 1.0) }
}

fn run(engine: &Engine, req: &GenerateRequest) -> (String, switchboard_core::GenerationStats) {
    let mut text = String::new();
    let never = AtomicBool::new(false);
    let stats = engine.generate(&model_path(), req, &never, &mut |t| text.push_str(t)).unwrap();
    (text, stats)
}

#[test]
fn streams_text_and_measures_it() {
    let engine = engine();
    let mut pieces = Vec::new();
    let never = AtomicBool::new(false);
    let req = GenerateRequest { ignore_eos: true, ..request("The capital of France is", greedy(24)) };
    let stats = engine.generate(&model_path(), &req, &never, &mut |t| pieces.push(t.to_string())).unwrap();
    assert_eq!(stats.output_tokens, 24);
    assert_eq!(stats.finish_reason, FinishReason::MaxTokens);
    assert!(pieces.len() > 1, "text arrives piece by piece, got {pieces:?}");
    assert!(!pieces.concat().trim().is_empty());
    assert!(stats.input_tokens >= 5, "prompt tokens counted: {}", stats.input_tokens);
    assert!(stats.ttft_ms.unwrap() > 0.0 && stats.ttft_ms.unwrap() <= stats.latency_ms);
    assert!(stats.tokens_per_second.unwrap() > 1.0);
    assert!(stats.prompt_tokens_per_second.unwrap() > 1.0);
    assert!(stats.load_ms > 0.0, "first request loads the model");
    let info = engine.loaded_model().unwrap();
    assert_eq!(info.architecture, "gemma3");
    assert!(info.context_length >= 8192);

    let (_, again) = run(&engine, &req);
    assert_eq!(again.load_ms, 0.0, "the model stays resident between requests");
}

#[test]
fn greedy_is_deterministic_and_a_seed_reproduces_sampling() {
    let engine = engine();
    let prompt = "Write one sentence about the sea.";
    let (a, _) = run(&engine, &request(prompt, greedy(20)));
    let (b, _) = run(&engine, &request(prompt, greedy(20)));
    assert_eq!(a, b);

    let hot = |seed| SamplingParams { seed: Some(seed), ..SamplingParams::new(1.5, 100, 1.0, 20, 1.0) };
    let (s1, _) = run(&engine, &request(prompt, hot(7)));
    let (s2, _) = run(&engine, &request(prompt, hot(7)));
    assert_eq!(s1, s2, "same seed, same prompt, same output");
    let others: Vec<String> = (100..104).map(|seed| run(&engine, &request(prompt, hot(seed))).0).collect();
    assert!(others.iter().any(|o| o != &s1), "other seeds at temperature 1.5 change the output");
}

#[test]
fn a_stop_sequence_truncates_the_output_before_it() {
    let engine = engine();
    let prompt = "List five fruits, separated by commas.";
    let req = GenerateRequest { ignore_eos: true, ..request(prompt, greedy(40)) };
    let (full, _) = run(&engine, &req);
    // Stop on a piece of the greedy output's second half: the output must end right before it.
    let chars: Vec<char> = full.chars().collect();
    assert!(chars.len() > 10, "need some output to cut: {full:?}");
    let cut = chars.len() / 2;
    let stop: String = chars[cut..cut + 3].iter().collect();
    let expected_end = full.find(&stop).unwrap();
    let mut params = greedy(40);
    params.stop = vec![stop.clone()];
    let (truncated, stats) = run(&engine, &GenerateRequest { ignore_eos: true, ..request(prompt, params) });
    assert_eq!(stats.finish_reason, FinishReason::StopSequence, "stop {stop:?} in {full:?}");
    assert_eq!(truncated, full[..expected_end]);
    assert!(!truncated.contains(&stop));
}

#[test]
fn cancelling_stops_at_once_and_keeps_what_was_generated() {
    let engine = engine();
    let cancel = AtomicBool::new(false);
    let mut seen = 0;
    let mut text = String::new();
    let req = GenerateRequest { ignore_eos: true, ..request("Tell me a long story.", greedy(500)) };
    let stats = engine
        .generate(&model_path(), &req, &cancel, &mut |t| {
            text.push_str(t);
            seen += 1;
            if seen == 3 {
                cancel.store(true, Ordering::Relaxed);
            }
        })
        .unwrap();
    assert_eq!(stats.finish_reason, FinishReason::Cancelled);
    assert!(stats.output_tokens >= 3 && stats.output_tokens <= 5, "stopped near 3 tokens, got {}", stats.output_tokens);
    assert!(!text.is_empty());
}

#[test]
fn a_prompt_longer_than_the_context_is_refused_with_both_numbers() {
    let engine = Engine::new(EngineConfig { threads: 2, n_ctx: 64, n_batch: 64, ..EngineConfig::default() });
    let long = "word ".repeat(200);
    let never = AtomicBool::new(false);
    let err = engine.generate(&model_path(), &request(&long, greedy(8)), &never, &mut |_| {}).unwrap_err();
    match err {
        EngineError::PromptTooLong { prompt_tokens, n_ctx } => {
            assert!(prompt_tokens > 64);
            assert_eq!(n_ctx, 64);
        }
        other => panic!("expected PromptTooLong, got {other}"),
    }
    // The engine still answers a prompt that fits.
    let (text, _) = run(&engine, &request("Hi", greedy(4)));
    assert!(!text.is_empty());
}

#[test]
fn bad_model_files_fail_cleanly_and_the_engine_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine();
    let never = AtomicBool::new(false);
    let req = request("Hello", greedy(4));

    let missing = dir.path().join("nope.gguf");
    assert!(matches!(engine.generate(&missing, &req, &never, &mut |_| {}), Err(EngineError::ModelMissing { .. })));

    let pdf = dir.path().join("renamed.gguf");
    std::fs::write(&pdf, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n").unwrap();
    let err = engine.generate(&pdf, &req, &never, &mut |_| {}).unwrap_err();
    assert!(matches!(err, EngineError::ModelInvalid { .. }), "{err}");

    // A real model cut short: the header is valid, the tensors are missing.
    let truncated = dir.path().join("truncated.gguf");
    let bytes = std::fs::read(model_path()).unwrap();
    std::fs::write(&truncated, &bytes[..4 << 20]).unwrap();
    let err = engine.generate(&truncated, &req, &never, &mut |_| {}).unwrap_err();
    assert!(matches!(err, EngineError::ModelLoad { .. }), "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");

    let (text, _) = run(&engine, &req);
    assert!(!text.is_empty(), "the real model still works after the failures");
}

#[test]
fn invalid_requests_are_refused_before_any_work() {
    let engine = engine();
    let never = AtomicBool::new(false);
    let err = engine.generate(&model_path(), &request("   ", greedy(4)), &never, &mut |_| {}).unwrap_err();
    assert!(matches!(err, EngineError::EmptyPrompt));
    let mut bad = greedy(4);
    bad.top_p = 3.0;
    let err = engine.generate(&model_path(), &request("hi", bad), &never, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("top_p"), "{err}");
}

#[test]
fn top_k_candidates_give_the_same_tokens_as_the_whole_vocabulary() {
    let fast = engine();
    let full = Engine::new(EngineConfig { threads: 2, sample_full_vocabulary: true, ..EngineConfig::default() });
    let prompt = "Describe a harbour at dawn.";
    for params in [
        greedy(24),
        SamplingParams { seed: Some(3), ..SamplingParams::new(0.9, 40, 0.95, 24, 1.0) },
        SamplingParams { seed: Some(8), min_p: 0.05, ..SamplingParams::new(1.3, 100, 1.0, 24, 1.0) },
    ] {
        let req = GenerateRequest { ignore_eos: true, ..request(prompt, params.clone()) };
        assert_eq!(run(&fast, &req).0, run(&full, &req).0, "{params:?}");
    }
}

#[test]
fn a_json_schema_forces_valid_json_over_many_seeds() {
    let engine = engine();
    let intent = r#"{"type":"string","enum":["VECTOR","GRAPH","HYBRID","MEMORY"]}"#;
    for seed in 0..8 {
        let params = SamplingParams { seed: Some(seed), ..SamplingParams::new(1.0, 40, 0.95, 16, 1.0) };
        let req = GenerateRequest {
            json_schema: Some(intent.into()),
            ..request("Which store answers: who knows whom?", params)
        };
        let (text, stats) = run(&engine, &req);
        let value: String = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("seed {seed}: {text:?}: {e}"));
        assert!(["VECTOR", "GRAPH", "HYBRID", "MEMORY"].contains(&value.as_str()), "seed {seed}: {value}");
        assert_eq!(stats.finish_reason, FinishReason::EndOfText, "the grammar ends the output");
    }

    let object = r#"{"type":"object","properties":{"entities":{"type":"array","items":{"type":"string"}}},"required":["entities"]}"#;
    let params = SamplingParams { seed: Some(1), ..SamplingParams::new(0.7, 40, 0.9, 64, 1.0) };
    let req = GenerateRequest { json_schema: Some(object.into()), ..request("Ada met Charles in London.", params) };
    let (text, stats) = run(&engine, &req);
    if stats.finish_reason == FinishReason::EndOfText {
        let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(value["entities"].is_array(), "{value}");
    } else {
        assert!(text.trim_start().starts_with('{'), "cut at max_tokens but still JSON-shaped: {text:?}");
    }

    let never = AtomicBool::new(false);
    let bad = GenerateRequest { json_schema: Some("{\"type\": 12}".into()), ..request("hi", greedy(4)) };
    let err = engine.generate(&model_path(), &bad, &never, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("json_schema"), "{err}");
}
