//! `danecheck`: check a certificate chain against TLSA records, check a live server (HTTPS
//! or SMTP with STARTTLS) against them, or print the TLSA record for a certificate.
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
//! danecheck smtp-connect (--tlsa "U S M HEX")... [--tlsa-file RRS] [--name NAME]...
//!                        [--ehlo NAME] [--dane-ee-name-check] [--digest-order sha512,sha256]
//!                        [--timeout SECS] [--json] HOST[:PORT]
//! ```
//!
//! Exit status: 0 authenticated (or record generated), 1 not authenticated (a DANE
//! failure, or for `https` and `smtp-connect` any failure to reach the TLS handshake's
//! end), 2 bad usage or input (one line on standard error, starting `danecheck: `).
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
//!   and the exit status is 0 only if every one was authenticated.
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
  danecheck smtp-connect (--tlsa \"U S M HEX\")... [--tlsa-file RRS] [--name NAME]...
                         [--ehlo NAME] [--dane-ee-name-check] [--digest-order sha512,sha256]
                         [--timeout SECS] [--json] HOST[:PORT]
  danecheck --help

verify: check a chain (PEM, leaf first) against TLSA records for the reference names.
generate: print the TLSA record for the first certificate of a PEM file.
https: authenticate a TLS server (default port 443) in a real handshake.
smtp-connect: the same for an SMTP server after STARTTLS (default port 25).
  --name defaults to HOST (required when HOST is an IP address; [v6]:PORT for IPv6);
  --timeout defaults to 10 seconds, --ehlo to danecheck.invalid.
exit status: 0 authenticated (every address), 1 not authenticated, 2 bad usage or input.";

/// Exit status when the peer is authenticated (or a record was generated).
const EXIT_OK: u8 = 0;
/// Exit status when the peer is not authenticated.
const EXIT_NOT_VERIFIED: u8 = 1;
/// Exit status for bad usage or input.
const EXIT_USAGE: u8 = 2;

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
        other if other.starts_with('-') => Err(Fatal(format!(
            "unknown option {other:?} before the command (see danecheck --help)"
        ))),
        other => Err(Fatal(format!(
            "unknown command {other:?} (want verify, generate, https or smtp-connect; \
             see danecheck --help)"
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
        EXIT_NOT_VERIFIED
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

/// What every connection of one command shares.
struct Session {
    protocol: Protocol,
    tlsa: TlsaSet,
    policy: Policy,
    server_name: ServerName<'static>,
    provider: Arc<CryptoProvider>,
    timeout: Duration,
    ehlo: String,
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
    let tlsa = read_tlsa_set(opts)?;
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
    let session = Session {
        protocol,
        tlsa,
        policy,
        server_name,
        provider: Arc::new(rustls::crypto::ring::default_provider()),
        timeout,
        ehlo,
    };
    let json = opts.flag("--json");

    let addrs: Vec<SocketAddr> = match host {
        Host::Ip(ip) => vec![SocketAddr::new(ip, port)],
        Host::Name(name) => {
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
                    return Ok(EXIT_NOT_VERIFIED);
                }
            }
        }
    };
    let mut all_verified = true;
    for addr in addrs {
        let result = check_address(addr, &session);
        all_verified &= result.is_ok();
        report(&addr.to_string(), &result, json)?;
    }
    Ok(if all_verified {
        EXIT_OK
    } else {
        EXIT_NOT_VERIFIED
    })
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
    let verifier = DaneVerifier::new(
        session.tlsa.clone(),
        session.policy.clone(),
        session.provider.clone(),
    );
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
