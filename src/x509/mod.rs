//! X.509 certificates, read and checked offline. Today: loading PEM chains and deciding
//! whether a certificate may vouch for a release-signing key. Chain building and RFC 5280
//! path validation join here with the verifier. Every failure carries a stable reason
//! code that tests and JSON output use.

pub mod cert;
pub mod signature;

pub use cert::{CertError, Reason, check_code_signing_leaf, describe, load_pem_chain};
