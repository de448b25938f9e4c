//! Finding the files of a release. A directory argument contributes every file under it,
//! named by its path relative to that directory; a file argument contributes itself,
//! named by its file name. Symbolic links are followed only to regular files inside the
//! same tree; everything not taken is reported with the reason, never dropped silently.

use crate::quote::{escape_text, quote_path};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file to hash, and the name it has in the manifest (`/`-separated, relative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Manifest name.
    pub name: String,
    /// Where to read it.
    pub path: PathBuf,
    /// Size in bytes when found.
    pub size: u64,
}

/// The reason given for keyseal's own output files found in the tree.
pub const OWN_OUTPUT: &str = "keyseal's own output";

/// Something under the given paths that is not part of the release, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The path as found.
    pub path: PathBuf,
    /// Why it was left out.
    pub reason: String,
    /// Its name relative to the walked directory, when it was found inside one and is
    /// not taken (a special file, a symbolic link not followed): a verifier reports it
    /// under this name, `unreadable` when the manifest lists it and `not-in-manifest` when
    /// not. For a file whose name a manifest cannot hold, its relative name as near as
    /// text can show it.
    #[serde(skip)]
    pub name: Option<String>,
}

impl Skipped {
    /// Left out for `reason`.
    pub fn new(path: PathBuf, reason: impl Into<String>) -> Skipped {
        Skipped { path, reason: reason.into(), name: None }
    }

    /// Found at `relative` inside a walked directory, and not taken for `reason`: named by
    /// its manifest name, or as near as text can show a name a manifest cannot hold.
    fn found(path: &Path, relative: &Path, reason: &str) -> Skipped {
        let name = manifest_name(relative).unwrap_or_else(|_| relative.to_string_lossy().into_owned());
        Skipped { path: path.to_path_buf(), reason: reason.into(), name: Some(name) }
    }
}

/// The files found, by manifest name, and what was left out.
#[derive(Debug, Default)]
pub struct Walk {
    /// Entries, sorted by name.
    pub entries: BTreeMap<String, Entry>,
    /// What was not taken.
    pub skipped: Vec<Skipped>,
    /// Problems that make the walk unusable (unreadable directory, two files with one
    /// name). All are collected before giving up.
    pub errors: Vec<String>,
    /// Files whose name a manifest cannot hold (not UTF-8, a line break): signing refuses
    /// them; a verifier reports them as not in the manifest, which they cannot be.
    pub unnamable: Vec<Skipped>,
}

/// Walks `paths`; `exclude` lists files (keyseal's own outputs) that are never entries.
pub fn walk(paths: &[PathBuf], exclude: &[PathBuf]) -> Walk {
    let exclude: Vec<PathBuf> = exclude.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let mut found = Walk::default();
    for root in paths {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() => walk_directory(root, &exclude, &mut found),
            Ok(meta) if meta.is_file() => {
                let name = root.file_name().map(|n| n.to_owned()).unwrap_or_default();
                add(&mut found, Path::new(&name), root, meta.len(), &exclude);
            }
            Ok(_) => found.skipped.push(Skipped::new(root.clone(), "not a regular file or directory")),
            Err(e) => found.errors.push(format!("{}: {e}", quote_path(root))),
        }
    }
    found
}

fn walk_directory(root: &Path, exclude: &[PathBuf], found: &mut Walk) {
    let canonical_root = match root.canonicalize() {
        Ok(path) => path,
        Err(e) => return found.errors.push(format!("{}: {e}", quote_path(root))),
    };
    for item in walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name() {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                found.errors.push(format!("cannot read {}", escape_text(&e.to_string())));
                continue;
            }
        };
        let path = item.path();
        let relative = path.strip_prefix(root).unwrap_or(path);
        let file_type = item.file_type();
        if file_type.is_dir() {
            continue;
        }
        if file_type.is_file() {
            let size = item.metadata().map(|m| m.len()).unwrap_or(0);
            add(found, relative, path, size, exclude);
        } else if file_type.is_symlink() {
            follow_link(found, relative, path, &canonical_root, exclude);
        } else {
            found.skipped.push(Skipped::found(path, relative, "not a regular file (device, socket or pipe)"));
        }
    }
}

/// A symbolic link is taken when it resolves to a regular file inside the tree. Resolving
/// it reads metadata only: nothing it points to is opened.
fn follow_link(found: &mut Walk, relative: &Path, path: &Path, canonical_root: &Path, exclude: &[PathBuf]) {
    let skip = |found: &mut Walk, reason: &str| found.skipped.push(Skipped::found(path, relative, reason));
    let Ok(target) = path.canonicalize() else {
        return skip(found, "symbolic link to nothing (dangling)");
    };
    if !target.starts_with(canonical_root) {
        return skip(found, "symbolic link pointing outside the tree (not followed)");
    }
    match std::fs::metadata(&target) {
        Ok(meta) if meta.is_file() => add(found, relative, path, meta.len(), exclude),
        Ok(meta) if meta.is_dir() => {
            skip(found, "symbolic link to a directory (not followed; its files are signed where they are)")
        }
        _ => skip(found, "symbolic link to something that is not a regular file"),
    }
}

fn add(found: &mut Walk, relative: &Path, path: &Path, size: u64, exclude: &[PathBuf]) {
    if path.canonicalize().is_ok_and(|c| exclude.contains(&c)) {
        found.skipped.push(Skipped::new(path.to_path_buf(), OWN_OUTPUT));
        return;
    }
    let name = match manifest_name(relative) {
        Ok(name) => name,
        Err(why) => {
            let mut unnamable = Skipped::new(path.to_path_buf(), why);
            unnamable.name = Some(relative.to_string_lossy().into_owned());
            return found.unnamable.push(unnamable);
        }
    };
    if let Some(existing) = found.entries.get(&name) {
        found.errors.push(format!(
            "{} and {} would both be named {name:?} in the manifest; sign them in separate runs or from a common directory",
            quote_path(&existing.path),
            quote_path(path)
        ));
        return;
    }
    found.entries.insert(name.clone(), Entry { name, path: path.to_path_buf(), size });
}

/// The `/`-separated relative name of a path, refusing what SHA256SUMS cannot hold
/// unambiguously: names that are not UTF-8 or contain a newline or carriage return.
pub fn manifest_name(relative: &Path) -> Result<String, String> {
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            std::path::Component::Normal(part) => {
                parts.push(part.to_str().ok_or("the name is not UTF-8; rename it to sign it")?.to_string())
            }
            std::path::Component::CurDir => {}
            _ => return Err("the path leaves the signed directory".into()),
        }
    }
    let name = parts.join("/");
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.contains(['\n', '\r']) {
        return Err("the name contains a line break; rename it to sign it".into());
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_relative_and_slash_separated() {
        assert_eq!(manifest_name(Path::new("a/b c/é.txt")), Ok("a/b c/é.txt".into()));
        assert_eq!(manifest_name(Path::new("./x")), Ok("x".into()));
        assert!(manifest_name(Path::new("../x")).is_err());
        assert!(manifest_name(Path::new("a\nb")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn walks_a_tree_following_only_inner_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("release");
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::write(root.join("a.bin"), b"a").unwrap();
        std::fs::write(root.join("sub/deeper/b.bin"), b"bb").unwrap();
        std::fs::write(dir.path().join("outside.bin"), b"x").unwrap();
        std::os::unix::fs::symlink("a.bin", root.join("link-in")).unwrap();
        std::os::unix::fs::symlink("../outside.bin", root.join("link-out")).unwrap();
        std::os::unix::fs::symlink("missing", root.join("dangling")).unwrap();
        std::os::unix::fs::symlink("sub", root.join("dir-link")).unwrap();
        std::fs::write(root.join("SHA256SUMS"), b"old").unwrap();
        let walked = walk(std::slice::from_ref(&root), &[root.join("SHA256SUMS")]);
        let names: Vec<&str> = walked.entries.keys().map(String::as_str).collect();
        assert_eq!(names, ["a.bin", "link-in", "sub/deeper/b.bin"]);
        let mut reasons: Vec<String> = walked.skipped.iter().map(|s| s.reason.clone()).collect();
        reasons.sort();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("outside the tree")));
        assert!(reasons.iter().any(|r| r.contains("dangling")));
        assert!(reasons.iter().any(|r| r.contains("directory")));
        assert!(reasons.iter().any(|r| r.contains("own output")));
        assert!(walked.errors.is_empty() && walked.unnamable.is_empty());
    }

    #[test]
    fn two_files_with_one_name_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["x", "y"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
            std::fs::write(dir.path().join(sub).join("app"), sub).unwrap();
        }
        let walked = walk(&[dir.path().join("x/app"), dir.path().join("y/app")], &[]);
        assert_eq!(walked.entries.len(), 1);
        assert_eq!(walked.errors.len(), 1);
    }
}
