//! Where a PostgreSQL store is: a libpq-style URL, `postgresql://USER@HOST:PORT/DB?...`,
//! read into the driver's configuration. keyseal takes libpq's TLS parameters itself
//! (`sslmode` with `verify-ca` and `verify-full`, `sslrootcert`), since the driver knows
//! only `disable`, `prefer` and `require`; and, as libpq does, the password from the URL,
//! else `PGPASSWORD`, else the password file (`PGPASSFILE`, default `~/.pgpass`, ignored
//! when group or others can read it). The password is never printed: messages name the
//! store by [`Location::display`].

use super::tls::{MakeRustls, Verify};
use rustls::pki_types::pem::PemObject;
use std::path::PathBuf;

/// A parsed store URL.
pub struct Location {
    /// The driver's configuration, password included.
    pub config: postgres::Config,
    /// How TLS is used.
    pub tls: MakeRustls,
    /// The URL without its password, for messages.
    pub display: String,
}

/// Whether `text` names a PostgreSQL store rather than a directory.
pub fn is_url(text: &str) -> bool {
    text.starts_with("postgresql://") || text.starts_with("postgres://")
}

impl Location {
    /// Reads `url`; the error says what is wrong without repeating a password.
    pub fn parse(url: &str) -> Result<Location, String> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let (mut sslmode, mut sslrootcert) = ("prefer".to_string(), None);
        let mut kept = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "sslmode" => sslmode = value.into_owned(),
                "sslrootcert" => sslrootcert = Some(PathBuf::from(value.as_ref())),
                _ => {
                    kept.append_pair(&name, &value);
                }
            }
        }
        let kept = kept.finish();
        let driver_url = if kept.is_empty() { base.to_string() } else { format!("{base}?{kept}") };
        let display = redact(url);
        let mut config: postgres::Config =
            driver_url.parse().map_err(|e| format!("the store URL {display} is not a PostgreSQL URL: {e}"))?;
        use postgres::config::SslMode;
        let (mode, verify) = match sslmode.as_str() {
            "disable" => (SslMode::Disable, Verify::Nothing),
            "prefer" => (SslMode::Prefer, Verify::Nothing),
            "require" => (SslMode::Require, Verify::Nothing),
            "verify-ca" => (SslMode::Require, Verify::Chain),
            "verify-full" => (SslMode::Require, Verify::Full),
            other => {
                return Err(format!(
                    "the store URL has sslmode={other}; use disable, prefer, require, verify-ca or verify-full"
                ));
            }
        };
        let (mode, tls) = match (mode, crate::tls::provider()) {
            (SslMode::Disable, _) => (SslMode::Disable, MakeRustls::none()),
            // libpq's `prefer` takes plaintext when TLS cannot be had; so does a build without it.
            (SslMode::Prefer, Err(_)) => (SslMode::Disable, MakeRustls::none()),
            (mode, _) => {
                let roots = match verify {
                    Verify::Nothing => rustls::RootCertStore::empty(),
                    Verify::Chain | Verify::Full => roots(sslrootcert)?,
                };
                (mode, MakeRustls::new(verify, roots)?)
            }
        };
        config.ssl_mode(mode);
        if config.get_password().is_none()
            && let Some(password) = password_for(&config)
        {
            config.password(password);
        }
        if config.get_application_name().is_none() {
            config.application_name("keyseal");
        }
        config.connect_timeout(std::time::Duration::from_secs(10));
        Ok(Location { config, tls, display })
    }
}

/// The URL with its password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
            let hidden = if user_info.contains(':') { format!("{user}:***") } else { user.to_string() };
            crate::quote::escape_text(&format!("{scheme}://{hidden}@{host}{tail}")).into_owned()
        }
        None => crate::quote::escape_text(url).into_owned(),
    }
}

/// The CA certificates `sslrootcert` names (default `~/.postgresql/root.crt`, as libpq).
fn roots(sslrootcert: Option<PathBuf>) -> Result<rustls::RootCertStore, String> {
    let path = sslrootcert
        .or_else(|| dirs::home_dir().map(|home| home.join(".postgresql/root.crt")))
        .ok_or("verify-ca and verify-full need sslrootcert=PATH (the CA certificates, PEM)")?;
    let pem = std::fs::read(&path).map_err(|e| {
        format!(
            "cannot read the store's sslrootcert {}: {e} (verify-ca and verify-full need the CA certificates, PEM)",
            path.display()
        )
    })?;
    let mut store = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("sslrootcert {} is not PEM certificates: {e}", path.display()))?;
        store.add(cert).map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
    }
    if store.is_empty() {
        return Err(format!("sslrootcert {} holds no certificate", path.display()));
    }
    Ok(store)
}

/// The password libpq would use: `PGPASSWORD`, else the first matching line of the
/// password file.
fn password_for(config: &postgres::Config) -> Option<String> {
    if let Some(password) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
        return Some(password);
    }
    let file =
        std::env::var_os("PGPASSFILE").map(PathBuf::from).or_else(|| dirs::home_dir().map(|h| h.join(".pgpass")))?;
    let text = read_private(&file)?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let dbname = config.get_dbname().or(config.get_user()).unwrap_or("").to_string();
    let user = config.get_user().unwrap_or("").to_string();
    pgpass_lookup(&text, [&host, &port, &dbname, &user])
}

/// The password file's text, unless group or others may read it (libpq ignores it then).
fn read_private(file: &std::path::Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(file).ok()?.permissions().mode() & 0o077 != 0 {
            crate::errln!(
                "warning: ignoring the password file {}: it is open to group or others (chmod 600)",
                file.display()
            );
            return None;
        }
    }
    std::fs::read_to_string(file).ok()
}

/// The password of the first `host:port:database:user:password` line matching `wanted`
/// (`*` matches anything; `\:` and `\\` are a colon and a backslash).
fn pgpass_lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let fields = split_escaped(line);
        if fields.len() < 5 {
            continue;
        }
        if fields.iter().zip(wanted).all(|(field, want)| field == "*" || field == want) {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn split_escaped(line: &str) -> Vec<String> {
    let (mut fields, mut current) = (Vec::new(), String::new());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            ':' => fields.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    fields.push(current);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact("postgresql://ks:s3cret@db:5432/keyseal?sslmode=verify-full"),
            "postgresql://ks:***@db:5432/keyseal?sslmode=verify-full"
        );
        assert_eq!(redact("postgres://ks@db/keyseal"), "postgres://ks@db/keyseal");
        assert_eq!(redact("postgresql://db"), "postgresql://db");
        let err = Location::parse("postgresql://ks:s3cret@db/keyseal?sslmode=bogus").err().unwrap();
        assert!(!err.contains("s3cret") && err.contains("sslmode=bogus"), "{err}");
    }

    #[test]
    fn the_password_file_matches_like_libpq() {
        let text = "# comment\nother:5432:*:ks:wrong\ndb:5432:keyseal:ks:pa\\:ss\n*:*:*:*:fallback\n";
        assert_eq!(pgpass_lookup(text, ["db", "5432", "keyseal", "ks"]).as_deref(), Some("pa:ss"));
        assert_eq!(pgpass_lookup(text, ["elsewhere", "1", "x", "y"]).as_deref(), Some("fallback"));
        assert_eq!(pgpass_lookup("db:5432:keyseal:ks\n", ["db", "5432", "keyseal", "ks"]), None);
    }

    #[test]
    fn tls_parameters_are_keyseals_and_verify_needs_roots() {
        let location =
            Location::parse("postgresql://ks@127.0.0.1:5432/keyseal?sslmode=disable&application_name=x").unwrap();
        assert_eq!(location.config.get_ssl_mode(), postgres::config::SslMode::Disable);
        assert_eq!(location.config.get_application_name(), Some("x"));
        let err =
            Location::parse("postgresql://ks@h/k?sslmode=verify-full&sslrootcert=/nonexistent.pem").err().unwrap();
        assert!(err.contains("cannot read the store's sslrootcert /nonexistent.pem"), "{err}");
        assert!(is_url("postgres://h/k") && is_url("postgresql://h/k") && !is_url("/var/lib/keyseal"));
    }
}
