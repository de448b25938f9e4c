//! Parsed signing keys kept in memory between calls. Unsealing (AES-GCM) and parsing
//! PKCS#8 cost more than a P-256 signature, so a KMS process that signs again and again
//! with one key version keeps its parsed key — never its PKCS#8 bytes — here.
//!
//! What stays the same: the key's state and the version are read from the store inside
//! every operation's transaction before the cache is consulted, so a disabled, pending or
//! deleted key is refused exactly as before, whichever process changed it. An entry is
//! used only for the very sealed bytes it was made from (another process restoring or
//! altering the store gets its own key parsed). The cache is bounded ([`CAPACITY`], the
//! least recently used entry goes first); an entry is dropped when its key is disabled,
//! scheduled for deletion or deleted; and every key type zeroizes its secret when the last
//! reference to it is dropped (`rsa::PrivateKey`, `ecdsa::SigningKey`: `ZeroizeOnDrop`;
//! aws-lc-rs keys: freed with `OPENSSL_cleanse`).

use crate::crypto::keys::SigningKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most key versions kept parsed at once.
pub const CAPACITY: usize = 64;

/// One parsed key and what it was made from.
struct Entry {
    /// The sealed private key it was parsed from, to tell a changed store apart.
    sealed: Vec<u8>,
    key: Arc<SigningKey>,
    /// When it was last used, in cache ticks.
    used: u64,
}

/// The cache, shared by every clone of a `LocalKms`.
#[derive(Default)]
pub struct KeyCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (KeyId, KeyVersionId) → entry.
    entries: HashMap<(String, String), Entry>,
    tick: u64,
}

impl KeyCache {
    /// The parsed key of a version whose sealed private key is `sealed`, from the cache or
    /// made by `parse` (and then kept). A poisoned lock only costs the caching.
    pub fn get_or_parse<E>(
        &self,
        key_id: &str,
        key_version_id: &str,
        sealed: &[u8],
        parse: impl FnOnce() -> Result<SigningKey, E>,
    ) -> Result<Arc<SigningKey>, E> {
        let id = (key_id.to_string(), key_version_id.to_string());
        if let Ok(mut inner) = self.inner.lock() {
            inner.tick += 1;
            let tick = inner.tick;
            if let Some(entry) = inner.entries.get_mut(&id).filter(|entry| entry.sealed == sealed) {
                entry.used = tick;
                return Ok(entry.key.clone());
            }
        }
        // Parsed outside the lock: an RSA key takes a while, and other keys need not wait.
        let key = Arc::new(parse()?);
        if let Ok(mut inner) = self.inner.lock() {
            inner.tick += 1;
            let used = inner.tick;
            inner.entries.insert(id, Entry { sealed: sealed.to_vec(), key: key.clone(), used });
            inner.evict_beyond(CAPACITY);
        }
        Ok(key)
    }

    /// Drops every version of `key_id` (disabled, scheduled for deletion, deleted).
    pub fn forget_key(&self, key_id: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.entries.retain(|(id, _), _| id != key_id);
        }
    }

    /// How many versions are kept.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.entries.len())
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    /// Drops the least recently used entries until at most `capacity` are left.
    fn evict_beyond(&mut self, capacity: usize) {
        while self.entries.len() > capacity {
            let Some(oldest) = self.entries.iter().min_by_key(|(_, entry)| entry.used).map(|(id, _)| id.clone()) else {
                return;
            };
            self.entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::generate;
    use crate::crypto::spec::KeySpec;
    use std::cell::Cell;

    fn parsed(pkcs8: &[u8], parses: &Cell<u32>) -> Result<SigningKey, crate::crypto::keys::KeyError> {
        parses.set(parses.get() + 1);
        SigningKey::parse(KeySpec::EcP256, pkcs8)
    }

    #[test]
    fn a_key_is_parsed_once_per_sealed_bytes() {
        let cache = KeyCache::default();
        let pair = generate(KeySpec::EcP256).unwrap();
        let parses = Cell::new(0);
        for _ in 0..3 {
            cache.get_or_parse("k", "v", b"sealed-1", || parsed(&pair.private_pkcs8, &parses)).unwrap();
        }
        assert_eq!(parses.get(), 1);
        // Other sealed bytes under the same ids (a restored store): parsed anew.
        cache.get_or_parse("k", "v", b"sealed-2", || parsed(&pair.private_pkcs8, &parses)).unwrap();
        assert_eq!((parses.get(), cache.len()), (2, 1));
        // A failed parse is not kept.
        let failed = cache.get_or_parse("k", "w", b"x", || SigningKey::parse(KeySpec::EcP256, b"junk"));
        assert!(failed.is_err());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_cache_is_bounded_and_forgets_a_key_on_request() {
        let cache = KeyCache::default();
        let pair = generate(KeySpec::EcP256).unwrap();
        let parses = Cell::new(0);
        for n in 0..CAPACITY + 10 {
            let version = n.to_string();
            cache.get_or_parse("k", &version, b"s", || parsed(&pair.private_pkcs8, &parses)).unwrap();
            // Version 0 stays in use, so it is never the least recently used.
            cache.get_or_parse("k", "0", b"s", || parsed(&pair.private_pkcs8, &parses)).unwrap();
        }
        assert_eq!(cache.len(), CAPACITY);
        let before = parses.get();
        cache.get_or_parse("k", "0", b"s", || parsed(&pair.private_pkcs8, &parses)).unwrap();
        assert_eq!(parses.get(), before, "the entry used most recently survived eviction");
        cache.get_or_parse("other", "v", b"s", || parsed(&pair.private_pkcs8, &parses)).unwrap();
        cache.forget_key("k");
        assert_eq!(cache.len(), 1);
    }
}
