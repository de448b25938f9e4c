//! `keyseal` against a `keyseal serve` through RemoteKms: the kms commands, `sign` and
//! `ca` work with `--endpoint` and an access key, and the results verify offline; a CI
//! principal limited to signing with one alias can sign a release and nothing else; and a
//! bounded load test, sent without retries, loses no request and no audit entry and gets
//! only signatures that verify.

use crate::common::openssl::Openssl;
use crate::common::path;

use crate::common::{Keyseal, Run, Server, access_key, peer};
use keyseal::crypto::spec::Algorithm;
use keyseal::kms::Kms;
use keyseal::kms::api::SignRequest;
use keyseal::kms::remote::RemoteKms;
use std::path::Path;
use zeroize::Zeroizing;

const ADMIN: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
const CI_SIGNER: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:AsymmetricSign","kms:GetPublicKey","kms:DescribeKey"],"Resource":"acs:kms:*:*:alias/release"}]}"#;

/// Runs keyseal on `client`'s store against `server` with an access key.
fn remote(client: &Keyseal, server: &Server, key: &(String, String), args: &[&str]) -> Run {
    client
        .command()
        .env("KEYSEAL_ENDPOINT", format!("http://{}", server.endpoint))
        .env("KEYSEAL_ACCESS_KEY_ID", &key.0)
        .env("KEYSEAL_ACCESS_KEY_SECRET", &key.1)
        .env_remove("KEYSEAL_PASSPHRASE")
        .args(args)
        .output()
        .unwrap()
        .into()
}

fn ok(run: Run) -> Run {
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    run
}

#[test]
fn kms_sign_and_ca_through_the_server() {
    for host in crate::common::postgres::both() {
        let admin = access_key(&host, "admin", ADMIN);
        let ci = access_key(&host, "ci", CI_SIGNER);
        let server = Server::start(&host);
        let client = Keyseal::new();

        // kms commands over the wire; errors keep their API codes.
        let created = ok(remote(
            &client,
            &server,
            &admin,
            &["kms", "create-key", "--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"],
        ))
        .json();
        let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
        let version = created["KeyMetadata"]["PrimaryKeyVersion"].as_str().unwrap().to_string();
        ok(remote(
            &client,
            &server,
            &admin,
            &["kms", "create-alias", "--alias-name", "alias/release", "--key-id", &key_id],
        ));
        let missing = remote(&client, &server, &admin, &["kms", "describe-key", "--key-id", "nope"]);
        assert_eq!(missing.code(), "Forbidden.KeyNotFound");
        assert!(
            !client.store().join("keyseal.db").exists() || client.run(&["kms", "list-keys"]).json()["TotalCount"] == 0,
            "no key lives on the client"
        );

        // A release signed through the server by the sign-only CI principal verifies offline.
        let release = client.file("release");
        std::fs::create_dir(&release).unwrap();
        std::fs::write(release.join("app.tar.gz"), vec![1u8; 4096]).unwrap();
        ok(remote(
            &client,
            &server,
            &ci,
            &[
                "sign",
                path(&release),
                "--key-id",
                "alias/release",
                "--key-version-id",
                &version,
                "--out",
                path(&release),
            ],
        ));
        let public = client.file("release.pub.pem");
        ok(remote(
            &client,
            &server,
            &admin,
            &["kms", "get-public-key", "--key-id", &key_id, "--key-version-id", &version, "--out", path(&public)],
        ));
        ok(client.run(&[
            "verify",
            path(&release),
            "--bundle",
            path(&release.join("keyseal.bundle.json")),
            "--public-key",
            path(&public),
        ]));
        let (verified, text) = peer(
            "openssl",
            &[
                "dgst",
                "-sha256",
                "-verify",
                path(&public),
                "-signature",
                path(&release.join("SHA256SUMS.sig")),
                path(&release.join("SHA256SUMS")),
            ],
        );
        assert!(verified, "{text}");
        // ... and may do nothing else.
        let denied = remote(
            &client,
            &server,
            &ci,
            &["kms", "create-key", "--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"],
        );
        assert_eq!(denied.code(), "Forbidden.NoPermission");
        let by_id = remote(
            &client,
            &server,
            &ci,
            &["sign", path(&release), "--key-id", &key_id, "--key-version-id", &version, "--out", path(&release)],
        );
        assert!(by_id.stderr.contains("Forbidden.NoPermission"), "{}", by_id.stderr);

        // A CA whose keys live on the server, its index on the client.
        let (root_key, inter_key) = (
            ok(remote(
                &client,
                &server,
                &admin,
                &["kms", "create-key", "--key-spec", "RSA_2048", "--key-usage", "SIGN/VERIFY"],
            ))
            .json(),
            ok(remote(
                &client,
                &server,
                &admin,
                &["kms", "create-key", "--key-spec", "EC_P256K", "--key-usage", "SIGN/VERIFY"],
            ))
            .json(),
        );
        let id = |v: &serde_json::Value, f: &str| v["KeyMetadata"][f].as_str().unwrap().to_string();
        let (root, leaf) = (client.file("root.pem"), client.file("leaf.pem"));
        ok(remote(
            &client,
            &server,
            &admin,
            &[
                "ca",
                "init",
                "--name",
                "root",
                "--key-id",
                &id(&root_key, "KeyId"),
                "--key-version-id",
                &id(&root_key, "PrimaryKeyVersion"),
                "--algorithm",
                "RSA_PSS_SHA_256",
                "--subject",
                "CN=Remote Root",
                "--days",
                "30",
                "--out",
                path(&root),
            ],
        ));
        ok(remote(
            &client,
            &server,
            &admin,
            &[
                "ca",
                "issue",
                "--ca",
                "root",
                "--profile",
                "code-signing",
                "--key-id",
                &id(&inter_key, "KeyId"),
                "--key-version-id",
                &id(&inter_key, "PrimaryKeyVersion"),
                "--subject",
                "CN=Remote Signer",
                "--days",
                "10",
                "--out",
                path(&leaf),
            ],
        ));
        let (verified, text) = peer("openssl", &["verify", "-CAfile", path(&root), path(&leaf)]);
        assert!(verified, "{text}");
        ok(client.run(&["cert", "verify", path(&leaf), "--trust", path(&root), "--purpose", "code-signing"]));

        let log = server.stop();
        assert!(!log.contains(&admin.1) && !log.contains(&ci.1), "no secret in the server log");
        let audit = host.ok(&["audit", "list", "--json", "--action", "AsymmetricSign"]);
        assert!(audit.as_array().unwrap().iter().any(|e| e["Principal"] == "access:ci" && e["Result"] == "Success"));
        assert_eq!(host.run(&["audit", "verify"]).status, 0);
    }
}

/// What one load client saw: requests that failed, and signatures that came back but do
/// not verify with the key version's public key.
#[derive(Default)]
struct LoadOutcome {
    failed: Vec<String>,
    wrong_signatures: Vec<String>,
}

/// The digest load client `worker` signs in its request `i`: distinct for every request,
/// so the audit log shows which ones arrived.
fn load_digest(worker: usize, i: usize) -> Vec<u8> {
    <sha2::Sha256 as sha2::Digest>::digest(format!("{worker}-{i}").as_bytes()).to_vec()
}

/// A bounded load: every request is sent once (retries off, so a request dropped on the
/// way is a failure here rather than a silent second attempt), every signature that comes
/// back is verified against the public key with k256 itself, and the server's audit log
/// holds exactly one successful AsymmetricSign entry per request sent, for exactly the
/// digests sent, and nothing else from this principal.
#[test]
fn bounded_load_loses_nothing() {
    use base64::Engine;
    use k256::ecdsa::signature::hazmat::PrehashVerifier;
    use k256::pkcs8::DecodePublicKey;
    let host = Keyseal::new();
    let admin = access_key(&host, "load", ADMIN);
    let (key_id, version) = host.create_key("EC_P256K", "SIGN/VERIFY");
    let public_pem = host.ok(&["kms", "get-public-key", "--key-id", &key_id, "--key-version-id", &version]);
    let public_key = k256::ecdsa::VerifyingKey::from_public_key_pem(public_pem["PublicKey"].as_str().unwrap()).unwrap();
    let server = Server::start(&host);
    const CLIENTS: usize = 6;
    const REQUESTS: usize = 400;
    let endpoint = format!("http://{}", server.endpoint);
    let outcomes: Vec<LoadOutcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|worker| {
                let (endpoint, admin, key_id, version, public_key) =
                    (&endpoint, &admin, &key_id, &version, &public_key);
                scope.spawn(move || {
                    let kms =
                        RemoteKms::new(endpoint, &admin.0, Zeroizing::new(admin.1.clone())).unwrap().without_retries();
                    let mut outcome = LoadOutcome::default();
                    for i in 0..REQUESTS {
                        let request = SignRequest {
                            key_id: key_id.clone(),
                            key_version_id: version.clone(),
                            algorithm: Algorithm::EcdsaSha256,
                            digest: load_digest(worker, i),
                        };
                        match kms.asymmetric_sign(&request) {
                            Err(e) => outcome.failed.push(format!("{worker}-{i}: {} {}", e.code.as_str(), e.message)),
                            Ok(signed) => {
                                let verifies = k256::ecdsa::Signature::from_der(&signed.value)
                                    .is_ok_and(|sig| public_key.verify_prehash(&request.digest, &sig).is_ok());
                                if !verifies || signed.key_version_id != *version {
                                    outcome.wrong_signatures.push(format!("{worker}-{i}"));
                                }
                            }
                        }
                    }
                    outcome
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    server.stop();
    let failed: Vec<&String> = outcomes.iter().flat_map(|o| &o.failed).collect();
    let wrong: Vec<&String> = outcomes.iter().flat_map(|o| &o.wrong_signatures).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed, first {:?}",
        failed.len(),
        CLIENTS * REQUESTS,
        failed.first()
    );
    assert!(wrong.is_empty(), "{} signatures do not verify, first {:?}", wrong.len(), wrong.first());

    // Server side: the audit log of the host's store, one entry per request sent.
    let entries = host.ok(&["audit", "list", "--json"]);
    let by_load: Vec<&serde_json::Value> =
        entries.as_array().unwrap().iter().filter(|e| e["Principal"] == "access:load").collect();
    assert_eq!(by_load.len(), CLIENTS * REQUESTS, "exactly one audit entry per request sent, nothing else");
    assert!(
        by_load
            .iter()
            .all(|e| e["Action"] == "AsymmetricSign" && e["Result"] == "Success" && e["KeyId"] == key_id.as_str()),
        "every entry a successful AsymmetricSign on the key"
    );
    let audited: std::collections::HashSet<&str> = by_load.iter().map(|e| e["Digest"].as_str().unwrap()).collect();
    let sent: std::collections::HashSet<String> = (0..CLIENTS)
        .flat_map(|worker| {
            (0..REQUESTS).map(move |i| base64::engine::general_purpose::STANDARD.encode(load_digest(worker, i)))
        })
        .collect();
    assert_eq!(audited.len(), CLIENTS * REQUESTS, "each digest audited once");
    assert!(sent.iter().all(|digest| audited.contains(digest.as_str())), "the audited digests are the ones sent");
    let report = host.ok(&["audit", "verify", "--json"]);
    assert_eq!(report["problems"].as_array().unwrap().len(), 0);
}

#[test]
fn an_unreachable_endpoint_is_a_clear_error() {
    let client = Keyseal::new();
    let run = client
        .command()
        .env("KEYSEAL_ENDPOINT", "http://127.0.0.1:9")
        .env("KEYSEAL_ACCESS_KEY_ID", "LTAIx")
        .env("KEYSEAL_ACCESS_KEY_SECRET", "y")
        .args(["kms", "list-keys"])
        .output()
        .unwrap();
    let run: Run = run.into();
    assert_eq!(run.code(), "Keyseal.StoreUnavailable");
    assert!(run.error()["Message"].as_str().unwrap().contains("cannot reach the KMS"), "{}", run.stderr);
    let no_credentials: Run = client
        .command()
        .env("KEYSEAL_ENDPOINT", "http://127.0.0.1:9")
        .env_remove("KEYSEAL_ACCESS_KEY_ID")
        .args(["kms", "list-keys"])
        .output()
        .unwrap()
        .into();
    assert_eq!(no_credentials.code(), "InvalidParameter");
}

#[test]
fn https_with_a_private_ca() {
    let host = Keyseal::new();
    let admin = access_key(&host, "admin", ADMIN);
    // A private CA and a server certificate for 127.0.0.1, made with OpenSSL.
    let (ca, cert, key) = Openssl::new(&host).tls_server(
        "tls",
        "127.0.0.1",
        "basicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1",
    );
    let server = Server::start_with(&host, &["--tls-cert", path(&cert), "--tls-key", path(&key)]);
    let client = Keyseal::new();
    let run = |ca: Option<&Path>| -> Run {
        let mut command = client.command();
        command
            .env("KEYSEAL_ENDPOINT", format!("https://{}", server.endpoint))
            .env("KEYSEAL_ACCESS_KEY_ID", &admin.0)
            .env("KEYSEAL_ACCESS_KEY_SECRET", &admin.1)
            .args(["kms", "list-keys"]);
        if let Some(ca) = ca {
            command.env("KEYSEAL_ENDPOINT_CA", ca);
        }
        command.output().unwrap().into()
    };
    assert_eq!(ok(run(Some(&ca))).json()["TotalCount"], 0);
    assert_eq!(run(None).code(), "Keyseal.StoreUnavailable", "an untrusted server certificate is refused");
    server.stop();
}

/// Regression: a Deny on a key's ARN holds however the request spells the key (by alias,
/// as `key/ID`, padded, or as an ARN of another region).
#[test]
fn a_deny_on_a_key_holds_under_every_name_for_it() {
    let host = Keyseal::new();
    let (key_id, version) = host.create_key("EC_P256", "SIGN/VERIFY");
    host.ok(&["kms", "create-alias", "--alias-name", "alias/guarded", "--key-id", &key_id]);
    let policy = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}},{{"Effect":"Deny","Action":"kms:AsymmetricSign","Resource":"acs:kms:*:*:key/{key_id}"}}]}}"#
    );
    let caller = access_key(&host, "caller", &policy);
    let server = Server::start(&host);
    let client = Keyseal::new();
    let digest = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    for spelling in [
        "alias/guarded".to_string(),
        format!("key/{key_id}"),
        format!(" {key_id}"),
        format!("acs:kms:cn-hangzhou:123:key/{key_id}"),
        key_id.clone(),
    ] {
        let run = remote(
            &client,
            &server,
            &caller,
            &[
                "kms",
                "asymmetric-sign",
                "--key-id",
                &spelling,
                "--key-version-id",
                &version,
                "--algorithm",
                "ECDSA_SHA_256",
                "--digest",
                digest,
            ],
        );
        assert_eq!(run.code(), "Forbidden.NoPermission", "KeyId {spelling:?} got through");
    }
    ok(remote(&client, &server, &caller, &["kms", "describe-key", "--key-id", "alias/guarded"]));
    server.stop();
}

/// Regression (issue 12): alias actions need permission on the key the alias points at,
/// as AWS KMS requires. A caller denied on key S can neither delete nor move away the alias
/// others sign S through, nor point an alias at S; one allowed on the alias alone may not
/// change it either. Every refusal leaves the alias where it was.
#[test]
fn alias_actions_need_permission_on_their_keys() {
    let host = Keyseal::new();
    let (guarded, _) = host.create_key("EC_P256", "SIGN/VERIFY");
    let (other, _) = host.create_key("EC_P256", "SIGN/VERIFY");
    host.ok(&["kms", "create-alias", "--alias-name", "alias/release", "--key-id", &guarded]);
    let denied_on_s = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}},{{"Effect":"Deny","Action":"kms:*","Resource":"acs:kms:*:*:key/{guarded}"}}]}}"#
    );
    let caller = access_key(&host, "caller", &denied_on_s);
    let alias_only = access_key(
        &host,
        "alias-admin",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:UpdateAlias","kms:DeleteAlias"],"Resource":"acs:kms:*:*:alias/release"}]}"#,
    );
    let server = Server::start(&host);
    let client = Keyseal::new();
    let target_of = |alias: &str| -> Option<String> {
        let listed = host.run(&["kms", "list-aliases", "--page-size", "100"]).json();
        listed["Aliases"]["Alias"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["AliasName"] == alias)
            .map(|a| a["KeyId"].as_str().unwrap().to_string())
    };
    let refused = |key: &(String, String), args: &[&str]| {
        let run = remote(&client, &server, key, args);
        assert_eq!(run.code(), "Forbidden.NoPermission", "{args:?} got through: {}", run.stdout);
    };
    for key in [&caller, &alias_only] {
        refused(key, &["kms", "delete-alias", "--alias-name", "alias/release"]);
        refused(key, &["kms", "update-alias", "--alias-name", "alias/release", "--key-id", &other]);
        assert_eq!(target_of("alias/release").as_deref(), Some(guarded.as_str()));
    }
    refused(&caller, &["kms", "create-alias", "--alias-name", "alias/decoy", "--key-id", &guarded]);
    assert_eq!(target_of("alias/decoy"), None);
    // Its own aliases, on keys it may use, it manages as before; moving one onto S is refused.
    ok(remote(&client, &server, &caller, &["kms", "create-alias", "--alias-name", "alias/mine", "--key-id", &other]));
    refused(&caller, &["kms", "update-alias", "--alias-name", "alias/mine", "--key-id", &guarded]);
    assert_eq!(target_of("alias/mine").as_deref(), Some(other.as_str()));
    ok(remote(&client, &server, &caller, &["kms", "delete-alias", "--alias-name", "alias/mine"]));
    assert_eq!(target_of("alias/mine"), None);
    server.stop();
}

/// Regression (issue 27, finding 4): an alias admin who may sign only through
/// `alias/mallory-*` cannot make `alias/mallory-x` lead to the release key by naming that
/// key through its alias (`--key-id alias/release`, which `alias/*` allows): the key an
/// alias is pointed at is judged by its key ARN, with CreateAlias and UpdateAlias alike.
/// So she never signs with the release key; an alias admin allowed on the key still can.
#[test]
fn an_alias_admin_cannot_reach_a_key_through_its_alias() {
    let host = Keyseal::new();
    let (release, release_version) = host.create_key("EC_P256", "SIGN/VERIFY");
    let (mine, _) = host.create_key("EC_P256", "SIGN/VERIFY");
    host.ok(&["kms", "create-alias", "--alias-name", "alias/release", "--key-id", &release]);
    host.ok(&["kms", "create-alias", "--alias-name", "alias/mallory-own", "--key-id", &mine]);
    let alias_admin = |resources: &str| {
        format!(
            r#"{{"Version":"1","Statement":[
                {{"Effect":"Allow","Action":["kms:CreateAlias","kms:UpdateAlias"],"Resource":["acs:kms:*:*:alias/*",{resources}]}},
                {{"Effect":"Allow","Action":"kms:AsymmetricSign","Resource":"acs:kms:*:*:alias/mallory-*"}}]}}"#
        )
    };
    let mallory = access_key(&host, "mallory", &alias_admin(&format!(r#""acs:kms:*:*:key/{mine}""#)));
    let trusted =
        access_key(&host, "trusted", &alias_admin(&format!(r#""acs:kms:*:*:key/{mine}","acs:kms:*:*:key/{release}""#)));
    let server = Server::start(&host);
    let client = Keyseal::new();
    let target_of = |alias: &str| -> Option<String> {
        let listed = host.run(&["kms", "list-aliases", "--page-size", "100"]).json();
        listed["Aliases"]["Alias"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["AliasName"] == alias)
            .map(|a| a["KeyId"].as_str().unwrap().to_string())
    };
    let sign = |key: &(String, String), alias: &str| {
        let digest = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        remote(
            &client,
            &server,
            key,
            &[
                "kms",
                "asymmetric-sign",
                "--key-id",
                alias,
                "--key-version-id",
                &release_version,
                "--algorithm",
                "ECDSA_SHA_256",
                "--digest",
                digest,
            ],
        )
    };
    let refused = |key: &(String, String), args: &[&str]| {
        let run = remote(&client, &server, key, args);
        assert_eq!(run.code(), "Forbidden.NoPermission", "{args:?} got through: {}", run.stdout);
    };
    // The attack: create, or move, an alias of hers onto the release key, named by alias.
    refused(&mallory, &["kms", "create-alias", "--alias-name", "alias/mallory-x", "--key-id", "alias/release"]);
    assert_eq!(target_of("alias/mallory-x"), None);
    refused(&mallory, &["kms", "update-alias", "--alias-name", "alias/mallory-own", "--key-id", "alias/release"]);
    assert_eq!(target_of("alias/mallory-own").as_deref(), Some(mine.as_str()));
    assert_eq!(sign(&mallory, "alias/mallory-x").code(), "Forbidden.AliasNotFound");
    // Her own key she may still alias, by id or through an alias of hers.
    ok(remote(
        &client,
        &server,
        &mallory,
        &["kms", "create-alias", "--alias-name", "alias/mallory-y", "--key-id", "alias/mallory-own"],
    ));
    assert_eq!(target_of("alias/mallory-y").as_deref(), Some(mine.as_str()));
    // An alias admin allowed on the release key may point an alias at it, by alias too.
    ok(remote(
        &client,
        &server,
        &trusted,
        &["kms", "create-alias", "--alias-name", "alias/mallory-x", "--key-id", "alias/release"],
    ));
    assert_eq!(target_of("alias/mallory-x").as_deref(), Some(release.as_str()));
    ok(remote(
        &client,
        &server,
        &trusted,
        &["kms", "update-alias", "--alias-name", "alias/mallory-y", "--key-id", "alias/release"],
    ));
    assert_eq!(target_of("alias/mallory-y").as_deref(), Some(release.as_str()));
    ok(sign(&trusted, "alias/mallory-x"));
    server.stop();
}

/// The head of a DescribeKey request signed with ACS3-HMAC-SHA256 by `key`, for a body of
/// `body` (sent by the caller), as raw HTTP/1.1.
fn signed_describe_key(endpoint: &str, key: &(String, String), key_id: &str, nonce: &str, body: &str) -> String {
    signed_request(endpoint, key, "DescribeKey", key_id, nonce, body)
}

/// The head of a request for `action` on `key_id`, signed with ACS3-HMAC-SHA256 by `key`,
/// for a body of `body` (sent by the caller), as raw HTTP/1.1.
fn signed_request(
    endpoint: &str,
    key: &(String, String),
    action: &str,
    key_id: &str,
    nonce: &str,
    body: &str,
) -> String {
    use keyseal::kms::acs3;
    use std::collections::BTreeMap;
    let mut params = BTreeMap::new();
    params.insert("KeyId".to_string(), key_id.to_string());
    let body_hash = acs3::hex_sha256(body.as_bytes());
    let mut headers = BTreeMap::new();
    headers.insert("host".to_string(), endpoint.to_string());
    headers.insert("x-acs-action".to_string(), action.to_string());
    headers.insert("x-acs-content-sha256".to_string(), body_hash.clone());
    headers.insert("x-acs-date".to_string(), keyseal::clock::format_unix(keyseal::clock::now_unix()));
    headers.insert("x-acs-signature-nonce".to_string(), nonce.to_string());
    headers.insert("x-acs-version".to_string(), "2016-01-20".to_string());
    let signature =
        hex::encode(acs3::hmac_sha256(key.1.as_bytes(), &acs3::string_to_sign("POST", &params, &headers, &body_hash)));
    let mut request = format!("POST /?{} HTTP/1.1\r\n", acs3::canonical_query(&params));
    for (name, value) in &headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let signed = headers.keys().cloned().collect::<Vec<_>>().join(";");
    request.push_str(&format!(
        "authorization: ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed},Signature={signature}\r\n",
        key.0
    ));
    request.push_str(&format!("connection: close\r\ncontent-length: {}\r\n\r\n", body.len()));
    request
}

/// Sends a whole request and reads the whole answer (the request asks to close).
fn exchange(endpoint: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(endpoint).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// An action keyseal does not have is `InvalidAction.NotFound` (404) for every caller,
/// allowed everything or nothing, decided before the policy question and not audited;
/// the API's names are case-sensitive.
#[test]
fn an_unknown_action_is_not_found_for_every_caller_and_not_audited() {
    let host = Keyseal::new();
    let (admin, ci) = (access_key(&host, "admin", ADMIN), access_key(&host, "ci", CI_SIGNER));
    let (key_id, _) = host.create_key("EC_P256", "SIGN/VERIFY");
    let audited = || host.ok(&["audit", "list", "--json"]).as_array().unwrap().len();
    let before = audited();
    let server = Server::start(&host);
    for (caller, nonce) in [(&admin, "unknown-1"), (&ci, "unknown-2")] {
        for action in ["DescribeKeys", "describekey"] {
            let request = signed_request(&server.endpoint, caller, action, &key_id, &format!("{nonce}-{action}"), "");
            let answer = exchange(&server.endpoint, &request);
            assert!(answer.starts_with("HTTP/1.1 404") && answer.contains("InvalidAction.NotFound"), "{answer}");
            assert!(answer.contains("AsymmetricSign"), "the answer lists the actions there are: {answer}");
        }
    }
    let known = signed_request(&server.endpoint, &ci, "DescribeKey", &key_id, "known", "");
    assert!(exchange(&server.endpoint, &known).starts_with("HTTP/1.1 "), "the server still answers");
    server.stop();
    assert_eq!(audited(), before + 1, "only the known action is audited");
}

/// Regression (issue 12): nonces live in the store, so a request replayed to a second
/// server process on the same store, or to the same server after a restart, is refused.
#[test]
fn a_replayed_request_is_refused_by_every_server_on_the_store() {
    for host in crate::common::postgres::both() {
        let admin = access_key(&host, "admin", ADMIN);
        let (key_id, _) = host.create_key("EC_P256", "SIGN/VERIFY");
        let (first, second) = (Server::start(&host), Server::start(&host));
        let request = signed_describe_key(&first.endpoint, &admin, &key_id, "replayed-once", "");
        assert!(exchange(&first.endpoint, &request).starts_with("HTTP/1.1 200"));
        for server in [&first, &second] {
            let replayed = exchange(&server.endpoint, &request);
            assert!(replayed.starts_with("HTTP/1.1 400") && replayed.contains("SignatureNonceUsed"), "{replayed}");
        }
        first.stop();
        let restarted = Server::start(&host);
        let replayed = exchange(&restarted.endpoint, &request);
        assert!(replayed.contains("SignatureNonceUsed"), "{replayed}");
        second.stop();
        restarted.stop();
    }
}

/// Regression (issue 15 item 8): when the audit entry of a refusal cannot be written, the
/// server does not answer as if all were well: the request stays refused, the answer is a
/// server error (`Keyseal.StoreUnavailable`, 503), and the server log says so loudly.
#[test]
fn a_refusal_whose_audit_entry_cannot_be_written_is_a_server_error() {
    let host = Keyseal::new();
    let ci = access_key(&host, "ci", CI_SIGNER);
    let server = Server::start(&host);
    let client = Keyseal::new();
    let create = ["kms", "create-key", "--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"];
    assert_eq!(remote(&client, &server, &ci, &create).code(), "Forbidden.NoPermission");
    // A full disk, as far as refusals go: the store takes no more Failure entries.
    let db = rusqlite::Connection::open(host.store().join("keyseal.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER no_refusals BEFORE INSERT ON audit WHEN NEW.result = 'Failure'
         BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();
    let run = remote(&client, &server, &ci, &create);
    assert_eq!(run.code(), "Keyseal.StoreUnavailable", "{}", run.stderr);
    assert!(run.stderr.contains("Forbidden.NoPermission"), "the answer still names the refusal: {}", run.stderr);
    db.execute_batch("DROP TRIGGER no_refusals").unwrap();
    assert_eq!(host.run(&["kms", "list-keys"]).json()["TotalCount"], 0, "nothing was created");
    let log = server.stop();
    assert!(log.contains("AUDIT WRITE FAILED"), "{log}");
}

/// SIGTERM while a request is in flight: the request still gets its answer, then the
/// server exits cleanly.
#[test]
fn shutdown_lets_a_request_in_flight_finish() {
    use std::io::{Read, Write};
    let host = Keyseal::new();
    let admin = access_key(&host, "admin", ADMIN);
    let (key_id, _) = host.create_key("EC_P256", "SIGN/VERIFY");
    let server = Server::start(&host);
    let body = "0123456789";
    let request = signed_describe_key(&server.endpoint, &admin, &key_id, "drain-1", body);
    let mut stream = std::net::TcpStream::connect(&server.endpoint).unwrap();
    // Headers and half the body now; the rest after the server has been told to stop.
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(&body.as_bytes()[..5]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = server.pid();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    stream.write_all(&body.as_bytes()[5..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "the request in flight was answered: {response}");
    assert!(response.contains(&key_id));
    let log = server.wait();
    assert!(log.contains("shutting down") && log.contains("stopped"), "{log}");
}
