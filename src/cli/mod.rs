//! The `keyseal` command line: clap types and one file per command group. No business
//! logic lives here: commands turn flags into typed requests, call the library, and print.

pub mod attest;
pub mod audit;
pub mod ca;
pub mod cert;
pub mod count;
pub mod demo;
pub mod docs;
pub mod env;
pub mod hsm;
pub mod input;
pub mod key_args;
pub mod kms;
pub mod output;
pub mod pgp;
pub mod progress;
pub mod release;
pub mod serve;
pub mod ssh;
pub mod store;
pub mod timestamp;
pub mod trust;

use crate::kms::LocalKms;
use crate::kms::error::{ErrorBody, KmsError};
use crate::kms::remote::RemoteKms;
use crate::kms::seal::{KdfParams, SecretSource};
use crate::release::ReleaseError;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Exit status: 0 success, 1 a verification said no, 2 usage, input or service error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done and every check passed.
    Success,
    /// A check ran and failed (a signature, the audit chain).
    VerificationFailed,
}

/// Versioned asymmetric keys in a KMS, release signing, a mini-CA and an offline
/// verifier.
#[derive(Debug, Parser)]
#[command(name = "keyseal", version, about, long_about = None, after_help = TOP_HELP)]
pub struct Cli {
    /// Store directory (holds keyseal.db), or a postgresql://USER@HOST:PORT/DB URL for a
    /// store shared by several servers; KEYSEAL_STORE when not given, else the platform
    /// data directory, e.g. ~/.local/share/keyseal.
    #[arg(long, global = true, value_name = "DIR|URL", help_heading = GLOBAL)]
    pub store: Option<PathBuf>,

    /// Unlock private keys with the bytes of this file instead of a passphrase
    /// (KEYSEAL_PASSPHRASE, or a prompt on a terminal); KEYSEAL_KEY_FILE when not given.
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub key_file: Option<PathBuf>,

    /// Use the KMS at this URL (a `keyseal serve`, or Alibaba Cloud KMS at
    /// https://kms.REGION.aliyuncs.com) instead of the embedded store, with
    /// KEYSEAL_ACCESS_KEY_ID and KEYSEAL_ACCESS_KEY_SECRET, plus KEYSEAL_SECURITY_TOKEN for
    /// STS credentials from a RAM role (cloud KMS only: keyseal serve takes long-term access
    /// keys); KEYSEAL_ENDPOINT when not given. Applies to `kms`, `sign`, `attest`,
    /// `ca` and `timestamp reply` (the CA's certificate index and the TSA's audit entries stay in the
    /// local store).
    #[arg(long, global = true, value_name = "URL", help_heading = GLOBAL)]
    pub endpoint: Option<String>,

    /// Trust these CA certificates (PEM) for an https --endpoint instead of the public
    /// web roots; KEYSEAL_ENDPOINT_CA when not given.
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub endpoint_ca: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the flags every command takes, so that a command's own flags are
/// not interleaved with them.
const GLOBAL: &str = "Global options";

const TOP_HELP: &str = "\
Private keys and access-key secrets in the store are sealed under a passphrase: set
KEYSEAL_PASSPHRASE, pass --key-file, or run on a terminal to be asked. Only the commands
that make or use one need it: kms create-key, kms create-key-version, kms asymmetric-sign,
kms asymmetric-decrypt, sign, attest, ca init, ca issue, ca csr, ca crl, timestamp reply,
access create, serve and demo --store.
With --endpoint, kms, sign, attest, ca and timestamp reply use the remote KMS's keys and
need no passphrase here.

Exit status: 0 success, 1 a verification failed, 2 a usage, input or KMS error.

Shell completions and man pages, generated from these definitions:
  keyseal completions bash|zsh|fish|powershell|elvish    (see keyseal completions --help)
  keyseal man | man -l -        keyseal man --out-dir DIR   (one page per command)

Example:
  keyseal kms create-key --key-spec EC_P256 --key-usage SIGN/VERIFY
  keyseal kms asymmetric-sign --key-id alias/release --key-version-id VERSION \\
      --algorithm ECDSA_SHA_256 --file release.tar.gz --out release.tar.gz.sig";

impl Cli {
    /// Whether this command's errors are printed as the KMS API's error body
    /// (`keyseal kms ...` mirrors the API, so its errors do too).
    pub fn speaks_api(&self) -> bool {
        matches!(self.command, Command::Kms(_))
    }
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Key management: one subcommand per KMS OpenAPI action (create-key, asymmetric-sign, ...).
    #[command(subcommand)]
    Kms(kms::KmsAction),
    /// Check and read the hash-chained audit log of the store.
    #[command(subcommand)]
    Audit(audit::AuditAction),
    /// The mini-CA: root and intermediate CAs on KMS keys, certificates, revocation, CRLs.
    #[command(subcommand)]
    Ca(ca::CaAction),
    /// Certificates on their own: validate a chain against trust anchors.
    #[command(subcommand)]
    Cert(cert::CertAction),
    /// Sign a release: hash every file into SHA256SUMS and sign it with a KMS key version.
    Sign(release::SignArgs),
    /// Verify a release offline against its bundle and the signer's pinned public key.
    Verify(release::VerifyArgs),
    /// Sign an in-toto statement about files (provenance, an SBOM, ...) as a DSSE attestation.
    Attest(attest::AttestArgs),
    /// Verify an attestation offline: its signer, signature, statement, predicate type and subjects.
    VerifyAttestation(attest::VerifyAttestationArgs),
    /// Serve the KMS over its OpenAPI (HTTP) to SDKs and other keyseal instances.
    Serve(serve::ServeArgs),
    /// Access keys and policies for `keyseal serve`'s callers.
    #[command(subcommand)]
    Access(serve::AccessAction),
    /// The PKCS#11 token (HSM) that keeps the store's ProtectionLevel HSM keys.
    #[command(subcommand)]
    Hsm(hsm::HsmAction),
    /// The store itself: copy it into a new one (SQLite to PostgreSQL, and back).
    #[command(subcommand)]
    Store(store::StoreAction),
    /// A guided tour, on a throwaway store unless --store: keys, versions, signing,
    /// verification, encryption, audit.
    Demo(demo::DemoArgs),
    /// RFC 3161 time stamps: make a request, answer one as a TSA on a KMS key version, verify a reply.
    #[command(subcommand)]
    Timestamp(timestamp::TimestampAction),
    /// Trust material for other verifiers: keyseal's roots as a Sigstore trusted_root.json.
    #[command(subcommand)]
    Trust(trust::TrustAction),
    /// KMS keys as OpenSSH knows them: allowed_signers lines for `ssh-keygen -Y verify`.
    #[command(subcommand)]
    Ssh(ssh::SshAction),
    /// KMS keys as OpenPGP certificates, for `gpgv` and `sqv`.
    #[command(subcommand)]
    Pgp(pgp::PgpAction),
    /// Print a completion script for bash, zsh, fish, powershell or elvish.
    Completions(docs::CompletionsArgs),
    /// Print keyseal's man page (roff), or write one page per command with --out-dir.
    Man(docs::ManArgs),
}

/// What can stop a command: a KMS refusal (printed as the API's error body) or a
/// pipeline error (printed as text with its code).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The KMS refused or failed.
    #[error("{0}")]
    Kms(#[from] KmsError),
    /// The release pipeline could not go on.
    #[error("{0}")]
    Release(#[from] ReleaseError),
    /// The CA refused or failed.
    #[error("{0}")]
    Ca(#[from] crate::ca::CaError),
    /// A time-stamp query, reply or check could not go on.
    #[error("{0}")]
    Tsa(#[from] crate::tsa::TsaError),
}

/// Runs the parsed command; errors come back for `main` to print.
pub fn run(cli: Cli) -> Result<Outcome, CliError> {
    let Cli { store, key_file, endpoint, endpoint_ca, command } = cli;
    // `demo` runs on a store only when one is given on its command line.
    let store_flag = store.clone();
    // The variables are defaults applied after parsing (see `env` for why not clap's).
    let store = env::path_or(store, env::STORE);
    let key_file = env::path_or(key_file, env::KEY_FILE);
    let endpoint = env::text_or(endpoint, env::ENDPOINT)?;
    let endpoint_ca = env::path_or(endpoint_ca, env::ENDPOINT_CA);
    // Only commands that use keys open the store; `verify` works with none.
    let local = || open_local(&store_dir(store.as_deref())?, secret_source(key_file.clone()));
    // Signing remotely, a `--cert` chain is still checked against this host's CA index,
    // when this host has a store.
    let ca_index = || -> Result<Option<crate::kms::store::Store>, KmsError> {
        store_dir(store.as_deref())
            .ok()
            .filter(|dir| {
                dir.to_str().is_some_and(crate::kms::postgres::is_url) || dir.join(crate::kms::store::DB_FILE).is_file()
            })
            .map(|dir| crate::kms::store::Store::open(&dir))
            .transpose()
    };
    let remote = || -> Result<Option<RemoteKms>, KmsError> {
        let Some(endpoint) = &endpoint else { return Ok(None) };
        let access_key_id = std::env::var("KEYSEAL_ACCESS_KEY_ID").unwrap_or_default();
        let secret = Zeroizing::new(std::env::var("KEYSEAL_ACCESS_KEY_SECRET").unwrap_or_default());
        // STS credentials (a RAM role's, e.g. from CI's OIDC) carry a token beside the pair.
        let token = Zeroizing::new(std::env::var("KEYSEAL_SECURITY_TOKEN").unwrap_or_default());
        let remote = RemoteKms::new(endpoint, &access_key_id, secret)?.with_security_token(token);
        match &endpoint_ca {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| KmsError::invalid("--endpoint-ca", format!("cannot read {}: {e}", path.display())))?;
                remote.trusting(&pem).map(Some)
            }
            None => Ok(Some(remote)),
        }
    };
    match command {
        Command::Kms(action) => Ok(match remote()? {
            Some(remote) => kms::run(action, &remote)?,
            None => kms::run(action, &local()?)?,
        }),
        Command::Audit(action) => Ok(audit::run(action, &local()?)?),
        Command::Pgp(action) => match remote()? {
            Some(remote) => pgp::run(action, &remote),
            None => pgp::run(action, &local()?),
        },
        Command::Ssh(action) => Ok(match remote()? {
            Some(remote) => ssh::run(action, &remote)?,
            None => ssh::run(action, &local()?)?,
        }),
        Command::Ca(action) => match remote()? {
            Some(remote) => ca::run(action, &remote, &crate::kms::store::Store::open(&store_dir(store.as_deref())?)?),
            None => {
                let local = local()?;
                ca::run(action, &local, local.store())
            }
        },
        Command::Sign(args) => match remote()? {
            Some(remote) => release::sign(args, &remote, ca_index()?.as_ref()),
            None => {
                let local = local()?;
                release::sign(args, &local, Some(local.store()))
            }
        },
        Command::Verify(args) => release::verify(args),
        Command::VerifyAttestation(args) => attest::run_verify(args),
        Command::Attest(args) => match remote()? {
            Some(remote) => attest::run_attest(args, &remote, ca_index()?.as_ref()),
            None => {
                let local = local()?;
                attest::run_attest(args, &local, Some(local.store()))
            }
        },
        Command::Cert(action) => cert::run(action),
        Command::Trust(action) => trust::run(action),
        Command::Serve(args) => serve::run_serve(args, local()?),
        Command::Access(action) => serve::run_access(action, &local()?),
        Command::Hsm(action) => Ok(hsm::run(action, &local()?)?),
        Command::Store(action) => Ok(store::run(action)?),
        Command::Completions(args) => Ok(docs::completions(args)?),
        Command::Man(args) => Ok(docs::man(args)?),
        Command::Demo(args) => Ok(demo::run(args, store_flag.as_deref(), secret_source(key_file))?),
        Command::Timestamp(action) => timestamp::run(action, || match remote()? {
            Some(remote) => Ok(timestamp::Signer::Remote(
                Box::new(remote),
                crate::kms::store::Store::open(&store_dir(store.as_deref())?)?,
            )),
            None => Ok(timestamp::Signer::Local(local()?)),
        }),
    }
}

/// Opens the embedded KMS acting as the local user. `KEYSEAL_KDF` (`m=KIB,t=PASSES,p=LANES`)
/// sets the Argon2id cost of a store made now; it is checked before the store is touched.
/// `KEYSEAL_PKCS11_URI` names the token of HSM keys instead of the store's.
pub fn open_local(store: &std::path::Path, secret: SecretSource) -> Result<LocalKms, KmsError> {
    const VAR: &str = "KEYSEAL_KDF";
    let kdf = match std::env::var(VAR) {
        Ok(text) => KdfParams::parse(&text).map_err(|why| {
            let default = KdfParams::default();
            KmsError::invalid(
                VAR,
                format!(
                    "{why}; give m=KIB,t=PASSES,p=LANES within m={}..={}, t={}..={}, p={}..={}, or unset it for m={},t={},p={}",
                    KdfParams::MEMORY_KIB.start(),
                    KdfParams::MEMORY_KIB.end(),
                    KdfParams::ITERATIONS.start(),
                    KdfParams::ITERATIONS.end(),
                    KdfParams::PARALLELISM.start(),
                    KdfParams::PARALLELISM.end(),
                    default.memory_kib,
                    default.iterations,
                    default.parallelism
                ),
            )
        })?,
        Err(std::env::VarError::NotPresent) => KdfParams::default(),
        // Not silently the default: the store would be made with a cost nobody chose.
        Err(std::env::VarError::NotUnicode(_)) => return Err(KmsError::invalid(VAR, "is not valid UTF-8 text")),
    };
    let token_uri = env::text_or(None, env::PKCS11_URI)?;
    Ok(LocalKms::open(store, secret, &local_principal())?.with_new_store_kdf(kdf).with_token_uri(token_uri))
}

/// `local:<login name>`, as recorded in the audit log for commands run on this host.
pub fn local_principal() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("local:{user}")
}

fn store_dir(flag: Option<&std::path::Path>) -> Result<PathBuf, KmsError> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    dirs::data_dir().map(|d| d.join("keyseal")).ok_or_else(|| {
        KmsError::invalid("--store", "this platform has no data directory; pass --store DIR or set KEYSEAL_STORE")
    })
}

/// Where the passphrase comes from: a key file, then KEYSEAL_PASSPHRASE, then a prompt
/// when there is a terminal to ask on.
fn secret_source(key_file: Option<PathBuf>) -> SecretSource {
    if let Some(path) = key_file {
        return SecretSource::KeyFile(path);
    }
    if let Ok(passphrase) = std::env::var("KEYSEAL_PASSPHRASE") {
        return SecretSource::Passphrase(Zeroizing::new(passphrase));
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        SecretSource::Prompt
    } else {
        SecretSource::Unavailable
    }
}

/// Prints an error on stderr: a KMS error from `keyseal kms` as the OpenAPI error body, so
/// scripts read it like the API's; anything else as `keyseal: error [code]: message`, with
/// anything that came from input escaped (a message may name a hostile file or subject).
pub fn print_error(err: &CliError, as_api_body: bool) {
    use crate::quote::escape_lines;
    match err {
        CliError::Kms(err) if as_api_body => match serde_json::to_string_pretty(&ErrorBody::new(err, "keyseal")) {
            Ok(json) => crate::errln!("{json}"),
            Err(_) => crate::errln!("{}", escape_lines(&err.to_string())),
        },
        CliError::Kms(err) => crate::errln!("keyseal: error [{}]: {}", err.code, escape_lines(&err.message)),
        CliError::Release(err) => crate::errln!("keyseal: error [{}]: {}", err.code(), escape_lines(&err.to_string())),
        CliError::Ca(err) => crate::errln!("keyseal: error [{}]: {}", err.code, escape_lines(&err.message)),
        CliError::Tsa(err) => crate::errln!("keyseal: error [{}]: {}", err.code, escape_lines(&err.message)),
    }
}

/// Prints a response as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), KmsError> {
    let json = serde_json::to_string_pretty(value)
        .map_err(|e| KmsError::internal(format!("cannot encode the response: {e}")))?;
    crate::outln!("{json}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// clap checks a command's definition only when it is parsed, one subcommand at a
    /// time: this checks them all (group names, conflicts, aliases) at once.
    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
