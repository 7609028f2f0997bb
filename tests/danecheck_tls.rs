//! Runs `danecheck https` and `danecheck smtp-connect` (the binary, feature `cli`) against
//! loopback servers in threads of this test: a plain TLS
//! server and a small SMTP responder with STARTTLS, both rustls, with certificates
//! generated at test time.
#![cfg(feature = "cli")]

mod common;
use common::cli::{Run, rec, wrong};
use common::pki::{Alg, Cert, Hierarchy, Spec};
use common::smtp::{Smtp, SmtpServer, serve, server_config, tls_server};

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use serde_json::Value;

const HOST: &str = "mx.example.net";

// ------------------------------------------------------------------------------ harness

/// Runs the `danecheck` binary.
fn danecheck<S: AsRef<str>>(args: &[S]) -> Run {
    common::cli::run(args)
}

impl Run {
    /// Asserts exit status 0 and a verified JSON line for `addr`.
    fn assert_verified(&self, addr: SocketAddr, usm: [u64; 3], index: u64, depth: u64) {
        assert_eq!(self.code, 0, "{self:?}");
        let j = self.json();
        assert_eq!(j["address"], addr.to_string(), "{self:?}");
        assert_eq!(j["verified"], true, "{self:?}");
        assert_eq!(j["usage"], usm[0], "{self:?}");
        assert_eq!(j["selector"], usm[1], "{self:?}");
        assert_eq!(j["matching"], usm[2], "{self:?}");
        assert_eq!(j["record_index"], index, "{self:?}");
        assert_eq!(j["depth"], depth, "{self:?}");
        assert_eq!(j["error"], Value::Null, "{self:?}");
        assert_eq!(j["tls_rpt"], Value::Null, "{self:?}");
        assert!(self.stderr.is_empty(), "{self:?}");
    }

    /// Asserts exit status 1 (a DANE failure) and a refusal of `addr` with `error` and
    /// `tls_rpt`.
    fn assert_refused(&self, addr: SocketAddr, error: &str, tls_rpt: &str) {
        self.assert_failed(1, addr, error, Some(tls_rpt));
    }

    /// Asserts exit status 4 (the check could not be made: a failure before TLS) and a
    /// failure of `addr` with `error` and no RFC 8460 result type.
    fn assert_not_checked(&self, addr: SocketAddr, error: &str) {
        self.assert_failed(4, addr, error, None);
    }

    /// Asserts exit status `code` and a failure of `addr` with `error` and `tls_rpt`.
    fn assert_failed(&self, code: i32, addr: SocketAddr, error: &str, tls_rpt: Option<&str>) {
        assert_eq!(self.code, code, "{self:?}");
        let j = self.json();
        assert_eq!(j["address"], addr.to_string(), "{self:?}");
        assert_eq!(j["verified"], false, "{self:?}");
        assert_eq!(j["error"], error, "{self:?}");
        assert_eq!(
            j["tls_rpt"],
            tls_rpt.map_or(Value::Null, Value::from),
            "{self:?}"
        );
        for field in ["usage", "selector", "matching", "record_index", "depth"] {
            assert_eq!(j[field], Value::Null, "{field}: {self:?}");
        }
        assert!(
            j["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
        assert!(self.stderr.is_empty(), "{self:?}");
    }
}

// ------------------------------------------------------------------------------ servers

/// A TCP port nothing listens on (one that was just bound and released).
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

// -------------------------------------------------------------------------------- https

#[test]
fn https_dane_ee_and_dane_ta_verify() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let addr = tls_server(server_config(h.chain2(), h.leaf.private_key()));
    let target = addr.to_string();
    let r311 = rec(&h.leaf, 3, 1, 1);

    let run = danecheck(&["https", "--json", "--tlsa", &r311, "--name", HOST, &target]);
    run.assert_verified(addr, [3, 1, 1], 0, 0);
    // The contract fields first, in order.
    // (A quoted string is a key when a colon follows it; no value here holds a quote.)
    let parts: Vec<&str> = run.stdout.split('"').collect();
    let keys: Vec<&str> = parts
        .iter()
        .zip(&parts[1..])
        .skip(1)
        .step_by(2)
        .filter(|(_, after)| after.starts_with(':'))
        .map(|(key, _)| *key)
        .collect();
    assert_eq!(
        keys[..9],
        [
            "address",
            "verified",
            "usage",
            "selector",
            "matching",
            "record_index",
            "depth",
            "error",
            "tls_rpt"
        ],
        "{run:?}"
    );

    // Human output.
    let run = danecheck(&["https", "--tlsa", &r311, "--name", HOST, &target]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "verified: Verified TLS connection (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0) \
             ({addr})\n"
        )
    );
    assert!(run.stderr.is_empty(), "{run:?}");

    // DANE-TA on the intermediate, after a record that does not match; the name is checked.
    let r211 = rec(&h.intermediate, 2, 1, 1);
    let w311 = wrong(&h.leaf, 3, 1, 1);
    let run = danecheck(&[
        "https",
        "--json",
        "--tlsa",
        &w311,
        "--tlsa",
        &r211,
        "--name",
        HOST,
        "--timeout",
        "5",
        &target,
    ]);
    run.assert_verified(addr, [2, 1, 1], 1, 1);
    assert_eq!(run.json()["name"], HOST, "{run:?}");
}

#[test]
fn https_wrong_record_and_wrong_name_are_refused() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let addr = tls_server(server_config(h.chain2(), h.leaf.private_key()));
    let target = addr.to_string();

    let w311 = wrong(&h.leaf, 3, 1, 1);
    let run = danecheck(&["https", "--json", "--tlsa", &w311, "--name", HOST, &target]);
    run.assert_refused(addr, "no-match", "certificate-not-trusted");

    let run = danecheck(&["https", "--tlsa", &w311, "--name", HOST, &target]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "not verified: no usable TLSA record matches the presented certificates \
             [certificate-not-trusted] ({addr})\n"
        )
    );

    let r211 = rec(&h.intermediate, 2, 1, 1);
    let run = danecheck(&[
        "https",
        "--json",
        "--tlsa",
        &r211,
        "--name",
        "other.example.org",
        &target,
    ]);
    run.assert_refused(addr, "name-mismatch", "certificate-host-mismatch");
}

#[test]
fn no_usable_record_is_no_dane() {
    // Exit status 3: records given, none usable (an unknown usage; PKIX-TA under the SMTP
    // profile), so DANE does not apply and nothing is authenticated.
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let addr = tls_server(server_config(h.chain2(), h.leaf.private_key()));
    let unknown = rec(&h.leaf, 255, 1, 1);
    let run = danecheck(&[
        "https",
        "--json",
        "--tlsa",
        &unknown,
        "--name",
        HOST,
        &addr.to_string(),
    ]);
    run.assert_failed(3, addr, "no-usable-records", Some("tlsa-invalid"));

    let smtp = SmtpServer::start(Smtp::new(server_config(h.chain2(), h.leaf.private_key())));
    let run = danecheck(&[
        "smtp-connect",
        "--tlsa",
        &rec(&h.intermediate, 0, 1, 1),
        "--name",
        HOST,
        &smtp.addr.to_string(),
    ]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.starts_with("not verified: "), "{run:?}");
}

#[test]
fn https_against_a_server_that_does_not_speak_tls() {
    // The SMTP greeting is not a TLS record: a TLS failure, not a DANE decision, but with
    // usable records still a DANE failure for the exit status (RFC 8460
    // validation-failure: never deliver).
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let smtp = SmtpServer::start(Smtp::new(server_config(h.chain2(), h.leaf.private_key())));
    let run = danecheck(&[
        "https",
        "--json",
        "--tlsa",
        &rec(&h.leaf, 3, 1, 1),
        "--name",
        HOST,
        &smtp.addr.to_string(),
    ]);
    run.assert_refused(smtp.addr, "tls-error", "validation-failure");
}

/// `--connect IP:PORT`: the name (`HOST`, also the SNI and the reference identifier) stays
/// the production one, the connection goes to the test server.
#[test]
fn https_connect_to_a_test_instance() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let addr = tls_server(server_config(h.chain2(), h.leaf.private_key()));
    let r211 = rec(&h.intermediate, 2, 1, 1);
    let run = danecheck(&[
        "https",
        "--tlsa",
        &r211,
        "--connect",
        &addr.to_string(),
        HOST,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "verified: Verified TLS connection (DANE-TA(2) SPKI(1) SHA2-256(1) at depth 1, \
             name mx.example.net) ({addr})\n"
        )
    );
    // Another name: the certificate does not match it.
    let run = danecheck(&[
        "https",
        "--json",
        "--tlsa",
        &r211,
        "--connect",
        &addr.to_string(),
        "other.example.net",
    ]);
    run.assert_refused(addr, "name-mismatch", "certificate-host-mismatch");
    for bad in ["127.0.0.1", "a.example:443", "[::1]:0"] {
        danecheck(&["https", "--tlsa", &r211, "--connect", bad, HOST])
            .assert_input_error(&format!("--connect {bad}"));
    }
}

#[test]
fn input_errors_exit_2() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let r311 = rec(&h.leaf, 3, 1, 1);
    let cases: &[(&str, &[&str])] = &[
        (
            "IP host without --name",
            &["https", "--tlsa", &r311, "127.0.0.1:1"],
        ),
        (
            "IPv6 host without --name",
            &["smtp-connect", "--tlsa", &r311, "[::1]:25"],
        ),
        ("no host", &["https", "--tlsa", &r311, "--name", HOST]),
        (
            "two hosts",
            &[
                "https",
                "--tlsa",
                &r311,
                "--name",
                HOST,
                "a.example",
                "b.example",
            ],
        ),
        ("no record", &["https", "--name", HOST, "127.0.0.1:1"]),
        (
            "bad record",
            &[
                "https",
                "--tlsa",
                "3 1 1 xyz",
                "--name",
                HOST,
                "127.0.0.1:1",
            ],
        ),
        ("bad port", &["https", "--tlsa", &r311, "a.example:99999"]),
        ("port 0", &["smtp-connect", "--tlsa", &r311, "a.example:0"]),
        ("bad host", &["https", "--tlsa", &r311, "a..example"]),
        (
            "unclosed bracket",
            &["https", "--tlsa", &r311, "--name", HOST, "[::1:25"],
        ),
        (
            "bad --name",
            &[
                "https",
                "--tlsa",
                &r311,
                "--name",
                "*.example",
                "127.0.0.1:1",
            ],
        ),
        (
            "bad --timeout",
            &["https", "--tlsa", &r311, "--timeout", "0", "a.example"],
        ),
        (
            "bad --timeout",
            &["https", "--tlsa", &r311, "--timeout", "soon", "a.example"],
        ),
        (
            "bad --profile",
            &["https", "--tlsa", &r311, "--profile", "web", "a.example"],
        ),
        (
            "bad --ehlo",
            &[
                "smtp-connect",
                "--tlsa",
                &r311,
                "--ehlo",
                "a b",
                "a.example",
            ],
        ),
        (
            "--profile is not for SMTP",
            &[
                "smtp-connect",
                "--tlsa",
                &r311,
                "--profile",
                "generic",
                "a.example",
            ],
        ),
        (
            "--ehlo is not for HTTPS",
            &["https", "--tlsa", &r311, "--ehlo", "a.example", "a.example"],
        ),
    ];
    for (what, args) in cases {
        let run = danecheck(args);
        run.assert_input_error(what);
    }
    let run = danecheck(&["https", "--tlsa", &r311, "127.0.0.1:1"]);
    assert!(run.stderr.contains("--name"), "{run:?}");

    for command in ["https", "smtp-connect"] {
        let run = danecheck(&[command, "--help"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("danecheck https"), "{run:?}");
        assert!(run.stdout.contains("danecheck smtp-connect"), "{run:?}");
    }
}

// --------------------------------------------------------------------------------- SMTP

#[test]
fn smtp_starttls_dane_ee_verifies() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let smtp = SmtpServer::start(Smtp::new(server_config(h.chain2(), h.leaf.private_key())));
    let target = smtp.addr.to_string();
    let r311 = rec(&h.leaf, 3, 1, 1);

    let run = danecheck(&[
        "smtp-connect",
        "--json",
        "--tlsa",
        &r311,
        "--name",
        HOST,
        &target,
    ]);
    run.assert_verified(smtp.addr, [3, 1, 1], 0, 0);
    assert_eq!(
        smtp.transcript(),
        ["EHLO danecheck.invalid", "STARTTLS", "TLS QUIT"]
    );

    // Human output, a chosen EHLO name, a DANE-TA record.
    let r211 = rec(&h.intermediate, 2, 1, 1);
    let run = danecheck(&[
        "smtp-connect",
        "--tlsa",
        &r211,
        "--name",
        HOST,
        "--ehlo",
        "client.example.org",
        &target,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "verified: Verified TLS connection (DANE-TA(2) SPKI(1) SHA2-256(1) at depth 1, \
             name mx.example.net) ({target})\n"
        )
    );
    assert_eq!(
        smtp.transcript()[3..],
        ["EHLO client.example.org", "STARTTLS", "TLS QUIT"]
    );
}

#[test]
fn smtp_impostor_is_refused() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let impostor = Cert::self_signed(&Spec::leaf(&[HOST]));
    let smtp = SmtpServer::start(Smtp::new(server_config(
        vec![impostor.der.clone()],
        impostor.private_key(),
    )));
    let run = danecheck(&[
        "smtp-connect",
        "--json",
        "--tlsa",
        &rec(&h.leaf, 3, 1, 1),
        "--tlsa",
        &rec(&h.intermediate, 2, 1, 1),
        "--name",
        HOST,
        &smtp.addr.to_string(),
    ]);
    run.assert_refused(smtp.addr, "no-match", "certificate-not-trusted");
    // No QUIT over a connection that failed authentication.
    assert_eq!(smtp.transcript(), ["EHLO danecheck.invalid", "STARTTLS"]);
}

#[test]
fn smtp_without_starttls() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let smtp = SmtpServer::start(Smtp {
        // A multi-line greeting, too.
        greeting: "220-mx.example.net ESMTP test\r\n220-more text\r\n220 last line\r\n",
        offer_starttls: false,
        ..Smtp::new(server_config(h.chain2(), h.leaf.private_key()))
    });
    let args = [
        "smtp-connect",
        "--json",
        "--tlsa",
        &rec(&h.leaf, 3, 1, 1),
        "--name",
        HOST,
        &smtp.addr.to_string(),
    ];
    let run = danecheck(&args);
    run.assert_refused(
        smtp.addr,
        "starttls-not-supported",
        "starttls-not-supported",
    );
    // Without --json.
    let mut human = vec![args[0]];
    human.extend_from_slice(&args[2..]);
    let run = danecheck(&human);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "not verified: the server does not offer STARTTLS [starttls-not-supported] ({})\n",
            smtp.addr
        )
    );
}

#[test]
fn smtp_errors_before_tls() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let config = server_config(h.chain2(), h.leaf.private_key());
    let r311 = rec(&h.leaf, 3, 1, 1);
    let check = |addr: SocketAddr| {
        danecheck(&[
            "smtp-connect",
            "--json",
            "--tlsa",
            &r311,
            "--name",
            HOST,
            &addr.to_string(),
        ])
    };

    let busy = SmtpServer::start(Smtp {
        greeting: "554 5.3.2 no service\r\n",
        ..Smtp::new(config.clone())
    });
    check(busy.addr).assert_not_checked(busy.addr, "smtp-error");

    let refusing = SmtpServer::start(Smtp {
        starttls_reply: "454 4.7.0 TLS not available\r\n",
        ..Smtp::new(config.clone())
    });
    let run = check(refusing.addr);
    run.assert_not_checked(refusing.addr, "starttls-refused");
    assert!(
        run.json()["message"].as_str().unwrap().contains("454"),
        "{run:?}"
    );

    let garbled = SmtpServer::start(Smtp {
        greeting: "hello\r\n",
        ..Smtp::new(config)
    });
    check(garbled.addr).assert_not_checked(garbled.addr, "smtp-error");
}

#[test]
fn smtp_connection_refused_and_timeout() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let r311 = rec(&h.leaf, 3, 1, 1);

    let closed = closed_port();
    let run = danecheck(&[
        "smtp-connect",
        "--json",
        "--tlsa",
        &r311,
        "--name",
        HOST,
        &closed.to_string(),
    ]);
    run.assert_not_checked(closed, "connect-failed");

    // Accepts, never speaks: the greeting times out.
    let silent = serve(|mut tcp| {
        let _ = tcp.read_to_end(&mut Vec::new());
    });
    let start = Instant::now();
    let run = danecheck(&[
        "smtp-connect",
        "--json",
        "--timeout",
        "1",
        "--tlsa",
        &r311,
        "--name",
        HOST,
        &silent.to_string(),
    ]);
    run.assert_not_checked(silent, "timeout");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(8),
        "{elapsed:?}"
    );
}
