//! `keyseal sign`: check everything first (key version, algorithm, certificate, files),
//! hash the release on all cores, sign the manifest's digest with one KMS call, check the
//! signature came back right, and only then write the outputs. A refusal at any step
//! writes nothing.

use crate::ca::index;
use crate::clock::{format_unix, now_unix};
use crate::crypto::spec::Algorithm;
use crate::kms::store::Store;
use crate::kms::{Kms, SigningKey};
use crate::release::ReleaseError;
use crate::release::bundle::{
    BUNDLE_FILE, Bundle, ManifestRef, SIGNATURE_FILE, SignatureInfo, Signer, Timestamp, own_files,
};
use crate::release::formats::{self, Formats, Signed};
use crate::release::hash::{Extra, FileDigests, hash_files_with};
use crate::release::manifest::{MANIFEST_FILE, Manifest};
use crate::release::sigstore::{self, MessageSignature, SIGSTORE_FILE};
use crate::release::walk::{OWN_OUTPUT, Skipped, Walk, walk};
use crate::safe_write;
use crate::tsa::client::TsaClient;
use crate::x509;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to sign and how.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// Files and directories of the release.
    pub paths: Vec<PathBuf>,
    /// KeyId, alias or ARN.
    pub key_id: String,
    /// The key version that signs.
    pub key_version_id: String,
    /// The algorithm; by default the key's spec decides (`KeySpec::default_signing_algorithm`).
    pub algorithm: Option<Algorithm>,
    /// PEM certificate chain for the key version, leaf first.
    pub certificate_chain: Option<Vec<u8>>,
    /// Where SHA256SUMS, SHA256SUMS.sig and keyseal.bundle.json go.
    pub out_dir: PathBuf,
    /// Also write `<file>.sig` for every file.
    pub detached: bool,
    /// Hashing threads.
    pub threads: usize,
    /// Time-stamp the signature at this TSA (`--tsa URL`), with these CA certificates
    /// (PEM) for an https TSA instead of the web roots.
    pub tsa: Option<(String, Option<Vec<u8>>)>,
    /// Signatures in other formats to write too (`--format`).
    pub formats: Vec<formats::SignatureFormat>,
    /// The namespace of SSH signatures (`--ssh-namespace`, default `file`).
    pub ssh_namespace: String,
}

/// What signing did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignSummary {
    /// Files signed.
    pub files: u64,
    /// Bytes hashed.
    pub bytes: u64,
    /// Hex SHA-256 of the manifest.
    pub manifest_sha256: String,
    /// The real KeyId.
    pub key_id: String,
    /// The key version.
    pub key_version_id: String,
    /// The algorithm used.
    pub algorithm: Algorithm,
    /// Files written.
    pub outputs: Vec<PathBuf>,
    /// What was left out of the release, and why.
    pub skipped: Vec<Skipped>,
    /// The signature's time stamp, when `--tsa` was given: the TSA and its genTime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimestampSummary>,
    /// Why no Sigstore bundle was written, when none was (the key's algorithm has no
    /// Sigstore form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigstore_omitted: Option<String>,
}

/// Where the time stamp came from and what time it states.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampSummary {
    /// The TSA's URL.
    pub tsa: String,
    /// The token's genTime.
    pub gen_time: String,
}

/// The key version's public key, spec and the algorithm to use, with the certificate
/// chain checked against them.
struct ResolvedSigner {
    key: SigningKey,
    /// The `--cert` chain, leaf first (empty without `--cert`): what the bundle and a CMS
    /// signature carry.
    chain: Vec<x509::Cert>,
    /// The same, as PEM for the bundle.
    chain_pem: Vec<String>,
}

impl ResolvedSigner {
    /// The leaf of `--cert`, DER: what names the signer in the Sigstore bundle.
    fn leaf_der(&self) -> Option<&[u8]> {
        self.chain.first().map(|leaf| leaf.der())
    }
}

fn resolve_signer(
    kms: &dyn Kms,
    options: &SignOptions,
    ca_index: Option<&Store>,
) -> Result<ResolvedSigner, ReleaseError> {
    let key = SigningKey::resolve(kms, &options.key_id, &options.key_version_id, options.algorithm)?;
    let chain = match &options.certificate_chain {
        None => Vec::new(),
        Some(pem) => signer_chain(pem, &key, ca_index)?,
    };
    let chain_pem = chain.iter().map(certificate_pem).collect::<Result<_, _>>()?;
    Ok(ResolvedSigner { key, chain, chain_pem })
}

/// The `--cert` chain of `sign` and `attest`, leaf first: its leaf must certify `key`, be
/// valid now and allow code signing, and no certificate of it may be one this host's CA
/// index (`ca_index`, when there is a store) has revoked.
pub(crate) fn signer_chain(
    pem: &[u8],
    key: &SigningKey,
    ca_index: Option<&Store>,
) -> Result<Vec<x509::Cert>, ReleaseError> {
    let chain = x509::load_pem_chain(pem)?;
    x509::check_code_signing_leaf(&chain[0], &key.public_spki, now_unix())?;
    if let Some(store) = ca_index {
        refuse_revoked(store, &chain)?;
    }
    Ok(chain)
}

/// Refuses a chain that holds a certificate this store's own CA has revoked: the CA knows
/// at once, long before a verifier sees its next CRL.
fn refuse_revoked(store: &Store, chain: &[x509::Cert]) -> Result<(), ReleaseError> {
    let store = index::ready(store)?;
    for cert in chain {
        let der = cert.der();
        let serial = cert.tbs_certificate().serial_number().as_bytes();
        let Some(record) = store.read(|tx| index::lookup(tx, der, serial))? else { continue };
        if let Some(revoked_at) = record.revoked_at {
            return Err(x509::CertError {
                reason: x509::Reason::Revoked,
                message: format!(
                    "{} was revoked by CA {} at {} ({}), per this store's CA index; issue a new certificate with `keyseal ca issue`",
                    x509::describe(cert),
                    record.ca_name,
                    format_unix(revoked_at),
                    record.revocation_reason.as_deref().unwrap_or("no reason given")
                ),
            }
            .into());
        }
    }
    Ok(())
}

/// The certificate as PEM, its DER exactly as given (a re-encoding could change the bytes
/// its issuer signed).
fn certificate_pem(cert: &x509::Cert) -> Result<String, ReleaseError> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, cert.der())
        .map_err(|e| ReleaseError::Internal(format!("cannot encode a certificate as PEM: {e}")))
}

/// Signs a release; see the module comment for the order of things. `ca_index` is the
/// store whose CA index is consulted for the `--cert` chain, when there is one.
pub fn sign_release(
    kms: &dyn Kms,
    options: &SignOptions,
    ca_index: Option<&Store>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SignSummary, ReleaseError> {
    let signer = resolve_signer(kms, options, ca_index)?;
    let formats = Formats::prepare(kms, options, &signer.key, &signer.chain)?;
    let out = &options.out_dir;
    let mut walked = walk(&options.paths, &own_outputs(options));
    if options.detached {
        drop_own_detached_signatures(&mut walked, out);
    }
    for signed_before in options.paths.iter().filter(|dir| dir.join(BUNDLE_FILE).is_file()) {
        drop_own_detached_signatures(&mut walked, signed_before);
    }
    let extra = formats.per_file_digests();
    let (manifest, per_file) = digest_walked_with(&walked, "sign", options.threads, progress, extra)?;
    let entries: Vec<_> = walked.entries.values().collect();

    let manifest_bytes = manifest.to_bytes();
    let manifest_digest = Sha256::digest(&manifest_bytes).to_vec();
    let signature = signer.key.sign_digest(kms, &manifest_digest)?;
    let (timestamp, timestamp_reply) = match &options.tsa {
        Some((url, ca)) => {
            let (timestamp, reply) = stamp(url, ca.as_deref(), &signature)?;
            (Some(timestamp), Some(reply))
        }
        None => (None, None),
    };
    let mut writes: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let sigstore_form = sigstore::algorithm_fits(signer.key.spec, signer.key.algorithm);
    if options.detached {
        for (name, digest) in &manifest.entries {
            let signature = signer.key.sign_digest(kms, digest)?;
            if sigstore_form {
                // The same signature as a Sigstore bundle of that one file.
                let message = MessageSignature {
                    digest,
                    signature: &signature,
                    public_spki: &signer.key.public_spki,
                    certificate: signer.leaf_der(),
                    timestamp_reply: None,
                };
                let json = sigstore::bundle_json(&message)
                    .map_err(|e| ReleaseError::Internal(format!("cannot encode a Sigstore bundle: {e}")))?;
                writes.push((out.join(format!("{name}{}", sigstore::DETACHED_SUFFIX)), json));
            }
            writes.push((out.join(format!("{name}.sig")), signature));
        }
    }
    let signed = Signed {
        manifest: &manifest_bytes,
        manifest_sha256: &manifest_digest,
        files: &manifest.entries,
        per_file: &per_file,
    };
    writes.extend(formats.sign(kms, &signer.key, &signed, out, |value| match &options.tsa {
        Some((url, ca)) => stamp(url, ca.as_deref(), value).map(|(timestamp, _)| Some(timestamp.token)),
        None => Ok(None),
    })?);
    let bundle = Bundle {
        media_type: Bundle::media_type_for(timestamp.as_ref()).into(),
        manifest: ManifestRef {
            name: MANIFEST_FILE.into(),
            sha256: hex::encode(&manifest_digest),
            files: manifest.entries.len() as u64,
        },
        signature: SignatureInfo {
            algorithm: signer.key.algorithm,
            value: signature.clone(),
            key_id: signer.key.key_id.clone(),
            key_version_id: options.key_version_id.clone(),
            signed_at: format_unix(now_unix()),
        },
        signer: Signer { public_key: signer.key.public_pem.clone(), certificate_chain: signer.chain_pem.clone() },
        timestamp,
    };
    let mut bundle_json = serde_json::to_vec_pretty(&bundle)
        .map_err(|e| ReleaseError::Internal(format!("cannot encode the bundle: {e}")))?;
    bundle_json.push(b'\n');
    writes.push((out.join(MANIFEST_FILE), manifest_bytes));
    writes.push((out.join(SIGNATURE_FILE), signature.clone()));
    writes.push((out.join(BUNDLE_FILE), bundle_json));
    let sigstore_omitted = if sigstore_form {
        let message = MessageSignature {
            digest: &manifest_digest,
            signature: &signature,
            public_spki: &signer.key.public_spki,
            certificate: signer.leaf_der(),
            timestamp_reply: timestamp_reply.as_deref(),
        };
        let json = sigstore::bundle_json(&message)
            .map_err(|e| ReleaseError::Internal(format!("cannot encode the Sigstore bundle: {e}")))?;
        writes.push((out.join(SIGSTORE_FILE), json));
        None
    } else {
        Some(format!(
            "no {SIGSTORE_FILE}: Sigstore verifiers take ECDSA_SHA_256 on EC_P256 and RSA_PKCS1_SHA_256 on RSA_2048 keys, not {} on {}",
            signer.key.algorithm, signer.key.spec
        ))
    };
    write_all(out, &writes)?;

    Ok(SignSummary {
        files: manifest.entries.len() as u64,
        bytes: entries.iter().map(|e| e.size).sum(),
        manifest_sha256: bundle.manifest.sha256,
        key_id: signer.key.key_id,
        key_version_id: options.key_version_id.clone(),
        algorithm: signer.key.algorithm,
        outputs: writes.into_iter().map(|(path, _)| path).collect(),
        skipped: walked.skipped,
        timestamp: bundle.timestamp.map(|t| TimestampSummary { tsa: t.tsa, gen_time: t.gen_time }),
        sigstore_omitted,
    })
}

/// A time-stamp token over the signature from the TSA at `url`: its imprint is the
/// SHA-256 of the signature bytes.
/// The SHA-256 of every file walked, as a manifest; refused whole (nothing to `what`) when a
/// file could not be named, walked or read, or when there is none.
pub(crate) fn digest_walked(
    walked: &Walk,
    what: &str,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Manifest, ReleaseError> {
    digest_walked_with(walked, what, threads, progress, Extra::default()).map(|(manifest, _)| manifest)
}

/// [`digest_walked`], with every file's `extra` digests from the same read (what per-file
/// signatures in other formats sign), by name.
fn digest_walked_with(
    walked: &Walk,
    what: &str,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    extra: Extra<'_>,
) -> Result<(Manifest, BTreeMap<String, FileDigests>), ReleaseError> {
    let unnamable = walked.unnamable.iter().map(|s| format!("{}: {}", crate::quote::quote_path(&s.path), s.reason));
    let errors: Vec<String> = walked.errors.iter().cloned().chain(unnamable).collect();
    if !errors.is_empty() {
        return Err(ReleaseError::Files(errors));
    }
    if walked.entries.is_empty() {
        return Err(ReleaseError::Input(format!("there are no files to {what} under the given paths")));
    }
    let entries: Vec<_> = walked.entries.values().collect();
    let files: Vec<(&Path, u64)> = entries.iter().map(|e| (e.path.as_path(), e.size)).collect();
    let mut manifest = Manifest::default();
    let mut per_file = BTreeMap::new();
    let mut unreadable = Vec::new();
    for (entry, digests) in entries.iter().zip(hash_files_with(&files, threads, progress, extra)) {
        match digests {
            Ok(digests) => {
                manifest.entries.insert(entry.name.clone(), digests.sha256);
                if extra != Extra::default() {
                    per_file.insert(entry.name.clone(), digests);
                }
            }
            Err(e) => unreadable.push(format!("{}: {e}", entry.path.display())),
        }
    }
    if !unreadable.is_empty() {
        return Err(ReleaseError::Files(unreadable));
    }
    Ok((manifest, per_file))
}

/// The time stamp for the bundle, and the TSA's whole reply for the Sigstore bundle.
fn stamp(url: &str, ca_pem: Option<&[u8]>, signature: &[u8]) -> Result<(Timestamp, Vec<u8>), ReleaseError> {
    let (token, reply) = TsaClient::new(url, ca_pem)?.stamp(&Sha256::digest(signature))?;
    let timestamp = Timestamp { token: token.der, tsa: url.to_string(), gen_time: token.tst_info.gen_time.display() };
    Ok((timestamp, reply))
}

/// keyseal's outputs, never entries: this run's in `--out`, and an earlier run's at the
/// root of every directory signed (signing `dist/` into `signed/` must not put the
/// `SHA256SUMS`, signature and bundle `dist/` got last time into the new manifest).
fn own_outputs(options: &SignOptions) -> Vec<PathBuf> {
    let mut dirs = vec![options.out_dir.clone()];
    dirs.extend(options.paths.iter().filter(|path| path.is_dir()).cloned());
    dirs.iter().flat_map(|dir| own_files(dir)).collect()
}

/// An earlier run's `<file>.sig`, `.sigstore.json`, `.sshsig`, `.p7s` and `.asc` are
/// outputs, not artifacts: in the output directory with --detached, and in a directory that
/// holds an earlier run's bundle.
fn drop_own_detached_signatures(walked: &mut Walk, out: &Path) {
    let Ok(out) = out.canonicalize() else { return };
    let names: Vec<String> = walked.entries.keys().cloned().collect();
    for name in names {
        let Some(artifact) = name
            .strip_suffix(".sig")
            .or_else(|| name.strip_suffix(sigstore::DETACHED_SUFFIX))
            .or_else(|| formats::SignatureFormat::of_signature(&name).map(|(_, artifact)| artifact))
        else {
            continue;
        };
        let entry = &walked.entries[&name];
        let is_ours =
            walked.entries.contains_key(artifact) && entry.path.canonicalize().is_ok_and(|p| p == out.join(&name));
        if is_ours && let Some(entry) = walked.entries.remove(&name) {
            walked.skipped.push(Skipped::new(entry.path, format!("{OWN_OUTPUT} (detached signature)")));
        }
    }
}

/// Writes every output to a temporary name first, then renames them all into place, so a
/// failed write leaves no half-written release behind. The output directory may hold
/// anything an earlier CI step planted: temporary files are created new (never opened if
/// something, a symbolic link included, already has the name) under a random name, a
/// rename replaces a link rather than writing through it, and no directory below the
/// output directory is entered through a symbolic link.
fn write_all(out: &Path, writes: &[(PathBuf, Vec<u8>)]) -> Result<(), ReleaseError> {
    let failed = |path: &Path, error: std::io::Error| ReleaseError::Output {
        path: crate::quote::quote_path(path),
        error: error.to_string(),
    };
    std::fs::create_dir_all(out).map_err(|e| failed(out, e))?;
    let mut staged = Vec::new();
    let result = (|| {
        for (path, bytes) in writes {
            if let Some(parent) = path.parent() {
                make_real_directories(out, parent).map_err(|e| failed(parent, e))?;
            }
            let temporary = safe_write::temporary_name(path).map_err(|e| failed(path, e))?;
            safe_write::create_new(&temporary, bytes, false).map_err(|e| failed(&temporary, e))?;
            staged.push((temporary, path));
        }
        for (temporary, path) in &staged {
            std::fs::rename(temporary, path).map_err(|e| failed(path, e))?;
        }
        Ok(())
    })();
    if result.is_err() {
        for (temporary, _) in &staged {
            let _ = std::fs::remove_file(temporary);
        }
    }
    result
}

/// Creates the directories from `out` down to `dir`, refusing any that is a symbolic link.
fn make_real_directories(out: &Path, dir: &Path) -> std::io::Result<()> {
    let relative = dir.strip_prefix(out).unwrap_or(Path::new(""));
    let mut current = out.to_path_buf();
    for component in relative.components() {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(std::io::Error::other(
                    "it exists and is not a directory (a symbolic link is not followed)",
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&current)?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
