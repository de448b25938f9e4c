//! `keyseal kms <action>`: one subcommand per KMS OpenAPI action, in kebab-case, each flag a
//! request parameter in kebab-case. Each prints the OpenAPI response body as JSON on stdout;
//! errors print as the API's error body on stderr (see `cli::print_error`).

use crate::cli::input;
use crate::cli::{Outcome, print_json};
use crate::crypto::spec::{Algorithm, KeySpec, KeyUsage};
use crate::kms::api::*;
use crate::kms::error::KmsError;
use crate::kms::{Kms, ProtectionLevel};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use zeroize::Zeroizing;

use super::key_args::{SIGN_ALGORITHMS, wire};

/// Exactly one of `args`: a usage error names both spellings, `<--a A|--b FILE>`, where
/// `required_unless_present` would name only the first.
fn one_of(id: &'static str, args: [&'static str; 2]) -> clap::ArgGroup {
    clap::ArgGroup::new(id).args(args).required(true)
}

const SPECS: &[&str] = &["RSA_2048", "EC_P256", "EC_P256K"];
const USAGES: &[&str] = &["SIGN/VERIFY", "ENCRYPT/DECRYPT"];
const PROTECTION_LEVELS: &[&str] = &["SOFTWARE", "HSM"];
const ENCRYPT_ALGORITHMS: &[&str] = &["RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1"];

/// The KMS actions.
// Flattened argument groups document their own flags; a doc comment here would not show.
#[allow(missing_docs)]
#[derive(Debug, Subcommand)]
pub enum KmsAction {
    /// Create a key and its first version (CreateKey).
    #[command(
        after_help = "Example:\n  keyseal kms create-key --key-spec EC_P256 --key-usage SIGN/VERIFY --description 'release signing'\n\n\
The response's KeyMetadata.PrimaryKeyVersion is the first version's id; every later
operation names a version explicitly."
    )]
    CreateKey {
        /// RSA_2048, EC_P256 (NIST P-256) or EC_P256K (secp256k1).
        #[arg(long, value_parser = wire::<KeySpec>(SPECS))]
        key_spec: KeySpec,
        /// SIGN/VERIFY, or ENCRYPT/DECRYPT (RSA_2048 only).
        #[arg(long, value_parser = wire::<KeyUsage>(USAGES))]
        key_usage: KeyUsage,
        /// Free text for people.
        #[arg(long, default_value = "")]
        description: String,
        /// SOFTWARE (sealed in the store) or HSM (made and used inside the store's PKCS#11
        /// token; see `keyseal hsm configure`).
        #[arg(long, default_value = "SOFTWARE", value_parser = wire::<ProtectionLevel>(PROTECTION_LEVELS))]
        protection_level: ProtectionLevel,
    },
    /// Add a new key pair as a new version of a key (CreateKeyVersion).
    #[command(after_help = "Example:\n  keyseal kms create-key-version --key-id alias/release\n\n\
Older versions stay usable: what they signed still verifies with their public keys.")]
    CreateKeyVersion(KeyIdArg),
    /// Show a key's metadata, in any state (DescribeKey).
    #[command(after_help = "Example:\n  keyseal kms describe-key --key-id alias/release")]
    DescribeKey(KeyIdArg),
    /// Show one key version (DescribeKeyVersion).
    #[command(
        after_help = "Example:\n  keyseal kms describe-key-version --key-id alias/release --key-version-id VERSION"
    )]
    DescribeKeyVersion(KeyVersionArgs),
    /// List keys, oldest first (ListKeys).
    #[command(after_help = "Example:\n  keyseal kms list-keys --page-size 50")]
    ListKeys(PageArgs),
    /// List a key's versions, oldest first (ListKeyVersions).
    #[command(after_help = "Example:\n  keyseal kms list-key-versions --key-id alias/release")]
    ListKeyVersions {
        #[command(flatten)]
        key: KeyIdArg,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Point a new alias at a key (CreateAlias).
    #[command(after_help = "Example:\n  keyseal kms create-alias --alias-name alias/release --key-id KEY_ID")]
    CreateAlias(AliasArgs),
    /// Point an existing alias at another key (UpdateAlias).
    #[command(after_help = "Example:\n  keyseal kms update-alias --alias-name alias/release --key-id NEW_KEY_ID")]
    UpdateAlias(AliasArgs),
    /// Remove an alias; the key stays (DeleteAlias).
    #[command(after_help = "Example:\n  keyseal kms delete-alias --alias-name alias/release")]
    DeleteAlias {
        /// The alias, `alias/...`.
        #[arg(long)]
        alias_name: String,
    },
    /// List aliases by name (ListAliases).
    #[command(after_help = "Example:\n  keyseal kms list-aliases")]
    ListAliases(PageArgs),
    /// Enable a disabled key (EnableKey).
    #[command(after_help = "Example:\n  keyseal kms enable-key --key-id alias/release")]
    EnableKey(KeyIdArg),
    /// Disable a key: every cryptographic use is refused until it is enabled (DisableKey).
    #[command(after_help = "Example:\n  keyseal kms disable-key --key-id alias/release")]
    DisableKey(KeyIdArg),
    /// Make a key unusable now and delete it, with all its versions, after 7-366 days
    /// (ScheduleKeyDeletion).
    #[command(
        after_help = "Example:\n  keyseal kms schedule-key-deletion --key-id KEY_ID --pending-window-in-days 30\n\n\
Until the date passes, cancel-key-deletion brings the key back. After it, the key and
every signature-making ability it had are gone for good."
    )]
    ScheduleKeyDeletion {
        #[command(flatten)]
        key: KeyIdArg,
        /// Days until deletion, 7 to 366.
        #[arg(long)]
        pending_window_in_days: u32,
    },
    /// Stop a pending deletion; the key comes back enabled (CancelKeyDeletion).
    #[command(after_help = "Example:\n  keyseal kms cancel-key-deletion --key-id KEY_ID")]
    CancelKeyDeletion(KeyIdArg),
    /// Print a key version's public key as SubjectPublicKeyInfo PEM (GetPublicKey).
    #[command(
        after_help = "Examples:\n  keyseal kms get-public-key --key-id alias/release --key-version-id VERSION --out pub.pem\n  openssl pkey -pubin -in pub.pem -noout -text\n  keyseal kms get-public-key --key-id alias/release --key-version-id VERSION --format ssh --out release.pub\n\n\
With --format ssh, the key is printed as one OpenSSH public key line (ecdsa-sha2-nistp256 or
ssh-rsa; EC_P256K keys have no SSH form) instead of the API's JSON answer; `keyseal ssh
allowed-signers` prints it as an allowed_signers line for `ssh-keygen -Y verify`."
    )]
    GetPublicKey {
        #[command(flatten)]
        version: KeyVersionArgs,
        /// Also write the key to this file (PEM, or the OpenSSH line with --format ssh).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// pem: the API's JSON answer, the key as SubjectPublicKeyInfo PEM; ssh: an OpenSSH public key line.
        #[arg(long, default_value = "pem", value_parser = ["pem", "ssh"])]
        format: String,
    },
    /// Sign a SHA-256 digest with a key version's private key (AsymmetricSign).
    #[command(
        after_help = "Examples:\n  keyseal kms asymmetric-sign --key-id alias/release --key-version-id VERSION \\\n      --algorithm ECDSA_SHA_256 --file app.tar.gz --out app.tar.gz.sig\n  keyseal kms asymmetric-sign ... --digest \"$(sha256sum app.tar.gz | cut -d' ' -f1)\" --hex\n\n\
The signature (DER for ECDSA) verifies with
  openssl dgst -sha256 -verify pub.pem -signature app.tar.gz.sig app.tar.gz
(for RSA_PSS_SHA_256 add -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1)."
    )]
    AsymmetricSign {
        #[command(flatten)]
        version: KeyVersionArgs,
        /// RSA_PSS_SHA_256 or RSA_PKCS1_SHA_256 (RSA_2048), ECDSA_SHA_256 (EC keys).
        #[arg(long, value_parser = wire::<Algorithm>(SIGN_ALGORITHMS))]
        algorithm: Algorithm,
        #[command(flatten)]
        digest: DigestArgs,
        /// Also write the raw signature to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a signature over a SHA-256 digest with a key version (AsymmetricVerify).
    /// Exits 1 when the signature is not valid.
    #[command(
        after_help = "Example:\n  keyseal kms asymmetric-verify --key-id alias/release --key-version-id VERSION \\\n      --algorithm ECDSA_SHA_256 --file app.tar.gz --value-file app.tar.gz.sig"
    )]
    AsymmetricVerify {
        #[command(flatten)]
        version: KeyVersionArgs,
        /// RSA_PSS_SHA_256 or RSA_PKCS1_SHA_256 (RSA_2048), ECDSA_SHA_256 (EC keys).
        #[arg(long, value_parser = wire::<Algorithm>(SIGN_ALGORITHMS))]
        algorithm: Algorithm,
        #[command(flatten)]
        digest: DigestArgs,
        /// The signature, base64.
        #[arg(long, required_unless_present = "value_file", conflicts_with = "value_file")]
        value: Option<String>,
        /// The signature as a raw file (what asymmetric-sign --out wrote).
        #[arg(long, value_name = "FILE")]
        value_file: Option<PathBuf>,
    },
    /// Encrypt with a key version's public key, RSA-OAEP (AsymmetricEncrypt).
    #[command(
        after_help = "Example:\n  keyseal kms asymmetric-encrypt --key-id alias/secrets --key-version-id VERSION \\\n      --algorithm RSAES_OAEP_SHA_256 --plaintext-file token.txt --out token.enc\n\n\
At most 190 bytes (RSAES_OAEP_SHA_256) or 214 bytes (RSAES_OAEP_SHA_1) per call.",
        group(one_of("plaintext_input", ["plaintext", "plaintext_file"]))
    )]
    AsymmetricEncrypt {
        #[command(flatten)]
        version: KeyVersionArgs,
        /// RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1.
        #[arg(long, value_parser = wire::<Algorithm>(ENCRYPT_ALGORITHMS))]
        algorithm: Algorithm,
        /// The plaintext, base64.
        #[arg(long)]
        plaintext: Option<String>,
        /// Read the plaintext raw from this file.
        // `--file` was this flag's first name: kept as a hidden alias so scripts still work,
        // but not shown, since on sign and verify `--file` means "hash this file".
        #[arg(long, alias = "file", value_name = "FILE")]
        plaintext_file: Option<PathBuf>,
        /// Also write the raw ciphertext to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Decrypt an RSA-OAEP ciphertext with a key version's private key (AsymmetricDecrypt).
    #[command(
        after_help = "Example:\n  keyseal kms asymmetric-decrypt --key-id alias/secrets --key-version-id VERSION \\\n      --algorithm RSAES_OAEP_SHA_256 --ciphertext-file token.enc --out token.txt\n\n\
With --out the plaintext goes only to the file (created mode 0600), not to the screen.",
        group(one_of("ciphertext_input", ["ciphertext_blob", "ciphertext_file"]))
    )]
    AsymmetricDecrypt {
        #[command(flatten)]
        version: KeyVersionArgs,
        /// RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1.
        #[arg(long, value_parser = wire::<Algorithm>(ENCRYPT_ALGORITHMS))]
        algorithm: Algorithm,
        /// The ciphertext, base64.
        #[arg(long)]
        ciphertext_blob: Option<String>,
        /// Read the ciphertext raw from this file (what asymmetric-encrypt --out wrote).
        // `--file` was this flag's first name: a hidden alias, as on asymmetric-encrypt.
        #[arg(long, alias = "file", value_name = "FILE")]
        ciphertext_file: Option<PathBuf>,
        /// Write the plaintext to this file instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `--key-id`.
#[derive(Debug, Args)]
pub struct KeyIdArg {
    /// The key: its KeyId, `alias/NAME`, or its ARN.
    #[arg(long)]
    pub key_id: String,
}

/// `--key-id` and `--key-version-id`.
#[derive(Debug, Args)]
pub struct KeyVersionArgs {
    /// The key: its KeyId, `alias/NAME`, or its ARN.
    #[arg(long)]
    pub key_id: String,
    /// The key version (there is no default version: list-key-versions shows them).
    #[arg(long)]
    pub key_version_id: String,
}

/// `--page-number` and `--page-size`.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Page to show, from 1.
    #[arg(long, default_value_t = 1)]
    pub page_number: u32,
    /// Entries per page, 1 to 100.
    #[arg(long, default_value_t = 10)]
    pub page_size: u32,
}

/// `--alias-name` and `--key-id`.
#[derive(Debug, Args)]
pub struct AliasArgs {
    /// The alias, `alias/...` (letters, digits, '_', '-', '/').
    #[arg(long)]
    pub alias_name: String,
    /// The key it points at: KeyId, `alias/NAME` or ARN.
    #[arg(long)]
    pub key_id: String,
}

/// The digest to sign or verify: `--digest` (base64, or hex with `--hex`) or `--file`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    /// The message's SHA-256 digest, base64 (or hex with --hex).
    #[arg(long, required_unless_present = "file", conflicts_with = "file")]
    pub digest: Option<String>,
    /// --digest is hex, as sha256sum prints it.
    #[arg(long, requires = "digest")]
    pub hex: bool,
    /// Hash this file with SHA-256 instead of giving --digest.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

impl DigestArgs {
    fn bytes(&self) -> Result<Vec<u8>, KmsError> {
        input::digest(self.digest.as_deref(), self.hex, self.file.as_deref())
    }
}

impl PageArgs {
    fn request(&self) -> PageRequest {
        PageRequest { page_number: self.page_number, page_size: self.page_size }
    }
}

impl KeyIdArg {
    fn request(&self) -> KeyIdRequest {
        KeyIdRequest { key_id: self.key_id.clone() }
    }
}

impl KeyVersionArgs {
    fn request(&self) -> KeyVersionRequest {
        KeyVersionRequest { key_id: self.key_id.clone(), key_version_id: self.key_version_id.clone() }
    }
}

impl AliasArgs {
    fn request(&self) -> AliasRequest {
        AliasRequest { alias_name: self.alias_name.clone(), key_id: self.key_id.clone() }
    }
}

/// Runs one action against `kms` and prints its response.
pub fn run(action: KmsAction, kms: &dyn Kms) -> Result<Outcome, KmsError> {
    use KmsAction::*;
    match action {
        CreateKey { key_spec, key_usage, description, protection_level } => {
            print_json(&kms.create_key(&CreateKeyRequest { key_spec, key_usage, description, protection_level })?)?
        }
        CreateKeyVersion(key) => print_json(&kms.create_key_version(&key.request())?)?,
        DescribeKey(key) => print_json(&kms.describe_key(&key.request())?)?,
        DescribeKeyVersion(version) => print_json(&kms.describe_key_version(&version.request())?)?,
        ListKeys(page) => print_json(&kms.list_keys(&page.request())?)?,
        ListKeyVersions { key, page } => {
            print_json(&kms.list_key_versions(&ListKeyVersionsRequest { key_id: key.key_id, page: page.request() })?)?
        }
        CreateAlias(alias) => print_json(&kms.create_alias(&alias.request())?)?,
        UpdateAlias(alias) => print_json(&kms.update_alias(&alias.request())?)?,
        DeleteAlias { alias_name } => print_json(&kms.delete_alias(&DeleteAliasRequest { alias_name })?)?,
        ListAliases(page) => print_json(&kms.list_aliases(&page.request())?)?,
        EnableKey(key) => print_json(&kms.enable_key(&key.request())?)?,
        DisableKey(key) => print_json(&kms.disable_key(&key.request())?)?,
        ScheduleKeyDeletion { key, pending_window_in_days } => print_json(
            &kms.schedule_key_deletion(&ScheduleKeyDeletionRequest { key_id: key.key_id, pending_window_in_days })?,
        )?,
        CancelKeyDeletion(key) => print_json(&kms.cancel_key_deletion(&key.request())?)?,
        GetPublicKey { version, out, format } if format == "ssh" => {
            let line = crate::cli::ssh::public_key_line(kms, &version.key_id, &version.key_version_id)?;
            if let Some(path) = out {
                input::write_out(&path, format!("{line}\n").as_bytes(), false)?;
            }
            crate::outln!("{line}");
        }
        GetPublicKey { version, out, .. } => {
            let response = kms.get_public_key(&version.request())?;
            if let Some(path) = out {
                input::write_out(&path, response.public_key.as_bytes(), false)?;
            }
            print_json(&response)?
        }
        AsymmetricSign { version, algorithm, digest, out } => {
            let request = SignRequest {
                key_id: version.key_id,
                key_version_id: version.key_version_id,
                algorithm,
                digest: digest.bytes()?,
            };
            let response = kms.asymmetric_sign(&request)?;
            if let Some(path) = out {
                input::write_out(&path, &response.value, false)?;
            }
            print_json(&response)?
        }
        AsymmetricVerify { version, algorithm, digest, value, value_file } => {
            let signature = match (value, value_file) {
                (_, Some(path)) => input::read_file("--value-file", &path)?,
                (Some(value), None) => input::base64_flag("--value", &value)?,
                (None, None) => return Err(KmsError::missing("--value or --value-file")),
            };
            let request = VerifyRequest {
                key_id: version.key_id,
                key_version_id: version.key_version_id,
                algorithm,
                digest: digest.bytes()?,
                value: signature,
            };
            let response = kms.asymmetric_verify(&request)?;
            print_json(&response)?;
            if !response.value {
                return Ok(Outcome::VerificationFailed);
            }
        }
        AsymmetricEncrypt { version, algorithm, plaintext, plaintext_file, out } => {
            let plaintext = match (plaintext, plaintext_file) {
                (_, Some(path)) => input::read_secret_file("--plaintext-file", &path)?,
                (Some(value), None) => Zeroizing::new(input::base64_flag("--plaintext", &value)?),
                (None, None) => return Err(KmsError::missing("--plaintext or --plaintext-file")),
            };
            let request =
                EncryptRequest { key_id: version.key_id, key_version_id: version.key_version_id, algorithm, plaintext };
            let response = kms.asymmetric_encrypt(&request)?;
            if let Some(path) = out {
                input::write_out(&path, &response.ciphertext_blob, false)?;
            }
            print_json(&response)?
        }
        AsymmetricDecrypt { version, algorithm, ciphertext_blob, ciphertext_file, out } => {
            let ciphertext_blob = match (ciphertext_blob, ciphertext_file) {
                (_, Some(path)) => input::read_file("--ciphertext-file", &path)?,
                (Some(value), None) => input::base64_flag("--ciphertext-blob", &value)?,
                (None, None) => return Err(KmsError::missing("--ciphertext-blob or --ciphertext-file")),
            };
            let request = DecryptRequest {
                key_id: version.key_id,
                key_version_id: version.key_version_id,
                algorithm,
                ciphertext_blob,
            };
            let response = kms.asymmetric_decrypt(&request)?;
            match out {
                Some(path) => {
                    input::write_out(&path, &response.plaintext, true)?;
                    print_json(&serde_json::json!({
                        "RequestId": response.request_id,
                        "KeyId": response.key_id,
                        "KeyVersionId": response.key_version_id,
                    }))?
                }
                None => print_json(&response)?,
            }
        }
    }
    Ok(Outcome::Success)
}
