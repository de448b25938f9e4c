//! Certificate files given to `keyseal verify --chain/--trust`, `keyseal cert` and the
//! bundle's certificate chain: PEM with any number of CERTIFICATE blocks, or one DER
//! certificate, all attacker-supplied. Loading must not panic, and every certificate that
//! parses must be printable by `describe` (as every error message does).
#![no_main]

use keyseal::x509::cert::load_certificates;
use keyseal::x509::{describe, load_pem_chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for cert in load_certificates(data).into_iter().flatten() {
        let _ = describe(&cert);
    }
    if let Ok(chain) = load_pem_chain(data) {
        for cert in &chain {
            let _ = describe(cert);
        }
    }
});
