//! The key management service: the `Kms` trait — one method per KMS OpenAPI operation —
//! and its implementations. Everything that needs a private key goes through this trait,
//! so the signing pipeline, the CA and the CLI work the same over the embedded store and
//! over the wire.

pub mod acs3;
pub mod action;
pub mod api;
pub mod audit;
pub mod checkpoint;
pub mod db;
pub mod error;
pub mod group_commit;
pub mod ids;
pub mod key_cache;
pub mod local;
pub mod postgres;
pub mod read_pool;
pub mod remote;
pub mod seal;
pub mod signing_key;
pub mod spec;
pub mod store;

pub use crate::crypto::{Algorithm, KeySpec, KeyUsage};
pub use action::Action;
pub use api::*;
pub use error::{ErrorCode, KmsError};
pub use local::LocalKms;
pub use signing_key::SigningKey;
pub use spec::{KeyState, ProtectionLevel};

/// The result of a KMS operation.
pub type KmsResult<T> = Result<T, KmsError>;

/// A key management service speaking KMS OpenAPI 2016-01-20. Every private- or public-key
/// operation names a KeyVersionId: there is no primary version. Every `key_id` parameter
/// takes a KeyId, an `alias/...` or an ARN.
pub trait Kms {
    /// Creates a key and its first version.
    fn create_key(&self, request: &CreateKeyRequest) -> KmsResult<KeyMetadataResponse>;
    /// Creates a new key pair as a new version of an enabled key.
    fn create_key_version(&self, request: &KeyIdRequest) -> KmsResult<KeyVersionResponse>;
    /// A key's metadata, in any state.
    fn describe_key(&self, request: &KeyIdRequest) -> KmsResult<KeyMetadataResponse>;
    /// One version's metadata, in any state.
    fn describe_key_version(&self, request: &KeyVersionRequest) -> KmsResult<KeyVersionResponse>;
    /// A page of keys, oldest first.
    fn list_keys(&self, request: &PageRequest) -> KmsResult<ListKeysResponse>;
    /// A page of a key's versions, oldest first.
    fn list_key_versions(&self, request: &ListKeyVersionsRequest) -> KmsResult<ListKeyVersionsResponse>;
    /// Points a new alias at a key.
    fn create_alias(&self, request: &AliasRequest) -> KmsResult<EmptyResponse>;
    /// Points an existing alias at another key.
    fn update_alias(&self, request: &AliasRequest) -> KmsResult<EmptyResponse>;
    /// Removes an alias; the key is untouched.
    fn delete_alias(&self, request: &DeleteAliasRequest) -> KmsResult<EmptyResponse>;
    /// A page of aliases, by name.
    fn list_aliases(&self, request: &PageRequest) -> KmsResult<ListAliasesResponse>;
    /// Enables a disabled key.
    fn enable_key(&self, request: &KeyIdRequest) -> KmsResult<EmptyResponse>;
    /// Disables a key: no cryptographic use until enabled again.
    fn disable_key(&self, request: &KeyIdRequest) -> KmsResult<EmptyResponse>;
    /// Makes a key unusable and deletes it once the pending window has passed.
    fn schedule_key_deletion(&self, request: &ScheduleKeyDeletionRequest) -> KmsResult<EmptyResponse>;
    /// Stops a pending deletion; the key comes back enabled.
    fn cancel_key_deletion(&self, request: &KeyIdRequest) -> KmsResult<EmptyResponse>;
    /// The version's public key as SubjectPublicKeyInfo PEM.
    fn get_public_key(&self, request: &KeyVersionRequest) -> KmsResult<GetPublicKeyResponse>;
    /// Signs a SHA-256 digest with the version's private key.
    fn asymmetric_sign(&self, request: &SignRequest) -> KmsResult<SignResponse>;
    /// Checks a signature over a SHA-256 digest with the version's public key.
    fn asymmetric_verify(&self, request: &VerifyRequest) -> KmsResult<VerifyResponse>;
    /// Encrypts with the version's public key (RSA-OAEP).
    fn asymmetric_encrypt(&self, request: &EncryptRequest) -> KmsResult<EncryptResponse>;
    /// Decrypts with the version's private key (RSA-OAEP).
    fn asymmetric_decrypt(&self, request: &DecryptRequest) -> KmsResult<DecryptResponse>;
}

/// AsymmetricSign, then a check of the answer against the key version's public key: a KMS
/// (or a network in between) that answers wrongly is caught before its signature is used.
pub fn sign_checked(kms: &dyn Kms, request: &SignRequest, spec: KeySpec, public_spki: &[u8]) -> KmsResult<Vec<u8>> {
    let response = kms.asymmetric_sign(request)?;
    match crate::crypto::keys::verify_digest(spec, request.algorithm, public_spki, &request.digest, &response.value) {
        Ok(true) => Ok(response.value),
        _ => Err(KmsError::internal(format!(
            "the KMS returned a signature that does not verify with key version {}'s public key; nothing was done with it",
            request.key_version_id
        ))),
    }
}
