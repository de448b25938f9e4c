//! Attestations: an in-toto Statement v1 about a release's files (their names and SHA-256
//! digests as `subject`, any `predicateType` and `predicate`: SLSA provenance, an SBOM, a
//! test result), signed in a DSSE envelope with one KMS call, and written twice — as a
//! Sigstore bundle with a `dsseEnvelope` (what cosign's `verify-blob-attestation` and
//! sigstore-js read) and as the bare envelope on one line of a `.intoto.jsonl` (what in-toto
//! tooling reads).
//!
//! DSSE signs the pre-authentication encoding of the payload, never the payload alone, so a
//! signature over a statement cannot be passed off as one over anything else:
//! `PAE = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.

use crate::kms::store::Store;
use crate::kms::{Kms, SigningKey};
use crate::release::ReleaseError;
use crate::release::bundle::own_files;
use crate::release::sign::{digest_walked, signer_chain};
use crate::release::sigstore::{self, b64, key_hint};
use crate::release::walk::{Skipped, walk};
use crate::safe_write;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The in-toto Statement type this writes and reads.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// DSSE's pre-authentication encoding of `payload` of `payload_type`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut encoded = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    encoded.extend_from_slice(payload);
    encoded
}

/// What to attest, with which key, where to write it.
pub struct AttestOptions {
    /// Files and directories whose files are the statement's subjects.
    pub paths: Vec<PathBuf>,
    /// The signing key: KeyId, alias or ARN.
    pub key_id: String,
    /// The key version that signs.
    pub key_version_id: String,
    /// The algorithm; by default the key's spec decides.
    pub algorithm: Option<crate::kms::Algorithm>,
    /// The signer's certificate chain (PEM, leaf first), to name it in the bundle by its
    /// leaf instead of a key hint; the leaf must certify the key version, be valid now and
    /// allow code signing, as for `sign --cert`.
    pub certificate_chain: Option<Vec<u8>>,
    /// The predicate's type (a URI).
    pub predicate_type: String,
    /// The predicate.
    pub predicate: Value,
    /// The Sigstore bundle to write (`NAME.sigstore.json`); the envelope goes beside it as
    /// `NAME.intoto.jsonl`.
    pub out: PathBuf,
    /// Hashing threads.
    pub threads: usize,
}

/// What attesting did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestSummary {
    /// The subjects, by name.
    pub subjects: Vec<String>,
    /// The predicate's type.
    pub predicate_type: String,
    /// The KeyId that signed.
    pub key_id: String,
    /// The key version.
    pub key_version_id: String,
    /// The algorithm.
    pub algorithm: crate::kms::Algorithm,
    /// Files written.
    pub outputs: Vec<PathBuf>,
    /// What was left out of the subjects, and why.
    pub skipped: Vec<Skipped>,
}

/// Where the bare envelope goes: `NAME.intoto.jsonl` beside `NAME.sigstore.json`.
pub fn envelope_path(out: &std::path::Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".sigstore.json").or_else(|| name.strip_suffix(".json")).unwrap_or(&name);
    out.with_file_name(format!("{stem}.intoto.jsonl"))
}

/// Attests the files under `options.paths`: hashes them, signs the statement, writes both
/// files (each under a new name, then renamed into place). Nothing is written when the key,
/// a file or the signature fails.
pub fn attest(
    kms: &dyn Kms,
    options: &AttestOptions,
    ca_index: Option<&Store>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<AttestSummary, ReleaseError> {
    let key = SigningKey::resolve(kms, &options.key_id, &options.key_version_id, options.algorithm)?;
    if !sigstore::algorithm_fits(key.spec, key.algorithm) {
        return Err(ReleaseError::Input(format!(
            "an attestation is a Sigstore bundle, and Sigstore verifiers take no {} signature by a {} key: use an EC_P256 key, or RSA_PKCS1_SHA_256 with an RSA_2048 key",
            key.algorithm, key.spec
        )));
    }
    let certificate = match &options.certificate_chain {
        Some(pem) => Some(signer_chain(pem, &key, ca_index)?[0].der().to_vec()),
        None => None,
    };
    let envelope_out = envelope_path(&options.out);
    let mut own = vec![options.out.clone(), envelope_out.clone()];
    own.extend(options.paths.iter().filter(|p| p.is_dir()).flat_map(|dir| own_files(dir)));
    let walked = walk(&options.paths, &own);
    let digests = digest_walked(&walked, "attest", options.threads, progress)?;
    let subjects: Vec<Value> = digests
        .entries
        .iter()
        .map(|(name, digest)| json!({ "name": name, "digest": { "sha256": hex::encode(digest) } }))
        .collect();
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": options.predicate_type,
        "predicate": options.predicate,
    });
    let payload = serde_json::to_vec(&statement)
        .map_err(|e| ReleaseError::Internal(format!("cannot encode the statement: {e}")))?;
    let signature = key.sign_digest(kms, &Sha256::digest(pae(PAYLOAD_TYPE, &payload)))?;
    let hint = key_hint(&key.public_spki);
    let envelope = json!({
        "payload": b64(&payload),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [{ "keyid": hint, "sig": b64(&signature) }],
    });
    let material = match &certificate {
        Some(der) => json!({ "certificate": { "rawBytes": b64(der) }, "tlogEntries": [] }),
        None => json!({ "publicKey": { "hint": hint }, "tlogEntries": [] }),
    };
    let bundle = json!({
        "mediaType": sigstore::MEDIA_TYPE,
        "verificationMaterial": material,
        "dsseEnvelope": envelope,
    });
    let encode = |value: &Value, pretty: bool| {
        let mut bytes = if pretty { serde_json::to_vec_pretty(value) } else { serde_json::to_vec(value) }
            .map_err(|e| ReleaseError::Internal(format!("cannot encode the attestation: {e}")))?;
        bytes.push(b'\n');
        Ok::<_, ReleaseError>(bytes)
    };
    let writes = [(options.out.clone(), encode(&bundle, true)?), (envelope_out, encode(&envelope, false)?)];
    for (path, bytes) in &writes {
        safe_write::write_file(path, bytes, false)
            .map_err(|e| ReleaseError::Output { path: crate::quote::quote_path(path), error: e.to_string() })?;
    }
    Ok(AttestSummary {
        subjects: digests.entries.keys().cloned().collect(),
        predicate_type: options.predicate_type.clone(),
        key_id: key.key_id,
        key_version_id: key.key_version_id,
        algorithm: key.algorithm,
        outputs: writes.into_iter().map(|(path, _)| path).collect(),
        skipped: walked.skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DSSE specification's own example.
    #[test]
    fn pae_is_the_dsse_encoding() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn the_envelope_goes_beside_the_bundle() {
        assert_eq!(envelope_path(std::path::Path::new("out/app.sigstore.json")), PathBuf::from("out/app.intoto.jsonl"));
        assert_eq!(envelope_path(std::path::Path::new("att.json")), PathBuf::from("att.intoto.jsonl"));
    }
}
