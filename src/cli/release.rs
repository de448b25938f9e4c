//! `keyseal sign` and `keyseal verify`: flags in, a plan for the release pipeline, a
//! summary out (text, or `--json`).

use crate::bounded::{self, InputKind};
use crate::cli::count::count;
use crate::cli::key_args::{SigningKeyArgs, wire};
use crate::cli::progress::Progress;
use crate::cli::{CliError, Outcome, print_json};
use crate::kms::Kms;
use crate::kms::store::Store;
use crate::quote::{escape_text, quote_name, quote_path};
use crate::release::ReleaseError;
use crate::release::formats::SignatureFormat;
use crate::release::hash::default_threads;
use crate::release::sign::{SignOptions, sign_release};
use crate::release::verify::{
    ChainTrust, FileStatus, RevocationStatus, SignatureStatus, TimestampStatus, VerifyOptions, verify_release,
};
use crate::release::walk::{OWN_OUTPUT, Skipped};
use clap::Args;
use std::path::PathBuf;

/// `keyseal sign` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  keyseal sign dist/ --key-id alias/release --key-version-id VERSION --out dist/\n  cd dist && sha256sum -c SHA256SUMS\n  openssl dgst -sha256 -verify pub.pem -signature SHA256SUMS.sig SHA256SUMS\n\n\
A directory contributes every file under it, named relative to it; a file contributes
itself by its file name. Symbolic links are followed only to files inside the tree;
whatever is left out is listed. The manifest is signed with one KMS call, whatever the
number of files. If anything is wrong (disabled key, unknown version, a certificate that
does not fit), nothing is written.

The same signature also goes into SHA256SUMS.sigstore.json, a Sigstore bundle (v0.3) that
cosign (`verify-blob SHA256SUMS --bundle SHA256SUMS.sigstore.json --key pub.pem
--insecure-ignore-tlog`) and sigstore-js check: for ECDSA_SHA_256 on EC_P256 and
RSA_PKCS1_SHA_256 on RSA_2048 keys (other algorithms have no Sigstore form; then it is
left out, and a note says so).

With --tsa URL the signature is time-stamped (RFC 3161) by that TSA — any public one, or
`keyseal serve --tsa-key-id ...` at http://HOST:PORT/tsa: the request is the SHA-256 of the
signature bytes, and the token goes into the bundle (then media type
application/vnd.keyseal.bundle.v2+json). `keyseal verify --tsa-trust TSA-ROOT.pem` then
checks the certificate chain at the time stamp's time, so the release still verifies
after the signing certificate expires. A TSA that refuses or answers wrongly stops the
signing, and nothing is written.

With --format ssh the manifest is also signed as an OpenSSH signature, SHA256SUMS.sshsig
(and each file as `<file>.sshsig` with --detached), which anyone checks with ssh-keygen:
  keyseal ssh allowed-signers --principal release@example.com --key-id ... > allowed_signers
  ssh-keygen -Y verify -f allowed_signers -I release@example.com -n file -s SHA256SUMS.sshsig < SHA256SUMS
EC_P256 (ecdsa-sha2-nistp256) and RSA_2048 with RSA_PKCS1_SHA_256 (rsa-sha2-256) keys
have an SSH form; others are refused before anything is signed.

With --format cms --cert CHAIN.pem the manifest is also signed as a detached CMS
SignedData, SHA256SUMS.p7s, carrying the chain (and, with --tsa, a time stamp over its
signature value), for OpenSSL and S/MIME tools:
  openssl cms -verify -binary -inform DER -in SHA256SUMS.p7s -content SHA256SUMS -CAfile root.pem -purpose any
(-purpose any: OpenSSL's default S/MIME purpose refuses a leaf whose extendedKeyUsage is
codeSigning only.) Every key spec and algorithm has a CMS form.

With --format pgp the manifest is also signed as a detached OpenPGP signature,
SHA256SUMS.asc, which gpgv and sqv check with the key version's certificate:
  keyseal pgp export-cert --key-id ... --key-version-id ... --uid 'Releases <rel@example.com>' --out release.asc
  sqv --keyring release.asc SHA256SUMS.asc SHA256SUMS"
)]
pub struct SignArgs {
    /// Files and directories of the release.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub key: SigningKeyArgs,
    /// PEM certificate chain for the key version, leaf first; put into the bundle. The leaf
    /// must certify this key version, be valid now, and allow code signing.
    #[arg(long, value_name = "CHAIN.pem")]
    pub cert: Option<PathBuf>,
    /// Directory for SHA256SUMS, SHA256SUMS.sig, keyseal.bundle.json, SHA256SUMS.sigstore.json and the --format signatures (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also write a detached `<file>.sig` for every file (one KMS call each), and the same signature as `<file>.sigstore.json` where the algorithm has a Sigstore form.
    #[arg(long)]
    pub detached: bool,
    /// Time-stamp the signature at this RFC 3161 TSA (http:// or https:// URL).
    #[arg(long, value_name = "URL")]
    pub tsa: Option<String>,
    /// CA certificates (PEM) to check an https TSA with, instead of the public web roots.
    #[arg(long, value_name = "CA.pem", requires = "tsa")]
    pub tsa_ca: Option<PathBuf>,
    /// Also sign in this format (repeatable, or comma-separated), with --detached each file
    /// too: cms writes SHA256SUMS.p7s for `openssl cms -verify` (needs --cert); pgp
    /// SHA256SUMS.asc for `gpgv` and `sqv` (certificate: `keyseal pgp export-cert`); ssh
    /// SHA256SUMS.sshsig for `ssh-keygen -Y verify`. pgp and ssh take EC_P256, and RSA_2048
    /// with RSA_PKCS1_SHA_256.
    #[arg(long = "format", value_name = "FORMAT", value_delimiter = ',', value_parser = wire::<SignatureFormat>(SignatureFormat::NAMES))]
    pub formats: Vec<SignatureFormat>,
    /// The namespace of SSH signatures: what `ssh-keygen -Y verify -n` must name.
    #[arg(long, value_name = "NAMESPACE", default_value = crate::release::sshsig::DEFAULT_NAMESPACE)]
    pub ssh_namespace: String,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `keyseal verify` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  keyseal verify dist/ --bundle dist/keyseal.bundle.json --public-key release.pub.pem\n  keyseal verify dist/ --bundle dist/keyseal.bundle.json --trust root.pem --crl root.crl.pem --crl release-ca.crl.pem\n  keyseal verify app-linux-amd64.tar.gz --bundle keyseal.bundle.json --public-key release.pub.pem\n\n\
Checks, offline, that SHA256SUMS is the manifest the bundle signed and that the signature
verifies with the signer's key: pinned with --public-key, or trusted through the bundle's
certificate chain to a --trust root (validated per RFC 5280 for --purpose, at --at, with
--crl); then each file: ok, modified, missing or not in the manifest. A directory is
checked whole: a file missing from it fails, and so does anything in it the manifest does
not list — a file, a symbolic link (never followed; shown with where it points), a FIFO
or device (never opened) — unless --allow-unlisted; a detached `<file>.sig`,
`<file>.sigstore.json`, `<file>.sshsig`, `<file>.p7s` or `<file>.asc` beside a listed
file, and SHA256SUMS.sshsig, .p7s or .asc beside the manifest, are verified with the
signer's key (SSH signatures in the namespace --ssh-namespace), and each fails if it does
not verify. --bundle also takes a Sigstore bundle (SHA256SUMS.sigstore.json,
or cosign's), checked the same way; one with transparency-log entries is refused. Single
files are checked alone. Exit 0 only when everything passes, 1 on any failed check,
2 on unusable input.

Time stamps: with --tsa-trust TSA-ROOT.pem, a bundle's RFC 3161 time stamp (from
`keyseal sign --tsa URL`) is checked — the TSA's signature, its chain to a --tsa-trust root
with a critical timeStamping extendedKeyUsage, and that it is over this signature — and
the signer's chain is then validated at the time stamp's genTime instead of --at, so a
release verifies after its signing certificate expired. CRLs must still be current at
--at (now), and tell what happened since: a certificate revoked after genTime for
affiliation-changed, superseded, cessation-of-operation, certificate-hold or
privilege-withdrawn still verifies; key-compromise, ca-compromise, aa-compromise,
unspecified or no reason invalidates it whenever it happened (a compromise may predate its discovery),
and any revocation at or before genTime does. A time stamp that does not verify fails the
signature (timestamp-invalid); without --tsa-trust a time stamp is not used, and the
output says so.",
    group = clap::ArgGroup::new("signer").args(["public_key", "trust"]).required(true).multiple(true)
)]
pub struct VerifyArgs {
    /// Files or directories to check; default: the directory holding the bundle.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The release's bundle; default: keyseal.bundle.json in the first PATH when it is a
    /// directory, beside it when it is a file (then in the current directory), or in the
    /// current directory when no PATH is given.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// The manifest; default: the SHA256SUMS beside the bundle.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// The signer's public key (PEM), pinned: obtained out of band, e.g. from
    /// `keyseal kms get-public-key` or the project's website.
    #[arg(long, value_name = "PUB.pem")]
    pub public_key: Option<PathBuf>,
    /// Or trust the signer through the bundle's certificate chain to these root
    /// certificates (PEM); repeatable.
    #[arg(long, value_name = "ROOTS.pem")]
    pub trust: Vec<PathBuf>,
    /// CRLs to check revocation with (PEM or DER), for the signer's chain (--trust) and
    /// the TSA's (--tsa-trust); repeatable.
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// What the signer's certificate must be good for.
    #[arg(long, default_value = "code-signing", value_parser = crate::x509::Purpose::parse)]
    pub purpose: crate::x509::Purpose,
    /// Judge the signer's certificate by RFC 5280 alone: no extendedKeyUsage, or
    /// anyExtendedKeyUsage, allows code signing, and a CA certificate may sign. By default
    /// it must be an end entity naming codeSigning, as `keyseal sign --cert` requires.
    #[arg(long, requires = "trust")]
    pub rfc5280_eku: bool,
    /// Check the chain as of this time instead of now (2027-01-31T00:00:00Z, 2027-01-31, Unix seconds).
    #[arg(long, value_parser = crate::clock::parse_time)]
    pub at: Option<i64>,
    /// Certificate-policy inputs for the chain (with --trust).
    #[command(flatten)]
    pub policy: crate::cli::cert::PolicyArgs,
    /// Trust time stamps from TSAs certified by these roots (PEM); repeatable. The signer's
    /// chain is then checked at the bundle's time-stamp time.
    #[arg(long, value_name = "TSA-ROOT.pem")]
    pub tsa_trust: Vec<PathBuf>,
    /// Do not fail on what a directory holds that the manifest does not list (files,
    /// symbolic links, special files): it is still reported, as not-in-manifest.
    #[arg(long)]
    pub allow_unlisted: bool,
    /// The namespace an SSH signature beside the manifest or a file (SHA256SUMS.sshsig,
    /// `<file>.sshsig`, from `keyseal sign --format ssh`) must have been made in.
    #[arg(long, value_name = "NAMESPACE", default_value = crate::release::sshsig::DEFAULT_NAMESPACE)]
    pub ssh_namespace: String,
    /// Require the manifest's signature in this format beside it (repeatable, or
    /// comma-separated): cms (SHA256SUMS.p7s), pgp (SHA256SUMS.asc), ssh
    /// (SHA256SUMS.sshsig); one that is absent fails. Found ones are checked either way.
    #[arg(long = "format", value_name = "FORMAT", value_delimiter = ',', value_parser = wire::<SignatureFormat>(SignatureFormat::NAMES))]
    pub formats: Vec<SignatureFormat>,
    /// Print the whole report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `keyseal sign`; `ca_index` is the local store, when there is one, whose CA index
/// must not list the `--cert` chain as revoked.
pub fn sign(args: SignArgs, kms: &dyn Kms, ca_index: Option<&Store>) -> Result<Outcome, CliError> {
    let certificate_chain = match &args.cert {
        Some(path) => Some(
            bounded::read(path, InputKind::Certificates).map_err(|e| ReleaseError::Input(format!("--cert: {e}")))?,
        ),
        None => None,
    };
    let options = SignOptions {
        paths: args.paths,
        key_id: args.key.key_id,
        key_version_id: args.key.key_version_id,
        algorithm: args.key.algorithm,
        certificate_chain,
        out_dir: args.out,
        detached: args.detached,
        threads: default_threads(),
        tsa: match args.tsa {
            Some(url) => Some((url, args.tsa_ca.as_deref().map(read_tsa_ca).transpose()?)),
            None => None,
        },
        formats: args.formats,
        ssh_namespace: args.ssh_namespace,
    };
    let cert_without_tsa = options.certificate_chain.is_some() && options.tsa.is_none();
    let total: u64 = options.paths.iter().map(|p| tree_size(p)).sum();
    let progress = Progress::new(total);
    let summary = sign_release(kms, &options, ca_index, &|n| progress.add(n))?;
    drop(progress);
    if let Some(why) = &summary.sigstore_omitted {
        crate::errln!("note: {why}");
    } else if cert_without_tsa {
        crate::errln!(
            "note: Sigstore verifiers check a signer's certificate at a trusted time, which SHA256SUMS.sigstore.json holds only when signed with --tsa URL"
        );
    }
    if args.json {
        print_json(&summary)?;
        return Ok(Outcome::Success);
    }
    print_skipped(&summary.skipped);
    crate::outln!(
        "signed {} ({}) with key {} version {} ({})",
        count(summary.files, "file", "files"),
        count(summary.bytes, "byte", "bytes"),
        summary.key_id,
        summary.key_version_id,
        summary.algorithm
    );
    crate::outln!("manifest sha256 {}", summary.manifest_sha256);
    if let Some(timestamp) = &summary.timestamp {
        crate::outln!("time-stamped by {} at {}", escape_text(&timestamp.tsa), timestamp.gen_time);
    }
    for output in &summary.outputs {
        crate::outln!("wrote {}", quote_path(output));
    }
    Ok(Outcome::Success)
}

fn read_tsa_ca(path: &std::path::Path) -> Result<Vec<u8>, ReleaseError> {
    bounded::read(path, InputKind::Certificates).map_err(|e| ReleaseError::Input(format!("--tsa-ca: {e}")))
}

/// Lists what was left out, on stderr; keyseal's own outputs (replaced on every run) are
/// left to `--json`.
fn print_skipped(skipped: &[Skipped]) {
    for item in skipped.iter().filter(|s| !s.reason.starts_with(OWN_OUTPUT)) {
        crate::errln!("skipped {}: {}", quote_path(&item.path), item.reason);
    }
}

/// Bytes under a path, for the progress display only (an estimate; errors count as 0).
fn tree_size(path: &std::path::Path) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Runs `keyseal verify`.
pub fn verify(args: VerifyArgs) -> Result<Outcome, CliError> {
    let public_key_pem = match &args.public_key {
        Some(path) => Some(
            bounded::read_text(path, InputKind::PublicKey)
                .map_err(|e| ReleaseError::Input(format!("--public-key: {e}")))?,
        ),
        None => None,
    };
    if !args.crl.is_empty() && args.trust.is_empty() && args.tsa_trust.is_empty() {
        return Err(ReleaseError::Input(
            "--crl checks the revocation of a certificate chain: give it with --trust or --tsa-trust".into(),
        )
        .into());
    }
    let at = args.at.unwrap_or_else(crate::clock::now_unix);
    let crls = crate::cli::cert::crls(&args.crl)?;
    let trust = if args.trust.is_empty() {
        None
    } else {
        let anchors = crate::cli::cert::trusted_certificates(&args.trust, "--trust")?;
        Some(ChainTrust {
            anchors,
            crls: crls.clone(),
            purpose: args.purpose,
            at,
            policy: args.policy.inputs(),
            rfc5280_eku: args.rfc5280_eku,
        })
    };
    let report = verify_release(&VerifyOptions {
        paths: args.paths,
        bundle: args.bundle,
        manifest: args.manifest,
        public_key_pem,
        trust,
        tsa_trust: crate::cli::cert::trusted_certificates(&args.tsa_trust, "--tsa-trust")?,
        tsa_crls: crls,
        at,
        allow_unlisted: args.allow_unlisted,
        ssh_namespace: args.ssh_namespace,
        required_formats: args.formats,
    })?;
    if args.json {
        print_json(&report)?;
    } else {
        print_verify_text(&report);
    }
    Ok(if report.verified { Outcome::Success } else { Outcome::VerificationFailed })
}

fn print_verify_text(report: &crate::release::verify::VerifyReport) {
    // The bundle names the key and the signing time; nothing checks either: they are
    // shown as its claims, apart from what was verified.
    let claims = escape_text(&format!(
        "key {} version {}, signed at {} (signer's clock)",
        report.key_id, report.key_version_id, report.signed_at
    ))
    .into_owned();
    if let Some(chain) = &report.chain
        && chain.valid
    {
        let names: Vec<String> = chain.path.iter().map(|p| escape_text(&p.subject).into_owned()).collect();
        crate::outln!(
            "certificate chain ok for {} at {}{}: {}",
            chain.purpose.as_str(),
            chain.at,
            crate::cli::cert::for_policies(chain.policies.as_deref().unwrap_or_default()),
            names.join(" <- ")
        );
    }
    if let Some(timestamp) = &report.timestamp {
        let label = match timestamp.status {
            TimestampStatus::Ok => "time stamp ok",
            TimestampStatus::Invalid => "TIME STAMP INVALID",
            TimestampStatus::Ignored => "time stamp NOT USED",
            TimestampStatus::Absent => "no time stamp",
        };
        crate::outln!("{label}: {}", escape_text(&timestamp.detail));
    }
    if report.revocation == Some(RevocationStatus::NotChecked) {
        crate::outln!("revocation NOT checked for every certificate of the chain: pass the issuers' CRLs with --crl");
    }
    if report.signature == SignatureStatus::Ok {
        let key = if report.chain.is_some() { "the certificate's key" } else { "the pinned public key" };
        crate::outln!("signature ok: {} signature over the manifest verifies with {key}", report.algorithm);
        crate::outln!("  claimed by the bundle, not verified: {claims}");
    } else {
        let code =
            serde_json::to_value(report.signature).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let token_reason = report.timestamp.as_ref().and_then(|t| t.token.as_ref()).and_then(|t| t.reason);
        let code = match (report.chain.as_ref().and_then(|c| c.reason), token_reason) {
            (Some(reason), _) if report.signature == SignatureStatus::ChainInvalid => {
                format!("{code}: {}", reason.code())
            }
            (_, Some(reason)) if report.signature == SignatureStatus::TimestampInvalid => {
                format!("{code}: {}", reason.code())
            }
            _ => code,
        };
        // The signature itself may be fine: what failed is named.
        let heading = match report.signature {
            SignatureStatus::ChainInvalid | SignatureStatus::NoCertificate => "CHAIN INVALID",
            SignatureStatus::TimestampInvalid => "TIME STAMP INVALID",
            _ => "SIGNATURE FAILED",
        };
        crate::outln!("{heading} [{code}]: {}", escape_text(report.signature_detail.as_deref().unwrap_or("")));
        crate::outln!("  claimed by the bundle, not verified: {claims}; algorithm {}", escape_text(&report.algorithm));
        crate::outln!("  files were not checked: the manifest cannot be trusted");
    }
    print_skipped(&report.skipped);
    if let Some(other) = &report.other_release {
        crate::outln!(
            "NOT VERIFIED [other-release]: these files look like another release than the bundle's: {} of its {} entries are missing here, {} here are not in it or differ, {} match; pass the bundle that came with these files (--bundle)",
            other.missing,
            other.listed,
            count(other.different as u64, "file", "files"),
            other.matching
        );
    }
    // Against another release's bundle every file fails: a few show the pattern.
    let shown = if report.other_release.is_some() { OTHER_RELEASE_LINES } else { usize::MAX };
    let mut failures_shown = 0;
    for file in report.files.iter().chain(&report.detached_signatures) {
        let name = quote_name(&file.name);
        let code =
            serde_json::to_value(file.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let detail = escape_text(file.detail.as_deref().unwrap_or(""));
        match file.status {
            FileStatus::Ok if file.detail.is_some() => crate::outln!("ok              {name} ({detail})"),
            FileStatus::Ok => crate::outln!("ok              {name}"),
            _ if file.allowed => crate::outln!("{code:<15} {name}: {detail}; allowed by --allow-unlisted"),
            _ if failures_shown >= shown => {}
            _ => {
                failures_shown += 1;
                crate::outln!("{:<15} {name}: {detail}", code.to_uppercase());
            }
        }
    }
    let failed = report.files.iter().filter(|f| f.status != FileStatus::Ok && !f.allowed).count()
        + report.detached_signatures.iter().filter(|f| f.status != FileStatus::Ok).count();
    if failed > failures_shown {
        crate::outln!("... and {} more (--json lists every file)", failed - failures_shown);
    }
    let checked = count(report.files.len() as u64, "file", "files");
    let checked = match report.detached_signatures.len() {
        0 => checked,
        n => format!("{checked} and {}", count(n as u64, "detached signature", "detached signatures")),
    };
    if report.verified {
        let allowed = report.files.iter().filter(|f| f.allowed).count();
        if allowed > 0 {
            crate::outln!("verified: {checked}, of which {allowed} not in the manifest (allowed by --allow-unlisted)");
        } else {
            crate::outln!("verified: {checked}");
        }
    } else if report.signature == SignatureStatus::Ok {
        crate::outln!("NOT VERIFIED: {failed} of {checked} failed");
    }
}

/// How many failing files the text output lists when the bundle is another release's.
const OTHER_RELEASE_LINES: usize = 10;
