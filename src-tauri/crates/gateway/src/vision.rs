//! Vision requests: one image and a prompt in, a description streamed out, on
//! a local model paired with a projector or a provider's vision model.
//! Recorded in the ledger (with image count and image tokens) and in the
//! Vision page's history (the image's path, name and sha256; never its pixels).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use switchboard_core::{
    AppError, Attempt, EngineImage, ErrorCode, FailureClass, FinishReason, GenerationStats, ModelRef, NewRequestRecord,
    RequestStatus, SamplingParams, VisionRequest,
};
use switchboard_images::{ImageLimits, PreparedImage};
use switchboard_providers::{ChatMessage, ChatRequest, ImageInput, Role};
use switchboard_store::queries::vision::VisionDescription;

use crate::remote::Failure;
use crate::route::{local_class, route_error, Answer, Emit, Routed};
use crate::{Gateway, GenerationEvent, Target};

/// The prompt when neither the request nor the use case gives one.
pub const DEFAULT_VISION_PROMPT: &str = "Describe this image.";

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct DescribeRequest {
    /// Chosen by the caller so that it can cancel the request.
    pub request_id: String,
    /// A vision use case (`vision_vlm` by default).
    #[serde(default)]
    pub use_case: Option<String>,
    /// `provider/model`: this model only. The use case's route when absent.
    #[serde(default)]
    pub model: Option<String>,
    /// What to ask about the image; [`DEFAULT_VISION_PROMPT`] when empty.
    #[serde(default)]
    pub prompt: Option<String>,
    /// The image file.
    pub image_path: String,
    #[serde(default)]
    pub params: Option<SamplingParams>,
}

/// An image sent with a request (the HTTP API's base64 or fetched URLs),
/// instead of a file the request names.
#[derive(Debug, Clone)]
pub struct ImageBytes {
    /// What the history and errors call it (`image 1`, a URL's file name).
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What a request from the HTTP API brings beside a [`DescribeRequest`].
#[derive(Debug, Clone, Default)]
pub struct DescribeExtras {
    /// The images themselves, in order; `image_path` is ignored when any are given.
    pub images: Vec<ImageBytes>,
    pub overrides: Option<switchboard_core::ParamOverrides>,
}

/// What the image turned out to be.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ImageFacts {
    pub name: String,
    pub format: String,
    pub width: u32,
    pub height: u32,
    /// The size the model received (after EXIF rotation and downscaling).
    pub sent_width: u32,
    pub sent_height: u32,
    pub sha256: String,
    pub decode_ms: f64,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DescribeSummary {
    pub request_id: String,
    pub ledger_id: String,
    pub description_id: String,
    pub model: String,
    pub status: RequestStatus,
    pub text: String,
    pub stats: GenerationStats,
    pub image: ImageFacts,
    pub image_tokens: u32,
    /// The candidates tried, in order; the last one answered.
    pub route: Vec<Attempt>,
}

impl Gateway {
    /// Describes one image. Once the use case is known and the request id is
    /// fresh, every outcome (a file that is not an image included) leaves one
    /// ledger row; a description that ran is also kept in the history.
    pub async fn describe_image(
        &self,
        req: DescribeRequest,
        on_event: impl Fn(GenerationEvent) + Send + Sync + 'static,
    ) -> Result<DescribeSummary, AppError> {
        self.describe_with(switchboard_core::WINDOW_CALLER, req, DescribeExtras::default(), on_event).await
    }

    /// [`Self::describe_image`] for `caller`, with images given as bytes
    /// (one or more: all go to the model with the prompt) and a request's own parameter values.
    pub async fn describe_with(
        &self,
        caller: &str,
        req: DescribeRequest,
        extras: DescribeExtras,
        on_event: impl Fn(GenerationEvent) + Send + Sync + 'static,
    ) -> Result<DescribeSummary, AppError> {
        // The use case first: a request for an unknown one is refused before it is admitted.
        let use_case = self.use_case(req.use_case.as_deref().unwrap_or("vision_vlm")).await?;
        let (request_id, cancel) = self.admit(&req.request_id)?;
        let started = Instant::now();
        let model_text = req.model.clone().unwrap_or_else(|| use_case.model.clone());
        // A malformed model name is recorded under the name given, then refused.
        let fallback_model = ModelRef::parse(&model_text).unwrap_or_else(|_| ModelRef::local(model_text.clone()));
        let prompt =
            req.prompt.as_deref().map(str::trim).filter(|p| !p.is_empty()).unwrap_or(DEFAULT_VISION_PROMPT).to_string();
        let text = Arc::new(Mutex::new(String::new()));
        let image_count = extras.images.len().max(1) as u32;
        let (routed, facts) = match self.prepare_describe(&use_case, &req, &extras.images).await {
            Err(e) => (Routed::refused(fallback_model, None, e), None),
            Ok(images) => {
                let facts = facts_of(&req, &extras.images, &images[0]);
                let on_event = {
                    let text = text.clone();
                    move |e: GenerationEvent| {
                        if let GenerationEvent::Token { text: t } = &e {
                            text.lock().expect("text lock").push_str(t);
                        }
                        on_event(e)
                    }
                };
                let routed = self
                    .follow(
                        &use_case,
                        req.model.as_deref(),
                        req.params.as_ref(),
                        extras.overrides.as_ref(),
                        fallback_model,
                        &cancel,
                        on_event,
                        |model, target, params, emit| {
                            self.describe_at(&use_case, model, target, params, &prompt, &images, &cancel, emit)
                        },
                    )
                    .await;
                (routed, Some(facts))
            }
        };
        self.running.lock().expect("running lock").remove(&request_id);
        let Routed { model, params, attempts, outcome, failures } = routed;

        let mut record = NewRequestRecord {
            image_count,
            params: params.clone(),
            route: attempts.clone(),
            caller: caller.to_string(),
            ..NewRequestRecord::empty(&use_case.id, &model, started.elapsed().as_secs_f64() * 1000.0)
        };
        match (outcome, facts) {
            (Some(mut done), Some(facts)) => {
                let cut = done.cut.take();
                let status = if cut.is_some() {
                    RequestStatus::Error
                } else if done.stats.finish_reason == FinishReason::Cancelled {
                    RequestStatus::Cancelled
                } else {
                    RequestStatus::Ok
                };
                record = NewRequestRecord {
                    input_tokens: done.stats.input_tokens,
                    output_tokens: done.stats.output_tokens,
                    cached_input_tokens: done.usage.cached_input_tokens,
                    reasoning_tokens: done.usage.reasoning_tokens,
                    cost_usd: done.cost_usd,
                    latency_ms: done.stats.latency_ms,
                    ttft_ms: done.stats.ttft_ms,
                    tokens_per_second: done.stats.tokens_per_second,
                    status,
                    error: match &cut {
                        Some(e) => Some(e.message.clone()),
                        None => {
                            (status == RequestStatus::Cancelled).then(|| "cancelled: stopped by the user".to_string())
                        }
                    },
                    image_tokens: done.image_tokens,
                    provider: done.served_by.clone().unwrap_or(record.provider),
                    local: done.provider.as_ref().is_none_or(|p| !p.kind.is_cloud()),
                    ..record
                };
                if record.local {
                    record.cost_avoided_usd = self
                        .cost_avoided(&use_case, record.input_tokens, record.cached_input_tokens, record.output_tokens)
                        .await;
                }
                let text = text.lock().expect("text lock").clone();
                // The ledger row and the description commit together: no description without its cost.
                let (row, description) = self
                    .store
                    .record_description(&record, |row| VisionDescription {
                        id: uuid::Uuid::new_v4().to_string(),
                        created_at: row.created_at.clone(),
                        use_case: use_case.id.clone(),
                        model: model.to_string(),
                        image_name: facts.name.clone(),
                        image_path: if extras.images.is_empty() { req.image_path.clone() } else { String::new() },
                        image_sha256: facts.sha256.clone(),
                        width: facts.width,
                        height: facts.height,
                        prompt,
                        text: text.clone(),
                        status: status.as_str().to_string(),
                        ledger_id: row.id.clone(),
                    })
                    .await?;
                // The cost is in the ledger now: the reservation can go.
                drop(done.reservation.take());
                self.announce(&use_case, &model, &attempts, &failures, &row.id, status, done.provider.as_ref()).await;
                if let Some(error) = cut {
                    return Err(error);
                }
                Ok(DescribeSummary {
                    request_id,
                    ledger_id: row.id,
                    description_id: description.id,
                    model: model.to_string(),
                    status,
                    text,
                    stats: done.stats,
                    image: facts,
                    image_tokens: done.image_tokens,
                    route: attempts,
                })
            }
            _ => {
                let error = route_error(&failures);
                record.error = Some(error.message.clone());
                match self.store.record(&record).await {
                    Ok(row) => self.announce_failure(&use_case, &failures, &error, &row.id).await,
                    Err(e) => tracing::error!(%e, "could not record a failed vision request"),
                }
                Err(error)
            }
        }
    }

    /// What is wrong with the request wherever it goes, then the images, read
    /// once for every candidate: a file that is not one is refused before any model work.
    async fn prepare_describe(
        &self,
        use_case: &switchboard_core::UseCase,
        req: &DescribeRequest,
        given: &[ImageBytes],
    ) -> Result<Vec<Arc<PreparedImage>>, AppError> {
        if !use_case.enabled {
            return Err(AppError::new(ErrorCode::InvalidInput, format!("the use case '{}' is disabled", use_case.id)));
        }
        if !use_case.vision {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("the use case '{}' is not a vision use case", use_case.id),
            ));
        }
        if let Some(m) = &req.model {
            ModelRef::parse(m)?;
        }
        if !given.is_empty() {
            let given = given.to_vec();
            return tokio::task::spawn_blocking(move || {
                given
                    .iter()
                    .map(|g| {
                        switchboard_images::prepare(&g.bytes, &ImageLimits::default())
                            .map(Arc::new)
                            .map_err(|e| AppError::for_field("image", format!("{}: {e}", g.name)))
                    })
                    .collect()
            })
            .await
            .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
        }
        let path = PathBuf::from(req.image_path.trim());
        let name = image_name(&req.image_path);
        let image = tokio::task::spawn_blocking(move || switchboard_images::load(&path, &ImageLimits::default()))
            .await
            .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?
            .map_err(|e| AppError::for_field("image", format!("{name}: {e}")))?;
        Ok(vec![Arc::new(image)])
    }

    /// One candidate describes the image: a local model with its projector,
    /// or a provider's vision model (the image sent as JPEG).
    #[allow(clippy::too_many_arguments)]
    async fn describe_at(
        &self,
        use_case: &switchboard_core::UseCase,
        model: ModelRef,
        target: Target,
        params: SamplingParams,
        prompt: &str,
        images: &[Arc<PreparedImage>],
        cancel: &Arc<AtomicBool>,
        emit: Emit,
    ) -> Result<Answer, Failure> {
        match target {
            Target::Local { path: model_path, load } => {
                let missing = |message: String| {
                    Failure::skipped(FailureClass::ModelMissing, AppError::new(ErrorCode::ModelMissing, message))
                };
                let entry =
                    self.local_model(&model.model).await.map_err(|e| Failure::skipped(FailureClass::Other, e))?;
                let projector = entry.and_then(|e| e.projector_path).ok_or_else(|| {
                    missing(format!("{model} has no vision projector; pair an mmproj file with it on the Models page"))
                })?;
                if !projector.is_file() {
                    return Err(missing(format!("the vision projector of {model} is gone ({})", projector.display())));
                }
                let engine = self.engine.clone();
                let vreq = VisionRequest {
                    system_prompt: use_case.system_prompt.clone(),
                    prompt: prompt.to_string(),
                    images: images
                        .iter()
                        .map(|i| EngineImage { width: i.width, height: i.height, rgb: i.rgb.clone() })
                        .collect(),
                    params,
                    load,
                    priority: Default::default(),
                    time_encoder: false,
                    ignore_eos: false,
                };
                let cancel = cancel.clone();
                let out = tokio::task::spawn_blocking(move || {
                    let mut emit = emit;
                    engine.describe(&model_path, &projector, &vreq, &cancel, &mut emit)
                })
                .await
                .unwrap_or_else(|e| {
                    Err(AppError::new(ErrorCode::EngineFailed, format!("the engine stopped unexpectedly: {e}")))
                })
                .map_err(|e| Failure::failed(local_class(e.code), e, 1))?;
                Ok(Answer { image_tokens: out.image_tokens, ..Answer::local(out.stats) })
            }
            Target::Remote { provider } => {
                let chat = vision_chat(use_case, &model, params, prompt, images);
                let mut emit = emit;
                let out = self.run_remote(use_case, &provider, chat, cancel.clone(), &mut emit).await?;
                Ok(Answer::remote(out, provider))
            }
            Target::Group { group, members } => {
                let chat = vision_chat(use_case, &model, params, prompt, images);
                let mut emit = emit;
                let (out, member) = self.run_group(use_case, &group, &members, chat, cancel.clone(), &mut emit).await?;
                Ok(Answer::member(out, member))
            }
        }
    }
}

/// The prompt and the image as one user message (the image as JPEG).
fn vision_chat(
    use_case: &switchboard_core::UseCase,
    model: &ModelRef,
    params: SamplingParams,
    prompt: &str,
    images: &[Arc<PreparedImage>],
) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(system) = use_case.system_prompt.clone().filter(|s| !s.trim().is_empty()) {
        messages.push(ChatMessage::system(system));
    }
    let mut user = ChatMessage::new(Role::User, prompt);
    user.images.extend(images.iter().map(|i| jpeg_input(i)));
    messages.push(user);
    ChatRequest { model: model.model.clone(), messages, params, json_schema: None, meter: Default::default() }
}

/// The file name of the image the request names, as its history and errors show it.
fn image_name(path: &str) -> String {
    std::path::Path::new(path.trim()).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn facts_of(req: &DescribeRequest, given: &[ImageBytes], image: &PreparedImage) -> ImageFacts {
    ImageFacts {
        name: given.first().map_or_else(|| image_name(&req.image_path), |g| g.name.clone()),
        format: image.format.to_string(),
        width: image.original_width,
        height: image.original_height,
        sent_width: image.width,
        sent_height: image.height,
        sha256: image.sha256.clone(),
        decode_ms: image.decode_ms + image.resize_ms,
    }
}

fn jpeg_input(image: &PreparedImage) -> ImageInput {
    ImageInput {
        mime_type: "image/jpeg".into(),
        base64: base64::engine::general_purpose::STANDARD.encode(image.jpeg()),
    }
}
