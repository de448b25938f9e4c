//! `keyseal completions SHELL` and `keyseal man`, checked by the programs that read them:
//! bash parses and runs the bash script, groff renders the man pages. Neither command may
//! touch the store or ask for the passphrase.

use crate::common::Keyseal;
use std::path::Path;
use std::process::{Command, Stdio};

/// The top-level commands, as `keyseal --help` lists them.
const COMMANDS: &[&str] =
    &["kms", "audit", "ca", "cert", "sign", "verify", "serve", "access", "demo", "completions", "man"];

/// `keyseal ARGS` with no passphrase, on a store that must stay uncreated.
fn generate(ks: &Keyseal, args: &[&str]) -> String {
    let run: crate::common::Run = ks.command().env_remove("KEYSEAL_PASSPHRASE").args(args).output().unwrap().into();
    assert_eq!(run.status, 0, "keyseal {args:?}:\n{}", run.stderr);
    assert!(!ks.store().exists(), "keyseal {args:?} created the store");
    run.stdout
}

/// What bash's completion function offers for `words`, the last one being completed.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let words_array: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let (current, previous) = (words[words.len() - 1], words[words.len() - 2]);
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _keyseal keyseal '{current}' '{previous}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words_array.join(" "),
        words.len() - 1
    );
    let output = Command::new("bash").args(["--norc", "-c", &program]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}

#[test]
fn bash_completion_parses_and_completes_commands_and_flags() {
    let ks = Keyseal::new();
    let script = generate(&ks, &["completions", "bash"]);
    assert!(script.contains("verify") && script.contains("kms"), "{script}");
    let path = ks.file("keyseal.bash");
    std::fs::write(&path, &script).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(syntax.status.success(), "bash -n: {}", String::from_utf8_lossy(&syntax.stderr));

    assert_eq!(bash_completes(&path, &["keyseal", "k"]), vec!["kms"]);
    assert_eq!(bash_completes(&path, &["keyseal", "kms", "asymmetric-d"]), vec!["asymmetric-decrypt"]);
    let decrypt_flags = bash_completes(&path, &["keyseal", "kms", "asymmetric-decrypt", "--ciphertext-"]);
    assert!(decrypt_flags.contains(&"--ciphertext-file".to_string()), "{decrypt_flags:?}");
    let offered = bash_completes(&path, &["keyseal", "completions", ""]);
    for shell in ["bash", "elvish", "fish", "powershell", "zsh"] {
        assert!(offered.contains(&shell.to_string()), "{offered:?}");
    }
}

#[test]
fn every_shell_gets_a_script_in_its_own_form() {
    let ks = Keyseal::new();
    assert!(generate(&ks, &["completions", "zsh"]).starts_with("#compdef keyseal"));
    assert!(generate(&ks, &["completions", "fish"]).contains("complete -c keyseal"));
    assert!(generate(&ks, &["completions", "powershell"]).contains("Register-ArgumentCompleter"));
    assert!(generate(&ks, &["completions", "elvish"]).contains("edit:completion:arg-completer[keyseal]"));
    let unknown = ks.run(&["completions", "tcsh"]);
    assert_eq!(unknown.status, 2);
    assert!(unknown.stderr.contains("possible values: bash, elvish, fish, powershell, zsh"), "{}", unknown.stderr);
}

/// `groff -man -Tutf8 -ww` on a page: the text a reader sees, not hyphenated and with its
/// runs of spaces (from justification) made one, so that phrases can be searched for; any
/// warning fails.
fn render(page: &[u8]) -> String {
    let mut groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou", "-rHY=0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff must be installed (.ci/run installs groff-base)");
    std::io::Write::write_all(&mut groff.stdin.take().unwrap(), page).unwrap();
    let output = groff.wait_with_output().unwrap();
    let warnings = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && warnings.is_empty(), "groff: {warnings}");
    String::from_utf8_lossy(&output.stdout).split(' ').filter(|word| !word.is_empty()).collect::<Vec<_>>().join(" ")
}

#[test]
fn the_man_page_renders_and_names_every_command() {
    let ks = Keyseal::new();
    let page = generate(&ks, &["man"]);
    assert!(page.lines().any(|line| line.starts_with(".TH keyseal 1")), "{page}");
    let name = page.lines().skip_while(|line| *line != ".SH NAME").nth(1).unwrap_or_default();
    assert!(name.starts_with("keyseal \\- Versioned asymmetric keys"), "the NAME line says it once: {name}");
    let shown = render(page.as_bytes());
    for command in COMMANDS {
        assert!(shown.contains(&format!("keyseal-{command}(1)")), "the man page lacks {command}:\n{shown}");
    }
    assert!(shown.contains("KEYSEAL_PASSPHRASE") && shown.contains("Exit status"), "{shown}");
    assert!(!shown.contains("keyseal-help(1)"), "names a page that is not written:\n{shown}");
}

#[test]
fn man_out_dir_writes_a_page_for_every_command() {
    let ks = Keyseal::new();
    let dir = ks.file("man/man1");
    generate(&ks, &["man", "--out-dir", dir.to_str().unwrap()]);
    for command in COMMANDS {
        assert!(dir.join(format!("keyseal-{command}.1")).is_file(), "no page for {command}");
    }
    let decrypt = render(&std::fs::read(dir.join("keyseal-kms-asymmetric-decrypt.1")).unwrap());
    assert!(decrypt.contains("--ciphertext-file") && decrypt.contains("Example"), "{decrypt}");
    assert!(render(&std::fs::read(dir.join("keyseal.1")).unwrap()).contains("keyseal-kms(1)"));
    let pages = std::fs::read_dir(&dir).unwrap().count();
    assert!(pages > 40, "only {pages} pages");
}
