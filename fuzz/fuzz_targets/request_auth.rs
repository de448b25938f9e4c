//! `keyseal serve`'s request authentication (`server::auth::authenticate`) on a request as
//! an attacker sends it, against a real store with one access key, plus the parsing and
//! canonicalisation beneath it (`parse_form`, `percent_decode`, `kms::acs3`).
//!
//! Layout: one flags byte, then the request as HTTP/1.1 text — `METHOD /?QUERY HTTP/1.1`,
//! header lines `Name: value`, an empty line, the body (raw bytes). Header names are
//! lower-cased and values trimmed, and a value that is not visible ASCII is dropped, as
//! hyper hands them to the server; lines end with `\n` or `\r\n`. The flags say what to
//! fix up before the request is sent, in this order, so that fuzzed requests get past the
//! signature to the checks behind it:
//! - bit 0: the fixture's AccessKeyId for `Credential=` in an ACS3 `Authorization` header
//!   and for the `AccessKeyId` query parameter;
//! - bit 1: the body's real SHA-256 in `x-acs-content-sha256`, if that header is there;
//! - bit 2: the signature the fixture's secret gives (the `Signature=` field of the ACS3
//!   header over its SignedHeaders, or the HMAC-SHA1 `Signature` query parameter);
//! - bit 3: the server's clock at the request's own `x-acs-date` (or `Timestamp`) instead
//!   of 2026-01-01T00:00:00Z.
//!
//! Checked besides "no panic": `parse_form` reads back what `canonical_query` writes,
//! `percent_decode` undoes `percent_encode`, the canonical query is bounded; and when a
//! request authenticates: it is the fixture's key, the same request again is refused as a
//! reused nonce, and changing the method, adding a query parameter, changing the body
//! (ACS3) or any signed header's value (ACS3) makes it fail.
#![no_main]

use keyseal::kms::LocalKms;
use keyseal::kms::acs3;
use keyseal::kms::error::ErrorCode;
use keyseal::kms::seal::SecretSource;
use keyseal::server::auth::{self, Incoming};
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// 2026-01-01T00:00:00Z.
const DEFAULT_NOW: i64 = 1_767_225_600;
const TAMPER_PARAMETER: &str = "KeysealFuzzTamper";

struct Fixture {
    kms: LocalKms,
    access_key_id: String,
    secret: Zeroizing<String>,
}

/// A store under fuzz/target/ (inside the repository) with one access key allowed
/// everything, made once per process; stores of processes that have exited are removed.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/request_auth-stores");
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                let pid = entry.file_name().to_string_lossy().into_owned();
                if !PathBuf::from("/proc").join(&pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = root.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        let secret = SecretSource::Passphrase(Zeroizing::new("request_auth fuzz store passphrase".into()));
        let kms = LocalKms::open(&dir, secret, "fuzz").expect("open the fuzz store");
        let key = kms.create_access_key("fuzz").expect("create the fuzz access key");
        kms.attach_policy(
            "fuzz",
            "all",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .expect("attach the fuzz policy");
        Fixture { kms, access_key_id: key.access_key_id.clone(), secret: key.access_key_secret.clone() }
    })
}

#[derive(Clone)]
struct Request {
    method: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn parse(data: &[u8]) -> Option<Request> {
        let split = data.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, i + 4));
        let split = split.or_else(|| data.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2)));
        let (head, body) = match split {
            Some((end, start)) => (&data[..end], data[start..].to_vec()),
            None => (data, Vec::new()),
        };
        let head = String::from_utf8_lossy(head);
        let mut lines = head.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line));
        let mut request_line = lines.next()?.split(' ');
        let method = request_line.next()?.to_string();
        let target = request_line.next().unwrap_or("/");
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("").to_string();
        let mut headers = BTreeMap::new();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else { continue };
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            let visible = |c: char| c == '\t' || (' '..='~').contains(&c);
            if name.is_empty() || !name.chars().all(token) || !value.chars().all(visible) {
                continue;
            }
            headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
        }
        Some(Request { method, query, headers, body })
    }

    /// Nonces are kept in the fixture's store, so a request accepted once (in this run or
    /// an earlier input) is refused as a replay from then on.
    fn authenticate(&self, now: i64) -> Result<auth::Authenticated, keyseal::kms::KmsError> {
        let incoming = Incoming { method: &self.method, query: &self.query, headers: &self.headers, body: &self.body };
        auth::authenticate(&fixture().kms, &incoming, now)
    }
}

/// The `Authorization` fields as the server reads them, in their order.
fn acs3_fields(authorization: &str) -> Vec<(String, String)> {
    authorization
        .trim_start_matches(acs3::SCHEME)
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn acs3_header(fields: &[(String, String)]) -> String {
    let joined: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{} {}", acs3::SCHEME, joined.join(","))
}

/// The query with every `name` parameter replaced by one `name=value` at the end.
fn with_parameter(query: &str, name: &str, value: Option<&str>) -> String {
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|part| !part.is_empty())
        .filter(|part| auth::percent_decode(part.split_once('=').map_or(*part, |(k, _)| k)) != name)
        .map(str::to_string)
        .collect();
    if let Some(value) = value {
        parts.push(format!("{name}={}", acs3::percent_encode(value)));
    }
    parts.join("&")
}

fn is_acs3(request: &Request) -> bool {
    request.headers.get("authorization").is_some_and(|a| a.starts_with(acs3::SCHEME))
}

fn fix_up(request: &mut Request, flags: u8) {
    let fixture = fixture();
    let acs3 = is_acs3(request);
    if flags & 1 != 0 {
        if acs3 {
            let mut fields = acs3_fields(&request.headers["authorization"]);
            for (k, v) in &mut fields {
                if k == "Credential" {
                    *v = fixture.access_key_id.clone();
                }
            }
            request.headers.insert("authorization".into(), acs3_header(&fields));
        } else {
            request.query = with_parameter(&request.query, "AccessKeyId", Some(&fixture.access_key_id));
        }
    }
    if flags & 2 != 0 && request.headers.contains_key("x-acs-content-sha256") {
        request.headers.insert("x-acs-content-sha256".into(), acs3::hex_sha256(&request.body));
    }
    if flags & 4 != 0 {
        if acs3 {
            let mut fields = acs3_fields(&request.headers["authorization"]);
            let map: HashMap<&str, &str> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let Some(signed) = map.get("SignedHeaders") else { return };
            let mut values = BTreeMap::new();
            for name in signed.split(';') {
                let Some(value) = request.headers.get(name) else { return };
                values.insert(name.to_string(), value.trim().to_string());
            }
            let Some(body_hash) = request.headers.get("x-acs-content-sha256") else { return };
            let params = auth::parse_form(&request.query);
            let to_sign = acs3::string_to_sign(&request.method, &params, &values, body_hash.trim());
            let signature = hex::encode(acs3::hmac_sha256(fixture.secret.as_bytes(), &to_sign));
            for (k, v) in &mut fields {
                if k == "Signature" {
                    *v = signature.clone();
                }
            }
            request.headers.insert("authorization".into(), acs3_header(&fields));
        } else {
            use base64::Engine;
            use hmac::{Hmac, KeyInit, Mac};
            let unsigned = with_parameter(&request.query, "Signature", None);
            let params = auth::parse_form(&unsigned);
            let to_sign = format!("{}&%2F&{}", request.method, acs3::percent_encode(&auth::canonical_query(&params)));
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{}&", fixture.secret.as_str()).as_bytes())
                .expect("HMAC takes any key");
            mac.update(to_sign.as_bytes());
            let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            request.query = with_parameter(&unsigned, "Signature", Some(&signature));
        }
    }
}

fn clock(request: &Request, flags: u8) -> i64 {
    if flags & 8 == 0 {
        return DEFAULT_NOW;
    }
    let date = request
        .headers
        .get("x-acs-date")
        .cloned()
        .or_else(|| auth::parse_form(&request.query).get("Timestamp").cloned());
    date.and_then(|d| keyseal::clock::parse_time(&d).ok()).unwrap_or(DEFAULT_NOW)
}

/// Form decoding as RFC 3986 and the URL standard have it: `%` and two hex digits is a
/// byte, `+` a space, anything else itself.
fn reference_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `percent_decode` decodes as the reference does; `parse_form` reads back what
/// `canonical_query` writes; `percent_decode` undoes `percent_encode`; the canonical form is
/// at most three bytes per input byte.
fn check_canonical_forms(text: &str) {
    assert_eq!(auth::percent_decode(text), reference_decode(text), "percent_decode({text:?})");
    let params = auth::parse_form(text);
    let canonical = auth::canonical_query(&params);
    assert_eq!(auth::parse_form(&canonical), params, "canonical query {canonical:?} does not read back");
    assert_eq!(auth::canonical_query(&params), canonical, "canonical_query is not deterministic");
    let bytes: usize = params.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    assert!(canonical.len() <= 3 * bytes, "canonical query {} bytes from {bytes}", canonical.len());
    assert_eq!(auth::percent_decode(&acs3::percent_encode(text)), text, "percent-encoding does not round-trip");
}

/// Refused, and not merely as a replay: the nonce was used already, so a request whose
/// signature still checked out would be refused as `NonceUsed` and hide the failure.
fn expect_refused(request: &Request, now: i64, what: &str) {
    match request.authenticate(now) {
        Ok(authenticated) => panic!("{what}: still authenticated as {}", authenticated.access_key_id),
        Err(e) if e.code == ErrorCode::NonceUsed => panic!("{what}: the signature still checks out"),
        Err(_) => {}
    }
}

/// `REQUEST_AUTH_VERBOSE=1` prints what became of each request (to see what a seed reaches).
fn verbose() -> bool {
    static VERBOSE: OnceLock<bool> = OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("REQUEST_AUTH_VERBOSE").is_some())
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let Some(mut request) = Request::parse(rest) else { return };
    check_canonical_forms(&request.query);
    check_canonical_forms(&String::from_utf8_lossy(&request.body));

    fix_up(&mut request, flags);
    let now = clock(&request, flags);
    let result = request.authenticate(now);
    if verbose() {
        match &result {
            Ok(a) => eprintln!("request_auth: authenticated {} for {}", a.access_key_id, a.action),
            Err(e) => eprintln!("request_auth: refused, {}: {}", e.code.as_str(), e.message),
        }
    }
    let Ok(authenticated) = result else { return };

    let fixture = fixture();
    assert_eq!(authenticated.access_key_id, fixture.access_key_id);
    assert_eq!(authenticated.credential.name, "fuzz");
    let replay = request.authenticate(now).err().map(|e| e.code);
    assert_eq!(replay, Some(ErrorCode::NonceUsed), "a replayed request was not refused as a reused nonce");

    let mut other = request.clone();
    other.method = if request.method == "POST" { "PUT".into() } else { "POST".into() };
    expect_refused(&other, now, "method changed");

    if !auth::parse_form(&request.query).contains_key(TAMPER_PARAMETER) {
        let mut other = request.clone();
        other.query = with_parameter(&request.query, TAMPER_PARAMETER, Some("1"));
        expect_refused(&other, now, "query parameter added");
    }

    if is_acs3(&request) {
        let mut other = request.clone();
        other.body.push(b'x');
        expect_refused(&other, now, "body changed");
        let fields = acs3_fields(&request.headers["authorization"]);
        let signed = fields.iter().rev().find(|(k, _)| k == "SignedHeaders").map(|(_, v)| v.clone());
        for name in signed.unwrap_or_default().split(';') {
            let mut other = request.clone();
            if let Some(value) = other.headers.get_mut(name) {
                value.push('x');
                expect_refused(&other, now, &format!("signed header {name} changed"));
            }
        }
    }
});
