//! `danecheck https`: authenticate a TLS server in a real handshake, with records given on
//! the command line (`--tlsa`, `--tlsa-file`) or looked up with DNSSEC (`--resolver`,
//! `--trust-anchor`, `--trust-ad`: `_<PORT>._tcp.<base>` TLSA, and the host's addresses
//! through the same server).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use dane::resolver::hickory_proto::rr::{Name, RData, RecordType};
use dane::resolver::{AnswerKind, DnsAnswer, LookupError, TlsaLookup, TlsaResolver};
use dane::{Policy, ReferenceName, TlsaSet};

use crate::args::{self, DEFAULT_EHLO, Host, Profile, Records, Target};
use crate::connect::{self, Failure, Protocol, Session, check_all, names_for, report};
use crate::dns::{DnsArgs, Failed, Setup, Source, block_on, describe, resolver};
use crate::verbose::{self, QueryLine, Trace};
use crate::{EXIT_LOOKUP_FAILED, EXIT_NO_DANE, Fatal, Result, say};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    records: Records,
    /// The TLSA base domain (first; also the TLS server name), then further reference
    /// identifiers. Default: HOST; required when HOST is an IP address.
    #[arg(long, value_name = "NAME", value_parser = args::name)]
    name: Vec<ReferenceName>,
    /// generic: RFC 6698/7671; smtp: RFC 7672 (PKIX-TA/PKIX-EE records unusable).
    #[arg(long, value_enum, default_value = "generic")]
    profile: Profile,
    /// PKIX roots (PEM) for PKIX-TA(0) and PKIX-EE(1) records.
    #[arg(long, value_name = "ROOTS.pem")]
    roots: Option<PathBuf>,
    /// Also check names when a DANE-EE record matches (OpenSSL's default).
    #[arg(long)]
    dane_ee_name_check: bool,
    /// Seconds (fractions allowed) for the TCP connection and for each read and write.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = args::timeout)]
    timeout: Duration,
    /// Connect to this address (a test instance) instead of HOST's addresses; the TLSA
    /// lookup (`_PORT._tcp.HOST`), the names and the SNI stay those of HOST and PORT.
    #[arg(long, value_name = "IP:PORT", value_parser = args::connect)]
    connect: Option<SocketAddr>,
    #[command(flatten)]
    dns: DnsArgs,
    /// Print each DNS step and its DNSSEC status (TLSA, A/AAAA) and each connection on
    /// standard error.
    #[arg(short, long)]
    verbose: bool,
    /// One JSON object per address.
    #[arg(long)]
    json: bool,
    /// The server: a DNS name or an IP address (IPv6 in brackets before a port); port 443
    /// unless given.
    #[arg(value_name = "HOST[:PORT]", value_parser = args::target)]
    target: Target,
}

pub fn run(opts: &Args) -> Result<u8> {
    let Target { host, port } = &opts.target;
    let port = port.unwrap_or(Protocol::Https.default_port());
    let names = names_for(host, &opts.name)?;
    // `https` looks the records up when told whom to trust for them.
    let lookup = opts.dns.given();
    let given = if lookup {
        if opts.records.given() {
            return Err(Fatal::new(
                "--tlsa and --tlsa-file cannot be combined with --resolver, --trust-anchor, \
                 --trust-ad or --no-recursion (records are given or looked up, not both)",
            ));
        }
        None
    } else {
        Some(opts.records.set()?)
    };
    let policy = args::build_policy(
        &names,
        opts.profile,
        opts.roots.as_ref(),
        opts.dane_ee_name_check,
    )?;
    let trace = Trace::new(opts.verbose);
    let (tlsa, looked_up) = match given {
        Some(tlsa) => (tlsa, None),
        None => match lookup_records(opts, port, &policy, trace)? {
            Ok(found) => found,
            // Not DANE, or the lookup failed: already reported.
            Err(code) => return Ok(code),
        },
    };
    let session = Session::new(
        Protocol::Https,
        tlsa,
        policy,
        opts.timeout,
        DEFAULT_EHLO.to_owned(),
    )?;
    let addrs = match (opts.connect, looked_up) {
        (Some(addr), _) => vec![addr],
        (None, Some(addrs)) => addrs,
        (None, None) => match connect::resolve(host, port, opts.json)? {
            Ok(addrs) => addrs,
            Err(code) => return Ok(code),
        },
    };
    for addr in &addrs {
        trace.line(format_args!(
            "connect {addr} (SNI {})",
            session.server_name()
        ));
    }
    check_all(&addrs, &session, opts.json)
}

/// What `https` found in DNS: the TLSA records and, for a host name (without `--connect`),
/// its addresses.
type Found = (TlsaSet, Option<Vec<SocketAddr>>);

/// The TLSA records of the base domain and, when the host is a name and no `--connect`
/// address is given, its addresses, through the DNS server of the command line. When there
/// is nothing to connect to, the exit status after a line saying why: no DANE (3), a failed
/// lookup (4).
fn lookup_records(
    opts: &Args,
    port: u16,
    policy: &Policy,
    trace: Trace,
) -> Result<Result<Found, u8>> {
    let json = opts.json;
    let setup = Setup::new(&opts.dns)?;
    trace.line(setup.describe());
    let base = policy.base_domain().as_str();
    let owner = format!("_{port}._tcp.{base}");
    let here = format!("{base}:{port}");
    let host_name = match (&opts.target.host, opts.connect) {
        (Host::Name(name), None) => Some(name.as_str()),
        _ => None,
    };
    let looked_up = block_on(async {
        let resolver = resolver(&setup).await?;
        let tlsa = resolver.lookup_tlsa(port, "tcp", base).await;
        trace.line(verbose::TlsaLine {
            owner: &owner,
            result: tlsa.as_ref(),
        });
        let tlsa = tlsa.map_err(Failed::Lookup)?;
        let addresses = match (&tlsa, host_name) {
            (TlsaLookup::Secure { .. }, Some(name)) => {
                Some(addresses(&resolver, name, trace).await)
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
                Failed::Lookup(e) => format!("{owner}: TLSA lookup failed: {}", describe(e)),
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
    let records = match &opts.records.digest_order {
        Some(_) => TlsaSet::with_digest_order(records.records().to_vec(), &opts.records.order()),
        None => records,
    };
    let addrs = match (addresses, host_name) {
        (Some(Ok(ips)), _) if !ips.is_empty() => Some(
            ips.into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect(),
        ),
        (Some(resolved), Some(name)) => {
            let why = match resolved {
                Err(e) => e.to_string(),
                Ok(_) => "no address".to_owned(),
            };
            let failure = Failure::new("resolve-failed", format!("cannot resolve {name}: {why}"));
            report(&format!("{name}:{port}"), &Err(failure), json)?;
            return Ok(Err(EXIT_LOOKUP_FAILED));
        }
        _ => None,
    };
    Ok(Ok((records, addrs)))
}

/// The A and AAAA records of `host`, secure or not (the TLSA lookup decided about DANE);
/// an error only when no address came back.
async fn addresses(
    resolver: &TlsaResolver<Source>,
    host: &str,
    trace: Trace,
) -> std::result::Result<Vec<IpAddr>, LookupError> {
    let mut name =
        Name::from_ascii(host).map_err(|e| LookupError::InvalidName(format!("{host}: {e}")))?;
    name.set_fqdn(true);
    let mut found = Vec::new();
    let mut error = None;
    for rtype in [RecordType::A, RecordType::AAAA] {
        let answer = resolver.query(&name, rtype).await;
        trace.line(QueryLine {
            name: &name,
            rtype,
            answer: &answer,
        });
        match answer {
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
