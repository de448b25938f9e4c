//! Private keys at rest. A key-encryption key (KEK) is derived with Argon2id from a
//! passphrase or a key file; every private key is sealed with AES-256-GCM under it, with
//! associated data naming the KeyId and KeyVersionId, so a sealed key moved to another row
//! does not open. A sealed check value tells a wrong passphrase apart from a damaged key.
//! Secrets live in zeroizing buffers and never reach a log or a message.

use crate::kms::error::{ErrorCode, KmsError};
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Format byte of a sealed blob: version 1 is `0x01 || nonce(12) || ciphertext || tag(16)`.
const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Associated data of the check value sealed when the store first gets a KEK.
const CHECK_AAD: &[u8] = b"keyseal/kek-check/v1";
const CHECK_PLAINTEXT: &[u8] = b"keyseal key-encryption key check";
/// A passphrase shorter than this is refused when a store is first locked with it.
pub const MIN_NEW_PASSPHRASE_LEN: usize = 8;
/// A key file shorter than this (after trailing newlines) is refused.
pub const MIN_KEY_FILE_LEN: usize = 16;

/// Argon2id cost parameters, stored with the store so they can be raised later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// RFC 9106's second recommended option (64 MiB, 3 passes), on one lane.
    fn default() -> Self {
        KdfParams { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 }
    }
}

impl KdfParams {
    /// Memory keyseal accepts from a store, in KiB: from 8 MiB (below that Argon2id stops
    /// being memory-hard in any useful sense) to 256 MiB, four times the default.
    pub const MEMORY_KIB: std::ops::RangeInclusive<u32> = 8 * 1024..=256 * 1024;
    /// Passes keyseal accepts: 1 to 8 (the default is 3).
    pub const ITERATIONS: std::ops::RangeInclusive<u32> = 1..=8;
    /// Lanes keyseal accepts: 1 to 4 (the default is 1; 4 is RFC 9106's choice). The
    /// argon2 crate is built without its `parallel` feature and fills the lanes one after
    /// another, in the same memory, so lanes change neither the time nor the memory taken.
    pub const PARALLELISM: std::ops::RangeInclusive<u32> = 1..=4;

    /// Parameters written as `m=KIB,t=PASSES,p=LANES` (the form of `KEYSEAL_KDF`), any
    /// omitted field its default, checked against the bounds.
    pub fn parse(text: &str) -> Result<KdfParams, String> {
        let mut params = KdfParams::default();
        for field in text.split(',').map(str::trim) {
            let (name, value) = field.split_once('=').ok_or_else(|| format!("{field:?} is not NAME=VALUE"))?;
            let value: u32 = value.parse().map_err(|_| format!("{name}={value:?} is not a whole number"))?;
            match name {
                "m" => params.memory_kib = value,
                "t" => params.iterations = value,
                "p" => params.parallelism = value,
                other => return Err(format!("{other:?} is not one of m (memory in KiB), t (passes), p (lanes)")),
            }
        }
        params.check_bounds()?;
        Ok(params)
    }

    /// Whether these parameters are within the bounds above, checked before any key
    /// derivation. They are read from the store, which anyone with write access to it can
    /// edit, and every unlock (each `keyseal` command that signs, each server start) pays
    /// for them. keyseal writes [`KdfParams::default`] (64 MiB, 3 passes: about 0.4 s and
    /// 70 MB RSS on a 2-core CI machine) unless `KEYSEAL_KDF` asks for other parameters
    /// within these bounds when the store is made; the bounds leave room to raise that, while keeping the worst an edited store can cost within a few seconds and
    /// 256 MiB more memory (256 MiB × 8 passes measured 3 s and 267 MB RSS there). The
    /// bounds accepted before (2 GiB, 16 passes) let an edited store make every unlock run
    /// past 60 s with 2.1 GB RSS.
    pub fn check_bounds(&self) -> Result<(), String> {
        let within = |name: &str, value: u32, range: &std::ops::RangeInclusive<u32>, unit: &str| {
            if range.contains(&value) {
                Ok(())
            } else {
                Err(format!("{name}={value}{unit} is outside {}..={}{unit}", range.start(), range.end()))
            }
        };
        within("m", self.memory_kib, &Self::MEMORY_KIB, " KiB")?;
        within("t", self.iterations, &Self::ITERATIONS, "")?;
        within("p", self.parallelism, &Self::PARALLELISM, "")
    }
}

/// Where the secret that unlocks the store comes from.
#[derive(Clone)]
pub enum SecretSource {
    /// A passphrase given in the environment (`KEYSEAL_PASSPHRASE`).
    Passphrase(Zeroizing<String>),
    /// A file whose bytes (trailing newlines removed) are the secret.
    KeyFile(PathBuf),
    /// Ask on the terminal.
    Prompt,
    /// Nothing available: private-key operations fail with a hint.
    Unavailable,
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Passphrase(_) => f.write_str("Passphrase(<redacted>)"),
            SecretSource::KeyFile(path) => write!(f, "KeyFile({})", path.display()),
            SecretSource::Prompt => f.write_str("Prompt"),
            SecretSource::Unavailable => f.write_str("Unavailable"),
        }
    }
}

impl SecretSource {
    /// Reads the secret. `new_store` asks twice at a prompt and enforces a minimum length,
    /// because the secret is about to lock a store for good.
    pub fn read(&self, new_store: bool) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let secret = match self {
            SecretSource::Passphrase(text) => Zeroizing::new(text.as_bytes().to_vec()),
            SecretSource::KeyFile(path) => read_key_file(path)?,
            SecretSource::Prompt => prompt(new_store)?,
            SecretSource::Unavailable => {
                return Err(KmsError::new(
                    ErrorCode::PassphraseRequired,
                    "this operation uses a private key and the store's passphrase is not available: \
                     set KEYSEAL_PASSPHRASE, pass --key-file FILE, or run on a terminal to be asked",
                ));
            }
        };
        if secret.is_empty() {
            return Err(KmsError::new(
                ErrorCode::PassphraseRequired,
                "the passphrase is empty; set a non-empty KEYSEAL_PASSPHRASE",
            ));
        }
        if new_store
            && matches!(self, SecretSource::Passphrase(_) | SecretSource::Prompt)
            && secret.len() < MIN_NEW_PASSPHRASE_LEN
        {
            return Err(KmsError::new(
                ErrorCode::PassphraseRequired,
                format!(
                    "the passphrase is shorter than {MIN_NEW_PASSPHRASE_LEN} characters; choose a longer one to lock a new store"
                ),
            ));
        }
        Ok(secret)
    }
}

fn read_key_file(path: &PathBuf) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let mut bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
        KmsError::new(ErrorCode::PassphraseRequired, format!("cannot read the key file {}: {e}", path.display()))
    })?);
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    if bytes.len() < MIN_KEY_FILE_LEN {
        return Err(KmsError::new(
            ErrorCode::PassphraseRequired,
            format!(
                "the key file {} holds {} bytes; use at least {MIN_KEY_FILE_LEN} random bytes, e.g. `openssl rand -base64 32 > FILE`",
                path.display(),
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

fn prompt(confirm: bool) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let ask = |label: &str| {
        rpassword::prompt_password(label).map(|s| Zeroizing::new(s.into_bytes())).map_err(|e| {
            KmsError::new(ErrorCode::PassphraseRequired, format!("cannot read the passphrase from the terminal: {e}"))
        })
    };
    if !confirm {
        return ask("keyseal store passphrase: ");
    }
    let first = ask("new keyseal store passphrase: ")?;
    let second = ask("repeat the passphrase: ")?;
    if first != second {
        return Err(KmsError::new(
            ErrorCode::PassphraseMismatch,
            "the two passphrases differ; nothing was changed, try again",
        ));
    }
    Ok(first)
}

/// The key-encryption key; zeroized on drop.
pub struct Kek(Zeroizing<[u8; 32]>);

impl Kek {
    /// Derives the KEK from `secret` with Argon2id.
    pub fn derive(secret: &[u8], salt: &[u8], params: KdfParams) -> Result<Kek, KmsError> {
        let argon_params = argon2::Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))
            .map_err(|e| KmsError::internal(format!("the store's Argon2id parameters are invalid: {e}")))?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon_params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(secret, salt, key.as_mut())
            .map_err(|e| KmsError::internal(format!("Argon2id failed: {e}")))?;
        Ok(Kek(key))
    }

    /// Seals `plaintext` bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KmsError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| KmsError::internal(format!("the OS random generator failed: {e}")))?;
        let mut buffer = plaintext.to_vec();
        self.cipher()
            .encrypt_in_place(&Nonce::from(nonce), aad, &mut buffer)
            .map_err(|_| KmsError::internal("AES-GCM sealing failed"))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + buffer.len());
        sealed.push(SEALED_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&buffer);
        Ok(sealed)
    }

    /// Opens a sealed blob; `None` when it was sealed under another KEK or other `aad`, or
    /// was altered.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != SEALED_V1 {
            return None;
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().ok()?;
        let mut buffer = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        self.cipher().decrypt_in_place(&Nonce::from(nonce), aad, &mut *buffer).ok()?;
        Some(buffer)
    }

    /// The check value to store beside the salt when a store first gets a KEK.
    pub fn make_check(&self) -> Result<Vec<u8>, KmsError> {
        self.seal(CHECK_PLAINTEXT, CHECK_AAD)
    }

    /// Refuses with `WrongPassphrase` unless this KEK opens the store's check value.
    pub fn verify_check(&self, check: &[u8]) -> Result<(), KmsError> {
        match self.open(check, CHECK_AAD) {
            Some(plain) if plain.as_slice() == CHECK_PLAINTEXT => Ok(()),
            _ => Err(KmsError::new(
                ErrorCode::WrongPassphrase,
                "the passphrase (or key file) does not unlock this store; nothing was done. \
                 Check KEYSEAL_PASSPHRASE / --key-file, or --store if this is the wrong store",
            )),
        }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&(*self.0).into())
    }
}

/// The associated data that binds a sealed private key to its key version.
pub fn private_key_aad(key_id: &str, key_version_id: &str) -> Vec<u8> {
    format!("keyseal/private-key/v1\0{key_id}\0{key_version_id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> KdfParams {
        KdfParams { memory_kib: 64, iterations: 1, parallelism: 1 }
    }

    #[test]
    fn seal_open_and_bindings() {
        let kek = Kek::derive(b"correct horse", b"0123456789abcdef", fast()).unwrap();
        let aad = private_key_aad("k1", "v1");
        let sealed = kek.seal(b"secret", &aad).unwrap();
        assert_eq!(kek.open(&sealed, &aad).unwrap().as_slice(), b"secret");
        assert!(kek.open(&sealed, &private_key_aad("k1", "v2")).is_none());
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(kek.open(&flipped, &aad).is_none());
        let other = Kek::derive(b"wrong horse", b"0123456789abcdef", fast()).unwrap();
        assert!(other.open(&sealed, &aad).is_none());
    }

    #[test]
    fn check_value_tells_wrong_passphrase() {
        let kek = Kek::derive(b"correct horse", b"0123456789abcdef", fast()).unwrap();
        let check = kek.make_check().unwrap();
        assert!(kek.verify_check(&check).is_ok());
        let other = Kek::derive(b"wrong horse", b"0123456789abcdef", fast()).unwrap();
        assert_eq!(other.verify_check(&check).unwrap_err().code, ErrorCode::WrongPassphrase);
    }

    #[test]
    fn debug_never_shows_the_passphrase() {
        let source = SecretSource::Passphrase(Zeroizing::new("hunter22".into()));
        assert!(!format!("{source:?}").contains("hunter22"));
    }

    #[test]
    fn new_store_needs_a_real_passphrase() {
        let short = SecretSource::Passphrase(Zeroizing::new("abc".into()));
        assert!(short.read(false).is_ok());
        assert_eq!(short.read(true).unwrap_err().code, ErrorCode::PassphraseRequired);
        assert_eq!(SecretSource::Unavailable.read(false).unwrap_err().code, ErrorCode::PassphraseRequired);
    }
}
