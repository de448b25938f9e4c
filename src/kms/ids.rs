//! Identifiers: random UUIDs for keys, versions and requests; ARNs; and how a `KeyId`
//! parameter names a key (a KeyId, an `alias/...`, or an ARN of either).

use crate::kms::error::KmsError;

/// The region written into ARNs of keys held by the embedded store.
pub const LOCAL_REGION: &str = "local";
/// The account written into ARNs of keys held by the embedded store.
pub const LOCAL_ACCOUNT: &str = "0";

/// A random (version 4) UUID, lower-case hyphenated.
pub fn new_uuid() -> Result<String, KmsError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| KmsError::internal(format!("the OS random generator failed: {e}")))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    Ok(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
}

/// `acs:kms:{region}:{account}:key/{key_id}`.
pub fn key_arn(key_id: &str) -> String {
    format!("acs:kms:{LOCAL_REGION}:{LOCAL_ACCOUNT}:key/{key_id}")
}

/// `acs:kms:{region}:{account}:{alias_name}` (the alias name keeps its `alias/` prefix).
pub fn alias_arn(alias_name: &str) -> String {
    format!("acs:kms:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{alias_name}")
}

/// What a `KeyId` parameter names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// A key by its id.
    Id(String),
    /// A key through an alias (`alias/...`).
    Alias(String),
}

impl KeyRef {
    /// Reads a `KeyId` parameter: `alias/name`, `acs:kms:r:a:key/ID`, `acs:kms:r:a:alias/name`,
    /// or a bare KeyId.
    pub fn parse(key_id: &str) -> Result<KeyRef, KmsError> {
        let key_id = key_id.trim();
        if key_id.is_empty() {
            return Err(KmsError::missing("KeyId"));
        }
        let resource = match key_id.strip_prefix("acs:kms:") {
            Some(rest) => rest.splitn(3, ':').nth(2).ok_or_else(|| {
                KmsError::invalid(
                    "KeyId",
                    format!("{key_id:?} is not an ARN of the form acs:kms:REGION:ACCOUNT:key/ID"),
                )
            })?,
            None => key_id,
        };
        if resource.starts_with("alias/") {
            Ok(KeyRef::Alias(resource.to_string()))
        } else {
            Ok(KeyRef::Id(resource.strip_prefix("key/").unwrap_or(resource).to_string()))
        }
    }
}

/// Checks an alias name: `alias/` followed by 1–249 of `[A-Za-z0-9_/-]`, not under the
/// reserved `alias/acs` prefix.
pub fn check_alias_name(alias_name: &str) -> Result<(), KmsError> {
    let rest = alias_name.strip_prefix("alias/").ok_or_else(|| {
        KmsError::invalid("AliasName", format!("{alias_name:?} must start with \"alias/\", e.g. alias/release"))
    })?;
    if rest.is_empty() || alias_name.len() > 255 {
        return Err(KmsError::invalid("AliasName", "must be 7 to 255 characters long, e.g. alias/release"));
    }
    if alias_name.starts_with("alias/acs") {
        return Err(KmsError::invalid("AliasName", "names starting with alias/acs are reserved; choose another"));
    }
    if !rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/')) {
        return Err(KmsError::invalid("AliasName", "may contain only letters, digits, '_', '-' and '/'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let id = new_uuid().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, new_uuid().unwrap());
    }

    #[test]
    fn key_refs() {
        assert_eq!(KeyRef::parse("abc").unwrap(), KeyRef::Id("abc".into()));
        assert_eq!(KeyRef::parse("alias/release").unwrap(), KeyRef::Alias("alias/release".into()));
        assert_eq!(KeyRef::parse(&key_arn("abc")).unwrap(), KeyRef::Id("abc".into()));
        assert_eq!(KeyRef::parse("acs:kms:cn-hangzhou:123:alias/x").unwrap(), KeyRef::Alias("alias/x".into()));
        assert!(KeyRef::parse("acs:kms:nope").is_err());
        assert!(KeyRef::parse("").is_err());
    }

    #[test]
    fn alias_names() {
        assert!(check_alias_name("alias/release-2026").is_ok());
        assert!(check_alias_name("release").is_err());
        assert!(check_alias_name("alias/").is_err());
        assert!(check_alias_name("alias/acs-x").is_err());
        assert!(check_alias_name("alias/a b").is_err());
    }
}
