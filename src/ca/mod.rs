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

use crate::codes::{Common, codes};
use crate::kms::{ErrorCode, KmsError};
use crate::x509::Reason;

codes! {
    /// Why the CA refused or failed. Where a chain rule or a KMS refusal says it already
    /// (`not-a-ca`, `Rejected.Disabled`), that code passes through instead of a copy.
    CaCode {
        /// `--ca` names no CA in this store.
        CaNotFound => "ca-not-found",
        /// `ca init` or `ca import` with a name already taken.
        CaExists => "ca-exists",
        /// `--serial` names no certificate this CA issued.
        CertificateNotFound => "certificate-not-found",
        /// The certificate is revoked already.
        AlreadyRevoked => "already-revoked",
        /// A CA's own certificate cannot be revoked by itself; revoke it from its issuer.
        CannotRevokeSelf => "cannot-revoke-self",
        /// An unknown revocation reason.
        BadReason => "bad-reason",
        /// An unknown `--profile`.
        UnknownProfile => "unknown-profile",
        /// `--profile` is not a CA profile where a CA is being made.
        NotACaProfile => "not-a-ca-profile",
        /// A CSR was given for a CA certificate; CAs are KMS keys.
        CsrForCa => "csr-for-ca",
        /// The CSR does not parse or its self-signature does not verify.
        BadCsr => "bad-csr",
        /// The CSR's subject holds attributes or string types the CA does not issue.
        BadCsrSubject => "bad-csr-subject",
        /// `--subject` does not parse or holds attributes the CA does not issue.
        BadSubject => "bad-subject",
        /// A `--san` entry does not parse.
        BadSan => "bad-san",
        /// A CA name that is not a short word.
        BadName => "bad-name",
        /// A certificate needs a name (subject or subjectAltName) and has none.
        MissingName => "missing-name",
        /// The subject is the issuing CA's own name.
        SubjectIsIssuer => "subject-is-issuer",
        /// `--days`, `--not-before` or `--not-after` out of range or out of order.
        BadValidity => "bad-validity",
        /// The certificate would outlive its issuer's.
        OutlivesIssuer => "outlives-issuer",
        /// The issuer's certificate has expired.
        ExpiredIssuer => "expired-issuer",
        /// The issuer's certificate is not valid yet.
        IssuerNotYetValid => "issuer-not-yet-valid",
        /// The issuer's certificate is revoked.
        RevokedIssuer => "revoked-issuer",
        /// A `--crl-url` that is not an http or https URL.
        BadCrlUrl => "bad-crl-url",
        /// An RSA key under 2048 bits.
        RsaKeyTooSmall => "rsa-key-too-small",
        /// An RSA key over 8192 bits.
        RsaKeyTooLarge => "rsa-key-too-large",
        /// An RSA public exponent other than 65537.
        BadRsaExponent => "bad-rsa-exponent",
        /// An EC key on a curve keyseal does not verify, or with explicit parameters.
        UnsupportedCurve => "unsupported-curve",
        /// A key algorithm other than RSA and ECDSA.
        UnsupportedKeyAlgorithm => "unsupported-key-algorithm",
        /// A key that does not decode, or an EC point that is compressed or off its curve.
        MalformedKey => "malformed-key",
    }
    pass {
        /// `bad-input`, `internal`.
        Common(Common),
        /// A chain rule's code (`not-a-ca`, `key-mismatch`, ...).
        Chain(Reason),
        /// The KMS's code (`Rejected.Disabled`, ...).
        Kms(ErrorCode),
    }
}

/// A refused or failed CA operation: a stable code and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CaError {
    /// Stable code, e.g. `outlives-issuer`, `not-a-ca`, `bad-csr`, `Rejected.Disabled`.
    pub code: CaCode,
    /// What happened and what to do next.
    pub message: String,
}

impl CaError {
    /// An error with `code`.
    pub fn new(code: CaCode, message: impl Into<String>) -> CaError {
        CaError { code, message: message.into() }
    }

    /// A flag, file or request that is unusable.
    pub fn bad_input(message: impl Into<String>) -> CaError {
        CaError::new(CaCode::Common(Common::BadInput), message)
    }

    /// A refusal a chain rule names.
    pub fn chain(reason: Reason, message: impl Into<String>) -> CaError {
        CaError::new(CaCode::Chain(reason), message)
    }

    /// A failure that is not the user's doing.
    pub fn internal(message: impl Into<String>) -> CaError {
        CaError::new(CaCode::Common(Common::Internal), message)
    }
}

impl From<KmsError> for CaError {
    fn from(err: KmsError) -> CaError {
        CaError { code: CaCode::Kms(err.code), message: err.message }
    }
}

impl From<der::Error> for CaError {
    fn from(err: der::Error) -> CaError {
        CaError::internal(format!("DER encoding failed: {err}"))
    }
}
