//! `ci-templates/verify.sh`, the script a project ships beside its release: with keyseal
//! on the PATH and with only sha256sum + openssl, on a good release, a partial download,
//! a tampered file, and without a pinned key.

use crate::common::{Keyseal, Run};
use std::path::{Path, PathBuf};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ci-templates/verify.sh")
}

/// A signed release in `release/` and the signer's public key; returns (release, key).
fn release(ks: &Keyseal, spec: &str, algorithm: &str) -> (PathBuf, PathBuf) {
    let (key_id, version) = ks.create_key(spec, "SIGN/VERIFY");
    let root = ks.file("release");
    std::fs::create_dir_all(root.join("linux")).unwrap();
    std::fs::write(root.join("linux/app"), b"binary for linux").unwrap();
    std::fs::write(root.join("read me.txt"), b"notes").unwrap();
    let signed = ks.run(&[
        "sign",
        root.to_str().unwrap(),
        "--key-id",
        &key_id,
        "--key-version-id",
        &version,
        "--algorithm",
        algorithm,
        "--out",
        root.to_str().unwrap(),
    ]);
    assert_eq!(signed.status, 0, "{}", signed.stderr);
    let public = ks.file("signer.pub.pem");
    ks.public_key(&key_id, &version, &public);
    (root, public)
}

/// Runs verify.sh with a PATH that has keyseal on it or not.
fn verify(ks: &Keyseal, with_keyseal: bool, args: &[&str]) -> Run {
    let bin = ks.file("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("keyseal");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_keyseal"), &link).unwrap();
    }
    let path = if with_keyseal { format!("{}:/usr/bin:/bin", bin.display()) } else { "/usr/bin:/bin".to_string() };
    std::process::Command::new("sh")
        .arg(script())
        .args(args)
        .env("PATH", path)
        .env_remove("KEYSEAL_STORE")
        .output()
        .unwrap()
        .into()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_good_release_verifies_both_ways() {
    for (spec, algorithm) in [("EC_P256", "ECDSA_SHA_256"), ("RSA_2048", "RSA_PSS_SHA_256")] {
        let ks = Keyseal::new();
        let (root, public) = release(&ks, spec, algorithm);
        let with = verify(&ks, true, &["--public-key", s(&public), s(&root)]);
        assert_eq!(with.status, 0, "{}\n{}", with.stdout, with.stderr);
        assert!(with.stdout.contains("checked by keyseal"), "{}", with.stdout);
        let without = verify(&ks, false, &["--public-key", s(&public), s(&root)]);
        assert_eq!(without.status, 0, "{spec}: {}\n{}", without.stdout, without.stderr);
        assert!(without.stdout.contains("checked by sha256sum and openssl"), "{}", without.stdout);
    }
}

#[test]
fn a_partial_download_verifies_and_tampering_fails() {
    let ks = Keyseal::new();
    let (root, public) = release(&ks, "EC_P256K", "ECDSA_SHA_256");
    std::fs::remove_file(root.join("read me.txt")).unwrap();
    for with_keyseal in [true, false] {
        let run = verify(&ks, with_keyseal, &["--public-key", s(&public), s(&root)]);
        assert_eq!(run.status, 0, "only the downloaded file is checked: {}\n{}", run.stdout, run.stderr);
    }
    std::fs::write(root.join("linux/app"), b"binary for linux, patched").unwrap();
    // Caught for what it is, with verify.sh's exit 1 for a failed check: keyseal names the
    // file `modified`; sha256sum says FAILED for it and the script that a file does not match.
    let run = verify(&ks, true, &["--public-key", s(&public), s(&root)]);
    assert_eq!(run.status, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(line_with(&run.stdout, "MODIFIED").is_some_and(|l| l.contains("linux/app")), "{}", run.stdout);
    assert!(run.stdout.contains("signature ok"), "only the file failed: {}", run.stdout);
    assert!(run.stderr.contains("verify.sh: FAILED (keyseal verify said no; see above)"), "{}", run.stderr);
    let run = verify(&ks, false, &["--public-key", s(&public), s(&root)]);
    assert_eq!(run.status, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("linux/app: FAILED"), "sha256sum names the file: {}", run.stdout);
    assert!(run.stderr.contains("verify.sh: a file does not match SHA256SUMS"), "{}", run.stderr);
    assert!(run.stderr.contains("verify.sh: FAILED"), "{}", run.stderr);
    assert!(!run.stderr.contains("does not verify"), "the signature still verifies: {}", run.stderr);
}

/// A file downloaded alone beside the manifest (`linux/app` saved as `app`) is found by
/// its file name, as `keyseal verify FILE` finds it, both ways; tampered, it fails both
/// ways. A name two entries share is not guessed.
#[test]
fn a_lone_download_is_matched_by_its_file_name_both_ways() {
    let ks = Keyseal::new();
    let (root, public) = release(&ks, "EC_P256", "ECDSA_SHA_256");
    let downloads = ks.file("downloads");
    std::fs::create_dir(&downloads).unwrap();
    for file in ["SHA256SUMS", "SHA256SUMS.sig", "keyseal.bundle.json"] {
        std::fs::copy(root.join(file), downloads.join(file)).unwrap();
    }
    std::fs::copy(root.join("linux/app"), downloads.join("app")).unwrap();
    for with_keyseal in [true, false] {
        let run = verify(&ks, with_keyseal, &["--public-key", s(&public), s(&downloads)]);
        assert_eq!(run.status, 0, "with keyseal {with_keyseal}: {}\n{}", run.stdout, run.stderr);
    }
    let run = verify(&ks, false, &["--public-key", s(&public), s(&downloads)]);
    assert!(run.stdout.contains("app: OK"), "{}", run.stdout);

    std::fs::write(downloads.join("app"), b"binary for linux, patched").unwrap();
    let run = verify(&ks, true, &["--public-key", s(&public), s(&downloads)]);
    assert_eq!(run.status, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(line_with(&run.stdout, "MODIFIED").is_some_and(|l| l.contains("linux/app")), "{}", run.stdout);
    let run = verify(&ks, false, &["--public-key", s(&public), s(&downloads)]);
    assert_eq!(run.status, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("app: FAILED"), "{}", run.stdout);

    // With `app` also at the release root, a lone `app` is that entry, not linux/app.
    let sums = std::fs::read_to_string(root.join("SHA256SUMS")).unwrap();
    let app = sums.lines().find(|l| l.ends_with("  linux/app")).unwrap().replace("linux/app", "app");
    std::fs::write(downloads.join("SHA256SUMS"), format!("{sums}{app}\n")).unwrap();
    std::fs::write(downloads.join("app"), b"binary for linux").unwrap();
    let run = verify(&ks, false, &["--public-key", s(&public), s(&downloads)]);
    assert!(run.stdout.contains("app: OK") && !run.stdout.contains("linux/app"), "{}", run.stdout);
}

/// The first line of `text` that contains `word`.
fn line_with<'t>(text: &'t str, word: &str) -> Option<&'t str> {
    text.lines().find(|line| line.contains(word))
}

#[test]
fn a_replaced_manifest_or_no_pinned_key_fails_plainly() {
    let ks = Keyseal::new();
    let (root, public) = release(&ks, "EC_P256", "ECDSA_SHA_256");
    // Without a pinned key the signature cannot be checked: that is a failure, said so.
    let run = verify(&ks, false, &[s(&root)]);
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("verify.sh: the signature over SHA256SUMS was NOT checked"), "{}", run.stderr);
    assert!(run.stdout.contains("linux/app: OK"), "the files were checked: {}", run.stdout);
    // An attacker rewrites SHA256SUMS to match a patched file: the signature catches it.
    std::fs::write(root.join("linux/app"), b"evil").unwrap();
    let sums = std::fs::read_to_string(root.join("SHA256SUMS")).unwrap();
    let evil = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"evil"));
    let rewritten: String = sums
        .lines()
        .map(|l| if l.ends_with("  linux/app") { format!("{evil}  linux/app\n") } else { format!("{l}\n") })
        .collect();
    std::fs::write(root.join("SHA256SUMS"), rewritten).unwrap();
    // keyseal: the manifest is not the signed one (`manifest-modified`); without it,
    // sha256sum is satisfied by the rewritten SHA256SUMS and openssl's signature check fails.
    let run = verify(&ks, true, &["--public-key", s(&public), s(&root)]);
    assert_eq!(run.status, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("SIGNATURE FAILED [manifest-modified]"), "{}", run.stdout);
    assert!(run.stderr.contains("verify.sh: FAILED (keyseal verify said no; see above)"), "{}", run.stderr);
    let run = verify(&ks, false, &["--public-key", s(&public), s(&root)]);
    assert_eq!(run.status, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("linux/app: OK"), "the rewritten manifest fits the file: {}", run.stdout);
    let refusal = format!("verify.sh: the signature over SHA256SUMS does not verify with {}", s(&public));
    assert!(run.stderr.contains(&refusal), "{}", run.stderr);
    assert!(run.stderr.contains("verify.sh: FAILED"), "{}", run.stderr);
    let bogus = verify(&ks, false, &["--bogus"]);
    assert_eq!(bogus.status, 2);
    assert!(bogus.stderr.contains("verify.sh: unknown option --bogus"), "{}", bogus.stderr);
    assert!(verify(&ks, false, &["--help"]).stdout.contains("sh verify.sh"));
}
