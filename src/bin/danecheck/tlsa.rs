//! `danecheck tlsa`: look up `_<port>._tcp.HOST` TLSA with DNSSEC.

use dane::ReferenceName;
use dane::resolver::{LookupError, TlsaLookup};

use crate::args::{self, Profile};
use crate::dns::{DnsArgs, Failed, Setup, block_on, resolver};
use crate::output::{self, TlsaLine};
use crate::verbose::{self, Trace};
use crate::{EXIT_LOOKUP_FAILED, EXIT_NO_DANE, EXIT_OK, Result, say};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    dns: DnsArgs,
    /// The port of the owner name `_PORT._tcp.HOST`.
    #[arg(long, default_value = "25", value_parser = args::port)]
    port: u16,
    /// Which records are usable: smtp (RFC 7672) or generic (RFC 7671). Default: smtp for
    /// port 25, generic otherwise.
    #[arg(long, value_enum)]
    profile: Option<Profile>,
    /// Print each DNS step and its DNSSEC status on standard error.
    #[arg(short, long)]
    verbose: bool,
    /// One JSON object instead of the line in words.
    #[arg(long)]
    json: bool,
    /// The host whose TLSA records to look up.
    #[arg(value_name = "HOST", value_parser = args::name)]
    host: ReferenceName,
}

pub fn run(opts: &Args) -> Result<u8> {
    let host = &opts.host;
    let port = opts.port;
    let profile = opts.profile.unwrap_or(if port == 25 {
        Profile::Smtp
    } else {
        Profile::Generic
    });
    let setup = Setup::new(&opts.dns)?;
    let trace = Trace::new(opts.verbose);
    trace.line(setup.describe());
    let owner = format!("_{port}._tcp.{}", host.as_str());

    let result = block_on(async {
        resolver(&setup)
            .await?
            .lookup_tlsa(port, "tcp", host.as_str())
            .await
            .map_err(Failed::Lookup)
    })?;
    match &result {
        Ok(lookup) => trace.line(verbose::TlsaLine {
            owner: &owner,
            result: Ok(lookup),
        }),
        Err(Failed::Lookup(e)) => trace.line(verbose::TlsaLine {
            owner: &owner,
            result: Err(e),
        }),
        Err(Failed::Anchor(why)) => trace.line(why),
    }

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
            Some(records.has_usable(&profile.policy(base.clone())))
        }
        _ => None,
    };
    let failure = result.as_ref().err();
    if opts.json {
        output::print(&TlsaLine {
            status,
            base,
            records,
            ttl,
            error: failure.map(Failed::category),
            message: failure.map(ToString::to_string),
            usable,
        })?;
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
                        "secure: {owner}: {list} (ttl {ttl}), no usable record ({} profile)",
                        profile.name()
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
