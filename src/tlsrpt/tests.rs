use std::net::IpAddr;

use serde_json::{Value, json};

use super::*;
use crate::error::Error;
use crate::names::ReferenceName;
use crate::record::Tlsa;
use crate::rrset::TlsaSet;

/// The RFC 8460 §4.4 example, as printed (a string `mx-host`, `failure-error-code`).
const RFC_EXAMPLE: &str = r#"{
  "organization-name": "Company-X",
  "date-range": {
    "start-datetime": "2016-04-01T00:00:00Z",
    "end-datetime": "2016-04-01T23:59:59Z"
  },
  "contact-info": "sts-reporting@company-x.example",
  "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
  "policies": [{
    "policy": {
      "policy-type": "sts",
      "policy-string": ["version: STSv1","mode: testing",
            "mx: *.mail.company-y.example","max_age: 86400"],
      "policy-domain": "company-y.example",
      "mx-host": "*.mail.company-y.example"
    },
    "summary": {
      "total-successful-session-count": 5326,
      "total-failure-session-count": 303
    },
    "failure-details": [{
      "result-type": "certificate-expired",
      "sending-mta-ip": "2001:db8:abcd:0012::1",
      "receiving-mx-hostname": "mx1.mail.company-y.example",
      "failed-session-count": 100
    }, {
      "result-type": "starttls-not-supported",
      "sending-mta-ip": "2001:db8:abcd:0013::1",
      "receiving-mx-hostname": "mx2.mail.company-y.example",
      "receiving-ip": "203.0.113.56",
      "failed-session-count": 200,
      "additional-information": "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"
    }, {
      "result-type": "validation-failure",
      "sending-mta-ip": "198.51.100.62",
      "receiving-ip": "203.0.113.58",
      "receiving-mx-hostname": "mx-backup.mail.company-y.example",
      "failed-session-count": 3,
      "failure-error-code": "X509_V_ERR_PROOF_OF_POSSESSION"
    }]
  }]
}"#;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn rfc8460_example_is_read() {
    let r: Report = serde_json::from_str(RFC_EXAMPLE).unwrap();
    assert_eq!(r.organization_name, "Company-X");
    assert_eq!(
        r.date_range.start_datetime.to_string(),
        "2016-04-01T00:00:00Z"
    );
    assert_eq!(
        r.date_range.end_datetime.to_string(),
        "2016-04-01T23:59:59Z"
    );
    assert_eq!(r.contact_info, "sts-reporting@company-x.example");
    assert_eq!(r.report_id, "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
    let p = &r.policies[0];
    assert_eq!(p.policy.policy_type, PolicyType::Sts);
    assert_eq!(p.policy.policy_string.len(), 4);
    assert_eq!(p.policy.policy_domain, "company-y.example");
    assert_eq!(p.policy.mx_host, ["*.mail.company-y.example"]);
    assert_eq!(p.summary.total_successful_session_count, 5326);
    assert_eq!(p.summary.total_failure_session_count, 303);
    let d = &p.failure_details;
    assert_eq!(d.len(), 3);
    assert_eq!(
        d[0].failure.result_type,
        ResultType::Dane(TlsRptResult::CertificateExpired)
    );
    assert_eq!(d[0].failure.sending_mta_ip, Some(ip("2001:db8:abcd:12::1")));
    assert_eq!(d[0].failed_session_count, 100);
    assert_eq!(d[1].failure.receiving_ip, Some(ip("203.0.113.56")));
    assert!(d[1].failure.additional_information.is_some());
    assert_eq!(
        d[2].failure.failure_reason_code.as_deref(),
        Some("X509_V_ERR_PROOF_OF_POSSESSION")
    );
    // Written back as the RFC says: mx-host an array, failure-reason-code.
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v["policies"][0]["policy"]["mx-host"],
        json!(["*.mail.company-y.example"])
    );
    assert_eq!(
        v["policies"][0]["failure-details"][2]["failure-reason-code"],
        "X509_V_ERR_PROOF_OF_POSSESSION"
    );
    let again: Report = serde_json::from_value(v).unwrap();
    assert_eq!(again, r);
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[test]
fn our_report_has_the_rfc8460_structure_field_by_field() {
    let records = TlsaSet::new([
        "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"
            .parse::<Tlsa>()
            .unwrap(),
    ]);
    let policy = PolicyDetails::tlsa(
        &ReferenceName::new("mx1.company-y.example").unwrap(),
        &records,
    );
    let failure = Failure::from_error(&Error::Expired { depth: Some(0) })
        .with_sending_mta_ip(ip("2001:db8:abcd:12::1"))
        .with_receiving_mx_hostname("mx1.company-y.example")
        .with_receiving_mx_helo("mx1.company-y.example")
        .with_receiving_ip(ip("203.0.113.56"))
        .with_additional_information("https://reports.company-x.example/info");
    let report = Report {
        organization_name: "Company-X".into(),
        date_range: DateRange {
            start_datetime: DateTime::parse("2016-04-01T00:00:00Z").unwrap(),
            end_datetime: DateTime::parse("2016-04-01T23:59:59Z").unwrap(),
        },
        contact_info: "sts-reporting@company-x.example".into(),
        report_id: "5065427c-23d3-47ca-b6e0-946ea0e8c4be".into(),
        policies: vec![PolicyReport {
            policy,
            summary: Summary {
                total_successful_session_count: 5326,
                total_failure_session_count: 100,
            },
            failure_details: vec![FailureDetails {
                failure,
                failed_session_count: 100,
            }],
        }],
    };
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(
        keys(&v),
        [
            "contact-info",
            "date-range",
            "organization-name",
            "policies",
            "report-id"
        ]
    );
    assert_eq!(v["organization-name"], "Company-X");
    assert_eq!(
        v["date-range"],
        json!({"start-datetime": "2016-04-01T00:00:00Z", "end-datetime": "2016-04-01T23:59:59Z"})
    );
    assert_eq!(v["contact-info"], "sts-reporting@company-x.example");
    assert_eq!(v["report-id"], "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
    let p = &v["policies"][0];
    assert_eq!(keys(p), ["failure-details", "policy", "summary"]);
    assert_eq!(
        p["policy"],
        json!({
            "policy-type": "tlsa",
            "policy-string": ["3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"],
            "policy-domain": "mx1.company-y.example",
        })
    );
    assert_eq!(
        p["summary"],
        json!({"total-successful-session-count": 5326, "total-failure-session-count": 100})
    );
    assert_eq!(
        p["failure-details"][0],
        json!({
            "result-type": "certificate-expired",
            "sending-mta-ip": "2001:db8:abcd:12::1",
            "receiving-mx-hostname": "mx1.company-y.example",
            "receiving-mx-helo": "mx1.company-y.example",
            "receiving-ip": "203.0.113.56",
            "failed-session-count": 100,
            "additional-information": "https://reports.company-x.example/info",
            "failure-reason-code": "expired",
        })
    );
    let back: Report = serde_json::from_value(v).unwrap();
    assert_eq!(back, report);
}

#[test]
fn variations_real_senders_emit() {
    let r: Report = serde_json::from_value(json!({
        "organization-name": "Sender",
        "date-range": {"start-datetime": "2024-01-01T00:00:00", "end-datetime": "2024-01-01T23:59:59+00:00"},
        "report-id": "2024-01-01T00:00:00Z_example.net",
        "policies": [{
            "policy": {"policy-type": "no-policy-found", "policy-domain": "example.net", "mx-host": ["a.example.net", "b.example.net"]},
            "summary": {"total-successful-session-count": 18446744073709551615u64, "total-failure-session-count": 0}
        }, {
            "policy": {"policy-type": "tlsa", "policy-string": [], "policy-domain": "mx.example.net", "mx-host": ""},
            "summary": {"total-failure-session-count": 2},
            "failure-details": [{
                "result-type": "some-future-result",
                "sending-mta-ip": "",
                "receiving-ip": null,
                "failed-session-count": 2,
                "an-extension": 1
            }]
        }, {
            "policy": {"policy-type": "future-type", "policy-domain": "x.example"},
            "summary": {}
        }]
    }))
    .unwrap();
    assert_eq!(
        r.date_range.start_datetime.to_string(),
        "2024-01-01T00:00:00Z"
    );
    assert_eq!(
        r.date_range.end_datetime.to_string(),
        "2024-01-01T23:59:59Z"
    );
    assert_eq!(r.contact_info, "");
    let p = &r.policies;
    assert_eq!(p[0].policy.mx_host.len(), 2);
    assert_eq!(p[0].summary.total_successful_session_count, u64::MAX);
    assert!(p[0].failure_details.is_empty());
    assert!(p[1].policy.mx_host.is_empty());
    let f = &p[1].failure_details[0];
    assert_eq!(
        f.failure.result_type,
        ResultType::Other("some-future-result".into())
    );
    assert_eq!(f.failure.sending_mta_ip, None);
    assert_eq!(f.failure.receiving_ip, None);
    assert_eq!(
        p[2].policy.policy_type,
        PolicyType::Other("future-type".into())
    );
    // Unknown values are written back as read.
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v["policies"][1]["failure-details"][0]["result-type"],
        "some-future-result"
    );
    assert_eq!(v["policies"][2]["policy"]["policy-type"], "future-type");
    // A wrong address or datetime is an error, not silently dropped.
    let bad_ip =
        json!({"result-type": "x", "receiving-ip": "mx.example", "failed-session-count": 1});
    assert!(serde_json::from_value::<FailureDetails>(bad_ip).is_err());
    assert!(
        serde_json::from_value::<DateRange>(
            json!({"start-datetime": "yesterday", "end-datetime": "2024-01-01T00:00:00Z"})
        )
        .is_err()
    );
}

#[test]
fn result_types_round_trip_and_align_with_tls_rpt_result() {
    // Exhaustive: a new TlsRptResult variant does not compile until it is listed.
    for r in TLS_RPT_RESULTS {
        match r {
            TlsRptResult::StarttlsNotSupported
            | TlsRptResult::CertificateHostMismatch
            | TlsRptResult::CertificateExpired
            | TlsRptResult::CertificateNotTrusted
            | TlsRptResult::ValidationFailure
            | TlsRptResult::TlsaInvalid
            | TlsRptResult::DnssecInvalid
            | TlsRptResult::DaneRequired => {}
        }
        let t = ResultType::from(r);
        assert_eq!(ResultType::parse(r.as_str()), t);
        assert_eq!(t.tls_rpt_result(), Some(r));
        assert_eq!(serde_json::to_value(&t).unwrap(), r.as_str());
    }
    let distinct: std::collections::HashSet<_> = TLS_RPT_RESULTS.iter().collect();
    assert_eq!(distinct.len(), TLS_RPT_RESULTS.len());
    for s in [
        "sts-policy-fetch-error",
        "sts-policy-invalid",
        "sts-webpki-invalid",
    ] {
        let t = ResultType::parse(s);
        assert!(!matches!(t, ResultType::Other(_)), "{s}");
        assert_eq!(t.as_str(), s);
        assert_eq!(t.tls_rpt_result(), None);
    }
}

/// Which row of the table an error is (exhaustive: a new variant does not compile).
fn error_row(e: &Error) -> usize {
    match e {
        Error::NoUsableRecords => 0,
        Error::EmptyChain => 1,
        Error::NoMatch => 2,
        Error::MalformedCertificate { .. } => 3,
        Error::ChainInvalid { .. } => 4,
        Error::Expired { .. } => 5,
        Error::NotYetValid { .. } => 6,
        Error::NameMismatch { .. } => 7,
        Error::NameConstraintViolation { .. } => 8,
        Error::RawPublicKeyNameChecks => 9,
        Error::Pkix(_) => 10,
        Error::NoPkixRoots => 11,
        Error::Unsupported(_) => 12,
        Error::InvalidTlsa(_) => 13,
        Error::InvalidPurpose { .. } => 14,
    }
}

#[test]
fn mapping_table_one_row_per_error_variant() {
    use crate::error::TlsaParseError;
    use crate::record::CertUsage;
    use TlsRptResult::*;
    let table: Vec<(Error, TlsRptResult, &str)> = vec![
        (Error::NoUsableRecords, TlsaInvalid, "no-usable-records"),
        (Error::EmptyChain, ValidationFailure, "empty-chain"),
        (Error::NoMatch, CertificateNotTrusted, "no-match"),
        (
            Error::MalformedCertificate {
                depth: 1,
                reason: "x",
            },
            ValidationFailure,
            "malformed-certificate",
        ),
        (
            Error::ChainInvalid {
                usage: CertUsage::DaneTa,
                reason: webpki::Error::UnknownIssuer,
            },
            CertificateNotTrusted,
            "chain-invalid",
        ),
        (
            Error::Expired { depth: None },
            CertificateExpired,
            "expired",
        ),
        (
            Error::NotYetValid { depth: Some(0) },
            CertificateExpired,
            "not-yet-valid",
        ),
        (
            Error::NameMismatch {
                names: "mx.example".into(),
            },
            CertificateHostMismatch,
            "name-mismatch",
        ),
        (
            Error::NameConstraintViolation {
                name: "mx.example".into(),
            },
            CertificateNotTrusted,
            "name-constraint-violation",
        ),
        (
            Error::RawPublicKeyNameChecks,
            CertificateHostMismatch,
            "raw-public-key-name-check",
        ),
        (
            Error::Pkix(webpki::Error::CertExpired {
                time: pki_types::UnixTime::since_unix_epoch(std::time::Duration::ZERO),
                not_after: pki_types::UnixTime::since_unix_epoch(std::time::Duration::ZERO),
            }),
            CertificateNotTrusted,
            "pkix-failure",
        ),
        (Error::NoPkixRoots, CertificateNotTrusted, "no-pkix-roots"),
        (
            Error::Unsupported("x".into()),
            ValidationFailure,
            "unsupported",
        ),
        (
            Error::InvalidTlsa(TlsaParseError::Empty),
            TlsaInvalid,
            "invalid-tlsa",
        ),
        (
            Error::InvalidPurpose {
                usage: CertUsage::DaneTa,
            },
            CertificateNotTrusted,
            "invalid-purpose",
        ),
    ];
    let mut rows: Vec<usize> = table.iter().map(|(e, ..)| error_row(e)).collect();
    rows.sort_unstable();
    assert_eq!(
        rows,
        (0..table.len()).collect::<Vec<_>>(),
        "one row per variant"
    );
    let policy = PolicyDetails::no_policy_found("mx.example");
    for (error, result, code) in &table {
        let o = SessionOutcome::from_error(policy.clone(), error);
        assert!(!o.is_success());
        let f = o.failure.unwrap();
        assert_eq!(f.result_type, ResultType::Dane(*result), "{error:?}");
        assert_eq!(f.failure_reason_code.as_deref(), Some(*code), "{error:?}");
        assert!(
            code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{code}"
        );
    }
    let ok: Result<(), Error> = Ok(());
    assert!(SessionOutcome::from_verification(policy.clone(), &ok).is_success());
    let s = SessionOutcome::starttls_not_supported(policy.clone())
        .failure
        .unwrap();
    assert_eq!(s.result_type.as_str(), "starttls-not-supported");
    assert_eq!(
        s.failure_reason_code.as_deref(),
        Some("starttls-not-offered")
    );
    let a = SessionOutcome::tls_alert(policy, 42).failure.unwrap();
    assert_eq!(a.result_type.as_str(), "validation-failure");
    assert_eq!(a.failure_reason_code.as_deref(), Some("tls-alert-42"));
}

#[test]
fn dane_policies() {
    let records = TlsaSet::new([
        "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"
            .parse::<Tlsa>()
            .unwrap(),
        "dane-ta cert sha2-512 00".parse::<Tlsa>().unwrap(),
    ]);
    let p = PolicyDetails::tlsa(&ReferenceName::new("MX.Example.NET.").unwrap(), &records);
    assert_eq!(p.policy_type, PolicyType::Tlsa);
    // Canonical (RDATA) order, whatever order the resolver gave.
    assert_eq!(
        p.policy_string,
        [
            "2 0 2 00",
            "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6",
        ]
    );
    let reversed = TlsaSet::new(records.records().iter().rev().cloned());
    let base = ReferenceName::new("mx.example.net").unwrap();
    assert_eq!(
        PolicyDetails::tlsa(&base, &reversed),
        PolicyDetails::tlsa(&base, &records)
    );
    // Records that differ only in their data sort by it; a duplicate is dropped.
    let dup = TlsaSet::new(
        ["3 1 1 02", "3 1 1 01", "3 1 1 02", "3 0 1 ff"].map(|r| r.parse::<Tlsa>().unwrap()),
    );
    assert_eq!(
        PolicyDetails::tlsa(&base, &dup).policy_string,
        ["3 0 1 ff", "3 1 1 01", "3 1 1 02"]
    );
    assert_eq!(
        p.policy_domain,
        ReferenceName::new("MX.Example.NET.").unwrap().as_str()
    );
    let n = PolicyDetails::no_policy_found("Example.NET.");
    assert_eq!(n.policy_type, PolicyType::NoPolicyFound);
    assert_eq!(n.policy_domain, "example.net");
    assert_eq!(
        serde_json::to_value(&n).unwrap(),
        json!({"policy-type": "no-policy-found", "policy-domain": "example.net"})
    );
}

#[cfg(feature = "resolver")]
mod with_resolver {
    use super::*;
    use crate::resolver::{DaneStatus, LookupError};
    use crate::verify::Policy;

    fn lookup_row(e: &LookupError) -> usize {
        match e {
            LookupError::Bogus => 0,
            LookupError::ServFail => 1,
            LookupError::Timeout => 2,
            LookupError::Rcode(_) => 3,
            LookupError::Indeterminate => 4,
            LookupError::NoSuchDomain => 5,
            LookupError::InvalidName(_) => 6,
            LookupError::Config(_) => 7,
            LookupError::Other(_) => 8,
        }
    }

    #[test]
    fn mapping_table_one_row_per_lookup_error_variant() {
        use TlsRptResult::*;
        let table = [
            (LookupError::Bogus, DnssecInvalid, "dns-bogus"),
            (LookupError::ServFail, DnssecInvalid, "dns-servfail"),
            (LookupError::Timeout, DnssecInvalid, "dns-timeout"),
            (
                LookupError::Rcode("REFUSED".into()),
                DnssecInvalid,
                "dns-rcode",
            ),
            (
                LookupError::Indeterminate,
                DnssecInvalid,
                "dns-indeterminate",
            ),
            (LookupError::NoSuchDomain, ValidationFailure, "dns-nxdomain"),
            (
                LookupError::InvalidName("x".into()),
                ValidationFailure,
                "dns-invalid-name",
            ),
            (
                LookupError::Config("x".into()),
                ValidationFailure,
                "dns-config",
            ),
            (LookupError::Other("x".into()), DnssecInvalid, "dns-error"),
        ];
        let mut rows: Vec<usize> = table.iter().map(|(e, ..)| lookup_row(e)).collect();
        rows.sort_unstable();
        assert_eq!(
            rows,
            (0..table.len()).collect::<Vec<_>>(),
            "one row per variant"
        );
        for (error, result, code) in &table {
            let o = SessionOutcome::from_lookup_error("MX.example.", error);
            assert_eq!(o.policy, PolicyDetails::tlsa_unknown("mx.example"));
            let f = o.failure.unwrap();
            assert_eq!(f.result_type, ResultType::Dane(*result), "{error:?}");
            assert_eq!(f.failure_reason_code.as_deref(), Some(*code));
        }
    }

    #[test]
    fn mapping_table_one_row_per_dane_status() {
        let base = ReferenceName::new("mx.example").unwrap();
        let usable = TlsaSet::new(["3 1 1 00".parse::<Tlsa>().unwrap()]);
        let unusable = TlsaSet::new(["3 1 77 00".parse::<Tlsa>().unwrap()]);
        let statuses = [
            DaneStatus::Required {
                tlsa: usable.clone(),
                policy: Policy::smtp(base.clone()),
                sni: base.clone(),
            },
            DaneStatus::TlsRequiredUnauthenticated {
                sni: base.clone(),
                tlsa: unusable.clone(),
            },
            DaneStatus::Opportunistic,
            DaneStatus::Unusable(LookupError::Bogus),
        ];
        for status in &statuses {
            let policy = PolicyDetails::for_status(status, "mx.example.");
            let before = SessionOutcome::from_status(status, "mx.example.");
            // Exhaustive: a new status does not compile until it has a row.
            match status {
                DaneStatus::Required { .. } => {
                    assert_eq!(policy, PolicyDetails::tlsa(&base, &usable));
                    assert_eq!(before, None);
                }
                DaneStatus::TlsRequiredUnauthenticated { .. } => {
                    assert_eq!(policy, PolicyDetails::tlsa(&base, &unusable));
                    assert_eq!(policy.policy_string, ["3 1 77 00"]);
                    let f = before.unwrap().failure.unwrap();
                    assert_eq!(f.result_type.as_str(), "tlsa-invalid");
                    assert_eq!(f.failure_reason_code.as_deref(), Some("no-usable-records"));
                }
                DaneStatus::Opportunistic => {
                    assert_eq!(policy, PolicyDetails::no_policy_found("mx.example"));
                    assert_eq!(before, None);
                }
                DaneStatus::Unusable(_) => {
                    assert_eq!(policy, PolicyDetails::tlsa_unknown("mx.example"));
                    let f = before.unwrap().failure.unwrap();
                    assert_eq!(f.result_type.as_str(), "dnssec-invalid");
                    assert_eq!(f.failure_reason_code.as_deref(), Some("dns-bogus"));
                }
            }
        }
    }
}

mod aggregator {
    use std::sync::Arc;

    use super::*;

    const T0: i64 = 1_459_468_800; // 2016-04-01T00:00:00Z

    fn at(secs: i64) -> DateTime {
        DateTime::from_unix(secs)
    }

    fn dane(host: &str) -> PolicyDetails {
        let records = TlsaSet::new(["3 1 1 00".parse::<Tlsa>().unwrap()]);
        PolicyDetails::tlsa(&ReferenceName::new(host).unwrap(), &records)
    }

    fn expired(ip: &str) -> Failure {
        Failure::from_error(&Error::Expired { depth: Some(0) }).with_receiving_ip(super::ip(ip))
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Aggregator>();
    }

    #[test]
    fn many_threads_record_concurrently() {
        let agg = Arc::new(Aggregator::new("Sender", "tlsrpt@sender.example"));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let agg = Arc::clone(&agg);
                std::thread::spawn(move || {
                    for i in 0..5_000u32 {
                        let host = if i % 2 == 0 {
                            "mx1.example"
                        } else {
                            "mx2.example"
                        };
                        let o = if i % 5 == 0 {
                            SessionOutcome::failed(
                                dane(host),
                                expired(&format!("192.0.2.{}", t % 2)),
                            )
                        } else {
                            SessionOutcome::success(dane(host))
                        };
                        agg.record_at(o, at(T0 + i64::from(i)));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let reports = agg.drain(UtcDay::containing(at(T0)));
        assert_eq!(reports.len(), 2);
        for r in &reports {
            assert_eq!(r.policies.len(), 1);
            let p = &r.policies[0];
            // Per host: 8 × 2500 sessions, of which i % 5 == 0: 8 × 500.
            assert_eq!(p.summary.total_failure_session_count, 4_000);
            assert_eq!(p.summary.total_successful_session_count, 16_000);
            // Two receiving addresses: two entries, summed.
            assert_eq!(p.failure_details.len(), 2);
            assert!(
                p.failure_details
                    .iter()
                    .all(|d| d.failed_session_count == 2_000)
            );
        }
        assert!(agg.windows().is_empty());
    }

    #[test]
    fn merge_keys_policy_domain_policy_and_failure() {
        let agg = Aggregator::new("Sender", "mailto:tlsrpt@sender.example");
        let other_rrset = PolicyDetails::tlsa(
            &ReferenceName::new("mx1.example").unwrap(),
            &TlsaSet::new(["3 1 1 01".parse::<Tlsa>().unwrap()]),
        );
        for o in [
            SessionOutcome::success(dane("mx1.example")),
            SessionOutcome::success(dane("mx1.example")),
            SessionOutcome::success(other_rrset.clone()),
            SessionOutcome::failed(dane("mx1.example"), expired("192.0.2.1")),
            SessionOutcome::failed(dane("mx1.example"), expired("192.0.2.1")),
            SessionOutcome::failed(dane("mx1.example"), expired("192.0.2.2")),
            SessionOutcome::failed(
                dane("mx1.example"),
                expired("192.0.2.1").with_receiving_mx_hostname("mx1.example"),
            ),
            SessionOutcome::success(PolicyDetails::no_policy_found("mx2.example")),
        ] {
            agg.record_at(o, at(T0 + 10));
        }
        let reports = agg.drain(UtcDay::containing(at(T0)));
        let domains: Vec<&str> = reports
            .iter()
            .map(|r| r.policies[0].policy.policy_domain.as_str())
            .collect();
        assert_eq!(domains, ["mx1.example", "mx2.example"]);
        let r = &reports[0];
        assert_eq!(r.report_id, "2016-04-01T00:00:00Z_mx1.example");
        assert_eq!(r.organization_name, "Sender");
        assert_eq!(r.contact_info, "mailto:tlsrpt@sender.example");
        // Two policies for one domain (two RRsets): one report, two entries.
        assert_eq!(r.policies.len(), 2);
        let p = r
            .policies
            .iter()
            .find(|p| p.policy == dane("mx1.example"))
            .unwrap();
        assert_eq!(p.summary.total_successful_session_count, 2);
        assert_eq!(p.summary.total_failure_session_count, 4);
        let counts: Vec<u64> = p
            .failure_details
            .iter()
            .map(|d| d.failed_session_count)
            .collect();
        assert_eq!(counts, [2, 1, 1]);
        assert_eq!(p.failure_details[0].failure, expired("192.0.2.1"));
        let q = r.policies.iter().find(|p| p.policy == other_rrset).unwrap();
        assert_eq!(q.summary.total_successful_session_count, 1);
        assert_eq!(
            reports[1].policies[0].policy.policy_type,
            PolicyType::NoPolicyFound
        );
    }

    #[test]
    fn utc_day_window_boundaries() {
        let agg = Aggregator::new("S", "c");
        for t in [T0 - 1, T0, T0 + 86_399, T0 + 86_400] {
            agg.record_at(SessionOutcome::success(dane("mx.example")), at(t));
        }
        let day = UtcDay::containing(at(T0));
        assert_eq!(UtcDay::containing(at(T0 + 86_399)), day);
        assert_eq!(UtcDay::containing(at(T0 - 1)), day.previous());
        assert_eq!(day.start().to_string(), "2016-04-01T00:00:00Z");
        assert_eq!(day.end().to_string(), "2016-04-01T23:59:59Z");
        assert_eq!(UtcDay::containing(at(-1)).end(), at(-1));
        assert_eq!(agg.windows().len(), 3);
        let r = agg.drain(day);
        assert_eq!(r[0].date_range, day.date_range());
        assert_eq!(r[0].policies[0].summary.total_successful_session_count, 2);
        assert!(agg.drain(day).is_empty(), "a day is drained once");
        // The day before is finished; the day after (today) is not drained.
        let before = agg.drain_before(day);
        assert_eq!(before.len(), 1);
        assert_eq!(
            before[0].date_range.start_datetime.to_string(),
            "2016-03-31T00:00:00Z"
        );
        assert_eq!(agg.windows(), [UtcDay::containing(at(T0 + 86_400))]);
    }

    #[test]
    fn distinct_failures_are_bounded_with_an_overflow_count() {
        let agg = Aggregator::new("S", "c").with_max_failure_details(3);
        for i in 0..10 {
            agg.record_at(
                SessionOutcome::failed(dane("mx.example"), expired(&format!("192.0.2.{i}"))),
                at(T0),
            );
        }
        for _ in 0..4 {
            agg.record_at(
                SessionOutcome::starttls_not_supported(dane("mx.example")),
                at(T0),
            );
            // Already kept: still merged, not overflowed.
            agg.record_at(
                SessionOutcome::failed(dane("mx.example"), expired("192.0.2.0")),
                at(T0),
            );
        }
        let r = agg.drain(UtcDay::containing(at(T0)));
        let p = &r[0].policies[0];
        assert_eq!(p.summary.total_failure_session_count, 18);
        assert_eq!(p.failure_details.len(), 3 + 2);
        let kept: u64 = p.failure_details[..3]
            .iter()
            .map(|d| d.failed_session_count)
            .sum();
        assert_eq!(kept, 5 + 1 + 1);
        let overflow: Vec<(String, u64)> = p.failure_details[3..]
            .iter()
            .map(|d| {
                assert_eq!(
                    d.failure,
                    Failure::new(d.failure.result_type.clone(), OVERFLOW_REASON_CODE)
                );
                (d.failure.result_type.to_string(), d.failed_session_count)
            })
            .collect();
        assert_eq!(
            overflow,
            [
                ("certificate-expired".to_owned(), 7),
                ("starttls-not-supported".to_owned(), 4)
            ]
        );
    }

    #[test]
    fn snapshot_restores_through_json() {
        let agg = Aggregator::new("S", "c").with_max_failure_details(1);
        agg.record_at(SessionOutcome::success(dane("mx.example")), at(T0));
        agg.record_at(
            SessionOutcome::failed(dane("mx.example"), expired("192.0.2.1")),
            at(T0),
        );
        agg.record_at(
            SessionOutcome::failed(dane("mx.example"), expired("192.0.2.2")),
            at(T0),
        );
        agg.record_at(
            SessionOutcome::tls_alert(dane("mx.example"), 40),
            at(T0 + 86_400),
        );
        let json = serde_json::to_string(&agg.snapshot()).unwrap();
        let restored = Aggregator::new("S", "c").with_max_failure_details(1);
        restored.restore(serde_json::from_str(&json).unwrap());
        assert_eq!(restored.snapshot(), agg.snapshot());
        // Restored counts add to new ones.
        restored.record_at(
            SessionOutcome::failed(dane("mx.example"), expired("192.0.2.1")),
            at(T0 + 5),
        );
        let day = UtcDay::containing(at(T0));
        let r = restored.drain(day);
        let p = &r[0].policies[0];
        assert_eq!(p.summary.total_successful_session_count, 1);
        assert_eq!(p.summary.total_failure_session_count, 3);
        assert_eq!(p.failure_details[0].failed_session_count, 2);
        assert_eq!(
            p.failure_details[1].failure.failure_reason_code.as_deref(),
            Some(OVERFLOW_REASON_CODE)
        );
        assert_eq!(
            agg.drain(day)[0].policies[0]
                .summary
                .total_failure_session_count,
            2
        );
        assert_eq!(restored.windows(), [day.next_for_test()]);
    }

    impl UtcDay {
        fn next_for_test(self) -> Self {
            Self::containing(DateTime::from_unix(self.end().unix() + 1))
        }
    }
}

mod delivery {
    use std::io::Read;

    use flate2::read::GzDecoder;
    use mail_parser::{MessageParser, MimeHeaders};

    use super::*;

    const SUBMITTER: &str = "mail.sender.example.com";

    /// The RFC 8460 §5.1 example's period and names.
    fn report(report_id: &str) -> Report {
        Report {
            organization_name: "Example Sender".into(),
            date_range: DateRange {
                start_datetime: DateTime::from_unix(1_470_013_207),
                end_datetime: DateTime::from_unix(1_470_186_007),
            },
            contact_info: format!("mailto:tlsrpt@{SUBMITTER}"),
            report_id: report_id.into(),
            policies: vec![PolicyReport {
                policy: PolicyDetails::no_policy_found("example.net"),
                summary: Summary {
                    total_successful_session_count: 3,
                    total_failure_session_count: 1,
                },
                failure_details: vec![FailureDetails {
                    failure: Failure::starttls_not_supported()
                        .with_receiving_mx_hostname("mx.example.net")
                        .with_receiving_ip(ip("192.0.2.25")),
                    failed_session_count: 1,
                }],
            }],
        }
    }

    fn field(e: DeliveryError) -> &'static str {
        match e {
            DeliveryError::InvalidField { field, .. } => field,
            DeliveryError::NoPolicy => "no-policy",
            DeliveryError::MixedPolicyDomains(..) => "mixed",
            DeliveryError::SubmitterMismatch { .. } => "submitter-mismatch",
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn file_name_is_the_rfc8460_example() {
        let r = report("r1");
        assert_eq!(
            r.file_name(SUBMITTER, Some("001"), true).unwrap(),
            "mail.sender.example.com!example.net!1470013207!1470186007!001.json.gz"
        );
        assert_eq!(
            r.file_name(SUBMITTER, None, false).unwrap(),
            "mail.sender.example.com!example.net!1470013207!1470186007.json"
        );
        assert_eq!(
            r.file_name(SUBMITTER, None, true).unwrap(),
            "mail.sender.example.com!example.net!1470013207!1470186007.json.gz"
        );
    }

    #[test]
    fn file_name_refusals_one_row_per_case() {
        let mixed = {
            let mut r = report("r1");
            let mut other = r.policies[0].clone();
            other.policy.policy_domain = "example.org".into();
            r.policies.push(other);
            r
        };
        let empty = Report {
            policies: Vec::new(),
            ..report("r1")
        };
        let before_1970 = {
            let mut r = report("r1");
            r.date_range.start_datetime = DateTime::from_unix(-1);
            r
        };
        let bad_domain = {
            let mut r = report("r1");
            r.policies[0].policy.policy_domain = "example.net\r\nBcc: x@y".into();
            r
        };
        let other_contact = Report {
            contact_info: "mailto:tlsrpt@elsewhere.example".into(),
            ..report("r1")
        };
        let r = report("r1");
        let rows: [(&Report, &str, Option<&str>, &str); 10] = [
            (&r, SUBMITTER, Some("0-1"), "unique-id"),
            (&r, SUBMITTER, Some(""), "unique-id"),
            (&r, "mail sender", None, "submitter"),
            (&r, "a!b.example", None, "submitter"),
            (&r, "", None, "submitter"),
            (&other_contact, SUBMITTER, None, "submitter-mismatch"),
            (&mixed, SUBMITTER, None, "mixed"),
            (&empty, SUBMITTER, None, "no-policy"),
            (&before_1970, SUBMITTER, None, "date-range"),
            (&bad_domain, SUBMITTER, None, "policy-domain"),
        ];
        for (report, submitter, unique, want) in rows {
            let got = report.file_name(submitter, unique, true).unwrap_err();
            assert_eq!(field(got), want, "{submitter:?} {unique:?}");
        }
        // Same policy domain twice (two policies for one domain) is one domain.
        let mut two = report("r1");
        let mut second = two.policies[0].clone();
        second.policy = PolicyDetails::tlsa_unknown("EXAMPLE.NET");
        two.policies.push(second);
        assert_eq!(two.policy_domain().unwrap(), "example.net");
        // A contact that is no address does not constrain the submitter.
        let web = Report {
            contact_info: "https://sender.example/tls".into(),
            ..report("r1")
        };
        assert!(web.file_name("other.example", None, true).is_ok());
        // The submitter is compared without case and final dot.
        assert!(r.file_name("Mail.Sender.Example.COM.", None, true).is_ok());
    }

    #[test]
    fn subject_report_id_is_a_msg_id() {
        // Already a msg-id (the RFC 8460 §5.3 example): kept.
        assert_eq!(
            report("735ff.e317+bf22029@example.net")
                .subject(SUBMITTER)
                .unwrap(),
            "Report Domain: example.net Submitter: mail.sender.example.com \
             Report-ID: <735ff.e317+bf22029@example.net>"
        );
        let rows = [
            // The aggregator's ids.
            (
                "2016-04-01T00:00:00Z_mx1.example.net",
                "<2016-04-01T00=3A00=3A00Z_mx1.example.net@mail.sender.example.com>",
            ),
            (
                "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
                "<5065427c-23d3-47ca-b6e0-946ea0e8c4be@mail.sender.example.com>",
            ),
            // `=` is escaped too, so escapes cannot collide with ids.
            ("a=3A", "<a=3D3A@mail.sender.example.com>"),
            ("a:", "<a=3A@mail.sender.example.com>"),
            // Dots only between atoms.
            (".a..b.", "<=2Ea=2E=2Eb=2E@mail.sender.example.com>"),
            ("a b@c", "<a=20b=40c@mail.sender.example.com>"),
            ("x@", "<x=40@mail.sender.example.com>"),
            ("ü", "<=C3=BC@mail.sender.example.com>"),
            ("", "<report@mail.sender.example.com>"),
        ];
        for (id, want) in rows {
            assert_eq!(
                report(id).subject_report_id(SUBMITTER).unwrap(),
                want,
                "{id:?}"
            );
        }
    }

    #[test]
    fn gzip_decompresses_to_the_json() {
        let r = report("r1");
        let gz = r.to_gzip().unwrap();
        assert_eq!(gz[..2], [0x1f, 0x8b]);
        let mut json = String::new();
        GzDecoder::new(&gz[..]).read_to_string(&mut json).unwrap();
        assert_eq!(json, r.to_json().unwrap());
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn mailto_addresses_of_rua_uris() {
        let rows = [
            ("mailto:tlsrpt@example.net", Some("tlsrpt@example.net")),
            ("MAILTO:tlsrpt@example.net", Some("tlsrpt@example.net")),
            (
                "mailto:tls%2Brpt@example.net?subject=x",
                Some("tls+rpt@example.net"),
            ),
            ("mailto:a@example.net,b@example.net", None),
            ("mailto:", None),
            ("mailto:%zz@example.net", None),
        ];
        for (uri, want) in rows {
            let got = ReportUri::Mailto(uri.into()).mailto_address();
            assert_eq!(got.as_deref(), want, "{uri}");
        }
        assert_eq!(
            ReportUri::Https("https://example.net/r".into()).mailto_address(),
            None
        );
    }

    #[test]
    fn message_is_rfc8460_multipart_report() {
        let r = report("2016-08-01T00:00:00Z_example.net");
        let message = ReportMessage::new(
            &r,
            "tlsrpt@mail.sender.example.com",
            "tlsrpt@example.net",
            SUBMITTER,
        )
        .with_date(DateTime::from_unix(1_470_200_000))
        .with_unique_id("001");
        let bytes = message.to_bytes().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        // CRLF only; lines within RFC 5322's 998, and within its recommended 78 but for
        // the quoted file name, which cannot be folded (the base64 at 76).
        for (i, line) in text.split("\r\n").enumerate() {
            assert!(
                !line.contains('\n') && !line.contains('\r'),
                "bare line end at line {i}"
            );
            assert!(
                line.len() <= 78 || (line.len() <= 998 && line.contains(".json.gz")),
                "line {i} has {} octets: {line}",
                line.len()
            );
        }
        assert!(text.ends_with("\r\n"));

        let parsed = MessageParser::new().parse(&bytes).unwrap();
        assert_eq!(
            parsed.subject().unwrap(),
            "Report Domain: example.net Submitter: mail.sender.example.com \
             Report-ID: <2016-08-01T00=3A00=3A00Z_example.net@mail.sender.example.com>"
        );
        let header = |name: &'static str| parsed.header_raw(name).map(str::trim);
        assert_eq!(header("TLS-Report-Domain"), Some("example.net"));
        assert_eq!(header("TLS-Report-Submitter"), Some(SUBMITTER));
        assert_eq!(header("TLS-Required"), Some("No"));
        assert_eq!(header("Auto-Submitted"), Some("auto-generated"));
        assert_eq!(header("MIME-Version"), Some("1.0"));
        assert_eq!(
            parsed.message_id(),
            Some("2016-08-01T00=3A00=3A00Z_example.net@mail.sender.example.com")
        );
        assert_eq!(parsed.date().unwrap().to_timestamp(), 1_470_200_000);
        let from = parsed.from().unwrap().first().unwrap();
        assert_eq!(from.address(), Some("tlsrpt@mail.sender.example.com"));
        let to = parsed.to().unwrap().first().unwrap();
        assert_eq!(to.address(), Some("tlsrpt@example.net"));

        let ct = parsed.content_type().unwrap();
        assert_eq!(ct.ctype(), "multipart");
        assert_eq!(ct.subtype(), Some("report"));
        assert_eq!(ct.attribute("report-type"), Some("tlsrpt"));

        let human = parsed.body_text(0).unwrap().replace("\r\n", "\n");
        assert!(
            human.contains("Submitter: Example Sender (mail.sender.example.com)\n"),
            "{human}"
        );
        assert!(
            human.contains(
                "  1 x starttls-not-supported (starttls-not-offered)\n      at mx.example.net [192.0.2.25]\n"
            ),
            "{human}"
        );
        assert!(text.contains(
            "\r\nSubject: Report Domain: example.net Submitter: mail.sender.example.com\r\n "
        ));

        assert_eq!(parsed.attachment_count(), 1);
        let attachment = parsed.attachment(0).unwrap();
        assert_eq!(
            attachment.attachment_name(),
            Some("mail.sender.example.com!example.net!1470013207!1470186007!001.json.gz")
        );
        let act = attachment.content_type().unwrap();
        assert_eq!(
            (act.ctype(), act.subtype()),
            ("application", Some("tlsrpt+gzip"))
        );
        assert_eq!(attachment.content_transfer_encoding(), Some("base64"));
        let mut json = String::new();
        GzDecoder::new(attachment.contents())
            .read_to_string(&mut json)
            .unwrap();
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), r);

        // Opting out of TLS-Required.
        let bytes = ReportMessage::new(
            &r,
            "tlsrpt@mail.sender.example.com",
            "tlsrpt@example.net",
            SUBMITTER,
        )
        .without_tls_required_no()
        .to_bytes()
        .unwrap();
        let parsed = MessageParser::new().parse(&bytes).unwrap();
        assert_eq!(parsed.header_raw("TLS-Required"), None);
    }

    #[test]
    fn message_refuses_what_would_break_its_header() {
        let r = report("r1");
        let rows = [
            (
                "tlsrpt@mail.sender.example.com\r\nBcc: x@y",
                "tlsrpt@example.net",
                SUBMITTER,
                "from",
            ),
            (
                "tlsrpt@mail.sender.example.com",
                "no-at-sign",
                SUBMITTER,
                "to",
            ),
            (
                "tlsrpt@mail.sender.example.com",
                "<a@example.net>",
                SUBMITTER,
                "to",
            ),
            (
                "tlsrpt@mail.sender.example.com",
                "tlsrpt@example.net",
                "sender.example\r\nX: y",
                "submitter",
            ),
            (
                "tlsrpt@mail.sender.example.com",
                "tlsrpt@example.net",
                "sender.example",
                "submitter-mismatch",
            ),
        ];
        for (from, to, submitter, want) in rows {
            let e = ReportMessage::new(&r, from, to, submitter)
                .to_bytes()
                .unwrap_err();
            assert_eq!(field(e), want, "{from:?} {to:?} {submitter:?}");
        }
    }
}

#[cfg(feature = "rustls")]
mod with_rustls {
    use std::sync::Arc;

    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::{
        AlertDescription, CertificateError, ClientConnection, Error as TlsError, OtherError,
        PeerIncompatible, PeerMisbehaved, ServerConnection,
    };

    use super::*;
    use crate::error::TlsRptResult::*;

    fn dane(e: Error) -> TlsError {
        TlsError::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
    }

    #[test]
    fn rustls_errors_one_row_per_case() {
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_700_000_000));
        let table: Vec<(TlsError, TlsRptResult, &str)> = vec![
            // The DaneVerifier's refusals: exactly as Failure::from_error.
            (dane(Error::NoMatch), CertificateNotTrusted, "no-match"),
            (
                dane(Error::NoUsableRecords),
                TlsaInvalid,
                "no-usable-records",
            ),
            (
                dane(Error::Expired { depth: Some(0) }),
                CertificateExpired,
                "expired",
            ),
            (
                dane(Error::NameMismatch {
                    names: "mx.example.net".into(),
                }),
                CertificateHostMismatch,
                "name-mismatch",
            ),
            (dane(Error::EmptyChain), ValidationFailure, "empty-chain"),
            (
                dane(Error::Unsupported("x".into())),
                ValidationFailure,
                "unsupported",
            ),
            // Another verifier's certificate errors.
            (
                TlsError::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
                    std::io::Error::other("not ours"),
                )))),
                ValidationFailure,
                "certificate-error",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::BadEncoding),
                ValidationFailure,
                "malformed-certificate",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::Expired),
                CertificateExpired,
                "expired",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::ExpiredContext {
                    time: now,
                    not_after: now,
                }),
                CertificateExpired,
                "expired",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::NotValidYet),
                CertificateExpired,
                "not-yet-valid",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::NotValidYetContext {
                    time: now,
                    not_before: now,
                }),
                CertificateExpired,
                "not-yet-valid",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::NotValidForName),
                CertificateHostMismatch,
                "name-mismatch",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::NotValidForNameContext {
                    expected: ServerName::try_from("mx.example.net").unwrap(),
                    presented: vec!["other.example".into()],
                }),
                CertificateHostMismatch,
                "name-mismatch",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::UnknownIssuer),
                CertificateNotTrusted,
                "unknown-issuer",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::BadSignature),
                CertificateNotTrusted,
                "bad-signature",
            ),
            (
                TlsError::InvalidCertificate(
                    CertificateError::UnsupportedSignatureAlgorithmContext {
                        signature_algorithm_id: vec![],
                        supported_algorithms: vec![],
                    },
                ),
                CertificateNotTrusted,
                "unsupported-signature-algorithm",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::Revoked),
                CertificateNotTrusted,
                "revoked",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::UnknownRevocationStatus),
                CertificateNotTrusted,
                "revocation-status",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::ExpiredRevocationList),
                CertificateNotTrusted,
                "revocation-status",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::InvalidOcspResponse),
                CertificateNotTrusted,
                "revocation-status",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::UnhandledCriticalExtension),
                CertificateNotTrusted,
                "unhandled-critical-extension",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::InvalidPurpose),
                CertificateNotTrusted,
                "invalid-purpose",
            ),
            (
                TlsError::InvalidCertificate(CertificateError::ApplicationVerificationFailure),
                ValidationFailure,
                "application-verification-failure",
            ),
            // Alerts from the server: all validation-failure with the alert's number, the
            // certificate alerts included (they are about the client's certificate).
            (
                TlsError::AlertReceived(AlertDescription::HandshakeFailure),
                ValidationFailure,
                "tls-alert-40",
            ),
            (
                TlsError::AlertReceived(AlertDescription::BadCertificate),
                ValidationFailure,
                "tls-alert-42",
            ),
            (
                TlsError::AlertReceived(AlertDescription::CertificateExpired),
                ValidationFailure,
                "tls-alert-45",
            ),
            (
                TlsError::AlertReceived(AlertDescription::UnknownCA),
                ValidationFailure,
                "tls-alert-48",
            ),
            (
                TlsError::AlertReceived(AlertDescription::ProtocolVersion),
                ValidationFailure,
                "tls-alert-70",
            ),
            (
                TlsError::AlertReceived(AlertDescription::InternalError),
                ValidationFailure,
                "tls-alert-80",
            ),
            (
                TlsError::AlertReceived(AlertDescription::Unknown(200)),
                ValidationFailure,
                "tls-alert-200",
            ),
            // The rest of the handshake.
            (
                TlsError::NoCertificatesPresented,
                ValidationFailure,
                "empty-chain",
            ),
            (
                TlsError::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon),
                ValidationFailure,
                "tls-peer-incompatible",
            ),
            (
                TlsError::PeerMisbehaved(PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme),
                ValidationFailure,
                "tls-peer-misbehaved",
            ),
            (
                TlsError::InappropriateMessage {
                    expect_types: vec![],
                    got_type: rustls::ContentType::Alert,
                },
                ValidationFailure,
                "tls-unexpected-message",
            ),
            (
                TlsError::InappropriateHandshakeMessage {
                    expect_types: vec![],
                    got_type: rustls::HandshakeType::Finished,
                },
                ValidationFailure,
                "tls-unexpected-message",
            ),
            (
                TlsError::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                ValidationFailure,
                "tls-invalid-message",
            ),
            (
                TlsError::PeerSentOversizedRecord,
                ValidationFailure,
                "tls-invalid-message",
            ),
            (
                TlsError::DecryptError,
                ValidationFailure,
                "tls-decrypt-error",
            ),
            (
                TlsError::NoApplicationProtocol,
                ValidationFailure,
                "tls-no-application-protocol",
            ),
            (
                TlsError::UnsupportedNameType,
                ValidationFailure,
                "tls-unsupported-name-type",
            ),
            (
                TlsError::General("x".into()),
                ValidationFailure,
                "tls-error",
            ),
            (
                TlsError::HandshakeNotComplete,
                ValidationFailure,
                "tls-error",
            ),
        ];
        for (error, result, code) in table {
            let f = Failure::from_rustls_error(&error);
            assert_eq!(f, Failure::new(result, code), "{error:?}");
            let policy = PolicyDetails::no_policy_found("mx.example.net");
            assert_eq!(
                SessionOutcome::from_rustls_error(policy.clone(), &error),
                SessionOutcome::failed(policy, f.clone())
            );
            // The same through the io::Error tokio-rustls returns.
            let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
            assert_eq!(Failure::from_tls_io_error(&io), Some(f));
        }
        // The DaneVerifier's errors map exactly as the Error table does.
        for e in [
            Error::NoMatch,
            Error::NoPkixRoots,
            Error::NotYetValid { depth: None },
        ] {
            assert_eq!(
                Failure::from_rustls_error(&dane(e.clone())),
                Failure::from_error(&e)
            );
        }
        // An I/O error without a TLS error is not mapped.
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(Failure::from_tls_io_error(&reset), None);
    }

    /// A real (in-memory) handshake: the DaneVerifier refuses the server, and the error
    /// rustls returns maps back to the DANE error.
    #[test]
    fn a_refused_handshake_maps_back_to_the_dane_error() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["mx.example.net".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let other_key = rcgen::KeyPair::generate().unwrap();
        let other = rcgen::CertificateParams::new(vec!["mx.example.net".to_owned()])
            .unwrap()
            .self_signed(&other_key)
            .unwrap();
        let record = Tlsa::from_certificate(
            other.der(),
            crate::CertUsage::DaneEe,
            crate::Selector::Spki,
            crate::Matching::Sha256,
        )
        .unwrap();
        let base = ReferenceName::new("mx.example.net").unwrap();
        let verifier = crate::DaneVerifier::new(
            TlsaSet::new([record]),
            crate::Policy::smtp(base),
            provider.clone(),
        );
        let client_config = Arc::new(verifier.client_config().unwrap());
        let server_config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![cert.der().clone()],
                    rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
                )
                .unwrap(),
        );
        let mut client = ClientConnection::new(
            client_config,
            ServerName::try_from("mx.example.net").unwrap(),
        )
        .unwrap();
        let mut server = ServerConnection::new(server_config).unwrap();
        let error = loop {
            let mut buf = Vec::new();
            client.write_tls(&mut buf).unwrap();
            server.read_tls(&mut &buf[..]).unwrap();
            server.process_new_packets().unwrap();
            let mut buf = Vec::new();
            server.write_tls(&mut buf).unwrap();
            client.read_tls(&mut &buf[..]).unwrap();
            if let Err(e) = client.process_new_packets() {
                break e;
            }
            assert!(client.is_handshaking(), "the handshake must fail");
        };
        assert_eq!(
            Failure::from_rustls_error(&error),
            Failure::from_error(&Error::NoMatch)
        );
    }
}
