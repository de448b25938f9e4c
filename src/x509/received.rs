//! Certificates and CRLs as received, byte for byte. A signature covers the exact bytes
//! its signer produced, so verification slices tbsCertificate (tbsCertList) out of the
//! original DER instead of re-encoding the decoded structure: x509-cert re-encodes
//! validity times its own way (a GeneralizedTime before 2050 comes back as UTCTime), so a
//! legal but unusual certificate would otherwise fail `bad-signature`.
//!
//! Validity is read here too, per RFC 5280 §4.1.2.5: UTCTime `YY` of 50 or more means
//! 19YY, so validity reaches back to 1950, while the `der` crate's time types stop at 1970
//! and refuse to decode such a certificate at all. The decoded copy is therefore made
//! from bytes in which a pre-1970 time is replaced by 1970-01-01 of the same length; that
//! copy's validity is never read — [`Cert::not_before`] and [`Cert::not_after`] are.

use crate::x509::signature::{Digests, Message};
use std::ops::{Deref, Range};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION_TAG: u8 = 0xA0;

/// One DER element: its tag, where its contents lie, and where it ends.
struct Tlv {
    tag: u8,
    contents: Range<usize>,
    end: usize,
}

/// Reads the element starting at `at` (single-octet tags, definite minimal lengths).
fn tlv(bytes: &[u8], at: usize) -> Result<Tlv, String> {
    let short = || "truncated DER".to_string();
    let tag = *bytes.get(at).ok_or_else(short)?;
    if tag & 0x1F == 0x1F {
        return Err("a high-number tag where none belongs".into());
    }
    let first = *bytes.get(at + 1).ok_or_else(short)?;
    let (length, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 {
            return Err("an indefinite or oversized length".into());
        }
        let octets = bytes.get(at + 2..at + 2 + count).ok_or_else(short)?;
        if octets[0] == 0 || (count == 1 && octets[0] < 0x80) {
            return Err("a length not in minimal form".into());
        }
        (octets.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b)), 2 + count)
    };
    let start = at + header;
    let end = start.checked_add(length).filter(|end| *end <= bytes.len()).ok_or_else(short)?;
    Ok(Tlv { tag, contents: start..end, end })
}

/// The first element inside the SEQUENCE that makes up all of `der`: the to-be-signed
/// part of a certificate, CRL or CSR, as a range of `der`.
pub fn signed_range(der: &[u8]) -> Result<Range<usize>, String> {
    let outer = tlv(der, 0)?;
    if outer.tag != SEQUENCE || outer.end != der.len() {
        return Err("not one DER SEQUENCE".into());
    }
    let inner = tlv(der, outer.contents.start)?;
    if inner.tag != SEQUENCE {
        return Err("the signed part is not a SEQUENCE".into());
    }
    Ok(outer.contents.start..inner.end)
}

/// A time of a certificate's validity (RFC 5280 §4.1.2.5), as Unix seconds. Only the
/// forms the RFC allows: `YYMMDDHHMMSSZ` and `YYYYMMDDHHMMSSZ`.
fn parse_time(tag: u8, text: &[u8]) -> Result<i64, String> {
    let digits = |range: Range<usize>| -> Result<i64, String> {
        let part = text.get(range).ok_or("a time too short")?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err("a time with a non-digit".into());
        }
        Ok(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (year, rest) = match (tag, text.len()) {
        (UTC_TIME, 13) => {
            let yy = digits(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (GENERALIZED_TIME, 15) => (digits(0..4)?, 4),
        _ => return Err("a validity time that is not YYMMDDHHMMSSZ (UTCTime) or YYYYMMDDHHMMSSZ".into()),
    };
    if text.last() != Some(&b'Z') {
        return Err("a validity time not in UTC (Z)".into());
    }
    let (month, day) = (digits(rest..rest + 2)?, digits(rest + 2..rest + 4)?);
    let (hour, minute, second) =
        (digits(rest + 4..rest + 6)?, digits(rest + 6..rest + 8)?, digits(rest + 8..rest + 10)?);
    if !(1..=12).contains(&month) || day < 1 || day > crate::clock::days_in_month(year, month) {
        return Err("a validity date that does not exist".into());
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("a validity time of day that does not exist".into());
    }
    Ok(crate::clock::days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Most attributes a certificate's issuer or subject name may hold. Real names hold a
/// dozen; decoded (and put in comparable form) each attribute costs some 300 bytes of
/// memory, so an 8 MiB certificate of tiny attributes took 320 MiB before any check
/// (issue 27). Counted on the DER, before anything is decoded.
pub const MAX_NAME_ATTRIBUTES: usize = 1024;

/// Refuses an issuer or subject name of more than [`MAX_NAME_ATTRIBUTES`] attributes,
/// counting them in `der` without decoding (`name` is where the Name starts).
fn check_name_size(der: &[u8], name: usize, which: &str) -> Result<(), String> {
    let name = tlv(der, name)?;
    let mut attributes = 0usize;
    let mut rdn_at = name.contents.start;
    while rdn_at < name.contents.end {
        let rdn = tlv(der, rdn_at)?;
        let mut atv_at = rdn.contents.start;
        while atv_at < rdn.contents.end {
            attributes += 1;
            if attributes > MAX_NAME_ATTRIBUTES {
                return Err(format!(
                    "its {which} name holds more than {MAX_NAME_ATTRIBUTES} attributes; real names hold a dozen, and keyseal reads no more"
                ));
            }
            atv_at = tlv(der, atv_at)?.end;
        }
        rdn_at = rdn.end;
    }
    Ok(())
}

/// Most names a subjectAltName or issuerAltName may list, and most subtrees one side of a
/// nameConstraints may hold. Real certificates list a few hundred names at most; decoded
/// and put in comparable form, each costs some 250 bytes, so 1.5 million one-letter DNS
/// names (4.5 MB) took 370 MiB (issue 27). Counted on the extension's DER, before it is
/// decoded.
pub const MAX_GENERAL_NAMES: usize = 16_384;

/// The elements of the DER SEQUENCE (or SET) whose contents are `contents`, counted up to
/// `limit + 1`; `None` when they do not parse (the decoder reports that in its place).
fn count_elements(bytes: &[u8], contents: Range<usize>, limit: usize) -> Option<usize> {
    let (mut count, mut at) = (0, contents.start);
    while at < contents.end && count <= limit {
        at = tlv(bytes, at).ok()?.end;
        count += 1;
    }
    Some(count)
}

/// Whether the DER SEQUENCE (or SET) that is all of `bytes` holds more than `limit`
/// elements, counted without decoding them; false when it does not parse (the decoder
/// reports that in its place). For extension values whose length is bounded.
pub(crate) fn holds_more_than(bytes: &[u8], limit: usize) -> bool {
    let Ok(outer) = tlv(bytes, 0) else { return false };
    count_elements(bytes, outer.contents, limit).is_some_and(|n| n > limit)
}

/// Refuses a subjectAltName or issuerAltName of more than [`MAX_GENERAL_NAMES`] names, or
/// a nameConstraints with more subtrees on one side.
fn check_general_name_counts(cert: &Certificate) -> Result<(), String> {
    const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
    const ISSUER_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x12];
    const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        let value = ext.extn_value.as_bytes();
        let lists: Vec<Range<usize>> = match ext.extn_id.as_bytes() {
            SUBJECT_ALT_NAME | ISSUER_ALT_NAME => vec![Range { start: 0, end: value.len() }],
            NAME_CONSTRAINTS => {
                let Ok(outer) = tlv(value, 0) else { continue };
                let mut sides = Vec::new();
                let mut at = outer.contents.start;
                while let Some(side) = (at < outer.contents.end).then(|| tlv(value, at).ok()).flatten() {
                    sides.push(at..side.end);
                    at = side.end;
                }
                sides
            }
            _ => continue,
        };
        for list in lists {
            if holds_more_than(&value[list], MAX_GENERAL_NAMES) {
                return Err(format!(
                    "its extension {} lists more than {MAX_GENERAL_NAMES} names or subtrees; real certificates list a few hundred at most, and keyseal reads no more",
                    ext.extn_id
                ));
            }
        }
    }
    Ok(())
}

/// A CRL's issuer name held to [`MAX_NAME_ATTRIBUTES`], before anything is decoded:
/// tbsCertList is `version INTEGER OPTIONAL, signature, issuer, ...`.
fn check_crl_issuer_size(der: &[u8], tbs: &Range<usize>) -> Result<(), String> {
    const INTEGER: u8 = 0x02;
    let tbs = tlv(der, tbs.start)?;
    let mut at = tbs.contents.start;
    if tlv(der, at)?.tag == INTEGER {
        at = tlv(der, at)?.end;
    }
    at = tlv(der, at)?.end; // signature
    check_name_size(der, at, "issuer")
}

/// The validity times of a certificate, and where their values lie in `der`; on the way,
/// the issuer and subject names are held to [`MAX_NAME_ATTRIBUTES`].
fn validity(der: &[u8], tbs: &Range<usize>) -> Result<[(i64, Range<usize>, u8); 2], String> {
    let tbs = tlv(der, tbs.start)?;
    let mut at = tbs.contents.start;
    let first = tlv(der, at)?;
    if first.tag == VERSION_TAG {
        at = first.end;
    }
    for _ in 0..2 {
        at = tlv(der, at)?.end; // serialNumber, signature
    }
    check_name_size(der, at, "issuer")?;
    at = tlv(der, at)?.end;
    let validity = tlv(der, at)?;
    if validity.tag != SEQUENCE {
        return Err("validity is not a SEQUENCE".into());
    }
    check_name_size(der, validity.end, "subject")?;
    let not_before = tlv(der, validity.contents.start)?;
    let not_after = tlv(der, not_before.end)?;
    if not_after.end != validity.contents.end {
        return Err("validity does not hold exactly two times".into());
    }
    let read = |t: Tlv| -> Result<(i64, Range<usize>, u8), String> {
        Ok((parse_time(t.tag, &der[t.contents.clone()])?, t.contents, t.tag))
    };
    Ok([read(not_before)?, read(not_after)?])
}

/// A certificate: the DER as received, its decoded form (through `Deref`), and its
/// validity read per RFC 5280.
#[derive(Debug, Clone)]
pub struct Cert {
    der: Vec<u8>,
    tbs: Range<usize>,
    decoded: Certificate,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// How messages name it (`describe`): formatted the first time it is asked for (most
    /// certificates read, a trust store's say, are never named), then kept; bounded (see
    /// display.rs).
    description: std::sync::OnceLock<String>,
    /// The digests of tbsCertificate, computed once for all issuer candidates.
    digests: Digests,
}

impl Cert {
    /// Parses one DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Cert, String> {
        use der::Decode;
        let tbs = signed_range(der)?;
        let times = validity(der, &tbs)?;
        let decoded = if times.iter().all(|(seconds, _, _)| *seconds >= 0) {
            Certificate::from_der(der)
        } else {
            let mut decodable = der.to_vec();
            for (seconds, range, tag) in &times {
                if *seconds < 0 {
                    let epoch: &[u8] = if *tag == UTC_TIME { b"700101000000Z" } else { b"19700101000000Z" };
                    decodable[range.clone()].copy_from_slice(epoch);
                }
            }
            Certificate::from_der(&decodable)
        }
        .map_err(|e| e.to_string())?;
        check_general_name_counts(&decoded)?;
        Ok(Cert {
            der: der.to_vec(),
            tbs,
            decoded,
            not_before: times[0].0,
            not_after: times[1].0,
            description: std::sync::OnceLock::new(),
            digests: Digests::default(),
        })
    }

    /// `subject "CN=...", serial 0A1B...`: how messages name this certificate, with the
    /// subject cut at [`crate::x509::display::MAX_SHOWN`] characters.
    pub fn description(&self) -> &str {
        self.description.get_or_init(|| crate::x509::display::describe_certificate(&self.decoded))
    }

    /// The DER as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// tbsCertificate as received: what the issuer signed.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// tbsCertificate with its cached digests, for signature checks.
    pub fn signed_message(&self) -> Message<'_> {
        Message::new(self.signed_bytes(), &self.digests)
    }
}

impl Deref for Cert {
    type Target = Certificate;

    fn deref(&self) -> &Certificate {
        &self.decoded
    }
}

/// A CRL: the DER as received and its decoded form (through `Deref`).
#[derive(Debug, Clone)]
pub struct Crl {
    der: Vec<u8>,
    tbs: Range<usize>,
    decoded: CertificateList,
    /// The digests of tbsCertList, computed once for all signer candidates.
    digests: Digests,
}

impl Crl {
    /// Parses one DER CRL; its issuer name is held to [`MAX_NAME_ATTRIBUTES`] first.
    pub fn from_der(der: &[u8]) -> Result<Crl, String> {
        use der::Decode;
        let tbs = signed_range(der)?;
        check_crl_issuer_size(der, &tbs)?;
        let decoded = CertificateList::from_der(der).map_err(|e| e.to_string())?;
        Ok(Crl { der: der.to_vec(), tbs, decoded, digests: Digests::default() })
    }

    /// tbsCertList as received: what the CRL issuer signed.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// tbsCertList with its cached digests, for signature checks.
    pub fn signed_message(&self) -> Message<'_> {
        Message::new(self.signed_bytes(), &self.digests)
    }
}

impl Deref for Crl {
    type Target = CertificateList;

    fn deref(&self) -> &CertificateList {
        &self.decoded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rfc5280_times() {
        assert_eq!(parse_time(UTC_TIME, b"500101000000Z"), Ok(-631_152_000));
        assert_eq!(parse_time(UTC_TIME, b"491231235959Z"), Ok(2_524_607_999));
        assert_eq!(parse_time(GENERALIZED_TIME, b"20020101000000Z"), Ok(1_009_843_200));
        assert_eq!(parse_time(GENERALIZED_TIME, b"20240229120000Z"), Ok(1_709_208_000));
        for bad in [&b"5001010000Z"[..], b"500101000000", b"500230000000Z", b"500101240000Z", b"5001010000+0Z"] {
            assert!(parse_time(UTC_TIME, bad).is_err(), "{bad:?}");
        }
        assert!(parse_time(GENERALIZED_TIME, b"20020101000000.5Z").is_err());
    }

    #[test]
    fn refuses_trailing_bytes_and_non_minimal_lengths() {
        assert!(signed_range(&[0x30, 0x03, 0x30, 0x01, 0x00, 0x00]).is_err());
        assert!(signed_range(&[0x30, 0x81, 0x02, 0x30, 0x00]).is_err());
        assert_eq!(signed_range(&[0x30, 0x04, 0x30, 0x00, 0x05, 0x00]), Ok(2..4));
    }

    /// Names are counted on the DER, RDN by RDN and attribute by attribute (a multi-valued
    /// RDN counts each of its attributes).
    #[test]
    fn names_of_more_than_the_maximum_attributes_are_refused() {
        use der::Encode;
        use std::str::FromStr;
        let name = |rdns: usize, per_rdn: usize| {
            let rdn = vec!["CN=x"; per_rdn].join("+");
            let text = vec![rdn; rdns].join(",");
            x509_cert::name::Name::from_str(&text).unwrap().to_der().unwrap()
        };
        assert!(check_name_size(&name(MAX_NAME_ATTRIBUTES, 1), 0, "subject").is_ok());
        assert!(check_name_size(&name(MAX_NAME_ATTRIBUTES / 2, 2), 0, "subject").is_ok());
        let refused = check_name_size(&name(MAX_NAME_ATTRIBUTES + 1, 1), 0, "subject").unwrap_err();
        assert!(refused.contains("subject name holds more than 1024 attributes"), "{refused}");
        assert!(check_name_size(&name(MAX_NAME_ATTRIBUTES / 2 + 1, 2), 0, "issuer").is_err());
    }
}
