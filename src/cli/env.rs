//! The environment variables that stand in for the global flags (`KEYSEAL_STORE` for
//! `--store`, and so on), read here after parsing rather than by clap's `env`.
//!
//! Why not clap's `env`: clap counts a flag filled from the environment as one the user
//! typed, and every usage error then prints it in the usage line — with `KEYSEAL_STORE`
//! set, `Usage: keyseal kms create-key --key-spec <KEY_SPEC> ... --store <DIR>`, which
//! reads as if `--store` were required (issue 13 item 8). A variable is a default, so it
//! is applied the way a default is: after parsing, only where the flag was not given.

use crate::kms::error::KmsError;
use std::ffi::OsString;
use std::path::PathBuf;

/// `--store` when not given.
pub const STORE: &str = "KEYSEAL_STORE";
/// `--key-file` when not given.
pub const KEY_FILE: &str = "KEYSEAL_KEY_FILE";
/// `--endpoint` when not given.
pub const ENDPOINT: &str = "KEYSEAL_ENDPOINT";
/// `--endpoint-ca` when not given.
pub const ENDPOINT_CA: &str = "KEYSEAL_ENDPOINT_CA";
/// The PKCS#11 token of HSM keys, instead of the one the store names.
pub const PKCS11_URI: &str = "KEYSEAL_PKCS11_URI";

/// The variable's value; an empty one counts as unset, as clap's `env` treated it.
fn value(var: &str) -> Option<OsString> {
    std::env::var_os(var).filter(|v| !v.is_empty())
}

/// A path flag, or its variable when the flag was not given.
pub fn path_or(flag: Option<PathBuf>, var: &str) -> Option<PathBuf> {
    flag.or_else(|| value(var).map(PathBuf::from))
}

/// A text flag, or its variable when the flag was not given; a variable that is not
/// UTF-8 is refused, naming it, rather than silently ignored.
pub fn text_or(flag: Option<String>, var: &str) -> Result<Option<String>, KmsError> {
    match (flag, value(var)) {
        (Some(flag), _) => Ok(Some(flag)),
        (None, None) => Ok(None),
        (None, Some(value)) => {
            value.into_string().map(Some).map_err(|_| KmsError::invalid(var, "is not valid UTF-8 text"))
        }
    }
}
