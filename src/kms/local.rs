//! LocalKms: the embedded implementation of `Kms`. An operation that changes keys or
//! aliases runs in one write transaction that also appends its audit entry; one that only
//! reads (signing among them) runs on a read snapshot, side by side with others, and its
//! audit entry is committed through the group commit after its preconditions are checked
//! again there. A refused operation changes nothing and is audited on its own. Private keys are unsealed only for the moment
//! of a decrypt; a signing key, once unsealed and parsed, is kept parsed in memory
//! (`key_cache`: bounded, zeroized when dropped, forgotten when its key is disabled or
//! deleted, and used only after the key's state is checked in the operation's
//! transaction). The key-encryption key is derived once per process.

use crate::clock::{format_unix, now_unix};
use crate::kms::api::*;
use crate::kms::audit::{self, AuditEntry};
use crate::kms::error::{ErrorCode, KmsError};
use crate::kms::ids::{KeyRef, alias_arn, check_alias_name, key_arn, new_uuid};
use crate::kms::key_cache::KeyCache;
use crate::kms::keys;
use crate::kms::seal::{KdfParams, Kek, SecretSource, private_key_aad};
use crate::kms::spec::{Algorithm, KeyState};
use crate::kms::store::{self, KeyRow, Store, VersionRow};
use crate::kms::{Action, Kms, KmsResult};
use base64::Engine;
use rusqlite::Transaction;
use std::path::Path;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

const KDF_SALT: &str = "kdf_salt";
const KDF_PARAMS: &str = "kdf_params";
const KEK_CHECK: &str = "kek_check";
/// The pending window ScheduleKeyDeletion accepts, in days.
pub const PENDING_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 7..=366;
/// The principal recorded for deletions that take effect on their own.
const SYSTEM_PRINCIPAL: &str = "keyseal";

/// A clock: Unix seconds.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The key an alias points at, as the operation's transaction sees it.
pub type AliasLookup<'a> = &'a dyn Fn(&str) -> KmsResult<Option<String>>;

/// A check run inside every operation's transaction, before the operation: a caller's
/// policy decision made on the snapshot the operation acts on (see `server::authorize`).
pub type Guard = Arc<dyn Fn(AliasLookup<'_>) -> KmsResult<()> + Send + Sync>;

/// The embedded KMS over a `Store`.
#[derive(Clone)]
pub struct LocalKms {
    store: Arc<Store>,
    secret: SecretSource,
    kek: Arc<Mutex<Option<Arc<Kek>>>>,
    /// Parsed signing keys, shared by every clone.
    signing_keys: Arc<KeyCache>,
    principal: String,
    clock: Clock,
    guard: Option<Guard>,
}

/// What an operation sees: its transaction, the time, its audit entry and the KEK when
/// it asked for one.
struct Ctx<'a> {
    tx: &'a Transaction<'a>,
    now: i64,
    entry: &'a mut AuditEntry,
    kek: Option<Arc<Kek>>,
    signing_keys: &'a KeyCache,
    /// The key the operation resolved its `KeyId` parameter to, and whether it required
    /// the key enabled: what a read-only operation's audit commit checks again.
    used_key: Option<(String, bool)>,
}

/// Why an operation failed, and whether its refusal is in the audit log already.
enum Failure {
    /// Not yet audited: the refusal entry is still to be written.
    Unaudited(KmsError),
    /// Audited (a read-only operation refused at its audit commit).
    Audited(KmsError),
}

impl From<KmsError> for Failure {
    fn from(err: KmsError) -> Failure {
        Failure::Unaudited(err)
    }
}

/// What a read-only operation's audit commit checks again inside the writer's
/// transaction, against every change committed since its snapshot.
struct Recheck {
    guard: Option<Guard>,
    key_param: Option<String>,
    used_key: Option<(String, bool)>,
    signing_keys: Arc<KeyCache>,
    now: i64,
}

impl Recheck {
    /// The guard still allows the request, and the `KeyId` parameter still names the key
    /// the operation used, still enabled when it had to be.
    fn run(&self, tx: &Transaction<'_>) -> KmsResult<()> {
        if let Some(guard) = &self.guard {
            guard(&|alias: &str| Ok(store::get_alias(tx, alias)?.map(|a| a.key_id)))?;
        }
        let (Some(key_param), Some((used_id, needs_enabled))) = (&self.key_param, &self.used_key) else {
            return Ok(());
        };
        let mut scratch = AuditEntry::new(self.now, "", "", "");
        let mut ctx = Ctx::new(tx, self.now, &mut scratch, None, &self.signing_keys);
        let key = if *needs_enabled { ctx.enabled_key(key_param)? } else { ctx.key(key_param)? };
        if key.key_id != *used_id {
            return Err(KmsError::new(
                ErrorCode::StateModifiedFailed,
                format!("{key_param} was pointed at another key while the request ran; send the request again"),
            ));
        }
        Ok(())
    }
}

impl LocalKms {
    /// Opens the store in `dir`; private keys are unlocked with `secret` when first needed.
    pub fn open(dir: &Path, secret: SecretSource, principal: &str) -> KmsResult<LocalKms> {
        Ok(LocalKms {
            store: Arc::new(Store::open(dir)?),
            secret,
            kek: Arc::new(Mutex::new(None)),
            signing_keys: Arc::new(KeyCache::default()),
            principal: principal.to_string(),
            clock: Arc::new(now_unix),
            guard: None,
        })
    }

    /// The same KMS acting for another principal (as recorded in the audit log).
    pub fn with_principal(&self, principal: &str) -> LocalKms {
        LocalKms { principal: principal.to_string(), ..self.clone() }
    }

    /// The same KMS refusing, inside each operation's transaction, what `guard` refuses.
    pub fn with_guard(&self, guard: Guard) -> LocalKms {
        LocalKms { guard: Some(guard), ..self.clone() }
    }

    /// The same KMS reading time from `clock` (tests move time with it).
    pub fn with_clock(&self, clock: Clock) -> LocalKms {
        LocalKms { clock, ..self.clone() }
    }

    /// The underlying store, for the audit commands.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The principal recorded in the audit log.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// Unlocks the store now (deriving the key-encryption key), so a long-running server
    /// fails at start-up rather than at its first signature.
    pub fn unlock(&self) -> KmsResult<()> {
        self.kek().map(|_| ())
    }

    /// The KeyId an alias points at, if it exists (for naming policy resources).
    pub fn alias_target(&self, alias_name: &str) -> KmsResult<Option<String>> {
        Ok(self.store.read(|tx| store::get_alias(tx, alias_name))?.map(|a| a.key_id))
    }

    /// Runs one operation that changes keys or aliases: unlocks the KEK first when
    /// `unlock` (never while holding the write lock, since it may prompt), then runs the
    /// guard, `op` and the audit append in one write transaction; on refusal, audits the
    /// refusal and returns the error.
    fn execute<T>(
        &self,
        action: Action,
        key_param: Option<&str>,
        unlock: bool,
        op: impl FnOnce(&mut Ctx<'_>) -> KmsResult<T>,
    ) -> KmsResult<T> {
        self.run(action.name(), key_param, unlock, |now, entry, kek| {
            Ok(self.store.write(|tx| {
                self.check_guard(tx)?;
                let mut ctx = Ctx::new(tx, now, entry, kek, &self.signing_keys);
                let value = op(&mut ctx)?;
                audit::append(tx, ctx.entry)?;
                Ok(value)
            })?)
        })
    }

    /// Runs one operation that only reads (a signature, a description): the guard and
    /// `op` on a read snapshot, so requests run side by side, then the audit entry through
    /// the group commit, where the guard and the key's state are checked again against
    /// what has been committed since. A key disabled, deleted or re-aliased while `op`
    /// ran turns the entry into a refusal and the result is dropped: no answer leaves
    /// that the audit log, read in order, does not explain, and none before its entry is
    /// durable.
    fn execute_read<T>(
        &self,
        action: Action,
        key_param: Option<&str>,
        unlock: bool,
        op: impl FnOnce(&mut Ctx<'_>) -> KmsResult<T>,
    ) -> KmsResult<T> {
        self.run(action.name(), key_param, unlock, |now, entry, kek| {
            let (value, used_key) = self.store.read(|tx| {
                self.check_guard(tx)?;
                let mut ctx = Ctx::new(tx, now, entry, kek, &self.signing_keys);
                let value = op(&mut ctx)?;
                Ok((value, ctx.used_key))
            })?;
            let recheck = Recheck {
                guard: self.guard.clone(),
                key_param: key_param.map(str::to_string),
                used_key,
                signing_keys: self.signing_keys.clone(),
                now,
            };
            let entry = entry.clone();
            let refusal = self.store.write_batched(move |tx| match recheck.run(tx) {
                Ok(()) => audit::append(tx, &entry).map(|_| None),
                Err(err) => audit::append(tx, &entry.refused(err.code.as_str())).map(|_| Some(err)),
            })?;
            match refusal {
                None => Ok(value),
                Some(err) => Err(Failure::Audited(err)),
            }
        })
    }

    /// What every operation shares: its time, request id and audit entry, the KEK when
    /// `unlock`, purging keys whose deletion is due, and auditing a refusal.
    fn run<T>(
        &self,
        action: &str,
        key_param: Option<&str>,
        unlock: bool,
        body: impl FnOnce(i64, &mut AuditEntry, Option<Arc<Kek>>) -> Result<T, Failure>,
    ) -> KmsResult<T> {
        let now = (self.clock)();
        let request_id = new_uuid()?;
        let mut entry = AuditEntry::new(now, &request_id, &self.principal, action);
        entry.key_id = key_param.map(str::to_string);
        let result = (|| {
            let kek = if unlock { Some(self.kek()?) } else { None };
            self.purge_due_keys(now, &request_id)?;
            body(now, &mut entry, kek)
        })();
        result.map_err(|failure| {
            let mut err = match failure {
                Failure::Audited(err) => err,
                Failure::Unaudited(err) => self.audit_refusal(entry.refused(err.code.as_str()), err),
            };
            err.request_id = Some(request_id);
            err
        })
    }

    /// Runs the caller's guard, if any, against the aliases `tx` sees.
    fn check_guard(&self, tx: &Transaction<'_>) -> KmsResult<()> {
        match &self.guard {
            Some(guard) => guard(&|alias: &str| Ok(store::get_alias(tx, alias)?.map(|a| a.key_id))),
            None => Ok(()),
        }
    }

    /// Appends `refused` (the audit entry of `error`) through the group commit; the
    /// error to answer with is `error`, or, when the entry could not be written, a store
    /// error naming both.
    fn audit_refusal(&self, refused: AuditEntry, error: KmsError) -> KmsError {
        match self.store.write_batched(move |tx| audit::append(tx, &refused)) {
            Ok(_) => error,
            Err(audit_error) => KmsError { request_id: error.request_id.clone(), ..unaudited(&error, &audit_error) },
        }
    }

    /// Records a request refused before it reached an operation (the server's policy
    /// check) with its principal and error code, and returns the error to answer with: the
    /// refusal, or, when its audit entry could not be written, a store error naming it.
    pub fn refuse_audited(&self, action: &str, key_param: Option<&str>, error: KmsError) -> KmsError {
        let mut entry =
            AuditEntry::new((self.clock)(), error.request_id.as_deref().unwrap_or(""), &self.principal, action);
        entry.key_id = key_param.map(str::to_string);
        self.audit_refusal(entry.refused(error.code.as_str()), error)
    }

    /// Deletes keys whose pending window has passed, auditing each deletion, in a
    /// transaction of its own: a deletion that has come due happens even when the
    /// operation that noticed it is refused.
    fn purge_due_keys(&self, now: i64, request_id: &str) -> KmsResult<()> {
        if self.store.read(|tx| store::keys_due_for_deletion(tx, now))?.is_empty() {
            return Ok(());
        }
        self.store.write(|tx| {
            for key_id in store::keys_due_for_deletion(tx, now)? {
                store::delete_key(tx, &key_id)?;
                self.signing_keys.forget_key(&key_id);
                let mut entry = AuditEntry::new(now, request_id, SYSTEM_PRINCIPAL, "PurgeKey");
                entry.key_id = Some(key_id);
                audit::append(tx, &entry)?;
            }
            Ok(())
        })
    }

    /// The KEK, derived (and checked against the store) once per process.
    pub(crate) fn kek(&self) -> KmsResult<Arc<Kek>> {
        let mut cached = self.kek.lock().map_err(|_| KmsError::internal("the key lock is poisoned"))?;
        if let Some(kek) = cached.as_ref() {
            return Ok(kek.clone());
        }
        let kek = Arc::new(self.unlock_store()?);
        *cached = Some(kek.clone());
        Ok(kek)
    }

    /// Derives the KEK from the secret with the store's salt, or, for a store that has
    /// none yet, sets salt, parameters and check value (first writer wins).
    fn unlock_store(&self) -> KmsResult<Kek> {
        if let Some(stored) = self.store.read(kdf_settings)? {
            let secret = self.secret.read(false)?;
            let kek = Kek::derive(&secret, &stored.salt, stored.params)?;
            kek.verify_check(&stored.check)?;
            return Ok(kek);
        }
        let secret = self.secret.read(true)?;
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| KmsError::internal(format!("the OS random generator failed: {e}")))?;
        let params = KdfParams::default();
        let kek = Kek::derive(&secret, &salt, params)?;
        let check = kek.make_check()?;
        let stored = self.store.write(|tx| {
            if let Some(settings) = kdf_settings(tx)? {
                return Ok(settings);
            }
            store::meta_set(tx, KDF_SALT, &salt)?;
            store::meta_set(tx, KDF_PARAMS, encode_params(params).as_bytes())?;
            store::meta_set(tx, KEK_CHECK, &check)?;
            Ok(KdfSettings { salt: salt.to_vec(), params, check: check.clone() })
        })?;
        if stored.salt == salt {
            return Ok(kek);
        }
        // Another process locked the store first; use its salt.
        let kek = Kek::derive(&secret, &stored.salt, stored.params)?;
        kek.verify_check(&stored.check)?;
        Ok(kek)
    }
}

/// A refusal whose audit entry could not be written: still a refusal, but the KMS must
/// not answer as if all were well, since its log now misses an event.
fn unaudited(refusal: &KmsError, audit_error: &KmsError) -> KmsError {
    KmsError::new(
        ErrorCode::StoreUnavailable,
        format!(
            "the request was refused ({}: {}), and its audit entry could not be written ({}); nothing was done; the KMS's operator must check the store",
            refusal.code, refusal.message, audit_error.message
        ),
    )
}

fn encode_params(params: KdfParams) -> String {
    format!("argon2id m={} t={} p={}", params.memory_kib, params.iterations, params.parallelism)
}

fn decode_params(text: &str) -> Option<KdfParams> {
    let mut fields = text.strip_prefix("argon2id ")?.split(' ');
    let mut next = |name: &str| fields.next()?.strip_prefix(name)?.parse().ok();
    let params = KdfParams { memory_kib: next("m=")?, iterations: next("t=")?, parallelism: next("p=")? };
    fields.next().is_none().then_some(params)
}

/// How the store's KEK is derived and checked, as kept in `meta`.
struct KdfSettings {
    salt: Vec<u8>,
    params: KdfParams,
    check: Vec<u8>,
}

fn kdf_settings(tx: &Transaction<'_>) -> KmsResult<Option<KdfSettings>> {
    let (Some(salt), Some(params), Some(check)) =
        (store::meta_get(tx, KDF_SALT)?, store::meta_get(tx, KDF_PARAMS)?, store::meta_get(tx, KEK_CHECK)?)
    else {
        return Ok(None);
    };
    let altered = |why: String| {
        KmsError::new(
            ErrorCode::StoreUnavailable,
            format!("the store's key-derivation parameters {why}: the store was altered; restore it from a backup"),
        )
    };
    let text = String::from_utf8_lossy(&params);
    let params = decode_params(&text).ok_or_else(|| altered("are unreadable".into()))?;
    params.check_bounds().map_err(|why| altered(format!("are out of bounds ({why})")))?;
    Ok(Some(KdfSettings { salt, params, check }))
}

impl<'a> Ctx<'a> {
    fn new(
        tx: &'a Transaction<'a>,
        now: i64,
        entry: &'a mut AuditEntry,
        kek: Option<Arc<Kek>>,
        signing_keys: &'a KeyCache,
    ) -> Ctx<'a> {
        Ctx { tx, now, entry, kek, signing_keys, used_key: None }
    }

    /// The key a `KeyId` parameter names, in any state; records its real id in the audit entry.
    fn key(&mut self, key_param: &str) -> KmsResult<KeyRow> {
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
        self.used_key = Some((key.key_id.clone(), false));
        Ok(key)
    }

    /// The key, refused unless it is enabled.
    fn enabled_key(&mut self, key_param: &str) -> KmsResult<KeyRow> {
        let key = self.key(key_param)?;
        refuse_unless_enabled(&key)?;
        self.used_key = Some((key.key_id.clone(), true));
        Ok(key)
    }

    /// The key's version `key_version_id`; records it in the audit entry.
    fn version(&mut self, key: &KeyRow, key_version_id: &str) -> KmsResult<VersionRow> {
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
    fn key_version_for(
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
    fn unseal(&self, version: &VersionRow) -> KmsResult<Zeroizing<Vec<u8>>> {
        let kek = self
            .kek
            .as_ref()
            .ok_or_else(|| KmsError::internal("a private-key operation ran without unlocking the store"))?;
        kek.open(&version.sealed_private_key, &private_key_aad(&version.key_id, &version.key_version_id)).ok_or_else(
            || {
                KmsError::internal(format!(
                    "the sealed private key of version {} does not open although the passphrase is right: \
                     the store was altered; restore it from a backup",
                    version.key_version_id
                ))
            },
        )
    }

    /// The version's private key parsed for signing: kept from an earlier call with the
    /// same sealed bytes, or unsealed and parsed now (and kept).
    fn signing_key(&self, key: &KeyRow, version: &VersionRow) -> KmsResult<Arc<keys::SigningKey>> {
        let (key_id, key_version_id) = (&version.key_id, &version.key_version_id);
        self.signing_keys.get_or_parse(key_id, key_version_id, &version.sealed_private_key, || {
            let private = self.unseal(version)?;
            keys::SigningKey::parse(key.key_spec, &private).map_err(key_error)
        })
    }

    /// Generates a key pair and stores it, sealed, as a new version of `key`.
    fn add_version(&mut self, key: &KeyRow) -> KmsResult<VersionRow> {
        let pair = keys::generate(key.key_spec).map_err(|e| KmsError::internal(e.to_string()))?;
        let key_version_id = new_uuid()?;
        let kek =
            self.kek.as_ref().ok_or_else(|| KmsError::internal("key generation ran without unlocking the store"))?;
        let sealed = kek.seal(&pair.private_pkcs8, &private_key_aad(&key.key_id, &key_version_id))?;
        let version = VersionRow {
            key_id: key.key_id.clone(),
            key_version_id,
            creation_date: self.now,
            public_key: pair.public_spki,
            sealed_private_key: sealed,
        };
        store::insert_version(self.tx, &version)?;
        self.entry.key_version_id = Some(version.key_version_id.clone());
        Ok(version)
    }

    fn metadata(&self, key: &KeyRow) -> KmsResult<KeyMetadata> {
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
            protection_level: "SOFTWARE".to_string(),
            primary_key_version: first.first().map(|v| v.key_version_id.clone()).unwrap_or_default(),
            automatic_rotation: "Disabled".to_string(),
        })
    }

    fn request_id(&self) -> String {
        self.entry.request_id.clone()
    }

    fn empty(&self) -> EmptyResponse {
        EmptyResponse { request_id: self.request_id() }
    }
}

fn refuse_unless_enabled(key: &KeyRow) -> KmsResult<()> {
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

fn check_algorithm(key: &KeyRow, algorithm: Algorithm) -> KmsResult<()> {
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

fn check_page(page: &PageRequest) -> KmsResult<(u64, u64)> {
    if page.page_number < 1 {
        return Err(KmsError::invalid("PageNumber", "must be 1 or more"));
    }
    if !(1..=100).contains(&page.page_size) {
        return Err(KmsError::invalid("PageSize", "must be between 1 and 100"));
    }
    let size = u64::from(page.page_size);
    Ok(((u64::from(page.page_number) - 1) * size, size))
}

fn digest_b64(digest: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(digest)
}

fn key_error(err: keys::KeyError) -> KmsError {
    match err {
        keys::KeyError::AlgorithmMismatch { .. } => KmsError::new(ErrorCode::UnsupportedOperation, err.to_string()),
        keys::KeyError::DigestLength(_) => KmsError::invalid("Digest", err),
        keys::KeyError::PlaintextTooLong { .. } => KmsError::invalid("Plaintext", err),
        keys::KeyError::DecryptionFailed => KmsError::invalid("CiphertextBlob", err),
        keys::KeyError::MalformedKey(_) | keys::KeyError::Provider(_) => KmsError::internal(err.to_string()),
    }
}

impl Kms for LocalKms {
    fn create_key(&self, request: &CreateKeyRequest) -> KmsResult<KeyMetadataResponse> {
        if !request.key_spec.allows_usage(request.key_usage) {
            let refusal = KmsError::new(
                ErrorCode::UnsupportedOperation,
                format!("{} keys cannot be {}; use RSA_2048 for encryption", request.key_spec, request.key_usage),
            );
            return self.execute(Action::CreateKey, None, false, |_| Err(refusal));
        }
        self.execute(Action::CreateKey, None, true, |ctx| {
            let key = KeyRow {
                key_id: new_uuid()?,
                key_spec: request.key_spec,
                key_usage: request.key_usage,
                key_state: KeyState::Enabled,
                description: request.description.clone(),
                creator: ctx.entry.principal.clone(),
                creation_date: ctx.now,
                delete_date: None,
            };
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
            let (offset, limit) = check_page(request)?;
            let keys = store::list_keys(ctx.tx, offset, limit)?
                .into_iter()
                .map(|k| KeyListEntry { key_arn: key_arn(&k.key_id), key_id: k.key_id })
                .collect();
            Ok(ListKeysResponse {
                request_id: ctx.request_id(),
                keys: Keys { key: keys },
                page_number: request.page_number,
                page_size: request.page_size,
                total_count: store::count_keys(ctx.tx)?,
            })
        })
    }

    fn list_key_versions(&self, request: &ListKeyVersionsRequest) -> KmsResult<ListKeyVersionsResponse> {
        self.execute_read(Action::ListKeyVersions, Some(&request.key_id), false, |ctx| {
            let key = ctx.key(&request.key_id)?;
            let (offset, limit) = check_page(&request.page)?;
            let versions = store::list_versions(ctx.tx, &key.key_id, offset, limit)?.iter().map(key_version).collect();
            Ok(ListKeyVersionsResponse {
                request_id: ctx.request_id(),
                key_versions: KeyVersions { key_version: versions },
                page_number: request.page.page_number,
                page_size: request.page.page_size,
                total_count: store::count_versions(ctx.tx, &key.key_id)?,
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
            let (offset, limit) = check_page(request)?;
            let aliases = store::list_aliases(ctx.tx, offset, limit)?
                .into_iter()
                .map(|a| AliasEntry { alias_arn: alias_arn(&a.alias_name), alias_name: a.alias_name, key_id: a.key_id })
                .collect();
            Ok(ListAliasesResponse {
                request_id: ctx.request_id(),
                aliases: Aliases { alias: aliases },
                page_number: request.page_number,
                page_size: request.page_size,
                total_count: store::count_aliases(ctx.tx)?,
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
            let private = ctx.unseal(&version)?;
            let plaintext = keys::decrypt(key.key_spec, request.algorithm, &private, &request.ciphertext_blob, b"")
                .map_err(key_error)?;
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
fn refuse_state_change(key: &KeyRow, to: &str, from: KeyState, hint: &str) -> KmsResult<()> {
    if key.key_state == from {
        return Err(KmsError::new(
            ErrorCode::StateModifiedFailed,
            format!("key {} is {} and cannot be {to}: {hint}", key.key_id, key.key_state),
        ));
    }
    Ok(())
}

fn key_version(version: &VersionRow) -> KeyVersion {
    KeyVersion {
        key_id: version.key_id.clone(),
        key_version_id: version.key_version_id.clone(),
        creation_date: format_unix(version.creation_date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::spec::{KeySpec, KeyUsage};
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
        let guarded =
            racing(&kms, move || other.disable_key(&KeyIdRequest { key_id: key_id.clone() }).map(drop).unwrap());
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
        let signed =
            kms.asymmetric_sign(&SignRequest { key_version_id: second.primary_key_version.clone(), ..request });
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
            assert_eq!(
                keys::verify_digest(KeySpec::EcP256, Algorithm::EcdsaSha256, &spki, &[1; 32], &signature),
                Ok(true)
            );
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
        kms.schedule_key_deletion(&ScheduleKeyDeletionRequest {
            key_id: key.key_id.clone(),
            pending_window_in_days: 7,
        })
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
            kms.store().read(|tx| Ok(tx.query_row("SELECT COUNT(*) FROM key_versions", [], |r| r.get(0))?)).unwrap();
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
                    [&key.primary_key_version, &second],
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
            let pkcs8 =
                kek.open(&version.sealed_private_key, &private_key_aad(&key.key_id, &version.key_version_id)).unwrap();
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
            assert!(
                !bytes.windows(der.len()).any(|w| w == der.as_slice()),
                "a private key's DER is in the store files"
            );
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
        });
        assert_eq!(created.unwrap_err().code, ErrorCode::WrongPassphrase);
        assert_eq!(wrong.list_keys(&PageRequest::default()).unwrap().total_count, 1);
        assert!(
            wrong.describe_key(&KeyIdRequest { key_id: key.key_id.clone() }).is_ok(),
            "metadata needs no passphrase"
        );
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
}
