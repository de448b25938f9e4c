//! `keyseal store migrate`: copy a store into another — an embedded (SQLite) store into a
//! PostgreSQL database for several servers, or back into a directory.

use crate::cli::{Outcome, print_json};
use crate::kms::error::KmsError;
use crate::kms::store::{KMS_SCHEMA, Store};
use crate::quote::escape_text;
use clap::Subcommand;
use std::path::PathBuf;

/// The store commands.
#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Copy every key, version, alias, audit entry, access key, policy, nonce, CA and
    /// certificate of a store into a new, empty one.
    #[command(
        after_help = "Example:\n  keyseal store migrate --from ~/.local/share/keyseal --to 'postgresql://keyseal@db.internal:5432/keyseal?sslmode=verify-full&sslrootcert=/etc/keyseal/db-ca.pem'\n\n\
Sealed keys are copied as they are: the new store opens with the same passphrase (or key
file). The copy is one transaction on the target, committed only once its audit chain
verifies and ends at the source's head; the source is only read. HSM keys stay in their
token, which the new store names as the old one did. Stop the servers on the source
first: requests answered during the copy would be missing from the target."
    )]
    Migrate {
        /// The store to copy: a directory, or a postgresql:// URL.
        #[arg(long)]
        from: PathBuf,
        /// The new store: a postgresql:// URL (password from the URL, PGPASSWORD or
        /// ~/.pgpass), or a directory.
        #[arg(long)]
        to: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one store command.
pub fn run(action: StoreAction) -> Result<Outcome, KmsError> {
    match action {
        StoreAction::Migrate { from, to, json } => {
            if from == to || (from.is_dir() && to.is_dir() && from.canonicalize().ok() == to.canonicalize().ok()) {
                return Err(KmsError::invalid("--to", "is the store being copied; give a new, empty store"));
            }
            let (source, target) = (Store::open(&from)?, Store::open(&to)?);
            let schemas = [&KMS_SCHEMA, &crate::ca::index::SCHEMA, &crate::server::access::SCHEMA];
            let report = source.copy_into(&target, &schemas)?;
            if json {
                print_json(&report)?;
            } else {
                for (table, rows) in &report.tables {
                    println!("{table:<16} {rows}");
                }
                println!(
                    "copied into {}: audit chain verified, {} entries, head sha256:{}",
                    escape_text(&crate::kms::postgres::redact(&to.to_string_lossy())),
                    report.audit_entries,
                    report.audit_head
                );
            }
        }
    }
    Ok(Outcome::Success)
}
