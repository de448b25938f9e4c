//! Taking a TimeStampResp, or a bare time-stamp token, apart — keeping the exact bytes that
//! were hashed and signed. A signature covers bytes, not structures: the signed attributes
//! are signed as the DER of a SET OF, and `der` sorts a SET OF it decodes, so re-encoding a
//! decoded SignerInfo can give other bytes than the TSA signed. The certificates are kept
//! as received for the same reason (see x509/received.rs). So the outer layers are walked
//! element by element, each element's TLV sliced out of the input, and only then decoded
//! with `cms` and [`asn1`](crate::tsa::asn1) types.
//!
//! Everything here may be hostile: DER only (definite, minimal lengths), every loop bounded
//! by the input's length, at most [`MAX_TOKEN_CERTIFICATES`] certificates, no panics.

use crate::tsa::asn1::{PkiStatusInfo, TstInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignerInfo};
use der::oid::db::rfc3161::ID_CT_TST_INFO;
use der::oid::db::rfc5911::ID_SIGNED_DATA;
use der::{Decode, Header, Reader, SliceReader, Tag, Tagged};

/// Most certificates a token may carry: the path validator takes no more from an untrusted
/// source (x509::path::MAX_UNTRUSTED_CERTIFICATES), and a TSA sends a handful.
pub const MAX_TOKEN_CERTIFICATES: usize = crate::x509::path::MAX_UNTRUSTED_CERTIFICATES;

/// Why the input is not a well-formed response or token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

fn malformed(what: impl Into<String>) -> Malformed {
    Malformed(what.into())
}

/// A TimeStampResp: the status, and the token when one is enclosed.
#[derive(Debug, Clone)]
pub struct Response {
    /// The PKIStatusInfo.
    pub status: PkiStatusInfo,
    /// The token, if any.
    pub token: Option<Token>,
}

/// A time-stamp token (a ContentInfo with SignedData over a TSTInfo), its parts decoded and
/// the signed bytes kept as received.
#[derive(Debug, Clone)]
pub struct Token {
    /// The whole token (the ContentInfo), as received: what a bundle stores.
    pub der: Vec<u8>,
    /// The certificates in SignedData's `certificates`, each exactly as received.
    pub certificates: Vec<Vec<u8>>,
    /// The one SignerInfo.
    pub signer: SignerInfo,
    /// The signed attributes as their signature covers them: the SET OF's DER (tag 0x31),
    /// byte for byte as received.
    pub signed_attributes: Vec<u8>,
    /// The eContent: the TSTInfo's DER, as the messageDigest attribute hashed it.
    pub tst_info_der: Vec<u8>,
    /// The TSTInfo, decoded.
    pub tst_info: TstInfo,
}

/// Reads `bytes` as a TimeStampResp, or as a bare token (a ContentInfo), which is what a
/// reply holds and what `openssl ts -reply -token_out` writes.
pub fn parse(bytes: &[u8]) -> Result<Response, Malformed> {
    let (_, elements) = children(bytes, "the reply")?;
    match elements.first().and_then(|first| first.first()) {
        Some(0x06) => Ok(Response { status: granted(), token: Some(parse_token(bytes)?) }),
        _ => parse_response(bytes),
    }
}

fn granted() -> PkiStatusInfo {
    PkiStatusInfo { status: crate::tsa::asn1::status::GRANTED, status_string: None, fail_info: None }
}

/// Reads a TimeStampResp (RFC 3161 §2.4.2).
pub fn parse_response(bytes: &[u8]) -> Result<Response, Malformed> {
    let (tag, elements) = children(bytes, "the TimeStampResp")?;
    if tag != Tag::Sequence || elements.is_empty() || elements.len() > 2 {
        return Err(malformed("the TimeStampResp is not a SEQUENCE of a status and an optional token"));
    }
    let status = PkiStatusInfo::from_der(elements[0])
        .map_err(|e| malformed(format!("the TimeStampResp's PKIStatusInfo does not parse: {e}")))?;
    let token = elements.get(1).map(|token| parse_token(token)).transpose()?;
    Ok(Response { status, token })
}

/// Reads a time-stamp token: ContentInfo { id-signedData, SignedData { ..., eContent
/// TSTInfo, exactly one SignerInfo with signed attributes } } (RFC 3161 §2.4.2).
pub fn parse_token(bytes: &[u8]) -> Result<Token, Malformed> {
    let (tag, content_info) = children(bytes, "the token")?;
    let [content_type, content] = content_info.as_slice() else {
        return Err(malformed("the token is not a ContentInfo (a content type and its content)"));
    };
    if tag != Tag::Sequence {
        return Err(malformed("the token is not a SEQUENCE"));
    }
    let oid = der::asn1::ObjectIdentifier::from_der(content_type)
        .map_err(|e| malformed(format!("the token's content type does not parse: {e}")))?;
    if oid != ID_SIGNED_DATA {
        return Err(malformed(format!("the token's content is {oid}, not SignedData")));
    }
    let (explicit, inner) = children(content, "the token's content")?;
    let [signed_data] = inner.as_slice() else {
        return Err(malformed("the token's [0] content does not hold exactly one SignedData"));
    };
    if explicit != context_tag(0) {
        return Err(malformed("the token's content is not tagged [0]"));
    }
    let mut token = signed_data_parts(signed_data)?;
    token.der = bytes.to_vec();
    Ok(token)
}

fn context_tag(number: u8) -> Tag {
    Tag::ContextSpecific { constructed: true, number: der::TagNumber(number.into()) }
}

/// SignedData ::= SEQUENCE { version, digestAlgorithms, encapContentInfo,
/// certificates [0] OPTIONAL, crls [1] OPTIONAL, signerInfos } (RFC 5652 §5.1).
fn signed_data_parts(signed_data: &[u8]) -> Result<Token, Malformed> {
    let (tag, fields) = children(signed_data, "SignedData")?;
    if tag != Tag::Sequence || fields.len() < 4 || fields.len() > 6 {
        return Err(malformed("SignedData does not have the fields RFC 5652 §5.1 gives it"));
    }
    let encap = EncapsulatedContentInfo::from_der(fields[2])
        .map_err(|e| malformed(format!("SignedData's encapContentInfo does not parse: {e}")))?;
    let (tst_info_der, tst_info) = tst_info(&encap)?;
    let mut certificates = Vec::new();
    for optional in &fields[3..fields.len() - 1] {
        match optional.first() {
            Some(0xA0) if certificates.is_empty() => certificates = certificate_set(optional)?,
            Some(0xA1) => {} // CRLs: the verifier takes its own revocation input.
            _ => return Err(malformed("SignedData has an unexpected field before signerInfos")),
        }
    }
    let (signer, signed_attributes) = only_signer(fields[fields.len() - 1])?;
    Ok(Token { der: Vec::new(), certificates, signer, signed_attributes, tst_info_der, tst_info })
}

fn tst_info(encap: &EncapsulatedContentInfo) -> Result<(Vec<u8>, TstInfo), Malformed> {
    if encap.econtent_type != ID_CT_TST_INFO {
        return Err(malformed(format!("the signed content is {}, not a TSTInfo", encap.econtent_type)));
    }
    let content = encap.econtent.as_ref().ok_or_else(|| malformed("the token holds no TSTInfo (no eContent)"))?;
    if content.tag() != Tag::OctetString {
        return Err(malformed("the eContent is not an OCTET STRING"));
    }
    let der = content.value().to_vec();
    let info = TstInfo::from_der(&der).map_err(|e| malformed(format!("the TSTInfo does not parse: {e}")))?;
    if info.version != 1 {
        return Err(malformed(format!("the TSTInfo is version {}, not 1", info.version)));
    }
    Ok((der, info))
}

/// certificates [0] IMPLICIT CertificateSet: each plain certificate, as received; other
/// CertificateChoices (attribute certificates) are passed over.
fn certificate_set(set: &[u8]) -> Result<Vec<Vec<u8>>, Malformed> {
    let (_, choices) = children(set, "SignedData's certificates")?;
    if choices.len() > MAX_TOKEN_CERTIFICATES {
        return Err(malformed(format!(
            "the token carries {} certificates; keyseal takes at most {MAX_TOKEN_CERTIFICATES}",
            choices.len()
        )));
    }
    Ok(choices.into_iter().filter(|choice| choice.first() == Some(&0x30)).map(<[u8]>::to_vec).collect())
}

/// signerInfos: exactly one SignerInfo (RFC 3161 §2.4.2), with signed attributes, and
/// those attributes' bytes as signed.
fn only_signer(signer_infos: &[u8]) -> Result<(SignerInfo, Vec<u8>), Malformed> {
    let (tag, signers) = children(signer_infos, "signerInfos")?;
    let [signer] = signers.as_slice() else {
        return Err(malformed(format!("the token has {} signers; RFC 3161 allows exactly one", signers.len())));
    };
    if tag != Tag::Set {
        return Err(malformed("signerInfos is not a SET"));
    }
    let decoded = SignerInfo::from_der(signer).map_err(|e| malformed(format!("the SignerInfo does not parse: {e}")))?;
    let (_, fields) = children(signer, "the SignerInfo")?;
    // version, sid, digestAlgorithm, then signedAttrs [0] IMPLICIT.
    let attributes = fields
        .get(3)
        .filter(|field| field.first() == Some(&0xA0))
        .ok_or_else(|| malformed("the SignerInfo has no signed attributes; a time-stamp token must"))?;
    let mut signed = attributes.to_vec();
    signed[0] = 0x31; // The signature covers them as an explicit SET OF (RFC 5652 §5.4).
    Ok((decoded, signed))
}

/// The tag of the one constructed element that is all of `bytes`, and its elements, each as
/// its whole TLV.
fn children<'a>(bytes: &'a [u8], what: &str) -> Result<(Tag, Vec<&'a [u8]>), Malformed> {
    let bad = |e: der::Error| malformed(format!("{what} is not DER: {e}"));
    let mut reader = SliceReader::new(bytes).map_err(bad)?;
    let header = Header::decode(&mut reader).map_err(bad)?;
    if !header.tag().is_constructed() {
        return Err(malformed(format!("{what} is not a constructed element")));
    }
    let content = reader.read_slice(header.length()).map_err(bad)?;
    reader.finish().map_err(bad)?;
    let mut inner = SliceReader::new(content).map_err(bad)?;
    let mut elements = Vec::new();
    // Each element is at least two bytes, so this ends within content.len() / 2 steps.
    while !inner.is_finished() {
        elements.push(inner.tlv_bytes().map_err(bad)?);
    }
    Ok((header.tag(), elements))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_token_without_panicking() {
        for bytes in [
            &[][..],
            &[0x30],
            &[0x30, 0x00],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x30, 0x03, 0x02, 0x01, 0x00],
            &[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00, 0x00],
            &[0x30, 0x05, 0x06, 0x03, 0x2a, 0x03, 0x04],
            &[0x04, 0x02, 0x30, 0x00],
        ] {
            assert!(parse(bytes).is_err() || parse(bytes).is_ok_and(|r| r.token.is_none()), "{bytes:?}");
        }
    }

    #[test]
    fn reads_a_rejection() {
        // TimeStampResp { status { rejection, failInfo badAlg } }
        let bytes = [0x30, 0x09, 0x30, 0x07, 0x02, 0x01, 0x02, 0x03, 0x02, 0x07, 0x80];
        let response = parse(&bytes).unwrap();
        assert_eq!(response.status.status, 2);
        assert!(response.token.is_none());
    }
}
