//! How names from certificates and CRLs appear in messages: in RFC 4514 order, as
//! x509-cert shows them, but never longer than [`MAX_SHOWN`] characters. A hostile
//! certificate's subject can be megabytes of tiny attributes, and x509-cert's `Display`
//! looks each attribute's OID up in a linear table and copies non-string values whole, so
//! formatting such a name for every failed issuer candidate cost over a minute of CPU
//! (issue 27). Here only what is shown is looked at: the work per name is bounded by
//! [`MAX_SHOWN`], whatever its size. A certificate's subject and issuer are formatted
//! once, the first time it is named (`received::Cert`).

use der::Tagged;
use der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use std::fmt::{self, Write};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::Name;

/// Most characters of a name a message shows; a longer one ends in `…`.
pub const MAX_SHOWN: usize = 256;

/// A writer that keeps at most `limit` bytes and fails once it is full, which stops any
/// `Display` writing into it.
struct Bounded {
    out: String,
    limit: usize,
    full: bool,
}

impl Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.limit.saturating_sub(self.out.len());
        if s.len() <= room {
            self.out.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.out.push_str(&s[..end]);
        self.full = true;
        Err(fmt::Error)
    }
}

impl Bounded {
    fn new(limit: usize) -> Bounded {
        Bounded { out: String::new(), limit, full: false }
    }

    fn finish(mut self) -> String {
        if self.full {
            self.out.push('…');
        }
        self.out
    }
}

/// Anything displayable, cut at `limit` bytes (then ending in `…`).
pub fn bounded(value: &dyn fmt::Display, limit: usize) -> String {
    let mut writer = Bounded::new(limit);
    let _ = write!(writer, "{value}");
    writer.finish()
}

/// `subject "CN=...", serial 0A1B...`: how messages name a certificate. `received::Cert`
/// keeps this once per certificate, made when first asked for (see `x509::describe`), since even the bounded form
/// costs a table lookup per attribute shown.
pub fn describe_certificate(cert: &x509_cert::Certificate) -> String {
    let tbs = cert.tbs_certificate();
    format!("subject \"{}\", serial {}", show_name(tbs.subject()), hex::encode_upper(tbs.serial_number().as_bytes()))
}

/// A distinguished name as x509-cert's `Display` writes it (RFC 4514: last RDN first,
/// `,` between RDNs, `+` within one), at most [`MAX_SHOWN`] characters.
pub fn show_name(name: &Name) -> String {
    let mut writer = Bounded::new(MAX_SHOWN);
    let _ = write_name(&mut writer, name);
    writer.finish()
}

fn write_name(writer: &mut Bounded, name: &Name) -> fmt::Result {
    let rdns: Vec<_> = name.iter_rdn().collect();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            writer.write_char(',')?;
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                writer.write_char('+')?;
            }
            write_attribute(writer, atv)?;
        }
    }
    Ok(())
}

/// One attribute as x509-cert writes it: `SHORTNAME=value` with RFC 4514 escapes for a
/// string of a known type, else `OID=#hex` of its DER. Only the bytes that fit are read.
fn write_attribute(writer: &mut Bounded, atv: &AttributeTypeAndValue) -> fmt::Result {
    let value = &atv.value;
    let text = match value.tag() {
        der::Tag::PrintableString => PrintableStringRef::try_from(value).ok().map(|s| s.as_str()),
        der::Tag::Utf8String => Utf8StringRef::try_from(value).ok().map(|s| s.as_str()),
        der::Tag::Ia5String => Ia5StringRef::try_from(value).ok().map(|s| s.as_str()),
        der::Tag::TeletexString => TeletexStringRef::try_from(value).ok().map(|s| s.as_str()),
        _ => None,
    };
    // The shortest of the OID's names, the first among equals, as x509-cert picks it.
    let key = der::oid::db::DB.find_names_for_oid(atv.oid).min_by_key(|name| name.len());
    let (Some(key), Some(text)) = (key, text) else {
        write!(writer, "{}=#", atv.oid)?;
        let header = der::Length::try_from(value.value().len())
            .and_then(|length| der::Encode::to_der(&der::Header::new(value.tag(), length)));
        for byte in header.unwrap_or_default().iter().chain(value.value()) {
            write!(writer, "{byte:02x}")?;
        }
        return Ok(());
    };
    write!(writer, "{}=", key.to_ascii_uppercase())?;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' if i == 0 => writer.write_str("\\#")?,
            ' ' if i == 0 || chars.peek().is_none() => writer.write_str("\\ ")?,
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => write!(writer, "\\{c}")?,
            '\x00'..='\x1f' | '\x7f' => write!(writer, "\\{:02x}", c as u8)?,
            _ => writer.write_char(c)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;
    use std::str::FromStr;

    /// Within the bound, a name reads exactly as x509-cert's `Display` writes it, for the
    /// PKITS names (multi-valued RDNs, escapes, unknown attributes in hex among them).
    #[test]
    fn short_names_read_as_x509_cert_shows_them() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pkits/certs");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let der = std::fs::read(entry.unwrap().path()).unwrap();
            let Ok(cert) = x509_cert::Certificate::from_der(&der) else { continue };
            for name in [cert.tbs_certificate().subject(), cert.tbs_certificate().issuer()] {
                let expected = name.to_string();
                if expected.len() <= MAX_SHOWN {
                    assert_eq!(show_name(name), expected);
                    seen += 1;
                }
            }
        }
        assert!(seen > 100, "{seen}");
        for text in ["CN=a\\+b,O=x", "UID=x+CN=y,DC=example", "CN=a\\,b"] {
            let name = Name::from_str(text).unwrap();
            assert_eq!(show_name(&name), name.to_string());
        }
    }

    #[test]
    fn long_names_are_cut_and_marked() {
        let long = (0..10_000).map(|i| format!("CN=n{i}")).collect::<Vec<_>>().join(",");
        let name = Name::from_str(&long).unwrap();
        let shown = show_name(&name);
        assert!(shown.ends_with('…'), "{shown}");
        assert_eq!(shown.len(), MAX_SHOWN + '…'.len_utf8());
        assert!(name.to_string().starts_with(shown.trim_end_matches('…')));
        let multibyte = "é".repeat(1000);
        assert_eq!(bounded(&multibyte, 5), "éé…");
    }
}
