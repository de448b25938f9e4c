//! Every KMS operation and every refusal, end to end through the `keyseal` binary, for all
//! three KeySpecs. Refusals are asserted by error code and exit status, and each is checked
//! to change nothing (`Keyseal::refuses`: the keys, versions and aliases read the same
//! before and after, and the audit log gains only the refusal's own entry).

use crate::common::{Keyseal, Run, SPECS, sign_algorithms};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::process::Command;

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// What the store holds as the CLI shows it: every key's metadata and versions, and every
/// alias, with the RequestIds left out (each answer has its own).
#[derive(Debug, PartialEq)]
struct Holdings(Vec<Value>);

/// `answer` without its RequestId.
fn without_request_id(mut answer: Value) -> Value {
    if let Some(fields) = answer.as_object_mut() {
        fields.remove("RequestId");
    }
    answer
}

impl Keyseal {
    fn holdings(&self) -> Holdings {
        let shown = |args: &[&str]| without_request_id(self.ok(args));
        let keys = shown(&["kms", "list-keys", "--page-size", "100"]);
        let mut holdings = vec![shown(&["kms", "list-aliases", "--page-size", "100"])];
        for key in keys["Keys"]["Key"].as_array().unwrap() {
            let key_id = key["KeyId"].as_str().unwrap();
            holdings.push(shown(&["kms", "describe-key", "--key-id", key_id]));
            holdings.push(shown(&["kms", "list-key-versions", "--key-id", key_id, "--page-size", "100"]));
        }
        holdings.push(keys);
        Holdings(holdings)
    }

    fn audit_entries(&self) -> Vec<Value> {
        self.ok(&["audit", "list", "--json"]).as_array().unwrap().clone()
    }

    /// Runs `command` and checks it changed nothing the store holds; returns the run and
    /// the audit entries it added.
    fn changing_nothing(&self, command: &mut Command) -> (Run, Vec<Value>) {
        let before = self.holdings();
        let logged = self.audit_entries().len();
        let run: Run = command.output().unwrap().into();
        let added = self.audit_entries().split_off(logged);
        assert_eq!(self.holdings(), before, "a refusal changes nothing: {command:?}\n{}", run.stderr);
        (run, added)
    }

    /// Runs `args`, which must be refused with error `code` (exit 2) and change nothing
    /// but the audit log, which gains at most the refusal's own entry: a Failure with
    /// that code (a refusal before the KMS is reached, such as a digest that does not
    /// decode, writes none). Returns the run for checks of its message.
    fn refuses(&self, args: &[&str], code: &str) -> Run {
        self.refuses_with(self.command().args(args), code)
    }

    /// `refuses`, for a command with its own environment.
    fn refuses_with(&self, command: &mut Command, code: &str) -> Run {
        let (run, added) = self.changing_nothing(command);
        assert_eq!(run.status, 2, "{command:?} is refused with exit 2: {}\n{}", run.stdout, run.stderr);
        assert_eq!(run.code(), code, "{command:?}: {}", run.stderr);
        assert!(
            added.len() <= 1 && added.iter().all(|e| e["Result"] == "Failure" && e["ErrorCode"] == code),
            "{command:?} logged only its own refusal: {added:?}"
        );
        run
    }

    /// Runs `args`, which clap must refuse as a usage error (exit 2, `says` on stderr)
    /// before anything runs: nothing changes and nothing is logged.
    fn refuses_usage(&self, args: &[&str], says: &str) -> Run {
        let (run, added) = self.changing_nothing(self.command().args(args));
        assert_eq!(run.status, 2, "{args:?} is a usage error: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(added.is_empty(), "a usage error logs nothing: {added:?}");
        run
    }
}

fn digest_b64(message: &[u8]) -> String {
    b64(&Sha256::digest(message))
}

#[test]
fn create_describe_and_version_every_spec() {
    for ks in crate::common::postgres::both() {
        for spec in SPECS {
            let created = ks.ok(&[
                "kms",
                "create-key",
                "--key-spec",
                spec,
                "--key-usage",
                "SIGN/VERIFY",
                "--description",
                "a b+c/d=~é",
            ]);
            let meta = &created["KeyMetadata"];
            assert!(created["RequestId"].as_str().unwrap().len() == 36);
            assert_eq!(meta["KeySpec"], *spec);
            assert_eq!(meta["KeyUsage"], "SIGN/VERIFY");
            assert_eq!(meta["KeyState"], "Enabled");
            assert_eq!(meta["Description"], "a b+c/d=~é");
            assert_eq!(meta["Origin"], "Aliyun_KMS");
            assert_eq!(meta["AutomaticRotation"], "Disabled");
            assert!(meta.get("DeleteDate").is_none());
            let key_id = meta["KeyId"].as_str().unwrap();
            assert_eq!(meta["Arn"], format!("acs:kms:local:0:key/{key_id}"));
            let date = meta["CreationDate"].as_str().unwrap();
            assert!(date.len() == 20 && date.ends_with('Z') && date.as_bytes()[10] == b'T', "{date}");

            let described = ks.ok(&["kms", "describe-key", "--key-id", key_id]);
            assert_eq!(described["KeyMetadata"], *meta);
            let by_arn = ks.ok(&["kms", "describe-key", "--key-id", meta["Arn"].as_str().unwrap()]);
            assert_eq!(by_arn["KeyMetadata"]["KeyId"], key_id);

            let first = meta["PrimaryKeyVersion"].as_str().unwrap();
            let second = ks.new_version(key_id);
            assert_ne!(first, second);
            let version = ks.ok(&["kms", "describe-key-version", "--key-id", key_id, "--key-version-id", &second]);
            assert_eq!(version["KeyVersion"]["KeyId"], key_id);
            assert_eq!(version["KeyVersion"]["KeyVersionId"], second);
            let listed = ks.ok(&["kms", "list-key-versions", "--key-id", key_id]);
            assert_eq!(listed["TotalCount"], 2);
            let ids: Vec<&str> = listed["KeyVersions"]["KeyVersion"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["KeyVersionId"].as_str().unwrap())
                .collect();
            assert_eq!(ids, vec![first, second.as_str()], "oldest first");
            assert_eq!(
                ks.ok(&["kms", "describe-key", "--key-id", key_id])["KeyMetadata"]["PrimaryKeyVersion"],
                first,
                "the first version stays the reported one"
            );
        }
    }
}

#[test]
fn sign_and_verify_with_two_versions_every_spec_and_algorithm() {
    for ks in crate::common::postgres::both() {
        let digest = digest_b64(b"release v1");
        let other = digest_b64(b"release v2");
        for spec in SPECS {
            let (key_id, v1) = ks.create_key(spec, "SIGN/VERIFY");
            for algorithm in sign_algorithms(spec) {
                let sign = |version: &str| {
                    let signed = ks.ok(&[
                        "kms",
                        "asymmetric-sign",
                        "--key-id",
                        &key_id,
                        "--key-version-id",
                        version,
                        "--algorithm",
                        algorithm,
                        "--digest",
                        &digest,
                    ]);
                    assert_eq!(signed["KeyId"], key_id.as_str());
                    assert_eq!(signed["KeyVersionId"], version);
                    signed["Value"].as_str().unwrap().to_string()
                };
                let verify = |version: &str, value: &str, digest: &str| {
                    let run = ks.run(&[
                        "kms",
                        "asymmetric-verify",
                        "--key-id",
                        &key_id,
                        "--key-version-id",
                        version,
                        "--algorithm",
                        algorithm,
                        "--digest",
                        digest,
                        "--value",
                        value,
                    ]);
                    let valid = run.json()["Value"].as_bool().expect("Value is a JSON boolean");
                    assert_eq!(run.status, if valid { 0 } else { 1 }, "exit 1 exactly when the signature is not valid");
                    valid
                };
                let sig1 = sign(&v1);
                let v2 = ks.new_version(&key_id);
                let sig2 = sign(&v2);
                assert!(
                    verify(&v1, &sig1, &digest),
                    "{spec} {algorithm}: version 1 still verifies after version 2 exists"
                );
                assert!(verify(&v2, &sig2, &digest), "{spec} {algorithm}: version 2 verifies");
                assert!(!verify(&v2, &sig1, &digest), "{spec} {algorithm}: a version 1 signature is not version 2's");
                assert!(!verify(&v1, &sig1, &other), "{spec} {algorithm}: another digest");
                let truncated = b64(&STANDARD.decode(&sig1).unwrap()[..20]);
                assert!(!verify(&v1, &truncated, &digest), "{spec} {algorithm}: a truncated signature");
            }
        }
    }
}

#[test]
fn digest_can_be_hex_or_hashed_from_a_file() {
    let ks = Keyseal::new();
    let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let file = ks.file("artifact.bin");
    std::fs::write(&file, b"artifact bytes").unwrap();
    let sig = ks.file("artifact.sig");
    ks.sign_file(&key_id, &version, "ECDSA_SHA_256", &file, &sig);
    let hex_digest = hex::encode(Sha256::digest(b"artifact bytes"));
    let common =
        ["kms", "asymmetric-verify", "--key-id", &key_id, "--key-version-id", &version, "--algorithm", "ECDSA_SHA_256"];
    let with = |extra: &[&str]| {
        let mut args = common.to_vec();
        args.extend_from_slice(extra);
        ks.ok(&args)["Value"].as_bool().unwrap()
    };
    assert!(with(&["--digest", &hex_digest, "--hex", "--value-file", sig.to_str().unwrap()]));
    assert!(with(&["--file", file.to_str().unwrap(), "--value-file", sig.to_str().unwrap()]));
    assert!(with(&["--digest", &digest_b64(b"artifact bytes"), "--value", &b64(&std::fs::read(&sig).unwrap())]));
    ks.refuses(
        &[
            "kms",
            "asymmetric-sign",
            "--key-id",
            &key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            "ECDSA_SHA_256",
            "--digest",
            "zz",
            "--hex",
        ],
        "InvalidParameter",
    );
    ks.refuses(
        &[
            "kms",
            "asymmetric-sign",
            "--key-id",
            &key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            "ECDSA_SHA_256",
            "--digest",
            "!!",
        ],
        "InvalidParameter",
    );
    ks.refuses(
        &[
            "kms",
            "asymmetric-sign",
            "--key-id",
            &key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            "ECDSA_SHA_256",
            "--file",
            "/nonexistent",
        ],
        "InvalidParameter",
    );
}

#[test]
fn encrypt_and_decrypt_both_algorithms() {
    for ks in crate::common::postgres::both() {
        let (key_id, version) = ks.create_key("RSA_2048", "ENCRYPT/DECRYPT");
        for (algorithm, max) in [("RSAES_OAEP_SHA_256", 190), ("RSAES_OAEP_SHA_1", 214)] {
            let plaintext = vec![0x5a; max];
            let encrypted = ks.ok(&[
                "kms",
                "asymmetric-encrypt",
                "--key-id",
                &key_id,
                "--key-version-id",
                &version,
                "--algorithm",
                algorithm,
                "--plaintext",
                &b64(&plaintext),
            ]);
            let blob = encrypted["CiphertextBlob"].as_str().unwrap();
            assert_eq!(STANDARD.decode(blob).unwrap().len(), 256);
            let decrypted = ks.ok(&[
                "kms",
                "asymmetric-decrypt",
                "--key-id",
                &key_id,
                "--key-version-id",
                &version,
                "--algorithm",
                algorithm,
                "--ciphertext-blob",
                blob,
            ]);
            assert_eq!(decrypted["Plaintext"], b64(&plaintext));
            let too_long = b64(&vec![0x5a; max + 1]);
            ks.refuses(
                &[
                    "kms",
                    "asymmetric-encrypt",
                    "--key-id",
                    &key_id,
                    "--key-version-id",
                    &version,
                    "--algorithm",
                    algorithm,
                    "--plaintext",
                    &too_long,
                ],
                "InvalidParameter",
            );
        }
        // Files in, file out: the plaintext goes to the file only.
        let secret = ks.file("secret.txt");
        std::fs::write(&secret, b"db password").unwrap();
        let (blob, opened) = (ks.file("secret.enc"), ks.file("secret.out"));
        ks.ok(&[
            "kms",
            "asymmetric-encrypt",
            "--key-id",
            &key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            "RSAES_OAEP_SHA_256",
            "--plaintext-file",
            secret.to_str().unwrap(),
            "--out",
            blob.to_str().unwrap(),
        ]);
        let printed = ks.ok(&[
            "kms",
            "asymmetric-decrypt",
            "--key-id",
            &key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            "RSAES_OAEP_SHA_256",
            "--ciphertext-file",
            blob.to_str().unwrap(),
            "--out",
            opened.to_str().unwrap(),
        ]);
        assert!(printed.get("Plaintext").is_none(), "with --out the plaintext is not printed");
        assert_eq!(std::fs::read(&opened).unwrap(), b"db password");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&opened).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // The wrong algorithm, or a damaged blob, does not decrypt.
        let blob_b64 = b64(&std::fs::read(&blob).unwrap());
        ks.refuses(
            &[
                "kms",
                "asymmetric-decrypt",
                "--key-id",
                &key_id,
                "--key-version-id",
                &version,
                "--algorithm",
                "RSAES_OAEP_SHA_1",
                "--ciphertext-blob",
                &blob_b64,
            ],
            "InvalidParameter",
        );
        let mut damaged = std::fs::read(&blob).unwrap();
        damaged[100] ^= 1;
        ks.refuses(
            &[
                "kms",
                "asymmetric-decrypt",
                "--key-id",
                &key_id,
                "--key-version-id",
                &version,
                "--algorithm",
                "RSAES_OAEP_SHA_256",
                "--ciphertext-blob",
                &b64(&damaged),
            ],
            "InvalidParameter",
        );
    }
}

/// Regression (issue 13 item 7): encrypt and decrypt read raw files with
/// `--plaintext-file` and `--ciphertext-file`, since on sign and verify `--file` means
/// "hash this file"; the old `--file` spelling still works but is no longer shown.
#[test]
fn encrypt_and_decrypt_name_their_raw_file_flags_and_still_take_the_old_file() {
    let ks = Keyseal::new();
    let (key_id, version) = ks.create_key("RSA_2048", "ENCRYPT/DECRYPT");
    let (secret, blob, opened) = (ks.file("secret.txt"), ks.file("secret.enc"), ks.file("secret.out"));
    std::fs::write(&secret, b"db password").unwrap();
    let key = ["--key-id", &key_id, "--key-version-id", &version, "--algorithm", "RSAES_OAEP_SHA_256"];
    let run = |action: &str, rest: &[&str]| {
        let mut args = vec!["kms", action];
        args.extend(key);
        args.extend(rest);
        ks.ok(&args)
    };
    run("asymmetric-encrypt", &["--file", secret.to_str().unwrap(), "--out", blob.to_str().unwrap()]);
    run("asymmetric-decrypt", &["--file", blob.to_str().unwrap(), "--out", opened.to_str().unwrap()]);
    assert_eq!(std::fs::read(&opened).unwrap(), b"db password");
    for (action, flag) in [("asymmetric-encrypt", "--plaintext-file"), ("asymmetric-decrypt", "--ciphertext-file")] {
        let help = ks.run(&["kms", action, "--help"]).stdout;
        assert!(help.contains(&format!("{flag} <FILE>")), "kms {action} --help lacks {flag}:\n{help}");
        assert!(!help.contains("--file"), "kms {action} --help still shows --file:\n{help}");
    }
    ks.refuses_usage(
        &["kms", "asymmetric-decrypt", "--key-id", &key_id, "--key-version-id", &version],
        "--ciphertext-file",
    );
}

#[test]
fn aliases_name_keys_everywhere() {
    for ks in crate::common::postgres::both() {
        let (first, v1) = ks.create_key("EC_P256", "SIGN/VERIFY");
        let (second, v2) = ks.create_key("EC_P256K", "SIGN/VERIFY");
        ks.ok(&["kms", "create-alias", "--alias-name", "alias/release", "--key-id", &first]);
        ks.refuses(
            &["kms", "create-alias", "--alias-name", "alias/release", "--key-id", &second],
            "AliasAlreadyExists",
        );
        for bad in ["release", "alias/", "alias/acs-x", "alias/a b"] {
            ks.refuses(&["kms", "create-alias", "--alias-name", bad, "--key-id", &first], "InvalidParameter");
        }
        let signed = ks.ok(&[
            "kms",
            "asymmetric-sign",
            "--key-id",
            "alias/release",
            "--key-version-id",
            &v1,
            "--algorithm",
            "ECDSA_SHA_256",
            "--digest",
            &digest_b64(b"x"),
        ]);
        assert_eq!(signed["KeyId"], first.as_str(), "responses name the real KeyId");
        let public = ks.ok(&["kms", "get-public-key", "--key-id", "alias/release", "--key-version-id", &v1]);
        assert_eq!(public["KeyId"], first.as_str());
        assert_eq!(
            ks.ok(&["kms", "describe-key", "--key-id", "acs:kms:cn-hangzhou:123:alias/release"])["KeyMetadata"]["KeyId"],
            first.as_str()
        );

        ks.ok(&["kms", "update-alias", "--alias-name", "alias/release", "--key-id", &second]);
        assert_eq!(
            ks.ok(&["kms", "describe-key", "--key-id", "alias/release"])["KeyMetadata"]["KeyId"],
            second.as_str()
        );
        // v1 belongs to the first key.
        ks.refuses(
            &["kms", "get-public-key", "--key-id", "alias/release", "--key-version-id", &v1],
            "Forbidden.KeyVersionNotFound",
        );
        ks.ok(&["kms", "get-public-key", "--key-id", "alias/release", "--key-version-id", &v2]);
        ks.refuses(
            &["kms", "update-alias", "--alias-name", "alias/nope", "--key-id", &second],
            "Forbidden.AliasNotFound",
        );

        ks.ok(&["kms", "create-alias", "--alias-name", "alias/a-first", "--key-id", &first]);
        let listed = ks.ok(&["kms", "list-aliases"]);
        assert_eq!(listed["TotalCount"], 2);
        let aliases = listed["Aliases"]["Alias"].as_array().unwrap();
        assert_eq!(aliases[0]["AliasName"], "alias/a-first");
        assert_eq!(aliases[0]["AliasArn"], "acs:kms:local:0:alias/a-first");
        assert_eq!(aliases[1]["KeyId"], second.as_str());

        ks.ok(&["kms", "delete-alias", "--alias-name", "alias/release"]);
        ks.refuses(&["kms", "delete-alias", "--alias-name", "alias/release"], "Forbidden.AliasNotFound");
        ks.refuses(&["kms", "describe-key", "--key-id", "alias/release"], "Forbidden.AliasNotFound");
        ks.ok(&["kms", "describe-key", "--key-id", &second]);
    }
}

#[test]
fn disabled_and_pending_deletion_keys_are_refused() {
    for ks in crate::common::postgres::both() {
        let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
        let digest = digest_b64(b"x");
        let sign = [
            "kms",
            "asymmetric-sign",
            "--key-id",
            &key_id,
            "--key-version-id",
            &version,
            "--algorithm",
            "ECDSA_SHA_256",
            "--digest",
            &digest,
        ];
        let public = ["kms", "get-public-key", "--key-id", &key_id, "--key-version-id", &version];
        let state = || {
            ks.ok(&["kms", "describe-key", "--key-id", &key_id])["KeyMetadata"]["KeyState"]
                .as_str()
                .unwrap()
                .to_string()
        };

        ks.ok(&["kms", "disable-key", "--key-id", &key_id]);
        assert_eq!(state(), "Disabled");
        let refused = ks.refuses(&sign, "Rejected.Disabled");
        assert!(refused.error()["Message"].as_str().unwrap().contains("EnableKey"), "the message says what to do");
        assert_eq!(refused.error()["RequestId"].as_str().unwrap().len(), 36);
        ks.refuses(&public, "Rejected.Disabled");
        ks.refuses(&["kms", "create-key-version", "--key-id", &key_id], "Rejected.Disabled");
        ks.ok(&["kms", "list-key-versions", "--key-id", &key_id]);
        ks.ok(&["kms", "enable-key", "--key-id", &key_id]);
        ks.ok(&["kms", "enable-key", "--key-id", &key_id]);
        assert_eq!(ks.run(&sign).status, 0);

        for days in ["6", "367", "0"] {
            ks.refuses(
                &["kms", "schedule-key-deletion", "--key-id", &key_id, "--pending-window-in-days", days],
                "InvalidParameter",
            );
        }
        assert_eq!(state(), "Enabled", "a refused schedule changes nothing");
        ks.ok(&["kms", "schedule-key-deletion", "--key-id", &key_id, "--pending-window-in-days", "7"]);
        let meta = ks.ok(&["kms", "describe-key", "--key-id", &key_id])["KeyMetadata"].clone();
        assert_eq!(meta["KeyState"], "PendingDeletion");
        assert!(meta["DeleteDate"].as_str().unwrap() > meta["CreationDate"].as_str().unwrap());
        ks.refuses(&sign, "Rejected.PendingDeletion");
        ks.refuses(&public, "Rejected.PendingDeletion");
        ks.refuses(&["kms", "enable-key", "--key-id", &key_id], "Rejected.StateModifiedFailed");
        ks.refuses(&["kms", "disable-key", "--key-id", &key_id], "Rejected.StateModifiedFailed");
        ks.refuses(
            &["kms", "schedule-key-deletion", "--key-id", &key_id, "--pending-window-in-days", "30"],
            "Rejected.StateModifiedFailed",
        );
        ks.refuses(
            &["kms", "create-alias", "--alias-name", "alias/doomed", "--key-id", &key_id],
            "Rejected.PendingDeletion",
        );
        ks.ok(&["kms", "cancel-key-deletion", "--key-id", &key_id]);
        assert_eq!(state(), "Enabled");
        assert!(ks.ok(&["kms", "describe-key", "--key-id", &key_id])["KeyMetadata"].get("DeleteDate").is_none());
        ks.refuses(&["kms", "cancel-key-deletion", "--key-id", &key_id], "Rejected.StateModifiedFailed");
        assert_eq!(ks.run(&sign).status, 0);
    }
}

#[test]
fn unknown_keys_versions_and_mismatched_algorithms_are_refused() {
    for ks in crate::common::postgres::both() {
        let (rsa_sign, rsa_sign_v) = ks.create_key("RSA_2048", "SIGN/VERIFY");
        let (rsa_enc, rsa_enc_v) = ks.create_key("RSA_2048", "ENCRYPT/DECRYPT");
        let (ec, ec_v) = ks.create_key("EC_P256K", "SIGN/VERIFY");
        let digest = digest_b64(b"x");
        // An AsymmetricSign of `digest` with (key, version, algorithm), refused with `code`.
        let sign_refused = |key: &str, version: &str, algorithm: &str, digest: &str, code: &str| {
            ks.refuses(
                &[
                    "kms",
                    "asymmetric-sign",
                    "--key-id",
                    key,
                    "--key-version-id",
                    version,
                    "--algorithm",
                    algorithm,
                    "--digest",
                    digest,
                ],
                code,
            )
        };
        sign_refused("00000000-0000-4000-8000-000000000000", &ec_v, "ECDSA_SHA_256", &digest, "Forbidden.KeyNotFound");
        sign_refused(
            &ec,
            "00000000-0000-4000-8000-000000000000",
            "ECDSA_SHA_256",
            &digest,
            "Forbidden.KeyVersionNotFound",
        );
        // Another key's version.
        sign_refused(&ec, &rsa_sign_v, "ECDSA_SHA_256", &digest, "Forbidden.KeyVersionNotFound");
        sign_refused("alias/missing", &ec_v, "ECDSA_SHA_256", &digest, "Forbidden.AliasNotFound");
        let message = sign_refused(&ec, &ec_v, "RSA_PSS_SHA_256", &digest, "Rejected.UnsupportedOperation").error();
        sign_refused(&rsa_sign, &rsa_sign_v, "ECDSA_SHA_256", &digest, "Rejected.UnsupportedOperation");
        // An encryption key does not sign.
        sign_refused(&rsa_enc, &rsa_enc_v, "RSA_PKCS1_SHA_256", &digest, "Rejected.UnsupportedOperation");
        sign_refused(&ec, &ec_v, "ECDSA_SHA_256", &b64(&[0u8; 31]), "InvalidParameter");
        sign_refused(&ec, &ec_v, "ECDSA_SHA_256", &b64(&[0u8; 33]), "InvalidParameter");
        assert!(
            message["Message"].as_str().unwrap().contains("ECDSA_SHA_256"),
            "the refusal names the algorithm that fits"
        );
        // A signing key does not encrypt.
        ks.refuses(
            &[
                "kms",
                "asymmetric-encrypt",
                "--key-id",
                &rsa_sign,
                "--key-version-id",
                &rsa_sign_v,
                "--algorithm",
                "RSAES_OAEP_SHA_256",
                "--plaintext",
                "aGk=",
            ],
            "Rejected.UnsupportedOperation",
        );
        for (spec, usage) in [("EC_P256", "ENCRYPT/DECRYPT"), ("EC_P256K", "ENCRYPT/DECRYPT")] {
            ks.refuses(
                &["kms", "create-key", "--key-spec", spec, "--key-usage", usage],
                "Rejected.UnsupportedOperation",
            );
        }
        // clap refuses names outside the API's vocabulary before anything runs.
        ks.refuses_usage(&["kms", "create-key", "--key-spec", "RSA_4096", "--key-usage", "SIGN/VERIFY"], "RSA_2048");
        ks.refuses(
            &["kms", "describe-key-version", "--key-id", &ec, "--key-version-id", "nope"],
            "Forbidden.KeyVersionNotFound",
        );
        ks.refuses(&["kms", "list-key-versions", "--key-id", "nope"], "Forbidden.KeyNotFound");
        // Nothing above created or changed a key.
        assert_eq!(ks.ok(&["kms", "list-keys"])["TotalCount"], 3);
    }
}

#[test]
fn listing_pages() {
    for ks in crate::common::postgres::both() {
        let ids: Vec<String> = (0..3).map(|_| ks.create_key("EC_P256K", "SIGN/VERIFY").0).collect();
        let page = |n: &str| ks.ok(&["kms", "list-keys", "--page-number", n, "--page-size", "2"]);
        let first = page("1");
        assert_eq!(
            (first["TotalCount"].as_u64(), first["PageNumber"].as_u64(), first["PageSize"].as_u64()),
            (Some(3), Some(1), Some(2))
        );
        let keys: Vec<&str> =
            first["Keys"]["Key"].as_array().unwrap().iter().map(|k| k["KeyId"].as_str().unwrap()).collect();
        assert_eq!(keys, vec![ids[0].as_str(), ids[1].as_str()]);
        assert_eq!(first["Keys"]["Key"][0]["KeyArn"], format!("acs:kms:local:0:key/{}", ids[0]));
        assert_eq!(page("2")["Keys"]["Key"].as_array().unwrap().len(), 1);
        assert_eq!(page("3")["Keys"]["Key"].as_array().unwrap().len(), 0);
        for (number, size) in [("0", "10"), ("1", "0"), ("1", "101")] {
            ks.refuses(&["kms", "list-keys", "--page-number", number, "--page-size", size], "InvalidParameter");
        }
        let versions =
            ks.ok(&["kms", "list-key-versions", "--key-id", &ids[0], "--page-size", "1", "--page-number", "2"]);
        assert_eq!(versions["KeyVersions"]["KeyVersion"].as_array().unwrap().len(), 0);
        assert_eq!(versions["TotalCount"], 1);
    }
}

#[test]
fn passphrase_rules() {
    let ks = Keyseal::new();
    let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let digest = digest_b64(b"x");
    let sign = [
        "kms",
        "asymmetric-sign",
        "--key-id",
        &key_id,
        "--key-version-id",
        &version,
        "--algorithm",
        "ECDSA_SHA_256",
        "--digest",
        &digest,
    ];
    let wrong = ks.refuses_with(
        ks.command().env("KEYSEAL_PASSPHRASE", "not the passphrase").args(sign),
        "Keyseal.WrongPassphrase",
    );
    assert!(!wrong.stderr.contains("not the passphrase"), "the passphrase is never printed");
    ks.refuses_with(ks.command().env_remove("KEYSEAL_PASSPHRASE").args(sign), "Keyseal.PassphraseRequired");
    // Operations without a private key need no passphrase.
    let public: Run = ks
        .command()
        .env_remove("KEYSEAL_PASSPHRASE")
        .args(["kms", "get-public-key", "--key-id", &key_id, "--key-version-id", &version])
        .output()
        .unwrap()
        .into();
    assert_eq!(public.status, 0, "{}", public.stderr);
    // A new store refuses a short passphrase before locking itself with it.
    let fresh = Keyseal::new();
    let short: Run = fresh
        .command()
        .env("KEYSEAL_PASSPHRASE", "short")
        .args(["kms", "create-key", "--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"])
        .output()
        .unwrap()
        .into();
    assert_eq!((short.status, short.code().as_str()), (2, "Keyseal.PassphraseRequired"));
    // It changed nothing: the store holds no key and is not locked with the refused
    // passphrase, so the test passphrase locks it now.
    assert_eq!(fresh.ok(&["kms", "list-keys"])["TotalCount"], 0);
    fresh.create_key("EC_P256", "SIGN/VERIFY");
}

#[test]
fn a_new_store_derives_its_key_with_the_default_argon2id_unless_keyseal_kdf_says_otherwise() {
    let create = ["kms", "create-key", "--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"];
    let default = Keyseal::new();
    let run: Run = default.command().env_remove("KEYSEAL_KDF").args(create).output().unwrap().into();
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(default.meta("kdf_params"), "argon2id m=65536 t=3 p=1");
    // A store keeps its own parameters whatever KEYSEAL_KDF says later.
    default.ok(&create);
    assert_eq!(default.meta("kdf_params"), "argon2id m=65536 t=3 p=1");

    let tuned = Keyseal::new();
    let run: Run = tuned.command().env("KEYSEAL_KDF", "m=131072, t=2").args(create).output().unwrap().into();
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(tuned.meta("kdf_params"), "argon2id m=131072 t=2 p=1", "an omitted field is the default");
    assert_eq!(tuned.ok(&["kms", "list-keys"])["TotalCount"], 1, "and it unlocks with them");

    // Out of bounds or unreadable: refused before the store is made, naming the bounds.
    for bad in ["m=1024", "t=9", "p=0", "m=65536,x=1", "m=lots", "fast"] {
        let refused = Keyseal::new();
        let run: Run = refused.command().env("KEYSEAL_KDF", bad).args(create).output().unwrap().into();
        assert_eq!((run.status, run.code().as_str()), (2, "InvalidParameter"), "{bad}: {}", run.stderr);
        assert!(run.stderr.contains("m=8192..=262144, t=1..=8, p=1..=4"), "{bad}: {}", run.stderr);
        assert!(!refused.store().exists(), "{bad}: the store was made");
    }
    // Nor is a value that is not text taken for unset.
    let refused = Keyseal::new();
    let binary = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"m=\xff");
    let run: Run = refused.command().env("KEYSEAL_KDF", binary).args(create).output().unwrap().into();
    assert_eq!((run.status, run.code().as_str()), (2, "InvalidParameter"), "{}", run.stderr);
    assert!(!refused.store().exists(), "the store was made");
}

#[test]
fn a_key_file_locks_the_store_instead_of_a_passphrase() {
    let ks = Keyseal::new();
    let key_file = ks.file("kek");
    std::fs::write(&key_file, "c2VjcmV0IGtleSBtYXRlcmlhbCBmb3Iga2V5c2VhbCB0ZXN0cw==\n").unwrap();
    let with_file = |args: &[&str]| -> Run {
        ks.command()
            .env_remove("KEYSEAL_PASSPHRASE")
            .arg("--key-file")
            .arg(&key_file)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let created = with_file(&["kms", "create-key", "--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"]);
    assert_eq!(created.status, 0, "{}", created.stderr);
    let meta = created.json()["KeyMetadata"].clone();
    let (key_id, version) = (meta["KeyId"].as_str().unwrap(), meta["PrimaryKeyVersion"].as_str().unwrap());
    let signed = with_file(&[
        "kms",
        "asymmetric-sign",
        "--key-id",
        key_id,
        "--key-version-id",
        version,
        "--algorithm",
        "ECDSA_SHA_256",
        "--digest",
        &digest_b64(b"x"),
    ]);
    assert_eq!(signed.status, 0, "{}", signed.stderr);
    ks.refuses(
        &[
            "kms",
            "asymmetric-sign",
            "--key-id",
            key_id,
            "--key-version-id",
            version,
            "--algorithm",
            "ECDSA_SHA_256",
            "--digest",
            &digest_b64(b"x"),
        ],
        "Keyseal.WrongPassphrase",
    );
    std::fs::write(&key_file, "short").unwrap();
    ks.refuses_with(
        ks.command().env_remove("KEYSEAL_PASSPHRASE").arg("--key-file").arg(&key_file).args([
            "kms",
            "asymmetric-sign",
            "--key-id",
            key_id,
            "--key-version-id",
            version,
            "--algorithm",
            "ECDSA_SHA_256",
            "--digest",
            &digest_b64(b"x"),
        ]),
        "Keyseal.PassphraseRequired",
    );
}

/// Regression (issue 13 item 8): a global flag set through its variable is a default, not
/// something typed, so a usage error does not print it in the usage line as if it were
/// required (`Usage: keyseal kms create-key ... --store <DIR>`); and the variables still
/// take effect, with a flag on the command line winning over them.
#[test]
fn usage_errors_do_not_show_global_flags_set_by_their_variables_as_required() {
    let ks = Keyseal::new();
    let key_file = ks.file("kek");
    std::fs::write(&key_file, "c2VjcmV0IGtleSBtYXRlcmlhbCBmb3Iga2V5c2VhbCB0ZXN0cw==\n").unwrap();
    let run = |command: &mut Command, args: &[&str]| -> Run { command.args(args).output().unwrap().into() };
    let with_variables = || {
        let mut command = ks.command();
        command
            .env("KEYSEAL_KEY_FILE", &key_file)
            .env("KEYSEAL_ENDPOINT", "http://127.0.0.1:9")
            .env("KEYSEAL_ENDPOINT_CA", ks.file("ca.pem"));
        command
    };
    let usage_error = run(&mut with_variables(), &["kms", "create-key"]);
    assert_eq!(usage_error.status, 2, "{}", usage_error.stderr);
    // It changed nothing: no store was made (this test needs the store to be made below,
    // by the key file, so it is not listed to compare).
    assert!(!ks.store().join("keyseal.db").exists(), "a usage error makes no store");
    let usage = usage_error.stderr.lines().find(|l| l.starts_with("Usage:")).expect("a usage line");
    assert_eq!(usage, "Usage: keyseal kms create-key --key-spec <KEY_SPEC> --key-usage <KEY_USAGE>");
    // The help shows the global flags apart from the command's own, and names each variable.
    let help = run(&mut with_variables(), &["kms", "create-key", "--help"]).stdout;
    let global = help.split("Global options:").nth(1).expect("a Global options heading");
    for (flag, variable) in [
        ("--store", "KEYSEAL_STORE"),
        ("--key-file", "KEYSEAL_KEY_FILE"),
        ("--endpoint <URL>", "KEYSEAL_ENDPOINT"),
        ("--endpoint-ca", "KEYSEAL_ENDPOINT_CA"),
    ] {
        assert!(
            global.contains(flag) && global.contains(variable),
            "{flag} / {variable} not under Global options:\n{help}"
        );
    }
    // KEYSEAL_KEY_FILE and KEYSEAL_STORE still apply: the store is created locked by the key file.
    let created = run(
        ks.command().env_remove("KEYSEAL_PASSPHRASE").env("KEYSEAL_KEY_FILE", &key_file),
        &["kms", "create-key", "--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"],
    );
    assert_eq!(created.status, 0, "{}", created.stderr);
    assert!(ks.store().join("keyseal.db").is_file());
    // --store on the command line wins over KEYSEAL_STORE.
    let elsewhere = ks.file("other-store");
    let listed = run(&mut ks.command(), &["--store", elsewhere.to_str().unwrap(), "kms", "list-keys"]);
    assert_eq!(listed.json()["TotalCount"], 0, "{}", listed.stderr);
}

#[test]
fn every_command_teaches_with_an_example() {
    let ks = Keyseal::new();
    let actions = [
        "create-key",
        "create-key-version",
        "describe-key",
        "describe-key-version",
        "list-keys",
        "list-key-versions",
        "create-alias",
        "update-alias",
        "delete-alias",
        "list-aliases",
        "enable-key",
        "disable-key",
        "schedule-key-deletion",
        "cancel-key-deletion",
        "get-public-key",
        "asymmetric-sign",
        "asymmetric-verify",
        "asymmetric-encrypt",
        "asymmetric-decrypt",
    ];
    for action in actions {
        let help = ks.run(&["kms", action, "--help"]);
        assert_eq!(help.status, 0);
        assert!(help.stdout.contains("Example"), "kms {action} --help has no example");
        assert!(help.stdout.contains(&format!("keyseal kms {action}")), "kms {action} --help shows no command");
    }
    for command in [vec!["audit", "verify"], vec!["audit", "list"], vec!["demo"]] {
        let mut args = command.clone();
        args.push("--help");
        assert!(ks.run(&args).stdout.contains("Example"), "{command:?} --help has no example");
    }
}

/// Regression (issue 12): the store is created 0700 with its files 0600 even under
/// `umask 000`, and a store open to group or others is refused, naming the `chmod` to
/// run, before anything is read or written.
#[test]
fn the_store_is_private_whatever_the_umask_and_an_open_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let ks = Keyseal::new();
    let mut keyseal = ks.command();
    keyseal.args(["kms", "create-key", "--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"]);
    // The same command under `umask 000`, set by a shell that then becomes keyseal.
    let mut command = Command::new("sh");
    command.args(["-c", "umask 000 && exec \"$0\" \"$@\""]).arg(keyseal.get_program()).args(keyseal.get_args());
    for (name, value) in keyseal.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    if let Some(dir) = keyseal.get_current_dir() {
        command.current_dir(dir);
    }
    let created = command.output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&ks.store()), 0o700);
    let files: Vec<_> = std::fs::read_dir(ks.store()).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(files.iter().any(|f| f.ends_with("keyseal.db")), "{files:?}");
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let before = std::fs::read(ks.store().join("keyseal.db")).unwrap();

    for (path, open, wanted) in [(ks.store(), 0o755, "chmod 700"), (ks.store().join("keyseal.db"), 0o644, "chmod 600")]
    {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(open)).unwrap();
        // Not `refuses`: listing the store to compare is what is refused here; the bytes
        // of the database are compared instead.
        let refused = ks.run(&["kms", "list-keys"]);
        assert_eq!((refused.status, refused.code().as_str()), (2, "Keyseal.StoreUnprotected"));
        let message = refused.error()["Message"].as_str().unwrap().to_string();
        assert!(message.contains(&format!("{wanted} {}", path.display())), "{message}");
        assert_eq!(std::fs::read(ks.store().join("keyseal.db")).unwrap(), before, "a refusal changes nothing");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(if open == 0o755 { 0o700 } else { 0o600 }))
            .unwrap();
    }
    assert_eq!(ks.ok(&["kms", "list-keys"])["TotalCount"], 1);
}
