//! ACS3-HMAC-SHA256, the request signature of the KMS OpenAPI, in one place for both
//! sides: `RemoteKms` signs with it and `keyseal serve` checks it. See
//! `shared/kms-api.md` for the canonical forms.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The Authorization scheme.
pub const SCHEME: &str = "ACS3-HMAC-SHA256";

/// RFC 3986 percent-encoding: unreserved characters as they are, the rest as %XX.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `k=v` pairs sorted by key, percent-encoded, joined by `&`.
pub fn canonical_query(params: &BTreeMap<String, String>) -> String {
    params.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect::<Vec<_>>().join("&")
}

/// Lower-case hex SHA-256.
pub fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The string to sign for a request: `headers` are the signed headers (lower-case names).
pub fn string_to_sign(
    method: &str,
    params: &BTreeMap<String, String>,
    headers: &BTreeMap<String, String>,
    body_hash: &str,
) -> String {
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let signed_headers = headers.keys().cloned().collect::<Vec<_>>().join(";");
    let canonical_request =
        format!("{method}\n/\n{}\n{canonical_headers}\n{signed_headers}\n{body_hash}", canonical_query(params));
    format!("{SCHEME}\n{}", hex_sha256(canonical_request.as_bytes()))
}

/// HMAC-SHA256 of `message` under `secret`.
pub fn hmac_sha256(secret: &[u8], message: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Whether `signature` (hex) is the HMAC of `message` under `secret`, compared in constant time.
pub fn verify(secret: &[u8], message: &str, signature_hex: &str) -> bool {
    let Ok(expected) = hex::decode(signature_hex) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(message.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_and_verifying_agree() {
        let mut params = BTreeMap::new();
        params.insert("Description".to_string(), "a b+c/d=~é".to_string());
        assert_eq!(canonical_query(&params), "Description=a%20b%2Bc%2Fd%3D~%C3%A9");
        let mut headers = BTreeMap::new();
        headers.insert("host".to_string(), "127.0.0.1:8080".to_string());
        let to_sign = string_to_sign("POST", &params, &headers, &hex_sha256(b""));
        let signature = hex::encode(hmac_sha256(b"secret", &to_sign));
        assert!(verify(b"secret", &to_sign, &signature));
        assert!(!verify(b"other", &to_sign, &signature));
        assert!(!verify(b"secret", &to_sign, "zz"));
    }
}
