//! The CA's intake policy for public keys: which keys `keyseal ca issue` (and `ca init`)
//! will certify, whether they come from a CSR or from a KMS key version. A certificate
//! vouches for its key, so the CA refuses a key that is weak, that keyseal could not check a
//! signature from, or whose encoding a verifier might read differently:
//!
//! - RSA (rsaEncryption, NULL parameters, RFC 3279 §2.3.1) with a modulus of 2048 to 8192
//!   bits and public exponent exactly 65537. Below 2048 bits is too weak (NIST SP 800-131A);
//!   above 8192 is more than the verifier (the `rsa` crate) reads. A small exponent such as
//!   3 is what Bleichenbacher's signature forgery and Coppersmith's attacks feed on when a
//!   peer pads carelessly; 65537 is what every KMS and CA uses.
//! - ECDSA (id-ecPublicKey, a *named* curve, RFC 5480 §2.1.1) on P-256, P-384 or secp256k1:
//!   the curves whose signatures keyseal checks (`x509::signature`). P-256 and secp256k1
//!   are KMS key specs; P-384 is common in TLS and already checked in chains. Other curves
//!   (P-521, brainpool, ...) and explicit curve parameters are refused: keyseal could not
//!   verify what such a key signs. The point must be uncompressed (RFC 5480 §2.2: only
//!   that form is mandatory for verifiers to read) and lie on the curve.
//! - Anything else (Ed25519, DSA, RSASSA-PSS-restricted keys, unknown OIDs) is refused by
//!   name or OID; nothing is guessed at.
//!
//! Each refusal has its own stable code and says what to do instead.

use crate::ca::{CaCode, CaError};
use crate::crypto::PublicKey;
use crate::crypto::public_key::SECP_256_K_1;
use der::asn1::{ObjectIdentifier, UintRef};
use der::oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1};
use der::{Decode, Tag, Tagged};
use spki::SubjectPublicKeyInfoOwned;

/// The smallest RSA modulus certified, in bits (NIST SP 800-131A: 112-bit security).
pub const RSA_MIN_BITS: usize = 2048;
/// The largest RSA modulus certified, in bits: the most the `rsa` crate verifies with.
pub const RSA_MAX_BITS: usize = rsa::PublicKey::MAX_SIZE;
/// The only RSA public exponent certified.
pub const RSA_EXPONENT: u32 = 65537;
/// 65537 as the big-endian bytes of a DER INTEGER without its sign byte.
const RSA_EXPONENT_BYTES: &[u8] = &[0x01, 0x00, 0x01];

/// Other key algorithms by OID, so a refusal can name what it saw.
const KNOWN_ALGORITHMS: &[(&str, &str)] = &[
    ("1.3.101.112", "Ed25519"),
    ("1.3.101.113", "Ed448"),
    ("1.3.101.110", "X25519"),
    ("1.3.101.111", "X448"),
    ("1.2.840.10040.4.1", "DSA"),
    ("1.2.840.10046.2.1", "Diffie-Hellman"),
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
    ("1.2.840.113549.1.1.7", "RSAES-OAEP"),
    ("1.2.156.10197.1.301", "SM2"),
];

/// Other curves by OID, for the same reason.
const KNOWN_CURVES: &[(&str, &str)] = &[
    ("1.3.132.0.35", "secp521r1"),
    ("1.3.132.0.33", "secp224r1"),
    ("1.2.840.10045.3.1.1", "prime192v1"),
    ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1"),
    ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1"),
    ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1"),
    ("1.2.156.10197.1.301", "SM2"),
];

/// What the policy says to use instead, with the OpenSSL commands that make such a key.
const REMEDY: &str = "keyseal certifies RSA keys of 2048 to 8192 bits with exponent 65537 and ECDSA keys on \
P-256, P-384 or secp256k1: make a new key, e.g. `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` \
or `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`, and a new request with it";

/// Where a key to be certified came from: it names the key in a refusal.
#[derive(Debug, Clone, Copy)]
pub enum KeySource<'a> {
    /// The public key of a PKCS#10 request.
    Csr,
    /// The public key of a KMS key version (GetPublicKey).
    Kms {
        /// Its KeyId.
        key_id: &'a str,
        /// Its KeyVersionId.
        key_version_id: &'a str,
    },
}

impl KeySource<'_> {
    fn describe(self) -> String {
        match self {
            KeySource::Csr => "the CSR's key".to_string(),
            KeySource::Kms { key_id, key_version_id } => format!("KMS key {key_id} version {key_version_id}"),
        }
    }

    fn remedy(self) -> &'static str {
        match self {
            KeySource::Csr => REMEDY,
            KeySource::Kms { .. } => {
                "keyseal certifies RSA keys of 2048 to 8192 bits with exponent 65537 and ECDSA keys on P-256, \
                 P-384 or secp256k1: use a KMS key of spec RSA_2048, EC_P256 or EC_P256K"
            }
        }
    }
}

/// A key the policy accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptedKey {
    /// RSA with this many modulus bits (exponent 65537).
    Rsa {
        /// The modulus length.
        bits: usize,
    },
    /// ECDSA on NIST P-256.
    P256,
    /// ECDSA on NIST P-384.
    P384,
    /// ECDSA on SECG secp256k1.
    Secp256k1,
}

/// Why a key was refused: one variant per rule, carrying what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRefusal {
    /// An RSA modulus below [`RSA_MIN_BITS`].
    RsaTooSmall {
        /// Its length.
        bits: usize,
    },
    /// An RSA modulus above [`RSA_MAX_BITS`].
    RsaTooLarge {
        /// Its length.
        bits: usize,
    },
    /// An RSA public exponent other than 65537.
    RsaExponent {
        /// The exponent, in decimal when it fits a u64, else in hex.
        exponent: String,
    },
    /// An EC key on a curve keyseal does not certify.
    UnsupportedCurve {
        /// The curve's name, or its OID.
        curve: String,
    },
    /// An EC key with explicit (or implicit) curve parameters instead of a named curve.
    UnnamedCurve,
    /// A key algorithm other than RSA and ECDSA.
    UnsupportedAlgorithm {
        /// The algorithm's name and OID, or its OID.
        algorithm: String,
    },
    /// An EC point in compressed form.
    CompressedPoint,
    /// The SubjectPublicKeyInfo does not decode as a key of its algorithm.
    Malformed {
        /// What is wrong with it.
        why: String,
    },
}

impl KeyRefusal {
    /// The stable code.
    pub fn code(&self) -> CaCode {
        match self {
            KeyRefusal::RsaTooSmall { .. } => CaCode::RsaKeyTooSmall,
            KeyRefusal::RsaTooLarge { .. } => CaCode::RsaKeyTooLarge,
            KeyRefusal::RsaExponent { .. } => CaCode::BadRsaExponent,
            KeyRefusal::UnsupportedCurve { .. } | KeyRefusal::UnnamedCurve => CaCode::UnsupportedCurve,
            KeyRefusal::UnsupportedAlgorithm { .. } => CaCode::UnsupportedKeyAlgorithm,
            KeyRefusal::CompressedPoint | KeyRefusal::Malformed { .. } => CaCode::MalformedKey,
        }
    }

    /// What was wrong, without naming the key.
    fn fact(&self) -> String {
        match self {
            KeyRefusal::RsaTooSmall { bits } => format!("is RSA with a {bits}-bit modulus, under {RSA_MIN_BITS} bits"),
            KeyRefusal::RsaTooLarge { bits } => format!("is RSA with a {bits}-bit modulus, over {RSA_MAX_BITS} bits"),
            KeyRefusal::RsaExponent { exponent } => {
                format!("is RSA with public exponent {exponent}, not {RSA_EXPONENT}")
            }
            KeyRefusal::UnsupportedCurve { curve } => {
                format!("is an EC key on curve {curve}, which keyseal does not certify")
            }
            KeyRefusal::UnnamedCurve => {
                "is an EC key with explicit curve parameters instead of a named curve (RFC 5480 §2.1.1)".to_string()
            }
            KeyRefusal::UnsupportedAlgorithm { algorithm } => {
                format!("has key algorithm {algorithm}, which keyseal does not certify")
            }
            KeyRefusal::CompressedPoint => {
                "is an EC point in compressed form, which verifiers need not read (RFC 5480 §2.2)".to_string()
            }
            KeyRefusal::Malformed { why } => format!("does not decode: {why}"),
        }
    }

    /// The CA error: the fact about the key from `source`, and what to do.
    pub fn into_error(self, source: KeySource<'_>) -> CaError {
        CaError::new(self.code(), format!("{} {}; {}", source.describe(), self.fact(), source.remedy()))
    }
}

/// Applies the intake policy to the public key from `source`.
pub fn check_subject_key(key: &SubjectPublicKeyInfoOwned, source: KeySource<'_>) -> Result<AcceptedKey, CaError> {
    classify(key).map_err(|refusal| refusal.into_error(source))
}

/// The policy itself: which rule a key breaks, or what kind of key it is.
pub fn classify(key: &SubjectPublicKeyInfoOwned) -> Result<AcceptedKey, KeyRefusal> {
    let malformed = |why: &str| KeyRefusal::Malformed { why: why.to_string() };
    // A BIT STRING with unused bits cannot hold a DER RSAPublicKey or an EC point.
    let bits = key.subject_public_key.as_bytes().ok_or_else(|| malformed("its BIT STRING is not whole bytes"))?;
    match key.algorithm.oid {
        RSA_ENCRYPTION => check_rsa(key, bits),
        ID_EC_PUBLIC_KEY => check_ec(key, bits),
        other => Err(KeyRefusal::UnsupportedAlgorithm { algorithm: named(other, KNOWN_ALGORITHMS) }),
    }
}

/// `name (OID)` from `table`, or the bare OID.
fn named(oid: ObjectIdentifier, table: &[(&str, &str)]) -> String {
    let text = oid.to_string();
    match table.iter().find(|(known, _)| *known == text) {
        Some((_, name)) => format!("{name} ({text})"),
        None => text,
    }
}

/// RFC 3279 §2.3.1: NULL parameters, and an RSAPublicKey the verifier can read, whose
/// modulus is odd and within size, with exponent 65537.
fn check_rsa(key: &SubjectPublicKeyInfoOwned, bits: &[u8]) -> Result<AcceptedKey, KeyRefusal> {
    let malformed = |why: String| KeyRefusal::Malformed { why };
    if key.algorithm.parameters.as_ref().is_none_or(|p| p.tag() != Tag::Null || !p.value().is_empty()) {
        return Err(malformed("rsaEncryption parameters must be NULL (RFC 3279 §2.3.1)".into()));
    }
    let public = rsa::pkcs1::RsaPublicKey::<UintRef<'_>>::from_der(bits)
        .map_err(|e| malformed(format!("not a DER RSAPublicKey: {e}")))?;
    let modulus = public.modulus.as_bytes();
    let modulus_bits = bit_length(modulus);
    if modulus.last().is_none_or(|low| low & 1 == 0) {
        return Err(malformed("the RSA modulus is even".into()));
    }
    if modulus_bits < RSA_MIN_BITS {
        return Err(KeyRefusal::RsaTooSmall { bits: modulus_bits });
    }
    if modulus_bits > RSA_MAX_BITS {
        return Err(KeyRefusal::RsaTooLarge { bits: modulus_bits });
    }
    let exponent = public.public_exponent.as_bytes();
    if exponent != RSA_EXPONENT_BYTES {
        return Err(KeyRefusal::RsaExponent { exponent: show_integer(exponent) });
    }
    // The verifier's own reading must agree, or its signatures could not be checked.
    let der = der::Encode::to_der(key).map_err(|e| malformed(e.to_string()))?;
    PublicKey::from_spki(&der).map_err(|e| malformed(format!("the RSA key is unusable: {e}")))?;
    Ok(AcceptedKey::Rsa { bits: modulus_bits })
}

/// The length in bits of a big-endian unsigned integer without leading zero bytes.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(top) => bytes.len() * 8 - top.leading_zeros() as usize,
    }
}

/// An integer for a message: decimal when it fits a u64, else hex.
fn show_integer(bytes: &[u8]) -> String {
    if bytes.len() <= 8 {
        let mut padded = [0u8; 8];
        padded[8 - bytes.len()..].copy_from_slice(bytes);
        u64::from_be_bytes(padded).to_string()
    } else {
        format!("0x{}", hex::encode(bytes))
    }
}

/// RFC 5480 §2.1.1 and §2.2: a named curve keyseal verifies, and an uncompressed point on it.
fn check_ec(key: &SubjectPublicKeyInfoOwned, point: &[u8]) -> Result<AcceptedKey, KeyRefusal> {
    let parameters = key.algorithm.parameters.as_ref().ok_or(KeyRefusal::UnnamedCurve)?;
    if parameters.tag() != Tag::ObjectIdentifier {
        return Err(KeyRefusal::UnnamedCurve);
    }
    let curve = ObjectIdentifier::from_bytes(parameters.value())
        .map_err(|e| KeyRefusal::Malformed { why: format!("the curve OID does not decode: {e}") })?;
    match point.first() {
        Some(0x04) => {}
        Some(0x02 | 0x03) => return Err(KeyRefusal::CompressedPoint),
        _ => return Err(KeyRefusal::Malformed { why: "the EC point is not a SEC 1 point encoding".into() }),
    }
    let (accepted, name) = match curve {
        SECP_256_R_1 => (AcceptedKey::P256, "P-256"),
        SECP_384_R_1 => (AcceptedKey::P384, "P-384"),
        SECP_256_K_1 => (AcceptedKey::Secp256k1, "secp256k1"),
        other => return Err(KeyRefusal::UnsupportedCurve { curve: named(other, KNOWN_CURVES) }),
    };
    // The verifier's own reading: the point must be on the curve.
    let der = der::Encode::to_der(key).map_err(|e| KeyRefusal::Malformed { why: e.to_string() })?;
    match PublicKey::from_spki(&der) {
        Ok(_) => Ok(accepted),
        Err(_) => Err(KeyRefusal::Malformed { why: format!("the point is not on {name}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::KeySpec;
    use der::Encode;
    use der::asn1::BitString;

    fn spki(der: &[u8]) -> SubjectPublicKeyInfoOwned {
        SubjectPublicKeyInfoOwned::from_der(der).unwrap()
    }

    /// An RSA SPKI with modulus `n` and exponent `e` (big-endian, no sign byte).
    fn rsa_spki(n: &[u8], e: &[u8]) -> SubjectPublicKeyInfoOwned {
        let public =
            rsa::pkcs1::RsaPublicKey { modulus: UintRef::new(n).unwrap(), public_exponent: UintRef::new(e).unwrap() };
        SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned { oid: RSA_ENCRYPTION, parameters: Some(der::asn1::Null.into()) },
            subject_public_key: BitString::from_bytes(&public.to_der().unwrap()).unwrap(),
        }
    }

    fn modulus(bits: usize) -> Vec<u8> {
        let mut n = vec![0xffu8; bits / 8];
        n[0] = 0x80 | 0x55;
        n
    }

    #[test]
    fn kms_keys_pass() {
        for (spec, expected) in [
            (KeySpec::Rsa2048, AcceptedKey::Rsa { bits: 2048 }),
            (KeySpec::EcP256, AcceptedKey::P256),
            (KeySpec::EcP256k, AcceptedKey::Secp256k1),
        ] {
            let pair = crate::crypto::keys::generate(spec).unwrap();
            assert_eq!(classify(&spki(&pair.public_spki)), Ok(expected), "{spec}");
        }
    }

    #[test]
    fn rsa_rules() {
        let e = &[1, 0, 1];
        assert_eq!(classify(&rsa_spki(&modulus(1024), e)), Err(KeyRefusal::RsaTooSmall { bits: 1024 }));
        assert_eq!(classify(&rsa_spki(&modulus(16384), e)), Err(KeyRefusal::RsaTooLarge { bits: 16384 }));
        assert_eq!(classify(&rsa_spki(&modulus(2048), &[3])), Err(KeyRefusal::RsaExponent { exponent: "3".into() }));
        assert_eq!(classify(&rsa_spki(&modulus(3072), e)), Ok(AcceptedKey::Rsa { bits: 3072 }));
        let mut even = modulus(2048);
        *even.last_mut().unwrap() = 0xfe;
        assert_eq!(classify(&rsa_spki(&even, e)).unwrap_err().code(), "malformed-key");
        let mut absent = rsa_spki(&modulus(2048), e);
        absent.algorithm.parameters = None;
        assert_eq!(classify(&absent).unwrap_err().code(), "malformed-key");
        let mut garbage = rsa_spki(&modulus(2048), e);
        garbage.subject_public_key = BitString::from_bytes(b"not an RSAPublicKey").unwrap();
        assert_eq!(classify(&garbage).unwrap_err().code(), "malformed-key");
    }

    #[test]
    fn ec_rules() {
        let pair = crate::crypto::keys::generate(KeySpec::EcP256).unwrap();
        let good = spki(&pair.public_spki);
        // A point moved off the curve.
        let mut point = good.subject_public_key.raw_bytes().to_vec();
        *point.last_mut().unwrap() ^= 1;
        let mut off = good.clone();
        off.subject_public_key = BitString::from_bytes(&point).unwrap();
        assert_eq!(classify(&off).unwrap_err().code(), "malformed-key");
        // The same point, compressed.
        use p256::elliptic_curve::sec1::ToSec1Point;
        let public = p256::PublicKey::from_sec1_bytes(good.subject_public_key.raw_bytes()).unwrap();
        let mut compressed = good.clone();
        compressed.subject_public_key = BitString::from_bytes(public.to_sec1_point(true).as_bytes()).unwrap();
        assert_eq!(classify(&compressed), Err(KeyRefusal::CompressedPoint));
        // Another curve, and no curve.
        let mut p521 = good.clone();
        p521.algorithm.parameters = Some(der::oid::db::rfc5912::SECP_521_R_1.into());
        assert_eq!(classify(&p521), Err(KeyRefusal::UnsupportedCurve { curve: "secp521r1 (1.3.132.0.35)".into() }));
        let mut unnamed = good.clone();
        unnamed.algorithm.parameters = Some(der::asn1::Null.into());
        assert_eq!(classify(&unnamed), Err(KeyRefusal::UnnamedCurve));
        // Bits that are not whole bytes.
        let mut ragged = good;
        ragged.subject_public_key = BitString::new(1, point).unwrap();
        assert_eq!(classify(&ragged).unwrap_err().code(), "malformed-key");
    }

    #[test]
    fn other_algorithms_are_named() {
        let ed25519 = SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned { oid: der::oid::db::rfc8410::ID_ED_25519, parameters: None },
            subject_public_key: BitString::from_bytes(&[7; 32]).unwrap(),
        };
        let refusal = classify(&ed25519).unwrap_err();
        assert_eq!(refusal.code(), "unsupported-key-algorithm");
        let from_kms = refusal.clone().into_error(KeySource::Kms { key_id: "k1", key_version_id: "v1" });
        assert!(from_kms.message.starts_with("KMS key k1 version v1 ") && from_kms.message.contains("EC_P256"));
        let error = refusal.into_error(KeySource::Csr);
        assert!(
            error.message.contains("Ed25519 (1.3.101.112)") && error.message.contains("openssl genpkey"),
            "{error}"
        );
    }
}
