//! The entries of one CRL (RFC 5280 §5.3), indexed once by certificate issuer and serial
//! number, so that looking a certificate up costs the same for ten entries as for a
//! million. An indirect CRL lists certificates of other issuers too: an entry's
//! certificateIssuer extension (§5.3.3) names their issuer, and that name carries over
//! to the entries that follow until another one says otherwise; the first entries belong
//! to the CRL issuer. An entry extension that is critical and not understood makes the
//! whole CRL unusable (§5.3), so every entry is read once here before any is trusted; so
//! does a certificate listed twice.

use crate::x509::name::{NameKey, name_key};
use der::Decode;
use der::oid::db::rfc5280::{
    ID_CE_CERTIFICATE_ISSUER, ID_CE_CRL_REASONS, ID_CE_HOLD_INSTRUCTION_CODE, ID_CE_INVALIDITY_DATE,
};
use std::collections::HashMap;
use x509_cert::crl::{RevokedCert, TbsCertList};
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};

/// Most directory names one certificateIssuer extension may hold. Each name is indexed
/// for every entry it carries over to, so an unbounded list would make a small CRL cost
/// quadratic work; real indirect CRLs name one issuer per extension. A CRL with more is
/// refused as unusable rather than half read.
pub const MAX_CERTIFICATE_ISSUER_NAMES: usize = 8;

/// One CRL's entries, by (certificate issuer, serial).
#[derive(Debug, Default)]
pub struct Entries {
    issuers: HashMap<NameKey, u32>,
    by_serial: HashMap<(u32, Vec<u8>), usize>,
}

impl Entries {
    /// Indexes the entries of `list`, issued by `issuer`; `indirect` says whether the CRL
    /// is an indirect CRL, the only kind that may name other issuers. Fails, naming the
    /// problem, when an entry makes the CRL unusable.
    pub fn new(list: &TbsCertList, issuer: &NameKey, indirect: bool) -> Result<Entries, String> {
        let mut entries = Entries::default();
        let mut current = vec![entries.intern(issuer.clone())];
        for (at, entry) in list.revoked_certificates.iter().flatten().enumerate() {
            let mut seen = std::collections::HashSet::new();
            for extension in entry.crl_entry_extensions.iter().flatten() {
                if !seen.insert(extension.extn_id) {
                    // Two reasonCodes (or certificateIssuers) leave the entry's meaning open.
                    return Err(format!("an entry has extension {} twice", extension.extn_id));
                }
                match extension.extn_id {
                    ID_CE_CRL_REASONS | ID_CE_HOLD_INSTRUCTION_CODE | ID_CE_INVALIDITY_DATE => {}
                    ID_CE_CERTIFICATE_ISSUER => {
                        if !indirect {
                            return Err("an entry names a certificateIssuer, but the CRL is not an indirect CRL".into());
                        }
                        current = entries.certificate_issuer(extension.extn_value.as_bytes())?;
                    }
                    other if extension.critical => {
                        return Err(format!("an entry has critical extension {other}, which keyseal does not process"));
                    }
                    _ => {}
                }
            }
            let serial = entry.serial_number.as_bytes();
            for issuer in &current {
                if entries.by_serial.insert((*issuer, serial.to_vec()), at).is_some() {
                    // A CRL that lists a certificate twice says two things about it (which
                    // date, which reason?); a conforming issuer never does.
                    return Err(format!("it lists serial {} twice", hex::encode_upper(serial)));
                }
            }
        }
        Ok(entries)
    }

    fn intern(&mut self, name: NameKey) -> u32 {
        let next = u32::try_from(self.issuers.len()).unwrap_or(u32::MAX);
        *self.issuers.entry(name).or_insert(next)
    }

    /// The issuers a certificateIssuer extension names (its directory names: a
    /// certificate's issuer is always one).
    fn certificate_issuer(&mut self, value: &[u8]) -> Result<Vec<u32>, String> {
        let names = GeneralNames::from_der(value).map_err(|e| format!("an unreadable certificateIssuer: {e}"))?;
        if names.len() > MAX_CERTIFICATE_ISSUER_NAMES {
            return Err(format!(
                "a certificateIssuer with {} names (keyseal reads at most {MAX_CERTIFICATE_ISSUER_NAMES})",
                names.len()
            ));
        }
        let issuers: Vec<u32> = names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DirectoryName(directory) => Some(name_key(directory)),
                _ => None,
            })
            .map(|key| self.intern(key))
            .collect();
        if issuers.is_empty() {
            // The entries that follow would belong to no issuer and revoke nothing.
            return Err("a certificateIssuer names no directory name".into());
        }
        Ok(issuers)
    }

    /// The position of the entry for the certificate with `serial` issued by `issuer`.
    pub fn find(&self, issuer: &NameKey, serial: &[u8]) -> Option<usize> {
        let issuer = self.issuers.get(issuer)?;
        self.by_serial.get(&(*issuer, serial.to_vec())).copied()
    }
}

/// An entry's reasonCode (RFC 5280 §5.3.1); absent or unreadable, the reason is
/// unspecified, and the certificate is revoked all the same.
pub fn reason(entry: &RevokedCert) -> Option<CrlReason> {
    entry
        .crl_entry_extensions
        .iter()
        .flatten()
        .find(|extension| extension.extn_id == ID_CE_CRL_REASONS)
        .and_then(|extension| CrlReason::from_der(extension.extn_value.as_bytes()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;
    use der::asn1::OctetString;
    use x509_cert::ext::Extension;
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;

    fn name(text: &str) -> Name {
        text.parse().unwrap()
    }

    fn entry(serial: u8, extensions: Vec<Extension>) -> RevokedCert {
        let template = fixture().revoked_certificates.and_then(|entries| entries.into_iter().next()).unwrap();
        RevokedCert {
            serial_number: SerialNumber::new(&[serial]).unwrap(),
            revocation_date: template.revocation_date,
            crl_entry_extensions: if extensions.is_empty() { None } else { Some(extensions) },
        }
    }

    fn fixture() -> TbsCertList {
        let der = include_bytes!("../../../fixtures/pkits/crls/GoodCACRL.crl");
        x509_cert::crl::CertificateList::from_der(der).unwrap().tbs_cert_list
    }

    fn certificate_issuer(issuer: &str) -> Extension {
        let names: GeneralNames = vec![GeneralName::DirectoryName(name(issuer))];
        Extension {
            extn_id: ID_CE_CERTIFICATE_ISSUER,
            critical: true,
            extn_value: OctetString::new(names.to_der().unwrap()).unwrap(),
        }
    }

    fn list(entries: Vec<RevokedCert>) -> TbsCertList {
        TbsCertList { revoked_certificates: Some(entries), ..fixture() }
    }

    #[test]
    fn certificate_issuer_carries_over_to_the_entries_that_follow() {
        let (crl, other) = (name_key(&name("CN=Indirect CRL Issuer")), name_key(&name("CN=Other CA")));
        let list = list(vec![entry(1, vec![]), entry(2, vec![certificate_issuer("CN=Other CA")]), entry(3, vec![])]);
        let entries = Entries::new(&list, &crl, true).unwrap();
        assert_eq!(entries.find(&crl, &[1]), Some(0));
        assert_eq!(entries.find(&crl, &[2]), None);
        assert_eq!(entries.find(&other, &[2]), Some(1));
        assert_eq!(entries.find(&other, &[3]), Some(2));
        assert_eq!(entries.find(&crl, &[3]), None);
        assert!(Entries::new(&list, &crl, false).is_err(), "certificateIssuer only in an indirect CRL");
    }

    #[test]
    fn an_unknown_critical_entry_extension_makes_the_crl_unusable() {
        let unknown = Extension {
            extn_id: der::asn1::ObjectIdentifier::new_unwrap("1.2.3.4"),
            critical: true,
            extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
        };
        let crl = name_key(&name("CN=CA"));
        assert!(Entries::new(&list(vec![entry(9, vec![]), entry(7, vec![unknown.clone()])]), &crl, false).is_err());
        let harmless = Extension { critical: false, ..unknown };
        assert!(Entries::new(&list(vec![entry(7, vec![harmless])]), &crl, false).is_ok());
    }

    #[test]
    fn a_serial_listed_twice_makes_the_crl_unusable() {
        let (crl, other) = (name_key(&name("CN=Indirect CRL Issuer")), name_key(&name("CN=Other CA")));
        let twice = Entries::new(&list(vec![entry(5, vec![]), entry(6, vec![]), entry(5, vec![])]), &crl, false);
        assert!(twice.unwrap_err().contains("serial 05 twice"));
        // The same serial from two issuers of an indirect CRL is two certificates.
        let two_issuers = list(vec![entry(5, vec![]), entry(5, vec![certificate_issuer("CN=Other CA")])]);
        let entries = Entries::new(&two_issuers, &crl, true).unwrap();
        assert_eq!((entries.find(&crl, &[5]), entries.find(&other, &[5])), (Some(0), Some(1)));
    }

    /// Regression (review finding): a certificateIssuer naming no directory name left the
    /// entries after it under no issuer, revoking nothing; and an entry with an extension
    /// twice (two reasonCodes) read as whichever came first.
    #[test]
    fn an_issuerless_certificate_issuer_or_a_repeated_entry_extension_makes_the_crl_unusable() {
        let crl = name_key(&name("CN=Indirect CRL Issuer"));
        let uri: GeneralNames =
            vec![GeneralName::UniformResourceIdentifier(der::asn1::Ia5String::new("http://x").unwrap())];
        let uri_only = Extension {
            extn_id: ID_CE_CERTIFICATE_ISSUER,
            critical: true,
            extn_value: OctetString::new(uri.to_der().unwrap()).unwrap(),
        };
        let error = Entries::new(&list(vec![entry(4, vec![uri_only])]), &crl, true).unwrap_err();
        assert!(error.contains("no directory name"), "{error}");
        let twice = vec![certificate_issuer("CN=Other CA"), certificate_issuer("CN=Third CA")];
        let error = Entries::new(&list(vec![entry(4, twice)]), &crl, true).unwrap_err();
        assert!(error.contains("twice"), "{error}");
    }

    /// A certificateIssuer of up to MAX_CERTIFICATE_ISSUER_NAMES names is read; one more
    /// makes the CRL unusable.
    #[test]
    fn a_certificate_issuer_of_too_many_names_is_refused() {
        let names = |n: usize| -> Vec<u8> {
            let names: GeneralNames = (0..n).map(|i| GeneralName::DirectoryName(name(&format!("CN=CA {i}")))).collect();
            names.to_der().unwrap()
        };
        let mut entries = Entries::default();
        assert_eq!(entries.certificate_issuer(&names(MAX_CERTIFICATE_ISSUER_NAMES)).unwrap().len(), 8);
        let refused = entries.certificate_issuer(&names(MAX_CERTIFICATE_ISSUER_NAMES + 1)).unwrap_err();
        assert!(refused.contains("9 names"), "{refused}");
    }
}
