//! The lifecycle state of a CMK and where its private keys live, with their KMS OpenAPI
//! wire names. The key vocabulary the
//! KMS shares with the verifier (KeySpec, KeyUsage, Algorithm) is in `crypto::spec`.

use crate::crypto::spec::wire_enum;

wire_enum! {
    /// The lifecycle state of a CMK.
    KeyState {
        /// Usable for every operation its usage allows.
        Enabled => "Enabled",
        /// Kept, but refused for cryptographic use until enabled again.
        Disabled => "Disabled",
        /// Unusable, and deleted for good once its DeleteDate has passed.
        PendingDeletion => "PendingDeletion",
    }
}

wire_enum! {
    /// Where a CMK's private keys live (CreateKey's `ProtectionLevel`).
    ProtectionLevel {
        /// Sealed in the store with the store's key-encryption key.
        Software => "SOFTWARE",
        /// Made and used inside the store's PKCS#11 token (`keyseal hsm configure`).
        Hsm => "HSM",
    }
}

impl Default for ProtectionLevel {
    /// SOFTWARE, as CreateKey without the parameter means.
    fn default() -> Self {
        ProtectionLevel::Software
    }
}
