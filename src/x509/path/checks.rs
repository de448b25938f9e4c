//! The checks of one complete candidate path, walked from the trust anchor down as
//! RFC 5280 §6.1.2–§6.1.5 do (see the table in the module header): one `check_*`
//! function per rule, each recording what it checked.

use super::*;
use der::oid::db::rfc3280::EMAIL_ADDRESS;
use der::oid::db::rfc5280::ANY_EXTENDED_KEY_USAGE;

/// Extensions this validator processes (or may ignore, being informational); any other
/// critical extension fails the path (RFC 5280 §4.2).
pub(super) const KNOWN_EXTENSIONS: &[&str] = &[
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

/// The checks of one path, recorded as they pass; the first failure ends it.
pub(super) struct Checker<'a> {
    pub(super) checks: Vec<Check>,
    pub(super) path: Vec<PathEntry>,
    pub(super) options: &'a ValidationOptions,
}

impl Checker<'_> {
    pub(super) fn pass(&mut self, cert: &Cert, check: &'static str, detail: Option<String>) {
        self.checks.push(Check { certificate: describe(cert), check, result: "ok", detail });
    }

    pub(super) fn not_checked(&mut self, cert: &Cert, check: &'static str, detail: String) {
        self.checks.push(Check { certificate: describe(cert), check, result: "not-checked", detail: Some(detail) });
    }

    pub(super) fn fail(mut self, cert: &Cert, check: &'static str, reason: Reason, message: String) -> Failure {
        self.checks.push(Check { certificate: describe(cert), check, result: "failed", detail: Some(message.clone()) });
        Failure { reason, message, path: self.path, checks: self.checks }
    }
}

/// Applies RFC 5280 §6.1 to a complete path: `chain` (leaf first) and its trust anchor.
pub(super) fn check_path(
    chain: &[&Indexed<'_>],
    anchor: &Indexed<'_>,
    options: &ValidationOptions,
    budget: &mut Budget,
    crls: &mut CrlIndex<'_>,
    crl_signers: Option<&Pool<'_>>,
) -> Result<Success, Failure> {
    let mut checker = Checker { checks: Vec::new(), path: entries(&certificates(chain), Some(anchor.cert)), options };
    let n = chain.len();
    check_anchor(&mut checker, anchor)?;
    let mut max_path_length = extension::<BasicConstraints>(anchor.cert)
        .ok()
        .flatten()
        .and_then(|bc| bc.path_len_constraint)
        .map_or(usize::MAX, usize::from);
    let mut constraints = Constraints::default();
    add_constraints(&checker, &mut constraints, anchor)?;
    let mut policy = PolicyState::new(&options.policy, n);
    let no_policies = CertPolicies::default();
    let mut final_policies = &no_policies;
    let mut issuer = anchor;
    for (position, indexed) in chain.iter().rev().enumerate() {
        let (is_leaf, cert) = (position + 1 == n, indexed.cert);
        checker.pass(cert, "signature", Some(format!("verified with the key of {}", describe(issuer.cert))));
        check_structure(&mut checker, indexed)?;
        check_profile(&mut checker, indexed, issuer, is_leaf)?;
        if let Some((check, rules)) = baseline_requirements(options.profile) {
            let verdict = indexed.derived.baseline[usize::from(is_leaf)].get_or_init(|| rules.path(cert, is_leaf));
            verdict.clone().map_err(|(reason, message)| fail_clone(&checker, cert, check, reason, message))?;
            checker.pass(cert, check, None);
        }
        check_validity(&mut checker, cert, "")?;
        // RFC 5280 §7.1 comparison: the indexed names are already in comparable form.
        if indexed.issuer != issuer.subject {
            let message = format!(
                "{} names issuer \"{}\" but was signed by \"{}\"",
                describe(cert),
                show_name(cert.tbs_certificate().issuer()),
                show_name(issuer.cert.tbs_certificate().subject())
            );
            return Err(checker.fail(cert, "name-chaining", Reason::NameMismatch, message));
        }
        checker.pass(cert, "name-chaining", None);
        check_revocation(&mut checker, &chain[n - 1 - position..], anchor, budget, crls, crl_signers)?;
        if is_leaf || !indexed.self_issued() {
            check_names(&mut checker, indexed, &constraints, budget)?;
        }
        if is_leaf && let Some(identity) = &options.identity {
            check_identity(&mut checker, cert, identity, &constraints, budget)?;
        }
        final_policies = check_policies(&mut checker, &mut policy, indexed, is_leaf)?;
        if is_leaf {
            check_leaf(&mut checker, cert)?;
        } else {
            check_ca(&mut checker, cert, indexed.self_issued(), &mut max_path_length)?;
            add_constraints(&checker, &mut constraints, indexed)?;
            issuer = indexed;
        }
    }
    let policies = match policy.finish(final_policies, &options.policy) {
        Ok(outcome) => outcome.user_constrained_policy_set,
        Err(error) => return Err(policy_failure(&checker, chain[0].cert, error)),
    };
    checker.pass(chain[0].cert, "policies", Some(format!("valid for {}", policies.join(", "))));
    Ok(Success { path: checker.path, checks: checker.checks, policies })
}

/// RFC 5280 §6.1.3 (d)–(f) and §6.1.4 (a), (b), (h)–(j): the certificate's policy
/// extensions folded into the policy graph (see policy.rs). Returns them for the wrap-up
/// of §6.1.5 when this is the final certificate.
pub(super) fn check_policies<'c>(
    checker: &mut Checker<'_>,
    policy: &mut PolicyState,
    cert: &'c Indexed<'_>,
    is_leaf: bool,
) -> Result<&'c CertPolicies, Failure> {
    let decoded = cert.derived.policies.get_or_init(|| CertPolicies::from_certificate(cert.cert));
    let found = decoded.as_ref().map_err(|error| policy_failure(checker, cert.cert, error.clone()))?;
    policy.process(found, cert.self_issued(), is_leaf).map_err(|error| policy_failure(checker, cert.cert, error))?;
    checker.pass(cert.cert, "policies", None);
    Ok(found)
}

pub(super) fn policy_failure(checker: &Checker<'_>, cert: &Cert, error: PolicyError) -> Failure {
    fail_clone(checker, cert, "policies", error.reason(), format!("{}: {error}", describe(cert)))
}

pub(super) fn extension<'a, T: der::Decode<'a, Error = der::Error> + AssociatedOid>(
    cert: &'a Certificate,
) -> der::Result<Option<T>> {
    Ok(cert.tbs_certificate().get_extension::<T>()?.map(|(_, value)| value))
}

/// The trust anchor is input to path validation (RFC 5280 §6.1.1 (d)): its name and key
/// are trusted as they are, and the certificate that carries them is not validated — no
/// §4 profile, serial number or self-signature check, as rustls-webpki and Go treat their
/// roots. It is held only to its validity at the verification time (as OpenSSL holds
/// its trust store), to extensions it has once each and none critical that keyseal does
/// not process (a constraint it cannot honour), to the few rules of
/// `profile::check_trust_anchor`, and under `--profile web-pki` or `smime` to the root
/// rules every root of Mozilla's store keeps (`webpki::check_anchor`,
/// `smime::check_anchor`).
pub(super) fn check_anchor(checker: &mut Checker<'_>, indexed: &Indexed<'_>) -> Result<(), Failure> {
    let anchor = indexed.cert;
    check_validity(checker, anchor, " (a trust anchor)")?;
    let verdict = indexed.derived.trust_anchor.get_or_init(|| {
        extensions(anchor).map_err(|(_, reason, message)| (reason, message))?;
        profile::check_trust_anchor(anchor, checker.options.profile)
    });
    verdict.clone().map_err(|(reason, message)| fail_clone(checker, anchor, "profile", reason, message))?;
    if let Some((check, rules)) = baseline_requirements(checker.options.profile) {
        let verdict = indexed.derived.baseline_anchor.get_or_init(|| rules.anchor(anchor, indexed.self_issued()));
        verdict.clone().map_err(|(reason, message)| fail_clone(checker, anchor, check, reason, message))?;
    }
    checker.pass(anchor, "trust-anchor", None);
    Ok(())
}

/// The CA/Browser Forum rules a profile adds to RFC 5280's, and the name of their check
/// in reports: the TLS Baseline Requirements (`web-pki`) or the S/MIME ones (`smime`).
fn baseline_requirements(profile: crate::x509::Profile) -> Option<(&'static str, BaselineRequirements)> {
    match profile {
        crate::x509::Profile::Rfc5280 => None,
        crate::x509::Profile::WebPki => Some(("web-pki", BaselineRequirements::Tls)),
        crate::x509::Profile::Smime => Some(("smime", BaselineRequirements::Smime)),
    }
}

/// Which Baseline Requirements a path is held to.
#[derive(Clone, Copy)]
enum BaselineRequirements {
    Tls,
    Smime,
}

impl BaselineRequirements {
    fn path(self, cert: &Cert, is_leaf: bool) -> Result<(), profile::Violation> {
        match self {
            BaselineRequirements::Tls => crate::x509::webpki::check(cert, is_leaf),
            BaselineRequirements::Smime => crate::x509::smime::check(cert, is_leaf),
        }
    }

    fn anchor(self, cert: &Cert, self_issued: bool) -> Result<(), profile::Violation> {
        match self {
            BaselineRequirements::Tls => crate::x509::webpki::check_anchor(cert, self_issued),
            BaselineRequirements::Smime => crate::x509::smime::check_anchor(cert, self_issued),
        }
    }
}

pub(super) fn fail_clone(
    checker: &Checker<'_>,
    cert: &Cert,
    check: &'static str,
    reason: Reason,
    message: String,
) -> Failure {
    Checker { checks: checker.checks.clone(), path: checker.path.clone(), options: checker.options }
        .fail(cert, check, reason, message)
}

pub(super) fn malformed(checker: &Checker<'_>, cert: &Cert, error: der::Error) -> Failure {
    fail_clone(
        checker,
        cert,
        "extensions",
        Reason::MalformedCertificate,
        format!("{} has an unreadable extension: {error}", describe(cert)),
    )
}

/// A failed check of a certificate's own contents: the check, the reason, the message.
pub(crate) type Verdict = Result<(), (&'static str, Reason, String)>;

/// Version, serial, signature algorithm fields, duplicate and unknown critical extensions
/// (decided once per certificate, whatever path it is on).
pub(super) fn check_structure(checker: &mut Checker<'_>, cert: &Indexed<'_>) -> Result<(), Failure> {
    let verdict = cert.derived.structure.get_or_init(|| structure(cert.cert));
    if let Err((check, reason, message)) = verdict {
        return Err(fail_clone(checker, cert.cert, check, *reason, message.clone()));
    }
    checker.pass(cert.cert, "structure", None);
    Ok(())
}

fn structure(cert: &Cert) -> Verdict {
    let tbs = cert.tbs_certificate();
    let who = describe(cert);
    if tbs.extensions().is_some_and(|e| !e.is_empty()) && tbs.version() != Version::V3 {
        return Err(("version", Reason::BadVersion, format!("{who} has extensions but is not version 3")));
    }
    let serial = tbs.serial_number().as_bytes();
    if serial.len() > 20 || serial.first().is_some_and(|b| b & 0x80 != 0) || serial.iter().all(|b| *b == 0) {
        let message = format!("{who}: the serial is not a positive integer of at most 20 octets");
        return Err(("serial", Reason::BadSerial, message));
    }
    if cert.signature_algorithm() != tbs.signature() {
        let message = format!("{who}: the outer and inner signature algorithms differ");
        return Err(("signature-algorithm", Reason::MalformedCertificate, message));
    }
    extensions(cert)
}

/// RFC 5280 §4.2: each extension at most once, and no critical extension this validator
/// does not process.
fn extensions(cert: &Cert) -> Verdict {
    let who = describe(cert);
    let mut seen = std::collections::HashSet::new();
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        if !seen.insert(ext.extn_id) {
            let message = format!("{who} has extension {} twice", ext.extn_id);
            return Err(("extensions", Reason::DuplicateExtension, message));
        }
        if ext.critical && !KNOWN_EXTENSIONS.contains(&ext.extn_id.to_string().as_str()) {
            let message = format!("{who} has critical extension {} that keyseal does not process", ext.extn_id);
            return Err(("critical-extensions", Reason::UnknownCriticalExtension, message));
        }
    }
    Ok(())
}

/// The RFC 5280 §4 profile rules on the certificate's own contents (see profile.rs). Only
/// a certificate signed with its own key may omit the authorityKeyIdentifier.
pub(super) fn check_profile(
    checker: &mut Checker<'_>,
    cert: &Indexed<'_>,
    issuer: &Indexed<'_>,
    is_leaf: bool,
) -> Result<(), Failure> {
    let position = if is_leaf { Position::EndEntity } else { Position::Intermediate };
    let own_key = cert.self_issued()
        && cert.cert.tbs_certificate().subject_public_key_info()
            == issuer.cert.tbs_certificate().subject_public_key_info();
    let verdict = cert.derived.profile[usize::from(is_leaf) * 2 + usize::from(own_key)]
        .get_or_init(|| profile::check_certificate(cert.cert, position, own_key));
    verdict.clone().map_err(|(reason, message)| fail_clone(checker, cert.cert, "profile", reason, message))?;
    checker.pass(cert.cert, "profile", None);
    Ok(())
}

pub(super) fn check_validity(checker: &mut Checker<'_>, cert: &Cert, role: &str) -> Result<(), Failure> {
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

/// Adds a CA's name constraints (normalised once per certificate); constraints that do
/// not parse fail the path rather than constrain nothing.
pub(super) fn add_constraints<'c>(
    checker: &Checker<'_>,
    constraints: &mut Constraints<'c>,
    cert: &'c Indexed<'_>,
) -> Result<(), Failure> {
    let subtrees = cert.derived.name_constraints.get_or_init(|| {
        extension::<NameConstraints>(cert.cert)
            .map(|found| found.map(|nc| Subtrees::new(nc.permitted_subtrees.as_ref(), nc.excluded_subtrees.as_ref())))
    });
    match subtrees {
        Ok(Some(subtrees)) => constraints.add(subtrees),
        Ok(None) => {}
        Err(e) => return Err(malformed(checker, cert.cert, *e)),
    }
    Ok(())
}

/// The names a certificate's name constraints apply to, normalised: its subject DN (from
/// the key path building already computed), its subject emailAddress attributes (RFC 5280
/// §4.2.1.10: rfc822Name constraints bind them too) and every SAN.
fn constrained_names(cert: &Indexed<'_>) -> Result<Vec<SubjectName>, UncheckableNames> {
    let tbs = cert.cert.tbs_certificate();
    let mut names = Vec::new();
    if !tbs.subject().is_empty() {
        names.push(SubjectName::directory(tbs.subject(), cert.subject.clone()));
    }
    for atv in tbs.subject().iter().filter(|atv| atv.oid == EMAIL_ADDRESS) {
        // decode_as takes only an IA5String: another string type, ASCII or not, is refused
        // (tested: an_ascii_email_address_of_another_string_type_is_refused).
        match atv.value.decode_as::<der::asn1::Ia5String>() {
            Ok(email) => names.push(SubjectName::new(&GeneralName::Rfc822Name(email))),
            Err(_) => return Err(UncheckableNames::NonIa5Email),
        }
    }
    if let Some(san) = extension::<SubjectAltName>(cert.cert).map_err(UncheckableNames::Malformed)? {
        names.extend(san.0.iter().map(SubjectName::new));
    }
    Ok(names)
}

/// The subject DN, its email attributes and every SAN against the name constraints above.
pub(super) fn check_names(
    checker: &mut Checker<'_>,
    indexed: &Indexed<'_>,
    constraints: &Constraints<'_>,
    budget: &mut Budget,
) -> Result<(), Failure> {
    if constraints.is_empty() {
        return Ok(());
    }
    let cert = indexed.cert;
    let names = match indexed.derived.constrained_names.get_or_init(|| constrained_names(indexed)) {
        Ok(names) => names,
        Err(UncheckableNames::Malformed(e)) => return Err(malformed(checker, cert, *e)),
        Err(UncheckableNames::NonIa5Email) => {
            let why = format!(
                "{}: its subject emailAddress is not an IA5String, so the name constraints above cannot be checked on it",
                describe(cert)
            );
            return Err(fail_clone(checker, cert, "name-constraints", Reason::NameConstraintViolation, why));
        }
    };
    for name in names {
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

/// The name asked for (`--hostname`, `--ip`, `--email`): within the name constraints of
/// every CA above the leaf (RFC 5280 §4.2.1.10 binds the names a certificate is used
/// for, not only those it holds), then presented in the leaf's subjectAltName (RFC 9525:
/// never its commonName).
pub(super) fn check_identity(
    checker: &mut Checker<'_>,
    cert: &Cert,
    identity: &Identity,
    constraints: &Constraints<'_>,
    budget: &mut Budget,
) -> Result<(), Failure> {
    if let Some(name) = identity.general_name()
        && let Err(refusal) = constraints.check(&SubjectName::new(&name), budget)
    {
        let (reason, why) = match refusal {
            Refusal::Outside(why) => {
                (Reason::NameConstraintViolation, format!("{} {identity}: {why}", identity.flag()))
            }
            Refusal::Exhausted(exhausted) => (Reason::BudgetExceeded, exhausted.describe()),
        };
        return Err(fail_clone(checker, cert, "identity", reason, why));
    }
    let sans = extension::<SubjectAltName>(cert).map_err(|e| malformed(checker, cert, e))?;
    let sans = sans.map(|san| san.0).unwrap_or_default();
    if !identity.presented_in(&sans) {
        let reason = match identity {
            Identity::Dns(_) => Reason::HostnameMismatch,
            Identity::Ip(_) => Reason::IpMismatch,
            Identity::Email { .. } => Reason::EmailMismatch,
        };
        let who = describe(cert);
        let message = if sans.is_empty() {
            format!(
                "{who} has no subjectAltName, so it is good for no {} (the commonName does not count)",
                identity.flag()
            )
        } else {
            format!("{who} is not good for {identity}: its subjectAltName names {}", show_sans(&sans))
        };
        return Err(fail_clone(checker, cert, "identity", reason, message));
    }
    checker.pass(cert, "identity", Some(format!("good for {identity}")));
    Ok(())
}

/// The SAN entries, as messages show them; at most eight, then how many more.
fn show_sans(sans: &[GeneralName]) -> String {
    const SHOWN: usize = 8;
    let mut shown: Vec<String> = sans.iter().take(SHOWN).map(crate::x509::name::show).collect();
    if sans.len() > SHOWN {
        shown.push(format!("and {} more", sans.len() - SHOWN));
    }
    shown.join(", ")
}

/// A CA on the path: basicConstraints CA:TRUE, path length, keyCertSign, and (as OpenSSL
/// and rustls-webpki require) an extendedKeyUsage, if present, that allows the purpose.
pub(super) fn check_ca(
    checker: &mut Checker<'_>,
    cert: &Cert,
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

/// The leaf: an end entity where the purpose needs one, keyUsage and extendedKeyUsage fit
/// the purpose.
pub(super) fn check_leaf(checker: &mut Checker<'_>, cert: &Cert) -> Result<(), Failure> {
    let who = describe(cert);
    check_end_entity_for_purpose(checker, cert)?;
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
    check_asked_key_usages(checker, cert)?;
    checker.pass(cert, "key-usage", None);
    check_purpose(checker, cert, true)
}

/// `--key-usage`: each bit asked for must be asserted by the leaf's keyUsage; a leaf
/// without one may be used for anything (RFC 5280 §4.2.1.3).
fn check_asked_key_usages(checker: &mut Checker<'_>, cert: &Cert) -> Result<(), Failure> {
    if checker.options.key_usages.is_empty() {
        return Ok(());
    }
    let Some(usage) = extension::<KeyUsage>(cert).map_err(|e| malformed(checker, cert, e))? else {
        return Ok(());
    };
    if let Some(missing) = checker.options.key_usages.iter().find(|bit| !usage.0.contains(**bit)) {
        let message = format!(
            "{} has a keyUsage that does not assert {} (--key-usage)",
            describe(cert),
            key_usage_name(*missing)
        );
        return Err(fail_clone(checker, cert, "key-usage", Reason::BadKeyUsage, message));
    }
    Ok(())
}

/// The keyUsage bits by their RFC 5280 §4.2.1.3 names, as `--key-usage` takes them.
const KEY_USAGE_NAMES: &[(&str, KeyUsages)] = &[
    ("digitalSignature", KeyUsages::DigitalSignature),
    ("nonRepudiation", KeyUsages::NonRepudiation),
    ("contentCommitment", KeyUsages::NonRepudiation),
    ("keyEncipherment", KeyUsages::KeyEncipherment),
    ("dataEncipherment", KeyUsages::DataEncipherment),
    ("keyAgreement", KeyUsages::KeyAgreement),
    ("keyCertSign", KeyUsages::KeyCertSign),
    ("cRLSign", KeyUsages::CRLSign),
    ("encipherOnly", KeyUsages::EncipherOnly),
    ("decipherOnly", KeyUsages::DecipherOnly),
];

fn key_usage_name(bit: KeyUsages) -> &'static str {
    KEY_USAGE_NAMES.iter().find(|(_, b)| *b == bit).map_or("?", |(name, _)| name)
}

/// `--key-usage NAME`: one keyUsage bit by its RFC 5280 name.
pub fn parse_key_usage(name: &str) -> Result<KeyUsages, String> {
    KEY_USAGE_NAMES.iter().find(|(n, _)| *n == name).map(|(_, bit)| *bit).ok_or_else(|| {
        let names: Vec<&str> = KEY_USAGE_NAMES.iter().map(|(n, _)| *n).collect();
        format!("unknown keyUsage {name:?}; use one of: {}", names.join(", "))
    })
}

/// Whether the leaf must be an end entity and name its purpose explicitly: a time-stamping
/// certificate always (RFC 3161 §2.3: a key reserved for time stamping, a critical sole
/// timeStamping EKU), a code-signing one unless `--rfc5280-eku` (the rule `keyseal sign
/// --cert` applies to a release signer).
fn strict_purpose(options: &ValidationOptions) -> bool {
    match options.purpose {
        Purpose::Timestamping => true,
        Purpose::CodeSigning => !options.rfc5280_eku,
        _ => false,
    }
}

/// A CA's key signs certificates; it is not the end entity a signature of this purpose
/// needs (see [`strict_purpose`]).
fn check_end_entity_for_purpose(checker: &mut Checker<'_>, cert: &Cert) -> Result<(), Failure> {
    if !strict_purpose(checker.options) {
        return Ok(());
    }
    let is_ca = extension::<BasicConstraints>(cert).map_err(|e| malformed(checker, cert, e))?.is_some_and(|bc| bc.ca);
    if is_ca {
        let purpose = checker.options.purpose.as_str();
        let remedy = if checker.options.purpose == Purpose::CodeSigning {
            " (RFC 5280 alone accepts one; `verify` and `cert verify` do with --rfc5280-eku)"
        } else {
            ""
        };
        let message = format!(
            "{} is a CA certificate (basicConstraints CA:TRUE); {purpose} needs an end-entity certificate{remedy}",
            describe(cert)
        );
        return Err(fail_clone(checker, cert, "end-entity", Reason::CaAsEndEntity, message));
    }
    checker.pass(cert, "end-entity", None);
    Ok(())
}

pub(super) fn purpose_oid(purpose: Purpose) -> Option<ObjectIdentifier> {
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
/// id-kp-timeStamping, critical (RFC 3161 §2.3); a code-signing leaf must name
/// codeSigning itself, unless `--rfc5280-eku`.
pub(super) fn check_purpose(checker: &mut Checker<'_>, cert: &Cert, is_leaf: bool) -> Result<(), Failure> {
    let purpose = checker.options.purpose;
    let wanted = purpose_oid(purpose);
    if wanted.is_none() && checker.options.extended_key_usages.is_empty() {
        checker.pass(cert, "extended-key-usage", Some("no purpose asked for".into()));
        return Ok(());
    }
    let found = cert.tbs_certificate().get_extension::<ExtendedKeyUsage>().map_err(|e| malformed(checker, cert, e))?;
    check_asked_purposes(checker, cert, found.as_ref().map(|(_, eku)| eku))?;
    let Some(wanted) = wanted else {
        checker.pass(cert, "extended-key-usage", None);
        return Ok(());
    };
    let who = describe(cert);
    if is_leaf && purpose == Purpose::Timestamping {
        let strict = found.as_ref().is_some_and(|(critical, eku)| *critical && eku.0 == [wanted]);
        if !strict {
            let message = format!(
                "{who} is not a time-stamping certificate: RFC 3161 needs a critical extendedKeyUsage of only timeStamping"
            );
            return Err(fail_clone(checker, cert, "extended-key-usage", Reason::MissingPurpose(purpose), message));
        }
    } else if is_leaf && strict_purpose(checker.options) {
        // A code-signing leaf names codeSigning itself: no extendedKeyUsage, or
        // anyExtendedKeyUsage alone, is RFC 5280's leniency, behind --rfc5280-eku.
        if !found.as_ref().is_some_and(|(_, eku)| eku.0.contains(&wanted)) {
            let message = format!(
                "{who} does not name {} in an extendedKeyUsage; a release signer's certificate must (RFC 5280 alone accepts none, or anyExtendedKeyUsage; `verify` and `cert verify` do with --rfc5280-eku)",
                purpose.as_str()
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

/// `--eku OID`: every certificate of the path whose extendedKeyUsage is present must name
/// each OID asked for, or anyExtendedKeyUsage; absent, it allows every purpose (RFC 5280
/// §4.2.1.12), as for `--purpose`.
fn check_asked_purposes(
    checker: &mut Checker<'_>,
    cert: &Cert,
    found: Option<&ExtendedKeyUsage>,
) -> Result<(), Failure> {
    let Some(eku) = found else { return Ok(()) };
    let missing = checker
        .options
        .extended_key_usages
        .iter()
        .find(|wanted| !eku.0.iter().any(|oid| oid == *wanted || *oid == ANY_EXTENDED_KEY_USAGE));
    if let Some(missing) = missing {
        let message = format!("{} has an extendedKeyUsage that does not include {missing} (--eku)", describe(cert));
        return Err(fail_clone(checker, cert, "extended-key-usage", Reason::MissingPurpose(Purpose::Any), message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Any, Decode, Encode, Tag};
    use x509_cert::attr::AttributeTypeAndValue;
    use x509_cert::ext::pkix::constraints::name::GeneralSubtree;
    use x509_cert::name::{RdnSequence, RelativeDistinguishedName};

    /// A PKITS certificate with its subject replaced by one emailAddress of `tag`.
    fn with_email_subject(tag: Tag, value: Vec<u8>) -> Cert {
        let der = include_bytes!("../../../fixtures/pkits/certs/GoodCACert.crt");
        let atv = AttributeTypeAndValue { oid: EMAIL_ADDRESS, value: Any::new(tag, value).unwrap() };
        let subject =
            RdnSequence::from(vec![RelativeDistinguishedName::from(der::asn1::SetOfVec::try_from(vec![atv]).unwrap())]);
        let outer: Vec<Any> = Vec::from_der(der).unwrap();
        let mut tbs: Vec<Any> = Vec::from_der(&outer[0].to_der().unwrap()).unwrap();
        tbs[5] = Any::from_der(&subject.to_der().unwrap()).unwrap();
        let tbs = Any::from_der(&tbs.to_der().unwrap()).unwrap();
        Cert::from_der(&vec![tbs, outer[1].clone(), outer[2].clone()].to_der().unwrap()).unwrap()
    }

    fn email_constraint(domain: &str) -> Vec<GeneralSubtree> {
        let base = GeneralName::Rfc822Name(der::asn1::Ia5String::new(domain).unwrap());
        vec![GeneralSubtree { base, minimum: 0, maximum: None }]
    }

    /// `check_names` on `cert` under one CA's constraints.
    fn names_under(cert: &Cert, subtrees: &Subtrees) -> Result<(), Failure> {
        let options = ValidationOptions::new(0, Purpose::Any);
        let mut constraints = Constraints::default();
        constraints.add(subtrees);
        let mut checker = Checker { checks: Vec::new(), path: Vec::new(), options: &options };
        check_names(&mut checker, &Indexed::new(cert), &constraints, &mut Budget::default())
    }

    /// Regression (review finding): a subject emailAddress that is not an IA5String was
    /// dropped (non-ASCII UTF8String) or mangled (BMPString) and so escaped rfc822 name
    /// constraints; now it fails them.
    #[test]
    fn a_non_ia5_email_address_does_not_escape_name_constraints() {
        let bmp: Vec<u8> = "a@evil.com".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let permitted = Subtrees::new(Some(&email_constraint("good.com")), None);
        let excluded = Subtrees::new(None, Some(&email_constraint("evil.com")));
        for (tag, value) in [(Tag::Utf8String, "\u{e9}@evil.com".as_bytes().to_vec()), (Tag::BmpString, bmp)] {
            let cert = with_email_subject(tag, value);
            for subtrees in [&permitted, &excluded] {
                let failure = names_under(&cert, subtrees).unwrap_err();
                assert_eq!(failure.reason, Reason::NameConstraintViolation, "{tag:?}");
            }
        }
        let ascii = with_email_subject(Tag::Ia5String, b"ops@good.com".to_vec());
        assert!(names_under(&ascii, &permitted).is_ok());
    }

    /// PKITS's GoodCACert with its tbsCertificate's fields changed by `edit` (the signature
    /// no longer matches, which `structure` does not look at).
    fn with_tbs(edit: impl FnOnce(&mut Vec<Any>)) -> Result<Cert, String> {
        let der = include_bytes!("../../../fixtures/pkits/certs/GoodCACert.crt");
        let outer: Vec<Any> = Vec::from_der(der).unwrap();
        let mut tbs: Vec<Any> = Vec::from_der(&outer[0].to_der().unwrap()).unwrap();
        edit(&mut tbs);
        let tbs = Any::from_der(&tbs.to_der().unwrap()).unwrap();
        Cert::from_der(&vec![tbs, outer[1].clone(), outer[2].clone()].to_der().unwrap())
    }

    /// RFC 5280 §4.1.2.2: a serial is a positive integer of at most 20 octets; each way of
    /// breaking that is refused on its own, and the bounds themselves pass.
    #[test]
    fn serials_are_positive_and_at_most_20_octets() {
        let with_serial = |content: Vec<u8>| with_tbs(|tbs| tbs[1] = Any::new(Tag::Integer, content).unwrap());
        let verdict = |content: Vec<u8>| match with_serial(content) {
            Ok(cert) => structure(&cert).map_err(|(_, reason, _)| reason),
            Err(_) => Err(Reason::MalformedCertificate),
        };
        let twenty = [vec![0x40], vec![0x01; 19]].concat();
        assert_eq!(verdict(twenty.clone()), Ok(()));
        assert_eq!(verdict([twenty, vec![0x01]].concat()), Err(Reason::BadSerial), "21 octets");
        assert_eq!(verdict(vec![0x80, 0x01]), Err(Reason::BadSerial), "negative");
        assert_eq!(verdict(vec![0x00]), Err(Reason::BadSerial), "zero");
        assert_eq!(verdict(vec![0x01]), Ok(()));
    }

    /// Extensions need a version 3 certificate.
    #[test]
    fn extensions_in_a_version_1_certificate_are_bad_version() {
        // tbs[0] is the explicit [0] version (v3); without it the version is v1.
        let v1 = with_tbs(|tbs| {
            tbs.remove(0);
        })
        .unwrap();
        assert_eq!(structure(&v1).map_err(|(_, reason, _)| reason), Err(Reason::BadVersion));
        let v3 = Cert::from_der(include_bytes!("../../../fixtures/pkits/certs/GoodCACert.crt")).unwrap();
        assert_eq!(structure(&v3).map_err(|(_, reason, _)| reason), Ok(()));
    }

    /// §4.1.2.5: the validity period includes both its ends.
    #[test]
    fn validity_includes_both_its_ends() {
        let cert = Cert::from_der(include_bytes!("../../../fixtures/pkits/certs/GoodCACert.crt")).unwrap();
        let at = |at: i64| {
            let options = ValidationOptions::new(at, Purpose::Any);
            let mut checker = Checker { checks: Vec::new(), path: Vec::new(), options: &options };
            check_validity(&mut checker, &cert, "").map_err(|failure| failure.reason)
        };
        assert_eq!(at(cert.not_before), Ok(()));
        assert_eq!(at(cert.not_after), Ok(()));
        assert_eq!(at(cert.not_before - 1), Err(Reason::NotYetValid));
        assert_eq!(at(cert.not_after + 1), Err(Reason::Expired));
    }

    /// An emailAddress that is all ASCII but not an IA5String is not taken for one: it is
    /// refused under email constraints, not checked as if it were well-formed.
    #[test]
    fn an_ascii_email_address_of_another_string_type_is_refused() {
        let permitted = Subtrees::new(Some(&email_constraint("good.com")), None);
        let utf8 = with_email_subject(Tag::Utf8String, b"ops@good.com".to_vec());
        assert_eq!(names_under(&utf8, &permitted).unwrap_err().reason, Reason::NameConstraintViolation);
    }

    /// §4.2.1.1: only a certificate signed with its own key may leave out the
    /// authorityKeyIdentifier. PKITS's trust anchor has none: signed by itself it passes, as
    /// an intermediate or a leaf; under another key it does not — each verdict kept for its
    /// own role, however they are asked in turn.
    #[test]
    fn only_a_certificate_signed_with_its_own_key_may_omit_its_authority_key_identifier() {
        let root =
            Cert::from_der(include_bytes!("../../../fixtures/pkits/certs/TrustAnchorRootCertificate.crt")).unwrap();
        let other = Cert::from_der(include_bytes!("../../../fixtures/pkits/certs/GoodCACert.crt")).unwrap();
        let options = ValidationOptions::new(0, Purpose::Any);
        let mut checker = Checker { checks: Vec::new(), path: Vec::new(), options: &options };
        let (cert, own, stranger) = (Indexed::new(&root), Indexed::new(&root), Indexed::new(&other));
        for is_leaf in [false, true] {
            let signed_by = |checker: &mut Checker<'_>, issuer| check_profile(checker, &cert, issuer, is_leaf);
            assert!(signed_by(&mut checker, &own).is_ok(), "own key, leaf {is_leaf}");
            let refused = signed_by(&mut checker, &stranger).unwrap_err();
            assert_eq!(refused.reason, Reason::MissingExtension, "another key, leaf {is_leaf}");
            assert!(signed_by(&mut checker, &own).is_ok(), "own key again, leaf {is_leaf}");
        }
    }

    /// A CA certificate (PKITS's GoodCACert, no extendedKeyUsage) as the leaf: refused for
    /// time stamping always, for code signing unless `rfc5280_eku`.
    #[test]
    fn a_ca_as_the_leaf_is_refused_where_an_end_entity_must_sign() {
        let cert = Cert::from_der(include_bytes!("../../../fixtures/pkits/certs/GoodCACert.crt")).unwrap();
        let leaf = |purpose, rfc5280_eku| {
            let options = ValidationOptions { rfc5280_eku, ..ValidationOptions::new(0, purpose) };
            let mut checker = Checker { checks: Vec::new(), path: Vec::new(), options: &options };
            check_leaf(&mut checker, &cert).map_err(|failure| failure.reason)
        };
        assert_eq!(leaf(Purpose::Timestamping, false), Err(Reason::CaAsEndEntity));
        assert_eq!(leaf(Purpose::Timestamping, true), Err(Reason::CaAsEndEntity));
        assert_eq!(leaf(Purpose::CodeSigning, false), Err(Reason::CaAsEndEntity));
        // Past the end-entity check (its keyUsage, keyCertSign and cRLSign, is judged next).
        assert_ne!(leaf(Purpose::CodeSigning, true), Err(Reason::CaAsEndEntity));
        assert_ne!(leaf(Purpose::Server, false), Err(Reason::CaAsEndEntity));
    }

    /// The name asked for is held to the constraints above the leaf before it is looked
    /// for in the SAN: a name outside a permitted tree is refused as such, naming the flag;
    /// one within is then looked for (PKITS's Good CA has no SAN: hostname-mismatch).
    #[test]
    fn the_name_asked_for_meets_the_constraints_then_the_san() {
        let options = ValidationOptions::new(0, Purpose::Any);
        let dns = |name: &str| GeneralName::DnsName(der::asn1::Ia5String::new(name).unwrap());
        let permitted = vec![GeneralSubtree { base: dns("example.com"), minimum: 0, maximum: None }];
        let subtrees = Subtrees::new(Some(&permitted), None);
        let mut constraints = Constraints::default();
        constraints.add(&subtrees);
        let cert = Cert::from_der(include_bytes!("../../../fixtures/pkits/certs/GoodCACert.crt")).unwrap();
        let ask = |name: &str| {
            let mut checker = Checker { checks: Vec::new(), path: Vec::new(), options: &options };
            let identity = Identity::hostname(name).unwrap();
            check_identity(&mut checker, &cert, &identity, &constraints, &mut Budget::default()).unwrap_err()
        };
        let outside = ask("www.example.org");
        assert_eq!(outside.reason, Reason::NameConstraintViolation);
        assert!(outside.message.contains("--hostname www.example.org"), "{}", outside.message);
        let inside = ask("www.example.com");
        assert_eq!(inside.reason, Reason::HostnameMismatch);
        assert!(inside.message.contains("no subjectAltName"), "{}", inside.message);
    }

    /// Real roots from Mozilla's trust store that break §4 profile rules (serial number 0,
    /// no subjectKeyIdentifier, a SHA-1 self-signature without authorityKeyIdentifier) are
    /// trust anchors all the same (RFC 5280 §6.1.1); only their validity counts.
    #[test]
    fn real_roots_are_trust_anchors_whatever_their_profile() {
        let at = 1_704_067_200; // 2024-01-01, within all four.
        let options = ValidationOptions::new(at, Purpose::Server);
        for name in [
            "Starfield_Root_Certificate_Authority_-_G2",
            "Go_Daddy_Root_Certificate_Authority_-_G2",
            "TWCA_Global_Root_CA",
            "Baltimore_CyberTrust_Root",
        ] {
            let path = format!("{}/fixtures/real-roots/{name}.pem", env!("CARGO_MANIFEST_DIR"));
            let root = crate::x509::load_pem_chain(&std::fs::read(path).unwrap()).unwrap().remove(0);
            let mut checker = Checker { checks: Vec::new(), path: Vec::new(), options: &options };
            assert!(check_anchor(&mut checker, &Indexed::new(&root)).is_ok(), "{name}");
        }
        let expired = ValidationOptions::new(1_900_000_000, Purpose::Server);
        let path = format!("{}/fixtures/real-roots/Baltimore_CyberTrust_Root.pem", env!("CARGO_MANIFEST_DIR"));
        let root = crate::x509::load_pem_chain(&std::fs::read(path).unwrap()).unwrap().remove(0);
        let mut checker = Checker { checks: Vec::new(), path: Vec::new(), options: &expired };
        assert_eq!(check_anchor(&mut checker, &Indexed::new(&root)).unwrap_err().reason, Reason::Expired);
    }

    /// Every root of Debian's `ca-certificates` (Mozilla's store) is a trust anchor under
    /// every profile: the anchor rules refuse no root a browser trusts.
    #[test]
    fn every_root_of_mozillas_store_is_a_trust_anchor_in_every_profile() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/real-roots/debian-ca-certificates-20230311+deb12u1.pem");
        let roots = crate::x509::load_pem_chain(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(roots.len(), 142);
        for profile in [crate::x509::Profile::Rfc5280, crate::x509::Profile::WebPki, crate::x509::Profile::Smime] {
            for root in &roots {
                let mut options = ValidationOptions::new(root.not_before, Purpose::Server);
                options.profile = profile;
                let mut checker = Checker { checks: Vec::new(), path: Vec::new(), options: &options };
                let verdict = check_anchor(&mut checker, &Indexed::new(root));
                assert!(verdict.is_ok(), "{profile:?}: {}", verdict.unwrap_err().message);
            }
        }
    }

    /// A mismatch names the SAN's entries, eight at most, then how many more.
    #[test]
    fn a_mismatch_shows_at_most_eight_san_entries() {
        let dns = |i: usize| GeneralName::DnsName(der::asn1::Ia5String::new(&format!("h{i}.example")).unwrap());
        let eight: Vec<GeneralName> = (0..8).map(dns).collect();
        assert_eq!(show_sans(&eight[..1]), "DNS:h0.example");
        let shown = show_sans(&eight);
        assert!(shown.ends_with("DNS:h7.example") && !shown.contains("more"), "{shown}");
        let nine: Vec<GeneralName> = (0..9).map(dns).collect();
        let shown = show_sans(&nine);
        assert!(shown.ends_with("DNS:h7.example, and 1 more") && !shown.contains("h8"), "{shown}");
    }
}
