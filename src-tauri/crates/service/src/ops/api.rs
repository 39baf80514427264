//! The local HTTP API's settings and tokens. A token is `sb-` and 43
//! characters of base64url (256 random bits); only its SHA-256 is stored, so
//! it is shown once, when it is created.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use switchboard_core::{validate_token_name, ApiServerSettings, ApiToken, AppError, CreatedToken, TokenScope};

use crate::state::AppState;

/// What every token starts with (so that a leaked one is recognisable).
pub const TOKEN_PREFIX: &str = "sb-";

pub async fn settings(state: &AppState) -> Result<ApiServerSettings, AppError> {
    Ok(state.store().api_settings().await?)
}

pub async fn save_settings(state: &AppState, settings: ApiServerSettings) -> Result<ApiServerSettings, AppError> {
    settings.validate()?;
    state.store().save_api_settings(&state.actor, &settings).await?;
    Ok(settings)
}

pub async fn tokens(state: &AppState) -> Result<Vec<ApiToken>, AppError> {
    Ok(state.store().api_tokens().await?)
}

/// Creates a token; the returned secret is the only copy there will ever be.
pub async fn create_token(state: &AppState, name: &str, scope: TokenScope) -> Result<CreatedToken, AppError> {
    let name = validate_token_name(name)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::new(switchboard_core::ErrorCode::Internal, format!("no randomness: {e}")))?;
    let secret = format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 4).collect();
    let token = state.store().create_api_token(&state.actor, &name, scope, &hash_token(&secret), &prefix).await?;
    Ok(CreatedToken { token, secret })
}

pub async fn revoke_token(state: &AppState, name: &str) -> Result<ApiToken, AppError> {
    Ok(state.store().revoke_api_token(&state.actor, name.trim()).await?)
}

/// The stored form of a token.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
