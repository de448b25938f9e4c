//! `keyseal.bundle.json`, and a Sigstore bundle, as `keyseal verify --bundle` reads them,
//! and an attestation as `keyseal verify-attestation` reads it:
//! an attacker who ships a release controls every byte of the bundle beside it (JSON,
//! media type, base64 signature, key ids, PEM public key and certificate chain strings,
//! a Sigstore bundle's certificates and time stamps). Reading must refuse bad input with
//! an error, never panic, hang or blow up memory.
#![no_main]

use keyseal::release::attest_verify::{AttestationCheck, verify_attestation};
use keyseal::release::bundle::Bundle;
use keyseal::release::sigstore::read::{is_sigstore, to_bundle};
use libfuzzer_sys::fuzz_target;

/// A P-256 SubjectPublicKeyInfo, as a pinned --public-key (the point need not be on the
/// curve: the reader only compares its hint).
const PINNED: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
    49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64,
];

fuzz_target!(|data: &[u8]| {
    let _ = Bundle::parse(data);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data)
        && is_sigstore(&value)
    {
        let _ = to_bundle(&value, "SHA256SUMS.sigstore.json", Some(PINNED));
        let _ = to_bundle(&value, "SHA256SUMS.sigstore.json", None);
        let check = AttestationCheck {
            pinned: Some(PINNED),
            trust: None,
            predicate_type: "https://slsa.dev/provenance/v1",
            files: &[],
            builder_id: Some("https://ci.example.com/release"),
            source_uri: Some("https://git.example.com/app"),
        };
        let _ = verify_attestation(data, &check);
    }
});
