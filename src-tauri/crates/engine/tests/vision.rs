//! The vision path for real: sample photos -> decode and downscale ->
//! llama.cpp's multimodal library with a generated (random-weight) projector
//! paired with the test text model -> streamed text. The text is noise; the
//! path, the token counts and the batch sizing are what is tested.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use switchboard_core::{EngineImage, SamplingParams, TextEngine, VisionRequest};
use switchboard_engine::{Engine, EngineConfig, EngineError, WorkerCommand, WorkerEngine};
use switchboard_images::ImageLimits;

fn model() -> PathBuf {
    switchboard_models::cached_default_model()
}

fn projector(dir: &Path, width: u32) -> PathBuf {
    let path = dir.join(format!("mmproj-test-{width}.gguf"));
    switchboard_models::projector::write_test_projector(&path, width, 1).unwrap();
    path
}

fn photo(name: &str) -> EngineImage {
    let path = switchboard_models::test_images_dir().join(name);
    let img = switchboard_images::load(&path, &ImageLimits::default())
        .unwrap_or_else(|e| panic!("{}: {e} (run fetch-test-images)", path.display()));
    EngineImage { width: img.width, height: img.height, rgb: img.rgb }
}

fn request(images: Vec<EngineImage>, max_tokens: u32) -> VisionRequest {
    VisionRequest {
        prompt: "Describe this image.".into(),
        images,
        params: SamplingParams::new(0.0, 40, 1.0, max_tokens, 1.0),
        ..Default::default()
    }
}

fn run(
    engine: &Engine,
    projector: &Path,
    req: &VisionRequest,
) -> Result<(Vec<String>, switchboard_core::VisionStats), EngineError> {
    let mut pieces = Vec::new();
    let stats =
        engine.describe(&model(), projector, req, &AtomicBool::new(false), &mut |t| pieces.push(t.to_string()))?;
    Ok((pieces, stats))
}

#[test]
fn a_photo_is_described_through_the_projector_and_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let mmproj = projector(dir.path(), 640);
    let engine = Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() });
    let (pieces, stats) = run(&engine, &mmproj, &request(vec![photo("chelsea.png")], 12)).unwrap();
    assert_eq!(stats.image_count, 1);
    assert_eq!(stats.image_tokens, 16, "224/14 = 16 patches a side, pooled 4x4: 16 image tokens");
    assert!(stats.stats.input_tokens > 16, "image tokens plus the text around them");
    assert!(stats.stats.output_tokens >= 1);
    assert!(!pieces.is_empty(), "text streamed piece by piece");
    assert!(stats.prompt_ms > 0.0);
    assert!(stats.stats.ttft_ms.is_some());

    // Greedy is deterministic through the image path too.
    let (again, _) = run(&engine, &mmproj, &request(vec![photo("chelsea.png")], 12)).unwrap();
    assert_eq!(again.concat(), pieces.concat());
    // A different image gives a different prompt, hence (almost surely) other text.
    let (rocket, _) = run(&engine, &mmproj, &request(vec![photo("rocket.jpg")], 12)).unwrap();
    assert_ne!(rocket.concat(), pieces.concat(), "the image reaches the model");

    // Two images: twice the image tokens.
    let (_, two) = run(&engine, &mmproj, &request(vec![photo("coffee.png"), photo("astronaut.png")], 4)).unwrap();
    assert_eq!(two.image_count, 2);
    assert_eq!(two.image_tokens, 32);
}

#[test]
fn the_batch_is_sized_to_hold_an_image_whole() {
    // Gemma 3's projector decodes its image tokens with non-causal attention,
    // which needs a whole image in one micro-batch (llama.cpp asserts
    // n_ubatch >= n_tokens). A configured batch of 8 (< 16 image tokens) is
    // enlarged for the image prompt: no abort, and the same answer as with a
    // large batch.
    let dir = tempfile::tempdir().unwrap();
    let mmproj = projector(dir.path(), 640);
    let small = Engine::new(EngineConfig { threads: 2, n_batch: 8, ..EngineConfig::default() });
    let large = Engine::new(EngineConfig { threads: 2, n_batch: 512, ..EngineConfig::default() });
    let req = request(vec![photo("astronaut.png")], 16);
    let (a, stats) = run(&small, &mmproj, &req).unwrap();
    let (b, _) = run(&large, &mmproj, &req).unwrap();
    assert_eq!(stats.image_tokens, 16);
    assert_eq!(a.concat(), b.concat(), "the image was decoded whole with a configured batch of 8");
}

#[test]
fn a_projector_for_another_model_or_a_bad_file_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() });
    let wrong = projector(dir.path(), 512);
    let err = run(&engine, &wrong, &request(vec![photo("chelsea.png")], 4)).unwrap_err();
    assert!(matches!(err, EngineError::Projector { .. }), "{err}");
    assert!(err.to_string().contains("width must match"), "{err}");

    let not_gguf = dir.path().join("mmproj-fake.gguf");
    std::fs::write(&not_gguf, b"<html>not a projector</html>").unwrap();
    let err = run(&engine, &not_gguf, &request(vec![photo("chelsea.png")], 4)).unwrap_err();
    assert!(matches!(err, EngineError::ModelInvalid { .. }), "{err}");

    let good = projector(dir.path(), 640);
    let bad_pixels = EngineImage { width: 10, height: 10, rgb: vec![0; 7] };
    let err = run(&engine, &good, &request(vec![bad_pixels], 4)).unwrap_err();
    assert!(err.to_string().contains("not 10x10 RGB"), "{err}");
    let err = run(&engine, &good, &request(vec![], 4)).unwrap_err();
    assert!(err.to_string().contains("at least one image"), "{err}");
    // The engine still works after the refusals.
    assert!(run(&engine, &good, &request(vec![photo("coffee.png")], 2)).is_ok());
}

#[test]
fn the_worker_describes_what_the_engine_describes_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let mmproj = projector(dir.path(), 640);
    let config = EngineConfig { threads: 2, ..EngineConfig::default() };
    let (in_process, _) = run(&Engine::new(config.clone()), &mmproj, &request(vec![photo("text.png")], 10)).unwrap();
    let worker = WorkerEngine::new(WorkerCommand { program: env!("CARGO_BIN_EXE_engine-worker").into() }, config);
    let mut text = String::new();
    let stats = worker
        .describe(&model(), &mmproj, &request(vec![photo("text.png")], 10), &AtomicBool::new(false), &mut |t| {
            text.push_str(t)
        })
        .unwrap();
    assert_eq!(text, in_process.concat(), "the image crosses the process boundary intact");
    assert_eq!(stats.image_tokens, 16);
}
