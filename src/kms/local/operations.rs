//! The KMS operations of the embedded store, one `Kms` method each, every one run by
//! `execute` (changes) or `execute_read` (reads and key uses) in mod.rs.

use super::*;

impl Kms for LocalKms {
    fn create_key(&self, request: &CreateKeyRequest) -> KmsResult<KeyMetadataResponse> {
        if !request.key_spec.allows_usage(request.key_usage) {
            let refusal = KmsError::new(
                ErrorCode::UnsupportedOperation,
                format!("{} keys cannot be {}; use RSA_2048 for encryption", request.key_spec, request.key_usage),
            );
            return self.execute(Action::CreateKey, None, false, |_| Err(refusal));
        }
        let software = request.protection_level == ProtectionLevel::Software;
        self.execute(Action::CreateKey, None, software, |ctx| {
            let key = KeyRow {
                key_id: new_uuid()?,
                key_spec: request.key_spec,
                key_usage: request.key_usage,
                key_state: KeyState::Enabled,
                description: request.description.clone(),
                creator: ctx.entry.principal.clone(),
                creation_date: ctx.now,
                delete_date: None,
                protection_level: request.protection_level,
            };
            if key.protection_level == ProtectionLevel::Hsm {
                ctx.entry.detail = Some(HSM_DETAIL.to_string());
            }
            store::insert_key(ctx.tx, &key)?;
            ctx.entry.key_id = Some(key.key_id.clone());
            ctx.add_version(&key)?;
            Ok(KeyMetadataResponse { request_id: ctx.request_id(), key_metadata: ctx.metadata(&key)? })
        })
    }

    fn create_key_version(&self, request: &KeyIdRequest) -> KmsResult<KeyVersionResponse> {
        self.execute(Action::CreateKeyVersion, Some(&request.key_id), true, |ctx| {
            let key = ctx.enabled_key(&request.key_id)?;
            let version = ctx.add_version(&key)?;
            Ok(KeyVersionResponse { request_id: ctx.request_id(), key_version: key_version(&version) })
        })
    }

    fn describe_key(&self, request: &KeyIdRequest) -> KmsResult<KeyMetadataResponse> {
        self.execute_read(Action::DescribeKey, Some(&request.key_id), false, |ctx| {
            let key = ctx.key(&request.key_id)?;
            Ok(KeyMetadataResponse { request_id: ctx.request_id(), key_metadata: ctx.metadata(&key)? })
        })
    }

    fn describe_key_version(&self, request: &KeyVersionRequest) -> KmsResult<KeyVersionResponse> {
        self.execute_read(Action::DescribeKeyVersion, Some(&request.key_id), false, |ctx| {
            let key = ctx.key(&request.key_id)?;
            let version = ctx.version(&key, &request.key_version_id)?;
            Ok(KeyVersionResponse { request_id: ctx.request_id(), key_version: key_version(&version) })
        })
    }

    fn list_keys(&self, request: &PageRequest) -> KmsResult<ListKeysResponse> {
        self.execute_read(Action::ListKeys, None, false, |ctx| {
            let page = Page::read(
                request,
                |offset, limit| store::list_keys(ctx.tx, offset, limit),
                || store::count_keys(ctx.tx),
            )?;
            let keys = page.items.into_iter().map(|k| KeyListEntry { key_arn: key_arn(&k.key_id), key_id: k.key_id });
            Ok(ListKeysResponse {
                request_id: ctx.request_id(),
                keys: Keys { key: keys.collect() },
                page_number: page.number,
                page_size: page.size,
                total_count: page.total,
            })
        })
    }

    fn list_key_versions(&self, request: &ListKeyVersionsRequest) -> KmsResult<ListKeyVersionsResponse> {
        self.execute_read(Action::ListKeyVersions, Some(&request.key_id), false, |ctx| {
            let key = ctx.key(&request.key_id)?;
            let page = Page::read(
                &request.page,
                |offset, limit| store::list_versions(ctx.tx, &key.key_id, offset, limit),
                || store::count_versions(ctx.tx, &key.key_id),
            )?;
            Ok(ListKeyVersionsResponse {
                request_id: ctx.request_id(),
                key_versions: KeyVersions { key_version: page.items.iter().map(key_version).collect() },
                page_number: page.number,
                page_size: page.size,
                total_count: page.total,
            })
        })
    }

    fn create_alias(&self, request: &AliasRequest) -> KmsResult<EmptyResponse> {
        self.execute(Action::CreateAlias, Some(&request.key_id), false, |ctx| {
            check_alias_name(&request.alias_name)?;
            let key = ctx.key(&request.key_id)?;
            if key.key_state == KeyState::PendingDeletion {
                refuse_unless_enabled(&key)?;
            }
            if let Some(existing) = store::get_alias(ctx.tx, &request.alias_name)? {
                return Err(KmsError::new(
                    ErrorCode::AliasAlreadyExists,
                    format!(
                        "{} already points at key {}; use UpdateAlias to move it",
                        existing.alias_name, existing.key_id
                    ),
                ));
            }
            store::put_alias(ctx.tx, &request.alias_name, &key.key_id, ctx.now)?;
            Ok(ctx.empty())
        })
    }

    fn update_alias(&self, request: &AliasRequest) -> KmsResult<EmptyResponse> {
        self.execute(Action::UpdateAlias, Some(&request.key_id), false, |ctx| {
            check_alias_name(&request.alias_name)?;
            if store::get_alias(ctx.tx, &request.alias_name)?.is_none() {
                return Err(KmsError::new(
                    ErrorCode::AliasNotFound,
                    format!("there is no alias {}; create it with CreateAlias", request.alias_name),
                ));
            }
            let key = ctx.key(&request.key_id)?;
            if key.key_state == KeyState::PendingDeletion {
                refuse_unless_enabled(&key)?;
            }
            store::put_alias(ctx.tx, &request.alias_name, &key.key_id, ctx.now)?;
            Ok(ctx.empty())
        })
    }

    fn delete_alias(&self, request: &DeleteAliasRequest) -> KmsResult<EmptyResponse> {
        self.execute(Action::DeleteAlias, None, false, |ctx| {
            let alias = store::get_alias(ctx.tx, &request.alias_name)?.ok_or_else(|| {
                KmsError::new(
                    ErrorCode::AliasNotFound,
                    format!(
                        "there is no alias {}; `keyseal kms list-aliases` (ListAliases) shows the aliases",
                        request.alias_name
                    ),
                )
            })?;
            ctx.entry.key_id = Some(alias.key_id);
            store::delete_alias(ctx.tx, &request.alias_name)?;
            Ok(ctx.empty())
        })
    }

    fn list_aliases(&self, request: &PageRequest) -> KmsResult<ListAliasesResponse> {
        self.execute_read(Action::ListAliases, None, false, |ctx| {
            let page = Page::read(
                request,
                |offset, limit| store::list_aliases(ctx.tx, offset, limit),
                || store::count_aliases(ctx.tx),
            )?;
            let aliases = page.items.into_iter().map(|a| AliasEntry {
                alias_arn: alias_arn(&a.alias_name),
                alias_name: a.alias_name,
                key_id: a.key_id,
            });
            Ok(ListAliasesResponse {
                request_id: ctx.request_id(),
                aliases: Aliases { alias: aliases.collect() },
                page_number: page.number,
                page_size: page.size,
                total_count: page.total,
            })
        })
    }

    fn enable_key(&self, request: &KeyIdRequest) -> KmsResult<EmptyResponse> {
        self.execute(Action::EnableKey, Some(&request.key_id), false, |ctx| {
            let key = ctx.key(&request.key_id)?;
            refuse_state_change(
                &key,
                "enabled",
                KeyState::PendingDeletion,
                "cancel the deletion with CancelKeyDeletion first",
            )?;
            store::set_key_state(ctx.tx, &key.key_id, KeyState::Enabled, None)?;
            Ok(ctx.empty())
        })
    }

    fn disable_key(&self, request: &KeyIdRequest) -> KmsResult<EmptyResponse> {
        self.execute(Action::DisableKey, Some(&request.key_id), false, |ctx| {
            let key = ctx.key(&request.key_id)?;
            refuse_state_change(
                &key,
                "disabled",
                KeyState::PendingDeletion,
                "it is already unusable; CancelKeyDeletion keeps it",
            )?;
            store::set_key_state(ctx.tx, &key.key_id, KeyState::Disabled, None)?;
            self.signing_keys.forget_key(&key.key_id);
            Ok(ctx.empty())
        })
    }

    fn schedule_key_deletion(&self, request: &ScheduleKeyDeletionRequest) -> KmsResult<EmptyResponse> {
        self.execute(Action::ScheduleKeyDeletion, Some(&request.key_id), false, |ctx| {
            if !PENDING_WINDOW_DAYS.contains(&request.pending_window_in_days) {
                return Err(KmsError::invalid(
                    "PendingWindowInDays",
                    format!("is {}; it must be between 7 and 366 days", request.pending_window_in_days),
                ));
            }
            let key = ctx.key(&request.key_id)?;
            refuse_state_change(
                &key,
                "scheduled for deletion",
                KeyState::PendingDeletion,
                "it already is; CancelKeyDeletion stops it",
            )?;
            let delete_date = ctx.now + i64::from(request.pending_window_in_days) * 86_400;
            store::set_key_state(ctx.tx, &key.key_id, KeyState::PendingDeletion, Some(delete_date))?;
            self.signing_keys.forget_key(&key.key_id);
            Ok(ctx.empty())
        })
    }

    fn cancel_key_deletion(&self, request: &KeyIdRequest) -> KmsResult<EmptyResponse> {
        self.execute(Action::CancelKeyDeletion, Some(&request.key_id), false, |ctx| {
            let key = ctx.key(&request.key_id)?;
            if key.key_state != KeyState::PendingDeletion {
                return Err(KmsError::new(
                    ErrorCode::StateModifiedFailed,
                    format!(
                        "key {} is {}, not pending deletion; there is nothing to cancel",
                        key.key_id, key.key_state
                    ),
                ));
            }
            store::set_key_state(ctx.tx, &key.key_id, KeyState::Enabled, None)?;
            Ok(ctx.empty())
        })
    }

    fn get_public_key(&self, request: &KeyVersionRequest) -> KmsResult<GetPublicKeyResponse> {
        self.execute_read(Action::GetPublicKey, Some(&request.key_id), false, |ctx| {
            let (key, version) = ctx.key_version_for(&request.key_id, &request.key_version_id, None)?;
            Ok(GetPublicKeyResponse {
                request_id: ctx.request_id(),
                key_id: key.key_id,
                key_version_id: version.key_version_id,
                public_key: keys::public_key_pem(&version.public_key),
            })
        })
    }

    fn asymmetric_sign(&self, request: &SignRequest) -> KmsResult<SignResponse> {
        self.execute_read(Action::AsymmetricSign, Some(&request.key_id), true, |ctx| {
            ctx.entry.digest = Some(digest_b64(&request.digest));
            let (key, version) =
                ctx.key_version_for(&request.key_id, &request.key_version_id, Some(request.algorithm))?;
            keys::check_digest(&request.digest).map_err(key_error)?;
            let value = ctx.signing_key(&key, &version)?.sign(request.algorithm, &request.digest).map_err(key_error)?;
            Ok(SignResponse {
                request_id: ctx.request_id(),
                key_id: key.key_id,
                key_version_id: version.key_version_id,
                value,
            })
        })
    }

    fn asymmetric_verify(&self, request: &VerifyRequest) -> KmsResult<VerifyResponse> {
        self.execute_read(Action::AsymmetricVerify, Some(&request.key_id), false, |ctx| {
            ctx.entry.digest = Some(digest_b64(&request.digest));
            let (key, version) =
                ctx.key_version_for(&request.key_id, &request.key_version_id, Some(request.algorithm))?;
            keys::check_digest(&request.digest).map_err(key_error)?;
            let value = keys::verify_digest(
                key.key_spec,
                request.algorithm,
                &version.public_key,
                &request.digest,
                &request.value,
            )
            .map_err(key_error)?;
            Ok(VerifyResponse {
                request_id: ctx.request_id(),
                key_id: key.key_id,
                key_version_id: version.key_version_id,
                value,
            })
        })
    }

    fn asymmetric_encrypt(&self, request: &EncryptRequest) -> KmsResult<EncryptResponse> {
        self.execute_read(Action::AsymmetricEncrypt, Some(&request.key_id), false, |ctx| {
            let (key, version) =
                ctx.key_version_for(&request.key_id, &request.key_version_id, Some(request.algorithm))?;
            let ciphertext_blob =
                keys::encrypt(key.key_spec, request.algorithm, &version.public_key, &request.plaintext)
                    .map_err(key_error)?;
            Ok(EncryptResponse {
                request_id: ctx.request_id(),
                key_id: key.key_id,
                key_version_id: version.key_version_id,
                ciphertext_blob,
            })
        })
    }

    fn asymmetric_decrypt(&self, request: &DecryptRequest) -> KmsResult<DecryptResponse> {
        self.execute_read(Action::AsymmetricDecrypt, Some(&request.key_id), true, |ctx| {
            let (key, version) =
                ctx.key_version_for(&request.key_id, &request.key_version_id, Some(request.algorithm))?;
            let plaintext = match &version.private_key {
                PrivateHalf::Sealed(sealed) => {
                    let private = ctx.unseal(&version, sealed)?;
                    keys::decrypt(key.key_spec, request.algorithm, &private, &request.ciphertext_blob, b"")
                        .map_err(key_error)?
                }
                PrivateHalf::InToken(id) => ctx
                    .token_key(&key, &version, id)?
                    .decrypt(request.algorithm, &request.ciphertext_blob)
                    .map_err(hsm::token_error)?,
            };
            Ok(DecryptResponse {
                request_id: ctx.request_id(),
                key_id: key.key_id,
                key_version_id: version.key_version_id,
                plaintext,
            })
        })
    }
}
/// Refuses a state change out of `from` with `StateModifiedFailed`.
pub(super) fn refuse_state_change(key: &KeyRow, to: &str, from: KeyState, hint: &str) -> KmsResult<()> {
    if key.key_state == from {
        return Err(KmsError::new(
            ErrorCode::StateModifiedFailed,
            format!("key {} is {} and cannot be {to}: {hint}", key.key_id, key.key_state),
        ));
    }
    Ok(())
}

pub(super) fn key_version(version: &VersionRow) -> KeyVersion {
    KeyVersion {
        key_id: version.key_id.clone(),
        key_version_id: version.key_version_id.clone(),
        creation_date: format_unix(version.creation_date),
    }
}

/// One page of a list operation: its items, and the paging fields every list answer
/// carries (the page asked for, and how many there are in all).
pub(super) struct Page<T> {
    items: Vec<T>,
    number: u32,
    size: u32,
    total: u64,
}

impl<T> Page<T> {
    /// The page `request` asks for (checked first): `items(offset, limit)` and `total()`.
    fn read(
        request: &PageRequest,
        items: impl FnOnce(u64, u64) -> KmsResult<Vec<T>>,
        total: impl FnOnce() -> KmsResult<u64>,
    ) -> KmsResult<Page<T>> {
        let (offset, limit) = check_page(request)?;
        Ok(Page { items: items(offset, limit)?, number: request.page_number, size: request.page_size, total: total()? })
    }
}

pub(super) fn check_page(page: &PageRequest) -> KmsResult<(u64, u64)> {
    if page.page_number < 1 {
        return Err(KmsError::invalid("PageNumber", "must be 1 or more"));
    }
    if !(1..=100).contains(&page.page_size) {
        return Err(KmsError::invalid("PageSize", "must be between 1 and 100"));
    }
    let size = u64::from(page.page_size);
    Ok(((u64::from(page.page_number) - 1) * size, size))
}

pub(super) fn digest_b64(digest: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(digest)
}
