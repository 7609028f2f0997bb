//! The reporting policy a domain publishes at `_smtp._tls.<domain>` (RFC 8460 §3).

use std::fmt;

/// Where to send reports: one `rua` URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReportUri {
    /// `mailto:` (RFC 8460 §5.3): the URI as published (the address, possibly with
    /// `?`-headers, follows the scheme).
    Mailto(String),
    /// `https:` (RFC 8460 §5.4): the URI to POST the report to.
    Https(String),
}

impl fmt::Display for ReportUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mailto(u) | Self::Https(u) => f.write_str(u),
        }
    }
}

/// A parsed `v=TLSRPTv1` TXT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportingPolicy {
    /// The `rua` URIs with a scheme RFC 8460 defines (`mailto`, `https`), in order. URIs
    /// of other schemes are left out.
    pub rua: Vec<ReportUri>,
    /// Extension fields (`name=value`), kept as published.
    pub extensions: Vec<(String, String)>,
}

/// Why a TXT record is no usable reporting policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportingPolicyError {
    /// The record does not start with `v=TLSRPTv1`.
    #[error("not a TLSRPTv1 record")]
    NotTlsRpt,
    /// A field is not `name=value`.
    #[error("malformed field {0:?}")]
    MalformedField(String),
    /// No `rua` field, or none with a `mailto:` or `https:` URI.
    #[error("no rua field with a mailto: or https: URI")]
    NoRua,
    /// Several `rua` fields.
    #[error("more than one rua field")]
    DuplicateRua,
    /// `_smtp._tls` has no `v=TLSRPTv1` record, or more than one: the domain does not
    /// take reports (RFC 8460 §3).
    #[error("{0} TLSRPTv1 records (exactly one is needed)")]
    RecordCount(usize),
}

impl ReportingPolicy {
    /// Parses one TXT record's text (its character-strings joined, RFC 8460 §3).
    ///
    /// Field separators may carry spaces and tabs, a final `;` is allowed, the version and
    /// field names are case-sensitive as the RFC's ABNF has them, and a `rua` lists
    /// comma-separated URIs.
    pub fn parse(txt: &str) -> Result<Self, ReportingPolicyError> {
        let mut fields = txt.split(';').map(|f| f.trim_matches([' ', '\t']));
        if fields.next() != Some("v=TLSRPTv1") {
            return Err(ReportingPolicyError::NotTlsRpt);
        }
        let mut rua = None;
        let mut extensions = Vec::new();
        let mut fields = fields.peekable();
        while let Some(field) = fields.next() {
            if field.is_empty() && fields.peek().is_none() {
                break; // the optional final delimiter
            }
            let Some((name, value)) = field.split_once('=') else {
                return Err(ReportingPolicyError::MalformedField(field.to_owned()));
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            {
                return Err(ReportingPolicyError::MalformedField(field.to_owned()));
            }
            if name == "rua" {
                if rua.is_some() {
                    return Err(ReportingPolicyError::DuplicateRua);
                }
                let uris: Vec<ReportUri> = value
                    .split(',')
                    .map(|u| u.trim_matches([' ', '\t']))
                    .filter_map(report_uri)
                    .collect();
                rua = Some(uris);
            } else {
                extensions.push((name.to_owned(), value.to_owned()));
            }
        }
        match rua {
            Some(rua) if !rua.is_empty() => Ok(Self { rua, extensions }),
            _ => Err(ReportingPolicyError::NoRua),
        }
    }

    /// The policy among the TXT records at `_smtp._tls.<domain>` (RFC 8460 §3): records
    /// that do not start with `v=TLSRPTv1` are ignored, and unless exactly one is left the
    /// domain takes no reports.
    pub fn from_txt_records<'a>(
        records: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ReportingPolicyError> {
        let candidates: Vec<&str> = records
            .into_iter()
            .filter(|r| {
                r.strip_prefix("v=TLSRPTv1")
                    .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with(';'))
            })
            .collect();
        match candidates.as_slice() {
            [one] => Self::parse(one),
            other => Err(ReportingPolicyError::RecordCount(other.len())),
        }
    }
}

fn report_uri(uri: &str) -> Option<ReportUri> {
    let (scheme, rest) = uri.split_once(':')?;
    if rest.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("mailto") {
        Some(ReportUri::Mailto(uri.to_owned()))
    } else if scheme.eq_ignore_ascii_case("https") {
        Some(ReportUri::Https(uri.to_owned()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8460_section3_examples() {
        let p = ReportingPolicy::parse("v=TLSRPTv1;rua=mailto:reports@example.com").unwrap();
        assert_eq!(
            p.rua,
            [ReportUri::Mailto("mailto:reports@example.com".into())]
        );
        let p = ReportingPolicy::parse("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt")
            .unwrap();
        assert_eq!(
            p.rua,
            [ReportUri::Https(
                "https://reporting.example.com/v1/tlsrpt".into()
            )]
        );
        assert!(p.extensions.is_empty());
    }

    #[test]
    fn variations() {
        let p = ReportingPolicy::parse(
            "v=TLSRPTv1 ;\trua=mailto:a@example.net , https://r.example.net/x,ftp://no.example;ext=1;",
        )
        .unwrap();
        assert_eq!(
            p.rua,
            [
                ReportUri::Mailto("mailto:a@example.net".into()),
                ReportUri::Https("https://r.example.net/x".into())
            ]
        );
        assert_eq!(p.extensions, [("ext".to_owned(), "1".to_owned())]);
        assert_eq!(p.rua[0].to_string(), "mailto:a@example.net");
        use ReportingPolicyError::*;
        for (txt, err) in [
            ("v=spf1 -all", NotTlsRpt),
            ("v=TLSRPTv2; rua=mailto:a@example.net", NotTlsRpt),
            ("v=tlsrptv1; rua=mailto:a@example.net", NotTlsRpt),
            ("v=TLSRPTv1", NoRua),
            ("v=TLSRPTv1; rua=ftp://x.example", NoRua),
            ("v=TLSRPTv1; rua=mailto:", NoRua),
            ("v=TLSRPTv1; rua=mailto:a@x; rua=mailto:b@x", DuplicateRua),
            (
                "v=TLSRPTv1; rua mailto:a@x",
                MalformedField("rua mailto:a@x".into()),
            ),
            ("v=TLSRPTv1;; rua=mailto:a@x", MalformedField(String::new())),
        ] {
            assert_eq!(ReportingPolicy::parse(txt), Err(err), "{txt}");
        }
    }

    #[test]
    fn exactly_one_tlsrpt_record_among_the_txt_records() {
        let ok = ReportingPolicy::from_txt_records([
            "v=spf1 -all",
            "v=TLSRPTv1; rua=mailto:a@example.net",
            "v=TLSRPTv10; rua=mailto:b@example.net",
        ])
        .unwrap();
        assert_eq!(ok.rua.len(), 1);
        assert_eq!(
            ReportingPolicy::from_txt_records(["v=spf1 -all"]),
            Err(ReportingPolicyError::RecordCount(0))
        );
        assert_eq!(
            ReportingPolicy::from_txt_records([
                "v=TLSRPTv1; rua=mailto:a@example.net",
                "v=TLSRPTv1;rua=mailto:b@example.net",
            ]),
            Err(ReportingPolicyError::RecordCount(2))
        );
    }
}
