//! `keyseal.bundle.json`: what a verifier needs besides the files — the manifest's digest,
//! the signature and who made it (KeyId, KeyVersionId, algorithm, time, public key) and,
//! when given, the certificate chain that binds that key to an identity, leaf first.
//! The media type carries a version; a reader refuses versions it does not know.
//!
//! Version 2 adds `timestamp`: an RFC 3161 token over the signature (its message imprint
//! is the SHA-256 of the signature bytes, as Authenticode and cosign stamp a signature).
//! A bundle is written as v2 only when it has one, so a bundle without a timestamp still
//! reads in a keyseal that knows only v1; v1 bundles keep reading, and may not carry a
//! timestamp.

use crate::crypto::spec::Algorithm;
use serde::{Deserialize, Serialize};

/// Media type of version 1 bundles: no timestamp.
pub const MEDIA_TYPE: &str = "application/vnd.keyseal.bundle.v1+json";
/// Media type of version 2 bundles: version 1 and a `timestamp`.
pub const MEDIA_TYPE_V2: &str = "application/vnd.keyseal.bundle.v2+json";
/// The file name keyseal writes bundles to.
pub const BUNDLE_FILE: &str = "keyseal.bundle.json";
/// The file name of the manifest's detached signature.
pub const SIGNATURE_FILE: &str = "SHA256SUMS.sig";

/// The files `keyseal sign` writes into a directory: manifest, signature, bundle, Sigstore
/// bundle, and the manifest's signature in each `--format`. They are never entries of a
/// release, wherever they are found.
pub fn own_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    use crate::release::manifest::MANIFEST_FILE;
    let formats = crate::release::formats::SignatureFormat::ALL.map(|format| format.manifest_file());
    [MANIFEST_FILE, SIGNATURE_FILE, BUNDLE_FILE, crate::release::sigstore::SIGSTORE_FILE]
        .iter()
        .map(|name| dir.join(name))
        .chain(formats.iter().map(|name| dir.join(name)))
        .collect()
}

/// A release bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// `application/vnd.keyseal.bundle.v1+json`.
    pub media_type: String,
    /// The manifest the signature covers.
    pub manifest: ManifestRef,
    /// The signature over the manifest's SHA-256 digest.
    pub signature: SignatureInfo,
    /// Who signed.
    pub signer: Signer,
    /// A time-stamp token over the signature (v2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// An RFC 3161 time-stamp token over the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timestamp {
    /// The token (a CMS ContentInfo, DER), base64: what `openssl ts -verify -in -token_in` reads.
    #[serde(with = "crate::kms::api::b64")]
    pub token: Vec<u8>,
    /// Where it came from (informational: the token is what is checked).
    pub tsa: String,
    /// The token's genTime, as the TSA stated it (informational until verified).
    pub gen_time: String,
}
/// The signed manifest: its file name (beside the bundle) and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestRef {
    /// File name, `SHA256SUMS`.
    pub name: String,
    /// Lower-case hex SHA-256 of the manifest's bytes.
    pub sha256: String,
    /// Number of files it lists.
    pub files: u64,
}

/// The signature and the key version that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureInfo {
    /// The KMS algorithm.
    pub algorithm: Algorithm,
    /// Base64 signature, the same bytes as `SHA256SUMS.sig`.
    #[serde(with = "crate::kms::api::b64")]
    pub value: Vec<u8>,
    /// The KMS key.
    pub key_id: String,
    /// The key version.
    pub key_version_id: String,
    /// When it was signed, `YYYY-MM-DDThh:mm:ssZ` (the signer's claim; not a trusted timestamp).
    pub signed_at: String,
}

/// The signer's public key and, optionally, its certificate chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signer {
    /// SubjectPublicKeyInfo PEM of the key version.
    pub public_key: String,
    /// PEM certificates, leaf first; empty when none was given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificate_chain: Vec<String>,
}

impl Bundle {
    /// The media type for this bundle: v2 when it has a timestamp, else v1.
    pub fn media_type_for(timestamp: Option<&Timestamp>) -> &'static str {
        if timestamp.is_some() { MEDIA_TYPE_V2 } else { MEDIA_TYPE }
    }

    /// Reads a bundle, refusing other media types with a message that says what to do.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, String> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("the bundle is not JSON: {e}"))?;
        let version = match value.get("mediaType").and_then(|m| m.as_str()) {
            Some(MEDIA_TYPE) => 1,
            Some(MEDIA_TYPE_V2) => 2,
            Some(other) => {
                return Err(format!(
                    "the bundle's media type {:?} is not one this keyseal reads ({MEDIA_TYPE}, {MEDIA_TYPE_V2}); upgrade keyseal",
                    crate::quote::escape_text(other)
                ));
            }
            None => return Err("the file has no mediaType: it is not a keyseal bundle".into()),
        };
        let bundle: Bundle = serde_json::from_value(value).map_err(|e| format!("the bundle is malformed: {e}"))?;
        match (version, &bundle.timestamp) {
            (1, Some(_)) => {
                return Err(format!("the bundle is malformed: a v1 bundle has no timestamp ({MEDIA_TYPE_V2} has)"));
            }
            (2, None) => {
                return Err("the bundle is malformed: a v2 bundle carries a timestamp, and this one has none".into());
            }
            _ => {}
        }
        check_manifest_name(&bundle.manifest.name)?;
        Ok(bundle)
    }
}

/// The manifest must be a plain file name beside the bundle. Anything else would let a
/// bundle point the verifier at another release in a subfolder (which then verifies while
/// the files beside the bundle are never read) or at any file of the verifying machine.
pub(crate) fn check_manifest_name(name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control);
    if plain {
        Ok(())
    } else {
        Err(format!(
            "the bundle names its manifest \"{}\", which is not a plain file name beside the bundle; the bundle is malformed or hostile",
            crate::quote::escape_text(name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_is_a_plain_file_name() {
        assert!(check_manifest_name("SHA256SUMS").is_ok());
        assert!(check_manifest_name("SHA256SUMS-v2.txt").is_ok());
        for hostile in
            ["legit/SHA256SUMS", "../../etc/passwd", "/etc/passwd", "..", ".", "", "a\\b", "/dev/stdin", "x\n"]
        {
            assert!(check_manifest_name(hostile).is_err(), "{hostile:?}");
        }
    }
}
