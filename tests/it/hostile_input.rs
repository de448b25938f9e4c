//! What `keyseal verify` and `keyseal cert verify` do with input an attacker made: each test
//! replays one attack (a bundle pointing elsewhere, devices and FIFOs where files belong,
//! piles of certificates built to make path building explode, names that forge output
//! lines, a closed stdout, planted symbolic links, a revoked signer) and asserts the fixed
//! behaviour: the exit code, the reason code, nothing read outside the release, and time
//! and memory bounded with a generous margin. Every run here is under a time limit and a
//! 1 GiB address-space limit; a run that exceeds either fails the test.

use crate::common::path;

use crate::common::bounded::{assert_cheap, bounded};
use crate::common::{Keyseal, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const QUICK: Duration = Duration::from_secs(10);

/// A signed release `dir/name` with files a.bin and b.bin, and the signer's public key.
struct Signed {
    ks: Keyseal,
    key_id: String,
    version: String,
    public_key: PathBuf,
}

impl Signed {
    fn new() -> Signed {
        let ks = Keyseal::new();
        let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
        let public_key = ks.file("pub.pem");
        ks.public_key(&key_id, &version, &public_key);
        Signed { ks, key_id, version, public_key }
    }

    fn release(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.ks.file(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, body) in files {
            std::fs::write(dir.join(file), body).unwrap();
        }
        let signed = self.ks.run(&[
            "sign",
            path(&dir),
            "--key-id",
            &self.key_id,
            "--key-version-id",
            &self.version,
            "--out",
            path(&dir),
        ]);
        assert_eq!(signed.status, 0, "{}", signed.stderr);
        dir
    }

    fn verify_in(&self, dir: &Path, extra: &[&str]) -> Run {
        let mut args = vec!["verify", "--public-key", path(&self.public_key)];
        args.extend_from_slice(extra);
        bounded(&self.ks, dir, &args, QUICK).0
    }
}

fn set_manifest_name(bundle: &Path, name: &str) {
    let mut value: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    value["manifest"]["name"] = Value::String(name.into());
    std::fs::write(bundle, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
}

#[test]
fn a_bundle_cannot_point_the_verifier_at_another_manifest() {
    let s = Signed::new();
    let download = s.release("download", &[("a.bin", "new a"), ("b.bin", "new b")]);
    // An older, genuinely signed release copied into a subfolder, and a bundle aimed at it.
    let legit = s.release("download/legit", &[("old.bin", "old")]);
    std::fs::copy(legit.join("keyseal.bundle.json"), download.join("keyseal.bundle.json")).unwrap();
    for hostile in ["legit/SHA256SUMS", "../../../../../../etc/passwd", "/etc/passwd", "/dev/zero", "/dev/stdin", ".."]
    {
        set_manifest_name(&download.join("keyseal.bundle.json"), hostile);
        let run = s.verify_in(&download, &[]);
        assert_eq!(run.status, 2, "{hostile}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("[bad-input]") && run.stderr.contains("not a plain file name"), "{}", run.stderr);
        assert!(!run.stdout.contains("verified"), "{}", run.stdout);
    }
}

#[test]
fn verify_finds_the_bundle_in_the_directory_it_checks() {
    let s = Signed::new();
    let release = s.release("rel", &[("a.bin", "a"), ("b.bin", "b")]);
    let elsewhere = s.ks.file("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    // `keyseal verify rel/` from another directory reads rel/keyseal.bundle.json.
    let run = s.verify_in(&elsewhere, &[path(&release), "--json"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["files"].as_array().unwrap().len(), 2);
    // With only --bundle, the directory holding the bundle is what is checked.
    let bundle = release.join("keyseal.bundle.json");
    let run = s.verify_in(&elsewhere, &["--bundle", path(&bundle), "--json"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["files"].as_array().unwrap().len(), 2);
}

#[cfg(unix)]
#[test]
fn metadata_inputs_are_regular_files_of_bounded_size() {
    let s = Signed::new();
    let release = s.release("rel", &[("a.bin", "a")]);
    let sig = release.join("SHA256SUMS.sig");
    let original_sig = std::fs::read(&sig).unwrap();

    // A signature that is a device, or a FIFO nobody writes to: an error, never "absent".
    std::fs::remove_file(&sig).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &sig).unwrap();
    let run = s.verify_in(&release, &[]);
    assert_eq!(run.status, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    std::fs::remove_file(&sig).unwrap();
    assert!(Command::new("mkfifo").arg(&sig).status().unwrap().success());
    let run = s.verify_in(&release, &[]);
    assert_eq!(run.status, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("a FIFO"), "{}", run.stderr);
    std::fs::remove_file(&sig).unwrap();
    std::fs::write(&sig, &original_sig).unwrap();

    // An oversized signature, bundle or manifest is refused without being read whole.
    for (name, size) in [("SHA256SUMS.sig", 64 << 10), ("keyseal.bundle.json", 4 << 20), ("SHA256SUMS", 64 << 20)] {
        let file = release.join(name);
        let original = std::fs::read(&file).unwrap();
        let grown = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        grown.set_len(size + 1).unwrap();
        let run = s.verify_in(&release, &[]);
        assert_eq!(run.status, 2, "{name}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("larger than"), "{}", run.stderr);
        std::fs::write(&file, original).unwrap();
    }

    // The bundle and the public key through symlinks to devices.
    let dev_bundle = s.ks.file("dev-bundle.json");
    std::os::unix::fs::symlink("/dev/urandom", &dev_bundle).unwrap();
    let run = s.verify_in(&release, &["--bundle", path(&dev_bundle)]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    let run = bounded(&s.ks, &release, &["verify", "--public-key", "/dev/stdin"], QUICK).0;
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert_eq!(s.verify_in(&release, &[]).status, 0, "the release itself is fine");
}

#[cfg(unix)]
#[test]
fn release_files_that_are_fifos_are_unreadable_without_blocking() {
    let s = Signed::new();
    let release = s.release("rel", &[("a.bin", "a"), ("b.bin", "b")]);
    std::fs::remove_file(release.join("a.bin")).unwrap();
    assert!(Command::new("mkfifo").arg(release.join("a.bin")).status().unwrap().success());
    let whole = s.verify_in(&release, &["--json"]);
    assert_eq!(whole.status, 1, "{}{}", whole.stdout, whole.stderr);
    let files = whole.json()["files"].clone();
    assert_eq!(files[0]["name"], "a.bin");
    assert_eq!(files[0]["status"], "unreadable", "{files}");
    assert_eq!(files[1]["status"], "ok");
    let alone = s.verify_in(&release, &[path(&release.join("a.bin")), "--json"]);
    assert_eq!(alone.status, 1, "{}{}", alone.stdout, alone.stderr);
    assert_eq!(alone.json()["files"][0]["status"], "unreadable");
    // Seen for what it is and not opened, rather than opened and found unreadable.
    let detail = alone.json()["files"][0]["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("not a regular file (") && detail.ends_with("not read"), "{detail}");
}

/// Certificates made in the test, quickly: P-256 keys from fixed scalars, signed with the
/// mini-CA's own extension profile.
mod pki {
    use der::{DecodePem, EncodePem};
    use keyseal::ca::profile::{ExtensionInputs, FixedProfile, Profile, extensions};
    use p256::ecdsa::{DerSignature, SigningKey};
    use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};
    use std::str::FromStr;
    use x509_cert::builder::{Builder, CertificateBuilder};
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::time::Validity;

    pub fn key(seed: u8) -> SigningKey {
        let mut scalar = [0x11u8; 32];
        scalar[31] = seed;
        scalar[0] = 0x01;
        SigningKey::from_slice(&scalar).unwrap()
    }

    fn spki(key: &SigningKey) -> SubjectPublicKeyInfoOwned {
        let der = key.verifying_key().to_public_key_der().unwrap();
        <SubjectPublicKeyInfoOwned as der::Decode>::from_der(der.as_bytes()).unwrap()
    }

    /// PEM of a certificate for `subject_key` named `subject`, issued by `issuer` with
    /// `issuer_key`; `serial` makes otherwise equal certificates distinct.
    pub fn issue(
        subject: &str,
        subject_key: &SigningKey,
        issuer: &str,
        issuer_key: &SigningKey,
        profile: Profile,
        serial: u32,
    ) -> String {
        let (subject_spki, issuer_spki) = (spki(subject_key), spki(issuer_key));
        let inputs = ExtensionInputs {
            subject_key: &subject_spki,
            issuer_key: &issuer_spki,
            path_len: None,
            sans: &[],
            crl_url: None,
        };
        let profile = FixedProfile {
            issuer: Name::from_str(issuer).unwrap(),
            subject: Name::from_str(subject).unwrap(),
            extensions: extensions(profile, &inputs).unwrap(),
        };
        let mut serial_bytes = vec![0x01];
        serial_bytes.extend_from_slice(&serial.to_be_bytes());
        let validity = Validity::from_now(std::time::Duration::from_secs(86_400 * 30)).unwrap();
        let builder =
            CertificateBuilder::new(profile, SerialNumber::new(&serial_bytes).unwrap(), validity, subject_spki)
                .unwrap();
        let cert = builder.build::<_, DerSignature>(issuer_key).unwrap();
        cert.to_pem(der::pem::LineEnding::LF).unwrap()
    }

    pub fn check(pem: &str) {
        x509_cert::Certificate::from_pem(pem).unwrap();
    }
}

/// Two CA names whose certificates all cross-sign each other (every "A" is signed by the
/// key of every "B" and back), `per_name` of each, and a leaf under "A": every path of up
/// to the maximum depth verifies signature by signature, none reaches the trust anchor.
fn cross_signed_pile(per_name: u32) -> (String, Vec<String>) {
    use keyseal::ca::profile::Profile;
    let (a, b, leaf) = (pki::key(1), pki::key(2), pki::key(3));
    let mut pile = Vec::new();
    for serial in 0..per_name {
        pile.push(pki::issue("CN=Pile A", &a, "CN=Pile B", &b, Profile::IntermediateCa, serial));
        pile.push(pki::issue("CN=Pile B", &b, "CN=Pile A", &a, Profile::IntermediateCa, serial));
    }
    let leaf = pki::issue("CN=Pile Leaf", &leaf, "CN=Pile A", &a, Profile::CodeSigning, 0);
    pki::check(&leaf);
    (leaf, pile)
}

fn unrelated_root(ks: &Keyseal) -> PathBuf {
    use keyseal::ca::profile::Profile;
    let key = pki::key(9);
    let root = ks.file("unrelated-root.pem");
    std::fs::write(&root, pki::issue("CN=Unrelated Root", &key, "CN=Unrelated Root", &key, Profile::RootCa, 1))
        .unwrap();
    root
}

#[test]
fn path_building_stays_bounded_on_cross_signed_piles() {
    let ks = Keyseal::new();
    let root = unrelated_root(&ks);
    let (leaf, pile) = cross_signed_pile(128);
    let (leaf_file, chain_file) = (ks.file("leaf.pem"), ks.file("pile.pem"));
    std::fs::write(&leaf_file, &leaf).unwrap();
    std::fs::write(&chain_file, pile.concat()).unwrap();
    let args = ["cert", "verify", path(&leaf_file), "--chain", path(&chain_file), "--trust", path(&root), "--json"];
    let (run, usage) = bounded(&ks, ks.dir.path(), &args, Duration::from_secs(20));
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["reason"], "budget-exceeded", "{}", run.stdout);
    assert_cheap(usage);

    // Above the cap of untrusted certificates, nothing is even tried.
    let (_, big_pile) = cross_signed_pile(129);
    std::fs::write(&chain_file, big_pile.concat()).unwrap();
    let (run, usage) = bounded(&ks, ks.dir.path(), &args, Duration::from_secs(20));
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["reason"], "too-many-certificates", "{}", run.stdout);
    assert_cheap(usage);
}

#[test]
fn ten_thousand_same_name_intermediates_are_refused_quickly() {
    use keyseal::ca::profile::Profile;
    let ks = Keyseal::new();
    let root = unrelated_root(&ks);
    let ca_key = pki::key(4);
    let one = pki::issue("CN=Same Name", &ca_key, "CN=Unrelated Root", &pki::key(5), Profile::IntermediateCa, 0);
    // 300 distinct certificates (above the cap even after de-duplication) and 9,700 copies
    // of one make the 6 MB pile without ten thousand signatures; the cap counts what was
    // given, before any de-duplication.
    let pile: Vec<String> = (0..10_000)
        .map(|serial| {
            if serial < 300 {
                pki::issue("CN=Same Name", &ca_key, "CN=Unrelated Root", &pki::key(5), Profile::IntermediateCa, serial)
            } else {
                one.clone()
            }
        })
        .collect();
    let leaf = pki::issue("CN=Leaf", &pki::key(6), "CN=Same Name", &ca_key, Profile::CodeSigning, 7);
    let (leaf_file, chain_file) = (ks.file("leaf.pem"), ks.file("pile.pem"));
    std::fs::write(&leaf_file, leaf).unwrap();
    std::fs::write(&chain_file, pile.concat()).unwrap();
    assert!(std::fs::metadata(&chain_file).unwrap().len() > 5 << 20, "a pile of several megabytes");
    let args = ["cert", "verify", path(&leaf_file), "--chain", path(&chain_file), "--trust", path(&root), "--json"];
    let (run, usage) = bounded(&ks, ks.dir.path(), &args, Duration::from_secs(30));
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["reason"], "too-many-certificates", "{}", run.stdout);
    assert_cheap(usage);
}

#[test]
fn a_bundle_full_of_cross_signed_certificates_is_bounded_too() {
    let s = Signed::new();
    let release = s.release("rel", &[("a.bin", "a")]);
    let root = unrelated_root(&s.ks);
    let (leaf, pile) = cross_signed_pile(128);
    let bundle = release.join("keyseal.bundle.json");
    let mut value: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let mut chain = vec![leaf];
    chain.extend(pile);
    value["signer"]["certificateChain"] = serde_json::json!(chain);
    std::fs::write(&bundle, serde_json::to_vec(&value).unwrap()).unwrap();
    let (run, usage) = bounded(&s.ks, &release, &["verify", "--trust", path(&root), "--json"], Duration::from_secs(20));
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["signature"], "chain-invalid");
    assert_eq!(report["chain"]["reason"], "budget-exceeded", "{report}");
    assert_cheap(usage);

    // One more certificate than the cap, besides the leaf: refused before any is decoded,
    // counting the untrusted ones only.
    let (leaf, pile) = cross_signed_pile(129);
    let mut chain = vec![leaf];
    chain.extend(pile);
    let count = chain.len() - 1;
    value["signer"]["certificateChain"] = serde_json::json!(chain);
    std::fs::write(&bundle, serde_json::to_vec(&value).unwrap()).unwrap();
    let run = s.ks.command().current_dir(&release).args(["verify", "--trust", path(&root), "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["chain"]["reason"], "too-many-certificates", "{report}");
    let wanted = format!("{count} certificates were given");
    assert!(report["signatureDetail"].as_str().unwrap_or("").contains(&wanted), "{wanted}: {report}");
}

#[cfg(unix)]
#[test]
fn names_from_input_cannot_forge_output_lines() {
    let s = Signed::new();
    let release = s.release("rel", &[("a.bin", "a")]);
    // A file planted beside the release whose name rewrites the terminal.
    std::fs::write(release.join("x\x1b[2K\rverified: 1 files"), "planted").unwrap();
    let run = s.verify_in(&release, &[]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains('\x1b') && !run.stdout.contains('\r'), "{:?}", run.stdout);
    assert!(run.stdout.contains("$'\\x1b'"), "{}", run.stdout);
    assert!(run.stdout.lines().all(|line| !line.starts_with("verified")), "{}", run.stdout);
    // --json stays exact.
    let json = s.verify_in(&release, &["--json"]).json();
    assert!(json["files"].as_array().unwrap().iter().any(|f| f["name"] == "x\x1b[2K\rverified: 1 files"));

    // A name with a line break cannot be in a manifest: reported, quoted.
    std::fs::remove_file(release.join("x\x1b[2K\rverified: 1 files")).unwrap();
    std::fs::write(release.join("y\nverified: 2 files"), "planted").unwrap();
    let run = s.verify_in(&release, &[]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("NOT-IN-MANIFEST") && run.stdout.contains("$'\\n'"), "{}", run.stdout);
    assert!(run.stdout.lines().all(|line| !line.starts_with("verified")), "{}", run.stdout);

    // An audit field holding what a refused caller sent.
    let refused = s.ks.run(&["kms", "describe-key", "--key-id", "nope\n    99  2099-01-01T00:00:00Z  forged\x1b[31m"]);
    assert_ne!(refused.status, 0);
    let listed = s.ks.run(&["audit", "list"]);
    assert_eq!(listed.status, 0, "{}", listed.stderr);
    let entries = s.ks.ok(&["audit", "list", "--json"]);
    assert_eq!(listed.stdout.lines().count(), entries.as_array().unwrap().len(), "{}", listed.stdout);
    assert!(!listed.stdout.contains('\x1b'), "{:?}", listed.stdout);
}

#[test]
fn a_closed_or_full_stdout_ends_quietly_with_a_failure_status() {
    let s = Signed::new();
    let release = s.release("rel", &[("a.bin", "a")]);
    for args in [
        vec!["kms", "list-keys"],
        vec!["audit", "list"],
        vec!["verify", path(&release), "--public-key", path(&s.public_key), "--json"],
    ] {
        // A reader that went away before anything was written (`| head -0`): the pipe's
        // read end is closed before keyseal starts, so the first write fails for certain
        // (closing it after the start raced a fast command's write into the pipe buffer).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = s.ks.command().args(&args).stdout(writer).stderr(Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        assert!(output.status.code().is_some(), "{args:?} ended by a signal");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        // A full disk.
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let output = s.ks.command().args(&args).stdout(full).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("[cannot-write]") && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn sign_never_writes_through_a_planted_symlink() {
    let s = Signed::new();
    let release = s.ks.file("build");
    std::fs::create_dir_all(release.join("sub")).unwrap();
    std::fs::write(release.join("sub/app"), "binary").unwrap();
    let out = s.ks.file("out");
    std::fs::create_dir_all(&out).unwrap();
    let victim = s.ks.file("victim");
    std::fs::write(&victim, "precious").unwrap();
    // Every name an earlier CI step could guess: old staging names and the outputs.
    for name in [".keyseal.bundle.json.keyseal-tmp", ".SHA256SUMS.keyseal-tmp", "SHA256SUMS", "keyseal.bundle.json"] {
        std::os::unix::fs::symlink(&victim, out.join(name)).unwrap();
    }
    let sign = |extra: &[&str]| {
        let mut args =
            vec!["sign", path(&release), "--key-id", &s.key_id, "--key-version-id", &s.version, "--out", path(&out)];
        args.extend_from_slice(extra);
        s.ks.run(&args)
    };
    let signed = sign(&[]);
    assert_eq!(signed.status, 0, "{}", signed.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    for name in ["SHA256SUMS", "keyseal.bundle.json", "SHA256SUMS.sig"] {
        assert!(std::fs::symlink_metadata(out.join(name)).unwrap().is_file(), "{name} is a regular file now");
    }
    // A directory of detached signatures planted as a link elsewhere is not entered.
    let elsewhere = s.ks.file("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join("sub")).unwrap();
    let refused = sign(&["--detached"]);
    assert_eq!(refused.status, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("[cannot-write]"), "{}", refused.stderr);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// A root and a code-signing certificate for `s`'s key from the store's own mini-CA.
fn store_ca(s: &Signed) -> (PathBuf, PathBuf, String) {
    let (root_key, root_version) = s.ks.create_key("EC_P256", "SIGN/VERIFY");
    let (root, signer) = (s.ks.file("root.pem"), s.ks.file("signer.pem"));
    s.ks.ok(&[
        "ca",
        "init",
        "--name",
        "root",
        "--key-id",
        &root_key,
        "--key-version-id",
        &root_version,
        "--subject",
        "CN=Hostile Test Root",
        "--out",
        path(&root),
        "--json",
    ]);
    let issued = s.ks.ca_issue("root", "code-signing", &s.key_id, &s.version, "CN=Hostile Test Signer", "30", &signer);
    let serial = issued["certificate"]["serial"].as_str().unwrap().to_string();
    (root, signer, serial)
}

#[test]
fn sign_refuses_a_certificate_its_own_ca_revoked_and_verify_says_when_revocation_was_not_checked() {
    let s = Signed::new();
    let (root, signer, serial) = store_ca(&s);
    let release = s.ks.file("rel");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::write(release.join("a.bin"), "a").unwrap();
    let sign = || {
        s.ks.run(&[
            "sign",
            path(&release),
            "--key-id",
            &s.key_id,
            "--key-version-id",
            &s.version,
            "--cert",
            path(&signer),
            "--out",
            path(&release),
        ])
    };
    assert_eq!(sign().status, 0);
    let report = bounded(&s.ks, &release, &["verify", "--trust", path(&root), "--json"], QUICK).0;
    assert_eq!(report.status, 0, "{}{}", report.stdout, report.stderr);
    assert_eq!(report.json()["revocation"], "not-checked");
    let text = bounded(&s.ks, &release, &["verify", "--trust", path(&root)], QUICK).0;
    assert!(text.stdout.contains("revocation NOT checked"), "{}", text.stdout);

    let revoked = s.ks.run(&["ca", "revoke", "--ca", "root", "--serial", &serial, "--reason", "key-compromise"]);
    assert_eq!(revoked.status, 0, "{}", revoked.stderr);
    let refused = sign();
    assert_eq!(refused.status, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("[revoked]") && refused.stderr.contains("key-compromise"), "{}", refused.stderr);

    // `attest --cert` takes its chain the same way, and refuses the revoked leaf too,
    // writing nothing.
    let out = s.ks.file("sbom.sigstore.json");
    let predicate = s.ks.file("sbom.json");
    std::fs::write(&predicate, "{}").unwrap();
    let attest = s.ks.run(&[
        "attest",
        path(&release),
        "--key-id",
        &s.key_id,
        "--key-version-id",
        &s.version,
        "--predicate-type",
        "https://spdx.dev/Document",
        "--predicate",
        path(&predicate),
        "--cert",
        path(&signer),
        "--out",
        path(&out),
    ]);
    assert_eq!(attest.status, 2, "{}", attest.stderr);
    assert!(attest.stderr.contains("[revoked]") && attest.stderr.contains("key-compromise"), "{}", attest.stderr);
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_damaged_trust_file_is_unusable_input_everywhere() {
    let s = Signed::new();
    let (_, signer, _) = store_ca(&s);
    let release = s.release("rel", &[("a.bin", "a")]);
    let damaged = s.ks.file("damaged.pem");
    std::fs::write(&damaged, "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n").unwrap();
    for args in
        [vec!["cert", "verify", path(&signer), "--trust", path(&damaged)], vec!["verify", "--trust", path(&damaged)]]
    {
        let run = bounded(&s.ks, &release, &args, QUICK).0;
        assert_eq!(run.status, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("[malformed-certificate]"), "{args:?}: {}", run.stderr);
    }
}

#[cfg(unix)]
#[test]
fn out_files_are_never_written_through_a_planted_symlink() {
    let s = Signed::new();
    store_ca(&s);
    let victim = s.ks.file("victim");
    let data = s.ks.file("data.bin");
    std::fs::write(&data, "data").unwrap();
    let commands: [(&str, Vec<&str>); 3] = [
        ("kms-pub.pem", vec!["kms", "get-public-key", "--key-id", &s.key_id, "--key-version-id", &s.version, "--out"]),
        ("root.crl.pem", vec!["ca", "crl", "--ca", "root", "--out"]),
        ("query.tsq", vec!["timestamp", "query", "--data", path(&data), "--out"]),
    ];
    for (name, args) in commands {
        let out = s.ks.file(name);
        // A link to a file the attacker wants overwritten, and a dangling one that writing
        // through would create.
        for target in [victim.clone(), s.ks.file(&format!("{name}.created"))] {
            std::fs::write(&victim, "precious").unwrap();
            let _ = std::fs::remove_file(&out);
            std::os::unix::fs::symlink(&target, &out).unwrap();
            let mut args = args.clone();
            args.push(path(&out));
            let run = s.ks.run(&args);
            assert_eq!(run.status, 2, "{args:?}: {}{}", run.stdout, run.stderr);
            assert!(run.stderr.contains("symbolic link"), "{args:?}: {}", run.stderr);
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious", "{args:?}");
            assert!(!s.ks.file(&format!("{name}.created")).exists(), "{args:?}");
            assert!(std::fs::symlink_metadata(&out).unwrap().file_type().is_symlink(), "{args:?}");
        }
        // Without the link, the same command writes a regular file.
        std::fs::remove_file(&out).unwrap();
        let mut args = args.clone();
        args.push(path(&out));
        let run = s.ks.run(&args);
        assert_eq!(run.status, 0, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(std::fs::symlink_metadata(&out).unwrap().is_file(), "{args:?}");
    }
}

/// Regression (issue 27 item 15): two names that differ only in Unicode normalisation are
/// shown differently in verify's text output.
#[test]
fn names_differing_only_in_normalisation_are_told_apart() {
    let s = Signed::new();
    let release = s.release("rel", &[("caf\u{e9}.txt", "signed")]);
    std::fs::write(release.join("cafe\u{301}.txt"), "planted").unwrap();
    let run = s.verify_in(&release, &[]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ok              caf\u{e9}.txt\n"), "{}", run.stdout);
    assert!(run.stdout.contains("NOT-IN-MANIFEST 'cafe'$'\\u{301}''.txt': "), "{}", run.stdout);
    // --json stays exact.
    let json = s.verify_in(&release, &["--json"]).json();
    assert!(json["files"].as_array().unwrap().iter().any(|f| f["name"] == "cafe\u{301}.txt"));
}

/// Regression (issue 27 item 6): whole-tree `verify` fails on anything the manifest does
/// not list, not only on a regular file — a link planted in a signed release
/// (`install.sh -> /tmp/evil.sh`), a dangling link, a link to a directory in or out of
/// the tree, a FIFO — and reports it per file, the link with where it points, without
/// following it or opening the FIFO. `--allow-unlisted` reports them and passes.
#[cfg(unix)]
#[test]
fn whatever_the_manifest_does_not_list_fails_whole_tree_verify() {
    let s = Signed::new();
    let release = s.release("rel", &[("a.bin", "a"), ("b.bin", "b")]);
    std::fs::create_dir(release.join("sub")).unwrap();
    std::fs::rename(release.join("b.bin"), release.join("sub/b.bin")).unwrap();
    // Signed again with a directory in it.
    let release = s.release("rel", &[]);
    // What the links point at: a FIFO nobody writes to (opening it would block) and a
    // directory, both outside the release.
    let evil = s.ks.file("evil.sh");
    assert!(Command::new("mkfifo").arg(&evil).status().unwrap().success());
    let outside = s.ks.file("outside-dir");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("x"), "x").unwrap();
    // Each planted thing: a link to where it points, or (None) a FIFO.
    let plants: [(&str, Option<PathBuf>, &str); 5] = [
        ("install.sh", Some(evil.clone()), "outside the tree"),
        ("dangling", Some("nothing-here".into()), "dangling"),
        ("vendor", Some(outside.clone()), "outside the tree"),
        ("sub-again", Some("sub".into()), "directory"),
        ("pipe", None, "device, socket or pipe"),
    ];
    for (name, target, reason) in plants {
        let at = release.join(name);
        match target {
            Some(target) => std::os::unix::fs::symlink(target, &at).unwrap(),
            None => assert!(Command::new("mkfifo").arg(&at).status().unwrap().success()),
        }
        let run = s.verify_in(&release, &["--json"]);
        assert_eq!(run.status, 1, "{name}: {}{}", run.stdout, run.stderr);
        let report = run.json();
        assert_eq!(report["verified"], false);
        let files = report["files"].as_array().unwrap();
        let entry = files.iter().find(|f| f["name"] == name).unwrap_or_else(|| panic!("{name} reported: {report}"));
        assert_eq!(entry["status"], "not-in-manifest", "{entry}");
        let detail = entry["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "{name}: {detail}");
        if name != "pipe" {
            assert!(detail.contains(" -> "), "a link is shown with where it points: {detail}");
        }
        assert!(files.iter().filter(|f| f["name"] != name).all(|f| f["status"] == "ok"), "{report}");
        assert!(report["skipped"].as_array().unwrap().iter().all(|s| s["reason"] == "keyseal's own output"));

        let text = s.verify_in(&release, &[]);
        assert_eq!(text.status, 1, "{name}: {}{}", text.stdout, text.stderr);
        assert!(text.stdout.contains(&format!("NOT-IN-MANIFEST {name}: ")), "{}", text.stdout);
        assert!(text.stdout.contains("NOT VERIFIED: 1 of 3 files failed"), "{}", text.stdout);

        let allowed = s.verify_in(&release, &["--allow-unlisted", "--json"]);
        assert_eq!(allowed.status, 0, "{name}: {}{}", allowed.stdout, allowed.stderr);
        let report = allowed.json();
        let entry = report["files"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap().clone();
        assert_eq!((&entry["status"], &entry["allowed"]), (&"not-in-manifest".into(), &true.into()), "{entry}");
        let text = s.verify_in(&release, &["--allow-unlisted"]);
        assert_eq!(text.status, 0, "{}{}", text.stdout, text.stderr);
        assert!(text.stdout.contains("allowed by --allow-unlisted"), "{}", text.stdout);
        std::fs::remove_file(&at).unwrap();
    }
    // --allow-unlisted does not excuse a modified or missing file, or a file named alone.
    std::fs::write(release.join("a.bin"), "changed").unwrap();
    assert_eq!(s.verify_in(&release, &["--allow-unlisted"]).status, 1);
    std::fs::write(release.join("a.bin"), "a").unwrap();
    std::fs::write(release.join("extra.bin"), "extra").unwrap();
    let alone = s.verify_in(&release, &["--allow-unlisted", path(&release.join("extra.bin"))]);
    assert_eq!(alone.status, 1, "{}{}", alone.stdout, alone.stderr);
    assert_eq!(s.verify_in(&release, &["--allow-unlisted"]).status, 0);
    std::fs::remove_file(release.join("extra.bin")).unwrap();
    assert_eq!(s.verify_in(&release, &[]).status, 0, "the release itself is fine");
}

/// Regression (issue 27 item 10): a detached `<file>.sig` in the tree is verified over the
/// file with the signer's key, never skipped unchecked; one that does not verify fails.
#[test]
fn detached_signatures_in_the_tree_are_verified() {
    let s = Signed::new();
    let release = s.ks.file("rel");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::write(release.join("a.bin"), "a").unwrap();
    std::fs::write(release.join("b.bin"), "b").unwrap();
    let args = ["sign", path(&release), "--key-id", &s.key_id, "--key-version-id", &s.version, "--out", path(&release)];
    let signed = s.ks.run(&[&args[..], &["--detached"]].concat());
    assert_eq!(signed.status, 0, "{}", signed.stderr);
    let run = s.verify_in(&release, &["--json"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["files"].as_array().unwrap().len(), 2, "{report}");
    // Each file's `.sig` and its `.sigstore.json`, the same signature as a Sigstore bundle.
    let detached = report["detachedSignatures"].as_array().unwrap();
    assert_eq!(detached.len(), 4, "{report}");
    assert!(detached.iter().all(|d| d["status"] == "ok"), "{report}");
    let text = s.verify_in(&release, &[]);
    assert!(text.stdout.contains("ok              a.bin.sig (detached signature of a.bin"), "{}", text.stdout);
    assert!(text.stdout.contains("verified: 2 files and 4 detached signatures"), "{}", text.stdout);

    let good_a = std::fs::read(release.join("a.bin.sig")).unwrap();
    // b.bin's genuine signature as a.bin's, garbage, and another key's signature over a.bin.
    let (other_key, other_version) = s.ks.create_key("EC_P256", "SIGN/VERIFY");
    let other_sig = s.ks.file("other.sig");
    let other = s.ks.run(&[
        "kms",
        "asymmetric-sign",
        "--key-id",
        &other_key,
        "--key-version-id",
        &other_version,
        "--algorithm",
        "ECDSA_SHA_256",
        "--file",
        path(&release.join("a.bin")),
        "--out",
        path(&other_sig),
    ]);
    assert_eq!(other.status, 0, "{}", other.stderr);
    for bad in [
        std::fs::read(release.join("b.bin.sig")).unwrap(),
        b"not a signature".to_vec(),
        std::fs::read(&other_sig).unwrap(),
    ] {
        std::fs::write(release.join("a.bin.sig"), &bad).unwrap();
        let run = s.verify_in(&release, &["--json"]);
        assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
        let report = run.json();
        let a =
            report["detachedSignatures"].as_array().unwrap().iter().find(|d| d["name"] == "a.bin.sig").unwrap().clone();
        assert_eq!(a["status"], "bad-signature", "{report}");
        assert!(report["files"].as_array().unwrap().iter().all(|f| f["status"] == "ok"), "{report}");
        let text = s.verify_in(&release, &[]);
        assert!(text.stdout.contains("BAD-SIGNATURE   a.bin.sig: detached signature of a.bin"), "{}", text.stdout);
        assert!(text.stdout.contains("NOT VERIFIED: 1 of 2 files and 4 detached signatures failed"), "{}", text.stdout);
    }
    std::fs::write(release.join("a.bin.sig"), &good_a).unwrap();
    assert_eq!(s.verify_in(&release, &[]).status, 0);
}

/// Regression (issue 27 item 9): what the bundle merely claims (key name, version,
/// signing time: none is covered by the signature) is not shown as part of the verified
/// result.
#[test]
fn the_bundles_claims_are_labelled_as_claims() {
    let s = Signed::new();
    let release = s.release("rel", &[("a.bin", "a")]);
    let bundle = release.join("keyseal.bundle.json");
    let mut value: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    value["signature"]["keyId"] = "key-of-the-ceo".into();
    value["signature"]["keyVersionId"] = "forged-version".into();
    value["signature"]["signedAt"] = "1999-12-31T23:59:59Z".into();
    std::fs::write(&bundle, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    let run = s.verify_in(&release, &[]);
    assert_eq!(run.status, 0, "the signature covers the manifest only: {}{}", run.stdout, run.stderr);
    let verified = run.stdout.lines().find(|l| l.starts_with("signature ok")).unwrap();
    for claim in ["key-of-the-ceo", "forged-version", "1999"] {
        assert!(!verified.contains(claim), "{verified}");
    }
    let claims = run.stdout.lines().find(|l| l.contains("claimed by the bundle, not verified")).unwrap();
    for claim in ["key-of-the-ceo", "forged-version", "1999-12-31T23:59:59Z"] {
        assert!(claims.contains(claim), "{claims}");
    }
}
