//! Counts in the text people read: `1 file`, `2 files`, never `1 files` or `file(s)`.
//! English plurals of the few nouns keyseal counts, given by the caller, so no table of
//! irregular words is needed.

/// `n` and the noun that fits it: `count(1, "file", "files")` is `1 file`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(0, "file", "files"), "0 files");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }
}
