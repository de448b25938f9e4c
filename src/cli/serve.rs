//! `keyseal serve` and `keyseal access ...`: run the KMS over HTTP, and manage the access
//! keys and policies its callers use.

use crate::cli::{CliError, Outcome, print_json};
use crate::kms::LocalKms;
use crate::server::{ServeOptions, serve};
use crate::tsa::reply::TsaConfig;
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// `keyseal serve` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  KEYSEAL_PASSPHRASE=... keyseal serve --listen 127.0.0.1:8080\n  keyseal serve --listen 0.0.0.0:8443 --tls-cert kms.pem --tls-key kms.key\n  curl http://127.0.0.1:8080/health\n  curl http://127.0.0.1:8080/metrics\n\n\
Speaks KMS OpenAPI 2016-01-20 at POST /, so the official Alibaba Cloud SDKs work against
it: requests are signed with ACS3-HMAC-SHA256 (or HMAC-SHA1) using an access key from
`keyseal access create`, and allowed only as its policies say. Stops gracefully on SIGTERM
or Ctrl-C. Without --tls-cert/--tls-key it speaks plain HTTP: use that on loopback only.
GET /metrics: request counts and latency per action and result, for Prometheus.

Under a flood of connections it stays answerable: idle connections make way for new ones
at --max-connections, a failing accept() (e.g. out of file descriptors) backs off from
5 ms to 1 s instead of spinning, and stderr says the open-file limit and the cap at start.

With --tsa-key-id, --tsa-key-version-id and --tsa-cert it is also an RFC 3161 Time-Stamping
Authority at POST /tsa (Content-Type application/timestamp-query, answered with
application/timestamp-reply), as `keyseal timestamp reply` is on the command line:
  keyseal serve --tsa-key-id alias/tsa --tsa-key-version-id V --tsa-cert tsa-chain.pem
  openssl ts -query -data FILE -cert -sha256 -out q.tsq
  curl -s --data-binary @q.tsq -H 'Content-Type: application/timestamp-query' \\
      http://127.0.0.1:8080/tsa -o r.tsr
A TSA is a public service: /tsa takes no access key. Requests are at most 4096 bytes;
every answer is audited (action TimeStamp, principal anonymous@ADDRESS). The certificate
is checked at start and on every request: none is answered past its notAfter."
)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub max_body: usize,
    /// Serve HTTPS with this certificate chain (PEM, leaf first).
    #[arg(long, value_name = "CERT.pem", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "KEY.pem", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The most connections held at once [default: the open-file limit (raised to its
    /// hard limit at start) less 64 kept for the store and runtime (less half, for a limit
    /// under 128), at most 4096]. At the cap, the idle connection unused the longest is
    /// closed to make room for a new one; when every connection has a request in progress,
    /// a new one is answered 503 with Retry-After.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: Option<u32>,
    /// Requests one keep-alive connection may make; the last is answered with
    /// `Connection: close`.
    #[arg(long, value_name = "N", default_value_t = crate::server::DEFAULT_MAX_REQUESTS_PER_CONNECTION,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_requests_per_connection: u64,
    /// Also be a TSA at POST /tsa, signing with this key (KeyId, alias/NAME or ARN).
    #[arg(long = "tsa-key-id", alias = "tsa-key", value_name = "KEY", requires_all = ["tsa_key_version", "tsa_cert"])]
    pub tsa_key: Option<String>,
    /// The TSA key's version.
    #[arg(long = "tsa-key-version-id", alias = "tsa-key-version", value_name = "VERSION", requires = "tsa_key")]
    pub tsa_key_version: Option<String>,
    /// The TSA's certificate chain (PEM or DER), leaf first, from
    /// `keyseal ca issue --profile timestamping`.
    #[arg(long, value_name = "TSA-CHAIN.pem", requires = "tsa_key")]
    pub tsa_cert: Option<PathBuf>,
    /// The TSA policy OID every token names [default: 1.3.6.1.5.5.7.13.1, a test policy].
    #[arg(long, value_name = "OID", requires = "tsa_key", value_parser = crate::cli::timestamp::parse_oid)]
    pub tsa_policy: Option<der::asn1::ObjectIdentifier>,
    /// Sign an audit checkpoint at start and then every DURATION (`90s`, `10m`, `6h`, `1d`),
    /// into --checkpoint-dir, with --checkpoint-key-id (see `keyseal audit checkpoint`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          requires_all = ["checkpoint_key", "checkpoint_key_version", "checkpoint_dir"])]
    pub checkpoint_every: Option<std::time::Duration>,
    /// The key that signs the checkpoints (KeyId, alias/NAME or ARN).
    #[arg(long = "checkpoint-key-id", value_name = "KEY", requires = "checkpoint_every")]
    pub checkpoint_key: Option<String>,
    /// Its version.
    #[arg(long = "checkpoint-key-version-id", value_name = "VERSION", requires = "checkpoint_every")]
    pub checkpoint_key_version: Option<String>,
    /// Where the checkpoints are written, one file each (`audit-TIME-SIZE.checkpoint`).
    #[arg(long, value_name = "DIR", requires = "checkpoint_every")]
    pub checkpoint_dir: Option<PathBuf>,
}

/// A duration as `--checkpoint-every` takes it: a number and s, m, h or d; at least 10 s.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} is not a duration; give a number and s, m, h or d, e.g. 10m")),
    };
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration; e.g. 10m"))?;
    let total = n.checked_mul(seconds).filter(|s| *s >= 10).ok_or("the interval must be at least 10s")?;
    Ok(std::time::Duration::from_secs(total))
}

/// The access key commands.
#[derive(Debug, Subcommand)]
pub enum AccessAction {
    /// Create an access key; its secret is printed once and stored only sealed.
    #[command(after_help = "Example:\n  keyseal access create ci-release --json > ci-release.key.json")]
    Create {
        /// A name for the caller (letters, digits, '-', '_', '.').
        name: String,
        /// Print {\"AccessKeyId\": .., \"AccessKeySecret\": ..} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Attach a RAM-style policy document to an access key (replacing one of the same name).
    #[command(after_help = "Example:\n  keyseal access attach-policy ci-release sign-only.json\n\n\
sign-only.json:\n  {\"Version\": \"1\", \"Statement\": [{\"Effect\": \"Allow\",\n    \"Action\": [\"kms:AsymmetricSign\", \"kms:GetPublicKey\", \"kms:DescribeKey\"],\n    \"Resource\": [\"acs:kms:*:*:alias/release\"]}]}\n\n\
Deny by default; an explicit Deny wins; '*' and '?' are wildcards.")]
    AttachPolicy {
        /// The access key's name.
        name: String,
        /// The policy document (JSON).
        policy: PathBuf,
        /// The policy's name (default: the file name without extension).
        #[arg(long)]
        policy_name: Option<String>,
    },
    /// List access keys and their policies (never the secrets).
    #[command(after_help = "Example:\n  keyseal access list --json")]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disable an access key: its requests are refused until enabled.
    #[command(after_help = "Example:\n  keyseal access disable ci-release")]
    Disable {
        /// The access key's name.
        name: String,
    },
    /// Enable a disabled access key.
    #[command(after_help = "Example:\n  keyseal access enable ci-release")]
    Enable {
        /// The access key's name.
        name: String,
    },
    /// Delete an access key and its policies.
    #[command(after_help = "Example:\n  keyseal access delete ci-release")]
    Delete {
        /// The access key's name.
        name: String,
    },
}

/// Runs `keyseal serve`.
pub fn run_serve(args: ServeArgs, kms: LocalKms) -> Result<Outcome, CliError> {
    let mut options = ServeOptions::new(args.listen);
    options.max_body = args.max_body;
    options.tls = args.tls_cert.zip(args.tls_key);
    options.max_connections = args.max_connections.map(|n| n as usize);
    options.max_requests_per_connection = args.max_requests_per_connection;
    if let (Some(key_id), Some(key_version_id), Some(cert)) = (args.tsa_key, args.tsa_key_version, args.tsa_cert) {
        options.tsa = Some(TsaConfig {
            key_id,
            key_version_id,
            algorithm: None,
            chain: crate::cli::cert::certificates(
                std::slice::from_ref(&cert),
                "--tsa-cert",
                crate::x509::path::MAX_UNTRUSTED_CERTIFICATES,
            )?,
            policy: args.tsa_policy.unwrap_or(crate::tsa::DEFAULT_POLICY),
        });
    }
    if let (Some(every), Some(key_id), Some(key_version_id), Some(dir)) =
        (args.checkpoint_every, args.checkpoint_key, args.checkpoint_key_version, args.checkpoint_dir)
    {
        options.checkpoints = Some(crate::server::CheckpointSchedule { every, key_id, key_version_id, dir });
    }
    serve(kms, options)?;
    Ok(Outcome::Success)
}

/// Runs an access key command.
pub fn run_access(action: AccessAction, kms: &LocalKms) -> Result<Outcome, CliError> {
    match action {
        AccessAction::Create { name, json } => {
            let key = kms.create_access_key(&name)?;
            if json {
                print_json(&key)?;
            } else {
                crate::outln!("AccessKeyId:     {}", key.access_key_id);
                crate::outln!("AccessKeySecret: {}", key.access_key_secret.as_str());
                crate::errln!(
                    "The secret is shown this once; store it now (e.g. as a CI secret). Attach a policy: keyseal access attach-policy {name} POLICY.json"
                );
            }
        }
        AccessAction::AttachPolicy { name, policy, policy_name } => {
            let document = std::fs::read_to_string(&policy).map_err(|e| {
                crate::kms::KmsError::invalid("POLICY", format!("cannot read {}: {e}", policy.display()))
            })?;
            let policy_name = policy_name.unwrap_or_else(|| {
                policy.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "policy".into())
            });
            kms.attach_policy(&name, &policy_name, &document)?;
            crate::outln!("attached policy {policy_name} to {name}");
        }
        AccessAction::List { json } => {
            let keys = kms.list_access_keys()?;
            if json {
                print_json(&keys)?;
            } else {
                for key in keys {
                    crate::outln!(
                        "{:<24} {}  {:<8} created {}  policies: {}",
                        key.name,
                        key.access_key_id,
                        key.status,
                        key.create_date,
                        key.policies.join(", ")
                    );
                }
            }
        }
        AccessAction::Disable { name } => {
            kms.set_access_key_active(&name, false)?;
            crate::outln!("disabled {name}");
        }
        AccessAction::Enable { name } => {
            kms.set_access_key_active(&name, true)?;
            crate::outln!("enabled {name}");
        }
        AccessAction::Delete { name } => {
            kms.delete_access_key(&name)?;
            crate::outln!("deleted {name}");
        }
    }
    Ok(Outcome::Success)
}
