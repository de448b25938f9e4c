//! A release time-stamped at signing still verifies after its signing certificate expired
//! (issue 16): `keyseal serve --tsa-key-id ...` answers RFC 3161 at POST /tsa, `keyseal sign
//! --tsa URL` puts the token into the bundle, and `keyseal verify --tsa-trust` checks the
//! chain at the token's genTime. Each way it can fail has its reason code: no token,
//! a tampered token, a token over another signature, a TSA certificate without the
//! timeStamping purpose (a token OpenSSL's `cms -sign -cades` makes), a signer revoked for
//! keyCompromise; a signer revoked after genTime as superseded still verifies.

use crate::common::path;

use crate::common::{Keyseal, Run, Server, openssl_cms_verifies, peer};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Two years after now: long past the signer's one-day certificate, within the root's.
fn two_years_on() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    (now + 730 * 86_400).to_string()
}

/// A store with a root CA, a TSA key certified for time stamping, a release signer
/// certified for code signing for one day, and a server that is the TSA.
struct Pki {
    ks: Keyseal,
    root: PathBuf,
    signer_cert: PathBuf,
    signer_serial: String,
    tsa_serial: String,
    key: String,
    version: String,
    server: Server,
}

fn setup() -> Pki {
    setup_with(false)
}

/// The PKI, its server speaking https when `tls` (a server certificate for 127.0.0.1 from
/// the root, issued from an OpenSSL CSR).
fn setup_with(tls: bool) -> Pki {
    let ks = Keyseal::new();
    let (root_key, root_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let root = ks.file("root.pem");
    ks.ca_init("root", &root_key, &root_version, "CN=Release Root,O=Example", "3650", &root);
    let (tsa_key, tsa_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let tsa_cert = ks.file("tsa.pem");
    let tsa_issued =
        ks.ca_issue("root", "timestamping", &tsa_key, &tsa_version, "CN=Example TSA,O=Example", "365", &tsa_cert);
    let tsa_serial = tsa_issued["certificate"]["serial"].as_str().unwrap().to_string();
    let (key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let signer_cert = ks.file("signer.pem");
    let issued = ks.ca_issue("root", "code-signing", &key, &version, "CN=Release Signing,O=Example", "1", &signer_cert);
    let signer_serial = issued["certificate"]["serial"].as_str().unwrap().to_string();
    let mut flags = vec!["--tsa-key-id", &tsa_key, "--tsa-key-version-id", &tsa_version, "--tsa-cert", path(&tsa_cert)];
    let (tls_key, tls_cert, tls_csr) = (ks.file("tls.key"), ks.file("tls.pem"), ks.file("tls.csr"));
    if tls {
        openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path(&tls_key)]);
        openssl(&["req", "-new", "-key", path(&tls_key), "-subj", "/CN=127.0.0.1", "-out", path(&tls_csr)]);
        ks.ok(&[
            "ca",
            "issue",
            "--ca",
            "root",
            "--profile",
            "server",
            "--csr",
            path(&tls_csr),
            "--san",
            "ip:127.0.0.1",
            "--days",
            "30",
            "--out",
            path(&tls_cert),
            "--json",
        ]);
        flags.extend(["--tls-cert", path(&tls_cert), "--tls-key", path(&tls_key)]);
    }
    let server = Server::start_with(&ks, &flags);
    Pki { ks, root, signer_cert, signer_serial, tsa_serial, key, version, server }
}

impl Pki {
    fn tsa_url(&self) -> String {
        format!("http://{}/tsa", self.server.endpoint)
    }

    fn sign_args<'a>(&'a self, dir: &'a Path) -> Vec<&'a str> {
        vec!["sign", path(dir), "--key-id", &self.key, "--key-version-id", &self.version, "--out", path(dir), "--json"]
    }

    /// A release directory `name` with a file, signed with the signer's certificate and,
    /// when `stamped`, a time stamp from the server.
    fn release(&self, name: &str, content: &str, stamped: bool) -> PathBuf {
        let dir = self.ks.file(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app.tar.gz"), content).unwrap();
        let url = self.tsa_url();
        let mut args = vec![
            "sign",
            path(&dir),
            "--key-id",
            &self.key,
            "--key-version-id",
            &self.version,
            "--cert",
            path(&self.signer_cert),
            "--out",
            path(&dir),
            "--json",
        ];
        if stamped {
            args.extend(["--tsa", &url]);
        }
        let summary = self.ks.ok(&args);
        assert_eq!(summary["timestamp"].is_object(), stamped, "{summary}");
        dir
    }

    /// `keyseal verify DIR --trust root --json` with `extra`; the exit code and report.
    fn verify(&self, dir: &Path, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["verify", path(dir), "--trust", path(&self.root), "--json"];
        args.extend(extra);
        let run = self.ks.run(&args);
        assert!(run.status == 0 || run.status == 1, "{}\n{}", run.stdout, run.stderr);
        (run.status, run.json())
    }
}

fn bundle(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("keyseal.bundle.json")).unwrap()).unwrap()
}

fn write_bundle(dir: &Path, bundle: &Value) {
    std::fs::write(dir.join("keyseal.bundle.json"), serde_json::to_vec_pretty(bundle).unwrap()).unwrap();
}

/// The report's signature code and, for chain and time-stamp failures, the reason below it.
fn failure(report: &Value) -> (String, String) {
    let signature = report["signature"].as_str().unwrap_or("").to_string();
    let below = match signature.as_str() {
        "chain-invalid" => report["chain"]["reason"].as_str(),
        "timestamp-invalid" => report["timestamp"]["token"]["reason"].as_str(),
        _ => None,
    };
    (signature, below.unwrap_or("").to_string())
}

fn assert_fails(outcome: (i32, Value), signature: &str, reason: &str) {
    let (status, report) = outcome;
    assert_eq!(status, 1, "{report}");
    assert_eq!(report["verified"], false, "{report}");
    assert_eq!(failure(&report), (signature.to_string(), reason.to_string()), "{report}");
}

#[test]
fn a_time_stamped_release_verifies_after_its_certificate_expired() {
    let pki = setup();
    let dir = pki.release("dist", "release 1.0\n", true);
    let written = bundle(&dir);
    assert_eq!(written["mediaType"], "application/vnd.keyseal.bundle.v2+json");
    let later = two_years_on();
    let tsa_trust = ["--tsa-trust", path(&pki.root)];

    // Today, with and without the time stamp in use.
    let (status, report) = pki.verify(&dir, &tsa_trust);
    assert_eq!((status, &report["timestamp"]["status"]), (0, &Value::from("ok")), "{report}");
    assert_eq!(pki.verify(&dir, &[]).0, 0);

    // Two years on: the time stamp carries it; without --tsa-trust it is not used.
    let mut args = vec!["--at", later.as_str()];
    args.extend(tsa_trust);
    let (status, report) = pki.verify(&dir, &args);
    assert_eq!(status, 0, "{report}");
    assert_eq!(report["timestamp"]["status"], "ok", "{report}");
    assert_eq!(report["chain"]["at"], written["timestamp"]["genTime"], "the chain is checked at genTime: {report}");
    let ignored = pki.verify(&dir, &["--at", &later]);
    assert_eq!(ignored.1["timestamp"]["status"], "ignored", "{}", ignored.1);
    assert_fails(ignored, "chain-invalid", "expired");

    // The text output says what the time stamp did.
    let run = pki.ks.run(&["verify", path(&dir), "--trust", path(&pki.root), "--at", &later]);
    assert_eq!(run.status, 1);
    assert!(run.stdout.contains("time stamp NOT USED"), "{}", run.stdout);
    assert!(run.stdout.contains("CHAIN INVALID [chain-invalid: expired]"), "{}", run.stdout);
    let run =
        pki.ks.run(&["verify", path(&dir), "--trust", path(&pki.root), "--at", &later, "--tsa-trust", path(&pki.root)]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("time stamp ok: time-stamped at"), "{}", run.stdout);

    // Success names no policies when the path is valid for none in particular.
    let run = pki.ks.run(&["verify", path(&dir), "--trust", path(&pki.root)]);
    assert!(run.stdout.contains("certificate chain ok for code-signing at "), "{}", run.stdout);
    assert!(!run.stdout.contains("for policies"), "{}", run.stdout);
    // A root that issued nothing here: the hint says where the missing issuer would go for
    // `verify`, which has no --chain.
    let stranger = pki.ks.file("stranger.pem");
    let key = pki.ks.file("stranger.key");
    let (made, text) = peer(
        "openssl",
        &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=Stranger"]
            .into_iter()
            .chain(["-keyout", path(&key), "-out", path(&stranger), "-days", "30"])
            .collect::<Vec<_>>(),
    );
    assert!(made, "{text}");
    let run = pki.ks.run(&["verify", path(&dir), "--trust", path(&stranger)]);
    assert_eq!(run.status, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("CHAIN INVALID [chain-invalid: chain-incomplete]"), "{}", run.stdout);
    assert!(run.stdout.contains("add the intermediate to the bundle's certificate chain"), "{}", run.stdout);
    assert!(!run.stdout.contains("--chain"), "{}", run.stdout);

    // The same release signed without a time stamp: a v1 bundle, expired two years on.
    let plain = pki.release("plain", "release 1.0\n", false);
    assert_eq!(bundle(&plain)["mediaType"], "application/vnd.keyseal.bundle.v1+json");
    let absent = pki.verify(&plain, &args);
    assert_eq!(absent.1["timestamp"]["status"], "absent", "{}", absent.1);
    assert_fails(absent, "chain-invalid", "expired");

    // The server audited the time stamp it granted.
    let audit = pki.ks.ok(&["audit", "list", "--json"]);
    let text = audit.to_string();
    assert!(text.contains("TimeStamp") && text.contains("anonymous@127.0.0.1"), "{text}");
}

#[test]
fn a_tampered_or_transplanted_token_fails_with_its_reason() {
    let pki = setup();
    let dir = pki.release("dist", "release 1.0\n", true);
    let other = pki.release("other", "release 2.0\n", true);
    let later = two_years_on();
    let args = ["--at", later.as_str(), "--tsa-trust", path(&pki.root)];
    let original = bundle(&dir);

    // One bit of the TSA's signature (the token's last byte) flipped.
    let mut tampered = original.clone();
    let token = tampered["timestamp"]["token"].as_str().unwrap();
    let mut der = base64_decode(token);
    *der.last_mut().unwrap() ^= 1;
    tampered["timestamp"]["token"] = Value::from(base64_encode(&der));
    write_bundle(&dir, &tampered);
    assert_fails(pki.verify(&dir, &args), "timestamp-invalid", "bad-tsa-signature");

    // The other release's token, over another signature.
    let mut transplanted = original.clone();
    transplanted["timestamp"] = bundle(&other)["timestamp"].clone();
    write_bundle(&dir, &transplanted);
    assert_fails(pki.verify(&dir, &args), "timestamp-invalid", "bad-imprint");

    // Garbage where the token should be: a failed check, not a crash.
    let mut garbage = original.clone();
    garbage["timestamp"]["token"] = Value::from(base64_encode(b"not a token"));
    write_bundle(&dir, &garbage);
    let (status, report) = pki.verify(&dir, &args);
    assert_eq!((status, report["signature"].as_str()), (1, Some("timestamp-invalid")), "{report}");
    assert!(report["signatureDetail"].as_str().unwrap().starts_with("[malformed-token]"), "{report}");

    // A v1 bundle may not carry a timestamp: unusable input.
    let mut downgraded = original.clone();
    downgraded["mediaType"] = Value::from("application/vnd.keyseal.bundle.v1+json");
    write_bundle(&dir, &downgraded);
    let run = pki.ks.run(&["verify", path(&dir), "--trust", path(&pki.root), "--json"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("[bad-input]") && run.stderr.contains("a v1 bundle has no timestamp"),
        "{}",
        run.stderr
    );

    write_bundle(&dir, &original);
    assert_eq!(pki.verify(&dir, &args).0, 0, "the untouched bundle verifies");
}

#[test]
fn a_token_from_a_tsa_without_the_timestamping_purpose_is_refused() {
    let pki = setup();
    // OpenSSL signs the genuine TSTInfo with a key whose certificate (from the mini-CA,
    // through a CSR) is for code signing: a CMS SignedData with signingCertificateV2
    // (-cades) that is a well-formed token in every other way.
    let scratch = |name: &str| pki.ks.file(name);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        path(&scratch("rogue.key")),
    ]);
    openssl(&[
        "req",
        "-new",
        "-key",
        path(&scratch("rogue.key")),
        "-subj",
        "/CN=Rogue TSA",
        "-out",
        path(&scratch("rogue.csr")),
    ]);
    pki.ks.ok(&[
        "ca",
        "issue",
        "--ca",
        "root",
        "--profile",
        "code-signing",
        "--csr",
        path(&scratch("rogue.csr")),
        "--days",
        "365",
        "--out",
        path(&scratch("rogue.pem")),
        "--json",
    ]);
    // Signed after the rogue certificate was issued, so that it is valid at genTime.
    let dir = pki.release("dist", "release 1.0\n", true);
    let original = bundle(&dir);
    let token = base64_decode(original["timestamp"]["token"].as_str().unwrap());
    let tst_info = keyseal::tsa::token::parse_token(&token).unwrap().tst_info_der;
    std::fs::write(scratch("tstinfo.der"), tst_info).unwrap();
    openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-cades",
        "-nosmimecap",
        "-md",
        "sha256",
        "-econtent_type",
        "1.2.840.113549.1.9.16.1.4",
        "-in",
        path(&scratch("tstinfo.der")),
        "-signer",
        path(&scratch("rogue.pem")),
        "-inkey",
        path(&scratch("rogue.key")),
        "-outform",
        "DER",
        "-out",
        path(&scratch("rogue.token")),
    ]);
    let mut rogue = original.clone();
    rogue["timestamp"]["token"] = Value::from(base64_encode(&std::fs::read(scratch("rogue.token")).unwrap()));
    write_bundle(&dir, &rogue);
    let later = two_years_on();
    let outcome = pki.verify(&dir, &["--at", &later, "--tsa-trust", path(&pki.root)]);
    assert_eq!(outcome.1["timestamp"]["token"]["chain"]["reason"], "missing-timestamping-purpose", "{}", outcome.1);
    assert_fails(outcome, "timestamp-invalid", "tsa-chain-invalid");
}

#[test]
fn revocation_after_the_time_stamp_counts_only_for_a_compromise() {
    let pki = setup();
    let dir = pki.release("dist", "release 1.0\n", true);
    let later = two_years_on();
    let crl = pki.ks.file("root.crl.pem");
    let with_crl = |crl: &Path| {
        let args = ["--at", later.as_str(), "--tsa-trust", path(&pki.root), "--crl", path(crl)];
        pki.verify(&dir, &args)
    };

    // Before any revocation, with a CRL current two years on: checked and valid.
    pki.ks.ok_text(&["ca", "crl", "--ca", "root", "--days", "1000", "--out", path(&crl)]);
    let (status, report) = with_crl(&crl);
    assert_eq!((status, &report["revocation"]), (0, &Value::from("checked")), "{report}");

    // Superseded after genTime (and its accuracy of 1 s): the time-stamped signature
    // stands; without the time stamp (checked now) the revocation counts.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    pki.ks.ok_text(&["ca", "revoke", "--ca", "root", "--serial", &pki.signer_serial, "--reason", "superseded"]);
    pki.ks.ok_text(&["ca", "crl", "--ca", "root", "--days", "1000", "--out", path(&crl)]);
    let (status, report) = with_crl(&crl);
    assert_eq!(status, 0, "{report}");
    let revocation = report["chain"]["checks"].as_array().unwrap().iter().find(|c| c["check"] == "revocation").unwrap();
    assert!(revocation["detail"].as_str().unwrap().contains("the signature stands"), "{report}");
    assert_fails(pki.verify(&dir, &["--crl", path(&crl)]), "chain-invalid", "revoked");
}

/// Regression (issue 27, MEDIUM 5): the CRLs given were never applied to the TSA's chain,
/// so a TSA certificate revoked for key compromise still dated signatures ("time stamp
/// ok"), and a leaked TSA key could backdate tokens. RFC 3161 §4 voids them all.
#[test]
fn a_tsa_revoked_for_key_compromise_dates_nothing() {
    let pki = setup();
    let dir = pki.release("dist", "release 1.0\n", true);
    let later = two_years_on();
    let crl = pki.ks.file("root.crl.pem");
    pki.ks.ok_text(&["ca", "crl", "--ca", "root", "--days", "1000", "--out", path(&crl)]);
    let args = ["--at", later.as_str(), "--tsa-trust", path(&pki.root), "--crl", path(&crl)];
    let (status, report) = pki.verify(&dir, &args);
    assert_eq!((status, &report["timestamp"]["status"]), (0, &Value::from("ok")), "{report}");
    pki.ks.ok_text(&["ca", "revoke", "--ca", "root", "--serial", &pki.tsa_serial, "--reason", "key-compromise"]);
    pki.ks.ok_text(&["ca", "crl", "--ca", "root", "--days", "1000", "--out", path(&crl)]);
    let outcome = pki.verify(&dir, &args);
    assert_eq!(outcome.1["timestamp"]["token"]["chain"]["reason"], "revoked", "{}", outcome.1);
    assert_fails(outcome, "timestamp-invalid", "tsa-chain-invalid");
    // `timestamp verify` applies its --crl lists the same way.
    let token = pki.ks.file("token.der");
    let stamp = bundle(&dir)["timestamp"]["token"].as_str().unwrap().to_string();
    std::fs::write(&token, base64_decode(&stamp)).unwrap();
    let signature = base64_decode(bundle(&dir)["signature"]["value"].as_str().unwrap());
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&signature));
    let verify_token = |extra: &[&str]| {
        let mut args =
            vec!["timestamp", "verify", "--in", path(&token), "--digest", &digest, "--trust", path(&pki.root)];
        args.extend_from_slice(extra);
        args.push("--json");
        let run = pki.ks.run(&args);
        (run.status, run.json())
    };
    let (status, report) = verify_token(&[]);
    assert_eq!((status, &report["valid"]), (0, &Value::from(true)), "{report}");
    let (status, report) = verify_token(&["--crl", path(&crl), "--at", later.as_str()]);
    assert_eq!((status, &report["reason"]), (1, &Value::from("tsa-chain-invalid")), "{report}");
}

/// A token is evidence that the signature existed at genTime; one whose genTime is after
/// the verification time is refused (`gen-time-in-future`), not taken at its word.
#[test]
fn a_time_stamp_from_after_the_verification_time_is_refused() {
    let pki = setup();
    let dir = pki.release("dist", "release 1.0\n", true);
    let args = ["--at", "2001-01-01", "--tsa-trust", path(&pki.root)];
    assert_fails(pki.verify(&dir, &args), "timestamp-invalid", "gen-time-in-future");
}

#[test]
fn a_signer_revoked_for_key_compromise_fails_even_with_a_time_stamp() {
    let pki = setup();
    let dir = pki.release("dist", "release 1.0\n", true);
    let later = two_years_on();
    let crl = pki.ks.file("root.crl.pem");
    pki.ks.ok_text(&["ca", "revoke", "--ca", "root", "--serial", &pki.signer_serial, "--reason", "key-compromise"]);
    pki.ks.ok_text(&["ca", "crl", "--ca", "root", "--days", "1000", "--out", path(&crl)]);
    let args = ["--at", later.as_str(), "--tsa-trust", path(&pki.root), "--crl", path(&crl)];
    let outcome = pki.verify(&dir, &args);
    assert!(outcome.1["chain"]["message"].as_str().unwrap().contains("(key-compromise)"), "{}", outcome.1);
    assert_fails(outcome, "chain-invalid", "revoked");
}

#[test]
fn the_tsa_endpoint_refuses_what_is_not_a_time_stamp_request() {
    let pki = setup();
    let url = pki.tsa_url();
    let curl = |args: &[&str]| -> String {
        let output = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code} %{content_type}"])
            .args(args)
            .arg(&url)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(curl(&[]).starts_with("405 text/plain"), "GET");
    let json = ["-H", "Content-Type: application/json", "--data-binary", "{}"];
    assert!(curl(&json).starts_with("415 text/plain"), "another media type");
    let big = pki.ks.file("big.tsq");
    std::fs::write(&big, vec![0x30; 5000]).unwrap();
    let at_big = format!("@{}", path(&big));
    let query_type = ["-H", "Content-Type: application/timestamp-query", "--data-binary"];
    let mut args = query_type.to_vec();
    args.push(&at_big);
    assert!(curl(&args).starts_with("413 "), "too large");
    // Not DER: a TimeStampResp with status rejection, failInfo badDataFormat.
    let reply = pki.ks.file("rejected.tsr");
    let output = std::process::Command::new("curl")
        .args(["-s", "-H", "Content-Type: application/timestamp-query", "--data-binary", "garbage", "-o", path(&reply)])
        .arg(&url)
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = openssl_out(&["ts", "-reply", "-in", path(&reply), "-text"]);
    assert!(
        text.contains("Status: Rejected") && text.contains("Failure info: the data submitted has the wrong format"),
        "{text}"
    );
    // And keyseal sign with a URL that is no TSA stops before writing anything.
    let dir = pki.ks.file("dist");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app"), "x").unwrap();
    let not_a_tsa = format!("http://{}/health", pki.server.endpoint);
    let run: Run = pki.ks.run(&[
        "sign",
        path(&dir),
        "--key-id",
        &pki.key,
        "--key-version-id",
        &pki.version,
        "--out",
        path(&dir),
        "--tsa",
        &not_a_tsa,
        "--json",
    ]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("keyseal: error [tsa-unavailable]: "), "{}", run.stderr);
    assert!(!dir.join("keyseal.bundle.json").exists(), "nothing written");
}

/// POSTs `body` to `/tsa` on `endpoint` as a time-stamp query over raw HTTP/1.1; the
/// status code answered.
fn post_tsa(endpoint: &str, body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(endpoint).unwrap();
    let head = format!(
        "POST /tsa HTTP/1.1\r\nHost: {endpoint}\r\nContent-Type: application/timestamp-query\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status: {answer}"))
}

/// Regression (issue 27, finding 7): bodies that are not a TimeStampReq at all, sent by
/// anyone to the unauthenticated `/tsa`, are answered (a badDataFormat rejection, 200) and
/// logged on stderr without echoing them, but add nothing to the audit log; a well-formed
/// request is audited as before.
#[test]
fn garbage_sent_to_the_tsa_does_not_grow_the_audit_log() {
    let pki = setup();
    let entries = || pki.ks.ok(&["audit", "list", "--json"]).as_array().unwrap().len();
    let before = entries();
    let garbage: [&[u8]; 4] = [b"garbage", b"\x1b[31mforged\nline", &[0x30, 0x03, 0x02, 0x01, 0x01], &[0x30; 100]];
    for i in 0..100 {
        assert_eq!(post_tsa(&pki.server.endpoint, garbage[i % garbage.len()]), 200, "body {i}");
    }
    assert_eq!(entries(), before, "garbage was audited");
    let log = pki.server.log();
    assert_eq!(log.matches("TimeStamp principal=anonymous@127.0.0.1 status=200 code=bad-data-format").count(), 100);
    assert!(!log.contains("forged") && !log.contains('\x1b'), "{log}");
    // A TimeStampReq is audited, granted or rejected.
    let query = pki.ks.file("q.tsq");
    std::fs::write(pki.ks.file("data"), "data").unwrap();
    let data = pki.ks.file("data");
    pki.ks.ok_text(&["timestamp", "query", "--data", path(&data), "--out", path(&query)]);
    assert_eq!(post_tsa(&pki.server.endpoint, &std::fs::read(&query).unwrap()), 200);
    let audited = pki.ks.ok(&["audit", "list", "--action", "TimeStamp", "--json"]);
    assert_eq!(audited.as_array().unwrap().len(), 1, "{audited}");
    assert!(audited[0]["Detail"].as_str().unwrap().starts_with("serial="), "{audited}");
}

#[test]
fn an_https_tsa_is_checked_against_the_web_roots_or_tsa_ca() {
    let pki = setup_with(true);
    let url = format!("https://{}/tsa", pki.server.endpoint);
    let dir = pki.ks.file("dist");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app"), "x").unwrap();
    let mut args = pki.sign_args(&dir);
    args.extend(["--tsa", &url]);
    // The server's certificate is from a private root: not trusted by the web roots.
    let run = pki.ks.run(&args);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("keyseal: error [tsa-unavailable]: "), "{}", run.stderr);
    assert!(!dir.join("keyseal.bundle.json").exists(), "nothing written");
    args.extend(["--tsa-ca", path(&pki.root)]);
    let summary = pki.ks.ok(&args);
    assert_eq!(summary["timestamp"]["tsa"], url.as_str(), "{summary}");
    assert_eq!(bundle(&dir)["mediaType"], "application/vnd.keyseal.bundle.v2+json");
}

fn openssl(args: &[&str]) {
    let output = std::process::Command::new("openssl").args(args).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn openssl_out(args: &[&str]) -> String {
    let output = std::process::Command::new("openssl").args(args).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Issue 33 item 1: `sign --format cms --tsa` puts an RFC 3161 token over the CMS
/// signature's value into it as the signatureTimeStampToken unsigned attribute: `openssl
/// cms -verify` accepts the signature, and `openssl ts -verify` the token, over the SHA-256
/// of that signature value, to the root.
#[test]
fn a_cms_signature_carries_a_time_stamp_over_its_value() {
    use der::{Decode, Encode};
    let pki = setup();
    let dir = pki.ks.file("cms");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.tar.gz"), "release 1.0\n").unwrap();
    let url = pki.tsa_url();
    let mut args = pki.sign_args(&dir);
    args.extend(["--cert", path(&pki.signer_cert), "--tsa", &url, "--format", "cms"]);
    pki.ks.ok(&args);
    let p7s = dir.join("SHA256SUMS.p7s");
    let (verified, text) = openssl_cms_verifies(&p7s, &dir.join("SHA256SUMS"), &pki.root);
    assert!(verified, "{text}");

    let info = cms::content_info::ContentInfo::from_der(&std::fs::read(&p7s).unwrap()).unwrap();
    let signed: cms::signed_data::SignedData = info.content.decode_as().unwrap();
    let signer = signed.signer_infos.0.iter().next().unwrap();
    let unsigned = signer.unsigned_attrs.as_ref().expect("an unsigned attribute");
    let stamp = unsigned.iter().find(|a| a.oid.to_string() == "1.2.840.113549.1.9.16.2.14").expect("the token");
    let token = pki.ks.file("cms-token.der");
    std::fs::write(&token, stamp.values.iter().next().unwrap().to_der().unwrap()).unwrap();
    use sha2::Digest;
    let imprint = hex::encode(sha2::Sha256::digest(signer.signature.as_bytes()));
    let (verified, text) = peer(
        "openssl",
        &["ts", "-verify", "-token_in", "-in", path(&token), "-digest", &imprint, "-CAfile", path(&pki.root)],
    );
    assert!(verified && text.contains("Verification: OK"), "{text}");
    let other = hex::encode(sha2::Sha256::digest(b"another signature"));
    let (verified, _) = peer(
        "openssl",
        &["ts", "-verify", "-token_in", "-in", path(&token), "-digest", &other, "-CAfile", path(&pki.root)],
    );
    assert!(!verified, "the token is over this signature only");
}
