//! KMS errors: each carries the OpenAPI error code (so the server, the SDK and the CLI
//! agree on it) and a message that says what happened and what to do next.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares the error-code enum with its wire code and HTTP status in one table.
macro_rules! error_codes {
    ($($(#[$meta:meta])* $variant:ident => ($wire:literal, $status:literal)),+ $(,)?) => {
        /// A stable error code, spelled as KMS OpenAPI 2016-01-20 spells it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $($(#[$meta])* #[serde(rename = $wire)] $variant),+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The wire code.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $wire),+ }
            }

            /// The HTTP status the server answers with.
            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status),+ }
            }

            /// The code for a wire spelling, if it is one of ours.
            pub fn from_wire(code: &str) -> Option<ErrorCode> {
                ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
            }
        }
    };
}

error_codes! {
    /// No key with this KeyId (or the alias/ARN resolved to none).
    KeyNotFound => ("Forbidden.KeyNotFound", 404),
    /// The key exists but has no such version.
    KeyVersionNotFound => ("Forbidden.KeyVersionNotFound", 404),
    /// No alias with this name.
    AliasNotFound => ("Forbidden.AliasNotFound", 404),
    /// CreateAlias with a name already taken.
    AliasAlreadyExists => ("AliasAlreadyExists", 400),
    /// The key is disabled.
    Disabled => ("Rejected.Disabled", 409),
    /// The key is pending deletion.
    PendingDeletion => ("Rejected.PendingDeletion", 409),
    /// The state change is not allowed from the key's current state.
    StateModifiedFailed => ("Rejected.StateModifiedFailed", 409),
    /// A parameter is malformed or out of range.
    InvalidParameter => ("InvalidParameter", 400),
    /// A required parameter is absent.
    MissingParameter => ("MissingParameter", 400),
    /// The operation or algorithm does not fit the key's spec or usage.
    UnsupportedOperation => ("Rejected.UnsupportedOperation", 400),
    /// The caller's policy does not allow this action on this resource.
    NoPermission => ("Forbidden.NoPermission", 403),
    /// The request's signature is absent or not well formed.
    IncompleteSignature => ("IncompleteSignature", 400),
    /// The request's signature (or its body hash) does not match.
    SignatureDoesNotMatch => ("SignatureDoesNotMatch", 400),
    /// No access key with this AccessKeyId.
    AccessKeyNotFound => ("InvalidAccessKeyId.NotFound", 404),
    /// The access key is disabled.
    AccessKeyInactive => ("InvalidAccessKeyId.Inactive", 403),
    /// The request's date is more than 15 minutes from the server's clock.
    TimestampExpired => ("InvalidTimeStamp.Expired", 400),
    /// The request's nonce was seen before: a replay.
    NonceUsed => ("SignatureNonceUsed", 400),
    /// No such API action.
    ActionNotFound => ("InvalidAction.NotFound", 404),
    /// The store cannot be unlocked: the passphrase or key file is wrong.
    WrongPassphrase => ("Keyseal.WrongPassphrase", 500),
    /// A private-key operation needs the passphrase and none was available.
    PassphraseRequired => ("Keyseal.PassphraseRequired", 500),
    /// The two entries of a new store's passphrase differ.
    PassphraseMismatch => ("Keyseal.PassphraseMismatch", 400),
    /// The store could not be opened, read or written.
    StoreUnavailable => ("Keyseal.StoreUnavailable", 503),
    /// The store's directory or files are open to group or others.
    StoreUnprotected => ("Keyseal.StoreUnprotected", 503),
    /// The store's PKCS#11 token cannot be used now: its module, the token, its login or
    /// the PIN file is missing, or the token failed; retry once it is back.
    HsmUnavailable => ("Keyseal.HsmUnavailable", 503),
    /// The store's PKCS#11 token refused the PIN.
    HsmPinIncorrect => ("Keyseal.HsmPinIncorrect", 500),
    /// Anything else: a bug or a provider failure.
    InternalFailure => ("InternalFailure", 500),
}

impl crate::codes::Coded for ErrorCode {
    fn code(self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused or failed KMS operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct KmsError {
    /// The stable OpenAPI code.
    pub code: ErrorCode,
    /// What happened and what to do next.
    pub message: String,
    /// The RequestId of the refused operation, when it got far enough to have one; the
    /// audit entry of the refusal carries the same id.
    pub request_id: Option<String>,
}

impl KmsError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        KmsError { code, message: message.into(), request_id: None }
    }

    /// `InvalidParameter` naming the parameter.
    pub fn invalid(parameter: &str, why: impl fmt::Display) -> Self {
        KmsError::new(ErrorCode::InvalidParameter, format!("{parameter}: {why}"))
    }

    /// `MissingParameter` naming the parameter.
    pub fn missing(parameter: &str) -> Self {
        KmsError::new(ErrorCode::MissingParameter, format!("{parameter} is required"))
    }

    /// `StoreUnavailable` for a database failure, keeping SQLite's own words.
    pub fn store(context: &str, err: impl fmt::Display) -> Self {
        KmsError::new(
            ErrorCode::StoreUnavailable,
            format!("{context}: {err}; check that the store directory is writable and not on a network file system"),
        )
    }

    /// `InternalFailure` with context.
    pub fn internal(message: impl Into<String>) -> Self {
        KmsError::new(ErrorCode::InternalFailure, message)
    }
}

impl From<rusqlite::Error> for KmsError {
    fn from(err: rusqlite::Error) -> Self {
        KmsError::store("the key store failed", err)
    }
}

/// The OpenAPI error body: `{"RequestId","HostId","Code","Message","Recommend"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    /// The request this answers.
    pub request_id: String,
    /// The host that answered.
    pub host_id: String,
    /// The error code.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
    /// Where to read more (empty: the message says it).
    #[serde(default)]
    pub recommend: String,
}

impl ErrorBody {
    /// The body for `err`, answered by `host_id`.
    pub fn new(err: &KmsError, host_id: &str) -> Self {
        ErrorBody {
            request_id: err.request_id.clone().unwrap_or_default(),
            host_id: host_id.to_string(),
            code: err.code.as_str().to_string(),
            message: err.message.clone(),
            recommend: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_have_statuses() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(*code));
            assert!((400..600).contains(&code.http_status()));
        }
        assert_eq!(ErrorCode::KeyNotFound.as_str(), "Forbidden.KeyNotFound");
    }
}
