//! `keyseal cert verify`: validate a certificate chain alone, offline, against trust
//! anchors, at a time, for a purpose, with CRLs; a report with every check, or JSON.

use crate::bounded::{self, InputKind};
use crate::cli::{CliError, Outcome, print_json};
use crate::clock::{now_unix, parse_time};
use crate::quote::{escape_text, quote_path};
use crate::release::ReleaseError;
use crate::x509::cert::{AttributeBudget, count_certificates, load_certificates};
use crate::x509::crl::load_crls;
use crate::x509::identity::Identity;
use crate::x509::path::{
    MAX_TRUSTED_CERTIFICATES, MAX_UNTRUSTED_CERTIFICATES, ValidationReport, parse_key_usage, too_many_certificates,
};
use crate::x509::policy::PolicyInputs;
use crate::x509::{Cert, Crl};
use crate::x509::{CertError, Profile, Purpose, Reason, ValidationOptions, validate};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// The certificate commands.
#[derive(Debug, Subcommand)]
pub enum CertAction {
    /// Validate a certificate chain against trust anchors (RFC 5280). Exits 0 when
    /// valid, 1 when not, 2 on unusable input.
    #[command(
        after_help = "Examples:\n  keyseal cert verify signer.pem --chain intermediates.pem --trust root.pem --purpose code-signing\n  keyseal cert verify web.pem --chain ca.pem --trust roots.pem --purpose server --hostname www.example.com\n  keyseal cert verify web.pem --chain ca.pem --trust roots.pem --crl ca.crl.pem --crl root.crl.pem --at 2027-01-01 --json\n\n\
The path is built from LEAF through the --chain certificates (any order; extras and
duplicates are fine) to one of the --trust certificates, trying alternatives. Each
certificate is checked for its signature, validity at --at (default now), name chaining,
basicConstraints and pathLen, keyUsage, extendedKeyUsage for --purpose, name constraints,
certificate policies, the RFC 5280 profile (AKI/SKI, criticality, well-formed names),
unknown critical extensions, the name asked for with --hostname, --ip or --email (RFC
9525: the subjectAltName only), and revocation by the --crl lists (RFC 5280 §6.3: distribution
points, indirect and delta CRLs; once any CRL is given, every certificate but the trust
anchor needs a status from them, else revocation-unknown). Every failure has a stable
reason code (expired, untrusted-root, chain-incomplete, revoked, ...).

Policies (RFC 5280 §6.1): the path is valid for the policies its certificates assert,
narrowed by mappings and constraints; the result names them. With
--require-explicit-policy (or a requireExplicitPolicy in the chain) it must be valid for
one of the --policy OIDs (default: any), else policy-not-accepted."
    )]
    Verify(CertVerifyArgs),
}

/// `cert verify` flags.
#[derive(Debug, Args)]
pub struct CertVerifyArgs {
    /// The certificate to validate (PEM or DER).
    #[arg(value_name = "LEAF")]
    pub leaf: PathBuf,
    /// Intermediate certificates (PEM bundle or DER); repeatable.
    #[arg(long, value_name = "FILE")]
    pub chain: Vec<PathBuf>,
    /// Trust anchors (PEM bundle or DER); repeatable, at least one.
    #[arg(long, value_name = "FILE", required = true)]
    pub trust: Vec<PathBuf>,
    /// CRLs (PEM or DER); repeatable.
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// Verification time: 2027-01-31T00:00:00Z, 2027-01-31, or Unix seconds (default now).
    #[arg(long, value_parser = parse_time)]
    pub at: Option<i64>,
    /// code-signing, server, client, email, timestamping or any.
    #[arg(long, default_value = "any", value_parser = Purpose::parse)]
    pub purpose: Purpose,
    /// Most intermediate certificates in a path: neither the leaf nor the trust anchor
    /// counts (as OpenSSL's -verify_depth, pyca's max_chain_depth); 0 allows only a leaf
    /// issued by a trust anchor.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub max_depth: usize,
    /// The DNS name the leaf must be good for: a dNSName in its subjectAltName, a
    /// wildcard only as the whole left-most label and never over a public suffix (RFC
    /// 9525; the commonName never counts), and within every CA's name constraints.
    /// Internationalized names in their A-label form (xn--...).
    #[arg(long, value_name = "NAME", value_parser = Identity::hostname, conflicts_with_all = ["ip", "email"])]
    pub hostname: Option<Identity>,
    /// The IP address (v4 or v6) the leaf must be good for: an iPAddress in its
    /// subjectAltName, compared as bytes, and within every CA's name constraints.
    #[arg(long, value_name = "ADDR", value_parser = Identity::ip, conflicts_with = "email")]
    pub ip: Option<Identity>,
    /// The email address the leaf must be good for: an rfc822Name in its subjectAltName
    /// (local part exact, domain in any case), and within every CA's name constraints.
    #[arg(long, value_name = "ADDR", value_parser = Identity::email)]
    pub email: Option<Identity>,
    /// rfc5280; web-pki: RFC 5280 and the CA/Browser Forum Baseline Requirements for
    /// TLS server certificates (key sizes and curves, the AKI's form, serverAuth and no
    /// forbidden purpose in the leaf's extendedKeyUsage and in any intermediate's, no CA
    /// as the leaf, a subjectAltName, validity limits); or smime: RFC 5280 and the S/MIME
    /// Baseline Requirements (key sizes, emailProtection and no forbidden purpose, a
    /// keyUsage, no CA as the leaf); each refusal naming its BR section. Default: web-pki
    /// with --purpose server and --hostname or --ip, smime with --purpose email and
    /// --email, else rfc5280.
    #[arg(long, value_name = "PROFILE", value_parser = Profile::parse)]
    pub profile: Option<Profile>,
    /// A keyUsage bit the leaf must allow, by its RFC 5280 name (digitalSignature,
    /// nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement, keyCertSign,
    /// cRLSign, encipherOnly, decipherOnly); repeatable. A leaf without keyUsage allows all.
    #[arg(long = "key-usage", value_name = "NAME", value_parser = parse_key_usage)]
    pub key_usages: Vec<x509_cert::ext::pkix::KeyUsages>,
    /// An extendedKeyUsage purpose the path must allow, by OID, for purposes --purpose has
    /// no name for (e.g. 1.3.6.1.5.5.7.3.9 for OCSP signing); repeatable. Every certificate
    /// with an extendedKeyUsage must name it or anyExtendedKeyUsage; one without allows all.
    #[arg(long = "eku", value_name = "OID", value_parser = parse_oid)]
    pub extended_key_usages: Vec<spki::ObjectIdentifier>,
    /// Judge a code-signing leaf by RFC 5280 alone: no extendedKeyUsage, or
    /// anyExtendedKeyUsage, allows code signing, and a CA certificate may be the leaf. By
    /// default it must be an end entity naming codeSigning, as `keyseal sign --cert`
    /// requires.
    #[arg(long)]
    pub rfc5280_eku: bool,
    /// Certificate-policy inputs.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Print the whole report, every check, as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The certificate-policy inputs of RFC 5280 §6.1.1, shared by `cert verify` and
/// `verify --trust`.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// A policy OID the path must be valid for (the user-initial-policy-set; repeatable;
    /// default: any policy). Matters when an explicit policy is required.
    #[arg(long = "policy", value_name = "OID", value_parser = parse_oid)]
    pub policies: Vec<spki::ObjectIdentifier>,
    /// Require the path to be valid for at least one acceptable policy (initial-explicit-policy).
    #[arg(long)]
    pub require_explicit_policy: bool,
    /// Refuse policy mappings from the start (initial-policy-mapping-inhibit).
    #[arg(long)]
    pub inhibit_policy_mapping: bool,
    /// Do not let anyPolicy in a certificate stand for every policy (initial-any-policy-inhibit).
    #[arg(long)]
    pub inhibit_any_policy: bool,
}

impl PolicyArgs {
    /// As the validator takes them.
    pub fn inputs(&self) -> PolicyInputs {
        PolicyInputs {
            user_initial_policy_set: self.policies.clone(),
            initial_explicit_policy: self.require_explicit_policy,
            initial_policy_mapping_inhibit: self.inhibit_policy_mapping,
            initial_any_policy_inhibit: self.inhibit_any_policy,
        }
    }
}

fn parse_oid(text: &str) -> Result<spki::ObjectIdentifier, String> {
    text.parse().map_err(|_| format!("{text:?} is not an OID; write it dotted, e.g. 2.23.140.1.2.1"))
}

/// Runs a certificate command.
pub fn run(action: CertAction) -> Result<Outcome, CliError> {
    let CertAction::Verify(args) = action;
    let report = verify_files(&args)?;
    if args.json {
        print_json(&report)?;
    } else {
        print_report(&report);
    }
    Ok(if report.valid { Outcome::Success } else { Outcome::VerificationFailed })
}

fn read(path: &Path, flag: &str, kind: InputKind) -> Result<Vec<u8>, ReleaseError> {
    bounded::read(path, kind).map_err(|e| ReleaseError::Input(format!("{flag}: {e}")))
}

/// The files given to one flag, read whole (each within its size cap) but not decoded.
pub struct CertificateFiles {
    flag: &'static str,
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl CertificateFiles {
    /// Reads every file given to `flag`.
    pub fn read(paths: &[PathBuf], flag: &'static str) -> Result<CertificateFiles, ReleaseError> {
        let files = paths
            .iter()
            .map(|path| Ok((path.clone(), read(path, flag, InputKind::Certificates)?)))
            .collect::<Result<_, ReleaseError>>()?;
        Ok(CertificateFiles { flag, files })
    }

    /// How many certificates the files hold, counted without decoding them.
    pub fn count(&self) -> usize {
        self.files.iter().map(|(_, bytes)| count_certificates(bytes)).sum()
    }

    /// Every certificate, in order. A certificate that does not parse makes the file
    /// unusable (exit 2, `malformed-certificate`): a damaged trust store or chain is
    /// reported, never quietly shortened. Their names are held to
    /// [`crate::x509::cert::MAX_NAME_ATTRIBUTES_PER_INPUT`] attributes in all.
    pub fn decode(&self) -> Result<Vec<Cert>, ReleaseError> {
        let (mut all, mut budget) = (Vec::new(), AttributeBudget::default());
        for (path, bytes) in &self.files {
            for (index, parsed) in load_certificates(bytes).into_iter().enumerate() {
                let cert = parsed.and_then(|cert| budget.charge(&cert).map(|()| cert)).map_err(|mut e| {
                    e.message = format!("{} {}, certificate {}: {}", self.flag, quote_path(path), index + 1, e.message);
                    ReleaseError::Certificate(e)
                })?;
                all.push(cert);
            }
        }
        Ok(all)
    }
}

/// Every certificate in the files given to `flag`, at most `max` of them (more is refused
/// before any is decoded, `too-many-certificates`); see [`CertificateFiles::decode`].
pub fn certificates(paths: &[PathBuf], flag: &'static str, max: usize) -> Result<Vec<Cert>, ReleaseError> {
    let files = CertificateFiles::read(paths, flag)?;
    let given = files.count();
    if given > max {
        return Err(ReleaseError::Certificate(CertError {
            reason: Reason::TooManyCertificates,
            message: format!("{flag} holds {given} certificates; keyseal takes at most {max} there"),
        }));
    }
    files.decode()
}

/// The trust anchors given to `flag`, at most [`MAX_TRUSTED_CERTIFICATES`].
pub fn trusted_certificates(paths: &[PathBuf], flag: &'static str) -> Result<Vec<Cert>, ReleaseError> {
    certificates(paths, flag, MAX_TRUSTED_CERTIFICATES)
}

/// CRLs from files.
pub fn crls(paths: &[PathBuf]) -> Result<Vec<Crl>, ReleaseError> {
    let mut all = Vec::new();
    for path in paths {
        all.extend(
            load_crls(&read(path, "--crl", InputKind::Crl)?)
                .map_err(|e| ReleaseError::Input(format!("--crl {}: {e}", quote_path(path))))?,
        );
    }
    Ok(all)
}

fn verify_files(args: &CertVerifyArgs) -> Result<ValidationReport, CliError> {
    let leaf = &args.leaf;
    let leaf_cert = certificates(std::slice::from_ref(leaf), "LEAF", MAX_UNTRUSTED_CERTIFICATES + 1)?
        .into_iter()
        .next()
        .ok_or_else(|| ReleaseError::Input(format!("LEAF {} holds no certificate", quote_path(leaf))))?;
    let mut options = ValidationOptions::new(args.at.unwrap_or_else(now_unix), args.purpose);
    let chain = CertificateFiles::read(&args.chain, "--chain")?;
    if chain.count() > MAX_UNTRUSTED_CERTIFICATES {
        // A verdict on the chain, as validate gives it, but before decoding the pile.
        return Ok(too_many_certificates(chain.count(), &options));
    }
    let intermediates = chain.decode()?;
    let anchors = trusted_certificates(&args.trust, "--trust")?;
    options.max_intermediates = args.max_depth;
    options.profile = args.profile.unwrap_or(match args.purpose {
        Purpose::Server if args.hostname.is_some() || args.ip.is_some() => Profile::WebPki,
        Purpose::Email if args.email.is_some() => Profile::Smime,
        _ => Profile::Rfc5280,
    });
    options.key_usages = args.key_usages.clone();
    options.extended_key_usages = args.extended_key_usages.clone();
    options.identity = args.hostname.clone().or_else(|| args.ip.clone()).or_else(|| args.email.clone());
    options.crls = crls(&args.crl)?;
    options.policy = args.policy.inputs();
    options.rfc5280_eku = args.rfc5280_eku;
    Ok(validate(&leaf_cert, &intermediates, &anchors, &options))
}

/// `, for policies A, B` (anyPolicy by name) after a verdict, or nothing when the path is
/// valid for no particular policy: most chains assert none, and "for policies none" read
/// as a warning.
pub fn for_policies(policies: &[String]) -> String {
    if policies.is_empty() {
        return String::new();
    }
    let named: Vec<&str> =
        policies.iter().map(|oid| if oid == "2.5.29.32.0" { "anyPolicy" } else { oid.as_str() }).collect();
    format!(", for policies {}", named.join(", "))
}

/// `, good for www.example.com` when a name was asked for (`--hostname`, `--ip`,
/// `--email`) and the leaf is good for it.
fn good_for(report: &ValidationReport) -> String {
    report
        .checks
        .iter()
        .find(|check| check.check == "identity" && check.result == "ok")
        .and_then(|check| check.detail.as_deref())
        .map(|detail| format!(", {}", escape_text(detail)))
        .unwrap_or_default()
}

/// The report as text: verdict, path, and the checks that did not simply pass (`--json`
/// has them all).
pub fn print_report(report: &ValidationReport) {
    match (&report.reason, &report.message) {
        (None, _) => crate::outln!(
            "certificate chain valid for {} at {}{}{}",
            report.purpose.as_str(),
            report.at,
            good_for(report),
            for_policies(report.policies.as_deref().unwrap_or_default())
        ),
        (Some(reason), message) => crate::outln!(
            "CERTIFICATE CHAIN INVALID [{}]: {}",
            reason.code(),
            escape_text(message.as_deref().unwrap_or(""))
        ),
    }
    for entry in &report.path {
        crate::outln!("  {:<13} {}  serial {}", entry.role, escape_text(&entry.subject), entry.serial);
    }
    for check in report.checks.iter().filter(|c| c.result != "ok") {
        crate::outln!(
            "    {:<11} {:<20} {}{}",
            check.result,
            check.check,
            escape_text(&check.certificate),
            check.detail.as_ref().map(|d| format!(" — {}", escape_text(d))).unwrap_or_default()
        );
    }
}
