//! Conversations, the prompt cache, per-model load settings and resident
//! models, on the real test model.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use switchboard_core::{ChatRole, ChatTurn, ModelLoadSettings, SamplingParams};
use switchboard_engine::{Engine, EngineConfig, EngineError, GenerateRequest};

fn model_path() -> PathBuf {
    switchboard_models::cached_default_model()
}

fn engine(config: EngineConfig) -> Engine {
    Engine::new(EngineConfig { threads: 2, ..config })
}

fn turn(role: ChatRole, content: &str) -> ChatTurn {
    ChatTurn { role, content: content.into() }
}

fn greedy(max_tokens: u32) -> SamplingParams {
    SamplingParams::new(0.0, 40, 1.0, max_tokens, 1.0)
}

fn run(engine: &Engine, path: &Path, req: &GenerateRequest) -> (String, switchboard_core::GenerationStats) {
    let mut text = String::new();
    let stats = engine.generate(path, req, &AtomicBool::new(false), &mut |t| text.push_str(t)).expect("generates");
    (text, stats)
}

fn conversation() -> (GenerateRequest, GenerateRequest) {
    let first = GenerateRequest {
        system_prompt: Some("You are a terse assistant. Answer in one sentence.".into()),
        prompt: "Name a large city in France.".into(),
        params: greedy(16),
        ..Default::default()
    };
    let (text, _) = run(&engine(EngineConfig::default()), &model_path(), &first);
    let second = GenerateRequest {
        history: vec![turn(ChatRole::User, &first.prompt), turn(ChatRole::Assistant, text.trim())],
        prompt: "And one in Italy?".into(),
        ..first.clone()
    };
    (first, second)
}

#[test]
fn a_follow_up_turn_reuses_the_cached_prefix_and_answers_the_same() {
    let (first, second) = conversation();
    let path = model_path();

    // The same engine: the second turn's prompt starts with the first turn's.
    let warm = engine(EngineConfig::default());
    let (_, s1) = run(&warm, &path, &first);
    assert_eq!(s1.cached_input_tokens, 0, "nothing cached before the first request");
    let (warm_text, s2) = run(&warm, &path, &second);
    assert!(
        s2.cached_input_tokens >= s1.input_tokens - 1,
        "the first turn's prompt ({} tokens) was reused, reused {}",
        s1.input_tokens,
        s2.cached_input_tokens
    );
    assert!(s2.cached_input_tokens < s2.input_tokens);

    // A fresh engine processes everything and must say exactly the same.
    let cold = engine(EngineConfig::default());
    let (cold_text, s3) = run(&cold, &path, &second);
    assert_eq!(s3.cached_input_tokens, 0);
    assert_eq!(s3.input_tokens, s2.input_tokens, "same prompt, same token count");
    assert_eq!(warm_text, cold_text, "the prompt cache must not change the answer");
    assert!(!warm_text.trim().is_empty());

    // Asked to, the engine ignores the cache.
    let (_, s4) = run(&warm, &path, &GenerateRequest { no_prompt_cache: true, ..second.clone() });
    assert_eq!(s4.cached_input_tokens, 0);

    // A different conversation shares only the template's opening tokens.
    let other = GenerateRequest { system_prompt: Some("Speak like a pirate.".into()), ..first.clone() };
    let (_, s5) = run(&warm, &path, &other);
    assert!(
        s5.cached_input_tokens < s1.input_tokens / 2,
        "only the shared opening is reused, got {} of {}",
        s5.cached_input_tokens,
        s5.input_tokens
    );
}

#[test]
fn history_reaches_the_model_through_its_chat_template() {
    let path = model_path();
    let e = engine(EngineConfig::default());
    let base = GenerateRequest { prompt: "What is my name?".into(), params: greedy(12), ..Default::default() };
    let (_, alone) = run(&e, &path, &base);
    let with_history = GenerateRequest {
        history: vec![
            turn(ChatRole::User, "My name is Bartholomew."),
            turn(ChatRole::Assistant, "Nice to meet you, Bartholomew."),
        ],
        ..base.clone()
    };
    let (text, stats) = run(&e, &path, &with_history);
    assert!(stats.input_tokens > alone.input_tokens + 10, "the earlier turns are part of the prompt");
    assert!(text.contains("Bartholomew"), "the model answers from the history: {text:?}");
}

#[test]
fn bad_history_is_refused_with_the_turn_named() {
    let e = engine(EngineConfig::default());
    let req = GenerateRequest {
        history: vec![turn(ChatRole::User, "hello"), turn(ChatRole::Assistant, "  ")],
        prompt: "and?".into(),
        params: greedy(4),
        ..Default::default()
    };
    let err = e.generate(&model_path(), &req, &AtomicBool::new(false), &mut |_| {}).unwrap_err();
    assert!(matches!(&err, EngineError::Params(m) if m.contains("turn 2")), "{err}");
}

#[test]
fn load_settings_choose_the_context_window_and_a_too_long_prompt_is_refused() {
    let path = model_path();
    let e = engine(EngineConfig::default());
    let small = ModelLoadSettings { context_length: Some(256), threads: Some(1), gpu_layers: Some(0), parallel: None };
    let (info, _) = e.load_with(&path, &small).unwrap();
    assert_eq!(info.offloaded_layers, 0, "gpu_layers 0 keeps every layer on the CPU");
    assert_eq!(info.total_layers, 19, "Gemma 3 270M has 18 layers plus the output layer");
    let resident = e.resident_models();
    assert_eq!(resident.len(), 1);
    assert_eq!(resident[0].context_length, 256);
    assert_eq!(resident[0].load, small);

    let long = "Please summarise the following. ".repeat(60);
    let req = GenerateRequest { prompt: long.clone(), params: greedy(4), load: small.clone(), ..Default::default() };
    let err = e.generate(&path, &req, &AtomicBool::new(false), &mut |_| {}).unwrap_err();
    assert!(matches!(err, EngineError::PromptTooLong { n_ctx: 256, .. }), "{err}");

    // Other settings load the model again, with its default context (4096 here).
    let req = GenerateRequest { load: ModelLoadSettings::default(), ..req };
    let (_, stats) = run(&e, &path, &req);
    assert!(stats.input_tokens > 256);
    assert!(stats.load_ms > 0.0, "reloaded with the new settings");
    let resident = e.resident_models();
    assert_eq!(resident.len(), 1, "the old instance was replaced, not kept");
    assert_eq!(resident[0].context_length, 4096);

    let bad = ModelLoadSettings { context_length: Some(16), ..Default::default() };
    assert!(e.load_with(&path, &bad).is_err(), "refused before loading");
    let err = e
        .generate(
            &path,
            &GenerateRequest { load: bad, prompt: "hi".into(), ..Default::default() },
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(err.to_string().contains("context length must be 256"), "{err}");
}

#[test]
fn least_recently_used_models_are_unloaded_beyond_the_limit_and_idle_ones_expire() {
    let dir = tempfile::tempdir().unwrap();
    let original = model_path();
    // Three "different" models: the same file under three names.
    let paths: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            let p = dir.path().join(format!("{n}.gguf"));
            std::os::unix::fs::symlink(&original, &p).unwrap();
            p
        })
        .collect();
    let e = engine(EngineConfig { max_resident_models: 2, idle_unload_secs: 5, ..EngineConfig::default() });
    let req = GenerateRequest { prompt: "Hi".into(), params: greedy(2), ..Default::default() };
    let names = |e: &Engine| e.resident_models().into_iter().map(|m| m.path).collect::<Vec<_>>();
    let shown = |p: &Path| p.display().to_string();

    run(&e, &paths[0], &req);
    run(&e, &paths[1], &req);
    assert_eq!(names(&e), [shown(&paths[1]), shown(&paths[0])], "most recently used first");
    let (_, again) = run(&e, &paths[0], &req);
    assert_eq!(again.load_ms, 0.0, "a resident model is not loaded again");
    run(&e, &paths[2], &req);
    assert_eq!(names(&e), [shown(&paths[2]), shown(&paths[0])], "b was least recently used");
    let (_, back) = run(&e, &paths[1], &req);
    assert!(back.load_ms > 0.0, "b had been unloaded");

    assert!(e.unload_idle().is_empty(), "nothing idle yet");
    std::thread::sleep(Duration::from_millis(5_200));
    let gone = e.unload_idle();
    assert_eq!(gone.len(), 2, "both idle models unloaded: {gone:?}");
    assert!(e.resident_models().is_empty());
}
