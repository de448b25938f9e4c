//! Signed audit checkpoints: the audit chain's head (its size and hash, and the time) in the
//! C2SP checkpoint format (c2sp.org/tlog-checkpoint), signed as a C2SP signed note
//! (c2sp.org/signed-note) by a KMS key version. Someone who can rewrite the store can
//! rebuild the chain from the point of change onward; a checkpoint kept elsewhere (a
//! repository, a ticket, another team) catches that, since the rebuilt chain no longer
//! holds the checkpoint's hash at its size.
//!
//! ```text
//! keyseal.local/audit/0b1c2d3e-…            origin: the store's audit log
//! 1234                                       entries
//! 3q2+7w…=                                   base64 of entry 1234's chain hash
//! time 2026-12-05T12:00:00Z                  an extension line: when it was signed
//!
//! — keyseal.local/KEY_ID/VERSION_ID BASE64(key ID || signature)
//! ```
//!
//! An EC_P256 key signs as signature type 0x02 (ECDSA over SHA-256, the key ID the first
//! four bytes of SHA-256 of the public key's SubjectPublicKeyInfo), as transparency-dev's
//! witness does. Other keys use type 0xff followed by `keyseal/ALGORITHM`, as the spec
//! reserves for types it does not assign; their key ID is SHA-256(name || 0x0A || 0xff ||
//! `keyseal/ALGORITHM` || SubjectPublicKeyInfo)[:4].

use crate::crypto::keys;
use crate::crypto::spec::{Algorithm, KeySpec, KeyUsage};
use crate::kms::audit;
use crate::kms::db::Tx;
use crate::kms::store::{Store, meta_get, meta_set};
use crate::kms::{Kms, KmsError, SigningKey};
use base64::Engine;
use sha2::{Digest, Sha256};

/// The longest checkpoint read: a note is a few hundred bytes.
pub const MAX_NOTE_LEN: usize = 64 * 1024;
/// Most signature lines read (the signed-note spec asks verifiers to take at least 16).
const MAX_SIGNATURES: usize = 16;
const EM_DASH: &str = "\u{2014} ";

/// A checkpoint's text, before or after it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log it is of: `keyseal.local/audit/STORE_ID`.
    pub origin: String,
    /// Entries in the chain.
    pub size: u64,
    /// The chain hash of entry `size` (32 bytes; the genesis hash for an empty chain).
    pub hash: Vec<u8>,
    /// Unix seconds when it was signed.
    pub time: i64,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl Checkpoint {
    /// The note text: origin, size, hash, the time extension line; ends in a newline.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.size,
            b64().encode(&self.hash),
            crate::clock::format_unix(self.time)
        )
    }

    /// Signs the note with `key` through `kms`; the whole signed note.
    pub fn sign(&self, kms: &dyn Kms, key: &SigningKey) -> Result<String, KmsError> {
        let text = self.text();
        let signature = key.sign_digest(kms, &Sha256::digest(text.as_bytes()))?;
        let name = key_name(key);
        let id = key_id(&name, key.algorithm, &key.public_spki);
        let mut value = id.to_vec();
        value.extend_from_slice(&signature);
        Ok(format!("{text}\n{EM_DASH}{name} {}\n", b64().encode(value)))
    }

    /// Reads a signed checkpoint and verifies a signature on it by `public_spki` (any of
    /// its lines whose key name and ID match that key); the checkpoint, or why not.
    pub fn verify(note: &str, public_spki: &[u8]) -> Result<Checkpoint, String> {
        if note.len() > MAX_NOTE_LEN {
            return Err(format!("the checkpoint is over {MAX_NOTE_LEN} bytes"));
        }
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err("the checkpoint holds control characters".into());
        }
        let (text, signatures) = note
            .rsplit_once("\n\n")
            .ok_or("the checkpoint has no blank line before its signatures: it is not a signed note")?;
        let text = format!("{text}\n");
        let spec = crate::crypto::spec_of_public_key(public_spki)
            .ok_or("the public key is not one keyseal's KMS makes (RSA 2048, P-256, secp256k1)")?;
        let digest = Sha256::digest(text.as_bytes());
        let lines: Vec<&str> = signatures.lines().collect();
        if lines.is_empty() || lines.len() > MAX_SIGNATURES {
            return Err(format!("the checkpoint has {} signature lines; 1 to {MAX_SIGNATURES} are read", lines.len()));
        }
        for line in lines {
            let (name, value) = line
                .strip_prefix(EM_DASH)
                .and_then(|rest| rest.split_once(' '))
                .ok_or("a signature line is not `— NAME SIGNATURE`")?;
            let value = b64().decode(value).map_err(|_| "a signature is not base64")?;
            let Some((id, signature)) = value.split_first_chunk::<4>() else { continue };
            for algorithm in spec.algorithms(KeyUsage::SignVerify) {
                if key_id(name, *algorithm, public_spki) != *id {
                    continue;
                }
                if !keys::verify_digest(spec, *algorithm, public_spki, &digest, signature).unwrap_or(false) {
                    return Err(format!(
                        "the signature of {} does not verify: the checkpoint was altered",
                        crate::quote::escape_text(name)
                    ));
                }
                return Checkpoint::parse(&text);
            }
        }
        Err("no signature on the checkpoint is by this public key".into())
    }

    /// The checkpoint a note's text holds.
    fn parse(text: &str) -> Result<Checkpoint, String> {
        let mut lines = text.lines();
        let origin = lines.next().filter(|l| !l.is_empty()).ok_or("the checkpoint has no origin line")?;
        let size = lines.next().and_then(|l| l.parse::<u64>().ok()).ok_or("the checkpoint's size is not a number")?;
        let hash = lines
            .next()
            .and_then(|l| b64().decode(l).ok())
            .filter(|h| h.len() == 32)
            .ok_or("the checkpoint's hash is not 32 bytes of base64")?;
        let time = lines
            .find_map(|l| l.strip_prefix("time "))
            .and_then(|t| crate::clock::parse_time(t).ok())
            .ok_or("the checkpoint has no time line")?;
        Ok(Checkpoint { origin: origin.to_string(), size, hash, time })
    }
}

/// The `meta` row naming this store's audit log in its checkpoints (copied by `store
/// migrate`: the copy is the same log).
const ORIGIN_META: &str = "audit_origin";

/// The checkpoint of the store's audit chain now, made under a new origin name the first
/// time; signed by `key` through `kms`.
pub fn checkpoint(store: &Store, kms: &dyn Kms, key: &SigningKey, now: i64) -> Result<(Checkpoint, String), KmsError> {
    let origin = match store.read(|tx| meta_get(tx, ORIGIN_META))? {
        Some(origin) => origin,
        None => store.write(|tx| {
            if let Some(origin) = meta_get(tx, ORIGIN_META)? {
                return Ok(origin);
            }
            let origin = format!("keyseal.local/audit/{}", crate::kms::ids::new_uuid()?).into_bytes();
            meta_set(tx, ORIGIN_META, &origin)?;
            Ok(origin)
        })?,
    };
    let (size, hash) = store.read(audit::head)?;
    let checkpoint = Checkpoint { origin: String::from_utf8_lossy(&origin).into_owned(), size, hash, time: now };
    let note = checkpoint.sign(kms, key)?;
    Ok((checkpoint, note))
}

/// Whether the store's chain (verified whole) still extends `checkpoint`: the same log,
/// at least as long, and entry `size` still has the checkpoint's hash. The problem, if
/// not.
pub fn extends(tx: &dyn Tx, checkpoint: &Checkpoint) -> Result<Option<String>, KmsError> {
    let origin = meta_get(tx, ORIGIN_META)?.map(|o| String::from_utf8_lossy(&o).into_owned());
    if origin.as_deref() != Some(checkpoint.origin.as_str()) {
        return Ok(Some(format!(
            "the checkpoint is of the log {}, and this store's is {}",
            crate::quote::escape_text(&checkpoint.origin),
            crate::quote::escape_text(origin.as_deref().unwrap_or("unnamed (it never made a checkpoint)"))
        )));
    }
    let report = audit::verify(tx)?;
    if !report.problems.is_empty() {
        return Ok(Some(format!(
            "the chain itself is damaged ({} problems; `keyseal audit verify` names them)",
            report.problems.len()
        )));
    }
    if report.entries < checkpoint.size {
        return Ok(Some(format!(
            "the chain has {} entries, fewer than the checkpoint's {}: entries were removed",
            report.entries, checkpoint.size
        )));
    }
    let hash = audit::hash_at(tx, checkpoint.size)?;
    if hash != checkpoint.hash {
        return Ok(Some(format!(
            "entry {} no longer has the checkpoint's hash: the chain was rewritten at or before it",
            checkpoint.size
        )));
    }
    Ok(None)
}

/// The key name a KMS key version signs checkpoints under.
pub fn key_name(key: &SigningKey) -> String {
    format!("keyseal.local/{}/{}", key.key_id, key.key_version_id)
}

/// The signed-note key ID of a key signing with `algorithm` under `name`.
fn key_id(name: &str, algorithm: Algorithm, public_spki: &[u8]) -> [u8; 4] {
    let hash = if algorithm == Algorithm::EcdsaSha256
        && crate::crypto::spec_of_public_key(public_spki) == Some(KeySpec::EcP256)
    {
        Sha256::digest(public_spki)
    } else {
        let mut hasher = Sha256::new();
        hasher.update(name.as_bytes());
        hasher.update([0x0a, 0xff]);
        hasher.update(format!("keyseal/{algorithm}").as_bytes());
        hasher.update(public_spki);
        hasher.finalize()
    };
    [hash[0], hash[1], hash[2], hash[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_a_c2sp_checkpoint() {
        let checkpoint = Checkpoint { origin: "keyseal.local/audit/x".into(), size: 7, hash: vec![1; 32], time: 0 };
        assert_eq!(
            checkpoint.text(),
            "keyseal.local/audit/x\n7\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\ntime 1970-01-01T00:00:00Z\n"
        );
        assert_eq!(Checkpoint::parse(&checkpoint.text()).unwrap(), checkpoint);
    }

    #[test]
    fn p256_keys_have_the_witness_key_id() {
        let pair = keys::generate(KeySpec::EcP256).unwrap();
        let id = key_id("any name", Algorithm::EcdsaSha256, &pair.public_spki);
        assert_eq!(id[..], Sha256::digest(&pair.public_spki)[..4]);
        let rsa = keys::generate(KeySpec::EcP256k).unwrap();
        assert_ne!(
            key_id("a", Algorithm::EcdsaSha256, &rsa.public_spki),
            key_id("b", Algorithm::EcdsaSha256, &rsa.public_spki)
        );
    }
}
