//! The RFC 3161 structures (TimeStampReq, TimeStampResp, TSTInfo) and the ESS
//! signing-certificate attributes (RFC 2634 §5.4, RFC 5035 §3 as RFC 5816 uses them),
//! declared with `der`'s derive macros. RustCrypto's `x509-tsp` 0.1 declares the first
//! three, but against `der` 0.7 and `cms` 0.2, the generation before the one keyseal uses,
//! so they are declared here; SignedData itself comes from `cms` 0.3, which fits.
//!
//! Decoding is strict DER (`der`'s default): whatever does not decode here is refused,
//! by the TSA as `badDataFormat` and by the verifier as `malformed-token`.

use der::asn1::{BitString, Int, ObjectIdentifier, OctetString};
use der::{Any, DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`
/// (RFC 3161 §2.4.1): the hash of the datum being time-stamped.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    /// The hash algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash.
    pub hashed_message: OctetString,
}

/// `TimeStampReq` (RFC 3161 §2.4.1).
///
/// ```text
/// TimeStampReq ::= SEQUENCE  {
///    version          INTEGER  { v1(1) },
///    messageImprint   MessageImprint,
///    reqPolicy        TSAPolicyId              OPTIONAL,
///    nonce            INTEGER                  OPTIONAL,
///    certReq          BOOLEAN                  DEFAULT FALSE,
///    extensions       [0] IMPLICIT Extensions  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// 1.
    pub version: u32,
    /// What to time-stamp.
    pub message_imprint: MessageImprint,
    /// The policy the requester wants the TSA to work under.
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// A number the reply must echo, so an old reply cannot be replayed.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// Whether the TSA's certificate must be in the reply.
    #[asn1(default = "default_false")]
    pub cert_req: bool,
    /// Request extensions; keyseal knows none.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", constructed = "true", optional = "true")]
    pub extensions: Option<Extensions>,
}

fn default_false() -> bool {
    false
}

/// `PKIStatusInfo` (RFC 3161 §2.4.2, from RFC 2510).
///
/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///    status        PKIStatus,
///    statusString  PKIFreeText     OPTIONAL,
///    failInfo      PKIFailureInfo  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// 0 granted, 1 grantedWithMods, 2 rejection, 3 waiting, 4 revocationWarning,
    /// 5 revocationNotification.
    pub status: u32,
    /// `PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String`: why, for people.
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// Which checks the request failed ([`FailureInfo`] bits).
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }`
/// (RFC 3161 §2.4.2); the token is a CMS ContentInfo, kept here as the DER it is.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    /// Granted or not, and why.
    pub status: PkiStatusInfo,
    /// The token (a ContentInfo holding SignedData), when granted.
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<Any>,
}

/// PKIStatus values (RFC 3161 §2.4.2).
pub mod status {
    /// A token is enclosed.
    pub const GRANTED: u32 = 0;
    /// A token is enclosed, with modifications the requester asked for.
    pub const GRANTED_WITH_MODS: u32 = 1;
    /// Refused; failInfo says why.
    pub const REJECTION: u32 = 2;

    /// The status as RFC 3161 names it.
    pub fn name(status: u32) -> &'static str {
        match status {
            0 => "granted",
            1 => "grantedWithMods",
            2 => "rejection",
            3 => "waiting",
            4 => "revocationWarning",
            5 => "revocationNotification",
            _ => "unknown",
        }
    }
}

/// The PKIFailureInfo bits RFC 3161 §2.4.2 defines, and the kebab-case codes keyseal
/// prints for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg = 0,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// The data submitted has the wrong format.
    BadDataFormat = 5,
    /// The TSA's time source is not available.
    TimeNotAvailable = 14,
    /// The requested TSA policy is not supported by the TSA.
    UnacceptedPolicy = 15,
    /// The requested extension is not supported by the TSA.
    UnacceptedExtension = 16,
    /// The additional information requested could not be understood or is not available.
    AddInfoNotAvailable = 17,
    /// The request cannot be handled due to system failure.
    SystemFailure = 25,
}

impl FailureInfo {
    /// Every bit, lowest first.
    pub const ALL: &'static [FailureInfo] = &[
        FailureInfo::BadAlg,
        FailureInfo::BadRequest,
        FailureInfo::BadDataFormat,
        FailureInfo::TimeNotAvailable,
        FailureInfo::UnacceptedPolicy,
        FailureInfo::UnacceptedExtension,
        FailureInfo::AddInfoNotAvailable,
        FailureInfo::SystemFailure,
    ];

    /// RFC 3161's name (`badAlg`), as `openssl ts -reply -text` prints it too.
    pub fn rfc_name(self) -> &'static str {
        match self {
            FailureInfo::BadAlg => "badAlg",
            FailureInfo::BadRequest => "badRequest",
            FailureInfo::BadDataFormat => "badDataFormat",
            FailureInfo::TimeNotAvailable => "timeNotAvailable",
            FailureInfo::UnacceptedPolicy => "unacceptedPolicy",
            FailureInfo::UnacceptedExtension => "unacceptedExtension",
            FailureInfo::AddInfoNotAvailable => "addInfoNotAvailable",
            FailureInfo::SystemFailure => "systemFailure",
        }
    }

    /// keyseal's stable code (`bad-alg`).
    pub fn code(self) -> &'static str {
        match self {
            FailureInfo::BadAlg => "bad-alg",
            FailureInfo::BadRequest => "bad-request",
            FailureInfo::BadDataFormat => "bad-data-format",
            FailureInfo::TimeNotAvailable => "time-not-available",
            FailureInfo::UnacceptedPolicy => "unaccepted-policy",
            FailureInfo::UnacceptedExtension => "unaccepted-extension",
            FailureInfo::AddInfoNotAvailable => "add-info-not-available",
            FailureInfo::SystemFailure => "system-failure",
        }
    }

    /// The bit as a DER named BIT STRING: only this bit set, trailing zero bits dropped
    /// (X.690 §11.2.2).
    pub fn bit_string(self) -> der::Result<BitString> {
        let bit = self as usize;
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        BitString::new((7 - bit % 8) as u8, bytes)
    }

    /// The bits set in a failInfo, lowest first (bits keyseal does not know are skipped).
    pub fn from_bit_string(bits: &BitString) -> Vec<FailureInfo> {
        let set: Vec<bool> = bits.bits().collect();
        FailureInfo::ALL.iter().copied().filter(|info| set.get(*info as usize).copied().unwrap_or(false)).collect()
    }
}

/// `Accuracy` (RFC 3161 §2.4.2): how far genTime may be from the true time.
///
/// ```text
/// Accuracy ::= SEQUENCE {
///    seconds        INTEGER              OPTIONAL,
///    millis     [0] INTEGER  (1..999)    OPTIONAL,
///    micros     [1] INTEGER  (1..999)    OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    /// Whole seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u64>,
    /// Milliseconds.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// `TSTInfo` (RFC 3161 §2.4.2): what the TSA signs.
///
/// ```text
/// TSTInfo ::= SEQUENCE  {
///    version         INTEGER  { v1(1) },
///    policy          TSAPolicyId,
///    messageImprint  MessageImprint,
///    serialNumber    INTEGER,
///    genTime         GeneralizedTime,
///    accuracy        Accuracy                 OPTIONAL,
///    ordering        BOOLEAN             DEFAULT FALSE,
///    nonce           INTEGER                  OPTIONAL,
///    tsa             [0] GeneralName          OPTIONAL,
///    extensions      [1] IMPLICIT Extensions   OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// 1.
    pub version: u32,
    /// The policy the TSA worked under.
    pub policy: ObjectIdentifier,
    /// The request's imprint, unchanged.
    pub message_imprint: MessageImprint,
    /// Unique per token of this TSA (up to 160 bits).
    pub serial_number: Int,
    /// When the token was made.
    pub gen_time: GenTime,
    /// How far genTime may be off.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Whether tokens of this TSA can be ordered by genTime alone.
    #[asn1(default = "default_false")]
    pub ordering: bool,
    /// The request's nonce, echoed.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// The TSA's name (a tagged CHOICE, so explicitly tagged).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    /// Extensions.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// A GeneralizedTime as RFC 3161 §2.4.2 allows in genTime: `YYYYMMDDhhmmss[.s...]Z`, with
/// a fraction of up to nine digits and no trailing zero. `der`'s own GeneralizedTime takes
/// no fraction, which TSAs that state milliseconds use.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct GenTime {
    /// Whole seconds since the Unix epoch.
    pub unix: i64,
    /// The fraction's digits (`"5"` for .5 s), empty when none.
    pub fraction: String,
}

impl GenTime {
    /// A whole-second time.
    pub fn from_unix(unix: i64) -> GenTime {
        GenTime { unix, fraction: String::new() }
    }

    /// As it is encoded: `20260131120000Z` or `20260131120000.123Z`.
    pub fn text(&self) -> String {
        let iso = crate::clock::format_unix(self.unix);
        let digits: String = iso.chars().filter(char::is_ascii_digit).collect();
        if self.fraction.is_empty() { format!("{digits}Z") } else { format!("{digits}.{}Z", self.fraction) }
    }

    /// `2026-01-31T12:00:00Z` or `2026-01-31T12:00:00.123Z`.
    pub fn display(&self) -> String {
        let iso = crate::clock::format_unix(self.unix);
        if self.fraction.is_empty() { iso } else { format!("{}.{}Z", iso.trim_end_matches('Z'), self.fraction) }
    }

    /// Parses the encoded text.
    pub fn parse(text: &[u8]) -> Result<GenTime, String> {
        let text = std::str::from_utf8(text).map_err(|_| "genTime is not ASCII".to_string())?;
        let body = text.strip_suffix('Z').ok_or("genTime is not in UTC (no trailing Z)")?;
        let (whole, fraction) = match body.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (body, ""),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if whole.len() != 14 || !digits(whole) {
            return Err(format!("genTime {text:?} is not YYYYMMDDhhmmss[.fff]Z"));
        }
        if body.contains('.') && (!digits(fraction) || fraction.len() > 9 || fraction.ends_with('0')) {
            return Err(format!("genTime {text:?} has a fraction that is not 1-9 digits without a trailing zero"));
        }
        let number = |range: std::ops::Range<usize>| whole[range].parse::<i64>().unwrap_or(-1);
        let (year, month, day) = (number(0..4), number(4..6), number(6..8));
        let (hour, minute, second) = (number(8..10), number(10..12), number(12..14));
        if !(1..=12).contains(&month) || day < 1 || day > crate::clock::days_in_month(year, month) {
            return Err(format!("genTime {text:?} is a date that does not exist"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(format!("genTime {text:?} is a time of day that does not exist"));
        }
        let unix = crate::clock::days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
        Ok(GenTime { unix, fraction: fraction.to_string() })
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<GenTime> {
        // 14 digits, a dot, nine digits and Z at most.
        if header.length() > Length::new(25) {
            return Err(Tag::GeneralizedTime.value_error().into());
        }
        let bytes = reader.read_vec(header.length())?;
        GenTime::parse(&bytes).map_err(|_| Tag::GeneralizedTime.value_error().into())
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.text().len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.text().as_bytes())
    }
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`
/// (RFC 5035 §4): which certificate an ESSCertID names, besides its hash.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The certificate's issuer (as a directoryName).
    pub issuer: GeneralNames,
    /// Its serial.
    pub serial_number: SerialNumber,
}

/// `ESSCertIDv2` (RFC 5035 §4).
///
/// ```text
/// ESSCertIDv2 ::= SEQUENCE {
///    hashAlgorithm  AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///    certHash       Hash,
///    issuerSerial   IssuerSerial OPTIONAL }
/// ```
/// DER leaves the default out: `None` means SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// The hash algorithm, absent for SHA-256.
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// The hash of the whole certificate DER.
    pub cert_hash: OctetString,
    /// Its issuer and serial.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies SEQUENCE OF PolicyInformation OPTIONAL }`
/// (RFC 5035 §3): the signed attribute that binds the signature to one certificate, so a
/// certificate for the same key cannot be substituted (RFC 5816 lets a TSA use it).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first.
    pub certs: Vec<EssCertIdV2>,
    /// Policies, which keyseal neither writes nor reads.
    #[asn1(optional = "true")]
    pub policies: Option<Vec<Any>>,
}

/// `ESSCertID ::= SEQUENCE { certHash Hash (SHA-1), issuerSerial IssuerSerial OPTIONAL }`
/// (RFC 2634 §5.4.1), the form RFC 3161 §2.4.1 names and older TSAs write.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertId {
    /// SHA-1 of the whole certificate DER.
    pub cert_hash: OctetString,
    /// Its issuer and serial.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies ... OPTIONAL }`
/// (RFC 2634 §5.4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificate {
    /// The signer's certificate first.
    pub certs: Vec<EssCertId>,
    /// Policies, unread.
    #[asn1(optional = "true")]
    pub policies: Option<Vec<Any>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn fail_info_bits_are_der_named_bit_strings() {
        // badAlg: bit 0 → 07 80; unacceptedPolicy: bit 15 → 00 00 01; unacceptedExtension:
        // bit 16 → 07 00 00 80.
        let der = |info: FailureInfo| info.bit_string().unwrap().to_der().unwrap();
        assert_eq!(der(FailureInfo::BadAlg), [0x03, 0x02, 0x07, 0x80]);
        assert_eq!(der(FailureInfo::BadDataFormat), [0x03, 0x02, 0x02, 0x04]);
        assert_eq!(der(FailureInfo::UnacceptedPolicy), [0x03, 0x03, 0x00, 0x00, 0x01]);
        assert_eq!(der(FailureInfo::UnacceptedExtension), [0x03, 0x04, 0x07, 0x00, 0x00, 0x80]);
        for info in FailureInfo::ALL {
            assert_eq!(FailureInfo::from_bit_string(&info.bit_string().unwrap()), [*info]);
        }
    }

    #[test]
    fn gen_time_with_and_without_a_fraction() {
        let time = GenTime::parse(b"20260131120000Z").unwrap();
        assert_eq!(time.display(), "2026-01-31T12:00:00Z");
        assert_eq!(time.text(), "20260131120000Z");
        let fine = GenTime::parse(b"20260131120000.125Z").unwrap();
        assert_eq!((fine.unix, fine.display().as_str()), (time.unix, "2026-01-31T12:00:00.125Z"));
        let encoded = fine.to_der().unwrap();
        assert_eq!(GenTime::from_der(&encoded).unwrap(), fine);
        for bad in [
            &b"20260131120000"[..],
            b"20260131120000.Z",
            b"20260131120000.10Z",
            b"20260231120000Z",
            b"2026013112000Z",
            b"20260131120000+0100",
            b"20260131246000Z",
        ] {
            assert!(GenTime::parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
