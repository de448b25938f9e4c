//! `keyseal serve`: the KMS over its OpenAPI (2016-01-20) on HTTP. Every request is
//! authenticated (ACS3-HMAC-SHA256 or HMAC-SHA1), authorized against the caller's
//! policies (deny by default), and dispatched to the embedded KMS acting as the caller's
//! principal, so the audit log says who did what. Bounded request size, a header timeout,
//! one log line per request without secrets, `GET /health`, and a graceful shutdown on
//! SIGTERM or Ctrl-C that lets requests in flight finish.
//!
//! Against a flood of connections: the open-file limit is raised as far as allowed, the
//! connections held are capped below it (`connections`: at the cap the idle connection
//! unused the longest makes way, a request in progress never does, and when all are busy
//! a newcomer gets 503 at once), a failing `accept()` backs off instead of spinning
//! (`accept`), and a keep-alive connection closes after a number of requests.

mod accept;
pub mod access;
pub mod auth;
pub mod authorize;
mod body;
mod connections;
pub mod dispatch;
pub mod limits;
mod metrics;
pub mod policy;
mod refuse;
mod request_body;
mod tsa;

use crate::kms::error::{ErrorBody, ErrorCode, KmsError};
use crate::kms::ids::new_uuid;
use crate::kms::{Action, LocalKms};
use accept::{AcceptFailure, Backoff, MAX_BACKOFF};
use auth::{Incoming as SignedRequest, authenticate};
use authorize::Check;
use connections::{Admission, Connections, Held, Slot};
use dispatch::Body;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use zeroize::Zeroizing;

/// Requests one keep-alive connection may make before the server closes it, so that one
/// client cannot hold a connection (and its share of the cap) forever.
pub const DEFAULT_MAX_REQUESTS_PER_CONNECTION: u64 = 1000;

/// Completed connections the kernel holds for the server while it is busy (it caps this
/// at net.core.somaxconn). The usual 128 is overrun by one burst, and a client whose
/// handshake is dropped waits a second or more for its SYN to be retransmitted.
const LISTEN_BACKLOG: u32 = 1024;

/// How long a newcomer at the cap waits for the idle connection told to make way to close
/// (microseconds, normally; longer only if a request arrived on it just then).
const EVICTION_WAIT: Duration = Duration::from_millis(250);

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
    /// The most connections held at once; `None`: from the open-file limit
    /// ([`limits::default_max_connections`]).
    pub max_connections: Option<usize>,
    /// Requests one keep-alive connection may make before it is closed.
    pub max_requests_per_connection: u64,
    /// Also answer RFC 3161 time-stamp requests at `POST /tsa`, as this TSA.
    pub tsa: Option<crate::tsa::reply::TsaConfig>,
    /// Sign audit checkpoints periodically.
    pub checkpoints: Option<CheckpointSchedule>,
}

/// When and how `serve` signs audit checkpoints (`--checkpoint-every`).
#[derive(Debug, Clone)]
pub struct CheckpointSchedule {
    /// How often (the first at start-up).
    pub every: Duration,
    /// The signing key.
    pub key_id: String,
    /// Its version.
    pub key_version_id: String,
    /// Where each checkpoint is written.
    pub dir: std::path::PathBuf,
}

impl ServeOptions {
    /// Defaults for `listen`: 64 KiB bodies, 10 s for headers, 30 s to drain, connections
    /// capped by the open-file limit, 1000 requests per connection.
    pub fn new(listen: SocketAddr) -> ServeOptions {
        ServeOptions {
            listen,
            max_body: 64 * 1024,
            header_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
            tls: None,
            checkpoints: None,
            max_connections: None,
            max_requests_per_connection: DEFAULT_MAX_REQUESTS_PER_CONNECTION,
            tsa: None,
        }
    }
}

struct State {
    kms: LocalKms,
    tsa: Option<crate::tsa::reply::Tsa>,
    max_body: usize,
    body_timeout: Duration,
    max_requests_per_connection: u64,
}

/// One HTTP answer: status, media type and body.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Body,
}

impl Answer {
    /// A KMS API answer (JSON).
    fn json((status, body): (u16, Body)) -> Answer {
        Answer { status, content_type: "application/json;charset=utf-8", body }
    }
}

/// Serves until SIGTERM or Ctrl-C; prints `listening on http://ADDR` once bound.
pub fn serve(kms: LocalKms, mut options: ServeOptions) -> Result<(), KmsError> {
    kms.unlock()?;
    // A token that is not there yet does not stop the server: its HSM keys answer
    // `Keyseal.HsmUnavailable` and `/readyz` says not ready until it is back.
    match kms.configured_token() {
        Ok(Some(name)) => crate::errln!("PKCS#11 token {}: logged in", crate::quote::escape_text(&name)),
        Ok(None) => {}
        Err(err) => crate::errln!("warning: {}", crate::quote::escape_text(&err.to_string())),
    }
    // The TSA's key and certificate are checked before anything listens.
    let tsa = match options.tsa.take() {
        Some(config) => Some(crate::tsa::reply::Tsa::open(&kms, config, crate::clock::now_unix()).map_err(tsa_error)?),
        None => None,
    };
    // The checkpoint key is checked before anything listens, as the TSA's is.
    let checkpoints = match options.checkpoints.take() {
        Some(schedule) => {
            let key = crate::kms::SigningKey::resolve(&kms, &schedule.key_id, &schedule.key_version_id, None)?;
            std::fs::create_dir_all(&schedule.dir).map_err(|e| {
                KmsError::invalid("--checkpoint-dir", format!("cannot create {}: {e}", schedule.dir.display()))
            })?;
            Some((schedule, key))
        }
        None => None,
    };
    let max_connections = connection_cap(&options);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| KmsError::internal(format!("cannot start the async runtime: {e}")))?;
    // The store outlives the runtime's threads: a PostgreSQL store's connections block on
    // their own runtime when they close, which they may not do on one of tokio's threads.
    let store_holder = kms.clone();
    if let Some((schedule, key)) = checkpoints {
        let kms = kms.clone();
        runtime.spawn(checkpoint_loop(kms, schedule, key));
    }
    let served = runtime.block_on(run(kms, tsa, options, max_connections));
    drop(runtime);
    drop(store_holder);
    served
}

/// Signs a checkpoint now and then every `schedule.every`, each into a file of its own;
/// a failure (the store or the key unavailable) is logged and the next tick tries again.
async fn checkpoint_loop(kms: LocalKms, schedule: CheckpointSchedule, key: crate::kms::SigningKey) {
    let mut ticks = tokio::time::interval(schedule.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (kms, key, dir) = (kms.clone(), key.clone(), schedule.dir.clone());
        let written = tokio::task::spawn_blocking(move || -> Result<std::path::PathBuf, KmsError> {
            let now = crate::clock::now_unix();
            let (checkpoint, note) = crate::kms::checkpoint::checkpoint(kms.store(), &kms, &key, now)?;
            let stamp = crate::clock::format_unix(now).replace([':', '-'], "");
            let path = dir.join(format!("audit-{stamp}-{}.checkpoint", checkpoint.size));
            crate::safe_write::write_file(&path, note.as_bytes(), false)
                .map_err(|e| KmsError::internal(format!("cannot write {}: {e}", path.display())))?;
            Ok(path)
        })
        .await
        .unwrap_or_else(|_| Err(KmsError::internal("the checkpoint task failed")));
        match written {
            Ok(path) => crate::errln!("audit checkpoint written to {}", crate::quote::quote_path(&path)),
            Err(err) => crate::errln!("audit checkpoint failed: {}", crate::quote::escape_text(&err.to_string())),
        }
    }
}

/// A TSA that cannot start, as the KMS error `serve` returns (its code kept in the message).
fn tsa_error(err: crate::tsa::TsaError) -> KmsError {
    KmsError::invalid("--tsa-cert", format!("the TSA cannot start [{}]: {}", err.code, err.message))
}

/// Raises the open-file limit, settles the connection cap, and says both on stderr.
fn connection_cap(options: &ServeOptions) -> usize {
    let open_files = limits::raise_open_files();
    let cap = options.max_connections.unwrap_or_else(|| limits::default_max_connections(open_files.now));
    crate::errln!("keyseal serve: {open_files}; {cap} connections at most");
    if let (false, Some(limit)) = (limits::fits(cap, open_files.now), open_files.now) {
        crate::errln!(
            "keyseal serve: warning: --max-connections {cap} leaves fewer than {} of the {limit} open files \
             allowed for the store and the runtime; when they run out, accept() fails and new connections wait",
            limits::reserve(limit)
        );
    }
    cap
}

/// Binds `address` with a listen backlog of [`LISTEN_BACKLOG`].
fn listen(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    // As std's bind does on unix, so a restarted server can bind again at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
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
    let provider = crate::tls::provider().map_err(|e| KmsError::invalid("--tls-cert", e))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| KmsError::internal(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| bad("--tls-cert", cert, &e))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn run(
    kms: LocalKms,
    tsa: Option<crate::tsa::reply::Tsa>,
    options: ServeOptions,
    max_connections: usize,
) -> Result<(), KmsError> {
    let tls = match &options.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let listener = listen(options.listen)
        .map_err(|e| KmsError::invalid("--listen", format!("cannot listen on {}: {e}", options.listen)))?;
    let bound = listener.local_addr().map_err(|e| KmsError::internal(e.to_string()))?;
    crate::outln!("keyseal serve: listening on {}://{bound}", if tls.is_some() { "https" } else { "http" });
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // On stderr: stdout's one line is the listening address scripts read, and a reader
    // that stops after it must not make a second line fail.
    if tsa.is_some() {
        crate::errln!(
            "keyseal serve: time-stamp authority at {}://{bound}{}",
            if tls.is_some() { "https" } else { "http" },
            tsa::PATH
        );
    }
    let state = Arc::new(State {
        kms,
        tsa,
        max_body: options.max_body,
        body_timeout: options.header_timeout,
        max_requests_per_connection: options.max_requests_per_connection,
    });
    let connections = Connections::new(max_connections);
    let refusals = refuse::Refusals::default();
    let mut backoff = Backoff::default();
    // Whether the last connection needed an idle one closed: logged once per spell.
    let mut at_cap = false;
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stop => break,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => {
                if let Some(failures) = backoff.succeeded() {
                    crate::errln!("keyseal serve: accepting connections again after {failures} failed attempts");
                }
                accepted
            }
            Err(err) => {
                if accept::classify(&err) == AcceptFailure::Resources {
                    let pause = backoff.failed();
                    if backoff.first_of_burst() {
                        crate::errln!(
                            "keyseal serve: cannot accept a connection: {err}; retrying with pauses of up to \
                             {MAX_BACKOFF:?} ({} connections held; raise the open-file limit or lower --max-connections)",
                            connections.held()
                        );
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = &mut stop => break,
                    }
                }
                continue;
            }
        };
        let held = match connections.admit(EVICTION_WAIT).await {
            Admission::Room(held) => {
                at_cap = false;
                held
            }
            Admission::MadeRoom(held) => {
                if !std::mem::replace(&mut at_cap, true) {
                    crate::errln!(
                        "keyseal serve: holding the most connections ({}); closing idle ones to make room",
                        connections.capacity()
                    );
                }
                held
            }
            Admission::Full => {
                log_line(remote, "-", "-", "anonymous", 503, Some(refuse::SERVER_BUSY), Instant::now());
                refuse::refuse(stream, tls.is_some(), connections.capacity(), &refusals);
                continue;
            }
        };
        spawn_connection(stream, remote, held, &state, &connections, tls.as_ref(), options.header_timeout);
    }
    drop(listener);
    crate::errln!("keyseal serve: shutting down; waiting for requests in flight");
    connections.drain();
    tokio::select! {
        _ = connections.all_closed() => crate::errln!("keyseal serve: stopped"),
        _ = tokio::time::sleep(options.drain_timeout) => crate::errln!("keyseal serve: stopped with requests still open after {:?}", options.drain_timeout),
    }
    Ok(())
}

/// Serves one connection in a task of its own, holding its slot until it ends.
fn spawn_connection(
    stream: TcpStream,
    remote: SocketAddr,
    held: Held,
    state: &Arc<State>,
    connections: &Arc<Connections>,
    tls: Option<&tokio_rustls::TlsAcceptor>,
    header_timeout: Duration,
) {
    let http = http1::Builder::new().timer(TokioTimer::new()).header_read_timeout(header_timeout).clone();
    let (state, connections, tls) = (state.clone(), connections.clone(), tls.cloned());
    tokio::spawn(async move {
        let slot = held.slot().clone();
        let service = service_fn(move |request| handle(state.clone(), slot.clone(), remote, request));
        match tls {
            None => drive(http.serve_connection(TokioIo::new(stream), service), &held, &connections).await,
            Some(acceptor) => {
                // The handshake runs in the connection's task so a slow client holds up no
                // one; until it is done the connection is idle, and may be told to make way.
                let handshake = tokio::time::timeout(header_timeout, acceptor.accept(stream));
                let stream = tokio::select! {
                    done = handshake => match done {
                        Ok(Ok(stream)) => stream,
                        _ => return,
                    },
                    _ = held.slot().told_to_close() => return,
                };
                drive(http.serve_connection(TokioIo::new(stream), service), &held, &connections).await
            }
        }
    });
}

/// Runs `connection` until it ends or the server tells it to close. Told to make room
/// while idle, it is dropped at once (a client still sending headers gets no more time);
/// with a request in progress, or when the server is shutting down, hyper finishes the
/// request in hand and then closes.
async fn drive<I, S>(connection: http1::Connection<I, S>, held: &Held, connections: &Connections)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = Full<Bytes>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = held.slot().told_to_close() => {}
    }
    if connections.draining() || held.slot().in_progress() {
        connection.as_mut().graceful_shutdown();
        let _ = connection.await;
    }
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

/// Answers one request on a connection; the connection counts as busy until the answer
/// has left, and is closed after it once it has made its most requests.
async fn handle(
    state: Arc<State>,
    slot: Arc<Slot>,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let in_progress = slot.begin();
    let last = slot.requests() >= state.max_requests_per_connection;
    let answer = if request.uri().path() == tsa::PATH {
        tsa::answer(state, remote, request).await
    } else if request.uri().path() == READY_PATH {
        Answer::json(readiness(state).await)
    } else if request.uri().path() == metrics::PATH {
        Answer {
            status: 200,
            content_type: metrics::CONTENT_TYPE,
            body: Zeroizing::new(metrics::encode().into_bytes()),
        }
    } else {
        Answer::json(answer(state, remote, request).await)
    };
    let mut response = Response::new(body::answer(answer.body, Some(in_progress)));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(answer.content_type));
    if answer.status == 405 {
        headers.insert(hyper::header::ALLOW, hyper::header::HeaderValue::from_static("POST"));
    }
    if last {
        headers.insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    }
    Ok(response)
}

fn error_response(err: &KmsError) -> (u16, Body) {
    let body = ErrorBody::new(err, "keyseal");
    (err.code.http_status(), Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default()))
}

/// `GET /health` and `/healthz`: the process is up and answering. No access key.
const HEALTH_PATHS: [&str; 2] = ["/health", "/healthz"];
/// `GET /readyz`: 200 when the store reads, is unlocked and its PKCS#11 token (if any) is
/// logged in, else 503 with the error code, for a load balancer. No access key; the code
/// only, the details going to the server's log.
const READY_PATH: &str = "/readyz";

/// The answer of `/readyz`.
async fn readiness(state: Arc<State>) -> (u16, Body) {
    let ready = tokio::task::spawn_blocking(move || state.kms.ready())
        .await
        .unwrap_or_else(|_| Err(KmsError::internal("the readiness check failed")));
    match ready {
        Ok(()) => (200, Zeroizing::new(br#"{"Status":"ready"}"#.to_vec())),
        Err(err) => {
            crate::errln!("not ready: {}", crate::quote::escape_text(&err.to_string()));
            let body = format!(r#"{{"Status":"not ready","Code":"{}"}}"#, err.code.as_str());
            (503, Zeroizing::new(body.into_bytes()))
        }
    }
}

/// The status and JSON body for one request.
async fn answer(state: Arc<State>, remote: SocketAddr, request: Request<Incoming>) -> (u16, Body) {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    if HEALTH_PATHS.contains(&request.uri().path()) {
        return (200, Zeroizing::new(br#"{"Status":"ok"}"#.to_vec()));
    }
    let query = request.uri().query().unwrap_or("").to_string();
    let headers: BTreeMap<String, String> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
        .collect();
    let path_ok = request.uri().path() == "/";
    // A body must arrive whole, within the limit and the time allowed (no slow drip).
    let body = match request_body::read(request.into_body(), state.max_body, state.body_timeout).await {
        Ok(body) => body,
        Err(refused) => {
            let err = KmsError::invalid("body", refused.message("the request body"));
            let (_, body) = error_response(&err);
            log_line(remote, &method, "-", "-", refused.status(), Some(err.code.as_str()), started);
            return (refused.status(), body);
        }
    };
    if !path_ok {
        let err = KmsError::new(ErrorCode::ActionNotFound, "the KMS API is served at POST /");
        return error_response(&err);
    }
    let worker =
        tokio::task::spawn_blocking(move || process(&state, &method, &query, &headers, &body, remote, started));
    worker.await.unwrap_or_else(|_| error_response(&KmsError::internal("the request handler failed")))
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
) -> (u16, Body) {
    let incoming = SignedRequest { method, query, headers, body };
    let now = crate::clock::now_unix();
    let respond = |principal: &str, action: &str, mut err: KmsError| {
        err.request_id = Some(err.request_id.unwrap_or_else(|| new_uuid().unwrap_or_default()));
        let (status, body) = error_response(&err);
        log_line(remote, method, action, principal, status, Some(err.code.as_str()), started);
        (status, body)
    };
    // A request that fails authentication is logged, not audited: strangers must not be
    // able to grow the audit chain or hold its lock.
    let authenticated = match authenticate(&state.kms, &incoming, now) {
        Ok(authenticated) => authenticated,
        Err(err) => return respond("anonymous", "Authenticate", err),
    };
    let kms = state.kms.with_principal(&format!("access:{}", authenticated.credential.name));
    // An action keyseal does not have is refused before the policy question: there is
    // nothing to authorize, and nothing the audit log has to explain.
    let Some(api_action) = Action::from_name(&authenticated.action) else {
        let err = KmsError::new(
            ErrorCode::ActionNotFound,
            format!("there is no action {:?}; this server answers: {}", authenticated.action, Action::names()),
        );
        return respond(kms.principal(), &authenticated.action, err);
    };
    let action = api_action.name();
    let check = Check {
        access_key_id: authenticated.access_key_id.clone(),
        policies: authenticated.credential.policies.clone(),
        action: api_action,
        params: authenticated.params.clone(),
    };
    if let Err(mut err) = check.run(&|alias: &str| state.kms.alias_target(alias)) {
        err.request_id = new_uuid().ok();
        let key = authenticated.params.get("KeyId").map(String::as_str);
        let err = kms.refuse_audited(action, key, err);
        if err.code == ErrorCode::StoreUnavailable {
            crate::errln!(
                "keyseal serve: AUDIT WRITE FAILED: a refused {} request by {} has no audit entry: {}",
                crate::quote::escape_text(action),
                crate::quote::escape_text(kms.principal()),
                crate::quote::escape_text(&err.message)
            );
        }
        return respond(kms.principal(), action, err);
    }
    // Decided again inside the operation's transaction, on the snapshot it acts on.
    let kms = kms.with_guard(check.into_guard());
    match dispatch::dispatch(&kms, api_action, &authenticated.params) {
        Ok(body) => {
            log_line(remote, method, action, kms.principal(), 200, None, started);
            (200, body)
        }
        Err(mut err) => {
            err.request_id = err.request_id.or_else(|| new_uuid().ok());
            let (status, body) = error_response(&err);
            log_line(remote, method, action, kms.principal(), status, Some(err.code.as_str()), started);
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
    code: Option<&str>,
    started: Instant,
) {
    use crate::quote::escape_text;
    metrics::record(action, code, started.elapsed());
    crate::errln!(
        "{} {remote} {} {} principal={} status={status}{} {}ms",
        crate::clock::format_unix(crate::clock::now_unix()),
        escape_text(method),
        escape_text(action),
        escape_text(principal),
        code.map(|c| format!(" code={}", escape_text(c))).unwrap_or_default(),
        started.elapsed().as_millis()
    );
}
