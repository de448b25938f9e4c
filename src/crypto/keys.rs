//! Key material per KeySpec: generate, export the public key, sign a digest, verify,
//! encrypt, decrypt. This is the one module that does private-key work, so the crypto
//! provider behind it can change without touching anything else; its public face is the
//! same in every build.
//!
//! Providers (one module each): aws-lc-rs (`awslc`, feature `aws-lc`, the default) for
//! RSA_2048 and EC_P256, and RustCrypto (`rustcrypto`: rsa, p256, k256), compiled in every
//! build, for everything in a build without `aws-lc` and for EC_P256K always (k256 is
//! faster there). Both read and write the same formats, so a store moves between builds.
//! Each provider implements the one `Backend` trait, and `Provider::backend` is the one
//! place that chooses; [`Provider`] also names them for the differential tests, which run
//! the same calls through each.
//!
//! Private keys come in and go out as PKCS#8 DER in zeroizing buffers; public keys as
//! SubjectPublicKeyInfo DER. Callers check that the algorithm fits the key (see
//! `spec.rs`); the checks here are a second line that turns a mismatch into an error
//! instead of a wrong answer.

#[cfg(feature = "aws-lc")]
mod awslc;
mod rustcrypto;

use crate::crypto::spec::{Algorithm, KeySpec};
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
    /// A hardware token failed or refused (an HSM key's operation).
    #[error("{0}")]
    Token(crate::crypto::pkcs11::TokenError),
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

/// What a provider does, for the specs [`Provider::backend`] sends it. Each provider
/// module implements it once; every public function here routes once, through `backend`.
/// The callers have checked that the algorithm fits the spec and the digest's length.
trait Backend: Sync {
    /// The provider's name, which the routing tests check.
    #[cfg_attr(not(test), allow(dead_code))]
    fn name(&self) -> &'static str;
    /// A new key pair of `spec`.
    fn generate(&self, spec: KeySpec) -> Result<KeyPair, KeyError>;
    /// A PKCS#8 private key of `spec`, parsed for signing.
    fn parse(&self, spec: KeySpec, private_pkcs8: &[u8]) -> Result<Box<dyn PrivateKey>, KeyError>;
    /// Whether `signature` over a SHA-256 `digest` verifies (see [`verify_digest`]).
    fn verify_digest(
        &self,
        spec: KeySpec,
        algorithm: Algorithm,
        public_spki: &[u8],
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, KeyError>;
    /// RSA-OAEP encryption with an empty label; the caller has checked the length.
    fn encrypt(&self, algorithm: Algorithm, public_spki: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// RSA-OAEP decryption, every failure the one [`KeyError::DecryptionFailed`].
    fn decrypt(
        &self,
        algorithm: Algorithm,
        private_pkcs8: &[u8],
        ciphertext: &[u8],
        label: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyError>;
}

/// A private key as its provider parsed it, or a key in a token (`pkcs11::TokenKey`).
/// Every provider's key type wipes its secret when dropped.
pub(crate) trait PrivateKey: Send + Sync {
    /// The spec of the key.
    fn spec(&self) -> KeySpec;
    /// Signs a SHA-256 `digest`; the caller has checked the algorithm and the length.
    fn sign(&self, algorithm: Algorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError>;
}

impl Provider {
    /// The one place that says which provider module does `spec`'s work: aws-lc-rs
    /// RSA_2048 and EC_P256 in its build, RustCrypto everything else (EC_P256K always).
    #[cfg_attr(not(feature = "aws-lc"), allow(unused_variables))]
    fn backend(self, spec: KeySpec) -> &'static dyn Backend {
        match self {
            #[cfg(feature = "aws-lc")]
            Provider::AwsLc if spec != KeySpec::EcP256k => &awslc::AwsLc,
            _ => &rustcrypto::RustCrypto,
        }
    }

    /// Where a public-key operation goes. The rsa crate's rules decide which RSA keys are
    /// usable at all (`rustcrypto::rsa_public_bits`: 1024..=8192 bits, 2 <= e < 2^33), in
    /// every build, so no key is accepted by one provider and refused by the other;
    /// aws-lc-rs takes those of its range, and the few smaller ones stay with RustCrypto.
    fn public_backend(self, spec: KeySpec, public_spki: &[u8]) -> Result<&'static dyn Backend, KeyError> {
        let small_rsa = spec == KeySpec::Rsa2048 && rustcrypto::rsa_public_bits(public_spki)? < AWS_LC_RSA_MIN_BITS;
        Ok(if small_rsa { &rustcrypto::RustCrypto } else { self.backend(spec) })
    }
}

/// The smallest RSA modulus, in bits, that aws-lc-rs verifies or encrypts with.
const AWS_LC_RSA_MIN_BITS: usize = 2048;

/// Generates a new key pair of `spec` from the operating system's RNG.
pub fn generate(spec: KeySpec) -> Result<KeyPair, KeyError> {
    generate_with(Provider::DEFAULT, spec)
}

/// [`generate`] by `provider`.
#[doc(hidden)]
pub fn generate_with(provider: Provider, spec: KeySpec) -> Result<KeyPair, KeyError> {
    provider.backend(spec).generate(spec)
}

/// PEM of a SubjectPublicKeyInfo: `-----BEGIN PUBLIC KEY-----`, 64-character lines,
/// trailing newline — what `openssl pkey -pubin` reads.
pub fn public_key_pem(public_spki: &[u8]) -> String {
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, public_spki).unwrap_or_default()
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
    use der::oid::db::rfc5912::{ECDSA_WITH_SHA_256, SHA_256_WITH_RSA_ENCRYPTION};
    match algorithm {
        Algorithm::RsaPkcs1Sha256 => Ok(spki::AlgorithmIdentifierOwned {
            oid: SHA_256_WITH_RSA_ENCRYPTION,
            parameters: Some(der::asn1::Null.into()),
        }),
        Algorithm::RsaPssSha256 => rsa::pss::get_default_pss_signature_algo_id::<Sha256>()
            .map_err(|_| KeyError::Provider("PSS parameter encoding")),
        Algorithm::EcdsaSha256 => Ok(spki::AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA_256, parameters: None }),
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
/// parsing PKCS#8 costs more than a P-256 signature.
pub struct SigningKey(Box<dyn PrivateKey>);

impl SigningKey {
    /// Parses a PKCS#8 private key of `spec`.
    pub fn parse(spec: KeySpec, private_pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        SigningKey::parse_with(Provider::DEFAULT, spec, private_pkcs8)
    }

    /// [`SigningKey::parse`] by `provider`.
    #[doc(hidden)]
    pub fn parse_with(provider: Provider, spec: KeySpec, private_pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        provider.backend(spec).parse(spec, private_pkcs8).map(SigningKey)
    }

    /// The key of an HSM key version, which signs inside its token.
    pub fn in_token(key: crate::crypto::pkcs11::TokenKey) -> SigningKey {
        SigningKey(Box::new(key))
    }

    /// The spec of the key.
    pub fn spec(&self) -> KeySpec {
        self.0.spec()
    }

    /// Signs a SHA-256 `digest` (see [`sign_digest`]).
    pub fn sign(&self, algorithm: Algorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        check_fits(self.spec(), algorithm)?;
        check_digest(digest)?;
        self.0.sign(algorithm, digest)
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
    provider.public_backend(spec, public_spki)?.verify_digest(spec, algorithm, public_spki, digest, signature)
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
    provider.public_backend(spec, public_spki)?.encrypt(algorithm, public_spki, plaintext)
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
    provider.backend(spec).decrypt(algorithm, private_pkcs8, ciphertext, label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn each_spec_goes_to_its_provider() {
        for spec in KeySpec::ALL {
            assert_eq!(Provider::RustCrypto.backend(*spec).name(), "RustCrypto");
        }
        #[cfg(feature = "aws-lc")]
        {
            assert_eq!(Provider::AwsLc.backend(KeySpec::Rsa2048).name(), "aws-lc-rs");
            assert_eq!(Provider::AwsLc.backend(KeySpec::EcP256).name(), "aws-lc-rs");
            assert_eq!(Provider::AwsLc.backend(KeySpec::EcP256k).name(), "RustCrypto", "k256 is faster for secp256k1");
        }
    }

    #[test]
    fn rsa_public_keys_below_2048_bits_stay_with_rustcrypto() {
        use rsa::pkcs8::EncodePublicKey;
        let small = rsa::PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
        let small = small.to_public_key().to_public_key_der().unwrap();
        let usual = generate(KeySpec::Rsa2048).unwrap().public_spki;
        for provider in Provider::ALL {
            let backend = |spki: &[u8]| provider.public_backend(KeySpec::Rsa2048, spki).unwrap().name();
            assert_eq!(backend(small.as_bytes()), "RustCrypto");
            assert_eq!(backend(&usual), provider.backend(KeySpec::Rsa2048).name(), "2048 bits is aws-lc-rs's range");
        }
        assert!(Provider::DEFAULT.public_backend(KeySpec::Rsa2048, b"not a key").is_err());
    }

    #[test]
    fn sign_then_verify_every_spec_and_algorithm() {
        let digest = Sha256::digest(b"keyseal");
        for spec in KeySpec::ALL {
            let pair = generate(*spec).unwrap();
            for alg in spec.algorithms(crate::crypto::spec::KeyUsage::SignVerify) {
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
        // Every provider is spared a digest of another length, whether or not it would
        // have refused it itself (p256 signs a prehash as short as 16 bytes).
        for provider in Provider::ALL {
            let key = SigningKey::parse_with(*provider, KeySpec::EcP256, &pair.private_pkcs8).unwrap();
            assert_eq!(key.sign(Algorithm::EcdsaSha256, &digest[..31]), Err(KeyError::DigestLength(31)));
            let signature = key.sign(Algorithm::EcdsaSha256, &digest).unwrap();
            let verify = |digest: &[u8]| {
                verify_digest_with(
                    *provider,
                    KeySpec::EcP256,
                    Algorithm::EcdsaSha256,
                    &pair.public_spki,
                    digest,
                    &signature,
                )
            };
            assert_eq!(verify(&digest[..31]), Err(KeyError::DigestLength(31)));
            assert_eq!(verify(&[0; 33]), Err(KeyError::DigestLength(33)));
        }
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
            assert_eq!(crate::crypto::public_key::spec_of_public_key(&pair.public_spki), Some(*spec));
            let pem = public_key_pem(&pair.public_spki);
            assert_eq!(public_key_from_pem(&pem), Some(pair.public_spki.clone()));
        }
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
