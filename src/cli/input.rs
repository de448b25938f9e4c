//! Reading what the user gives on the command line — base64 or hex values, files to hash or
//! read raw — and writing `--out` files. Every failure names the flag and what to give.

use crate::kms::error::KmsError;
use crate::quote::quote_path;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// Decodes a standard base64 flag value.
pub fn base64_flag(flag: &str, value: &str) -> Result<Vec<u8>, KmsError> {
    STANDARD.decode(value.trim()).map_err(|e| {
        KmsError::invalid(flag, format!("is not standard base64 ({e}); encode the bytes with `base64 -w0`"))
    })
}

/// Decodes a hex flag value.
pub fn hex_flag(flag: &str, value: &str) -> Result<Vec<u8>, KmsError> {
    hex::decode(value.trim())
        .map_err(|e| KmsError::invalid(flag, format!("is not hex ({e}); e.g. the first field of `sha256sum FILE`")))
}

/// Reads a whole file given to `flag`.
pub fn read_file(flag: &str, path: &Path) -> Result<Vec<u8>, KmsError> {
    std::fs::read(path).map_err(|e| KmsError::invalid(flag, format!("cannot read {}: {e}", path.display())))
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(flag: &str, path: &Path) -> Result<Vec<u8>, KmsError> {
    let cannot = |e: std::io::Error| KmsError::invalid(flag, format!("cannot read {}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer).map_err(cannot)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().to_vec())
}

/// The digest given as `--digest` (base64, or hex with `--hex`) or computed from `--file`.
pub fn digest(digest: Option<&str>, hex: bool, file: Option<&Path>) -> Result<Vec<u8>, KmsError> {
    match (digest, file) {
        (_, Some(path)) => sha256_file("--file", path),
        (Some(value), None) if hex => hex_flag("--digest", value),
        (Some(value), None) => base64_flag("--digest", value),
        (None, None) => Err(KmsError::missing("--digest or --file")),
    }
}

/// Writes `bytes` to `path`, replacing a regular file there, never through a symbolic
/// link (see `safe_write`); `secret` files are created readable by the owner only.
pub fn write_out(path: &Path, bytes: &[u8], secret: bool) -> Result<(), KmsError> {
    write_flag("--out", path, bytes, secret)
}

/// `write_out` for an output file given by another flag (`--der`).
pub fn write_flag(flag: &str, path: &Path, bytes: &[u8], secret: bool) -> Result<(), KmsError> {
    crate::safe_write::write_file(path, bytes, secret)
        .map_err(|e| KmsError::invalid(flag, format!("cannot write {}: {e}", quote_path(path))))
}

/// Raw bytes of a secret file, zeroized after use.
pub fn read_secret_file(flag: &str, path: &Path) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    read_file(flag, path).map(Zeroizing::new)
}
