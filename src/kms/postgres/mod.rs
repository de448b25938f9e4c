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
use crate::kms::error::{ErrorCode, KmsError};
use crate::kms::group_commit::BatchWriter;
use postgres::Client;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// The advisory lock every write transaction holds ("keyseal" + 1).
pub const WRITE_LOCK: i64 = 0x6b65_7973_6561_6c01;
/// The advisory lock migrations hold.
pub const MIGRATION_LOCK: i64 = 0x6b65_7973_6561_6c02;
/// Most read connections a replica opens.
const MAX_READERS: usize = 8;
/// Statements each connection keeps prepared (every statement a request runs fits).
const STATEMENT_CACHE: usize = 64;
/// What begins a write transaction: the transaction, then the lock every writer takes.
const WRITE_BEGIN: &str = "BEGIN; SELECT pg_advisory_xact_lock(7738725071235148801)";

/// A connection made on demand and made again when it broke.
pub struct Connection {
    location: std::sync::Arc<Location>,
    live: Option<Live>,
}

/// An open connection and the statements prepared on it.
struct Live {
    client: Client,
    statements: HashMap<String, postgres::Statement>,
}

impl Live {
    /// `sql` prepared on this connection (once: kept for the connection's life).
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&dollar_params(sql))?;
        if self.statements.len() < STATEMENT_CACHE {
            self.statements.insert(sql.to_string(), statement.clone());
        }
        Ok(statement)
    }
}

impl Connection {
    fn new(location: std::sync::Arc<Location>) -> Connection {
        Connection { location, live: None }
    }

    /// The connection, made now if there is none or it closed.
    fn live(&mut self) -> Result<&mut Live, KmsError> {
        if self.live.as_ref().is_some_and(|live| live.client.is_closed()) {
            self.live = None;
        }
        if self.live.is_none() {
            let client = self.location.config.connect(self.location.tls.clone()).map_err(|e| {
                KmsError::new(
                    ErrorCode::StoreUnavailable,
                    format!(
                        "cannot connect to the PostgreSQL store {}: {}; check that the database is up and reachable, then retry",
                        self.location.display,
                        words(&e)
                    ),
                )
            })?;
            self.live = Some(Live { client, statements: HashMap::new() });
        }
        Ok(self.live.as_mut().expect("connected above"))
    }

    /// Runs `body` in one write transaction holding [`WRITE_LOCK`]: committed when it
    /// returns `Ok`; unless `synced`, committed without waiting for the WAL flush.
    fn write<T>(&mut self, synced: bool, body: impl FnOnce(&dyn Tx) -> Result<T, KmsError>) -> Result<T, KmsError> {
        let begin =
            if synced { WRITE_BEGIN.to_string() } else { format!("{WRITE_BEGIN}; SET LOCAL synchronous_commit = off") };
        self.run(&begin, body)
    }

    /// Runs `body` on a read-only snapshot.
    fn read<T>(&mut self, body: impl FnOnce(&dyn Tx) -> Result<T, KmsError>) -> Result<T, KmsError> {
        self.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// Begins a transaction with the statements `begin`, runs `body` in it and commits, or
    /// rolls back when `body` or the commit fails. A connection that turns out to have
    /// closed (the server restarted since its last use) fails at `begin`, before anything
    /// was done: it is replaced and `begin` tried once more.
    fn run<T>(&mut self, begin: &str, body: impl FnOnce(&dyn Tx) -> Result<T, KmsError>) -> Result<T, KmsError> {
        let display = self.location.display.clone();
        if let Err(e) = self.live()?.client.batch_execute(begin) {
            if !self.live.as_ref().is_some_and(|live| live.client.is_closed()) {
                self.rollback();
                return Err(failed(&display, e));
            }
            self.live = None;
            self.live()?.client.batch_execute(begin).map_err(|e| failed(&display, e))?;
        }
        let live = self.live.as_mut().expect("begun above");
        let pg = PgTx { live: RefCell::new(live), display: &display };
        let outcome = body(&pg).and_then(|value| {
            pg.live.borrow_mut().client.batch_execute("COMMIT").map_err(|e| failed(&display, e))?;
            Ok(value)
        });
        if outcome.is_err() {
            self.rollback();
        }
        outcome
    }

    /// Ends a failed transaction; a connection that cannot is dropped.
    fn rollback(&mut self) {
        if let Some(live) = self.live.as_mut()
            && live.client.batch_execute("ROLLBACK").is_err()
        {
            self.live = None;
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
    /// The store at `location`; connections are made at first use (`Store::connect` then
    /// brings the tables up to date through [`PgStore::migrate`]).
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
    KmsError::new(
        ErrorCode::StoreUnavailable,
        format!(
            "the PostgreSQL store {display} failed: {}; nothing was changed; retry once the database is back",
            words(&err)
        ),
    )
}

/// The server's message and SQLSTATE, or the driver's description.
fn words(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => err.to_string(),
    }
}

/// One transaction on PostgreSQL, on a connection whose transaction [`Connection::run`]
/// began and ends.
struct PgTx<'a, 'c> {
    live: RefCell<&'c mut Live>,
    display: &'a str,
}

/// `?N` parameters as PostgreSQL's `$N` (keyseal's SQL holds no `?` elsewhere).
fn dollar_params(sql: &str) -> String {
    sql.replace('?', "$")
}

impl PgTx<'_, '_> {
    /// Runs `sql` with `params` through `run` on its prepared statement.
    fn with_statement<R>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        run: impl FnOnce(&mut Client, &postgres::Statement, &[&(dyn ToSql + Sync)]) -> Result<R, postgres::Error>,
    ) -> Result<R, KmsError> {
        let values: Vec<Param<'_>> = params.iter().map(|p| p.param()).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let mut live = self.live.borrow_mut();
        let statement = live.statement(sql).map_err(|e| failed(self.display, e))?;
        run(&mut live.client, &statement, &refs).map_err(|e| failed(self.display, e))
    }
}

impl Tx for PgTx<'_, '_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<u64, KmsError> {
        self.with_statement(sql, params, |client, statement, params| client.execute(statement, params))
    }

    fn query(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Vec<Row>, KmsError> {
        let rows = self.with_statement(sql, params, |client, statement, params| client.query(statement, params))?;
        rows.iter().map(row).collect()
    }

    fn execute_batch(&self, sql: &str) -> Result<(), KmsError> {
        self.live.borrow_mut().client.batch_execute(sql).map_err(|e| failed(self.display, e))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_writer_takes_the_one_write_lock() {
        assert!(WRITE_BEGIN.ends_with(&format!("pg_advisory_xact_lock({WRITE_LOCK})")));
        assert_ne!(WRITE_LOCK, MIGRATION_LOCK);
    }

    #[test]
    fn parameters_are_numbered_as_postgresql_numbers_them() {
        assert_eq!(dollar_params("SELECT a FROM t WHERE b = ?1 AND c = ?2"), "SELECT a FROM t WHERE b = $1 AND c = $2");
    }
}
