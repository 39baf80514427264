//! The gateway's hold on secrets: the master key, sealing a new API key for a
//! provider row, and opening a provider's keys for the length of one request.

use std::sync::Mutex;

use serde::Serialize;
use switchboard_core::{AppError, ErrorCode};
use switchboard_secrets::{mask, open, seal, KeyStorage, MasterKey, Sealed};
use switchboard_store::queries::providers::StoredKey;
use zeroize::Zeroizing;

use crate::Gateway;

const CHECK_PLAINTEXT: &[u8] = b"switchboard master key check";
const CHECK_AAD: &[u8] = b"secret_check";

/// Where keys are protected, and anything that stops them being used; shown on the Providers page.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct VaultStatus {
    pub storage: Option<KeyStorage>,
    /// Why stored keys cannot be used, when they cannot.
    pub problem: Option<String>,
}

pub struct Vault {
    /// The master key found, and possibly a second one (a key file beside a
    /// keyring entry); the one that opens the check value is used.
    candidates: Vec<(MasterKey, KeyStorage)>,
    chosen: std::sync::atomic::AtomicUsize,
    problem: Mutex<Option<String>>,
}

impl Vault {
    pub fn new(found: Result<(MasterKey, KeyStorage), String>) -> Self {
        Self::with_candidates(found, None)
    }

    /// `other`: a second master key (a key file while the keyring holds one).
    pub fn with_candidates(
        found: Result<(MasterKey, KeyStorage), String>,
        other: Option<(MasterKey, KeyStorage)>,
    ) -> Self {
        match found {
            Ok(first) => Self {
                candidates: std::iter::once(first).chain(other).collect(),
                chosen: 0.into(),
                problem: Mutex::new(None),
            },
            Err(problem) => Self { candidates: Vec::new(), chosen: 0.into(), problem: Mutex::new(Some(problem)) },
        }
    }

    fn chosen(&self) -> Option<&(MasterKey, KeyStorage)> {
        self.candidates.get(self.chosen.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn status(&self) -> VaultStatus {
        VaultStatus {
            storage: self.chosen().map(|(_, s)| s.clone()),
            problem: self.problem.lock().expect("vault lock").clone(),
        }
    }

    fn key(&self) -> Result<&MasterKey, AppError> {
        self.chosen().map(|(k, _)| k).ok_or_else(|| {
            let why = self.problem.lock().expect("vault lock").clone().unwrap_or_default();
            AppError::new(ErrorCode::SecretUnavailable, format!("API keys cannot be used: {why}"))
        })
    }
}

/// A key is bound to its row and to its provider: a sealed key copied to
/// another provider's row (or another row) does not open.
fn aad(provider_id: &str, key_id: &str) -> Vec<u8> {
    format!("provider_key:{provider_id}:{key_id}").into_bytes()
}

/// What keys sealed before the provider id was bound carry; they still open.
fn legacy_aad(key_id: &str) -> Vec<u8> {
    format!("provider_key:{key_id}").into_bytes()
}

impl Gateway {
    pub fn vault_status(&self) -> VaultStatus {
        self.vault.status()
    }

    /// At start-up: records a check value under a new master key, or finds
    /// out that the stored keys were sealed under another one.
    pub async fn check_master_key(&self) -> Result<(), AppError> {
        let Ok(key) = self.vault.key() else { return Ok(()) };
        match self.store.secret_check().await? {
            None => {
                let sealed = seal(key, CHECK_PLAINTEXT, CHECK_AAD).map_err(internal)?;
                self.store.set_secret_check(&sealed.nonce, &sealed.ciphertext).await?;
            }
            Some((nonce, ciphertext)) => {
                let sealed = Sealed { nonce, ciphertext };
                // With two master keys (keyring and file), the one that opens what was sealed.
                match self.vault.candidates.iter().position(|(k, _)| open(k, &sealed, CHECK_AAD).is_ok()) {
                    Some(i) => {
                        if i != self.vault.chosen.swap(i, std::sync::atomic::Ordering::Relaxed) {
                            tracing::warn!(storage = ?self.vault.candidates[i].1, "two master keys found; using the one that opens the stored keys");
                        }
                    }
                    None => {
                        *self.vault.problem.lock().expect("vault lock") =
                            Some(switchboard_secrets::SecretsError::WrongKey.to_string());
                    }
                }
            }
        }
        Ok(())
    }

    /// After the admin saved keys: when the stored keys were sealed under
    /// another master key ("enter the API key again") and every stored key now
    /// opens, the check value is sealed anew under this master key and the
    /// warning ends.
    pub async fn recheck_master_key(&self) -> Result<(), AppError> {
        let Ok(key) = self.vault.key() else { return Ok(()) };
        if self.vault.problem.lock().expect("vault lock").is_none() {
            return Ok(());
        }
        for provider in self.store.providers().await? {
            if self.open_keys(&provider.settings.id).await.is_err() {
                return Ok(());
            }
        }
        let sealed = seal(key, CHECK_PLAINTEXT, CHECK_AAD).map_err(internal)?;
        self.store.set_secret_check(&sealed.nonce, &sealed.ciphertext).await?;
        *self.vault.problem.lock().expect("vault lock") = None;
        tracing::info!("every stored API key opens with this master key again; the check value is renewed");
        Ok(())
    }

    /// Seals `plaintext` for a key row (a new id when `id` is none).
    pub fn seal_key(
        &self,
        provider_id: &str,
        id: Option<&str>,
        position: i64,
        plaintext: &str,
    ) -> Result<StoredKey, AppError> {
        let plaintext = plaintext.trim();
        if plaintext.is_empty() || plaintext.len() > 4096 || plaintext.chars().any(char::is_whitespace) {
            return Err(AppError::for_field(
                "api_key",
                "an API key is 1 to 4096 characters without spaces or line breaks",
            ));
        }
        let key = self.vault.key()?;
        let id = id.map(str::to_string).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let sealed = seal(key, plaintext.as_bytes(), &aad(provider_id, &id)).map_err(internal)?;
        Ok(StoredKey {
            id,
            provider_id: provider_id.to_string(),
            position,
            mask: mask(plaintext),
            nonce: sealed.nonce,
            ciphertext: sealed.ciphertext,
        })
    }

    /// A provider's keys in the order they are tried, decrypted.
    pub async fn open_keys(&self, provider_id: &str) -> Result<Vec<(String, Zeroizing<String>)>, AppError> {
        let stored = self.store.provider_keys(provider_id).await?;
        if stored.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.vault.key()?;
        stored
            .into_iter()
            .map(|k| {
                let sealed = Sealed { nonce: k.nonce, ciphertext: k.ciphertext };
                let plain = open(key, &sealed, &aad(provider_id, &k.id))
                    .or_else(
                        |e| if k.provider_id == provider_id { open(key, &sealed, &legacy_aad(&k.id)) } else { Err(e) },
                    )
                    .map_err(|e| AppError::new(ErrorCode::SecretUnavailable, format!("{provider_id}: {e}")))?;
                let text = String::from_utf8(plain.to_vec())
                    .map_err(|_| AppError::new(ErrorCode::SecretUnavailable, "a stored key is not text"))?;
                Ok((k.id, Zeroizing::new(text)))
            })
            .collect()
    }
}

fn internal(e: switchboard_secrets::SecretsError) -> AppError {
    AppError::new(ErrorCode::Internal, e.to_string())
}
