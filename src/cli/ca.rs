//! `keyseal ca ...`: the mini-CA's commands. Flags become requests for `ca::issue` and
//! `ca::crl`; results print as text, or JSON with `--json`.

use crate::bounded::{self, InputKind};
use crate::ca::crl::{crl, parse_reason, revoke};
use crate::ca::index::{self, CertRecord};
use crate::ca::issue::{Authority, InitRequest, IssueRequest, Issued, Lifetime, SubjectKey, import, init, issue};
use crate::ca::profile::Profile;
use crate::ca::request::{CsrRequest, make_csr};
use crate::ca::subject::{parse_san, parse_subject};
use crate::ca::{CaCode, CaError};
use crate::cli::count::count;
use crate::cli::input::write_out;
use crate::cli::key_args::{SIGN_ALGORITHMS, SigningKeyArgs, wire};
use crate::cli::{CliError, Outcome, local_principal, print_json};
use crate::clock::{format_unix, now_unix, parse_time};
use crate::crypto::spec::Algorithm;
use crate::kms::Kms;
use crate::kms::store::Store;
use crate::quote::{escape_text, quote_path};
use clap::{Args, Subcommand};
use std::path::PathBuf;

const PROFILES: &[&str] = &["code-signing", "server", "client", "email", "timestamping", "intermediate-ca"];

/// The CA commands.
#[derive(Debug, Subcommand)]
pub enum CaAction {
    /// Create a self-signed root CA whose key is a KMS key version.
    #[command(
        after_help = "Example:\n  keyseal ca init --name root --key-id alias/root-ca --key-version-id VERSION \\\n      --subject \"CN=Example Root CA,O=Example,C=NL\" --days 3650 --out root.pem\n\n\
The root gets basicConstraints CA:TRUE (critical, with --path-len if given), keyUsage
keyCertSign+cRLSign (critical) and a subject key identifier. Its private key stays in
the KMS; keyseal signs the certificate with AsymmetricSign."
    )]
    Init(InitArgs),
    /// Issue an intermediate CA or an end-entity certificate signed by a CA.
    #[command(
        after_help = "Examples:\n  keyseal ca issue --ca root --profile intermediate-ca --name release-ca \\\n      --key-id alias/release-ca --key-version-id V --subject \"CN=Release CA,O=Example\" --days 1825 --out release-ca.pem\n  keyseal ca issue --ca release-ca --profile code-signing --key-id alias/release --key-version-id V \\\n      --subject \"CN=Release Signing,O=Example\" --days 365 --out signer.pem\n  keyseal ca issue --ca release-ca --profile server --csr web.csr --san dns:example.com --days 90 --out web.pem\n\n\
Profiles: code-signing, server, client, email, timestamping, intermediate-ca. A
certificate never outlives its issuer: that is refused, or with --clamp shortened (and
said so). Serial numbers are random, positive and 20 bytes long.

What keyseal certifies (from --csr or --key-id alike): RSA keys of 2048 to 8192 bits with
exponent 65537, and ECDSA keys on P-256, P-384 or secp256k1 (named curve, uncompressed
point); anything else is refused with its own code. The subject takes CN, O, OU, C, ST,
L and emailAddress, within RFC 5280's lengths, and is never the issuing CA's own name.
With --csr, the request's subject is used if it follows those rules; --subject replaces
it (then only --subject must follow them). A CSR's requested extensions are never
copied: the profile decides basicConstraints and the key usages, --san the names."
    )]
    Issue(IssueArgs),
    /// Register an existing CA certificate whose key is a KMS key version.
    #[command(
        after_help = "Example:\n  keyseal ca import --name partner-ca --cert partner-ca.pem --key-id alias/partner --key-version-id V"
    )]
    Import(ImportArgs),
    /// Revoke a certificate a CA issued.
    #[command(
        after_help = "Example:\n  keyseal ca revoke --ca release-ca --serial 4A1F... --reason key-compromise\n\n\
Reasons: unspecified, key-compromise, ca-compromise, affiliation-changed, superseded,
cessation-of-operation, certificate-hold, privilege-withdrawn, aa-compromise; the RFC 5280
and OpenSSL names (keyCompromise, cACompromise, ...) and the numeric codes (0-6, 9, 10)
work too.
Publish a new CRL afterwards: keyseal ca crl --ca release-ca --out release-ca.crl.pem"
    )]
    Revoke(RevokeArgs),
    /// Produce a CA's next signed CRL (X.509 v2).
    #[command(
        after_help = "Example:\n  keyseal ca crl --ca release-ca --out release-ca.crl.pem --der release-ca.crl --days 7\n  openssl crl -in release-ca.crl.pem -CAfile release-ca.pem -verify -noout -text"
    )]
    Crl(CrlArgs),
    /// Make a certificate signing request (PKCS#10) for a KMS key version, signed through
    /// the KMS, for another CA to certify.
    #[command(
        after_help = "Examples:\n  keyseal ca csr --key-id alias/release --key-version-id V \\\n      --subject \"CN=Release Signing,O=Example\" --out release.csr\n  keyseal ca csr --key-id alias/web --key-version-id V --subject \"CN=www.example.com\" \\\n      --san dns:www.example.com --san dns:example.com --out web.csr\n  openssl req -in release.csr -verify -noout -text\n\n\
The private key stays in the KMS: the request is signed with AsymmetricSign, and its
self-signature is checked before it is written. Send the request to a public or corporate
CA; the certificate it returns goes with `keyseal sign --cert`. The subject follows the
same rules as `ca issue --subject`; --san names go into an extensionRequest attribute
(the CA decides what it certifies)."
    )]
    Csr(CsrArgs),
    /// List CAs and the certificates they issued.
    #[command(after_help = "Examples:\n  keyseal ca list\n  keyseal ca list --ca release-ca --json")]
    List(ListArgs),
    /// Show one certificate (by serial) or CA (by name), with its PEM.
    #[command(
        after_help = "Examples:\n  keyseal ca show --serial 4A1F...\n  keyseal ca show --ca root --pem > root.pem"
    )]
    Show(ShowArgs),
}

/// `ca init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Name to refer to this CA by.
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub key: SigningKeyArgs,
    /// Subject DN, e.g. "CN=Example Root CA,O=Example,OU=Security,C=NL,ST=..,L=..,emailAddress=..".
    #[arg(long)]
    pub subject: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub lifetime: LifetimeArgs,
    /// pathLenConstraint: how many intermediate CAs may follow below it.
    #[arg(long)]
    pub path_len: Option<u8>,
    /// CRL distribution point URL written into the certificates this CA issues.
    #[arg(long, value_name = "URL")]
    pub crl_url: Option<String>,
    /// Write the certificate (PEM) here.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Validity: `--days` or `--not-after`.
#[derive(Debug, Args)]
pub struct LifetimeArgs {
    /// Valid for this many days from now.
    #[arg(long, conflicts_with = "not_after")]
    pub days: Option<u32>,
    /// Valid until this time (2030-01-31 or 2030-01-31T12:00:00Z).
    #[arg(long, value_parser = parse_time)]
    pub not_after: Option<i64>,
}

impl LifetimeArgs {
    fn lifetime(&self, default_days: u32) -> Lifetime {
        match (self.days, self.not_after) {
            (_, Some(end)) => Lifetime::NotAfter(end),
            (Some(days), None) => Lifetime::Days(days),
            (None, None) => Lifetime::Days(default_days),
        }
    }
}

/// `ca issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The issuing CA's name.
    #[arg(long)]
    pub ca: String,
    /// code-signing, server, client, email, timestamping or intermediate-ca.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(PROFILES))]
    pub profile: String,
    /// The certified key: KeyId, alias/NAME or ARN.
    #[arg(long = "key-id", alias = "key", value_name = "KEY", requires = "key_version", conflicts_with = "csr")]
    pub key: Option<String>,
    /// The certified key version.
    #[arg(long = "key-version-id", alias = "key-version", value_name = "VERSION", requires = "key")]
    pub key_version: Option<String>,
    /// Or: a PKCS#10 request (PEM or DER) whose key is certified; its self-signature is checked.
    #[arg(long, value_name = "FILE", required_unless_present = "key")]
    pub csr: Option<PathBuf>,
    /// Subject DN: required with --key-id; with --csr it replaces the request's own subject.
    #[arg(long)]
    pub subject: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub lifetime: LifetimeArgs,
    /// Subject alternative name: dns:NAME, ip:ADDRESS, email:ADDRESS or uri:URI (repeatable).
    #[arg(long = "san", value_name = "KIND:VALUE")]
    pub sans: Vec<String>,
    /// For intermediate-ca: the name the new CA will issue under.
    #[arg(long)]
    pub name: Option<String>,
    /// For intermediate-ca: its pathLenConstraint.
    #[arg(long)]
    pub path_len: Option<u8>,
    /// For intermediate-ca: the algorithm it will sign with.
    #[arg(long, value_parser = wire::<Algorithm>(SIGN_ALGORITHMS))]
    pub algorithm: Option<Algorithm>,
    /// For intermediate-ca: CRL distribution point URL for what it issues.
    #[arg(long, value_name = "URL")]
    pub crl_url: Option<String>,
    /// End the certificate with its issuer instead of refusing one that would outlive it.
    #[arg(long)]
    pub clamp: bool,
    /// Write the certificate (PEM) here.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ca import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Name to refer to this CA by.
    #[arg(long)]
    pub name: String,
    /// The CA certificate (PEM).
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub key: SigningKeyArgs,
}

/// `ca revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The CA that issued the certificate.
    #[arg(long)]
    pub ca: String,
    /// Its serial number (hex, as `keyseal ca list` prints it).
    #[arg(long)]
    pub serial: String,
    /// Why: key-compromise, superseded, cessation-of-operation, ... (see below).
    #[arg(long, default_value = "unspecified")]
    pub reason: String,
}

/// `ca crl`.
#[derive(Debug, Args)]
pub struct CrlArgs {
    /// The CA.
    #[arg(long)]
    pub ca: String,
    /// Write the CRL as PEM here.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also write it as DER here.
    #[arg(long, value_name = "FILE")]
    pub der: Option<PathBuf>,
    /// nextUpdate: days until the next CRL is due.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
}

/// `ca list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this CA's certificates.
    #[arg(long)]
    pub ca: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ca show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The certificate's serial.
    #[arg(long, conflicts_with = "ca", required_unless_present = "ca")]
    pub serial: Option<String>,
    /// Or a CA's name (shows its own certificate).
    #[arg(long)]
    pub ca: Option<String>,
    /// Print only the PEM.
    #[arg(long)]
    pub pem: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `keyseal ca csr` flags.
#[derive(Debug, Args)]
pub struct CsrArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub key: SigningKeyArgs,
    /// Subject DN, e.g. "CN=Release Signing,O=Example,C=NL".
    #[arg(long)]
    pub subject: String,
    /// Subject alternative name to request: dns:NAME, ip:ADDRESS, email:ADDRESS or uri:URI (repeatable).
    #[arg(long = "san", value_name = "KIND:VALUE")]
    pub sans: Vec<String>,
    /// Write the request (PEM) here.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

fn read(flag: &str, path: &std::path::Path, kind: InputKind) -> Result<Vec<u8>, CaError> {
    bounded::read(path, kind).map_err(|e| CaError::bad_input(format!("{flag}: {e}")))
}

/// Runs one CA command: signing through `kms` (embedded or remote), the index in `store`.
pub fn run(action: CaAction, kms: &dyn Kms, store: &Store) -> Result<Outcome, CliError> {
    let principal = local_principal();
    let authority = Authority::new(kms, store, &principal, now_unix())?;
    match action {
        CaAction::Init(args) => {
            let request = InitRequest {
                name: args.name,
                key_id: args.key.key_id,
                key_version_id: args.key.key_version_id,
                algorithm: args.key.algorithm,
                subject: parse_subject(&args.subject)?,
                lifetime: args.lifetime.lifetime(3650),
                path_len: args.path_len,
                crl_url: args.crl_url,
            };
            let issued = init(&authority, &request)?;
            finish(&issued, &args.out, args.json, &format!("created root CA {}", request.name))
        }
        CaAction::Issue(args) => {
            let key = match (&args.key, &args.key_version, &args.csr) {
                (Some(key_id), Some(key_version_id), _) => {
                    SubjectKey::Kms { key_id: key_id.clone(), key_version_id: key_version_id.clone() }
                }
                (_, _, Some(csr)) => SubjectKey::Csr(read("--csr", csr, InputKind::Csr)?),
                _ => return Err(CaError::bad_input("give --key-id and --key-version-id, or --csr").into()),
            };
            let request = IssueRequest {
                ca: args.ca,
                profile: Profile::parse(&args.profile)?,
                subject: args.subject.as_deref().map(parse_subject).transpose()?,
                key,
                lifetime: args.lifetime.lifetime(365),
                sans: args.sans.iter().map(|s| parse_san(s)).collect::<Result<_, _>>()?,
                new_ca_name: args.name,
                path_len: args.path_len,
                algorithm: args.algorithm,
                crl_url: args.crl_url,
                clamp: args.clamp,
            };
            let issued = issue(&authority, &request)?;
            finish(&issued, &args.out, args.json, &format!("issued {} certificate", request.profile.as_str()))
        }
        CaAction::Import(args) => {
            let ca = import(
                &authority,
                &args.name,
                &read("--cert", &args.cert, InputKind::Certificates)?,
                &args.key.key_id,
                &args.key.key_version_id,
                args.key.algorithm,
            )?;
            crate::outln!(
                "imported CA {} (serial {}, key {} version {})",
                ca.name,
                ca.serial,
                ca.key_id,
                ca.key_version_id
            );
            Ok(Outcome::Success)
        }
        CaAction::Revoke(args) => {
            let record = revoke(&authority, &args.ca, &args.serial, parse_reason(&args.reason)?)?;
            crate::outln!(
                "revoked {} ({}) for {}; publish a new CRL with: keyseal ca crl --ca {} --out FILE",
                record.serial,
                escape_text(&record.subject),
                args.reason,
                args.ca
            );
            Ok(Outcome::Success)
        }
        CaAction::Crl(args) => {
            let list = crl(&authority, &args.ca, args.days)?;
            write_out(&args.out, list.pem().as_bytes(), false)?;
            if let Some(path) = &args.der {
                crate::cli::input::write_flag("--der", path, &list.der, false)?;
            }
            let mut written = quote_path(&args.out);
            if let Some(path) = &args.der {
                written.push_str(&format!(" (PEM) and {} (DER)", quote_path(path)));
            }
            crate::outln!(
                "CRL number {} of CA {} lists {}; wrote {written}",
                list.number,
                escape_text(&args.ca),
                count(list.revoked as u64, "revoked certificate", "revoked certificates")
            );
            Ok(Outcome::Success)
        }
        CaAction::Csr(args) => {
            let request = CsrRequest {
                key_id: args.key.key_id,
                key_version_id: args.key.key_version_id,
                algorithm: args.key.algorithm,
                subject: args.subject,
                sans: args.sans,
            };
            let pem = make_csr(kms, &request)?;
            write_out(&args.out, pem.as_bytes(), false)?;
            crate::outln!(
                "wrote a certificate signing request for key {} version {} to {}",
                escape_text(&request.key_id),
                escape_text(&request.key_version_id),
                quote_path(&args.out)
            );
            Ok(Outcome::Success)
        }
        CaAction::List(args) => list(store, args),
        CaAction::Show(args) => show(store, args),
    }
}

fn finish(issued: &Issued, out: &std::path::Path, json: bool, what: &str) -> Result<Outcome, CliError> {
    write_out(out, issued.pem.as_bytes(), false)?;
    if let Some(note) = &issued.clamped {
        crate::errln!("note: {}", escape_text(note));
    }
    if !issued.ignored_extension_requests.is_empty() {
        crate::errln!(
            "note: the CSR asks for {}; none was copied: the profile sets basicConstraints, keyUsage and extendedKeyUsage, and --san the alternative names",
            escape_text(&issued.ignored_extension_requests.join(", "))
        );
    }
    if json {
        print_json(&serde_json::json!({
            "certificate": issued.record,
            "clamped": issued.clamped,
            "ignoredExtensionRequests": issued.ignored_extension_requests,
            "pem": issued.pem,
        }))?;
    } else {
        let r = &issued.record;
        crate::outln!("{what}: serial {}", r.serial);
        crate::outln!(
            "  subject   {}\n  issuer    {}\n  valid     {} to {}",
            escape_text(&r.subject),
            escape_text(&r.issuer),
            format_unix(r.not_before),
            format_unix(r.not_after)
        );
        crate::outln!("wrote {}", out.display());
    }
    Ok(Outcome::Success)
}

fn list(store: &Store, args: ListArgs) -> Result<Outcome, CliError> {
    let cas = store.read(|tx| index::list_cas(tx))?;
    let certs = store.read(|tx| index::list_certs(tx, args.ca.as_deref()))?;
    if let Some(name) = &args.ca
        && !cas.iter().any(|c| &c.name == name)
    {
        return Err(CaError::new(CaCode::CaNotFound, format!("there is no CA named {name}")).into());
    }
    if args.json {
        print_json(&serde_json::json!({ "cas": cas, "certificates": certs }))?;
        return Ok(Outcome::Success);
    }
    for ca in cas.iter().filter(|c| args.ca.as_ref().is_none_or(|n| n == &c.name)) {
        crate::outln!(
            "CA {}  key {} version {}  {}  CRL #{}",
            ca.name,
            ca.key_id,
            ca.key_version_id,
            ca.algorithm,
            ca.crl_number
        );
    }
    for cert in &certs {
        print_line(cert);
    }
    Ok(Outcome::Success)
}

fn print_line(cert: &CertRecord) {
    let expired = cert.not_after < now_unix() && cert.status == "valid";
    let status = if expired { "expired".to_string() } else { cert.status.clone() };
    crate::outln!(
        "{}  {:<8} {:<15} {}  until {}  (by {})",
        cert.serial,
        status,
        cert.profile,
        escape_text(&cert.subject),
        format_unix(cert.not_after),
        cert.ca_name
    );
}

fn show(store: &Store, args: ShowArgs) -> Result<Outcome, CliError> {
    let serial = match (&args.serial, &args.ca) {
        (Some(serial), _) => crate::ca::crl::normalize_serial(serial)?,
        (None, Some(name)) => {
            store
                .read(|tx| index::get_ca(tx, name))?
                .ok_or_else(|| CaError::new(CaCode::CaNotFound, format!("there is no CA named {name}")))?
                .serial
        }
        (None, None) => return Err(CaError::bad_input("give --serial or --ca").into()),
    };
    let cert = store.read(|tx| index::get_cert(tx, &serial))?.ok_or_else(|| {
        CaError::new(CaCode::CertificateNotFound, format!("no certificate with serial {serial} in this store"))
    })?;
    let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &cert.certificate).unwrap_or_default();
    if args.pem {
        crate::out!("{pem}");
    } else if args.json {
        print_json(&serde_json::json!({ "certificate": cert, "pem": pem }))?;
    } else {
        print_line(&cert);
        if let Some(reason) = &cert.revocation_reason {
            crate::outln!("  revoked {} ({reason})", format_unix(cert.revoked_at.unwrap_or(0)));
        }
        if let (Some(key), Some(version)) = (&cert.key_id, &cert.key_version_id) {
            crate::outln!("  KMS key {key} version {version}");
        }
        crate::out!("{pem}");
    }
    Ok(Outcome::Success)
}
