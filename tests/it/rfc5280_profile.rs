//! The RFC 5280 §4 MUSTs `keyseal cert verify` enforces, one negative case each: a chain
//! made by OpenSSL with exactly one defect, refused with its reason code; and the same
//! chain without the defect accepted, so each case shows the rule and nothing else is what
//! refuses it.

use crate::common::Keyseal;
use crate::common::openssl::{Openssl, path};
use serde_json::Value;
use std::path::{Path, PathBuf};

const ROOT: &str =
    "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash";
const CA: &str = "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid";
const LEAF: &str = "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nsubjectAltName = DNS:www.example.com\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid";

/// One chain: root -> intermediate -> leaf, each with the extensions and subject given.
struct Chain<'a> {
    root: String,
    ca: String,
    ca_subject: &'a str,
    leaf: String,
    leaf_subject: &'a str,
}

impl Default for Chain<'_> {
    fn default() -> Self {
        Chain {
            root: ROOT.into(),
            ca: CA.into(),
            ca_subject: "/CN=Profile CA",
            leaf: LEAF.into(),
            leaf_subject: "/CN=www.example.com",
        }
    }
}

impl Chain<'_> {
    /// Makes the chain with `openssl`: the root, intermediate and leaf certificate files
    /// (keys `root`, `ca` and `leaf`).
    fn make(&self, openssl: &Openssl) -> (PathBuf, PathBuf, PathBuf) {
        let root = openssl.root("root", "root", "/CN=Profile Root", &self.root);
        let ca = openssl.issue("ca", "ca", self.ca_subject, &root, "root", &self.ca);
        let leaf = openssl.issue("leaf", "leaf", self.leaf_subject, &ca, "ca", &self.leaf);
        (root, ca, leaf)
    }
}

/// Makes the chain in its own directory and runs `keyseal cert verify --json` on it.
fn verify(ks: &Keyseal, name: &str, chain: &Chain) -> Value {
    let openssl = Openssl { dir: ks.file(name) };
    std::fs::create_dir_all(&openssl.dir).unwrap();
    let (root, ca, leaf) = chain.make(&openssl);
    run(ks, &leaf, &[ca], &root)
}

fn run(ks: &Keyseal, leaf: &Path, chain: &[PathBuf], root: &Path) -> Value {
    let mut args = vec!["cert", "verify", path(leaf), "--trust", path(root), "--json"];
    for cert in chain {
        args.extend(["--chain", path(cert)]);
    }
    let run = ks.run(&args);
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    assert_eq!(run.status, if report["valid"] == true { 0 } else { 1 }, "{report}");
    report
}

fn reason(report: &Value) -> &str {
    report["reason"].as_str().unwrap_or("valid")
}

/// Each case: a name, the chain with one defect, the reason code it must get.
fn cases() -> Vec<(&'static str, Chain<'static>, &'static str)> {
    let leaf_with = |extra: &str| format!("{LEAF}\n{extra}");
    vec![
        // §4.2.1.1
        // (OpenSSL adds an AKI unless told `none`.)
        (
            "leaf-missing-aki",
            Chain {
                leaf: LEAF.replace("authorityKeyIdentifier = keyid", "authorityKeyIdentifier = none"),
                ..Default::default()
            },
            "missing-extension",
        ),
        (
            "leaf-critical-aki",
            Chain {
                leaf: LEAF.replace("authorityKeyIdentifier = keyid", "authorityKeyIdentifier = critical, keyid"),
                ..Default::default()
            },
            "bad-criticality",
        ),
        (
            "intermediate-missing-aki",
            Chain {
                ca: CA.replace("authorityKeyIdentifier = keyid", "authorityKeyIdentifier = none"),
                ..Default::default()
            },
            "missing-extension",
        ),
        // §4.2.1.2
        // (OpenSSL cannot take a keyid from an issuer without one: the child names its issuer.)
        (
            "intermediate-missing-ski",
            Chain {
                ca: CA.replace("subjectKeyIdentifier = hash", "subjectKeyIdentifier = none"),
                leaf: LEAF.replace("authorityKeyIdentifier = keyid", "authorityKeyIdentifier = issuer"),
                ..Default::default()
            },
            "missing-extension",
        ),
        // §4.2.1.12: SIZE (1..MAX)
        (
            "empty-eku",
            Chain { leaf: leaf_with("extendedKeyUsage = DER:3000"), ..Default::default() },
            "malformed-extension",
        ),
        // §4.2.1.6: preferred name syntax, mailboxes
        (
            "san-dns-underscore",
            Chain { leaf: LEAF.replace("DNS:www.example.com", "DNS:www_1.example.com"), ..Default::default() },
            "malformed-extension",
        ),
        (
            "san-dns-ip-literal",
            Chain { leaf: LEAF.replace("DNS:www.example.com", "DNS:192.168.0.1"), ..Default::default() },
            "malformed-extension",
        ),
        (
            "san-bad-email",
            Chain { leaf: LEAF.replace("DNS:www.example.com", "email:not-an-address"), ..Default::default() },
            "malformed-extension",
        ),
        ("empty-subject-noncritical-san", Chain { leaf_subject: "/", ..Default::default() }, "bad-criticality"),
        // §4.1.2.6
        ("ca-empty-subject", Chain { ca_subject: "/", ..Default::default() }, "empty-subject"),
        // §4.2.1.10
        (
            "name-constraints-in-leaf",
            Chain { leaf: leaf_with("nameConstraints = critical, permitted;DNS:example.com"), ..Default::default() },
            "misplaced-extension",
        ),
        (
            "name-constraints-not-critical",
            Chain { ca: format!("{CA}\nnameConstraints = permitted;DNS:example.com"), ..Default::default() },
            "bad-criticality",
        ),
        (
            "name-constraint-malformed",
            Chain {
                ca: format!("{CA}\nnameConstraints = critical, permitted;DNS:*.example.com"),
                ..Default::default()
            },
            "malformed-extension",
        ),
        // §4.2.1.3
        (
            "leaf-keycertsign-without-ca",
            Chain { leaf: LEAF.replace("digitalSignature", "digitalSignature, keyCertSign"), ..Default::default() },
            "bad-key-usage",
        ),
        // §4.2.2.1
        (
            "leaf-critical-aia",
            Chain {
                leaf: leaf_with("authorityInfoAccess = critical, caIssuers;URI:http://example.com/ca.crt"),
                ..Default::default()
            },
            "bad-criticality",
        ),
    ]
}

#[test]
fn each_rfc5280_must_is_enforced() {
    let ks = Keyseal::new();
    assert_eq!(reason(&verify(&ks, "conforming", &Chain::default())), "valid", "the conforming chain is valid");
    let critical_san = Chain {
        leaf_subject: "/",
        leaf: LEAF.replace("subjectAltName =", "subjectAltName = critical,"),
        ..Default::default()
    };
    assert_eq!(reason(&verify(&ks, "empty-subject-critical-san", &critical_san)), "valid", "§4.2.1.6 allows it");
    let mut wrong = Vec::new();
    for (name, chain, expected) in cases() {
        let report = verify(&ks, name, &chain);
        let on_topic =
            !name.ends_with("-ski") || report["message"].as_str().unwrap_or("").contains("subjectKeyIdentifier");
        if reason(&report) != expected || !on_topic {
            wrong.push(format!("{name}: expected {expected}, got {} ({})", reason(&report), report["message"]));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// RFC 5280 §6.1.1 (d): a trust anchor is input — its name and key — not a certificate
/// to validate, so the §4 profile does not apply to it: a root whose basicConstraints is
/// not critical or whose serial number is 0 (as roots in Mozilla's store) anchors a
/// conforming chain. A root without a subjectKeyIdentifier does too, but the intermediate
/// it issues then cannot name it by key identifier, and that intermediate is refused
/// (§4.2.1.1). What no root of Mozilla's store does is refused: saying it is no CA (an
/// end entity given as `--trust` by mistake), a version 3 root without basicConstraints,
/// a critical extension keyseal does not process (a constraint it could not honour),
/// critical key identifiers.
#[test]
fn a_trust_anchor_is_input_not_a_certificate_to_validate() {
    let ks = Keyseal::new();
    for (name, root, expected) in [
        ("root-basic-constraints-not-critical", ROOT.replace("critical, CA:TRUE", "CA:TRUE"), "valid"),
        (
            "root-unknown-critical-extension",
            format!("{ROOT}\n1.3.6.1.4.1.55738.666.1 = critical,DER:0500"),
            "unknown-critical-extension",
        ),
        (
            "root-not-a-ca",
            ROOT.replace("critical, CA:TRUE", "critical, CA:FALSE").replace("keyCertSign, cRLSign", "digitalSignature"),
            "not-a-ca",
        ),
        ("root-without-basic-constraints", ROOT.replace("basicConstraints = critical, CA:TRUE\n", ""), "not-a-ca"),
        (
            "root-critical-ski",
            ROOT.replace("subjectKeyIdentifier = hash", "subjectKeyIdentifier = critical, hash"),
            "bad-criticality",
        ),
        ("root-critical-aki", format!("{ROOT}\nauthorityKeyIdentifier = critical, keyid:always"), "bad-criticality"),
    ] {
        let report = verify(&ks, name, &Chain { root, ..Default::default() });
        assert_eq!(reason(&report), expected, "{name}: {report}");
    }
    let no_ski = Chain {
        root: ROOT.replace("subjectKeyIdentifier = hash", "subjectKeyIdentifier = none"),
        ca: CA.replace("authorityKeyIdentifier = keyid", "authorityKeyIdentifier = issuer"),
        ..Default::default()
    };
    let report = verify(&ks, "root-missing-ski", &no_ski);
    assert_eq!(reason(&report), "missing-extension", "{report}");
    assert!(report["message"].as_str().unwrap().contains("CN=Profile CA"), "the intermediate is refused: {report}");
    // Serial number 0: the root made by OpenSSL with `-set_serial 0`.
    let openssl = Openssl { dir: ks.file("serial-zero") };
    std::fs::create_dir_all(&openssl.dir).unwrap();
    let (_, ca, leaf) = Chain::default().make(&openssl);
    let config = openssl.config("zero", ROOT);
    let zero = openssl.file("zero.pem");
    openssl.run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        path(&openssl.key("root")),
        "-subj",
        "/CN=Profile Root",
        "-days",
        "365",
        "-set_serial",
        "0",
        "-config",
        path(&config),
        "-extensions",
        "ext",
        "-out",
        path(&zero),
    ]);
    let report = run(&ks, &leaf, &[ca], &zero);
    assert_eq!(reason(&report), "valid", "{report}");
}

/// §4.2.1.10 on the name forms PKITS has no case for: a sub-CA permitted only 10.0.0.0/8,
/// 2001:db8::/32 and one otherName (a Microsoft UPN) refuses an IP SAN outside those
/// ranges, and any otherName SAN, since keyseal cannot compare otherNames and RFC 5280
/// then requires a refusal. OpenSSL agrees on every case (it calls the otherName an
/// "unsupported name constraint type").
#[test]
fn ip_and_other_name_constraints_agree_with_openssl() {
    const UPN: &str = "otherName:1.3.6.1.4.1.311.20.2.3;UTF8";
    let ks = Keyseal::new();
    let ca = format!(
        "{CA}\nnameConstraints = critical, permitted;IP:10.0.0.0/255.0.0.0, permitted;IP:2001:db8::/ffff:ffff::, permitted;{UPN}:ops@example.com"
    );
    let cases = [
        ("IP:10.1.2.3", "valid", ""),
        ("IP:192.168.1.1", "name-constraint-violation", "IP:192.168.1.1 is outside the permitted subtrees"),
        ("IP:2001:db8::1", "valid", ""),
        ("IP:2001:db9::1", "name-constraint-violation", "IP:2001:db9::1 is outside the permitted subtrees"),
        (
            &format!("{UPN}:ops@example.com"),
            "name-constraint-violation",
            "otherName 1.3.6.1.4.1.311.20.2.3 is of a form whose name constraints keyseal cannot check",
        ),
    ];
    for (index, (san, expected, shown)) in cases.into_iter().enumerate() {
        let chain = Chain { ca: ca.clone(), leaf: LEAF.replace("DNS:www.example.com", san), ..Default::default() };
        let openssl = Openssl { dir: ks.file(&format!("nc-{index}")) };
        std::fs::create_dir_all(&openssl.dir).unwrap();
        let (root, ca, leaf) = chain.make(&openssl);
        let report = run(&ks, &leaf, std::slice::from_ref(&ca), &root);
        assert_eq!(reason(&report), expected, "{san}: {report}");
        assert!(report["message"].as_str().unwrap_or("").ends_with(shown), "{san}: {report}");
        let (openssl_ok, text) =
            crate::common::peer("openssl", &["verify", "-CAfile", path(&root), "-untrusted", path(&ca), path(&leaf)]);
        assert_eq!(openssl_ok, expected == "valid", "{san}: OpenSSL says {text}");
    }
}

/// `openssl ca -gencrl` for the CA whose files are `name` in `openssl`'s directory, with
/// `crl_extensions` (none when empty) and a cRLNumber only when `numbered`.
fn crl(openssl: &Openssl, name: &str, numbered: bool, crl_extensions: &str) -> PathBuf {
    let dir = openssl.file(&format!("{name}-ca"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("crlnumber"), "01\n").unwrap();
    let mut config = format!(
        "[ca]\ndefault_ca = this\n[this]\ndatabase = {}\ndefault_md = sha256\ndefault_crl_days = 30\n",
        path(&dir.join("index.txt"))
    );
    if numbered {
        config.push_str(&format!("crlnumber = {}\n", path(&dir.join("crlnumber"))));
    }
    if !crl_extensions.is_empty() {
        config.push_str(&format!("crl_extensions = crl_ext\n[crl_ext]\n{crl_extensions}\n"));
    }
    let cnf = dir.join("ca.cnf");
    std::fs::write(&cnf, config).unwrap();
    let out = openssl.file(&format!("{name}.crl.pem"));
    openssl.run(&[
        "ca",
        "-gencrl",
        "-config",
        path(&cnf),
        "-keyfile",
        path(&openssl.key(name)),
        "-cert",
        path(&openssl.file(&format!("{name}.pem"))),
        "-out",
        path(&out),
    ]);
    out
}

/// RFC 5280 §5.2.3: a CRL without cRLNumber, or with it critical, is no CRL a conforming
/// issuer makes: it gives no status, and with `--crl` a certificate needs one.
#[test]
fn crls_need_a_non_critical_crl_number() {
    let ks = Keyseal::new();
    let openssl = Openssl::new(&ks);
    let (root, ca, leaf) = Chain::default().make(&openssl);
    let root_crl = crl(&openssl, "root", true, "");
    let verify_with = |ca_crl: &Path| {
        let run = ks.run(&[
            "cert",
            "verify",
            path(&leaf),
            "--chain",
            path(&ca),
            "--trust",
            path(&root),
            "--crl",
            path(&root_crl),
            "--crl",
            path(ca_crl),
            "--json",
        ]);
        serde_json::from_str::<Value>(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr))
    };
    assert_eq!(reason(&verify_with(&crl(&openssl, "ca", true, ""))), "valid");
    // (An extension keeps the CRL at version 2: x509-cert cannot read a v1 CRL, which
    // `--crl` then refuses as unusable input.)
    let unnumbered = "authorityKeyIdentifier = keyid";
    for (case, numbered, extensions) in
        [("unnumbered", false, unnumbered), ("critical", false, "2.5.29.20 = critical,DER:020102")]
    {
        let report = verify_with(&crl(&openssl, "ca", numbered, extensions));
        assert_eq!(reason(&report), "crl-invalid", "{case}: {report}");
        assert!(report["message"].as_str().unwrap().contains("cRLNumber"), "{case}: {report}");
    }
}

/// RFC 3161 §2.3: a time-stamping leaf has a critical extendedKeyUsage of timeStamping
/// alone; non-critical, or with another purpose beside it, it is refused for time stamping.
#[test]
fn a_time_stamping_leaf_has_a_critical_sole_time_stamping_purpose() {
    let ks = Keyseal::new();
    for (name, eku, wanted) in [
        ("sole", "extendedKeyUsage = critical, timeStamping", "valid"),
        ("non-critical", "extendedKeyUsage = timeStamping", "missing-timestamping-purpose"),
        ("two", "extendedKeyUsage = critical, timeStamping, codeSigning", "missing-timestamping-purpose"),
    ] {
        let openssl = Openssl { dir: ks.file(name) };
        std::fs::create_dir_all(&openssl.dir).unwrap();
        let chain = Chain { leaf: format!("{LEAF}\n{eku}"), ..Chain::default() };
        let (root, ca, leaf) = chain.make(&openssl);
        let args = [
            "cert",
            "verify",
            path(&leaf),
            "--chain",
            path(&ca),
            "--trust",
            path(&root),
            "--purpose",
            "timestamping",
            "--json",
        ];
        let run = ks.run(&args);
        let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
        assert_eq!(reason(&report), wanted, "{name}: {report}");
    }
}

/// A CRL signed by another key of the CA (RFC 5280 §6.3.3 (f)): the CRL signer's own path
/// to the trust anchor is held to `--max-depth` like the certificate's. Here the leaf's
/// path is three certificates long and the CRL signer's four (through two intermediates
/// of its own), so the CRL counts with `--max-depth 2` (intermediates) and not with 1.
#[test]
fn a_crl_signers_path_is_held_to_the_maximum_depth() {
    let ks = Keyseal::new();
    let openssl = Openssl::new(&ks);
    let (root, ca, leaf) = Chain::default().make(&openssl);
    let mid1 = openssl.issue("mid1", "mid1", "/CN=Mid One", &root, "root", CA);
    let mid2 = openssl.issue("mid2", "mid2", "/CN=Mid Two", &mid1, "mid1", CA);
    // The CA's name, another key, allowed to sign CRLs only.
    let signer_ext = "basicConstraints = CA:FALSE\nkeyUsage = critical, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid";
    let signer = openssl.issue("crlsigner", "crlsigner", "/CN=Profile CA", &mid2, "mid2", signer_ext);
    let crls: Vec<PathBuf> = vec![
        crl(&openssl, "root", true, "authorityKeyIdentifier = keyid"),
        crl(&openssl, "mid1", true, "authorityKeyIdentifier = keyid"),
        crl(&openssl, "mid2", true, "authorityKeyIdentifier = keyid"),
        crl(&openssl, "crlsigner", true, "authorityKeyIdentifier = keyid"),
    ];
    let verify = |depth: &str| {
        let mut args = vec!["cert", "verify", path(&leaf), "--trust", path(&root), "--max-depth", depth, "--json"];
        for cert in [&ca, &mid1, &mid2, &signer] {
            args.extend(["--chain", path(cert)]);
        }
        for crl in &crls {
            args.extend(["--crl", path(crl)]);
        }
        let run = ks.run(&args);
        let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
        report
    };
    let deep_enough = verify("2");
    assert_eq!(reason(&deep_enough), "valid", "{deep_enough}");
    let too_shallow = verify("1");
    assert_eq!(reason(&too_shallow), "revocation-unknown", "{too_shallow}");
}

/// Candidates for a CRL's signer are picked by name and by the CRL's authority key
/// identifier: a pile of certificates with the CA's name but other keys is passed over
/// without spending signature checks on them, so the real CRL signer is still found within
/// the budget (100 signature checks per validation).
#[test]
fn crl_signer_candidates_with_other_keys_cost_nothing() {
    let ks = Keyseal::new();
    let openssl = Openssl::new(&ks);
    let (root, ca, leaf) = Chain::default().make(&openssl);
    let signer_ext = "basicConstraints = CA:FALSE\nkeyUsage = critical, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid";
    let signer = openssl.issue("crlsigner", "crlsigner", "/CN=Profile CA", &root, "root", signer_ext);
    let decoys: Vec<PathBuf> = (0..120)
        .map(|i| openssl.issue(&format!("decoy{i}"), &format!("decoy{i}"), "/CN=Profile CA", &root, "root", signer_ext))
        .collect();
    let crls = [
        crl(&openssl, "root", true, "authorityKeyIdentifier = keyid"),
        crl(&openssl, "crlsigner", true, "authorityKeyIdentifier = keyid"),
    ];
    let mut args = vec!["cert", "verify", path(&leaf), "--trust", path(&root), "--json", "--chain", path(&ca)];
    for cert in decoys.iter().chain([&signer]) {
        args.extend(["--chain", path(cert)]);
    }
    for crl in &crls {
        args.extend(["--crl", path(crl)]);
    }
    let run = ks.run(&args);
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    assert_eq!(reason(&report), "valid", "{report}");
}

/// A CA never vouches for itself on the path being validated: after a key rollover the
/// CA's new certificate (self-issued: the root's name, a new key, certified by the old
/// key) cannot take its own status from a CRL signed with the new key, even though the
/// CRL names the root and the certificate is also among the `--chain` certificates from
/// which off-path CRL signers are taken. With the root's CRL, signed by the old key, it can.
#[test]
fn a_rolled_over_ca_does_not_sign_its_own_status() {
    let ks = Keyseal::new();
    let openssl = Openssl::new(&ks);
    let root = openssl.root("root", "root", "/CN=Profile Root", ROOT);
    let rollover = openssl.issue("rollover", "rollover", "/CN=Profile Root", &root, "root", CA);
    let leaf = openssl.issue("leaf", "leaf", "/CN=www.example.com", &rollover, "rollover", LEAF);
    let new_key_crl = crl(&openssl, "rollover", true, "authorityKeyIdentifier = keyid");
    let verify = |crls: &[&PathBuf]| {
        let mut args =
            vec!["cert", "verify", path(&leaf), "--chain", path(&rollover), "--trust", path(&root), "--json"];
        for crl in crls {
            args.extend(["--crl", path(crl)]);
        }
        let run = ks.run(&args);
        serde_json::from_str::<Value>(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr))
    };
    let alone = verify(&[&new_key_crl]);
    assert_eq!(reason(&alone), "crl-bad-signature", "{alone}");
    let old_key_crl = crl(&openssl, "root", true, "authorityKeyIdentifier = keyid");
    let with_root = verify(&[&new_key_crl, &old_key_crl]);
    assert_eq!(reason(&with_root), "valid", "{with_root}");
}
