//! Project Wycheproof vectors (fixtures/wycheproof, see fixtures/README.md) through
//! the exact verify and decrypt functions AsymmetricVerify and AsymmetricDecrypt call
//! (`kms::keys`), every case asserted, once through each crypto provider compiled in
//! (`keys::Provider::ALL`: RustCrypto, and aws-lc-rs in the default build), so the two
//! must agree on every vector.
//!
//! Decisions, asserted below rather than skipped:
//! - secp256k1 signatures with a high S are accepted (as OpenSSL accepts them); the
//!   Bitcoin file marks them invalid, so there each such case must carry the
//!   `SignatureMalleabilityBitcoin` flag and must verify. Everything else in that file
//!   agrees with Wycheproof.
//! - `acceptable` RSA PKCS#1 cases are recorded with the outcome keyseal gives; they must be
//!   refused (keyseal is strict about the encoding), and the test says how many there were.

use keyseal::crypto::keys::{KeyError, Provider, decrypt_with, verify_digest_with};
use keyseal::crypto::spec::{Algorithm, KeySpec};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/wycheproof").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the Wycheproof vectors must be at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn hex_field(test: &Value, field: &str) -> Vec<u8> {
    hex::decode(test[field].as_str().unwrap()).unwrap()
}

struct Tally {
    cases: usize,
    acceptable_refused: usize,
}

/// Whether `verify_digest` accepts the signature. It answers `Ok(false)` for a signature
/// that is wrong, malformed or of the wrong length, and `Err` only when the key or the
/// request is unusable; every Wycheproof key is a good key, so an error is a failure of
/// the test, never counted as a refusal (in a group with no valid case a key-parsing
/// regression would otherwise pass unseen).
fn verify(
    provider: Provider,
    case: &str,
    spec: KeySpec,
    algorithm: Algorithm,
    public_key: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> bool {
    verify_digest_with(provider, spec, algorithm, public_key, digest, signature)
        .unwrap_or_else(|e| panic!("{case} ({provider:?}): the key or request was refused ({e}), not the signature"))
}

/// Runs every signature case of `file` through every provider; `expect` may override
/// Wycheproof's verdict for a case (returning Some(outcome)) where keyseal deliberately
/// differs. The tally is one provider's (each sees the same cases).
fn run_signatures(file: &str, spec: KeySpec, algorithm: Algorithm, expect: impl Fn(&Value) -> Option<bool>) -> Tally {
    let tallies: Vec<Tally> =
        Provider::ALL.iter().map(|provider| run_signatures_with(*provider, file, spec, algorithm, &expect)).collect();
    assert!(tallies.windows(2).all(|t| t[0].cases == t[1].cases && t[0].acceptable_refused == t[1].acceptable_refused));
    tallies.into_iter().next().unwrap()
}

fn run_signatures_with(
    provider: Provider,
    file: &str,
    spec: KeySpec,
    algorithm: Algorithm,
    expect: impl Fn(&Value) -> Option<bool>,
) -> Tally {
    let doc = load(file);
    let mut tally = Tally { cases: 0, acceptable_refused: 0 };
    for group in doc["testGroups"].as_array().unwrap() {
        let public_key = hex_field(group, "publicKeyDer");
        for test in group["tests"].as_array().unwrap() {
            let digest = Sha256::digest(hex_field(test, "msg"));
            let signature = hex_field(test, "sig");
            let id = test["tcId"].as_u64().unwrap();
            let accepted =
                verify(provider, &format!("{file} tcId {id}"), spec, algorithm, &public_key, &digest, &signature);
            let result = test["result"].as_str().unwrap();
            let wanted = match (expect(test), result) {
                (Some(outcome), _) => outcome,
                (None, "valid") => true,
                (None, "invalid") => false,
                (None, _) => {
                    assert!(
                        !accepted,
                        "{file} tcId {id} ({provider:?}): acceptable case accepted ({})",
                        test["comment"]
                    );
                    tally.acceptable_refused += 1;
                    false
                }
            };
            let (comment, flags) = (&test["comment"], &test["flags"]);
            assert_eq!(accepted, wanted, "{file} tcId {id} ({result}, {provider:?}): {comment} flags {flags}");
            tally.cases += 1;
        }
    }
    tally
}

#[test]
fn ecdsa_p256_sha256() {
    let tally = run_signatures("ecdsa_secp256r1_sha256_test.json", KeySpec::EcP256, Algorithm::EcdsaSha256, |_| None);
    assert_eq!(tally.cases, 484);
}

#[test]
fn ecdsa_secp256k1_sha256() {
    let tally = run_signatures("ecdsa_secp256k1_sha256_test.json", KeySpec::EcP256k, Algorithm::EcdsaSha256, |_| None);
    assert_eq!(tally.cases, 476);
}

/// The Bitcoin profile rejects high-S signatures; keyseal accepts them. So a Bitcoin case
/// is expected to verify as the plain secp256k1 file judges the same (key, message,
/// signature), or, for the cases only the Bitcoin file has, as Wycheproof says, except the
/// `SignatureMalleabilityBitcoin` ones (valid signatures with S flipped high), which verify.
/// Every case where keyseal and the Bitcoin verdict differ must have a high S.
#[test]
fn ecdsa_secp256k1_bitcoin_high_s_is_accepted() {
    let plain = load("ecdsa_secp256k1_sha256_test.json");
    let mut plain_verdicts = std::collections::HashMap::new();
    for group in plain["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            let key = (group["publicKeyDer"].clone(), test["msg"].clone(), test["sig"].clone());
            plain_verdicts.insert(key, test["result"] == "valid");
        }
    }
    let doc = load("ecdsa_secp256k1_sha256_bitcoin_test.json");
    let (mut cases, mut differing) = (0, 0);
    for (provider, group) in Provider::ALL
        .iter()
        .flat_map(|provider| doc["testGroups"].as_array().unwrap().iter().map(move |g| (*provider, g)))
    {
        let public_key = hex_field(group, "publicKeyDer");
        for test in group["tests"].as_array().unwrap() {
            let key = (group["publicKeyDer"].clone(), test["msg"].clone(), test["sig"].clone());
            let bitcoin_valid = test["result"] == "valid";
            let malleated = test["flags"].as_array().unwrap().iter().any(|f| f == "SignatureMalleabilityBitcoin");
            let expected = plain_verdicts.get(&key).copied().unwrap_or(bitcoin_valid || malleated);
            let digest = Sha256::digest(hex_field(test, "msg"));
            let signature = hex_field(test, "sig");
            let id = test["tcId"].as_u64().unwrap();
            let (spec, algorithm) = (KeySpec::EcP256k, Algorithm::EcdsaSha256);
            let accepted =
                verify(provider, &format!("bitcoin tcId {id}"), spec, algorithm, &public_key, &digest, &signature);
            assert_eq!(accepted, expected, "bitcoin tcId {id}: {} flags {}", test["comment"], test["flags"]);
            if accepted != bitcoin_valid {
                let parsed = k256::ecdsa::Signature::from_der(&signature).unwrap();
                assert!(parsed.normalize_s() != parsed, "bitcoin tcId {id}: differs from Wycheproof but S is low");
                differing += 1;
            }
            cases += 1;
        }
    }
    assert_eq!(cases, 463 * Provider::ALL.len());
    assert!(differing > 0, "the Bitcoin file must exercise high-S signatures");
}

#[test]
fn rsa_pkcs1_2048_sha256() {
    let tally =
        run_signatures("rsa_signature_2048_sha256_test.json", KeySpec::Rsa2048, Algorithm::RsaPkcs1Sha256, |_| None);
    assert_eq!(tally.cases, 259);
    eprintln!("RSA PKCS#1: {} acceptable cases, all refused", tally.acceptable_refused);
}

#[test]
fn rsa_pss_2048_sha256_salt_32() {
    let tally =
        run_signatures("rsa_pss_2048_sha256_mgf1_32_test.json", KeySpec::Rsa2048, Algorithm::RsaPssSha256, |_| None);
    assert_eq!(tally.cases, 108);
}

/// Runs every OAEP case of `file` through every provider; the count is one provider's.
fn run_oaep(file: &str, algorithm: Algorithm) -> usize {
    let counts: Vec<usize> = Provider::ALL.iter().map(|provider| run_oaep_with(*provider, file, algorithm)).collect();
    assert!(counts.windows(2).all(|c| c[0] == c[1]));
    counts[0]
}

fn run_oaep_with(provider: Provider, file: &str, algorithm: Algorithm) -> usize {
    let doc = load(file);
    let mut cases = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let private_key = hex_field(group, "privateKeyPkcs8");
        for test in group["tests"].as_array().unwrap() {
            let id = test["tcId"].as_u64().unwrap();
            let (ciphertext, label) = (hex_field(test, "ct"), hex_field(test, "label"));
            let outcome = decrypt_with(provider, KeySpec::Rsa2048, algorithm, &private_key, &ciphertext, &label);
            match test["result"].as_str().unwrap() {
                "valid" => assert_eq!(
                    outcome.as_deref().map(|p| p.as_slice()),
                    Ok(hex_field(test, "msg").as_slice()),
                    "{file} tcId {id} ({provider:?}): {}",
                    test["comment"]
                ),
                // Refused as a ciphertext that does not decrypt, not for an unusable key.
                _ => assert_eq!(
                    outcome.as_deref().map(|p| p.as_slice()),
                    Err(&KeyError::DecryptionFailed),
                    "{file} tcId {id} ({provider:?}) must be refused as undecryptable: {}",
                    test["comment"]
                ),
            }
            cases += 1;
        }
    }
    cases
}

#[test]
fn rsa_oaep_2048_sha256() {
    assert_eq!(run_oaep("rsa_oaep_2048_sha256_mgf1sha256_test.json", Algorithm::RsaesOaepSha256), 37);
}

#[test]
fn rsa_oaep_2048_sha1() {
    assert_eq!(run_oaep("rsa_oaep_2048_sha1_mgf1sha1_test.json", Algorithm::RsaesOaepSha1), 36);
}
