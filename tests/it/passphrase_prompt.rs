//! The passphrase: its prompt on a real terminal — `script` (util-linux) gives keyseal a
//! pty and types the answers; a new store asks twice and refuses two different answers, a
//! locked store asks once — and the commands that need it, exactly those `keyseal --help`
//! names.

use crate::common::Keyseal;
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `keyseal ARGS` on a pseudo-terminal with `typed` as the keyboard; returns the
/// transcript.
fn on_terminal(ks: &Keyseal, args: &str, typed: &str) -> String {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_keyseal"));
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("KEYSEAL_STORE", ks.store())
        .env_remove("KEYSEAL_PASSPHRASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` from util-linux must be installed (.ci/run installs bsdutils)");
    child.stdin.take().unwrap().write_all(typed.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_new_store_asks_twice_and_a_locked_one_once() {
    let ks = Keyseal::new();
    let create = "kms create-key --key-spec EC_P256 --key-usage SIGN/VERIFY";
    let mismatch = on_terminal(&ks, create, "first passphrase\nsecond passphrase\n");
    assert!(
        mismatch.contains("repeat the passphrase")
            && mismatch.contains("Keyseal.PassphraseMismatch")
            && mismatch.contains("the two passphrases differ"),
        "{mismatch}"
    );

    let created = on_terminal(&ks, create, "the store passphrase\nthe store passphrase\n");
    assert!(created.contains("new keyseal store passphrase") && created.contains("\"KeyMetadata\""), "{created}");

    let again = on_terminal(&ks, create, "the store passphrase\n");
    assert!(again.contains("keyseal store passphrase:") && !again.contains("repeat"), "{again}");
    assert!(again.contains("\"KeyMetadata\""), "{again}");
    let wrong = on_terminal(&ks, create, "not the store passphrase\n");
    assert!(wrong.contains("Keyseal.WrongPassphrase"), "{wrong}");

    // The passphrase typed at the prompt is the one KEYSEAL_PASSPHRASE must give later.
    let listed =
        ks.command().env("KEYSEAL_PASSPHRASE", "the store passphrase").args(["kms", "list-keys"]).output().unwrap();
    assert!(listed.status.success());
    let keys: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(keys["TotalCount"], 2);
}

/// Runs `keyseal ARGS` with no passphrase and nothing to prompt on, stopping it (and
/// failing) if it is still running after a minute: `serve` would run on when it unlocked.
fn without_passphrase(ks: &Keyseal, args: &[&str]) -> crate::common::Run {
    let mut child = ks
        .command()
        .env_remove("KEYSEAL_PASSPHRASE")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap().into();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    panic!("keyseal {args:?} still ran after a minute without a passphrase");
}

/// The commands `keyseal --help` says need the passphrase: the list after "need it:".
fn commands_the_help_names(ks: &Keyseal) -> Vec<String> {
    let help = ks.ok_text(&["--help"]).split_whitespace().collect::<Vec<_>>().join(" ");
    let list = help.split("need it: ").nth(1).and_then(|rest| rest.split('.').next()).expect("a list of commands");
    list.split(", ").flat_map(|item| item.split(" and ")).map(str::to_string).collect()
}

/// Regression (issue 13 item 14): the top-level help listed only four kms actions as
/// needing the passphrase. Every command it names is refused without one, and commands
/// it does not name work without one.
#[test]
fn the_top_help_names_exactly_the_commands_that_need_the_passphrase() {
    let ks = Keyseal::new();
    let (signing, v) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (secrets, sv) = ks.create_key("RSA_2048", "ENCRYPT/DECRYPT");
    let (signing, v, secrets, sv) = (signing.as_str(), v.as_str(), secrets.as_str(), sv.as_str());
    let file = |name: &str| ks.file(name).to_str().unwrap().to_string();
    let csr = file("signer.csr");
    let (root, root2, leaf, crl, release, signed, demo) = (
        file("root.pem"),
        file("root2.pem"),
        file("leaf.pem"),
        file("crl.pem"),
        file("release"),
        file("out"),
        file("demo"),
    );
    let store = ks.store().to_str().unwrap().to_string();
    let digest = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let sign = [
        "kms",
        "asymmetric-sign",
        "--key-id",
        signing,
        "--key-version-id",
        v,
        "--algorithm",
        "ECDSA_SHA_256",
        "--digest",
        digest,
    ];
    let encrypt = [
        "kms",
        "asymmetric-encrypt",
        "--key-id",
        secrets,
        "--key-version-id",
        sv,
        "--algorithm",
        "RSAES_OAEP_SHA_256",
        "--plaintext",
        "aGk=",
    ];
    ks.ok_text(&[
        "ca",
        "init",
        "--name",
        "root",
        "--key-id",
        signing,
        "--key-version-id",
        v,
        "--subject",
        "CN=Root",
        "--out",
        &root,
    ]);
    let (tsa, tsq, tsr) = (file("tsa.pem"), file("q.tsq"), file("r.tsr"));
    let (predicate, attestation) = (file("sbom.json"), file("sbom.sigstore.json"));
    std::fs::write(&predicate, b"{}").unwrap();
    ks.ca_issue("root", "timestamping", signing, v, "CN=TSA", "1", std::path::Path::new(&tsa));
    let zeros = "00".repeat(32);
    ks.ok_text(&["timestamp", "query", "--digest", &zeros, "--out", &tsq]);
    let signature = ks.ok(&sign)["Value"].as_str().unwrap().to_string();
    let blob = ks.ok(&encrypt)["CiphertextBlob"].as_str().unwrap().to_string();
    std::fs::create_dir(&release).unwrap();
    std::fs::write(ks.file("release/app"), "app").unwrap();

    let needs: Vec<(&str, Vec<&str>)> = vec![
        ("kms create-key", vec!["kms", "create-key", "--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"]),
        ("kms create-key-version", vec!["kms", "create-key-version", "--key-id", signing]),
        ("kms asymmetric-sign", sign.to_vec()),
        (
            "kms asymmetric-decrypt",
            vec![
                "kms",
                "asymmetric-decrypt",
                "--key-id",
                secrets,
                "--key-version-id",
                sv,
                "--algorithm",
                "RSAES_OAEP_SHA_256",
                "--ciphertext-blob",
                &blob,
            ],
        ),
        ("sign", vec!["sign", &release, "--key-id", signing, "--key-version-id", v, "--out", &signed]),
        (
            "attest",
            vec![
                "attest",
                &release,
                "--key-id",
                signing,
                "--key-version-id",
                v,
                "--predicate-type",
                "https://spdx.dev/Document",
                "--predicate",
                &predicate,
                "--out",
                &attestation,
            ],
        ),
        (
            "ca init",
            vec![
                "ca",
                "init",
                "--name",
                "root2",
                "--key-id",
                signing,
                "--key-version-id",
                v,
                "--subject",
                "CN=Root 2",
                "--out",
                &root2,
            ],
        ),
        (
            "ca issue",
            vec![
                "ca",
                "issue",
                "--ca",
                "root",
                "--profile",
                "code-signing",
                "--key-id",
                signing,
                "--key-version-id",
                v,
                "--subject",
                "CN=Signer",
                "--days",
                "1",
                "--out",
                &leaf,
            ],
        ),
        (
            "ca csr",
            vec!["ca", "csr", "--key-id", signing, "--key-version-id", v, "--subject", "CN=Signer", "--out", &csr],
        ),
        ("ca crl", vec!["ca", "crl", "--ca", "root", "--out", &crl]),
        (
            "timestamp reply",
            vec![
                "timestamp",
                "reply",
                "--key-id",
                signing,
                "--key-version-id",
                v,
                "--cert",
                &tsa,
                "--in",
                &tsq,
                "--out",
                &tsr,
            ],
        ),
        ("access create", vec!["access", "create", "ci"]),
        ("serve", vec!["serve", "--listen", "127.0.0.1:0"]),
        // On a store given with --store (on its own throwaway store it needs none).
        ("demo --store", vec!["--store", &store, "demo", "--dir", &demo]),
    ];
    let named: Vec<&str> = needs.iter().map(|(name, _)| *name).collect();
    assert_eq!(commands_the_help_names(&ks), named);
    for (name, args) in &needs {
        let run = without_passphrase(&ks, args);
        assert!(run.status == 2 && run.stderr.contains("PassphraseRequired"), "{name}: {}\n{}", run.status, run.stderr);
    }
    let free: Vec<Vec<&str>> = vec![
        vec!["kms", "describe-key", "--key-id", signing],
        vec!["kms", "get-public-key", "--key-id", signing, "--key-version-id", v],
        vec![
            "kms",
            "asymmetric-verify",
            "--key-id",
            signing,
            "--key-version-id",
            v,
            "--algorithm",
            "ECDSA_SHA_256",
            "--digest",
            digest,
            "--value",
            &signature,
        ],
        encrypt.to_vec(),
        vec!["kms", "create-alias", "--alias-name", "alias/release", "--key-id", signing],
        vec!["ca", "list"],
        vec!["access", "list"],
        vec!["audit", "verify"],
        vec!["timestamp", "query", "--digest", &zeros, "--out", &tsr],
    ];
    for args in &free {
        let run = without_passphrase(&ks, args);
        assert_eq!(run.status, 0, "{args:?} needed a passphrase:\n{}", run.stderr);
    }
}
