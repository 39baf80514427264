//! `engine-bench --model PATH [--threads N] [--pp 512] [--tg 128] [--reps 3] [--in-process]`
//!
//! Measures Switchboard's engine the way llama-bench measures llama.cpp:
//! prompt processing of `pp` tokens and generation of `tg` tokens. By default
//! through the whole path the app uses: the supervised worker process
//! (`engine-worker`, next to this binary), every token streamed back over the
//! pipe to this process; `--in-process` calls the engine directly. Prints one
//! JSON object.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use switchboard_core::{EngineRequest, SamplingParams, TextEngine};
use switchboard_engine::{Engine, EngineConfig, WorkerCommand, WorkerEngine};

struct Args {
    model: PathBuf,
    threads: u32,
    pp: u32,
    tg: u32,
    reps: u32,
    in_process: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        model: PathBuf::new(),
        threads: switchboard_engine::default_threads(),
        pp: 512,
        tg: 128,
        reps: 3,
        in_process: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u32>().map_err(|_| format!("{flag}: '{v}' is not a number"));
        match flag.as_str() {
            "--model" => args.model = PathBuf::from(value()?),
            "--threads" => args.threads = number(value()?)?,
            "--pp" => args.pp = number(value()?)?,
            "--tg" => args.tg = number(value()?)?,
            "--reps" => args.reps = number(value()?)?.max(1),
            "--in-process" => args.in_process = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.model.as_os_str().is_empty() {
        return Err("--model is required".into());
    }
    Ok(args)
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn main() {
    let args = parse().unwrap_or_else(|e| {
        eprintln!("engine-bench: {e}");
        std::process::exit(2);
    });
    let config = EngineConfig { threads: args.threads, n_ctx: 4096, n_batch: 512, ..EngineConfig::default() };
    let (info, _) = Engine::new(config.clone()).load(&args.model).unwrap_or_else(|e| {
        eprintln!("engine-bench: {e}");
        std::process::exit(1);
    });
    let engine: Box<dyn TextEngine> = if args.in_process {
        Box::new(Engine::new(config))
    } else {
        let program = std::env::current_exe().expect("own path").with_file_name("engine-worker");
        Box::new(WorkerEngine::new(WorkerCommand { program }, config))
    };
    let never = AtomicBool::new(false);
    let greedy = |max_tokens| SamplingParams::new(0.0, 40, 1.0, max_tokens, 1.0);

    // A prompt of exactly `pp` tokens: BOS plus pp-1 copies of a one-token word.
    let pp_prompt = " the".repeat(args.pp.saturating_sub(1) as usize);
    let pp_req = EngineRequest {
        system_prompt: None,
        prompt: pp_prompt,
        raw_prompt: true,
        params: greedy(1),
        ignore_eos: true,
        json_schema: None,
        priority: Default::default(),
        history: Vec::new(),
        load: Default::default(),
        no_prompt_cache: true,
    };
    let tg_req = EngineRequest {
        system_prompt: None,
        prompt: "Once upon a time".into(),
        raw_prompt: true,
        params: greedy(args.tg),
        ignore_eos: true,
        json_schema: None,
        priority: Default::default(),
        history: Vec::new(),
        load: Default::default(),
        no_prompt_cache: true,
    };

    // Text is handed to the caller token by token (over the pipe for the worker).
    let run = |req: &EngineRequest| {
        let mut received = 0usize;
        let stats = engine.generate(&args.model, req, &never, &mut |t| received += t.len()).expect("generation failed");
        std::hint::black_box(received);
        stats
    };
    // Warm-up, as llama-bench does; for the worker it also starts the process and loads the model.
    let load_ms = run(&tg_req).load_ms;
    let (mut pp, mut tg, mut ttft) = (Vec::new(), Vec::new(), Vec::new());
    let mut pp_tokens = 0;
    for _ in 0..args.reps {
        let s = run(&pp_req);
        pp_tokens = s.input_tokens;
        pp.push(s.prompt_tokens_per_second.unwrap_or(0.0));
        let s = run(&tg_req);
        assert_eq!(s.output_tokens, args.tg, "generated a fixed number of tokens");
        tg.push(s.tokens_per_second.unwrap_or(0.0));
        ttft.push(s.ttft_ms.unwrap_or(0.0));
    }
    let (pp_mean, pp_sd) = mean_sd(&pp);
    let (tg_mean, tg_sd) = mean_sd(&tg);
    let (ttft_mean, _) = mean_sd(&ttft);
    println!(
        "{{\"path\":\"{}\",\"model\":\"{}\",\"threads\":{},\"load_ms\":{load_ms:.1},\"pp_tokens\":{pp_tokens},\"pp_tps\":{pp_mean:.2},\"pp_sd\":{pp_sd:.2},\"tg_tokens\":{},\"tg_tps\":{tg_mean:.2},\"tg_sd\":{tg_sd:.2},\"ttft_ms\":{ttft_mean:.1}}}",
        if args.in_process { "in-process" } else { "worker" },
        info.name,
        args.threads,
        args.tg
    );
}
