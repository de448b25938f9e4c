//! Names: comparing distinguished names the way RFC 5280 §7.1 asks (string attributes
//! compared case-insensitively with white space folded), and name constraints
//! (RFC 5280 §4.2.1.10) for DNS names, email addresses, IP addresses, URIs and
//! directory names.

use crate::x509::budget::{Budget, Exhausted, NAME_BYTES_PER_COMPARISON};
use crate::x509::display::{MAX_SHOWN, bounded, show_name};
use der::Tag;
use der::Tagged;
use der::asn1::ObjectIdentifier;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::constraints::name::GeneralSubtrees;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

/// The comparable form of one attribute: its OID and its value, string values folded.
fn normalized(atv: &AttributeTypeAndValue) -> (ObjectIdentifier, Vec<u8>) {
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
    (atv.oid, bytes)
}

/// A name in comparable form (RFC 5280 §7.1): two names match when their keys are equal.
/// Path building and CRL lookup compare keys computed once per certificate.
///
/// The key is flat bytes, some 14 per attribute where a nested vector of decoded
/// attributes took over 130 (a hostile chain carries hundreds of thousands): per RDN a
/// block, `u32` length then its attributes normalised and sorted, each `u8` OID length,
/// OID, `u32` value length, value. The blocks are length-prefixed, so one key starts
/// with another's bytes exactly when the name starts with the other's RDNs (a directory
/// name inside a subtree, RFC 5280 §4.2.1.10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameKey(Vec<u8>);

impl NameKey {
    /// Whether this name lies in the subtree rooted at `base`: its RDNs start with
    /// `base`'s.
    pub fn within(&self, base: &NameKey) -> bool {
        self.0.starts_with(&base.0)
    }

    /// The key's size in bytes: what comparing against it may read.
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The comparable form of a name, computed once per certificate by path building.
pub fn name_key(name: &Name) -> NameKey {
    let mut key = Vec::new();
    for rdn in name.iter_rdn() {
        let mut atvs: Vec<_> = rdn.iter().map(normalized).collect();
        atvs.sort();
        let mut block = Vec::new();
        for (oid, value) in atvs {
            let oid = oid.as_bytes();
            block.push(u8::try_from(oid.len()).unwrap_or(u8::MAX));
            block.extend_from_slice(oid);
            block.extend_from_slice(&u32::try_from(value.len()).unwrap_or(u32::MAX).to_be_bytes());
            block.extend_from_slice(&value);
        }
        key.extend_from_slice(&u32::try_from(block.len()).unwrap_or(u32::MAX).to_be_bytes());
        key.extend_from_slice(&block);
    }
    NameKey(key)
}

/// A name, or a subtree base, in the form constraint matching compares: normalised once
/// per certificate (case folded, trailing dots trimmed, a URI cut to its host, a directory
/// name to its [`NameKey`]), so that a comparison costs at most the size of the base.
/// (Re-normalising both sides per comparison let one 1 MB subject against 5,000 excluded
/// subtrees cost 43 s of CPU.)
#[derive(Debug, Clone, PartialEq, Eq)]
enum Normal {
    Dns(String),
    /// The address, lower-cased, and where its last `@` is (a base: whether it has one).
    Email(String, Option<usize>),
    Ip(Vec<u8>),
    Directory(NameKey),
    /// A URI's host; `None` when the URI has none.
    Uri(Option<String>),
    /// A form keyseal does not match (otherName, x400Address, ediPartyName,
    /// registeredID): only its form is known.
    Uncheckable(std::mem::Discriminant<GeneralName>),
}

fn dns_form(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Normal {
    /// A name of a certificate (a SAN, its subject, a subject emailAddress).
    fn of_name(name: &GeneralName) -> Normal {
        match name {
            GeneralName::DnsName(n) => Normal::Dns(dns_form(n.as_str())),
            GeneralName::Rfc822Name(n) => {
                let address = n.as_str().to_ascii_lowercase();
                let at = address.rfind('@');
                Normal::Email(address, at)
            }
            GeneralName::IpAddress(n) => Normal::Ip(n.as_bytes().to_vec()),
            GeneralName::DirectoryName(n) => Normal::Directory(name_key(n)),
            GeneralName::UniformResourceIdentifier(n) => Normal::Uri(uri_host(n.as_str()).map(dns_form)),
            other => Normal::Uncheckable(std::mem::discriminant(other)),
        }
    }

    /// The base of a permitted or excluded subtree.
    fn of_base(base: &GeneralName) -> Normal {
        match base {
            GeneralName::UniformResourceIdentifier(b) => Normal::Uri(Some(dns_form(b.as_str()))),
            GeneralName::Rfc822Name(b) => Normal::Email(b.as_str().to_ascii_lowercase(), b.as_str().rfind('@')),
            other => Normal::of_name(other),
        }
    }

    /// Bytes a comparison against this base may read.
    fn size(&self) -> usize {
        match self {
            Normal::Dns(s) | Normal::Email(s, _) | Normal::Uri(Some(s)) => s.len(),
            Normal::Ip(bytes) => bytes.len(),
            Normal::Directory(key) => key.len(),
            Normal::Uri(None) | Normal::Uncheckable(_) => 0,
        }
    }
}

/// Whether `name` ends with the whole labels `suffix` (`a.example.com` ends with
/// `example.com`; `badexample.com` does not).
fn ends_with_labels(name: &str, suffix: &str) -> bool {
    name.len() > suffix.len() && name.ends_with(suffix) && name.as_bytes()[name.len() - suffix.len() - 1] == b'.'
}

/// A DNS name (or URI host) within a constraint, both normalised: equal, or a subdomain of
/// it. A constraint with a leading dot admits subdomains only.
fn dns_within(name: &str, constraint: &str) -> bool {
    if constraint.is_empty() {
        return true;
    }
    if let Some(suffix) = constraint.strip_prefix('.') {
        return ends_with_labels(name, suffix);
    }
    name == constraint || ends_with_labels(name, constraint)
}

/// A URI's host within a constraint: RFC 5280 §4.2.1.10 — a host name means exactly that
/// host; a leading dot means any host below the domain.
fn uri_host_within(host: &str, constraint: &str) -> bool {
    if constraint.starts_with('.') { dns_within(host, constraint) } else { host == constraint }
}

/// An email address within a constraint (both lower-cased): a whole mailbox, every mailbox
/// at a host, or (leading dot) at any subdomain of a domain.
fn email_within(address: &str, at: Option<usize>, constraint: &str, constraint_is_mailbox: bool) -> bool {
    let Some(at) = at else { return false };
    if constraint_is_mailbox {
        return address == constraint;
    }
    let host = &address[at + 1..];
    match constraint.strip_prefix('.') {
        Some(suffix) => ends_with_labels(host, suffix),
        None => host == constraint,
    }
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
fn wildcard_reaches(name: &Normal, base: &Normal) -> bool {
    let (Normal::Dns(name), Normal::Dns(base)) = (name, base) else { return false };
    let Some(parent) = name.strip_prefix("*.") else { return false };
    base.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == parent)
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

fn fit(name: &Normal, base: &Normal) -> Fit {
    let inside = match (name, base) {
        (Normal::Dns(n), Normal::Dns(b)) => dns_within(n, b),
        (Normal::Email(n, at), Normal::Email(b, b_at)) => email_within(n, *at, b, b_at.is_some()),
        (Normal::Ip(n), Normal::Ip(b)) => ip_within(n, b),
        (Normal::Directory(n), Normal::Directory(b)) => n.within(b),
        (Normal::Uri(host), Normal::Uri(Some(b))) => host.as_deref().is_some_and(|host| uri_host_within(host, b)),
        _ => return Fit::OtherForm,
    };
    if inside { Fit::Inside } else { Fit::Outside }
}

/// One subtree base, normalised, with what comparing against it costs.
#[derive(Debug, Clone)]
struct Base {
    form: Normal,
    cost: u32,
}

impl Base {
    fn new(base: &GeneralName) -> Base {
        let form = Normal::of_base(base);
        let cost = u32::try_from(1 + form.size() / NAME_BYTES_PER_COMPARISON).unwrap_or(u32::MAX);
        Base { form, cost }
    }
}

/// One CA's nameConstraints, normalised once per certificate (path building caches it on
/// the certificate, so every candidate path through the CA shares it).
#[derive(Debug, Clone, Default)]
pub struct Subtrees {
    permitted: Option<Vec<Base>>,
    excluded: Option<Vec<Base>>,
}

impl Subtrees {
    /// Normalises a nameConstraints extension's permitted and excluded subtrees.
    pub fn new(permitted: Option<&GeneralSubtrees>, excluded: Option<&GeneralSubtrees>) -> Subtrees {
        let bases = |subtrees: &GeneralSubtrees| subtrees.iter().map(|s| Base::new(&s.base)).collect();
        Subtrees { permitted: permitted.map(bases), excluded: excluded.map(bases) }
    }
}

/// A name a certificate holds, normalised once, and how messages show it.
#[derive(Debug, Clone)]
pub struct SubjectName {
    form: Normal,
    shown: String,
}

impl SubjectName {
    /// Normalises one name (the subject's own [`NameKey`] can be passed to spare the work).
    pub fn new(name: &GeneralName) -> SubjectName {
        SubjectName { form: Normal::of_name(name), shown: show(name) }
    }

    /// The subject distinguished name, from its already computed key.
    pub fn directory(name: &Name, key: NameKey) -> SubjectName {
        SubjectName { form: Normal::Directory(key), shown: format!("DirName:{}", show_name(name)) }
    }
}

/// The name constraints of every CA above a certificate: a name must be inside the
/// permitted subtrees of each CA that permits its form, and outside every excluded one.
#[derive(Debug, Default, Clone)]
pub struct Constraints<'c> {
    permitted: Vec<&'c [Base]>,
    excluded: Vec<&'c [Base]>,
}

impl<'c> Constraints<'c> {
    /// Adds one CA's constraints.
    pub fn add(&mut self, subtrees: &'c Subtrees) {
        self.permitted.extend(subtrees.permitted.as_deref());
        self.excluded.extend(subtrees.excluded.as_deref());
    }

    /// Whether any constraint applies at all.
    pub fn is_empty(&self) -> bool {
        self.permitted.is_empty() && self.excluded.is_empty()
    }

    /// Checks one name; the error says which constraint it broke. A name of a form keyseal
    /// cannot match (otherName, ...) fails when any constraint is of that form, as RFC 5280
    /// requires of a validator that cannot process it. Every comparison of the name with a
    /// subtree is paid from `budget` by the size of the subtree's base (what it can read).
    pub fn check(&self, name: &SubjectName, budget: &mut Budget) -> Result<(), Refusal> {
        let mut compare = |base: &Base| -> Result<Fit, Refusal> {
            budget.name_comparison(base.cost).map_err(Refusal::Exhausted)?;
            Ok(fit(&name.form, &base.form))
        };
        if let Normal::Uncheckable(form) = name.form {
            for base in self.permitted.iter().chain(&self.excluded).copied().flatten() {
                budget.name_comparison(base.cost).map_err(Refusal::Exhausted)?;
                if base.form == Normal::Uncheckable(form) {
                    let why = format!("{} is of a form whose name constraints keyseal cannot check", name.shown);
                    return Err(Refusal::Outside(why));
                }
            }
            return Ok(());
        }
        for base in self.excluded.iter().copied().flatten() {
            if compare(base)? == Fit::Inside || wildcard_reaches(&name.form, &base.form) {
                return Err(Refusal::Outside(format!("{} is in an excluded subtree", name.shown)));
            }
        }
        for bases in &self.permitted {
            let mut constrains_this_form = false;
            let mut inside = false;
            for base in bases.iter() {
                match compare(base)? {
                    Fit::OtherForm => {}
                    Fit::Inside => {
                        inside = true;
                        break;
                    }
                    Fit::Outside => constrains_this_form = true,
                }
            }
            if constrains_this_form && !inside {
                return Err(Refusal::Outside(format!("{} is outside the permitted subtrees", name.shown)));
            }
        }
        Ok(())
    }
}

/// Why a certificate's names cannot be held against name constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UncheckableNames {
    /// A subject emailAddress that is not an IA5String: rfc822Name constraints bind it
    /// (RFC 5280 §4.2.1.10), yet it cannot be compared, so it fails rather than slip through.
    NonIa5Email,
    /// The subjectAltName extension does not decode.
    Malformed(der::Error),
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It breaks a constraint (the message says which).
    Outside(String),
    /// The comparison budget ran out first.
    Exhausted(Exhausted),
}

/// How a name shows in messages, cut at [`MAX_SHOWN`] characters.
pub fn show(name: &GeneralName) -> String {
    let cut = |text: &str| bounded(&text, MAX_SHOWN);
    match name {
        GeneralName::DnsName(n) => format!("DNS:{}", cut(n.as_str())),
        GeneralName::Rfc822Name(n) => format!("email:{}", cut(n.as_str())),
        GeneralName::UniformResourceIdentifier(n) => format!("URI:{}", cut(n.as_str())),
        GeneralName::DirectoryName(n) => format!("DirName:{}", show_name(n)),
        GeneralName::IpAddress(n) => match n.as_bytes().len() {
            4 => format!("IP:{}", std::net::Ipv4Addr::from(<[u8; 4]>::try_from(n.as_bytes()).unwrap_or_default())),
            16 => format!("IP:{}", std::net::Ipv6Addr::from(<[u8; 16]>::try_from(n.as_bytes()).unwrap_or_default())),
            _ => "IP:(malformed)".to_string(),
        },
        GeneralName::OtherName(n) => format!("otherName {}", n.type_id),
        GeneralName::RegisteredId(oid) => format!("registeredID {oid}"),
        GeneralName::EdiPartyName(_) => "an ediPartyName".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use x509_cert::ext::pkix::constraints::name::GeneralSubtree;

    fn directory_within(name: &str, base: &str) -> bool {
        let (name, base) = (Name::from_str(name).unwrap(), Name::from_str(base).unwrap());
        fit(&Normal::of_name(&GeneralName::DirectoryName(name)), &Normal::of_base(&GeneralName::DirectoryName(base)))
            == Fit::Inside
    }

    #[test]
    fn names_compare_case_and_space_insensitively() {
        let a = Name::from_str("CN=Example  Root,O=Example").unwrap();
        let b = Name::from_str("CN=example root,O=EXAMPLE").unwrap();
        let c = Name::from_str("CN=Other,O=Example").unwrap();
        assert_eq!(name_key(&a), name_key(&b));
        assert_ne!(name_key(&a), name_key(&c));
        assert!(directory_within("CN=Leaf,O=Example", "O=Example"));
        assert!(!directory_within("CN=Leaf,O=Other", "O=Example"));
    }

    /// The flat key is within another only on whole RDNs: not inside a value, not inside a
    /// multi-valued RDN, whatever the bytes share.
    #[test]
    fn keys_are_within_on_whole_rdns_only() {
        assert!(directory_within("CN=x,O=Example,C=US", "O=Example,C=US"));
        assert!(directory_within("O=Example", "O=Example"));
        assert!(!directory_within("O=Example", "O=Exam"));
        assert!(!directory_within("O=Exam", "O=Example"));
        assert!(!directory_within("CN=x,O=Example", "CN=x+O=Example"));
        assert!(!directory_within("O=Example+CN=a", "O=Example"));
        assert!(directory_within("CN=b,O=Example+CN=a", "CN=a+O=Example"), "attributes of an RDN in any order");
        let (short, long) = (name_key(&Name::from_str("CN=ab").unwrap()), name_key(&Name::from_str("CN=abc").unwrap()));
        assert!(!long.within(&short) && !short.within(&long));
    }

    fn within(name: GeneralName, base: GeneralName) -> bool {
        fit(&Normal::of_name(&name), &Normal::of_base(&base)) == Fit::Inside
    }

    #[test]
    fn constraint_forms() {
        let dns = |s: &str| GeneralName::DnsName(der::asn1::Ia5String::new(s).unwrap());
        let email = |s: &str| GeneralName::Rfc822Name(der::asn1::Ia5String::new(s).unwrap());
        let uri = |s: &str| GeneralName::UniformResourceIdentifier(der::asn1::Ia5String::new(s).unwrap());
        let ip = |b: &[u8]| GeneralName::IpAddress(der::asn1::OctetString::new(b).unwrap());
        assert!(within(dns("www.example.com"), dns("example.com")));
        assert!(within(dns("example.com"), dns("Example.COM.")));
        assert!(!within(dns("badexample.com"), dns("example.com")));
        assert!(!within(dns("example.com"), dns(".example.com")));
        assert!(within(dns("a.example.com"), dns(".example.com")));
        assert!(within(dns("anything.test"), dns("")));
        assert!(within(email("ops@example.com"), email("example.com")));
        assert!(!within(email("ops@sub.example.com"), email("example.com")));
        assert!(within(email("ops@sub.example.com"), email(".example.com")));
        assert!(within(email("Ops@example.com"), email("ops@example.com")));
        assert!(!within(email("no-at-sign"), email("example.com")));
        assert!(within(ip(&[10, 1, 2, 3]), ip(&[10, 0, 0, 0, 255, 0, 0, 0])));
        assert!(!within(ip(&[11, 1, 2, 3]), ip(&[10, 0, 0, 0, 255, 0, 0, 0])));
        assert!(!within(ip(&[10, 1, 2, 3]), ip(&[0; 32])));
        assert_eq!(uri_host("https://user@Host.example.com:8443/path"), Some("Host.example.com"));
        assert_eq!(uri_host("https://[2001:db8::1]/"), Some("2001:db8::1"));
        assert!(within(uri("https://Example.com/x"), uri("example.com")));
        assert!(!within(uri("https://evil.example.com/"), uri("example.com")));
        assert!(within(uri("https://www.example.com/"), uri(".example.com")));
        assert!(!within(uri("not a uri"), uri("example.com")));
        assert_eq!(
            fit(&Normal::of_name(&dns("a.example.com")), &Normal::of_base(&email("example.com"))),
            Fit::OtherForm
        );
        let wildcard =
            |name: &str, base: &str| wildcard_reaches(&Normal::of_name(&dns(name)), &Normal::of_base(&dns(base)));
        assert!(wildcard("*.example.com", "bar.example.com"));
        assert!(!wildcard("*.example.com", "a.bar.example.com"));
        assert!(!wildcard("www.example.com", "bar.example.com"));
    }

    /// A comparison is paid by the size of the base it reads: a base of many kilobytes
    /// costs many comparisons, so the budget bounds the bytes compared, not only the count.
    #[test]
    fn comparisons_are_paid_by_the_size_of_the_base() {
        let long = format!("{}.example.com", "a".repeat(64 * 100));
        let base = GeneralName::DnsName(der::asn1::Ia5String::new(&long).unwrap());
        let subtrees = Subtrees::new(None, Some(&vec![GeneralSubtree { base, minimum: 0, maximum: None }]));
        let mut constraints = Constraints::default();
        constraints.add(&subtrees);
        let name = SubjectName::new(&GeneralName::DnsName(der::asn1::Ia5String::new("ok.test").unwrap()));
        let mut budget = Budget::default();
        let mut rounds = 0;
        while constraints.check(&name, &mut budget).is_ok() {
            rounds += 1;
        }
        assert_eq!(rounds, crate::x509::budget::NAME_CONSTRAINT_COMPARISONS as usize / 101);

        // A directoryName base is paid by the size of its key (the value, and a few bytes
        // of framing per attribute): here 6,400 bytes of value, 101 comparisons or a little
        // more.
        let long = Name::from_str(&format!("CN={},O=Elsewhere", "a".repeat(64 * 100))).unwrap();
        let subtrees = Subtrees::new(
            None,
            Some(&vec![GeneralSubtree { base: GeneralName::DirectoryName(long), minimum: 0, maximum: None }]),
        );
        let mut constraints = Constraints::default();
        constraints.add(&subtrees);
        let name = SubjectName::new(&GeneralName::DirectoryName(Name::from_str("CN=ok").unwrap()));
        let mut budget = Budget::default();
        let mut rounds = 0;
        while constraints.check(&name, &mut budget).is_ok() {
            rounds += 1;
        }
        assert_eq!(rounds, crate::x509::budget::NAME_CONSTRAINT_COMPARISONS as usize / 101);
    }

    fn subtrees(permitted: &[GeneralName], excluded: &[GeneralName]) -> Subtrees {
        let list = |bases: &[GeneralName]| -> GeneralSubtrees {
            bases.iter().map(|base| GeneralSubtree { base: base.clone(), minimum: 0, maximum: None }).collect()
        };
        let (permitted, excluded) = (list(permitted), list(excluded));
        Subtrees::new((!permitted.is_empty()).then_some(&permitted), (!excluded.is_empty()).then_some(&excluded))
    }

    fn verdict(subtrees: &Subtrees, name: &GeneralName) -> Result<(), Refusal> {
        let mut constraints = Constraints::default();
        constraints.add(subtrees);
        constraints.check(&SubjectName::new(name), &mut Budget::default())
    }

    /// An IP address inside or outside a permitted range, and in an excluded one; an
    /// address of the other family is outside a range that constrains IP addresses.
    #[test]
    fn ip_addresses_meet_address_and_mask_constraints() {
        let ip = |b: &[u8]| GeneralName::IpAddress(der::asn1::OctetString::new(b).unwrap());
        let ten = subtrees(&[ip(&[10, 0, 0, 0, 255, 0, 0, 0])], &[]);
        assert_eq!(verdict(&ten, &ip(&[10, 9, 8, 7])), Ok(()));
        let outside = verdict(&ten, &ip(&[192, 168, 1, 1])).unwrap_err();
        assert_eq!(outside, Refusal::Outside("IP:192.168.1.1 is outside the permitted subtrees".into()));
        assert!(verdict(&ten, &ip(&[0; 16])).is_err(), "an IPv6 address is not inside an IPv4 range");
        let excluded = subtrees(&[], &[ip(&[10, 1, 0, 0, 255, 255, 0, 0])]);
        assert_eq!(
            verdict(&excluded, &ip(&[10, 1, 2, 3])).unwrap_err(),
            Refusal::Outside("IP:10.1.2.3 is in an excluded subtree".into())
        );
        assert_eq!(verdict(&excluded, &ip(&[10, 2, 2, 3])), Ok(()));
    }

    /// A name of a form keyseal does not match fails a constraint of the same form
    /// (RFC 5280 §6.1: a validator that cannot process it must refuse), and passes
    /// constraints of other forms.
    #[test]
    fn an_uncheckable_form_fails_only_constraints_of_its_form() {
        use x509_cert::ext::pkix::name::OtherName;
        let other = |value: &str| {
            GeneralName::OtherName(OtherName {
                type_id: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.20.2.3"),
                value: der::Any::new(Tag::Utf8String, value.as_bytes()).unwrap(),
            })
        };
        let dns = GeneralName::DnsName(der::asn1::Ia5String::new("example.com").unwrap());
        let same_form = subtrees(&[other("ops@example.com")], &[]);
        let refusal = verdict(&same_form, &other("ops@example.com")).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::Outside(
                "otherName 1.3.6.1.4.1.311.20.2.3 is of a form whose name constraints keyseal cannot check".into()
            )
        );
        assert!(verdict(&subtrees(&[], &[other("x")]), &other("y")).is_err());
        assert_eq!(verdict(&subtrees(std::slice::from_ref(&dns), std::slice::from_ref(&dns)), &other("y")), Ok(()));
        let (nothing, mut none) = (Subtrees::default(), Constraints::default());
        assert!(none.is_empty());
        none.add(&nothing);
        assert!(none.is_empty(), "a CA without subtrees adds none");
        let mut some = Constraints::default();
        some.add(&same_form);
        assert!(!some.is_empty());
    }

    /// Values that are not one of the folded string types compare byte for byte: a
    /// BMPString (UTF-16) or an OCTET STRING value is not case-folded as text.
    #[test]
    fn only_string_values_are_folded() {
        let one = |tag: Tag, value: &[u8]| {
            let atv = AttributeTypeAndValue {
                oid: der::oid::db::rfc4519::COMMON_NAME,
                value: der::Any::new(tag, value).unwrap(),
            };
            normalized(&atv).1
        };
        assert_eq!(one(Tag::PrintableString, b"A  B"), one(Tag::Utf8String, b"a b"));
        assert_ne!(one(Tag::BmpString, &[0, b'A']), one(Tag::BmpString, &[0, b'a']));
        assert_eq!(one(Tag::BmpString, &[0, b'A']), vec![0, b'A']);
        assert_ne!(one(Tag::OctetString, b"A"), one(Tag::OctetString, b"a"));
        assert_eq!(one(Tag::OctetString, b"A  B"), b"A  B".to_vec());
    }

    /// How each form is named in messages, cut at `MAX_SHOWN` characters.
    #[test]
    fn names_show_by_form() {
        use x509_cert::ext::pkix::name::OtherName;
        let ia5 = |s: &str| der::asn1::Ia5String::new(s).unwrap();
        let ip = |b: &[u8]| GeneralName::IpAddress(der::asn1::OctetString::new(b).unwrap());
        assert_eq!(show(&GeneralName::DnsName(ia5("a.example"))), "DNS:a.example");
        assert_eq!(show(&GeneralName::Rfc822Name(ia5("ops@example.com"))), "email:ops@example.com");
        assert_eq!(show(&GeneralName::UniformResourceIdentifier(ia5("https://x/"))), "URI:https://x/");
        let dir = GeneralName::DirectoryName(Name::from_str("CN=Leaf,O=Example").unwrap());
        assert_eq!(show(&dir), "DirName:CN=Leaf,O=Example");
        assert_eq!(show(&ip(&[192, 0, 2, 1])), "IP:192.0.2.1");
        let v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(show(&ip(&v6)), "IP:2001:db8::1");
        assert_eq!(show(&ip(&[1, 2, 3])), "IP:(malformed)");
        let upn = OtherName {
            type_id: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.20.2.3"),
            value: der::Any::new(Tag::Utf8String, "x".as_bytes()).unwrap(),
        };
        assert_eq!(show(&GeneralName::OtherName(upn)), "otherName 1.3.6.1.4.1.311.20.2.3");
        assert_eq!(show(&GeneralName::RegisteredId(ObjectIdentifier::new_unwrap("1.2.3"))), "registeredID 1.2.3");
        let long = format!("{}.example", "a".repeat(2 * MAX_SHOWN));
        let shown = show(&GeneralName::DnsName(ia5(&long)));
        assert_eq!(shown.chars().count(), "DNS:".len() + MAX_SHOWN + 1, "{shown}");
        assert!(shown.ends_with('…'));
    }

    /// Refusals name the offending name as messages show it.
    #[test]
    fn refusals_name_the_name() {
        let dns = |s: &str| GeneralName::DnsName(der::asn1::Ia5String::new(s).unwrap());
        let refusal = verdict(&subtrees(&[dns("example.com")], &[]), &dns("www.evil.test")).unwrap_err();
        assert_eq!(refusal, Refusal::Outside("DNS:www.evil.test is outside the permitted subtrees".into()));
        let dir = GeneralName::DirectoryName(Name::from_str("CN=Leaf,O=Evil").unwrap());
        let base = GeneralName::DirectoryName(Name::from_str("O=Evil").unwrap());
        let refusal = verdict(&subtrees(&[], &[base]), &dir).unwrap_err();
        assert_eq!(refusal, Refusal::Outside("DirName:CN=Leaf,O=Evil is in an excluded subtree".into()));
    }
}
