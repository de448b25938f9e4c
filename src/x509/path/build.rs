//! Path building (RFC 5280 §6.1, the part before checking): a depth-first search from
//! the leaf through issuer candidates found by name and key identifier, every candidate
//! and signature paid for from the budget, each complete path handed to
//! [`super::check_path`]; the most specific failure across alternatives is kept.

use super::*;

pub(super) struct Search<'p, 'a> {
    pub(super) intermediates: &'p Pool<'a>,
    pub(super) anchors: &'p Pool<'a>,
    pub(super) options: &'p ValidationOptions,
    pub(super) budget: Budget,
    pub(super) crls: CrlIndex<'p>,
    pub(super) best: Option<Failure>,
    /// Set when a budget ran out: the search stops, and says so.
    pub(super) exhausted: Option<String>,
}

impl<'p, 'a> Search<'p, 'a> {
    /// Keeps the most specific failure; among equals, the one on the longer path. A budget
    /// that ran out stops the search.
    pub(super) fn record(&mut self, failure: Failure) {
        if failure.reason == Reason::BudgetExceeded {
            self.exhausted = Some(failure.message);
            return;
        }
        let better = match &self.best {
            None => true,
            Some(best) => (failure.reason.rank(), failure.path.len()) > (best.reason.rank(), best.path.len()),
        };
        if better {
            self.best = Some(failure);
        }
    }

    pub(super) fn fail(&mut self, chain: &[&Indexed<'_>], reason: Reason, message: String) {
        let path = entries(&certificates(chain), None);
        self.record(Failure { reason, message, path, checks: Vec::new() });
    }

    /// One more issuer candidate considered; false (and the search stops) when the
    /// budget has run out.
    pub(super) fn step(&mut self) -> bool {
        if self.exhausted.is_some() {
            return false;
        }
        match self.budget.build_step() {
            Ok(()) => true,
            Err(exhausted) => {
                self.exhausted = Some(exhausted.describe());
                false
            }
        }
    }

    /// Depth-first search for an issuer of the last certificate in `chain`.
    pub(super) fn extend(&mut self, chain: &mut Vec<&'p Indexed<'a>>) -> Option<Success> {
        let current = *chain.last()?;
        let anchors = self.anchors.issuers_of(current);
        for anchor in &anchors {
            if !self.step() {
                return None;
            }
            if !self.signed_by(chain, current, anchor) {
                continue;
            }
            match check_path(chain, anchor, self.options, &mut self.budget, &mut self.crls, Some(self.intermediates)) {
                Ok(success) => return Some(success),
                Err(failure) => self.record(failure),
            }
        }
        let issuers: Vec<&'p Indexed<'a>> = self
            .intermediates
            .issuers_of(current)
            .into_iter()
            .filter(|c| !chain.iter().any(|in_path| in_path.hash == c.hash))
            .collect();
        if anchors.is_empty() && issuers.is_empty() {
            let (reason, message) = if current.self_issued() {
                (
                    Reason::UntrustedRoot,
                    format!(
                        "the path ends at {}, a self-issued certificate that is not a trust anchor",
                        describe(current.cert)
                    ),
                )
            } else {
                (
                    Reason::ChainIncomplete,
                    format!(
                        "no issuer found for {} (issuer \"{}\"): add the intermediate {}, or the root with --trust",
                        describe(current.cert),
                        show_name(current.cert.tbs_certificate().issuer()),
                        self.options.intermediates_from
                    ),
                )
            };
            self.fail(chain, reason, message);
            return None;
        }
        for issuer in issuers {
            if !self.step() {
                return None;
            }
            // The chain so far holds the leaf and chain.len() - 1 intermediates; the issuer
            // would be one more.
            if chain.len() > self.options.max_intermediates {
                let message = format!(
                    "the path through {} would hold more than {} intermediate certificates (--max-depth)",
                    describe(issuer.cert),
                    self.options.max_intermediates
                );
                self.fail(chain, Reason::PathTooLong, message);
                return None;
            }
            if !self.signed_by(chain, current, issuer) {
                continue;
            }
            chain.push(issuer);
            let found = self.extend(chain);
            chain.pop();
            if found.is_some() || self.exhausted.is_some() {
                return found;
            }
        }
        None
    }

    /// Whether `issuer`'s key verifies `subject`'s signature, within the budget.
    pub(super) fn signed_by(&mut self, chain: &[&Indexed<'_>], subject: &Indexed<'_>, issuer: &Indexed<'_>) -> bool {
        if let Err(exhausted) = self.budget.signature() {
            self.exhausted = Some(exhausted.describe());
            return false;
        }
        match signature_check(subject.cert, issuer.cert) {
            Ok(()) => true,
            Err((reason, message)) => {
                self.fail(chain, reason, message);
                false
            }
        }
    }
}

pub(super) fn certificates<'c>(chain: &[&'c Indexed<'_>]) -> Vec<&'c Cert> {
    chain.iter().map(|indexed| indexed.cert).collect()
}

pub(super) fn signature_check(subject: &Cert, issuer: &Cert) -> Result<(), (Reason, String)> {
    let signature = subject.signature().as_bytes().unwrap_or_default();
    verify_message(
        issuer.tbs_certificate().subject_public_key_info(),
        subject.signature_algorithm(),
        subject.signed_message(),
        signature,
    )
    .map_err(|e| match e {
        SignatureError::Invalid => (
            Reason::BadSignature,
            format!("the signature of {} does not verify with the key of {}", describe(subject), describe(issuer)),
        ),
        SignatureError::Unsupported(what) | SignatureError::Malformed(what) => {
            (Reason::UnsupportedAlgorithm, format!("the signature of {} cannot be checked: {what}", describe(subject)))
        }
    })
}

pub(super) fn entries(chain: &[&Cert], anchor: Option<&Cert>) -> Vec<PathEntry> {
    let entry = |cert: &Cert, role| PathEntry {
        role,
        subject: show_name(cert.tbs_certificate().subject()),
        serial: hex::encode_upper(cert.tbs_certificate().serial_number().as_bytes()),
    };
    let mut out: Vec<PathEntry> =
        chain.iter().enumerate().map(|(i, c)| entry(c, if i == 0 { "leaf" } else { "intermediate" })).collect();
    if let Some(anchor) = anchor {
        out.push(entry(anchor, "trust-anchor"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Vec<PathEntry> {
        (0..n).map(|_| PathEntry { role: "intermediate", subject: String::new(), serial: String::new() }).collect()
    }

    fn failure(reason: Reason, path: usize, message: &str) -> Failure {
        Failure { reason, message: message.into(), path: entry(path), checks: Vec::new() }
    }

    /// Runs `with` on a search over nothing.
    fn search<T>(with: impl FnOnce(&mut Search<'_, '_>) -> T) -> T {
        let (none, options) = (Pool::new(&[]), ValidationOptions::new(0, Purpose::Any));
        let mut search = Search {
            intermediates: &none,
            anchors: &none,
            options: &options,
            budget: Budget::default(),
            crls: CrlIndex::new(&[]),
            best: None,
            exhausted: None,
        };
        with(&mut search)
    }

    /// Across alternative paths the most specific failure is the one kept; among equally
    /// specific ones, the one on the longer path; among equals, the first found.
    #[test]
    fn the_most_specific_failure_on_the_longest_path_is_kept() {
        let kept = |failures: Vec<Failure>| {
            search(|search| {
                for failure in failures {
                    search.record(failure);
                }
                search.best.as_ref().map(|best| best.message.clone())
            })
        };
        let (specific, vague) = (Reason::BadSignature, Reason::ChainIncomplete);
        assert!(specific.rank() > vague.rank());
        assert_eq!(kept(vec![failure(vague, 3, "vague"), failure(specific, 1, "specific")]).unwrap(), "specific");
        assert_eq!(kept(vec![failure(specific, 1, "specific"), failure(vague, 3, "vague")]).unwrap(), "specific");
        assert_eq!(kept(vec![failure(vague, 1, "short"), failure(vague, 2, "long")]).unwrap(), "long");
        assert_eq!(kept(vec![failure(vague, 2, "first"), failure(vague, 2, "second")]).unwrap(), "first");
    }

    /// A budget that runs out stops the search and says why; it is not a failure to keep.
    #[test]
    fn a_budget_that_runs_out_stops_the_search() {
        search(|search| {
            search.record(failure(Reason::BudgetExceeded, 1, "out of signature checks"));
            assert!(search.best.is_none());
            assert_eq!(search.exhausted.as_deref(), Some("out of signature checks"));
            assert!(!search.step(), "no candidate after the budget ran out");
        });
        search(|search| {
            let steps = std::iter::repeat_with(|| search.step()).take(1_000_000).take_while(|&more| more).count();
            assert!(steps < 1_000_000, "the candidate budget never ran out");
            assert!(search.exhausted.is_some());
        });
    }
}
