//! Checking the signature on a certificate, CSR or CRL: the signed bytes, the
//! AlgorithmIdentifier that says how they were signed, and the signer's public key.
//! Supported: RSA PKCS#1 v1.5 and PSS with SHA-256/384/512, ECDSA on P-256, P-384 and
//! secp256k1 with SHA-256/384. Anything else is refused by name, never guessed at.
//! An id-RSASSA-PSS key (RFC 4055) checks PSS signatures only, and only those its own
//! parameters, when it has them, allow.

use der::Decode;
use der::asn1::ObjectIdentifier;
use sha2::{Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, DecodePublicKey, SubjectPublicKeyInfoOwned};
use std::sync::OnceLock;

const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const ID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");

/// Why a signature did not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature is not valid for these bytes and this key.
    #[error("the signature does not verify")]
    Invalid,
    /// The algorithm (or key type for it) is not one keyseal checks.
    #[error("unsupported signature algorithm or key: {0}")]
    Unsupported(String),
    /// The public key or the algorithm parameters do not parse.
    #[error("malformed key or algorithm parameters: {0}")]
    Malformed(String),
}

/// The hash an algorithm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// The digests of one signed message, each computed at most once. A certificate's
/// signature is checked against every issuer candidate, and a hostile one's signed part
/// can be megabytes: hashing it again per candidate cost more than the signature checks
/// (issue 27). `received::Cert` and `received::Crl` keep one for their signed bytes.
#[derive(Debug, Clone, Default)]
pub struct Digests {
    sha256: OnceLock<Vec<u8>>,
    sha384: OnceLock<Vec<u8>>,
    sha512: OnceLock<Vec<u8>>,
}

/// A message and the cache of its digests.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    bytes: &'a [u8],
    digests: &'a Digests,
}

impl<'a> Message<'a> {
    /// `bytes`, whose digests `digests` caches (it must only ever be used with them).
    pub fn new(bytes: &'a [u8], digests: &'a Digests) -> Message<'a> {
        Message { bytes, digests }
    }

    fn digest(&self, hash: Hash) -> &'a [u8] {
        use sha2::Digest;
        let Message { bytes, digests } = *self;
        match hash {
            Hash::Sha256 => digests.sha256.get_or_init(|| Sha256::digest(bytes).to_vec()),
            Hash::Sha384 => digests.sha384.get_or_init(|| Sha384::digest(bytes).to_vec()),
            Hash::Sha512 => digests.sha512.get_or_init(|| Sha512::digest(bytes).to_vec()),
        }
    }
}

fn hash_of(oid: ObjectIdentifier) -> Option<Hash> {
    match oid {
        ID_SHA256 => Some(Hash::Sha256),
        ID_SHA384 => Some(Hash::Sha384),
        ID_SHA512 => Some(Hash::Sha512),
        _ => None,
    }
}

/// Verifies `signature` over `message` made with `algorithm` by the holder of `public_key`.
pub fn verify_signed(
    public_key: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    verify_message(public_key, algorithm, Message::new(message, &Digests::default()), signature)
}

/// [`verify_signed`] over a message whose digests are cached.
pub fn verify_message(
    public_key: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    message: Message<'_>,
    signature: &[u8],
) -> Result<(), SignatureError> {
    let key_der = der::Encode::to_der(public_key).map_err(|e| SignatureError::Malformed(e.to_string()))?;
    let ok = match algorithm.oid {
        SHA256_WITH_RSA => rsa_pkcs1(public_key, &key_der, Hash::Sha256, message, signature)?,
        SHA384_WITH_RSA => rsa_pkcs1(public_key, &key_der, Hash::Sha384, message, signature)?,
        SHA512_WITH_RSA => rsa_pkcs1(public_key, &key_der, Hash::Sha512, message, signature)?,
        RSASSA_PSS => rsa_pss(public_key, &key_der, algorithm, message, signature)?,
        ECDSA_WITH_SHA256 => ecdsa(&key_der, Hash::Sha256, message, signature)?,
        ECDSA_WITH_SHA384 => ecdsa(&key_der, Hash::Sha384, message, signature)?,
        other => return Err(SignatureError::Unsupported(format!("signature algorithm {other}"))),
    };
    if ok { Ok(()) } else { Err(SignatureError::Invalid) }
}

/// Whether a SubjectPublicKeyInfo is an EC key on P-384 (secp384r1), which appears in
/// chains made elsewhere though no KMS key uses it.
fn is_p384(key_der: &[u8]) -> bool {
    const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    spki::SubjectPublicKeyInfoRef::from_der(key_der)
        .is_ok_and(|info| info.algorithm.parameters_oid().ok() == Some(SECP384R1))
}

/// What an RSA key may have signed, by its SubjectPublicKeyInfo (RFC 4055 §1.2): an
/// rsaEncryption key anything RSA; an id-RSASSA-PSS key only PSS signatures and, when it
/// carries RSASSA-PSS parameters, only PSS signatures those parameters allow (§3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
enum RsaKeyUse {
    Any,
    PssOnly(Option<PssParameters>),
}

/// RSASSA-PSS parameters as given (RFC 4055 §3.1; absent fields are their defaults,
/// SHA-1 and MGF1-SHA-1 with a 20-byte salt). OIDs are kept as they are, so a key's
/// parameters can be compared with a signature's whatever hash they name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PssParameters {
    hash: ObjectIdentifier,
    mask_gen: ObjectIdentifier,
    mask_gen_hash: Option<ObjectIdentifier>,
    salt_len: u8,
}

/// Parses RSASSA-PSS-params, from a signature's AlgorithmIdentifier or a key's.
fn pss_parameters(parameters: Option<&der::Any>, of: &str) -> Result<PssParameters, SignatureError> {
    let malformed = |what: &str| SignatureError::Malformed(format!("RSASSA-PSS parameters of the {of}: {what}"));
    let parameters = parameters.ok_or_else(|| malformed("absent"))?;
    let encoded = der::Encode::to_der(parameters).map_err(|e| malformed(&e.to_string()))?;
    let parsed = rsa::pkcs1::RsaPssParams::<der::Any>::from_der(&encoded).map_err(|e| malformed(&e.to_string()))?;
    Ok(PssParameters {
        hash: parsed.hash.oid,
        mask_gen: parsed.mask_gen.oid,
        mask_gen_hash: parsed.mask_gen.parameters.as_ref().map(|p| p.oid),
        salt_len: parsed.salt_len,
    })
}

/// The RSA key of `public_key` and what it may have signed. The rsa crate reads an
/// id-RSASSA-PSS key only without parameters (it could not honour them), so one with
/// parameters has its RSAPublicKey read directly and the parameters applied here.
fn rsa_key(
    public_key: &SubjectPublicKeyInfoOwned,
    key_der: &[u8],
) -> Result<(rsa::PublicKey, RsaKeyUse), SignatureError> {
    let malformed = |e: String| SignatureError::Malformed(format!("RSA public key: {e}"));
    match (public_key.algorithm.oid, &public_key.algorithm.parameters) {
        (RSASSA_PSS, Some(parameters)) => {
            let restriction = pss_parameters(Some(parameters), "public key")?;
            let bits = public_key.subject_public_key.as_bytes().ok_or_else(|| malformed("unused bits".into()))?;
            let key = rsa::pkcs1::DecodeRsaPublicKey::from_pkcs1_der(bits).map_err(|e| malformed(e.to_string()))?;
            Ok((key, RsaKeyUse::PssOnly(Some(restriction))))
        }
        (oid, _) => {
            let key = rsa::PublicKey::from_public_key_der(key_der).map_err(|e| malformed(e.to_string()))?;
            Ok((key, if oid == RSASSA_PSS { RsaKeyUse::PssOnly(None) } else { RsaKeyUse::Any }))
        }
    }
}

/// Whether a PSS signature made with `signed` fits the key's parameters (RFC 4055 §3.3):
/// the same hash and mask generation, and a salt at least as long as the key asks.
fn pss_fits_key(signed: &PssParameters, key: &PssParameters) -> bool {
    signed.hash == key.hash
        && signed.mask_gen == key.mask_gen
        && signed.mask_gen_hash == key.mask_gen_hash
        && signed.salt_len >= key.salt_len
}

fn rsa_pkcs1(
    public_key: &SubjectPublicKeyInfoOwned,
    key_der: &[u8],
    hash: Hash,
    message: Message<'_>,
    signature: &[u8],
) -> Result<bool, SignatureError> {
    let (key, key_use) = rsa_key(public_key, key_der)?;
    if key_use != RsaKeyUse::Any {
        // An id-RSASSA-PSS key signs with PSS only; a PKCS#1 v1.5 signature is not its.
        return Ok(false);
    }
    let hashed = message.digest(hash);
    Ok(match hash {
        Hash::Sha256 => key.pkcs1v15_verify_prehash::<Sha256>(hashed, signature).is_ok(),
        Hash::Sha384 => key.pkcs1v15_verify_prehash::<Sha384>(hashed, signature).is_ok(),
        Hash::Sha512 => key.pkcs1v15_verify_prehash::<Sha512>(hashed, signature).is_ok(),
    })
}

/// RSASSA-PSS: the parameters name the hash, MGF1 with the same hash, and the salt length.
/// A key whose own parameters rule the signature's out did not make it (RFC 4055 §3.3).
fn rsa_pss(
    public_key: &SubjectPublicKeyInfoOwned,
    key_der: &[u8],
    algorithm: &AlgorithmIdentifierOwned,
    message: Message<'_>,
    signature: &[u8],
) -> Result<bool, SignatureError> {
    let parameters = pss_parameters(algorithm.parameters.as_ref(), "signature")?;
    let hash =
        hash_of(parameters.hash).ok_or_else(|| SignatureError::Unsupported(format!("PSS hash {}", parameters.hash)))?;
    let mgf_hash = parameters
        .mask_gen_hash
        .and_then(hash_of)
        .filter(|_| parameters.mask_gen == ID_MGF1)
        .ok_or_else(|| SignatureError::Unsupported("PSS mask generation other than MGF1 with SHA-2".into()))?;
    if mgf_hash != hash {
        return Err(SignatureError::Unsupported("PSS with an MGF1 hash other than the message hash".into()));
    }
    let salt = usize::from(parameters.salt_len);
    let (key, key_use) = rsa_key(public_key, key_der)?;
    if let RsaKeyUse::PssOnly(Some(restriction)) = &key_use
        && !pss_fits_key(&parameters, restriction)
    {
        return Ok(false);
    }
    Ok(match hash {
        Hash::Sha256 => rsa::pss::VerifyingKey::<Sha256>::new_with_salt_len(key, salt)
            .verify_prehash(message.digest(hash), &pss_signature(signature)?)
            .is_ok(),
        Hash::Sha384 => rsa::pss::VerifyingKey::<Sha384>::new_with_salt_len(key, salt)
            .verify_prehash(message.digest(hash), &pss_signature(signature)?)
            .is_ok(),
        Hash::Sha512 => rsa::pss::VerifyingKey::<Sha512>::new_with_salt_len(key, salt)
            .verify_prehash(message.digest(hash), &pss_signature(signature)?)
            .is_ok(),
    })
}

fn pss_signature(bytes: &[u8]) -> Result<rsa::pss::Signature, SignatureError> {
    rsa::pss::Signature::try_from(bytes).map_err(|_| SignatureError::Invalid)
}

fn ecdsa(key_der: &[u8], hash: Hash, message: Message<'_>, signature: &[u8]) -> Result<bool, SignatureError> {
    let hashed = message.digest(hash);
    match crate::kms::keys::spec_of_public_key(key_der) {
        Some(crate::kms::KeySpec::EcP256) => {
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(key_der)
                .map_err(|e| SignatureError::Malformed(e.to_string()))?;
            Ok(p256::ecdsa::Signature::from_der(signature).is_ok_and(|sig| key.verify_prehash(hashed, &sig).is_ok()))
        }
        Some(crate::kms::KeySpec::EcP256k) => {
            let key = k256::ecdsa::VerifyingKey::from_public_key_der(key_der)
                .map_err(|e| SignatureError::Malformed(e.to_string()))?;
            Ok(k256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify_prehash(hashed, &sig.normalize_s()).is_ok()))
        }
        _ if is_p384(key_der) => {
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(key_der)
                .map_err(|e| SignatureError::Malformed(e.to_string()))?;
            Ok(p384::ecdsa::Signature::from_der(signature).is_ok_and(|sig| key.verify_prehash(hashed, &sig).is_ok()))
        }
        _ => Err(SignatureError::Unsupported("ECDSA with a key that is not P-256, P-384 or secp256k1".into())),
    }
}
