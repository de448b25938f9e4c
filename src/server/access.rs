//! Access keys for `keyseal serve`, RAM-style: an AccessKeyId and a secret per name, the
//! secret sealed at rest like a private key (AES-256-GCM under the store's KEK, bound to
//! its AccessKeyId), shown once at creation; policies attached by name. Every change is
//! audited. They are `LocalKms` methods written here, beside the request authentication
//! and authorization that use them: only `keyseal serve` and `keyseal access` need them.

use crate::kms::audit::{self, AuditEntry};
use crate::kms::db::Tx;
use crate::kms::error::{ErrorCode, KmsError};
use crate::kms::ids::new_uuid;
use crate::kms::store::{Schema, Store, Table};
use crate::kms::{KmsResult, LocalKms};
use crate::params;
use crate::server::policy::Policy;
use serde::Serialize;
use zeroize::Zeroizing;

/// Access keys' tables in the store.
pub const SCHEMA: Schema = Schema {
    name: "access",
    migrations: &[
        // 1: access keys for `keyseal serve` and the policies attached to them.
        "CREATE TABLE access_keys (
            access_key_id TEXT PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            sealed_secret BLOB NOT NULL,
            status        TEXT NOT NULL,
            created       INTEGER NOT NULL
         );
         CREATE TABLE access_policies (
            name        TEXT NOT NULL REFERENCES access_keys(name) ON DELETE CASCADE,
            policy_name TEXT NOT NULL,
            document    TEXT NOT NULL,
            attached    INTEGER NOT NULL,
            PRIMARY KEY (name, policy_name)
         );",
        // 2: request nonces `keyseal serve` has seen, so replay protection holds across
        // server processes sharing the store (and across restarts).
        "CREATE TABLE nonces (
            access_key_id TEXT NOT NULL,
            nonce         TEXT NOT NULL,
            seen          INTEGER NOT NULL,
            PRIMARY KEY (access_key_id, nonce)
         );
         CREATE INDEX nonces_by_time ON nonces(seen);",
    ],
    postgres: &[
        // 1: SQLite's 1 and 2.
        "CREATE TABLE access_keys (
            access_key_id TEXT PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            sealed_secret BYTEA NOT NULL,
            status        TEXT NOT NULL,
            created       BIGINT NOT NULL
         );
         CREATE TABLE access_policies (
            name        TEXT NOT NULL REFERENCES access_keys(name) ON DELETE CASCADE,
            policy_name TEXT NOT NULL,
            document    TEXT NOT NULL,
            attached    BIGINT NOT NULL,
            PRIMARY KEY (name, policy_name)
         );
         CREATE TABLE nonces (
            access_key_id TEXT NOT NULL,
            nonce         TEXT NOT NULL,
            seen          BIGINT NOT NULL,
            PRIMARY KEY (access_key_id, nonce)
         );
         CREATE INDEX nonces_by_time ON nonces(seen);",
    ],
    tables: &[
        Table {
            name: "access_keys",
            columns: "access_key_id, name, sealed_secret, status, created",
            select: "ORDER BY name",
        },
        Table {
            name: "access_policies",
            columns: "name, policy_name, document, attached",
            select: "ORDER BY name, policy_name",
        },
        Table { name: "nonces", columns: "access_key_id, nonce, seen", select: "ORDER BY access_key_id, nonce" },
    ],
};

/// The longest SignatureNonce accepted (the SDKs send 32 to 36 characters).
pub const MAX_NONCE_LEN: usize = 128;

/// An access key as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKey {
    /// Its id, sent with every request.
    pub access_key_id: String,
    /// The name it was created under.
    pub name: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// Creation time, `YYYY-MM-DDThh:mm:ssZ`.
    pub create_date: String,
    /// Names of the attached policies.
    pub policies: Vec<String>,
}

/// A new access key with its secret, to be shown once.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewAccessKey {
    /// The id.
    pub access_key_id: String,
    /// The secret; zeroized on drop, never stored in clear.
    #[serde(serialize_with = "reveal")]
    pub access_key_secret: Zeroizing<String>,
}

fn reveal<S: serde::Serializer>(secret: &Zeroizing<String>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret)
}

/// What the server needs to authenticate and authorize a request.
pub struct Credential {
    /// The access key's name, recorded as the principal.
    pub name: String,
    /// The secret, for the HMAC.
    pub secret: Zeroizing<Vec<u8>>,
    /// Whether the key may be used.
    pub active: bool,
    /// Its policies.
    pub policies: Vec<Policy>,
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_text(length: usize) -> KmsResult<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(vec![0u8; length]);
    getrandom::fill(&mut bytes).map_err(|e| KmsError::internal(format!("the OS random generator failed: {e}")))?;
    // 256 is a multiple of 62 * 4 + 8; the small bias of `% 62` leaves over 5.9 bits per character.
    Ok(Zeroizing::new(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()))
}

fn secret_aad(access_key_id: &str) -> Vec<u8> {
    format!("keyseal/access-key-secret/v1\0{access_key_id}").into_bytes()
}

fn check_name(name: &str) -> KmsResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(KmsError::invalid("Name", format!("{name:?} must be 1-64 letters, digits, '-', '_' or '.'")))
    }
}

fn not_found(name: &str) -> KmsError {
    KmsError::new(
        ErrorCode::AccessKeyNotFound,
        format!("there is no access key named {name}; `keyseal access list` shows them"),
    )
}

impl LocalKms {
    /// The store, with access keys' tables brought up to date.
    fn access_store(&self) -> KmsResult<&Store> {
        self.store().ensure(&SCHEMA)?;
        Ok(self.store())
    }

    fn audit_access(&self, tx: &dyn Tx, action: &str, detail: String) -> KmsResult<()> {
        let mut entry = AuditEntry::new(crate::clock::now_unix(), &new_uuid()?, self.principal(), action);
        entry.detail = Some(detail);
        audit::append(tx, &entry).map(|_| ())
    }

    /// Creates an access key for `name`; the secret is returned once and stored sealed.
    pub fn create_access_key(&self, name: &str) -> KmsResult<NewAccessKey> {
        check_name(name)?;
        let kek = self.kek()?;
        let access_key_id = format!("LTAI{}", random_text(20)?.as_str());
        let secret = random_text(30)?;
        let sealed = kek.seal(secret.as_bytes(), &secret_aad(&access_key_id))?;
        self.access_store()?.write(|tx| {
            let taken: Option<String> =
                tx.query_opt("SELECT name FROM access_keys WHERE name = ?1", params![name], |r| r.get(0))?;
            if taken.is_some() {
                return Err(KmsError::invalid("Name", format!("an access key named {name} exists; delete it first or choose another name")));
            }
            tx.execute(
                "INSERT INTO access_keys (access_key_id, name, sealed_secret, status, created) VALUES (?1, ?2, ?3, 'Active', ?4)",
                params![access_key_id, name, sealed, crate::clock::now_unix()],
            )?;
            self.audit_access(tx, "CreateAccessKey", format!("name={name} access_key_id={access_key_id}"))
        })?;
        Ok(NewAccessKey { access_key_id, access_key_secret: secret })
    }

    /// Attaches (or replaces) the policy `policy_name` of access key `name`.
    pub fn attach_policy(&self, name: &str, policy_name: &str, document: &str) -> KmsResult<()> {
        Policy::parse(document).map_err(|e| KmsError::invalid("PolicyDocument", e))?;
        self.access_store()?.write(|tx| {
            let exists: Option<String> =
                tx.query_opt("SELECT name FROM access_keys WHERE name = ?1", params![name], |r| r.get(0))?;
            exists.ok_or_else(|| not_found(name))?;
            tx.execute(
                "INSERT INTO access_policies (name, policy_name, document, attached) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(name, policy_name) DO UPDATE SET document = excluded.document, attached = excluded.attached",
                params![name, policy_name, document, crate::clock::now_unix()],
            )?;
            self.audit_access(tx, "AttachPolicy", format!("name={name} policy={policy_name}"))
        })
    }

    /// Every access key, by name.
    pub fn list_access_keys(&self) -> KmsResult<Vec<AccessKey>> {
        self.access_store()?.read(|tx| {
            let keys = tx.query_map(
                "SELECT access_key_id, name, status, created FROM access_keys ORDER BY name",
                params![],
                |row| {
                    Ok(AccessKey {
                        access_key_id: row.get(0)?,
                        name: row.get(1)?,
                        status: row.get(2)?,
                        create_date: crate::clock::format_unix(row.get(3)?),
                        policies: Vec::new(),
                    })
                },
            )?;
            let mut with_policies = Vec::new();
            for mut key in keys {
                key.policies = tx.query_map(
                    "SELECT policy_name FROM access_policies WHERE name = ?1 ORDER BY policy_name",
                    params![key.name],
                    |r| r.get(0),
                )?;
                with_policies.push(key);
            }
            Ok(with_policies)
        })
    }

    /// Enables or disables access key `name`.
    pub fn set_access_key_active(&self, name: &str, active: bool) -> KmsResult<()> {
        self.access_store()?.write(|tx| {
            let status = if active { "Active" } else { "Inactive" };
            if tx.execute("UPDATE access_keys SET status = ?2 WHERE name = ?1", params![name, status])? == 0 {
                return Err(not_found(name));
            }
            self.audit_access(tx, if active { "EnableAccessKey" } else { "DisableAccessKey" }, format!("name={name}"))
        })
    }

    /// Deletes access key `name` and its policies.
    pub fn delete_access_key(&self, name: &str) -> KmsResult<()> {
        self.access_store()?.write(|tx| {
            if tx.execute("DELETE FROM access_keys WHERE name = ?1", params![name])? == 0 {
                return Err(not_found(name));
            }
            self.audit_access(tx, "DeleteAccessKey", format!("name={name}"))
        })
    }

    /// Records a request's nonce for its access key in the store, so every server process
    /// sharing the store (and the next one, after a restart) refuses it again within
    /// `window` seconds; nonces older than twice that are forgotten. Bounded in length: a
    /// nonce is a random token, not a payload. Not synced on its own: the request's answer
    /// waits for its audit entry's synced commit, which makes the nonce durable too.
    pub fn remember_nonce(&self, access_key_id: &str, nonce: &str, now: i64, window: i64) -> KmsResult<()> {
        if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
            return Err(KmsError::new(
                ErrorCode::IncompleteSignature,
                format!("the request's SignatureNonce must be 1 to {MAX_NONCE_LEN} characters"),
            ));
        }
        let (id, nonce) = (access_key_id.to_string(), nonce.to_string());
        let fresh = self
            .access_store()?
            .write_batched_unsynced(move |tx| remember_nonce(tx, &id, &nonce, now, now - 2 * window))?;
        if !fresh {
            return Err(KmsError::new(
                ErrorCode::NonceUsed,
                "this SignatureNonce was already used: every request needs a fresh nonce",
            ));
        }
        Ok(())
    }

    /// The credential behind an AccessKeyId, secret unsealed; the key and its policies as
    /// one snapshot shows them.
    pub fn credential(&self, access_key_id: &str) -> KmsResult<Credential> {
        type Row = (String, Vec<u8>, String);
        let found: Option<(Row, Vec<String>)> = self.access_store()?.read(|tx| {
            let row: Option<Row> = tx.query_opt(
                "SELECT name, sealed_secret, status FROM access_keys WHERE access_key_id = ?1",
                params![access_key_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let Some(row) = row else { return Ok(None) };
            let documents =
                tx.query_map("SELECT document FROM access_policies WHERE name = ?1", params![row.0], |r| r.get(0))?;
            Ok(Some((row, documents)))
        })?;
        let ((name, sealed, status), documents) = found.ok_or_else(|| {
            KmsError::new(ErrorCode::AccessKeyNotFound, format!("the AccessKeyId {access_key_id} does not exist"))
        })?;
        let secret = self.kek()?.open(&sealed, &secret_aad(access_key_id)).ok_or_else(|| {
            KmsError::internal(format!("the sealed secret of access key {name} does not open: the store was altered"))
        })?;
        // A policy that no longer parses must not silently vanish (it may be a Deny).
        let policies = documents.iter().map(|d| Policy::parse(d)).collect::<Result<Vec<_>, _>>().map_err(|e| {
            KmsError::internal(format!("a policy of access key {name} is unreadable ({e}); attach it again"))
        })?;
        Ok(Credential { name, secret, active: status == "Active", policies })
    }
}

/// Records that `access_key_id` used `nonce` at `now`, forgetting nonces seen before
/// `forget_before`; false when the pair was seen already (a replay).
fn remember_nonce(
    tx: &dyn Tx,
    access_key_id: &str,
    nonce: &str,
    now: i64,
    forget_before: i64,
) -> Result<bool, KmsError> {
    tx.execute("DELETE FROM nonces WHERE seen < ?1", params![forget_before])?;
    let added = tx.execute(
        "INSERT INTO nonces (access_key_id, nonce, seen) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![access_key_id, nonce, now],
    )?;
    Ok(added == 1)
}
