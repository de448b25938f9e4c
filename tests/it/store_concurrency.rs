//! Several `keyseal` processes on one store at once: every one of them succeeds (SQLite's
//! busy timeout makes them take turns), nothing is lost, and the audit chain stays intact.

use crate::common::Keyseal;
use base64::Engine;
use std::process::Stdio;

#[test]
fn parallel_processes_share_a_store_cleanly() {
    for ks in crate::common::postgres::both() {
        // Lock the store first so every worker agrees on the passphrase's salt.
        let (key_id, version) = ks.create_key("EC_P256K", "SIGN/VERIFY");
        let digest = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        const WORKERS: usize = 4;
        const ROUNDS: usize = 8;
        let children: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let script = format!(
                "set -e; for i in $(seq {ROUNDS}); do \
                   \"$KS\" kms create-key --key-spec EC_P256 --key-usage SIGN/VERIFY >/dev/null; \
                   \"$KS\" kms asymmetric-sign --key-id {key_id} --key-version-id {version} --algorithm ECDSA_SHA_256 --digest {digest} >/dev/null; \
                   \"$KS\" kms create-alias --alias-name alias/w{worker}-$i --key-id {key_id} >/dev/null; \
                 done"
            );
            let mut command = ks.command();
            command.env("KS", env!("CARGO_BIN_EXE_keyseal")).stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut shell = std::process::Command::new("sh");
            shell.arg("-c").arg(script);
            for (name, value) in command.get_envs() {
                match value {
                    Some(value) => shell.env(name, value),
                    None => shell.env_remove(name),
                };
            }
            shell.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "a worker failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        // Every key created is listed, not only counted: page through them all.
        let mut listed = std::collections::HashSet::new();
        for page in 1.. {
            let keys = ks.ok(&["kms", "list-keys", "--page-size", "100", "--page-number", &page.to_string()]);
            assert_eq!(keys["TotalCount"], 1 + WORKERS * ROUNDS);
            let on_page = keys["Keys"]["Key"].as_array().unwrap();
            if on_page.is_empty() {
                break;
            }
            listed.extend(on_page.iter().map(|k| k["KeyId"].as_str().unwrap().to_string()));
        }
        assert_eq!(listed.len(), 1 + WORKERS * ROUNDS, "every key created is listed once");
        assert_eq!(ks.ok(&["kms", "list-aliases"])["TotalCount"], WORKERS * ROUNDS);
        let report = ks.ok(&["audit", "verify", "--json"]);
        assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
        // CreateKey, the workers' three operations each round, and the listings above: two
        // pages of list-keys (the second empty, which ends them) and list-aliases.
        assert_eq!(report["entries"], 1 + 3 * WORKERS * ROUNDS + 2 + 1);
        if !ks.is_postgres() {
            let integrity: String = rusqlite::Connection::open(ks.store().join("keyseal.db"))
                .unwrap()
                .query_row("PRAGMA integrity_check", [], |row| row.get(0))
                .unwrap();
            assert_eq!(integrity, "ok");
        }
    }
}

#[test]
fn two_processes_locking_a_new_store_agree_on_one_passphrase() {
    let ks = Keyseal::new();
    let children: Vec<_> = (0..2)
        .map(|_| {
            ks.command()
                .args(["kms", "create-key", "--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    // Both keys are there (an empty listing would make the loop below check nothing),
    // and each signs: both were sealed under the one passphrase.
    let keys = ks.ok(&["kms", "list-keys"]);
    assert_eq!(keys["TotalCount"], 2, "{keys}");
    assert_eq!(keys["Keys"]["Key"].as_array().unwrap().len(), 2, "{keys}");
    for key in keys["Keys"]["Key"].as_array().unwrap() {
        let key_id = key["KeyId"].as_str().unwrap();
        let version = ks.ok(&["kms", "describe-key", "--key-id", key_id])["KeyMetadata"]["PrimaryKeyVersion"]
            .as_str()
            .unwrap()
            .to_string();
        let digest = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        ks.ok(&[
            "kms",
            "asymmetric-sign",
            "--key-id",
            key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            "ECDSA_SHA_256",
            "--digest",
            &digest,
        ]);
    }
}
