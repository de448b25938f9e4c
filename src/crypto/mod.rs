//! The bottom layer: key material and signatures, with no notion of a KMS, a store or a
//! certificate. The KMS keeps and uses private keys through `keys`; the offline verifier
//! (x509, release, tsa) checks signatures through `public_key`, so it never imports the KMS.
//!
//! - `spec`: KeySpec, KeyUsage, Algorithm and which algorithm fits which key.
//! - `keys`: generate, sign, verify, encrypt, decrypt per KeySpec, by provider (aws-lc-rs
//!   or RustCrypto), PEM of public keys.
//! - `public_key`: any public key keyseal verifies with (RSA, P-256, P-384, secp256k1),
//!   parsed once from its SubjectPublicKeyInfo, and the one signature check over a digest.
//! - `pkcs11`: keys in a hardware token (ProtectionLevel HSM), through PKCS#11.
//! - `ecdsa_pair`: ECDSA signatures between DER and the bare (r, s) of SSH and OpenPGP.

pub mod ecdsa_pair;
pub mod keys;
pub mod pkcs11;
pub mod public_key;
pub mod spec;

pub use public_key::{Hash, PublicKey, Scheme, spec_of_public_key};
pub use spec::{Algorithm, KeySpec, KeyUsage};
