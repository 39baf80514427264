//! `vision-bench --model PATH --projector PATH --image PATH [--threads N] [--tg 64] [--reps 3]`
//!
//! Measures the vision path the way the app runs it: image preprocessing
//! (decode, EXIF orientation, RGB, downscale) in this process, then through
//! the supervised engine worker (`engine-worker`, next to this binary): the
//! image encoder alone (timed on its own), the whole image prompt into the
//! model, and generation of `tg` tokens streamed back. Prints one JSON object
//! with the median of `reps` runs.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use switchboard_core::{EngineImage, SamplingParams, TextEngine, VisionRequest};
use switchboard_engine::{EngineConfig, WorkerCommand, WorkerEngine};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() {
    let mut model = PathBuf::new();
    let mut projector = PathBuf::new();
    let mut image = PathBuf::new();
    let (mut threads, mut tg, mut reps) = (switchboard_engine::default_threads(), 64u32, 3u32);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        let number = || value.parse::<u32>().unwrap_or_else(|_| fail(&format!("{flag}: '{value}' is not a number")));
        match flag.as_str() {
            "--model" => model = value.clone().into(),
            "--projector" => projector = value.clone().into(),
            "--image" => image = value.clone().into(),
            "--threads" => threads = number(),
            "--tg" => tg = number(),
            "--reps" => reps = number().max(1),
            other => fail(&format!("unknown argument {other}")),
        }
    }
    if model.as_os_str().is_empty() || projector.as_os_str().is_empty() || image.as_os_str().is_empty() {
        fail("--model, --projector and --image are required");
    }
    let program = std::env::current_exe().expect("own path").with_file_name("engine-worker");
    let engine = WorkerEngine::new(WorkerCommand { program }, EngineConfig { threads, ..EngineConfig::default() });
    let limits = switchboard_images::ImageLimits::default();
    let never = AtomicBool::new(false);
    let mut params = SamplingParams::new(0.0, 40, 1.0, tg, 1.0);
    params.seed = Some(1);

    let (mut pre, mut enc, mut prompt, mut gen, mut ttft) = (vec![], vec![], vec![], vec![], vec![]);
    let mut sizes = (0, 0, 0, 0, 0u32);
    for rep in 0..=reps {
        let started = Instant::now();
        let img = switchboard_images::load(&image, &limits).unwrap_or_else(|e| fail(&e.to_string()));
        let pre_ms = started.elapsed().as_secs_f64() * 1000.0;
        sizes = (img.original_width, img.original_height, img.width, img.height, 0);
        let req = VisionRequest {
            prompt: "Describe this image.".into(),
            images: vec![EngineImage { width: img.width, height: img.height, rgb: img.rgb }],
            params: params.clone(),
            time_encoder: true,
            ignore_eos: true,
            ..Default::default()
        };
        let out = engine
            .describe(&model, &projector, &req, &never, &mut |t| {
                std::hint::black_box(t);
            })
            .unwrap_or_else(|e| fail(&e.message));
        sizes.4 = out.image_tokens;
        if rep == 0 {
            continue; // warm-up: starts the worker, loads the model and projector
        }
        pre.push(pre_ms);
        enc.push(out.encode_ms.unwrap_or(0.0));
        prompt.push(out.prompt_ms);
        gen.push(out.stats.tokens_per_second.unwrap_or(0.0));
        ttft.push(out.stats.ttft_ms.unwrap_or(0.0));
    }
    println!(
        "{}",
        serde_json::json!({
            "image": image.display().to_string(),
            "image_size": [sizes.0, sizes.1],
            "sent_size": [sizes.2, sizes.3],
            "image_tokens": sizes.4,
            "threads": threads,
            "tg": tg,
            "reps": reps,
            "preprocess_ms": median(pre),
            "encode_ms": median(enc),
            "prompt_ms": median(prompt),
            "tg_tps": median(gen),
            "ttft_ms": median(ttft),
        })
    );
}

fn fail(message: &str) -> ! {
    eprintln!("vision-bench: {message}");
    std::process::exit(2);
}
