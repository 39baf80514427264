//! Switchboard's secrets. A random 256-bit master key lives in the OS keyring
//! (Secret Service, Keychain, Credential Manager); where no keyring answers it
//! lives in a key file only the user can read, and the app says so. API keys
//! are sealed with XChaCha20-Poly1305 under that key, with the row they belong
//! to bound as associated data, so a ciphertext copied to another row fails.
//!
//! **Architecture Invariant:** plaintext secrets exist only in memory; this
//! crate never logs one, and `Debug` on its types never prints one.

mod cipher;
mod mask;
mod master;

pub use cipher::{open, seal, Sealed};
pub use mask::mask;
pub use master::{KeyStorage, MasterKey, SecretsError, StorePreference};
