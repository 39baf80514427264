//! Base URL checks for provider endpoints (the kinds themselves are domain
//! types in `switchboard_core`).

pub use switchboard_core::ProviderKind;

use crate::{ErrorKind, ProviderError};

/// Checks a base URL: http(s), a host, no credentials or query in it.
/// `allow_http` lets a cloud provider be reached over plain http (an admin
/// override, or a local test server).
pub fn validate_base_url(url: &str, kind: ProviderKind, allow_http: bool) -> Result<url::Url, ProviderError> {
    let bad = |why: String| ProviderError::new(ErrorKind::InvalidRequest, why);
    if url.trim().is_empty() {
        return Err(bad(format!("{} needs a base URL", kind.as_str())));
    }
    let parsed = url::Url::parse(url.trim()).map_err(|e| bad(format!("'{url}' is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(format!("'{url}' must start with http:// or https://, not {}://", parsed.scheme())));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad(format!("'{url}' has no host")));
    }
    if parsed.scheme() == "http" && !allow_http {
        if kind.is_cloud() {
            return Err(bad(format!(
                "{} is a cloud provider: its base URL must use https (or allow plain http explicitly)",
                kind.as_str()
            )));
        }
        // A local server on this machine may speak plain http; anything
        // else on the network sees the key and the prompts in clear text.
        if !parsed.host_str().is_some_and(switchboard_core::is_loopback_host) {
            return Err(bad(format!(
                "'{url}' is plain http to another machine: use https, or allow plain http explicitly"
            )));
        }
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
    fn base_urls_are_checked() {
        let ok = |u: &str, k| validate_base_url(u, k, false).is_ok();
        assert!(ok("https://api.openai.com/v1", ProviderKind::OpenAi));
        assert!(ok("http://127.0.0.1:11434", ProviderKind::Ollama));
        assert!(!ok("http://api.openai.com/v1", ProviderKind::OpenAi), "cloud needs https");
        assert!(validate_base_url("http://10.0.0.5:8000/v1", ProviderKind::OpenAi, true).is_ok());
        // Plain http to another machine needs the explicit choice for every kind.
        for kind in [ProviderKind::Ollama, ProviderKind::OpenAiCompatible] {
            assert!(ok("http://localhost:11434", kind));
            assert!(ok("http://[::1]:8080/v1", kind));
            assert!(!ok("http://192.168.1.20:11434", kind), "{kind:?} over http on the network");
            assert!(!ok("http://gpu-box.lan:8000/v1", kind));
            assert!(validate_base_url("http://192.168.1.20:11434", kind, true).is_ok());
        }
        for bad in ["", "api.openai.com", "ftp://x/v1", "https://", "https://u:p@x/v1", "https://x/v1?key=1"] {
            assert!(!ok(bad, ProviderKind::OpenAiCompatible), "{bad}");
        }
    }
}
