//! Switchboard's domain: use cases, sampling parameters, model references,
//! ledger records and the structured error that crosses to the UI.
//!
//! This crate performs no I/O and knows nothing of Tauri, SQLite or llama.cpp.

pub mod api;
pub mod audit;
pub mod comparison;
pub mod comparison_md;
pub mod config_file;
pub mod costs;
pub mod engine;
pub mod error;
pub mod generation;
pub mod group;
pub mod ledger;
pub mod model_ref;
pub mod params;
pub mod pricing;
pub mod provider;
pub mod route;
pub mod use_case;

pub use api::{validate_token_name, ApiServerSettings, ApiToken, CreatedToken, TokenScope, DEFAULT_API_PORT};
pub use audit::{AuditEntry, AuditFilter};
pub use comparison::{
    parse_prompts, sample_prompts, CandidateResult, CandidateSummary, ComparisonListing, ComparisonReport,
    ComparisonRequest, ComparisonRun, MAX_PROMPT_FILE_BYTES_U64,
};
pub use config_file::{ConfigFile, ExportedUseCase, CONFIG_SCHEMA_VERSION};
pub use costs::{
    decode_cursor, encode_cursor, BudgetStanding, CostBreakdown, CostReport, CostTotals, DayCost, ExportFormat,
    GroupLatency, LatencyPercentiles, LedgerFilter, LedgerPage, LocalShare, RequestText, MAX_PAGE_ROWS,
};
pub use engine::{
    validate_history, ChatRole, ChatTurn, Embeddings, EngineDevice, EngineImage, EngineRequest, ModelLoadSettings,
    Priority, ResidentModel, TextEngine, VisionRequest, VisionStats, MAX_HISTORY_TURNS, MAX_PARALLEL,
};
pub use error::{AppError, ErrorCode};
pub use generation::{FinishReason, GenerationStats};
pub use group::{BalanceStrategy, ProviderGroup, MAX_GROUP_MEMBERS};
pub use ledger::{NewRequestRecord, RequestRecord, RequestStatus, WINDOW_CALLER};
pub use model_ref::ModelRef;
pub use params::{ParamError, ParamOverrides, SamplingParams};
pub use pricing::{ModelPrice, BUILTIN_PRICES_SOURCE};
pub use provider::{
    builtin_providers, is_loopback_host, new_provider, provider_id_from_name, validate_provider_id, ProviderKind,
    ProviderLimits, ProviderSettings,
};
pub use route::{
    Attempt, AttemptOutcome, FailureClass, Placement, RouteCandidate, RoutingEvent, RoutingEventKind, RoutingSettings,
    MAX_FALLBACKS,
};
pub use use_case::{
    builtin_use_cases, validate_use_case_id, FieldError, NewUseCase, UseCase, UseCaseConfig, DEFAULT_LOCAL_MODEL,
};
