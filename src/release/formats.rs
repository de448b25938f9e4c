//! The signature formats `keyseal sign --format` writes besides keyseal's own, so that a
//! release signed once is checked with whatever the downloader has: CMS (`openssl cms`),
//! OpenPGP (`gpgv`, `sqv`) and SSH (`ssh-keygen -Y verify`). Each is prepared, and refused
//! when it cannot be made, before anything is hashed or signed; then each signs the
//! manifest (and with `--detached` every file) with one AsymmetricSign per signature.

use crate::clock::now_unix;
use crate::kms::{Kms, SigningKey};
use crate::release::ReleaseError;
use crate::release::cms::{CMS_SUFFIX, CmsSignature};
use crate::release::hash::{Extra, FileDigests};
use crate::release::manifest::MANIFEST_FILE;
use crate::release::openpgp::{PGP_SUFFIX, PgpKey, Trailer};
use crate::release::sshsig::{self, SSHSIG_SUFFIX, SshKey};
use crate::x509::Cert;
use sha2::{Digest, Sha256, Sha512};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A signature format `keyseal sign --format` writes besides keyseal's own (the manifest,
/// its DER signature, the bundle and the Sigstore bundle, always written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFormat {
    /// A detached CMS SignedData (`SHA256SUMS.p7s`), for `openssl cms -verify`.
    Cms,
    /// A detached OpenPGP signature (`SHA256SUMS.asc`), for `gpgv` and `sqv`.
    Pgp,
    /// An OpenSSH signature (`SHA256SUMS.sshsig`), for `ssh-keygen -Y verify`.
    Ssh,
}

impl SignatureFormat {
    /// The names `--format` takes.
    pub const NAMES: &'static [&'static str] = &["cms", "pgp", "ssh"];
    /// Every format, in the order of `NAMES`.
    pub const ALL: [SignatureFormat; 3] = [SignatureFormat::Cms, SignatureFormat::Pgp, SignatureFormat::Ssh];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SignatureFormat::Cms => "cms",
            SignatureFormat::Pgp => "pgp",
            SignatureFormat::Ssh => "ssh",
        }
    }

    /// What its signature files' names end with.
    pub fn suffix(self) -> &'static str {
        match self {
            SignatureFormat::Cms => CMS_SUFFIX,
            SignatureFormat::Pgp => PGP_SUFFIX,
            SignatureFormat::Ssh => SSHSIG_SUFFIX,
        }
    }

    /// The manifest's signature in it (`SHA256SUMS.asc`).
    pub fn manifest_file(self) -> String {
        format!("{MANIFEST_FILE}{}", self.suffix())
    }

    /// How messages name it.
    pub fn label(self) -> &'static str {
        match self {
            SignatureFormat::Cms => "CMS",
            SignatureFormat::Pgp => "OpenPGP",
            SignatureFormat::Ssh => "SSH",
        }
    }

    /// The format of a signature file, by its name, and the name of what it signs
    /// (`app.asc` → OpenPGP, `app`).
    pub fn of_signature(name: &str) -> Option<(SignatureFormat, &str)> {
        SignatureFormat::ALL.into_iter().find_map(|format| Some((format, name.strip_suffix(format.suffix())?)))
    }
}

impl std::str::FromStr for SignatureFormat {
    type Err = String;

    fn from_str(name: &str) -> Result<SignatureFormat, String> {
        SignatureFormat::ALL
            .into_iter()
            .find(|format| format.name() == name)
            .ok_or_else(|| format!("unknown signature format {name:?}; known: {}", SignatureFormat::NAMES.join(", ")))
    }
}

/// What was signed, for the formats to sign again.
pub struct Signed<'a> {
    /// `SHA256SUMS`.
    pub manifest: &'a [u8],
    /// Its SHA-256.
    pub manifest_sha256: &'a [u8],
    /// Every file's SHA-256, by name.
    pub files: &'a BTreeMap<String, [u8; 32]>,
    /// Every file's other digests (`Formats::per_file_digests`), by name, with --detached.
    pub per_file: &'a BTreeMap<String, FileDigests>,
}

/// The formats asked for, each ready to sign.
pub struct Formats<'a> {
    cms: Option<&'a [Cert]>,
    /// The key, the trailer of signatures made now, and that trailer's bytes.
    pgp: Option<(PgpKey, Trailer, Vec<u8>)>,
    ssh: Option<(SshKey, &'a str)>,
    detached: bool,
}

impl<'a> Formats<'a> {
    /// Each format in `options.formats`, for the key version `key` certified by `chain`;
    /// refused (`unsupported-format`, or `bad-input` for a namespace) when one cannot be
    /// made: SSH and OpenPGP take EC_P256 and RSA_2048 with PKCS#1 only, CMS needs the
    /// certificate.
    pub fn prepare(
        kms: &dyn Kms,
        options: &'a crate::release::sign::SignOptions,
        key: &SigningKey,
        chain: &'a [Cert],
    ) -> Result<Formats<'a>, ReleaseError> {
        let asked = |format| options.formats.contains(&format);
        let mut formats = Formats { cms: None, pgp: None, ssh: None, detached: options.detached };
        if asked(SignatureFormat::Cms) {
            if chain.is_empty() {
                return Err(ReleaseError::UnsupportedFormat(
                    "a CMS signature names its signer by certificate: give the key version's certificate chain with --cert CHAIN.pem (keyseal ca issue --profile code-signing ...)".into(),
                ));
            }
            formats.cms = Some(chain);
        }
        if asked(SignatureFormat::Pgp) {
            let created = openpgp_creation_time(kms, &key.name)?;
            let unsupported =
                |reason: String| ReleaseError::UnsupportedFormat(format!("cannot sign in OpenPGP format: {reason}"));
            let pgp = PgpKey::new(key.spec, key.algorithm, &key.public_spki, created).map_err(unsupported)?;
            let trailer = pgp.document_trailer(now_unix()).map_err(unsupported)?;
            let bytes = trailer.bytes();
            formats.pgp = Some((pgp, trailer, bytes));
        }
        if asked(SignatureFormat::Ssh) {
            sshsig::check_namespace(&options.ssh_namespace).map_err(ReleaseError::Input)?;
            let ssh = SshKey::new(key.spec, key.algorithm, &key.public_spki)
                .map_err(|reason| ReleaseError::UnsupportedFormat(format!("cannot sign in SSH format: {reason}")))?;
            formats.ssh = Some((ssh, &options.ssh_namespace));
        }
        Ok(formats)
    }

    /// What the hashing must compute besides each file's SHA-256 for the per-file
    /// signatures of `--detached`: SHA-512 for SSH, SHA-256 of the file and the OpenPGP
    /// trailer for OpenPGP.
    pub fn per_file_digests(&self) -> Extra<'_> {
        Extra {
            sha512: self.detached && self.ssh.is_some(),
            sha256_then: self.pgp.as_ref().filter(|_| self.detached).map(|(_, _, bytes)| bytes.as_slice()),
        }
    }

    /// Every signature in the formats asked for, as files to write under `out`; `stamp`
    /// time-stamps a CMS signature's value (an RFC 3161 token, or none without `--tsa`).
    pub fn sign(
        &self,
        kms: &dyn Kms,
        key: &SigningKey,
        signed: &Signed<'_>,
        out: &Path,
        stamp: impl Fn(&[u8]) -> Result<Option<Vec<u8>>, ReleaseError>,
    ) -> Result<Vec<(PathBuf, Vec<u8>)>, ReleaseError> {
        let mut writes = Vec::new();
        let mut write =
            |name: &str, suffix: &str, bytes: Vec<u8>| writes.push((out.join(format!("{name}{suffix}")), bytes));
        if let Some(chain) = self.cms {
            let signature = CmsSignature::sign(kms, key, chain, signed.manifest_sha256, now_unix())?;
            let token = stamp(signature.value())?;
            write(MANIFEST_FILE, CMS_SUFFIX, signature.to_der(token.as_deref())?);
            // Each file's, over its SHA-256, without a time stamp (the manifest's is enough).
            for (name, digest) in signed.files.iter().filter(|_| self.detached) {
                write(name, CMS_SUFFIX, CmsSignature::sign(kms, key, chain, digest, now_unix())?.to_der(None)?);
            }
        }
        if let Some((pgp, trailer, trailer_bytes)) = &self.pgp {
            let sign = |digest: &[u8]| -> Result<Vec<u8>, ReleaseError> {
                let signature = key.sign_digest(kms, digest)?;
                Ok(pgp.armored_signature(trailer, digest, &signature).map_err(ReleaseError::Input)?.into_bytes())
            };
            let digest = Sha256::new().chain_update(signed.manifest).chain_update(trailer_bytes).finalize();
            write(MANIFEST_FILE, PGP_SUFFIX, sign(&digest)?);
            for (name, digests) in signed.per_file {
                if let Some(digest) = &digests.sha256_then {
                    write(name, PGP_SUFFIX, sign(digest)?);
                }
            }
        }
        if let Some((ssh, namespace)) = &self.ssh {
            let sign = |sha512: &[u8]| -> Result<Vec<u8>, ReleaseError> {
                let signature = key.sign_digest(kms, &SshKey::digest_to_sign(namespace, sha512))?;
                Ok(ssh.armor(namespace, &signature).map_err(ReleaseError::Input)?.into_bytes())
            };
            write(MANIFEST_FILE, SSHSIG_SUFFIX, sign(&Sha512::digest(signed.manifest))?);
            for (name, digests) in signed.per_file {
                if let Some(sha512) = &digests.sha512 {
                    write(name, SSHSIG_SUFFIX, sign(sha512)?);
                }
            }
        }
        Ok(writes)
    }
}

/// The creation time of a KMS key version's OpenPGP key: the KMS key's CreationDate
/// (DescribeKey, which signing already needs), so a key version always has the same
/// fingerprint.
pub fn openpgp_creation_time(kms: &dyn Kms, key_id: &str) -> Result<i64, ReleaseError> {
    let meta = kms.describe_key(&crate::kms::api::KeyIdRequest { key_id: key_id.to_string() })?.key_metadata;
    crate::clock::parse_time(&meta.creation_date).map_err(|e| {
        ReleaseError::Input(format!("the KMS gave key {} a CreationDate that does not parse: {e}", meta.key_id))
    })
}
