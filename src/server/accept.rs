//! What the accept loop does when `accept()` fails.
//!
//! A failure that concerns one connection (it was aborted or reset before we took it)
//! says nothing about the next: take the next one at once. A failure for want of a
//! resource (EMFILE, ENFILE, ENOBUFS, ENOMEM) repeats at once too, because the pending
//! connection is still there and the listener stays readable: retrying without a pause
//! spins a core at 100% and starves the requests that would free the resource. So those
//! (and any failure we do not recognise) back off, from 5 ms doubling to 1 s, reset by the
//! next success; the first failure of a burst is logged, not every retry.

use std::io;
use std::time::Duration;

/// The first pause after a resource failure.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(5);
/// The longest pause: short enough that a freed descriptor is used within a second.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What a failed `accept()` calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptFailure {
    /// One connection went wrong; take the next at once.
    Connection,
    /// The process or system is out of something; pause before trying again.
    Resources,
}

/// Sorts an `accept()` error by what it calls for.
pub fn classify(err: &io::Error) -> AcceptFailure {
    use io::ErrorKind::*;
    if matches!(err.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock | TimedOut) {
        return AcceptFailure::Connection;
    }
    // Linux only: ENONET is Linux's, and the BSDs and macOS do not pass a failed
    // connection's error up through accept(2).
    #[cfg(target_os = "linux")]
    if let Some(code) = err.raw_os_error() {
        // Linux passes these up from a connection that failed before it was accepted
        // (accept(2), "Error handling"): retry at once, as for ECONNABORTED.
        let per_connection = [
            libc::EPROTO,
            libc::ENOPROTOOPT,
            libc::EHOSTDOWN,
            libc::ENONET,
            libc::EHOSTUNREACH,
            libc::EOPNOTSUPP,
            libc::ENETUNREACH,
            libc::ENETDOWN,
            libc::EPERM,
        ];
        if per_connection.contains(&code) {
            return AcceptFailure::Connection;
        }
    }
    AcceptFailure::Resources
}

/// The pause schedule for a burst of resource failures.
#[derive(Debug, Default)]
pub struct Backoff {
    next: Option<Duration>,
    failures: u64,
}

impl Backoff {
    /// Records a failure; returns how long to pause before the next `accept()`.
    pub fn failed(&mut self) -> Duration {
        let pause = self.next.unwrap_or(FIRST_BACKOFF);
        self.next = Some((pause * 2).min(MAX_BACKOFF));
        self.failures += 1;
        pause
    }

    /// Whether the failure just recorded was the first of its burst (the one to log).
    pub fn first_of_burst(&self) -> bool {
        self.failures == 1
    }

    /// Records a success; returns how many failures the burst it ends had, if any.
    pub fn succeeded(&mut self) -> Option<u64> {
        let failures = std::mem::take(&mut self.failures);
        self.next = None;
        (failures > 0).then_some(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_a_second_and_reset_on_success() {
        let mut backoff = Backoff::default();
        let pauses: Vec<u64> = (0..10).map(|_| backoff.failed().as_millis() as u64).collect();
        assert_eq!(pauses, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(backoff.succeeded(), Some(10));
        assert_eq!(backoff.failed(), FIRST_BACKOFF);
        assert!(backoff.first_of_burst());
        backoff.failed();
        assert!(!backoff.first_of_burst(), "a burst is logged once");
        assert_eq!(Backoff::default().succeeded(), None, "no burst, nothing to report");
    }

    #[cfg(unix)]
    #[test]
    fn running_out_of_descriptors_or_memory_backs_off() {
        for code in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert_eq!(classify(&io::Error::from_raw_os_error(code)), AcceptFailure::Resources, "{code}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_connection_that_failed_before_it_was_taken_does_not() {
        for code in [libc::ECONNABORTED, libc::ECONNRESET, libc::EINTR] {
            assert_eq!(classify(&io::Error::from_raw_os_error(code)), AcceptFailure::Connection, "{code}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_passes_up_a_failed_connections_own_error() {
        for code in [libc::EPROTO, libc::ENONET, libc::EHOSTUNREACH, libc::EPERM] {
            assert_eq!(classify(&io::Error::from_raw_os_error(code)), AcceptFailure::Connection, "{code}");
        }
    }

    #[test]
    fn an_unknown_failure_backs_off_rather_than_spin() {
        assert_eq!(classify(&io::Error::other("strange")), AcceptFailure::Resources);
    }
}
