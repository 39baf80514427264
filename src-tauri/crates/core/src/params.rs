//! Sampling parameters and their ranges. The UI validates for comfort; this
//! module validates for correctness, so a value that would never reach the
//! engine intact is refused here with the field it concerns.

use serde::{Deserialize, Serialize};

/// Every knob a request can turn. Ranges follow the admin console's design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct SamplingParams {
    /// 0 = greedy; up to 2.
    pub temperature: f32,
    /// 1..=100.
    pub top_k: u32,
    /// 0..=1.
    pub top_p: f32,
    /// 0..=1; 0 disables it.
    #[serde(default)]
    pub min_p: f32,
    /// 1..=32768 through the API; the UI slider offers 256..=8192.
    pub max_tokens: u32,
    /// 1..=2; 1 disables it.
    pub repeat_penalty: f32,
    /// -2..=2, OpenAI-style; 0 disables it.
    #[serde(default)]
    pub presence_penalty: f32,
    /// -2..=2, OpenAI-style; 0 disables it.
    #[serde(default)]
    pub frequency_penalty: f32,
    /// Generation ends before the first occurrence of any of these.
    #[serde(default)]
    pub stop: Vec<String>,
    /// Same seed and prompt give the same output; none = random.
    #[serde(default)]
    pub seed: Option<u32>,
}

/// A parameter outside its range, named so the UI can show it next to the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParamError {
    pub field: String,
    pub message: String,
}

/// A request's own values for some parameters (as an API call gives them):
/// each one set replaces the candidate's value, the rest stay as configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ParamOverrides {
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub top_k: Option<u32>,
    #[serde(default)]
    pub top_p: Option<f32>,
    #[serde(default)]
    pub min_p: Option<f32>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub repeat_penalty: Option<f32>,
    #[serde(default)]
    pub presence_penalty: Option<f32>,
    #[serde(default)]
    pub frequency_penalty: Option<f32>,
    #[serde(default)]
    pub stop: Option<Vec<String>>,
    #[serde(default)]
    pub seed: Option<u32>,
}

impl ParamOverrides {
    /// `base` with every value this sets replaced.
    pub fn apply(&self, mut base: SamplingParams) -> SamplingParams {
        macro_rules! set {
            ($($f:ident),*) => {$(if let Some(v) = self.$f.clone() { base.$f = v; })*};
        }
        set!(temperature, top_k, top_p, min_p, max_tokens, repeat_penalty, presence_penalty, frequency_penalty, stop);
        if self.seed.is_some() {
            base.seed = self.seed;
        }
        base
    }

    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

pub const MAX_TOKENS_LIMIT: u32 = 32_768;
pub const MAX_STOP_SEQUENCES: usize = 16;

/// llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95, 512 tokens, no repeat penalty.
impl Default for SamplingParams {
    fn default() -> Self {
        Self::new(0.8, 40, 0.95, 512, 1.0)
    }
}

impl SamplingParams {
    pub fn new(temperature: f32, top_k: u32, top_p: f32, max_tokens: u32, repeat_penalty: f32) -> Self {
        Self {
            temperature,
            top_k,
            top_p,
            min_p: 0.0,
            max_tokens,
            repeat_penalty,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            stop: Vec::new(),
            seed: None,
        }
    }

    /// Whether a repeat, presence or frequency penalty is switched on.
    pub fn uses_penalties(&self) -> bool {
        self.repeat_penalty != 1.0 || self.presence_penalty != 0.0 || self.frequency_penalty != 0.0
    }

    /// Checks every field; returns the first that is out of range.
    pub fn validate(&self) -> Result<(), ParamError> {
        fn range(field: &str, v: f32, lo: f32, hi: f32) -> Result<(), ParamError> {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(ParamError { field: field.into(), message: format!("must be between {lo} and {hi}, got {v}") })
            }
        }
        range("temperature", self.temperature, 0.0, 2.0)?;
        if !(1..=100).contains(&self.top_k) {
            return Err(ParamError {
                field: "top_k".into(),
                message: format!("must be between 1 and 100, got {}", self.top_k),
            });
        }
        range("top_p", self.top_p, 0.0, 1.0)?;
        range("min_p", self.min_p, 0.0, 1.0)?;
        if !(1..=MAX_TOKENS_LIMIT).contains(&self.max_tokens) {
            return Err(ParamError {
                field: "max_tokens".into(),
                message: format!("must be between 1 and {MAX_TOKENS_LIMIT}, got {}", self.max_tokens),
            });
        }
        range("repeat_penalty", self.repeat_penalty, 1.0, 2.0)?;
        range("presence_penalty", self.presence_penalty, -2.0, 2.0)?;
        range("frequency_penalty", self.frequency_penalty, -2.0, 2.0)?;
        if self.stop.len() > MAX_STOP_SEQUENCES {
            return Err(ParamError {
                field: "stop".into(),
                message: format!("at most {MAX_STOP_SEQUENCES} stop sequences"),
            });
        }
        if self.stop.iter().any(String::is_empty) {
            return Err(ParamError { field: "stop".into(), message: "a stop sequence cannot be empty".into() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> SamplingParams {
        SamplingParams::new(0.7, 40, 0.9, 512, 1.1)
    }

    #[test]
    fn defaults_of_every_builtin_use_case_are_valid() {
        for uc in crate::builtin_use_cases() {
            uc.defaults.validate().unwrap_or_else(|e| panic!("{}: {e}", uc.id));
        }
    }

    #[test]
    fn each_out_of_range_field_is_named() {
        type Mutation = Box<dyn Fn(&mut SamplingParams)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("temperature", Box::new(|p| p.temperature = 2.5)),
            ("temperature", Box::new(|p| p.temperature = f32::NAN)),
            ("temperature", Box::new(|p| p.temperature = -0.1)),
            ("top_k", Box::new(|p| p.top_k = 0)),
            ("top_k", Box::new(|p| p.top_k = 101)),
            ("top_p", Box::new(|p| p.top_p = 1.01)),
            ("min_p", Box::new(|p| p.min_p = -1.0)),
            ("max_tokens", Box::new(|p| p.max_tokens = 0)),
            ("max_tokens", Box::new(|p| p.max_tokens = MAX_TOKENS_LIMIT + 1)),
            ("repeat_penalty", Box::new(|p| p.repeat_penalty = 0.9)),
            ("presence_penalty", Box::new(|p| p.presence_penalty = 2.5)),
            ("frequency_penalty", Box::new(|p| p.frequency_penalty = -3.0)),
            ("stop", Box::new(|p| p.stop = vec![String::new()])),
            ("stop", Box::new(|p| p.stop = vec!["x".into(); 17])),
        ];
        for (field, mutate) in cases {
            let mut p = ok();
            mutate(&mut p);
            assert_eq!(p.validate().unwrap_err().field, field);
        }
        assert!(ok().validate().is_ok());
    }

    #[test]
    fn missing_optional_fields_deserialize_to_disabled() {
        let p: SamplingParams =
            serde_json::from_str(r#"{"temperature":0.3,"top_k":10,"top_p":0.5,"max_tokens":256,"repeat_penalty":1.0}"#)
                .unwrap();
        assert_eq!(p.min_p, 0.0);
        assert!(p.stop.is_empty());
        assert_eq!(p.seed, None);
    }
}

#[cfg(test)]
mod override_tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_set() {
        let base = SamplingParams { stop: vec!["\n\n".into()], ..SamplingParams::new(0.7, 40, 0.9, 2048, 1.1) };
        assert_eq!(ParamOverrides::default().apply(base.clone()), base);
        assert!(ParamOverrides::default().is_empty());
        let o = ParamOverrides { temperature: Some(0.0), max_tokens: Some(16), seed: Some(7), ..Default::default() };
        let p = o.apply(base.clone());
        assert_eq!((p.temperature, p.max_tokens, p.seed), (0.0, 16, Some(7)));
        assert_eq!((p.top_k, p.top_p, p.repeat_penalty, p.stop.clone()), (40, 0.9, 1.1, base.stop.clone()));
        let stop = ParamOverrides { stop: Some(vec![]), ..Default::default() }.apply(base);
        assert!(stop.stop.is_empty(), "an empty list given clears the stop sequences");
    }
}
