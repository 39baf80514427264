//! The local HTTP API's settings and tokens, as the Settings page, the
//! command line and the server see them.

use serde::{Deserialize, Serialize};

use crate::AppError;

/// The port the API listens on unless the admin picks another.
pub const DEFAULT_API_PORT: u16 = 4315;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// The model APIs (chat, generate, embeddings, listings) and reading the configuration.
    Use,
    /// Also changing the configuration.
    Admin,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Use => "use",
            TokenScope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "use" => Some(TokenScope::Use),
            "admin" => Some(TokenScope::Admin),
            _ => None,
        }
    }
}

/// A token as lists show it: never the token itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    /// The token's first characters (`sb-AbCd`), to tell tokens apart.
    pub prefix: String,
    pub created_at: String,
    pub created_by: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// The most characters a token's name may have.
pub const MAX_TOKEN_NAME_CHARS: usize = 64;

/// A token's name: 1 to 64 letters, digits, `-`, `_` or `.` (it appears in the ledger as `token:<name>`).
pub fn validate_token_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS {
        return Err(AppError::for_field("name", format!("a token's name is 1 to {MAX_TOKEN_NAME_CHARS} characters")));
    }
    if !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(AppError::for_field("name", "a token's name may hold letters, digits, '-', '_' and '.' only"));
    }
    Ok(name.to_string())
}

/// How the local HTTP API serves: kept in the app's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ApiServerSettings {
    /// Started with the app (and by `switchboard serve` regardless).
    pub enabled: bool,
    /// `127.0.0.1` unless the admin chooses another interface.
    pub host: String,
    pub port: u16,
    /// Origins allowed by CORS; none sends no CORS headers at all.
    pub allowed_origins: Vec<String>,
    /// Images given as http(s) URLs are fetched (off by default: requests stay on this machine).
    pub fetch_image_urls: bool,
    /// The largest request body, in MiB.
    pub max_body_mib: u32,
    /// The most images in one request.
    pub max_images: u32,
    /// Requests served at once; more wait in line up to the same number again, then are refused.
    pub max_concurrent: u32,
    /// The use case a request for a concrete model (`local/<id>`, `provider/model`) is recorded under.
    pub default_use_case: String,
}

impl Default for ApiServerSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            host: "127.0.0.1".into(),
            port: DEFAULT_API_PORT,
            allowed_origins: Vec::new(),
            fetch_image_urls: false,
            max_body_mib: 32,
            max_images: 4,
            max_concurrent: 64,
            default_use_case: "answer_generation".into(),
        }
    }
}

impl ApiServerSettings {
    /// Checks every field; the first refusal names its field.
    pub fn validate(&self) -> Result<(), AppError> {
        let host = self.host.trim();
        if host.is_empty() || host.parse::<std::net::IpAddr>().is_err() && host != "localhost" {
            return Err(AppError::for_field(
                "host",
                format!("'{host}' is not an IP address (127.0.0.1, 0.0.0.0, ::1)"),
            ));
        }
        if self.port == 0 {
            return Err(AppError::for_field("port", "a port from 1 to 65535"));
        }
        for origin in &self.allowed_origins {
            if !is_origin(origin) {
                return Err(AppError::for_field(
                    "allowed_origins",
                    format!("'{origin}' is not an origin (scheme, host and port, e.g. http://localhost:3000)"),
                ));
            }
        }
        if !(1..=512).contains(&self.max_body_mib) {
            return Err(AppError::for_field("max_body_mib", "from 1 to 512 MiB"));
        }
        if !(1..=16).contains(&self.max_images) {
            return Err(AppError::for_field("max_images", "from 1 to 16 images"));
        }
        if !(1..=4096).contains(&self.max_concurrent) {
            return Err(AppError::for_field("max_concurrent", "from 1 to 4096 requests"));
        }
        if self.default_use_case.trim().is_empty() {
            return Err(AppError::for_field(
                "default_use_case",
                "name the use case requests for a concrete model are recorded under",
            ));
        }
        Ok(())
    }

    /// Whether the address reaches beyond this machine.
    pub fn is_exposed(&self) -> bool {
        let host = self.host.trim();
        host != "localhost" && host.parse::<std::net::IpAddr>().map_or(true, |ip| !ip.is_loopback())
    }
}

/// `scheme://host[:port]` with nothing after it.
fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else { return false };
    matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.contains(['/', ' ', '?', '#'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_refuse_what_cannot_serve_and_name_the_field() {
        assert!(ApiServerSettings::default().validate().is_ok());
        assert!(!ApiServerSettings::default().is_exposed());
        let bad = |f: fn(&mut ApiServerSettings)| {
            let mut s = ApiServerSettings::default();
            f(&mut s);
            s.validate().unwrap_err().field.unwrap()
        };
        assert_eq!(bad(|s| s.host = "my laptop".into()), "host");
        assert_eq!(bad(|s| s.port = 0), "port");
        assert_eq!(bad(|s| s.allowed_origins = vec!["localhost:3000".into()]), "allowed_origins");
        assert_eq!(bad(|s| s.allowed_origins = vec!["http://a.test/path".into()]), "allowed_origins");
        assert_eq!(bad(|s| s.max_body_mib = 0), "max_body_mib");
        assert_eq!(bad(|s| s.max_images = 17), "max_images");
        assert_eq!(bad(|s| s.max_concurrent = 0), "max_concurrent");
        let mut open = ApiServerSettings { host: "0.0.0.0".into(), ..Default::default() };
        open.allowed_origins = vec!["http://localhost:3000".into(), "https://app.example.com".into()];
        assert!(open.validate().is_ok());
        assert!(open.is_exposed());
        assert!(!ApiServerSettings { host: "::1".into(), ..Default::default() }.is_exposed());
    }

    #[test]
    fn token_names_are_what_the_ledger_can_show() {
        assert_eq!(validate_token_name("  rag-service_1.2 ").unwrap(), "rag-service_1.2");
        assert!(validate_token_name("").is_err());
        assert!(validate_token_name("has space").is_err());
        assert!(validate_token_name("a:b").is_err());
        assert!(validate_token_name(&"x".repeat(65)).is_err());
    }
}
