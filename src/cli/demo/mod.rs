//! `keyseal demo`: the whole story, run for real on a store and printed as the commands a
//! user would type: KMS keys, a root CA and an intermediate whose keys stay in the KMS, a
//! code-signing certificate, a signed release, its verification against the root, a
//! tampered copy caught, a key rotation that leaves the old release verifiable, a secret
//! encrypted and decrypted, and the audit log checked.
//!
//! Every printed command is what the step did, naming the files the demo leaves in its
//! directory, so the transcript can be replayed by hand (tests/it/demo.rs does). Running it
//! again on the same store works: it makes new keys and CAs (names carry a random run id),
//! moves its alias, and clears and reuses its directory (see `dir`).

mod dir;

use crate::ca::issue::{Authority, InitRequest, IssueRequest, Issued, Lifetime, SubjectKey, init, issue};
use crate::ca::profile::Profile;
use crate::ca::subject::parse_subject;
use crate::cli::count::count;
use crate::cli::{CliError, Outcome, local_principal, open_local};
use crate::clock::now_unix;
use crate::crypto::spec::{Algorithm, KeySpec, KeyUsage};
use crate::kms::api::*;
use crate::kms::error::{ErrorCode, KmsError};
use crate::kms::seal::SecretSource;
use crate::kms::{Kms, LocalKms, audit};
use crate::quote::{quote_path, shell_word};
use crate::release::hash::default_threads;
use crate::release::sign::{SignOptions, SignSummary, sign_release};
use crate::release::verify::{ChainTrust, FileStatus, VerifyOptions, VerifyReport, verify_release};
use crate::x509::Purpose;
use clap::Args;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// `keyseal demo` flags.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  keyseal demo                                   # a throwaway store, files in $TMPDIR/keyseal-demo
  keyseal demo --dir ./keyseal-demo
  keyseal --store ~/.local/share/keyseal demo    # on a real store (its passphrase rules apply)

Without --store the demo runs unattended on a throwaway store made in --dir (store/,
unlocked by the generated key file store.key), so it needs no passphrase and leaves
nothing in your own store; KEYSEAL_STORE is not used. With --store it runs on that store,
adding keys and CAs that stay there (keys can be deleted after 7 days at the earliest).

Leaves what it made in --dir, which each run clears and reuses: root.pem, release-ca.pem,
signer.pem and signer-chain.pem (the certificates), release/ (a sample release with its
SHA256SUMS, SHA256SUMS.sig and keyseal.bundle.json), tampered/ (a changed copy),
next-release/ (signed after the rotation), secret.txt, secret.enc and secret.out (the
encryption round trip). Every command it prints works there as printed, after the
`export KEYSEAL_STORE=...` and `cd ...` it prints first. A --dir holding anything the demo
did not make is refused, never cleared.")]
pub struct DemoArgs {
    /// Where to put the sample release, certificates and secret; cleared on each run.
    /// Default: keyseal-demo in the system's temporary directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

const ALIAS: &str = "alias/keyseal-demo-release";
const SECRET: &str = "demo database password\n";
const ENCRYPTION: Algorithm = Algorithm::RsaesOaepSha256;

/// Prints one step: the command that does it by hand, and what came of it.
fn step(command: &str, result: &str) {
    crate::outln!("$ {command}");
    if !result.is_empty() {
        crate::outln!("  {result}");
    }
}

/// A path as a shell word, absolute so that it works after the printed `cd`.
fn shell_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    shell_word(&absolute.to_string_lossy()).into_owned()
}

/// Runs the tour: on the store given with `--store` (`asked`, opened with `secret`), else
/// on a throwaway store made in the demo directory.
pub fn run(args: DemoArgs, asked: Option<&Path>, secret: SecretSource) -> Result<Outcome, CliError> {
    let dir = args.dir.unwrap_or_else(dir::default_dir);
    let (kms, store, key_file) = match asked {
        Some(store) => {
            let inside = std::path::absolute(store).ok().zip(std::path::absolute(&dir).ok());
            if inside.is_some_and(|(store, dir)| store.starts_with(dir)) {
                return Err(KmsError::invalid(
                    "--store",
                    "the store is inside the demo's --dir, which every run clears; give a store elsewhere",
                )
                .into());
            }
            let key_file = match &secret {
                SecretSource::KeyFile(path) => Some(path.clone()),
                _ => None,
            };
            let kms = open_local(store, secret)?;
            dir::prepare(&dir)?;
            crate::outln!("keyseal demo: on the store {} (what it makes stays there)", quote_path(store));
            (kms, store.to_path_buf(), key_file)
        }
        None => {
            dir::prepare(&dir)?;
            let (store, key_file) = dir::throwaway_store(&dir)?;
            let kms = open_local(&store, SecretSource::KeyFile(key_file.clone()))?;
            crate::outln!(
                "keyseal demo: on a throwaway store, {}, unlocked by the generated key file {} (your own store is not touched; --store DIR runs it on one)",
                quote_path(&store),
                quote_path(&key_file)
            );
            (kms, store, Some(key_file))
        }
    };
    let store = store.as_path();
    crate::outln!(
        "files in {} (cleared on every run; remove them with: rm -r {})\n",
        quote_path(&dir),
        shell_path(&dir)
    );
    crate::outln!("Each step shows the command that does it by hand; they work as printed after these:");
    step(&format!("export KEYSEAL_STORE={}", shell_path(store)), "");
    if let Some(path) = key_file {
        step(&format!("export KEYSEAL_KEY_FILE={}", shell_path(&path)), "");
    }
    step(&format!("cd {}", shell_path(&dir)), "");
    crate::outln!();
    let tour = Tour { kms: &kms, dir, run_id: crate::kms::ids::new_uuid()?[..8].to_string() };
    let passed = tour.all()?;
    if passed {
        crate::outln!("\ndemo complete: every check passed.");
        crate::outln!("Its files are in {}; remove them with: rm -r {}", quote_path(&tour.dir), shell_path(&tour.dir));
    }
    Ok(if passed { Outcome::Success } else { Outcome::VerificationFailed })
}

/// One run of the tour: the store, the directory its files go to, and the id that keeps
/// this run's CA names apart from earlier runs' on the same store.
struct Tour<'a> {
    kms: &'a LocalKms,
    dir: PathBuf,
    run_id: String,
}

/// The signing keys the tour makes: (KeyId, first version) each.
struct SigningKeys {
    root: (String, String),
    release_ca: (String, String),
    signing_v1: String,
}

impl Tour<'_> {
    /// Every chapter in order; false as soon as a check did not come out as it should.
    fn all(&self) -> Result<bool, CliError> {
        let keys = self.keys()?;
        let root = self.certificates(&keys)?;
        let trust = ChainTrust {
            anchors: crate::x509::load_pem_chain(root.pem.as_bytes()).map_err(|e| KmsError::internal(e.to_string()))?,
            crls: Vec::new(),
            purpose: Purpose::CodeSigning,
            at: now_unix(),
            policy: Default::default(),
            rfc5280_eku: false,
        };
        Ok(self.sign_and_verify(&keys.signing_v1, &trust)?
            && self.tamper(&trust)?
            && self.rotate(&trust)?
            && self.encrypt()?
            && self.audit()?)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> Result<(), KmsError> {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        }
        crate::safe_write::write_file(&path, contents.as_ref(), false).map_err(|e| io_error(&path, e))
    }

    /// Chapter 1: keys in the KMS — their private halves never leave it.
    fn keys(&self) -> Result<SigningKeys, KmsError> {
        let root = self.new_key(KeySpec::EcP256, KeyUsage::SignVerify, "demo root CA")?;
        let release_ca = self.new_key(KeySpec::EcP256, KeyUsage::SignVerify, "demo release CA")?;
        let (signing_key, signing_v1) = self.new_key(KeySpec::EcP256, KeyUsage::SignVerify, "demo release signing")?;
        let alias = AliasRequest { alias_name: ALIAS.into(), key_id: signing_key.clone() };
        let action = match self.kms.create_alias(&alias) {
            Err(err) if err.code == ErrorCode::AliasAlreadyExists => {
                self.kms.update_alias(&alias).map(|_| "update-alias")?
            }
            other => other.map(|_| "create-alias")?,
        };
        step(&format!("keyseal kms {action} --alias-name {ALIAS} --key-id {signing_key}"), "");
        Ok(SigningKeys { root, release_ca, signing_v1 })
    }

    /// A fresh key; returns (KeyId, first version).
    fn new_key(&self, spec: KeySpec, usage: KeyUsage, description: &str) -> Result<(String, String), KmsError> {
        let meta = self
            .kms
            .create_key(&CreateKeyRequest {
                key_spec: spec,
                key_usage: usage,
                description: description.into(),
                protection_level: Default::default(),
            })?
            .key_metadata;
        step(
            &format!(
                "keyseal kms create-key --key-spec {spec} --key-usage {usage} --description {}",
                shell_word(description)
            ),
            &format!("{description}: KeyId {}, version {}", meta.key_id, meta.primary_key_version),
        );
        Ok((meta.key_id, meta.primary_key_version))
    }

    /// Chapter 2: a root CA, an intermediate and a code-signing certificate, their keys
    /// in the KMS; returns the root.
    fn certificates(&self, keys: &SigningKeys) -> Result<Issued, CliError> {
        let principal = local_principal();
        let authority = Authority::new(self.kms, self.kms.store(), &principal, now_unix())?;
        let (root_name, ca_name) = (format!("demo-root-{}", self.run_id), format!("demo-release-ca-{}", self.run_id));
        let ((root_key, root_version), (ca_key, ca_version)) = (&keys.root, &keys.release_ca);
        let subject = "CN=keyseal demo root,O=keyseal demo";
        let root = init(
            &authority,
            &InitRequest {
                name: root_name.clone(),
                key_id: root_key.clone(),
                key_version_id: root_version.clone(),
                algorithm: None,
                subject: parse_subject(subject)?,
                lifetime: Lifetime::Days(3650),
                path_len: Some(1),
                crl_url: None,
            },
        )?;
        self.write("root.pem", &root.pem)?;
        step(
            &format!(
                "keyseal ca init --name {root_name} --key-id {root_key} --key-version-id {root_version} --subject {} --days 3650 --path-len 1 --out root.pem",
                shell_word(subject)
            ),
            &format!("root CA, serial {}", root.record.serial),
        );
        let subject = "CN=keyseal demo release CA,O=keyseal demo";
        let mut request = issue_request(&root_name, Profile::IntermediateCa, (ca_key, ca_version), subject, 1825)?;
        request.new_ca_name = Some(ca_name.clone());
        let intermediate = issue(&authority, &request)?;
        self.write("release-ca.pem", &intermediate.pem)?;
        step(
            &format!(
                "keyseal ca issue --ca {root_name} --profile intermediate-ca --name {ca_name} --key-id {ca_key} --key-version-id {ca_version} --subject {} --days 1825 --out release-ca.pem",
                shell_word(subject)
            ),
            &format!("intermediate CA, serial {}", intermediate.record.serial),
        );
        let subject = "CN=keyseal demo release signing,O=keyseal demo";
        let v1 = &keys.signing_v1;
        let signer = issue(&authority, &issue_request(&ca_name, Profile::CodeSigning, (ALIAS, v1), subject, 365)?)?;
        self.write("signer.pem", &signer.pem)?;
        step(
            &format!(
                "keyseal ca issue --ca {ca_name} --profile code-signing --key-id {ALIAS} --key-version-id {v1} --subject {} --days 365 --out signer.pem",
                shell_word(subject)
            ),
            &format!("code-signing certificate, serial {}", signer.record.serial),
        );
        self.write("signer-chain.pem", format!("{}{}", signer.pem, intermediate.pem))?;
        step("cat signer.pem release-ca.pem > signer-chain.pem", "the chain, leaf first, for keyseal sign --cert");
        Ok(root)
    }

    /// Chapter 3: sign a release and verify it as a user would, offline.
    fn sign_and_verify(&self, v1: &str, trust: &ChainTrust) -> Result<bool, CliError> {
        self.write("release/linux/app", "demo binary\n")?;
        self.write("release/README.txt", "keyseal demo release\n")?;
        step(
            "mkdir -p release/linux && echo 'demo binary' > release/linux/app && echo 'keyseal demo release' > release/README.txt",
            "a sample release",
        );
        let chain =
            std::fs::read(self.path("signer-chain.pem")).map_err(|e| io_error(&self.path("signer-chain.pem"), e))?;
        let signed = self.sign("release", v1, Some(chain), "release")?;
        step(
            &format!(
                "keyseal sign release/ --key-id {ALIAS} --key-version-id {v1} --cert signer-chain.pem --out release/"
            ),
            &format!(
                "{} signed; SHA256SUMS, SHA256SUMS.sig and keyseal.bundle.json written to release/",
                count(signed.files, "file", "files")
            ),
        );
        let verified = self.verify("release", trust)?.verified;
        step(
            "keyseal verify release/ --bundle release/keyseal.bundle.json --trust root.pem",
            if verified { "verified: chain to the root, signature, every file" } else { "NOT verified" },
        );
        Ok(verified)
    }

    /// Chapter 4: a changed file is caught — in a copy, so that the signed release stays
    /// as it was.
    fn tamper(&self, trust: &ChainTrust) -> Result<bool, CliError> {
        copy_tree(&self.path("release"), &self.path("tampered"))?;
        let app = self.path("tampered/linux/app");
        let mut patched = std::fs::read(&app).map_err(|e| io_error(&app, e))?;
        patched.extend_from_slice(b"patched\n");
        self.write("tampered/linux/app", patched)?;
        step(
            "rm -rf tampered && cp -r release tampered && echo patched >> tampered/linux/app",
            "a copy of the release, one file changed",
        );
        let report = self.verify("tampered", trust)?;
        let caught =
            !report.verified && report.files.iter().any(|f| f.name == "linux/app" && f.status == FileStatus::Modified);
        step(
            "keyseal verify tampered/ --bundle tampered/keyseal.bundle.json --trust root.pem",
            if caught { "MODIFIED linux/app: caught, exit status 1" } else { "NOT caught" },
        );
        Ok(caught)
    }

    /// Chapter 5: rotation — a new key version signs from now on; the old release still
    /// verifies.
    fn rotate(&self, trust: &ChainTrust) -> Result<bool, CliError> {
        let v2 = self.kms.create_key_version(&KeyIdRequest { key_id: ALIAS.into() })?.key_version.key_version_id;
        step(&format!("keyseal kms create-key-version --key-id {ALIAS}"), &format!("version {v2}; the first is kept"));
        self.write("next-release/app", "demo binary, next version\n")?;
        step("mkdir -p next-release && echo 'demo binary, next version' > next-release/app", "the next release");
        let signed = self.sign("next-release", &v2, None, "next-release")?;
        step(
            &format!("keyseal sign next-release/ --key-id {ALIAS} --key-version-id {v2} --out next-release/"),
            &format!("{} signed with the new version", count(signed.files, "file", "files")),
        );
        let verified = self.verify("release", trust)?.verified;
        step(
            "keyseal verify release/ --bundle release/keyseal.bundle.json --trust root.pem",
            if verified { "the release signed before the rotation still verifies" } else { "NOT verified" },
        );
        Ok(verified)
    }

    /// Chapter 6: encryption — anyone may encrypt with the public key; only the KMS
    /// decrypts.
    fn encrypt(&self) -> Result<bool, KmsError> {
        let (key_id, version) = self.new_key(KeySpec::Rsa2048, KeyUsage::EncryptDecrypt, "demo secrets")?;
        self.write("secret.txt", SECRET)?;
        step(&format!("echo {} > secret.txt", shell_word(SECRET.trim_end())), "");
        let (key_id, key_version_id) = (key_id.as_str(), version.as_str());
        let sealed = self.kms.asymmetric_encrypt(&EncryptRequest {
            key_id: key_id.into(),
            key_version_id: key_version_id.into(),
            algorithm: ENCRYPTION,
            plaintext: Zeroizing::new(SECRET.as_bytes().to_vec()),
        })?;
        self.write("secret.enc", &sealed.ciphertext_blob)?;
        let flags = format!("--key-id {key_id} --key-version-id {key_version_id} --algorithm {ENCRYPTION}");
        step(
            &format!("keyseal kms asymmetric-encrypt {flags} --plaintext-file secret.txt --out secret.enc"),
            &format!("{} of ciphertext in secret.enc", count(sealed.ciphertext_blob.len() as u64, "byte", "bytes")),
        );
        let opened = self.kms.asymmetric_decrypt(&DecryptRequest {
            key_id: key_id.into(),
            key_version_id: key_version_id.into(),
            algorithm: ENCRYPTION,
            ciphertext_blob: sealed.ciphertext_blob,
        })?;
        crate::cli::input::write_out(&self.path("secret.out"), &opened.plaintext, true)?;
        let same = opened.plaintext.as_slice() == SECRET.as_bytes();
        step(
            &format!("keyseal kms asymmetric-decrypt {flags} --ciphertext-file secret.enc --out secret.out"),
            if same { "secret.out is secret.txt again: only the KMS holds the private key" } else { "NOT the same" },
        );
        Ok(same)
    }

    /// Chapter 7: every step above is in the audit log, hash-chained.
    fn audit(&self) -> Result<bool, KmsError> {
        let report = self.kms.store().read(|tx| audit::verify(tx))?;
        step(
            "keyseal audit verify",
            &format!(
                "{}, {}",
                count(report.entries, "entry", "entries"),
                count(report.problems.len() as u64, "problem", "problems")
            ),
        );
        Ok(report.problems.is_empty())
    }

    fn sign(&self, tree: &str, version: &str, chain: Option<Vec<u8>>, out: &str) -> Result<SignSummary, CliError> {
        let options = SignOptions {
            paths: vec![self.path(tree)],
            key_id: ALIAS.into(),
            key_version_id: version.into(),
            algorithm: None,
            certificate_chain: chain,
            out_dir: self.path(out),
            detached: false,
            threads: default_threads(),
            tsa: None,
            formats: Vec::new(),
            ssh_namespace: crate::release::sshsig::DEFAULT_NAMESPACE.into(),
        };
        Ok(sign_release(self.kms, &options, Some(self.kms.store()), &|_| {})?)
    }

    fn verify(&self, tree: &str, trust: &ChainTrust) -> Result<VerifyReport, CliError> {
        Ok(verify_release(&VerifyOptions {
            paths: vec![self.path(tree)],
            bundle: Some(self.path(tree).join("keyseal.bundle.json")),
            manifest: None,
            public_key_pem: None,
            trust: Some(trust.clone()),
            tsa_trust: Vec::new(),
            tsa_crls: Vec::new(),
            at: trust.at,
            allow_unlisted: false,
            ssh_namespace: crate::release::sshsig::DEFAULT_NAMESPACE.into(),
            required_formats: Vec::new(),
        })?)
    }
}

/// A certificate for a KMS key version, issued by `ca`.
fn issue_request(
    ca: &str,
    profile: Profile,
    (key_id, key_version_id): (&str, &str),
    subject: &str,
    days: u32,
) -> Result<IssueRequest, CliError> {
    Ok(IssueRequest {
        ca: ca.to_string(),
        profile,
        subject: Some(parse_subject(subject)?),
        key: SubjectKey::Kms { key_id: key_id.to_string(), key_version_id: key_version_id.to_string() },
        lifetime: Lifetime::Days(days),
        sans: Vec::new(),
        new_ca_name: None,
        path_len: None,
        algorithm: None,
        crl_url: None,
        clamp: false,
    })
}

/// `cp -r from to`, for the demo's own small tree.
fn copy_tree(from: &Path, to: &Path) -> Result<(), KmsError> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.map_err(|e| KmsError::invalid("--dir", format!("cannot read {}: {e}", quote_path(from))))?;
        let target = to.join(entry.path().strip_prefix(from).unwrap_or(entry.path()));
        let copied = if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)
        } else {
            std::fs::copy(entry.path(), &target).map(|_| ())
        };
        copied.map_err(|e| io_error(&target, e))?;
    }
    Ok(())
}

fn io_error(what: &Path, e: std::io::Error) -> KmsError {
    KmsError::invalid("--dir", format!("cannot write {}: {e}", quote_path(what)))
}
