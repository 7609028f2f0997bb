//! TLSA records (RFC 6698 §2): parameters, presentation and wire formats, and the record an
//! operator publishes for a certificate.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use sha2::{Digest, Sha256, Sha512};

use crate::cert::CertView;
use crate::der;
use crate::error::{Error, TlsaParseError};

macro_rules! parameter {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, $mnemonic:literal; )*
        }
    ) => {
        $(#[$meta])*
        ///
        /// Unknown values are kept in `Other` so that an RRset round-trips unchanged; such a
        /// record is unusable (RFC 7671 §4). `From<u8>` always gives the named variant for a
        /// known value, and equality compares the numeric value.
        #[derive(Clone, Copy, Debug)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value without a name in the registry.
            Other(u8),
        }

        impl From<u8> for $name {
            fn from(v: u8) -> Self {
                match v {
                    $( $value => Self::$variant, )*
                    other => Self::Other(other),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                match v {
                    $( $name::$variant => $value, )*
                    $name::Other(other) => other,
                }
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                u8::from(*self) == u8::from(*other)
            }
        }
        impl Eq for $name {}
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                u8::from(*self).hash(state)
            }
        }

        impl $name {
            /// The RFC 7218 mnemonic, if the value has one.
            pub fn mnemonic(self) -> Option<&'static str> {
                match u8::from(self) {
                    $( $value => Some($mnemonic), )*
                    _ => None,
                }
            }

            /// Parses a number (0–255) or an RFC 7218 mnemonic, case-insensitively.
            pub fn parse(s: &str) -> Result<Self, TlsaParseError> {
                if let Ok(n) = s.parse::<u8>() {
                    return Ok(Self::from(n));
                }
                $( if s.eq_ignore_ascii_case($mnemonic) { return Ok(Self::$variant); } )*
                Err(TlsaParseError::BadParameter { field: $what, value: s.to_owned() })
            }
        }

        impl fmt::Display for $name {
            /// Numeric form; `{:#}` prints the mnemonic where there is one.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match (f.alternate(), self.mnemonic()) {
                    (true, Some(m)) => f.write_str(m),
                    _ => write!(f, "{}", u8::from(*self)),
                }
            }
        }
    };
}

parameter! {
    /// The certificate usage field (RFC 6698 §2.1.1, RFC 7218 §2.1).
    CertUsage, "certificate usage" {
        /// 0: CA constraint, the chain must also pass PKIX validation.
        PkixTa = 0, "PKIX-TA";
        /// 1: service certificate constraint, with PKIX validation.
        PkixEe = 1, "PKIX-EE";
        /// 2: trust anchor assertion.
        DaneTa = 2, "DANE-TA";
        /// 3: domain-issued certificate (or key).
        DaneEe = 3, "DANE-EE";
        /// 255: reserved for private use; never usable here.
        PrivCert = 255, "PrivCert";
    }
}

parameter! {
    /// The selector field (RFC 6698 §2.1.2, RFC 7218 §2.2).
    Selector, "selector" {
        /// 0: the full certificate.
        Cert = 0, "Cert";
        /// 1: the SubjectPublicKeyInfo.
        Spki = 1, "SPKI";
        /// 255: reserved for private use; never usable here.
        PrivSel = 255, "PrivSel";
    }
}

parameter! {
    /// The matching type field (RFC 6698 §2.1.3, RFC 7218 §2.3).
    Matching, "matching type" {
        /// 0: exact match on the selected content.
        Full = 0, "Full";
        /// 1: SHA-256 of the selected content.
        Sha256 = 1, "SHA2-256";
        /// 2: SHA-512 of the selected content.
        Sha512 = 2, "SHA2-512";
        /// 255: reserved for private use; never usable here.
        PrivMatch = 255, "PrivMatch";
    }
}

impl Matching {
    /// The digest length this matching type requires, for the digests we implement.
    pub(crate) fn digest_len(self) -> Option<usize> {
        match self {
            Self::Sha256 => Some(32),
            Self::Sha512 => Some(64),
            _ => None,
        }
    }
}

/// One TLSA record: `usage selector matching-type association-data`.
///
/// Cheap to clone (the data is shared). Any combination of parameters is representable, so a
/// received RRset round-trips; whether a record can be used is decided by
/// [`TlsaSet`](crate::TlsaSet).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tlsa {
    usage: CertUsage,
    selector: Selector,
    matching: Matching,
    data: Data,
}

/// Association data: digests (at most 64 octets) are stored inline, so cloning a record, as
/// [`Verified`](crate::Verified) does, costs no allocation and no atomic operation.
#[derive(Clone)]
enum Data {
    Inline { len: u8, buf: [u8; INLINE] },
    Shared(Arc<[u8]>),
}

const INLINE: usize = 64;

impl Data {
    fn new(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE => {
                let mut buf = [0; INLINE];
                buf[..bytes.len()].copy_from_slice(bytes);
                Self::Inline { len, buf }
            }
            _ => Self::Shared(bytes.into()),
        }
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            Self::Shared(bytes) => bytes,
        }
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for Data {}
impl std::hash::Hash for Data {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl Tlsa {
    /// A record from its four fields.
    pub fn new(
        usage: impl Into<CertUsage>,
        selector: impl Into<Selector>,
        matching: impl Into<Matching>,
        data: impl AsRef<[u8]>,
    ) -> Self {
        // Normalise: `Other(3)` becomes `DaneEe`, so matching on the named variants works.
        Self {
            usage: CertUsage::from(u8::from(usage.into())),
            selector: Selector::from(u8::from(selector.into())),
            matching: Matching::from(u8::from(matching.into())),
            data: Data::new(data.as_ref()),
        }
    }

    /// The certificate usage.
    pub fn usage(&self) -> CertUsage {
        self.usage
    }

    /// The selector.
    pub fn selector(&self) -> Selector {
        self.selector
    }

    /// The matching type.
    pub fn matching(&self) -> Matching {
        self.matching
    }

    /// The certificate association data.
    #[inline]
    pub fn data(&self) -> &[u8] {
        self.data.as_slice()
    }

    /// Parses wire-format RDATA (RFC 6698 §2.1): three octets, then the association data.
    pub fn from_rdata(rdata: &[u8]) -> Result<Self, TlsaParseError> {
        match rdata {
            [u, s, m, data @ ..] => Ok(Self::new(*u, *s, *m, data)),
            _ => Err(TlsaParseError::ShortRdata(rdata.len())),
        }
    }

    /// Wire-format RDATA.
    pub fn to_rdata(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.data().len());
        out.extend_from_slice(&[
            self.usage.into(),
            self.selector.into(),
            self.matching.into(),
        ]);
        out.extend_from_slice(self.data());
        out
    }

    /// The record an operator publishes for `cert_der` (what `ldns-dane create` or
    /// hash-slinger print). Only the selectors and matching types that have a meaning can
    /// be generated; the certificate must be well-formed DER.
    pub fn from_certificate(
        cert_der: &[u8],
        usage: CertUsage,
        selector: Selector,
        matching: Matching,
    ) -> Result<Self, Error> {
        let view = CertView::parse(cert_der)
            .map_err(|reason| Error::MalformedCertificate { depth: 0, reason })?;
        let selected = match selector {
            Selector::Cert => view.der,
            Selector::Spki => view.spki,
            other => return Err(Error::Unsupported(format!("selector {other}"))),
        };
        Self::from_selected(selected, usage, selector, matching)
    }

    /// The DANE-EE record for a raw public key (RFC 7250): `3 1 M` over the SPKI.
    pub fn from_spki(spki_der: &[u8], matching: Matching) -> Result<Self, Error> {
        der::spki_contents(spki_der)
            .map_err(|reason| Error::MalformedCertificate { depth: 0, reason })?;
        Self::from_selected(spki_der, CertUsage::DaneEe, Selector::Spki, matching)
    }

    fn from_selected(
        selected: &[u8],
        usage: CertUsage,
        selector: Selector,
        matching: Matching,
    ) -> Result<Self, Error> {
        let data = match matching {
            Matching::Full => Data::new(selected),
            Matching::Sha256 => Data::new(&Sha256::digest(selected)),
            Matching::Sha512 => Data::new(&Sha512::digest(selected)),
            other => return Err(Error::Unsupported(format!("matching type {other}"))),
        };
        Ok(Self {
            usage: CertUsage::from(u8::from(usage)),
            selector: Selector::from(u8::from(selector)),
            matching: Matching::from(u8::from(matching)),
            data,
        })
    }

    /// Presentation format with RFC 7218 mnemonics, e.g. `DANE-EE SPKI SHA2-256 ab12…`.
    pub fn to_mnemonic_string(&self) -> String {
        format!(
            "{:#} {:#} {:#} {}",
            self.usage,
            self.selector,
            self.matching,
            Hex(self.data())
        )
    }
}

impl FromStr for Tlsa {
    type Err = TlsaParseError;

    /// Parses zone-file presentation format: `3 1 1 ab cd …` (numbers or RFC 7218 mnemonics,
    /// any case; the hex may be split by white space and wrapped in parentheses), or the
    /// RFC 3597 generic form `\# 35 030101…`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut tokens = s
            .split_ascii_whitespace()
            .flat_map(|t| t.split(['(', ')']))
            .filter(|t| !t.is_empty());
        let first = tokens.next().ok_or(TlsaParseError::Empty)?;
        if first == "\\#" {
            let len: usize = tokens
                .next()
                .and_then(|l| l.parse().ok())
                .ok_or(TlsaParseError::BadGenericLength)?;
            let rdata = decode_hex(tokens)?;
            if rdata.len() != len {
                return Err(TlsaParseError::BadGenericLength);
            }
            return Self::from_rdata(&rdata);
        }
        let usage = CertUsage::parse(first)?;
        let selector = Selector::parse(
            tokens
                .next()
                .ok_or(TlsaParseError::MissingField("selector"))?,
        )?;
        let matching = Matching::parse(
            tokens
                .next()
                .ok_or(TlsaParseError::MissingField("matching type"))?,
        )?;
        let data = decode_hex(tokens)?;
        Ok(Self::new(usage, selector, matching, data))
    }
}

fn decode_hex<'a>(tokens: impl Iterator<Item = &'a str>) -> Result<Vec<u8>, TlsaParseError> {
    let mut out = Vec::new();
    let mut high: Option<u8> = None;
    for c in tokens.flat_map(str::chars) {
        let nibble = c
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
            .ok_or(TlsaParseError::BadHex(c))?;
        match high.take() {
            None => high = Some(nibble),
            Some(h) => out.push((h << 4) | nibble),
        }
    }
    if high.is_some() {
        return Err(TlsaParseError::OddHexLength);
    }
    Ok(out)
}

/// Lower-case hex of a byte string, for display.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Tlsa {
    /// Numeric presentation format, `3 1 1 <lower-case hex>`, as `dig +nosplit` prints it
    /// (modulo case). `{:#}` uses RFC 7218 mnemonics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.write_str(&self.to_mnemonic_string())
        } else {
            write!(
                f,
                "{} {} {} {}",
                self.usage,
                self.selector,
                self.matching,
                Hex(self.data())
            )
        }
    }
}

impl fmt::Debug for Tlsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tlsa({self})")
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Tlsa {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Tlsa {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presentation_numbers_mnemonics_spaces_case_rfc6698_2_2_rfc7218() {
        let a: Tlsa = "3 1 1 AB cd\tEF 01".parse().unwrap();
        let b: Tlsa = "dane-ee spki SHA2-256 ( abcd ef01 )".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "3 1 1 abcdef01");
        assert_eq!(format!("{a:#}"), "DANE-EE SPKI SHA2-256 abcdef01");
        let g: Tlsa = "\\# 5 030101abcd".parse().unwrap();
        assert_eq!(g, Tlsa::new(3, 1, 1, vec![0xab, 0xcd]));
    }

    #[test]
    fn presentation_errors() {
        assert_eq!("".parse::<Tlsa>(), Err(TlsaParseError::Empty));
        assert!(matches!(
            "3 1".parse::<Tlsa>(),
            Err(TlsaParseError::MissingField(_))
        ));
        assert!(matches!(
            "3 1 1 abc".parse::<Tlsa>(),
            Err(TlsaParseError::OddHexLength)
        ));
        assert!(matches!(
            "3 1 1 zz".parse::<Tlsa>(),
            Err(TlsaParseError::BadHex('z'))
        ));
        assert!(matches!(
            "256 1 1 00".parse::<Tlsa>(),
            Err(TlsaParseError::BadParameter { .. })
        ));
        assert!(matches!(
            "DANE 1 1 00".parse::<Tlsa>(),
            Err(TlsaParseError::BadParameter { .. })
        ));
        assert!(matches!(
            "\\# 4 030101abcd".parse::<Tlsa>(),
            Err(TlsaParseError::BadGenericLength)
        ));
        assert!(matches!(
            "\\# 2 0301".parse::<Tlsa>(),
            Err(TlsaParseError::ShortRdata(2))
        ));
    }

    #[test]
    fn unknown_values_round_trip_rfc7671_4() {
        let t = Tlsa::new(4, 7, 9, vec![1, 2]);
        assert_eq!(t.usage(), CertUsage::Other(4));
        assert_eq!(CertUsage::from(255), CertUsage::PrivCert);
        assert_eq!(
            CertUsage::Other(3),
            CertUsage::DaneEe,
            "equality is numeric"
        );
        assert_eq!(t.to_string().parse::<Tlsa>().unwrap(), t);
        assert_eq!(Tlsa::from_rdata(&t.to_rdata()).unwrap(), t);
        assert_eq!(format!("{t:#}"), "4 7 9 0102");
    }
}
