//! `keyseal serve`: the KMS over its OpenAPI (2016-01-20) on HTTP. Every request is
//! authenticated (ACS3-HMAC-SHA256 or HMAC-SHA1), authorized against the caller's
//! policies (deny by default), and dispatched to the embedded KMS acting as the caller's
//! principal, so the audit log says who did what. Bounded request size, a header timeout,
//! one log line per request without secrets, `GET /health`, and a graceful shutdown on
//! SIGTERM or Ctrl-C that lets requests in flight finish.

pub mod auth;
pub mod authorize;
pub mod dispatch;

use crate::kms::LocalKms;
use crate::kms::error::{ErrorBody, ErrorCode, KmsError};
use crate::kms::ids::new_uuid;
use auth::{Incoming as SignedRequest, authenticate};
use authorize::Check;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
    /// How long a client may take to send its headers, and then its body.
    pub header_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub drain_timeout: Duration,
    /// Serve HTTPS with this certificate chain and private key (PEM files).
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl ServeOptions {
    /// Defaults for `listen`: 64 KiB bodies, 10 s for headers, 30 s to drain.
    pub fn new(listen: SocketAddr) -> ServeOptions {
        ServeOptions {
            listen,
            max_body: 64 * 1024,
            header_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
            tls: None,
        }
    }
}

struct State {
    kms: LocalKms,
    max_body: usize,
    body_timeout: Duration,
}

/// Serves until SIGTERM or Ctrl-C; prints `listening on http://ADDR` once bound.
pub fn serve(kms: LocalKms, options: ServeOptions) -> Result<(), KmsError> {
    kms.unlock()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| KmsError::internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(run(kms, options))
}

/// A TLS acceptor for the certificate chain and key in PEM files.
fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<tokio_rustls::TlsAcceptor, KmsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |flag: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        KmsError::invalid(flag, format!("{}: {e}", path.display()))
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("--tls-cert", cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad("--tls-cert", cert, &e))?;
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("--tls-key", key, &e))?;
    let config =
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| KmsError::internal(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| bad("--tls-cert", cert, &e))?;
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}

async fn run(kms: LocalKms, options: ServeOptions) -> Result<(), KmsError> {
    let tls = match &options.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| KmsError::invalid("--listen", format!("cannot listen on {}: {e}", options.listen)))?;
    let bound = listener.local_addr().map_err(|e| KmsError::internal(e.to_string()))?;
    crate::outln!("keyseal serve: listening on {}://{bound}", if tls.is_some() { "https" } else { "http" });
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let state = Arc::new(State { kms, max_body: options.max_body, body_timeout: options.header_timeout });
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, remote)) = accepted else { continue };
                let state = state.clone();
                let http = http1::Builder::new().timer(TokioTimer::new()).header_read_timeout(options.header_timeout).clone();
                let service = service_fn(move |request| handle(state.clone(), remote, request));
                match &tls {
                    None => {
                        let watched = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                        tokio::spawn(async move {
                            let _ = watched.await;
                        });
                    }
                    Some(acceptor) => {
                        let (acceptor, handshake_timeout, watcher) = (acceptor.clone(), options.header_timeout, graceful.watcher());
                        tokio::spawn(async move {
                            // The handshake runs in its own task so a slow client holds up no one.
                            if let Ok(Ok(stream)) = tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                                let _ = watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await;
                            }
                        });
                    }
                }
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    crate::errln!("keyseal serve: shutting down; waiting for requests in flight");
    tokio::select! {
        _ = graceful.shutdown() => crate::errln!("keyseal serve: stopped"),
        _ = tokio::time::sleep(options.drain_timeout) => crate::errln!("keyseal serve: stopped with requests still open after {:?}", options.drain_timeout),
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn json_response(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = "application/json;charset=utf-8".parse() {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn error_response(err: &KmsError) -> (u16, String) {
    let body = ErrorBody::new(err, "keyseal");
    (err.code.http_status(), serde_json::to_string(&body).unwrap_or_default())
}

async fn handle(
    state: Arc<State>,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    if request.uri().path() == "/health" {
        return Ok(json_response(200, r#"{"Status":"ok"}"#.into()));
    }
    let query = request.uri().query().unwrap_or("").to_string();
    let headers: BTreeMap<String, String> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
        .collect();
    let path_ok = request.uri().path() == "/";
    // A body must arrive whole, within the limit and the time allowed (no slow drip).
    let collected =
        tokio::time::timeout(state.body_timeout, Limited::new(request.into_body(), state.max_body).collect()).await;
    let body = match collected {
        Ok(Ok(collected)) => collected.to_bytes(),
        _ => {
            let err =
                KmsError::invalid("body", format!("the request body is over {} bytes or was cut off", state.max_body));
            let (_, body) = error_response(&err);
            log_line(remote, &method, "-", "-", 413, Some(err.code), started);
            return Ok(json_response(413, body));
        }
    };
    if !path_ok {
        let err = KmsError::new(ErrorCode::ActionNotFound, "the KMS API is served at POST /");
        let (status, body) = error_response(&err);
        return Ok(json_response(status, body));
    }
    let worker =
        tokio::task::spawn_blocking(move || process(&state, &method, &query, &headers, &body, remote, started));
    let (status, body) =
        worker.await.unwrap_or_else(|_| error_response(&KmsError::internal("the request handler failed")));
    Ok(json_response(status, body))
}

/// Authenticates, authorizes and runs one API request; returns status and JSON body.
fn process(
    state: &State,
    method: &str,
    query: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
    remote: SocketAddr,
    started: Instant,
) -> (u16, String) {
    let incoming = SignedRequest { method, query, headers, body };
    let now = crate::clock::now_unix();
    let respond = |principal: &str, action: &str, mut err: KmsError| {
        err.request_id = Some(err.request_id.unwrap_or_else(|| new_uuid().unwrap_or_default()));
        let (status, body) = error_response(&err);
        log_line(remote, method, action, principal, status, Some(err.code), started);
        (status, body)
    };
    // A request that fails authentication is logged, not audited: strangers must not be
    // able to grow the audit chain or hold its lock.
    let authenticated = match authenticate(&state.kms, &incoming, now) {
        Ok(authenticated) => authenticated,
        Err(err) => return respond("anonymous", "Authenticate", err),
    };
    let kms = state.kms.with_principal(&format!("access:{}", authenticated.credential.name));
    let action = authenticated.action.as_str();
    let check = Check {
        access_key_id: authenticated.access_key_id.clone(),
        policies: authenticated.credential.policies.clone(),
        action: action.to_string(),
        params: authenticated.params.clone(),
    };
    if let Err(mut err) = check.run(&|alias: &str| state.kms.alias_target(alias)) {
        err.request_id = new_uuid().ok();
        let key = authenticated.params.get("KeyId").map(String::as_str);
        let _ = kms.audit_refusal(action, key, &err);
        return respond(kms.principal(), action, err);
    }
    // Decided again inside the operation's transaction, on the snapshot it acts on.
    let kms = kms.with_guard(check.into_guard());
    match dispatch::dispatch(&kms, action, &authenticated.params) {
        Ok(value) => {
            log_line(remote, method, action, kms.principal(), 200, None, started);
            (200, value.to_string())
        }
        Err(mut err) => {
            err.request_id = err.request_id.or_else(|| new_uuid().ok());
            let (status, body) = error_response(&err);
            log_line(remote, method, action, kms.principal(), status, Some(err.code), started);
            (status, body)
        }
    }
}

/// One line per request on stderr: never a parameter value, a key or a secret; what the
/// caller sent (the action) escaped, so a request cannot forge log lines.
fn log_line(
    remote: SocketAddr,
    method: &str,
    action: &str,
    principal: &str,
    status: u16,
    code: Option<ErrorCode>,
    started: Instant,
) {
    use crate::quote::escape_text;
    crate::errln!(
        "{} {remote} {} {} principal={} status={status}{} {}ms",
        crate::clock::format_unix(crate::clock::now_unix()),
        escape_text(method),
        escape_text(action),
        escape_text(principal),
        code.map(|c| format!(" code={c}")).unwrap_or_default(),
        started.elapsed().as_millis()
    );
}
