//! `danecheck`: check a certificate chain against TLSA records, check a live server (HTTPS
//! or SMTP with STARTTLS) against them, or print the TLSA record for a certificate; with
//! `--features resolver`, also look TLSA records up with DNSSEC (`tlsa`), check a mail
//! domain's MX hosts the way a DANE SMTP client does (`smtp`), and check an HTTPS server
//! against the records it publishes (`https` without `--tlsa`).
//!
//! ```text
//! danecheck verify --chain CHAIN.pem (--tlsa "U S M HEX")… [--tlsa-file RRS] --name NAME…
//!                  [--roots ROOTS.pem] [--at UNIX_SECONDS] [--profile smtp|generic]
//!                  [--dane-ee-name-check] [--digest-order sha512,sha256] [--json]
//! danecheck generate --cert CERT.pem [--usage 3 --selector 1 --matching 1]
//!                    [--port 25 --host H] [--json]
//! danecheck https (--tlsa "U S M HEX")... [--tlsa-file RRS] [--name NAME]...
//!                 [--profile generic|smtp] [--roots ROOTS.pem] [--dane-ee-name-check]
//!                 [--digest-order sha512,sha256] [--timeout SECS] [--json] HOST[:PORT]
//! danecheck https [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
//!                 [--name NAME]... [other https options] HOST[:PORT]   (no --tlsa)
//! danecheck smtp-connect (--tlsa "U S M HEX")... [--tlsa-file RRS] [--name NAME]...
//!                        [--ehlo NAME] [--dane-ee-name-check] [--digest-order sha512,sha256]
//!                        [--timeout SECS] [--json] HOST[:PORT]
//! danecheck tlsa [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
//!                [--port 25] [--profile smtp|generic] [--json] HOST
//! danecheck smtp [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
//!                [--smtp-port 25] [--timeout SECS] [--ehlo NAME] [--json] DOMAIN
//! ```
//!
//! Exit status, stable (`verify` exits 0, 1 or 2 only):
//!
//! - 0: DANE-authenticated: every address verified (for `verify`, the chain; for `tlsa`, a
//!   secure TLSA RRset with a usable record), or a record generated, or help printed.
//! - 1: DANE failure: usable records, and a server that fails them (no record matches, a
//!   failed verification, a failed TLS handshake, no STARTTLS offered). Never deliver.
//! - 2: bad usage or input (one line on standard error, starting `danecheck: `).
//! - 3: no DANE here: insecure or secure-absent TLSA records (or an insecure MX host
//!   address), a null MX, or TLS without authentication because every record is unusable.
//!   Nothing was authenticated: opportunistic TLS at most.
//! - 4: the check could not be made: a bogus or failed lookup (SERVFAIL, timeout, a trust
//!   anchor that matches no key), an unusable host, no address, or a connection that failed
//!   before TLS (refused, timed out, an SMTP error, `STARTTLS` answered with other than
//!   220). Distinct from a DANE failure.
//!
//! Over several MX hosts or addresses the worst result counts: 1 over 4, 4 over 3, 3 over
//! 0. So `danecheck smtp example.org && echo DANE-OK` says DANE-OK only when every address
//! mail could go to was authenticated by DANE.
//!
//! # `verify`
//!
//! Decides, with [`dane::verify`], whether the chain a server sent is authenticated by a
//! TLSA RRset, and prints one line:
//!
//! ```text
//! $ cargo run -q --example danecheck -- verify --chain chain.pem \
//!       --tlsa "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6" \
//!       --name mx.example.net
//! verified: DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0 (record #0)
//! ```
//!
//! or `not verified: <reason> [<RFC 8460 TLS-RPT result type>]`, exit status 1.
//!
//! - `--chain`: the certificates in the order the server sends them, leaf first (PEM).
//! - `--tlsa`: one record in presentation format (numbers or RFC 7218 mnemonics); may be
//!   repeated. `--tlsa-file`: one record per line, either bare (`3 1 1 ab…`) or a whole
//!   zone-file line (`_25._tcp.mx.example.net. 300 IN TLSA 3 1 1 ab…`); blank lines, lines
//!   starting with `;` or `#`, `$` directives and `;` comments are ignored, and a record
//!   may be wrapped over lines in parentheses. Records are numbered from 0: the `--tlsa`
//!   ones first, then those of the file.
//! - `--name`: the TLSA base domain (first), then further acceptable reference
//!   identifiers, such as the SMTP next-hop domain.
//! - `--profile smtp` (the default, RFC 7672: PKIX-TA/PKIX-EE records are unusable) or
//!   `generic` (RFC 6698/7671); `--roots`: PKIX roots (PEM) for PKIX-TA and PKIX-EE.
//! - `--at`: the time to validate at, in Unix seconds (default: now).
//! - `--dane-ee-name-check`: also check names when a DANE-EE record matches.
//! - `--digest-order`: the supported digests, strongest first (`sha512`, `sha256`, or
//!   `SHA2-512`, `SHA2-256`, `2`, `1`); a digest left out is unsupported (RFC 7671 §9).
//!
//! With `--json` the line is one JSON object:
//! `{"verified":true,"usage":3,"selector":1,"matching":1,"record_index":0,"depth":0,
//! "error":null,"name":null,"tls_rpt":null}`, where `error` is [`dane::Error::category`].
//!
//! # `generate`
//!
//! Prints the record to publish for the first certificate of a PEM file (what
//! `ldns-dane create` or hash-slinger print), `3 1 1` unless `--usage`, `--selector` and
//! `--matching` (numbers or RFC 7218 mnemonics) say otherwise; with `--host` a zone-file
//! line for `_<port>._tcp.<host>.` (port 25 unless `--port`). With `--json`:
//! `{"record":"3 1 1 …","owner":"_25._tcp.mx.example.net."}` (`owner` null without
//! `--host`).
//!
//! # `https` and `smtp-connect`
//!
//! Connect to a server and authenticate it in a real TLS handshake (rustls with
//! [`dane::DaneVerifier`]): `https` starts TLS at once (port 443, `--profile generic` unless
//! given), `smtp-connect` after the SMTP greeting, `EHLO` and `STARTTLS` (RFC 3207; port 25,
//! the RFC 7672 SMTP profile). Nothing is sent over TLS but a `QUIT` (SMTP) and the
//! close_notify alert: the handshake is the check.
//!
//! ```text
//! $ cargo run -q --example danecheck -- smtp-connect \
//!       --tlsa "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6" \
//!       mx.example.net
//! verified: Verified TLS connection (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0) (192.0.2.25:25)
//! ```
//!
//! - `HOST` is a DNS name, an IPv4 address or an IPv6 address (`[2001:db8::25]:25` with a
//!   port). A name may resolve to several addresses: each is tried, one line per address,
//!   and the exit status is 0 only if every one was authenticated, else the worst: 1 for a
//!   DANE failure (an `error` with a `tls_rpt` result type), 4 for a failure before TLS
//!   (`resolve-failed`, `connect-failed`, `timeout`, `smtp-error`, `starttls-refused`), 3
//!   when no given record is usable (`no-usable-records`).
//! - `--name`: the TLSA base domain (first; also sent as the TLS server name, RFC 7672
//!   §8.1), then further reference identifiers. Default: `HOST`; required when `HOST` is an
//!   IP address.
//! - `--tlsa`, `--tlsa-file`, `--digest-order`, `--dane-ee-name-check`, `--profile` and
//!   `--roots` are as for `verify`.
//! - `--timeout`: seconds (fractions allowed) for the TCP connection and for each read and
//!   write (default 10).
//! - `--ehlo`: the name sent in `EHLO` (default `danecheck.invalid`).
//!
//! A failure is `not verified: <reason> [<RFC 8460 result type, if any>] (<address>)`. With
//! `--json`, one object per address:
//! `{"address":"192.0.2.25:25","verified":true,"usage":3,"selector":1,"matching":1,
//! "record_index":0,"depth":0,"error":null,"tls_rpt":null,"name":null,"message":null}`,
//! where `error` is [`dane::Error::category`] for a DANE failure, or one of
//! `resolve-failed`, `connect-failed`, `timeout`, `smtp-error` (unexpected greeting or
//! `EHLO` reply, a broken SMTP dialogue), `starttls-not-supported` (the server does not
//! offer STARTTLS), `starttls-refused` (it answered `STARTTLS` with other than 220) and
//! `tls-error` (any other TLS failure: an alert, a protocol error, a connection closed in
//! the handshake); `tls_rpt` is the RFC 8460 result type where one applies
//! (`validation-failure` for `tls-error`), and `message` the reason in words.
//!
//! # DNS lookups (`--features resolver`)
//!
//! `tlsa`, `smtp` and `https` without `--tlsa` look records up with DNSSEC through
//! [`dane::resolver`]. Built without the feature, `tlsa` and `smtp` say
//! `danecheck: this subcommand needs --features resolver` and exit with status 2.
//!
//! ```text
//! $ cargo run -q --features resolver --example danecheck -- tlsa \
//!       --resolver 127.0.0.1:53530 --trust-anchor dane.test.ds mx.secure.dane.test
//! secure: _25._tcp.mx.secure.dane.test: 3 1 1 5c3f…, 3 1 2 9a0e… (ttl 300)
//! ```
//!
//! Whom to trust:
//! - local validation (the default): the answers are validated here, from the trust anchor
//!   down. `--trust-anchor FILE` holds the anchor as zone-file records: DS records
//!   (`dane.test. IN DS 4074 13 2 e159…`, one per line; the DNSKEY RRset they designate is
//!   fetched and must be signed by a matching key) or DNSKEY records
//!   (`dane.test. IN DNSKEY 257 3 13 …`); without it, the IANA root key. `--resolver
//!   IP:PORT` is the server asked (recursive or authoritative; default: the first
//!   `nameserver` of `/etc/resolv.conf`, port 53; a bare IP address means port 53). Queries
//!   ask for recursion unless `--no-recursion` is given (authoritative servers ignore it).
//! - `--trust-ad`: believe the AD bit of the validating resolver `--resolver` (required).
//!   Safe only over loopback or an equally trusted path: anyone on the way can set AD. The
//!   resolver must first show that it validates: AD=1 on the DNSKEY RRset of
//!   `--trust-ad-zone ZONE` (default `.`, the root; a test zone's apex for a resolver
//!   configured with that zone's anchor), else danecheck refuses to use it.
//!
//! ## `tlsa`
//!
//! Looks up `_<port>._tcp.HOST` TLSA (`--port`, default 25) and prints one line:
//! `secure: _25._tcp.HOST: 3 1 1 ab…, 3 1 2 cd… (ttl N)`, `secure-absent: _25._tcp.HOST`
//! (validated denial: no TLSA records), `insecure: _25._tcp.HOST` (provably unsigned: DANE
//! does not apply), `bogus: _25._tcp.HOST` (validation failed) or `error: _25._tcp.HOST:
//! <reason>` (SERVFAIL, timeout, a DS anchor that matches no key, …). A secure RRset none
//! of whose records is usable (RFC 7671 §4; under `--profile`, default `smtp` for port 25
//! and `generic` otherwise) ends `(ttl N), no usable record (smtp profile)`. Exit status 0
//! for a secure RRset with a usable record, 3 for secure-absent, insecure, or no usable
//! record (DANE does not apply), 4 for bogus and errors. With `--json`:
//! `{"status":"secure","base":"mx.example.net","records":["3 1 1 …"],"ttl":300,
//! "error":null,"message":null,"usable":true}`, where `status` is one of `secure`,
//! `secure-absent`, `insecure`, `bogus`, `error`; `records` is empty unless secure; `ttl`
//! and `usable` are null unless secure; `error` is the failure's category
//! ([`dane::resolver::LookupError::category`], or `trust-anchor`) and `message` the reason
//! in words.
//!
//! ## `smtp`
//!
//! What a DANE SMTP client (RFC 7672) does for a mail domain: the MX hosts in preference
//! order (the domain itself without MX), their addresses and TLSA records, then, for each
//! host whose TLSA RRset is secure, an SMTP connection to each of its secure addresses on
//! `--smtp-port` (default 25) with `EHLO`, `STARTTLS` and the handshake authenticated by
//! those records (SNI: the TLSA base domain). One line per host address, like Postfix's
//! `posttls-finger`:
//!
//! ```text
//! mx.example.net[192.0.2.25]:25: Verified TLS connection (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0)
//! mx2.example.net[192.0.2.26]:25: DANE failure: no TLSA record matched the certificate chain
//! mx3.example.net[192.0.2.27]:25: Untrusted TLS connection (no usable TLSA records)
//! mx4.example.net[192.0.2.28]:25: opportunistic (no DANE)
//! mx5.example.net[192.0.2.29]:25: unusable: bogus
//! ```
//!
//! `Untrusted TLS connection` is a secure TLSA RRset whose records are all unusable: TLS is
//! required, without authentication. `opportunistic` hosts (no secure TLSA records, or an
//! insecure address) are not connected to. `unusable` is a bogus or failed lookup for the
//! host (`host: unusable: …` without an address when the address lookup failed): a DANE
//! client must not deliver there. Each line has a status, and the exit status is the worst
//! of them (1 over 4 over 3 over 0): 0 for a verified DANE host address, 1 for a DANE
//! failure (as for `smtp-connect`; on a TLS-required host, a TLS failure or no STARTTLS
//! too), 3 for an `Untrusted TLS connection` or an `opportunistic` address, 4 for an
//! `unusable` host or a connection that failed before TLS. So the status is 0 only if every
//! address mail could be delivered to was authenticated by DANE. A failed MX lookup is one
//! line, `DOMAIN: MX lookup failed: bogus`, exit status 4; a null MX is one line too
//! (`DOMAIN: null MX: the domain accepts no mail`), exit status 3. `--timeout` and `--ehlo`
//! are as for `smtp-connect`. With `--json`, one object per line:
//! `{"host":"mx.example.net","address":"192.0.2.25","preference":10,"status":"dane",
//! "verified":true,"usage":3,"selector":1,"matching":1,"depth":0,"error":null,
//! "message":null}`, where `status` is `dane`, `tls-unauthenticated`, `opportunistic` or
//! `unusable`; `verified` is null unless a connection was made; `error` is a category as
//! for `smtp-connect` (or the lookup's, for `unusable`).
//!
//! ## `https` with DNS
//!
//! With `--resolver`, `--trust-anchor` or `--trust-ad` and no `--tlsa`/`--tlsa-file`,
//! `https` looks up `_<PORT>._tcp.<base>` TLSA (the base is the first `--name`, default
//! `HOST`) and the host's addresses through the same server, then connects as with
//! `--tlsa`. A TLSA RRset that is insecure or absent prints `no DANE for HOST (insecure)`
//! (or `secure-absent`), exit status 3; a failed lookup `_443._tcp.HOST: TLSA lookup
//! failed: bogus`, exit status 4. A secure RRset without a usable record fails the
//! handshake with `no-usable-records` (RFC 7671 §4: DANE does not apply), exit status 3.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use dane::pki_types::pem::{self, PemObject};
use dane::pki_types::{CertificateDer, ServerName, UnixTime};
use dane::{
    CertUsage, DEFAULT_DIGEST_ORDER, DaneVerifier, Matching, Outcome, PkixRoots, Policy,
    ReferenceName, Selector, TlsRptResult, Tlsa, TlsaSet, Verified,
};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, ClientConnection, OtherError, StreamOwned};
use serde_json::Value;

const USAGE: &str = "\
usage:
  danecheck verify --chain CHAIN.pem (--tlsa \"U S M HEX\")... [--tlsa-file RRS] --name NAME...
                   [--roots ROOTS.pem] [--at UNIX_SECONDS] [--profile smtp|generic]
                   [--dane-ee-name-check] [--digest-order sha512,sha256] [--json]
  danecheck generate --cert CERT.pem [--usage 3 --selector 1 --matching 1]
                     [--port 25 --host H] [--json]
  danecheck https (--tlsa \"U S M HEX\")... [--tlsa-file RRS] [--name NAME]...
                  [--profile generic|smtp] [--roots ROOTS.pem] [--dane-ee-name-check]
                  [--digest-order sha512,sha256] [--timeout SECS] [--json] HOST[:PORT]
  danecheck https [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
                  [--name NAME]... [other https options] HOST[:PORT]   (no --tlsa)
  danecheck smtp-connect (--tlsa \"U S M HEX\")... [--tlsa-file RRS] [--name NAME]...
                         [--ehlo NAME] [--dane-ee-name-check] [--digest-order sha512,sha256]
                         [--timeout SECS] [--json] HOST[:PORT]
  danecheck tlsa [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
                 [--port 25] [--profile smtp|generic] [--json] HOST
  danecheck smtp [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
                 [--smtp-port 25] [--timeout SECS] [--ehlo NAME] [--json] DOMAIN
  danecheck --help

verify: check a chain (PEM, leaf first) against TLSA records for the reference names.
generate: print the TLSA record for the first certificate of a PEM file.
https: authenticate a TLS server (default port 443) in a real handshake.
smtp-connect: the same for an SMTP server after STARTTLS (default port 25).
  --name defaults to HOST (required when HOST is an IP address; [v6]:PORT for IPv6);
  --timeout defaults to 10 seconds, --ehlo to danecheck.invalid.
DNS (needs --features resolver):
tlsa: look up _PORT._tcp.HOST TLSA with DNSSEC: secure, secure-absent, insecure, bogus;
  usable records per --profile (default smtp for port 25, generic otherwise).
smtp: the MX hosts of DOMAIN, their TLSA records, and STARTTLS to each DANE host address.
https with --resolver, --trust-anchor or --trust-ad and no --tlsa: look the records up.
  Local validation from --trust-anchor (DS or DNSKEY records; default: the IANA root),
  querying --resolver (default: the first nameserver of /etc/resolv.conf, port 53);
  --trust-ad instead believes the AD bit of the validating resolver --resolver, once it
  answers ZONE DNSKEY with AD=1 (--trust-ad-zone ZONE, default: the root).
exit status (https, smtp-connect, tlsa, smtp; verify exits 0, 1 or 2 only):
  0  DANE-authenticated: every address verified (verify: the chain; tlsa: a secure
     TLSA RRset with a usable record; generate and --help: done)
  1  DANE failure: usable records and a server that fails them (no match, a failed
     verification or TLS handshake, no STARTTLS): never deliver
  2  bad usage or input
  3  no DANE: insecure or secure-absent TLSA records (or host addresses), a null MX,
     or TLS without authentication because every record is unusable
  4  lookup or connection failure: bogus, SERVFAIL, DNS timeout, an unusable host, no
     address, a connection refused or timed out, an SMTP error before TLS
  Over several hosts and addresses the worst counts: 1 over 4, 4 over 3, 3 over 0.";

/// Exit status when every address was authenticated by DANE (for `verify`: the chain; for
/// `tlsa`: a secure RRset with a usable record), or a record was generated.
const EXIT_OK: u8 = 0;
/// Exit status for a DANE failure: usable records, and the server failed them (no match, a
/// failed verification, a failed TLS handshake, no STARTTLS). Never deliver.
const EXIT_DANE_FAILURE: u8 = 1;
/// Exit status for bad usage or input.
const EXIT_USAGE: u8 = 2;
/// Exit status when DANE does not apply: insecure or secure-absent TLSA records (or
/// insecure host addresses), a null MX, or TLS without authentication because every record
/// is unusable. Nothing was authenticated; opportunistic TLS at most.
const EXIT_NO_DANE: u8 = 3;
/// Exit status when the check could not be made: a bogus or failed lookup (SERVFAIL,
/// timeout, a trust anchor that matches nothing), an unusable host, or a connection that
/// failed before TLS (refused, timed out, an SMTP error). Distinct from a DANE failure.
const EXIT_LOOKUP_FAILED: u8 = 4;

/// The exit status of several results: a DANE failure (1) wins over a failed lookup (4),
/// that over no DANE (3), and that over authenticated (0).
fn worst(a: u8, b: u8) -> u8 {
    fn rank(code: u8) -> u8 {
        match code {
            EXIT_OK => 0,
            EXIT_NO_DANE => 1,
            EXIT_LOOKUP_FAILED => 2,
            EXIT_DANE_FAILURE => 3,
            _ => 4,
        }
    }
    if rank(b) > rank(a) { b } else { a }
}

/// The exit status of a connection's outcome: 0 only when DANE authenticated the server.
fn outcome_status(result: &Result<Outcome, Failure>) -> u8 {
    match result {
        Ok(Outcome::Dane(_)) => EXIT_OK,
        // Unauthenticated TLS, another verifier, or a resumed session (never offered: a
        // verifier per connection) authenticated nothing by DANE here.
        Ok(_) => EXIT_NO_DANE,
        Err(failure) => failure.exit_status(),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(Fatal(message)) => {
            // One line, whatever the message holds. A closed stderr is not worth a panic.
            let line = message.replace(['\n', '\r'], " ");
            let _ = writeln!(io::stderr(), "danecheck: {line}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// A bad-usage or bad-input error: printed as `danecheck: <message>`, exit status 2.
struct Fatal(String);

impl Fatal {
    fn new(message: impl fmt::Display) -> Self {
        Self(message.to_string())
    }
}

type Result<T, E = Fatal> = std::result::Result<T, E>;

fn run() -> Result<u8> {
    let args = std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string()
                .map_err(|a| Fatal(format!("argument {a:?} is not valid UTF-8")))
        })
        .collect::<Result<Vec<String>>>()?;
    let Some((command, rest)) = args.split_first() else {
        let _ = writeln!(io::stderr(), "{USAGE}");
        return Ok(EXIT_USAGE);
    };
    match command.as_str() {
        "-h" | "--help" | "help" => print_help(),
        "verify" => match Options::parse(rest, VERIFY_OPTIONS, 0)? {
            Parsed::Help => print_help(),
            Parsed::Options(opts) => verify(&opts),
        },
        "generate" => match Options::parse(rest, GENERATE_OPTIONS, 0)? {
            Parsed::Help => print_help(),
            Parsed::Options(opts) => generate(&opts),
        },
        "https" => match Options::parse(rest, HTTPS_OPTIONS, 1)? {
            Parsed::Help => print_help(),
            Parsed::Options(opts) => connect(&opts, Protocol::Https),
        },
        "smtp-connect" => match Options::parse(rest, SMTP_OPTIONS, 1)? {
            Parsed::Help => print_help(),
            Parsed::Options(opts) => connect(&opts, Protocol::Smtp),
        },
        #[cfg(not(feature = "resolver"))]
        "tlsa" | "smtp" => Err(Fatal::new("this subcommand needs --features resolver")),
        #[cfg(feature = "resolver")]
        "tlsa" => match Options::parse(rest, dns::TLSA_OPTIONS, 1)? {
            Parsed::Help => print_help(),
            Parsed::Options(opts) => dns::tlsa(&opts),
        },
        #[cfg(feature = "resolver")]
        "smtp" => match Options::parse(rest, dns::SMTP_DNS_OPTIONS, 1)? {
            Parsed::Help => print_help(),
            Parsed::Options(opts) => dns::smtp(&opts),
        },
        other if other.starts_with('-') => Err(Fatal(format!(
            "unknown option {other:?} before the command (see danecheck --help)"
        ))),
        other => Err(Fatal(format!(
            "unknown command {other:?} (want verify, generate, https, smtp-connect, tlsa \
             or smtp; see danecheck --help)"
        ))),
    }
}

fn print_help() -> Result<u8> {
    say(USAGE)?;
    Ok(EXIT_OK)
}

/// Prints one line on standard output; a failed write is an error, not a panic.
fn say(line: impl fmt::Display) -> Result<()> {
    writeln!(io::stdout().lock(), "{line}")
        .map_err(|e| Fatal(format!("cannot write to standard output: {e}")))
}

// ------------------------------------------------------------------------------ verify

const VERIFY_OPTIONS: &[Spec] = &[
    Spec::value("--chain"),
    Spec::repeated("--tlsa"),
    Spec::value("--tlsa-file"),
    Spec::repeated("--name"),
    Spec::value("--roots"),
    Spec::value("--at"),
    Spec::value("--profile"),
    Spec::switch("--dane-ee-name-check"),
    Spec::value("--digest-order"),
    Spec::switch("--json"),
];

fn verify(opts: &Options) -> Result<u8> {
    let chain_file = opts.required("--chain")?;
    let chain = read_certificates(chain_file)?;
    if chain.is_empty() {
        return Err(Fatal(format!("{chain_file}: no certificate in the chain")));
    }

    let tlsa = read_tlsa_set(opts)?;
    let policy = build_policy(opts, &opts.all("--name"), "smtp")?;
    let now = match opts.one("--at") {
        Some(at) => {
            let secs: u64 = at.parse().map_err(|_| {
                Fatal(format!(
                    "--at {at:?}: want a time in Unix seconds, such as 1780272000"
                ))
            })?;
            UnixTime::since_unix_epoch(Duration::from_secs(secs))
        }
        None => UnixTime::now(),
    };

    let result = dane::verify(&chain, &tlsa, &policy, now);
    if opts.flag("--json") {
        say(verdict_json(&result))?;
    } else {
        match &result {
            Ok(v) => say(format_args!("verified: {v} (record #{})", v.record_index()))?,
            Err(e) => say(format_args!("not verified: {e} [{}]", e.tls_rpt_result()))?,
        }
    }
    Ok(if result.is_ok() {
        EXIT_OK
    } else {
        EXIT_DANE_FAILURE
    })
}

/// The TLSA RRset from `--tlsa`, `--tlsa-file` and `--digest-order`.
fn read_tlsa_set(opts: &Options) -> Result<TlsaSet> {
    let mut records = Vec::new();
    for text in opts.all("--tlsa") {
        records.push(parse_record(text).map_err(|e| Fatal(format!("--tlsa {text:?}: {e}")))?);
    }
    if let Some(file) = opts.one("--tlsa-file") {
        records.extend(read_tlsa_file(file)?);
    }
    if records.is_empty() {
        return Err(Fatal::new(
            "no TLSA record given (use --tlsa or --tlsa-file)",
        ));
    }
    let order = match opts.one("--digest-order") {
        Some(list) => parse_digest_order(list)?,
        None => DEFAULT_DIGEST_ORDER.to_vec(),
    };
    Ok(TlsaSet::with_digest_order(records, &order))
}

/// The [`Policy`] for the reference `names` (the TLSA base domain first), from
/// `--profile` (else `default_profile`), `--roots` and `--dane-ee-name-check`.
fn build_policy(opts: &Options, names: &[&str], default_profile: &str) -> Result<Policy> {
    let mut names = names
        .iter()
        .map(|n| ReferenceName::new(n).map_err(|e| Fatal(format!("--name {n:?}: {e}"))));
    let base = names
        .next()
        .unwrap_or_else(|| Err(Fatal::new("missing --name (the TLSA base domain)")))?;
    let mut policy = match opts.one("--profile").unwrap_or(default_profile) {
        "smtp" => Policy::smtp(base),
        "generic" => Policy::generic(base),
        other => {
            return Err(Fatal(format!("--profile {other:?}: want smtp or generic")));
        }
    };
    for name in names {
        policy = policy.with_reference_name(name?);
    }
    if opts.flag("--dane-ee-name-check") {
        policy = policy.with_dane_ee_name_checks(true);
    }
    if let Some(file) = opts.one("--roots") {
        let certs = read_certificates(file)?;
        if certs.is_empty() {
            return Err(Fatal(format!("{file}: no root certificate")));
        }
        let roots =
            PkixRoots::from_certificates(certs).map_err(|e| Fatal(format!("{file}: {e}")))?;
        policy = policy.with_pkix_roots(Arc::new(roots));
    }
    Ok(policy)
}

/// The `--json` line for a verdict; the first seven fields are the stable interface.
fn verdict_json(result: &Result<Verified, dane::Error>) -> JsonObject {
    match result {
        Ok(v) => JsonObject(vec![
            ("verified", true.into()),
            ("usage", u8::from(v.usage()).into()),
            ("selector", u8::from(v.record().selector()).into()),
            ("matching", u8::from(v.record().matching()).into()),
            ("record_index", v.record_index().into()),
            ("depth", v.depth().into()),
            ("error", Value::Null),
            ("name", v.name().map(ReferenceName::as_str).into()),
            ("tls_rpt", Value::Null),
        ]),
        Err(e) => JsonObject(vec![
            ("verified", false.into()),
            ("usage", Value::Null),
            ("selector", Value::Null),
            ("matching", Value::Null),
            ("record_index", Value::Null),
            ("depth", Value::Null),
            ("error", e.category().into()),
            ("name", Value::Null),
            ("tls_rpt", e.tls_rpt_result().as_str().into()),
        ]),
    }
}

/// `--digest-order`: a comma-separated list of digests, strongest first.
fn parse_digest_order(list: &str) -> Result<Vec<Matching>> {
    let mut order = Vec::new();
    for item in list.split(',').map(str::trim) {
        let digest = match item.to_ascii_lowercase().as_str() {
            "sha512" | "sha2-512" | "2" => Matching::Sha512,
            "sha256" | "sha2-256" | "1" => Matching::Sha256,
            _ => {
                return Err(Fatal(format!(
                    "--digest-order: unknown digest {item:?} \
                     (want sha512, sha256, SHA2-512, SHA2-256, 2 or 1)"
                )));
            }
        };
        if order.contains(&digest) {
            return Err(Fatal(format!("--digest-order: {item:?} is listed twice")));
        }
        order.push(digest);
    }
    Ok(order)
}

// ---------------------------------------------------------------------------- generate

const GENERATE_OPTIONS: &[Spec] = &[
    Spec::value("--cert"),
    Spec::value("--usage"),
    Spec::value("--selector"),
    Spec::value("--matching"),
    Spec::value("--port"),
    Spec::value("--host"),
    Spec::switch("--json"),
];

fn generate(opts: &Options) -> Result<u8> {
    let file = opts.required("--cert")?;
    let cert = read_certificates(file)?
        .into_iter()
        .next()
        .ok_or_else(|| Fatal(format!("{file}: no certificate")))?;
    let param = |flag: &str, default: &str| opts.one(flag).unwrap_or(default).to_owned();
    let usage =
        CertUsage::parse(&param("--usage", "3")).map_err(|e| Fatal(format!("--usage: {e}")))?;
    let selector = Selector::parse(&param("--selector", "1"))
        .map_err(|e| Fatal(format!("--selector: {e}")))?;
    let matching = Matching::parse(&param("--matching", "1"))
        .map_err(|e| Fatal(format!("--matching: {e}")))?;
    let record = Tlsa::from_certificate(&cert, usage, selector, matching)
        .map_err(|e| Fatal(format!("{file}: {e}")))?;

    let port: u16 = match opts.one("--port") {
        Some(p) => p
            .parse()
            .map_err(|_| Fatal(format!("--port {p:?}: want a port number 0-65535")))?,
        None => 25,
    };
    let owner = match opts.one("--host") {
        Some(host) => {
            let host =
                ReferenceName::new(host).map_err(|e| Fatal(format!("--host {host:?}: {e}")))?;
            Some(format!("_{port}._tcp.{host}."))
        }
        None if opts.one("--port").is_some() => {
            return Err(Fatal::new("--port needs --host"));
        }
        None => None,
    };

    if opts.flag("--json") {
        say(JsonObject(vec![
            ("record", record.to_string().into()),
            ("owner", owner.into()),
        ]))?;
    } else {
        match owner {
            Some(owner) => say(format_args!("{owner} IN TLSA {record}"))?,
            None => say(&record)?,
        }
    }
    Ok(EXIT_OK)
}

// ------------------------------------------------------------------ https, smtp-connect

const HTTPS_OPTIONS: &[Spec] = &[
    Spec::repeated("--tlsa"),
    Spec::value("--tlsa-file"),
    Spec::repeated("--name"),
    Spec::value("--profile"),
    Spec::value("--roots"),
    Spec::switch("--dane-ee-name-check"),
    Spec::value("--digest-order"),
    Spec::value("--timeout"),
    Spec::switch("--json"),
    // Look the records up (feature `resolver`).
    Spec::value("--resolver"),
    Spec::value("--trust-anchor"),
    Spec::switch("--trust-ad"),
    Spec::value("--trust-ad-zone"),
    Spec::switch("--no-recursion"),
];

/// The `https` options that ask for a DNS lookup of the TLSA records.
const LOOKUP_OPTIONS: [&str; 5] = [
    "--resolver",
    "--trust-anchor",
    "--trust-ad",
    "--trust-ad-zone",
    "--no-recursion",
];

const SMTP_OPTIONS: &[Spec] = &[
    Spec::repeated("--tlsa"),
    Spec::value("--tlsa-file"),
    Spec::repeated("--name"),
    Spec::value("--ehlo"),
    Spec::switch("--dane-ee-name-check"),
    Spec::value("--digest-order"),
    Spec::value("--timeout"),
    Spec::switch("--json"),
];

/// The default `--timeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default `--ehlo` name.
const DEFAULT_EHLO: &str = "danecheck.invalid";

/// How TLS starts on the connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// TLS from the first byte (`https`).
    Https,
    /// SMTP STARTTLS (`smtp-connect`).
    Smtp,
}

impl Protocol {
    fn default_port(self) -> u16 {
        match self {
            Self::Https => 443,
            Self::Smtp => 25,
        }
    }

    fn default_profile(self) -> &'static str {
        match self {
            Self::Https => "generic",
            Self::Smtp => "smtp",
        }
    }
}

/// The `HOST` of `HOST[:PORT]`.
enum Host {
    Ip(IpAddr),
    Name(String),
}

/// What `https` found in DNS: the TLSA records and, for a host name, its addresses.
type LookedUp = (TlsaSet, Option<Vec<SocketAddr>>);

/// What every connection of one command shares.
struct Session {
    protocol: Protocol,
    tlsa: TlsaSet,
    policy: Policy,
    server_name: ServerName<'static>,
    provider: Arc<CryptoProvider>,
    timeout: Duration,
    ehlo: String,
    /// Accept the server unauthenticated when `tlsa` has no usable record (RFC 7672 §2.2:
    /// `smtp` for a host whose secure TLSA records are all unusable).
    accept_unauthenticated: bool,
}

fn connect(opts: &Options, protocol: Protocol) -> Result<u8> {
    let target = opts.operand("HOST[:PORT]")?;
    let (host, port) = parse_target(target, protocol.default_port())?;
    let given = opts.all("--name");
    let names = match &host {
        _ if !given.is_empty() => given,
        Host::Name(name) => vec![name.as_str()],
        Host::Ip(ip) => {
            return Err(Fatal(format!(
                "{ip} is an IP address: give --name (the TLSA base domain)"
            )));
        }
    };
    // `https` looks the records up when told whom to trust for them.
    let lookup = protocol == Protocol::Https && LOOKUP_OPTIONS.iter().any(|o| opts.flag(o));
    let tlsa = if lookup {
        if !opts.all("--tlsa").is_empty() || opts.one("--tlsa-file").is_some() {
            return Err(Fatal::new(
                "--tlsa and --tlsa-file cannot be combined with --resolver, --trust-anchor, \
                 --trust-ad or --no-recursion (records are given or looked up, not both)",
            ));
        }
        None
    } else {
        Some(read_tlsa_set(opts)?)
    };
    let policy = build_policy(opts, &names, protocol.default_profile())?;
    // RFC 7672 §8.1: the SNI is the TLSA base domain.
    let base = policy.base_domain().as_str().to_owned();
    let server_name = ServerName::try_from(base.clone()).map_err(|e| {
        Fatal(format!(
            "--name {base:?}: not usable as a TLS server name: {e}"
        ))
    })?;
    let timeout = parse_timeout(opts)?;
    let ehlo = parse_ehlo(opts)?;
    let json = opts.flag("--json");
    let (tlsa, looked_up) = match tlsa {
        Some(tlsa) => (tlsa, None),
        None => match dns::https_lookup(opts, &host, port, &policy, json)? {
            Ok((tlsa, addrs)) => (tlsa, addrs),
            // Not DANE, or the lookup failed: already reported.
            Err(code) => return Ok(code),
        },
    };
    let session = Session {
        protocol,
        tlsa,
        policy,
        server_name,
        provider: Arc::new(rustls::crypto::ring::default_provider()),
        timeout,
        ehlo,
        accept_unauthenticated: false,
    };

    let addrs: Vec<SocketAddr> = match (looked_up, host) {
        (Some(addrs), _) => addrs,
        (None, Host::Ip(ip)) => vec![SocketAddr::new(ip, port)],
        (None, Host::Name(name)) => {
            let resolved = (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>);
            match resolved {
                Ok(addrs) if !addrs.is_empty() => addrs,
                other => {
                    let why = match other {
                        Err(e) => e.to_string(),
                        Ok(_) => "no address".to_owned(),
                    };
                    let failure =
                        Failure::new("resolve-failed", format!("cannot resolve {name}: {why}"));
                    report(&format!("{name}:{port}"), &Err(failure), json)?;
                    return Ok(EXIT_LOOKUP_FAILED);
                }
            }
        }
    };
    let mut code = EXIT_OK;
    for addr in addrs {
        let result = check_address(addr, &session);
        code = worst(code, outcome_status(&result));
        report(&addr.to_string(), &result, json)?;
    }
    Ok(code)
}

/// Splits `HOST[:PORT]`: a DNS name, an IPv4 address, or an IPv6 address (in brackets when
/// a port follows: `[::1]:25`).
fn parse_target(target: &str, default_port: u16) -> Result<(Host, u16)> {
    let port_of = |p: &str| -> Result<u16> {
        match p.parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(Fatal(format!(
                "{target:?}: bad port {p:?} (want a port number 1-65535)"
            ))),
        }
    };
    if let Some(rest) = target.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or_else(|| Fatal(format!("{target:?}: no ']' after the IPv6 address")))?;
        let ip: Ipv6Addr = ip
            .parse()
            .map_err(|_| Fatal(format!("{target:?}: {ip:?} is not an IPv6 address")))?;
        let port = match after {
            "" => default_port,
            _ => port_of(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| Fatal(format!("{target:?}: want [IPv6]:PORT")))?,
            )?,
        };
        return Ok((Host::Ip(IpAddr::V6(ip)), port));
    }
    if let Ok(ip) = target.parse::<IpAddr>() {
        return Ok((Host::Ip(ip), default_port));
    }
    let (host, port) = match target.rsplit_once(':') {
        Some((host, port)) => (host, port_of(port)?),
        None => (target, default_port),
    };
    if host.contains(':') {
        return Err(Fatal(format!(
            "{target:?}: put an IPv6 address in brackets before a port: [::1]:{port}"
        )));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok((Host::Ip(IpAddr::V4(ip)), port));
    }
    ReferenceName::new(host).map_err(|e| Fatal(format!("host {host:?}: {e}")))?;
    Ok((Host::Name(host.to_owned()), port))
}

/// `--timeout`: seconds, possibly fractional, more than zero.
fn parse_timeout(opts: &Options) -> Result<Duration> {
    let Some(text) = opts.one("--timeout") else {
        return Ok(DEFAULT_TIMEOUT);
    };
    text.parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Fatal(format!(
                "--timeout {text:?}: want a number of seconds more than 0, such as 10 or 2.5"
            ))
        })
}

/// `--ehlo`: the name sent in `EHLO`, one word of printable ASCII.
fn parse_ehlo(opts: &Options) -> Result<String> {
    let name = opts.one("--ehlo").unwrap_or(DEFAULT_EHLO);
    if name.is_empty() || name.len() > 255 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Fatal(format!(
            "--ehlo {name:?}: want a domain name or address literal, such as mail.example.org"
        )));
    }
    Ok(name.to_owned())
}

/// Why one address was not verified.
struct Failure {
    /// The kebab-case category: [`dane::Error::category`], or one of the connection's own
    /// (`resolve-failed`, `connect-failed`, `timeout`, `smtp-error`, `starttls-not-supported`,
    /// `starttls-refused`, `tls-error`).
    error: &'static str,
    /// The RFC 8460 result type, when there is one.
    tls_rpt: Option<TlsRptResult>,
    message: String,
}

impl Failure {
    fn new(error: &'static str, message: impl fmt::Display) -> Self {
        Self {
            error,
            tls_rpt: None,
            message: message.to_string(),
        }
    }

    fn dane(e: &dane::Error) -> Self {
        Self {
            error: e.category(),
            tls_rpt: Some(e.tls_rpt_result()),
            message: e.to_string(),
        }
    }

    /// A TLS failure that is not a DANE decision (an alert, a protocol error, a closed
    /// connection): a `validation-failure` in RFC 8460 terms.
    fn tls(message: impl fmt::Display) -> Self {
        Self {
            error: "tls-error",
            tls_rpt: Some(TlsRptResult::ValidationFailure),
            message: message.to_string(),
        }
    }

    /// The exit status: no usable records is no DANE (3); a verifier's decision, a TLS
    /// failure or a server without STARTTLS, all with an RFC 8460 result type, is a DANE
    /// failure (1); the rest (no address, no connection, a timeout, an SMTP error or a
    /// refused STARTTLS before TLS) is a check that could not be made (4).
    fn exit_status(&self) -> u8 {
        if self.error == dane::Error::NoUsableRecords.category() {
            EXIT_NO_DANE
        } else if self.tls_rpt.is_some() {
            EXIT_DANE_FAILURE
        } else {
            EXIT_LOOKUP_FAILED
        }
    }

    /// An I/O error while `doing` something: a timeout, or a failure of kind `error`.
    fn io(e: &io::Error, error: &'static str, doing: impl fmt::Display) -> Self {
        if is_timeout(e) {
            Self::new("timeout", format_args!("timed out {doing}"))
        } else {
            Self::new(error, format_args!("{doing}: {e}"))
        }
    }
}

/// Read and write timeouts show up as `WouldBlock` on Unix and `TimedOut` on Windows.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// Connects to `addr`, starts TLS (after STARTTLS for SMTP) and returns how the verifier
/// accepted the server.
fn check_address(addr: SocketAddr, session: &Session) -> Result<Outcome, Failure> {
    let timeout = session.timeout;
    let tcp = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| Failure::io(&e, "connect-failed", "connecting"))?;
    tcp.set_read_timeout(Some(timeout))
        .and_then(|()| tcp.set_write_timeout(Some(timeout)))
        .map_err(|e| Failure::new("connect-failed", format_args!("socket options: {e}")))?;
    let _ = tcp.set_nodelay(true);
    if session.protocol == Protocol::Smtp {
        starttls(&tcp, &session.ehlo)?;
    }

    // A verifier, and so a session cache, per connection: a resumed session would skip the
    // certificate check and leave the previous connection's outcome.
    let mut verifier = DaneVerifier::new(
        session.tlsa.clone(),
        session.policy.clone(),
        session.provider.clone(),
    );
    if session.accept_unauthenticated {
        verifier = verifier.with_no_usable_records(dane::danger::accept_unauthenticated());
    }
    let mut config = verifier
        .client_config()
        .map_err(|e| Failure::tls(format_args!("TLS configuration: {e}")))?;
    config.resumption = Resumption::disabled();
    let conn = ClientConnection::new(Arc::new(config), session.server_name.clone())
        .map_err(|e| Failure::tls(format_args!("TLS configuration: {e}")))?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| handshake_failure(&e))?;
    }
    let outcome = verifier
        .outcome()
        .ok_or_else(|| Failure::tls("the handshake completed without a certificate decision"))?;

    if session.protocol == Protocol::Smtp {
        // Politely, with a short wait for the 221 and no care for errors.
        let _ = tls
            .sock
            .set_read_timeout(Some(timeout.min(Duration::from_secs(2))));
        if tls
            .write_all(b"QUIT\r\n")
            .and_then(|()| tls.flush())
            .is_ok()
        {
            let _ = tls.read(&mut [0; 512]);
        }
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(outcome)
}

/// The failure behind a handshake's I/O error: our verifier's [`dane::Error`], another TLS
/// error, a timeout or a closed connection.
fn handshake_failure(e: &io::Error) -> Failure {
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(other)))) = tls
        && let Some(dane) = other.downcast_ref::<dane::Error>()
    {
        return Failure::dane(dane);
    }
    match tls {
        Some(tls) => Failure::tls(format_args!("TLS handshake failed: {tls}")),
        None if is_timeout(e) => Failure::new("timeout", "timed out in the TLS handshake"),
        None if e.kind() == io::ErrorKind::UnexpectedEof => {
            Failure::tls("the server closed the connection during the TLS handshake")
        }
        None => Failure::tls(format_args!("TLS handshake failed: {e}")),
    }
}

/// The SMTP dialogue up to TLS: greeting, `EHLO`, `STARTTLS` (RFC 3207).
fn starttls(tcp: &TcpStream, ehlo: &str) -> Result<(), Failure> {
    let mut smtp = Smtp {
        sock: tcp,
        buf: Vec::new(),
    };
    let greeting = smtp.reply("the greeting")?;
    if greeting.code != 220 {
        smtp.quit();
        return Err(Failure::new(
            "smtp-error",
            format_args!("greeting: {greeting}"),
        ));
    }
    smtp.send(&format!("EHLO {ehlo}"))?;
    let reply = smtp.reply("the EHLO reply")?;
    if reply.code != 250 {
        smtp.quit();
        return Err(Failure::new(
            "smtp-error",
            format_args!("EHLO refused: {reply}"),
        ));
    }
    // The first line is the server's name; each further line starts with an extension.
    let offers_starttls = reply.lines.iter().skip(1).any(|line| {
        line.split_ascii_whitespace()
            .next()
            .is_some_and(|keyword| keyword.eq_ignore_ascii_case("STARTTLS"))
    });
    if !offers_starttls {
        smtp.quit();
        return Err(Failure {
            error: "starttls-not-supported",
            tls_rpt: Some(TlsRptResult::StarttlsNotSupported),
            message: "the server does not offer STARTTLS".to_owned(),
        });
    }
    smtp.send("STARTTLS")?;
    let reply = smtp.reply("the STARTTLS reply")?;
    if reply.code != 220 {
        smtp.quit();
        return Err(Failure::new(
            "starttls-refused",
            format_args!("STARTTLS refused: {reply}"),
        ));
    }
    // Cleartext sent after the 220 would be read as if it came over TLS (CVE-2011-0411's
    // mirror image): refuse it.
    if !smtp.buf.is_empty() {
        return Err(Failure::new(
            "smtp-error",
            "the server sent data after its STARTTLS reply",
        ));
    }
    Ok(())
}

/// The cleartext side of an SMTP connection. Reads only what it needs, so nothing after
/// the STARTTLS reply is consumed.
struct Smtp<'a> {
    sock: &'a TcpStream,
    /// Read and not yet consumed.
    buf: Vec<u8>,
}

/// An SMTP reply: its code and the text of each line.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.lines.join(" / "))
    }
}

/// The longest reply line and the most reply lines accepted (RFC 5321 §4.5.3.1.5 allows
/// 512 octets per line).
const MAX_LINE: usize = 4096;
const MAX_LINES: usize = 100;

impl Smtp<'_> {
    fn send(&mut self, command: &str) -> Result<(), Failure> {
        let verb = command.split(' ').next().unwrap_or(command);
        let mut sock = self.sock;
        sock.write_all(format!("{command}\r\n").as_bytes())
            .map_err(|e| Failure::io(&e, "smtp-error", format_args!("sending {verb}")))
    }

    /// Sends `QUIT` without waiting for the reply, ignoring errors.
    fn quit(&mut self) {
        let _ = self.send("QUIT");
    }

    /// Reads one reply, single- or multi-line (`250-…` lines, then `250 …`).
    fn reply(&mut self, what: &str) -> Result<Reply, Failure> {
        let mut lines = Vec::new();
        let mut code = None;
        loop {
            let line = self.line(what)?;
            let malformed = || {
                Failure::new(
                    "smtp-error",
                    format_args!("malformed line in {what}: {line:?}"),
                )
            };
            let this = line
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(malformed)?;
            let more = match line.as_bytes().get(3) {
                Some(b'-') => true,
                Some(b' ') | None => false,
                Some(_) => return Err(malformed()),
            };
            if code.is_some_and(|c| c != this) {
                return Err(malformed());
            }
            code = Some(this);
            lines.push(line.get(4..).unwrap_or_default().to_owned());
            if !more {
                return Ok(Reply { code: this, lines });
            }
            if lines.len() >= MAX_LINES {
                return Err(Failure::new(
                    "smtp-error",
                    format_args!("{what} has more than {MAX_LINES} lines"),
                ));
            }
        }
    }

    /// Reads one line, without its CRLF (a bare LF is accepted).
    fn line(&mut self, what: &str) -> Result<String, Failure> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buf.len() > MAX_LINE {
                return Err(Failure::new(
                    "smtp-error",
                    format_args!("a line of {what} is longer than {MAX_LINE} octets"),
                ));
            }
            let mut chunk = [0; 1024];
            let mut sock = self.sock;
            match sock.read(&mut chunk) {
                Ok(0) => {
                    return Err(Failure::new(
                        "smtp-error",
                        format_args!("the server closed the connection before {what}"),
                    ));
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Failure::io(
                        &e,
                        "smtp-error",
                        format_args!("waiting for {what}"),
                    ));
                }
            }
        }
    }
}

/// Prints the line for one address.
fn report(address: &str, result: &Result<Outcome, Failure>, json: bool) -> Result<()> {
    if json {
        return say(connect_json(address, result));
    }
    match result {
        Ok(outcome) => say(format_args!("verified: {outcome} ({address})")),
        Err(f) => match f.tls_rpt {
            Some(rpt) => say(format_args!(
                "not verified: {} [{rpt}] ({address})",
                f.message
            )),
            None => say(format_args!("not verified: {} ({address})", f.message)),
        },
    }
}

/// The `--json` line for one address; the first nine fields are the stable interface.
fn connect_json(address: &str, result: &Result<Outcome, Failure>) -> JsonObject {
    let verified = match result {
        Ok(Outcome::Dane(v)) => Some(v),
        _ => None,
    };
    let failure = result.as_ref().err();
    JsonObject(vec![
        ("address", address.into()),
        ("verified", result.is_ok().into()),
        ("usage", verified.map(|v| u8::from(v.usage())).into()),
        (
            "selector",
            verified.map(|v| u8::from(v.record().selector())).into(),
        ),
        (
            "matching",
            verified.map(|v| u8::from(v.record().matching())).into(),
        ),
        ("record_index", verified.map(Verified::record_index).into()),
        ("depth", verified.map(Verified::depth).into()),
        ("error", failure.map(|f| f.error).into()),
        (
            "tls_rpt",
            failure
                .and_then(|f| f.tls_rpt)
                .map(TlsRptResult::as_str)
                .into(),
        ),
        (
            "name",
            verified
                .and_then(Verified::name)
                .map(ReferenceName::as_str)
                .into(),
        ),
        ("message", failure.map(|f| f.message.as_str()).into()),
    ])
}

// ------------------------------------------------------------------------------ inputs

/// Every certificate of a PEM file, in file order; other PEM sections are skipped.
fn read_certificates(file: &str) -> Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(file).map_err(|e| Fatal(format!("cannot read {file}: {e}")))?;
    CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Fatal(format!("{file}: malformed PEM: {}", describe_pem_error(&e))))
}

/// A PEM syntax error in words (rustls-pki-types shows the offending line as bytes).
fn describe_pem_error(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "no \"-----END {}-----\" line",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => format!(
            "bad BEGIN line {:?}",
            String::from_utf8_lossy(line).trim_end()
        ),
        other => other.to_string(),
    }
}

/// Parses one record: presentation format (`3 1 1 ab…`), or a zone-file line, of which
/// what follows the `TLSA` type is taken.
fn parse_record(text: &str) -> Result<Tlsa, dane::TlsaParseError> {
    let tokens: Vec<&str> = text.split_ascii_whitespace().collect();
    // The type is the last `TLSA` token: no parameter mnemonic or hex string looks like it.
    match tokens.iter().rposition(|t| t.eq_ignore_ascii_case("TLSA")) {
        Some(i) => tokens.get(i + 1..).unwrap_or_default().join(" ").parse(),
        None => text.parse(),
    }
}

/// Reads a `--tlsa-file`: one record per line (or wrapped in parentheses over several).
fn read_tlsa_file(file: &str) -> Result<Vec<Tlsa>> {
    let text =
        std::fs::read_to_string(file).map_err(|e| Fatal(format!("cannot read {file}: {e}")))?;
    let mut records = Vec::new();
    // A record wrapped over lines: its first line number and the text so far.
    let mut pending: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        // `;` starts a comment anywhere (zone-file syntax); `#` and `$` only at the start
        // (`\#` is the RFC 3597 generic form, `$TTL` and `$ORIGIN` are directives).
        let line = line.split(';').next().unwrap_or_default().trim();
        let (start, mut entry) = match pending.take() {
            Some((start, so_far)) => (start, so_far),
            None if line.is_empty() || line.starts_with(['#', '$']) => continue,
            None => (line_no, String::new()),
        };
        entry.push(' ');
        entry.push_str(line);
        if entry.matches('(').count() > entry.matches(')').count() {
            pending = Some((start, entry));
            continue;
        }
        records
            .push(parse_record(&entry).map_err(|e| Fatal(format!("{file}, line {start}: {e}")))?);
    }
    if let Some((start, _)) = pending {
        return Err(Fatal(format!(
            "{file}, line {start}: unbalanced parenthesis in TLSA record"
        )));
    }
    if records.is_empty() {
        return Err(Fatal(format!("{file}: no TLSA record")));
    }
    Ok(records)
}

// ------------------------------------------------------------------- argument parsing

/// One option a command accepts.
struct Spec {
    name: &'static str,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A flag without a value.
    Switch,
    /// Takes a value, at most once.
    Value,
    /// Takes a value, any number of times.
    Repeated,
}

impl Spec {
    const fn switch(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Switch,
        }
    }
    const fn value(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Value,
        }
    }
    const fn repeated(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Repeated,
        }
    }
}

enum Parsed {
    Help,
    Options(Options),
}

/// The options given to a command, each with its values in command-line order, and its
/// operands (arguments that are not options, such as `HOST[:PORT]`).
struct Options {
    given: Vec<(&'static str, Option<String>)>,
    operands: Vec<String>,
}

impl Options {
    /// Parses `--name value`, `--name=value` and switches against `specs`, and up to
    /// `max_operands` operands.
    fn parse(args: &[String], specs: &'static [Spec], max_operands: usize) -> Result<Parsed> {
        let mut given: Vec<(&'static str, Option<String>)> = Vec::new();
        let mut operands = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return Ok(Parsed::Help);
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if arg.starts_with("--") => (flag, Some(value)),
                _ => (arg.as_str(), None),
            };
            let Some(spec) = specs.iter().find(|s| s.name == flag) else {
                if !flag.starts_with('-') && operands.len() < max_operands {
                    operands.push(arg.clone());
                    continue;
                }
                return Err(if flag.starts_with('-') {
                    Fatal(format!("unknown option {flag} (see danecheck --help)"))
                } else {
                    Fatal(format!(
                        "unexpected argument {arg:?} (see danecheck --help)"
                    ))
                });
            };
            if spec.kind != Kind::Repeated && given.iter().any(|(n, _)| *n == spec.name) {
                return Err(Fatal(format!("{flag} given more than once")));
            }
            let value = match (spec.kind, inline) {
                (Kind::Switch, None) => None,
                (Kind::Switch, Some(_)) => {
                    return Err(Fatal(format!("{flag} takes no value")));
                }
                (_, Some(value)) => Some(value.to_owned()),
                // A missing value shows up as the next option: refuse it rather than read
                // `--name` as a file name.
                (_, None) => match args.next() {
                    Some(value) if !value.starts_with("--") => Some(value.clone()),
                    _ => return Err(Fatal(format!("{flag} needs a value"))),
                },
            };
            given.push((spec.name, value));
        }
        Ok(Parsed::Options(Options { given, operands }))
    }

    /// The first operand, which the command requires (`what` names it).
    fn operand(&self, what: &str) -> Result<&str> {
        self.operands
            .first()
            .map(String::as_str)
            .ok_or_else(|| Fatal(format!("missing {what} (see danecheck --help)")))
    }

    /// Every value of `name`, in order.
    fn all(&self, name: &str) -> Vec<&str> {
        self.given
            .iter()
            .filter(|(n, _)| *n == name)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }

    /// The value of a single-valued option.
    fn one(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// The value of a required option.
    fn required(&self, name: &str) -> Result<&str> {
        self.one(name)
            .ok_or_else(|| Fatal(format!("missing {name} (see danecheck --help)")))
    }

    /// Whether a switch was given.
    fn flag(&self, name: &str) -> bool {
        self.given.iter().any(|(n, _)| *n == name)
    }
}

// ------------------------------------------------------------------------------- output

/// A JSON object that keeps its fields in the order given.
struct JsonObject(Vec<(&'static str, Value)>);

impl fmt::Display for JsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (key, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            // `Value`'s Display is compact JSON; the keys are plain identifiers.
            write!(f, "{}:{value}", Value::from(*key))?;
        }
        f.write_str("}")
    }
}

// --------------------------------------------------------------- DNS: tlsa, smtp, https

/// Without the `resolver` feature: `https` cannot look records up.
#[cfg(not(feature = "resolver"))]
mod dns {
    use super::{Fatal, Host, LookedUp, Policy, Result};

    pub(super) fn https_lookup(
        _opts: &super::Options,
        _host: &Host,
        _port: u16,
        _policy: &Policy,
        _json: bool,
    ) -> Result<Result<LookedUp, u8>> {
        Err(Fatal::new(
            "--resolver, --trust-anchor, --trust-ad and --no-recursion need --features resolver",
        ))
    }
}

/// `tlsa`, `smtp` and the lookup of `https` (feature `resolver`).
#[cfg(feature = "resolver")]
mod dns {
    use super::*;

    use dane::resolver::{
        AnswerKind, DaneStatus, DnsAnswer, DnsSource, LookupError, ServerSettings, TlsaLookup,
        TlsaResolver, TrustAnchor, TrustedAdSource, ValidatingSource,
    };
    use hickory_proto::rr::{Name, RData, RecordType};

    /// Whom to trust, and the server to ask (shared by the DNS commands).
    macro_rules! trust_options {
        ($($more:expr),* $(,)?) => {
            &[
                Spec::value("--resolver"),
                Spec::value("--trust-anchor"),
                Spec::switch("--trust-ad"),
                Spec::value("--trust-ad-zone"),
                Spec::switch("--no-recursion"),
                $($more),*
            ]
        };
    }

    pub(super) const TLSA_OPTIONS: &[Spec] = trust_options![
        Spec::value("--port"),
        Spec::value("--profile"),
        Spec::switch("--json"),
    ];

    pub(super) const SMTP_DNS_OPTIONS: &[Spec] = trust_options![
        Spec::value("--smtp-port"),
        Spec::value("--timeout"),
        Spec::value("--ehlo"),
        Spec::switch("--json"),
    ];

    /// The file the default server comes from.
    const RESOLV_CONF: &str = "/etc/resolv.conf";

    // -------------------------------------------------------------------- set-up

    /// The server to ask and whom to trust, from the command line.
    struct Setup {
        settings: ServerSettings,
        trust: Trust,
    }

    enum Trust {
        /// The AD bit of the validating resolver `settings.servers`, once it has shown that
        /// it validates (AD=1 on this signed zone's DNSKEY).
        Ad { probe_zone: String },
        /// Local validation from this anchor (`file`: where it came from, for messages).
        Anchor {
            anchor: TrustAnchor,
            file: Option<String>,
        },
    }

    fn setup(opts: &Options) -> Result<Setup> {
        let trust_ad = opts.flag("--trust-ad");
        let anchor_file = opts.one("--trust-anchor");
        if trust_ad && anchor_file.is_some() {
            return Err(Fatal::new(
                "--trust-ad and --trust-anchor exclude each other (believe a resolver's AD bit, \
                 or validate here from a trust anchor)",
            ));
        }
        if !trust_ad && opts.one("--trust-ad-zone").is_some() {
            return Err(Fatal::new("--trust-ad-zone goes with --trust-ad"));
        }
        let no_recursion = opts.flag("--no-recursion");
        if trust_ad && no_recursion {
            return Err(Fatal::new(
                "--no-recursion cannot be used with --trust-ad (the validating resolver must \
                 recurse)",
            ));
        }
        let server = match opts.one("--resolver") {
            Some(text) => parse_server(text)?,
            None if trust_ad => {
                return Err(Fatal::new(
                    "--trust-ad needs --resolver IP:PORT (a validating resolver on a trusted \
                     path, such as 127.0.0.1:53)",
                ));
            }
            None => default_server()?,
        };
        let mut settings = ServerSettings::new(server);
        settings.recursion_desired = !no_recursion;
        let trust = if trust_ad {
            Trust::Ad {
                probe_zone: opts.one("--trust-ad-zone").unwrap_or(".").to_owned(),
            }
        } else {
            match anchor_file {
                Some(file) => Trust::Anchor {
                    anchor: read_anchor(file)?,
                    file: Some(file.to_owned()),
                },
                None => Trust::Anchor {
                    anchor: TrustAnchor::IanaRoot,
                    file: None,
                },
            }
        };
        Ok(Setup { settings, trust })
    }

    /// `--resolver`: `IP:PORT`, `[IPv6]:PORT`, or an IP address (port 53).
    fn parse_server(text: &str) -> Result<SocketAddr> {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(addr);
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, 53));
        }
        Err(Fatal(format!(
            "--resolver {text:?}: want IP:PORT, such as 127.0.0.1:53 or [::1]:53"
        )))
    }

    /// The first `nameserver` of `/etc/resolv.conf`, port 53.
    fn default_server() -> Result<SocketAddr> {
        let text = std::fs::read_to_string(RESOLV_CONF).unwrap_or_default();
        for line in text.lines() {
            let mut tokens = line.split_ascii_whitespace();
            if tokens.next() == Some("nameserver")
                && let Some(addr) = tokens.next()
                // A link-local IPv6 server may carry a zone (`fe80::1%eth0`): not usable here.
                && let Ok(ip) = addr.parse::<IpAddr>()
            {
                return Ok(SocketAddr::new(ip, 53));
            }
        }
        Err(Fatal(format!(
            "no usable nameserver in {RESOLV_CONF}: give --resolver IP:PORT"
        )))
    }

    /// `--trust-anchor FILE`: DS records (each on one line) or DNSKEY records, in zone-file
    /// form. Checked here, so a malformed file is an input error rather than a lookup
    /// failure.
    fn read_anchor(file: &str) -> Result<TrustAnchor> {
        let text =
            std::fs::read_to_string(file).map_err(|e| Fatal(format!("cannot read {file}: {e}")))?;
        let (mut ds, mut dnskey) = (0, 0);
        // A record wrapped over lines in parentheses: its first line number and its text.
        let mut pending: Option<(usize, String)> = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.split(';').next().unwrap_or_default();
            let (start, mut entry) = match pending.take() {
                Some(so_far) => so_far,
                None if line.trim().is_empty() => continue,
                None => (n + 1, String::new()),
            };
            entry.push(' ');
            entry.push_str(line);
            if entry.matches('(').count() > entry.matches(')').count() {
                pending = Some((start, entry));
                continue;
            }
            let tokens: Vec<&str> = entry.split_ascii_whitespace().collect();
            let at = |t: &str| format!("{file}, line {start}: {t}");
            if tokens.iter().any(|t| t.eq_ignore_ascii_case("DS")) {
                if start != n + 1 {
                    return Err(Fatal(at("put each DS record on one line")));
                }
                check_ds(&tokens).map_err(|why| Fatal(at(why)))?;
                ds += 1;
            } else if tokens.iter().any(|t| t.eq_ignore_ascii_case("DNSKEY")) {
                dnskey += 1;
            } else {
                return Err(Fatal(at("neither a DS nor a DNSKEY record")));
            }
        }
        if let Some((start, _)) = pending {
            return Err(Fatal(format!(
                "{file}, line {start}: unbalanced parenthesis"
            )));
        }
        match (ds, dnskey) {
            (0, 0) => Err(Fatal(format!("{file}: no DS or DNSKEY record"))),
            (_, 0) => Ok(TrustAnchor::DsText(text)),
            (0, _) => {
                // What `ValidatingSource::new` parses, parsed now to report a bad file early.
                text.parse::<hickory_proto::dnssec::TrustAnchors>()
                    .map_err(|e| Fatal(format!("{file}: bad DNSKEY trust anchor: {e}")))?;
                Ok(TrustAnchor::DnskeyText(text))
            }
            _ => Err(Fatal(format!(
                "{file}: both DS and DNSKEY records; give one kind"
            ))),
        }
    }

    /// `owner [TTL] [class] DS tag algorithm digest-type hex…`.
    fn check_ds(tokens: &[&str]) -> Result<(), &'static str> {
        let at = tokens
            .iter()
            .position(|t| t.eq_ignore_ascii_case("DS"))
            .filter(|&i| i > 0)
            .ok_or("a DS record needs an owner name first")?;
        let field = |i: usize| tokens.get(at + i).copied().unwrap_or_default();
        field(1)
            .parse::<u16>()
            .map_err(|_| "bad DS key tag (want 0-65535)")?;
        field(2)
            .parse::<u8>()
            .map_err(|_| "bad DS algorithm (want a number, such as 13)")?;
        field(3)
            .parse::<u8>()
            .map_err(|_| "bad DS digest type (want a number, such as 2)")?;
        let hex: String = tokens.get(at + 4..).unwrap_or_default().concat();
        if hex.is_empty()
            || !hex.len().is_multiple_of(2)
            || !hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err("bad DS digest (want hexadecimal)");
        }
        Ok(())
    }

    /// Either source, so that one resolver type serves both trust modes.
    enum Source {
        Validating(ValidatingSource),
        TrustedAd(TrustedAdSource),
    }

    impl DnsSource for Source {
        async fn query(
            &self,
            name: &Name,
            rtype: RecordType,
        ) -> std::result::Result<DnsAnswer, LookupError> {
            match self {
                Self::Validating(s) => s.query(name, rtype).await,
                Self::TrustedAd(s) => s.query(name, rtype).await,
            }
        }
    }

    /// Why there is no answer: a failed lookup, or a trust anchor that could not be set up
    /// (a DS anchor needs the DNSKEY RRset it designates).
    enum Failed {
        Lookup(LookupError),
        Anchor(String),
    }

    impl Failed {
        fn category(&self) -> &'static str {
            match self {
                Self::Lookup(e) => e.category(),
                Self::Anchor(_) => "trust-anchor",
            }
        }
    }

    impl fmt::Display for Failed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Lookup(e) => e.fmt(f),
                Self::Anchor(message) => f.write_str(message),
            }
        }
    }

    /// The resolver of `setup` (for a DS anchor, after fetching the keys it designates).
    async fn resolver(setup: &Setup) -> std::result::Result<TlsaResolver<Source>, Failed> {
        let source = match &setup.trust {
            Trust::Ad { probe_zone } => {
                match TrustedAdSource::connect(setup.settings.clone(), probe_zone).await {
                    Ok(source) => Source::TrustedAd(source),
                    Err(e) => return Err(Failed::Anchor(format!("--trust-ad: {e}"))),
                }
            }
            Trust::Anchor { anchor, file } => {
                match ValidatingSource::connect(&setup.settings, anchor).await {
                    Ok(source) => Source::Validating(source),
                    Err(e) => {
                        let file = file.as_deref().unwrap_or("(the IANA root)");
                        return Err(Failed::Anchor(format!("trust anchor {file}: {e}")));
                    }
                }
            }
        };
        Ok(TlsaResolver::new(source))
    }

    /// Runs `future` to its end on a single-threaded runtime.
    fn block_on<F: Future>(future: F) -> Result<F::Output> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Fatal(format!("cannot start the async runtime: {e}")))?;
        Ok(runtime.block_on(future))
    }

    /// A port number 1-65535 from `flag`, else `default`.
    fn parse_port(opts: &Options, flag: &str, default: u16) -> Result<u16> {
        match opts.one(flag) {
            None => Ok(default),
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&port| port > 0)
                .ok_or_else(|| Fatal(format!("{flag} {p:?}: want a port number 1-65535"))),
        }
    }

    /// A host or domain operand, as a normalised name.
    fn parse_name(opts: &Options, what: &str) -> Result<ReferenceName> {
        let text = opts.operand(what)?;
        ReferenceName::new(text).map_err(|e| Fatal(format!("{what} {text:?}: {e}")))
    }

    // ---------------------------------------------------------------------- tlsa

    pub(super) fn tlsa(opts: &Options) -> Result<u8> {
        let host = parse_name(opts, "HOST")?;
        let port = parse_port(opts, "--port", 25)?;
        // Which records are usable: RFC 7672 for SMTP, RFC 7671 otherwise.
        let profile = opts
            .one("--profile")
            .unwrap_or(if port == 25 { "smtp" } else { "generic" });
        if !matches!(profile, "smtp" | "generic") {
            return Err(Fatal(format!(
                "--profile {profile:?}: want smtp or generic"
            )));
        }
        let setup = setup(opts)?;
        let json = opts.flag("--json");
        let owner = format!("_{port}._tcp.{}", host.as_str());

        let result = block_on(async {
            resolver(&setup)
                .await?
                .lookup_tlsa(port, "tcp", host.as_str())
                .await
                .map_err(Failed::Lookup)
        })?;

        let (status, records, ttl) = match &result {
            Ok(TlsaLookup::Secure { records, ttl, .. }) => (
                "secure",
                records.records().iter().map(ToString::to_string).collect(),
                Some(*ttl),
            ),
            Ok(other) => (other.status(), Vec::new(), None),
            Err(Failed::Lookup(LookupError::Bogus)) => ("bogus", Vec::new(), None),
            Err(_) => ("error", Vec::new(), None),
        };
        let base = match &result {
            Ok(TlsaLookup::Secure { base, .. }) => base.as_str(),
            _ => host.as_str(),
        };
        // Secure, and at least one record usable under the profile: DANE applies.
        let usable = match &result {
            Ok(TlsaLookup::Secure { records, base, .. }) => {
                Some(records.has_usable(&match profile {
                    "smtp" => Policy::smtp(base.clone()),
                    _ => Policy::generic(base.clone()),
                }))
            }
            _ => None,
        };
        let failure = result.as_ref().err();
        if json {
            say(JsonObject(vec![
                ("status", status.into()),
                ("base", base.into()),
                ("records", records.into()),
                ("ttl", ttl.into()),
                ("error", failure.map(Failed::category).into()),
                ("message", failure.map(ToString::to_string).into()),
                ("usable", usable.into()),
            ]))?;
        } else {
            match (&result, ttl) {
                (Ok(TlsaLookup::Secure { malformed, .. }), Some(ttl)) => {
                    let mut list = records.join(", ");
                    if *malformed > 0 {
                        if !list.is_empty() {
                            list.push_str(", ");
                        }
                        list.push_str(&format!("{malformed} malformed"));
                    }
                    match usable {
                        Some(false) => say(format_args!(
                            "secure: {owner}: {list} (ttl {ttl}), no usable record ({profile} \
                             profile)"
                        ))?,
                        _ => say(format_args!("secure: {owner}: {list} (ttl {ttl})"))?,
                    }
                }
                (Err(Failed::Lookup(LookupError::Bogus)), _) => {
                    say(format_args!("bogus: {owner}"))?;
                }
                (Err(f), _) => say(format_args!("error: {owner}: {f}"))?,
                _ => say(format_args!("{status}: {owner}"))?,
            }
        }
        Ok(match (&result, usable) {
            (Ok(_), Some(true)) => EXIT_OK,
            // Insecure, secure-absent, or no usable record: DANE does not apply.
            (Ok(_), _) => EXIT_NO_DANE,
            (Err(_), _) => EXIT_LOOKUP_FAILED,
        })
    }

    // ---------------------------------------------------------------------- smtp

    pub(super) fn smtp(opts: &Options) -> Result<u8> {
        let domain = parse_name(opts, "DOMAIN")?;
        let port = parse_port(opts, "--smtp-port", 25)?;
        let timeout = parse_timeout(opts)?;
        let ehlo = parse_ehlo(opts)?;
        let setup = setup(opts)?;
        let json = opts.flag("--json");
        let provider = Arc::new(rustls::crypto::ring::default_provider());

        let plan = block_on(async {
            resolver(&setup)
                .await?
                .smtp_targets(domain.as_str(), port)
                .await
                .map_err(Failed::Lookup)
        })?;
        let plan = match plan {
            Ok(plan) => plan,
            Err(failed) => {
                let line = Line {
                    host: domain.as_str().to_owned(),
                    address: None,
                    preference: None,
                    status: "unusable",
                    result: LineResult::unusable(failed.category(), failed.to_string()),
                };
                if json {
                    say(line.json())?;
                } else {
                    match failed {
                        Failed::Lookup(e) => say(format_args!(
                            "{}: MX lookup failed: {}",
                            domain.as_str(),
                            describe(&e)
                        ))?,
                        Failed::Anchor(message) => {
                            say(format_args!("{}: {message}", domain.as_str()))?;
                        }
                    }
                }
                return Ok(EXIT_LOOKUP_FAILED);
            }
        };
        if plan.targets.is_empty() {
            // RFC 7505: a null MX.
            if json {
                say(Line {
                    host: domain.as_str().to_owned(),
                    address: None,
                    preference: None,
                    status: "unusable",
                    result: LineResult::unusable(
                        "null-mx",
                        "null MX: the domain accepts no mail".to_owned(),
                    ),
                }
                .json())?;
            } else {
                say(format_args!(
                    "{}: null MX: the domain accepts no mail",
                    domain.as_str()
                ))?;
            }
            // No address to deliver to, so none authenticated: no DANE here.
            return Ok(EXIT_NO_DANE);
        }

        let mut code = EXIT_OK;
        for target in &plan.targets {
            let host = target.host.to_ascii().trim_end_matches('.').to_owned();
            let line = |address: Option<IpAddr>, status, result| Line {
                host: host.clone(),
                address: address.map(|ip| SocketAddr::new(ip, target.port)),
                preference: Some(target.preference),
                status,
                result,
            };
            let mut lines = Vec::new();
            // TLS is required (authenticated, or not) on the secure addresses.
            let required = match &target.status {
                DaneStatus::Required { tlsa, policy, sni } => Some(Session {
                    protocol: Protocol::Smtp,
                    tlsa: tlsa.clone(),
                    policy: policy.clone(),
                    server_name: ServerName::try_from(sni.as_str().to_owned())
                        .map_err(|e| Fatal(format!("{}: bad SNI name: {e}", sni.as_str())))?,
                    provider: provider.clone(),
                    timeout,
                    ehlo: ehlo.clone(),
                    accept_unauthenticated: false,
                }),
                DaneStatus::TlsRequiredUnauthenticated { sni, .. } => {
                    let name = sni.clone();
                    Some(Session {
                        protocol: Protocol::Smtp,
                        // No usable record: accepted unauthenticated, whatever it presents.
                        tlsa: TlsaSet::new([]),
                        server_name: ServerName::try_from(name.as_str().to_owned())
                            .map_err(|e| Fatal(format!("MX host {host:?}: {e}")))?,
                        policy: Policy::smtp(name),
                        provider: provider.clone(),
                        timeout,
                        ehlo: ehlo.clone(),
                        accept_unauthenticated: true,
                    })
                }
                _ => None,
            };
            let addresses = || {
                target
                    .secure_addresses
                    .iter()
                    .chain(&target.insecure_addresses)
                    .copied()
                    .map(Some)
                    .collect::<Vec<_>>()
            };
            match (&target.status, required) {
                (_, Some(session)) => {
                    let status = target.status.label();
                    for &ip in &target.secure_addresses {
                        let result = check_address(SocketAddr::new(ip, target.port), &session);
                        code = worst(code, outcome_status(&result));
                        lines.push(line(Some(ip), status, LineResult::Connected(result)));
                    }
                    // RFC 7672 §2.2: DANE covers only addresses found securely.
                    for &ip in &target.insecure_addresses {
                        code = worst(code, EXIT_NO_DANE);
                        lines.push(line(Some(ip), "opportunistic", LineResult::Opportunistic));
                    }
                }
                (DaneStatus::Unusable(e), None) => {
                    code = worst(code, EXIT_LOOKUP_FAILED);
                    let mut addrs = addresses();
                    if addrs.is_empty() {
                        addrs.push(None);
                    }
                    for ip in addrs {
                        let result = LineResult::Unusable {
                            category: e.category(),
                            short: describe(e),
                            words: e.to_string(),
                        };
                        lines.push(line(ip, "unusable", result));
                    }
                }
                (DaneStatus::Opportunistic, None) => {
                    code = worst(code, EXIT_NO_DANE);
                    let mut addrs = addresses();
                    if addrs.is_empty() {
                        lines.push(line(None, "opportunistic", LineResult::NoAddress));
                    }
                    for ip in addrs.drain(..) {
                        lines.push(line(ip, "opportunistic", LineResult::Opportunistic));
                    }
                }
                (other, None) => {
                    // A status this program does not know: not to be trusted.
                    code = worst(code, EXIT_LOOKUP_FAILED);
                    let result = LineResult::unusable(
                        "unknown-status",
                        format!("unknown DANE status {:?}", other.label()),
                    );
                    lines.push(line(None, "unusable", result));
                }
            }
            for l in &lines {
                if json {
                    say(l.json())?;
                } else {
                    say(l)?;
                }
            }
        }
        Ok(code)
    }

    /// A lookup error in a few words: the category, and the reason when it says more.
    fn describe(e: &LookupError) -> String {
        let category = e.category();
        let words = e.to_string();
        if words.to_ascii_lowercase().contains(category) {
            category.to_owned()
        } else {
            format!("{category} ({words})")
        }
    }

    /// One report line of `smtp`: one address of one MX host.
    struct Line {
        host: String,
        address: Option<SocketAddr>,
        preference: Option<u16>,
        /// `dane`, `tls-unauthenticated`, `opportunistic` or `unusable`.
        status: &'static str,
        result: LineResult,
    }

    enum LineResult {
        /// A connection was made (TLS required).
        Connected(Result<Outcome, Failure>),
        /// DANE does not apply; no connection.
        Opportunistic,
        /// DANE does not apply, and the host has no address.
        NoAddress,
        /// A bogus or failed lookup: its category, the reason in a few words (for the text
        /// line) and in full (for `--json`).
        Unusable {
            category: &'static str,
            short: String,
            words: String,
        },
    }

    impl LineResult {
        fn unusable(category: &'static str, words: String) -> Self {
            Self::Unusable {
                category,
                short: words.clone(),
                words,
            }
        }
    }

    impl fmt::Display for Line {
        /// `posttls-finger` style: `mx.example.net[192.0.2.25]:25: Verified TLS connection (…)`.
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.address {
                Some(addr) => write!(f, "{}[{}]:{}: ", self.host, addr.ip(), addr.port())?,
                None => write!(f, "{}: ", self.host)?,
            }
            match &self.result {
                LineResult::Connected(Ok(Outcome::Unauthenticated)) => {
                    f.write_str("Untrusted TLS connection (no usable TLSA records)")
                }
                LineResult::Connected(Ok(outcome)) => write!(f, "{outcome}"),
                LineResult::Connected(Err(failure)) if self.status == "dane" => {
                    match failure.tls_rpt {
                        Some(rpt) => write!(f, "DANE failure: {} [{rpt}]", failure.message),
                        None => write!(f, "DANE failure: {}", failure.message),
                    }
                }
                LineResult::Connected(Err(failure)) => {
                    write!(f, "TLS failure: {}", failure.message)
                }
                LineResult::Opportunistic => f.write_str("opportunistic (no DANE)"),
                LineResult::NoAddress => f.write_str("opportunistic (no DANE), no address"),
                LineResult::Unusable { short, .. } => write!(f, "unusable: {short}"),
            }
        }
    }

    impl Line {
        /// The `--json` object; the fields up to `error` are the stable interface.
        fn json(&self) -> JsonObject {
            let (verified, dane, error, message) = match &self.result {
                LineResult::Connected(Ok(outcome)) => {
                    let dane = match outcome {
                        Outcome::Dane(v) => Some(v),
                        _ => None,
                    };
                    let message = dane
                        .is_none()
                        .then_some("TLS without authentication (no usable TLSA records)");
                    (Some(dane.is_some()), dane, None, message.map(str::to_owned))
                }
                LineResult::Connected(Err(f)) => {
                    (Some(false), None, Some(f.error), Some(f.message.clone()))
                }
                LineResult::Opportunistic => (None, None, None, None),
                LineResult::NoAddress => (None, None, None, Some("no address".to_owned())),
                LineResult::Unusable {
                    category, words, ..
                } => (None, None, Some(*category), Some(words.clone())),
            };
            JsonObject(vec![
                ("host", self.host.as_str().into()),
                ("address", self.address.map(|a| a.ip().to_string()).into()),
                ("preference", self.preference.into()),
                ("status", self.status.into()),
                ("verified", verified.into()),
                ("usage", dane.map(|v| u8::from(v.usage())).into()),
                (
                    "selector",
                    dane.map(|v| u8::from(v.record().selector())).into(),
                ),
                (
                    "matching",
                    dane.map(|v| u8::from(v.record().matching())).into(),
                ),
                ("depth", dane.map(Verified::depth).into()),
                ("error", error.into()),
                ("message", message.into()),
            ])
        }
    }

    // ---------------------------------------------------------------------- https

    /// `https` without `--tlsa`: the TLSA records of the base domain and, when `host` is a
    /// name, its addresses, through the DNS server of the command line. When there is
    /// nothing to connect to, the exit status after a line saying why: no DANE (3), a failed
    /// lookup (4).
    pub(super) fn https_lookup(
        opts: &Options,
        host: &Host,
        port: u16,
        policy: &Policy,
        json: bool,
    ) -> Result<Result<LookedUp, u8>> {
        let setup = setup(opts)?;
        let base = policy.base_domain().as_str();
        let owner = format!("_{port}._tcp.{base}");
        let here = format!("{base}:{port}");
        let looked_up = block_on(async {
            let resolver = resolver(&setup).await?;
            let tlsa = resolver
                .lookup_tlsa(port, "tcp", base)
                .await
                .map_err(Failed::Lookup)?;
            let addresses = match (&tlsa, host) {
                (TlsaLookup::Secure { .. }, Host::Name(name)) => {
                    Some(addresses(&resolver, name).await)
                }
                _ => None,
            };
            Ok((tlsa, addresses))
        })?;
        let (records, addresses) = match looked_up {
            Ok((TlsaLookup::Secure { records, .. }, addresses)) => (records, addresses),
            Ok((other, _)) => {
                let message = format!("no DANE for {base} ({})", other.status());
                if json {
                    report(&here, &Err(Failure::new(other.status(), &message)), json)?;
                } else {
                    say(message)?;
                }
                return Ok(Err(EXIT_NO_DANE));
            }
            Err(failed) => {
                let message = match &failed {
                    Failed::Lookup(e) => {
                        format!("{owner}: TLSA lookup failed: {}", describe(e))
                    }
                    Failed::Anchor(why) => format!("{owner}: {why}"),
                };
                if json {
                    report(&here, &Err(Failure::new(failed.category(), &message)), json)?;
                } else {
                    say(message)?;
                }
                return Ok(Err(EXIT_LOOKUP_FAILED));
            }
        };
        let records = match opts.one("--digest-order") {
            Some(list) => {
                TlsaSet::with_digest_order(records.records().to_vec(), &parse_digest_order(list)?)
            }
            None => records,
        };
        let addrs = match (addresses, host) {
            (Some(Ok(ips)), _) if !ips.is_empty() => Some(
                ips.into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect(),
            ),
            (Some(resolved), Host::Name(name)) => {
                let why = match resolved {
                    Err(e) => e.to_string(),
                    Ok(_) => "no address".to_owned(),
                };
                let failure =
                    Failure::new("resolve-failed", format!("cannot resolve {name}: {why}"));
                report(&format!("{name}:{port}"), &Err(failure), json)?;
                return Ok(Err(EXIT_LOOKUP_FAILED));
            }
            _ => None,
        };
        Ok(Ok((records, addrs)))
    }

    /// The A and AAAA records of `host`, secure or not (the TLSA lookup decided about
    /// DANE); an error only when no address came back.
    async fn addresses(
        resolver: &TlsaResolver<Source>,
        host: &str,
    ) -> std::result::Result<Vec<IpAddr>, LookupError> {
        let mut name =
            Name::from_ascii(host).map_err(|e| LookupError::InvalidName(format!("{host}: {e}")))?;
        name.set_fqdn(true);
        let mut found = Vec::new();
        let mut error = None;
        for rtype in [RecordType::A, RecordType::AAAA] {
            match resolver.query(&name, rtype).await {
                Ok(DnsAnswer {
                    kind: AnswerKind::Records { rdata, .. },
                    ..
                }) => found.extend(rdata.iter().filter_map(|r| match r {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })),
                Ok(_) => {}
                Err(e) => error = Some(e),
            }
        }
        match error {
            Some(e) if found.is_empty() => Err(e),
            _ => Ok(found),
        }
    }
}
