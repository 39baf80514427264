//! The provider kinds Switchboard speaks, their default endpoints and which
//! of our sampling parameters each one honours; and a provider's settings as
//! the admin edits them (its API keys live apart, sealed, in the store).

use serde::{Deserialize, Serialize};

use crate::SamplingParams;

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

    pub fn display_name(self) -> &'static str {
        match self {
            Self::Ollama => "Ollama",
            Self::OpenAi => "OpenAI",
            Self::Azure => "Azure OpenAI",
            Self::Anthropic => "Anthropic",
            Self::Gemini => "Google Gemini",
            Self::DashScope => "Alibaba DashScope",
            Self::OpenAiCompatible => "OpenAI-compatible server",
        }
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

/// One configured provider, as the admin edits it. Its API keys are not here:
/// they are sealed in the store and only ever shown masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ProviderSettings {
    /// Names models: `{id}/{model}`.
    pub id: String,
    pub kind: ProviderKind,
    pub display_name: String,
    pub enabled: bool,
    pub base_url: String,
    /// Lets a cloud provider be reached over plain http (a local proxy or test server).
    pub allow_http: bool,
    /// Azure OpenAI: the deployments to offer, comma-separated.
    pub azure_deployments: Option<String>,
    /// Azure OpenAI: the api-version query parameter.
    pub azure_api_version: Option<String>,
    /// Requests stop when this month's spend reaches it; none = no limit.
    pub monthly_budget_usd: Option<f64>,
}

/// One provider of each kind, disabled, at its default endpoint.
pub fn builtin_providers() -> Vec<ProviderSettings> {
    ProviderKind::ALL
        .into_iter()
        .map(|kind| ProviderSettings {
            id: kind.as_str().to_string(),
            kind,
            display_name: kind.display_name().to_string(),
            enabled: false,
            base_url: kind.default_base_url().to_string(),
            allow_http: false,
            azure_deployments: None,
            azure_api_version: (kind == ProviderKind::Azure).then(|| "2024-10-21".to_string()),
            monthly_budget_usd: None,
        })
        .collect()
}

/// Whether a URL's host, as `Url::host_str` writes it (`localhost`,
/// `127.0.0.1`, `[::1]`), is this machine: plain http to it never crosses a network.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    h == "localhost" || h.ends_with(".localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts_are_this_machine_only() {
        for host in ["localhost", "LOCALHOST", "app.localhost", "127.0.0.1", "127.8.9.10", "[::1]"] {
            assert!(super::is_loopback_host(host), "{host}");
        }
        for host in ["192.168.1.20", "10.0.0.1", "gpu-box.lan", "localhost.example.com", "[::2]", ""] {
            assert!(!super::is_loopback_host(host), "{host}");
        }
    }

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
