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

/// The CRL files a case checks revocation with, the trust anchor's first; none when it
/// runs without revocation checking.
fn crl_names(case: &Value) -> Option<Vec<String>> {
    (case["revocation"].as_bool() != Some(false))
        .then(|| ["TrustAnchorRootCRL.crl".to_string()].into_iter().chain(strings(&case["crls"])).collect())
}

/// The options a case asks for: its CRLs and its initial policy inputs.
fn options(case: &Value) -> ValidationOptions {
    let mut options = ValidationOptions::new(AT, Purpose::Any);
    for name in crl_names(case).unwrap_or_default() {
        options.crls.push(Crl::from_der(&fixture("crls", &name)).unwrap_or_else(|e| panic!("{name}: {e}")));
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
const NOT_YET: &[&str] = &["valid_dsa_parameter_inheritance_test5", "valid_dsa_signatures_test4"];

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

/// Writes DER files as one PEM file of `label` blocks.
fn pem_file(dir: &Path, name: &str, label: &str, ders: &[Vec<u8>]) -> std::path::PathBuf {
    let pem: String =
        ders.iter().map(|der| der::pem::encode_string(label, der::pem::LineEnding::LF, der).expect("PEM")).collect();
    let path = dir.join(name);
    std::fs::write(&path, pem).expect("write PEM");
    path
}

fn case_named<'c>(cases: &'c [Value], name: &str) -> &'c Value {
    cases.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no case {name}"))
}

/// The §6.1.1 inputs of a case as `keyseal` flags (`openssl`'s when `openssl` is set).
fn policy_flags(case: &Value, openssl: bool) -> Vec<String> {
    let params = &case["params"];
    let mut flags = Vec::new();
    for oid in strings(&params["user_initial_policy_set"]) {
        flags.extend(["-policy".to_string(), oid]);
    }
    for (key, flag) in [
        ("initial_explicit_policy", "explicit_policy"),
        ("initial_policy_mapping_inhibit", "inhibit_map"),
        ("initial_any_policy_inhibit", "inhibit_any"),
    ] {
        if params[key].as_bool() == Some(true) {
            flags.push(format!("-{flag}"));
        }
    }
    if openssl {
        // OpenSSL reads no -policy as an empty user-initial-policy-set, not {anyPolicy}.
        if strings(&params["user_initial_policy_set"]).is_empty() {
            flags.extend(["-policy".to_string(), "2.5.29.32.0".to_string()]);
        }
        return flags;
    }
    flags
        .into_iter()
        .map(|flag| match flag.as_str() {
            "-policy" => "--policy".into(),
            "-explicit_policy" => "--require-explicit-policy".into(),
            "-inhibit_map" => "--inhibit-policy-mapping".into(),
            "-inhibit_any" => "--inhibit-any-policy".into(),
            _ => flag,
        })
        .collect()
}

/// Files for one case: the leaf, the other certificates, the anchor and the CRLs as PEM.
struct CaseFiles {
    leaf: std::path::PathBuf,
    chain: Option<std::path::PathBuf>,
    trust: std::path::PathBuf,
    crls: Option<std::path::PathBuf>,
}

fn case_files(dir: &Path, case: &Value) -> CaseFiles {
    let leaf = pem_file(dir, "leaf.pem", "CERTIFICATE", &[fixture("certs", case["cert"].as_str().expect("cert"))]);
    let others: Vec<Vec<u8>> = strings(&case["other_certs"]).iter().map(|n| fixture("certs", n)).collect();
    let chain = (!others.is_empty()).then(|| pem_file(dir, "chain.pem", "CERTIFICATE", &others));
    let trust = pem_file(dir, "trust.pem", "CERTIFICATE", &[fixture("certs", "TrustAnchorRootCertificate.crt")]);
    let crls = crl_names(case).map(|names| {
        let ders: Vec<Vec<u8>> = names.iter().map(|n| fixture("crls", n)).collect();
        pem_file(dir, "crls.pem", "X509 CRL", &ders)
    });
    CaseFiles { leaf, chain, trust, crls }
}

/// A sample of PKITS through the `keyseal cert verify` binary, policy inputs as flags:
/// the verdict, the exit code and the reason code agree with the library run above.
#[test]
fn a_pkits_sample_through_the_binary() {
    let cases: Vec<Value> = serde_json::from_slice(&fixture("", "pkits.json")).expect("pkits.json");
    let sample = [
        ("valid_signatures_test1", None),
        ("invalid_ca_signature_test2", Some("bad-signature")),
        ("valid_pre2000_utc_notbefore_date_test3", None),
        ("valid_generalizedtime_notbefore_date_test4", None),
        ("invalid_revoked_ee_test3", Some("revoked")),
        ("all_certs_same_policy_test1_with_constraint_mismatch", Some("policy-not-accepted")),
        ("valid_policy_mapping_test2_with_testpol1", None),
        ("valid_policy_mapping_test2_inhibit_mapping", Some("policy-not-accepted")),
        ("invalid_mapping_from_any_policy_test7", Some("bad-policy-mapping")),
        ("inhibit_any_policy_test3_initial_inhibit", Some("policy-not-accepted")),
        ("invalid_dn_nameconstraints_test2", Some("name-constraint-violation")),
        ("invalid_unknown_critical_certificate_extension_test2", Some("unknown-critical-extension")),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, expected) in sample {
        let case = case_named(&cases, name);
        let files = case_files(dir.path(), case);
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_keyseal"));
        command.args(["cert", "verify"]).arg(&files.leaf).arg("--trust").arg(&files.trust);
        if let Some(chain) = &files.chain {
            command.arg("--chain").arg(chain);
        }
        if let Some(crls) = &files.crls {
            command.arg("--crl").arg(crls);
        }
        command.args(["--at", "2024-01-01", "--json"]).args(policy_flags(case, false));
        let output = command.output().expect("run keyseal");
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", String::from_utf8_lossy(&output.stderr)));
        assert_eq!(output.status.code(), Some(if expected.is_none() { 0 } else { 1 }), "{name}: {report}");
        assert_eq!(report["reason"].as_str(), expected, "{name}: {report}");
        if expected.is_none() {
            assert!(report["policies"].is_array(), "{name}: the policy set is reported: {report}");
        }
    }
}

/// Cases where `openssl verify -x509_strict` (3.0) and keyseal disagree, with which of
/// the two follows RFC 5280 (the PKITS expectation is the judge) and why.
const OPENSSL_DIFFERS: &[(&str, &str)] = &[
    ("valid_dsa_signatures_test4", "keyseal refuses DSA with SHA-1 (see docs/verifier.md); OpenSSL accepts it"),
    (
        "valid_separate_certificate_and_crl_keys_test19",
        "OpenSSL finds no CRL (\"unable to get certificate CRL\"): it does not use a CRL signed by a separate CRL-signing certificate of the CA, which RFC 5280 §6.3.3 (f) allows",
    ),
    (
        "valid_basic_self_issued_new_with_old_test4",
        "OpenSSL says \"different CRL scope\": it does not fall back to the CA's complete CRL when another of its CRLs names a distribution point (RFC 5280 §6.3.3 (b))",
    ),
    (
        "valid_basic_self_issued_crl_signing_key_test6",
        "OpenSSL says \"different CRL scope\" for a CRL signed by the CA's self-issued CRL-signing key (RFC 5280 §6.3.3 (f) allows it)",
    ),
    (
        "valid_basicconstraints_not_critical_test4",
        "openssl -x509_strict insists on a critical basicConstraints in a CA; PKITS expects a relying party to accept one that is not",
    ),
    (
        "valid_onlysomereasons_test18",
        "OpenSSL finds no CRL: it does not combine CRLs that each cover some reasons (onlySomeReasons, RFC 5280 §6.3.3 (c), (l))",
    ),
    (
        "valid_onlysomereasons_test19",
        "OpenSSL finds no CRL: it does not combine CRLs of two distribution points that each cover some reasons (RFC 5280 §6.3.3 (c), (l))",
    ),
    (
        "valid_idp_with_indirectcrl_test22",
        "OpenSSL finds no CRL: it passes over an indirect CRL even from the certificate's own issuer (RFC 5280 §5.2.5)",
    ),
    (
        "valid_idp_with_indirectcrl_test24",
        "OpenSSL finds no CRL: it does not take the indirect CRL of the cRLIssuer the certificate names (RFC 5280 §6.3.3 (b)(1))",
    ),
    (
        "valid_idp_with_indirectcrl_test25",
        "OpenSSL finds no CRL: it does not take the indirect CRL of the cRLIssuer the certificate names (RFC 5280 §6.3.3 (b)(1))",
    ),
    (
        "valid_crlissuer_test28",
        "OpenSSL says \"different CRL scope\" for the cRLIssuer's indirect CRL (RFC 5280 §6.3.3 (b))",
    ),
    (
        "valid_crlissuer_test29",
        "OpenSSL says \"different CRL scope\": it does not resolve a nameRelativeToCRLIssuer against the cRLIssuer (RFC 5280 §4.2.1.13)",
    ),
    (
        "valid_crlissuer_test30",
        "OpenSSL finds no CRL: the cRLIssuer's certificate is covered by the indirect CRL it signs itself, which PKITS expects to be accepted",
    ),
    (
        "valid_crlissuer_test33",
        "OpenSSL finds no CRL: it does not read certificateIssuer entries of an indirect CRL (RFC 5280 §5.3.3)",
    ),
    (
        "invalid_deltacrlindicator_no_base_set_test1",
        "OpenSSL uses a delta CRL with no complete CRL under it; RFC 5280 §5.2.4 makes a delta only an update of its base",
    ),
    (
        "invalid_deltacrl_test3",
        "OpenSSL takes the delta CRL (which does not list the certificate) instead of the complete CRL that revokes it; RFC 5280 §6.3.3 (i), (j) reads both",
    ),
    (
        "invalid_deltacrl_test10",
        "OpenSSL uses the current delta CRL on top of a stale complete CRL; RFC 5280 §6.3.3 (a) needs the complete CRL current",
    ),
];

/// Every PKITS case through `openssl verify -x509_strict` with the case's inputs: where
/// OpenSSL and keyseal reach different verdicts, the case is listed in OPENSSL_DIFFERS
/// with the reason, and keyseal's verdict is the one PKITS expects.
#[test]
fn openssl_reaches_the_same_verdicts() {
    let cases: Vec<Value> = serde_json::from_slice(&fixture("", "pkits.json")).expect("pkits.json");
    let anchors = vec![cert("TrustAnchorRootCertificate.crt")];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut unexplained = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let files = case_files(dir.path(), case);
        let mut args: Vec<String> =
            ["verify", "-x509_strict", "-policy_check", "-attime", &AT.to_string()].map(String::from).into();
        args.extend(["-CAfile".into(), files.trust.display().to_string()]);
        if let Some(chain) = &files.chain {
            args.extend(["-untrusted".into(), chain.display().to_string()]);
        }
        if let Some(crls) = &files.crls {
            args.extend(["-crl_check_all".into(), "-use_deltas".into(), "-CRLfile".into(), crls.display().to_string()]);
        }
        args.extend(policy_flags(case, true));
        args.push(files.leaf.display().to_string());
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (openssl_valid, _) = crate::common::peer("openssl", &arg_refs);
        let leaf = cert(case["cert"].as_str().expect("cert"));
        let others: Vec<Cert> = strings(&case["other_certs"]).iter().map(|n| cert(n)).collect();
        let keyseal_valid = validate(&leaf, &others, &anchors, &options(case)).valid;
        let listed = OPENSSL_DIFFERS.iter().any(|(n, _)| *n == name);
        if (openssl_valid != keyseal_valid) != listed {
            unexplained.push(format!("{name}: openssl {openssl_valid}, keyseal {keyseal_valid}"));
        }
    }
    assert!(unexplained.is_empty(), "unexplained differences with OpenSSL:\n{}", unexplained.join("\n"));
}
