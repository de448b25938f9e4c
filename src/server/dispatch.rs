//! From an authenticated action and its parameters to a `Kms` call and back: parameters
//! are read as the OpenAPI names them (strings on the wire; base64 for bytes), and
//! responses serialize to the API's JSON,
//! straight into a zeroizing buffer (for AsymmetricDecrypt it holds the plaintext).

use crate::kms::api::*;
use crate::kms::error::KmsError;
use crate::kms::{Action, Kms, KmsResult, ProtectionLevel};
use base64::Engine;
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use zeroize::Zeroizing;

/// Request parameters.
pub type Params = BTreeMap<String, String>;

fn required<'a>(params: &'a Params, name: &str) -> KmsResult<&'a str> {
    params.get(name).map(String::as_str).filter(|v| !v.is_empty()).ok_or_else(|| KmsError::missing(name))
}

fn parsed<T: FromStr<Err = String>>(params: &Params, name: &str) -> KmsResult<T> {
    required(params, name)?.parse().map_err(|e: String| KmsError::invalid(name, e))
}

fn bytes(params: &Params, name: &str) -> KmsResult<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(required(params, name)?.trim())
        .map_err(|_| KmsError::invalid(name, "is not standard base64"))
}

fn to_number(name: &str, text: &str) -> KmsResult<u32> {
    text.trim().parse().map_err(|_| KmsError::invalid(name, format!("{text:?} is not a number")))
}

/// An optional number parameter, `default` when absent.
fn number(params: &Params, name: &str, default: u32) -> KmsResult<u32> {
    params.get(name).filter(|v| !v.is_empty()).map_or(Ok(default), |text| to_number(name, text))
}

/// A required number parameter.
fn parsed_number(params: &Params, name: &str) -> KmsResult<u32> {
    to_number(name, required(params, name)?)
}

fn page(params: &Params) -> KmsResult<PageRequest> {
    Ok(PageRequest { page_number: number(params, "PageNumber", 1)?, page_size: number(params, "PageSize", 10)? })
}

fn key_id(params: &Params) -> KmsResult<String> {
    required(params, "KeyId").map(str::to_string)
}

fn version(params: &Params) -> KmsResult<KeyVersionRequest> {
    Ok(KeyVersionRequest { key_id: key_id(params)?, key_version_id: required(params, "KeyVersionId")?.to_string() })
}

/// A response body: JSON bytes, wiped when dropped.
pub type Body = Zeroizing<Vec<u8>>;

fn cannot_encode(e: serde_json::Error) -> KmsError {
    KmsError::internal(format!("cannot encode the response: {e}"))
}

fn json<T: Serialize>(value: KmsResult<T>) -> KmsResult<Body> {
    serde_json::to_vec(&value?).map(Zeroizing::new).map_err(cannot_encode)
}

/// The AsymmetricDecrypt response body, byte for byte what serde writes for
/// [`DecryptResponse`], but with the plaintext's base64 encoded straight into one
/// zeroizing buffer sized up front: serde's path would leave copies in a base64 `String`
/// and in the buffer's earlier allocations as it grew, none of them wiped.
pub fn decrypt_body(response: &DecryptResponse) -> KmsResult<Body> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Ids<'a> {
        request_id: &'a str,
        key_id: &'a str,
        key_version_id: &'a str,
    }
    let ids =
        Ids { request_id: &response.request_id, key_id: &response.key_id, key_version_id: &response.key_version_id };
    let ids = serde_json::to_vec(&ids).map_err(cannot_encode)?;
    let head = &ids[..ids.len() - 1]; // without its closing brace
    let (field, tail) = (&b",\"Plaintext\":\""[..], &b"\"}"[..]);
    let encoded = base64::encoded_len(response.plaintext.len(), true)
        .ok_or_else(|| KmsError::internal("the plaintext is too large to encode"))?;
    let mut body = Zeroizing::new(Vec::with_capacity(head.len() + field.len() + encoded + tail.len()));
    let capacity = body.capacity();
    body.extend_from_slice(head);
    body.extend_from_slice(field);
    let start = body.len();
    body.resize(start + encoded, 0);
    base64::engine::general_purpose::STANDARD
        .encode_slice(&*response.plaintext, &mut body[start..])
        .map_err(|e| KmsError::internal(format!("cannot encode the plaintext: {e}")))?;
    body.extend_from_slice(tail);
    debug_assert_eq!(body.capacity(), capacity, "the body never grew, so it left no copy behind");
    Ok(body)
}

/// Runs `action` on `kms`; the response body as JSON.
pub fn dispatch(kms: &dyn Kms, action: Action, params: &Params) -> KmsResult<Body> {
    match action {
        Action::CreateKey => json(kms.create_key(&CreateKeyRequest {
            key_spec: parsed(params, "KeySpec")?,
            key_usage: parsed(params, "KeyUsage")?,
            description: params.get("Description").cloned().unwrap_or_default(),
            protection_level: match params.get("ProtectionLevel") {
                Some(level) => level.parse().map_err(|e: String| KmsError::invalid("ProtectionLevel", e))?,
                None => ProtectionLevel::default(),
            },
        })),
        Action::CreateKeyVersion => json(kms.create_key_version(&KeyIdRequest { key_id: key_id(params)? })),
        Action::DescribeKey => json(kms.describe_key(&KeyIdRequest { key_id: key_id(params)? })),
        Action::DescribeKeyVersion => json(kms.describe_key_version(&version(params)?)),
        Action::ListKeys => json(kms.list_keys(&page(params)?)),
        Action::ListKeyVersions => {
            json(kms.list_key_versions(&ListKeyVersionsRequest { key_id: key_id(params)?, page: page(params)? }))
        }
        Action::CreateAlias | Action::UpdateAlias => {
            let request =
                AliasRequest { alias_name: required(params, "AliasName")?.to_string(), key_id: key_id(params)? };
            if action == Action::CreateAlias {
                json(kms.create_alias(&request))
            } else {
                json(kms.update_alias(&request))
            }
        }
        Action::DeleteAlias => {
            json(kms.delete_alias(&DeleteAliasRequest { alias_name: required(params, "AliasName")?.to_string() }))
        }
        Action::ListAliases => json(kms.list_aliases(&page(params)?)),
        Action::EnableKey => json(kms.enable_key(&KeyIdRequest { key_id: key_id(params)? })),
        Action::DisableKey => json(kms.disable_key(&KeyIdRequest { key_id: key_id(params)? })),
        Action::ScheduleKeyDeletion => json(kms.schedule_key_deletion(&ScheduleKeyDeletionRequest {
            key_id: key_id(params)?,
            pending_window_in_days: parsed_number(params, "PendingWindowInDays")?,
        })),
        Action::CancelKeyDeletion => json(kms.cancel_key_deletion(&KeyIdRequest { key_id: key_id(params)? })),
        Action::GetPublicKey => json(kms.get_public_key(&version(params)?)),
        Action::AsymmetricSign => {
            let v = version(params)?;
            json(kms.asymmetric_sign(&SignRequest {
                key_id: v.key_id,
                key_version_id: v.key_version_id,
                algorithm: parsed(params, "Algorithm")?,
                digest: bytes(params, "Digest")?,
            }))
        }
        Action::AsymmetricVerify => {
            let v = version(params)?;
            json(kms.asymmetric_verify(&VerifyRequest {
                key_id: v.key_id,
                key_version_id: v.key_version_id,
                algorithm: parsed(params, "Algorithm")?,
                digest: bytes(params, "Digest")?,
                value: bytes(params, "Value")?,
            }))
        }
        Action::AsymmetricEncrypt => {
            let v = version(params)?;
            json(kms.asymmetric_encrypt(&EncryptRequest {
                key_id: v.key_id,
                key_version_id: v.key_version_id,
                algorithm: parsed(params, "Algorithm")?,
                plaintext: Zeroizing::new(bytes(params, "Plaintext")?),
            }))
        }
        Action::AsymmetricDecrypt => {
            let v = version(params)?;
            decrypt_body(&kms.asymmetric_decrypt(&DecryptRequest {
                key_id: v.key_id,
                key_version_id: v.key_version_id,
                algorithm: parsed(params, "Algorithm")?,
                ciphertext_blob: bytes(params, "CiphertextBlob")?,
            })?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decrypted(plaintext: &[u8]) -> DecryptResponse {
        DecryptResponse {
            request_id: "5f0b6a2e-1c1d-4c4e-9f6a-2b8c1e0d7a61".into(),
            key_id: "key \"quoted\" \\ id".into(),
            key_version_id: "v1".into(),
            plaintext: Zeroizing::new(plaintext.to_vec()),
        }
    }

    #[test]
    fn the_decrypt_body_is_what_serde_would_write() {
        for length in [0, 1, 2, 3, 4, 190, 191, 256] {
            let response = decrypted(&vec![0xA5; length]);
            let body = decrypt_body(&response).unwrap();
            assert_eq!(*body, serde_json::to_vec(&response).unwrap(), "plaintext of {length} bytes");
            let back: DecryptResponse = serde_json::from_slice(&body).unwrap();
            assert_eq!(back, response);
        }
    }

    /// A buffer that grew would have left its earlier allocations, plaintext included,
    /// behind unwiped.
    #[test]
    fn the_decrypt_body_is_sized_up_front() {
        for length in [0, 1, 5, 214] {
            let body = decrypt_body(&decrypted(&vec![7; length])).unwrap();
            assert_eq!(body.len(), body.capacity(), "plaintext of {length} bytes");
        }
    }
}
