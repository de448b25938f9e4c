//! Group commit: writes from many threads (audit entries, nonces) committed together, in
//! the order they arrived, in one transaction, so one fsync answers every request waiting
//! at that moment instead of one each.
//!
//! There is no writer thread. A caller queues its work and takes the writer connection's
//! lock; whoever holds it runs every queued job (its own and the ones that arrived while
//! the previous batch committed) in one IMMEDIATE transaction, each inside a savepoint of
//! its own so a failing job rolls back alone, commits, and hands every job its result
//! before letting go of the lock. A caller that gets the lock and finds its result there
//! returns it at once: its work was committed by someone else's batch. Nobody returns
//! before the commit that holds its work, so an answer never runs ahead of its write.

use crate::kms::db::Tx;
use crate::kms::error::KmsError;
use rusqlite::{Connection, TransactionBehavior};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// Most jobs one transaction takes; the rest wait for the next batch (a bound on how long
/// one commit holds the lock, whatever the load).
const MAX_BATCH: usize = 256;

/// A job waiting in the queue, its result type erased.
trait Queued: Send {
    /// Whether the commit holding it must be synced to disk before it returns.
    fn synced(&self) -> bool;
    /// Runs the work inside the batch's transaction; false when it failed (and must be
    /// rolled back).
    fn run(&mut self, tx: &dyn Tx) -> bool;
    /// Hands the caller its result, given how the batch's commit went.
    fn deliver(self: Box<Self>, commit: &Result<(), KmsError>);
}

/// The result slot a caller waits on.
type Slot<T> = Arc<Mutex<Option<Result<T, KmsError>>>>;

struct Pending<T, F> {
    synced: bool,
    work: Option<F>,
    outcome: Option<Result<T, KmsError>>,
    slot: Slot<T>,
}

impl<T, F> Queued for Pending<T, F>
where
    T: Send,
    F: FnOnce(&dyn Tx) -> Result<T, KmsError> + Send,
{
    fn synced(&self) -> bool {
        self.synced
    }

    fn run(&mut self, tx: &dyn Tx) -> bool {
        let outcome = match self.work.take() {
            Some(work) => work(tx),
            None => Err(KmsError::internal("a queued write ran twice")),
        };
        let succeeded = outcome.is_ok();
        self.outcome = Some(outcome);
        succeeded
    }

    fn deliver(self: Box<Self>, commit: &Result<(), KmsError>) {
        let result = match (self.outcome, commit) {
            (Some(Err(own)), _) => Err(own),
            (_, Err(failed)) => Err(failed.clone()),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (None, Ok(())) => Err(KmsError::internal("a queued write was committed without running")),
        };
        *lock(&self.slot) = Some(result);
    }
}

/// Writes waiting for the next batch.
#[derive(Default)]
pub struct GroupCommit {
    queue: Mutex<VecDeque<Box<dyn Queued>>>,
}

impl GroupCommit {
    /// Runs `work` in the next batch on `writer` and returns its result once the batch is
    /// committed (or the error that stopped it). Unless `synced`, a batch of such jobs
    /// alone is committed without syncing: durable as soon as any later synced commit on
    /// the same connection returns, since that sync covers the whole write-ahead log.
    pub fn submit<T, F, W: BatchWriter>(&self, writer: &Mutex<W>, synced: bool, work: F) -> Result<T, KmsError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Tx) -> Result<T, KmsError> + Send + 'static,
    {
        let slot: Slot<T> = Arc::new(Mutex::new(None));
        let job = Pending { synced, work: Some(work), outcome: None, slot: slot.clone() };
        lock(&self.queue).push_back(Box::new(job));
        loop {
            let mut connection = writer.lock().map_err(|_| KmsError::internal("the store lock is poisoned"))?;
            if let Some(result) = lock(&slot).take() {
                return result;
            }
            self.commit_batch(&mut *connection);
            if let Some(result) = lock(&slot).take() {
                return result;
            }
            // The queue held more than one batch and ours was not in the first; go again.
        }
    }

    /// Takes up to `MAX_BATCH` queued jobs, runs them in one transaction and delivers
    /// their results.
    fn commit_batch(&self, connection: &mut dyn BatchWriter) {
        let batch: Vec<Box<dyn Queued>> = {
            let mut queue = lock(&self.queue);
            let take = queue.len().min(MAX_BATCH);
            queue.drain(..take).collect()
        };
        if batch.is_empty() {
            return;
        }
        let (batch, commit) = run_batch(connection, batch);
        for job in batch {
            job.deliver(&commit);
        }
    }
}

/// The writer connection of a store, as a batch uses it: one write transaction, committed
/// when `body` returns `Ok`, and durable before returning unless `synced` is false.
pub trait BatchWriter {
    /// Runs `body` in one write transaction and commits it; rolls back on `Err`.
    fn batch_transaction(
        &mut self,
        synced: bool,
        body: &mut dyn FnMut(&dyn Tx) -> Result<(), KmsError>,
    ) -> Result<(), KmsError>;
}

/// SQLite: an IMMEDIATE transaction. The writer's setting is `synchronous = FULL`; a batch
/// that need not sync lowers it for its commit only.
impl BatchWriter for Connection {
    fn batch_transaction(
        &mut self,
        synced: bool,
        body: &mut dyn FnMut(&dyn Tx) -> Result<(), KmsError>,
    ) -> Result<(), KmsError> {
        if !synced {
            self.pragma_update(None, "synchronous", "NORMAL")?;
        }
        let committed = (|| {
            let tx = self.transaction_with_behavior(TransactionBehavior::Immediate)?;
            body(&tx)?;
            tx.commit().map_err(KmsError::from)
        })();
        if !synced {
            let restored = self.pragma_update(None, "synchronous", "FULL").map_err(KmsError::from);
            return committed.and(restored);
        }
        committed
    }
}

/// Runs every job in one transaction, each in its own savepoint, and commits, syncing
/// unless no job asked for it.
fn run_batch(
    connection: &mut dyn BatchWriter,
    mut batch: Vec<Box<dyn Queued>>,
) -> (Vec<Box<dyn Queued>>, Result<(), KmsError>) {
    let synced = batch.iter().any(|job| job.synced());
    let commit = connection.batch_transaction(synced, &mut |tx| {
        for job in batch.iter_mut() {
            // An error here means the transaction itself is broken: nothing in it may be
            // committed.
            run_in_savepoint(tx, job.as_mut())?;
        }
        Ok(())
    });
    (batch, commit)
}

/// Runs one job inside a savepoint, rolled back to when the job fails, so its partial
/// writes vanish and the rest of the batch stands.
fn run_in_savepoint(tx: &dyn Tx, job: &mut dyn Queued) -> Result<(), KmsError> {
    tx.execute_batch("SAVEPOINT job")?;
    if job.run(tx) {
        tx.execute_batch("RELEASE job")?;
    } else {
        tx.execute_batch("ROLLBACK TO job; RELEASE job")?;
    }
    Ok(())
}

/// A lock whose data stays usable after a panic elsewhere: the queue and the result slots
/// are consistent at every point a panic could leave them.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
