//! The official Alibaba Cloud KMS Python SDK (alibabacloud-kms20160120, pinned below)
//! drives a `keyseal serve` started on a free loopback port: every operation, state
//! changes, paging, both signature forms, errors by the SDK's exception codes, and
//! policies. Signatures made through the SDK are then checked with `openssl dgst -verify`
//! on the public keys it fetched; wire-level refusals (a date 16 minutes behind or ahead,
//! a reused nonce, an altered body) are sent by hand. The SDK lives in a virtual environment under target/, created
//! on first use from PyPI (`.ci/run` does it up front).

use crate::common::{Keyseal, Server, access_key, peer};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::Command;

const SDK: &str = "alibabacloud-kms20160120==3.3.1";

/// The virtual environment's python, with the SDK.
pub(crate) fn sdk_python() -> PathBuf {
    crate::common::venv_python(&[SDK], "import alibabacloud_kms20160120")
}

/// The version of `package` the venv's python has installed.
fn installed_version(python: &std::path::Path, package: &str) -> String {
    let shown = Command::new(python)
        .args(["-c", "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))", package])
        .output()
        .unwrap();
    assert!(shown.status.success(), "{package} is not installed: {}", String::from_utf8_lossy(&shown.stderr));
    String::from_utf8_lossy(&shown.stdout).trim().to_string()
}

#[test]
fn the_official_sdk_drives_keyseal_serve() {
    let python = sdk_python();
    let (package, pinned) = SDK.split_once("==").unwrap();
    assert_eq!(installed_version(&python, package), pinned, "the interop test runs the pinned SDK");
    let ks = Keyseal::new();
    let admin = access_key(
        &ks,
        "admin",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:*"],"Resource":["*"]}]}"#,
    );
    let signer = access_key(
        &ks,
        "ci-release",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:AsymmetricSign","Resource":"acs:kms:*:*:alias/release"}]}"#,
    );
    let denied = access_key(
        &ks,
        "no-sign",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:AsymmetricSign","Resource":"*"}]}"#,
    );
    let disabled = access_key(
        &ks,
        "retired",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
    );
    ks.ok_text(&["access", "disable", "retired"]);
    let listed = ks.ok(&["access", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 4);
    assert!(!listed.to_string().contains(&admin.1), "secrets are never listed");

    let server = Server::start(&ks);
    let out = ks.file("sdk-out");
    std::fs::create_dir(&out).unwrap();
    let run = Command::new(&python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/kms_sdk_test.py"))
        .env("KEYSEAL_ENDPOINT", &server.endpoint)
        .env("OUT", &out)
        .envs([
            ("ADMIN_AK", &admin.0),
            ("ADMIN_SECRET", &admin.1),
            ("SIGNER_AK", &signer.0),
            ("SIGNER_SECRET", &signer.1),
        ])
        .envs([
            ("DENIED_AK", &denied.0),
            ("DENIED_SECRET", &denied.1),
            ("DISABLED_AK", &disabled.0),
            ("DISABLED_SECRET", &disabled.1),
        ])
        .output()
        .unwrap();
    let sdk_log = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    wire_refusals(&server.endpoint, &admin);
    let log = server.stop();
    assert!(run.status.success(), "the SDK script failed:\n{sdk_log}\nserver log:\n{log}");
    assert!(sdk_log.contains("sdk interop: all checks passed"), "{sdk_log}");

    // Every signature the SDK got verifies with OpenSSL on the public key it fetched.
    let mut checked = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let sig = entry.unwrap().path();
        if sig.extension().is_none_or(|e| e != "sig") {
            continue;
        }
        let name = sig.file_stem().unwrap().to_str().unwrap().to_string();
        let algorithm = name.rsplit('-').next().unwrap();
        let pem = out.join(format!("{}.pem", name));
        let mut args = vec!["dgst", "-sha256", "-verify", pem.to_str().unwrap(), "-signature", sig.to_str().unwrap()];
        if algorithm == "RSA_PSS_SHA_256" {
            args.extend(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]);
        }
        let message = out.join("message.txt");
        args.push(message.to_str().unwrap());
        let (ok, text) = peer("openssl", &args);
        assert!(ok, "{name}: {text}");
        checked += 1;
    }
    assert_eq!(checked, 9, "two versions of each key, every algorithm, and one signed over HMAC-SHA1");

    // The log holds no secret, and the audit log names the refused principals.
    assert!(!log.contains(&admin.1) && !log.contains("wrong secret"));
    assert!(log.contains("principal=access:ci-release status=403 code=Forbidden.NoPermission"), "{log}");
    let audit = ks.ok(&["audit", "list", "--json"]);
    let refusals: Vec<&serde_json::Value> =
        audit.as_array().unwrap().iter().filter(|e| e["ErrorCode"] == "Forbidden.NoPermission").collect();
    assert!(
        refusals.iter().any(|e| e["Principal"] == "access:ci-release" && e["Action"] == "AsymmetricSign"),
        "{refusals:?}"
    );
    assert!(refusals.iter().any(|e| e["Principal"] == "access:no-sign"));
    assert_eq!(ks.run(&["audit", "verify"]).status, 0);
}

/// Hand-made ACS3 requests: a date more than 15 minutes off either way, a reused nonce
/// and an altered body are refused.
fn wire_refusals(endpoint: &str, admin: &(String, String)) {
    let send = |date: &str, nonce: &str, body: &str, signed_body: &str| -> (u16, String) {
        let query = "KeyId=nothing";
        let body_hash = hex::encode(Sha256::digest(signed_body.as_bytes()));
        let headers = [
            ("host", endpoint.to_string()),
            ("x-acs-action", "DescribeKey".to_string()),
            ("x-acs-content-sha256", body_hash.clone()),
            ("x-acs-date", date.to_string()),
            ("x-acs-signature-nonce", nonce.to_string()),
            ("x-acs-version", "2016-01-20".to_string()),
        ];
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed_headers = headers.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(";");
        let canonical = format!("POST\n/\n{query}\n{canonical_headers}\n{signed_headers}\n{body_hash}");
        let to_sign = format!("ACS3-HMAC-SHA256\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(admin.1.as_bytes()).unwrap();
        mac.update(to_sign.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let mut request = format!("POST /?{query} HTTP/1.1\r\n");
        for (k, v) in &headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str(&format!(
            "authorization: ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed_headers},Signature={signature}\r\n",
            admin.0
        ));
        request.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()));
        let mut stream = std::net::TcpStream::connect(endpoint).unwrap();
        use std::io::{Read, Write};
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
        (status, response)
    };
    let now = keyseal::clock::format_unix(keyseal::clock::now_unix());
    let (status, response) = send(&now, "nonce-1", "", "");
    assert_eq!(status, 404, "a good signature reaches the KMS (no such key): {response}");
    assert!(response.contains("Forbidden.KeyNotFound"), "{response}");
    let (status, response) = send(&now, "nonce-1", "", "");
    assert!(status == 400 && response.contains("SignatureNonceUsed"), "{response}");
    let stale = keyseal::clock::format_unix(keyseal::clock::now_unix() - 16 * 60);
    let (status, response) = send(&stale, "nonce-2", "", "");
    assert!(status == 400 && response.contains("InvalidTimeStamp.Expired"), "{response}");
    // The 15 minutes of skew hold both ways: a client clock 16 minutes ahead is refused
    // too, one 14 minutes ahead is not.
    let ahead = keyseal::clock::format_unix(keyseal::clock::now_unix() + 16 * 60);
    let (status, response) = send(&ahead, "nonce-4", "", "");
    assert!(status == 400 && response.contains("InvalidTimeStamp.Expired"), "16 minutes ahead: {response}");
    let within = keyseal::clock::format_unix(keyseal::clock::now_unix() + 14 * 60);
    let (status, response) = send(&within, "nonce-5", "", "");
    assert!(status == 404 && response.contains("Forbidden.KeyNotFound"), "14 minutes ahead: {response}");
    let (status, response) = send(&now, "nonce-3", "tampered", "original");
    assert!(status == 400 && response.contains("SignatureDoesNotMatch"), "{response}");
    let health = {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(endpoint).unwrap();
        stream.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    assert!(health.starts_with("HTTP/1.1 200") && health.contains(r#"{"Status":"ok"}"#), "{health}");
}

/// examples/sdk/sign.py, the SDK example of docs/server.md, run as written against a `keyseal
/// serve` over TLS with a private CA: its signature verifies with OpenSSL.
#[test]
fn the_sdk_example_signs_through_keyseal_serve_over_tls() {
    use crate::common::openssl::{Openssl, path};
    let python = sdk_python();
    let ks = Keyseal::new();
    let openssl = Openssl::new(&ks);
    let ca =
        "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash";
    let root = openssl.root("root", "root", "/CN=Example Root", ca);
    let leaf = "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid";
    let cert = openssl.issue("server", "server", "/CN=localhost", &root, "root", leaf);
    let (signer_id, signer_secret) = access_key(
        &ks,
        "ci-release",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:AsymmetricSign","Resource":"acs:kms:*:*:alias/release"}]}"#,
    );
    let (key_id, version) = ks.create_key("EC_P256", "SIGN/VERIFY");
    ks.ok(&["kms", "create-alias", "--alias-name", "alias/release", "--key-id", &key_id]);
    let public = ks.file("release.pub.pem");
    ks.public_key(&key_id, &version, &public);
    let key = openssl.file("server.key");
    let server = Server::start_with(&ks, &["--tls-cert", path(&cert), "--tls-key", path(&key)]);
    let port = server.endpoint.rsplit(':').next().unwrap().to_string();
    let artifact = ks.file("app.tar.gz");
    std::fs::write(&artifact, b"release v1.0").unwrap();
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sdk/sign.py");
    let signed = Command::new(&python)
        .arg(&example)
        .args(["alias/release", &version, path(&artifact)])
        .env("KEYSEAL_ENDPOINT", format!("localhost:{port}"))
        .env("KEYSEAL_CA", &root)
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", &signer_id)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &signer_secret)
        .output()
        .unwrap();
    assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
    let signature = ks.file("app.tar.gz.sig");
    std::fs::write(&signature, &signed.stdout).unwrap();
    let (verified, text) = peer(
        "openssl",
        &["dgst", "-sha256", "-verify", path(&public), "-signature", path(&signature), path(&artifact)],
    );
    assert!(verified, "{text}");
    server.stop();
}
