//! CRL files given to `keyseal verify --crl`: PEM `X509 CRL` blocks or one DER CRL,
//! fetched from wherever the relying party got them, so attacker-controlled. Loading must
//! refuse bad input with an error, never panic.
#![no_main]

use keyseal::x509::crl::load_crls;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = load_crls(data);
});
