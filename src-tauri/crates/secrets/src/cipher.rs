//! Sealing and opening secrets with XChaCha20-Poly1305 (random 192-bit nonces).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::{MasterKey, SecretsError};

/// A sealed secret as stored: nonce and ciphertext (with its tag).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({} bytes)", self.ciphertext.len())
    }
}

/// Encrypts `plaintext`, binding `aad` (the owning row's id) to it.
pub fn seal(key: &MasterKey, plaintext: &[u8], aad: &[u8]) -> Result<Sealed, SecretsError> {
    let cipher = XChaCha20Poly1305::new(key.bytes().into());
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(|e| SecretsError::Random(e.to_string()))?;
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad })
        .map_err(|_| SecretsError::Crypto("encryption failed".into()))?;
    Ok(Sealed { nonce: nonce.to_vec(), ciphertext })
}

/// Decrypts what [`seal`] produced with the same key and `aad`.
pub fn open(key: &MasterKey, sealed: &Sealed, aad: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, SecretsError> {
    if sealed.nonce.len() != 24 {
        return Err(SecretsError::Crypto(format!("a stored nonce has {} bytes, not 24", sealed.nonce.len())));
    }
    let cipher = XChaCha20Poly1305::new(key.bytes().into());
    cipher
        .decrypt(XNonce::from_slice(&sealed.nonce), Payload { msg: &sealed.ciphertext, aad })
        .map(zeroize::Zeroizing::new)
        .map_err(|_| SecretsError::WrongKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_tamper_fails() {
        let key = MasterKey::random().unwrap();
        let sealed = seal(&key, b"sk-live-secret", b"row-1").unwrap();
        assert!(!sealed.ciphertext.windows(14).any(|w| w == b"sk-live-secret"));
        assert_eq!(&open(&key, &sealed, b"row-1").unwrap()[..], b"sk-live-secret");

        assert!(matches!(open(&key, &sealed, b"row-2"), Err(SecretsError::WrongKey)), "bound to its row");
        let other = MasterKey::random().unwrap();
        assert!(matches!(open(&other, &sealed, b"row-1"), Err(SecretsError::WrongKey)), "another master key");
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert!(open(&key, &flipped, b"row-1").is_err());
        let short = Sealed { nonce: vec![0; 12], ciphertext: sealed.ciphertext.clone() };
        assert!(matches!(open(&key, &short, b"row-1"), Err(SecretsError::Crypto(_))));
    }

    #[test]
    fn nonces_are_fresh() {
        let key = MasterKey::random().unwrap();
        let a = seal(&key, b"same", b"r").unwrap();
        let b = seal(&key, b"same", b"r").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }
}
