//! The lifecycle state of a CMK, with its KMS OpenAPI wire names. The key vocabulary the
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
