//! Request authentication as the KMS OpenAPI does it: ACS3-HMAC-SHA256 (the SDK's
//! default) and the older HMAC-SHA1 query signature. A bad or incomplete signature, a body
//! whose hash is not the signed one, a date outside ±15 minutes and a reused nonce are each
//! refused with their OpenAPI code. The nonce is remembered in the store, per access key,
//! only after the signature checks out, so strangers cannot fill the table.
//!
//! STS credentials are refused outright: `keyseal serve` issues no security tokens and so
//! can check none, and a request that carries one (`x-acs-security-token`, or the
//! `SecurityToken` parameter of the HMAC-SHA1 form) was meant for the cloud KMS.

use crate::kms::LocalKms;
use crate::kms::acs3;
use crate::kms::error::{ErrorCode, KmsError};
use crate::server::access::Credential;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use std::collections::{BTreeMap, HashMap};
use zeroize::Zeroizing;

/// How far a request's date may be from the server's clock.
pub const CLOCK_SKEW_SECONDS: i64 = 15 * 60;
/// Query parameters of the HMAC-SHA1 form that are about the signature, not the request.
const V1_PROTOCOL: &[&str] = &[
    "Action",
    "Format",
    "Version",
    "Timestamp",
    "SignatureNonce",
    "SignatureMethod",
    "SignatureVersion",
    "AccessKeyId",
    "Signature",
    "RegionId",
];

/// A request as received.
pub struct Incoming<'a> {
    /// `POST` (or `GET`).
    pub method: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Lower-case header names and their values.
    pub headers: &'a BTreeMap<String, String>,
    /// The body bytes.
    pub body: &'a [u8],
}

/// A request whose signature checked out.
pub struct Authenticated {
    /// The caller's AccessKeyId.
    pub access_key_id: String,
    /// Its name, policies and status.
    pub credential: Credential,
    /// The API action.
    pub action: String,
    /// The request parameters (query and form body), decoded.
    pub params: BTreeMap<String, String>,
}

pub use crate::kms::acs3::{canonical_query, percent_encode};

/// Decodes `%XX` escapes and `+` (a space), as a form or query is read; a `%` not followed
/// by two hex digits stays as it is, and bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode(text.replace('+', " ").as_bytes()).decode_utf8_lossy().into_owned()
}

/// Decodes `a=1&b=x+y` into a map (`+` is a space), as `application/x-www-form-urlencoded`
/// is read; of a name given twice, the last value.
pub fn parse_form(text: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(text.as_bytes()).map(|(key, value)| (key.into_owned(), value.into_owned())).collect()
}

fn incomplete(what: &str) -> KmsError {
    KmsError::new(ErrorCode::IncompleteSignature, format!("the request signature is incomplete: {what}"))
}

fn mismatch() -> KmsError {
    KmsError::new(
        ErrorCode::SignatureDoesNotMatch,
        "the request signature does not match: check the AccessKeySecret and the signing of the request",
    )
}

fn check_time(date: &str, now: i64) -> Result<(), KmsError> {
    // Exactly YYYY-MM-DDThh:mm:ssZ: no bare dates, no Unix seconds.
    let well_formed = date.len() == 20 && date.as_bytes()[10] == b'T' && date.ends_with('Z');
    let at = crate::clock::parse_time(date)
        .ok()
        .filter(|_| well_formed)
        .ok_or_else(|| incomplete("the request date is not YYYY-MM-DDThh:mm:ssZ"))?;
    if (at - now).abs() > CLOCK_SKEW_SECONDS {
        return Err(KmsError::new(
            ErrorCode::TimestampExpired,
            format!(
                "the request is dated {date}, more than 15 minutes from the server's clock ({}); check the client's clock",
                crate::clock::format_unix(now)
            ),
        ));
    }
    Ok(())
}

fn credential(kms: &LocalKms, access_key_id: &str) -> Result<Credential, KmsError> {
    let credential = kms.credential(access_key_id)?;
    if !credential.active {
        return Err(KmsError::new(ErrorCode::AccessKeyInactive, format!("access key {access_key_id} is disabled")));
    }
    Ok(credential)
}

/// The header that carries an STS security token with ACS3-HMAC-SHA256.
pub const SECURITY_TOKEN_HEADER: &str = "x-acs-security-token";
/// The query parameter that carries it with HMAC-SHA1.
pub const SECURITY_TOKEN_PARAM: &str = "SecurityToken";

/// Refuses STS credentials before anything else is looked at: their AccessKeyId is not one
/// of ours, and "access key not found" would send the caller looking in the wrong place.
/// The token itself is neither echoed nor logged.
fn refuse_security_token(request: &Incoming<'_>, params: &BTreeMap<String, String>) -> Result<(), KmsError> {
    let carried = if request.headers.contains_key(SECURITY_TOKEN_HEADER) {
        SECURITY_TOKEN_HEADER
    } else if params.contains_key(SECURITY_TOKEN_PARAM) {
        SECURITY_TOKEN_PARAM
    } else {
        return Ok(());
    };
    Err(KmsError::invalid(
        carried,
        "keyseal serve takes long-term access keys only (keyseal access create) and issues no STS \
         tokens; STS credentials from a RAM role are for Alibaba Cloud KMS (--endpoint \
         https://kms.REGION.aliyuncs.com). Unset KEYSEAL_SECURITY_TOKEN and use an access key of this server",
    ))
}

/// Authenticates a request by whichever signature form it carries.
pub fn authenticate(kms: &LocalKms, request: &Incoming<'_>, now: i64) -> Result<Authenticated, KmsError> {
    let mut params = parse_form(request.query);
    refuse_security_token(request, &params)?;
    let is_form =
        request.headers.get("content-type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    match request.headers.get("authorization") {
        Some(authorization) if authorization.starts_with("ACS3-HMAC-SHA256") => {
            let authenticated = acs3(kms, request, &params, authorization, now)?;
            if is_form {
                params.extend(parse_form(&String::from_utf8_lossy(request.body)));
            }
            Ok(Authenticated { params, ..authenticated })
        }
        Some(_) => Err(incomplete("the Authorization header is not ACS3-HMAC-SHA256")),
        None if params.contains_key("Signature") => v1(kms, request.method, params, now),
        None => Err(incomplete("the request is not signed (no Authorization header, no Signature parameter)")),
    }
}

/// ACS3-HMAC-SHA256, as Alibaba Cloud's OpenAPI signature (V3) defines it: see kms/acs3.rs.
fn acs3(
    kms: &LocalKms,
    request: &Incoming<'_>,
    params: &BTreeMap<String, String>,
    authorization: &str,
    now: i64,
) -> Result<Authenticated, KmsError> {
    let fields: HashMap<&str, &str> = authorization
        .trim_start_matches("ACS3-HMAC-SHA256")
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .collect();
    let (Some(access_key_id), Some(signed_headers), Some(signature)) =
        (fields.get("Credential"), fields.get("SignedHeaders"), fields.get("Signature"))
    else {
        return Err(incomplete("Authorization needs Credential, SignedHeaders and Signature"));
    };
    let signed: Vec<&str> = signed_headers.split(';').collect();
    // The action and version are signed too, so nobody in between can turn a DescribeKey
    // into a DisableKey with the same parameters.
    for required in
        ["host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"]
    {
        if !signed.contains(&required) {
            return Err(incomplete(&format!("the {required} header must be signed")));
        }
    }
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| v.trim())
            .ok_or_else(|| incomplete(&format!("the signed header {name} is missing")))
    };
    let body_hash = acs3::hex_sha256(request.body);
    if !header("x-acs-content-sha256")?.eq_ignore_ascii_case(&body_hash) {
        return Err(KmsError::new(
            ErrorCode::SignatureDoesNotMatch,
            "the body's SHA-256 is not the signed x-acs-content-sha256: the body was altered",
        ));
    }
    check_time(header("x-acs-date")?, now)?;
    let credential = credential(kms, access_key_id)?;
    let mut signed_values = BTreeMap::new();
    for name in &signed {
        signed_values.insert(name.to_string(), header(name)?.to_string());
    }
    let string_to_sign = acs3::string_to_sign(request.method, params, &signed_values, header("x-acs-content-sha256")?);
    if !acs3::verify(&credential.secret, &string_to_sign, signature) {
        return Err(mismatch());
    }
    kms.remember_nonce(access_key_id, header("x-acs-signature-nonce")?, now, CLOCK_SKEW_SECONDS)?;
    let action = header("x-acs-action").map_err(|_| incomplete("the x-acs-action header names no action"))?.to_string();
    Ok(Authenticated { access_key_id: access_key_id.to_string(), credential, action, params: params.clone() })
}

/// The older HMAC-SHA1 signature over the sorted query.
fn v1(kms: &LocalKms, method: &str, mut params: BTreeMap<String, String>, now: i64) -> Result<Authenticated, KmsError> {
    let signature = params.remove("Signature").unwrap_or_default();
    let get =
        |name: &str| params.get(name).cloned().ok_or_else(|| incomplete(&format!("the {name} parameter is missing")));
    if get("SignatureMethod")? != "HMAC-SHA1" {
        return Err(incomplete("SignatureMethod must be HMAC-SHA1"));
    }
    check_time(&get("Timestamp")?, now)?;
    let access_key_id = get("AccessKeyId")?;
    let credential = credential(kms, &access_key_id)?;
    let string_to_sign = format!("{method}&%2F&{}", percent_encode(&canonical_query(&params)));
    let mut key = Zeroizing::new(credential.secret.to_vec());
    key.push(b'&');
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key[..]).map_err(|_| KmsError::internal("HMAC key"))?;
    mac.update(string_to_sign.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.decode(signature.trim()).map_err(|_| mismatch())?;
    mac.verify_slice(&expected).map_err(|_| mismatch())?;
    kms.remember_nonce(&access_key_id, &get("SignatureNonce")?, now, CLOCK_SKEW_SECONDS)?;
    let action = get("Action")?;
    params.retain(|name, _| !V1_PROTOCOL.contains(&name.as_str()));
    Ok(Authenticated { access_key_id, credential, action, params })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding_matches_the_sdk() {
        let params = parse_form(
            "KeySpec=RSA_2048&Description=a+b%2Bc%2Fd%3D~%C3%A9&KeyUsage=SIGN%2FVERIFY&EnableAutomaticRotation=False",
        );
        assert_eq!(params["Description"], "a b+c/d=~é");
        assert_eq!(
            canonical_query(&params),
            "Description=a%20b%2Bc%2Fd%3D~%C3%A9&EnableAutomaticRotation=False&KeySpec=RSA_2048&KeyUsage=SIGN%2FVERIFY"
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    /// Found by the `request_auth` fuzz target (fuzz/regressions/request_auth/): `%+41`
    /// decoded as `A`, since `u8::from_str_radix` takes a leading `+`; only two hex digits
    /// make an escape (and the `+` is a space, as everywhere in a form).
    #[test]
    fn an_escape_is_two_hex_digits() {
        assert_eq!(percent_decode("%+41"), "% 41");
        assert_eq!(percent_decode("%+f%-1%4"), "% f%-1%4");
        assert_eq!(percent_decode("%41%2b%2B"), "A++");
        let params = parse_form("KeyId=%+41&Description=100%-1");
        assert_eq!(params["KeyId"], "% 41");
        assert_eq!(params["Description"], "100%-1");
    }

    #[test]
    fn security_tokens_are_refused_in_either_form() {
        let plain = BTreeMap::new();
        let with_header = BTreeMap::from([(SECURITY_TOKEN_HEADER.to_string(), "CAIS-secret".to_string())]);
        let incoming = |headers| Incoming { method: "POST", query: "", headers, body: b"" };
        assert!(refuse_security_token(&incoming(&plain), &BTreeMap::new()).is_ok());
        let err = refuse_security_token(&incoming(&with_header), &BTreeMap::new()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParameter);
        assert!(err.message.starts_with("x-acs-security-token: keyseal serve takes long-term access keys only"));
        assert!(!err.message.contains("CAIS-secret"), "the token is not echoed");
        let params = parse_form("Action=DescribeKey&SecurityToken=CAIS-secret");
        let err = refuse_security_token(&incoming(&plain), &params).unwrap_err();
        assert!(err.message.starts_with("SecurityToken: ") && err.message.contains("Alibaba Cloud KMS"));
    }

    /// The request date is exactly `YYYY-MM-DDThh:mm:ssZ` and within 15 minutes of the
    /// server's clock, both ends included.
    #[test]
    fn request_dates_are_one_form_within_fifteen_minutes() {
        let now = crate::clock::parse_time("2026-01-01T12:00:00Z").unwrap();
        for date in ["2026-01-01T12:00:00Z", "2026-01-01T11:45:00Z", "2026-01-01T12:15:00Z"] {
            assert!(check_time(date, now).is_ok(), "{date}");
        }
        for date in ["2026-01-01T11:44:59Z", "2026-01-01T12:15:01Z"] {
            assert_eq!(check_time(date, now).unwrap_err().code, ErrorCode::TimestampExpired, "{date}");
        }
        for date in [
            "2026-01-01T12:00:00z",
            "2026-01-01 12:00:00Z",
            "2026-01-01t12:00:00Z",
            "2026-01-01T12:00:00.5Z",
            "2026-01-01T12:00:00+00:00",
            "2026-01-01",
            "1767268800",
        ] {
            assert_eq!(check_time(date, now).unwrap_err().code, ErrorCode::IncompleteSignature, "{date}");
        }
    }

    fn private_dir() -> tempfile::TempDir {
        tempfile::Builder::new().permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700)).tempdir().unwrap()
    }

    /// A POST signed with ACS3-HMAC-SHA256 as the SDK signs one whose parameters are in
    /// the body: the body's hash is signed, the query is empty.
    fn signed_post(
        key: &crate::server::access::NewAccessKey,
        body: &str,
        content_type: &str,
        now: i64,
    ) -> BTreeMap<String, String> {
        let mut headers = BTreeMap::new();
        for (name, value) in [
            ("host", "kms.example".to_string()),
            ("x-acs-action", "DescribeKey".to_string()),
            ("x-acs-version", acs3::API_VERSION.to_string()),
            ("x-acs-date", crate::clock::format_unix(now)),
            ("x-acs-signature-nonce", format!("nonce-{}", body.len())),
            ("x-acs-content-sha256", acs3::hex_sha256(body.as_bytes())),
        ] {
            headers.insert(name.to_string(), value);
        }
        let canonical = acs3::canonical_request("POST", &BTreeMap::new(), &headers, &acs3::hex_sha256(body.as_bytes()));
        let authorization = acs3::authorization(
            &key.access_key_id,
            key.access_key_secret.as_bytes(),
            &canonical,
            &acs3::signed_headers(&headers),
        );
        headers.insert("authorization".into(), authorization);
        headers.insert("content-type".into(), content_type.into());
        headers
    }

    /// Parameters in an `application/x-www-form-urlencoded` body (how the SDK sends a
    /// large one) are the request's, as the query's are; a body of another type is not read
    /// as parameters.
    #[test]
    fn form_body_parameters_of_a_signed_request_are_read() {
        let dir = private_dir();
        let source = crate::kms::seal::SecretSource::Passphrase(Zeroizing::new("correct horse battery".into()));
        let kms = LocalKms::open(dir.path(), source, "t").unwrap();
        let key = kms.create_access_key("ci").unwrap();
        let now = crate::clock::parse_time("2026-01-01T12:00:00Z").unwrap();
        let body = "KeyId=alias%2Frelease&Extra=a+b";
        let headers = signed_post(&key, body, "application/x-www-form-urlencoded; charset=utf-8", now);
        let request = Incoming { method: "POST", query: "", headers: &headers, body: body.as_bytes() };
        let authenticated = authenticate(&kms, &request, now).unwrap();
        assert_eq!(authenticated.action, "DescribeKey");
        assert_eq!(authenticated.params.get("KeyId").map(String::as_str), Some("alias/release"));
        assert_eq!(authenticated.params.get("Extra").map(String::as_str), Some("a b"));

        let body = "KeyId=alias%2Fother";
        let headers = signed_post(&key, body, "application/json", now);
        let request = Incoming { method: "POST", query: "", headers: &headers, body: body.as_bytes() };
        assert!(authenticate(&kms, &request, now).unwrap().params.is_empty());
    }

    /// A query signed with the older HMAC-SHA1 signature, as the v1 SDKs sign one.
    fn v1_query(key: &crate::server::access::NewAccessKey, params: &[(&str, &str)], now: i64) -> String {
        let mut all: BTreeMap<String, String> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for (name, value) in [
            ("AccessKeyId", key.access_key_id.clone()),
            ("SignatureMethod", "HMAC-SHA1".into()),
            ("SignatureVersion", "1.0".into()),
            ("SignatureNonce", "v1-nonce".into()),
            ("Timestamp", crate::clock::format_unix(now)),
            ("Format", "JSON".into()),
            ("Version", acs3::API_VERSION.into()),
        ] {
            all.insert(name.to_string(), value);
        }
        let string_to_sign = format!("GET&%2F&{}", percent_encode(&canonical_query(&all)));
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{}&", &*key.access_key_secret).as_bytes()).unwrap();
        mac.update(string_to_sign.as_bytes());
        all.insert("Signature".into(), base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
        canonical_query(&all)
    }

    /// The HMAC-SHA1 form: the action's parameters come through, the protocol's do not.
    #[test]
    fn a_v1_signed_query_gives_the_action_its_parameters_only() {
        let dir = private_dir();
        let source = crate::kms::seal::SecretSource::Passphrase(Zeroizing::new("correct horse battery".into()));
        let kms = LocalKms::open(dir.path(), source, "t").unwrap();
        let key = kms.create_access_key("ci").unwrap();
        let now = crate::clock::parse_time("2026-01-01T12:00:00Z").unwrap();
        let query = v1_query(&key, &[("Action", "DescribeKey"), ("KeyId", "alias/release")], now);
        let headers = BTreeMap::new();
        let request = Incoming { method: "GET", query: &query, headers: &headers, body: b"" };
        let authenticated = authenticate(&kms, &request, now).unwrap();
        assert_eq!(authenticated.action, "DescribeKey");
        assert_eq!(authenticated.access_key_id, key.access_key_id);
        let names: Vec<&str> = authenticated.params.keys().map(String::as_str).collect();
        assert_eq!(names, ["KeyId"], "protocol parameters are not the action's");
    }

    /// A request signed some other way, or not at all, is refused as unsigned, saying which.
    #[test]
    fn other_authorizations_and_unsigned_requests_are_incomplete() {
        let dir = private_dir();
        let kms = LocalKms::open(dir.path(), crate::kms::seal::SecretSource::Unavailable, "t").unwrap();
        let now = crate::clock::parse_time("2026-01-01T12:00:00Z").unwrap();
        let basic: BTreeMap<String, String> = [("authorization".to_string(), "Basic dXNlcjpwYXNz".to_string())].into();
        let none = BTreeMap::new();
        for (headers, query, says) in [
            (&basic, "Action=ListKeys", "is not ACS3-HMAC-SHA256"),
            (&none, "Action=ListKeys&AccessKeyId=A", "is not signed"),
        ] {
            let request = Incoming { method: "GET", query, headers, body: b"" };
            let refused = authenticate(&kms, &request, now).err().unwrap();
            assert_eq!(refused.code, ErrorCode::IncompleteSignature, "{says}");
            assert!(refused.message.contains(says), "{}", refused.message);
        }
    }

    #[test]
    fn nonces_are_single_use_per_access_key_and_forgotten_later() {
        let dir = tempfile::Builder::new()
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .unwrap();
        let kms = LocalKms::open(dir.path(), crate::kms::seal::SecretSource::Unavailable, "t").unwrap();
        let again = LocalKms::open(dir.path(), crate::kms::seal::SecretSource::Unavailable, "t").unwrap();
        kms.remember_nonce("A", "n1", 0, CLOCK_SKEW_SECONDS).unwrap();
        // Another process on the same store sees it.
        assert_eq!(again.remember_nonce("A", "n1", 5, CLOCK_SKEW_SECONDS).unwrap_err().code, ErrorCode::NonceUsed);
        assert!(again.remember_nonce("B", "n1", 5, CLOCK_SKEW_SECONDS).is_ok(), "nonces are per access key");
        // Past twice the window the nonce is forgotten (its request's date is refused by then).
        assert!(kms.remember_nonce("A", "n1", 2 * CLOCK_SKEW_SECONDS + 1, CLOCK_SKEW_SECONDS).is_ok());
        let long = "x".repeat(crate::server::access::MAX_NONCE_LEN + 1);
        assert_eq!(
            kms.remember_nonce("A", &long, 0, CLOCK_SKEW_SECONDS).unwrap_err().code,
            ErrorCode::IncompleteSignature
        );
    }
}
