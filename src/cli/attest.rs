//! `keyseal attest` and `keyseal verify-attestation`: in-toto statements about a release's
//! files, signed in a DSSE envelope through the KMS and checked offline.

use crate::bounded::{self, InputKind};
use crate::cli::key_args::SigningKeyArgs;
use crate::cli::{CliError, Outcome, print_json};
use crate::crypto::keys;
use crate::kms::Kms;
use crate::kms::store::Store;
use crate::quote::{escape_text, quote_path};
use crate::release::ReleaseError;
use crate::release::attest::{AttestOptions, attest};
use crate::release::attest_verify::{AttestationCheck, verify_attestation};
use crate::release::hash::default_threads;
use crate::release::provenance::{self, ProvenanceFlags};
use crate::release::verify::ChainTrust;
use clap::Args;
use std::path::PathBuf;

/// `keyseal attest` flags.
#[derive(Debug, Args)]
#[command(
    group = clap::ArgGroup::new("what").args(["predicate", "provenance"]).required(true),
    after_help = "Example:\n  keyseal attest dist/ --key-id alias/release --key-version-id VERSION \\\n      --predicate-type https://spdx.dev/Document --predicate sbom.spdx.json --out sbom.sigstore.json\n  keyseal verify-attestation sbom.sigstore.json dist/app.tar.gz --public-key pub.pem --type https://spdx.dev/Document\n  cosign verify-blob-attestation --bundle sbom.sigstore.json --key pub.pem --insecure-ignore-tlog \\\n      --type https://spdx.dev/Document dist/app.tar.gz\n\n\
The statement's subjects are every file under the directories given (named relative to
them) and the files given (by their file name), each with its SHA-256; keyseal's own
outputs are left out. The statement is signed in a DSSE envelope (payload type
application/vnd.in-toto+json) with one KMS call over the SHA-256 of its pre-authentication
encoding, and written twice: as a Sigstore bundle (--out NAME.sigstore.json) and as the
bare envelope on one line of NAME.intoto.jsonl beside it — outside the release directory,
or `keyseal verify DIR` finds two files its manifest does not list. The key must have a
Sigstore form: ECDSA_SHA_256 on EC_P256, or RSA_PKCS1_SHA_256 on RSA_2048.

--provenance writes a SLSA Provenance v1 predicate (https://slsa.dev/provenance/v1) from
the CI system's variables: in GitHub Actions the builder is the workflow
(GITHUB_WORKFLOW_REF), the source GITHUB_REPOSITORY at GITHUB_REF and GITHUB_SHA, the
invocation the run's attempt; in GitLab CI the builder is the project's runner, the source
CI_PROJECT_URL at CI_COMMIT_REF_NAME and CI_COMMIT_SHA, the invocation CI_JOB_URL. Outside
CI, --builder-id, --build-type, --source-uri, --source-ref and --source-commit must all be
given; a flag always wins over the variable. Signing in the build job itself, this is
provenance as strong as that job (SLSA Build L2 at most): the builder id says which."
)]
pub struct AttestArgs {
    /// Files and directories the statement is about.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub key: SigningKeyArgs,
    /// The predicate's type, a URI (e.g. https://spdx.dev/Document).
    #[arg(long, value_name = "URI", requires = "predicate")]
    pub predicate_type: Option<String>,
    /// The predicate: a JSON file.
    #[arg(long, value_name = "FILE.json", requires = "predicate_type")]
    pub predicate: Option<PathBuf>,
    /// Or: a SLSA Provenance v1 predicate about this build, from the CI system (see below).
    #[arg(long)]
    pub provenance: bool,
    /// With --provenance: the builder's id (a URI), instead of the CI system's.
    #[arg(long, value_name = "URI", requires = "provenance")]
    pub builder_id: Option<String>,
    /// With --provenance: the build type (a URI).
    #[arg(long, value_name = "URI", requires = "provenance")]
    pub build_type: Option<String>,
    /// With --provenance: the source repository, e.g. https://github.com/OWNER/REPO.
    #[arg(long, value_name = "URI", requires = "provenance")]
    pub source_uri: Option<String>,
    /// With --provenance: the ref built, e.g. refs/tags/v1.2.0.
    #[arg(long, value_name = "REF", requires = "provenance")]
    pub source_ref: Option<String>,
    /// With --provenance: the commit built.
    #[arg(long, value_name = "HEX", requires = "provenance")]
    pub source_commit: Option<String>,
    /// With --provenance: the run (its URL, say).
    #[arg(long, value_name = "ID", requires = "provenance")]
    pub invocation_id: Option<String>,
    /// PEM certificate chain for the key version, leaf first: the leaf names the signer in the
    /// bundle instead of a key hint (it must certify this key version, be valid now and allow code signing).
    #[arg(long, value_name = "CHAIN.pem")]
    pub cert: Option<PathBuf>,
    /// The Sigstore bundle to write, NAME.sigstore.json; NAME.intoto.jsonl goes beside it.
    #[arg(long, value_name = "NAME.sigstore.json")]
    pub out: PathBuf,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `keyseal verify-attestation` flags.
#[derive(Debug, Args)]
#[command(
    group = clap::ArgGroup::new("signer").args(["public_key", "trust"]).required(true).multiple(true),
    after_help = "Example:\n  keyseal verify-attestation provenance.sigstore.json dist/app.tar.gz --public-key pub.pem \\\n      --type https://slsa.dev/provenance/v1\n\n\
Checks, in order: the signer (the pinned --public-key, which the bundle's key hint must
name, or its certificate's chain to a --trust root), the envelope's signature over its
pre-authentication encoding, the payload type, that the payload is an in-toto Statement,
its predicate type (--type), and that every FILE's SHA-256 is a subject's. Reason codes:
key-mismatch, chain-invalid, bad-signature, wrong-payload-type, not-a-statement,
wrong-predicate-type, subject-not-found. A bundle with transparency-log entries is refused:
keyseal cannot check them. Exit 0 when verified, 1 when a check failed, 2 on unusable input."
)]
pub struct VerifyAttestationArgs {
    /// The attestation: a Sigstore bundle with a DSSE envelope.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// Files that must be subjects of the statement.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The signer's public key (PEM), obtained out of band.
    #[arg(long, value_name = "PUB.pem")]
    pub public_key: Option<PathBuf>,
    /// Or trust the signer's certificate through its chain to these roots (PEM; repeatable).
    #[arg(long, value_name = "ROOT.pem")]
    pub trust: Vec<PathBuf>,
    /// The predicate type the statement must have (https://slsa.dev/provenance/v1 for provenance).
    #[arg(long = "type", value_name = "URI")]
    pub predicate_type: String,
    /// The builder a provenance must name (its runDetails.builder.id).
    #[arg(long, value_name = "ID")]
    pub builder_id: Option<String>,
    /// The repository a provenance must have built from (e.g. https://github.com/OWNER/REPO).
    #[arg(long, value_name = "URI")]
    pub source_uri: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `keyseal attest`.
/// `ca_index`: this host's store, when it has one, whose CA index a `--cert` chain must
/// not hold a revoked certificate of.
pub fn run_attest(args: AttestArgs, kms: &dyn Kms, ca_index: Option<&Store>) -> Result<Outcome, CliError> {
    let (predicate_type, predicate) = match (&args.predicate_type, &args.predicate) {
        (Some(predicate_type), Some(path)) => (predicate_type.clone(), read_predicate(path)?),
        _ => (provenance::PREDICATE_TYPE.to_string(), provenance_predicate(&args)?),
    };
    let certificate_chain = match &args.cert {
        Some(path) => Some(
            bounded::read(path, InputKind::Certificates).map_err(|e| ReleaseError::Input(format!("--cert: {e}")))?,
        ),
        None => None,
    };
    let options = AttestOptions {
        paths: args.paths,
        key_id: args.key.key_id,
        key_version_id: args.key.key_version_id,
        algorithm: args.key.algorithm,
        certificate_chain,
        predicate_type,
        predicate,
        out: args.out,
        threads: default_threads(),
    };
    let summary = attest(kms, &options, ca_index, &|_| {})?;
    if args.json {
        print_json(&summary)?;
        return Ok(Outcome::Success);
    }
    crate::outln!(
        "attested {} subject{} ({}) with key {} version {} ({})",
        summary.subjects.len(),
        if summary.subjects.len() == 1 { "" } else { "s" },
        escape_text(&summary.predicate_type),
        summary.key_id,
        summary.key_version_id,
        summary.algorithm
    );
    for output in &summary.outputs {
        crate::outln!("wrote {}", quote_path(output));
    }
    Ok(Outcome::Success)
}

fn read_predicate(path: &std::path::Path) -> Result<serde_json::Value, CliError> {
    let bytes = bounded::read(path, InputKind::Bundle).map_err(|e| ReleaseError::Input(format!("--predicate: {e}")))?;
    Ok(serde_json::from_slice(&bytes)
        .map_err(|e| ReleaseError::Input(format!("--predicate {} is not JSON: {e}", quote_path(path))))?)
}

/// The SLSA provenance of this build, from the CI system's variables and the flags.
fn provenance_predicate(args: &AttestArgs) -> Result<serde_json::Value, CliError> {
    let flags = ProvenanceFlags {
        builder_id: args.builder_id.clone(),
        build_type: args.build_type.clone(),
        source_uri: args.source_uri.clone(),
        source_ref: args.source_ref.clone(),
        source_commit: args.source_commit.clone(),
        invocation_id: args.invocation_id.clone(),
    };
    Ok(provenance::predicate(&|name| std::env::var(name).ok(), &flags, crate::clock::now_unix())?)
}

/// Runs `keyseal verify-attestation`.
pub fn run_verify(args: VerifyAttestationArgs) -> Result<Outcome, CliError> {
    let pinned = match &args.public_key {
        Some(path) => {
            let pem = bounded::read_text(path, InputKind::PublicKey)
                .map_err(|e| ReleaseError::Input(format!("--public-key: {e}")))?;
            Some(keys::public_key_from_pem(&pem).ok_or_else(|| {
                ReleaseError::Input("the --public-key file is not a PUBLIC KEY PEM (SubjectPublicKeyInfo)".into())
            })?)
        }
        None => None,
    };
    let trust = if args.trust.is_empty() {
        None
    } else {
        Some(ChainTrust {
            anchors: crate::cli::cert::trusted_certificates(&args.trust, "--trust")?,
            crls: Vec::new(),
            purpose: crate::x509::Purpose::CodeSigning,
            at: crate::clock::now_unix(),
            policy: Default::default(),
            rfc5280_eku: false,
        })
    };
    let bundle = bounded::read(&args.bundle, InputKind::Bundle).map_err(|e| ReleaseError::Input(format!("{e}")))?;
    let check = AttestationCheck {
        pinned: pinned.as_deref(),
        trust: trust.as_ref(),
        predicate_type: &args.predicate_type,
        files: &args.files,
        builder_id: args.builder_id.as_deref(),
        source_uri: args.source_uri.as_deref(),
    };
    let report = verify_attestation(&bundle, &check)?;
    if args.json {
        print_json(&report)?;
    } else if report.verified {
        crate::outln!(
            "attestation ok: {} ({} file{} a subject)",
            escape_text(report.predicate_type.as_deref().unwrap_or("")),
            report.subjects.len(),
            if report.subjects.len() == 1 { " is" } else { "s are" }
        );
    } else {
        crate::outln!(
            "ATTESTATION FAILED [{}]: {}",
            report.reason.map_or("", |r| r.code()),
            escape_text(report.detail.as_deref().unwrap_or(""))
        );
    }
    Ok(if report.verified { Outcome::Success } else { Outcome::VerificationFailed })
}
