//! `danecheck audit` (feature `cli`): each warning where it appears and where it does not,
//! the exit statuses, text and `--json`:
//! - against the in-process signed DNS server of `tests/common/dns.rs` and loopback SMTP
//!   and TLS servers (`tests/common/smtp.rs`) with certificates generated at test time;
//! - against the NSD + Unbound lab (`tests/lab/`) when `LAB_RESOLVER` is set, in both trust
//!   modes (a loud skip without it; a failure with `CI=true`).
#![cfg(feature = "cli")]

mod common;
use common::cli::{Run, rec};
use common::dns::{self, TestDns, ZoneSet};
use common::pki::{Alg, Cert, Hierarchy, Spec};
use common::smtp::{Smtp, SmtpServer, server_config, smtp_session, tls_server};

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use dane::pki_types::pem::PemObject;
use dane::pki_types::{CertificateDer, PrivateKeyDer};
use hickory_proto::rr::RecordType;
use serde_json::Value;

// ------------------------------------------------------------------------------ harness

fn danecheck<S: AsRef<str>>(args: &[S]) -> Run {
    common::cli::run(args)
}

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The warning codes of an `audit --json` report, in order.
fn codes(j: &Value) -> Vec<String> {
    j["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w["code"].as_str().expect("code").to_owned())
        .collect()
}

/// The note codes of an `audit --json` report.
fn notes(j: &Value) -> Vec<String> {
    j["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|w| w["code"].as_str().expect("code").to_owned())
        .collect()
}

fn has(j: &Value, code: &str) -> bool {
    codes(j).iter().any(|c| c == code)
}

/// The date `days` from today, for certificate validity.
fn days_from_now(days: i64) -> (i32, u8, u8) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let z = secs / 86_400 + days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as u8, d as u8)
}

/// Two SMTP servers on one port, at 127.0.0.1 and 127.0.0.2, with their own certificates;
/// `None` where 127.0.0.2 is not a local address (macOS without an alias).
fn smtp_pair(first: Smtp, second: Smtp) -> Option<u16> {
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        let b = match TcpListener::bind(("127.0.0.2", port)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => return None,
            Err(_) => continue,
        };
        for (listener, behaviour) in [(a, first), (b, second)] {
            std::thread::spawn(move || {
                let log = Mutex::new(Vec::new());
                for tcp in listener.incoming().flatten() {
                    let _ = tcp.set_read_timeout(Some(common::smtp::SERVER_TIMEOUT));
                    let _ = tcp.set_write_timeout(Some(common::smtp::SERVER_TIMEOUT));
                    let _ = smtp_session(tcp, &behaviour, &log);
                }
            });
        }
        return Some(port);
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

// ------------------------------------------------------------------------------ fixture

struct Fixture {
    dns: TestDns,
    _runtime: tokio::runtime::Runtime,
    /// Sends leaf + intermediate of the PKI.
    good: SmtpServer,
    /// Sends leaf + intermediate + root.
    full: SmtpServer,
    /// A leaf under the same intermediate that expires in two days.
    soon: SmtpServer,
    /// TLS (HTTPS) with leaf + intermediate.
    https: SocketAddr,
    /// The port of `mx-split` (different keys at .1 and .2) and `mx-twin` (the same);
    /// `None` without 127.0.0.2.
    split_port: Option<u16>,
    twin_port: Option<u16>,
    anchor: String,
}

const HOSTS: &[&str] = &[
    "mx-ee.secure.dane.test",
    "mx-roll.secure.dane.test",
    "mx-ta.secure.dane.test",
    "mx-root.secure.dane.test",
    "mx-rootkey.secure.dane.test",
    "mx-full.secure.dane.test",
    "mx-sha512.secure.dane.test",
    "mx-mixed.secure.dane.test",
    "mx-unauth.secure.dane.test",
    "mx-soon.secure.dane.test",
    "mx-soonta.secure.dane.test",
    "mx-split.secure.dane.test",
    "mx-twin.secure.dane.test",
    "www.secure.dane.test",
];

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let pki = Hierarchy::new(Alg::P256, HOSTS);
        let tls = server_config(pki.chain2(), pki.leaf.private_key());
        let good = SmtpServer::start(Smtp::new(tls.clone()));
        let full = SmtpServer::start(Smtp::new(server_config(
            pki.chain3(),
            pki.leaf.private_key(),
        )));
        let soon_leaf = pki
            .intermediate
            .issue(&Spec::leaf(HOSTS).valid((2025, 1, 1), days_from_now(2)));
        let soon = SmtpServer::start(Smtp::new(server_config(
            vec![soon_leaf.der.clone(), pki.intermediate.der.clone()],
            soon_leaf.private_key(),
        )));
        let https = tls_server(tls.clone());
        let next = Cert::self_signed(&Spec::leaf(HOSTS));
        let other = pki.intermediate.issue(&Spec::leaf(HOSTS));
        let split_port = smtp_pair(
            Smtp::new(tls.clone()),
            Smtp::new(server_config(
                vec![other.der.clone(), pki.intermediate.der.clone()],
                other.private_key(),
            )),
        );
        let twin_port = smtp_pair(Smtp::new(tls.clone()), Smtp::new(tls.clone()));

        let leaf311 = rec(&pki.leaf.der, 3, 1, 1);
        let mut z = ZoneSet::new();
        let mut host = |label: &str, records: &[String], ttl: u32| {
            let mx = format!("mx-{label}");
            z.add_str(
                "secure",
                label,
                300,
                RecordType::MX,
                &format!("10 {mx}.secure.dane.test."),
            );
            z.add_str("secure", &mx, 300, RecordType::A, "127.0.0.1");
            for r in records {
                z.add_str(
                    "secure",
                    &format!("_25._tcp.{mx}"),
                    ttl,
                    RecordType::TLSA,
                    r,
                );
            }
        };
        host("ee", std::slice::from_ref(&leaf311), 300);
        host(
            "roll",
            &[
                leaf311.clone(),
                rec(&next.der, 3, 1, 1),
                rec(&pki.intermediate.der, 2, 1, 1),
            ],
            300,
        );
        host("ta", &[rec(&pki.intermediate.der, 2, 1, 1)], 300);
        host(
            "root",
            &[
                rec(&pki.root.der, 2, 0, 1),
                rec(&pki.intermediate.der, 2, 1, 1),
            ],
            300,
        );
        host("rootkey", &[rec(&pki.root.der, 2, 1, 0)], 300);
        host("full", &[rec(&pki.leaf.der, 3, 0, 1)], 300);
        host("sha512", &[rec(&pki.leaf.der, 3, 1, 2)], 300);
        host(
            "mixed",
            &[rec(&pki.leaf.der, 255, 1, 1), leaf311.clone()],
            300,
        );
        host("unauth", &[rec(&pki.leaf.der, 255, 1, 1)], 300);
        // Thirty days of TTL for a certificate that expires in two.
        host("soon", &[rec(&soon_leaf.der, 3, 1, 1)], 30 * 86_400);
        host("soonta", &[rec(&pki.intermediate.der, 2, 1, 1)], 300);
        let pairs = [("split", split_port), ("twin", twin_port)];
        for (label, port) in pairs.into_iter().filter_map(|(l, p)| Some((l, p?))) {
            let mx = format!("mx-{label}");
            z.add_str(
                "secure",
                label,
                300,
                RecordType::MX,
                &format!("10 {mx}.secure.dane.test."),
            );
            z.add_str("secure", &mx, 300, RecordType::A, "127.0.0.1");
            z.add_str("secure", &mx, 300, RecordType::A, "127.0.0.2");
            let owner = format!("_{port}._tcp.{mx}");
            z.add_str("secure", &owner, 300, RecordType::TLSA, &leaf311);
        }
        z.add_str("secure", "www", 300, RecordType::A, "127.0.0.1");
        let r = rec(&pki.intermediate.der, 2, 1, 1);
        z.add_str("secure", "_443._tcp.www", 300, RecordType::TLSA, &r);
        // No DANE, and a bogus one.
        z.add_str(
            "insecure",
            "@",
            300,
            RecordType::MX,
            "10 mx.insecure.dane.test.",
        );
        z.add_str("insecure", "mx", 300, RecordType::A, "127.0.0.1");
        z.add_str("bogus", "@", 300, RecordType::MX, "10 mx.bogus.dane.test.");
        z.add_str("bogus", "mx", 300, RecordType::A, "127.0.0.1");
        z.add_str("bogus", "_25._tcp.mx", 300, RecordType::TLSA, &leaf311);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dns = runtime.block_on(dns::start(z));
        // In cargo's directory for test files (a static is never dropped, so a temporary
        // directory would stay behind after every run).
        let anchor =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("danecheck_audit-dane.test.ds");
        std::fs::write(&anchor, &dns.ds_zone_file).expect("write the trust anchor");
        let anchor = anchor.to_str().expect("UTF-8 path").to_owned();
        Fixture {
            dns,
            _runtime: runtime,
            good,
            full,
            soon,
            https,
            split_port,
            twin_port,
            anchor,
        }
    })
}

/// `audit --resolver <fixture> --trust-anchor <DS> --timeout 5 args…`.
fn audit(args: &[&str]) -> Run {
    let f = fixture();
    let server = f.dns.addr.to_string();
    let mut all = vec![
        "audit",
        "--resolver",
        &server,
        "--trust-anchor",
        &f.anchor,
        "--timeout",
        "5",
    ];
    all.extend_from_slice(args);
    danecheck(&all)
}

/// `audit --json --connect SERVER args…`, its exit status and its report.
fn audit_json(server: &SmtpServer, args: &[&str]) -> (i32, Value) {
    let addr = server.addr.to_string();
    let mut all = vec!["--json", "--connect", &addr];
    all.extend_from_slice(args);
    let run = audit(&all);
    assert!(run.stderr.is_empty(), "{run:?}");
    (run.code, run.json())
}

// -------------------------------------------------------------------------------- tests

#[test]
fn a_single_dane_ee_key_is_no_rollover() {
    let f = fixture();
    let (code, j) = audit_json(&f.good, &["--warn-days", "0", "ee.secure.dane.test"]);
    assert_eq!(code, 5, "{j}");
    assert_eq!(codes(&j), ["no-rollover"], "{j}");
    assert_eq!(j["status"], "warnings");
    assert_eq!(j["service"], "smtp");
    assert_eq!(j["mx"]["status"], "secure");
    let host = &j["hosts"][0];
    assert_eq!(host["host"], "mx-ee.secure.dane.test");
    assert_eq!(host["status"], "dane");
    assert_eq!(host["steps"][0]["rtype"], "A");
    assert_eq!(host["steps"][0]["status"], "secure");
    assert_eq!(host["tlsa"]["records"][0]["usable"], true);
    assert!(
        host["tlsa"]["signature_expiration"].as_u64().is_some(),
        "{j}"
    );
    assert_eq!(host["tlsa"]["zone_ttl"], 300);
    let address = &host["addresses"][0];
    assert_eq!(address["address"], "127.0.0.1:25");
    assert_eq!(address["connected_to"], f.good.addr.to_string());
    assert_eq!(address["verified"], true);
    assert_eq!(address["usage"], 3);
    assert_eq!(address["chain"].as_array().unwrap().len(), 2);
    let m = &address["matches"][0];
    assert_eq!(m["matches"], true);
    assert_eq!(m["depth"], 0);
    assert_eq!(m["authenticates"], true);
    assert_eq!(j["warnings"][0]["addresses"][0], "127.0.0.1:25");
}

#[test]
fn current_and_next_key_with_dane_ta_is_a_rollover() {
    let f = fixture();
    let (code, j) = audit_json(&f.good, &["--warn-days", "0", "roll.secure.dane.test"]);
    assert_eq!(code, 0, "{j}");
    assert!(codes(&j).is_empty(), "{j}");
    assert_eq!(j["status"], "verified");
    let matches = &j["hosts"][0]["addresses"][0]["matches"];
    assert_eq!(matches[0]["matches"], true);
    assert_eq!(matches[1]["matches"], false, "the next key");
    assert_eq!(matches[1]["authenticates"], false);
    assert_eq!(matches[2]["depth"], 1, "the intermediate");
    assert_eq!(matches[2]["authenticates"], true);

    // DANE-TA alone survives a key change too.
    let (code, j) = audit_json(&f.good, &["--warn-days", "0", "ta.secure.dane.test"]);
    assert_eq!(code, 0, "{j}");
    assert!(codes(&j).is_empty(), "{j}");

    // In words.
    let addr = f.good.addr.to_string();
    let run = audit(&[
        "--warn-days",
        "0",
        "--connect",
        &addr,
        "roll.secure.dane.test",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("audit roll.secure.dane.test (SMTP, port 25)\n"),
        "{run:?}"
    );
    assert!(run.stdout.contains("\nwarnings: none\n"), "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "  127.0.0.1:25 (via {addr}): verified by 3 1 1 at depth 0\n"
        )),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("    record [2]: matches at depth 1, authenticates\n"),
        "{run:?}"
    );
    assert!(
        run.stdout.ends_with("result: verified (exit status 0)\n"),
        "{run:?}"
    );
    for line in [
        "MX roll.secure.dane.test: secure: 10 mx-roll.secure.dane.test. (ttl ",
        "  A mx-roll.secure.dane.test: secure: 127.0.0.1 (ttl ",
        "  TLSA _25._tcp.mx-roll.secure.dane.test: secure: 3 record(s) (ttl ",
        "  TLSA RRset _25._tcp.mx-roll.secure.dane.test: ttl ",
        "    [1] 3 1 1 ",
        "    record [1]: does not match\n",
        "    chain 1: CN=Test Intermediate CA (issuer CN=Test Root CA; expires 2040-01-01T00:00:00Z",
    ] {
        assert!(run.stdout.contains(line), "{line:?}: {run:?}");
    }
    let run = audit(&[
        "--warn-days",
        "0",
        "--connect",
        &addr,
        "ee.secure.dane.test",
    ]);
    assert_eq!(run.code, 5, "{run:?}");
    assert!(
        run.stdout.contains(
            "\nwarnings: 1\n  [no-rollover] mx-ee.secure.dane.test (127.0.0.1:25): every record \
             that matches depends on the current leaf key"
        ),
        "{run:?}"
    );
    assert!(
        run.stdout.ends_with("result: warnings (exit status 5)\n"),
        "{run:?}"
    );
}

#[test]
fn dane_ta_records_whose_anchor_is_not_sent() {
    let f = fixture();
    // 2 0 1 of the root, which the server does not send; the 2 1 1 matches.
    let (code, j) = audit_json(&f.good, &["--warn-days", "0", "root.secure.dane.test"]);
    assert_eq!(code, 5, "{j}");
    assert_eq!(codes(&j), ["ta-not-in-chain"], "{j}");
    assert!(
        j["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("record [0] 2 0 1"),
        "{j}"
    );
    // The server that sends its root: no warning.
    let (code, j) = audit_json(&f.full, &["--warn-days", "0", "root.secure.dane.test"]);
    assert_eq!(code, 0, "{j}");
    assert!(codes(&j).is_empty(), "{j}");
    assert_eq!(j["hosts"][0]["addresses"][0]["matches"][0]["depth"], 2);
    // 2 1 0: the root's key from DNS, matched as a bare key.
    let (code, j) = audit_json(&f.good, &["--warn-days", "0", "rootkey.secure.dane.test"]);
    assert_eq!(code, 5, "{j}");
    assert_eq!(codes(&j), ["ta-not-in-chain"], "{j}");
    assert!(
        j["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("matches only as a key taken from DNS"),
        "{j}"
    );
    let (code, j) = audit_json(&f.full, &["--warn-days", "0", "rootkey.secure.dane.test"]);
    assert_eq!(code, 0, "{j}");
    assert!(codes(&j).is_empty(), "{j}");
}

#[test]
fn full_certificate_sha512_only_and_unusable_records() {
    let f = fixture();
    let (code, j) = audit_json(&f.good, &["--warn-days", "0", "full.secure.dane.test"]);
    assert_eq!(code, 5, "{j}");
    assert_eq!(codes(&j), ["dane-ee-cert", "no-rollover"], "{j}");

    let (code, j) = audit_json(&f.good, &["--warn-days", "0", "sha512.secure.dane.test"]);
    assert_eq!(code, 5, "{j}");
    assert_eq!(codes(&j), ["no-sha256", "no-rollover"], "{j}");

    let (code, j) = audit_json(&f.good, &["--warn-days", "0", "mixed.secure.dane.test"]);
    assert_eq!(code, 5, "{j}");
    assert_eq!(codes(&j), ["unusable-record", "no-rollover"], "{j}");
    assert_eq!(
        j["hosts"][0]["tlsa"]["records"][0]["unusable"],
        "unknown-usage"
    );

    // Only unusable records: TLS without authentication, no DANE.
    let (code, j) = audit_json(&f.good, &["--warn-days", "0", "unauth.secure.dane.test"]);
    assert_eq!(code, 3, "{j}");
    assert_eq!(codes(&j), ["unusable-record"], "{j}");
    assert_eq!(j["status"], "no-dane");
    assert_eq!(j["hosts"][0]["status"], "tls-unauthenticated");
    let address = &j["hosts"][0]["addresses"][0];
    assert_eq!(address["error"], "no-usable-records");
    assert_eq!(address["matches"][0]["matches"], true, "the data matches");
    assert_eq!(address["matches"][0]["usable"], false);

    // None of these where they do not apply (the 3 1 1 of `ee`).
    let (_, j) = audit_json(&f.good, &["--warn-days", "0", "ee.secure.dane.test"]);
    for code in [
        "dane-ee-cert",
        "no-sha256",
        "unusable-record",
        "ta-not-in-chain",
    ] {
        assert!(!has(&j, code), "{code}: {j}");
    }
}

#[test]
fn signature_expiry() {
    let f = fixture();
    // The fixture signs for a day: within the default 14 days.
    let (code, j) = audit_json(&f.good, &["roll.secure.dane.test"]);
    assert_eq!(code, 5, "{j}");
    assert_eq!(codes(&j), ["rrsig-expiring"], "{j}");
    let expiration = j["hosts"][0]["tlsa"]["signature_expiration"]
        .as_u64()
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(expiration > now && expiration <= now + 86_400 + 60, "{j}");
    let (code, j) = audit_json(&f.good, &["--warn-days", "0", "roll.secure.dane.test"]);
    assert_eq!(code, 0, "{j}");
    assert!(!has(&j, "rrsig-expiring"), "{j}");
}

#[test]
fn certificate_expiry_and_ttl() {
    let f = fixture();
    // DANE-TA: the leaf's expiry counts.
    let (code, j) = audit_json(&f.soon, &["--warn-days", "7", "soonta.secure.dane.test"]);
    assert_eq!(code, 5, "{j}");
    assert!(has(&j, "cert-expiring"), "{j}");
    assert!(!has(&j, "ttl-too-long"), "{j}");
    let (_, j) = audit_json(&f.soon, &["--warn-days", "1", "soonta.secure.dane.test"]);
    assert!(!has(&j, "cert-expiring"), "{j}");
    // The anchor's expiry (the intermediate, until 2040) too, with a long horizon.
    let (_, j) = audit_json(&f.good, &["--warn-days", "36500", "ta.secure.dane.test"]);
    let messages: Vec<&str> = j["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "cert-expiring")
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{j}");
    assert!(
        messages[1].contains("trust-anchor certificate at depth 1"),
        "{j}"
    );

    // DANE-EE: expiry does not count (RFC 7672 §3.1.1), a note says so; but a TTL longer
    // than the certificate's life is a warning.
    let (code, j) = audit_json(&f.soon, &["--warn-days", "7", "soon.secure.dane.test"]);
    assert_eq!(code, 5, "{j}");
    assert!(!has(&j, "cert-expiring"), "{j}");
    assert_eq!(notes(&j), ["cert-expiry-ignored"], "{j}");
    assert!(has(&j, "ttl-too-long"), "{j}");
    assert_eq!(j["hosts"][0]["tlsa"]["zone_ttl"], 30 * 86_400);
    let (_, j) = audit_json(&f.good, &["--warn-days", "0", "ee.secure.dane.test"]);
    assert!(!has(&j, "ttl-too-long"), "{j}");
    assert!(notes(&j).is_empty(), "{j}");
}

#[test]
fn addresses_that_disagree() {
    let f = fixture();
    let (Some(split), Some(twin)) = (f.split_port, f.twin_port) else {
        assert!(!ci(), "CI=true but 127.0.0.2 is not a local address");
        eprintln!("\n*** danecheck_audit: 127.0.0.2 is not a local address; SKIPPING ***\n");
        return;
    };
    let port = split.to_string();
    let run = audit(&[
        "--json",
        "--warn-days",
        "0",
        "--smtp-port",
        &port,
        "split.secure.dane.test",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let j = run.json();
    assert!(has(&j, "addresses-disagree"), "{j}");
    let w = j["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "addresses-disagree")
        .unwrap();
    assert!(
        w["message"].as_str().unwrap().contains("different keys"),
        "{j}"
    );
    assert_eq!(w["addresses"].as_array().unwrap().len(), 2, "{j}");
    assert_eq!(j["status"], "dane-failure");

    let port = twin.to_string();
    let run = audit(&[
        "--json",
        "--warn-days",
        "0",
        "--smtp-port",
        &port,
        "twin.secure.dane.test",
    ]);
    let j = run.json();
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(codes(&j), ["no-rollover"], "{j}");
    assert_eq!(j["hosts"][0]["addresses"].as_array().unwrap().len(), 2);
    assert_eq!(
        j["warnings"][0]["addresses"].as_array().unwrap().len(),
        2,
        "one warning for both addresses: {j}"
    );
}

#[test]
fn https_server() {
    let f = fixture();
    let addr = f.https.to_string();
    let run = audit(&[
        "--json",
        "--warn-days",
        "0",
        "--connect",
        &addr,
        "--https",
        "www.secure.dane.test",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let j = run.json();
    assert_eq!(j["service"], "https");
    assert_eq!(j["port"], 443);
    assert!(j["mx"].is_null());
    let host = &j["hosts"][0];
    assert_eq!(host["status"], "dane");
    assert_eq!(host["tlsa"]["owner"], "_443._tcp.www.secure.dane.test");
    assert_eq!(host["addresses"][0]["depth"], 1);
    assert!(codes(&j).is_empty(), "{j}");
}

#[test]
fn exit_statuses_without_dane_and_on_failures() {
    let f = fixture();
    let run = audit(&["--json", "insecure.dane.test"]);
    assert_eq!(run.code, 3, "{run:?}");
    let j = run.json();
    assert_eq!(j["hosts"][0]["status"], "opportunistic");
    assert_eq!(j["hosts"][0]["addresses"][0]["address"], "127.0.0.1:25");
    assert_eq!(j["hosts"][0]["addresses"][0]["verified"], Value::Null);
    assert_eq!(
        j["hosts"][0]["addresses"][0]["message"],
        "no connection: DANE does not apply (opportunistic TLS)"
    );
    let run = audit(&["--json", "bogus.dane.test"]);
    assert_eq!(run.code, 4, "{run:?}");
    let j = run.json();
    assert_eq!(j["status"], "lookup-failed");
    assert_eq!(j["hosts"][0]["error"], "bogus");
    assert_eq!(
        j["hosts"][0]["addresses"][0]["message"],
        "no connection: the host is unusable (a lookup failed)"
    );
    let run = audit(&["nxdomain-here.secure.dane.test"]);
    assert_eq!(run.code, 4, "{run:?}");
    // The impostor: a DANE failure (1).
    let impostor = SmtpServer::start(Smtp::new({
        let c = Cert::self_signed(&Spec::leaf(&["mx-ee.secure.dane.test"]));
        server_config(vec![c.der.clone()], c.private_key())
    }));
    let (code, j) = audit_json(&impostor, &["--warn-days", "0", "ee.secure.dane.test"]);
    assert_eq!(code, 1, "{j}");
    assert_eq!(j["hosts"][0]["addresses"][0]["error"], "no-match");
    assert_eq!(
        j["hosts"][0]["addresses"][0]["matches"][0]["matches"],
        false
    );
    // Nothing listening: the check could not be made (4).
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let run = audit(&["--json", "--connect", &addr, "ee.secure.dane.test"]);
    assert_eq!(run.code, 4, "{run:?}");
    let _ = f;
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["audit"],
        vec!["audit", "--warn-days", "x", "example.org"],
        vec!["audit", "--warn-days", "-1", "example.org"],
        vec!["audit", "--https", "www.example.org", "example.org"],
        vec!["audit", "--https", "www.example.org", "--smtp-port", "26"],
        vec!["audit", "--https", "192.0.2.1", "--resolver", "127.0.0.1:1"],
        vec!["audit", "--connect", "nowhere", "example.org"],
        vec!["audit", "--trust-ad", "example.org"],
        vec!["audit", "bad..name"],
    ] {
        danecheck(&args).assert_input_error(&format!("{args:?}"));
    }
    let help = danecheck(&["audit", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("5  audit only"), "{help:?}");
    assert!(help.stdout.contains("--warn-days"), "{help:?}");
}

// ---------------------------------------------------------------------------------- lab

struct Lab {
    resolver: String,
    auth: String,
    ds: String,
    certs: PathBuf,
}

fn lab() -> Option<Lab> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let Some(resolver) = var("LAB_RESOLVER") else {
        assert!(
            !ci(),
            "CI=true but the DNSSEC lab is not configured (LAB_RESOLVER unset): run \
             tests/lab/lab.sh up and source its env file"
        );
        eprintln!(
            "\n*** danecheck_audit: DNSSEC lab not running (LAB_RESOLVER unset); SKIPPING the \
             lab checks. Run: bash tests/lab/lab.sh up, then source $LAB_DIR/env ***\n"
        );
        return None;
    };
    let need = |k: &str| var(k).unwrap_or_else(|| panic!("LAB_RESOLVER is set but {k} is not"));
    Some(Lab {
        resolver,
        auth: need("LAB_AUTH"),
        ds: need("LAB_ANCHOR_DS"),
        certs: need("LAB_CERTS").into(),
    })
}

impl Lab {
    /// A server configuration with a lab certificate: `chain.pem` (leaf, intermediate) or
    /// `fullchain.pem` (and the root).
    fn server_config(&self, name: &str, file: &str) -> Arc<rustls::ServerConfig> {
        let dir = self.certs.join(name);
        let chain = CertificateDer::pem_file_iter(dir.join(file))
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let key = PrivateKeyDer::from_pem_file(dir.join("key.pem"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        server_config(chain, key)
    }

    fn smtp(&self, name: &str, file: &str) -> SmtpServer {
        SmtpServer::start(Smtp::new(self.server_config(name, file)))
    }
}

/// Good and broken deployments of the lab, in both trust modes.
#[test]
fn lab_audit_in_both_trust_modes() {
    let Some(lab) = lab() else {
        return;
    };
    let mx = lab.smtp("mx.secure", "chain.pem");
    let multi = lab.smtp("mx-multi.old", "chain.pem");
    let multi_full = lab.smtp("mx-multi.old", "fullchain.pem");
    let unusable = lab.smtp("mx-unusable", "chain.pem");
    let www = tls_server(lab.server_config("www.secure", "chain.pem"));
    let modes: [(&str, Vec<&str>); 2] = [
        (
            "trusted-ad",
            vec![
                "--trust-ad",
                "--trust-ad-zone",
                "dane.test",
                "--resolver",
                &lab.resolver,
            ],
        ),
        (
            "local+ds",
            vec!["--resolver", &lab.auth, "--trust-anchor", &lab.ds],
        ),
    ];
    for (mode, trust) in &modes {
        let run_with = |server: &str, args: &[&str]| -> (i32, Value) {
            let mut all = vec!["audit", "--json", "--timeout", "5", "--connect", server];
            all.extend_from_slice(trust);
            all.extend_from_slice(args);
            let run = danecheck(&all);
            assert!(run.stderr.is_empty(), "{mode}: {run:?}");
            (run.code, run.json())
        };
        let mx_addr = mx.addr.to_string();
        // 3 1 1 + 3 1 2 of one key: SHA2-512 wins, and no rollover.
        let (code, j) = run_with(&mx_addr, &["secure.dane.test"]);
        assert_eq!(code, 5, "{mode}: {j}");
        assert_eq!(codes(&j), ["no-rollover"], "{mode}: {j}");
        let tlsa = &j["hosts"][0]["tlsa"];
        let r311 = tlsa["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["record"].as_str().unwrap().starts_with("3 1 1 "))
            .expect("the 3 1 1 record");
        assert_eq!(r311["unusable"], "weaker-digest", "{mode}: {j}");
        assert_eq!(tlsa["signer"], "secure.dane.test", "{mode}: {j}");
        // The lab signs for 30 days.
        let expiration = tlsa["signature_expiration"].as_u64().expect("expiration");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(expiration > now + 20 * 86_400, "{mode}: {j}");
        let (_, j) = run_with(&mx_addr, &["--warn-days", "60", "secure.dane.test"]);
        assert_eq!(codes(&j), ["rrsig-expiring", "no-rollover"], "{mode}: {j}");

        // The rollover RRset: old and new 3 1 1, 2 1 1, 2 0 1 of the root.
        let (code, j) = run_with(&multi.addr.to_string(), &["multi.secure.dane.test"]);
        assert_eq!(code, 5, "{mode}: {j}");
        assert_eq!(codes(&j), ["ta-not-in-chain"], "{mode}: {j}");
        let (code, j) = run_with(&multi_full.addr.to_string(), &["multi.secure.dane.test"]);
        assert_eq!(code, 0, "{mode}: {j}");
        assert!(codes(&j).is_empty(), "{mode}: {j}");
        let matches = &j["hosts"][0]["addresses"][0]["matches"];
        assert_eq!(matches.as_array().unwrap().len(), 4, "{mode}: {j}");

        let (code, j) = run_with(&mx_addr, &["full.secure.dane.test"]);
        assert_eq!(code, 5, "{mode}: {j}");
        assert_eq!(codes(&j), ["dane-ee-cert", "no-rollover"], "{mode}: {j}");
        let (code, j) = run_with(&mx_addr, &["sha512.secure.dane.test"]);
        assert_eq!(code, 5, "{mode}: {j}");
        assert_eq!(codes(&j), ["no-sha256", "no-rollover"], "{mode}: {j}");

        let unusable_addr = unusable.addr.to_string();
        let (code, j) = run_with(&unusable_addr, &["mixed.secure.dane.test"]);
        assert_eq!(code, 5, "{mode}: {j}");
        assert_eq!(
            codes(&j),
            [
                "unusable-record",
                "unusable-record",
                "unusable-record",
                "no-rollover"
            ],
            "{mode}: {j}"
        );
        let (code, j) = run_with(&unusable_addr, &["unusable.secure.dane.test"]);
        assert_eq!(code, 3, "{mode}: {j}");
        assert_eq!(codes(&j), ["unusable-record"], "{mode}: {j}");

        // HTTPS: 2 1 1 of the intermediate; the leaf lives ten years.
        let www_addr = www.to_string();
        let (code, j) = run_with(&www_addr, &["--https", "www.secure.dane.test"]);
        assert_eq!(code, 0, "{mode}: {j}");
        assert!(codes(&j).is_empty(), "{mode}: {j}");
        let (code, j) = run_with(
            &www_addr,
            &["--warn-days", "4000", "--https", "www.secure.dane.test"],
        );
        assert_eq!(code, 5, "{mode}: {j}");
        assert!(has(&j, "cert-expiring"), "{mode}: {j}");
    }
}
