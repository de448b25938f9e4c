//! `keyseal audit verify` and `keyseal audit list`: check the hash chain of the store's
//! audit log, and read it filtered by key, action and time.

use crate::cli::count::count;
use crate::cli::{Outcome, print_json};
use crate::clock::{format_unix, parse_time};
use crate::kms::LocalKms;
use crate::kms::audit::{self, Filter};
use crate::kms::error::KmsError;
use crate::quote::escape_text;
use clap::Subcommand;

/// The audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the whole chain; name every edited, inserted or deleted entry. Exits 1 when
    /// anything is wrong.
    #[command(after_help = "Example:\n  keyseal audit verify\n\n\
Write down the head hash it prints (or keep it elsewhere): an attacker who can rewrite
the store file could rebuild the chain after the point of change, and only a head kept
outside the store catches that.")]
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show audit entries, oldest first.
    #[command(
        after_help = "Examples:\n  keyseal audit list --key-id KEY_ID --action AsymmetricSign --since 2026-01-01\n  keyseal audit list --limit 20 --json"
    )]
    List {
        /// Only entries about this KeyId (the real id; aliases are resolved when logged).
        #[arg(long)]
        key_id: Option<String>,
        /// Only this action, as the API names it (AsymmetricSign, CreateKey, ...).
        #[arg(long)]
        action: Option<String>,
        /// Only entries at or after this time (2026-01-31 or 2026-01-31T12:00:00Z).
        #[arg(long, value_parser = parse_time)]
        since: Option<i64>,
        /// Only entries at or before this time.
        #[arg(long, value_parser = parse_time)]
        until: Option<i64>,
        /// Only the newest N matching entries.
        #[arg(long)]
        limit: Option<u64>,
        /// Print the entries as a JSON array.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one audit command on the store behind `kms`.
pub fn run(action: AuditAction, kms: &LocalKms) -> Result<Outcome, KmsError> {
    match action {
        AuditAction::Verify { json } => {
            let report = kms.store().read(|tx| audit::verify(tx))?;
            if json {
                print_json(&report)?;
            } else if report.problems.is_empty() {
                crate::outln!(
                    "audit log intact: {}, head #{} sha256:{}",
                    count(report.entries, "entry", "entries"),
                    report.head_seq,
                    report.head_hash
                );
            } else {
                crate::outln!(
                    "audit log damaged: {} in {}",
                    count(report.problems.len() as u64, "problem", "problems"),
                    count(report.entries, "entry", "entries")
                );
                for problem in &report.problems {
                    crate::outln!("  entry {}: {}", problem.seq, escape_text(&problem.message));
                }
            }
            Ok(if report.problems.is_empty() { Outcome::Success } else { Outcome::VerificationFailed })
        }
        AuditAction::List { key_id, action, since, until, limit, json } => {
            let filter = Filter { key_id, action, since, until, limit };
            let entries = kms.store().read(|tx| audit::list(tx, &filter))?;
            if json {
                print_json(&entries)?;
            } else {
                for e in &entries {
                    print_entry(e);
                }
            }
            Ok(Outcome::Success)
        }
    }
}

/// One entry as a line. Fields can hold what a caller sent (a refused request's KeyId), so
/// every one is escaped: an entry cannot forge another line or rewrite the terminal.
fn print_entry(e: &audit::AuditEntry) {
    let field = |v: &Option<String>| escape_text(v.as_deref().unwrap_or("-")).into_owned();
    crate::outln!(
        "{:>6}  {}  {:<22} {:<20} key={} version={} alg={} {}{}{}",
        e.seq,
        format_unix(e.time),
        escape_text(&e.principal),
        escape_text(&e.action),
        field(&e.key_id),
        field(&e.key_version_id),
        field(&e.algorithm),
        escape_text(&e.result),
        e.error_code.as_ref().map(|c| format!(" ({})", escape_text(c))).unwrap_or_default(),
        e.detail.as_ref().map(|d| format!("  {}", escape_text(d))).unwrap_or_default()
    );
}
