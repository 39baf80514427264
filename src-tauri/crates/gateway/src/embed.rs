//! Embeddings: texts in, one vector per text out, from a local embedding model,
//! recorded in the ledger like every other request.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use switchboard_core::{AppError, ErrorCode, ModelRef, NewRequestRecord, Priority, RequestStatus};

use crate::Gateway;

/// The most texts one embedding request may carry.
pub const MAX_EMBED_INPUTS: usize = 256;

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct EmbedRequest {
    pub use_case: String,
    /// `local/<id>`; the use case's model when absent.
    #[serde(default)]
    pub model: Option<String>,
    pub inputs: Vec<String>,
    #[serde(default)]
    pub priority: Priority,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct EmbedResponse {
    pub ledger_id: String,
    pub model: String,
    /// One L2-normalised vector per input, in order.
    pub vectors: Vec<Vec<f32>>,
    pub dimensions: u32,
    pub input_tokens: u32,
    pub latency_ms: f64,
    /// The model's pooling (`mean`, `cls`, `last`).
    pub pooling: String,
}

impl Gateway {
    /// Embeds `req.inputs` with the use case's (or the request's) local model.
    /// Once the use case is known, every outcome leaves one ledger row.
    pub async fn embed(&self, req: EmbedRequest) -> Result<EmbedResponse, AppError> {
        self.embed_as(switchboard_core::WINDOW_CALLER, req).await
    }

    /// [`Self::embed`] for `caller`, whom the ledger names.
    pub async fn embed_as(&self, caller: &str, req: EmbedRequest) -> Result<EmbedResponse, AppError> {
        let use_case = self.use_case(&req.use_case).await?;
        let started = Instant::now();
        let model_text = req.model.clone().unwrap_or_else(|| use_case.model.clone());
        // A malformed model name is recorded under the name given, then refused.
        let parsed = ModelRef::parse(&model_text);
        let model = parsed.clone().unwrap_or_else(|_| ModelRef::local(model_text.clone()));
        let outcome = match parsed {
            Ok(_) => self.run_embed(&use_case, &model, &req).await,
            Err(e) => Err(e),
        };
        let mut record = NewRequestRecord {
            caller: caller.to_string(),
            ..NewRequestRecord::empty(&use_case.id, &model, started.elapsed().as_secs_f64() * 1000.0)
        };
        match outcome {
            Ok(e) => {
                record.input_tokens = e.input_tokens;
                record.status = RequestStatus::Ok;
                let row = self.store.record(&record).await?;
                let dimensions = e.vectors.first().map_or(0, |v| v.len() as u32);
                Ok(EmbedResponse {
                    ledger_id: row.id,
                    model: model.to_string(),
                    vectors: e.vectors,
                    dimensions,
                    input_tokens: e.input_tokens,
                    latency_ms: e.latency_ms,
                    pooling: e.pooling,
                })
            }
            Err(error) => {
                record.error = Some(error.message.clone());
                if let Err(e) = self.store.record(&record).await {
                    tracing::error!(%e, "could not record a failed embedding request");
                }
                Err(error)
            }
        }
    }

    async fn run_embed(
        &self,
        use_case: &switchboard_core::UseCase,
        model: &ModelRef,
        req: &EmbedRequest,
    ) -> Result<switchboard_core::Embeddings, AppError> {
        if !use_case.enabled {
            return Err(AppError::new(ErrorCode::InvalidInput, format!("the use case '{}' is disabled", use_case.id)));
        }
        if req.inputs.is_empty() {
            return Err(AppError::for_field("inputs", "give at least one text to embed"));
        }
        if req.inputs.len() > MAX_EMBED_INPUTS {
            return Err(AppError::for_field(
                "inputs",
                format!("at most {MAX_EMBED_INPUTS} texts per request, not {}", req.inputs.len()),
            ));
        }
        if let Some(i) = req.inputs.iter().position(|t| t.trim().is_empty()) {
            return Err(AppError::for_field(format!("inputs[{i}]"), format!("text {} is empty", i + 1)));
        }
        if !model.is_local() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("{model} is a provider's model; embeddings run on local embedding models"),
            ));
        }
        let entry = self.local_model(&model.model).await?.ok_or_else(|| {
            AppError::new(ErrorCode::ModelMissing, format!("the model {model} is not in the library"))
        })?;
        let engine = self.engine.clone();
        let texts = req.inputs.clone();
        let priority = req.priority;
        tokio::task::spawn_blocking(move || engine.embed(&entry.path, &entry.load, &texts, priority))
            .await
            .unwrap_or_else(|e| {
                Err(AppError::new(ErrorCode::EngineFailed, format!("the engine stopped unexpectedly: {e}")))
            })
    }
}
