//! Reference identifiers and certificate name matching (RFC 6125, RFC 7671 §5.2,
//! RFC 7672 §3.2.2–3.2.3).
//!
//! The rules, the same as OpenSSL's `X509_check_host` with the flags Postfix uses for DANE:
//! - the dNSName subjectAltNames are used; the subject CN only when there is no dNSName;
//! - comparison is ASCII case-insensitive on A-labels, a trailing dot is ignored;
//! - a wildcard is accepted only as the whole leftmost label (`*.example.com`), matches
//!   exactly one label, and needs at least two labels after it (`*.com` never matches);
//! - partial-label wildcards (`w*.example.com`) and wildcards elsewhere never match.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A DNS name a peer certificate is checked against: the TLSA base domain, the SMTP next-hop
/// domain, or another name the application accepts.
///
/// Stored in a normal form: lower case, no trailing dot, A-labels only (internationalised
/// names must be given in their `xn--` form). Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReferenceName(Arc<str>);

/// Why a string is not a usable reference identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidName {
    /// The name is empty (or just a dot).
    #[error("empty DNS name")]
    Empty,
    /// The name is longer than 253 octets, or a label longer than 63.
    #[error("DNS name or label too long")]
    TooLong,
    /// A label is empty (two dots in a row, or a leading dot).
    #[error("empty label in DNS name")]
    EmptyLabel,
    /// A character other than letters, digits, `-` and `_`: wildcards and U-labels are not
    /// reference identifiers.
    #[error(
        "invalid character {0:?} in DNS name (use A-labels; wildcards are not reference names)"
    )]
    InvalidCharacter(char),
}

impl ReferenceName {
    /// Parses and normalises a DNS name.
    pub fn new(name: &str) -> Result<Self, InvalidName> {
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        if trimmed.is_empty() {
            return Err(InvalidName::Empty);
        }
        if trimmed.len() > 253 {
            return Err(InvalidName::TooLong);
        }
        for label in trimmed.split('.') {
            if label.is_empty() {
                return Err(InvalidName::EmptyLabel);
            }
            if label.len() > 63 {
                return Err(InvalidName::TooLong);
            }
            if let Some(c) = label
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            {
                return Err(InvalidName::InvalidCharacter(c));
            }
        }
        Ok(Self(Arc::from(trimmed.to_ascii_lowercase())))
    }

    /// `invalid` (RFC 6761), a stand-in replaced before use.
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    pub(crate) fn placeholder() -> Self {
        Self(Arc::from("invalid"))
    }

    /// The normalised name (lower case, no trailing dot).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a name presented in a certificate (`dNSName` or CN octets) matches this
    /// reference identifier.
    pub fn matches_presented(&self, presented: &[u8]) -> bool {
        let reference = self.0.as_bytes();
        let presented = presented.strip_suffix(b".").unwrap_or(presented);
        if presented.is_empty() {
            return false;
        }
        if let Some(rest) = presented.strip_prefix(b"*.") {
            // Whole-label wildcard: one label, at least two labels after it.
            if rest.contains(&b'*') || !rest.contains(&b'.') || rest.starts_with(b".") {
                return false;
            }
            let Some(dot) = reference.iter().position(|&b| b == b'.') else {
                return false;
            };
            let (first, parent) = reference.split_at(dot);
            return !first.is_empty()
                && parent
                    .get(1..)
                    .is_some_and(|p| p.eq_ignore_ascii_case(rest));
        }
        if presented.contains(&b'*') {
            return false;
        }
        presented.eq_ignore_ascii_case(reference)
    }
}

impl FromStr for ReferenceName {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for ReferenceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ReferenceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReferenceName({:?})", &*self.0)
    }
}

/// The first reference identifier that one of `presented` matches.
pub(crate) fn first_match<'n>(
    references: &'n [ReferenceName],
    presented: &[&[u8]],
) -> Option<&'n ReferenceName> {
    references
        .iter()
        .find(|r| presented.iter().any(|p| r.matches_presented(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(reference: &str, presented: &str) -> bool {
        ReferenceName::new(reference)
            .unwrap()
            .matches_presented(presented.as_bytes())
    }

    #[test]
    fn exact_case_insensitive_trailing_dot_rfc6125_6_4_1() {
        assert!(m("mx.example.com", "mx.example.com"));
        assert!(m("MX.Example.COM.", "mx.example.com"));
        assert!(m("mx.example.com", "MX.EXAMPLE.COM."));
        assert!(!m("mx.example.com", "mx.example.org"));
        assert!(!m("mx.example.com", "example.com"));
        assert!(!m("mx.example.com", ""));
        assert!(!m("mx.example.com", "."));
    }

    #[test]
    fn wildcard_whole_leftmost_label_one_label_rfc7672_3_2_3() {
        assert!(m("mx.example.com", "*.example.com"));
        assert!(m("mx.example.com", "*.EXAMPLE.com."));
        assert!(!m("a.mx.example.com", "*.example.com"), "one label only");
        assert!(!m("example.com", "*.example.com"), "must cover one label");
        assert!(!m("mx.example.com", "m*.example.com"), "partial label");
        assert!(!m("mx.example.com", "*x.example.com"), "partial label");
        assert!(!m("mx.example.com", "mx.*.com"), "not leftmost");
        assert!(
            !m("example.com", "*.com"),
            "at least two labels after the wildcard"
        );
        assert!(!m("mx.example.com", "*.*.com"));
        assert!(!m("mx.example.com", "*"));
    }

    #[test]
    fn reference_names_are_validated() {
        assert_eq!(ReferenceName::new(""), Err(InvalidName::Empty));
        assert_eq!(ReferenceName::new("."), Err(InvalidName::Empty));
        assert_eq!(ReferenceName::new("a..b"), Err(InvalidName::EmptyLabel));
        assert!(matches!(
            ReferenceName::new("*.example.com"),
            Err(InvalidName::InvalidCharacter('*'))
        ));
        assert!(matches!(
            ReferenceName::new("bücher.example"),
            Err(InvalidName::InvalidCharacter('ü'))
        ));
        assert_eq!(
            ReferenceName::new(&"a".repeat(64)),
            Err(InvalidName::TooLong)
        );
        assert_eq!(
            ReferenceName::new("Xn--Bcher-Kva.Example.")
                .unwrap()
                .as_str(),
            "xn--bcher-kva.example"
        );
    }
}
