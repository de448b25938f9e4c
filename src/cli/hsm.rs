//! `keyseal hsm configure` and `keyseal hsm status`: the PKCS#11 token a store keeps its
//! HSM keys in (`keyseal kms create-key --protection-level HSM`).

use crate::cli::Outcome;
use crate::kms::LocalKms;
use crate::kms::error::KmsError;
use crate::quote::escape_text;
use clap::Subcommand;

/// The HSM commands.
#[derive(Debug, Subcommand)]
pub enum HsmAction {
    /// Make a PKCS#11 token the store's home for HSM keys, after logging in to it.
    #[command(
        after_help = "Example (SoftHSM2):\n  softhsm2-util --init-token --free --label keyseal --so-pin SO_PIN --pin PIN\n  \
printf '%s\\n' PIN > ~/.keyseal-pin && chmod 600 ~/.keyseal-pin\n  \
keyseal hsm configure --uri \"pkcs11:token=keyseal?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:$HOME/.keyseal-pin\"\n  \
keyseal kms create-key --key-spec EC_P256 --key-usage SIGN/VERIFY --protection-level HSM\n\n\
The URI is RFC 7512's: token=, manufacturer=, serial=, model= and slot-id= pick the token;
module-path= is the module to load; pin-source=file:PATH is where the user PIN is read
(without it, the PIN is asked on the terminal, which `keyseal serve` cannot do). The PIN
itself is never taken on the command line or in the URI. KEYSEAL_PKCS11_URI overrides the
stored URI for one command (the same module on another host, say)."
    )]
    Configure {
        /// The token's PKCS#11 URI (RFC 7512).
        #[arg(long)]
        uri: String,
    },
    /// Show the store's token and whether it can be used now (exits non-zero when not).
    #[command(after_help = "Example:\n  keyseal hsm status")]
    Status,
}

/// Runs one HSM command on the store behind `kms`.
pub fn run(action: HsmAction, kms: &LocalKms) -> Result<Outcome, KmsError> {
    match action {
        HsmAction::Configure { uri } => {
            let name = kms.configure_token(&uri)?;
            println!("token {} is now this store's home for HSM keys", escape_text(&name));
            println!(
                "create one with: keyseal kms create-key --key-spec EC_P256 --key-usage SIGN/VERIFY --protection-level HSM"
            );
        }
        HsmAction::Status => {
            match kms.token_uri()? {
                Some(uri) => println!("uri:   {}", escape_text(&uri)),
                None => println!("uri:   none (`keyseal hsm configure --uri …` sets one)"),
            }
            if let Some(uri) = std::env::var_os(super::env::PKCS11_URI) {
                println!("using: {} (KEYSEAL_PKCS11_URI)", escape_text(&uri.to_string_lossy()));
            }
            let name = kms.open_token()?;
            println!("token: {} (logged in)", escape_text(&name));
        }
    }
    Ok(Outcome::Success)
}
