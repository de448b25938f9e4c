//! `keyseal timestamp query`: a DER TimeStampReq (RFC 3161 §2.4.1) for a digest, as
//! `openssl ts -query` writes one — version 1, the message imprint, a random 64-bit nonce
//! unless asked not to, certReq when asked.

use crate::tsa::asn1::{MessageImprint, TimeStampReq};
use crate::tsa::{ImprintHash, TsaCode, TsaError, random_integer};
use der::Encode;
use der::asn1::OctetString;

/// What to ask for.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    /// The hash algorithm of `digest`.
    pub hash: ImprintHash,
    /// The digest of the datum.
    pub digest: Vec<u8>,
    /// Send a random nonce (the reply must echo it).
    pub nonce: bool,
    /// Ask for the TSA's certificate in the reply.
    pub cert_req: bool,
}

/// The request as DER.
pub fn make_query(request: &QueryRequest) -> Result<Vec<u8>, TsaError> {
    Ok(make_query_with_nonce(request)?.0)
}

/// The request as DER, and the nonce in it (which the reply must echo).
pub fn make_query_with_nonce(request: &QueryRequest) -> Result<(Vec<u8>, Option<der::asn1::Int>), TsaError> {
    if request.digest.len() != request.hash.digest_len() {
        return Err(TsaError::new(
            TsaCode::BadDigest,
            format!(
                "the digest is {} bytes; a {} digest is {} (give it as hex, e.g. the first field of `{}sum FILE`)",
                request.digest.len(),
                request.hash.name(),
                request.hash.digest_len(),
                request.hash.name()
            ),
        ));
    }
    let query = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: request.hash.algorithm_identifier(),
            hashed_message: OctetString::new(request.digest.clone())?,
        },
        req_policy: None,
        // 8 bytes, as OpenSSL sends: replay protection does not need more.
        nonce: if request.nonce { Some(random_integer(8)?) } else { None },
        cert_req: request.cert_req,
        extensions: None,
    };
    Ok((query.to_der()?, query.nonce))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;

    #[test]
    fn a_query_decodes_to_what_was_asked() {
        let request = QueryRequest { hash: ImprintHash::Sha384, digest: vec![7; 48], nonce: true, cert_req: true };
        let query = TimeStampReq::from_der(&make_query(&request).unwrap()).unwrap();
        assert_eq!(query.version, 1);
        assert_eq!(query.message_imprint.hash_algorithm.oid, ImprintHash::Sha384.oid());
        assert_eq!(query.message_imprint.hashed_message.as_bytes(), &[7; 48]);
        assert!(query.cert_req && query.nonce.is_some());
        let bare = QueryRequest { nonce: false, cert_req: false, ..request.clone() };
        let query = TimeStampReq::from_der(&make_query(&bare).unwrap()).unwrap();
        assert!(!query.cert_req && query.nonce.is_none());
        let short = QueryRequest { digest: vec![7; 32], ..request };
        assert_eq!(make_query(&short).unwrap_err().code, "bad-digest");
    }
}
