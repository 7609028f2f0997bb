//! Runs the `danecheck` binary (feature `cli`) on certificates generated at test time, and
//! checks its exit status, stdout and stderr.
#![cfg(feature = "cli")]

mod common;
use common::cli::{Run, TempDir, rec, wrong};
use common::pki::{ALGS, Alg, Cert, Hierarchy, Spec, ymd};

use serde_json::Value;

const HOST: &str = "mx.example.net";

/// 2026-06-01, the `now` of the shared PKI helper, as an `--at` argument.
fn at_now() -> String {
    ymd(2026, 6, 1).to_string()
}

// ------------------------------------------------------------------------------ harness

/// Runs the `danecheck` binary.
fn danecheck<S: AsRef<str>>(args: &[S]) -> Run {
    common::cli::run(args)
}

impl Run {
    /// Asserts a verify verdict: exit status, JSON fields and field order.
    fn assert_verified(&self, usage: u64, selector: u64, matching: u64, index: u64, depth: u64) {
        assert_eq!(self.code, 0, "{self:?}");
        let j = self.json();
        assert_eq!(j["verified"], true, "{self:?}");
        assert_eq!(j["usage"], usage, "{self:?}");
        assert_eq!(j["selector"], selector, "{self:?}");
        assert_eq!(j["matching"], matching, "{self:?}");
        assert_eq!(j["record_index"], index, "{self:?}");
        assert_eq!(j["depth"], depth, "{self:?}");
        assert_eq!(j["error"], Value::Null, "{self:?}");
        assert!(self.stderr.is_empty(), "{self:?}");
    }

    /// Asserts a refusal with exit status 1 and the given error category.
    fn assert_refused(&self, category: &str) {
        assert_eq!(self.code, 1, "{self:?}");
        let j = self.json();
        assert_eq!(j["verified"], false, "{self:?}");
        assert_eq!(j["error"], category, "{self:?}");
        for field in ["usage", "selector", "matching", "record_index", "depth"] {
            assert_eq!(j[field], Value::Null, "{field}: {self:?}");
        }
        assert!(self.stderr.is_empty(), "{self:?}");
    }

    /// [`Run::assert_input_error`] (`what`), and the stderr line says more than
    /// `danecheck: ` and a few characters.
    fn assert_input_error_with_message(&self, what: &str) {
        self.assert_input_error(what);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(lines[0].len() > "danecheck: ".len() + 5, "{what}: {self:?}");
    }
}

/// A PEM file holding `certs` in order.
fn pem(certs: &[&Cert]) -> String {
    certs.iter().map(|c| c.pem.as_str()).collect()
}

/// `verify --json --at <now> --chain <chain> --name HOST` plus `extra`.
fn verify_json(chain: &str, extra: &[&str]) -> Run {
    let at = at_now();
    let mut args = vec![
        "verify", "--json", "--at", &at, "--chain", chain, "--name", HOST,
    ];
    args.extend_from_slice(extra);
    danecheck(&args)
}

// ------------------------------------------------------------------------------- DANE-EE

#[test]
fn dane_ee_3_1_1_verifies() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("dane_ee_3_1_1_verifies");
    let chain = dir.write("chain.pem", pem(&[&h.leaf, &h.intermediate]));
    let r311 = rec(&h.leaf, 3, 1, 1);

    let run = verify_json(&chain, &["--tlsa", &r311]);
    run.assert_verified(3, 1, 1, 0, 0);
    let j = run.json();
    assert_eq!(j["name"], Value::Null, "DANE-EE checks no name by default");
    assert_eq!(j["tls_rpt"], Value::Null);
    // The seven contract fields come first, in order.
    let keys: Vec<&str> = run.stdout.split('"').skip(1).step_by(2).collect();
    assert_eq!(
        keys,
        [
            "verified",
            "usage",
            "selector",
            "matching",
            "record_index",
            "depth",
            "error",
            "name",
            "tls_rpt"
        ],
        "{run:?}"
    );

    // Human output, without --at (DANE-EE does not look at the clock).
    let run = danecheck(&["verify", "--chain", &chain, "--tlsa", &r311, "--name", HOST]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "verified: DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0 (record #0)\n"
    );
    assert!(run.stderr.is_empty(), "{run:?}");

    // A leaf alone, mnemonics, `--opt=value` syntax, a second record that matches later.
    let leaf_only = dir.write("leaf.pem", &h.leaf.pem);
    let mnemonic = format!("dane-ee spki sha2-256 {}", &r311[6..]);
    let wrong311 = wrong(&h.leaf, 3, 1, 1);
    let run = verify_json(
        &leaf_only,
        &["--tlsa", &wrong311, &format!("--tlsa={mnemonic}")],
    );
    run.assert_verified(3, 1, 1, 1, 0);
}

#[test]
fn impostor_chain_is_refused() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let impostor = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("impostor_chain_is_refused");
    let chain = dir.write("chain.pem", pem(&[&impostor.leaf, &impostor.intermediate]));
    let records = [
        rec(&h.leaf, 3, 1, 1),
        rec(&h.intermediate, 2, 1, 1),
        rec(&h.root, 2, 0, 1),
    ];

    let mut args = vec![];
    for r in &records {
        args.extend(["--tlsa", r.as_str()]);
    }
    let run = verify_json(&chain, &args);
    run.assert_refused("no-match");
    assert_eq!(run.json()["tls_rpt"], "certificate-not-trusted");

    let run = danecheck(&[
        "verify",
        "--chain",
        &chain,
        "--tlsa",
        &records[0],
        "--name",
        HOST,
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        "not verified: no usable TLSA record matches the presented certificates \
         [certificate-not-trusted]\n"
    );
}

#[test]
fn dane_ee_name_check_is_opt_in() {
    let h = Hierarchy::new(Alg::P256, &["other.example.org"]);
    let dir = TempDir::new("dane_ee_name_check_is_opt_in");
    let chain = dir.write("chain.pem", pem(&[&h.leaf, &h.intermediate]));
    let r311 = rec(&h.leaf, 3, 1, 1);

    verify_json(&chain, &["--tlsa", &r311]).assert_verified(3, 1, 1, 0, 0);
    let run = verify_json(&chain, &["--tlsa", &r311, "--dane-ee-name-check"]);
    run.assert_refused("name-mismatch");
    assert_eq!(run.json()["tls_rpt"], "certificate-host-mismatch");
    // A further reference name that the certificate carries.
    let run = verify_json(
        &chain,
        &[
            "--tlsa",
            &r311,
            "--dane-ee-name-check",
            "--name",
            "other.example.org",
        ],
    );
    run.assert_verified(3, 1, 1, 0, 0);
    assert_eq!(run.json()["name"], "other.example.org");
}

// ------------------------------------------------------------------------------- DANE-TA

#[test]
fn dane_ta_2_1_1_intermediate_and_names() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("dane_ta_2_1_1_intermediate_and_names");
    let chain = dir.write("chain.pem", pem(&[&h.leaf, &h.intermediate]));
    let r211 = rec(&h.intermediate, 2, 1, 1);

    let run = verify_json(&chain, &["--tlsa", &r211]);
    run.assert_verified(2, 1, 1, 0, 1);
    assert_eq!(run.json()["name"], HOST);

    let run = danecheck(&[
        "verify",
        "--chain",
        &chain,
        "--tlsa",
        &r211,
        "--name",
        HOST,
        "--at",
        &at_now(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!("verified: DANE-TA(2) SPKI(1) SHA2-256(1) at depth 1, name {HOST} (record #0)\n")
    );

    // The wrong base domain.
    let at = at_now();
    let wrong_name = [
        "verify", "--json", "--at", &at, "--chain", &chain, "--tlsa", &r211,
    ];
    let run = danecheck(&[&wrong_name[..], &["--name", "mx.example.org"]].concat());
    run.assert_refused("name-mismatch");
    assert_eq!(run.json()["tls_rpt"], "certificate-host-mismatch");
    let run = danecheck(&[
        "verify",
        "--chain",
        &chain,
        "--tlsa",
        &r211,
        "--name",
        "mx.example.org",
        "--at",
        &at,
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.starts_with("not verified: "), "{run:?}");
    assert!(
        run.stdout.ends_with(" [certificate-host-mismatch]\n"),
        "{run:?}"
    );

    // A second --name is an acceptable reference identifier (the SMTP next-hop domain).
    let run = danecheck(
        &[
            &wrong_name[..],
            &["--name", "mx.example.org", "--name", "MX.Example.NET."],
        ]
        .concat(),
    );
    run.assert_verified(2, 1, 1, 0, 1);
    assert_eq!(run.json()["name"], HOST);
}

#[test]
fn dane_ta_2_0_0_root_not_in_chain() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("dane_ta_2_0_0_root_not_in_chain");
    let chain = dir.write("chain.pem", pem(&[&h.leaf, &h.intermediate]));
    let r200 = rec(&h.root, 2, 0, 0);

    // The anchor counts as appended to the two-certificate chain.
    verify_json(&chain, &["--tlsa", &r200]).assert_verified(2, 0, 0, 0, 2);
    // The same root as a digest cannot be found: the server did not send it.
    verify_json(&chain, &["--tlsa", &rec(&h.root, 2, 0, 1)]).assert_refused("no-match");
    // Sent by the server, it is at depth 2.
    let chain3 = dir.write("chain3.pem", pem(&[&h.leaf, &h.intermediate, &h.root]));
    verify_json(&chain3, &["--tlsa", &rec(&h.root, 2, 0, 1)]).assert_verified(2, 0, 1, 0, 2);
}

#[test]
fn expired_leaf_fails_dane_ta_but_not_dane_ee() {
    let root = Cert::self_signed(&Spec::ca("Test Root CA"));
    let intermediate = root.issue(&Spec::ca("Test Intermediate CA"));
    let leaf = intermediate.issue(&Spec::leaf(&[HOST]).valid((2024, 1, 1), (2025, 1, 1)));
    let dir = TempDir::new("expired_leaf_fails_dane_ta_but_not_dane_ee");
    let chain = dir.write("chain.pem", pem(&[&leaf, &intermediate]));
    let r211 = rec(&intermediate, 2, 1, 1);

    let run = verify_json(&chain, &["--tlsa", &r211]);
    run.assert_refused("expired");
    assert_eq!(run.json()["tls_rpt"], "certificate-expired");
    // RFC 7671 §5.1: dates do not matter under DANE-EE.
    verify_json(&chain, &["--tlsa", &rec(&leaf, 3, 1, 1)]).assert_verified(3, 1, 1, 0, 0);
    // --at moves the clock: valid in mid-2024, not yet valid in 2023.
    let at = |y| {
        let at = ymd(y, 6, 1).to_string();
        danecheck(&[
            "verify", "--json", "--chain", &chain, "--tlsa", &r211, "--name", HOST, "--at", &at,
        ])
    };
    at(2024).assert_verified(2, 1, 1, 0, 1);
    at(2023).assert_refused("not-yet-valid");
}

// ---------------------------------------------------------------------- RRset handling

#[test]
fn all_unusable_records() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("all_unusable_records");
    let chain = dir.write("chain.pem", pem(&[&h.leaf, &h.intermediate]));
    let r311 = rec(&h.leaf, 3, 1, 1);
    let hex = &r311[6..];
    let short = format!("3 1 1 {}", &hex[2..]);
    let unknown_usage = format!("4 1 1 {hex}");
    let private_matching = format!("3 1 255 {hex}");
    // PKIX usages are unusable in the SMTP profile (RFC 7672 §3.1.3).
    let pkix = rec(&h.leaf, 1, 1, 1);

    let run = verify_json(
        &chain,
        &[
            "--tlsa",
            &short,
            "--tlsa",
            &unknown_usage,
            "--tlsa",
            &private_matching,
            "--tlsa",
            &pkix,
        ],
    );
    run.assert_refused("no-usable-records");
    assert_eq!(run.json()["tls_rpt"], "tlsa-invalid");
    // One usable record among them is found.
    let run = verify_json(
        &chain,
        &["--tlsa", &short, "--tlsa", &unknown_usage, "--tlsa", &r311],
    );
    run.assert_verified(3, 1, 1, 2, 0);
}

#[test]
fn digest_agility_and_digest_order() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("digest_agility_and_digest_order");
    let chain = dir.write("chain.pem", pem(&[&h.leaf, &h.intermediate]));
    let good256 = rec(&h.leaf, 3, 1, 1);
    let bad512 = wrong(&h.leaf, 3, 1, 2);
    let records = ["--tlsa", &good256, "--tlsa", &bad512];

    // Default order: SHA2-512 is published, so the (matching) SHA2-256 record is ignored.
    verify_json(&chain, &records).assert_refused("no-match");
    for order in ["sha512,sha256", "SHA2-512,SHA2-256", "2,1"] {
        verify_json(&chain, &[&records[..], &["--digest-order", order]].concat())
            .assert_refused("no-match");
    }
    // A verifier without SHA2-512, or preferring SHA2-256, uses the SHA2-256 record.
    for order in ["sha256", "SHA2-256", "1", "sha256,sha512", "1, 2"] {
        verify_json(&chain, &[&records[..], &["--digest-order", order]].concat())
            .assert_verified(3, 1, 1, 0, 0);
    }
    // With only SHA2-512 supported, SHA2-256 records are unusable.
    verify_json(&chain, &["--tlsa", &good256, "--digest-order", "sha512"])
        .assert_refused("no-usable-records");
    // The SHA2-512 record, when right, wins under the default order.
    let good512 = rec(&h.leaf, 3, 1, 2);
    verify_json(
        &chain,
        &["--tlsa", &wrong(&h.leaf, 3, 1, 1), "--tlsa", &good512],
    )
    .assert_verified(3, 1, 2, 1, 0);
}

#[test]
fn tlsa_file_with_zone_lines_and_comments() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("tlsa_file_with_zone_lines_and_comments");
    let chain = dir.write("chain.pem", pem(&[&h.leaf, &h.intermediate]));
    let r211 = rec(&h.intermediate, 2, 1, 1);
    let hex = &r211[6..];
    let file = dir.write(
        "rrs.txt",
        format!(
            "; TLSA RRset for {HOST}\n\
             \n\
             # a retired key\n\
             {retired}\n\
             $TTL 300\n\
             _25._tcp.{HOST}. 300 IN TLSA 3 1 1 {wrong_ee} ; stale\n\
             \t\n\
             _25._tcp.{HOST}. IN TLSA DANE-TA SPKI SHA2-256 (\n\
             \t{a}\n\
             \t{b} )\n",
            retired = wrong(&h.leaf, 3, 0, 1),
            wrong_ee = &wrong(&h.leaf, 3, 1, 1)[6..],
            a = &hex[..32],
            b = &hex[32..],
        ),
    );
    let run = verify_json(&chain, &["--tlsa-file", &file]);
    run.assert_verified(2, 1, 1, 2, 1);

    // --tlsa records are numbered first.
    let run = verify_json(
        &chain,
        &["--tlsa-file", &file, "--tlsa", &wrong(&h.leaf, 2, 1, 1)],
    );
    run.assert_verified(2, 1, 1, 3, 1);

    // A plain presentation line and a `dig`-style answer line with class and TTL.
    let plain = dir.write("plain.txt", format!("{}\n", rec(&h.leaf, 3, 1, 1)));
    verify_json(&chain, &["--tlsa-file", &plain]).assert_verified(3, 1, 1, 0, 0);
    let dig = dir.write(
        "dig.txt",
        format!("_25._tcp.{HOST}.\t3600\tIN\tTLSA\t{r211}\n"),
    );
    verify_json(&chain, &["--tlsa-file", &dig]).assert_verified(2, 1, 1, 0, 1);
}

// ---------------------------------------------------------------------------------- PKIX

#[test]
fn pkix_ee_with_roots_and_generic_profile() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("pkix_ee_with_roots_and_generic_profile");
    let chain = dir.write("chain.pem", pem(&[&h.leaf, &h.intermediate]));
    let roots = dir.write("roots.pem", pem(&[&h.root]));
    let r111 = rec(&h.leaf, 1, 1, 1);
    let generic = ["--profile", "generic"];

    let run = verify_json(
        &chain,
        &[&generic[..], &["--roots", &roots, "--tlsa", &r111]].concat(),
    );
    run.assert_verified(1, 1, 1, 0, 0);
    assert_eq!(run.json()["name"], HOST);
    // PKIX-TA on the intermediate.
    let r011 = rec(&h.intermediate, 0, 1, 1);
    verify_json(
        &chain,
        &[&generic[..], &["--roots", &roots, "--tlsa", &r011]].concat(),
    )
    .assert_verified(0, 1, 1, 0, 1);
    // Without roots PKIX usages cannot succeed.
    verify_json(&chain, &[&generic[..], &["--tlsa", &r111]].concat())
        .assert_refused("no-pkix-roots");
    // With roots that did not issue the chain.
    let other = Hierarchy::new(Alg::P256, &[HOST]);
    let other_roots = dir.write("other.pem", pem(&[&other.root]));
    verify_json(
        &chain,
        &[&generic[..], &["--roots", &other_roots, "--tlsa", &r111]].concat(),
    )
    .assert_refused("pkix-failure");
    // The SMTP profile (the default) ignores PKIX usages.
    verify_json(&chain, &["--roots", &roots, "--tlsa", &r111]).assert_refused("no-usable-records");
    verify_json(
        &chain,
        &["--profile", "smtp", "--roots", &roots, "--tlsa", &r111],
    )
    .assert_refused("no-usable-records");
}

// ------------------------------------------------------------------------------ generate

#[test]
fn generate_round_trips_through_verify() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("generate_round_trips_through_verify");
    let chain = dir.write("chain.pem", pem(&[&h.leaf, &h.intermediate]));
    let leaf = dir.write("leaf.pem", &h.leaf.pem);
    let intermediate = dir.write("intermediate.pem", &h.intermediate.pem);

    // Defaults: 3 1 1, the same as the library computes.
    let run = danecheck(&["generate", "--cert", &leaf]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    assert_eq!(run.stdout, format!("{}\n", rec(&h.leaf, 3, 1, 1)));
    verify_json(&chain, &["--tlsa", run.stdout.trim()]).assert_verified(3, 1, 1, 0, 0);

    // The first certificate of a chain file is the one used.
    let run = danecheck(&["generate", "--cert", &chain]);
    assert_eq!(run.stdout, format!("{}\n", rec(&h.leaf, 3, 1, 1)));

    // Mnemonics and numbers; a DANE-TA record for the intermediate.
    let run = danecheck(&[
        "generate",
        "--cert",
        &intermediate,
        "--usage",
        "DANE-TA",
        "--selector",
        "cert",
        "--matching",
        "2",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, format!("{}\n", rec(&h.intermediate, 2, 0, 2)));
    verify_json(&chain, &["--tlsa", run.stdout.trim()]).assert_verified(2, 0, 2, 0, 1);

    // Full(0) data: the whole SPKI.
    let run = danecheck(&["generate", "--cert", &leaf, "--matching", "Full"]);
    assert_eq!(run.stdout, format!("{}\n", rec(&h.leaf, 3, 1, 0)));
    verify_json(&chain, &["--tlsa", run.stdout.trim()]).assert_verified(3, 1, 0, 0, 0);

    // A zone-file line, which --tlsa-file takes as it is.
    let run = danecheck(&["generate", "--cert", &leaf, "--host", HOST]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!("_25._tcp.{HOST}. IN TLSA {}\n", rec(&h.leaf, 3, 1, 1))
    );
    let zone = dir.write("zone.txt", &run.stdout);
    verify_json(&chain, &["--tlsa-file", &zone]).assert_verified(3, 1, 1, 0, 0);
    // ... and so does --tlsa.
    verify_json(&chain, &["--tlsa", run.stdout.trim()]).assert_verified(3, 1, 1, 0, 0);

    // JSON.
    let run = danecheck(&[
        "generate",
        "--json",
        "--cert",
        &leaf,
        "--host",
        "MX.example.net.",
        "--port",
        "465",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let j = run.json();
    assert_eq!(j["record"], rec(&h.leaf, 3, 1, 1));
    assert_eq!(j["owner"], format!("_465._tcp.{HOST}."));
    let run = danecheck(&["generate", "--json", "--cert", &leaf]);
    assert_eq!(run.json()["owner"], Value::Null);
    let record = run.json()["record"].as_str().unwrap().to_owned();
    verify_json(&chain, &["--tlsa", &record]).assert_verified(3, 1, 1, 0, 0);
}

#[test]
fn every_key_algorithm_round_trips() {
    for alg in ALGS {
        let h = Hierarchy::new(alg, &[HOST]);
        let dir = TempDir::new(&format!("every_key_algorithm_round_trips-{alg:?}"));
        // The server also sends a private key by mistake: only certificates are read.
        let key = "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n";
        let chain = dir.write(
            "chain.pem",
            format!("{}{key}{}", h.leaf.pem, h.intermediate.pem),
        );
        let intermediate = dir.write("intermediate.pem", &h.intermediate.pem);
        let run = danecheck(&["generate", "--cert", &intermediate, "--usage", "2"]);
        assert_eq!(run.code, 0, "{alg:?}: {run:?}");
        verify_json(&chain, &["--tlsa", run.stdout.trim()]).assert_verified(2, 1, 1, 0, 1);
    }
}

// ------------------------------------------------------------------- usage and input errors

#[test]
fn help_and_missing_command() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["verify", "--help"],
        &["generate", "-h"],
        &["https", "--help"],
        &["smtp-connect", "-h"],
    ] {
        let run = danecheck(args);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        assert!(run.stdout.contains("danecheck verify --chain"), "{run:?}");
        assert!(run.stdout.contains("danecheck generate --cert"), "{run:?}");
        assert_exit_statuses_documented(&run.stdout);
        assert!(run.stderr.is_empty(), "{run:?}");
    }
    let run = danecheck::<&str>(&[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.contains("danecheck verify --chain"), "{run:?}");
}

/// The help lists every exit status and their precedence.
fn assert_exit_statuses_documented(help: &str) {
    for line in [
        "  0  DANE-authenticated",
        "  1  DANE failure",
        "  2  bad usage or input",
        "  3  no DANE",
        "  4  lookup or connection failure",
        "1 over 4, 4 over 3, 3 over 0",
    ] {
        assert!(
            help.contains(line),
            "{line:?} missing from the help:\n{help}"
        );
    }
}

#[test]
fn input_errors_exit_2_with_one_line() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("input_errors_exit_2_with_one_line");
    let chain = dir.write("chain.pem", pem(&[&h.leaf, &h.intermediate]));
    let leaf = dir.write("leaf.pem", &h.leaf.pem);
    let r311 = rec(&h.leaf, 3, 1, 1);
    let good_file = dir.write("good.txt", format!("{r311}\n"));

    let bad_base64 = dir.write(
        "bad-base64.pem",
        "-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n",
    );
    let truncated = {
        let pem = &h.leaf.pem;
        let cut = pem.find("-----END").unwrap();
        dir.write("truncated.pem", &pem[..cut])
    };
    let bad_begin = dir.write("bad-begin.pem", "-----BEGIN CERTIFICATE----\nAAAA\n");
    let no_cert = dir.write(
        "key.pem",
        "just some text\n-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
    );
    let empty = dir.write("empty.pem", "");
    let missing = dir.path("does-not-exist.pem");
    let bad_tlsa_file = dir.write("bad.txt", format!("; comment\n{r311}\n3 1 1 xyz\n"));
    let open_paren = dir.write("paren.txt", "3 1 1 ( abcd\n");
    let no_records = dir.write("none.txt", "; nothing\n\n# here\n");
    let not_der = dir.write(
        "not-der.pem",
        "-----BEGIN CERTIFICATE-----\nAAECAw==\n-----END CERTIFICATE-----\n",
    );

    // Each case is a command line whose upper-case words stand for the values below.
    let vars: &[(&str, &str)] = &[
        ("CHAIN", &chain),
        ("LEAF", &leaf),
        ("R311", &r311),
        ("GOOD_FILE", &good_file),
        ("BAD_BASE64", &bad_base64),
        ("TRUNCATED", &truncated),
        ("BAD_BEGIN", &bad_begin),
        ("NO_CERT", &no_cert),
        ("EMPTY", &empty),
        ("MISSING", &missing),
        ("BAD_TLSA_FILE", &bad_tlsa_file),
        ("OPEN_PAREN", &open_paren),
        ("NO_RECORDS", &no_records),
        ("NOT_DER", &not_der),
        ("BAD_HEX", "3 1 1 zz"),
        ("ODD_HEX", "3 1 1 abc"),
        ("NO_MATCHING", "3 1"),
        ("BAD_USAGE", "DANE 1 1 00"),
        ("BLANK", ""),
    ];
    let expand = |template: &str| -> Vec<String> {
        template
            .split_whitespace()
            .map(|word| {
                let value = vars
                    .iter()
                    .find(|(k, _)| *k == word)
                    .map_or(word, |(_, v)| v);
                value.to_owned()
            })
            .collect()
    };
    let cases = [
        (
            "malformed PEM (base64)",
            "verify --chain BAD_BASE64 --tlsa R311 --name a.example",
        ),
        (
            "malformed PEM (no END)",
            "verify --chain TRUNCATED --tlsa R311 --name a.example",
        ),
        (
            "malformed PEM (BEGIN)",
            "verify --chain BAD_BEGIN --tlsa R311 --name a.example",
        ),
        (
            "PEM without certificate",
            "verify --chain NO_CERT --tlsa R311 --name a.example",
        ),
        (
            "empty chain",
            "verify --chain EMPTY --tlsa R311 --name a.example",
        ),
        (
            "unreadable chain",
            "verify --chain MISSING --tlsa R311 --name a.example",
        ),
        (
            "unreadable roots",
            "verify --chain CHAIN --tlsa R311 --name a.example --roots MISSING",
        ),
        (
            "roots, no certificate",
            "verify --chain CHAIN --tlsa R311 --name a.example --roots NO_CERT",
        ),
        (
            "unreadable TLSA file",
            "verify --chain CHAIN --tlsa-file MISSING --name a.example",
        ),
        (
            "bad TLSA file line",
            "verify --chain CHAIN --tlsa-file BAD_TLSA_FILE --name a.example",
        ),
        (
            "unbalanced parenthesis",
            "verify --chain CHAIN --tlsa-file OPEN_PAREN --name a.example",
        ),
        (
            "TLSA file, no records",
            "verify --chain CHAIN --tlsa-file NO_RECORDS --name a.example",
        ),
        (
            "bad hex",
            "verify --chain CHAIN --tlsa BAD_HEX --name a.example",
        ),
        (
            "odd hex",
            "verify --chain CHAIN --tlsa ODD_HEX --name a.example",
        ),
        (
            "missing field",
            "verify --chain CHAIN --tlsa NO_MATCHING --name a.example",
        ),
        (
            "bad usage",
            "verify --chain CHAIN --tlsa BAD_USAGE --name a.example",
        ),
        (
            "empty record",
            "verify --chain CHAIN --tlsa BLANK --name a.example",
        ),
        (
            "unknown flag",
            "verify --chain CHAIN --tlsa R311 --name a.example --frobnicate",
        ),
        (
            "unknown short flag",
            "verify --chain CHAIN --tlsa R311 --name a.example -x",
        ),
        (
            "stray argument",
            "verify --chain CHAIN --tlsa R311 --name a.example extra",
        ),
        ("missing --chain", "verify --tlsa R311 --name a.example"),
        ("missing --name", "verify --chain CHAIN --tlsa R311"),
        ("missing records", "verify --chain CHAIN --name a.example"),
        ("missing value", "verify --chain CHAIN --tlsa R311 --name"),
        (
            "option as value",
            "verify --chain --tlsa R311 --name a.example",
        ),
        (
            "repeated --chain",
            "verify --chain CHAIN --tlsa R311 --name a.example --chain CHAIN",
        ),
        (
            "value on a switch",
            "verify --chain CHAIN --tlsa R311 --name a.example --json=yes",
        ),
        (
            "bad --at",
            "verify --chain CHAIN --tlsa R311 --name a.example --at yesterday",
        ),
        (
            "negative --at",
            "verify --chain CHAIN --tlsa R311 --name a.example --at -5",
        ),
        (
            "fractional --at",
            "verify --chain CHAIN --tlsa R311 --name a.example --at 1.5",
        ),
        (
            "bad --profile",
            "verify --chain CHAIN --tlsa R311 --name a.example --profile https",
        ),
        (
            "bad --name",
            "verify --chain CHAIN --tlsa R311 --name *.example.net",
        ),
        (
            "bad second --name",
            "verify --chain CHAIN --tlsa R311 --name a.example --name a..b",
        ),
        (
            "bad digest",
            "verify --chain CHAIN --tlsa R311 --name a.example --digest-order md5",
        ),
        (
            "Full(0) digest",
            "verify --chain CHAIN --tlsa R311 --name a.example --digest-order 1,0",
        ),
        (
            "empty digest list",
            "verify --chain CHAIN --tlsa R311 --name a.example --digest-order=",
        ),
        (
            "repeated digest",
            "verify --chain CHAIN --tlsa R311 --name a.example --digest-order 1,1",
        ),
        (
            "--json with input error",
            "verify --json --chain EMPTY --tlsa R311 --name a.example",
        ),
        ("unknown command", "check --chain CHAIN"),
        (
            "option before command",
            "--json verify --chain CHAIN --tlsa R311 --name a.example",
        ),
        ("generate: no --cert", "generate"),
        ("generate: unreadable", "generate --cert MISSING"),
        ("generate: no certificate", "generate --cert NO_CERT"),
        ("generate: empty file", "generate --cert EMPTY"),
        ("generate: malformed PEM", "generate --cert BAD_BASE64"),
        ("generate: not DER", "generate --cert NOT_DER"),
        ("generate: bad usage", "generate --cert LEAF --usage DANE"),
        (
            "generate: bad selector",
            "generate --cert LEAF --selector 256",
        ),
        (
            "generate: private selector",
            "generate --cert LEAF --selector 255",
        ),
        (
            "generate: private matching",
            "generate --cert LEAF --matching PrivMatch",
        ),
        (
            "generate: bad port",
            "generate --cert LEAF --host a.example --port 65536",
        ),
        ("generate: port, no host", "generate --cert LEAF --port 25"),
        ("generate: bad host", "generate --cert LEAF --host a_b..c"),
        ("generate: verify flag", "generate --cert LEAF --tlsa R311"),
    ];
    for (what, template) in cases {
        danecheck(&expand(template)).assert_input_error_with_message(what);
    }

    // The good inputs do verify and generate, so each error above comes from its bad part.
    let ok = |template: &str| {
        let run = danecheck(&expand(template));
        assert_eq!(run.code, 0, "{template}: {run:?}");
    };
    ok("verify --chain CHAIN --tlsa R311 --name a.example");
    ok("verify --chain CHAIN --tlsa-file GOOD_FILE --name a.example");
    ok("generate --cert LEAF --host a.example --port 65535");
}

#[test]
fn messages_name_the_problem() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("messages_name_the_problem");
    let chain = dir.write("chain.pem", pem(&[&h.leaf]));
    let r311 = rec(&h.leaf, 3, 1, 1);
    let file = dir.write("rrs.txt", format!("{r311}\n\n; x\n3 1 1 0g\n"));

    let run = danecheck(&[
        "verify",
        "--chain",
        &chain,
        "--tlsa-file",
        &file,
        "--name",
        HOST,
    ]);
    run.assert_input_error_with_message("--tlsa-file line");
    assert!(run.stderr.contains("line 4"), "{run:?}");
    assert!(run.stderr.contains("'g'"), "{run:?}");

    let run = danecheck(&[
        "verify", "--chain", &chain, "--tlsa", &r311, "--name", HOST, "--bogus",
    ]);
    run.assert_input_error_with_message("unknown option");
    assert!(run.stderr.contains("--bogus"), "{run:?}");

    let run = danecheck(&["verify", "--chain", &chain, "--tlsa", &r311]);
    run.assert_input_error_with_message("missing --name");
    assert!(run.stderr.contains("--name"), "{run:?}");

    let run = danecheck(&[
        "verify", "--chain", &chain, "--tlsa", &r311, "--name", HOST, "--at", "soon",
    ]);
    run.assert_input_error_with_message("bad --at");
    assert!(run.stderr.contains("--at"), "{run:?}");
}

#[test]
fn malformed_certificate_in_chain_is_a_dane_failure() {
    // Well-formed PEM whose DER is not a certificate: what a broken server could send. The
    // input is readable, so this is a verification failure (exit 1), not an input error.
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let dir = TempDir::new("malformed_certificate_in_chain_is_a_dane_failure");
    let chain = dir.write(
        "chain.pem",
        "-----BEGIN CERTIFICATE-----\nAAECAw==\n-----END CERTIFICATE-----\n",
    );
    verify_json(&chain, &["--tlsa", &rec(&h.leaf, 3, 1, 1)])
        .assert_refused("malformed-certificate");
    // A bad intermediate does not matter to DANE-EE, but does to DANE-TA.
    let chain = dir.write(
        "chain2.pem",
        format!(
            "{}-----BEGIN CERTIFICATE-----\nAAECAw==\n-----END CERTIFICATE-----\n",
            h.leaf.pem
        ),
    );
    verify_json(&chain, &["--tlsa", &rec(&h.leaf, 3, 1, 1)]).assert_verified(3, 1, 1, 0, 0);
    verify_json(&chain, &["--tlsa", &rec(&h.intermediate, 2, 1, 1)])
        .assert_refused("malformed-certificate");
}
