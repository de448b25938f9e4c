//! Names: comparing distinguished names the way RFC 5280 §7.1 asks (string attributes
//! compared case-insensitively with white space folded), and name constraints
//! (RFC 5280 §4.2.1.10) for DNS names, email addresses, IP addresses, URIs and
//! directory names.

use crate::x509::budget::{Budget, Exhausted};
use der::Tag;
use der::Tagged;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::constraints::name::GeneralSubtrees;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

/// The comparable form of one attribute: its OID and its value, string values folded.
fn normalized(atv: &AttributeTypeAndValue) -> (String, Vec<u8>) {
    let value = &atv.value;
    let is_string = matches!(
        value.tag(),
        Tag::Utf8String
            | Tag::PrintableString
            | Tag::Ia5String
            | Tag::TeletexString
            | Tag::BmpString
            | Tag::VisibleString
    );
    let bytes = if is_string && value.tag() != Tag::BmpString {
        let text = String::from_utf8_lossy(value.value());
        text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase().into_bytes()
    } else {
        value.value().to_vec()
    };
    (atv.oid.to_string(), bytes)
}

/// A name in comparable form: per RDN, its attributes normalized and sorted. Two names
/// match (RFC 5280 §7.1) when their keys are equal; path building and CRL lookup compare
/// keys computed once per certificate.
pub type NameKey = Vec<Vec<(String, Vec<u8>)>>;

/// The comparable form of a name, computed once per certificate by path building.
pub fn name_key(name: &Name) -> NameKey {
    name.iter_rdn()
        .map(|rdn| {
            let mut atvs: Vec<_> = rdn.iter().map(normalized).collect();
            atvs.sort();
            atvs
        })
        .collect()
}

/// Whether `name` lies in the subtree rooted at `base` (its RDNs start with `base`'s).
fn directory_within(name: &Name, base: &Name) -> bool {
    let (name, base) = (name_key(name), name_key(base));
    name.len() >= base.len() && name[..base.len()] == base[..]
}

/// A DNS name (or URI host) within a constraint: equal, or a subdomain of it. A
/// constraint with a leading dot admits subdomains only.
fn dns_within(name: &str, constraint: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let constraint = constraint.trim_end_matches('.').to_ascii_lowercase();
    if constraint.is_empty() {
        return true;
    }
    if let Some(suffix) = constraint.strip_prefix('.') {
        return name.ends_with(&format!(".{suffix}"));
    }
    name == constraint || name.ends_with(&format!(".{constraint}"))
}

/// A URI's host within a constraint: RFC 5280 §4.2.1.10 — a host name means exactly that
/// host; a leading dot means any host below the domain.
fn uri_host_within(host: &str, constraint: &str) -> bool {
    if constraint.starts_with('.') {
        dns_within(host, constraint)
    } else {
        host.trim_end_matches('.').eq_ignore_ascii_case(constraint.trim_end_matches('.'))
    }
}

/// An email address within a constraint: a whole mailbox, every mailbox at a host, or
/// (leading dot) at any subdomain of a domain.
fn email_within(name: &str, constraint: &str) -> bool {
    let Some((_, host)) = name.rsplit_once('@') else { return false };
    if constraint.contains('@') {
        return name.eq_ignore_ascii_case(constraint);
    }
    if let Some(suffix) = constraint.strip_prefix('.') {
        return host.to_ascii_lowercase().ends_with(&format!(".{}", suffix.to_ascii_lowercase()));
    }
    host.eq_ignore_ascii_case(constraint)
}

/// An IP address within an address-and-mask constraint of the same family.
fn ip_within(address: &[u8], constraint: &[u8]) -> bool {
    if constraint.len() != address.len() * 2 {
        return false;
    }
    let (network, mask) = constraint.split_at(address.len());
    address.iter().zip(network).zip(mask).all(|((a, n), m)| a & m == n & m)
}

fn uri_host(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host =
        if host.starts_with('[') { host.split(']').next()?.trim_start_matches('[') } else { host.split(':').next()? };
    (!host.is_empty()).then_some(host)
}

/// Whether a wildcard DNS name (`*.example.com`) stands for a name inside an excluded
/// subtree one label below its base (`bar.example.com`): the literal comparison misses it,
/// yet a verifier matching the wildcard would accept the excluded host (CVE-2025-61727).
/// (Within a permitted subtree the wildcard is compared literally, which is the strict
/// reading: `*.example.com` is not within `foo.example.com`.)
fn wildcard_reaches(name: &GeneralName, base: &GeneralName) -> bool {
    let (GeneralName::DnsName(name), GeneralName::DnsName(base)) = (name, base) else { return false };
    let Some(parent) = name.as_str().strip_prefix("*.") else { return false };
    let base = base.as_str().trim_end_matches('.').to_ascii_lowercase();
    base.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == parent.to_ascii_lowercase())
}

/// The outcome of matching one name against one subtree base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// The base is of another name form: it says nothing about this name.
    OtherForm,
    /// Same form, and the name is inside.
    Inside,
    /// Same form, and the name is outside.
    Outside,
}

fn fit(name: &GeneralName, base: &GeneralName) -> Fit {
    let inside = match (name, base) {
        (GeneralName::DnsName(n), GeneralName::DnsName(b)) => dns_within(n.as_str(), b.as_str()),
        (GeneralName::Rfc822Name(n), GeneralName::Rfc822Name(b)) => email_within(n.as_str(), b.as_str()),
        (GeneralName::IpAddress(n), GeneralName::IpAddress(b)) => ip_within(n.as_bytes(), b.as_bytes()),
        (GeneralName::DirectoryName(n), GeneralName::DirectoryName(b)) => directory_within(n, b),
        (GeneralName::UniformResourceIdentifier(n), GeneralName::UniformResourceIdentifier(b)) => {
            uri_host(n.as_str()).is_some_and(|host| uri_host_within(host, b.as_str()))
        }
        _ => return Fit::OtherForm,
    };
    if inside { Fit::Inside } else { Fit::Outside }
}

/// The name constraints of every CA above a certificate: a name must be inside the
/// permitted subtrees of each CA that permits its form, and outside every excluded one.
#[derive(Debug, Default, Clone)]
pub struct Constraints {
    permitted: Vec<GeneralSubtrees>,
    excluded: Vec<GeneralSubtrees>,
}

impl Constraints {
    /// Adds one CA's constraints.
    pub fn add(&mut self, permitted: Option<GeneralSubtrees>, excluded: Option<GeneralSubtrees>) {
        self.permitted.extend(permitted);
        self.excluded.extend(excluded);
    }

    /// Whether any constraint applies at all.
    pub fn is_empty(&self) -> bool {
        self.permitted.is_empty() && self.excluded.is_empty()
    }

    /// Checks one name; the error says which constraint it broke. A name of a form keyseal
    /// cannot match (otherName, ...) fails when any constraint is of that form, as RFC 5280
    /// requires of a validator that cannot process it. Every comparison of the name with a
    /// subtree spends one from `budget`.
    pub fn check(&self, name: &GeneralName, budget: &mut Budget) -> Result<(), Refusal> {
        let mut compare = |base: &GeneralName| -> Result<Fit, Refusal> {
            budget.name_comparison().map_err(Refusal::Exhausted)?;
            Ok(fit(name, base))
        };
        if !is_checkable(name) {
            let same_form = |base: &GeneralName| std::mem::discriminant(base) == std::mem::discriminant(name);
            for subtree in self.permitted.iter().chain(&self.excluded).flatten() {
                budget.name_comparison().map_err(Refusal::Exhausted)?;
                if same_form(&subtree.base) {
                    let why = format!("{} is of a form whose name constraints keyseal cannot check", show(name));
                    return Err(Refusal::Outside(why));
                }
            }
            return Ok(());
        }
        for subtrees in &self.excluded {
            for subtree in subtrees {
                if compare(&subtree.base)? == Fit::Inside || wildcard_reaches(name, &subtree.base) {
                    return Err(Refusal::Outside(format!("{} is in an excluded subtree", show(name))));
                }
            }
        }
        for subtrees in &self.permitted {
            let mut constrains_this_form = false;
            let mut inside = false;
            for subtree in subtrees {
                match compare(&subtree.base)? {
                    Fit::OtherForm => {}
                    Fit::Inside => {
                        inside = true;
                        break;
                    }
                    Fit::Outside => constrains_this_form = true,
                }
            }
            if constrains_this_form && !inside {
                return Err(Refusal::Outside(format!("{} is outside the permitted subtrees", show(name))));
            }
        }
        Ok(())
    }
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It breaks a constraint (the message says which).
    Outside(String),
    /// The comparison budget ran out first.
    Exhausted(Exhausted),
}

fn is_checkable(name: &GeneralName) -> bool {
    matches!(
        name,
        GeneralName::DnsName(_)
            | GeneralName::Rfc822Name(_)
            | GeneralName::IpAddress(_)
            | GeneralName::DirectoryName(_)
            | GeneralName::UniformResourceIdentifier(_)
    )
}

/// How a name shows in messages.
pub fn show(name: &GeneralName) -> String {
    match name {
        GeneralName::DnsName(n) => format!("DNS:{}", n.as_str()),
        GeneralName::Rfc822Name(n) => format!("email:{}", n.as_str()),
        GeneralName::UniformResourceIdentifier(n) => format!("URI:{}", n.as_str()),
        GeneralName::DirectoryName(n) => format!("DirName:{n}"),
        GeneralName::IpAddress(n) => match n.as_bytes().len() {
            4 => format!("IP:{}", std::net::Ipv4Addr::from(<[u8; 4]>::try_from(n.as_bytes()).unwrap_or_default())),
            16 => format!("IP:{}", std::net::Ipv6Addr::from(<[u8; 16]>::try_from(n.as_bytes()).unwrap_or_default())),
            _ => "IP:(malformed)".to_string(),
        },
        _ => "a name of another form".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn names_compare_case_and_space_insensitively() {
        let a = Name::from_str("CN=Example  Root,O=Example").unwrap();
        let b = Name::from_str("CN=example root,O=EXAMPLE").unwrap();
        let c = Name::from_str("CN=Other,O=Example").unwrap();
        assert_eq!(name_key(&a), name_key(&b));
        assert_ne!(name_key(&a), name_key(&c));
        assert!(directory_within(&Name::from_str("CN=Leaf,O=Example").unwrap(), &Name::from_str("O=Example").unwrap()));
        assert!(!directory_within(&Name::from_str("CN=Leaf,O=Other").unwrap(), &Name::from_str("O=Example").unwrap()));
    }

    #[test]
    fn constraint_forms() {
        assert!(dns_within("www.example.com", "example.com"));
        assert!(dns_within("example.com", "example.com"));
        assert!(!dns_within("badexample.com", "example.com"));
        assert!(!dns_within("example.com", ".example.com"));
        assert!(dns_within("a.example.com", ".example.com"));
        assert!(email_within("ops@example.com", "example.com"));
        assert!(!email_within("ops@sub.example.com", "example.com"));
        assert!(email_within("ops@sub.example.com", ".example.com"));
        assert!(email_within("Ops@example.com", "ops@example.com"));
        assert!(ip_within(&[10, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[11, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[10, 1, 2, 3], &[0; 32]));
        assert_eq!(uri_host("https://user@Host.example.com:8443/path"), Some("Host.example.com"));
        assert_eq!(uri_host("https://[2001:db8::1]/"), Some("2001:db8::1"));
        assert!(uri_host_within("example.com", "example.com"));
        assert!(!uri_host_within("evil.example.com", "example.com"));
        assert!(uri_host_within("www.example.com", ".example.com"));
        let dns = |s: &str| GeneralName::DnsName(der::asn1::Ia5String::new(s).unwrap());
        assert!(wildcard_reaches(&dns("*.example.com"), &dns("bar.example.com")));
        assert!(!wildcard_reaches(&dns("*.example.com"), &dns("a.bar.example.com")));
        assert!(!wildcard_reaches(&dns("www.example.com"), &dns("bar.example.com")));
    }
}
