//! Purpose profiles: what a certificate is for, as keyUsage, extendedKeyUsage and
//! basicConstraints, plus the extensions every certificate gets (key identifiers, SANs
//! where the purpose allows them, the CRL distribution point when the CA has one).

use crate::ca::subject::{San, SanKind};
use crate::ca::{CaCode, CaError};
use der::Encode;
use der::asn1::{Ia5String, ObjectIdentifier, OctetString};
use der::oid::AssociatedOid;
use der::oid::db::rfc5280::{
    ID_KP_CLIENT_AUTH, ID_KP_CODE_SIGNING, ID_KP_EMAIL_PROTECTION, ID_KP_SERVER_AUTH, ID_KP_TIME_STAMPING,
};
use sha1::{Digest, Sha1};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A self-signed root CA (`keyseal ca init`).
    RootCa,
    /// A CA signed by another CA.
    IntermediateCa,
    /// Signs releases and code.
    CodeSigning,
    /// A TLS server.
    Server,
    /// A TLS client.
    Client,
    /// S/MIME.
    Email,
    /// An RFC 3161 time-stamping authority.
    Timestamping,
}

/// The profiles `keyseal ca issue --profile` takes, by name.
pub const ISSUABLE: &[(&str, Profile)] = &[
    ("code-signing", Profile::CodeSigning),
    ("server", Profile::Server),
    ("client", Profile::Client),
    ("email", Profile::Email),
    ("timestamping", Profile::Timestamping),
    ("intermediate-ca", Profile::IntermediateCa),
];

impl Profile {
    /// The profile named `name`; `unknown-profile` lists the ones there are.
    pub fn parse(name: &str) -> Result<Profile, CaError> {
        ISSUABLE.iter().find(|(n, _)| *n == name).map(|(_, p)| *p).ok_or_else(|| {
            let names: Vec<&str> = ISSUABLE.iter().map(|(n, _)| *n).collect();
            CaError::new(
                CaCode::UnknownProfile,
                format!("there is no profile {name:?}; use one of: {}", names.join(", ")),
            )
        })
    }

    /// The name, as `--profile` takes it and the index records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::RootCa => "root-ca",
            other => ISSUABLE.iter().find(|(_, p)| *p == other).map(|(n, _)| *n).unwrap_or("unknown"),
        }
    }

    /// Whether certificates of this profile are CAs.
    pub fn is_ca(self) -> bool {
        matches!(self, Profile::RootCa | Profile::IntermediateCa)
    }

    /// Which SAN kinds fit: none for CAs, the usual ones for each end-entity purpose.
    pub fn allows_san(self, kind: SanKind) -> bool {
        use SanKind::*;
        match self {
            Profile::RootCa | Profile::IntermediateCa => false,
            Profile::Server => matches!(kind, Dns | Ip),
            Profile::Client => true,
            Profile::Email => kind == Email,
            Profile::CodeSigning | Profile::Timestamping => matches!(kind, Email | Uri | Dns),
        }
    }

    fn key_usages(self, rsa_subject: bool) -> der::flagset::FlagSet<KeyUsages> {
        use KeyUsages::*;
        match self {
            Profile::RootCa | Profile::IntermediateCa => KeyCertSign | CRLSign,
            Profile::CodeSigning | Profile::Client => DigitalSignature.into(),
            Profile::Timestamping => DigitalSignature | NonRepudiation,
            Profile::Server | Profile::Email if rsa_subject => DigitalSignature | KeyEncipherment,
            Profile::Server | Profile::Email => DigitalSignature.into(),
        }
    }

    fn extended_key_usage(self) -> Option<(Vec<ObjectIdentifier>, bool)> {
        match self {
            Profile::RootCa | Profile::IntermediateCa => None,
            Profile::CodeSigning => Some((vec![ID_KP_CODE_SIGNING], false)),
            Profile::Server => Some((vec![ID_KP_SERVER_AUTH], false)),
            Profile::Client => Some((vec![ID_KP_CLIENT_AUTH], false)),
            Profile::Email => Some((vec![ID_KP_EMAIL_PROTECTION], false)),
            // RFC 3161 §2.3: the only purpose, and critical.
            Profile::Timestamping => Some((vec![ID_KP_TIME_STAMPING], true)),
        }
    }
}

/// Everything the extensions depend on besides the profile.
pub struct ExtensionInputs<'a> {
    /// The certified public key.
    pub subject_key: &'a SubjectPublicKeyInfoOwned,
    /// The issuer's public key (the subject's own for a root).
    pub issuer_key: &'a SubjectPublicKeyInfoOwned,
    /// pathLenConstraint for a CA.
    pub path_len: Option<u8>,
    /// Subject alternative names (already checked against the profile).
    pub sans: &'a [San],
    /// The issuing CA's CRL distribution point, when configured.
    pub crl_url: Option<&'a str>,
}

/// The key identifier of a public key: SHA-1 of its subjectPublicKey bits (RFC 5280
/// §4.2.1.2, method 1), as OpenSSL computes it.
pub fn key_identifier(key: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    Sha1::digest(key.subject_public_key.raw_bytes()).to_vec()
}

fn extension<T: Encode + AssociatedOid>(value: &T, critical: bool) -> Result<Extension, CaError> {
    let encoded = value.to_der().map_err(|e| CaError::internal(format!("cannot encode an extension: {e}")))?;
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(encoded).map_err(|e| CaError::internal(e.to_string()))?,
    })
}

/// The extensions of a certificate of `profile`.
pub fn extensions(profile: Profile, inputs: &ExtensionInputs<'_>) -> Result<Vec<Extension>, CaError> {
    let rsa_subject = crate::crypto::spec_of_public_key(&inputs.subject_key.to_der().unwrap_or_default())
        == Some(crate::kms::KeySpec::Rsa2048);
    let mut out = vec![
        extension(
            &BasicConstraints { ca: profile.is_ca(), path_len_constraint: inputs.path_len.filter(|_| profile.is_ca()) },
            true,
        )?,
        extension(&KeyUsage(profile.key_usages(rsa_subject)), true)?,
    ];
    if let Some((purposes, critical)) = profile.extended_key_usage() {
        out.push(extension(&ExtendedKeyUsage(purposes), critical)?);
    }
    let own_id = OctetString::new(key_identifier(inputs.subject_key)).map_err(|e| CaError::internal(e.to_string()))?;
    out.push(extension(&SubjectKeyIdentifier(own_id), false)?);
    let issuer_id =
        OctetString::new(key_identifier(inputs.issuer_key)).map_err(|e| CaError::internal(e.to_string()))?;
    out.push(extension(&AuthorityKeyIdentifier { key_identifier: Some(issuer_id), ..Default::default() }, false)?);
    if !inputs.sans.is_empty() {
        let names = inputs.sans.iter().map(San::general_name).collect::<Result<Vec<_>, _>>()?;
        // RFC 5280 §4.2.1.6: critical only when the subject is empty; ours never is.
        out.push(extension(&SubjectAltName(names), false)?);
    }
    if let Some(url) = inputs.crl_url {
        let uri = Ia5String::new(url).map_err(|e| CaError::new(CaCode::BadCrlUrl, format!("{url}: {e}")))?;
        let point = DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![GeneralName::UniformResourceIdentifier(
                uri,
            )])),
            reasons: None,
            crl_issuer: None,
        };
        out.push(extension(&CrlDistributionPoints(vec![point]), false)?);
    }
    Ok(out)
}

/// A builder profile with everything decided beforehand.
pub struct FixedProfile {
    /// Issuer name.
    pub issuer: Name,
    /// Subject name.
    pub subject: Name,
    /// Extensions, in order.
    pub extensions: Vec<Extension>,
}

impl BuilderProfile for FixedProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}
