//! `danecheck`: check a certificate chain against TLSA records, or print the TLSA record
//! for a certificate.
//!
//! ```text
//! danecheck verify --chain CHAIN.pem (--tlsa "U S M HEX")… [--tlsa-file RRS] --name NAME…
//!                  [--roots ROOTS.pem] [--at UNIX_SECONDS] [--profile smtp|generic]
//!                  [--dane-ee-name-check] [--digest-order sha512,sha256] [--json]
//! danecheck generate --cert CERT.pem [--usage 3 --selector 1 --matching 1]
//!                    [--port 25 --host H] [--json]
//! ```
//!
//! Exit status: 0 authenticated (or record generated), 1 not authenticated (a DANE
//! failure), 2 bad usage or input (one line on standard error, starting `danecheck: `).
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

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use dane::pki_types::pem::{self, PemObject};
use dane::pki_types::{CertificateDer, UnixTime};
use dane::{
    CertUsage, DEFAULT_DIGEST_ORDER, Matching, PkixRoots, Policy, ReferenceName, Selector, Tlsa,
    TlsaSet, Verified,
};
use serde_json::Value;

const USAGE: &str = "\
usage:
  danecheck verify --chain CHAIN.pem (--tlsa \"U S M HEX\")... [--tlsa-file RRS] --name NAME...
                   [--roots ROOTS.pem] [--at UNIX_SECONDS] [--profile smtp|generic]
                   [--dane-ee-name-check] [--digest-order sha512,sha256] [--json]
  danecheck generate --cert CERT.pem [--usage 3 --selector 1 --matching 1]
                     [--port 25 --host H] [--json]
  danecheck --help

verify: check a chain (PEM, leaf first) against TLSA records for the reference names.
generate: print the TLSA record for the first certificate of a PEM file.
exit status: 0 authenticated, 1 not authenticated, 2 bad usage or input.";

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
        "verify" => match Options::parse(rest, VERIFY_OPTIONS)? {
            Parsed::Help => print_help(),
            Parsed::Options(opts) => verify(&opts),
        },
        "generate" => match Options::parse(rest, GENERATE_OPTIONS)? {
            Parsed::Help => print_help(),
            Parsed::Options(opts) => generate(&opts),
        },
        other if other.starts_with('-') => Err(Fatal(format!(
            "unknown option {other:?} before the command (see danecheck --help)"
        ))),
        other => Err(Fatal(format!(
            "unknown command {other:?} (want verify or generate; see danecheck --help)"
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
    let tlsa = TlsaSet::with_digest_order(records, &order);

    let policy = build_policy(opts)?;
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

/// The [`Policy`] from `--profile`, `--name`, `--roots` and `--dane-ee-name-check`.
fn build_policy(opts: &Options) -> Result<Policy> {
    let given = opts.all("--name");
    let mut names = given
        .iter()
        .map(|n| ReferenceName::new(n).map_err(|e| Fatal(format!("--name {n:?}: {e}"))));
    let base = names
        .next()
        .unwrap_or_else(|| Err(Fatal::new("missing --name (the TLSA base domain)")))?;
    let mut policy = match opts.one("--profile").unwrap_or("smtp") {
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

/// The options given to a command, each with its values in command-line order.
struct Options {
    given: Vec<(&'static str, Option<String>)>,
}

impl Options {
    /// Parses `--name value`, `--name=value` and switches against `specs`.
    fn parse(args: &[String], specs: &'static [Spec]) -> Result<Parsed> {
        let mut given: Vec<(&'static str, Option<String>)> = Vec::new();
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
        Ok(Parsed::Options(Options { given }))
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
