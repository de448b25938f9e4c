//! Which CRLs speak for a certificate, and for which revocation reasons (RFC 5280
//! §6.3.3 (b)–(d)). A certificate names where its status is published in its
//! cRLDistributionPoints; a CRL says what it covers in its issuingDistributionPoint. The
//! two must agree on the CRL issuer (the certificate's issuer, or for an indirect CRL the
//! cRLIssuer the certificate names), on the distribution point's name, and on the kind
//! of certificate; the reasons a CRL speaks for are those both allow. Kept apart from the
//! rest of CRL processing so that each rule is one small function with its section.

use crate::x509::budget::{Budget, Exhausted};
use crate::x509::name::{NameKey, name_key};
use crate::x509::pool::Indexed;
use der::{Decode, Encode};
use x509_cert::ext::pkix::crl::dp::ReasonFlags;
use x509_cert::ext::pkix::crl::{CrlReason, IssuingDistributionPoint};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{BasicConstraints, CrlDistributionPoints, IssuerAltName};
use x509_cert::name::{Name, RdnSequence};

/// Every ReasonFlags bit (RFC 5280 §4.2.1.13), `unused` (bit 0) included: what a CRL
/// without onlySomeReasons, for a distribution point without reasons, speaks for.
pub const ALL_REASONS: u16 = 0x1FF;
/// The reasons a status must cover to be complete: every real reason, keyCompromise
/// (bit 1) to aACompromise (bit 8). Bit 0 is `unused`, so a CRL issuer that leaves it out
/// of onlySomeReasons still covers everything.
pub const EVERY_REASON: u16 = 0x1FE;

/// The names of the ReasonFlags bits, for messages: keyseal's names for the reasons
/// (`keyseal ca revoke --reason`, [`reason_name`]).
const REASON_NAMES: [&str; 9] = [
    "unused",
    "key-compromise",
    "ca-compromise",
    "affiliation-changed",
    "superseded",
    "cessation-of-operation",
    "certificate-hold",
    "privilege-withdrawn",
    "aa-compromise",
];

/// How keyseal names a CRLReason in every message and option: kebab-case, as
/// `keyseal ca revoke --reason` takes it.
pub fn reason_name(reason: CrlReason) -> &'static str {
    match reason {
        CrlReason::Unspecified => "unspecified",
        CrlReason::KeyCompromise => "key-compromise",
        CrlReason::CaCompromise => "ca-compromise",
        CrlReason::AffiliationChanged => "affiliation-changed",
        CrlReason::Superseded => "superseded",
        CrlReason::CessationOfOperation => "cessation-of-operation",
        CrlReason::CertificateHold => "certificate-hold",
        CrlReason::RemoveFromCRL => "remove-from-crl",
        CrlReason::PrivilegeWithdrawn => "privilege-withdrawn",
        CrlReason::AaCompromise => "aa-compromise",
    }
}

/// The reasons in `mask`, by name, for messages.
pub fn reason_names(mask: u16) -> String {
    let names: Vec<&str> =
        REASON_NAMES.iter().enumerate().filter(|(bit, _)| mask & (1 << bit) != 0).map(|(_, name)| *name).collect();
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

/// A name of a distribution point or CRL issuer, in comparable form: directory names as
/// RFC 5280 §7.1 compares them, anything else (URIs mostly) as encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointName {
    /// A directoryName.
    Directory(NameKey),
    /// Any other GeneralName.
    Other(GeneralName),
}

impl PointName {
    fn of(name: &GeneralName) -> PointName {
        match name {
            GeneralName::DirectoryName(directory) => PointName::Directory(name_key(directory)),
            other => PointName::Other(other.clone()),
        }
    }
}

/// One distribution point of a certificate (RFC 5280 §4.2.1.13), its names resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// distributionPoint as full names (nameRelativeToCRLIssuer appended to the CRL
    /// issuer's name), if present.
    pub names: Option<Vec<PointName>>,
    /// reasons as ReasonFlags bits, if present.
    pub reasons: Option<u16>,
    /// cRLIssuer, if present: who issues the CRL for this point (an indirect CRL).
    pub crl_issuer: Option<Vec<PointName>>,
}

impl Point {
    /// The names a CRL for this point may be issued under (RFC 5280 §6.3.3 (b)(1)): the
    /// directory names of cRLIssuer, or else the certificate's issuer.
    pub fn crl_issuers(&self, cert: &Indexed<'_>) -> Vec<NameKey> {
        match &self.crl_issuer {
            Some(names) => names
                .iter()
                .filter_map(|name| match name {
                    PointName::Directory(key) => Some(key.clone()),
                    PointName::Other(_) => None,
                })
                .collect(),
            None => vec![cert.issuer.clone()],
        }
    }
}

/// `relative` appended to each of `bases`: what nameRelativeToCRLIssuer stands for.
fn resolve(name: &DistributionPointName, bases: &[&Name]) -> Vec<PointName> {
    match name {
        DistributionPointName::FullName(names) => names.iter().map(PointName::of).collect(),
        DistributionPointName::NameRelativeToCRLIssuer(relative) => bases
            .iter()
            .filter_map(|base| {
                let mut sequence = RdnSequence::from((*base).clone());
                sequence.push(relative.clone());
                // Through DER, as x509-cert builds a Name from an RdnSequence only so.
                let name = sequence.to_der().ok().and_then(|der| Name::from_der(&der).ok())?;
                Some(PointName::Directory(name_key(&name)))
            })
            .collect(),
    }
}

/// The distribution points to consult for `cert`, in order: those of its
/// cRLDistributionPoints, then the one RFC 5280 §6.3.3 assumes for CRLs its issuer
/// publishes outside any of them — named by the issuer (and its issuerAltName), with
/// reasons and cRLIssuer absent.
pub fn distribution_points(cert: &Indexed<'_>) -> Result<Vec<Point>, String> {
    let tbs = cert.cert.tbs_certificate();
    let issuer = tbs.issuer();
    let mut points = Vec::new();
    let listed =
        tbs.get_extension::<CrlDistributionPoints>().map_err(|e| format!("unreadable cRLDistributionPoints: {e}"))?;
    for point in listed.map(|(_, points)| points.0).unwrap_or_default() {
        let crl_issuer = point.crl_issuer.as_ref().map(|names| names.iter().map(PointName::of).collect::<Vec<_>>());
        let bases: Vec<&Name> = match &point.crl_issuer {
            Some(names) => names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DirectoryName(directory) => Some(directory),
                    _ => None,
                })
                .collect(),
            None => vec![issuer],
        };
        points.push(Point {
            names: point.distribution_point.as_ref().map(|name| resolve(name, &bases)),
            reasons: point.reasons.map(|flags: ReasonFlags| flags.bits()),
            crl_issuer,
        });
    }
    let mut names = vec![PointName::Directory(cert.issuer.clone())];
    if let Ok(Some((_, alternative))) = tbs.get_extension::<IssuerAltName>() {
        names.extend(alternative.0.iter().map(PointName::of));
    }
    points.push(Point { names: Some(names), reasons: None, crl_issuer: None });
    Ok(points)
}

/// Whether `cert` is a CA certificate (basicConstraints cA TRUE), for onlyContainsUserCerts
/// and onlyContainsCACerts. An unreadable basicConstraints counts as not a CA; path
/// validation refuses such a certificate in a CA's place anyway.
pub fn is_ca(cert: &Indexed<'_>) -> bool {
    matches!(cert.cert.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
}

/// What scope checking needs to know about a CRL.
pub struct CrlScope<'c> {
    /// The CRL's issuer, in comparable form.
    pub issuer: &'c NameKey,
    /// Its issuingDistributionPoint, if any.
    pub idp: Option<&'c IssuingDistributionPoint>,
    /// The distribution point names of its issuingDistributionPoint, if it names any,
    /// resolved once by [`idp_point_names`].
    pub point_names: Option<&'c [PointName]>,
}

/// The full names of the distribution point an issuingDistributionPoint names, if it
/// names one (nameRelativeToCRLIssuer appended to `crl_issuer`, the CRL's issuer).
pub fn idp_point_names(idp: &IssuingDistributionPoint, crl_issuer: &Name) -> Option<Vec<PointName>> {
    idp.distribution_point.as_ref().map(|named| resolve(named, &[crl_issuer]))
}

/// RFC 5280 §6.3.3 (b)(1): a CRL for a distribution point with a cRLIssuer must be
/// issued under that name and be an indirect CRL; otherwise its issuer must be the
/// certificate's issuer.
pub fn check_crl_issuer(point: &Point, cert: &Indexed<'_>, crl: &CrlScope<'_>) -> Result<(), String> {
    match &point.crl_issuer {
        Some(names) => {
            if !names.contains(&PointName::Directory(crl.issuer.clone())) {
                return Err("its issuer is not the cRLIssuer the certificate names".into());
            }
            if !crl.idp.is_some_and(|idp| idp.indirect_crl) {
                return Err("it is not an indirect CRL (issuingDistributionPoint indirectCRL), so it does not speak for another CA's certificates".into());
            }
            Ok(())
        }
        None if *crl.issuer == cert.issuer => Ok(()),
        None => Err("its issuer is not the certificate's issuer".into()),
    }
}

/// RFC 5280 §6.3.3 (b)(2)(i): when the CRL's issuingDistributionPoint names a
/// distribution point, one of its names must be one of the certificate's distribution
/// point names (or, where the point has none, one of its cRLIssuer names). Each
/// comparison spends one from the name-comparison budget.
pub fn check_point_names(
    point: &Point,
    crl: &CrlScope<'_>,
    budget: &mut Budget,
) -> Result<Result<(), String>, Exhausted> {
    let Some(theirs) = crl.point_names else {
        return Ok(Ok(()));
    };
    let Some(ours) = point.names.as_ref().or(point.crl_issuer.as_ref()) else {
        return Ok(Err("the certificate's distribution point names neither a point nor a CRL issuer".into()));
    };
    for name in ours {
        for other in theirs {
            budget.name_comparison(1)?;
            if name == other {
                return Ok(Ok(()));
            }
        }
    }
    Ok(Err("its issuingDistributionPoint names another distribution point than the certificate's".into()))
}

/// RFC 5280 §6.3.3 (b)(2)(ii)–(iv): onlyContainsUserCerts leaves out CA certificates,
/// onlyContainsCACerts leaves out the others, and a CRL of attribute certificates only
/// covers no public-key certificate.
pub fn check_certificate_kind(crl: &CrlScope<'_>, is_ca: bool) -> Result<(), String> {
    let Some(idp) = crl.idp else { return Ok(()) };
    if idp.only_contains_user_certs && is_ca {
        return Err(
            "it only covers end-entity certificates (onlyContainsUserCerts) and this is a CA certificate".into()
        );
    }
    if idp.only_contains_ca_certs && !is_ca {
        return Err("it only covers CA certificates (onlyContainsCACerts) and this is not one".into());
    }
    if idp.only_contains_attribute_certs {
        return Err("it only covers attribute certificates (onlyContainsAttributeCerts)".into());
    }
    Ok(())
}

/// RFC 5280 §6.3.3 (b): all of the scope checks, cheapest first.
pub fn check_scope(
    point: &Point,
    cert: &Indexed<'_>,
    is_ca: bool,
    crl: &CrlScope<'_>,
    budget: &mut Budget,
) -> Result<Result<(), String>, Exhausted> {
    if let Err(why) = check_crl_issuer(point, cert, crl).and_then(|()| check_certificate_kind(crl, is_ca)) {
        return Ok(Err(why));
    }
    check_point_names(point, crl, budget)
}

/// RFC 5280 §6.3.3 (c): the reasons a CRL speaks for at this distribution point — those
/// of the CRL's onlySomeReasons and of the point's reasons, all reasons where neither
/// limits them.
pub fn interim_reasons(idp: Option<&IssuingDistributionPoint>, point: &Point) -> u16 {
    let crl = idp.and_then(|idp| idp.only_some_reasons).map(|flags| flags.bits());
    match (crl, point.reasons) {
        (Some(crl), Some(point)) => crl & point,
        (Some(only), None) | (None, Some(only)) => only,
        (None, None) => ALL_REASONS,
    }
}

/// RFC 5280 §6.3.3 (d): a CRL is only worth consulting if it covers a reason that the
/// CRLs consulted so far do not.
pub fn check_new_reasons(interim: u16, reasons_mask: u16) -> bool {
    interim & !reasons_mask != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(text: &str) -> PointName {
        PointName::Directory(name_key(&text.parse::<Name>().unwrap()))
    }

    fn idp(der: &[u8]) -> IssuingDistributionPoint {
        IssuingDistributionPoint::from_der(der).unwrap()
    }

    #[test]
    fn reason_flags_follow_the_bit_string_order() {
        // keyCompromise and cACompromise, as PKITS onlySomeReasons CA4 encodes them.
        let flags = ReasonFlags::from_der(&[0x03, 0x02, 0x05, 0x60]).unwrap();
        assert_eq!(flags.bits(), 0b110);
        // unused, affiliationChanged .. aACompromise: the complement.
        let flags = ReasonFlags::from_der(&[0x03, 0x03, 0x07, 0x9F, 0x80]).unwrap();
        assert_eq!(flags.bits() | 0b110, ALL_REASONS);
        assert_eq!(reason_names(0b110), "key-compromise, ca-compromise");
        assert_eq!(reason_name(CrlReason::AaCompromise), "aa-compromise");
        assert_eq!(reason_name(CrlReason::PrivilegeWithdrawn), "privilege-withdrawn");
        assert_eq!(reason_name(CrlReason::Unspecified), "unspecified");
    }

    #[test]
    fn interim_reasons_intersect_the_crl_and_the_point() {
        let point = |reasons| Point { names: None, reasons, crl_issuer: None };
        // IssuingDistributionPoint { onlySomeReasons [3] keyCompromise, cACompromise }
        let some = idp(&[0x30, 0x04, 0x83, 0x02, 0x05, 0x60]);
        assert_eq!(interim_reasons(None, &point(None)), ALL_REASONS);
        assert_eq!(interim_reasons(Some(&some), &point(None)), 0b110);
        assert_eq!(interim_reasons(None, &point(Some(0b1010))), 0b1010);
        assert_eq!(interim_reasons(Some(&some), &point(Some(0b1010))), 0b10);
        assert!(check_new_reasons(0b110, 0b10));
        assert!(!check_new_reasons(0b110, 0b111));
        assert_eq!(ALL_REASONS & EVERY_REASON, EVERY_REASON);
    }

    #[test]
    fn certificate_kind_follows_only_contains() {
        let issuer = name_key(&"CN=CA".parse::<Name>().unwrap());
        let user = idp(&[0x30, 0x03, 0x81, 0x01, 0xFF]);
        let ca = idp(&[0x30, 0x03, 0x82, 0x01, 0xFF]);
        let attribute = idp(&[0x30, 0x03, 0x85, 0x01, 0xFF]);
        let scope = |idp| CrlScope { issuer: &issuer, idp, point_names: None };
        assert!(check_certificate_kind(&scope(Some(&user)), false).is_ok());
        assert!(check_certificate_kind(&scope(Some(&user)), true).is_err());
        assert!(check_certificate_kind(&scope(Some(&ca)), true).is_ok());
        assert!(check_certificate_kind(&scope(Some(&ca)), false).is_err());
        assert!(check_certificate_kind(&scope(Some(&attribute)), false).is_err());
        assert!(check_certificate_kind(&scope(None), true).is_ok());
    }

    #[test]
    fn relative_names_resolve_against_the_crl_issuer() {
        // RFC 4514 strings: the most specific RDN first.
        let issuer_name: Name = "OU=CA2,O=Test,C=US".parse().unwrap();
        let issuer = name_key(&issuer_name);
        let relative = "CN=CRL1".parse::<Name>().unwrap().iter_rdn().next().unwrap().clone();
        let named = IssuingDistributionPoint {
            distribution_point: Some(DistributionPointName::NameRelativeToCRLIssuer(relative)),
            only_contains_user_certs: false,
            only_contains_ca_certs: false,
            only_some_reasons: None,
            indirect_crl: false,
            only_contains_attribute_certs: false,
        };
        let names = idp_point_names(&named, &issuer_name).unwrap();
        let scope = CrlScope { issuer: &issuer, idp: Some(&named), point_names: Some(&names) };
        let mut budget = Budget::default();
        let full =
            Point { names: Some(vec![directory("CN=CRL1,OU=CA2,O=Test,C=US")]), reasons: None, crl_issuer: None };
        assert_eq!(check_point_names(&full, &scope, &mut budget), Ok(Ok(())));
        let other = Point { names: Some(vec![directory("OU=CA2,O=Test,C=US")]), reasons: None, crl_issuer: None };
        assert!(check_point_names(&other, &scope, &mut budget).unwrap().is_err());
        // Only a cRLIssuer: the IDP's names are compared with it.
        let issuer_only =
            Point { names: None, reasons: None, crl_issuer: Some(vec![directory("CN=CRL1,OU=CA2,O=Test,C=US")]) };
        assert_eq!(check_point_names(&issuer_only, &scope, &mut budget), Ok(Ok(())));
    }

    /// Without a cRLIssuer, a CRL speaks for a certificate only when it is its issuer's.
    #[test]
    fn without_a_crl_issuer_only_the_certificates_issuer_speaks() {
        let cert = crate::x509::received::Cert::from_der(include_bytes!(
            "../../../fixtures/pkits/certs/ValidCertificatePathTest1EE.crt"
        ))
        .unwrap();
        let cert = Indexed::new(&cert);
        let point = Point { names: None, reasons: None, crl_issuer: None };
        let other = name_key(&"CN=Another CA".parse::<Name>().unwrap());
        let scope = |issuer| CrlScope { issuer, idp: None, point_names: None };
        assert_eq!(check_crl_issuer(&point, &cert, &scope(&cert.issuer)), Ok(()));
        assert!(check_crl_issuer(&point, &cert, &scope(&other)).is_err());
    }
}
