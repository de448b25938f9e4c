//! keyseal's key objects in a token: generated there (sensitive, never extractable, on the
//! token), found again by their CKA_ID, used to sign and decrypt, destroyed. A key version's
//! objects carry the version's UUID as CKA_ID (16 bytes) and `KeyId/KeyVersionId` as
//! CKA_LABEL, so `pkcs11-tool --list-objects` says which KMS key each one is.
//!
//! Signatures come back in the KMS's formats: ECDSA as DER with a low S (tokens give the
//! bare r‖s of PKCS#11 and may give a high S), RSA as the raw signature. Each is checked
//! against the version's public key before it is returned: a token that signs wrongly
//! gives an error, never a bad signature.

use super::TokenError;
use super::token::{Token, from_pkcs11};
use crate::crypto::keys::{self, KeyError, PrivateKey};
use crate::crypto::public_key::SECP_256_K_1;
use crate::crypto::spec::{Algorithm, KeySpec, KeyUsage};
use cryptoki::context::Function;
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use der::asn1::{BitString, ObjectIdentifier, UintRef};
use der::oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1};
use der::{Decode, Encode, Sequence};
use std::sync::Arc;
use zeroize::Zeroizing;

/// DigestInfo for SHA-256 up to the digest (RFC 8017 §9.2 note 1): CKM_RSA_PKCS signs it
/// with the digest appended.
const SHA256_DIGEST_INFO: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];
/// RSA_2048's public exponent, 65537.
const RSA_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

/// A key version's private key in a token, as the KMS signs with it.
pub struct TokenKey {
    token: Arc<Token>,
    object_id: Vec<u8>,
    spec: KeySpec,
    public_spki: Vec<u8>,
}

impl TokenKey {
    /// The key whose objects carry `object_id`, with its public key (SubjectPublicKeyInfo
    /// DER) as the store keeps it.
    pub fn new(token: Arc<Token>, object_id: Vec<u8>, spec: KeySpec, public_spki: Vec<u8>) -> TokenKey {
        TokenKey { token, object_id, spec, public_spki }
    }

    /// RSA-OAEP decryption inside the token (empty label). A token that does not do the
    /// algorithm's hash (SoftHSM 2.6 does OAEP with SHA-1 only) gives `Unsupported`.
    pub fn decrypt(&self, algorithm: Algorithm, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        let (hash, mgf) = match algorithm {
            Algorithm::RsaesOaepSha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
            Algorithm::RsaesOaepSha1 => (MechanismType::SHA1, PkcsMgfType::MGF1_SHA1),
            _ => return Err(TokenError::Unsupported(format!("{algorithm} is not a decryption algorithm"))),
        };
        let mechanism = Mechanism::RsaPkcsOaep(PkcsOaepParams::new(hash, mgf, PkcsOaepSource::empty()));
        let result = self.token.with_session(|session| {
            let key = private_key(session, &self.object_id)?;
            session.decrypt(&mechanism, key, ciphertext)
        });
        match result {
            Ok(plaintext) => Ok(Zeroizing::new(plaintext)),
            Err(Error::Pkcs11(RvError::ArgumentsBad, Function::DecryptInit)) => {
                Err(TokenError::Unsupported(format!("token {} does not do {algorithm}", self.token.name())))
            }
            // Past a successful C_DecryptInit, a token's generic failure is the ciphertext's
            // (SoftHSM answers a damaged OAEP block with CKR_GENERAL_ERROR).
            Err(Error::Pkcs11(
                RvError::GeneralError | RvError::FunctionFailed | RvError::DataInvalid | RvError::DataLenRange,
                Function::Decrypt,
            )) => Err(TokenError::DecryptionFailed),
            Err(e) => Err(self.failed(e, "decrypt")),
        }
    }

    fn failed(&self, err: Error, doing: &str) -> TokenError {
        match err {
            Error::NotSupported => TokenError::Unavailable(format!(
                "token {} holds no private key object with CKA_ID {}: was the token replaced or the object deleted?",
                self.token.name(),
                hex::encode(&self.object_id)
            )),
            err => from_pkcs11(err, doing),
        }
    }
}

impl PrivateKey for TokenKey {
    fn spec(&self) -> KeySpec {
        self.spec
    }

    fn sign(&self, algorithm: Algorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        let info;
        let pss = PkcsPssParams { hash_alg: MechanismType::SHA256, mgf: PkcsMgfType::MGF1_SHA256, s_len: 32.into() };
        let (mechanism, input) = match algorithm {
            Algorithm::EcdsaSha256 => (Mechanism::Ecdsa, digest),
            Algorithm::RsaPkcs1Sha256 => {
                info = [&SHA256_DIGEST_INFO[..], digest].concat();
                (Mechanism::RsaPkcs, &info[..])
            }
            Algorithm::RsaPssSha256 => (Mechanism::RsaPkcsPss(pss), digest),
            Algorithm::RsaesOaepSha256 | Algorithm::RsaesOaepSha1 => {
                return Err(KeyError::AlgorithmMismatch { algorithm, spec: self.spec });
            }
        };
        let raw = self
            .token
            .with_session(|session| {
                let key = private_key(session, &self.object_id)?;
                session.sign(&mechanism, key, input)
            })
            .map_err(|e| KeyError::Token(self.failed(e, "sign")))?;
        let signature = match algorithm {
            Algorithm::EcdsaSha256 => ecdsa_der(self.spec, &raw)?,
            _ => raw,
        };
        if !keys::verify_digest(self.spec, algorithm, &self.public_spki, digest, &signature)? {
            return Err(KeyError::Token(TokenError::Unavailable(format!(
                "token {} made a signature that does not verify with the key version's public key; nothing was returned",
                self.token.name()
            ))));
        }
        Ok(signature)
    }
}

/// A PKCS#11 ECDSA signature (r‖s) as DER, with S made low (BIP 62): what k256 gives for
/// secp256k1 and Bitcoin-style verifiers require, and valid for every other verifier.
fn ecdsa_der(spec: KeySpec, raw: &[u8]) -> Result<Vec<u8>, KeyError> {
    let malformed = |_| KeyError::Provider("the token's ECDSA signature is not 64 bytes");
    Ok(match spec {
        KeySpec::EcP256 => {
            p256::ecdsa::Signature::from_slice(raw).map_err(malformed)?.normalize_s().to_der().as_bytes().to_vec()
        }
        KeySpec::EcP256k => {
            k256::ecdsa::Signature::from_slice(raw).map_err(malformed)?.normalize_s().to_der().as_bytes().to_vec()
        }
        KeySpec::Rsa2048 => return Err(KeyError::Provider("ECDSA with an RSA key")),
    })
}

/// The one private key object with `object_id`; `NotSupported` when there is none.
fn private_key(session: &Session, object_id: &[u8]) -> Result<ObjectHandle, Error> {
    let found = session.find_objects(&[
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::Token(true),
        Attribute::Id(object_id.to_vec()),
    ])?;
    match found.as_slice() {
        [key] => Ok(*key),
        _ => Err(Error::NotSupported),
    }
}

/// Generates a key pair of `spec` for `usage` in the token, its objects identified by
/// `object_id` and labelled `label`; returns the public key as SubjectPublicKeyInfo DER.
pub fn generate(
    token: &Token,
    spec: KeySpec,
    usage: KeyUsage,
    object_id: &[u8],
    label: &str,
) -> Result<Vec<u8>, TokenError> {
    let (sign, decrypt) = (usage == KeyUsage::SignVerify, usage == KeyUsage::EncryptDecrypt);
    let shared =
        [Attribute::Token(true), Attribute::Id(object_id.to_vec()), Attribute::Label(label.as_bytes().to_vec())];
    // Every use stated, none left to the token's defaults (SoftHSM's allow decrypt and
    // unwrap): a key does what its usage says and nothing else.
    let mut public = vec![
        Attribute::Private(false),
        Attribute::Verify(sign),
        Attribute::Encrypt(decrypt),
        Attribute::Wrap(false),
        Attribute::Derive(false),
    ];
    let mut private = vec![
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(sign),
        Attribute::Decrypt(decrypt),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
    ];
    let mechanism = match spec {
        KeySpec::Rsa2048 => {
            public.extend([Attribute::ModulusBits(2048.into()), Attribute::PublicExponent(RSA_EXPONENT.to_vec())]);
            Mechanism::RsaPkcsKeyPairGen
        }
        KeySpec::EcP256 | KeySpec::EcP256k => {
            let curve = curve_oid(spec).to_der().map_err(|_| TokenError::Unsupported("curve encoding".into()))?;
            public.push(Attribute::EcParams(curve));
            Mechanism::EccKeyPairGen
        }
    };
    public.extend(shared.iter().cloned());
    private.extend(shared);
    token
        .with_session(|session| {
            let (public_key, _) = session.generate_key_pair(&mechanism, &public, &private)?;
            session.get_attributes(public_key, &public_attributes(spec))
        })
        .map_err(|e| match from_pkcs11(e, &format!("generate a {spec} key")) {
            TokenError::Unsupported(why) => {
                TokenError::Unsupported(format!("token {} does not make {spec} keys ({why})", token.name()))
            }
            other => other,
        })
        .and_then(|attributes| public_spki(spec, &attributes))
}

/// Destroys every object (private and public key) with `object_id`; how many there were.
/// Idempotent: a version whose objects are gone already destroys none.
pub fn destroy(token: &Token, object_id: &[u8]) -> Result<usize, TokenError> {
    token
        .with_session(|session| {
            let found = session.find_objects(&[Attribute::Token(true), Attribute::Id(object_id.to_vec())])?;
            for object in &found {
                session.destroy_object(*object)?;
            }
            Ok(found.len())
        })
        .map_err(|e| from_pkcs11(e, "destroy a key object"))
}

fn curve_oid(spec: KeySpec) -> ObjectIdentifier {
    if spec == KeySpec::EcP256k { SECP_256_K_1 } else { SECP_256_R_1 }
}

fn public_attributes(spec: KeySpec) -> Vec<AttributeType> {
    match spec {
        KeySpec::Rsa2048 => vec![AttributeType::Modulus, AttributeType::PublicExponent],
        KeySpec::EcP256 | KeySpec::EcP256k => vec![AttributeType::EcPoint],
    }
}

/// RSAPublicKey (RFC 8017 A.1.1).
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// The SubjectPublicKeyInfo DER of a public key the token described by `attributes`,
/// checked by parsing it as the verifier would.
fn public_spki(spec: KeySpec, attributes: &[Attribute]) -> Result<Vec<u8>, TokenError> {
    let bad = |what: &str| TokenError::Unavailable(format!("the token gave a malformed public key ({what})"));
    let (algorithm, key) = match spec {
        KeySpec::Rsa2048 => {
            let (mut modulus, mut exponent) = (None, None);
            for attribute in attributes {
                match attribute {
                    Attribute::Modulus(n) => modulus = Some(n.as_slice()),
                    Attribute::PublicExponent(e) => exponent = Some(e.as_slice()),
                    _ => {}
                }
            }
            let key = RsaPublicKey {
                modulus: UintRef::new(modulus.ok_or_else(|| bad("no modulus"))?).map_err(|_| bad("modulus"))?,
                public_exponent: UintRef::new(exponent.ok_or_else(|| bad("no exponent"))?)
                    .map_err(|_| bad("exponent"))?,
            };
            let algorithm =
                spki::AlgorithmIdentifierOwned { oid: RSA_ENCRYPTION, parameters: Some(der::asn1::Null.into()) };
            (algorithm, key.to_der().map_err(|_| bad("RSAPublicKey"))?)
        }
        KeySpec::EcP256 | KeySpec::EcP256k => {
            let point = attributes
                .iter()
                .find_map(|a| if let Attribute::EcPoint(p) = a { Some(p.as_slice()) } else { None })
                .ok_or_else(|| bad("no EC point"))?;
            let algorithm =
                spki::AlgorithmIdentifierOwned { oid: ID_EC_PUBLIC_KEY, parameters: Some(curve_oid(spec).into()) };
            (algorithm, ec_point(point).ok_or_else(|| bad("EC point"))?)
        }
    };
    let info = spki::SubjectPublicKeyInfoOwned {
        algorithm,
        subject_public_key: BitString::from_bytes(&key).map_err(|_| bad("bit string"))?,
    };
    let der = info.to_der().map_err(|_| bad("SubjectPublicKeyInfo"))?;
    // The SPKI names `spec`'s own algorithm and curve, so a key that parses is of `spec`:
    // what this checks is the point (on the curve) and the modulus.
    match crate::crypto::spec_of_public_key(&der) {
        Some(_) => Ok(der),
        None => Err(bad("not a valid key of the spec asked for")),
    }
}

/// The uncompressed point of CKA_EC_POINT: PKCS#11 v2.40 says a DER OCTET STRING around
/// it, and some tokens give the bare point.
fn ec_point(value: &[u8]) -> Option<Vec<u8>> {
    if value.len() == 65 && value[0] == 4 {
        return Some(value.to_vec());
    }
    let point = der::asn1::OctetString::from_der(value).ok()?;
    (point.as_bytes().len() == 65 && point.as_bytes()[0] == 4).then(|| point.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_points_in_both_forms() {
        let point = [[4u8].as_slice(), &[7; 64]].concat();
        assert_eq!(ec_point(&point), Some(point.clone()));
        let wrapped = der::asn1::OctetString::new(point.clone()).unwrap().to_der().unwrap();
        assert_eq!(ec_point(&wrapped), Some(point));
        assert_eq!(ec_point(&[4, 1, 2]), None);
        assert_eq!(ec_point(&[0x04, 0x02, 0x04, 0x01]), None);
    }

    #[test]
    fn a_high_s_from_the_token_comes_back_low() {
        use p256::elliptic_curve::PrimeField;
        let pair = keys::generate(KeySpec::EcP256).unwrap();
        let key = keys::SigningKey::parse(KeySpec::EcP256, &pair.private_pkcs8).unwrap();
        let low = key.sign(Algorithm::EcdsaSha256, &[9; 32]).unwrap();
        let (r, s) = crate::crypto::ecdsa_pair::split_der(&low).unwrap();
        let s = p256::Scalar::from_repr(s.into()).unwrap();
        let mut outputs = Vec::new();
        for s in [s, -s] {
            let raw = [r.as_slice(), s.to_repr().as_slice()].concat();
            outputs.push(ecdsa_der(KeySpec::EcP256, &raw).unwrap());
        }
        assert_eq!(outputs[0], outputs[1], "S and -S give the one low-S signature");
        let (_, s) = crate::crypto::ecdsa_pair::split_der(&outputs[0]).unwrap();
        assert!(s[0] < 0x80, "S is at most n/2");
        let raw = [r.as_slice(), s.as_slice()].concat();
        assert!(ecdsa_der(KeySpec::EcP256, &raw[..63]).is_err());
    }
}
