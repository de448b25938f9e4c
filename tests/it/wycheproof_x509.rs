//! Project Wycheproof signature vectors (fixtures/wycheproof, see fixtures/README.md)
//! through the X.509 verifier's own signature code, `x509::signature::verify_signed`: the
//! function `cert verify` (and the CRL, CSR and timestamp checks) call with the signer's
//! SubjectPublicKeyInfo, the AlgorithmIdentifier the signed object names, and the signed
//! bytes. Certificates made elsewhere use more than the KMS's three key specs, so this
//! covers RSA PKCS#1 v1.5 with SHA-256/384/512 and 2048/3072/4096-bit keys, RSA-PSS with
//! SHA-256/384/512 (also keys whose SPKI carries RSASSA-PSS parameters), and ECDSA on
//! P-256, secp256k1 and P-384. Every case is asserted.
//!
//! Each case is built as a certificate would carry it: the group's `publicKeyDer` as the
//! SPKI; for PKCS#1 `shaNNNWithRSAEncryption` with NULL parameters, for ECDSA
//! `ecdsa-with-SHANNN`, for PSS `id-RSASSA-PSS` with the group's hash, MGF1 hash and salt
//! length as RSASSA-PSS-params. The verdicts:
//! - `valid` must verify and `invalid` must be refused as a bad signature.
//! - PSS with SHA-1 or SHA-224, or with an MGF1 hash other than the message hash, is
//!   outside what keyseal checks: it must be reported unsupported (whatever Wycheproof's
//!   verdict), never valid or invalid.
//! - `acceptable` cases (PKCS#1 DigestInfo without the NULL parameters) are refused, as
//!   the KMS's own verify refuses them (tests/it/wycheproof.rs); the count is asserted.
//! - A key or parameter set refused as malformed fails the test: every one here is
//!   well-formed.

use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Encode};
use keyseal::x509::signature::{SignatureError, verify_signed};
use rsa::pkcs1::{RsaPssParams, TrailerField};
use serde_json::Value;
use spki::{AlgorithmIdentifier, AlgorithmIdentifierOwned, AlgorithmIdentifierRef, SubjectPublicKeyInfoOwned};
use std::path::PathBuf;

const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const ID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/wycheproof").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the Wycheproof vectors must be at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn hex_field(value: &Value, field: &str) -> Vec<u8> {
    hex::decode(value[field].as_str().unwrap_or_else(|| panic!("no {field}"))).unwrap()
}

/// The OID of a Wycheproof hash name.
fn hash_oid(name: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(match name {
        "SHA-1" => "1.3.14.3.2.26",
        "SHA-224" => "2.16.840.1.101.3.4.2.4",
        "SHA-256" => "2.16.840.1.101.3.4.2.1",
        "SHA-384" => "2.16.840.1.101.3.4.2.2",
        "SHA-512" => "2.16.840.1.101.3.4.2.3",
        other => panic!("no OID for hash {other}"),
    })
}

/// id-RSASSA-PSS with RSASSA-PSS-params naming `hash`, MGF1 with `mgf_hash`, and `salt`.
fn pss_algorithm(hash: &str, mgf_hash: &str, salt: u8) -> AlgorithmIdentifierOwned {
    let hash_id = |name| AlgorithmIdentifierRef { oid: hash_oid(name), parameters: Some(AnyRef::NULL) };
    let parameters = RsaPssParams::<AnyRef> {
        hash: hash_id(hash),
        mask_gen: AlgorithmIdentifier { oid: ID_MGF1, parameters: Some(hash_id(mgf_hash)) },
        salt_len: salt,
        trailer_field: TrailerField::BC,
    };
    let encoded = parameters.to_der().unwrap();
    AlgorithmIdentifierOwned { oid: RSASSA_PSS, parameters: Some(der::Any::from_der(&encoded).unwrap()) }
}

/// What keyseal can check of a group, and the AlgorithmIdentifier a signature of it names.
struct Scheme {
    algorithm: AlgorithmIdentifierOwned,
    /// False where keyseal must answer "unsupported" (PSS outside SHA-2 with a matching MGF1).
    supported: bool,
}

fn scheme(doc: &Value, group: &Value) -> Scheme {
    let sha = group["sha"].as_str().unwrap();
    let plain = |oid: &str, parameters: Option<der::Any>| Scheme {
        algorithm: AlgorithmIdentifierOwned { oid: ObjectIdentifier::new_unwrap(oid), parameters },
        supported: true,
    };
    let null = || Some(der::Any::from(der::asn1::Null));
    match (doc["algorithm"].as_str().unwrap(), sha) {
        ("ECDSA", "SHA-256") => plain("1.2.840.10045.4.3.2", None),
        ("ECDSA", "SHA-384") => plain("1.2.840.10045.4.3.3", None),
        ("RSASSA-PKCS1-v1_5", "SHA-256") => plain("1.2.840.113549.1.1.11", null()),
        ("RSASSA-PKCS1-v1_5", "SHA-384") => plain("1.2.840.113549.1.1.12", null()),
        ("RSASSA-PKCS1-v1_5", "SHA-512") => plain("1.2.840.113549.1.1.13", null()),
        ("RSASSA-PSS", _) => {
            assert_eq!(group["mgf"], "MGF1");
            let mgf_hash = group["mgfSha"].as_str().unwrap();
            let salt = u8::try_from(group["sLen"].as_u64().unwrap()).unwrap();
            Scheme {
                algorithm: pss_algorithm(sha, mgf_hash, salt),
                supported: ["SHA-256", "SHA-384", "SHA-512"].contains(&sha) && mgf_hash == sha,
            }
        }
        (algorithm, sha) => panic!("no scheme for {algorithm} with {sha}"),
    }
}

/// How `verify_signed` answered a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Valid,
    Invalid,
    Unsupported,
}

/// The answer as an outcome; malformed is never right here, so it fails the test.
fn outcome(file: &str, id: u64, answer: Result<(), SignatureError>) -> Outcome {
    match answer {
        Ok(()) => Outcome::Valid,
        Err(SignatureError::Invalid) => Outcome::Invalid,
        Err(SignatureError::Unsupported(_)) => Outcome::Unsupported,
        Err(SignatureError::Malformed(what)) => {
            panic!("{file} tcId {id}: refused as malformed ({what}); every key and parameter set here is well-formed")
        }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    cases: usize,
    valid: usize,
    invalid: usize,
    unsupported: usize,
    /// `acceptable` cases, all refused.
    acceptable: usize,
}

/// Runs every case of `file` through `verify_signed`, asserting each verdict.
fn run(file: &str) -> Tally {
    let doc = load(file);
    let mut tally = Tally::default();
    for group in doc["testGroups"].as_array().unwrap() {
        let key = SubjectPublicKeyInfoOwned::from_der(&hex_field(group, "publicKeyDer"))
            .unwrap_or_else(|e| panic!("{file}: a group's publicKeyDer does not parse: {e}"));
        let scheme = scheme(&doc, group);
        for test in group["tests"].as_array().unwrap() {
            let id = test["tcId"].as_u64().unwrap();
            let answer = verify_signed(&key, &scheme.algorithm, &hex_field(test, "msg"), &hex_field(test, "sig"));
            let got = outcome(file, id, answer);
            let result = test["result"].as_str().unwrap();
            let wanted = match result {
                _ if !scheme.supported => Outcome::Unsupported,
                "valid" => Outcome::Valid,
                "invalid" => Outcome::Invalid,
                _ => {
                    tally.acceptable += 1;
                    Outcome::Invalid
                }
            };
            assert_eq!(got, wanted, "{file} tcId {id} ({result}): {} flags {}", test["comment"], test["flags"]);
            match got {
                Outcome::Valid => tally.valid += 1,
                Outcome::Invalid => tally.invalid += 1,
                Outcome::Unsupported => tally.unsupported += 1,
            }
            tally.cases += 1;
        }
    }
    tally
}

fn tally(cases: usize, valid: usize, invalid: usize, unsupported: usize, acceptable: usize) -> Tally {
    Tally { cases, valid, invalid, unsupported, acceptable }
}

#[test]
fn ecdsa_p256_secp256k1_and_p384() {
    assert_eq!(run("ecdsa_secp256r1_sha256_test.json"), tally(484, 174, 310, 0, 0));
    assert_eq!(run("ecdsa_secp256k1_sha256_test.json").cases, 476);
    assert_eq!(run("ecdsa_secp384r1_sha384_test.json"), tally(504, 194, 310, 0, 0));
}

#[test]
fn rsa_pkcs1_sha256_384_512_and_3072_4096_bit_keys() {
    assert_eq!(run("rsa_signature_2048_sha256_test.json"), tally(259, 9, 250, 0, 1));
    assert_eq!(run("rsa_signature_2048_sha384_test.json"), tally(258, 7, 251, 0, 1));
    assert_eq!(run("rsa_signature_2048_sha512_test.json"), tally(259, 8, 251, 0, 1));
    assert_eq!(run("rsa_signature_3072_sha256_test.json"), tally(259, 8, 251, 0, 1));
    assert_eq!(run("rsa_signature_4096_sha256_test.json"), tally(258, 7, 251, 0, 1));
}

#[test]
fn rsa_pss_sha256_384_512() {
    assert_eq!(run("rsa_pss_2048_sha256_mgf1_32_test.json"), tally(108, 63, 45, 0, 0));
    assert_eq!(run("rsa_pss_2048_sha384_mgf1_48_test.json"), tally(141, 95, 46, 0, 0));
    assert_eq!(run("rsa_pss_4096_sha512_mgf1_64_test.json"), tally(179, 132, 47, 0, 0));
}

/// Keys whose SubjectPublicKeyInfo is id-RSASSA-PSS with parameters, as in certificates
/// of PSS-only keys. Of the 150 parameter sets, the 18 with SHA-256/384/512 and a matching
/// MGF1 hash (salts 0 to 64) verify; the rest are unsupported, as is the whole file of
/// SHA-512 with MGF1-SHA-256.
#[test]
fn rsa_pss_keys_with_parameters() {
    assert_eq!(run("rsa_pss_misc_params_test.json"), tally(150, 18, 0, 132, 0));
    assert_eq!(run("rsa_pss_2048_sha512_mgf1sha256_32_params_test.json"), tally(178, 0, 0, 178, 0));
}

/// The first group of `file` whose hash, MGF1 hash and salt are these, and its first
/// valid case: (RSAPublicKey DER, message, signature).
fn valid_case(file: &str, sha: &str, salt: u64) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let doc = load(file);
    let group = doc["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| {
            g["sha"] == sha
                && g["sLen"].as_u64().is_none_or(|s| s == salt)
                && g["mgfSha"].as_str().is_none_or(|m| m == sha)
        })
        .unwrap();
    let test = group["tests"].as_array().unwrap().iter().find(|t| t["result"] == "valid").unwrap();
    (hex_field(group, "publicKeyAsn"), hex_field(test, "msg"), hex_field(test, "sig"))
}

/// A SubjectPublicKeyInfo for the RSAPublicKey `key` under `algorithm`.
fn spki(algorithm: AlgorithmIdentifierOwned, key: &[u8]) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned { algorithm, subject_public_key: der::asn1::BitString::from_bytes(key).unwrap() }
}

/// RFC 4055: an id-RSASSA-PSS key signs with PSS only (§1.2), and its parameters, when
/// present, restrict the signature's (§3.3: the same hash and MGF, a salt at least as
/// long). A signature that would verify if the key's parameters were ignored is refused.
#[test]
fn pss_key_parameters_restrict_the_signature() {
    let (key, message, signature) = valid_case("rsa_pss_misc_params_test.json", "SHA-256", 32);
    let signed_with = pss_algorithm("SHA-256", "SHA-256", 32);
    let check = |key_algorithm: AlgorithmIdentifierOwned, algorithm: &AlgorithmIdentifierOwned| {
        verify_signed(&spki(key_algorithm, &key), algorithm, &message, &signature)
    };
    let rsa_encryption = || AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1"),
        parameters: Some(der::Any::from(der::asn1::Null)),
    };
    let pss_key = || AlgorithmIdentifierOwned { oid: RSASSA_PSS, parameters: None };
    assert_eq!(check(rsa_encryption(), &signed_with), Ok(()), "an rsaEncryption key checks PSS");
    assert_eq!(check(pss_key(), &signed_with), Ok(()), "an id-RSASSA-PSS key without parameters");
    assert_eq!(check(pss_algorithm("SHA-256", "SHA-256", 32), &signed_with), Ok(()), "the key's own parameters");
    assert_eq!(check(pss_algorithm("SHA-256", "SHA-256", 20), &signed_with), Ok(()), "a longer salt than the minimum");
    for (hash, mgf_hash, salt, conflict) in [
        ("SHA-256", "SHA-256", 48, "a salt shorter than the key's"),
        ("SHA-384", "SHA-384", 32, "another hash"),
        ("SHA-256", "SHA-384", 32, "another MGF1 hash"),
    ] {
        assert_eq!(
            check(pss_algorithm(hash, mgf_hash, salt), &signed_with),
            Err(SignatureError::Invalid),
            "{conflict}"
        );
    }

    let (key, message, signature) = valid_case("rsa_signature_2048_sha256_test.json", "SHA-256", 0);
    let pkcs1 = AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11"),
        parameters: Some(der::Any::from(der::asn1::Null)),
    };
    let check = |key_algorithm| verify_signed(&spki(key_algorithm, &key), &pkcs1, &message, &signature);
    assert_eq!(check(rsa_encryption()), Ok(()));
    assert_eq!(check(pss_key()), Err(SignatureError::Invalid), "a PSS-only key made no PKCS#1 v1.5 signature");
    assert_eq!(check(pss_algorithm("SHA-256", "SHA-256", 32)), Err(SignatureError::Invalid));
}
