//! Stable reason codes for everything a certificate check can say no to. Tests and JSON
//! output use the kebab-case codes; messages are for people.

use serde::{Serialize, Serializer};

/// What a certificate is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// id-kp-codeSigning.
    CodeSigning,
    /// id-kp-serverAuth.
    Server,
    /// id-kp-clientAuth.
    Client,
    /// id-kp-emailProtection.
    Email,
    /// id-kp-timeStamping (RFC 3161 rules).
    Timestamping,
    /// No purpose check.
    Any,
}

impl Purpose {
    /// Every purpose with its name, as `--purpose` takes it.
    pub const ALL: &'static [(&'static str, Purpose)] = &[
        ("code-signing", Purpose::CodeSigning),
        ("server", Purpose::Server),
        ("client", Purpose::Client),
        ("email", Purpose::Email),
        ("timestamping", Purpose::Timestamping),
        ("any", Purpose::Any),
    ];

    /// The purpose named `name`.
    pub fn parse(name: &str) -> Result<Purpose, String> {
        Purpose::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p).ok_or_else(|| {
            let names: Vec<&str> = Purpose::ALL.iter().map(|(n, _)| *n).collect();
            format!("unknown purpose {name:?}; use one of: {}", names.join(", "))
        })
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        Purpose::ALL.iter().find(|(_, p)| *p == self).map(|(n, _)| *n).unwrap_or("any")
    }
}

impl Serialize for Purpose {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Why a certificate (or its path) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not a certificate we can read, or not well-formed.
    MalformedCertificate,
    /// Its version does not fit its contents (extensions need v3).
    BadVersion,
    /// Its serial number is not a positive integer of at most 20 octets.
    BadSerial,
    /// Past notAfter at the verification time.
    Expired,
    /// Before notBefore at the verification time.
    NotYetValid,
    /// Its signature does not verify with its issuer's key.
    BadSignature,
    /// Signed with an algorithm (or key type) keyseal does not check.
    UnsupportedAlgorithm,
    /// A certificate in the CA position is not a CA.
    NotACa,
    /// Too many CAs below a pathLenConstraint.
    PathLengthExceeded,
    /// keyUsage forbids what the certificate is used for.
    BadKeyUsage,
    /// extendedKeyUsage does not allow the purpose asked for.
    MissingPurpose(Purpose),
    /// Revoked by a CRL.
    Revoked,
    /// A critical extension keyseal does not process.
    UnknownCriticalExtension,
    /// An extension appears twice.
    DuplicateExtension,
    /// Issuer and subject names do not chain.
    NameMismatch,
    /// A name falls outside a CA's name constraints.
    NameConstraintViolation,
    /// No issuer found for a certificate in the path.
    ChainIncomplete,
    /// The path ends at a root that is not a trust anchor.
    UntrustedRoot,
    /// The path is longer than the maximum depth.
    PathTooLong,
    /// Path building ran out of one of its budgets (signature checks, candidates
    /// considered, name-constraint comparisons) before finding a valid path.
    BudgetExceeded,
    /// More certificates were given to build the path from than keyseal takes.
    TooManyCertificates,
    /// A CRL's signature does not verify with its issuer's key.
    CrlBadSignature,
    /// A CRL is past its nextUpdate (or not yet issued) at the verification time.
    CrlExpired,
    /// A CRL that cannot be used (malformed, unknown critical extension, issuer may not sign CRLs).
    CrlInvalid,
    /// CRLs were given, but none gives this certificate a status for every revocation
    /// reason (RFC 5280 §6.3.3: UNDETERMINED): no CRL of its issuer or distribution point,
    /// or only CRLs for some reasons.
    RevocationUnknown,
    /// The certificate's key is not the key that made the signature.
    KeyMismatch,
    /// An extension does not parse, or breaks its RFC 5280 §4.2 syntax (an empty
    /// extendedKeyUsage, a DNS name not in preferred name syntax, a malformed constraint).
    MalformedExtension,
    /// An extension RFC 5280 requires is absent (authorityKeyIdentifier outside
    /// self-signed certificates, subjectKeyIdentifier in a CA).
    MissingExtension,
    /// An extension is critical where RFC 5280 forbids it, or not critical where it
    /// requires it.
    BadCriticality,
    /// A CA with an empty subject, or an end entity with neither subject nor subjectAltName.
    EmptySubject,
    /// An extension where RFC 5280 does not allow it (nameConstraints in an end entity).
    MisplacedExtension,
    /// A CA certificate where an end entity must sign: a code-signing leaf (unless
    /// `--rfc5280-eku`) or a TSA's certificate, whose key must be reserved for its purpose.
    CaAsEndEntity,
    /// An explicit policy is required, and the path is valid for no acceptable policy
    /// (RFC 5280 §6.1.3 (f), §6.1.5 (g)).
    PolicyNotAccepted,
    /// A policyMappings entry maps to or from anyPolicy (RFC 5280 §6.1.4 (a)).
    BadPolicyMapping,
    /// The leaf's subjectAltName presents no dNSName matching `--hostname` (RFC 9525).
    HostnameMismatch,
    /// The leaf's subjectAltName presents no iPAddress equal to `--ip`.
    IpMismatch,
    /// The leaf's subjectAltName presents no rfc822Name equal to `--email`.
    EmailMismatch,
    /// `--profile web-pki`: an RSA key under 2048 bits, or an EC key off P-256/384/521
    /// (CA/Browser Forum Baseline Requirements 6.1.5).
    WeakKey,
    /// `--profile web-pki`: a server certificate valid for longer than the Baseline
    /// Requirements allow for its issuance date (6.3.2).
    ValidityTooLong,
    /// `--profile web-pki`: an extendedKeyUsage names a purpose a TLS certificate must not
    /// have (code signing, email protection, time stamping, OCSP signing, any purpose,
    /// Certificate Transparency precertificate signing: Baseline Requirements 7.1.2.7.10,
    /// 7.1.2.10.6), or is critical (7.1.2.7.6); `--profile smime`: one an S/MIME
    /// certificate must not have (S/MIME Baseline Requirements 7.1.2.3 (f), 7.1.2.2 (g)).
    ForbiddenPurpose,
    /// `--profile web-pki`: the leaf's commonName is not a character-for-character copy of
    /// one of its subjectAltName entries (Baseline Requirements 7.1.4.3).
    CommonNameMismatch,
}

/// Which rules a path is held to besides RFC 5280's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// RFC 5280 alone.
    Rfc5280,
    /// RFC 5280 and the CA/Browser Forum Baseline Requirements for TLS server
    /// certificates (x509/webpki.rs).
    WebPki,
    /// RFC 5280 and the CA/Browser Forum S/MIME Baseline Requirements (x509/smime.rs).
    Smime,
}

impl Profile {
    /// `--profile NAME`.
    pub fn parse(name: &str) -> Result<Profile, String> {
        match name {
            "rfc5280" => Ok(Profile::Rfc5280),
            "web-pki" => Ok(Profile::WebPki),
            "smime" => Ok(Profile::Smime),
            _ => Err(format!("unknown profile {name:?}; use rfc5280, web-pki or smime")),
        }
    }
}

impl crate::codes::Coded for Reason {
    fn code(self) -> &'static str {
        Reason::code(self)
    }
}

impl Reason {
    /// Every reason a chain can be refused for, in the order `docs/reason-codes.md` lists
    /// them (`tests/it/docs.rs` holds the page to this list). `missing-purpose`, the code of
    /// `MissingPurpose(Any)`, is left out: `--purpose any` asks for no extendedKeyUsage.
    pub const ALL: &'static [Reason] = &[
        Reason::MalformedCertificate,
        Reason::BadVersion,
        Reason::BadSerial,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::BadSignature,
        Reason::UnsupportedAlgorithm,
        Reason::NotACa,
        Reason::PathLengthExceeded,
        Reason::BadKeyUsage,
        Reason::MissingPurpose(Purpose::CodeSigning),
        Reason::MissingPurpose(Purpose::Server),
        Reason::MissingPurpose(Purpose::Client),
        Reason::MissingPurpose(Purpose::Email),
        Reason::MissingPurpose(Purpose::Timestamping),
        Reason::Revoked,
        Reason::UnknownCriticalExtension,
        Reason::DuplicateExtension,
        Reason::NameMismatch,
        Reason::NameConstraintViolation,
        Reason::ChainIncomplete,
        Reason::UntrustedRoot,
        Reason::PathTooLong,
        Reason::BudgetExceeded,
        Reason::TooManyCertificates,
        Reason::CrlBadSignature,
        Reason::CrlExpired,
        Reason::CrlInvalid,
        Reason::RevocationUnknown,
        Reason::KeyMismatch,
        Reason::MalformedExtension,
        Reason::MissingExtension,
        Reason::BadCriticality,
        Reason::EmptySubject,
        Reason::MisplacedExtension,
        Reason::CaAsEndEntity,
        Reason::PolicyNotAccepted,
        Reason::BadPolicyMapping,
        Reason::HostnameMismatch,
        Reason::IpMismatch,
        Reason::EmailMismatch,
        Reason::WeakKey,
        Reason::ValidityTooLong,
        Reason::ForbiddenPurpose,
        Reason::CommonNameMismatch,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::MalformedCertificate => "malformed-certificate",
            Reason::BadVersion => "bad-version",
            Reason::BadSerial => "bad-serial",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not-yet-valid",
            Reason::BadSignature => "bad-signature",
            Reason::UnsupportedAlgorithm => "unsupported-algorithm",
            Reason::NotACa => "not-a-ca",
            Reason::PathLengthExceeded => "path-length-exceeded",
            Reason::BadKeyUsage => "bad-key-usage",
            Reason::MissingPurpose(Purpose::CodeSigning) => "missing-code-signing-purpose",
            Reason::MissingPurpose(Purpose::Server) => "missing-server-purpose",
            Reason::MissingPurpose(Purpose::Client) => "missing-client-purpose",
            Reason::MissingPurpose(Purpose::Email) => "missing-email-purpose",
            Reason::MissingPurpose(Purpose::Timestamping) => "missing-timestamping-purpose",
            Reason::MissingPurpose(Purpose::Any) => "missing-purpose",
            Reason::Revoked => "revoked",
            Reason::UnknownCriticalExtension => "unknown-critical-extension",
            Reason::DuplicateExtension => "duplicate-extension",
            Reason::NameMismatch => "name-mismatch",
            Reason::NameConstraintViolation => "name-constraint-violation",
            Reason::ChainIncomplete => "chain-incomplete",
            Reason::UntrustedRoot => "untrusted-root",
            Reason::PathTooLong => "path-too-long",
            Reason::BudgetExceeded => "budget-exceeded",
            Reason::TooManyCertificates => "too-many-certificates",
            Reason::CrlBadSignature => "crl-bad-signature",
            Reason::CrlExpired => "crl-expired",
            Reason::CrlInvalid => "crl-invalid",
            Reason::RevocationUnknown => "revocation-unknown",
            Reason::KeyMismatch => "key-mismatch",
            Reason::MalformedExtension => "malformed-extension",
            Reason::MissingExtension => "missing-extension",
            Reason::BadCriticality => "bad-criticality",
            Reason::EmptySubject => "empty-subject",
            Reason::MisplacedExtension => "misplaced-extension",
            Reason::CaAsEndEntity => "ca-as-end-entity",
            Reason::PolicyNotAccepted => "policy-not-accepted",
            Reason::BadPolicyMapping => "bad-policy-mapping",
            Reason::HostnameMismatch => "hostname-mismatch",
            Reason::IpMismatch => "ip-mismatch",
            Reason::EmailMismatch => "email-mismatch",
            Reason::WeakKey => "weak-key",
            Reason::ValidityTooLong => "validity-too-long",
            Reason::ForbiddenPurpose => "forbidden-purpose",
            Reason::CommonNameMismatch => "common-name-mismatch",
        }
    }

    /// How specific the reason is: across alternative paths, the most specific failure is
    /// the one reported (a path that reached a trust anchor beats one that found no issuer).
    pub fn rank(self) -> u8 {
        match self {
            Reason::UntrustedRoot => 0,
            Reason::ChainIncomplete => 1,
            Reason::PathTooLong => 2,
            Reason::NameMismatch => 3,
            Reason::BadSignature | Reason::UnsupportedAlgorithm => 5,
            _ => 10,
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}
