//! The S/MIME profile (`cert verify --profile smime`, the default for `--purpose email`
//! with `--email`): the CA/Browser Forum's S/MIME Baseline Requirements, version 1.0, on
//! top of RFC 5280, as the web-PKI profile (webpki.rs) applies the TLS ones. One function
//! per rule, each citing its section. The trust anchor is input: it is held to its key
//! and to carrying no extendedKeyUsage, rules every root of Mozilla's store keeps.
//!
//! Not checked: that a leaf's keyUsage is critical (7.1.2.3 (e) only says SHOULD, and
//! mailbox certificates are issued both ways), and the subject's attributes (7.1.4),
//! which name nothing a verifier is asked about.

use crate::x509::Reason;
use crate::x509::profile::{Violation, decode, find, violation};
use crate::x509::received::Cert;
use crate::x509::webpki::{check_key_citing, check_no_purpose_of, check_subject_alt_name_citing, extended_key_usage};
use der::oid::db::rfc5280::{
    ANY_EXTENDED_KEY_USAGE, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_KP_CODE_SIGNING,
    ID_KP_EMAIL_PROTECTION, ID_KP_SERVER_AUTH, ID_KP_TIME_STAMPING,
};
use spki::ObjectIdentifier;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};

/// Purposes an S/MIME certificate, subscriber or CA, must not name (7.1.2.3 (f), 7.1.2.2
/// (g): SHALL NOT be present).
const FORBIDDEN_PURPOSES: [(ObjectIdentifier, &str); 4] = [
    (ID_KP_SERVER_AUTH, "serverAuth"),
    (ID_KP_CODE_SIGNING, "codeSigning"),
    (ID_KP_TIME_STAMPING, "timeStamping"),
    (ANY_EXTENDED_KEY_USAGE, "anyExtendedKeyUsage"),
];

/// Every rule for a certificate on the path: `is_leaf` for the subscriber (mailbox)
/// certificate, else a subordinate CA.
pub fn check(cert: &Cert, is_leaf: bool) -> Result<(), Violation> {
    check_key_citing(cert, "S/MIME BR 6.1.5")?;
    if is_leaf {
        check_subscriber_is_no_ca(cert)?;
        check_subscriber_purpose(cert)?;
        check_subscriber_key_usage(cert)?;
        check_subscriber_names(cert)
    } else {
        check_ca_key_usage(cert)?;
        check_ca_purpose(cert)
    }
}

/// The trust anchor: its key (6.1.5) and, when it is a root (`self_issued`), no
/// extendedKeyUsage (7.1.2.1 (d)).
pub fn check_anchor(cert: &Cert, self_issued: bool) -> Result<(), Violation> {
    check_key_citing(cert, "S/MIME BR 6.1.5")?;
    if self_issued && find(cert, ID_CE_EXT_KEY_USAGE).is_some() {
        return Err(violation(
            Reason::MisplacedExtension,
            cert,
            "a root has an extendedKeyUsage, which S/MIME roots must not have (S/MIME BR 7.1.2.1 (d))",
        ));
    }
    Ok(())
}

/// 7.1.2.3 (d): a subscriber certificate is no CA. (Its other half, no pathLenConstraint,
/// RFC 5280's profile already holds every certificate without cA to.)
fn check_subscriber_is_no_ca(cert: &Cert) -> Result<(), Violation> {
    if let Some(ext) = find(cert, ID_CE_BASIC_CONSTRAINTS) {
        let constraints: BasicConstraints = decode(cert, ext, "basicConstraints")?;
        if constraints.ca {
            return Err(violation(
                Reason::CaAsEndEntity,
                cert,
                "an S/MIME certificate must not be a CA (S/MIME BR 7.1.2.3 (d))",
            ));
        }
    }
    Ok(())
}

/// 7.1.2.3 (f): an extendedKeyUsage naming emailProtection and none of the forbidden
/// purposes.
fn check_subscriber_purpose(cert: &Cert) -> Result<(), Violation> {
    match extended_key_usage(cert)? {
        Some(eku) if eku.0.contains(&ID_KP_EMAIL_PROTECTION) => check_no_forbidden_purpose(cert, &eku, "7.1.2.3 (f)"),
        _ => Err(missing_email_protection(
            cert,
            "an S/MIME certificate must have an extendedKeyUsage naming emailProtection (S/MIME BR 7.1.2.3 (f))",
        )),
    }
}

/// 7.1.2.3 (e): a keyUsage, asserting no bit reserved to CAs (keyCertSign, cRLSign).
fn check_subscriber_key_usage(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_KEY_USAGE) else {
        return Err(violation(Reason::MissingExtension, cert, "it has no keyUsage (S/MIME BR 7.1.2.3 (e))"));
    };
    let usage: KeyUsage = decode(cert, ext, "keyUsage")?;
    if usage.0.contains(KeyUsages::KeyCertSign) || usage.0.contains(KeyUsages::CRLSign) {
        return Err(violation(
            Reason::BadKeyUsage,
            cert,
            "an S/MIME certificate's keyUsage must not assert keyCertSign or cRLSign (S/MIME BR 7.1.2.3 (e))",
        ));
    }
    Ok(())
}

/// 7.1.2.3 (h): a subjectAltName, critical when the subject is empty and only then.
fn check_subscriber_names(cert: &Cert) -> Result<(), Violation> {
    check_subject_alt_name_citing(cert, "S/MIME BR 7.1.2.3 (h)")
}

/// 7.1.2.2 (e): a CA's keyUsage asserts keyCertSign and cRLSign.
fn check_ca_key_usage(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_KEY_USAGE) else {
        return Err(violation(
            Reason::MissingExtension,
            cert,
            "this CA certificate has no keyUsage (S/MIME BR 7.1.2.2 (e))",
        ));
    };
    let usage: KeyUsage = decode(cert, ext, "keyUsage")?;
    if !usage.0.contains(KeyUsages::KeyCertSign) || !usage.0.contains(KeyUsages::CRLSign) {
        return Err(violation(
            Reason::BadKeyUsage,
            cert,
            "an S/MIME CA's keyUsage must assert keyCertSign and cRLSign (S/MIME BR 7.1.2.2 (e))",
        ));
    }
    Ok(())
}

/// 7.1.2.2 (g): a CA's extendedKeyUsage, where present, names emailProtection and none of
/// the forbidden purposes.
fn check_ca_purpose(cert: &Cert) -> Result<(), Violation> {
    let Some(eku) = extended_key_usage(cert)? else { return Ok(()) };
    if !eku.0.contains(&ID_KP_EMAIL_PROTECTION) {
        return Err(missing_email_protection(
            cert,
            "an S/MIME CA's extendedKeyUsage must name emailProtection (S/MIME BR 7.1.2.2 (g))",
        ));
    }
    check_no_forbidden_purpose(cert, &eku, "7.1.2.2 (g)")
}

fn missing_email_protection(cert: &Cert, what: &str) -> Violation {
    violation(Reason::MissingPurpose(crate::x509::Purpose::Email), cert, what)
}

fn check_no_forbidden_purpose(cert: &Cert, eku: &ExtendedKeyUsage, section: &str) -> Result<(), Violation> {
    check_no_purpose_of(
        cert,
        eku,
        &FORBIDDEN_PURPOSES,
        &format!("an S/MIME certificate must not (S/MIME BR {section})"),
    )
}
