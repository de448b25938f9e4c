//! Writing output files where something else may have been planted first: every file the
//! CLI writes (`--out`, `--der`, man pages, the demo's files, a release's outputs) goes
//! through here. A file is written under a new random name beside its destination
//! (created new, never opened when something — a symbolic link included — already has
//! that name), then renamed into place: a reader never sees half a file, and a rename
//! replaces a link instead of writing through it. A destination that already is a
//! symbolic link, or anything but a regular file (a device, a FIFO), is refused before
//! anything is written.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path`, replacing a regular file there; refuses a symbolic link or
/// any other non-regular file at `path`. `secret` files are created readable by the
/// owner only (mode 0600), whatever the umask.
pub fn write_file(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    check_destination(path)?;
    let temporary = temporary_name(path)?;
    let written = create_new(&temporary, bytes, secret).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Refuses a destination that is a symbolic link or exists as anything but a regular file.
pub fn check_destination(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(std::io::Error::other(
            "it is a symbolic link, which keyseal does not write through: remove it or give another path",
        )),
        Ok(meta) if !meta.is_file() => Err(std::io::Error::other(format!(
            "it exists and is not a regular file ({}): remove it or give another path",
            crate::bounded::describe_type(&meta)
        ))),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `.<name>.<random>.keyseal-tmp` beside `path`.
pub fn temporary_name(path: &Path) -> std::io::Result<PathBuf> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    Ok(path.with_file_name(format!(".{name}.{}.keyseal-tmp", hex::encode(random))))
}

/// Writes a file that must not exist yet, not following a symbolic link in its place;
/// `secret`: mode 0600.
pub fn create_new(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        if secret {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_regular_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.pem");
        write_file(&out, b"first", false).unwrap();
        write_file(&out, b"second", false).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn never_writes_through_a_symbolic_link_or_into_a_special_file() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.path().join("out.pem");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let refused = write_file(&link, b"planted", false).unwrap_err();
        assert!(refused.to_string().contains("symbolic link"), "{refused}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        // A dangling link: writing through it would create the target.
        let dangling = dir.path().join("dangling.pem");
        std::os::unix::fs::symlink(dir.path().join("created"), &dangling).unwrap();
        assert!(write_file(&dangling, b"x", false).is_err());
        assert!(!dir.path().join("created").exists());
        // A device is not replaced either.
        assert!(write_file(Path::new("/dev/null"), b"x", false).unwrap_err().to_string().contains("not a regular"));
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("plain.out");
        std::fs::write(&out, "old").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_file(&out, b"secret", true).unwrap();
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
