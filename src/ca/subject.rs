//! What the user writes for an identity: a subject DN (`CN=Release Signing,O=Example,C=NL`)
//! and subject alternative names (`dns:example.com`, `ip:10.0.0.1`, `email:a@example.com`,
//! `uri:https://example.com`), checked and turned into X.509 types. The subject rules
//! (`check_name`) are the CA's one allow-list: `--subject` and a CSR's subject are held to
//! the same attributes, encodings and lengths, and no subject may be the issuer's own name.

use crate::ca::{CaCode, CaError};
use der::asn1::{Ia5String, Ia5StringRef, ObjectIdentifier, OctetString, PrintableStringRef, Utf8StringRef};
use der::{Tag, Tagged};
use std::str::FromStr;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

/// How an attribute's value is encoded: RFC 5280 §4.1.2.6 and Appendix A.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    /// A DirectoryString: UTF8String, or PrintableString from older encoders (the other
    /// DirectoryString choices are legacy that conforming CAs no longer write).
    Directory,
    /// countryName: a PrintableString of two capital letters (ISO 3166).
    Country,
    /// emailAddress: an IA5String.
    Email,
}

/// One attribute a subject may have: how `--subject` writes it, how the certificate's
/// string form spells it, its OID, its encoding and the RFC 5280 Appendix A upper bound
/// on its length in characters.
struct Attribute {
    written: &'static str,
    canonical: &'static str,
    oid: ObjectIdentifier,
    kind: ValueKind,
    max_chars: usize,
}

const fn attribute(
    written: &'static str,
    canonical: &'static str,
    oid: &str,
    kind: ValueKind,
    max_chars: usize,
) -> Attribute {
    Attribute { written, canonical, oid: ObjectIdentifier::new_unwrap(oid), kind, max_chars }
}

/// The attributes a subject may use, whether written with `--subject` or taken from a CSR:
/// one allow-list, so a CSR cannot bring in what the flag refuses.
const ATTRIBUTES: &[Attribute] = &[
    attribute("CN", "CN", "2.5.4.3", ValueKind::Directory, 64),
    attribute("O", "O", "2.5.4.10", ValueKind::Directory, 64),
    attribute("OU", "OU", "2.5.4.11", ValueKind::Directory, 64),
    attribute("C", "C", "2.5.4.6", ValueKind::Country, 2),
    attribute("ST", "ST", "2.5.4.8", ValueKind::Directory, 128),
    attribute("L", "L", "2.5.4.7", ValueKind::Directory, 128),
    attribute("EMAILADDRESS", "emailAddress", "1.2.840.113549.1.9.1", ValueKind::Email, 255),
];

const ALLOWED: &str = "CN, O, OU, C, ST, L, emailAddress";

/// Parses a subject DN in RFC 4514 form with the attributes CN, O, OU, C, ST, L and
/// emailAddress (names are case-insensitive), then holds the result to the subject rules
/// of [`check_name`] (so neither a `+` nor a `#hex` value gets past them).
pub fn parse_subject(text: &str) -> Result<Name, CaError> {
    let bad = |why: String| {
        CaError::new(
            CaCode::BadSubject,
            format!("--subject {text:?}: {why}; write e.g. \"CN=Release Signing,O=Example,C=NL\""),
        )
    };
    if text.trim().is_empty() {
        return Err(bad("it is empty".into()));
    }
    let mut normalized = Vec::new();
    for part in split_unescaped(text) {
        let (key, value) = part.split_once('=').ok_or_else(|| bad(format!("{part:?} is not NAME=value")))?;
        let key = key.trim();
        let canonical = ATTRIBUTES
            .iter()
            .find(|a| a.written.eq_ignore_ascii_case(key))
            .map(|a| a.canonical)
            .ok_or_else(|| bad(format!("{key} is not one of {ALLOWED}")))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(bad(format!("{canonical} has no value")));
        }
        normalized.push(format!("{canonical}={value}"));
    }
    let name = Name::from_str(&normalized.join(",")).map_err(|e| bad(e.to_string()))?;
    check_name(&name).map_err(bad)?;
    Ok(name)
}

/// Checks every attribute of `name` against the allow-list: a known attribute, encoded as
/// RFC 5280 asks, not blank, no control characters, within its length bound, and C a
/// two-letter country code. Says which attribute broke which rule. An empty name passes
/// here; whether one may be certified is the caller's decision.
pub fn check_name(name: &Name) -> Result<(), String> {
    for rdn in name.iter_rdn() {
        if rdn.iter().next().is_none() {
            return Err("it has a relative distinguished name with no attribute".into());
        }
        for atv in rdn.iter() {
            check_attribute(atv)?;
        }
    }
    Ok(())
}

/// One attribute against its rule.
fn check_attribute(atv: &AttributeTypeAndValue) -> Result<(), String> {
    let rule = ATTRIBUTES.iter().find(|a| a.oid == atv.oid).ok_or_else(|| {
        let known = der::oid::db::DB.by_oid(&atv.oid).map(|n| format!("{n} ")).unwrap_or_default();
        format!("attribute {known}({}) is not one of {ALLOWED}", atv.oid)
    })?;
    let name = rule.canonical;
    let value = attribute_text(atv, rule.kind).map_err(|why| format!("{name} {why}"))?;
    if value.trim().is_empty() {
        return Err(format!("{name} has no value"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{name} holds a control character"));
    }
    let length = value.chars().count();
    if length > rule.max_chars {
        return Err(format!("{name} is {length} characters long; RFC 5280 allows at most {}", rule.max_chars));
    }
    if rule.kind == ValueKind::Country && !(length == 2 && value.chars().all(|c| c.is_ascii_uppercase())) {
        return Err(format!("C={value} is not a two-letter country code such as NL"));
    }
    Ok(())
}

/// The text of a value, if it is encoded the way `kind` asks and decodes as such.
fn attribute_text(atv: &AttributeTypeAndValue, kind: ValueKind) -> Result<String, String> {
    let value = &atv.value;
    let tag = value.tag();
    let wrong = |expected: &str| format!("is a {tag}; RFC 5280 asks for {expected}");
    let undecodable = |e: der::Error| format!("is not a valid {tag}: {e}");
    let text = match (kind, tag) {
        (ValueKind::Directory, Tag::Utf8String) => Utf8StringRef::try_from(value).map_err(undecodable)?.as_str(),
        (ValueKind::Directory | ValueKind::Country, Tag::PrintableString) => {
            PrintableStringRef::try_from(value).map_err(undecodable)?.as_str()
        }
        (ValueKind::Email, Tag::Ia5String) => Ia5StringRef::try_from(value).map_err(undecodable)?.as_str(),
        (ValueKind::Directory, _) => return Err(wrong("a UTF8String (or PrintableString)")),
        (ValueKind::Country, _) => return Err(wrong("a PrintableString")),
        (ValueKind::Email, _) => return Err(wrong("an IA5String")),
    };
    Ok(text.to_string())
}

/// Holds a CSR's subject to the rules `--subject` obeys, when it is to be certified as is.
/// Refuses an empty one (`empty-subject`): keyseal's certificates always name their
/// subject, so their subjectAltName never has to be critical (RFC 5280 §4.2.1.6).
pub fn check_csr_subject(subject: &Name) -> Result<(), CaError> {
    let instead =
        "pass --subject \"CN=...\" to give the certificate a subject of your own (the CSR's is then not used)";
    if subject.is_empty() {
        return Err(CaError::chain(
            crate::x509::Reason::EmptySubject,
            format!("the CSR's subject is empty, and keyseal never issues a certificate without one; {instead}"),
        ));
    }
    check_name(subject)
        .map_err(|why| CaError::new(CaCode::BadCsrSubject, format!("the CSR's subject {subject}: {why}; {instead}")))
}

/// Refuses a subject that matches the issuing CA's own name under RFC 5280 §7.1 (case and
/// white space folded): such a certificate would be self-issued, and path building would
/// take it for the CA itself (or for a rollover certificate of it).
pub fn check_not_issuer(subject: &Name, issuer: &Name, ca_name: &str) -> Result<(), CaError> {
    if crate::x509::name::name_key(subject) == crate::x509::name::name_key(issuer) {
        return Err(CaError::new(
            CaCode::SubjectIsIssuer,
            format!(
                "the subject {subject} is the name of CA {ca_name} itself; a certificate it issues needs a subject of its own: pass another --subject"
            ),
        ));
    }
    Ok(())
}

/// Splits on commas that are not escaped with a backslash.
fn split_unescaped(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in text.chars() {
        if c == ',' && !escaped {
            parts.push(std::mem::take(&mut current));
            continue;
        }
        escaped = c == '\\' && !escaped;
        current.push(c);
    }
    parts.push(current);
    parts
}

/// The kind of a subject alternative name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanKind {
    /// A DNS name.
    Dns,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An email address.
    Email,
    /// A URI.
    Uri,
}

impl SanKind {
    /// How the kind is written: `dns`, `ip`, `email`, `uri`.
    pub fn as_str(self) -> &'static str {
        match self {
            SanKind::Dns => "dns",
            SanKind::Ip => "ip",
            SanKind::Email => "email",
            SanKind::Uri => "uri",
        }
    }
}

/// One subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct San {
    /// Its kind.
    pub kind: SanKind,
    /// Its value as written.
    pub value: String,
}

/// Parses `dns:NAME`, `ip:ADDRESS`, `email:ADDRESS` or `uri:URI`.
pub fn parse_san(text: &str) -> Result<San, CaError> {
    let bad = |why: &str| {
        CaError::new(
            CaCode::BadSan,
            format!(
                "--san {text:?}: {why}; write dns:example.com, ip:10.0.0.1, email:a@example.com or uri:https://example.com"
            ),
        )
    };
    let (kind, value) = text.split_once(':').ok_or_else(|| bad("no kind"))?;
    let kind = match kind.to_ascii_lowercase().as_str() {
        "dns" => SanKind::Dns,
        "ip" => SanKind::Ip,
        "email" => SanKind::Email,
        "uri" => SanKind::Uri,
        _ => return Err(bad("unknown kind")),
    };
    let value = value.trim().to_string();
    let valid = match kind {
        SanKind::Dns => {
            !value.is_empty()
                && value.len() <= 253
                && value.split('.').enumerate().all(|(i, label)| {
                    (i == 0 && label == "*")
                        || (!label.is_empty()
                            && label.len() <= 63
                            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                })
        }
        SanKind::Ip => value.parse::<std::net::IpAddr>().is_ok(),
        SanKind::Email => {
            value.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
                && value.is_ascii()
        }
        SanKind::Uri => {
            value.split_once(':').is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty())
                && value.is_ascii()
                && !value.contains(' ')
        }
    };
    if !valid {
        return Err(bad(&format!("not a valid {} value", kind.as_str())));
    }
    Ok(San { kind, value })
}

impl San {
    /// The X.509 GeneralName.
    pub fn general_name(&self) -> Result<GeneralName, CaError> {
        let ia5 = |v: &str| Ia5String::new(v).map_err(|e| CaError::new(CaCode::BadSan, format!("{v}: {e}")));
        Ok(match self.kind {
            SanKind::Dns => GeneralName::DnsName(ia5(&self.value)?),
            SanKind::Email => GeneralName::Rfc822Name(ia5(&self.value)?),
            SanKind::Uri => GeneralName::UniformResourceIdentifier(ia5(&self.value)?),
            SanKind::Ip => {
                let bytes = match self.value.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V4(v4)) => v4.octets().to_vec(),
                    Ok(std::net::IpAddr::V6(v6)) => v6.octets().to_vec(),
                    Err(e) => return Err(CaError::new(CaCode::BadSan, e.to_string())),
                };
                GeneralName::IpAddress(
                    OctetString::new(bytes).map_err(|e| CaError::new(CaCode::BadSan, e.to_string()))?,
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_with_every_attribute() {
        let name = parse_subject("cn=Release Signing, O=Example\\, Inc.,OU=Build,C=NL,ST=Noord-Holland,L=Amsterdam,emailAddress=ops@example.com").unwrap();
        let text = name.to_string();
        for part in ["CN=Release Signing", "O=Example\\, Inc.", "OU=Build", "C=NL", "ST=Noord-Holland", "L=Amsterdam"] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        assert!(text.contains("ops@example.com"), "{text}");
        for bad in ["", "CN", "X=1", "C=Netherlands", "CN="] {
            assert_eq!(parse_subject(bad).unwrap_err().code, "bad-subject", "{bad}");
        }
    }

    #[test]
    fn the_rules_see_past_plus_and_hex() {
        // A second attribute after `+`, or a `#hex` DER value, is held to the rules too.
        for sneaky in [
            "CN=a+1.2.840.113549.1.9.2=x",
            "CN=#0403616263",
            "CN=a+C=Netherlands",
            "CN=a,emailAddress=\u{e9}@example.com",
            "CN=line\u{a}break",
        ] {
            assert_eq!(parse_subject(sneaky).unwrap_err().code, "bad-subject", "{sneaky}");
        }
        let long = format!("CN={}", "x".repeat(65));
        assert!(parse_subject(&long).unwrap_err().message.contains("at most 64"), "{long}");
        assert!(parse_subject(&format!("CN={}", "\u{e9}".repeat(64))).is_ok(), "characters, not bytes");
        assert!(parse_subject("CN=a+O=b,C=NL").is_ok());
    }

    #[test]
    fn csr_subjects_and_the_issuer() {
        let empty = Name::default();
        assert_eq!(check_csr_subject(&empty).unwrap_err().code, "empty-subject");
        let dc = Name::from_str("CN=web,DC=example").unwrap();
        let refused = check_csr_subject(&dc).unwrap_err();
        assert_eq!(refused.code, "bad-csr-subject");
        assert!(refused.message.contains("0.9.2342.19200300.100.1.25") && refused.message.contains("--subject"));
        let issuer = Name::from_str("CN=Example CA,O=Example").unwrap();
        let same = Name::from_str("CN=example  ca,O=EXAMPLE").unwrap();
        assert_eq!(check_not_issuer(&same, &issuer, "root").unwrap_err().code, "subject-is-issuer");
        assert!(check_not_issuer(&Name::from_str("CN=Leaf,O=Example").unwrap(), &issuer, "root").is_ok());
    }

    #[test]
    fn alternative_names() {
        assert_eq!(parse_san("dns:*.example.com").unwrap().kind, SanKind::Dns);
        assert_eq!(parse_san("IP:2001:db8::1").unwrap().kind, SanKind::Ip);
        assert!(parse_san("email:ops@example.com").unwrap().general_name().is_ok());
        assert!(parse_san("uri:https://example.com/x").is_ok());
        for bad in ["example.com", "dns:exa mple.com", "ip:300.1.1.1", "email:nobody", "uri:nothing", "fax:123"] {
            assert_eq!(parse_san(bad).unwrap_err().code, "bad-san", "{bad}");
        }
    }
}
