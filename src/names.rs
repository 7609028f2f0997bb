//! Reference identifiers and certificate name matching (RFC 6125, RFC 7671 §5.2,
//! RFC 7672 §3.2.2–3.2.3).
//!
//! The rules, the same as OpenSSL's `X509_check_host` with the flags Postfix uses for DANE:
//! - the dNSName subjectAltNames are used; the subject CN only when there is no dNSName
//!   (and never under the PKIX usages, RFC 9525); a CN used as a name must satisfy the
//!   dNSName name constraints of the path (RFC 5280 §4.2.1.10, as OpenSSL);
//! - comparison is ASCII case-insensitive on A-labels; a trailing dot on the reference name
//!   is ignored, a presented name with a trailing dot never matches (as OpenSSL and
//!   rustls-webpki);
//! - a wildcard is accepted only as the whole leftmost label (`*.example.com`), matches
//!   exactly one label of letters, digits and hyphens (never one with `_`), and needs at
//!   least two labels of letters, digits and hyphens after it (`*.com`, `*._tcp.example.com`
//!   never match);
//! - partial-label wildcards (`w*.example.com`) and wildcards elsewhere never match.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::der::{self, DerError, Reader};

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
    /// reference identifier, as OpenSSL's `X509_check_host` with
    /// `X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS` (what Postfix sets):
    /// - a presented name is compared as it is: one with a final dot never matches (a
    ///   dNSName is in the preferred name syntax, RFC 5280 §4.2.1.6);
    /// - a wildcard is a presented name whose first label is exactly `*`, followed by at
    ///   least two labels of letters, digits and inner hyphens (OpenSSL's `valid_star`);
    ///   any other name holding a `*` (or a `*` pattern with, say, `_` in it) is no
    ///   wildcard and matches nothing;
    /// - a wildcard stands for exactly one non-empty label of letters, digits and hyphens
    ///   (OpenSSL's `wildcard_match`; RFC 6125 §6.4.3).
    pub fn matches_presented(&self, presented: &[u8]) -> bool {
        let reference = self.0.as_bytes();
        if presented.is_empty() {
            return false;
        }
        if presented.contains(&b'*') {
            let Some(suffix) = presented.strip_prefix(b"*") else {
                return false;
            };
            if !valid_wildcard_suffix(suffix) {
                return false;
            }
            // `suffix` starts with the dot: the reference must be one label + suffix.
            let Some(split) = reference.len().checked_sub(suffix.len()) else {
                return false;
            };
            let (label, rest) = reference.split_at(split);
            return !label.is_empty()
                && label
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'-')
                && rest.eq_ignore_ascii_case(suffix);
        }
        presented.eq_ignore_ascii_case(reference)
    }
}

/// OpenSSL's `valid_star` for what follows a leading `*` (full-label wildcards only):
/// `.label.label…`, at least two labels, each of letters, digits and hyphens, not
/// starting or ending with a hyphen, no empty label, no final dot.
fn valid_wildcard_suffix(suffix: &[u8]) -> bool {
    let Some(labels) = suffix.strip_prefix(b".") else {
        return false;
    };
    let mut count = 0;
    for label in labels.split(|&c| c == b'.') {
        count += 1;
        let ldh = label
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-');
        if label.is_empty() || !ldh || label.starts_with(b"-") || label.ends_with(b"-") {
            return false;
        }
    }
    count >= 2
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

/// `[0]` permittedSubtrees and `[1]` excludedSubtrees of NameConstraints (IMPLICIT,
/// constructed).
const PERMITTED_SUBTREES: u8 = 0xa0;
const EXCLUDED_SUBTREES: u8 = 0xa1;
/// GeneralName `dNSName [2] IMPLICIT IA5String`.
const GENERAL_NAME_DNS: u8 = 0x82;

/// Whether the DNS name `name` (a subject CN used as a host name) satisfies the dNSName
/// subtrees of one NameConstraints extension (`constraints`: the contents of its
/// SEQUENCE), as RFC 5280 §4.2.1.10 and OpenSSL's `nc_dns` decide: it must lie within at
/// least one permitted dNSName subtree when there are any, and within no excluded one. A
/// name lies within a subtree when it equals the base or ends with `.` + base (ASCII case
/// insensitive); an empty base holds every name. Subtrees of other name types do not
/// apply to a DNS name.
///
/// Fails closed: an empty extension, a subtree with a `minimum` or `maximum` (RFC 5280:
/// minimum is always zero, maximum absent), or any DER error is an error.
pub(crate) fn dns_name_within_constraints(
    name: &[u8],
    constraints: &[u8],
) -> Result<bool, DerError> {
    let mut r = Reader::new(constraints);
    let permitted = r.read_optional(PERMITTED_SUBTREES)?;
    let excluded = r.read_optional(EXCLUDED_SUBTREES)?;
    r.finish()?;
    if permitted.is_none() && excluded.is_none() {
        return Err("empty nameConstraints extension");
    }
    let mut any_permitted = false;
    let mut in_permitted = false;
    if let Some(subtrees) = permitted {
        for_each_dns_base(subtrees.contents, |base| {
            any_permitted = true;
            in_permitted |= dns_within(name, base);
        })?;
    }
    let mut in_excluded = false;
    if let Some(subtrees) = excluded {
        for_each_dns_base(subtrees.contents, |base| {
            in_excluded |= dns_within(name, base);
        })?;
    }
    Ok(!in_excluded && (in_permitted || !any_permitted))
}

/// Calls `f` with the base of each dNSName GeneralSubtree in `subtrees` (the contents of
/// `GeneralSubtrees`), after checking every subtree's shape.
fn for_each_dns_base<'a>(subtrees: &'a [u8], mut f: impl FnMut(&'a [u8])) -> Result<(), DerError> {
    let mut r = Reader::new(subtrees);
    if r.is_empty() {
        return Err("empty GeneralSubtrees in nameConstraints");
    }
    while !r.is_empty() {
        let subtree = r.read(der::SEQUENCE)?;
        let mut fields = Reader::new(subtree.contents);
        let base = fields.read_any()?;
        if !fields.is_empty() {
            return Err("nameConstraints subtree with minimum or maximum");
        }
        if base.tag == GENERAL_NAME_DNS {
            f(base.contents);
        }
    }
    Ok(())
}

/// RFC 5280 §4.2.1.10 for dNSName: `name` equals `base` or is `base` with labels added on
/// the left (OpenSSL's `nc_dns`: a base starting with `.` holds only names below it).
fn dns_within(name: &[u8], base: &[u8]) -> bool {
    if base.is_empty() {
        return true;
    }
    let Some(split) = name.len().checked_sub(base.len()) else {
        return false;
    };
    let (head, tail) = name.split_at(split);
    (head.is_empty() || base.starts_with(b".") || head.ends_with(b"."))
        && tail.eq_ignore_ascii_case(base)
}

/// Whether a subject CN looks like a DNS host name, as OpenSSL's `cn2dnsid` decides before
/// it checks a CN against name constraints: letters, digits, `_`, and `-` and `.` neither
/// first nor last, no `.` next to another `.` or a `-`, and at least two labels.
pub(crate) fn cn_looks_like_host_name(cn: &[u8]) -> bool {
    let mut dotted = false;
    for (i, &c) in cn.iter().enumerate() {
        if c.is_ascii_alphanumeric() || c == b'_' {
            continue;
        }
        let inner = i > 0 && i + 1 < cn.len();
        if inner && c == b'-' {
            continue;
        }
        if inner
            && c == b'.'
            && cn.get(i + 1).is_some_and(|&n| n != b'.' && n != b'-')
            && cn.get(i - 1).is_some_and(|&p| p != b'-')
        {
            dotted = true;
            continue;
        }
        return false;
    }
    dotted
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
        assert!(m("mx.example.com", "MX.EXAMPLE.COM"));
        assert!(!m("mx.example.com", "mx.example.org"));
        assert!(!m("mx.example.com", "example.com"));
        assert!(!m("mx.example.com", ""));
        assert!(!m("mx.example.com", "."));
    }

    #[test]
    fn presented_trailing_dot_never_matches_rfc5280_4_2_1_6() {
        // A dNSName is in the preferred name syntax, without a final dot (OpenSSL and
        // rustls-webpki refuse it too); the reference name may carry one.
        assert!(!m("mx.example.com", "mx.example.com."));
        assert!(!m("mx.example.com", "*.example.com."));
        assert!(!m("mx.example.com.", "mx.example.com."));
        assert!(m("mx.example.com.", "mx.example.com"));
        assert!(m("mx.example.com.", "*.example.com"));
    }

    #[test]
    fn wildcard_covers_only_letters_digits_hyphen_rfc6125_6_4_3_openssl() {
        // OpenSSL's wildcard_match: the label matched by `*` holds only letters, digits
        // and hyphens.
        assert!(!m("a_b.example.net", "*.example.net"));
        assert!(!m("_x.example.net", "*.example.net"));
        assert!(m("a-b.example.net", "*.example.net"));
        assert!(m("xn--bcher-kva.example.net", "*.example.net"));
        // OpenSSL's valid_star: a pattern with any other character, or a label that starts
        // or ends with a hyphen, is no wildcard at all (and matches only literally).
        assert!(!m("x._tcp.example.net", "*._tcp.example.net"));
        assert!(!m("x.ex_ample.net", "*.ex_ample.net"));
        assert!(!m("a.-ex.example.net", "*.-ex.example.net"));
        assert!(!m("a.ex-.example.net", "*.ex-.example.net"));
        assert!(!m("a.example.net", "*..example.net"));
        // `_` in a name without a wildcard compares like any other character.
        assert!(m("_x.example.net", "_x.example.net"));
        assert!(m("x._tcp.example.net", "X._TCP.example.net"));
    }

    #[test]
    fn wildcard_whole_leftmost_label_one_label_rfc7672_3_2_3() {
        assert!(m("mx.example.com", "*.example.com"));
        assert!(m("mx.example.com", "*.EXAMPLE.com"));
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

    fn nc(permitted: &[&str], excluded: &[&str]) -> Vec<u8> {
        fn subtrees(tag: u8, names: &[&str]) -> Vec<u8> {
            let mut body = Vec::new();
            for n in names {
                let mut gn = vec![0x82, n.len() as u8];
                gn.extend_from_slice(n.as_bytes());
                body.extend([0x30, gn.len() as u8]);
                body.extend(gn);
            }
            let mut out = vec![tag, body.len() as u8];
            out.extend(body);
            out
        }
        let mut out = Vec::new();
        if !permitted.is_empty() {
            out.extend(subtrees(0xa0, permitted));
        }
        if !excluded.is_empty() {
            out.extend(subtrees(0xa1, excluded));
        }
        out
    }

    #[test]
    fn dns_name_constraints_rfc5280_4_2_1_10() {
        let within = |name: &str, c: &[u8]| dns_name_within_constraints(name.as_bytes(), c);
        let permit = nc(&["attacker.example"], &[]);
        assert_eq!(within("attacker.example", &permit), Ok(true));
        assert_eq!(within("MX.Attacker.Example", &permit), Ok(true));
        assert_eq!(within("mx.victim.example", &permit), Ok(false));
        assert_eq!(within("evilattacker.example", &permit), Ok(false));
        assert_eq!(within("*.victim.example", &permit), Ok(false));
        let exclude = nc(&[], &["victim.example"]);
        assert_eq!(within("mx.victim.example", &exclude), Ok(false));
        assert_eq!(within("mx.other.example", &exclude), Ok(true));
        let both = nc(&["example"], &["victim.example"]);
        assert_eq!(within("mx.victim.example", &both), Ok(false));
        assert_eq!(within("mx.other.example", &both), Ok(true));
        let dotted = nc(&[".attacker.example"], &[]);
        assert_eq!(within("attacker.example", &dotted), Ok(false));
        assert_eq!(within("mx.attacker.example", &dotted), Ok(true));
        // Constraints of other name types do not apply to DNS names.
        let ip_only = [
            0xa0, 0x0c, 0x30, 0x0a, 0x87, 0x08, 192, 0, 2, 0, 255, 255, 255, 0,
        ];
        assert_eq!(within("mx.victim.example", &ip_only), Ok(true));
        // Fail closed on what cannot be read or is not allowed.
        assert!(within("a.example", &[]).is_err());
        assert!(within("a.example", &[0xa0, 0x00]).is_err());
        assert!(within("a.example", &[0xa0, 0x05, 0x30, 0x03, 0x82, 0x01]).is_err());
        let with_min = [0xa0, 0x08, 0x30, 0x06, 0x82, 0x01, b'x', 0x80, 0x01, 0x00];
        assert!(within("a.x", &with_min).is_err());
    }

    #[test]
    fn host_like_common_names_openssl_cn2dnsid() {
        assert!(cn_looks_like_host_name(b"mx.example.net"));
        assert!(cn_looks_like_host_name(b"_x.example"));
        assert!(!cn_looks_like_host_name(b"localhost"));
        assert!(!cn_looks_like_host_name(b"Example Corp"));
        assert!(!cn_looks_like_host_name(b"*.example.net"));
        assert!(!cn_looks_like_host_name(b".example.net"));
        assert!(!cn_looks_like_host_name(b"example.net."));
        assert!(!cn_looks_like_host_name(b"a..b"));
        assert!(!cn_looks_like_host_name(b"a-.b"));
        assert!(!cn_looks_like_host_name(b""));
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
