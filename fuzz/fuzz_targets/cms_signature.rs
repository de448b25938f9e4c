//! A CMS signature (`SHA256SUMS.p7s`, `<file>.p7s`) as `keyseal verify` reads it, through
//! `release::cms::verify`: an attacker who ships a release controls every byte of it
//! (ContentInfo, SignedData, certificates, SignerInfos, signed attributes, algorithm
//! identifiers). Reading must refuse bad input with an error, never panic, hang or blow up
//! memory. The key and message digest are those of the seed, a `keyseal sign --format cms`
//! signature with an EC_P256 key version (see fuzz/README.md), so mutations of it reach
//! the attribute and signature checks.
#![no_main]

use keyseal::crypto::spec::KeySpec;
use libfuzzer_sys::fuzz_target;

/// The seed's signer key version.
const SIGNER: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERLB9GwSe7j8txAgXB6fVIT4y5Y9Z
CiHR3vnAyvdUBxyHrAA8YcNo8TO6sapgdFM39P9EMeEp3AGpg0tFEqDKig==
-----END PUBLIC KEY-----
";

/// The SHA-256 of the seed's SHA256SUMS.
const MESSAGE_SHA256: &str = "eb01f55d279fc761afd06fc7dece58d50fe6bcfe51c320bbcf2e4b094f35f4d3";

fuzz_target!(|data: &[u8]| {
    let spki = keyseal::crypto::keys::public_key_from_pem(SIGNER).expect("the signer's PEM");
    let digest = hex::decode(MESSAGE_SHA256).expect("hex");
    let _ = keyseal::release::cms::verify(data, &digest, KeySpec::EcP256, &spki);
});
