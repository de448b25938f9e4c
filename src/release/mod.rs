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

use crate::codes::{Common, codes};
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
    /// Not the user's doing: an encoding of keyseal's own output failed.
    #[error("{0}")]
    Internal(String),
    /// An output could not be written.
    #[error("cannot write {path}: {error}")]
    Output {
        /// The file.
        path: String,
        /// The OS's words.
        error: String,
    },
}

codes! {
    /// Why signing, or reading a bundle, could not go on.
    ReleaseCode {
        /// Files of the release could not be found, read or named.
        UnreadableFiles => "unreadable-files",
        /// A signature format the key version (or the flags given) cannot make.
        UnsupportedFormat => "unsupported-format",
        /// An output could not be written; nothing was.
        CannotWrite => "cannot-write",
    }
    pass {
        /// `bad-input`, `internal`.
        Common(Common),
        /// A certificate's chain rule.
        Chain(crate::x509::Reason),
        /// The time-stamp authority's or the token's code.
        Tsa(crate::tsa::TsaCode),
        /// The KMS's code.
        Kms(crate::kms::ErrorCode),
    }
}

impl ReleaseError {
    /// The stable code printed with the error and in `--json` output.
    pub fn code(&self) -> ReleaseCode {
        match self {
            ReleaseError::Kms(err) => ReleaseCode::Kms(err.code),
            ReleaseError::Certificate(err) => ReleaseCode::Chain(err.reason),
            ReleaseError::Files(_) => ReleaseCode::UnreadableFiles,
            ReleaseError::Input(_) => ReleaseCode::Common(Common::BadInput),
            ReleaseError::Internal(_) => ReleaseCode::Common(Common::Internal),
            ReleaseError::UnsupportedFormat(_) => ReleaseCode::UnsupportedFormat,
            ReleaseError::Timestamp(err) => ReleaseCode::Tsa(err.code),
            ReleaseError::Output { .. } => ReleaseCode::CannotWrite,
        }
    }
}
