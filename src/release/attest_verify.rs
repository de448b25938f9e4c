//! `keyseal verify-attestation`: an attestation (a Sigstore bundle holding a DSSE envelope
//! over an in-toto statement, keyseal's or cosign's) checked offline — the envelope's
//! signature over its pre-authentication encoding with the pinned key or the certificate's
//! (its chain to `--trust`), the payload type, the statement type, the predicate type asked
//! for, and that every file given is a subject, by its SHA-256. Each failure has its code;
//! what cannot be checked (a transparency-log entry) is refused, never passed over.

use crate::crypto::keys;
use crate::release::ReleaseError;
use crate::release::attest::{PAYLOAD_TYPE, STATEMENT_TYPE, pae};
use crate::release::hash::hash_files;
use crate::release::sigstore::read::{base64, certificates, field, text};
use crate::release::sigstore::{key_hint, sigstore_algorithm};
use crate::release::verify::ChainTrust;
use crate::x509::{ValidationReport, validate};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The statement types read: v1, and v0.1, which older tools still write.
const STATEMENT_TYPES: &[&str] = &[STATEMENT_TYPE, "https://in-toto.io/Statement/v0.1"];

/// Why an attestation was refused; the kebab-case name is the stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttestationFailure {
    /// The key the bundle names (its hint or its certificate's) is not the pinned one.
    KeyMismatch,
    /// The signer's certificate does not validate to a `--trust` root.
    ChainInvalid,
    /// No signature of the envelope verifies with the signer's key.
    BadSignature,
    /// The envelope's payload is not an in-toto statement (`application/vnd.in-toto+json`).
    WrongPayloadType,
    /// The payload is not an in-toto Statement.
    NotAStatement,
    /// The statement's predicate type is not the one asked for (`--type`).
    WrongPredicateType,
    /// A file given is not among the statement's subjects.
    SubjectNotFound,
    /// The provenance names another builder than `--builder-id`.
    WrongBuilder,
    /// The provenance names no source dependency at `--source-uri`.
    WrongSource,
}

/// One file given, and the subject it matched.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectReport {
    /// The file.
    pub file: String,
    /// `ok`, `not-a-subject` or `unreadable`.
    pub status: &'static str,
    /// The subject's name in the statement, when one has the file's digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// The outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationReport {
    /// Whether every check passed.
    pub verified: bool,
    /// The first check that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<AttestationFailure>,
    /// What it found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The statement's predicate type, once the signature verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// The files given, each matched to a subject.
    pub subjects: Vec<SubjectReport>,
    /// The signer's chain, with `--trust`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<ValidationReport>,
}

impl AttestationFailure {
    /// Every failure, as `docs/reason-codes.md` lists them (`tests/it/docs.rs` checks the page).
    pub const ALL: &'static [AttestationFailure] = &[
        AttestationFailure::KeyMismatch,
        AttestationFailure::ChainInvalid,
        AttestationFailure::BadSignature,
        AttestationFailure::WrongPayloadType,
        AttestationFailure::NotAStatement,
        AttestationFailure::WrongPredicateType,
        AttestationFailure::SubjectNotFound,
        AttestationFailure::WrongBuilder,
        AttestationFailure::WrongSource,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            AttestationFailure::KeyMismatch => "key-mismatch",
            AttestationFailure::ChainInvalid => "chain-invalid",
            AttestationFailure::BadSignature => "bad-signature",
            AttestationFailure::WrongPayloadType => "wrong-payload-type",
            AttestationFailure::NotAStatement => "not-a-statement",
            AttestationFailure::WrongPredicateType => "wrong-predicate-type",
            AttestationFailure::SubjectNotFound => "subject-not-found",
            AttestationFailure::WrongBuilder => "wrong-builder",
            AttestationFailure::WrongSource => "wrong-source",
        }
    }
}

impl AttestationReport {
    fn refused(mut self, reason: AttestationFailure, detail: String) -> AttestationReport {
        self.reason = Some(reason);
        self.detail = Some(detail);
        self
    }
}

/// What the attestation is checked against.
pub struct AttestationCheck<'a> {
    /// The pinned `--public-key`, SubjectPublicKeyInfo DER.
    pub pinned: Option<&'a [u8]>,
    /// Roots to trust the signer's certificate to, with `--trust`.
    pub trust: Option<&'a ChainTrust>,
    /// The predicate type asked for.
    pub predicate_type: &'a str,
    /// The files that must be subjects.
    pub files: &'a [PathBuf],
    /// The builder a provenance predicate must name (`runDetails.builder.id`).
    pub builder_id: Option<&'a str>,
    /// The repository a provenance predicate must have built from (a
    /// `resolvedDependencies` entry `git+URI@...`).
    pub source_uri: Option<&'a str>,
}

/// Verifies the attestation `bundle` (the file's bytes). `Err` is unusable input: not a
/// Sigstore bundle with a DSSE envelope, malformed, or holding what keyseal cannot check.
pub fn verify_attestation(bundle: &[u8], check: &AttestationCheck<'_>) -> Result<AttestationReport, ReleaseError> {
    let input = |message: String| ReleaseError::Input(format!("the attestation: {message}"));
    let value: Value = serde_json::from_slice(bundle).map_err(|e| input(format!("not JSON: {e}")))?;
    if !crate::release::sigstore::read::is_sigstore(&value) {
        return Err(input("not a Sigstore bundle (no mediaType application/vnd.dev.sigstore.bundle...)".into()));
    }
    let material = field(&value, "verificationMaterial").map_err(input)?;
    let entries = material.get("tlogEntries").and_then(Value::as_array).map_or(0, Vec::len);
    if entries > 0 {
        return Err(input(format!(
            "it has {entries} transparency-log entries, which keyseal cannot check and does not pass over: verify it with cosign"
        )));
    }
    let envelope =
        value.get("dsseEnvelope").ok_or_else(|| input("no dsseEnvelope: it is not an attestation".into()))?;
    let payload_type = text(envelope, "payloadType").map_err(input)?;
    let payload = base64(envelope, "payload").map_err(input)?;
    let signatures = field(envelope, "signatures")
        .map_err(input)?
        .as_array()
        .ok_or_else(|| input("the envelope's signatures are not a list".into()))?
        .iter()
        .map(|signature| base64(signature, "sig"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(input)?;
    let mut report = AttestationReport {
        verified: false,
        reason: None,
        detail: None,
        predicate_type: None,
        subjects: Vec::new(),
        chain: None,
    };
    let key = match signer_key(material, check, &mut report).map_err(input)? {
        Ok(key) => key,
        Err((reason, detail)) => return Ok(report.refused(reason, detail)),
    };
    let spec = crate::crypto::spec_of_public_key(&key);
    let Some((spec, algorithm)) = spec.and_then(|spec| Some((spec, sigstore_algorithm(spec)?))) else {
        return Err(input("the signer's key is neither P-256 nor RSA-2048".into()));
    };
    let digest = Sha256::digest(pae(payload_type, &payload));
    let signed = signatures
        .iter()
        .any(|signature| keys::verify_digest(spec, algorithm, &key, &digest, signature).unwrap_or(false));
    if !signed {
        let detail = "no signature of the envelope verifies with the signer's key over its payload".to_string();
        return Ok(report.refused(AttestationFailure::BadSignature, detail));
    }
    if payload_type != PAYLOAD_TYPE {
        let detail = format!("the payload type is {:?}, not {PAYLOAD_TYPE}", crate::quote::escape_text(payload_type));
        return Ok(report.refused(AttestationFailure::WrongPayloadType, detail));
    }
    let statement: Value = match serde_json::from_slice(&payload) {
        Ok(statement) => statement,
        Err(e) => return Ok(report.refused(AttestationFailure::NotAStatement, format!("the payload is not JSON: {e}"))),
    };
    if !statement.get("_type").and_then(Value::as_str).is_some_and(|t| STATEMENT_TYPES.contains(&t)) {
        let detail = format!("the payload's _type is not {STATEMENT_TYPE}");
        return Ok(report.refused(AttestationFailure::NotAStatement, detail));
    }
    let predicate_type = statement.get("predicateType").and_then(Value::as_str).unwrap_or_default().to_string();
    report.predicate_type = Some(predicate_type.clone());
    if predicate_type != check.predicate_type {
        let detail = format!(
            "the predicate type is {:?}, not {:?} as asked",
            crate::quote::escape_text(&predicate_type),
            crate::quote::escape_text(check.predicate_type)
        );
        return Ok(report.refused(AttestationFailure::WrongPredicateType, detail));
    }
    report.subjects = match_subjects(&statement, check.files);
    if let Some(missing) = report.subjects.iter().find(|s| s.status != "ok") {
        let detail = format!("{} is not a subject of the statement ({})", missing.file, missing.status);
        return Ok(report.refused(AttestationFailure::SubjectNotFound, detail));
    }
    if let Some(refusal) = check_provenance(&statement, check) {
        return Ok(report.refused(refusal.0, refusal.1));
    }
    report.verified = true;
    Ok(report)
}

/// The builder and source claims asked for, read from a SLSA provenance predicate.
fn check_provenance(statement: &Value, check: &AttestationCheck<'_>) -> Option<(AttestationFailure, String)> {
    let predicate = statement.get("predicate");
    if let Some(wanted) = check.builder_id {
        let builder = predicate.and_then(|p| p.pointer("/runDetails/builder/id")).and_then(Value::as_str);
        if builder != Some(wanted) {
            let found = builder.map_or("none".into(), |b| format!("{:?}", crate::quote::escape_text(b)));
            return Some((
                AttestationFailure::WrongBuilder,
                format!("the provenance's builder is {found}, not {wanted:?}"),
            ));
        }
    }
    if let Some(wanted) = check.source_uri {
        let dependencies = predicate
            .and_then(|p| p.pointer("/buildDefinition/resolvedDependencies"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let git = format!("git+{wanted}");
        let built_from = dependencies
            .iter()
            .filter_map(|d| d.get("uri")?.as_str())
            .any(|uri| uri == git || uri.strip_prefix(&git).is_some_and(|rest| rest.starts_with('@')));
        if !built_from {
            return Some((AttestationFailure::WrongSource, format!("the provenance names no source at {wanted:?}")));
        }
    }
    None
}

/// The signer's key: the certificate's (validated under `--trust`, equal to `--public-key`
/// when both are given) or, for a key hint, the pinned key the hint names. The outer
/// `Err` is a malformed bundle; the inner one a refusal.
#[allow(clippy::type_complexity)]
fn signer_key(
    material: &Value,
    check: &AttestationCheck<'_>,
    report: &mut AttestationReport,
) -> Result<Result<Vec<u8>, (AttestationFailure, String)>, String> {
    let certificates = certificates(material)?;
    if certificates.is_empty() {
        let hint = text(field(material, "publicKey")?, "hint")?;
        let pinned = check.pinned.ok_or("it names its signer's key only by a hint: pin the key with --public-key")?;
        if key_hint(pinned) != hint {
            let detail = format!(
                "the envelope is signed by the key with hint {}, not the pinned one",
                crate::quote::escape_text(hint)
            );
            return Ok(Err((AttestationFailure::KeyMismatch, detail)));
        }
        return Ok(Ok(pinned.to_vec()));
    }
    if certificates.len() > crate::x509::path::MAX_UNTRUSTED_CERTIFICATES {
        return Err(format!("it carries {} certificates", certificates.len()));
    }
    let chain = certificates
        .iter()
        .map(|der| crate::x509::cert::from_der(der).map_err(|e| format!("its certificate: {}", e.message)))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf_key =
        der::Encode::to_der(chain[0].tbs_certificate().subject_public_key_info()).map_err(|e| e.to_string())?;
    if let Some(trust) = check.trust {
        let options = trust.validation_options(trust.at);
        let validation = validate(&chain[0], &chain[1..], &trust.anchors, &options);
        let refusal = (!validation.valid).then(|| validation.message.clone().unwrap_or_default());
        report.chain = Some(validation);
        if let Some(detail) = refusal {
            return Ok(Err((AttestationFailure::ChainInvalid, detail)));
        }
    } else if check.pinned.is_none() {
        return Err(
            "it names its signer by a certificate: trust it with --trust ROOT.pem, or pin the key with --public-key"
                .into(),
        );
    }
    if check.pinned.is_some_and(|pinned| pinned != leaf_key.as_slice()) {
        let detail = "the --public-key is not the key the signer's certificate certifies".to_string();
        return Ok(Err((AttestationFailure::KeyMismatch, detail)));
    }
    Ok(Ok(leaf_key))
}

/// Each file, hashed, matched to the subject with its SHA-256.
fn match_subjects(statement: &Value, files: &[PathBuf]) -> Vec<SubjectReport> {
    let subjects: Vec<(&str, &str)> = statement
        .get("subject")
        .and_then(Value::as_array)
        .map(|subjects| {
            subjects
                .iter()
                .filter_map(|s| Some((s.get("name")?.as_str()?, s.get("digest")?.get("sha256")?.as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    let sizes: Vec<u64> = files.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).collect();
    let listed: Vec<(&std::path::Path, u64)> = files.iter().map(PathBuf::as_path).zip(sizes).collect();
    let digests = hash_files(&listed, crate::release::hash::default_threads(), &|_| {});
    files
        .iter()
        .zip(digests)
        .map(|(file, digest)| {
            let file_name = crate::quote::quote_path(file);
            match digest {
                Err(e) => SubjectReport { file: format!("{file_name}: {e}"), status: "unreadable", subject: None },
                Ok(digest) => {
                    let hex = hex::encode(digest);
                    let subject =
                        subjects.iter().find(|(_, d)| d.eq_ignore_ascii_case(&hex)).map(|(n, _)| n.to_string());
                    let status = if subject.is_some() { "ok" } else { "not-a-subject" };
                    SubjectReport { file: file_name, status, subject }
                }
            }
        })
        .collect()
}
