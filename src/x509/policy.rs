//! Certificate-policy processing for one certification path: RFC 5280 §6.1.3 (d)–(f),
//! §6.1.4 (a), (b), (h)–(j) and §6.1.5 (a), (b), (g), built on the policy *graph* of
//! RFC 9618 instead of RFC 5280's `valid_policy_tree`. The tree duplicates a node for
//! every issuer policy mapped onto it, so a chain whose CAs each map every policy to every
//! other grows it exponentially with depth (RFC 9618 §3, CVE-2023-0464); the graph keeps
//! one node per policy and depth, with several parents, and stays linear in the input.
//! A budget ([`MAX_POLICY_GRAPH_SIZE`]) caps even that linear growth.
//!
//! This module owns decoding the four policy extensions ([`CertPolicies`]), the state
//! carried along the path ([`PolicyState`]) and the outcome ([`PolicyOutcome`]). It is
//! pure: no I/O, no clock. Path building, signatures and the self-issued test belong to the
//! caller (`path/checks.rs`), which feeds it the certificates from the one issued by the trust
//! anchor down to the end entity. Policy qualifiers are ignored, as RFC 5280 §4.2.1.4 and
//! RFC 9618 §4.2 allow; only policy OIDs are tracked and returned.

use crate::x509::Reason;
/// The special policy anyPolicy (RFC 5280 §4.2.1.4), for callers that build policy inputs.
pub use der::oid::db::rfc5280::ANY_POLICY;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use spki::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{CertificatePolicies, InhibitAnyPolicy, PolicyConstraints, PolicyMappings};

/// Most nodes, parent edges and expected-policy entries the policy graph may acquire over
/// a whole path, counting too every policy and mapping read to build them; past this,
/// processing stops with [`PolicyError::TooLarge`].
///
/// Where the number comes from: RFC 9618 §4.1 shows the graph is linear in the policies
/// and mappings of the path, so this bounds memory and time even for a large-but-linear
/// input (a CA certificate carrying thousands of mappings). Real paths need far less:
/// certificates assert one to a few policies, and mapping is used mainly by bridge PKIs,
/// whose cross-certificates map a limited set of assurance levels. OpenSSL, which still
/// builds the tree, caps it at 1000 nodes since CVE-2023-0464 (`OPENSSL_POLICY_TREE_NODES_MAX`);
/// BoringSSL and Go build the graph and rely on its linear size with no separate cap. Ten
/// thousand keeps room for eight levels of a bridge-sized policy set and stops the RFC 9618
/// §3.2 Cartesian-product construction at any width that could hurt.
pub const MAX_POLICY_GRAPH_SIZE: usize = 10_000;

/// The RFC 5280 §6.1.1 inputs (c), (e), (f), (g).
#[derive(Debug, Clone, Default)]
pub struct PolicyInputs {
    /// user-initial-policy-set; empty means {anyPolicy}.
    pub user_initial_policy_set: Vec<ObjectIdentifier>,
    /// initial-explicit-policy: the path must be valid for at least one policy of the set.
    pub initial_explicit_policy: bool,
    /// initial-policy-mapping-inhibit: policy mapping is not permitted anywhere in the path.
    pub initial_policy_mapping_inhibit: bool,
    /// initial-any-policy-inhibit: anyPolicy in a certificate is not honoured.
    pub initial_any_policy_inhibit: bool,
}

/// The policy extensions of one certificate, decoded (certificatePolicies 2.5.29.32,
/// policyMappings 2.5.29.33, policyConstraints 2.5.29.36, inhibitAnyPolicy 2.5.29.54).
///
/// [`CertPolicies::from_certificate`] checks the RFC 5280 rules; a value built by hand
/// (tests, or a caller that decoded the extensions itself) is taken as it is, and
/// [`PolicyState::process`] still refuses a mapping to or from anyPolicy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertPolicies {
    /// The policy OIDs of certificatePolicies, in certificate order; `None` when the
    /// extension is absent (which, RFC 5280 §6.1.3 (e), ends the policy graph).
    pub policies: Option<Vec<ObjectIdentifier>>,
    /// The policyMappings entries as (issuerDomainPolicy, subjectDomainPolicy), in
    /// certificate order; empty when the extension is absent.
    pub mappings: Vec<(ObjectIdentifier, ObjectIdentifier)>,
    /// policyConstraints requireExplicitPolicy (SkipCerts), when present.
    pub require_explicit_policy: Option<u32>,
    /// policyConstraints inhibitPolicyMapping (SkipCerts), when present.
    pub inhibit_policy_mapping: Option<u32>,
    /// inhibitAnyPolicy (SkipCerts), when present.
    pub inhibit_any_policy: Option<u32>,
}

impl CertPolicies {
    /// Decodes them from a certificate; a malformed or RFC-5280-violating extension is an
    /// error: one that does not decode, an empty certificatePolicies or policyMappings
    /// (`SIZE (1..MAX)`, §4.2.1.4, §4.2.1.5), a policy OID appearing twice in
    /// certificatePolicies (§4.2.1.4), an empty policyConstraints (§4.2.1.11), and an
    /// inhibitAnyPolicy not marked critical (§4.2.1.14: "MUST be critical"). A mapping to or
    /// from anyPolicy is left to [`PolicyState::process`], which refuses it by §6.1.4 (a)
    /// when the certificate is an intermediate.
    ///
    /// policyConstraints "MUST be critical" too (§4.2.1.11), but that rule is not applied:
    /// NIST PKITS, the RFC 5280 conformance suite, has 16 CA certificates with a
    /// non-critical policyConstraints and expects 27 paths through them (§4.8–4.12) to be
    /// valid; BoringSSL and Go do not check it either.
    pub fn from_certificate(cert: &Certificate) -> Result<CertPolicies, PolicyError> {
        let tbs = cert.tbs_certificate();
        check_entry_counts(cert)?;
        let policies = match tbs.get_extension::<CertificatePolicies>().map_err(|e| undecodable(CP, e))? {
            Some((_, found)) => {
                let oids: Vec<ObjectIdentifier> = found.0.iter().map(|info| info.policy_identifier).collect();
                check_policies_not_empty(&oids)?;
                check_no_duplicate_policy(&oids)?;
                Some(oids)
            }
            None => None,
        };
        let mappings = match tbs.get_extension::<PolicyMappings>().map_err(|e| undecodable(PM, e))? {
            Some((_, found)) => {
                let pairs: Vec<_> = found.0.iter().map(|m| (m.issuer_domain_policy, m.subject_domain_policy)).collect();
                check_mappings_not_empty(&pairs)?;
                pairs
            }
            None => Vec::new(),
        };
        let (require_explicit_policy, inhibit_policy_mapping) =
            match tbs.get_extension::<PolicyConstraints>().map_err(|e| undecodable(PC, e))? {
                Some((_, found)) => {
                    check_policy_constraints_not_empty(&found)?;
                    (found.require_explicit_policy, found.inhibit_policy_mapping)
                }
                None => (None, None),
            };
        let inhibit_any_policy = match tbs.get_extension::<InhibitAnyPolicy>().map_err(|e| undecodable(IAP, e))? {
            Some((critical, found)) => {
                check_critical(IAP, "§4.2.1.14", critical)?;
                Some(found.0)
            }
            None => None,
        };
        Ok(CertPolicies { policies, mappings, require_explicit_policy, inhibit_policy_mapping, inhibit_any_policy })
    }
}

/// Refuses, before decoding them, a certificatePolicies or policyMappings extension of
/// more entries than the policy graph may hold ([`MAX_POLICY_GRAPH_SIZE`]): each is read
/// on every candidate path and charged to the budget then, so no path could use them, and
/// decoding 500,000 of them cost more than all the rest of a validation.
fn check_entry_counts(cert: &Certificate) -> Result<(), PolicyError> {
    const CERTIFICATE_POLICIES: &[u8] = &[0x55, 0x1d, 0x20];
    const POLICY_MAPPINGS: &[u8] = &[0x55, 0x1d, 0x21];
    let too_long = |ext: &x509_cert::ext::Extension| {
        matches!(ext.extn_id.as_bytes(), CERTIFICATE_POLICIES | POLICY_MAPPINGS)
            && crate::x509::received::holds_more_than(ext.extn_value.as_bytes(), MAX_POLICY_GRAPH_SIZE)
    };
    if cert.tbs_certificate().extensions().into_iter().flatten().any(too_long) {
        return Err(PolicyError::TooLarge);
    }
    Ok(())
}

const CP: &str = "certificatePolicies (2.5.29.32)";
const PM: &str = "policyMappings (2.5.29.33)";
const PC: &str = "policyConstraints (2.5.29.36)";
const IAP: &str = "inhibitAnyPolicy (2.5.29.54)";

fn undecodable(extension: &str, error: der::Error) -> PolicyError {
    PolicyError::Malformed(format!(
        "the {extension} extension cannot be decoded, or appears more than once (RFC 5280 §4.2): {error}"
    ))
}

/// RFC 5280 §4.2.1.4: `certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation`.
/// <https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.4>
fn check_policies_not_empty(policies: &[ObjectIdentifier]) -> Result<(), PolicyError> {
    if policies.is_empty() {
        return Err(PolicyError::Malformed(format!("the {CP} extension lists no policy (RFC 5280 §4.2.1.4)")));
    }
    Ok(())
}

/// RFC 5280 §4.2.1.4: "A certificate policy OID MUST NOT appear more than once in a
/// certificate policies extension."
/// <https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.4>
fn check_no_duplicate_policy(policies: &[ObjectIdentifier]) -> Result<(), PolicyError> {
    let mut seen = BTreeSet::new();
    for oid in policies {
        if !seen.insert(oid) {
            return Err(PolicyError::Malformed(format!(
                "policy {oid} appears more than once in the {CP} extension (RFC 5280 §4.2.1.4 forbids it)"
            )));
        }
    }
    Ok(())
}

/// RFC 5280 §4.2.1.5: `PolicyMappings ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE {...}`.
/// <https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.5>
fn check_mappings_not_empty(mappings: &[(ObjectIdentifier, ObjectIdentifier)]) -> Result<(), PolicyError> {
    if mappings.is_empty() {
        return Err(PolicyError::Malformed(format!("the {PM} extension lists no mapping (RFC 5280 §4.2.1.5)")));
    }
    Ok(())
}

/// RFC 5280 §4.2.1.11: "Conforming CAs MUST NOT issue certificates where policy
/// constraints is an empty sequence."
/// <https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.11>
fn check_policy_constraints_not_empty(constraints: &PolicyConstraints) -> Result<(), PolicyError> {
    if constraints.require_explicit_policy.is_none() && constraints.inhibit_policy_mapping.is_none() {
        return Err(PolicyError::Malformed(format!(
            "the {PC} extension is an empty sequence: it must hold requireExplicitPolicy, inhibitPolicyMapping or both (RFC 5280 §4.2.1.11)"
        )));
    }
    Ok(())
}

/// RFC 5280 §4.2.1.11 (policyConstraints) and §4.2.1.14 (inhibitAnyPolicy): "Conforming
/// CAs MUST mark this extension as critical."
/// <https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.11>,
/// <https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.14>
fn check_critical(extension: &str, section: &str, critical: bool) -> Result<(), PolicyError> {
    if !critical {
        return Err(PolicyError::Malformed(format!(
            "the {extension} extension is not marked critical; RFC 5280 {section} says it MUST be"
        )));
    }
    Ok(())
}

/// RFC 5280 §6.1.4 (a): "verify that the special value anyPolicy does not appear as an
/// issuerDomainPolicy or a subjectDomainPolicy".
/// <https://www.rfc-editor.org/rfc/rfc5280#section-6.1.4>
fn check_mappings_avoid_any_policy(certificate: usize, cert: &CertPolicies) -> Result<(), PolicyError> {
    match cert.mappings.iter().find(|(from, to)| *from == ANY_POLICY || *to == ANY_POLICY) {
        Some((from, to)) => Err(PolicyError::MapsAnyPolicy {
            certificate,
            issuer_domain_policy: from.to_string(),
            subject_domain_policy: to.to_string(),
        }),
        None => Ok(()),
    }
}

/// One node of the policy graph (RFC 9618 §5.2): its valid_policy, its
/// expected_policy_set, and the indices of its parents in the level above. Qualifiers are
/// not kept.
#[derive(Debug, Clone)]
struct Node {
    policy: ObjectIdentifier,
    expected: Vec<ObjectIdentifier>,
    parents: Vec<usize>,
}

/// The nodes of one depth, at most one per policy OID (an RFC 9618 invariant), with an
/// index from OID to position.
#[derive(Debug, Clone, Default)]
struct Level {
    nodes: Vec<Node>,
    by_policy: BTreeMap<ObjectIdentifier, usize>,
}

impl Level {
    fn find(&self, policy: &ObjectIdentifier) -> Option<usize> {
        self.by_policy.get(policy).copied()
    }

    fn add(&mut self, node: Node) {
        self.by_policy.insert(node.policy, self.nodes.len());
        self.nodes.push(node);
    }

    /// Keeps the nodes whose `keep` flag is set; returns where each old index went.
    fn retain(&mut self, keep: &[bool]) -> Vec<usize> {
        let mut moved = vec![usize::MAX; self.nodes.len()];
        self.by_policy.clear();
        for (old, node) in std::mem::take(&mut self.nodes).into_iter().enumerate() {
            if keep.get(old).copied().unwrap_or(false) {
                moved[old] = self.nodes.len();
                self.add(node);
            }
        }
        moved
    }

    /// For each OID in some expected_policy_set of this level, the nodes expecting it.
    fn expecting(&self) -> BTreeMap<ObjectIdentifier, Vec<usize>> {
        let mut index: BTreeMap<ObjectIdentifier, Vec<usize>> = BTreeMap::new();
        for (position, node) in self.nodes.iter().enumerate() {
            for oid in &node.expected {
                index.entry(*oid).or_default().push(position);
            }
        }
        index
    }
}

/// The valid_policy_graph of RFC 9618 §5.2: one [`Level`] per depth, depth 0 the root.
#[derive(Debug, Clone)]
struct Graph {
    levels: Vec<Level>,
}

impl Graph {
    /// The initial graph: a single anyPolicy node expecting {anyPolicy} (RFC 9618 §5.2).
    fn new() -> Graph {
        let mut root = Level::default();
        root.add(Node { policy: ANY_POLICY, expected: vec![ANY_POLICY], parents: Vec::new() });
        Graph { levels: vec![root] }
    }

    /// The deepest level.
    fn bottom(&self) -> &Level {
        &self.levels[self.levels.len() - 1]
    }

    fn bottom_mut(&mut self) -> &mut Level {
        let last = self.levels.len() - 1;
        &mut self.levels[last]
    }

    /// RFC 9618 §5.3 (d)(3) and §5.4 (b)(3)(ii): deletes every node above the deepest level
    /// that has no child, repeatedly. Returns false when nothing is left (the graph is NULL).
    fn prune(&mut self) -> bool {
        for depth in (0..self.levels.len() - 1).rev() {
            let (upper, lower) = self.levels.split_at_mut(depth + 1);
            let (level, children) = (&mut upper[depth], &mut lower[0]);
            let mut has_child = vec![false; level.nodes.len()];
            for child in &children.nodes {
                for &parent in &child.parents {
                    has_child[parent] = true;
                }
            }
            if has_child.iter().all(|&kept| kept) {
                continue;
            }
            let moved = level.retain(&has_child);
            for child in &mut children.nodes {
                for parent in &mut child.parents {
                    *parent = moved[*parent];
                }
            }
        }
        !self.levels[0].nodes.is_empty()
    }

    /// The policies the deepest level expects in the next certificate, for messages (at
    /// most [`MAX_LISTED`] of them named).
    fn expected_policies(&self) -> Vec<String> {
        let set: BTreeSet<ObjectIdentifier> =
            self.bottom().nodes.iter().flat_map(|n| n.expected.iter().copied()).collect();
        listed(&set)
    }

    /// RFC 9618 §5.5 (g)(2)–(4): the authority-constrained policy set — every non-anyPolicy
    /// node whose only parent is an anyPolicy node, plus anyPolicy when the deepest level
    /// holds it. The graph is pruned, so each such node reaches the deepest level.
    fn authority_constrained_policies(&self) -> BTreeSet<ObjectIdentifier> {
        let mut set = BTreeSet::new();
        for depth in 1..self.levels.len() {
            let parents = &self.levels[depth - 1];
            for node in &self.levels[depth].nodes {
                if node.policy != ANY_POLICY
                    && let [only] = node.parents[..]
                    && parents.nodes.get(only).is_some_and(|p| p.policy == ANY_POLICY)
                {
                    set.insert(node.policy);
                }
            }
        }
        if self.bottom().find(&ANY_POLICY).is_some() {
            set.insert(ANY_POLICY);
        }
        set
    }
}

/// The state of §6.1.2 (a), (d), (e), (f) carried along the path.
#[derive(Debug, Clone)]
pub struct PolicyState {
    /// valid_policy_graph; `None` is NULL.
    graph: Option<Graph>,
    /// explicit_policy (§6.1.2 (d)).
    explicit_policy: usize,
    /// inhibit_anyPolicy (§6.1.2 (e)).
    inhibit_any_policy: usize,
    /// policy_mapping (§6.1.2 (f)).
    policy_mapping: usize,
    /// Certificates processed so far: the i of the certificate being processed, after it.
    processed: usize,
    /// Nodes, edges and expected-policy entries created so far.
    spent: usize,
    /// user-initial-policy-set as dotted OIDs, for messages.
    acceptable: Vec<String>,
    /// When the certificate being processed emptied the graph: the policies it still
    /// allowed just above that certificate, for the message should §6.1.3 (f) fail. Worked
    /// out only then (a hostile certificate's policies can be hundreds of thousands).
    allowed_before_emptied: Option<Vec<String>>,
}

impl PolicyState {
    /// §6.1.2 initialisation for a path of `path_length` certificates (n, trust anchor not
    /// counted): the graph is the single anyPolicy node, and each counter is 0 when its
    /// input asks for the restriction from the start, n+1 otherwise.
    pub fn new(inputs: &PolicyInputs, path_length: usize) -> PolicyState {
        let initial = |inhibit: bool| if inhibit { 0 } else { path_length.saturating_add(1) };
        PolicyState {
            graph: Some(Graph::new()),
            explicit_policy: initial(inputs.initial_explicit_policy),
            inhibit_any_policy: initial(inputs.initial_any_policy_inhibit),
            policy_mapping: initial(inputs.initial_policy_mapping_inhibit),
            processed: 0,
            spent: 1,
            acceptable: acceptable_names(inputs),
            allowed_before_emptied: None,
        }
    }

    /// Processes certificate i (1-based, in path order from the one issued by the trust
    /// anchor; i is counted here, one per call): §6.1.3 (d), (e), (f); and when `!is_final`,
    /// the §6.1.4 preparation steps (a), (b), (h), (i), (j). `self_issued`: issuer name
    /// equals subject name (decided by the caller) — self-issued certificates do not
    /// decrement the counters (§6.1.4 (h)) and (§6.1.3 (d)(2)) anyPolicy in a self-issued
    /// intermediate is honoured even when inhibit_anyPolicy is 0 if i < n. `is_final` must be
    /// set for certificate n and only for it; [`PolicyState::finish`] follows.
    pub fn process(&mut self, cert: &CertPolicies, self_issued: bool, is_final: bool) -> Result<(), PolicyError> {
        self.processed += 1;
        let i = self.processed;
        self.allowed_before_emptied = None;
        let any_policy_honoured = self.inhibit_any_policy > 0 || (!is_final && self_issued);
        // §6.1.3 (d) and (e).
        self.graph = match (self.graph.take(), &cert.policies) {
            (Some(graph), Some(policies)) => self.add_certificate_level(graph, policies, any_policy_honoured)?,
            (Some(graph), None) => {
                self.allowed_before_emptied = Some(graph.expected_policies());
                None
            }
            (None, _) => None,
        };
        self.check_explicit_policy_or_graph(i, cert, any_policy_honoured)?;
        if is_final {
            return Ok(());
        }
        check_mappings_avoid_any_policy(i, cert)?;
        self.apply_mappings(cert)?;
        self.update_counters(cert, self_issued);
        Ok(())
    }

    /// §6.1.5 (a), (b), (g): wrap-up after the final certificate; returns the outcome or,
    /// when explicit_policy is 0 and the user-constrained policy set is empty,
    /// PolicyError::NotAccepted. `final_cert` is certificate n, already given to
    /// [`PolicyState::process`]: only its requireExplicitPolicy is read here, for (b).
    /// `inputs` are the ones given to [`PolicyState::new`]: only user-initial-policy-set is
    /// read here, for (g).
    pub fn finish(self, final_cert: &CertPolicies, inputs: &PolicyInputs) -> Result<PolicyOutcome, PolicyError> {
        // §6.1.5 (a): regardless of self-issued.
        let mut explicit_policy = self.explicit_policy.saturating_sub(1);
        // §6.1.5 (b).
        if final_cert.require_explicit_policy == Some(0) {
            explicit_policy = 0;
        }
        let authority = self.graph.as_ref().map(Graph::authority_constrained_policies).unwrap_or_default();
        let user_constrained = user_constrained_policies(&authority, &inputs.user_initial_policy_set);
        check_user_constrained_policies(
            explicit_policy,
            self.processed,
            &user_constrained,
            &authority,
            final_cert,
            &self.acceptable,
        )?;
        // Named in full, once: only the path that is valid gets here.
        let user_constrained_policy_set: Vec<String> = user_constrained.iter().map(ToString::to_string).collect();
        Ok(PolicyOutcome { user_constrained_policy_set, explicit_policy_required: explicit_policy == 0 })
    }

    /// RFC 9618 §5.3 (d)(1)–(3): adds the level for the certificate's policies under the
    /// deepest level, then prunes; `None` when nothing survives (the graph is NULL).
    fn add_certificate_level(
        &mut self,
        mut graph: Graph,
        policies: &[ObjectIdentifier],
        any_policy_honoured: bool,
    ) -> Result<Option<Graph>, PolicyError> {
        // Every policy the certificate asserts is read below, once per candidate path: paid
        // for first (a leaf asserting 500,000 policies cost seconds over 33 paths).
        self.spend(policies.len())?;
        let parents = graph.bottom();
        let expecting = parents.expecting();
        let parent_any = parents.find(&ANY_POLICY);
        let mut level = Level::default();
        // (d)(1): each policy other than anyPolicy, under the nodes expecting it (i), or
        // else under the anyPolicy node (ii).
        for policy in policies.iter().filter(|p| **p != ANY_POLICY) {
            if level.find(policy).is_some() {
                continue;
            }
            let parents = match (expecting.get(policy), parent_any) {
                (Some(matched), _) => matched.clone(),
                (None, Some(any)) => vec![any],
                (None, None) => continue,
            };
            self.spend(1 + parents.len())?;
            level.add(Node { policy: *policy, expected: vec![*policy], parents });
        }
        // (d)(2): anyPolicy, when honoured, matches every expected policy not yet matched
        // (anyPolicy itself included), under all the nodes expecting it.
        if any_policy_honoured && policies.contains(&ANY_POLICY) {
            for (policy, parents) in &expecting {
                if level.find(policy).is_none() {
                    self.spend(1 + parents.len())?;
                    level.add(Node { policy: *policy, expected: vec![*policy], parents: parents.clone() });
                }
            }
        }
        graph.levels.push(level);
        // (d)(3).
        if graph.prune() {
            return Ok(Some(graph));
        }
        self.allowed_before_emptied = Some(listed(expecting.keys()));
        Ok(None)
    }

    /// RFC 9618 §5.4 (b): applies the certificate's policyMappings to the deepest level —
    /// (1) a mapped node expects the subject-domain policies instead of itself, (2) a policy
    /// mapped under an anyPolicy level gets its own node, or, when policy_mapping is 0,
    /// (3) every mapped node is deleted and the graph pruned.
    fn apply_mappings(&mut self, cert: &CertPolicies) -> Result<(), PolicyError> {
        if cert.mappings.is_empty() {
            return Ok(());
        }
        let Some(mut graph) = self.graph.take() else {
            return Ok(());
        };
        // Every mapping read is paid for before any work on it, and duplicates are found
        // in a set: de-duplicating 200,000 mappings of one issuerDomainPolicy by scanning a
        // list cost 37 s before the budget was ever charged (issue 27). The expected-policy
        // entries the mappings become are covered by this charge.
        self.spend(cert.mappings.len())?;
        let mut equivalents: BTreeMap<ObjectIdentifier, Vec<ObjectIdentifier>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (from, to) in &cert.mappings {
            if seen.insert((from, to)) {
                equivalents.entry(*from).or_default().push(*to);
            }
        }
        if self.policy_mapping == 0 {
            let level = graph.bottom_mut();
            let keep: Vec<bool> = level.nodes.iter().map(|n| !equivalents.contains_key(&n.policy)).collect();
            level.retain(&keep);
            self.graph = graph.prune().then_some(graph);
            return Ok(());
        }
        let depth = graph.levels.len() - 1;
        // The anyPolicy node of depth i-1, the parent of depth i's anyPolicy node.
        let any_parent =
            graph.bottom().find(&ANY_POLICY).and_then(|any| graph.bottom().nodes[any].parents.first().copied());
        for (issuer_policy, subject_policies) in equivalents {
            let level = &mut graph.levels[depth];
            match (level.find(&issuer_policy), any_parent) {
                (Some(node), _) => level.nodes[node].expected = subject_policies,
                (None, Some(parent)) => {
                    self.spend(2)?;
                    level.add(Node { policy: issuer_policy, expected: subject_policies, parents: vec![parent] });
                }
                (None, None) => {}
            }
        }
        self.graph = Some(graph);
        Ok(())
    }

    /// §6.1.4 (h), (i), (j), in that order: a certificate that is not self-issued
    /// decrements each non-zero counter; then policyConstraints and inhibitAnyPolicy can only
    /// lower them.
    fn update_counters(&mut self, cert: &CertPolicies, self_issued: bool) {
        if !self_issued {
            self.explicit_policy = self.explicit_policy.saturating_sub(1);
            self.policy_mapping = self.policy_mapping.saturating_sub(1);
            self.inhibit_any_policy = self.inhibit_any_policy.saturating_sub(1);
        }
        let lower = |counter: &mut usize, skip_certs: Option<u32>| {
            if let Some(skip) = skip_certs.and_then(|s| usize::try_from(s).ok())
                && skip < *counter
            {
                *counter = skip;
            }
        };
        lower(&mut self.explicit_policy, cert.require_explicit_policy);
        lower(&mut self.policy_mapping, cert.inhibit_policy_mapping);
        lower(&mut self.inhibit_any_policy, cert.inhibit_any_policy);
    }

    /// RFC 5280 §6.1.3 (f): "Verify that either explicit_policy is greater than 0 or the
    /// valid_policy_tree [graph, RFC 9618 §5.3] is not equal to NULL."
    /// <https://www.rfc-editor.org/rfc/rfc5280#section-6.1.3>
    fn check_explicit_policy_or_graph(
        &mut self,
        certificate: usize,
        cert: &CertPolicies,
        any_policy_honoured: bool,
    ) -> Result<(), PolicyError> {
        if self.explicit_policy > 0 || self.graph.is_some() {
            return Ok(());
        }
        // What the path allowed above this certificate (nothing when an earlier one
        // emptied the graph already).
        let allowed = self.allowed_before_emptied.take().unwrap_or_default();
        let asserted = listed(cert.policies.iter().flatten());
        let any_policy_inhibited = !any_policy_honoured && cert.policies.iter().flatten().any(|p| *p == ANY_POLICY);
        Err(PolicyError::NotAccepted {
            certificate,
            asserted,
            allowed,
            acceptable: self.acceptable.clone(),
            any_policy_inhibited,
        })
    }

    /// Charges `amount` graph entries to the budget.
    fn spend(&mut self, amount: usize) -> Result<(), PolicyError> {
        self.spent = self.spent.saturating_add(amount);
        if self.spent > MAX_POLICY_GRAPH_SIZE {
            return Err(PolicyError::TooLarge);
        }
        Ok(())
    }
}

/// Most policy OIDs one list in a message names; the rest are counted. A hostile
/// certificate can assert hundreds of thousands of policies, and formatting every one for
/// each refused candidate path cost tens of seconds (issue 27).
pub const MAX_LISTED: usize = 8;

/// At most [`MAX_LISTED`] OIDs, dotted, then `and N more` when there are.
fn listed<'a>(oids: impl IntoIterator<Item = &'a ObjectIdentifier>) -> Vec<String> {
    let mut oids = oids.into_iter();
    let mut shown: Vec<String> = oids.by_ref().take(MAX_LISTED).map(ToString::to_string).collect();
    let rest = oids.count();
    if rest > 0 {
        shown.push(format!("and {rest} more"));
    }
    shown
}

/// user-initial-policy-set as dotted OIDs, anyPolicy when it is empty.
fn acceptable_names(inputs: &PolicyInputs) -> Vec<String> {
    if inputs.user_initial_policy_set.is_empty() {
        return vec![ANY_POLICY.to_string()];
    }
    let set: BTreeSet<_> = inputs.user_initial_policy_set.iter().collect();
    set.iter().map(ToString::to_string).collect()
}

/// RFC 9618 §5.5 (g)(5)–(6): the authority-constrained set, narrowed to the
/// user-initial-policy-set unless that is anyPolicy (empty, or containing anyPolicy); when
/// the path is valid for anyPolicy, every policy the user asked for is in.
fn user_constrained_policies(
    authority: &BTreeSet<ObjectIdentifier>,
    user_initial_policy_set: &[ObjectIdentifier],
) -> BTreeSet<ObjectIdentifier> {
    if user_initial_policy_set.is_empty() || user_initial_policy_set.contains(&ANY_POLICY) {
        return authority.clone();
    }
    let user: BTreeSet<ObjectIdentifier> = user_initial_policy_set.iter().copied().collect();
    if authority.contains(&ANY_POLICY) {
        return user;
    }
    authority.intersection(&user).copied().collect()
}

/// RFC 5280 §6.1.5, final paragraph as replaced by RFC 9618 §5.5: processing succeeds if
/// "the value of explicit_policy is greater than zero or the user_constrained_policy_set is
/// not empty".
/// <https://www.rfc-editor.org/rfc/rfc9618#section-5.5>
fn check_user_constrained_policies(
    explicit_policy: usize,
    certificate: usize,
    user_constrained: &BTreeSet<ObjectIdentifier>,
    authority: &BTreeSet<ObjectIdentifier>,
    final_cert: &CertPolicies,
    acceptable: &[String],
) -> Result<(), PolicyError> {
    if explicit_policy > 0 || !user_constrained.is_empty() {
        return Ok(());
    }
    Err(PolicyError::NotAccepted {
        certificate,
        asserted: listed(final_cert.policies.iter().flatten()),
        allowed: listed(authority),
        acceptable: acceptable.to_vec(),
        any_policy_inhibited: false,
    })
}

/// What policy processing concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOutcome {
    /// The user-constrained policy set (RFC 9618 / §6.1.5 (g)(iii)): the policies, as dotted
    /// OIDs, the path is valid for; contains "2.5.29.32.0" when it is valid for anyPolicy;
    /// empty when the graph is NULL and explicit policy was not required. Sorted, each once.
    pub user_constrained_policy_set: Vec<String>,
    /// Whether an explicit policy was required by the end (explicit_policy reached 0).
    pub explicit_policy_required: bool,
}

/// Why policy processing refused the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// An explicit policy is required, and no acceptable policy remains (RFC 5280
    /// §6.1.3 (f) during the path, or §6.1.5 at its end).
    NotAccepted {
        /// The position (1-based from the trust anchor's side) of the certificate at which
        /// it was found; n when found at the end of the path.
        certificate: usize,
        /// The policies that certificate asserts, dotted; empty when it has no
        /// certificatePolicies extension.
        asserted: Vec<String>,
        /// During the path: the policies the path still allowed just above that
        /// certificate (empty if none remained). At the end: the authority-constrained
        /// policy set, the policies (in the trust anchor's domain) the path is valid for.
        allowed: Vec<String>,
        /// The user-initial-policy-set, dotted ("2.5.29.32.0" when any policy is acceptable).
        acceptable: Vec<String>,
        /// Whether that certificate asserts anyPolicy but inhibitAnyPolicy was in force.
        any_policy_inhibited: bool,
    },
    /// A policyMappings entry maps to or from anyPolicy (RFC 5280 §6.1.4 (a)).
    MapsAnyPolicy {
        /// The position (1-based from the trust anchor's side) of the certificate.
        certificate: usize,
        /// The entry's issuerDomainPolicy, dotted.
        issuer_domain_policy: String,
        /// The entry's subjectDomainPolicy, dotted.
        subject_domain_policy: String,
    },
    /// A policy extension is malformed or violates a RFC 5280 MUST; the message names the
    /// extension, the rule and the policy OID when there is one.
    Malformed(String),
    /// The policy graph grew past [`MAX_POLICY_GRAPH_SIZE`] entries.
    TooLarge,
}

impl PolicyError {
    /// The chain reason it is reported as: a malformed policy extension is a
    /// `malformed-extension` like any other.
    pub fn reason(&self) -> Reason {
        match self {
            PolicyError::NotAccepted { .. } => Reason::PolicyNotAccepted,
            PolicyError::MapsAnyPolicy { .. } => Reason::BadPolicyMapping,
            PolicyError::Malformed(_) => Reason::MalformedExtension,
            PolicyError::TooLarge => Reason::BudgetExceeded,
        }
    }
}

/// `{a, b}`, or `none` for an empty list.
fn braces(oids: &[String]) -> String {
    if oids.is_empty() { "none".to_string() } else { format!("{{{}}}", oids.join(", ")) }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::NotAccepted { certificate, asserted, allowed, acceptable, any_policy_inhibited } => {
                let asserts = if asserted.is_empty() {
                    "asserts no certificate policy".to_string()
                } else {
                    format!("asserts {}", braces(asserted))
                };
                let inhibited = if *any_policy_inhibited {
                    " (its anyPolicy is not honoured: inhibitAnyPolicy is in force)"
                } else {
                    ""
                };
                write!(
                    f,
                    "an explicit certificate policy is required, but none acceptable remains: certificate {certificate} of the path {asserts}{inhibited}; the path allows {}; acceptable policies are {}",
                    braces(allowed),
                    braces(acceptable)
                )
            }
            PolicyError::MapsAnyPolicy { certificate, issuer_domain_policy, subject_domain_policy } => write!(
                f,
                "certificate {certificate} of the path maps policy {issuer_domain_policy} to {subject_domain_policy}; anyPolicy ({ANY_POLICY}) may not be mapped to or from (RFC 5280 §6.1.4 (a))"
            ),
            PolicyError::Malformed(message) => f.write_str(message),
            PolicyError::TooLarge => write!(
                f,
                "the certificate-policy graph grew past {MAX_POLICY_GRAPH_SIZE} nodes, edges and mapped policies, far more than any real path needs; the chain is refused as hostile"
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(suffix: u32) -> ObjectIdentifier {
        ObjectIdentifier::new(&format!("1.3.6.1.4.1.55555.{suffix}")).unwrap()
    }

    fn name(suffix: u32) -> String {
        oid(suffix).to_string()
    }

    fn asserting(policies: &[ObjectIdentifier]) -> CertPolicies {
        CertPolicies { policies: Some(policies.to_vec()), ..CertPolicies::default() }
    }

    /// One certificate of a test path: its policies and whether it is self-issued.
    struct Step {
        cert: CertPolicies,
        self_issued: bool,
    }

    fn step(cert: CertPolicies) -> Step {
        Step { cert, self_issued: false }
    }

    fn self_issued(cert: CertPolicies) -> Step {
        Step { cert, self_issued: true }
    }

    fn run(inputs: &PolicyInputs, path: &[Step]) -> Result<PolicyOutcome, PolicyError> {
        let mut state = PolicyState::new(inputs, path.len());
        for (index, s) in path.iter().enumerate() {
            state.process(&s.cert, s.self_issued, index + 1 == path.len())?;
        }
        state.finish(&path[path.len() - 1].cert, inputs)
    }

    fn explicit() -> PolicyInputs {
        PolicyInputs { initial_explicit_policy: true, ..PolicyInputs::default() }
    }

    /// The graph may hold exactly [`MAX_POLICY_GRAPH_SIZE`] entries, not one more.
    #[test]
    fn the_graph_budget_holds_exactly_its_size() {
        let mut state = PolicyState::new(&PolicyInputs::default(), 1);
        assert!(state.spend(MAX_POLICY_GRAPH_SIZE - state.spent).is_ok());
        assert!(matches!(state.spend(1), Err(PolicyError::TooLarge)));
    }

    /// A refusal says anyPolicy was not honoured only when the certificate asserted it while
    /// inhibitAnyPolicy was in force.
    #[test]
    fn a_refusal_blames_inhibit_any_policy_only_for_an_asserted_any_policy() {
        let inputs = PolicyInputs { initial_any_policy_inhibit: true, ..explicit() };
        for (second, blamed) in [(oid(2), false), (ANY_POLICY, true)] {
            let path = [step(asserting(&[oid(1)])), step(asserting(&[second]))];
            match run(&inputs, &path) {
                Err(PolicyError::NotAccepted { any_policy_inhibited, .. }) => assert_eq!(any_policy_inhibited, blamed),
                other => panic!("{other:?}"),
            }
        }
    }

    /// RFC 9618's budget charges each certificate's policies as they are read, and each node
    /// with its parent edges as it is added: under the root's anyPolicy node, two policies
    /// cost 2 to read and 1 + 1 each to add; an anyPolicy below them costs 1 to read and
    /// 1 + 1 for each of the two nodes it matches.
    #[test]
    fn the_graph_budget_charges_nodes_and_edges() {
        let mut state = PolicyState::new(&PolicyInputs::default(), 2);
        assert_eq!(state.spent, 1, "the root node");
        state.process(&asserting(&[oid(1), oid(2)]), false, false).unwrap();
        assert_eq!(state.spent, 1 + 2 + 2 * (1 + 1));
        state.process(&asserting(&[ANY_POLICY]), false, true).unwrap();
        assert_eq!(state.spent, 7 + 1 + 2 * (1 + 1));
    }

    /// §6.1.3 (f) refusal names the policies the path still allowed above the certificate
    /// that ended it: here the one the first certificate asserted.
    #[test]
    fn an_emptied_graph_names_the_policies_it_allowed() {
        let path = [step(asserting(&[oid(1), oid(2)])), step(CertPolicies::default())];
        match run(&explicit(), &path) {
            Err(PolicyError::NotAccepted { certificate, allowed, acceptable, .. }) => {
                assert_eq!((certificate, allowed), (2, vec![name(1), name(2)]));
                assert_eq!(acceptable, ["2.5.29.32.0"], "no initial set is anyPolicy");
            }
            other => panic!("{other:?}"),
        }
        // The user's initial set, named once each in order.
        let inputs = PolicyInputs { user_initial_policy_set: vec![oid(3), oid(1), oid(3)], ..explicit() };
        match run(&inputs, &path) {
            Err(PolicyError::NotAccepted { acceptable, .. }) => assert_eq!(acceptable, [name(1), name(3)]),
            other => panic!("{other:?}"),
        }
    }

    /// A certificatePolicies extension of more entries than the graph may hold is refused
    /// before it is decoded; one of exactly that many is read.
    #[test]
    fn too_many_policies_are_refused_before_decoding() {
        use der::asn1::OctetString;
        use der::{Any, Decode, Encode, Tag, TagNumber};
        use x509_cert::ext::Extension;
        use x509_cert::ext::pkix::CertificatePolicies;
        use x509_cert::ext::pkix::certpolicy::PolicyInformation;
        let with_policies = |count: u32| {
            let policies: Vec<PolicyInformation> =
                (0..count).map(|i| PolicyInformation { policy_identifier: oid(i), policy_qualifiers: None }).collect();
            let extension = Extension {
                extn_id: der::oid::db::rfc5280::ID_CE_CERTIFICATE_POLICIES,
                critical: false,
                extn_value: OctetString::new(CertificatePolicies(policies).to_der().unwrap()).unwrap(),
            };
            let der = include_bytes!("../../fixtures/pkits/certs/GoodCACert.crt");
            let outer: Vec<Any> = Vec::from_der(der).unwrap();
            let mut tbs: Vec<Any> = Vec::from_der(&outer[0].to_der().unwrap()).unwrap();
            let extensions = vec![extension].to_der().unwrap();
            tbs[7] = Any::new(Tag::ContextSpecific { constructed: true, number: TagNumber(3) }, extensions).unwrap();
            let tbs = Any::from_der(&tbs.to_der().unwrap()).unwrap();
            Certificate::from_der(&vec![tbs, outer[1].clone(), outer[2].clone()].to_der().unwrap()).unwrap()
        };
        let most = MAX_POLICY_GRAPH_SIZE as u32;
        assert!(matches!(check_entry_counts(&with_policies(most + 1)), Err(PolicyError::TooLarge)));
        assert!(check_entry_counts(&with_policies(most)).is_ok());
    }

    #[test]
    fn all_any_policy_chain_is_valid_for_any_policy() {
        let path = [step(asserting(&[ANY_POLICY])), step(asserting(&[ANY_POLICY])), step(asserting(&[ANY_POLICY]))];
        for inputs in [PolicyInputs::default(), explicit()] {
            let outcome = run(&inputs, &path).unwrap();
            assert_eq!(outcome.user_constrained_policy_set, vec!["2.5.29.32.0".to_string()]);
            assert_eq!(outcome.explicit_policy_required, inputs.initial_explicit_policy);
        }
        let narrowed = PolicyInputs { user_initial_policy_set: vec![oid(1), oid(3)], ..explicit() };
        assert_eq!(run(&narrowed, &path).unwrap().user_constrained_policy_set, vec![name(1), name(3)]);
    }

    #[test]
    fn same_policy_throughout_is_valid_for_it() {
        let path = [step(asserting(&[oid(1)])), step(asserting(&[oid(1)]))];
        assert_eq!(run(&explicit(), &path).unwrap().user_constrained_policy_set, vec![name(1)]);
    }

    #[test]
    fn different_policies_per_level_fail_only_when_explicit_policy_is_required() {
        let path = [step(asserting(&[oid(1)])), step(asserting(&[oid(2)]))];
        let outcome = run(&PolicyInputs::default(), &path).unwrap();
        assert!(outcome.user_constrained_policy_set.is_empty());
        assert!(!outcome.explicit_policy_required);
        let error = run(&explicit(), &path).unwrap_err();
        assert_eq!(error.reason(), Reason::PolicyNotAccepted);
        assert!(matches!(error, PolicyError::NotAccepted { certificate: 2, .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(&name(1)) && message.contains(&name(2)), "{message}");
    }

    #[test]
    fn missing_certificate_policies_ends_the_graph() {
        let path = [step(asserting(&[oid(1)])), step(CertPolicies::default()), step(asserting(&[oid(1)]))];
        assert!(run(&PolicyInputs::default(), &path).unwrap().user_constrained_policy_set.is_empty());
        let error = run(&explicit(), &path).unwrap_err();
        assert!(matches!(error, PolicyError::NotAccepted { certificate: 2, .. }), "{error:?}");
        assert!(error.to_string().contains("asserts no certificate policy"), "{error}");
    }

    #[test]
    fn require_explicit_policy_takes_effect_after_its_skip_certs() {
        let requiring =
            |skip: u32, policy| CertPolicies { require_explicit_policy: Some(skip), ..asserting(&[policy]) };
        // requireExplicitPolicy 1 at certificate 1: certificate 2 may still differ, and
        // certificate 3 is the first that must carry an acceptable policy.
        let path = [step(requiring(1, oid(1))), step(asserting(&[oid(1)])), step(asserting(&[oid(2)]))];
        let error = run(&PolicyInputs::default(), &path).unwrap_err();
        assert!(matches!(error, PolicyError::NotAccepted { certificate: 3, .. }), "{error:?}");
        // requireExplicitPolicy 2 at certificate 1: explicit_policy reaches 0 only in the
        // wrap-up (§6.1.5 (a)), where the empty set is refused.
        let path = [step(requiring(2, oid(1))), step(asserting(&[oid(1)])), step(asserting(&[oid(2)]))];
        let error = run(&PolicyInputs::default(), &path).unwrap_err();
        assert!(matches!(error, PolicyError::NotAccepted { certificate: 3, .. }), "{error:?}");
        // requireExplicitPolicy 3 never reaches 0 on a path of three.
        let path = [step(requiring(3, oid(1))), step(asserting(&[oid(1)])), step(asserting(&[oid(2)]))];
        assert!(!run(&PolicyInputs::default(), &path).unwrap().explicit_policy_required);
        // An acceptable policy satisfies the requirement.
        let path = [step(requiring(1, oid(1))), step(asserting(&[oid(1)])), step(asserting(&[oid(1)]))];
        let outcome = run(&PolicyInputs::default(), &path).unwrap();
        assert!(outcome.explicit_policy_required);
        assert_eq!(outcome.user_constrained_policy_set, vec![name(1)]);
        // requireExplicitPolicy 0 in the final certificate applies too (§6.1.5 (b)).
        let path = [step(asserting(&[oid(1)])), step(requiring(0, oid(2)))];
        assert!(run(&PolicyInputs::default(), &path).is_err());
    }

    #[test]
    fn self_issued_certificates_do_not_decrement_the_counters() {
        let first = CertPolicies { require_explicit_policy: Some(2), ..asserting(&[oid(1)]) };
        let mismatch = || [asserting(&[oid(1)]), asserting(&[oid(2)])];
        let [second, last] = mismatch();
        // Not self-issued: 2 → 1 after certificate 2, → 0 in the wrap-up: refused.
        let path = [step(first.clone()), step(second), step(last)];
        assert!(run(&PolicyInputs::default(), &path).is_err());
        // Self-issued certificate 2 leaves it at 2, → 1 in the wrap-up: accepted, no policy.
        let [second, last] = mismatch();
        let path = [step(first), self_issued(second), step(last)];
        let outcome = run(&PolicyInputs::default(), &path).unwrap();
        assert!(!outcome.explicit_policy_required);
        assert!(outcome.user_constrained_policy_set.is_empty());
    }

    #[test]
    fn inhibit_any_policy_stops_any_policy_below_it() {
        let inhibiting = CertPolicies { inhibit_any_policy: Some(0), ..asserting(&[ANY_POLICY]) };
        let path = [step(inhibiting.clone()), step(asserting(&[ANY_POLICY])), step(asserting(&[oid(1)]))];
        let error = run(&explicit(), &path).unwrap_err();
        assert!(
            matches!(error, PolicyError::NotAccepted { certificate: 2, any_policy_inhibited: true, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("inhibitAnyPolicy"), "{error}");
        // A self-issued intermediate's anyPolicy is honoured anyway (§6.1.3 (d)(2)) ...
        let path = [step(inhibiting.clone()), self_issued(asserting(&[ANY_POLICY])), step(asserting(&[oid(1)]))];
        assert_eq!(run(&explicit(), &path).unwrap().user_constrained_policy_set, vec![name(1)]);
        // ... but not the final certificate's, self-issued or not.
        let path = [step(inhibiting.clone()), self_issued(asserting(&[ANY_POLICY]))];
        assert!(run(&explicit(), &path).is_err());
        // initial-any-policy-inhibit stops the first certificate's anyPolicy.
        let inputs = PolicyInputs { initial_any_policy_inhibit: true, ..explicit() };
        let path = [step(asserting(&[ANY_POLICY])), step(asserting(&[oid(1)]))];
        assert!(matches!(run(&inputs, &path), Err(PolicyError::NotAccepted { certificate: 1, .. })));
        // inhibitAnyPolicy 1 still lets the next certificate's anyPolicy through.
        let skipping = CertPolicies { inhibit_any_policy: Some(1), ..asserting(&[ANY_POLICY]) };
        let path = [step(skipping), step(asserting(&[ANY_POLICY])), step(asserting(&[oid(1)]))];
        assert_eq!(run(&explicit(), &path).unwrap().user_constrained_policy_set, vec![name(1)]);
    }

    #[test]
    fn mapping_is_applied_and_reported_in_the_issuer_domain() {
        let mapping = CertPolicies { mappings: vec![(oid(1), oid(2))], ..asserting(&[oid(1)]) };
        let path = [step(mapping.clone()), step(asserting(&[oid(2)]))];
        let outcome = run(&explicit(), &path).unwrap();
        assert_eq!(outcome.user_constrained_policy_set, vec![name(1)]);
        let wants_2 = PolicyInputs { user_initial_policy_set: vec![oid(2)], ..explicit() };
        assert!(matches!(run(&wants_2, &path), Err(PolicyError::NotAccepted { certificate: 2, .. })));
        // One issuer policy mapped to two: either satisfies it.
        let fan_out = CertPolicies { mappings: vec![(oid(1), oid(2)), (oid(1), oid(3))], ..asserting(&[oid(1)]) };
        let path = [step(fan_out), step(asserting(&[oid(3)]))];
        assert_eq!(run(&explicit(), &path).unwrap().user_constrained_policy_set, vec![name(1)]);
    }

    #[test]
    fn mapping_under_any_policy_creates_the_issuer_policy() {
        // §6.1.4 (b)(1) second case: certificate 1 asserts anyPolicy and maps 1 → 2.
        let mapping = CertPolicies { mappings: vec![(oid(1), oid(2))], ..asserting(&[ANY_POLICY]) };
        let path = [step(mapping), step(asserting(&[oid(2)]))];
        let wants_1 = PolicyInputs { user_initial_policy_set: vec![oid(1)], ..explicit() };
        assert_eq!(run(&wants_1, &path).unwrap().user_constrained_policy_set, vec![name(1)]);
        let wants_2 = PolicyInputs { user_initial_policy_set: vec![oid(2)], ..explicit() };
        assert!(run(&wants_2, &path).is_err());
    }

    #[test]
    fn inhibited_mapping_deletes_the_mapped_policy() {
        let mapping = CertPolicies { mappings: vec![(oid(1), oid(2))], ..asserting(&[oid(1)]) };
        let path = [step(mapping.clone()), step(asserting(&[oid(2)]))];
        let inhibited = PolicyInputs { initial_policy_mapping_inhibit: true, ..explicit() };
        assert!(matches!(run(&inhibited, &path), Err(PolicyError::NotAccepted { certificate: 2, .. })));
        // Without explicit policy the path stands, valid for no policy.
        let inhibited = PolicyInputs { initial_policy_mapping_inhibit: true, ..PolicyInputs::default() };
        assert!(run(&inhibited, &path).unwrap().user_constrained_policy_set.is_empty());
        // inhibitPolicyMapping 0 in certificate 1 inhibits certificate 2's mapping; an
        // unmapped policy beside it survives.
        let inhibiting = CertPolicies { inhibit_policy_mapping: Some(0), ..asserting(&[oid(1), oid(3)]) };
        let mapping = CertPolicies { mappings: vec![(oid(1), oid(2))], ..asserting(&[oid(1), oid(3)]) };
        let path = [step(inhibiting.clone()), step(mapping.clone()), step(asserting(&[oid(1), oid(2), oid(3)]))];
        assert_eq!(run(&explicit(), &path).unwrap().user_constrained_policy_set, vec![name(3)]);
        // A self-issued certificate between them does not count against inhibitPolicyMapping 1.
        let skipping = CertPolicies { inhibit_policy_mapping: Some(1), ..asserting(&[oid(1)]) };
        let mapping = CertPolicies { mappings: vec![(oid(1), oid(2))], ..asserting(&[oid(1)]) };
        let path = [step(skipping.clone()), self_issued(mapping.clone()), step(asserting(&[oid(2)]))];
        assert_eq!(run(&explicit(), &path).unwrap().user_constrained_policy_set, vec![name(1)]);
        let path = [step(skipping), step(asserting(&[oid(1)])), step(mapping), step(asserting(&[oid(2)]))];
        assert!(run(&explicit(), &path).is_err());
    }

    #[test]
    fn mapping_to_or_from_any_policy_is_refused() {
        for mapping in [(ANY_POLICY, oid(2)), (oid(1), ANY_POLICY)] {
            let cert = CertPolicies { mappings: vec![mapping], ..asserting(&[oid(1)]) };
            let path = [step(cert), step(asserting(&[oid(1)]))];
            let error = run(&PolicyInputs::default(), &path).unwrap_err();
            assert_eq!(error.reason(), Reason::BadPolicyMapping);
            assert!(matches!(error, PolicyError::MapsAnyPolicy { certificate: 1, .. }), "{error:?}");
            let message = error.to_string();
            assert!(message.contains("2.5.29.32.0") && message.contains(&mapping.0.to_string()), "{message}");
        }
        // Refused even when mapping is inhibited (§6.1.4 (a) comes before (b)).
        let cert = CertPolicies { mappings: vec![(ANY_POLICY, oid(2))], ..asserting(&[oid(1)]) };
        let inputs = PolicyInputs { initial_policy_mapping_inhibit: true, ..PolicyInputs::default() };
        assert!(matches!(
            run(&inputs, &[step(cert), step(asserting(&[oid(1)]))]),
            Err(PolicyError::MapsAnyPolicy { .. })
        ));
    }

    #[test]
    fn user_initial_policy_set_narrows_the_result() {
        let path = [step(asserting(&[oid(1), oid(2)])), step(asserting(&[oid(1), oid(2), oid(4)]))];
        let inputs = PolicyInputs { user_initial_policy_set: vec![oid(2), oid(3)], ..explicit() };
        assert_eq!(run(&inputs, &path).unwrap().user_constrained_policy_set, vec![name(2)]);
        let everything = run(&PolicyInputs::default(), &path).unwrap();
        assert_eq!(everything.user_constrained_policy_set, vec![name(1), name(2)]);
        let none = PolicyInputs { user_initial_policy_set: vec![oid(3)], ..PolicyInputs::default() };
        assert!(run(&none, &path).unwrap().user_constrained_policy_set.is_empty());
        let none = PolicyInputs { user_initial_policy_set: vec![oid(3)], ..explicit() };
        assert!(matches!(run(&none, &path), Err(PolicyError::NotAccepted { .. })));
    }

    /// The RFC 9618 §3.2 chain: every intermediate asserts two policies and maps each to
    /// both. The RFC 5280 tree doubles at each level (2^30 leaves here); the graph does not.
    #[test]
    fn exponential_tree_chain_stays_linear_in_the_graph() {
        let crossing = CertPolicies {
            mappings: vec![(oid(1), oid(1)), (oid(1), oid(2)), (oid(2), oid(1)), (oid(2), oid(2))],
            ..asserting(&[oid(1), oid(2)])
        };
        let mut path: Vec<Step> = (0..29).map(|_| step(crossing.clone())).collect();
        path.push(step(asserting(&[oid(1), oid(2)])));
        let mut state = PolicyState::new(&explicit(), path.len());
        for (index, s) in path.iter().enumerate() {
            state.process(&s.cert, false, index + 1 == path.len()).unwrap();
        }
        assert!(state.spent < 400, "spent {}", state.spent);
        let outcome = state.finish(&path[path.len() - 1].cert, &explicit()).unwrap();
        assert_eq!(outcome.user_constrained_policy_set, vec![name(1), name(2)]);
    }

    #[test]
    fn dense_mappings_exhaust_the_budget() {
        let policies: Vec<ObjectIdentifier> = (0..100).map(oid).collect();
        let mappings = policies.iter().flat_map(|from| policies.iter().map(move |to| (*from, *to))).collect();
        let dense = CertPolicies { mappings, ..asserting(&policies) };
        let mut state = PolicyState::new(&PolicyInputs::default(), 8);
        let outcome = (0..8).try_for_each(|index| state.process(&dense, false, index == 7));
        assert_eq!(outcome, Err(PolicyError::TooLarge));
        assert_eq!(PolicyError::TooLarge.reason(), Reason::BudgetExceeded);
        assert!(PolicyError::TooLarge.to_string().contains("10000"));
        // A certificate's mappings are charged as they are read, all at once.
        assert!(state.spent <= MAX_POLICY_GRAPH_SIZE + 200 + 100 * 100);
    }

    /// Regression (issue 27, found by fuzz/path_cost): a refusal named every policy a
    /// certificate asserted and every one the path allowed, formatted per candidate path:
    /// 200,000 asserted policies over 100 paths cost 5 s. Messages name a few and count
    /// the rest.
    #[test]
    fn a_refusal_names_a_few_policies_and_counts_the_rest() {
        let many: Vec<ObjectIdentifier> = (0..5_000).map(|i| oid(i + 10)).collect();
        let mut state = PolicyState::new(&explicit(), 2);
        state.process(&asserting(&[oid(1)]), false, false).unwrap();
        let error = state.process(&asserting(&many), false, true).unwrap_err();
        let PolicyError::NotAccepted { asserted, allowed, .. } = &error else { panic!("{error}") };
        assert_eq!(asserted.len(), MAX_LISTED + 1, "{asserted:?}");
        assert_eq!(asserted[MAX_LISTED], format!("and {} more", 5_000 - MAX_LISTED));
        assert_eq!(allowed, &vec![name(1)]);
        assert!(error.to_string().len() < 1_000, "{error}");
        // Beyond the budget, the policies are not even read: each path pays for them first.
        let hostile: Vec<ObjectIdentifier> = (0..200_000).map(|i| oid(i + 10)).collect();
        let mut state = PolicyState::new(&explicit(), 2);
        state.process(&asserting(&[oid(1)]), false, false).unwrap();
        assert_eq!(state.process(&asserting(&hostile), false, true), Err(PolicyError::TooLarge));
    }

    /// Regression (issue 27): 200,000 mappings of one issuerDomainPolicy were de-duplicated
    /// by scanning a list before the budget was charged (37 s); now they are charged as read,
    /// with mapping inhibited too, and refused before any graph work.
    #[test]
    fn a_huge_mapping_list_is_charged_before_any_work() {
        let mappings: Vec<_> = (0..200_000).map(|i| (oid(1), oid(i + 2))).collect();
        let hostile = CertPolicies { mappings, ..asserting(&[oid(1)]) };
        for inhibit in [false, true] {
            let inputs = PolicyInputs { initial_policy_mapping_inhibit: inhibit, ..Default::default() };
            let mut state = PolicyState::new(&inputs, 2);
            assert_eq!(state.process(&hostile, false, false), Err(PolicyError::TooLarge), "inhibit {inhibit}");
        }
    }

    #[test]
    fn pruning_removes_branches_that_died_out() {
        // 1 and 2 survive certificate 1; only 2 survives certificate 2; the result must not
        // report 1, whose node at depth 1 lost its only child.
        let path = [step(asserting(&[oid(1), oid(2)])), step(asserting(&[oid(2)])), step(asserting(&[oid(2)]))];
        assert_eq!(run(&explicit(), &path).unwrap().user_constrained_policy_set, vec![name(2)]);
    }

    #[test]
    fn decoding_checks_the_rfc_5280_rules() {
        let oids = [oid(1), oid(1)];
        assert!(matches!(check_no_duplicate_policy(&oids), Err(PolicyError::Malformed(m)) if m.contains(&name(1))));
        assert!(check_policies_not_empty(&[]).is_err());
        assert!(check_mappings_not_empty(&[]).is_err());
        let empty = PolicyConstraints { require_explicit_policy: None, inhibit_policy_mapping: None };
        let error = check_policy_constraints_not_empty(&empty).unwrap_err();
        assert_eq!(error.reason(), Reason::MalformedExtension);
        assert!(check_critical(IAP, "§4.2.1.14", false).unwrap_err().to_string().contains("MUST"));
    }

    /// Certificates made by `openssl req -x509` with the four extensions, decoded.
    #[test]
    fn decodes_extensions_of_an_openssl_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let config = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = keyseal policy test\n\
            [full]\nbasicConstraints = critical, CA:true\n\
            certificatePolicies = 1.2.3.4, 2.5.29.32.0\n\
            policyMappings = 1.2.3.4:1.2.3.5, 1.2.3.4:1.2.3.6\n\
            policyConstraints = critical, requireExplicitPolicy:2, inhibitPolicyMapping:1\n\
            inhibitAnyPolicy = critical, 3\n\
            [plain]\nbasicConstraints = critical, CA:true\n\
            [duplicate]\ncertificatePolicies = 1.2.3.4, 1.2.3.4\n\
            [inhibit_not_critical]\ninhibitAnyPolicy = 0\n\
            [constraints_not_critical]\npolicyConstraints = requireExplicitPolicy:0\n";
        std::fs::write(dir.path().join("openssl.cnf"), config).unwrap();
        let make = |section: &str| -> Certificate {
            let out = dir.path().join(format!("{section}.der"));
            let status = std::process::Command::new("openssl")
                .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
                .arg("-keyout")
                .arg(dir.path().join("key.pem"))
                .arg("-config")
                .arg(dir.path().join("openssl.cnf"))
                .args(["-extensions", section, "-outform", "DER", "-out"])
                .arg(&out)
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "openssl req for [{section}]");
            <Certificate as der::Decode>::from_der(&std::fs::read(out).unwrap()).unwrap()
        };
        let o = |s: &str| ObjectIdentifier::new(s).unwrap();
        let full = CertPolicies::from_certificate(&make("full")).unwrap();
        assert_eq!(
            full,
            CertPolicies {
                policies: Some(vec![o("1.2.3.4"), ANY_POLICY]),
                mappings: vec![(o("1.2.3.4"), o("1.2.3.5")), (o("1.2.3.4"), o("1.2.3.6"))],
                require_explicit_policy: Some(2),
                inhibit_policy_mapping: Some(1),
                inhibit_any_policy: Some(3),
            }
        );
        assert_eq!(CertPolicies::from_certificate(&make("plain")).unwrap(), CertPolicies::default());
        // Not critical, as in PKITS: accepted (see `from_certificate`).
        assert_eq!(
            CertPolicies::from_certificate(&make("constraints_not_critical")).unwrap().require_explicit_policy,
            Some(0)
        );
        for (section, needle) in [("duplicate", "1.2.3.4"), ("inhibit_not_critical", "inhibitAnyPolicy")] {
            let error = CertPolicies::from_certificate(&make(section)).unwrap_err();
            assert_eq!(error.reason(), Reason::MalformedExtension, "[{section}]");
            assert!(error.to_string().contains(needle), "[{section}] {error}");
        }
    }
}
