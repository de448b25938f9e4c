//! Asking a TSA over HTTP (RFC 3161 §3.4), as `keyseal sign --tsa URL` does: a
//! TimeStampReq for a SHA-256 digest, with a fresh nonce and certReq (so the token carries
//! the TSA's chain and verifies offline), POSTed as `application/timestamp-query`. The
//! answer is read bounded, and its token kept only if the TSA granted it, signed it with
//! the certificate it names, over that digest, with that nonce.
//!
//! A TSA may be public (any RFC 3161 service) or `keyseal serve --tsa-key`; https URLs are
//! checked against the public web roots, or the CA certificates of `--tsa-ca`.
//!
//! No redirect is followed: the query goes to the URL given and nowhere else (a redirect
//! could send it, and the trust placed in the answer, to another host, or from https to
//! plain http). A TSA that answers with one is refused with the URL it pointed at, to be
//! given as `--tsa` if it is the TSA meant.

use crate::tsa::query::{QueryRequest, make_query_with_nonce};
use crate::tsa::token::Token;
use crate::tsa::verify::check_fresh_reply;
use crate::tsa::{ImprintHash, TsaCode, TsaError};
use std::time::Duration;

/// Largest reply read, in bytes: a token with a chain of a few certificates is a few KiB.
pub const MAX_REPLY: u64 = 256 * 1024;
/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A TSA at a URL.
pub struct TsaClient {
    url: String,
    agent: ureq::Agent,
}

impl TsaClient {
    /// A client for `url` (`http://` or `https://`); `ca_pem` replaces the web roots for https.
    pub fn new(url: &str, ca_pem: Option<&[u8]>) -> Result<TsaClient, TsaError> {
        let url = url.trim();
        let plain = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
        if plain.is_none_or(|rest| rest.is_empty() || rest.starts_with('/')) || url.chars().any(char::is_control) {
            return Err(TsaError::bad_input(format!(
                "--tsa {:?} is not a URL such as https://tsa.example.com/tsr or http://127.0.0.1:8080/tsa",
                url
            )));
        }
        if url.starts_with("https://") {
            crate::tls::check_scheme("https").map_err(|e| TsaError::bad_input(format!("--tsa {url:?}: {e}")))?;
        }
        let roots = match ca_pem {
            Some(pem) => crate::kms::remote::trusted_roots(pem)
                .ok_or_else(|| TsaError::bad_input("--tsa-ca holds no PEM CERTIFICATE"))?,
            None => ureq::tls::RootCerts::WebPki,
        };
        let config =
            crate::tls::agent_config(roots).http_status_as_error(false).max_redirects(0).timeout_global(Some(TIMEOUT));
        Ok(TsaClient { url: url.to_string(), agent: config.build().into() })
    }

    /// A token over the SHA-256 `digest`, checked as [`check_fresh_reply`] does, and the
    /// TSA's whole reply (the TimeStampResp, DER) it came in.
    pub fn stamp(&self, digest: &[u8]) -> Result<(Token, Vec<u8>), TsaError> {
        let request = QueryRequest { hash: ImprintHash::Sha256, digest: digest.to_vec(), nonce: true, cert_req: true };
        let (query, nonce) = make_query_with_nonce(&request)?;
        let unreachable = |e: &dyn std::fmt::Display| {
            TsaError::new(TsaCode::TsaUnavailable, format!("cannot get a time stamp from {}: {e}", self.url))
        };
        let mut response = self
            .agent
            .post(&self.url)
            .header("content-type", crate::tsa::QUERY_TYPE)
            .header("accept", crate::tsa::REPLY_TYPE)
            .send(&query[..])
            .map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            let location = response.headers().get("location").map(|v| String::from_utf8_lossy(v.as_bytes()));
            return Err(unreachable(&match location {
                Some(to) => format!(
                    "it answered HTTP {status}, a redirect to {}; a TSA client follows no redirect: \
                     if that is the TSA meant, pass its final URL as --tsa",
                    crate::quote::escape_text(&to)
                ),
                None => format!("it answered HTTP {status}, a redirect with no Location; check the URL"),
            }));
        }
        let body = response.body_mut().with_config().limit(MAX_REPLY).read_to_vec().map_err(|e| unreachable(&e))?;
        let media_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        let is_reply = media_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(crate::tsa::REPLY_TYPE);
        if !is_reply {
            return Err(unreachable(&format!(
                "it answered HTTP {status} with {}, not a time-stamp reply; check the URL",
                if media_type.is_empty() {
                    "no content type".to_string()
                } else {
                    crate::quote::escape_text(media_type).into_owned()
                }
            )));
        }
        // A rejection (any status) is a TimeStampResp saying why: check_fresh_reply reports it.
        Ok((check_fresh_reply(&body, digest, nonce.as_ref())?, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// Answers one HTTP request on `listener` with `answer`; returns what was asked.
    fn answer_once(listener: TcpListener, answer: String) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let (mut head, mut length) = (String::new(), 0);
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
                head.push_str(&line);
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            reader.read_exact(&mut vec![0; length]).unwrap();
            reader.get_mut().write_all(answer.as_bytes()).unwrap();
            head
        })
    }

    /// Regression (issue 27, finding 12): a TSA that answers with a redirect to another
    /// host is refused, saying where it pointed; the query never goes there.
    #[test]
    fn a_redirect_is_refused_not_followed() {
        let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
        elsewhere.set_nonblocking(true).unwrap();
        let target = format!("http://{}/tsa", elsewhere.local_addr().unwrap());
        let tsa = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsa", tsa.local_addr().unwrap());
        let redirect =
            format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let asked = answer_once(tsa, redirect);
        let err = TsaClient::new(&url, None).unwrap().stamp(&[7; 32]).unwrap_err();
        assert!(asked.join().unwrap().starts_with("POST /tsa "));
        assert_eq!(err.code, "tsa-unavailable");
        assert!(err.message.contains(&format!("HTTP 302, a redirect to {target}")), "{}", err.message);
        assert!(err.message.contains("pass its final URL as --tsa"), "{}", err.message);
        assert!(elsewhere.accept().is_err(), "the redirect was followed");
    }
}
