//! The store's database interface: one transaction, whichever database holds the store.
//! Every domain's reads and writes (`kms::store`, `kms::audit`, `ca::index`,
//! `server::access`) are written once against [`Tx`], in the SQL both databases take
//! (`?N` parameters, `ON CONFLICT … DO …`, `COUNT(*)`, `LIMIT … OFFSET …`), so no command
//! knows which database it has. Values cross the interface as four types — integer, text,
//! bytes, NULL — which is all the schema uses.
//!
//! The SQLite implementation is here (a rusqlite transaction, statements cached per
//! connection).

use crate::kms::error::KmsError;
use rusqlite::types::{ToSqlOutput, ValueRef};

/// A parameter of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

/// What can be a statement parameter.
pub trait ToParam {
    /// The parameter.
    fn param(&self) -> Param<'_>;
}

impl ToParam for i64 {
    fn param(&self) -> Param<'_> {
        Param::Int(*self)
    }
}

impl ToParam for u64 {
    /// Counts and limits; a value beyond i64 (never stored) saturates.
    fn param(&self) -> Param<'_> {
        Param::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToParam for bool {
    fn param(&self) -> Param<'_> {
        Param::Int(i64::from(*self))
    }
}

impl ToParam for str {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}

impl ToParam for String {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}

impl ToParam for [u8] {
    fn param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}

impl ToParam for Vec<u8> {
    fn param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}

impl<T: ToParam + ?Sized> ToParam for &T {
    fn param(&self) -> Param<'_> {
        (**self).param()
    }
}

impl<T: ToParam> ToParam for Option<T> {
    fn param(&self) -> Param<'_> {
        self.as_ref().map_or(Param::Null, ToParam::param)
    }
}

impl ToParam for Value {
    fn param(&self) -> Param<'_> {
        match self {
            Value::Null => Param::Null,
            Value::Int(n) => Param::Int(*n),
            Value::Text(text) => Param::Text(text),
            Value::Blob(bytes) => Param::Blob(bytes),
        }
    }
}

/// A statement's parameters: `params![a, b]` is `&[&a, &b]` as `&[&dyn ToParam]`.
#[macro_export]
macro_rules! params {
    () => { &[] as &[&dyn $crate::kms::db::ToParam] };
    ($($value:expr),+ $(,)?) => { &[$(&$value as &dyn $crate::kms::db::ToParam),+] as &[&dyn $crate::kms::db::ToParam] };
}
pub use params;

/// A value read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// NULL.
    Null,
    /// An integer (booleans read as 0 and 1).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// One row of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

/// What a column can be read as.
pub trait FromValue: Sized {
    /// The value, or why it is not one of these.
    fn from_value(value: &Value) -> Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Int(n) => Ok(*n),
            other => Err(format!("expected an integer, found {}", kind(other))),
        }
    }
}

impl FromValue for u64 {
    fn from_value(value: &Value) -> Result<Self, String> {
        let n = i64::from_value(value)?;
        u64::try_from(n).map_err(|_| format!("expected a count, found {n}"))
    }
}

impl FromValue for usize {
    fn from_value(value: &Value) -> Result<Self, String> {
        let n = u64::from_value(value)?;
        usize::try_from(n).map_err(|_| format!("{n} is too large"))
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self, String> {
        Ok(i64::from_value(value)? != 0)
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(text) => Ok(text.clone()),
            other => Err(format!("expected text, found {}", kind(other))),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Blob(bytes) => Ok(bytes.clone()),
            // SQLite keeps what it was given; a value written as text reads as its bytes.
            Value::Text(text) => Ok(text.as_bytes().to_vec()),
            other => Err(format!("expected bytes, found {}", kind(other))),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Int(_) => "an integer",
        Value::Text(_) => "text",
        Value::Blob(_) => "bytes",
    }
}

impl Row {
    /// Column `index` as a `T`; a mismatch is a store error naming the column.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, KmsError> {
        let value = self.0.get(index).unwrap_or(&Value::Null);
        T::from_value(value)
            .map_err(|why| KmsError::store("the key store holds an unreadable value", format!("column {index}: {why}")))
    }

    /// Column `index` parsed from text (a KeySpec, a state, ...).
    pub fn parse<T: std::str::FromStr<Err = String>>(&self, index: usize) -> Result<T, KmsError> {
        let text: String = self.get(index)?;
        text.parse().map_err(|why: String| {
            KmsError::store("the key store holds an unreadable value", format!("column {index}: {why}"))
        })
    }
}

/// Which database a transaction is on, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (the embedded store).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// One transaction on the store. Statements use `?1`, `?2`, … for parameters.
pub trait Tx {
    /// The database.
    fn dialect(&self) -> Dialect;
    /// Runs a statement; how many rows it changed.
    fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<u64, KmsError>;
    /// Runs a query; its rows.
    fn query(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Vec<Row>, KmsError>;
    /// Runs several statements without parameters (a migration).
    fn execute_batch(&self, sql: &str) -> Result<(), KmsError>;
}

impl dyn Tx + '_ {
    /// Every row of a query, each read by `read`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        read: impl Fn(&Row) -> Result<T, KmsError>,
    ) -> Result<Vec<T>, KmsError> {
        self.query(sql, params)?.iter().map(read).collect()
    }

    /// The first row of a query, if any, read by `read`.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        read: impl FnOnce(&Row) -> Result<T, KmsError>,
    ) -> Result<Option<T>, KmsError> {
        self.query(sql, params)?.first().map(read).transpose()
    }

    /// The one value of a query that always has a row (a count).
    pub fn query_value<T: FromValue>(&self, sql: &str, params: &[&dyn ToParam]) -> Result<T, KmsError> {
        self.query_opt(sql, params, |row| row.get(0))?
            .ok_or_else(|| KmsError::internal(format!("the query returned no row: {sql}")))
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Null => ValueRef::Null,
            Param::Int(n) => ValueRef::Integer(n),
            Param::Text(text) => ValueRef::Text(text.as_bytes()),
            Param::Blob(bytes) => ValueRef::Blob(bytes),
        }))
    }
}

/// The parameters as rusqlite takes them.
fn sqlite_params<'a>(params: &'a [&'a dyn ToParam]) -> Vec<Param<'a>> {
    params.iter().map(|p| p.param()).collect()
}

fn sqlite_value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Real(x) => Value::Text(x.to_string()),
        ValueRef::Text(text) => Value::Text(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(bytes) => Value::Blob(bytes.to_vec()),
    }
}

impl Tx for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<u64, KmsError> {
        let params = sqlite_params(params);
        let changed = self.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params.iter()))?;
        Ok(changed as u64)
    }

    fn query(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Vec<Row>, KmsError> {
        let params = sqlite_params(params);
        let mut statement = self.prepare_cached(sql)?;
        let columns = statement.column_count();
        let mut rows = statement.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for index in 0..columns {
                values.push(sqlite_value(row.get_ref(index)?));
            }
            out.push(Row(values));
        }
        Ok(out)
    }

    fn execute_batch(&self, sql: &str) -> Result<(), KmsError> {
        Ok(rusqlite::Connection::execute_batch(self, sql)?)
    }
}

impl Tx for rusqlite::Transaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<u64, KmsError> {
        Tx::execute(&**self, sql, params)
    }

    fn query(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Vec<Row>, KmsError> {
        Tx::query(&**self, sql, params)
    }

    fn execute_batch(&self, sql: &str) -> Result<(), KmsError> {
        Tx::execute_batch(&**self, sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_sqlite() {
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        let tx: &dyn Tx = &connection;
        tx.execute_batch("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n INTEGER)").unwrap();
        let none: Option<i64> = None;
        let changed =
            tx.execute("INSERT INTO t VALUES (?1, ?2, ?3, ?4)", params![42i64, "text", vec![1u8, 2], none]).unwrap();
        assert_eq!(changed, 1);
        let row =
            tx.query_opt("SELECT i, s, b, n FROM t WHERE i = ?1", params![42i64], |r| Ok(r.clone())).unwrap().unwrap();
        assert_eq!(row.get::<i64>(0).unwrap(), 42);
        assert_eq!(row.get::<String>(1).unwrap(), "text");
        assert_eq!(row.get::<Vec<u8>>(2).unwrap(), vec![1, 2]);
        assert_eq!(row.get::<Option<i64>>(3).unwrap(), None);
        assert!(row.get::<i64>(1).is_err(), "text is not an integer");
        assert_eq!(tx.query_value::<u64>("SELECT COUNT(*) FROM t", params![]).unwrap(), 1);
        assert!(tx.query_opt("SELECT i FROM t WHERE i = 0", params![], |r| r.get::<i64>(0)).unwrap().is_none());
    }
}
