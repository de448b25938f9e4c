//! What the user writes for an identity: a subject DN (`CN=Release Signing,O=Example,C=NL`)
//! and subject alternative names (`dns:example.com`, `ip:10.0.0.1`, `email:a@example.com`,
//! `uri:https://example.com`), checked and turned into X.509 types.

use crate::ca::CaError;
use der::asn1::{Ia5String, OctetString};
use std::str::FromStr;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

/// The attribute names a subject may use, as written, and how they are spelled in the
/// certificate's string form.
const ATTRIBUTES: &[(&str, &str)] =
    &[("CN", "CN"), ("O", "O"), ("OU", "OU"), ("C", "C"), ("ST", "ST"), ("L", "L"), ("EMAILADDRESS", "emailAddress")];

/// Parses a subject DN in RFC 4514 form with the attributes CN, O, OU, C, ST, L and
/// emailAddress (names are case-insensitive). C must be a two-letter country code.
pub fn parse_subject(text: &str) -> Result<Name, CaError> {
    let bad = |why: String| {
        CaError::new(
            "bad-subject",
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
            .find(|(written, _)| written.eq_ignore_ascii_case(key))
            .map(|(_, canonical)| *canonical)
            .ok_or_else(|| bad(format!("{key} is not one of CN, O, OU, C, ST, L, emailAddress")))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(bad(format!("{canonical} has no value")));
        }
        if canonical == "C" && !(value.len() == 2 && value.chars().all(|c| c.is_ascii_uppercase())) {
            return Err(bad(format!("C={value} is not a two-letter country code such as NL")));
        }
        normalized.push(format!("{canonical}={value}"));
    }
    Name::from_str(&normalized.join(",")).map_err(|e| bad(e.to_string()))
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
            "bad-san",
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
        let ia5 = |v: &str| Ia5String::new(v).map_err(|e| CaError::new("bad-san", format!("{v}: {e}")));
        Ok(match self.kind {
            SanKind::Dns => GeneralName::DnsName(ia5(&self.value)?),
            SanKind::Email => GeneralName::Rfc822Name(ia5(&self.value)?),
            SanKind::Uri => GeneralName::UniformResourceIdentifier(ia5(&self.value)?),
            SanKind::Ip => {
                let bytes = match self.value.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V4(v4)) => v4.octets().to_vec(),
                    Ok(std::net::IpAddr::V6(v6)) => v6.octets().to_vec(),
                    Err(e) => return Err(CaError::new("bad-san", e.to_string())),
                };
                GeneralName::IpAddress(OctetString::new(bytes).map_err(|e| CaError::new("bad-san", e.to_string()))?)
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
