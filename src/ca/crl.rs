//! Revocation and CRLs: `revoke` marks a certificate in the index (with a reason), `crl`
//! produces a signed X.509 v2 CRL of everything the CA revoked, with thisUpdate and
//! nextUpdate, a CRL number one higher than the last, the authority key identifier of the
//! CA's key, and a reasonCode per entry.

use crate::ca::index;
use crate::ca::issue::{Authority, x509_time};
use crate::ca::profile::key_identifier;
use crate::ca::signer::KmsSigner;
use crate::ca::{CaCode, CaError};
use crate::crypto::keys;
use crate::kms::SigningKey;
use crate::kms::audit::{self, AuditEntry};
use crate::x509::signature::verify_signed;
use der::asn1::{BitString, OctetString};
use der::oid::AssociatedOid;
use der::{Decode, Encode};
use signature::Signer;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber};
use x509_cert::serial_number::SerialNumber;

/// Revocation reasons (RFC 5280 §5.3.1, removeFromCRL aside: that is for delta CRLs,
/// which keyseal does not make): the name keyseal prints, and the CRLReason code.
pub const REASONS: &[(&str, u8, CrlReason)] = &[
    ("unspecified", 0, CrlReason::Unspecified),
    ("key-compromise", 1, CrlReason::KeyCompromise),
    ("ca-compromise", 2, CrlReason::CaCompromise),
    ("affiliation-changed", 3, CrlReason::AffiliationChanged),
    ("superseded", 4, CrlReason::Superseded),
    ("cessation-of-operation", 5, CrlReason::CessationOfOperation),
    ("certificate-hold", 6, CrlReason::CertificateHold),
    ("privilege-withdrawn", 9, CrlReason::PrivilegeWithdrawn),
    ("aa-compromise", 10, CrlReason::AaCompromise),
];

/// The reason `name` stands for: keyseal's kebab-case name, the RFC 5280 / OpenSSL name
/// (`keyCompromise`, `cACompromise`; any case, with or without `-` or `_`), or the
/// numeric code (`1`).
pub fn parse_reason(name: &str) -> Result<CrlReason, CaError> {
    let folded: String = name.trim().chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_lowercase();
    let matches =
        |(kebab, code, _): &&(&str, u8, CrlReason)| kebab.replace('-', "") == folded || code.to_string() == folded;
    REASONS.iter().find(matches).map(|(_, _, reason)| *reason).ok_or_else(|| {
        let names: Vec<&str> = REASONS.iter().map(|(n, _, _)| *n).collect();
        CaError::new(
            CaCode::BadReason,
            format!(
                "{name:?} is not a revocation reason; use one of: {} (or the RFC 5280 name, e.g. keyCompromise, or its code, e.g. 1)",
                names.join(", ")
            ),
        )
    })
}

fn reason_name(reason: CrlReason) -> &'static str {
    REASONS.iter().find(|(_, _, r)| *r == reason).map(|(n, _, _)| *n).unwrap_or("unspecified")
}

/// Normalises a serial as given (hex, any case, optional colons or 0x) to the index's form.
pub fn normalize_serial(serial: &str) -> Result<String, CaError> {
    let cleaned: String = serial.trim().trim_start_matches("0x").chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(&cleaned).map_err(|_| {
        CaError::bad_input(format!("{serial:?} is not a hex serial number (as `keyseal ca list` prints it)"))
    })?;
    Ok(hex::encode_upper(bytes))
}

/// Revokes the certificate `serial` issued by `ca_name`.
pub fn revoke(
    authority: &Authority<'_>,
    ca_name: &str,
    serial: &str,
    reason: CrlReason,
) -> Result<index::CertRecord, CaError> {
    let serial = normalize_serial(serial)?;
    let ca = authority.store.read(|tx| index::get_ca(tx, ca_name))?.ok_or_else(|| {
        CaError::new(CaCode::CaNotFound, format!("there is no CA named {ca_name}; `keyseal ca list` shows them"))
    })?;
    let cert = authority.store.read(|tx| index::get_cert(tx, &serial))?.filter(|c| c.ca_name == ca_name).ok_or_else(|| {
        CaError::new(CaCode::CertificateNotFound, format!("CA {ca_name} issued no certificate with serial {serial}; `keyseal ca list --ca {ca_name}` shows them"))
    })?;
    if cert.serial == ca.serial {
        return Err(CaError::new(
            CaCode::CannotRevokeSelf,
            format!("{serial} is CA {ca_name}'s own certificate; its issuer revokes it"),
        ));
    }
    if cert.status == "revoked" {
        return Err(CaError::new(
            CaCode::AlreadyRevoked,
            format!(
                "{serial} was already revoked ({}) at {}",
                cert.revocation_reason.as_deref().unwrap_or("?"),
                crate::clock::format_unix(cert.revoked_at.unwrap_or(0))
            ),
        ));
    }
    let request_id = crate::kms::ids::new_uuid()?;
    let mut entry = AuditEntry::new(authority.now, &request_id, authority.principal, "RevokeCertificate");
    entry.key_id = Some(ca.key_id.clone());
    entry.key_version_id = Some(ca.key_version_id.clone());
    entry.detail =
        Some(format!("ca={ca_name} serial={serial} subject={} reason={}", cert.subject, reason_name(reason)));
    authority.store.write(|tx| {
        index::revoke(tx, &serial, authority.now, reason_name(reason))?;
        audit::append(tx, &entry)?;
        Ok(())
    })?;
    Ok(authority.store.read(|tx| index::get_cert(tx, &serial))?.unwrap_or(cert))
}

/// A signed CRL: DER, and its number.
pub struct Crl {
    /// The CRL, DER.
    pub der: Vec<u8>,
    /// Its CRL number.
    pub number: u64,
    /// How many certificates it lists.
    pub revoked: usize,
}

impl Crl {
    /// PEM (`-----BEGIN X509 CRL-----`).
    pub fn pem(&self) -> String {
        der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, &self.der).unwrap_or_default()
    }
}

fn extension<T: Encode + AssociatedOid>(value: &T) -> Result<Extension, CaError> {
    Ok(Extension { extn_id: T::OID, critical: false, extn_value: OctetString::new(value.to_der()?)? })
}

/// Issues the next CRL of `ca_name`, valid for `days`.
pub fn crl(authority: &Authority<'_>, ca_name: &str, days: u32) -> Result<Crl, CaError> {
    if days == 0 {
        return Err(CaError::new(CaCode::BadValidity, "--days must be at least 1"));
    }
    let ca = authority.store.read(|tx| index::get_ca(tx, ca_name))?.ok_or_else(|| {
        CaError::new(CaCode::CaNotFound, format!("there is no CA named {ca_name}; `keyseal ca list` shows them"))
    })?;
    let ca_certificate = Certificate::from_der(&ca.certificate)?;
    let key = SigningKey::resolve(authority.kms, &ca.key_id, &ca.key_version_id, Some(ca.algorithm))?;
    let ca_key = SubjectPublicKeyInfoOwned::from_der(&key.public_spki)?;

    let revoked: Vec<index::CertRecord> = authority
        .store
        .read(|tx| index::list_certs(tx, Some(ca_name)))?
        .into_iter()
        .filter(|c| c.status == "revoked")
        .collect();
    let mut entries: Vec<RevokedCert> = Vec::new();
    for cert in &revoked {
        let reason = parse_reason(cert.revocation_reason.as_deref().unwrap_or("unspecified"))?;
        // RFC 5280 §5.3.1: leave the reason out rather than say "unspecified".
        let extensions = if reason == CrlReason::Unspecified { None } else { Some(vec![extension(&reason)?]) };
        entries.push(RevokedCert {
            serial_number: SerialNumber::new(
                &hex::decode(&cert.serial).map_err(|e| CaError::internal(e.to_string()))?,
            )?,
            revocation_date: x509_time(cert.revoked_at.unwrap_or(authority.now))?,
            crl_entry_extensions: extensions,
        });
    }
    let number = ca.crl_number + 1;
    let authority_key = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_identifier(&ca_key))?),
        ..Default::default()
    };
    let signer = KmsSigner::new(authority.kms, &key);
    let tbs = TbsCertList {
        version: Version::V2,
        signature: keys::signature_algorithm_identifier(ca.algorithm).map_err(|e| CaError::internal(e.to_string()))?,
        issuer: ca_certificate.tbs_certificate().subject().clone(),
        this_update: x509_time(authority.now)?,
        next_update: Some(x509_time(authority.now + i64::from(days) * 86_400)?),
        revoked_certificates: if entries.is_empty() { None } else { Some(entries) },
        crl_extensions: Some(vec![
            extension(&CrlNumber::from(der::asn1::Uint::new(&number.to_be_bytes())?))?,
            extension(&authority_key)?,
        ]),
    };
    let signed = tbs.to_der()?;
    let signature = signer
        .try_sign(&signed)
        .map_err(|e| signer.take_error().map(CaError::from).unwrap_or_else(|| CaError::internal(e.to_string())))?;
    verify_signed(&ca_key, &tbs.signature, &signed, &signature.0)
        .map_err(|e| CaError::internal(format!("the CRL's signature does not verify: {e}")))?;
    let list = CertificateList {
        signature_algorithm: tbs.signature.clone(),
        tbs_cert_list: tbs,
        signature: BitString::from_bytes(&signature.0)?,
    };

    let request_id = crate::kms::ids::new_uuid()?;
    let mut entry = AuditEntry::new(authority.now, &request_id, authority.principal, "GenerateCrl");
    entry.key_id = Some(ca.key_id.clone());
    entry.key_version_id = Some(ca.key_version_id.clone());
    entry.algorithm = Some(ca.algorithm.to_string());
    entry.detail = Some(format!("ca={ca_name} crl_number={number} revoked={}", revoked.len()));
    authority.store.write(|tx| {
        index::set_crl_number(tx, ca_name, number)?;
        audit::append(tx, &entry)?;
        Ok(())
    })?;
    Ok(Crl { der: list.to_der()?, number, revoked: revoked.len() })
}

#[cfg(test)]
mod tests {

    /// The CA names reasons as the verifier's messages do.
    #[test]
    fn reason_names_are_the_verifiers() {
        for (name, _, reason) in REASONS {
            assert_eq!(*name, crate::x509::crl::scope::reason_name(*reason));
        }
    }

    use super::*;

    #[test]
    fn reasons_by_keyseal_rfc_5280_and_numeric_names() {
        for (name, expected) in [
            ("key-compromise", CrlReason::KeyCompromise),
            ("keyCompromise", CrlReason::KeyCompromise),
            ("1", CrlReason::KeyCompromise),
            ("cACompromise", CrlReason::CaCompromise),
            ("aACompromise", CrlReason::AaCompromise),
            ("certificateHold", CrlReason::CertificateHold),
            ("CESSATION_OF_OPERATION", CrlReason::CessationOfOperation),
            ("10", CrlReason::AaCompromise),
        ] {
            assert_eq!(parse_reason(name).map_err(|e| e.message), Ok(expected), "{name}");
        }
        for bad in ["removeFromCRL", "8", "7", "compromised", ""] {
            assert_eq!(parse_reason(bad).map_err(|e| e.code), Err(CaCode::BadReason), "{bad}");
        }
    }
}
