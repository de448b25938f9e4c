//! An SSH signature (`SHA256SUMS.sshsig`, `<file>.sshsig`) as `keyseal verify` reads it,
//! through `release::sshsig::SshKey::verify`: an attacker who ships a release controls
//! every byte of it (armor, base64, the SSHSIG fields and their lengths, the ECDSA mpints).
//! Reading must refuse bad input with an error, never panic, hang or blow up memory. The
//! key and message are those of the seed, a signature made by `ssh-keygen -Y sign -n file`
//! (see fuzz/README.md), so mutations of it get past the key and namespace checks.
#![no_main]

use keyseal::crypto::spec::{Algorithm, KeySpec};
use keyseal::release::sshsig::SshKey;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha512};

/// The seed's signer, as `ssh-keygen -e -m PKCS8` prints it.
const SIGNER: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkDRNqHg70/4nsuIcdjJee5PXJGiB
JxcqHc4DNMrT4V3uN5q4tpsA4A2o67KsHos4GfRELmh4o3LcJ3LsvH/UeQ==
-----END PUBLIC KEY-----
";

fuzz_target!(|data: &[u8]| {
    let spki = keyseal::crypto::keys::public_key_from_pem(SIGNER).expect("the signer's PEM");
    let key = SshKey::new(KeySpec::EcP256, Algorithm::EcdsaSha256, &spki).expect("a P-256 key");
    let message = Sha512::digest(b"keyseal fuzz message\n");
    let _ = key.verify(data, "file", &message);
});
