//! `keyseal pgp`: a KMS key version as an OpenPGP certificate, for checking the signatures
//! `keyseal sign --format pgp` writes with `gpgv` or `sqv`.

use crate::cli::key_args::SigningKeyArgs;
use crate::cli::{CliError, Outcome, input};
use crate::kms::{Kms, KmsError, SigningKey};
use crate::release::ReleaseError;
use crate::release::formats::openpgp_creation_time;
use crate::release::openpgp::PgpKey;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `keyseal pgp` subcommands.
#[derive(Debug, Subcommand)]
pub enum PgpAction {
    /// Write a key version's OpenPGP certificate (public key, user ID, self-signature made through the KMS).
    #[command(
        after_help = "Example:\n  keyseal pgp export-cert --key-id alias/release --key-version-id VERSION \\\n      --uid 'Example Releases <releases@example.com>' --out release.asc\n  gpg --dearmor < release.asc > release.gpg\n  gpgv --keyring ./release.gpg SHA256SUMS.asc SHA256SUMS\n  sqv --keyring release.asc SHA256SUMS.asc SHA256SUMS\n\n\
The certificate's primary key is the key version itself (EC_P256 as ECDSA on NIST P-256,
RSA_2048 as RSA; EC_P256K keys have no OpenPGP form here), created at the KMS key's
CreationDate, so the same key version always has the same fingerprint, which is printed.
It is self-signed (a positive certification of the user ID, for certifying and signing,
SHA-256) with one AsymmetricSign; the private key never leaves the KMS."
    )]
    ExportCert(ExportCertArgs),
}

/// `keyseal pgp export-cert` flags.
#[derive(Debug, Args)]
pub struct ExportCertArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub key: SigningKeyArgs,
    /// The user ID, e.g. "Example Releases <releases@example.com>".
    #[arg(long, value_name = "USER-ID")]
    pub uid: String,
    /// Write the armored certificate here; without it, it goes to stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `keyseal pgp`.
pub fn run(action: PgpAction, kms: &dyn Kms) -> Result<Outcome, CliError> {
    match action {
        PgpAction::ExportCert(args) => {
            check_user_id(&args.uid)?;
            let key = SigningKey::resolve(kms, &args.key.key_id, &args.key.key_version_id, args.key.algorithm)?;
            let created = openpgp_creation_time(kms, &key.name)?;
            let pgp = PgpKey::new(key.spec, key.algorithm, &key.public_spki, created)
                .map_err(|why| ReleaseError::UnsupportedFormat(format!("no OpenPGP certificate: {why}")))?;
            let (trailer, digest) = pgp.certification(&args.uid);
            let signature = key.sign_digest(kms, &digest)?;
            let armored =
                pgp.armored_certificate(&args.uid, &trailer, &digest, &signature).map_err(ReleaseError::Input)?;
            match &args.out {
                Some(path) => {
                    input::write_out(path, armored.as_bytes(), false)?;
                    crate::outln!("{}", pgp.fingerprint_hex());
                }
                None => {
                    crate::out!("{armored}");
                    crate::errln!("fingerprint {}", pgp.fingerprint_hex());
                }
            }
        }
    }
    Ok(Outcome::Success)
}

/// A user ID keyseal writes: text of a sensible length without control characters (which
/// would reach terminals through every tool that shows it).
fn check_user_id(uid: &str) -> Result<(), KmsError> {
    if uid.trim().is_empty() || uid.len() > 1024 || uid.chars().any(char::is_control) {
        return Err(KmsError::invalid(
            "--uid",
            "a user ID is up to 1024 bytes of text without control characters, e.g. \"Example Releases <releases@example.com>\"",
        ));
    }
    Ok(())
}
