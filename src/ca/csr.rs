//! PKCS#10 certificate requests: the subject and public key they carry, accepted only when
//! the key passes the intake policy (`key_policy`) and the self-signature verifies (proof
//! that the requester holds the private key). The extensions a request asks for are
//! named, never used: the profile and `--san` decide what a certificate says.

use crate::ca::key_policy::{KeySource, check_subject_key};
use crate::ca::{CaCode, CaError};
use crate::x509::signature::verify_signed;
use der::Decode;
use der::asn1::ObjectIdentifier;
use der::oid::AssociatedOid;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, ExtensionReq};

/// What a request that passed brings: its subject, its key, and the names of the
/// extensions it asked for (which are not copied into the certificate).
#[derive(Debug, Clone)]
pub struct Csr {
    /// The subject it asks for (not yet checked against the subject rules).
    pub subject: Name,
    /// Its public key, accepted by the intake policy.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// The extensions in its extensionRequest attribute, by name, in order.
    pub requested_extensions: Vec<String>,
}

/// Reads a PEM (or DER) CSR: decodes it, holds its key to the intake policy (before the
/// self-signature, so a key keyseal does not certify is refused by name rather than as a
/// signature it cannot check), then verifies the self-signature.
pub fn read_csr(bytes: &[u8]) -> Result<Csr, CaError> {
    let bad = |why: String| CaError::new(CaCode::BadCsr, format!("the certificate request {why}"));
    let der = if bytes.starts_with(b"-----") || bytes.iter().take(64).all(|b| b.is_ascii()) {
        let pem = String::from_utf8_lossy(bytes);
        let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| bad(format!("is not a PEM CERTIFICATE REQUEST: {e}")))?;
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(bad(format!("is a PEM {label}, not a CERTIFICATE REQUEST")));
        }
        der
    } else {
        bytes.to_vec()
    };
    let request = CertReq::from_der(&der).map_err(|e| bad(format!("is not a DER PKCS#10 request: {e}")))?;
    check_subject_key(&request.info.public_key, KeySource::Csr)?;
    // The signature covers certificationRequestInfo as the requester encoded it.
    let range = crate::x509::received::signed_range(&der).map_err(|e| bad(format!("is not DER: {e}")))?;
    let signed = &der[range];
    let signature =
        request.signature.as_bytes().ok_or_else(|| bad("has a signature that is not whole bytes".into()))?;
    verify_signed(&request.info.public_key, &request.algorithm, signed, signature).map_err(|e| {
        bad(format!("has a self-signature that does not check out ({e}): it was altered, or not made with its key"))
    })?;
    let requested_extensions = requested_extensions(&request);
    Ok(Csr { subject: request.info.subject, public_key: request.info.public_key, requested_extensions })
}

/// The names of the extensions a request asks for (RFC 2986 §4.1, RFC 2985 §5.4.2). One
/// that cannot be read is listed as such rather than refused: nothing in it is used.
fn requested_extensions(request: &CertReq) -> Vec<String> {
    let mut names = Vec::new();
    for attribute in request.info.attributes.iter().filter(|a| a.oid == ExtensionReq::OID) {
        for value in attribute.values.iter() {
            match value.decode_as::<Vec<Extension>>() {
                Ok(extensions) => names.extend(extensions.iter().map(|e| extension_name(e.extn_id))),
                Err(_) => names.push("an unreadable extensionRequest".to_string()),
            }
        }
    }
    names
}

/// The usual name of an extension, or its OID.
fn extension_name(oid: ObjectIdentifier) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("2.5.29.19", "basicConstraints"),
        ("2.5.29.15", "keyUsage"),
        ("2.5.29.37", "extendedKeyUsage"),
        ("2.5.29.17", "subjectAltName"),
        ("2.5.29.14", "subjectKeyIdentifier"),
        ("2.5.29.35", "authorityKeyIdentifier"),
        ("2.5.29.30", "nameConstraints"),
        ("2.5.29.32", "certificatePolicies"),
        ("2.5.29.31", "cRLDistributionPoints"),
        ("1.3.6.1.5.5.7.1.1", "authorityInfoAccess"),
        ("1.3.6.1.5.5.7.1.24", "tlsFeature"),
    ];
    let text = oid.to_string();
    NAMES.iter().find(|(known, _)| *known == text).map(|(_, name)| name.to_string()).unwrap_or(text)
}
