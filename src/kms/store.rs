//! The embedded database: one SQLite file (`keyseal.db`) in WAL mode, its schema and
//! migrations, and the row-level reads and writes the KMS needs. Every change runs in an
//! IMMEDIATE transaction on the one writer connection, so two `keyseal` processes on one
//! store take turns (waiting up to the busy timeout) instead of failing half-way or
//! corrupting the file; reads run on a pool of read-only connections (`read_pool`), and
//! the small writes every request makes (its audit entry, its nonce) are committed in
//! groups (`group_commit`). The writer syncs every commit (`synchronous = FULL`): a
//! commit that returned survives a crash of the process or of the machine.

use crate::crypto::spec::{KeySpec, KeyUsage};
use crate::kms::db::{Dialect, Row, ToParam, Tx};
use crate::kms::error::{ErrorCode, KmsError};
use crate::kms::group_commit::GroupCommit;
use crate::kms::postgres::{self, PgStore};
use crate::kms::read_pool::ReadPool;
use crate::kms::spec::{KeyState, ProtectionLevel};
use crate::params;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// The database file inside a store directory.
pub const DB_FILE: &str = "keyseal.db";
/// Prepared statements each connection keeps: every statement a request runs (about a
/// dozen), so none is parsed again.
pub const STATEMENT_CACHE: usize = 32;
/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A domain's tables: its migrations, applied in order, and the name under which the store
/// counts how many ran (`schema.NAME` in `meta`). Each domain owns its schema: the KMS's is
/// here, the CA index's in `ca::index`, access keys' in `server::access`. Each database has
/// its own list (a PostgreSQL store starts at today's tables, so its list is shorter); both
/// make the same tables and columns. Never edit a released migration: add one.
pub struct Schema {
    /// The domain, as `meta` names its count.
    pub name: &'static str,
    /// Its SQLite migrations, in order.
    pub migrations: &'static [&'static str],
    /// Its PostgreSQL migrations, in order.
    pub postgres: &'static [&'static str],
    /// Its tables as `store migrate` copies them, parents first.
    pub tables: &'static [Table],
}

/// A table as `store migrate` copies it: the columns to copy (not a generated key) and the
/// order (and filter) to read its rows in.
pub struct Table {
    /// The table.
    pub name: &'static str,
    /// Its columns, as a SELECT and INSERT list.
    pub columns: &'static str,
    /// What follows `FROM table`: an optional WHERE and the ORDER BY that keeps the rows'
    /// order (keys and versions keep their creation order, the audit chain its sequence).
    pub select: &'static str,
}

impl Schema {
    /// The migrations for `dialect`.
    fn for_dialect(&self, dialect: Dialect) -> &'static [&'static str] {
        match dialect {
            Dialect::Sqlite => self.migrations,
            Dialect::Postgres => self.postgres,
        }
    }
}

/// The KMS's tables: keys, versions, aliases, the audit log and store metadata.
pub const KMS_SCHEMA: Schema = Schema {
    name: "kms",
    migrations: &[
        // 1: keys, versions, aliases, the audit log and store metadata.
        "CREATE TABLE meta (
            name  TEXT PRIMARY KEY,
            value BLOB NOT NULL
         );
         CREATE TABLE keys (
            seq           INTEGER PRIMARY KEY AUTOINCREMENT,
            key_id        TEXT NOT NULL UNIQUE,
            key_spec      TEXT NOT NULL,
            key_usage     TEXT NOT NULL,
            key_state     TEXT NOT NULL,
            description   TEXT NOT NULL,
            creator       TEXT NOT NULL,
            creation_date INTEGER NOT NULL,
            delete_date   INTEGER
         );
         CREATE TABLE key_versions (
            seq                INTEGER PRIMARY KEY AUTOINCREMENT,
            key_id             TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
            key_version_id     TEXT NOT NULL UNIQUE,
            creation_date      INTEGER NOT NULL,
            public_key         BLOB NOT NULL,
            sealed_private_key BLOB NOT NULL
         );
         CREATE INDEX key_versions_by_key ON key_versions(key_id, seq);
         CREATE TABLE aliases (
            alias_name    TEXT PRIMARY KEY,
            key_id        TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
            creation_date INTEGER NOT NULL
         );
         CREATE TABLE audit (
            seq            INTEGER PRIMARY KEY,
            time           INTEGER NOT NULL,
            request_id     TEXT NOT NULL,
            principal      TEXT NOT NULL,
            action         TEXT NOT NULL,
            key_id         TEXT,
            key_version_id TEXT,
            algorithm      TEXT,
            digest         TEXT,
            result         TEXT NOT NULL,
            error_code     TEXT,
            prev_hash      BLOB NOT NULL,
            hash           BLOB NOT NULL
         );
         CREATE INDEX audit_by_key ON audit(key_id, seq);",
        // 2: what an audit entry did, in words.
        "ALTER TABLE audit ADD COLUMN detail TEXT;",
        // 3: keys whose private halves live in the store's PKCS#11 token: such a version keeps
        // its objects' CKA_ID and an empty sealed_private_key.
        "ALTER TABLE keys ADD COLUMN protection_level TEXT NOT NULL DEFAULT 'SOFTWARE';
         ALTER TABLE key_versions ADD COLUMN token_object_id BLOB;",
    ],
    postgres: &[
        // 1: SQLite's 1 to 3.
        "CREATE TABLE meta (
            name  TEXT PRIMARY KEY,
            value BYTEA NOT NULL
         );
         CREATE TABLE keys (
            seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            key_id           TEXT NOT NULL UNIQUE,
            key_spec         TEXT NOT NULL,
            key_usage        TEXT NOT NULL,
            key_state        TEXT NOT NULL,
            description      TEXT NOT NULL,
            creator          TEXT NOT NULL,
            creation_date    BIGINT NOT NULL,
            delete_date      BIGINT,
            protection_level TEXT NOT NULL DEFAULT 'SOFTWARE'
         );
         CREATE TABLE key_versions (
            seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            key_id             TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
            key_version_id     TEXT NOT NULL UNIQUE,
            creation_date      BIGINT NOT NULL,
            public_key         BYTEA NOT NULL,
            sealed_private_key BYTEA NOT NULL,
            token_object_id    BYTEA
         );
         CREATE INDEX key_versions_by_key ON key_versions(key_id, seq);
         CREATE TABLE aliases (
            alias_name    TEXT PRIMARY KEY,
            key_id        TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
            creation_date BIGINT NOT NULL
         );
         CREATE TABLE audit (
            seq            BIGINT PRIMARY KEY,
            time           BIGINT NOT NULL,
            request_id     TEXT NOT NULL,
            principal      TEXT NOT NULL,
            action         TEXT NOT NULL,
            key_id         TEXT,
            key_version_id TEXT,
            algorithm      TEXT,
            digest         TEXT,
            result         TEXT NOT NULL,
            error_code     TEXT,
            prev_hash      BYTEA NOT NULL,
            hash           BYTEA NOT NULL,
            detail         TEXT
         );
         CREATE INDEX audit_by_key ON audit(key_id, seq);",
    ],
    tables: &[
        // The schema counts are the target's own.
        Table { name: "meta", columns: "name, value", select: "WHERE name NOT LIKE 'schema.%' ORDER BY name" },
        Table { name: "keys", columns: KEY_COLUMNS, select: "ORDER BY seq" },
        Table { name: "key_versions", columns: VERSION_COLUMNS, select: "ORDER BY seq" },
        Table { name: "aliases", columns: "alias_name, key_id, creation_date", select: "ORDER BY alias_name" },
        Table {
            name: "audit",
            columns: "seq, time, request_id, principal, action, key_id, key_version_id, algorithm, digest, result, error_code, prev_hash, hash, detail",
            select: "ORDER BY seq",
        },
    ],
};

/// The `user_version` of a store that counts its schemas per domain, in `meta`. Stores made
/// before counted one sequence for all of them (1: the KMS's tables; 2: the audit detail
/// column and the CA index; 3: access keys; 4: nonces), which `migrate` translates once.
const PER_DOMAIN: usize = 5;

/// An open store, shared by threads: one writer connection behind a mutex, a pool of
/// readers, and the queue of writes waiting for the next group commit; on SQLite (a
/// directory) or on PostgreSQL (a `postgresql://` URL, see `kms::postgres`).
pub struct Store {
    db: Db,
    batch: GroupCommit,
    /// The domain schemas this process has brought up to date already.
    ensured: Mutex<Vec<&'static str>>,
}

/// The database behind a store.
enum Db {
    /// The embedded store: a file in WAL mode.
    Sqlite { writer: Mutex<Connection>, readers: ReadPool },
    /// A PostgreSQL database shared by replicas (boxed: its connections are large).
    Postgres(Box<PgStore>),
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, or connects to the PostgreSQL store
    /// `dir` names when it is a `postgresql://` URL, and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Store, KmsError> {
        match dir.to_str().filter(|text| postgres::is_url(text)) {
            Some(url) => Store::connect(url),
            None => Store::open_dir(dir),
        }
    }

    /// Connects to the PostgreSQL store at `url` and brings the KMS's tables up to date
    /// (under the migration lock, so replicas starting together do not race).
    pub fn connect(url: &str) -> Result<Store, KmsError> {
        let location = postgres::Location::parse(url).map_err(|why| KmsError::invalid("--store", why))?;
        let pg = PgStore::connect(location)?;
        pg.migrate(|tx| apply(tx, &KMS_SCHEMA))?;
        Ok(Store {
            db: Db::Postgres(Box::new(pg)),
            batch: GroupCommit::default(),
            ensured: Mutex::new(vec![KMS_SCHEMA.name]),
        })
    }

    fn open_dir(dir: &Path) -> Result<Store, KmsError> {
        create_private_dir(dir)?;
        refuse_unprotected(dir)?;
        let path = dir.join(DB_FILE);
        create_private_file(&path)?;
        let mut connection = Connection::open(&path)
            .map_err(|e| KmsError::store(&format!("cannot open the key store {}", path.display()), e))?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut connection)?;
        let readers = ReadPool::new(&path, BUSY_TIMEOUT);
        Ok(Store {
            db: Db::Sqlite { writer: Mutex::new(connection), readers },
            batch: GroupCommit::default(),
            ensured: Mutex::new(vec![KMS_SCHEMA.name]),
        })
    }

    /// Brings a domain's tables up to date (once per process): what a domain calls before
    /// it reads or writes its own tables.
    pub fn ensure(&self, schema: &'static Schema) -> Result<(), KmsError> {
        let poisoned = || KmsError::internal("the store lock is poisoned");
        if self.ensured.lock().map_err(|_| poisoned())?.contains(&schema.name) {
            return Ok(());
        }
        match &self.db {
            Db::Sqlite { .. } => self.write(|tx| apply(tx, schema))?,
            Db::Postgres(pg) => pg.migrate(|tx| apply(tx, schema))?,
        }
        self.ensured.lock().map_err(|_| poisoned())?.push(schema.name);
        Ok(())
    }

    /// The database: SQLite or PostgreSQL.
    pub fn dialect(&self) -> Dialect {
        match self.db {
            Db::Sqlite { .. } => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `work` in one write transaction (SQLite: IMMEDIATE; PostgreSQL: holding the
    /// write lock): committed when it returns `Ok`, rolled back (nothing changed) when it
    /// returns `Err`. `work` must not call back into the store's writes (it holds the writer).
    pub fn write<T>(&self, work: impl FnOnce(&dyn Tx) -> Result<T, KmsError>) -> Result<T, KmsError> {
        match &self.db {
            Db::Sqlite { writer, .. } => {
                let mut connection = writer.lock().map_err(|_| KmsError::internal("the store lock is poisoned"))?;
                let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let value = work(&tx)?;
                tx.commit()?;
                Ok(value)
            }
            Db::Postgres(pg) => pg.write(work),
        }
    }

    /// Runs `work` in the next group commit, inside a savepoint of its own: its changes
    /// are committed with the other writes waiting at that moment, or rolled back alone
    /// when it returns `Err`. Returns once the commit holding them is durable. For small,
    /// frequent writes (audit entries, nonces); `work` must not call back into the store's
    /// writes.
    pub fn write_batched<T, F>(&self, work: F) -> Result<T, KmsError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Tx) -> Result<T, KmsError> + Send + 'static,
    {
        self.submit(true, work)
    }

    /// `write_batched` without a sync of its own: committed with the next batch, durable
    /// once any later synced commit returns. For writes whose answer waits for a synced
    /// write anyway (a request's nonce: its response waits for its audit entry).
    pub fn write_batched_unsynced<T, F>(&self, work: F) -> Result<T, KmsError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Tx) -> Result<T, KmsError> + Send + 'static,
    {
        self.submit(false, work)
    }

    fn submit<T, F>(&self, synced: bool, work: F) -> Result<T, KmsError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Tx) -> Result<T, KmsError> + Send + 'static,
    {
        match &self.db {
            Db::Sqlite { writer, .. } => self.batch.submit(writer, synced, work),
            Db::Postgres(pg) => self.batch.submit(pg.writer(), synced, work),
        }
    }

    /// Runs `work` on a read snapshot of its own (a pooled read-only connection): it sees
    /// every commit that returned before it began and none made while it runs.
    pub fn read<T>(&self, work: impl FnOnce(&dyn Tx) -> Result<T, KmsError>) -> Result<T, KmsError> {
        match &self.db {
            Db::Sqlite { readers, .. } => {
                let mut connection = readers.get()?;
                let tx = connection.transaction_with_behavior(TransactionBehavior::Deferred)?;
                work(&tx)
            }
            Db::Postgres(pg) => pg.read(work),
        }
    }
}

/// What [`Store::copy_into`] copied: rows per table, and the audit chain's head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyReport {
    /// `(table, rows)`, in the order copied.
    pub tables: Vec<(&'static str, u64)>,
    /// Audit entries in the target, checked.
    pub audit_entries: u64,
    /// The target's audit head, hex; the source's.
    pub audit_head: String,
}

/// Rows read and written at a time while copying (a bound on memory, not on the copy).
const COPY_CHUNK: u64 = 500;

impl Store {
    /// Copies every table of `schemas` into `target`, which must hold no keys, entries or
    /// settings yet, in one transaction on each side: the source read on one snapshot, the
    /// target written in one transaction that is committed only once its audit chain
    /// verifies and ends at the source's head. Sealed keys are copied as they are (they
    /// open under the same passphrase), with the settings that derive the key from it.
    pub fn copy_into(&self, target: &Store, schemas: &[&'static Schema]) -> Result<CopyReport, KmsError> {
        for schema in schemas {
            self.ensure(schema)?;
            target.ensure(schema)?;
        }
        self.read(|from| {
            let source = crate::kms::audit::verify(from)?;
            if !source.problems.is_empty() {
                return Err(KmsError::new(
                    ErrorCode::StateModifiedFailed,
                    "the source store's audit chain does not verify (`keyseal audit verify` names the entries); nothing was copied",
                ));
            }
            target.write(|to| {
                refuse_unless_empty(to, schemas)?;
                let mut tables = Vec::new();
                for table in schemas.iter().flat_map(|schema| schema.tables) {
                    tables.push((table.name, copy_table(from, to, table)?));
                }
                let copied = crate::kms::audit::verify(to)?;
                if !copied.problems.is_empty() || copied.head_hash != source.head_hash || copied.entries != source.entries {
                    return Err(KmsError::internal(
                        "the copied audit chain does not verify or does not end at the source's head; nothing was copied",
                    ));
                }
                Ok(CopyReport { tables, audit_entries: copied.entries, audit_head: copied.head_hash })
            })
        })
    }
}

/// Refuses a target that holds anything but its schema counts.
fn refuse_unless_empty(to: &dyn Tx, schemas: &[&'static Schema]) -> Result<(), KmsError> {
    for table in schemas.iter().flat_map(|schema| schema.tables) {
        let rows: u64 =
            to.query_value(&format!("SELECT COUNT(*) FROM {} {}", table.name, filter_of(table)), params![])?;
        if rows > 0 {
            return Err(KmsError::invalid(
                "--to",
                format!(
                    "the target store is not empty (its {} table has {rows} rows); migrate into a new, empty store",
                    table.name
                ),
            ));
        }
    }
    Ok(())
}

/// The WHERE clause of a table's `select`, if any.
fn filter_of(table: &Table) -> &'static str {
    table.select.split("ORDER BY").next().unwrap_or("")
}

/// Copies one table, in its order, a chunk at a time; how many rows.
fn copy_table(from: &dyn Tx, to: &dyn Tx, table: &Table) -> Result<u64, KmsError> {
    let count = table.columns.split(',').count();
    let placeholders: Vec<String> = (1..=count).map(|i| format!("?{i}")).collect();
    let insert = format!("INSERT INTO {} ({}) VALUES ({})", table.name, table.columns, placeholders.join(", "));
    let select = format!("SELECT {} FROM {} {} LIMIT ?1 OFFSET ?2", table.columns, table.name, table.select);
    let mut copied = 0u64;
    loop {
        let rows = from.query(&select, params![COPY_CHUNK, copied])?;
        if rows.is_empty() {
            return Ok(copied);
        }
        for row in &rows {
            let values: Vec<&dyn ToParam> = row.0.iter().map(|value| value as &dyn ToParam).collect();
            to.execute(&insert, &values)?;
        }
        copied += rows.len() as u64;
    }
}

fn create_private_dir(dir: &Path) -> Result<(), KmsError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| KmsError::store(&format!("cannot create the store directory {}", dir.display()), e))
}

/// Creates the database file 0600 before SQLite does (SQLite would take the umask's
/// mode, and gives its `-wal` and `-shm` files the database file's mode).
fn create_private_file(path: &Path) -> Result<(), KmsError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|e| KmsError::store(&format!("cannot create the key store {}", path.display()), e))
}

/// Refuses a store that group or others can reach: its database holds the sealed keys,
/// the passphrase check value (enough to guess the passphrase offline), the audit log and
/// the access keys' metadata. Like ssh with a private key, keyseal names the `chmod` to
/// run rather than changing modes behind the owner's back.
#[cfg(unix)]
fn refuse_unprotected(dir: &Path) -> Result<(), KmsError> {
    use std::os::unix::fs::PermissionsExt;
    let mut paths = vec![(dir.to_path_buf(), 0o700)];
    for suffix in ["", "-wal", "-shm", "-journal"] {
        paths.push((dir.join(format!("{DB_FILE}{suffix}")), 0o600));
    }
    for (path, wanted) in paths {
        let mode = match std::fs::metadata(&path) {
            Ok(metadata) => metadata.permissions().mode() & 0o777,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(KmsError::store(&format!("cannot check {}", path.display()), e)),
        };
        if mode & 0o077 != 0 {
            let shown = crate::quote::quote_path(&path);
            return Err(KmsError::new(
                ErrorCode::StoreUnprotected,
                format!(
                    "the key store is open to group or others: {shown} has mode {mode:03o}, and the store holds sealed keys and the passphrase check value; run `chmod {wanted:o} {shown}`"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_unprotected(_dir: &Path) -> Result<(), KmsError> {
    Ok(())
}

/// Brings the store to the per-domain count and the KMS's tables up to date; the other
/// domains' tables are brought up to date by [`Store::ensure`] when first used.
fn migrate(connection: &mut Connection) -> Result<(), KmsError> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: usize = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > PER_DOMAIN {
        return Err(newer(format!(
            "its schema version {version} is newer than this keyseal understands ({PER_DOMAIN})"
        )));
    }
    if version < PER_DOMAIN {
        if version > 0 {
            // A store from before the per-domain count: what its one sequence had applied.
            let counts =
                [("kms", version.min(2)), ("ca", usize::from(version >= 2)), ("access", version.saturating_sub(2))];
            for (name, count) in counts {
                meta_set(&tx, &format!("schema.{name}"), count.to_string().as_bytes())?;
            }
        }
        tx.pragma_update(None, "user_version", PER_DOMAIN)?;
    }
    apply(&tx, &KMS_SCHEMA)?;
    tx.commit()?;
    Ok(())
}

/// Runs the migrations of `schema` the store has not run yet, and records how many it has.
fn apply(tx: &dyn Tx, schema: &Schema) -> Result<(), KmsError> {
    let key = format!("schema.{}", schema.name);
    let has_meta: bool = tx.query_value(
        match tx.dialect() {
            Dialect::Sqlite => "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            Dialect::Postgres => {
                "SELECT COUNT(*) > 0 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'meta'"
            }
        },
        params![],
    )?;
    let applied = match has_meta.then(|| meta_get(tx, &key)).transpose()?.flatten() {
        None => 0,
        Some(count) => String::from_utf8_lossy(&count)
            .parse::<usize>()
            .map_err(|_| KmsError::store("cannot use this key store", format!("its {key} is not a count")))?,
    };
    let migrations = schema.for_dialect(tx.dialect());
    if applied > migrations.len() {
        return Err(newer(format!(
            "its {} schema version {applied} is newer than this keyseal understands ({})",
            schema.name,
            migrations.len()
        )));
    }
    for sql in &migrations[applied..] {
        tx.execute_batch(sql)?;
    }
    if applied < migrations.len() {
        meta_set(tx, &key, migrations.len().to_string().as_bytes())?;
    }
    Ok(())
}

fn newer(why: String) -> KmsError {
    KmsError::store("cannot use this key store", format!("{why}; upgrade keyseal"))
}

/// A value from the `meta` table.
pub fn meta_get(tx: &dyn Tx, name: &str) -> Result<Option<Vec<u8>>, KmsError> {
    tx.query_opt("SELECT value FROM meta WHERE name = ?1", params![name], |row| row.get(0))
}

/// Sets a value in the `meta` table.
pub fn meta_set(tx: &dyn Tx, name: &str, value: &[u8]) -> Result<(), KmsError> {
    tx.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        params![name, value],
    )?;
    Ok(())
}

/// A key row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// The key's UUID.
    pub key_id: String,
    /// Key pair type.
    pub key_spec: KeySpec,
    /// Usage.
    pub key_usage: KeyUsage,
    /// State.
    pub key_state: KeyState,
    /// Free text.
    pub description: String,
    /// Who created it.
    pub creator: String,
    /// Unix seconds.
    pub creation_date: i64,
    /// Unix seconds when a pending deletion takes effect.
    pub delete_date: Option<i64>,
    /// Where its private keys live.
    pub protection_level: ProtectionLevel,
}

const KEY_COLUMNS: &str =
    "key_id, key_spec, key_usage, key_state, description, creator, creation_date, delete_date, protection_level";

fn key_from_row(row: &Row) -> Result<KeyRow, KmsError> {
    Ok(KeyRow {
        key_id: row.get(0)?,
        key_spec: row.parse(1)?,
        key_usage: row.parse(2)?,
        key_state: row.parse(3)?,
        description: row.get(4)?,
        creator: row.get(5)?,
        creation_date: row.get(6)?,
        delete_date: row.get(7)?,
        protection_level: row.parse(8)?,
    })
}

/// Inserts a new key.
pub fn insert_key(tx: &dyn Tx, key: &KeyRow) -> Result<(), KmsError> {
    tx.execute(
        &format!("INSERT INTO keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![
            key.key_id,
            key.key_spec.as_str(),
            key.key_usage.as_str(),
            key.key_state.as_str(),
            key.description,
            key.creator,
            key.creation_date,
            key.delete_date,
            key.protection_level.as_str()
        ],
    )?;
    Ok(())
}

/// The key with this id.
pub fn get_key(tx: &dyn Tx, key_id: &str) -> Result<Option<KeyRow>, KmsError> {
    tx.query_opt(&format!("SELECT {KEY_COLUMNS} FROM keys WHERE key_id = ?1"), params![key_id], key_from_row)
}

/// Sets a key's state and deletion date.
pub fn set_key_state(tx: &dyn Tx, key_id: &str, state: KeyState, delete_date: Option<i64>) -> Result<(), KmsError> {
    tx.execute(
        "UPDATE keys SET key_state = ?2, delete_date = ?3 WHERE key_id = ?1",
        params![key_id, state.as_str(), delete_date],
    )?;
    Ok(())
}

/// Number of keys.
pub fn count_keys(tx: &dyn Tx) -> Result<u64, KmsError> {
    tx.query_value("SELECT COUNT(*) FROM keys", params![])
}

/// Keys in creation order, `limit` from `offset`.
pub fn list_keys(tx: &dyn Tx, offset: u64, limit: u64) -> Result<Vec<KeyRow>, KmsError> {
    tx.query_map(
        &format!("SELECT {KEY_COLUMNS} FROM keys ORDER BY seq LIMIT ?1 OFFSET ?2"),
        params![limit, offset],
        key_from_row,
    )
}

/// Ids of keys pending deletion whose date has come.
pub fn keys_due_for_deletion(tx: &dyn Tx, now: i64) -> Result<Vec<String>, KmsError> {
    tx.query_map(
        "SELECT key_id FROM keys WHERE key_state = 'PendingDeletion' AND delete_date <= ?1",
        params![now],
        |row| row.get(0),
    )
}

/// Deletes a key with its versions (sealed private keys included) and aliases.
pub fn delete_key(tx: &dyn Tx, key_id: &str) -> Result<(), KmsError> {
    tx.execute("DELETE FROM keys WHERE key_id = ?1", params![key_id])?;
    Ok(())
}

/// The CKA_IDs of a key's versions whose private keys are in the token.
pub fn token_objects(tx: &dyn Tx, key_id: &str) -> Result<Vec<Vec<u8>>, KmsError> {
    tx.query_map(
        "SELECT token_object_id FROM key_versions WHERE key_id = ?1 AND token_object_id IS NOT NULL ORDER BY seq",
        params![key_id],
        |row| row.get(0),
    )
}

/// A key version row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    /// The key it belongs to.
    pub key_id: String,
    /// The version's UUID.
    pub key_version_id: String,
    /// Unix seconds.
    pub creation_date: i64,
    /// SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// Where its private key is.
    pub private_key: PrivateHalf,
}

/// Where a version's private key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivateHalf {
    /// PKCS#8, sealed by `seal.rs`, in the store.
    Sealed(Vec<u8>),
    /// In the store's PKCS#11 token, as the objects with this CKA_ID.
    InToken(Vec<u8>),
}

const VERSION_COLUMNS: &str = "key_id, key_version_id, creation_date, public_key, sealed_private_key, token_object_id";

fn version_from_row(row: &Row) -> Result<VersionRow, KmsError> {
    let token_object_id: Option<Vec<u8>> = row.get(5)?;
    Ok(VersionRow {
        key_id: row.get(0)?,
        key_version_id: row.get(1)?,
        creation_date: row.get(2)?,
        public_key: row.get(3)?,
        private_key: match token_object_id {
            Some(id) => PrivateHalf::InToken(id),
            None => PrivateHalf::Sealed(row.get(4)?),
        },
    })
}

/// Inserts a new version.
pub fn insert_version(tx: &dyn Tx, version: &VersionRow) -> Result<(), KmsError> {
    let (sealed, token_object_id): (&[u8], Option<&[u8]>) = match &version.private_key {
        PrivateHalf::Sealed(sealed) => (sealed, None),
        PrivateHalf::InToken(id) => (&[], Some(id)),
    };
    tx.execute(
        &format!("INSERT INTO key_versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            version.key_id,
            version.key_version_id,
            version.creation_date,
            version.public_key,
            sealed,
            token_object_id
        ],
    )?;
    Ok(())
}

/// The version `key_version_id` of `key_id`.
pub fn get_version(tx: &dyn Tx, key_id: &str, key_version_id: &str) -> Result<Option<VersionRow>, KmsError> {
    tx.query_opt(
        &format!("SELECT {VERSION_COLUMNS} FROM key_versions WHERE key_id = ?1 AND key_version_id = ?2"),
        params![key_id, key_version_id],
        version_from_row,
    )
}

/// Number of versions of a key.
pub fn count_versions(tx: &dyn Tx, key_id: &str) -> Result<u64, KmsError> {
    tx.query_value("SELECT COUNT(*) FROM key_versions WHERE key_id = ?1", params![key_id])
}

/// A key's versions, oldest first, `limit` from `offset`.
pub fn list_versions(tx: &dyn Tx, key_id: &str, offset: u64, limit: u64) -> Result<Vec<VersionRow>, KmsError> {
    tx.query_map(
        &format!("SELECT {VERSION_COLUMNS} FROM key_versions WHERE key_id = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3"),
        params![key_id, limit, offset],
        version_from_row,
    )
}

/// An alias row: name, key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRow {
    /// `alias/...`.
    pub alias_name: String,
    /// The key it points at.
    pub key_id: String,
}

fn alias_from_row(row: &Row) -> Result<AliasRow, KmsError> {
    Ok(AliasRow { alias_name: row.get(0)?, key_id: row.get(1)? })
}

/// The key an alias points at.
pub fn get_alias(tx: &dyn Tx, alias_name: &str) -> Result<Option<AliasRow>, KmsError> {
    tx.query_opt("SELECT alias_name, key_id FROM aliases WHERE alias_name = ?1", params![alias_name], alias_from_row)
}

/// Creates or repoints an alias.
pub fn put_alias(tx: &dyn Tx, alias_name: &str, key_id: &str, now: i64) -> Result<(), KmsError> {
    tx.execute(
        "INSERT INTO aliases (alias_name, key_id, creation_date) VALUES (?1, ?2, ?3)
         ON CONFLICT(alias_name) DO UPDATE SET key_id = excluded.key_id",
        params![alias_name, key_id, now],
    )?;
    Ok(())
}

/// Removes an alias.
pub fn delete_alias(tx: &dyn Tx, alias_name: &str) -> Result<(), KmsError> {
    tx.execute("DELETE FROM aliases WHERE alias_name = ?1", params![alias_name])?;
    Ok(())
}

/// Number of aliases.
pub fn count_aliases(tx: &dyn Tx) -> Result<u64, KmsError> {
    tx.query_value("SELECT COUNT(*) FROM aliases", params![])
}

/// Aliases by name, `limit` from `offset`.
pub fn list_aliases(tx: &dyn Tx, offset: u64, limit: u64) -> Result<Vec<AliasRow>, KmsError> {
    tx.query_map(
        "SELECT alias_name, key_id FROM aliases ORDER BY alias_name LIMIT ?1 OFFSET ?2",
        params![limit, offset],
        alias_from_row,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_twice_and_migrates_once() {
        let dir = std::env::temp_dir().join(format!("keyseal-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir).unwrap();
        store.write(|tx| meta_set(tx, "x", b"1")).unwrap();
        drop(store);
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.read(|tx| meta_get(tx, "x")).unwrap(), Some(b"1".to_vec()));
        let version: usize = store.read(|tx| tx.query_value("PRAGMA user_version", params![])).unwrap();
        assert_eq!(version, PER_DOMAIN);
        assert_eq!(store.read(|tx| meta_get(tx, "schema.kms")).unwrap(), Some(b"3".to_vec()));
        let failed: Result<(), KmsError> = store.write(|tx| {
            meta_set(tx, "x", b"2")?;
            Err(KmsError::internal("stop"))
        });
        assert!(failed.is_err());
        assert_eq!(store.read(|tx| meta_get(tx, "x")).unwrap(), Some(b"1".to_vec()), "a failed write changes nothing");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        (dir, store)
    }

    #[test]
    fn batched_writes_from_many_threads_all_land_in_one_unbroken_chain() {
        use crate::kms::audit::{self, AuditEntry};
        let (_dir, store) = temp_store();
        let store = std::sync::Arc::new(store);
        let (threads, each) = (8, 50);
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    (0..each)
                        .map(|i| {
                            let entry = AuditEntry::new(0, &format!("{t}-{i}"), "test", "AsymmetricSign");
                            store.write_batched(move |tx| audit::append(tx, &entry)).unwrap()
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut seqs: Vec<u64> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=threads * each).collect::<Vec<u64>>(), "every write got its own place in the chain");
        let report = store.read(|tx| audit::verify(tx)).unwrap();
        assert_eq!(report.entries, threads * each);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn a_failing_batched_write_rolls_back_alone() {
        let (_dir, store) = temp_store();
        let store = std::sync::Arc::new(store);
        let workers: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    store.write_batched(move |tx| {
                        meta_set(tx, &format!("k{i}"), b"v")?;
                        if i % 2 == 1 { Err(KmsError::internal(format!("job {i} fails"))) } else { Ok(i) }
                    })
                })
            })
            .collect();
        for (i, worker) in workers.into_iter().enumerate() {
            let result = worker.join().unwrap();
            let stored = store.read(|tx| meta_get(tx, &format!("k{i}"))).unwrap();
            if i % 2 == 1 {
                assert_eq!(result.unwrap_err().message, format!("job {i} fails"), "each job gets its own error");
                assert_eq!(stored, None, "a failed job's writes are rolled back");
            } else {
                assert_eq!(result.unwrap(), i);
                assert_eq!(stored, Some(b"v".to_vec()), "the jobs beside a failed one are committed");
            }
        }
    }

    #[test]
    fn reads_see_what_was_committed_and_not_what_is_in_flight() {
        let (_dir, store) = temp_store();
        store.write_batched(|tx| meta_set(tx, "x", b"1")).unwrap();
        assert_eq!(store.read(|tx| meta_get(tx, "x")).unwrap(), Some(b"1".to_vec()));
        store
            .write(|tx| {
                meta_set(tx, "x", b"2")?;
                assert_eq!(store.read(|r| meta_get(r, "x")).unwrap(), Some(b"1".to_vec()), "uncommitted is unseen");
                Ok(())
            })
            .unwrap();
        assert_eq!(store.read(|tx| meta_get(tx, "x")).unwrap(), Some(b"2".to_vec()));
        let written = store.read(|tx| meta_set(tx, "y", b"1"));
        assert!(written.is_err(), "read connections cannot write");
    }

    #[test]
    fn more_concurrent_readers_than_the_pool_holds_take_turns() {
        let (_dir, store) = temp_store();
        store.write(|tx| meta_set(tx, "x", b"1")).unwrap();
        let store = std::sync::Arc::new(store);
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(20));
        let readers: Vec<_> = (0..20)
            .map(|_| {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    store.read(|tx| {
                        std::thread::sleep(Duration::from_millis(5));
                        meta_get(tx, "x")
                    })
                })
            })
            .collect();
        for reader in readers {
            assert_eq!(reader.join().unwrap().unwrap(), Some(b"1".to_vec()));
        }
    }

    #[test]
    fn an_unsynced_batch_leaves_the_writer_syncing_every_other_commit() {
        let (_dir, store) = temp_store();
        let synchronous =
            |store: &Store| -> i64 { store.write(|tx| tx.query_value("PRAGMA synchronous", params![])).unwrap() };
        assert_eq!(synchronous(&store), 2, "FULL");
        store.write_batched_unsynced(|tx| meta_set(tx, "n", b"1")).unwrap();
        assert_eq!(store.read(|tx| meta_get(tx, "n")).unwrap(), Some(b"1".to_vec()), "committed");
        assert_eq!(synchronous(&store), 2, "back to FULL for the next commit");
    }
}
