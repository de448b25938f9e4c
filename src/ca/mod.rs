//! The mini-CA: root and intermediate CAs whose keys are KMS key versions, certificates
//! for purposes (code signing, TLS server/client, email, time stamping, intermediate CA)
//! bound to a KMS key version or a CSR's key, an index of everything issued, revocation
//! and CRLs. Signing goes through `KmsSigner`; the CA holds no private key bytes.

pub mod crl;
pub mod csr;
pub mod index;
pub mod issue;
pub mod key_policy;
pub mod profile;
pub mod request;
pub mod signer;
pub mod subject;

use crate::kms::KmsError;

/// A refused or failed CA operation: a stable code (KMS codes pass through) and a
/// message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CaError {
    /// Stable code, e.g. `outlives-issuer`, `not-a-ca`, `bad-csr`, `Rejected.Disabled`.
    pub code: String,
    /// What happened and what to do next.
    pub message: String,
}

impl CaError {
    /// An error with `code`.
    pub fn new(code: &str, message: impl Into<String>) -> CaError {
        CaError { code: code.to_string(), message: message.into() }
    }

    /// A failure that is not the user's doing.
    pub fn internal(message: impl Into<String>) -> CaError {
        CaError::new("internal", message)
    }
}

impl From<KmsError> for CaError {
    fn from(err: KmsError) -> CaError {
        CaError { code: err.code.as_str().to_string(), message: err.message }
    }
}

impl From<der::Error> for CaError {
    fn from(err: der::Error) -> CaError {
        CaError::internal(format!("DER encoding failed: {err}"))
    }
}
