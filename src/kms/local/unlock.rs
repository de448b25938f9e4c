//! The key-encryption key: derived from the store's secret once per process, with the
//! salt and Argon2id parameters the store keeps, and checked against its check value;
//! set up by the first process that needs it in a store that has none yet.

use super::*;

const KDF_SALT: &str = "kdf_salt";
pub(super) const KDF_PARAMS: &str = "kdf_params";
const KEK_CHECK: &str = "kek_check";

impl LocalKms {
    /// The KEK, derived (and checked against the store) once per process.
    pub(crate) fn kek(&self) -> KmsResult<Arc<Kek>> {
        let mut cached = self.kek.lock().map_err(|_| KmsError::internal("the key lock is poisoned"))?;
        if let Some(kek) = cached.as_ref() {
            return Ok(kek.clone());
        }
        let kek = Arc::new(self.unlock_store()?);
        *cached = Some(kek.clone());
        Ok(kek)
    }

    /// Derives the KEK from the secret with the store's salt, or, for a store that has
    /// none yet, sets salt, parameters and check value (first writer wins).
    pub(super) fn unlock_store(&self) -> KmsResult<Kek> {
        if let Some(stored) = self.store.read(kdf_settings)? {
            let secret = self.secret.read(false)?;
            let kek = Kek::derive(&secret, &stored.salt, stored.params)?;
            kek.verify_check(&stored.check)?;
            return Ok(kek);
        }
        let secret = self.secret.read(true)?;
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| KmsError::internal(format!("the OS random generator failed: {e}")))?;
        let params = self.new_store_kdf;
        let kek = Kek::derive(&secret, &salt, params)?;
        let check = kek.make_check()?;
        let stored = self.store.write(|tx| {
            if let Some(settings) = kdf_settings(tx)? {
                return Ok(settings);
            }
            store::meta_set(tx, KDF_SALT, &salt)?;
            store::meta_set(tx, KDF_PARAMS, encode_params(params).as_bytes())?;
            store::meta_set(tx, KEK_CHECK, &check)?;
            Ok(KdfSettings { salt: salt.to_vec(), params, check: check.clone() })
        })?;
        if stored.salt == salt {
            return Ok(kek);
        }
        // Another process locked the store first; use its salt.
        let kek = Kek::derive(&secret, &stored.salt, stored.params)?;
        kek.verify_check(&stored.check)?;
        Ok(kek)
    }
}

pub(super) fn encode_params(params: KdfParams) -> String {
    format!("argon2id m={} t={} p={}", params.memory_kib, params.iterations, params.parallelism)
}

pub(super) fn decode_params(text: &str) -> Option<KdfParams> {
    let mut fields = text.strip_prefix("argon2id ")?.split(' ');
    let mut next = |name: &str| fields.next()?.strip_prefix(name)?.parse().ok();
    let params = KdfParams { memory_kib: next("m=")?, iterations: next("t=")?, parallelism: next("p=")? };
    fields.next().is_none().then_some(params)
}

/// How the store's KEK is derived and checked, as kept in `meta`.
struct KdfSettings {
    salt: Vec<u8>,
    params: KdfParams,
    check: Vec<u8>,
}

fn kdf_settings(tx: &dyn Tx) -> KmsResult<Option<KdfSettings>> {
    let (Some(salt), Some(params), Some(check)) =
        (store::meta_get(tx, KDF_SALT)?, store::meta_get(tx, KDF_PARAMS)?, store::meta_get(tx, KEK_CHECK)?)
    else {
        return Ok(None);
    };
    let altered = |why: String| {
        KmsError::new(
            ErrorCode::StoreUnavailable,
            format!("the store's key-derivation parameters {why}: the store was altered; restore it from a backup"),
        )
    };
    let text = String::from_utf8_lossy(&params);
    let params = decode_params(&text).ok_or_else(|| altered("are unreadable".into()))?;
    params.check_bounds().map_err(|why| altered(format!("are out of bounds ({why})")))?;
    Ok(Some(KdfSettings { salt, params, check }))
}
