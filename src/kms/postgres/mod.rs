//! The PostgreSQL store: the same tables as the SQLite one (each domain's `postgres`
//! migrations), for several `keyseal serve` replicas on one database.
//!
//! - Every write transaction first takes one transaction-level advisory lock
//!   ([`WRITE_LOCK`]), so writes from every replica are serialized as SQLite serializes
//!   them in one process: the audit chain has one order, and a check made inside a write
//!   (an alias, a key's state, a nonce) sees every commit before it. Each replica still
//!   groups its small writes (audit entries, nonces) into one transaction
//!   (`group_commit`), so one lock hold and one commit cover a batch.
//! - Reads run in REPEATABLE READ, READ ONLY transactions: a snapshot, as SQLite's.
//! - Migrations run under their own advisory lock, so replicas starting together do not race.
//! - A connection that broke (the database restarted) is replaced at the next use: a
//!   request during an outage fails with `Keyseal.StoreUnavailable` and changes nothing,
//!   and the replica serves again when the database is back.
//!
//! `location` reads the URL (TLS, password); `tls` is the rustls connector.

mod location;
mod tls;

pub use location::{Location, is_url, redact};

use crate::kms::db::{Dialect, Param, Row, ToParam, Tx, Value};
use crate::kms::error::KmsError;
use crate::kms::group_commit::BatchWriter;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, IsolationLevel};
use std::cell::RefCell;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// The advisory lock every write transaction holds ("keyseal" + 1).
pub const WRITE_LOCK: i64 = 0x6b65_7973_6561_6c01;
/// The advisory lock migrations hold.
pub const MIGRATION_LOCK: i64 = 0x6b65_7973_6561_6c02;
/// Most read connections a replica opens.
const MAX_READERS: usize = 8;

/// A connection made on demand and made again when it broke.
pub struct Connection {
    location: std::sync::Arc<Location>,
    client: Option<Client>,
}

impl Connection {
    fn new(location: std::sync::Arc<Location>) -> Connection {
        Connection { location, client: None }
    }

    /// The client, connected now if it is not or its connection closed.
    fn client(&mut self) -> Result<&mut Client, KmsError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            let client = self.location.config.connect(self.location.tls.clone()).map_err(|e| {
                KmsError::store(&format!("cannot connect to the PostgreSQL store {}", self.location.display), e)
            })?;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Runs `body` in one write transaction holding [`WRITE_LOCK`]: committed when it
    /// returns `Ok`; unless `synced`, committed without waiting for the WAL flush.
    fn write<T>(&mut self, synced: bool, body: impl FnOnce(&dyn Tx) -> Result<T, KmsError>) -> Result<T, KmsError> {
        let display = self.location.display.clone();
        let result = (|| {
            let client = self.client()?;
            let mut tx = client.transaction().map_err(|e| failed(&display, e))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]).map_err(|e| failed(&display, e))?;
            if !synced {
                tx.batch_execute("SET LOCAL synchronous_commit = off").map_err(|e| failed(&display, e))?;
            }
            let pg = PgTx { tx: RefCell::new(tx), display: &display };
            let value = body(&pg)?;
            pg.tx.into_inner().commit().map_err(|e| failed(&display, e))?;
            Ok(value)
        })();
        self.forget_if_broken();
        result
    }

    /// Runs `body` on a read-only snapshot.
    fn read<T>(&mut self, body: impl FnOnce(&dyn Tx) -> Result<T, KmsError>) -> Result<T, KmsError> {
        let display = self.location.display.clone();
        let result = (|| {
            let client = self.client()?;
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(|e| failed(&display, e))?;
            let pg = PgTx { tx: RefCell::new(tx), display: &display };
            let value = body(&pg)?;
            pg.tx.into_inner().commit().map_err(|e| failed(&display, e))?;
            Ok(value)
        })();
        self.forget_if_broken();
        result
    }

    fn forget_if_broken(&mut self) {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
    }
}

impl BatchWriter for Connection {
    fn batch_transaction(
        &mut self,
        synced: bool,
        body: &mut dyn FnMut(&dyn Tx) -> Result<(), KmsError>,
    ) -> Result<(), KmsError> {
        self.write(synced, |tx| body(tx))
    }
}

/// A PostgreSQL store's connections: one writer, a bounded pool of readers.
pub struct PgStore {
    location: std::sync::Arc<Location>,
    writer: Mutex<Connection>,
    idle: Mutex<(Vec<Connection>, usize)>,
    returned: Condvar,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PgStore {
    /// Connects to the store at `location` and brings the KMS's tables up to date.
    pub fn connect(location: Location) -> Result<PgStore, KmsError> {
        let location = std::sync::Arc::new(location);
        let store = PgStore {
            writer: Mutex::new(Connection::new(location.clone())),
            idle: Mutex::new((Vec::new(), 0)),
            returned: Condvar::new(),
            location,
        };
        Ok(store)
    }

    /// The store's URL without its password.
    pub fn display(&self) -> &str {
        &self.location.display
    }

    /// The writer connection, for the group commit.
    pub fn writer(&self) -> &Mutex<Connection> {
        &self.writer
    }

    /// Runs `work` in one write transaction (see [`WRITE_LOCK`]).
    pub fn write<T>(&self, work: impl FnOnce(&dyn Tx) -> Result<T, KmsError>) -> Result<T, KmsError> {
        lock(&self.writer).write(true, work)
    }

    /// Runs `work` in a transaction holding the migration lock as well as the write lock.
    pub fn migrate(&self, work: impl FnOnce(&dyn Tx) -> Result<(), KmsError>) -> Result<(), KmsError> {
        self.write(|tx| {
            tx.query("SELECT pg_advisory_xact_lock(?1)", crate::params![MIGRATION_LOCK])?;
            work(tx)
        })
    }

    /// Runs `work` on a read snapshot, on a pooled connection.
    pub fn read<T>(&self, work: impl FnOnce(&dyn Tx) -> Result<T, KmsError>) -> Result<T, KmsError> {
        let mut connection = self.take_reader();
        let result = connection.read(work);
        lock(&self.idle).0.push(connection);
        self.returned.notify_one();
        result
    }

    /// An idle reader, a new one while fewer than `MAX_READERS` exist, or the next returned.
    fn take_reader(&self) -> Connection {
        let mut idle = lock(&self.idle);
        loop {
            if let Some(connection) = idle.0.pop() {
                return connection;
            }
            if idle.1 < MAX_READERS {
                idle.1 += 1;
                return Connection::new(self.location.clone());
            }
            idle = self.returned.wait(idle).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A PostgreSQL error as the KMS answers it: the store is unavailable (retryable), with
/// the server's own words (never the password, which the driver does not repeat).
fn failed(display: &str, err: postgres::Error) -> KmsError {
    let words = match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => err.to_string(),
    };
    KmsError::store(&format!("the PostgreSQL store {display} failed"), words)
}

/// One transaction on PostgreSQL.
struct PgTx<'a, 'c> {
    tx: RefCell<postgres::Transaction<'c>>,
    display: &'a str,
}

/// `?N` parameters as PostgreSQL's `$N` (keyseal's SQL holds no `?` elsewhere).
fn dollar_params(sql: &str) -> String {
    sql.replace('?', "$")
}

impl PgTx<'_, '_> {
    fn params<'p>(params: &'p [&'p dyn ToParam]) -> Vec<Param<'p>> {
        params.iter().map(|p| p.param()).collect()
    }
}

impl Tx for PgTx<'_, '_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<u64, KmsError> {
        let values = Self::params(params);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        self.tx.borrow_mut().execute(dollar_params(sql).as_str(), &refs).map_err(|e| failed(self.display, e))
    }

    fn query(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Vec<Row>, KmsError> {
        let values = Self::params(params);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let rows =
            self.tx.borrow_mut().query(dollar_params(sql).as_str(), &refs).map_err(|e| failed(self.display, e))?;
        rows.iter().map(row).collect()
    }

    fn execute_batch(&self, sql: &str) -> Result<(), KmsError> {
        self.tx.borrow_mut().batch_execute(sql).map_err(|e| failed(self.display, e))
    }
}

/// A result row in keyseal's four value types.
fn row(row: &postgres::Row) -> Result<Row, KmsError> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let bad = |e: postgres::Error| KmsError::store("the PostgreSQL store returned an unreadable value", e);
        let value = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(index).map_err(bad)?.map(Value::Int),
            Type::INT4 => row.try_get::<_, Option<i32>>(index).map_err(bad)?.map(|n| Value::Int(n.into())),
            Type::INT2 => row.try_get::<_, Option<i16>>(index).map_err(bad)?.map(|n| Value::Int(n.into())),
            Type::BOOL => row.try_get::<_, Option<bool>>(index).map_err(bad)?.map(|b| Value::Int(b.into())),
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(index).map_err(bad)?.map(Value::Blob),
            Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => {
                row.try_get::<_, Option<String>>(index).map_err(bad)?.map(Value::Text)
            }
            Type::VOID => None,
            ref other => {
                return Err(KmsError::internal(format!(
                    "the PostgreSQL store returned a {other} column keyseal does not read"
                )));
            }
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (*self, ty) {
            (Param::Null, _) => Ok(IsNull::Yes),
            (Param::Int(n), &Type::INT4) => i32::try_from(n)?.to_sql(ty, out),
            (Param::Int(n), &Type::INT2) => i16::try_from(n)?.to_sql(ty, out),
            (Param::Int(n), &Type::BOOL) => (n != 0).to_sql(ty, out),
            (Param::Int(n), _) => n.to_sql(ty, out),
            (Param::Text(text), _) => text.to_sql(ty, out),
            (Param::Blob(bytes), _) => bytes.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
