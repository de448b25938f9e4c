//! The signing pipeline end to end through the binary, on a generated release tree
//! (nested directories, an empty file, a multi-megabyte file, non-ASCII and space-containing
//! names, symbolic links in and out of the tree), checked by peers: `sha256sum -c` from
//! coreutils, `openssl dgst -verify`, and `keyseal verify`.

use crate::common::path;

use crate::common::{Keyseal, Run, SPECS, openssl_cms_verifies, peer, run_peer, sign_algorithms};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A release tree under `root`; returns the names it must sign.
fn make_release(root: &Path) -> Vec<&'static str> {
    std::fs::create_dir_all(root.join("linux/amd64")).unwrap();
    std::fs::create_dir_all(root.join("docs/ünïcödé dir")).unwrap();
    std::fs::write(root.join("linux/amd64/app"), b"\x7fELF pretend binary").unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    let large: Vec<u8> = (0..5 * 1024 * 1024 + 17).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(root.join("large.tar"), large).unwrap();
    std::fs::write(root.join("docs/ünïcödé dir/read me.txt"), "hello, wörld\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("linux/amd64/app", root.join("app-latest")).unwrap();
    }
    vec!["app-latest", "docs/ünïcödé dir/read me.txt", "empty", "large.tar", "linux/amd64/app"]
}

struct Release {
    ks: Keyseal,
    root: PathBuf,
    key_id: String,
    version: String,
    public_key: PathBuf,
}

impl Release {
    fn new(spec: &str) -> Release {
        let ks = Keyseal::new();
        let root = ks.file("release");
        make_release(&root);
        let (key_id, version) = ks.create_key(spec, "SIGN/VERIFY");
        let public_key = ks.file("signer.pub.pem");
        ks.public_key(&key_id, &version, &public_key);
        Release { ks, root, key_id, version, public_key }
    }

    fn sign(&self, extra: &[&str]) -> Run {
        let mut args = vec![
            "sign",
            path(&self.root),
            "--key-id",
            &self.key_id,
            "--key-version-id",
            &self.version,
            "--out",
            path(&self.root),
        ];
        args.extend_from_slice(extra);
        self.ks.run(&args)
    }

    fn verify(&self, paths: &[&Path]) -> Run {
        self.verify_with(&self.root.join("keyseal.bundle.json"), paths)
    }

    /// `verify --json` of `paths` against `bundle`, with the pinned key.
    fn verify_with(&self, bundle: &Path, paths: &[&Path]) -> Run {
        let mut args = vec!["verify", "--bundle", path(bundle), "--public-key", path(&self.public_key), "--json"];
        args.extend(paths.iter().map(|p| path(p)));
        self.ks.run(&args)
    }

    fn statuses(&self, run: &Run) -> Vec<(String, String)> {
        run.json()["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["name"].as_str().unwrap().to_string(), f["status"].as_str().unwrap().to_string()))
            .collect()
    }
}

fn ok(run: Run) -> Value {
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    if run.stdout.trim_start().starts_with('{') { run.json() } else { Value::Null }
}

/// A `verify --json` that failed a check: exit 1, `verified: false`, and the manifest
/// signature's stable code is `signature`. Returns the report.
fn failed(run: &Run, signature: &str) -> Value {
    assert_eq!(run.status, 1, "a failed check is exit 1: {}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verified"], false, "{report}");
    assert_eq!(report["signature"], signature, "{report}");
    report
}

/// A refusal of unusable input: exit 2 and the reason code in brackets on stderr.
fn refused(run: &Run, code: &str) {
    assert_eq!(run.status, 2, "unusable input is exit 2: {}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(&format!("[{code}]")), "expected [{code}]: {}", run.stderr);
}

#[test]
fn every_spec_and_algorithm_passes_sha256sum_openssl_and_keyseal() {
    for spec in SPECS {
        for algorithm in sign_algorithms(spec) {
            let release = Release::new(spec);
            // A link out of the tree: left out by sign, and so not in the manifest.
            let escape = release.root.join("escape");
            #[cfg(unix)]
            {
                std::fs::write(release.ks.file("outside.txt"), b"not part of it").unwrap();
                std::os::unix::fs::symlink("../outside.txt", &escape).unwrap();
            }
            let summary = ok(release.sign(&["--algorithm", algorithm, "--json"]));
            assert_eq!(summary["files"], 5);
            assert_eq!(summary["algorithm"], *algorithm);
            let skipped: Vec<&str> =
                summary["skipped"].as_array().unwrap().iter().map(|s| s["reason"].as_str().unwrap()).collect();
            assert!(
                skipped.iter().any(|r| r.contains("outside the tree")),
                "the escaping link is reported: {skipped:?}"
            );

            let sums = std::fs::read_to_string(release.root.join("SHA256SUMS")).unwrap();
            let names: Vec<&str> = sums.lines().map(|l| &l[66..]).collect();
            assert_eq!(names, ["app-latest", "docs/ünïcödé dir/read me.txt", "empty", "large.tar", "linux/amd64/app"]);
            let check = std::process::Command::new("sha256sum")
                .args(["-c", "--strict", "SHA256SUMS"])
                .current_dir(&release.root)
                .output()
                .unwrap();
            assert!(check.status.success(), "sha256sum -c: {}", String::from_utf8_lossy(&check.stdout));

            let mut openssl = vec!["dgst", "-sha256", "-verify", path(&release.public_key), "-signature"];
            let sig = release.root.join("SHA256SUMS.sig");
            let sums_path = release.root.join("SHA256SUMS");
            openssl.push(path(&sig));
            if *algorithm == "RSA_PSS_SHA_256" {
                openssl.extend(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"]);
            }
            openssl.push(path(&sums_path));
            let (verified, text) = peer("openssl", &openssl);
            assert!(verified, "{spec} {algorithm}: openssl: {text}");

            // What sign left out is not in the manifest: the whole tree does not verify
            // with it there, unless the verifier allows what is unlisted.
            #[cfg(unix)]
            {
                let run = release.verify(&[&release.root]);
                let report = failed(&run, "ok");
                let statuses = release.statuses(&run);
                assert!(statuses.contains(&("escape".into(), "not-in-manifest".into())), "{report}");
                let mut args = vec!["verify", path(&release.root), "--public-key", path(&release.public_key)];
                args.extend(["--allow-unlisted", "--json"]);
                assert_eq!(ok(release.ks.run(&args))["verified"], true);
                std::fs::remove_file(&escape).unwrap();
            }
            let report = ok(release.verify(&[&release.root]));
            assert_eq!(report["verified"], true);
            assert_eq!(report["signature"], "ok");
            assert_eq!(report["files"].as_array().unwrap().len(), 5);
        }
    }
}

#[test]
fn default_algorithm_follows_the_key_and_signing_is_reproducible() {
    let release = Release::new("RSA_2048");
    assert_eq!(
        ok(release.sign(&["--json"]))["algorithm"],
        "RSA_PKCS1_SHA_256",
        "plain openssl dgst -verify works on it"
    );
    let first = std::fs::read(release.root.join("SHA256SUMS")).unwrap();
    let pkcs1_sig = std::fs::read(release.root.join("SHA256SUMS.sig")).unwrap();
    ok(release.sign(&[]));
    assert_eq!(
        std::fs::read(release.root.join("SHA256SUMS")).unwrap(),
        first,
        "the same release gives the same manifest bytes"
    );
    assert_eq!(std::fs::read(release.root.join("SHA256SUMS.sig")).unwrap(), pkcs1_sig, "PKCS#1 v1.5 is deterministic");
    let ec = Release::new("EC_P256K");
    assert_eq!(ok(ec.sign(&["--json"]))["algorithm"], "ECDSA_SHA_256");
}

#[test]
fn tampering_is_caught_with_the_right_reason() {
    let release = Release::new("EC_P256");
    ok(release.sign(&[]));
    let root = &release.root;
    let app = root.join("linux/amd64/app");

    let mut bytes = std::fs::read(&app).unwrap();
    bytes[3] ^= 0x01;
    std::fs::write(&app, &bytes).unwrap();
    let run = release.verify(&[root]);
    failed(&run, "ok");
    let statuses = release.statuses(&run);
    assert!(statuses.contains(&("linux/amd64/app".into(), "modified".into())), "{statuses:?}");
    assert!(statuses.contains(&("app-latest".into(), "modified".into())), "the link shows the same change");
    bytes[3] ^= 0x01;
    std::fs::write(&app, &bytes).unwrap();
    ok(release.verify(&[root]));

    std::fs::rename(root.join("empty"), release.ks.file("empty.moved")).unwrap();
    let run = release.verify(&[root]);
    failed(&run, "ok");
    assert!(release.statuses(&run).contains(&("empty".into(), "missing".into())));
    std::fs::rename(release.ks.file("empty.moved"), root.join("empty")).unwrap();

    std::fs::write(root.join("linux/amd64/extra"), b"smuggled").unwrap();
    let run = release.verify(&[root]);
    failed(&run, "ok");
    assert!(release.statuses(&run).contains(&("linux/amd64/extra".into(), "not-in-manifest".into())));
    std::fs::remove_file(root.join("linux/amd64/extra")).unwrap();
    ok(release.verify(&[root]));

    let text_run = {
        std::fs::write(root.join("linux/amd64/extra"), b"smuggled").unwrap();
        let bundle = root.join("keyseal.bundle.json");
        let run = release.ks.run(&[
            "verify",
            path(root),
            "--bundle",
            path(&bundle),
            "--public-key",
            path(&release.public_key),
        ]);
        std::fs::remove_file(root.join("linux/amd64/extra")).unwrap();
        run
    };
    assert_eq!(text_run.status, 1);
    assert!(
        text_run.stdout.contains("NOT-IN-MANIFEST linux/amd64/extra"),
        "every failure names the file: {}",
        text_run.stdout
    );
    assert!(text_run.stdout.contains("NOT VERIFIED: 1 of 6 files failed"), "{}", text_run.stdout);

    let sums = root.join("SHA256SUMS");
    let original = std::fs::read_to_string(&sums).unwrap();
    std::fs::write(&sums, original.replace("  empty\n", "  empty2\n")).unwrap();
    let run = release.verify(&[root]);
    failed(&run, "manifest-modified");
    assert!(run.json()["files"].as_array().unwrap().is_empty(), "files are not checked against an untrusted manifest");
    std::fs::write(&sums, &original).unwrap();

    let sig = root.join("SHA256SUMS.sig");
    let signature = std::fs::read(&sig).unwrap();
    std::fs::write(&sig, &signature[..signature.len() - 5]).unwrap();
    let truncated = release.verify(&[root]);
    assert!(
        failed(&truncated, "bad-signature")["signatureDetail"].as_str().is_some_and(|d| !d.is_empty()),
        "a truncated SHA256SUMS.sig says what is wrong: {}",
        truncated.stdout
    );
    std::fs::write(&sig, &signature).unwrap();

    let bundle_path = root.join("keyseal.bundle.json");
    let bundle_text = std::fs::read_to_string(&bundle_path).unwrap();
    let mut bundle: Value = serde_json::from_str(&bundle_text).unwrap();
    let value = bundle["signature"]["value"].as_str().unwrap().to_string();
    bundle["signature"]["value"] = Value::String(value[..value.len() - 8].to_string() + "AAAAAAA=");
    std::fs::write(&bundle_path, serde_json::to_string(&bundle).unwrap()).unwrap();
    std::fs::remove_file(&sig).unwrap();
    let run = release.verify(&[root]);
    assert_eq!(
        (run.status, run.json()["signature"].as_str().unwrap().to_string()),
        (1, "bad-signature".to_string()),
        "a damaged bundle signature"
    );
    std::fs::write(&bundle_path, &bundle_text).unwrap();
    std::fs::write(&sig, &signature).unwrap();
    ok(release.verify(&[root]));
}

#[test]
fn another_versions_signature_is_refused_and_old_releases_still_verify() {
    let release = Release::new("EC_P256K");
    ok(release.sign(&[]));
    let v2 = release.ks.new_version(&release.key_id);
    // Version 1's release still verifies once version 2 exists.
    ok(release.verify(&[&release.root]));

    // A release signed with version 2, its signature swapped into version 1's bundle.
    let other_out = release.ks.file("v2-out");
    ok(release.ks.run(&[
        "sign",
        path(&release.root),
        "--key-id",
        &release.key_id,
        "--key-version-id",
        &v2,
        "--out",
        path(&other_out),
    ]));
    let v2_bundle: Value =
        serde_json::from_slice(&std::fs::read(other_out.join("keyseal.bundle.json")).unwrap()).unwrap();
    let bundle_path = release.root.join("keyseal.bundle.json");
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(&bundle_path).unwrap()).unwrap();
    bundle["signature"]["value"] = v2_bundle["signature"]["value"].clone();
    std::fs::write(&bundle_path, serde_json::to_string(&bundle).unwrap()).unwrap();
    std::fs::copy(other_out.join("SHA256SUMS.sig"), release.root.join("SHA256SUMS.sig")).unwrap();
    let run = release.verify(&[&release.root]);
    failed(&run, "bad-signature");

    // Version 2's whole bundle, checked against version 1's pinned key.
    let run = release.verify_with(&other_out.join("keyseal.bundle.json"), &[&release.root]);
    failed(&run, "key-mismatch");
}

#[test]
fn one_downloaded_file_verifies_alone() {
    let release = Release::new("EC_P256");
    ok(release.sign(&[]));
    let downloads = release.ks.file("downloads");
    std::fs::create_dir(&downloads).unwrap();
    for file in ["SHA256SUMS", "SHA256SUMS.sig", "keyseal.bundle.json"] {
        std::fs::copy(release.root.join(file), downloads.join(file)).unwrap();
    }
    std::fs::copy(release.root.join("linux/amd64/app"), downloads.join("app")).unwrap();
    std::fs::copy(release.root.join("large.tar"), downloads.join("large.tar")).unwrap();
    let bundle = downloads.join("keyseal.bundle.json");
    let run = release.ks.run(&[
        "verify",
        path(&downloads.join("app")),
        path(&downloads.join("large.tar")),
        "--bundle",
        path(&bundle),
        "--public-key",
        path(&release.public_key),
        "--json",
    ]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    assert_eq!(release.statuses(&run), [("large.tar".into(), "ok".into()), ("linux/amd64/app".into(), "ok".into())]);
    // The whole download directory is not the whole release: the rest is missing.
    let whole = release.ks.run(&[
        "verify",
        path(&downloads),
        "--bundle",
        path(&bundle),
        "--public-key",
        path(&release.public_key),
        "--json",
    ]);
    failed(&whole, "ok");
    assert!(release.statuses(&whole).contains(&("empty".into(), "missing".into())));
    let stranger = release.ks.file("stranger.bin");
    std::fs::write(&stranger, b"?").unwrap();
    let run = release.ks.run(&[
        "verify",
        path(&stranger),
        "--bundle",
        path(&bundle),
        "--public-key",
        path(&release.public_key),
        "--json",
    ]);
    failed(&run, "ok");
    let statuses = release.statuses(&run);
    assert_eq!((statuses.len(), statuses[0].1.as_str()), (1, "not-in-manifest"), "{statuses:?}");
}

/// One flag vocabulary: `--key-id` and `--key-version-id` everywhere, as `kms` and the API
/// say it; the older `--key` and `--key-version` of `sign`, `ca` and `timestamp reply` still
/// work, unlisted.
#[test]
fn the_older_key_flags_still_work_unlisted() {
    let release = Release::new("EC_P256");
    let args = ["sign", path(&release.root), "--key", &release.key_id, "--key-version", &release.version];
    let run = release.ks.run(&[&args[..], &["--out", path(&release.root)]].concat());
    assert_eq!(run.status, 0, "{}", run.stderr);
    let help = release.ks.ok_text(&["sign", "--help"]);
    assert!(help.contains("--key-id <KEY>") && help.contains("--key-version-id <VERSION>"), "{help}");
    assert!(!help.contains("--key <") && !help.contains("--key-version <"), "{help}");
    for command in [&["ca", "issue", "--help"][..], &["timestamp", "reply", "--help"], &["serve", "--help"]] {
        let help = release.ks.ok_text(command);
        assert!(help.contains("key-id <KEY>") && help.contains("key-version-id <VERSION>"), "{command:?}: {help}");
    }
}

/// A download checked by name alone finds its bundle beside it, wherever the command runs;
/// with none there nor in the current directory, the error names both places and
/// `--bundle`. A misspelt name is a missing file, not a file the manifest lacks.
#[test]
fn a_download_finds_its_bundle_beside_it() {
    let release = Release::new("EC_P256");
    ok(release.sign(&[]));
    let downloads = release.ks.file("downloads");
    std::fs::create_dir(&downloads).unwrap();
    for file in ["SHA256SUMS", "SHA256SUMS.sig", "keyseal.bundle.json"] {
        std::fs::copy(release.root.join(file), downloads.join(file)).unwrap();
    }
    std::fs::copy(release.root.join("linux/amd64/app"), downloads.join("app")).unwrap();
    let elsewhere = release.ks.file("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let verify = |file: &Path| -> Run {
        let args = ["verify", path(file), "--public-key", path(&release.public_key), "--json"];
        release.ks.command().current_dir(&elsewhere).args(args).output().unwrap().into()
    };
    let run = verify(&downloads.join("app"));
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(release.statuses(&run), [("linux/amd64/app".into(), "ok".into())]);

    let run = verify(&downloads.join("ap"));
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    let file = &run.json()["files"][0];
    assert_eq!(file["status"], "missing", "{file}");
    assert!(file["detail"].as_str().unwrap().ends_with("ap: no such file"), "{file}");

    let lone = release.ks.file("lone");
    std::fs::create_dir(&lone).unwrap();
    std::fs::copy(release.root.join("linux/amd64/app"), lone.join("app")).unwrap();
    let run = verify(&lone.join("app"));
    assert_eq!(run.status, 2, "{}{}", run.stdout, run.stderr);
    let looked = format!("looked for {} and keyseal.bundle.json", lone.join("keyseal.bundle.json").display());
    assert!(run.stderr.contains(&looked), "{}", run.stderr);
    assert!(run.stderr.contains("give the release's bundle with --bundle FILE"), "{}", run.stderr);
}

#[test]
fn detached_signatures_verify_with_openssl() {
    let release = Release::new("EC_P256");
    let summary = ok(release.sign(&["--detached", "--json"]));
    // Five detached signatures, each also as a Sigstore bundle; SHA256SUMS, its signature,
    // the bundle and the Sigstore bundle.
    assert_eq!(summary["outputs"].as_array().unwrap().len(), 5 * 2 + 4);
    for name in ["linux/amd64/app", "empty", "docs/ünïcödé dir/read me.txt"] {
        let file = release.root.join(name);
        let sig = release.root.join(format!("{name}.sig"));
        let (verified, text) = peer(
            "openssl",
            &["dgst", "-sha256", "-verify", path(&release.public_key), "-signature", path(&sig), path(&file)],
        );
        assert!(verified, "{name}: {text}");
    }
    // Signing again into the same tree treats the .sig files as outputs, not artifacts.
    assert_eq!(ok(release.sign(&["--detached", "--json"]))["files"], 5);
    ok(release.verify(&[&release.root]));
}

/// Regression (issue 13 item 12): signing a tree that holds an earlier signing's outputs
/// (SHA256SUMS, its signature, the bundle, detached `.sig` files) into another `--out`
/// leaves them out of the new manifest, and `verify` of that tree against the new bundle
/// does not count them as files outside the manifest.
#[test]
fn an_earlier_signings_outputs_are_not_signed_again_elsewhere() {
    let release = Release::new("EC_P256");
    ok(release.sign(&["--detached"]));
    let signed = release.ks.file("signed");
    let summary = ok(release.ks.run(&[
        "sign",
        path(&release.root),
        "--key-id",
        &release.key_id,
        "--key-version-id",
        &release.version,
        "--out",
        path(&signed),
        "--json",
    ]));
    assert_eq!(summary["files"], 5, "{summary}");
    let sums = std::fs::read_to_string(signed.join("SHA256SUMS")).unwrap();
    let names: Vec<&str> = sums.lines().map(|l| &l[66..]).collect();
    assert_eq!(names, ["app-latest", "docs/ünïcödé dir/read me.txt", "empty", "large.tar", "linux/amd64/app"]);
    let report = ok(release.verify_with(&signed.join("keyseal.bundle.json"), &[&release.root]));
    assert_eq!(report["verified"], true);
    assert_eq!(report["files"].as_array().unwrap().len(), 5, "{report}");
}

/// Regression (issue 13 item 13): a tree checked against another release's bundle says
/// so in one line and lists a few failures, not dozens; a tree with one file tampered with
/// is not "another release".
#[test]
fn another_releases_bundle_is_named_as_such() {
    let release = Release::new("EC_P256");
    ok(release.sign(&[]));
    let other = release.ks.file("v2");
    std::fs::create_dir(&other).unwrap();
    for i in 0..30 {
        std::fs::write(other.join(format!("app-2.0-{i}.bin")), format!("v2 {i}")).unwrap();
    }
    std::fs::write(other.join("empty"), b"").unwrap();
    let bundle = release.root.join("keyseal.bundle.json");
    let run = |tree: &Path, json: bool| {
        let mut args = vec!["verify", path(tree), "--bundle", path(&bundle), "--public-key", path(&release.public_key)];
        if json {
            args.push("--json");
        }
        release.ks.run(&args)
    };
    let text = run(&other, false);
    assert_eq!(text.status, 1, "{}", text.stdout);
    assert!(text.stdout.contains("NOT VERIFIED [other-release]"), "{}", text.stdout);
    assert!(text.stdout.lines().count() < 20, "a few lines, not one per file:\n{}", text.stdout);
    assert!(text.stdout.contains("more (--json lists every file)"), "{}", text.stdout);
    let json = run(&other, true).json();
    assert_eq!(json["otherRelease"]["listed"], 5);
    assert_eq!(json["otherRelease"]["matching"], 1);
    assert_eq!(json["files"].as_array().unwrap().len(), 30 + 5);
    std::fs::write(release.root.join("large.tar"), b"tampered").unwrap();
    let tampered = run(&release.root, true);
    let report = failed(&tampered, "ok");
    assert!(report.get("otherRelease").is_none(), "{}", tampered.stdout);
    assert!(release.statuses(&tampered).contains(&("large.tar".into(), "modified".into())), "{}", tampered.stdout);
}

#[test]
fn refusals_write_nothing() {
    let release = Release::new("EC_P256");
    let out = release.ks.file("out");
    let sign = |extra: &[&str]| {
        let mut args = vec![
            "sign",
            path(&release.root),
            "--key-id",
            &release.key_id,
            "--key-version-id",
            &release.version,
            "--out",
            path(&out),
        ];
        args.extend_from_slice(extra);
        release.ks.run(&args)
    };
    let unknown = release.ks.run(&[
        "sign",
        path(&release.root),
        "--key-id",
        &release.key_id,
        "--key-version-id",
        "no-such-version",
        "--out",
        path(&out),
    ]);
    refused(&unknown, "Forbidden.KeyVersionNotFound");
    refused(&sign(&["--algorithm", "RSA_PSS_SHA_256"]), "Rejected.UnsupportedOperation");

    release.ks.ok(&["kms", "disable-key", "--key-id", &release.key_id]);
    refused(&sign(&[]), "Rejected.Disabled");
    release.ks.ok(&["kms", "enable-key", "--key-id", &release.key_id]);

    let (enc_key, enc_version) = release.ks.create_key("RSA_2048", "ENCRYPT/DECRYPT");
    let wrong_usage = release.ks.run(&[
        "sign",
        path(&release.root),
        "--key-id",
        &enc_key,
        "--key-version-id",
        &enc_version,
        "--out",
        path(&out),
    ]);
    refused(&wrong_usage, "Rejected.UnsupportedOperation");
    assert!(!out.exists(), "no refusal wrote anything");

    let nothing = release.ks.file("nothing-here");
    std::fs::create_dir(&nothing).unwrap();
    let empty = release.ks.run(&[
        "sign",
        path(&nothing),
        "--key-id",
        &release.key_id,
        "--key-version-id",
        &release.version,
        "--out",
        path(&out),
    ]);
    refused(&empty, "bad-input");
    assert!(empty.stderr.contains("no files"), "{}", empty.stderr);
    let missing = release.ks.run(&[
        "sign",
        "/no/such/dir",
        "--key-id",
        &release.key_id,
        "--key-version-id",
        &release.version,
        "--out",
        path(&out),
    ]);
    refused(&missing, "unreadable-files");
    assert!(missing.stderr.contains("/no/such/dir"), "{}", missing.stderr);
    assert!(!out.exists());
}

/// A certificate for the signing key, issued by a throwaway OpenSSL CA.
fn issue_certificate(release: &Release, name: &str, extensions: &str, days: &str, public_key: &Path) -> PathBuf {
    let ca_key = release.ks.file("ca.key");
    let ca = release.ks.file("ca.pem");
    if !ca.exists() {
        let (made, text) = peer(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                path(&ca_key),
                "-out",
                path(&ca),
                "-subj",
                "/CN=Test Release CA",
                "-days",
                "30",
            ],
        );
        assert!(made, "{text}");
    }
    let ext = release.ks.file(&format!("{name}.ext"));
    std::fs::write(&ext, extensions).unwrap();
    let cert = release.ks.file(&format!("{name}.pem"));
    let (made, text) = peer(
        "openssl",
        &[
            "x509",
            "-new",
            "-subj",
            &format!("/CN={name}"),
            "-force_pubkey",
            path(public_key),
            "-CA",
            path(&ca),
            "-CAkey",
            path(&ca_key),
            "-days",
            days,
            "-extfile",
            path(&ext),
            "-out",
            path(&cert),
        ],
    );
    assert!(made, "{text}");
    let mut chain = std::fs::read(&cert).unwrap();
    chain.extend(std::fs::read(&ca).unwrap());
    let chain_path = release.ks.file(&format!("{name}-chain.pem"));
    std::fs::write(&chain_path, chain).unwrap();
    chain_path
}

#[test]
fn a_certificate_must_fit_the_key_be_current_and_allow_code_signing() {
    let release = Release::new("EC_P256");
    let out = release.ks.file("out");
    let sign_with = |chain: &Path| {
        release.ks.run(&[
            "sign",
            path(&release.root),
            "--key-id",
            &release.key_id,
            "--key-version-id",
            &release.version,
            "--out",
            path(&out),
            "--cert",
            path(chain),
        ])
    };
    let code_signing = "keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n";
    let good = issue_certificate(&release, "release-signer", code_signing, "30", &release.public_key);
    let signed = sign_with(&good);
    assert_eq!(signed.status, 0, "{}", signed.stderr);
    let bundle: Value = serde_json::from_slice(&std::fs::read(out.join("keyseal.bundle.json")).unwrap()).unwrap();
    let chain = bundle["signer"]["certificateChain"].as_array().unwrap();
    assert_eq!(chain.len(), 2, "leaf first, then the CA");
    assert!(chain[0].as_str().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    std::fs::remove_dir_all(&out).unwrap();

    let server_only =
        issue_certificate(&release, "web-server", "extendedKeyUsage=serverAuth\n", "30", &release.public_key);
    let wrong_purpose = sign_with(&server_only);
    refused(&wrong_purpose, "missing-code-signing-purpose");
    assert!(wrong_purpose.stderr.contains("CN=web-server"), "{}", wrong_purpose.stderr);

    let other_version = release.ks.new_version(&release.key_id);
    let other_public = release.ks.file("other.pub.pem");
    release.ks.public_key(&release.key_id, &other_version, &other_public);
    let wrong_key = issue_certificate(&release, "other-key", code_signing, "30", &other_public);
    refused(&sign_with(&wrong_key), "key-mismatch");

    let expired = issue_certificate(&release, "expired-signer", code_signing, "0", &release.public_key);
    // `-days 0` makes notAfter the issuing second; wait until that second has passed.
    let (_, dates) = peer("openssl", &["x509", "-in", path(&expired), "-noout", "-enddate"]);
    let not_after = std::time::SystemTime::now();
    while std::time::SystemTime::now().duration_since(not_after).unwrap().as_millis() < 1100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let too_late = sign_with(&expired);
    assert!(too_late.stderr.contains("[expired]"), "{dates}: {}", too_late.stderr);
    refused(&too_late, "expired");

    let garbage = release.ks.file("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
    refused(&sign_with(&garbage), "malformed-certificate");
    assert!(!out.exists(), "no refused certificate wrote anything");
}

#[test]
fn verify_refuses_unusable_input_with_exit_2() {
    let release = Release::new("EC_P256");
    ok(release.sign(&[]));
    let bundle = release.root.join("keyseal.bundle.json");
    let run = |bundle: &Path, public_key: &Path| {
        release.ks.run(&["verify", path(&release.root), "--bundle", path(bundle), "--public-key", path(public_key)])
    };
    let not_json = release.ks.file("not.json");
    std::fs::write(&not_json, "{").unwrap();
    refused(&run(&not_json, &release.public_key), "bad-input");
    let future = release.ks.file("future.json");
    std::fs::write(&future, r#"{"mediaType":"application/vnd.keyseal.bundle.v9+json"}"#).unwrap();
    let too_new = run(&future, &release.public_key);
    refused(&too_new, "bad-input");
    assert!(too_new.stderr.contains("upgrade keyseal"), "{}", too_new.stderr);
    let not_a_key = release.ks.file("not-a-key.pem");
    std::fs::write(&not_a_key, "hello").unwrap();
    let not_a_key = run(&bundle, &not_a_key);
    refused(&not_a_key, "bad-input");
    assert!(not_a_key.stderr.contains("not a PUBLIC KEY PEM"), "{}", not_a_key.stderr);
    let absent = run(&bundle, &release.ks.file("absent.pem"));
    refused(&absent, "bad-input");
    assert!(absent.stderr.contains("cannot read the public key file"), "{}", absent.stderr);
    let no_pin = release.ks.run(&["verify", path(&release.root), "--bundle", path(&bundle)]);
    assert_eq!(no_pin.status, 2, "a signer must be pinned");
    assert!(no_pin.stderr.contains("required arguments were not provided"), "{}", no_pin.stderr);
}

/// An error names its code once, in brackets (`error [Keyseal.WrongPassphrase]: ...`), not
/// again at the start of its message.
#[test]
fn an_error_says_its_code_once() {
    let ks = Keyseal::new();
    let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let release = ks.file("release");
    std::fs::create_dir(&release).unwrap();
    std::fs::write(release.join("app"), b"binary").unwrap();
    let out = ks.file("out");
    let run: Run = ks
        .command()
        .env("KEYSEAL_PASSPHRASE", "not the passphrase")
        .args(["sign", release.to_str().unwrap(), "--key-id", &key_id, "--key-version-id", &version, "--out"])
        .arg(&out)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("keyseal: error [Keyseal.WrongPassphrase]: "), "{}", run.stderr);
    assert_eq!(run.stderr.matches("WrongPassphrase").count(), 1, "{}", run.stderr);
}

/// `verify` without a way to trust the signer names both ways (issue 13 item 6).
#[test]
fn verify_without_a_key_names_both_ways_to_trust_the_signer() {
    let ks = Keyseal::new();
    let run = ks.run(&["verify", ks.dir.path().to_str().unwrap()]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--public-key") && run.stderr.contains("--trust"), "{}", run.stderr);
}

/// The `detachedSignatures` entry named `name` of a `verify --json` report.
fn signature_report<'a>(report: &'a Value, name: &str) -> &'a Value {
    let entries = report["detachedSignatures"].as_array().unwrap();
    entries.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no {name} in {report}"))
}

/// The `detachedSignatures` entries whose names end with `suffix`.
fn signature_reports<'a>(report: &'a Value, suffix: &str) -> Vec<&'a Value> {
    let entries = report["detachedSignatures"].as_array().unwrap();
    entries.iter().filter(|r| r["name"].as_str().unwrap().ends_with(suffix)).collect()
}

/// `ssh-keygen -Y verify` on the SSH signatures `sign --format ssh` writes.
fn ssh_keygen_verifies(allowed: &Path, namespace: &str, signature: &Path, message: &Path) -> (bool, String) {
    run_peer(
        std::process::Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f", path(allowed), "-I", "release@example.com", "-n", namespace, "-s"])
            .arg(signature)
            .stdin(std::fs::File::open(message).unwrap()),
    )
}

/// Issue 33 item 2: for each key spec with an SSH form, `sign --format ssh --detached`
/// writes SSH signatures of the manifest and of every file that OpenSSH's `ssh-keygen -Y
/// verify` accepts with the `ssh allowed-signers` line, and refuses over a tampered file or
/// in another namespace; the key line is the one `ssh-keygen` makes of the PEM public
/// key; `keyseal verify` checks them too and names what is wrong.
#[test]
fn ssh_signatures_verify_with_ssh_keygen_and_keyseal() {
    for spec in ["EC_P256", "RSA_2048"] {
        let release = Release::new(spec);
        let summary = ok(release.sign(&["--format", "ssh", "--detached", "--json"]));
        let outputs: Vec<&str> = summary["outputs"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
        assert_eq!(outputs.iter().filter(|o| o.ends_with(".sshsig")).count(), 6, "{outputs:?}");
        let ks = &release.ks;
        let line = ks.ok_text(&[
            "kms",
            "get-public-key",
            "--key-id",
            &release.key_id,
            "--key-version-id",
            &release.version,
            "--format",
            "ssh",
        ]);
        let (converted, text) = peer("ssh-keygen", &["-i", "-m", "PKCS8", "-f", path(&release.public_key)]);
        assert!(converted, "{text}");
        assert_eq!(line.trim(), text.trim(), "{spec}: the OpenSSH line of the PEM key");
        let allowed = ks.file("allowed_signers");
        let entry = ks.ok_text(&[
            "ssh",
            "allowed-signers",
            "--principal",
            "release@example.com",
            "--key-id",
            &release.key_id,
            "--key-version-id",
            &release.version,
        ]);
        assert_eq!(entry, format!("release@example.com namespaces=\"file\" {line}"));
        std::fs::write(&allowed, entry).unwrap();
        let manifest = release.root.join("SHA256SUMS");
        let (good, text) = ssh_keygen_verifies(&allowed, "file", &release.root.join("SHA256SUMS.sshsig"), &manifest);
        assert!(good && text.contains("Good \"file\" signature for release@example.com"), "{spec}: {text}");
        for name in ["empty", "docs/ünïcödé dir/read me.txt", "large.tar"] {
            let signature = release.root.join(format!("{name}.sshsig"));
            let (good, text) = ssh_keygen_verifies(&allowed, "file", &signature, &release.root.join(name));
            assert!(good, "{spec} {name}: {text}");
        }
        let (good, _) = ssh_keygen_verifies(&allowed, "git", &release.root.join("SHA256SUMS.sshsig"), &manifest);
        assert!(!good, "the allowed_signers line limits the key to the file namespace");
        let verified = ok(release.verify(&[&release.root]));
        let ssh_reports = signature_reports(&verified, ".sshsig");
        assert_eq!(ssh_reports.len(), 6, "{verified}");
        assert!(ssh_reports.iter().all(|r| r["status"] == "ok"), "{verified}");

        // Tampered: a file's content, and the manifest's SSH signature swapped for a file's.
        let tampered = ks.file("tampered");
        std::fs::write(&tampered, b"not the manifest\n").unwrap();
        let (good, _) = ssh_keygen_verifies(&allowed, "file", &release.root.join("SHA256SUMS.sshsig"), &tampered);
        assert!(!good, "{spec}: ssh-keygen refuses another message");
        std::fs::copy(release.root.join("empty.sshsig"), release.root.join("SHA256SUMS.sshsig")).unwrap();
        let report = release.verify(&[&release.root]);
        assert_eq!(report.status, 1, "{}", report.stdout);
        let report = report.json();
        let manifest_ssh = signature_report(&report, "SHA256SUMS.sshsig");
        assert_eq!(manifest_ssh["status"], "bad-signature", "{report}");
        assert!(manifest_ssh["detail"].as_str().unwrap().contains("does not verify"), "{report}");
    }
}

/// `verify --ssh-namespace` names the namespace SSH signatures must have; one made in
/// another fails, saying which.
#[test]
fn an_ssh_signature_in_another_namespace_fails() {
    let release = Release::new("EC_P256");
    let summary = ok(release.sign(&["--format", "ssh", "--ssh-namespace", "release@example.com", "--json"]));
    let outputs: Vec<&str> = summary["outputs"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    let ssh: Vec<&&str> = outputs.iter().filter(|o| o.ends_with(".sshsig")).collect();
    assert_eq!(ssh.len(), 1, "without --detached, the manifest's only: {outputs:?}");
    let run = release.ks.run(&["verify", path(&release.root), "--public-key", path(&release.public_key), "--json"]);
    assert_eq!(run.status, 1, "{}", run.stdout);
    let detail = run.json()["detachedSignatures"][0]["detail"].as_str().unwrap().to_string();
    assert!(detail.starts_with("SSH signature of the manifest: "), "{detail}");
    assert!(detail.contains("namespace \"release@example.com\", not \"file\""), "{detail}");
    ok(release.ks.run(&[
        "verify",
        path(&release.root),
        "--public-key",
        path(&release.public_key),
        "--ssh-namespace",
        "release@example.com",
    ]));
}

/// Keys and algorithms SSH has no signature for are refused before anything is signed or
/// written, with a code and a message that says what would work; so are namespaces and
/// principals an allowed_signers file could misread.
#[test]
fn ssh_refuses_what_has_no_ssh_form() {
    let release = Release::new("EC_P256K");
    let run = release.sign(&["--format", "ssh"]);
    refused(&run, "unsupported-format");
    assert!(run.stderr.contains("EC_P256K") && run.stderr.contains("EC_P256 (ecdsa-sha2-nistp256)"), "{}", run.stderr);
    assert!(!release.root.join("SHA256SUMS").exists(), "nothing is written");
    let run = release.ks.run(&[
        "kms",
        "get-public-key",
        "--key-id",
        &release.key_id,
        "--key-version-id",
        &release.version,
        "--format",
        "ssh",
    ]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("InvalidParameter") && run.stderr.contains("no signature form"), "{}", run.stderr);

    let rsa = Release::new("RSA_2048");
    let run = rsa.sign(&["--format", "ssh", "--algorithm", "RSA_PSS_SHA_256"]);
    refused(&run, "unsupported-format");
    assert!(run.stderr.contains("sign with RSA_PKCS1_SHA_256"), "{}", run.stderr);
    refused(&rsa.sign(&["--format", "ssh", "--ssh-namespace", "two words"]), "bad-input");
    assert!(!rsa.root.join("SHA256SUMS").exists(), "nothing is written");
    for principal in ["two words", "quo\"te", ""] {
        let run = rsa.ks.run(&[
            "ssh",
            "allowed-signers",
            "--principal",
            principal,
            "--key-id",
            &rsa.key_id,
            "--key-version-id",
            &rsa.version,
        ]);
        assert_eq!(run.status, 2, "{principal:?}: {}", run.stdout);
        assert!(run.stderr.contains("--principal"), "{}", run.stderr);
    }
}

/// keyseal's SSH signature reader takes what OpenSSH itself writes: an ECDSA P-256
/// signature made by `ssh-keygen -Y sign` verifies with the key converted to PEM by
/// `ssh-keygen -e`, and not over another message or in another namespace.
#[test]
fn keyseal_reads_ssh_keygen_signatures() {
    use keyseal::crypto::spec::{Algorithm, KeySpec};
    use keyseal::release::sshsig::SshKey;
    use sha2::{Digest, Sha512};
    let ks = Keyseal::new();
    let key = ks.file("id_ecdsa");
    let (made, text) = peer("ssh-keygen", &["-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", path(&key)]);
    assert!(made, "{text}");
    let message = ks.file("message");
    std::fs::write(&message, b"released by OpenSSH\n").unwrap();
    let (signed, text) = peer("ssh-keygen", &["-Y", "sign", "-f", path(&key), "-n", "file", path(&message)]);
    assert!(signed, "{text}");
    let (exported, pem) = peer("ssh-keygen", &["-e", "-m", "PKCS8", "-f", &format!("{}.pub", path(&key))]);
    assert!(exported, "{pem}");
    let spki = keyseal::crypto::keys::public_key_from_pem(&pem).expect("SubjectPublicKeyInfo PEM");
    let ssh = SshKey::new(KeySpec::EcP256, Algorithm::EcdsaSha256, &spki).unwrap();
    let signature = std::fs::read(format!("{}.sig", path(&message))).unwrap();
    assert_eq!(ssh.verify(&signature, "file", &Sha512::digest(b"released by OpenSSH\n")), Ok(()));
    assert!(ssh.verify(&signature, "file", &Sha512::digest(b"something else")).is_err());
    assert!(ssh.verify(&signature, "git", &Sha512::digest(b"released by OpenSSH\n")).is_err());
}

/// Issue 33 item 1: for every key spec, `sign --format cms --cert` writes a detached CMS
/// signature of the manifest that `openssl cms -verify` accepts against the CA, with the
/// signed attributes the issue names, and refuses over a tampered manifest; with `--tsa`
/// the signature carries a time stamp over its value.
#[test]
fn cms_signatures_verify_with_openssl() {
    let code_signing = "keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n";
    for (spec, algorithm) in [
        ("EC_P256", "ECDSA_SHA_256"),
        ("RSA_2048", "RSA_PKCS1_SHA_256"),
        ("RSA_2048", "RSA_PSS_SHA_256"),
        ("EC_P256K", "ECDSA_SHA_256"),
    ] {
        let release = Release::new(spec);
        let chain = issue_certificate(&release, "release-signer", code_signing, "30", &release.public_key);
        let summary =
            ok(release.sign(&["--format", "cms", "--cert", path(&chain), "--algorithm", algorithm, "--json"]));
        assert!(summary["outputs"].as_array().unwrap().iter().any(|o| o.as_str().unwrap().ends_with("SHA256SUMS.p7s")));
        let p7s = release.root.join("SHA256SUMS.p7s");
        let manifest = release.root.join("SHA256SUMS");
        let ca = release.ks.file("ca.pem");
        let (good, text) = openssl_cms_verifies(&p7s, &manifest, &ca);
        assert!(good, "{spec} {algorithm}: {text}");
        let (printed, text) = peer("openssl", &["cms", "-cmsout", "-print", "-inform", "DER", "-in", path(&p7s)]);
        assert!(printed, "{text}");
        // OpenSSL 3.0 has no name for CMSAlgorithmProtection: its OID.
        for attribute in [
            "contentType",
            "messageDigest",
            "signingTime",
            "id-smime-aa-signingCertificateV2",
            "(1.2.840.113549.1.9.52)",
        ] {
            assert!(text.contains(attribute), "{spec}: no {attribute} in\n{text}");
        }
        assert!(text.contains("eContent: <ABSENT>"), "detached: {text}");
        let tampered = release.ks.file("tampered");
        std::fs::write(&tampered, std::fs::read(&manifest).unwrap().iter().rev().copied().collect::<Vec<u8>>())
            .unwrap();
        let (good, _) = openssl_cms_verifies(&p7s, &tampered, &ca);
        assert!(!good, "{spec}: openssl refuses another manifest");
        // keyseal verify checks it too.
        let report = ok(release.verify(&[&release.root]));
        assert_eq!(report["detachedSignatures"][0]["name"], "SHA256SUMS.p7s", "{report}");
        assert_eq!(report["detachedSignatures"][0]["status"], "ok", "{report}");
    }
}

/// A CMS signature needs the signer's certificate: refused before anything is signed or
/// written. With --detached each file gets its own, which OpenSSL and keyseal check; a
/// swapped one fails keyseal's verify with what is wrong.
#[test]
fn cms_needs_a_certificate_and_signs_each_file_with_detached() {
    let release = Release::new("EC_P256");
    let run = release.sign(&["--format", "cms"]);
    refused(&run, "unsupported-format");
    assert!(run.stderr.contains("--cert CHAIN.pem"), "{}", run.stderr);
    assert!(!release.root.join("SHA256SUMS").exists(), "nothing is written");

    let chain =
        issue_certificate(&release, "release-signer", "extendedKeyUsage=codeSigning\n", "30", &release.public_key);
    ok(release.sign(&["--format", "cms,ssh", "--cert", path(&chain), "--detached"]));
    let ca = release.ks.file("ca.pem");
    for name in ["empty", "docs/ünïcödé dir/read me.txt"] {
        let p7s = release.root.join(format!("{name}.p7s"));
        let (good, text) = openssl_cms_verifies(&p7s, &release.root.join(name), &ca);
        assert!(good, "{name}: {text}");
    }
    let report = ok(release.verify(&[&release.root]));
    let names: Vec<&str> =
        report["detachedSignatures"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"SHA256SUMS.p7s") && names.contains(&"large.tar.p7s"), "{names:?}");
    assert_eq!(names.len(), 2 + 5 * 4, "manifest: .sshsig, .p7s; each file: .sig, .sigstore.json, .sshsig, .p7s");

    std::fs::copy(release.root.join("empty.p7s"), release.root.join("large.tar.p7s")).unwrap();
    std::fs::write(release.root.join("SHA256SUMS.p7s"), b"\x30\x03\x02\x01\x01").unwrap();
    let run = release.verify(&[&release.root]);
    assert_eq!(run.status, 1, "{}", run.stdout);
    let report = run.json();
    let detail = |name: &str| {
        let found = signature_report(&report, name);
        assert_eq!(found["status"], "bad-signature", "{found}");
        found["detail"].as_str().unwrap().to_string()
    };
    assert!(detail("large.tar.p7s").starts_with("CMS detached signature of large.tar: it signs another message"));
    assert!(detail("SHA256SUMS.p7s").contains("not a DER CMS ContentInfo"), "{report}");
}

/// Runs a peer with `GNUPGHOME` in `home` (gpg and gpgv keep their state there).
fn gnupg(home: &Path, program: &str, args: &[&str]) -> (bool, String) {
    run_peer(std::process::Command::new(program).args(args).env("GNUPGHOME", home).stdin(std::process::Stdio::null()))
}

/// Issue 33 item 3: for each key spec with an OpenPGP form, `pgp export-cert` writes a
/// certificate whose fingerprint it prints (the same on every export) and that `gpg
/// --import` shows with the user ID; `sign --format pgp --detached` writes signatures of
/// the manifest and of every file that GnuPG's `gpgv` and Sequoia's `sqv` accept with it,
/// and refuse over a tampered manifest; `keyseal verify` checks them too.
#[test]
fn openpgp_signatures_verify_with_gpgv_and_sqv() {
    for spec in ["EC_P256", "RSA_2048"] {
        let release = Release::new(spec);
        let ks = &release.ks;
        let home = ks.file("gnupg");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let cert = ks.file("release.asc");
        let uid = "Example Releases <releases@example.com>";
        let export = |out: &Path| {
            ks.ok_text(&[
                "pgp",
                "export-cert",
                "--key-id",
                &release.key_id,
                "--key-version-id",
                &release.version,
                "--uid",
                uid,
                "--out",
                path(out),
            ])
        };
        let fingerprint = export(&cert).trim().to_string();
        assert_eq!(fingerprint.len(), 40, "{fingerprint}");
        assert_eq!(export(&ks.file("again.asc")).trim(), fingerprint, "the fingerprint is the same on every export");
        let (imported, text) = gnupg(&home, "gpg", &["--batch", "--import", path(&cert)]);
        assert!(imported && text.contains(uid), "{text}");
        let (listed, text) = gnupg(&home, "gpg", &["--batch", "--with-colons", "--fingerprint"]);
        assert!(listed && text.contains(&format!("fpr:::::::::{fingerprint}:")), "{text}");
        // The key's creation time (field 6 of gpg's `pub` line) is the KMS key's.
        let created = ks.ok(&["kms", "describe-key", "--key-id", &release.key_id])["KeyMetadata"]["CreationDate"]
            .as_str()
            .unwrap()
            .to_string();
        let pub_line = text.lines().find(|line| line.starts_with("pub:")).unwrap();
        let unix: i64 = pub_line.split(':').nth(5).unwrap().parse().unwrap();
        assert_eq!(keyseal::clock::format_unix(unix), created, "{pub_line}");
        let keyring = ks.file("release.gpg");
        let (dearmored, text) =
            gnupg(&home, "gpg", &["--batch", "--yes", "--dearmor", "--output", path(&keyring), path(&cert)]);
        assert!(dearmored, "{text}");

        ok(release.sign(&["--format", "pgp", "--detached"]));
        let manifest = release.root.join("SHA256SUMS");
        let signature = release.root.join("SHA256SUMS.asc");
        let (good, text) = gnupg(&home, "gpgv", &["--keyring", path(&keyring), path(&signature), path(&manifest)]);
        assert!(good && text.contains(&format!("Good signature from \"{uid}\"")), "{spec}: {text}");
        let (good, text) = gnupg(&home, "sqv", &["--keyring", path(&cert), path(&signature), path(&manifest)]);
        assert!(good && text.contains(&fingerprint), "{spec}: {text}");
        for name in ["empty", "docs/ünïcödé dir/read me.txt", "large.tar"] {
            let file_signature = release.root.join(format!("{name}.asc"));
            let (good, text) =
                gnupg(&home, "sqv", &["--keyring", path(&cert), path(&file_signature), path(&release.root.join(name))]);
            assert!(good, "{spec} {name}: {text}");
        }
        let report = ok(release.verify(&[&release.root]));
        let pgp = signature_reports(&report, ".asc");
        assert_eq!(pgp.len(), 6, "{report}");
        assert!(pgp.iter().all(|r| r["status"] == "ok"), "{report}");

        let tampered = ks.file("tampered");
        std::fs::write(&tampered, b"not the manifest\n").unwrap();
        let (good, _) = gnupg(&home, "gpgv", &["--keyring", path(&keyring), path(&signature), path(&tampered)]);
        assert!(!good, "{spec}: gpgv refuses another manifest");
        let (good, _) = gnupg(&home, "sqv", &["--keyring", path(&cert), path(&signature), path(&tampered)]);
        assert!(!good, "{spec}: sqv refuses another manifest");
        std::fs::copy(release.root.join("empty.asc"), &signature).unwrap();
        let run = release.verify(&[&release.root]);
        assert_eq!(run.status, 1, "{}", run.stdout);
        let report = run.json();
        let found = signature_report(&report, "SHA256SUMS.asc");
        assert_eq!(found["status"], "bad-signature", "{report}");
        assert!(found["detail"].as_str().unwrap().starts_with("OpenPGP signature of the manifest: "));
    }
}

/// Keys and algorithms OpenPGP has no form for here are refused before anything is signed
/// or written; so is a user ID with control characters.
#[test]
fn openpgp_refuses_what_has_no_openpgp_form() {
    let release = Release::new("EC_P256K");
    let run = release.sign(&["--format", "pgp"]);
    refused(&run, "unsupported-format");
    assert!(run.stderr.contains("EC_P256K"), "{}", run.stderr);
    assert!(!release.root.join("SHA256SUMS").exists(), "nothing is written");
    let export = |release: &Release, uid: &str| {
        release.ks.run(&[
            "pgp",
            "export-cert",
            "--key-id",
            &release.key_id,
            "--key-version-id",
            &release.version,
            "--uid",
            uid,
        ])
    };
    refused(&export(&release, "Name <a@example.com>"), "unsupported-format");
    let rsa = Release::new("RSA_2048");
    let run = rsa.sign(&["--format", "pgp", "--algorithm", "RSA_PSS_SHA_256"]);
    refused(&run, "unsupported-format");
    assert!(run.stderr.contains("RSA_PKCS1_SHA_256"), "{}", run.stderr);
    let run = export(&rsa, "Evil\u{1b}[31m <a@example.com>");
    assert_eq!(run.status, 2, "{}", run.stdout);
    assert!(run.stderr.contains("--uid"), "{}", run.stderr);
}

/// `verify --format` requires the manifest's signature in that format: absent, it fails as
/// missing; present, it is checked as always.
#[test]
fn verify_format_requires_the_signature_in_that_format() {
    let release = Release::new("EC_P256");
    ok(release.sign(&["--format", "ssh"]));
    let verify = |formats: &str| {
        release.ks.run(&[
            "verify",
            path(&release.root),
            "--public-key",
            path(&release.public_key),
            "--format",
            formats,
            "--json",
        ])
    };
    ok(verify("ssh"));
    let run = verify("ssh,pgp");
    assert_eq!(run.status, 1, "{}", run.stdout);
    let report = run.json();
    let missing = signature_report(&report, "SHA256SUMS.asc");
    assert_eq!(missing["status"], "missing", "{report}");
    assert!(missing["detail"].as_str().unwrap().contains("--format pgp asks for it"), "{report}");
    let run = verify("x509");
    assert_eq!(run.status, 2, "an unknown format is a usage error: {}", run.stderr);
}

/// A signature in another format that is a FIFO, or larger than its cap, is reported
/// unreadable (never read into memory whole, never blocked on) and fails the verification.
#[test]
fn hostile_signature_files_beside_the_manifest_are_unreadable() {
    let release = Release::new("EC_P256");
    ok(release.sign(&[]));
    std::fs::write(release.root.join("SHA256SUMS.sshsig"), vec![b'A'; 200 << 10]).unwrap();
    let (made, text) = peer("mkfifo", &[path(&release.root.join("SHA256SUMS.asc"))]);
    assert!(made, "{text}");
    let run = release.verify(&[&release.root]);
    assert_eq!(run.status, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    for name in ["SHA256SUMS.sshsig", "SHA256SUMS.asc"] {
        assert_eq!(signature_report(&report, name)["status"], "unreadable", "{name}: {report}");
    }
}
