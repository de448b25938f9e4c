//! keyseal as a Time-Stamping Authority whose key is a KMS key version: [`Tsa::open`]
//! checks, before anything is signed, that the certificate is a time-stamping certificate
//! (RFC 3161 §2.3: a critical extendedKeyUsage of only timeStamping, as the mini-CA's
//! `timestamping` profile issues) for that very key version; [`Tsa::respond`] answers one
//! DER TimeStampReq as `openssl ts -reply` does — a token, or a rejection with the
//! PKIFailureInfo bit that names what is wrong.
//!
//! The token: SignedData (v3) over a TSTInfo with the request's imprint and nonce, a random
//! 160-bit serial, genTime to the second with an accuracy of one second, and the policy;
//! one SignerInfo whose signed attributes are contentType, messageDigest and
//! signingCertificateV2 (RFC 5816: ESSCertIDv2, SHA-256 of the TSA certificate, with its
//! issuer and serial). The signature over the DER of those attributes is made by
//! AsymmetricSign (which hashes with SHA-256, hence the SHA-256 digestAlgorithm whatever the
//! imprint's hash). Every answer to a TimeStampReq, granted or not, is written to the audit
//! log with the token's serial and genTime; the KMS audits its AsymmetricSign as always.
//! Bytes that are not a TimeStampReq at all get a badDataFormat rejection and no audit
//! entry: they ask for nothing and name nothing, and anyone can send them to `POST /tsa`,
//! so auditing them would let strangers grow the audit log at will.

use crate::ca::signer::KmsSigner;
use crate::crypto::keys;
use crate::crypto::spec::Algorithm;
use crate::kms::audit::{self, AuditEntry};
use crate::kms::store::Store;
use crate::kms::{Kms, SigningKey};
use crate::tsa::asn1::{
    Accuracy, EssCertIdV2, FailureInfo, IssuerSerial, MessageImprint, PkiStatusInfo, SigningCertificateV2,
    TimeStampReq, TimeStampResp, TstInfo, status,
};
use crate::tsa::{ImprintHash, TsaCode, TsaError, integer_hex, random_integer};
use crate::x509::{Cert, Purpose, describe};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Int, ObjectIdentifier, OctetString, SetOfVec};
use der::oid::db::rfc3161::ID_CT_TST_INFO;
use der::oid::db::rfc5911::{ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use der::{Any, Decode, Encode, Tag, Tagged};
use signature::Signer;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;

/// What the TSA is: its KMS key version, its certificate chain (leaf first) and its policy.
#[derive(Debug, Clone)]
pub struct TsaConfig {
    /// The TSA key: KeyId, alias or ARN.
    pub key_id: String,
    /// Its version.
    pub key_version_id: String,
    /// The signing algorithm; by default the key spec's (PKCS#1 v1.5 for RSA, ECDSA for EC).
    pub algorithm: Option<Algorithm>,
    /// The TSA certificate first, then the CAs above it, as replies carry them.
    pub chain: Vec<Cert>,
    /// The policy every token names.
    pub policy: ObjectIdentifier,
}

/// A TSA ready to answer: its key checked against its certificate. It holds no KMS: each
/// answer is signed through the [`Desk`] it is given, so one TSA can serve many requests
/// (`keyseal serve`), each audited under its own principal.
pub struct Tsa {
    config: TsaConfig,
    key: SigningKey,
    /// The chain as CMS carries it, each certificate re-encoding to the bytes received.
    chain: Vec<Certificate>,
}

/// Where one answer is signed and recorded: the KMS holding the TSA key, the store whose
/// audit log records the answer, and who asked.
#[derive(Clone, Copy)]
pub struct Desk<'a> {
    /// The KMS that signs (AsymmetricSign, audited there as always).
    pub kms: &'a dyn Kms,
    /// The store whose audit log gets the TimeStamp entry.
    pub store: &'a Store,
    /// Who asked, as the audit entry names them.
    pub principal: &'a str,
}

/// How a request was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A token was made.
    Granted {
        /// Its serial, upper-case hex.
        serial: String,
        /// Its genTime, `2026-01-31T12:00:00Z`.
        gen_time: String,
    },
    /// The request was refused.
    Rejected {
        /// The failInfo bit.
        fail_info: FailureInfo,
        /// Why, as the statusString says it.
        text: String,
    },
}

/// A TimeStampResp and what it says.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The DER to send or write.
    pub der: Vec<u8>,
    /// Granted or rejected.
    pub outcome: Outcome,
    /// Whether the answer was written to the audit log: always, but for bytes that are not
    /// a TimeStampReq (see the module doc), which the caller logs instead.
    pub audited: bool,
}

/// A request that passed every check: what goes into the token.
struct Accepted {
    imprint: MessageImprint,
    hash: ImprintHash,
    nonce: Option<Int>,
    cert_req: bool,
}

/// A refused request: the failInfo bit and the statusString.
struct Rejection(FailureInfo, String);

impl Tsa {
    /// Checks the key version and the certificate at `now` (Unix seconds): a SIGN/VERIFY
    /// key whose algorithm fits, a leaf certifying exactly that key version, valid now,
    /// with keyUsage and a critical, sole timeStamping extendedKeyUsage (RFC 3161 §2.3).
    pub fn open(kms: &dyn Kms, config: TsaConfig, now: i64) -> Result<Tsa, TsaError> {
        let key = tsa_key(kms, &config)?;
        let leaf = config.chain.first().ok_or_else(|| TsaError::bad_input("--cert holds no certificate"))?;
        check_tsa_certificate(leaf, &key.public_spki, &config, now)?;
        let chain = config.chain.iter().map(carried_as_received).collect::<Result<_, _>>()?;
        Ok(Tsa { config, key, chain })
    }

    /// Answers one request (the DER a client sent) at `now`: a granted reply with a
    /// token, or a rejection naming what is wrong. Both are audited, unless the bytes are
    /// not a TimeStampReq at all ([`Reply::audited`]). An `Err` is a failure of the TSA
    /// itself (its certificate no longer valid, the KMS refused, the audit log could not be
    /// written): nothing may be sent then but, over HTTP, a systemFailure.
    pub fn respond(&self, desk: Desk<'_>, request: &[u8], now: i64) -> Result<Reply, TsaError> {
        // A long-running server outlives its certificate: no token past its notAfter.
        check_tsa_certificate(&self.config.chain[0], &self.key.public_spki, &self.config, now)?;
        let query = match parse_request(request) {
            Ok(query) => query,
            Err(not_a_request) => return reject(not_a_request, false),
        };
        match check_request(query, &self.config.policy) {
            Ok(accepted) => self.grant(desk, &accepted, now),
            Err(Rejection(fail_info, text)) => {
                let detail = format!("rejected={} reason={text}", fail_info.rfc_name());
                let entry = self.audit_entry(desk, now, detail).refused(fail_info.code());
                desk.store.write(|tx| audit::append(tx, &entry))?;
                reject(Rejection(fail_info, text), true)
            }
        }
    }

    /// The reply for a TSA that cannot answer (see [`Tsa::respond`]'s `Err`): status
    /// rejection, failInfo systemFailure, and no detail a stranger could use.
    pub fn system_failure() -> Result<Vec<u8>, TsaError> {
        rejection(FailureInfo::SystemFailure, "the TSA cannot answer now; try again later")
    }

    fn grant(&self, desk: Desk<'_>, accepted: &Accepted, now: i64) -> Result<Reply, TsaError> {
        let serial = random_integer(20)?;
        let info = TstInfo {
            version: 1,
            policy: self.config.policy,
            message_imprint: accepted.imprint.clone(),
            serial_number: serial.clone(),
            gen_time: crate::tsa::asn1::GenTime::from_unix(now),
            accuracy: Some(Accuracy { seconds: Some(1), millis: None, micros: None }),
            ordering: false,
            nonce: accepted.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_info_der = info.to_der()?;
        let token = self.sign(desk, &tst_info_der, accepted.cert_req)?;
        let response = TimeStampResp {
            status: PkiStatusInfo { status: status::GRANTED, status_string: None, fail_info: None },
            time_stamp_token: Some(Any::from_der(&token)?),
        };
        let der = response.to_der()?;
        // Fail closed: what goes out must read back as the token just made.
        let parsed = crate::tsa::token::parse(&der)
            .map_err(|e| TsaError::internal(format!("the reply made does not parse: {e}")))?;
        if parsed.token.map(|t| t.tst_info_der) != Some(tst_info_der) {
            return Err(TsaError::internal("the reply made does not carry the TSTInfo signed"));
        }
        let (serial_hex, gen_time) = (integer_hex(&serial), info.gen_time.display());
        let entry = self.audit_entry(
            desk,
            now,
            format!(
                "serial={serial_hex} gen_time={gen_time} policy={} imprint={}:{} nonce={} cert_req={}",
                self.config.policy,
                accepted.hash.name(),
                hex::encode(accepted.imprint.hashed_message.as_bytes()),
                accepted.nonce.as_ref().map(integer_hex).unwrap_or_else(|| "none".into()),
                accepted.cert_req
            ),
        );
        desk.store.write(|tx| audit::append(tx, &entry))?;
        Ok(Reply { der, outcome: Outcome::Granted { serial: serial_hex, gen_time }, audited: true })
    }

    /// The token: ContentInfo { SignedData } over `tst_info_der`, signed through the KMS.
    fn sign(&self, desk: Desk<'_>, tst_info_der: &[u8], cert_req: bool) -> Result<Vec<u8>, TsaError> {
        let leaf = &self.chain[0];
        let attributes = self.signed_attributes(tst_info_der, leaf)?;
        let signer = KmsSigner::new(desk.kms, &self.key);
        // sign_checked inside: a signature that does not verify never leaves.
        let signature = signer.try_sign(&attributes.to_der()?).map_err(|e| match signer.take_error() {
            Some(err) => TsaError::from(err),
            None => TsaError::internal(format!("the KMS did not sign the token: {e}")),
        })?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: leaf.tbs_certificate().issuer().clone(),
                serial_number: leaf.tbs_certificate().serial_number().clone(),
            }),
            digest_alg: ImprintHash::Sha256.algorithm_identifier(),
            signed_attrs: Some(attributes),
            signature_algorithm: keys::signature_algorithm_identifier(self.key.algorithm)
                .map_err(|e| TsaError::internal(e.to_string()))?,
            signature: OctetString::new(signature.0)?,
            unsigned_attrs: None,
        };
        let certificates = if cert_req {
            let choices = self.chain.iter().cloned().map(CertificateChoices::Certificate).collect::<Vec<_>>();
            Some(CertificateSet::try_from(choices)?)
        } else {
            None
        };
        let signed_data = SignedData {
            // RFC 5652 §5.1: 3, since the content type is not id-data.
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![ImprintHash::Sha256.algorithm_identifier()])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_info_der.to_vec())?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer_info])?,
        };
        let content = ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed_data)? };
        Ok(content.to_der()?)
    }

    /// contentType, messageDigest (SHA-256 of the TSTInfo) and signingCertificateV2.
    fn signed_attributes(&self, tst_info_der: &[u8], leaf: &Certificate) -> Result<SetOfVec<Attribute>, TsaError> {
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None, // DEFAULT id-sha256, left out in DER.
                cert_hash: OctetString::new(ImprintHash::Sha256.digest(&leaf.to_der()?))?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(leaf.tbs_certificate().issuer().clone())],
                    serial_number: leaf.tbs_certificate().serial_number().clone(),
                }),
            }],
            policies: None,
        };
        let attribute = |oid: ObjectIdentifier, value: Any| -> Result<Attribute, TsaError> {
            Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
        };
        Ok(SetOfVec::try_from(vec![
            attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO)?)?,
            attribute(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(ImprintHash::Sha256.digest(tst_info_der))?)?,
            )?,
            attribute(ID_AA_SIGNING_CERTIFICATE_V_2, Any::encode_from(&ess)?)?,
        ])?)
    }

    fn audit_entry(&self, desk: Desk<'_>, now: i64, detail: String) -> AuditEntry {
        let request_id = crate::kms::ids::new_uuid().unwrap_or_default();
        let mut entry = AuditEntry::new(now, &request_id, desk.principal, "TimeStamp");
        entry.key_id = Some(self.config.key_id.clone());
        entry.key_version_id = Some(self.config.key_version_id.clone());
        entry.algorithm = Some(self.key.algorithm.to_string());
        entry.detail = Some(detail);
        entry
    }
}

/// The key version, resolved for signing (`SigningKey::resolve`), and not with RSA-PSS,
/// which OpenSSL's time-stamp verifier cannot check.
fn tsa_key(kms: &dyn Kms, config: &TsaConfig) -> Result<SigningKey, TsaError> {
    let key = SigningKey::resolve(kms, &config.key_id, &config.key_version_id, config.algorithm)?;
    if key.algorithm == Algorithm::RsaPssSha256 {
        return Err(TsaError::new(
            TsaCode::BadAlgorithm,
            "a TSA does not sign with RSA_PSS_SHA_256: `openssl ts -verify` checks a token's RSA signature as PKCS#1 v1.5 and fails every PSS one; use RSA_PKCS1_SHA_256 (the default for RSA keys)",
        ));
    }
    Ok(key)
}

/// The TSA certificate certifies the key version and is a time-stamping certificate valid
/// at `now`.
fn check_tsa_certificate(leaf: &Cert, public_spki: &[u8], config: &TsaConfig, now: i64) -> Result<(), TsaError> {
    let who = describe(leaf);
    let certified = leaf.tbs_certificate().subject_public_key_info().to_der()?;
    if certified != public_spki {
        return Err(TsaError::new(
            TsaCode::Chain(crate::x509::Reason::KeyMismatch),
            format!(
                "the TSA certificate ({who}) certifies another key than key {} version {}; give the certificate issued for that key version (--cert, leaf first)",
                config.key_id, config.key_version_id
            ),
        ));
    }
    crate::x509::path::check_end_entity(leaf, Purpose::Timestamping, now).map_err(|(reason, message)| {
        TsaError::new(
            TsaCode::Chain(reason),
            format!(
                "{message}; a TSA needs a time-stamping certificate valid now: keyseal ca issue --profile timestamping --key-id {} --key-version-id {} ...",
                config.key_id, config.key_version_id
            ),
        )
    })
}

/// The certificate as CMS will carry it, refused unless that re-encodes to the exact bytes
/// received (a legal but non-canonical encoding would otherwise change, and its signature
/// with it).
fn carried_as_received(cert: &Cert) -> Result<Certificate, TsaError> {
    let decoded = Certificate::from_der(cert.der()).map_err(|e| {
        TsaError::new(TsaCode::Chain(crate::x509::Reason::MalformedCertificate), format!("{}: {e}", describe(cert)))
    })?;
    if decoded.to_der()? != cert.der() {
        return Err(TsaError::new(
            TsaCode::Chain(crate::x509::Reason::MalformedCertificate),
            format!(
                "{} does not re-encode to the bytes received, so a reply could not carry it intact",
                describe(cert)
            ),
        ));
    }
    Ok(decoded)
}

/// The checks `openssl ts -reply` makes, in its order, with its failInfo bits: version 1
/// (badRequest), a SHA-2 imprint algorithm without parameters (badAlg), an imprint of that
/// algorithm's length (badDataFormat), the TSA's policy if one is asked for
/// (unacceptedPolicy). Unlike OpenSSL, which refuses every extension, only a critical one
/// is refused (unacceptedExtension): keyseal knows none, and a non-critical one may be
/// ignored. A request that is not DER is badDataFormat.
/// The TimeStampReq in `request`, or a badDataFormat rejection that says so (DER's own
/// words: the kind of error and its position, never the bytes).
fn parse_request(request: &[u8]) -> Result<TimeStampReq, Rejection> {
    TimeStampReq::from_der(request)
        .map_err(|e| Rejection(FailureInfo::BadDataFormat, format!("the request is not a DER TimeStampReq ({e})")))
}

fn check_request(query: TimeStampReq, policy: &ObjectIdentifier) -> Result<Accepted, Rejection> {
    if query.version != 1 {
        return Err(Rejection(FailureInfo::BadRequest, format!("the request is version {}, not 1", query.version)));
    }
    let algorithm = &query.message_imprint.hash_algorithm;
    let hash = ImprintHash::from_oid(&algorithm.oid).ok_or_else(|| {
        Rejection(
            FailureInfo::BadAlg,
            format!(
                "the message imprint's hash algorithm {} is not one this TSA takes (SHA-256, SHA-384, SHA-512)",
                algorithm.oid
            ),
        )
    })?;
    if algorithm.parameters.as_ref().is_some_and(|p| p.tag() != Tag::Null || !p.value().is_empty()) {
        return Err(Rejection(FailureInfo::BadAlg, "the message imprint's hash algorithm has parameters".into()));
    }
    let length = query.message_imprint.hashed_message.as_bytes().len();
    if length != hash.digest_len() {
        return Err(Rejection(
            FailureInfo::BadDataFormat,
            format!("the message imprint is {length} bytes; a {} digest is {}", hash.name(), hash.digest_len()),
        ));
    }
    if let Some(asked) = query.req_policy.filter(|asked| asked != policy) {
        return Err(Rejection(
            FailureInfo::UnacceptedPolicy,
            format!("the request asks for policy {asked}; this TSA works under {policy}"),
        ));
    }
    if let Some(critical) = query.extensions.iter().flatten().find(|ext| ext.critical) {
        return Err(Rejection(
            FailureInfo::UnacceptedExtension,
            format!("the request has a critical extension {} this TSA does not support", critical.extn_id),
        ));
    }
    Ok(Accepted { imprint: query.message_imprint, hash, nonce: query.nonce, cert_req: query.cert_req })
}

/// The reply for a rejected request, `audited` or not.
fn reject(Rejection(fail_info, text): Rejection, audited: bool) -> Result<Reply, TsaError> {
    Ok(Reply { der: rejection(fail_info, &text)?, outcome: Outcome::Rejected { fail_info, text }, audited })
}

/// A TimeStampResp with status rejection, the failInfo bit and the reason.
fn rejection(fail_info: FailureInfo, text: &str) -> Result<Vec<u8>, TsaError> {
    let response = TimeStampResp {
        status: PkiStatusInfo {
            status: status::REJECTION,
            status_string: Some(vec![text.to_string()]),
            fail_info: Some(fail_info.bit_string()?),
        },
        time_stamp_token: None,
    };
    Ok(response.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsa::DEFAULT_POLICY;
    use crate::tsa::query::{QueryRequest, make_query};

    fn query(hash: ImprintHash, digest: Vec<u8>) -> Vec<u8> {
        make_query(&QueryRequest { hash, digest, nonce: true, cert_req: false }).unwrap()
    }

    fn check(request: &[u8], policy: &ObjectIdentifier) -> Result<Accepted, Rejection> {
        parse_request(request).and_then(|query| check_request(query, policy))
    }

    fn rejected(request: &[u8]) -> FailureInfo {
        match check(request, &DEFAULT_POLICY) {
            Err(Rejection(info, _)) => info,
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn requests_are_checked_with_openssls_fail_info_bits() {
        for (_, hash) in ImprintHash::ALL {
            assert!(check(&query(*hash, vec![1; hash.digest_len()]), &DEFAULT_POLICY).is_ok());
        }
        assert_eq!(rejected(b"not DER"), FailureInfo::BadDataFormat);
        let request = TimeStampReq::from_der(&query(ImprintHash::Sha256, vec![1; 32])).unwrap();
        let with = |change: &dyn Fn(&mut TimeStampReq)| {
            let mut changed = request.clone();
            change(&mut changed);
            changed.to_der().unwrap()
        };
        assert_eq!(rejected(&with(&|r| r.version = 2)), FailureInfo::BadRequest);
        assert_eq!(
            rejected(&with(&|r| r.message_imprint.hash_algorithm.oid = der::oid::db::rfc5912::ID_SHA_1)),
            FailureInfo::BadAlg
        );
        assert_eq!(
            rejected(&with(&|r| r.message_imprint.hashed_message = OctetString::new(vec![1; 20]).unwrap())),
            FailureInfo::BadDataFormat
        );
        assert_eq!(
            rejected(&with(&|r| r.req_policy = Some(ObjectIdentifier::new_unwrap("1.2.3.4")))),
            FailureInfo::UnacceptedPolicy
        );
        assert!(check(&with(&|r| r.req_policy = Some(DEFAULT_POLICY)), &DEFAULT_POLICY).is_ok());
        let extension = |critical| x509_cert::ext::Extension {
            extn_id: ObjectIdentifier::new_unwrap("1.2.3.4.5"),
            critical,
            extn_value: OctetString::new(vec![5, 0]).unwrap(),
        };
        assert_eq!(rejected(&with(&|r| r.extensions = Some(vec![extension(true)]))), FailureInfo::UnacceptedExtension);
        assert!(check(&with(&|r| r.extensions = Some(vec![extension(false)])), &DEFAULT_POLICY).is_ok());
    }

    #[test]
    fn a_rejection_reads_back() {
        let der = rejection(FailureInfo::BadAlg, "no MD5").unwrap();
        let response = TimeStampResp::from_der(&der).unwrap();
        assert_eq!(response.status.status, status::REJECTION);
        assert_eq!(response.status.status_string, Some(vec!["no MD5".to_string()]));
        assert_eq!(FailureInfo::from_bit_string(response.status.fail_info.as_ref().unwrap()), [FailureInfo::BadAlg]);
    }
}
