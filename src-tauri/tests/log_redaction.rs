//! The log file never holds a secret: an API key, a bearer token or an e-mail
//! address that a provider echoes back in an error goes through the app's
//! real logging (the same subscriber the app installs) and is masked.

use serde_json::json;
use switchboard_app::ops::providers;
use switchboard_app::state::{AppState, Paths};
use switchboard_gateway::LlmRequest;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-proj-PlantedSecretKey12345";
const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.planted.token";
const EMAIL: &str = "jane.planted@example.com";

#[tokio::test]
async fn secrets_echoed_in_errors_never_reach_the_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::under(dir.path().join("data"), dir.path().join("cache"));
    let log = paths.log_file();
    switchboard_app::logging::init();
    switchboard_app::logging::write_to_file(&log);
    let s = AppState::open(paths).await.unwrap();

    // A provider that refuses, echoing the key, a bearer token and an address.
    let server = MockServer::start().await;
    let echo = format!("Incorrect API key provided: {KEY}. Session Bearer {TOKEN} belongs to {EMAIL}.");
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"message": echo}})))
        .mount(&server)
        .await;
    let mut settings = s.store().provider("openai").await.unwrap().settings;
    settings.enabled = true;
    settings.base_url = format!("{}/v1", server.uri());
    settings.allow_http = true;
    providers::save_all(
        &s,
        vec![providers::ProviderUpdate { settings, new_key: Some(KEY.into()), add_keys: vec![], remove_keys: vec![] }],
    )
    .await
    .unwrap();
    let request = LlmRequest {
        request_id: "leaky".into(),
        use_case: "answer_generation".into(),
        prompt: format!("Write to {EMAIL} with the key {KEY}"),
        model: Some("openai/gpt-4o-mini".into()),
        params: None,
        priority: Default::default(),
        history: Vec::new(),
    };
    let err = s.gateway.generate(request, |_| {}).await.unwrap_err();
    assert!(err.message.contains("Incorrect API key"), "{}", err.message);
    // Anything else a line may carry, straight through the subscriber.
    tracing::warn!(authorization = %format!("Bearer {TOKEN}"), user = EMAIL, "planted {KEY}");

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("request failed") && text.contains("Incorrect API key"), "the failure is logged:\n{text}");
    assert!(text.contains("planted"), "the planted line is logged:\n{text}");
    for secret in [KEY, TOKEN, EMAIL, "PlantedSecretKey", "planted.token"] {
        assert!(!text.contains(secret), "{secret} reached the log file:\n{text}");
    }
    assert!(!text.contains('\u{1b}'), "no colour codes in the file");
}
