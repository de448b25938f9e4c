//! Checking a time-stamp reply offline, from any TSA, as `openssl ts -verify` does and with
//! a reason code for each failure. In order, the first failure ending the checks:
//!
//! | check | RFC | reason code |
//! |---|---|---|
//! | the status is granted (or grantedWithMods) | 3161 §2.4.2 | `not-granted` |
//! | the signer's certificate is in the token or `--chain` | 5652 §5.3 | `tsa-certificate-not-found` |
//! | the signature over the signed attributes verifies | 5652 §5.4, §5.6 | `bad-tsa-signature` |
//! | contentType is id-ct-TSTInfo, messageDigest is the TSTInfo's hash | 5652 §11.1, §11.2 | `malformed-token`, `bad-tsa-signature` |
//! | signingCertificate(V2) names the signer's certificate | 3161 §2.4.1, 5816 | `bad-signing-certificate` |
//! | genTime is not after the verification time | 3161 §2.4.2 | `gen-time-in-future` |
//! | the accuracy is at most [`MAX_ACCURACY_SECONDS`] | 3161 §2.4.2 | `bad-accuracy` |
//! | the TSTInfo has no critical extension (keyseal knows none) | 3161 §2.4.2, 5280 §4.2 | `unknown-critical-extension` |
//! | the TSA's chain validates at genTime for timestamping, not revoked by the CRLs given | 5280 §6.1, §6.3, 3161 §2.3, §4 | `tsa-chain-invalid` |
//! | the message imprint is the data's hash | 3161 §2.4.2 | `bad-imprint` |
//!
//! A hash or signature algorithm keyseal does not check is `unsupported-algorithm`; input
//! that is not a well-formed reply is `malformed-token`, an error (exit 2) rather than a
//! failed check. Nothing is taken from the clock: the chain is judged at the token's own
//! genTime, which only a valid signature vouches for, and revocation by CRLs current at the
//! verification time the caller passes ([`TsaTrust::now`]). A TSA certificate revoked
//! after genTime voids the token unless the reason leaves earlier signatures standing
//! (superseded, cessationOfOperation, ...: see `x509::crl::Clock`): RFC 3161 §4 voids every
//! token of a compromised TSA key, whenever it was made, so keyCompromise (or no reason)
//! revokes at any date. The TSA's certificate must be an end entity: a CA's key is not
//! "reserved specifically" for time stamping (RFC 3161 §2.3), and path validation refuses
//! it as `ca-as-end-entity`.

use crate::tsa::asn1::{EssCertId, EssCertIdV2, IssuerSerial, SigningCertificate, SigningCertificateV2, status};
use crate::tsa::token::{self, Token};
use crate::tsa::{ImprintHash, TsaCode, TsaError, integer_hex};
use crate::x509::path::TimeStamped;
use crate::x509::path::ValidationReport;
use crate::x509::signature::{SignatureError, verify_signed};
use crate::x509::{Cert, Crl, Purpose, ValidationOptions, describe, validate};
use cms::signed_data::{SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::oid::db::rfc3161::ID_CT_TST_INFO;
use der::oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST,
};
use der::oid::db::rfc5912::RSA_ENCRYPTION;
use der::{Any, Encode};
use serde::{Serialize, Serializer};
use sha1::Digest;
use spki::AlgorithmIdentifierOwned;
use std::path::PathBuf;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::ext::pkix::name::GeneralName;

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenReason {
    /// Not a well-formed TimeStampResp or token (exit 2).
    MalformedToken,
    /// The TSA refused or holds back the time stamp.
    NotGranted,
    /// The token names a signer whose certificate is neither in it nor in `--chain`.
    TsaCertificateNotFound,
    /// The signature does not verify, or the signed attributes are not over this TSTInfo.
    BadTsaSignature,
    /// The signingCertificate attribute is missing or names another certificate.
    BadSigningCertificate,
    /// The TSA's certificate does not validate at genTime for time stamping.
    TsaChainInvalid,
    /// A hash or signature algorithm keyseal does not check.
    UnsupportedAlgorithm,
    /// The token is over other data.
    BadImprint,
    /// genTime is after the verification time.
    GenTimeInFuture,
    /// The stated accuracy is more than [`MAX_ACCURACY_SECONDS`].
    BadAccuracy,
    /// The TSTInfo has a critical extension keyseal does not process.
    UnknownCriticalExtension,
}

impl crate::codes::Coded for TokenReason {
    fn code(self) -> &'static str {
        TokenReason::code(self)
    }
}

impl TokenReason {
    /// Every reason, as `docs/reason-codes.md` lists them (`tests/it/docs.rs` checks the page).
    pub const ALL: &'static [TokenReason] = &[
        TokenReason::MalformedToken,
        TokenReason::NotGranted,
        TokenReason::TsaCertificateNotFound,
        TokenReason::BadTsaSignature,
        TokenReason::BadSigningCertificate,
        TokenReason::TsaChainInvalid,
        TokenReason::UnsupportedAlgorithm,
        TokenReason::BadImprint,
        TokenReason::GenTimeInFuture,
        TokenReason::BadAccuracy,
        TokenReason::UnknownCriticalExtension,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            TokenReason::MalformedToken => "malformed-token",
            TokenReason::NotGranted => "not-granted",
            TokenReason::TsaCertificateNotFound => "tsa-certificate-not-found",
            TokenReason::BadTsaSignature => "bad-tsa-signature",
            TokenReason::BadSigningCertificate => "bad-signing-certificate",
            TokenReason::TsaChainInvalid => "tsa-chain-invalid",
            TokenReason::UnsupportedAlgorithm => "unsupported-algorithm",
            TokenReason::BadImprint => "bad-imprint",
            TokenReason::GenTimeInFuture => "gen-time-in-future",
            TokenReason::BadAccuracy => "bad-accuracy",
            TokenReason::UnknownCriticalExtension => "unknown-critical-extension",
        }
    }
}

impl Serialize for TokenReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// What the token must be over.
#[derive(Debug, Clone)]
pub enum Expected {
    /// A digest, of the token's hash algorithm.
    Digest(Vec<u8>),
    /// A file, hashed with the token's hash algorithm.
    Data(PathBuf),
}

/// One check and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct TokenCheck {
    /// What was checked.
    pub check: &'static str,
    /// `ok`, `failed` or `not-checked`.
    pub result: &'static str,
    /// What was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The outcome of verifying a reply.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenReport {
    /// Whether every check passed.
    pub valid: bool,
    /// The first failure.
    pub reason: Option<TokenReason>,
    /// What is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The PKIStatus, by name.
    pub status: String,
    /// genTime, `2026-01-31T12:00:00Z`.
    pub gen_time: Option<String>,
    /// The token's serial, upper-case hex.
    pub serial: Option<String>,
    /// The TSA policy OID.
    pub policy: Option<String>,
    /// The imprint's hash algorithm.
    pub hash_algorithm: Option<String>,
    /// The imprint, hex.
    pub imprint: Option<String>,
    /// The nonce, upper-case hex.
    pub nonce: Option<String>,
    /// The stated accuracy.
    pub accuracy: Option<String>,
    /// genTime, Unix seconds (whole, the fraction dropped).
    #[serde(skip)]
    pub gen_time_unix: Option<i64>,
    /// The latest time the token may have been made, Unix seconds: genTime plus the
    /// accuracy, rounded up (genTime alone when the TSA states none).
    #[serde(skip)]
    pub latest: Option<i64>,
    /// The TSA certificate's subject.
    pub tsa: Option<String>,
    /// Every check, in order.
    pub checks: Vec<TokenCheck>,
    /// The TSA chain's validation, when it was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<ValidationReport>,
}

/// The checks of a token, in the order they run. Each outcome is recorded under the check
/// that produced it ([`record`]), so a failure is named by its own check, not by how many
/// passed before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Status,
    SignerCertificate,
    Signature,
    MessageDigest,
    SigningCertificate,
    TstInfo,
    TsaChain,
    Imprint,
}

impl Check {
    const ALL: [Check; 8] = [
        Check::Status,
        Check::SignerCertificate,
        Check::Signature,
        Check::MessageDigest,
        Check::SigningCertificate,
        Check::TstInfo,
        Check::TsaChain,
        Check::Imprint,
    ];

    /// The name in the report.
    fn name(self) -> &'static str {
        match self {
            Check::Status => "status",
            Check::SignerCertificate => "signer-certificate",
            Check::Signature => "signature",
            Check::MessageDigest => "message-digest",
            Check::SigningCertificate => "signing-certificate",
            Check::TstInfo => "tst-info",
            Check::TsaChain => "tsa-chain",
            Check::Imprint => "imprint",
        }
    }
}

/// The largest accuracy a token may state. RFC 3161 TSAs state seconds at most (common
/// ones a second or less); a token claiming only to be right within hours says little
/// about when the signature existed, so it is refused rather than trusted to that width.
pub const MAX_ACCURACY_SECONDS: u64 = 3600;

/// What the TSA's chain is judged with: its trust anchors, intermediates beside those the
/// token carries, CRLs for its revocation, and the verification time, Unix seconds (the
/// CRLs must be current then, and genTime may not be after it).
#[derive(Debug, Clone, Copy)]
pub struct TsaTrust<'a> {
    /// Trust anchors for the TSA's certificate.
    pub anchors: &'a [Cert],
    /// Intermediates (and the TSA's certificate) the token may not carry.
    pub intermediates: &'a [Cert],
    /// CRLs for the TSA's chain.
    pub crls: &'a [Crl],
    /// The verification time, Unix seconds.
    pub now: i64,
}

type Failure = (TokenReason, String);

/// Verifies `reply` (a TimeStampResp or a bare token) over `expected`, with the TSA
/// chain built from the token's certificates and `trust`'s intermediates to its anchors.
/// `Err` is unusable input: a malformed reply (`malformed-token`) or data that cannot be
/// read.
pub fn verify_reply(reply: &[u8], expected: &Expected, trust: &TsaTrust<'_>) -> Result<TokenReport, TsaError> {
    let response = token::parse(reply).map_err(|e| TsaError::malformed_token(e.0))?;
    let mut report = TokenReport { status: status::name(response.status.status).to_string(), ..Default::default() };
    let outcome = match (&response.status, &response.token) {
        (s, _) if s.status != status::GRANTED && s.status != status::GRANTED_WITH_MODS => {
            record(&mut report, Check::Status, Err((TokenReason::NotGranted, not_granted(s))))
        }
        (_, None) => return Err(TsaError::malformed_token("the reply says granted but holds no token")),
        (_, Some(token)) => {
            describe_token(&mut report, token);
            let digest = expected_digest(token, expected)?;
            check_token(&mut report, token, &digest, trust)
        }
    };
    match outcome {
        Ok(()) => report.valid = true,
        Err((TokenReason::MalformedToken, message)) => return Err(TsaError::malformed_token(message)),
        Err((reason, message)) => {
            report.reason = Some(reason);
            report.message = Some(message);
        }
    }
    for check in Check::ALL {
        if !report.checks.iter().any(|done| done.check == check.name()) {
            report.checks.push(TokenCheck { check: check.name(), result: "not-checked", detail: None });
        }
    }
    Ok(report)
}

fn not_granted(info: &crate::tsa::asn1::PkiStatusInfo) -> String {
    let fail: Vec<&str> = info
        .fail_info
        .as_ref()
        .map(|bits| crate::tsa::asn1::FailureInfo::from_bit_string(bits).iter().map(|f| f.rfc_name()).collect())
        .unwrap_or_default();
    let text = info.status_string.as_ref().map(|s| s.join("; ")).unwrap_or_default();
    format!(
        "the TSA did not grant a time stamp: status {}{}{}",
        status::name(info.status),
        if fail.is_empty() { String::new() } else { format!(" ({})", fail.join(", ")) },
        if text.is_empty() { String::new() } else { format!(": {}", crate::quote::escape_text(&text)) }
    )
}

/// A stated accuracy in whole seconds, rounded up: how much later than genTime the token
/// may really have been made.
fn accuracy_seconds(seconds: u64, millis: u16, micros: u16) -> u64 {
    let micros = u64::from(millis) * 1000 + u64::from(micros);
    seconds.saturating_add(micros.div_ceil(1_000_000))
}

fn describe_token(report: &mut TokenReport, token: &Token) {
    let info = &token.tst_info;
    report.gen_time = Some(info.gen_time.display());
    report.gen_time_unix = Some(info.gen_time.unix);
    report.serial = Some(integer_hex(&info.serial_number));
    report.policy = Some(info.policy.to_string());
    let algorithm = info.message_imprint.hash_algorithm.oid;
    report.hash_algorithm =
        Some(ImprintHash::from_oid(&algorithm).map(|h| h.name().to_string()).unwrap_or(algorithm.to_string()));
    report.imprint = Some(hex::encode(info.message_imprint.hashed_message.as_bytes()));
    report.nonce = info.nonce.as_ref().map(integer_hex);
    let slack = info
        .accuracy
        .as_ref()
        .map_or(0, |a| accuracy_seconds(a.seconds.unwrap_or(0), a.millis.unwrap_or(0), a.micros.unwrap_or(0)));
    report.latest = Some(info.gen_time.unix.saturating_add(i64::try_from(slack).unwrap_or(i64::MAX)));
    report.accuracy = info
        .accuracy
        .as_ref()
        .map(|a| format!("{}s {}ms {}us", a.seconds.unwrap_or(0), a.millis.unwrap_or(0), a.micros.unwrap_or(0)));
}

/// The digest the imprint must equal: `--digest` as given, or the data hashed with the
/// imprint's algorithm (left empty when keyseal does not have that algorithm: the imprint
/// check then says so).
fn expected_digest(token: &Token, expected: &Expected) -> Result<Vec<u8>, TsaError> {
    match expected {
        Expected::Digest(digest) => Ok(digest.clone()),
        Expected::Data(path) => match ImprintHash::from_oid(&token.tst_info.message_imprint.hash_algorithm.oid) {
            Some(hash) => hash.digest_file(path).map_err(|e| {
                TsaError::bad_input(format!("cannot read --data {}: {e}", crate::quote::quote_path(path)))
            }),
            None => Ok(Vec::new()),
        },
    }
}

/// Records `outcome` under `check` (`ok`, or `failed` with the message) and passes it on.
fn record<T>(report: &mut TokenReport, check: Check, outcome: Result<T, Failure>) -> Result<T, Failure> {
    record_with(report, check, outcome, |_| None)
}

/// [`record`], with a detail of what passed.
fn record_with<T>(
    report: &mut TokenReport,
    check: Check,
    outcome: Result<T, Failure>,
    detail: impl FnOnce(&T) -> Option<String>,
) -> Result<T, Failure> {
    let (result, detail) = match &outcome {
        Ok(value) => ("ok", detail(value)),
        Err((_, message)) => ("failed", Some(message.clone())),
    };
    report.checks.push(TokenCheck { check: check.name(), result, detail });
    outcome
}

/// Every check after the status, each recorded as it passes.
fn check_token(report: &mut TokenReport, token: &Token, expected: &[u8], trust: &TsaTrust<'_>) -> Result<(), Failure> {
    record(report, Check::Status, Ok(()))?;
    let (signer, carried) = check_signed(report, token, trust.intermediates)?;
    record(report, Check::TstInfo, check_tst_info(token, trust.now))?;
    let pool: Vec<Cert> = carried.iter().chain(trust.intermediates).cloned().collect();
    let gen_time = token.tst_info.gen_time.unix;
    let mut options = ValidationOptions::new(gen_time, Purpose::Timestamping);
    options.crls = trust.crls.to_vec();
    options.time_stamped = Some(TimeStamped { now: trust.now, latest: report.latest.unwrap_or(gen_time) });
    let chain = validate(&signer, &pool, trust.anchors, &options);
    let chain_failure = chain.reason.map(|reason| {
        format!(
            "the TSA's certificate chain is not valid at genTime {} [{}]: {}",
            token.tst_info.gen_time.display(),
            reason.code(),
            chain.message.as_deref().unwrap_or("")
        )
    });
    report.chain = Some(chain);
    let chain_outcome = chain_failure.map_or(Ok(()), |message| Err((TokenReason::TsaChainInvalid, message)));
    record(report, Check::TsaChain, chain_outcome)?;
    record(report, Check::Imprint, check_imprint(token, expected))
}

/// What the TSTInfo itself must be, now that its signature vouches for it: made no later
/// than the verification time, with a sane accuracy, and with no critical extension
/// (keyseal processes none; RFC 5280 §4.2's rule for critical extensions).
fn check_tst_info(token: &Token, now: i64) -> Result<(), Failure> {
    let info = &token.tst_info;
    if info.gen_time.unix > now {
        let message = format!(
            "the token's genTime {} is after the verification time {}: no time stamp can be from the future (is a clock wrong?)",
            info.gen_time.display(),
            crate::clock::format_unix(now)
        );
        return Err((TokenReason::GenTimeInFuture, message));
    }
    if let Some(accuracy) = &info.accuracy {
        let seconds = accuracy.seconds.unwrap_or(0);
        let within = seconds < MAX_ACCURACY_SECONDS
            || (seconds == MAX_ACCURACY_SECONDS && accuracy.millis.is_none() && accuracy.micros.is_none());
        if !within {
            let message = format!(
                "the token states an accuracy of {seconds} s; keyseal takes at most {MAX_ACCURACY_SECONDS} s, beyond which genTime says little"
            );
            return Err((TokenReason::BadAccuracy, message));
        }
    }
    if let Some(ext) = info.extensions.iter().flatten().find(|ext| ext.critical) {
        let message = format!("the token has critical extension {} that keyseal does not process", ext.extn_id);
        return Err((TokenReason::UnknownCriticalExtension, message));
    }
    Ok(())
}

/// The checks that need no trust anchor: the signer's certificate found, its signature
/// over the signed attributes, those attributes over this TSTInfo, and the
/// signingCertificate attribute naming it. Returns the signer and the token's certificates.
fn check_signed(report: &mut TokenReport, token: &Token, intermediates: &[Cert]) -> Result<(Cert, Vec<Cert>), Failure> {
    let found = carried_certificates(token).and_then(|carried| {
        let signer = find_signer(&token.signer, &carried, intermediates)?.clone();
        Ok((signer, carried))
    });
    let (signer, carried) = record_with(report, Check::SignerCertificate, found, |(signer, _)| Some(describe(signer)))?;
    report.tsa = Some(crate::x509::display::show_name(signer.tbs_certificate().subject()));
    let digest = record(report, Check::Signature, check_signature(token, &signer))?;
    record(report, Check::MessageDigest, check_message_digest(token, digest))?;
    record(report, Check::SigningCertificate, check_signing_certificate(&token.signer, &signer))?;
    Ok((signer, carried))
}

/// What a signer checks of the reply to its own request before keeping the token
/// (`keyseal sign --tsa`): granted, signed by the certificate it names (carried in the
/// token), over `digest`, with the request's `nonce`. Not the TSA's chain: whom to trust
/// as a TSA is the verifier's choice (`keyseal verify --tsa-trust`). Returns the token.
pub fn check_fresh_reply(reply: &[u8], digest: &[u8], nonce: Option<&der::asn1::Int>) -> Result<Token, TsaError> {
    let response = token::parse(reply).map_err(|e| TsaError::malformed_token(e.0))?;
    if response.status.status != status::GRANTED && response.status.status != status::GRANTED_WITH_MODS {
        return Err(TsaError::new(TsaCode::Token(TokenReason::NotGranted), not_granted(&response.status)));
    }
    let token = response.token.ok_or_else(|| TsaError::malformed_token("the reply holds no token"))?;
    let refused = |(reason, message): Failure| TsaError::new(TsaCode::Token(reason), message);
    check_signed(&mut TokenReport::default(), &token, &[]).map_err(refused)?;
    check_imprint(&token, digest).map_err(refused)?;
    if token.tst_info.nonce.as_ref() != nonce {
        return Err(TsaError::new(
            TsaCode::BadNonce,
            "the TSA's token does not carry the nonce sent: it answers another request (or replays an old one)",
        ));
    }
    Ok(token)
}

fn carried_certificates(token: &Token) -> Result<Vec<Cert>, Failure> {
    token
        .certificates
        .iter()
        .enumerate()
        .map(|(index, der)| {
            Cert::from_der(der).map_err(|e| {
                (TokenReason::MalformedToken, format!("certificate {} in the token does not parse: {e}", index + 1))
            })
        })
        .collect()
}

/// The certificate the SignerInfo's sid names (RFC 5652 §5.3), from the token or `--chain`.
fn find_signer<'c>(signer: &SignerInfo, carried: &'c [Cert], given: &'c [Cert]) -> Result<&'c Cert, Failure> {
    let matches = |cert: &&Cert| match &signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            cert.tbs_certificate().issuer() == &id.issuer && cert.tbs_certificate().serial_number() == &id.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(cert.tbs_certificate().get_extension::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
        }
    };
    carried.iter().chain(given).find(matches).ok_or_else(|| {
        let named = match &signer.sid {
            SignerIdentifier::IssuerAndSerialNumber(id) => format!(
                "issuer \"{}\", serial {}",
                crate::x509::display::show_name(&id.issuer),
                hex::encode_upper(id.serial_number.as_bytes())
            ),
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                format!("subject key identifier {}", hex::encode_upper(ski.0.as_bytes()))
            }
        };
        (
            TokenReason::TsaCertificateNotFound,
            format!(
                "the token's signer ({}) has no certificate in the token or in --chain; pass the TSA certificate with --chain (or ask for it with `timestamp query --cert-req`)",
                crate::quote::escape_text(&named)
            ),
        )
    })
}

/// The signature over the signed attributes, with the signer's key. Returns the
/// digestAlgorithm, which messageDigest is checked with.
fn check_signature(token: &Token, signer: &Cert) -> Result<ImprintHash, Failure> {
    let info = &token.signer;
    let digest = ImprintHash::from_oid(&info.digest_alg.oid).ok_or_else(|| {
        (
            TokenReason::UnsupportedAlgorithm,
            format!("the token's digest algorithm {} is not SHA-256, SHA-384 or SHA-512", info.digest_alg.oid),
        )
    })?;
    let algorithm = signature_algorithm(&info.signature_algorithm, digest);
    let key = signer.tbs_certificate().subject_public_key_info();
    verify_signed(key, &algorithm, &token.signed_attributes, info.signature.as_bytes()).map_err(|e| match e {
        SignatureError::Unsupported(what) => {
            (TokenReason::UnsupportedAlgorithm, format!("the token is signed with {what}"))
        }
        SignatureError::Invalid => (
            TokenReason::BadTsaSignature,
            format!("the TSA's signature does not verify with the key of {}", describe(signer)),
        ),
        SignatureError::Malformed(what) => {
            (TokenReason::BadTsaSignature, format!("the TSA's signature cannot be checked: {what}"))
        }
    })?;
    Ok(digest)
}

/// CMS names an RSA PKCS#1 v1.5 signature by the key's algorithm (rsaEncryption) with the
/// hash in digestAlgorithm, as OpenSSL writes it; the signature checker wants the
/// combined sha*WithRSAEncryption. Everything else names its hash itself.
fn signature_algorithm(named: &AlgorithmIdentifierOwned, digest: ImprintHash) -> AlgorithmIdentifierOwned {
    if named.oid != RSA_ENCRYPTION {
        return named.clone();
    }
    let oid = match digest {
        ImprintHash::Sha256 => "1.2.840.113549.1.1.11",
        ImprintHash::Sha384 => "1.2.840.113549.1.1.12",
        ImprintHash::Sha512 => "1.2.840.113549.1.1.13",
    };
    AlgorithmIdentifierOwned { oid: ObjectIdentifier::new_unwrap(oid), parameters: named.parameters.clone() }
}

/// The one value of the signed attribute `oid`, if present; an attribute present twice or
/// with several values is malformed (RFC 5652 §5.3, §11).
fn attribute<'t>(signer: &'t SignerInfo, oid: ObjectIdentifier, name: &str) -> Result<Option<&'t Any>, Failure> {
    let mut found = signer.signed_attrs.iter().flat_map(|attrs| attrs.iter()).filter(|a| a.oid == oid);
    let Some(first) = found.next() else { return Ok(None) };
    if found.next().is_some() || first.values.len() != 1 {
        return Err((TokenReason::MalformedToken, format!("the signed attribute {name} is not exactly one value")));
    }
    Ok(first.values.iter().next())
}

fn decode_attribute<T: der::DecodeOwned>(value: &Any, name: &str) -> Result<T, Failure> {
    let bad = || (TokenReason::MalformedToken, format!("the signed attribute {name} does not parse"));
    let der = value.to_der().map_err(|_| bad())?;
    T::from_der(&der).map_err(|_| bad())
}

/// contentType says TSTInfo, and messageDigest is the hash of the TSTInfo received.
fn check_message_digest(token: &Token, digest: ImprintHash) -> Result<(), Failure> {
    let missing = |name: &str| (TokenReason::MalformedToken, format!("the token has no {name} signed attribute"));
    let content_type =
        attribute(&token.signer, ID_CONTENT_TYPE, "contentType")?.ok_or_else(|| missing("contentType"))?;
    if decode_attribute::<ObjectIdentifier>(content_type, "contentType")? != ID_CT_TST_INFO {
        return Err((TokenReason::MalformedToken, "the signed contentType is not id-ct-TSTInfo".into()));
    }
    let value =
        attribute(&token.signer, ID_MESSAGE_DIGEST, "messageDigest")?.ok_or_else(|| missing("messageDigest"))?;
    let signed: OctetString = decode_attribute(value, "messageDigest")?;
    if signed.as_bytes() != digest.digest(&token.tst_info_der).as_slice() {
        return Err((
            TokenReason::BadTsaSignature,
            "the TSTInfo is not what the TSA signed: its hash differs from the signed messageDigest".into(),
        ));
    }
    Ok(())
}

/// signingCertificateV2 (or the older signingCertificate) names the signer's certificate
/// first: its hash, and its issuer and serial when given (RFC 5035 §5.4, RFC 3161 §2.4.1).
fn check_signing_certificate(info: &SignerInfo, signer: &Cert) -> Result<(), Failure> {
    let bad = |what: String| (TokenReason::BadSigningCertificate, what);
    if let Some(value) = attribute(info, ID_AA_SIGNING_CERTIFICATE_V_2, "signingCertificateV2")? {
        let ess: SigningCertificateV2 = decode_attribute(value, "signingCertificateV2")?;
        let first: &EssCertIdV2 =
            ess.certs.first().ok_or_else(|| bad("signingCertificateV2 lists no certificate".into()))?;
        let oid = first.hash_algorithm.as_ref().map(|a| a.oid).unwrap_or(ImprintHash::Sha256.oid());
        let hash = ImprintHash::from_oid(&oid)
            .ok_or_else(|| (TokenReason::UnsupportedAlgorithm, format!("signingCertificateV2 hashes with {oid}")))?;
        return check_cert_id(
            signer,
            &hash.digest(signer.der()),
            first.cert_hash.as_bytes(),
            first.issuer_serial.as_ref(),
        );
    }
    if let Some(value) = attribute(info, ID_AA_SIGNING_CERTIFICATE, "signingCertificate")? {
        let ess: SigningCertificate = decode_attribute(value, "signingCertificate")?;
        let first: &EssCertId =
            ess.certs.first().ok_or_else(|| bad("signingCertificate lists no certificate".into()))?;
        let sha1 = sha1::Sha1::digest(signer.der()).to_vec();
        return check_cert_id(signer, &sha1, first.cert_hash.as_bytes(), first.issuer_serial.as_ref());
    }
    Err(bad(
        "the token has no signingCertificate or signingCertificateV2 attribute; RFC 3161 §2.4.1 requires one".into()
    ))
}

fn check_cert_id(
    signer: &Cert,
    hash: &[u8],
    named: &[u8],
    issuer_serial: Option<&IssuerSerial>,
) -> Result<(), Failure> {
    let bad = |what: &str| {
        (
            TokenReason::BadSigningCertificate,
            format!("the signed signingCertificate names {what} than {}", describe(signer)),
        )
    };
    if hash != named {
        return Err(bad("another certificate (its hash differs)"));
    }
    if let Some(id) = issuer_serial {
        let issuer = signer.tbs_certificate().issuer();
        let same_issuer = id.issuer.iter().any(|name| matches!(name, GeneralName::DirectoryName(n) if n == issuer));
        if !same_issuer || &id.serial_number != signer.tbs_certificate().serial_number() {
            return Err(bad("another issuer or serial"));
        }
    }
    Ok(())
}

/// The imprint is the expected digest.
fn check_imprint(token: &Token, expected: &[u8]) -> Result<(), Failure> {
    let imprint = &token.tst_info.message_imprint;
    let hash = ImprintHash::from_oid(&imprint.hash_algorithm.oid).ok_or_else(|| {
        (
            TokenReason::UnsupportedAlgorithm,
            format!(
                "the message imprint is hashed with {}, not SHA-256, SHA-384 or SHA-512",
                imprint.hash_algorithm.oid
            ),
        )
    })?;
    if expected.len() != hash.digest_len() {
        return Err((
            TokenReason::BadImprint,
            format!(
                "the token is over a {} digest ({} bytes); the digest given is {} bytes",
                hash.name(),
                hash.digest_len(),
                expected.len()
            ),
        ));
    }
    if expected != imprint.hashed_message.as_bytes() {
        return Err((
            TokenReason::BadImprint,
            format!(
                "the token is over other data: its {} imprint is {}, the data's is {}",
                hash.name(),
                hex::encode(imprint.hashed_message.as_bytes()),
                hex::encode(expected)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Accuracy rounds up to whole seconds: any fraction of a second is one more.
    #[test]
    fn accuracy_rounds_up_to_seconds() {
        assert_eq!(accuracy_seconds(0, 0, 0), 0);
        assert_eq!(accuracy_seconds(1, 0, 0), 1);
        assert_eq!(accuracy_seconds(0, 1, 0), 1);
        assert_eq!(accuracy_seconds(0, 0, 1), 1);
        assert_eq!(accuracy_seconds(2, 999, 999), 3);
        assert_eq!(accuracy_seconds(0, 999, 1000), 1, "a million microseconds is one second");
        assert_eq!(accuracy_seconds(0, 999, 1001), 2);
    }

    use super::*;
    use crate::tsa::asn1::Accuracy;
    use x509_cert::ext::Extension;

    /// A token keyseal's TSA made (the fuzz seed), to alter field by field.
    fn token() -> Token {
        token::parse_token(include_bytes!("../../fuzz/seeds/timestamp/keyseal-bare-token.der")).unwrap()
    }

    #[test]
    fn a_tst_info_from_the_future_with_absurd_accuracy_or_critical_extension_is_refused() {
        let good = token();
        let gen_time = good.tst_info.gen_time.unix;
        assert_eq!(check_tst_info(&good, gen_time), Ok(()));
        assert_eq!(check_tst_info(&good, gen_time - 1).unwrap_err().0, TokenReason::GenTimeInFuture);

        let mut wide = token();
        wide.tst_info.accuracy = Some(Accuracy { seconds: Some(MAX_ACCURACY_SECONDS), millis: None, micros: None });
        assert_eq!(check_tst_info(&wide, gen_time), Ok(()));
        wide.tst_info.accuracy = Some(Accuracy { seconds: Some(MAX_ACCURACY_SECONDS), millis: Some(1), micros: None });
        assert_eq!(check_tst_info(&wide, gen_time).unwrap_err().0, TokenReason::BadAccuracy);

        let extension = |critical| Extension {
            extn_id: ObjectIdentifier::new_unwrap("1.2.3.4"),
            critical,
            extn_value: OctetString::new(vec![5, 0]).unwrap(),
        };
        let mut extended = token();
        extended.tst_info.extensions = Some(vec![extension(false)]);
        assert_eq!(check_tst_info(&extended, gen_time), Ok(()));
        extended.tst_info.extensions = Some(vec![extension(false), extension(true)]);
        let (reason, message) = check_tst_info(&extended, gen_time).unwrap_err();
        assert_eq!(reason, TokenReason::UnknownCriticalExtension);
        assert!(message.contains("1.2.3.4"), "{message}");
    }

    fn pkits(name: &str) -> Cert {
        let path = format!("{}/fixtures/pkits/certs/{name}.crt", env!("CARGO_MANIFEST_DIR"));
        Cert::from_der(&std::fs::read(path).unwrap()).unwrap()
    }

    /// A signer named by issuer and serial number is the certificate with both: not one of
    /// the same issuer's other certificates, nor another issuer's with the same serial.
    #[test]
    fn a_signer_named_by_issuer_and_serial_needs_both() {
        let (wanted, same_issuer, same_serial) =
            (pkits("GoodCACert"), pkits("BadnotAfterDateCACert"), pkits("AnyPolicyTest14EE"));
        let tbs = wanted.tbs_certificate();
        let mut signer = token().signer;
        signer.sid = SignerIdentifier::IssuerAndSerialNumber(cms::cert::IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        });
        let pile = [same_issuer, same_serial, wanted.clone()];
        assert_eq!(find_signer(&signer, &pile, &[]).map(describe), Ok(describe(&wanted)));
        assert_eq!(find_signer(&signer, &[], &pile).map(describe), Ok(describe(&wanted)));
        let (reason, message) = find_signer(&signer, &pile[..2], &[]).unwrap_err();
        assert_eq!(reason, TokenReason::TsaCertificateNotFound);
        assert!(message.contains("--chain"), "{message}");
    }

    /// A signer keeps a token only from a reply that granted it, with or without
    /// modifications; a rejection says so rather than "no token".
    #[test]
    fn a_fresh_reply_must_be_granted_with_or_without_modifications() {
        let rejection = include_bytes!("../../fuzz/seeds/timestamp/rejection-bad-data-format.tsr");
        assert_eq!(check_fresh_reply(rejection, &[0; 32], None).unwrap_err().code, "not-granted");
        let mut with_mods = include_bytes!("../../fuzz/seeds/timestamp/keyseal-ecdsa-certreq.tsr").to_vec();
        // TimeStampResp { status PKIStatusInfo { status INTEGER 0 } ...}: 0 becomes 1.
        let at = with_mods.windows(5).position(|w| w == [0x30, 0x03, 0x02, 0x01, 0x00]).unwrap();
        with_mods[at + 4] = 1;
        let other = check_fresh_reply(&with_mods, &[0; 32], None).unwrap_err();
        assert_ne!(other.code, "not-granted", "grantedWithMods is granted: {}", other.message);
    }

    /// signingCertificate names the signer by hash, and by issuer AND serial when given:
    /// another certificate, another issuer or another serial is refused.
    #[test]
    fn the_signing_certificate_must_name_the_signer_by_hash_issuer_and_serial() {
        let (signer, other) = (pkits("GoodCACert"), pkits("BadnotAfterDateCACert"));
        let hash = ImprintHash::Sha256.digest(signer.der()).to_vec();
        let id = |issuer: &Cert, serial: &Cert| IssuerSerial {
            issuer: vec![GeneralName::DirectoryName(issuer.tbs_certificate().issuer().clone())],
            serial_number: serial.tbs_certificate().serial_number().clone(),
        };
        assert_eq!(check_cert_id(&signer, &hash, &hash, None), Ok(()));
        assert_eq!(check_cert_id(&signer, &hash, &hash, Some(&id(&signer, &signer))), Ok(()));
        let refused = |result: Result<(), Failure>| result.unwrap_err().0;
        assert_eq!(refused(check_cert_id(&signer, &hash, &[0; 32], None)), TokenReason::BadSigningCertificate);
        let same_issuer_other_serial = id(&signer, &other);
        assert_eq!(
            refused(check_cert_id(&signer, &hash, &hash, Some(&same_issuer_other_serial))),
            TokenReason::BadSigningCertificate
        );
        let elsewhere = pkits("AnyPolicyTest14EE"); // another issuer, serial 02 as Good CA's
        assert_eq!(
            refused(check_cert_id(&signer, &hash, &hash, Some(&id(&elsewhere, &signer)))),
            TokenReason::BadSigningCertificate
        );
        // The token's own signingCertificate names keyseal's TSA, not Good CA.
        let token = token();
        assert_eq!(refused(check_signing_certificate(&token.signer, &signer)), TokenReason::BadSigningCertificate);
    }

    /// A signed attribute with two values is malformed, not read as its first.
    #[test]
    fn a_signed_attribute_of_two_values_is_malformed() {
        let mut signer = token().signer;
        assert!(attribute(&signer, ID_MESSAGE_DIGEST, "messageDigest").unwrap().is_some());
        let mut attrs: Vec<x509_cert::attr::Attribute> = signer.signed_attrs.clone().unwrap().into_vec();
        let digest = attrs.iter_mut().find(|a| a.oid == ID_MESSAGE_DIGEST).unwrap();
        let second = Any::new(der::Tag::OctetString, vec![0u8; 32]).unwrap();
        digest.values.insert(second).unwrap();
        signer.signed_attrs = Some(attrs.try_into().unwrap());
        let (reason, message) = attribute(&signer, ID_MESSAGE_DIGEST, "messageDigest").unwrap_err();
        assert_eq!(reason, TokenReason::MalformedToken);
        assert!(message.contains("messageDigest"), "{message}");
    }
}
