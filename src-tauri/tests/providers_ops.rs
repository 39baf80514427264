//! Providers below the UI, against a real SQLite file and a local server
//! speaking OpenAI's wire format: keys are sealed at rest, only masks leave
//! the back end (except the explicit reveal), bad settings are refused with
//! the field named and nothing saved, and the provider's models become
//! assignable to use cases.

use serde::Serialize;
use serde_json::json;
use switchboard_app::ops::{audit, history, models, providers, use_cases};
use switchboard_app::state::{AppState, Paths};
use switchboard_core::{AuditFilter, ErrorCode, ProviderSettings};
use switchboard_gateway::{GenerationEvent, LlmRequest};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "sk-proj-SuperSecretValue0001";
const SECOND: &str = "sk-proj-SecondSecretValue002";
const THIRD: &str = "sk-proj-ThirdSecretValue0003";

async fn state() -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Paths::under(dir.path().join("data"), dir.path().join("cache"))).await.unwrap();
    (state, dir)
}

async fn fake_openai(key: &str) -> MockServer {
    let server = MockServer::start().await;
    let auth = format!("Bearer {key}");
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", auth.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [{"id": "whisper-1"}, {"id": "gpt-4o-mini"}, {"id": "gpt-4o"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", auth.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 1}
        })))
        .mount(&server)
        .await;
    // Any other key: refused, as OpenAI does.
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "Incorrect API key"}})))
        .mount(&server)
        .await;
    server
}

async fn openai(s: &AppState) -> ProviderSettings {
    s.store().provider("openai").await.unwrap().settings
}

fn update(settings: ProviderSettings, new_key: Option<&str>, add: &[&str]) -> providers::ProviderUpdate {
    providers::ProviderUpdate {
        settings,
        new_key: new_key.map(str::to_string),
        add_keys: add.iter().map(|k| k.to_string()).collect(),
        remove_keys: vec![],
    }
}

fn assert_no_secret(what: &str, value: &impl Serialize) {
    let text = serde_json::to_string(value).unwrap();
    for secret in [SECRET, SECOND, THIRD] {
        assert!(!text.contains(secret), "{what} carries a plaintext key");
    }
}

#[tokio::test]
async fn keys_are_sealed_at_rest_and_only_masks_cross_to_the_ui() {
    let (s, dir) = state().await;
    let server = fake_openai(SECRET).await;
    let mut settings = openai(&s).await;
    settings.enabled = true;
    settings.base_url = format!("{}/v1", server.uri());
    settings.allow_http = true;
    settings.monthly_budget_usd = Some(20.0);
    let page = providers::save_all(&s, vec![update(settings.clone(), Some(SECRET), &[SECOND])]).await.unwrap();
    assert_no_secret("save response", &page);
    let view = page.providers.iter().find(|p| p.settings.id == "openai").unwrap();
    assert_eq!(view.keys.iter().map(|k| k.mask.as_str()).collect::<Vec<_>>(), ["sk-...0001", "sk-...e002"]);
    assert_eq!(view.settings.monthly_budget_usd, Some(20.0));

    let report = providers::test_connection(&s, "window", "openai").await.unwrap();
    assert!(report.ok, "{}", report.message);
    let probe = report.report.as_ref().unwrap();
    assert_eq!(probe.model_count, 3);
    // Not the audio model listed first: a chat model the price table knows.
    assert_eq!(probe.completion_model.as_deref(), Some("gpt-4o-mini"));
    assert_no_secret("test report", &report);
    // The token the test asked for is billed, so it is in the ledger.
    let rows = history::recent_requests(&s, 10).await.unwrap();
    let probe_row = rows.iter().find(|r| r.record.use_case == "connection_test").expect("the probe is recorded");
    assert_eq!((probe_row.record.provider.as_str(), probe_row.record.model.as_str()), ("openai", "gpt-4o-mini"));
    assert_eq!(probe_row.record.output_tokens, 1);
    assert_eq!(probe_row.record.caller, "window");
    assert!(probe_row.record.cost_usd > 0.0);

    // The listed models are now assignable, with the provider named.
    let options = models::list(&s).await.unwrap();
    assert!(options.iter().any(|m| m.id == "openai/gpt-4o-mini" && m.provider == "OpenAI"));
    let mut cfg = s.store().use_case("answer_generation").await.unwrap().config();
    cfg.model = "openai/gpt-4o-mini".into();
    use_cases::save(&s, "answer_generation", cfg).await.unwrap();
    let req = LlmRequest {
        request_id: "r1".into(),
        use_case: "answer_generation".into(),
        prompt: "hi".into(),
        model: None,
        params: None,
        priority: Default::default(),
        history: Vec::new(),
    };
    let summary = s.gateway.generate(req, |_: GenerationEvent| {}).await.unwrap();
    assert_eq!(summary.model, "openai/gpt-4o-mini");
    assert_no_secret("generation summary", &summary);
    assert_no_secret("history", &history::recent_requests(&s, 50).await.unwrap());
    assert_no_secret("audit", &audit::list(&s, AuditFilter::default()).await.unwrap());
    assert_no_secret("models", &options);
    assert_no_secret("page", &providers::page(&s).await.unwrap());

    // The one exception: the admin asks to see a key.
    let first = &view.keys[0];
    assert_eq!(providers::reveal_key(&s, "openai", &first.id).await.unwrap(), SECRET);

    // Replacing the first key keeps its row (no moment without a key).
    let page = providers::save_all(&s, vec![update(openai(&s).await, Some(THIRD), &[])]).await.unwrap();
    let keys = &page.providers.iter().find(|p| p.settings.id == "openai").unwrap().keys;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].id, first.id);
    assert_eq!(keys[0].mask, "sk-...0003");
    assert_eq!(providers::reveal_key(&s, "openai", &first.id).await.unwrap(), THIRD);

    // The bytes of the database (and its WAL) never hold a key.
    s.store().close().await;
    let data = dir.path().join("data");
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            for secret in [SECRET, SECOND, THIRD] {
                assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{} holds a key", path.display());
            }
        }
    }
}

#[tokio::test]
async fn bad_settings_are_refused_with_the_field_named_and_nothing_saved() {
    let (s, _dir) = state().await;
    let before = providers::page(&s).await.unwrap();
    let entries_before = audit::list(&s, AuditFilter::default()).await.unwrap().len();
    let base = openai(&s).await;
    let azure = s.store().provider("azure").await.unwrap().settings;

    let mut cases: Vec<(providers::ProviderUpdate, &str)> = Vec::new();
    let mut enabled_without_key = base.clone();
    enabled_without_key.enabled = true;
    cases.push((update(enabled_without_key, None, &[]), "openai.api_key"));
    let mut plain_http = base.clone();
    plain_http.base_url = "http://api.example.com/v1".into();
    cases.push((update(plain_http, Some(SECRET), &[]), "openai.base_url"));
    let mut not_a_url = base.clone();
    not_a_url.base_url = "api.openai.com".into();
    cases.push((update(not_a_url, None, &[]), "openai.base_url"));
    let mut negative = base.clone();
    negative.monthly_budget_usd = Some(-5.0);
    cases.push((update(negative, None, &[]), "openai.monthly_budget_usd"));
    cases.push((update(base.clone(), Some("sk-with space inside-0000"), &[]), "openai.api_key"));
    let mut azure_without_deployment = azure.clone();
    azure_without_deployment.enabled = true;
    azure_without_deployment.base_url = "https://example.openai.azure.com".into();
    cases.push((update(azure_without_deployment, Some(SECRET), &[]), "azure.azure_deployments"));
    let mut kind_change = base.clone();
    kind_change.kind = switchboard_core::ProviderKind::Anthropic;
    cases.push((update(kind_change, None, &[]), "openai.kind"));

    for (u, field) in cases {
        // A valid change to another card in the same save is not written either.
        let mut ok = s.store().provider("ollama").await.unwrap().settings;
        ok.enabled = true;
        let err = providers::save_all(&s, vec![update(ok, None, &[]), u]).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{field}: {}", err.message);
        assert_eq!(err.field.as_deref(), Some(field), "{}", err.message);
    }
    assert_eq!(providers::page(&s).await.unwrap(), before);
    assert_eq!(audit::list(&s, AuditFilter::default()).await.unwrap().len(), entries_before);

    let unknown = ProviderSettings { id: "nope".into(), ..base };
    assert_eq!(providers::save_all(&s, vec![update(unknown, None, &[])]).await.unwrap_err().code, ErrorCode::NotFound);
}

#[tokio::test]
async fn a_refused_key_is_reported_in_words_and_recorded_as_the_status() {
    let (s, _dir) = state().await;
    let server = fake_openai(SECRET).await;
    let mut settings = openai(&s).await;
    settings.enabled = true;
    settings.base_url = format!("{}/v1", server.uri());
    settings.allow_http = true;
    providers::save_all(&s, vec![update(settings, Some(SECOND), &[])]).await.unwrap();
    let report = providers::test_connection(&s, "window", "openai").await.unwrap();
    assert!(!report.ok);
    assert!(report.message.contains("API key was refused"), "{}", report.message);
    assert!(!report.message.contains(SECOND));
    let page = providers::page(&s).await.unwrap();
    let check = &page.providers.iter().find(|p| p.settings.id == "openai").unwrap().check;
    assert_eq!(check.ok, Some(false));
    assert!(check.checked_at.is_some());

    // A disabled provider's models are not offered, and a use case cannot pick them.
    let mut cfg = s.store().use_case("answer_generation").await.unwrap().config();
    cfg.model = "openai/gpt-4o-mini".into();
    let err = use_cases::save(&s, "answer_generation", cfg).await.unwrap_err();
    assert_eq!(err.field.as_deref(), Some("model"));
}

#[tokio::test]
async fn price_files_are_validated_whole_and_imports_take_precedence() {
    let (s, _dir) = state().await;
    for bad in [
        "not json",
        "[]",
        r#"{"m": {"litellm_provider": "openai", "input_cost_per_token": -1, "output_cost_per_token": 0}}"#,
    ] {
        let err = providers::import_prices(&s, "prices.json", bad).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
    }
    assert_eq!(providers::page(&s).await.unwrap().prices.imported_count, 0);
    let file = r#"{"gpt-4o-mini": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}"#;
    let summary = providers::import_prices(&s, "/home/admin/model_prices.json", file).await.unwrap();
    assert_eq!(summary.imported_count, 1);
    assert_eq!(summary.imported_source.as_deref(), Some("model_prices.json"));
    let price = s.store().price("openai", "gpt-4o-mini").await.unwrap().unwrap();
    assert!((price.input_per_mtok - 1.0).abs() < 1e-9, "the import wins over the built-in $0.15");
}

#[tokio::test]
async fn a_cloud_providers_key_is_asked_for_again_when_its_host_changes() {
    let (s, _dir) = state().await;
    let server = fake_openai(SECRET).await;
    let mut settings = openai(&s).await;
    settings.enabled = true;
    settings.base_url = format!("{}/v1", server.uri());
    settings.allow_http = true;
    providers::save_all(&s, vec![update(settings.clone(), Some(SECRET), &[])]).await.unwrap();

    // Same host, another path: no question.
    let mut same_host = openai(&s).await;
    same_host.base_url = format!("{}/v2", server.uri());
    providers::save_all(&s, vec![update(same_host, None, &[])]).await.unwrap();

    // Another host without the key: refused on the key field, nothing saved.
    let mut moved = openai(&s).await;
    moved.base_url = "https://llm-proxy.example.net/v1".into();
    let err = providers::save_all(&s, vec![update(moved.clone(), None, &[])]).await.unwrap_err();
    assert_eq!(err.field.as_deref(), Some("openai.api_key"), "{}", err.message);
    assert!(err.message.contains("llm-proxy.example.net"), "{}", err.message);
    assert_eq!(openai(&s).await.base_url, format!("{}/v2", server.uri()));
    // With the key entered again it is saved.
    providers::save_all(&s, vec![update(moved, Some(SECOND), &[])]).await.unwrap();
    assert_eq!(openai(&s).await.base_url, "https://llm-proxy.example.net/v1");
}

#[tokio::test]
async fn two_instances_of_one_kind_serve_their_own_models_and_one_in_use_cannot_be_removed() {
    let (s, dir) = state().await;
    let first = fake_openai(SECRET).await;
    let second = fake_openai(SECOND).await;
    // A second OpenAI-compatible server and a second OpenAI account, next to the built-ins.
    let page = providers::create(
        &s,
        providers::NewProviderRequest { kind: switchboard_core::ProviderKind::OpenAi, name: "OpenAI (team B)".into() },
    )
    .await
    .unwrap();
    let team_b = page.providers.iter().find(|p| p.settings.display_name == "OpenAI (team B)").unwrap();
    assert_eq!(team_b.settings.id, "openai-team-b");
    assert!(!team_b.settings.enabled, "a new instance starts disabled");
    assert_eq!(page.providers.len(), 8);
    // The same name again gets a numbered id; bad names are refused by field.
    let page = providers::create(
        &s,
        providers::NewProviderRequest { kind: switchboard_core::ProviderKind::OpenAi, name: "OpenAI (team B)".into() },
    )
    .await
    .unwrap();
    assert!(page.providers.iter().any(|p| p.settings.id == "openai-team-b-2"));
    for bad in ["", "  ", "!!", &"x".repeat(81)] {
        let err = providers::create(
            &s,
            providers::NewProviderRequest { kind: switchboard_core::ProviderKind::OpenAi, name: bad.into() },
        )
        .await
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("name"), "{bad:?}: {}", err.message);
    }

    for (id, server, key) in [("openai", &first, SECRET), ("openai-team-b", &second, SECOND)] {
        let mut settings = s.store().provider(id).await.unwrap().settings;
        settings.enabled = true;
        settings.base_url = format!("{}/v1", server.uri());
        settings.allow_http = true;
        providers::save_all(&s, vec![update(settings, Some(key), &[])]).await.unwrap();
        assert!(providers::test_connection(&s, "window", id).await.unwrap().ok);
    }
    // Each instance's models are its own, and requests go to its own server with its own key.
    let mut cfg = s.store().use_case("answer_generation").await.unwrap().config();
    cfg.model = "openai-team-b/gpt-4o".into();
    cfg.fallbacks = vec![switchboard_core::RouteCandidate { model: "openai/gpt-4o-mini".into(), params: None }];
    use_cases::save(&s, "answer_generation", cfg).await.unwrap();
    let req = LlmRequest {
        request_id: "r1".into(),
        use_case: "answer_generation".into(),
        prompt: "hi".into(),
        model: None,
        params: None,
        priority: Default::default(),
        history: Vec::new(),
    };
    let summary = s.gateway.generate(req, |_: GenerationEvent| {}).await.unwrap();
    assert_eq!(summary.model, "openai-team-b/gpt-4o");
    // One token each from the connection tests, then the request on team B's server.
    assert_eq!((chats(&first).await, chats(&second).await), (1, 2));
    let row = &history::recent_requests(&s, 1).await.unwrap()[0];
    assert_eq!((row.record.provider.as_str(), row.record.model.as_str()), ("openai-team-b", "gpt-4o"));
    assert!(row.record.cost_usd > 0.0, "priced with OpenAI's prices: the kind, not the id, picks the table");

    // In a route: cannot be removed. Taken out of the route: removed with its keys, and audited.
    let err = providers::delete(&s, "openai-team-b").await.unwrap_err();
    assert!(err.message.contains("in the route of Answer generation"), "{}", err.message);
    let mut cfg = s.store().use_case("answer_generation").await.unwrap().config();
    cfg.model = "openai/gpt-4o-mini".into();
    cfg.fallbacks.clear();
    use_cases::save(&s, "answer_generation", cfg).await.unwrap();
    let page = providers::delete(&s, "openai-team-b").await.unwrap();
    assert!(!page.providers.iter().any(|p| p.settings.id == "openai-team-b"));
    assert!(s.store().provider_keys("openai-team-b").await.unwrap().is_empty(), "its keys went with it");
    let log = audit::list(&s, AuditFilter::default()).await.unwrap();
    assert!(log.iter().any(|e| e.entity_id == "openai-team-b" && e.action == "delete"));
    assert_eq!(providers::delete(&s, "openai-team-b").await.unwrap_err().code, ErrorCode::NotFound);

    // A removed built-in stays removed after a restart (seeded once, into a fresh database).
    providers::delete(&s, "gemini").await.unwrap();
    s.store().close().await;
    let s = AppState::open(Paths::under(dir.path().join("data"), dir.path().join("cache"))).await.unwrap();
    let ids: Vec<String> = s.store().providers().await.unwrap().into_iter().map(|p| p.settings.id).collect();
    assert!(!ids.contains(&"gemini".to_string()), "{ids:?}");
    assert!(ids.contains(&"openai-team-b-2".to_string()));
}

async fn chats(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().iter().filter(|r| r.url.path().ends_with("/chat/completions")).count()
}

#[tokio::test]
async fn a_group_offers_the_models_its_members_share_and_is_protected_while_used() {
    let (s, _dir) = state().await;
    let one = fake_openai(SECRET).await;
    let two = fake_openai(SECOND).await;
    for (name, server, key) in [("Team A", &one, SECRET), ("Team B", &two, SECOND)] {
        let page = providers::create(
            &s,
            providers::NewProviderRequest { kind: switchboard_core::ProviderKind::OpenAi, name: name.into() },
        )
        .await
        .unwrap();
        let id = page.providers.iter().find(|p| p.settings.display_name == name).unwrap().settings.id.clone();
        let mut settings = s.store().provider(&id).await.unwrap().settings;
        settings.enabled = true;
        settings.base_url = format!("{}/v1", server.uri());
        settings.allow_http = true;
        providers::save_all(&s, vec![update(settings, Some(key), &[])]).await.unwrap();
        assert!(providers::test_connection(&s, "window", &id).await.unwrap().ok);
    }
    let new = |name: &str, members: &[&str]| providers::NewGroupRequest {
        name: name.into(),
        members: members.iter().map(|m| m.to_string()).collect(),
        strategy: switchboard_core::BalanceStrategy::RoundRobin,
    };
    let page = providers::create_group(&s, new("Both teams", &["team-a", "team-b"])).await.unwrap();
    assert_eq!(page.groups[0].id, "both-teams");
    // Bad groups: no members, an unknown member, a name taken by a provider.
    assert_eq!(providers::create_group(&s, new("Empty", &[])).await.unwrap_err().field.as_deref(), Some("members"));
    assert!(providers::create_group(&s, new("Ghost", &["nobody"])).await.unwrap_err().message.contains("no provider"));
    assert!(providers::create_group(&s, new("Team A", &["team-b"]))
        .await
        .unwrap_err()
        .message
        .contains("already exists"));

    let options = models::list(&s).await.unwrap();
    assert!(
        options.iter().any(|m| m.id == "both-teams/gpt-4o-mini" && m.provider == "Both teams"),
        "shared models offered"
    );
    let mut cfg = s.store().use_case("answer_generation").await.unwrap().config();
    cfg.model = "both-teams/gpt-4o-mini".into();
    use_cases::save(&s, "answer_generation", cfg).await.unwrap();
    let req = LlmRequest {
        request_id: "g1".into(),
        use_case: "answer_generation".into(),
        prompt: "hi".into(),
        model: None,
        params: None,
        priority: Default::default(),
        history: Vec::new(),
    };
    s.gateway.generate(req, |_: GenerationEvent| {}).await.unwrap();
    let row = &history::recent_requests(&s, 1).await.unwrap()[0];
    assert!(["team-a", "team-b"].contains(&row.record.provider.as_str()), "{}", row.record.provider);

    assert!(providers::delete(&s, "team-a").await.unwrap_err().message.contains("member of the group Both teams"));
    assert!(providers::delete_group(&s, "both-teams").await.unwrap_err().message.contains("in the route of"));
    let mut cfg = s.store().use_case("answer_generation").await.unwrap().config();
    cfg.model = "team-a/gpt-4o-mini".into();
    use_cases::save(&s, "answer_generation", cfg).await.unwrap();
    assert!(providers::delete_group(&s, "both-teams").await.unwrap().groups.is_empty());
}
