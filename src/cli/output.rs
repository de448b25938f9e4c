//! Standard output and error that never panic. `println!` panics when stdout is a closed
//! pipe (`keyseal kms list-keys | head -1`) or a full disk (`>/dev/full`); here a failed
//! write is remembered instead, later output is dropped, and `main` ends the command
//! quietly with a non-zero status, as coreutils do. Messages on stderr are best effort:
//! there is nowhere left to report their failure.

use std::io::Write;
use std::sync::Mutex;

/// The first error writing to stdout, if any.
static STDOUT_ERROR: Mutex<Option<std::io::ErrorKind>> = Mutex::new(None);

/// Writes formatted text to stdout, remembering the first failure.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    let Ok(mut failed) = STDOUT_ERROR.lock() else { return };
    if failed.is_some() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        *failed = Some(e.kind());
    }
}

/// Writes formatted text to stderr, ignoring failure.
pub fn write_stderr(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Flushes stdout and says whether everything written reached it; `Err` carries what
/// went wrong.
pub fn finish() -> Result<(), std::io::ErrorKind> {
    let flushed = std::io::stdout().lock().flush();
    let Ok(failed) = STDOUT_ERROR.lock() else { return Ok(()) };
    match (*failed, flushed) {
        (Some(kind), _) => Err(kind),
        (None, Err(e)) => Err(e.kind()),
        (None, Ok(())) => Ok(()),
    }
}

/// `println!` that does not panic.
#[macro_export]
macro_rules! outln {
    () => { $crate::cli::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::output::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that does not panic.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::output::write_stdout(format_args!($($arg)*)) };
}

/// `eprintln!` that does not panic.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::cli::output::write_stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that does not panic.
#[macro_export]
macro_rules! errput {
    ($($arg:tt)*) => { $crate::cli::output::write_stderr(format_args!($($arg)*)) };
}
