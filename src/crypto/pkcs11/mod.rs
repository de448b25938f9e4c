//! Keys in a hardware token, through PKCS#11 (the `cryptoki` crate, which loads the
//! token's module at run time: no C library is needed to build keyseal). The KMS keeps an
//! HSM key version's public key and its objects' CKA_ID; the private key is made in the
//! token, marked sensitive and never extractable, and every signature and decryption
//! happens there.
//!
//! - `uri`: the RFC 7512 URI that names the token, its module and where its PIN is.
//! - `token`: the token, opened and logged in once per process, and its sessions.
//! - `objects`: generating, using and destroying keyseal's key objects.

mod objects;
mod token;
mod uri;

pub use objects::{TokenKey, destroy, generate};
pub use token::Token;
pub use uri::Pkcs11Uri;

/// Why a token operation failed; the KMS answers each kind with its own code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The module, the token or its login is not there (not loadable, absent, locked, a
    /// device error, the PIN file unreadable): worth retrying once the operator fixes it.
    #[error("{0}")]
    Unavailable(String),
    /// The token refused the PIN.
    #[error("{0}")]
    PinIncorrect(String),
    /// The token does not do this key type, curve or mechanism.
    #[error("{0}")]
    Unsupported(String),
    /// The ciphertext does not decrypt with this key.
    #[error("the ciphertext does not decrypt with this key version and algorithm")]
    DecryptionFailed,
}
