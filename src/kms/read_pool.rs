//! Read connections to the store, shared by threads: in WAL mode each reads its own
//! snapshot while the writer commits, so a signature or a credential lookup never waits
//! for the audit log's fsync. Bounded: at most `MAX_READERS` connections are open, and a
//! reader beyond that waits for one to come back.

use crate::kms::error::KmsError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Most read connections open at once: more than the cores that can use them, few enough
/// that a burst of requests cannot exhaust file descriptors.
const MAX_READERS: usize = 8;

/// Idle connections and how many are open in all.
struct Idle {
    connections: Vec<Connection>,
    open: usize,
}

/// A bounded pool of read-only connections to one database file.
pub struct ReadPool {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Idle>,
    returned: Condvar,
}

/// A connection borrowed from the pool; goes back when dropped.
pub struct Reader<'a> {
    pool: &'a ReadPool,
    connection: Option<Connection>,
}

impl ReadPool {
    /// A pool over the database at `path` (opened lazily, read-only).
    pub fn new(path: &Path, busy_timeout: Duration) -> ReadPool {
        ReadPool {
            path: path.to_path_buf(),
            busy_timeout,
            idle: Mutex::new(Idle { connections: Vec::new(), open: 0 }),
            returned: Condvar::new(),
        }
    }

    /// An idle connection, a new one while fewer than `MAX_READERS` are open, or the next
    /// one returned.
    pub fn get(&self) -> Result<Reader<'_>, KmsError> {
        let mut idle = lock(&self.idle);
        loop {
            if let Some(connection) = idle.connections.pop() {
                return Ok(Reader { pool: self, connection: Some(connection) });
            }
            if idle.open < MAX_READERS {
                idle.open += 1;
                drop(idle);
                return match self.open() {
                    Ok(connection) => Ok(Reader { pool: self, connection: Some(connection) }),
                    Err(e) => {
                        lock(&self.idle).open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            idle = self.returned.wait(idle).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn open(&self) -> Result<Connection, KmsError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| KmsError::store(&format!("cannot open the key store {}", self.path.display()), e))?;
        connection.busy_timeout(self.busy_timeout)?;
        connection.set_prepared_statement_cache_capacity(crate::kms::store::STATEMENT_CACHE);
        Ok(connection)
    }

    fn give_back(&self, connection: Connection) {
        lock(&self.idle).connections.push(connection);
        self.returned.notify_one();
    }
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.connection.as_ref().expect("a reader holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.connection.as_mut().expect("a reader holds its connection until dropped")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.pool.give_back(connection);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
