//! `keyseal timestamp ...`: RFC 3161 time stamps. `query` writes a request, `reply` answers
//! one as a TSA whose key is a KMS key version, `verify` checks a reply offline. Flags
//! become calls into `tsa`; results print as text, or JSON with `--json`.

use crate::bounded::{self, InputKind};
use crate::cli::cert::{certificates, trusted_certificates};
use crate::cli::input::write_out;
use crate::cli::key_args::SigningKeyArgs;
use crate::cli::{CliError, Outcome, local_principal, print_json};
use crate::clock::now_unix;
use crate::kms::remote::RemoteKms;
use crate::kms::store::Store;
use crate::kms::{Kms, LocalKms};
use crate::quote::{escape_text, quote_path};
use crate::tsa::query::{QueryRequest, make_query};
use crate::tsa::reply::{Desk, Outcome as ReplyOutcome, Tsa, TsaConfig};
use crate::tsa::verify::{Expected, TokenReport, TsaTrust, verify_reply};
use crate::tsa::{DEFAULT_POLICY, ImprintHash, TsaCode, TsaError};
use crate::x509::path::MAX_UNTRUSTED_CERTIFICATES;
use clap::{ArgGroup, Args, Subcommand};
use std::path::{Path, PathBuf};

/// The time-stamp commands.
#[derive(Debug, Subcommand)]
pub enum TimestampAction {
    /// Write an RFC 3161 time-stamp request (DER), as `openssl ts -query` does.
    #[command(
        after_help = "Examples:\n  keyseal timestamp query --data release.tar.gz --cert-req --out release.tsq\n  keyseal timestamp query --digest $(sha384sum release.tar.gz | cut -d' ' -f1) --hash sha384 --out release.tsq\n  openssl ts -query -in release.tsq -text\n\n\
The request carries the hash of the data (never the data), a random 64-bit nonce the
reply must echo (unless --no-nonce), and with --cert-req asks the TSA to include its
certificate chain in the reply."
    )]
    Query(QueryArgs),
    /// Answer a time-stamp request as a TSA whose key is a KMS key version, as
    /// `openssl ts -reply` does.
    #[command(
        after_help = "Example:\n  keyseal timestamp reply --key-id alias/tsa --key-version-id V --cert tsa-chain.pem \\\n      --in release.tsq --out release.tsr\n  openssl ts -verify -in release.tsr -queryfile release.tsq -CAfile root.pem -untrusted tsa-chain.pem\n\n\
--cert is the TSA's chain, leaf first. The leaf must certify the key version and be a
time-stamping certificate valid now (a critical extendedKeyUsage of only timeStamping, as
`keyseal ca issue --profile timestamping` issues); otherwise nothing is answered. A TSA
does not sign with RSA_PSS_SHA_256: `openssl ts -verify` cannot check a PSS token.

A token carries the request's imprint (SHA-256, SHA-384 or SHA-512) and nonce, a random
160-bit serial, genTime to the second with an accuracy of 1 s, the policy (--policy;
default 1.3.6.1.5.5.7.13.1, the RFC 7229 test policy: pass your own in production), and the
signingCertificateV2 attribute (RFC 5816). With certReq the chain is included. The private
key stays in the KMS: the signed attributes are signed with AsymmetricSign.

A request that cannot be granted gets a reply with status rejection and the failInfo that
says why: badDataFormat (not DER, or an imprint of the wrong length), badRequest (not
version 1), badAlg (another hash, or hash parameters), unacceptedPolicy (another policy),
unacceptedExtension (a critical extension). The reply is written either way; exit 0 when
granted, 1 when rejected. Every answer to a TimeStampReq is recorded in the audit log
(action TimeStamp); input that is not one at all is rejected and not recorded."
    )]
    Reply(ReplyArgs),
    /// Verify a time-stamp reply (or token) offline, from any TSA.
    #[command(
        after_help = "Examples:\n  keyseal timestamp verify --in release.tsr --data release.tar.gz --trust root.pem\n  keyseal timestamp verify --in release.tsr --digest HEX --trust root.pem --chain tsa.pem --json\n\n\
Checks, in order: the status is granted (not-granted); the signer's certificate is in the
reply or --chain (tsa-certificate-not-found); the signature over the signed attributes
(bad-tsa-signature), and that they sign this TSTInfo (bad-tsa-signature); the
signingCertificate(V2) attribute names that certificate (bad-signing-certificate); its
chain validates to a --trust root at genTime for timestamping, per RFC 5280 and RFC 3161
(tsa-chain-invalid); the imprint is the hash of --data or equals --digest (bad-imprint).
An algorithm keyseal does not check is unsupported-algorithm. Exit 0 when valid, 1 when a
check failed, 2 on unusable input (malformed-token, unreadable files)."
    )]
    Verify(VerifyArgs),
}

/// What the request or token is over: `--data FILE` or `--digest HEX`.
#[derive(Debug, Args)]
#[command(group = ArgGroup::new("datum").args(["data", "digest"]).required(true))]
pub struct DatumArgs {
    /// The data itself (hashed here, streamed).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Or its digest, hex.
    #[arg(long, value_name = "HEX")]
    pub digest: Option<String>,
}

/// `timestamp query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub datum: DatumArgs,
    /// sha256, sha384 or sha512.
    #[arg(long, default_value = "sha256", value_parser = ImprintHash::parse)]
    pub hash: ImprintHash,
    /// Send no nonce.
    #[arg(long)]
    pub no_nonce: bool,
    /// Ask for the TSA's certificate chain in the reply.
    #[arg(long)]
    pub cert_req: bool,
    /// Write the request (DER) here.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `timestamp reply`.
#[derive(Debug, Args)]
pub struct ReplyArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub key: SigningKeyArgs,
    /// The TSA's certificate chain (PEM or DER), leaf first.
    #[arg(long, value_name = "TSA-CHAIN.pem")]
    pub cert: PathBuf,
    /// The request (DER).
    #[arg(long = "in", value_name = "QUERY.tsq")]
    pub input: PathBuf,
    /// Write the reply (DER) here.
    #[arg(long, value_name = "REPLY.tsr")]
    pub out: PathBuf,
    /// The TSA policy OID every token names.
    #[arg(long, value_name = "OID", value_parser = parse_oid)]
    pub policy: Option<der::asn1::ObjectIdentifier>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `timestamp verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The reply (a TimeStampResp, DER) or a bare token.
    #[arg(long = "in", value_name = "REPLY.tsr")]
    pub input: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub datum: DatumArgs,
    /// Trust anchors for the TSA's chain (PEM bundle or DER); repeatable, at least one.
    #[arg(long, value_name = "ROOT.pem", required = true)]
    pub trust: Vec<PathBuf>,
    /// The TSA's certificate and intermediates, when the reply does not carry them; repeatable.
    #[arg(long, value_name = "CHAIN.pem")]
    pub chain: Vec<PathBuf>,
    /// CRLs to check the TSA chain's revocation with (PEM or DER); repeatable. A TSA
    /// certificate revoked for key compromise (or no stated reason) voids its tokens
    /// whenever it was revoked (RFC 3161 §4).
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// The verification time (2027-01-31T00:00:00Z, 2027-01-31, Unix seconds); default now.
    /// The token's genTime may not be after it, and the CRLs must be current then.
    #[arg(long, value_parser = crate::clock::parse_time)]
    pub at: Option<i64>,
    /// Print the whole report, every check, as JSON.
    #[arg(long)]
    pub json: bool,
}

/// An OID flag's value, dotted.
pub fn parse_oid(text: &str) -> Result<der::asn1::ObjectIdentifier, String> {
    text.parse().map_err(|_| format!("{text:?} is not an OID; write it dotted, e.g. 1.3.6.1.4.1.99999.1"))
}

/// Where `timestamp reply` signs: the embedded KMS, whose store also keeps the audit log,
/// or a remote KMS, with this host's store for the log.
pub enum Signer {
    /// The embedded store.
    Local(LocalKms),
    /// A KMS over the wire (boxed: a client is several times the size of the other
    /// variant), and the local store.
    Remote(Box<RemoteKms>, Store),
}

impl Signer {
    fn parts(&self) -> (&dyn Kms, &Store) {
        match self {
            Signer::Local(local) => (local, local.store()),
            Signer::Remote(remote, store) => (remote.as_ref(), store),
        }
    }
}

/// Runs one time-stamp command; `open` gives the KMS and store, for `reply` only.
pub fn run(action: TimestampAction, open: impl FnOnce() -> Result<Signer, CliError>) -> Result<Outcome, CliError> {
    match action {
        TimestampAction::Query(args) => query(args),
        TimestampAction::Reply(args) => reply(args, &open()?),
        TimestampAction::Verify(args) => verify(args),
    }
}

fn read(flag: &str, path: &Path) -> Result<Vec<u8>, TsaError> {
    bounded::read(path, InputKind::Token).map_err(|e| TsaError::bad_input(format!("{flag}: {e}")))
}

fn hex_digest(value: &str) -> Result<Vec<u8>, TsaError> {
    hex::decode(value.trim()).map_err(|e| {
        TsaError::new(
            TsaCode::BadDigest,
            format!("--digest is not hex ({e}); e.g. the first field of `sha256sum FILE`"),
        )
    })
}

fn query(args: QueryArgs) -> Result<Outcome, CliError> {
    let digest = match (&args.datum.data, &args.datum.digest) {
        (Some(path), _) => args
            .hash
            .digest_file(path)
            .map_err(|e| TsaError::bad_input(format!("cannot read --data {}: {e}", quote_path(path))))?,
        (None, Some(hex)) => hex_digest(hex)?,
        (None, None) => return Err(TsaError::bad_input("give --data FILE or --digest HEX").into()),
    };
    let request = QueryRequest { hash: args.hash, digest, nonce: !args.no_nonce, cert_req: args.cert_req };
    write_out(&args.out, &make_query(&request)?, false)?;
    crate::outln!(
        "wrote a time-stamp request for {} {}{}{} to {}",
        args.hash.name(),
        hex::encode(&request.digest),
        if request.nonce { ", with a nonce" } else { "" },
        if request.cert_req { ", asking for the TSA's certificate" } else { "" },
        quote_path(&args.out)
    );
    Ok(Outcome::Success)
}

fn reply(args: ReplyArgs, signer: &Signer) -> Result<Outcome, CliError> {
    let (kms, store) = signer.parts();
    let principal = local_principal();
    let config = TsaConfig {
        key_id: args.key.key_id.clone(),
        key_version_id: args.key.key_version_id.clone(),
        algorithm: args.key.algorithm,
        chain: certificates(std::slice::from_ref(&args.cert), "--cert", MAX_UNTRUSTED_CERTIFICATES)?,
        policy: args.policy.unwrap_or(DEFAULT_POLICY),
    };
    let tsa = Tsa::open(kms, config, now_unix())?;
    let request = read("--in", &args.input)?;
    let answer = tsa.respond(Desk { kms, store, principal: &principal }, &request, now_unix())?;
    write_out(&args.out, &answer.der, false)?;
    match &answer.outcome {
        ReplyOutcome::Granted { serial, gen_time } => {
            if args.json {
                print_json(&serde_json::json!({ "status": "granted", "serial": serial, "genTime": gen_time }))?;
            } else {
                crate::outln!("granted: serial {serial}, genTime {gen_time}; wrote {}", quote_path(&args.out));
            }
            Ok(Outcome::Success)
        }
        ReplyOutcome::Rejected { fail_info, text } => {
            if args.json {
                print_json(&serde_json::json!({
                    "status": "rejection", "failInfo": fail_info.rfc_name(), "reason": fail_info.code(), "message": text,
                }))?;
            } else {
                crate::outln!(
                    "REJECTED [{}]: {} (failInfo {}); wrote the rejection to {}",
                    fail_info.code(),
                    escape_text(text),
                    fail_info.rfc_name(),
                    quote_path(&args.out)
                );
            }
            Ok(Outcome::VerificationFailed)
        }
    }
}

fn verify(args: VerifyArgs) -> Result<Outcome, CliError> {
    let reply = read("--in", &args.input)?;
    let expected = match (&args.datum.data, &args.datum.digest) {
        (Some(path), _) => Expected::Data(path.clone()),
        (None, Some(hex)) => Expected::Digest(hex_digest(hex)?),
        (None, None) => return Err(TsaError::bad_input("give --data FILE or --digest HEX").into()),
    };
    let intermediates = certificates(&args.chain, "--chain", MAX_UNTRUSTED_CERTIFICATES)?;
    let anchors = trusted_certificates(&args.trust, "--trust")?;
    let crls = crate::cli::cert::crls(&args.crl)?;
    let now = args.at.unwrap_or_else(now_unix);
    let trust = TsaTrust { anchors: &anchors, intermediates: &intermediates, crls: &crls, now };
    let report = verify_reply(&reply, &expected, &trust)?;
    if args.json {
        print_json(&report)?;
    } else {
        print_report(&report);
    }
    Ok(if report.valid { Outcome::Success } else { Outcome::VerificationFailed })
}

/// The verdict, then what the token says.
fn print_report(report: &TokenReport) {
    match (&report.reason, &report.message) {
        (None, _) => crate::outln!("timestamp valid: genTime {}", report.gen_time.as_deref().unwrap_or("?")),
        (Some(reason), message) => {
            crate::outln!("TIMESTAMP INVALID [{}]: {}", reason.code(), escape_text(message.as_deref().unwrap_or("")))
        }
    }
    let fields = [
        ("status", Some(report.status.clone())),
        ("genTime", report.gen_time.clone()),
        ("serial", report.serial.clone()),
        ("policy", report.policy.clone()),
        ("TSA", report.tsa.clone()),
        ("imprint", report.hash_algorithm.as_ref().map(|h| format!("{h} {}", report.imprint.as_deref().unwrap_or("")))),
        ("nonce", report.nonce.clone()),
        ("accuracy", report.accuracy.clone()),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            crate::outln!("  {name:<9} {}", escape_text(&value));
        }
    }
}
