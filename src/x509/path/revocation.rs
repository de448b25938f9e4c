//! RFC 5280 §6.1.3 (a)(3): revocation on the path, by the CRL processing of crl/, and
//! the search for CRL signers off the path (§6.3.3 (f)), bounded like path building.

use super::*;

/// RFC 5280 §6.1.3 (a)(3) and §6.3: the revocation status of `above[0]` (the rest of
/// `above`, then `anchor`, are the CAs above it on the path, already checked). Once any
/// CRL is given, every certificate needs a status from CRLs covering all reasons; without
/// one it is `revocation-unknown`. `crl_signers` is where to look for a CRL signer off
/// the path; `None` inside a CRL signer's own path, so that signer searches do not nest.
pub(super) fn check_revocation(
    checker: &mut Checker<'_>,
    above: &[&Indexed<'_>],
    anchor: &Indexed<'_>,
    budget: &mut Budget,
    crls: &mut CrlIndex<'_>,
    crl_signers: Option<&Pool<'_>>,
) -> Result<(), Failure> {
    let cert = above[0];
    if crls.is_empty() {
        checker.not_checked(cert.cert, "revocation", "no CRL given".into());
        return Ok(());
    }
    let mut signers = CrlSigners { above, anchor, pool: crl_signers, options: checker.options };
    match crl::check(cert, crls, checker.options.crl_clock(), budget, &mut signers) {
        Ok(detail) => {
            checker.pass(cert.cert, "revocation", Some(detail));
            Ok(())
        }
        Err((reason, message)) => Err(fail_clone(checker, cert.cert, "revocation", reason, message)),
    }
}

/// Where the signer of a CRL for `above[0]` may come from (RFC 5280 §6.3.3 (f)): a
/// certificate named as the CRL's issuer whose key verifies the CRL, whose keyUsage
/// allows cRLSign, and that has a valid path to the same trust anchor — either one on the
/// path being checked (its issuer, a CA above it, the anchor), or one from the pool with
/// a path of its own found by [`check_crl_signer_path`]. Inside a CRL signer's own path
/// (`pool` is `None`) the certificate itself may have signed the CRL that covers it: a
/// CRL issuer's certificate may be listed on its own indirect CRL (PKITS 4.14.30). On the
/// path being validated it may not, so that no certificate vouches for itself there.
pub(super) struct CrlSigners<'s> {
    pub(super) above: &'s [&'s Indexed<'s>],
    pub(super) anchor: &'s Indexed<'s>,
    pub(super) pool: Option<&'s Pool<'s>>,
    pub(super) options: &'s ValidationOptions,
}

impl<'s> CrlSigners<'s> {
    /// RFC 5280 §6.3.3 (f), (g) for one candidate: `Ok(Ok(()))` when it signed CRL `crl`
    /// and may sign CRLs, `Ok(Err(_))` saying why not, `Err` when the budget ran out.
    pub(super) fn check_candidate(
        candidate: &Indexed<'_>,
        crl: usize,
        crls: &mut CrlIndex<'_>,
        budget: &mut Budget,
    ) -> Result<Result<(), crl::Refusal>, crl::Refusal> {
        if !crls.signed_by(crl, candidate, budget)? {
            let message = format!("its signature does not verify with the key of {}", describe(candidate.cert));
            return Ok(Err((Reason::CrlBadSignature, message)));
        }
        Ok(crl::check_crl_sign(candidate).map_err(|why| (Reason::CrlInvalid, why)))
    }
}

impl<'s> SignerSource<'s> for CrlSigners<'s> {
    fn signer(
        &mut self,
        crl: usize,
        crls: &mut CrlIndex<'_>,
        budget: &mut Budget,
    ) -> Result<&'s Indexed<'s>, crl::Refusal> {
        let issuer = crls.issuer(crl).clone();
        let mut problem: Option<crl::Refusal> = None;
        let itself = self.above.first().copied().filter(|_| self.pool.is_none());
        let on_path = self.above[1..].iter().copied().chain([self.anchor]).chain(itself);
        for candidate in on_path.filter(|c| c.subject == issuer) {
            match Self::check_candidate(candidate, crl, crls, budget)? {
                Ok(()) => return Ok(candidate),
                Err(why) => {
                    problem.get_or_insert(why);
                }
            }
        }
        let pool = self.pool.map(|pool| pool.with_subject(&issuer)).unwrap_or_default();
        let authority_key = crls.authority_key(crl).map(<[u8]>::to_vec);
        for candidate in pool {
            let on_path = candidate.hash == self.anchor.hash || self.above.iter().any(|c| c.hash == candidate.hash);
            let other_key = matches!((&authority_key, &candidate.subject_key), (Some(a), Some(s)) if a != s);
            if on_path || other_key {
                continue;
            }
            let outcome = match Self::check_candidate(candidate, crl, crls, budget)? {
                Ok(()) => check_crl_signer_path(candidate, self.pool, self.anchor, self.options, budget, crls),
                Err(why) => Err(why),
            };
            match outcome {
                Ok(()) => return Ok(candidate),
                Err((Reason::BudgetExceeded, message)) => return Err((Reason::BudgetExceeded, message)),
                Err(why) => {
                    if problem.as_ref().is_none_or(|(reason, _)| *reason == Reason::CrlBadSignature) {
                        problem = Some(why);
                    }
                }
            }
        }
        Err(problem.unwrap_or_else(|| {
            (
                Reason::RevocationUnknown,
                format!(
                    "no certificate named as its issuer was given to verify it: add the CRL signer's certificate {}",
                    self.options.intermediates_from
                ),
            )
        }))
    }
}

/// RFC 5280 §6.3.3 (f): a certification path for `signer`, a CRL signer found off the
/// path, to THE SAME trust anchor as the path being validated, validated in full (with
/// revocation: its own CRLs may only be signed by certificates on its path, so the search
/// does not nest). The outcome is remembered per (signer, anchor); building spends the
/// shared budget.
pub(super) fn check_crl_signer_path(
    signer: &Indexed<'_>,
    pool: Option<&Pool<'_>>,
    anchor: &Indexed<'_>,
    options: &ValidationOptions,
    budget: &mut Budget,
    crls: &mut CrlIndex<'_>,
) -> Result<(), crl::Refusal> {
    if let Some(known) = crls.signer_path(signer, anchor) {
        return known;
    }
    let Some(pool) = pool else {
        return Err((Reason::RevocationUnknown, "its signer is not on the path".into()));
    };
    // The signer of a CRL must be valid when its CRL is: at the verification time.
    let crls_at = options.crl_clock().crls_at;
    let signer_options = ValidationOptions {
        max_intermediates: options.max_intermediates,
        ..ValidationOptions::new(crls_at, Purpose::Any)
    };
    let mut best: Option<crl::Refusal> = None;
    let mut chain = vec![signer];
    let found = extend_crl_signer_path(&mut chain, pool, anchor, &signer_options, budget, crls, &mut best)?;
    let outcome = if found {
        Ok(())
    } else {
        let why = best.map_or_else(
            || format!("no path from it to the trust anchor {}", describe(anchor.cert)),
            |(_, message)| message,
        );
        Err((Reason::RevocationUnknown, format!("its signer {} has no valid path: {why}", describe(signer.cert))))
    };
    crls.remember_signer_path(signer, anchor, outcome.clone());
    outcome
}

/// Depth-first search for a path from the last certificate of `chain` (a CRL signer and
/// its issuers so far) to `anchor`; every candidate spends a build step and a signature
/// check. `best` keeps the most specific failure of a complete path.
pub(super) fn extend_crl_signer_path<'c>(
    chain: &mut Vec<&'c Indexed<'c>>,
    pool: &'c Pool<'c>,
    anchor: &Indexed<'_>,
    options: &ValidationOptions,
    budget: &mut Budget,
    crls: &mut CrlIndex<'_>,
    best: &mut Option<crl::Refusal>,
) -> Result<bool, crl::Refusal> {
    let Some(&current) = chain.last() else { return Ok(false) };
    let spend = |budget: &mut Budget| -> Result<(), crl::Refusal> {
        budget.build_step().map_err(|e| (Reason::BudgetExceeded, e.describe()))?;
        budget.signature().map_err(|e| (Reason::BudgetExceeded, e.describe()))
    };
    let keys_agree = match (&current.authority_key, &anchor.subject_key) {
        (Some(authority), Some(subject)) => authority == subject,
        _ => true,
    };
    if current.issuer == anchor.subject && keys_agree {
        spend(budget)?;
        if signature_check(current.cert, anchor.cert).is_ok() {
            match check_path(chain, anchor, options, budget, crls, None) {
                Ok(_) => return Ok(true),
                Err(failure) if failure.reason == Reason::BudgetExceeded => {
                    return Err((failure.reason, failure.message));
                }
                Err(failure) => {
                    if best.as_ref().is_none_or(|(reason, _)| failure.reason.rank() > reason.rank()) {
                        *best = Some((failure.reason, failure.message));
                    }
                }
            }
        }
    }
    // The signer and chain.len() - 1 intermediates so far; an issuer would be one more.
    if chain.len() > options.max_intermediates {
        return Ok(false);
    }
    for issuer in pool.issuers_of(current) {
        if chain.iter().any(|in_path| in_path.hash == issuer.hash) {
            continue;
        }
        spend(budget)?;
        if signature_check(current.cert, issuer.cert).is_err() {
            continue;
        }
        chain.push(issuer);
        let found = extend_crl_signer_path(chain, pool, anchor, options, budget, crls, best);
        chain.pop();
        if !matches!(found, Ok(false)) {
            return found;
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-14: within the validity of the PKITS trust anchor and Good CA.
    const AT: i64 = 1_700_000_000;

    fn pkits(name: &str) -> Cert {
        let path = format!("{}/fixtures/pkits/certs/{name}.crt", env!("CARGO_MANIFEST_DIR"));
        Cert::from_der(&std::fs::read(path).unwrap()).unwrap()
    }

    /// One step of the CRL-signer search from `signer` towards `anchor`, with nothing in
    /// the pool: whether a path was found, the failure kept, and the budget left.
    fn step(
        signer: &Indexed<'_>,
        anchor: &Indexed<'_>,
        mut budget: Budget,
        best: &mut Option<crl::Refusal>,
    ) -> (Result<bool, crl::Refusal>, Budget) {
        let (none, options) = (Pool::new(&[]), ValidationOptions::new(AT, Purpose::Any));
        let mut crls = CrlIndex::new(&[]);
        let found = extend_crl_signer_path(&mut vec![signer], &none, anchor, &options, &mut budget, &mut crls, best);
        (found, budget)
    }

    fn untouched(budget: &Budget) -> bool {
        format!("{budget:?}") == format!("{:?}", Budget::default())
    }

    /// The anchor is tried as the issuer only when the names chain AND the signer's
    /// authorityKeyIdentifier (when both identifiers are there) is the anchor's key: any
    /// other candidate costs no signature check.
    #[test]
    fn the_anchor_is_tried_only_when_name_and_key_identifier_agree() {
        let (good_ca, anchor_cert, other) =
            (pkits("GoodCACert"), pkits("TrustAnchorRootCertificate"), pkits("GoodsubCACert"));
        let anchor = Indexed::new(&anchor_cert);
        let mut signer = Indexed::new(&good_ca);
        let (found, budget) = step(&signer, &anchor, Budget::default(), &mut None);
        assert_eq!(found, Ok(true));
        assert!(!untouched(&budget));
        // Certified by the anchor's name under another key identifier.
        signer.authority_key = Some(vec![0x55; 20]);
        let (found, budget) = step(&signer, &anchor, Budget::default(), &mut None);
        assert_eq!(found, Ok(false));
        assert!(untouched(&budget), "{budget:?}");
        // No key identifier to compare, but another issuer's name.
        signer.authority_key = None;
        let (found, budget) = step(&signer, &Indexed::new(&other), Budget::default(), &mut None);
        assert_eq!(found, Ok(false));
        assert!(untouched(&budget), "{budget:?}");
    }

    /// A signer path that fails its checks at the anchor is remembered and the search goes
    /// on; one that ran out of budget ends the search, as budget-exceeded.
    #[test]
    fn a_failed_signer_path_is_kept_and_an_exhausted_budget_ends_the_search() {
        let (expired_ca, anchor_cert) = (pkits("BadnotAfterDateCACert"), pkits("TrustAnchorRootCertificate"));
        let anchor = Indexed::new(&anchor_cert);
        let mut best = None;
        let (found, _) = step(&Indexed::new(&expired_ca), &anchor, Budget::default(), &mut best);
        assert_eq!(found, Ok(false));
        assert_eq!(best.map(|(reason, _)| reason), Some(Reason::Expired));
        // Name constraints spent: the signer's path (under a constraining anchor) runs out
        // in its name-constraint check.
        let (constraining, constrained) = (pkits("nameConstraintsDN1CACert"), pkits("nameConstraintsDN1subCA1Cert"));
        let mut budget = Budget::default();
        budget.name_comparison(crate::x509::budget::NAME_CONSTRAINT_COMPARISONS).unwrap();
        let mut best = None;
        let (found, _) = step(&Indexed::new(&constrained), &Indexed::new(&constraining), budget, &mut best);
        assert_eq!(found.map_err(|(reason, _)| reason), Err(Reason::BudgetExceeded));
        assert_eq!(best, None);
    }

    /// Across complete signer paths the most specific failure is kept, and among equally
    /// specific ones the first.
    #[test]
    fn the_most_specific_signer_path_failure_is_kept_and_the_first_among_equals() {
        let (expired_ca, future_ca, anchor_cert) =
            (pkits("BadnotAfterDateCACert"), pkits("BadnotBeforeDateCACert"), pkits("TrustAnchorRootCertificate"));
        let anchor = Indexed::new(&anchor_cert);
        let mut best = Some((Reason::ChainIncomplete, "no issuer".to_string()));
        assert_eq!(step(&Indexed::new(&expired_ca), &anchor, Budget::default(), &mut best).0, Ok(false));
        assert_eq!(best.as_ref().map(|(reason, _)| *reason), Some(Reason::Expired));
        assert_eq!(step(&Indexed::new(&future_ca), &anchor, Budget::default(), &mut best).0, Ok(false));
        assert_eq!(best.map(|(reason, _)| reason), Some(Reason::Expired));
    }
}
