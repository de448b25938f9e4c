//! PKCS#10 requests given to `keyseal ca issue --csr`: whoever asks for a certificate
//! writes the request (PEM or DER, any key type and signature algorithm). Reading it and
//! checking its self-signature must refuse bad input with an error, never panic.
#![no_main]

use keyseal::ca::csr::read_csr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_csr(data);
});
