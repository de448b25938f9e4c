//! What operations share to find what a request names: the key behind a `KeyId` (by id,
//! alias or ARN) in the state the operation needs, its versions, their private halves
//! (unsealed, or parsed from the cache), and the metadata answers describe them with.

use super::*;

impl<'a> Ctx<'a> {
    pub(super) fn new(
        tx: &'a dyn Tx,
        now: i64,
        entry: &'a mut AuditEntry,
        kek: Option<Arc<Kek>>,
        signing_keys: &'a KeyCache,
        token: &'a TokenSlot,
    ) -> Ctx<'a> {
        Ctx { tx, now, entry, kek, signing_keys, token, new_token_objects: Vec::new(), used_key: None }
    }

    /// The key a `KeyId` parameter names, in any state; records its real id in the audit entry.
    pub(super) fn key(&mut self, key_param: &str) -> KmsResult<KeyRow> {
        let key_id =
            match KeyRef::parse(key_param)? {
                KeyRef::Id(id) => id,
                KeyRef::Alias(name) => store::get_alias(self.tx, &name)?
                    .ok_or_else(|| {
                        KmsError::new(
                            ErrorCode::AliasNotFound,
                            format!(
                                "there is no alias {name}; `keyseal kms list-aliases` (ListAliases) shows the aliases"
                            ),
                        )
                    })?
                    .key_id,
            };
        let key = store::get_key(self.tx, &key_id)?.ok_or_else(|| {
            KmsError::new(
                ErrorCode::KeyNotFound,
                format!("there is no key {key_id}; ListKeys shows the keys (deleted keys are gone for good)"),
            )
        })?;
        self.entry.key_id = Some(key.key_id.clone());
        if key.protection_level == ProtectionLevel::Hsm {
            self.entry.detail = Some(HSM_DETAIL.to_string());
        }
        self.used_key = Some((key.key_id.clone(), false));
        Ok(key)
    }

    /// The key, refused unless it is enabled.
    pub(super) fn enabled_key(&mut self, key_param: &str) -> KmsResult<KeyRow> {
        let key = self.key(key_param)?;
        refuse_unless_enabled(&key)?;
        self.used_key = Some((key.key_id.clone(), true));
        Ok(key)
    }

    /// The key's version `key_version_id`; records it in the audit entry.
    pub(super) fn version(&mut self, key: &KeyRow, key_version_id: &str) -> KmsResult<VersionRow> {
        if key_version_id.trim().is_empty() {
            return Err(KmsError::missing("KeyVersionId"));
        }
        self.entry.key_version_id = Some(key_version_id.to_string());
        store::get_version(self.tx, &key.key_id, key_version_id)?.ok_or_else(|| {
            KmsError::new(
                ErrorCode::KeyVersionNotFound,
                format!("key {} has no version {key_version_id}; ListKeyVersions shows its versions", key.key_id),
            )
        })
    }

    /// An enabled key, one of its versions, and an algorithm that fits them.
    pub(super) fn key_version_for(
        &mut self,
        key_id: &str,
        key_version_id: &str,
        algorithm: Option<Algorithm>,
    ) -> KmsResult<(KeyRow, VersionRow)> {
        let key = self.enabled_key(key_id)?;
        let version = self.version(&key, key_version_id)?;
        if let Some(algorithm) = algorithm {
            self.entry.algorithm = Some(algorithm.to_string());
            check_algorithm(&key, algorithm)?;
        }
        Ok((key, version))
    }

    /// The version's private key, unsealed for one operation.
    pub(super) fn unseal(&self, version: &VersionRow, sealed: &[u8]) -> KmsResult<Zeroizing<Vec<u8>>> {
        let kek = self
            .kek
            .as_ref()
            .ok_or_else(|| KmsError::internal("a private-key operation ran without unlocking the store"))?;
        kek.open(sealed, &private_key_aad(&version.key_id, &version.key_version_id)).ok_or_else(|| {
            KmsError::internal(format!(
                "the sealed private key of version {} does not open although the passphrase is right: \
                     the store was altered; restore it from a backup",
                version.key_version_id
            ))
        })
    }

    /// The version's private key parsed for signing: kept from an earlier call with the
    /// same sealed bytes, or unsealed and parsed now (and kept).
    /// An HSM version's key signs in the token and is not cached: it holds no secret, and
    /// the token's object is found again each time, so a replaced token shows at once.
    pub(super) fn signing_key(&self, key: &KeyRow, version: &VersionRow) -> KmsResult<Arc<keys::SigningKey>> {
        let sealed = match &version.private_key {
            PrivateHalf::Sealed(sealed) => sealed,
            PrivateHalf::InToken(id) => {
                return Ok(Arc::new(keys::SigningKey::in_token(self.token_key(key, version, id)?)));
            }
        };
        let (key_id, key_version_id) = (&version.key_id, &version.key_version_id);
        self.signing_keys.get_or_parse(key_id, key_version_id, sealed, || {
            let private = self.unseal(version, sealed)?;
            keys::SigningKey::parse(key.key_spec, &private).map_err(key_error)
        })
    }

    /// Generates a key pair as a new version of `key`: sealed in the store, or in the
    /// token for an HSM key.
    pub(super) fn add_version(&mut self, key: &KeyRow) -> KmsResult<VersionRow> {
        let key_version_id = new_uuid()?;
        let (public_key, private_key) = match key.protection_level {
            ProtectionLevel::Hsm => self.generate_in_token(key, &key_version_id)?,
            ProtectionLevel::Software => {
                let pair = keys::generate(key.key_spec).map_err(|e| KmsError::internal(e.to_string()))?;
                let kek = self
                    .kek
                    .as_ref()
                    .ok_or_else(|| KmsError::internal("key generation ran without unlocking the store"))?;
                let sealed = kek.seal(&pair.private_pkcs8, &private_key_aad(&key.key_id, &key_version_id))?;
                (pair.public_spki, PrivateHalf::Sealed(sealed))
            }
        };
        let version =
            VersionRow { key_id: key.key_id.clone(), key_version_id, creation_date: self.now, public_key, private_key };
        store::insert_version(self.tx, &version)?;
        self.entry.key_version_id = Some(version.key_version_id.clone());
        Ok(version)
    }

    pub(super) fn metadata(&self, key: &KeyRow) -> KmsResult<KeyMetadata> {
        let first = store::list_versions(self.tx, &key.key_id, 0, 1)?;
        Ok(KeyMetadata {
            key_id: key.key_id.clone(),
            arn: key_arn(&key.key_id),
            key_spec: key.key_spec,
            key_usage: key.key_usage,
            key_state: key.key_state,
            creation_date: format_unix(key.creation_date),
            creator: key.creator.clone(),
            description: key.description.clone(),
            delete_date: key.delete_date.map(format_unix),
            origin: "Aliyun_KMS".to_string(),
            protection_level: key.protection_level,
            primary_key_version: first.first().map(|v| v.key_version_id.clone()).unwrap_or_default(),
            automatic_rotation: "Disabled".to_string(),
        })
    }

    pub(super) fn request_id(&self) -> String {
        self.entry.request_id.clone()
    }

    pub(super) fn empty(&self) -> EmptyResponse {
        EmptyResponse { request_id: self.request_id() }
    }
}
pub(super) fn refuse_unless_enabled(key: &KeyRow) -> KmsResult<()> {
    match key.key_state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(KmsError::new(
            ErrorCode::Disabled,
            format!("key {} is disabled; enable it with EnableKey, or use another key", key.key_id),
        )),
        KeyState::PendingDeletion => Err(KmsError::new(
            ErrorCode::PendingDeletion,
            format!(
                "key {} is pending deletion (on {}); CancelKeyDeletion keeps it",
                key.key_id,
                key.delete_date.map(format_unix).unwrap_or_default()
            ),
        )),
    }
}

pub(super) fn check_algorithm(key: &KeyRow, algorithm: Algorithm) -> KmsResult<()> {
    let allowed = key.key_spec.algorithms(key.key_usage);
    if allowed.contains(&algorithm) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
    Err(KmsError::new(
        ErrorCode::UnsupportedOperation,
        format!(
            "key {} is a {} key for {}; it does not do {algorithm}. It takes: {}",
            key.key_id,
            key.key_spec,
            key.key_usage,
            names.join(", ")
        ),
    ))
}
pub(super) fn key_error(err: keys::KeyError) -> KmsError {
    match err {
        keys::KeyError::AlgorithmMismatch { .. } => KmsError::new(ErrorCode::UnsupportedOperation, err.to_string()),
        keys::KeyError::DigestLength(_) => KmsError::invalid("Digest", err),
        keys::KeyError::PlaintextTooLong { .. } => KmsError::invalid("Plaintext", err),
        keys::KeyError::DecryptionFailed => KmsError::invalid("CiphertextBlob", err),
        keys::KeyError::MalformedKey(_) | keys::KeyError::Provider(_) => KmsError::internal(err.to_string()),
        keys::KeyError::Token(err) => hsm::token_error(err),
    }
}
