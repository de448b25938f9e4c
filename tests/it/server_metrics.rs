//! `GET /metrics` on `keyseal serve`: request counts and latency per action and result in
//! the Prometheus text format, after real requests through the binary — allowed, refused
//! by the KMS, refused before authentication, and one naming an action keyseal does not
//! serve (counted as `other`, never as a label of its own).

use crate::common::{Keyseal, Run, Server, access_key};

const ADMIN: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

fn curl(args: &[&str]) -> (String, String) {
    let output =
        std::process::Command::new("curl").args(["-s", "-w", "\n%{content_type}"]).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, content_type) = text.rsplit_once('\n').unwrap();
    (body.to_string(), content_type.to_string())
}

/// The value of the series `name{labels}`, if the exposition has it.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[test]
fn metrics_count_requests_by_action_and_result() {
    let host = Keyseal::new();
    let admin = access_key(&host, "admin", ADMIN);
    let server = Server::start(&host);
    let client = Keyseal::new();
    let remote = |args: &[&str]| -> Run {
        client
            .command()
            .env("KEYSEAL_ENDPOINT", format!("http://{}", server.endpoint))
            .env("KEYSEAL_ACCESS_KEY_ID", &admin.0)
            .env("KEYSEAL_ACCESS_KEY_SECRET", &admin.1)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    for _ in 0..3 {
        assert_eq!(remote(&["kms", "list-keys"]).status, 0);
    }
    let refused = remote(&["kms", "describe-key", "--key-id", "00000000-0000-4000-8000-000000000000"]);
    assert_eq!(refused.status, 2);
    // Unsigned: refused before its action is known.
    let url = format!("http://{}/", server.endpoint);
    curl(&["-X", "POST", "-H", "x-acs-action: MadeUpAction", &url]);

    let (text, content_type) = curl(&[&format!("http://{}/metrics", server.endpoint)]);
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    assert_eq!(value(&text, r#"keyseal_requests_total{action="ListKeys",result="ok"}"#), Some(3.0), "{text}");
    assert_eq!(
        value(&text, r#"keyseal_requests_total{action="DescribeKey",result="Forbidden.KeyNotFound"}"#),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains(r#"action="Authenticate""#), "{text}");
    assert!(!text.contains("MadeUpAction"), "{text}");
    let count = value(&text, r#"keyseal_request_duration_seconds_count{action="ListKeys",result="ok"}"#);
    assert_eq!(count, Some(3.0), "{text}");
    let sum = value(&text, r#"keyseal_request_duration_seconds_sum{action="ListKeys",result="ok"}"#).unwrap();
    assert!(sum > 0.0 && sum < 30.0, "{text}");
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF: {text}");
    // Nothing secret: no access key id, no principal.
    assert!(!text.contains(&admin.0) && !text.contains("access:admin"), "{text}");
    server.stop();
}
