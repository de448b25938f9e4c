//! Reading a Sigstore bundle of a message signature (cosign's `sign-blob --bundle`,
//! keyseal's `SHA256SUMS.sigstore.json`, sigstore-js's) as `keyseal verify` reads its own
//! bundle: it becomes the same [`Bundle`], and from there everything is checked the same
//! way, with the same reason codes. The file is hostile input like any bundle: it is read
//! within the bundle cap, and anything keyseal cannot check is refused, not skipped — a
//! transparency-log entry above all, which a verifier that ignored it would wrongly count
//! as checked.
//!
//! What a Sigstore bundle does not say is taken from where keyseal's bundle says it: the
//! signed file is the bundle's file name without `.sigstore.json` (`SHA256SUMS` beside
//! `SHA256SUMS.sigstore.json`), and the algorithm is the one the signer's key implies
//! (ECDSA with SHA-256 for P-256, RSA PKCS#1 v1.5 with SHA-256 for RSA).

use crate::crypto::keys;
use crate::release::bundle::{Bundle, MEDIA_TYPE, ManifestRef, SignatureInfo, Signer, Timestamp, check_manifest_name};
use crate::release::sigstore::{key_hint, sigstore_algorithm};
use serde_json::Value;

/// The media types read: bundle v0.3, and v0.1 and v0.2, which carry a certificate chain
/// instead of one certificate.
const MEDIA_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
];

/// Whether `value` says it is a Sigstore bundle (of any version: an unknown one is then
/// refused by [`to_bundle`] with a message saying so).
pub fn is_sigstore(value: &Value) -> bool {
    value.get("mediaType").and_then(Value::as_str).is_some_and(|m| m.starts_with("application/vnd.dev.sigstore.bundle"))
}

/// The Sigstore bundle `value`, read from a file named `file_name`, as keyseal's bundle.
/// `pinned` is the `--public-key` (SubjectPublicKeyInfo DER), which a bundle that names its
/// key by hint needs.
pub fn to_bundle(value: &Value, file_name: &str, pinned: Option<&[u8]>) -> Result<Bundle, String> {
    let media_type = text(value, "mediaType")?;
    if !MEDIA_TYPES.contains(&media_type) {
        return Err(format!(
            "the Sigstore bundle's media type {:?} is not one this keyseal reads ({}); upgrade keyseal",
            crate::quote::escape_text(media_type),
            MEDIA_TYPES.join(", ")
        ));
    }
    if value.get("dsseEnvelope").is_some() {
        return Err("the Sigstore bundle holds an attestation (a DSSE envelope), not a signature over a file".into());
    }
    let material = field(value, "verificationMaterial")?;
    let entries = material.get("tlogEntries").and_then(Value::as_array).map_or(0, Vec::len);
    if entries > 0 {
        return Err(format!(
            "the Sigstore bundle has {entries} transparency-log entr{}; keyseal cannot check a transparency log and does not pass over one: verify this bundle with cosign",
            if entries == 1 { "y" } else { "ies" }
        ));
    }
    let signature = field(value, "messageSignature")?;
    let digest = field(signature, "messageDigest")?;
    if text(digest, "algorithm")? != "SHA2_256" {
        return Err("the Sigstore bundle's message digest is not SHA2_256, the one keyseal signs and checks".into());
    }
    let digest = base64(digest, "digest")?;
    if digest.len() != 32 {
        return Err("the Sigstore bundle's SHA2_256 message digest is not 32 bytes".into());
    }
    let (signer, key_version_id) = signer(material, pinned)?;
    let key = keys::public_key_from_pem(&signer.public_key).or_else(|| pinned.map(<[u8]>::to_vec));
    let Some(algorithm) = key.as_deref().and_then(crate::crypto::spec_of_public_key).and_then(sigstore_algorithm)
    else {
        return Err("the Sigstore bundle's signer key is neither P-256 nor RSA-2048, the keys it signs with".into());
    };
    let manifest_name = file_name.strip_suffix(".sigstore.json").unwrap_or(crate::release::manifest::MANIFEST_FILE);
    check_manifest_name(manifest_name)?;
    let timestamp = timestamp(material)?;
    Ok(Bundle {
        media_type: MEDIA_TYPE.into(),
        manifest: ManifestRef { name: manifest_name.into(), sha256: hex::encode(&digest), files: 0 },
        signature: SignatureInfo {
            algorithm,
            value: base64(signature, "signature")?,
            key_id: String::new(),
            key_version_id,
            signed_at: String::new(),
        },
        signer,
        timestamp,
    })
}

/// Who signed: the certificate(s), or the pinned key when the bundle's hint names it. A
/// hint naming another key leaves the signer without a key, so that the signature check
/// reports `key-mismatch`; the "key version" then says which hint.
fn signer(material: &Value, pinned: Option<&[u8]>) -> Result<(Signer, String), String> {
    let certificates = certificates(material)?;
    if let Some(leaf) = certificates.first() {
        let cert = crate::x509::cert::from_der(leaf)
            .map_err(|e| format!("the Sigstore bundle's certificate: {}", e.message))?;
        let spki = der::Encode::to_der(cert.tbs_certificate().subject_public_key_info()).map_err(|e| e.to_string())?;
        let chain = certificates.iter().map(|der| pem("CERTIFICATE", der)).collect::<Result<_, _>>()?;
        return Ok((Signer { public_key: keys::public_key_pem(&spki), certificate_chain: chain }, String::new()));
    }
    let hint = text(field(material, "publicKey")?, "hint")?;
    let pinned =
        pinned.ok_or("the Sigstore bundle names its signer's key only by a hint: pin the key with --public-key")?;
    if key_hint(pinned) == hint {
        Ok((Signer { public_key: keys::public_key_pem(pinned), certificate_chain: Vec::new() }, String::new()))
    } else {
        let named = format!("named by hint {}", crate::quote::escape_text(hint));
        Ok((Signer { public_key: String::new(), certificate_chain: Vec::new() }, named))
    }
}

/// The signer's certificates (DER, leaf first): v0.3's one `certificate`, or v0.1's and
/// v0.2's `x509CertificateChain`; none when the key is named by a hint.
pub(crate) fn certificates(material: &Value) -> Result<Vec<Vec<u8>>, String> {
    if let Some(certificate) = material.get("certificate") {
        return Ok(vec![base64(certificate, "rawBytes")?]);
    }
    let Some(chain) = material.get("x509CertificateChain") else { return Ok(Vec::new()) };
    let listed = field(chain, "certificates")?.as_array().ok_or("x509CertificateChain.certificates is not a list")?;
    listed.iter().map(|certificate| base64(certificate, "rawBytes")).collect()
}

/// The one RFC 3161 time stamp, as the token the TimeStampResp holds.
fn timestamp(material: &Value) -> Result<Option<Timestamp>, String> {
    let Some(data) = material.get("timestampVerificationData") else { return Ok(None) };
    let stamps = data.get("rfc3161Timestamps").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let stamp = match stamps {
        [] => return Ok(None),
        [one] => base64(one, "signedTimestamp")?,
        _ => return Err(format!("the Sigstore bundle has {} time stamps; keyseal checks one", stamps.len())),
    };
    let response =
        crate::tsa::token::parse(&stamp).map_err(|e| format!("the Sigstore bundle's time stamp: {}", e.0))?;
    let token = response.token.ok_or("the Sigstore bundle's time stamp is a TimeStampResp without a token")?;
    Ok(Some(Timestamp { gen_time: token.tst_info.gen_time.display(), token: token.der, tsa: String::new() }))
}

pub(crate) fn field<'v>(value: &'v Value, name: &str) -> Result<&'v Value, String> {
    value.get(name).ok_or_else(|| format!("the Sigstore bundle has no {name}"))
}

pub(crate) fn text<'v>(value: &'v Value, name: &str) -> Result<&'v str, String> {
    field(value, name)?.as_str().ok_or_else(|| format!("the Sigstore bundle's {name} is not text"))
}

pub(crate) fn base64(value: &Value, name: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text(value, name)?)
        .map_err(|_| format!("the Sigstore bundle's {name} is not base64"))
}

fn pem(label: &str, der: &[u8]) -> Result<String, String> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).map_err(|e| e.to_string())
}
