//! `keyseal trust export`: keyseal's roots, written as the trust material other verifiers
//! read. The one format so far is Sigstore's `trusted_root.json`, for cosign and
//! sigstore-js to check the certificate form of `SHA256SUMS.sigstore.json` and its
//! time stamps.

use crate::cli::cert::certificates;
use crate::cli::input::write_out;
use crate::cli::{CliError, Outcome};
use crate::clock::now_unix;
use crate::quote::quote_path;
use crate::release::ReleaseError;
use crate::release::sigstore::trusted_root::trusted_root_json;
use crate::x509::Cert;
use crate::x509::path::MAX_UNTRUSTED_CERTIFICATES;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The trust subcommands.
#[derive(Debug, Subcommand)]
pub enum TrustAction {
    /// Write trust anchors for other verifiers: a Sigstore trusted_root.json.
    Export(ExportArgs),
}

/// `keyseal trust export` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  keyseal trust export --sigstore --trust release-ca-chain.pem --tsa-trust tsa-chain.pem --out trusted_root.json\n  cosign verify-blob SHA256SUMS --bundle SHA256SUMS.sigstore.json --trusted-root trusted_root.json \\\n      --use-signed-timestamps --insecure-ignore-tlog --certificate-identity-regexp . --certificate-oidc-issuer-regexp .\n\n\
Each --trust file is one certificate authority: the CA that issues signers' certificates,
then its issuers up to the root (a root alone when it issues them itself). Each
--tsa-trust file is one time-stamping authority: the TSA's own certificate first, then up
to its root; Sigstore verifiers pick a time stamp's authority by the serial and issuer of
the certificate that signed it, so the TSA's certificate must be there. Every chain is
validated now, for time stamping in the TSA's case, before anything is written; each
authority is valid for its first certificate's validity."
)]
pub struct ExportArgs {
    /// Write a Sigstore trusted_root.json (the one format so far).
    #[arg(long, required = true)]
    pub sigstore: bool,
    /// A certificate authority's chain (PEM): the issuing CA first, its root last (repeatable).
    #[arg(long = "trust", value_name = "CHAIN.pem", required = true)]
    pub trust: Vec<PathBuf>,
    /// A time-stamping authority's chain (PEM): the TSA's certificate first, its root last (repeatable).
    #[arg(long = "tsa-trust", value_name = "TSA-CHAIN.pem")]
    pub tsa_trust: Vec<PathBuf>,
    /// Write the trust material here.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs a trust subcommand.
pub fn run(action: TrustAction) -> Result<Outcome, CliError> {
    match action {
        TrustAction::Export(args) => export(args),
    }
}

fn export(args: ExportArgs) -> Result<Outcome, CliError> {
    // One chain per file.
    let chains = |paths: &[PathBuf], flag: &'static str| -> Result<Vec<Vec<Cert>>, ReleaseError> {
        paths.iter().map(|path| certificates(std::slice::from_ref(path), flag, MAX_UNTRUSTED_CERTIFICATES)).collect()
    };
    let cas = chains(&args.trust, "--trust")?;
    let tsas = chains(&args.tsa_trust, "--tsa-trust")?;
    let json = trusted_root_json(&cas, &tsas, now_unix())?;
    write_out(&args.out, &json, false)?;
    crate::outln!(
        "wrote {}: {} certificate {}, {} time-stamping {}",
        quote_path(&args.out),
        cas.len(),
        if cas.len() == 1 { "authority" } else { "authorities" },
        tsas.len(),
        if tsas.len() == 1 { "authority" } else { "authorities" }
    );
    Ok(Outcome::Success)
}
