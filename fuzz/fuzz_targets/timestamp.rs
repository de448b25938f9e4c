//! An RFC 3161 time-stamp reply or token, as `keyseal timestamp verify --in` and `keyseal
//! verify --tsa-trust` (a bundle's `timestamp.token`) read it, and as `keyseal sign --tsa`
//! reads a TSA's answer: whoever ships the release or runs the TSA controls every byte
//! (CMS layers, certificates, signed attributes, TSTInfo). Every check runs up to the TSA
//! chain, which has no trust anchor here. Must refuse with an error or a failed check,
//! never panic, hang or blow up memory.
#![no_main]

use keyseal::tsa::verify::{Expected, TsaTrust, check_fresh_reply, verify_reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let digest = Expected::Digest(vec![0x5a; 32]);
    let trust = TsaTrust { anchors: &[], intermediates: &[], crls: &[], now: i64::MAX };
    let _ = verify_reply(data, &digest, &trust);
    let _ = check_fresh_reply(data, &[0x5a; 32], None);
    let _ = keyseal::tsa::token::parse(data);
});
