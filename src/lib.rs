//! keyseal: versioned asymmetric keys in a KMS, release signing, a mini-CA and an offline
//! verifier. This file is the module map and nothing else. The layers go one way: `cli` on
//! `server` and `release`, on `tsa`, on `ca`, on `x509`, on `kms`, on `crypto`;
//! none imports back up.
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod bounded;
pub mod ca;
pub mod cli;
pub mod clock;
pub mod codes;
pub mod crypto;
pub mod kms;
pub mod quote;
pub mod release;
pub mod safe_write;
pub mod server;
pub mod tls;
pub mod tsa;
pub mod x509;
