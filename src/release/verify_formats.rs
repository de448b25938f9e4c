//! `keyseal verify` on the signatures in other formats (`sign --format`): beside the
//! manifest (`SHA256SUMS.sshsig`, `.p7s`, `.asc`) and beside each file (`<file>.sshsig`,
//! `.p7s`, `.asc`), each checked with the signer's key — pinned, or certified by the
//! bundle's validated chain — and reported like a detached `.sig`: ok, bad-signature or
//! unreadable. Each is read within the caps of hostile input.

use crate::bounded::{self, InputKind};
use crate::kms::KeySpec;
use crate::quote::quote_path;
use crate::release::formats::SignatureFormat;
use crate::release::hash::{sha512_file, update_with_file};
use crate::release::sshsig::SshKey;
use crate::release::verify::{FileReport, FileStatus, report};
use sha2::{Digest, Sha256, Sha512};
use std::path::Path;

/// The signer's key, as the formats check with it.
pub struct Key<'a> {
    /// SubjectPublicKeyInfo DER.
    pub spki: &'a [u8],
    /// Its spec.
    pub spec: KeySpec,
    /// The namespace SSH signatures must be made in (`--ssh-namespace`).
    pub ssh_namespace: &'a str,
}

/// What a signature signs.
pub enum Message<'a> {
    /// The manifest, read.
    Bytes(&'a [u8]),
    /// A file of the release, at this path (`None`: it is not here).
    File(Option<&'a Path>),
}

/// The manifest's signatures in other formats beside it, each checked; those of the
/// `required` formats (`verify --format`) fail as missing when absent.
pub fn check_beside_manifest(
    manifest_path: &Path,
    manifest: &[u8],
    key: &Key<'_>,
    required: &[SignatureFormat],
) -> Vec<FileReport> {
    let sha256 = Sha256::digest(manifest);
    let mut reports = Vec::new();
    for format in SignatureFormat::ALL {
        let name = format.manifest_file();
        let path = manifest_path.with_file_name(&name);
        let absent = std::fs::symlink_metadata(&path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        if !absent {
            reports.extend(check(&path, &name, "signature of the manifest", Message::Bytes(manifest), &sha256, key));
        } else if required.contains(&format) {
            let detail = format!("--format {} asks for it, and it is not beside the manifest", format.name());
            reports.push(report(&name, FileStatus::Missing, Some(detail)));
        }
    }
    reports
}

/// The signature at `path`, reported as `name` (`of` says what it is the signature of),
/// when its suffix names a format: over `message`, whose SHA-256 is `sha256` (the
/// manifest's, or the file's listed one).
pub fn check(
    path: &Path,
    name: &str,
    of: &str,
    message: Message<'_>,
    sha256: &[u8],
    key: &Key<'_>,
) -> Option<FileReport> {
    let (format, _) = SignatureFormat::of_signature(name)?;
    // A CMS signature carries its chain, and a time stamp with the TSA's: the larger cap.
    let cap = if format == SignatureFormat::Cms { InputKind::Token } else { InputKind::Signature };
    let outcome = match bounded::read(path, cap) {
        Err(e) => Err(Failure::Unreadable(e.to_string())),
        Ok(bytes) => match format {
            SignatureFormat::Ssh => ssh(&bytes, &message, key),
            SignatureFormat::Cms => {
                crate::release::cms::verify(&bytes, sha256, key.spec, key.spki).map_err(Failure::Bad)
            }
            SignatureFormat::Pgp => pgp(&bytes, &message, key),
        },
    };
    let kind = format.label();
    Some(match outcome {
        Ok(()) => report(name, FileStatus::Ok, Some(format!("{kind} {of}, verified with the signer's key"))),
        Err(Failure::Bad(why)) => report(name, FileStatus::BadSignature, Some(format!("{kind} {of}: {why}"))),
        Err(Failure::Unreadable(why)) => report(name, FileStatus::Unreadable, Some(format!("{kind} {of}: {why}"))),
    })
}

/// Why a check failed.
enum Failure {
    /// It does not verify (or cannot be the signer's).
    Bad(String),
    /// It, or what it signs, could not be read.
    Unreadable(String),
}

/// What a signature signs, once a per-file signature's file is known to be here (a
/// signature over a file's content, SSH's or OpenPGP's, cannot be checked without it).
enum Content<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

impl<'a> Message<'a> {
    fn content(&self) -> Result<Content<'a>, Failure> {
        match *self {
            Message::Bytes(bytes) => Ok(Content::Bytes(bytes)),
            Message::File(Some(path)) => Ok(Content::File(path)),
            Message::File(None) => {
                Err(Failure::Unreadable("the file it signs is not here, so it cannot be checked".into()))
            }
        }
    }
}

fn unreadable(path: &Path, error: std::io::Error) -> Failure {
    Failure::Unreadable(format!("{}: {error}", quote_path(path)))
}

fn ssh(armored: &[u8], message: &Message<'_>, key: &Key<'_>) -> Result<(), Failure> {
    let ssh_key = SshKey::new(key.spec, key.spec.default_signing_algorithm(), key.spki)
        .map_err(|why| Failure::Bad(format!("it cannot be checked: {why}")))?;
    let sha512: [u8; 64] = match message.content()? {
        Content::Bytes(bytes) => Sha512::digest(bytes).into(),
        Content::File(path) => sha512_file(path).map_err(|e| unreadable(path, e))?,
    };
    ssh_key.verify(armored, key.ssh_namespace, &sha512).map_err(Failure::Bad)
}

fn pgp(armored: &[u8], message: &Message<'_>, key: &Key<'_>) -> Result<(), Failure> {
    let content = message.content()?;
    let mut failed_read = None;
    let verified = crate::release::openpgp::verify(armored, key.spec, key.spki, |hash| match content {
        Content::Bytes(bytes) => {
            hash.update(bytes);
            Ok(())
        }
        Content::File(path) => update_with_file(path, hash).map_err(|e| {
            failed_read = Some(unreadable(path, e));
            "the file it signs could not be read".to_string()
        }),
    });
    match failed_read {
        Some(failure) => Err(failure),
        None => verified.map_err(Failure::Bad),
    }
}
