//! The policy decision for one request: which resources it touches, by every name they go
//! by, and whether the caller's policies allow the action on all of them. Alias actions
//! follow AWS KMS: changing or deleting an alias needs permission on the alias and on the
//! key it points at now (and CreateAlias and UpdateAlias also on the key it will point at,
//! judged by that key's ARN whatever name the request used), so a caller denied on a key
//! can neither redirect, or take away, the alias others sign through, nor make an alias of
//! their own that leads to it.
//!
//! The server decides twice with the same rules: once before the operation (a refusal then
//! costs no write lock), and once inside the operation's transaction (`Guard`), on the
//! snapshot the operation acts on, so an alias moved between the two cannot redirect an
//! allowed request to a key the caller may not use.

use crate::kms::error::{ErrorCode, KmsError};
use crate::kms::ids::{KeyRef, LOCAL_ACCOUNT, LOCAL_REGION, alias_arn, key_arn};
use crate::kms::local::{AliasLookup, Guard};
use crate::kms::{Action, KmsResult};
use crate::server::dispatch::Params;
use crate::server::policy::{self, Policy};
use std::sync::Arc;

/// One request's policy question.
#[derive(Clone)]
pub struct Check {
    /// The caller's AccessKeyId, for the refusal message.
    pub access_key_id: String,
    /// The caller's policies.
    pub policies: Vec<Policy>,
    /// The API action.
    pub action: Action,
    /// The request parameters.
    pub params: Params,
}

impl Check {
    /// Allowed, or a NoPermission error naming the action and the resources.
    pub fn run(&self, target_of: AliasLookup<'_>) -> KmsResult<()> {
        let resources = resources(target_of, self.action, &self.params)?;
        if policy::allows(&self.policies, &format!("kms:{}", self.action), &resources) {
            return Ok(());
        }
        let named: Vec<String> = resources.iter().map(|names| names.join(" or ")).collect();
        Err(KmsError::new(
            ErrorCode::NoPermission,
            format!(
                "access key {} may not kms:{} on {}; attach a policy that allows it",
                self.access_key_id,
                self.action,
                named.join(", ")
            ),
        ))
    }

    /// The same check, to run inside the operation's transaction.
    pub fn into_guard(self) -> Guard {
        Arc::new(move |target_of: AliasLookup<'_>| self.run(target_of))
    }
}

/// The resources a request touches, each with every name it goes by, as policies name
/// them: the key by its ARN (resolved the way the KMS resolves the KeyId, so another
/// spelling of the same key meets the same policy), plus the alias ARN when the request
/// named the key by alias; the alias a request creates or changes, and for UpdateAlias and
/// DeleteAlias the key it points at now (by its ARN alone: permission on the alias is not
/// permission on its key); or the key collection for actions that name no key.
///
/// The key CreateAlias and UpdateAlias will point the alias at is named by its ARN alone
/// too, whatever name the request gave it: judged by the alias it was named through, an
/// alias admin could point an alias they may sign through at any key that has an alias
/// (`--key-id alias/release`), and sign with it. A target alias that points at no key is
/// named by its alias ARN, for the operation to refuse as it does (AliasNotFound): the
/// guard decides on the snapshot the operation acts on, so it cannot name a key then.
///
/// Every name is looked up exactly as the KMS will look it up (no trimming here that the
/// KMS does not do), so the key judged is the key acted on.
pub fn resources(target_of: AliasLookup<'_>, action: Action, params: &Params) -> KmsResult<Vec<Vec<String>>> {
    let mut out = Vec::new();
    let names_alias = matches!(action, Action::CreateAlias | Action::UpdateAlias);
    if let Some(alias) = params.get("AliasName") {
        out.push(vec![alias_arn(alias)]);
        if matches!(action, Action::UpdateAlias | Action::DeleteAlias)
            && let Some(current) = target_of(alias)?
        {
            out.push(vec![key_arn(&current)]);
        }
    }
    if let Some(key) = params.get("KeyId") {
        let mut names = Vec::new();
        match KeyRef::parse(key) {
            Ok(KeyRef::Id(id)) => names.push(key_arn(&id)),
            Ok(KeyRef::Alias(alias)) => match target_of(&alias)? {
                Some(id) if names_alias => names.push(key_arn(&id)),
                Some(id) => {
                    names.push(key_arn(&id));
                    names.push(alias_arn(&alias));
                }
                None => names.push(alias_arn(&alias)),
            },
            Err(_) => names.push(key_arn(key.trim())),
        }
        out.push(names);
    }
    if out.is_empty() {
        out.push(vec![format!("acs:kms:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{}", action.collection().name())]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn lookup(alias: &str) -> KmsResult<Option<String>> {
        Ok((alias == "alias/release").then(|| "key-s".to_string()))
    }

    /// An action that names no key or alias is judged on the collection it lists.
    #[test]
    fn list_actions_name_their_collection() {
        let collection = |action| resources(&lookup, action, &params(&[])).unwrap();
        assert_eq!(collection(Action::ListAliases), [[format!("acs:kms:{LOCAL_REGION}:{LOCAL_ACCOUNT}:alias")]]);
        assert_eq!(collection(Action::ListKeys), [[format!("acs:kms:{LOCAL_REGION}:{LOCAL_ACCOUNT}:key")]]);
    }

    #[test]
    fn alias_changes_name_the_current_target() {
        let update =
            resources(&lookup, Action::UpdateAlias, &params(&[("AliasName", "alias/release"), ("KeyId", "key-t")]));
        let names: Vec<String> = update.unwrap().into_iter().flatten().collect();
        assert!(names.contains(&key_arn("key-s")), "{names:?}");
        assert!(names.contains(&key_arn("key-t")), "{names:?}");
        let delete = resources(&lookup, Action::DeleteAlias, &params(&[("AliasName", "alias/release")])).unwrap();
        assert_eq!(delete, vec![vec![alias_arn("alias/release")], vec![key_arn("key-s")]]);
        // A new alias has no current target; CreateAlias names the alias and its new key.
        let create =
            resources(&lookup, Action::CreateAlias, &params(&[("AliasName", "alias/new"), ("KeyId", "key-t")]));
        assert_eq!(create.unwrap(), vec![vec![alias_arn("alias/new")], vec![key_arn("key-t")]]);
    }

    fn policy(text: &str) -> Policy {
        Policy::parse(text).unwrap()
    }

    /// Mallory administers aliases and signs through `alias/mallory-*`; the release key
    /// (behind `alias/release`) is not hers, key-m is.
    fn mallory() -> Vec<Policy> {
        vec![policy(
            r#"{"Version":"1","Statement":[
                {"Effect":"Allow","Action":["kms:CreateAlias","kms:UpdateAlias"],
                 "Resource":["acs:kms:*:*:alias/*","acs:kms:*:*:key/key-m"]},
                {"Effect":"Allow","Action":"kms:AsymmetricSign","Resource":"acs:kms:*:*:alias/mallory-*"}]}"#,
        )]
    }

    fn aliases(alias: &str) -> KmsResult<Option<String>> {
        Ok(match alias {
            "alias/release" => Some("key-s".to_string()),
            "alias/mallory-x" | "alias/mallory-m" => Some("key-m".to_string()),
            _ => None,
        })
    }

    fn check(action: Action, pairs: &[(&str, &str)]) -> KmsResult<()> {
        let check = Check { access_key_id: "LTAImallory".into(), policies: mallory(), action, params: params(pairs) };
        check.run(&aliases)
    }

    /// Regression (issue 27, finding 4): the key an alias is pointed at is judged by its
    /// ARN, not through the alias the request named it by; else an alias admin allowed to
    /// sign through `alias/mallory-*` points `alias/mallory-y` at the release key (named
    /// `alias/release`, which `alias/*` allows) and signs with it.
    #[test]
    fn an_alias_is_not_pointed_at_a_key_through_another_alias() {
        for key in ["alias/release", "acs:kms:cn-hangzhou:123:alias/release", " alias/release"] {
            let err = check(Action::CreateAlias, &[("AliasName", "alias/mallory-y"), ("KeyId", key)]).unwrap_err();
            assert_eq!(err.code, ErrorCode::NoPermission, "{key:?}");
            assert!(err.message.contains(&key_arn("key-s")), "{}", err.message);
            let err = check(Action::UpdateAlias, &[("AliasName", "alias/mallory-x"), ("KeyId", key)]).unwrap_err();
            assert_eq!(err.code, ErrorCode::NoPermission, "{key:?}");
        }
        let by_arn = check(Action::CreateAlias, &[("AliasName", "alias/mallory-y"), ("KeyId", &key_arn("key-s"))]);
        assert_eq!(by_arn.unwrap_err().code, ErrorCode::NoPermission);
        // Her own key, by id or through an alias of hers: allowed.
        check(Action::CreateAlias, &[("AliasName", "alias/mallory-y"), ("KeyId", "key-m")]).unwrap();
        check(Action::CreateAlias, &[("AliasName", "alias/mallory-y"), ("KeyId", "alias/mallory-m")]).unwrap();
        check(Action::UpdateAlias, &[("AliasName", "alias/mallory-x"), ("KeyId", "alias/mallory-m")]).unwrap();
        // An alias that points at nothing names no key: the operation refuses it itself.
        check(Action::CreateAlias, &[("AliasName", "alias/mallory-y"), ("KeyId", "alias/none")]).unwrap();
        // Signing through an alias is still judged by the alias too (and by the key's ARN).
        check(Action::AsymmetricSign, &[("KeyId", "alias/mallory-x"), ("KeyVersionId", "v")]).unwrap();
        let names = resources(&aliases, Action::AsymmetricSign, &params(&[("KeyId", "alias/release")])).unwrap();
        assert_eq!(names, vec![vec![key_arn("key-s"), alias_arn("alias/release")]]);
    }

    #[test]
    fn a_lookup_failure_is_a_refusal_not_a_guess() {
        let failing = |_: &str| -> KmsResult<Option<String>> { Err(KmsError::internal("store down")) };
        assert!(resources(&failing, Action::AsymmetricSign, &params(&[("KeyId", "alias/release")])).is_err());
    }
}
