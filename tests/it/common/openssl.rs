//! OpenSSL as a certificate factory for the verifier tests: keys and certificates with
//! exactly the extensions a test names, so each defect is made by a peer nobody here wrote.

use super::peer;
use std::path::{Path, PathBuf};

pub use super::path;

/// A scratch directory where OpenSSL makes keys and certificates with exact extensions.
pub struct Openssl {
    pub dir: PathBuf,
}

impl Openssl {
    pub fn new(ks: &super::Keyseal) -> Openssl {
        let dir = ks.file("openssl");
        std::fs::create_dir_all(&dir).unwrap();
        Openssl { dir }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn run(&self, args: &[&str]) {
        let (ok, text) = peer("openssl", args);
        assert!(ok, "openssl {args:?}: {text}");
    }

    pub fn key(&self, name: &str) -> PathBuf {
        let key = self.file(&format!("{name}.key"));
        if !key.exists() {
            self.run(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path(&key)]);
        }
        key
    }

    pub fn config(&self, name: &str, extensions: &str) -> PathBuf {
        let config = self.file(&format!("{name}.cnf"));
        std::fs::write(&config, format!("[req]\ndistinguished_name = dn\n[dn]\n[ext]\n{extensions}\n")).unwrap();
        config
    }

    /// A self-signed certificate for key `key_name`.
    pub fn root(&self, name: &str, key_name: &str, subject: &str, extensions: &str) -> PathBuf {
        let cert = self.file(&format!("{name}.pem"));
        let config = self.config(name, extensions);
        self.run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            path(&self.key(key_name)),
            "-subj",
            subject,
            "-days",
            "365",
            "-config",
            path(&config),
            "-extensions",
            "ext",
            "-out",
            path(&cert),
        ]);
        cert
    }

    /// A CA and a TLS server certificate it issued, with subject `/CN=server_cn` and
    /// `extensions` (its subjectAltName): (CA certificate, server certificate, server
    /// key). The key is readable by its owner only, as PostgreSQL requires of its own.
    pub fn tls_server(&self, name: &str, server_cn: &str, extensions: &str) -> (PathBuf, PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        const CA: &str = "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash";
        let (ca_name, server_name) = (format!("{name}-ca"), format!("{name}-server"));
        let ca = self.root(&ca_name, &ca_name, &format!("/CN={name} test CA"), CA);
        let cert = self.issue(&server_name, &server_name, &format!("/CN={server_cn}"), &ca, &ca_name, extensions);
        let key = self.key(&server_name);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        (ca, cert, key)
    }

    /// A certificate for key `key_name`, issued by `issuer` (whose key is `issuer_key`),
    /// valid for 200 days.
    pub fn issue(
        &self,
        name: &str,
        key_name: &str,
        subject: &str,
        issuer: &Path,
        issuer_key: &str,
        extensions: &str,
    ) -> PathBuf {
        self.issue_for("200", name, key_name, subject, issuer, issuer_key, extensions)
    }

    /// [`Openssl::issue`], valid for `days` days.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_for(
        &self,
        days: &str,
        name: &str,
        key_name: &str,
        subject: &str,
        issuer: &Path,
        issuer_key: &str,
        extensions: &str,
    ) -> PathBuf {
        let (csr, cert) = (self.file(&format!("{name}.csr")), self.file(&format!("{name}.pem")));
        let config = self.config(name, extensions);
        self.run(&[
            "req",
            "-new",
            "-key",
            path(&self.key(key_name)),
            "-subj",
            subject,
            "-config",
            path(&config),
            "-out",
            path(&csr),
        ]);
        self.run(&[
            "x509",
            "-req",
            "-in",
            path(&csr),
            "-CA",
            path(issuer),
            "-CAkey",
            path(&self.key(issuer_key)),
            "-days",
            days,
            "-extfile",
            path(&config),
            "-extensions",
            "ext",
            "-out",
            path(&cert),
        ]);
        cert
    }
}

/// An RFC 3161 time stamp over `data` asked for with `openssl ts -query`, granted by
/// `keyseal timestamp reply` with the TSA key version `tsa` and certificate `tsa_cert`,
/// and verified by `openssl ts -verify` to `root`.
pub fn time_stamp_checked(ks: &super::Keyseal, data: &Path, tsa: (&str, &str), tsa_cert: &Path, root: &Path) {
    let (query, reply) = (ks.file("q.tsq"), ks.file("r.tsr"));
    let (ok, text) = peer("openssl", &["ts", "-query", "-data", path(data), "-sha256", "-cert", "-out", path(&query)]);
    assert!(ok, "{text}");
    let (key_id, version) = tsa;
    ks.ok_text(&[
        "timestamp",
        "reply",
        "--key-id",
        key_id,
        "--key-version-id",
        version,
        "--cert",
        path(tsa_cert),
        "--in",
        path(&query),
        "--out",
        path(&reply),
    ]);
    let verify = [
        "ts",
        "-verify",
        "-in",
        path(&reply),
        "-queryfile",
        path(&query),
        "-CAfile",
        path(root),
        "-untrusted",
        path(tsa_cert),
    ];
    let (ok, text) = peer("openssl", &verify);
    assert!(ok && text.contains("Verification: OK"), "openssl ts -verify: {text}");
}
