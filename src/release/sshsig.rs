//! SSH signatures (OpenSSH `PROTOCOL.sshsig`), so that `ssh-keygen -Y verify` checks what
//! keyseal signs, with the key as an `allowed_signers` line. The message is hashed with
//! SHA-512 into the to-be-signed blob, and the KMS signs the SHA-256 of that blob: that is
//! exactly what `ecdsa-sha2-nistp256` and `rsa-sha2-256` sign, so the signature is one
//! AsymmetricSign like every other keyseal signature. secp256k1 and RSA-PSS have no SSH
//! form and are refused. Signatures read back (by `keyseal verify`) are parsed with every
//! length checked against what is left, and nothing but the one form keyseal writes.

use crate::crypto::spec::{Algorithm, KeySpec};
use crate::release::fields::Reader;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::Decode;
use sha2::{Digest, Sha256};

/// What `sign --format ssh` appends to the manifest's (or, with `--detached`, a file's) name.
pub const SSHSIG_SUFFIX: &str = ".sshsig";
/// The namespace signatures are made in unless `--ssh-namespace` says otherwise:
/// `ssh-keygen -Y sign`'s for files.
pub const DEFAULT_NAMESPACE: &str = "file";
/// The longest namespace taken; OpenSSH's are short words (`file`, `git`, `email`).
const MAX_NAMESPACE: usize = 128;
const MAGIC: &[u8] = b"SSHSIG";
const VERSION: u32 = 1;
/// The message hash: OpenSSH's default, and the one keyseal writes and reads.
const HASH_ALGORITHM: &str = "sha512";
const BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
const END: &str = "-----END SSH SIGNATURE-----";
/// Base64 characters per armor line, as `ssh-keygen` writes them.
const LINE: usize = 70;

/// A KMS key version as SSH knows it: its key type, signature algorithm and public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKey {
    kind: Kind,
    /// The public key in SSH wire form (RFC 4253 §6.6, RFC 5656 §3.1).
    blob: Vec<u8>,
    /// The same key as SubjectPublicKeyInfo DER, to verify with.
    public_spki: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `ecdsa-sha2-nistp256`, signatures `mpint r ‖ mpint s` (RFC 5656 §3.1.2).
    EcdsaP256,
    /// `ssh-rsa` keys signing `rsa-sha2-256`, PKCS#1 v1.5 (RFC 8332).
    RsaSha256,
}

impl Kind {
    fn key_type(self) -> &'static str {
        match self {
            Kind::EcdsaP256 => "ecdsa-sha2-nistp256",
            Kind::RsaSha256 => "ssh-rsa",
        }
    }

    fn signature_algorithm(self) -> &'static str {
        match self {
            Kind::EcdsaP256 => "ecdsa-sha2-nistp256",
            Kind::RsaSha256 => "rsa-sha2-256",
        }
    }
}

impl SshKey {
    /// The key version `public_spki` (of `spec`, signing with `algorithm`) as an SSH key,
    /// or why it has no SSH form.
    pub fn new(spec: KeySpec, algorithm: Algorithm, public_spki: &[u8]) -> Result<SshKey, String> {
        let kind = match (spec, algorithm) {
            (KeySpec::EcP256, Algorithm::EcdsaSha256) => Kind::EcdsaP256,
            (KeySpec::Rsa2048, Algorithm::RsaPkcs1Sha256) => Kind::RsaSha256,
            (KeySpec::Rsa2048, _) => {
                return Err(format!(
                    "SSH signs with RSA as rsa-sha2-256 (PKCS#1 v1.5): sign with RSA_PKCS1_SHA_256, not {algorithm}"
                ));
            }
            _ => {
                return Err(format!(
                    "SSH has no signature form for {spec} keys: use an EC_P256 (ecdsa-sha2-nistp256) or RSA_2048 (rsa-sha2-256) key"
                ));
            }
        };
        let blob = match kind {
            Kind::EcdsaP256 => ecdsa_blob(public_spki)?,
            Kind::RsaSha256 => rsa_blob(public_spki)?,
        };
        Ok(SshKey { kind, blob, public_spki: public_spki.to_vec() })
    }

    /// The OpenSSH public key line: `ecdsa-sha2-nistp256 AAAA...`.
    pub fn public_key_line(&self) -> String {
        format!("{} {}", self.kind.key_type(), STANDARD.encode(&self.blob))
    }

    /// The SHA-256 the KMS signs for a signature of a message whose SHA-512 is
    /// `message_sha512`, in `namespace`.
    pub fn digest_to_sign(namespace: &str, message_sha512: &[u8]) -> [u8; 32] {
        Sha256::digest(signed_data(namespace, message_sha512)).into()
    }

    /// The armored signature (`-----BEGIN SSH SIGNATURE-----`) around the KMS's signature
    /// over [`SshKey::digest_to_sign`] (DER for ECDSA, as AsymmetricSign returns it).
    pub fn armor(&self, namespace: &str, kms_signature: &[u8]) -> Result<String, String> {
        let signature = match self.kind {
            Kind::EcdsaP256 => {
                let (r, s) = crate::crypto::ecdsa_pair::split_der(kms_signature)?;
                let mut pair = Vec::new();
                put_mpint(&mut pair, &r);
                put_mpint(&mut pair, &s);
                pair
            }
            Kind::RsaSha256 => kms_signature.to_vec(),
        };
        let mut inner = Vec::new();
        put_string(&mut inner, self.kind.signature_algorithm().as_bytes());
        put_string(&mut inner, &signature);
        let mut blob = MAGIC.to_vec();
        blob.extend_from_slice(&VERSION.to_be_bytes());
        put_string(&mut blob, &self.blob);
        put_string(&mut blob, namespace.as_bytes());
        put_string(&mut blob, b"");
        put_string(&mut blob, HASH_ALGORITHM.as_bytes());
        put_string(&mut blob, &inner);
        let base64 = STANDARD.encode(&blob);
        let lines: Vec<&str> =
            base64.as_bytes().chunks(LINE).map(|line| std::str::from_utf8(line).unwrap_or_default()).collect();
        Ok(format!("{BEGIN}\n{}\n{END}\n", lines.join("\n")))
    }

    /// Checks an armored signature: by this key, in `namespace`, with SHA-512, over the
    /// message whose SHA-512 is `message_sha512`. `Err` says what is wrong, in words that
    /// quote nothing from the signature but its namespace, escaped.
    pub fn verify(&self, armored: &[u8], namespace: &str, message_sha512: &[u8]) -> Result<(), String> {
        let blob = dearmor(armored)?;
        let mut reader = Reader::new(&blob);
        if reader.take(MAGIC.len())? != MAGIC {
            return Err("it does not start with SSHSIG".into());
        }
        let version = reader.u32()?;
        if version != VERSION {
            return Err(format!("it is SSHSIG version {version}; version 1 is the only one"));
        }
        if reader.string()? != self.blob.as_slice() {
            return Err("it was made by another key than the signer's".into());
        }
        let signed_namespace = reader.string()?;
        if signed_namespace != namespace.as_bytes() {
            // Shown escaped, and at most a namespace's length of it.
            let signed = String::from_utf8_lossy(&signed_namespace[..signed_namespace.len().min(MAX_NAMESPACE)]);
            let shown = crate::quote::escape_text(&signed);
            return Err(format!("it was made in namespace \"{shown}\", not \"{namespace}\""));
        }
        reader.string()?; // reserved
        let hash = reader.string()?;
        if hash != HASH_ALGORITHM.as_bytes() {
            return Err("its message hash is not sha512, the one keyseal checks".into());
        }
        let mut signature = Reader::new(reader.string()?);
        reader.finish()?;
        if signature.string()? != self.kind.signature_algorithm().as_bytes() {
            return Err(format!("its signature is not {}, the signer key's", self.kind.signature_algorithm()));
        }
        let value = signature.string()?;
        signature.finish()?;
        let (spec, algorithm, value) = match self.kind {
            Kind::EcdsaP256 => (KeySpec::EcP256, Algorithm::EcdsaSha256, ecdsa_der(value)?),
            Kind::RsaSha256 => (KeySpec::Rsa2048, Algorithm::RsaPkcs1Sha256, value.to_vec()),
        };
        let digest = SshKey::digest_to_sign(namespace, message_sha512);
        match crate::crypto::keys::verify_digest(spec, algorithm, &self.public_spki, &digest, &value) {
            Ok(true) => Ok(()),
            Ok(false) => Err("it does not verify with the signer's key".into()),
            Err(e) => Err(format!("it cannot be checked: {e}")),
        }
    }
}

/// `ecdsa-sha2-nistp256` key: type, curve name, uncompressed point.
fn ecdsa_blob(public_spki: &[u8]) -> Result<Vec<u8>, String> {
    use p256::elliptic_curve::sec1::ToSec1Point;
    let public = <p256::PublicKey as spki::DecodePublicKey>::from_public_key_der(public_spki)
        .map_err(|_| "the key version's public key is not a P-256 key".to_string())?;
    let mut blob = Vec::new();
    put_string(&mut blob, Kind::EcdsaP256.key_type().as_bytes());
    put_string(&mut blob, b"nistp256");
    put_string(&mut blob, public.to_sec1_point(false).as_bytes());
    Ok(blob)
}

/// `ssh-rsa` key: type, public exponent, modulus (RFC 4253 §6.6).
fn rsa_blob(public_spki: &[u8]) -> Result<Vec<u8>, String> {
    let not_rsa = || "the key version's public key is not an RSA key".to_string();
    let spki = spki::SubjectPublicKeyInfoRef::from_der(public_spki).map_err(|_| not_rsa())?;
    let bits = spki.subject_public_key.as_bytes().ok_or_else(not_rsa)?;
    let key = rsa::pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(bits).map_err(|_| not_rsa())?;
    let mut blob = Vec::new();
    put_string(&mut blob, Kind::RsaSha256.key_type().as_bytes());
    put_mpint(&mut blob, key.public_exponent.as_bytes());
    put_mpint(&mut blob, key.modulus.as_bytes());
    Ok(blob)
}

/// `"SSHSIG" ‖ string(namespace) ‖ string("") ‖ string("sha512") ‖ string(H(message))`.
fn signed_data(namespace: &str, message_sha512: &[u8]) -> Vec<u8> {
    let mut data = MAGIC.to_vec();
    put_string(&mut data, namespace.as_bytes());
    put_string(&mut data, b"");
    put_string(&mut data, HASH_ALGORITHM.as_bytes());
    put_string(&mut data, message_sha512);
    data
}

/// A namespace keyseal signs in: a short word of letters, digits and `@._-`, as OpenSSH's
/// are; anything else (a space, a quote, a control character) would be ambiguous on an
/// `allowed_signers` line.
pub fn check_namespace(namespace: &str) -> Result<(), String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || "@._-".contains(c);
    if namespace.is_empty() || namespace.len() > MAX_NAMESPACE || !namespace.chars().all(fine) {
        return Err(format!(
            "an SSH signature namespace is 1 to {MAX_NAMESPACE} letters, digits and @._- (e.g. file, the default)"
        ));
    }
    Ok(())
}

/// RFC 4251 §5 string: uint32 length, bytes.
fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// RFC 4251 §5 mpint of a non-negative big-endian integer: no leading zero bytes, and one
/// zero byte in front when the high bit is set.
fn put_mpint(out: &mut Vec<u8>, magnitude: &[u8]) {
    let first = magnitude.iter().position(|&b| b != 0).unwrap_or(magnitude.len());
    let magnitude = &magnitude[first..];
    let mut bytes = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_some_and(|&b| b & 0x80 != 0) {
        bytes.push(0);
    }
    bytes.extend_from_slice(magnitude);
    put_string(out, &bytes);
}

/// An SSH `mpint r ‖ mpint s` as the DER ECDSA signature the verifier takes; each must be a
/// minimal, positive integer of at most 256 bits.
fn ecdsa_der(value: &[u8]) -> Result<Vec<u8>, String> {
    let mut pair = Reader::new(value);
    let r = scalar(pair.string()?)?;
    let s = scalar(pair.string()?)?;
    pair.finish()?;
    crate::crypto::ecdsa_pair::join_der(r, s)
}

/// A positive minimal mpint of at most 32 bytes, without its sign byte.
fn scalar(mpint: &[u8]) -> Result<&[u8], String> {
    let bad = || "its ECDSA r or s is not a positive 256-bit mpint".to_string();
    let magnitude = match mpint {
        [0, rest @ ..] if rest.first().is_some_and(|&b| b & 0x80 != 0) => rest,
        [first, ..] if first & 0x80 == 0 && *first != 0 => mpint,
        _ => return Err(bad()),
    };
    if magnitude.len() > 32 {
        return Err(bad());
    }
    Ok(magnitude)
}

/// The bytes inside the armor: the BEGIN line, base64 lines, the END line, and only
/// whitespace around them.
fn dearmor(armored: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(armored).map_err(|_| "it is not text (an armored SSH signature)".to_string())?;
    let body = text
        .trim()
        .strip_prefix(BEGIN)
        .and_then(|rest| rest.strip_suffix(END))
        .ok_or_else(|| format!("it is not an armored SSH signature ({BEGIN} ... {END})"))?;
    let base64: String = body.split_ascii_whitespace().collect();
    STANDARD.decode(base64).map_err(|_| "its armor holds invalid base64".to_string())
}

/// RFC 4251 §5 fields.
trait SshFields<'a> {
    /// A string: uint32 length, bytes.
    fn string(&mut self) -> Result<&'a [u8], String>;
}

impl<'a> SshFields<'a> for Reader<'a> {
    fn string(&mut self) -> Result<&'a [u8], String> {
        let len = self.u32()? as usize;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys;
    use sha2::Sha512;

    fn key(spec: KeySpec) -> (keys::KeyPair, SshKey) {
        let pair = keys::generate(spec).unwrap();
        let ssh = SshKey::new(spec, spec.default_signing_algorithm(), &pair.public_spki).unwrap();
        (pair, ssh)
    }

    fn signed(pair: &keys::KeyPair, ssh: &SshKey, spec: KeySpec, namespace: &str, message: &[u8]) -> String {
        let digest = SshKey::digest_to_sign(namespace, &Sha512::digest(message));
        let signature =
            keys::sign_digest(spec, spec.default_signing_algorithm(), &pair.private_pkcs8, &digest).unwrap();
        ssh.armor(namespace, &signature).unwrap()
    }

    #[test]
    fn signatures_verify_and_refuse_what_they_do_not_sign() {
        for spec in [KeySpec::EcP256, KeySpec::Rsa2048] {
            let (pair, ssh) = key(spec);
            let armored = signed(&pair, &ssh, spec, "file", b"release");
            assert!(armored.starts_with("-----BEGIN SSH SIGNATURE-----\n"));
            assert!(armored.lines().all(|line| line.len() <= LINE || line.starts_with("-----")));
            let sha = Sha512::digest(b"release");
            assert_eq!(ssh.verify(armored.as_bytes(), "file", &sha), Ok(()));
            let other = Sha512::digest(b"other");
            assert_eq!(
                ssh.verify(armored.as_bytes(), "file", &other).unwrap_err(),
                "it does not verify with the signer's key"
            );
            assert!(
                ssh.verify(armored.as_bytes(), "git", &sha).unwrap_err().contains("namespace \"file\", not \"git\"")
            );
            let (_, stranger) = key(spec);
            assert_eq!(
                stranger.verify(armored.as_bytes(), "file", &sha).unwrap_err(),
                "it was made by another key than the signer's"
            );
        }
    }

    #[test]
    fn keys_without_an_ssh_form_are_refused() {
        let k1 = keys::generate(KeySpec::EcP256k).unwrap();
        assert!(
            SshKey::new(KeySpec::EcP256k, Algorithm::EcdsaSha256, &k1.public_spki)
                .unwrap_err()
                .contains("no signature form for EC_P256K")
        );
        let rsa = keys::generate(KeySpec::Rsa2048).unwrap();
        assert!(
            SshKey::new(KeySpec::Rsa2048, Algorithm::RsaPssSha256, &rsa.public_spki)
                .unwrap_err()
                .contains("RSA_PKCS1_SHA_256")
        );
    }

    #[test]
    fn mpints_are_minimal_and_positive() {
        let mut out = Vec::new();
        put_mpint(&mut out, &[0, 0, 0x7f, 1]);
        put_mpint(&mut out, &[0x80]);
        put_mpint(&mut out, &[0, 0]);
        assert_eq!(out, [0, 0, 0, 2, 0x7f, 1, 0, 0, 0, 2, 0, 0x80, 0, 0, 0, 0]);
        assert_eq!(scalar(&[0x01]).unwrap(), [1]);
        assert_eq!(scalar(&[0, 0x80]).unwrap(), [0x80]);
        assert!(scalar(&[0x80]).is_err(), "negative");
        assert!(scalar(&[0, 0x01]).is_err(), "not minimal");
        assert!(scalar(&[]).is_err(), "zero");
        assert!(scalar(&[1; 33]).is_err(), "too long");
        assert!(scalar(&[0; 1]).is_err());
    }

    #[test]
    fn damaged_signatures_are_refused_without_panicking() {
        let (pair, ssh) = key(KeySpec::EcP256);
        let armored = signed(&pair, &ssh, KeySpec::EcP256, "file", b"m");
        let blob = dearmor(armored.as_bytes()).unwrap();
        let sha = Sha512::digest(b"m");
        let rearmor = |blob: &[u8]| format!("{BEGIN}\n{}\n{END}\n", STANDARD.encode(blob));
        for cut in 0..blob.len() {
            assert!(ssh.verify(rearmor(&blob[..cut]).as_bytes(), "file", &sha).is_err(), "truncated at {cut}");
        }
        let mut longer = blob.clone();
        longer.push(0);
        assert_eq!(
            ssh.verify(rearmor(&longer).as_bytes(), "file", &sha).unwrap_err(),
            "it has bytes after its last field"
        );
        let mut v2 = blob.clone();
        v2[9] = 2;
        assert!(ssh.verify(rearmor(&v2).as_bytes(), "file", &sha).unwrap_err().contains("version 2"));
        assert!(ssh.verify(b"not armored", "file", &sha).is_err());
        assert!(ssh.verify(&[0xff, 0xfe], "file", &sha).is_err());
    }

    #[test]
    fn namespaces_are_short_words() {
        assert!(check_namespace("file").is_ok());
        assert!(check_namespace("release@example.com").is_ok());
        assert!(check_namespace(&"n".repeat(128)).is_ok(), "128 is the longest");
        for bad in ["", "a b", "x\"y", "\u{1b}[31m", &"n".repeat(129)] {
            assert!(check_namespace(bad).is_err(), "{bad:?}");
        }
    }
}
