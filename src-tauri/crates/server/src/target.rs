//! What a request's `model` names, and the images it carries.
//!
//! `model` is a use case (`answer_generation`, or `use-case/answer_generation`
//! where a namespace is needed; Ollama's `:latest` tag is ignored), which
//! brings its route and parameters, or a concrete model (`local/<id>`,
//! `<provider>/<model>`), which is run alone and recorded under the use case
//! Settings names for concrete models (a vision use case when images come).

use base64::Engine as _;
use switchboard_core::{ModelRef, UseCase};
use switchboard_gateway::ImageBytes;

use crate::error::{ApiError, Dialect};
use crate::ApiState;

/// A resolved `model`.
#[derive(Debug, Clone)]
pub struct Target {
    pub use_case: UseCase,
    /// A concrete model to run instead of the use case's route.
    pub model: Option<String>,
}

/// Resolves `name` for a request that does (`vision`) or does not carry images.
pub async fn resolve(state: &ApiState, name: &str, vision: bool, dialect: Dialect) -> Result<Target, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::field(
            dialect,
            "model",
            "name a use case (answer_generation) or a model (local/<id>, <provider>/<model>)",
        ));
    }
    let (explicit, id) = match name.strip_prefix("use-case/") {
        Some(id) => (true, id),
        None => (false, name),
    };
    let id = id.strip_suffix(":latest").unwrap_or(id);
    if let Some(use_case) = use_case(state, id, dialect).await? {
        return Ok(Target { use_case, model: None });
    }
    if explicit || !name.contains('/') {
        return Err(unknown(dialect, name));
    }
    ModelRef::parse(name).map_err(|e| ApiError::field(dialect, "model", e.message))?;
    let default = if vision {
        // The first enabled vision use case records a concrete model's image requests.
        let all = state.app.store().use_cases().await.map_err(|e| ApiError::from_app(dialect, e.into()))?;
        all.into_iter().find(|u| u.vision && u.enabled).map(|u| u.id).unwrap_or_else(|| "vision_vlm".into())
    } else {
        state.settings.default_use_case.clone()
    };
    let use_case = use_case(state, &default, dialect).await?.ok_or_else(|| {
        ApiError::field(
            dialect,
            "model",
            format!("requests for a concrete model are recorded under the use case '{default}', which does not exist; choose another in Settings"),
        )
    })?;
    Ok(Target { use_case, model: Some(name.to_string()) })
}

async fn use_case(state: &ApiState, id: &str, dialect: Dialect) -> Result<Option<UseCase>, ApiError> {
    match state.app.store().use_case(id).await {
        Ok(u) => Ok(Some(u)),
        Err(switchboard_store::StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(ApiError::from_app(dialect, e.into())),
    }
}

pub fn unknown(dialect: Dialect, name: &str) -> ApiError {
    let listing = if dialect == Dialect::Ollama { "GET /api/tags" } else { "GET /v1/models" };
    ApiError::new(
        dialect,
        axum::http::StatusCode::NOT_FOUND,
        switchboard_core::ErrorCode::NotFound,
        format!("no use case or model named '{name}'; {listing} lists them"),
    )
}

/// An image as a request gives it: a data URL, plain base64 (Ollama), or an
/// http(s) URL. Fetched images share one allowance per request, the body
/// limit (`fetched` counts what this request has fetched so far), so that a
/// request naming many URLs cannot make the server hold more than one body's worth.
pub async fn image(
    state: &ApiState,
    given: &str,
    index: usize,
    dialect: Dialect,
    fetched: &mut usize,
) -> Result<ImageBytes, ApiError> {
    let name = format!("image {}", index + 1);
    let given = given.trim();
    let bad = |why: String| ApiError::field(dialect, "images", format!("{name}: {why}"));
    if given.starts_with("http://") || given.starts_with("https://") {
        if !state.settings.fetch_image_urls {
            return Err(bad("image URLs are not fetched (Settings can allow it); send the image as a data URL".into()));
        }
        let mib = state.settings.max_body_mib;
        let room = (mib as usize * 1024 * 1024).saturating_sub(*fetched);
        let too_large = || {
            if *fetched == 0 {
                bad(format!("it is larger than {mib} MiB"))
            } else {
                bad(format!("the images this request fetches come to more than {mib} MiB together"))
            }
        };
        let response = state.http.get(given).send().await.map_err(|e| bad(format!("could not fetch it: {e}")))?;
        if !response.status().is_success() {
            return Err(bad(format!("fetching it answered {}", response.status())));
        }
        if response.content_length().is_some_and(|n| n as usize > room) {
            return Err(too_large());
        }
        let url_name = given.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or(&name).to_string();
        // Read chunk by chunk under the cap: a server that sends no length cannot fill the memory.
        let mut response = response;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| bad(format!("could not fetch it: {e}")))? {
            if bytes.len() + chunk.len() > room {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        *fetched += bytes.len();
        return Ok(ImageBytes { name: url_name, bytes });
    }
    let data = match given.strip_prefix("data:") {
        Some(rest) => {
            let (meta, data) =
                rest.split_once(',').ok_or_else(|| bad("a data URL needs a ',' before its data".into()))?;
            if !meta.ends_with(";base64") {
                return Err(bad("only base64 data URLs are accepted (data:image/png;base64,...)".into()));
            }
            data
        }
        None => given,
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| bad(format!("not valid base64 ({e})")))?;
    Ok(ImageBytes { name, bytes })
}

/// Checks the number of images against the limit.
pub fn check_image_count(state: &ApiState, n: usize, dialect: Dialect) -> Result<(), ApiError> {
    let max = state.settings.max_images as usize;
    if n > max {
        return Err(ApiError::field(
            dialect,
            "images",
            format!("{n} images; at most {max} per request (the limit set in Settings)"),
        ));
    }
    Ok(())
}
