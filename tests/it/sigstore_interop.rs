//! `SHA256SUMS.sigstore.json` (issue 34) checked by sigstore-js, the Sigstore project's own
//! verifier (npm `@sigstore/verify`, pinned in tests/sigstore-js/package-lock.json, installed
//! by `npm ci` into target/sigstore-js): a release signed with a pinned P-256 or RSA key,
//! with a certificate chain to a trusted root, and with a keyseal TSA's time stamp, each
//! verifies; a tampered manifest and a wrong key are refused; a secp256k1 or RSA-PSS
//! signature, which has no Sigstore form, gets no file and a note saying so.

use crate::common::path;

use crate::common::{Keyseal, Server};
use base64::Engine;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder holding sigstore-js and verify.js, installed on first use from the pinned
/// lock (`.ci/run` does it up front); tests running side by side wait for one install.
fn sigstore_js() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigstore-js");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sigstore-js");
    let lock = std::fs::read(source.join("package-lock.json")).unwrap();
    let installed = target.join("installed-from.lock");
    std::fs::create_dir_all(&target).unwrap();
    let guard = std::fs::File::create(target.with_extension("lock")).unwrap();
    guard.lock().unwrap();
    for file in ["package.json", "package-lock.json", "verify.js"] {
        std::fs::copy(source.join(file), target.join(file)).unwrap();
    }
    if std::fs::read(&installed).ok().as_deref() != Some(&lock[..]) {
        let status = Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(&target)
            .status()
            .expect("npm must be installed (.ci/run installs it)");
        assert!(status.success(), "npm ci of sigstore-js failed");
        std::fs::write(&installed, &lock).unwrap();
    }
    target
}

/// sigstore-js's verdict on `bundle` over `artifact` with `trust` (`--key PEM` or
/// `--trusted-root JSON`, and `--timestamps N`): `Ok` or the refusal it printed.
fn sigstore_verify(bundle: &Path, artifact: &Path, trust: &[&str]) -> Result<(), String> {
    let script = sigstore_js().join("verify.js");
    let run = Command::new("node").arg(script).arg(bundle).arg(artifact).args(trust).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    match (run.status.code(), stdout.trim()) {
        (Some(0), "verified") => Ok(()),
        (Some(1), refused) if refused.starts_with("refused: ") => Err(refused.to_string()),
        _ => panic!("verify.js: {:?}\n{stdout}\n{}", run.status, String::from_utf8_lossy(&run.stderr)),
    }
}

/// A release directory with two files, signed by `key` with `extra` flags; the summary.
fn signed_release(ks: &Keyseal, name: &str, key: (&str, &str), extra: &[&str]) -> (PathBuf, Value) {
    let dir = ks.file(name);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::write(dir.join("bin/app"), b"the program\n").unwrap();
    std::fs::write(dir.join("README"), b"read me\n").unwrap();
    let mut args =
        vec!["sign", path(&dir), "--key-id", key.0, "--key-version-id", key.1, "--out", path(&dir), "--json"];
    args.extend(extra);
    let summary = ks.ok(&args);
    (dir, summary)
}

fn read_json(file: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

#[test]
fn sigstore_js_verifies_releases_signed_with_pinned_p256_and_rsa_keys() {
    let ks = Keyseal::new();
    for spec in ["EC_P256", "RSA_2048"] {
        let (key, version) = ks.create_key(spec, "SIGN/VERIFY");
        let (dir, summary) = signed_release(&ks, &format!("release-{spec}"), (&key, &version), &[]);
        let bundle = dir.join("SHA256SUMS.sigstore.json");
        assert!(summary["outputs"].to_string().contains("SHA256SUMS.sigstore.json"), "{summary}");
        let pem = ks.file(&format!("{spec}.pem"));
        ks.public_key(&key, &version, &pem);
        let manifest = dir.join("SHA256SUMS");
        assert_eq!(sigstore_verify(&bundle, &manifest, &["--key", path(&pem)]), Ok(()), "{spec}");

        // The same signature bytes as SHA256SUMS.sig: no second KMS call.
        let sigstore = read_json(&bundle);
        let engine = base64::engine::general_purpose::STANDARD;
        let signature = engine.decode(sigstore["messageSignature"]["signature"].as_str().unwrap()).unwrap();
        assert_eq!(signature, std::fs::read(dir.join("SHA256SUMS.sig")).unwrap(), "{spec}");
        // keyseal's own verify is not upset by the extra file in the release directory.
        let verified = ks.run(&["verify", path(&dir), "--public-key", path(&pem)]);
        assert_eq!(verified.status, 0, "{spec}: {}\n{}", verified.stdout, verified.stderr);

        // A tampered manifest, and another key, are refused.
        let tampered = ks.file(&format!("tampered-{spec}"));
        std::fs::write(&tampered, std::fs::read(&manifest).unwrap().repeat(2)).unwrap();
        let refused = sigstore_verify(&bundle, &tampered, &["--key", path(&pem)]).unwrap_err();
        assert!(refused.contains("SIGNATURE_ERROR"), "{spec}: {refused}");
        let (other, other_version) = ks.create_key(spec, "SIGN/VERIFY");
        let other_pem = ks.file(&format!("other-{spec}.pem"));
        ks.public_key(&other, &other_version, &other_pem);
        let refused = sigstore_verify(&bundle, &manifest, &["--key", path(&other_pem)]).unwrap_err();
        assert!(refused.contains("PUBLIC_KEY_ERROR"), "{spec}: {refused}");
    }
}

#[test]
fn algorithms_without_a_sigstore_form_get_no_file_and_a_note() {
    let ks = Keyseal::new();
    let (k1, k1_version) = ks.create_key("EC_P256K", "SIGN/VERIFY");
    let (rsa, rsa_version) = ks.create_key("RSA_2048", "SIGN/VERIFY");
    for (key, version, extra, name) in
        [(&k1, &k1_version, &[][..], "secp256k1"), (&rsa, &rsa_version, &["--algorithm", "RSA_PSS_SHA_256"][..], "pss")]
    {
        let dir = ks.file(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app"), b"app\n").unwrap();
        let mut args = vec!["sign", path(&dir), "--key-id", key, "--key-version-id", version, "--out", path(&dir)];
        args.extend(extra);
        let run = ks.run(&args);
        assert_eq!(run.status, 0, "{name}: {}", run.stderr);
        assert!(!dir.join("SHA256SUMS.sigstore.json").exists(), "{name}");
        assert_eq!(run.stderr.matches("no SHA256SUMS.sigstore.json").count(), 1, "{name}: {}", run.stderr);
        assert!(dir.join("keyseal.bundle.json").exists(), "{name}");
    }
}

/// `keyseal trust export --sigstore` with `args`, into `name`.
fn export(ks: &Keyseal, name: &str, args: &[&str]) -> PathBuf {
    let out = ks.file(name);
    let mut all = vec!["trust", "export", "--sigstore", "--out", path(&out)];
    all.extend(args);
    let text = ks.ok_text(&all);
    assert!(text.starts_with("wrote "), "{text}");
    out
}

fn init_root(ks: &Keyseal, name: &str, subject: &str) -> PathBuf {
    let (key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let root = ks.file(&format!("{name}.pem"));
    ks.ca_init(name, &key, &version, subject, "3650", &root);
    root
}

fn issue(ks: &Keyseal, ca: &str, profile: &str, subject: &str, out: &Path, extra: &[&str]) -> (String, String) {
    let (key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let mut args = vec![
        "ca",
        "issue",
        "--ca",
        ca,
        "--profile",
        profile,
        "--key-id",
        &key,
        "--key-version-id",
        &version,
        "--subject",
        subject,
        "--days",
        if profile == "intermediate-ca" { "365" } else { "30" },
        "--out",
        path(out),
        "--json",
    ];
    args.extend(extra);
    ks.ok(&args);
    (key, version)
}

fn concat(ks: &Keyseal, name: &str, parts: &[&Path]) -> PathBuf {
    let out = ks.file(name);
    std::fs::write(&out, parts.iter().map(|p| std::fs::read(p).unwrap()).collect::<Vec<_>>().concat()).unwrap();
    out
}

#[test]
fn sigstore_js_verifies_the_certificate_form_and_a_keyseal_time_stamp() {
    let ks = Keyseal::new();
    let root = init_root(&ks, "root", "CN=Example Root,O=Example");
    let release_ca = ks.file("release-ca.pem");
    issue(&ks, "root", "intermediate-ca", "CN=Example Release CA,O=Example", &release_ca, &["--name", "release-ca"]);
    let signer = ks.file("signer.pem");
    let (key, version) = issue(&ks, "release-ca", "code-signing", "CN=Release Signing,O=Example", &signer, &[]);
    let tsa_cert = ks.file("tsa.pem");
    let (tsa_key, tsa_version) = issue(&ks, "root", "timestamping", "CN=Example TSA,O=Example", &tsa_cert, &[]);
    let server = Server::start_with(
        &ks,
        &["--tsa-key-id", &tsa_key, "--tsa-key-version-id", &tsa_version, "--tsa-cert", path(&tsa_cert)],
    );
    let url = format!("http://{}/tsa", server.endpoint);
    let signer_chain = concat(&ks, "signer-chain.pem", &[&signer, &release_ca]);
    let ca_chain = concat(&ks, "release-ca-chain.pem", &[&release_ca, &root]);
    let tsa_chain = concat(&ks, "tsa-chain.pem", &[&tsa_cert, &root]);

    // With the certificate and a time stamp: the certificate names the signer, the time
    // stamp says when, and sigstore-js requires it (threshold 1).
    let (dir, _) = signed_release(&ks, "stamped", (&key, &version), &["--cert", path(&signer_chain), "--tsa", &url]);
    let bundle = dir.join("SHA256SUMS.sigstore.json");
    let material = &read_json(&bundle)["verificationMaterial"];
    assert!(material.get("publicKey").is_none() && material["certificate"]["rawBytes"].is_string(), "{material}");
    let manifest = dir.join("SHA256SUMS");
    let roots = export(&ks, "trusted_root.json", &["--trust", path(&ca_chain), "--tsa-trust", path(&tsa_chain)]);
    let exported = read_json(&roots);
    assert_eq!(exported["certificateAuthorities"][0]["subject"]["commonName"], "Example Release CA", "{exported}");
    assert_eq!(exported["timestampAuthorities"][0]["certChain"]["certificates"].as_array().unwrap().len(), 2);
    assert_eq!(sigstore_verify(&bundle, &manifest, &["--trusted-root", path(&roots), "--timestamps", "1"]), Ok(()));
    // keyseal reads the same bundle alone: the certificate to the trusted CA, checked at
    // the time stamp's time.
    std::fs::remove_file(dir.join("keyseal.bundle.json")).unwrap();
    let args = [path(&dir), "--bundle", path(&bundle), "--trust", path(&ca_chain), "--tsa-trust", path(&root)];
    let (status, out) = keyseal_verify(&ks, &args);
    assert_eq!(status, 0, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["signature"].as_str(), report["timestamp"]["status"].as_str()),
        (Some("ok"), Some("ok")),
        "{out}"
    );

    // Without a trusted time-stamping authority the time stamp does not count.
    let no_tsa = export(&ks, "no-tsa.json", &["--trust", path(&ca_chain)]);
    let refused = sigstore_verify(&bundle, &manifest, &["--trusted-root", path(&no_tsa), "--timestamps", "1"]);
    assert!(refused.unwrap_err().contains("TIMESTAMP_ERROR"));

    // A certificate from another CA is refused.
    let other_root = init_root(&ks, "other", "CN=Other Root,O=Example");
    let other = export(&ks, "other.json", &["--trust", path(&other_root), "--tsa-trust", path(&tsa_chain)]);
    let refused = sigstore_verify(&bundle, &manifest, &["--trusted-root", path(&other), "--timestamps", "1"]);
    assert!(refused.is_err(), "a certificate from another CA was accepted");

    // What export refuses: a chain that stops short of its root, a TSA chain that does not
    // start with a TSA's certificate.
    let out = ks.file("refused.json");
    for (flag, file, says) in [("--trust", &release_ca, "not a root"), ("--tsa-trust", &ca_chain, "ca-as-end-entity")] {
        let mut args = vec!["trust", "export", "--sigstore", "--out", path(&out), "--trust", path(&ca_chain)];
        args.extend([flag, path(file)]);
        let run = ks.run(&args);
        assert_eq!(run.status, 2, "{flag}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(says), "{flag}: {}", run.stderr);
        assert!(!out.exists(), "{flag}");
    }
    server.stop();
}

/// `keyseal verify` with `args`; the exit status and the JSON report (or the error text).
fn keyseal_verify(ks: &Keyseal, args: &[&str]) -> (i32, String) {
    let mut all = vec!["verify", "--json"];
    all.extend(args);
    let run = ks.run(&all);
    (run.status, format!("{}{}", run.stdout, run.stderr))
}

#[test]
fn keyseal_verify_reads_sigstore_bundles_with_the_same_verdicts() {
    let ks = Keyseal::new();
    let (key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (dir, _) = signed_release(&ks, "release", (&key, &version), &[]);
    let pem = ks.file("pub.pem");
    ks.public_key(&key, &version, &pem);
    let bundle = dir.join("SHA256SUMS.sigstore.json");
    // Away from keyseal.bundle.json, so that nothing but the Sigstore bundle is read.
    std::fs::remove_file(dir.join("keyseal.bundle.json")).unwrap();
    let (status, out) = keyseal_verify(&ks, &[path(&dir), "--bundle", path(&bundle), "--public-key", path(&pem)]);
    assert_eq!(status, 0, "{out}");
    assert!(out.contains(r#""signature": "ok""#), "{out}");

    // Another key: key-mismatch, naming the hint. A tampered manifest: manifest-modified.
    let (other, other_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let other_pem = ks.file("other.pem");
    ks.public_key(&other, &other_version, &other_pem);
    let (status, out) = keyseal_verify(&ks, &[path(&dir), "--bundle", path(&bundle), "--public-key", path(&other_pem)]);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains(r#""signature": "key-mismatch""#) && out.contains("named by hint"), "{out}");
    let manifest = dir.join("SHA256SUMS");
    let original = std::fs::read(&manifest).unwrap();
    std::fs::write(
        &manifest,
        [&original[..], b"0000000000000000000000000000000000000000000000000000000000000000  x\n"].concat(),
    )
    .unwrap();
    let (status, out) = keyseal_verify(&ks, &[path(&dir), "--bundle", path(&bundle), "--public-key", path(&pem)]);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains(r#""signature": "manifest-modified""#), "{out}");
    std::fs::write(&manifest, &original).unwrap();

    // What keyseal cannot check is refused, never passed over: a transparency-log entry,
    // an attestation, a media type it does not know.
    let sigstore = read_json(&bundle);
    for (name, change, says) in [
        ("tlog", "/verificationMaterial/tlogEntries", "transparency-log entry"),
        ("dsse", "/dsseEnvelope", "DSSE envelope"),
        ("v9", "/mediaType", "is not one this keyseal reads"),
    ] {
        let mut hostile = sigstore.clone();
        let value = match name {
            "tlog" => serde_json::json!([{ "logIndex": "1" }]),
            "dsse" => serde_json::json!({ "payload": "", "payloadType": "x", "signatures": [] }),
            _ => serde_json::json!("application/vnd.dev.sigstore.bundle.v0.9+json"),
        };
        match hostile.pointer_mut(change) {
            Some(slot) => *slot = value,
            None => {
                hostile.as_object_mut().unwrap().insert(change.trim_start_matches('/').into(), value);
            }
        }
        let file = dir.join(format!("SHA256SUMS-{name}.sigstore.json"));
        std::fs::write(&file, serde_json::to_vec(&hostile).unwrap()).unwrap();
        let (status, out) =
            keyseal_verify(&ks, &[path(&manifest), "--bundle", path(&file), "--public-key", path(&pem)]);
        assert_eq!(status, 2, "{name}: {out}");
        assert!(out.contains(says), "{name}: {out}");
    }
}

/// A Sigstore bundle keyseal did not write: a release whose SHA256SUMS coreutils made and
/// OpenSSL signed with its own key, the bundle put together by hand as cosign's
/// `sign-blob --bundle` lays one out. keyseal checks it, files and all, as sigstore-js does.
#[test]
fn keyseal_verify_reads_a_bundle_made_from_an_openssl_signature() {
    let ks = Keyseal::new();
    let dir = ks.file("foreign");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tool.tar.gz"), b"a tool someone else released\n").unwrap();
    let run = |program: &str, args: &[&str]| {
        let run = Command::new(program).args(args).current_dir(&dir).output().unwrap();
        assert!(run.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&run.stderr));
        run.stdout
    };
    std::fs::write(dir.join("SHA256SUMS"), run("sha256sum", &["tool.tar.gz"])).unwrap();
    let (key, public, der) = (ks.file("k.pem"), ks.file("k.pub.pem"), ks.file("k.der"));
    run("openssl", &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path(&key)]);
    run("openssl", &["pkey", "-in", path(&key), "-pubout", "-out", path(&public)]);
    run("openssl", &["pkey", "-pubin", "-in", path(&public), "-outform", "DER", "-out", path(&der)]);
    let signature = run("openssl", &["dgst", "-sha256", "-sign", path(&key), "SHA256SUMS"]);
    let engine = base64::engine::general_purpose::STANDARD;
    let bundle = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "publicKey": { "hint": engine.encode(sha256(&std::fs::read(&der).unwrap())) },
            "tlogEntries": []
        },
        "messageSignature": {
            "messageDigest": {
                "algorithm": "SHA2_256",
                "digest": engine.encode(sha256(&std::fs::read(dir.join("SHA256SUMS")).unwrap()))
            },
            "signature": engine.encode(signature)
        }
    });
    let file = dir.join("SHA256SUMS.sigstore.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
    assert_eq!(sigstore_verify(&file, &dir.join("SHA256SUMS"), &["--key", path(&public)]), Ok(()));
    let (status, out) = keyseal_verify(&ks, &[path(&dir), "--bundle", path(&file), "--public-key", path(&public)]);
    assert_eq!(status, 0, "{out}");
    assert!(out.contains(r#""signature": "ok""#) && out.contains("tool.tar.gz"), "{out}");
    std::fs::write(dir.join("tool.tar.gz"), b"a tool someone else released, patched\n").unwrap();
    let (status, out) = keyseal_verify(&ks, &[path(&dir), "--bundle", path(&file), "--public-key", path(&public)]);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains(r#""status": "modified""#), "{out}");
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

/// securesystemslib (pinned, in the test virtual environment) on an `.intoto.jsonl`
/// envelope: the predicate type it read, or its refusal.
fn securesystemslib_verify(envelope: &Path, public_key: &Path, scheme: &str) -> Result<String, String> {
    let python = crate::common::venv_python(&["securesystemslib==1.6.0"], "import securesystemslib.dsse, cryptography");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/intoto/verify_envelope.py");
    let run = Command::new(python).arg(script).arg(envelope).arg(public_key).arg(scheme).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).trim().to_string();
    match run.status.code() {
        Some(0) => Ok(stdout),
        Some(1) => Err(stdout),
        _ => panic!("verify_envelope.py: {stdout}\n{}", String::from_utf8_lossy(&run.stderr)),
    }
}

const SPDX: &str = "https://spdx.dev/Document";

/// A release and an attestation about it: (release dir, bundle, envelope).
fn attested(ks: &Keyseal, key: (&str, &str), extra: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    let (dir, _) = signed_release(ks, "attested", key, &[]);
    let predicate = ks.file("sbom.json");
    std::fs::write(&predicate, br#"{"spdxVersion": "SPDX-2.3", "name": "the program"}"#).unwrap();
    let out = dir.join("sbom.sigstore.json");
    let mut args = vec![
        "attest",
        path(&dir),
        "--key-id",
        key.0,
        "--key-version-id",
        key.1,
        "--predicate-type",
        SPDX,
        "--predicate",
        path(&predicate),
        "--out",
        path(&out),
        "--json",
    ];
    args.extend(extra);
    let summary = ks.ok(&args);
    assert_eq!(summary["subjects"], serde_json::json!(["README", "bin/app"]), "{summary}");
    (dir.clone(), out, dir.join("sbom.intoto.jsonl"))
}

fn verify_attestation(ks: &Keyseal, bundle: &Path, files: &[&Path], extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["verify-attestation", path(bundle)];
    args.extend(files.iter().map(|f| path(f)));
    args.extend(extra);
    args.push("--json");
    let run = ks.run(&args);
    assert!(run.status == 0 || run.status == 1, "{}{}", run.stdout, run.stderr);
    (run.status, run.json())
}

#[test]
fn attestations_verify_with_keyseal_sigstore_js_and_securesystemslib() {
    let ks = Keyseal::new();
    for (spec, scheme) in [("EC_P256", "ecdsa-sha2-nistp256"), ("RSA_2048", "rsa-pkcs1v15-sha256")] {
        let (key, version) = ks.create_key(spec, "SIGN/VERIFY");
        let (dir, bundle, envelope) = attested(&ks, (&key, &version), &[]);
        let pem = ks.file(&format!("{spec}.pem"));
        ks.public_key(&key, &version, &pem);
        let app = dir.join("bin/app");
        let (status, report) = verify_attestation(
            &ks,
            &bundle,
            &[&app, &dir.join("README")],
            &["--public-key", path(&pem), "--type", SPDX],
        );
        assert_eq!(status, 0, "{spec}: {report}");
        assert_eq!(report["subjects"][0]["subject"], "bin/app", "{report}");
        assert_eq!(sigstore_verify(&bundle, &app, &["--key", path(&pem)]), Ok(()), "{spec}");
        assert_eq!(securesystemslib_verify(&envelope, &pem, scheme), Ok(SPDX.to_string()), "{spec}");

        // Another key, for all three.
        let (other, other_version) = ks.create_key(spec, "SIGN/VERIFY");
        let other_pem = ks.file(&format!("other-{spec}.pem"));
        ks.public_key(&other, &other_version, &other_pem);
        let (status, report) =
            verify_attestation(&ks, &bundle, &[&app], &["--public-key", path(&other_pem), "--type", SPDX]);
        assert_eq!((status, report["reason"].as_str()), (1, Some("key-mismatch")), "{report}");
        assert!(sigstore_verify(&bundle, &app, &["--key", path(&other_pem)]).is_err());
        assert!(securesystemslib_verify(&envelope, &other_pem, scheme).is_err());
    }
}

#[test]
fn attestation_failures_each_have_their_code() {
    let ks = Keyseal::new();
    let (key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (dir, bundle, envelope) = attested(&ks, (&key, &version), &[]);
    let pem = ks.file("pub.pem");
    ks.public_key(&key, &version, &pem);
    let app = dir.join("bin/app");
    let pinned = ["--public-key", path(&pem), "--type", SPDX];
    let reason = |bundle: &Path, files: &[&Path], args: &[&str]| {
        let (status, report) = verify_attestation(&ks, bundle, files, args);
        assert_eq!(status, 1, "{report}");
        report["reason"].as_str().unwrap().to_string()
    };
    assert_eq!(
        reason(&bundle, &[&app], &["--public-key", path(&pem), "--type", "https://slsa.dev/provenance/v1"]),
        "wrong-predicate-type"
    );
    let stranger = ks.file("stranger");
    std::fs::write(&stranger, b"not in the release\n").unwrap();
    assert_eq!(reason(&bundle, &[&app, &stranger], &pinned), "subject-not-found");

    // The statement changed after signing: a subject added, the signature kept.
    let mut forged = read_json(&bundle);
    let engine = base64::engine::general_purpose::STANDARD;
    let payload = engine.decode(forged["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
    let mut statement: Value = serde_json::from_slice(&payload).unwrap();
    let digest = hex::encode(sha256(b"not in the release\n"));
    statement["subject"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "stranger", "digest": {"sha256": digest}}));
    forged["dsseEnvelope"]["payload"] = Value::from(engine.encode(serde_json::to_vec(&statement).unwrap()));
    let forged_file = ks.file("forged.sigstore.json");
    std::fs::write(&forged_file, serde_json::to_vec(&forged).unwrap()).unwrap();
    assert_eq!(reason(&forged_file, &[&stranger], &pinned), "bad-signature");
    // The payload type changed: DSSE signs it too.
    let mut retyped = read_json(&bundle);
    retyped["dsseEnvelope"]["payloadType"] = Value::from("application/json");
    std::fs::write(&forged_file, serde_json::to_vec(&retyped).unwrap()).unwrap();
    assert_eq!(reason(&forged_file, &[&app], &pinned), "bad-signature");

    // A transparency-log entry is not passed over: unusable input.
    let mut logged = read_json(&bundle);
    logged["verificationMaterial"]["tlogEntries"] = serde_json::json!([{ "logIndex": "7" }]);
    std::fs::write(&forged_file, serde_json::to_vec(&logged).unwrap()).unwrap();
    let run =
        ks.run(&["verify-attestation", path(&forged_file), path(&app), "--public-key", path(&pem), "--type", SPDX]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("transparency-log"), "{}", run.stderr);
    assert!(envelope.is_file());
}

#[test]
fn an_attestation_names_its_signer_by_certificate() {
    let ks = Keyseal::new();
    let root = init_root(&ks, "root", "CN=Example Root,O=Example");
    let signer = ks.file("signer.pem");
    let (key, version) = issue(&ks, "root", "code-signing", "CN=Release Signing,O=Example", &signer, &[]);
    let (dir, bundle, _) = attested(&ks, (&key, &version), &["--cert", path(&signer)]);
    assert!(read_json(&bundle)["verificationMaterial"]["certificate"]["rawBytes"].is_string());
    let app = dir.join("bin/app");
    let (status, report) = verify_attestation(&ks, &bundle, &[&app], &["--trust", path(&root), "--type", SPDX]);
    assert_eq!(status, 0, "{report}");
    let other_root = init_root(&ks, "other", "CN=Other Root,O=Example");
    let (status, report) = verify_attestation(&ks, &bundle, &[&app], &["--trust", path(&other_root), "--type", SPDX]);
    assert_eq!((status, report["reason"].as_str()), (1, Some("chain-invalid")), "{report}");
}

/// `keyseal attest --provenance` in a GitHub Actions job (its variables set), checked with
/// the builder and source asked for; outside CI it needs every field from flags.
#[test]
fn provenance_from_github_actions_names_the_workflow_and_the_source() {
    let ks = Keyseal::new();
    let (key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (dir, _) = signed_release(&ks, "built", (&key, &version), &[]);
    let out = dir.join("provenance.sigstore.json");
    let attest = |env: &[(&str, &str)], extra: &[&str]| {
        let mut command = ks.command();
        command.args(["attest", path(&dir), "--key-id", &key, "--key-version-id", &version, "--provenance"]);
        command.args(["--out", path(&out)]).args(extra);
        for name in ["GITHUB_ACTIONS", "GITLAB_CI"] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        command.output().unwrap()
    };
    let github = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "example/app"),
        ("GITHUB_REF", "refs/tags/v1.2.0"),
        ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ("GITHUB_WORKFLOW_REF", "example/app/.github/workflows/release.yml@refs/tags/v1.2.0"),
        ("GITHUB_RUN_ID", "42"),
        ("GITHUB_RUN_ATTEMPT", "1"),
    ];
    let made = attest(&github, &[]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let pem = ks.file("pub.pem");
    ks.public_key(&key, &version, &pem);
    let app = dir.join("bin/app");
    let builder = "https://github.com/example/app/.github/workflows/release.yml@refs/tags/v1.2.0";
    let check = |builder: &str, source: &str| {
        let args = [
            "--public-key",
            path(&pem),
            "--type",
            "https://slsa.dev/provenance/v1",
            "--builder-id",
            builder,
            "--source-uri",
            source,
        ];
        verify_attestation(&ks, &out, &[&app], &args)
    };
    let (status, report) = check(builder, "https://github.com/example/app");
    assert_eq!(status, 0, "{report}");
    assert_eq!(
        check("https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main", "https://github.com/example/app")
            .1["reason"],
        "wrong-builder"
    );
    assert_eq!(check(builder, "https://github.com/example/ap").1["reason"], "wrong-source");
    assert_eq!(sigstore_verify(&out, &app, &["--key", path(&pem)]), Ok(()));

    // Outside CI: refused, naming the flags; with them, written.
    std::fs::remove_file(&out).unwrap();
    let refused = attest(&[], &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--builder-id, --build-type"), "{refused:?}");
    assert!(!out.exists());
    let flags = [
        "--builder-id",
        "https://ci.example.com/release",
        "--build-type",
        "https://ci.example.com/buildtypes/make/v1",
        "--source-uri",
        "https://git.example.com/app",
        "--source-ref",
        "refs/tags/v1",
        "--source-commit",
        "abc",
    ];
    assert!(attest(&[], &flags).status.success());
    assert_eq!(check("https://ci.example.com/release", "https://git.example.com/app").0, 0);
}

/// `sign --detached` writes `<file>.sigstore.json` beside each `<file>.sig`: sigstore-js
/// checks one over its file, keyseal checks them all as detached signatures, and one with
/// another signature fails.
#[test]
fn detached_signatures_come_as_sigstore_bundles_too() {
    let ks = Keyseal::new();
    let (key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (dir, _) = signed_release(&ks, "detached", (&key, &version), &["--detached"]);
    let pem = ks.file("pub.pem");
    ks.public_key(&key, &version, &pem);
    let app_bundle = dir.join("bin/app.sigstore.json");
    assert_eq!(sigstore_verify(&app_bundle, &dir.join("bin/app"), &["--key", path(&pem)]), Ok(()));
    let (status, out) = keyseal_verify(&ks, &[path(&dir), "--public-key", path(&pem)]);
    assert_eq!(status, 0, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let detached: Vec<&str> =
        report["detachedSignatures"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert!(detached.contains(&"bin/app.sigstore.json") && detached.contains(&"README.sigstore.json"), "{out}");

    // README's bundle with bin/app's signature in it: the right form, the wrong file.
    let mut swapped = read_json(&dir.join("README.sigstore.json"));
    swapped["messageSignature"]["signature"] = read_json(&app_bundle)["messageSignature"]["signature"].clone();
    std::fs::write(dir.join("README.sigstore.json"), serde_json::to_vec(&swapped).unwrap()).unwrap();
    let (status, out) = keyseal_verify(&ks, &[path(&dir), "--public-key", path(&pem)]);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains(r#""status": "bad-signature""#), "{out}");
}

/// The certificate form without a time stamp: Sigstore verifiers have no trusted time to
/// check the certificate at, so sigstore-js refuses it, and `sign` says so when it writes one.
#[test]
fn the_certificate_form_needs_a_time_stamp_for_sigstore_verifiers() {
    let ks = Keyseal::new();
    let root = init_root(&ks, "root", "CN=Example Root,O=Example");
    let signer = ks.file("signer.pem");
    let (key, version) = issue(&ks, "root", "code-signing", "CN=Release Signing,O=Example", &signer, &[]);
    let dir = ks.file("unstamped");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app"), b"app\n").unwrap();
    let run = ks.run(&[
        "sign",
        path(&dir),
        "--key-id",
        &key,
        "--key-version-id",
        &version,
        "--cert",
        path(&signer),
        "--out",
        path(&dir),
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stderr.contains("only when signed with --tsa"), "{}", run.stderr);
    let roots = export(&ks, "trusted_root.json", &["--trust", path(&root)]);
    let bundle = dir.join("SHA256SUMS.sigstore.json");
    assert!(sigstore_verify(&bundle, &dir.join("SHA256SUMS"), &["--trusted-root", path(&roots)]).is_err());
}

/// A hostile Sigstore bundle goes through the bundle's bounds: over the 4 MiB cap it is not
/// read, nested beyond reason it does not parse, and a chain of more certificates than
/// keyseal takes is refused before any is decoded past the leaf.
#[test]
fn hostile_sigstore_bundles_are_bounded() {
    let ks = Keyseal::new();
    let (key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let root = init_root(&ks, "root", "CN=Example Root,O=Example");
    let signer = ks.file("signer.pem");
    issue(&ks, "root", "code-signing", "CN=Release Signing,O=Example", &signer, &[]);
    let (dir, _) = signed_release(&ks, "hostile", (&key, &version), &[]);
    let pem = ks.file("pub.pem");
    ks.public_key(&key, &version, &pem);
    let bundle = dir.join("SHA256SUMS.sigstore.json");
    let original = read_json(&bundle);
    let verify = |bytes: Vec<u8>, args: &[&str]| {
        std::fs::write(&bundle, bytes).unwrap();
        let mut all = vec!["verify", "--json", path(&dir), "--bundle", path(&bundle)];
        all.extend(args);
        let run = ks.run(&all);
        (run.status, format!("{}{}", run.stdout, run.stderr))
    };
    let mut huge = original.clone();
    huge["padding"] = Value::from("x".repeat(5 << 20));
    let (status, out) = verify(serde_json::to_vec(&huge).unwrap(), &["--public-key", path(&pem)]);
    assert_eq!(status, 2, "{out}");
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (status, out) = verify(nested.into_bytes(), &["--public-key", path(&pem)]);
    assert_eq!(status, 2, "{out}");
    assert!(out.contains("not JSON"), "{out}");

    let engine = base64::engine::general_purpose::STANDARD;
    let text = std::fs::read_to_string(&signer).unwrap();
    let der = engine.decode(text.lines().filter(|l| !l.starts_with("-----")).collect::<String>()).unwrap();
    let mut piled = original.clone();
    let material = piled["verificationMaterial"].as_object_mut().unwrap();
    material.remove("publicKey");
    let certificates: Vec<Value> = (0..300).map(|_| serde_json::json!({ "rawBytes": engine.encode(&der) })).collect();
    material.insert("x509CertificateChain".into(), serde_json::json!({ "certificates": certificates }));
    let (status, out) = verify(serde_json::to_vec(&piled).unwrap(), &["--trust", path(&root)]);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains("too-many-certificates"), "{out}");
    assert!(out.contains("299 certificates were given"), "the leaf is not counted among them: {out}");
}
