//! One HTTP exchange with a provider, and the classification of its failures.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::{ErrorKind, ProviderError};

/// At most this much of an error body is read; providers' error bodies are small.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// A whole (not streamed) answer larger than this is refused, not buffered.
pub(crate) const MAX_BODY: usize = 32 * 1024 * 1024;
/// A provider asking to wait longer than this is treated as asking for this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// `text` as one URL path segment: a model or deployment name cannot add
/// path segments, a query or a fragment to the provider's URL.
pub(crate) fn segment(text: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    let encoded = utf8_percent_encode(text, UNRESERVED).to_string();
    // "." and ".." are path navigation, not names.
    match encoded.as_str() {
        "." => "%2E".into(),
        ".." => "%2E%2E".into(),
        _ => encoded,
    }
}

/// The client plus the key, so that any text a provider echoes back is
/// scrubbed of the key before it reaches a message.
#[derive(Clone)]
pub(crate) struct Http {
    pub client: reqwest::Client,
    pub key: Option<String>,
}

impl Http {
    pub async fn send(&self, req: RequestBuilder) -> Result<Response, ProviderError> {
        let resp = req.send().await.map_err(|e| self.transport_error(&e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = read_capped(resp).await;
        Err(self.scrub(classify(status, &headers, &body)))
    }

    /// The whole body as JSON; a cut-off body or malformed JSON is an error.
    pub async fn json<T: DeserializeOwned>(&self, mut resp: Response) -> Result<T, ProviderError> {
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(too_large("answer", MAX_BODY));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(&e))? {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(too_large("answer", MAX_BODY));
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes).map_err(|e| self.scrub(ProviderError::bad_response(e)))
    }

    pub fn transport_error(&self, e: &reqwest::Error) -> ProviderError {
        let detail = error_chain(e);
        let err = if e.is_timeout() {
            ProviderError::new(ErrorKind::Timeout, format!("the provider did not answer in time ({detail})"))
        } else if e.is_connect() {
            ProviderError::new(ErrorKind::Unavailable, format!("the provider cannot be reached: {detail}"))
        } else if e.is_body() || e.is_decode() {
            ProviderError::new(ErrorKind::StreamCut, format!("the provider's answer was cut off: {detail}"))
        } else {
            ProviderError::new(ErrorKind::Unavailable, format!("the request to the provider failed: {detail}"))
        };
        self.scrub(err)
    }

    pub fn scrub(&self, mut err: ProviderError) -> ProviderError {
        if let Some(key) = self.key.as_deref().filter(|k| k.len() >= 4) {
            err.message = err.message.replace(key, "<redacted>");
        }
        err
    }
}

/// A reply over one of our size caps: the provider misbehaves, as with unreadable JSON.
pub(crate) fn too_large(what: &str, cap: usize) -> ProviderError {
    ProviderError::new(
        ErrorKind::BadResponse,
        format!("the provider's {what} is larger than {} MiB; refused", cap / (1024 * 1024)),
    )
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

async fn read_capped(mut resp: Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            body.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// The provider's own error text from the common error body shapes:
/// `{"error": {"message": ..}}` (OpenAI, Anthropic, Gemini), `{"error": ".."}`
/// (Ollama), `{"message": ..}`.
pub(crate) fn error_text(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let text = v
        .pointer("/error/message")
        .or_else(|| v.get("error").filter(|e| e.is_string()))
        .or_else(|| v.get("message"))
        .or_else(|| v.get("detail"))?;
    text.as_str().map(str::to_string)
}

fn error_code(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.pointer("/error/code").or_else(|| v.pointer("/error/type")).and_then(|c| c.as_str().map(str::to_string))
}

/// Whether a 400's text says the prompt was too long for the model.
pub(crate) fn is_context_error(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "context_length_exceeded",
        "context length",
        "context window",
        "maximum context",
        "prompt is too long",
        "too many tokens",
        "exceeds the maximum number of tokens",
        "input is too long",
    ]
    .iter()
    .any(|p| t.contains(p))
}

/// Retry-After in seconds or as an HTTP date; OpenAI's `retry-after-ms` too.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    // Capped before converting: a huge value would overflow Duration and panic.
    let seconds =
        |s: f64| (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s.min(MAX_RETRY_AFTER.as_secs_f64())));
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    let v = get("retry-after")?;
    if let Ok(secs) = v.parse::<f64>() {
        return seconds(secs);
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default().min(MAX_RETRY_AFTER))
}

pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: &str) -> ProviderError {
    let said = error_text(body).unwrap_or_else(|| {
        let t: String = body.chars().take(300).collect();
        if t.trim().is_empty() {
            status.canonical_reason().unwrap_or("no details").to_string()
        } else {
            t
        }
    });
    let code = error_code(body).unwrap_or_default();
    if status.is_redirection() {
        // Not followed: the key would travel to wherever the redirect points.
        let to = headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("another address");
        let mut err = ProviderError::new(
            ErrorKind::InvalidRequest,
            format!(
                "the provider redirected the request to {to} (HTTP {}); redirects are not followed so that the API key stays with the configured host: set the base URL to the final address",
                status.as_u16()
            ),
        );
        err.status = Some(status.as_u16());
        return err;
    }
    let (kind, what) = match status.as_u16() {
        401 | 403 => (ErrorKind::Auth, "the API key was refused (check it on the Providers page)"),
        429 => (ErrorKind::RateLimited, "the provider is rate-limiting this key"),
        408 | 504 => (ErrorKind::Timeout, "the provider timed out"),
        404 => (ErrorKind::InvalidRequest, "the provider does not know this model or path"),
        400 | 413 | 422 if is_context_error(&said) || is_context_error(&code) => {
            (ErrorKind::ContextTooLong, "the prompt is too long for this model")
        }
        400..=499 => (ErrorKind::InvalidRequest, "the provider refused the request"),
        503 | 529 => (ErrorKind::Unavailable, "the provider is overloaded or unavailable"),
        _ => (ErrorKind::Server, "the provider failed"),
    };
    let mut err = ProviderError::new(kind, format!("{what}: HTTP {}: {said}", status.as_u16()));
    err.status = Some(status.as_u16());
    err.retry_after = retry_after(headers);
    err
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn statuses_are_classified() {
        let h = HeaderMap::new();
        let k = |s: u16, body: &str| classify(StatusCode::from_u16(s).unwrap(), &h, body).kind;
        assert_eq!(k(401, r#"{"error":{"message":"bad key"}}"#), ErrorKind::Auth);
        assert_eq!(k(403, ""), ErrorKind::Auth);
        assert_eq!(k(429, ""), ErrorKind::RateLimited);
        assert_eq!(k(500, ""), ErrorKind::Server);
        assert_eq!(k(502, ""), ErrorKind::Server);
        assert_eq!(k(503, ""), ErrorKind::Unavailable);
        assert_eq!(
            k(529, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            ErrorKind::Unavailable
        );
        assert_eq!(k(400, r#"{"error":{"message":"bad param","code":"invalid_value"}}"#), ErrorKind::InvalidRequest);
        assert_eq!(k(400, r#"{"error":{"message":"x","code":"context_length_exceeded"}}"#), ErrorKind::ContextTooLong);
        assert_eq!(
            k(
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#
            ),
            ErrorKind::ContextTooLong
        );
    }

    #[test]
    fn messages_carry_the_providers_words() {
        let e = classify(StatusCode::UNAUTHORIZED, &HeaderMap::new(), r#"{"error":"invalid api key"}"#);
        assert!(e.message.contains("invalid api key") && e.message.contains("401"), "{}", e.message);
        assert_eq!(e.status, Some(401));
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&soon).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(25) && d <= Duration::from_secs(30), "{d:?}");
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn overflowing_retry_after_values_are_capped_not_panicking() {
        for (name, value) in [
            ("retry-after", "1e20"),
            ("retry-after", "18446744073709551616"),
            ("retry-after-ms", "1e300"),
            ("retry-after-ms", "99999999999999999999999"),
        ] {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER), "{name}: {value}");
        }
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("Fri, 31 Dec 9999 23:59:59 GMT"));
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        for bad in ["-5", "NaN", "inf"] {
            h.insert("retry-after", HeaderValue::from_static(bad));
            assert_eq!(retry_after(&h), None, "{bad}");
        }
    }

    #[test]
    fn names_become_single_path_segments() {
        assert_eq!(segment("gemini-2.0-flash"), "gemini-2.0-flash");
        assert_eq!(segment("my deployment/../../admin?x=1#f"), "my%20deployment%2F..%2F..%2Fadmin%3Fx%3D1%23f");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("qwen3:32b"), "qwen3%3A32b");
    }

    #[test]
    fn scrub_removes_the_key() {
        let http = Http { client: reqwest::Client::new(), key: Some("sk-secret-123456".into()) };
        let e = http.scrub(ProviderError::new(ErrorKind::Auth, "Incorrect API key provided: sk-secret-123456."));
        assert!(!e.message.contains("sk-secret-123456"));
    }
}
