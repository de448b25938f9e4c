//! HSM keys (ProtectionLevel HSM) in a SoftHSM2 token of the test's own, driven through the
//! `keyseal` binary and checked by peers: OpenSSL verifies what the token signed and
//! encrypts what it decrypts, `pkcs11-tool` shows the private keys sensitive and never
//! extractable, and the official SDK makes and uses an HSM key through `keyseal serve`.
//! SoftHSM2 2.6 does RSA-OAEP with SHA-1 only: RSAES_OAEP_SHA_256 on it is a clear
//! `Rejected.UnsupportedOperation`, which the decryption test accepts only from a token
//! that says so.

use crate::common::openssl;
use crate::common::softhsm::SoftHsm;
use crate::common::{Keyseal, SPECS, Server, access_key, path, peer, sign_algorithms};
use serde_json::Value;
use std::process::Command;

/// Creates an HSM key; returns (KeyId, first KeyVersionId).
fn create_hsm_key(ks: &Keyseal, spec: &str, usage: &str) -> (String, String) {
    let created = ks.ok(&["kms", "create-key", "--key-spec", spec, "--key-usage", usage, "--protection-level", "HSM"]);
    let meta = &created["KeyMetadata"];
    assert_eq!(meta["ProtectionLevel"], "HSM", "{created}");
    (meta["KeyId"].as_str().unwrap().to_string(), meta["PrimaryKeyVersion"].as_str().unwrap().to_string())
}

/// `openssl dgst -verify` of `sig` over `message` with the PEM public key `pem`.
fn openssl_verifies(pem: &std::path::Path, algorithm: &str, sig: &std::path::Path, message: &std::path::Path) -> bool {
    let mut args = vec!["dgst", "-sha256", "-verify", path(pem), "-signature", path(sig)];
    if algorithm == "RSA_PSS_SHA_256" {
        args.extend(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]);
    }
    args.push(path(message));
    let (ok, text) = peer("openssl", &args);
    ok && text.contains("Verified OK")
}

/// The audit entries as JSON.
fn audit(ks: &Keyseal) -> Vec<Value> {
    ks.ok(&["audit", "list", "--json"]).as_array().unwrap().clone()
}

#[test]
fn every_spec_and_version_signs_in_the_token_and_openssl_verifies() {
    let hsm = SoftHsm::new("signing");
    let ks = hsm.store();
    let message = ks.file("release.tar.gz");
    std::fs::write(&message, vec![3u8; 50_000]).unwrap();
    for spec in SPECS {
        let (key_id, v1) = create_hsm_key(&ks, spec, "SIGN/VERIFY");
        let v2 = ks.new_version(&key_id);
        assert_eq!(ks.ok(&["kms", "describe-key", "--key-id", &key_id])["KeyMetadata"]["ProtectionLevel"], "HSM");
        for version in [&v1, &v2] {
            let pem = ks.file(&format!("{spec}-{version}.pem"));
            ks.public_key(&key_id, version, &pem);
            for algorithm in sign_algorithms(spec) {
                let sig = ks.file(&format!("{spec}-{version}-{algorithm}.sig"));
                let signed = ks.sign_file(&key_id, version, algorithm, &message, &sig);
                assert!(openssl_verifies(&pem, algorithm, &sig, &message), "{spec} {algorithm}: openssl refused");
                let verified = ks.ok(&[
                    "kms",
                    "asymmetric-verify",
                    "--key-id",
                    &key_id,
                    "--key-version-id",
                    version,
                    "--algorithm",
                    algorithm,
                    "--file",
                    path(&message),
                    "--value",
                    signed["Value"].as_str().unwrap(),
                ]);
                assert_eq!(verified["Value"], true, "{spec} {algorithm}");
            }
        }
        // Both versions' objects are in the token, labelled with the key and version.
        let (ok, objects) = hsm.pkcs11_tool(&["--list-objects", "--type", "privkey"]);
        assert!(ok, "{objects}");
        for version in [&v1, &v2] {
            assert!(objects.contains(&format!("{key_id}/{version}")), "{objects}");
        }
    }
    // Every use of an HSM key says so in its audit entry.
    let signs: Vec<Value> = audit(&ks).into_iter().filter(|e| e["Action"] == "AsymmetricSign").collect();
    assert_eq!(signs.len(), 2 * (2 + 1 + 1));
    assert!(signs.iter().all(|e| e["Result"] == "Success" && e["Detail"] == "ProtectionLevel=HSM"), "{signs:?}");
}

#[test]
fn oaep_ciphertexts_from_openssl_decrypt_in_the_token() {
    let hsm = SoftHsm::new("decrypting");
    let ks = hsm.store();
    let (key_id, version) = create_hsm_key(&ks, "RSA_2048", "ENCRYPT/DECRYPT");
    let pem = ks.file("enc.pem");
    ks.public_key(&key_id, &version, &pem);
    let plaintext = ks.file("plain.txt");
    std::fs::write(&plaintext, b"the launch code is 0000").unwrap();
    for (algorithm, digest) in [("RSAES_OAEP_SHA_1", "sha1"), ("RSAES_OAEP_SHA_256", "sha256")] {
        let blob = ks.file(&format!("{digest}.bin"));
        let (ok, text) = peer(
            "openssl",
            &[
                "pkeyutl",
                "-encrypt",
                "-pubin",
                "-inkey",
                path(&pem),
                "-in",
                path(&plaintext),
                "-out",
                path(&blob),
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                &format!("rsa_oaep_md:{digest}"),
                "-pkeyopt",
                &format!("rsa_mgf1_md:{digest}"),
            ],
        );
        assert!(ok, "{text}");
        let blob_b64 = base64_of(&std::fs::read(&blob).unwrap());
        let args = [
            "kms",
            "asymmetric-decrypt",
            "--key-id",
            &key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            algorithm,
            "--ciphertext-blob",
            &blob_b64,
        ];
        let run = ks.run(&args);
        if run.status == 0 {
            assert_eq!(base64_decode(run.json()["Plaintext"].as_str().unwrap()), b"the launch code is 0000");
        } else {
            // SoftHSM2 2.6 does OAEP with SHA-1 only; any other refusal fails the test.
            assert_eq!(algorithm, "RSAES_OAEP_SHA_256", "{}", run.stderr);
            assert_eq!(run.code(), "Rejected.UnsupportedOperation", "{}", run.stderr);
            assert!(run.stderr.contains("does not do RSAES_OAEP_SHA_256"), "{}", run.stderr);
        }
    }
    // A damaged ciphertext is the usual refusal, not a token error.
    let run = ks.run(&[
        "kms",
        "asymmetric-decrypt",
        "--key-id",
        &key_id,
        "--key-version-id",
        &version,
        "--algorithm",
        "RSAES_OAEP_SHA_1",
        "--ciphertext-blob",
        &base64_of(&[7u8; 256]),
    ]);
    assert_eq!(run.code(), "InvalidParameter", "{}", run.stderr);
    assert!(run.stderr.contains("CiphertextBlob"), "{}", run.stderr);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

#[test]
fn private_keys_are_sensitive_never_extractable_and_not_in_the_store() {
    let hsm = SoftHsm::new("sealed");
    let ks = hsm.store();
    let (key_id, version) = create_hsm_key(&ks, "EC_P256", "SIGN/VERIFY");
    let (ok, objects) = hsm.pkcs11_tool(&["--list-objects", "--type", "privkey"]);
    assert!(ok, "{objects}");
    let ours = objects.split("Private Key Object").find(|o| o.contains(&format!("{key_id}/{version}"))).unwrap();
    assert!(ours.contains("sensitive") && ours.contains("never extractable"), "{ours}");
    let id = version.replace('-', "");
    assert!(ours.contains(&format!("ID:         {id}")), "CKA_ID is the version's UUID: {ours}");
    // The store keeps the public key and the object's id, no sealed private key.
    let db = rusqlite::Connection::open(ks.store().join("keyseal.db")).unwrap();
    let (sealed, object): (Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT sealed_private_key, token_object_id FROM key_versions WHERE key_version_id = ?1",
            [&version],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(sealed.is_empty());
    assert_eq!(hex::encode(object), id);

    // Each key may do what its usage says and nothing else (the token's CKA_SIGN,
    // CKA_DECRYPT, ... as pkcs11-tool prints them).
    let (signer, signer_version) = create_hsm_key(&ks, "RSA_2048", "SIGN/VERIFY");
    let (decrypter, decrypter_version) = create_hsm_key(&ks, "RSA_2048", "ENCRYPT/DECRYPT");
    let (_, objects) = hsm.pkcs11_tool(&["--list-objects", "--type", "privkey"]);
    let usage = |key: &str, version: &str| {
        let object = objects.split("Private Key Object").find(|o| o.contains(&format!("{key}/{version}"))).unwrap();
        object.lines().find(|l| l.trim_start().starts_with("Usage:")).unwrap().trim().to_string()
    };
    assert_eq!(usage(&key_id, &version), "Usage:      sign");
    assert_eq!(usage(&signer, &signer_version), "Usage:      sign");
    assert_eq!(usage(&decrypter, &decrypter_version), "Usage:      decrypt");
}

#[test]
fn keyseal_pkcs11_uri_names_the_token_instead_of_the_stores() {
    let hsm = SoftHsm::new("by-environment");
    let ks = Keyseal {
        dir: tempfile::tempdir().unwrap(),
        env: vec![("SOFTHSM2_CONF".into(), path(&hsm.conf).into()), ("KEYSEAL_PKCS11_URI".into(), hsm.uri())],
    };
    // No `hsm configure`: the variable alone gives the token.
    let (key_id, version) = create_hsm_key(&ks, "EC_P256", "SIGN/VERIFY");
    let message = ks.file("m.txt");
    std::fs::write(&message, b"m").unwrap();
    ks.sign_file(&key_id, &version, "ECDSA_SHA_256", &message, &ks.file("m.sig"));
    let status = ks.ok_text(&["hsm", "status"]);
    assert!(status.contains("uri:   none") && status.contains("(KEYSEAL_PKCS11_URI)"), "{status}");
}

#[test]
fn a_ca_with_an_hsm_root_issues_a_chain_openssl_accepts() {
    let hsm = SoftHsm::new("ca");
    let ks = hsm.store();
    let (root_key, root_version) = create_hsm_key(&ks, "EC_P256", "SIGN/VERIFY");
    let root = ks.file("root.pem");
    ks.ca_init("root", &root_key, &root_version, "CN=HSM Root,O=keyseal tests", "30", &root);
    let (leaf_key, leaf_version) = ks.create_key("RSA_2048", "SIGN/VERIFY");
    let leaf = ks.file("leaf.pem");
    ks.ca_issue("root", "code-signing", &leaf_key, &leaf_version, "CN=Release Signer", "10", &leaf);
    let (ok, text) = peer("openssl", &["verify", "-CAfile", path(&root), "-purpose", "any", path(&leaf)]);
    assert!(ok, "openssl refused the HSM root's chain: {text}");
    let crl = ks.file("root.crl");
    ks.ok_text(&["ca", "crl", "--ca", "root", "--out", path(&crl)]);
    let (ok, text) = peer("openssl", &["crl", "-in", path(&crl), "-CAfile", path(&root), "-noout", "-verify"]);
    assert!(ok && text.contains("verify OK"), "{text}");
}

#[test]
fn no_token_or_a_wrong_pin_is_a_clear_refusal_that_changes_nothing() {
    let hsm = SoftHsm::new("refusals");
    let ks = hsm.store();
    let (key_id, version) = create_hsm_key(&ks, "EC_P256", "SIGN/VERIFY");
    let message = ks.file("m.txt");
    std::fs::write(&message, b"m").unwrap();
    let sign = |ks: &Keyseal| ks.sign_run(&key_id, &version, "ECDSA_SHA_256", &message);
    let keys_before = ks.ok(&["kms", "list-keys"])["TotalCount"].clone();

    // The token gone: SoftHSM pointed at an empty token directory.
    let elsewhere = SoftHsm::new("other");
    let gone = Keyseal { dir: ks_dir_clone(&ks), env: vec![("SOFTHSM2_CONF".into(), path(&elsewhere.conf).into())] };
    let run = sign(&gone);
    assert_eq!(run.code(), "Keyseal.HsmUnavailable", "{}", run.stderr);
    assert!(run.stderr.contains("no token") && run.stderr.contains("token=refusals"), "{}", run.stderr);
    let created = gone.run(&[
        "kms",
        "create-key",
        "--key-spec",
        "EC_P256",
        "--key-usage",
        "SIGN/VERIFY",
        "--protection-level",
        "HSM",
    ]);
    assert_eq!(created.code(), "Keyseal.HsmUnavailable", "{}", created.stderr);

    // A PIN file others may read is refused before the token sees the PIN.
    hsm.set_pin_file_mode(0o644);
    let run = ks.run(&["hsm", "status"]);
    assert!(run.stderr.contains("open to group or others") && run.stderr.contains("chmod 600"), "{}", run.stderr);
    hsm.set_pin_file_mode(0o600);

    // A wrong PIN.
    std::fs::write(hsm.pin_file(), "000000\n").unwrap();
    let run = sign(&ks);
    assert_eq!(run.code(), "Keyseal.HsmPinIncorrect", "{}", run.stderr);
    assert!(!run.stderr.contains("000000"), "the PIN is never shown: {}", run.stderr);
    let created = ks.run(&[
        "kms",
        "create-key",
        "--key-spec",
        "EC_P256",
        "--key-usage",
        "SIGN/VERIFY",
        "--protection-level",
        "HSM",
    ]);
    assert_eq!(created.code(), "Keyseal.HsmPinIncorrect", "{}", created.stderr);
    // `hsm configure` logs in first: a wrong PIN keeps the store's URI as it was.
    let other_uri = hsm.uri().replace("token=refusals", "token=refusals;serial=0");
    assert_eq!(ks.run(&["hsm", "configure", "--uri", &other_uri]).status, 2);
    assert_eq!(ks.meta("hsm.uri"), hsm.uri());
    assert_eq!(ks.run(&["hsm", "status"]).status, 2);

    // Nothing was created; every refusal is audited with its code, in the store that
    // refused it; the right PIN works again.
    std::fs::write(hsm.pin_file(), format!("{}\n", crate::common::softhsm::PIN)).unwrap();
    assert_eq!(ks.ok(&["kms", "list-keys"])["TotalCount"], keys_before);
    assert_eq!(gone.ok(&["kms", "list-keys"])["TotalCount"], keys_before);
    let refusals = |ks: &Keyseal| -> Vec<String> {
        audit(ks)
            .iter()
            .filter(|e| e["Result"] == "Failure")
            .map(|e| format!("{} {}", e["Action"].as_str().unwrap(), e["ErrorCode"].as_str().unwrap()))
            .collect()
    };
    assert_eq!(refusals(&gone), ["AsymmetricSign Keyseal.HsmUnavailable", "CreateKey Keyseal.HsmUnavailable"]);
    assert_eq!(
        refusals(&ks),
        [
            "AsymmetricSign Keyseal.HsmPinIncorrect",
            "CreateKey Keyseal.HsmPinIncorrect",
            "ConfigureHsm Keyseal.HsmUnavailable"
        ]
    );
    assert_eq!(sign(&ks).status, 0);
    ks.ok_text(&["audit", "verify"]);
}

/// The same store seen by another environment: a copy of its directory.
fn ks_dir_clone(ks: &Keyseal) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (ok, text) = peer("cp", &["-a", path(&ks.store()), path(&dir.path().join("store"))]);
    assert!(ok, "{text}");
    dir
}

#[test]
fn disabling_needs_no_token_and_deletion_destroys_the_objects() {
    let hsm = SoftHsm::new("lifecycle");
    let ks = hsm.store();
    let (key_id, version) = create_hsm_key(&ks, "EC_P256K", "SIGN/VERIFY");
    let second = ks.new_version(&key_id);
    let label = |v: &str| format!("{key_id}/{v}");
    let listed = || hsm.pkcs11_tool(&["--list-objects"]).1;
    assert!(listed().contains(&label(&version)) && listed().contains(&label(&second)));

    // Disabled: refused before the token is asked anything (here, a token that is not there).
    ks.ok(&["kms", "disable-key", "--key-id", &key_id]);
    let no_token = Keyseal { dir: ks_dir_clone(&ks), env: vec![("SOFTHSM2_CONF".into(), "/nonexistent".into())] };
    let message = ks.file("m.txt");
    std::fs::write(&message, b"m").unwrap();
    assert_eq!(no_token.sign_run(&key_id, &version, "ECDSA_SHA_256", &message).code(), "Rejected.Disabled");
    assert_eq!(ks.sign_run(&key_id, &version, "ECDSA_SHA_256", &message).code(), "Rejected.Disabled");
    assert!(listed().contains(&label(&version)), "disabling leaves the token alone");

    // Scheduled for deletion, then its date passes: the next request destroys the objects.
    ks.ok(&["kms", "enable-key", "--key-id", &key_id]);
    ks.ok(&["kms", "schedule-key-deletion", "--key-id", &key_id, "--pending-window-in-days", "7"]);
    assert!(listed().contains(&label(&version)), "pending deletion keeps the objects until the date");
    let db = rusqlite::Connection::open(ks.store().join("keyseal.db")).unwrap();
    db.execute("UPDATE keys SET delete_date = 1 WHERE key_id = ?1", [&key_id]).unwrap();
    drop(db);
    assert_eq!(ks.run(&["kms", "describe-key", "--key-id", &key_id]).code(), "Forbidden.KeyNotFound");
    let after = listed();
    assert!(!after.contains(&key_id), "the token still holds the deleted key's objects: {after}");
    let purge = audit(&ks).into_iter().find(|e| e["Action"] == "PurgeKey").unwrap();
    assert_eq!(purge["Detail"], "ProtectionLevel=HSM token_objects_destroyed=4", "{purge}");
}

#[test]
fn the_official_sdk_creates_and_signs_with_an_hsm_key_through_serve() {
    let python = crate::sdk_interop::sdk_python();
    let hsm = SoftHsm::new("served");
    let ks = hsm.store();
    let admin = access_key(
        &ks,
        "admin",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:*"],"Resource":["*"]}]}"#,
    );
    let server = Server::start(&ks);
    let out = ks.file("sdk-out");
    std::fs::create_dir(&out).unwrap();
    let run = Command::new(&python)
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/kms_sdk_hsm.py"))
        .env("KEYSEAL_ENDPOINT", &server.endpoint)
        .env("OUT", &out)
        .env("ADMIN_AK", &admin.0)
        .env("ADMIN_SECRET", &admin.1)
        .output()
        .unwrap();
    let log = server.stop();
    let said = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success() && said.contains("sdk hsm: all checks passed"), "{said}\nserver log:\n{log}");
    assert!(openssl_verifies(&out.join("hsm.pem"), "ECDSA_SHA_256", &out.join("hsm.sig"), &out.join("message.txt")));
    let (_, objects) = hsm.pkcs11_tool(&["--list-objects", "--type", "privkey"]);
    assert!(objects.contains("Private Key Object; EC"), "the SDK's key is in the token: {objects}");
}

#[test]
fn a_release_signed_by_an_hsm_key_under_an_hsm_root_verifies_with_its_time_stamp() {
    let hsm = SoftHsm::new("release");
    let ks = hsm.store();
    let (root_key, root_version) = create_hsm_key(&ks, "RSA_2048", "SIGN/VERIFY");
    let (signer, signer_version) = create_hsm_key(&ks, "EC_P256", "SIGN/VERIFY");
    let (tsa, tsa_version) = create_hsm_key(&ks, "EC_P256K", "SIGN/VERIFY");
    let (root, leaf, tsa_cert) = (ks.file("root.pem"), ks.file("signer.pem"), ks.file("tsa.pem"));
    ks.ca_init("root", &root_key, &root_version, "CN=HSM Release Root", "30", &root);
    ks.ca_issue("root", "code-signing", &signer, &signer_version, "CN=HSM Release Signer", "10", &leaf);
    ks.ca_issue("root", "timestamping", &tsa, &tsa_version, "CN=HSM TSA", "10", &tsa_cert);

    // `sign` through the HSM key, with its certificate; `verify` by the chain to the root.
    let release = ks.file("release");
    std::fs::create_dir(&release).unwrap();
    std::fs::write(release.join("app"), b"my program\n").unwrap();
    let signed = ks.run(&[
        "sign",
        path(&release),
        "--key-id",
        &signer,
        "--key-version-id",
        &signer_version,
        "--cert",
        path(&leaf),
        "--out",
        path(&release),
    ]);
    assert_eq!(signed.status, 0, "{}{}", signed.stdout, signed.stderr);
    let verified = ks.run(&["verify", path(&release), "--trust", path(&root)]);
    assert_eq!(verified.status, 0, "{}{}", verified.stdout, verified.stderr);
    let pem = ks.file("signer-pub.pem");
    ks.public_key(&signer, &signer_version, &pem);
    let sums = release.join("SHA256SUMS");
    assert!(openssl_verifies(&pem, "ECDSA_SHA_256", &release.join("SHA256SUMS.sig"), &sums));

    // An RFC 3161 time stamp over SHA256SUMS from a TSA whose key is in the token.
    openssl::time_stamp_checked(&ks, &sums, (&tsa, &tsa_version), &tsa_cert, &root);
}

/// `curl` GET of `path` on `server`: (HTTP status, body).
fn get(server: &Server, path: &str) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", &format!("http://{}{path}", server.endpoint)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_string())
}

#[test]
fn serve_is_ready_only_with_its_token_and_healthy_without() {
    let hsm = SoftHsm::new("readiness");
    let ks = hsm.store();
    let server = Server::start(&ks);
    assert_eq!(get(&server, "/readyz"), (200, r#"{"Status":"ready"}"#.to_string()));
    assert_eq!(get(&server, "/healthz").0, 200);
    // The token deleted under the running server: /readyz asks the token itself and says so.
    let (ok, text) =
        crate::common::run_peer(hsm.command("softhsm2-util").args(["--delete-token", "--token", "readiness"]));
    assert!(ok, "{text}");
    assert_eq!(get(&server, "/readyz"), (503, r#"{"Status":"not ready","Code":"Keyseal.HsmUnavailable"}"#.to_string()));
    assert_eq!(get(&server, "/healthz").0, 200);
    let log = server.stop();
    assert!(log.contains(r#"PKCS#11 token "readiness""#) && log.contains("logged in"), "{log}");
    assert!(log.contains("not ready: Keyseal.HsmUnavailable"), "{log}");

    // The token not there: the server starts, healthy but not ready, and says why in its log
    // only (the answer names the code, not the module or the token).
    let elsewhere = SoftHsm::new("not-this-one");
    let gone = Keyseal { dir: ks_dir_clone(&ks), env: vec![("SOFTHSM2_CONF".into(), path(&elsewhere.conf).into())] };
    let server = Server::start(&gone);
    assert_eq!(get(&server, "/healthz").0, 200);
    assert_eq!(get(&server, "/readyz"), (503, r#"{"Status":"not ready","Code":"Keyseal.HsmUnavailable"}"#.to_string()));
    let log = server.stop();
    assert!(log.contains("warning: Keyseal.HsmUnavailable") && log.contains("not ready"), "{log}");

    // A store without a token is ready without one.
    let plain = Keyseal::new();
    plain.create_key("EC_P256", "SIGN/VERIFY");
    let server = Server::start(&plain);
    assert_eq!(get(&server, "/readyz").0, 200);
    server.stop();
}

#[test]
fn without_a_pin_source_the_pin_is_asked_on_the_terminal_only() {
    let hsm = SoftHsm::new("prompted");
    let ks = Keyseal { dir: tempfile::tempdir().unwrap(), env: vec![("SOFTHSM2_CONF".into(), path(&hsm.conf).into())] };
    let uri = format!("pkcs11:token=prompted?module-path={}", crate::common::softhsm::MODULE);
    // `script` (util-linux) gives keyseal a terminal and types the PIN.
    let command = format!("{} hsm configure --uri '{uri}'", env!("CARGO_BIN_EXE_keyseal"));
    let mut child = ks
        .command_via("script")
        .args(["-qfec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(format!("{}\n", crate::common::softhsm::PIN).as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{transcript}");
    assert!(transcript.contains(r#"PIN for PKCS#11 token "prompted""#), "{transcript}");
    // Typed ahead, the PIN reaches the terminal before keyseal turns echo off; after the
    // prompt it is never shown.
    let after_prompt = transcript.split("PIN for PKCS#11 token").nth(1).unwrap();
    assert!(!after_prompt.contains(crate::common::softhsm::PIN), "the PIN is echoed: {transcript}");
    assert_eq!(ks.meta("hsm.uri"), uri);

    // With no terminal to ask on, an HSM key's use says how to give the PIN.
    let run = ks.run(&[
        "kms",
        "create-key",
        "--key-spec",
        "EC_P256",
        "--key-usage",
        "SIGN/VERIFY",
        "--protection-level",
        "HSM",
    ]);
    assert_eq!(run.code(), "Keyseal.HsmUnavailable", "{}", run.stderr);
    assert!(run.stderr.contains("no terminal") && run.stderr.contains("pin-source=file:"), "{}", run.stderr);
}
