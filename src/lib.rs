//! keyseal: versioned asymmetric keys in a KMS, release signing, a mini-CA and an offline
//! verifier. This file is the module map and nothing else; see `DESIGN.md` in the shared
//! folder for how the pieces fit.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod bounded;
pub mod ca;
pub mod cli;
pub mod clock;
pub mod kms;
pub mod quote;
pub mod release;
pub mod safe_write;
pub mod server;
pub mod tls;
pub mod tsa;
pub mod x509;
