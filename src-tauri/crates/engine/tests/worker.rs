//! llama.cpp in the supervised worker process, on the real test model: the
//! same text as in-process, cancellation across the process boundary, and a
//! worker killed mid-generation (SIGKILL, SIGABRT as from a GGML_ASSERT) fails
//! only the request in flight; the next request gets a fresh worker.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_core::{EngineRequest, ErrorCode, FinishReason, Priority, SamplingParams, TextEngine};
use switchboard_engine::{Engine, EngineConfig, Watchdog, WorkerCommand, WorkerEngine};

fn model_path() -> PathBuf {
    let path = switchboard_models::cached_default_model();
    assert!(path.exists(), "test model missing at {}: run fetch-model first", path.display());
    path
}

fn config() -> EngineConfig {
    EngineConfig { threads: 2, ..EngineConfig::default() }
}

fn worker() -> WorkerEngine {
    WorkerEngine::new(WorkerCommand { program: env!("CARGO_BIN_EXE_engine-worker").into() }, config())
}

fn request(prompt: &str, max_tokens: u32) -> EngineRequest {
    EngineRequest {
        system_prompt: None,
        prompt: prompt.into(),
        params: SamplingParams::new(0.0, 40, 1.0, max_tokens, 1.0),
        json_schema: None,
        raw_prompt: false,
        ignore_eos: false,
        priority: Default::default(),
        ..Default::default()
    }
}

fn run(
    engine: &dyn TextEngine,
    req: &EngineRequest,
) -> Result<(String, switchboard_core::GenerationStats), switchboard_core::AppError> {
    let never = AtomicBool::new(false);
    let mut text = String::new();
    let stats = engine.generate(&model_path(), req, &never, &mut |t| text.push_str(t))?;
    Ok((text, stats))
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

#[test]
fn the_worker_produces_what_the_engine_produces_in_process() {
    let req = request("List three fruits.", 24);
    let (direct, _) = run(&Engine::new(config()), &req).unwrap();
    let w = worker();
    let (via_worker, stats) = run(&w, &req).unwrap();
    assert_eq!(via_worker, direct);
    assert!(stats.output_tokens > 0);
    assert!(w.worker_pid().is_some_and(alive));
    let devices = w.devices().unwrap();
    assert!(devices.iter().any(|d| d.backend == "CPU"), "the worker reports its devices: {devices:?}");
}

#[test]
fn a_worker_killed_mid_generation_fails_that_request_and_the_next_one_works() {
    // SIGABRT is what a GGML_ASSERT raises. (A SIGSEGV sent with kill() is not a
    // fault: Rust's guard-page handler lets the process go on, so it is not a test.)
    for (signal, expect) in [(libc::SIGKILL, "SIGKILL"), (libc::SIGABRT, "SIGABRT")] {
        let w = worker();
        run(&w, &request("Hi", 2)).unwrap();
        let pid = w.worker_pid().unwrap();
        let never = AtomicBool::new(false);
        let mut killed = false;
        let err = w
            .generate(
                &model_path(),
                &request("Write a long story about a lighthouse keeper.", 400),
                &never,
                &mut |_| {
                    if !killed {
                        killed = true;
                        // SAFETY: sends a signal to the worker this test started.
                        unsafe { libc::kill(pid as i32, signal) };
                    }
                },
            )
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::EngineFailed);
        assert!(err.message.contains(expect) && err.message.contains("restarts"), "{}", err.message);
        assert!(!alive(pid) || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z")));

        let (text, _) = run(&w, &request("List three fruits.", 8)).expect("a fresh worker answers");
        assert!(!text.is_empty());
        assert_ne!(w.worker_pid(), Some(pid));
    }
}

#[test]
fn cancelling_crosses_the_process_boundary() {
    let w = worker();
    let cancel = Arc::new(AtomicBool::new(false));
    let mut pieces = 0;
    let started = Instant::now();
    let stats = w
        .generate(&model_path(), &request("Write a long story about a lighthouse keeper.", 400), &cancel, &mut |_| {
            pieces += 1;
            if pieces == 3 {
                cancel.store(true, Ordering::Relaxed);
            }
        })
        .unwrap();
    assert_eq!(stats.finish_reason, FinishReason::Cancelled);
    assert!(stats.output_tokens < 20, "stopped soon after the cancel: {}", stats.output_tokens);
    assert!(started.elapsed() < Duration::from_secs(30));
    // The worker survives a cancel and serves the next request.
    let pid = w.worker_pid().unwrap();
    run(&w, &request("Hi", 2)).unwrap();
    assert_eq!(w.worker_pid(), Some(pid));
}

#[test]
fn the_worker_ends_with_its_owner_and_reports_model_errors_as_errors() {
    let w = worker();
    let err = w
        .generate(
            std::path::Path::new("/nonexistent/model.gguf"),
            &request("Hi", 2),
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ModelMissing, "{}", err.message);
    let pid = w.worker_pid().expect("a refused model does not kill the worker");
    drop(w);
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z")) {
        assert!(Instant::now() < deadline, "the worker outlived its owner");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn waiting_requests_are_served_interactive_first_and_a_cancelled_one_leaves_at_once() {
    // One slot: every request waits for the one generating.
    let w = Arc::new(WorkerEngine::new(
        WorkerCommand { program: env!("CARGO_BIN_EXE_engine-worker").into() },
        EngineConfig { parallel: 1, ..config() },
    ));
    run(w.as_ref(), &request("Hi", 2)).unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::<&'static str>::new()));
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let busy = {
        let w = w.clone();
        std::thread::spawn(move || {
            let mut first = true;
            let mut req = request("Write a long story about a lighthouse keeper.", 60);
            req.ignore_eos = true;
            w.generate(&model_path(), &req, &AtomicBool::new(false), &mut |_| {
                if std::mem::take(&mut first) {
                    started_tx.send(()).unwrap();
                }
            })
            .unwrap()
        })
    };
    started_rx.recv().unwrap();
    let queued = |name: &'static str, priority: Priority, cancel: Arc<AtomicBool>| {
        let (w, order) = (w.clone(), order.clone());
        std::thread::spawn(move || {
            let mut req = request("Hi", 2);
            req.priority = priority;
            let stats = w.generate(&model_path(), &req, &cancel, &mut |_| {}).unwrap();
            if stats.finish_reason != FinishReason::Cancelled {
                order.lock().unwrap().push(name);
            }
            stats
        })
    };
    let wait_for = |n: usize| {
        while w.waiting() < n {
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let background = queued("background", Priority::Background, Arc::default());
    wait_for(1);
    let doomed_flag = Arc::new(AtomicBool::new(false));
    let doomed = queued("doomed", Priority::Background, doomed_flag.clone());
    wait_for(2);
    let interactive = queued("interactive", Priority::Interactive, Arc::default());
    wait_for(3);

    let t = Instant::now();
    doomed_flag.store(true, Ordering::Relaxed);
    let stats = doomed.join().unwrap();
    assert_eq!(stats.finish_reason, FinishReason::Cancelled);
    assert!(t.elapsed() < Duration::from_secs(1), "a waiting request leaves the queue at once");
    assert_eq!(w.waiting(), 2);

    busy.join().unwrap();
    interactive.join().unwrap();
    background.join().unwrap();
    assert_eq!(*order.lock().unwrap(), ["interactive", "background"], "the later interactive request went first");
}

#[test]
fn embeddings_and_resident_models_cross_the_process_boundary_and_idle_models_are_unloaded() {
    let dir = tempfile::tempdir().unwrap();
    let pooled = dir.path().join("pooled.gguf");
    switchboard_models::gguf::copy_with_metadata(
        &model_path(),
        &pooled,
        &[("gemma3.pooling_type", switchboard_models::gguf::NewValue::U32(1))],
    )
    .unwrap();
    // The in-process reference first, so that the worker's two requests below
    // follow each other well inside the idle time-out.
    let texts = vec!["A sunny day at the beach.".to_string(), "Tax law".to_string()];
    let in_process = Engine::new(config()).embed(&pooled, &Default::default(), &texts).unwrap();
    let engine = WorkerEngine::new(
        WorkerCommand { program: env!("CARGO_BIN_EXE_engine-worker").into() },
        EngineConfig { idle_unload_secs: 4, ..config() },
    );
    assert!(engine.resident_models().is_empty(), "no worker yet, nothing resident");
    let out = engine.embed(&pooled, &Default::default(), &texts, Priority::Interactive).unwrap();
    assert_eq!(out.vectors.len(), 2);
    assert_eq!(out.vectors[0].len(), 640);
    let same = out.vectors[0].iter().zip(&in_process.vectors[0]).all(|(a, b)| (a - b).abs() < 1e-5);
    assert!(same, "the worker's vectors are the engine's");

    let err = engine.embed(&model_path(), &Default::default(), &texts, Priority::Interactive).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("not an embedding model"), "{}", err.message);

    let resident = engine.resident_models();
    assert_eq!(resident.len(), 2, "both models in memory: {resident:?}");
    assert_eq!(resident[0].path, model_path().display().to_string(), "most recently used first");
    assert_eq!(resident[0].offloaded_layers, 0, "no GPU here");
    assert_eq!(resident[0].total_layers, 19);

    // Idle for longer than the time-out: the worker unloads them and says so.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !engine.resident_models().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(engine.resident_models().is_empty(), "idle models were unloaded");
    // And load again on demand.
    let (text, _) = run(&engine, &request("Hello", 4)).unwrap();
    assert!(!text.is_empty());
    assert_eq!(engine.resident_models().len(), 1);
}

/// A live process, not a zombie waiting to be reaped.
fn running(pid: u32) -> bool {
    alive(pid) && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z"))
}

#[test]
fn a_worker_started_from_a_thread_that_ends_lives_on_and_keeps_its_model() {
    // The app starts the worker from tokio blocking threads, which end after
    // 10 s idle: the worker must not die with them.
    let w = Arc::new(worker());
    let first = {
        let w = w.clone();
        std::thread::spawn(move || run(w.as_ref(), &request("List three fruits.", 4)).unwrap().1).join().unwrap()
    };
    assert!(first.load_ms > 0.0, "the first request loads the model");
    let pid = w.worker_pid().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(running(pid), "the worker died with the thread that started it");
    assert!(!w.resident_models().is_empty(), "the model stays resident");
    let second = {
        let w = w.clone();
        std::thread::spawn(move || run(w.as_ref(), &request("List three fruits.", 4)).unwrap().1).join().unwrap()
    };
    assert_eq!(w.worker_pid(), Some(pid), "the same worker serves the next request");
    assert_eq!(second.load_ms, 0.0, "the model was still loaded");
}

#[test]
fn a_stuck_worker_is_killed_and_replaced() {
    let w = worker();
    run(&w, &request("Hi", 2)).unwrap();
    w.set_watchdog(Watchdog { stall: Duration::from_secs(2), cancel_grace: Duration::from_secs(60) });
    let pid = w.worker_pid().unwrap();
    let started = Instant::now();
    let mut stopped = false;
    let err = w
        .generate(
            &model_path(),
            &request("Write a long story about a lighthouse keeper.", 400),
            &AtomicBool::new(false),
            &mut |_| {
                if !stopped {
                    stopped = true;
                    // SAFETY: freezes the worker this test started (a hang as a deadlocked driver would cause).
                    unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
                }
            },
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::EngineFailed);
    assert!(
        err.message.contains("the engine stopped responding") && err.message.contains("no progress for 2 s"),
        "{}",
        err.message
    );
    assert!(started.elapsed() < Duration::from_secs(20), "gave up in bounded time: {:?}", started.elapsed());
    assert!(!running(pid), "the stuck worker was killed");
    // The fresh worker loads the model again: on a busy machine that alone can take longer than the test's bound.
    w.set_watchdog(Watchdog::default());
    let (text, _) = run(&w, &request("List three fruits.", 8)).expect("a fresh worker answers");
    assert!(!text.is_empty());
    assert_ne!(w.worker_pid(), Some(pid));
}

#[test]
fn a_worker_that_ignores_a_cancel_is_replaced() {
    let w = worker();
    run(&w, &request("Hi", 2)).unwrap();
    w.set_watchdog(Watchdog { stall: Duration::from_secs(600), cancel_grace: Duration::from_secs(1) });
    let pid = w.worker_pid().unwrap();
    let cancel = AtomicBool::new(false);
    let mut stopped = false;
    let started = Instant::now();
    let err = w
        .generate(&model_path(), &request("Write a long story about a lighthouse keeper.", 400), &cancel, &mut |_| {
            if !stopped {
                stopped = true;
                // SAFETY: freezes the worker this test started, then the request is cancelled.
                unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
                cancel.store(true, Ordering::Relaxed);
            }
        })
        .unwrap_err();
    assert!(
        err.message.contains("the engine stopped responding") && err.message.contains("cancelled"),
        "{}",
        err.message
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(!running(pid));
    run(&w, &request("Hi", 2)).expect("a fresh worker answers");
}

#[test]
fn a_slow_job_that_makes_progress_is_not_mistaken_for_a_stuck_one() {
    // A long prompt takes several batches; with a one-token batch and a stall
    // bound shorter than the whole job, progress reports keep it alive.
    let w = WorkerEngine::new(
        WorkerCommand { program: env!("CARGO_BIN_EXE_engine-worker").into() },
        EngineConfig { n_batch: 1, threads: 1, ..config() },
    );
    // Loaded first: the bound is for the job's own work.
    run(&w, &request("Hi", 2)).unwrap();
    w.set_watchdog(Watchdog { stall: Duration::from_secs(3), cancel_grace: Duration::from_secs(60) });
    let long = "Tell me about the sea. ".repeat(120);
    let started = Instant::now();
    let (_, stats) = run(&w, &request(&long, 64)).expect("a slow job is not killed");
    assert!(started.elapsed() > Duration::from_secs(3), "the job outlasted the stall bound: {:?}", started.elapsed());
    assert!(stats.input_tokens > 600);
}

const OWNER_ENV: &str = "SWITCHBOARD_TEST_WORKER_OWNER";

#[test]
fn killing_the_owner_with_sigkill_ends_its_worker() {
    if std::env::var_os(OWNER_ENV).is_some() {
        // The owner: a worker started from a thread that then ends, then wait to be killed.
        let w = Arc::new(worker());
        let w2 = w.clone();
        std::thread::spawn(move || run(w2.as_ref(), &request("Hi", 2)).unwrap()).join().unwrap();
        println!("WORKER {}", w.worker_pid().unwrap());
        std::thread::sleep(Duration::from_secs(300));
        return;
    }
    use std::io::BufRead;
    let mut owner = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "killing_the_owner_with_sigkill_ends_its_worker", "--nocapture", "--test-threads=1"])
        .env(OWNER_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(owner.stdout.take().unwrap()).lines();
    let pid: u32 = loop {
        let line = lines.next().expect("the owner reports its worker").unwrap();
        // libtest may print "test <name> ... " on the same line first.
        if let Some((_, pid)) = line.split_once("WORKER ") {
            break pid.trim().parse().unwrap();
        }
    };
    std::thread::sleep(Duration::from_millis(1000));
    assert!(running(pid), "the worker lives while its owner does");
    owner.kill().unwrap();
    owner.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(pid) {
        assert!(Instant::now() < deadline, "the worker outlived its owner killed with SIGKILL");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn prompt_tokens_are_counted_by_the_models_tokenizer_once_it_is_in_memory_never_loading_it() {
    let req = request("How many tokens is this prompt, with its chat template?", 4);
    // In process: nothing loaded, nothing counted.
    let direct = Engine::new(config());
    assert_eq!(direct.count_tokens(&model_path(), &req).unwrap(), None);
    let (_, stats) = run(&direct, &req).unwrap();
    assert_eq!(direct.count_tokens(&model_path(), &req).unwrap(), Some(stats.input_tokens));
    // Through the worker: no worker started for a count; then the same figure as the request's own.
    let w = worker();
    assert_eq!(w.count_tokens(&model_path(), &req).unwrap(), None);
    assert!(w.worker_pid().is_none(), "a count does not start a worker");
    let (_, stats) = run(&w, &req).unwrap();
    assert_eq!(w.count_tokens(&model_path(), &req).unwrap(), Some(stats.input_tokens));
    // A longer prompt counts more; another model file (not in memory) is not counted.
    let longer = request(&"How many tokens is this prompt? ".repeat(5), 4);
    assert!(w.count_tokens(&model_path(), &longer).unwrap().unwrap() > stats.input_tokens);
    assert_eq!(w.count_tokens(std::path::Path::new("/nowhere/other.gguf"), &req).unwrap(), None);
}

#[test]
fn a_model_loaded_ahead_serves_its_first_request_without_loading_and_unloads_on_request() {
    let w = worker();
    let path = model_path();
    let load = switchboard_core::ModelLoadSettings::default();
    // Nothing in memory and no worker: unloading starts nothing.
    assert!(!w.unload_model(&path).unwrap());
    assert_eq!(w.worker_pid(), None, "an unload starts no worker");

    let load_ms = w.load_model(&path, &load).unwrap();
    assert!(load_ms > 0.0);
    let resident = w.resident_models();
    assert_eq!(resident.len(), 1, "{resident:?}");
    assert_eq!(resident[0].path, path.display().to_string());
    assert_eq!(w.load_model(&path, &load).unwrap(), 0.0, "already in memory");
    let (_, stats) = run(&w, &request("Hi", 2)).unwrap();
    assert_eq!(stats.load_ms, 0.0, "the first request found it loaded");

    let pid = w.worker_pid();
    assert!(w.unload_model(&path).unwrap());
    assert!(w.resident_models().is_empty());
    assert!(!w.unload_model(&path).unwrap(), "gone already");
    assert_eq!(w.worker_pid(), pid, "the worker stays; only the model left");
    let (_, stats) = run(&w, &request("Hi", 2)).unwrap();
    assert!(stats.load_ms > 0.0, "loaded again for the next request");

    // A file that is not a model: the load fails with the reason, and the worker goes on.
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.gguf");
    std::fs::write(&bogus, b"not a model").unwrap();
    let err = w.load_model(&bogus, &load).unwrap_err();
    assert_eq!(err.code, ErrorCode::ModelLoadFailed, "{err:?}");
    assert!(run(&w, &request("Hi", 2)).is_ok());
}

#[test]
fn an_unload_asked_for_while_the_model_loads_follows_the_load() {
    let w = Arc::new(worker());
    let path = model_path();
    let loading = {
        let (w, path) = (w.clone(), path.clone());
        std::thread::spawn(move || w.load_model(&path, &switchboard_core::ModelLoadSettings::default()))
    };
    // The load holds its turn from before it starts the worker: once the worker
    // runs, the load is under way (or done), and the unload comes after it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.worker_pid().is_none() {
        assert!(Instant::now() < deadline, "the load started no worker");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(w.unload_model(&path).unwrap(), "the model the load brought in left after it");
    assert!(loading.join().unwrap().unwrap() > 0.0);
    assert!(w.resident_models().is_empty(), "{:?}", w.resident_models());
}

#[test]
fn a_worker_that_dies_idle_takes_its_models_with_it_and_an_unload_starts_no_worker() {
    let w = worker();
    let path = model_path();
    w.load_model(&path, &switchboard_core::ModelLoadSettings::default()).unwrap();
    assert_eq!(w.resident_models().len(), 1);
    let pid = w.worker_pid().unwrap();
    // SAFETY: sends a signal to the worker this test started.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !w.resident_models().is_empty() {
        assert!(Instant::now() < deadline, "a dead worker's model is still listed in memory");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!w.unload_model(&path).unwrap(), "nothing was in memory");
    assert_eq!(w.worker_pid(), Some(pid), "no worker started just to unload");
    let (text, _) = run(&w, &request("List three fruits.", 8)).expect("a fresh worker answers");
    assert!(!text.is_empty());
    assert_ne!(w.worker_pid(), Some(pid));
}
