//! RemoteKms: the `Kms` trait over the KMS OpenAPI wire protocol, signing each request with
//! ACS3-HMAC-SHA256 as the official SDKs do (`acs3::sign`, checked against the SDK's own
//! signer by `tests/it/acs3_sdk.rs`), so the same keyseal works against `keyseal serve` on
//! another host or against Alibaba Cloud KMS itself, with a long-term access key or with
//! STS credentials from a RAM role (the security token is sent as the SDK sends it). Connection
//! failures and 5xx answers are retried with backoff for reads and signing, never for
//! actions that create or change something (a retry could do them twice); 4xx answers
//! never are. `without_retries` turns retrying off.

use crate::kms::acs3;
use crate::kms::api::*;
use crate::kms::error::{ErrorBody, ErrorCode, KmsError};
use crate::kms::ids::new_uuid;
use crate::kms::{Action, Kms, KmsResult};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::time::Duration;
use zeroize::Zeroizing;

/// Attempts per request by default (the first try and two retries).
const ATTEMPTS: u32 = 3;
/// Wait before the first retry; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// A KMS reached over HTTP(S).
pub struct RemoteKms {
    base: String,
    host: String,
    access_key_id: String,
    secret: Zeroizing<String>,
    /// An STS security token to send with every request; a credential, never printed.
    security_token: Option<Zeroizing<String>>,
    agent: ureq::Agent,
    /// How many times a repeatable request is sent at most (1: never retried).
    attempts: u32,
}

impl RemoteKms {
    /// A client for `endpoint` (`https://kms.example.com`, `http://127.0.0.1:8080`, or a bare
    /// `host:port`, taken as http) with an access key.
    pub fn new(endpoint: &str, access_key_id: &str, secret: Zeroizing<String>) -> KmsResult<RemoteKms> {
        let endpoint = endpoint.trim();
        let (scheme, rest) = endpoint.split_once("://").unwrap_or(("http", endpoint));
        let host = rest.split('/').next().unwrap_or("").to_string();
        if !matches!(scheme, "http" | "https") || host.is_empty() {
            return Err(KmsError::invalid(
                "--endpoint",
                format!("{endpoint:?} is not a URL such as https://kms.example.com or http://127.0.0.1:8080"),
            ));
        }
        crate::tls::check_scheme(scheme).map_err(|e| KmsError::invalid("--endpoint", e))?;
        let base = format!("{scheme}://{host}");
        if access_key_id.is_empty() || secret.is_empty() {
            return Err(KmsError::invalid(
                "credentials",
                "set KEYSEAL_ACCESS_KEY_ID and KEYSEAL_ACCESS_KEY_SECRET to use --endpoint",
            ));
        }
        let agent = crate::tls::agent_config(ureq::tls::RootCerts::WebPki)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Ok(RemoteKms {
            base,
            host,
            access_key_id: access_key_id.to_string(),
            secret,
            security_token: None,
            agent,
            attempts: ATTEMPTS,
        })
    }

    /// Sends `token` (an STS security token, e.g. from AssumeRoleWithOIDC in CI) with every
    /// request, signed, so that STS credentials work against the cloud KMS. An empty token
    /// counts as none, as an unset variable does.
    pub fn with_security_token(mut self, token: Zeroizing<String>) -> RemoteKms {
        self.security_token = Some(token).filter(|token| !token.is_empty());
        self
    }

    /// Sends every request exactly once: a connection failure or a 5xx answer is the
    /// caller's error at once instead of being retried. For callers that count requests
    /// against the server's audit log (a load test), or that retry on their own terms.
    pub fn without_retries(mut self) -> RemoteKms {
        self.attempts = 1;
        self
    }

    /// Trusts the CA certificates in `ca_pem` (instead of the public web roots) for an
    /// https endpoint, e.g. a `keyseal serve --tls-cert` with an internal certificate.
    pub fn trusting(mut self, ca_pem: &[u8]) -> KmsResult<RemoteKms> {
        let roots = trusted_roots(ca_pem)
            .ok_or_else(|| KmsError::invalid("--endpoint-ca", "the file holds no PEM CERTIFICATE"))?;
        self.agent = crate::tls::agent_config(roots)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Ok(self)
    }

    /// Calls `action` with the request's fields as parameters.
    fn call<R: Serialize, T: DeserializeOwned>(&self, action: Action, request: &R) -> KmsResult<T> {
        let params = to_params(request)?;
        let mut delay = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.send(action, &params) {
                Err(Failure::Retryable(_)) if attempt < self.attempts && action.repeatable() => {
                    std::thread::sleep(delay);
                    delay *= 2;
                    attempt += 1;
                }
                Err(Failure::Retryable(err) | Failure::Final(err)) => return Err(err),
                Ok(body) => {
                    return serde_json::from_str(&body).map_err(|e| {
                        KmsError::internal(format!("the KMS answered {action} with a body keyseal cannot read: {e}"))
                    });
                }
            }
        }
    }

    fn send(&self, action: Action, params: &BTreeMap<String, String>) -> Result<String, Failure> {
        let nonce = new_uuid().map_err(Failure::Final)?;
        let date = crate::clock::format_unix(crate::clock::now_unix());
        let signed = acs3::sign(&acs3::Request {
            method: "POST",
            action: action.name(),
            params,
            host: &self.host,
            date: &date,
            nonce: &nonce,
            access_key_id: &self.access_key_id,
            secret: self.secret.as_bytes(),
            security_token: self.security_token.as_ref().map(|token| token.as_str()),
        });
        let url = format!("{}/?{}", self.base, acs3::canonical_query(params));
        let mut request = self.agent.post(&url);
        // `host` is the URL's, which ureq sends itself.
        for (name, value) in signed.headers.iter().filter(|(name, _)| name.as_str() != "host") {
            request = request.header(name.as_str(), value.as_str());
        }
        let mut response = match request.send_empty() {
            Ok(response) => response,
            Err(e) => {
                return Err(Failure::Retryable(KmsError::new(
                    ErrorCode::StoreUnavailable,
                    format!(
                        "cannot reach the KMS at {}: {e}; check --endpoint, that the server runs, and --endpoint-ca for https",
                        self.base
                    ),
                )));
            }
        };
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            // A signed request is never re-sent elsewhere: its credentials and the answer
            // belong to the endpoint the user named.
            let location = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("?");
            return Err(Failure::Final(KmsError::new(
                ErrorCode::StoreUnavailable,
                format!(
                    "the KMS at {} answered HTTP {status}, a redirect to {}: keyseal sends signed requests only where --endpoint says; give the final URL as --endpoint",
                    self.base,
                    crate::quote::escape_text(location)
                ),
            )));
        }
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| Failure::Retryable(KmsError::internal(format!("the KMS answer was cut off: {e}"))))?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let err = match serde_json::from_str::<ErrorBody>(&body) {
            Ok(error) => {
                let mut err = KmsError::new(
                    ErrorCode::from_wire(&error.code).unwrap_or(ErrorCode::InternalFailure),
                    error.message.clone(),
                );
                if ErrorCode::from_wire(&error.code).is_none() {
                    err.message = format!("{}: {}", error.code, error.message);
                }
                err.request_id = Some(error.request_id);
                err
            }
            Err(_) => KmsError::internal(format!("the KMS answered HTTP {status} without an error body")),
        };
        // keyseal's own 5xx codes (wrong passphrase, store unavailable) do not pass with time.
        let lasting = err.code.as_str().starts_with("Keyseal.");
        if status >= 500 && !lasting { Err(Failure::Retryable(err)) } else { Err(Failure::Final(err)) }
    }
}

/// Roots of trust of the CA certificates in `ca_pem`, to use instead of the public web
/// roots; `None` when it holds no PEM CERTIFICATE. For RemoteKms and the TSA client alike.
pub fn trusted_roots(ca_pem: &[u8]) -> Option<ureq::tls::RootCerts> {
    let certificates: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(ca_pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        })
        .collect();
    if certificates.is_empty() {
        return None;
    }
    Some(ureq::tls::RootCerts::new_with_certs(&certificates))
}

enum Failure {
    Retryable(KmsError),
    Final(KmsError),
}

/// A request's fields as wire parameters: strings, numbers as decimal text.
fn to_params<R: Serialize>(request: &R) -> KmsResult<BTreeMap<String, String>> {
    let value =
        serde_json::to_value(request).map_err(|e| KmsError::internal(format!("cannot encode the request: {e}")))?;
    let mut params = BTreeMap::new();
    if let serde_json::Value::Object(fields) = value {
        for (name, field) in fields {
            let text = match field {
                serde_json::Value::String(text) => text,
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            params.insert(name, text);
        }
    }
    Ok(params)
}

impl Kms for RemoteKms {
    fn create_key(&self, request: &CreateKeyRequest) -> KmsResult<KeyMetadataResponse> {
        self.call(Action::CreateKey, request)
    }
    fn create_key_version(&self, request: &KeyIdRequest) -> KmsResult<KeyVersionResponse> {
        self.call(Action::CreateKeyVersion, request)
    }
    fn describe_key(&self, request: &KeyIdRequest) -> KmsResult<KeyMetadataResponse> {
        self.call(Action::DescribeKey, request)
    }
    fn describe_key_version(&self, request: &KeyVersionRequest) -> KmsResult<KeyVersionResponse> {
        self.call(Action::DescribeKeyVersion, request)
    }
    fn list_keys(&self, request: &PageRequest) -> KmsResult<ListKeysResponse> {
        self.call(Action::ListKeys, request)
    }
    fn list_key_versions(&self, request: &ListKeyVersionsRequest) -> KmsResult<ListKeyVersionsResponse> {
        self.call(Action::ListKeyVersions, request)
    }
    fn create_alias(&self, request: &AliasRequest) -> KmsResult<EmptyResponse> {
        self.call(Action::CreateAlias, request)
    }
    fn update_alias(&self, request: &AliasRequest) -> KmsResult<EmptyResponse> {
        self.call(Action::UpdateAlias, request)
    }
    fn delete_alias(&self, request: &DeleteAliasRequest) -> KmsResult<EmptyResponse> {
        self.call(Action::DeleteAlias, request)
    }
    fn list_aliases(&self, request: &PageRequest) -> KmsResult<ListAliasesResponse> {
        self.call(Action::ListAliases, request)
    }
    fn enable_key(&self, request: &KeyIdRequest) -> KmsResult<EmptyResponse> {
        self.call(Action::EnableKey, request)
    }
    fn disable_key(&self, request: &KeyIdRequest) -> KmsResult<EmptyResponse> {
        self.call(Action::DisableKey, request)
    }
    fn schedule_key_deletion(&self, request: &ScheduleKeyDeletionRequest) -> KmsResult<EmptyResponse> {
        self.call(Action::ScheduleKeyDeletion, request)
    }
    fn cancel_key_deletion(&self, request: &KeyIdRequest) -> KmsResult<EmptyResponse> {
        self.call(Action::CancelKeyDeletion, request)
    }
    fn get_public_key(&self, request: &KeyVersionRequest) -> KmsResult<GetPublicKeyResponse> {
        self.call(Action::GetPublicKey, request)
    }
    fn asymmetric_sign(&self, request: &SignRequest) -> KmsResult<SignResponse> {
        self.call(Action::AsymmetricSign, request)
    }
    fn asymmetric_verify(&self, request: &VerifyRequest) -> KmsResult<VerifyResponse> {
        self.call(Action::AsymmetricVerify, request)
    }
    fn asymmetric_encrypt(&self, request: &EncryptRequest) -> KmsResult<EncryptResponse> {
        self.call(Action::AsymmetricEncrypt, request)
    }
    fn asymmetric_decrypt(&self, request: &DecryptRequest) -> KmsResult<DecryptResponse> {
        self.call(Action::AsymmetricDecrypt, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::spec::Algorithm;

    #[test]
    fn requests_become_wire_parameters() {
        let request = SignRequest {
            key_id: "alias/x".into(),
            key_version_id: "v".into(),
            algorithm: Algorithm::EcdsaSha256,
            digest: vec![0; 32],
        };
        let params = to_params(&request).unwrap();
        assert_eq!(params["KeyId"], "alias/x");
        assert_eq!(params["Algorithm"], "ECDSA_SHA_256");
        assert_eq!(params["Digest"], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        let paged = to_params(&ListKeyVersionsRequest {
            key_id: "k".into(),
            page: PageRequest { page_number: 2, page_size: 5 },
        })
        .unwrap();
        assert_eq!((paged["PageNumber"].as_str(), paged["PageSize"].as_str()), ("2", "5"));
    }

    /// A loopback server that closes every connection at once, and how many it took.
    fn closing_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        (endpoint, accepted)
    }

    #[test]
    fn a_dropped_connection_is_retried_unless_retries_are_off() {
        let request = KeyIdRequest { key_id: "k".into() };
        for (retries, sent) in [(true, ATTEMPTS as usize), (false, 1)] {
            let (endpoint, accepted) = closing_server();
            let kms = RemoteKms::new(&endpoint, "ak", Zeroizing::new("s".to_string())).unwrap();
            let kms = if retries { kms } else { kms.without_retries() };
            assert_eq!(kms.describe_key(&request).unwrap_err().code, ErrorCode::StoreUnavailable);
            assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), sent, "retries: {retries}");
        }
    }

    #[test]
    fn endpoints_and_credentials_are_checked() {
        let secret = || Zeroizing::new("s".to_string());
        assert!(RemoteKms::new("127.0.0.1:8080", "ak", secret()).is_ok());
        let https = RemoteKms::new("https://kms.example.com/", "ak", secret());
        #[cfg(any(feature = "aws-lc", feature = "ring"))]
        assert_eq!(https.unwrap().host, "kms.example.com");
        // A build without a TLS provider refuses https up front (`crate::tls`).
        #[cfg(not(any(feature = "aws-lc", feature = "ring")))]
        assert!(https.is_err());
        assert!(RemoteKms::new("http://", "ak", secret()).is_err());
        assert!(RemoteKms::new("127.0.0.1:8080", "", secret()).is_err());
    }

    /// A KMS endpoint that redirects elsewhere: the signed request is not re-sent there
    /// (the sibling of issue 27's finding 12, the TSA client), and the error says where it
    /// pointed.
    #[test]
    fn a_redirect_is_refused_not_followed() {
        use std::io::{BufRead, BufReader, Write};
        let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        elsewhere.set_nonblocking(true).unwrap();
        let target = format!("http://{}/", elsewhere.local_addr().unwrap());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let answer =
            format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            reader.get_mut().write_all(answer.as_bytes()).unwrap();
        });
        let kms = RemoteKms::new(&endpoint, "ak", Zeroizing::new("s".to_string())).unwrap().without_retries();
        let err = kms.describe_key(&KeyIdRequest { key_id: "k".into() }).unwrap_err();
        server.join().unwrap();
        assert!(err.message.contains(&format!("HTTP 302, a redirect to {target}")), "{}", err.message);
        assert!(elsewhere.accept().is_err(), "the redirect was followed");
    }
}
