//! The PostgreSQL store (`--store postgresql://…`) against a real PostgreSQL started by the
//! tests (`common::postgres`): what only it has — several replicas on one database, an
//! outage, TLS and passwords, migrating a SQLite store. The behaviour both stores share is
//! tested on both by the other modules (`common::postgres::both`).

use crate::common::openssl::{self, Openssl};
use crate::common::postgres::{self, cluster};
use crate::common::{Keyseal, Server, access_key, path, peer};
use keyseal::crypto::spec::Algorithm;
use keyseal::kms::Kms;
use keyseal::kms::api::{AliasRequest, KeyIdRequest, SignRequest};
use keyseal::kms::remote::RemoteKms;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Mutex;
use zeroize::Zeroizing;

#[test]
fn a_postgres_store_keeps_keys_signs_and_audits() {
    let ks = postgres::store();
    let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let message = ks.file("m.txt");
    std::fs::write(&message, b"release").unwrap();
    let (sig, pem) = (ks.file("m.sig"), ks.file("pub.pem"));
    ks.sign_file(&key_id, &version, "ECDSA_SHA_256", &message, &sig);
    ks.public_key(&key_id, &version, &pem);
    let (ok, text) =
        peer("openssl", &["dgst", "-sha256", "-verify", path(&pem), "-signature", path(&sig), path(&message)]);
    assert!(ok, "{text}");
    let verified = ks.ok_text(&["audit", "verify"]);
    assert!(verified.contains("audit log intact: 3 entries"), "{verified}");
    assert!(!std::fs::exists(ks.store()).unwrap(), "nothing was written to a store directory");
    let _ = cluster();
}

const ADMIN: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

/// A RemoteKms client of `server` with `key`, without retries (a failure is counted).
fn client(server: &Server, key: &(String, String)) -> RemoteKms {
    RemoteKms::new(&format!("http://{}", server.endpoint), &key.0, Zeroizing::new(key.1.clone()))
        .unwrap()
        .without_retries()
}

fn digest(worker: usize, i: usize) -> Vec<u8> {
    Sha256::digest(format!("replica load {worker} {i}")).to_vec()
}

#[test]
fn three_replicas_sign_through_a_crash_into_one_audit_chain() {
    let ks = postgres::store();
    let admin = access_key(&ks, "admin", ADMIN);
    let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let pem = ks.file("pub.pem");
    ks.public_key(&key_id, &version, &pem);
    let public_key = p256::ecdsa::VerifyingKey::from_public_key_pem(&std::fs::read_to_string(&pem).unwrap()).unwrap();
    let replicas: Vec<Mutex<Option<Server>>> = (0..3).map(|_| Mutex::new(Some(Server::start(&ks)))).collect();
    let endpoints: Vec<String> =
        replicas.iter().map(|r| r.lock().unwrap().as_ref().unwrap().endpoint.clone()).collect();
    const WORKERS: usize = 6;
    const REQUESTS: usize = 60;
    // Each worker signs through one replica; replica 1 is killed (SIGKILL) halfway.
    let answered: Vec<Vec<Vec<u8>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                let (endpoints, admin, key_id, version, public_key, replicas) =
                    (&endpoints, &admin, &key_id, &version, &public_key, &replicas);
                scope.spawn(move || {
                    let endpoint = &endpoints[worker % 3];
                    let kms = RemoteKms::new(&format!("http://{endpoint}"), &admin.0, Zeroizing::new(admin.1.clone()))
                        .unwrap()
                        .without_retries();
                    let mut answered = Vec::new();
                    for i in 0..REQUESTS {
                        if worker == 1 && i == REQUESTS / 2 {
                            replicas[1].lock().unwrap().take().unwrap().kill();
                        }
                        let request = SignRequest {
                            key_id: key_id.clone(),
                            key_version_id: version.clone(),
                            algorithm: Algorithm::EcdsaSha256,
                            digest: digest(worker, i),
                        };
                        if let Ok(signed) = kms.asymmetric_sign(&request) {
                            let signature = p256::ecdsa::Signature::from_der(&signed.value).unwrap();
                            public_key.verify_prehash(&request.digest, &signature).expect("every answer verifies");
                            answered.push(request.digest);
                        }
                    }
                    answered
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    // The replicas that were not killed answered everything; the killed one answered
    // about half; a restarted replica serves again.
    for (worker, answers) in answered.iter().enumerate() {
        if worker % 3 != 1 {
            assert_eq!(answers.len(), REQUESTS, "worker {worker} through a live replica lost requests");
        }
    }
    let restarted = Server::start(&ks);
    let kms = client(&restarted, &admin);
    let request = SignRequest {
        key_id: key_id.clone(),
        key_version_id: version.clone(),
        algorithm: Algorithm::EcdsaSha256,
        digest: digest(99, 0),
    };
    kms.asymmetric_sign(&request).unwrap();
    restarted.stop();
    for replica in &replicas {
        if let Some(server) = replica.lock().unwrap().take() {
            server.stop();
        }
    }

    // Every answered request has its audit entry, and the chain is one sequence, intact.
    assert_answers_audited_in_one_chain(&ks, answered.iter().flatten());
}

/// Every digest in `answered` has a successful AsymmetricSign entry, and the audit chain
/// verifies and is one sequence with no gap.
fn assert_answers_audited_in_one_chain<'a>(ks: &Keyseal, answered: impl IntoIterator<Item = &'a Vec<u8>>) {
    let report = ks.ok(&["audit", "verify", "--json"]);
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
    let entries = ks.ok(&["audit", "list", "--json", "--action", "AsymmetricSign"]);
    let audited: HashSet<String> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["Result"] == "Success")
        .map(|e| e["Digest"].as_str().unwrap().to_string())
        .collect();
    for digest in answered {
        assert!(audited.contains(&b64(digest)), "an answered request has no audit entry");
    }
    let seqs: Vec<u64> =
        ks.ok(&["audit", "list", "--json"]).as_array().unwrap().iter().map(|e| e["Seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "one sequence with no gap");
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn replicas_see_each_others_changes_at_once() {
    let ks = postgres::store();
    let admin = access_key(&ks, "admin", ADMIN);
    let (key_id, version) = ks.create_key("EC_P256K", "SIGN/VERIFY");
    let (one, two) = (Server::start(&ks), Server::start(&ks));
    let (first, second) = (client(&one, &admin), client(&two, &admin));
    let sign = |kms: &RemoteKms, key: &str| {
        kms.asymmetric_sign(&SignRequest {
            key_id: key.to_string(),
            key_version_id: version.clone(),
            algorithm: Algorithm::EcdsaSha256,
            digest: vec![7; 32],
        })
    };
    // A key disabled through one replica is refused by the other's next request.
    sign(&second, &key_id).unwrap();
    first.disable_key(&KeyIdRequest { key_id: key_id.clone() }).unwrap();
    assert_eq!(sign(&second, &key_id).unwrap_err().code.as_str(), "Rejected.Disabled");
    first.enable_key(&KeyIdRequest { key_id: key_id.clone() }).unwrap();

    // An alias repointed through one replica is followed by the other at once.
    let (other_key, _) = ks.create_key("EC_P256K", "SIGN/VERIFY");
    first.create_alias(&AliasRequest { alias_name: "alias/release".into(), key_id: key_id.clone() }).unwrap();
    assert_eq!(sign(&second, "alias/release").unwrap().key_id, key_id);
    first.update_alias(&AliasRequest { alias_name: "alias/release".into(), key_id: other_key.clone() }).unwrap();
    let described = second.describe_key(&KeyIdRequest { key_id: "alias/release".into() }).unwrap();
    assert_eq!(described.key_metadata.key_id, other_key);

    // Concurrent CreateKeyVersion through both replicas loses none.
    std::thread::scope(|scope| {
        for kms in [&first, &second] {
            let key_id = &key_id;
            scope.spawn(move || {
                for _ in 0..10 {
                    kms.create_key_version(&KeyIdRequest { key_id: key_id.clone() }).unwrap();
                }
            });
        }
    });
    let versions = ks.ok(&["kms", "list-key-versions", "--key-id", &key_id, "--page-size", "100"]);
    assert_eq!(versions["TotalCount"], 21);

    // A request replayed to another replica: `remote::a_replayed_request_is_refused_by_every_server_on_the_store`.
    one.stop();
    two.stop();
}

#[test]
fn concurrent_issuance_from_four_processes_never_repeats_a_serial() {
    let ks = postgres::store();
    let (root_key, root_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    ks.ca_init("root", &root_key, &root_version, "CN=Replica Root", "30", &ks.file("root.pem"));
    let (leaf_key, leaf_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let serials: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                let (ks, leaf_key, leaf_version) = (&ks, &leaf_key, &leaf_version);
                scope.spawn(move || {
                    (0..5)
                        .map(|i| {
                            let out = ks.file(&format!("leaf-{worker}-{i}.pem"));
                            let issued =
                                ks.ca_issue("root", "code-signing", leaf_key, leaf_version, "CN=Leaf", "5", &out);
                            issued["certificate"]["serial"].as_str().unwrap().to_string()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let unique: HashSet<&String> = serials.iter().collect();
    assert_eq!(unique.len(), serials.len(), "a serial was issued twice: {serials:?}");
    // The 20 leaves and the root's own certificate.
    assert_eq!(ks.ok(&["ca", "list", "--json"])["certificates"].as_array().unwrap().len(), 21);
}

#[test]
fn a_database_outage_is_a_clear_retryable_error_and_service_resumes() {
    let cluster = postgres::Cluster::new("postgres-outage");
    let ks = postgres::store_on(&cluster);
    let admin = access_key(&ks, "admin", ADMIN);
    let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let server = Server::start(&ks);
    let kms = client(&server, &admin);
    let sign = || {
        kms.asymmetric_sign(&SignRequest {
            key_id: key_id.clone(),
            key_version_id: version.clone(),
            algorithm: Algorithm::EcdsaSha256,
            digest: vec![5; 32],
        })
    };
    sign().unwrap();
    let before = ks.ok(&["audit", "verify", "--json"])["entries"].as_u64().unwrap();
    let ready = |server: &Server| {
        let output = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://{}/readyz", server.endpoint)])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(ready(&server), "200");
    cluster.stop();
    assert_eq!(ready(&server), "503", "not ready while its store is down");
    let refused = sign().unwrap_err();
    assert_eq!(refused.code.as_str(), "Keyseal.StoreUnavailable", "{refused:?}");
    assert!(!refused.message.contains(postgres::PASSWORD), "the password is never shown: {}", refused.message);
    let cli = ks.run(&["kms", "list-keys"]);
    assert_eq!(cli.code(), "Keyseal.StoreUnavailable", "{}", cli.stderr);
    cluster.start();
    // The same replica serves again without a restart, and nothing was half-written.
    sign().unwrap();
    assert_eq!(ready(&server), "200");
    let report = ks.ok(&["audit", "verify", "--json"]);
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
    assert_eq!(report["entries"].as_u64().unwrap(), before + 1, "the refused requests left no entry; the next did");
    server.stop();
}

#[test]
fn tls_to_the_database_is_checked_as_sslmode_says() {
    let scratch = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    // A CA and a server certificate for `localhost`, its only name; and a CA of another.
    let openssl = Openssl { dir: scratch.path().to_path_buf() };
    let (ca, cert, key) = openssl.tls_server("db", "localhost", "subjectAltName = DNS:localhost");
    let (other_ca, _, _) = openssl.tls_server("other", "localhost", "subjectAltName = DNS:localhost");
    let cluster = postgres::Cluster::with_tls("postgres-tls", &cert, &key);
    let db = cluster.database();
    let run = |host: &str, query: &str| {
        let url = cluster.url_without_password(host, &db, query);
        let ks = Keyseal {
            dir: tempfile::tempdir().unwrap(),
            env: vec![("KEYSEAL_STORE".into(), url), ("PGPASSWORD".into(), postgres::PASSWORD.into())],
        };
        ks.run(&["kms", "list-keys"])
    };
    // The CA that issued the server's certificate, for the name it holds: connected.
    let ca = format!("sslrootcert={}", path(&ca));
    assert_eq!(run("localhost", &format!("sslmode=verify-full&{ca}")).status, 0);
    // Another CA: refused by verify-full and verify-ca; require (unchecked, as libpq) connects.
    let other = format!("sslrootcert={}", path(&other_ca));
    for mode in ["verify-full", "verify-ca"] {
        let refused = run("localhost", &format!("sslmode={mode}&{other}"));
        assert_eq!(refused.code(), "Keyseal.StoreUnavailable", "{mode}: {}", refused.stderr);
        assert!(refused.stderr.contains("cannot connect to the PostgreSQL store"), "{}", refused.stderr);
    }
    assert_eq!(run("localhost", "sslmode=require").status, 0);
    // A name the certificate does not hold (the address, where it names only localhost):
    // verify-full refuses, verify-ca (the chain only) connects.
    let renamed = run("127.0.0.1", &format!("sslmode=verify-full&{ca}"));
    assert_eq!(renamed.code(), "Keyseal.StoreUnavailable", "{}", renamed.stderr);
    assert_eq!(run("127.0.0.1", &format!("sslmode=verify-ca&{ca}")).status, 0);
}

#[test]
fn the_password_comes_from_the_url_pgpassword_or_pgpass_and_is_never_shown() {
    let cluster = cluster();
    let db = cluster.database();
    let home = tempfile::tempdir().unwrap();
    let url = cluster.url_without_password("127.0.0.1", &db, "sslmode=disable");
    let with = |env: Vec<(&str, String)>| {
        let mut ks = Keyseal::new();
        ks.env.push(("KEYSEAL_STORE".into(), url.clone()));
        ks.env.push(("HOME".into(), path(home.path()).into()));
        ks.env.extend(env.into_iter().map(|(n, v)| (n.to_string(), v)));
        ks.run(&["kms", "list-keys"])
    };
    let refused = with(vec![]);
    assert_eq!(refused.code(), "Keyseal.StoreUnavailable", "{}", refused.stderr);
    assert_eq!(with(vec![("PGPASSWORD", postgres::PASSWORD.into())]).status, 0);
    let wrong = with(vec![("PGPASSWORD", "not-the-password".into())]);
    assert_eq!(wrong.code(), "Keyseal.StoreUnavailable");
    assert!(!wrong.stderr.contains("not-the-password"), "{}", wrong.stderr);
    // ~/.pgpass, only when only its owner can read it.
    use std::os::unix::fs::PermissionsExt;
    let pgpass = home.path().join(".pgpass");
    std::fs::write(&pgpass, format!("127.0.0.1:{}:*:{}:{}\n", cluster.port, postgres::USER, postgres::PASSWORD))
        .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = with(vec![]);
    assert_eq!(open.status, 2);
    assert!(open.stderr.contains("ignoring the password file"), "{}", open.stderr);
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(with(vec![]).status, 0);
    // In the URL: used, and shown as *** in every message.
    let mut ks = Keyseal::new();
    ks.env.push(("KEYSEAL_STORE".into(), cluster.url(&db).replace(&db, "no_such_database")));
    let failed = ks.run(&["kms", "list-keys"]);
    assert!(failed.stderr.contains(":***@") && !failed.stderr.contains(postgres::PASSWORD), "{}", failed.stderr);
}

#[test]
fn the_ca_releases_and_time_stamps_work_on_a_postgres_store() {
    let ks = postgres::store();
    let (root_key, root_version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let (signer, signer_version) = ks.create_key("RSA_2048", "SIGN/VERIFY");
    let (tsa, tsa_version) = ks.create_key("EC_P256K", "SIGN/VERIFY");
    let (root, leaf, tsa_cert) = (ks.file("root.pem"), ks.file("signer.pem"), ks.file("tsa.pem"));
    ks.ca_init("root", &root_key, &root_version, "CN=PostgreSQL Root", "30", &root);
    ks.ca_issue("root", "code-signing", &signer, &signer_version, "CN=Release Signer", "10", &leaf);
    ks.ca_issue("root", "timestamping", &tsa, &tsa_version, "CN=PostgreSQL TSA", "10", &tsa_cert);
    let release = ks.file("release");
    std::fs::create_dir(&release).unwrap();
    std::fs::write(release.join("app"), b"my program\n").unwrap();
    ks.ok_text(&[
        "sign",
        path(&release),
        "--key-id",
        &signer,
        "--key-version-id",
        &signer_version,
        "--cert",
        path(&leaf),
        "--out",
        path(&release),
    ]);
    ks.ok_text(&["verify", path(&release), "--trust", path(&root)]);
    openssl::time_stamp_checked(&ks, &release.join("SHA256SUMS"), (&tsa, &tsa_version), &tsa_cert, &root);
    // Revocation and the CRL, from the index in the database.
    let serial = ks.ok(&["ca", "list", "--json"])["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"].as_str().unwrap().contains("Release Signer"))
        .unwrap()["serial"]
        .as_str()
        .unwrap()
        .to_string();
    ks.ok_text(&["ca", "revoke", "--ca", "root", "--serial", &serial, "--reason", "key-compromise"]);
    let crl = ks.file("root.crl");
    ks.ok_text(&["ca", "crl", "--ca", "root", "--out", path(&crl)]);
    let (ok, text) = peer("openssl", &["crl", "-in", path(&crl), "-noout", "-text"]);
    assert!(ok && text.contains(&serial), "{text}");
    assert_eq!(ks.ok(&["audit", "verify", "--json"])["problems"].as_array().unwrap().len(), 0);
}

#[test]
fn requests_in_flight_when_the_database_stops_leave_the_chain_whole() {
    let cluster = postgres::Cluster::new("postgres-outage-load");
    let ks = postgres::store_on(&cluster);
    let admin = access_key(&ks, "admin", ADMIN);
    let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    let server = Server::start(&ks);
    let running = std::sync::atomic::AtomicBool::new(true);
    let answered: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..3)
            .map(|worker| {
                let (server, admin, key_id, version, running) = (&server, &admin, &key_id, &version, &running);
                scope.spawn(move || {
                    let kms = client(server, admin);
                    let mut answered = Vec::new();
                    let mut i = 0;
                    while running.load(std::sync::atomic::Ordering::Relaxed) {
                        let request = SignRequest {
                            key_id: key_id.clone(),
                            key_version_id: version.clone(),
                            algorithm: Algorithm::EcdsaSha256,
                            digest: digest(worker, i),
                        };
                        if kms.asymmetric_sign(&request).is_ok() {
                            answered.push(request.digest);
                        }
                        i += 1;
                    }
                    answered
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(400));
        cluster.stop();
        std::thread::sleep(std::time::Duration::from_millis(300));
        cluster.start();
        std::thread::sleep(std::time::Duration::from_millis(400));
        running.store(false, std::sync::atomic::Ordering::Relaxed);
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    server.stop();
    // Every answer given, before, during or after the outage, has its entry; the chain
    // verifies and has no gap.
    assert!(answered.len() > 10, "the load ran: {} answers", answered.len());
    assert_answers_audited_in_one_chain(&ks, &answered);
}
