//! SHA-256 of many files at once: streamed through one reused buffer per thread, largest
//! files first so the threads finish together. No thread pool crate: `std::thread::scope`
//! and an atomic cursor are all it takes.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes read per `read` call: large enough that syscalls vanish in the profile.
const BUFFER: usize = 1 << 20;

/// The SHA-256 of one file, streamed; `progress` hears of every chunk read.
pub fn hash_file(path: &Path, buffer: &mut [u8], progress: &(dyn Fn(u64) + Sync)) -> std::io::Result<[u8; 32]> {
    // Opened without blocking, and refused unless it is a regular file: a path swapped for
    // a FIFO or a device after the walk must not stall or flood the hashing.
    let mut file = crate::bounded::open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let what = crate::bounded::describe_type(&meta);
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("not a regular file ({what})")));
    }
    let mut hasher = Sha256::new();
    loop {
        let read = match file.read(buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..read]);
        progress(read as u64);
    }
    Ok(hasher.finalize().into())
}

/// The number of threads to hash with: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Hashes `files` (path and size) on `threads` threads; results come back in input order.
pub fn hash_files(
    files: &[(&Path, u64)],
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<std::io::Result<[u8; 32]>> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files[i].1));
    let results: Mutex<Vec<Option<std::io::Result<[u8; 32]>>>> = Mutex::new((0..files.len()).map(|_| None).collect());
    let cursor = AtomicUsize::new(0);
    let threads = threads.clamp(1, files.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buffer = vec![0u8; BUFFER];
                while let Some(&index) = order.get(cursor.fetch_add(1, Ordering::Relaxed)) {
                    let digest = hash_file(files[index].0, &mut buffer, progress);
                    if let Ok(mut slots) = results.lock() {
                        slots[index] = Some(digest);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .map(|slot| slot.unwrap_or_else(|| Err(std::io::Error::other("the hashing thread stopped"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn matches_one_shot_sha256_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let contents: Vec<Vec<u8>> = vec![vec![], b"abc".to_vec(), vec![7u8; 3 * BUFFER + 5], vec![1u8; 10]];
        let paths: Vec<_> = contents
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let p = dir.path().join(format!("f{i}"));
                std::fs::write(&p, c).unwrap();
                p
            })
            .collect();
        let files: Vec<(&Path, u64)> =
            paths.iter().zip(&contents).map(|(p, c)| (p.as_path(), c.len() as u64)).collect();
        let seen = AtomicU64::new(0);
        let digests = hash_files(&files, 3, &|n| {
            seen.fetch_add(n, Ordering::Relaxed);
        });
        for (digest, content) in digests.iter().zip(&contents) {
            assert_eq!(digest.as_ref().unwrap().as_slice(), Sha256::digest(content).as_slice());
        }
        assert_eq!(seen.load(Ordering::Relaxed), contents.iter().map(|c| c.len() as u64).sum::<u64>());
        let missing = hash_files(&[(Path::new("/nonexistent/file"), 0)], 2, &|_| {});
        assert!(missing[0].is_err());
    }
}
