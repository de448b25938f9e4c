//! Certification path validation (`keyseal verify --chain/--trust/--crl`, `keyseal cert
//! verify`) on attacker-built chains: a hostile release can ship any leaf and any pile of
//! intermediates and CRLs, and a careless relying party may even trust some of them.
//! Validation must give a verdict, never panic, hang or exhaust memory.
//!
//! Input layout (so seeds are plain DER files with a small header):
//! - byte 0, the flags byte:
//!   - bits 0–3: the purpose, an index into `Purpose::ALL` (modulo its length);
//!   - bit 4: a policy-set byte follows the time (below);
//!   - bit 5: `options.policy.initial_any_policy_inhibit`;
//!   - bit 6: `options.policy.initial_policy_mapping_inhibit`;
//!   - bit 7: `options.policy.initial_explicit_policy`;
//! - bytes 1..9: the verification time, Unix seconds, big-endian `i64`;
//! - byte 9, only when bit 4 of byte 0 is set: the `user_initial_policy_set`, a bit mask
//!   over [`POLICIES`] — bit `i` (0–5) adds the PKITS test policy
//!   2.16.840.1.101.3.2.1.48.`i+1`, bit 6 adds anyPolicy (2.5.29.32.0), bit 7 is ignored;
//!   no bit set is the empty set, which means {anyPolicy};
//! - then consecutive DER TLVs. Each is parsed as a certificate; one that is not a
//!   certificate but is a DER CRL goes into the options' CRLs, anything else is skipped.
//!
//! A byte 0 below 16 (the layout before the policy inputs) is just the purpose, with the
//! default policy inputs and no policy-set byte.
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

/// The OIDs the policy-set byte chooses from: the NIST PKITS test policies
/// (NIST-test-policy-1 .. -6, which the PKITS seeds assert and map), then anyPolicy.
const POLICIES: [&str; 7] = [
    "2.16.840.1.101.3.2.1.48.1",
    "2.16.840.1.101.3.2.1.48.2",
    "2.16.840.1.101.3.2.1.48.3",
    "2.16.840.1.101.3.2.1.48.4",
    "2.16.840.1.101.3.2.1.48.5",
    "2.16.840.1.101.3.2.1.48.6",
    "2.5.29.32.0",
];

/// Byte 0's bits besides the purpose.
const POLICY_SET_FOLLOWS: u8 = 0x10;
const INITIAL_ANY_POLICY_INHIBIT: u8 = 0x20;
const INITIAL_POLICY_MAPPING_INHIBIT: u8 = 0x40;
const INITIAL_EXPLICIT_POLICY: u8 = 0x80;

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
    let flags = data[0];
    let purpose = Purpose::ALL[(flags & 0x0f) as usize % Purpose::ALL.len()].1;
    let at = i64::from_be_bytes(data[1..9].try_into().expect("eight bytes"));
    let mut options = ValidationOptions::new(at, purpose);
    options.policy.initial_explicit_policy = flags & INITIAL_EXPLICIT_POLICY != 0;
    options.policy.initial_policy_mapping_inhibit = flags & INITIAL_POLICY_MAPPING_INHIBIT != 0;
    options.policy.initial_any_policy_inhibit = flags & INITIAL_ANY_POLICY_INHIBIT != 0;
    let mut ders = &data[9..];
    if flags & POLICY_SET_FOLLOWS != 0 {
        let Some((&set, rest)) = ders.split_first() else {
            return;
        };
        ders = rest;
        for (bit, oid) in POLICIES.iter().enumerate() {
            if set & (1 << bit) != 0 {
                options.policy.user_initial_policy_set.push(oid.parse().expect("a valid OID"));
            }
        }
    }
    let mut certs = Vec::new();
    for element in split_der(ders) {
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
