//! OpenPGP (RFC 4880, v4 keys and signatures), so that `gpgv` and Sequoia's `sqv` check
//! what keyseal signs: a certificate whose primary key is a KMS key version (created at the
//! version's creation time, so its fingerprint never changes), self-signed through the
//! KMS, and detached binary signatures. ECDSA on NIST P-256 (RFC 6637) and RSA PKCS#1 v1.5
//! only; SHA-256 throughout, so each signature is one AsymmetricSign of a SHA-256 digest.
//!
//! Written here rather than with an OpenPGP crate: keyseal emits three packet kinds and reads
//! back one (its own signature form), while `pgp` 0.21 would add 120 crates to the lock file,
//! among them a second generation of the RustCrypto stack keyseal already uses (p256 0.13,
//! rsa 0.9, sha2 0.10), and sequoia-openpgp more. GnuPG and Sequoia check every form in
//! the tests. Signatures read back are parsed with every length checked against what is
//! left, and only the form keyseal writes is accepted.

use crate::crypto::keys;
use crate::crypto::spec::{Algorithm, KeySpec};
use crate::release::fields::Reader;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::Decode;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// What `sign --format pgp` appends to the manifest's (or a file's) name.
pub const PGP_SUFFIX: &str = ".asc";
/// Public-key algorithm ids (RFC 4880 §9.1, RFC 6637 §5).
const RSA: u8 = 1;
const ECDSA: u8 = 19;
/// Hash algorithm id of SHA-256 (RFC 4880 §9.4).
const SHA256: u8 = 8;
/// Signature types (RFC 4880 §5.2.1).
const BINARY_DOCUMENT: u8 = 0x00;
const POSITIVE_CERTIFICATION: u8 = 0x13;
/// Packet tags (RFC 4880 §4.3).
const SIGNATURE_PACKET: u8 = 2;
const PUBLIC_KEY_PACKET: u8 = 6;
const USER_ID_PACKET: u8 = 13;
/// Signature subpacket types (RFC 4880 §5.2.3.1, RFC 9580 §5.2.3.35).
const CREATION_TIME: u8 = 2;
const ISSUER: u8 = 16;
const PREFERRED_HASH: u8 = 21;
const KEY_FLAGS: u8 = 27;
const ISSUER_FINGERPRINT: u8 = 33;
/// NIST P-256's OID, DER content bytes (RFC 6637 §11).
const P256_OID: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// The most bytes of subpackets a signature keyseal reads may have.
const MAX_SUBPACKETS: usize = 4096;

/// A KMS key version as an OpenPGP v4 primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgpKey {
    algorithm: u8,
    /// The public-key packet's body: version, creation time, algorithm, key material.
    body: Vec<u8>,
    spec: KeySpec,
    public_spki: Vec<u8>,
}

impl PgpKey {
    /// The key version `public_spki` (of `spec`, signing with `algorithm`) as an OpenPGP
    /// key created at `created` (Unix seconds), or why it has none.
    pub fn new(spec: KeySpec, algorithm: Algorithm, public_spki: &[u8], created: i64) -> Result<PgpKey, String> {
        let created = u32::try_from(created).map_err(|_| "its creation time does not fit OpenPGP's".to_string())?;
        let (algorithm_id, material) = match (spec, algorithm) {
            (KeySpec::EcP256, Algorithm::EcdsaSha256) => (ECDSA, ecdsa_material(public_spki)?),
            (KeySpec::Rsa2048, Algorithm::RsaPkcs1Sha256) => (RSA, rsa_material(public_spki)?),
            (KeySpec::Rsa2048, _) => {
                return Err(format!(
                    "OpenPGP signs with RSA as PKCS#1 v1.5: sign with RSA_PKCS1_SHA_256, not {algorithm}"
                ));
            }
            _ => {
                return Err(format!(
                    "OpenPGP has no key form for {spec} keys here: use an EC_P256 (ECDSA P-256) or RSA_2048 key"
                ));
            }
        };
        let mut body = vec![4];
        body.extend_from_slice(&created.to_be_bytes());
        body.push(algorithm_id);
        body.extend_from_slice(&material);
        Ok(PgpKey { algorithm: algorithm_id, body, spec, public_spki: public_spki.to_vec() })
    }

    /// The v4 fingerprint: SHA-1 of 0x99, the body's length and the body (RFC 4880 §12.2).
    pub fn fingerprint(&self) -> [u8; 20] {
        let mut hash = Sha1::new();
        hash.update([0x99]);
        hash.update((self.body.len() as u16).to_be_bytes());
        hash.update(&self.body);
        hash.finalize().into()
    }

    /// The fingerprint as GnuPG prints it: 40 upper-case hex digits.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode_upper(self.fingerprint())
    }

    /// The hashed part of a binary-document signature made at `created` (version through
    /// hashed subpackets) and the trailer after it: a signature of a message is over
    /// SHA-256(message ‖ [`Trailer::bytes`]).
    pub fn document_trailer(&self, created: i64) -> Result<Trailer, String> {
        let created = u32::try_from(created).map_err(|_| "the signing time does not fit OpenPGP's".to_string())?;
        Ok(Trailer::new(BINARY_DOCUMENT, self.algorithm, &self.hashed_subpackets(created, &[])))
    }

    /// The signature packet, armored, over the digest `Trailer` was hashed into, from the
    /// KMS's signature of that digest.
    pub fn armored_signature(&self, trailer: &Trailer, digest: &[u8], kms_signature: &[u8]) -> Result<String, String> {
        Ok(armor("PGP SIGNATURE", &self.signature_packet(trailer, digest, kms_signature)?))
    }

    /// The digest a certificate's self-signature (positive certification of `user_id`,
    /// made at the key's own creation time) signs, with its trailer.
    pub fn certification(&self, user_id: &str) -> (Trailer, [u8; 32]) {
        let created = u32::from_be_bytes([self.body[1], self.body[2], self.body[3], self.body[4]]);
        // Certify and sign; SHA-256 preferred.
        let subpackets = self.hashed_subpackets(created, &[(KEY_FLAGS, vec![0x03]), (PREFERRED_HASH, vec![SHA256])]);
        let trailer = Trailer::new(POSITIVE_CERTIFICATION, self.algorithm, &subpackets);
        let mut hash = Sha256::new();
        hash.update([0x99]);
        hash.update((self.body.len() as u16).to_be_bytes());
        hash.update(&self.body);
        hash.update([0xB4]);
        hash.update((user_id.len() as u32).to_be_bytes());
        hash.update(user_id.as_bytes());
        hash.update(trailer.bytes());
        (trailer, hash.finalize().into())
    }

    /// The armored certificate: public key, user ID, and the self-signature made from the
    /// KMS's signature of [`PgpKey::certification`]'s digest.
    pub fn armored_certificate(
        &self,
        user_id: &str,
        trailer: &Trailer,
        digest: &[u8],
        kms_signature: &[u8],
    ) -> Result<String, String> {
        let mut packets = packet(PUBLIC_KEY_PACKET, &self.body);
        packets.extend(packet(USER_ID_PACKET, user_id.as_bytes()));
        packets.extend(self.signature_packet(trailer, digest, kms_signature)?);
        Ok(armor("PGP PUBLIC KEY BLOCK", &packets))
    }

    /// Creation time and issuer fingerprint, then `more`.
    fn hashed_subpackets(&self, created: u32, more: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut issuer = vec![4];
        issuer.extend_from_slice(&self.fingerprint());
        let mut out = subpacket(CREATION_TIME, &created.to_be_bytes());
        out.extend(subpacket(ISSUER_FINGERPRINT, &issuer));
        for (kind, data) in more {
            out.extend(subpacket(*kind, data));
        }
        out
    }

    /// A signature packet: the hashed part, the issuer's key ID unhashed, the digest's
    /// first two bytes, and the signature as MPIs (RSA: m^d; ECDSA: r, s).
    fn signature_packet(&self, trailer: &Trailer, digest: &[u8], kms_signature: &[u8]) -> Result<Vec<u8>, String> {
        let mut body = trailer.hashed.clone();
        let fingerprint = self.fingerprint();
        let unhashed = subpacket(ISSUER, &fingerprint[12..]);
        body.extend_from_slice(&(unhashed.len() as u16).to_be_bytes());
        body.extend_from_slice(&unhashed);
        body.extend_from_slice(&digest[..2]);
        match self.algorithm {
            ECDSA => {
                let (r, s) = crate::crypto::ecdsa_pair::split_der(kms_signature)?;
                body.extend(mpi(&r));
                body.extend(mpi(&s));
            }
            _ => body.extend(mpi(kms_signature)),
        }
        Ok(packet(SIGNATURE_PACKET, &body))
    }
}

/// A signature's hashed part (version, type, algorithms, hashed subpackets) and what
/// follows the signed data in the hash: that part, then 0x04 0xFF and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    hashed: Vec<u8>,
}

impl Trailer {
    fn new(signature_type: u8, algorithm: u8, subpackets: &[u8]) -> Trailer {
        let mut hashed = vec![4, signature_type, algorithm, SHA256];
        hashed.extend_from_slice(&(subpackets.len() as u16).to_be_bytes());
        hashed.extend_from_slice(subpackets);
        Trailer { hashed }
    }

    /// The bytes hashed after the signed data.
    pub fn bytes(&self) -> Vec<u8> {
        let mut bytes = self.hashed.clone();
        bytes.extend_from_slice(&[4, 0xFF]);
        bytes.extend_from_slice(&(self.hashed.len() as u32).to_be_bytes());
        bytes
    }
}

/// Checks an armored detached signature as keyseal makes it: one v4 binary-document
/// signature, SHA-256, by a key of `spec` whose SubjectPublicKeyInfo is `public_spki`
/// (a signature by another key fails to verify), over the message `hash_message` feeds
/// into the hasher. `Err` says what is wrong, quoting nothing from the signature.
pub fn verify(
    armored: &[u8],
    spec: KeySpec,
    public_spki: &[u8],
    hash_message: impl FnOnce(&mut Sha256) -> Result<(), String>,
) -> Result<(), String> {
    let packets = dearmor(armored, "PGP SIGNATURE")?;
    let mut reader = Reader::new(&packets);
    let (tag, body) = reader.packet()?;
    reader.finish()?;
    if tag != SIGNATURE_PACKET {
        return Err("it is not an OpenPGP signature packet".into());
    }
    let mut signature = Reader::new(body);
    let head = signature.take(4)?;
    let (version, kind, algorithm, hash) = (head[0], head[1], head[2], head[3]);
    if version != 4 || kind != BINARY_DOCUMENT {
        return Err("it is not a version 4 signature of a binary document".into());
    }
    let (expected, algorithm_name) = match spec {
        KeySpec::EcP256 => (ECDSA, Algorithm::EcdsaSha256),
        KeySpec::Rsa2048 => (RSA, Algorithm::RsaPkcs1Sha256),
        other => return Err(format!("a {other} key has no OpenPGP form here")),
    };
    if algorithm != expected || hash != SHA256 {
        return Err("it is not an ECDSA or RSA signature with SHA-256 by the signer's kind of key".into());
    }
    let hashed_len = usize::from(signature.u16()?);
    check_subpackets(signature.take(hashed_len)?, true)?;
    let unhashed_len = usize::from(signature.u16()?);
    check_subpackets(signature.take(unhashed_len)?, false)?;
    let left16 = signature.take(2)?;
    let value = match algorithm {
        ECDSA => crate::crypto::ecdsa_pair::join_der(signature.mpi()?, signature.mpi()?)?,
        _ => signature.mpi()?.to_vec(),
    };
    signature.finish()?;
    let trailer = Trailer { hashed: body[..4 + 2 + hashed_len].to_vec() };
    let mut hasher = Sha256::new();
    hash_message(&mut hasher)?;
    hasher.update(trailer.bytes());
    let digest = hasher.finalize();
    if left16 != &digest[..2] {
        return Err("it is over another message (its digest's first bytes differ)".into());
    }
    let value = match algorithm {
        // An RSA MPI drops leading zero bytes; the signature is the modulus's length.
        RSA => left_pad(&value, rsa_modulus_len(public_spki)?)?,
        _ => value,
    };
    match keys::verify_digest(spec, algorithm_name, public_spki, &digest, &value) {
        Ok(true) => Ok(()),
        Ok(false) => Err("it does not verify with the signer's key".into()),
        Err(e) => Err(format!("it cannot be checked: {e}")),
    }
}

/// Subpackets as RFC 4880 §5.2.3.1 lays them out, none critical but those keyseal knows
/// (a critical one a verifier does not know makes the signature invalid), and in the
/// `hashed` area a signature creation time (RFC 4880 §5.2.3.4: it MUST be there).
fn check_subpackets(mut area: &[u8], hashed: bool) -> Result<(), String> {
    if area.len() > MAX_SUBPACKETS {
        return Err("its subpackets are longer than keyseal reads".into());
    }
    let mut created = false;
    while !area.is_empty() {
        let mut reader = Reader::new(area);
        let len = reader.subpacket_length()?;
        let content = reader.take(len)?;
        let (&kind, data) = content.split_first().ok_or("it has an empty subpacket")?;
        if kind & 0x80 != 0 && ![CREATION_TIME, ISSUER, ISSUER_FINGERPRINT].contains(&(kind & 0x7F)) {
            return Err(format!("it has a critical subpacket of type {} that keyseal does not know", kind & 0x7F));
        }
        created |= kind & 0x7F == CREATION_TIME && data.len() == 4;
        area = reader.rest;
    }
    if hashed && !created {
        return Err("it has no signature creation time among its hashed subpackets".into());
    }
    Ok(())
}

/// ECDSA P-256 key material: the curve OID and the uncompressed point as an MPI.
fn ecdsa_material(public_spki: &[u8]) -> Result<Vec<u8>, String> {
    use p256::elliptic_curve::sec1::ToSec1Point;
    let public = <p256::PublicKey as spki::DecodePublicKey>::from_public_key_der(public_spki)
        .map_err(|_| "the key version's public key is not a P-256 key".to_string())?;
    let mut material = vec![P256_OID.len() as u8];
    material.extend_from_slice(P256_OID);
    material.extend(mpi(public.to_sec1_point(false).as_bytes()));
    Ok(material)
}

/// RSA key material: n, then e, as MPIs.
fn rsa_material(public_spki: &[u8]) -> Result<Vec<u8>, String> {
    let key = rsa_public(public_spki)?;
    let mut material = mpi(key.modulus.as_bytes());
    material.extend(mpi(key.public_exponent.as_bytes()));
    Ok(material)
}

fn rsa_public(public_spki: &[u8]) -> Result<rsa::pkcs1::RsaPublicKey<der::asn1::UintRef<'_>>, String> {
    let not_rsa = || "the signer's public key is not an RSA key".to_string();
    let spki = spki::SubjectPublicKeyInfoRef::from_der(public_spki).map_err(|_| not_rsa())?;
    let bits = spki.subject_public_key.as_bytes().ok_or_else(not_rsa)?;
    rsa::pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(bits).map_err(|_| not_rsa())
}

fn rsa_modulus_len(public_spki: &[u8]) -> Result<usize, String> {
    Ok(rsa_public(public_spki)?.modulus.as_bytes().len())
}

/// `value` left-padded with zeros to `len` bytes; refused when it is longer.
fn left_pad(value: &[u8], len: usize) -> Result<Vec<u8>, String> {
    if value.len() > len {
        return Err("its RSA signature is longer than the signer's modulus".into());
    }
    let mut padded = vec![0u8; len - value.len()];
    padded.extend_from_slice(value);
    Ok(padded)
}

/// A multiprecision integer (RFC 4880 §3.2): its bit length, then its bytes without
/// leading zeros.
fn mpi(value: &[u8]) -> Vec<u8> {
    let value = &value[value.iter().position(|&b| b != 0).unwrap_or(value.len())..];
    let bits = match value.first() {
        Some(first) => value.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    };
    let mut out = (bits as u16).to_be_bytes().to_vec();
    out.extend_from_slice(value);
    out
}

/// A signature subpacket: its length (type and data), type, data.
fn subpacket(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![(data.len() + 1) as u8];
    out.push(kind);
    out.extend_from_slice(data);
    out
}

/// A new-format packet (RFC 4880 §4.2.2): tag, length, body.
fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xC0 | tag];
    match body.len() {
        len @ 0..192 => out.push(len as u8),
        len @ 192..8384 => {
            let len = len - 192;
            out.extend_from_slice(&[((len >> 8) + 192) as u8, (len & 0xFF) as u8]);
        }
        len => {
            out.push(0xFF);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(body);
    out
}

/// ASCII armor (RFC 4880 §6.2): header line, blank line, base64 in lines of 64, the CRC-24.
fn armor(kind: &str, data: &[u8]) -> String {
    let base64 = STANDARD.encode(data);
    let lines: Vec<&str> =
        base64.as_bytes().chunks(64).map(|line| std::str::from_utf8(line).unwrap_or_default()).collect();
    let crc = crc24(data).to_be_bytes();
    format!("-----BEGIN {kind}-----\n\n{}\n={}\n-----END {kind}-----\n", lines.join("\n"), STANDARD.encode(&crc[1..]))
}

/// The data inside an armor of `kind`: armor headers (`Key: value` lines) skipped, the
/// CRC-24 checked when present.
fn dearmor(armored: &[u8], kind: &str) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(armored).map_err(|_| "it is not text (an armored OpenPGP signature)".to_string())?;
    let (begin, end) = (format!("-----BEGIN {kind}-----"), format!("-----END {kind}-----"));
    let body = text
        .trim()
        .strip_prefix(&begin)
        .and_then(|rest| rest.strip_suffix(&end))
        .ok_or_else(|| format!("it is not an armored OpenPGP signature ({begin} ... {end})"))?;
    let mut lines = body.lines().map(str::trim).skip_while(|line| line.is_empty());
    let mut base64 = String::new();
    let mut checksum = None;
    let mut in_headers = true;
    for line in lines.by_ref() {
        if in_headers && line.contains(": ") {
            continue;
        }
        in_headers = false;
        if let Some(crc) = line.strip_prefix('=') {
            checksum = Some(crc.to_string());
            break;
        }
        base64.push_str(line);
    }
    if lines.any(|line| !line.is_empty()) {
        return Err("its armor has lines after the checksum".into());
    }
    let data = STANDARD.decode(base64).map_err(|_| "its armor holds invalid base64".to_string())?;
    if let Some(checksum) = checksum {
        let crc = STANDARD.decode(checksum).map_err(|_| "its armor checksum is not base64".to_string())?;
        if crc != crc24(&data).to_be_bytes()[1..] {
            return Err("its armor checksum does not match: it was damaged".into());
        }
    }
    Ok(data)
}

/// CRC-24 of RFC 4880 §6.1.
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xB704CE;
    for &byte in data {
        crc ^= u32::from(byte) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x1000000 != 0 {
                crc ^= 0x1864CFB;
            }
        }
    }
    crc & 0xFFFFFF
}

/// RFC 4880 fields: packets, subpacket lengths, MPIs.
trait PgpFields<'a> {
    fn packet(&mut self) -> Result<(u8, &'a [u8]), String>;
    fn subpacket_length(&mut self) -> Result<usize, String>;
    fn mpi(&mut self) -> Result<&'a [u8], String>;
}

impl<'a> PgpFields<'a> for Reader<'a> {
    /// A packet: its tag and body (old or new format, definite lengths only).
    fn packet(&mut self) -> Result<(u8, &'a [u8]), String> {
        let header = self.take(1)?[0];
        if header & 0x80 == 0 {
            return Err("it is not an OpenPGP packet".into());
        }
        let (tag, len) = if header & 0x40 != 0 {
            let first = usize::from(self.take(1)?[0]);
            let len = match first {
                0..192 => first,
                192..224 => ((first - 192) << 8) + usize::from(self.take(1)?[0]) + 192,
                255 => self.u32()? as usize,
                _ => return Err("it uses partial body lengths, which keyseal does not read".into()),
            };
            (header & 0x3F, len)
        } else {
            let len = match header & 0x03 {
                0 => usize::from(self.take(1)?[0]),
                1 => usize::from(self.u16()?),
                2 => self.u32()? as usize,
                _ => return Err("it has an indeterminate length, which keyseal does not read".into()),
            };
            ((header >> 2) & 0x0F, len)
        };
        Ok((tag, self.take(len)?))
    }

    /// A subpacket length (RFC 4880 §5.2.3.1).
    fn subpacket_length(&mut self) -> Result<usize, String> {
        let first = usize::from(self.take(1)?[0]);
        Ok(match first {
            0..192 => first,
            192..255 => ((first - 192) << 8) + usize::from(self.take(1)?[0]) + 192,
            _ => self.u32()? as usize,
        })
    }

    /// An MPI's bytes, which must be minimal: exactly as many bits as it says.
    fn mpi(&mut self) -> Result<&'a [u8], String> {
        let bits = usize::from(self.u16()?);
        let value = self.take(bits.div_ceil(8))?;
        if mpi(value)[..2] != (bits as u16).to_be_bytes() || value.first() == Some(&0) {
            return Err("it has an integer whose bit count is wrong".into());
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(spec: KeySpec, message: &[u8]) -> (keys::KeyPair, String) {
        let pair = keys::generate(spec).unwrap();
        let algorithm = spec.default_signing_algorithm();
        let key = PgpKey::new(spec, algorithm, &pair.public_spki, 1_700_000_000).unwrap();
        let trailer = key.document_trailer(1_800_000_000).unwrap();
        let digest = Sha256::new().chain_update(message).chain_update(trailer.bytes()).finalize();
        let signature = keys::sign_digest(spec, algorithm, &pair.private_pkcs8, &digest).unwrap();
        (pair, key.armored_signature(&trailer, &digest, &signature).unwrap())
    }

    fn check(armored: &[u8], spec: KeySpec, spki: &[u8], message: &[u8]) -> Result<(), String> {
        verify(armored, spec, spki, |hash| {
            hash.update(message);
            Ok(())
        })
    }

    #[test]
    fn signatures_verify_and_refuse_what_they_do_not_sign() {
        for spec in [KeySpec::EcP256, KeySpec::Rsa2048] {
            let (pair, armored) = signed(spec, b"release");
            assert!(armored.starts_with("-----BEGIN PGP SIGNATURE-----\n\n"), "{armored}");
            assert_eq!(check(armored.as_bytes(), spec, &pair.public_spki, b"release"), Ok(()));
            assert!(check(armored.as_bytes(), spec, &pair.public_spki, b"other").is_err());
            let stranger = keys::generate(spec).unwrap();
            assert!(check(armored.as_bytes(), spec, &stranger.public_spki, b"release").is_err());
        }
    }

    #[test]
    fn damaged_signatures_are_refused_without_panicking() {
        let (pair, armored) = signed(KeySpec::EcP256, b"m");
        let packets = dearmor(armored.as_bytes(), "PGP SIGNATURE").unwrap();
        for cut in 0..packets.len() {
            let damaged = armor("PGP SIGNATURE", &packets[..cut]);
            assert!(check(damaged.as_bytes(), KeySpec::EcP256, &pair.public_spki, b"m").is_err(), "cut at {cut}");
        }
        let mut flipped = armored.clone().into_bytes();
        let at = flipped.len() / 2;
        flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
        assert!(check(&flipped, KeySpec::EcP256, &pair.public_spki, b"m").is_err());
    }

    /// A signature packet of `pair` over `message` with the fields given, signed as they
    /// say (so that only the field under test is wrong), armored.
    fn crafted(
        pair: &keys::KeyPair,
        spec: KeySpec,
        head: [u8; 4],
        hashed: &[u8],
        unhashed: &[u8],
        message: &[u8],
    ) -> Vec<u8> {
        let mut fields = head.to_vec();
        fields.extend_from_slice(&(hashed.len() as u16).to_be_bytes());
        fields.extend_from_slice(hashed);
        let trailer = Trailer { hashed: fields.clone() };
        let digest = Sha256::new().chain_update(message).chain_update(trailer.bytes()).finalize();
        let algorithm = spec.default_signing_algorithm();
        let signature = keys::sign_digest(spec, algorithm, &pair.private_pkcs8, &digest).unwrap();
        let mut body = fields;
        body.extend_from_slice(&(unhashed.len() as u16).to_be_bytes());
        body.extend_from_slice(unhashed);
        body.extend_from_slice(&digest[..2]);
        match spec {
            KeySpec::EcP256 => {
                let (r, s) = crate::crypto::ecdsa_pair::split_der(&signature).unwrap();
                body.extend(mpi(&r));
                body.extend(mpi(&s));
            }
            _ => body.extend(mpi(&signature)),
        }
        armor("PGP SIGNATURE", &packet(SIGNATURE_PACKET, &body)).into_bytes()
    }

    #[test]
    fn only_keyseals_form_of_signature_is_taken() {
        let pair = keys::generate(KeySpec::EcP256).unwrap();
        let created = subpacket(CREATION_TIME, &1_800_000_000u32.to_be_bytes());
        let check = |armored: Vec<u8>| check(&armored, KeySpec::EcP256, &pair.public_spki, b"m");
        let good = [4, BINARY_DOCUMENT, ECDSA, SHA256];
        assert_eq!(check(crafted(&pair, KeySpec::EcP256, good, &created, &[], b"m")), Ok(()));
        // A non-critical subpacket keyseal does not know (a notation) is no matter.
        let mut notation = created.clone();
        notation.extend(subpacket(20, b"\x80\0\0\0\0\x01\0\x01ab"));
        assert_eq!(check(crafted(&pair, KeySpec::EcP256, good, &notation, &[], b"m")), Ok(()));
        // Nor is the five-byte length form.
        let mut long_form = created.clone();
        long_form.extend_from_slice(&[0xFF, 0, 0, 0, 5, 20, 1, 2, 3, 4]);
        assert_eq!(check(crafted(&pair, KeySpec::EcP256, good, &long_form, &[], b"m")), Ok(()));
        // Nor is a critical one keyseal knows (a creation time marked critical, as some
        // implementations write it).
        let critical_created = subpacket(0x80 | CREATION_TIME, &1_800_000_000u32.to_be_bytes());
        assert_eq!(check(crafted(&pair, KeySpec::EcP256, good, &critical_created, &[], b"m")), Ok(()));
        // A critical one it does not know is, hashed or not; so is a missing creation time.
        let mut critical = created.clone();
        critical.extend(subpacket(0x80 | 20, b"\x80\0\0\0\0\x01\0\x01ab"));
        assert!(check(crafted(&pair, KeySpec::EcP256, good, &critical, &[], b"m")).unwrap_err().contains("critical"));
        assert!(
            check(crafted(&pair, KeySpec::EcP256, good, &created, &critical, b"m")).unwrap_err().contains("critical")
        );
        assert!(
            check(crafted(&pair, KeySpec::EcP256, good, &[], &created, b"m")).unwrap_err().contains("creation time")
        );
        // A four-byte subpacket of another type (an expiration time), or a creation time of
        // another length, is no creation time.
        let expiration = subpacket(3, &[0, 0, 0, 1]);
        assert!(check(crafted(&pair, KeySpec::EcP256, good, &expiration, &[], b"m")).is_err());
        let short = subpacket(CREATION_TIME, &[0, 0, 1]);
        assert!(check(crafted(&pair, KeySpec::EcP256, good, &short, &[], b"m")).is_err());
        // A text signature, a version 3 one, SHA-512, RSA by an EC key: not keyseal's.
        for head in [
            [4, 0x01, ECDSA, SHA256],
            [3, BINARY_DOCUMENT, ECDSA, SHA256],
            [4, BINARY_DOCUMENT, ECDSA, 10],
            [4, BINARY_DOCUMENT, RSA, SHA256],
        ] {
            assert!(check(crafted(&pair, KeySpec::EcP256, head, &created, &[], b"m")).is_err(), "{head:?}");
        }
        // Subpackets up to 4 KiB are read, and no more.
        let padding = |total: usize| {
            let mut area = created.clone();
            let filler = total - area.len() - 3; // a two-byte length, the type, the data
            area.extend_from_slice(&[(((filler + 1 - 192) >> 8) + 192) as u8, ((filler + 1 - 192) & 0xFF) as u8, 20]);
            area.extend(std::iter::repeat_n(0u8, filler));
            area
        };
        assert_eq!(padding(MAX_SUBPACKETS).len(), MAX_SUBPACKETS);
        assert_eq!(check(crafted(&pair, KeySpec::EcP256, good, &padding(MAX_SUBPACKETS), &[], b"m")), Ok(()));
        let over = check(crafted(&pair, KeySpec::EcP256, good, &padding(MAX_SUBPACKETS + 1), &[], b"m"));
        assert!(over.unwrap_err().contains("longer than keyseal reads"));
    }

    /// Every definite packet length form of RFC 4880 §4.2 (old format: 1, 2 and 4 bytes;
    /// new format: 1, 2 and 5 bytes) is read, as other implementations write them; armor
    /// with anything after its checksum is not.
    #[test]
    fn every_definite_packet_length_is_read() {
        for spec in [KeySpec::EcP256, KeySpec::Rsa2048] {
            let (pair, armored) = signed(spec, b"release");
            let packets = dearmor(armored.as_bytes(), "PGP SIGNATURE").unwrap();
            let (_, body) = Reader::new(&packets).packet().unwrap();
            let len = body.len();
            let old = |length_type: u8, length: &[u8]| {
                let mut header = vec![0x80 | (SIGNATURE_PACKET << 2) | length_type];
                header.extend_from_slice(length);
                header
            };
            let mut headers = vec![
                old(1, &(len as u16).to_be_bytes()),
                old(2, &(len as u32).to_be_bytes()),
                [&[0xC0 | SIGNATURE_PACKET, 0xFF][..], &(len as u32).to_be_bytes()].concat(),
                packet(SIGNATURE_PACKET, body)[..packet(SIGNATURE_PACKET, body).len() - len].to_vec(),
            ];
            if len < 256 {
                headers.push(old(0, &[len as u8]));
            }
            for header in headers {
                let rewrapped = armor("PGP SIGNATURE", &[header.as_slice(), body].concat());
                assert_eq!(check(rewrapped.as_bytes(), spec, &pair.public_spki, b"release"), Ok(()), "{header:02x?}");
            }
            // A first byte without its top bit is no packet header, whatever follows.
            let mut headless = packets.clone();
            headless[0] &= 0x7F;
            let headless = armor("PGP SIGNATURE", &headless);
            assert!(
                check(headless.as_bytes(), spec, &pair.public_spki, b"release")
                    .unwrap_err()
                    .contains("not an OpenPGP packet")
            );
            let trailing = armored.replace("-----END", "garbage\n-----END");
            assert!(
                check(trailing.as_bytes(), spec, &pair.public_spki, b"release")
                    .unwrap_err()
                    .contains("after the checksum")
            );
        }
        // A new-format two-byte length at its top.
        assert_eq!(packet(2, &[0; 8383])[..3], [0xC2, 223, 255]);
    }

    /// An RSA signature whose first byte is zero is written as a shorter MPI; it is padded
    /// back to the modulus's length to verify.
    #[test]
    fn an_rsa_signature_with_a_leading_zero_verifies() {
        let pair = keys::generate(KeySpec::Rsa2048).unwrap();
        let created = subpacket(CREATION_TIME, &1_800_000_000u32.to_be_bytes());
        let head = [4, BINARY_DOCUMENT, RSA, SHA256];
        // PKCS#1 v1.5 is deterministic: the signature `crafted` makes is this one.
        let mut fields = head.to_vec();
        fields.extend_from_slice(&(created.len() as u16).to_be_bytes());
        fields.extend_from_slice(&created);
        let trailer = Trailer { hashed: fields }.bytes();
        let found = (0u32..4000).map(|n| n.to_be_bytes()).find(|message| {
            let digest = Sha256::new().chain_update(message).chain_update(&trailer).finalize();
            let signature =
                keys::sign_digest(KeySpec::Rsa2048, Algorithm::RsaPkcs1Sha256, &pair.private_pkcs8, &digest).unwrap();
            signature[0] == 0
        });
        let found = found.map(|message| (crafted(&pair, KeySpec::Rsa2048, head, &created, &[], &message), message));
        let (armored, message) = found.expect("one in 256 RSA signatures starts with a zero byte");
        assert_eq!(check(&armored, KeySpec::Rsa2048, &pair.public_spki, &message), Ok(()));
    }

    #[test]
    fn keys_without_an_openpgp_form_are_refused() {
        let k1 = keys::generate(KeySpec::EcP256k).unwrap();
        assert!(
            PgpKey::new(KeySpec::EcP256k, Algorithm::EcdsaSha256, &k1.public_spki, 0).unwrap_err().contains("EC_P256K")
        );
        let rsa = keys::generate(KeySpec::Rsa2048).unwrap();
        assert!(
            PgpKey::new(KeySpec::Rsa2048, Algorithm::RsaPssSha256, &rsa.public_spki, 0)
                .unwrap_err()
                .contains("RSA_PKCS1_SHA_256")
        );
    }

    #[test]
    fn encodings_follow_rfc_4880() {
        assert_eq!(mpi(&[0, 0x01, 0xFF]), [0, 9, 1, 0xFF]);
        assert_eq!(mpi(&[]), [0, 0]);
        // RFC 4880 §6.1's CRC-24 of nothing is its initial value.
        assert_eq!(crc24(b""), 0xB704CE);
        assert_eq!(packet(2, &[0; 191])[..2], [0xC2, 191]);
        assert_eq!(packet(2, &[0; 192])[..3], [0xC2, 192, 0]);
        assert_eq!(packet(2, &[0; 8384])[..6], [0xC2, 0xFF, 0, 0, 0x20, 0xC0]);
        let mut reader = Reader::new(&[0, 9, 1, 0xFF]);
        assert_eq!(reader.mpi(), Ok(&[1, 0xFF][..]));
        assert!(Reader::new(&[0, 10, 1, 0xFF]).mpi().is_err(), "wrong bit count");
    }
}
