//! The release manifest in coreutils format (`SHA256SUMS`): one `<hex>  <name>` line per
//! file, sorted by name, so the same release always gives the same bytes and
//! `sha256sum -c SHA256SUMS` checks it unchanged. Names holding a backslash, a line feed
//! or a carriage return are escaped the way coreutils does it (the line starts with `\`;
//! `\\`, `\n`, `\r`). A raw carriage return in a name is refused when reading: it would
//! not survive a round trip, and keyseal never writes one.

use std::collections::BTreeMap;

/// The file name keyseal writes the manifest to.
pub const MANIFEST_FILE: &str = "SHA256SUMS";

/// File names and their SHA-256 digests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Digest per `/`-separated relative name, sorted.
    pub entries: BTreeMap<String, [u8; 32]>,
}

impl Manifest {
    /// The manifest as `sha256sum` writes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for (name, digest) in &self.entries {
            if name.contains(['\\', '\n', '\r']) {
                out.push('\\');
            }
            out.push_str(&hex::encode(digest));
            out.push_str("  ");
            out.push_str(&name.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r"));
            out.push('\n');
        }
        out.into_bytes()
    }

    /// Reads a manifest; the error names the first bad line.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "the manifest is not UTF-8 text".to_string())?;
        let mut entries = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let (escaped, line) = match line.strip_prefix('\\') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let bad = || format!("line {number} is not `<64 hex digits>  <file name>`");
            let (digest_hex, rest) = line.split_at_checked(64).ok_or_else(bad)?;
            let name = rest.strip_prefix("  ").or_else(|| rest.strip_prefix(" *")).ok_or_else(bad)?;
            let digest: [u8; 32] = hex::decode(digest_hex).ok().and_then(|d| d.try_into().ok()).ok_or_else(bad)?;
            if name.contains('\r') {
                return Err(format!("line {number} holds a carriage return in its file name"));
            }
            let name = if escaped { unescape(name).ok_or_else(bad)? } else { name.to_string() };
            if name.is_empty() {
                return Err(bad());
            }
            if entries.insert(name.clone(), digest).is_some() {
                return Err(format!("line {number} lists {name:?} a second time"));
            }
        }
        Ok(Manifest { entries })
    }
}

fn unescape(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut entries = BTreeMap::new();
        entries.insert("b/x y.bin".to_string(), [1u8; 32]);
        entries.insert("a.bin".to_string(), [2u8; 32]);
        entries.insert("back\\slash".to_string(), [3u8; 32]);
        Manifest { entries }
    }

    #[test]
    fn writes_sorted_coreutils_lines_and_reads_them_back() {
        let bytes = sample().to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("{}  a.bin", hex::encode([2u8; 32])));
        assert_eq!(lines[1], format!("{}  b/x y.bin", hex::encode([1u8; 32])));
        assert_eq!(lines[2], format!("\\{}  back\\\\slash", hex::encode([3u8; 32])));
        assert_eq!(Manifest::parse(&bytes).unwrap(), sample());
    }

    /// Inputs the `manifest` fuzz target found (fuzz/regressions/manifest/): each must either
    /// be refused or read back the same after writing.
    #[test]
    fn fuzzer_findings_round_trip_or_are_refused() {
        let zeros = "0".repeat(64);
        let cases = [
            format!("{zeros}  a\r"),
            format!("{zeros}  a\r\r\n"),
            format!("\\{zeros}  a\\r\n"),
            format!("\\{zeros}  a\\nb\n"),
        ];
        for case in &cases {
            if let Ok(manifest) = Manifest::parse(case.as_bytes()) {
                assert_eq!(Manifest::parse(&manifest.to_bytes()), Ok(manifest), "{case:?}");
            }
        }
        assert!(Manifest::parse(cases[0].as_bytes()).is_err(), "a raw carriage return is refused");
        let escaped = Manifest::parse(cases[3].as_bytes()).unwrap();
        assert!(escaped.entries.contains_key("a\nb"));
    }

    /// coreutils escapes exactly `\\`, `\n` and `\r` in a name; anything else after a
    /// backslash is no name sha256sum would write.
    #[test]
    fn names_unescape_as_coreutils_escapes_them() {
        assert_eq!(unescape(r"a\rb\nc\\d").as_deref(), Some("a\rb\nc\\d"));
        assert_eq!(unescape(r"plain").as_deref(), Some("plain"));
        assert_eq!(unescape(r"a\t"), None);
        assert_eq!(unescape("a\\"), None, "a lone backslash at the end");
        let zeros = "0".repeat(64);
        let manifest = Manifest::parse(format!("\\{zeros}  a\\rb\n").as_bytes()).unwrap();
        assert!(manifest.entries.contains_key("a\rb"), "{:?}", manifest.entries.keys());
    }

    #[test]
    fn refuses_malformed_lines() {
        assert!(Manifest::parse(b"xyz  a\n").unwrap_err().contains("line 1"));
        let good = format!("{}  a\n", hex::encode([0u8; 32]));
        assert!(Manifest::parse(format!("{good}{good}").as_bytes()).unwrap_err().contains("second time"));
        assert!(Manifest::parse(format!("{} a\n", hex::encode([0u8; 32])).as_bytes()).is_err());
        assert_eq!(Manifest::parse(format!("{} *a\n", hex::encode([0u8; 32])).as_bytes()).unwrap().entries.len(), 1);
    }
}
