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
