//! kill -9 under load: a `keyseal serve` killed while clients sign through it has, in its
//! audit log, an entry for every request it answered — a response leaves only after the
//! group commit holding its entry is durable — and the log's chain is intact. The store
//! then opens and serves again.

use crate::common::{Keyseal, Server, access_key};
use keyseal::crypto::spec::Algorithm;
use keyseal::kms::Kms;
use keyseal::kms::api::SignRequest;
use keyseal::kms::remote::RemoteKms;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

const ADMIN: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
/// Load clients, more than the cores, so commits overlap and batch.
const CLIENTS: usize = 6;
/// Answers to collect before the kill, so it lands in the middle of steady load.
const ANSWERED_BEFORE_KILL: usize = 300;

fn digest(worker: usize, i: usize) -> Vec<u8> {
    <sha2::Sha256 as sha2::Digest>::digest(format!("crash-{worker}-{i}").as_bytes()).to_vec()
}

/// Signs distinct digests until the server goes away; returns RequestId -> digest for
/// every request answered with a signature.
fn load(
    endpoint: &str,
    admin: &(String, String),
    key: &(String, String),
    worker: usize,
    answered: &AtomicUsize,
    stop: &AtomicBool,
) -> HashMap<String, Vec<u8>> {
    let kms = RemoteKms::new(endpoint, &admin.0, Zeroizing::new(admin.1.clone())).unwrap().without_retries();
    let mut signed = HashMap::new();
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let request = SignRequest {
            key_id: key.0.clone(),
            key_version_id: key.1.clone(),
            algorithm: Algorithm::EcdsaSha256,
            digest: digest(worker, i),
        };
        match kms.asymmetric_sign(&request) {
            Ok(response) => {
                signed.insert(response.request_id, request.digest);
                answered.fetch_add(1, Ordering::SeqCst);
            }
            // The server is gone: every later request fails the same way.
            Err(_) => break,
        }
    }
    signed
}

#[test]
fn kill_9_under_load_loses_no_answered_requests_audit_entry() {
    use base64::Engine;
    let host = Keyseal::new();
    let admin = access_key(&host, "crash", ADMIN);
    let key = host.create_key("EC_P256", "SIGN/VERIFY");
    let server = Server::start(&host);
    let endpoint = format!("http://{}", server.endpoint);
    let (answered, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let signed: HashMap<String, Vec<u8>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|worker| {
                let (endpoint, admin, key, answered, stop) = (&endpoint, &admin, &key, &answered, &stop);
                scope.spawn(move || load(endpoint, admin, key, worker, answered, stop))
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while answered.load(Ordering::SeqCst) < ANSWERED_BEFORE_KILL && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        stop.store(true, Ordering::SeqCst);
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert!(signed.len() >= ANSWERED_BEFORE_KILL, "only {} requests were answered before the kill", signed.len());

    let entries = host.ok(&["audit", "list", "--json"]);
    let audited: HashMap<&str, &serde_json::Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["Principal"] == "access:crash")
        .map(|e| (e["RequestId"].as_str().unwrap(), e))
        .collect();
    let missing: Vec<&String> = signed.keys().filter(|id| !audited.contains_key(id.as_str())).collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered requests have no audit entry, first {:?}",
        missing.len(),
        signed.len(),
        missing.first()
    );
    for (request_id, digest) in &signed {
        let entry = audited[request_id.as_str()];
        assert_eq!(entry["Action"], "AsymmetricSign");
        assert_eq!(entry["Result"], "Success", "{entry}");
        assert_eq!(entry["Digest"], base64::engine::general_purpose::STANDARD.encode(digest).as_str());
    }
    let report = host.ok(&["audit", "verify", "--json"]);
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");

    // The store opens and serves again.
    let server = Server::start(&host);
    let kms =
        RemoteKms::new(&format!("http://{}", server.endpoint), &admin.0, Zeroizing::new(admin.1.clone())).unwrap();
    let request = SignRequest {
        key_id: key.0.clone(),
        key_version_id: key.1.clone(),
        algorithm: Algorithm::EcdsaSha256,
        digest: digest(99, 0),
    };
    assert!(kms.asymmetric_sign(&request).is_ok());
    server.stop();
}
