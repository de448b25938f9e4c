//! The connections `keyseal serve` holds, and how it makes room when it holds its most.
//!
//! Each connection holds one permit of a semaphore sized by `--max-connections`, and a
//! [`Slot`] that says whether a request is in progress on it and when one last was.
//! Below the cap a new connection takes a permit at once. At the cap, the idle connection
//! unused the longest (no request in progress: waiting for its first request, between
//! keep-alive requests, or still sending its headers) is told to close, and the newcomer
//! takes its permit as soon as it has. So idle connections cannot shut out a client with
//! something to ask: whoever holds N idle connections loses the oldest one each time
//! someone new arrives. A request in progress is never cut off; when every connection has
//! one there is nothing to close, and the newcomer is refused at once (503) rather than
//! left waiting. The same semaphore tells shutdown when every connection has gone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// The connections held, at most `capacity` of them.
#[derive(Debug)]
pub struct Connections {
    permits: Arc<Semaphore>,
    capacity: u32,
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
    next_id: AtomicU64,
    epoch: Instant,
    draining: AtomicBool,
}

/// What the server knows of one connection.
#[derive(Debug)]
pub struct Slot {
    epoch: Instant,
    in_progress: AtomicUsize,
    requests: AtomicU64,
    /// Milliseconds from `epoch` to when the connection opened or last finished a request.
    last_active: AtomicU64,
    closing: AtomicBool,
    close: Notify,
}

/// What [`Connections::admit`] found.
#[derive(Debug)]
pub enum Admission {
    /// There was room.
    Room(Held),
    /// At the cap, an idle connection was closed to make room.
    MadeRoom(Held),
    /// Every connection has a request in progress (or the one told to make way did not
    /// close in time).
    Full,
}

/// A connection's hold on its slot and permit; dropping it (when the connection's task
/// ends) frees both.
#[derive(Debug)]
pub struct Held {
    connections: Arc<Connections>,
    id: u64,
    slot: Arc<Slot>,
    _permit: OwnedSemaphorePermit,
}

/// A request in progress on a connection, from its headers until its answer has been
/// handed to the socket; the connection counts as busy until this is dropped.
#[derive(Debug)]
pub struct InProgress(Arc<Slot>);

impl Connections {
    /// Room for `capacity` connections (at least one).
    pub fn new(capacity: usize) -> Arc<Connections> {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        Arc::new(Connections {
            permits: Arc::new(Semaphore::new(capacity)),
            capacity: capacity as u32,
            slots: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
            draining: AtomicBool::new(false),
        })
    }

    /// The most connections held at once.
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// A slot for a new connection: at once below the cap; at the cap, after telling the
    /// idle connection unused the longest to close and waiting up to `wait` for it to go.
    pub async fn admit(self: &Arc<Self>, wait: Duration) -> Admission {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Admission::Room(self.hold(permit));
        }
        if !self.close_least_recently_used() {
            return Admission::Full;
        }
        match tokio::time::timeout(wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Admission::MadeRoom(self.hold(permit)),
            _ => Admission::Full,
        }
    }

    fn hold(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Held {
        let id = self.next_id.fetch_add(1, SeqCst);
        let slot = Arc::new(Slot {
            epoch: self.epoch,
            in_progress: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            last_active: AtomicU64::new(millis_since(self.epoch)),
            closing: AtomicBool::new(false),
            close: Notify::new(),
        });
        self.slots().insert(id, slot.clone());
        Held { connections: self.clone(), id, slot, _permit: permit }
    }

    /// Tells the idle connection unused the longest to close; false when none is idle.
    fn close_least_recently_used(&self) -> bool {
        let slots = self.slots();
        let idle = slots.values().filter(|slot| !slot.in_progress() && !slot.closing.load(SeqCst));
        match idle.min_by_key(|slot| slot.last_active.load(SeqCst)) {
            Some(slot) => {
                slot.tell_to_close();
                true
            }
            None => false,
        }
    }

    /// Tells every connection to finish: idle ones close, busy ones after their answer.
    pub fn drain(&self) {
        self.draining.store(true, SeqCst);
        for slot in self.slots().values() {
            slot.tell_to_close();
        }
    }

    /// Whether the server is shutting down (so a connection told to close should let a
    /// request it is reading finish, rather than be dropped).
    pub fn draining(&self) -> bool {
        self.draining.load(SeqCst)
    }

    /// Resolves once every connection has closed.
    pub async fn all_closed(&self) {
        let _ = self.permits.acquire_many(self.capacity).await;
    }

    /// How many connections are held now.
    pub fn held(&self) -> usize {
        self.slots().len()
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<u64, Arc<Slot>>> {
        // A panic elsewhere while holding the map leaves it usable: it has no invariant
        // across entries.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Slot {
    /// Marks a request as started; it lasts until the returned guard drops.
    pub fn begin(self: &Arc<Self>) -> InProgress {
        self.in_progress.fetch_add(1, SeqCst);
        self.requests.fetch_add(1, SeqCst);
        InProgress(self.clone())
    }

    /// How many requests this connection has started.
    pub fn requests(&self) -> u64 {
        self.requests.load(SeqCst)
    }

    /// Whether a request is in progress.
    pub fn in_progress(&self) -> bool {
        self.in_progress.load(SeqCst) > 0
    }

    /// Resolves when the server wants this connection closed (to make room, or to stop).
    pub async fn told_to_close(&self) {
        self.close.notified().await
    }

    fn tell_to_close(&self) {
        self.closing.store(true, SeqCst);
        // notify_one keeps the wake-up for a task that is not waiting yet.
        self.close.notify_one();
    }
}

impl Held {
    /// This connection's slot.
    pub fn slot(&self) -> &Arc<Slot> {
        &self.slot
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // The slot goes before the permit (a field, dropped after this), so a newcomer
        // admitted with the permit never sees the closed connection as a candidate.
        self.connections.slots().remove(&self.id);
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.last_active.store(millis_since(self.0.epoch), SeqCst);
        self.0.in_progress.fetch_sub(1, SeqCst);
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(200);

    /// Plays a connection's task: holds its slot until told to close, unless a request
    /// is in progress.
    fn spawn_idle(held: Held) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            held.slot().told_to_close().await;
            drop(held);
        })
    }

    fn room(admission: Admission) -> Held {
        match admission {
            Admission::Room(held) => held,
            other => panic!("expected room, got {other:?}"),
        }
    }

    fn made_room(admission: Admission) -> Held {
        match admission {
            Admission::MadeRoom(held) => held,
            other => panic!("expected an idle connection to make room, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn below_the_cap_a_connection_is_admitted_at_once() {
        let connections = Connections::new(2);
        let first = room(connections.admit(WAIT).await);
        let second = room(connections.admit(WAIT).await);
        assert_eq!(connections.held(), 2);
        drop((first, second));
        assert_eq!(connections.held(), 0);
    }

    #[tokio::test]
    async fn at_the_cap_the_idle_connection_unused_longest_makes_way() {
        let connections = Connections::new(2);
        let older = room(connections.admit(WAIT).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let newer = room(connections.admit(WAIT).await);
        // The older one was used more recently: it finished a request after `newer` opened.
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(older.slot().begin());
        let (older_slot, newer_slot) = (older.slot().clone(), newer.slot().clone());
        let (older_task, newer_task) = (spawn_idle(older), spawn_idle(newer));
        let third = made_room(connections.admit(WAIT).await);
        assert!(newer_slot.closing.load(SeqCst), "the one unused the longest goes");
        assert!(!older_slot.closing.load(SeqCst), "the one used recently stays");
        newer_task.await.unwrap();
        assert_eq!(connections.held(), 2);
        drop(third);
        older_task.abort();
    }

    #[tokio::test]
    async fn a_request_in_progress_is_never_the_one_to_go() {
        let connections = Connections::new(1);
        let busy = room(connections.admit(WAIT).await);
        let request = busy.slot().begin();
        assert!(matches!(connections.admit(WAIT).await, Admission::Full), "nothing idle to close");
        assert!(!busy.slot().closing.load(SeqCst));
        drop(request);
        let task = spawn_idle(busy);
        made_room(connections.admit(WAIT).await);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn draining_tells_every_connection_and_waits_for_them() {
        let connections = Connections::new(3);
        let tasks: Vec<_> = [room(connections.admit(WAIT).await), room(connections.admit(WAIT).await)]
            .into_iter()
            .map(spawn_idle)
            .collect();
        connections.drain();
        assert!(connections.draining());
        tokio::time::timeout(WAIT, connections.all_closed()).await.expect("every connection closed");
        for task in tasks {
            task.await.unwrap();
        }
    }
}
