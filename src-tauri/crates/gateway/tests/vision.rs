//! Vision requests through the gateway with the real engine: the test model
//! paired with a generated projector, real photos, the ledger and the
//! description history; a file that is not an image and a model without a
//! projector are refused and recorded.

use std::sync::{Arc, Mutex};

use switchboard_core::{ErrorCode, RequestStatus};
use switchboard_engine::{Engine, EngineConfig};
use switchboard_gateway::{DescribeRequest, Gateway, GenerationEvent, Vault};
use switchboard_secrets::{KeyStorage, MasterKey};
use switchboard_store::queries::local_models::{self, LocalModelRow};
use switchboard_store::queries::{requests, vision};
use switchboard_store::Store;

const MODEL_ID: &str = "gemma-3-270m-q4_k_m";

async fn gateway(dir: &std::path::Path, paired: bool) -> Gateway {
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    let model = models.join(format!("{MODEL_ID}.gguf"));
    if std::fs::hard_link(switchboard_models::cached_default_model(), &model).is_err() {
        std::fs::copy(switchboard_models::cached_default_model(), &model).unwrap();
    }
    let store = Store::open(&dir.join("switchboard.db")).await.unwrap();
    store.seed_builtin_use_cases("tester").await.unwrap();
    if paired {
        let projector = models.join("mmproj-test.gguf");
        switchboard_models::projector::write_test_projector(&projector, 640, 3).unwrap();
        let row = LocalModelRow {
            id: MODEL_ID.into(),
            path: model.display().to_string(),
            referenced: false,
            projector_path: Some(projector.display().to_string()),
            load: Default::default(),
            added_at: "2026-11-30T00:00:00.000Z".into(),
        };
        local_models::upsert(store.pool(), &row, "now").await.unwrap();
    }
    let engine = Arc::new(Engine::new(EngineConfig { threads: 2, ..EngineConfig::default() }));
    Gateway::new(store, engine, models, Vault::new(Ok((MasterKey::random().unwrap(), KeyStorage::Keyring))))
}

fn photo(name: &str) -> String {
    switchboard_models::test_images_dir().join(name).display().to_string()
}

fn describe(id: &str, path: String) -> DescribeRequest {
    DescribeRequest {
        request_id: id.into(),
        use_case: None,
        model: None,
        prompt: Some("What is in this picture?".into()),
        image_path: path,
        params: Some(switchboard_core::SamplingParams::new(0.0, 40, 1.0, 12, 1.0)),
    }
}

#[tokio::test]
async fn a_photo_is_described_streamed_recorded_and_kept_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let g = gateway(dir.path(), true).await;
    let streamed = Arc::new(Mutex::new(String::new()));
    let sink = streamed.clone();
    let summary = g
        .describe_image(describe("v1", photo("coffee.png")), move |e| {
            if let GenerationEvent::Token { text } = e {
                sink.lock().unwrap().push_str(&text);
            }
        })
        .await
        .unwrap();
    assert_eq!(summary.status, RequestStatus::Ok);
    assert_eq!(summary.text, *streamed.lock().unwrap(), "what streamed is what was kept");
    assert!(!summary.text.is_empty());
    assert_eq!(summary.image_tokens, 16);
    assert_eq!((summary.image.width, summary.image.height, summary.image.format.as_str()), (600, 400, "PNG"));
    assert_eq!(summary.model, format!("local/{MODEL_ID}"));

    let ledger = requests::recent(g.store().pool(), 5).await.unwrap();
    assert_eq!(ledger.len(), 1);
    let row = &ledger[0].record;
    assert_eq!((row.use_case.as_str(), row.image_count, row.image_tokens), ("vision_vlm", 1, 16));
    assert!(row.input_tokens > 16 && row.output_tokens >= 1);
    assert_eq!(ledger[0].id, summary.ledger_id);

    let history = vision::recent(g.store().pool(), 5).await.unwrap();
    assert_eq!(history.len(), 1);
    let h = &history[0];
    assert_eq!(h.image_name, "coffee.png");
    assert_eq!(h.image_sha256, "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7");
    assert_eq!(h.text, summary.text);
    assert_eq!(h.prompt, "What is in this picture?");
    assert_eq!(h.ledger_id, summary.ledger_id);

    // The database holds the image's hash and path, not its pixels.
    let db = std::fs::read(dir.path().join("switchboard.db")).unwrap();
    let png = std::fs::read(photo("coffee.png")).unwrap();
    assert!(!db.windows(64).any(|w| w == &png[1000..1064]), "image bytes are not copied into SQLite");
}

#[tokio::test]
async fn bad_images_and_models_without_a_projector_are_refused_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let g = gateway(dir.path(), true).await;
    let fake = dir.path().join("scan.png");
    std::fs::write(&fake, b"%PDF-1.4 a scanned contract").unwrap();
    let err = g.describe_image(describe("b1", fake.display().to_string()), |_| {}).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert_eq!(err.field.as_deref(), Some("image"));
    assert!(err.message.contains("scan.png") && err.message.contains("PDF"), "{}", err.message);
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let err = g.describe_image(describe("b2", empty.display().to_string()), |_| {}).await.unwrap_err();
    assert!(err.message.contains("empty"), "{}", err.message);
    let ledger = requests::recent(g.store().pool(), 5).await.unwrap();
    assert_eq!(ledger.len(), 2, "refusals are recorded");
    assert!(ledger.iter().all(|r| r.record.status == RequestStatus::Error && r.record.image_count == 1));
    assert!(vision::recent(g.store().pool(), 5).await.unwrap().is_empty(), "no history for refused files");

    // A non-vision use case is refused; so is a model with no projector.
    let mut wrong = describe("b3", photo("chelsea.png"));
    wrong.use_case = Some("answer_generation".into());
    let err = g.describe_image(wrong, |_| {}).await.unwrap_err();
    assert!(err.message.contains("not a vision use case"), "{}", err.message);

    let plain = tempfile::tempdir().unwrap();
    let g2 = gateway(plain.path(), false).await;
    let err = g2.describe_image(describe("b4", photo("chelsea.png")), |_| {}).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ModelMissing);
    assert!(err.message.contains("no vision projector"), "{}", err.message);
}
