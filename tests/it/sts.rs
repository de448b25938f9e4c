//! STS credentials (issue 14): `KEYSEAL_SECURITY_TOKEN` goes out as the signed
//! `x-acs-security-token` header, which is what the cloud KMS takes from a RAM role's
//! credentials (tests/it/acs3_sdk.rs checks the signature against the SDK's). `keyseal
//! serve` issues no STS tokens, so it refuses any request carrying one, in either
//! signature form, with InvalidParameter and a message that says where STS credentials
//! belong; the token is never printed or logged, by the client or the server.

use crate::common::{Keyseal, Run, Server, access_key};
use std::path::PathBuf;
use std::process::Command;

const ADMIN: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
/// Shaped like a token from AssumeRoleWithOIDC, and easy to search for in the output.
const TOKEN: &str = "CAIS8gF1q6Ft5B2yfSjIr5bkLs3Oqb1l0qWmUVbQrnIjSuRj+pbfDljz2IHFPeHJrBeAYt/o3mW1X7f4Ylq=";

/// `keyseal ARGS` on `client`'s store against `server` with `key` and, if given, a token.
fn remote(client: &Keyseal, server: &Server, key: &(String, String), token: Option<&str>, args: &[&str]) -> Run {
    let mut command = client.command();
    command
        .env("KEYSEAL_ENDPOINT", format!("http://{}", server.endpoint))
        .env("KEYSEAL_ACCESS_KEY_ID", &key.0)
        .env("KEYSEAL_ACCESS_KEY_SECRET", &key.1)
        .env_remove("KEYSEAL_PASSPHRASE")
        .env_remove("KEYSEAL_SECURITY_TOKEN")
        .args(args);
    if let Some(token) = token {
        command.env("KEYSEAL_SECURITY_TOKEN", token);
    }
    command.output().unwrap().into()
}

#[test]
fn keyseal_serve_refuses_a_security_token_from_the_cli() {
    let host = Keyseal::new();
    let admin = access_key(&host, "admin", ADMIN);
    let (key_id, _) = host.create_key("EC_P256", "SIGN/VERIFY");
    let server = Server::start(&host);
    let client = Keyseal::new();

    // The access key works; an empty token is no token.
    let listed = remote(&client, &server, &admin, None, &["kms", "list-keys"]);
    assert_eq!(listed.status, 0, "{}", listed.stderr);
    let empty = remote(&client, &server, &admin, Some(""), &["kms", "describe-key", "--key-id", &key_id]);
    assert_eq!(empty.status, 0, "{}", empty.stderr);

    // With a token, the same key is refused, saying why and where STS credentials go.
    let refused = remote(&client, &server, &admin, Some(TOKEN), &["kms", "describe-key", "--key-id", &key_id]);
    assert_eq!(refused.code(), "InvalidParameter");
    let message = refused.error()["Message"].as_str().unwrap().to_string();
    assert!(message.starts_with("x-acs-security-token: keyseal serve takes long-term access keys only"), "{message}");
    assert!(message.contains("Alibaba Cloud KMS") && message.contains("KEYSEAL_SECURITY_TOKEN"), "{message}");
    assert_eq!(refused.status, 2);

    // Outside `keyseal kms` the error is text, with the same code.
    let dist = client.file("dist");
    std::fs::create_dir(&dist).unwrap();
    std::fs::write(dist.join("app.bin"), b"release").unwrap();
    let dist = dist.to_str().unwrap();
    let signed = remote(
        &client,
        &server,
        &admin,
        Some(TOKEN),
        &["sign", dist, "--key-id", &key_id, "--key-version-id", "v", "--out", dist, "--json"],
    );
    assert_eq!(signed.status, 2, "{}\n{}", signed.stdout, signed.stderr);
    assert!(signed.stderr.contains("[InvalidParameter]") && signed.stderr.contains("long-term access keys"));

    let log = server.stop();
    assert!(log.contains("principal=anonymous status=400 code=InvalidParameter"), "{log}");
    for (what, text) in [
        ("the refused kms stdout", &refused.stdout),
        ("the refused kms stderr", &refused.stderr),
        ("sign's stdout", &signed.stdout),
        ("sign's stderr", &signed.stderr),
        ("the server log", &log),
    ] {
        assert!(!text.contains(TOKEN), "{what} shows the security token:\n{text}");
    }
}

#[test]
fn keyseal_serve_refuses_a_security_token_from_the_official_sdk() {
    let python = crate::common::venv_python(&["alibabacloud-kms20160120==3.3.1"], "import alibabacloud_kms20160120");
    let host = Keyseal::new();
    let admin = access_key(&host, "admin", ADMIN);
    let server = Server::start(&host);
    let run = Command::new(python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/sts_refused.py"))
        .env("KEYSEAL_ENDPOINT", &server.endpoint)
        .env("AK", &admin.0)
        .env("SECRET", &admin.1)
        .env("TOKEN", TOKEN)
        .output()
        .unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    let log = server.stop();
    assert!(run.status.success(), "{out}\nserver log:\n{log}");
    assert!(out.contains("ACS3-HMAC-SHA256: refused") && out.contains("HMAC-SHA1: refused"), "{out}");
    assert!(!log.contains(TOKEN), "the server logged the token:\n{log}");
}

#[test]
fn the_help_documents_the_security_token_next_to_the_access_key() {
    let help = Keyseal::new().ok_text(&["--help"]);
    let at = |name: &str| help.find(name).unwrap_or_else(|| panic!("--help does not name {name}:\n{help}"));
    let token = at("KEYSEAL_SECURITY_TOKEN");
    assert!(at("KEYSEAL_ACCESS_KEY_SECRET") < token && token - at("KEYSEAL_ACCESS_KEY_ID") < 200, "{help}");
    assert!(help.contains("STS"), "{help}");
}
