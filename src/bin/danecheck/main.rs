//! `danecheck`: check a certificate chain against TLSA records, check a live server (HTTPS,
//! or SMTP with STARTTLS) against them, print the TLSA record for a certificate, look TLSA
//! records up with DNSSEC (`tlsa`), check a mail domain's MX hosts the way a DANE SMTP
//! client does (`smtp`), and check an HTTPS server against the records it publishes
//! (`https` without `--tlsa`).
//!
//! Built with the crate's `cli` feature: `cargo install dane --features cli`. The
//! command-line contract (options, output lines, JSON fields, exit statuses) is in the
//! README and in `danecheck --help`; each subcommand is one module here.
//!
//! Exit status, stable (`verify` exits 0, 1 or 2 only): 0 = DANE-authenticated (every
//! address), 1 = DANE failure, 2 = bad usage or input, 3 = no DANE here, 4 = the check
//! could not be made (a failed lookup or connection). Over several hosts or addresses the
//! worst counts: 1 over 4, 4 over 3, 3 over 0.
#![forbid(unsafe_code)]

mod args;
mod audit;
mod connect;
mod dns;
mod generate;
mod https;
mod input;
mod output;
mod smtp;
mod starttls;
mod tlsa;
mod tlsrpt;
mod verbose;
mod verify;

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

/// The synopsis of every command and the exit statuses: the end of every `--help`.
const AFTER_HELP: &str = "\
Synopsis:
  danecheck verify --chain CHAIN.pem (--tlsa \"U S M HEX\")... [--tlsa-file RRS] --name NAME...
                   [--roots ROOTS.pem] [--at UNIX_SECONDS] [--profile smtp|generic]
                   [--dane-ee-name-check] [--digest-order sha512,sha256] [--json]
  danecheck generate --cert CERT.pem [--usage 3 --selector 1 --matching 1]
                     [--port 25 --host H] [--json]
  danecheck https (--tlsa \"U S M HEX\")... [--tlsa-file RRS] [--name NAME]...
                  [--profile generic|smtp] [--roots ROOTS.pem] [--dane-ee-name-check]
                  [--digest-order sha512,sha256] [--timeout SECS] [--connect IP:PORT]
                  [--json] HOST[:PORT]
  danecheck https [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
                  [--name NAME]... [-v] [other https options] HOST[:PORT]   (no --tlsa)
  danecheck smtp-connect (--tlsa \"U S M HEX\")... [--tlsa-file RRS] [--name NAME]...
                         [--ehlo NAME] [--dane-ee-name-check] [--digest-order sha512,sha256]
                         [--timeout SECS] [--json] HOST[:PORT]
  danecheck tlsa [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
                 [--port 25] [--profile smtp|generic] [-v] [--json] HOST
  danecheck smtp [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
                 [--smtp-port 25] [--connect IP:PORT] [--timeout SECS] [--ehlo NAME] [-v]
                 [--tlsrpt FILE [--tlsrpt-org NAME] [--tlsrpt-contact ADDR]] [--json] DOMAIN
  danecheck tlsrpt [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
                   [-v] [--json] DOMAIN
  danecheck audit [--resolver IP:PORT] [--trust-anchor FILE | --trust-ad] [--no-recursion]
                  [--smtp-port 25] [--connect IP:PORT] [--timeout SECS] [--ehlo NAME]
                  [--warn-days 14] [--json] (DOMAIN | --https HOST[:PORT])
  danecheck --help

DNS (tlsa, smtp, audit, https without --tlsa): local validation from --trust-anchor (DS
  or DNSKEY records; default: the IANA root), querying --resolver (default: the first
  nameserver of /etc/resolv.conf, port 53); --trust-ad instead believes the AD bit of the
  validating resolver --resolver, once it answers ZONE DNSKEY with AD=1 (--trust-ad-zone
  ZONE, default: the root). -v prints each DNS step and its DNSSEC status on standard error.

Exit status (https, smtp-connect, tlsa, smtp, audit; verify exits 0, 1 or 2 only):
  0  DANE-authenticated: every address verified (verify: the chain; tlsa: a secure
     TLSA RRset with a usable record; generate and --help: done)
  1  DANE failure: usable records and a server that fails them (no match, a failed
     verification or TLS handshake, no STARTTLS): never deliver
  2  bad usage or input
  3  no DANE: insecure or secure-absent TLSA records (or host addresses), a null MX,
     or TLS without authentication because every record is unusable
  4  lookup or connection failure: bogus, SERVFAIL, DNS timeout, an unusable host, no
     address, a connection refused or timed out, an SMTP error before TLS
  5  audit only: every address DANE-authenticated, but with warnings
  Over several hosts and addresses the worst counts: 1 over 4, 4 over 3, 3 over 0.
  tlsrpt: 0 one valid TLSRPTv1 record, 1 records that make no valid policy, 3 no
  record, 4 lookup failure.";

/// DANE (RFC 6698, 7671, 7672, 7673) checks: TLSA records, certificate chains, live TLS
/// and SMTP servers, with DNSSEC lookups.
#[derive(Parser)]
#[command(
    name = "danecheck",
    version,
    after_help = AFTER_HELP,
    arg_required_else_help = true,
    subcommand_required = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a certificate chain (PEM, leaf first) against TLSA records for the reference
    /// names.
    #[command(after_help = AFTER_HELP)]
    Verify(verify::Args),
    /// Print the TLSA record for the first certificate of a PEM file.
    #[command(after_help = AFTER_HELP)]
    Generate(generate::Args),
    /// Authenticate a TLS server (default port 443) in a real handshake, with given
    /// records or records looked up with DNSSEC.
    #[command(after_help = AFTER_HELP)]
    Https(https::Args),
    /// Authenticate an SMTP server (default port 25) in a real handshake after STARTTLS,
    /// with given records (no DNS).
    #[command(name = "smtp-connect", after_help = AFTER_HELP)]
    SmtpConnect(connect::SmtpConnectArgs),
    /// Look up _PORT._tcp.HOST TLSA with DNSSEC: secure, secure-absent, insecure, bogus.
    #[command(after_help = AFTER_HELP)]
    Tlsa(tlsa::Args),
    /// The MX hosts of DOMAIN, their TLSA records, and STARTTLS to each DANE host address,
    /// as a DANE SMTP client (RFC 7672) does.
    #[command(after_help = AFTER_HELP)]
    Smtp(smtp::Args),
    /// Show the SMTP TLS Reporting record (RFC 8460) at _smtp._tls.DOMAIN, with its
    /// DNSSEC status: where reports about DOMAIN go.
    #[command(after_help = AFTER_HELP)]
    Tlsrpt(tlsrpt::Args),
    /// Audit a domain's DANE deployment (or an HTTPS server's) before and after a
    /// certificate or key change, with warnings.
    ///
    /// Per MX host (or --https server) and address: the DNSSEC status of each step, the
    /// TLSA records and their signature's expiry, the chain served and which records match
    /// it; then warnings with codes (no-rollover, dane-ee-cert, ta-not-in-chain, no-sha256,
    /// unusable-record, addresses-disagree, rrsig-expiring, cert-expiring, ttl-too-long).
    /// Exit status 5: every address verified, with warnings.
    #[command(after_help = AFTER_HELP)]
    Audit(audit::Args),
}

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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(clap_error(&e)),
    };
    let result = match &cli.command {
        Command::Verify(args) => verify::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Https(args) => https::run(args),
        Command::SmtpConnect(args) => connect::run_smtp(args),
        Command::Tlsa(args) => tlsa::run(args),
        Command::Smtp(args) => smtp::run(args),
        Command::Tlsrpt(args) => tlsrpt::run(args),
        Command::Audit(args) => audit::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Fatal(message)) => {
            fail(&message);
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Prints `danecheck: <message>` on one line of standard error, whatever the message holds.
/// A closed stderr is not worth a panic.
fn fail(message: &str) {
    let line = message.replace(['\n', '\r'], " ");
    let _ = writeln!(io::stderr(), "danecheck: {line}");
}

/// What clap's error means: help or the version asked for (printed on standard output,
/// status 0), help for a bare `danecheck` (on standard error, status 2), or bad usage: one
/// line `danecheck: <what clap says>` on standard error, status 2.
fn clap_error(e: &clap::Error) -> u8 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => match e.print() {
            Ok(()) => EXIT_OK,
            Err(_) => EXIT_USAGE,
        },
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = write!(io::stderr(), "{}", e.render());
            EXIT_USAGE
        }
        _ => {
            fail(&one_line(&e.render().to_string()));
            EXIT_USAGE
        }
    }
}

/// clap's error message on one line: without the `error: ` prefix, the tips, the usage and
/// the pointer to `--help`.
fn one_line(text: &str) -> String {
    let mut parts = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() || line.starts_with("tip:") {
            continue;
        }
        parts.push(line.strip_prefix("error: ").unwrap_or(line));
    }
    let mut message = parts.join(" ");
    message.push_str(" (see danecheck --help)");
    message
}

/// A bad-usage or bad-input error: printed as `danecheck: <message>`, exit status 2.
struct Fatal(String);

impl Fatal {
    fn new(message: impl fmt::Display) -> Self {
        Self(message.to_string())
    }
}

type Result<T, E = Fatal> = std::result::Result<T, E>;

/// Prints one line on standard output; a failed write is an error, not a panic.
fn say(line: impl fmt::Display) -> Result<()> {
    writeln!(io::stdout().lock(), "{line}")
        .map_err(|e| Fatal(format!("cannot write to standard output: {e}")))
}
