//! `danecheck generate`: the TLSA record to publish for a certificate (what
//! `ldns-dane create` or hash-slinger print).

use std::path::PathBuf;

use dane::{CertUsage, Matching, ReferenceName, Selector, Tlsa};

use crate::args;
use crate::input::read_certificates;
use crate::output::{self, GenerateLine};
use crate::{EXIT_OK, Fatal, Result, say};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The certificate (the first of this PEM file).
    #[arg(long, value_name = "CERT.pem")]
    cert: PathBuf,
    /// Certificate usage: a number or an RFC 7218 mnemonic (DANE-EE, DANE-TA, ...).
    #[arg(long, value_name = "U", default_value = "3", value_parser = args::usage)]
    usage: CertUsage,
    /// Selector: a number or a mnemonic (Cert, SPKI).
    #[arg(long, value_name = "S", default_value = "1", value_parser = args::selector)]
    selector: Selector,
    /// Matching type: a number or a mnemonic (Full, SHA2-256, SHA2-512).
    #[arg(long, value_name = "M", default_value = "1", value_parser = args::matching)]
    matching: Matching,
    /// The port of the owner name `_PORT._tcp.HOST.` (with --host; default 25).
    #[arg(long, requires = "host", value_parser = args::any_port)]
    port: Option<u16>,
    /// Print a zone-file line for `_PORT._tcp.HOST.`.
    #[arg(long, value_name = "H", value_parser = args::name)]
    host: Option<ReferenceName>,
    /// One JSON object: {"record":..., "owner":...}.
    #[arg(long)]
    json: bool,
}

pub fn run(opts: &Args) -> Result<u8> {
    let file = opts.cert.display();
    let cert = read_certificates(&opts.cert)?
        .into_iter()
        .next()
        .ok_or_else(|| Fatal(format!("{file}: no certificate")))?;
    let record = Tlsa::from_certificate(&cert, opts.usage, opts.selector, opts.matching)
        .map_err(|e| Fatal(format!("{file}: {e}")))?;
    let port = opts.port.unwrap_or(25);
    let owner = opts.host.as_ref().map(|h| format!("_{port}._tcp.{h}."));

    if opts.json {
        output::print(&GenerateLine {
            record: record.to_string(),
            owner,
        })?;
    } else {
        match owner {
            Some(owner) => say(format_args!("{owner} IN TLSA {record}"))?,
            None => say(&record)?,
        }
    }
    Ok(EXIT_OK)
}
