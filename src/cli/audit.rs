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
use sha2::Digest;
use std::path::PathBuf;

/// The audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the whole chain; name every edited, inserted or deleted entry. Exits 1 when
    /// anything is wrong.
    #[command(
        after_help = "Examples:\n  keyseal audit verify\n  keyseal audit verify --checkpoint audit-2026-12-05.checkpoint --public-key audit-key.pem\n\n\
Keep the head hash it prints, or better a signed checkpoint (`keyseal audit checkpoint`),
outside the store: an attacker who can rewrite the store could rebuild the chain after the
point of change, and only a head kept elsewhere catches that. With --checkpoint, the
chain must also still extend the checkpoint: the same log, at least as long, and the
entry at its size still holding its hash."
    )]
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also check that the chain extends this signed checkpoint.
        #[arg(long, requires = "public_key", value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// The public key (PEM) the checkpoint must be signed by.
        #[arg(long, requires = "checkpoint", value_name = "PUB.pem")]
        public_key: Option<PathBuf>,
    },
    /// Sign the chain's head (its size, hash and the time) with a KMS key version, as a
    /// C2SP signed-note checkpoint to keep somewhere else.
    #[command(
        after_help = "Example:\n  keyseal audit checkpoint --key-id alias/audit --key-version-id VERSION --out audit-$(date +%F).checkpoint\n  keyseal kms get-public-key --key-id alias/audit --key-version-id VERSION --out audit-key.pem\n\n\
Publish the checkpoint where the store's writers cannot change it (a repository, a
ticket, another team's bucket); `keyseal audit verify --checkpoint FILE --public-key PEM`
later proves the chain still extends it. The format is c2sp.org/tlog-checkpoint, signed
as a c2sp.org/signed-note (an EC_P256 key signs as transparency-dev witnesses do)."
    )]
    Checkpoint {
        /// The signing key: its KeyId, `alias/NAME`, or its ARN.
        #[arg(long)]
        key_id: String,
        /// The key version that signs.
        #[arg(long)]
        key_version_id: String,
        /// Write the signed checkpoint here (also printed when omitted).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also time-stamp the signed checkpoint (RFC 3161) at this TSA; the reply is written
        /// beside it as FILE.tsr (`openssl ts -verify -data FILE -in FILE.tsr ...` checks it).
        #[arg(long, value_name = "URL", requires = "out")]
        tsa: Option<String>,
        /// Trust these CA certificates (PEM) for an https --tsa instead of the web roots.
        #[arg(long, value_name = "CA.pem", requires = "tsa")]
        tsa_ca: Option<PathBuf>,
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
        AuditAction::Checkpoint { key_id, key_version_id, out, tsa, tsa_ca } => {
            let key = crate::kms::SigningKey::resolve(kms, &key_id, &key_version_id, None)?;
            let (checkpoint, note) =
                crate::kms::checkpoint::checkpoint(kms.store(), kms, &key, crate::clock::now_unix())?;
            // Stamped before anything is written: a TSA that fails leaves no checkpoint behind.
            let stamped = match &tsa {
                Some(url) => Some(time_stamp(url, tsa_ca.as_deref(), note.as_bytes())?),
                None => None,
            };
            match out {
                Some(path) => {
                    crate::cli::input::write_out(&path, note.as_bytes(), false)?;
                    if let Some((gen_time, reply)) = &stamped {
                        let mut reply_path = path.clone().into_os_string();
                        reply_path.push(".tsr");
                        crate::cli::input::write_flag("--tsa", std::path::Path::new(&reply_path), reply, false)?;
                        crate::outln!("time-stamped at {}", escape_text(gen_time));
                    }
                    crate::outln!(
                        "checkpoint of {} at entry {} written to {}",
                        escape_text(&checkpoint.origin),
                        checkpoint.size,
                        crate::quote::quote_path(&path)
                    );
                }
                None => print!("{}", escape_text(&note)),
            }
            Ok(Outcome::Success)
        }
        AuditAction::Verify { json, checkpoint, public_key } => {
            let extended = match (checkpoint, public_key) {
                (Some(note), Some(pem)) => Some(check_checkpoint(kms, &note, &pem)?),
                _ => None,
            };
            let report = kms.store().read(|tx| audit::verify(tx))?;
            if let Some(problem) = extended.flatten() {
                crate::outln!("checkpoint NOT extended: {problem}");
                return Ok(Outcome::VerificationFailed);
            }
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

/// An RFC 3161 time stamp over `bytes` from the TSA at `url`: its genTime and the reply.
fn time_stamp(url: &str, ca: Option<&std::path::Path>, bytes: &[u8]) -> Result<(String, Vec<u8>), KmsError> {
    let ca = ca.map(|path| crate::cli::input::read_file("--tsa-ca", path)).transpose()?;
    let (token, reply) = crate::tsa::client::TsaClient::new(url, ca.as_deref())
        .and_then(|client| client.stamp(&sha2::Sha256::digest(bytes)))
        .map_err(|e| KmsError::invalid("--tsa", e))?;
    Ok((token.tst_info.gen_time.display(), reply))
}

/// Reads and verifies a signed checkpoint by the key in `pem`; `Some(problem)` when the
/// chain does not extend it. A checkpoint that does not verify is refused as bad input.
fn check_checkpoint(kms: &LocalKms, note: &std::path::Path, pem: &std::path::Path) -> Result<Option<String>, KmsError> {
    let note = crate::cli::input::read_file("--checkpoint", note)?;
    let pem = crate::cli::input::read_file("--public-key", pem)?;
    let spki = crate::crypto::keys::public_key_from_pem(&String::from_utf8_lossy(&pem))
        .ok_or_else(|| KmsError::invalid("--public-key", "is not a PUBLIC KEY PEM"))?;
    let note = String::from_utf8(note).map_err(|_| KmsError::invalid("--checkpoint", "is not UTF-8 text"))?;
    let checkpoint = crate::kms::checkpoint::Checkpoint::verify(&note, &spki)
        .map_err(|why| KmsError::invalid("--checkpoint", why))?;
    let problem = kms.store().read(|tx| crate::kms::checkpoint::extends(tx, &checkpoint))?;
    if problem.is_none() {
        crate::outln!(
            "checkpoint extended: {} entry {} signed {}",
            escape_text(&checkpoint.origin),
            checkpoint.size,
            format_unix(checkpoint.time)
        );
    }
    Ok(problem)
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
