//! `keyseal ca csr`: a PKCS#10 certification request (RFC 2986) for a KMS key version,
//! signed through the KMS, so a public or corporate CA can certify a key that never
//! leaves it. The request is put together from x509-cert's `CertReqInfo` and signed by the
//! same `KmsSigner` that signs certificates, rather than by rcgen: rcgen would need an
//! adapter of its own for a remote key and would bring a second X.509 encoder for one
//! structure. Unlike x509-cert's `RequestBuilder`, it writes no extensionRequest attribute
//! when there is nothing to request (an empty `Extensions` is not valid DER for it).

use crate::ca::CaError;
use crate::ca::csr::read_csr;
use crate::ca::signer::KmsSigner;
use crate::ca::subject::{parse_san, parse_subject};
use crate::crypto::spec::Algorithm;
use crate::kms::{Kms, SigningKey};
use der::asn1::BitString;
use der::{Decode, Encode};
use spki::{DynSignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::ext::ToExtension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};

/// What to request.
#[derive(Debug, Clone)]
pub struct CsrRequest {
    /// The key to be certified: KeyId, alias or ARN (a SIGN/VERIFY key).
    pub key_id: String,
    /// Its version.
    pub key_version_id: String,
    /// The signature algorithm; by default the key's spec decides.
    pub algorithm: Option<Algorithm>,
    /// Subject DN, held to the same rules as `ca issue --subject`.
    pub subject: String,
    /// Subject alternative names to request (`dns:...`, `ip:...`, ...).
    pub sans: Vec<String>,
}

/// The request as PEM (`CERTIFICATE REQUEST`), with its self-signature already checked
/// the way `ca issue --csr` checks one.
pub fn make_csr(kms: &dyn Kms, request: &CsrRequest) -> Result<String, CaError> {
    let subject = parse_subject(&request.subject)?;
    let sans = request.sans.iter().map(|text| parse_san(text)?.general_name()).collect::<Result<Vec<_>, _>>()?;
    let key = SigningKey::resolve(kms, &request.key_id, &request.key_version_id, request.algorithm)?;
    let mut info = CertReqInfo {
        version: Version::V1,
        subject,
        public_key: SubjectPublicKeyInfoOwned::from_der(&key.public_spki)?,
        attributes: Default::default(),
    };
    if !sans.is_empty() {
        let extension = SubjectAltName(sans)
            .to_extension(&info.subject, &[])
            .map_err(|e| CaError::internal(format!("cannot encode the subjectAltName: {e}")))?;
        info.attributes
            .insert(ExtensionReq(vec![extension]).try_into()?)
            .map_err(|e| CaError::internal(format!("cannot add the extensionRequest: {e}")))?;
    }
    let signer = KmsSigner::new(kms, &key);
    let signature = signature::Signer::try_sign(&signer, &info.to_der()?).map_err(|_| match signer.take_error() {
        Some(err) => CaError::from(err),
        None => CaError::internal("the KMS did not sign the request"),
    })?;
    let algorithm = signer
        .signature_algorithm_identifier()
        .map_err(|e| CaError::internal(format!("no algorithm identifier for {}: {e}", key.algorithm)))?;
    let der = CertReq { info, algorithm, signature: BitString::from_bytes(&signature.0)? }.to_der()?;
    // Fail closed: what goes out must be a request `ca issue --csr` itself would accept.
    read_csr(&der)?;
    der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &der)
        .map_err(|e| CaError::internal(format!("cannot encode the request as PEM: {e}")))
}
