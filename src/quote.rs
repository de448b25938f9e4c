//! Making text from input safe to print on a terminal. A file name, a certificate subject
//! or an audit field may hold a newline (forging a line of output), an escape sequence
//! (rewriting the screen) or a bidirectional override (reordering what is shown). Text
//! output passes such strings through here; `--json` output stays exact.
//!
//! Names are quoted the way coreutils' `ls` and `rm` quote file names
//! (`--quoting-style=shell-escape`): a name with a control character is shown as
//! `'a'$'\n''b'`, which a shell turns back into the name. Free text (messages that embed
//! names) gets C-style escapes instead (`\n`, `\x1b`, `\u{202e}`).

use std::borrow::Cow;
use std::path::Path;

/// Whether `c` must not reach a terminal raw: C0 and C1 controls, DEL, and the Unicode
/// format characters that reorder or hide text.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
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

/// A name for text output: unchanged when it is safe, else shell-escape quoted.
pub fn quote_name(name: &str) -> Cow<'_, str> {
    if !name.chars().any(unsafe_char) {
        return Cow::Borrowed(name);
    }
    let mut out = String::new();
    let mut in_plain = false;
    for c in name.chars() {
        if unsafe_char(c) {
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
}
