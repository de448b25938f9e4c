//! The web-PKI profile (`cert verify --profile web-pki`): the CA/Browser Forum Baseline
//! Requirements for TLS server certificates, version 2.1, applied on top of RFC 5280 to
//! every certificate of the path but the trust anchor, as rustls-webpki, pyca
//! `cryptography` and Go apply their subsets of it. One function per rule, each citing
//! its section; the trust anchor is input, as for RFC 5280 (§6.1.1), so root-program
//! rules about roots are not checked here.

use crate::x509::Reason;
use crate::x509::profile::{Violation, decode, find, violation};
use crate::x509::received::Cert;
use der::Decode;
use der::asn1::UintRef;
use der::oid::db::rfc5280::{
    ANY_EXTENDED_KEY_USAGE, ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE,
    ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME, ID_KP_SERVER_AUTH,
};
use der::oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1, SECP_521_R_1};
use spki::ObjectIdentifier;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};

const DAY: i64 = 86_400;

/// Every rule for a certificate on the path: `is_leaf` for the subscriber (server)
/// certificate, else a subordinate CA.
pub fn check(cert: &Cert, is_leaf: bool) -> Result<(), Violation> {
    check_authority_key_identifier(cert)?;
    check_key(cert)?;
    if is_leaf {
        check_subscriber_is_no_ca(cert)?;
        check_subscriber_purpose(cert)?;
        check_subscriber_names(cert)?;
        check_subscriber_validity(cert)
    } else {
        check_ca_key_usage(cert)?;
        check_ca_purpose(cert)
    }
}

/// BR 7.1.2.11.1 (and 7.1.2.10.5 for CAs): the authorityKeyIdentifier has a
/// keyIdentifier and neither authorityCertIssuer nor authorityCertSerialNumber.
fn check_authority_key_identifier(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_AUTHORITY_KEY_IDENTIFIER) else {
        return Err(violation(Reason::MissingExtension, cert, "it has no authorityKeyIdentifier (BR 7.1.2.11.1)"));
    };
    let aki: AuthorityKeyIdentifier = decode(cert, ext, "authorityKeyIdentifier")?;
    if aki.key_identifier.is_none() || aki.authority_cert_issuer.is_some() || aki.authority_cert_serial_number.is_some()
    {
        return Err(violation(
            Reason::MalformedExtension,
            cert,
            "its authorityKeyIdentifier must hold a keyIdentifier alone, without authorityCertIssuer or authorityCertSerialNumber (BR 7.1.2.11.1)",
        ));
    }
    Ok(())
}

/// BR 6.1.5 and 7.1.3.1: RSA keys of at least 2048 bits, the modulus a multiple of 8 bits;
/// ECDSA keys on P-256, P-384 or P-521 only (no secp256k1, no other algorithm).
fn check_key(cert: &Cert) -> Result<(), Violation> {
    let spki = cert.tbs_certificate().subject_public_key_info();
    let weak = |what: String| Err(violation(Reason::WeakKey, cert, format!("{what} (BR 6.1.5, 7.1.3.1)")));
    if spki.algorithm.oid == RSA_ENCRYPTION {
        let bits = rsa_modulus_bits(spki.subject_public_key.raw_bytes());
        return match bits {
            Some(bits) if bits >= 2048 && bits % 8 == 0 => Ok(()),
            Some(bits) => weak(format!(
                "its RSA key has a {bits}-bit modulus; the web PKI takes 2048 bits or more, in whole bytes"
            )),
            None => weak("its RSA key does not parse".into()),
        };
    }
    if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        return match curve {
            Some(curve) if [SECP_256_R_1, SECP_384_R_1, SECP_521_R_1].contains(&curve) => Ok(()),
            Some(curve) => {
                weak(format!("its EC key is on curve {curve}; the web PKI takes P-256, P-384 and P-521 only"))
            }
            None => weak("its EC key names no curve".into()),
        };
    }
    weak(format!("its key algorithm {} is not RSA or ECDSA", spki.algorithm.oid))
}

/// The bit length of an RSAPublicKey's modulus (RFC 8017 A.1.1).
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    let key = rsa::pkcs1::RsaPublicKey::<UintRef<'_>>::from_der(der).ok()?;
    let bytes = key.modulus.as_bytes();
    let first = *bytes.first()?;
    Some(bytes.len() * 8 - first.leading_zeros() as usize)
}

/// BR 7.1.2.7.8: a subscriber certificate is no CA (basicConstraints, if present, says
/// cA FALSE).
fn check_subscriber_is_no_ca(cert: &Cert) -> Result<(), Violation> {
    if let Some(ext) = find(cert, ID_CE_BASIC_CONSTRAINTS) {
        let constraints: BasicConstraints = decode(cert, ext, "basicConstraints")?;
        if constraints.ca {
            return Err(violation(
                Reason::CaAsEndEntity,
                cert,
                "a CA certificate cannot be a TLS server's (BR 7.1.2.7.8)",
            ));
        }
    }
    Ok(())
}

/// BR 7.1.2.7.10: a subscriber certificate has an extendedKeyUsage naming serverAuth
/// and not anyExtendedKeyUsage.
fn check_subscriber_purpose(cert: &Cert) -> Result<(), Violation> {
    let eku = extended_key_usage(cert)?;
    match eku {
        Some(eku) if eku.0.contains(&ID_KP_SERVER_AUTH) && !eku.0.contains(&ANY_EXTENDED_KEY_USAGE) => Ok(()),
        _ => Err(violation(
            Reason::MissingPurpose(crate::x509::Purpose::Server),
            cert,
            "a TLS server certificate must have an extendedKeyUsage naming serverAuth, without anyExtendedKeyUsage (BR 7.1.2.7.10)",
        )),
    }
}

/// BR 7.1.2.7.12 and 7.1.4.3: a subscriber certificate has a subjectAltName (its names
/// are there, not in the commonName), critical when the subject is empty.
fn check_subscriber_names(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_SUBJECT_ALT_NAME) else {
        return Err(violation(Reason::MissingExtension, cert, "it has no subjectAltName (BR 7.1.2.7.12)"));
    };
    if cert.tbs_certificate().subject().is_empty() && !ext.critical {
        return Err(violation(
            Reason::BadCriticality,
            cert,
            "its subject is empty, so its subjectAltName must be critical (BR 7.1.2.7.12, RFC 5280 §4.2.1.6)",
        ));
    }
    Ok(())
}

/// BR 6.3.2: a subscriber certificate's validity period (notBefore to notAfter, both
/// included) is at most 398 days when issued on or after 2020-09-01, and since ballot
/// SC-081 at most 200 days from 2026-03-15, 100 days from 2027-03-15 and 47 days from
/// 2029-03-15.
fn check_subscriber_validity(cert: &Cert) -> Result<(), Violation> {
    const LIMITS: &[(i64, i64, &str)] = &[
        (1_868_227_200, 47, "2029-03-15"),
        (1_805_068_800, 100, "2027-03-15"),
        (1_773_532_800, 200, "2026-03-15"),
        (1_598_918_400, 398, "2020-09-01"),
    ];
    let Some((_, days, since)) = LIMITS.iter().find(|(from, _, _)| cert.not_before >= *from) else {
        return Ok(());
    };
    let period = cert.not_after - cert.not_before + 1;
    if period > days * DAY {
        return Err(violation(
            Reason::ValidityTooLong,
            cert,
            format!(
                "its validity period is {} days; a TLS server certificate issued since {since} may have {days} at most (BR 6.3.2)",
                (period + DAY - 1) / DAY
            ),
        ));
    }
    Ok(())
}

/// BR 7.1.2.10.7: a CA certificate's keyUsage is present, critical, and asserts
/// keyCertSign.
fn check_ca_key_usage(cert: &Cert) -> Result<(), Violation> {
    let Some(ext) = find(cert, ID_CE_KEY_USAGE) else {
        return Err(violation(Reason::MissingExtension, cert, "this CA certificate has no keyUsage (BR 7.1.2.10.7)"));
    };
    let usage: KeyUsage = decode(cert, ext, "keyUsage")?;
    if !ext.critical || !usage.0.contains(KeyUsages::KeyCertSign) {
        return Err(violation(
            Reason::BadKeyUsage,
            cert,
            "a CA certificate's keyUsage must be critical and assert keyCertSign (BR 7.1.2.10.7)",
        ));
    }
    Ok(())
}

/// BR 7.1.2.10.6 (as rustls-webpki and pyca apply it): a subordinate CA's
/// extendedKeyUsage, where present, names serverAuth and never anyExtendedKeyUsage.
fn check_ca_purpose(cert: &Cert) -> Result<(), Violation> {
    match extended_key_usage(cert)? {
        Some(eku) if !eku.0.contains(&ID_KP_SERVER_AUTH) || eku.0.contains(&ANY_EXTENDED_KEY_USAGE) => Err(violation(
            Reason::MissingPurpose(crate::x509::Purpose::Server),
            cert,
            "a TLS CA's extendedKeyUsage must name serverAuth, without anyExtendedKeyUsage (BR 7.1.2.10.6)",
        )),
        _ => Ok(()),
    }
}

fn extended_key_usage(cert: &Cert) -> Result<Option<ExtendedKeyUsage>, Violation> {
    find(cert, ID_CE_EXT_KEY_USAGE).map(|ext| decode(cert, ext, "extendedKeyUsage")).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::{BitString, OctetString};
    use der::{Any, Decode, Encode, Tagged};
    use x509_cert::ext::Extension;

    /// PKITS's Good CA (RSA-2048, an AKI of a keyIdentifier alone) with its
    /// tbsCertificate's fields changed by `edit`; the signature no longer matches, which
    /// these rules do not look at.
    fn good_ca_with(edit: impl FnOnce(&mut Vec<Any>)) -> Cert {
        let der = include_bytes!("../../fixtures/pkits/certs/GoodCACert.crt");
        let outer: Vec<Any> = Vec::from_der(der).unwrap();
        let mut tbs: Vec<Any> = Vec::from_der(&outer[0].to_der().unwrap()).unwrap();
        edit(&mut tbs);
        let tbs = Any::from_der(&tbs.to_der().unwrap()).unwrap();
        Cert::from_der(&vec![tbs, outer[1].clone(), outer[2].clone()].to_der().unwrap()).unwrap()
    }

    /// Good CA with its extensions changed by `edit`.
    fn with_extensions(edit: impl FnOnce(&mut Vec<Extension>)) -> Cert {
        good_ca_with(|tbs| {
            let wrapped = tbs[7].clone();
            let mut extensions: Vec<Extension> = Vec::from_der(wrapped.value()).unwrap();
            edit(&mut extensions);
            tbs[7] = Any::new(wrapped.tag(), extensions.to_der().unwrap()).unwrap();
        })
    }

    /// `extensions` with the one of `oid` set to `value` (added when absent), or removed.
    fn set(extensions: &mut Vec<Extension>, oid: ObjectIdentifier, value: Option<(bool, Vec<u8>)>) {
        extensions.retain(|e| e.extn_id != oid);
        if let Some((critical, der)) = value {
            extensions.push(Extension { extn_id: oid, critical, extn_value: OctetString::new(der).unwrap() });
        }
    }

    fn with_aki(aki: &AuthorityKeyIdentifier) -> Cert {
        with_extensions(|e| set(e, ID_CE_AUTHORITY_KEY_IDENTIFIER, Some((false, aki.to_der().unwrap()))))
    }

    /// A certificate whose key is an RSA key with a modulus of `bits` bits.
    fn with_rsa_bits(bits: usize) -> Cert {
        let mut modulus = vec![0xFFu8; bits.div_ceil(8)];
        modulus[0] = 0xFF >> (modulus.len() * 8 - bits);
        let key = vec![der::asn1::Uint::new(&modulus).unwrap(), der::asn1::Uint::new(&[1, 0, 1]).unwrap()];
        let spki = spki::SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned { oid: RSA_ENCRYPTION, parameters: Some(Any::null()) },
            subject_public_key: BitString::from_bytes(&key.to_der().unwrap()).unwrap(),
        };
        good_ca_with(|tbs| tbs[6] = Any::from_der(&spki.to_der().unwrap()).unwrap())
    }

    /// BR 7.1.2.11.1: a keyIdentifier, and nothing else.
    #[test]
    fn an_authority_key_identifier_is_a_key_identifier_alone() {
        let id = Some(OctetString::new(vec![7; 20]).unwrap());
        let issuer = Some(vec![x509_cert::ext::pkix::name::GeneralName::DnsName(
            der::asn1::Ia5String::new("ca.example").unwrap(),
        )]);
        let serial = Some(x509_cert::serial_number::SerialNumber::new(&[5]).unwrap());
        let verdict = |aki: AuthorityKeyIdentifier| check_authority_key_identifier(&with_aki(&aki)).map_err(|e| e.0);
        let alone = AuthorityKeyIdentifier { key_identifier: id.clone(), ..Default::default() };
        assert_eq!(verdict(alone), Ok(()));
        assert_eq!(verdict(AuthorityKeyIdentifier::default()), Err(Reason::MalformedExtension), "empty");
        let with_serial = AuthorityKeyIdentifier {
            key_identifier: id.clone(),
            authority_cert_serial_number: serial,
            ..Default::default()
        };
        assert_eq!(verdict(with_serial), Err(Reason::MalformedExtension));
        let with_issuer =
            AuthorityKeyIdentifier { key_identifier: id, authority_cert_issuer: issuer, ..Default::default() };
        assert_eq!(verdict(with_issuer), Err(Reason::MalformedExtension));
    }

    /// BR 6.1.5: RSA moduli of 2048 bits or more, in whole bytes.
    #[test]
    fn rsa_keys_are_2048_bits_or_more_in_whole_bytes() {
        let verdict = |bits| check_key(&with_rsa_bits(bits)).map_err(|e| e.0);
        assert_eq!(verdict(2048), Ok(()));
        assert_eq!(verdict(3072), Ok(()));
        assert_eq!(verdict(2047), Err(Reason::WeakKey));
        assert_eq!(verdict(2052), Err(Reason::WeakKey), "not whole bytes");
        assert_eq!(verdict(1024), Err(Reason::WeakKey));
    }

    #[test]
    fn rsa_modulus_lengths_are_counted_in_bits() {
        use der::Encode;
        let key = |modulus: &[u8]| {
            let n = der::asn1::Uint::new(modulus).unwrap();
            let e = der::asn1::Uint::new(&[1, 0, 1]).unwrap();
            vec![n, e].to_der().unwrap()
        };
        assert_eq!(rsa_modulus_bits(&key(&[0xC0; 256])), Some(2048));
        assert_eq!(rsa_modulus_bits(&key(&[0x7F; 256])), Some(2047));
        assert_eq!(rsa_modulus_bits(&key(&[0xFF; 128])), Some(1024));
        assert_eq!(rsa_modulus_bits(b"\x30\x00"), None);
    }

    fn eku(purposes: &[ObjectIdentifier]) -> Option<(bool, Vec<u8>)> {
        Some((false, ExtendedKeyUsage(purposes.to_vec()).to_der().unwrap()))
    }

    /// BR 7.1.2.7.10: serverAuth, and never anyExtendedKeyUsage, in a server certificate.
    #[test]
    fn a_server_certificate_names_server_auth_and_not_any_purpose() {
        let code_signing = der::oid::db::rfc5280::ID_KP_CODE_SIGNING;
        let verdict =
            |value| check_subscriber_purpose(&with_extensions(|e| set(e, ID_CE_EXT_KEY_USAGE, value))).map_err(|e| e.0);
        assert_eq!(verdict(eku(&[ID_KP_SERVER_AUTH])), Ok(()));
        let refused = Err(Reason::MissingPurpose(crate::x509::Purpose::Server));
        assert_eq!(verdict(eku(&[ID_KP_SERVER_AUTH, ANY_EXTENDED_KEY_USAGE])), refused);
        assert_eq!(verdict(eku(&[code_signing])), refused);
        assert_eq!(verdict(None), refused);
    }

    /// BR 7.1.2.7.12: a subjectAltName, critical when the subject is empty.
    #[test]
    fn a_server_certificate_has_a_san_critical_when_its_subject_is_empty() {
        let san = |critical| Some((critical, vec![0x30, 0x05, 0x82, 0x03, b'a', b'.', b'b']));
        let verdict = |value, empty_subject: bool| {
            let cert = good_ca_with(|tbs| {
                let wrapped = tbs[7].clone();
                let mut extensions: Vec<Extension> = Vec::from_der(wrapped.value()).unwrap();
                set(&mut extensions, ID_CE_SUBJECT_ALT_NAME, value);
                tbs[7] = Any::new(wrapped.tag(), extensions.to_der().unwrap()).unwrap();
                if empty_subject {
                    tbs[5] = Any::from_der(&x509_cert::name::Name::default().to_der().unwrap()).unwrap();
                }
            });
            check_subscriber_names(&cert).map_err(|e| e.0)
        };
        assert_eq!(verdict(san(false), false), Ok(()));
        assert_eq!(verdict(san(true), true), Ok(()));
        assert_eq!(verdict(san(false), true), Err(Reason::BadCriticality));
        assert_eq!(verdict(None, false), Err(Reason::MissingExtension));
    }

    /// BR 6.3.2: the validity period counts both ends; 200 days is the limit for a
    /// certificate issued on 2026-04-01, 398 for one issued in 2021, none before 2020-09.
    #[test]
    fn a_server_certificate_is_valid_no_longer_than_its_issuance_date_allows() {
        let with_validity = |not_before: u64, seconds: u64| {
            let time = |at: u64| {
                x509_cert::time::Time::UtcTime(
                    der::asn1::UtcTime::from_unix_duration(std::time::Duration::from_secs(at)).unwrap(),
                )
            };
            let validity: x509_cert::time::Validity =
                x509_cert::time::Validity::new(time(not_before), time(not_before + seconds));
            good_ca_with(|tbs| tbs[4] = Any::from_der(&validity.to_der().unwrap()).unwrap())
        };
        let verdict =
            |not_before, seconds| check_subscriber_validity(&with_validity(not_before, seconds)).map_err(|e| e.0);
        let day = DAY as u64;
        let april_2026 = 1_775_001_600;
        assert_eq!(verdict(april_2026, 200 * day - 1), Ok(()), "200 days, both ends counted");
        assert_eq!(verdict(april_2026, 200 * day), Err(Reason::ValidityTooLong), "one second more");
        let in_2021 = 1_610_000_000;
        assert_eq!(verdict(in_2021, 398 * day - 1), Ok(()));
        assert_eq!(verdict(in_2021, 398 * day), Err(Reason::ValidityTooLong));
        assert_eq!(verdict(1_500_000_000, 800 * day), Ok(()), "before 2020-09-01");
    }

    /// BR 7.1.2.10.7: a CA's keyUsage is present, critical, and asserts keyCertSign.
    #[test]
    fn a_cas_key_usage_is_critical_with_key_cert_sign() {
        let usage = |critical, bits: KeyUsages| Some((critical, KeyUsage(bits.into()).to_der().unwrap()));
        let verdict = |value| check_ca_key_usage(&with_extensions(|e| set(e, ID_CE_KEY_USAGE, value))).map_err(|e| e.0);
        assert_eq!(verdict(usage(true, KeyUsages::KeyCertSign)), Ok(()));
        assert_eq!(verdict(usage(false, KeyUsages::KeyCertSign)), Err(Reason::BadKeyUsage));
        assert_eq!(verdict(usage(true, KeyUsages::CRLSign)), Err(Reason::BadKeyUsage));
        assert_eq!(verdict(None), Err(Reason::MissingExtension));
    }

    /// BR 7.1.2.10.6: a TLS CA's extendedKeyUsage, if any, names serverAuth and not
    /// anyExtendedKeyUsage; a CA without one is not restricted.
    #[test]
    fn a_cas_purposes_if_any_include_server_auth_and_not_any() {
        let code_signing = der::oid::db::rfc5280::ID_KP_CODE_SIGNING;
        let verdict =
            |value| check_ca_purpose(&with_extensions(|e| set(e, ID_CE_EXT_KEY_USAGE, value))).map_err(|e| e.0);
        assert_eq!(verdict(None), Ok(()));
        assert_eq!(verdict(eku(&[ID_KP_SERVER_AUTH])), Ok(()));
        let refused = Err(Reason::MissingPurpose(crate::x509::Purpose::Server));
        assert_eq!(verdict(eku(&[ID_KP_SERVER_AUTH, ANY_EXTENDED_KEY_USAGE])), refused);
        assert_eq!(verdict(eku(&[code_signing])), refused);
    }
}
