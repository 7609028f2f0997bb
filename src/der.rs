//! A small, total DER reader.
//!
//! Every read is bounds-checked and every length is validated once; nothing here can panic.
//! Only what the matcher needs is supported: single-octet tags, definite lengths in minimal
//! form, at most four length octets.

/// Why a piece of DER was rejected.
pub(crate) type DerError = &'static str;

pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const BOOLEAN: u8 = 0x01;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;
/// `[0] EXPLICIT` (constructed, context-specific 0): the certificate version.
pub(crate) const CONTEXT_0: u8 = 0xa0;
/// `[3] EXPLICIT`: the certificate extensions.
pub(crate) const CONTEXT_3: u8 = 0xa3;

/// One TLV: its tag, its contents and the whole encoding (header included).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) contents: &'a [u8],
    pub(crate) encoded: &'a [u8],
}

/// A cursor over DER input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    #[inline]
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads the next TLV, whatever its tag.
    #[inline(always)]
    pub(crate) fn read_any(&mut self) -> Result<Tlv<'a>, DerError> {
        let input = self.rest;
        let (tag, first) = match input {
            [tag, first, ..] => (*tag, *first),
            _ => return Err("truncated: missing tag or length"),
        };
        if tag & 0x1f == 0x1f {
            return Err("multi-octet tags are not supported");
        }
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err("indefinite length is not DER");
            }
            if n > 4 {
                return Err("length too large");
            }
            let octets = input.get(2..2 + n).ok_or("truncated: length octets")?;
            if octets.first() == Some(&0) {
                return Err("non-minimal length encoding");
            }
            let len = octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return Err("non-minimal length encoding");
            }
            (len, 2 + n)
        };
        let total = header
            .checked_add(len)
            .ok_or("truncated: contents shorter than length")?;
        let (encoded, rest) = input
            .split_at_checked(total)
            .ok_or("truncated: contents shorter than length")?;
        let contents = encoded.get(header..).unwrap_or_default();
        self.rest = rest;
        Ok(Tlv {
            tag,
            contents,
            encoded,
        })
    }

    /// Reads the next TLV and requires `tag`.
    #[inline]
    pub(crate) fn read(&mut self, tag: u8) -> Result<Tlv<'a>, DerError> {
        let tlv = self.read_any()?;
        if tlv.tag != tag {
            return Err("unexpected tag");
        }
        Ok(tlv)
    }

    /// Reads the next TLV if it has `tag`.
    #[inline]
    pub(crate) fn read_optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Requires that nothing is left.
    #[inline]
    pub(crate) fn finish(&self) -> Result<(), DerError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err("trailing data")
        }
    }
}

/// Parses `input` as exactly one TLV with `tag`, nothing after it.
pub(crate) fn single(input: &[u8], tag: u8) -> Result<Tlv<'_>, DerError> {
    let mut r = Reader::new(input);
    let tlv = r.read(tag)?;
    r.finish()?;
    Ok(tlv)
}

/// Checks that `spki` is a SubjectPublicKeyInfo: `SEQUENCE { SEQUENCE alg, BIT STRING }`.
/// Returns its contents (without the outer header).
pub(crate) fn spki_contents(spki: &[u8]) -> Result<&[u8], DerError> {
    let outer = single(spki, SEQUENCE)?;
    check_spki_contents(outer.contents)?;
    Ok(outer.contents)
}

/// Checks the contents of a SubjectPublicKeyInfo SEQUENCE.
#[inline]
pub(crate) fn check_spki_contents(contents: &[u8]) -> Result<(), DerError> {
    let mut r = Reader::new(contents);
    r.read(SEQUENCE)?;
    let key = r.read(BIT_STRING)?;
    if key.contents.is_empty() {
        return Err("empty public key BIT STRING");
    }
    r.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths() {
        let mut v = vec![0x04, 0x81, 0x80];
        v.extend(std::iter::repeat_n(0u8, 0x80));
        let t = single(&v, OCTET_STRING).unwrap();
        assert_eq!(t.contents.len(), 0x80);
        assert_eq!(t.encoded.len(), v.len());
    }

    #[test]
    fn rejects_non_minimal_indefinite_and_truncated() {
        assert!(single(&[0x04, 0x81, 0x01, 0x00], OCTET_STRING).is_err());
        assert!(single(&[0x04, 0x82, 0x00, 0x80], OCTET_STRING).is_err());
        assert!(single(&[0x30, 0x80, 0x00, 0x00], SEQUENCE).is_err());
        assert!(single(&[0x04, 0x05, 0x00], OCTET_STRING).is_err());
        assert!(single(&[0x04], OCTET_STRING).is_err());
        assert!(single(&[], OCTET_STRING).is_err());
        assert!(single(&[0x1f, 0x01, 0x00], 0x1f).is_err());
        assert!(single(&[0x04, 0x85, 1, 1, 1, 1, 1], OCTET_STRING).is_err());
        assert!(single(&[0x04, 0x00, 0x00], OCTET_STRING).is_err());
    }

    #[test]
    fn never_panics_on_any_short_input() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let _ = single(&[a, b, 0x01], a);
                let _ = single(&[a, b], a);
            }
        }
    }
}
