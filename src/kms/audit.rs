//! The audit log: every KMS operation, allowed or refused, appended in the same transaction
//! as its effect. Entries are hash-chained (each hash covers the previous one) and the
//! store keeps the chain's head, so `verify` finds an edited, inserted or deleted entry and
//! says which. What it cannot stop: someone with write access to the file who rewrites the
//! whole chain from the point of change; record the head `verify` prints somewhere else to
//! catch that. Entries never hold plaintext or key material — a digest at most.

use crate::kms::db::{ToParam, Tx};
use crate::kms::error::KmsError;
use crate::kms::store::{meta_get, meta_set};
use crate::params;
use serde::Serialize;
use sha2::{Digest, Sha256};

const HEAD_SEQ: &str = "audit_head_seq";
const HEAD_HASH: &str = "audit_head_hash";
const GENESIS: [u8; 32] = [0; 32];

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// Unix seconds.
    #[serde(serialize_with = "as_api_time")]
    pub time: i64,
    /// The request's RequestId.
    pub request_id: String,
    /// Who asked.
    pub principal: String,
    /// The OpenAPI action (`AsymmetricSign`, ...) or `PurgeKey` for a deletion taking effect.
    pub action: String,
    /// The real KeyId when resolved, else the KeyId parameter as given.
    pub key_id: Option<String>,
    /// The key version, when the operation names one.
    pub key_version_id: Option<String>,
    /// The algorithm, when the operation takes one.
    pub algorithm: Option<String>,
    /// Base64 SHA-256 digest, for sign and verify.
    pub digest: Option<String>,
    /// `Success` or `Failure`.
    pub result: String,
    /// The error code of a refused operation.
    pub error_code: Option<String>,
    /// What else identifies the event (a certificate's serial and subject, ...); never a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn as_api_time<S: serde::Serializer>(time: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::clock::format_unix(*time))
}

impl AuditEntry {
    /// A successful entry for `action`, to be filled in as the operation learns more.
    pub fn new(time: i64, request_id: &str, principal: &str, action: &str) -> AuditEntry {
        AuditEntry {
            seq: 0,
            time,
            request_id: request_id.to_string(),
            principal: principal.to_string(),
            action: action.to_string(),
            key_id: None,
            key_version_id: None,
            algorithm: None,
            digest: None,
            result: "Success".to_string(),
            error_code: None,
            detail: None,
        }
    }

    /// Marks the entry refused with `code`.
    pub fn refused(mut self, code: &str) -> AuditEntry {
        self.result = "Failure".to_string();
        self.error_code = Some(code.to_string());
        self
    }

    /// The chain hash of this entry after `prev_hash`: SHA-256 over a domain tag, the
    /// previous hash and every field length-prefixed, so no two entries encode alike.
    fn chain_hash(&self, prev_hash: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(b"keyseal-audit-v1");
        hasher.update(prev_hash);
        hasher.update(self.seq.to_be_bytes());
        hasher.update(self.time.to_be_bytes());
        let fields = [
            Some(&self.request_id),
            Some(&self.principal),
            Some(&self.action),
            self.key_id.as_ref(),
            self.key_version_id.as_ref(),
            self.algorithm.as_ref(),
            self.digest.as_ref(),
            Some(&self.result),
            self.error_code.as_ref(),
        ];
        for field in fields {
            match field {
                Some(text) => {
                    hasher.update((text.len() as u32).to_be_bytes());
                    hasher.update(text.as_bytes());
                }
                None => hasher.update(u32::MAX.to_be_bytes()),
            }
        }
        // Added in schema 2; hashed only when present, so entries written before keep
        // their hashes.
        if let Some(detail) = &self.detail {
            hasher.update(b"detail");
            hasher.update((detail.len() as u32).to_be_bytes());
            hasher.update(detail.as_bytes());
        }
        hasher.finalize().into()
    }
}

/// The longest a field naming what a request sent (principal, action, KeyId, version,
/// algorithm) is kept, in bytes; longer ones are cut and say how much was cut.
pub const MAX_NAMED_LEN: usize = 256;
/// The longest a detail (a certificate's subject, ...) is kept, in bytes.
pub const MAX_DETAIL_LEN: usize = 1024;

/// Cuts `text` to at most `max` bytes at a character boundary, noting what was cut. The
/// text is kept as named, escapes and all: escaping is for whoever shows it.
fn bound(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = text.len() - cut;
    text.truncate(cut);
    text.push_str(&format!("...[{dropped} more bytes]"));
}

impl AuditEntry {
    /// Every field a request can fill, bounded: a caller cannot grow the log by sending a
    /// megabyte-long KeyId, however far its request got.
    fn bounded(mut self) -> AuditEntry {
        bound(&mut self.principal, MAX_NAMED_LEN);
        bound(&mut self.action, MAX_NAMED_LEN);
        for field in [&mut self.key_id, &mut self.key_version_id, &mut self.algorithm].into_iter().flatten() {
            bound(field, MAX_NAMED_LEN);
        }
        if let Some(detail) = &mut self.detail {
            bound(detail, MAX_DETAIL_LEN);
        }
        self
    }
}

/// Appends `entry` after the current head; returns its sequence number. Call inside the
/// operation's write transaction.
pub fn append(tx: &dyn Tx, entry: &AuditEntry) -> Result<u64, KmsError> {
    let (head_seq, head_hash) = head(tx)?;
    let mut entry = entry.clone().bounded();
    entry.seq = head_seq + 1;
    let hash = entry.chain_hash(&head_hash);
    tx.execute(
        "INSERT INTO audit (seq, time, request_id, principal, action, key_id, key_version_id, algorithm,
                            digest, result, error_code, prev_hash, hash, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            entry.seq,
            entry.time,
            entry.request_id,
            entry.principal,
            entry.action,
            entry.key_id,
            entry.key_version_id,
            entry.algorithm,
            entry.digest,
            entry.result,
            entry.error_code,
            head_hash.as_slice(),
            hash.as_slice(),
            entry.detail
        ],
    )?;
    meta_set(tx, HEAD_SEQ, entry.seq.to_string().as_bytes())?;
    meta_set(tx, HEAD_HASH, &hash)?;
    Ok(entry.seq)
}

/// The chain hash of entry `seq` (the genesis hash for 0), as stored; empty when there is
/// no such entry.
pub fn hash_at(tx: &dyn Tx, seq: u64) -> Result<Vec<u8>, KmsError> {
    if seq == 0 {
        return Ok(GENESIS.to_vec());
    }
    Ok(tx.query_opt("SELECT hash FROM audit WHERE seq = ?1", params![seq], |row| row.get(0))?.unwrap_or_default())
}

/// The head the store records: its sequence number and chain hash.
pub fn head(tx: &dyn Tx) -> Result<(u64, Vec<u8>), KmsError> {
    let seq = match meta_get(tx, HEAD_SEQ)? {
        Some(bytes) => String::from_utf8_lossy(&bytes)
            .parse()
            .map_err(|_| KmsError::internal("the audit head in the store is not a number; the store was altered"))?,
        None => 0,
    };
    let hash = meta_get(tx, HEAD_HASH)?.unwrap_or_else(|| GENESIS.to_vec());
    Ok((seq, hash))
}

/// What kind of damage `verify` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// An entry's fields no longer match its own hash.
    Edited,
    /// Sequence numbers are missing.
    Deleted,
    /// An entry does not chain to the one before it: that one was replaced or inserted.
    Inserted,
    /// The chain ends before or after the head the store recorded.
    Truncated,
}

/// One finding of `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The entry the finding is about.
    pub seq: u64,
    /// The kind of damage.
    pub kind: ProblemKind,
    /// What exactly is wrong.
    pub message: String,
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// The head as recorded by the store: sequence number and hex hash.
    pub head_seq: u64,
    /// Hex chain hash of the head; write it down to detect a rewrite of the whole chain.
    pub head_hash: String,
    /// Everything found wrong, in chain order; empty when intact.
    pub problems: Vec<Problem>,
}

/// A stored row: the entry plus the hashes kept with it.
struct StoredEntry {
    entry: AuditEntry,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

/// Walks the whole chain and reports every break.
pub fn verify(tx: &dyn Tx) -> Result<VerifyReport, KmsError> {
    let (head_seq, head_hash) = head(tx)?;
    let rows = select(tx, "ORDER BY seq", &[])?;
    let mut problems = Vec::new();
    let mut expected_seq = 1u64;
    let mut previous_hash = GENESIS.to_vec();
    for row in &rows {
        let seq = row.entry.seq;
        if seq > expected_seq {
            let missing = if seq - expected_seq == 1 {
                format!("entry {expected_seq} is")
            } else {
                format!("entries {expected_seq} to {} are", seq - 1)
            };
            problems.push(Problem {
                seq,
                kind: ProblemKind::Deleted,
                message: format!("{missing} missing: deleted from the log"),
            });
        } else if row.prev_hash != previous_hash {
            problems.push(Problem {
                seq,
                kind: ProblemKind::Inserted,
                message: format!(
                    "entry {seq} does not chain to entry {}: that entry was replaced or inserted",
                    seq.saturating_sub(1)
                ),
            });
        }
        if row.entry.chain_hash(&row.prev_hash).as_slice() != row.hash.as_slice() {
            problems.push(Problem {
                seq,
                kind: ProblemKind::Edited,
                message: format!("entry {seq} was edited: its contents do not match its hash"),
            });
        }
        expected_seq = seq + 1;
        previous_hash = row.hash.clone();
    }
    let last_seq = expected_seq - 1;
    if last_seq < head_seq {
        problems.push(Problem {
            seq: last_seq + 1,
            kind: ProblemKind::Truncated,
            message: format!(
                "the log ends at entry {last_seq} but the store recorded {head_seq} entries: the last ones were deleted"
            ),
        });
    } else if last_seq > head_seq {
        problems.push(Problem {
            seq: head_seq + 1,
            kind: ProblemKind::Inserted,
            message: format!("entries {} to {last_seq} lie beyond the recorded head: they were inserted", head_seq + 1),
        });
    } else if last_seq > 0 && previous_hash != head_hash {
        problems.push(Problem {
            seq: last_seq,
            kind: ProblemKind::Inserted,
            message: format!("entry {last_seq} is not the entry the store recorded as its head: it was replaced"),
        });
    }
    Ok(VerifyReport { entries: rows.len() as u64, head_seq, head_hash: hex::encode(&head_hash), problems })
}

/// Which entries `list` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this KeyId.
    pub key_id: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only at or after this Unix time.
    pub since: Option<i64>,
    /// Only at or before this Unix time.
    pub until: Option<i64>,
    /// At most this many, the newest ones.
    pub limit: Option<u64>,
}

/// Entries matching `filter`, oldest first.
pub fn list(tx: &dyn Tx, filter: &Filter) -> Result<Vec<AuditEntry>, KmsError> {
    let mut clauses = Vec::new();
    let mut values: Vec<&dyn ToParam> = Vec::new();
    if let Some(key_id) = &filter.key_id {
        values.push(key_id);
        clauses.push(format!("key_id = ?{}", values.len()));
    }
    if let Some(action) = &filter.action {
        values.push(action);
        clauses.push(format!("action = ?{}", values.len()));
    }
    if let Some(since) = &filter.since {
        values.push(since);
        clauses.push(format!("time >= ?{}", values.len()));
    }
    if let Some(until) = &filter.until {
        values.push(until);
        clauses.push(format!("time <= ?{}", values.len()));
    }
    let mut tail = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    tail.push_str(" ORDER BY seq DESC");
    if let Some(limit) = &filter.limit {
        values.push(limit);
        tail.push_str(&format!(" LIMIT ?{}", values.len()));
    }
    let mut entries: Vec<AuditEntry> = select(tx, &tail, &values)?.into_iter().map(|row| row.entry).collect();
    entries.reverse();
    Ok(entries)
}

fn select(tx: &dyn Tx, tail: &str, values: &[&dyn ToParam]) -> Result<Vec<StoredEntry>, KmsError> {
    let sql = format!(
        "SELECT seq, time, request_id, principal, action, key_id, key_version_id, algorithm, digest, result,
                error_code, prev_hash, hash, detail FROM audit {tail}"
    );
    tx.query_map(&sql, values, |row| {
        Ok(StoredEntry {
            entry: AuditEntry {
                seq: row.get(0)?,
                time: row.get(1)?,
                request_id: row.get(2)?,
                principal: row.get(3)?,
                action: row.get(4)?,
                key_id: row.get(5)?,
                key_version_id: row.get(6)?,
                algorithm: row.get(7)?,
                digest: row.get(8)?,
                result: row.get(9)?,
                error_code: row.get(10)?,
                detail: row.get(13)?,
            },
            prev_hash: row.get(11)?,
            hash: row.get(12)?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::store::Store;

    fn store_with_entries(n: u64) -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "keyseal-audit-{}-{n}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir).unwrap();
        store
            .write(|tx| {
                for i in 0..n {
                    let mut entry = AuditEntry::new(1000 + i as i64, &format!("req-{i}"), "tester", "DescribeKey");
                    entry.key_id = Some(format!("key-{}", i % 2));
                    append(tx, &entry)?;
                }
                Ok(())
            })
            .unwrap();
        (store, dir)
    }

    fn kinds(store: &Store) -> Vec<(u64, ProblemKind)> {
        store.read(|tx| verify(tx)).unwrap().problems.iter().map(|p| (p.seq, p.kind)).collect()
    }

    #[test]
    fn intact_chain_verifies() {
        let (store, dir) = store_with_entries(5);
        let report = store.read(|tx| verify(tx)).unwrap();
        assert_eq!((report.entries, report.head_seq, report.problems.len()), (5, 5, 0));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn finds_edited_deleted_replaced_and_truncated_entries() {
        let (store, dir) = store_with_entries(6);
        store.write(|tx| tx.execute("UPDATE audit SET principal = 'mallory' WHERE seq = 2", crate::params![])).unwrap();
        store.write(|tx| tx.execute("DELETE FROM audit WHERE seq = 4", crate::params![])).unwrap();
        store.write(|tx| tx.execute("DELETE FROM audit WHERE seq = 6", crate::params![])).unwrap();
        assert_eq!(
            kinds(&store),
            vec![(2, ProblemKind::Edited), (5, ProblemKind::Deleted), (6, ProblemKind::Truncated)]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn finds_an_entry_replaced_with_a_consistent_hash() {
        let (store, dir) = store_with_entries(4);
        store
            .write(|tx| {
                let prev: Vec<u8> = tx.query_value("SELECT prev_hash FROM audit WHERE seq = 2", crate::params![])?;
                let mut forged = AuditEntry::new(1001, "req-1", "mallory", "DescribeKey");
                forged.seq = 2;
                let hash = forged.chain_hash(&prev);
                tx.execute(
                    "UPDATE audit SET principal = 'mallory', key_id = NULL, hash = ?1 WHERE seq = 2",
                    crate::params![hash.as_slice()],
                )?;
                Ok(())
            })
            .unwrap();
        assert_eq!(kinds(&store), vec![(3, ProblemKind::Inserted)]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn lists_with_filters() {
        let (store, dir) = store_with_entries(6);
        let filter = Filter { key_id: Some("key-1".into()), since: Some(1002), ..Filter::default() };
        let seqs: Vec<u64> = store.read(|tx| list(tx, &filter)).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![4, 6]);
        let newest = Filter { limit: Some(2), ..Filter::default() };
        let seqs: Vec<u64> = store.read(|tx| list(tx, &newest)).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![5, 6]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
