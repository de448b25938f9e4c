//! The README's tour, run as written: every ```` ```sh ```` block (not those marked
//! `not-run`), in order, in one bash shell, in an empty directory, with the built `keyseal`
//! on the PATH as `cargo install` would put it. A README command that stops working fails
//! here, so a newcomer who types the tour gets what it promises.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The runnable blocks of `markdown`, in order.
fn runnable_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "the README has an unclosed ```sh block");
    blocks
}

#[test]
fn every_block_of_the_tour_runs_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let blocks = runnable_blocks(&readme);
    assert!(blocks.len() >= 5, "the tour has {} runnable blocks", blocks.len());
    // Background jobs (the server) are stopped whatever happens.
    let mut script = String::from("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n");
    for (index, block) in blocks.iter().enumerate() {
        script.push_str(&format!("echo '### README block {}' >&2\n{block}", index + 1));
    }
    let scratch = tempfile::tempdir().unwrap();
    let home = scratch.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_keyseal")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut shell = Command::new("bash");
    shell.arg("-c").arg(&script).current_dir(scratch.path()).env("HOME", &home).env("PATH", path);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("KEYSEAL_")) {
        shell.env_remove(name);
    }
    let mut child = shell.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text).unwrap_or_default()
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).map(|_| text).unwrap_or_default()
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    let failed_block = stderr.rsplit("### README block ").next().and_then(|s| s.lines().next()).unwrap_or("?");
    assert!(status.success(), "README block {failed_block} failed ({status}):\n{stdout}\n{stderr}");
    // The lines that show a failure on purpose must have seen it.
    for expected in [
        "Verified OK",
        "tampering caught: exit 1",
        "refused: exit 1",
        "verified: 2 files",
        "Verification: OK",
        "time stamp ok",
    ] {
        assert!(stdout.contains(expected), "the tour never printed {expected:?}:\n{stdout}\n{stderr}");
    }
    assert!(stdout.contains("MODIFIED") && stdout.contains("[revoked]"), "{stdout}");
}
