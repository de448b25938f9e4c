//! Reading the binary signature formats keyseal checks (SSH, OpenPGP) from hostile bytes:
//! every length is checked against what is left before anything is taken, so a length
//! field can neither read past the end nor make anything allocate. Each format adds its
//! own fields (SSH strings, OpenPGP packets and MPIs) on top.

/// The bytes not read yet.
pub struct Reader<'a> {
    /// What is left.
    pub rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.rest.len() {
            return Err("it is truncated".into());
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    /// A big-endian 16-bit number.
    pub fn u16(&mut self) -> Result<u16, String> {
        let bytes = self.take(2)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    /// A big-endian 32-bit number.
    pub fn u32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// Nothing may be left.
    pub fn finish(&self) -> Result<(), String> {
        if self.rest.is_empty() { Ok(()) } else { Err("it has bytes after its last field".into()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_checked_before_anything_is_taken() {
        let mut reader = Reader::new(&[0, 1, 0, 0, 0, 2, 9]);
        assert_eq!(reader.u16(), Ok(1));
        assert_eq!(reader.u32(), Ok(2));
        assert!(reader.finish().is_err());
        assert_eq!(reader.take(2).unwrap_err(), "it is truncated");
        assert_eq!(reader.take(1), Ok(&[9][..]));
        assert_eq!(reader.finish(), Ok(()));
        assert!(Reader::new(&[1]).u16().is_err());
        assert!(Reader::new(&[1, 2, 3]).u32().is_err());
    }
}
