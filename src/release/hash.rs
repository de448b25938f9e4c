//! SHA-256 of many files at once (and from the same read the digests other signature
//! formats sign): streamed through one reused buffer per thread, largest files first so
//! the threads finish together. No thread pool crate: `std::thread::scope`
//! and an atomic cursor are all it takes.

use sha2::{Digest, Sha256, Sha512};
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes read per `read` call: large enough that syscalls vanish in the profile.
const BUFFER: usize = 1 << 20;

/// The SHA-256 of one file, streamed; `progress` hears of every chunk read.
pub fn hash_file(path: &Path, buffer: &mut [u8], progress: &(dyn Fn(u64) + Sync)) -> std::io::Result<[u8; 32]> {
    hash_file_with(path, buffer, progress, Extra::default()).map(|digests| digests.sha256)
}

/// What else to compute from the same read of a file: per-file signatures in other formats
/// sign other digests, and reading the file twice could sign two different contents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extra<'a> {
    /// The SHA-512 (what an SSH signature of the file signs).
    pub sha512: bool,
    /// The SHA-256 of the content followed by these bytes (what an OpenPGP signature of
    /// the file signs: its hashed fields and trailer come after the data).
    pub sha256_then: Option<&'a [u8]>,
}

/// A file's digests from one read: SHA-256 always, the others when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigests {
    /// What the manifest lists.
    pub sha256: [u8; 32],
    /// [`Extra::sha512`], when asked for.
    pub sha512: Option<[u8; 64]>,
    /// [`Extra::sha256_then`], when asked for.
    pub sha256_then: Option<[u8; 32]>,
}

/// [`hash_file`], with the `extra` digests too.
pub fn hash_file_with(
    path: &Path,
    buffer: &mut [u8],
    progress: &(dyn Fn(u64) + Sync),
    extra: Extra<'_>,
) -> std::io::Result<FileDigests> {
    let mut hasher = Sha256::new();
    let mut long = extra.sha512.then(Sha512::new);
    stream(path, buffer, |chunk| {
        hasher.update(chunk);
        if let Some(long) = &mut long {
            long.update(chunk);
        }
        progress(chunk.len() as u64);
    })?;
    let sha256_then = extra.sha256_then.map(|suffix| {
        let mut then = hasher.clone();
        then.update(suffix);
        then.finalize().into()
    });
    Ok(FileDigests { sha256: hasher.finalize().into(), sha512: long.map(|h| h.finalize().into()), sha256_then })
}

/// The SHA-512 of one file, streamed.
pub fn sha512_file(path: &Path) -> std::io::Result<[u8; 64]> {
    let mut hasher = Sha512::new();
    stream(path, &mut vec![0u8; 1 << 16], |chunk| hasher.update(chunk))?;
    Ok(hasher.finalize().into())
}

/// Feeds a file's content into `hasher`, streamed (an OpenPGP signature hashes its own
/// fields after the data, so the digest cannot be finished here).
pub fn update_with_file(path: &Path, hasher: &mut Sha256) -> std::io::Result<()> {
    stream(path, &mut vec![0u8; 1 << 16], |chunk| hasher.update(chunk))
}

/// Reads a regular file through `buffer`, handing `each` every chunk read.
fn stream(path: &Path, buffer: &mut [u8], mut each: impl FnMut(&[u8])) -> std::io::Result<()> {
    // Opened without blocking, and refused unless it is a regular file: a path swapped for
    // a FIFO or a device after the walk must not stall or flood the hashing.
    let mut file = crate::bounded::open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let what = crate::bounded::describe_type(&meta);
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("not a regular file ({what})")));
    }
    loop {
        match file.read(buffer) {
            Ok(0) => return Ok(()),
            Ok(read) => each(&buffer[..read]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
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
    hash_files_with(files, threads, progress, Extra::default()).into_iter().map(|r| r.map(|d| d.sha256)).collect()
}

/// [`hash_files`], with each file's `extra` digests too.
pub fn hash_files_with(
    files: &[(&Path, u64)],
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    extra: Extra<'_>,
) -> Vec<std::io::Result<FileDigests>> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files[i].1));
    let results: Mutex<Vec<Option<std::io::Result<FileDigests>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    let cursor = AtomicUsize::new(0);
    let threads = threads.clamp(1, files.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buffer = vec![0u8; BUFFER];
                while let Some(&index) = order.get(cursor.fetch_add(1, Ordering::Relaxed)) {
                    let digest = hash_file_with(files[index].0, &mut buffer, progress, extra);
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
        // Asked for, the extra digests come from the same read; not asked for, there are none.
        let extra = Extra { sha512: true, sha256_then: Some(b"trailer") };
        for (digests, content) in hash_files_with(&files, 2, &|_| {}, extra).iter().zip(&contents) {
            let digests = digests.as_ref().unwrap();
            assert_eq!(digests.sha256.as_slice(), Sha256::digest(content).as_slice());
            assert_eq!(digests.sha512.unwrap().as_slice(), Sha512::digest(content).as_slice());
            let then = Sha256::new().chain_update(content).chain_update(b"trailer").finalize();
            assert_eq!(digests.sha256_then.unwrap().as_slice(), then.as_slice());
        }
        let plain = hash_files_with(&files, 1, &|_| {}, Extra::default());
        assert!(
            plain.iter().all(|d| d.as_ref().unwrap().sha512.is_none() && d.as_ref().unwrap().sha256_then.is_none())
        );
    }
}
