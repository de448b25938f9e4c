//! Certificates indexed once for path building: each is de-duplicated by the SHA-256 of
//! its DER, and found by its subject name and its subject key identifier in a hash map,
//! so looking for the issuers of a certificate costs what it finds, not the size of the
//! pile. (Comparing every pair by re-encoding it made a hostile pile quadratic.)

use crate::x509::Reason;
use crate::x509::name::{NameKey, SubjectName, Subtrees, UncheckableNames, name_key};
use crate::x509::policy::{CertPolicies, PolicyError};
use crate::x509::profile::Violation;
use crate::x509::received::Cert;
use sha2::{Digest, Sha256};
use std::cell::OnceCell;
use std::collections::HashMap;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};

/// A certificate and what path building looks up about it.
#[derive(Debug)]
pub struct Indexed<'a> {
    /// The certificate.
    pub cert: &'a Cert,
    /// SHA-256 of its DER: its identity.
    pub hash: [u8; 32],
    /// Its subject, in comparable form.
    pub subject: NameKey,
    /// Its issuer, in comparable form.
    pub issuer: NameKey,
    /// Its subject key identifier.
    pub subject_key: Option<Vec<u8>>,
    /// The key identifier of its issuer.
    pub authority_key: Option<Vec<u8>>,
    /// What every path through it needs of it, worked out by the first (path/checks.rs):
    /// with these, a candidate path costs its checks, not a re-read of its certificates.
    pub derived: Derived,
}

/// What path validation derives from one certificate, each at most once per validation:
/// a hostile certificate's extensions can be megabytes, and up to a hundred candidate
/// paths may pass through it.
#[derive(Debug, Default)]
pub struct Derived {
    /// Its nameConstraints, normalised (`Err`: the extension does not decode).
    pub name_constraints: OnceCell<Result<Option<Subtrees>, der::Error>>,
    /// The names name constraints apply to (subject, subject emailAddress, SANs),
    /// normalised.
    pub constrained_names: OnceCell<Result<Vec<SubjectName>, UncheckableNames>>,
    /// Its four policy extensions, decoded and checked.
    pub policies: OnceCell<Result<CertPolicies, PolicyError>>,
    /// Version, serial, signature algorithms and extensions well-formed (path/checks.rs).
    pub structure: OnceCell<Result<(), (&'static str, Reason, String)>>,
    /// The RFC 5280 §4 profile's verdict (profile.rs), as an intermediate or end entity
    /// (`2 * is_leaf`) signed by another key or its own (`+ own_key`).
    pub profile: [OnceCell<Result<(), Violation>>; 4],
    /// The profile's verdict on it as a trust anchor.
    pub trust_anchor: OnceCell<Result<(), Violation>>,
    /// The Baseline Requirements' verdict (webpki.rs or smime.rs, whichever the
    /// validation's profile names), as a CA or as the leaf (`is_leaf`).
    pub baseline: [OnceCell<Result<(), Violation>>; 2],
    /// The same on it as a trust anchor.
    pub baseline_anchor: OnceCell<Result<(), Violation>>,
}

impl<'a> Indexed<'a> {
    /// Indexes one certificate.
    pub fn new(cert: &'a Cert) -> Indexed<'a> {
        let tbs = cert.tbs_certificate();
        let hash = Sha256::digest(cert.der()).into();
        Indexed {
            cert,
            hash,
            subject: name_key(tbs.subject()),
            issuer: name_key(tbs.issuer()),
            subject_key: tbs
                .get_extension::<SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .map(|(_, ski)| ski.0.into_bytes().into_vec()),
            authority_key: tbs
                .get_extension::<AuthorityKeyIdentifier>()
                .ok()
                .flatten()
                .and_then(|(_, aki)| aki.key_identifier.map(|id| id.into_bytes().into_vec())),
            derived: Derived::default(),
        }
    }

    /// Whether its issuer and subject are the same name (RFC 5280 §6.1: self-issued).
    pub fn self_issued(&self) -> bool {
        self.subject == self.issuer
    }
}

/// A set of certificates, each once, findable by subject and key identifier.
#[derive(Debug, Default)]
pub struct Pool<'a> {
    certs: Vec<Indexed<'a>>,
    by_subject: HashMap<NameKey, Vec<usize>>,
    by_key: HashMap<Vec<u8>, Vec<usize>>,
}

impl<'a> Pool<'a> {
    /// Indexes `certs`, dropping duplicates.
    pub fn new(certs: &'a [Cert]) -> Pool<'a> {
        let mut pool = Pool::default();
        let mut seen = std::collections::HashSet::new();
        for cert in certs {
            let indexed = Indexed::new(cert);
            if !seen.insert(indexed.hash) {
                continue;
            }
            let at = pool.certs.len();
            pool.by_subject.entry(indexed.subject.clone()).or_default().push(at);
            if let Some(key) = &indexed.subject_key {
                pool.by_key.entry(key.clone()).or_default().push(at);
            }
            pool.certs.push(indexed);
        }
        pool
    }

    /// The certificates whose subject is `name`, in the order given: the candidates for
    /// the signer of a CRL issued under that name.
    pub fn with_subject(&self, name: &NameKey) -> Vec<&Indexed<'a>> {
        self.by_subject.get(name).into_iter().flatten().map(|&i| &self.certs[i]).collect()
    }

    /// The certificates that could have issued `cert`, in the order given: the subject is
    /// `cert`'s issuer name and, when both name a key identifier, they agree. A candidate
    /// whose key identifier matches under another name is included too, so that a
    /// certificate signed by the right key under the wrong name fails as `name-mismatch`
    /// rather than as a missing issuer.
    pub fn issuers_of(&self, cert: &Indexed<'_>) -> Vec<&Indexed<'a>> {
        let mut found: Vec<usize> = Vec::new();
        if let Some(key) = &cert.authority_key {
            found.extend(self.by_key.get(key).into_iter().flatten());
        }
        let by_name = self.by_subject.get(&cert.issuer).into_iter().flatten();
        found.extend(by_name.filter(|&&i| cert.authority_key.is_none() || self.certs[i].subject_key.is_none()));
        found.sort_unstable();
        found.dedup();
        found.into_iter().map(|i| &self.certs[i]).collect()
    }
}
