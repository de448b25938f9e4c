//! The aws-lc-rs provider for RSA_2048 and EC_P256 (feature `aws-lc`): about 7x the rsa
//! crate's RSA signing speed and OpenSSL's P-256 speed. secp256k1 is not here: k256 is
//! faster than aws-lc-rs for it (docs/development.md, "Crypto provider").
//!
//! It reads and writes the same formats as the RustCrypto provider, so stored keys move
//! freely between builds: PKCS#8 v1 private keys, SubjectPublicKeyInfo public keys, RSA
//! signatures as the raw modulus-sized block, ECDSA ones DER-encoded. Every digest comes in
//! through `Digest::import_less_safe`: the KMS signs a digest the caller computed, never a
//! message. aws-lc frees key memory with `OPENSSL_cleanse`, so a dropped key is wiped.

use super::{Backend, KeyError, KeyPair, PrivateKey};
use crate::crypto::spec::{Algorithm, KeySpec};
use aws_lc_rs::digest::{Digest, SHA256};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _, ParsedPublicKey,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RSA_PSS_2048_8192_SHA256, RSA_PSS_SHA256, RsaKeyPair,
};
use zeroize::Zeroizing;

/// The aws-lc-rs provider; `Provider::backend` never sends it an EC_P256K key.
pub(super) struct AwsLc;

/// The refusal for a spec aws-lc-rs is never routed (EC_P256K).
fn not_here(what: &'static str) -> KeyError {
    KeyError::Provider(what)
}

impl Backend for AwsLc {
    fn name(&self) -> &'static str {
        "aws-lc-rs"
    }

    fn generate(&self, spec: KeySpec) -> Result<KeyPair, KeyError> {
        match spec {
            KeySpec::Rsa2048 => generate_rsa(),
            KeySpec::EcP256 => generate_p256(),
            KeySpec::EcP256k => Err(not_here("secp256k1 key generation")),
        }
    }

    fn parse(&self, spec: KeySpec, private_pkcs8: &[u8]) -> Result<Box<dyn PrivateKey>, KeyError> {
        Ok(Box::new(match spec {
            KeySpec::Rsa2048 => SigningKey::parse_rsa(private_pkcs8)?,
            KeySpec::EcP256 => SigningKey::parse_p256(private_pkcs8)?,
            KeySpec::EcP256k => return Err(not_here("secp256k1 key parsing")),
        }))
    }

    fn verify_digest(
        &self,
        spec: KeySpec,
        algorithm: Algorithm,
        public_spki: &[u8],
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, KeyError> {
        match spec {
            KeySpec::Rsa2048 => verify_rsa(algorithm, public_spki, digest, signature),
            KeySpec::EcP256 => verify_p256(public_spki, digest, signature),
            KeySpec::EcP256k => Err(not_here("secp256k1 verification")),
        }
    }

    /// Encrypts `plaintext` with RSA-OAEP (empty label); the caller has checked its length.
    fn encrypt(&self, algorithm: Algorithm, public_spki: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let key = PublicEncryptingKey::from_der(public_spki)
            .ok()
            .and_then(|key| OaepPublicEncryptingKey::new(key).ok())
            .ok_or(KeyError::MalformedKey("RSA public"))?;
        let mut ciphertext = vec![0; key.ciphertext_size()];
        let written = key
            .encrypt(oaep(algorithm), plaintext, &mut ciphertext, None)
            .map_err(|_| KeyError::Provider("RSA-OAEP encryption"))?
            .len();
        ciphertext.truncate(written);
        Ok(ciphertext)
    }

    /// Decrypts an RSA-OAEP `ciphertext` with OAEP label `label`. aws-lc checks the whole
    /// encoding (the leading zero octet included) in constant time and reports every failure
    /// alike, so it becomes the one [`KeyError::DecryptionFailed`].
    fn decrypt(
        &self,
        algorithm: Algorithm,
        private_pkcs8: &[u8],
        ciphertext: &[u8],
        label: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let key = PrivateDecryptingKey::from_pkcs8(private_pkcs8)
            .ok()
            .and_then(|key| OaepPrivateDecryptingKey::new(key).ok())
            .ok_or(KeyError::MalformedKey("RSA private"))?;
        let mut plaintext = Zeroizing::new(vec![0; key.min_output_size()]);
        let label = (!label.is_empty()).then_some(label);
        let len = key
            .decrypt(oaep(algorithm), ciphertext, &mut plaintext, label)
            .map_err(|_| KeyError::DecryptionFailed)?
            .len();
        plaintext.truncate(len);
        Ok(plaintext)
    }
}

/// Generates an RSA-2048 key pair.
fn generate_rsa() -> Result<KeyPair, KeyError> {
    let key = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Provider("RSA key generation"))?;
    let private: Pkcs8V1Der = key.as_der().map_err(|_| KeyError::Provider("PKCS#8 encoding"))?;
    let public: PublicKeyX509Der = key.public_key().as_der().map_err(|_| KeyError::Provider("SPKI encoding"))?;
    Ok(KeyPair { private_pkcs8: Zeroizing::new(private.as_ref().to_vec()), public_spki: public.as_ref().to_vec() })
}

/// Generates a P-256 key pair.
fn generate_p256() -> Result<KeyPair, KeyError> {
    let key =
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(|_| KeyError::Provider("EC key generation"))?;
    let private = key.to_pkcs8v1().map_err(|_| KeyError::Provider("PKCS#8 encoding"))?;
    let public: PublicKeyX509Der = key.public_key().as_der().map_err(|_| KeyError::Provider("SPKI encoding"))?;
    Ok(KeyPair { private_pkcs8: Zeroizing::new(private.as_ref().to_vec()), public_spki: public.as_ref().to_vec() })
}

/// A parsed private key.
enum SigningKey {
    /// An RSA_2048 key.
    Rsa(RsaKeyPair),
    /// An EC_P256 key.
    P256(EcdsaKeyPair),
}

impl SigningKey {
    /// Parses a PKCS#8 RSA private key.
    fn parse_rsa(private_pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        RsaKeyPair::from_pkcs8(private_pkcs8).map(SigningKey::Rsa).map_err(|_| KeyError::MalformedKey("RSA private"))
    }

    /// Parses a PKCS#8 P-256 private key.
    fn parse_p256(private_pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, private_pkcs8)
            .map(SigningKey::P256)
            .map_err(|_| KeyError::MalformedKey("EC_P256 private"))
    }
}

impl PrivateKey for SigningKey {
    fn spec(&self) -> KeySpec {
        match self {
            SigningKey::Rsa(_) => KeySpec::Rsa2048,
            SigningKey::P256(_) => KeySpec::EcP256,
        }
    }

    fn sign(&self, algorithm: Algorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        let digest = sha256(digest)?;
        match self {
            SigningKey::Rsa(key) => {
                // Salt length: the digest's, 32 bytes, as RSA_PSS_SHA_256 specifies.
                let padding = if algorithm == Algorithm::RsaPssSha256 { &RSA_PSS_SHA256 } else { &RSA_PKCS1_SHA256 };
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign_digest(padding, &digest, &mut signature).map_err(|_| KeyError::Provider("RSA signing"))?;
                Ok(signature)
            }
            SigningKey::P256(key) => {
                let signature = key.sign_digest(&digest).map_err(|_| KeyError::Provider("ECDSA signing"))?;
                Ok(signature.as_ref().to_vec())
            }
        }
    }
}

/// Verifies an RSA signature over a SHA-256 `digest`, PKCS#1 v1.5 or PSS with a 32-byte
/// salt, with a key of 2048 bits or more that the rsa crate has already accepted (`keys.rs`).
fn verify_rsa(algorithm: Algorithm, public_spki: &[u8], digest: &[u8], signature: &[u8]) -> Result<bool, KeyError> {
    let parameters =
        if algorithm == Algorithm::RsaPssSha256 { &RSA_PSS_2048_8192_SHA256 } else { &RSA_PKCS1_2048_8192_SHA256 };
    let key = ParsedPublicKey::new(parameters, public_spki).map_err(|_| KeyError::MalformedKey("RSA public"))?;
    Ok(key.verify_digest_sig(&sha256(digest)?, signature).is_ok())
}

/// Verifies a DER-encoded ECDSA P-256 signature over a SHA-256 `digest`. aws-lc takes only
/// strict DER and any S in [1, n-1], as p256 does.
fn verify_p256(public_spki: &[u8], digest: &[u8], signature: &[u8]) -> Result<bool, KeyError> {
    let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_spki)
        .map_err(|_| KeyError::MalformedKey("EC_P256 public"))?;
    Ok(key.verify_digest_sig(&sha256(digest)?, signature).is_ok())
}

fn oaep(algorithm: Algorithm) -> &'static OaepAlgorithm {
    if algorithm == Algorithm::RsaesOaepSha256 { &OAEP_SHA256_MGF1SHA256 } else { &OAEP_SHA1_MGF1SHA1 }
}

fn sha256(digest: &[u8]) -> Result<Digest, KeyError> {
    Digest::import_less_safe(digest, &SHA256).map_err(|_| KeyError::DigestLength(digest.len()))
}
