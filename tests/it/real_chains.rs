//! Real chains of public web sites (`fixtures/real-chains/`, see its README) against every
//! root of Debian's `ca-certificates` bundle (`fixtures/real-roots/`), each at the moment
//! its leaf was captured: `keyseal cert verify --purpose server --hostname` (so the web-PKI
//! profile applies) must accept them as OpenSSL (`-x509_strict`) and pyca `cryptography`'s
//! server verifier do, pick the right anchor among 142, and refuse the same chains for the
//! wrong name, outside the leaf's validity, without the intermediate or without the root.
//! The roots include ones that break RFC 5280's certificate profile (serial number 0, no
//! subjectKeyIdentifier, SHA-1 self-signatures); a bundle that did not load whole would be
//! unusable input (exit 2), so the valid verdicts also show that every root is an anchor.

use crate::common::openssl::path;
use crate::common::{Keyseal, pyca};
use serde_json::Value;
use std::path::PathBuf;

const BUNDLE: &str = "fixtures/real-roots/debian-ca-certificates-20230311+deb12u1.pem";

/// One captured chain: the name it was served for, the validation time (one second after
/// the leaf's notBefore, as the capture recorded it), the anchor keyseal must end at, and
/// another name its subjectAltName covers (through a wildcard where it has one).
struct Site {
    name: &'static str,
    at: &'static str,
    anchor: &'static str,
    also_good_for: &'static str,
}

const SITES: [Site; 3] = [
    Site {
        name: "cloudflare.com",
        at: "2024-01-30T00:00:01Z",
        anchor: "CN=Baltimore CyberTrust Root,OU=CyberTrust,O=Baltimore,C=IE",
        also_good_for: "any.ns.cloudflare.com",
    },
    Site {
        name: "docs.python.org",
        at: "2023-06-29T16:48:44Z",
        anchor: "CN=GlobalSign,O=GlobalSign,OU=GlobalSign Root CA - R3",
        also_good_for: "any.python.org",
    },
    Site {
        name: "facebook.com",
        at: "2025-12-18T00:00:01Z",
        anchor: "CN=DigiCert Global Root G2,OU=www.digicert.com,O=DigiCert Inc,C=US",
        also_good_for: "www.facebook.com",
    },
];

fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

impl Site {
    fn leaf(&self) -> PathBuf {
        fixture(&format!("fixtures/real-chains/{}/leaf.pem", self.name))
    }

    fn intermediates(&self) -> PathBuf {
        fixture(&format!("fixtures/real-chains/{}/intermediates.pem", self.name))
    }

    /// keyseal's report on the chain, asked about `hostname` at `at` with `trust` and,
    /// when `with_intermediates`, the site's intermediates.
    fn keyseal(&self, ks: &Keyseal, hostname: &str, at: &str, trust: &str, with_intermediates: bool) -> Value {
        let (leaf, intermediates, trust) = (self.leaf(), self.intermediates(), fixture(trust));
        let mut args = vec!["cert", "verify", path(&leaf), "--trust", path(&trust), "--purpose", "server"];
        if with_intermediates {
            args.extend(["--chain", path(&intermediates)]);
        }
        args.extend(["--hostname", hostname, "--at", at, "--json"]);
        let run = ks.run(&args);
        assert!(run.status == 0 || run.status == 1, "{}: {}", self.name, run.stderr);
        run.json()
    }

    /// `openssl verify -x509_strict` on the same question.
    fn openssl_accepts(&self, hostname: &str, at: &str) -> bool {
        let unix = keyseal::clock::parse_time(at).unwrap().to_string();
        let out = std::process::Command::new("openssl")
            .args(["verify", "-x509_strict", "-purpose", "sslserver", "-attime", &unix])
            .args(["-verify_hostname", hostname, "-CAfile", path(&fixture(BUNDLE))])
            .args(["-untrusted", path(&self.intermediates()), path(&self.leaf())])
            .output()
            .unwrap();
        out.status.success()
    }
}

fn reason(report: &Value) -> &str {
    if report["valid"] == true { "valid" } else { report["reason"].as_str().unwrap_or("?") }
}

#[test]
fn real_chains_validate_to_their_root_among_all_of_debians() {
    let ks = Keyseal::new();
    for site in &SITES {
        let report = site.keyseal(&ks, site.name, site.at, BUNDLE, true);
        assert_eq!(reason(&report), "valid", "{}: {report}", site.name);
        let path = report["path"].as_array().unwrap();
        assert_eq!(path.len(), 3, "{}: {report}", site.name);
        assert_eq!(path[2]["subject"], site.anchor, "{}", site.name);
        let web_pki = report["checks"].as_array().unwrap().iter().filter(|c| c["check"] == "web-pki").count();
        assert_eq!(web_pki, 2, "{}: the web-PKI profile ran on the leaf and the intermediate", site.name);
        assert!(site.openssl_accepts(site.name, site.at), "{}: OpenSSL refuses", site.name);
        let pyca =
            pyca::server_verdict(&fixture(BUNDLE), &[&site.intermediates()], &site.leaf(), site.name, Some(site.at));
        assert_eq!(pyca, "valid", "{}", site.name);
        let other = site.keyseal(&ks, site.also_good_for, site.at, BUNDLE, true);
        assert_eq!(reason(&other), "valid", "{} for {}", site.name, site.also_good_for);
    }
}

#[test]
fn real_chains_are_refused_for_what_they_are_not() {
    let ks = Keyseal::new();
    for site in &SITES {
        let wrong_name = site.keyseal(&ks, "example.com", site.at, BUNDLE, true);
        assert_eq!(reason(&wrong_name), "hostname-mismatch", "{}", site.name);
        assert!(!site.openssl_accepts("example.com", site.at), "{}", site.name);
        // `at` is one second after the leaf's notBefore: one second before that, too soon.
        let not_before = keyseal::clock::parse_time(site.at).unwrap() - 1;
        assert_eq!(reason(&site.keyseal(&ks, site.name, &not_before.to_string(), BUNDLE, true)), "valid");
        let too_soon = (not_before - 1).to_string();
        assert_eq!(reason(&site.keyseal(&ks, site.name, &too_soon, BUNDLE, true)), "not-yet-valid", "{}", site.name);
        assert!(!site.openssl_accepts(site.name, &too_soon), "{} at {too_soon}", site.name);
        let late = site.keyseal(&ks, site.name, "2040-01-01T00:00:00Z", BUNDLE, true);
        assert_eq!(reason(&late), "expired", "{}", site.name);
        let no_intermediate = site.keyseal(&ks, site.name, site.at, BUNDLE, false);
        assert_eq!(reason(&no_intermediate), "chain-incomplete", "{}", site.name);
        let other_root = "fixtures/real-roots/Starfield_Root_Certificate_Authority_-_G2.pem";
        let unanchored = site.keyseal(&ks, site.name, site.at, other_root, true);
        assert_eq!(reason(&unanchored), "chain-incomplete", "{}", site.name);
    }
}
