//! Revocation by CRL (RFC 5280 §6.3, for complete, direct CRLs): a CRL speaks for a
//! certificate when its issuer name is the certificate's issuer and its signature verifies
//! with that issuer's key. It must be current at the verification time (thisUpdate ≤ time
//! ≤ nextUpdate) and carry no critical extension keyseal does not process; then the
//! certificate is revoked if its serial is listed.

use crate::x509::Reason;
use crate::x509::name::names_match;
use crate::x509::signature::verify_signed;
use der::{Decode, Encode};
use spki::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

const CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
const AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const ISSUING_DISTRIBUTION_POINT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
const FRESHEST_CRL: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.46");
const REASON_CODE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
const INVALIDITY_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.24");

/// Every CRL in a file: PEM blocks (`X509 CRL`) or one DER CRL.
pub fn load_crls(bytes: &[u8]) -> Result<Vec<CertificateList>, String> {
    if !bytes.starts_with(b"-----BEGIN") {
        return CertificateList::from_der(bytes).map(|crl| vec![crl]).map_err(|e| format!("not a DER CRL: {e}"));
    }
    let mut crls = Vec::new();
    for block in crate::x509::cert::pem_blocks(bytes, "X509 CRL") {
        crls.push(CertificateList::from_der(&block?).map_err(|e| format!("not a CRL: {e}"))?);
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

/// Checks `cert`, issued by `issuer`, against `crls` at `at`. Of the CRLs its issuer
/// signed, the newest one current at `at` speaks; stale ones are passed over, and only
/// when none is current does that fail.
pub fn check(
    cert: &Certificate,
    issuer: &Certificate,
    crls: &[CertificateList],
    at: i64,
) -> Result<Revocation, (Reason, String)> {
    let tbs = cert.tbs_certificate();
    let who = crate::x509::describe(cert);
    let issued_by_issuer: Vec<&CertificateList> =
        crls.iter().filter(|crl| names_match(&crl.tbs_cert_list.issuer, tbs.issuer())).collect();
    if issued_by_issuer.is_empty() {
        return Ok(Revocation::NotCovered);
    }
    let mut signed = Vec::new();
    for crl in &issued_by_issuer {
        let list = &crl.tbs_cert_list;
        let bytes = list.to_der().map_err(|e| (Reason::CrlInvalid, e.to_string()))?;
        let signature = crl.signature.as_bytes().unwrap_or_default();
        let verifies = crl.signature_algorithm == list.signature
            && verify_signed(
                issuer.tbs_certificate().subject_public_key_info(),
                &crl.signature_algorithm,
                &bytes,
                signature,
            )
            .is_ok();
        if verifies {
            signed.push(*crl);
        }
    }
    if signed.is_empty() {
        return Err((
            Reason::CrlBadSignature,
            format!("no CRL naming issuer \"{}\" verifies with the issuer's key", tbs.issuer()),
        ));
    }
    if let Ok(Some((_, usage))) = issuer.tbs_certificate().get_extension::<KeyUsage>()
        && !usage.0.contains(KeyUsages::CRLSign)
    {
        return Err((
            Reason::CrlInvalid,
            format!("{}: its keyUsage lacks cRLSign, so its CRLs do not count", crate::x509::describe(issuer)),
        ));
    }
    let current = |crl: &&&CertificateList| {
        let list = &crl.tbs_cert_list;
        time(&list.this_update) <= at && list.next_update.as_ref().is_none_or(|next| time(next) >= at)
    };
    let Some(crl) = signed.iter().filter(current).max_by_key(|crl| time(&crl.tbs_cert_list.this_update)) else {
        let list = &signed[0].tbs_cert_list;
        return Err((
            Reason::CrlExpired,
            format!(
                "no CRL of \"{}\" is current at the verification time (one was issued {}); get a current one",
                list.issuer, list.this_update
            ),
        ));
    };
    let list = &crl.tbs_cert_list;
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
    for entry in list.revoked_certificates.iter().flatten() {
        if entry.serial_number.as_bytes() != tbs.serial_number().as_bytes() {
            continue;
        }
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
        return Err((Reason::Revoked, format!("{who} was revoked at {} ({why})", entry.revocation_date)));
    }
    Ok(Revocation::Good)
}
