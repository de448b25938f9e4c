//! PKCS#10 certificate requests: the subject and public key they carry, accepted only when
//! their self-signature verifies (proof that the requester holds the private key).

use crate::ca::CaError;
use crate::x509::signature::verify_signed;
use der::Decode;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::name::Name;
use x509_cert::request::CertReq;

/// The subject and public key of a PEM (or DER) CSR whose self-signature verifies.
pub fn read_csr(bytes: &[u8]) -> Result<(Name, SubjectPublicKeyInfoOwned), CaError> {
    let bad = |why: String| CaError::new("bad-csr", format!("the certificate request {why}"));
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
    // The signature covers certificationRequestInfo as the requester encoded it.
    let range = crate::x509::received::signed_range(&der).map_err(|e| bad(format!("is not DER: {e}")))?;
    let signed = &der[range];
    let signature =
        request.signature.as_bytes().ok_or_else(|| bad("has a signature that is not whole bytes".into()))?;
    verify_signed(&request.info.public_key, &request.algorithm, signed, signature).map_err(|e| {
        bad(format!("has a self-signature that does not check out ({e}): it was altered, or not made with its key"))
    })?;
    Ok((request.info.subject, request.info.public_key))
}
