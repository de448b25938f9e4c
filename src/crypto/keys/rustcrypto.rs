//! The RustCrypto provider: `rsa`, `p256` and `k256`. Compiled in every build: it is the
//! provider of a build without `aws-lc`, it always does secp256k1 (k256 is faster there
//! than aws-lc-rs), it sets the rules for which RSA public keys are usable at all
//! ([`rsa_public_bits`]), and the differential tests hold the aws-lc-rs provider to it.

use super::{Backend, KeyError, KeyPair, PrivateKey};
use crate::crypto::public_key::{Hash, PublicKey, Scheme};
use crate::crypto::spec::{Algorithm, KeySpec};
use getrandom::SysRng;
use p256::elliptic_curve::Generate;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use sha2::Sha256;
use signature::hazmat::PrehashSigner;
use spki::EncodePublicKey;
use zeroize::Zeroizing;

/// The RustCrypto provider.
pub(super) struct RustCrypto;

impl Backend for RustCrypto {
    fn name(&self) -> &'static str {
        "RustCrypto"
    }

    /// Generates a new key pair of `spec` from the operating system's RNG.
    fn generate(&self, spec: KeySpec) -> Result<KeyPair, KeyError> {
        let (private, public) = match spec {
            KeySpec::Rsa2048 => {
                let key =
                    rsa::PrivateKey::new(&mut SysRng, 2048).map_err(|_| KeyError::Provider("RSA key generation"))?;
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
        Ok(KeyPair {
            private_pkcs8: Zeroizing::new(private.as_bytes().to_vec()),
            public_spki: public.as_bytes().to_vec(),
        })
    }

    fn parse(&self, spec: KeySpec, private_pkcs8: &[u8]) -> Result<Box<dyn PrivateKey>, KeyError> {
        Ok(Box::new(SigningKey::parse(spec, private_pkcs8)?))
    }

    /// Verifies `signature` over a SHA-256 `digest` with `crypto::PublicKey`, the check the
    /// certificate verifier uses too (see `keys::verify_digest` for the rules).
    fn verify_digest(
        &self,
        spec: KeySpec,
        algorithm: Algorithm,
        public_spki: &[u8],
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, KeyError> {
        let malformed = || {
            KeyError::MalformedKey(match spec {
                KeySpec::Rsa2048 => "RSA public",
                KeySpec::EcP256 => "EC_P256 public",
                KeySpec::EcP256k => "EC_P256K public",
            })
        };
        let key = PublicKey::from_spki(public_spki).map_err(|_| malformed())?;
        if key.spec() != Some(spec) {
            return Err(malformed());
        }
        let scheme = match algorithm {
            Algorithm::RsaPssSha256 => Scheme::Pss { hash: Hash::Sha256, salt_len: 32 },
            Algorithm::EcdsaSha256 => Scheme::Ecdsa,
            _ => Scheme::Pkcs1(Hash::Sha256),
        };
        key.verify_prehash(scheme, digest, signature).map_err(|_| malformed())
    }

    /// Encrypts `plaintext` with RSA-OAEP (empty label); the caller has checked its length.
    fn encrypt(&self, algorithm: Algorithm, public_spki: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let key = rsa_public(public_spki)?;
        let ciphertext = if algorithm == Algorithm::RsaesOaepSha256 {
            key.oaep_encrypt::<Sha256>(plaintext)
        } else {
            key.oaep_encrypt::<sha1::Sha1>(plaintext)
        };
        ciphertext.map_err(|_| KeyError::Provider("RSA-OAEP encryption"))
    }

    /// Decrypts an RSA-OAEP `ciphertext` (blinded) with OAEP label `label`.
    ///
    /// rsa 0.10 ignores the leading octet of the encoded message, which RFC 8017 §7.1.2
    /// step 3.g requires to be zero (Wycheproof "First byte is 1"). keyseal checks it with a
    /// second private-key operation, always run and folded into one error, so no failure is
    /// told apart from another (Manger's attack needs exactly that oracle).
    fn decrypt(
        &self,
        algorithm: Algorithm,
        private_pkcs8: &[u8],
        ciphertext: &[u8],
        label: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
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
}

/// A parsed private key. The key types zeroize their secrets when dropped.
enum SigningKey {
    /// An RSA_2048 key.
    Rsa(Box<rsa::PrivateKey>),
    /// An EC_P256 key.
    P256(p256::ecdsa::SigningKey),
    /// An EC_P256K key.
    K256(k256::ecdsa::SigningKey),
}

impl SigningKey {
    /// Parses a PKCS#8 private key of `spec`.
    fn parse(spec: KeySpec, private_pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
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
}

impl PrivateKey for SigningKey {
    fn spec(&self) -> KeySpec {
        match self {
            SigningKey::Rsa(_) => KeySpec::Rsa2048,
            SigningKey::P256(_) => KeySpec::EcP256,
            SigningKey::K256(_) => KeySpec::EcP256k,
        }
    }

    fn sign(&self, algorithm: Algorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
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

/// The modulus size in bits of an RSA SubjectPublicKeyInfo, if the rsa crate accepts the
/// key (1024..=8192 bits, 2 <= e < 2^33): the one rule for usable RSA public keys, whichever
/// provider then does the work, so a key is never accepted by one and refused by the other.
pub(super) fn rsa_public_bits(public_spki: &[u8]) -> Result<usize, KeyError> {
    PublicKey::from_spki(public_spki).ok().and_then(|key| key.rsa_bits()).ok_or(KeyError::MalformedKey("RSA public"))
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

fn rsa_public(public_spki: &[u8]) -> Result<rsa::PublicKey, KeyError> {
    spki::DecodePublicKey::from_public_key_der(public_spki).map_err(|_| KeyError::MalformedKey("RSA public"))
}
