//! X.509 certificates, read and checked offline: loading PEM chains, deciding whether a
//! certificate may vouch for a release-signing key, checking signatures, and RFC 5280
//! path validation from a leaf through intermediates to a trust anchor, with CRLs. It
//! needs nothing but certificates, keys and a time. Every failure carries a stable reason
//! code that tests and JSON output use.

pub mod budget;
pub mod cert;
pub mod crl;
pub mod display;
pub mod identity;
pub mod name;
pub mod path;
pub mod policy;
pub mod pool;
pub mod profile;
pub mod reason;
pub mod received;
pub mod signature;
pub mod smime;
pub mod webpki;

pub use cert::{CertError, check_code_signing_leaf, describe, load_pem_chain};
pub use path::{ValidationOptions, ValidationReport, validate};
pub use reason::{Profile, Purpose, Reason};
pub use received::{Cert, Crl};
