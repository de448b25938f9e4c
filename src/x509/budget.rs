//! How much work one validation may do. A hostile bundle or `--chain` can hold thousands
//! of certificates that all claim the same issuer, or cross-sign each other in loops; with
//! these limits no input makes path building run for more than a moment. The numbers are
//! rustls-webpki's, chosen there to be far above any real PKI:
//! <https://github.com/rustls/webpki/blob/main/src/verify_cert.rs> (`Budget`).

/// Signature checks (certificates and CRLs): a real path needs a handful.
pub const SIGNATURE_CHECKS: u32 = 100;
/// Issuer candidates considered while building paths.
pub const BUILD_STEPS: u32 = 200_000;
/// Comparisons of one name against one name-constraint subtree.
pub const NAME_CONSTRAINT_COMPARISONS: u32 = 250_000;
/// A comparison reads at most the subtree's base, so a base of more than this many bytes
/// costs one more comparison per this many: the budget then bounds the bytes compared
/// (about 16 MB), not only the count. (Counted only in comparisons, 10,000 subtrees of a
/// long URI host let a hostile chain run for seconds; real bases are far shorter.)
pub const NAME_BYTES_PER_COMPARISON: usize = 64;

/// Which budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// More than [`SIGNATURE_CHECKS`] signatures.
    SignatureChecks,
    /// More than [`BUILD_STEPS`] candidates.
    BuildSteps,
    /// More than [`NAME_CONSTRAINT_COMPARISONS`] comparisons.
    NameConstraintComparisons,
}

impl Exhausted {
    /// What ran out, for messages.
    pub fn describe(self) -> String {
        match self {
            Exhausted::SignatureChecks => format!("the path search gave up after {SIGNATURE_CHECKS} signature checks"),
            Exhausted::BuildSteps => {
                format!("the path search gave up after considering {BUILD_STEPS} issuer candidates")
            }
            Exhausted::NameConstraintComparisons => {
                format!("name-constraint checking gave up after {NAME_CONSTRAINT_COMPARISONS} comparisons")
            }
        }
    }
}

/// The work left.
#[derive(Debug, Clone)]
pub struct Budget {
    signatures: u32,
    build_steps: u32,
    name_comparisons: u32,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { signatures: SIGNATURE_CHECKS, build_steps: BUILD_STEPS, name_comparisons: NAME_CONSTRAINT_COMPARISONS }
    }
}

fn spend(left: &mut u32, which: Exhausted) -> Result<(), Exhausted> {
    *left = left.checked_sub(1).ok_or(which)?;
    Ok(())
}

impl Budget {
    /// One signature check.
    pub fn signature(&mut self) -> Result<(), Exhausted> {
        spend(&mut self.signatures, Exhausted::SignatureChecks)
    }

    /// One issuer candidate.
    pub fn build_step(&mut self) -> Result<(), Exhausted> {
        spend(&mut self.build_steps, Exhausted::BuildSteps)
    }

    /// One name-constraint comparison of `cost` units (see [`NAME_BYTES_PER_COMPARISON`]).
    pub fn name_comparison(&mut self, cost: u32) -> Result<(), Exhausted> {
        self.name_comparisons = self.name_comparisons.checked_sub(cost).ok_or(Exhausted::NameConstraintComparisons)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_budget_runs_out_on_its_own() {
        let mut budget = Budget::default();
        for _ in 0..SIGNATURE_CHECKS {
            budget.signature().unwrap();
        }
        assert_eq!(budget.signature(), Err(Exhausted::SignatureChecks));
        assert!(budget.build_step().is_ok());
        assert!(budget.name_comparison(1).is_ok());
    }
}
