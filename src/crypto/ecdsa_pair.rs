//! ECDSA P-256 signatures between the DER the KMS returns (and the verifier takes) and
//! the bare (r, s) pair the SSH and OpenPGP formats carry as two integers.

/// The KMS's DER signature as big-endian r and s, 32 bytes each.
pub fn split_der(der: &[u8]) -> Result<([u8; 32], [u8; 32]), String> {
    let signature = p256::ecdsa::Signature::from_der(der)
        .map_err(|_| "the KMS returned an ECDSA signature that is not DER".to_string())?;
    let (r, s) = signature.split_bytes();
    Ok((r.into(), s.into()))
}

/// r and s (big-endian, at most 32 bytes each, leading zeros allowed) as DER; refused when
/// either is zero or not below the group order.
pub fn join_der(r: &[u8], s: &[u8]) -> Result<Vec<u8>, String> {
    let pad = |value: &[u8]| -> Result<[u8; 32], String> {
        let value = &value[value.iter().position(|&b| b != 0).unwrap_or(value.len())..];
        if value.len() > 32 {
            return Err("its ECDSA r or s is longer than 256 bits".into());
        }
        let mut padded = [0u8; 32];
        padded[32 - value.len()..].copy_from_slice(value);
        Ok(padded)
    };
    let signature = p256::ecdsa::Signature::from_scalars(pad(r)?, pad(s)?)
        .map_err(|_| "its ECDSA r or s is out of range".to_string())?;
    Ok(signature.to_der().as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_and_out_of_range_values_are_refused() {
        let pair = crate::crypto::keys::generate(crate::crypto::KeySpec::EcP256).unwrap();
        let der = crate::crypto::keys::sign_digest(
            crate::crypto::KeySpec::EcP256,
            crate::crypto::spec::Algorithm::EcdsaSha256,
            &pair.private_pkcs8,
            &[7; 32],
        )
        .unwrap();
        let (r, s) = split_der(&der).unwrap();
        assert_eq!(join_der(&r, &s).unwrap(), der);
        let mut short_r = vec![0u8; 3];
        short_r.extend_from_slice(&r);
        assert_eq!(join_der(&short_r, &s).unwrap(), der, "leading zeros are no matter");
        assert!(join_der(&[0], &s).is_err(), "zero");
        assert!(join_der(&[0xff; 32], &s).is_err(), "not below the order");
        assert!(join_der(&[1; 33], &s).is_err(), "too long");
        assert!(split_der(b"not der").is_err());
    }
}
