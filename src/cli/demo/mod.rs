//! `keyseal demo`: the whole story, run for real on a store and printed as the commands a
//! user would type: KMS keys, a root CA and an intermediate whose keys stay in the KMS, a
//! code-signing certificate, a signed release, its verification against the root, a
//! tampered file caught, a key rotation that leaves the old release verifiable, and the
//! audit log checked. Running it again on the same store works: it makes new keys and CAs
//! (names carry a random run id) and moves its alias.

use crate::ca::issue::{Authority, InitRequest, IssueRequest, Lifetime, SubjectKey, init, issue};
use crate::ca::profile::Profile;
use crate::ca::subject::parse_subject;
use crate::cli::{CliError, Outcome, local_principal, open_local};
use crate::clock::now_unix;
use crate::kms::api::*;
use crate::kms::error::{ErrorCode, KmsError};
use crate::kms::seal::SecretSource;
use crate::kms::spec::{KeySpec, KeyUsage};
use crate::kms::{Kms, LocalKms, audit};
use crate::release::hash::default_threads;
use crate::release::sign::{SignOptions, sign_release};
use crate::release::verify::{ChainTrust, FileStatus, VerifyOptions, verify_release};
use crate::x509::Purpose;
use clap::Args;
use std::path::{Path, PathBuf};

/// `keyseal demo` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  keyseal demo                                        # on the default store\n  keyseal --store /tmp/keyseal-demo demo --dir /tmp/demo-release\n\n\
Leaves the sample release, its signature, bundle and certificates in --dir (default: a new
directory under the system's temporary directory) so you can try the commands yourself."
)]
pub struct DemoArgs {
    /// Where to put the sample release and certificates.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

const ALIAS: &str = "alias/keyseal-demo-release";

fn step(command: &str, result: &str) {
    crate::outln!("$ {command}\n  {result}");
}

fn io_error(what: &Path, e: std::io::Error) -> KmsError {
    KmsError::invalid("--dir", format!("cannot write {}: {e}", what.display()))
}

/// A fresh key; returns (KeyId, first version).
fn new_key(kms: &LocalKms, description: &str) -> Result<(String, String), KmsError> {
    let meta = kms
        .create_key(&CreateKeyRequest {
            key_spec: KeySpec::EcP256,
            key_usage: KeyUsage::SignVerify,
            description: description.into(),
        })?
        .key_metadata;
    step(
        "keyseal kms create-key --key-spec EC_P256 --key-usage SIGN/VERIFY",
        &format!("{description}: KeyId {}", meta.key_id),
    );
    Ok((meta.key_id, meta.primary_key_version))
}

/// Runs the tour.
pub fn run(args: DemoArgs, store: &Path, secret: SecretSource) -> Result<Outcome, CliError> {
    let kms = open_local(store, secret)?;
    // Names of this run's CAs: unique even for two runs in one second.
    let run_id = crate::kms::ids::new_uuid()?[..8].to_string();
    let dir =
        args.dir.unwrap_or_else(|| std::env::temp_dir().join(format!("keyseal-demo-{run_id}-{}", std::process::id())));
    std::fs::create_dir_all(dir.join("release/linux")).map_err(|e| io_error(&dir, e))?;
    crate::outln!("keyseal demo: store {}, files in {}\n", store.display(), dir.display());

    // 1. Keys in the KMS: the private halves never leave it.
    let (root_key, root_version) = new_key(&kms, "demo root CA")?;
    let (ca_key, ca_version) = new_key(&kms, "demo release CA")?;
    let (signing_key, v1) = new_key(&kms, "demo release signing")?;
    let alias = AliasRequest { alias_name: ALIAS.into(), key_id: signing_key.clone() };
    match kms.create_alias(&alias) {
        Err(err) if err.code == ErrorCode::AliasAlreadyExists => kms.update_alias(&alias).map(|_| ())?,
        other => other.map(|_| ())?,
    }
    step(
        &format!("keyseal kms create-alias --alias-name {ALIAS} --key-id {signing_key}"),
        "(or update-alias, when it exists)",
    );

    // 2. A CA whose keys stay in the KMS.
    let principal = local_principal();
    let authority = Authority { kms: &kms, store: kms.store(), principal: &principal, now: now_unix() };
    let (root_name, ca_name) = (format!("demo-root-{run_id}"), format!("demo-release-ca-{run_id}"));
    let root = init(
        &authority,
        &InitRequest {
            name: root_name.clone(),
            key_id: root_key.clone(),
            key_version_id: root_version.clone(),
            algorithm: None,
            subject: parse_subject("CN=keyseal demo root,O=keyseal demo")?,
            lifetime: Lifetime::Days(3650),
            path_len: Some(1),
            crl_url: None,
        },
    )?;
    let root_pem = dir.join("root.pem");
    std::fs::write(&root_pem, &root.pem).map_err(|e| io_error(&root_pem, e))?;
    step(
        &format!(
            "keyseal ca init --name {root_name} --key {root_key} --key-version {root_version} --subject \"CN=keyseal demo root,O=keyseal demo\" --days 3650 --out root.pem"
        ),
        &format!("root CA, serial {}", root.record.serial),
    );
    let issue_request =
        |ca: &str, profile, key: &str, version: &str, subject: &str, days, name: Option<String>| IssueRequest {
            ca: ca.to_string(),
            profile,
            subject: parse_subject(subject).ok(),
            key: SubjectKey::Kms { key_id: key.to_string(), key_version_id: version.to_string() },
            lifetime: Lifetime::Days(days),
            sans: Vec::new(),
            new_ca_name: name,
            path_len: None,
            algorithm: None,
            crl_url: None,
            clamp: false,
        };
    let intermediate = issue(
        &authority,
        &issue_request(
            &root_name,
            Profile::IntermediateCa,
            &ca_key,
            &ca_version,
            "CN=keyseal demo release CA,O=keyseal demo",
            1825,
            Some(ca_name.clone()),
        ),
    )?;
    step(
        &format!(
            "keyseal ca issue --ca {root_name} --profile intermediate-ca --name {ca_name} --key {ca_key} --key-version {ca_version} --subject \"CN=keyseal demo release CA\" --days 1825 --out release-ca.pem"
        ),
        &format!("intermediate CA, serial {}", intermediate.record.serial),
    );
    let signer = issue(
        &authority,
        &issue_request(
            &ca_name,
            Profile::CodeSigning,
            &signing_key,
            &v1,
            "CN=keyseal demo release signing,O=keyseal demo",
            365,
            None,
        ),
    )?;
    let chain = dir.join("signer-chain.pem");
    std::fs::write(&chain, format!("{}{}", signer.pem, intermediate.pem)).map_err(|e| io_error(&chain, e))?;
    step(
        &format!(
            "keyseal ca issue --ca {ca_name} --profile code-signing --key {ALIAS} --key-version {v1} --subject \"CN=keyseal demo release signing\" --days 365 --out signer.pem"
        ),
        &format!("code-signing certificate, serial {}; chain in {}", signer.record.serial, chain.display()),
    );

    // 3. Sign a release and verify it as a user would, offline.
    let release = dir.join("release");
    for (name, body) in [("linux/app", "demo binary\n"), ("README.txt", "keyseal demo release\n")] {
        std::fs::write(release.join(name), body).map_err(|e| io_error(&release, e))?;
    }
    let sign = |version: &str, out: &Path| {
        sign_release(
            &kms,
            &SignOptions {
                paths: vec![release.clone()],
                key_id: ALIAS.into(),
                key_version_id: version.into(),
                algorithm: None,
                certificate_chain: std::fs::read(&chain).ok().filter(|_| version == v1),
                out_dir: out.to_path_buf(),
                detached: false,
                threads: default_threads(),
            },
            Some(kms.store()),
            &|_| {},
        )
    };
    let signed = sign(&v1, &release)?;
    step(
        &format!("keyseal sign release/ --key {ALIAS} --key-version {v1} --cert signer-chain.pem --out release/"),
        &format!("{} files; SHA256SUMS, SHA256SUMS.sig and keyseal.bundle.json written", signed.files),
    );
    let bundle = release.join("keyseal.bundle.json");
    let trust = ChainTrust {
        anchors: crate::x509::load_pem_chain(root.pem.as_bytes()).map_err(|e| KmsError::internal(e.to_string()))?,
        crls: Vec::new(),
        purpose: Purpose::CodeSigning,
        at: now_unix(),
        policy: Default::default(),
    };
    let check = || {
        verify_release(&VerifyOptions {
            paths: vec![release.clone()],
            bundle: Some(bundle.clone()),
            manifest: None,
            public_key_pem: None,
            trust: Some(trust.clone()),
        })
    };
    let report = check()?;
    step(
        "keyseal verify release/ --bundle release/keyseal.bundle.json --trust root.pem",
        if report.verified { "verified: chain to the root, signature, every file" } else { "NOT verified" },
    );
    if !report.verified {
        return Ok(Outcome::VerificationFailed);
    }

    // 4. Tampering is caught, then undone.
    let app = release.join("linux/app");
    std::fs::write(&app, "demo binary, patched by someone\n").map_err(|e| io_error(&app, e))?;
    let tampered = check()?;
    let caught = tampered.files.iter().any(|f| f.name == "linux/app" && f.status == FileStatus::Modified);
    step(
        "echo patched >> release/linux/app && keyseal verify release/ --bundle ... --trust root.pem",
        if caught { "MODIFIED linux/app: caught, exit status 1" } else { "NOT caught" },
    );
    std::fs::write(&app, "demo binary\n").map_err(|e| io_error(&app, e))?;
    if !caught {
        return Ok(Outcome::VerificationFailed);
    }

    // 5. Rotation: a new key version signs from now on; the old release still verifies.
    let v2 = kms.create_key_version(&KeyIdRequest { key_id: ALIAS.into() })?.key_version.key_version_id;
    step(&format!("keyseal kms create-key-version --key-id {ALIAS}"), &format!("version {v2}; version {v1} is kept"));
    let next = dir.join("next-release");
    sign(&v2, &next)?;
    step(
        &format!("keyseal sign release/ --key {ALIAS} --key-version {v2} --out next-release/"),
        "signed with version 2",
    );
    let still = check()?;
    step(
        "keyseal verify release/ --bundle release/keyseal.bundle.json --trust root.pem",
        if still.verified { "the version-1 release still verifies" } else { "NOT verified" },
    );

    // 6. Every step above is in the audit log, hash-chained.
    let audit_report = kms.store().read(|tx| audit::verify(tx))?;
    step(
        "keyseal audit verify",
        &format!("{} entries, {} problem(s)", audit_report.entries, audit_report.problems.len()),
    );
    if !still.verified || !audit_report.problems.is_empty() {
        return Ok(Outcome::VerificationFailed);
    }
    crate::outln!("\ndemo complete: every check passed. Try the commands yourself in {}", dir.display());
    Ok(Outcome::Success)
}
