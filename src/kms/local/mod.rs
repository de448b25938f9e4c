//! LocalKms: the embedded implementation of `Kms`. An operation that changes keys or
//! aliases runs in one write transaction that also appends its audit entry; one that only
//! reads (signing among them) runs on a read snapshot, side by side with others, and its
//! audit entry is committed through the group commit after its preconditions are checked
//! again there. A refused operation changes nothing and is audited on its own. Private keys are unsealed only for the moment
//! of a decrypt; a signing key, once unsealed and parsed, is kept parsed in memory
//! (`key_cache`: bounded, zeroized when dropped, forgotten when its key is disabled or
//! deleted, and used only after the key's state is checked in the operation's
//! transaction). The key-encryption key is derived once per process.
//!
//! The operations are in `operations.rs`; what they share to find keys, versions and
//! their private halves in `lookup.rs`; deriving and checking the key-encryption key in
//! `unlock.rs`; the PKCS#11 token of HSM keys in `hsm.rs`; this file runs every operation (transaction, guard, audit entry, refusal).

mod hsm;
mod lookup;
mod operations;
mod unlock;

use hsm::{HSM_DETAIL, TokenSlot};
use lookup::*;

use crate::clock::{format_unix, now_unix};
use crate::crypto::keys;
use crate::crypto::spec::Algorithm;
use crate::kms::api::*;
use crate::kms::audit::{self, AuditEntry};
use crate::kms::db::Tx;
use crate::kms::error::{ErrorCode, KmsError};
use crate::kms::ids::{KeyRef, alias_arn, check_alias_name, key_arn, new_uuid};
use crate::kms::key_cache::KeyCache;
use crate::kms::seal::{KdfParams, Kek, SecretSource, private_key_aad};
use crate::kms::spec::{KeyState, ProtectionLevel};
use crate::kms::store::{self, KeyRow, PrivateHalf, Store, VersionRow};
use crate::kms::{Action, Kms, KmsResult};
use base64::Engine;
use std::path::Path;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

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
    /// The Argon2id parameters a store that has none yet is given.
    new_store_kdf: KdfParams,
    /// The PKCS#11 token of HSM keys, opened on first use.
    token: Arc<TokenSlot>,
}

/// What an operation sees: its transaction, the time, its audit entry and the KEK when
/// it asked for one.
struct Ctx<'a> {
    tx: &'a dyn Tx,
    now: i64,
    entry: &'a mut AuditEntry,
    kek: Option<Arc<Kek>>,
    signing_keys: &'a KeyCache,
    token: &'a TokenSlot,
    /// The CKA_IDs of the token objects this operation made: destroyed again when it fails,
    /// so a refused or failed operation leaves nothing in the token either.
    new_token_objects: Vec<Vec<u8>>,
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
    token: Arc<TokenSlot>,
    now: i64,
}

impl Recheck {
    /// The guard still allows the request, and the `KeyId` parameter still names the key
    /// the operation used, still enabled when it had to be.
    fn run(&self, tx: &dyn Tx) -> KmsResult<()> {
        if let Some(guard) = &self.guard {
            guard(&|alias: &str| Ok(store::get_alias(tx, alias)?.map(|a| a.key_id)))?;
        }
        let (Some(key_param), Some((used_id, needs_enabled))) = (&self.key_param, &self.used_key) else {
            return Ok(());
        };
        let mut scratch = AuditEntry::new(self.now, "", "", "");
        let mut ctx = Ctx::new(tx, self.now, &mut scratch, None, &self.signing_keys, &self.token);
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
            new_store_kdf: KdfParams::default(),
            token: Arc::new(TokenSlot::default()),
        })
    }

    /// The same KMS using the PKCS#11 token `uri` names for HSM keys, instead of the one the
    /// store names (`KEYSEAL_PKCS11_URI`).
    pub fn with_token_uri(&self, uri: Option<String>) -> LocalKms {
        LocalKms { token: Arc::new(TokenSlot::with_uri(uri)), ..self.clone() }
    }

    /// The same KMS giving a store that has no key-derivation parameters yet `params`
    /// instead of the default (`KEYSEAL_KDF`); a store that has them keeps its own.
    pub fn with_new_store_kdf(&self, params: KdfParams) -> LocalKms {
        LocalKms { new_store_kdf: params, ..self.clone() }
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

    /// Whether this KMS can answer requests now: the store reads, its key-encryption key is
    /// derived, and its PKCS#11 token, when it has one, is logged in. What `serve`'s
    /// `/readyz` asks; the error says what is missing.
    pub fn ready(&self) -> KmsResult<()> {
        self.store.read(|tx| tx.query_value::<u64>("SELECT COUNT(*) FROM meta", crate::params![]))?;
        if self.kek.lock().map_err(|_| KmsError::internal("the key lock is poisoned"))?.is_none() {
            return Err(KmsError::new(ErrorCode::PassphraseRequired, "the store is not unlocked"));
        }
        self.configured_token().map(|_| ())
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
                let mut ctx = Ctx::new(tx, now, entry, kek, &self.signing_keys, &self.token);
                let done = op(&mut ctx).and_then(|value| audit::append(tx, ctx.entry).map(|_| value));
                if done.is_err() {
                    ctx.discard_new_token_objects();
                }
                done
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
                let mut ctx = Ctx::new(tx, now, entry, kek, &self.signing_keys, &self.token);
                let value = op(&mut ctx)?;
                Ok((value, ctx.used_key))
            })?;
            let recheck = Recheck {
                guard: self.guard.clone(),
                key_param: key_param.map(str::to_string),
                used_key,
                signing_keys: self.signing_keys.clone(),
                token: self.token.clone(),
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
    fn check_guard(&self, tx: &dyn Tx) -> KmsResult<()> {
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
                // An HSM key whose token cannot be reached now stays pending (and unusable)
                // until a later request finds the token: its objects are never orphaned.
                let Ok(destroyed) = self.destroy_token_objects(tx, &key_id) else { continue };
                store::delete_key(tx, &key_id)?;
                self.signing_keys.forget_key(&key_id);
                let mut entry = AuditEntry::new(now, request_id, SYSTEM_PRINCIPAL, "PurgeKey");
                entry.key_id = Some(key_id);
                entry.detail = (destroyed > 0).then(|| format!("{HSM_DETAIL} token_objects_destroyed={destroyed}"));
                audit::append(tx, &entry)?;
            }
            Ok(())
        })
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

#[cfg(test)]
mod tests;
