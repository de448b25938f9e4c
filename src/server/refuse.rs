//! Turning away a connection the server has no room for.
//!
//! When every connection held has a request in progress there is none to close, and a
//! newcomer left in the backlog would wait without knowing why: it is told 503 with
//! `Retry-After: 1` at once. Plain HTTP only: a TLS client would need a handshake before
//! it could read anything, which is the work being refused, so it is just closed.

use crate::kms::error::ErrorBody;
use crate::kms::ids::new_uuid;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// How long a refused connection is kept to read what its client sent, so that closing
/// it does not reset the connection and destroy the 503 before the client has read it.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// Refused connections lingering at once; past this a refused connection is just closed,
/// so refusals cannot use up the descriptors the cap keeps back.
const MAX_LINGERING_REFUSALS: usize = 16;

/// The code of the 503 answer when every connection has a request in progress (Alibaba
/// Cloud's common code for a temporary failure of the server).
pub const SERVER_BUSY: &str = "ServiceUnavailable";

/// The refused connections lingering now, at most [`MAX_LINGERING_REFUSALS`].
#[derive(Debug)]
pub struct Refusals(Arc<Semaphore>);

impl Default for Refusals {
    fn default() -> Refusals {
        Refusals(Arc::new(Semaphore::new(MAX_LINGERING_REFUSALS)))
    }
}

/// Turns away a connection there is no room for (every connection has a request in
/// progress): 503 with Retry-After on plain HTTP, in a task that lingers briefly; a TLS
/// client, which would need a handshake first, is just closed, as is any refused beyond
/// [`MAX_LINGERING_REFUSALS`] at once.
pub fn refuse(stream: TcpStream, tls: bool, capacity: usize, refusals: &Refusals) {
    if tls {
        return;
    }
    let Ok(permit) = refusals.0.clone().try_acquire_owned() else { return };
    let response = busy_response(capacity);
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(REFUSAL_LINGER, answer_and_linger(stream, &response)).await;
    });
}

/// The raw 503 answer, in the API's error body.
fn busy_response(capacity: usize) -> Vec<u8> {
    let body = ErrorBody {
        request_id: new_uuid().unwrap_or_default(),
        host_id: "keyseal".into(),
        code: SERVER_BUSY.into(),
        message: format!(
            "the server holds its most connections ({capacity}), each with a request in progress; retry in a second"
        ),
        recommend: String::new(),
    };
    let body = serde_json::to_string(&body).unwrap_or_default();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json;charset=utf-8\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Writes `response`, ends the sending side, and reads whatever the client sent until it
/// closes: closing with its request unread would reset the connection, and a reset can
/// destroy the answer before the client has read it.
async fn answer_and_linger(stream: TcpStream, response: &[u8]) -> std::io::Result<()> {
    let mut sent = 0;
    while sent < response.len() {
        stream.writable().await?;
        match stream.try_write(&response[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    let stream = {
        let stream = stream.into_std()?;
        stream.shutdown(std::net::Shutdown::Write)?;
        TcpStream::from_std(stream)?
    };
    let mut sink = [0u8; 1024];
    loop {
        stream.readable().await?;
        match stream.try_read(&mut sink) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}
