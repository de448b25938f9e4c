//! The chain validator through `keyseal cert verify` and `keyseal verify --trust`: the
//! happy path for every key spec and signature algorithm the mini-CA produces and for a
//! chain OpenSSL made; one failing case per reason code, asserted by code; and a
//! differential check that `openssl verify` agrees on every case where it checks the same
//! thing: on the verdict, and on a refusal on the reason (OpenSSL's error mapped to the
//! keyseal reason it corresponds to). Intentional differences are listed: cases OpenSSL
//! is not asked about say why at the case, reasons without a corresponding OpenSSL error
//! are in `NO_CORRESPONDENCE`.

use crate::common::openssl::{Openssl, path};
use crate::common::{Keyseal, Run, peer, pyca};
use serde_json::Value;
use std::path::{Path, PathBuf};

const CA_EXT: &str = "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid";
const LEAF_EXT: &str = "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = codeSigning\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid";

/// One `keyseal cert verify` case and what OpenSSL is asked to compare on it.
struct Case<'a> {
    leaf: &'a Path,
    chain: Vec<&'a Path>,
    trust: Vec<&'a Path>,
    crl: Vec<&'a Path>,
    at: Option<&'a str>,
    purpose: &'a str,
    extra: Vec<&'a str>,
    /// openssl verify options for the same question, or None where OpenSSL checks
    /// something else (the reason is given at the case).
    openssl: Option<Vec<&'a str>>,
}

impl<'a> Case<'a> {
    fn new(leaf: &'a Path, chain: Vec<&'a Path>, trust: Vec<&'a Path>) -> Case<'a> {
        Case { leaf, chain, trust, crl: vec![], at: None, purpose: "any", extra: vec![], openssl: Some(vec![]) }
    }

    /// Runs keyseal (and OpenSSL, to compare); returns keyseal's JSON report.
    fn run(&self, ks: &Keyseal) -> Value {
        let mut args = vec!["cert", "verify", path(self.leaf), "--json", "--purpose", self.purpose];
        for c in &self.chain {
            args.extend(["--chain", path(c)]);
        }
        for t in &self.trust {
            args.extend(["--trust", path(t)]);
        }
        for c in &self.crl {
            args.extend(["--crl", path(c)]);
        }
        if let Some(at) = self.at {
            args.extend(["--at", at]);
        }
        args.extend(self.extra.iter());
        let run: Run = ks.run(&args);
        let report = run.json();
        assert_eq!(
            run.status,
            if report["valid"] == true { 0 } else { 1 },
            "exit status follows the verdict: {}",
            run.stderr
        );
        if let Some(options) = &self.openssl {
            self.compare_with_openssl(ks, options, &report);
        }
        report
    }

    fn compare_with_openssl(&self, ks: &Keyseal, options: &[&str], keyseal_report: &Value) {
        let keyseal_valid = keyseal_report["valid"] == true;
        let trust = ks.file("openssl-trust.pem");
        std::fs::write(&trust, self.trust.iter().map(|t| std::fs::read(t).unwrap()).collect::<Vec<_>>().concat())
            .unwrap();
        let mut args = vec!["verify", "-x509_strict", "-CAfile", path(&trust)];
        let untrusted = ks.file("openssl-untrusted.pem");
        if !self.chain.is_empty() {
            std::fs::write(
                &untrusted,
                self.chain.iter().map(|c| std::fs::read(c).unwrap()).collect::<Vec<_>>().concat(),
            )
            .unwrap();
            args.extend(["-untrusted", path(&untrusted)]);
        }
        let crls = ks.file("openssl-crls.pem");
        if !self.crl.is_empty() {
            // All PEM, so OpenSSL's loader has one format to read: a DER CRL followed by PEM
            // ones leaves it to format detection. (Once, under the full suite, OpenSSL said
            // "unable to get certificate CRL" for the forged DER CRL below; not reproduced.)
            let pem = |c: &&Path| {
                let bytes = std::fs::read(c).unwrap();
                if bytes.starts_with(b"-----BEGIN") {
                    String::from_utf8(bytes).unwrap()
                } else {
                    der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, &bytes).unwrap()
                }
            };
            std::fs::write(&crls, self.crl.iter().map(pem).collect::<String>()).unwrap();
            // keyseal needs a status for every certificate once CRLs are given, so the same
            // question to OpenSSL is -crl_check_all (-crl_check looks at the leaf only).
            args.extend(["-crl_check_all", "-CRLfile", path(&crls)]);
        }
        let attime;
        if let Some(at) = self.at {
            attime = unix(at).to_string();
            args.extend(["-attime", &attime]);
        }
        args.extend(options.iter());
        args.push(path(self.leaf));
        let (openssl_valid, text) = peer("openssl", &args);
        assert_eq!(openssl_valid, keyseal_valid, "openssl verify disagrees ({args:?}): {text}");
        if !keyseal_valid {
            self.compare_reasons(reason(keyseal_report), &text, &args);
        }
    }

    /// Both refused: one of OpenSSL's errors must be the one that corresponds to keyseal's
    /// reason, or the pair must be a listed difference; any failure no longer counts as
    /// agreement. `openssl verify` goes on after some errors (an expired certificate, an
    /// invalid CA, a stale CRL, ...) and prints each, where keyseal reports the most
    /// specific, so keyseal's reason is looked for among them all.
    fn compare_reasons(&self, keyseal_reason: &str, openssl_text: &str, args: &[&str]) {
        let errors = openssl_errors(openssl_text);
        assert!(!errors.is_empty(), "openssl verify failed without an error line ({args:?}): {openssl_text}");
        let corresponds =
            errors.iter().any(|&error| keyseal_reason_for(error, self.purpose) == Some(keyseal_reason.into()));
        let listed =
            NO_CORRESPONDENCE.iter().any(|(error, reason, _)| *reason == keyseal_reason && errors.contains(error));
        assert!(
            corresponds || listed,
            "keyseal says {keyseal_reason}, openssl verify errors {errors:?} ({args:?}): {openssl_text}"
        );
    }
}

/// OpenSSL's verification errors in order: the NN (X509_V_ERR_*) of each
/// `error NN at D depth lookup: ...` line.
fn openssl_errors(text: &str) -> Vec<u32> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start_matches("[CRL path] ").strip_prefix("error ")?;
            let (code, rest) = rest.split_once(' ')?;
            rest.contains("depth lookup").then(|| code.parse().ok()).flatten()
        })
        .collect()
}

/// The keyseal reason an OpenSSL verification error corresponds to, where one does
/// (numbers as in OpenSSL 3's include/openssl/x509_vfy.h); `purpose` is the case's
/// `--purpose`.
fn keyseal_reason_for(openssl_error: u32, purpose: &str) -> Option<String> {
    let reason = match openssl_error {
        3 => "revocation-unknown",                               // X509_V_ERR_UNABLE_TO_GET_CRL
        7 => "bad-signature",                                    // X509_V_ERR_CERT_SIGNATURE_FAILURE
        8 => "crl-bad-signature",                                // X509_V_ERR_CRL_SIGNATURE_FAILURE
        9 => "not-yet-valid",                                    // X509_V_ERR_CERT_NOT_YET_VALID
        10 => "expired",                                         // X509_V_ERR_CERT_HAS_EXPIRED
        12 => "crl-expired",                                     // X509_V_ERR_CRL_HAS_EXPIRED
        19 => "untrusted-root",                                  // X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
        20 => "chain-incomplete",                                // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        22 => "path-too-long",                                   // X509_V_ERR_CERT_CHAIN_TOO_LONG
        23 => "revoked",                                         // X509_V_ERR_CERT_REVOKED
        25 => "path-length-exceeded",                            // X509_V_ERR_PATH_LENGTH_EXCEEDED
        26 => return Some(format!("missing-{purpose}-purpose")), // X509_V_ERR_INVALID_PURPOSE
        32 => "bad-key-usage",                                   // X509_V_ERR_KEYUSAGE_NO_CERTSIGN
        34 => "unknown-critical-extension",                      // X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION
        47 => "name-constraint-violation",                       // X509_V_ERR_PERMITTED_VIOLATION
        62 => "hostname-mismatch",                               // X509_V_ERR_HOSTNAME_MISMATCH
        63 => "email-mismatch",                                  // X509_V_ERR_EMAIL_MISMATCH
        64 => "ip-mismatch",                                     // X509_V_ERR_IP_ADDRESS_MISMATCH
        79 => "not-a-ca",                                        // X509_V_ERR_INVALID_CA
        _ => return None,
    };
    Some(reason.to_string())
}

/// Refusals where no OpenSSL error corresponds to keyseal's reason, by design:
/// (OpenSSL error, keyseal reason, why). Nothing else may differ.
const NO_CORRESPONDENCE: &[(u32, &str, &str)] = &[(
    20,
    "name-mismatch",
    // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: OpenSSL looks an issuer up by name
    // only, so a trust anchor with the right key under another name is just not found;
    // keyseal also finds candidates by key identifier and names the mismatch.
    "OpenSSL finds issuers by name only, so a renamed issuer is not found at all",
)];

fn unix(at: &str) -> i64 {
    keyseal::clock::parse_time(at).unwrap()
}

fn reason(report: &Value) -> &str {
    report["reason"].as_str().unwrap_or("valid")
}

/// root -> intermediate -> code-signing leaf from the mini-CA, for `spec` and `algorithm`.
fn keyseal_pki(ks: &Keyseal, spec: &str, algorithm: &str) -> (PathBuf, PathBuf, PathBuf) {
    let (root_key, root_version) = ks.create_key(spec, "SIGN/VERIFY");
    let (inter_key, inter_version) = ks.create_key(spec, "SIGN/VERIFY");
    let (leaf_key, leaf_version) = ks.create_key(spec, "SIGN/VERIFY");
    let files = (
        ks.file(&format!("{spec}-{algorithm}-root.pem")),
        ks.file(&format!("{spec}-{algorithm}-inter.pem")),
        ks.file(&format!("{spec}-{algorithm}-leaf.pem")),
    );
    let root_name = format!("root-{spec}-{algorithm}");
    let inter_name = format!("inter-{spec}-{algorithm}");
    ks.ok(&[
        "ca",
        "init",
        "--name",
        &root_name,
        "--key-id",
        &root_key,
        "--key-version-id",
        &root_version,
        "--algorithm",
        algorithm,
        "--subject",
        &format!("CN=Root {spec} {algorithm}"),
        "--days",
        "100",
        "--out",
        path(&files.0),
        "--json",
    ]);
    ks.ok(&[
        "ca",
        "issue",
        "--ca",
        &root_name,
        "--profile",
        "intermediate-ca",
        "--name",
        &inter_name,
        "--key-id",
        &inter_key,
        "--key-version-id",
        &inter_version,
        "--algorithm",
        algorithm,
        "--subject",
        &format!("CN=Intermediate {spec} {algorithm}"),
        "--days",
        "50",
        "--out",
        path(&files.1),
        "--json",
    ]);
    ks.ca_issue(&inter_name, "code-signing", &leaf_key, &leaf_version, "CN=Signer", "20", &files.2);
    files
}

#[test]
fn every_mini_ca_spec_and_algorithm_validates() {
    let ks = Keyseal::new();
    for (spec, algorithm) in [
        ("RSA_2048", "RSA_PKCS1_SHA_256"),
        ("RSA_2048", "RSA_PSS_SHA_256"),
        ("EC_P256", "ECDSA_SHA_256"),
        ("EC_P256K", "ECDSA_SHA_256"),
    ] {
        let (root, inter, leaf) = keyseal_pki(&ks, spec, algorithm);
        let mut case = Case::new(&leaf, vec![&inter], vec![&root]);
        case.purpose = "code-signing";
        let report = case.run(&ks);
        assert_eq!(report["valid"], true, "{spec} {algorithm}: {report}");
        let roles: Vec<&str> = report["path"].as_array().unwrap().iter().map(|p| p["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["leaf", "intermediate", "trust-anchor"]);
        let checks = report["checks"].as_array().unwrap();
        for check in [
            "signature",
            "validity",
            "name-chaining",
            "basic-constraints",
            "path-length",
            "key-usage",
            "extended-key-usage",
            "revocation",
        ] {
            assert!(checks.iter().any(|c| c["check"] == check), "{check} is reported: {report}");
        }
        assert!(checks.iter().all(|c| c["result"] != "failed"));
    }
}

#[test]
fn an_openssl_made_chain_validates_in_any_order_with_strays() {
    let ks = Keyseal::new();
    let o = Openssl::new(&ks);
    let root = o.root("root", "root", "/CN=OpenSSL Root/O=Elsewhere", CA_EXT);
    let inter = o.issue("inter", "inter", "/CN=OpenSSL Intermediate/O=Elsewhere", &root, "root", CA_EXT);
    let leaf = o.issue("leaf", "leaf", "/CN=Signer/O=Elsewhere", &inter, "inter", LEAF_EXT);
    let stray_root = o.root("stray", "stray", "/CN=Stray", CA_EXT);
    let bundle = ks.file("mixed.pem");
    // Extra, duplicate and out-of-order certificates in the chain are fine.
    std::fs::write(
        &bundle,
        [&stray_root, &inter, &root, &inter].iter().map(|p| std::fs::read(p).unwrap()).collect::<Vec<_>>().concat(),
    )
    .unwrap();
    let mut case = Case::new(&leaf, vec![&bundle], vec![&stray_root, &root]);
    case.purpose = "code-signing";
    assert_eq!(reason(&case.run(&ks)), "valid");
    // Two candidate issuers with one name: the wrong one (other key) is passed over.
    let imposter = o.issue(
        "imposter",
        "imposter",
        "/CN=OpenSSL Intermediate/O=Elsewhere",
        &root,
        "root",
        "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign\n",
    );
    let case = Case::new(&leaf, vec![&imposter, &inter], vec![&root]);
    assert_eq!(reason(&case.run(&ks)), "valid");
}

#[test]
fn one_failing_case_per_reason_code() {
    let ks = Keyseal::new();
    let o = Openssl::new(&ks);
    let root = o.root("root", "root", "/CN=Root/O=Test", CA_EXT);
    let inter = o.issue("inter", "inter", "/CN=Intermediate/O=Test", &root, "root", CA_EXT);
    let leaf = o.issue("leaf", "leaf", "/CN=Leaf/O=Test", &inter, "inter", LEAF_EXT);
    let other_root = o.root("other-root", "other-root", "/CN=Other Root", CA_EXT);

    let mut expectations: Vec<(&str, Value)> = Vec::new();
    expectations.push(("untrusted-root", Case::new(&leaf, vec![&inter, &root], vec![&other_root]).run(&ks)));
    expectations.push(("chain-incomplete", Case::new(&leaf, vec![], vec![&root]).run(&ks)));
    let mut expired = Case::new(&leaf, vec![&inter], vec![&root]);
    expired.at = Some("2099-01-01T00:00:00Z");
    expectations.push(("expired", expired.run(&ks)));
    let mut early = Case::new(&leaf, vec![&inter], vec![&root]);
    early.at = Some("2001-01-01");
    expectations.push(("not-yet-valid", early.run(&ks)));

    let tampered = ks.file("tampered.pem");
    let (_, mut der) = der::pem::decode_vec(&std::fs::read(&leaf).unwrap()).unwrap();
    let last = der.len() - 3;
    der[last] ^= 0x5a;
    std::fs::write(&tampered, der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der).unwrap()).unwrap();
    expectations.push(("bad-signature", Case::new(&tampered, vec![&inter], vec![&root]).run(&ks)));

    let not_ca = o.issue(
        "not-ca",
        "not-ca",
        "/CN=Not A CA",
        &root,
        "root",
        "basicConstraints = critical, CA:FALSE\nsubjectKeyIdentifier = hash\n",
    );
    let under_not_ca = o.issue("under-not-ca", "leaf", "/CN=Under", &not_ca, "not-ca", LEAF_EXT);
    expectations.push(("not-a-ca", Case::new(&under_not_ca, vec![&not_ca], vec![&root]).run(&ks)));

    let tight_root = o.root("tight-root", "tight-root", "/CN=Tight Root", "basicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash");
    let tight_inter =
        o.issue("tight-inter", "tight-inter", "/CN=Tight Intermediate", &tight_root, "tight-root", CA_EXT);
    let tight_leaf = o.issue("tight-leaf", "leaf", "/CN=Tight Leaf", &tight_inter, "tight-inter", LEAF_EXT);
    expectations.push(("path-length-exceeded", Case::new(&tight_leaf, vec![&tight_inter], vec![&tight_root]).run(&ks)));

    let server_leaf = o.issue(
        "server-leaf",
        "leaf",
        "/CN=web.test",
        &inter,
        "inter",
        "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:web.test",
    );
    let mut wrong_purpose = Case::new(&server_leaf, vec![&inter], vec![&root]);
    wrong_purpose.purpose = "code-signing";
    // OpenSSL 3.0 has no code-signing purpose: nothing to compare.
    wrong_purpose.openssl = None;
    expectations.push(("missing-code-signing-purpose", wrong_purpose.run(&ks)));

    let critical = o.issue(
        "critical",
        "leaf",
        "/CN=Critical",
        &inter,
        "inter",
        "basicConstraints = CA:FALSE\n1.2.3.4 = critical, ASN1:UTF8String:must understand",
    );
    expectations.push(("unknown-critical-extension", Case::new(&critical, vec![&inter], vec![&root]).run(&ks)));

    // Signed by the right key under another name: the issuer's name does not chain.
    let renamed = o.root("renamed", "inter", "/CN=Renamed Intermediate/O=Test", CA_EXT);
    expectations.push(("name-mismatch", Case::new(&leaf, vec![], vec![&renamed]).run(&ks)));

    let no_cert_sign = o.issue(
        "no-cert-sign",
        "no-cert-sign",
        "/CN=No CertSign",
        &root,
        "root",
        "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, digitalSignature\nsubjectKeyIdentifier = hash",
    );
    let under_no_cert_sign =
        o.issue("under-no-cert-sign", "leaf", "/CN=Under2", &no_cert_sign, "no-cert-sign", LEAF_EXT);
    expectations.push(("bad-key-usage", Case::new(&under_no_cert_sign, vec![&no_cert_sign], vec![&root]).run(&ks)));

    let constrained = o.root(
        "constrained",
        "constrained",
        "/CN=Constrained Root",
        &format!("{CA_EXT}\nnameConstraints = critical, permitted;DNS:example.com"),
    );
    let outside = o.issue(
        "outside",
        "leaf",
        "/CN=evil",
        &constrained,
        "constrained",
        "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:www.evil.test",
    );
    let inside = o.issue(
        "inside",
        "leaf",
        "/CN=good",
        &constrained,
        "constrained",
        "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:www.example.com",
    );
    let mut outside_case = Case::new(&outside, vec![], vec![&constrained]);
    outside_case.purpose = "server";
    outside_case.openssl = Some(vec!["-purpose", "sslserver"]);
    expectations.push(("name-constraint-violation", outside_case.run(&ks)));
    let mut inside_case = Case::new(&inside, vec![], vec![&constrained]);
    inside_case.purpose = "server";
    inside_case.openssl = Some(vec!["-purpose", "sslserver"]);
    assert_eq!(reason(&inside_case.run(&ks)), "valid");

    let mut too_deep = Case::new(&leaf, vec![&inter], vec![&root]);
    too_deep.extra = vec!["--max-depth", "0"];
    too_deep.openssl = Some(vec!["-verify_depth", "0"]);
    expectations.push(("path-too-long", too_deep.run(&ks)));

    let stamp = o.issue(
        "stamp",
        "leaf",
        "/CN=TSA",
        &inter,
        "inter",
        "keyUsage = critical, digitalSignature\nextendedKeyUsage = timeStamping",
    );
    let mut lax_tsa = Case::new(&stamp, vec![&inter], vec![&root]);
    lax_tsa.purpose = "timestamping";
    // RFC 3161 wants the EKU critical; OpenSSL's timestampsign purpose asks the same.
    lax_tsa.openssl = Some(vec!["-purpose", "timestampsign"]);
    expectations.push(("missing-timestamping-purpose", lax_tsa.run(&ks)));

    let garbage = ks.file("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n").unwrap();
    let malformed = ks.run(&["cert", "verify", path(&garbage), "--trust", path(&root), "--json"]);
    // One exit-code rule: an input the user passed that cannot be read is exit 2, with the
    // reason code; the same for a damaged --trust file here and in `keyseal verify`.
    assert_eq!(malformed.status, 2, "{}", malformed.stderr);
    assert!(malformed.stderr.contains("[malformed-certificate]"), "{}", malformed.stderr);
    let damaged_trust = ks.run(&["cert", "verify", path(&leaf), "--trust", path(&garbage)]);
    assert_eq!(damaged_trust.status, 2, "{}", damaged_trust.stderr);
    assert!(damaged_trust.stderr.contains("[malformed-certificate]"), "{}", damaged_trust.stderr);
    assert_eq!(
        ks.run(&["cert", "verify", path(&leaf), "--trust", "/no/such/file"]).status,
        2,
        "an unreadable file is unusable input"
    );

    for (expected, report) in &expectations {
        assert_eq!(reason(report), *expected, "{report}");
        assert_eq!(report["valid"], false);
        let message = report["message"].as_str().unwrap();
        assert!(
            message.contains("subject") || message.contains("path"),
            "the message names the certificate: {message}"
        );
    }
}

#[test]
fn revocation_by_crl() {
    let ks = Keyseal::new();
    let (root, inter, leaf) = keyseal_pki(&ks, "EC_P256", "ECDSA_SHA_256");
    let listed = ks.ok(&["ca", "list", "--ca", "inter-EC_P256-ECDSA_SHA_256", "--json"]);
    let serial =
        listed["certificates"].as_array().unwrap().iter().find(|c| c["profile"] == "code-signing").unwrap()["serial"]
            .as_str()
            .unwrap()
            .to_string();
    let crl = ks.file("inter.crl.pem");
    ks.run(&["ca", "crl", "--ca", "inter-EC_P256-ECDSA_SHA_256", "--out", path(&crl)]);
    // Once CRLs are given every certificate needs a status: the intermediate's comes
    // from the root's CRL.
    let root_crl = ks.file("root.crl.pem");
    ks.run(&["ca", "crl", "--ca", "root-EC_P256-ECDSA_SHA_256", "--out", path(&root_crl)]);
    let mut unknown = Case::new(&leaf, vec![&inter], vec![&root]);
    unknown.crl = vec![&crl];
    let report = unknown.run(&ks);
    assert_eq!(reason(&report), "revocation-unknown");
    assert!(report["message"].as_str().unwrap().contains("--crl"), "{report}");
    let mut clean = Case::new(&leaf, vec![&inter], vec![&root]);
    clean.crl = vec![&crl, &root_crl];
    let report = clean.run(&ks);
    assert_eq!(reason(&report), "valid");
    assert!(report["checks"].as_array().unwrap().iter().any(|c| c["check"] == "revocation" && c["result"] == "ok"));

    assert_eq!(
        ks.run(&[
            "ca",
            "revoke",
            "--ca",
            "inter-EC_P256-ECDSA_SHA_256",
            "--serial",
            &serial,
            "--reason",
            // The RFC 5280 / OpenSSL spelling, as people type it.
            "keyCompromise"
        ])
        .status,
        0
    );
    ks.run(&["ca", "crl", "--ca", "inter-EC_P256-ECDSA_SHA_256", "--out", path(&crl)]);
    let mut revoked = Case::new(&leaf, vec![&inter], vec![&root]);
    revoked.crl = vec![&crl, &root_crl];
    let report = revoked.run(&ks);
    assert_eq!(reason(&report), "revoked");
    assert!(report["message"].as_str().unwrap().contains("(key-compromise)"), "{report}");

    // A CRL past its nextUpdate (7 days) while the certificates are still valid.
    let mut stale = Case::new(&leaf, vec![&inter], vec![&root]);
    stale.crl = vec![&crl, &root_crl];
    let later = keyseal::clock::format_unix(keyseal::clock::now_unix() + 9 * 86_400);
    stale.at = Some(&later);
    assert_eq!(reason(&stale.run(&ks)), "crl-expired");

    let (_, mut der) = der::pem::decode_vec(&std::fs::read(&crl).unwrap()).unwrap();
    let last = der.len() - 4;
    der[last] ^= 0x33;
    let forged = ks.file("forged.crl");
    std::fs::write(&forged, &der).unwrap();
    let mut bad = Case::new(&leaf, vec![&inter], vec![&root]);
    bad.crl = vec![&forged, &root_crl];
    // OpenSSL reports "CRL signature failure" too.
    assert_eq!(reason(&bad.run(&ks)), "crl-bad-signature");
}

#[test]
fn keyseal_verify_trusts_a_release_through_its_certificate_chain() {
    let ks = Keyseal::new();
    let (root_key, root_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (signer_key, signer_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (root, signer) = (ks.file("root.pem"), ks.file("signer.pem"));
    ks.ca_init("root", &root_key, &root_version, "CN=Release Root", "60", &root);
    let issued = ks.ca_issue("root", "code-signing", &signer_key, &signer_version, "CN=Release Signer", "10", &signer);
    let release = ks.file("release");
    std::fs::create_dir(&release).unwrap();
    std::fs::write(release.join("app"), b"binary").unwrap();
    // The chain in the bundle: the signer's certificate and the root (as a download would
    // carry it); trust comes only from --trust.
    let chain = ks.file("chain.pem");
    std::fs::write(&chain, [std::fs::read(&signer).unwrap(), std::fs::read(&root).unwrap()].concat()).unwrap();
    let sign = ks.run(&[
        "sign",
        path(&release),
        "--key-id",
        &signer_key,
        "--key-version-id",
        &signer_version,
        "--cert",
        path(&chain),
        "--out",
        path(&release),
    ]);
    assert_eq!(sign.status, 0, "{}", sign.stderr);
    let bundle = release.join("keyseal.bundle.json");
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", path(&release), "--bundle", path(&bundle), "--trust", path(&root), "--json"];
        args.extend_from_slice(extra);
        ks.run(&args)
    };
    let good = verify(&[]);
    assert_eq!(good.status, 0, "{}", good.stdout);
    assert_eq!(good.json()["chain"]["valid"], true);
    assert_eq!(good.json()["chain"]["policies"], serde_json::json!([]), "the mini-CA asserts no policy");

    // The RFC 5280 policy inputs reach the chain check: the mini-CA's certificates assert
    // no policy, so requiring an explicit one refuses them.
    let explicit = verify(&["--require-explicit-policy", "--policy", "2.23.140.1.4.1"]);
    assert_eq!(explicit.status, 1, "{}", explicit.stdout);
    assert_eq!(explicit.json()["chain"]["reason"], "policy-not-accepted");

    let later = verify(&["--at", &keyseal::clock::format_unix(keyseal::clock::now_unix() + 20 * 86_400)]);
    assert_eq!(later.status, 1);
    let report = later.json();
    assert_eq!(report["signature"], "chain-invalid");
    assert_eq!(report["chain"]["reason"], "expired");
    assert!(report["signatureDetail"].as_str().unwrap().contains("no trusted timestamp"), "{report}");

    let other_root = ks.file("other-root.pem");
    let (other_key, other_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    ks.ca_init("other", &other_key, &other_version, "CN=Other Root", "60", &other_root);
    let untrusted =
        ks.run(&["verify", path(&release), "--bundle", path(&bundle), "--trust", path(&other_root), "--json"]);
    assert_eq!(untrusted.json()["chain"]["reason"], "untrusted-root");

    let crl = ks.file("root.crl.pem");
    let serial = issued["certificate"]["serial"].as_str().unwrap();
    ks.run(&["ca", "revoke", "--ca", "root", "--serial", serial, "--reason", "superseded"]);
    ks.run(&["ca", "crl", "--ca", "root", "--out", path(&crl)]);
    let revoked = verify(&["--crl", path(&crl)]);
    assert_eq!(revoked.json()["chain"]["reason"], "revoked");

    // The bundle's public key must be the one its certificate certifies.
    let mut edited: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let other_public =
        ks.ok(&["kms", "get-public-key", "--key-id", &root_key, "--key-version-id", &root_version])["PublicKey"]
            .clone();
    edited["signer"]["publicKey"] = other_public;
    std::fs::write(&bundle, serde_json::to_string(&edited).unwrap()).unwrap();
    assert_eq!(verify(&[]).json()["signature"], "key-mismatch");
}

/// Regression (issue 15 item 6): a CA whose key OpenSSL made RSA-PSS-restricted (its SPKI
/// is id-RSASSA-PSS with parameters, RFC 4055) signs with PSS as its parameters say; keyseal
/// validates its certificates, as OpenSSL does, where it once refused the key as malformed.
#[test]
fn a_ca_with_an_rsa_pss_restricted_key_validates() {
    let ks = Keyseal::new();
    let o = Openssl::new(&ks);
    o.run(&[
        "genpkey",
        "-algorithm",
        "RSA-PSS",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-pkeyopt",
        "rsa_pss_keygen_md:sha256",
        "-pkeyopt",
        "rsa_pss_keygen_mgf1_md:sha256",
        "-pkeyopt",
        "rsa_pss_keygen_saltlen:32",
        "-out",
        path(&o.file("pss-root.key")),
    ]);
    let root = o.root("pss-root", "pss-root", "/CN=PSS Root", CA_EXT);
    let (_, text) = peer("openssl", &["x509", "-in", path(&root), "-noout", "-text"]);
    assert!(text.contains("Public Key Algorithm: rsassaPss"), "the key is PSS-restricted: {text}");
    let leaf = o.issue("pss-leaf", "leaf", "/CN=Signer", &root, "pss-root", LEAF_EXT);
    let mut case = Case::new(&leaf, vec![], vec![&root]);
    case.purpose = "code-signing";
    assert_eq!(reason(&case.run(&ks)), "valid");
}

/// Regression (issue 27, LOW 8): `--purpose code-signing` accepted a leaf with no
/// extendedKeyUsage, with anyExtendedKeyUsage alone, or a CA certificate as the leaf, where
/// `keyseal sign --cert` requires an end entity naming codeSigning. Now both ask the same;
/// `--rfc5280-eku` gives RFC 5280's leniency back, in `cert verify` and `verify --trust`.
#[test]
fn code_signing_needs_an_end_entity_naming_code_signing() {
    let ks = Keyseal::new();
    let o = Openssl::new(&ks);
    let root = o.root("root", "root", "/CN=Root/O=Test", CA_EXT);
    let no_eku = o.issue("no-eku", "leaf", "/CN=No EKU", &root, "root", "keyUsage = critical, digitalSignature");
    let any_eku = o.issue(
        "any-eku",
        "leaf",
        "/CN=Any EKU",
        &root,
        "root",
        "keyUsage = critical, digitalSignature\nextendedKeyUsage = anyExtendedKeyUsage",
    );
    let ca_leaf = o.issue(
        "ca-leaf",
        "ca-leaf",
        "/CN=CA Leaf",
        &root,
        "root",
        &format!("{CA_EXT}\nextendedKeyUsage = codeSigning")
            .replace("keyCertSign, cRLSign", "keyCertSign, cRLSign, digitalSignature"),
    );
    for (leaf, expected) in [
        (&no_eku, "missing-code-signing-purpose"),
        (&any_eku, "missing-code-signing-purpose"),
        (&ca_leaf, "ca-as-end-entity"),
    ] {
        let mut strict = Case::new(leaf, vec![], vec![&root]);
        strict.purpose = "code-signing";
        // OpenSSL 3.0 has no code-signing purpose: nothing to compare.
        strict.openssl = None;
        let report = strict.run(&ks);
        assert_eq!(reason(&report), expected, "{report}");
        assert!(report["message"].as_str().unwrap().contains("--rfc5280-eku"), "{report}");
        let mut lenient = Case::new(leaf, vec![], vec![&root]);
        lenient.purpose = "code-signing";
        lenient.openssl = None;
        lenient.extra = vec!["--rfc5280-eku"];
        let report = lenient.run(&ks);
        assert_eq!(report["valid"], true, "{report}");
    }
}

/// `--hostname`, `--ip` and `--email` (RFC 9525, RFC 8550): each asked of keyseal and, with
/// `-verify_hostname`, `-verify_ip` and `-verify_email`, of OpenSSL, which must agree but
/// where RFC 9525 asks more than OpenSSL checks (said at the case).
#[test]
fn names_asked_for_agree_with_openssl() {
    let ks = Keyseal::new();
    let o = Openssl::new(&ks);
    let root = o.root("root", "root", "/CN=Names Root", CA_EXT);
    let sans = "DNS:www.example.com, DNS:*.wild.example.com, DNS:*.co.uk, IP:192.0.2.7, IP:2001:db8::7, email:Alice@Example.com";
    let leaf = o.issue(
        "leaf",
        "leaf",
        "/CN=cn.example.com",
        &root,
        "root",
        &format!("{LEAF_EXT}\nsubjectAltName = {sans}").replace("codeSigning", "serverAuth, emailProtection"),
    );
    let cn_only =
        o.issue("cn-only", "leaf", "/CN=cn.example.com", &root, "root", &LEAF_EXT.replace("codeSigning", "serverAuth"));
    let ask = |leaf: &Path, flag: &'static str, value: &'static str, openssl: Option<&'static str>| {
        let mut case = Case::new(leaf, vec![], vec![&root]);
        case.extra = vec![flag, value];
        case.openssl = openssl.map(|option| vec![option, value]);
        reason(&case.run(&ks)).to_string()
    };
    for (value, expected) in [
        ("www.example.com", "valid"),
        ("WWW.Example.COM", "valid"),
        ("a.wild.example.com", "valid"),
        ("wild.example.com", "hostname-mismatch"),
        ("a.b.wild.example.com", "hostname-mismatch"),
        ("cn.example.com", "hostname-mismatch"),
        ("example.com", "hostname-mismatch"),
    ] {
        assert_eq!(ask(&leaf, "--hostname", value, Some("-verify_hostname")), expected, "{value}");
    }
    // OpenSSL lets a wildcard stand over any two labels, and for an A-label; RFC 9525
    // and the CA/Browser Forum rules do not.
    assert_eq!(ask(&leaf, "--hostname", "victim.co.uk", None), "hostname-mismatch");
    assert_eq!(ask(&leaf, "--hostname", "xn--bcher-kva.wild.example.com", None), "hostname-mismatch");
    // OpenSSL falls back to the commonName when there is no DNS name; RFC 9525 §6.1 forbids it.
    assert_eq!(ask(&cn_only, "--hostname", "cn.example.com", None), "hostname-mismatch");
    // pyca's server verifier (RFC 9525 too, and the web-PKI profile) on every DNS case:
    // the same verdict, but for the two rules pyca does not apply (a wildcard over a
    // public suffix, a wildcard standing for an A-label), where it accepts.
    for (value, pyca_differs) in [
        ("www.example.com", false),
        ("a.wild.example.com", false),
        ("wild.example.com", false),
        ("a.b.wild.example.com", false),
        ("cn.example.com", false),
        ("victim.co.uk", true),
        ("xn--bcher-kva.wild.example.com", true),
    ] {
        let ours = ask(&leaf, "--hostname", value, None) == "valid";
        let pyca = pyca::server_verdict(&root, &[], &leaf, value, None);
        assert_eq!(ours != (pyca == "valid"), pyca_differs, "{value}: keyseal valid {ours}, pyca {pyca}");
    }
    for (value, expected) in [
        ("192.0.2.7", "valid"),
        ("192.0.2.8", "ip-mismatch"),
        ("2001:db8::7", "valid"),
        ("2001:0db8:0:0:0:0:0:7", "valid"),
        ("2001:db8::8", "ip-mismatch"),
    ] {
        assert_eq!(ask(&leaf, "--ip", value, Some("-verify_ip")), expected, "{value}");
    }
    for (value, expected) in
        [("Alice@Example.com", "valid"), ("Alice@EXAMPLE.COM", "valid"), ("alice@example.com", "email-mismatch")]
    {
        assert_eq!(ask(&leaf, "--email", value, Some("-verify_email")), expected, "{value}");
    }
    let text = ks.run(&["cert", "verify", path(&leaf), "--trust", path(&root), "--hostname", "a.wild.example.com"]);
    assert!(
        text.stdout.contains("valid for any at") && text.stdout.contains("good for a.wild.example.com"),
        "{}",
        text.stdout
    );
    let run = ks.run(&["cert", "verify", path(&leaf), "--trust", path(&root), "--hostname", "192.0.2.7"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--ip"), "{}", run.stderr);
    let both = ks.run(&["cert", "verify", path(&leaf), "--trust", path(&root), "--hostname", "a", "--ip", "192.0.2.7"]);
    assert_eq!(both.status, 2, "{}", both.stderr);
}

/// A wildcard SAN under name constraints: within a permitted tree it serves the names
/// there; reaching over an excluded name, it is refused whatever name is asked for, since
/// it would present the excluded one too. (OpenSSL accepts the excluded case: it does not
/// see that the wildcard covers the excluded name.)
#[test]
fn a_wildcard_is_held_to_name_constraints() {
    let ks = Keyseal::new();
    let o = Openssl::new(&ks);
    let root = o.root("root", "root", "/CN=Names Root", CA_EXT);
    let wildcard_leaf = |ca_name: &str, constraints: &str| {
        let ca = o.issue(
            ca_name,
            "ca",
            "/CN=Constrained CA",
            &root,
            "root",
            &format!("{CA_EXT}\nnameConstraints = critical, {constraints}"),
        );
        let extensions = format!("{LEAF_EXT}\nsubjectAltName = DNS:*.example.com").replace("codeSigning", "serverAuth");
        let leaf = o.issue(&format!("{ca_name}-leaf"), "leaf", "/CN=Wild", &ca, "ca", &extensions);
        (ca, leaf)
    };
    let verify = |ca: &Path, leaf: &Path, name: &'static str| {
        let mut case = Case::new(leaf, vec![ca], vec![&root]);
        case.extra = vec!["--hostname", name];
        case.openssl = None;
        case.run(&ks)
    };
    let (ca, leaf) = wildcard_leaf("permitting", "permitted;DNS:example.com");
    let allowed = verify(&ca, &leaf, "www.example.com");
    assert_eq!(reason(&allowed), "valid", "{allowed}");
    let (ca, leaf) = wildcard_leaf("excluding", "excluded;DNS:secret.example.com");
    for name in ["www.example.com", "secret.example.com"] {
        let refused = verify(&ca, &leaf, name);
        assert_eq!(reason(&refused), "name-constraint-violation", "{refused}");
    }
}

/// `--key-usage NAME` and `--eku OID`: what the leaf's keyUsage and the path's
/// extendedKeyUsage must allow beyond `--purpose`; a certificate without the extension
/// allows everything (RFC 5280 §4.2.1.3, §4.2.1.12). OpenSSL has no such flags.
#[test]
fn key_usages_and_purposes_asked_by_name_and_oid() {
    let ks = Keyseal::new();
    let o = Openssl::new(&ks);
    let root = o.root("root", "root", "/CN=Usage Root", CA_EXT);
    let web_ca =
        o.issue("web-ca", "ca", "/CN=Web CA", &root, "root", &format!("{CA_EXT}\nextendedKeyUsage = serverAuth"));
    let leaf_ext = "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid";
    let leaf = o.issue("leaf", "leaf", "/CN=Leaf", &root, "root", leaf_ext);
    let bare = o.issue(
        "bare",
        "leaf",
        "/CN=Bare",
        &root,
        "root",
        "basicConstraints = CA:FALSE\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid",
    );
    let under_web_ca = o.issue(
        "under",
        "leaf",
        "/CN=Under",
        &web_ca,
        "ca",
        "basicConstraints = CA:FALSE\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid",
    );
    let ask = |leaf: &Path, chain: Vec<&Path>, extra: Vec<&'static str>| {
        let mut case = Case::new(leaf, chain, vec![&root]);
        case.extra = extra;
        case.openssl = None;
        let report = case.run(&ks);
        (reason(&report).to_string(), report["message"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(ask(&leaf, vec![], vec!["--key-usage", "digitalSignature"]).0, "valid");
    let (refused, message) =
        ask(&leaf, vec![], vec!["--key-usage", "digitalSignature", "--key-usage", "keyEncipherment"]);
    assert_eq!(refused, "bad-key-usage");
    assert!(message.contains("keyEncipherment (--key-usage)"), "{message}");
    assert_eq!(ask(&bare, vec![], vec!["--key-usage", "keyEncipherment"]).0, "valid", "no keyUsage: unrestricted");
    assert_eq!(ask(&leaf, vec![], vec!["--eku", "1.3.6.1.5.5.7.3.1"]).0, "valid");
    let (refused, message) = ask(&leaf, vec![], vec!["--eku", "1.3.6.1.5.5.7.3.9"]);
    assert_eq!(refused, "missing-purpose");
    assert!(message.contains("1.3.6.1.5.5.7.3.9 (--eku)"), "{message}");
    assert_eq!(ask(&bare, vec![], vec!["--eku", "1.3.6.1.5.5.7.3.9"]).0, "valid", "no extendedKeyUsage: unrestricted");
    let (refused, message) = ask(&under_web_ca, vec![&web_ca], vec!["--eku", "1.3.6.1.5.5.7.3.9"]);
    assert_eq!(refused, "missing-purpose", "an intermediate's extendedKeyUsage binds too");
    assert!(message.contains("Web CA"), "{message}");
    let bad = ks.run(&["cert", "verify", path(&leaf), "--trust", path(&root), "--key-usage", "signing"]);
    assert_eq!(bad.status, 2);
    assert!(bad.stderr.contains("digitalSignature"), "the error lists the names: {}", bad.stderr);
}

/// `--profile web-pki` (the default for `--purpose server --hostname`): the CA/Browser
/// Forum Baseline Requirements on top of RFC 5280, one defect per chain, each refused
/// with its reason and BR section; pyca `cryptography`'s server verifier is asked the
/// same question and must agree on the verdict, except where it checks less (said at
/// the case). `--profile rfc5280` turns the rules off.
#[test]
fn the_web_pki_profile_agrees_with_pyca() {
    let ks = Keyseal::new();
    let o = Openssl::new(&ks);
    let root = o.root("root", "root", "/CN=Web Root", CA_EXT);
    let ca_ext = format!("{CA_EXT}\nextendedKeyUsage = serverAuth");
    let ca = o.issue_for("365", "ca", "ca", "/CN=Web CA", &root, "root", &ca_ext);
    let leaf_ext = "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:www.example.com\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid";
    o.run(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", path(&o.file("rsa1024.key"))]);
    o.run(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:secp256k1",
        "-out",
        path(&o.file("k256.key")),
    ]);
    let cases: Vec<(&str, &str, String, &str, &str, bool)> = vec![
        // (name, key, extensions, days, keyseal's reason, pyca refuses too). pyca's server
        // verifier holds the chain's signature algorithms to the web PKI's, but not the
        // leaf's own key (RSA-1024 and secp256k1 leaves pass it), nor validity limits.
        ("good", "leaf", leaf_ext.into(), "90", "valid", false),
        // pyca reads a missing extendedKeyUsage as RFC 5280 does (any purpose); BR
        // 7.1.2.7.10 requires one in a server certificate.
        (
            "no-eku",
            "leaf",
            leaf_ext.replace("extendedKeyUsage = serverAuth\n", ""),
            "90",
            "missing-server-purpose",
            false,
        ),
        (
            "ca-leaf",
            "leaf",
            leaf_ext.replace("CA:FALSE", "CA:TRUE").replace("digitalSignature", "digitalSignature, keyCertSign"),
            "90",
            "ca-as-end-entity",
            true,
        ),
        // pyca does not look at authorityCertIssuer and authorityCertSerialNumber; BR
        // 7.1.2.11.1 forbids them.
        (
            "aki-issuer",
            "leaf",
            leaf_ext.replace("authorityKeyIdentifier = keyid", "authorityKeyIdentifier = keyid, issuer:always"),
            "90",
            "malformed-extension",
            false,
        ),
        ("rsa-1024", "rsa1024", leaf_ext.into(), "90", "weak-key", false),
        ("secp256k1", "k256", leaf_ext.into(), "90", "weak-key", false),
        // pyca does not check the Baseline Requirements' validity limits.
        ("too-long", "leaf", leaf_ext.into(), "250", "validity-too-long", false),
        // pyca lets other purposes stand beside serverAuth; BR 7.1.2.7.10 forbids these.
        (
            "eku-code-signing-too",
            "leaf",
            leaf_ext.replace("= serverAuth", "= serverAuth, codeSigning"),
            "90",
            "forbidden-purpose",
            false,
        ),
        (
            "eku-critical",
            "leaf",
            leaf_ext.replace("= serverAuth", "= critical, serverAuth"),
            "90",
            "forbidden-purpose",
            true,
        ),
        (
            "san-critical-beside-a-subject",
            "leaf",
            leaf_ext.replace("subjectAltName = DNS", "subjectAltName = critical, DNS"),
            "90",
            "bad-criticality",
            true,
        ),
    ];
    for (name, key, extensions, days, expected, pyca_refuses) in cases {
        let leaf = o.issue_for(days, name, key, "/CN=www.example.com", &ca, "ca", &extensions);
        let mut case = Case::new(&leaf, vec![&ca], vec![&root]);
        case.purpose = "server";
        case.extra = vec!["--hostname", "www.example.com"];
        case.openssl = None;
        let report = case.run(&ks);
        assert_eq!(reason(&report), expected, "{name}: {report}");
        if expected != "valid" {
            assert!(report["message"].as_str().unwrap().contains("BR "), "{name} names its rule: {report}");
            let mut lenient = Case::new(&leaf, vec![&ca], vec![&root]);
            lenient.purpose = "server";
            lenient.extra = vec!["--hostname", "www.example.com", "--profile", "rfc5280"];
            lenient.openssl = None;
            let relaxed = reason(&lenient.run(&ks)).to_string();
            assert!(relaxed == "valid" || name == "ca-leaf" || name == "no-eku", "{name} under rfc5280: {relaxed}");
        }
        let pyca = pyca::server_verdict(&root, &[&ca], &leaf, "www.example.com", None);
        let pyca_valid = pyca == "valid";
        assert_eq!(pyca_valid, expected == "valid" || !pyca_refuses, "{name}: pyca says {pyca}");
    }
    // A subordinate CA whose extendedKeyUsage leaves out serverAuth.
    let signing_ca = o.issue_for(
        "365",
        "signing-ca",
        "ca2",
        "/CN=Signing CA",
        &root,
        "root",
        &format!("{CA_EXT}\nextendedKeyUsage = codeSigning"),
    );
    let leaf = o.issue_for("90", "under-signing", "leaf", "/CN=www.example.com", &signing_ca, "ca2", leaf_ext);
    let mut case = Case::new(&leaf, vec![&signing_ca], vec![&root]);
    case.purpose = "server";
    case.extra = vec!["--hostname", "www.example.com"];
    case.openssl = None;
    assert_eq!(reason(&case.run(&ks)), "missing-server-purpose");
    assert_ne!(pyca::server_verdict(&root, &[&signing_ca], &leaf, "www.example.com", None), "valid");
    web_pki_common_names_roots_and_ca_key_usage(&ks, &o, &root, &ca, leaf_ext);
}

/// The rest of the web-PKI profile against pyca: a commonName spelling the SAN's name in
/// another case is refused (BR 7.1.4.3; pyca does not read the commonName), also for
/// `--ip`, which makes web-pki the default too; a CA's keyUsage need not be critical (as
/// pyca); a root with an extendedKeyUsage is refused (BR 7.1.2.1.2; pyca lets it be).
fn web_pki_common_names_roots_and_ca_key_usage(ks: &Keyseal, o: &Openssl, root: &Path, ca: &Path, leaf_ext: &str) {
    let server = |leaf: &Path, chain: Vec<&Path>, trust: &Path, extra: Vec<&'static str>| {
        let mut case = Case::new(leaf, chain, vec![trust]);
        case.purpose = "server";
        case.extra = extra;
        case.openssl = None;
        reason(&case.run(ks)).to_string()
    };
    let shouting = o.issue_for("90", "shouting", "leaf", "/CN=WWW.Example.com", ca, "ca", leaf_ext);
    assert_eq!(server(&shouting, vec![ca], root, vec!["--hostname", "www.example.com"]), "common-name-mismatch");
    assert_eq!(pyca::server_verdict(root, &[ca], &shouting, "www.example.com", None), "valid");
    let by_ip = leaf_ext.replace("DNS:www.example.com", "IP:192.0.2.7");
    let octal = o.issue_for("90", "octal", "leaf", "/CN=192.0.2.007", ca, "ca", &by_ip);
    assert_eq!(server(&octal, vec![ca], root, vec!["--ip", "192.0.2.7"]), "common-name-mismatch");
    assert_eq!(server(&octal, vec![ca], root, vec!["--ip", "192.0.2.7", "--profile", "rfc5280"]), "valid");
    let soft_ku = CA_EXT.replace("keyUsage = critical,", "keyUsage =") + "\nextendedKeyUsage = serverAuth";
    let soft_ca = o.issue_for("365", "soft-ca", "ca3", "/CN=Soft CA", root, "root", &soft_ku);
    let leaf = o.issue_for("90", "under-soft", "leaf", "/CN=www.example.com", &soft_ca, "ca3", leaf_ext);
    assert_eq!(server(&leaf, vec![&soft_ca], root, vec!["--hostname", "www.example.com"]), "valid");
    assert_eq!(pyca::server_verdict(root, &[&soft_ca], &leaf, "www.example.com", None), "valid");
    let purposeful_root =
        o.root("eku-root", "root", "/CN=Web Root", &format!("{CA_EXT}\nextendedKeyUsage = serverAuth"));
    let leaf = o.issue_for("90", "under-eku-root", "leaf", "/CN=www.example.com", &purposeful_root, "root", leaf_ext);
    assert_eq!(server(&leaf, vec![], &purposeful_root, vec!["--hostname", "www.example.com"]), "misplaced-extension");
    assert_eq!(pyca::server_verdict(&purposeful_root, &[], &leaf, "www.example.com", None), "valid");
}

/// `--profile smime` (the default for `--purpose email` with `--email`): the S/MIME
/// Baseline Requirements on top of RFC 5280, one defect per chain, each refused with its
/// reason and section; OpenSSL (`-purpose smimesign -verify_email`) accepts the good
/// chain too. `--profile rfc5280` lets each defect through.
#[test]
fn the_s_mime_profile_holds_mailbox_certificates_to_the_s_mime_baseline_requirements() {
    let ks = Keyseal::new();
    let o = Openssl::new(&ks);
    let root = o.root("root", "root", "/CN=Mail Root", CA_EXT);
    let ca = o.issue_for(
        "365",
        "ca",
        "ca",
        "/CN=Mail CA",
        &root,
        "root",
        &format!("{CA_EXT}\nextendedKeyUsage = emailProtection"),
    );
    let leaf_ext = "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = emailProtection\nsubjectAltName = email:alice@example.com\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid";
    let cases: Vec<(&str, String, &str)> = vec![
        ("good", leaf_ext.into(), "valid"),
        (
            "server-auth-too",
            leaf_ext.replace("= emailProtection", "= emailProtection, serverAuth"),
            "forbidden-purpose",
        ),
        ("client-auth-only", leaf_ext.replace("= emailProtection", "= clientAuth"), "missing-email-purpose"),
        (
            "no-key-usage",
            leaf_ext.replace("keyUsage = critical, digitalSignature, keyEncipherment\n", ""),
            "missing-extension",
        ),
        (
            "san-critical",
            leaf_ext.replace("subjectAltName = email", "subjectAltName = critical, email"),
            "bad-criticality",
        ),
        ("crl-sign", leaf_ext.replace("keyEncipherment", "keyEncipherment, cRLSign"), "bad-key-usage"),
        (
            "a-ca",
            leaf_ext
                .replace("critical, CA:FALSE", "critical, CA:TRUE")
                .replace("keyEncipherment", "keyEncipherment, keyCertSign"),
            "ca-as-end-entity",
        ),
    ];
    for (name, extensions, expected) in cases {
        let leaf = o.issue_for("90", name, "leaf", "/CN=Alice", &ca, "ca", &extensions);
        let mut case = Case::new(&leaf, vec![&ca], vec![&root]);
        case.purpose = "email";
        case.extra = vec!["--email", "alice@example.com"];
        case.openssl =
            (expected == "valid").then(|| vec!["-purpose", "smimesign", "-verify_email", "alice@example.com"]);
        let report = case.run(&ks);
        assert_eq!(reason(&report), expected, "{name}: {report}");
        if expected != "valid" {
            assert!(report["message"].as_str().unwrap().contains("S/MIME BR "), "{name} names its rule: {report}");
            let mut lenient = Case::new(&leaf, vec![&ca], vec![&root]);
            lenient.purpose = "email";
            lenient.extra = vec!["--email", "alice@example.com", "--profile", "rfc5280"];
            lenient.openssl = None;
            let relaxed = reason(&lenient.run(&ks)).to_string();
            assert!(relaxed == "valid" || name == "client-auth-only", "{name} under rfc5280: {relaxed}");
        }
    }
    // A CA without cRLSign, one whose extendedKeyUsage is for TLS, one for both.
    for (name, ca_ext, expected) in [
        ("no-crl-sign", CA_EXT.replace("keyCertSign, cRLSign", "keyCertSign"), "bad-key-usage"),
        ("tls-ca", format!("{CA_EXT}\nextendedKeyUsage = serverAuth"), "missing-email-purpose"),
        ("tls-and-mail-ca", format!("{CA_EXT}\nextendedKeyUsage = emailProtection, serverAuth"), "forbidden-purpose"),
    ] {
        let other_ca = o.issue_for("365", name, "ca2", "/CN=Other Mail CA", &root, "root", &ca_ext);
        let leaf = o.issue_for("90", &format!("under-{name}"), "leaf", "/CN=Alice", &other_ca, "ca2", leaf_ext);
        let mut case = Case::new(&leaf, vec![&other_ca], vec![&root]);
        case.purpose = "email";
        case.extra = vec!["--email", "alice@example.com"];
        case.openssl = None;
        assert_eq!(reason(&case.run(&ks)), expected, "{name}");
    }
    // A root anchor with an extendedKeyUsage (7.1.2.1 (d)).
    let purposeful_root =
        o.root("eku-root", "root", "/CN=Mail Root", &format!("{CA_EXT}\nextendedKeyUsage = emailProtection"));
    let leaf = o.issue_for("90", "under-eku-root", "leaf", "/CN=Alice", &purposeful_root, "root", leaf_ext);
    let mut case = Case::new(&leaf, vec![], vec![&purposeful_root]);
    case.purpose = "email";
    case.extra = vec!["--email", "alice@example.com"];
    case.openssl = None;
    assert_eq!(reason(&case.run(&ks)), "misplaced-extension");
}
