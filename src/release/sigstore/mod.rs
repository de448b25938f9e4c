//! `SHA256SUMS.sigstore.json`: the release's signature as a Sigstore bundle (media type
//! `application/vnd.dev.sigstore.bundle.v0.3+json`), so that Sigstore's verifiers
//! (cosign 3's `verify-blob --bundle`, sigstore-js, sigstore-go) check a keyseal release
//! with their own code. It holds nothing `keyseal.bundle.json` does not: the same signature
//! bytes over the same manifest (no second KMS call), the signer's key named by its hint or
//! its certificate, and the TSA's reply when the signature was time-stamped.
//!
//! Sigstore verifiers take ECDSA P-256 with SHA-256 and RSA PKCS#1 v1.5 with SHA-256 for
//! a release signed this way; a secp256k1 or RSA-PSS signature has no Sigstore form, and
//! then no file is written ([`algorithm_fits`]).

pub mod read;
pub mod trusted_root;

use crate::crypto::spec::{Algorithm, KeySpec};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The Sigstore bundle's media type (protobuf-specs `Bundle`, version 0.3).
pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The file name keyseal writes it to, beside `SHA256SUMS`.
pub const SIGSTORE_FILE: &str = "SHA256SUMS.sigstore.json";
/// What `sign --detached` appends to a file's name for its own Sigstore bundle, beside
/// `<file>.sig`.
pub const DETACHED_SUFFIX: &str = ".sigstore.json";

/// The one algorithm Sigstore verifiers take from a `spec` key, if any: what a Sigstore
/// bundle's signature is made with, and what reading one assumes.
pub fn sigstore_algorithm(spec: KeySpec) -> Option<Algorithm> {
    match spec {
        KeySpec::EcP256 => Some(Algorithm::EcdsaSha256),
        KeySpec::Rsa2048 => Some(Algorithm::RsaPkcs1Sha256),
        KeySpec::EcP256k => None,
    }
}

/// Whether a signature by a `spec` key with `algorithm` has a Sigstore form.
pub fn algorithm_fits(spec: KeySpec, algorithm: Algorithm) -> bool {
    sigstore_algorithm(spec) == Some(algorithm)
}

/// What a Sigstore bundle of a message signature is made of.
pub struct MessageSignature<'a> {
    /// The signed message's SHA-256 digest (`SHA256SUMS`'s).
    pub digest: &'a [u8],
    /// The signature over the message, exactly the bytes of `SHA256SUMS.sig`.
    pub signature: &'a [u8],
    /// The signer's public key, SubjectPublicKeyInfo DER: named by its hint when there is
    /// no certificate.
    pub public_spki: &'a [u8],
    /// The signer's certificate, DER, when the release was signed with `--cert`.
    pub certificate: Option<&'a [u8]>,
    /// The TSA's whole TimeStampResp (DER), when the signature was time-stamped: what
    /// Sigstore verifiers parse, not the bare token.
    pub timestamp_reply: Option<&'a [u8]>,
}

/// The bundle as JSON, pretty-printed, with a final newline.
pub fn bundle_json(message: &MessageSignature<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let mut json = serde_json::to_vec_pretty(&Bundle::of(message))?;
    json.push(b'\n');
    Ok(json)
}

/// The key's hint: base64 of the SHA-256 of its SubjectPublicKeyInfo DER (the key id of
/// RFC 6962, as cosign computes it).
pub fn key_hint(public_spki: &[u8]) -> String {
    b64(&Sha256::digest(public_spki))
}

/// Standard base64, as every Sigstore and DSSE field holds bytes.
pub(crate) fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    media_type: &'static str,
    verification_material: VerificationMaterial,
    message_signature: Signature,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerificationMaterial {
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<Hint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<RawBytes>,
    /// keyseal keeps no transparency log.
    tlog_entries: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp_verification_data: Option<TimestampData>,
}

#[derive(Serialize)]
struct Hint {
    hint: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TimestampData {
    rfc3161_timestamps: Vec<SignedTimestamp>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedTimestamp {
    signed_timestamp: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Signature {
    message_digest: MessageDigest,
    signature: String,
}

#[derive(Serialize)]
struct MessageDigest {
    algorithm: &'static str,
    digest: String,
}

impl Bundle {
    fn of(message: &MessageSignature<'_>) -> Bundle {
        let (public_key, certificate) = match message.certificate {
            Some(der) => (None, Some(RawBytes { raw_bytes: b64(der) })),
            None => (Some(Hint { hint: key_hint(message.public_spki) }), None),
        };
        Bundle {
            media_type: MEDIA_TYPE,
            verification_material: VerificationMaterial {
                public_key,
                certificate,
                tlog_entries: [],
                timestamp_verification_data: message.timestamp_reply.map(|reply| TimestampData {
                    rfc3161_timestamps: vec![SignedTimestamp { signed_timestamp: b64(reply) }],
                }),
            },
            message_signature: Signature {
                message_digest: MessageDigest { algorithm: "SHA2_256", digest: b64(message.digest) },
                signature: b64(message.signature),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<'a>(certificate: Option<&'a [u8]>, reply: Option<&'a [u8]>) -> MessageSignature<'a> {
        MessageSignature {
            digest: &[0x11; 32],
            signature: b"sig",
            public_spki: b"spki",
            certificate,
            timestamp_reply: reply,
        }
    }

    #[test]
    fn a_pinned_key_is_named_by_its_hint_and_a_certificate_by_its_bytes() {
        let json: serde_json::Value = serde_json::from_slice(&bundle_json(&message(None, None)).unwrap()).unwrap();
        assert_eq!(json["mediaType"], MEDIA_TYPE);
        let material = &json["verificationMaterial"];
        assert_eq!(material["publicKey"]["hint"], b64(&Sha256::digest(b"spki")));
        assert!(material.get("certificate").is_none() && material.get("timestampVerificationData").is_none());
        assert_eq!(material["tlogEntries"], serde_json::json!([]));
        assert_eq!(json["messageSignature"]["messageDigest"]["algorithm"], "SHA2_256");
        assert_eq!(json["messageSignature"]["messageDigest"]["digest"], b64(&[0x11; 32]));
        assert_eq!(json["messageSignature"]["signature"], b64(b"sig"));

        let json: serde_json::Value =
            serde_json::from_slice(&bundle_json(&message(Some(b"cert"), Some(b"reply"))).unwrap()).unwrap();
        let material = &json["verificationMaterial"];
        assert!(material.get("publicKey").is_none());
        assert_eq!(material["certificate"]["rawBytes"], b64(b"cert"));
        assert_eq!(material["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"], b64(b"reply"));
    }

    #[test]
    fn only_p256_ecdsa_and_rsa_pkcs1_have_a_sigstore_form() {
        assert!(algorithm_fits(KeySpec::EcP256, Algorithm::EcdsaSha256));
        assert!(algorithm_fits(KeySpec::Rsa2048, Algorithm::RsaPkcs1Sha256));
        assert!(!algorithm_fits(KeySpec::Rsa2048, Algorithm::RsaPssSha256));
        assert!(!algorithm_fits(KeySpec::EcP256k, Algorithm::EcdsaSha256));
    }
}
