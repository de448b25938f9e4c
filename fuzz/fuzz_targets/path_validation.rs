//! Certification path validation (`keyseal verify --chain/--trust/--crl`, `keyseal cert
//! verify`) on attacker-built chains: a hostile release can ship any leaf and any pile of
//! intermediates and CRLs, and a careless relying party may even trust some of them.
//! Validation must give a verdict, never panic, hang or exhaust memory.
//!
//! Input layout (so seeds are plain DER files with a small header):
//! - byte 0: the purpose, an index into `Purpose::ALL` (modulo its length);
//! - bytes 1..9: the verification time, Unix seconds, big-endian `i64`;
//! - then consecutive DER TLVs. Each is parsed as a certificate; one that is not a
//!   certificate but is a DER CRL goes into the options' CRLs, anything else is skipped.
//!
//! The first certificate is the leaf; it is validated twice: with the last certificate as
//! the only trust anchor and the ones between as intermediates, then with every
//! certificate a trust anchor.
#![no_main]

use keyseal::x509::cert::from_der;
use keyseal::x509::crl::load_crls;
use keyseal::x509::{Purpose, ValidationOptions, validate};
use libfuzzer_sys::fuzz_target;

/// Most DER elements looked at: enough for any chain worth trying, and it keeps one input
/// from spending its time on thousands of tiny elements.
const MAX_ELEMENTS: usize = 24;

/// Splits `data` into consecutive DER TLVs (low tag numbers, definite lengths of up to
/// four bytes); stops at the first element that does not fit.
fn split_der(mut data: &[u8]) -> Vec<&[u8]> {
    let mut elements = Vec::new();
    while data.len() >= 2 && elements.len() < MAX_ELEMENTS {
        let first = data[1];
        let (header, length) = if first < 0x80 {
            (2, first as usize)
        } else {
            let count = (first & 0x7f) as usize;
            if count == 0 || count > 4 || data.len() < 2 + count {
                break;
            }
            let length = data[2..2 + count].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
            (2 + count, length)
        };
        let Some(end) = header.checked_add(length).filter(|&end| end <= data.len()) else {
            break;
        };
        elements.push(&data[..end]);
        data = &data[end..];
    }
    elements
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let purpose = Purpose::ALL[data[0] as usize % Purpose::ALL.len()].1;
    let at = i64::from_be_bytes(data[1..9].try_into().expect("eight bytes"));
    let mut certs = Vec::new();
    let mut options = ValidationOptions::new(at, purpose);
    for element in split_der(&data[9..]) {
        match from_der(element) {
            Ok(cert) => certs.push(cert),
            Err(_) => {
                if let Ok(crls) = load_crls(element) {
                    options.crls.extend(crls);
                }
            }
        }
    }
    let Some((leaf, rest)) = certs.split_first() else {
        return;
    };
    let (intermediates, anchors) = match rest.split_last() {
        Some((last, between)) => (between, std::slice::from_ref(last)),
        None => (rest, std::slice::from_ref(leaf)),
    };
    let report = validate(leaf, intermediates, anchors, &options);
    let _ = report.reason.map(|reason| reason.code());
    let report = validate(leaf, rest, &certs, &options);
    let _ = report.reason.map(|reason| reason.code());
});
