//! Checking the signature on a certificate, CSR or CRL: the signed bytes, the
//! AlgorithmIdentifier that says how they were signed, and the signer's public key.
//! Supported: RSA PKCS#1 v1.5 and PSS with SHA-256/384/512, ECDSA on P-256, P-384 and
//! secp256k1 with SHA-256/384. Anything else is refused by name, never guessed at.
//! An id-RSASSA-PSS key (RFC 4055) checks PSS signatures only, and only those its own
//! parameters, when it has them, allow. This module reads the AlgorithmIdentifier and
//! applies those key restrictions; the key and the signature check are `crypto::PublicKey`'s.

use crate::crypto::public_key::PublicKeyError;
use crate::crypto::{Hash, PublicKey, Scheme};
use der::Decode;
use der::asn1::ObjectIdentifier;
use der::oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ID_MGF_1, ID_RSASSA_PSS, SHA_256_WITH_RSA_ENCRYPTION,
    SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::sync::OnceLock;

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
        let Message { bytes, digests } = *self;
        let cell = match hash {
            Hash::Sha256 => &digests.sha256,
            Hash::Sha384 => &digests.sha384,
            Hash::Sha512 => &digests.sha512,
        };
        cell.get_or_init(|| hash.digest(bytes))
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
    let (scheme, hash, signed_pss) = match algorithm.oid {
        SHA_256_WITH_RSA_ENCRYPTION => (Scheme::Pkcs1(Hash::Sha256), Hash::Sha256, None),
        SHA_384_WITH_RSA_ENCRYPTION => (Scheme::Pkcs1(Hash::Sha384), Hash::Sha384, None),
        SHA_512_WITH_RSA_ENCRYPTION => (Scheme::Pkcs1(Hash::Sha512), Hash::Sha512, None),
        ID_RSASSA_PSS => {
            let parameters = pss_parameters(algorithm.parameters.as_ref(), "signature")?;
            let hash = pss_hash(&parameters)?;
            (Scheme::Pss { hash, salt_len: usize::from(parameters.salt_len) }, hash, Some(parameters))
        }
        ECDSA_WITH_SHA_256 => (Scheme::Ecdsa, Hash::Sha256, None),
        ECDSA_WITH_SHA_384 => (Scheme::Ecdsa, Hash::Sha384, None),
        other => return Err(SignatureError::Unsupported(format!("signature algorithm {other}"))),
    };
    let key_der = der::Encode::to_der(public_key).map_err(|e| SignatureError::Malformed(e.to_string()))?;
    let key = PublicKey::from_spki(&key_der).map_err(SignatureError::from)?;
    // ECDSA keys have no use restriction; an RSA key's is checked before its signature.
    if scheme != Scheme::Ecdsa && !rsa_key_use(public_key)?.allows(signed_pss.as_ref()) {
        return Err(SignatureError::Invalid);
    }
    match key.verify_prehash(scheme, message.digest(hash), signature)? {
        true => Ok(()),
        false => Err(SignatureError::Invalid),
    }
}

impl From<PublicKeyError> for SignatureError {
    fn from(e: PublicKeyError) -> SignatureError {
        match e {
            PublicKeyError::Unsupported(what) => SignatureError::Unsupported(what),
            PublicKeyError::Malformed(what) => SignatureError::Malformed(what),
        }
    }
}

/// The hash of a PSS signature: the parameters name it, and MGF1 with the same hash.
fn pss_hash(parameters: &PssParameters) -> Result<Hash, SignatureError> {
    let hash = Hash::from_oid(parameters.hash)
        .ok_or_else(|| SignatureError::Unsupported(format!("PSS hash {}", parameters.hash)))?;
    let mgf_hash = parameters
        .mask_gen_hash
        .and_then(Hash::from_oid)
        .filter(|_| parameters.mask_gen == ID_MGF_1)
        .ok_or_else(|| SignatureError::Unsupported("PSS mask generation other than MGF1 with SHA-2".into()))?;
    if mgf_hash != hash {
        return Err(SignatureError::Unsupported("PSS with an MGF1 hash other than the message hash".into()));
    }
    Ok(hash)
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

/// What the key of `public_key` may have signed: an id-RSASSA-PSS key only PSS, within
/// its parameters when it has them (RFC 4055 §3.3); every other key whatever its kind signs.
fn rsa_key_use(public_key: &SubjectPublicKeyInfoOwned) -> Result<RsaKeyUse, SignatureError> {
    Ok(match (public_key.algorithm.oid, &public_key.algorithm.parameters) {
        (ID_RSASSA_PSS, Some(parameters)) => RsaKeyUse::PssOnly(Some(pss_parameters(Some(parameters), "public key")?)),
        (ID_RSASSA_PSS, None) => RsaKeyUse::PssOnly(None),
        _ => RsaKeyUse::Any,
    })
}

impl RsaKeyUse {
    /// Whether a signature made with `signed` (PSS parameters, or `None` for any other
    /// scheme) is one this key may have made.
    fn allows(&self, signed: Option<&PssParameters>) -> bool {
        match (self, signed) {
            (RsaKeyUse::Any, _) | (RsaKeyUse::PssOnly(None), Some(_)) => true,
            (RsaKeyUse::PssOnly(Some(restriction)), Some(signed)) => pss_fits_key(signed, restriction),
            (RsaKeyUse::PssOnly(_), None) => false,
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
