//! The demo's output directory: one predictable place, cleared and reused on every run,
//! so that running the demo again does not leave another directory behind — and never
//! a directory holding anything the demo did not write.
//!
//! A directory the demo made carries a marker file; only such a directory (or an empty
//! or new one) is used. A `--dir` pointing at the user's own files is refused, not
//! cleared.

use crate::kms::error::KmsError;
use crate::quote::quote_path;
use std::path::{Path, PathBuf};

/// The file that says a directory is the demo's to clear.
pub const MARKER: &str = ".keyseal-demo";

/// `keyseal-demo` under the system's temporary directory (`$TMPDIR`, else /tmp).
pub fn default_dir() -> PathBuf {
    std::env::temp_dir().join("keyseal-demo")
}

/// Makes `dir` an empty demo directory: created (owner-only, since it will hold a
/// plaintext), or emptied when an earlier run made it; anything else is refused.
pub fn prepare(dir: &Path) -> Result<(), KmsError> {
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_none()) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(dir)?,
        Err(e) => return Err(cannot("read", dir, e)),
        Ok(empty) if empty || dir.join(MARKER).is_file() => clear(dir)?,
        Ok(_) => {
            return Err(KmsError::invalid(
                "--dir",
                format!(
                    "{} is not empty and was not made by keyseal demo, so it is not cleared; give a new or empty directory",
                    quote_path(dir)
                ),
            ));
        }
    }
    let marker = dir.join(MARKER);
    let note = "Made by `keyseal demo`: its next run with this --dir clears this directory.\n";
    crate::safe_write::write_file(&marker, note.as_bytes(), false).map_err(|e| cannot("write", &marker, e))
}

/// The throwaway store's directory inside the demo directory.
pub const STORE: &str = "store";
/// The file of random bytes that unlocks it (as `--key-file` would).
pub const KEY_FILE: &str = "store.key";

/// A new store's place in the (just cleared) demo directory and a key file of 32 random
/// bytes, base64, to unlock it with (owner-only): a store nobody has to type a passphrase
/// for, gone with the directory.
pub fn throwaway_store(dir: &Path) -> Result<(PathBuf, PathBuf), KmsError> {
    use base64::Engine;
    let mut random = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(random.as_mut()).map_err(|e| KmsError::internal(format!("the OS random generator failed: {e}")))?;
    let text = zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(random.as_ref()) + "\n");
    let key_file = dir.join(KEY_FILE);
    crate::safe_write::write_file(&key_file, text.as_bytes(), true).map_err(|e| cannot("write", &key_file, e))?;
    Ok((dir.join(STORE), key_file))
}

fn create(dir: &Path) -> Result<(), KmsError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| cannot("create", dir, e))
}

/// Removes everything in `dir`; a symbolic link is removed itself, never followed.
fn clear(dir: &Path) -> Result<(), KmsError> {
    for entry in std::fs::read_dir(dir).map_err(|e| cannot("read", dir, e))? {
        let entry = entry.map_err(|e| cannot("read", dir, e))?;
        let path = entry.path();
        let is_dir = entry.file_type().map_err(|e| cannot("read", &path, e))?.is_dir();
        let removed = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(|e| cannot("remove", &path, e))?;
    }
    Ok(())
}

fn cannot(what: &str, path: &Path, e: std::io::Error) -> KmsError {
    KmsError::invalid("--dir", format!("cannot {what} {}: {e}", quote_path(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_directory_is_cleared_and_a_foreign_one_refused() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("demo");
        prepare(&dir).unwrap();
        std::fs::create_dir(dir.join("release")).unwrap();
        std::fs::write(dir.join("release/app"), "x").unwrap();
        prepare(&dir).unwrap();
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from(MARKER)]);

        let mine = scratch.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
        let refused = prepare(&mine).unwrap_err();
        assert!(refused.message.contains("not made by keyseal demo"), "{}", refused.message);
        assert_eq!(std::fs::read_to_string(mine.join("notes.txt")).unwrap(), "keep me");
    }
}
