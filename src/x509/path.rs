//! RFC 5280 certification path validation (§6.1) for keyseal's profile: build a path
//! from a leaf through the given intermediates (any order, duplicates and strays allowed)
//! to a trust anchor, trying every issuer candidate (name, and key identifier when both
//! sides have one), then check each certificate on the path. The verification time is a
//! parameter, never read from the clock here. Across alternative paths the most specific
//! failure is reported.
//!
//! [`check_path`] walks one candidate path from the trust anchor down, as §6.1 does:
//!
//! | §6.1 step | where |
//! |---|---|
//! | 6.1.2 initialisation (anchor, pathLen, name constraints, policy state) | `check_path`, `check_anchor` |
//! | 6.1.3 (a)(1) signature | `Search::signed_by` (while building), reported by `check_path` |
//! | 6.1.3 (a)(2) validity | `check_validity` |
//! | 6.1.3 (a)(3) revocation (§6.3) | `check_revocation`, crl/ |
//! | 6.1.3 (a)(4) name chaining | `check_path` (indexed name keys) |
//! | 6.1.3 (b), (c) name constraints | `check_names` |
//! | 6.1.3 (d)–(f), 6.1.4 (a), (b), (h)–(j), 6.1.5 (a), (b), (g) policies | `check_policies`, policy.rs |
//! | 6.1.4 (g) name constraints of a CA | `add_constraints` |
//! | 6.1.4 (k)–(n) basicConstraints, pathLen, keyUsage | `check_ca` |
//! | 6.1.4 (o), 6.1.5 (f) critical extensions | `check_structure`, `check_extensions` |
//! | 6.1.5 end entity: keyUsage, extendedKeyUsage for the purpose | `check_leaf`, `check_purpose` |
//! | §4 profile of each certificate | `check_profile`, profile.rs |

use crate::x509::budget::Budget;
use crate::x509::crl::{self, CrlIndex, SignerSource};
use crate::x509::name::{Constraints, Refusal};
use crate::x509::policy::{CertPolicies, PolicyError, PolicyInputs, PolicyState};
use crate::x509::pool::{Indexed, Pool};
use crate::x509::profile::{self, Position};
use crate::x509::received::{Cert, Crl};
use crate::x509::signature::{SignatureError, verify_signed};
use crate::x509::{Purpose, Reason, describe};
use der::oid::AssociatedOid;
use serde::Serialize;
use spki::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::constraints::name::NameConstraints;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName};

/// Most certificates taken from an untrusted source (`--chain`, a bundle) to build a path
/// from; more is refused before any work (`too-many-certificates`). Real chains hold a
/// handful; 256 leaves room for a cross-signed PKI's whole intermediate set.
pub const MAX_UNTRUSTED_CERTIFICATES: usize = 256;

const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");
const AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const EMAIL_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");
/// Extensions this validator processes (or may ignore, being informational); any other
/// critical extension fails the path (RFC 5280 §4.2).
const KNOWN_EXTENSIONS: &[&str] = &[
    "2.5.29.19",               // basicConstraints
    "2.5.29.15",               // keyUsage
    "2.5.29.37",               // extendedKeyUsage
    "2.5.29.17",               // subjectAltName
    "2.5.29.30",               // nameConstraints
    "2.5.29.14",               // subjectKeyIdentifier
    "2.5.29.35",               // authorityKeyIdentifier
    "2.5.29.31",               // cRLDistributionPoints
    "2.5.29.32",               // certificatePolicies
    "2.5.29.33",               // policyMappings
    "2.5.29.36",               // policyConstraints
    "2.5.29.54",               // inhibitAnyPolicy
    "2.5.29.46",               // freshestCRL
    "2.5.29.18",               // issuerAltName
    "1.3.6.1.5.5.7.1.1",       // authorityInfoAccess
    "1.3.6.1.5.5.7.1.11",      // subjectInfoAccess
    "1.3.6.1.4.1.11129.2.4.2", // signed certificate timestamps
];

/// What to validate against.
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// The verification time, Unix seconds.
    pub at: i64,
    /// What the leaf must be good for.
    pub purpose: Purpose,
    /// Most certificates in a path, leaf and trust anchor included.
    pub max_depth: usize,
    /// CRLs to check revocation with.
    pub crls: Vec<Crl>,
    /// The certificate-policy inputs of RFC 5280 §6.1.1 (c), (e), (f), (g).
    pub policy: PolicyInputs,
}

impl ValidationOptions {
    /// Options at `at` for `purpose`, depth 8, no CRLs.
    pub fn new(at: i64, purpose: Purpose) -> ValidationOptions {
        ValidationOptions { at, purpose, max_depth: 8, crls: Vec::new(), policy: PolicyInputs::default() }
    }
}

/// One certificate of the path.
#[derive(Debug, Clone, Serialize)]
pub struct PathEntry {
    /// `leaf`, `intermediate` or `trust-anchor`.
    pub role: &'static str,
    /// Subject DN.
    pub subject: String,
    /// Serial, upper-case hex.
    pub serial: String,
}

/// One check and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The certificate checked (subject and serial).
    pub certificate: String,
    /// What was checked.
    pub check: &'static str,
    /// `ok`, `failed` or `not-checked`.
    pub result: &'static str,
    /// What was seen, when it matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The outcome of validation.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// Whether a valid path to a trust anchor exists.
    pub valid: bool,
    /// The most specific reason it does not.
    pub reason: Option<Reason>,
    /// What is wrong, naming the certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The verification time.
    pub at: String,
    /// The purpose checked.
    pub purpose: Purpose,
    /// The path (the valid one, or the one that got furthest), leaf first.
    pub path: Vec<PathEntry>,
    /// Every check made on that path.
    pub checks: Vec<Check>,
    /// The policies the valid path is good for (RFC 5280 §6.1.5 (g), the user-constrained
    /// policy set, dotted OIDs; `2.5.29.32.0` is anyPolicy); empty when none is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
}

/// A failed path: why, and the checks up to the failure.
#[derive(Debug, Clone)]
struct Failure {
    reason: Reason,
    message: String,
    path: Vec<PathEntry>,
    checks: Vec<Check>,
}

/// Validates `leaf` against `anchors`, building the path from `intermediates`.
pub fn validate(
    leaf: &Cert,
    intermediates: &[Cert],
    anchors: &[Cert],
    options: &ValidationOptions,
) -> ValidationReport {
    let at = crate::clock::format_unix(options.at);
    let refuse = |reason: Reason, message: String| ValidationReport {
        valid: false,
        reason: Some(reason),
        message: Some(message),
        at: at.clone(),
        purpose: options.purpose,
        path: Vec::new(),
        checks: Vec::new(),
        policies: None,
    };
    if intermediates.len() > MAX_UNTRUSTED_CERTIFICATES {
        return refuse(
            Reason::TooManyCertificates,
            format!(
                "{} certificates were given to build the path from; keyseal takes at most {MAX_UNTRUSTED_CERTIFICATES}, far more than any real chain",
                intermediates.len()
            ),
        );
    }
    let leaf = Indexed::new(leaf);
    let (intermediates, anchors) = (Pool::new(intermediates), Pool::new(anchors));
    let mut search = Search {
        intermediates: &intermediates,
        anchors: &anchors,
        options,
        budget: Budget::default(),
        crls: CrlIndex::new(&options.crls),
        best: None,
        exhausted: None,
    };
    let mut chain = vec![&leaf];
    let outcome = search.extend(&mut chain);
    match (outcome, search.exhausted) {
        (Some(success), _) => ValidationReport {
            valid: true,
            reason: None,
            message: None,
            at,
            purpose: options.purpose,
            path: success.path,
            checks: success.checks,
            policies: Some(success.policies),
        },
        (None, Some(message)) => refuse(Reason::BudgetExceeded, message),
        (None, None) => {
            let failure = search.best.unwrap_or_else(|| Failure {
                reason: Reason::ChainIncomplete,
                message: format!("no path from {} to a trust anchor", describe(leaf.cert)),
                path: Vec::new(),
                checks: Vec::new(),
            });
            ValidationReport {
                valid: false,
                reason: Some(failure.reason),
                message: Some(failure.message),
                at,
                purpose: options.purpose,
                path: failure.path,
                checks: failure.checks,
                policies: None,
            }
        }
    }
}

struct Search<'p, 'a> {
    intermediates: &'p Pool<'a>,
    anchors: &'p Pool<'a>,
    options: &'p ValidationOptions,
    budget: Budget,
    crls: CrlIndex<'p>,
    best: Option<Failure>,
    /// Set when a budget ran out: the search stops, and says so.
    exhausted: Option<String>,
}

/// A valid path: its certificates, the checks made, and the policies it is valid for.
struct Success {
    path: Vec<PathEntry>,
    checks: Vec<Check>,
    policies: Vec<String>,
}

impl<'p, 'a> Search<'p, 'a> {
    /// Keeps the most specific failure; among equals, the one on the longer path. A budget
    /// that ran out stops the search.
    fn record(&mut self, failure: Failure) {
        if failure.reason == Reason::BudgetExceeded {
            self.exhausted = Some(failure.message);
            return;
        }
        let better = match &self.best {
            None => true,
            Some(best) => (failure.reason.rank(), failure.path.len()) > (best.reason.rank(), best.path.len()),
        };
        if better {
            self.best = Some(failure);
        }
    }

    fn fail(&mut self, chain: &[&Indexed<'_>], reason: Reason, message: String) {
        let path = entries(&certificates(chain), None);
        self.record(Failure { reason, message, path, checks: Vec::new() });
    }

    /// One more issuer candidate considered; false (and the search stops) when the
    /// budget has run out.
    fn step(&mut self) -> bool {
        if self.exhausted.is_some() {
            return false;
        }
        match self.budget.build_step() {
            Ok(()) => true,
            Err(exhausted) => {
                self.exhausted = Some(exhausted.describe());
                false
            }
        }
    }

    /// Depth-first search for an issuer of the last certificate in `chain`.
    fn extend(&mut self, chain: &mut Vec<&'p Indexed<'a>>) -> Option<Success> {
        let current = *chain.last()?;
        let anchors = self.anchors.issuers_of(current);
        for anchor in &anchors {
            if !self.step() {
                return None;
            }
            if !self.signed_by(chain, current, anchor) {
                continue;
            }
            match check_path(chain, anchor, self.options, &mut self.budget, &mut self.crls, Some(self.intermediates)) {
                Ok(success) => return Some(success),
                Err(failure) => self.record(failure),
            }
        }
        let issuers: Vec<&'p Indexed<'a>> = self
            .intermediates
            .issuers_of(current)
            .into_iter()
            .filter(|c| !chain.iter().any(|in_path| in_path.hash == c.hash))
            .collect();
        if anchors.is_empty() && issuers.is_empty() {
            let (reason, message) = if current.self_issued() {
                (
                    Reason::UntrustedRoot,
                    format!(
                        "the path ends at {}, a self-issued certificate that is not a trust anchor",
                        describe(current.cert)
                    ),
                )
            } else {
                (
                    Reason::ChainIncomplete,
                    format!(
                        "no issuer found for {} (issuer \"{}\"): add the intermediate with --chain, or the root with --trust",
                        describe(current.cert),
                        current.cert.tbs_certificate().issuer()
                    ),
                )
            };
            self.fail(chain, reason, message);
            return None;
        }
        for issuer in issuers {
            if !self.step() {
                return None;
            }
            if chain.len() + 1 >= self.options.max_depth {
                let message = format!(
                    "the path through {} would be longer than {} certificates",
                    describe(issuer.cert),
                    self.options.max_depth
                );
                self.fail(chain, Reason::PathTooLong, message);
                return None;
            }
            if !self.signed_by(chain, current, issuer) {
                continue;
            }
            chain.push(issuer);
            let found = self.extend(chain);
            chain.pop();
            if found.is_some() || self.exhausted.is_some() {
                return found;
            }
        }
        None
    }

    /// Whether `issuer`'s key verifies `subject`'s signature, within the budget.
    fn signed_by(&mut self, chain: &[&Indexed<'_>], subject: &Indexed<'_>, issuer: &Indexed<'_>) -> bool {
        if let Err(exhausted) = self.budget.signature() {
            self.exhausted = Some(exhausted.describe());
            return false;
        }
        match signature_check(subject.cert, issuer.cert) {
            Ok(()) => true,
            Err((reason, message)) => {
                self.fail(chain, reason, message);
                false
            }
        }
    }
}

fn certificates<'c>(chain: &[&'c Indexed<'_>]) -> Vec<&'c Certificate> {
    chain.iter().map(|indexed| &**indexed.cert).collect()
}

fn signature_check(subject: &Cert, issuer: &Cert) -> Result<(), (Reason, String)> {
    let signature = subject.signature().as_bytes().unwrap_or_default();
    verify_signed(
        issuer.tbs_certificate().subject_public_key_info(),
        subject.signature_algorithm(),
        subject.signed_bytes(),
        signature,
    )
    .map_err(|e| match e {
        SignatureError::Invalid => (
            Reason::BadSignature,
            format!("the signature of {} does not verify with the key of {}", describe(subject), describe(issuer)),
        ),
        SignatureError::Unsupported(what) | SignatureError::Malformed(what) => {
            (Reason::UnsupportedAlgorithm, format!("the signature of {} cannot be checked: {what}", describe(subject)))
        }
    })
}

fn entries(chain: &[&Certificate], anchor: Option<&Certificate>) -> Vec<PathEntry> {
    let entry = |cert: &Certificate, role| PathEntry {
        role,
        subject: cert.tbs_certificate().subject().to_string(),
        serial: hex::encode_upper(cert.tbs_certificate().serial_number().as_bytes()),
    };
    let mut out: Vec<PathEntry> =
        chain.iter().enumerate().map(|(i, c)| entry(c, if i == 0 { "leaf" } else { "intermediate" })).collect();
    if let Some(anchor) = anchor {
        out.push(entry(anchor, "trust-anchor"));
    }
    out
}

/// The checks of one path, recorded as they pass; the first failure ends it.
struct Checker<'a> {
    checks: Vec<Check>,
    path: Vec<PathEntry>,
    options: &'a ValidationOptions,
}

impl Checker<'_> {
    fn pass(&mut self, cert: &Certificate, check: &'static str, detail: Option<String>) {
        self.checks.push(Check { certificate: describe(cert), check, result: "ok", detail });
    }

    fn not_checked(&mut self, cert: &Certificate, check: &'static str, detail: String) {
        self.checks.push(Check { certificate: describe(cert), check, result: "not-checked", detail: Some(detail) });
    }

    fn fail(mut self, cert: &Certificate, check: &'static str, reason: Reason, message: String) -> Failure {
        self.checks.push(Check { certificate: describe(cert), check, result: "failed", detail: Some(message.clone()) });
        Failure { reason, message, path: self.path, checks: self.checks }
    }
}

/// Applies RFC 5280 §6.1 to a complete path: `chain` (leaf first) and its trust anchor.
fn check_path(
    chain: &[&Indexed<'_>],
    anchor: &Indexed<'_>,
    options: &ValidationOptions,
    budget: &mut Budget,
    crls: &mut CrlIndex<'_>,
    crl_signers: Option<&Pool<'_>>,
) -> Result<Success, Failure> {
    let mut checker = Checker { checks: Vec::new(), path: entries(&certificates(chain), Some(anchor.cert)), options };
    let n = chain.len();
    check_anchor(&mut checker, anchor.cert, budget)?;
    let mut max_path_length = extension::<BasicConstraints>(anchor.cert)
        .ok()
        .flatten()
        .and_then(|bc| bc.path_len_constraint)
        .map_or(usize::MAX, usize::from);
    let mut constraints = Constraints::default();
    add_constraints(&checker, &mut constraints, anchor.cert)?;
    let mut policy = PolicyState::new(&options.policy, n);
    let mut final_policies = CertPolicies::default();
    let mut issuer = anchor;
    for (position, indexed) in chain.iter().rev().enumerate() {
        let (is_leaf, cert) = (position + 1 == n, indexed.cert);
        checker.pass(cert, "signature", Some(format!("verified with the key of {}", describe(issuer.cert))));
        check_structure(&mut checker, cert)?;
        check_profile(&mut checker, indexed, issuer, is_leaf)?;
        check_validity(&mut checker, cert, "")?;
        // RFC 5280 §7.1 comparison: the indexed names are already in comparable form.
        if indexed.issuer != issuer.subject {
            let message = format!(
                "{} names issuer \"{}\" but was signed by \"{}\"",
                describe(cert),
                cert.tbs_certificate().issuer(),
                issuer.cert.tbs_certificate().subject()
            );
            return Err(checker.fail(cert, "name-chaining", Reason::NameMismatch, message));
        }
        checker.pass(cert, "name-chaining", None);
        check_revocation(&mut checker, &chain[n - 1 - position..], anchor, budget, crls, crl_signers)?;
        if is_leaf || !indexed.self_issued() {
            check_names(&mut checker, cert, &constraints, budget)?;
        }
        final_policies = check_policies(&mut checker, &mut policy, indexed, is_leaf)?;
        if is_leaf {
            check_leaf(&mut checker, cert)?;
        } else {
            check_ca(&mut checker, cert, indexed.self_issued(), &mut max_path_length)?;
            add_constraints(&checker, &mut constraints, cert)?;
            issuer = indexed;
        }
    }
    let policies = match policy.finish(&final_policies, &options.policy) {
        Ok(outcome) => outcome.user_constrained_policy_set,
        Err(error) => return Err(policy_failure(&checker, chain[0].cert, error)),
    };
    checker.pass(chain[0].cert, "policies", Some(format!("valid for {}", policies.join(", "))));
    Ok(Success { path: checker.path, checks: checker.checks, policies })
}

/// RFC 5280 §6.1.3 (d)–(f) and §6.1.4 (a), (b), (h)–(j): the certificate's policy
/// extensions folded into the policy graph (see policy.rs). Returns them for the wrap-up
/// of §6.1.5 when this is the final certificate.
fn check_policies(
    checker: &mut Checker<'_>,
    policy: &mut PolicyState,
    cert: &Indexed<'_>,
    is_leaf: bool,
) -> Result<CertPolicies, Failure> {
    let found = CertPolicies::from_certificate(cert.cert)
        .and_then(|found| policy.process(&found, cert.self_issued(), is_leaf).map(|()| found))
        .map_err(|error| policy_failure(checker, cert.cert, error))?;
    checker.pass(cert.cert, "policies", None);
    Ok(found)
}

fn policy_failure(checker: &Checker<'_>, cert: &Certificate, error: PolicyError) -> Failure {
    let reason = match error {
        PolicyError::NotAccepted { .. } => Reason::PolicyNotAccepted,
        PolicyError::MapsAnyPolicy { .. } => Reason::BadPolicyMapping,
        PolicyError::Malformed(_) => Reason::MalformedExtension,
        PolicyError::TooLarge => Reason::BudgetExceeded,
    };
    fail_clone(checker, cert, "policies", reason, format!("{}: {error}", describe(cert)))
}

/// The end-entity checks of path validation on one certificate alone — validity at `at`,
/// keyUsage and extendedKeyUsage for `purpose` — for judging a certificate before any
/// chain is known (`keyseal sign --cert`).
pub fn check_end_entity(cert: &Cert, purpose: Purpose, at: i64) -> Result<(), (Reason, String)> {
    let options = ValidationOptions::new(at, purpose);
    let mut checker = Checker { checks: Vec::new(), path: Vec::new(), options: &options };
    check_validity(&mut checker, cert, "")
        .and_then(|()| check_leaf(&mut checker, cert))
        .map_err(|f| (f.reason, f.message))
}

fn extension<'a, T: der::Decode<'a, Error = der::Error> + AssociatedOid>(
    cert: &'a Certificate,
) -> der::Result<Option<T>> {
    Ok(cert.tbs_certificate().get_extension::<T>()?.map(|(_, value)| value))
}

/// The trust anchor is trusted for its name and key, but keyseal takes it as the CA
/// certificate it is (as OpenSSL does with a certificate in its trust store): within its
/// validity, well-formed (version, serial, matching signature algorithms, no duplicate or
/// unknown critical extension), and the RFC 5280 profile of a CA (see
/// profile.rs). One that omits the authorityKeyIdentifier must be self-signed: its
/// signature verifies with its own key (one signature from the budget).
fn check_anchor(checker: &mut Checker<'_>, anchor: &Cert, budget: &mut Budget) -> Result<(), Failure> {
    check_validity(checker, anchor, " (a trust anchor)")?;
    check_structure(checker, anchor)?;
    profile::check_trust_anchor(anchor)
        .map_err(|(reason, message)| fail_clone(checker, anchor, "profile", reason, message))?;
    let has_aki = anchor.tbs_certificate().extensions().into_iter().flatten().any(|e| e.extn_id == AUTHORITY_KEY_ID);
    if !has_aki {
        budget.signature().map_err(|e| fail_clone(checker, anchor, "profile", Reason::BudgetExceeded, e.describe()))?;
        if signature_check(anchor, anchor).is_err() {
            let message = format!(
                "the trust anchor {} is not self-signed, yet has no authorityKeyIdentifier (RFC 5280 §4.2.1.1)",
                describe(anchor)
            );
            return Err(fail_clone(checker, anchor, "profile", Reason::MissingExtension, message));
        }
    }
    checker.pass(anchor, "trust-anchor", None);
    Ok(())
}

fn fail_clone(
    checker: &Checker<'_>,
    cert: &Certificate,
    check: &'static str,
    reason: Reason,
    message: String,
) -> Failure {
    Checker { checks: checker.checks.clone(), path: checker.path.clone(), options: checker.options }
        .fail(cert, check, reason, message)
}

fn malformed(checker: &Checker<'_>, cert: &Certificate, error: der::Error) -> Failure {
    fail_clone(
        checker,
        cert,
        "extensions",
        Reason::MalformedCertificate,
        format!("{} has an unreadable extension: {error}", describe(cert)),
    )
}

/// Version, serial, signature algorithm fields, duplicate and unknown critical extensions.
fn check_structure(checker: &mut Checker<'_>, cert: &Certificate) -> Result<(), Failure> {
    let tbs = cert.tbs_certificate();
    let who = describe(cert);
    if tbs.extensions().is_some_and(|e| !e.is_empty()) && tbs.version() != Version::V3 {
        return Err(fail_clone(
            checker,
            cert,
            "version",
            Reason::BadVersion,
            format!("{who} has extensions but is not version 3"),
        ));
    }
    let serial = tbs.serial_number().as_bytes();
    if serial.len() > 20 || serial.first().is_some_and(|b| b & 0x80 != 0) || serial.iter().all(|b| *b == 0) {
        return Err(fail_clone(
            checker,
            cert,
            "serial",
            Reason::BadSerial,
            format!("{who}: the serial is not a positive integer of at most 20 octets"),
        ));
    }
    if cert.signature_algorithm() != tbs.signature() {
        return Err(fail_clone(
            checker,
            cert,
            "signature-algorithm",
            Reason::MalformedCertificate,
            format!("{who}: the outer and inner signature algorithms differ"),
        ));
    }
    check_extensions(checker, cert)?;
    checker.pass(cert, "structure", None);
    Ok(())
}

/// RFC 5280 §4.2: each extension at most once, and no critical extension this validator
/// does not process.
fn check_extensions(checker: &mut Checker<'_>, cert: &Certificate) -> Result<(), Failure> {
    let who = describe(cert);
    let mut seen = std::collections::HashSet::new();
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        if !seen.insert(ext.extn_id) {
            return Err(fail_clone(
                checker,
                cert,
                "extensions",
                Reason::DuplicateExtension,
                format!("{who} has extension {} twice", ext.extn_id),
            ));
        }
        if ext.critical && !KNOWN_EXTENSIONS.contains(&ext.extn_id.to_string().as_str()) {
            return Err(fail_clone(
                checker,
                cert,
                "critical-extensions",
                Reason::UnknownCriticalExtension,
                format!("{who} has critical extension {} that keyseal does not process", ext.extn_id),
            ));
        }
    }
    Ok(())
}

/// The RFC 5280 §4 profile rules on the certificate's own contents (see profile.rs). Only
/// a certificate signed with its own key may omit the authorityKeyIdentifier.
fn check_profile(
    checker: &mut Checker<'_>,
    cert: &Indexed<'_>,
    issuer: &Indexed<'_>,
    is_leaf: bool,
) -> Result<(), Failure> {
    let position = if is_leaf { Position::EndEntity } else { Position::Intermediate };
    let own_key = cert.self_issued()
        && cert.cert.tbs_certificate().subject_public_key_info()
            == issuer.cert.tbs_certificate().subject_public_key_info();
    profile::check_certificate(cert.cert, position, own_key)
        .map_err(|(reason, message)| fail_clone(checker, cert.cert, "profile", reason, message))?;
    checker.pass(cert.cert, "profile", None);
    Ok(())
}

fn check_validity(checker: &mut Checker<'_>, cert: &Cert, role: &str) -> Result<(), Failure> {
    use crate::clock::format_unix;
    let (start, end) = (cert.not_before, cert.not_after);
    let at = format_unix(checker.options.at);
    if checker.options.at < start {
        let message = format!(
            "{}{role} is not valid before {}; the verification time is {at}",
            describe(cert),
            format_unix(start)
        );
        return Err(fail_clone(checker, cert, "validity", Reason::NotYetValid, message));
    }
    if checker.options.at > end {
        let message =
            format!("{}{role} expired at {}; the verification time is {at}", describe(cert), format_unix(end));
        return Err(fail_clone(checker, cert, "validity", Reason::Expired, message));
    }
    checker.pass(cert, "validity", Some(format!("{} to {}", format_unix(start), format_unix(end))));
    Ok(())
}

/// RFC 5280 §6.1.3 (a)(3) and §6.3: the revocation status of `above[0]` (the rest of
/// `above`, then `anchor`, are the CAs above it on the path, already checked). Once any
/// CRL is given, every certificate needs a status from CRLs covering all reasons; without
/// one it is `revocation-unknown`. `crl_signers` is where to look for a CRL signer off
/// the path; `None` inside a CRL signer's own path, so that signer searches do not nest.
fn check_revocation(
    checker: &mut Checker<'_>,
    above: &[&Indexed<'_>],
    anchor: &Indexed<'_>,
    budget: &mut Budget,
    crls: &mut CrlIndex<'_>,
    crl_signers: Option<&Pool<'_>>,
) -> Result<(), Failure> {
    let cert = above[0];
    if crls.is_empty() {
        checker.not_checked(cert.cert, "revocation", "no CRL given".into());
        return Ok(());
    }
    let mut signers = CrlSigners { above, anchor, pool: crl_signers, options: checker.options };
    match crl::check(cert, crls, checker.options.at, budget, &mut signers) {
        Ok(detail) => {
            checker.pass(cert.cert, "revocation", Some(detail));
            Ok(())
        }
        Err((reason, message)) => Err(fail_clone(checker, cert.cert, "revocation", reason, message)),
    }
}

/// Where the signer of a CRL for `above[0]` may come from (RFC 5280 §6.3.3 (f)): a
/// certificate named as the CRL's issuer whose key verifies the CRL, whose keyUsage
/// allows cRLSign, and that has a valid path to the same trust anchor — either one on the
/// path being checked (its issuer, a CA above it, the anchor), or one from the pool with
/// a path of its own found by [`check_crl_signer_path`]. Inside a CRL signer's own path
/// (`pool` is `None`) the certificate itself may have signed the CRL that covers it: a
/// CRL issuer's certificate may be listed on its own indirect CRL (PKITS 4.14.30). On the
/// path being validated it may not, so that no certificate vouches for itself there.
struct CrlSigners<'s> {
    above: &'s [&'s Indexed<'s>],
    anchor: &'s Indexed<'s>,
    pool: Option<&'s Pool<'s>>,
    options: &'s ValidationOptions,
}

impl<'s> CrlSigners<'s> {
    /// RFC 5280 §6.3.3 (f), (g) for one candidate: `Ok(Ok(()))` when it signed CRL `crl`
    /// and may sign CRLs, `Ok(Err(_))` saying why not, `Err` when the budget ran out.
    fn check_candidate(
        candidate: &Indexed<'_>,
        crl: usize,
        crls: &mut CrlIndex<'_>,
        budget: &mut Budget,
    ) -> Result<Result<(), crl::Refusal>, crl::Refusal> {
        if !crls.signed_by(crl, candidate, budget)? {
            let message = format!("its signature does not verify with the key of {}", describe(candidate.cert));
            return Ok(Err((Reason::CrlBadSignature, message)));
        }
        Ok(crl::check_crl_sign(candidate).map_err(|why| (Reason::CrlInvalid, why)))
    }
}

impl<'s> SignerSource<'s> for CrlSigners<'s> {
    fn signer(
        &mut self,
        crl: usize,
        crls: &mut CrlIndex<'_>,
        budget: &mut Budget,
    ) -> Result<&'s Indexed<'s>, crl::Refusal> {
        let issuer = crls.issuer(crl).clone();
        let mut problem: Option<crl::Refusal> = None;
        let itself = self.above.first().copied().filter(|_| self.pool.is_none());
        let on_path = self.above[1..].iter().copied().chain([self.anchor]).chain(itself);
        for candidate in on_path.filter(|c| c.subject == issuer) {
            match Self::check_candidate(candidate, crl, crls, budget)? {
                Ok(()) => return Ok(candidate),
                Err(why) => {
                    problem.get_or_insert(why);
                }
            }
        }
        let pool = self.pool.map(|pool| pool.with_subject(&issuer)).unwrap_or_default();
        let authority_key = crls.authority_key(crl).map(<[u8]>::to_vec);
        for candidate in pool {
            let on_path = candidate.hash == self.anchor.hash || self.above.iter().any(|c| c.hash == candidate.hash);
            let other_key = matches!((&authority_key, &candidate.subject_key), (Some(a), Some(s)) if a != s);
            if on_path || other_key {
                continue;
            }
            let outcome = match Self::check_candidate(candidate, crl, crls, budget)? {
                Ok(()) => check_crl_signer_path(candidate, self.pool, self.anchor, self.options, budget, crls),
                Err(why) => Err(why),
            };
            match outcome {
                Ok(()) => return Ok(candidate),
                Err((Reason::BudgetExceeded, message)) => return Err((Reason::BudgetExceeded, message)),
                Err(why) => {
                    if problem.as_ref().is_none_or(|(reason, _)| *reason == Reason::CrlBadSignature) {
                        problem = Some(why);
                    }
                }
            }
        }
        Err(problem.unwrap_or_else(|| {
            (
                Reason::RevocationUnknown,
                "no certificate named as its issuer was given to verify it: pass the CRL signer's certificate with --chain"
                    .into(),
            )
        }))
    }
}

/// RFC 5280 §6.3.3 (f): a certification path for `signer`, a CRL signer found off the
/// path, to THE SAME trust anchor as the path being validated, validated in full (with
/// revocation: its own CRLs may only be signed by certificates on its path, so the search
/// does not nest). The outcome is remembered per (signer, anchor); building spends the
/// shared budget.
fn check_crl_signer_path(
    signer: &Indexed<'_>,
    pool: Option<&Pool<'_>>,
    anchor: &Indexed<'_>,
    options: &ValidationOptions,
    budget: &mut Budget,
    crls: &mut CrlIndex<'_>,
) -> Result<(), crl::Refusal> {
    if let Some(known) = crls.signer_path(signer, anchor) {
        return known;
    }
    let Some(pool) = pool else {
        return Err((Reason::RevocationUnknown, "its signer is not on the path".into()));
    };
    let signer_options =
        ValidationOptions { max_depth: options.max_depth, ..ValidationOptions::new(options.at, Purpose::Any) };
    let mut best: Option<crl::Refusal> = None;
    let mut chain = vec![signer];
    let found = extend_crl_signer_path(&mut chain, pool, anchor, &signer_options, budget, crls, &mut best)?;
    let outcome = if found {
        Ok(())
    } else {
        let why = best.map_or_else(
            || format!("no path from it to the trust anchor {}", describe(anchor.cert)),
            |(_, message)| message,
        );
        Err((Reason::RevocationUnknown, format!("its signer {} has no valid path: {why}", describe(signer.cert))))
    };
    crls.remember_signer_path(signer, anchor, outcome.clone());
    outcome
}

/// Depth-first search for a path from the last certificate of `chain` (a CRL signer and
/// its issuers so far) to `anchor`; every candidate spends a build step and a signature
/// check. `best` keeps the most specific failure of a complete path.
fn extend_crl_signer_path<'c>(
    chain: &mut Vec<&'c Indexed<'c>>,
    pool: &'c Pool<'c>,
    anchor: &Indexed<'_>,
    options: &ValidationOptions,
    budget: &mut Budget,
    crls: &mut CrlIndex<'_>,
    best: &mut Option<crl::Refusal>,
) -> Result<bool, crl::Refusal> {
    let Some(&current) = chain.last() else { return Ok(false) };
    let spend = |budget: &mut Budget| -> Result<(), crl::Refusal> {
        budget.build_step().map_err(|e| (Reason::BudgetExceeded, e.describe()))?;
        budget.signature().map_err(|e| (Reason::BudgetExceeded, e.describe()))
    };
    let keys_agree = match (&current.authority_key, &anchor.subject_key) {
        (Some(authority), Some(subject)) => authority == subject,
        _ => true,
    };
    if current.issuer == anchor.subject && keys_agree {
        spend(budget)?;
        if signature_check(current.cert, anchor.cert).is_ok() {
            match check_path(chain, anchor, options, budget, crls, None) {
                Ok(_) => return Ok(true),
                Err(failure) if failure.reason == Reason::BudgetExceeded => {
                    return Err((failure.reason, failure.message));
                }
                Err(failure) => {
                    if best.as_ref().is_none_or(|(reason, _)| failure.reason.rank() > reason.rank()) {
                        *best = Some((failure.reason, failure.message));
                    }
                }
            }
        }
    }
    if chain.len() + 1 >= options.max_depth {
        return Ok(false);
    }
    for issuer in pool.issuers_of(current) {
        if chain.iter().any(|in_path| in_path.hash == issuer.hash) {
            continue;
        }
        spend(budget)?;
        if signature_check(current.cert, issuer.cert).is_err() {
            continue;
        }
        chain.push(issuer);
        let found = extend_crl_signer_path(chain, pool, anchor, options, budget, crls, best);
        chain.pop();
        if !matches!(found, Ok(false)) {
            return found;
        }
    }
    Ok(false)
}

/// Adds a CA's name constraints; constraints that do not parse fail the path rather than
/// constrain nothing.
fn add_constraints(checker: &Checker<'_>, constraints: &mut Constraints, cert: &Certificate) -> Result<(), Failure> {
    if let Some(nc) = extension::<NameConstraints>(cert).map_err(|e| malformed(checker, cert, e))? {
        constraints.add(nc.permitted_subtrees, nc.excluded_subtrees);
    }
    Ok(())
}

/// The subject DN, its email attributes and every SAN against the name constraints above.
fn check_names(
    checker: &mut Checker<'_>,
    cert: &Certificate,
    constraints: &Constraints,
    budget: &mut Budget,
) -> Result<(), Failure> {
    if constraints.is_empty() {
        return Ok(());
    }
    let tbs = cert.tbs_certificate();
    let mut names = Vec::new();
    if !tbs.subject().is_empty() {
        names.push(GeneralName::DirectoryName(tbs.subject().clone()));
    }
    for atv in tbs.subject().iter().filter(|atv| atv.oid == EMAIL_ADDRESS) {
        if let Ok(email) = der::asn1::Ia5String::new(&String::from_utf8_lossy(atv.value.value()).into_owned()) {
            names.push(GeneralName::Rfc822Name(email));
        }
    }
    if let Some(san) = extension::<SubjectAltName>(cert).map_err(|e| malformed(checker, cert, e))? {
        names.extend(san.0);
    }
    for name in &names {
        if let Err(refusal) = constraints.check(name, budget) {
            let (reason, why) = match refusal {
                Refusal::Outside(why) => (Reason::NameConstraintViolation, format!("{}: {why}", describe(cert))),
                Refusal::Exhausted(exhausted) => (Reason::BudgetExceeded, exhausted.describe()),
            };
            return Err(fail_clone(checker, cert, "name-constraints", reason, why));
        }
    }
    checker.pass(cert, "name-constraints", None);
    Ok(())
}

/// A CA on the path: basicConstraints CA:TRUE, path length, keyCertSign, and (as OpenSSL
/// and rustls-webpki require) an extendedKeyUsage, if present, that allows the purpose.
fn check_ca(
    checker: &mut Checker<'_>,
    cert: &Certificate,
    self_issued: bool,
    max_path_length: &mut usize,
) -> Result<(), Failure> {
    let who = describe(cert);
    let constraints = extension::<BasicConstraints>(cert).map_err(|e| malformed(checker, cert, e))?;
    let Some(constraints) = constraints.filter(|bc| bc.ca) else {
        return Err(fail_clone(
            checker,
            cert,
            "basic-constraints",
            Reason::NotACa,
            format!("{who} issued a certificate but is not a CA (no basicConstraints CA:TRUE)"),
        ));
    };
    checker.pass(cert, "basic-constraints", None);
    if !self_issued {
        if *max_path_length == 0 {
            return Err(fail_clone(
                checker,
                cert,
                "path-length",
                Reason::PathLengthExceeded,
                format!("{who} is one CA too many below a pathLenConstraint"),
            ));
        }
        *max_path_length -= 1;
    }
    if let Some(limit) = constraints.path_len_constraint {
        *max_path_length = (*max_path_length).min(usize::from(limit));
    }
    checker.pass(cert, "path-length", None);
    if let Some(usage) = extension::<KeyUsage>(cert).map_err(|e| malformed(checker, cert, e))?
        && !usage.0.contains(KeyUsages::KeyCertSign)
    {
        return Err(fail_clone(
            checker,
            cert,
            "key-usage",
            Reason::BadKeyUsage,
            format!("{who} has a keyUsage without keyCertSign"),
        ));
    }
    checker.pass(cert, "key-usage", None);
    check_purpose(checker, cert, false)
}

/// The leaf: keyUsage and extendedKeyUsage fit the purpose.
fn check_leaf(checker: &mut Checker<'_>, cert: &Certificate) -> Result<(), Failure> {
    let who = describe(cert);
    if let Some(usage) = extension::<KeyUsage>(cert).map_err(|e| malformed(checker, cert, e))? {
        let needed: &[KeyUsages] = match checker.options.purpose {
            Purpose::CodeSigning | Purpose::Client => &[KeyUsages::DigitalSignature],
            Purpose::Timestamping => &[KeyUsages::DigitalSignature, KeyUsages::NonRepudiation],
            Purpose::Server => &[KeyUsages::DigitalSignature, KeyUsages::KeyEncipherment, KeyUsages::KeyAgreement],
            Purpose::Email => &[
                KeyUsages::DigitalSignature,
                KeyUsages::NonRepudiation,
                KeyUsages::KeyEncipherment,
                KeyUsages::KeyAgreement,
            ],
            Purpose::Any => &[],
        };
        if !needed.is_empty() && !needed.iter().any(|u| usage.0.contains(*u)) {
            let message = format!(
                "{who} has a keyUsage that does not allow {} (it needs {:?})",
                checker.options.purpose.as_str(),
                needed
            );
            return Err(fail_clone(checker, cert, "key-usage", Reason::BadKeyUsage, message));
        }
    }
    checker.pass(cert, "key-usage", None);
    check_purpose(checker, cert, true)
}

fn purpose_oid(purpose: Purpose) -> Option<ObjectIdentifier> {
    Some(ObjectIdentifier::new_unwrap(match purpose {
        Purpose::Server => "1.3.6.1.5.5.7.3.1",
        Purpose::Client => "1.3.6.1.5.5.7.3.2",
        Purpose::CodeSigning => "1.3.6.1.5.5.7.3.3",
        Purpose::Email => "1.3.6.1.5.5.7.3.4",
        Purpose::Timestamping => "1.3.6.1.5.5.7.3.8",
        Purpose::Any => return None,
    }))
}

/// extendedKeyUsage: absent means any purpose (RFC 5280 §4.2.1.12); present, it must name
/// the purpose or anyExtendedKeyUsage. A time-stamping leaf must carry exactly
/// id-kp-timeStamping, critical (RFC 3161 §2.3).
fn check_purpose(checker: &mut Checker<'_>, cert: &Certificate, is_leaf: bool) -> Result<(), Failure> {
    let purpose = checker.options.purpose;
    let Some(wanted) = purpose_oid(purpose) else {
        checker.pass(cert, "extended-key-usage", Some("no purpose asked for".into()));
        return Ok(());
    };
    let who = describe(cert);
    let found = cert.tbs_certificate().get_extension::<ExtendedKeyUsage>().map_err(|e| malformed(checker, cert, e))?;
    if is_leaf && purpose == Purpose::Timestamping {
        let strict = found.as_ref().is_some_and(|(critical, eku)| *critical && eku.0 == [wanted]);
        if !strict {
            let message = format!(
                "{who} is not a time-stamping certificate: RFC 3161 needs a critical extendedKeyUsage of only timeStamping"
            );
            return Err(fail_clone(checker, cert, "extended-key-usage", Reason::MissingPurpose(purpose), message));
        }
    } else if let Some((_, eku)) = &found
        && !eku.0.iter().any(|oid| *oid == wanted || *oid == ANY_EXTENDED_KEY_USAGE)
    {
        let message = format!("{who} has an extendedKeyUsage that does not include {}", purpose.as_str());
        return Err(fail_clone(checker, cert, "extended-key-usage", Reason::MissingPurpose(purpose), message));
    }
    checker.pass(cert, "extended-key-usage", None);
    Ok(())
}
