//! RemoteKms signs requests byte for byte as the official SDK does, so that the same
//! keyseal works against Alibaba Cloud KMS itself (issue 14). The SDK
//! (alibabacloud-kms20160120, pinned as in tests/it/sdk_interop.rs) runs in the test virtual
//! environment through `tests/sdk/acs3_sign.py`, with the date and nonce pinned and its
//! transport replaced, so nothing leaves the machine. For each case, with and without an
//! STS security token:
//!
//! - the SDK's own ACS3 signer, given the headers `acs3::sign` chose, produces the same
//!   canonical request and the same Authorization;
//! - the SDK's KMS client, given the same inputs, sends the same parameters (all in the
//!   query, the action in `x-acs-action`) and the same value for every header keyseal
//!   signs; it also signs `user-agent` and `x-acs-credentials-provider` (and, for
//!   AsymmetricDecrypt, `content-type` over an empty form body), which the service does not
//!   require and keyseal does not send;
//! - keyseal's canonical request and Authorization over the SDK's own headers are the
//!   SDK's, so `keyseal serve` verifies what the SDK sends with the same code.
//!
//! And what RemoteKms actually puts on the wire, token included, is caught on a loopback
//! socket and re-signed by the SDK's signer: the Authorizations agree.

use keyseal::kms::Kms;
use keyseal::kms::acs3;
use keyseal::kms::api::KeyIdRequest;
use keyseal::kms::remote::RemoteKms;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use zeroize::Zeroizing;

const SDK: &str = "alibabacloud-kms20160120==3.3.1";

const DATE: &str = "2024-05-20T06:34:21Z";
const LONG_TERM_KEY: (&str, &str) = ("LTAI5tHzfz8F3bWcKfGh1aXq", "k3yS3cr3t+/=with~odd&chars");
/// An STS key pair and token shaped like the ones AssumeRoleWithOIDC returns.
const STS_KEY: (&str, &str) = ("STS.NSUJb8Wt3LPGPbBXHEqq6hJ4x", "8fK2p+/sts=secret");
const STS_TOKEN: &str = "CAIS8gF1q6Ft5B2yfSjIr5bkLs3Oqb1l0qWmUVbQrnIjSuRjpbfDljz2IHFPeHJrBeAYt/o3mW1X7f4YlqB6T55OSAmcNZEoPAJkQ+4/8Yq2vPuvRhBPyd5G1trs6JB0MNKj+fNEJ1CMlO8Ww1M=";

/// One request to sign: an action, its parameters and the endpoint's host.
struct Case {
    action: &'static str,
    params: &'static [(&'static str, &'static str)],
    host: &'static str,
}

/// Several actions and parameter sets: RFC 3986 reserved and unreserved characters,
/// spaces, `%`, unicode, base64 with `+`, `/` and `=`, JSON, an ARN, numbers, no
/// parameters at all, and hosts with and without a port.
const CASES: &[Case] = &[
    Case {
        action: "CreateKey",
        params: &[
            ("KeySpec", "EC_P256"),
            ("KeyUsage", "SIGN/VERIFY"),
            ("Description", "a b+c/d=~é !*'();:@&$,?#[]%20 100% 签名 🔑"),
            ("Origin", "Aliyun_KMS"),
            ("Tags", r#"[{"TagKey":"team","TagValue":"release & ops"}]"#),
        ],
        host: "kms.cn-hangzhou.aliyuncs.com",
    },
    Case {
        action: "AsymmetricSign",
        params: &[
            ("KeyId", "alias/release"),
            ("KeyVersionId", "0f5f6c1e-4b2a-4c3d-9e8f-123456789abc"),
            ("Algorithm", "ECDSA_SHA_256"),
            ("Digest", "++++////++++////++++////++++////++++////+/8="),
        ],
        host: "kms.cn-hangzhou.aliyuncs.com",
    },
    Case {
        action: "GetPublicKey",
        params: &[
            ("KeyId", "acs:kms:cn-hangzhou:1234567890123456:key/key-hzz65f1a1d4abcdefgh"),
            ("KeyVersionId", "0f5f6c1e-4b2a-4c3d-9e8f-123456789abc"),
        ],
        host: "kms.ap-southeast-1.aliyuncs.com",
    },
    Case { action: "ListAliases", params: &[], host: "127.0.0.1:8080" },
    Case {
        action: "ListKeys",
        params: &[
            ("PageNumber", "2"),
            ("PageSize", "100"),
            ("Filters", r#"[{"Key":"KeyState","Values":["Enabled","Disabled"]}]"#),
        ],
        host: "kms.cn-shanghai.aliyuncs.com",
    },
    Case {
        action: "AsymmetricDecrypt",
        params: &[
            ("KeyId", "alias/decrypt"),
            ("KeyVersionId", "v1"),
            ("Algorithm", "RSAES_OAEP_SHA_256"),
            ("CiphertextBlob", CIPHERTEXT),
        ],
        host: "kms.cn-hangzhou.aliyuncs.com",
    },
    Case { action: "DescribeKey", params: &[("KeyId", "alias/发布-key_v1.2~x")], host: "127.0.0.1:8443" },
    Case {
        action: "ScheduleKeyDeletion",
        params: &[("KeyId", "key-hzz65f1a1d4abcdefgh"), ("PendingWindowInDays", "7")],
        host: "kms.cn-hangzhou.aliyuncs.com",
    },
];

/// A 2048-bit RSA ciphertext's length in base64 (256 bytes, 344 characters), with `+` and
/// `/` in it and `==` at the end.
const CIPHERTEXT: &str = concat!(
    "++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv",
    "+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//",
    "Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++",
    "//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pv+/++//Pg==",
);

/// The headers the SDK signs that keyseal does not send, and why they may differ: the
/// SDK's user agent and the name of its credentials class are its own business, and
/// AsymmetricDecrypt's client method declares an (empty) form body.
fn sdk_only_header(action: &str, name: &str) -> bool {
    matches!(name, "user-agent" | "x-acs-credentials-provider")
        || (action == "AsymmetricDecrypt" && name == "content-type")
}

/// The virtual environment's python, with the SDK.
fn sdk_python() -> PathBuf {
    crate::common::venv_python(&[SDK], "import alibabacloud_kms20160120")
}

/// Runs the helper on `cases`; returns its answers, one per case.
fn sdk_answers(cases: &[Value]) -> Vec<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/acs3_sign.py");
    let mut child = Command::new(sdk_python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(json!({ "cases": cases }).to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tests/sdk/acs3_sign.py failed:\n{stderr}");
    let answers: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answers.len(), cases.len());
    answers
}

fn to_map(value: &Value) -> BTreeMap<String, String> {
    value.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect()
}

/// `headers` without `authorization`: the signed ones.
fn signed_only(headers: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    headers.iter().filter(|(name, _)| name.as_str() != "authorization").map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[test]
fn remote_kms_signs_as_the_official_sdk_does() {
    let mut inputs = Vec::new();
    for case in CASES {
        for with_token in [false, true] {
            inputs.push((case, with_token));
        }
    }
    let params_of = |case: &Case| -> BTreeMap<String, String> {
        case.params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let nonce_of = |index: usize| format!("3f1c9a2b7d4e4f60a1b2c3d4e5f6{index:04}");
    let ours: Vec<acs3::Signed> = inputs
        .iter()
        .enumerate()
        .map(|(index, (case, with_token))| {
            let (access_key_id, secret) = if *with_token { STS_KEY } else { LONG_TERM_KEY };
            acs3::sign(&acs3::Request {
                method: "POST",
                action: case.action,
                params: &params_of(case),
                host: case.host,
                date: DATE,
                nonce: &nonce_of(index),
                access_key_id,
                secret: secret.as_bytes(),
                security_token: with_token.then_some(STS_TOKEN),
            })
        })
        .collect();
    let requests: Vec<Value> = inputs
        .iter()
        .zip(&ours)
        .enumerate()
        .map(|(index, ((case, with_token), signed))| {
            let (access_key_id, secret) = if *with_token { STS_KEY } else { LONG_TERM_KEY };
            json!({
                "action": case.action,
                "params": params_of(case),
                "host": case.host,
                "date": DATE,
                "nonce": nonce_of(index),
                "access_key_id": access_key_id,
                "secret": secret,
                "security_token": with_token.then_some(STS_TOKEN),
                "headers": signed_only(&signed.headers),
            })
        })
        .collect();
    let answers = sdk_answers(&requests);

    for (((case, with_token), signed), answer) in inputs.iter().zip(&ours).zip(&answers) {
        let what = format!("{} {}", case.action, if *with_token { "with an STS token" } else { "with an access key" });
        let (access_key_id, secret) = if *with_token { STS_KEY } else { LONG_TERM_KEY };

        // The SDK's signer over keyseal's headers: the same bytes.
        assert_eq!(answer["resign"]["canonical_request"], signed.canonical_request.as_str(), "{what}");
        assert_eq!(answer["resign"]["authorization"], signed.headers["authorization"].as_str(), "{what}");

        // The SDK's client for the same inputs: the same parameters, all in the query.
        let sdk = &answer["sdk"];
        assert_eq!((sdk["method"].as_str(), sdk["pathname"].as_str()), (Some("POST"), Some("/")), "{what}");
        assert_eq!(to_map(&sdk["query"]), params_of(case), "{what}: the SDK sends every parameter in the query");
        assert!(sdk["body"].as_str().unwrap_or("").is_empty(), "{what}: the SDK sends no body: {}", sdk["body"]);
        let sdk_headers = to_map(&sdk["headers"]);
        for (name, value) in signed_only(&signed.headers) {
            assert_eq!(sdk_headers.get(&name), Some(&value), "{what}: header {name}");
        }
        let extra: BTreeSet<&String> = sdk_headers.keys().filter(|name| !signed.headers.contains_key(*name)).collect();
        assert!(extra.iter().all(|name| sdk_only_header(case.action, name)), "{what}: the SDK also sends {extra:?}");
        assert_eq!(sdk_headers.contains_key("x-acs-security-token"), *with_token, "{what}");

        // keyseal's signer over the SDK's own request: the SDK's bytes.
        let canonical =
            acs3::canonical_request("POST", &to_map(&sdk["query"]), &sdk_headers, &sdk_headers["x-acs-content-sha256"]);
        assert_eq!(canonical, sdk["canonical_request"].as_str().unwrap(), "{what}");
        let authorization =
            acs3::authorization(access_key_id, secret.as_bytes(), &canonical, &acs3::signed_headers(&sdk_headers));
        assert_eq!(authorization, sdk["authorization"].as_str().unwrap(), "{what}");
    }
}

/// One HTTP request as it arrived: the request line and the headers (lower-case names).
struct Caught {
    request_line: String,
    headers: BTreeMap<String, String>,
}

/// Listens on a loopback port for one request, answers it with an error body (so the
/// client stops without retrying), and hands the request back.
fn catch_one_request() -> (String, std::thread::JoinHandle<Caught>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
        let body = r#"{"RequestId":"caught","HostId":"test","Code":"InvalidParameter","Message":"caught"}"#;
        let answer = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        (&stream).write_all(answer.as_bytes()).unwrap();
        Caught { request_line: request_line.trim_end().to_string(), headers }
    });
    (address, handle)
}

#[test]
fn what_remote_kms_sends_with_a_security_token_is_what_the_sdk_signer_signs() {
    let (address, caught) = catch_one_request();
    let kms = RemoteKms::new(&format!("http://{address}"), STS_KEY.0, Zeroizing::new(STS_KEY.1.to_string()))
        .unwrap()
        .with_security_token(Zeroizing::new(STS_TOKEN.to_string()));
    let refused = kms.describe_key(&KeyIdRequest { key_id: "alias/release 签名".into() }).unwrap_err();
    assert_eq!(refused.message, "caught");
    let caught = caught.join().unwrap();

    let target = caught.request_line.strip_prefix("POST /?").and_then(|rest| rest.strip_suffix(" HTTP/1.1"));
    let params = keyseal::server::auth::parse_form(target.unwrap_or_else(|| panic!("{}", caught.request_line)));
    assert_eq!(params, BTreeMap::from([("KeyId".to_string(), "alias/release 签名".to_string())]));
    assert_eq!(caught.headers["x-acs-security-token"], STS_TOKEN);
    assert_eq!(caught.headers["x-acs-accesskey-id"], STS_KEY.0);
    assert_eq!(caught.headers["x-acs-action"], "DescribeKey");
    assert_eq!(caught.headers["host"], address);
    let authorization = &caught.headers["authorization"];
    let signed_names = authorization.split("SignedHeaders=").nth(1).and_then(|rest| rest.split(',').next()).unwrap();
    assert_eq!(
        signed_names,
        "accept;host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version"
    );
    let signed: BTreeMap<String, String> =
        signed_names.split(';').map(|name| (name.to_string(), caught.headers[name].clone())).collect();
    let answers = sdk_answers(&[json!({
        "drive": false,
        "params": params,
        "access_key_id": STS_KEY.0,
        "secret": STS_KEY.1,
        "headers": signed,
    })]);
    assert_eq!(answers[0]["resign"]["authorization"], authorization.as_str());
}
