//! Making text from input safe to print on a terminal. A file name, a certificate subject
//! or an audit field may hold a newline (forging a line of output), an escape sequence
//! (rewriting the screen) or a bidirectional override (reordering what is shown). Text
//! output passes such strings through here; `--json` output stays exact.
//!
//! Names are quoted the way coreutils' `ls` and `rm` quote file names
//! (`--quoting-style=shell-escape`): a name with a control character is shown as
//! `'a'$'\n''b'`, which a shell turns back into the name. Free text (messages that embed
//! names) gets C-style escapes instead (`\n`, `\x1b`, `\u{202e}`).
//!
//! Names that differ only in Unicode normalisation look the same on a terminal: `é` typed
//! as one code point (U+00E9, NFC) and as `e` plus U+0301 (NFD, as macOS writes names).
//! Without Unicode's normalisation tables (keyseal carries none), the rule is: in a name,
//! every code point that combines with the one before it — the combining-mark blocks
//! (U+0300–036F, U+1AB0–1AFF, U+1DC0–1DFF, U+20D0–20FF, U+FE20–FE2F) and Hangul
//! conjoining jamo (U+1100–11FF, U+A960–A97F, U+D7B0–D7FF) — and every code point that
//! normalisation replaces by another that looks the same (the singletons U+0374, U+037E,
//! U+0387, U+2000–2001, U+2126, U+212A–212B, U+2329–232A and the CJK compatibility
//! ideographs) is escaped like a control character: a decomposed name
//! shows as `'e'$'\u{301}'`, its composed twin as `é`. Other scripts' combining marks are
//! shown as they are.

use std::borrow::Cow;
use std::path::Path;

/// Whether `c` must not reach a terminal raw: C0 and C1 controls, DEL, and the Unicode
/// format characters that reorder or hide text.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Whether `c`, in a name, is escaped so that names differing only in normalisation look
/// different (see the module comment for the rule).
fn normalisation_sensitive(c: char) -> bool {
    matches!(c,
        '\u{300}'..='\u{36f}'
            | '\u{1ab0}'..='\u{1aff}'
            | '\u{1dc0}'..='\u{1dff}'
            | '\u{20d0}'..='\u{20ff}'
            | '\u{fe20}'..='\u{fe2f}'
            | '\u{1100}'..='\u{11ff}'
            | '\u{a960}'..='\u{a97f}'
            | '\u{d7b0}'..='\u{d7ff}'
            | '\u{374}'
            | '\u{37e}'
            | '\u{387}'
            | '\u{2000}'..='\u{2001}'
            | '\u{2126}'
            | '\u{212a}'..='\u{212b}'
            | '\u{2329}'..='\u{232a}'
            | '\u{f900}'..='\u{faff}'
            | '\u{2f800}'..='\u{2fa1f}')
}

/// Whether `c` is escaped in a name: what `unsafe_char` escapes everywhere, and what
/// `normalisation_sensitive` marks.
fn unsafe_in_name(c: char) -> bool {
    unsafe_char(c) || normalisation_sensitive(c)
}

fn escape_char(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// A name for text output: unchanged when it is safe, else shell-escape quoted, with
/// control characters and normalisation-sensitive code points escaped.
pub fn quote_name(name: &str) -> Cow<'_, str> {
    if !name.chars().any(unsafe_in_name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::new();
    let mut in_plain = false;
    for c in name.chars() {
        if unsafe_in_name(c) {
            if in_plain {
                out.push('\'');
                in_plain = false;
            }
            out.push_str("$'");
            escape_char(c, &mut out);
            out.push('\'');
        } else {
            if !in_plain {
                out.push('\'');
                in_plain = true;
            }
            if c == '\'' {
                out.push_str("'\\''");
            } else {
                out.push(c);
            }
        }
    }
    if in_plain {
        out.push('\'');
    }
    Cow::Owned(out)
}

/// A path for messages: its lossy UTF-8 form, quoted like a name.
pub fn quote_path(path: &Path) -> String {
    quote_name(&path.to_string_lossy()).into_owned()
}

/// A word of a shell command that keyseal prints for the user to run (`keyseal demo`'s
/// steps): unchanged when a shell reads it as it is, else single-quoted, with control
/// characters written as `$'..'` so that the command stays one safe line.
pub fn shell_word(word: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return Cow::Borrowed(word);
    }
    if word.chars().any(unsafe_char) {
        return quote_name(word);
    }
    Cow::Owned(format!("'{}'", word.replace('\'', "'\\''")))
}

/// Free text for text output: every unsafe character replaced by a visible escape.
pub fn escape_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            escape_char(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Free text that may span lines on purpose (a list of problems): each line escaped on
/// its own, the line breaks kept.
pub fn escape_lines(text: &str) -> String {
    text.split('\n').map(|line| escape_text(line).into_owned()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_are_unchanged() {
        assert_eq!(quote_name("dist/app v1.tar.gz"), "dist/app v1.tar.gz");
        assert_eq!(escape_text("CN=Root, O=Example"), "CN=Root, O=Example");
    }

    #[test]
    fn shell_words_are_quoted_only_when_a_shell_needs_it() {
        assert_eq!(shell_word("/tmp/keyseal-demo"), "/tmp/keyseal-demo");
        assert_eq!(shell_word("/tmp/my demo"), "'/tmp/my demo'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("a\nb"), "'a'$'\\n''b'");
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(quote_name("a\nok              b"), "'a'$'\\n''ok              b'");
        assert_eq!(quote_name("it's\x1b[2J"), "'it'\\''s'$'\\x1b''[2J'");
        assert_eq!(escape_text("x\u{202e}y\r"), "x\\u{202e}y\\r");
        for shown in [quote_name("\u{85}\x07\x7f").into_owned(), escape_text("\u{85}\x07\x7f").into_owned()] {
            assert!(!shown.chars().any(unsafe_char), "{shown:?}");
        }
        assert_eq!(escape_lines("a\x1b\nb"), "a\\x1b\nb");
    }

    #[test]
    fn names_differing_only_in_normalisation_look_different() {
        let composed = "caf\u{e9}.txt";
        let decomposed = "cafe\u{301}.txt";
        assert_eq!(quote_name(composed), composed, "a composed name is shown as it is");
        assert_eq!(quote_name(decomposed), "'cafe'$'\\u{301}''.txt'");
        assert_ne!(quote_name(composed), quote_name(decomposed));
        // Hangul: one syllable, and the same as conjoining jamo.
        assert_eq!(quote_name("\u{d55c}"), "\u{d55c}");
        assert_eq!(quote_name("\u{1112}\u{1161}\u{11ab}"), "$'\\u{1112}'$'\\u{1161}'$'\\u{11ab}'");
        // A singleton: the Angstrom sign normalises to Å.
        assert_eq!(quote_name("\u{212b}"), "$'\\u{212b}'");
        assert_eq!(quote_name("\u{c5}"), "\u{c5}");
    }
}
