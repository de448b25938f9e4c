//! `keyseal demo`: a guided tour of what works today, run for real on a store and printed
//! as the commands a user would type. Running it again on the same store works: it makes
//! new keys and moves its alias to them.

use crate::cli::{Outcome, open_local};
use crate::kms::api::*;
use crate::kms::error::{ErrorCode, KmsError};
use crate::kms::seal::SecretSource;
use crate::kms::spec::{Algorithm, KeySpec, KeyUsage};
use crate::kms::{Kms, audit};
use clap::Args;
use sha2::{Digest, Sha256};
use std::path::Path;
use zeroize::Zeroizing;

/// `keyseal demo` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  keyseal demo                                  # on the default store\n  keyseal --store /tmp/keyseal-demo demo        # on a scratch store"
)]
pub struct DemoArgs {}

const ALIAS: &str = "alias/keyseal-demo";

fn step(command: &str, result: &str) {
    println!("$ {command}\n  {result}");
}

/// Runs the tour.
pub fn run(_args: DemoArgs, store: &Path, secret: SecretSource) -> Result<Outcome, KmsError> {
    let kms = open_local(store, secret)?;
    println!("keyseal demo on the store {}\n", store.display());

    let key = kms.create_key(&CreateKeyRequest {
        key_spec: KeySpec::EcP256,
        key_usage: KeyUsage::SignVerify,
        description: "keyseal demo signing key".into(),
    })?;
    let key_id = key.key_metadata.key_id;
    let v1 = key.key_metadata.primary_key_version;
    step(
        "keyseal kms create-key --key-spec EC_P256 --key-usage SIGN/VERIFY",
        &format!("KeyId {key_id}, first version {v1}"),
    );

    let alias = AliasRequest { alias_name: ALIAS.into(), key_id: key_id.clone() };
    match kms.create_alias(&alias) {
        Err(err) if err.code == ErrorCode::AliasAlreadyExists => {
            kms.update_alias(&alias)?;
            step(
                &format!("keyseal kms update-alias --alias-name {ALIAS} --key-id {key_id}"),
                "the alias moved to the new key",
            );
        }
        other => {
            other?;
            step(
                &format!("keyseal kms create-alias --alias-name {ALIAS} --key-id {key_id}"),
                "the alias points at the key",
            );
        }
    }

    let release = b"keyseal demo release v1.0\n";
    let digest = Sha256::digest(release).to_vec();
    let sign = |version: &str| {
        kms.asymmetric_sign(&SignRequest {
            key_id: ALIAS.into(),
            key_version_id: version.into(),
            algorithm: Algorithm::EcdsaSha256,
            digest: digest.clone(),
        })
    };
    let verify = |version: &str, value: &[u8], digest: &[u8]| {
        kms.asymmetric_verify(&VerifyRequest {
            key_id: ALIAS.into(),
            key_version_id: version.into(),
            algorithm: Algorithm::EcdsaSha256,
            digest: digest.to_vec(),
            value: value.to_vec(),
        })
        .map(|r| r.value)
    };
    let signature_v1 = sign(&v1)?.value;
    step(
        &format!(
            "keyseal kms asymmetric-sign --key-id {ALIAS} --key-version-id {v1} --algorithm ECDSA_SHA_256 --file release.txt --out release.sig"
        ),
        &format!("{}-byte DER ECDSA signature", signature_v1.len()),
    );

    let v2 = kms.create_key_version(&KeyIdRequest { key_id: ALIAS.into() })?.key_version.key_version_id;
    step(
        &format!("keyseal kms create-key-version --key-id {ALIAS}"),
        &format!("new version {v2}; version {v1} stays usable"),
    );
    let signature_v2 = sign(&v2)?.value;
    step(&format!("keyseal kms asymmetric-sign --key-id {ALIAS} --key-version-id {v2} ..."), "signed with version 2");

    let checks = [
        (format!("version 1 signature with version 1 ({v1})"), verify(&v1, &signature_v1, &digest)?, true),
        (format!("version 2 signature with version 2 ({v2})"), verify(&v2, &signature_v2, &digest)?, true),
        ("version 1 signature with version 2".to_string(), verify(&v2, &signature_v1, &digest)?, false),
        (
            "version 1 signature over a tampered release".to_string(),
            verify(&v1, &signature_v1, &Sha256::digest(b"tampered"))?,
            false,
        ),
    ];
    for (what, valid, expected) in &checks {
        step(
            &format!("keyseal kms asymmetric-verify ...  # {what}"),
            if *valid { "Value: true" } else { "Value: false (caught)" },
        );
        if valid != expected {
            return Err(KmsError::internal(format!("demo check failed: {what}")));
        }
    }
    let public = kms.get_public_key(&KeyVersionRequest { key_id: ALIAS.into(), key_version_id: v1.clone() })?;
    step(
        &format!("keyseal kms get-public-key --key-id {ALIAS} --key-version-id {v1} --out pub.pem"),
        &format!(
            "{} then: openssl dgst -sha256 -verify pub.pem -signature release.sig release.txt",
            public.public_key.lines().next().unwrap_or("")
        ),
    );

    let secrets = kms.create_key(&CreateKeyRequest {
        key_spec: KeySpec::Rsa2048,
        key_usage: KeyUsage::EncryptDecrypt,
        description: "keyseal demo encryption key".into(),
    })?;
    let (secrets_id, secrets_version) = (secrets.key_metadata.key_id, secrets.key_metadata.primary_key_version);
    step("keyseal kms create-key --key-spec RSA_2048 --key-usage ENCRYPT/DECRYPT", &format!("KeyId {secrets_id}"));
    let message = Zeroizing::new(b"database password".to_vec());
    let encrypted = kms.asymmetric_encrypt(&EncryptRequest {
        key_id: secrets_id.clone(),
        key_version_id: secrets_version.clone(),
        algorithm: Algorithm::RsaesOaepSha256,
        plaintext: message.clone(),
    })?;
    let decrypted = kms.asymmetric_decrypt(&DecryptRequest {
        key_id: secrets_id,
        key_version_id: secrets_version,
        algorithm: Algorithm::RsaesOaepSha256,
        ciphertext_blob: encrypted.ciphertext_blob,
    })?;
    if decrypted.plaintext != message {
        return Err(KmsError::internal("demo check failed: decryption did not give the plaintext back"));
    }
    step("keyseal kms asymmetric-encrypt ... | keyseal kms asymmetric-decrypt ...", "RSA-OAEP round trip ok");

    let report = kms.store().read(|tx| audit::verify(tx))?;
    step("keyseal audit verify", &format!("{} entries, {} problem(s)", report.entries, report.problems.len()));
    if !report.problems.is_empty() {
        return Ok(Outcome::VerificationFailed);
    }
    println!("\ndemo complete: every check passed");
    Ok(Outcome::Success)
}
