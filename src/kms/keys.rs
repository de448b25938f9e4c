//! Key material per KeySpec: generate, export the public key, sign a digest, verify,
//! encrypt, decrypt. This is the one module that names rsa / p256 / k256, so a faster
//! provider can replace it behind a cargo feature without touching anything else.
//!
//! Private keys come in and go out as PKCS#8 DER in zeroizing buffers; public keys as
//! SubjectPublicKeyInfo DER. Callers check that the algorithm fits the key (see
//! `spec.rs`); the checks here are a second line that turns a mismatch into an error
//! instead of a wrong answer.

use crate::kms::spec::{Algorithm, KeySpec};
use getrandom::SysRng;
use p256::elliptic_curve::Generate;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use sha2::Sha256;
use signature::hazmat::{PrehashSigner, PrehashVerifier};
use spki::{DecodePublicKey, EncodePublicKey};
use zeroize::Zeroizing;

/// Why a key operation failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The algorithm does not belong to the key's spec or usage.
    #[error("algorithm {algorithm} does not apply to a {spec} key")]
    AlgorithmMismatch {
        /// What was asked for.
        algorithm: Algorithm,
        /// The key it was asked of.
        spec: KeySpec,
    },
    /// Stored or supplied key bytes did not parse as the expected key type.
    #[error("the {0} key material is malformed")]
    MalformedKey(&'static str),
    /// A digest of the wrong length; every signing algorithm here takes SHA-256.
    #[error("the digest is {0} bytes; give the 32-byte SHA-256 digest of the message, base64-encoded")]
    DigestLength(usize),
    /// The plaintext does not fit one RSA-OAEP block.
    #[error("the plaintext is {len} bytes; {algorithm} with RSA_2048 takes at most {max}")]
    PlaintextTooLong {
        /// Bytes given.
        len: usize,
        /// Bytes allowed.
        max: usize,
        /// The encryption algorithm.
        algorithm: Algorithm,
    },
    /// The ciphertext did not decrypt: wrong key version, algorithm, or a damaged blob.
    #[error("the ciphertext does not decrypt with this key version and algorithm")]
    DecryptionFailed,
    /// The crypto library refused (an RNG failure or an internal error).
    #[error("the {0} operation failed in the crypto provider")]
    Provider(&'static str),
}

/// A freshly generated key pair.
pub struct KeyPair {
    /// PKCS#8 DER of the private key; zeroized on drop.
    pub private_pkcs8: Zeroizing<Vec<u8>>,
    /// SubjectPublicKeyInfo DER of the public key.
    pub public_spki: Vec<u8>,
}

/// Generates a new key pair of `spec` from the operating system's RNG.
pub fn generate(spec: KeySpec) -> Result<KeyPair, KeyError> {
    let (private, public) = match spec {
        KeySpec::Rsa2048 => {
            let key = rsa::PrivateKey::new(&mut SysRng, 2048).map_err(|_| KeyError::Provider("RSA key generation"))?;
            let public = key.to_public_key().to_public_key_der();
            (key.to_pkcs8_der(), public)
        }
        KeySpec::EcP256 => {
            let key = p256::ecdsa::SigningKey::try_generate_from_rng(&mut SysRng)
                .map_err(|_| KeyError::Provider("EC key generation"))?;
            (key.to_pkcs8_der(), key.verifying_key().to_public_key_der())
        }
        KeySpec::EcP256k => {
            let key = k256::ecdsa::SigningKey::try_generate_from_rng(&mut SysRng)
                .map_err(|_| KeyError::Provider("EC key generation"))?;
            (key.to_pkcs8_der(), key.verifying_key().to_public_key_der())
        }
    };
    let private = private.map_err(|_| KeyError::Provider("PKCS#8 encoding"))?;
    let public = public.map_err(|_| KeyError::Provider("SPKI encoding"))?;
    Ok(KeyPair { private_pkcs8: Zeroizing::new(private.as_bytes().to_vec()), public_spki: public.as_bytes().to_vec() })
}

/// PEM of a SubjectPublicKeyInfo: `-----BEGIN PUBLIC KEY-----`, 64-character lines,
/// trailing newline — what `openssl pkey -pubin` reads.
pub fn public_key_pem(public_spki: &[u8]) -> String {
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, public_spki).unwrap_or_default()
}

const RSA_ENCRYPTION: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP256K1: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.132.0.10");

/// The KeySpec a SubjectPublicKeyInfo belongs to, from its algorithm and curve: how an
/// offline verifier, holding only a public key, knows which verification to run. Any RSA
/// key reads as `RSA_2048`, the only RSA spec; the RSA code takes other sizes as they come.
pub fn spec_of_public_key(public_spki: &[u8]) -> Option<KeySpec> {
    use der::Decode;
    let info = spki::SubjectPublicKeyInfoRef::from_der(public_spki).ok()?;
    if info.algorithm.oid == RSA_ENCRYPTION {
        return Some(KeySpec::Rsa2048);
    }
    if info.algorithm.oid != EC_PUBLIC_KEY {
        return None;
    }
    match info.algorithm.parameters_oid().ok()? {
        SECP256R1 => Some(KeySpec::EcP256),
        SECP256K1 => Some(KeySpec::EcP256k),
        _ => None,
    }
}

/// SubjectPublicKeyInfo DER from a `PUBLIC KEY` PEM, or `None` when it is not one.
pub fn public_key_from_pem(pem: &str) -> Option<Vec<u8>> {
    let (label, der) = der::pem::decode_vec(pem.trim().as_bytes()).ok()?;
    (label == "PUBLIC KEY").then_some(der)
}

/// The X.509 AlgorithmIdentifier of a KMS signing algorithm, as certificates and CRLs
/// carry it: sha256WithRSAEncryption (NULL parameters), RSASSA-PSS with SHA-256, MGF1-SHA-256
/// and a 32-byte salt, or ecdsa-with-SHA256 (no parameters, for both curves).
pub fn signature_algorithm_identifier(algorithm: Algorithm) -> Result<spki::AlgorithmIdentifierOwned, KeyError> {
    const SHA256_WITH_RSA: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    const ECDSA_WITH_SHA256: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
    match algorithm {
        Algorithm::RsaPkcs1Sha256 => {
            Ok(spki::AlgorithmIdentifierOwned { oid: SHA256_WITH_RSA, parameters: Some(der::asn1::Null.into()) })
        }
        Algorithm::RsaPssSha256 => rsa::pss::get_default_pss_signature_algo_id::<Sha256>()
            .map_err(|_| KeyError::Provider("PSS parameter encoding")),
        Algorithm::EcdsaSha256 => Ok(spki::AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None }),
        Algorithm::RsaesOaepSha256 | Algorithm::RsaesOaepSha1 => {
            Err(KeyError::Provider("signature identifier of an encryption algorithm"))
        }
    }
}

fn check_fits(spec: KeySpec, algorithm: Algorithm) -> Result<(), KeyError> {
    let fits = spec.algorithms(algorithm.usage()).contains(&algorithm);
    if fits { Ok(()) } else { Err(KeyError::AlgorithmMismatch { algorithm, spec }) }
}

/// Refuses a digest that is not a SHA-256 digest (32 bytes).
pub fn check_digest(digest: &[u8]) -> Result<(), KeyError> {
    if digest.len() == 32 { Ok(()) } else { Err(KeyError::DigestLength(digest.len())) }
}

/// Signs a SHA-256 `digest` with the private key; ECDSA signatures come out DER-encoded
/// (secp256k1 ones low-S normalised), RSA ones as the raw modulus-sized block.
pub fn sign_digest(
    spec: KeySpec,
    algorithm: Algorithm,
    private_pkcs8: &[u8],
    digest: &[u8],
) -> Result<Vec<u8>, KeyError> {
    check_fits(spec, algorithm)?;
    check_digest(digest)?;
    SigningKey::parse(spec, private_pkcs8)?.sign(algorithm, digest)
}

/// A private key parsed for signing, as the KMS keeps it between calls (`key_cache`):
/// parsing PKCS#8 costs more than a P-256 signature. The key types zeroize their secrets
/// when dropped.
pub enum SigningKey {
    /// An RSA_2048 key.
    Rsa(Box<rsa::PrivateKey>),
    /// An EC_P256 key.
    P256(p256::ecdsa::SigningKey),
    /// An EC_P256K key.
    K256(k256::ecdsa::SigningKey),
}

impl SigningKey {
    /// Parses a PKCS#8 private key of `spec`.
    pub fn parse(spec: KeySpec, private_pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        Ok(match spec {
            KeySpec::Rsa2048 => SigningKey::Rsa(Box::new(rsa_private(private_pkcs8)?)),
            KeySpec::EcP256 => SigningKey::P256(
                p256::ecdsa::SigningKey::from_pkcs8_der(private_pkcs8)
                    .map_err(|_| KeyError::MalformedKey("EC_P256 private"))?,
            ),
            KeySpec::EcP256k => SigningKey::K256(
                k256::ecdsa::SigningKey::from_pkcs8_der(private_pkcs8)
                    .map_err(|_| KeyError::MalformedKey("EC_P256K private"))?,
            ),
        })
    }

    /// The spec of the key.
    pub fn spec(&self) -> KeySpec {
        match self {
            SigningKey::Rsa(_) => KeySpec::Rsa2048,
            SigningKey::P256(_) => KeySpec::EcP256,
            SigningKey::K256(_) => KeySpec::EcP256k,
        }
    }

    /// Signs a SHA-256 `digest` (see [`sign_digest`]).
    pub fn sign(&self, algorithm: Algorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        check_fits(self.spec(), algorithm)?;
        check_digest(digest)?;
        Ok(match self {
            SigningKey::Rsa(key) => {
                let signed = if algorithm == Algorithm::RsaPssSha256 {
                    key.pss_sign_prehash::<Sha256>(digest)
                } else {
                    key.pkcs1v15_sign_prehash::<Sha256>(digest)
                };
                signed.map_err(|_| KeyError::Provider("RSA signing"))?
            }
            SigningKey::P256(key) => {
                let sig: p256::ecdsa::Signature =
                    key.sign_prehash(digest).map_err(|_| KeyError::Provider("ECDSA signing"))?;
                sig.to_der().as_bytes().to_vec()
            }
            SigningKey::K256(key) => {
                let sig: k256::ecdsa::Signature =
                    key.sign_prehash(digest).map_err(|_| KeyError::Provider("ECDSA signing"))?;
                sig.to_der().as_bytes().to_vec()
            }
        })
    }
}

/// Verifies `signature` over a SHA-256 `digest`. A signature that is malformed, of the
/// wrong length or simply wrong is `Ok(false)`; only an unusable key or request is an error.
///
/// ECDSA signatures must be strict DER. secp256k1 signatures with a high S are accepted,
/// as OpenSSL accepts them: low-S is a Bitcoin consensus rule, not part of ECDSA (k256
/// enforces it, so S is normalised before verifying; (r, n-s) is valid iff (r, s) is).
pub fn verify_digest(
    spec: KeySpec,
    algorithm: Algorithm,
    public_spki: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, KeyError> {
    check_fits(spec, algorithm)?;
    check_digest(digest)?;
    let valid = match spec {
        KeySpec::Rsa2048 => {
            let key =
                rsa::PublicKey::from_public_key_der(public_spki).map_err(|_| KeyError::MalformedKey("RSA public"))?;
            if algorithm == Algorithm::RsaPssSha256 {
                key.pss_verify_prehash::<Sha256>(digest, signature).is_ok()
            } else {
                key.pkcs1v15_verify_prehash::<Sha256>(digest, signature).is_ok()
            }
        }
        KeySpec::EcP256 => {
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(public_spki)
                .map_err(|_| KeyError::MalformedKey("EC_P256 public"))?;
            p256::ecdsa::Signature::from_der(signature).is_ok_and(|sig| key.verify_prehash(digest, &sig).is_ok())
        }
        KeySpec::EcP256k => {
            let key = k256::ecdsa::VerifyingKey::from_public_key_der(public_spki)
                .map_err(|_| KeyError::MalformedKey("EC_P256K public"))?;
            k256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify_prehash(digest, &sig.normalize_s()).is_ok())
        }
    };
    Ok(valid)
}

/// Encrypts `plaintext` with RSA-OAEP (empty label) under the public key.
pub fn encrypt(spec: KeySpec, algorithm: Algorithm, public_spki: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
    check_fits(spec, algorithm)?;
    let max = algorithm.max_plaintext_len().unwrap_or(0);
    if plaintext.len() > max {
        return Err(KeyError::PlaintextTooLong { len: plaintext.len(), max, algorithm });
    }
    let key = rsa::PublicKey::from_public_key_der(public_spki).map_err(|_| KeyError::MalformedKey("RSA public"))?;
    let ciphertext = if algorithm == Algorithm::RsaesOaepSha256 {
        key.oaep_encrypt::<Sha256>(plaintext)
    } else {
        key.oaep_encrypt::<sha1::Sha1>(plaintext)
    };
    ciphertext.map_err(|_| KeyError::Provider("RSA-OAEP encryption"))
}

/// Decrypts an RSA-OAEP `ciphertext` with the private key (blinded). `label` is the OAEP
/// label; the KMS API always passes an empty one, the test vectors sometimes do not.
///
/// rsa 0.10 ignores the leading octet of the encoded message, which RFC 8017 §7.1.2
/// step 3.g requires to be zero (Wycheproof "First byte is 1"). keyseal checks it with a
/// second private-key operation, always run and folded into one error, so no failure is
/// told apart from another (Manger's attack needs exactly that oracle).
pub fn decrypt(
    spec: KeySpec,
    algorithm: Algorithm,
    private_pkcs8: &[u8],
    ciphertext: &[u8],
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    check_fits(spec, algorithm)?;
    let key = rsa_private(private_pkcs8)?;
    let plaintext = if algorithm == Algorithm::RsaesOaepSha256 {
        key.decrypt_blinded(&mut SysRng, oaep_padding::<Sha256>(label), ciphertext)
    } else {
        key.decrypt_blinded(&mut SysRng, oaep_padding::<sha1::Sha1>(label), ciphertext)
    };
    // Zeroizing before the check, so a refused plaintext is wiped as well.
    let plaintext = plaintext.map(Zeroizing::new);
    let leading_zero = oaep_leading_octet_is_zero(&key, ciphertext);
    match plaintext {
        Ok(plaintext) if leading_zero => Ok(plaintext),
        _ => Err(KeyError::DecryptionFailed),
    }
}

/// Whether the RSA decryption of `ciphertext` fits in k-1 octets, i.e. its encoded
/// message starts with the zero octet OAEP requires.
fn oaep_leading_octet_is_zero(key: &rsa::PrivateKey, ciphertext: &[u8]) -> bool {
    use rsa::traits::PublicKeyParts;
    let precision = key.n().bits_precision();
    let Ok(c) = rsa::BoxedUint::from_be_slice(ciphertext, precision) else {
        return false;
    };
    match rsa::hazmat::rsa_decrypt_and_check(key, Some(&mut SysRng), &c) {
        Ok(m) => m.bit_width() <= 8 * (key.size() as u32 - 1),
        Err(_) => false,
    }
}

fn oaep_padding<D>(label: &[u8]) -> rsa::Oaep<D>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    if label.is_empty() { rsa::Oaep::new() } else { rsa::Oaep::new_with_label(label.to_vec()) }
}

fn rsa_private(private_pkcs8: &[u8]) -> Result<rsa::PrivateKey, KeyError> {
    rsa::PrivateKey::from_pkcs8_der(private_pkcs8).map_err(|_| KeyError::MalformedKey("RSA private"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn sign_then_verify_every_spec_and_algorithm() {
        let digest = Sha256::digest(b"keyseal");
        for spec in KeySpec::ALL {
            let pair = generate(*spec).unwrap();
            for alg in spec.algorithms(crate::kms::spec::KeyUsage::SignVerify) {
                let sig = sign_digest(*spec, *alg, &pair.private_pkcs8, &digest).unwrap();
                assert!(verify_digest(*spec, *alg, &pair.public_spki, &digest, &sig).unwrap());
                let other = Sha256::digest(b"other");
                assert!(!verify_digest(*spec, *alg, &pair.public_spki, &other, &sig).unwrap());
                assert!(!verify_digest(*spec, *alg, &pair.public_spki, &digest, &sig[..10]).unwrap());
            }
        }
    }

    #[test]
    fn refuses_mismatched_algorithm_and_bad_digest() {
        let pair = generate(KeySpec::EcP256).unwrap();
        let digest = [0u8; 32];
        assert_eq!(
            sign_digest(KeySpec::EcP256, Algorithm::RsaPssSha256, &pair.private_pkcs8, &digest),
            Err(KeyError::AlgorithmMismatch { algorithm: Algorithm::RsaPssSha256, spec: KeySpec::EcP256 })
        );
        assert_eq!(
            sign_digest(KeySpec::EcP256, Algorithm::EcdsaSha256, &pair.private_pkcs8, &digest[..31]),
            Err(KeyError::DigestLength(31))
        );
    }

    #[test]
    fn oaep_round_trip_and_limits() {
        let pair = generate(KeySpec::Rsa2048).unwrap();
        for alg in [Algorithm::RsaesOaepSha256, Algorithm::RsaesOaepSha1] {
            let max = alg.max_plaintext_len().unwrap();
            let ct = encrypt(KeySpec::Rsa2048, alg, &pair.public_spki, &vec![7u8; max]).unwrap();
            let pt = decrypt(KeySpec::Rsa2048, alg, &pair.private_pkcs8, &ct, b"").unwrap();
            assert_eq!(pt.as_slice(), vec![7u8; max].as_slice());
            assert!(matches!(
                encrypt(KeySpec::Rsa2048, alg, &pair.public_spki, &vec![7u8; max + 1]),
                Err(KeyError::PlaintextTooLong { .. })
            ));
        }
    }

    #[test]
    fn spec_is_read_back_from_the_public_key() {
        for spec in KeySpec::ALL {
            let pair = generate(*spec).unwrap();
            assert_eq!(spec_of_public_key(&pair.public_spki), Some(*spec));
            let pem = public_key_pem(&pair.public_spki);
            assert_eq!(public_key_from_pem(&pem), Some(pair.public_spki.clone()));
        }
        assert_eq!(spec_of_public_key(b"not der"), None);
        assert_eq!(public_key_from_pem("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"), None);
    }

    #[test]
    fn public_key_pem_has_64_column_lines() {
        let pair = generate(KeySpec::Rsa2048).unwrap();
        let pem = public_key_pem(&pair.public_spki);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
    }
}
