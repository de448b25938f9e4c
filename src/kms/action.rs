//! The KMS OpenAPI actions keyseal speaks, in one table: the name on the wire, whether the
//! action changes the store, and which collection a policy names when the request names
//! no key or alias. The server's dispatch, its policy check and metrics, the client's
//! retry rule and the audit log all read this table, so an action is added in one place.

/// One KMS OpenAPI 2016-01-20 action that `keyseal serve` answers and `RemoteKms` sends.
/// Each variant is the API action of the same name (see docs/kms.md).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    CreateKey,
    CreateKeyVersion,
    DescribeKey,
    DescribeKeyVersion,
    ListKeys,
    ListKeyVersions,
    CreateAlias,
    UpdateAlias,
    DeleteAlias,
    ListAliases,
    EnableKey,
    DisableKey,
    ScheduleKeyDeletion,
    CancelKeyDeletion,
    GetPublicKey,
    AsymmetricSign,
    AsymmetricVerify,
    AsymmetricEncrypt,
    AsymmetricDecrypt,
}

/// What an action does to the store, for the client's retry rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// Creates or changes keys or aliases: sent again after a failure that may have come
    /// after it ran, it could do so twice.
    Writes,
    /// Reads, or uses a key without changing it (a signature, a decryption): safe to repeat.
    Reads,
}

/// The policy resource of an action whose request names neither key nor alias: the
/// alias collection for ListAliases, the key collection for the rest (an alias action
/// that names no alias is refused for the missing parameter after the policy check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection {
    /// `acs:kms:REGION:ACCOUNT:key`.
    Key,
    /// `acs:kms:REGION:ACCOUNT:alias`.
    Alias,
}

impl Collection {
    /// The last part of the collection's ARN.
    pub fn name(self) -> &'static str {
        match self {
            Collection::Key => "key",
            Collection::Alias => "alias",
        }
    }
}

use Action::*;

/// Every action: its wire name, effect and collection.
const TABLE: &[(Action, &str, Effect, Collection)] = &[
    (CreateKey, "CreateKey", Effect::Writes, Collection::Key),
    (CreateKeyVersion, "CreateKeyVersion", Effect::Writes, Collection::Key),
    (DescribeKey, "DescribeKey", Effect::Reads, Collection::Key),
    (DescribeKeyVersion, "DescribeKeyVersion", Effect::Reads, Collection::Key),
    (ListKeys, "ListKeys", Effect::Reads, Collection::Key),
    (ListKeyVersions, "ListKeyVersions", Effect::Reads, Collection::Key),
    (CreateAlias, "CreateAlias", Effect::Writes, Collection::Key),
    (UpdateAlias, "UpdateAlias", Effect::Writes, Collection::Key),
    (DeleteAlias, "DeleteAlias", Effect::Writes, Collection::Key),
    (ListAliases, "ListAliases", Effect::Reads, Collection::Alias),
    (EnableKey, "EnableKey", Effect::Writes, Collection::Key),
    (DisableKey, "DisableKey", Effect::Writes, Collection::Key),
    (ScheduleKeyDeletion, "ScheduleKeyDeletion", Effect::Writes, Collection::Key),
    (CancelKeyDeletion, "CancelKeyDeletion", Effect::Writes, Collection::Key),
    (GetPublicKey, "GetPublicKey", Effect::Reads, Collection::Key),
    (AsymmetricSign, "AsymmetricSign", Effect::Reads, Collection::Key),
    (AsymmetricVerify, "AsymmetricVerify", Effect::Reads, Collection::Key),
    (AsymmetricEncrypt, "AsymmetricEncrypt", Effect::Reads, Collection::Key),
    (AsymmetricDecrypt, "AsymmetricDecrypt", Effect::Reads, Collection::Key),
];

impl Action {
    /// Every action, in the order of the API reference.
    pub fn all() -> impl Iterator<Item = Action> {
        TABLE.iter().map(|row| row.0)
    }

    fn row(self) -> &'static (Action, &'static str, Effect, Collection) {
        TABLE.iter().find(|row| row.0 == self).expect("every action has a row")
    }

    /// The action's name on the wire (`Action=` / `x-acs-action`), in policies (`kms:NAME`)
    /// and in the audit log.
    pub fn name(self) -> &'static str {
        self.row().1
    }

    /// The action a client named, exactly as spelt (the API is case-sensitive).
    pub fn from_name(name: &str) -> Option<Action> {
        TABLE.iter().find(|row| row.1 == name).map(|row| row.0)
    }

    /// Whether the action may be sent again after a failure that may have happened after
    /// it ran: reads and the cryptographic operations, not the ones that create or change
    /// keys or aliases.
    pub fn repeatable(self) -> bool {
        self.row().2 == Effect::Reads
    }

    /// The collection a policy names for this action when the request names no key or alias.
    pub fn collection(self) -> Collection {
        self.row().3
    }

    /// The names of every action, for a message listing them.
    pub fn names() -> String {
        Action::all().map(Action::name).collect::<Vec<_>>().join(", ")
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each action has one row, its own name, and is found again by that name.
    #[test]
    fn every_action_has_one_name_that_finds_it_again() {
        let names: Vec<&str> = Action::all().map(Action::name).collect();
        assert_eq!(names.len(), 19);
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        for action in Action::all() {
            assert_eq!(Action::from_name(action.name()), Some(action));
            assert_eq!(format!("{action:?}"), action.name(), "the variant is spelt as the wire name");
        }
        assert_eq!(Action::from_name("asymmetricsign"), None);
        assert_eq!(Action::from_name("PurgeKey"), None, "an audit-only action is not on the wire");
    }

    /// Only reads and key uses are retried; everything that creates or changes is not.
    #[test]
    fn only_reads_and_key_uses_are_repeatable() {
        let repeatable: Vec<&str> = Action::all().filter(|a| a.repeatable()).map(Action::name).collect();
        assert_eq!(
            repeatable,
            [
                "DescribeKey",
                "DescribeKeyVersion",
                "ListKeys",
                "ListKeyVersions",
                "ListAliases",
                "GetPublicKey",
                "AsymmetricSign",
                "AsymmetricVerify",
                "AsymmetricEncrypt",
                "AsymmetricDecrypt"
            ]
        );
    }
}
