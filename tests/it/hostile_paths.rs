//! Path validation against chains made to burn CPU (issue 27): megabyte names formatted
//! for every failed issuer candidate, name constraints compared byte by byte thousands of
//! times, policy mappings de-duplicated quadratically. Each test replays one attack through
//! the real binary's `cert verify` (`verify --trust` and the TSA chain of `verify
//! --tsa-trust` run the same validation) and asserts the CPU and memory it used, as
//! tests/it/hostile_input.rs does: the goal is at most 1 s of CPU and 256 MiB for any input
//! up to 10 MB.

use crate::common::path;

use crate::common::Keyseal;
use crate::common::bounded::{assert_cheap, bounded};
use crate::common::pki::{Issue, extension, key, name};
use der::Encode;
use der::asn1::{Ia5String, SetOfVec};
use p256::ecdsa::SigningKey;
use spki::ObjectIdentifier;
use std::path::PathBuf;
use std::time::Duration;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::constraints::name::{GeneralSubtree, NameConstraints};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{CertificatePolicies, PolicyMapping, PolicyMappings, SubjectAltName};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

const LIMIT: Duration = Duration::from_secs(60);

/// A name made to be expensive: `base`, then a commonName of `long` bytes, then `tiny`
/// RDNs of one tiny attribute each (countryName "AA", 13 bytes of DER apiece).
fn heavy_name(base: &str, long: usize, tiny: usize) -> Name {
    let mut rdns: Vec<RelativeDistinguishedName> = name(base).iter_rdn().cloned().collect();
    let attribute = |oid: &str, tag, value: Vec<u8>| {
        let atv =
            AttributeTypeAndValue { oid: ObjectIdentifier::new_unwrap(oid), value: der::Any::new(tag, value).unwrap() };
        RelativeDistinguishedName::from(SetOfVec::try_from(vec![atv]).unwrap())
    };
    rdns.push(attribute("2.5.4.3", der::Tag::Utf8String, b"x".repeat(long)));
    rdns.extend(std::iter::repeat_n(attribute("2.5.4.6", der::Tag::PrintableString, b"AA".to_vec()), tiny));
    <Name as der::Decode>::from_der(&RdnSequence::from(rdns).to_der().unwrap()).unwrap()
}

/// A trusted root and an intermediate it issued, with `intermediate_extra` extensions.
struct Pki {
    ks: Keyseal,
    root: PathBuf,
    root_key: SigningKey,
    ca_key: SigningKey,
}

impl Pki {
    fn new() -> Pki {
        let ks = Keyseal::new();
        let root_key = key(1);
        let root = ks.file("root.pem");
        let pem = Issue {
            subject: name("CN=Hostile Test Root"),
            subject_key: &root_key,
            issuer: name("CN=Hostile Test Root"),
            issuer_key: &root_key,
            ca: true,
            with_aki: false,
            extra: Vec::new(),
            serial: 1,
        }
        .pem();
        std::fs::write(&root, pem).unwrap();
        Pki { ks, root, root_key, ca_key: key(2) }
    }

    fn intermediate(&self, extra: Vec<Extension>) -> String {
        Issue {
            subject: name("CN=Hostile Test CA"),
            subject_key: &self.ca_key,
            issuer: name("CN=Hostile Test Root"),
            issuer_key: &self.root_key,
            ca: true,
            with_aki: true,
            extra,
            serial: 2,
        }
        .pem()
    }

    fn leaf(&self, subject: Name, extra: Vec<Extension>) -> String {
        Issue {
            subject,
            subject_key: &key(3),
            issuer: name("CN=Hostile Test CA"),
            issuer_key: &self.ca_key,
            ca: false,
            with_aki: true,
            extra,
            serial: 3,
        }
        .pem()
    }

    /// `cert verify` of `leaf` through `chain` to the root refuses the leaf as unusable
    /// input (exit 2) saying `why`, cheaply: it was not even decoded.
    fn assert_refused_unread(&self, leaf: &str, chain: &str, why: &str) {
        let (leaf_file, chain_file) = (self.ks.file("refused.pem"), self.ks.file("refused-chain.pem"));
        std::fs::write(&leaf_file, leaf).unwrap();
        std::fs::write(&chain_file, chain).unwrap();
        let args = ["cert", "verify", path(&leaf_file), "--chain", path(&chain_file), "--trust", path(&self.root)];
        let (run, usage) = bounded(&self.ks, self.ks.dir.path(), &args, LIMIT);
        assert_cheap(usage);
        assert_eq!(run.status, 2, "{}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(why), "{}", run.stderr);
    }

    /// `cert verify` of `leaf` through `chain` to the root, with `flags`; returns the
    /// report.
    fn verify(&self, leaf: &str, chain: &[String], flags: &[&str]) -> serde_json::Value {
        let (leaf_file, chain_file) = (self.ks.file("leaf.pem"), self.ks.file("chain.pem"));
        std::fs::write(&leaf_file, leaf).unwrap();
        std::fs::write(&chain_file, chain.concat()).unwrap();
        let size = std::fs::metadata(&leaf_file).unwrap().len() + std::fs::metadata(&chain_file).unwrap().len();
        assert!(size < 10 << 20, "the attack stays under the 10 MB of the goal ({size} bytes)");
        let mut args = vec![
            "cert",
            "verify",
            path(&leaf_file),
            "--chain",
            path(&chain_file),
            "--trust",
            path(&self.root),
            "--json",
        ];
        args.extend_from_slice(flags);
        let (run, usage) = bounded(&self.ks, self.ks.dir.path(), &args, LIMIT);
        assert_cheap(usage);
        assert!(run.status == 0 || run.status == 1, "{}{}", run.stdout, run.stderr);
        eprintln!(
            "{} {}",
            run.json()["reason"],
            run.json()["message"].as_str().unwrap_or("").chars().take(300).collect::<String>()
        );
        run.json()
    }
}

/// A leaf an attacker made alone: named as issued by the test CA, signed with its own key,
/// without an authorityKeyIdentifier (so any certificate of the CA's name is a candidate).
fn self_made_leaf(subject: Name) -> String {
    let leaf_key = key(9);
    Issue {
        subject,
        subject_key: &leaf_key,
        issuer: name("CN=Hostile Test CA"),
        issuer_key: &leaf_key,
        ca: false,
        with_aki: false,
        extra: Vec::new(),
        serial: 7,
    }
    .pem()
}

/// Regression (issue 27, HIGH 1): a self-made leaf whose subject is megabytes, and 110
/// fake CAs with its issuer's name. Every failed candidate formatted the subject of every
/// certificate on the path (72 s of CPU for 2.9 MB of tiny attributes, with no trusted
/// key involved); now each is formatted once, cut at `MAX_SHOWN` characters.
#[test]
fn a_megabyte_subject_is_formatted_once_and_bounded() {
    let pki = Pki::new();
    let leaf = self_made_leaf(heavy_name("CN=Huge", 2_500_000, 1_000));
    assert!(leaf.len() > 3 << 20, "{}", leaf.len());
    let fakes: Vec<String> = (0..110)
        .map(|serial| {
            let fake_key = key(10 + (serial % 100) as u8);
            Issue {
                subject: name("CN=Hostile Test CA"),
                subject_key: &fake_key,
                issuer: name("CN=Hostile Test Root"),
                issuer_key: &fake_key,
                ca: true,
                with_aki: false,
                extra: Vec::new(),
                serial,
            }
            .pem()
        })
        .collect();
    let report = pki.verify(&leaf, &fakes, &[]);
    assert_eq!(report["valid"], false, "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(message.len() < 2_000, "messages name certificates in bounded form: {} bytes", message.len());
    for entry in report["path"].as_array().unwrap() {
        let subject = entry["subject"].as_str().unwrap();
        assert!(subject.chars().count() <= keyseal::x509::display::MAX_SHOWN + 1, "{subject}");
    }
}

/// Regression (issue 27, HIGH 2): a 1 MB subject against 5,000 excluded directoryName
/// subtrees re-normalised both names per comparison (43 s).
#[test]
fn a_megabyte_subject_meets_thousands_of_directory_constraints_once() {
    let pki = Pki::new();
    let subtrees: Vec<GeneralSubtree> = (0..5_000)
        .map(|i| GeneralSubtree {
            base: GeneralName::DirectoryName(name(&format!("CN=Excluded {i},O=Elsewhere,C=AA"))),
            minimum: 0,
            maximum: None,
        })
        .collect();
    let constraints = NameConstraints { permitted_subtrees: None, excluded_subtrees: Some(subtrees) };
    let ca = pki.intermediate(vec![extension(&constraints, true)]);
    let leaf = pki.leaf(heavy_name("CN=Leaf", 1 << 20, 1_000), Vec::new());
    let report = pki.verify(&leaf, &[ca], &[]);
    assert_eq!(report["valid"], true, "{report}");
}

/// Regression (issue 27, HIGH 2): a 1 MB URI host against 10,000 URI subtrees lower-cased
/// and copied the host per comparison (7 s).
#[test]
fn a_megabyte_uri_host_meets_thousands_of_uri_constraints_once() {
    let pki = Pki::new();
    let subtrees: Vec<GeneralSubtree> = (0..10_000)
        .map(|i| GeneralSubtree {
            base: GeneralName::UniformResourceIdentifier(Ia5String::new(&format!(".excluded-{i}.example")).unwrap()),
            minimum: 0,
            maximum: None,
        })
        .collect();
    let constraints = NameConstraints { permitted_subtrees: None, excluded_subtrees: Some(subtrees) };
    let ca = pki.intermediate(vec![extension(&constraints, true)]);
    let host = format!("https://{}.Example.ORG/", "A".repeat(1 << 20));
    let san = SubjectAltName(vec![GeneralName::UniformResourceIdentifier(Ia5String::new(&host).unwrap())]);
    let leaf = pki.leaf(name("CN=Leaf"), vec![extension(&san, false)]);
    let report = pki.verify(&leaf, &[ca], &[]);
    assert_eq!(report["valid"], true, "{report}");
}

/// A name of more attributes than any real one (`MAX_NAME_ATTRIBUTES`) is refused as the
/// certificate is read, before anything is decoded: 450,000 tiny attributes (7.9 MB of PEM)
/// took 320 MiB once decoded and indexed.
#[test]
fn a_name_of_too_many_attributes_is_refused_unread() {
    let pki = Pki::new();
    let leaf = self_made_leaf(heavy_name("CN=Many", 1, 450_000));
    pki.assert_refused_unread(&leaf, "", "more than 1024 attributes");
}

/// A subjectAltName of more names than any real certificate lists
/// (`MAX_GENERAL_NAMES`, 16,384) is refused as the certificate is read: 1.5 million
/// one-letter DNS names under a name-constrained CA took 370 MiB once decoded. As many as
/// the maximum still validate.
#[test]
fn a_subject_alt_name_of_too_many_names_is_refused_unread() {
    let pki = Pki::new();
    let ca = pki.intermediate(Vec::new());
    let leaf_with = |count: usize| {
        let dns = |i| GeneralName::DnsName(Ia5String::new(&format!("n{i}.example")).unwrap());
        pki.leaf(name("CN=Leaf"), vec![extension(&SubjectAltName((0..count).map(dns).collect()), false)])
    };
    let report = pki.verify(&leaf_with(16_384), std::slice::from_ref(&ca), &[]);
    assert_eq!(report["valid"], true, "{report}");
    pki.assert_refused_unread(&leaf_with(16_385), &ca, "2.5.29.17 lists more than 16384 names");
}

/// A trust store is counted before it is decoded: 1,024 certificates in all (more than any
/// system store) are read, 1,025 are refused unread (`too-many-certificates`, exit 2).
/// Found by path_cost (fuzz/regressions/path_cost/tiny-attributes-in-1024-trust-anchors).
#[test]
fn a_trust_store_of_too_many_certificates_is_refused_unread() {
    let pki = Pki::new();
    let root = std::fs::read_to_string(&pki.root).unwrap();
    let ca = pki.intermediate(Vec::new());
    let leaf = pki.leaf(name("CN=Leaf"), Vec::new());
    let store = pki.ks.file("store.pem");
    std::fs::write(&store, root.repeat(1_023)).unwrap(); // and the root's own file: 1,024
    let report = pki.verify(&leaf, std::slice::from_ref(&ca), &["--trust", path(&store)]);
    assert_eq!(report["valid"], true, "{report}");

    std::fs::write(&store, root.repeat(1_025)).unwrap();
    let (leaf_file, chain_file) = (pki.ks.file("leaf.pem"), pki.ks.file("chain.pem"));
    let args = ["cert", "verify", path(&leaf_file), "--chain", path(&chain_file), "--trust", path(&store)];
    let (run, usage) = bounded(&pki.ks, pki.ks.dir.path(), &args, LIMIT);
    assert_cheap(usage);
    assert_eq!(run.status, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("[too-many-certificates]"), "{}", run.stderr);
    assert!(run.stderr.contains("--trust holds 1025 certificates"), "{}", run.stderr);
}

/// The certificates of one input are held to `MAX_NAME_ATTRIBUTES_PER_INPUT` (65,536)
/// name attributes in all: each of 100 trust anchors whose names hold 700 tiny attributes
/// is under the per-name cap, but together they hold 140,000 (a thousand such anchors,
/// 7.7 MB, took 240 MiB to decode).
#[test]
fn certificates_of_many_attributes_are_refused_in_all() {
    let pki = Pki::new();
    let heavy = heavy_name("CN=Heavy Root", 1, 700);
    let anchors: String = (0..100)
        .map(|serial| {
            let root_key = key(20 + (serial % 50) as u8);
            Issue {
                subject: heavy.clone(),
                subject_key: &root_key,
                issuer: heavy.clone(),
                issuer_key: &root_key,
                ca: true,
                with_aki: false,
                extra: Vec::new(),
                serial,
            }
            .pem()
        })
        .collect();
    let store = pki.ks.file("heavy-store.pem");
    std::fs::write(&store, anchors).unwrap();
    let leaf_file = pki.ks.file("leaf.pem");
    std::fs::write(&leaf_file, pki.leaf(name("CN=Leaf"), Vec::new())).unwrap();
    let args = ["cert", "verify", path(&leaf_file), "--trust", path(&store)];
    let (run, usage) = bounded(&pki.ks, pki.ks.dir.path(), &args, LIMIT);
    assert_cheap(usage);
    assert_eq!(run.status, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("more than 65536 attributes in all"), "{}", run.stderr);
}

/// Regression (issue 27, HIGH 3): 200,000 policyMappings from one issuerDomainPolicy were
/// de-duplicated quadratically before the graph budget was charged (37 s), and as long with
/// --inhibit-policy-mapping.
#[test]
fn two_hundred_thousand_policy_mappings_are_charged_as_read() {
    let pki = Pki::new();
    let arc = |i: u32| ObjectIdentifier::new(&format!("1.3.6.1.4.1.55555.{i}")).unwrap();
    let mappings: Vec<PolicyMapping> = (0..200_000)
        .map(|i| PolicyMapping { issuer_domain_policy: arc(1), subject_domain_policy: arc(i + 2) })
        .collect();
    let any =
        PolicyInformation { policy_identifier: ObjectIdentifier::new_unwrap("2.5.29.32.0"), policy_qualifiers: None };
    let ca = pki.intermediate(vec![
        extension(&CertificatePolicies(vec![any.clone()]), false),
        extension(&PolicyMappings(mappings), true),
    ]);
    assert!(ca.len() > 3 << 20, "{}", ca.len());
    let leaf = pki.leaf(name("CN=Leaf"), vec![extension(&CertificatePolicies(vec![any]), false)]);
    for flags in [&[][..], &["--inhibit-policy-mapping"][..]] {
        let report = pki.verify(&leaf, std::slice::from_ref(&ca), flags);
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["reason"], "budget-exceeded", "{report}");
    }
}
