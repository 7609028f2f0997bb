//! From delivery attempts to the RFC 8460 report, offline: real verdicts of `verify` over
//! generated certificates, recorded from several threads, drained, written as JSON and read
//! back.
#![cfg(feature = "tlsrpt")]

use std::net::IpAddr;
use std::sync::Arc;

use dane::pki_types::{CertificateDer, UnixTime};
use dane::tlsrpt::{Aggregator, DateTime, PolicyDetails, Report, SessionOutcome, UtcDay};
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
