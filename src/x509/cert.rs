//! Reading certificates and checking the one that names a signer: its key is the signing
//! key, it is valid at the given time, and it allows code signing.

use crate::x509::received::Cert;
use der::Encode;

pub use crate::x509::reason::{Purpose, Reason};

/// A refused certificate: the reason code and a message naming the certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", reason.code())]
pub struct CertError {
    /// The stable reason.
    pub reason: Reason,
    /// What is wrong, naming the certificate by subject and serial.
    pub message: String,
}

impl CertError {
    fn new(reason: Reason, message: impl Into<String>) -> CertError {
        CertError { reason, message: message.into() }
    }
}

/// Every certificate in a PEM file, in file order.
pub fn load_pem_chain(pem: &[u8]) -> Result<Vec<Cert>, CertError> {
    load_pem_chain_within(pem, &mut AttributeBudget::default())
}

/// [`load_pem_chain`], charging each certificate to `budget` as it is decoded: for one
/// input spread over several PEM texts (a bundle's `certificateChain`).
pub fn load_pem_chain_within(pem: &[u8], budget: &mut AttributeBudget) -> Result<Vec<Cert>, CertError> {
    let mut chain = Vec::new();
    for block in pem_blocks(pem, "CERTIFICATE") {
        let der = block
            .map_err(|e| CertError::new(Reason::MalformedCertificate, format!("not a PEM certificate chain: {e}")))?;
        let cert = from_der(&der)?;
        budget.charge(&cert)?;
        chain.push(cert);
    }
    if chain.is_empty() {
        return Err(CertError::new(Reason::MalformedCertificate, "the file holds no certificate"));
    }
    Ok(chain)
}

/// `subject "CN=...", serial 0A1B...`: how messages name a certificate (formatted when it
/// was read, the subject cut at [`crate::x509::display::MAX_SHOWN`] characters).
pub fn describe(cert: &Cert) -> String {
    cert.description().to_string()
}

/// Refuses unless `cert` certifies `public_spki` (DER) and passes path validation's
/// end-entity checks for code signing at `now` (Unix seconds): the same rules `verify
/// --trust` applies by default, so an end entity whose extendedKeyUsage names codeSigning
/// (RFC 5280 alone would let its absence mean any purpose).
pub fn check_code_signing_leaf(cert: &Cert, public_spki: &[u8], now: i64) -> Result<(), CertError> {
    let tbs = cert.tbs_certificate();
    let who = describe(cert);
    let cert_key = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(|e| CertError::new(Reason::MalformedCertificate, format!("{who}: unreadable public key: {e}")))?;
    if cert_key != public_spki {
        return Err(CertError::new(
            Reason::KeyMismatch,
            format!("{who} certifies another public key than the signing key version's"),
        ));
    }
    crate::x509::path::check_end_entity(cert, Purpose::CodeSigning, now)
        .map_err(|(reason, message)| CertError::new(reason, message))
}

/// Every certificate in a file, PEM (any number of CERTIFICATE blocks) or one DER
/// certificate, each parsed on its own: the results keep the file's order, and a block
/// that does not parse is an error in its place rather than the end of the file.
pub fn load_certificates(bytes: &[u8]) -> Vec<Result<Cert, CertError>> {
    if !bytes.starts_with(b"-----") && !bytes.iter().take(64).all(|b| b.is_ascii()) {
        return vec![from_der(bytes)];
    }
    let mut found: Vec<Result<Cert, CertError>> = pem_blocks(bytes, "CERTIFICATE")
        .into_iter()
        .map(|block| block.map_err(|e| CertError::new(Reason::MalformedCertificate, e)).and_then(|der| from_der(&der)))
        .collect();
    if found.is_empty() {
        found.push(Err(CertError::new(Reason::MalformedCertificate, "the file holds no CERTIFICATE")));
    }
    found
}

/// How many certificates a file holds, counted without decoding any: its CERTIFICATE PEM
/// blocks, or one when it is a DER certificate (as [`load_certificates`] tells them apart).
/// Decoding costs memory, a few hundred bytes per name attribute; a cap on what one input
/// holds is checked with this before anything is decoded.
pub fn count_certificates(bytes: &[u8]) -> usize {
    if !bytes.starts_with(b"-----") && !bytes.iter().take(64).all(|b| b.is_ascii()) {
        return 1;
    }
    String::from_utf8_lossy(bytes).matches("-----BEGIN CERTIFICATE-----").count()
}

/// Most issuer and subject name attributes the certificates of one input (all the files
/// given to one flag, or a bundle's chain) may hold in all. Each certificate holds at most
/// [`crate::x509::received::MAX_NAME_ATTRIBUTES`] per name, but a file of a thousand such
/// certificates (8 MiB) took 240 MiB to decode; real certificates hold a dozen or two,
/// so a trust store of a thousand roots holds some 20,000.
pub const MAX_NAME_ATTRIBUTES_PER_INPUT: usize = 65_536;

/// Counts the name attributes of the certificates one input decodes, refusing the first
/// that takes the total over [`MAX_NAME_ATTRIBUTES_PER_INPUT`].
#[derive(Debug, Default)]
pub struct AttributeBudget {
    spent: usize,
}

impl AttributeBudget {
    /// Charges `cert`'s issuer and subject attributes.
    pub fn charge(&mut self, cert: &Cert) -> Result<(), CertError> {
        let tbs = cert.tbs_certificate();
        self.spent += tbs.issuer().iter().count() + tbs.subject().iter().count();
        if self.spent > MAX_NAME_ATTRIBUTES_PER_INPUT {
            return Err(CertError::new(
                Reason::TooManyCertificates,
                format!(
                    "the certificates' names hold more than {MAX_NAME_ATTRIBUTES_PER_INPUT} attributes in all; real ones hold a dozen or two each, and keyseal reads no more"
                ),
            ));
        }
        Ok(())
    }
}

/// The DER contents of every `label` PEM block in a file, in order; a block that does not
/// decode is an error in its place (a block with no END line ends the list).
pub fn pem_blocks(bytes: &[u8], label: &str) -> Vec<Result<Vec<u8>, String>> {
    let text = String::from_utf8_lossy(bytes);
    let (begin, end) = (format!("-----BEGIN {label}-----"), format!("-----END {label}-----"));
    let mut blocks = Vec::new();
    for block in text.split(begin.as_str()).skip(1) {
        let Some(stop) = block.find(end.as_str()) else {
            blocks.push(Err(format!("a {label} block has no END line")));
            break;
        };
        let pem = format!("{begin}{}{end}\n", &block[..stop]);
        blocks.push(der::pem::decode_vec(pem.as_bytes()).map(|(_, der)| der).map_err(|e| format!("bad PEM: {e}")));
    }
    blocks
}

/// Parses one DER certificate.
pub fn from_der(der: &[u8]) -> Result<Cert, CertError> {
    Cert::from_der(der).map_err(|e| CertError::new(Reason::MalformedCertificate, format!("not a DER certificate: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DER: &[u8] = include_bytes!("../../fixtures/pkits/certs/GoodCACert.crt");

    fn pem(der: &[u8]) -> String {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
    }

    #[test]
    fn certificates_are_counted_as_they_are_loaded() {
        let three = pem(DER).repeat(3);
        assert_eq!(count_certificates(three.as_bytes()), 3);
        assert_eq!(load_certificates(three.as_bytes()).len(), 3);
        assert_eq!(count_certificates(DER), 1);
        assert_eq!(count_certificates(b""), 0);
        assert_eq!(count_certificates(b"-----BEGIN X509 CRL-----\n"), 0);
    }

    #[test]
    fn the_attribute_budget_is_spent_across_certificates() {
        let cert = from_der(DER).unwrap();
        let each = cert.tbs_certificate().issuer().iter().count() + cert.tbs_certificate().subject().iter().count();
        let mut budget = AttributeBudget::default();
        for _ in 0..MAX_NAME_ATTRIBUTES_PER_INPUT / each {
            budget.charge(&cert).unwrap();
        }
        let refused = (0..each).find_map(|_| budget.charge(&cert).err()).unwrap();
        assert_eq!(refused.reason, Reason::TooManyCertificates);
    }
}
