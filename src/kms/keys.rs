//! Key material per KeySpec: generate, export the public key, sign a digest, verify,
//! encrypt, decrypt. This is the one module that does private-key work, so the crypto
//! provider behind it can change without touching anything else; its public face is the
//! same in every build.
//!
//! Providers (one module each): aws-lc-rs (`awslc`, feature `aws-lc`, the default) for
//! RSA_2048 and EC_P256, and RustCrypto (`rustcrypto`: rsa, p256, k256), compiled in every
//! build, for everything in a build without `aws-lc` and for EC_P256K always (k256 is
//! faster there). Both read and write the same formats, so a store moves between builds.
//! [`Provider`] names them for the differential tests, which run the same calls through each.
//!
//! Private keys come in and go out as PKCS#8 DER in zeroizing buffers; public keys as
//! SubjectPublicKeyInfo DER. Callers check that the algorithm fits the key (see
//! `spec.rs`); the checks here are a second line that turns a mismatch into an error
//! instead of a wrong answer.

#[cfg(feature = "aws-lc")]
mod awslc;
mod rustcrypto;

use crate::kms::spec::{Algorithm, KeySpec};
use sha2::Sha256;
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

/// Which implementation does the work. Only the differential tests choose: every other
/// caller gets [`Provider::DEFAULT`] through the functions without `_with`.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// rsa, p256, k256.
    RustCrypto,
    /// aws-lc-rs (RSA_2048 and EC_P256; EC_P256K still goes to k256).
    #[cfg(feature = "aws-lc")]
    AwsLc,
}

impl Provider {
    /// The provider of this build.
    #[cfg(feature = "aws-lc")]
    pub const DEFAULT: Provider = Provider::AwsLc;
    /// The provider of this build.
    #[cfg(not(feature = "aws-lc"))]
    pub const DEFAULT: Provider = Provider::RustCrypto;
    /// Every provider compiled in.
    pub const ALL: &'static [Provider] = &[
        Provider::RustCrypto,
        #[cfg(feature = "aws-lc")]
        Provider::AwsLc,
    ];
}

/// Generates a new key pair of `spec` from the operating system's RNG.
pub fn generate(spec: KeySpec) -> Result<KeyPair, KeyError> {
    generate_with(Provider::DEFAULT, spec)
}

/// [`generate`] by `provider`.
#[doc(hidden)]
pub fn generate_with(provider: Provider, spec: KeySpec) -> Result<KeyPair, KeyError> {
    match route(provider, spec) {
        Route::RustCrypto => rustcrypto::generate(spec),
        #[cfg(feature = "aws-lc")]
        Route::AwsLcRsa => awslc::generate_rsa(),
        #[cfg(feature = "aws-lc")]
        Route::AwsLcP256 => awslc::generate_p256(),
    }
}

/// Which provider module does the work for a key of some spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    RustCrypto,
    #[cfg(feature = "aws-lc")]
    AwsLcRsa,
    #[cfg(feature = "aws-lc")]
    AwsLcP256,
}

/// Where `provider` does `spec`'s work: EC_P256K always goes to k256.
#[cfg(feature = "aws-lc")]
fn route(provider: Provider, spec: KeySpec) -> Route {
    match (provider, spec) {
        (Provider::AwsLc, KeySpec::Rsa2048) => Route::AwsLcRsa,
        (Provider::AwsLc, KeySpec::EcP256) => Route::AwsLcP256,
        (Provider::RustCrypto, _) | (_, KeySpec::EcP256k) => Route::RustCrypto,
    }
}

/// Where `provider` does `spec`'s work: without aws-lc, RustCrypto does everything.
#[cfg(not(feature = "aws-lc"))]
fn route(_: Provider, _: KeySpec) -> Route {
    Route::RustCrypto
}

/// Where a public-key operation goes. The rsa crate's rules decide which RSA keys are
/// usable at all (`rustcrypto::rsa_public_bits`: 1024..=8192 bits, 2 <= e < 2^33), in every
/// build, so no key is accepted by one provider and refused by the other; aws-lc-rs takes
/// those of its range, and the few smaller ones the rsa crate accepts stay with it.
fn public_route(provider: Provider, spec: KeySpec, public_spki: &[u8]) -> Result<Route, KeyError> {
    let small_rsa = spec == KeySpec::Rsa2048 && rustcrypto::rsa_public_bits(public_spki)? < AWS_LC_RSA_MIN_BITS;
    Ok(if small_rsa { Route::RustCrypto } else { route(provider, spec) })
}

/// The smallest RSA modulus, in bits, that aws-lc-rs verifies or encrypts with.
const AWS_LC_RSA_MIN_BITS: usize = 2048;

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
/// parsing PKCS#8 costs more than a P-256 signature. Every provider's key type wipes its
/// secret when dropped.
pub struct SigningKey(Parsed);

/// A [`SigningKey`] as its provider holds it.
enum Parsed {
    RustCrypto(rustcrypto::SigningKey),
    #[cfg(feature = "aws-lc")]
    AwsLc(awslc::SigningKey),
}

impl SigningKey {
    /// Parses a PKCS#8 private key of `spec`.
    pub fn parse(spec: KeySpec, private_pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        SigningKey::parse_with(Provider::DEFAULT, spec, private_pkcs8)
    }

    /// [`SigningKey::parse`] by `provider`.
    #[doc(hidden)]
    pub fn parse_with(provider: Provider, spec: KeySpec, private_pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        Ok(SigningKey(match route(provider, spec) {
            Route::RustCrypto => Parsed::RustCrypto(rustcrypto::SigningKey::parse(spec, private_pkcs8)?),
            #[cfg(feature = "aws-lc")]
            Route::AwsLcRsa => Parsed::AwsLc(awslc::SigningKey::parse_rsa(private_pkcs8)?),
            #[cfg(feature = "aws-lc")]
            Route::AwsLcP256 => Parsed::AwsLc(awslc::SigningKey::parse_p256(private_pkcs8)?),
        }))
    }

    /// The spec of the key.
    pub fn spec(&self) -> KeySpec {
        match &self.0 {
            Parsed::RustCrypto(key) => key.spec(),
            #[cfg(feature = "aws-lc")]
            Parsed::AwsLc(key) => {
                if key.is_rsa() {
                    KeySpec::Rsa2048
                } else {
                    KeySpec::EcP256
                }
            }
        }
    }

    /// Signs a SHA-256 `digest` (see [`sign_digest`]).
    pub fn sign(&self, algorithm: Algorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        check_fits(self.spec(), algorithm)?;
        check_digest(digest)?;
        match &self.0 {
            Parsed::RustCrypto(key) => key.sign(algorithm, digest),
            #[cfg(feature = "aws-lc")]
            Parsed::AwsLc(key) => key.sign(algorithm, digest),
        }
    }
}

/// Verifies `signature` over a SHA-256 `digest`. A signature that is malformed, of the
/// wrong length or simply wrong is `Ok(false)`; only an unusable key or request is an error.
///
/// ECDSA signatures must be strict DER. secp256k1 signatures with a high S are accepted,
/// as OpenSSL accepts them: low-S is a Bitcoin consensus rule, not part of ECDSA (k256
/// enforces it, so S is normalised before verifying; (r, n-s) is valid iff (r, s) is).
/// RSA keys are usable as the rsa crate rules, in every build (see `public_route`).
pub fn verify_digest(
    spec: KeySpec,
    algorithm: Algorithm,
    public_spki: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, KeyError> {
    verify_digest_with(Provider::DEFAULT, spec, algorithm, public_spki, digest, signature)
}

/// [`verify_digest`] by `provider`.
#[doc(hidden)]
pub fn verify_digest_with(
    provider: Provider,
    spec: KeySpec,
    algorithm: Algorithm,
    public_spki: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, KeyError> {
    check_fits(spec, algorithm)?;
    check_digest(digest)?;
    match public_route(provider, spec, public_spki)? {
        Route::RustCrypto => rustcrypto::verify_digest(spec, algorithm, public_spki, digest, signature),
        #[cfg(feature = "aws-lc")]
        Route::AwsLcRsa => awslc::verify_rsa(algorithm, public_spki, digest, signature),
        #[cfg(feature = "aws-lc")]
        Route::AwsLcP256 => awslc::verify_p256(public_spki, digest, signature),
    }
}

/// Encrypts `plaintext` with RSA-OAEP (empty label) under the public key.
pub fn encrypt(spec: KeySpec, algorithm: Algorithm, public_spki: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
    encrypt_with(Provider::DEFAULT, spec, algorithm, public_spki, plaintext)
}

/// [`encrypt`] by `provider`.
#[doc(hidden)]
pub fn encrypt_with(
    provider: Provider,
    spec: KeySpec,
    algorithm: Algorithm,
    public_spki: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, KeyError> {
    check_fits(spec, algorithm)?;
    let max = algorithm.max_plaintext_len().unwrap_or(0);
    if plaintext.len() > max {
        return Err(KeyError::PlaintextTooLong { len: plaintext.len(), max, algorithm });
    }
    match public_route(provider, spec, public_spki)? {
        Route::RustCrypto => rustcrypto::encrypt(algorithm, public_spki, plaintext),
        #[cfg(feature = "aws-lc")]
        Route::AwsLcRsa => awslc::encrypt(algorithm, public_spki, plaintext),
        // P-256 keys do not encrypt: check_fits has refused this already.
        #[cfg(feature = "aws-lc")]
        Route::AwsLcP256 => Err(KeyError::AlgorithmMismatch { algorithm, spec }),
    }
}

/// Decrypts an RSA-OAEP `ciphertext` with the private key (blinded, in constant time).
/// `label` is the OAEP label; the KMS API always passes an empty one, the test vectors
/// sometimes do not. Every failure is the one [`KeyError::DecryptionFailed`], never told
/// apart (Manger's attack needs exactly that oracle).
pub fn decrypt(
    spec: KeySpec,
    algorithm: Algorithm,
    private_pkcs8: &[u8],
    ciphertext: &[u8],
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    decrypt_with(Provider::DEFAULT, spec, algorithm, private_pkcs8, ciphertext, label)
}

/// [`decrypt`] by `provider`.
#[doc(hidden)]
pub fn decrypt_with(
    provider: Provider,
    spec: KeySpec,
    algorithm: Algorithm,
    private_pkcs8: &[u8],
    ciphertext: &[u8],
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    check_fits(spec, algorithm)?;
    match route(provider, spec) {
        Route::RustCrypto => rustcrypto::decrypt(algorithm, private_pkcs8, ciphertext, label),
        #[cfg(feature = "aws-lc")]
        Route::AwsLcRsa => awslc::decrypt(algorithm, private_pkcs8, ciphertext, label),
        // P-256 keys do not decrypt: check_fits has refused this already.
        #[cfg(feature = "aws-lc")]
        Route::AwsLcP256 => Err(KeyError::AlgorithmMismatch { algorithm, spec }),
    }
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
