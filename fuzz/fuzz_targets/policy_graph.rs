//! RFC 5280 / RFC 9618 certificate-policy processing (`x509::policy::PolicyState`) driven directly with hand-built
//! `CertPolicies`, since path_validation cannot change the policy extensions of a signed
//! certificate. Layout: [flags: bit0 explicit, bit1 mapping-inhibit, bit2 any-inhibit]
//! [user set mask, 16 bits over the alphabet], then per certificate (up to 12):
//! [kind: bit0 self-issued, bit1 has certificatePolicies, bit2 require, bit3 inhibitMapping,
//! bit4 inhibitAny] [npol] npol×[oid] [nmap] nmap×[from][to] [req] [inh] [iap].
//! OIDs: index % 16, 0 = anyPolicy, i = 2.16.840.1.101.3.2.1.48.i.
#![no_main]

use keyseal::x509::policy::{ANY_POLICY, CertPolicies, PolicyInputs, PolicyState};
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
}

fuzz_target!(|data: &[u8]| {
    let oid = |i: u8| {
        let i = i % 16;
        if i == 0 { ANY_POLICY } else { format!("2.16.840.1.101.3.2.1.48.{i}").parse().expect("oid") }
    };
    let mut input = Bytes(data);
    let Some(flags) = input.next() else { return };
    let mask = u16::from(input.next().unwrap_or(0)) | u16::from(input.next().unwrap_or(0)) << 8;
    let mut inputs = PolicyInputs {
        user_initial_policy_set: Vec::new(),
        initial_explicit_policy: flags & 1 != 0,
        initial_policy_mapping_inhibit: flags & 2 != 0,
        initial_any_policy_inhibit: flags & 4 != 0,
    };
    for i in 0..16u8 {
        if mask & (1 << i) != 0 {
            inputs.user_initial_policy_set.push(oid(i));
        }
    }
    let mut path = Vec::new();
    while path.len() < 12 {
        let Some(kind) = input.next() else { break };
        let mut cert = CertPolicies::default();
        let npol = input.next().unwrap_or(0) % 40;
        if kind & 2 != 0 {
            let mut policies = Vec::new();
            for _ in 0..npol {
                let p = oid(input.next().unwrap_or(0));
                if !policies.contains(&p) {
                    policies.push(p);
                }
            }
            if policies.is_empty() {
                policies.push(ANY_POLICY);
            }
            cert.policies = Some(policies);
        }
        let nmap = input.next().unwrap_or(0) % 64;
        for _ in 0..nmap {
            let (from, to) = (oid(input.next().unwrap_or(1)), oid(input.next().unwrap_or(1)));
            cert.mappings.push((from, to));
        }
        let (req, inh, iap) =
            (input.next().unwrap_or(0) % 10, input.next().unwrap_or(0) % 10, input.next().unwrap_or(0) % 10);
        cert.require_explicit_policy = (kind & 4 != 0).then_some(u32::from(req));
        cert.inhibit_policy_mapping = (kind & 8 != 0).then_some(u32::from(inh));
        cert.inhibit_any_policy = (kind & 16 != 0).then_some(u32::from(iap));
        path.push((cert, kind & 1 != 0));
    }
    if path.is_empty() {
        return;
    }
    let n = path.len();
    let mut state = PolicyState::new(&inputs, n);
    for (i, (cert, self_issued)) in path.iter().enumerate() {
        if let Err(e) = state.process(cert, *self_issued, i + 1 == n) {
            let _ = e.to_string();
            return;
        }
    }
    match state.finish(&path[n - 1].0, &inputs) {
        Ok(outcome) => {
            // The user-constrained set only holds policies the user accepts.
            if !inputs.user_initial_policy_set.is_empty() && !inputs.user_initial_policy_set.contains(&ANY_POLICY) {
                for p in &outcome.user_constrained_policy_set {
                    assert!(
                        inputs.user_initial_policy_set.iter().any(|u| u.to_string() == *p),
                        "{p} outside the user set"
                    );
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
