//! CMS signatures (RFC 5652), so that `openssl cms -verify` and S/MIME-minded tools
//! (firmware updaters such as RAUC and SWUpdate) check what keyseal signs: a detached
//! SignedData (eContentType id-data, no eContent) with one SignerInfo named by its
//! certificate's issuer and serial, the `--cert` chain, and signed attributes contentType,
//! messageDigest, signingTime, signingCertificateV2 (RFC 5035) and CMSAlgorithmProtection
//! (RFC 6211). The signature is one AsymmetricSign over the SHA-256 of the attributes' DER,
//! as every other keyseal signature. A time stamp over the signature value (RFC 3161
//! Appendix A, signatureTimeStampToken) goes in as an unsigned attribute.

use crate::crypto::keys;
use crate::crypto::spec::{Algorithm, KeySpec};
use crate::kms::{Kms, SigningKey};
use crate::release::ReleaseError;
use crate::tsa::ImprintHash;
use crate::tsa::asn1::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
use crate::x509::{Cert, describe};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::oid::db::rfc5912::RSA_ENCRYPTION;
use der::oid::db::{rfc3161, rfc5911, rfc6211};
use der::{Any, Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;

/// What `sign --format cms` appends to the manifest's (or a file's) name.
pub const CMS_SUFFIX: &str = ".p7s";

/// RFC 6211 §2 (IMPLICIT tags): the algorithms the signer used, signed, so that they
/// cannot be swapped under the signature.
#[derive(Clone, Debug, Sequence)]
struct CmsAlgorithmProtection {
    digest_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    signature_algorithm: Option<AlgorithmIdentifierOwned>,
}

/// A CMS signature made, before it is encoded: the time stamp, when there is one, is over
/// its signature value.
pub struct CmsSignature {
    signer_info: SignerInfo,
    certificates: Vec<Certificate>,
}

impl CmsSignature {
    /// Signs the message whose SHA-256 is `message_sha256` with `key` (certified by the
    /// first certificate of `chain`), at `signing_time` (Unix seconds).
    pub fn sign(
        kms: &dyn Kms,
        key: &SigningKey,
        chain: &[Cert],
        message_sha256: &[u8],
        signing_time: i64,
    ) -> Result<CmsSignature, ReleaseError> {
        let leaf = chain.first().ok_or_else(|| {
            ReleaseError::UnsupportedFormat(
                "a CMS signature names its signer by certificate: give the key version's certificate chain with --cert CHAIN.pem".into(),
            )
        })?;
        let certificates = chain.iter().map(carried_as_received).collect::<Result<Vec<_>, _>>()?;
        let digest_algorithm = ImprintHash::Sha256.algorithm_identifier();
        let signature_algorithm = keys::signature_algorithm_identifier(key.algorithm)
            .map_err(|e| ReleaseError::Input(format!("cannot make a CMS signature: {e}")))?;
        let attributes =
            signed_attributes(&certificates[0], message_sha256, signing_time, &digest_algorithm, &signature_algorithm)
                .map_err(encoding)?;
        let signature = key.sign_digest(kms, &Sha256::digest(attributes.to_der().map_err(encoding)?))?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: leaf.tbs_certificate().issuer().clone(),
                serial_number: leaf.tbs_certificate().serial_number().clone(),
            }),
            digest_alg: digest_algorithm,
            signed_attrs: Some(attributes),
            signature_algorithm,
            signature: OctetString::new(signature).map_err(encoding)?,
            unsigned_attrs: None,
        };
        Ok(CmsSignature { signer_info, certificates })
    }

    /// The signature value: what a time stamp of this signature is over.
    pub fn value(&self) -> &[u8] {
        self.signer_info.signature.as_bytes()
    }

    /// The DER ContentInfo, with `timestamp_token` (an RFC 3161 TimeStampToken, DER) as
    /// the signatureTimeStampToken unsigned attribute when given.
    pub fn to_der(mut self, timestamp_token: Option<&[u8]>) -> Result<Vec<u8>, ReleaseError> {
        if let Some(token) = timestamp_token {
            let token = Any::from_der(token).map_err(encoding)?;
            let attribute = Attribute {
                oid: rfc3161::ID_AA_TIME_STAMP_TOKEN,
                values: SetOfVec::try_from(vec![token]).map_err(encoding)?,
            };
            self.signer_info.unsigned_attrs = Some(SetOfVec::try_from(vec![attribute]).map_err(encoding)?);
        }
        let certificates = self.certificates.into_iter().map(CertificateChoices::Certificate).collect::<Vec<_>>();
        let signed_data = SignedData {
            // RFC 5652 §5.1: version 1 for id-data content, X.509 certificates only and
            // version 1 SignerInfos.
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![ImprintHash::Sha256.algorithm_identifier()])
                .map_err(encoding)?,
            encap_content_info: EncapsulatedContentInfo { econtent_type: rfc5911::ID_DATA, econtent: None },
            certificates: Some(CertificateSet::try_from(certificates).map_err(encoding)?),
            crls: None,
            signer_infos: SignerInfos::try_from(vec![self.signer_info]).map_err(encoding)?,
        };
        let content = ContentInfo {
            content_type: rfc5911::ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(encoding)?,
        };
        content.to_der().map_err(encoding)
    }
}

/// contentType id-data, messageDigest, signingTime, signingCertificateV2 naming the leaf
/// by hash, issuer and serial, and CMSAlgorithmProtection.
fn signed_attributes(
    leaf: &Certificate,
    message_sha256: &[u8],
    signing_time: i64,
    digest_algorithm: &AlgorithmIdentifierOwned,
    signature_algorithm: &AlgorithmIdentifierOwned,
) -> der::Result<SetOfVec<Attribute>> {
    let attribute = |oid: ObjectIdentifier, value: Any| -> der::Result<Attribute> {
        Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
    };
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None, // DEFAULT id-sha256, left out in DER.
            cert_hash: OctetString::new(Sha256::digest(leaf.to_der()?).to_vec())?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(leaf.tbs_certificate().issuer().clone())],
                serial_number: leaf.tbs_certificate().serial_number().clone(),
            }),
        }],
        policies: None,
    };
    let protection = CmsAlgorithmProtection {
        digest_algorithm: digest_algorithm.clone(),
        signature_algorithm: Some(signature_algorithm.clone()),
    };
    // RFC 5652 §11.3: UTCTime from 1950 to 2049 (GeneralizedTime after, which keyseal's
    // clock will not reach before this is revisited).
    let when = std::time::Duration::from_secs(u64::try_from(signing_time).unwrap_or(0));
    SetOfVec::try_from(vec![
        attribute(rfc5911::ID_CONTENT_TYPE, Any::encode_from(&rfc5911::ID_DATA)?)?,
        attribute(rfc5911::ID_MESSAGE_DIGEST, Any::encode_from(&OctetString::new(message_sha256.to_vec())?)?)?,
        attribute(rfc5911::ID_SIGNING_TIME, Any::encode_from(&UtcTime::from_unix_duration(when)?)?)?,
        attribute(rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2, Any::encode_from(&ess)?)?,
        attribute(rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION, Any::encode_from(&protection)?)?,
    ])
}

/// The certificate as CMS carries it, refused unless that re-encodes to the exact bytes
/// received (a legal but non-canonical encoding would change, and its signature with it).
fn carried_as_received(cert: &Cert) -> Result<Certificate, ReleaseError> {
    let decoded =
        Certificate::from_der(cert.der()).map_err(|e| ReleaseError::Input(format!("{}: {e}", describe(cert))))?;
    if decoded.to_der().map_err(encoding)? != cert.der() {
        return Err(ReleaseError::Input(format!(
            "{} does not re-encode to the bytes given, so a CMS signature could not carry it intact",
            describe(cert)
        )));
    }
    Ok(decoded)
}

/// Checks a detached CMS signature as `keyseal sign --format cms` makes it: one SignerInfo
/// over id-data with no eContent, SHA-256, signed attributes whose contentType is id-data
/// and whose messageDigest is `message_sha256`, a CMSAlgorithmProtection (when present)
/// that names the algorithms used, and a signature over the attributes that verifies with
/// the signer's key `public_spki` (of `spec`). The certificates it carries are not what
/// is trusted: the key is (pinned, or certified by the bundle's validated chain). `Err`
/// says what is wrong, quoting nothing from the input.
pub fn verify(der: &[u8], message_sha256: &[u8], spec: KeySpec, public_spki: &[u8]) -> Result<(), String> {
    let info = ContentInfo::from_der(der).map_err(|e| format!("it is not a DER CMS ContentInfo: {e}"))?;
    if info.content_type != rfc5911::ID_SIGNED_DATA {
        return Err("it is not CMS SignedData".into());
    }
    let signed: SignedData = info.content.decode_as().map_err(|e| format!("its SignedData does not parse: {e}"))?;
    if signed.encap_content_info.econtent_type != rfc5911::ID_DATA || signed.encap_content_info.econtent.is_some() {
        return Err("it is not a detached signature of data (id-data, no eContent)".into());
    }
    let [signer] = signed.signer_infos.0.as_slice() else {
        return Err(format!("it has {} signers; keyseal's has one", signed.signer_infos.0.len()));
    };
    if signer.digest_alg.oid != ImprintHash::Sha256.oid() {
        return Err("its digest algorithm is not SHA-256".into());
    }
    let attributes = signer.signed_attrs.as_ref().ok_or("it has no signed attributes")?;
    let content_type: ObjectIdentifier = one_attribute(attributes, rfc5911::ID_CONTENT_TYPE, "contentType")?;
    if content_type != rfc5911::ID_DATA {
        return Err("its signed contentType is not id-data".into());
    }
    let digest: OctetString = one_attribute(attributes, rfc5911::ID_MESSAGE_DIGEST, "messageDigest")?;
    if digest.as_bytes() != message_sha256 {
        return Err("it signs another message: its messageDigest is not the SHA-256 of this one".into());
    }
    let algorithm = signature_algorithm(&signer.signature_algorithm)?;
    if attributes.iter().any(|a| a.oid == rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION) {
        let protection: CmsAlgorithmProtection =
            one_attribute(attributes, rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION, "CMSAlgorithmProtection")?;
        if protection.digest_algorithm.oid != signer.digest_alg.oid
            || protection.signature_algorithm.as_ref() != Some(&signer.signature_algorithm)
        {
            return Err("its CMSAlgorithmProtection names other algorithms than its SignerInfo".into());
        }
    }
    let signed_bytes = attributes.to_der().map_err(|e| format!("its signed attributes do not encode: {e}"))?;
    match keys::verify_digest(spec, algorithm, public_spki, &Sha256::digest(signed_bytes), signer.signature.as_bytes())
    {
        Ok(true) => Ok(()),
        Ok(false) => Err("it does not verify with the signer's key".into()),
        Err(e) => Err(format!("it cannot be checked with the signer's key: {e}")),
    }
}

/// The value of the signed attribute `oid`, which must be there exactly once with one
/// value (RFC 5652 §11).
fn one_attribute<T: der::DecodeOwned>(
    attributes: &SetOfVec<Attribute>,
    oid: ObjectIdentifier,
    name: &str,
) -> Result<T, String> {
    let mut found = attributes.iter().filter(|a| a.oid == oid);
    let (Some(attribute), None) = (found.next(), found.next()) else {
        return Err(format!("it does not have exactly one {name} signed attribute"));
    };
    let [value] = attribute.values.as_slice() else {
        return Err(format!("its {name} signed attribute does not have exactly one value"));
    };
    let bad = || format!("its {name} signed attribute does not parse");
    T::from_der(&value.to_der().map_err(|_| bad())?).map_err(|_| bad())
}

/// The KMS algorithm a SignerInfo's signatureAlgorithm names: keyseal's own identifiers
/// exactly, and rsaEncryption as OpenSSL writes PKCS#1 v1.5 (the hash being SHA-256, as
/// checked before).
fn signature_algorithm(named: &AlgorithmIdentifierOwned) -> Result<Algorithm, String> {
    if named.oid == RSA_ENCRYPTION {
        return Ok(Algorithm::RsaPkcs1Sha256);
    }
    [Algorithm::EcdsaSha256, Algorithm::RsaPkcs1Sha256, Algorithm::RsaPssSha256]
        .into_iter()
        .find(|algorithm| keys::signature_algorithm_identifier(*algorithm).is_ok_and(|id| id == *named))
        .ok_or_else(|| format!("it is signed with {}, which keyseal does not check", named.oid))
}

fn encoding(e: der::Error) -> ReleaseError {
    ReleaseError::Internal(format!("cannot encode the CMS signature: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Tag;

    /// A detached CMS signature made here, not by `CmsSignature` (which needs a KMS and a
    /// certificate): id-data, the contentType and messageDigest attributes, and the
    /// CMSAlgorithmProtection given, signed by `pair`; with `econtent`, the content inside.
    fn made(
        pair: &keys::KeyPair,
        message_sha256: &[u8],
        econtent: bool,
        protection: Option<CmsAlgorithmProtection>,
    ) -> Vec<u8> {
        let attribute = |oid, value: Any| Attribute { oid, values: SetOfVec::try_from(vec![value]).unwrap() };
        let mut attributes = vec![
            attribute(rfc5911::ID_CONTENT_TYPE, Any::encode_from(&rfc5911::ID_DATA).unwrap()),
            attribute(
                rfc5911::ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(message_sha256.to_vec()).unwrap()).unwrap(),
            ),
        ];
        if let Some(protection) = protection {
            attributes.push(attribute(rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION, Any::encode_from(&protection).unwrap()));
        }
        let attributes = SetOfVec::try_from(attributes).unwrap();
        let digest = Sha256::digest(attributes.to_der().unwrap());
        let signature =
            keys::sign_digest(KeySpec::EcP256, Algorithm::EcdsaSha256, &pair.private_pkcs8, &digest).unwrap();
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: "CN=test".parse().unwrap(),
                serial_number: x509_cert::serial_number::SerialNumber::new(&[1]).unwrap(),
            }),
            digest_alg: ImprintHash::Sha256.algorithm_identifier(),
            signed_attrs: Some(attributes),
            signature_algorithm: keys::signature_algorithm_identifier(Algorithm::EcdsaSha256).unwrap(),
            signature: OctetString::new(signature).unwrap(),
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![ImprintHash::Sha256.algorithm_identifier()]).unwrap(),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: rfc5911::ID_DATA,
                econtent: econtent.then(|| Any::new(Tag::OctetString, b"content".to_vec()).unwrap()),
            },
            certificates: None,
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer_info]).unwrap(),
        };
        ContentInfo { content_type: rfc5911::ID_SIGNED_DATA, content: Any::encode_from(&signed_data).unwrap() }
            .to_der()
            .unwrap()
    }

    #[test]
    fn a_detached_signature_verifies_with_or_without_algorithm_protection() {
        let pair = keys::generate(KeySpec::EcP256).unwrap();
        let digest = [7u8; 32];
        let check = |der: &[u8]| verify(der, &digest, KeySpec::EcP256, &pair.public_spki);
        assert_eq!(check(&made(&pair, &digest, false, None)), Ok(()), "CMSAlgorithmProtection is optional");
        let signature_algorithm = keys::signature_algorithm_identifier(Algorithm::EcdsaSha256).unwrap();
        let protection = |digest_oid: &str, signature: Option<AlgorithmIdentifierOwned>| CmsAlgorithmProtection {
            digest_algorithm: AlgorithmIdentifierOwned {
                oid: ObjectIdentifier::new_unwrap(digest_oid),
                parameters: None,
            },
            signature_algorithm: signature,
        };
        let sha256 = "2.16.840.1.101.3.4.2.1";
        assert_eq!(
            check(&made(&pair, &digest, false, Some(protection(sha256, Some(signature_algorithm.clone()))))),
            Ok(())
        );
        // Either algorithm named otherwise is refused.
        let other_digest =
            made(&pair, &digest, false, Some(protection("2.16.840.1.101.3.4.2.2", Some(signature_algorithm.clone()))));
        assert!(check(&other_digest).unwrap_err().contains("CMSAlgorithmProtection"));
        let rsa = keys::signature_algorithm_identifier(Algorithm::RsaPkcs1Sha256).unwrap();
        let other_signature = made(&pair, &digest, false, Some(protection(sha256, Some(rsa))));
        assert!(check(&other_signature).unwrap_err().contains("CMSAlgorithmProtection"));
        assert!(check(&made(&pair, &digest, false, Some(protection(sha256, None)))).is_err());
        // An attached signature is not keyseal's.
        assert!(check(&made(&pair, &digest, true, None)).unwrap_err().contains("detached"));
        // Over another message, or by another key.
        assert!(verify(&made(&pair, &digest, false, None), &[8; 32], KeySpec::EcP256, &pair.public_spki).is_err());
        let stranger = keys::generate(KeySpec::EcP256).unwrap();
        let by_stranger = verify(&made(&pair, &digest, false, None), &digest, KeySpec::EcP256, &stranger.public_spki);
        assert_eq!(by_stranger.unwrap_err(), "it does not verify with the signer's key");
    }

    #[test]
    fn signature_algorithms_are_keyseals_own_or_openssls_rsa_encryption() {
        for algorithm in [Algorithm::EcdsaSha256, Algorithm::RsaPkcs1Sha256, Algorithm::RsaPssSha256] {
            let named = keys::signature_algorithm_identifier(algorithm).unwrap();
            assert_eq!(signature_algorithm(&named), Ok(algorithm));
        }
        let rsa_encryption = AlgorithmIdentifierOwned { oid: RSA_ENCRYPTION, parameters: Some(der::asn1::Null.into()) };
        assert_eq!(signature_algorithm(&rsa_encryption), Ok(Algorithm::RsaPkcs1Sha256));
        // ecdsa-with-SHA384 and PSS with other parameters are not checked.
        let sha384 = AlgorithmIdentifierOwned { oid: der::oid::db::rfc5912::ECDSA_WITH_SHA_384, parameters: None };
        assert!(signature_algorithm(&sha384).unwrap_err().contains("1.2.840.10045.4.3.3"));
        let mut pss = keys::signature_algorithm_identifier(Algorithm::RsaPssSha256).unwrap();
        pss.parameters = None;
        assert!(signature_algorithm(&pss).is_err());
    }

    #[test]
    fn an_attribute_is_there_once_with_one_value() {
        let value = || Any::encode_from(&rfc5911::ID_DATA).unwrap();
        let attribute =
            |values: Vec<Any>| Attribute { oid: rfc5911::ID_CONTENT_TYPE, values: SetOfVec::try_from(values).unwrap() };
        let once = SetOfVec::try_from(vec![attribute(vec![value()])]).unwrap();
        assert_eq!(
            one_attribute::<ObjectIdentifier>(&once, rfc5911::ID_CONTENT_TYPE, "contentType"),
            Ok(rfc5911::ID_DATA)
        );
        assert!(one_attribute::<ObjectIdentifier>(&once, rfc5911::ID_MESSAGE_DIGEST, "messageDigest").is_err());
        assert!(
            one_attribute::<OctetString>(&once, rfc5911::ID_CONTENT_TYPE, "contentType")
                .unwrap_err()
                .contains("does not parse")
        );
        let empty = SetOfVec::try_from(vec![attribute(vec![])]).unwrap();
        assert!(
            one_attribute::<ObjectIdentifier>(&empty, rfc5911::ID_CONTENT_TYPE, "contentType")
                .unwrap_err()
                .contains("one value")
        );
    }
}
