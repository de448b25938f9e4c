//! Every public key keyseal verifies with — RSA, ECDSA on P-256, P-384 and secp256k1 —
//! parsed once from its SubjectPublicKeyInfo, and the one signature check over a digest.
//! The KMS's RustCrypto provider, the certificate and CRL checker (`x509::signature`), the
//! CA's key intake (`ca::key_policy`) and the release verifier all read keys here, so a key
//! one of them accepts is a key the others can check.
//!
//! RSA keys are usable as the rsa crate rules (1024..=8192 bits, 2 <= e < 2^33). An
//! id-RSASSA-PSS key (RFC 4055) is read with or without its parameters; what those
//! parameters allow is the certificate checker's business, not this module's.

use der::Decode;
use der::asn1::ObjectIdentifier;
use der::oid::db::rfc5912::{
    ID_EC_PUBLIC_KEY, ID_RSASSA_PSS, ID_SHA_256, ID_SHA_384, ID_SHA_512, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1,
};
use sha2::{Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier;
use spki::DecodePublicKey;

/// secp256k1 (SEC 2 §2.4.1), which the OID database does not name.
pub const SECP_256_K_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

/// Why a public key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyError {
    /// A key algorithm or curve keyseal does not verify with.
    #[error("{0}")]
    Unsupported(String),
    /// The SubjectPublicKeyInfo or the key inside it does not parse.
    #[error("{0}")]
    Malformed(String),
}

/// A hash a signature scheme uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// The hash an AlgorithmIdentifier OID names (id-sha256, id-sha384, id-sha512).
    pub fn from_oid(oid: ObjectIdentifier) -> Option<Hash> {
        match oid {
            ID_SHA_256 => Some(Hash::Sha256),
            ID_SHA_384 => Some(Hash::Sha384),
            ID_SHA_512 => Some(Hash::Sha512),
            _ => None,
        }
    }

    /// The digest of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Hash::Sha256 => Sha256::digest(bytes).to_vec(),
            Hash::Sha384 => Sha384::digest(bytes).to_vec(),
            Hash::Sha512 => Sha512::digest(bytes).to_vec(),
        }
    }
}

/// How a signature over a digest was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RSASSA-PKCS1-v1_5 with a DigestInfo of this hash.
    Pkcs1(Hash),
    /// RSASSA-PSS with this hash, MGF1 with the same hash, and this salt length.
    Pss {
        /// The message hash and MGF1 hash.
        hash: Hash,
        /// The salt length in bytes.
        salt_len: usize,
    },
    /// ECDSA, the signature DER-encoded; the curve is the key's.
    Ecdsa,
}

/// A public key keyseal verifies with.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// RSA, from rsaEncryption or id-RSASSA-PSS.
    Rsa(rsa::PublicKey),
    /// ECDSA on NIST P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA on NIST P-384 (in chains made elsewhere; no KMS key is P-384).
    P384(p384::ecdsa::VerifyingKey),
    /// ECDSA on secp256k1.
    K256(k256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Parses a SubjectPublicKeyInfo in DER.
    pub fn from_spki(der: &[u8]) -> Result<PublicKey, PublicKeyError> {
        let malformed = |what: &str, e: &dyn std::fmt::Display| PublicKeyError::Malformed(format!("{what}: {e}"));
        let info = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|e| malformed("SubjectPublicKeyInfo", &e))?;
        match info.algorithm.oid {
            ID_RSASSA_PSS => {
                // The rsa crate reads an id-RSASSA-PSS key only without parameters; the
                // RSAPublicKey inside is the same either way.
                let bits = info.subject_public_key.as_bytes().ok_or_else(|| {
                    PublicKeyError::Malformed("RSA public key: its BIT STRING is not whole bytes".into())
                })?;
                let key = rsa::pkcs1::DecodeRsaPublicKey::from_pkcs1_der(bits)
                    .map_err(|e| malformed("RSA public key", &e))?;
                Ok(PublicKey::Rsa(key))
            }
            RSA_ENCRYPTION => rsa::PublicKey::from_public_key_der(der)
                .map(PublicKey::Rsa)
                .map_err(|e| malformed("RSA public key", &e)),
            ID_EC_PUBLIC_KEY => match info.algorithm.parameters_oid() {
                Ok(SECP_256_R_1) => p256::ecdsa::VerifyingKey::from_public_key_der(der)
                    .map(PublicKey::P256)
                    .map_err(|e| malformed("P-256 public key", &e)),
                Ok(SECP_384_R_1) => p384::ecdsa::VerifyingKey::from_public_key_der(der)
                    .map(PublicKey::P384)
                    .map_err(|e| malformed("P-384 public key", &e)),
                Ok(SECP_256_K_1) => k256::ecdsa::VerifyingKey::from_public_key_der(der)
                    .map(PublicKey::K256)
                    .map_err(|e| malformed("secp256k1 public key", &e)),
                _ => Err(PublicKeyError::Unsupported("an EC key that is not on P-256, P-384 or secp256k1".into())),
            },
            other => Err(PublicKeyError::Unsupported(format!("a key of algorithm {other}"))),
        }
    }

    /// The KMS key spec of this kind of key: how a verifier holding only a public key knows
    /// which KMS algorithms apply. Any RSA key reads as `RSA_2048`, the only RSA spec; the
    /// RSA code takes other sizes as they come. P-384 is no KMS spec.
    pub fn spec(&self) -> Option<crate::crypto::KeySpec> {
        use crate::crypto::KeySpec;
        match self {
            PublicKey::Rsa(_) => Some(KeySpec::Rsa2048),
            PublicKey::P256(_) => Some(KeySpec::EcP256),
            PublicKey::K256(_) => Some(KeySpec::EcP256k),
            PublicKey::P384(_) => None,
        }
    }

    /// The RSA modulus size in bits, for an RSA key.
    pub fn rsa_bits(&self) -> Option<usize> {
        use rsa::traits::PublicKeyParts;
        match self {
            PublicKey::Rsa(key) => Some(key.size() * 8),
            _ => None,
        }
    }

    /// Whether `signature` over `digest` was made by this key with `scheme`. A signature
    /// that is malformed, of the wrong length or simply wrong is `false`; a scheme that
    /// does not belong to the key's kind (ECDSA with an RSA key) is an error.
    ///
    /// ECDSA signatures must be strict DER. secp256k1 signatures with a high S are accepted,
    /// as OpenSSL accepts them: low-S is a Bitcoin consensus rule, not part of ECDSA (k256
    /// enforces it, so S is normalised before verifying; (r, n-s) is valid iff (r, s) is).
    pub fn verify_prehash(&self, scheme: Scheme, digest: &[u8], signature: &[u8]) -> Result<bool, PublicKeyError> {
        Ok(match (self, scheme) {
            (PublicKey::Rsa(key), Scheme::Pkcs1(hash)) => match hash {
                Hash::Sha256 => key.pkcs1v15_verify_prehash::<Sha256>(digest, signature).is_ok(),
                Hash::Sha384 => key.pkcs1v15_verify_prehash::<Sha384>(digest, signature).is_ok(),
                Hash::Sha512 => key.pkcs1v15_verify_prehash::<Sha512>(digest, signature).is_ok(),
            },
            (PublicKey::Rsa(key), Scheme::Pss { hash, salt_len }) => {
                let Ok(signature) = rsa::pss::Signature::try_from(signature) else {
                    return Ok(false);
                };
                let key = key.clone();
                match hash {
                    Hash::Sha256 => pss::<Sha256>(key, salt_len, digest, &signature),
                    Hash::Sha384 => pss::<Sha384>(key, salt_len, digest, &signature),
                    Hash::Sha512 => pss::<Sha512>(key, salt_len, digest, &signature),
                }
            }
            (PublicKey::P256(key), Scheme::Ecdsa) => {
                p256::ecdsa::Signature::from_der(signature).is_ok_and(|sig| key.verify_prehash(digest, &sig).is_ok())
            }
            (PublicKey::P384(key), Scheme::Ecdsa) => {
                p384::ecdsa::Signature::from_der(signature).is_ok_and(|sig| key.verify_prehash(digest, &sig).is_ok())
            }
            (PublicKey::K256(key), Scheme::Ecdsa) => k256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify_prehash(digest, &sig.normalize_s()).is_ok()),
            (PublicKey::Rsa(_), Scheme::Ecdsa) => {
                return Err(PublicKeyError::Unsupported(
                    "ECDSA with a key that is not P-256, P-384 or secp256k1".into(),
                ));
            }
            (_, Scheme::Pkcs1(_) | Scheme::Pss { .. }) => {
                return Err(PublicKeyError::Malformed("RSA public key: the key is an EC key".into()));
            }
        })
    }
}

fn pss<D>(key: rsa::PublicKey, salt_len: usize, digest: &[u8], signature: &rsa::pss::Signature) -> bool
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    rsa::pss::VerifyingKey::<D>::new_with_salt_len(key, salt_len).verify_prehash(digest, signature).is_ok()
}

/// The KeySpec a SubjectPublicKeyInfo belongs to (see [`PublicKey::spec`]), or `None`
/// when it is not a key of a KMS spec.
pub fn spec_of_public_key(public_spki: &[u8]) -> Option<crate::crypto::KeySpec> {
    PublicKey::from_spki(public_spki).ok()?.spec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Algorithm, KeySpec, keys};

    #[test]
    fn every_kms_key_reads_back_with_its_spec_and_verifies() {
        let digest = Hash::Sha256.digest(b"keyseal");
        for spec in KeySpec::ALL {
            let pair = keys::generate(*spec).unwrap();
            let key = PublicKey::from_spki(&pair.public_spki).unwrap();
            assert_eq!(key.spec(), Some(*spec));
            let algorithm = spec.default_signing_algorithm();
            let signature = keys::sign_digest(*spec, algorithm, &pair.private_pkcs8, &digest).unwrap();
            let scheme = match algorithm {
                Algorithm::EcdsaSha256 => Scheme::Ecdsa,
                _ => Scheme::Pkcs1(Hash::Sha256),
            };
            assert_eq!(key.verify_prehash(scheme, &digest, &signature), Ok(true), "{spec}");
            assert_eq!(key.verify_prehash(scheme, &Hash::Sha256.digest(b"other"), &signature), Ok(false));
            assert_eq!(key.verify_prehash(scheme, &digest, &signature[..10]), Ok(false));
        }
        assert_eq!(spec_of_public_key(b"not der"), None);
    }

    #[test]
    fn a_scheme_of_the_other_kind_is_refused() {
        let ec = PublicKey::from_spki(&keys::generate(KeySpec::EcP256).unwrap().public_spki).unwrap();
        assert!(ec.verify_prehash(Scheme::Pkcs1(Hash::Sha256), &[0; 32], &[0; 64]).is_err());
        let rsa = PublicKey::from_spki(&keys::generate(KeySpec::Rsa2048).unwrap().public_spki).unwrap();
        assert!(rsa.verify_prehash(Scheme::Ecdsa, &[0; 32], &[0; 64]).is_err());
        assert_eq!(rsa.rsa_bits(), Some(2048));
        assert_eq!(ec.rsa_bits(), None);
    }
}
