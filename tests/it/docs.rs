//! The documentation, held to what it says. Every ```` ```sh ```` block of the README and of
//! `docs/` (not those marked `not-run`) runs as written: the tour's in order in one bash
//! shell, every other page's likewise in a shell of its own, each starting in an empty
//! directory with the built `keyseal` on the PATH as `cargo install` would put it. Every
//! relative link leads to a file and heading that exist, and the reason-code page lists
//! every code keyseal has. A newcomer who types what the pages say gets what they promise.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keyseal::ca::CaCode;
use keyseal::codes::Common;
use keyseal::kms::error::ErrorCode;
use keyseal::release::ReleaseCode;
use keyseal::release::attest_verify::AttestationFailure;
use keyseal::tsa::TsaCode;
use keyseal::tsa::verify::TokenReason;
use keyseal::x509::reason::Reason;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The README and every page under docs/, as paths relative to the repository.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| path.strip_prefix(repo()).unwrap().to_path_buf())
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn read(page: &Path) -> String {
    std::fs::read_to_string(repo().join(page)).unwrap()
}

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
    assert!(current.is_none(), "an unclosed ```sh block");
    blocks
}

/// Runs the blocks of `page` in one bash shell in an empty directory (at most 300 s) and
/// returns what it printed on stdout; fails naming the block that failed.
fn run_page(page: &Path) -> String {
    let blocks = runnable_blocks(&read(page));
    // Background jobs (a server) are stopped whatever happens.
    let mut script = String::from("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n");
    for (index, block) in blocks.iter().enumerate() {
        script.push_str(&format!("echo '### block {}' >&2\n{block}", index + 1));
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
    // The pages do not test the key derivation: the cheapest one keyseal accepts.
    shell.env("KEYSEAL_KDF", crate::common::CHEAP_KDF);
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
    let failed = stderr.rsplit("### block ").next().and_then(|s| s.lines().next()).unwrap_or("?");
    assert!(status.success(), "{}: block {failed} failed ({status}):\n{stdout}\n{stderr}", page.display());
    stdout
}

#[test]
fn the_readme_first_commands_run_as_written() {
    let page = Path::new("README.md");
    assert_eq!(runnable_blocks(&read(page)).len(), 1, "the README's one runnable block is its first commands");
    let stdout = run_page(page);
    for expected in ["Verified OK", "app: OK"] {
        assert!(stdout.contains(expected), "the README never printed {expected:?}:\n{stdout}");
    }
}

#[test]
fn every_block_of_the_tour_runs_as_written() {
    let page = Path::new("docs/tour.md");
    assert!(runnable_blocks(&read(page)).len() >= 6, "the tour lost blocks");
    let stdout = run_page(page);
    // The lines that show a failure on purpose must have seen it.
    for expected in [
        "Verified OK",
        "tampering caught: exit 1",
        "refused: exit 1",
        "verified: 2 files",
        "Verification: OK",
        "time stamp ok",
        "attestation ok",
        "good for localhost",
    ] {
        assert!(stdout.contains(expected), "the tour never printed {expected:?}:\n{stdout}");
    }
    assert!(stdout.contains("MODIFIED") && stdout.contains("[revoked]"), "{stdout}");
}

#[test]
fn every_other_page_runs_its_blocks() {
    for page in pages().iter().filter(|page| !["README.md", "docs/tour.md"].contains(&page.to_str().unwrap())) {
        if !runnable_blocks(&read(page)).is_empty() {
            run_page(page);
        }
    }
}

/// GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces
/// made `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(markdown: &str) -> Vec<String> {
    let mut fenced = false;
    let mut anchors = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            anchors.push(anchor(line.trim_start_matches('#')));
        }
    }
    anchors
}

/// The targets of the inline links `[text](target)` of `markdown`, outside code.
fn links(markdown: &str) -> Vec<String> {
    let mut fenced = false;
    let mut targets = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    targets
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading_that_exist() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        for target in links(&read(&page)) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            checked += 1;
            let (file, fragment) = target.split_once('#').map_or((target.as_str(), None), |(f, a)| (f, Some(a)));
            let resolved = if file.is_empty() { page.clone() } else { page.parent().unwrap().join(file) };
            let Ok(found) = repo().join(&resolved).canonicalize() else {
                broken.push(format!("{}: {target} (no such file)", page.display()));
                continue;
            };
            if let Some(fragment) = fragment {
                let text = std::fs::read_to_string(&found).unwrap_or_default();
                if !anchors(&text).iter().any(|a| a == fragment) {
                    broken.push(format!("{}: {target} (no such heading)", page.display()));
                }
            }
        }
    }
    assert!(checked >= 30, "only {checked} links found: is the parser broken?");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// Every code table of the code, by name: the errors of each domain and the verdicts of
/// each verifier.
fn code_tables() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("kms", ErrorCode::ALL.iter().map(|c| c.as_str()).collect()),
        ("common", Common::ALL.iter().map(|c| c.as_str()).collect()),
        ("ca", CaCode::ALL.iter().map(|c| c.as_str()).collect()),
        ("tsa", TsaCode::ALL.iter().map(|c| c.as_str()).collect()),
        ("release", ReleaseCode::ALL.iter().map(|c| c.as_str()).collect()),
        ("chain", Reason::ALL.iter().map(|r| r.code()).collect()),
        ("token", TokenReason::ALL.iter().map(|r| r.code()).collect()),
        ("attestation", AttestationFailure::ALL.iter().map(|r| r.code()).collect()),
    ]
}

/// The codes in the first column of the page's `| code | ...` tables.
fn codes_on_the_page(page: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    let mut in_code_table = false;
    for line in page.lines() {
        if !line.starts_with('|') {
            in_code_table = false;
        } else if line.starts_with("| code |") {
            in_code_table = true;
        } else if in_code_table {
            let first = line.split('|').nth(1).unwrap_or_default();
            codes.extend(first.split('`').skip(1).step_by(2).map(str::to_string));
        }
    }
    codes
}

#[test]
fn the_reason_code_page_lists_every_code_and_no_other() {
    let page = read(Path::new("docs/reason-codes.md"));
    let tables = code_tables();
    let known: BTreeSet<String> = tables.iter().flat_map(|(_, codes)| codes.iter().map(|c| c.to_string())).collect();
    let missing: Vec<&String> = known.iter().filter(|code| !page.contains(&format!("`{code}`"))).collect();
    assert!(missing.is_empty(), "docs/reason-codes.md does not list {missing:?}");
    let listed = codes_on_the_page(&page);
    assert!(listed.len() > 100, "only {} codes found in the tables: is the parser broken?", listed.len());
    let unknown: Vec<&String> = listed.difference(&known).collect();
    assert!(unknown.is_empty(), "docs/reason-codes.md lists codes keyseal does not have: {unknown:?}");
}

/// An error code is declared in one table: a domain that means what a lower layer's code
/// says passes that code through (the CA's `not-a-ca` is the chain rule's) instead of
/// declaring a second one. The verifiers' verdict tables may share a word among themselves
/// (`bad-signature` of a chain and of an attestation), never with an error table.
#[test]
fn every_error_code_is_declared_once() {
    let tables = code_tables();
    let verdicts = ["chain", "token", "attestation"];
    let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
    for (table, codes) in &tables {
        let mut own = BTreeSet::new();
        for code in codes {
            assert!(own.insert(*code), "{code} appears twice in the {table} table");
        }
    }
    for (table, codes) in tables.iter().filter(|(table, _)| !verdicts.contains(table)) {
        for code in codes {
            if let Some(other) = seen.insert(code, table) {
                panic!("{code} is declared by the {other} and the {table} tables");
            }
        }
    }
    for (table, codes) in tables.iter().filter(|(table, _)| verdicts.contains(table)) {
        for code in codes {
            assert!(!seen.contains_key(code), "{code} of the {table} verdicts is also the {} error", seen[code]);
        }
    }
}

#[test]
fn the_readme_is_one_screen_and_names_the_two_ideas() {
    let readme = read(Path::new("README.md"));
    assert!(
        readme.lines().count() <= 80,
        "the README has {} lines; reference belongs in docs/",
        readme.lines().count()
    );
    for idea in ["no primary version", "signs a digest"] {
        assert!(readme.to_lowercase().contains(idea), "the README does not say {idea:?}");
    }
}
