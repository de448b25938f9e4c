//! The flags that name a KMS key version to sign with, spelled and parsed the same in every
//! command that signs (`sign`, `ca init`, `ca import`, `ca csr`, `timestamp reply`), and the
//! typed parser behind every `--algorithm`: a name clap does not list never reaches a
//! command.

use crate::crypto::spec::Algorithm;
use clap::Args;
use clap::builder::TypedValueParser;

/// The signing algorithms' wire names, as clap lists them.
pub const SIGN_ALGORITHMS: &[&str] = &["RSA_PSS_SHA_256", "RSA_PKCS1_SHA_256", "ECDSA_SHA_256"];

/// A clap parser that offers the wire names as possible values and yields the typed value.
pub fn wire<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    clap::builder::PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

/// `--key-id`, `--key-version-id` and `--algorithm` of a command that signs with a KMS key
/// version (resolved by `kms::SigningKey::resolve`).
#[derive(Debug, Clone, Args)]
pub struct SigningKeyArgs {
    /// The signing key: KeyId, alias/NAME or ARN (a SIGN/VERIFY key).
    #[arg(long = "key-id", alias = "key", value_name = "KEY")]
    pub key_id: String,
    /// The key version that signs (there is no default version).
    #[arg(long = "key-version-id", alias = "key-version", value_name = "VERSION")]
    pub key_version_id: String,
    /// Signing algorithm; default RSA_PKCS1_SHA_256 for RSA keys, ECDSA_SHA_256 for EC keys.
    #[arg(long, value_parser = wire::<Algorithm>(SIGN_ALGORITHMS))]
    pub algorithm: Option<Algorithm>,
}
