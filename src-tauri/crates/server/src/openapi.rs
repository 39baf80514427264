//! The API described as OpenAPI 3.1, generated from the handlers' own
//! annotations and request types, served at `/openapi.json`.

use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard local API", description = "OpenAI- and Ollama-compatible endpoints and a configuration API over Switchboard's use cases. Every request needs a token (Bearer or x-api-key)."),
    paths(
        crate::openai::chat_completions, crate::openai::completions, crate::openai::embeddings, crate::openai::models, crate::openai::model,
        crate::ollama::chat, crate::ollama::generate, crate::ollama::embed, crate::ollama::tags,
        crate::ollama::show, crate::ollama::ps, crate::ollama::version,
        crate::config::list, crate::config::show, crate::config::update, crate::config::providers,
        crate::config::test_provider, crate::config::costs,
    ),
    components(schemas(
        crate::openai::ChatCompletionRequest, crate::openai::CompletionRequest, crate::openai::EmbeddingRequest,
        crate::ollama::ChatRequest, crate::ollama::GenerateRequest, crate::ollama::EmbedBody, crate::ollama::ShowRequest,
    )),
    modifiers(&TokenAuth),
    tags((name = "openai", description = "OpenAI-compatible"), (name = "ollama", description = "Ollama-compatible"),
         (name = "config", description = "Use cases, providers and costs")),
)]
pub struct ApiDoc;

struct TokenAuth;

impl Modify for TokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("sb-...").build()),
        );
    }
}

/// `GET /openapi.json`.
pub async fn document() -> Response {
    axum::Json(ApiDoc::openapi()).into_response()
}
