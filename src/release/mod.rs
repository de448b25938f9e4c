//! The signing pipeline: walk a release, hash every file, write a `SHA256SUMS` manifest,
//! sign its digest with one KMS call, and bundle what a verifier needs; then, offline,
//! check a bundle's signature and any subset of the files against it.

pub mod attest;
pub mod attest_verify;
pub mod bundle;
pub mod cms;
mod fields;
pub mod formats;
pub mod hash;
pub mod manifest;
pub mod openpgp;
pub mod provenance;
pub mod sign;
pub mod sigstore;
pub mod sshsig;
pub mod verify;
mod verify_formats;
pub mod walk;

use crate::kms::KmsError;
use crate::x509::CertError;

/// Why signing, or reading a bundle, could not go on. Each has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The KMS refused or failed (disabled key, unknown version, ...). The message alone:
    /// the code is printed beside it (`error [code]: message`), not twice.
    #[error("{}", .0.message)]
    Kms(#[from] KmsError),
    /// A certificate that is unusable, or that does not vouch for this key version.
    #[error("{}", .0.message)]
    Certificate(#[from] CertError),
    /// Files could not be found, read or named; every problem is listed.
    #[error("cannot use the release's files:\n  {}", .0.join("\n  "))]
    Files(Vec<String>),
    /// A given input (bundle, manifest, public key, flag) is unusable.
    #[error("{0}")]
    Input(String),
    /// A signature format was asked for that the key version cannot sign in (secp256k1 or
    /// RSA-PSS as an SSH signature).
    #[error("{0}")]
    UnsupportedFormat(String),
    /// The time-stamp authority refused, could not be reached, or answered wrongly.
    #[error("{}", .0.message)]
    Timestamp(#[from] crate::tsa::TsaError),
    /// An output could not be written.
    #[error("cannot write {path}: {error}")]
    Output {
        /// The file.
        path: String,
        /// The OS's words.
        error: String,
    },
}

impl ReleaseError {
    /// The stable code printed with the error and in `--json` output.
    pub fn code(&self) -> String {
        match self {
            ReleaseError::Kms(err) => err.code.as_str().to_string(),
            ReleaseError::Certificate(err) => err.reason.code().to_string(),
            ReleaseError::Files(_) => "unreadable-files".into(),
            ReleaseError::Input(_) => "bad-input".into(),
            ReleaseError::UnsupportedFormat(_) => "unsupported-format".into(),
            ReleaseError::Timestamp(err) => err.code.clone(),
            ReleaseError::Output { .. } => "cannot-write".into(),
        }
    }
}
