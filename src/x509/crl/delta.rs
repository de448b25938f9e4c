//! Delta CRLs (RFC 5280 §5.2.4, §6.3.3 (a), (h), (i)): a CRL with a deltaCRLIndicator
//! lists only what changed since a complete CRL, so it is used only on top of a complete
//! CRL of the same issuer and scope whose cRLNumber is at least the delta's
//! BaseCRLNumber, and only when it is newer than that CRL (a higher cRLNumber), current,
//! and signed by the same key. A delta without such a base is never used on its own.
//! keyseal uses every delta given with `--crl` (as `openssl verify -use_deltas` does);
//! freshestCRL pointers are not followed (the verifier is offline).

use std::cmp::Ordering;

/// What the delta rules need to know about one CRL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Numbers<'c> {
    /// Its cRLNumber, big-endian without leading zeros.
    pub number: Option<&'c [u8]>,
    /// Its deltaCRLIndicator's BaseCRLNumber, if it is a delta.
    pub base: Option<&'c [u8]>,
    /// Its issuingDistributionPoint as encoded, if any: two CRLs have the same scope
    /// when these are the same.
    pub scope: Option<&'c [u8]>,
}

/// Compares two CRL numbers, each big-endian without leading zeros.
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A CRL number as big-endian bytes without leading zeros.
pub fn minimal(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

/// RFC 5280 §5.2.4 and §6.3.3 (a)(2): whether `delta` updates the complete CRL
/// `complete` — the same scope, a base no newer than the complete CRL, and a number
/// past it. (Issuer and signing key are compared by the caller.)
pub fn check_delta_base(complete: &Numbers<'_>, delta: &Numbers<'_>) -> Result<(), String> {
    let Some(base) = delta.base else {
        return Err("it is not a delta CRL".into());
    };
    if complete.base.is_some() {
        return Err("a delta CRL is never the base of another".into());
    }
    if complete.scope != delta.scope {
        return Err("its issuingDistributionPoint differs from the complete CRL's".into());
    }
    let Some(complete_number) = complete.number else {
        return Err("the complete CRL has no cRLNumber to be the base of a delta".into());
    };
    if compare(base, complete_number) == Ordering::Greater {
        return Err("its BaseCRLNumber is past the complete CRL's cRLNumber".into());
    }
    match delta.number {
        Some(number) if compare(number, complete_number) == Ordering::Greater => Ok(()),
        Some(_) => Err("its cRLNumber is not past the complete CRL's".into()),
        None => Err("it has no cRLNumber".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(number: &[u8]) -> Numbers<'_> {
        Numbers { number: Some(number), base: None, scope: None }
    }

    fn delta<'c>(number: &'c [u8], base: &'c [u8]) -> Numbers<'c> {
        Numbers { number: Some(number), base: Some(base), scope: None }
    }

    #[test]
    fn a_delta_needs_a_base_at_least_its_base_number() {
        assert_eq!(check_delta_base(&complete(&[1]), &delta(&[5], &[1])), Ok(()));
        assert_eq!(check_delta_base(&complete(&[2]), &delta(&[3], &[1])), Ok(()));
        // PKITS 4.15.10: a base of 2 needs a complete CRL numbered 2 or more.
        assert!(check_delta_base(&complete(&[1]), &delta(&[3], &[2])).is_err());
        assert!(check_delta_base(&complete(&[5]), &delta(&[5], &[1])).is_err(), "not newer");
        assert!(check_delta_base(&complete(&[1]), &complete(&[2])).is_err(), "not a delta");
        assert!(check_delta_base(&delta(&[2], &[1]), &delta(&[3], &[1])).is_err(), "base is a delta");
        let scoped = Numbers { scope: Some(&[0x30, 0x00][..]), ..delta(&[5], &[1]) };
        assert!(check_delta_base(&complete(&[1]), &scoped).is_err(), "another scope");
        assert!(check_delta_base(&Numbers { number: None, ..complete(&[1]) }, &delta(&[5], &[1])).is_err());
    }

    #[test]
    fn crl_numbers_compare_as_integers() {
        assert_eq!(compare(&minimal(&[0, 0x80]), &[0x7F]), Ordering::Greater);
        assert_eq!(compare(&[1, 0], &[0xFF]), Ordering::Greater);
        assert_eq!(compare(&[2], &[2]), Ordering::Equal);
        assert_eq!(minimal(&[0, 0]), Vec::<u8>::new());
    }
}
