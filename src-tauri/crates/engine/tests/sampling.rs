//! Each sampling parameter changes what the engine does, on the real model:
//! a parameter that never reached llama.cpp would leave the output unchanged.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use switchboard_core::SamplingParams;
use switchboard_engine::{Engine, EngineConfig, GenerateRequest};

fn model_path() -> PathBuf {
    let path = switchboard_models::cached_default_model();
    assert!(path.exists(), "test model missing at {}: run fetch-model first", path.display());
    path
}

const PROMPT: &str = "Write a short poem about the sea.";

fn run(engine: &Engine, params: SamplingParams, ignore_eos: bool) -> (String, u32) {
    let req = GenerateRequest {
        system_prompt: None,
        prompt: PROMPT.into(),
        raw_prompt: false,
        params,
        ignore_eos,
        json_schema: None,
        ..Default::default()
    };
    let mut text = String::new();
    let stats = engine.generate(&model_path(), &req, &AtomicBool::new(false), &mut |t| text.push_str(t)).unwrap();
    (text, stats.output_tokens)
}

fn params(temperature: f32, seed: u32) -> SamplingParams {
    let mut p = SamplingParams::new(temperature, 100, 1.0, 32, 1.0);
    p.seed = Some(seed);
    p
}

#[test]
fn every_sampling_parameter_reaches_the_model() {
    let engine = Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() });
    let (greedy, _) = run(&engine, params(0.0, 1), false);

    // Temperature: greedy ignores the seed; a high temperature follows it.
    assert_eq!(run(&engine, params(0.0, 2), false).0, greedy);
    let hot: HashSet<String> = (1..=4).map(|seed| run(&engine, params(1.5, seed), false).0).collect();
    assert!(hot.len() > 1, "temperature 1.5 with different seeds gave one text");
    assert!(hot.iter().any(|t| *t != greedy));

    // Top-k 1, top-p near 0 and min-p 1 each leave only the most likely token: greedy again, at any temperature.
    let mut top_k = params(1.5, 3);
    top_k.top_k = 1;
    assert_eq!(run(&engine, top_k, false).0, greedy, "top_k");
    let mut top_p = params(1.5, 3);
    top_p.top_p = 0.0001;
    assert_eq!(run(&engine, top_p, false).0, greedy, "top_p");
    let mut min_p = params(1.5, 3);
    min_p.min_p = 1.0;
    assert_eq!(run(&engine, min_p, false).0, greedy, "min_p");

    // Penalties change the greedy path.
    let mut repeat = params(0.0, 1);
    repeat.repeat_penalty = 2.0;
    assert_ne!(run(&engine, repeat, false).0, greedy, "repeat_penalty");
    let mut presence = params(0.0, 1);
    presence.presence_penalty = 2.0;
    assert_ne!(run(&engine, presence, false).0, greedy, "presence_penalty");
    let mut frequency = params(0.0, 1);
    frequency.frequency_penalty = 2.0;
    assert_ne!(run(&engine, frequency, false).0, greedy, "frequency_penalty");

    // Max tokens: exactly that many when end-of-generation is ignored, never more otherwise.
    let mut short = params(0.0, 1);
    short.max_tokens = 7;
    assert_eq!(run(&engine, short.clone(), true).1, 7);
    assert!(run(&engine, short, false).1 <= 7);
}

#[test]
fn a_repeat_penalty_makes_repetition_rarer() {
    let engine = Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() });
    let distinct_share = |penalty: f32| {
        let mut p = params(0.0, 1);
        p.max_tokens = 48;
        p.repeat_penalty = penalty;
        let (text, _) = run(&engine, p, true);
        let words: Vec<&str> = text.split_whitespace().collect();
        words.iter().collect::<HashSet<_>>().len() as f64 / words.len().max(1) as f64
    };
    let plain = distinct_share(1.0);
    let penalised = distinct_share(1.8);
    assert!(penalised > plain, "distinct-word share {penalised:.2} with the penalty vs {plain:.2} without");
}
