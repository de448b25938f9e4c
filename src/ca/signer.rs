//! The CA's signing key is an ordinary KMS key version. `KmsSigner` implements the
//! RustCrypto `signature` traits that x509-cert's builder takes (`Keypair`, `Signer`,
//! `DynSignatureAlgorithmIdentifier`) by hashing the to-be-signed bytes with SHA-256 and
//! calling `AsymmetricSign`. It holds no private key bytes. The builder's error type drops
//! detail, so the last KMS error is kept here for the caller to report.

use crate::crypto::keys;
use crate::crypto::spec::Algorithm;
use crate::kms::{Kms, KmsError, SigningKey};
use der::asn1::BitString;
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding};
use std::sync::Mutex;

/// A KMS key version seen as a signer.
pub struct KmsSigner<'a> {
    kms: &'a dyn Kms,
    key: SigningKey,
    public_key: PublicKeyDer,
    last_error: Mutex<Option<KmsError>>,
}

/// A public key as SubjectPublicKeyInfo DER: the `Keypair::VerifyingKey` of a `KmsSigner`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyDer(pub Vec<u8>);

impl EncodePublicKey for PublicKeyDer {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        der::Document::try_from(self.0.as_slice()).map_err(Into::into)
    }
}

/// A signature as the KMS returned it (DER for ECDSA), ready to go into a BIT STRING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsSignature(pub Vec<u8>);

impl SignatureBitStringEncoding for KmsSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

impl<'a> KmsSigner<'a> {
    /// A signer for a resolved key version (`SigningKey::resolve`).
    pub fn new(kms: &'a dyn Kms, key: &SigningKey) -> KmsSigner<'a> {
        KmsSigner {
            kms,
            key: key.clone(),
            public_key: PublicKeyDer(key.public_spki.clone()),
            last_error: Mutex::new(None),
        }
    }

    /// The KMS error behind the last failed signature, if any.
    pub fn take_error(&self) -> Option<KmsError> {
        self.last_error.lock().ok().and_then(|mut e| e.take())
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm
    }

    /// The signer's public key, SubjectPublicKeyInfo DER.
    pub fn public_key(&self) -> &[u8] {
        &self.public_key.0
    }

    fn sign(&self, message: &[u8]) -> Result<KmsSignature, KmsError> {
        // Fail closed (the signature is checked inside): a wrong answer from the KMS never
        // becomes a certificate.
        self.key.sign_digest(self.kms, &Sha256::digest(message)).map(KmsSignature)
    }
}

impl signature::Keypair for KmsSigner<'_> {
    type VerifyingKey = PublicKeyDer;

    fn verifying_key(&self) -> PublicKeyDer {
        self.public_key.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for KmsSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        keys::signature_algorithm_identifier(self.key.algorithm).map_err(|_| spki::Error::AlgorithmParametersMissing)
    }
}

impl signature::Signer<KmsSignature> for KmsSigner<'_> {
    fn try_sign(&self, message: &[u8]) -> Result<KmsSignature, signature::Error> {
        self.sign(message).map_err(|err| {
            let wrapped = signature::Error::from_source(err.clone());
            if let Ok(mut slot) = self.last_error.lock() {
                *slot = Some(err);
            }
            wrapped
        })
    }
}
