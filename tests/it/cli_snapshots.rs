//! Snapshots of what a user reads: `--help` of every command, and the text of common
//! refusals, as the binary prints them. A change to a flag, a help line or an error message
//! shows up here as a diff to review, as trycmd does for age/rage.
//!
//! `KEYSEAL_BLESS=1 cargo test --test it cli_snapshots::` rewrites the snapshots from the
//! binary; review them with `git diff tests/snapshots`.

use crate::common::Keyseal;
use clap::CommandFactory;
use std::path::{Path, PathBuf};

const SNAPSHOTS: &str = "tests/snapshots";

/// Whether to rewrite the snapshots instead of checking them.
fn blessing() -> bool {
    std::env::var_os("KEYSEAL_BLESS").is_some()
}

/// Every command path, from the CLI's own definition: `[]`, `["kms"]`, `["kms", "create-key"]`, ...
fn command_paths() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
            path.push(sub.get_name().to_string());
            walk(sub, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(&keyseal::cli::Cli::command(), &mut Vec::new(), &mut out);
    out
}

/// `keyseal ARGS` at a fixed width, on a store that is never made.
fn run(ks: &Keyseal, args: &[&str]) -> crate::common::Run {
    ks.command().env("COLUMNS", "100").env_remove("KEYSEAL_PASSPHRASE").args(args).output().unwrap().into()
}

/// Compares `actual` with the snapshot at `path` (or writes it when blessing); returns a
/// line for the failure list when they differ.
fn check(path: &Path, actual: &str) -> Option<String> {
    if blessing() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return None;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    (expected != actual).then(|| {
        let first = expected.lines().zip(actual.lines()).position(|(e, a)| e != a).unwrap_or(0);
        format!(
            "{}: differs from line {} ({:?} now {:?})",
            path.display(),
            first + 1,
            expected.lines().nth(first).unwrap_or("<end>"),
            actual.lines().nth(first).unwrap_or("<end>")
        )
    })
}

#[test]
fn every_commands_help_is_as_snapshotted() {
    let ks = Keyseal::new();
    let dir = PathBuf::from(SNAPSHOTS).join("help");
    let mut failures = Vec::new();
    let mut expected_files = Vec::new();
    for path in command_paths() {
        let name = if path.is_empty() { "keyseal".to_string() } else { format!("keyseal-{}", path.join("-")) };
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = run(&ks, &args);
        assert_eq!(help.status, 0, "keyseal {args:?}: {}", help.stderr);
        let file = dir.join(format!("{name}.txt"));
        failures.extend(check(&file, &help.stdout));
        expected_files.push(file);
    }
    assert!(expected_files.len() > 50, "only {} commands found", expected_files.len());
    assert!(!ks.store().exists(), "--help made a store");
    // A snapshot of a command that is gone fails too: delete it, or bless.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().path();
        if !expected_files.contains(&file) {
            failures.push(format!("{}: no such command any more", file.display()));
        }
    }
    assert!(failures.is_empty(), "help changed (KEYSEAL_BLESS=1 to accept):\n{}", failures.join("\n"));
}

/// Refusals whose words a user sees often. Each case file starts with `$ keyseal ARGS`; the
/// rest is the exit status and both streams, as the binary printed them.
#[test]
fn common_refusals_read_as_snapshotted() {
    let ks = Keyseal::new();
    let dir = PathBuf::from(SNAPSHOTS).join("errors");
    let mut failures = Vec::new();
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().path();
        let text = std::fs::read_to_string(&file).unwrap();
        let command = text.lines().next().and_then(|line| line.strip_prefix("$ keyseal ")).unwrap_or_else(|| {
            panic!("{}: the first line must be `$ keyseal ARGS`", file.display());
        });
        let args: Vec<&str> = command.split_whitespace().collect();
        let out = run(&ks, &args);
        let actual =
            format!("$ keyseal {command}\nexit {}\n--- stdout\n{}--- stderr\n{}", out.status, out.stdout, out.stderr);
        failures.extend(check(&file, &actual));
        cases += 1;
    }
    assert!(cases >= 8, "only {cases} cases in {}", dir.display());
    assert!(!ks.store().exists(), "a refusal made a store");
    assert!(failures.is_empty(), "error text changed (KEYSEAL_BLESS=1 to accept):\n{}", failures.join("\n"));
}
