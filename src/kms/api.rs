//! Typed requests and responses of the KMS operations, named and serialized exactly as
//! KMS OpenAPI 2016-01-20 names them, so the JSON the CLI prints and the server sends is
//! the body the official SDK expects. Binary fields are raw bytes here and standard
//! base64 on the wire.

use crate::crypto::spec::{Algorithm, KeySpec, KeyUsage};
use crate::kms::spec::{KeyState, ProtectionLevel};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Paging parameters shared by the List operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageRequest {
    /// 1-based page number.
    pub page_number: u32,
    /// Entries per page, 1–100.
    pub page_size: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest { page_number: 1, page_size: 10 }
    }
}

/// CreateKey parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyRequest {
    /// The key pair type.
    pub key_spec: KeySpec,
    /// What the key may be used for.
    pub key_usage: KeyUsage,
    /// Free text for people.
    #[serde(default)]
    pub description: String,
    /// Where its private keys live: SOFTWARE (the default) or HSM (the store's token).
    #[serde(default)]
    pub protection_level: ProtectionLevel,
}

/// A key's metadata, as CreateKey and DescribeKey return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    /// The key's UUID.
    pub key_id: String,
    /// `acs:kms:{region}:{account}:key/{KeyId}`.
    pub arn: String,
    /// The key pair type.
    pub key_spec: KeySpec,
    /// What the key may be used for.
    pub key_usage: KeyUsage,
    /// Lifecycle state.
    pub key_state: KeyState,
    /// `YYYY-MM-DDThh:mm:ssZ`.
    pub creation_date: String,
    /// The principal that created the key.
    pub creator: String,
    /// Free text.
    pub description: String,
    /// When a pending deletion takes effect; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_date: Option<String>,
    /// Always `Aliyun_KMS`: keys are generated inside the KMS.
    pub origin: String,
    /// `SOFTWARE` (sealed in the store) or `HSM` (in the store's PKCS#11 token).
    pub protection_level: ProtectionLevel,
    /// The first version's id, reported as a convenience only: operations still need an
    /// explicit KeyVersionId.
    pub primary_key_version: String,
    /// Always `Disabled`: asymmetric keys are rotated by CreateKeyVersion only.
    pub automatic_rotation: String,
}

/// One key version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyVersion {
    /// The key it belongs to.
    pub key_id: String,
    /// The version's UUID.
    pub key_version_id: String,
    /// `YYYY-MM-DDThh:mm:ssZ`.
    pub creation_date: String,
}

/// A request that names a key only (DescribeKey, CreateKeyVersion, EnableKey, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdRequest {
    /// KeyId, `alias/...` or ARN.
    pub key_id: String,
}

/// A request that names a key version (DescribeKeyVersion, GetPublicKey).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyVersionRequest {
    /// KeyId, `alias/...` or ARN.
    pub key_id: String,
    /// The version.
    pub key_version_id: String,
}

/// ListKeyVersions parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyVersionsRequest {
    /// KeyId, `alias/...` or ARN.
    pub key_id: String,
    /// Which page.
    #[serde(flatten)]
    pub page: PageRequest,
}

/// ScheduleKeyDeletion parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionRequest {
    /// KeyId, `alias/...` or ARN.
    pub key_id: String,
    /// 7–366.
    pub pending_window_in_days: u32,
}

/// CreateAlias / UpdateAlias parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasRequest {
    /// `alias/...`.
    pub alias_name: String,
    /// The key the alias points at.
    pub key_id: String,
}

/// DeleteAlias parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAliasRequest {
    /// `alias/...`.
    pub alias_name: String,
}

/// AsymmetricSign parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignRequest {
    /// KeyId, `alias/...` or ARN.
    pub key_id: String,
    /// The version whose private key signs.
    pub key_version_id: String,
    /// The signing algorithm.
    pub algorithm: Algorithm,
    /// The 32-byte SHA-256 digest of the message.
    #[serde(with = "b64")]
    pub digest: Vec<u8>,
}

/// AsymmetricVerify parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyRequest {
    /// KeyId, `alias/...` or ARN.
    pub key_id: String,
    /// The version whose public key verifies.
    pub key_version_id: String,
    /// The signing algorithm.
    pub algorithm: Algorithm,
    /// The 32-byte SHA-256 digest of the message.
    #[serde(with = "b64")]
    pub digest: Vec<u8>,
    /// The signature.
    #[serde(with = "b64")]
    pub value: Vec<u8>,
}

/// AsymmetricEncrypt parameters (`Debug` leaves the plaintext out).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptRequest {
    /// KeyId, `alias/...` or ARN.
    pub key_id: String,
    /// The version whose public key encrypts.
    pub key_version_id: String,
    /// The encryption algorithm.
    pub algorithm: Algorithm,
    /// The data to encrypt; zeroized on drop.
    #[serde(with = "b64_secret")]
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// AsymmetricDecrypt parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptRequest {
    /// KeyId, `alias/...` or ARN.
    pub key_id: String,
    /// The version whose private key decrypts.
    pub key_version_id: String,
    /// The encryption algorithm.
    pub algorithm: Algorithm,
    /// What AsymmetricEncrypt returned.
    #[serde(with = "b64")]
    pub ciphertext_blob: Vec<u8>,
}

/// A response that carries only its RequestId.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EmptyResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
}

/// CreateKey / DescribeKey response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadataResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
    /// The key.
    pub key_metadata: KeyMetadata,
}

/// CreateKeyVersion / DescribeKeyVersion response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyVersionResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
    /// The version.
    pub key_version: KeyVersion,
}

/// One entry of ListKeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    /// The key's UUID.
    pub key_id: String,
    /// The key's ARN.
    pub key_arn: String,
}

/// `Keys{Key:[...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Keys {
    /// The page's keys.
    pub key: Vec<KeyListEntry>,
}

/// ListKeys response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
    /// The page.
    pub keys: Keys,
    /// 1-based page number.
    pub page_number: u32,
    /// Entries per page.
    pub page_size: u32,
    /// Entries in all pages.
    pub total_count: u64,
}

/// `KeyVersions{KeyVersion:[...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyVersions {
    /// The page's versions, oldest first.
    pub key_version: Vec<KeyVersion>,
}

/// ListKeyVersions response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyVersionsResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
    /// The page.
    pub key_versions: KeyVersions,
    /// 1-based page number.
    pub page_number: u32,
    /// Entries per page.
    pub page_size: u32,
    /// Entries in all pages.
    pub total_count: u64,
}

/// One entry of ListAliases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasEntry {
    /// `alias/...`.
    pub alias_name: String,
    /// The alias's ARN.
    pub alias_arn: String,
    /// The key it points at.
    pub key_id: String,
}

/// `Aliases{Alias:[...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Aliases {
    /// The page's aliases, by name.
    pub alias: Vec<AliasEntry>,
}

/// ListAliases response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
    /// The page.
    pub aliases: Aliases,
    /// 1-based page number.
    pub page_number: u32,
    /// Entries per page.
    pub page_size: u32,
    /// Entries in all pages.
    pub total_count: u64,
}

/// GetPublicKey response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
    /// The real KeyId, even when the request named an alias.
    pub key_id: String,
    /// The version.
    pub key_version_id: String,
    /// SubjectPublicKeyInfo PEM.
    pub public_key: String,
}

/// AsymmetricSign response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
    /// The real KeyId.
    pub key_id: String,
    /// The version that signed.
    pub key_version_id: String,
    /// The signature (DER for ECDSA).
    #[serde(with = "b64")]
    pub value: Vec<u8>,
}

/// AsymmetricVerify response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
    /// The real KeyId.
    pub key_id: String,
    /// The version that verified.
    pub key_version_id: String,
    /// Whether the signature is valid (a JSON boolean).
    pub value: bool,
}

/// AsymmetricEncrypt response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
    /// The real KeyId.
    pub key_id: String,
    /// The version that encrypted.
    pub key_version_id: String,
    /// The ciphertext.
    #[serde(with = "b64")]
    pub ciphertext_blob: Vec<u8>,
}

/// AsymmetricDecrypt response (`Debug` leaves the plaintext out).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptResponse {
    /// Identifies the request in the audit log.
    pub request_id: String,
    /// The real KeyId.
    pub key_id: String,
    /// The version that decrypted.
    pub key_version_id: String,
    /// The plaintext; zeroized on drop.
    #[serde(with = "b64_secret")]
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for EncryptRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptRequest")
            .field("key_id", &self.key_id)
            .field("key_version_id", &self.key_version_id)
            .field("algorithm", &self.algorithm)
            .field("plaintext", &format_args!("<{} bytes redacted>", self.plaintext.len()))
            .finish()
    }
}

impl std::fmt::Debug for DecryptResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptResponse")
            .field("request_id", &self.request_id)
            .field("key_id", &self.key_id)
            .field("key_version_id", &self.key_version_id)
            .field("plaintext", &format_args!("<{} bytes redacted>", self.plaintext.len()))
            .finish()
    }
}

/// Standard padded base64 for byte fields.
pub mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Encodes bytes as base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    /// Decodes base64 into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text.trim()).map_err(D::Error::custom)
    }
}

/// Standard padded base64 for secret byte fields, decoded straight into a zeroizing buffer.
pub mod b64_secret {
    use serde::{Deserializer, Serializer};
    use zeroize::Zeroizing;

    /// Encodes bytes as base64.
    pub fn serialize<S: Serializer>(bytes: &Zeroizing<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
        super::b64::serialize(bytes, serializer)
    }

    /// Decodes base64 into a zeroizing buffer.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Zeroizing<Vec<u8>>, D::Error> {
        super::b64::deserialize(deserializer).map(Zeroizing::new)
    }
}
