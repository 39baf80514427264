//! The configuration export/import file: use cases and their parameters, with
//! a schema version. It never holds secrets.

use serde::{Deserialize, Serialize};

use crate::error::{AppError, ErrorCode};
use crate::params::SamplingParams;
use crate::use_case::{validate_use_case_id, UseCase};

/// Version 2 added routes (`fallbacks`, `prefer_cloud`); version 1 files are still read.
pub const CONFIG_SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub schema_version: u32,
    pub exported_at: String,
    pub use_cases: Vec<ExportedUseCase>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedUseCase {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub vision: bool,
    pub enabled: bool,
    pub model: String,
    pub defaults: SamplingParams,
    pub use_custom_params: bool,
    #[serde(default)]
    pub custom_params: Option<SamplingParams>,
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub json_schema: Option<String>,
    #[serde(default)]
    pub fallbacks: Vec<crate::RouteCandidate>,
    #[serde(default)]
    pub prefer_cloud: bool,
    #[serde(default)]
    pub cache_ttl_s: Option<u32>,
    #[serde(default)]
    pub cache_random: bool,
    #[serde(default)]
    pub monthly_budget_usd: Option<f64>,
    #[serde(default)]
    pub keep_text_days: Option<u32>,
}

impl ExportedUseCase {
    pub fn from_use_case(uc: &UseCase) -> Self {
        Self {
            id: uc.id.clone(),
            name: uc.name.clone(),
            description: uc.description.clone(),
            vision: uc.vision,
            enabled: uc.enabled,
            model: uc.model.clone(),
            defaults: uc.defaults.clone(),
            use_custom_params: uc.use_custom_params,
            custom_params: uc.custom_params.clone(),
            system_prompt: uc.system_prompt.clone(),
            json_schema: uc.json_schema.clone(),
            fallbacks: uc.fallbacks.clone(),
            prefer_cloud: uc.prefer_cloud,
            cache_ttl_s: uc.cache_ttl_s,
            cache_random: uc.cache_random,
            monthly_budget_usd: uc.monthly_budget_usd,
            keep_text_days: uc.keep_text_days,
        }
    }

    /// As a use case (not yet stored: no author or time, not built in).
    pub fn to_use_case(&self) -> UseCase {
        UseCase {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            builtin: false,
            vision: self.vision,
            enabled: self.enabled,
            model: self.model.clone(),
            defaults: self.defaults.clone(),
            custom_params: self.custom_params.clone(),
            use_custom_params: self.use_custom_params,
            system_prompt: self.system_prompt.clone(),
            json_schema: self.json_schema.clone(),
            fallbacks: self.fallbacks.clone(),
            prefer_cloud: self.prefer_cloud,
            cache_ttl_s: self.cache_ttl_s,
            cache_random: self.cache_random,
            monthly_budget_usd: self.monthly_budget_usd,
            keep_text_days: self.keep_text_days,
            updated_at: String::new(),
            updated_by: String::new(),
        }
    }
}

/// The largest configuration file read.
pub const MAX_CONFIG_BYTES: usize = 16 << 20;

impl ConfigFile {
    pub fn new(exported_at: String, use_cases: &[UseCase]) -> Self {
        Self {
            schema_version: CONFIG_SCHEMA_VERSION,
            exported_at,
            use_cases: use_cases.iter().map(ExportedUseCase::from_use_case).collect(),
        }
    }

    /// Parses and validates a whole file; the first problem is reported with
    /// where it is, and nothing is applied unless this succeeds.
    pub fn parse(text: &str) -> Result<Self, AppError> {
        let bad = |m: String| AppError::new(ErrorCode::InvalidInput, m);
        // An export of even hundreds of use cases is a few hundred KiB.
        if text.len() > MAX_CONFIG_BYTES {
            return Err(bad(format!(
                "the file is larger than {} MiB: it is not a Switchboard configuration export",
                MAX_CONFIG_BYTES >> 20
            )));
        }
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            if e.is_eof() {
                bad(format!(
                    "the file ends early (line {}, column {}): it is truncated or incomplete",
                    e.line(),
                    e.column()
                ))
            } else {
                bad(format!("the file is not valid JSON: {e}"))
            }
        })?;
        match value.get("schema_version").and_then(serde_json::Value::as_u64) {
            // Version 1 is version 2 without routes: its use cases get none.
            Some(v) if (1..=u64::from(CONFIG_SCHEMA_VERSION)).contains(&v) => {}
            Some(v) => {
                return Err(bad(format!(
                    "the file has schema version {v}; this version of Switchboard reads versions 1 to {CONFIG_SCHEMA_VERSION}"
                )))
            }
            None => {
                return Err(bad("the file has no schema_version: it is not a Switchboard configuration export".into()))
            }
        }
        let file: ConfigFile =
            serde_json::from_value(value).map_err(|e| bad(format!("the file does not match the format: {e}")))?;
        let mut seen = std::collections::HashSet::new();
        for uc in &file.use_cases {
            let at = |m: String| bad(format!("use case '{}': {m}", uc.id));
            validate_use_case_id(&uc.id).map_err(|e| at(e.message))?;
            if !seen.insert(uc.id.as_str()) {
                return Err(at("appears twice".into()));
            }
            uc.defaults.validate().map_err(|e| at(format!("defaults.{}", e)))?;
            uc.to_use_case().config().validate().map_err(|e| at(e.to_string()))?;
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin_use_cases;

    fn export() -> String {
        serde_json::to_string_pretty(&ConfigFile::new("2026-11-30T00:00:00.000Z".into(), &builtin_use_cases())).unwrap()
    }

    #[test]
    fn an_export_parses_back_to_the_same_use_cases() {
        let file = ConfigFile::parse(&export()).unwrap();
        assert_eq!(file.use_cases.len(), 6);
        assert_eq!(file.use_cases[2].to_use_case().defaults, builtin_use_cases()[2].defaults);
    }

    #[test]
    fn version_1_files_are_read_without_routes() {
        let v1 = r#"{"schema_version": 1, "exported_at": "2026-11-01T00:00:00.000Z", "use_cases": [
            {"id": "answer_generation", "name": "Answers", "enabled": true, "model": "local/gemma-3-270m-q4_k_m",
             "defaults": {"temperature": 0.7, "top_k": 40, "top_p": 0.9, "max_tokens": 256, "repeat_penalty": 1.1},
             "use_custom_params": false}]}"#;
        let file = ConfigFile::parse(v1).unwrap();
        let uc = file.use_cases[0].to_use_case();
        assert!(uc.fallbacks.is_empty() && !uc.prefer_cloud);
        assert_eq!(uc.name, "Answers");
    }

    #[test]
    fn routes_survive_an_export() {
        let mut ucs = builtin_use_cases();
        ucs[0].fallbacks = vec![crate::RouteCandidate {
            model: "openai/gpt-4o-mini".into(),
            params: Some(SamplingParams::new(0.2, 40, 0.9, 64, 1.0)),
        }];
        ucs[0].prefer_cloud = true;
        let text = serde_json::to_string(&ConfigFile::new("t".into(), &ucs)).unwrap();
        let back = ConfigFile::parse(&text).unwrap().use_cases[0].to_use_case();
        assert_eq!(back.fallbacks, ucs[0].fallbacks);
        assert!(back.prefer_cloud);
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let good = export();
        let cases = [
            (good[..good.len() / 2].to_string(), "truncated"),
            ("not json at all".to_string(), "not valid JSON"),
            (good.replace("\"schema_version\": 2", "\"schema_version\": 7"), "schema version 7"),
            (good.replace("\"schema_version\": 2,", ""), "no schema_version"),
            (good.replacen("\"fallbacks\": []", "\"fallbacks\": [{\"model\": \"openai\"}]", 1), "fallbacks.0.model"),
            (good.replacen("\"temperature\": 0.3", "\"temperature\": 5.0", 1), "temperature"),
            (good.replacen("\"model\": \"local/gemma-3-270m-q4_k_m\"", "\"model\": \"nope\"", 1), "model"),
            (good.replacen("\"entity_extraction\"", "\"intent_classification\"", 1), "appears twice"),
            (good.replacen("\"enabled\": true", "\"enabled\": true, \"api_key\": \"x\"", 1), "unknown field"),
        ];
        for (text, expected) in cases {
            let err = ConfigFile::parse(&text).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
            assert!(err.message.contains(expected), "expected '{expected}' in: {}", err.message);
        }
    }
}
