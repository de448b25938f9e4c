//! A SoftHSM2 token of its own for one test: its configuration and token directory in a
//! folder under `target/tmp` (never the system's), initialised with `softhsm2-util`, and
//! its user PIN in a file for the URI's `pin-source`.

use super::{Keyseal, path, run_peer};
use std::path::PathBuf;
use std::process::Command;

/// Debian's SoftHSM2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of every test token.
pub const PIN: &str = "472913";
const SO_PIN: &str = "83927164";

/// One initialised token.
pub struct SoftHsm {
    dir: tempfile::TempDir,
    /// `SOFTHSM2_CONF` for every process that uses the token.
    pub conf: PathBuf,
    /// The token's label.
    pub label: String,
}

impl SoftHsm {
    /// A new token labelled `label`, with [`PIN`].
    pub fn new(label: &str) -> SoftHsm {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", path(&tokens)),
        )
        .unwrap();
        let hsm = SoftHsm { dir, conf, label: label.to_string() };
        let (ok, out) = run_peer(hsm.command("softhsm2-util").args([
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            SO_PIN,
            "--pin",
            PIN,
        ]));
        assert!(ok, "softhsm2-util --init-token: {out}");
        std::fs::write(hsm.pin_file(), format!("{PIN}\n")).unwrap();
        hsm.set_pin_file_mode(0o600);
        hsm
    }

    /// The file holding the user PIN.
    pub fn pin_file(&self) -> PathBuf {
        self.dir.path().join("pin")
    }

    /// Sets the PIN file's permission bits.
    pub fn set_pin_file_mode(&self, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.pin_file(), std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// The token's RFC 7512 URI, PIN from [`SoftHsm::pin_file`].
    pub fn uri(&self) -> String {
        format!("pkcs11:token={}?module-path={MODULE}&pin-source=file:{}", self.label, path(&self.pin_file()))
    }

    /// `program` with the token's configuration.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SOFTHSM2_CONF", &self.conf);
        command
    }

    /// `pkcs11-tool` on this token, logged in.
    pub fn pkcs11_tool(&self, args: &[&str]) -> (bool, String) {
        run_peer(
            self.command("pkcs11-tool")
                .args(["--module", MODULE, "--token-label", &self.label, "--login", "--pin", PIN])
                .args(args),
        )
    }

    /// A scratch store whose commands see this token, configured as its home for HSM keys.
    pub fn store(&self) -> Keyseal {
        let mut ks = Keyseal::new();
        ks.env.push(("SOFTHSM2_CONF".into(), path(&self.conf).into()));
        let run = ks.run(&["hsm", "configure", "--uri", &self.uri()]);
        assert_eq!(run.status, 0, "hsm configure: {}{}", run.stdout, run.stderr);
        ks
    }
}
