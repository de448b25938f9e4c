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
//! | 6.1.4 (o), 6.1.5 (f) critical extensions | `check_structure` |
//! | 6.1.5 end entity: keyUsage, extendedKeyUsage for the purpose | `check_leaf`, `check_purpose` |
//! | §4 profile of each certificate | `check_profile`, profile.rs |

mod build;
mod checks;
mod revocation;

use build::*;
pub use checks::parse_key_usage;
use checks::*;
use revocation::*;

use crate::x509::budget::Budget;
use crate::x509::crl::{self, CrlIndex, SignerSource};
use crate::x509::display::show_name;
use crate::x509::identity::Identity;
use crate::x509::name::{Constraints, Refusal, SubjectName, Subtrees, UncheckableNames};
use crate::x509::policy::{CertPolicies, PolicyError, PolicyInputs, PolicyState};
use crate::x509::pool::{Indexed, Pool};
use crate::x509::profile::{self, Position};
use crate::x509::received::{Cert, Crl};
use crate::x509::signature::{SignatureError, verify_message};
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

/// Most certificates the files of one trusted input (`--trust`, `--tsa-trust`) may hold.
/// System trust stores hold 150 to 450 roots; each certificate costs memory to decode, so
/// readers count them before decoding any (`too-many-certificates`).
pub const MAX_TRUSTED_CERTIFICATES: usize = 1024;

/// What to validate against.
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// The verification time, Unix seconds.
    pub at: i64,
    /// What the leaf must be good for.
    pub purpose: Purpose,
    /// Most intermediate certificates in a path: neither the leaf nor the trust anchor
    /// counts, as with OpenSSL's `-verify_depth` and pyca's `max_chain_depth`.
    pub max_intermediates: usize,
    /// CRLs to check revocation with.
    pub crls: Vec<Crl>,
    /// The certificate-policy inputs of RFC 5280 §6.1.1 (c), (e), (f), (g).
    pub policy: PolicyInputs,
    /// Set when `at` is not the present but the genTime of a trusted time stamp over the
    /// signature being checked (`keyseal verify --tsa-trust`).
    pub time_stamped: Option<TimeStamped>,
    /// Judge a code-signing leaf by RFC 5280 alone (`--rfc5280-eku`): no
    /// extendedKeyUsage, or anyExtendedKeyUsage, allows code signing, and a CA may be the
    /// leaf. By default a code-signing leaf must be an end entity naming codeSigning
    /// explicitly, as `keyseal sign --cert` requires of a release signer.
    pub rfc5280_eku: bool,
    /// The name the leaf must be good for (`--hostname`, `--ip`, `--email`): presented in
    /// its subjectAltName, and within the name constraints of the CAs above it.
    pub identity: Option<Identity>,
    /// keyUsage bits the leaf must allow (`--key-usage`), besides what the purpose needs.
    pub key_usages: Vec<KeyUsages>,
    /// extendedKeyUsage purposes the path must allow (`--eku`), besides the purpose's.
    pub extended_key_usages: Vec<ObjectIdentifier>,
    /// The rules besides RFC 5280's: the web PKI's for `--profile web-pki`.
    pub profile: crate::x509::Profile,
    /// Where the certificates a path is built from come from, as a hint about a missing
    /// one ends ("add the intermediate …"): `with --chain` for `cert verify`, the
    /// bundle's chain for `verify`, which has no --chain.
    pub intermediates_from: &'static str,
}

/// The hint of [`ValidationOptions::intermediates_from`] for a release's bundle.
pub const FROM_BUNDLE: &str = "to the bundle's certificate chain (keyseal sign --cert with a file that holds the signer's certificate, then its intermediates)";

/// Validation for a signature a trusted time stamp dates (see [`crl::Clock`] for the
/// revocation rule): validity periods are judged at the genTime (`ValidationOptions::at`),
/// revocation by CRLs current `now`, which tell what happened since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeStamped {
    /// The time of verification, Unix seconds: the CRLs (and the paths of CRL signers off
    /// the path) must be current then.
    pub now: i64,
    /// The latest the signature may have been made: genTime plus the time stamp's
    /// accuracy. Only a revocation after this may be forgiven.
    pub latest: i64,
}

impl ValidationOptions {
    /// Options at `at` for `purpose`, at most 6 intermediates, no CRLs.
    pub fn new(at: i64, purpose: Purpose) -> ValidationOptions {
        ValidationOptions {
            at,
            purpose,
            max_intermediates: 6,
            crls: Vec::new(),
            policy: PolicyInputs::default(),
            time_stamped: None,
            rfc5280_eku: false,
            identity: None,
            key_usages: Vec::new(),
            extended_key_usages: Vec::new(),
            profile: crate::x509::Profile::Rfc5280,
            intermediates_from: "with --chain",
        }
    }

    /// The clock revocation is checked by.
    pub fn crl_clock(&self) -> crl::Clock {
        match self.time_stamped {
            None => crl::Clock { crls_at: self.at, signed_at: None },
            Some(stamped) => crl::Clock { crls_at: stamped.now, signed_at: Some(stamped.latest.max(self.at)) },
        }
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
        return too_many_certificates(intermediates.len(), options);
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

/// The refusal of `given` untrusted certificates, more than [`MAX_UNTRUSTED_CERTIFICATES`]:
/// what [`validate`] answers, and what a caller answers when it counted them before
/// decoding any (a pile of certificates costs memory to decode, not only to search).
pub fn too_many_certificates(given: usize, options: &ValidationOptions) -> ValidationReport {
    ValidationReport {
        valid: false,
        reason: Some(Reason::TooManyCertificates),
        message: Some(format!(
            "{given} certificates were given to build the path from; keyseal takes at most {MAX_UNTRUSTED_CERTIFICATES}, far more than any real chain"
        )),
        at: crate::clock::format_unix(options.at),
        purpose: options.purpose,
        path: Vec::new(),
        checks: Vec::new(),
        policies: None,
    }
}

/// A valid path: its certificates, the checks made, and the policies it is valid for.
struct Success {
    pub(super) path: Vec<PathEntry>,
    pub(super) checks: Vec<Check>,
    pub(super) policies: Vec<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn good_ca() -> Cert {
        Cert::from_der(include_bytes!("../../../fixtures/pkits/certs/GoodCACert.crt")).unwrap()
    }

    /// More than [`MAX_UNTRUSTED_CERTIFICATES`] to build from is refused before any path
    /// is built; exactly that many is not.
    #[test]
    fn the_untrusted_pile_is_capped() {
        let pile = vec![good_ca(); MAX_UNTRUSTED_CERTIFICATES + 1];
        let options = ValidationOptions::new(0, Purpose::Any);
        let refused = validate(&good_ca(), &pile, &[], &options);
        assert_eq!(refused.reason, Some(Reason::TooManyCertificates));
        let within = validate(&good_ca(), &pile[1..], &[], &options);
        assert_ne!(within.reason, Some(Reason::TooManyCertificates));
    }

    /// One certificate judged as an end entity, with no chain: its validity and purpose.
    #[test]
    fn an_end_entity_alone_is_checked_for_validity_and_purpose() {
        let cert = good_ca();
        let during = cert.not_before + 1;
        assert_eq!(check_end_entity(&cert, Purpose::Timestamping, during).unwrap_err().0, Reason::CaAsEndEntity);
        assert_eq!(check_end_entity(&cert, Purpose::Any, cert.not_after + 1).unwrap_err().0, Reason::Expired);
        assert_eq!(check_end_entity(&cert, Purpose::Any, cert.not_before - 1).unwrap_err().0, Reason::NotYetValid);
    }
}
