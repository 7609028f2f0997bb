//! `danecheck verify`: decide, with [`dane::verify`], whether a chain is authenticated by a
//! TLSA RRset.

use std::path::PathBuf;
use std::time::Duration;

use dane::ReferenceName;
use dane::pki_types::UnixTime;

use crate::args::{self, Profile, Records};
use crate::input::read_certificates;
use crate::output::{self, VerifyLine};
use crate::{EXIT_DANE_FAILURE, EXIT_OK, Fatal, Result, say};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The certificates in the order the server sends them, leaf first (PEM).
    #[arg(long, value_name = "CHAIN.pem")]
    chain: PathBuf,
    #[command(flatten)]
    records: Records,
    /// The TLSA base domain (first), then further acceptable reference identifiers, such
    /// as the SMTP next-hop domain.
    #[arg(long, value_name = "NAME", required = true, value_parser = args::name)]
    name: Vec<ReferenceName>,
    /// PKIX roots (PEM) for PKIX-TA(0) and PKIX-EE(1) records.
    #[arg(long, value_name = "ROOTS.pem")]
    roots: Option<PathBuf>,
    /// The time to validate at, in Unix seconds (default: now).
    #[arg(long, value_name = "UNIX_SECONDS", value_parser = args::unix_seconds)]
    at: Option<u64>,
    /// smtp: RFC 7672 (PKIX-TA/PKIX-EE records unusable); generic: RFC 6698/7671.
    #[arg(long, value_enum, default_value = "smtp")]
    profile: Profile,
    /// Also check names when a DANE-EE record matches (OpenSSL's default).
    #[arg(long)]
    dane_ee_name_check: bool,
    /// One JSON object instead of the line in words.
    #[arg(long)]
    json: bool,
}

pub fn run(opts: &Args) -> Result<u8> {
    let chain = read_certificates(&opts.chain)?;
    if chain.is_empty() {
        return Err(Fatal(format!(
            "{}: no certificate in the chain",
            opts.chain.display()
        )));
    }
    let tlsa = opts.records.set()?;
    let policy = args::build_policy(
        &opts.name,
        opts.profile,
        opts.roots.as_ref(),
        opts.dane_ee_name_check,
    )?;
    let now = match opts.at {
        Some(secs) => UnixTime::since_unix_epoch(Duration::from_secs(secs)),
        None => UnixTime::now(),
    };

    let result = dane::verify(&chain, &tlsa, &policy, now);
    if opts.json {
        output::print(&VerifyLine::new(&result))?;
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
