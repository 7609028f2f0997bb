//! `danecheck smtp`: what a DANE SMTP client (RFC 7672) does for a mail domain: the MX
//! hosts, their addresses and TLSA records, then STARTTLS to each DANE host address with
//! the handshake authenticated by those records. One line per host address, like
//! Postfix's `posttls-finger`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use dane::resolver::{DaneStatus, LookupError, Target};
use dane::{Outcome, Policy, ReferenceName, TlsaSet};

use crate::args::{self, DEFAULT_EHLO};
use crate::connect::{Failure, Protocol, Session, check_address, outcome_status};
use crate::dns::{DnsArgs, Failed, Setup, block_on, describe, resolver};
use crate::output::{self, SmtpLine};
use crate::tlsrpt::Recorder;
use crate::verbose::{Trace, show};
use crate::{EXIT_LOOKUP_FAILED, EXIT_NO_DANE, EXIT_OK, Result, say, worst};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    dns: DnsArgs,
    /// The SMTP port: of the TLSA owner names `_PORT._tcp.MX` and of the connections.
    #[arg(long, value_name = "PORT", default_value = "25", value_parser = args::port)]
    smtp_port: u16,
    /// Connect to this address (a test instance) instead of each MX host's addresses; the
    /// MX, address and TLSA lookups, the names and the SNI stay those of production.
    #[arg(long, value_name = "IP:PORT", value_parser = args::connect)]
    connect: Option<SocketAddr>,
    /// Seconds (fractions allowed) for the TCP connection and for each read and write.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = args::timeout)]
    timeout: Duration,
    /// The name sent in EHLO.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_EHLO, value_parser = args::ehlo)]
    ehlo: String,
    /// Print each DNS step and its DNSSEC status (MX, CNAME, A/AAAA, TLSA) and each
    /// connection on standard error.
    #[arg(short, long)]
    verbose: bool,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// Write the SMTP TLS Reporting (RFC 8460) reports of this run to FILE: a JSON array
    /// with one report per policy domain (a DANE host's TLSA base domain, or the domain
    /// itself for a failed MX lookup), one session per connection made or per address of a
    /// host whose lookups failed. Hosts without DANE are not connected to: no session.
    #[arg(long, value_name = "FILE")]
    tlsrpt: Option<PathBuf>,
    /// The report's organization-name.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "danecheck",
        requires = "tlsrpt"
    )]
    tlsrpt_org: String,
    /// The report's contact-info.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "postmaster@localhost",
        requires = "tlsrpt"
    )]
    tlsrpt_contact: String,
    /// The mail (next-hop) domain.
    #[arg(value_name = "DOMAIN", value_parser = args::name)]
    domain: ReferenceName,
}

pub fn run(opts: &Args) -> Result<u8> {
    let recorder = opts
        .tlsrpt
        .clone()
        .map(|file| Recorder::new(file, &opts.tlsrpt_org, &opts.tlsrpt_contact));
    let code = check(opts, recorder.as_ref())?;
    if let Some(recorder) = &recorder {
        recorder.write()?;
    }
    Ok(code)
}

fn check(opts: &Args, recorder: Option<&Recorder>) -> Result<u8> {
    let domain = opts.domain.as_str();
    let setup = Setup::new(&opts.dns)?;
    let trace = Trace::new(opts.verbose);
    trace.line(setup.describe());

    let plan = block_on(async {
        resolver(&setup)
            .await?
            .smtp_targets(domain, opts.smtp_port)
            .await
            .map_err(Failed::Lookup)
    })?;
    let plan = match plan {
        Ok(plan) => plan,
        Err(failed) => {
            if let (Some(r), Failed::Lookup(e)) = (recorder, &failed) {
                r.lookup_failed(domain, e);
            }
            if let Failed::Anchor(why) = &failed {
                trace.line(why);
            } else {
                trace.line(format_args!("MX {domain}: {}", describe_failed(&failed)));
            }
            let line = Line {
                host: domain.to_owned(),
                address: None,
                preference: None,
                status: "unusable",
                result: LineResult::unusable(failed.category(), failed.to_string()),
                mx_insecure: false,
            };
            if opts.json {
                output::print(&line.json())?;
            } else {
                match failed {
                    Failed::Lookup(e) => {
                        say(format_args!("{domain}: MX lookup failed: {}", describe(&e)))?;
                    }
                    Failed::Anchor(message) => say(format_args!("{domain}: {message}"))?,
                }
            }
            return Ok(EXIT_LOOKUP_FAILED);
        }
    };
    for step in plan.steps() {
        trace.step(step);
    }
    if plan.implicit_mx {
        trace.line(format_args!(
            "{domain}: no MX records: the domain is its own mail host"
        ));
    }
    if plan.targets.is_empty() {
        // RFC 7505: a null MX.
        let message = "null MX: the domain accepts no mail";
        if opts.json {
            let line = Line {
                host: domain.to_owned(),
                address: None,
                preference: None,
                status: "unusable",
                result: LineResult::unusable("null-mx", message.to_owned()),
                mx_insecure: false,
            };
            output::print(&line.json())?;
        } else {
            say(format_args!("{domain}: {message}"))?;
        }
        // No address to deliver to, so none authenticated: no DANE here.
        return Ok(EXIT_NO_DANE);
    }

    let mut code = EXIT_OK;
    for target in &plan.targets {
        for step in target.steps() {
            trace.step(step);
        }
        trace_decision(trace, target);
        let (target_code, lines) = check_target(target, !plan.mx_secure, opts, trace, recorder)?;
        code = worst(code, target_code);
        for l in &lines {
            if opts.json {
                output::print(&l.json())?;
            } else {
                say(l)?;
            }
        }
    }
    Ok(code)
}

fn describe_failed(failed: &Failed) -> String {
    match failed {
        Failed::Lookup(LookupError::Bogus) => "bogus".to_owned(),
        Failed::Lookup(e) => format!("failed: {}", describe(e)),
        Failed::Anchor(why) => why.clone(),
    }
}

/// `-v`: what the plan decided for a host.
fn trace_decision(trace: Trace, target: &Target) {
    let host = show(&target.host);
    match &target.status {
        DaneStatus::Required { policy, sni, .. } => {
            let names: Vec<&str> = policy
                .reference_names()
                .iter()
                .map(ReferenceName::as_str)
                .collect();
            trace.line(format_args!(
                "{host}: dane (TLSA base {}, names {})",
                sni.as_str(),
                names.join(", ")
            ));
        }
        DaneStatus::TlsRequiredUnauthenticated { sni, .. } => trace.line(format_args!(
            "{host}: tls-unauthenticated (TLSA base {}: no usable record)",
            sni.as_str()
        )),
        other => trace.line(format_args!("{host}: {}", other.label())),
    }
}

/// The lines of one MX host and their worst exit status.
fn check_target(
    target: &Target,
    mx_insecure: bool,
    opts: &Args,
    trace: Trace,
    recorder: Option<&Recorder>,
) -> Result<(u8, Vec<Line>)> {
    let host = show(&target.host);
    let line = |address: Option<SocketAddr>, status, result| Line {
        host: host.clone(),
        address,
        preference: Some(target.preference),
        status,
        result,
        mx_insecure,
    };
    let at = |ip: IpAddr| Some(SocketAddr::new(ip, target.port));
    let mut lines = Vec::new();
    let mut code = EXIT_OK;
    // TLS is required (authenticated, or not) on the secure addresses.
    let required = match &target.status {
        DaneStatus::Required { tlsa, policy, .. } => Some(Session::new(
            Protocol::Smtp,
            tlsa.clone(),
            policy.clone(),
            opts.timeout,
            opts.ehlo.clone(),
        )?),
        DaneStatus::TlsRequiredUnauthenticated { sni, .. } => Some(
            Session::new(
                Protocol::Smtp,
                // No usable record: accepted unauthenticated, whatever it presents.
                TlsaSet::new([]),
                Policy::smtp(sni.clone()),
                opts.timeout,
                opts.ehlo.clone(),
            )?
            .accepting_unauthenticated(),
        ),
        _ => None,
    };
    let addresses = || {
        target
            .secure_addresses
            .iter()
            .chain(&target.insecure_addresses)
            .copied()
            .map(at)
            .collect::<Vec<_>>()
    };
    match (&target.status, required) {
        (_, Some(session)) => {
            let status = target.status.label();
            // `--connect`: the test instance stands in for the host's secure addresses.
            let connect_to: Vec<SocketAddr> = match opts.connect {
                Some(addr) => vec![addr],
                None => target
                    .secure_addresses
                    .iter()
                    .map(|&ip| SocketAddr::new(ip, target.port))
                    .collect(),
            };
            for addr in connect_to {
                trace.line(format_args!(
                    "connect {host}[{}]:{} (SNI {})",
                    addr.ip(),
                    addr.port(),
                    session.server_name()
                ));
                let result = check_address(addr, &session);
                if let Some(r) = recorder {
                    r.connected(&target.status, &host, addr, &result);
                }
                code = worst(code, outcome_status(&result));
                lines.push(line(Some(addr), status, LineResult::Connected(result)));
            }
            // RFC 7672 §2.2: DANE covers only addresses found securely.
            for &ip in &target.insecure_addresses {
                code = worst(code, EXIT_NO_DANE);
                lines.push(line(at(ip), "opportunistic", LineResult::Opportunistic));
            }
        }
        (DaneStatus::Unusable(e), None) => {
            code = worst(code, EXIT_LOOKUP_FAILED);
            let mut addrs = addresses();
            if addrs.is_empty() {
                addrs.push(None);
            }
            for addr in addrs {
                if let Some(r) = recorder {
                    r.unusable(&host, e, addr.map(|a| a.ip()));
                }
                let result = LineResult::Unusable {
                    category: e.category(),
                    short: describe(e),
                    words: e.to_string(),
                };
                lines.push(line(addr, "unusable", result));
            }
        }
        (DaneStatus::Opportunistic, None) => {
            code = worst(code, EXIT_NO_DANE);
            let addrs = addresses();
            if addrs.is_empty() {
                lines.push(line(None, "opportunistic", LineResult::NoAddress));
            }
            for addr in addrs {
                lines.push(line(addr, "opportunistic", LineResult::Opportunistic));
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
    Ok((code, lines))
}

/// One report line of `smtp`: one address of one MX host.
struct Line {
    host: String,
    address: Option<SocketAddr>,
    preference: Option<u16>,
    /// `dane`, `tls-unauthenticated`, `opportunistic` or `unusable`.
    status: &'static str,
    result: LineResult,
    /// The MX RRset was insecure (RFC 7672 §2.2.1): a DANE match authenticates the host,
    /// not the MX hosts' list; Postfix logs such a connection "Trusted", not "Verified".
    mx_insecure: bool,
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
            // As posttls-finger: "MX RRset insecure: log verified as trusted".
            LineResult::Connected(Ok(Outcome::Dane(v))) if self.mx_insecure => {
                write!(f, "Trusted TLS connection ({v}; MX RRset insecure)")
            }
            LineResult::Connected(Ok(outcome)) => write!(f, "{outcome}"),
            LineResult::Connected(Err(failure)) if self.status == "dane" => match failure.tls_rpt {
                Some(rpt) => write!(f, "DANE failure: {} [{rpt}]", failure.message),
                None => write!(f, "DANE failure: {}", failure.message),
            },
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
    fn json(&self) -> SmtpLine<'_> {
        let address = self.address.map(|a| a.ip().to_string());
        let base = |verified, dane, error, message| {
            SmtpLine::new(&self.host, address.clone(), self.preference, self.status)
                .with_result(verified, dane, error, message)
        };
        match &self.result {
            LineResult::Connected(Ok(outcome)) => {
                let dane = match outcome {
                    Outcome::Dane(v) => Some(v),
                    _ => None,
                };
                let message = match dane {
                    None => Some("TLS without authentication (no usable TLSA records)".to_owned()),
                    Some(_) if self.mx_insecure => Some(
                        "DANE-verified host, but the MX RRset is insecure (Postfix: trusted)"
                            .to_owned(),
                    ),
                    Some(_) => None,
                };
                base(Some(dane.is_some()), dane, None, message)
            }
            LineResult::Connected(Err(f)) => {
                base(Some(false), None, Some(f.error), Some(f.message.clone()))
            }
            LineResult::Opportunistic => base(None, None, None, None),
            LineResult::NoAddress => base(None, None, None, Some("no address".to_owned())),
            LineResult::Unusable {
                category, words, ..
            } => base(None, None, Some(*category), Some(words.clone())),
        }
    }
}
