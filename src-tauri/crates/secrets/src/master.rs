//! The master key: found in (or created in) the OS keyring, else in a key
//! file readable only by the user. Keyring calls run on a helper thread with a
//! time-out, because a locked keyring can open an invisible prompt and wait
//! forever.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use serde::Serialize;
use zeroize::Zeroizing;

const KEYRING_USER: &str = "master-key";
const KEYRING_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    /// The secret was sealed under another master key, or tampered with.
    #[error(
        "a stored secret cannot be decrypted with this workstation's master key (the keyring entry or key file was replaced); enter the API key again"
    )]
    WrongKey,
    #[error("encryption failed: {0}")]
    Crypto(String),
    #[error("the system's random number generator failed: {0}")]
    Random(String),
    #[error("the OS keyring is required (SWITCHBOARD_SECRET_STORE=keyring) but not usable: {0}")]
    KeyringRequired(String),
    /// A Secret Service answers but is locked, refuses or is too slow: no
    /// second master key is made in a file behind its back.
    #[error(
        "the OS keyring is there but cannot be used now ({0}): unlock it (log in to the desktop's keyring) and start Switchboard again, or set SWITCHBOARD_SECRET_STORE=file to keep the master key in a file"
    )]
    KeyringUnavailable(String),
    #[error("the master key file {path} cannot be used: {reason}")]
    KeyFile { path: String, reason: String },
}

/// Where the master key lives; shown to the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyStorage {
    /// The OS keyring (Secret Service on Linux).
    Keyring,
    /// A file only this user can read, because no keyring answered.
    File { path: String, reason: String },
}

/// Which store to use; `Auto` prefers the keyring and falls back to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorePreference {
    Auto,
    Keyring,
    File,
}

impl StorePreference {
    /// From `SWITCHBOARD_SECRET_STORE` (`keyring`, `file`, or unset for auto).
    pub fn from_env() -> Self {
        match std::env::var("SWITCHBOARD_SECRET_STORE").as_deref() {
            Ok("keyring") => Self::Keyring,
            Ok("file") => Self::File,
            _ => Self::Auto,
        }
    }
}

/// 256 random bits, wiped from memory when dropped.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn random() -> Result<Self, SecretsError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|e| SecretsError::Random(e.to_string()))?;
        Ok(Self(bytes))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key from its 32 bytes (for tools and tests that hold one already).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn from_hex(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// The key a key file holds besides the one [`Self::load_or_create`]
    /// found in the keyring, if there is such a file: with two candidates the
    /// caller uses the one that opens what was sealed (and says so).
    pub fn other_in_file(key_file: &Path, found: &KeyStorage) -> Option<(Self, KeyStorage)> {
        if *found != KeyStorage::Keyring || !key_file.exists() {
            return None;
        }
        match read_key_file(key_file) {
            Ok(key) => Some((
                key,
                KeyStorage::File {
                    path: key_file.display().to_string(),
                    reason: "the OS keyring and this file both hold a master key; this one opens the stored API keys"
                        .into(),
                },
            )),
            Err(e) => {
                tracing::warn!(%e, "a second master key file is there but unreadable");
                None
            }
        }
    }

    /// Finds the master key, or creates one: the keyring entry
    /// `service`/`master-key` first, then `key_file`; a new key goes to the
    /// keyring when it answers, else to `key_file` (mode 0600).
    pub fn load_or_create(
        key_file: &Path,
        service: &str,
        preference: StorePreference,
    ) -> Result<(Self, KeyStorage), SecretsError> {
        let keyring = if preference == StorePreference::File {
            Err(KeyringError::Absent("file storage was chosen (SWITCHBOARD_SECRET_STORE=file)".to_string()))
        } else {
            keyring_get(service)
        };
        match &keyring {
            Ok(Some(hex)) => {
                if let Some(key) = Self::from_hex(hex) {
                    return Ok((key, KeyStorage::Keyring));
                }
                tracing::warn!("the keyring's master key entry is malformed; looking for the key file");
            }
            Ok(None) => {}
            Err(KeyringError::Absent(reason)) => tracing::info!(%reason, "no OS keyring"),
            Err(KeyringError::Unavailable(reason)) => tracing::warn!(%reason, "the OS keyring cannot be used now"),
        }
        // An existing key file is the key: it was made when no keyring was there.
        if preference != StorePreference::Keyring && key_file.exists() {
            let key = read_key_file(key_file)?;
            let reason = match &keyring {
                Err(KeyringError::Absent(r) | KeyringError::Unavailable(r)) => r.clone(),
                Ok(_) => "the master key was created in this file when no keyring was available".into(),
            };
            return Ok((key, KeyStorage::File { path: key_file.display().to_string(), reason }));
        }
        match keyring {
            Ok(_) => {
                let key = Self::random()?;
                match keyring_set(service, &key.to_hex()) {
                    Ok(()) => Ok((key, KeyStorage::Keyring)),
                    Err(reason) if preference == StorePreference::Keyring => Err(SecretsError::KeyringRequired(reason)),
                    // The keyring answered but would not keep the key (locked, a
                    // prompt nobody can answer, too slow): not a reason for a file.
                    Err(reason) => Err(SecretsError::KeyringUnavailable(reason)),
                }
            }
            Err(KeyringError::Absent(reason) | KeyringError::Unavailable(reason))
                if preference == StorePreference::Keyring =>
            {
                Err(SecretsError::KeyringRequired(reason))
            }
            Err(KeyringError::Unavailable(reason)) => Err(SecretsError::KeyringUnavailable(reason)),
            // No Secret Service at all: the only case for a key file.
            Err(KeyringError::Absent(reason)) => {
                let key = Self::random()?;
                write_key_file(key_file, &key)?;
                Ok((key, KeyStorage::File { path: key_file.display().to_string(), reason }))
            }
        }
    }
}

/// Runs a keyring call on its own thread, giving up after the time-out
/// with `timed_out`'s error.
fn with_timeout<T: Send + 'static, E: Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
    timed_out: impl FnOnce(String) -> E,
) -> Result<T, E> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(KEYRING_TIMEOUT).unwrap_or_else(|_| {
        Err(timed_out(format!("the keyring did not answer within {} s (locked?)", KEYRING_TIMEOUT.as_secs())))
    })
}

/// Why the keyring could not be read.
enum KeyringError {
    /// No Secret Service in this session at all: a key file is the fallback.
    Absent(String),
    /// A Secret Service is there but locked, refusing or too slow.
    Unavailable(String),
}

/// Whether a keyring error means there is no Secret Service to talk to.
fn means_absent(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "no such file",
        "connection refused",
        "serviceunknown",
        "not provided by any",
        "noserver",
        "failed to connect",
        "dbus_session_bus_address",
        "no session bus",
        "name has no owner",
        "address is not set",
        "default store",
    ]
    .iter()
    .any(|n| t.contains(n))
}

/// `Ok(None)`: the keyring works but holds no master key yet.
fn keyring_get(service: &str) -> Result<Option<Zeroizing<String>>, KeyringError> {
    let service = service.to_string();
    with_timeout(
        move || match keyring::Entry::new(&service, KEYRING_USER) {
            Err(e) => Err(KeyringError::Absent(format!("no Secret Service answers in this session: {e}"))),
            Ok(entry) => match entry.get_password() {
                Ok(p) => Ok(Some(Zeroizing::new(p))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) if means_absent(&e.to_string()) => {
                    Err(KeyringError::Absent(format!("no Secret Service answers in this session: {e}")))
                }
                Err(e) => Err(KeyringError::Unavailable(format!("the OS keyring refused access: {e}"))),
            },
        },
        KeyringError::Unavailable,
    )
}

fn keyring_set(service: &str, hex: &str) -> Result<(), String> {
    let service = service.to_string();
    let hex = Zeroizing::new(hex.to_string());
    with_timeout(
        move || {
            let entry = keyring::Entry::new(&service, KEYRING_USER).map_err(|e| e.to_string())?;
            entry.set_password(&hex).map_err(|e| e.to_string())?;
            // Read it back: a store that accepts but does not keep is no store.
            match entry.get_password() {
                Ok(back) if back == *hex => Ok(()),
                Ok(_) => Err("the keyring returned a different value than was stored".into()),
                Err(e) => Err(e.to_string()),
            }
        },
        |why| why,
    )
}

fn key_file_error(path: &Path, reason: impl ToString) -> SecretsError {
    SecretsError::KeyFile { path: path.display().to_string(), reason: reason.to_string() }
}

fn read_key_file(path: &Path) -> Result<MasterKey, SecretsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(|e| key_file_error(path, e))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(key_file_error(
                path,
                format!("it is readable by other users (mode {:o}); run chmod 600 on it", mode & 0o777),
            ));
        }
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| key_file_error(path, e))?);
    MasterKey::from_hex(&text).ok_or_else(|| key_file_error(path, "it does not hold a 256-bit key in hex"))
}

fn write_key_file(path: &Path, key: &MasterKey) -> Result<(), SecretsError> {
    let dir: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    switchboard_files::create_private_dir(&dir).map_err(|e| key_file_error(path, e))?;
    let mut options = switchboard_files::private_file_options();
    options.write(true).create_new(true);
    let mut file = options.open(path).map_err(|e| key_file_error(path, e))?;
    file.write_all(key.to_hex().as_bytes()).and_then(|_| file.sync_all()).map_err(|e| key_file_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_debug_redacts() {
        let k = MasterKey::random().unwrap();
        let back = MasterKey::from_hex(&k.to_hex()).unwrap();
        assert_eq!(k.bytes(), back.bytes());
        assert!(MasterKey::from_hex("zz").is_none());
        assert!(!format!("{k:?}").contains(&k.to_hex()[..8]));
    }

    #[test]
    fn file_store_creates_a_private_file_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets").join("master.key");
        let (a, storage) = MasterKey::load_or_create(&path, "switchboard-test", StorePreference::File).unwrap();
        assert!(matches!(storage, KeyStorage::File { .. }));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (b, _) = MasterKey::load_or_create(&path, "switchboard-test", StorePreference::File).unwrap();
        assert_eq!(a.bytes(), b.bytes());
    }

    #[test]
    fn unsafe_or_corrupt_key_files_are_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, "not hex").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let err = MasterKey::load_or_create(&path, "t", StorePreference::File).unwrap_err();
            assert!(err.to_string().contains("256-bit"), "{err}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = MasterKey::load_or_create(&path, "t", StorePreference::File).unwrap_err();
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
    }
}
