//! Use cases: the jobs an organisation routes to models. The six built-ins are
//! the seed of the configurable table, not a closed set; admins add their own.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model_ref::ModelRef;
use crate::params::SamplingParams;
use crate::route::{validate_fallbacks, RouteCandidate};

/// The model every installation starts with, for every use case.
pub const DEFAULT_LOCAL_MODEL: &str = "local/gemma-3-270m-q4_k_m";

/// A use case as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct UseCase {
    /// Stable identifier, e.g. `answer_generation`.
    pub id: String,
    /// Display name; admins may rename any use case.
    pub name: String,
    /// What it does, for people.
    pub description: String,
    /// Built-ins can be disabled but not deleted.
    pub builtin: bool,
    /// Images in, text out: only vision-capable models may serve it.
    pub vision: bool,
    pub enabled: bool,
    /// `provider/model`.
    pub model: String,
    /// The use case's own defaults ("Reset to defaults" returns to these).
    pub defaults: SamplingParams,
    /// When `use_custom_params` is on, these replace the defaults.
    pub custom_params: Option<SamplingParams>,
    pub use_custom_params: bool,
    pub system_prompt: Option<String>,
    /// A JSON schema the output must follow (structured output).
    pub json_schema: Option<String>,
    /// Tried in order when `model` cannot answer (see [`crate::route`]).
    pub fallbacks: Vec<RouteCandidate>,
    /// Cloud candidates go first, in their order, then the others.
    pub prefer_cloud: bool,
    /// The response cache: how long an answer is reused; none = off.
    pub cache_ttl_s: Option<u32>,
    /// Reuse answers sampled with temperature > 0 too (they would differ if asked again).
    pub cache_random: bool,
    /// What this use case's requests may cost a month, at all providers together; none = no limit.
    pub monthly_budget_usd: Option<f64>,
    /// Keep each request's prompt and answer for this many days (History's
    /// detail shows them); none = not kept, the default.
    pub keep_text_days: Option<u32>,
    /// RFC 3339 UTC.
    pub updated_at: String,
    /// The OS user who last changed it.
    pub updated_by: String,
}

/// The part of a use case an admin edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct UseCaseConfig {
    pub name: String,
    pub enabled: bool,
    pub model: String,
    pub use_custom_params: bool,
    pub custom_params: Option<SamplingParams>,
    pub system_prompt: Option<String>,
    pub json_schema: Option<String>,
    pub fallbacks: Vec<RouteCandidate>,
    pub prefer_cloud: bool,
    pub cache_ttl_s: Option<u32>,
    pub cache_random: bool,
    pub monthly_budget_usd: Option<f64>,
    pub keep_text_days: Option<u32>,
}

/// The longest request text is kept: ten years.
pub const MAX_KEEP_TEXT_DAYS: u32 = 3650;

/// The longest a cached answer is reused: a week.
pub const MAX_CACHE_TTL_S: u32 = 7 * 24 * 3600;

/// A new, admin-defined use case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct NewUseCase {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vision: bool,
    pub model: String,
    pub defaults: SamplingParams,
}

/// A value refused for one field, named so the UI can show it there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        let message = e.to_string();
        AppError::for_field(e.field, message)
    }
}

pub const MAX_NAME_CHARS: usize = 80;
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 32_000;
pub const MAX_SCHEMA_CHARS: usize = 64_000;

fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), message: message.into() }
}

impl UseCase {
    /// The editable part, as it is now.
    pub fn config(&self) -> UseCaseConfig {
        UseCaseConfig {
            name: self.name.clone(),
            enabled: self.enabled,
            model: self.model.clone(),
            use_custom_params: self.use_custom_params,
            custom_params: self.custom_params.clone(),
            system_prompt: self.system_prompt.clone(),
            json_schema: self.json_schema.clone(),
            fallbacks: self.fallbacks.clone(),
            prefer_cloud: self.prefer_cloud,
            cache_ttl_s: self.cache_ttl_s,
            cache_random: self.cache_random,
            monthly_budget_usd: self.monthly_budget_usd,
            keep_text_days: self.keep_text_days,
        }
    }

    /// The candidates in the admin's order: the model, then the fallbacks.
    pub fn candidates(&self) -> Vec<RouteCandidate> {
        std::iter::once(RouteCandidate { model: self.model.clone(), params: None })
            .chain(self.fallbacks.iter().cloned())
            .collect()
    }

    /// The parameters a request runs with: the request's own override, else
    /// the custom parameters when switched on, else the use case's defaults.
    pub fn effective_params(&self, request_override: Option<&SamplingParams>) -> SamplingParams {
        match (request_override, &self.custom_params) {
            (Some(p), _) => p.clone(),
            (None, Some(custom)) if self.use_custom_params => custom.clone(),
            _ => self.defaults.clone(),
        }
    }
}

impl UseCaseConfig {
    /// Checks every field; the first refusal names its field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(field("name", "a name is required"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(field("name", format!("at most {MAX_NAME_CHARS} characters")));
        }
        ModelRef::parse(&self.model).map_err(|e| field("model", e.message))?;
        if self.use_custom_params && self.custom_params.is_none() {
            return Err(field("custom_params", "custom parameters are switched on but none are set"));
        }
        if let Some(p) = &self.custom_params {
            p.validate().map_err(|e| field(&format!("custom_params.{}", e.field), e.message))?;
        }
        validate_fallbacks(&self.model, &self.fallbacks)?;
        if self.cache_ttl_s.is_some_and(|t| !(1..=MAX_CACHE_TTL_S).contains(&t)) {
            return Err(field("cache_ttl_s", format!("between 1 and {MAX_CACHE_TTL_S} seconds (a week)")));
        }
        if self.monthly_budget_usd.is_some_and(|b| !b.is_finite() || !(0.0..=1e9).contains(&b)) {
            return Err(field("monthly_budget_usd", "the budget must be a number of dollars, 0 or more"));
        }
        if self.keep_text_days.is_some_and(|d| !(1..=MAX_KEEP_TEXT_DAYS).contains(&d)) {
            return Err(field("keep_text_days", format!("between 1 and {MAX_KEEP_TEXT_DAYS} days")));
        }
        if let Some(prompt) = &self.system_prompt {
            if prompt.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
                return Err(field("system_prompt", format!("at most {MAX_SYSTEM_PROMPT_CHARS} characters")));
            }
        }
        if let Some(schema) = &self.json_schema {
            if schema.len() > MAX_SCHEMA_CHARS {
                return Err(field("json_schema", format!("at most {MAX_SCHEMA_CHARS} characters")));
            }
            match serde_json::from_str::<serde_json::Value>(schema) {
                Ok(serde_json::Value::Object(_)) => {}
                Ok(_) => return Err(field("json_schema", "a JSON schema must be a JSON object")),
                Err(e) => return Err(field("json_schema", format!("not valid JSON: {e}"))),
            }
        }
        Ok(())
    }
}

/// Ids are lower-case letters, digits and underscores, starting with a letter.
pub fn validate_use_case_id(id: &str) -> Result<(), FieldError> {
    let ok = (2..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(field(
            "id",
            format!("'{id}' must be 2 to 64 lower-case letters, digits or underscores, starting with a letter"),
        ))
    }
}

impl NewUseCase {
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_use_case_id(&self.id)?;
        self.defaults.validate().map_err(|e| field(&format!("defaults.{}", e.field), e.message))?;
        UseCaseConfig {
            name: self.name.clone(),
            enabled: true,
            model: self.model.clone(),
            use_custom_params: false,
            custom_params: None,
            system_prompt: None,
            json_schema: None,
            fallbacks: Vec::new(),
            prefer_cloud: false,
            cache_ttl_s: None,
            cache_random: false,
            monthly_budget_usd: None,
            keep_text_days: None,
        }
        .validate()
    }
}

fn builtin(id: &str, name: &str, description: &str, defaults: SamplingParams) -> UseCase {
    UseCase {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        builtin: true,
        vision: id == "vision_vlm",
        enabled: true,
        model: DEFAULT_LOCAL_MODEL.into(),
        defaults,
        custom_params: None,
        use_custom_params: false,
        system_prompt: None,
        json_schema: None,
        fallbacks: Vec::new(),
        prefer_cloud: false,
        cache_ttl_s: None,
        cache_random: false,
        monthly_budget_usd: None,
        keep_text_days: None,
        updated_at: String::new(),
        updated_by: String::new(),
    }
}

/// The six use cases every installation starts with.
pub fn builtin_use_cases() -> Vec<UseCase> {
    vec![
        builtin(
            "intent_classification",
            "Intent classification",
            "Query to VECTOR / GRAPH / HYBRID / MEMORY",
            SamplingParams::new(0.3, 10, 0.5, 256, 1.0),
        ),
        builtin(
            "entity_extraction",
            "Entity extraction",
            "Document to entities and relations (JSON)",
            SamplingParams::new(0.2, 20, 0.7, 4096, 1.0),
        ),
        builtin(
            "answer_generation",
            "Answer generation",
            "Context to final answer",
            SamplingParams::new(0.7, 40, 0.9, 2048, 1.1),
        ),
        builtin(
            "followup_titles",
            "Follow-ups and titles",
            "Answer to follow-up questions and titles",
            SamplingParams::new(0.8, 50, 0.95, 512, 1.2),
        ),
        builtin(
            "query_decomposition",
            "Query decomposition",
            "Complex query to sub-queries",
            SamplingParams::new(0.4, 30, 0.8, 1024, 1.0),
        ),
        builtin(
            "vision_vlm",
            "Vision (image description)",
            "Image to text description",
            SamplingParams::new(0.5, 40, 0.9, 1024, 1.0),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find_use_case(id: &str) -> Option<UseCase> {
        builtin_use_cases().into_iter().find(|u| u.id == id)
    }

    #[test]
    fn builtins_match_the_design_table() {
        let a = find_use_case("answer_generation").unwrap();
        assert_eq!((a.defaults.temperature, a.defaults.top_k, a.defaults.top_p), (0.7, 40, 0.9));
        assert_eq!((a.defaults.max_tokens, a.defaults.repeat_penalty), (2048, 1.1));
        let ids: Vec<_> = builtin_use_cases().into_iter().map(|u| u.id).collect();
        assert_eq!(ids.len(), 6);
        assert!(find_use_case("vision_vlm").unwrap().vision);
        assert!(builtin_use_cases().iter().all(|u| u.builtin && u.enabled && u.model == DEFAULT_LOCAL_MODEL));
        assert!(find_use_case("nope").is_none());
    }

    #[test]
    fn request_override_beats_custom_which_beats_defaults() {
        let mut uc = find_use_case("answer_generation").unwrap();
        let custom = SamplingParams::new(0.1, 5, 0.5, 300, 1.3);
        let request = SamplingParams::new(1.9, 99, 1.0, 50, 1.0);
        assert_eq!(uc.effective_params(None), uc.defaults);
        uc.custom_params = Some(custom.clone());
        assert_eq!(uc.effective_params(None), uc.defaults, "custom params stored but switched off");
        uc.use_custom_params = true;
        assert_eq!(uc.effective_params(None), custom);
        assert_eq!(uc.effective_params(Some(&request)), request);
    }

    #[test]
    fn config_validation_names_the_field() {
        let ok = find_use_case("answer_generation").unwrap().config();
        ok.validate().unwrap();
        type Mutation = Box<dyn Fn(&mut UseCaseConfig)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("name", Box::new(|c| c.name = "  ".into())),
            ("name", Box::new(|c| c.name = "x".repeat(81))),
            ("model", Box::new(|c| c.model = "gemma".into())),
            ("custom_params", Box::new(|c| c.use_custom_params = true)),
            (
                "custom_params.temperature",
                Box::new(|c| {
                    c.custom_params = Some(SamplingParams::new(3.0, 40, 0.9, 256, 1.0));
                }),
            ),
            ("json_schema", Box::new(|c| c.json_schema = Some("{not json".into()))),
            ("json_schema", Box::new(|c| c.json_schema = Some("[1,2]".into()))),
        ];
        for (name, mutate) in cases {
            let mut c = ok.clone();
            mutate(&mut c);
            assert_eq!(c.validate().unwrap_err().field, name);
        }
    }

    #[test]
    fn new_use_case_ids_are_checked() {
        for bad in ["", "a", "Reasoning", "9lives", "with-dash", "sp ace"] {
            assert_eq!(validate_use_case_id(bad).unwrap_err().field, "id", "{bad}");
        }
        validate_use_case_id("reasoning_v2").unwrap();
    }

    #[test]
    fn the_english_string_file_names_the_builtins_as_seeded() {
        // The UI translates a built-in's name while it still equals the English string.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../src/i18n/locales/en.json");
        let en: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for uc in builtin_use_cases() {
            assert_eq!(en["useCases"][&uc.id], uc.name.as_str(), "{}", uc.id);
        }
    }
}
