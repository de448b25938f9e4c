//! Hashing throughput of a release, beside `openssl dgst -sha256` and `sha256sum` on the
//! same files in the same run: `cargo bench --bench hashing`.
//!
//! The release is 1 GiB of pseudo-random bytes in mixed sizes (a quarter each in 256 MiB,
//! 16 MiB, 1 MiB and 64 KiB files), written once to a scratch directory and read from the
//! page cache (every contender gets one untimed warm-up pass). Each figure is the best of
//! three runs. `KEYSEAL_BENCH_MIB` shrinks the release for a quick look.
//!
//! Targets (issue 3): keyseal on one thread at least 0.95x OpenSSL's single-threaded
//! throughput; on all cores at least 1.7x it, on a release of many files.

use keyseal::release::hash::{default_threads, hash_files};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 3;

fn main() {
    let total_mib: u64 = std::env::var("KEYSEAL_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let dir = tempfile::tempdir().expect("a scratch directory");
    let files = make_release(dir.path(), total_mib << 20);
    let bytes: u64 = files.iter().map(|(_, size)| size).sum();
    println!("release: {} files, {} MiB, {} cores", files.len(), bytes >> 20, default_threads());

    let refs: Vec<(&Path, u64)> = files.iter().map(|(p, s)| (p.as_path(), *s)).collect();
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.to_str().expect("UTF-8 scratch path")).collect();
    let keyseal_1 = best(|| check(hash_files(&refs, 1, &|_| {})));
    let keyseal_n = best(|| check(hash_files(&refs, default_threads(), &|_| {})));
    let openssl = best(|| run_tool("openssl", &["dgst", "-sha256"], &paths));
    let sha256sum = best(|| run_tool("sha256sum", &[], &paths));

    let rate = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    let base = rate(openssl);
    println!("{:<40} {:>10} {:>10}", "contender", "MB/s", "x openssl");
    for (name, time) in [
        ("openssl dgst -sha256 (1 thread)", openssl),
        ("sha256sum (coreutils, 1 thread)", sha256sum),
        ("keyseal hash_files, 1 thread", keyseal_1),
        (&*format!("keyseal hash_files, {} threads", default_threads()), keyseal_n),
    ] {
        println!("{:<40} {:>10.0} {:>10.2}", name, rate(time), rate(time) / base);
    }
    let single = rate(keyseal_1) / base;
    let parallel = rate(keyseal_n) / base;
    println!("target 1 thread  >= 0.95x openssl: {:.2}x {}", single, if single >= 0.95 { "met" } else { "NOT MET" });
    println!("target all cores >= 1.70x openssl: {:.2}x {}", parallel, if parallel >= 1.7 { "met" } else { "NOT MET" });
}

fn best(mut work: impl FnMut()) -> Duration {
    work();
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn check(results: Vec<std::io::Result<[u8; 32]>>) {
    for result in results {
        result.expect("every file hashes");
    }
}

fn run_tool(program: &str, args: &[&str], files: &[&str]) {
    // In chunks, to stay far below the argument-size limit.
    for chunk in files.chunks(1000) {
        let status = Command::new(program)
            .args(args)
            .args(chunk)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("{program} must be installed: {e}"));
        assert!(status.success(), "{program} failed");
    }
}

/// Writes the mixed-size release; returns each file with its size.
fn make_release(dir: &Path, total: u64) -> Vec<(PathBuf, u64)> {
    let quarter = total / 4;
    let mut files = Vec::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for (size, folder) in [(256u64 << 20, "huge"), (16 << 20, "big"), (1 << 20, "medium"), (64 << 10, "small")] {
        let size = size.min(quarter.max(1));
        let folder = dir.join(folder);
        std::fs::create_dir_all(&folder).expect("scratch folder");
        for index in 0..(quarter / size).max(1) {
            let path = folder.join(format!("file-{index:05}.bin"));
            let mut bytes = vec![0u8; size as usize];
            for chunk in bytes.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
            }
            std::fs::write(&path, &bytes).expect("scratch file");
            files.push((path, size));
        }
    }
    files
}
