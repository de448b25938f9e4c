//! `keyseal demo`, the README's main command: it runs end to end on a scratch store, again
//! on the same store and directory, and every command it prints works as printed.

use crate::common::{Keyseal, PASSPHRASE};
use std::path::Path;

const STEPS: &[&str] = &[
    "keyseal ca init",
    "keyseal ca issue",
    "keyseal sign",
    "keyseal verify",
    "MODIFIED linux/app: caught",
    "still verifies",
    "keyseal kms asymmetric-encrypt",
    "secret.out is secret.txt again",
    "keyseal audit verify",
];

/// What the demo says it leaves behind.
const LEFT: &[&str] = &[
    "root.pem",
    "release-ca.pem",
    "signer.pem",
    "signer-chain.pem",
    "release/keyseal.bundle.json",
    "release/SHA256SUMS.sig",
    "tampered/linux/app",
    "next-release/keyseal.bundle.json",
    "secret.txt",
    "secret.enc",
    "secret.out",
];

fn demo(ks: &Keyseal, dir: &Path) -> crate::common::Run {
    ks.run(&["demo", "--dir", dir.to_str().unwrap()])
}

/// With nothing but the binary — no passphrase, no terminal, no store — the demo runs on a
/// throwaway store in its directory and says so first; KEYSEAL_STORE's store is not touched.
#[test]
fn the_demo_runs_unattended_on_a_throwaway_store() {
    let ks = Keyseal::new();
    let dir = ks.file("demo");
    for round in 1..=2 {
        let run: crate::common::Run = ks
            .command()
            .env_remove("KEYSEAL_PASSPHRASE")
            .args(["demo", "--dir", dir.to_str().unwrap()])
            .output()
            .unwrap()
            .into();
        assert_eq!(run.status, 0, "round {round}:\n{}\n{}", run.stdout, run.stderr);
        let first = run.stdout.lines().next().unwrap_or_default();
        assert!(first.starts_with("keyseal demo: on a throwaway store"), "{first}");
        assert!(first.contains(&dir.join("store.key").display().to_string()), "{first}");
        for step in STEPS {
            assert!(run.stdout.contains(step), "round {round} lacks {step:?}:\n{}", run.stdout);
        }
    }
    assert!(!ks.store().exists(), "the store KEYSEAL_STORE names was not made");
    let key = std::fs::metadata(dir.join("store.key")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o077, 0, "the key file is owner-only");
    let on_it: crate::common::Run = ks
        .command()
        .env("KEYSEAL_STORE", dir.join("store"))
        .env("KEYSEAL_KEY_FILE", dir.join("store.key"))
        .args(["audit", "verify"])
        .output()
        .unwrap()
        .into();
    assert_eq!(on_it.status, 0, "{}{}", on_it.stdout, on_it.stderr);
}

#[test]
fn the_demo_runs_twice_on_a_store_given_reusing_its_directory() {
    let ks = Keyseal::new();
    let dir = ks.file("demo");
    let store = ks.store();
    for round in 1..=2 {
        let run = ks.run(&["--store", store.to_str().unwrap(), "demo", "--dir", dir.to_str().unwrap()]);
        assert_eq!(run.status, 0, "round {round}:\n{}\n{}", run.stdout, run.stderr);
        for step in STEPS {
            assert!(run.stdout.contains(step), "round {round} lacks {step:?}:\n{}", run.stdout);
        }
        for file in LEFT {
            assert!(dir.join(file).exists(), "round {round} did not leave {file}");
        }
        assert!(!run.stdout.contains("1 files") && !run.stdout.contains("(s)"), "{}", run.stdout);
        assert!(run.stdout.contains(&format!("rm -r {}", dir.display())), "{}", run.stdout);
    }
    assert_eq!(ks.run(&["audit", "verify"]).status, 0);
}

/// Every `$ ...` line the demo prints, run afterwards in a shell exactly as printed (after
/// its `export KEYSEAL_STORE=...` and `cd ...`): each does what the demo said. Commands that
/// create a named thing (the alias, the two CAs) are refused the second time only because
/// the name is taken.
#[test]
fn every_command_the_demo_prints_runs_as_printed() {
    let ks = Keyseal::new();
    let dir = ks.file("demo dir");
    let run = demo(&ks, &dir);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    let commands: Vec<&str> = run.stdout.lines().filter_map(|line| line.strip_prefix("$ ")).collect();
    let (prelude, steps): (Vec<&str>, Vec<&str>) =
        commands.iter().partition(|c| c.starts_with("export ") || c.starts_with("cd "));
    assert_eq!(prelude.len(), 3, "the store, its key file and the directory: {prelude:?}");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_keyseal")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    for command in steps {
        let script = format!("{} && {command}", prelude.join(" && "));
        let replayed: crate::common::Run = std::process::Command::new("sh")
            .args(["-c", &script])
            .current_dir(ks.dir.path())
            .env("PATH", &path)
            .env("KEYSEAL_PASSPHRASE", PASSPHRASE)
            .env_remove("KEYSEAL_STORE")
            .env_remove("KEYSEAL_KEY_FILE")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
            .into();
        let taken = if command.starts_with("keyseal kms create-alias") {
            Some("AliasAlreadyExists")
        } else if command.starts_with("keyseal ca init") || command.contains("--profile intermediate-ca") {
            Some("ca-exists")
        } else {
            None
        };
        let shown = format!("{command}\nstatus {}\n{}\n{}", replayed.status, replayed.stdout, replayed.stderr);
        match taken {
            Some(code) => assert!(replayed.status == 2 && replayed.stderr.contains(code), "{shown}"),
            None if command.starts_with("keyseal verify tampered/") => {
                assert!(replayed.status == 1 && replayed.stdout.contains("MODIFIED"), "{shown}")
            }
            None => assert_eq!(replayed.status, 0, "{shown}"),
        }
    }
    assert_eq!(std::fs::read(dir.join("secret.out")).unwrap(), std::fs::read(dir.join("secret.txt")).unwrap());
}

/// Without --dir the demo uses one fixed place, `keyseal-demo` in the temporary directory,
/// and a second run reuses it instead of leaving another directory behind.
#[test]
fn without_dir_the_demo_reuses_one_directory_in_the_temporary_directory() {
    let ks = Keyseal::new();
    let tmp = ks.file("tmp");
    std::fs::create_dir(&tmp).unwrap();
    for round in 1..=2 {
        let run: crate::common::Run = ks.command().env("TMPDIR", &tmp).arg("demo").output().unwrap().into();
        assert_eq!(run.status, 0, "round {round}:\n{}\n{}", run.stdout, run.stderr);
        assert!(run.stdout.contains(&format!("rm -r {}", tmp.join("keyseal-demo").display())), "{}", run.stdout);
    }
    let made: Vec<_> = std::fs::read_dir(&tmp).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(made, vec![std::ffi::OsString::from("keyseal-demo")]);
}

/// A --store inside the --dir the demo clears is refused before anything is cleared.
#[test]
fn the_demo_refuses_a_store_inside_its_directory() {
    let ks = Keyseal::new();
    let dir = ks.file("demo");
    let run = ks.run(&["--store", dir.join("store").to_str().unwrap(), "demo", "--dir", dir.to_str().unwrap()]);
    assert_eq!(run.status, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("inside the demo's --dir"), "{}", run.stderr);
}

/// A --dir holding the user's own files is refused, and nothing in it is touched.
#[test]
fn the_demo_refuses_a_directory_it_did_not_make() {
    let ks = Keyseal::new();
    let mine = ks.file("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
    let run = demo(&ks, &mine);
    assert_eq!(run.status, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("not made by keyseal demo"), "{}", run.stderr);
    let left: Vec<_> = std::fs::read_dir(&mine).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("notes.txt")]);
}
