//! RFC 3161 time stamps through the binary, checked against OpenSSL both ways: keyseal as a
//! TSA on a KMS key version (certified by the mini-CA's `timestamping` profile) answering
//! `openssl ts -query` requests that `openssl ts -verify` accepts; an OpenSSL TSA (its key
//! certified by the mini-CA from a CSR) whose tokens `keyseal timestamp verify` accepts;
//! keyseal's own queries read by `openssl ts -query -text`; and every refusal by its exit
//! code and reason code. Every OpenSSL call reads the configuration written here.

use crate::common::path;

use crate::common::{Keyseal, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// OpenSSL's TSA configuration for [`openssl_tsa`]; also given to every `openssl ts` so
/// none reads the system's.
const OPENSSL_CONFIG: &str = "\
[ req ]
distinguished_name = dn
[ dn ]
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = .
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/otsa.pem
certs = $dir/otsa.pem
signer_key = $dir/otsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 3
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = ESS_ALG
";

/// A store with a root CA and a TSA key version certified for time stamping.
struct Tsa {
    ks: Keyseal,
    root: PathBuf,
    cert: PathBuf,
    key: String,
    version: String,
    data: PathBuf,
    config: PathBuf,
}

fn setup(spec: &str) -> Tsa {
    let ks = Keyseal::new();
    let (root_key, root_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (key, version) = ks.create_key(spec, "SIGN/VERIFY");
    let (root, cert, data, config) = (ks.file("root.pem"), ks.file("tsa.pem"), ks.file("data.txt"), ks.file("ts.cnf"));
    ks.ca_init("root", &root_key, &root_version, "CN=Timestamp Test Root,O=Example", "3650", &root);
    ks.ca_issue("root", "timestamping", &key, &version, "CN=Example TSA,O=Example", "365", &cert);
    std::fs::write(&data, b"release artifact\n").unwrap();
    std::fs::write(&config, OPENSSL_CONFIG.replace("ESS_ALG", "sha256")).unwrap();
    Tsa { ks, root, cert, key, version, data, config }
}

/// Runs openssl in the scratch directory with the test's configuration; requires success.
fn openssl(tsa: &Tsa, args: &[&str]) -> String {
    let output = std::process::Command::new("openssl")
        .args(args)
        .current_dir(tsa.ks.dir.path())
        .env("OPENSSL_CONF", &tsa.config)
        .output()
        .expect("openssl must be installed for the interop tests");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "openssl {args:?} failed:\n{text}");
    text
}

/// `openssl ts -query -data DATA -<hash> [extra] -out NAME`.
fn openssl_query(tsa: &Tsa, name: &str, hash: &str, extra: &[&str]) -> PathBuf {
    let out = tsa.ks.file(name);
    let mut args = vec!["ts", "-query", "-config", path(&tsa.config), "-data", path(&tsa.data), hash];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-out", path(&out)]);
    openssl(tsa, &args);
    out
}

fn reply(tsa: &Tsa, query: &Path, out: &Path) -> Run {
    tsa.ks.run(&[
        "timestamp",
        "reply",
        "--key-id",
        &tsa.key,
        "--key-version-id",
        &tsa.version,
        "--cert",
        path(&tsa.cert),
        "--in",
        path(query),
        "--out",
        path(out),
    ])
}

fn granted(tsa: &Tsa, query: &Path, name: &str) -> PathBuf {
    let out = tsa.ks.file(name);
    let run = reply(tsa, query, &out);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("granted: serial "), "{}", run.stdout);
    out
}

/// `keyseal timestamp verify --json` with `args`; returns (exit status, report).
fn verify(tsa: &Tsa, reply: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["timestamp", "verify", "--in", path(reply), "--json"];
    all.extend_from_slice(args);
    let run = tsa.ks.run(&all);
    assert!(run.status == 0 || run.status == 1, "keyseal {all:?}: {}\n{}", run.stdout, run.stderr);
    (run.status, run.json())
}

fn verify_data(tsa: &Tsa, reply: &Path) -> (i32, Value) {
    verify(tsa, reply, &["--data", path(&tsa.data), "--trust", path(&tsa.root)])
}

/// The `[code]` of a command that stopped with an error (exit 2).
fn error_code(run: &Run) -> String {
    assert_eq!(run.status, 2, "expected an error: {}\n{}", run.stdout, run.stderr);
    let start = run.stderr.find('[').expect("an error code") + 1;
    let end = run.stderr[start..].find(']').unwrap() + start;
    run.stderr[start..end].to_string()
}

fn openssl_verifies(tsa: &Tsa, reply: &Path, query: &Path) {
    let text = openssl(
        tsa,
        &[
            "ts",
            "-verify",
            "-config",
            path(&tsa.config),
            "-in",
            path(reply),
            "-queryfile",
            path(query),
            "-CAfile",
            path(&tsa.root),
            "-untrusted",
            path(&tsa.cert),
        ],
    );
    assert!(text.contains("Verification: OK"), "{text}");
}

fn reply_text(tsa: &Tsa, reply: &Path) -> String {
    openssl(tsa, &["ts", "-reply", "-config", path(&tsa.config), "-in", path(reply), "-text"])
}

/// The certificates the token in `reply` carries, as `openssl pkcs7 -print_certs` lists them.
fn token_certificates(tsa: &Tsa, reply: &Path) -> String {
    let token = tsa.ks.file("token.der");
    openssl(
        tsa,
        &["ts", "-reply", "-config", path(&tsa.config), "-in", path(reply), "-token_out", "-out", path(&token)],
    );
    openssl(tsa, &["pkcs7", "-inform", "DER", "-in", path(&token), "-print_certs", "-noout"])
}

#[test]
fn openssl_verifies_keyseal_tokens_for_every_hash_with_and_without_cert_and_nonce() {
    let tsa = setup("EC_P256");
    for hash in ["-sha256", "-sha384", "-sha512"] {
        for (cert, nonce) in [(true, true), (false, true), (true, false), (false, false)] {
            let mut extra = Vec::new();
            if cert {
                extra.push("-cert");
            }
            if !nonce {
                extra.push("-no_nonce");
            }
            let query = openssl_query(&tsa, "q.tsq", hash, &extra);
            let reply = granted(&tsa, &query, "r.tsr");
            openssl_verifies(&tsa, &reply, &query);
            let text = reply_text(&tsa, &reply);
            assert!(text.contains("Status: Granted."), "{text}");
            assert!(text.contains("Policy OID: 1.3.6.1.5.5.7.13.1"), "{text}");
            assert!(text.contains(&format!("Hash Algorithm: {}", &hash[1..])), "{text}");
            assert!(text.contains("Accuracy: 0x01 seconds"), "{text}");
            assert_eq!(text.contains("Nonce: unspecified"), !nonce, "{hash} nonce {nonce}: {text}");
            // certReq honoured: the TSA's chain is in the token exactly when asked for.
            assert_eq!(token_certificates(&tsa, &reply).contains("CN = Example TSA"), cert, "{hash} cert {cert}");
            let mut args = vec!["--data", path(&tsa.data), "--trust", path(&tsa.root)];
            if !cert {
                args.extend(["--chain", path(&tsa.cert)]);
            }
            let (status, report) = verify(&tsa, &reply, &args);
            assert_eq!(status, 0, "{report}");
            assert_eq!(report["hashAlgorithm"], &hash[1..]);
        }
    }
}

#[test]
fn openssl_verifies_rsa_and_secp256k1_tsa_tokens() {
    for spec in ["RSA_2048", "EC_P256K"] {
        let tsa = setup(spec);
        let query = openssl_query(&tsa, "q.tsq", "-sha256", &["-cert"]);
        let reply = granted(&tsa, &query, "r.tsr");
        openssl_verifies(&tsa, &reply, &query);
        assert_eq!(verify_data(&tsa, &reply).0, 0, "{spec}");
    }
}

/// A TSA run by OpenSSL, its key made by OpenSSL and certified by the mini-CA from a CSR.
fn openssl_tsa(tsa: &Tsa, key_type: &str, ess_alg: &str) -> PathBuf {
    std::fs::write(&tsa.config, OPENSSL_CONFIG.replace("ESS_ALG", ess_alg)).unwrap();
    std::fs::write(tsa.ks.file("tsaserial"), "01\n").unwrap();
    let (key, csr, cert) = (tsa.ks.file("otsa.key"), tsa.ks.file("otsa.csr"), tsa.ks.file("otsa.pem"));
    let mut args = vec!["req", "-config", path(&tsa.config), "-new", "-nodes", "-subj", "/CN=OpenSSL TSA/O=Example"];
    args.extend(key_type.split(' '));
    args.extend(["-keyout", path(&key), "-out", path(&csr)]);
    openssl(tsa, &args);
    tsa.ks.ok_text(&[
        "ca",
        "issue",
        "--ca",
        "root",
        "--profile",
        "timestamping",
        "--csr",
        path(&csr),
        "--days",
        "30",
        "--out",
        path(&cert),
    ]);
    cert
}

fn keyseal_query(tsa: &Tsa, name: &str, extra: &[&str]) -> PathBuf {
    let out = tsa.ks.file(name);
    let mut args = vec!["timestamp", "query", "--out", path(&out)];
    args.extend_from_slice(extra);
    let run = tsa.ks.run(&args);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    out
}

fn openssl_reply(tsa: &Tsa, query: &Path, name: &str) -> PathBuf {
    let out = tsa.ks.file(name);
    openssl(tsa, &["ts", "-reply", "-config", path(&tsa.config), "-queryfile", path(query), "-out", path(&out)]);
    out
}

#[test]
fn keyseal_verifies_openssl_tsa_tokens() {
    let tsa = setup("EC_P256");
    for (key_type, ess_alg) in [
        ("-newkey ec -pkeyopt ec_paramgen_curve:P-256", "sha256"),
        ("-newkey rsa:2048", "sha256"),
        ("-newkey rsa:2048", "sha1"), // signingCertificate (v1, ESSCertID with SHA-1)
        ("-newkey ec -pkeyopt ec_paramgen_curve:P-384", "sha512"),
    ] {
        let otsa = openssl_tsa(&tsa, key_type, ess_alg);
        let data = path(&tsa.data);
        let query = keyseal_query(&tsa, "kq.tsq", &["--data", data, "--cert-req"]);
        let reply = openssl_reply(&tsa, &query, "or.tsr");
        let (status, report) = verify_data(&tsa, &reply);
        assert_eq!(status, 0, "{key_type} {ess_alg}: {report}");
        assert_eq!(report["policy"], "1.2.3.4.1");
        assert!(report["tsa"].as_str().unwrap().contains("CN=OpenSSL TSA"), "{report}");
        assert!(report["genTime"].as_str().unwrap().contains('.'), "a millisecond genTime: {report}");
        assert_eq!(report["accuracy"], "1s 500ms 100us");

        // Without certReq the token carries no certificate: --chain supplies it.
        let query = keyseal_query(&tsa, "kq2.tsq", &["--data", data, "--hash", "sha512", "--no-nonce"]);
        let reply = openssl_reply(&tsa, &query, "or2.tsr");
        let (status, report) = verify_data(&tsa, &reply);
        assert_eq!((status, report["reason"].as_str()), (1, Some("tsa-certificate-not-found")), "{report}");
        let (status, report) =
            verify(&tsa, &reply, &["--data", data, "--trust", path(&tsa.root), "--chain", path(&otsa)]);
        assert_eq!(status, 0, "{report}");
        assert_eq!(report["hashAlgorithm"], "sha512");
        assert!(report["nonce"].is_null());
    }
}

#[test]
fn keyseal_query_is_read_by_openssl_and_answered_and_verified_by_keyseal() {
    let tsa = setup("EC_P256");
    let query = keyseal_query(&tsa, "q.tsq", &["--data", path(&tsa.data), "--hash", "sha384", "--cert-req"]);
    let text = openssl(&tsa, &["ts", "-query", "-config", path(&tsa.config), "-in", path(&query), "-text"]);
    assert!(text.contains("Version: 1"), "{text}");
    assert!(text.contains("Hash Algorithm: sha384"), "{text}");
    assert!(text.contains("Certificate required: yes"), "{text}");
    assert!(!text.contains("Nonce: unspecified"), "{text}");
    let reply = granted(&tsa, &query, "r.tsr");
    let (status, report) = verify_data(&tsa, &reply);
    assert_eq!(status, 0, "{report}");
    assert_eq!(report["tsa"], "CN=Example TSA,O=Example");
    assert!(report["checks"].as_array().unwrap().iter().all(|c| c["result"] == "ok"), "{report}");
    openssl_verifies(&tsa, &reply, &query);

    // --digest instead of --data, without a nonce; text output names the fields.
    let digest = hex_sha256(&std::fs::read(&tsa.data).unwrap());
    let query = keyseal_query(&tsa, "q2.tsq", &["--digest", &digest, "--no-nonce"]);
    let text = openssl(&tsa, &["ts", "-query", "-config", path(&tsa.config), "-in", path(&query), "-text"]);
    assert!(text.contains("Nonce: unspecified") && text.contains("Certificate required: no"), "{text}");
    let reply = granted(&tsa, &query, "r2.tsr");
    let run = tsa.ks.run(&[
        "timestamp",
        "verify",
        "--in",
        path(&reply),
        "--digest",
        &digest,
        "--trust",
        path(&tsa.root),
        "--chain",
        path(&tsa.cert),
    ]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("timestamp valid: genTime "), "{}", run.stdout);
    assert!(run.stdout.contains("policy    1.3.6.1.5.5.7.13.1"), "{}", run.stdout);
    assert!(run.stdout.contains("TSA       CN=Example TSA,O=Example"), "{}", run.stdout);
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The report's checks as `name=result`, in order: a failure must be named by the check
/// that found it, every check before it ok and every one after it not-checked.
fn checks(report: &Value) -> String {
    let checks = report["checks"].as_array().expect("checks");
    checks
        .iter()
        .map(|c| format!("{}={}", c["check"].as_str().unwrap(), c["result"].as_str().unwrap()))
        .collect::<Vec<_>>()
        .join(" ")
}

const BEFORE_THE_SIGNATURE: &str = "status=ok signer-certificate=ok";

#[test]
fn a_token_over_other_data_is_bad_imprint() {
    let tsa = setup("EC_P256");
    let reply = granted(&tsa, &openssl_query(&tsa, "q.tsq", "-sha256", &["-cert"]), "r.tsr");
    let other = tsa.ks.file("other.txt");
    std::fs::write(&other, b"another artifact\n").unwrap();
    let (status, report) = verify(&tsa, &reply, &["--data", path(&other), "--trust", path(&tsa.root)]);
    assert_eq!((status, report["reason"].as_str()), (1, Some("bad-imprint")), "{report}");
    let (status, report) = verify(&tsa, &reply, &["--digest", &"00".repeat(48), "--trust", path(&tsa.root)]);
    assert_eq!((status, report["reason"].as_str()), (1, Some("bad-imprint")), "{report}");
    assert_eq!(
        checks(&report),
        format!(
            "{BEFORE_THE_SIGNATURE} signature=ok message-digest=ok signing-certificate=ok tst-info=ok tsa-chain=ok imprint=failed"
        )
    );
    assert_eq!(report["status"], "granted", "the TSA's PKIStatus, as the reply states it: {report}");
}

/// The reply with one byte changed: the last byte is the signature's; the genTime digits sit
/// inside the signed TSTInfo.
#[test]
fn a_tampered_token_is_bad_tsa_signature_and_a_truncated_one_malformed() {
    let tsa = setup("EC_P256");
    let reply = granted(&tsa, &openssl_query(&tsa, "q.tsq", "-sha256", &["-cert"]), "r.tsr");
    let bytes = std::fs::read(&reply).unwrap();
    let tampered = tsa.ks.file("tampered.tsr");

    let mut signature = bytes.clone();
    *signature.last_mut().unwrap() ^= 0x01;
    std::fs::write(&tampered, &signature).unwrap();
    let (status, report) = verify_data(&tsa, &tampered);
    assert_eq!((status, report["reason"].as_str()), (1, Some("bad-tsa-signature")), "{report}");
    let after = "message-digest=not-checked signing-certificate=not-checked tst-info=not-checked tsa-chain=not-checked imprint=not-checked";
    assert_eq!(checks(&report), format!("{BEFORE_THE_SIGNATURE} signature=failed {after}"));

    // genTime: the only GeneralizedTime (tag 0x18, 15 bytes) in the reply; its last digit
    // before the Z changes to another digit.
    let at = bytes.windows(2).position(|w| w == [0x18, 0x0f]).expect("genTime") + 2 + 13;
    let mut content = bytes.clone();
    content[at] = if content[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&tampered, &content).unwrap();
    let (status, report) = verify_data(&tsa, &tampered);
    assert_eq!((status, report["reason"].as_str()), (1, Some("bad-tsa-signature")), "{report}");
    assert!(report["message"].as_str().unwrap().contains("messageDigest"), "{report}");
    assert!(checks(&report).contains("signature=ok message-digest=failed signing-certificate=not-checked"), "{report}");

    std::fs::write(&tampered, &bytes[..bytes.len() - 10]).unwrap();
    let run = tsa.ks.run(&[
        "timestamp",
        "verify",
        "--in",
        path(&tampered),
        "--data",
        path(&tsa.data),
        "--trust",
        path(&tsa.root),
    ]);
    assert_eq!(error_code(&run), "malformed-token");
}

#[test]
fn a_tsa_chain_to_another_root_is_tsa_chain_invalid() {
    let tsa = setup("EC_P256");
    let reply = granted(&tsa, &openssl_query(&tsa, "q.tsq", "-sha256", &["-cert"]), "r.tsr");
    let (other_key, other_version) = tsa.ks.create_key("EC_P256", "SIGN/VERIFY");
    let other_root = tsa.ks.file("other-root.pem");
    tsa.ks.ca_init("other", &other_key, &other_version, "CN=Other Root", "365", &other_root);
    let (status, report) = verify(&tsa, &reply, &["--data", path(&tsa.data), "--trust", path(&other_root)]);
    assert_eq!((status, report["reason"].as_str()), (1, Some("tsa-chain-invalid")), "{report}");
    assert_eq!(report["chain"]["reason"], "chain-incomplete", "{report}");
    assert!(checks(&report).ends_with("tst-info=ok tsa-chain=failed imprint=not-checked"), "{report}");
    // With the real root given as an untrusted certificate, the path ends at a root that
    // is not trusted.
    let args = ["--data", path(&tsa.data), "--trust", path(&other_root), "--chain", path(&tsa.root)];
    let (status, report) = verify(&tsa, &reply, &args);
    assert_eq!((status, report["reason"].as_str()), (1, Some("tsa-chain-invalid")), "{report}");
    assert_eq!(report["chain"]["reason"], "untrusted-root", "{report}");
}

/// A rejection: exit 1, the reply written, OpenSSL reading the status and failInfo, and
/// `timestamp verify` saying not-granted.
fn assert_rejected(tsa: &Tsa, query: &Path, code: &str, openssl_failure: &str) {
    let out = tsa.ks.file("rejected.tsr");
    let run = reply(tsa, query, &out);
    assert_eq!(run.status, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with(&format!("REJECTED [{code}]")), "{}", run.stdout);
    let text = reply_text(tsa, &out);
    assert!(text.contains("Status: Rejected."), "{text}");
    assert!(text.contains(openssl_failure), "{text}");
    let (status, report) = verify_data(tsa, &out);
    assert_eq!((status, report["reason"].as_str()), (1, Some("not-granted")), "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(message.starts_with("the TSA did not grant a time stamp: status rejection ("), "{message}");
}

#[test]
fn bad_requests_are_rejected_with_the_right_fail_info() {
    let tsa = setup("EC_P256");
    for hash in ["-md5", "-sha1"] {
        let query = openssl_query(&tsa, "bad.tsq", hash, &[]);
        assert_rejected(&tsa, &query, "bad-alg", "unrecognized or unsupported algorithm identifier");
    }
    let query = openssl_query(&tsa, "policy.tsq", "-sha256", &["-tspolicy", "1.2.3.4.5"]);
    assert_rejected(&tsa, &query, "unaccepted-policy", "requested TSA policy is not supported");
    let garbage = tsa.ks.file("garbage.tsq");
    std::fs::write(&garbage, b"\x30\x03not a request").unwrap();
    assert_rejected(&tsa, &garbage, "bad-data-format", "the data submitted has the wrong format");
    // The policy the TSA works under is accepted.
    let query = openssl_query(&tsa, "ok.tsq", "-sha256", &["-tspolicy", "1.3.6.1.5.5.7.13.1"]);
    granted(&tsa, &query, "ok.tsr");
}

#[test]
fn a_tsa_certificate_without_the_timestamping_purpose_is_refused_at_start() {
    let tsa = setup("EC_P256");
    let signer = tsa.ks.file("code-signing.pem");
    tsa.ks.ca_issue("root", "code-signing", &tsa.key, &tsa.version, "CN=Not A TSA", "30", &signer);
    let query = openssl_query(&tsa, "q.tsq", "-sha256", &[]);
    let out = tsa.ks.file("r.tsr");
    let answer = |cert: &Path| {
        tsa.ks.run(&[
            "timestamp",
            "reply",
            "--key-id",
            &tsa.key,
            "--key-version-id",
            &tsa.version,
            "--cert",
            path(cert),
            "--in",
            path(&query),
            "--out",
            path(&out),
        ])
    };
    let run = answer(&signer);
    assert_eq!(error_code(&run), "missing-timestamping-purpose");
    assert!(run.stderr.contains("--profile timestamping"), "{}", run.stderr);
    assert!(!out.exists(), "nothing is answered");

    // A time-stamping certificate for another key version is refused too.
    let other_version = tsa.ks.new_version(&tsa.key);
    let run = tsa.ks.run(&[
        "timestamp",
        "reply",
        "--key-id",
        &tsa.key,
        "--key-version-id",
        &other_version,
        "--cert",
        path(&tsa.cert),
        "--in",
        path(&query),
        "--out",
        path(&out),
    ]);
    assert_eq!(error_code(&run), "key-mismatch");
    assert!(!out.exists());

    // A key that cannot sign is refused as the KMS refuses AsymmetricSign on it, with the
    // code `sign` and `ca` give too (issue 29: one resolver); RSA-PSS fits an RSA key, but
    // not a TSA, whose tokens OpenSSL could not check.
    let with_key = |key: &str, version: &str, algorithm: &[&str]| {
        let mut args = vec!["timestamp", "reply", "--key-id", key, "--key-version-id", version];
        args.extend(algorithm);
        args.extend(["--cert", path(&tsa.cert), "--in", path(&query), "--out", path(&out)]);
        tsa.ks.run(&args)
    };
    let (enc_key, enc_version) = tsa.ks.create_key("RSA_2048", "ENCRYPT/DECRYPT");
    let run = with_key(&enc_key, &enc_version, &[]);
    assert_eq!(error_code(&run), "Rejected.UnsupportedOperation");
    assert!(run.stderr.contains("SIGN/VERIFY"), "{}", run.stderr);
    let (rsa_key, rsa_version) = tsa.ks.create_key("RSA_2048", "SIGN/VERIFY");
    let run = with_key(&rsa_key, &rsa_version, &["--algorithm", "RSA_PSS_SHA_256"]);
    assert_eq!(error_code(&run), "bad-algorithm");
    assert!(run.stderr.contains("openssl ts -verify"), "{}", run.stderr);
    assert!(!out.exists());
}

#[test]
fn every_answer_is_audited_with_its_serial_and_gen_time() {
    let tsa = setup("EC_P256");
    granted(&tsa, &openssl_query(&tsa, "q.tsq", "-sha256", &[]), "r.tsr");
    assert_eq!(reply(&tsa, &openssl_query(&tsa, "md5.tsq", "-md5", &[]), &tsa.ks.file("md5.tsr")).status, 1);
    let entries = tsa.ks.ok(&["audit", "list", "--action", "TimeStamp", "--json"]);
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let detail = entries[0]["Detail"].as_str().unwrap();
    assert!(
        detail.starts_with("serial=") && detail.contains(" gen_time=") && detail.contains("policy=1.3.6.1.5.5.7.13.1"),
        "{detail}"
    );
    assert_eq!(entries[0]["KeyVersionId"], tsa.version.as_str());
    assert_eq!((entries[1]["Result"].as_str(), entries[1]["ErrorCode"].as_str()), (Some("Failure"), Some("bad-alg")));
    let signs = tsa.ks.ok(&["audit", "list", "--action", "AsymmetricSign", "--key-id", &tsa.key, "--json"]);
    assert_eq!(signs.as_array().unwrap().len(), 1, "the token's signature, through the KMS");
}
