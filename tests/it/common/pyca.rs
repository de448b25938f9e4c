//! pyca `cryptography`'s web-PKI verifier, a peer the chain validator is compared with.

use crate::common::openssl::path;
use std::path::Path;

/// pyca `cryptography`'s server verifier (`PolicyBuilder().build_server_verifier`: RFC
/// 5280, RFC 9525 names and the CA/Browser Forum profile) on a chain and a DNS name, at
/// `at` (RFC 3339) or now: "valid" or "invalid: why". `roots` may hold a whole bundle.
pub fn server_verdict(roots: &Path, chain: &[&Path], leaf: &Path, hostname: &str, at: Option<&str>) -> String {
    const SCRIPT: &str = r#"
import sys, datetime
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
roots, leaf, host, at, *chain = sys.argv[1:]
load = lambda path: x509.load_pem_x509_certificates(open(path, "rb").read())
when = datetime.datetime.fromisoformat(at.replace("Z", "+00:00")) if at else datetime.datetime.now(datetime.timezone.utc)
verifier = PolicyBuilder().store(Store(load(roots))).time(when).build_server_verifier(x509.DNSName(host))
try:
    verifier.verify(load(leaf)[0], [c for path in chain for c in load(path)])
    print("valid")
except VerificationError as e:
    print("invalid:", e)
"#;
    let python = crate::common::venv_python(
        &["cryptography==50.0.2"],
        "from cryptography.x509.verification import PolicyBuilder",
    );
    let mut command = std::process::Command::new(python);
    command.args(["-W", "ignore", "-c", SCRIPT, path(roots), path(leaf), hostname, at.unwrap_or("")]);
    command.args(chain.iter().map(|c| path(c)));
    let out = command.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
