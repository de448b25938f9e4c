//! Revocation by CRL, RFC 5280 §6.3: what the CRLs given with `--crl` say about one
//! certificate of a path. Per distribution point of the certificate, each CRL that may
//! speak for it is checked step by step — scope (`scope.rs`, §6.3.3 (b)), the reasons it
//! covers ((c), (d)), currency ((a)), its signer ((f), (g): found and validated by path
//! validation through [`SignerSource`], since the signer needs a certification path of
//! its own), a delta CRL on top of it (`delta.rs`, (h), (i)) and its entries
//! (`entries.rs`, (j), (k)) — until CRLs covering every reason were consulted ((l)) or
//! one lists the certificate. A certificate whose status no such set of CRLs gives is
//! `revocation-unknown`: once CRLs are given, every certificate needs a status, and the
//! path fails closed.
//!
//! Everything here may be hostile (a `--crl` can hold a million entries, or a thousand
//! CRLs naming one issuer): each CRL's extensions are read once, its signature checked
//! at most once per key and spent from the budget, its entries indexed in a hash map on
//! first use, and every (distribution point, CRL) pair considered spends a build step.

pub mod delta;
pub mod entries;
pub mod scope;

use crate::x509::Reason;
use crate::x509::budget::{Budget, Exhausted};
use crate::x509::name::{NameKey, name_key};
use crate::x509::pool::Indexed;
use crate::x509::received::Crl;
use crate::x509::signature::verify_message;
use der::Decode;
use der::oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_CRL_NUMBER, ID_CE_DELTA_CRL_INDICATOR, ID_CE_FRESHEST_CRL,
    ID_CE_ISSUER_ALT_NAME, ID_CE_ISSUING_DISTRIBUTION_POINT, ID_PE_AUTHORITY_INFO_ACCESS,
};
use entries::Entries;
use scope::{CrlScope, EVERY_REASON, Point, PointName};
use std::collections::{HashMap, HashSet};
use x509_cert::ext::pkix::crl::{BaseCrlNumber, CrlNumber, CrlReason, IssuingDistributionPoint};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, KeyUsage, KeyUsages};

/// A refusal: the reason code and what happened.
pub type Refusal = (Reason, String);

/// Every CRL in a file: PEM blocks (`X509 CRL`) or one DER CRL.
pub fn load_crls(bytes: &[u8]) -> Result<Vec<Crl>, String> {
    if !bytes.starts_with(b"-----BEGIN") {
        return Crl::from_der(bytes).map(|crl| vec![crl]).map_err(|e| format!("not a DER CRL: {e}"));
    }
    let mut crls = Vec::new();
    for block in crate::x509::cert::pem_blocks(bytes, "X509 CRL") {
        crls.push(Crl::from_der(&block?).map_err(|e| format!("not a CRL: {e}"))?);
    }
    if crls.is_empty() {
        return Err("the file holds no X509 CRL".into());
    }
    Ok(crls)
}

fn time(t: &x509_cert::time::Time) -> i64 {
    t.to_unix_duration().as_secs() as i64
}

/// The times revocation is judged by. Normally one: the verification time, at which the
/// CRLs must be current and any entry revokes. For a signature a trusted time stamp dates
/// by `signed_at` (its genTime plus its accuracy), the CRLs must be current at `crls_at` (the verification
/// time), and an entry dated after `signed_at` revokes only for a reason that casts doubt
/// on signatures made before it: keyCompromise, cACompromise, aACompromise, unspecified,
/// or no reason at all (a compromise may have begun before it was found out). For
/// affiliationChanged, superseded, cessationOfOperation, certificateHold or
/// privilegeWithdrawn after genTime, the signature stands, as Authenticode and Java's
/// jarsigner judge time-stamped code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// When the CRLs must be current.
    pub crls_at: i64,
    /// The trusted time of the signature, when a time stamp vouches for one.
    pub signed_at: Option<i64>,
}

impl Clock {
    /// The ordinary clock: everything at `at`.
    pub fn at(at: i64) -> Clock {
        Clock { crls_at: at, signed_at: None }
    }
}

/// Whether an entry with `reason` dated `revoked_at` still revokes a signature made at
/// `signed_at` (see [`Clock`]).
fn revokes(reason: Option<CrlReason>, revoked_at: i64, signed_at: Option<i64>) -> bool {
    let Some(signed_at) = signed_at else { return true };
    let forgivable = matches!(
        reason,
        Some(
            CrlReason::AffiliationChanged
                | CrlReason::Superseded
                | CrlReason::CessationOfOperation
                | CrlReason::CertificateHold
                | CrlReason::PrivilegeWithdrawn
        )
    );
    revoked_at <= signed_at || !forgivable
}

/// What is read once from each CRL's own fields and extensions.
#[derive(Debug, Default)]
struct Prepared {
    issuer: NameKey,
    this_update: i64,
    next_update: Option<i64>,
    idp: Option<IssuingDistributionPoint>,
    idp_der: Option<Vec<u8>>,
    /// The distribution point names its issuingDistributionPoint names, resolved once.
    idp_names: Option<Vec<PointName>>,
    number: Option<Vec<u8>>,
    delta_base: Option<Vec<u8>>,
    authority_key: Option<Vec<u8>>,
    /// Why the CRL cannot be used at all, if it cannot: an unknown critical extension,
    /// an unreadable or repeated one.
    unusable: Option<String>,
}

impl Prepared {
    fn new(crl: &Crl) -> Prepared {
        let list = &crl.tbs_cert_list;
        let mut prepared = Prepared {
            issuer: name_key(&list.issuer),
            this_update: time(&list.this_update),
            next_update: list.next_update.as_ref().map(time),
            ..Prepared::default()
        };
        let mut seen = HashSet::new();
        for extension in list.crl_extensions.iter().flatten() {
            if !seen.insert(extension.extn_id) {
                prepared.unusable = Some(format!("it has extension {} twice", extension.extn_id));
                break;
            }
            if let Err(why) = prepared.read(extension) {
                prepared.unusable = Some(why);
                break;
            }
        }
        if prepared.unusable.is_none() && prepared.number.is_none() {
            prepared.unusable = Some("it has no cRLNumber, which RFC 5280 §5.2.3 requires in every CRL".into());
        }
        // Without nextUpdate a CRL would never go stale, and a years-old one could be
        // replayed to hide a later revocation; conforming issuers always set it (§5.1.2.5).
        if prepared.unusable.is_none() && prepared.next_update.is_none() {
            prepared.unusable = Some("it has no nextUpdate, which RFC 5280 §5.1.2.5 requires in every CRL".into());
        }
        prepared.idp_names = prepared.idp.as_ref().and_then(|idp| scope::idp_point_names(idp, &list.issuer));
        prepared
    }

    /// Reads one CRL extension (RFC 5280 §5.2).
    fn read(&mut self, extension: &x509_cert::ext::Extension) -> Result<(), String> {
        let value = extension.extn_value.as_bytes();
        let unreadable = |what: &str, e: der::Error| format!("its {what} extension is unreadable: {e}");
        match extension.extn_id {
            ID_CE_CRL_NUMBER if extension.critical => {
                return Err("its cRLNumber is critical (RFC 5280 §5.2.3: non-critical)".into());
            }
            ID_CE_CRL_NUMBER => {
                let number = CrlNumber::from_der(value).map_err(|e| unreadable("cRLNumber", e))?;
                self.number = Some(delta::minimal(number.0.as_bytes()));
            }
            ID_CE_DELTA_CRL_INDICATOR => {
                let base = BaseCrlNumber::from_der(value).map_err(|e| unreadable("deltaCRLIndicator", e))?;
                self.delta_base = Some(delta::minimal(base.0.as_bytes()));
            }
            ID_CE_ISSUING_DISTRIBUTION_POINT => {
                let idp =
                    IssuingDistributionPoint::from_der(value).map_err(|e| unreadable("issuingDistributionPoint", e))?;
                let only =
                    [idp.only_contains_user_certs, idp.only_contains_ca_certs, idp.only_contains_attribute_certs];
                if only.iter().filter(|set| **set).count() > 1 {
                    return Err("its issuingDistributionPoint sets more than one onlyContains field".into());
                }
                self.idp_der = Some(value.to_vec());
                self.idp = Some(idp);
            }
            ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                let aki =
                    AuthorityKeyIdentifier::from_der(value).map_err(|e| unreadable("authorityKeyIdentifier", e))?;
                self.authority_key = aki.key_identifier.map(|id| id.into_bytes().into_vec());
            }
            ID_CE_ISSUER_ALT_NAME | ID_CE_FRESHEST_CRL | ID_PE_AUTHORITY_INFO_ACCESS => {}
            other if extension.critical => {
                return Err(format!("it has critical extension {other}, which keyseal does not process"));
            }
            _ => {}
        }
        Ok(())
    }

    /// RFC 5280 §6.3.3 (a): current at `at` — issued, and not past its nextUpdate.
    fn current(&self, at: i64) -> bool {
        self.this_update <= at && self.next_update.is_some_and(|next| next >= at)
    }

    fn numbers(&self) -> delta::Numbers<'_> {
        delta::Numbers {
            number: self.number.as_deref(),
            base: self.delta_base.as_deref(),
            scope: self.idp_der.as_deref(),
        }
    }
}

/// The CRLs of one validation, indexed once: by issuer name (newest first), with each
/// CRL's extensions read up front, its signature verified at most once per key, its
/// entries indexed on first use, and the outcome of each CRL signer's own path validation
/// remembered. A validation may check many paths; none of that repeats work proportional
/// to the size of the CRLs.
pub struct CrlIndex<'a> {
    crls: &'a [Crl],
    prepared: Vec<Prepared>,
    by_issuer: HashMap<NameKey, Vec<usize>>,
    verified: HashMap<(usize, [u8; 32]), bool>,
    entries: HashMap<usize, Result<Entries, String>>,
    signer_paths: HashMap<([u8; 32], [u8; 32]), Result<(), Refusal>>,
}

impl<'a> CrlIndex<'a> {
    /// Indexes `crls` by issuer.
    pub fn new(crls: &'a [Crl]) -> CrlIndex<'a> {
        let prepared: Vec<Prepared> = crls.iter().map(Prepared::new).collect();
        let mut by_issuer: HashMap<NameKey, Vec<usize>> = HashMap::new();
        for (at, crl) in prepared.iter().enumerate() {
            by_issuer.entry(crl.issuer.clone()).or_default().push(at);
        }
        for list in by_issuer.values_mut() {
            list.sort_by_key(|at| std::cmp::Reverse(prepared[*at].this_update));
        }
        CrlIndex {
            crls,
            prepared,
            by_issuer,
            verified: HashMap::new(),
            entries: HashMap::new(),
            signer_paths: HashMap::new(),
        }
    }

    /// Whether any CRL was given at all.
    pub fn is_empty(&self) -> bool {
        self.crls.is_empty()
    }

    /// The issuer of CRL `at`, in comparable form.
    pub fn issuer(&self, at: usize) -> &NameKey {
        &self.prepared[at].issuer
    }

    /// The key identifier in CRL `at`'s authorityKeyIdentifier, if any.
    pub fn authority_key(&self, at: usize) -> Option<&[u8]> {
        self.prepared[at].authority_key.as_deref()
    }

    /// `the CRL of "CN=..." issued 2024-...`: how messages name a CRL.
    pub fn describe(&self, at: usize) -> String {
        let list = &self.crls[at].tbs_cert_list;
        let kind = if self.prepared[at].delta_base.is_some() { "delta CRL" } else { "CRL" };
        format!("the {kind} of \"{}\" issued {}", crate::x509::display::show_name(&list.issuer), list.this_update)
    }

    /// Whether CRL `at` verifies with `signer`'s key (RFC 5280 §6.3.3 (g)); the first
    /// check of each pair spends one signature from the budget.
    pub fn signed_by(&mut self, at: usize, signer: &Indexed<'_>, budget: &mut Budget) -> Result<bool, Refusal> {
        if let Some(known) = self.verified.get(&(at, signer.hash)) {
            return Ok(*known);
        }
        budget.signature().map_err(exhausted)?;
        let crl = &self.crls[at];
        let signature = crl.signature.as_bytes().unwrap_or_default();
        let verifies = crl.signature_algorithm == crl.tbs_cert_list.signature
            && verify_message(
                signer.cert.tbs_certificate().subject_public_key_info(),
                &crl.signature_algorithm,
                crl.signed_message(),
                signature,
            )
            .is_ok();
        self.verified.insert((at, signer.hash), verifies);
        Ok(verifies)
    }

    /// The outcome of validating `signer`'s own certification path to `anchor`, if it
    /// was validated before in this validation.
    pub fn signer_path(&self, signer: &Indexed<'_>, anchor: &Indexed<'_>) -> Option<Result<(), Refusal>> {
        self.signer_paths.get(&(signer.hash, anchor.hash)).cloned()
    }

    /// Remembers the outcome of validating `signer`'s path to `anchor`.
    pub fn remember_signer_path(&mut self, signer: &Indexed<'_>, anchor: &Indexed<'_>, outcome: Result<(), Refusal>) {
        self.signer_paths.insert((signer.hash, anchor.hash), outcome);
    }

    /// The entries of CRL `at`, indexed on first use; an error says why the CRL cannot be
    /// used.
    fn entries(&mut self, at: usize) -> Result<&Entries, String> {
        let (crls, prepared) = (self.crls, &self.prepared);
        let built = self.entries.entry(at).or_insert_with(|| {
            let indirect = prepared[at].idp.as_ref().is_some_and(|idp| idp.indirect_crl);
            Entries::new(&crls[at].tbs_cert_list, &prepared[at].issuer, indirect)
        });
        built.as_ref().map_err(Clone::clone)
    }

    /// The entry of CRL `at` for `cert`, if it lists it.
    fn listing(&mut self, at: usize, cert: &Indexed<'_>) -> Option<&x509_cert::crl::RevokedCert> {
        let crls = self.crls;
        let index =
            self.entries(at).ok()?.find(&cert.issuer, cert.cert.tbs_certificate().serial_number().as_bytes())?;
        crls[at].tbs_cert_list.revoked_certificates.as_ref()?.get(index)
    }
}

fn exhausted(e: Exhausted) -> Refusal {
    (Reason::BudgetExceeded, e.describe())
}

/// Finds the certificate whose key signed a CRL and that may sign CRLs for the
/// certificate being checked (RFC 5280 §6.3.3 (f), (g)): path validation supplies it,
/// since that signer needs a valid certification path to the same trust anchor.
pub trait SignerSource<'s> {
    /// The validated signer of CRL `crl`, or why there is none. A budget that ran out is
    /// `budget-exceeded`.
    fn signer(&mut self, crl: usize, crls: &mut CrlIndex<'_>, budget: &mut Budget) -> Result<&'s Indexed<'s>, Refusal>;
}

/// RFC 5280 §6.3.3 (f): the signer of a CRL may sign CRLs — a keyUsage, if present,
/// has cRLSign.
pub fn check_crl_sign(signer: &Indexed<'_>) -> Result<(), String> {
    match signer.cert.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(Some((_, usage))) if !usage.0.contains(KeyUsages::CRLSign) => Err(format!(
            "{} signed it, but its keyUsage lacks cRLSign, so it may not sign CRLs",
            crate::x509::describe(signer.cert)
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{} has an unreadable keyUsage: {e}", crate::x509::describe(signer.cert))),
    }
}

/// How far a CRL got before it could not be used: of the CRLs that could not give a
/// status, the one that got furthest says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Scope,
    Extensions,
    Current,
    Signer,
    Entries,
}

/// RFC 5280 §6.3.3's state for one certificate: the reasons covered so far, and why the
/// CRLs that could not be used could not.
struct Progress {
    reasons_mask: u16,
    problem: Option<(Stage, Refusal)>,
    consulted: Vec<String>,
}

impl Progress {
    /// Notes why a CRL could not be used, if it got further than any before; the message
    /// is only made then (a hostile input can make many CRLs fail alike).
    fn note(&mut self, stage: Stage, reason: Reason, message: impl FnOnce() -> String) {
        if self.problem.as_ref().is_none_or(|(seen, _)| stage > *seen) {
            self.problem = Some((stage, (reason, message())));
        }
    }

    fn complete(&self) -> bool {
        self.reasons_mask & EVERY_REASON == EVERY_REASON
    }
}

/// The status of `cert` from the CRLs at `at` (RFC 5280 §6.3.3). `Ok` describes the CRLs
/// that show it is not revoked for any reason; `Err` is `revoked` (with the reasonCode),
/// or why no status could be found (`revocation-unknown`, or the more specific
/// `crl-expired`, `crl-bad-signature`, `crl-invalid` when that is what stopped the CRL
/// that got furthest), or `budget-exceeded`.
pub fn check<'s>(
    cert: &Indexed<'_>,
    crls: &mut CrlIndex<'_>,
    clock: Clock,
    budget: &mut Budget,
    signers: &mut dyn SignerSource<'s>,
) -> Result<String, Refusal> {
    let who = crate::x509::describe(cert.cert);
    let points =
        scope::distribution_points(cert).map_err(|why| (Reason::MalformedCertificate, format!("{who}: {why}")))?;
    let subject = Subject { cert, is_ca: scope::is_ca(cert), at: clock.crls_at, signed_at: clock.signed_at };
    let mut progress = Progress { reasons_mask: 0, problem: None, consulted: Vec::new() };
    for point in &points {
        for issuer in point.crl_issuers(cert) {
            let count = crls.by_issuer.get(&issuer).map_or(0, Vec::len);
            for nth in 0..count {
                if progress.complete() {
                    break;
                }
                budget.build_step().map_err(exhausted)?;
                let Some(crl) = crls.by_issuer.get(&issuer).and_then(|list| list.get(nth)).copied() else { break };
                consult(&subject, point, crl, crls, budget, signers, &mut progress)?;
            }
        }
    }
    if progress.complete() {
        return Ok(format!("not revoked; all reasons covered by {}", progress.consulted.join("; ")));
    }
    Err(undetermined(&who, cert, &progress))
}

/// Why the status of `cert` is UNDETERMINED (RFC 5280 §6.3.3, after (l)).
fn undetermined(who: &str, cert: &Indexed<'_>, progress: &Progress) -> Refusal {
    if let Some((stage, problem)) = &progress.problem
        && *stage > Stage::Scope
    {
        return problem.clone();
    }
    if progress.reasons_mask != 0 {
        let missing = EVERY_REASON & !progress.reasons_mask;
        return (
            Reason::RevocationUnknown,
            format!(
                "the CRLs given for {who} cover only some revocation reasons; none covers {}: pass the CRLs for those reasons with --crl",
                scope::reason_names(missing)
            ),
        );
    }
    let issuer = cert.cert.tbs_certificate().issuer();
    let why = match &progress.problem {
        Some((_, (_, message))) => format!(" ({message})"),
        None => String::new(),
    };
    (
        Reason::RevocationUnknown,
        format!(
            "no CRL covering {who} for all reasons was given{why}: pass the current CRL of its issuer \"{issuer}\" (or of the cRLIssuer its distribution point names) with --crl"
        ),
    )
}

/// The certificate whose status is sought, and what every CRL is checked against.
struct Subject<'c, 'x> {
    cert: &'c Indexed<'x>,
    /// Whether it is a CA certificate (for onlyContainsUserCerts / onlyContainsCACerts).
    is_ca: bool,
    /// When the CRLs must be current.
    at: i64,
    /// The time-stamped time of the signature, if any (see [`Clock`]).
    signed_at: Option<i64>,
}

/// RFC 5280 §6.3.3 (a)–(l) for one CRL at one distribution point: adds the reasons it
/// covers to `progress`, or notes why it cannot be used. `Err` only for `revoked` and an
/// exhausted budget.
fn consult<'s>(
    subject: &Subject<'_, '_>,
    point: &Point,
    crl: usize,
    crls: &mut CrlIndex<'_>,
    budget: &mut Budget,
    signers: &mut dyn SignerSource<'s>,
    progress: &mut Progress,
) -> Result<(), Refusal> {
    let (cert, at) = (subject.cert, subject.at);
    let prepared = &crls.prepared[crl];
    if prepared.delta_base.is_some() {
        return Ok(()); // (a)(2): a delta is only read on top of its complete CRL
    }
    let what = || crls.describe(crl);
    if let Some(why) = &prepared.unusable {
        progress.note(Stage::Extensions, Reason::CrlInvalid, || format!("{} cannot be used: {why}", what()));
        return Ok(());
    }
    let scope =
        CrlScope { issuer: &prepared.issuer, idp: prepared.idp.as_ref(), point_names: prepared.idp_names.as_deref() };
    if let Err(why) = scope::check_scope(point, cert, subject.is_ca, &scope, budget).map_err(exhausted)? {
        progress.note(Stage::Scope, Reason::RevocationUnknown, || format!("{} does not cover it: {why}", what()));
        return Ok(());
    }
    let interim = scope::interim_reasons(prepared.idp.as_ref(), point);
    if !scope::check_new_reasons(interim, progress.reasons_mask) {
        return Ok(());
    }
    if !prepared.current(at) {
        progress.note(Stage::Current, Reason::CrlExpired, || {
            format!(
                "{} is not current at the verification time (next update {}): get a current one",
                what(),
                next_update(crls, crl)
            )
        });
        return Ok(());
    }
    let signer = match signers.signer(crl, crls, budget) {
        Ok(signer) => signer,
        Err((Reason::BudgetExceeded, message)) => return Err((Reason::BudgetExceeded, message)),
        Err((reason, message)) => {
            progress.note(Stage::Signer, reason, || format!("{} cannot be used: {message}", crls.describe(crl)));
            return Ok(());
        }
    };
    if let Err(why) = crls.entries(crl) {
        let why = why.to_string();
        progress.note(Stage::Entries, Reason::CrlInvalid, || format!("{} cannot be used: {why}", crls.describe(crl)));
        return Ok(());
    }
    let delta = find_delta(crl, signer, crls, at, budget)?;
    let forgiven = check_listing(cert, crl, delta, crls, subject.signed_at)?;
    progress.reasons_mask |= interim;
    let consulted = match delta {
        Some(delta) => format!("{} with {}", crls.describe(crl), crls.describe(delta)),
        None => crls.describe(crl),
    };
    progress.consulted.push(match forgiven {
        Some(note) => format!("{consulted} ({note})"),
        None => consulted,
    });
    Ok(())
}

fn next_update(crls: &CrlIndex<'_>, crl: usize) -> String {
    crls.crls[crl].tbs_cert_list.next_update.map_or_else(|| "none".into(), |next| next.to_string())
}

/// RFC 5280 §6.3.3 (a)(2), (h): the newest delta CRL that updates complete CRL
/// `complete` — same issuer and scope, a fitting base, current, readable, and signed by
/// the complete CRL's signer. Deltas that do not fit are passed over.
fn find_delta(
    complete: usize,
    signer: &Indexed<'_>,
    crls: &mut CrlIndex<'_>,
    at: i64,
    budget: &mut Budget,
) -> Result<Option<usize>, Refusal> {
    let issuer = &crls.prepared[complete].issuer;
    let mut deltas: Vec<usize> = crls
        .by_issuer
        .get(issuer)
        .into_iter()
        .flatten()
        .copied()
        .filter(|d| {
            let candidate = &crls.prepared[*d];
            candidate.unusable.is_none()
                && candidate.current(at)
                && delta::check_delta_base(&crls.prepared[complete].numbers(), &candidate.numbers()).is_ok()
        })
        .collect();
    deltas.sort_by(|a, b| {
        let number = |at: &usize| crls.prepared[*at].number.clone().unwrap_or_default();
        delta::compare(&number(b), &number(a))
    });
    for candidate in deltas {
        budget.build_step().map_err(exhausted)?;
        if crls.signed_by(candidate, signer, budget)? && crls.entries(candidate).is_ok() {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// RFC 5280 §6.3.3 (i)–(k): what the delta (first) and the complete CRL say. A delta's
/// removeFromCRL entry takes the certificate off the complete CRL; otherwise an entry on
/// either revokes it — unless a time stamp dates the signature before a revocation that
/// does not reach back ([`Clock`]): then `Ok` says so.
fn check_listing(
    cert: &Indexed<'_>,
    complete: usize,
    delta: Option<usize>,
    crls: &mut CrlIndex<'_>,
    signed_at: Option<i64>,
) -> Result<Option<String>, Refusal> {
    for crl in delta.into_iter().chain([complete]) {
        let what = crls.describe(crl);
        let Some(entry) = crls.listing(crl, cert) else { continue };
        let reason = entries::reason(entry);
        if reason == Some(CrlReason::RemoveFromCRL) {
            return Ok(None);
        }
        let why = reason.map_or("no reason given", scope::reason_name);
        let revoked = format!("{} was revoked at {} ({why})", crate::x509::describe(cert.cert), entry.revocation_date);
        if !revokes(reason, time(&entry.revocation_date), signed_at) {
            return Ok(Some(format!(
                "{revoked}, after the time-stamped signing time, for a reason that does not reach back: the signature stands"
            )));
        }
        return Err((Reason::Revoked, format!("{revoked}, says {what}")));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::received::Cert;

    fn cert(name: &str) -> Cert {
        let path = format!("{}/fixtures/pkits/certs/{name}", env!("CARGO_MANIFEST_DIR"));
        Cert::from_der(&std::fs::read(path).unwrap()).unwrap()
    }

    fn crl(name: &str) -> Crl {
        let path = format!("{}/fixtures/pkits/crls/{name}", env!("CARGO_MANIFEST_DIR"));
        Crl::from_der(&std::fs::read(path).unwrap()).unwrap()
    }

    /// The certificate's issuer as the only signer there is, as on a one-CA path.
    struct Issuer<'s>(&'s Indexed<'s>);

    impl<'s> SignerSource<'s> for Issuer<'s> {
        fn signer(
            &mut self,
            crl: usize,
            crls: &mut CrlIndex<'_>,
            budget: &mut Budget,
        ) -> Result<&'s Indexed<'s>, Refusal> {
            if crls.signed_by(crl, self.0, budget)? {
                Ok(self.0)
            } else {
                Err((Reason::CrlBadSignature, "does not verify".into()))
            }
        }
    }

    /// 2024-01-01, inside every PKITS CRL's validity but the stale ones.
    const AT: i64 = 1_704_067_200;

    fn status(leaf: &str, issuer: &str, given: &[Crl]) -> Result<String, Refusal> {
        status_at(AT, leaf, issuer, given)
    }

    fn status_at(at: i64, leaf: &str, issuer: &str, given: &[Crl]) -> Result<String, Refusal> {
        let (leaf, issuer) = (cert(leaf), cert(issuer));
        let (leaf, issuer) = (Indexed::new(&leaf), Indexed::new(&issuer));
        let mut crls = CrlIndex::new(given);
        check(&leaf, &mut crls, Clock::at(at), &mut Budget::default(), &mut Issuer(&issuer))
    }

    #[test]
    fn a_delta_crl_counts_only_on_top_of_its_base() {
        let (base, delta) = (crl("deltaCRLCA1CRL.crl"), crl("deltaCRLCA1deltaCRL.crl"));
        // Serial 03 is revoked by the delta alone; serial 04 is on hold in the base and
        // taken off (removeFromCRL) by the delta.
        let revoked = status("InvaliddeltaCRLTest4EE.crt", "deltaCRLCA1Cert.crt", &[base.clone(), delta.clone()]);
        assert_eq!(revoked.map_err(|(reason, _)| reason), Err(Reason::Revoked));
        assert!(status("InvaliddeltaCRLTest4EE.crt", "deltaCRLCA1Cert.crt", std::slice::from_ref(&base)).is_ok());
        assert!(status("ValiddeltaCRLTest5EE.crt", "deltaCRLCA1Cert.crt", &[base.clone(), delta.clone()]).is_ok());
        let held = status("ValiddeltaCRLTest5EE.crt", "deltaCRLCA1Cert.crt", std::slice::from_ref(&base));
        assert_eq!(held.map_err(|(reason, _)| reason), Err(Reason::Revoked));
        let alone = status("ValiddeltaCRLTest5EE.crt", "deltaCRLCA1Cert.crt", &[delta]);
        assert_eq!(alone.map_err(|(reason, _)| reason), Err(Reason::RevocationUnknown));
    }

    #[test]
    fn crls_for_some_reasons_leave_the_status_unknown() {
        let given = [crl("onlySomeReasonsCA2CRL1.crl"), crl("onlySomeReasonsCA2CRL2.crl")];
        let (reason, message) = status("InvalidonlySomeReasonsTest17EE.crt", "onlySomeReasonsCA2Cert.crt", &given)
            .expect_err("not all reasons are covered");
        assert_eq!(reason, Reason::RevocationUnknown);
        assert!(message.contains("key-compromise"), "{message}");
    }

    #[test]
    fn many_unverifiable_crls_run_out_the_signature_budget() {
        // Copies of a CRL whose signature does not verify: each is a CRL of its own, so
        // each costs a signature check, and the budget ends the work.
        let bad = crl("BadCRLSignatureCACRL.crl");
        let given = vec![bad; 2 * crate::x509::budget::SIGNATURE_CHECKS as usize];
        let refused = status("InvalidBadCRLSignatureTest4EE.crt", "BadCRLSignatureCACert.crt", &given);
        assert_eq!(refused.map_err(|(reason, _)| reason), Err(Reason::BudgetExceeded));
        // A single one is what it is: a CRL whose signature does not verify.
        let (reason, _) = status(
            "InvalidBadCRLSignatureTest4EE.crt",
            "BadCRLSignatureCACert.crt",
            &[crl("BadCRLSignatureCACRL.crl")],
        )
        .expect_err("bad signature");
        assert_eq!(reason, Reason::CrlBadSignature);
    }

    #[test]
    fn a_stale_crl_says_so() {
        let (reason, message) = status(
            "InvalidOldCRLnextUpdateTest11EE.crt",
            "OldCRLnextUpdateCACert.crt",
            &[crl("OldCRLnextUpdateCACRL.crl")],
        )
        .expect_err("stale");
        assert_eq!(reason, Reason::CrlExpired);
        assert!(message.contains("current"), "{message}");
    }

    /// Regression (review finding): a CRL without nextUpdate never went stale, so a
    /// years-old one could be replayed; RFC 5280 §5.1.2.5 requires nextUpdate.
    #[test]
    fn a_crl_without_next_update_does_not_count() {
        use der::{Decode, Encode};
        let good = crl("GoodCACRL.crl");
        assert!(Prepared::new(&good).unusable.is_none());
        let mut list: x509_cert::crl::CertificateList =
            x509_cert::crl::CertificateList::from_der(&good.to_der().unwrap()).unwrap();
        list.tbs_cert_list.next_update = None;
        let open_ended = Crl::from_der(&list.to_der().unwrap()).unwrap();
        let prepared = Prepared::new(&open_ended);
        assert!(prepared.unusable.as_deref().unwrap_or("").contains("nextUpdate"), "{:?}", prepared.unusable);
        assert!(!prepared.current(AT));
    }

    /// A CRL entry revokes every signature, unless a time stamp dates the signature before
    /// the revocation and the reason does not reach back (RFC 5280 §5.3.1: only these
    /// reasons say the key was never at fault).
    #[test]
    fn a_revocation_reaches_back_unless_its_reason_forgives() {
        assert!(revokes(Some(CrlReason::Superseded), 100, None), "no time stamp: revoked");
        assert!(revokes(None, 100, Some(100)), "revoked at the very moment of signing");
        assert!(revokes(Some(CrlReason::Superseded), 100, Some(200)), "signed after the revocation");
        assert!(!revokes(Some(CrlReason::Superseded), 100, Some(99)), "signed before, superseded");
        for forgiving in [
            CrlReason::AffiliationChanged,
            CrlReason::CessationOfOperation,
            CrlReason::CertificateHold,
            CrlReason::PrivilegeWithdrawn,
        ] {
            assert!(!revokes(Some(forgiving), 100, Some(99)), "{forgiving:?}");
        }
        for reaching_back in [None, Some(CrlReason::KeyCompromise), Some(CrlReason::CaCompromise)] {
            assert!(revokes(reaching_back, 100, Some(99)), "{reaching_back:?}");
        }
    }

    /// GoodCACRL with `extension` added.
    fn good_crl_with(extension: x509_cert::ext::Extension) -> Crl {
        use der::{Decode, Encode};
        let good = crl("GoodCACRL.crl");
        let mut list: x509_cert::crl::CertificateList =
            x509_cert::crl::CertificateList::from_der(&good.to_der().unwrap()).unwrap();
        list.tbs_cert_list.crl_extensions.get_or_insert_with(Vec::new).push(extension);
        Crl::from_der(&list.to_der().unwrap()).unwrap()
    }

    /// RFC 5280 §5.2: issuerAltName, freshestCRL and authorityInfoAccess are known (and
    /// not acted on) even when critical; an unknown extension is ignored unless critical.
    #[test]
    fn only_an_unknown_critical_crl_extension_makes_it_unusable() {
        let extension = |oid: &str, critical| x509_cert::ext::Extension {
            extn_id: der::asn1::ObjectIdentifier::new_unwrap(oid),
            critical,
            extn_value: der::asn1::OctetString::new(vec![0x30, 0x00]).unwrap(),
        };
        for known in ["2.5.29.18", "2.5.29.46", "1.3.6.1.5.5.7.1.1"] {
            let prepared = Prepared::new(&good_crl_with(extension(known, true)));
            assert_eq!(prepared.unusable, None, "{known}");
        }
        assert_eq!(Prepared::new(&good_crl_with(extension("1.2.3.4", false))).unusable, None);
        let refused = Prepared::new(&good_crl_with(extension("1.2.3.4", true))).unusable.unwrap();
        assert!(refused.contains("critical extension 1.2.3.4"), "{refused}");
    }

    /// Of the problems met, the one of the CRL that got furthest is kept (the first of
    /// those that got as far), and its message is only made when it is kept.
    #[test]
    fn the_problem_of_the_crl_that_got_furthest_is_kept() {
        let mut progress = Progress { reasons_mask: 0, problem: None, consulted: Vec::new() };
        progress.note(Stage::Scope, Reason::RevocationUnknown, || "scope".into());
        progress.note(Stage::Current, Reason::CrlExpired, || "stale".into());
        progress.note(Stage::Current, Reason::CrlExpired, || panic!("not made: no further than the last"));
        progress.note(Stage::Scope, Reason::RevocationUnknown, || panic!("not made: not as far"));
        assert_eq!(progress.problem, Some((Stage::Current, (Reason::CrlExpired, "stale".to_string()))));
    }

    /// A CRL that is not in scope says nothing specific: the status is unknown for want of
    /// a CRL of the issuer, named; a CRL covering some reasons names only the others.
    #[test]
    fn an_undetermined_status_says_what_is_missing() {
        let (reason, message) =
            status("ValidCertificatePathTest1EE.crt", "GoodCACert.crt", &[crl("BadSignedCACRL.crl")])
                .expect_err("the CRL of another issuer");
        assert_eq!(reason, Reason::RevocationUnknown);
        assert!(message.contains("no CRL covering") && message.contains("Good CA"), "{message}");
        // A CRL of the right issuer that does not cover it (onlyContainsCACerts, for an end
        // entity): still the generic answer, naming why that CRL did not count.
        let (reason, message) = status(
            "InvalidonlyContainsCACertsTest12EE.crt",
            "onlyContainsCACertsCACert.crt",
            &[crl("onlyContainsCACertsCACRL.crl")],
        )
        .expect_err("out of scope");
        assert_eq!(reason, Reason::RevocationUnknown);
        assert!(message.starts_with("no CRL covering") && message.contains("does not cover it"), "{message}");
        let given = [crl("onlySomeReasonsCA2CRL1.crl"), crl("onlySomeReasonsCA2CRL2.crl")];
        let (_, message) = status("InvalidonlySomeReasonsTest17EE.crt", "onlySomeReasonsCA2Cert.crt", &given)
            .expect_err("not all reasons are covered");
        let missing = message.split("none covers ").nth(1).unwrap_or_default();
        assert!(!missing.contains("affiliation-changed") && !missing.contains("superseded"), "{message}");
    }

    /// Messages name each CRL by its issuer and thisUpdate, and a stale one by its nextUpdate.
    #[test]
    fn messages_name_the_crls() {
        let ok = status("ValidCertificatePathTest1EE.crt", "GoodCACert.crt", &[crl("GoodCACRL.crl")]).unwrap();
        assert!(
            ok.contains("the CRL of \"CN=Good CA,O=Test Certificates 2011,C=US\" issued 2010-01-01T08:30:00Z"),
            "{ok}"
        );
        let (_, stale) = status(
            "InvalidOldCRLnextUpdateTest11EE.crt",
            "OldCRLnextUpdateCACert.crt",
            &[crl("OldCRLnextUpdateCACRL.crl")],
        )
        .expect_err("stale");
        assert!(stale.contains("(next update 2010-01-02T08:30:00Z)"), "{stale}");
    }

    /// A delta CRL counts only when current and signed by the complete CRL's signer: one
    /// not yet issued at the verification time, or whose signature does not verify, cannot
    /// take a certificate off hold (removeFromCRL).
    #[test]
    fn a_delta_crl_counts_only_when_current_and_signed() {
        use der::{Decode, Encode};
        let (base, delta) = (crl("deltaCRLCA1CRL.crl"), crl("deltaCRLCA1deltaCRL.crl"));
        let (held, ca) = ("ValiddeltaCRLTest5EE.crt", "deltaCRLCA1Cert.crt");
        assert!(status(held, ca, &[base.clone(), delta.clone()]).is_ok());
        // 2010-06-01: the complete CRL is current, the delta (issued 2011-01-01) not yet.
        let before_delta = status_at(1_275_381_000, held, ca, &[base.clone(), delta.clone()]);
        assert_eq!(before_delta.map_err(|(reason, _)| reason), Err(Reason::Revoked));
        let mut forged: x509_cert::crl::CertificateList =
            x509_cert::crl::CertificateList::from_der(&delta.to_der().unwrap()).unwrap();
        let mut signature = forged.signature.raw_bytes().to_vec();
        *signature.last_mut().unwrap() ^= 1;
        forged.signature = der::asn1::BitString::from_bytes(&signature).unwrap();
        let forged = Crl::from_der(&forged.to_der().unwrap()).unwrap();
        let unsigned = status(held, ca, &[base, forged]);
        assert_eq!(unsigned.map_err(|(reason, _)| reason), Err(Reason::Revoked));
    }

    /// Within one validation the outcome of a CRL signer's own path is remembered per
    /// signer and trust anchor, so a signer met again costs nothing.
    #[test]
    fn a_crl_signers_path_is_remembered_per_signer_and_anchor() {
        let (signer, anchor) = (cert("GoodCACert.crt"), cert("TrustAnchorRootCertificate.crt"));
        let (signer, anchor) = (Indexed::new(&signer), Indexed::new(&anchor));
        let mut crls = CrlIndex::new(&[]);
        assert_eq!(crls.signer_path(&signer, &anchor), None);
        let refused = Err((Reason::Expired, "expired".to_string()));
        crls.remember_signer_path(&signer, &anchor, refused.clone());
        assert_eq!(crls.signer_path(&signer, &anchor), Some(refused));
        assert_eq!(crls.signer_path(&anchor, &signer), None);
    }
}
