//! `keyseal verify`: offline, with no KMS. First the manifest: its digest must be the one
//! the bundle names, and the bundle's signature over it must verify with the pinned
//! signer key. Then each given file against the manifest: ok, modified, missing, or not
//! in the manifest. A subset of the release (one downloaded binary) is checked as
//! readily as the whole tree. A directory is checked whole: anything in it the manifest
//! does not list fails (a symbolic link or a FIFO as much as a file), and a detached
//! `<file>.sig` in it is verified, not skipped.

use crate::bounded::{self, InputKind};
use crate::crypto::keys;
use crate::quote::quote_path;
use crate::release::ReleaseError;
use crate::release::bundle::{BUNDLE_FILE, Bundle, SIGNATURE_FILE, own_files};
use crate::release::hash::{default_threads, hash_files};
use crate::release::manifest::Manifest;
use crate::release::sigstore;
use crate::release::verify_formats::{self as formats, Message};
use crate::release::walk::{Skipped, manifest_name, walk};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to verify, and against whom.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Files and directories to check; a directory is checked whole (missing files count).
    /// None: the directory that holds the bundle.
    pub paths: Vec<PathBuf>,
    /// The bundle file; by default `DIR/keyseal.bundle.json` when the first path is a
    /// directory DIR, else `keyseal.bundle.json` in the current directory.
    pub bundle: Option<PathBuf>,
    /// The manifest; by default the bundle's `manifest.name` beside the bundle.
    pub manifest: Option<PathBuf>,
    /// The pinned signer public key (SubjectPublicKeyInfo PEM).
    pub public_key_pem: Option<String>,
    /// Or trust by certificate: the bundle's chain must lead to one of these anchors.
    pub trust: Option<ChainTrust>,
    /// Trust anchors for time-stamp authorities (`--tsa-trust`); empty: a bundle's time
    /// stamp is not used (and the report says so).
    pub tsa_trust: Vec<crate::x509::Cert>,
    /// CRLs for the TSA's chain (the same `--crl` lists as the signer's): a revoked TSA's
    /// tokens date nothing (RFC 3161 §4).
    pub tsa_crls: Vec<crate::x509::Crl>,
    /// The verification time, Unix seconds: a time stamp's genTime may not be after it,
    /// and the TSA's CRLs must be current then.
    pub at: i64,
    /// `--allow-unlisted`: what a directory holds that the manifest does not list is
    /// still reported, as `not-in-manifest` with `allowed`, and does not fail.
    pub allow_unlisted: bool,
    /// The namespace SSH signatures (`SHA256SUMS.sshsig`, `<file>.sshsig`) must be made in.
    pub ssh_namespace: String,
    /// Formats whose signature of the manifest must be beside it (`--format`).
    pub required_formats: Vec<crate::release::formats::SignatureFormat>,
}

/// Trusting the signer through its certificate chain.
#[derive(Debug, Clone)]
pub struct ChainTrust {
    /// Trust anchors (root certificates).
    pub anchors: Vec<crate::x509::Cert>,
    /// CRLs to check revocation with.
    pub crls: Vec<crate::x509::Crl>,
    /// What the signer's certificate must be good for (code signing, normally).
    pub purpose: crate::x509::Purpose,
    /// The verification time, Unix seconds.
    pub at: i64,
    /// The certificate-policy inputs of RFC 5280 §6.1.1.
    pub policy: crate::x509::policy::PolicyInputs,
    /// `--rfc5280-eku`: RFC 5280's leniency on a code-signing leaf's extendedKeyUsage (see
    /// `x509::ValidationOptions::rfc5280_eku`).
    pub rfc5280_eku: bool,
}

impl ChainTrust {
    /// How a signer's chain from a bundle is validated at `at`: for this purpose, with these
    /// CRLs and policy inputs, its intermediates taken from the bundle.
    pub fn validation_options(&self, at: i64) -> crate::x509::ValidationOptions {
        let mut options = crate::x509::ValidationOptions::new(at, self.purpose);
        options.crls = self.crls.clone();
        options.intermediates_from = crate::x509::path::FROM_BUNDLE;
        options.policy = self.policy.clone();
        options.rfc5280_eku = self.rfc5280_eku;
        options
    }
}

/// The outcome for the manifest signature; the kebab-case name is the stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureStatus {
    /// The manifest is the signed one and the signature verifies with the pinned key.
    Ok,
    /// The manifest's digest is not the one the bundle names.
    ManifestModified,
    /// The signature does not verify with the pinned key.
    BadSignature,
    /// The bundle names another signer key than the pinned one (or than its certificate's).
    KeyMismatch,
    /// The bundle's certificate chain does not validate to a trust anchor.
    ChainInvalid,
    /// Trust by certificate was asked for, and the bundle carries no certificate.
    NoCertificate,
    /// `--tsa-trust` was given and the bundle's time stamp does not verify: the reason is
    /// the token's (`bad-tsa-signature`, `bad-imprint`, `tsa-chain-invalid`, ...).
    TimestampInvalid,
}

/// What became of the bundle's time stamp; the kebab-case name is the stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimestampStatus {
    /// It verifies under `--tsa-trust`: the chain was checked at its genTime.
    Ok,
    /// It does not verify (see `signature: timestamp-invalid`).
    Invalid,
    /// The bundle has one, and no `--tsa-trust` was given: not used.
    Ignored,
    /// `--tsa-trust` was given, and the bundle has none.
    Absent,
}

/// The bundle's time stamp, as checked.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampReport {
    /// The outcome.
    pub status: TimestampStatus,
    /// What it means, in words.
    pub detail: String,
    /// The token's checks, when it was verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<crate::tsa::verify::TokenReport>,
}

/// The outcome for one file; the kebab-case name is the stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    /// The file's digest is the manifest's.
    Ok,
    /// The digest differs.
    Modified,
    /// Listed in the manifest, not found.
    Missing,
    /// Found, not listed in the manifest.
    NotInManifest,
    /// Could not be read.
    Unreadable,
    /// A detached `<file>.sig` that does not verify over `<file>`'s listed digest with the
    /// signer's key.
    BadSignature,
}

/// One file's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// Its manifest name (or the path given, when it has none).
    pub name: String,
    /// The outcome.
    pub status: FileStatus,
    /// What exactly, for anything but ok (and, for a detached signature, what it signs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Set on a `not-in-manifest` entry found in a directory when `--allow-unlisted` was
    /// given: reported, and not a failure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
}

/// The whole result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Whether every check passed.
    pub verified: bool,
    /// The manifest signature check.
    pub signature: SignatureStatus,
    /// What is wrong with it, when it is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_detail: Option<String>,
    /// The KeyId the bundle names: a claim of the bundle, not verified (the signature is
    /// checked with the pinned key or the certificate's, whatever the bundle calls it).
    pub key_id: String,
    /// The key version the bundle names: a claim, not verified.
    pub key_version_id: String,
    /// The algorithm the signature was checked with.
    pub algorithm: String,
    /// The signing time the bundle claims (the signer's clock): not verified, not a
    /// trusted timestamp (see `timestamp`).
    pub signed_at: String,
    /// The certificate chain validation, when trust was by certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<crate::x509::ValidationReport>,
    /// The bundle's time stamp, when it has one or `--tsa-trust` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimestampReport>,
    /// Whether the chain's revocation was checked, when trust was by certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RevocationStatus>,
    /// Per file, in name order; empty when the signature failed (files are not checked
    /// against a manifest that cannot be trusted).
    pub files: Vec<FileReport>,
    /// The detached `<file>.sig` signatures found in a directory beside a listed file,
    /// each verified (`ok`, `bad-signature`, `unreadable`); absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detached_signatures: Vec<FileReport>,
    /// keyseal's own outputs found under a directory and left out.
    pub skipped: Vec<Skipped>,
    /// Set when a directory checked looks like another release than the bundle's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_release: Option<OtherRelease>,
}

/// The counts that make a directory look like another release than the bundle's: most of
/// the manifest is not here as listed, and most of what is here is not in the manifest as
/// found. A partial download (all it has is listed) or a tampered file or two does not
/// qualify; checking v1.3's files against v1.2's bundle does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherRelease {
    /// Entries in the manifest.
    pub listed: usize,
    /// Files here whose content is the listed one.
    pub matching: usize,
    /// Entries not found here.
    pub missing: usize,
    /// Files here not in the manifest, or with other content.
    pub different: usize,
}

impl OtherRelease {
    /// The counts, when they say "another release".
    fn judge(listed: usize, files: &[FileReport]) -> Option<OtherRelease> {
        let count = |statuses: &[FileStatus]| files.iter().filter(|f| statuses.contains(&f.status)).count();
        let matching = count(&[FileStatus::Ok]);
        let missing = count(&[FileStatus::Missing]);
        let different = count(&[FileStatus::NotInManifest, FileStatus::Modified]);
        let here = files.len() - missing;
        // Fewer than half of the listed files match (so the manifest lists at least one),
        // and more than half of what is here differs.
        (matching * 2 < listed && different * 2 > here).then_some(OtherRelease { listed, matching, missing, different })
    }
}

/// Whether revocation was checked for the signer's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationStatus {
    /// Every certificate below the trust anchor was checked against a current CRL of its issuer.
    Checked,
    /// At least one was not: no --crl was given, or none of its issuer.
    NotChecked,
}

/// Where a verification without `--bundle` looks for the bundle, in order: in the first
/// PATH when it is a directory; beside it when it is a file (a download saved next to its
/// release's bundle), then in the current directory; with no PATH, in the current
/// directory.
pub fn bundle_candidates(paths: &[PathBuf]) -> Vec<PathBuf> {
    let here = PathBuf::from(BUNDLE_FILE);
    match paths.first() {
        Some(dir) if dir.is_dir() => vec![dir.join(BUNDLE_FILE)],
        // A file in the current directory (`app`, `./app`) has one place to look.
        Some(file) => {
            match file.parent().filter(|parent| !parent.as_os_str().is_empty() && *parent != Path::new(".")) {
                Some(parent) => vec![parent.join(BUNDLE_FILE), here],
                None => vec![here],
            }
        }
        None => vec![here],
    }
}

/// The bundle a verification reads: `--bundle`, else the first of [`bundle_candidates`]
/// that exists; an error naming every place looked when none does.
fn find_bundle(options: &VerifyOptions) -> Result<PathBuf, ReleaseError> {
    if let Some(bundle) = &options.bundle {
        return Ok(bundle.clone());
    }
    let candidates = bundle_candidates(&options.paths);
    if let Some(found) = candidates.iter().find(|path| std::fs::symlink_metadata(path).is_ok()) {
        return Ok(found.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|path| quote_path(path)).collect();
    Err(ReleaseError::Input(format!(
        "no {BUNDLE_FILE} found (looked for {}); give the release's bundle with --bundle FILE",
        looked.join(" and ")
    )))
}

fn input_error(error: bounded::ReadError) -> ReleaseError {
    ReleaseError::Input(error.to_string())
}

/// Verifies; `Err` only for unusable input (exit 2), a failed check is a report with
/// `verified: false` (exit 1).
pub fn verify_release(options: &VerifyOptions) -> Result<VerifyReport, ReleaseError> {
    let bundle_path = find_bundle(options)?;
    let pinned = match &options.public_key_pem {
        Some(pem) => Some(keys::public_key_from_pem(pem).ok_or_else(|| {
            ReleaseError::Input("the --public-key file is not a PUBLIC KEY PEM (SubjectPublicKeyInfo)".into())
        })?),
        None => None,
    };
    let bundle = read_bundle(
        &bounded::read(&bundle_path, InputKind::Bundle).map_err(input_error)?,
        &bundle_path,
        pinned.as_deref(),
    )
    .map_err(|e| ReleaseError::Input(format!("{}: {e}", quote_path(&bundle_path))))?;
    let bundle_dir = match bundle_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let manifest_path = options.manifest.clone().unwrap_or_else(|| bundle_dir.join(&bundle.manifest.name));
    let manifest_bytes = bounded::read(&manifest_path, InputKind::Manifest).map_err(input_error)?;
    let mut report = VerifyReport {
        verified: false,
        signature: SignatureStatus::Ok,
        signature_detail: None,
        key_id: bundle.signature.key_id.clone(),
        key_version_id: bundle.signature.key_version_id.clone(),
        algorithm: bundle.signature.algorithm.to_string(),
        signed_at: bundle.signature.signed_at.clone(),
        chain: None,
        timestamp: None,
        revocation: None,
        files: Vec::new(),
        detached_signatures: Vec::new(),
        skipped: Vec::new(),
        other_release: None,
    };
    let (timestamp, stamped) = check_timestamp(&bundle, options);
    report.timestamp = timestamp;
    let stamped = match stamped {
        Ok(stamped) => stamped,
        Err(refusal) => return Ok(refusal.into_report(report)),
    };
    let signer_key = match &options.trust {
        Some(trust) => {
            let found = signer_by_certificate(&bundle, trust, stamped)?;
            report.chain = found.chain;
            report.revocation = found.revocation;
            match found.key {
                Ok(key) => key,
                Err(refusal) => return Ok(refusal.into_report(report)),
            }
        }
        None => pinned.clone().ok_or_else(|| {
            ReleaseError::Input("pin the signer with --public-key, or trust it by certificate with --trust".into())
        })?,
    };
    if pinned.as_ref().is_some_and(|pinned| *pinned != signer_key) {
        let refusal = Refusal::new(
            SignatureStatus::KeyMismatch,
            "the --public-key is not the key the signer's certificate certifies",
        );
        return Ok(refusal.into_report(report));
    }
    let spec = crate::crypto::spec_of_public_key(&signer_key)
        .ok_or_else(|| ReleaseError::Input("the signer's key is neither RSA, P-256 nor secp256k1".into()))?;

    // SHA256SUMS.sig is what openssl users check; it must be the signature the bundle holds.
    // Only a file that does not exist counts as absent; one that cannot be read is an error.
    let detached = match bounded::read(&manifest_path.with_file_name(SIGNATURE_FILE), InputKind::Signature) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(input_error(e)),
    };
    let (signature, signature_detail) =
        check_signature(&bundle, &manifest_bytes, detached.as_deref(), &signer_key, spec);
    report.signature = signature;
    report.signature_detail = signature_detail;
    if signature != SignatureStatus::Ok {
        return Ok(report);
    }
    let manifest = Manifest::parse(&manifest_bytes)
        .map_err(|e| ReleaseError::Input(format!("{}: {e}", quote_path(&manifest_path))))?;
    let paths = if options.paths.is_empty() { vec![bundle_dir.clone()] } else { options.paths.clone() };
    // keyseal's own files are never entries (`sign` leaves them out, wherever they are).
    let mut outputs = vec![bundle_path.clone(), manifest_path.clone(), manifest_path.with_file_name(SIGNATURE_FILE)];
    for dir in std::iter::once(&bundle_dir).chain(paths.iter().filter(|path| path.is_dir())) {
        outputs.extend(own_files(dir));
    }
    let signer = SignerKey {
        key: formats::Key { spki: &signer_key, spec, ssh_namespace: &options.ssh_namespace },
        algorithm: bundle.signature.algorithm,
    };
    let checked = check_files(&manifest, &paths, &outputs, &signer, options.allow_unlisted)?;
    let files = checked.files;
    let mut detached_signatures =
        formats::check_beside_manifest(&manifest_path, &manifest_bytes, &signer.key, &options.required_formats);
    detached_signatures.extend(checked.detached_signatures);
    report.verified = files.iter().all(|f| f.status == FileStatus::Ok || f.allowed)
        && files.iter().any(|f| f.status == FileStatus::Ok)
        && detached_signatures.iter().all(|f| f.status == FileStatus::Ok);
    if paths.iter().any(|path| path.is_dir()) {
        report.other_release = OtherRelease::judge(manifest.entries.len(), &files);
    }
    report.files = files;
    report.detached_signatures = detached_signatures;
    report.skipped = checked.skipped;
    Ok(report)
}

/// keyseal's bundle, or a Sigstore bundle read as one (`--bundle X.sigstore.json`).
fn read_bundle(bytes: &[u8], path: &Path, pinned: Option<&[u8]>) -> Result<Bundle, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("the bundle is not JSON: {e}"))?;
    if sigstore::read::is_sigstore(&value) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        return sigstore::read::to_bundle(&value, &name, pinned);
    }
    Bundle::parse(bytes)
}

/// The bundle's time stamp under `--tsa-trust`, as the report shows it (none when there is
/// none and no `--tsa-trust`), and what it decides: `Ok(Some(_))` with its genTime when it
/// verifies (over the SHA-256 of the signature, its TSA's chain valid at genTime for time
/// stamping and not revoked by the CRLs given), `Ok(None)` when there is none or no
/// `--tsa-trust` (shown as absent or ignored), and a `timestamp-invalid` refusal when it
/// does not verify, failing closed: a token offered and refused never falls back to
/// checking the chain now.
fn check_timestamp(
    bundle: &Bundle,
    options: &VerifyOptions,
) -> (Option<TimestampReport>, Result<Option<Stamped>, Refusal>) {
    let tsa_trust = &options.tsa_trust;
    let record = |status, detail: String, token| Some(TimestampReport { status, detail, token });
    let stamp = match (&bundle.timestamp, tsa_trust.is_empty()) {
        (None, true) => return (None, Ok(None)),
        (None, false) => {
            let detail =
                "the bundle has no time stamp: the certificate chain is checked at the verification time".into();
            return (record(TimestampStatus::Absent, detail, None), Ok(None));
        }
        (Some(stamp), true) => {
            let detail = format!(
                "the bundle has a time stamp from {}, not used: pass --tsa-trust TSA-ROOT.pem to check the chain at its time",
                crate::quote::escape_text(&stamp.tsa)
            );
            return (record(TimestampStatus::Ignored, detail, None), Ok(None));
        }
        (Some(stamp), false) => stamp,
    };
    let imprint = crate::tsa::verify::Expected::Digest(Sha256::digest(&bundle.signature.value).to_vec());
    let trust = crate::tsa::verify::TsaTrust {
        anchors: tsa_trust,
        intermediates: &[],
        crls: &options.tsa_crls,
        now: options.at,
    };
    let (reason, message, token) = match crate::tsa::verify::verify_reply(&stamp.token, &imprint, &trust) {
        Ok(token) if token.valid => {
            if let (Some(gen_time), Some(latest)) = (token.gen_time_unix, token.latest) {
                let detail = format!(
                    "time-stamped at {} by {}; the certificate chain is checked at that time",
                    token.gen_time.as_deref().unwrap_or(""),
                    crate::quote::escape_text(token.tsa.as_deref().unwrap_or("?"))
                );
                return (record(TimestampStatus::Ok, detail, Some(token)), Ok(Some(Stamped { gen_time, latest })));
            }
            ("malformed-token".to_string(), "the token's genTime cannot be read".to_string(), Some(token))
        }
        Ok(token) => (
            token.reason.map(|r| r.code().to_string()).unwrap_or_default(),
            token.message.clone().unwrap_or_default(),
            Some(token),
        ),
        Err(err) => (err.code.to_string(), err.message, None),
    };
    let refusal = Refusal::new(
        SignatureStatus::TimestampInvalid,
        format!("[{reason}] the bundle's time stamp does not verify: {message}"),
    );
    (record(TimestampStatus::Invalid, format!("[{reason}] {message}"), token), Err(refusal))
}

/// Why the signature is not trusted, as the report says it.
struct Refusal {
    status: SignatureStatus,
    detail: Option<String>,
}

impl Refusal {
    fn new(status: SignatureStatus, detail: impl Into<String>) -> Refusal {
        Refusal { status, detail: Some(detail.into()) }
    }

    /// `report`, with this refusal as its signature's verdict (files are not checked
    /// against a manifest that cannot be trusted).
    fn into_report(self, report: VerifyReport) -> VerifyReport {
        VerifyReport { signature: self.status, signature_detail: self.detail, ..report }
    }
}

/// The signer's certificate chain, as validated: the chain's report and revocation, and
/// the leaf's key or why it is not trusted.
struct SignerFound {
    chain: Option<crate::x509::ValidationReport>,
    revocation: Option<RevocationStatus>,
    key: Result<Vec<u8>, Refusal>,
}

impl SignerFound {
    fn refused(chain: Option<crate::x509::ValidationReport>, refusal: Refusal) -> SignerFound {
        SignerFound { chain, revocation: None, key: Err(refusal) }
    }
}

/// What a verified time stamp says: genTime, and genTime plus its accuracy.
#[derive(Debug, Clone, Copy)]
struct Stamped {
    gen_time: i64,
    latest: i64,
}

/// Validates the bundle's certificate chain: its report, and the leaf's key or why not,
/// at a verified time stamp's genTime, when there is one (revocation then by
/// CRLs current at the verification time, see `x509::crl::Clock`), else at the
/// verification time. A chain that fails only because a certificate expired after the
/// claimed signing time is reported as such: without a trusted time stamp the expiry still
/// counts. A chain that does not parse makes the bundle unusable input.
fn signer_by_certificate(
    bundle: &Bundle,
    trust: &ChainTrust,
    stamped: Option<Stamped>,
) -> Result<SignerFound, ReleaseError> {
    use crate::x509::cert::{AttributeBudget, count_certificates, load_pem_chain_within};
    use crate::x509::validate;
    let mut options = trust.validation_options(stamped.map_or(trust.at, |s| s.gen_time));
    let given: usize = bundle.signer.certificate_chain.iter().map(|pem| count_certificates(pem.as_bytes())).sum();
    if given > crate::x509::path::MAX_UNTRUSTED_CERTIFICATES + 1 {
        // Counted before any is decoded; the leaf is not one of the untrusted pile.
        let refusal = crate::x509::path::too_many_certificates(given - 1, &options);
        let why = Refusal { status: SignatureStatus::ChainInvalid, detail: refusal.message.clone() };
        return Ok(SignerFound::refused(Some(refusal), why));
    }
    let (mut chain, mut budget) = (Vec::new(), AttributeBudget::default());
    for pem in &bundle.signer.certificate_chain {
        let mut certs = load_pem_chain_within(pem.as_bytes(), &mut budget).map_err(|mut e| {
            e.message = format!("the bundle's certificate chain is unreadable: {}", e.message);
            ReleaseError::Certificate(e)
        })?;
        chain.append(&mut certs);
    }
    let Some(leaf) = chain.first() else {
        let why = Refusal::new(
            SignatureStatus::NoCertificate,
            "the bundle carries no certificate chain; verify it with --public-key instead",
        );
        return Ok(SignerFound::refused(None, why));
    };
    options.time_stamped = stamped.map(|s| crate::x509::path::TimeStamped { now: trust.at, latest: s.latest });
    let validation = validate(leaf, &chain[1..], &trust.anchors, &options);
    let leaf_key = der::Encode::to_der(leaf.tbs_certificate().subject_public_key_info()).unwrap_or_default();
    if !validation.valid {
        let mut detail = validation.message.clone().unwrap_or_default();
        let signed_at = crate::clock::parse_time(&bundle.signature.signed_at).ok();
        if validation.reason == Some(crate::x509::Reason::Expired)
            && stamped.is_none()
            && let Some(signed_at) = signed_at
        {
            options.at = signed_at;
            if validate(leaf, &chain[1..], &trust.anchors, &options).valid {
                let remedy = if bundle.timestamp.is_some() {
                    "the bundle's time stamp is not used without --tsa-trust TSA-ROOT.pem"
                } else {
                    "the signature has no trusted timestamp (sign with --tsa URL)"
                };
                detail.push_str(&format!(
                    "; the chain was valid at the claimed signing time {}, but {remedy}, so the expiry counts",
                    bundle.signature.signed_at
                ));
            }
        }
        return Ok(SignerFound::refused(Some(validation), Refusal::new(SignatureStatus::ChainInvalid, detail)));
    }
    let unchecked = validation.checks.iter().any(|c| c.check == "revocation" && c.result != "ok");
    let revocation = Some(if unchecked { RevocationStatus::NotChecked } else { RevocationStatus::Checked });
    let key = if keys::public_key_from_pem(&bundle.signer.public_key).as_deref() == Some(leaf_key.as_slice()) {
        Ok(leaf_key)
    } else {
        Err(Refusal::new(
            SignatureStatus::KeyMismatch,
            "the bundle's public key is not the key its certificate certifies",
        ))
    };
    Ok(SignerFound { chain: Some(validation), revocation, key })
}

fn check_signature(
    bundle: &Bundle,
    manifest_bytes: &[u8],
    detached: Option<&[u8]>,
    pinned: &[u8],
    spec: crate::kms::KeySpec,
) -> (SignatureStatus, Option<String>) {
    let digest = Sha256::digest(manifest_bytes);
    if hex::encode(digest) != bundle.manifest.sha256.to_ascii_lowercase() {
        return (
            SignatureStatus::ManifestModified,
            Some("the manifest's SHA-256 is not the one the bundle names: it was edited or replaced".into()),
        );
    }
    if keys::public_key_from_pem(&bundle.signer.public_key).as_deref() != Some(pinned) {
        return (
            SignatureStatus::KeyMismatch,
            Some(format!(
                "the bundle was signed by key version {} whose public key is not the trusted signer key",
                bundle.signature.key_version_id
            )),
        );
    }
    if detached.is_some_and(|bytes| bytes != bundle.signature.value.as_slice()) {
        return (
            SignatureStatus::BadSignature,
            Some(format!("{SIGNATURE_FILE} beside the manifest is not the signature the bundle holds")),
        );
    }
    match keys::verify_digest(spec, bundle.signature.algorithm, pinned, &digest, &bundle.signature.value) {
        Ok(true) => (SignatureStatus::Ok, None),
        Ok(false) => (
            SignatureStatus::BadSignature,
            Some("the signature over the manifest does not verify with the pinned public key".into()),
        ),
        Err(e) => (SignatureStatus::BadSignature, Some(format!("the signature cannot be checked: {e}"))),
    }
}

/// The signer's key, to check detached `<file>.sig` signatures with.
struct SignerKey<'a> {
    /// The key, as the other formats' checks take it too.
    key: formats::Key<'a>,
    algorithm: crate::crypto::spec::Algorithm,
}

/// What `check_files` found: the files, the detached signatures, what was left out.
struct Checked {
    files: Vec<FileReport>,
    detached_signatures: Vec<FileReport>,
    skipped: Vec<Skipped>,
}

/// Matches the given paths to manifest names, hashes what matched, and reports per file.
/// In a directory, everything found that the manifest does not list is reported
/// `not-in-manifest` — a regular file, a symbolic link of any kind, a FIFO, device or
/// socket — and `allowed` when `allow_unlisted`; a `<file>.sig` beside a listed `<file>`
/// is checked as its detached signature instead. Only keyseal's own outputs are skipped.
fn check_files(
    manifest: &Manifest,
    paths: &[PathBuf],
    outputs: &[PathBuf],
    signer: &SignerKey<'_>,
    allow_unlisted: bool,
) -> Result<Checked, ReleaseError> {
    let mut reports: BTreeMap<String, FileReport> = BTreeMap::new();
    let mut to_hash: Vec<(String, PathBuf, u64)> = Vec::new();
    let mut skipped = Vec::new();
    let mut detached_signatures = Vec::new();
    let mut unlisted_in_tree = std::collections::BTreeSet::new();
    let mut whole_tree = false;
    for path in paths {
        if path.is_dir() {
            whole_tree = true;
            let mut walked = walk(std::slice::from_ref(path), outputs);
            if !walked.errors.is_empty() {
                return Err(ReleaseError::Files(walked.errors));
            }
            for item in walked.unnamable.drain(..) {
                let name = item.name.clone().unwrap_or_else(|| item.path.to_string_lossy().into_owned());
                let detail = format!("{}: {}; it cannot be in a manifest", quote_path(&item.path), item.reason);
                unlisted_in_tree.insert(name.clone());
                reports.insert(name.clone(), report(&name, FileStatus::NotInManifest, Some(detail)));
            }
            detached_signatures.extend(check_detached_signatures(manifest, &mut walked, signer));
            for item in walked.skipped.drain(..) {
                let Some(name) = item.name.clone() else {
                    skipped.push(item);
                    continue;
                };
                let what = describe_not_taken(&item);
                if manifest.entries.contains_key(&name) {
                    let detail = format!("{what}; not read");
                    reports.insert(name.clone(), report(&name, FileStatus::Unreadable, Some(detail)));
                } else {
                    let detail = format!("{what}; it is not in the manifest");
                    unlisted_in_tree.insert(name.clone());
                    reports.insert(name.clone(), report(&name, FileStatus::NotInManifest, Some(detail)));
                }
            }
            for (name, entry) in walked.entries {
                if !manifest.entries.contains_key(&name) {
                    unlisted_in_tree.insert(name.clone());
                }
                to_hash.push((name, entry.path, entry.size));
            }
        } else if let Err(e) = std::fs::symlink_metadata(path)
            && e.kind() == std::io::ErrorKind::NotFound
        {
            // A typo'd name is no file at all, whatever the manifest lists.
            let name = name_in_manifest(manifest, path).unwrap_or_else(|_| path.to_string_lossy().into_owned());
            reports.insert(
                name.clone(),
                report(&name, FileStatus::Missing, Some(format!("{}: no such file", quote_path(path)))),
            );
        } else {
            match name_in_manifest(manifest, path) {
                Ok(name) => match std::fs::metadata(path) {
                    Ok(meta) if meta.is_file() => to_hash.push((name, path.clone(), meta.len())),
                    Ok(meta) => {
                        let what = bounded::describe_type(&meta);
                        let detail = format!("{}: not a regular file ({what}); not read", quote_path(path));
                        reports.insert(name.clone(), report(&name, FileStatus::Unreadable, Some(detail)));
                    }
                    Err(e) => {
                        reports.insert(
                            name.clone(),
                            report(&name, FileStatus::Missing, Some(format!("{}: {e}", quote_path(path)))),
                        );
                    }
                },
                Err(why) => {
                    let name = path.to_string_lossy().into_owned();
                    reports.insert(name.clone(), report(&name, FileStatus::NotInManifest, Some(why)));
                }
            }
        }
    }
    let files: Vec<(&Path, u64)> = to_hash.iter().map(|(_, path, size)| (path.as_path(), *size)).collect();
    let digests = hash_files(&files, default_threads(), &|_| {});
    for ((name, path, _), digest) in to_hash.iter().zip(digests) {
        let file_report = match (manifest.entries.get(name), digest) {
            (None, _) => report(
                name,
                FileStatus::NotInManifest,
                Some(format!("{} is not listed in the manifest", quote_path(path))),
            ),
            (Some(_), Err(e)) => report(name, FileStatus::Unreadable, Some(format!("{}: {e}", quote_path(path)))),
            (Some(expected), Ok(actual)) if *expected == actual => report(name, FileStatus::Ok, None),
            (Some(expected), Ok(actual)) => report(
                name,
                FileStatus::Modified,
                Some(format!(
                    "{}: SHA-256 {} where the manifest says {}",
                    quote_path(path),
                    hex::encode(actual),
                    hex::encode(expected)
                )),
            ),
        };
        reports.insert(name.clone(), file_report);
    }
    if whole_tree {
        for name in manifest.entries.keys().filter(|name| !reports.contains_key(*name)).cloned().collect::<Vec<_>>() {
            reports.insert(
                name.clone(),
                report(&name, FileStatus::Missing, Some("listed in the manifest, not found".into())),
            );
        }
    }
    if allow_unlisted {
        for name in &unlisted_in_tree {
            if let Some(file) = reports.get_mut(name).filter(|f| f.status == FileStatus::NotInManifest) {
                file.allowed = true;
            }
        }
    }
    Ok(Checked { files: reports.into_values().collect(), detached_signatures, skipped })
}

/// What was found and not taken, for the report: the path, for a symbolic link what it
/// points to as stored in the link (read, never followed), and why.
fn describe_not_taken(item: &Skipped) -> String {
    // read_link reads only a symbolic link: anything else is an error, and shown plain.
    match std::fs::read_link(&item.path) {
        Ok(target) => format!("{} -> {}: {}", quote_path(&item.path), quote_path(&target), item.reason),
        Err(_) => format!("{}: {}", quote_path(&item.path), item.reason),
    }
}

pub(crate) fn report(name: &str, status: FileStatus, detail: Option<String>) -> FileReport {
    FileReport { name: name.to_string(), status, detail, allowed: false }
}

/// The manifest name of a single file given on the command line: the path as given when
/// the manifest has it, else the one entry with the same file name.
fn name_in_manifest(manifest: &Manifest, path: &Path) -> Result<String, String> {
    if let Ok(name) = manifest_name(path)
        && manifest.entries.contains_key(&name)
    {
        return Ok(name);
    }
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{} has no usable file name", quote_path(path)))?;
    let candidates: Vec<&String> =
        manifest.entries.keys().filter(|name| name.rsplit('/').next() == Some(file_name)).collect();
    match candidates.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("{} is not listed in the manifest", quote_path(path))),
        many => Err(format!(
            "{} matches several manifest entries ({}); give its path relative to the release root",
            quote_path(path),
            many.iter().map(|s| crate::quote::quote_name(s)).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// `<file>.sig` beside a listed `<file>`, itself not listed, is the detached signature
/// `keyseal sign --detached` writes: taken out of the files and checked over the manifest's
/// SHA-256 of `<file>` with the signer's key and the bundle's algorithm (the file itself is
/// checked against that digest as a file). `<file>.sigstore.json` is the same signature as
/// a Sigstore bundle, checked the same way once read (its digest must be the manifest's).
/// One that cannot be read or does not verify fails.
fn check_detached_signatures(
    manifest: &Manifest,
    walked: &mut crate::release::walk::Walk,
    signer: &SignerKey<'_>,
) -> Vec<FileReport> {
    let detached: Vec<(String, String)> = walked
        .entries
        .keys()
        .filter(|name| !manifest.entries.contains_key(*name))
        .filter_map(|name| {
            let artifact =
                name.strip_suffix(".sig").or_else(|| name.strip_suffix(sigstore::DETACHED_SUFFIX)).or_else(|| {
                    crate::release::formats::SignatureFormat::of_signature(name).map(|(_, artifact)| artifact)
                })?;
            manifest.entries.contains_key(artifact).then(|| (name.clone(), artifact.to_string()))
        })
        .collect();
    let mut reports = Vec::new();
    for (name, artifact) in detached {
        let Some(entry) = walked.entries.remove(&name) else { continue };
        let Some(digest) = manifest.entries.get(&artifact) else { continue };
        let of = format!("detached signature of {}", crate::quote::quote_name(&artifact));
        let file = walked.entries.get(&artifact).map(|entry| entry.path.as_path());
        if let Some(checked) = formats::check(&entry.path, &name, &of, Message::File(file), digest, &signer.key) {
            reports.push(checked);
            continue;
        }
        let read = if name.ends_with(sigstore::DETACHED_SUFFIX) {
            bounded::read(&entry.path, InputKind::Bundle)
                .map_err(|e| e.to_string())
                .and_then(|bytes| detached_sigstore_signature(&bytes, digest, signer))
        } else {
            bounded::read(&entry.path, InputKind::Signature).map_err(|e| e.to_string())
        };
        let file_report = match read {
            Err(e) => report(&name, FileStatus::Unreadable, Some(format!("{of}: {e}"))),
            Ok(bytes) => {
                match keys::verify_digest(signer.key.spec, signer.algorithm, signer.key.spki, digest, &bytes) {
                    Ok(true) => report(&name, FileStatus::Ok, Some(format!("{of}, verified with the signer's key"))),
                    Ok(false) => report(
                        &name,
                        FileStatus::BadSignature,
                        Some(format!("{of}: it does not verify over the file's listed SHA-256 with the signer's key")),
                    ),
                    Err(e) => report(&name, FileStatus::BadSignature, Some(format!("{of}: it cannot be checked: {e}"))),
                }
            }
        };
        reports.push(file_report);
    }
    reports
}

/// The signature a per-file Sigstore bundle holds, once it is shown to be over `digest` and
/// by the signer's key (a bundle naming another key or digest is unreadable as this file's
/// signature, and so fails).
fn detached_sigstore_signature(bytes: &[u8], digest: &[u8; 32], signer: &SignerKey<'_>) -> Result<Vec<u8>, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    // Its own file name does not matter here: what it signs is `name`'s listed digest.
    let bundle = sigstore::read::to_bundle(&value, "file.sigstore.json", Some(signer.key.spki))?;
    if bundle.manifest.sha256 != hex::encode(digest) {
        return Err("its message digest is not the file's listed SHA-256".into());
    }
    if keys::public_key_from_pem(&bundle.signer.public_key).as_deref() != Some(signer.key.spki) {
        return Err("it names another key than the signer's".into());
    }
    Ok(bundle.signature.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory with `ok` matching files, `missing` listed ones absent and `other` files
    /// not listed, judged against a manifest of `listed` entries.
    fn judged(listed: usize, ok: usize, missing: usize, other: usize) -> Option<OtherRelease> {
        let mut files = Vec::new();
        files.extend((0..ok).map(|i| report(&format!("ok{i}"), FileStatus::Ok, None)));
        files.extend((0..missing).map(|i| report(&format!("gone{i}"), FileStatus::Missing, None)));
        files.extend((0..other).map(|i| report(&format!("new{i}"), FileStatus::NotInManifest, None)));
        OtherRelease::judge(listed, &files)
    }

    /// A file's bundle is looked for beside it, then here; a file here has one place.
    #[test]
    fn a_files_bundle_is_looked_for_beside_it_then_here() {
        let candidates = |path: &str| bundle_candidates(&[PathBuf::from(path)]);
        let here = PathBuf::from(BUNDLE_FILE);
        assert_eq!(candidates("dist/app"), [PathBuf::from("dist").join(BUNDLE_FILE), here.clone()]);
        for alone in ["app", "./app"] {
            assert_eq!(candidates(alone), std::slice::from_ref(&here), "{alone}");
        }
        assert_eq!(bundle_candidates(&[]), [here]);
    }

    /// "Another release": fewer than half of the listed files match, and more than half of
    /// the files here differ; each half on its boundary does not qualify.
    #[test]
    fn another_release_is_judged_at_the_halves() {
        assert!(judged(2, 0, 2, 2).is_some(), "nothing listed is here, all that is here is new");
        assert!(judged(4, 2, 2, 10).is_none(), "half of the listed files match: not another release");
        assert!(judged(3, 2, 1, 10).is_none(), "two of three listed match");
        assert!(judged(3, 1, 2, 4).is_some());
        assert!(judged(3, 1, 2, 1).is_none(), "half of what is here differs: a partial download");
        assert!(judged(0, 0, 0, 5).is_none(), "an empty manifest matches nothing to judge");
        let counts = judged(2, 0, 2, 2).unwrap();
        assert_eq!((counts.listed, counts.matching, counts.missing, counts.different), (2, 0, 2, 2));
    }
}
