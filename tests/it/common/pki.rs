//! Certificates made in a test, quickly and exactly as wanted: P-256 keys from fixed
//! scalars, the extensions RFC 5280's profile asks for, plus any the test adds.

use der::asn1::OctetString;
use der::{Encode, EncodePem};
use p256::ecdsa::{DerSignature, SigningKey};
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};
use std::str::FromStr;
use std::time::Duration;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

pub fn key(seed: u8) -> SigningKey {
    let mut scalar = [0x22u8; 32];
    scalar[31] = seed;
    scalar[0] = 0x01;
    SigningKey::from_slice(&scalar).unwrap()
}

pub fn spki(key: &SigningKey) -> SubjectPublicKeyInfoOwned {
    let der = key.verifying_key().to_public_key_der().unwrap();
    <SubjectPublicKeyInfoOwned as der::Decode>::from_der(der.as_bytes()).unwrap()
}

pub fn key_id(key: &SigningKey) -> OctetString {
    use sha1::Digest;
    let spki = key.verifying_key().to_public_key_der().unwrap();
    OctetString::new(sha1::Sha1::digest(spki.as_bytes()).to_vec()).unwrap()
}

pub fn extension<T: der::oid::AssociatedOid + Encode>(value: &T, critical: bool) -> Extension {
    Extension { extn_id: T::OID, critical, extn_value: OctetString::new(value.to_der().unwrap()).unwrap() }
}

/// A CA's or a leaf's certificate with the extensions RFC 5280's profile asks for, plus
/// `extra`; `with_aki` false leaves the authorityKeyIdentifier out (so issuer candidates are
/// found by name alone).
pub struct Issue<'a> {
    pub subject: Name,
    pub subject_key: &'a SigningKey,
    pub issuer: Name,
    pub issuer_key: &'a SigningKey,
    pub ca: bool,
    pub with_aki: bool,
    pub extra: Vec<Extension>,
    pub serial: u32,
}

impl Issue<'_> {
    pub fn pem(self) -> String {
        let mut extensions = vec![
            extension(&BasicConstraints { ca: self.ca, path_len_constraint: None }, true),
            extension(
                &KeyUsage(if self.ca {
                    KeyUsages::KeyCertSign | KeyUsages::CRLSign
                } else {
                    KeyUsages::DigitalSignature.into()
                }),
                true,
            ),
            extension(&SubjectKeyIdentifier(key_id(self.subject_key)), false),
        ];
        if self.with_aki {
            let aki = AuthorityKeyIdentifier { key_identifier: Some(key_id(self.issuer_key)), ..Default::default() };
            extensions.push(extension(&aki, false));
        }
        extensions.extend(self.extra);
        let profile = keyseal::ca::profile::FixedProfile { issuer: self.issuer, subject: self.subject, extensions };
        let mut serial = vec![0x01];
        serial.extend_from_slice(&self.serial.to_be_bytes());
        let validity = Validity::from_now(Duration::from_secs(86_400 * 30)).unwrap();
        let builder =
            CertificateBuilder::new(profile, SerialNumber::new(&serial).unwrap(), validity, spki(self.subject_key))
                .unwrap();
        let cert = builder.build::<_, DerSignature>(self.issuer_key).unwrap();
        cert.to_pem(der::pem::LineEnding::LF).unwrap()
    }
}

pub fn name(text: &str) -> Name {
    Name::from_str(text).unwrap()
}
