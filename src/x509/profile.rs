//! The RFC 5280 §4 profile: the rules a certificate's own contents must follow, whatever
//! path it is on. §6.1 path validation assumes certificates that conform; a validator
//! that skips these accepts chains no conforming CA could have issued (a CA certificate
//! without a subject, name constraints in an end entity, an empty extendedKeyUsage).
//! One `check_*` function per rule, each naming its section; path/checks.rs calls
//! [`check_certificate`] for every certificate on a path and [`check_trust_anchor`] for
//! the anchor.

use crate::x509::Reason;
use crate::x509::received::Cert;
use der::Decode;
use der::asn1::Ia5String;
use der::oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_ISSUER_ALT_NAME,
    ID_CE_NAME_CONSTRAINTS, ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_PE_AUTHORITY_INFO_ACCESS,
    ID_PE_SUBJECT_INFO_ACCESS,
};
use spki::ObjectIdentifier;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::constraints::name::{GeneralSubtrees, NameConstraints};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};

/// Where a certificate sits on the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The certificate being validated.
    EndEntity,
    /// A CA between the trust anchor and the end entity.
    Intermediate,
}

/// A broken rule: the reason code and what was seen.
pub type Violation = (Reason, String);

pub(crate) fn violation(reason: Reason, cert: &Cert, what: impl std::fmt::Display) -> Violation {
    (reason, format!("{}: {what}", crate::x509::describe(cert)))
}

/// The extension `oid` of `cert`, if it has one.
pub(crate) fn find(cert: &Cert, oid: ObjectIdentifier) -> Option<&Extension> {
    cert.tbs_certificate().extensions()?.iter().find(|ext| ext.extn_id == oid)
}

pub(crate) fn decode<'a, T: Decode<'a>>(cert: &Cert, ext: &'a Extension, name: &str) -> Result<T, Violation> {
    T::from_der(ext.extn_value.as_bytes())
        .map_err(|e| violation(Reason::MalformedExtension, cert, format!("its {name} extension does not parse ({e})")))
}

/// Every §4 rule for a certificate on the path. `signed_by_own_key`: its issuer's key is
/// its own (a self-signed certificate), which alone may omit the AKI.
pub fn check_certificate(cert: &Cert, position: Position, signed_by_own_key: bool) -> Result<(), Violation> {
    // A CA is what basicConstraints says, wherever it sits: a CA certificate validated as
    // the end of a path (a CRL signer, a CA checked on its own) keeps a CA's rules.
    let is_ca = position == Position::Intermediate
        || cert.tbs_certificate().get_extension::<BasicConstraints>().ok().flatten().is_some_and(|(_, bc)| bc.ca);
    check_issuer(cert)?;
    check_authority_key_identifier(cert, signed_by_own_key)?;
    check_subject_key_identifier(cert, is_ca)?;
    check_subject(cert, is_ca)?;
    check_subject_alt_name(cert)?;
    check_issuer_alt_name(cert)?;
    check_basic_constraints(cert)?;
    check_key_usage(cert)?;
    check_extended_key_usage(cert)?;
    check_name_constraints(cert, if is_ca { Holder::Ca } else { Holder::EndEntity })?;
    check_information_access(cert)
}

/// What a trust anchor's certificate is held to. RFC 5280 §6.1.1 (d) takes a trust anchor
/// as input — a name and a key — not as a certificate to validate, so the §4 profile does
/// not apply to it: real roots in Mozilla's store have serial number 0 (6 of Debian's 142),
/// a non-critical basicConstraints (3), no subjectKeyIdentifier (2), or a SHA-1
/// self-signature (30). What it is held to: the constraints path validation takes from it
/// (RFC 5937: its pathLenConstraint and nameConstraints) readable and well-formed, saying
/// it is a CA (a version 3 anchor by a basicConstraints with cA, which a version 1 root
/// cannot carry), and key identifiers that are not critical (§4.2.1.1, §4.2.1.2): rules
/// no root of Mozilla's store breaks (a unit test of path/checks.rs takes them all), which
/// catch an end entity or a hand-made certificate given as `--trust` by mistake.
pub fn check_trust_anchor(cert: &Cert, profile: crate::x509::Profile) -> Result<(), Violation> {
    check_anchor_may_issue(cert)?;
    check_basic_constraints(cert)?;
    check_authority_key_identifier_criticality(cert)?;
    if find(cert, ID_CE_SUBJECT_KEY_IDENTIFIER).is_some() {
        check_subject_key_identifier(cert, true)?;
    }
    let holder = if profile == crate::x509::Profile::WebPki { Holder::WebPkiAnchor } else { Holder::Ca };
    check_name_constraints(cert, holder)
}

/// §4.2.1.1: the authorityKeyIdentifier MUST be present in every certificate that is not
/// self-signed, with a keyIdentifier, and MUST NOT be critical.
fn check_authority_key_identifier(cert: &Cert, signed_by_own_key: bool) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_AUTHORITY_KEY_IDENTIFIER) else {
        if signed_by_own_key {
            return Ok(());
        }
        return Err(violation(
            Reason::MissingExtension,
            cert,
            "it has no authorityKeyIdentifier, which RFC 5280 §4.2.1.1 requires in every certificate not self-signed",
        ));
    };
    check_authority_key_identifier_criticality(cert)?;
    let aki: AuthorityKeyIdentifier = decode(cert, ext, "authorityKeyIdentifier")?;
    if aki.key_identifier.is_none() && !signed_by_own_key {
        return Err(violation(
            Reason::MissingExtension,
            cert,
            "its authorityKeyIdentifier has no keyIdentifier (RFC 5280 §4.2.1.1)",
        ));
    }
    Ok(())
}

/// §4.2.1.2: a CA certificate MUST carry a subjectKeyIdentifier; it MUST NOT be critical.
fn check_subject_key_identifier(cert: &Cert, is_ca: bool) -> Result<(), Violation> {
    match find(cert, ID_CE_SUBJECT_KEY_IDENTIFIER) {
        None if is_ca => Err(violation(
            Reason::MissingExtension,
            cert,
            "this CA certificate has no subjectKeyIdentifier (RFC 5280 §4.2.1.2)",
        )),
        None => Ok(()),
        Some(ext) if ext.critical => Err(violation(
            Reason::BadCriticality,
            cert,
            "its subjectKeyIdentifier is critical (RFC 5280 §4.2.1.2: MUST NOT be)",
        )),
        Some(ext) => decode::<SubjectKeyIdentifier>(cert, ext, "subjectKeyIdentifier").map(|_| ()),
    }
}

/// §4.1.2.6: a CA's subject MUST be a non-empty distinguished name; an end entity with an
/// empty subject MUST carry its identity in a critical subjectAltName (§4.2.1.6).
fn check_subject(cert: &Cert, is_ca: bool) -> Result<(), Violation> {
    if !cert.tbs_certificate().subject().is_empty() {
        return Ok(());
    }
    if is_ca {
        return Err(violation(
            Reason::EmptySubject,
            cert,
            "this CA certificate has an empty subject (RFC 5280 §4.1.2.6)",
        ));
    }
    match find(cert, ID_CE_SUBJECT_ALT_NAME) {
        Some(ext) if ext.critical => Ok(()),
        Some(_) => Err(violation(
            Reason::BadCriticality,
            cert,
            "its subject is empty, so its subjectAltName MUST be critical (RFC 5280 §4.2.1.6)",
        )),
        None => Err(violation(
            Reason::EmptySubject,
            cert,
            "its subject is empty and it has no subjectAltName (RFC 5280 §4.1.2.6, §4.2.1.6)",
        )),
    }
}

/// §4.2.1.6: subjectAltName holds at least one name, and each is well formed.
fn check_subject_alt_name(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_SUBJECT_ALT_NAME) else { return Ok(()) };
    let san: SubjectAltName = decode(cert, ext, "subjectAltName")?;
    check_general_names(cert, &san.0, "subjectAltName")
}

/// §4.2.1.7: issuerAltName, when present, holds well-formed names.
fn check_issuer_alt_name(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_ISSUER_ALT_NAME) else { return Ok(()) };
    let names: x509_cert::ext::pkix::IssuerAltName = decode(cert, ext, "issuerAltName")?;
    check_general_names(cert, &names.0, "issuerAltName")
}

fn check_general_names(cert: &Cert, names: &[GeneralName], field: &str) -> Result<(), Violation> {
    if names.is_empty() {
        return Err(violation(Reason::MalformedExtension, cert, format!("its {field} is empty (RFC 5280 §4.2.1.6)")));
    }
    for name in names {
        if let Some(why) = malformed_name(name) {
            return Err(violation(Reason::MalformedExtension, cert, format!("its {field} holds {why}")));
        }
    }
    Ok(())
}

/// Why a subjectAltName entry is malformed (RFC 5280 §4.2.1.6), if it is.
fn malformed_name(name: &GeneralName) -> Option<String> {
    let shown = || crate::quote::escape_text(&crate::x509::name::show(name)).into_owned();
    match name {
        GeneralName::DnsName(dns) if !is_dns_name(dns.as_str(), true) => {
            Some(format!("{}, not a DNS name in preferred name syntax", shown()))
        }
        GeneralName::Rfc822Name(mail) if !is_mailbox(mail.as_str()) => {
            Some(format!("{}, not an email address", shown()))
        }
        GeneralName::IpAddress(ip) if ![4, 16].contains(&ip.as_bytes().len()) => {
            Some("an iPAddress that is neither 4 nor 16 octets".into())
        }
        GeneralName::UniformResourceIdentifier(uri) if !is_uri(uri.as_str()) => {
            Some(format!("{}, not an absolute URI with a host", shown()))
        }
        _ => None,
    }
}

/// RFC 1034 §3.5 preferred name syntax (as amended by RFC 1123: labels may start with a
/// digit), which §4.2.1.6 requires of dNSName: letters, digits and inner hyphens, labels of
/// 1–63 octets, 253 in all. `wildcard` admits a leading `*.` label, which certificates use
/// though RFC 5280 does not define it.
pub fn is_dns_name(name: &str, wildcard: bool) -> bool {
    let name = if wildcard { name.strip_prefix("*.").unwrap_or(name) } else { name };
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(label_ok)
        && !name.split('.').next_back().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
}

/// An RFC 5322 addr-spec as §4.2.1.6 asks of rfc822Name: `local@domain`, no display name
/// or angle brackets, a printable local part and a DNS domain.
fn is_mailbox(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.bytes().all(|b| b.is_ascii_graphic() && !b"()<>[]:;@\\,\"".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    local_ok && is_dns_name(domain, false)
}

/// An absolute URI with a scheme and, for the hierarchical forms certificates use, a host.
fn is_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else { return false };
    let scheme_ok = scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    scheme_ok && !rest.is_empty() && uri.bytes().all(|b| b.is_ascii_graphic())
}

/// A trust anchor that says it is no CA (basicConstraints cA FALSE, or a keyUsage without
/// keyCertSign) is an end entity's certificate given as `--trust` by mistake: its key
/// was never meant to vouch for others. One without either extension (a version 1 root)
/// is taken as it is.
fn check_anchor_may_issue(cert: &Cert) -> Result<(), Violation> {
    match find(cert, ID_CE_BASIC_CONSTRAINTS) {
        Some(ext) => {
            let constraints: BasicConstraints = decode(cert, ext, "basicConstraints")?;
            if !constraints.ca {
                return Err(violation(
                    Reason::NotACa,
                    cert,
                    "its basicConstraints says CA:FALSE: it cannot be a trust anchor",
                ));
            }
        }
        None if cert.tbs_certificate().version() == x509_cert::certificate::Version::V3 => {
            return Err(violation(
                Reason::NotACa,
                cert,
                "it has no basicConstraints, so it does not say it is a CA: it cannot be a trust anchor (RFC 5280 §4.2.1.9)",
            ));
        }
        None => {}
    }
    if let Ok(Some((_, usage))) = cert.tbs_certificate().get_extension::<KeyUsage>()
        && !usage.0.contains(KeyUsages::KeyCertSign)
    {
        return Err(violation(
            Reason::BadKeyUsage,
            cert,
            "its keyUsage does not assert keyCertSign: it cannot be a trust anchor",
        ));
    }
    Ok(())
}

/// §4.2.1.1: an authorityKeyIdentifier, where present, MUST NOT be critical.
fn check_authority_key_identifier_criticality(cert: &Cert) -> Result<(), Violation> {
    if find(cert, ID_CE_AUTHORITY_KEY_IDENTIFIER).is_some_and(|ext| ext.critical) {
        return Err(violation(
            Reason::BadCriticality,
            cert,
            "its authorityKeyIdentifier is critical (RFC 5280 §4.2.1.1: MUST NOT be)",
        ));
    }
    Ok(())
}

/// §4.1.2.4: the issuer field MUST contain a non-empty distinguished name.
fn check_issuer(cert: &Cert) -> Result<(), Violation> {
    if cert.tbs_certificate().issuer().is_empty() {
        return Err(violation(Reason::EmptySubject, cert, "its issuer name is empty (RFC 5280 §4.1.2.4)"));
    }
    Ok(())
}

/// §4.2.1.9: basicConstraints parses, and pathLenConstraint appears only with cA.
fn check_basic_constraints(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_BASIC_CONSTRAINTS) else { return Ok(()) };
    let constraints: BasicConstraints = decode(cert, ext, "basicConstraints")?;
    if !constraints.ca && constraints.path_len_constraint.is_some() {
        return Err(violation(
            Reason::MalformedExtension,
            cert,
            "its basicConstraints has a pathLenConstraint without cA (RFC 5280 §4.2.1.9)",
        ));
    }
    Ok(())
}

/// §4.2.1.3: keyUsage asserts at least one bit, and keyCertSign only with basicConstraints
/// cA.
fn check_key_usage(cert: &Cert) -> Result<(), Violation> {
    let Some((_, usage)) = cert.tbs_certificate().get_extension::<KeyUsage>().map_err(|e| {
        violation(Reason::MalformedExtension, cert, format!("its keyUsage extension does not parse ({e})"))
    })?
    else {
        return Ok(());
    };
    if usage.0.is_empty() {
        return Err(violation(Reason::MalformedExtension, cert, "its keyUsage asserts no bit (RFC 5280 §4.2.1.3)"));
    }
    let is_ca = cert.tbs_certificate().get_extension::<BasicConstraints>().ok().flatten().is_some_and(|(_, bc)| bc.ca);
    if usage.0.contains(KeyUsages::KeyCertSign) && !is_ca {
        return Err(violation(
            Reason::BadKeyUsage,
            cert,
            "its keyUsage asserts keyCertSign without basicConstraints cA (RFC 5280 §4.2.1.3)",
        ));
    }
    Ok(())
}

/// §4.2.1.12: extendedKeyUsage holds at least one purpose (SIZE (1..MAX)).
fn check_extended_key_usage(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_EXT_KEY_USAGE) else { return Ok(()) };
    let usage: ExtendedKeyUsage = decode(cert, ext, "extendedKeyUsage")?;
    if usage.0.is_empty() {
        return Err(violation(Reason::MalformedExtension, cert, "its extendedKeyUsage is empty (RFC 5280 §4.2.1.12)"));
    }
    Ok(())
}

/// Who carries a nameConstraints extension, which decides the rules it is held to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// A CA on the path: §4.2.1.10 in full.
    Ca,
    /// The trust anchor under `--profile web-pki`, where the Baseline Requirements let
    /// nameConstraints be non-critical (7.1.2.10.8); under RFC 5280 an anchor's must be
    /// critical like a CA's (no root of Mozilla's store has any).
    WebPkiAnchor,
    /// An end entity, which may not carry the extension at all.
    EndEntity,
}

/// §4.2.1.10: nameConstraints only in a CA certificate, critical (but for `holder`'s
/// exception), with at least one of permittedSubtrees and excludedSubtrees, each
/// non-empty, minimum 0 and no maximum, and every base a well-formed name of its form.
fn check_name_constraints(cert: &Cert, holder: Holder) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_NAME_CONSTRAINTS) else { return Ok(()) };
    if holder == Holder::EndEntity {
        return Err(violation(
            Reason::MisplacedExtension,
            cert,
            "it has nameConstraints but is not a CA (RFC 5280 §4.2.1.10: only in CA certificates)",
        ));
    }
    if !ext.critical && holder == Holder::Ca {
        return Err(violation(
            Reason::BadCriticality,
            cert,
            "its nameConstraints is not critical (RFC 5280 §4.2.1.10: MUST be)",
        ));
    }
    let constraints: NameConstraints = decode(cert, ext, "nameConstraints")?;
    if constraints.permitted_subtrees.is_none() && constraints.excluded_subtrees.is_none() {
        return Err(violation(Reason::MalformedExtension, cert, "its nameConstraints is empty (RFC 5280 §4.2.1.10)"));
    }
    for subtrees in [&constraints.permitted_subtrees, &constraints.excluded_subtrees].into_iter().flatten() {
        check_subtrees(cert, subtrees)?;
    }
    Ok(())
}

fn check_subtrees(cert: &Cert, subtrees: &GeneralSubtrees) -> Result<(), Violation> {
    let bad = |what: String| violation(Reason::MalformedExtension, cert, format!("its nameConstraints {what}"));
    if subtrees.is_empty() {
        return Err(bad("has an empty list of subtrees (RFC 5280 §4.2.1.10)".into()));
    }
    for subtree in subtrees {
        if subtree.minimum != 0 || subtree.maximum.is_some() {
            return Err(bad("sets minimum or maximum, which RFC 5280 §4.2.1.10 forbids".into()));
        }
        let well_formed = match &subtree.base {
            // "host.example.com": names made by adding labels on the left; a leading dot or
            // a wildcard is not the §4.2.1.10 form for dNSName (only URIs take `.domain`).
            GeneralName::DnsName(dns) => dns.as_str().is_empty() || is_dns_name(dns.as_str(), false),
            GeneralName::Rfc822Name(mail) => is_mail_constraint(mail),
            GeneralName::UniformResourceIdentifier(host) => {
                host.as_str().is_empty() || is_dns_name(host.as_str().strip_prefix('.').unwrap_or(host.as_str()), false)
            }
            GeneralName::IpAddress(ip) => [8, 32].contains(&ip.as_bytes().len()) && is_mask(ip.as_bytes()),
            _ => true,
        };
        if !well_formed {
            let shown = crate::quote::escape_text(&crate::x509::name::show(&subtree.base)).into_owned();
            return Err(bad(format!("has a malformed base {shown} (RFC 5280 §4.2.1.10)")));
        }
    }
    Ok(())
}

/// An rfc822Name constraint: a mailbox, a host, or `.domain`.
fn is_mail_constraint(constraint: &Ia5String) -> bool {
    let text = constraint.as_str();
    if text.contains('@') {
        is_mailbox(text)
    } else {
        text.is_empty() || is_dns_name(text.strip_prefix('.').unwrap_or(text), false)
    }
}

/// An iPAddress constraint's mask (the second half) is contiguous ones then zeros.
fn is_mask(address_and_mask: &[u8]) -> bool {
    let mask = &address_and_mask[address_and_mask.len() / 2..];
    let bits: Vec<bool> = mask.iter().flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1)).collect();
    bits.windows(2).all(|w| w[0] || !w[1])
}

/// §4.2.2.1 and §4.2.2.2: authorityInfoAccess and subjectInfoAccess MUST NOT be critical,
/// and each is a SEQUENCE SIZE (1..MAX) of AccessDescription.
fn check_information_access(cert: &Cert) -> Result<(), Violation> {
    for (oid, name) in
        [(ID_PE_AUTHORITY_INFO_ACCESS, "authorityInfoAccess"), (ID_PE_SUBJECT_INFO_ACCESS, "subjectInfoAccess")]
    {
        let Some(ext) = find(cert, oid) else { continue };
        if ext.critical {
            return Err(violation(
                Reason::BadCriticality,
                cert,
                format!("its {name} is critical (RFC 5280 §4.2.2: MUST NOT be)"),
            ));
        }
        let access: AuthorityInfoAccessSyntax = decode(cert, ext, name)?;
        if access.0.is_empty() {
            return Err(violation(
                Reason::MalformedExtension,
                cert,
                format!("its {name} holds no access description (RFC 5280 §4.2.2: one or more)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_follow_the_preferred_syntax() {
        for good in ["example.com", "a-b.example.com", "1password.com", "xn--bcher-kva.example", "*.example.com"] {
            assert!(is_dns_name(good, true), "{good}");
        }
        for bad in [
            "",
            "exa_mple.com",
            "-a.example.com",
            "a-.example.com",
            "a..b",
            "192.168.0.1",
            "a b.com",
            "*.*.x.com",
            "x.*.com",
        ] {
            assert!(!is_dns_name(bad, true), "{bad}");
        }
        assert!(!is_dns_name("*.example.com", false));
    }

    #[test]
    fn mailboxes_and_masks() {
        assert!(is_mailbox("ops@example.com"));
        for bad in ["ops", "@example.com", "ops@", "Ops <ops@example.com>", "a..b@example.com", "ops@exa_mple.com"] {
            assert!(!is_mailbox(bad), "{bad}");
        }
        assert!(is_mask(&[10, 0, 0, 0, 255, 255, 0, 0]));
        assert!(!is_mask(&[10, 0, 0, 0, 255, 0, 255, 0]));
    }
}
