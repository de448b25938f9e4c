//! The CI templates, run for real: each template's YAML is parsed (PyYAML) and checked
//! against its CI system's schema (check-jsonschema's bundled GitHub and GitLab schemas);
//! then its shell steps run in order, with the environment the CI system would provide,
//! against a `keyseal serve` on loopback and a sample release. The verify job passes, and
//! fails once a release file is tampered with. `gh` (GitHub's release upload/download) is
//! stood in for by a script keeping "release assets" in a directory.

use crate::common::{Keyseal, Server, access_key, venv_python};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const CI_POLICY: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:AsymmetricSign","kms:GetPublicKey","kms:DescribeKey"],"Resource":"acs:kms:*:*:alias/release"}]}"#;
const PACKAGES: &[&str] = &["PyYAML==6.0.4", "check-jsonschema==0.39.0"];

fn template(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ci-templates").join(relative)
}

/// The YAML file as JSON, and valid against `schema` (a check-jsonschema builtin).
fn load(relative: &str, schema: &str) -> Value {
    let python = venv_python(PACKAGES, "import yaml, check_jsonschema");
    let path = template(relative);
    let checker = python.parent().unwrap().join("check-jsonschema");
    let checked = Command::new(&checker).args(["--builtin-schema", schema]).arg(&path).output().unwrap();
    assert!(
        checked.status.success(),
        "{relative} is not valid for {schema}: {}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let json = Command::new(&python)
        .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    serde_json::from_slice(&json.stdout).unwrap()
}

/// `serve` flags that make the host's server a TSA: a root CA and a time-stamping
/// certificate for a TSA key of its own.
fn tsa_flags(host: &Keyseal) -> Vec<String> {
    let (root_key, root_version) = host.create_key("EC_P256", "SIGN/VERIFY");
    let (tsa_key, tsa_version) = host.create_key("EC_P256", "SIGN/VERIFY");
    let (root, cert) = (host.file("root.pem"), host.file("tsa.pem"));
    let (root, cert) = (root.to_str().unwrap(), cert.to_str().unwrap());
    host.ca_init("root", &root_key, &root_version, "CN=CI Root", "30", Path::new(root));
    host.ca_issue("root", "timestamping", &tsa_key, &tsa_version, "CN=CI TSA", "20", Path::new(cert));
    ["--tsa-key-id", &tsa_key, "--tsa-key-version-id", &tsa_version, "--tsa-cert", cert].map(String::from).to_vec()
}

/// The bundle's media type, and whether it holds a time stamp.
fn stamped(bundle: &Path) -> (String, bool) {
    let bundle: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    (bundle["mediaType"].as_str().unwrap().to_string(), bundle["timestamp"]["token"].is_string())
}

const V1: &str = "application/vnd.keyseal.bundle.v1+json";
const V2: &str = "application/vnd.keyseal.bundle.v2+json";

/// A host with a KMS server and a CI access key, and a runner workspace with a release.
struct Setup {
    host: Keyseal,
    server: Server,
    ci: (String, String),
    version: String,
    workspace: PathBuf,
    bin: PathBuf,
    assets: PathBuf,
    /// The server is also a TSA, here.
    tsa_url: String,
}

impl Setup {
    fn new() -> Setup {
        let host = Keyseal::new();
        let (key_id, version) = host.create_key("EC_P256", "SIGN/VERIFY");
        host.ok(&["kms", "create-alias", "--alias-name", "alias/release", "--key-id", &key_id]);
        let ci = access_key(&host, "ci", CI_POLICY);
        let flags = tsa_flags(&host);
        let server = Server::start_with(&host, &flags.iter().map(String::as_str).collect::<Vec<_>>());
        let tsa_url = format!("http://{}/tsa", server.endpoint);

        let workspace = host.file("workspace");
        std::fs::create_dir_all(workspace.join("dist/linux")).unwrap();
        std::fs::create_dir_all(workspace.join("ci-templates")).unwrap();
        std::fs::copy(template("verify.sh"), workspace.join("ci-templates/verify.sh")).unwrap();
        std::fs::write(workspace.join("dist/linux/app"), b"the application").unwrap();
        std::fs::write(workspace.join("dist/app.tar.gz"), vec![9u8; 10_000]).unwrap();
        host.public_key("alias/release", &version, &workspace.join("release-signing.pub.pem"));

        // Release assets, as the project's release already holds its binaries.
        let assets = host.file("release-assets");
        std::fs::create_dir_all(&assets).unwrap();
        std::fs::copy(workspace.join("dist/app.tar.gz"), assets.join("app.tar.gz")).unwrap();

        let bin = host.file("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_keyseal"), bin.join("keyseal")).unwrap();
        let gh = bin.join("gh");
        std::fs::write(
            &gh,
            "#!/bin/sh\n# Stands in for GitHub's CLI: release assets live in $FAKE_RELEASE_ASSETS.\nset -e\n[ \"$1\" = release ] || exit 3\ncase \"$2\" in\n  upload) shift 3; for f in \"$@\"; do case \"$f\" in --*) ;; *) cp \"$f\" \"$FAKE_RELEASE_ASSETS/\";; esac; done ;;\n  download) shift 3; [ \"$1\" = --dir ] && cp \"$FAKE_RELEASE_ASSETS\"/* \"$2/\" ;;\n  *) exit 3 ;;\nesac\n",
        )
        .unwrap();
        std::fs::set_permissions(&gh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        Setup { host, server, ci, version, workspace, bin, assets, tsa_url }
    }

    /// The environment every step gets: PATH with keyseal and the gh stand-in, no store.
    fn base_env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin.display()));
        env.insert("HOME".into(), self.host.dir.path().display().to_string());
        env.insert("FAKE_RELEASE_ASSETS".into(), self.assets.display().to_string());
        env
    }

    /// Runs `script` in the workspace with `shell` and exactly `env`; returns its exit
    /// status (-1 for a signal) and its output.
    fn run(&self, shell: &[&str], script: &str, env: &BTreeMap<String, String>) -> (i32, String) {
        let output = Command::new(shell[0])
            .args(&shell[1..])
            .arg(script)
            .current_dir(&self.workspace)
            .env_clear()
            .envs(env)
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
        )
    }
}

/// Replaces `${{ expr }}` with `values[expr]`; an expression the test does not provide fails.
fn github_expressions(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("an unterminated ${{") + start;
        let expression = rest[start + 3..end].trim();
        out.push_str(
            values.get(expression).unwrap_or_else(|| panic!("the test provides no value for ${{{{ {expression} }}}}")),
        );
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Runs one GitHub job's `run:` steps; `uses:` steps are what the runner already did
/// (checkout: the workspace; download-artifact: dist/ is there). Returns the exit status
/// of the step that failed (0 when none did) and the log.
fn run_github_job(setup: &Setup, workflow: &Value, job: &str, values: &BTreeMap<&str, String>) -> (i32, String) {
    let steps = workflow["jobs"][job]["steps"].as_array().unwrap();
    let mut log = String::new();
    for step in steps {
        let Some(script) = step["run"].as_str() else {
            assert!(step["uses"].as_str().is_some_and(|u| u.starts_with("actions/")), "unexpected step {step}");
            continue;
        };
        let mut env = setup.base_env();
        env.insert("RUNNER_TEMP".into(), setup.host.file("runner-temp").display().to_string());
        env.insert("GITHUB_WORKSPACE".into(), setup.workspace.display().to_string());
        // The predefined variables `keyseal attest --provenance` reads.
        for (name, value) in [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "example/app"),
            ("GITHUB_REF", "refs/tags/v1.0.0"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("GITHUB_WORKFLOW_REF", "example/app/.github/workflows/release.yml@refs/tags/v1.0.0"),
            ("GITHUB_RUN_ID", "1"),
            ("GITHUB_RUN_ATTEMPT", "1"),
        ] {
            env.insert(name.into(), value.into());
        }
        std::fs::create_dir_all(setup.host.file("runner-temp")).unwrap();
        for (name, value) in step["env"].as_object().into_iter().flatten() {
            env.insert(name.clone(), github_expressions(value.as_str().unwrap(), values));
        }
        let (status, output) = setup.run(
            &["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"],
            &github_expressions(script, values),
            &env,
        );
        log.push_str(&format!("--- {}\n{output}", step["name"].as_str().unwrap_or("step")));
        if status != 0 {
            return (status, log);
        }
    }
    (0, log)
}

/// A verify job that caught `file` tampered with: verify.sh's exit 1 for a failed check
/// (it ends the job's shell), keyseal's `modified` for that file and nothing else failing,
/// and the script's verdict.
fn assert_caught_tampering(status: i32, log: &str, file: &str) {
    assert_eq!(status, 1, "a tampered file fails the verify job with verify.sh's exit 1:\n{log}");
    assert!(log.contains("signature ok"), "the signature still verifies, only the file fails:\n{log}");
    assert!(
        log.lines().any(|l| l.starts_with("MODIFIED") && l.contains(file)),
        "keyseal names {file} modified:\n{log}"
    );
    assert!(log.contains("NOT VERIFIED: 1 of"), "exactly one file failed:\n{log}");
    assert!(log.contains("verify.sh: FAILED (keyseal verify said no; see above)"), "{log}");
}

#[test]
fn github_workflow_signs_and_its_verify_job_catches_tampering() {
    let workflow = load("github/keyseal-release.yml", "vendor.github-workflows");
    let setup = Setup::new();
    // YAML 1.1 reads the key `on` as the boolean true; PyYAML follows it.
    let triggers = if workflow["on"].is_null() { &workflow["true"] } else { &workflow["on"] };
    let inputs = &triggers["workflow_call"]["inputs"];
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    for (name, spec) in inputs.as_object().unwrap() {
        if let Some(default) = spec["default"].as_str() {
            values.insert(Box::leak(format!("inputs.{name}").into_boxed_str()), default.to_string());
        }
    }
    values.insert("inputs.key", "alias/release".into());
    values.insert("inputs.key-version", setup.version.clone());
    values.insert("inputs.public-key", "release-signing.pub.pem".into());
    values.insert("secrets.KEYSEAL_ENDPOINT", format!("http://{}", setup.server.endpoint));
    values.insert("secrets.KEYSEAL_ACCESS_KEY_ID", setup.ci.0.clone());
    values.insert("secrets.KEYSEAL_ACCESS_KEY_SECRET", setup.ci.1.clone());
    values.insert("secrets.KEYSEAL_ENDPOINT_CA", String::new());
    values.insert("github.token", "not-a-real-token".into());
    values.insert("github.ref_name", "v1.0.0".into());
    values.insert("github.server_url", "https://github.com".into());
    values.insert("github.repository", "example/app".into());

    let (signed, log) = run_github_job(&setup, &workflow, "sign", &values);
    assert_eq!(signed, 0, "the sign job failed:\n{log}");
    for asset in [
        "SHA256SUMS",
        "SHA256SUMS.sig",
        "keyseal.bundle.json",
        "SHA256SUMS.sigstore.json",
        "provenance.sigstore.json",
        "provenance.intoto.jsonl",
        "app.tar.gz",
    ] {
        assert!(setup.assets.join(asset).exists(), "{asset} is a release asset:\n{log}");
    }
    assert_eq!(stamped(&setup.assets.join("keyseal.bundle.json")), (V1.to_string(), false), "no tsa input");
    let (verified, log) = run_github_job(&setup, &workflow, "verify", &values);
    assert_eq!(verified, 0, "the verify job failed:\n{log}");
    assert!(log.contains("verify.sh: OK") && log.contains("attestation ok"), "{log}");

    std::fs::write(setup.assets.join("app.tar.gz"), b"tampered").unwrap();
    std::fs::remove_dir_all(setup.host.file("runner-temp")).unwrap();
    let (verified, log) = run_github_job(&setup, &workflow, "verify", &values);
    assert_caught_tampering(verified, &log, "app.tar.gz");

    assert!(!setup.assets.join("SHA256SUMS.sshsig").exists(), "no formats input, no SSH signature");

    // With the tsa input, the bundle carries a time stamp from the TSA; with formats
    // ssh,pgp, the SSH and OpenPGP signatures are release assets too (made with no more
    // than the CI policy allows).
    values.insert("inputs.tsa", setup.tsa_url.clone());
    values.insert("inputs.formats", "ssh,pgp".into());
    let (signed, log) = run_github_job(&setup, &workflow, "sign", &values);
    assert_eq!(signed, 0, "the sign job with a TSA failed:\n{log}");
    assert!(log.contains("\"timestamp\""), "{log}");
    assert_eq!(stamped(&setup.assets.join("keyseal.bundle.json")), (V2.to_string(), true), "{log}");
    let sshsig = std::fs::read_to_string(setup.assets.join("SHA256SUMS.sshsig")).unwrap();
    assert!(sshsig.starts_with("-----BEGIN SSH SIGNATURE-----"), "{sshsig}");
    let asc = std::fs::read_to_string(setup.assets.join("SHA256SUMS.asc")).unwrap();
    assert!(asc.starts_with("-----BEGIN PGP SIGNATURE-----"), "{asc}");
    setup.server.stop();
}

#[test]
fn gitlab_template_signs_and_its_verify_job_catches_tampering() {
    let template = load("gitlab/keyseal.gitlab-ci.yml", "vendor.gitlab-ci");
    let setup = Setup::new();
    // What GitLab provides: the template's and the project's variables, CI/CD variables,
    // and the predefined ones.
    let mut env = setup.base_env();
    for (name, value) in template["variables"].as_object().unwrap() {
        env.insert(name.clone(), value.as_str().unwrap().to_string());
    }
    env.insert("KEYSEAL_KEY".into(), "alias/release".into());
    env.insert("KEYSEAL_KEY_VERSION".into(), setup.version.clone());
    env.insert("KEYSEAL_PUBLIC_KEY".into(), "release-signing.pub.pem".into());
    env.insert("KEYSEAL_ENDPOINT".into(), format!("http://{}", setup.server.endpoint));
    env.insert("KEYSEAL_ACCESS_KEY_ID".into(), setup.ci.0.clone());
    env.insert("KEYSEAL_ACCESS_KEY_SECRET".into(), setup.ci.1.clone());
    env.insert("CI_COMMIT_TAG".into(), "v1.0.0".into());
    env.insert("CI_PROJECT_DIR".into(), setup.workspace.display().to_string());
    for (name, value) in [
        ("GITLAB_CI", "true"),
        ("CI_SERVER_URL", "https://gitlab.example.com"),
        ("CI_PROJECT_PATH", "group/app"),
        ("CI_PROJECT_URL", "https://gitlab.example.com/group/app"),
        ("CI_RUNNER_ID", "7"),
        ("CI_COMMIT_REF_NAME", "v1.0.0"),
        ("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ("CI_JOB_URL", "https://gitlab.example.com/group/app/-/jobs/9"),
        ("CI_CONFIG_PATH", ".gitlab-ci.yml"),
    ] {
        env.insert(name.into(), value.into());
    }

    let run_job = |job: &str, env: &BTreeMap<String, String>| {
        let spec = &template[job];
        assert!(spec["rules"][0]["if"].as_str().unwrap().contains("CI_COMMIT_TAG"), "runs for tags");
        let lines: Vec<&str> = ["before_script", "script"]
            .iter()
            .flat_map(|part| spec[*part].as_array().into_iter().flatten())
            .map(|line| line.as_str().unwrap())
            .collect();
        // GitLab runs a job's lines in one shell, stopping at the first failure.
        setup.run(&["sh", "-e", "-c"], &lines.join("\n"), env)
    };
    let (signed, log) = run_job("keyseal-sign", &env);
    assert_eq!(signed, 0, "the sign job failed:\n{log}");
    assert_eq!(
        stamped(&setup.workspace.join("dist/keyseal.bundle.json")),
        (V1.to_string(), false),
        "KEYSEAL_TSA empty"
    );
    let artifacts = template["keyseal-sign"]["artifacts"]["paths"][0].as_str().unwrap();
    assert_eq!(artifacts.replace("$KEYSEAL_DIST", "dist"), "dist/", "the signed release is the job's artifact");
    let (verified, log) = run_job("keyseal-verify", &env);
    assert_eq!(verified, 0, "the verify job failed:\n{log}");
    assert!(log.contains("verify.sh: OK") && log.contains("attestation ok"), "{log}");
    std::fs::write(setup.workspace.join("dist/linux/app"), b"tampered").unwrap();
    let (verified, log) = run_job("keyseal-verify", &env);
    assert_caught_tampering(verified, &log, "linux/app");

    assert!(!setup.workspace.join("dist/SHA256SUMS.sshsig").exists(), "KEYSEAL_FORMATS empty");

    // With KEYSEAL_TSA set, the bundle carries a time stamp from the TSA; with
    // KEYSEAL_FORMATS=ssh,pgp, the release has its SSH and OpenPGP signatures too.
    env.insert("KEYSEAL_TSA".into(), setup.tsa_url.clone());
    env.insert("KEYSEAL_FORMATS".into(), "ssh,pgp".into());
    let (signed, log) = run_job("keyseal-sign", &env);
    assert_eq!(signed, 0, "the sign job with a TSA failed:\n{log}");
    assert_eq!(stamped(&setup.workspace.join("dist/keyseal.bundle.json")), (V2.to_string(), true), "{log}");
    assert!(setup.workspace.join("dist/SHA256SUMS.sshsig").is_file(), "{log}");
    assert!(setup.workspace.join("dist/SHA256SUMS.asc").is_file(), "{log}");
    setup.server.stop();
}
