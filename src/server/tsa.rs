//! `POST /tsa`: RFC 3161 over HTTP (§3.4) when `keyseal serve` is started with a TSA key
//! (`--tsa-key`, `--tsa-key-version`, `--tsa-cert`). A TSA is a public service, so there
//! is no access-key authentication here; what bounds a stranger is the request size
//! ([`MAX_QUERY`]: a TimeStampReq is a hash and a few small fields), the server's
//! connection cap and body timeout, and the TSA's own checks. Every answer to a
//! TimeStampReq, granted or rejected, is audited (action TimeStamp, principal
//! `anonymous@ADDRESS`); the TSA key's AsymmetricSign is audited by the KMS as always. A
//! body that is not a TimeStampReq at all is answered the same way (a badDataFormat
//! rejection) but only logged, on the one stderr line every request gets: a stranger
//! must not be able to grow the audit log with garbage.
//!
//! HTTP-level refusals (another method, content type or size) are plain-text 4xx answers;
//! a request that reaches the TSA always gets a TimeStampResp: 200 with a token or a
//! rejection, or 500 with a systemFailure when the TSA itself cannot answer (the KMS
//! refused, the audit log could not be written), which is also logged on stderr.

use super::request_body::{self, BodyRefused};
use super::{Answer, State, log_line};
use crate::tsa::reply::{Desk, Outcome, Tsa};
use crate::tsa::{QUERY_TYPE, REPLY_TYPE};
use hyper::Request;
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use zeroize::Zeroizing;

/// The path the TSA answers at.
pub const PATH: &str = "/tsa";
/// Largest TimeStampReq taken, in bytes. OpenSSL's are about 60 bytes (SHA-512 imprint,
/// nonce, policy and certReq under 120); room is left for extensions.
pub const MAX_QUERY: usize = 4096;

fn text(status: u16, message: &str) -> Answer {
    Answer { status, content_type: "text/plain; charset=utf-8", body: Zeroizing::new(format!("{message}\n").into()) }
}

/// The answer to one request at `/tsa`.
pub async fn answer(state: Arc<State>, remote: SocketAddr, request: Request<Incoming>) -> Answer {
    let started = Instant::now();
    let principal = format!("anonymous@{}", remote.ip());
    let refuse = |status: u16, code: &str, message: &str| {
        log_line(remote, "POST", "TimeStamp", &principal, status, Some(code), started);
        text(status, message)
    };
    if state.tsa.is_none() {
        return refuse(
            404,
            "NoTsa",
            "this server is not a TSA: start keyseal serve with --tsa-key-id, --tsa-key-version-id and --tsa-cert",
        );
    }
    if request.method() != hyper::Method::POST {
        return refuse(405, "MethodNotAllowed", "a time-stamp request is sent with POST (RFC 3161 §3.4)");
    }
    let content_type = request.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let media_type = content_type.map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    if media_type.as_deref() != Some(QUERY_TYPE) {
        return refuse(
            415,
            "UnsupportedMediaType",
            &format!("send the DER TimeStampReq as Content-Type: {QUERY_TYPE}"),
        );
    }
    let query = match request_body::read(request.into_body(), MAX_QUERY, state.body_timeout).await {
        Ok(query) => query,
        Err(refused) => {
            let code = match refused {
                BodyRefused::TooLarge { .. } => "RequestTooLarge",
                BodyRefused::TimedOut { .. } => "RequestTimeout",
                BodyRefused::CutOff => "RequestCutOff",
            };
            return refuse(refused.status(), code, &refused.message("a time-stamp request"));
        }
    };
    let worker = tokio::task::spawn_blocking(move || respond(&state, &principal, &query, remote, started));
    worker.await.unwrap_or_else(|_| failure(remote, started, "the TSA's worker failed"))
}

/// Runs the TSA on one request, off the async threads (it signs through the KMS and
/// writes the audit log).
fn respond(state: &State, principal: &str, query: &[u8], remote: SocketAddr, started: Instant) -> Answer {
    let Some(tsa) = state.tsa.as_ref() else { return text(404, "this server is not a TSA") };
    let kms = state.kms.with_principal(principal);
    let desk = Desk { kms: &kms, store: kms.store(), principal };
    match tsa.respond(desk, query, crate::clock::now_unix()) {
        Ok(reply) => {
            let code = match &reply.outcome {
                Outcome::Granted { .. } => None,
                Outcome::Rejected { fail_info, .. } => Some(fail_info.code()),
            };
            log_line(remote, "POST", "TimeStamp", principal, 200, code, started);
            Answer { status: 200, content_type: REPLY_TYPE, body: Zeroizing::new(reply.der) }
        }
        Err(err) => failure(remote, started, &format!("[{}] {}", err.code, err.message)),
    }
}

/// 500 with a systemFailure TimeStampResp, and the cause loudly on stderr (never to the
/// client, who is a stranger).
fn failure(remote: SocketAddr, started: Instant, cause: &str) -> Answer {
    crate::errln!("keyseal serve: TSA FAILED to answer {remote}: {}", crate::quote::escape_text(cause));
    log_line(remote, "POST", "TimeStamp", "anonymous", 500, Some("systemFailure"), started);
    match Tsa::system_failure() {
        Ok(der) => Answer { status: 500, content_type: REPLY_TYPE, body: Zeroizing::new(der) },
        Err(_) => text(500, "the TSA cannot answer now"),
    }
}
