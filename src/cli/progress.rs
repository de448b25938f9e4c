//! A one-line progress display on stderr for long hashing runs: only when stderr is a
//! terminal and the work is large, redrawn at most ten times a second, cleared at the end.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Work below this many bytes finishes too fast to need a display.
const WORTH_SHOWING: u64 = 256 << 20;
const REDRAW: Duration = Duration::from_millis(100);

/// Counts bytes done out of a total and shows it.
pub struct Progress {
    total: u64,
    done: AtomicU64,
    shown: bool,
    last_draw: Mutex<Instant>,
    started: Instant,
}

impl Progress {
    /// A display for `total` bytes; silent unless stderr is a terminal and the work is long.
    pub fn new(total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            total,
            done: AtomicU64::new(0),
            shown: total >= WORTH_SHOWING && std::io::stderr().is_terminal(),
            last_draw: Mutex::new(now),
            started: now,
        }
    }

    /// Records `bytes` more done; redraws if it is time.
    pub fn add(&self, bytes: u64) {
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if !self.shown {
            return;
        }
        let Ok(mut last) = self.last_draw.try_lock() else { return };
        if last.elapsed() < REDRAW {
            return;
        }
        *last = Instant::now();
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let percent = done as f64 * 100.0 / self.total.max(1) as f64;
        crate::errput!(
            "\rhashing {:>5.1}%  {} / {} MiB  {:.0} MB/s ",
            percent,
            done >> 20,
            self.total >> 20,
            done as f64 / seconds / 1e6
        );
        let _ = std::io::stderr().flush();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.shown {
            crate::errput!("\r\x1b[2K");
        }
    }
}
