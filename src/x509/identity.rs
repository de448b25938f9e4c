//! Whether a certificate is good for a name: the reference identity a client asks for
//! (`--hostname`, `--ip`, `--email`) against the leaf's subjectAltName, by RFC 9525 (which
//! replaced RFC 6125) for DNS names and IP addresses and RFC 8550 §3 for email addresses.
//!
//! Only subjectAltName counts: never the subject's commonName (RFC 9525 §6.1 forbids the
//! fallback, and the CA/Browser Forum Baseline Requirements put every name in the SAN).
//! A wildcard is the whole left-most label and nothing else (`*.example.com`, not
//! `w*.example.com`), stands for exactly one label, never for an IDN A-label (`xn--`),
//! and never over a public suffix (`*.co.uk`, `*.com`) as Mozilla's Public Suffix List
//! names them. IP addresses are compared as bytes, v4 and v6, never as text.

use std::net::IpAddr;
use x509_cert::ext::pkix::name::GeneralName;

/// A name a certificate is asked to be good for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A DNS hostname, lower case, without a trailing dot.
    Dns(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// An email address: local part as given, domain lower case.
    Email {
        /// Before the `@`, compared exactly.
        local: String,
        /// After the `@`, lower case.
        domain: String,
    },
}

impl Identity {
    /// `--hostname NAME`: an ASCII hostname in preferred name syntax (RFC 1034 §3.5 as
    /// relaxed by RFC 1123: labels of letters, digits and hyphens, not at either end); an
    /// internationalized name in its A-label form (`xn--...`).
    pub fn hostname(text: &str) -> Result<Identity, String> {
        if text.parse::<IpAddr>().is_ok() {
            return Err(format!("{text:?} is an IP address: ask for it with --ip"));
        }
        if !text.is_ascii() {
            return Err(format!(
                "{:?} is not ASCII: give an internationalized name in its A-label form (xn--...), as it is written in certificates",
                text.escape_default().to_string()
            ));
        }
        let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
        if name.len() > 253 || !name.split('.').all(is_ldh_label) {
            return Err(format!(
                "{text:?} is not a hostname: labels of letters, digits and hyphens (not first or last), 1 to 63 characters each, separated by dots"
            ));
        }
        Ok(Identity::Dns(name))
    }

    /// `--ip ADDR`: an IPv4 or IPv6 address, as text.
    pub fn ip(text: &str) -> Result<Identity, String> {
        text.parse::<IpAddr>()
            .map(Identity::Ip)
            .map_err(|_| format!("{text:?} is not an IPv4 or IPv6 address (e.g. 192.0.2.1, 2001:db8::1)"))
    }

    /// `--email ADDR`: `local@domain`, the domain a hostname.
    pub fn email(text: &str) -> Result<Identity, String> {
        let invalid = || format!("{text:?} is not an email address (local@domain)");
        let (local, domain) = text.rsplit_once('@').ok_or_else(invalid)?;
        if local.is_empty() || !local.is_ascii() || local.contains(|c: char| c.is_whitespace() || c.is_ascii_control())
        {
            return Err(invalid());
        }
        match Identity::hostname(domain) {
            Ok(Identity::Dns(domain)) => Ok(Identity::Email { local: local.to_string(), domain }),
            _ => Err(invalid()),
        }
    }

    /// The flag it came from, for messages.
    pub fn flag(&self) -> &'static str {
        match self {
            Identity::Dns(_) => "--hostname",
            Identity::Ip(_) => "--ip",
            Identity::Email { .. } => "--email",
        }
    }

    /// The name as a general name of the SAN's kind, for the name constraints of the
    /// CAs above the leaf (RFC 5280 §4.2.1.10 applies to the name asked for as to the
    /// names the certificate holds).
    pub fn general_name(&self) -> Option<GeneralName> {
        match self {
            Identity::Dns(name) => der::asn1::Ia5String::new(name).ok().map(GeneralName::DnsName),
            Identity::Ip(ip) => {
                let bytes = match ip {
                    IpAddr::V4(v4) => v4.octets().to_vec(),
                    IpAddr::V6(v6) => v6.octets().to_vec(),
                };
                der::asn1::OctetString::new(bytes).ok().map(GeneralName::IpAddress)
            }
            Identity::Email { local, domain } => {
                der::asn1::Ia5String::new(&format!("{local}@{domain}")).ok().map(GeneralName::Rfc822Name)
            }
        }
    }

    /// Whether one of `sans` (the leaf's subjectAltName) presents this identity.
    pub fn presented_in(&self, sans: &[GeneralName]) -> bool {
        sans.iter().any(|san| match (self, san) {
            (Identity::Dns(reference), GeneralName::DnsName(presented)) => dns_matches(presented.as_str(), reference),
            (Identity::Ip(reference), GeneralName::IpAddress(presented)) => ip_matches(presented.as_bytes(), reference),
            (Identity::Email { local, domain }, GeneralName::Rfc822Name(presented)) => {
                email_matches(presented.as_str(), local, domain)
            }
            _ => false,
        })
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Identity::Dns(name) => f.write_str(name),
            Identity::Ip(ip) => write!(f, "{ip}"),
            Identity::Email { local, domain } => write!(f, "{local}@{domain}"),
        }
    }
}

/// A label of preferred name syntax: 1 to 63 letters, digits and hyphens, no hyphen first
/// or last.
fn is_ldh_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// RFC 9525 §6.3: `presented` (a SAN dNSName) against `reference` (lower case, no
/// trailing dot), case-insensitively; a wildcard only as the whole left-most label,
/// standing for one label that is not an A-label, over a suffix that is not public.
pub fn dns_matches(presented: &str, reference: &str) -> bool {
    let presented = presented.to_ascii_lowercase();
    if !presented.split('.').all(|label| label == "*" || is_ldh_label(label)) {
        return false;
    }
    let Some(suffix) = presented.strip_prefix("*.") else {
        return presented == reference;
    };
    if suffix.contains('*') || is_public_suffix(suffix) {
        return false;
    }
    match reference.split_once('.') {
        Some((first, rest)) => rest == suffix && !first.starts_with("xn--"),
        None => false,
    }
}

/// Whether `domain` is itself a public suffix (no registrable domain of its own): then a
/// wildcard over it would cover names of unrelated owners. An unknown top-level domain is
/// one too (the list's implicit `*` rule).
fn is_public_suffix(domain: &str) -> bool {
    !domain.contains('.') || psl::domain(domain.as_bytes()).is_none()
}

/// An iPAddress SAN: four or sixteen octets, equal to the address's.
fn ip_matches(presented: &[u8], reference: &IpAddr) -> bool {
    match reference {
        IpAddr::V4(v4) => presented == v4.octets(),
        IpAddr::V6(v6) => presented == v6.octets(),
    }
}

/// An rfc822Name SAN: the local part exactly, the domain without regard to case (RFC
/// 5280 §4.2.1.6, RFC 8550 §3).
fn email_matches(presented: &str, local: &str, domain: &str) -> bool {
    match presented.rsplit_once('@') {
        Some((presented_local, presented_domain)) => {
            presented_local == local && presented_domain.eq_ignore_ascii_case(domain)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> String {
        match Identity::hostname(text).unwrap() {
            Identity::Dns(name) => name,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hostnames_are_checked_and_normalised() {
        assert_eq!(host("WWW.Example.COM."), "www.example.com");
        assert_eq!(host("xn--bcher-kva.example"), "xn--bcher-kva.example");
        for bad in ["", "a..b", "-a.example", "a-.example", "a_b.example", "*.example.com", "bücher.example", "a b"] {
            assert!(Identity::hostname(bad).is_err(), "{bad:?}");
        }
        assert!(Identity::hostname(&format!("{}.example", "a".repeat(64))).is_err());
        // 253 characters at most (RFC 1035 §2.3.4, without the trailing dot).
        let label = "a".repeat(63);
        let longest = format!("{label}.{label}.{label}.{}", "b".repeat(61));
        assert_eq!(longest.len(), 253);
        assert_eq!(host(&longest), longest);
        assert!(Identity::hostname(&format!("{longest}.")).is_ok(), "the trailing dot does not count");
        let too_long = format!("{label}.{label}.{label}.{}", "b".repeat(62));
        assert_eq!(too_long.len(), 254);
        assert!(Identity::hostname(&too_long).is_err());
        assert!(Identity::hostname("192.0.2.1").unwrap_err().contains("--ip"));
    }

    #[test]
    fn exact_names_match_without_regard_to_case() {
        assert!(dns_matches("WWW.example.com", "www.example.com"));
        assert!(!dns_matches("www.example.com", "example.com"));
        assert!(!dns_matches("example.com", "www.example.com"));
        assert!(!dns_matches("www.example.com.", "www.example.com"), "presented names carry no trailing dot");
        assert!(!dns_matches("www.exam_ple.com", "www.exam_ple.com"), "not preferred name syntax");
    }

    /// RFC 9525 §6.3 and the CA/Browser Forum rules for wildcards.
    #[test]
    fn a_wildcard_is_one_whole_left_most_label_over_a_registrable_domain() {
        assert!(dns_matches("*.example.com", "www.example.com"));
        assert!(!dns_matches("*.example.com", "example.com"), "it stands for one label, not none");
        assert!(!dns_matches("*.example.com", "a.b.example.com"), "nor for two");
        assert!(!dns_matches("w*.example.com", "www.example.com"), "only a whole label");
        assert!(!dns_matches("*w.example.com", "www.example.com"));
        assert!(!dns_matches("www.*.example.com", "www.a.example.com"), "only the left-most");
        assert!(!dns_matches("*.*.example.com", "a.b.example.com"));
        assert!(!dns_matches("*.example.com", "xn--bcher-kva.example.com"), "never an A-label");
        for public in ["*.com", "*.co.uk", "*.github.io", "*.invalidtld"] {
            let reference = public.replacen('*', "victim", 1);
            assert!(!dns_matches(public, &reference), "{public} is over a public suffix");
        }
        assert!(dns_matches("*.example.co.uk", "www.example.co.uk"));
    }

    #[test]
    fn ip_addresses_are_compared_as_bytes() {
        let v4 = Identity::ip("192.0.2.1").unwrap();
        let v6 = Identity::ip("2001:db8::1").unwrap();
        let san = |bytes: &[u8]| GeneralName::IpAddress(der::asn1::OctetString::new(bytes).unwrap());
        assert!(v4.presented_in(&[san(&[192, 0, 2, 1])]));
        assert!(!v4.presented_in(&[san(&[192, 0, 2, 2])]));
        let mapped = std::net::Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped().octets();
        assert!(!v4.presented_in(&[san(&mapped)]), "an IPv4-mapped IPv6 address is another address");
        let mut v6_bytes = [0u8; 16];
        v6_bytes[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        v6_bytes[15] = 1;
        assert!(v6.presented_in(&[san(&v6_bytes)]));
        assert!(!v4.presented_in(&[GeneralName::DnsName(der::asn1::Ia5String::new("192.0.2.1").unwrap())]));
        assert!(Identity::ip("192.0.2").is_err());
    }

    #[test]
    fn email_local_parts_are_exact_and_domains_are_not_case_sensitive() {
        let asked = Identity::email("Alice@Example.com").unwrap();
        let san = |text: &str| GeneralName::Rfc822Name(der::asn1::Ia5String::new(text).unwrap());
        assert!(asked.presented_in(&[san("Alice@EXAMPLE.COM")]));
        assert!(!asked.presented_in(&[san("alice@example.com")]));
        assert!(!asked.presented_in(&[san("example.com")]), "a constraint-like name is no mailbox");
        assert!(Identity::email("no-at-sign").is_err());
        for bad in [
            "@example.com",
            "al ice@example.com",
            "\u{e9}@example.com",
            "alice@",
            "alice@exa_mple.com",
            "a\u{1b}[2K@example.com",
        ] {
            assert!(Identity::email(bad).is_err(), "{bad:?}");
        }
        assert!(Identity::email("a@b@").is_err());
    }
}
