//! The audit log through the binary: what is recorded (and what never is), filtering, and
//! `keyseal audit verify` catching an edited or deleted entry.

use crate::common::{Keyseal, path};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyseal::kms::audit;
use sha2::{Digest, Sha256};

fn entries(ks: &Keyseal, filters: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["audit", "list", "--json"];
    args.extend_from_slice(filters);
    ks.ok(&args).as_array().unwrap().clone()
}

#[test]
fn records_every_operation_allowed_or_refused_and_never_secrets() {
    for ks in crate::common::postgres::both() {
        let (key_id, version) = ks.create_key("RSA_2048", "SIGN/VERIFY");
        let digest = STANDARD.encode(Sha256::digest(b"release"));
        ks.ok(&[
            "kms",
            "asymmetric-sign",
            "--key-id",
            &key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            "RSA_PSS_SHA_256",
            "--digest",
            &digest,
        ]);
        ks.run(&[
            "kms",
            "asymmetric-sign",
            "--key-id",
            &key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            "ECDSA_SHA_256",
            "--digest",
            &digest,
        ]);
        let (enc_id, enc_version) = ks.create_key("RSA_2048", "ENCRYPT/DECRYPT");
        let secret = STANDARD.encode(b"SUPER-SECRET-PLAINTEXT");
        let blob = ks.ok(&[
            "kms",
            "asymmetric-encrypt",
            "--key-id",
            &enc_id,
            "--key-version-id",
            &enc_version,
            "--algorithm",
            "RSAES_OAEP_SHA_256",
            "--plaintext",
            &secret,
        ])["CiphertextBlob"]
            .as_str()
            .unwrap()
            .to_string();
        ks.ok(&[
            "kms",
            "asymmetric-decrypt",
            "--key-id",
            &enc_id,
            "--key-version-id",
            &enc_version,
            "--algorithm",
            "RSAES_OAEP_SHA_256",
            "--ciphertext-blob",
            &blob,
        ]);
        ks.run(&["kms", "describe-key", "--key-id", "missing"]);

        let all = entries(&ks, &[]);
        let actions: Vec<&str> = all.iter().map(|e| e["Action"].as_str().unwrap()).collect();
        assert_eq!(
            actions,
            [
                "CreateKey",
                "AsymmetricSign",
                "AsymmetricSign",
                "CreateKey",
                "AsymmetricEncrypt",
                "AsymmetricDecrypt",
                "DescribeKey"
            ]
        );
        let signed = &all[1];
        assert_eq!(signed["Result"], "Success");
        assert_eq!(signed["KeyId"], key_id.as_str());
        assert_eq!(signed["KeyVersionId"], version.as_str());
        assert_eq!(signed["Algorithm"], "RSA_PSS_SHA_256");
        assert_eq!(signed["Digest"], digest.as_str());
        assert!(signed["Principal"].as_str().unwrap().starts_with("local:"));
        assert_eq!(all[2]["Result"], "Failure");
        assert_eq!(all[2]["ErrorCode"], "Rejected.UnsupportedOperation");
        assert_eq!(all[6]["ErrorCode"], "Forbidden.KeyNotFound");
        assert_eq!(all[6]["KeyId"], "missing", "a refused request records the KeyId as given");

        let only_sign = entries(&ks, &["--key-id", &key_id, "--action", "AsymmetricSign"]);
        assert_eq!(only_sign.len(), 2);
        assert_eq!(entries(&ks, &["--since", "2000-01-01", "--until", "2100-01-01"]).len(), 7);
        assert_eq!(entries(&ks, &["--since", "2100-01-01"]).len(), 0);
        assert_eq!(
            entries(&ks, &["--limit", "2"]).iter().map(|e| e["Seq"].as_u64().unwrap()).collect::<Vec<_>>(),
            [6, 7]
        );
        let bad_time = ks.run(&["audit", "list", "--since", "last tuesday"]);
        assert_eq!(bad_time.status, 2);
        assert!(bad_time.stderr.contains("2026-01-31"), "the error shows the expected form: {}", bad_time.stderr);

        let text = ks.run(&["audit", "list"]).stdout;
        assert!(text.contains("AsymmetricSign") && text.contains("Failure (Rejected.UnsupportedOperation)"), "{text}");
        // Neither the listing nor any store file holds the plaintext.
        let plaintext = b"SUPER-SECRET-PLAINTEXT";
        assert!(!ks.ok(&["audit", "list", "--json"]).to_string().contains("SUPER-SECRET"));
        for bytes in crate::common::postgres::stored_bytes(&ks) {
            assert!(!bytes.windows(plaintext.len()).any(|w| w == plaintext));
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }
}

fn tamper(ks: &Keyseal, sql: &str) {
    let db = rusqlite::Connection::open(ks.store().join("keyseal.db")).unwrap();
    db.execute_batch(sql).unwrap();
}

#[test]
fn verify_names_the_edited_and_the_deleted_entry() {
    let ks = Keyseal::new();
    let (key_id, _) = ks.create_key("EC_P256K", "SIGN/VERIFY");
    for _ in 0..5 {
        ks.ok(&["kms", "describe-key", "--key-id", &key_id]);
    }
    let intact = ks.run(&["audit", "verify"]);
    assert_eq!(intact.status, 0);
    assert!(intact.stdout.contains("intact: 6 entries"), "{}", intact.stdout);
    let report = ks.ok(&["audit", "verify", "--json"]);
    assert_eq!(report["problems"].as_array().unwrap().len(), 0);
    assert_eq!(report["head_hash"].as_str().unwrap().len(), 64);

    tamper(&ks, "UPDATE audit SET principal = 'local:someone-else' WHERE seq = 3");
    let edited = ks.run(&["audit", "verify", "--json"]);
    assert_eq!(edited.status, 1);
    let problems = edited.json()["problems"].clone();
    assert_eq!(
        problems,
        serde_json::json!([{"seq": 3, "kind": "edited", "message": "entry 3 was edited: its contents do not match its hash"}])
    );
    let text = ks.run(&["audit", "verify"]).stdout;
    assert!(text.contains("entry 3 was edited"), "{text}");

    tamper(&ks, "DELETE FROM audit WHERE seq = 5");
    let report = ks.run(&["audit", "verify", "--json"]).json();
    let kinds: Vec<(u64, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["seq"].as_u64().unwrap(), p["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [(3, "edited"), (6, "deleted")], "entry 6 is the first after the gap");
    assert!(report["problems"][1]["message"].as_str().unwrap().contains("entry 5 is missing"));

    // New operations keep appending after the recorded head; the damage stays reported.
    ks.ok(&["kms", "describe-key", "--key-id", &key_id]);
    assert_eq!(ks.run(&["audit", "verify"]).status, 1);
}

#[test]
fn verify_catches_a_deleted_tail() {
    let ks = Keyseal::new();
    let (key_id, _) = ks.create_key("EC_P256", "SIGN/VERIFY");
    ks.ok(&["kms", "describe-key", "--key-id", &key_id]);
    tamper(&ks, "DELETE FROM audit WHERE seq = 2");
    let report = ks.run(&["audit", "verify", "--json"]);
    assert_eq!(report.status, 1);
    assert_eq!(report.json()["problems"][0]["kind"], "truncated");
}

/// Regression (issue 12): a refused request's KeyId is kept as named but bounded, so a
/// caller cannot grow the log with a huge parameter; and `audit list` shows the control
/// characters it carried escaped, never raw.
#[test]
fn a_refused_keyid_is_stored_bounded_and_shown_escaped() {
    let ks = Keyseal::new();
    let hostile = format!("evil\n\x1b[2J{}", "é".repeat(5000));
    let refused = ks.run(&["kms", "describe-key", "--key-id", &hostile]);
    assert_eq!(refused.code(), "Forbidden.KeyNotFound");
    let entry = entries(&ks, &["--action", "DescribeKey"]).pop().unwrap();
    let stored = entry["KeyId"].as_str().unwrap();
    assert!(stored.starts_with("evil\n\x1b[2J"), "what the request named is kept: {stored:?}");
    assert!(stored.len() <= audit::MAX_NAMED_LEN + 32, "{} bytes kept", stored.len());
    assert!(stored.ends_with("more bytes]"), "the cut is marked: {stored:?}");
    let shown = ks.ok_text(&["audit", "list", "--action", "DescribeKey"]);
    assert!(!shown.contains('\x1b') && shown.contains("evil\\n\\x1b[2J"), "{shown:?}");
    assert_eq!(ks.run(&["audit", "verify"]).status, 0, "the bounded entry is part of an intact chain");
}

/// Regression (issue 15 item 8): a refusal whose audit entry cannot be written is reported
/// as a store failure naming the refusal, not as the refusal alone.
#[test]
fn a_refusal_that_cannot_be_audited_says_so() {
    let ks = Keyseal::new();
    ks.create_key("EC_P256", "SIGN/VERIFY");
    let db = rusqlite::Connection::open(ks.store().join("keyseal.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER no_refusals BEFORE INSERT ON audit WHEN NEW.result = 'Failure'
         BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();
    let refused = ks.run(&["kms", "describe-key", "--key-id", "no-such-key"]);
    assert_eq!(refused.code(), "Keyseal.StoreUnavailable");
    let message = refused.error()["Message"].as_str().unwrap().to_string();
    assert!(message.contains("Forbidden.KeyNotFound") && message.contains("disk full"), "{message}");
}

/// The store of `ks` opened in this process (a directory or its PostgreSQL URL).
fn open_store(ks: &Keyseal) -> keyseal::kms::store::Store {
    let location = match ks.env.iter().find(|(name, _)| name == "KEYSEAL_STORE") {
        Some((_, url)) => std::path::PathBuf::from(url),
        None => ks.store(),
    };
    keyseal::kms::store::Store::open(&location).unwrap()
}

#[test]
fn a_signed_checkpoint_catches_a_rebuilt_chain() {
    for ks in crate::common::postgres::both() {
        let (audit_key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
        let (rsa_key, rsa_version) = ks.create_key("RSA_2048", "SIGN/VERIFY");
        let (pem, rsa_pem) = (ks.file("audit.pem"), ks.file("rsa.pem"));
        ks.public_key(&audit_key, &version, &pem);
        ks.public_key(&rsa_key, &rsa_version, &rsa_pem);
        let checkpoint = |key: &str, version: &str, name: &str| {
            let out = ks.file(name);
            let made =
                ks.ok_text(&["audit", "checkpoint", "--key-id", key, "--key-version-id", version, "--out", path(&out)]);
            assert!(made.contains("checkpoint of keyseal.local/audit/"), "{made}");
            out
        };
        let p256 = checkpoint(&audit_key, &version, "p256.checkpoint");
        let rsa = checkpoint(&rsa_key, &rsa_version, "rsa.checkpoint");
        let note = std::fs::read_to_string(&p256).unwrap();
        let lines: Vec<&str> = note.lines().collect();
        assert!(
            lines[0].starts_with("keyseal.local/audit/") && lines[3].starts_with("time ") && lines[4].is_empty(),
            "{note}"
        );
        assert!(lines[5].starts_with(&format!("\u{2014} keyseal.local/{audit_key}/{version} ")), "{note}");

        // The chain grows; it still extends both checkpoints.
        ks.create_key("EC_P256K", "SIGN/VERIFY");
        let verify = |checkpoint: &std::path::Path, pem: &std::path::Path| {
            ks.run(&["audit", "verify", "--checkpoint", path(checkpoint), "--public-key", path(pem)])
        };
        for (checkpoint, pem) in [(&p256, &pem), (&rsa, &rsa_pem)] {
            let run = verify(checkpoint, pem);
            assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
            assert!(
                run.stdout.contains("checkpoint extended") && run.stdout.contains("audit log intact"),
                "{}",
                run.stdout
            );
        }
        // A checkpoint signed by another key, or altered, is refused.
        let other = verify(&p256, &rsa_pem);
        assert_eq!(other.status, 2);
        assert!(other.stderr.contains("no signature on the checkpoint is by this public key"), "{}", other.stderr);
        let altered = ks.file("altered.checkpoint");
        std::fs::write(&altered, note.replacen(lines[1], &format!("{}", lines[1].parse::<u64>().unwrap() + 1), 1))
            .unwrap();
        let run = verify(&altered, &pem);
        assert!(run.status == 2 && run.stderr.contains("does not verify"), "{}", run.stderr);

        // Someone who can write the store rebuilds the chain with one entry changed: the
        // chain alone verifies, and the checkpoint catches it.
        let store = open_store(&ks);
        store
            .write(|tx| {
                let entries = audit::list(tx, &audit::Filter::default())?;
                tx.execute("DELETE FROM audit", keyseal::params![])?;
                tx.execute("DELETE FROM meta WHERE name LIKE 'audit_head%'", keyseal::params![])?;
                for mut entry in entries {
                    if entry.seq == 2 {
                        entry.principal = "local:someone-else".into();
                    }
                    audit::append(tx, &entry)?;
                }
                Ok(())
            })
            .unwrap();
        drop(store);
        assert_eq!(ks.run(&["audit", "verify"]).status, 0, "the rebuilt chain alone verifies");
        let caught = verify(&p256, &pem);
        assert_eq!(caught.status, 1, "{}{}", caught.stdout, caught.stderr);
        assert!(
            caught.stdout.contains("checkpoint NOT extended") && caught.stdout.contains("rewritten"),
            "{}",
            caught.stdout
        );
    }
}

#[test]
fn serve_signs_checkpoints_periodically() {
    let ks = Keyseal::new();
    let (key, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let pem = ks.file("audit.pem");
    ks.public_key(&key, &version, &pem);
    let dir = ks.file("checkpoints");
    let every = ["--checkpoint-every", "10s", "--checkpoint-key-id", &key, "--checkpoint-key-version-id", &version];
    let server = crate::common::Server::start_with(&ks, &[&every[..], &["--checkpoint-dir", path(&dir)]].concat());
    let started = std::time::Instant::now();
    let written = loop {
        let files: Vec<_> = std::fs::read_dir(&dir).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
        if let Some(file) = files.into_iter().next() {
            break file;
        }
        assert!(started.elapsed().as_secs() < 30, "no checkpoint was written");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let log = server.stop();
    assert!(log.contains("audit checkpoint written to"), "{log}");
    let name = written.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("audit-") && name.ends_with(".checkpoint"), "{name}");
    let run = ks.run(&["audit", "verify", "--checkpoint", path(&written), "--public-key", path(&pem)]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    // A duration under 10 s, or without a unit, is refused before anything starts.
    for bad in ["5s", "10"] {
        let run = ks.run(&[
            "serve",
            "--checkpoint-every",
            bad,
            "--checkpoint-key-id",
            &key,
            "--checkpoint-key-version-id",
            &version,
            "--checkpoint-dir",
            path(&dir),
        ]);
        assert_eq!(run.status, 2, "{bad}: {}", run.stderr);
    }
}

#[test]
fn a_checkpoint_can_be_time_stamped_and_openssl_checks_the_stamp() {
    let ks = Keyseal::new();
    let (root_key, root_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (tsa_key, tsa_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (audit_key, audit_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (root, tsa_cert) = (ks.file("root.pem"), ks.file("tsa.pem"));
    ks.ca_init("root", &root_key, &root_version, "CN=Checkpoint Root", "30", &root);
    ks.ca_issue("root", "timestamping", &tsa_key, &tsa_version, "CN=Checkpoint TSA", "10", &tsa_cert);
    let server = crate::common::Server::start_with(
        &ks,
        &["--tsa-key-id", &tsa_key, "--tsa-key-version-id", &tsa_version, "--tsa-cert", path(&tsa_cert)],
    );
    let out = ks.file("audit.checkpoint");
    let tsa = format!("http://{}/tsa", server.endpoint);
    let made = ks.ok_text(&[
        "audit",
        "checkpoint",
        "--key-id",
        &audit_key,
        "--key-version-id",
        &audit_version,
        "--out",
        path(&out),
        "--tsa",
        &tsa,
    ]);
    server.stop();
    assert!(made.contains("time-stamped at"), "{made}");
    let reply = ks.file("audit.checkpoint.tsr");
    let (ok, text) = crate::common::peer(
        "openssl",
        &[
            "ts",
            "-verify",
            "-data",
            path(&out),
            "-in",
            path(&reply),
            "-CAfile",
            path(&root),
            "-untrusted",
            path(&tsa_cert),
        ],
    );
    assert!(ok && text.contains("Verification: OK"), "{text}");
}
