//! The TLS crypto provider, chosen by cargo feature in this one place, so `keyseal serve
//! --tls-cert`, RemoteKms's https endpoints and the TSA client all use the same one:
//! aws-lc-rs with feature `aws-lc` (the default, rustls' own default provider), else ring
//! with feature `ring`. A build with neither has no TLS: it refuses https up front with an
//! error naming the features, rather than letting ureq panic when a connection needs TLS.
//!
//! ureq is built without its `rustls` feature (which would pull in ring), so every agent
//! gets the provider from [`agent_config`]; rustls' process-wide default is never set.

use std::sync::Arc;

/// This build has no TLS provider (neither feature `aws-lc` nor `ring`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("this keyseal was built without TLS: rebuild it with feature aws-lc (the default) or ring to use https")]
pub struct TlsUnavailable;

/// The rustls provider of this build: aws-lc-rs.
#[cfg(feature = "aws-lc")]
pub fn provider() -> Result<Arc<rustls::crypto::CryptoProvider>, TlsUnavailable> {
    Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// The rustls provider of this build: ring, for a build without aws-lc.
#[cfg(all(feature = "ring", not(feature = "aws-lc")))]
pub fn provider() -> Result<Arc<rustls::crypto::CryptoProvider>, TlsUnavailable> {
    Ok(Arc::new(rustls::crypto::ring::default_provider()))
}

/// The rustls provider of this build: none.
#[cfg(not(any(feature = "aws-lc", feature = "ring")))]
pub fn provider() -> Result<Arc<rustls::crypto::CryptoProvider>, TlsUnavailable> {
    Err(TlsUnavailable)
}

/// Refuses a URL scheme that needs TLS when this build has none (see the module doc).
pub fn check_scheme(scheme: &str) -> Result<(), TlsUnavailable> {
    if scheme.eq_ignore_ascii_case("https") { provider().map(drop) } else { Ok(()) }
}

/// A ureq agent configuration whose https connections use this build's provider and trust
/// `roots`. In a build without TLS it follows no redirect, since one could lead to https.
pub fn agent_config(roots: ureq::tls::RootCerts) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    let builder = ureq::Agent::config_builder();
    match provider() {
        Ok(provider) => builder.tls_config(
            ureq::tls::TlsConfig::builder().root_certs(roots).unversioned_rustls_crypto_provider(provider).build(),
        ),
        Err(TlsUnavailable) => builder.max_redirects(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_never_needs_tls() {
        assert_eq!(check_scheme("http"), Ok(()));
    }

    #[cfg(any(feature = "aws-lc", feature = "ring"))]
    #[test]
    fn https_is_allowed_with_a_provider() {
        assert_eq!(check_scheme("HTTPS"), Ok(()));
        assert!(provider().is_ok_and(|p| !p.cipher_suites.is_empty()));
    }

    #[cfg(not(any(feature = "aws-lc", feature = "ring")))]
    #[test]
    fn https_is_refused_without_a_provider() {
        assert_eq!(check_scheme("https"), Err(TlsUnavailable));
    }
}
