//! HSM keys (ProtectionLevel HSM): the store's PKCS#11 token, found from the URI the store
//! keeps (`keyseal hsm configure`) or the one `KEYSEAL_PKCS11_URI` gives, opened on first
//! use and kept for the process; key versions made, used and destroyed in it; and its
//! failures as KMS error codes.
//!
//! A key's protection level is fixed at CreateKey, so every version of an HSM key is in the
//! token. Public-key operations (GetPublicKey, AsymmetricVerify, AsymmetricEncrypt) use the
//! public key the store keeps and never need the token. Disabling a key refuses its use
//! before the token is asked anything; a deletion that comes due destroys its objects.

use super::*;
use crate::crypto::pkcs11::{self, Pkcs11Uri, Token, TokenError, TokenKey};
use crate::kms::store::PrivateHalf;

/// The `meta` row holding the store's token URI.
pub const TOKEN_URI_META: &str = "hsm.uri";
/// What the audit entry of an operation on an HSM key says, beside its other fields.
pub const HSM_DETAIL: &str = "ProtectionLevel=HSM";

/// The store's token: where its URI comes from, and the token once opened.
#[derive(Default)]
pub struct TokenSlot {
    /// A URI that overrides the store's (`KEYSEAL_PKCS11_URI`).
    uri_override: Option<String>,
    open: Mutex<Option<Arc<Token>>>,
}

impl TokenSlot {
    /// A slot whose token is the one `uri` names, whatever the store says.
    pub fn with_uri(uri: Option<String>) -> TokenSlot {
        TokenSlot { uri_override: uri, open: Mutex::new(None) }
    }

    /// The token, opened now (logging in) if it is not open or went away.
    pub fn get(&self, conn: &dyn Tx) -> KmsResult<Arc<Token>> {
        let mut open = self.open.lock().map_err(|_| KmsError::internal("the token lock is poisoned"))?;
        if let Some(token) = open.as_ref().filter(|t| !t.is_broken()) {
            return Ok(token.clone());
        }
        let uri = self.uri(conn)?;
        let token = Token::open(&uri).map_err(token_error)?;
        *open = Some(token.clone());
        Ok(token)
    }

    /// The token's URI: the override, else the store's.
    fn uri(&self, conn: &dyn Tx) -> KmsResult<Pkcs11Uri> {
        let (text, from) = match &self.uri_override {
            Some(text) => (text.clone(), "KEYSEAL_PKCS11_URI"),
            None => {
                let stored = store::meta_get(conn, TOKEN_URI_META)?.ok_or_else(|| {
                    KmsError::new(
                        ErrorCode::HsmUnavailable,
                        "this store has no PKCS#11 token for HSM keys; configure one with `keyseal hsm configure --uri 'pkcs11:token=…?module-path=…&pin-source=file:…'`",
                    )
                })?;
                (String::from_utf8_lossy(&stored).into_owned(), "the store's token URI")
            }
        };
        Pkcs11Uri::parse(&text).map_err(|why| KmsError::new(ErrorCode::HsmUnavailable, format!("{from}: {why}")))
    }
}

/// A token failure as the KMS answers it.
pub fn token_error(err: TokenError) -> KmsError {
    match err {
        TokenError::Unavailable(why) => KmsError::new(ErrorCode::HsmUnavailable, why),
        TokenError::PinIncorrect(why) => KmsError::new(ErrorCode::HsmPinIncorrect, why),
        TokenError::Unsupported(why) => KmsError::new(ErrorCode::UnsupportedOperation, why),
        TokenError::DecryptionFailed => KmsError::invalid("CiphertextBlob", TokenError::DecryptionFailed),
    }
}

/// The CKA_ID of a version's objects: its UUID's 16 bytes.
fn object_id(key_version_id: &str) -> Vec<u8> {
    hex::decode(key_version_id.replace('-', "")).unwrap_or_else(|_| key_version_id.as_bytes().to_vec())
}

impl Ctx<'_> {
    /// Generates a key pair for a new version of HSM key `key` inside the token; the
    /// version's public key and where its private key is.
    pub(super) fn generate_in_token(
        &mut self,
        key: &KeyRow,
        key_version_id: &str,
    ) -> KmsResult<(Vec<u8>, PrivateHalf)> {
        let token = self.token.get(self.tx)?;
        let id = object_id(key_version_id);
        let label = format!("{}/{key_version_id}", key.key_id);
        let public = pkcs11::generate(&token, key.key_spec, key.key_usage, &id, &label).map_err(token_error)?;
        self.new_token_objects.push(id.clone());
        Ok((public, PrivateHalf::InToken(id)))
    }

    /// Destroys the token objects this operation made (it failed, and its transaction is
    /// rolled back). Best effort: the failure being reported is the operation's.
    pub(super) fn discard_new_token_objects(&mut self) {
        if self.new_token_objects.is_empty() {
            return;
        }
        let Ok(token) = self.token.get(self.tx) else { return };
        for id in self.new_token_objects.drain(..) {
            let _ = pkcs11::destroy(&token, &id);
        }
    }

    /// The token key of an HSM version.
    pub(super) fn token_key(&self, key: &KeyRow, version: &VersionRow, object_id: &[u8]) -> KmsResult<TokenKey> {
        let token = self.token.get(self.tx)?;
        Ok(TokenKey::new(token, object_id.to_vec(), key.key_spec, version.public_key.clone()))
    }
}

impl LocalKms {
    /// Destroys the token objects of `key_id`'s versions (a deletion that came due);
    /// how many objects there were. Nothing to do for a SOFTWARE key.
    pub(super) fn destroy_token_objects(&self, tx: &dyn Tx, key_id: &str) -> KmsResult<usize> {
        let ids = store::token_objects(tx, key_id)?;
        if ids.is_empty() {
            return Ok(0);
        }
        let token = self.token.get(tx)?;
        ids.iter().map(|id| pkcs11::destroy(&token, id).map_err(token_error)).sum()
    }

    /// Makes `uri` the store's token for HSM keys, after opening it and logging in with
    /// the PIN it names (so a wrong URI or PIN is refused here, not at the first
    /// signature); audited as `ConfigureHsm` with the URI, which holds no PIN. Returns the
    /// token's name.
    pub fn configure_token(&self, uri: &str) -> KmsResult<String> {
        let now = (self.clock)();
        let request_id = new_uuid()?;
        let mut entry = AuditEntry::new(now, &request_id, &self.principal, "ConfigureHsm");
        let opened = Pkcs11Uri::parse(uri)
            .map_err(|why| KmsError::invalid("--uri", why))
            .and_then(|parsed| Token::open(&parsed).map_err(token_error));
        let token = match opened {
            Ok(token) => token,
            Err(err) => return Err(self.audit_refusal(entry.refused(err.code.as_str()), err)),
        };
        entry.detail = Some(format!("token {} at {}", token.name(), crate::quote::escape_text(uri)));
        self.store.write(|tx| {
            store::meta_set(tx, TOKEN_URI_META, uri.as_bytes())?;
            audit::append(tx, &entry)
        })?;
        Ok(token.name().to_string())
    }

    /// The store's token URI, if it has one.
    pub fn token_uri(&self) -> KmsResult<Option<String>> {
        let stored = self.store.read(|tx| store::meta_get(tx, TOKEN_URI_META))?;
        Ok(stored.map(|uri| String::from_utf8_lossy(&uri).into_owned()))
    }

    /// Opens the store's token now (asking the PIN if need be), or asks the open one
    /// whether it is still there, so a missing token shows before the next request; returns
    /// its name.
    pub fn open_token(&self) -> KmsResult<String> {
        let token = self.store.read(|tx| self.token.get(tx))?;
        token.check().map_err(token_error)?;
        Ok(token.name().to_string())
    }

    /// The store's token, opened now, when the store has one (or `KEYSEAL_PKCS11_URI`
    /// names one); `None` for a store without HSM keys.
    pub fn configured_token(&self) -> KmsResult<Option<String>> {
        if self.token.uri_override.is_none() && self.token_uri()?.is_none() {
            return Ok(None);
        }
        self.open_token().map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_the_version_uuid() {
        assert_eq!(object_id("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0").len(), 16);
        assert_eq!(object_id("not-a-uuid"), b"not-a-uuid".to_vec());
    }
}
