//! An OpenPGP signature (`SHA256SUMS.asc`, `<file>.asc`) as `keyseal verify` reads it,
//! through `release::openpgp::verify`: an attacker who ships a release controls every byte
//! of it (armor, checksum, packet headers and lengths, subpackets, MPIs). Reading must
//! refuse bad input with an error, never panic, hang or blow up memory. The key and message
//! are those of the seed, a `keyseal sign --format pgp` signature of this SHA256SUMS with
//! the EC_P256 key version of the cms_signature seed, so mutations of it reach the digest
//! and signature checks.
#![no_main]

use keyseal::crypto::spec::KeySpec;
use libfuzzer_sys::fuzz_target;

/// The seed's signer key version.
const SIGNER: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERLB9GwSe7j8txAgXB6fVIT4y5Y9Z
CiHR3vnAyvdUBxyHrAA8YcNo8TO6sapgdFM39P9EMeEp3AGpg0tFEqDKig==
-----END PUBLIC KEY-----
";

/// The seed's SHA256SUMS.
const MESSAGE: &[u8] = b"517ea0532707c20ccb472663a4ab8da010e51c6b5e7a8a853624d1dcb9f05cd2  m\n";

fuzz_target!(|data: &[u8]| {
    let spki = keyseal::crypto::keys::public_key_from_pem(SIGNER).expect("the signer's PEM");
    let _ = keyseal::release::openpgp::verify(data, KeySpec::EcP256, &spki, |hash| {
        sha2::Digest::update(hash, MESSAGE);
        Ok(())
    });
});
