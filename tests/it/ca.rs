//! The mini-CA end to end through the binary, checked by OpenSSL: for each CA key spec and
//! signature algorithm, a root, an intermediate and a code-signing leaf that
//! `openssl verify` accepts, showing the subject, purpose and dates asked for; CRLs that
//! `openssl crl -verify` accepts and that list the revoked serial; CSRs from
//! `openssl req`; and every refusal by its code.

use crate::common::path;

use crate::common::{Keyseal, Run, peer};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn ok(run: Run) -> Run {
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    run
}

/// The `[code]` of a failed non-KMS command.
fn code(run: &Run) -> String {
    assert_eq!(run.status, 2, "expected a refusal: {}\n{}", run.stdout, run.stderr);
    let start = run.stderr.find('[').expect("an error code") + 1;
    let end = run.stderr[start..].find(']').unwrap() + start;
    run.stderr[start..end].to_string()
}

struct Pki {
    ks: Keyseal,
    root: PathBuf,
    intermediate: PathBuf,
    leaf: PathBuf,
    leaf_serial: String,
}

fn openssl_text(cert: &Path) -> String {
    let (ok, text) = peer("openssl", &["x509", "-in", path(cert), "-noout", "-text", "-nameopt", "RFC2253"]);
    assert!(ok, "{text}");
    text
}

/// Builds root → intermediate → code-signing leaf, every CA key of `spec` signing with
/// `algorithm`.
fn build_pki(spec: &str, algorithm: &str) -> Pki {
    let ks = Keyseal::new();
    let (root_key, root_version) = ks.create_key(spec, "SIGN/VERIFY");
    let (inter_key, inter_version) = ks.create_key(spec, "SIGN/VERIFY");
    let (leaf_key, leaf_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (root, intermediate, leaf) = (ks.file("root.pem"), ks.file("intermediate.pem"), ks.file("leaf.pem"));
    ok(ks.run(&[
        "ca",
        "init",
        "--name",
        "root",
        "--key-id",
        &root_key,
        "--key-version-id",
        &root_version,
        "--algorithm",
        algorithm,
        "--subject",
        "CN=Example Root CA,O=Example Corp,OU=Security,C=NL,ST=Noord-Holland,L=Amsterdam,emailAddress=pki@example.com",
        "--days",
        "3650",
        "--path-len",
        "1",
        "--out",
        path(&root),
    ]));
    ok(ks.run(&[
        "ca",
        "issue",
        "--ca",
        "root",
        "--profile",
        "intermediate-ca",
        "--name",
        "release-ca",
        "--key-id",
        &inter_key,
        "--key-version-id",
        &inter_version,
        "--algorithm",
        algorithm,
        "--subject",
        "CN=Example Release CA,O=Example Corp",
        "--days",
        "1825",
        "--path-len",
        "0",
        "--crl-url",
        "http://pki.example.com/release-ca.crl",
        "--out",
        path(&intermediate),
    ]));
    let issued = ok(ks.run(&[
        "ca",
        "issue",
        "--ca",
        "release-ca",
        "--profile",
        "code-signing",
        "--key-id",
        &leaf_key,
        "--key-version-id",
        &leaf_version,
        "--subject",
        "CN=Release Signing,O=Example Corp",
        "--not-after",
        "2027-06-30T12:00:00Z",
        "--san",
        "email:release@example.com",
        "--out",
        path(&leaf),
        "--json",
    ]))
    .json();
    let leaf_serial = issued["certificate"]["serial"].as_str().unwrap().to_string();
    Pki { ks, root, intermediate, leaf, leaf_serial }
}

fn check_chain(pki: &Pki, algorithm: &str) {
    let (verified, text) = peer(
        "openssl",
        &["verify", "-x509_strict", "-CAfile", path(&pki.root), "-untrusted", path(&pki.intermediate), path(&pki.leaf)],
    );
    assert!(verified, "{algorithm}: openssl verify: {text}");
    // `-purpose codesign` exists from OpenSSL 3.2; before that, check the EKU explicitly.
    let (purpose_ok, purpose_text) = peer(
        "openssl",
        &[
            "verify",
            "-purpose",
            "codesign",
            "-CAfile",
            path(&pki.root),
            "-untrusted",
            path(&pki.intermediate),
            path(&pki.leaf),
        ],
    );
    if !purpose_text.contains("Invalid purpose") {
        assert!(purpose_ok, "{purpose_text}");
    }
    let leaf = openssl_text(&pki.leaf);
    assert!(leaf.contains("Subject: CN=Release Signing,O=Example Corp"), "{leaf}");
    assert!(leaf.contains("Issuer: CN=Example Release CA,O=Example Corp"), "{leaf}");
    assert!(leaf.contains("Not After : Jun 30 12:00:00 2027 GMT"), "{leaf}");
    assert!(leaf.contains("X509v3 Extended Key Usage: \n                Code Signing"), "{leaf}");
    assert!(leaf.contains("X509v3 Key Usage: critical\n                Digital Signature"), "{leaf}");
    assert!(leaf.contains("CA:FALSE"), "{leaf}");
    assert!(leaf.contains("email:release@example.com"), "{leaf}");
    assert!(leaf.contains("URI:http://pki.example.com/release-ca.crl"), "{leaf}");
    assert!(leaf.contains("X509v3 Authority Key Identifier"), "{leaf}");
    let root = openssl_text(&pki.root);
    for part in [
        "CN=Example Root CA",
        "O=Example Corp",
        "OU=Security",
        "C=NL",
        "ST=Noord-Holland",
        "L=Amsterdam",
        "pki@example.com",
    ] {
        assert!(root.contains(part), "root lacks {part}: {root}");
    }
    assert!(root.contains("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:1"), "{root}");
    assert!(root.contains("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"), "{root}");
    assert!(root.contains("X509v3 Subject Key Identifier"), "{root}");
    let intermediate = openssl_text(&pki.intermediate);
    assert!(intermediate.contains("CA:TRUE, pathlen:0"), "{intermediate}");
    let expected = match algorithm {
        "RSA_PSS_SHA_256" => "Signature Algorithm: rsassaPss",
        "RSA_PKCS1_SHA_256" => "Signature Algorithm: sha256WithRSAEncryption",
        _ => "Signature Algorithm: ecdsa-with-SHA256",
    };
    assert!(root.contains(expected) && intermediate.contains(expected), "{algorithm}: {root}");
    if algorithm == "RSA_PSS_SHA_256" {
        assert!(root.contains("Salt Length: 0x20") && root.contains("Mask Algorithm: mgf1 with sha256"), "{root}");
    }
}

fn check_crl(pki: &Pki) {
    ok(pki.ks.run(&["ca", "revoke", "--ca", "release-ca", "--serial", &pki.leaf_serial, "--reason", "key-compromise"]));
    let (crl, crl_der) = (pki.ks.file("release-ca.crl.pem"), pki.ks.file("release-ca.crl"));
    let written = ok(pki.ks.run(&["ca", "crl", "--ca", "release-ca", "--out", path(&crl), "--der", path(&crl_der)]));
    // Both files it wrote are named (issue 13 item 10).
    let both = format!("{} (PEM) and {} (DER)", crl.display(), crl_der.display());
    assert!(written.stdout.contains(&both), "{}", written.stdout);
    let (verified, text) =
        peer("openssl", &["crl", "-in", path(&crl), "-CAfile", path(&pki.intermediate), "-verify", "-noout", "-text"]);
    assert!(verified && text.contains("verify OK"), "{text}");
    assert!(text.contains(&format!("Serial Number: {}", pki.leaf_serial)), "{text}");
    assert!(text.contains("Key Compromise") && text.contains("X509v3 CRL Number: \n                1"), "{text}");
    assert!(text.contains("Next Update"), "{text}");
    let (der_ok, der_text) = peer("openssl", &["crl", "-inform", "DER", "-in", path(&crl_der), "-noout", "-crlnumber"]);
    assert!(der_ok && (der_text.contains("crlNumber=01") || der_text.contains("crlNumber=0x01")), "{der_text}");
    let chain = pki.ks.file("cas.pem");
    std::fs::write(&chain, [std::fs::read(&pki.root).unwrap(), std::fs::read(&pki.intermediate).unwrap()].concat())
        .unwrap();
    let (accepted, text) =
        peer("openssl", &["verify", "-crl_check", "-CAfile", path(&chain), "-CRLfile", path(&crl), path(&pki.leaf)]);
    assert!(!accepted && text.contains("certificate revoked"), "{text}");
    // The next CRL has the next number.
    ok(pki.ks.run(&["ca", "crl", "--ca", "release-ca", "--out", path(&crl)]));
    let (_, text) = peer("openssl", &["crl", "-in", path(&crl), "-noout", "-crlnumber"]);
    assert!(text.contains("crlNumber=02") || text.contains("crlNumber=0x02"), "{text}");
}

#[test]
fn rsa_pkcs1_chain_and_crl() {
    let pki = build_pki("RSA_2048", "RSA_PKCS1_SHA_256");
    check_chain(&pki, "RSA_PKCS1_SHA_256");
    check_crl(&pki);
}

#[test]
fn rsa_pss_chain_and_crl() {
    let pki = build_pki("RSA_2048", "RSA_PSS_SHA_256");
    check_chain(&pki, "RSA_PSS_SHA_256");
    check_crl(&pki);
}

#[test]
fn p256_chain_and_crl() {
    let pki = build_pki("EC_P256", "ECDSA_SHA_256");
    check_chain(&pki, "ECDSA_SHA_256");
    check_crl(&pki);
}

#[test]
fn secp256k1_chain_and_crl() {
    let pki = build_pki("EC_P256K", "ECDSA_SHA_256");
    check_chain(&pki, "ECDSA_SHA_256");
    check_crl(&pki);
}

#[test]
fn index_audit_and_serials() {
    let pki = build_pki("EC_P256", "ECDSA_SHA_256");
    let listed = pki.ks.ok(&["ca", "list", "--json"]);
    let names: Vec<&str> = listed["cas"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["release-ca", "root"]);
    let certs = listed["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 3);
    let leaf = certs.iter().find(|c| c["profile"] == "code-signing").unwrap();
    assert_eq!(leaf["caName"], "release-ca");
    assert_eq!(leaf["status"], "valid");
    assert!(leaf["keyId"].is_string() && leaf["keyVersionId"].is_string());
    for cert in certs {
        let serial = hex::decode(cert["serial"].as_str().unwrap()).unwrap();
        assert!(serial.len() >= 16 && serial[0] & 0x80 == 0 && serial[0] != 0, "positive, at least 16 bytes: {cert}");
    }
    // A set, not `dedup()`: dedup only drops neighbours, so two certificates sharing a
    // serial in an unsorted listing would pass.
    let serials: std::collections::HashSet<&str> = certs.iter().map(|c| c["serial"].as_str().unwrap()).collect();
    assert_eq!(serials.len(), certs.len(), "every certificate has its own serial: {certs:?}");
    let shown = pki.ks.run(&["ca", "show", "--serial", &pki.leaf_serial.to_lowercase(), "--pem"]);
    assert_eq!(ok(shown).stdout, std::fs::read_to_string(&pki.leaf).unwrap());
    assert_eq!(pki.ks.ok(&["ca", "show", "--ca", "root", "--json"])["certificate"]["profile"], "root-ca");
    ok(pki.ks.run(&["ca", "revoke", "--ca", "release-ca", "--serial", &pki.leaf_serial, "--reason", "superseded"]));
    let again =
        pki.ks.run(&["ca", "revoke", "--ca", "release-ca", "--serial", &pki.leaf_serial, "--reason", "superseded"]);
    assert_eq!(code(&again), "already-revoked");
    assert_eq!(
        code(&pki.ks.run(&["ca", "revoke", "--ca", "root", "--serial", &pki.leaf_serial])),
        "certificate-not-found",
        "root did not issue the leaf"
    );
    assert_eq!(
        code(&pki.ks.run(&["ca", "revoke", "--ca", "release-ca", "--serial", "zz"])),
        "bad-input",
        "not the chain rule's bad-serial"
    );
    assert_eq!(
        code(&pki.ks.run(&["ca", "revoke", "--ca", "release-ca", "--serial", "01", "--reason", "bored"])),
        "bad-reason"
    );
    let audit: Value = pki.ks.ok(&["audit", "list", "--json"]);
    let events: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["Detail"].is_string())
        .map(|e| (e["Action"].as_str().unwrap(), e["Detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events.iter().map(|e| e.0).collect::<Vec<_>>(),
        ["InitCa", "IssueCertificate", "IssueCertificate", "RevokeCertificate"]
    );
    assert!(events[2].1.contains(&pki.leaf_serial) && events[2].1.contains("profile=code-signing"), "{events:?}");
    assert!(events[3].1.contains("reason=superseded"));
    assert_eq!(pki.ks.run(&["audit", "verify"]).status, 0);
}

#[test]
fn csrs_from_openssl_are_issued_and_broken_ones_refused() {
    let pki = build_pki("EC_P256", "ECDSA_SHA_256");
    let (key, csr) = (pki.ks.file("web.key"), pki.ks.file("web.csr"));
    for (curve_args, name) in
        [(vec!["-newkey", "rsa:2048"], "rsa"), (vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "ec")]
    {
        let mut args = vec![
            "req",
            "-new",
            "-nodes",
            "-keyout",
            path(&key),
            "-out",
            path(&csr),
            "-subj",
            "/CN=web.example.com/O=Example Corp",
        ];
        args.extend(curve_args);
        let (made, text) = peer("openssl", &args);
        assert!(made, "{text}");
        let cert = pki.ks.file(&format!("web-{name}.pem"));
        ok(pki.ks.run(&[
            "ca",
            "issue",
            "--ca",
            "release-ca",
            "--profile",
            "server",
            "--csr",
            path(&csr),
            "--san",
            "dns:web.example.com",
            "--san",
            "ip:10.0.0.7",
            "--days",
            "90",
            "--out",
            path(&cert),
        ]));
        let text = openssl_text(&cert);
        assert!(
            text.contains("Subject: O=Example Corp,CN=web.example.com")
                && text.contains("TLS Web Server Authentication"),
            "the CSR's subject, as it was: {text}"
        );
        assert!(text.contains("DNS:web.example.com") && text.contains("IP Address:10.0.0.7"), "{text}");
        if name == "rsa" {
            assert!(text.contains("Digital Signature, Key Encipherment"), "{text}");
        }
        let (verified, out) = peer(
            "openssl",
            &[
                "verify",
                "-CAfile",
                path(&pki.root),
                "-untrusted",
                path(&pki.intermediate),
                "-purpose",
                "sslserver",
                path(&cert),
            ],
        );
        assert!(verified, "{out}");
    }
    // Change one byte of the signed part: the self-signature no longer verifies.
    let (_, der) = der::pem::decode_vec(&std::fs::read(&csr).unwrap()).unwrap();
    let mut broken = der.clone();
    let position = broken.windows(15).position(|w| w == b"web.example.com").unwrap();
    broken[position] = b'x';
    let broken_path = pki.ks.file("broken.csr");
    std::fs::write(
        &broken_path,
        der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &broken).unwrap(),
    )
    .unwrap();
    let refused = pki.ks.run(&[
        "ca",
        "issue",
        "--ca",
        "release-ca",
        "--profile",
        "server",
        "--csr",
        path(&broken_path),
        "--out",
        path(&pki.ks.file("x.pem")),
    ]);
    assert_eq!(code(&refused), "bad-csr");
    assert!(refused.stderr.contains("self-signature"), "{}", refused.stderr);
    std::fs::write(&broken_path, "not a csr").unwrap();
    assert_eq!(
        code(&pki.ks.run(&[
            "ca",
            "issue",
            "--ca",
            "release-ca",
            "--profile",
            "server",
            "--csr",
            path(&broken_path),
            "--out",
            path(&pki.ks.file("x.pem"))
        ])),
        "bad-csr"
    );
    // A CSR's subject may be replaced, and a SAN that does not fit the profile is refused.
    let refused = pki.ks.run(&[
        "ca",
        "issue",
        "--ca",
        "release-ca",
        "--profile",
        "server",
        "--csr",
        path(&csr),
        "--san",
        "email:a@example.com",
        "--out",
        path(&pki.ks.file("x.pem")),
    ]);
    assert_eq!(code(&refused), "bad-san");
    assert!(!pki.ks.file("x.pem").exists());
}

#[test]
fn refusals_with_clear_errors() {
    let ks = Keyseal::new();
    let (root_key, root_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let out = ks.file("out.pem");
    let init = |extra: &[&str]| {
        let mut args = vec![
            "ca",
            "init",
            "--name",
            "root",
            "--key-id",
            &root_key,
            "--key-version-id",
            &root_version,
            "--subject",
            "CN=Root",
            "--days",
            "30",
            "--out",
            path(&out),
        ];
        args.extend_from_slice(extra);
        ks.run(&args)
    };
    // A disabled CA key.
    ks.ok(&["kms", "disable-key", "--key-id", &root_key]);
    assert_eq!(code(&init(&[])), "Rejected.Disabled");
    ks.ok(&["kms", "enable-key", "--key-id", &root_key]);
    // An ENCRYPT/DECRYPT key.
    let (enc_key, enc_version) = ks.create_key("RSA_2048", "ENCRYPT/DECRYPT");
    let refused = ks.run(&[
        "ca",
        "init",
        "--name",
        "enc",
        "--key-id",
        &enc_key,
        "--key-version-id",
        &enc_version,
        "--subject",
        "CN=Root",
        "--out",
        path(&out),
    ]);
    assert_eq!(code(&refused), "Rejected.UnsupportedOperation");
    assert_eq!(code(&init(&["--algorithm", "RSA_PSS_SHA_256"])), "Rejected.UnsupportedOperation");
    assert_eq!(
        code(&ks.run(&[
            "ca",
            "init",
            "--name",
            "root",
            "--key-id",
            &root_key,
            "--key-version-id",
            &root_version,
            "--subject",
            "Root",
            "--out",
            path(&out)
        ])),
        "bad-subject"
    );
    assert!(!out.exists(), "no refusal wrote a certificate");

    ok(init(&[]));
    assert_eq!(code(&init(&[])), "ca-exists");
    let (leaf_key, leaf_version) = ks.create_key("EC_P256K", "SIGN/VERIFY");
    let issue = |extra: &[&str]| {
        let mut args = vec![
            "ca",
            "issue",
            "--ca",
            "root",
            "--profile",
            "code-signing",
            "--key-id",
            &leaf_key,
            "--key-version-id",
            &leaf_version,
            "--subject",
            "CN=Leaf",
        ];
        args.extend_from_slice(extra);
        if !extra.contains(&"--out") {
            args.extend(["--out", path(&out)]);
        }
        ks.run(&args)
    };
    // A leaf that would outlive its 30-day issuer: refused, or clamped when asked.
    let refused = issue(&["--days", "31"]);
    assert_eq!(code(&refused), "outlives-issuer");
    assert!(refused.stderr.contains("--clamp"), "{}", refused.stderr);
    let clamped = ok(issue(&["--days", "31", "--clamp", "--json"]));
    assert!(clamped.stderr.contains("clamped"), "the clamp is said: {}", clamped.stderr);
    let root_record = ks.ok(&["ca", "show", "--ca", "root", "--json"]);
    assert_eq!(clamped.json()["certificate"]["notAfter"], root_record["certificate"]["notAfter"]);
    // Times in JSON are RFC 3339, as everywhere else keyseal prints one.
    for field in ["notBefore", "notAfter", "issued"] {
        let time = clamped.json()["certificate"][field].as_str().map(String::from).unwrap_or_default();
        assert!(time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T', "{field}: {time:?}");
    }
    // Unknown profile, unknown CA, intermediate without a name, pathLen 0.
    let unknown = ks.run(&[
        "ca",
        "issue",
        "--ca",
        "root",
        "--profile",
        "wizard",
        "--key-id",
        &leaf_key,
        "--key-version-id",
        &leaf_version,
        "--subject",
        "CN=x",
        "--out",
        path(&out),
    ]);
    assert_eq!(unknown.status, 2);
    assert!(
        unknown.stderr.contains("code-signing") && unknown.stderr.contains("intermediate-ca"),
        "lists the profiles: {}",
        unknown.stderr
    );
    assert_eq!(
        code(&ks.run(&[
            "ca",
            "issue",
            "--ca",
            "nobody",
            "--profile",
            "client",
            "--key-id",
            &leaf_key,
            "--key-version-id",
            &leaf_version,
            "--subject",
            "CN=x",
            "--out",
            path(&out)
        ])),
        "ca-not-found"
    );
    let nameless = ks.run(&[
        "ca",
        "issue",
        "--ca",
        "root",
        "--profile",
        "intermediate-ca",
        "--key-id",
        &leaf_key,
        "--key-version-id",
        &leaf_version,
        "--subject",
        "CN=x",
        "--days",
        "10",
        "--out",
        path(&out),
    ]);
    assert_eq!(code(&nameless), "missing-name");
    let (sub_key, sub_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    ok(ks.run(&[
        "ca",
        "issue",
        "--ca",
        "root",
        "--profile",
        "intermediate-ca",
        "--name",
        "sub",
        "--path-len",
        "0",
        "--key-id",
        &sub_key,
        "--key-version-id",
        &sub_version,
        "--subject",
        "CN=Sub",
        "--days",
        "10",
        "--out",
        path(&out),
    ]));
    let deeper = ks.run(&[
        "ca",
        "issue",
        "--ca",
        "sub",
        "--profile",
        "intermediate-ca",
        "--name",
        "deeper",
        "--key-id",
        &leaf_key,
        "--key-version-id",
        &leaf_version,
        "--subject",
        "CN=Deeper",
        "--days",
        "5",
        "--out",
        path(&out),
    ]);
    assert_eq!(code(&deeper), "path-length-exceeded");

    // An issuer certificate that is not a CA: a leaf imported as one is refused.
    let leaf_pem = ks.file("leaf.pem");
    ok(issue(&["--days", "5", "--out", path(&leaf_pem)]));
    let refused = ks.run(&[
        "ca",
        "import",
        "--name",
        "fake",
        "--cert",
        path(&leaf_pem),
        "--key-id",
        &leaf_key,
        "--key-version-id",
        &leaf_version,
    ]);
    assert_eq!(code(&refused), "not-a-ca");
    assert!(refused.stderr.contains("CN=Leaf"), "names the certificate: {}", refused.stderr);
    // Importing the real sub-CA under another name with the wrong key is refused too.
    let sub_pem = ks.file("sub.pem");
    std::fs::write(&sub_pem, ok(ks.run(&["ca", "show", "--ca", "sub", "--pem"])).stdout).unwrap();
    assert_eq!(
        code(&ks.run(&[
            "ca",
            "import",
            "--name",
            "sub2",
            "--cert",
            path(&sub_pem),
            "--key-id",
            &root_key,
            "--key-version-id",
            &root_version
        ])),
        "key-mismatch"
    );
    ok(ks.run(&[
        "ca",
        "import",
        "--name",
        "sub2",
        "--cert",
        path(&sub_pem),
        "--key-id",
        &sub_key,
        "--key-version-id",
        &sub_version,
    ]));
}

/// A CSR for `subject` from `openssl req`, its key made by `openssl genpkey` with
/// `keygen` and then passed through `convert` (`openssl ec ...`) when given, with `extra`
/// arguments for `req` (such as `-addext`).
fn openssl_csr(ks: &Keyseal, name: &str, keygen: &[&str], convert: &[&str], subject: &str, extra: &[&str]) -> PathBuf {
    let (key, csr) = (ks.file(&format!("{name}.key")), ks.file(&format!("{name}.csr")));
    let mut args = vec!["genpkey", "-out", path(&key)];
    args.extend_from_slice(keygen);
    let (made, text) = peer("openssl", &args);
    assert!(made, "openssl {args:?}: {text}");
    if !convert.is_empty() {
        let mut args = vec!["ec", "-in", path(&key), "-out", path(&key)];
        args.extend_from_slice(convert);
        let (converted, text) = peer("openssl", &args);
        assert!(converted, "openssl {args:?}: {text}");
    }
    let mut args = vec!["req", "-new", "-key", path(&key), "-subj", subject, "-out", path(&csr)];
    args.extend_from_slice(extra);
    let (made, text) = peer("openssl", &args);
    assert!(made, "openssl {args:?}: {text}");
    csr
}

/// `ca issue --csr` by release-ca for `profile`, with `extra` flags; the certificate goes
/// to `out`.
fn issue_csr(pki: &Pki, csr: &Path, profile: &str, out: &Path, extra: &[&str]) -> Run {
    let mut args =
        vec!["ca", "issue", "--ca", "release-ca", "--profile", profile, "--csr", path(csr), "--days", "30", "--out"];
    args.push(path(out));
    args.extend_from_slice(extra);
    pki.ks.run(&args)
}

/// Everything a refusal must leave as it was: the CA index (CAs, certificates, serials,
/// CRL numbers) and the audit log.
fn ca_state(ks: &Keyseal) -> (Value, Value) {
    (ks.ok(&["ca", "list", "--json"]), ks.ok(&["audit", "list", "--json"]))
}

const RSA: &[&str] = &["-algorithm", "RSA"];
const P256: &[&str] = &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];

/// A CSR key the intake policy refuses: how OpenSSL makes it, and the refusal expected.
struct KeyCase {
    name: &'static str,
    keygen: &'static [&'static str],
    convert: &'static [&'static str],
    expected: &'static str,
    detail: &'static str,
}

#[test]
fn csr_keys_outside_the_intake_policy_are_refused_and_change_nothing() {
    let pki = build_pki("EC_P256", "ECDSA_SHA_256");
    let before = ca_state(&pki.ks);
    let out = pki.ks.file("refused.pem");
    let key = |name, keygen, convert, expected, detail| KeyCase { name, keygen, convert, expected, detail };
    let cases = [
        key(
            "rsa-1024",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
            &[],
            "rsa-key-too-small",
            "1024-bit",
        ),
        key(
            "rsa-e3",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:3"],
            &[],
            "bad-rsa-exponent",
            "exponent 3,",
        ),
        key(
            "p521",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp521r1"],
            &[],
            "unsupported-curve",
            "secp521r1",
        ),
        key(
            "brainpool",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"],
            &[],
            "unsupported-curve",
            "brainpoolP256r1",
        ),
        key(
            "explicit",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:explicit"],
            &[],
            "unsupported-curve",
            "explicit curve parameters",
        ),
        key("compressed", P256, &["-conv_form", "compressed"], "malformed-key", "compressed"),
        key("ed25519", &["-algorithm", "ED25519"], &[], "unsupported-key-algorithm", "Ed25519 (1.3.101.112)"),
        key("rsa-pss", &["-algorithm", "RSA-PSS"], &[], "unsupported-key-algorithm", "RSASSA-PSS"),
    ];
    for KeyCase { name, keygen, convert, expected, detail } in cases {
        let csr = openssl_csr(&pki.ks, name, keygen, convert, "/CN=web.example.com/O=Example Corp", &[]);
        let refused = issue_csr(&pki, &csr, "server", &out, &["--san", "dns:web.example.com"]);
        assert_eq!(code(&refused), expected, "{name}: {}", refused.stderr);
        assert!(refused.stderr.contains(detail), "{name} names what it saw: {}", refused.stderr);
        assert!(refused.stderr.contains("openssl genpkey"), "{name} says what to do: {}", refused.stderr);
        assert!(!out.exists(), "{name}: a refusal writes no certificate");
    }
    let refused = issue_csr(&pki, &pki.ks.file("rsa-1024.csr"), "server", &out, &[]);
    assert!(refused.stderr.contains("RSA keys of 2048 to 8192 bits with exponent 65537"), "{}", refused.stderr);
    assert_eq!(ca_state(&pki.ks), before, "no serial, index entry or audit entry for a refusal");
}

#[test]
fn csr_keys_the_policy_accepts_are_issued() {
    let pki = build_pki("EC_P256", "ECDSA_SHA_256");
    let cases: &[(&str, &[&str])] = &[
        ("rsa-3072", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"]),
        ("p384", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
        ("secp256k1", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"]),
    ];
    for (name, keygen) in cases {
        let csr = openssl_csr(&pki.ks, name, keygen, &[], &format!("/CN={name} client/O=Example Corp"), &[]);
        let cert = pki.ks.file(&format!("{name}.pem"));
        ok(issue_csr(&pki, &csr, "client", &cert, &[]));
        let (verified, text) = peer(
            "openssl",
            &[
                "verify",
                "-CAfile",
                path(&pki.root),
                "-untrusted",
                path(&pki.intermediate),
                "-purpose",
                "sslclient",
                path(&cert),
            ],
        );
        assert!(verified, "{name}: {text}");
        assert!(openssl_text(&cert).contains(&format!("Subject: O=Example Corp,CN={name} client")), "{name}");
    }
}

#[test]
fn csr_subjects_follow_the_subject_rules_unless_replaced() {
    let pki = build_pki("EC_P256", "ECDSA_SHA_256");
    let before = ca_state(&pki.ks);
    let out = pki.ks.file("web.pem");
    // An attribute --subject would refuse (domainComponent).
    let dc = openssl_csr(&pki.ks, "dc", P256, &[], "/DC=com/DC=example/CN=web.example.com", &[]);
    let refused = issue_csr(&pki, &dc, "server", &out, &[]);
    assert_eq!(code(&refused), "bad-csr-subject");
    assert!(
        refused.stderr.contains("0.9.2342.19200300.100.1.25") && refused.stderr.contains("pass --subject"),
        "names the attribute and the way out: {}",
        refused.stderr
    );
    // The issuing CA's own name, in another case and spacing (RFC 5280 §7.1 matching).
    let same = openssl_csr(&pki.ks, "same", P256, &[], "/O=example corp/CN=EXAMPLE  release CA", &[]);
    let refused = issue_csr(&pki, &same, "server", &out, &[]);
    assert_eq!(code(&refused), "subject-is-issuer");
    assert!(refused.stderr.contains("release-ca"), "{}", refused.stderr);
    // No subject at all.
    let empty = openssl_csr(&pki.ks, "empty", P256, &[], "/", &[]);
    assert_eq!(code(&issue_csr(&pki, &empty, "server", &out, &["--san", "dns:web.example.com"])), "empty-subject");
    // A bad --subject is refused even though it would replace the CSR's.
    let refused = issue_csr(&pki, &dc, "server", &out, &["--subject", "CN=web.example.com,DC=example"]);
    assert_eq!(code(&refused), "bad-subject");
    // So is the CA's own name given with --key-id.
    let (leaf_key, leaf_version) = pki.ks.create_key("EC_P256", "SIGN/VERIFY");
    let before_key = ca_state(&pki.ks);
    let refused = pki.ks.run(&[
        "ca",
        "issue",
        "--ca",
        "release-ca",
        "--profile",
        "code-signing",
        "--key-id",
        &leaf_key,
        "--key-version-id",
        &leaf_version,
        "--subject",
        "CN=Example Release CA,O=Example Corp",
        "--out",
        path(&out),
    ]);
    assert_eq!(code(&refused), "subject-is-issuer");
    assert!(!out.exists());
    assert_eq!(ca_state(&pki.ks).0, before.0, "the index is unchanged");
    assert_eq!(ca_state(&pki.ks), before_key, "nothing was asked of the KMS either");

    // --subject replaces the CSR's subject, which then need not pass the rules.
    for (csr, name) in [(&dc, "dc"), (&same, "same"), (&empty, "empty")] {
        let issued =
            ok(issue_csr(&pki, csr, "server", &out, &["--subject", "CN=web.example.com,O=Example Corp", "--json"]));
        assert_eq!(issued.json()["certificate"]["subject"], "CN=web.example.com,O=Example Corp", "{name}");
        let text = openssl_text(&out);
        assert!(text.contains("Subject: CN=web.example.com,O=Example Corp"), "{name}: {text}");
    }
}

#[test]
fn csr_extension_requests_never_reach_the_certificate() {
    let pki = build_pki("EC_P256", "ECDSA_SHA_256");
    let wants_ca = openssl_csr(
        &pki.ks,
        "wants-ca",
        RSA,
        &[],
        "/CN=web.example.com/O=Example Corp",
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:3",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            "-addext",
            "subjectAltName=DNS:evil.example.com",
            "-addext",
            "extendedKeyUsage=codeSigning",
        ],
    );
    let cert = pki.ks.file("web.pem");
    let issued = ok(issue_csr(&pki, &wants_ca, "server", &cert, &["--san", "dns:web.example.com", "--json"]));
    assert_eq!(
        issued.json()["ignoredExtensionRequests"],
        serde_json::json!(["basicConstraints", "keyUsage", "subjectAltName", "extendedKeyUsage"])
    );
    assert!(
        issued.stderr.contains("note: the CSR asks for basicConstraints") && issued.stderr.contains("none was copied"),
        "{}",
        issued.stderr
    );
    let text = openssl_text(&cert);
    assert!(text.contains("X509v3 Basic Constraints: critical\n                CA:FALSE"), "{text}");
    assert!(text.contains("Digital Signature, Key Encipherment") && !text.contains("Certificate Sign"), "{text}");
    assert!(text.contains("TLS Web Server Authentication") && !text.contains("Code Signing"), "{text}");
    assert!(text.contains("DNS:web.example.com") && !text.contains("evil"), "{text}");
    // It cannot act as a CA: OpenSSL refuses a certificate its key signs.
    let leaf_csr = openssl_csr(&pki.ks, "below", P256, &[], "/CN=below", &[]);
    let below = pki.ks.file("below.pem");
    let (signed, text) = peer(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            path(&leaf_csr),
            "-CA",
            path(&cert),
            "-CAkey",
            path(&pki.ks.file("wants-ca.key")),
            "-days",
            "1",
            "-out",
            path(&below),
        ],
    );
    assert!(signed, "{text}");
    let untrusted = pki.ks.file("untrusted.pem");
    std::fs::write(&untrusted, [std::fs::read(&pki.intermediate).unwrap(), std::fs::read(&cert).unwrap()].concat())
        .unwrap();
    let (accepted, text) =
        peer("openssl", &["verify", "-CAfile", path(&pki.root), "-untrusted", path(&untrusted), path(&below)]);
    assert!(!accepted && text.contains("invalid CA certificate"), "{text}");
    // And an intermediate CA is never made from a CSR.
    let refused = issue_csr(&pki, &wants_ca, "intermediate-ca", &pki.ks.file("x.pem"), &["--name", "from-csr"]);
    assert_eq!(code(&refused), "csr-for-ca");
}

/// `ca csr` (issue 13): a request for a KMS key version, signed through the KMS with every
/// KeySpec and signing algorithm, that `openssl req -verify` accepts, carrying the subject
/// and SANs asked for and the key version's own public key; and a CA (here keyseal's own)
/// certifies it. A subject `--subject` would refuse is refused here too, writing nothing.
#[test]
fn csrs_for_kms_keys_verify_with_openssl_for_every_spec_and_algorithm() {
    let pki = build_pki("EC_P256", "ECDSA_SHA_256");
    let ks = &pki.ks;
    for (spec, algorithm) in [
        ("RSA_2048", "RSA_PKCS1_SHA_256"),
        ("RSA_2048", "RSA_PSS_SHA_256"),
        ("EC_P256", "ECDSA_SHA_256"),
        ("EC_P256K", "ECDSA_SHA_256"),
    ] {
        let (key, version) = ks.create_key(spec, "SIGN/VERIFY");
        let csr = ks.file(&format!("{spec}-{algorithm}.csr"));
        ok(ks.run(&[
            "ca",
            "csr",
            "--key-id",
            &key,
            "--key-version-id",
            &version,
            "--algorithm",
            algorithm,
            "--subject",
            "CN=www.example.com,O=Example",
            "--san",
            "dns:www.example.com",
            "--san",
            "ip:192.0.2.7",
            "--out",
            path(&csr),
        ]));
        let (verified, text) =
            peer("openssl", &["req", "-in", path(&csr), "-verify", "-noout", "-text", "-nameopt", "RFC2253"]);
        assert!(verified, "{spec} {algorithm}: {text}");
        assert!(text.contains("CN=www.example.com") && text.contains("O=Example"), "{text}");
        assert!(text.contains("DNS:www.example.com") && text.contains("IP Address:192.0.2.7"), "{text}");
        let expected_algorithm = match algorithm {
            "RSA_PSS_SHA_256" => "rsassaPss",
            "RSA_PKCS1_SHA_256" => "sha256WithRSAEncryption",
            _ => "ecdsa-with-SHA256",
        };
        assert!(text.contains(expected_algorithm), "{algorithm}: {text}");
        // The request carries the key version's own public key.
        let public = ks.file(&format!("{spec}-{algorithm}.pub.pem"));
        ks.public_key(&key, &version, &public);
        let (_, from_csr) = peer("openssl", &["req", "-in", path(&csr), "-noout", "-pubkey"]);
        assert_eq!(from_csr.trim(), std::fs::read_to_string(&public).unwrap().trim(), "{spec}");
        // And a CA certifies it.
        let cert = ks.file(&format!("{spec}-{algorithm}.pem"));
        ok(issue_csr(&pki, &csr, "server", &cert, &["--san", "dns:www.example.com"]));
    }
    let (key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let refused = ks.file("refused.csr");
    let run = ks.run(&[
        "ca",
        "csr",
        "--key-id",
        &key,
        "--key-version-id",
        &version,
        "--subject",
        "CN=x,DC=example",
        "--out",
        path(&refused),
    ]);
    assert_eq!(code(&run), "bad-subject");
    assert!(!refused.exists(), "a refusal writes nothing");
}
