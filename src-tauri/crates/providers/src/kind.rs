//! The provider kinds Switchboard speaks, their default endpoints, and which
//! of our sampling parameters each one honours.

use serde::{Deserialize, Serialize};
use switchboard_core::SamplingParams;

use crate::{ErrorKind, ProviderError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Ollama,
    #[serde(rename = "openai")]
    OpenAi,
    Azure,
    Anthropic,
    Gemini,
    #[serde(rename = "dashscope")]
    DashScope,
    /// Any server speaking OpenAI's chat completions: vLLM, LM Studio,
    /// llama.cpp's server, TGI, ...
    #[serde(rename = "openai_compatible")]
    OpenAiCompatible,
}

/// A parameter a provider does not take, named as in `SamplingParams`.
type Unsupported = &'static [&'static str];

impl ProviderKind {
    pub const ALL: [ProviderKind; 7] = [
        Self::Ollama,
        Self::OpenAi,
        Self::Azure,
        Self::Anthropic,
        Self::Gemini,
        Self::DashScope,
        Self::OpenAiCompatible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ollama => "ollama",
            Self::OpenAi => "openai",
            Self::Azure => "azure",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::DashScope => "dashscope",
            Self::OpenAiCompatible => "openai_compatible",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Where the provider answers unless the admin says otherwise. Azure has
    /// no default: every resource has its own endpoint.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::Ollama => "http://127.0.0.1:11434",
            Self::OpenAi => "https://api.openai.com/v1",
            Self::Azure => "",
            Self::Anthropic => "https://api.anthropic.com",
            Self::Gemini => "https://generativelanguage.googleapis.com",
            // International endpoint; China: https://dashscope.aliyuncs.com/compatible-mode/v1
            Self::DashScope => "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
            Self::OpenAiCompatible => "http://127.0.0.1:8080/v1",
        }
    }

    /// Cloud providers must be reached over https unless the admin overrides it.
    pub fn is_cloud(self) -> bool {
        !matches!(self, Self::Ollama | Self::OpenAiCompatible)
    }

    /// Whether requests need an API key at all.
    pub fn needs_key(self) -> bool {
        self.is_cloud()
    }

    /// Our parameters this provider's API has no field for.
    pub fn unsupported_params(self) -> Unsupported {
        match self {
            Self::OpenAi | Self::Azure => &["top_k", "min_p", "repeat_penalty"],
            Self::DashScope => &["min_p"],
            Self::Anthropic => &["min_p", "repeat_penalty", "presence_penalty", "frequency_penalty", "seed"],
            Self::Gemini => &["min_p", "repeat_penalty"],
            Self::Ollama | Self::OpenAiCompatible => &[],
        }
    }

    /// The parameters of `params` this provider will ignore because they are
    /// set to something other than their neutral value.
    pub fn ignored_params(self, params: &SamplingParams) -> Vec<&'static str> {
        let active = |name: &str| match name {
            "top_k" => true,
            "min_p" => params.min_p != 0.0,
            "repeat_penalty" => params.repeat_penalty != 1.0,
            "presence_penalty" => params.presence_penalty != 0.0,
            "frequency_penalty" => params.frequency_penalty != 0.0,
            "seed" => params.seed.is_some(),
            _ => false,
        };
        self.unsupported_params().iter().copied().filter(|p| active(p)).collect()
    }
}

/// Checks a base URL: http(s), a host, no credentials or query in it.
/// `allow_http` lets a cloud provider be reached over plain http (an admin
/// override, or a local test server).
pub fn validate_base_url(url: &str, kind: ProviderKind, allow_http: bool) -> Result<url::Url, ProviderError> {
    let bad = |why: String| ProviderError::new(ErrorKind::InvalidRequest, why);
    if url.trim().is_empty() {
        return Err(bad(format!("{} needs a base URL", kind.as_str())));
    }
    let parsed = url::Url::parse(url.trim()).map_err(|e| bad(format!("'{url}' is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http || !kind.is_cloud() => {}
        "http" => {
            return Err(bad(format!(
                "{} is a cloud provider: its base URL must use https (or allow plain http explicitly)",
                kind.as_str()
            )))
        }
        other => return Err(bad(format!("'{url}' must start with http:// or https://, not {other}://"))),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad(format!("'{url}' has no host")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("put credentials in the API key field, not in the URL".into()));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad(format!("'{url}' must not have a query or fragment")));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(ProviderKind::parse("local"), None);
    }

    #[test]
    fn base_urls_are_checked() {
        let ok = |u: &str, k| validate_base_url(u, k, false).is_ok();
        assert!(ok("https://api.openai.com/v1", ProviderKind::OpenAi));
        assert!(ok("http://127.0.0.1:11434", ProviderKind::Ollama));
        assert!(!ok("http://api.openai.com/v1", ProviderKind::OpenAi), "cloud needs https");
        assert!(validate_base_url("http://10.0.0.5:8000/v1", ProviderKind::OpenAi, true).is_ok());
        for bad in ["", "api.openai.com", "ftp://x/v1", "https://", "https://u:p@x/v1", "https://x/v1?key=1"] {
            assert!(!ok(bad, ProviderKind::OpenAiCompatible), "{bad}");
        }
    }

    #[test]
    fn ignored_params_are_only_the_active_unsupported_ones() {
        let mut p = SamplingParams::new(0.7, 40, 0.9, 256, 1.0);
        assert_eq!(ProviderKind::OpenAi.ignored_params(&p), vec!["top_k"]);
        p.repeat_penalty = 1.1;
        p.seed = Some(3);
        assert_eq!(ProviderKind::OpenAi.ignored_params(&p), vec!["top_k", "repeat_penalty"]);
        assert_eq!(ProviderKind::Anthropic.ignored_params(&p), vec!["repeat_penalty", "seed"]);
        assert!(ProviderKind::Ollama.ignored_params(&p).is_empty());
    }
}
