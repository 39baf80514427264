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
    /// Time-outs and rate limits; each unset one takes its default.
    #[serde(default)]
    pub limits: ProviderLimits,
}

/// How long a request waits on a provider, and how many it may be sent.
/// Unset values take the defaults below.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ProviderLimits {
    /// Seconds to open a connection.
    #[serde(default)]
    pub connect_timeout_s: Option<u32>,
    /// Seconds from sending the request to the first token.
    #[serde(default)]
    pub first_token_timeout_s: Option<u32>,
    /// Seconds of silence allowed between two chunks of a stream.
    #[serde(default)]
    pub idle_timeout_s: Option<u32>,
    /// Seconds for the whole request.
    #[serde(default)]
    pub total_timeout_s: Option<u32>,
    /// Requests per minute sent to this provider; none = no limit.
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    /// Prompt plus output tokens per minute; none = no limit.
    #[serde(default)]
    pub tokens_per_minute: Option<u32>,
    /// Seconds between background health probes (the model list, never a
    /// billed completion) while the provider is enabled; none = no probes.
    #[serde(default)]
    pub probe_interval_s: Option<u32>,
}

impl ProviderLimits {
    pub const DEFAULT_CONNECT_S: u32 = 10;
    pub const DEFAULT_FIRST_TOKEN_S: u32 = 60;
    pub const DEFAULT_IDLE_S: u32 = 30;
    pub const DEFAULT_TOTAL_S: u32 = 600;

    pub fn connect(&self) -> std::time::Duration {
        secs(self.connect_timeout_s, Self::DEFAULT_CONNECT_S)
    }
    pub fn first_token(&self) -> std::time::Duration {
        secs(self.first_token_timeout_s, Self::DEFAULT_FIRST_TOKEN_S)
    }
    pub fn idle(&self) -> std::time::Duration {
        secs(self.idle_timeout_s, Self::DEFAULT_IDLE_S)
    }
    pub fn total(&self) -> std::time::Duration {
        secs(self.total_timeout_s, Self::DEFAULT_TOTAL_S)
    }

    /// Each value, when set, in range: time-outs 1 s to 1 day, limits at least 1.
    pub fn validate(&self) -> Result<(), crate::FieldError> {
        for (name, v) in [
            ("connect_timeout_s", self.connect_timeout_s),
            ("first_token_timeout_s", self.first_token_timeout_s),
            ("idle_timeout_s", self.idle_timeout_s),
            ("total_timeout_s", self.total_timeout_s),
        ] {
            if v.is_some_and(|v| !(1..=86_400).contains(&v)) {
                return Err(crate::FieldError {
                    field: format!("limits.{name}"),
                    message: "must be between 1 and 86400 seconds".into(),
                });
            }
        }
        for (name, v) in
            [("requests_per_minute", self.requests_per_minute), ("tokens_per_minute", self.tokens_per_minute)]
        {
            if v == Some(0) {
                return Err(crate::FieldError {
                    field: format!("limits.{name}"),
                    message: "must be at least 1 (leave it empty for no limit)".into(),
                });
            }
        }
        Ok(())
    }
}

fn secs(v: Option<u32>, default: u32) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(v.unwrap_or(default)))
}

/// One provider of each kind, disabled, at its default endpoint: the
/// instances a fresh database starts with.
pub fn builtin_providers() -> Vec<ProviderSettings> {
    ProviderKind::ALL.into_iter().map(|kind| new_provider(kind, kind.as_str(), kind.display_name())).collect()
}

/// A new, disabled provider instance of `kind` at its default endpoint.
pub fn new_provider(kind: ProviderKind, id: &str, display_name: &str) -> ProviderSettings {
    ProviderSettings {
        id: id.to_string(),
        kind,
        display_name: display_name.to_string(),
        enabled: false,
        base_url: kind.default_base_url().to_string(),
        allow_http: false,
        azure_deployments: None,
        azure_api_version: (kind == ProviderKind::Azure).then(|| "2024-10-21".to_string()),
        monthly_budget_usd: None,
        limits: ProviderLimits::default(),
    }
}

/// A provider's id names its models (`{id}/{model}`): 2 to 40 lower-case
/// letters, digits, `-` and `_`, starting with a letter; `local` is the engine's.
pub fn validate_provider_id(id: &str) -> Result<(), crate::FieldError> {
    let ok = (2..=40).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        return Err(crate::FieldError {
            field: "id".into(),
            message: format!("'{id}' must be 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter"),
        });
    }
    if id == crate::ModelRef::LOCAL {
        return Err(crate::FieldError { field: "id".into(), message: "'local' names the local engine".into() });
    }
    Ok(())
}

/// An id made from a display name: "GPU box #2" becomes `gpu-box-2`.
pub fn provider_id_from_name(name: &str) -> String {
    let mut id = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            id.push(c);
        } else if !id.ends_with('-') && !id.is_empty() {
            id.push('-');
        }
    }
    let id = id.trim_end_matches('-').chars().take(40).collect::<String>();
    let id = id.trim_end_matches('-').to_string();
    if id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id
    } else {
        format!("p-{id}").chars().take(40).collect::<String>().trim_end_matches('-').to_string()
    }
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
    fn ids_from_names_are_valid_ids() {
        assert_eq!(provider_id_from_name("GPU box #2"), "gpu-box-2");
        assert_eq!(provider_id_from_name("  vLLM (A100) "), "vllm-a100");
        assert_eq!(provider_id_from_name("2nd server"), "p-2nd-server");
        for name in ["GPU box #2", "Ünïcode ☃ name", "x", "42", &"long".repeat(30)] {
            let id = provider_id_from_name(name);
            if id.len() >= 2 {
                validate_provider_id(&id).unwrap_or_else(|e| panic!("{name} -> {id}: {e}"));
            }
        }
        for bad in ["local", "A", "Upper", "has space", "-dash", &"x".repeat(41), "1abc"] {
            assert!(validate_provider_id(bad).is_err(), "{bad}");
        }
    }

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
