//! Reading files that may come from an attacker: a bundle, a manifest, a signature, keys,
//! certificates, CRLs, CSRs, time-stamp requests and replies. Each is read only when it is a regular file (a symbolic link
//! to one is fine), never more than a cap per kind, and opened so that a FIFO or a device
//! swapped in at the last moment cannot block or feed us forever. Every failure is an
//! error the caller must report: an unreadable input is never taken for an absent one.

use std::io::Read;
use std::path::Path;

/// What a file is, for the messages and its size cap. The caps are documented in the
/// docs/security.md ("Hostile input"); each is far above anything keyseal writes and small enough that
/// reading and parsing the largest allowed input stays well under a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// `keyseal.bundle.json` (public key and certificate chain inside): 4 MiB.
    Bundle,
    /// `SHA256SUMS`: 64 MiB, about 600,000 files.
    Manifest,
    /// A detached signature (`SHA256SUMS.sig`): 64 KiB; RSA-16384 is 2 KiB.
    Signature,
    /// A PEM public key: 64 KiB.
    PublicKey,
    /// Certificates (a leaf, `--chain`, `--trust`, `--cert`): 8 MiB, a system CA bundle
    /// being under 1 MiB.
    Certificates,
    /// A CRL file: 32 MiB, room for about a million revoked serials.
    Crl,
    /// A PKCS#10 certificate request: 64 KiB.
    Csr,
    /// An RFC 3161 time-stamp request, reply or token: 1 MiB. A reply carries the TSA's
    /// chain at most, a few KiB; a request is about a hundred bytes.
    Token,
}

impl InputKind {
    /// The most bytes read for this kind.
    pub fn cap(self) -> u64 {
        match self {
            InputKind::Bundle => 4 << 20,
            InputKind::Manifest => 64 << 20,
            InputKind::Signature | InputKind::PublicKey | InputKind::Csr => 64 << 10,
            InputKind::Certificates => 8 << 20,
            InputKind::Crl => 32 << 20,
            InputKind::Token => 1 << 20,
        }
    }

    /// How messages name it.
    pub fn noun(self) -> &'static str {
        match self {
            InputKind::Bundle => "bundle",
            InputKind::Manifest => "manifest",
            InputKind::Signature => "signature file",
            InputKind::PublicKey => "public key file",
            InputKind::Certificates => "certificate file",
            InputKind::Crl => "CRL file",
            InputKind::Csr => "certificate request",
            InputKind::Token => "time-stamp file",
        }
    }
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The OS could not open or read it (including: it does not exist).
    #[error("cannot read the {noun} {path}: {error}")]
    Io {
        /// The kind's noun.
        noun: &'static str,
        /// The path as given.
        path: String,
        /// The OS's error.
        error: std::io::Error,
    },
    /// A directory, FIFO, socket or device where a file was expected.
    #[error("the {noun} {path} is not a regular file (it is {what}); give the file itself")]
    NotRegular {
        /// The kind's noun.
        noun: &'static str,
        /// The path as given.
        path: String,
        /// What it is instead.
        what: &'static str,
    },
    /// Larger than the kind's cap.
    #[error("the {noun} {path} is larger than {cap} bytes, more than any genuine one; it was not read")]
    TooLarge {
        /// The kind's noun.
        noun: &'static str,
        /// The path as given.
        path: String,
        /// The cap.
        cap: u64,
    },
}

impl ReadError {
    /// Whether the file simply does not exist (the one failure a caller may treat as
    /// "not given", where the file is optional).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Reads a whole regular file of `kind`, up to its cap.
pub fn read(path: &Path, kind: InputKind) -> Result<Vec<u8>, ReadError> {
    let shown = crate::quote::quote_path(path);
    let io = |error: std::io::Error| ReadError::Io { noun: kind.noun(), path: shown.clone(), error };
    // Looked at before opening: opening some devices has effects of its own.
    let before = std::fs::metadata(path).map_err(io)?;
    regular(&before, kind, &shown)?;
    let mut file = open_nonblocking(path).map_err(io)?;
    // And again on what was opened, in case the path was swapped in between.
    let opened = file.metadata().map_err(io)?;
    regular(&opened, kind, &shown)?;
    let too_large = || ReadError::TooLarge { noun: kind.noun(), path: shown.clone(), cap: kind.cap() };
    if opened.len() > kind.cap() {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(opened.len() as usize);
    (&mut file).take(kind.cap() + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > kind.cap() {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Reads a text file of `kind` (PEM), refusing what is not UTF-8.
pub fn read_text(path: &Path, kind: InputKind) -> Result<String, ReadError> {
    let bytes = read(path, kind)?;
    String::from_utf8(bytes).map_err(|_| ReadError::Io {
        noun: kind.noun(),
        path: crate::quote::quote_path(path),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"),
    })
}

fn regular(meta: &std::fs::Metadata, kind: InputKind, shown: &str) -> Result<(), ReadError> {
    if meta.is_file() {
        return Ok(());
    }
    Err(ReadError::NotRegular { noun: kind.noun(), path: shown.to_string(), what: describe_type(meta) })
}

/// What a non-regular file is, in words.
pub fn describe_type(meta: &std::fs::Metadata) -> &'static str {
    let file_type = meta.file_type();
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    "not a regular file"
}

/// Opens for reading without blocking on a FIFO or a device that waits for a peer; reads
/// from a regular file are unaffected by O_NONBLOCK.
pub fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("sig");
        std::fs::write(&small, [1u8; 10]).unwrap();
        assert_eq!(read(&small, InputKind::Signature).unwrap(), [1u8; 10]);
        let big = dir.path().join("big");
        std::fs::write(&big, vec![0u8; (InputKind::Signature.cap() + 1) as usize]).unwrap();
        assert!(matches!(read(&big, InputKind::Signature), Err(ReadError::TooLarge { .. })));
        assert!(read(&dir.path().join("absent"), InputKind::Signature).unwrap_err().is_not_found());
        assert!(matches!(read(dir.path(), InputKind::Signature), Err(ReadError::NotRegular { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_devices_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("SHA256SUMS.sig");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = read(&link, InputKind::Signature).unwrap_err();
        assert!(matches!(err, ReadError::NotRegular { what: "a device", .. }), "{err}");
        assert!(!err.is_not_found());
    }
}
