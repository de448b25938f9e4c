//! A Sigstore `trusted_root.json` (media type
//! `application/vnd.dev.sigstore.trustedroot+json;version=0.1`) naming keyseal's CAs and
//! TSAs, so that Sigstore's verifiers check the certificate form of `SHA256SUMS.sigstore.json`
//! and its time stamps (`cosign verify-blob --trusted-root`, sigstore-js `toTrustMaterial`).
//!
//! Each authority is a chain, the authority's own certificate first and its root last,
//! checked here before it is written: an issuing CA's chain validates to its root, and a
//! time-stamping authority's starts with the TSA's certificate (critical, sole
//! timeStamping EKU) — Sigstore verifiers pick the authority of a time stamp by the
//! token's signer serial and issuer, which only the TSA's own certificate matches.
//! `validFor` is the first certificate's validity.

use crate::clock::format_unix;
use crate::release::ReleaseError;
use crate::release::sigstore::b64;
use crate::x509::path::{ValidationOptions, validate};
use crate::x509::{Cert, Purpose, describe};
use der::oid::db::rfc4519::{COMMON_NAME, ORGANIZATION_NAME};
use serde_json::{Value, json};

/// The trusted root's media type.
pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// The trusted root as JSON, pretty-printed, with a final newline: `cas` are certificate
/// authorities (an issuing CA's chain: the CA first, its root last), `tsas` time-stamping
/// authorities (the TSA's certificate first, its root last), each checked at `now`.
pub fn trusted_root_json(cas: &[Vec<Cert>], tsas: &[Vec<Cert>], now: i64) -> Result<Vec<u8>, ReleaseError> {
    let authorities = |chains: &[Vec<Cert>], purpose: Purpose, flag: &str| {
        chains.iter().map(|chain| authority(chain, purpose, flag, now)).collect::<Result<Vec<_>, _>>()
    };
    let root = json!({
        "mediaType": MEDIA_TYPE,
        "tlogs": [],
        "certificateAuthorities": authorities(cas, Purpose::Any, "--trust")?,
        "ctlogs": [],
        "timestampAuthorities": authorities(tsas, Purpose::Timestamping, "--tsa-trust")?,
    });
    let mut bytes = serde_json::to_vec_pretty(&root)
        .map_err(|e| ReleaseError::Internal(format!("cannot encode the trusted root: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// One authority: the chain checked, then described.
fn authority(chain: &[Cert], purpose: Purpose, flag: &str, now: i64) -> Result<Value, ReleaseError> {
    check_chain(chain, purpose, flag, now)?;
    let first = &chain[0];
    let subject = first.tbs_certificate().subject();
    let certificates = chain.iter().map(|cert| json!({ "rawBytes": b64(cert.der()) })).collect::<Vec<_>>();
    Ok(json!({
        "subject": {
            "organization": attribute(subject, ORGANIZATION_NAME).unwrap_or_default(),
            "commonName": attribute(subject, COMMON_NAME).unwrap_or_default(),
        },
        "uri": "",
        "certChain": { "certificates": certificates },
        "validFor": { "start": format_unix(first.not_before), "end": format_unix(first.not_after) },
    }))
}

/// The chain is whole and valid now: it ends with a self-signed root, and its first
/// certificate validates through the rest to that root for `purpose`; a certificate
/// authority's first certificate is a CA.
fn check_chain(chain: &[Cert], purpose: Purpose, flag: &str, now: i64) -> Result<(), ReleaseError> {
    let (Some(first), Some(root)) = (chain.first(), chain.last()) else {
        return Err(ReleaseError::Input(format!("{flag}: a file holds no certificate")));
    };
    if root.tbs_certificate().subject() != root.tbs_certificate().issuer() {
        return Err(ReleaseError::Input(format!(
            "{flag}: the chain ends with {}, not a root (a self-issued certificate): give the chain up to its root",
            describe(root)
        )));
    }
    let intermediates = chain.get(1..chain.len() - 1).unwrap_or_default();
    let report = validate(first, intermediates, std::slice::from_ref(root), &ValidationOptions::new(now, purpose));
    if let Some(reason) = report.reason {
        return Err(ReleaseError::Input(format!(
            "{flag}: {} does not validate to {} now [{}]: {}",
            describe(first),
            describe(root),
            reason.code(),
            report.message.unwrap_or_default()
        )));
    }
    if purpose == Purpose::Any && chain.len() > 1 && !is_ca(first) {
        return Err(ReleaseError::Input(format!(
            "{flag}: {} is not a CA; a certificate authority's chain starts with the CA that issues signers' certificates",
            describe(first)
        )));
    }
    Ok(())
}

/// The first value of attribute `oid` in `name`, when it is a UTF8String or PrintableString.
fn attribute(name: &x509_cert::name::Name, oid: der::asn1::ObjectIdentifier) -> Option<String> {
    let value = name.iter_rdn().flat_map(|rdn| rdn.iter()).find(|atv| atv.oid == oid)?;
    der::asn1::Utf8StringRef::try_from(&value.value)
        .map(|s| s.as_str().to_string())
        .or_else(|_| der::asn1::PrintableStringRef::try_from(&value.value).map(|s| s.as_str().to_string()))
        .ok()
}

fn is_ca(cert: &Cert) -> bool {
    use x509_cert::ext::pkix::BasicConstraints;
    matches!(cert.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, constraints))) if constraints.ca)
}
