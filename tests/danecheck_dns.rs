//! Runs the DNS commands of `danecheck` (`tlsa`, `smtp`, `https` without `--tlsa`; the
//! binary of feature `cli`):
//! - against the in-process signed DNS server of `tests/common/dns.rs`, validated locally
//!   from its DNSKEY and DS trust anchors, with loopback SMTP and TLS servers
//!   (`tests/common/smtp.rs`) presenting certificates generated at test time;
//! - against the NSD + Unbound lab (`tests/lab/`) when `LAB_RESOLVER` is set, in both trust
//!   modes.
#![cfg(feature = "cli")]

mod common;
use common::cli::{Run, TempDir, rec};
use common::dns::{self, TestDns, ZoneSet};
use common::pki::{Alg, Cert, Hierarchy, Spec};
use common::smtp::{Smtp, SmtpServer, server_config, tls_server};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use dane::pki_types::pem::PemObject;
use dane::pki_types::{CertificateDer, PrivateKeyDer};
use hickory_proto::rr::RecordType;
use serde_json::Value;

// ------------------------------------------------------------------------------ harness

/// Runs the `danecheck` binary.
fn danecheck<S: AsRef<str>>(args: &[S]) -> Run {
    common::cli::run(args)
}

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

impl Run {
    /// Each stdout line as a JSON object.
    fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON ({e}): {self:?}")))
            .collect()
    }

    /// Asserts `code`, one stdout line equal to `line`, and nothing on stderr.
    fn assert_line(&self, code: i32, line: &str) {
        assert_eq!(self.code, code, "{self:?}");
        assert_eq!(self.stdout, format!("{line}\n"), "{self:?}");
        assert!(self.stderr.is_empty(), "{self:?}");
    }
}

// ------------------------------------------------------------------------------ fixture

/// The signed zones, their server and the mail and web servers they point at, shared by
/// the tests of this file (built once; the servers run until the process ends).
struct Fixture {
    dns: TestDns,
    /// Keeps the DNS server's tasks running (after `dns`, so it outlives it).
    _runtime: tokio::runtime::Runtime,
    /// The PKI of `mx.secure.dane.test` and `www.secure.dane.test`.
    pki: Hierarchy,
    /// SMTP with the certificate of the TLSA records.
    good: SmtpServer,
    /// SMTP with a self-signed certificate for the same names: an impostor.
    impostor: SmtpServer,
    /// HTTPS with the certificate of the TLSA records.
    https: SocketAddr,
}

/// `3 1 1` of the leaf, for every TLSA record that must match.
fn leaf_311(f: &Fixture) -> String {
    rec(&f.pki.leaf.der, 3, 1, 1)
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let pki = Hierarchy::new(
            Alg::P256,
            &[
                "mx.secure.dane.test",
                "mx-impostor.secure.dane.test",
                "www.secure.dane.test",
            ],
        );
        let tls = server_config(pki.chain2(), pki.leaf.private_key());
        let good = SmtpServer::start(Smtp::new(tls.clone()));
        let impostor_cert = Cert::self_signed(&Spec::leaf(&[
            "mx.secure.dane.test",
            "mx-impostor.secure.dane.test",
        ]));
        let impostor = SmtpServer::start(Smtp::new(server_config(
            vec![impostor_cert.der.clone()],
            impostor_cert.private_key(),
        )));
        let https = tls_server(tls);

        let r311 = rec(&pki.leaf.der, 3, 1, 1);
        let r312 = rec(&pki.leaf.der, 3, 1, 2);
        let unusable = rec(&pki.leaf.der, 255, 1, 1);
        let (good_port, impostor_port) = (good.addr.port(), impostor.addr.port());
        let mut z = ZoneSet::new();
        let mut add = |zone: &str, owner: &str, rtype: RecordType, rdata: &str| {
            z.add_str(zone, owner, 300, rtype, rdata);
        };
        // secure.dane.test: a DANE MX, an impostor, a host with only unusable records, a
        // host without TLSA, two MX hosts of which one is bogus, and a web server.
        add("secure", "@", RecordType::MX, "10 mx.secure.dane.test.");
        add("secure", "mx", RecordType::A, "127.0.0.1");
        add("secure", "_25._tcp.mx", RecordType::TLSA, &r311);
        add("secure", "_25._tcp.mx", RecordType::TLSA, &r312);
        add(
            "secure",
            &format!("_{good_port}._tcp.mx"),
            RecordType::TLSA,
            &r311,
        );
        add(
            "secure",
            "impostor",
            RecordType::MX,
            "10 mx-impostor.secure.dane.test.",
        );
        add("secure", "mx-impostor", RecordType::A, "127.0.0.1");
        let owner = format!("_{impostor_port}._tcp.mx-impostor");
        add("secure", &owner, RecordType::TLSA, &r311);
        add(
            "secure",
            "unauth",
            RecordType::MX,
            "10 mx-unauth.secure.dane.test.",
        );
        add("secure", "mx-unauth", RecordType::A, "127.0.0.1");
        let owner = format!("_{good_port}._tcp.mx-unauth");
        add("secure", &owner, RecordType::TLSA, &unusable);
        add("secure", "notlsa", RecordType::A, "127.0.0.1");
        add("secure", "multi", RecordType::MX, "10 mx.secure.dane.test.");
        add("secure", "multi", RecordType::MX, "20 mx.bogus.dane.test.");
        // For the exit status over several MX hosts: DANE and opportunistic (3), unusable
        // and opportunistic (4), DANE failure and unusable (1).
        add(
            "secure",
            "partial",
            RecordType::MX,
            "10 mx.secure.dane.test.",
        );
        add(
            "secure",
            "partial",
            RecordType::MX,
            "20 mx.insecure.dane.test.",
        );
        add("secure", "lookup", RecordType::MX, "10 mx.bogus.dane.test.");
        add(
            "secure",
            "lookup",
            RecordType::MX,
            "20 mx.insecure.dane.test.",
        );
        add(
            "secure",
            "failing",
            RecordType::MX,
            "10 mx-impostor.secure.dane.test.",
        );
        add(
            "secure",
            "failing",
            RecordType::MX,
            "20 mx.bogus.dane.test.",
        );
        add("secure", "www", RecordType::A, "127.0.0.1");
        let owner = format!("_{}._tcp.www", https.port());
        add("secure", &owner, RecordType::TLSA, &r311);
        // What production uses, for `https --connect` to the test server.
        add("secure", "_443._tcp.www", RecordType::TLSA, &r311);
        // rsa.dane.test (algorithm 8).
        add("rsa", "mx", RecordType::A, "127.0.0.1");
        add("rsa", "_25._tcp.mx", RecordType::TLSA, &r311);
        // insecure.dane.test: the records are there, but DANE does not apply.
        add("insecure", "@", RecordType::MX, "10 mx.insecure.dane.test.");
        // An insecure MX RRset naming a signed host with TLSA records (RFC 7672 §2.2.1).
        add(
            "insecure",
            "tosecure",
            RecordType::MX,
            "10 mx.secure.dane.test.",
        );
        add("insecure", "mx", RecordType::A, "127.0.0.1");
        add("insecure", "_25._tcp.mx", RecordType::TLSA, &r311);
        add("insecure", "www", RecordType::A, "127.0.0.1");
        let owner = format!("_{}._tcp.www", https.port());
        add("insecure", &owner, RecordType::TLSA, &r311);
        // bogus.dane.test: every TLSA RRSIG is corrupted (the data would match).
        add("bogus", "@", RecordType::MX, "10 mx.bogus.dane.test.");
        add("bogus", "mx", RecordType::A, "127.0.0.1");
        add("bogus", "_25._tcp.mx", RecordType::TLSA, &r311);
        add(
            "bogus",
            &format!("_{good_port}._tcp.mx"),
            RecordType::TLSA,
            &r311,
        );
        add(
            "bogus",
            &format!("_{impostor_port}._tcp.mx"),
            RecordType::TLSA,
            &r311,
        );
        let owner = format!("_{}._tcp.www", https.port());
        add("bogus", "www", RecordType::A, "127.0.0.1");
        add("bogus", &owner, RecordType::TLSA, &r311);
        // expired.dane.test: every signature expired, the MX RRset too.
        add("expired", "@", RecordType::MX, "10 mx.expired.dane.test.");
        add("expired", "mx", RecordType::A, "127.0.0.1");
        // TLS reporting records (RFC 8460 §3): valid, invalid (no rua), two records.
        let txt = |text: &str| {
            hickory_proto::rr::RData::TXT(hickory_proto::rr::rdata::TXT::new(vec![text.to_owned()]))
        };
        z.add(
            "secure",
            "_smtp._tls.mx",
            300,
            txt(
                "v=TLSRPTv1; rua=mailto:tlsrpt@secure.dane.test,https://report.secure.dane.test/v1",
            ),
        );
        z.add("secure", "_smtp._tls.mx-impostor", 300, txt("v=TLSRPTv1;"));
        z.add(
            "secure",
            "_smtp._tls.www",
            300,
            txt("v=TLSRPTv1; rua=mailto:a@secure.dane.test"),
        );
        z.add(
            "secure",
            "_smtp._tls.www",
            300,
            txt("v=TLSRPTv1; rua=mailto:b@secure.dane.test"),
        );
        z.add(
            "insecure",
            "_smtp._tls.mx",
            300,
            txt("v=TLSRPTv1; rua=mailto:tlsrpt@insecure.dane.test"),
        );
        z.add(
            "expired",
            "_smtp._tls.mx",
            300,
            txt("v=TLSRPTv1; rua=mailto:x@expired.dane.test"),
        );

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dns = runtime.block_on(dns::start(z));
        Fixture {
            dns,
            _runtime: runtime,
            pki,
            good,
            impostor,
            https,
        }
    })
}

/// The fixture's trust anchors as files: `(kind, --trust-anchor FILE)` for the DNSKEY and
/// the DS anchor.
fn anchors(f: &Fixture, dir: &TempDir) -> [(&'static str, String); 2] {
    [
        (
            "dnskey",
            dir.write("dane.test.dnskey", &f.dns.anchor_zone_file),
        ),
        ("ds", dir.write("dane.test.ds", &f.dns.ds_zone_file)),
    ]
}

/// `command --resolver <fixture> --trust-anchor <anchor> args…`.
fn local(f: &Fixture, command: &str, anchor: &str, args: &[&str]) -> Run {
    let server = f.dns.addr.to_string();
    let mut all = vec![command, "--resolver", &server, "--trust-anchor", anchor];
    all.extend_from_slice(args);
    danecheck(&all)
}

// --------------------------------------------------------------------------------- tlsa

#[test]
fn tlsa_with_dnskey_and_ds_anchors() {
    let f = fixture();
    let dir = TempDir::new("tlsa");
    let r311 = leaf_311(f);
    let r312 = rec(&f.pki.leaf.der, 3, 1, 2);
    for (kind, anchor) in anchors(f, &dir) {
        // Secure: the records, in JSON and in words.
        let run = local(f, "tlsa", &anchor, &["--json", "mx.secure.dane.test"]);
        assert_eq!(run.code, 0, "{kind}: {run:?}");
        let j = run.json();
        assert_eq!(j["status"], "secure", "{kind}: {run:?}");
        assert_eq!(j["base"], "mx.secure.dane.test", "{kind}: {run:?}");
        let mut records: Vec<&str> = j["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r.as_str().expect("record string"))
            .collect();
        records.sort_unstable();
        assert_eq!(records, [r311.as_str(), r312.as_str()], "{kind}: {run:?}");
        assert_eq!(j["ttl"], 300, "{kind}: {run:?}");
        assert_eq!(j["error"], Value::Null, "{kind}: {run:?}");

        let run = local(f, "tlsa", &anchor, &["MX.Secure.Dane.Test."]);
        assert_eq!(run.code, 0, "{kind}: {run:?}");
        let line = run.stdout.trim_end();
        let rest = line
            .strip_prefix("secure: _25._tcp.mx.secure.dane.test: ")
            .unwrap_or_else(|| panic!("{kind}: {run:?}"));
        assert!(rest.ends_with(" (ttl 300)"), "{kind}: {run:?}");
        assert!(
            rest.contains(&r311) && rest.contains(&r312),
            "{kind}: {run:?}"
        );

        // Algorithm 8, and another port.
        let run = local(f, "tlsa", &anchor, &["mx.rsa.dane.test"]);
        run.assert_line(
            0,
            &format!("secure: _25._tcp.mx.rsa.dane.test: {r311} (ttl 300)"),
        );
        let port = f.good.addr.port().to_string();
        let run = local(
            f,
            "tlsa",
            &anchor,
            &["--port", &port, "mx.secure.dane.test"],
        );
        run.assert_line(
            0,
            &format!("secure: _{port}._tcp.mx.secure.dane.test: {r311} (ttl 300)"),
        );

        // Secure absence: exit status 3, no DANE here.
        let run = local(f, "tlsa", &anchor, &["notlsa.secure.dane.test"]);
        run.assert_line(3, "secure-absent: _25._tcp.notlsa.secure.dane.test");
        let run = local(f, "tlsa", &anchor, &["--json", "notlsa.secure.dane.test"]);
        assert_eq!(run.code, 3, "{kind}: {run:?}");
        let j = run.json();
        assert_eq!(j["status"], "secure-absent", "{kind}: {run:?}");
        assert_eq!(j["base"], "notlsa.secure.dane.test", "{kind}: {run:?}");
        assert_eq!(j["records"], serde_json::json!([]), "{kind}: {run:?}");

        // Insecure: the records exist, but are not for DANE (exit status 3).
        let run = local(f, "tlsa", &anchor, &["mx.insecure.dane.test"]);
        run.assert_line(3, "insecure: _25._tcp.mx.insecure.dane.test");
        let run = local(f, "tlsa", &anchor, &["--json", "mx.insecure.dane.test"]);
        assert_eq!(run.code, 3, "{kind}: {run:?}");
        let j = run.json();
        assert_eq!(j["status"], "insecure", "{kind}");
        assert_eq!(j["records"], serde_json::json!([]), "{kind}");
        assert_eq!(j["usable"], Value::Null, "{kind}");

        // Secure, but no record usable: no DANE either (exit status 3).
        let unusable = rec(&f.pki.leaf.der, 255, 1, 1);
        for profile in ["smtp", "generic"] {
            let run = local(
                f,
                "tlsa",
                &anchor,
                &[
                    "--port",
                    &port,
                    "--profile",
                    profile,
                    "mx-unauth.secure.dane.test",
                ],
            );
            run.assert_line(
                3,
                &format!(
                    "secure: _{port}._tcp.mx-unauth.secure.dane.test: {unusable} (ttl 300), \
                     no usable record ({profile} profile)"
                ),
            );
        }
        let run = local(
            f,
            "tlsa",
            &anchor,
            &["--json", "--port", &port, "mx-unauth.secure.dane.test"],
        );
        assert_eq!(run.code, 3, "{kind}: {run:?}");
        let j = run.json();
        assert_eq!(j["status"], "secure", "{kind}: {run:?}");
        assert_eq!(j["usable"], false, "{kind}: {run:?}");
        let j = local(f, "tlsa", &anchor, &["--json", "mx.secure.dane.test"]).json();
        assert_eq!(j["usable"], true, "{kind}");

        // Bogus: exit status 4 (a failed lookup), never "insecure" or "absent".
        let run = local(f, "tlsa", &anchor, &["mx.bogus.dane.test"]);
        run.assert_line(4, "bogus: _25._tcp.mx.bogus.dane.test");
        let run = local(f, "tlsa", &anchor, &["--json", "mx.bogus.dane.test"]);
        assert_eq!(run.code, 4, "{kind}: {run:?}");
        let j = run.json();
        assert_eq!(j["status"], "bogus", "{kind}: {run:?}");
        assert_eq!(j["base"], "mx.bogus.dane.test", "{kind}: {run:?}");
        assert_eq!(j["records"], serde_json::json!([]), "{kind}: {run:?}");
        assert_eq!(j["error"], "bogus", "{kind}: {run:?}");
    }
}

/// A DNSKEY for `dane.test.` that is not the fixture's key (the P-256 key of the RFC 6605
/// example): nothing validates from it.
const FOREIGN_DNSKEY: &str = "dane.test. 300 IN DNSKEY 257 3 13 \
    GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n";

#[test]
fn tlsa_with_a_foreign_anchor_is_bogus() {
    let f = fixture();
    let dir = TempDir::new("foreign");
    let anchor = dir.write("other.dnskey", FOREIGN_DNSKEY);
    for host in ["mx.secure.dane.test", "mx.insecure.dane.test"] {
        let run = local(f, "tlsa", &anchor, &["--json", host]);
        assert_eq!(run.code, 4, "{run:?}");
        assert_eq!(run.json()["status"], "bogus", "{run:?}");
    }
}

/// A "trusted" resolver that does not validate (here the in-process authoritative server,
/// which never sets AD) would make every answer look insecure: `--trust-ad` refuses it.
#[test]
fn trust_ad_refuses_a_resolver_that_does_not_validate() {
    let f = fixture();
    let server = f.dns.addr.to_string();
    let run = danecheck(&[
        "tlsa",
        "--trust-ad",
        "--trust-ad-zone",
        "dane.test",
        "--resolver",
        &server,
        "mx.insecure.dane.test",
    ]);
    assert_ne!(run.code, 0, "{run:?}");
    assert_ne!(run.code, 3, "never 'no DANE': {run:?}");
    assert_eq!(run.code, 4, "a lookup failure: {run:?}");
    assert!(run.stdout.contains("does not validate"), "{run:?}");
    let run = danecheck(&["tlsa", "--trust-ad-zone", "dane.test", "a.example"]);
    assert_eq!(run.code, 2, "{run:?}");
}

// --------------------------------------------------------------------------------- smtp

#[test]
fn smtp_verifies_a_dane_mx() {
    let f = fixture();
    let dir = TempDir::new("smtp");
    let port = f.good.addr.port().to_string();
    for (kind, anchor) in anchors(f, &dir) {
        let run = local(
            f,
            "smtp",
            &anchor,
            &["--smtp-port", &port, "--timeout", "5", "secure.dane.test"],
        );
        run.assert_line(
            0,
            &format!(
                "mx.secure.dane.test[127.0.0.1]:{port}: Verified TLS connection \
                 (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0)"
            ),
        );

        let run = local(
            f,
            "smtp",
            &anchor,
            &["--json", "--smtp-port", &port, "secure.dane.test"],
        );
        assert_eq!(run.code, 0, "{kind}: {run:?}");
        let j = run.json();
        assert_eq!(j["host"], "mx.secure.dane.test", "{kind}: {run:?}");
        assert_eq!(j["address"], "127.0.0.1", "{kind}: {run:?}");
        assert_eq!(j["preference"], 10, "{kind}: {run:?}");
        assert_eq!(j["status"], "dane", "{kind}: {run:?}");
        assert_eq!(j["verified"], true, "{kind}: {run:?}");
        assert_eq!(j["usage"], 3, "{kind}: {run:?}");
        assert_eq!(j["selector"], 1, "{kind}: {run:?}");
        assert_eq!(j["matching"], 1, "{kind}: {run:?}");
        assert_eq!(j["depth"], 0, "{kind}: {run:?}");
        assert_eq!(j["error"], Value::Null, "{kind}: {run:?}");
    }
    // The SMTP dialogue (other tests use the server too): EHLO, STARTTLS, QUIT over TLS.
    let transcript = f.good.transcript();
    for command in ["EHLO danecheck.invalid", "STARTTLS", "TLS QUIT"] {
        assert!(transcript.iter().any(|c| c == command), "{transcript:?}");
    }
}

#[test]
fn smtp_refuses_an_impostor() {
    let f = fixture();
    let dir = TempDir::new("impostor");
    let [_, (_, ds)] = anchors(f, &dir);
    let port = f.impostor.addr.port().to_string();
    let run = local(
        f,
        "smtp",
        &ds,
        &["--smtp-port", &port, "impostor.secure.dane.test"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with(&format!(
            "mx-impostor.secure.dane.test[127.0.0.1]:{port}: DANE failure: "
        )),
        "{run:?}"
    );
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");

    let run = local(
        f,
        "smtp",
        &ds,
        &["--json", "--smtp-port", &port, "impostor.secure.dane.test"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let j = run.json();
    assert_eq!(j["status"], "dane", "{run:?}");
    assert_eq!(j["verified"], false, "{run:?}");
    assert_eq!(j["error"], "no-match", "{run:?}");
    assert_eq!(j["usage"], Value::Null, "{run:?}");
}

#[test]
fn smtp_unusable_opportunistic_and_unauthenticated() {
    let f = fixture();
    let dir = TempDir::new("smtp-other");
    let [(_, dnskey), _] = anchors(f, &dir);
    let port = f.good.addr.port().to_string();
    let smtp = |args: &[&str]| {
        let mut all = vec!["--smtp-port", &port, "--timeout", "5"];
        all.extend_from_slice(args);
        local(f, "smtp", &dnskey, &all)
    };

    // A bogus TLSA RRset: the host is unusable (not opportunistic), no connection; exit
    // status 4, a failed lookup.
    let run = smtp(&["bogus.dane.test"]);
    run.assert_line(
        4,
        &format!("mx.bogus.dane.test[127.0.0.1]:{port}: unusable: bogus"),
    );
    let j = smtp(&["--json", "bogus.dane.test"]).json();
    assert_eq!(j["status"], "unusable");
    assert_eq!(j["verified"], Value::Null);
    assert_eq!(j["error"], "bogus");

    // One good MX and one bogus one: a line each, in MX order, exit status 4.
    let run = smtp(&["multi.secure.dane.test"]);
    assert_eq!(run.code, 4, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "mx.secure.dane.test[127.0.0.1]:{port}: Verified TLS connection \
                 (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0)"
            ),
            format!("mx.bogus.dane.test[127.0.0.1]:{port}: unusable: bogus"),
        ],
        "{run:?}"
    );
    let j = smtp(&["--json", "multi.secure.dane.test"]).json_lines();
    assert_eq!(j.len(), 2);
    assert_eq!(j[0]["preference"], 10);
    assert_eq!(j[0]["verified"], true);
    assert_eq!(j[1]["preference"], 20);
    assert_eq!(j[1]["status"], "unusable");

    // The MX RRset itself is bogus: one line, exit status 4.
    smtp(&["expired.dane.test"]).assert_line(4, "expired.dane.test: MX lookup failed: bogus");
    let j = smtp(&["--json", "expired.dane.test"]).json();
    assert_eq!(j["host"], "expired.dane.test");
    assert_eq!(j["address"], Value::Null);
    assert_eq!(j["status"], "unusable");
    assert_eq!(j["error"], "bogus");

    // Insecure: opportunistic, no connection, exit status 3 (no DANE, never 0).
    let run = smtp(&["insecure.dane.test"]);
    run.assert_line(
        3,
        &format!("mx.insecure.dane.test[127.0.0.1]:{port}: opportunistic (no DANE)"),
    );
    let j = smtp(&["--json", "insecure.dane.test"]).json();
    assert_eq!(j["status"], "opportunistic");
    assert_eq!(j["verified"], Value::Null);
    assert_eq!(j["error"], Value::Null);

    // Only unusable records: TLS without authentication, exit status 3.
    let run = smtp(&["unauth.secure.dane.test"]);
    run.assert_line(
        3,
        &format!(
            "mx-unauth.secure.dane.test[127.0.0.1]:{port}: Untrusted TLS connection \
             (no usable TLSA records)"
        ),
    );
    let run = smtp(&["--json", "unauth.secure.dane.test"]);
    assert_eq!(run.code, 3, "{run:?}");
    let j = run.json();
    assert_eq!(j["status"], "tls-unauthenticated");
    assert_eq!(j["verified"], false);
    assert_eq!(j["error"], Value::Null);
}

#[test]
fn smtp_exit_status_over_several_mx_hosts() {
    let f = fixture();
    let dir = TempDir::new("smtp-mixed");
    let [_, (_, ds)] = anchors(f, &dir);
    let smtp = |port: u16, domain: &str| {
        let port = port.to_string();
        local(
            f,
            "smtp",
            &ds,
            &["--smtp-port", &port, "--timeout", "5", domain],
        )
    };
    let (good, impostor) = (f.good.addr.port(), f.impostor.addr.port());

    // Verified, then opportunistic: 3 wins over 0 (not every address is DANE-verified).
    let run = smtp(good, "partial.secure.dane.test");
    assert_eq!(run.code, 3, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "mx.secure.dane.test[127.0.0.1]:{good}: Verified TLS connection \
                 (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0)"
            ),
            format!("mx.insecure.dane.test[127.0.0.1]:{good}: opportunistic (no DANE)"),
        ],
        "{run:?}"
    );

    // Unusable (bogus), then opportunistic: 4 wins over 3.
    let run = smtp(good, "lookup.secure.dane.test");
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 2, "{run:?}");

    // A DANE failure, then unusable (bogus): 1 wins over 4.
    let run = smtp(impostor, "failing.secure.dane.test");
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert!(
        lines[0].starts_with(&format!(
            "mx-impostor.secure.dane.test[127.0.0.1]:{impostor}: DANE failure: "
        )),
        "{run:?}"
    );
    assert_eq!(
        lines[1],
        format!("mx.bogus.dane.test[127.0.0.1]:{impostor}: unusable: bogus"),
        "{run:?}"
    );
}

// -------------------------------------------------------------------------------- https

#[test]
fn https_looks_the_records_up() {
    let f = fixture();
    let dir = TempDir::new("https");
    let [_, (_, ds)] = anchors(f, &dir);
    let port = f.https.port();

    let run = local(f, "https", &ds, &[&format!("www.secure.dane.test:{port}")]);
    run.assert_line(
        0,
        &format!(
            "verified: Verified TLS connection (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0) \
             (127.0.0.1:{port})"
        ),
    );
    // By address, with the name given.
    let run = local(
        f,
        "https",
        &ds,
        &[
            "--json",
            "--name",
            "www.secure.dane.test",
            &f.https.to_string(),
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["verified"], true, "{run:?}");

    let run = local(
        f,
        "https",
        &ds,
        &[&format!("www.insecure.dane.test:{port}")],
    );
    run.assert_line(3, "no DANE for www.insecure.dane.test (insecure)");
    let run = local(f, "https", &ds, &[&format!("www.bogus.dane.test:{port}")]);
    run.assert_line(
        4,
        &format!("_{port}._tcp.www.bogus.dane.test: TLSA lookup failed: bogus"),
    );
    let run = local(
        f,
        "https",
        &ds,
        &["--json", &format!("www.bogus.dane.test:{port}")],
    );
    assert_eq!(run.code, 4, "{run:?}");
    let j = run.json();
    assert_eq!(j["verified"], false, "{run:?}");
    assert_eq!(j["error"], "bogus", "{run:?}");
}

// ------------------------------------------------------------- --connect and --verbose

/// `smtp --connect`: the lookups and names of production (`_25._tcp.<mx>`), the connection
/// to the test instance.
#[test]
fn smtp_connect_uses_production_names() {
    let f = fixture();
    let dir = TempDir::new("smtp-connect-to");
    let [(_, dnskey), (_, ds)] = anchors(f, &dir);
    let good = f.good.addr.to_string();
    let impostor = f.impostor.addr.to_string();
    let port = f.good.addr.port();
    for anchor in [&dnskey, &ds] {
        let run = local(
            f,
            "smtp",
            anchor,
            &["--connect", &good, "--timeout", "5", "secure.dane.test"],
        );
        // The records are those of _25._tcp.mx (3 1 1 and 3 1 2, so SHA2-512 by digest
        // agility), not those of _<port>._tcp.mx (3 1 1 only).
        run.assert_line(
            0,
            &format!(
                "mx.secure.dane.test[127.0.0.1]:{port}: Verified TLS connection \
                 (DANE-EE(3) SPKI(1) SHA2-512(2) at depth 0)"
            ),
        );
        let run = local(
            f,
            "smtp",
            anchor,
            &["--json", "--connect", &good, "secure.dane.test"],
        );
        assert_eq!(run.code, 0, "{run:?}");
        let j = run.json();
        assert_eq!(j["host"], "mx.secure.dane.test", "{run:?}");
        assert_eq!(j["address"], "127.0.0.1", "{run:?}");
        assert_eq!(j["status"], "dane", "{run:?}");
        assert_eq!(j["verified"], true, "{run:?}");
        assert_eq!(j["matching"], 2, "{run:?}");
    }
    // The records of _25._tcp.mx.secure.dane.test, an impostor at the address given: a
    // DANE failure.
    let run = local(
        f,
        "smtp",
        &ds,
        &["--connect", &impostor, "--timeout", "5", "secure.dane.test"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with(&format!(
            "mx.secure.dane.test[127.0.0.1]:{}: DANE failure: ",
            f.impostor.addr.port()
        )),
        "{run:?}"
    );
    // No DANE, no connection: --connect changes nothing.
    local(f, "smtp", &ds, &["--connect", &good, "insecure.dane.test"]).assert_line(
        3,
        "mx.insecure.dane.test[127.0.0.1]:25: opportunistic (no DANE)",
    );
    // A bad address is a usage error.
    for bad in ["127.0.0.1", "localhost:25", "127.0.0.1:0", "[::1]"] {
        local(f, "smtp", &ds, &["--connect", bad, "secure.dane.test"])
            .assert_input_error(&format!("--connect {bad}"));
    }
}

/// RFC 7672 §2.2.1: under an insecure MX RRset the client may still use DANE for a host
/// with secure TLSA records. Postfix does, and logs a match "Trusted" ("MX RRset insecure:
/// log verified as trusted"): the host is authenticated, the list of MX hosts is not.
#[test]
fn smtp_dane_under_an_insecure_mx_is_trusted_not_verified() {
    let f = fixture();
    let dir = TempDir::new("smtp-insecure-mx");
    let [_, (_, ds)] = anchors(f, &dir);
    let port = f.good.addr.port().to_string();
    let run = local(
        f,
        "smtp",
        &ds,
        &[
            "--smtp-port",
            &port,
            "--timeout",
            "5",
            "tosecure.insecure.dane.test",
        ],
    );
    run.assert_line(
        0,
        &format!(
            "mx.secure.dane.test[127.0.0.1]:{port}: Trusted TLS connection \
             (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0; MX RRset insecure)"
        ),
    );
    let run = local(
        f,
        "smtp",
        &ds,
        &[
            "--json",
            "--smtp-port",
            &port,
            "tosecure.insecure.dane.test",
        ],
    );
    let j = run.json();
    assert_eq!(j["verified"], true, "{run:?}");
    assert!(
        j["message"]
            .as_str()
            .unwrap_or("")
            .contains("MX RRset is insecure"),
        "{run:?}"
    );
    // The impostor under the same insecure MX: a DANE failure all the same.
    let impostor = f.impostor.addr.to_string();
    let run = local(
        f,
        "smtp",
        &ds,
        &[
            "--connect",
            &impostor,
            "--timeout",
            "5",
            "tosecure.insecure.dane.test",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(": DANE failure: "), "{run:?}");
}

// ------------------------------------------------------------------- TLS reporting

/// `tlsrpt DOMAIN`: the RFC 8460 §3 record with its DNSSEC status, and an exit status per
/// case (0 valid, 1 no valid policy, 3 none, 4 lookup failure).
#[test]
fn tlsrpt_shows_the_reporting_record() {
    let f = fixture();
    let dir = TempDir::new("tlsrpt-record");
    let [(_, dnskey), (_, ds)] = anchors(f, &dir);
    for anchor in [&dnskey, &ds] {
        local(f, "tlsrpt", anchor, &["mx.secure.dane.test"]).assert_line(
            0,
            "_smtp._tls.mx.secure.dane.test: secure: v=TLSRPTv1; reports to \
             mailto:tlsrpt@secure.dane.test, https://report.secure.dane.test/v1",
        );
    }
    local(f, "tlsrpt", &ds, &["mx.insecure.dane.test"]).assert_line(
        0,
        "_smtp._tls.mx.insecure.dane.test: insecure: v=TLSRPTv1; reports to \
         mailto:tlsrpt@insecure.dane.test",
    );
    let run = local(f, "tlsrpt", &ds, &["--json", "mx.secure.dane.test"]);
    assert_eq!(run.code, 0, "{run:?}");
    let j = run.json();
    assert_eq!(j["dnssec"], "secure", "{run:?}");
    assert_eq!(j["valid"], true, "{run:?}");
    assert_eq!(j["rua"][1], "https://report.secure.dane.test/v1", "{run:?}");
    // No rua, two records: no valid policy (1).
    for host in ["mx-impostor.secure.dane.test", "www.secure.dane.test"] {
        let run = local(f, "tlsrpt", &ds, &[host]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stdout
                .contains(": secure: no usable reporting policy: "),
            "{run:?}"
        );
    }
    // No record (3), a bogus (expired) record (4).
    let run = local(f, "tlsrpt", &ds, &["notlsa.secure.dane.test"]);
    assert_eq!(run.code, 3, "{run:?}");
    let run = local(f, "tlsrpt", &ds, &["--json", "mx.expired.dane.test"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.json()["dnssec"], "error", "{run:?}");
}

/// `smtp --tlsrpt FILE`: the run's sessions as RFC 8460 reports, one per policy domain.
#[test]
fn smtp_writes_the_runs_tls_report() {
    let f = fixture();
    let dir = TempDir::new("smtp-tlsrpt");
    let [_, (_, ds)] = anchors(f, &dir);
    let file = dir.path("report.json");
    let file = file.as_str();
    let read = || -> Vec<Value> {
        let text = std::fs::read_to_string(file).unwrap();
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let good = f.good.addr.to_string();
    let impostor = f.impostor.addr.to_string();

    // A verified session: one tlsa policy for the MX host, one success.
    let run = local(
        f,
        "smtp",
        &ds,
        &[
            "--connect",
            &good,
            "--tlsrpt",
            file,
            "--tlsrpt-org",
            "Example Org",
            "secure.dane.test",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let reports = read();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let r = &reports[0];
    assert_eq!(r["organization-name"], "Example Org");
    let p = &r["policies"][0];
    assert_eq!(p["policy"]["policy-type"], "tlsa");
    assert_eq!(p["policy"]["policy-domain"], "mx.secure.dane.test");
    assert_eq!(p["policy"]["policy-string"].as_array().unwrap().len(), 2);
    assert_eq!(p["summary"]["total-successful-session-count"], 1);
    assert_eq!(p["summary"]["total-failure-session-count"], 0);

    // An impostor: a failure with the DANE error's result type and reason code.
    let run = local(
        f,
        "smtp",
        &ds,
        &["--connect", &impostor, "--tlsrpt", file, "secure.dane.test"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let reports = read();
    let p = &reports[0]["policies"][0];
    assert_eq!(p["summary"]["total-failure-session-count"], 1);
    let d = &p["failure-details"][0];
    assert_eq!(
        d["result-type"],
        dane::Error::NoMatch.tls_rpt_result().as_str()
    );
    assert_eq!(d["failure-reason-code"], dane::Error::NoMatch.category());
    assert_eq!(d["receiving-ip"], "127.0.0.1");

    // A bogus TLSA RRset beside a DANE host: two policy domains; the bogus host's session
    // is a dnssec-invalid failure.
    let run = local(
        f,
        "smtp",
        &ds,
        &["--tlsrpt", file, "multi.secure.dane.test"],
    );
    let reports = read();
    let domains: Vec<&str> = reports
        .iter()
        .map(|r| {
            r["policies"][0]["policy"]["policy-domain"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(
        domains.contains(&"mx.bogus.dane.test"),
        "{run:?} {reports:?}"
    );
    let bogus = reports
        .iter()
        .find(|r| r["policies"][0]["policy"]["policy-domain"] == "mx.bogus.dane.test")
        .unwrap();
    assert_eq!(
        bogus["policies"][0]["failure-details"][0]["result-type"], "dnssec-invalid",
        "{reports:?}"
    );
    // A failed MX lookup: one failure under the domain.
    let run = local(f, "smtp", &ds, &["--tlsrpt", file, "expired.dane.test"]);
    assert_eq!(run.code, 4, "{run:?}");
    let reports = read();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0]["policies"][0]["policy"]["policy-domain"],
        "expired.dane.test"
    );
    // Options of the report without --tlsrpt are a usage error.
    let run = local(f, "smtp", &ds, &["--tlsrpt-org", "X", "secure.dane.test"]);
    assert_eq!(run.code, 2, "{run:?}");
}

/// `https --connect`: `_443._tcp.<host>` looked up, the test server connected to.
#[test]
fn https_connect_uses_production_names() {
    let f = fixture();
    let dir = TempDir::new("https-connect-to");
    let [_, (_, ds)] = anchors(f, &dir);
    let server = f.https.to_string();
    let run = local(
        f,
        "https",
        &ds,
        &["--connect", &server, "www.secure.dane.test"],
    );
    run.assert_line(
        0,
        &format!(
            "verified: Verified TLS connection (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0) \
             ({server})"
        ),
    );
    // _443._tcp.www.insecure.dane.test does not exist: no DANE, no connection.
    local(
        f,
        "https",
        &ds,
        &["--connect", &server, "www.insecure.dane.test"],
    )
    .assert_line(3, "no DANE for www.insecure.dane.test (insecure)");
}

/// The stderr lines of a run, for `-v`.
fn stderr_lines(run: &Run) -> Vec<&str> {
    run.stderr.lines().collect()
}

/// Asserts that some stderr line starts with `prefix`.
fn assert_traced(run: &Run, prefix: &str) {
    assert!(
        stderr_lines(run).iter().any(|l| l.starts_with(prefix)),
        "no stderr line starting {prefix:?}: {run:?}"
    );
}

#[test]
fn verbose_shows_each_dns_step_and_its_status() {
    let f = fixture();
    let dir = TempDir::new("verbose");
    let [(_, dnskey), (_, ds)] = anchors(f, &dir);
    let good = f.good.addr.to_string();
    let r311 = leaf_311(f);
    for anchor in [&dnskey, &ds] {
        // smtp -v: the MX RRset, the addresses, the TLSA RRset, the decision and the
        // connection on stderr; stdout as without -v.
        let run = local(
            f,
            "smtp",
            anchor,
            &["-v", "--connect", &good, "secure.dane.test"],
        );
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
        assert_traced(&run, "trust: local DNSSEC validation from ");
        assert_traced(&run, "MX secure.dane.test: secure: 10 mx.secure.dane.test.");
        assert_traced(&run, "A mx.secure.dane.test: secure: 127.0.0.1 (ttl ");
        assert_traced(
            &run,
            "AAAA mx.secure.dane.test: secure: no records (NODATA)",
        );
        assert_traced(&run, "TLSA _25._tcp.mx.secure.dane.test: secure: ");
        assert!(run.stderr.contains(&r311), "{run:?}");
        assert_traced(
            &run,
            "mx.secure.dane.test: dane (TLSA base mx.secure.dane.test, names \
             mx.secure.dane.test, secure.dane.test)",
        );
        assert_traced(
            &run,
            &format!(
                "connect mx.secure.dane.test[127.0.0.1]:{} (SNI mx.secure.dane.test)",
                f.good.addr.port()
            ),
        );
        // The order: MX, then A, AAAA, TLSA.
        let at = |prefix: &str| {
            stderr_lines(&run)
                .iter()
                .position(|l| l.starts_with(prefix))
                .unwrap()
        };
        assert!(at("MX ") < at("A ") && at("A ") < at("AAAA ") && at("AAAA ") < at("TLSA "));

        // --json stays one object per line on stdout.
        let run = local(
            f,
            "smtp",
            anchor,
            &[
                "--verbose",
                "--json",
                "--connect",
                &good,
                "secure.dane.test",
            ],
        );
        assert_eq!(run.json()["verified"], true, "{run:?}");
        assert_traced(&run, "MX secure.dane.test: secure: ");

        // Insecure and bogus steps.
        let run = local(f, "smtp", anchor, &["-v", "insecure.dane.test"]);
        assert_eq!(run.code, 3, "{run:?}");
        assert_traced(
            &run,
            "MX insecure.dane.test: insecure: 10 mx.insecure.dane.test.",
        );
        assert_traced(&run, "A mx.insecure.dane.test: insecure: 127.0.0.1");
        assert_traced(&run, "mx.insecure.dane.test: opportunistic");
        assert!(!run.stderr.contains("TLSA "), "no TLSA lookup: {run:?}");
        let run = local(f, "smtp", anchor, &["-v", "bogus.dane.test"]);
        assert_eq!(run.code, 4, "{run:?}");
        assert_traced(&run, "MX bogus.dane.test: secure: 10 mx.bogus.dane.test.");
        assert_traced(&run, "TLSA _25._tcp.mx.bogus.dane.test: bogus");
        assert_traced(&run, "mx.bogus.dane.test: unusable");
        let run = local(f, "smtp", anchor, &["-v", "expired.dane.test"]);
        assert_eq!(run.code, 4, "{run:?}");
        assert_traced(&run, "MX expired.dane.test: bogus");

        // tlsa -v and https -v.
        let run = local(f, "tlsa", anchor, &["-v", "mx.secure.dane.test"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert_traced(&run, "TLSA _25._tcp.mx.secure.dane.test: secure: ");
        let run = local(f, "tlsa", anchor, &["-v", "notlsa.secure.dane.test"]);
        assert_traced(&run, "TLSA _25._tcp.notlsa.secure.dane.test: secure-absent");
        let port = f.https.port();
        let run = local(
            f,
            "https",
            anchor,
            &["-v", &format!("www.secure.dane.test:{port}")],
        );
        assert_eq!(run.code, 0, "{run:?}");
        assert_traced(
            &run,
            &format!("TLSA _{port}._tcp.www.secure.dane.test: secure: "),
        );
        assert_traced(&run, "A www.secure.dane.test: secure: 127.0.0.1");
        assert_traced(
            &run,
            &format!("connect 127.0.0.1:{port} (SNI www.secure.dane.test)"),
        );
    }
    // Without -v, nothing on stderr.
    let run = local(f, "smtp", &ds, &["--connect", &good, "secure.dane.test"]);
    assert!(run.stderr.is_empty(), "{run:?}");
}

// ------------------------------------------------------------------------------- help

#[test]
fn dns_commands_document_their_exit_statuses() {
    for command in ["tlsa", "smtp"] {
        let run = danecheck(&[command, "--help"]);
        assert_eq!(run.code, 0, "{run:?}");
        for line in [
            "  0  DANE-authenticated",
            "  1  DANE failure",
            "  3  no DANE",
            "  4  lookup or connection failure",
            "1 over 4, 4 over 3, 3 over 0",
        ] {
            assert!(run.stdout.contains(line), "{command}: {line:?}: {run:?}");
        }
    }
}

// ------------------------------------------------------------------------- input errors

#[test]
fn dns_input_errors_exit_2() {
    let dir = TempDir::new("input");
    let garbage = dir.write("garbage", "this is not a trust anchor\n");
    let empty = dir.write("empty", "; nothing\n\n");
    let bad_ds = dir.write("bad-ds", "dane.test. IN DS 1234 13 2 xyz\n");
    let bad_key = dir.write("bad-key", "dane.test. IN DNSKEY 257 3 13 !!!\n");
    let both = dir.write(
        "both",
        "dane.test. IN DS 1234 13 2 abcd\ndane.test. IN DNSKEY 257 3 13 AAAA\n",
    );
    let missing = dir.path("missing");
    let r = "127.0.0.1:9";
    let cases: &[(&str, &[&str])] = &[
        ("no host", &["tlsa", "--resolver", r]),
        (
            "two hosts",
            &["tlsa", "--resolver", r, "a.example", "b.example"],
        ),
        ("bad host", &["tlsa", "--resolver", r, "a..example"]),
        (
            "bad profile",
            &["tlsa", "--resolver", r, "--profile", "web", "a.example"],
        ),
        (
            "bad --resolver",
            &["tlsa", "--resolver", "nowhere", "a.example"],
        ),
        (
            "bad --port",
            &["tlsa", "--resolver", r, "--port", "0", "a.example"],
        ),
        (
            "--trust-ad without --resolver",
            &["tlsa", "--trust-ad", "a.example"],
        ),
        (
            "--trust-ad with --trust-anchor",
            &[
                "tlsa",
                "--trust-ad",
                "--resolver",
                r,
                "--trust-anchor",
                &garbage,
                "a.example",
            ],
        ),
        (
            "--trust-ad with --no-recursion",
            &[
                "smtp",
                "--trust-ad",
                "--no-recursion",
                "--resolver",
                r,
                "a.example",
            ],
        ),
        (
            "missing anchor file",
            &[
                "tlsa",
                "--resolver",
                r,
                "--trust-anchor",
                &missing,
                "a.example",
            ],
        ),
        (
            "garbage anchor",
            &[
                "tlsa",
                "--resolver",
                r,
                "--trust-anchor",
                &garbage,
                "a.example",
            ],
        ),
        (
            "empty anchor",
            &[
                "tlsa",
                "--resolver",
                r,
                "--trust-anchor",
                &empty,
                "a.example",
            ],
        ),
        (
            "bad DS",
            &[
                "tlsa",
                "--resolver",
                r,
                "--trust-anchor",
                &bad_ds,
                "a.example",
            ],
        ),
        (
            "bad DNSKEY",
            &[
                "tlsa",
                "--resolver",
                r,
                "--trust-anchor",
                &bad_key,
                "a.example",
            ],
        ),
        (
            "DS and DNSKEY",
            &[
                "smtp",
                "--resolver",
                r,
                "--trust-anchor",
                &both,
                "a.example",
            ],
        ),
        ("no domain", &["smtp", "--resolver", r]),
        (
            "bad --smtp-port",
            &["smtp", "--resolver", r, "--smtp-port", "x", "a.example"],
        ),
        (
            "bad --timeout",
            &["smtp", "--resolver", r, "--timeout", "0", "a.example"],
        ),
        (
            "unknown option",
            &["tlsa", "--resolver", r, "--tlsa", "3 1 1 00", "a.example"],
        ),
        (
            "--tlsa with a lookup",
            &["https", "--resolver", r, "--tlsa", "3 1 1 00", "a.example"],
        ),
        (
            "IP without --name",
            &["https", "--resolver", r, "127.0.0.1:443"],
        ),
    ];
    for (what, args) in cases {
        danecheck(args).assert_input_error(what);
    }
    for command in ["tlsa", "smtp"] {
        let run = danecheck(&[command, "--help"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("danecheck tlsa"), "{run:?}");
        assert!(run.stdout.contains("danecheck smtp "), "{run:?}");
    }
}

// ---------------------------------------------------------------------------------- lab

/// The NSD + Unbound lab (`tests/lab/`): `LAB_RESOLVER`, `LAB_AUTH`, `LAB_ANCHOR_DS`,
/// `LAB_ANCHOR_DNSKEY`, `LAB_CERTS`. Without it, a loud skip; with `CI=true`, a failure.
struct Lab {
    resolver: String,
    auth: String,
    ds: String,
    dnskey: String,
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
            "\n*** danecheck_dns: DNSSEC lab not running (LAB_RESOLVER unset); SKIPPING the lab \
             checks. Run: bash tests/lab/lab.sh up, then source $LAB_DIR/env ***\n"
        );
        return None;
    };
    let need = |k: &str| var(k).unwrap_or_else(|| panic!("LAB_RESOLVER is set but {k} is not"));
    Some(Lab {
        resolver,
        auth: need("LAB_AUTH"),
        ds: need("LAB_ANCHOR_DS"),
        dnskey: need("LAB_ANCHOR_DNSKEY"),
        certs: need("LAB_CERTS").into(),
    })
}

impl Lab {
    /// The `3 1 1` and `3 1 2` records of a lab certificate.
    fn records(&self, name: &str) -> Vec<String> {
        let path = self.certs.join(name).join("cert.pem");
        let cert = CertificateDer::from_pem_file(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut records = vec![rec(&cert, 3, 1, 1), rec(&cert, 3, 1, 2)];
        records.sort_unstable();
        records
    }
}

/// The sorted `records` of a `tlsa --json` answer.
fn json_records(j: &Value) -> Vec<String> {
    let mut records: Vec<String> = j["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r.as_str().expect("record string").to_owned())
        .collect();
    records.sort_unstable();
    records
}

#[test]
fn lab_tlsa_in_both_trust_modes() {
    let Some(lab) = lab() else {
        return;
    };
    let expected = lab.records("mx.secure");
    let modes: [(&str, Vec<&str>); 3] = [
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
        (
            "local+dnskey",
            vec!["--resolver", &lab.auth, "--trust-anchor", &lab.dnskey],
        ),
    ];
    for (mode, trust) in &modes {
        let tlsa = |host: &str| {
            let mut args = vec!["tlsa", "--json"];
            args.extend_from_slice(trust);
            args.push(host);
            danecheck(&args)
        };
        let run = tlsa("mx.secure.dane.test");
        assert_eq!(run.code, 0, "{mode}: {run:?}");
        let j = run.json();
        assert_eq!(j["status"], "secure", "{mode}: {run:?}");
        assert_eq!(j["base"], "mx.secure.dane.test", "{mode}: {run:?}");
        assert_eq!(json_records(&j), expected, "{mode}: {run:?}");

        let run = tlsa("mx.bogus.dane.test");
        assert_eq!(run.code, 4, "{mode}: {run:?}");
        let j = run.json();
        assert!(
            j["status"] == "bogus" || j["status"] == "error",
            "{mode}: {run:?}"
        );
        assert_eq!(j["records"], serde_json::json!([]), "{mode}: {run:?}");
        if !mode.starts_with("trusted") {
            // Local validation knows why; a resolver only says SERVFAIL.
            assert_eq!(j["status"], "bogus", "{mode}: {run:?}");
        }

        for (host, status) in [
            ("notlsa.secure.dane.test", "secure-absent"),
            ("nodata.secure.dane.test", "secure-absent"),
            ("mx.insecure.dane.test", "insecure"),
        ] {
            let run = tlsa(host);
            assert_eq!(run.code, 3, "{mode} {host}: {run:?}");
            assert_eq!(run.json()["status"], status, "{mode} {host}: {run:?}");
        }

        // SMTP without a connection: an unusable host and an insecure domain.
        let smtp = |domain: &str| {
            let mut args = vec!["smtp", "--timeout", "2"];
            args.extend_from_slice(trust);
            args.push(domain);
            danecheck(&args)
        };
        let run = smtp("bogus.dane.test");
        assert_eq!(run.code, 4, "{mode}: {run:?}");
        assert!(
            run.stdout
                .starts_with("mx.bogus.dane.test[127.0.0.1]:25: unusable: "),
            "{mode}: {run:?}"
        );
        smtp("insecure.dane.test").assert_line(
            3,
            "mx.insecure.dane.test[127.0.0.1]:25: opportunistic (no DANE)",
        );
    }

    // The brief's three commands, in words.
    let run = danecheck(&[
        "tlsa",
        "--trust-ad",
        "--trust-ad-zone",
        "dane.test",
        "--resolver",
        &lab.resolver,
        "mx.secure.dane.test",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("secure: _25._tcp.mx.secure.dane.test: "),
        "{run:?}"
    );
    let run = danecheck(&[
        "tlsa",
        "--resolver",
        &lab.auth,
        "--trust-anchor",
        &lab.ds,
        "mx.secure.dane.test",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("secure: _25._tcp.mx.secure.dane.test: "),
        "{run:?}"
    );
}

impl Lab {
    /// The chain (leaf first) and key of a lab certificate, as a rustls server config.
    fn server_config(&self, name: &str) -> std::sync::Arc<rustls::ServerConfig> {
        let dir = self.certs.join(name);
        let chain = CertificateDer::pem_file_iter(dir.join("chain.pem"))
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let key = PrivateKeyDer::from_pem_file(dir.join("key.pem"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        server_config(chain, key)
    }
}

/// `smtp --connect` and `https --connect` against the lab's signed zones: the production
/// names (`_25._tcp.<mx>`, `_443._tcp.<host>`), servers on loopback with the lab's
/// certificates; and `-v` on a CNAME'd MX host (RFC 7672 §2.2.2: the expanded name's TLSA
/// RRset first).
#[test]
fn lab_connect_and_verbose_in_both_trust_modes() {
    let Some(lab) = lab() else {
        return;
    };
    let mx = SmtpServer::start(Smtp::new(lab.server_config("mx.secure")));
    let www = tls_server(lab.server_config("www.secure"));
    let (mx_addr, www_addr) = (mx.addr.to_string(), www.to_string());
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
        let run_with = |command: &str, args: &[&str]| {
            let mut all = vec![command];
            all.extend_from_slice(trust);
            all.extend_from_slice(args);
            danecheck(&all)
        };
        let run = run_with(
            "smtp",
            &["--connect", &mx_addr, "--timeout", "5", "secure.dane.test"],
        );
        assert_eq!(run.code, 0, "{mode}: {run:?}");
        assert_eq!(
            run.stdout,
            format!(
                "mx.secure.dane.test[127.0.0.1]:{}: Verified TLS connection \
                 (DANE-EE(3) SPKI(1) SHA2-512(2) at depth 0)\n",
                mx.addr.port()
            ),
            "{mode}"
        );

        // The MX host is a secure CNAME: the TLSA RRset of the expanded name.
        let run = run_with(
            "smtp",
            &["-v", "--connect", &mx_addr, "cname.secure.dane.test"],
        );
        assert_eq!(run.code, 0, "{mode}: {run:?}");
        assert!(
            run.stdout
                .starts_with("mx-cname.secure.dane.test[127.0.0.1]:"),
            "{mode}: {run:?}"
        );
        assert_traced(
            &run,
            "MX cname.secure.dane.test: secure: 10 mx-cname.secure.dane.test.",
        );
        assert_traced(
            &run,
            "A mx-cname.secure.dane.test: secure: CNAME mx-cname.secure.dane.test -> \
             mx.secure.dane.test; 127.0.0.1",
        );
        assert_traced(&run, "TLSA _25._tcp.mx.secure.dane.test: secure: ");
        assert_traced(
            &run,
            "mx-cname.secure.dane.test: dane (TLSA base mx.secure.dane.test",
        );

        // The intermediate's 2 1 1 at _443._tcp.www.secure.dane.test.
        let run = run_with("https", &["--connect", &www_addr, "www.secure.dane.test"]);
        assert_eq!(run.code, 0, "{mode}: {run:?}");
        assert!(
            run.stdout.starts_with(
                "verified: Verified TLS connection (DANE-TA(2) SPKI(1) SHA2-256(1) at depth 1"
            ),
            "{mode}: {run:?}"
        );
    }
    assert!(
        mx.transcript().iter().any(|c| c == "TLS QUIT"),
        "{:?}",
        mx.transcript()
    );
}
