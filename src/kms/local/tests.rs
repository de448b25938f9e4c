//! LocalKms under races, deletion windows, sealing and unlocking.

use super::unlock::{KDF_PARAMS, decode_params, encode_params};
use super::*;
use crate::crypto::spec::{KeySpec, KeyUsage};
use crate::kms::seal::KdfParams;
use std::sync::atomic::{AtomicI64, Ordering};

fn passphrase(text: &str) -> SecretSource {
    SecretSource::Passphrase(Zeroizing::new(text.to_string()))
}

/// A scratch store directory only its owner can reach, as the store requires.
fn private_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new().permissions(std::fs::Permissions::from_mode(0o700)).tempdir().unwrap()
}

fn open(dir: &Path) -> LocalKms {
    LocalKms::open(dir, passphrase("correct horse battery"), "tester").unwrap()
}

fn create(kms: &LocalKms, spec: KeySpec) -> KeyMetadata {
    kms.create_key(&CreateKeyRequest {
        key_spec: spec,
        key_usage: KeyUsage::SignVerify,
        description: String::new(),
        protection_level: ProtectionLevel::Software,
    })
    .unwrap()
    .key_metadata
}

fn sign(kms: &LocalKms, key: &KeyMetadata) -> KmsResult<SignResponse> {
    kms.asymmetric_sign(&SignRequest {
        key_id: key.key_id.clone(),
        key_version_id: key.primary_key_version.clone(),
        algorithm: Algorithm::EcdsaSha256,
        digest: vec![1; 32],
    })
}

/// The guard decides on what the operation's transaction sees: once the alias points
/// at a key the guard refuses, the request through the alias is refused and audited,
/// and nothing is signed.
#[test]
fn the_guard_sees_the_alias_as_the_operation_does() {
    let dir = private_dir();
    let kms = open(dir.path());
    let (allowed, forbidden) = (create(&kms, KeySpec::EcP256), create(&kms, KeySpec::EcP256));
    let alias = |key: &KeyMetadata| AliasRequest { alias_name: "alias/x".into(), key_id: key.key_id.clone() };
    kms.create_alias(&alias(&allowed)).unwrap();
    let refused_id = forbidden.key_id.clone();
    let guarded = kms.with_guard(Arc::new(move |target_of: AliasLookup<'_>| match target_of("alias/x")? {
        Some(id) if id == refused_id => Err(KmsError::new(ErrorCode::NoPermission, "not that key")),
        _ => Ok(()),
    }));
    let through_alias = |key: &KeyMetadata| SignRequest {
        key_id: "alias/x".into(),
        key_version_id: key.primary_key_version.clone(),
        algorithm: Algorithm::EcdsaSha256,
        digest: vec![1; 32],
    };
    guarded.asymmetric_sign(&through_alias(&allowed)).unwrap();
    kms.update_alias(&alias(&forbidden)).unwrap();
    let err = guarded.asymmetric_sign(&through_alias(&forbidden)).unwrap_err();
    assert_eq!(err.code, ErrorCode::NoPermission);
    let last = kms.store.read(|tx| audit::list(tx, &audit::Filter::default())).unwrap().pop().unwrap();
    assert_eq!((last.action.as_str(), last.error_code.as_deref()), ("AsymmetricSign", Some(err.code.as_str())));
}

/// A guard that, the first time it runs, reads (so the operation's read snapshot is
/// taken) and then lets `meanwhile` change the store, as a concurrent request
/// committing at that moment would.
fn racing(kms: &LocalKms, meanwhile: impl Fn() + Send + Sync + 'static) -> LocalKms {
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    kms.with_guard(Arc::new(move |target_of: AliasLookup<'_>| {
        target_of("alias/x")?;
        if first.swap(false, Ordering::SeqCst) {
            meanwhile();
        }
        Ok(())
    }))
}

fn last_entries(kms: &LocalKms, n: usize) -> Vec<(String, Option<String>)> {
    let entries = kms.store.read(|tx| audit::list(tx, &audit::Filter::default())).unwrap();
    entries[entries.len() - n..].iter().map(|e| (e.action.clone(), e.error_code.clone())).collect()
}

/// A key disabled while a signature is computed on the snapshot before: the signature
/// is dropped and its entry, after the DisableKey in the chain, is a refusal.
#[test]
fn a_key_disabled_while_it_signs_answers_with_a_refusal() {
    let dir = private_dir();
    let kms = open(dir.path());
    let key = create(&kms, KeySpec::EcP256);
    let (other, key_id) = (kms.clone(), key.key_id.clone());
    let guarded = racing(&kms, move || other.disable_key(&KeyIdRequest { key_id: key_id.clone() }).map(drop).unwrap());
    let err = sign(&guarded, &key).unwrap_err();
    assert_eq!(err.code, ErrorCode::Disabled);
    assert!(err.request_id.is_some());
    assert_eq!(
        last_entries(&kms, 2),
        [("DisableKey".to_string(), None), ("AsymmetricSign".to_string(), Some(err.code.as_str().to_string()))]
    );
    let report = kms.store.read(|tx| audit::verify(tx)).unwrap();
    assert!(report.problems.is_empty());
}

/// An alias repointed while a signature through it is computed: refused, since the key
/// used is no longer the one the alias names when the entry is committed.
#[test]
fn an_alias_repointed_while_it_signs_answers_with_a_refusal() {
    let dir = private_dir();
    let kms = open(dir.path());
    let (first, second) = (create(&kms, KeySpec::EcP256), create(&kms, KeySpec::EcP256));
    let alias = |key: &KeyMetadata| AliasRequest { alias_name: "alias/x".into(), key_id: key.key_id.clone() };
    kms.create_alias(&alias(&first)).unwrap();
    let (other, repoint) = (kms.clone(), alias(&second));
    let guarded = racing(&kms, move || other.update_alias(&repoint).map(drop).unwrap());
    let request = SignRequest {
        key_id: "alias/x".into(),
        key_version_id: first.primary_key_version.clone(),
        algorithm: Algorithm::EcdsaSha256,
        digest: vec![1; 32],
    };
    let err = guarded.asymmetric_sign(&request).unwrap_err();
    assert_eq!(err.code, ErrorCode::StateModifiedFailed);
    assert!(err.message.contains("send the request again"), "{}", err.message);
    assert_eq!(
        last_entries(&kms, 2),
        [("UpdateAlias".to_string(), None), ("AsymmetricSign".to_string(), Some(err.code.as_str().to_string()))]
    );
    assert!(guarded.asymmetric_sign(&request).is_err(), "the version belongs to the old key");
    let signed = kms.asymmetric_sign(&SignRequest { key_version_id: second.primary_key_version.clone(), ..request });
    assert!(signed.is_ok(), "through the alias to its new key");
}

/// A parsed key is kept between signatures, and the key's state still decides every
/// call: disabled by another process (which this one's cache knows nothing of), the
/// key is refused; disabled here, it is also forgotten.
#[test]
fn a_cached_key_is_refused_once_its_key_is_disabled_anywhere() {
    let dir = private_dir();
    let kms = open(dir.path());
    let key = create(&kms, KeySpec::EcP256);
    let by_id = KeyIdRequest { key_id: key.key_id.clone() };
    let first = sign(&kms, &key).unwrap().value;
    let second = sign(&kms, &key).unwrap().value;
    // Both are checked against the public key below (the key parsed anew, then the
    // cached one); they are not compared: aws-lc-rs's ECDSA nonces are random (p256's
    // follow RFC 6979).
    assert_eq!(kms.signing_keys.len(), 1);
    let other = open(dir.path());
    other.disable_key(&by_id).unwrap();
    assert_eq!(sign(&kms, &key).unwrap_err().code, ErrorCode::Disabled);
    other.enable_key(&by_id).unwrap();
    assert!(sign(&kms, &key).is_ok());
    kms.disable_key(&by_id).unwrap();
    assert!(kms.signing_keys.is_empty(), "forgotten when disabled here");
    assert_eq!(sign(&kms, &key).unwrap_err().code, ErrorCode::Disabled);
    // Every signature was checked against the public key by the callers; here, directly.
    let public = kms.get_public_key(&KeyVersionRequest {
        key_id: key.key_id.clone(),
        key_version_id: key.primary_key_version.clone(),
    });
    assert_eq!(public.unwrap_err().code, ErrorCode::Disabled);
    other.enable_key(&by_id).unwrap();
    let public = kms
        .get_public_key(&KeyVersionRequest {
            key_id: key.key_id.clone(),
            key_version_id: key.primary_key_version.clone(),
        })
        .unwrap();
    let spki = keys::public_key_from_pem(&public.public_key).unwrap();
    for signature in [first, second] {
        assert_eq!(keys::verify_digest(KeySpec::EcP256, Algorithm::EcdsaSha256, &spki, &[1; 32], &signature), Ok(true));
    }
}

#[test]
fn deletion_takes_effect_only_after_the_window() {
    let dir = private_dir();
    let now = Arc::new(AtomicI64::new(1_800_000_000));
    let clock_now = now.clone();
    let kms = open(dir.path()).with_clock(Arc::new(move || clock_now.load(Ordering::SeqCst)));
    let key = create(&kms, KeySpec::EcP256);
    let by_id = KeyIdRequest { key_id: key.key_id.clone() };
    kms.schedule_key_deletion(&ScheduleKeyDeletionRequest { key_id: key.key_id.clone(), pending_window_in_days: 7 })
        .unwrap();
    now.fetch_add(7 * 86_400 - 1, Ordering::SeqCst);
    let described = kms.describe_key(&by_id).unwrap().key_metadata;
    assert_eq!(described.key_state, KeyState::PendingDeletion);
    assert_eq!(described.delete_date.as_deref(), Some("2027-01-22T08:00:00Z"));
    assert_eq!(sign(&kms, &key).unwrap_err().code, ErrorCode::PendingDeletion);
    now.fetch_add(1, Ordering::SeqCst);
    assert_eq!(kms.describe_key(&by_id).unwrap_err().code, ErrorCode::KeyNotFound);
    let purges = kms
        .store()
        .read(|tx| audit::list(tx, &audit::Filter { action: Some("PurgeKey".into()), ..Default::default() }))
        .unwrap();
    assert_eq!(purges.len(), 1);
    assert_eq!(purges[0].key_id.as_deref(), Some(key.key_id.as_str()));
    let versions: u64 =
        kms.store().read(|tx| tx.query_value("SELECT COUNT(*) FROM key_versions", crate::params![])).unwrap();
    assert_eq!(versions, 0, "the sealed private keys are gone with the key");
}

#[test]
fn a_sealed_key_moved_to_another_version_does_not_open() {
    let dir = private_dir();
    let kms = open(dir.path());
    let key = create(&kms, KeySpec::EcP256);
    let second =
        kms.create_key_version(&KeyIdRequest { key_id: key.key_id.clone() }).unwrap().key_version.key_version_id;
    kms.store()
        .write(|tx| {
            tx.execute(
                "UPDATE key_versions SET sealed_private_key =
                    (SELECT sealed_private_key FROM key_versions WHERE key_version_id = ?1)
                 WHERE key_version_id = ?2",
                crate::params![key.primary_key_version, second],
            )?;
            Ok(())
        })
        .unwrap();
    let moved = kms.asymmetric_sign(&SignRequest {
        key_id: key.key_id.clone(),
        key_version_id: second,
        algorithm: Algorithm::EcdsaSha256,
        digest: vec![1; 32],
    });
    assert_eq!(moved.unwrap_err().code, ErrorCode::InternalFailure);
    assert!(sign(&kms, &key).is_ok(), "the original row still opens");
}

#[test]
fn the_database_holds_no_private_key_in_clear() {
    let dir = private_dir();
    let kms = open(dir.path());
    let (mut ders, mut secrets) = (Vec::new(), Vec::new());
    for spec in KeySpec::ALL {
        let key = create(&kms, *spec);
        let kek = kms.kek().unwrap();
        let version =
            kms.store().read(|tx| store::get_version(tx, &key.key_id, &key.primary_key_version)).unwrap().unwrap();
        let PrivateHalf::Sealed(sealed) = &version.private_key else { panic!("a SOFTWARE key is sealed") };
        let pkcs8 = kek.open(sealed, &private_key_aad(&key.key_id, &version.key_version_id)).unwrap();
        secrets.push(secret_component(*spec, &pkcs8));
        ders.push(pkcs8);
    }
    drop(kms);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 4096);
    for der in &ders {
        assert!(!bytes.windows(der.len()).any(|w| w == der.as_slice()), "a private key's DER is in the store files");
    }
    for secret in &secrets {
        assert!(secret.len() >= 32);
        for window in secret.windows(32).step_by(16) {
            assert!(!bytes.windows(32).any(|w| w == window), "secret key bytes found in the store files");
        }
    }
}

/// The part of a PKCS#8 key that is secret (the EC scalar, the RSA private exponent);
/// the rest of the DER embeds public values that are rightly stored in clear.
fn secret_component(spec: KeySpec, pkcs8: &[u8]) -> Zeroizing<Vec<u8>> {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PrivateKeyParts;
    Zeroizing::new(match spec {
        KeySpec::Rsa2048 => rsa::PrivateKey::from_pkcs8_der(pkcs8).unwrap().d().to_be_bytes().to_vec(),
        KeySpec::EcP256 => p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8).unwrap().to_bytes().to_vec(),
        KeySpec::EcP256k => k256::ecdsa::SigningKey::from_pkcs8_der(pkcs8).unwrap().to_bytes().to_vec(),
    })
}

#[test]
fn a_wrong_passphrase_unlocks_nothing_and_changes_nothing() {
    let dir = private_dir();
    let kms = open(dir.path());
    let key = create(&kms, KeySpec::EcP256k);
    drop(kms);
    let wrong = LocalKms::open(dir.path(), passphrase("wrong horse battery"), "tester").unwrap();
    assert_eq!(sign(&wrong, &key).unwrap_err().code, ErrorCode::WrongPassphrase);
    let created = wrong.create_key(&CreateKeyRequest {
        key_spec: KeySpec::EcP256,
        key_usage: KeyUsage::SignVerify,
        description: String::new(),
        protection_level: ProtectionLevel::Software,
    });
    assert_eq!(created.unwrap_err().code, ErrorCode::WrongPassphrase);
    assert_eq!(wrong.list_keys(&PageRequest::default()).unwrap().total_count, 1);
    assert!(wrong.describe_key(&KeyIdRequest { key_id: key.key_id.clone() }).is_ok(), "metadata needs no passphrase");
}

#[test]
fn kdf_parameters_round_trip() {
    let params = KdfParams::default();
    assert_eq!(decode_params(&encode_params(params)), Some(params));
    assert_eq!(decode_params("scrypt n=1"), None);
    assert_eq!(decode_params("argon2id m=65536 t=3 p=1 x=1"), None);
    assert_eq!(params.check_bounds(), Ok(()));
    let most = KdfParams { memory_kib: 256 * 1024, iterations: 8, parallelism: 4 };
    assert_eq!(most.check_bounds(), Ok(()), "room above the default");
}

/// Regression (issue 12, and issue 27 finding 14): a store edited to absurd Argon2id
/// costs is refused at once, instead of hanging the unlock (t=4294967295) or
/// exhausting memory; and so is one edited to costs merely far above what keyseal
/// writes (2 GiB, 16 passes: over a minute and 2 GiB for every unlock).
#[test]
fn kdf_parameters_out_of_bounds_are_refused_without_deriving() {
    let dir = private_dir();
    let kms = open(dir.path());
    create(&kms, KeySpec::EcP256);
    for edited in [
        "argon2id m=65536 t=4294967295 p=1",
        "argon2id m=4294967295 t=3 p=1",
        "argon2id m=65536 t=3 p=0",
        "argon2id m=65536 t=9 p=1",
        "argon2id m=65536 t=3 p=5",
        "argon2id m=262145 t=3 p=1",
        "argon2id m=2097152 t=16 p=8",
    ] {
        kms.store.write(|tx| store::meta_set(tx, KDF_PARAMS, edited.as_bytes())).unwrap();
        let started = std::time::Instant::now();
        let err = open(dir.path()).unlock().unwrap_err();
        assert_eq!(err.code, ErrorCode::StoreUnavailable, "{edited}: {}", err.message);
        assert!(err.message.contains("out of bounds"), "{}", err.message);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{edited} was derived");
    }
}
