//! Revocation by CRL (RFC 5280 §6.3, for complete, direct CRLs): a CRL speaks for a
//! certificate when its issuer name is the certificate's issuer and its signature verifies
//! with that issuer's key. It must be current at the verification time (thisUpdate ≤ time
//! ≤ nextUpdate) and carry no critical extension keyseal does not process; then the
//! certificate is revoked if its serial is listed.

use crate::x509::Reason;
use crate::x509::budget::Budget;
use crate::x509::name::{NameKey, name_key};
use crate::x509::pool::Indexed;
use crate::x509::received::Crl;
use crate::x509::signature::verify_signed;
use der::Decode;
use spki::ObjectIdentifier;
use std::collections::HashMap;
use x509_cert::crl::RevokedCert;
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

const CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
const AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const ISSUING_DISTRIBUTION_POINT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
const FRESHEST_CRL: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.46");
const REASON_CODE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
const INVALIDITY_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.24");

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

/// What the CRLs say about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// No CRL given speaks for this certificate's issuer.
    NotCovered,
    /// A current CRL of its issuer does not list it (the CRL number, if any).
    Good,
}

fn time(t: &x509_cert::time::Time) -> i64 {
    t.to_unix_duration().as_secs() as i64
}

/// The CRLs of one validation, indexed once: by issuer name, with each CRL's signature
/// verified at most once per issuer key and its serials put in a hash map on first use.
/// A validation may check many paths; none of that repeats work proportional to the size
/// of the CRLs (a hostile `--crl` can hold a million entries).
pub struct CrlIndex<'a> {
    crls: &'a [Crl],
    by_issuer: HashMap<NameKey, Vec<usize>>,
    verified: HashMap<(usize, [u8; 32]), bool>,
    serials: HashMap<usize, HashMap<Vec<u8>, usize>>,
}

impl<'a> CrlIndex<'a> {
    /// Indexes `crls` by issuer.
    pub fn new(crls: &'a [Crl]) -> CrlIndex<'a> {
        let mut by_issuer: HashMap<NameKey, Vec<usize>> = HashMap::new();
        for (at, crl) in crls.iter().enumerate() {
            by_issuer.entry(name_key(&crl.tbs_cert_list.issuer)).or_default().push(at);
        }
        CrlIndex { crls, by_issuer, verified: HashMap::new(), serials: HashMap::new() }
    }

    /// Whether any CRL was given at all.
    pub fn is_empty(&self) -> bool {
        self.crls.is_empty()
    }

    /// Whether CRL `at` verifies with `issuer`'s key; the first check of each pair spends
    /// one signature from the budget.
    fn signed_by(&mut self, at: usize, issuer: &Indexed<'_>, budget: &mut Budget) -> Result<bool, (Reason, String)> {
        if let Some(known) = self.verified.get(&(at, issuer.hash)) {
            return Ok(*known);
        }
        budget.signature().map_err(|e| (Reason::BudgetExceeded, e.describe()))?;
        let crl = &self.crls[at];
        let list = &crl.tbs_cert_list;
        let signature = crl.signature.as_bytes().unwrap_or_default();
        let verifies = crl.signature_algorithm == list.signature
            && verify_signed(
                issuer.cert.tbs_certificate().subject_public_key_info(),
                &crl.signature_algorithm,
                crl.signed_bytes(),
                signature,
            )
            .is_ok();
        self.verified.insert((at, issuer.hash), verifies);
        Ok(verifies)
    }

    /// The entry of CRL `at` listing `serial`, if any.
    fn entry(&mut self, at: usize, serial: &[u8]) -> Option<&RevokedCert> {
        let crls = self.crls;
        let serials = self.serials.entry(at).or_insert_with(|| {
            let entries = crls[at].tbs_cert_list.revoked_certificates.as_deref().unwrap_or_default();
            entries.iter().enumerate().rev().map(|(i, entry)| (entry.serial_number.as_bytes().to_vec(), i)).collect()
        });
        let index = *serials.get(serial)?;
        crls[at].tbs_cert_list.revoked_certificates.as_ref()?.get(index)
    }
}

/// Checks `cert`, issued by `issuer`, against the CRLs at `at`. Of the CRLs its issuer
/// signed, the newest one current at `at` speaks; stale ones are passed over, and only
/// when none is current does that fail.
pub fn check(
    cert: &Indexed<'_>,
    issuer: &Indexed<'_>,
    crls: &mut CrlIndex<'_>,
    at: i64,
    budget: &mut Budget,
) -> Result<Revocation, (Reason, String)> {
    let tbs = cert.cert.tbs_certificate();
    let who = crate::x509::describe(cert.cert);
    let Some(issued_by_issuer) = crls.by_issuer.get(&cert.issuer).cloned() else {
        return Ok(Revocation::NotCovered);
    };
    let mut signed = Vec::new();
    for index in issued_by_issuer {
        if crls.signed_by(index, issuer, budget)? {
            signed.push(index);
        }
    }
    if signed.is_empty() {
        return Err((
            Reason::CrlBadSignature,
            format!("no CRL naming issuer \"{}\" verifies with the issuer's key", tbs.issuer()),
        ));
    }
    if let Ok(Some((_, usage))) = issuer.cert.tbs_certificate().get_extension::<KeyUsage>()
        && !usage.0.contains(KeyUsages::CRLSign)
    {
        return Err((
            Reason::CrlInvalid,
            format!("{}: its keyUsage lacks cRLSign, so its CRLs do not count", crate::x509::describe(issuer.cert)),
        ));
    }
    let all = crls.crls;
    let current = |index: &&usize| {
        let list = &all[**index].tbs_cert_list;
        time(&list.this_update) <= at && list.next_update.as_ref().is_none_or(|next| time(next) >= at)
    };
    let Some(&chosen) = signed.iter().filter(current).max_by_key(|index| time(&all[**index].tbs_cert_list.this_update))
    else {
        let list = &all[signed[0]].tbs_cert_list;
        return Err((
            Reason::CrlExpired,
            format!(
                "no CRL of \"{}\" is current at the verification time (one was issued {}); get a current one",
                list.issuer, list.this_update
            ),
        ));
    };
    let list = &all[chosen].tbs_cert_list;
    for extension in list.crl_extensions.iter().flatten() {
        let known =
            [CRL_NUMBER, AUTHORITY_KEY_ID, ISSUING_DISTRIBUTION_POINT, FRESHEST_CRL].contains(&extension.extn_id);
        if extension.critical && !known {
            return Err((
                Reason::CrlInvalid,
                format!("the CRL of \"{}\" has an unknown critical extension {}", list.issuer, extension.extn_id),
            ));
        }
    }
    let Some(entry) = crls.entry(chosen, tbs.serial_number().as_bytes()) else {
        return Ok(Revocation::Good);
    };
    let mut reason = None;
    for extension in entry.crl_entry_extensions.iter().flatten() {
        if extension.extn_id == REASON_CODE {
            reason = CrlReason::from_der(extension.extn_value.as_bytes()).ok();
        } else if extension.critical && extension.extn_id != INVALIDITY_DATE {
            return Err((
                Reason::CrlInvalid,
                format!("a CRL entry has an unknown critical extension {}", extension.extn_id),
            ));
        }
    }
    let why = reason.map(|r| format!("{r:?}")).unwrap_or_else(|| "no reason given".into());
    Err((Reason::Revoked, format!("{who} was revoked at {} ({why})", entry.revocation_date)))
}
