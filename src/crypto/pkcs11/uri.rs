//! RFC 7512 PKCS#11 URIs, the way step-ca, cosign, OpenSSL's pkcs11 provider and p11-kit
//! name a token: `pkcs11:token=keyseal;serial=…?module-path=/usr/lib/…/libsofthsm2.so&pin-source=file:/etc/keyseal/pin`.
//!
//! keyseal takes the attributes that pick a token (`token`, `manufacturer`, `serial`,
//! `model`, `slot-id`) and the module and PIN source from the query. A URI naming an
//! object (`object`, `id`, `type`) is refused: keyseal names its own objects. The PIN
//! itself (`pin-value`) is refused too, since a URI ends up in shell history, process
//! lists and the store; `pin-source` names a file instead, and without it the PIN is asked
//! on the terminal. Vendor attributes (`x-…`) are ignored, as RFC 7512 §2.3 allows; any
//! other unknown attribute is refused rather than silently ignored, so a typo never
//! selects another token.

use percent_encoding::percent_decode_str;
use std::path::PathBuf;

/// A parsed PKCS#11 URI naming one token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pkcs11Uri {
    /// The token's label (`token=`).
    pub token: Option<String>,
    /// The token's manufacturer ID (`manufacturer=`).
    pub manufacturer: Option<String>,
    /// The token's serial number (`serial=`).
    pub serial: Option<String>,
    /// The token's model (`model=`).
    pub model: Option<String>,
    /// The slot's numeric ID (`slot-id=`).
    pub slot_id: Option<u64>,
    /// The PKCS#11 module to load (`module-path=`), an absolute path.
    pub module_path: PathBuf,
    /// Where the user PIN is read from (`pin-source=`), a file; `None`: the terminal.
    pub pin_source: Option<PathBuf>,
}

/// What a URI may not contain, and why, in words for the person who typed it.
fn bad(why: impl std::fmt::Display) -> String {
    format!(
        "the PKCS#11 URI {why} (RFC 7512; e.g. pkcs11:token=NAME?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/path/to/pin)"
    )
}

impl Pkcs11Uri {
    /// Parses `text`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Pkcs11Uri, String> {
        let rest = text
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
            .map(|_| &text[7..])
            .ok_or_else(|| bad("must start with pkcs11:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = Pkcs11Uri::default();
        let mut module_path = None;
        let mut seen = Vec::new();
        for (name, value) in attributes(path, ';')?.into_iter().chain(attributes(query, '&')?) {
            if !name.starts_with("x-") && seen.contains(&name) {
                return Err(bad(format_args!("gives {name} twice")));
            }
            seen.push(name.clone());
            match name.as_str() {
                "token" => uri.token = Some(value),
                "manufacturer" => uri.manufacturer = Some(value),
                "serial" => uri.serial = Some(value),
                "model" => uri.model = Some(value),
                "slot-id" => {
                    uri.slot_id =
                        Some(value.parse().map_err(|_| bad(format_args!("has slot-id {value:?}, not a number")))?)
                }
                "module-path" => module_path = Some(PathBuf::from(value)),
                "pin-source" => uri.pin_source = Some(pin_source(&value)?),
                "pin-value" => {
                    return Err(bad(
                        "holds the PIN (pin-value); put the PIN in a file readable only by you and give pin-source=file:PATH, or leave it out to be asked",
                    ));
                }
                "object" | "id" | "type" => {
                    return Err(bad(format_args!(
                        "names an object ({name}); name only the token: keyseal labels its own objects"
                    )));
                }
                "module-name" => return Err(bad("names the module by name; give its absolute module-path instead")),
                other if other.starts_with("x-") => {}
                other => {
                    return Err(bad(format_args!(
                        "has {other:?}, which keyseal does not take; it takes token, manufacturer, serial, model, slot-id, module-path and pin-source"
                    )));
                }
            }
        }
        uri.module_path = module_path.ok_or_else(|| bad("has no module-path: give the PKCS#11 module to load"))?;
        if !uri.module_path.is_absolute() {
            return Err(bad("has a relative module-path; give the module's absolute path"));
        }
        Ok(uri)
    }

    /// Whether a token with these properties is the one the URI names.
    pub fn matches(&self, slot_id: u64, label: &str, manufacturer: &str, serial: &str, model: &str) -> bool {
        let same = |wanted: &Option<String>, actual: &str| wanted.as_deref().is_none_or(|w| w == actual.trim_end());
        self.slot_id.is_none_or(|id| id == slot_id)
            && same(&self.token, label)
            && same(&self.manufacturer, manufacturer)
            && same(&self.serial, serial)
            && same(&self.model, model)
    }
}

/// The `name=value` pairs of a path (`;`) or query (`&`), names lower-cased and values
/// percent-decoded.
fn attributes(part: &str, separator: char) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for attribute in part.split(separator).filter(|a| !a.is_empty()) {
        let (name, value) =
            attribute.split_once('=').ok_or_else(|| bad(format_args!("has {attribute:?} without =")))?;
        let value = percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| bad(format_args!("has a {name} that is not UTF-8 once decoded")))?;
        pairs.push((name.to_ascii_lowercase(), value.into_owned()));
    }
    Ok(pairs)
}

/// The file a `pin-source` names: `file:PATH`, `file://PATH`, or a bare absolute path
/// (RFC 7512 leaves the form to the application; these are what p11-kit and OpenSSL take).
fn pin_source(value: &str) -> Result<PathBuf, String> {
    let path = value.strip_prefix("file://").or_else(|| value.strip_prefix("file:")).unwrap_or(value);
    if path.starts_with('|') {
        return Err(bad("has a pin-source that runs a command; give a file"));
    }
    if !path.starts_with('/') {
        return Err(bad(format_args!("has pin-source {value:?}; give file:/ABSOLUTE/PATH")));
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_parses() {
        let uri =
            Pkcs11Uri::parse("pkcs11:token=keyseal?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/path")
                .unwrap();
        assert_eq!(uri.token.as_deref(), Some("keyseal"));
        assert_eq!(uri.module_path, PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
        assert_eq!(uri.pin_source, Some(PathBuf::from("/path")));
    }

    #[test]
    fn path_attributes_are_percent_decoded_and_matched() {
        let uri = Pkcs11Uri::parse(
            "PKCS11:token=My%20Token;serial=0123;slot-id=7;x-vendor=a;x-vendor=b?module-path=%2Fopt%2Fm.so",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("My Token"));
        assert_eq!(uri.pin_source, None);
        assert!(uri.matches(7, "My Token   ", "any", "0123", "m"));
        assert!(!uri.matches(8, "My Token", "any", "0123", "m"));
        assert!(!uri.matches(7, "My Token", "any", "0124", "m"));
        assert!(!uri.matches(7, "My", "any", "0123", "m"));
    }

    #[test]
    fn what_is_refused_says_why() {
        for (uri, says) in [
            ("token=a?module-path=/m.so", "must start with pkcs11:"),
            ("pkcs11:token=a", "no module-path"),
            ("pkcs11:token=a?module-path=m.so", "relative module-path"),
            ("pkcs11:token=a?module-path=/m.so&pin-value=1234", "holds the PIN"),
            ("pkcs11:token=a;object=k?module-path=/m.so", "names an object"),
            ("pkcs11:token=a;token=b?module-path=/m.so", "twice"),
            ("pkcs11:tokn=a?module-path=/m.so", "\"tokn\""),
            ("pkcs11:token?module-path=/m.so", "without ="),
            ("pkcs11:slot-id=x?module-path=/m.so", "not a number"),
            ("pkcs11:?module-path=/m.so&pin-source=|cat", "runs a command"),
            ("pkcs11:?module-path=/m.so&pin-source=pin.txt", "ABSOLUTE"),
            ("pkcs11:?module-name=softhsm2", "module-path"),
            ("pkcs11:token=%ff?module-path=/m.so", "not UTF-8"),
        ] {
            let err = Pkcs11Uri::parse(uri).unwrap_err();
            assert!(err.contains(says), "{uri}: {err}");
        }
        assert!(!Pkcs11Uri::parse("pkcs11:?module-path=/m.so&pin-value=secret").unwrap_err().contains("secret"));
    }

    #[test]
    fn pin_sources_in_every_form() {
        for form in ["file:/p", "file:///p", "/p"] {
            let uri = Pkcs11Uri::parse(&format!("pkcs11:?module-path=/m.so&pin-source={form}")).unwrap();
            assert_eq!(uri.pin_source, Some(PathBuf::from("/p")), "{form}");
        }
    }
}
