//! Runs of the real binary under a time limit, a 1 GiB address-space limit and GNU time,
//! for the tests that replay hostile input: what a run cost in CPU and memory is asserted,
//! not how long it took on the wall clock.

use super::{Keyseal, Run};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one bounded run used: CPU seconds (user + system) and peak resident memory.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub cpu: f64,
    pub max_rss_mib: f64,
}

/// Runs `keyseal args` in `dir` under `ulimit -v 1 GiB` and GNU time, failing the test if
/// it takes longer than `limit` wall-clock (then it is killed); returns what it used.
pub fn bounded(ks: &Keyseal, dir: &Path, args: &[&str], limit: Duration) -> (Run, Usage) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let usage_file = ks.file(&format!("usage-{}", RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg("ulimit -v 1048576; exec /usr/bin/time -f '%U %S %M' -o \"$0\" \"$@\"")
        .arg(&usage_file)
        .arg(env!("CARGO_BIN_EXE_keyseal"))
        .args(args)
        .current_dir(dir)
        .env("KEYSEAL_STORE", ks.store())
        .env("KEYSEAL_PASSPHRASE", super::PASSPHRASE)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().unwrap();
    // Drain the pipes while waiting, so a large report cannot block the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).unwrap();
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut bytes).unwrap();
        bytes
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("keyseal {args:?} ran for more than {limit:?}: it must stay bounded");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        status: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "keyseal {args:?} panicked:\n{}", run.stderr);
    assert!(!run.stderr.contains("memory allocation"), "keyseal {args:?} ran out of memory:\n{}", run.stderr);
    let figures = std::fs::read_to_string(&usage_file).unwrap();
    // The last line; GNU time puts "Command exited with non-zero status N" above it.
    let last = figures.lines().last().unwrap_or_default();
    let numbers: Vec<f64> = last.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    assert_eq!(numbers.len(), 3, "GNU time wrote {figures:?}");
    let usage = Usage { cpu: numbers[0] + numbers[1], max_rss_mib: numbers[2] / 1024.0 };
    eprintln!("keyseal {}: {:.2} s CPU, {:.1} MiB peak", args[..2].join(" "), usage.cpu, usage.max_rss_mib);
    (run, usage)
}

/// The bound is 1 s of CPU and 256 MiB for any input up to 10 MB on the 2-core
/// development machine; the CPU assertion leaves a margin for a loaded CI runner.
pub fn assert_cheap(usage: Usage) {
    assert!(usage.cpu < 3.0, "{usage:?}");
    assert!(usage.max_rss_mib < 256.0, "{usage:?}");
}
