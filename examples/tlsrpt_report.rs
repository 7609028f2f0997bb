//! From delivery outcomes to the RFC 8460 report and its delivery forms, offline.
//!
//! Records a day of sessions (successes and a real DANE mismatch from `dane::verify` on
//! generated certificates at `mx1.example.net`, a server without STARTTLS at
//! `mx2.example.net`), drains the day, and for each policy domain prints the report's JSON,
//! writes the gzip'd report under its RFC 8460 §5.1 file name into a temporary directory,
//! and prints the §5.3 `multipart/report` message an MTA would DKIM-sign and send to the
//! domain's `mailto:` rua (or POST, gzip'd, to its `https:` rua).
//!
//! ```text
//! cargo run --features tlsrpt --example tlsrpt_report
//! ```

use std::error::Error;
use std::net::IpAddr;

use dane::pki_types::{CertificateDer, UnixTime};
use dane::tlsrpt::{
    Aggregator, DateTime, MEDIA_TYPE_GZIP, PolicyDetails, ReportMessage, ReportUri,
    ReportingPolicy, SessionOutcome, UtcDay,
};
use dane::{CertUsage, Matching, Policy, ReferenceName, Selector, Tlsa, TlsaSet, verify};

/// The sending side: its domain is the `contact-info` domain and the report's submitter.
const SUBMITTER: &str = "mail.sender.example";
const CONTACT: &str = "mailto:tlsrpt@mail.sender.example";

fn cert(name: &str) -> Result<CertificateDer<'static>, Box<dyn Error>> {
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec![name.to_owned()])?.self_signed(&key)?;
    Ok(cert.der().clone())
}

fn main() -> Result<(), Box<dyn Error>> {
    // mx1 publishes a DANE-EE record for its certificate.
    let mx1 = ReferenceName::new("mx1.example.net")?;
    let served = cert("mx1.example.net")?;
    let record =
        Tlsa::from_certificate(&served, CertUsage::DaneEe, Selector::Spki, Matching::Sha256)?;
    let records = TlsaSet::new([record]);
    let policy = PolicyDetails::tlsa(&mx1, &records);
    // After a key rollover that forgot the DNS, mx1 serves another key.
    let rolled = cert("mx1.example.net")?;

    // The whole of yesterday (UTC), so the day is over when it is drained.
    let day = UtcDay::containing(DateTime::now()).previous();
    let at = |secs: i64| DateTime::from_unix(day.start().unix() + secs);
    let reports = Aggregator::new("Example Sender", CONTACT);
    let now = UnixTime::now();
    let mx1_ip: IpAddr = "192.0.2.25".parse()?;
    for (i, chain) in [&served, &served, &served, &rolled, &rolled]
        .into_iter()
        .enumerate()
    {
        let verdict = verify(
            std::slice::from_ref(chain),
            &records,
            &Policy::smtp(mx1.clone()),
            now,
        );
        let outcome =
            SessionOutcome::from_verification(policy.clone(), &verdict).map_failure(|f| {
                f.with_receiving_mx_hostname("mx1.example.net")
                    .with_receiving_ip(mx1_ip)
            });
        reports.record_at(outcome, at(3600 * i64::try_from(i)?));
    }
    // mx2 has no TLSA records and offers no STARTTLS.
    let mx2 = PolicyDetails::no_policy_found("mx2.example.net");
    for i in 0..2 {
        reports.record_at(
            SessionOutcome::starttls_not_supported(mx2.clone())
                .map_failure(|f| f.with_receiving_mx_hostname("mx2.example.net")),
            at(40_000 + i),
        );
    }

    // Each policy domain publishes its `_smtp._tls` record (looked up with
    // `TlsaResolver::lookup_tlsrpt` when the feature `resolver` is on).
    let rua = ReportingPolicy::parse(
        "v=TLSRPTv1; rua=mailto:tlsrpt@example.net,https://reports.example.net/tlsrpt",
    )?
    .rua;

    let dir = std::env::temp_dir().join(format!("dane-tlsrpt-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for report in reports.drain(day) {
        let domain = report.policy_domain()?;
        println!("=== report for {domain}: JSON (RFC 8460 §4)\n");
        println!("{}\n", serde_json::to_string_pretty(&report)?);

        let name = report.file_name(SUBMITTER, None, true)?;
        let path = dir.join(&name);
        std::fs::write(&path, report.to_gzip()?)?;
        println!("=== written {} ({MEDIA_TYPE_GZIP})\n", path.display());

        for uri in &rua {
            match uri {
                ReportUri::Https(url) => {
                    println!(
                        "=== the MTA POSTs that file to {url}, Content-Type: {MEDIA_TYPE_GZIP}\n"
                    );
                }
                ReportUri::Mailto(_) => {
                    let Some(to) = uri.mailto_address() else {
                        continue;
                    };
                    let message =
                        ReportMessage::new(&report, format!("tlsrpt@{SUBMITTER}"), to, SUBMITTER)
                            .to_bytes()?;
                    println!("=== the message to DKIM-sign and send (RFC 8460 §5.3)\n");
                    println!("{}", String::from_utf8_lossy(&message));
                }
            }
        }
    }
    Ok(())
}
