//! `danecheck tlsrpt`: the SMTP TLS Reporting record (RFC 8460 §3) a domain publishes at
//! `_smtp._tls.<domain>`, with its DNSSEC status; and the report writer behind
//! `danecheck smtp --tlsrpt FILE`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use dane::ReferenceName;
use dane::resolver::{DaneStatus, LookupError, Security};
use dane::tlsrpt::{
    Aggregator, DateTime, Failure as TlsRptFailure, PolicyDetails, ReportUri, SessionOutcome,
    UtcDay,
};
use serde::Serialize;

use crate::args;
use crate::connect::Failure;
use crate::dns::{DnsArgs, Failed, Setup, block_on, describe, resolver};
use crate::output;
use crate::verbose::Trace;
use crate::{EXIT_DANE_FAILURE, EXIT_LOOKUP_FAILED, EXIT_NO_DANE, EXIT_OK, Fatal, Result, say};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    dns: DnsArgs,
    /// Print the DNS setup on standard error.
    #[arg(short, long)]
    verbose: bool,
    /// One JSON object instead of the lines in words.
    #[arg(long)]
    json: bool,
    /// The domain whose reporting record to show (for DANE reports: the MX host, the
    /// policy-domain of its TLSA policy).
    #[arg(value_name = "DOMAIN", value_parser = args::name)]
    domain: ReferenceName,
}

#[derive(Serialize)]
struct TlsRptLine<'a> {
    domain: &'a str,
    /// `secure`, `insecure`, or `error`.
    dnssec: &'static str,
    /// Whether exactly one valid `v=TLSRPTv1` record is published.
    valid: bool,
    rua: Vec<String>,
    error: Option<String>,
}

/// Exit status: 0 = one valid record; 1 = a record that is not valid (reports cannot be
/// addressed); 3 = no record; 4 = the lookup failed.
pub fn run(opts: &Args) -> Result<u8> {
    let domain = opts.domain.as_str();
    let setup = Setup::new(&opts.dns)?;
    Trace::new(opts.verbose).line(setup.describe());
    let found = block_on(async {
        resolver(&setup)
            .await?
            .lookup_tlsrpt(domain)
            .await
            .map_err(Failed::Lookup)
    })?;
    let owner = format!("_smtp._tls.{domain}");
    let (line, code) = match &found {
        Ok(record) => {
            let dnssec = match record.security {
                Security::Secure => "secure",
                _ => "insecure",
            };
            match &record.policy {
                Ok(policy) => (
                    TlsRptLine {
                        domain,
                        dnssec,
                        valid: true,
                        rua: policy.rua.iter().map(ReportUri::to_string).collect(),
                        error: None,
                    },
                    EXIT_OK,
                ),
                Err(e) => {
                    let none = matches!(e, dane::tlsrpt::ReportingPolicyError::RecordCount(0));
                    (
                        TlsRptLine {
                            domain,
                            dnssec,
                            valid: false,
                            rua: Vec::new(),
                            error: Some(e.to_string()),
                        },
                        if none {
                            EXIT_NO_DANE
                        } else {
                            EXIT_DANE_FAILURE
                        },
                    )
                }
            }
        }
        Err(e) => {
            let error = match e {
                Failed::Lookup(e) => describe(e),
                Failed::Anchor(why) => why.clone(),
            };
            (
                TlsRptLine {
                    domain,
                    dnssec: "error",
                    valid: false,
                    rua: Vec::new(),
                    error: Some(error),
                },
                EXIT_LOOKUP_FAILED,
            )
        }
    };
    if opts.json {
        output::print(&line)?;
    } else if line.valid {
        say(format_args!(
            "{owner}: {}: v=TLSRPTv1; reports to {}",
            line.dnssec,
            line.rua.join(", ")
        ))?;
    } else {
        say(format_args!(
            "{owner}: {}: no usable reporting policy: {}",
            line.dnssec,
            line.error.as_deref().unwrap_or("")
        ))?;
    }
    Ok(code)
}

/// The sessions of one `danecheck smtp` run, as an MTA would report them (RFC 8460), for
/// `--tlsrpt FILE`.
pub struct Recorder {
    file: PathBuf,
    aggregator: Aggregator,
    start: DateTime,
}

impl Recorder {
    pub fn new(file: PathBuf, organization: &str, contact: &str) -> Self {
        Self {
            file,
            aggregator: Aggregator::new(organization, contact),
            start: DateTime::now(),
        }
    }

    /// The MX lookup of `domain` failed: one failed session under the domain.
    pub fn lookup_failed(&self, domain: &str, e: &LookupError) {
        self.aggregator
            .record_at(SessionOutcome::from_lookup_error(domain, e), self.start);
    }

    /// An address of a target whose lookups failed: a failed session without a
    /// connection. (Opportunistic targets are not connected to: no session.)
    pub fn unusable(&self, host: &str, error: &LookupError, address: Option<IpAddr>) {
        let mut failure = TlsRptFailure::from_lookup_error(error).with_receiving_mx_hostname(host);
        if let Some(ip) = address {
            failure = failure.with_receiving_ip(ip);
        }
        let outcome = SessionOutcome::failed(PolicyDetails::tlsa_unknown(host), failure);
        self.aggregator.record_at(outcome, self.start);
    }

    /// One connection to `address` of a target whose TLS is required.
    pub fn connected(
        &self,
        status: &DaneStatus,
        host: &str,
        address: SocketAddr,
        result: &std::result::Result<dane::Outcome, Failure>,
    ) {
        let policy = PolicyDetails::for_status(status, host);
        let failure = match result {
            Err(f) => match &f.report {
                Some(failure) => Some((**failure).clone()),
                // No TLS session took place (no connection, a timeout, an SMTP error
                // before STARTTLS): nothing to report.
                None => return,
            },
            // TLS without authentication under unusable records (RFC 7672 §2.2) counts
            // as the crate's mapping of "no usable records" (tlsa-invalid).
            Ok(_) if matches!(status, DaneStatus::TlsRequiredUnauthenticated { .. }) => {
                Some(TlsRptFailure::from_error(&dane::Error::NoUsableRecords))
            }
            Ok(_) => None,
        };
        let outcome = match failure {
            Some(f) => SessionOutcome::failed(
                policy,
                f.with_receiving_mx_hostname(host)
                    .with_receiving_ip(address.ip()),
            ),
            None => SessionOutcome::success(policy),
        };
        self.aggregator.record_at(outcome, self.start);
    }

    /// Writes the day's reports (one per policy domain) as a JSON array.
    pub fn write(&self) -> Result<()> {
        let reports = self.aggregator.drain(UtcDay::containing(self.start));
        let json = serde_json::to_string_pretty(&reports)
            .map_err(|e| Fatal(format!("cannot write the TLS-RPT report: {e}")))?;
        std::fs::write(&self.file, json + "\n").map_err(|e| {
            Fatal(format!(
                "cannot write the TLS-RPT report to {}: {e}",
                self.file.display()
            ))
        })
    }
}
