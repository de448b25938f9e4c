//! A store written by keyseal 0.1.0 (`fixtures/stores/v0.1.0/`, made by its
//! `make-v0.1.0.sh`) still opens with the test passphrase, lists its keys as written, signs
//! with every signing key version — each signature checked by OpenSSL — decrypts the
//! ciphertexts written then, and its audit chain verifies: the guard for a change of crypto
//! provider or schema (issue 14), which must keep every existing store working.

use crate::common::{Keyseal, peer, sign_algorithms};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stores/v0.1.0").join(name)
}

/// A scratch store holding a copy of the fixture's database, with the modes a store needs.
fn fixture_store() -> Keyseal {
    use std::os::unix::fs::PermissionsExt;
    let ks = Keyseal::new();
    std::fs::create_dir(ks.store()).unwrap();
    std::fs::set_permissions(ks.store(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let db = ks.store().join("keyseal.db");
    std::fs::copy(fixture("keyseal.db"), &db).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    ks
}

fn versions(ks: &Keyseal, key_id: &str) -> Vec<String> {
    let listed = ks.ok(&["kms", "list-key-versions", "--key-id", key_id]);
    let versions = listed["KeyVersions"]["KeyVersion"].as_array().unwrap();
    versions.iter().map(|v| v["KeyVersionId"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_store_written_by_0_1_0_opens_signs_and_decrypts() {
    let ks = fixture_store();
    signs_decrypts_and_verifies_its_audit_chain(&ks);

    // 0.1.0 counted one schema sequence (4); each domain now counts its own, and the CA's
    // and access keys' tables, made then, are not made again when first used. The KMS's
    // third migration (protection levels, HSM keys) ran on the old store when it was opened.
    ks.ok(&["ca", "list", "--json"]);
    ks.ok(&["access", "list", "--json"]);
    let db = rusqlite::Connection::open(ks.store().join("keyseal.db")).unwrap();
    let version: u32 = db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 5);
    for (schema, count) in [("kms", "3"), ("ca", "1"), ("access", "2")] {
        assert_eq!(ks.meta(&format!("schema.{schema}")), count, "schema.{schema}");
    }
}

/// `keyseal store migrate` from the 0.1.0 store into PostgreSQL: the copy signs, decrypts
/// and verifies its audit chain as the original does; a second migrate into it is refused.
#[test]
fn a_store_written_by_0_1_0_migrates_to_postgresql() {
    let old = fixture_store();
    let new = crate::common::postgres::store();
    let url = new.env.iter().find(|(name, _)| name == "KEYSEAL_STORE").unwrap().1.clone();
    let migrated = new.ok_text(&["store", "migrate", "--from", crate::common::path(&old.store()), "--to", &url]);
    assert!(
        migrated.contains("audit chain verified") && !migrated.contains(crate::common::postgres::PASSWORD),
        "{migrated}"
    );
    signs_decrypts_and_verifies_its_audit_chain(&new);
    let again = new.run(&["store", "migrate", "--from", crate::common::path(&old.store()), "--to", &url]);
    assert_eq!(again.status, 2);
    assert!(again.stderr.contains("the target store is not empty"), "{}", again.stderr);
}

/// What a store made by 0.1.0 still does, wherever it is now.
fn signs_decrypts_and_verifies_its_audit_chain(ks: &Keyseal) {
    let written: Vec<Value> = std::fs::read_to_string(fixture("keys.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(written.len(), 4);
    let data = ks.file("data.txt");
    std::fs::write(&data, b"signed after the change\n").unwrap();
    let mut checked = 0;
    for key in &written {
        let key_id = key["KeyId"].as_str().unwrap();
        let described = ks.ok(&["kms", "describe-key", "--key-id", key_id])["KeyMetadata"].clone();
        for field in ["KeySpec", "KeyUsage", "Description"] {
            assert_eq!(described[field], key[field], "{key_id} {field}");
        }
        if key["KeyUsage"] != "SIGN/VERIFY" {
            continue;
        }
        for version in versions(ks, key_id) {
            let pem = ks.file(&format!("{version}.pem"));
            ks.public_key(key_id, &version, &pem);
            for algorithm in sign_algorithms(key["KeySpec"].as_str().unwrap()) {
                let sig = ks.file(&format!("{version}-{algorithm}.sig"));
                ks.sign_file(key_id, &version, algorithm, &data, &sig);
                let mut args = vec!["dgst", "-sha256", "-verify", pem.to_str().unwrap(), "-signature"];
                args.push(sig.to_str().unwrap());
                if *algorithm == "RSA_PSS_SHA_256" {
                    args.extend(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"]);
                }
                args.push(data.to_str().unwrap());
                let (ok, text) = peer("openssl", &args);
                assert!(ok && text.contains("Verified OK"), "{key_id} {version} {algorithm}: {text}");
                checked += 1;
            }
        }
    }
    // RSA: 2 algorithms; P-256: 2 versions; secp256k1: 1.
    assert_eq!(checked, 5);

    let rsa = written.iter().find(|k| k["KeyUsage"] == "ENCRYPT/DECRYPT").unwrap()["KeyId"].as_str().unwrap();
    let version = versions(ks, rsa).remove(0);
    for algorithm in ["RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1"] {
        let blob = std::fs::read_to_string(fixture(&format!("{algorithm}.b64"))).unwrap();
        let args = [
            "kms",
            "asymmetric-decrypt",
            "--key-id",
            rsa,
            "--key-version-id",
            &version,
            "--algorithm",
            algorithm,
            "--ciphertext-blob",
            blob.trim(),
        ];
        let plaintext = ks.ok(&args)["Plaintext"].as_str().unwrap().to_string();
        assert_eq!(plaintext, "Zml4dHVyZSBzZWNyZXQ=", "{algorithm}: base64 of \"fixture secret\"");
    }
    assert_eq!(ks.ok(&["kms", "describe-key", "--key-id", "alias/release"])["KeyMetadata"]["KeySpec"], "EC_P256");
    let (status, report) = {
        let run = ks.run(&["audit", "verify", "--json"]);
        (run.status, run.stdout)
    };
    assert_eq!(status, 0, "the audit chain written by 0.1.0 and continued now verifies: {report}");
}

#[test]
fn a_new_store_makes_each_domains_tables_when_it_is_first_used() {
    let ks = Keyseal::new();
    ks.ok(&["kms", "list-keys"]);
    let tables = |ks: &Keyseal| -> Vec<String> {
        let db = rusqlite::Connection::open(ks.store().join("keyseal.db")).unwrap();
        let mut statement = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
        statement.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert!(!tables(&ks).contains(&"cas".to_string()), "the KMS alone makes no CA tables");
    ks.ok(&["ca", "list", "--json"]);
    ks.ok(&["access", "list", "--json"]);
    let made = tables(&ks);
    for table in [
        "keys",
        "key_versions",
        "aliases",
        "audit",
        "meta",
        "cas",
        "certificates",
        "access_keys",
        "access_policies",
        "nonces",
    ] {
        assert!(made.contains(&table.to_string()), "{table} missing from {made:?}");
    }
}
