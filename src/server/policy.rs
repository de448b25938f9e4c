//! RAM-style policies: `{"Version": "1", "Statement": [{"Effect": "Allow"|"Deny",
//! "Action": [...], "Resource": [...]}]}`. Deny by default; an explicit Deny wins over any
//! Allow; `*` and `?` are wildcards in actions (case-insensitive) and resources.

use serde::Deserialize;

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses, whatever else grants.
    Deny,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Allow or Deny.
    pub effect: Effect,
    /// Action patterns, e.g. `kms:AsymmetricSign`, `kms:Get*`.
    pub actions: Vec<String>,
    /// Resource patterns, e.g. `acs:kms:*:*:alias/release`, `*`.
    pub resources: Vec<String>,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Its statements.
    pub statements: Vec<Statement>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct RawStatement {
    effect: Effect,
    action: OneOrMany,
    resource: OneOrMany,
    #[serde(default)]
    condition: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct RawPolicy {
    version: String,
    statement: Vec<RawStatement>,
}

impl Policy {
    /// Parses a policy document; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let raw: RawPolicy = serde_json::from_str(text).map_err(|e| format!("not a policy document: {e}"))?;
        if raw.version != "1" {
            return Err(format!("Version {:?} is not supported; write \"Version\": \"1\"", raw.version));
        }
        let mut statements = Vec::new();
        for (index, statement) in raw.statement.into_iter().enumerate() {
            if statement.condition.is_some() {
                return Err(format!("statement {}: Condition is not supported; remove it", index + 1));
            }
            let actions = statement.action.into_vec();
            let resources = statement.resource.into_vec();
            if actions.is_empty() || resources.is_empty() {
                return Err(format!("statement {} needs at least one Action and one Resource", index + 1));
            }
            statements.push(Statement { effect: statement.effect, actions, resources });
        }
        Ok(Policy { statements })
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` one. A `*`
/// or `?` in `text` is an ordinary character. Greedy with one backtracking point (the last
/// `*`), so at most pattern × text steps, whatever the wildcards.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        // A `*` in the pattern is a wildcard even where the text has a `*` too.
        if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Whether `policies` allow `action` (e.g. `kms:AsymmetricSign`) on every resource a
/// request touches. Each resource comes with all the names it goes by (a key's ARN, and the
/// alias ARN when the request named the key by alias): no statement may deny any of its
/// names, and some statement must allow one of them. A request that names no resource at
/// all is refused (deny by default): the server always names at least the key or alias
/// collection.
pub fn allows(policies: &[Policy], action: &str, resources: &[Vec<String>]) -> bool {
    if resources.is_empty() {
        return false;
    }
    let action = action.to_ascii_lowercase();
    let statements: Vec<&Statement> = policies
        .iter()
        .flat_map(|p| &p.statements)
        .filter(|s| s.actions.iter().any(|a| wildcard_match(&a.to_ascii_lowercase(), &action)))
        .collect();
    let matches = |s: &Statement, resource: &str| s.resources.iter().any(|r| wildcard_match(r, resource));
    let effect_on = |effect: Effect, names: &[String]| {
        statements.iter().any(|s| s.effect == effect && names.iter().any(|name| matches(s, name)))
    };
    resources.iter().all(|names| !effect_on(Effect::Deny, names) && effect_on(Effect::Allow, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("kms:Get*", "kms:GetPublicKey"));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("acs:kms:*:*:key/ab?", "acs:kms:local:0:key/abc"));
        assert!(!wildcard_match("acs:kms:*:*:alias/release", "acs:kms:local:0:alias/release2"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn deny_by_default_and_explicit_deny_wins() {
        let sign_only = Policy::parse(r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:AsymmetricSign"],"Resource":["acs:kms:*:*:alias/release"]}]}"#).unwrap();
        let release = vec![vec!["acs:kms:local:0:alias/release".to_string()]];
        assert!(allows(std::slice::from_ref(&sign_only), "kms:AsymmetricSign", &release));
        assert!(allows(std::slice::from_ref(&sign_only), "KMS:asymmetricsign", &release));
        assert!(!allows(std::slice::from_ref(&sign_only), "kms:AsymmetricDecrypt", &release));
        let key = vec![vec!["acs:kms:local:0:key/x".to_string()]];
        assert!(!allows(std::slice::from_ref(&sign_only), "kms:AsymmetricSign", &key));
        // The key behind the alias, named by alias: allowed through the alias, and a Deny
        // on the key's own ARN still wins.
        let both = vec![vec!["acs:kms:local:0:key/x".to_string(), "acs:kms:local:0:alias/release".to_string()]];
        assert!(allows(std::slice::from_ref(&sign_only), "kms:AsymmetricSign", &both));
        let deny_key = Policy::parse(
            r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"acs:kms:*:*:key/x"}]}"#,
        )
        .unwrap();
        assert!(!allows(&[sign_only.clone(), deny_key], "kms:AsymmetricSign", &both));
        assert!(!allows(&[], "kms:AsymmetricSign", &release));
        let deny = Policy::parse(r#"{"Version":"1","Statement":{"Effect":"Deny","Action":"kms:*","Resource":"*"}}"#);
        assert!(deny.is_err(), "Statement must be a list");
        let deny = Policy::parse(r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#)
            .unwrap();
        assert!(!allows(&[sign_only, deny], "kms:AsymmetricSign", &release));
        assert!(Policy::parse(r#"{"Version":"2","Statement":[]}"#).is_err());
        assert!(
            Policy::parse(r#"{"Version":"1","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#).is_err()
        );
    }

    /// A statement that names no action or no resource matches nothing: a Deny written so
    /// would deny nothing, so it is refused rather than accepted silently.
    #[test]
    fn a_statement_needs_an_action_and_a_resource() {
        let no_action = r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":[],"Resource":["*"]}]}"#;
        let no_resource = r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":["kms:*"],"Resource":[]}]}"#;
        for document in [no_action, no_resource] {
            let refused = Policy::parse(document).unwrap_err();
            assert_eq!(refused, "statement 1 needs at least one Action and one Resource", "{document}");
        }
        let both = r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":["kms:*"],"Resource":["*"]}]}"#;
        assert!(Policy::parse(both).is_ok());
    }

    /// Found by the `policy_document` fuzz target (fuzz/regressions/policy_document/): a `*`
    /// in the name was taken as the pattern's `*` matched literally, so `*` did not match
    /// `*R`, and a Deny on `acs:kms:*:*:key/*` missed a resource named `key/*x`.
    #[test]
    fn a_star_in_the_name_does_not_stop_a_wildcard() {
        assert!(wildcard_match("*", "*R"));
        assert!(wildcard_match("kms:*", "kms:*\",\"Resour:ListAliases"));
        assert!(wildcard_match("acs:kms:*:*:key/*", "acs:kms:local:0:key/*x"));
        assert!(wildcard_match("a?c", "a*c"));
        assert!(!wildcard_match("a*c", "a*b"));
        let text = include_str!("../../fuzz/regressions/policy_document/deny-missed-for-star-in-resource-name");
        let mut lines = text.splitn(3, '\n');
        let (action, resource) = (lines.next().unwrap(), lines.next().unwrap());
        let policy = Policy::parse(lines.next().unwrap()).unwrap();
        assert!(!allows(&[policy], action, &[vec![resource.to_string()]]), "the Deny on key/* must win");
    }

    /// Wildcards that make a backtracking matcher exponential: the answers, in a single
    /// pass each (the matcher is pattern × text at most).
    #[test]
    fn pathological_wildcards() {
        let stars = "*?".repeat(40);
        let long = "a".repeat(300);
        assert!(!wildcard_match(&format!("{stars}b"), &long));
        assert!(wildcard_match(&format!("{stars}a"), &long));
        assert!(!wildcard_match(&"*a".repeat(50).replace("*a*a", "*a*b"), &long));
    }

    /// Found by the `policy_document` fuzz target (fuzz/regressions/policy_document/): with
    /// no resource to check, `allows` said yes, even with no policy at all.
    #[test]
    fn a_request_without_resources_is_refused() {
        let admin =
            Policy::parse(r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#).unwrap();
        assert!(!allows(&[], "kms:CreateKey", &[]));
        assert!(!allows(std::slice::from_ref(&admin), "kms:CreateKey", &[]));
        assert!(allows(&[admin], "kms:CreateKey", &[vec!["acs:kms:local:0:key".to_string()]]));
    }
}
