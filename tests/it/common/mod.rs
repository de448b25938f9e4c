//! Shared helpers for the end-to-end tests: a scratch store and the real `keyseal` binary.

pub mod bounded;
pub mod openssl;
pub mod pki;
pub mod postgres;
pub mod pyca;
pub mod softhsm;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The passphrase every test store is locked with.
pub const PASSPHRASE: &str = "test passphrase 123";
/// The cheapest Argon2id keyseal accepts (8 MiB, one pass), for the stores of tests that
/// do not test the key derivation: the default (64 MiB, three passes) costs about 0.2 s
/// per unlock, and the suite unlocks stores hundreds of times.
/// `tests/it/kms_cli.rs` checks the default.
pub const CHEAP_KDF: &str = "m=8192,t=1,p=1";

/// A path as the `&str` command arguments take (test paths are UTF-8).
pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A scratch store directory and a way to run `keyseal` on it.
pub struct Keyseal {
    pub dir: tempfile::TempDir,
    /// Variables every command gets besides the store's (a SoftHSM configuration, say).
    pub env: Vec<(String, String)>,
}

/// What one run printed and how it ended.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as JSON; panics with both streams when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    /// The error body on stderr.
    pub fn error(&self) -> Value {
        serde_json::from_str(&self.stderr)
            .unwrap_or_else(|e| panic!("stderr is not an error body ({e}):\n{}", self.stderr))
    }

    /// The error code of a failed run.
    pub fn code(&self) -> String {
        assert_ne!(self.status, 0, "expected a failure, got success:\n{}", self.stdout);
        self.error()["Code"].as_str().unwrap().to_string()
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Keyseal {
    pub fn new() -> Keyseal {
        Keyseal { dir: tempfile::tempdir().unwrap(), env: Vec::new() }
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Whether the store is a PostgreSQL database (`common::postgres::store`).
    pub fn is_postgres(&self) -> bool {
        self.env.iter().any(|(name, value)| name == "KEYSEAL_STORE" && value.starts_with("postgresql://"))
    }

    /// A value of the store's `meta` table, as text (read straight from the database).
    pub fn meta(&self, name: &str) -> String {
        let db = rusqlite::Connection::open(self.store().join("keyseal.db")).unwrap();
        let value: Vec<u8> = db.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| r.get(0)).unwrap();
        String::from_utf8(value).unwrap()
    }

    /// A path for a scratch file beside the store.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A `keyseal` command on this store with the test passphrase.
    pub fn command(&self) -> Command {
        self.command_via(env!("CARGO_BIN_EXE_keyseal"))
    }

    /// `program` (a wrapper that runs keyseal, such as `sh`) with this store's environment.
    pub fn command_via(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("KEYSEAL_STORE", self.store())
            .env("KEYSEAL_PASSPHRASE", PASSPHRASE)
            .env("KEYSEAL_KDF", CHEAP_KDF)
            .env_remove("KEYSEAL_KEY_FILE")
            .env_remove("KEYSEAL_PKCS11_URI")
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command().args(args).output().unwrap().into()
    }

    /// Runs and requires success; returns stdout as JSON.
    pub fn ok(&self, args: &[&str]) -> Value {
        let run = self.run(args);
        assert_eq!(run.status, 0, "keyseal {args:?} failed:\n{}\n{}", run.stdout, run.stderr);
        run.json()
    }

    /// `ca init`: a root CA `name` on a KMS key version, valid `days` days, its
    /// certificate written to `out`; returns the JSON summary.
    pub fn ca_init(&self, name: &str, key_id: &str, version: &str, subject: &str, days: &str, out: &Path) -> Value {
        self.ca_command(&["init", "--name", name], [key_id, version, subject, days], out)
    }

    /// `ca issue`: a `profile` certificate from CA `ca` for a KMS key version, valid
    /// `days` days, written to `out`; returns the JSON summary.
    #[allow(clippy::too_many_arguments)]
    pub fn ca_issue(
        &self,
        ca: &str,
        profile: &str,
        key_id: &str,
        version: &str,
        subject: &str,
        days: &str,
        out: &Path,
    ) -> Value {
        self.ca_command(&["issue", "--ca", ca, "--profile", profile], [key_id, version, subject, days], out)
    }

    /// `ca ACTION...` for the key version `[key id, version id]` with `[subject, days]`.
    fn ca_command(&self, action: &[&str], [key_id, version, subject, days]: [&str; 4], out: &Path) -> Value {
        let mut args = vec!["ca"];
        args.extend_from_slice(action);
        args.extend(["--key-id", key_id, "--key-version-id", version, "--subject", subject, "--days", days]);
        args.extend(["--out", path(out), "--json"]);
        self.ok(&args)
    }

    /// Runs and requires success; returns stdout as text.
    pub fn ok_text(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.status, 0, "keyseal {args:?} failed:\n{}\n{}", run.stdout, run.stderr);
        run.stdout
    }

    /// Creates a key; returns (KeyId, first KeyVersionId).
    pub fn create_key(&self, spec: &str, usage: &str) -> (String, String) {
        let meta = self.ok(&["kms", "create-key", "--key-spec", spec, "--key-usage", usage])["KeyMetadata"].clone();
        (meta["KeyId"].as_str().unwrap().to_string(), meta["PrimaryKeyVersion"].as_str().unwrap().to_string())
    }

    pub fn new_version(&self, key_id: &str) -> String {
        self.ok(&["kms", "create-key-version", "--key-id", key_id])["KeyVersion"]["KeyVersionId"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// `kms asymmetric-sign` of `file`'s digest, as it ran (for refusals).
    pub fn sign_run(&self, key_id: &str, version: &str, algorithm: &str, file: &Path) -> Run {
        self.run(&sign_args(key_id, version, algorithm, file))
    }

    /// Signs `file` and writes the raw signature to `out`.
    pub fn sign_file(&self, key_id: &str, version: &str, algorithm: &str, file: &Path, out: &Path) -> Value {
        self.ok(&[&sign_args(key_id, version, algorithm, file)[..], &["--out", path(out)]].concat())
    }

    /// Writes the version's public key PEM to `out`.
    pub fn public_key(&self, key_id: &str, version: &str, out: &Path) -> Value {
        self.ok(&[
            "kms",
            "get-public-key",
            "--key-id",
            key_id,
            "--key-version-id",
            version,
            "--out",
            out.to_str().unwrap(),
        ])
    }
}

/// Runs a peer tool (openssl, sha256sum); returns (success, combined output).
pub fn peer(program: &str, args: &[&str]) -> (bool, String) {
    run_peer(Command::new(program).args(args))
}

/// Runs a peer command prepared with its stdin or environment; returns (success, combined
/// output).
pub fn run_peer(command: &mut Command) -> (bool, String) {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed for the interop tests (.ci/run installs it): {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// `openssl cms -verify` of a detached CMS signature (`SHA256SUMS.p7s`) over `message`,
/// trusting `ca`. `-purpose any`: OpenSSL's default S/MIME purpose refuses a code-signing
/// leaf.
pub fn openssl_cms_verifies(p7s: &Path, message: &Path, ca: &Path) -> (bool, String) {
    peer(
        "openssl",
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            path(p7s),
            "-content",
            path(message),
            "-CAfile",
            path(ca),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    )
}

/// The algorithms that sign with each spec.
pub fn sign_algorithms(spec: &str) -> &'static [&'static str] {
    match spec {
        "RSA_2048" => &["RSA_PSS_SHA_256", "RSA_PKCS1_SHA_256"],
        _ => &["ECDSA_SHA_256"],
    }
}

pub const SPECS: &[&str] = &["RSA_2048", "EC_P256", "EC_P256K"];

/// A `keyseal serve` on a free loopback port, stopped with SIGTERM.
pub struct Server {
    child: Child,
    log: PathBuf,
    /// `127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Server {
    /// Starts the server on `ks`'s store and waits until it listens.
    pub fn start(ks: &Keyseal) -> Server {
        Server::start_with(ks, &[])
    }

    /// Starts the server with extra `serve` flags.
    pub fn start_with(ks: &Keyseal, extra: &[&str]) -> Server {
        let mut command = ks.command();
        command.args(["serve", "--listen", "127.0.0.1:0"]).args(extra);
        Server::spawn(ks, command)
    }

    /// Starts the server with its open-file limit, soft and hard, set to `open_files`
    /// (by `ulimit -n` in a shell that then execs keyseal, so the pid is the server's).
    pub fn start_with_open_files(ks: &Keyseal, open_files: u32, extra: &[&str]) -> Server {
        let mut command = ks.command_via("sh");
        command
            .args(["-c", &format!("ulimit -n {open_files} && exec \"$0\" \"$@\"")])
            .args([env!("CARGO_BIN_EXE_keyseal"), "serve", "--listen", "127.0.0.1:0"])
            .args(extra);
        Server::spawn(ks, command)
    }

    /// Spawns `command` (a `keyseal serve`) and waits until it listens.
    fn spawn(ks: &Keyseal, mut command: Command) -> Server {
        // The log goes to a file: a pipe nobody reads would fill and stall the server.
        static SERVERS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = ks.file(&format!("serve-{}-{n}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).unwrap();
        let mut child = command.stdout(Stdio::piped()).stderr(log_file).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let endpoint = line.trim().rsplit("://").next().unwrap().to_string();
        assert!(endpoint.starts_with("127.0.0.1:"), "the server printed {line:?}");
        Server { child, log, endpoint }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait: a graceful stop exits 0. Returns the server's log.
    pub fn stop(self) -> String {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.wait()
    }

    /// SIGKILL, as a crash or the OOM killer would: no shutdown code runs. Returns the
    /// server's log.
    pub fn kill(mut self) -> String {
        assert!(Command::new("kill").args(["-KILL", &self.child.id().to_string()]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "a killed server cannot exit cleanly");
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the server to exit (after a signal sent elsewhere); requires exit 0.
    pub fn wait(mut self) -> String {
        let status = self.child.wait().unwrap();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(status.success(), "the server did not stop cleanly: {log}");
        log
    }
}

/// A server a test did not stop (it failed, or it ends with the server running) is
/// killed, not left listening after the test process is gone.
impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Creates access key `name` with `policy` attached; returns (AccessKeyId, secret).
pub fn access_key(ks: &Keyseal, name: &str, policy: &str) -> (String, String) {
    let key = ks.ok(&["access", "create", name, "--json"]);
    let file = ks.file(&format!("{name}.json"));
    std::fs::write(&file, policy).unwrap();
    let attached = ks.run(&["access", "attach-policy", name, file.to_str().unwrap()]);
    assert_eq!(attached.status, 0, "{}", attached.stderr);
    (key["AccessKeyId"].as_str().unwrap().to_string(), key["AccessKeySecret"].as_str().unwrap().to_string())
}

/// The arguments of `kms asymmetric-sign` over `file`'s digest.
fn sign_args<'a>(key_id: &'a str, version: &'a str, algorithm: &'a str, file: &'a Path) -> [&'a str; 10] {
    [
        "kms",
        "asymmetric-sign",
        "--key-id",
        key_id,
        "--key-version-id",
        version,
        "--algorithm",
        algorithm,
        "--file",
        path(file),
    ]
}

/// The python of the test virtual environment (target/sdk-venv), with `packages` (pins,
/// `name==version`) installed from PyPI on first use (`.ci/run` installs them up front).
/// A venv left with other versions (by an older checkout, or by hand) is brought to the
/// pins, not reused as it is: the interop tests claim to run the pinned SDK.
pub fn venv_python(packages: &[&str], probe: &str) -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sdk-venv");
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python).args(["-c", probe]).status().is_ok_and(|s| s.success())
            && pinned_versions_installed(&python, packages)
    };
    if !ready() {
        // Tests in one binary run side by side: one creates the venv, the others wait for
        // it (an exclusive lock on a file beside it) and then find it ready.
        std::fs::create_dir_all(venv.parent().unwrap()).unwrap();
        let lock = std::fs::File::create(venv.with_extension("lock")).unwrap();
        lock.lock().unwrap();
        if ready() {
            return python;
        }
        if !python.exists() {
            let made =
                Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 must be installed");
            assert!(made.success(), "cannot create {}", venv.display());
        }
        let installed = Command::new(&python).args(["-m", "pip", "install", "-q"]).args(packages).status().unwrap();
        assert!(installed.success(), "pip could not install {packages:?}");
        assert!(ready(), "{} still does not hold {packages:?} after pip install", venv.display());
    }
    python
}

/// Whether `python` has exactly the pinned version of every `name==version` in `packages`
/// (by importlib.metadata, which reads what pip installed).
fn pinned_versions_installed(python: &Path, packages: &[&str]) -> bool {
    const CHECK: &str = r#"
import sys, importlib.metadata as m
for pin in sys.argv[1:]:
    name, version = pin.split("==")
    try:
        found = m.version(name)
    except m.PackageNotFoundError:
        sys.exit(1)
    if found != version:
        print(f"{name} {found} is installed, {version} is pinned", file=sys.stderr)
        sys.exit(1)
"#;
    Command::new(python).args(["-c", CHECK]).args(packages).status().is_ok_and(|s| s.success())
}
