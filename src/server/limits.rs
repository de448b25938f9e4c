//! The open-file limit `keyseal serve` runs under, and the connection cap it implies.
//!
//! Every connection costs a file descriptor, and so does the store (SQLite's database,
//! `-wal` and `-shm` files), the log, the listener and the runtime. A server that accepts
//! until `accept()` fails with EMFILE has nothing left for the store, so it can no longer
//! answer anyone. So at start the soft RLIMIT_NOFILE is raised to the hard limit (the most
//! an unprivileged process may ask for; best effort, unix only), and by default the server
//! holds at most that many connections less a reserve, never more than
//! [`DEFAULT_MAX_CONNECTIONS`].

/// File descriptors kept back from connections (at most half the limit): the store's
/// three SQLite files, stdio and the log, the listener, the runtime's epoll, eventfd and
/// signal pipe, the connection being accepted while an idle one is closed to make room,
/// and headroom for TLS key files read at start.
pub const FD_RESERVE: u64 = 64;

/// The most connections held by default, however high the open-file limit: far more than
/// the CI jobs and release engineers a KMS serves, few enough that finding the idle
/// connection to close at the cap stays cheap.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The open-file limit before and after [`raise_open_files`]; `None` is unlimited (or,
/// off unix, unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit the process started with.
    pub before: Option<u64>,
    /// The soft limit in force now.
    pub now: Option<u64>,
}

impl std::fmt::Display for OpenFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |limit: Option<u64>| limit.map_or("unlimited".to_string(), |n| n.to_string());
        if self.before == self.now {
            write!(f, "open-file limit {}", show(self.now))
        } else {
            write!(f, "open-file limit {} (raised from {})", show(self.now), show(self.before))
        }
    }
}

/// Raises the soft open-file limit to the hard limit, as far as the system allows; says
/// what it got. Failing to raise it is not an error: the cap follows whatever is in force.
#[cfg(unix)]
pub fn raise_open_files() -> OpenFiles {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let start = getrlimit(Resource::Nofile);
    if start.current != start.maximum {
        let raised = Rlimit { current: start.maximum, maximum: start.maximum };
        if setrlimit(Resource::Nofile, raised).is_err() {
            // macOS refuses an unlimited soft limit (OPEN_MAX); its hard limit is often
            // that. Ask for a large finite one instead.
            let finite = Rlimit { current: Some(start.maximum.unwrap_or(u64::MAX).min(10_240)), ..start };
            let _ = setrlimit(Resource::Nofile, finite);
        }
    }
    OpenFiles { before: start.current, now: getrlimit(Resource::Nofile).current }
}

/// Off unix there is no RLIMIT_NOFILE to raise.
#[cfg(not(unix))]
pub fn raise_open_files() -> OpenFiles {
    OpenFiles { before: None, now: None }
}

/// The descriptors kept back from connections under `limit`: [`FD_RESERVE`], or half the
/// limit when that is smaller.
pub fn reserve(limit: u64) -> u64 {
    FD_RESERVE.min(limit / 2)
}

/// The default connection cap for an open-file limit: the limit less its [`reserve`],
/// between 1 and [`DEFAULT_MAX_CONNECTIONS`].
pub fn default_max_connections(open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else { return DEFAULT_MAX_CONNECTIONS };
    let cap = usize::try_from(limit - reserve(limit)).unwrap_or(usize::MAX);
    cap.clamp(1, DEFAULT_MAX_CONNECTIONS)
}

/// Whether `max_connections` leaves the [`reserve`] free under the open-file limit; a cap
/// above that is allowed (the operator may know better) but warned about.
pub fn fits(max_connections: usize, open_files: Option<u64>) -> bool {
    open_files.is_none_or(|limit| (max_connections as u64).saturating_add(reserve(limit)) <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_a_reserve_below_the_limit() {
        assert_eq!(default_max_connections(Some(1024)), 960);
        assert_eq!(default_max_connections(Some(256)), 192);
        assert_eq!(default_max_connections(Some(64)), 32, "half of a small limit is kept back");
        assert_eq!(default_max_connections(Some(1)), 1);
        assert_eq!(default_max_connections(Some(0)), 1);
    }

    #[test]
    fn the_cap_stays_sane_under_a_huge_or_no_limit() {
        assert_eq!(default_max_connections(Some(1 << 20)), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(default_max_connections(None), DEFAULT_MAX_CONNECTIONS);
    }

    #[test]
    fn a_cap_that_eats_the_reserve_does_not_fit() {
        assert!(fits(192, Some(256)));
        assert!(!fits(193, Some(256)));
        assert!(fits(1_000_000, None));
    }

    #[cfg(unix)]
    #[test]
    fn raising_reaches_the_hard_limit_or_keeps_what_was_there() {
        let finite = |limit: Option<u64>| limit.unwrap_or(u64::MAX);
        let got = raise_open_files();
        let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
        assert!(finite(got.now) >= finite(got.before), "{got}");
        assert!(finite(got.now) <= finite(hard), "{got}");
    }

    #[test]
    fn the_limit_reads_plainly() {
        assert_eq!(
            OpenFiles { before: Some(256), now: Some(4096) }.to_string(),
            "open-file limit 4096 (raised from 256)"
        );
        assert_eq!(OpenFiles { before: None, now: None }.to_string(), "open-file limit unlimited");
    }
}
