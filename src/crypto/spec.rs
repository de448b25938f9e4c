//! The key vocabulary — KeySpec, KeyUsage, Algorithm — with the wire names of KMS
//! OpenAPI 2016-01-20, and the one table that says which algorithm fits which key. It is
//! below the KMS because the offline verifier, which has no KMS, speaks it too.

/// Declares a wire-named enum with `as_str`, `Display`, `FromStr`, `ALL` and serde impls,
/// so the wire spelling lives in exactly one place per value.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name, as the OpenAPI spells it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        format!("unknown {} {s:?}; expected one of: {}", stringify!($name), names.join(", "))
                    })
            }
        }
    };
}

pub(crate) use wire_enum;

wire_enum! {
    /// The kind of key pair a CMK holds; every version of a key has the same spec.
    KeySpec {
        /// RSA with a 2048-bit modulus and public exponent 65537.
        Rsa2048 => "RSA_2048",
        /// ECDSA on NIST P-256 (secp256r1).
        EcP256 => "EC_P256",
        /// ECDSA on SECG secp256k1.
        EcP256k => "EC_P256K",
    }
}

wire_enum! {
    /// What a CMK may be used for; fixed when the key is created.
    KeyUsage {
        /// AsymmetricSign / AsymmetricVerify.
        SignVerify => "SIGN/VERIFY",
        /// AsymmetricEncrypt / AsymmetricDecrypt (RSA only).
        EncryptDecrypt => "ENCRYPT/DECRYPT",
    }
}

wire_enum! {
    /// Signing and encryption algorithms, all over SHA-256 digests or RSA-OAEP.
    Algorithm {
        /// RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt.
        RsaPssSha256 => "RSA_PSS_SHA_256",
        /// RSASSA-PKCS1-v1_5 with SHA-256.
        RsaPkcs1Sha256 => "RSA_PKCS1_SHA_256",
        /// ECDSA with SHA-256; signatures are DER `SEQUENCE { r, s }`.
        EcdsaSha256 => "ECDSA_SHA_256",
        /// RSAES-OAEP with SHA-256 and MGF1-SHA-256, empty label.
        RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
        /// RSAES-OAEP with SHA-1 and MGF1-SHA-1, empty label.
        RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
    }
}

impl KeySpec {
    /// Whether a key of this spec may be created with `usage`: encryption is RSA only.
    pub fn allows_usage(self, usage: KeyUsage) -> bool {
        usage == KeyUsage::SignVerify || self == KeySpec::Rsa2048
    }

    /// The algorithm a signature is made with when none is asked for: the one every
    /// verifier handles without options (PKCS#1 v1.5 for RSA, ECDSA for EC keys).
    pub fn default_signing_algorithm(self) -> Algorithm {
        match self {
            KeySpec::Rsa2048 => Algorithm::RsaPkcs1Sha256,
            KeySpec::EcP256 | KeySpec::EcP256k => Algorithm::EcdsaSha256,
        }
    }

    /// The algorithms a key of this spec and usage accepts.
    pub fn algorithms(self, usage: KeyUsage) -> &'static [Algorithm] {
        use Algorithm::*;
        match (self, usage) {
            (KeySpec::Rsa2048, KeyUsage::SignVerify) => &[RsaPssSha256, RsaPkcs1Sha256],
            (KeySpec::Rsa2048, KeyUsage::EncryptDecrypt) => &[RsaesOaepSha256, RsaesOaepSha1],
            (_, KeyUsage::SignVerify) => &[EcdsaSha256],
            (_, KeyUsage::EncryptDecrypt) => &[],
        }
    }
}

impl Algorithm {
    /// The usage an algorithm belongs to.
    pub fn usage(self) -> KeyUsage {
        match self {
            Algorithm::RsaesOaepSha256 | Algorithm::RsaesOaepSha1 => KeyUsage::EncryptDecrypt,
            _ => KeyUsage::SignVerify,
        }
    }

    /// The largest plaintext RSA-2048 OAEP takes with this algorithm's hash
    /// (k - 2·hLen - 2), or `None` for signing algorithms.
    pub fn max_plaintext_len(self) -> Option<usize> {
        match self {
            Algorithm::RsaesOaepSha256 => Some(256 - 2 * 32 - 2),
            Algorithm::RsaesOaepSha1 => Some(256 - 2 * 20 - 2),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for spec in KeySpec::ALL {
            assert_eq!(spec.as_str().parse::<KeySpec>(), Ok(*spec));
        }
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(*alg));
            let json = serde_json::to_string(alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.as_str()));
        }
        assert!("rsa_2048".parse::<KeySpec>().is_err());
    }

    #[test]
    fn only_rsa_encrypts() {
        assert!(KeySpec::Rsa2048.allows_usage(KeyUsage::EncryptDecrypt));
        assert!(!KeySpec::EcP256.allows_usage(KeyUsage::EncryptDecrypt));
        assert!(!KeySpec::EcP256k.allows_usage(KeyUsage::EncryptDecrypt));
        assert_eq!(Algorithm::RsaesOaepSha256.max_plaintext_len(), Some(190));
        assert_eq!(Algorithm::RsaesOaepSha1.max_plaintext_len(), Some(214));
    }
}
