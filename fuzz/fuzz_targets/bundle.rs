//! `keyseal.bundle.json` as `keyseal verify --bundle` reads it: an attacker who ships a
//! release controls every byte of the bundle beside it (JSON, media type, base64
//! signature, key ids, PEM public key and certificate chain strings). Parsing must refuse
//! bad input with an error, never panic, hang or blow up memory.
#![no_main]

use keyseal::release::bundle::Bundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Bundle::parse(data);
});
