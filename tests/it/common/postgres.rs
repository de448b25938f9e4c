//! A PostgreSQL cluster of the test process's own: initialised in `target/tmp/postgres`
//! (as an unprivileged user: under root, in a user namespace that maps root to one, since
//! PostgreSQL refuses to run as root), started on a free loopback port with password
//! (SCRAM) authentication, and stopped when the test process exits — a shell holds the
//! server and stops it when its standard input, held by this process, closes. Each test
//! gets a database of its own.

use super::Keyseal;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The cluster's superuser, whose password tests put in URLs, `PGPASSWORD` or `.pgpass`.
pub const USER: &str = "keyseal";
/// Its password.
pub const PASSWORD: &str = "pg-test-7f3a9c";

/// The running cluster.
pub struct Cluster {
    pub port: u16,
    dir: PathBuf,
    /// Server settings beyond the defaults (`-c name=value ...`).
    settings: String,
    /// The shell holding the server; its stdin closing stops it.
    holder: Mutex<Child>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// The PostgreSQL binaries: on the PATH, or Debian's versioned directory.
fn bin(name: &str) -> PathBuf {
    if let Ok(found) = Command::new("sh").args(["-c", &format!("command -v {name}")]).output()
        && found.status.success()
    {
        return PathBuf::from(String::from_utf8_lossy(&found.stdout).trim());
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap_or_else(|e| {
            panic!("PostgreSQL must be installed for the store tests (.ci/run installs postgresql): {e}")
        })
        .map(|entry| entry.unwrap().path().join("bin").join(name))
        .filter(|path| path.exists())
        .collect();
    versions.sort();
    versions.pop().unwrap_or_else(|| panic!("no {name} in /usr/lib/postgresql/*/bin"))
}

/// `command` as a user PostgreSQL accepts: itself, or under root in a user namespace.
fn unprivileged(program: &Path) -> Command {
    if rustix::process::geteuid().is_root() {
        let mut command = Command::new("unshare");
        command.args(["--user", "--map-user=1000", "--map-group=1000"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The cluster most tests share, started on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| Cluster::new("postgres"))
}

impl Cluster {
    /// A cluster of its own in `target/tmp/NAME` (for a test that stops it).
    pub fn new(name: &str) -> Cluster {
        Cluster::with_settings(name, "")
    }

    /// A cluster of its own serving TLS with `cert` and `key` (PEM files).
    pub fn with_tls(name: &str, cert: &Path, key: &Path) -> Cluster {
        let settings = format!("-c ssl=on -c ssl_cert_file={} -c ssl_key_file={}", super::path(cert), super::path(key));
        Cluster::with_settings(name, &settings)
    }

    fn with_settings(name: &str, settings: &str) -> Cluster {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        let data = dir.join("data");
        let initdb = unprivileged(&bin("initdb"))
            .args(["-D", super::path(&data), "-U", USER, "--auth-local=trust", "--auth-host=scram-sha-256"])
            .args(["--pwfile", super::path(&pwfile), "--no-sync"])
            .output()
            .expect("initdb runs");
        assert!(initdb.status.success(), "initdb: {}", String::from_utf8_lossy(&initdb.stderr));
        let port = free_port();
        let holder = spawn_server(&dir, port, settings, std::fs::File::create(dir.join("server.log")).unwrap());
        let cluster = Cluster { port, dir, settings: settings.to_string(), holder: Mutex::new(holder) };
        cluster.wait_ready();
        cluster
    }

    /// The superuser's URL for database `db`, password included.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://{USER}:{PASSWORD}@127.0.0.1:{}/{db}?sslmode=disable", self.port)
    }

    /// The URL of database `db` on `host` without a password, with `query` (TLS options).
    pub fn url_without_password(&self, host: &str, db: &str, query: &str) -> String {
        format!("postgresql://{USER}@{host}:{}/{db}?{query}", self.port)
    }

    fn admin(&self) -> Result<postgres::Client, postgres::Error> {
        postgres::Client::connect(&self.url("postgres").replace("?sslmode=disable", ""), postgres::NoTls)
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            match self.admin() {
                Ok(_) => return,
                Err(e) if started.elapsed() > Duration::from_secs(60) => {
                    let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                    panic!("PostgreSQL did not start: {e}\n{log}");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// A new, empty database; its name.
    pub fn database(&self) -> String {
        let name = format!("keyseal_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed));
        self.admin().unwrap().batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        name
    }

    /// Stops the server now and waits for it (for tests of an outage); `start` brings it back.
    pub fn stop(&self) {
        let mut holder = self.holder.lock().unwrap();
        drop(holder.stdin.take());
        holder.wait().unwrap();
    }

    /// Starts the server again after [`Cluster::stop`], on the same port and data.
    pub fn start(&self) {
        let log = std::fs::OpenOptions::new().append(true).open(self.dir.join("server.log")).unwrap();
        *self.holder.lock().unwrap() = spawn_server(&self.dir, self.port, &self.settings, log);
        self.wait_ready();
    }
}

/// The server on `dir/data`, held by a shell that stops it when its stdin closes.
fn spawn_server(dir: &Path, port: u16, settings: &str, log: std::fs::File) -> Child {
    let server = format!(
        "{} -D {} -p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 {settings} & pid=$!; read _; kill -INT $pid; wait $pid",
        super::path(&bin("postgres")),
        super::path(&dir.join("data")),
        super::path(dir),
    );
    unprivileged(Path::new("/bin/sh"))
        .args(["-c", &server])
        .stdin(Stdio::piped())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Ok(mut holder) = self.holder.lock() {
            let _ = holder.stdin.as_mut().map(|stdin| stdin.write_all(b"\n"));
        }
    }
}

/// A scratch store on a new database of the shared cluster: its commands get `KEYSEAL_STORE`.
pub fn store() -> Keyseal {
    store_on(cluster())
}

/// A scratch store on a new database of `cluster`.
pub fn store_on(cluster: &Cluster) -> Keyseal {
    let mut ks = Keyseal::new();
    ks.env.push(("KEYSEAL_STORE".into(), cluster.url(&cluster.database())));
    ks
}

/// The same test body on both stores: SQLite, then PostgreSQL.
pub fn both() -> [Keyseal; 2] {
    [Keyseal::new(), store()]
}

/// Everything a store holds, as bytes to search: each file of a SQLite store; a
/// PostgreSQL store's `pg_dump`, with its bytea values decoded from hex as well.
pub fn stored_bytes(ks: &Keyseal) -> Vec<Vec<u8>> {
    let Some((_, url)) = ks.env.iter().find(|(name, _)| name == "KEYSEAL_STORE") else {
        let files = std::fs::read_dir(ks.store()).unwrap();
        return files.map(|file| std::fs::read(file.unwrap().path()).unwrap()).collect();
    };
    let dump = Command::new(bin("pg_dump")).args(["--data-only", url]).output().unwrap();
    assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));
    let text = String::from_utf8_lossy(&dump.stdout).into_owned();
    let mut decoded = Vec::new();
    for hex in text.split("\\x").skip(1) {
        let digits: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
        decoded.extend(::hex::decode(&digits[..digits.len() / 2 * 2]).unwrap_or_default());
    }
    vec![dump.stdout, decoded]
}
