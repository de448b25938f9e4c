//! A KMS key version resolved for signing, once, the same way for everything keyseal signs
//! with a KMS key (releases, certificates, CRLs, CSRs, time stamps): its usage and the
//! algorithm checked against its spec before anything is asked of it, and its public key
//! fetched so that every signature can be checked before it is used (`sign_checked`).
//! A key that cannot sign is refused here with the code the KMS itself gives AsymmetricSign
//! on such a key, `Rejected.UnsupportedOperation`, whichever command asked.

use crate::crypto::keys;
use crate::crypto::spec::{Algorithm, KeySpec, KeyUsage};
use crate::kms::api::{KeyIdRequest, KeyMetadata, KeyVersionRequest, SignRequest};
use crate::kms::{ErrorCode, Kms, KmsError, KmsResult, sign_checked};

/// A key version that signs, with what is needed to sign and to check what it signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The key as the caller named it (a KeyId, alias or ARN), and as every request names
    /// it: a policy that allows signing through an alias then applies.
    pub name: String,
    /// The KeyId it resolved to, for records (a CA's, a bundle's), which must not follow
    /// an alias that is later repointed.
    pub key_id: String,
    /// The version that signs.
    pub key_version_id: String,
    /// The key's spec.
    pub spec: KeySpec,
    /// The algorithm it signs with: the one asked for, else the spec's default.
    pub algorithm: Algorithm,
    /// The version's public key, SubjectPublicKeyInfo DER.
    pub public_spki: Vec<u8>,
    /// The same, as the KMS gave it (PEM).
    pub public_pem: String,
}

impl SigningKey {
    /// Resolves `key_id` (a KeyId, alias or ARN) version `key_version_id` for signing with
    /// `algorithm` (default: the spec's, RSA_PKCS1_SHA_256 or ECDSA_SHA_256). Refused with
    /// `Rejected.UnsupportedOperation` when the key is not a SIGN/VERIFY key or the
    /// algorithm does not fit its spec; the KMS's own errors (no such key or version, a
    /// disabled key) pass through.
    pub fn resolve(
        kms: &dyn Kms,
        key_id: &str,
        key_version_id: &str,
        algorithm: Option<Algorithm>,
    ) -> KmsResult<SigningKey> {
        let meta = kms.describe_key(&KeyIdRequest { key_id: key_id.to_string() })?.key_metadata;
        if meta.key_usage != KeyUsage::SignVerify {
            return Err(KmsError::new(
                ErrorCode::UnsupportedOperation,
                format!("key {} is an {} key and cannot sign: use a SIGN/VERIFY key", meta.key_id, meta.key_usage),
            ));
        }
        let algorithm = algorithm.unwrap_or_else(|| meta.key_spec.default_signing_algorithm());
        if !meta.key_spec.algorithms(KeyUsage::SignVerify).contains(&algorithm) {
            return Err(KmsError::new(
                ErrorCode::UnsupportedOperation,
                format!("a {} key cannot sign with {algorithm}", meta.key_spec),
            ));
        }
        let (key_version_id, public_pem, public_spki) = fetch_public_key(kms, key_id, key_version_id)?;
        Ok(SigningKey {
            name: key_id.to_string(),
            key_id: meta.key_id,
            key_version_id,
            spec: meta.key_spec,
            algorithm,
            public_spki,
            public_pem,
        })
    }

    /// Signs a SHA-256 digest, and checks the signature against the public key before
    /// returning it.
    pub fn sign_digest(&self, kms: &dyn Kms, digest: &[u8]) -> KmsResult<Vec<u8>> {
        let request = SignRequest {
            key_id: self.name.clone(),
            key_version_id: self.key_version_id.clone(),
            algorithm: self.algorithm,
            digest: digest.to_vec(),
        };
        sign_checked(kms, &request, self.spec, &self.public_spki)
    }
}

/// The metadata and public key (SubjectPublicKeyInfo DER) of any key version, whatever
/// its usage: what the CA certifies for an end entity (an ENCRYPT/DECRYPT key may be
/// certified for email, say).
pub fn public_key_of(kms: &dyn Kms, key_id: &str, key_version_id: &str) -> KmsResult<(KeyMetadata, String, Vec<u8>)> {
    let meta = kms.describe_key(&KeyIdRequest { key_id: key_id.to_string() })?.key_metadata;
    let (key_version_id, _, public_spki) = fetch_public_key(kms, key_id, key_version_id)?;
    Ok((meta, key_version_id, public_spki))
}

/// A key version's public key (GetPublicKey alone): the version as the KMS names it, the
/// PEM it gave, and the SubjectPublicKeyInfo DER inside, refused when the PEM holds none.
pub fn fetch_public_key(kms: &dyn Kms, key_id: &str, key_version_id: &str) -> KmsResult<(String, String, Vec<u8>)> {
    let public = kms.get_public_key(&KeyVersionRequest {
        key_id: key_id.to_string(),
        key_version_id: key_version_id.to_string(),
    })?;
    let spki = keys::public_key_from_pem(&public.public_key)
        .ok_or_else(|| KmsError::internal("the KMS returned a public key that is not SubjectPublicKeyInfo PEM"))?;
    Ok((public.key_version_id, public.public_key, spki))
}
