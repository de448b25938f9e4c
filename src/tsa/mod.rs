//! RFC 3161 time stamps. keyseal is a Time-Stamping Authority whose key is a KMS key
//! version ([`reply`]), makes requests ([`query`]) and checks tokens from any TSA offline
//! ([`verify`]). A token is a CMS SignedData (RFC 5652, from the `cms` crate) over a
//! TSTInfo ([`asn1`]), with the ESS signing-certificate attribute (RFC 5816) binding it
//! to the TSA's certificate; [`token`] takes one apart without re-encoding anything.

pub mod asn1;
pub mod client;
pub mod query;
pub mod reply;
pub mod token;
pub mod verify;

use crate::codes::{Common, codes};
use crate::tsa::verify::TokenReason;
use der::asn1::{Int, ObjectIdentifier};
use sha2::Digest;
use std::io::Read;
use std::path::Path;

/// The policy keyseal's TSA works under when `--policy` is not given:
/// id-TEST-certPolicyOne, 1.3.6.1.5.5.7.13.1, from the arc RFC 7229 sets aside for test
/// policies. keyseal has no arc of its own to promise a policy under, and a test OID
/// says so plainly; a TSA in production passes its organisation's policy OID.
pub const DEFAULT_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.13.1");

/// The media type of a TimeStampReq over HTTP (RFC 3161 §3.4).
pub const QUERY_TYPE: &str = "application/timestamp-query";
/// The media type of a TimeStampResp over HTTP (RFC 3161 §3.4).
pub const REPLY_TYPE: &str = "application/timestamp-reply";

codes! {
    /// Why a time-stamp query, reply or check could not go on. A token's own verdicts
    /// (`malformed-token`, `not-granted`), a chain rule's and the KMS's codes pass through.
    TsaCode {
        /// `--algorithm` that the TSA's key cannot sign with, or that a TSA does not use.
        BadAlgorithm => "bad-algorithm",
        /// A digest of the wrong length for its hash.
        BadDigest => "bad-digest",
        /// A reply whose nonce is not the query's.
        BadNonce => "bad-nonce",
        /// The TSA could not be reached or answered other than with a reply.
        TsaUnavailable => "tsa-unavailable",
    }
    pass {
        /// `bad-input`, `internal`.
        Common(Common),
        /// A token verdict (`malformed-token`, `not-granted`, ...).
        Token(TokenReason),
        /// A chain rule's code (`key-mismatch`, `missing-timestamping-purpose`, ...).
        Chain(crate::x509::Reason),
        /// The KMS's code.
        Kms(crate::kms::ErrorCode),
    }
}

/// A refused or failed TSA operation: a stable code and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TsaError {
    /// Stable code, e.g. `missing-timestamping-purpose`, `key-mismatch`, `bad-input`.
    pub code: TsaCode,
    /// What happened and what to do next.
    pub message: String,
}

impl TsaError {
    /// An error with `code`.
    pub fn new(code: TsaCode, message: impl Into<String>) -> TsaError {
        TsaError { code, message: message.into() }
    }

    /// A flag, file or request that is unusable.
    pub fn bad_input(message: impl Into<String>) -> TsaError {
        TsaError::new(TsaCode::Common(Common::BadInput), message)
    }

    /// A token that is not well-formed.
    pub fn malformed_token(message: impl Into<String>) -> TsaError {
        TsaError::new(TsaCode::Token(TokenReason::MalformedToken), message)
    }

    /// A failure that is not the user's doing.
    pub fn internal(message: impl Into<String>) -> TsaError {
        TsaError::new(TsaCode::Common(Common::Internal), message)
    }
}

impl From<crate::kms::KmsError> for TsaError {
    fn from(err: crate::kms::KmsError) -> TsaError {
        TsaError { code: TsaCode::Kms(err.code), message: err.message }
    }
}

impl From<der::Error> for TsaError {
    fn from(err: der::Error) -> TsaError {
        TsaError::internal(format!("DER encoding failed: {err}"))
    }
}

/// The hash algorithms of a message imprint keyseal makes and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImprintHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl ImprintHash {
    /// Every one, with its `--hash` name.
    pub const ALL: &'static [(&'static str, ImprintHash)] =
        &[("sha256", ImprintHash::Sha256), ("sha384", ImprintHash::Sha384), ("sha512", ImprintHash::Sha512)];

    /// The one named `name` (`sha256`, ...).
    pub fn parse(name: &str) -> Result<ImprintHash, String> {
        ImprintHash::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, h)| *h).ok_or_else(|| {
            let names: Vec<&str> = ImprintHash::ALL.iter().map(|(n, _)| *n).collect();
            format!("unknown hash {name:?}; use one of: {}", names.join(", "))
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        ImprintHash::ALL.iter().find(|(_, h)| *h == self).map(|(n, _)| *n).unwrap_or("sha256")
    }

    /// Its OID (NIST, RFC 5754).
    pub fn oid(self) -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap(match self {
            ImprintHash::Sha256 => "2.16.840.1.101.3.4.2.1",
            ImprintHash::Sha384 => "2.16.840.1.101.3.4.2.2",
            ImprintHash::Sha512 => "2.16.840.1.101.3.4.2.3",
        })
    }

    /// The one with `oid`, if keyseal takes it.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<ImprintHash> {
        ImprintHash::ALL.iter().map(|(_, h)| *h).find(|h| h.oid() == *oid)
    }

    /// How many bytes its digest has.
    pub fn digest_len(self) -> usize {
        match self {
            ImprintHash::Sha256 => 32,
            ImprintHash::Sha384 => 48,
            ImprintHash::Sha512 => 64,
        }
    }

    /// Its AlgorithmIdentifier, parameters absent (RFC 5754 §2: SHOULD be absent).
    pub fn algorithm_identifier(self) -> spki::AlgorithmIdentifierOwned {
        spki::AlgorithmIdentifierOwned { oid: self.oid(), parameters: None }
    }

    /// The digest of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            ImprintHash::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
            ImprintHash::Sha384 => sha2::Sha384::digest(bytes).to_vec(),
            ImprintHash::Sha512 => sha2::Sha512::digest(bytes).to_vec(),
        }
    }

    /// The digest of a regular file, streamed (so any size goes); a FIFO or device is
    /// refused rather than read forever.
    pub fn digest_file(self, path: &Path) -> std::io::Result<Vec<u8>> {
        match self {
            ImprintHash::Sha256 => stream::<sha2::Sha256>(path),
            ImprintHash::Sha384 => stream::<sha2::Sha384>(path),
            ImprintHash::Sha512 => stream::<sha2::Sha512>(path),
        }
    }
}

fn stream<D: Digest>(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = crate::bounded::open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let what = crate::bounded::describe_type(&meta);
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("not a regular file ({what})")));
    }
    let mut hasher = D::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => hasher.update(&buffer[..read]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finalize().to_vec())
}

/// A random positive INTEGER of `len` bytes that keeps all of them (top bit clear, the
/// next one set): a nonce or a token serial number.
pub fn random_integer(len: usize) -> Result<Int, TsaError> {
    let mut bytes = vec![0u8; len.max(1)];
    getrandom::fill(&mut bytes).map_err(|e| TsaError::internal(format!("the OS random generator failed: {e}")))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(Int::new(&bytes)?)
}

/// An INTEGER as upper-case hex of its two's-complement bytes, as `openssl ts -text`
/// shows serials and nonces (`0x...`) without the prefix.
pub fn integer_hex(value: &Int) -> String {
    hex::encode_upper(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_by_name_and_oid() {
        for (name, hash) in ImprintHash::ALL {
            assert_eq!(ImprintHash::parse(name), Ok(*hash));
            assert_eq!(ImprintHash::from_oid(&hash.oid()), Some(*hash));
            assert_eq!(hash.digest(b"abc").len(), hash.digest_len());
        }
        assert!(ImprintHash::parse("md5").is_err());
        assert_eq!(ImprintHash::from_oid(&der::oid::db::rfc5912::ID_SHA_1), None);
    }

    #[test]
    fn random_integers_keep_their_length_and_sign() {
        for _ in 0..32 {
            let value = random_integer(20).unwrap();
            assert_eq!(value.as_bytes().len(), 20);
            assert!(value.as_bytes()[0] & 0x80 == 0 && value.as_bytes()[0] & 0x40 != 0);
        }
    }
}
