//! `keyseal ssh`: a KMS key version as OpenSSH knows it, for checking the SSH signatures
//! `keyseal sign --format ssh` writes with `ssh-keygen -Y verify`.

use crate::cli::Outcome;
use crate::cli::kms::KeyVersionArgs;
use crate::kms::signing_key::fetch_public_key;
use crate::kms::{Kms, KmsError};
use crate::release::sshsig::{self, SshKey};
use clap::{Args, Subcommand};

/// `keyseal ssh` subcommands.
#[derive(Debug, Subcommand)]
pub enum SshAction {
    /// Print a key version as an allowed_signers line for `ssh-keygen -Y verify`.
    #[command(
        after_help = "Example:\n  keyseal ssh allowed-signers --principal release@example.com \\\n      --key-id alias/release --key-version-id VERSION > allowed_signers\n  ssh-keygen -Y verify -f allowed_signers -I release@example.com -n file \\\n      -s SHA256SUMS.sshsig < SHA256SUMS\n\n\
The line allows the key to sign only in the namespaces given (default: file, the one
`keyseal sign --format ssh` signs in), as ssh-keygen's `namespaces=` option. EC_P256
keys are ecdsa-sha2-nistp256, RSA_2048 keys ssh-rsa; EC_P256K keys have no SSH form."
    )]
    AllowedSigners(AllowedSignersArgs),
}

/// `keyseal ssh allowed-signers` flags.
#[derive(Debug, Args)]
pub struct AllowedSignersArgs {
    /// Who signs, as `ssh-keygen -Y verify -I` will name it (an email address or a name,
    /// without spaces or quotes).
    #[arg(long, value_name = "ID")]
    pub principal: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub version: KeyVersionArgs,
    /// A namespace the key may sign in (repeatable).
    #[arg(long = "namespace", value_name = "NAMESPACE", default_value = sshsig::DEFAULT_NAMESPACE)]
    pub namespaces: Vec<String>,
}

/// Runs `keyseal ssh`.
pub fn run(action: SshAction, kms: &dyn Kms) -> Result<Outcome, KmsError> {
    match action {
        SshAction::AllowedSigners(args) => {
            check_principal(&args.principal)?;
            for namespace in &args.namespaces {
                sshsig::check_namespace(namespace).map_err(|why| KmsError::invalid("--namespace", why))?;
            }
            let key = public_key_line(kms, &args.version.key_id, &args.version.key_version_id)?;
            crate::outln!("{} namespaces=\"{}\" {key}", args.principal, args.namespaces.join(","));
        }
    }
    Ok(Outcome::Success)
}

/// The key version's OpenSSH public key line (GetPublicKey alone).
pub fn public_key_line(kms: &dyn Kms, key_id: &str, key_version_id: &str) -> Result<String, KmsError> {
    let (_, _, spki) = fetch_public_key(kms, key_id, key_version_id)?;
    let spec = crate::crypto::spec_of_public_key(&spki)
        .ok_or_else(|| KmsError::internal("the KMS returned a key that is neither RSA, P-256 nor secp256k1"))?;
    let key =
        SshKey::new(spec, spec.default_signing_algorithm(), &spki).map_err(|why| KmsError::invalid("--format", why))?;
    Ok(key.public_key_line())
}

/// An allowed_signers principal: one word that the file format cannot misread (no
/// whitespace, quotes or control characters), of a sensible length.
fn check_principal(principal: &str) -> Result<(), KmsError> {
    let fine = |c: char| !c.is_whitespace() && !c.is_control() && c != '"' && c != '\'';
    if principal.is_empty() || principal.len() > 256 || !principal.chars().all(fine) {
        return Err(KmsError::invalid(
            "--principal",
            "a principal is one word of up to 256 characters without spaces, quotes or control characters (e.g. release@example.com)",
        ));
    }
    Ok(())
}
