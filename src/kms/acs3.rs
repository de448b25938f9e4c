//! ACS3-HMAC-SHA256, the request signature of the KMS OpenAPI, in one place for both
//! sides: `RemoteKms` signs with it ([`sign`]) and `keyseal serve` checks it. The
//! canonical forms are Alibaba Cloud's OpenAPI signature V3 ("ACS3-HMAC-SHA256"), as its
//! SDKs implement it (`tests/it/acs3_sdk.rs` compares with the official Python signer).
//!
//! [`sign`] is a pure function of the request, the clock reading and the nonce, so that
//! `tests/it/acs3_sdk.rs` can hold its output against the official SDK's signer byte for
//! byte: a request keyseal signs must verify at the cloud KMS exactly as the SDK's does.

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The Authorization scheme.
pub const SCHEME: &str = "ACS3-HMAC-SHA256";
/// The KMS OpenAPI version, sent as `x-acs-version`.
pub const API_VERSION: &str = "2016-01-20";

/// What ACS3 escapes: everything but RFC 3986 §2.3's unreserved characters.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// RFC 3986 percent-encoding: unreserved characters as they are, the rest as %XX.
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, ESCAPED).to_string()
}

/// `k=v` pairs sorted by key, percent-encoded, joined by `&`.
pub fn canonical_query(params: &BTreeMap<String, String>) -> String {
    params.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect::<Vec<_>>().join("&")
}

/// Lower-case hex SHA-256.
pub fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The `SignedHeaders` list: the names of `headers` (lower-case), sorted, joined by `;`.
pub fn signed_headers(headers: &BTreeMap<String, String>) -> String {
    headers.keys().cloned().collect::<Vec<_>>().join(";")
}

/// The canonical request of an RPC call on `/`: every header in `headers` (lower-case
/// names) is signed, as the SDK signs every header it sets.
pub fn canonical_request(
    method: &str,
    params: &BTreeMap<String, String>,
    headers: &BTreeMap<String, String>,
    body_hash: &str,
) -> String {
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    format!("{method}\n/\n{}\n{canonical_headers}\n{}\n{body_hash}", canonical_query(params), signed_headers(headers))
}

/// The string to sign for a request: `headers` are the signed headers (lower-case names).
pub fn string_to_sign(
    method: &str,
    params: &BTreeMap<String, String>,
    headers: &BTreeMap<String, String>,
    body_hash: &str,
) -> String {
    string_to_sign_of(&canonical_request(method, params, headers, body_hash))
}

/// `ACS3-HMAC-SHA256\n` and the hex SHA-256 of the canonical request.
fn string_to_sign_of(canonical_request: &str) -> String {
    format!("{SCHEME}\n{}", hex_sha256(canonical_request.as_bytes()))
}

/// The `Authorization` value for a canonical request whose signed headers are
/// `signed_headers`.
pub fn authorization(access_key_id: &str, secret: &[u8], canonical_request: &str, signed_headers: &str) -> String {
    let signature = hex::encode(hmac_sha256(secret, &string_to_sign_of(canonical_request)));
    format!("{SCHEME} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}")
}

/// Everything one request's signature depends on. The date and nonce are inputs, not
/// read here, so that the same inputs always give the same signature.
pub struct Request<'a> {
    /// `POST`.
    pub method: &'a str,
    /// The API action (sent as `x-acs-action`, not in the query).
    pub action: &'a str,
    /// The action's parameters, sent in the query string as the SDK sends them.
    pub params: &'a BTreeMap<String, String>,
    /// The endpoint's host, with the port when the URL names one.
    pub host: &'a str,
    /// `x-acs-date`: `YYYY-MM-DDThh:mm:ssZ`, UTC.
    pub date: &'a str,
    /// `x-acs-signature-nonce`: unique per request, against replays.
    pub nonce: &'a str,
    /// The AccessKeyId (an `STS.` one with a security token).
    pub access_key_id: &'a str,
    /// The AccessKeySecret.
    pub secret: &'a [u8],
    /// An STS security token (from a RAM role, e.g. through CI's OIDC): sent and signed
    /// as `x-acs-security-token`, with the AccessKeyId also as `x-acs-accesskey-id`, as
    /// the SDK sends them. Only the cloud KMS takes one; `keyseal serve` refuses it.
    pub security_token: Option<&'a str>,
}

/// A signed request. Not `Debug`: the headers carry the security token.
pub struct Signed {
    /// The headers to send (lower-case names), all of them signed except `authorization`
    /// itself; `host` among them, which the HTTP client sets from the URL.
    pub headers: BTreeMap<String, String>,
    /// The canonical request that was signed, for tests and diagnosis.
    pub canonical_request: String,
}

/// The hex SHA-256 of an empty body: RemoteKms sends its parameters in the query.
pub const EMPTY_BODY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Signs a bodiless RPC request as the official SDK does: the same headers and values
/// that matter to the cloud KMS (`host`, `accept`, every `x-acs-*` one), the parameters in
/// the query, and the Authorization over all of them. The SDK also signs its
/// `user-agent` and an `x-acs-credentials-provider` naming its credentials class; neither
/// is checked by the service, so keyseal sends neither (see `tests/it/acs3_sdk.rs`).
pub fn sign(request: &Request<'_>) -> Signed {
    let mut headers = BTreeMap::new();
    let mut set = |name: &str, value: &str| headers.insert(name.to_string(), value.to_string());
    set("accept", "application/json");
    set("host", request.host);
    set("x-acs-action", request.action);
    set("x-acs-content-sha256", EMPTY_BODY_SHA256);
    set("x-acs-date", request.date);
    set("x-acs-signature-nonce", request.nonce);
    set("x-acs-version", API_VERSION);
    if let Some(token) = request.security_token {
        set("x-acs-accesskey-id", request.access_key_id);
        set("x-acs-security-token", token);
    }
    let canonical_request = canonical_request(request.method, request.params, &headers, EMPTY_BODY_SHA256);
    let value = authorization(request.access_key_id, request.secret, &canonical_request, &signed_headers(&headers));
    headers.insert("authorization".to_string(), value);
    Signed { headers, canonical_request }
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

    fn request<'a>(params: &'a BTreeMap<String, String>, token: Option<&'a str>) -> Request<'a> {
        Request {
            method: "POST",
            action: "DescribeKey",
            params,
            host: "kms.cn-hangzhou.aliyuncs.com",
            date: "2024-05-20T06:34:21Z",
            nonce: "nonce-1",
            access_key_id: "STS.ak",
            secret: b"secret",
            security_token: token,
        }
    }

    /// What `sign` produces is what `keyseal serve` (and the cloud) verify: the
    /// Authorization's signature over the headers it names.
    #[test]
    fn a_signed_request_verifies_over_its_signed_headers() {
        assert_eq!(EMPTY_BODY_SHA256, hex_sha256(b""));
        let params = BTreeMap::from([("KeyId".to_string(), "alias/release".to_string())]);
        let signed = sign(&request(&params, None));
        let authorization = &signed.headers["authorization"];
        let mut headers = signed.headers.clone();
        headers.remove("authorization");
        assert!(authorization.contains(&format!("SignedHeaders={},", signed_headers(&headers))));
        let signature = authorization.rsplit("Signature=").next().unwrap();
        assert!(verify(b"secret", &string_to_sign("POST", &params, &headers, EMPTY_BODY_SHA256), signature));
        assert!(!headers.contains_key("x-acs-security-token"));
        assert_eq!(sign(&request(&params, None)).headers, signed.headers, "same inputs, same signature");
    }

    #[test]
    fn a_security_token_is_sent_and_signed() {
        let params = BTreeMap::new();
        let signed = sign(&request(&params, Some("CAIS+token/=")));
        assert_eq!(signed.headers["x-acs-security-token"], "CAIS+token/=");
        assert_eq!(signed.headers["x-acs-accesskey-id"], "STS.ak");
        assert!(signed.canonical_request.contains("\nx-acs-security-token:CAIS+token/=\n"));
        assert!(signed.headers["authorization"].contains(";x-acs-security-token;"));
        assert_ne!(signed.headers["authorization"], sign(&request(&params, None)).headers["authorization"]);
    }
}
