//! TLS reporting end to end against the DNSSEC lab (`tests/lab/lab.sh`): the SMTP path
//! (MX and TLSA lookups through the resolver, EHLO, STARTTLS, a rustls handshake with
//! `DaneVerifier`) over the lab's scenarios, each session recorded, and the drained day
//! compared policy by policy, count by count, result type by result type.
//!
//! Scenarios: match and mismatch (`secure.dane.test`, its server serving its own or
//! another lab certificate), a server without STARTTLS (same policy), bogus TLSA
//! (`bogus.dane.test`), a bogus zone (`expired.dane.test`: the MX lookup fails), and an
//! insecure zone (`insecure.dane.test`: opportunistic TLS). The SMTP servers are loopback
//! responders started here; the lab's names are resolved, but each target's connection goes
//! to the responder of its scenario.
//!
//! Reads the lab's `LAB_*` variables (`.ci/run` exports them). Without them the test
//! returns early with a loud message on a developer machine; with `CI=true` it fails.
#![cfg(all(feature = "tlsrpt", feature = "resolver", feature = "rustls"))]

#[path = "common/smtp.rs"]
mod smtp;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dane::pki_types::pem::PemObject;
use dane::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use dane::resolver::{
    DaneStatus, ServerSettings, TlsaResolver, TrustAnchor, TrustedAdSource, ValidatingSource,
};
use dane::tlsrpt::{Aggregator, DateTime, PolicyDetails, SessionOutcome, UtcDay};
use dane::{
    CertUsage, DaneVerifier, Matching, Policy, ReferenceName, Selector, Tlsa, TlsaSet, danger,
};
use rustls::{ClientConnection, StreamOwned};
use serde_json::{Value, json};
use smtp::{Smtp, SmtpServer, read_line, server_config};

struct Lab {
    auth: SocketAddr,
    resolver: SocketAddr,
    ds: String,
    certs: PathBuf,
}

fn lab() -> Option<Lab> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(auth), Some(resolver), Some(ds), Some(certs)) = (
        var("LAB_AUTH"),
        var("LAB_RESOLVER"),
        var("LAB_ANCHOR_DS"),
        var("LAB_CERTS"),
    ) else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "CI=true but the DNSSEC lab is not configured (LAB_* variables missing): run tests/lab/lab.sh up"
            );
        }
        eprintln!(
            "\n*** tlsrpt_lab: DNSSEC lab not running (LAB_* unset); SKIPPING. Run: bash tests/lab/lab.sh up, then source $LAB_DIR/env ***\n"
        );
        return None;
    };
    Some(Lab {
        auth: auth.parse().expect("LAB_AUTH"),
        resolver: resolver.parse().expect("LAB_RESOLVER"),
        ds: std::fs::read_to_string(ds).expect("LAB_ANCHOR_DS"),
        certs: certs.into(),
    })
}

impl Lab {
    fn leaf(&self, name: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(self.certs.join(name).join("cert.pem")).unwrap()
    }

    /// An SMTP responder serving the lab certificate `name` (leaf + intermediate).
    fn smtp(&self, name: &str, offer_starttls: bool) -> SmtpServer {
        let dir = self.certs.join(name);
        let chain = CertificateDer::pem_file_iter(dir.join("chain.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
        SmtpServer::start(Smtp {
            offer_starttls,
            ..Smtp::new(server_config(chain, key))
        })
    }
}

fn settings(addr: SocketAddr, recursion: bool) -> ServerSettings {
    ServerSettings {
        servers: vec![addr],
        timeout: Duration::from_secs(3),
        attempts: 2,
        recursion_desired: recursion,
    }
}

/// How the SMTP client's session ended.
enum Session {
    Verified,
    NoStarttls,
    Tls(rustls::Error),
}

/// EHLO, STARTTLS if offered, the handshake with `verifier` under `sni`, QUIT.
fn smtp_session(addr: SocketAddr, verifier: &DaneVerifier, sni: &str) -> io::Result<Session> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = &tcp;
    let mut reply = || -> io::Result<Vec<String>> {
        let mut lines = Vec::new();
        loop {
            let line = read_line(&mut reader)?.ok_or(io::ErrorKind::UnexpectedEof)?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line);
            if !more {
                return Ok(lines);
            }
        }
    };
    reply()?;
    (&tcp).write_all(b"EHLO client.example.org\r\n")?;
    let ehlo = reply()?;
    if !ehlo.iter().any(|l| {
        l.get(4..)
            .is_some_and(|k| k.eq_ignore_ascii_case("STARTTLS"))
    }) {
        (&tcp).write_all(b"QUIT\r\n")?;
        return Ok(Session::NoStarttls);
    }
    (&tcp).write_all(b"STARTTLS\r\n")?;
    if !reply()?[0].starts_with("220") {
        return Ok(Session::NoStarttls);
    }
    let config = Arc::new(verifier.client_config().map_err(io::Error::other)?);
    let name = ServerName::try_from(sni.to_owned()).map_err(io::Error::other)?;
    let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            return match e
                .into_inner()
                .and_then(|i| i.downcast::<rustls::Error>().ok())
            {
                Some(tls_error) => Ok(Session::Tls(*tls_error)),
                None => Err(io::Error::other("handshake I/O error")),
            };
        }
    }
    tls.write_all(b"QUIT\r\n")?;
    Ok(Session::Verified)
}

/// The SMTP path for `domain`: its plan, then one session per target (to `server`),
/// each recorded in `reports` at `at`.
async fn deliver<S: dane::resolver::DnsSource>(
    resolver: &TlsaResolver<S>,
    domain: &str,
    server: Option<SocketAddr>,
    reports: &Aggregator,
    at: DateTime,
) {
    let plan = match resolver.smtp_targets(domain, 25).await {
        Ok(plan) => plan,
        Err(e) => {
            // The MX lookup failed: nothing to connect to, the domain's policy unknown.
            reports.record_at(SessionOutcome::from_lookup_error(domain, &e), at);
            return;
        }
    };
    for target in &plan.targets {
        let host = target.host.to_ascii();
        let host = host.trim_end_matches('.');
        if let Some(outcome) = SessionOutcome::from_status(&target.status, host) {
            reports.record_at(outcome, at);
            continue;
        }
        let policy = PolicyDetails::for_status(&target.status, host);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (verifier, sni) = match &target.status {
            DaneStatus::Required { tlsa, policy, sni } => (
                DaneVerifier::new(tlsa.clone(), policy.clone(), provider),
                sni.as_str().to_owned(),
            ),
            // Opportunistic TLS: encrypt, authenticate nothing (no records at all).
            _ => (
                DaneVerifier::new(
                    TlsaSet::new([]),
                    Policy::smtp(ReferenceName::new(host).unwrap()),
                    provider,
                )
                .with_no_usable_records(danger::accept_unauthenticated()),
                host.to_owned(),
            ),
        };
        let addr = server.expect("a scenario with targets has a server");
        let outcome = match smtp_session(addr, &verifier, &sni).unwrap() {
            Session::Verified => SessionOutcome::success(policy),
            Session::NoStarttls => SessionOutcome::starttls_not_supported(policy),
            Session::Tls(e) => SessionOutcome::from_rustls_error(policy, &e),
        };
        reports.record_at(
            outcome.map_failure(|f| f.with_receiving_mx_hostname(host)),
            at,
        );
    }
}

#[tokio::test]
async fn smtp_sessions_over_the_lab_scenarios_become_the_expected_report() {
    let Some(lab) = lab() else { return };
    let good = lab.smtp("mx.secure", true);
    let impostor = lab.smtp("mx.insecure", true);
    let plaintext = lab.smtp("mx.secure", false);
    let insecure = lab.smtp("mx.insecure", true);

    let nsd = settings(lab.auth, false);
    let local = TlsaResolver::new(
        ValidatingSource::connect(&nsd, &TrustAnchor::DsText(lab.ds.clone()))
            .await
            .unwrap(),
    );
    let ad = TlsaResolver::new(
        TrustedAdSource::connect(settings(lab.resolver, true), "dane.test")
            .await
            .unwrap(),
    );
    let day = UtcDay::containing(DateTime::from_unix(1_700_000_000));
    for (mode, bogus_code) in [("local+ds", "dns-bogus"), ("trusted-ad", "dns-servfail")] {
        let reports = Aggregator::new("Lab Sender", "mailto:tlsrpt@sender.example");
        let scenarios: [(&str, Option<&SmtpServer>); 6] = [
            ("secure.dane.test", Some(&good)),
            ("secure.dane.test", Some(&impostor)),
            ("secure.dane.test", Some(&plaintext)),
            ("bogus.dane.test", None),
            ("expired.dane.test", None),
            ("insecure.dane.test", Some(&insecure)),
        ];
        for (i, (domain, server)) in scenarios.into_iter().enumerate() {
            let at = DateTime::from_unix(day.start().unix() + i64::try_from(i).unwrap());
            let server = server.map(|s| s.addr);
            if mode == "local+ds" {
                deliver(&local, domain, server, &reports, at).await;
            } else {
                deliver(&ad, domain, server, &reports, at).await;
            }
        }
        let got: Vec<Value> = reports
            .drain(day)
            .iter()
            .map(|r| serde_json::to_value(r).unwrap()["policies"].clone())
            .collect();
        // The lab publishes 3 1 1 and 3 1 2 of mx.secure's key; the report lists them in
        // canonical order whatever order the resolver returned them in.
        let leaf = lab.leaf("mx.secure");
        let secure_rrset: Vec<String> = [Matching::Sha256, Matching::Sha512]
            .map(|m| {
                Tlsa::from_certificate(&leaf, CertUsage::DaneEe, Selector::Spki, m)
                    .unwrap()
                    .to_string()
            })
            .into();
        let want = [
            // expired.dane.test: the MX lookup itself fails.
            json!([{
                "policy": {"policy-type": "tlsa", "policy-domain": "expired.dane.test"},
                "summary": {"total-successful-session-count": 0, "total-failure-session-count": 1},
                "failure-details": [{
                    "result-type": "dnssec-invalid",
                    "failure-reason-code": bogus_code,
                    "failed-session-count": 1,
                }],
            }]),
            // mx.bogus: the TLSA RRset is bogus.
            json!([{
                "policy": {"policy-type": "tlsa", "policy-domain": "mx.bogus.dane.test"},
                "summary": {"total-successful-session-count": 0, "total-failure-session-count": 1},
                "failure-details": [{
                    "result-type": "dnssec-invalid",
                    "failure-reason-code": bogus_code,
                    "failed-session-count": 1,
                }],
            }]),
            // mx.insecure: no DANE, opportunistic TLS succeeded.
            json!([{
                "policy": {"policy-type": "no-policy-found", "policy-domain": "mx.insecure.dane.test"},
                "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0},
                "failure-details": [],
            }]),
            // mx.secure: one match, one impostor, one server without STARTTLS.
            json!([{
                "policy": {
                    "policy-type": "tlsa",
                    "policy-string": secure_rrset,
                    "policy-domain": "mx.secure.dane.test",
                },
                "summary": {"total-successful-session-count": 1, "total-failure-session-count": 2},
                "failure-details": [
                    {
                        "result-type": "certificate-not-trusted",
                        "receiving-mx-hostname": "mx.secure.dane.test",
                        "failure-reason-code": "no-match",
                        "failed-session-count": 1,
                    },
                    {
                        "result-type": "starttls-not-supported",
                        "receiving-mx-hostname": "mx.secure.dane.test",
                        "failure-reason-code": "starttls-not-offered",
                        "failed-session-count": 1,
                    },
                ],
            }]),
        ];
        assert_eq!(got, want, "{mode}: {got:#?}");
    }
    // The servers saw what the report says: EHLO and STARTTLS, or EHLO only.
    assert!(good.transcript().contains(&"STARTTLS".to_owned()));
    assert!(!plaintext.transcript().contains(&"STARTTLS".to_owned()));
}
