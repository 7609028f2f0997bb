//! The `_smtp._tls` reporting record (RFC 8460 §3), looked up with its DNSSEC status
//! (features `resolver` and `tlsrpt`).

use hickory_proto::rr::{RData, RecordType};

use super::{AnswerKind, DnsSource, LookupError, Security, TlsaResolver, fqdn};
use crate::tlsrpt::{ReportingPolicy, ReportingPolicyError};

/// The result of [`TlsaResolver::lookup_tlsrpt`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsRptRecord {
    /// The one `v=TLSRPTv1` record, parsed; an error when there is none, more than one, or
    /// it is malformed (the domain then takes no reports, RFC 8460 §3).
    pub policy: Result<ReportingPolicy, ReportingPolicyError>,
    /// Whether the TXT answer (or its absence) was DNSSEC-secure. RFC 8460 does not require
    /// DNSSEC for this record; the MTA decides whether to send to an insecure one.
    pub security: Security,
}

impl<S: DnsSource> TlsaResolver<S> {
    /// Looks up and parses the TXT records at `_smtp._tls.<domain>` (RFC 8460 §3; for a
    /// DANE policy, `domain` is the `policy-domain`, the MX host). A failed or bogus lookup
    /// is a [`LookupError`]: no report can be addressed (try again later).
    pub async fn lookup_tlsrpt(&self, domain: &str) -> Result<TlsRptRecord, LookupError> {
        let name = fqdn(&format!("_smtp._tls.{}", domain.trim_end_matches('.')))?;
        let answer = self.query(&name, RecordType::TXT).await?;
        let texts: Vec<String> = match &answer.kind {
            AnswerKind::Records { rdata, .. } => rdata
                .iter()
                .filter_map(|r| match r {
                    // RFC 8460 §3: the character-strings of one record are joined.
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|s| String::from_utf8_lossy(s))
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect(),
            AnswerKind::NoData { .. } | AnswerKind::NxDomain { .. } => Vec::new(),
        };
        Ok(TlsRptRecord {
            policy: ReportingPolicy::from_txt_records(texts.iter().map(String::as_str)),
            security: answer.security,
        })
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::Name;
    use hickory_proto::rr::rdata::TXT;

    use super::*;
    use crate::resolver::DnsAnswer;
    use crate::tlsrpt::ReportUri;

    /// Answers every TXT question at `_smtp._tls.mx.example.` with fixed records.
    struct Fixed(Result<DnsAnswer, LookupError>);

    impl DnsSource for Fixed {
        async fn query(&self, name: &Name, rtype: RecordType) -> Result<DnsAnswer, LookupError> {
            assert_eq!(rtype, RecordType::TXT);
            assert_eq!(name.to_ascii(), "_smtp._tls.mx.example.");
            self.0.clone()
        }
    }

    fn txt(security: Security, records: &[&[&str]]) -> Fixed {
        Fixed(Ok(DnsAnswer {
            security,
            kind: AnswerKind::Records {
                owner: Name::from_ascii("_smtp._tls.mx.example.").unwrap(),
                cnames: Vec::new(),
                ttl: 300,
                rdata: records
                    .iter()
                    .map(|strings| {
                        RData::TXT(TXT::new(strings.iter().map(|s| (*s).to_owned()).collect()))
                    })
                    .collect(),
            },
        }))
    }

    #[tokio::test]
    async fn record_found_joined_and_parsed_with_its_security() {
        let r = TlsaResolver::new(txt(
            Security::Secure,
            &[
                &["v=spf1 -all"],
                &["v=TLSRPTv1; rua=mailto:tls", "rpt@mx.example"],
            ],
        ));
        let found = r.lookup_tlsrpt("mx.example.").await.unwrap();
        assert_eq!(found.security, Security::Secure);
        assert_eq!(
            found.policy.unwrap().rua,
            [ReportUri::Mailto("mailto:tlsrpt@mx.example".into())]
        );
    }

    #[tokio::test]
    async fn none_two_or_a_failure() {
        let none = TlsaResolver::new(Fixed(Ok(DnsAnswer {
            security: Security::Insecure,
            kind: AnswerKind::NxDomain { ttl: 60 },
        })));
        let got = none.lookup_tlsrpt("mx.example").await.unwrap();
        assert_eq!(got.policy, Err(ReportingPolicyError::RecordCount(0)));
        assert_eq!(got.security, Security::Insecure);
        let two = TlsaResolver::new(txt(
            Security::Insecure,
            &[
                &["v=TLSRPTv1; rua=mailto:a@x.example"],
                &["v=TLSRPTv1; rua=mailto:b@x.example"],
            ],
        ));
        let got = two.lookup_tlsrpt("mx.example").await.unwrap();
        assert_eq!(got.policy, Err(ReportingPolicyError::RecordCount(2)));
        let bogus = TlsaResolver::new(Fixed(Err(LookupError::Bogus)));
        assert_eq!(
            bogus.lookup_tlsrpt("mx.example").await,
            Err(LookupError::Bogus)
        );
    }
}
