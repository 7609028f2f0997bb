//! From delivery attempts to the RFC 8460 report, offline: real verdicts of `verify` over
//! generated certificates, recorded from several threads, drained, written as JSON and read
//! back.
#![cfg(feature = "tlsrpt")]

use std::net::IpAddr;
use std::sync::Arc;

use dane::pki_types::{CertificateDer, UnixTime};
use dane::tlsrpt::{
    Aggregator, DateTime, Failure, PolicyDetails, PolicyType, Report, ReportMessage,
    SessionOutcome, UtcDay,
};
use dane::{CertUsage, Matching, Policy, ReferenceName, Selector, Tlsa, TlsaSet, verify};
use serde_json::{Value, json};

fn cert(name: &str) -> CertificateDer<'static> {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.self_signed(&key).unwrap().der().clone()
}

#[test]
fn delivery_attempts_become_one_report_per_policy_domain() {
    let mx1 = ReferenceName::new("mx1.example.net").unwrap();
    let good = cert("mx1.example.net");
    let other = cert("mx1.example.net");
    let record =
        Tlsa::from_certificate(&good, CertUsage::DaneEe, Selector::Spki, Matching::Sha256).unwrap();
    let records = TlsaSet::new([record.clone()]);
    let policy = PolicyDetails::tlsa(&mx1, &records);
    let now = UnixTime::now();
    let day_start = 1_459_468_800;

    let agg = Arc::new(Aggregator::new(
        "Example Sender",
        "mailto:tlsrpt@sender.example",
    ));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (agg, policy, records, mx1) = (
                Arc::clone(&agg),
                policy.clone(),
                records.clone(),
                mx1.clone(),
            );
            let (good, other) = (good.clone(), other.clone());
            std::thread::spawn(move || {
                for i in 0..10 {
                    let chain = if i < 7 { &good } else { &other };
                    let verdict = verify(
                        std::slice::from_ref(chain),
                        &records,
                        &Policy::smtp(mx1.clone()),
                        now,
                    );
                    let receiving: IpAddr = "192.0.2.25".parse().unwrap();
                    let outcome = SessionOutcome::from_verification(policy.clone(), &verdict)
                        .map_failure(|f| {
                            f.with_receiving_ip(receiving)
                                .with_receiving_mx_hostname("mx1.example.net")
                        });
                    agg.record_at(outcome, DateTime::from_unix(day_start + t * 3600 + i));
                }
                // mx2 offers no STARTTLS and publishes no TLSA records.
                agg.record_at(
                    SessionOutcome::starttls_not_supported(PolicyDetails::no_policy_found(
                        "mx2.example.net",
                    )),
                    DateTime::from_unix(day_start + 86_399),
                );
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // A session of the next day stays for the next report.
    agg.record_at(
        SessionOutcome::success(policy.clone()),
        DateTime::from_unix(day_start + 86_400),
    );

    let day = UtcDay::containing(DateTime::from_unix(day_start));
    let reports = agg.drain(day);
    assert_eq!(reports.len(), 2);
    let json: Vec<Value> = reports
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    assert_eq!(
        json[0],
        json!({
            "organization-name": "Example Sender",
            "date-range": {
                "start-datetime": "2016-04-01T00:00:00Z",
                "end-datetime": "2016-04-01T23:59:59Z",
            },
            "contact-info": "mailto:tlsrpt@sender.example",
            "report-id": "2016-04-01T00:00:00Z_mx1.example.net",
            "policies": [{
                "policy": {
                    "policy-type": "tlsa",
                    "policy-string": [record.to_string()],
                    "policy-domain": "mx1.example.net",
                },
                "summary": {
                    "total-successful-session-count": 28,
                    "total-failure-session-count": 12,
                },
                "failure-details": [{
                    "result-type": "certificate-not-trusted",
                    "receiving-mx-hostname": "mx1.example.net",
                    "receiving-ip": "192.0.2.25",
                    "failed-session-count": 12,
                    "failure-reason-code": "no-match",
                }],
            }],
        })
    );
    assert_eq!(json[1]["report-id"], "2016-04-01T00:00:00Z_mx2.example.net");
    assert_eq!(
        json[1]["policies"][0],
        json!({
            "policy": {"policy-type": "no-policy-found", "policy-domain": "mx2.example.net"},
            "summary": {"total-successful-session-count": 0, "total-failure-session-count": 4},
            "failure-details": [{
                "result-type": "starttls-not-supported",
                "failed-session-count": 4,
                "failure-reason-code": "starttls-not-offered",
            }],
        })
    );
    // Read back without loss.
    for (r, v) in reports.iter().zip(json) {
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(&back, r);
    }
    assert_eq!(
        agg.windows(),
        [UtcDay::containing(DateTime::from_unix(day_start + 86_400))]
    );
}

/// A day with several policies for one policy domain and failure details of every kind
/// and with every field.
fn rich_report() -> (Report, Tlsa) {
    let mx = ReferenceName::new("mx1.example.net").unwrap();
    let good = cert("mx1.example.net");
    let record =
        Tlsa::from_certificate(&good, CertUsage::DaneEe, Selector::Spki, Matching::Sha256).unwrap();
    let records = TlsaSet::new([record.clone()]);
    let tlsa = PolicyDetails::tlsa(&mx, &records);
    let unknown = PolicyDetails::tlsa_unknown("mx1.example.net");
    let none = PolicyDetails::no_policy_found("mx1.example.net");
    let sts = PolicyDetails {
        policy_type: PolicyType::Sts,
        policy_string: vec!["version: STSv1".into(), "mode: enforce".into()],
        policy_domain: "mx1.example.net".into(),
        mx_host: vec!["mx1.example.net".into(), "*.example.net".into()],
    };
    let day_start = 1_459_468_800;
    let agg = Aggregator::new("Example Sender", "mailto:tlsrpt@sender.example");
    let at = |i: i64| DateTime::from_unix(day_start + i);
    let now = UnixTime::now();
    let policy = Policy::smtp(mx.clone());
    for i in 0..5 {
        let verdict = verify(std::slice::from_ref(&good), &records, &policy, now);
        agg.record_at(
            SessionOutcome::from_verification(tlsa.clone(), &verdict),
            at(i),
        );
    }
    let mismatch = verify(&[cert("mx1.example.net")], &records, &policy, now);
    let sending: IpAddr = "2001:db8::25".parse().unwrap();
    let receiving: IpAddr = "192.0.2.25".parse().unwrap();
    agg.record_at(
        SessionOutcome::from_verification(tlsa.clone(), &mismatch).map_failure(|f| {
            f.with_sending_mta_ip(sending)
                .with_receiving_ip(receiving)
                .with_receiving_mx_hostname("mx1.example.net")
                .with_receiving_mx_helo("mx1.example.net.helo")
                .with_additional_information("https://sender.example/tlsrpt/1")
        }),
        at(10),
    );
    agg.record_at(
        SessionOutcome::tls_alert(tlsa.clone(), 40)
            .map_failure(|f| f.with_receiving_ip("2001:db8::53".parse().unwrap())),
        at(11),
    );
    agg.record_at(
        SessionOutcome::failed(
            unknown.clone(),
            Failure::new(dane::TlsRptResult::DnssecInvalid, "dns-bogus"),
        ),
        at(12),
    );
    for i in 0..3 {
        agg.record_at(
            SessionOutcome::starttls_not_supported(none.clone()),
            at(20 + i),
        );
    }
    agg.record_at(SessionOutcome::success(none), at(30));
    agg.record_at(SessionOutcome::success(sts.clone()), at(31));
    agg.record_at(
        SessionOutcome::failed(
            sts,
            Failure {
                result_type: dane::tlsrpt::ResultType::StsWebpkiInvalid,
                failure_reason_code: None,
                ..Failure::new(dane::TlsRptResult::ValidationFailure, "")
            },
        ),
        at(32),
    );
    let day = UtcDay::containing(DateTime::from_unix(day_start));
    let mut reports = agg.drain(day);
    assert_eq!(reports.len(), 1);
    (reports.remove(0), record)
}

/// Every field of ours against mail-auth's reading of it.
fn assert_same(ours: &Report, theirs: &mail_auth::report::tlsrpt::TlsReport) {
    use mail_auth::report::tlsrpt as ma;
    assert_eq!(
        theirs.organization_name.as_deref(),
        Some(&*ours.organization_name)
    );
    assert_eq!(theirs.contact_info.as_deref(), Some(&*ours.contact_info));
    assert_eq!(theirs.report_id, ours.report_id);
    assert_eq!(
        theirs.date_range.start_datetime.to_timestamp(),
        ours.date_range.start_datetime.unix()
    );
    assert_eq!(
        theirs.date_range.end_datetime.to_timestamp(),
        ours.date_range.end_datetime.unix()
    );
    assert_eq!(theirs.policies.len(), ours.policies.len());
    for (t, o) in theirs.policies.iter().zip(&ours.policies) {
        let want_type = match o.policy.policy_type {
            PolicyType::Tlsa => ma::PolicyType::Tlsa,
            PolicyType::Sts => ma::PolicyType::Sts,
            PolicyType::NoPolicyFound => ma::PolicyType::NoPolicyFound,
            _ => ma::PolicyType::Other,
        };
        assert_eq!(t.policy.policy_type, want_type);
        assert_eq!(t.policy.policy_string, o.policy.policy_string);
        assert_eq!(t.policy.policy_domain, o.policy.policy_domain);
        assert_eq!(t.policy.mx_host, o.policy.mx_host);
        assert_eq!(
            u64::from(t.summary.total_success),
            o.summary.total_successful_session_count
        );
        assert_eq!(
            u64::from(t.summary.total_failure),
            o.summary.total_failure_session_count
        );
        assert_eq!(t.failure_details.len(), o.failure_details.len());
        for (tf, of) in t.failure_details.iter().zip(&o.failure_details) {
            // mail-auth's result types serialise to the registry's strings.
            assert_eq!(
                serde_json::to_value(tf.result_type).unwrap(),
                of.failure.result_type.as_str()
            );
            assert_eq!(tf.sending_mta_ip, of.failure.sending_mta_ip);
            assert_eq!(tf.receiving_mx_hostname, of.failure.receiving_mx_hostname);
            assert_eq!(tf.receiving_mx_helo, of.failure.receiving_mx_helo);
            assert_eq!(tf.receiving_ip, of.failure.receiving_ip);
            assert_eq!(tf.additional_information, of.failure.additional_information);
            assert_eq!(tf.failure_reason_code, of.failure.failure_reason_code);
            assert_eq!(u64::from(tf.failed_session_count), of.failed_session_count);
        }
    }
}

#[test]
fn mail_auth_reads_our_json_gzip_and_message_field_by_field() {
    use mail_auth::report::tlsrpt::TlsReport;
    use std::io::Read;

    let (report, record) = rich_report();
    // What the report holds, so the comparison below compares something.
    let kinds: Vec<(&str, usize)> = report
        .policies
        .iter()
        .map(|p| (p.policy.policy_type.as_str(), p.failure_details.len()))
        .collect();
    assert_eq!(
        kinds,
        [("no-policy-found", 1), ("sts", 1), ("tlsa", 1), ("tlsa", 2)],
        "{report:#?}"
    );
    let tlsa = &report.policies[3];
    assert_eq!(tlsa.policy.policy_string, [record.to_string()]);
    assert_eq!(tlsa.summary.total_successful_session_count, 5);
    let every_field = &tlsa.failure_details[0].failure;
    assert!(every_field.sending_mta_ip.is_some() && every_field.receiving_mx_helo.is_some());
    assert!(every_field.additional_information.is_some());

    // JSON.
    let json = report.to_json().unwrap();
    let theirs = TlsReport::parse_json(json.as_bytes()).unwrap();
    assert_same(&report, &theirs);

    // gzip: decompresses to the same JSON, which mail-auth reads the same.
    let gz = report.to_gzip().unwrap();
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, json);

    // The message: mail-auth finds the attachment, decompresses and reads it.
    let message = ReportMessage::new(
        &report,
        "tlsrpt@sender.example",
        "tlsrpt@example.net",
        "sender.example",
    )
    .to_bytes()
    .unwrap();
    let from_message = TlsReport::parse_rfc5322(&message, 1 << 20).unwrap();
    assert_eq!(from_message, theirs);
    assert_same(&report, &from_message);
    // And ours reads back what it wrote.
    assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
}
