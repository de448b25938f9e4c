//! Policy documents (`server::policy::Policy::parse`) and their evaluation (`policy::allows`),
//! the access decision `keyseal serve` makes for every request. A document comes from an
//! administrator, but the action and the resource names come from the request.
//!
//! Layout (text): the action on the first line, the resources on the second — resources
//! separated by `|`, the names one resource goes by separated by `,` (e.g.
//! `acs:kms:local:0:key/K,acs:kms:local:0:alias/release`) — then one or more policy
//! documents separated by NUL bytes.
//!
//! Checked besides "no panic": `allows` agrees with a plain reference evaluation (deny by
//! default; an explicit Deny on any name of any resource wins; every resource needs an
//! Allow on one of its names), whose wildcard matching is an independent dynamic
//! programme; adding an Allow never takes a permission away, adding a Deny never grants
//! one, and a deny-everything policy always refuses. Pathological wildcards (`*?*?*?…`)
//! must stay within libFuzzer's per-input time limit.
#![no_main]

use keyseal::server::policy::{Effect, Policy, Statement, allows, wildcard_match};
use libfuzzer_sys::fuzz_target;

/// Whether `text` matches `pattern` (`*` any run of characters, `?` one), by dynamic
/// programming over prefixes: O(pattern × text), no backtracking to get wrong.
fn reference_match(pattern: &[char], text: &[char]) -> bool {
    // matches[j]: the pattern prefix so far matches text[..j].
    let mut matches = vec![false; text.len() + 1];
    matches[0] = true;
    for &p in pattern {
        let mut next = vec![false; text.len() + 1];
        if p == '*' {
            let mut any = false;
            for j in 0..=text.len() {
                any |= matches[j];
                next[j] = any;
            }
        } else {
            for j in 1..=text.len() {
                next[j] = matches[j - 1] && (p == '?' || p == text[j - 1]);
            }
        }
        matches = next;
    }
    matches[text.len()]
}

fn chars(text: &str) -> Vec<char> {
    text.chars().collect()
}

fn reference_allows(policies: &[Policy], action: &str, resources: &[Vec<String>]) -> bool {
    let action = chars(&action.to_ascii_lowercase());
    let statements: Vec<&Statement> = policies
        .iter()
        .flat_map(|p| &p.statements)
        .filter(|s| s.actions.iter().any(|a| reference_match(&chars(&a.to_ascii_lowercase()), &action)))
        .collect();
    let applies = |effect: Effect, names: &[String]| {
        statements.iter().any(|s| {
            s.effect == effect
                && s.resources.iter().any(|r| names.iter().any(|n| reference_match(&chars(r), &chars(n))))
        })
    };
    !resources.is_empty()
        && resources.iter().all(|names| !applies(Effect::Deny, names) && applies(Effect::Allow, names))
}

fn policy(effect: Effect, action: &str, resource: &str) -> Policy {
    Policy { statements: vec![Statement { effect, actions: vec![action.into()], resources: vec![resource.into()] }] }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    let action = lines.next().unwrap_or_default();
    let resources: Vec<Vec<String>> = match lines.next() {
        Some(line) => line.split('|').map(|r| r.split(',').map(str::to_string).collect()).collect(),
        None => Vec::new(),
    };
    let policies: Vec<Policy> =
        lines.next().unwrap_or_default().split('\0').filter_map(|d| Policy::parse(d).ok()).collect();

    // The reference is quadratic per pattern and name: keep its work bounded.
    let patterns: usize = policies
        .iter()
        .flat_map(|p| &p.statements)
        .map(|s| s.actions.iter().chain(&s.resources).map(|x| x.len() + 1).sum::<usize>())
        .sum();
    let names: usize = resources.iter().flatten().map(|n| n.len() + 1).sum::<usize>() + action.len();
    if patterns.saturating_mul(names) > 4_000_000 {
        let _ = allows(&policies, action, &resources);
        return;
    }

    for statement in policies.iter().flat_map(|p| &p.statements) {
        for pattern in statement.actions.iter().chain(&statement.resources) {
            for name in resources.iter().flatten().map(String::as_str).chain([action]) {
                assert_eq!(
                    wildcard_match(pattern, name),
                    reference_match(&chars(pattern), &chars(name)),
                    "wildcard_match({pattern:?}, {name:?})"
                );
            }
        }
    }

    let allowed = allows(&policies, action, &resources);
    assert_eq!(allowed, reference_allows(&policies, action, &resources), "allows disagrees with the reference");

    let mut more = policies.clone();
    more.push(policy(Effect::Allow, "*", "*"));
    assert!(!allowed || allows(&more, action, &resources), "an added Allow took a permission away");
    let mut more = policies.clone();
    more.push(policy(Effect::Deny, action, "?*"));
    assert!(allowed || !allows(&more, action, &resources), "an added Deny granted a permission");
    let mut more = policies;
    more.push(policy(Effect::Deny, "*", "*"));
    assert!(!allows(&more, action, &resources), "a Deny on everything did not refuse");
});
