//! The web-PKI profile (`cert verify --profile web-pki`): the CA/Browser Forum Baseline
//! Requirements for TLS server certificates, version 2.1, applied on top of RFC 5280 to
//! every certificate of the path but the trust anchor, as rustls-webpki, pyca
//! `cryptography` and Go apply their subsets of it. One function per rule, each citing
//! its section. The trust anchor is input, as for RFC 5280 (§6.1.1): of the Root CA
//! profile (7.1.2.1) it is held only to the rules every root of Mozilla's store keeps
//! (`check_anchor`), so that no root a browser trusts is refused.

use crate::x509::Reason;
use crate::x509::display::bounded;
use crate::x509::profile::{Violation, decode, find, violation};
use crate::x509::received::Cert;
use der::asn1::UintRef;
use der::oid::db::rfc4519::COMMON_NAME;
use der::oid::db::rfc5280::{
    ANY_EXTENDED_KEY_USAGE, ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE,
    ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_CODE_SIGNING, ID_KP_EMAIL_PROTECTION,
    ID_KP_OCSP_SIGNING, ID_KP_SERVER_AUTH, ID_KP_TIME_STAMPING,
};
use der::oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1, SECP_521_R_1};
use der::{Decode, Tagged};
use spki::ObjectIdentifier;
use std::collections::HashSet;
use std::net::IpAddr;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};

const DAY: i64 = 86_400;

/// Certificate Transparency's Precertificate Signing Certificate purpose (RFC 6962 §3.1).
const PRECERTIFICATE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.4");

/// Purposes a TLS certificate, subscriber or CA, must not name (BR 7.1.2.7.10 and
/// 7.1.2.10.6: MUST NOT be present).
const FORBIDDEN_PURPOSES: [(ObjectIdentifier, &str); 6] = [
    (ID_KP_CODE_SIGNING, "codeSigning"),
    (ID_KP_EMAIL_PROTECTION, "emailProtection"),
    (ID_KP_TIME_STAMPING, "timeStamping"),
    (ID_KP_OCSP_SIGNING, "OCSPSigning"),
    (ANY_EXTENDED_KEY_USAGE, "anyExtendedKeyUsage"),
    (PRECERTIFICATE_SIGNING, "precertificate signing"),
];

/// Every rule for a certificate on the path: `is_leaf` for the subscriber (server)
/// certificate, else a subordinate CA.
pub fn check(cert: &Cert, is_leaf: bool) -> Result<(), Violation> {
    check_authority_key_identifier(cert)?;
    check_key(cert)?;
    if is_leaf {
        check_subscriber_is_no_ca(cert)?;
        check_subscriber_purpose(cert)?;
        check_subscriber_names(cert)?;
        check_subscriber_common_name(cert)?;
        check_subscriber_validity(cert)
    } else {
        check_ca_key_usage(cert)?;
        check_ca_purpose(cert)
    }
}

/// What the trust anchor is held to: its key (BR 6.1.5) and, when it is a root
/// (`self_issued`; a CA certificate trusted directly is not one), the Root CA profile's
/// rules on key identifiers and purposes: no extendedKeyUsage (7.1.2.1.2: MUST NOT be
/// present), and an authorityKeyIdentifier, if it has one, that is a keyIdentifier equal
/// to its subjectKeyIdentifier (7.1.2.1.3). Not 7.1.2.1.3's ban on authorityCertIssuer
/// and authorityCertSerialNumber: five roots of Mozilla's store (Certigna, Go Daddy and
/// Starfield Class 2, QuoVadis Root CA 2 and 3) carry both, and refusing them would
/// refuse chains browsers accept.
pub fn check_anchor(cert: &Cert, self_issued: bool) -> Result<(), Violation> {
    check_key(cert)?;
    if !self_issued {
        return Ok(());
    }
    if find(cert, ID_CE_EXT_KEY_USAGE).is_some() {
        return Err(violation(
            Reason::MisplacedExtension,
            cert,
            "a root has an extendedKeyUsage, which the web PKI forbids in roots (BR 7.1.2.1.2)",
        ));
    }
    let Some(ext) = find(cert, ID_CE_AUTHORITY_KEY_IDENTIFIER) else { return Ok(()) };
    let aki: AuthorityKeyIdentifier = decode(cert, ext, "authorityKeyIdentifier")?;
    let ski = find(cert, ID_CE_SUBJECT_KEY_IDENTIFIER)
        .map(|ext| decode::<SubjectKeyIdentifier>(cert, ext, "subjectKeyIdentifier"))
        .transpose()?;
    match (aki.key_identifier, ski) {
        (Some(id), Some(ski)) if id != ski.0 => Err(violation(
            Reason::MalformedExtension,
            cert,
            "a root's authorityKeyIdentifier differs from its subjectKeyIdentifier (BR 7.1.2.1.3: the same)",
        )),
        (Some(_), _) => Ok(()),
        (None, _) => Err(violation(
            Reason::MalformedExtension,
            cert,
            "a root's authorityKeyIdentifier has no keyIdentifier (BR 7.1.2.1.3)",
        )),
    }
}

/// BR 7.1.2.11.1 (and 7.1.2.10.5 for CAs): the authorityKeyIdentifier has a
/// keyIdentifier and neither authorityCertIssuer nor authorityCertSerialNumber.
fn check_authority_key_identifier(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_AUTHORITY_KEY_IDENTIFIER) else {
        return Err(violation(Reason::MissingExtension, cert, "it has no authorityKeyIdentifier (BR 7.1.2.11.1)"));
    };
    let aki: AuthorityKeyIdentifier = decode(cert, ext, "authorityKeyIdentifier")?;
    if aki.key_identifier.is_none() || aki.authority_cert_issuer.is_some() || aki.authority_cert_serial_number.is_some()
    {
        return Err(violation(
            Reason::MalformedExtension,
            cert,
            "its authorityKeyIdentifier must hold a keyIdentifier alone, without authorityCertIssuer or authorityCertSerialNumber (BR 7.1.2.11.1)",
        ));
    }
    Ok(())
}

/// BR 6.1.5 and 7.1.3.1: RSA keys of at least 2048 bits, the modulus a multiple of 8 bits;
/// ECDSA keys on P-256, P-384 or P-521 only (no secp256k1, no other algorithm).
fn check_key(cert: &Cert) -> Result<(), Violation> {
    check_key_citing(cert, "BR 6.1.5, 7.1.3.1")
}

/// The key rule shared by the TLS and the S/MIME Baseline Requirements (both 6.1.5),
/// each refusal citing `rule`.
pub(crate) fn check_key_citing(cert: &Cert, rule: &str) -> Result<(), Violation> {
    let spki = cert.tbs_certificate().subject_public_key_info();
    let weak = |what: String| Err(violation(Reason::WeakKey, cert, format!("{what} ({rule})")));
    if spki.algorithm.oid == RSA_ENCRYPTION {
        let bits = rsa_modulus_bits(spki.subject_public_key.raw_bytes());
        return match bits {
            Some(bits) if bits >= 2048 && bits % 8 == 0 => Ok(()),
            Some(bits) => weak(format!(
                "its RSA key has a {bits}-bit modulus; the web PKI takes 2048 bits or more, in whole bytes"
            )),
            None => weak("its RSA key does not parse".into()),
        };
    }
    if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        return match curve {
            Some(curve) if [SECP_256_R_1, SECP_384_R_1, SECP_521_R_1].contains(&curve) => Ok(()),
            Some(curve) => {
                weak(format!("its EC key is on curve {curve}; the web PKI takes P-256, P-384 and P-521 only"))
            }
            None => weak("its EC key names no curve".into()),
        };
    }
    weak(format!("its key algorithm {} is not RSA or ECDSA", spki.algorithm.oid))
}

/// The bit length of an RSAPublicKey's modulus (RFC 8017 A.1.1).
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    let key = rsa::pkcs1::RsaPublicKey::<UintRef<'_>>::from_der(der).ok()?;
    let bytes = key.modulus.as_bytes();
    let first = *bytes.first()?;
    Some(bytes.len() * 8 - first.leading_zeros() as usize)
}

/// BR 7.1.2.7.8: a subscriber certificate is no CA (basicConstraints, if present, says
/// cA FALSE).
fn check_subscriber_is_no_ca(cert: &Cert) -> Result<(), Violation> {
    if let Some(ext) = find(cert, ID_CE_BASIC_CONSTRAINTS) {
        let constraints: BasicConstraints = decode(cert, ext, "basicConstraints")?;
        if constraints.ca {
            return Err(violation(
                Reason::CaAsEndEntity,
                cert,
                "a CA certificate cannot be a TLS server's (BR 7.1.2.7.8)",
            ));
        }
    }
    Ok(())
}

/// BR 7.1.2.7.10: a subscriber certificate has an extendedKeyUsage naming serverAuth
/// and none of the purposes a TLS certificate must not have; 7.1.2.7.6: not critical.
fn check_subscriber_purpose(cert: &Cert) -> Result<(), Violation> {
    let Some(eku) = extended_key_usage(cert)? else {
        return Err(missing_server_auth(
            cert,
            "a TLS server certificate must have an extendedKeyUsage (BR 7.1.2.7.10)",
        ));
    };
    if !eku.0.contains(&ID_KP_SERVER_AUTH) {
        return Err(missing_server_auth(
            cert,
            "a TLS server certificate's extendedKeyUsage must name serverAuth (BR 7.1.2.7.10)",
        ));
    }
    check_no_forbidden_purpose(cert, &eku, "7.1.2.7.10")?;
    if find(cert, ID_CE_EXT_KEY_USAGE).is_some_and(|ext| ext.critical) {
        return Err(violation(
            Reason::ForbiddenPurpose,
            cert,
            "a TLS server certificate's extendedKeyUsage must not be critical (BR 7.1.2.7.6)",
        ));
    }
    Ok(())
}

fn missing_server_auth(cert: &Cert, what: &str) -> Violation {
    violation(Reason::MissingPurpose(crate::x509::Purpose::Server), cert, what)
}

/// The first purpose of `FORBIDDEN_PURPOSES` that `eku` names, as a violation of
/// `section`.
fn check_no_forbidden_purpose(cert: &Cert, eku: &ExtendedKeyUsage, section: &str) -> Result<(), Violation> {
    check_no_purpose_of(cert, eku, &FORBIDDEN_PURPOSES, &format!("a TLS certificate must not (BR {section})"))
}

/// The first of `forbidden` that `eku` names, refused as `forbidden-purpose` with `rule`.
pub(crate) fn check_no_purpose_of(
    cert: &Cert,
    eku: &ExtendedKeyUsage,
    forbidden: &[(ObjectIdentifier, &str)],
    rule: &str,
) -> Result<(), Violation> {
    match forbidden.iter().find(|(oid, _)| eku.0.contains(oid)) {
        Some((_, name)) => {
            Err(violation(Reason::ForbiddenPurpose, cert, format!("its extendedKeyUsage names {name}, which {rule}")))
        }
        None => Ok(()),
    }
}

/// BR 7.1.2.7.12: a subscriber certificate has a subjectAltName (its names are there,
/// not in the commonName), critical when the subject is empty and only then.
fn check_subscriber_names(cert: &Cert) -> Result<(), Violation> {
    check_subject_alt_name_citing(cert, "BR 7.1.2.7.12")
}

/// A subscriber's subjectAltName present, critical when the subject is empty and only
/// then (RFC 5280 §4.2.1.6 asks the first; both Baseline Requirements, TLS and S/MIME,
/// the second), each refusal citing `rule`.
pub(crate) fn check_subject_alt_name_citing(cert: &Cert, rule: &str) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_SUBJECT_ALT_NAME) else {
        return Err(violation(Reason::MissingExtension, cert, format!("it has no subjectAltName ({rule})")));
    };
    let empty_subject = cert.tbs_certificate().subject().is_empty();
    if empty_subject != ext.critical {
        let what = if empty_subject {
            "its subject is empty, so its subjectAltName must be critical"
        } else {
            "its subject is not empty, so its subjectAltName must not be critical"
        };
        return Err(violation(Reason::BadCriticality, cert, format!("{what} ({rule})")));
    }
    Ok(())
}

/// BR 7.1.4.3: a subscriber certificate's commonName is a character-for-character copy
/// of one of its subjectAltName entries. keyseal refuses a commonName that spells a
/// subjectAltName identity differently: in another case, with a U-label where the SAN
/// has its A-label (any non-ASCII commonName), or an IP address the SAN holds written
/// other than RFC 3986 §3.2.2 (dotted decimal, no leading zeros) or RFC 5952 §4 (lower
/// case, zeros compressed) write it, such as `0xC0A80101` or `192.168.001.001`. Two
/// spellings of one name are what parser differentials feed on. A commonName naming
/// something the SAN does not hold is let through, as browsers, pyca `cryptography` and
/// rustls-webpki let it: none of them (nor keyseal, RFC 9525 §6.1) reads names from the
/// commonName.
fn check_subscriber_common_name(cert: &Cert) -> Result<(), Violation> {
    let entries = match find(cert, ID_CE_SUBJECT_ALT_NAME) {
        Some(ext) => decode::<SubjectAltName>(cert, ext, "subjectAltName")?.0,
        None => Vec::new(),
    };
    let spellings = SanSpellings::new(&entries);
    let names = cert.tbs_certificate().subject().iter_rdn().flat_map(|rdn| rdn.iter());
    for value in names.filter(|atv| atv.oid == COMMON_NAME).map(|atv| &atv.value) {
        let Some(text) = directory_string(value) else { continue };
        if spellings.misspelled(text) {
            return Err(violation(
                Reason::CommonNameMismatch,
                cert,
                format!(
                    "its commonName {:?} is not written as the subjectAltName writes it (BR 7.1.4.3: a character-for-character copy)",
                    bounded(&text, 64)
                ),
            ));
        }
    }
    Ok(())
}

/// A subjectAltName's identities, hashed so that any number of commonNames is checked
/// against any number of entries in linear time (both come from the certificate).
struct SanSpellings {
    /// Each dNSName and iPAddress as BR 7.1.4.3 writes it.
    written: HashSet<String>,
    /// Each dNSName in lower case.
    dns_lower: HashSet<String>,
    /// Each iPAddress's bytes.
    ips: HashSet<Vec<u8>>,
}

impl SanSpellings {
    fn new(entries: &[GeneralName]) -> SanSpellings {
        let dns_lower = entries
            .iter()
            .filter_map(|entry| match entry {
                GeneralName::DnsName(dns) => Some(dns.as_str().to_ascii_lowercase()),
                _ => None,
            })
            .collect();
        let ips = entries
            .iter()
            .filter_map(|entry| match entry {
                GeneralName::IpAddress(ip) => Some(ip.as_bytes().to_vec()),
                _ => None,
            })
            .collect();
        SanSpellings { written: entries.iter().filter_map(san_text).collect(), dns_lower, ips }
    }

    /// Whether `common_name` is a variant spelling of one of the identities (see
    /// `check_subscriber_common_name`).
    fn misspelled(&self, common_name: &str) -> bool {
        if !common_name.is_ascii() {
            return true;
        }
        if self.written.contains(common_name) {
            return false;
        }
        let same_ip = loose_ip(common_name).is_some_and(|ip| match ip {
            IpAddr::V4(v4) => self.ips.contains(v4.octets().as_slice()),
            IpAddr::V6(v6) => self.ips.contains(v6.octets().as_slice()),
        });
        same_ip || self.dns_lower.contains(&common_name.to_ascii_lowercase())
    }
}

/// An IP address as lenient parsers read one: IPv6 in any case and with leading zeros,
/// IPv4 as inet_aton(3) reads it (one to four parts, each decimal, octal with a leading
/// 0, or hexadecimal with 0x, the last filling the remaining bytes).
fn loose_ip(text: &str) -> Option<IpAddr> {
    if text.contains(':') {
        return text.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let parts: Vec<u32> = text.split('.').map(loose_number).collect::<Option<_>>()?;
    let (last, leading) = parts.split_last()?;
    if leading.len() > 3 {
        return None;
    }
    // Each leading part is one byte; the last fills the bytes left, big-endian.
    let mut octets = [0u8; 4];
    for (octet, part) in octets.iter_mut().zip(leading) {
        *octet = u8::try_from(*part).ok()?;
    }
    let tail = last.to_be_bytes();
    if tail[..leading.len()].iter().any(|byte| *byte != 0) {
        return None;
    }
    octets[leading.len()..].copy_from_slice(&tail[leading.len()..]);
    Some(IpAddr::V4(octets.into()))
}

/// One inet_aton(3) number: hexadecimal after 0x, octal after a leading 0, else decimal.
fn loose_number(part: &str) -> Option<u32> {
    if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16).ok();
    }
    if part.len() > 1 && part.starts_with('0') {
        return u32::from_str_radix(&part[1..], 8).ok();
    }
    part.parse().ok()
}

/// How BR 7.1.4.3 writes a subjectAltName entry in a commonName; None for kinds a
/// commonName cannot copy.
fn san_text(name: &GeneralName) -> Option<String> {
    match name {
        GeneralName::DnsName(dns) => Some(dns.as_str().to_string()),
        GeneralName::IpAddress(ip) => match ip.as_bytes() {
            &[a, b, c, d] => Some(std::net::Ipv4Addr::new(a, b, c, d).to_string()),
            bytes => <[u8; 16]>::try_from(bytes).ok().map(|v6| std::net::Ipv6Addr::from(v6).to_string()),
        },
        _ => None,
    }
}

/// The text of a commonName value in one of the string types BR 7.1.4 allows there
/// (UTF8String, PrintableString); None for any other encoding.
fn directory_string(value: &der::Any) -> Option<&str> {
    match value.tag() {
        der::Tag::Utf8String | der::Tag::PrintableString => std::str::from_utf8(value.value()).ok(),
        _ => None,
    }
}

/// BR 6.3.2: a subscriber certificate's validity period (notBefore to notAfter, both
/// included) is at most 398 days when issued on or after 2020-09-01, and since ballot
/// SC-081 at most 200 days from 2026-03-15, 100 days from 2027-03-15 and 47 days from
/// 2029-03-15.
fn check_subscriber_validity(cert: &Cert) -> Result<(), Violation> {
    const LIMITS: &[(i64, i64, &str)] = &[
        (1_868_227_200, 47, "2029-03-15"),
        (1_805_068_800, 100, "2027-03-15"),
        (1_773_532_800, 200, "2026-03-15"),
        (1_598_918_400, 398, "2020-09-01"),
    ];
    let Some((_, days, since)) = LIMITS.iter().find(|(from, _, _)| cert.not_before >= *from) else {
        return Ok(());
    };
    let period = cert.not_after - cert.not_before + 1;
    if period > days * DAY {
        return Err(violation(
            Reason::ValidityTooLong,
            cert,
            format!(
                "its validity period is {} days; a TLS server certificate issued since {since} may have {days} at most (BR 6.3.2)",
                (period + DAY - 1) / DAY
            ),
        ));
    }
    Ok(())
}

/// BR 7.1.2.10.7: a CA certificate's keyUsage is present and asserts keyCertSign. The
/// BR also ask CAs to mark it critical; like rustls-webpki, pyca `cryptography` and Go,
/// keyseal does not refuse a chain for that (RFC 5280 §4.2.1.3 only says SHOULD), since
/// the bits mean the same either way.
fn check_ca_key_usage(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_KEY_USAGE) else {
        return Err(violation(Reason::MissingExtension, cert, "this CA certificate has no keyUsage (BR 7.1.2.10.7)"));
    };
    let usage: KeyUsage = decode(cert, ext, "keyUsage")?;
    if !usage.0.contains(KeyUsages::KeyCertSign) {
        return Err(violation(
            Reason::BadKeyUsage,
            cert,
            "a CA certificate's keyUsage must assert keyCertSign (BR 7.1.2.10.7)",
        ));
    }
    Ok(())
}

/// BR 7.1.2.10.6 (as rustls-webpki and pyca apply it): a subordinate CA's
/// extendedKeyUsage, where present, names serverAuth and none of the purposes a TLS
/// certificate must not have; a CA without one is not restricted.
fn check_ca_purpose(cert: &Cert) -> Result<(), Violation> {
    let Some(eku) = extended_key_usage(cert)? else { return Ok(()) };
    if !eku.0.contains(&ID_KP_SERVER_AUTH) {
        return Err(missing_server_auth(cert, "a TLS CA's extendedKeyUsage must name serverAuth (BR 7.1.2.10.6)"));
    }
    check_no_forbidden_purpose(cert, &eku, "7.1.2.10.6")
}

pub(crate) fn extended_key_usage(cert: &Cert) -> Result<Option<ExtendedKeyUsage>, Violation> {
    find(cert, ID_CE_EXT_KEY_USAGE).map(|ext| decode(cert, ext, "extendedKeyUsage")).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::{BitString, OctetString};
    use der::{Any, Decode, Encode, Tagged};
    use x509_cert::ext::Extension;

    /// PKITS's Good CA (RSA-2048, an AKI of a keyIdentifier alone) with its
    /// tbsCertificate's fields changed by `edit`; the signature no longer matches, which
    /// these rules do not look at.
    fn good_ca_with(edit: impl FnOnce(&mut Vec<Any>)) -> Cert {
        let der = include_bytes!("../../fixtures/pkits/certs/GoodCACert.crt");
        let outer: Vec<Any> = Vec::from_der(der).unwrap();
        let mut tbs: Vec<Any> = Vec::from_der(&outer[0].to_der().unwrap()).unwrap();
        edit(&mut tbs);
        let tbs = Any::from_der(&tbs.to_der().unwrap()).unwrap();
        Cert::from_der(&vec![tbs, outer[1].clone(), outer[2].clone()].to_der().unwrap()).unwrap()
    }

    /// Good CA with its extensions changed by `edit`.
    fn with_extensions(edit: impl FnOnce(&mut Vec<Extension>)) -> Cert {
        good_ca_with(|tbs| {
            let wrapped = tbs[7].clone();
            let mut extensions: Vec<Extension> = Vec::from_der(wrapped.value()).unwrap();
            edit(&mut extensions);
            tbs[7] = Any::new(wrapped.tag(), extensions.to_der().unwrap()).unwrap();
        })
    }

    /// `extensions` with the one of `oid` set to `value` (added when absent), or removed.
    fn set(extensions: &mut Vec<Extension>, oid: ObjectIdentifier, value: Option<(bool, Vec<u8>)>) {
        extensions.retain(|e| e.extn_id != oid);
        if let Some((critical, der)) = value {
            extensions.push(Extension { extn_id: oid, critical, extn_value: OctetString::new(der).unwrap() });
        }
    }

    fn with_aki(aki: &AuthorityKeyIdentifier) -> Cert {
        with_extensions(|e| set(e, ID_CE_AUTHORITY_KEY_IDENTIFIER, Some((false, aki.to_der().unwrap()))))
    }

    /// A certificate whose key is an RSA key with a modulus of `bits` bits.
    fn with_rsa_bits(bits: usize) -> Cert {
        let mut modulus = vec![0xFFu8; bits.div_ceil(8)];
        modulus[0] = 0xFF >> (modulus.len() * 8 - bits);
        let key = vec![der::asn1::Uint::new(&modulus).unwrap(), der::asn1::Uint::new(&[1, 0, 1]).unwrap()];
        let spki = spki::SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned { oid: RSA_ENCRYPTION, parameters: Some(Any::null()) },
            subject_public_key: BitString::from_bytes(&key.to_der().unwrap()).unwrap(),
        };
        good_ca_with(|tbs| tbs[6] = Any::from_der(&spki.to_der().unwrap()).unwrap())
    }

    /// BR 7.1.2.11.1: a keyIdentifier, and nothing else.
    #[test]
    fn an_authority_key_identifier_is_a_key_identifier_alone() {
        let id = Some(OctetString::new(vec![7; 20]).unwrap());
        let issuer = Some(vec![GeneralName::DnsName(der::asn1::Ia5String::new("ca.example").unwrap())]);
        let serial = Some(x509_cert::serial_number::SerialNumber::new(&[5]).unwrap());
        let verdict = |aki: AuthorityKeyIdentifier| check_authority_key_identifier(&with_aki(&aki)).map_err(|e| e.0);
        let alone = AuthorityKeyIdentifier { key_identifier: id.clone(), ..Default::default() };
        assert_eq!(verdict(alone), Ok(()));
        assert_eq!(verdict(AuthorityKeyIdentifier::default()), Err(Reason::MalformedExtension), "empty");
        let with_serial = AuthorityKeyIdentifier {
            key_identifier: id.clone(),
            authority_cert_serial_number: serial,
            ..Default::default()
        };
        assert_eq!(verdict(with_serial), Err(Reason::MalformedExtension));
        let with_issuer =
            AuthorityKeyIdentifier { key_identifier: id, authority_cert_issuer: issuer, ..Default::default() };
        assert_eq!(verdict(with_issuer), Err(Reason::MalformedExtension));
    }

    /// BR 6.1.5: RSA moduli of 2048 bits or more, in whole bytes.
    #[test]
    fn rsa_keys_are_2048_bits_or_more_in_whole_bytes() {
        let verdict = |bits| check_key(&with_rsa_bits(bits)).map_err(|e| e.0);
        assert_eq!(verdict(2048), Ok(()));
        assert_eq!(verdict(3072), Ok(()));
        assert_eq!(verdict(2047), Err(Reason::WeakKey));
        assert_eq!(verdict(2052), Err(Reason::WeakKey), "not whole bytes");
        assert_eq!(verdict(1024), Err(Reason::WeakKey));
    }

    #[test]
    fn rsa_modulus_lengths_are_counted_in_bits() {
        use der::Encode;
        let key = |modulus: &[u8]| {
            let n = der::asn1::Uint::new(modulus).unwrap();
            let e = der::asn1::Uint::new(&[1, 0, 1]).unwrap();
            vec![n, e].to_der().unwrap()
        };
        assert_eq!(rsa_modulus_bits(&key(&[0xC0; 256])), Some(2048));
        assert_eq!(rsa_modulus_bits(&key(&[0x7F; 256])), Some(2047));
        assert_eq!(rsa_modulus_bits(&key(&[0xFF; 128])), Some(1024));
        assert_eq!(rsa_modulus_bits(b"\x30\x00"), None);
    }

    fn eku(purposes: &[ObjectIdentifier]) -> Option<(bool, Vec<u8>)> {
        Some((false, ExtendedKeyUsage(purposes.to_vec()).to_der().unwrap()))
    }

    /// BR 7.1.2.7.10: serverAuth, and none of the forbidden purposes, in a server
    /// certificate; 7.1.2.7.6: a non-critical extendedKeyUsage.
    #[test]
    fn a_server_certificate_names_server_auth_and_no_forbidden_purpose() {
        let verdict =
            |value| check_subscriber_purpose(&with_extensions(|e| set(e, ID_CE_EXT_KEY_USAGE, value))).map_err(|e| e.0);
        assert_eq!(verdict(eku(&[ID_KP_SERVER_AUTH])), Ok(()));
        let client_auth = der::oid::db::rfc5280::ID_KP_CLIENT_AUTH;
        assert_eq!(verdict(eku(&[ID_KP_SERVER_AUTH, client_auth])), Ok(()), "clientAuth may go with it");
        let missing = Err(Reason::MissingPurpose(crate::x509::Purpose::Server));
        assert_eq!(verdict(eku(&[ID_KP_CODE_SIGNING])), missing);
        assert_eq!(verdict(None), missing);
        for (forbidden, name) in FORBIDDEN_PURPOSES {
            assert_eq!(verdict(eku(&[ID_KP_SERVER_AUTH, forbidden])), Err(Reason::ForbiddenPurpose), "{name}");
        }
        let critical = Some((true, ExtendedKeyUsage(vec![ID_KP_SERVER_AUTH]).to_der().unwrap()));
        assert_eq!(verdict(critical), Err(Reason::ForbiddenPurpose), "critical");
    }

    /// BR 7.1.2.7.12: a subjectAltName, critical when the subject is empty.
    #[test]
    fn a_server_certificate_has_a_san_critical_when_its_subject_is_empty() {
        let san = |critical| Some((critical, vec![0x30, 0x05, 0x82, 0x03, b'a', b'.', b'b']));
        let verdict = |value, empty_subject: bool| {
            let cert = good_ca_with(|tbs| {
                let wrapped = tbs[7].clone();
                let mut extensions: Vec<Extension> = Vec::from_der(wrapped.value()).unwrap();
                set(&mut extensions, ID_CE_SUBJECT_ALT_NAME, value);
                tbs[7] = Any::new(wrapped.tag(), extensions.to_der().unwrap()).unwrap();
                if empty_subject {
                    tbs[5] = Any::from_der(&x509_cert::name::Name::default().to_der().unwrap()).unwrap();
                }
            });
            check_subscriber_names(&cert).map_err(|e| e.0)
        };
        assert_eq!(verdict(san(false), false), Ok(()));
        assert_eq!(verdict(san(true), true), Ok(()));
        assert_eq!(verdict(san(false), true), Err(Reason::BadCriticality));
        assert_eq!(verdict(san(true), false), Err(Reason::BadCriticality), "critical beside a subject");
        assert_eq!(verdict(None, false), Err(Reason::MissingExtension));
    }

    /// A leaf whose subject is one commonName, `cn` (a UTF8String), with `san`.
    fn with_common_name(cn: &str, san: Vec<GeneralName>) -> Cert {
        let subject: x509_cert::name::Name = format!("CN={cn}").parse().unwrap();
        let san = SubjectAltName(san).to_der().unwrap();
        good_ca_with(|tbs| {
            tbs[5] = Any::from_der(&subject.to_der().unwrap()).unwrap();
            let wrapped = tbs[7].clone();
            let mut extensions: Vec<Extension> = Vec::from_der(wrapped.value()).unwrap();
            set(&mut extensions, ID_CE_SUBJECT_ALT_NAME, Some((false, san)));
            tbs[7] = Any::new(wrapped.tag(), extensions.to_der().unwrap()).unwrap();
        })
    }

    /// BR 7.1.4.3: a commonName spelling a SAN identity differently is refused; one
    /// naming something the SAN does not hold is let through (see the function).
    #[test]
    fn a_common_name_is_written_as_the_san_writes_it() {
        let dns = |name: &str| GeneralName::DnsName(der::asn1::Ia5String::new(name).unwrap());
        let ip = |bytes: &[u8]| GeneralName::IpAddress(OctetString::new(bytes).unwrap());
        let v4 = ip(&[192, 168, 1, 1]);
        let v6 = ip(&"2001:db8::8a2e:370:7334".parse::<std::net::Ipv6Addr>().unwrap().octets());
        let verdict =
            |cn: &str, san: Vec<GeneralName>| check_subscriber_common_name(&with_common_name(cn, san)).map_err(|e| e.0);
        let mismatch = Err(Reason::CommonNameMismatch);
        assert_eq!(verdict("www.example.com", vec![dns("www.example.com")]), Ok(()));
        assert_eq!(verdict("192.168.1.1", vec![v4.clone()]), Ok(()));
        assert_eq!(verdict("2001:db8::8a2e:370:7334", vec![v6.clone()]), Ok(()));
        assert_eq!(verdict("example.com", vec![dns("*.example.com")]), Ok(()), "another name: let through");
        assert_eq!(verdict("WWW.Example.com", vec![dns("www.example.com")]), mismatch);
        assert_eq!(verdict("bücher.example", vec![dns("xn--bcher-kva.example")]), mismatch);
        assert_eq!(verdict("0xC0A80101", vec![v4.clone()]), mismatch);
        assert_eq!(verdict("192.168.001.001", vec![v4.clone()]), mismatch);
        assert_eq!(verdict("192.168.257", vec![v4.clone()]), mismatch, "inet_aton's three-part form");
        assert_eq!(verdict("2001:DB8::8A2E:370:7334", vec![v6.clone()]), mismatch);
        assert_eq!(verdict("2001:0db8:0:0:0:8a2e:0370:7334", vec![v6]), mismatch);
        assert_eq!(verdict("10.0.0.1", vec![v4]), Ok(()), "another address: let through");
    }

    #[test]
    fn loose_ipv4_reads_as_inet_aton_does() {
        let v4 = |text: &str| match loose_ip(text) {
            Some(IpAddr::V4(v4)) => Some(v4.octets()),
            _ => None,
        };
        assert_eq!(v4("192.168.1.1"), Some([192, 168, 1, 1]));
        assert_eq!(v4("0300.0250.01.01"), Some([192, 168, 1, 1]));
        assert_eq!(v4("0xC0A80101"), Some([192, 168, 1, 1]));
        assert_eq!(v4("192.11010305"), Some([192, 168, 1, 1]));
        assert_eq!(v4("192.168.257"), Some([192, 168, 1, 1]));
        assert_eq!(v4("255.255.255.255"), Some([255, 255, 255, 255]));
        assert_eq!(v4("4294967295"), Some([255, 255, 255, 255]));
        assert_eq!(v4("1.16777215"), Some([1, 255, 255, 255]));
        assert_eq!(v4("1.16777216"), None);
        assert_eq!(v4("1.2.65536"), None);
        assert_eq!(v4("256.1.1.1"), None);
        assert_eq!(v4("1.2.3.256"), None);
        assert_eq!(v4("1.2.3.4.5"), None);
        assert_eq!(v4("example.com"), None);
        assert_eq!(v4("08.1.1.1"), None, "8 is no octal digit");
    }

    /// BR 6.3.2: the validity period counts both ends; 200 days is the limit for a
    /// certificate issued on 2026-04-01, 398 for one issued in 2021, none before 2020-09.
    #[test]
    fn a_server_certificate_is_valid_no_longer_than_its_issuance_date_allows() {
        let with_validity = |not_before: u64, seconds: u64| {
            let time = |at: u64| {
                x509_cert::time::Time::UtcTime(
                    der::asn1::UtcTime::from_unix_duration(std::time::Duration::from_secs(at)).unwrap(),
                )
            };
            let validity: x509_cert::time::Validity =
                x509_cert::time::Validity::new(time(not_before), time(not_before + seconds));
            good_ca_with(|tbs| tbs[4] = Any::from_der(&validity.to_der().unwrap()).unwrap())
        };
        let verdict =
            |not_before, seconds| check_subscriber_validity(&with_validity(not_before, seconds)).map_err(|e| e.0);
        let day = DAY as u64;
        let april_2026 = 1_775_001_600;
        assert_eq!(verdict(april_2026, 200 * day - 1), Ok(()), "200 days, both ends counted");
        assert_eq!(verdict(april_2026, 200 * day), Err(Reason::ValidityTooLong), "one second more");
        let in_2021 = 1_610_000_000;
        assert_eq!(verdict(in_2021, 398 * day - 1), Ok(()));
        assert_eq!(verdict(in_2021, 398 * day), Err(Reason::ValidityTooLong));
        assert_eq!(verdict(1_500_000_000, 800 * day), Ok(()), "before 2020-09-01");
    }

    /// BR 7.1.2.10.7: a CA's keyUsage is present and asserts keyCertSign, critical or not.
    #[test]
    fn a_cas_key_usage_asserts_key_cert_sign() {
        let usage = |critical, bits: KeyUsages| Some((critical, KeyUsage(bits.into()).to_der().unwrap()));
        let verdict = |value| check_ca_key_usage(&with_extensions(|e| set(e, ID_CE_KEY_USAGE, value))).map_err(|e| e.0);
        assert_eq!(verdict(usage(true, KeyUsages::KeyCertSign)), Ok(()));
        assert_eq!(verdict(usage(false, KeyUsages::KeyCertSign)), Ok(()));
        assert_eq!(verdict(usage(true, KeyUsages::CRLSign)), Err(Reason::BadKeyUsage));
        assert_eq!(verdict(None), Err(Reason::MissingExtension));
    }

    /// BR 7.1.2.10.6: a TLS CA's extendedKeyUsage, if any, names serverAuth and none of
    /// the forbidden purposes; a CA without one is not restricted.
    #[test]
    fn a_cas_purposes_if_any_include_server_auth_and_no_forbidden_one() {
        let verdict =
            |value| check_ca_purpose(&with_extensions(|e| set(e, ID_CE_EXT_KEY_USAGE, value))).map_err(|e| e.0);
        assert_eq!(verdict(None), Ok(()));
        assert_eq!(verdict(eku(&[ID_KP_SERVER_AUTH])), Ok(()));
        assert_eq!(verdict(eku(&[ID_KP_CODE_SIGNING])), Err(Reason::MissingPurpose(crate::x509::Purpose::Server)));
        for (forbidden, name) in FORBIDDEN_PURPOSES {
            assert_eq!(verdict(eku(&[ID_KP_SERVER_AUTH, forbidden])), Err(Reason::ForbiddenPurpose), "{name}");
        }
    }

    /// The root rules a web-PKI anchor is held to (7.1.2.1.2, 7.1.2.1.3): only when it is
    /// self-issued, and not the ban on authorityCertIssuer and authorityCertSerialNumber.
    #[test]
    fn a_root_anchor_has_no_purposes_and_its_own_key_identifier() {
        let ski = SubjectKeyIdentifier(OctetString::new(vec![9; 20]).unwrap()).to_der().unwrap();
        let aki = |id: Option<Vec<u8>>, issuer: bool| {
            let issuer = issuer.then(|| vec![GeneralName::DnsName(der::asn1::Ia5String::new("ca.example").unwrap())]);
            let serial = issuer.as_ref().map(|_| x509_cert::serial_number::SerialNumber::new(&[5]).unwrap());
            let value = AuthorityKeyIdentifier {
                key_identifier: id.map(|id| OctetString::new(id).unwrap()),
                authority_cert_issuer: issuer,
                authority_cert_serial_number: serial,
            };
            Some((false, value.to_der().unwrap()))
        };
        let verdict = |aki_value, eku_value, self_issued| {
            let cert = with_extensions(|e| {
                set(e, ID_CE_SUBJECT_KEY_IDENTIFIER, Some((false, ski.clone())));
                set(e, ID_CE_AUTHORITY_KEY_IDENTIFIER, aki_value);
                set(e, ID_CE_EXT_KEY_USAGE, eku_value);
            });
            check_anchor(&cert, self_issued).map_err(|e| e.0)
        };
        assert_eq!(verdict(None, None, true), Ok(()));
        assert_eq!(verdict(aki(Some(vec![9; 20]), false), None, true), Ok(()));
        assert_eq!(verdict(aki(Some(vec![9; 20]), true), None, true), Ok(()), "as five Mozilla roots have");
        assert_eq!(verdict(aki(Some(vec![8; 20]), false), None, true), Err(Reason::MalformedExtension));
        assert_eq!(verdict(aki(None, true), None, true), Err(Reason::MalformedExtension));
        assert_eq!(verdict(None, eku(&[ID_KP_SERVER_AUTH]), true), Err(Reason::MisplacedExtension));
        assert_eq!(
            verdict(aki(Some(vec![8; 20]), false), eku(&[ID_KP_SERVER_AUTH]), false),
            Ok(()),
            "a CA trusted directly"
        );
    }
}
