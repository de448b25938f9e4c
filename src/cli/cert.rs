//! `keyseal cert verify`: validate a certificate chain alone, offline, against trust
//! anchors, at a time, for a purpose, with CRLs; a report with every check, or JSON.

use crate::cli::{CliError, Outcome, print_json};
use crate::clock::{now_unix, parse_time};
use crate::release::ReleaseError;
use crate::x509::cert::load_certificates;
use crate::x509::crl::load_crls;
use crate::x509::path::ValidationReport;
use crate::x509::{Purpose, Reason, ValidationOptions, validate};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

/// The certificate commands.
#[derive(Debug, Subcommand)]
pub enum CertAction {
    /// Validate a certificate chain against trust anchors (RFC 5280). Exits 0 when
    /// valid, 1 when not, 2 on unusable input.
    #[command(
        after_help = "Examples:\n  keyseal cert verify signer.pem --chain intermediates.pem --trust root.pem --purpose code-signing\n  keyseal cert verify web.pem --chain ca.pem --trust roots.pem --crl ca.crl.pem --at 2027-01-01 --purpose server --json\n\n\
The path is built from LEAF through the --chain certificates (any order; extras and
duplicates are fine) to one of the --trust certificates, trying alternatives. Each
certificate is checked for its signature, validity at --at (default now), name chaining,
basicConstraints and pathLen, keyUsage, extendedKeyUsage for --purpose, name constraints,
unknown critical extensions, and revocation by the --crl lists. Every failure has a
stable reason code (expired, untrusted-root, chain-incomplete, revoked, ...)."
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
    /// Most certificates in a path, leaf and trust anchor included.
    #[arg(long, default_value_t = 8)]
    pub max_depth: usize,
    /// Print the whole report, every check, as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a certificate command.
pub fn run(action: CertAction) -> Result<Outcome, CliError> {
    let CertAction::Verify(args) = action;
    let report = verify_files(
        &args.leaf,
        &args.chain,
        &args.trust,
        &args.crl,
        args.at.unwrap_or_else(now_unix),
        args.purpose,
        args.max_depth,
    )?;
    if args.json {
        print_json(&report)?;
    } else {
        print_report(&report);
    }
    Ok(if report.valid { Outcome::Success } else { Outcome::VerificationFailed })
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>, ReleaseError> {
    std::fs::read(path).map_err(|e| ReleaseError::Input(format!("cannot read {flag} {}: {e}", path.display())))
}

/// Certificates from files; a certificate that does not parse is dropped (it cannot be
/// part of a path) unless `strict`, when it is the answer.
pub fn certificates(paths: &[PathBuf], flag: &str) -> Result<(Vec<Certificate>, Vec<String>), ReleaseError> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for path in paths {
        for parsed in load_certificates(&read(path, flag)?) {
            match parsed {
                Ok(cert) => good.push(cert),
                Err(e) => bad.push(format!("{}: {}", path.display(), e.message)),
            }
        }
    }
    Ok((good, bad))
}

/// CRLs from files.
pub fn crls(paths: &[PathBuf]) -> Result<Vec<CertificateList>, ReleaseError> {
    let mut all = Vec::new();
    for path in paths {
        all.extend(
            load_crls(&read(path, "--crl")?)
                .map_err(|e| ReleaseError::Input(format!("--crl {}: {e}", path.display())))?,
        );
    }
    Ok(all)
}

/// A report saying the input itself was the problem (a malformed leaf, no usable anchor).
pub fn refusal(reason: Reason, message: String, at: i64, purpose: Purpose) -> ValidationReport {
    ValidationReport {
        valid: false,
        reason: Some(reason),
        message: Some(message),
        at: crate::clock::format_unix(at),
        purpose,
        path: Vec::new(),
        checks: Vec::new(),
    }
}

fn verify_files(
    leaf: &Path,
    chain: &[PathBuf],
    trust: &[PathBuf],
    crl: &[PathBuf],
    at: i64,
    purpose: Purpose,
    max_depth: usize,
) -> Result<ValidationReport, CliError> {
    let leaf_cert = match load_certificates(&read(leaf, "LEAF")?).into_iter().next() {
        Some(Ok(cert)) => cert,
        Some(Err(e)) => {
            return Ok(refusal(
                Reason::MalformedCertificate,
                format!("{}: {}", leaf.display(), e.message),
                at,
                purpose,
            ));
        }
        None => {
            return Ok(refusal(
                Reason::MalformedCertificate,
                format!("{} holds no certificate", leaf.display()),
                at,
                purpose,
            ));
        }
    };
    let (intermediates, _) = certificates(chain, "--chain")?;
    let (anchors, bad_anchors) = certificates(trust, "--trust")?;
    if anchors.is_empty() {
        return Ok(refusal(
            Reason::UntrustedRoot,
            format!("no usable trust anchor: {}", bad_anchors.join("; ")),
            at,
            purpose,
        ));
    }
    let mut options = ValidationOptions::new(at, purpose);
    options.max_depth = max_depth.max(2);
    options.crls = crls(crl)?;
    Ok(validate(&leaf_cert, &intermediates, &anchors, &options))
}

/// The report as text: verdict, path, and the checks that did not simply pass (`--json`
/// has them all).
pub fn print_report(report: &ValidationReport) {
    match (&report.reason, &report.message) {
        (None, _) => println!("certificate chain valid for {} at {}", report.purpose.as_str(), report.at),
        (Some(reason), message) => {
            println!("CERTIFICATE CHAIN INVALID [{}]: {}", reason.code(), message.as_deref().unwrap_or(""))
        }
    }
    for entry in &report.path {
        println!("  {:<13} {}  serial {}", entry.role, entry.subject, entry.serial);
    }
    for check in report.checks.iter().filter(|c| c.result != "ok") {
        println!(
            "    {:<11} {:<20} {}{}",
            check.result,
            check.check,
            check.certificate,
            check.detail.as_ref().map(|d| format!(" — {d}")).unwrap_or_default()
        );
    }
}
