//! NIST PKITS, the RFC 5280 path-validation conformance suite (fixtures/pkits/, see its
//! README): every one of its 247 cases through the validator `keyseal cert verify` uses,
//! with the case's §6.1.1 inputs, against the expected outcome.

use keyseal::x509::{Cert, Crl, Purpose, ValidationOptions, validate};
use serde_json::Value;
use std::path::Path;

/// PKITS certificates are valid from 2010 to 2030; a fixed time keeps the suite stable.
const AT: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z

fn fixture(kind: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pkits").join(kind).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cert(name: &str) -> Cert {
    Cert::from_der(&fixture("certs", name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
}

/// The options a case asks for: its CRLs (with the trust anchor's) unless it runs without
/// revocation checking, and its initial policy inputs.
fn options(case: &Value) -> ValidationOptions {
    let mut options = ValidationOptions::new(AT, Purpose::Any);
    if case["revocation"].as_bool() != Some(false) {
        options.crls = ["TrustAnchorRootCRL.crl".to_string()]
            .into_iter()
            .chain(strings(&case["crls"]))
            .map(|name| Crl::from_der(&fixture("crls", &name)).unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect();
    }
    let params = &case["params"];
    options.policy.user_initial_policy_set =
        strings(&params["user_initial_policy_set"]).iter().map(|oid| oid.parse().expect("an OID")).collect();
    options.policy.initial_explicit_policy = params["initial_explicit_policy"].as_bool().unwrap_or(false);
    options.policy.initial_policy_mapping_inhibit = params["initial_policy_mapping_inhibit"].as_bool().unwrap_or(false);
    options.policy.initial_any_policy_inhibit = params["initial_any_policy_inhibit"].as_bool().unwrap_or(false);
    options
}

/// Cases not passing yet while RFC 5280 conformance (issue 11) is being built: the
/// test fails on any other wrong case, and on a listed case that starts passing (so the
/// list only shrinks).
const NOT_YET: &[&str] = &[
    "invalid_bad_crl_issuer_name_test5",
    "invalid_basic_self_issued_crl_signing_key_test7",
    "invalid_basic_self_issued_new_with_old_test5",
    "invalid_crlissuer_test27",
    "invalid_crlissuer_test31",
    "invalid_crlissuer_test32",
    "invalid_crlissuer_test35",
    "invalid_distributionpoint_test3",
    "invalid_distributionpoint_test8",
    "invalid_distributionpoint_test9",
    "invalid_idp_with_indirectcrl_test26",
    "invalid_onlycontainsattributecerts_crl_test14",
    "invalid_onlycontainscacerts_crl_test12",
    "invalid_onlycontainsusercerts_crl_test11",
    "invalid_onlysomereasons_test15",
    "invalid_onlysomereasons_test17",
    "invalid_onlysomereasons_test20",
    "invalid_wrong_crl_test6",
    "missing_crl_test1",
    "valid_basic_self_issued_old_with_new_test1",
    "valid_deltacrl_test2",
    "valid_deltacrl_test5",
    "valid_deltacrl_test7",
    "valid_deltacrl_test8",
    "valid_dsa_parameter_inheritance_test5",
    "valid_dsa_signatures_test4",
    "valid_self_issued_dn_nameconstraints_test19",
    "valid_self_issued_inhibit_any_policy_test7",
    "valid_self_issued_inhibit_any_policy_test9",
    "valid_self_issued_inhibit_policy_mapping_test7",
    "valid_self_issued_pathlenconstraint_test15",
    "valid_self_issued_pathlenconstraint_test17",
    "valid_self_issued_require_explicit_policy_test6",
    "valid_separate_certificate_and_crl_keys_test19",
];

#[test]
fn every_pkits_case_has_the_expected_outcome() {
    let cases: Vec<Value> = serde_json::from_slice(&fixture("", "pkits.json")).expect("pkits.json");
    assert_eq!(cases.len(), 247);
    let anchors = vec![cert("TrustAnchorRootCertificate.crt")];
    let mut wrong = Vec::new();
    for case in &cases {
        let leaf = cert(case["cert"].as_str().expect("cert"));
        let others: Vec<Cert> = strings(&case["other_certs"]).iter().map(|name| cert(name)).collect();
        let report = validate(&leaf, &others, &anchors, &options(case));
        let expected_valid = case.get("error").is_none();
        let name = case["name"].as_str().unwrap_or("?");
        if std::env::var_os("PKITS_VERBOSE").is_some() {
            eprintln!(
                "{name}: {}",
                report.reason.map_or("valid".into(), |r| format!(
                    "{} {}",
                    r.code(),
                    report.message.clone().unwrap_or_default()
                ))
            );
        }
        if (report.valid == expected_valid) == NOT_YET.contains(&name) {
            wrong.push(format!(
                "{} {name}: expected {}, got {} ({}){}",
                case["id"].as_str().unwrap_or("?"),
                if expected_valid { "valid" } else { "refused" },
                report.reason.map_or("valid", |r| r.code()),
                report.message.unwrap_or_default(),
                if NOT_YET.contains(&name) { " — listed in NOT_YET but right now: remove it" } else { "" }
            ));
        }
    }
    assert!(wrong.is_empty(), "{} of {} PKITS cases wrong:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}
