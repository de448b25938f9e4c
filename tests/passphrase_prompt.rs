//! The passphrase prompt on a real terminal: `script` (util-linux) gives keyseal a pty and
//! types the answers. A new store asks twice and refuses two different answers; a locked
//! store asks once.

mod common;

use common::Keyseal;
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
        mismatch.contains("repeat the passphrase") && mismatch.contains("the two passphrases differ"),
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
