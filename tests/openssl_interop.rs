//! Our verdict against OpenSSL's (the engine under Postfix, our reference where the RFCs
//! leave a choice) on the same inputs: for each case the chain is served by
//! `openssl s_server` on loopback and checked by `openssl s_client -dane_tlsa_rrdata …`,
//! and the same chain and records go through [`dane::verify`]. Verified / refused must agree
//! and, on success, so must the depth OpenSSL reports (`… at depth N`).
//!
//! Where OpenSSL decides differently, the case asserts our documented behaviour and says
//! why in `differs` (OpenSSL's verdict is printed, not asserted).
//!
//! Needs the `openssl` command (3.x). Without it the tests print a loud message and return
//! on a developer machine; with `CI=true` they fail.

mod common;
use common::pki::{Alg, Cert, Hierarchy, Spec, now};

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dane::pki_types::CertificateDer;
use dane::{Policy, ReferenceName, Tlsa, TlsaSet, verify};

const HOST: &str = "mx.example.net";

/// Whether the `openssl` command is there; panics under `CI=true` when it is not.
fn have_openssl() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but the `openssl` command is missing: install OpenSSL 3");
        }
        eprintln!("\n*** openssl_interop: `openssl` command not found; SKIPPING ***\n");
    }
    found
}

/// What a server presents: the chain (leaf first) and the leaf's private key.
struct Peer {
    ders: Vec<CertificateDer<'static>>,
    pems: Vec<String>,
    key_pem: String,
}

fn peer(leaf: &Cert, rest: &[&Cert]) -> Peer {
    Peer {
        ders: std::iter::once(leaf)
            .chain(rest.iter().copied())
            .map(|c| c.der.clone())
            .collect(),
        pems: std::iter::once(leaf)
            .chain(rest.iter().copied())
            .map(|c| c.pem.clone())
            .collect(),
        key_pem: leaf.key.serialize_pem(),
    }
}

fn rec(der: &CertificateDer<'_>, u: u8, s: u8, m: u8) -> Tlsa {
    Tlsa::from_certificate(der, u.into(), s.into(), m.into()).unwrap()
}

/// Which name-check regime both sides use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Names {
    /// `Policy::smtp` / `-dane_ee_no_namechecks` (Postfix).
    NoEe,
    /// `Policy::generic(..).with_dane_ee_name_checks(true)` / OpenSSL's default.
    WithEe,
}

struct Case {
    name: &'static str,
    peer: Peer,
    records: Vec<Tlsa>,
    names: Names,
    /// The reference identifier (`-dane_tlsa_domain`; the SNI name stays [`HOST`]).
    host: &'static str,
    /// Our documented verdict: `Some(depth)` verified, `None` refused.
    ours: Option<usize>,
    /// Set where OpenSSL decides otherwise: why.
    differs: Option<&'static str>,
}

impl Case {
    fn new(name: &'static str, peer: Peer, records: Vec<Tlsa>, ours: Option<usize>) -> Self {
        Self {
            name,
            peer,
            records,
            names: Names::NoEe,
            host: HOST,
            ours,
            differs: None,
        }
    }
    fn ee_names(mut self) -> Self {
        self.names = Names::WithEe;
        self
    }
    fn host(mut self, host: &'static str) -> Self {
        self.host = host;
        self
    }
    fn differs(mut self, why: &'static str) -> Self {
        self.differs = Some(why);
        self
    }
}

/// OpenSSL's verdict.
#[derive(Debug)]
struct OsslVerdict {
    /// `Some(depth)` on "Verification: OK" (depth from the `DANE TLSA … at depth N` line).
    ok: Option<Option<usize>>,
    /// s_client refused the records before connecting ("Failed to import any TLSA records").
    load_refused: bool,
    /// The first line explaining a failure.
    reason: String,
}

impl OsslVerdict {
    fn verified(&self) -> bool {
        self.ok.is_some()
    }
    fn depth(&self) -> Option<usize> {
        self.ok.flatten()
    }
    fn describe(&self) -> String {
        match self.ok {
            Some(Some(d)) => format!("OK depth {d}"),
            Some(None) => "OK (no DANE line)".into(),
            None if self.load_refused => format!("refused at load ({})", self.reason),
            None => format!("refused ({})", self.reason),
        }
    }
}

static DIRS: AtomicUsize = AtomicUsize::new(0);

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dane-openssl-interop-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits for `child` up to `limit`, killing it after; returns (exit ok, stdout + stderr).
fn wait_output(mut child: Child, limit: Duration) -> (bool, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut out);
    }
    if status.is_none() {
        out.push_str("\n[s_client timed out]\n");
    }
    (status.is_some_and(|s| s.success()), out)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(dir: &Path, has_chain: bool, port: u16) -> Child {
    let mut cmd = Command::new("openssl");
    cmd.current_dir(dir)
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
        .args(["-cert", "leaf.pem", "-key", "key.pem"]);
    if has_chain {
        cmd.args(["-cert_chain", "rest.pem"]);
    }
    cmd.args(["-naccept", "1", "-quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn openssl s_server")
}

fn run_client(case: &Case, port: u16) -> (bool, String) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", HOST, "-dane_tlsa_domain", case.host]);
    for r in &case.records {
        cmd.args(["-dane_tlsa_rrdata", &r.to_string()]);
    }
    cmd.args(["-attime", &now().as_secs().to_string()]);
    if case.names == Names::NoEe {
        cmd.arg("-dane_ee_no_namechecks");
    }
    let child = cmd
        .args(["-verify_return_error", "-brief"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl s_client");
    wait_output(child, Duration::from_secs(10))
}

/// Serves `case.peer` with s_server and checks it with s_client.
fn openssl_verdict(case: &Case) -> OsslVerdict {
    let dir = scratch_dir();
    let peer = &case.peer;
    std::fs::write(dir.join("leaf.pem"), &peer.pems[0]).unwrap();
    std::fs::write(dir.join("key.pem"), &peer.key_pem).unwrap();
    let has_chain = peer.pems.len() > 1;
    if has_chain {
        std::fs::write(dir.join("rest.pem"), peer.pems[1..].concat()).unwrap();
    }
    let mut servers = 0;
    let (ok, out) = 'serve: loop {
        servers += 1;
        assert!(
            servers <= 10,
            "openssl s_server could not bind a loopback port"
        );
        // The port is free once the listener is dropped; a server that loses it to another
        // process exits, and the case is served again on another port.
        let port = free_port();
        let mut server = start_server(&dir, has_chain, port);
        let start = Instant::now();
        loop {
            if server.try_wait().unwrap().is_some() {
                continue 'serve;
            }
            let (ok, out) = run_client(case, port);
            // Not listening yet: a refused connection does not use up the server's accept.
            if out.contains("connect:errno=") && start.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            // Our own child; it is normally gone already (-naccept 1), not when s_client
            // refused the records before connecting.
            let _ = server.kill();
            let _ = server.wait();
            break 'serve (ok, out);
        }
    };
    let _ = std::fs::remove_dir_all(&dir);

    let load_refused = out.contains("Failed to import any TLSA records");
    let verified = ok && out.lines().any(|l| l.trim() == "Verification: OK");
    let depth = out
        .lines()
        .filter(|l| l.starts_with("DANE TLSA "))
        .find_map(|l| l.rsplit_once(" at depth ")?.1.trim().parse().ok());
    let reason = out
        .lines()
        .find(|l| {
            l.contains("verify error:")
                || l.contains("Verification error:")
                || l.contains("unusable TLSA")
                || l.contains("Failed to import")
        })
        .or_else(|| out.lines().find(|l| l.contains("error")))
        .unwrap_or("no explanation")
        .trim()
        .to_string();
    OsslVerdict {
        ok: verified.then_some(depth),
        load_refused,
        reason,
    }
}

fn our_verdict(case: &Case) -> Result<usize, dane::Error> {
    let host = ReferenceName::new(case.host).unwrap();
    let policy = match case.names {
        Names::NoEe => Policy::smtp(host),
        Names::WithEe => Policy::generic(host).with_dane_ee_name_checks(true),
    };
    let set = TlsaSet::new(case.records.iter().cloned());
    verify(&case.peer.ders, &set, &policy, now()).map(|v| v.depth())
}

/// Runs the cases one after the other, prints a table, and fails with every mismatch.
fn check(cases: Vec<Case>) {
    if !have_openssl() {
        return;
    }
    let mut failures = Vec::new();
    for case in &cases {
        let ossl = openssl_verdict(case);
        let ours = our_verdict(case);
        let ours_text = match &ours {
            Ok(d) => format!("OK depth {d}"),
            Err(e) => format!("refused ({e})"),
        };
        let ours = ours.ok();
        let agree = ossl.verified() == ours.is_some() && (ours.is_none() || ossl.depth() == ours);
        let names = match case.names {
            Names::NoEe => "smtp/no-ee-names",
            Names::WithEe => "generic+ee-names",
        };
        eprintln!(
            "{:<58} [{names}] openssl: {} | ours: {ours_text} | {}",
            case.name,
            ossl.describe(),
            if agree { "agree" } else { "DIFFER" }
        );
        if ours != case.ours {
            failures.push(format!(
                "{}: ours {ours_text}, documented {:?}",
                case.name, case.ours
            ));
        }
        match case.differs {
            None if !agree => failures.push(format!(
                "{}: openssl {} but ours {ours_text}",
                case.name,
                ossl.describe()
            )),
            Some(why) if !agree => eprintln!("    known difference: {why}"),
            Some(_) => eprintln!("    documented as a difference, but OpenSSL now agrees"),
            None => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn leaf_spec() -> Spec {
    Spec::leaf(&[HOST])
}

const EXPIRED: ((i32, u8, u8), (i32, u8, u8)) = ((2020, 1, 1), (2021, 1, 1));

// ---------------------------------------------------------------- cases

/// Case 1: DANE-EE: certificate and SPKI, wrong name, expired self-signed leaf.
#[test]
fn dane_ee() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let chain = || peer(&h.leaf, &[&h.intermediate]);
    let wrong = h.intermediate.issue(&Spec::leaf(&["other.example.org"]));
    let wrong_peer = || peer(&wrong, &[&h.intermediate]);
    let expired = Cert::self_signed(&leaf_spec().valid(EXPIRED.0, EXPIRED.1));
    check(vec![
        Case::new(
            "1 3 1 1 leaf",
            chain(),
            vec![rec(&h.leaf.der, 3, 1, 1)],
            Some(0),
        ),
        Case::new(
            "1 3 0 1 leaf",
            chain(),
            vec![rec(&h.leaf.der, 3, 0, 1)],
            Some(0),
        ),
        Case::new(
            "1 3 1 1 leaf",
            chain(),
            vec![rec(&h.leaf.der, 3, 1, 1)],
            Some(0),
        )
        .ee_names(),
        Case::new(
            "1 3 1 1 leaf, wrong name",
            wrong_peer(),
            vec![rec(&wrong.der, 3, 1, 1)],
            Some(0),
        ),
        Case::new(
            "1 3 1 1 leaf, wrong name",
            wrong_peer(),
            vec![rec(&wrong.der, 3, 1, 1)],
            None,
        )
        .ee_names(),
        Case::new(
            "1 3 1 1 expired self-signed leaf",
            peer(&expired, &[]),
            vec![rec(&expired.der, 3, 1, 1)],
            Some(0),
        ),
        Case::new(
            "1 3 1 1 expired self-signed leaf",
            peer(&expired, &[]),
            vec![rec(&expired.der, 3, 1, 1)],
            Some(0),
        )
        .ee_names(),
    ]);
}

/// Case 2: DANE-TA with the anchor sent: the intermediate (depth 1), the root (depth 2).
#[test]
fn dane_ta_sent() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let chain2 = || peer(&h.leaf, &[&h.intermediate]);
    let chain3 = || peer(&h.leaf, &[&h.intermediate, &h.root]);
    check(vec![
        Case::new(
            "2 2 1 1 intermediate",
            chain2(),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            Some(1),
        ),
        Case::new(
            "2 2 0 1 intermediate",
            chain2(),
            vec![rec(&h.intermediate.der, 2, 0, 1)],
            Some(1),
        ),
        Case::new(
            "2 2 1 1 intermediate",
            chain2(),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            Some(1),
        )
        .ee_names(),
        Case::new(
            "2 2 1 1 root, root sent",
            chain3(),
            vec![rec(&h.root.der, 2, 1, 1)],
            Some(2),
        ),
        Case::new(
            "2 2 0 1 root, root sent",
            chain3(),
            vec![rec(&h.root.der, 2, 0, 1)],
            Some(2),
        ),
        Case::new(
            "2 2 0 0 root, root sent",
            chain3(),
            vec![rec(&h.root.der, 2, 0, 0)],
            Some(2),
        ),
        Case::new(
            "2 2 1 0 intermediate key, intermediate sent",
            chain2(),
            vec![rec(&h.intermediate.der, 2, 1, 0)],
            Some(1),
        ),
    ]);
}

/// Case 3: DANE-TA with the anchor only in the record: 2 0 0 certificate, 2 1 0 bare key.
/// OpenSSL counts a 2 0 0 anchor as appended to the chain (depth = chain length) and
/// reports a 2 1 0 key at the depth of the topmost certificate it signed; so do we.
#[test]
fn dane_ta_from_record() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let chain2 = || peer(&h.leaf, &[&h.intermediate]);
    check(vec![
        Case::new(
            "3 2 0 0 root not sent",
            chain2(),
            vec![rec(&h.root.der, 2, 0, 0)],
            Some(2),
        ),
        Case::new(
            "3 2 1 0 root key not sent",
            chain2(),
            vec![rec(&h.root.der, 2, 1, 0)],
            Some(1),
        ),
        Case::new(
            "3 2 0 0 intermediate not sent (leaf alone)",
            peer(&h.leaf, &[]),
            vec![rec(&h.intermediate.der, 2, 0, 0)],
            Some(1),
        ),
        Case::new(
            "3 2 1 0 intermediate key not sent (leaf alone)",
            peer(&h.leaf, &[]),
            vec![rec(&h.intermediate.der, 2, 1, 0)],
            Some(0),
        ),
    ]);
}

/// Case 4: DANE-TA records of the leaf itself: a digest never matches at depth 0 (both
/// sides); a bare 2 1 0 key that signed a self-signed leaf does (both sides); a 2 0 0 copy
/// of a self-signed leaf does not.
#[test]
fn dane_ta_leaf() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let selfsigned = Cert::self_signed(&leaf_spec());
    check(vec![
        Case::new(
            "4 2 1 1 of the leaf",
            peer(&h.leaf, &[&h.intermediate]),
            vec![rec(&h.leaf.der, 2, 1, 1)],
            None,
        ),
        Case::new(
            "4 2 0 1 of a self-signed leaf",
            peer(&selfsigned, &[]),
            vec![rec(&selfsigned.der, 2, 0, 1)],
            None,
        ),
        Case::new(
            "4 2 0 0 of a self-signed leaf",
            peer(&selfsigned, &[]),
            vec![rec(&selfsigned.der, 2, 0, 0)],
            // A self-signed leaf ends its chain at depth 0, where TA records never match;
            // the record's copy of the leaf is not taken as an anchor either.
            None,
        ),
        Case::new(
            "4 2 1 0 of a self-signed leaf",
            peer(&selfsigned, &[]),
            vec![rec(&selfsigned.der, 2, 1, 0)],
            // A bare key signs the topmost certificate: here the leaf, at depth 0. OpenSSL
            // agrees ("signed the certificate at depth 0").
            Some(0),
        ),
    ]);
}

/// Case 5: Names below a DANE-TA anchor: wrong name, wildcard SAN, CN only.
#[test]
fn dane_ta_names() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let ta = || vec![rec(&h.intermediate.der, 2, 1, 1)];
    let wrong = h.intermediate.issue(&Spec::leaf(&["other.example.org"]));
    let wildcard = h.intermediate.issue(&Spec::leaf(&["*.example.net"]));
    let cn_only = h.intermediate.issue(&Spec {
        dns: vec![],
        ..leaf_spec()
    });
    let partial = h.intermediate.issue(&Spec::leaf(&["mx*.example.net"]));
    check(vec![
        Case::new(
            "5 2 1 1, wrong name",
            peer(&wrong, &[&h.intermediate]),
            ta(),
            None,
        ),
        Case::new(
            "5 2 1 1, wildcard SAN *.example.net",
            peer(&wildcard, &[&h.intermediate]),
            ta(),
            Some(1),
        ),
        Case::new(
            "5 2 1 1, CN only, no SAN",
            peer(&cn_only, &[&h.intermediate]),
            ta(),
            Some(1),
        ),
        Case::new(
            "5 2 1 1, partial wildcard SAN mx*.example.net",
            peer(&partial, &[&h.intermediate]),
            ta(),
            None,
        )
        // We match whole-label wildcards only (RFC 6125 §6.4.3, RFC 7672). s_client uses
        // X509_check_host's defaults, which accept `mx*`; Postfix sets
        // X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS and so refuses, like us.
        .differs(
            "s_client accepts the partial wildcard mx*.example.net (OK depth 1); \
             we (and Postfix, which sets NO_PARTIAL_WILDCARDS) refuse it",
        ),
    ]);
}

/// Case 6: Dates: an expired anchor (its own dates are not checked, by OpenSSL either), an
/// expired leaf below a valid anchor.
#[test]
fn dane_ta_dates() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let old_ca = h
        .root
        .issue(&Spec::ca("Expired Intermediate CA").valid((2015, 1, 1), (2020, 1, 1)));
    let under_old = old_ca.issue(&leaf_spec());
    let expired_leaf = h
        .intermediate
        .issue(&leaf_spec().valid(EXPIRED.0, EXPIRED.1));
    check(vec![
        Case::new(
            "6 2 1 1 of an expired intermediate",
            peer(&under_old, &[&old_ca]),
            vec![rec(&old_ca.der, 2, 1, 1)],
            Some(1),
        ),
        Case::new(
            "6 2 1 1 intermediate, expired leaf",
            peer(&expired_leaf, &[&h.intermediate]),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            None,
        ),
    ]);
}

/// Case 7: Another key under the same name: refused.
#[test]
fn impostor() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let impostor = h.intermediate.issue(&leaf_spec());
    check(vec![
        Case::new(
            "7 3 1 1 of the real leaf, impostor leaf",
            peer(&impostor, &[&h.intermediate]),
            vec![rec(&h.leaf.der, 3, 1, 1)],
            None,
        ),
        Case::new(
            "7 3 1 1 of the real leaf, impostor leaf",
            peer(&impostor, &[&h.intermediate]),
            vec![rec(&h.leaf.der, 3, 1, 1)],
            None,
        )
        .ee_names(),
    ]);
}

/// Case 8: Unusable records: a digest of the wrong length, an unknown usage. s_client
/// rejects such a record at load time ("unusable TLSA rrdata"); with no other record it
/// does not connect at all ("Failed to import any TLSA records"), which counts as a refusal.
#[test]
fn unusable_records() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let chain = || peer(&h.leaf, &[&h.intermediate]);
    let good = rec(&h.leaf.der, 3, 1, 1);
    let short = Tlsa::new(3, 1, 1, &good.data()[..31]);
    let usage255 = Tlsa::new(255, 1, 1, good.data());
    check(vec![
        Case::new(
            "8 3 1 1 digest of 31 octets alone",
            chain(),
            vec![short.clone()],
            None,
        ),
        Case::new("8 255 1 1 alone", chain(), vec![usage255.clone()], None),
        Case::new(
            "8 3 1 1 digest of 31 octets + good 3 1 1",
            chain(),
            vec![short, good.clone()],
            Some(0),
        ),
        Case::new(
            "8 255 1 1 + good 3 1 1",
            chain(),
            vec![usage255, good],
            Some(0),
        ),
    ]);
}

/// Case 9: Digest agility (RFC 7671 §9): per usage and selector, a non-matching SHA2-512
/// record hides the SHA2-256 one; OpenSSL applies the same rule.
#[test]
fn digest_agility() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let chain = || peer(&h.leaf, &[&h.intermediate]);
    let other = Cert::self_signed(&leaf_spec());
    check(vec![
        Case::new(
            "9 3 1 1 (match) + 3 1 2 (no match)",
            chain(),
            vec![rec(&h.leaf.der, 3, 1, 1), rec(&other.der, 3, 1, 2)],
            None,
        ),
        Case::new(
            "9 3 1 1 (no match) + 3 1 2 (match)",
            chain(),
            vec![rec(&other.der, 3, 1, 1), rec(&h.leaf.der, 3, 1, 2)],
            Some(0),
        ),
        Case::new(
            "9 3 1 1 (match) + 3 0 2 (no match, other selector)",
            chain(),
            vec![rec(&h.leaf.der, 3, 1, 1), rec(&other.der, 3, 0, 2)],
            Some(0),
        ),
        Case::new(
            "9 2 1 1 intermediate (match) + 2 1 2 (no match)",
            chain(),
            vec![rec(&h.intermediate.der, 2, 1, 1), rec(&other.der, 2, 1, 2)],
            None,
        ),
    ]);
}

/// A CA (basicConstraints CA:TRUE) leaf with digitalSignature + keyCertSign and serverAuth,
/// issued by a fresh CA: (leaf, issuer).
fn ca_leaf_with_digital_signature() -> (Peer, CertificateDer<'static>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, SanType,
    };
    let params = |cn: &str| {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.not_before = rcgen::date_time_ymd(2025, 1, 1);
        p.not_after = rcgen::date_time_ymd(2027, 1, 1);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p
    };
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca_params = params("Test Issuing CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut leaf_params = params(HOST);
    leaf_params.subject_alt_names = vec![SanType::DnsName(HOST.try_into().unwrap())];
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params
        .signed_by(&leaf_key, &Issuer::from_params(&ca_params, &ca_key))
        .unwrap();
    let peer = Peer {
        ders: vec![leaf.der().clone(), ca.der().clone()],
        pems: vec![leaf.pem(), ca.pem()],
        key_pem: leaf_key.serialize_pem(),
    };
    (peer, ca.der().clone())
}

/// Case 10: A leaf that is itself a CA certificate, under 2 1 1 of its issuer.
#[test]
fn ca_leaf() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let ca_leaf = h.intermediate.issue(&Spec {
        ca: true,
        ..leaf_spec()
    });
    let (ds_peer, ds_issuer) = ca_leaf_with_digital_signature();
    check(vec![
        Case::new(
            "10 2 1 1 issuer, CA leaf (keyCertSign only)",
            peer(&ca_leaf, &[&h.intermediate]),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            // Both refuse, for different reasons: OpenSSL for the key usage ("unsuitable
            // certificate purpose"), we because the leaf is a CA (CaUsedAsEndEntity).
            None,
        ),
        Case::new(
            "10 2 1 1 issuer, CA leaf (digitalSignature+keyCertSign)",
            ds_peer,
            vec![rec(&ds_issuer, 2, 1, 1)],
            None,
        )
        // Documented (lib.rs, "Choices"): rustls-webpki refuses a CA certificate as the end
        // entity (CaUsedAsEndEntity); OpenSSL accepts it when its key usage allows TLS.
        .differs(
            "OpenSSL accepts a CA:TRUE leaf whose key usage includes digitalSignature \
             (OK depth 1); rustls-webpki refuses it (CaUsedAsEndEntity)",
        ),
        Case::new(
            "10 3 1 1 of a CA leaf (keyCertSign only)",
            peer(&ca_leaf, &[&h.intermediate]),
            vec![rec(&ca_leaf.der, 3, 1, 1)],
            Some(0),
        ),
    ]);
}

/// Case 11: A subject CN used as the name (no dNSName SAN) must obey the dNSName name
/// constraints of the path and anchor (RFC 5280 §4.2.1.10; OpenSSL's
/// `NAME_CONSTRAINTS_check_CN`). The same leaves with the name inside the permitted subtree
/// verify.
#[test]
fn cn_name_constraints() {
    let root = Cert::self_signed(&Spec::ca("Test Root CA"));
    let outside = root.issue(&Spec::ca("Constrained CA").permit(&["attacker.example"]));
    let inside = root.issue(&Spec::ca("Constrained CA").permit(&["example.net"]));
    let excluding = root.issue(&Spec::ca("Excluding CA").exclude(&["example.net"]));
    let cn_only = |ca: &Cert| ca.issue(&Spec::leaf(&[]).cn(HOST));
    let ip_only = |ca: &Cert| ca.issue(&Spec::leaf(&[]).cn(HOST).ip("192.0.2.1"));
    let mut cases = Vec::new();
    for (what, ca, ours) in [
        ("permitted attacker.example", &outside, None),
        ("permitted example.net", &inside, Some(())),
        ("excluded example.net", &excluding, None),
    ] {
        for (shape, leaf) in [("CN only", cn_only(ca)), ("IP SAN + CN", ip_only(ca))] {
            let name = |r: &str| -> &'static str {
                Box::leak(format!("11 {r}, CA {what}, {shape}").into_boxed_str())
            };
            cases.push(Case::new(
                name("2 1 1 CA"),
                peer(&leaf, &[ca]),
                vec![rec(&ca.der, 2, 1, 1)],
                ours.map(|()| 1),
            ));
            cases.push(Case::new(
                name("2 0 0 root"),
                peer(&leaf, &[ca]),
                vec![rec(&root.der, 2, 0, 0)],
                ours.map(|()| 2),
            ));
            cases.push(Case::new(
                name("2 1 0 root key"),
                peer(&leaf, &[ca]),
                vec![rec(&root.der, 2, 1, 0)],
                ours.map(|()| 1),
            ));
        }
    }
    // The name in a dNSName SAN: both refuse (rustls-webpki checks SANs).
    let san = outside.issue(&leaf_spec());
    cases.push(Case::new(
        "11 2 1 1 CA, CA permitted attacker.example, SAN",
        peer(&san, &[&outside]),
        vec![rec(&outside.der, 2, 1, 1)],
        None,
    ));
    check(cases);
}

/// Case 12: Name corner cases of OpenSSL's `X509_check_host` (issue 13): a wildcard never
/// stands for a label with `_`, a pattern with `_` (or a label starting with a hyphen) is
/// no wildcard, a presented name with a final dot never matches.
#[test]
fn name_corner_cases() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let ta = || vec![rec(&h.intermediate.der, 2, 1, 1)];
    let with_san = |san: &str| {
        peer(
            &h.intermediate.issue(&Spec::leaf(&[san])),
            &[&h.intermediate],
        )
    };
    let with_cn = |cn: &str| {
        peer(
            &h.intermediate.issue(&Spec::leaf(&[]).cn(cn)),
            &[&h.intermediate],
        )
    };
    check(vec![
        Case::new(
            "12 *.example.net for a_b.example.net",
            with_san("*.example.net"),
            ta(),
            None,
        )
        .host("a_b.example.net"),
        Case::new(
            "12 *.example.net for _x.example.net",
            with_san("*.example.net"),
            ta(),
            None,
        )
        .host("_x.example.net"),
        Case::new(
            "12 *.example.net for a-b.example.net",
            with_san("*.example.net"),
            ta(),
            Some(1),
        )
        .host("a-b.example.net"),
        Case::new(
            "12 *._tcp.example.net for x._tcp.example.net",
            with_san("*._tcp.example.net"),
            ta(),
            None,
        )
        .host("x._tcp.example.net"),
        Case::new(
            "12 *.-ex.example.net for a.-ex.example.net",
            with_san("*.-ex.example.net"),
            ta(),
            None,
        )
        .host("a.-ex.example.net"),
        Case::new(
            "12 _x.example.net exactly",
            with_san("_x.example.net"),
            ta(),
            Some(1),
        )
        .host("_x.example.net"),
        Case::new(
            "12 SAN mx.example.net. (final dot)",
            with_san("mx.example.net."),
            ta(),
            None,
        ),
        Case::new(
            "12 SAN *.example.net. (final dot)",
            with_san("*.example.net."),
            ta(),
            None,
        ),
        Case::new(
            "12 CN mx.example.net. (final dot)",
            with_cn("mx.example.net."),
            ta(),
            None,
        ),
        Case::new(
            "12 SAN mx.example.net, reference mx.example.net.",
            with_san(HOST),
            ta(),
            Some(1),
        )
        .host("mx.example.net.")
        .differs(
            "X509_check_host compares a reference name with a final dot literally and refuses \
             it; we normalise reference names (the final dot of a fully qualified name)",
        ),
    ]);
}

/// Case 13: A leaf with two subjectAltName extensions (RFC 5280 §4.2: an extension appears
/// at most once), the first naming the host, under DANE-EE with name checks and DANE-TA.
#[test]
fn duplicate_san_extension() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    // extnValue: SEQUENCE { [2] "other.example.org" }.
    let other = b"other.example.org";
    let mut san = vec![0x30, other.len() as u8 + 2, 0x82, other.len() as u8];
    san.extend_from_slice(other);
    let leaf = h
        .intermediate
        .issue(&Spec::leaf(&[HOST]).extension(&[2, 5, 29, 17], &san));
    check(vec![
        Case::new(
            "13 3 1 1, two SAN extensions",
            peer(&leaf, &[&h.intermediate]),
            vec![rec(&leaf.der, 3, 1, 1)],
            None,
        )
        .ee_names()
        .differs(
            "OpenSSL's DANE-EE match skips chain checks, and X509_check_host, finding the \
             SAN ambiguous, falls back to the CN (OK depth 0); we refuse the malformed \
             certificate, as OpenSSL and rustls-webpki do under DANE-TA",
        ),
        Case::new(
            "13 2 1 1, two SAN extensions",
            peer(&leaf, &[&h.intermediate]),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            None,
        ),
    ]);
}

/// Case 14: A DANE-TA anchor above the leaf that is no CA certificate (RFC 5280 §4.2.1.9):
/// OpenSSL's `check_chain` refuses it ("invalid CA certificate") whether the record names
/// the sent certificate or carries it (2 0 0), and keeps its legacy exceptions (a v1
/// self-signed root; no basicConstraints but a keyUsage with keyCertSign). A bare 2 1 0 key
/// whose certificate is not sent is accepted: nothing says it is no CA.
#[test]
fn dane_ta_anchor_not_a_ca() {
    use rcgen::KeyUsagePurpose as Ku;
    let root = Cert::self_signed(&Spec::ca("Test Root CA"));
    let under = |anchor: &Cert| anchor.issue(&leaf_spec());
    let ca_false = root.issue(&Spec::not_ca("CA False", true, &[Ku::DigitalSignature]));
    let no_bc = root.issue(&Spec::not_ca("No BC", false, &[]));
    let no_bc_ku = root.issue(&Spec::not_ca(
        "No BC KeyCertSign",
        false,
        &[Ku::KeyCertSign],
    ));
    let no_sign = root.issue(&Spec::ca("CA No CertSign").key_usages(&[Ku::DigitalSignature]));
    let v1 = root.issue(&Spec::ca("V1 Int")).to_v1(&root.key);
    let v1_root = {
        let v3 = Cert::self_signed(&Spec::ca("V1 Root"));
        v3.to_v1(&v3.key)
    };
    let selfsigned = Cert::self_signed(&leaf_spec());
    let mut cases = Vec::new();
    for (what, anchor, ok) in [
        ("CA:FALSE", &ca_false, false),
        ("no basicConstraints", &no_bc, false),
        ("no basicConstraints, keyCertSign", &no_bc_ku, true),
        ("CA:TRUE without keyCertSign", &no_sign, false),
        ("v1 issued by a root", &v1, false),
        ("v1 self-signed root", &v1_root, true),
    ] {
        let leaf = under(anchor);
        let name = |r: &str| -> &'static str {
            Box::leak(format!("14 {r}, anchor {what}").into_boxed_str())
        };
        let sent = || peer(&leaf, &[anchor]);
        cases.push(Case::new(
            name("2 0 1 sent"),
            sent(),
            vec![rec(&anchor.der, 2, 0, 1)],
            ok.then_some(1),
        ));
        cases.push(Case::new(
            name("2 1 0 sent"),
            sent(),
            vec![rec(&anchor.der, 2, 1, 0)],
            ok.then_some(1),
        ));
        cases.push(Case::new(
            name("2 0 0 not sent"),
            peer(&leaf, &[]),
            vec![rec(&anchor.der, 2, 0, 0)],
            ok.then_some(1),
        ));
        cases.push(Case::new(
            name("2 1 0 not sent"),
            peer(&leaf, &[]),
            vec![rec(&anchor.der, 2, 1, 0)],
            Some(0),
        ));
    }
    cases.push(Case::new(
        "14 2 1 0 of a self-signed CA:FALSE leaf, sent twice",
        peer(&selfsigned, &[&selfsigned]),
        vec![rec(&selfsigned.der, 2, 1, 0)],
        Some(0),
    ));
    cases.push(Case::new(
        "14 2 0 1 of a self-signed CA:FALSE leaf, sent twice",
        peer(&selfsigned, &[&selfsigned]),
        vec![rec(&selfsigned.der, 2, 0, 1)],
        None,
    ));
    check(cases);
}

/// Case 15: the path below a DANE-TA anchor: X.509 version, extended key usage of the leaf
/// and of an intermediate, an intermediate that is no CA or may not sign certificates.
/// OpenSSL checks the path below the anchor as for PKIX (purpose `sslserver`, CA flags).
#[test]
fn dane_ta_path_checks() {
    use rcgen::{ExtendedKeyUsagePurpose as Eku, KeyUsagePurpose as Ku};
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let v1_leaf = h
        .intermediate
        .issue(&leaf_spec())
        .to_v1(&h.intermediate.key);
    // Same issuer name, signed by another key.
    let other = Hierarchy::new(Alg::P256, &[HOST]);
    let v1_impostor = h
        .intermediate
        .issue(&leaf_spec())
        .to_v1(&other.intermediate.key);
    let v1_expired = h
        .intermediate
        .issue(&leaf_spec().valid(EXPIRED.0, EXPIRED.1))
        .to_v1(&h.intermediate.key);
    let v1_wrong = h
        .intermediate
        .issue(&Spec::leaf(&["other.example.org"]))
        .to_v1(&h.intermediate.key);
    let client_leaf = h
        .intermediate
        .issue(&leaf_spec().eku(vec![Eku::ClientAuth]));
    let client_ca = h
        .root
        .issue(&Spec::ca("Client-only CA").eku(vec![Eku::ClientAuth]));
    let under_client_ca = client_ca.issue(&leaf_spec());
    let not_ca = h.root.issue(&Spec::not_ca(
        "Not a CA",
        true,
        &[Ku::DigitalSignature, Ku::KeyCertSign],
    ));
    let under_not_ca = not_ca.issue(&leaf_spec());
    let no_cert_sign = h
        .root
        .issue(&Spec::ca("No keyCertSign CA").key_usages(&[Ku::DigitalSignature, Ku::CrlSign]));
    let under_no_cert_sign = no_cert_sign.issue(&leaf_spec());
    let no_ku = h.root.issue(&Spec::ca("No keyUsage CA").key_usages(&[]));
    let under_no_ku = no_ku.issue(&leaf_spec());
    let root = || rec(&h.root.der, 2, 0, 1);
    let nr_leaf = h
        .intermediate
        .issue(&leaf_spec().key_usages(&[Ku::ContentCommitment]));
    let ka_leaf = h
        .intermediate
        .issue(&leaf_spec().key_usages(&[Ku::KeyAgreement]));
    check(vec![
        Case::new(
            "15 2 1 1 intermediate, leaf keyUsage nonRepudiation only",
            peer(&nr_leaf, &[&h.intermediate]),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            None,
        ),
        Case::new(
            "15 3 1 1 leaf keyUsage nonRepudiation only",
            peer(&nr_leaf, &[&h.intermediate]),
            vec![rec(&nr_leaf.der, 3, 1, 1)],
            Some(0),
        ),
        Case::new(
            "15 2 1 1 intermediate, leaf keyUsage keyAgreement only",
            peer(&ka_leaf, &[&h.intermediate]),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            Some(1),
        ),
        Case::new(
            "15 2 1 1 intermediate, X.509 v1 leaf (CN only)",
            peer(&v1_leaf, &[&h.intermediate]),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            Some(1),
        ),
        Case::new(
            "15 2 1 0 intermediate key not sent, X.509 v1 leaf alone",
            peer(&v1_leaf, &[]),
            vec![rec(&h.intermediate.der, 2, 1, 0)],
            Some(0),
        ),
        Case::new(
            "15 2 1 1 intermediate, X.509 v1 leaf of another key (impostor)",
            peer(&v1_impostor, &[&h.intermediate]),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            None,
        ),
        Case::new(
            "15 2 1 1 intermediate, expired X.509 v1 leaf",
            peer(&v1_expired, &[&h.intermediate]),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            None,
        ),
        Case::new(
            "15 2 1 1 intermediate, X.509 v1 leaf, wrong name",
            peer(&v1_wrong, &[&h.intermediate]),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            None,
        ),
        Case::new(
            "15 2 0 1 root (sent), intermediate, X.509 v1 leaf",
            peer(&v1_leaf, &[&h.intermediate, &h.root]),
            vec![root()],
            None,
        )
        .differs(
            "s_client accepts an X.509 v1 leaf two steps below the anchor; rustls-webpki, \
             which validates our DANE-TA paths, refuses v1 end-entity certificates, and we \
             accept a v1 leaf only when the matched anchor issued it directly",
        ),
        Case::new(
            "15 2 1 1 intermediate, leaf EKU clientAuth only",
            peer(&client_leaf, &[&h.intermediate]),
            vec![rec(&h.intermediate.der, 2, 1, 1)],
            None,
        ),
        Case::new(
            "15 2 0 1 root (sent), intermediate EKU clientAuth only",
            peer(&under_client_ca, &[&client_ca, &h.root]),
            vec![root()],
            None,
        ),
        Case::new(
            "15 2 0 1 root (sent), intermediate CA:FALSE",
            peer(&under_not_ca, &[&not_ca, &h.root]),
            vec![root()],
            None,
        ),
        Case::new(
            "15 2 0 1 root (sent), intermediate keyUsage without keyCertSign",
            peer(&under_no_cert_sign, &[&no_cert_sign, &h.root]),
            vec![root()],
            None,
        ),
        Case::new(
            "15 2 0 1 root (sent), intermediate without keyUsage",
            peer(&under_no_ku, &[&no_ku, &h.root]),
            vec![root()],
            Some(2),
        ),
    ]);
}
