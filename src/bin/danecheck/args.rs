//! Typed value parsers for clap, shared option groups, and the checks options need
//! together: a bad value is a usage error (exit status 2, one line on standard error).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dane::{
    CertUsage, DEFAULT_DIGEST_ORDER, Matching, PkixRoots, Policy, ReferenceName, Selector, Tlsa,
    TlsaSet,
};

use crate::input::{parse_record, read_certificates, read_tlsa_file};
use crate::{Fatal, Result};

/// The default `--ehlo` name.
pub const DEFAULT_EHLO: &str = "danecheck.invalid";

/// `--profile`: which rules decide which records are usable and how they match.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Profile {
    /// RFC 7672: PKIX-TA(0) and PKIX-EE(1) records are unusable.
    Smtp,
    /// RFC 6698 / RFC 7671.
    Generic,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Self::Smtp => "smtp",
            Self::Generic => "generic",
        }
    }

    /// The policy of this profile for the TLSA base domain `base`.
    pub fn policy(self, base: ReferenceName) -> Policy {
        match self {
            Self::Smtp => Policy::smtp(base),
            Self::Generic => Policy::generic(base),
        }
    }
}

/// `--digest-order`: the supported digests, strongest first.
#[derive(Clone, Debug)]
pub struct DigestOrder(pub Vec<Matching>);

/// The records given on the command line: `--tlsa`, `--tlsa-file`, `--digest-order`.
#[derive(clap::Args, Debug)]
pub struct Records {
    /// A TLSA record in presentation format, numbers or RFC 7218 mnemonics ("3 1 1 HEX",
    /// "DANE-EE SPKI SHA2-256 HEX"); may be repeated.
    #[arg(long = "tlsa", value_name = "U S M HEX", value_parser = tlsa_record)]
    pub tlsa: Vec<Tlsa>,
    /// TLSA records, one per line, bare or as zone-file lines (`;` comments, `$` directives
    /// and blank lines ignored; parentheses may wrap a record over lines). Numbered after
    /// the --tlsa records.
    #[arg(long, value_name = "RRS")]
    pub tlsa_file: Option<PathBuf>,
    /// The supported digests, strongest first (sha512, sha256, SHA2-512, SHA2-256, 2, 1); a
    /// digest left out is unsupported, so its records are unusable (RFC 7671 §9).
    #[arg(long, value_name = "sha512,sha256", value_parser = digest_order)]
    pub digest_order: Option<DigestOrder>,
}

impl Records {
    /// Whether any record was given.
    pub fn given(&self) -> bool {
        !self.tlsa.is_empty() || self.tlsa_file.is_some()
    }

    /// The TLSA RRset from `--tlsa`, `--tlsa-file` and `--digest-order`.
    pub fn set(&self) -> Result<TlsaSet> {
        let mut records = self.tlsa.clone();
        if let Some(file) = &self.tlsa_file {
            records.extend(read_tlsa_file(file)?);
        }
        if records.is_empty() {
            return Err(Fatal::new(
                "no TLSA record given (use --tlsa or --tlsa-file)",
            ));
        }
        Ok(TlsaSet::with_digest_order(records, &self.order()))
    }

    /// The digest order: `--digest-order`, or the crate's default.
    pub fn order(&self) -> Vec<Matching> {
        match &self.digest_order {
            Some(DigestOrder(order)) => order.clone(),
            None => DEFAULT_DIGEST_ORDER.to_vec(),
        }
    }
}

/// The [`Policy`] for the reference `names` (the TLSA base domain first) under `profile`,
/// with `--roots` (PKIX roots for PKIX-TA and PKIX-EE) and `--dane-ee-name-check`.
pub fn build_policy(
    names: &[ReferenceName],
    profile: Profile,
    roots: Option<&PathBuf>,
    dane_ee_name_check: bool,
) -> Result<Policy> {
    let mut names = names.iter().cloned();
    let base = names
        .next()
        .ok_or_else(|| Fatal::new("missing --name (the TLSA base domain)"))?;
    let mut policy = profile.policy(base);
    for name in names {
        policy = policy.with_reference_name(name);
    }
    if dane_ee_name_check {
        policy = policy.with_dane_ee_name_checks(true);
    }
    if let Some(file) = roots {
        let certs = read_certificates(file)?;
        if certs.is_empty() {
            return Err(Fatal(format!("{}: no root certificate", file.display())));
        }
        let roots = PkixRoots::from_certificates(certs)
            .map_err(|e| Fatal(format!("{}: {e}", file.display())))?;
        policy = policy.with_pkix_roots(Arc::new(roots));
    }
    Ok(policy)
}

// ------------------------------------------------------------------------ value parsers

/// `--tlsa`: one record, presentation format or a zone-file line.
pub fn tlsa_record(text: &str) -> Result<Tlsa, String> {
    parse_record(text).map_err(|e| e.to_string())
}

/// `--name`, `--host`, `HOST`, `DOMAIN`: a DNS name (A-labels or U-labels, a final dot
/// allowed).
pub fn name(text: &str) -> Result<ReferenceName, String> {
    ReferenceName::new(text).map_err(|e| e.to_string())
}

/// `--digest-order`: a comma-separated list of digests, strongest first.
pub fn digest_order(list: &str) -> Result<DigestOrder, String> {
    let mut order = Vec::new();
    for item in list.split(',').map(str::trim) {
        let digest = match item.to_ascii_lowercase().as_str() {
            "sha512" | "sha2-512" | "2" => Matching::Sha512,
            "sha256" | "sha2-256" | "1" => Matching::Sha256,
            _ => {
                return Err(format!(
                    "unknown digest {item:?} (want sha512, sha256, SHA2-512, SHA2-256, 2 or 1)"
                ));
            }
        };
        if order.contains(&digest) {
            return Err(format!("{item:?} is listed twice"));
        }
        order.push(digest);
    }
    Ok(DigestOrder(order))
}

/// `--at`: a time in Unix seconds.
pub fn unix_seconds(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| "want a time in Unix seconds, such as 1780272000".to_owned())
}

/// `--usage`: a number or an RFC 7218 mnemonic.
pub fn usage(text: &str) -> Result<CertUsage, String> {
    CertUsage::parse(text).map_err(|e| e.to_string())
}

/// `--selector`: a number or an RFC 7218 mnemonic.
pub fn selector(text: &str) -> Result<Selector, String> {
    Selector::parse(text).map_err(|e| e.to_string())
}

/// `--matching`: a number or an RFC 7218 mnemonic.
pub fn matching(text: &str) -> Result<Matching, String> {
    Matching::parse(text).map_err(|e| e.to_string())
}

/// `generate --port`: 0-65535 (the owner name of a record may hold any port).
pub fn any_port(text: &str) -> Result<u16, String> {
    text.parse()
        .map_err(|_| "want a port number 0-65535".to_owned())
}

/// `--port`, `--smtp-port`: 1-65535.
pub fn port(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|&port| port > 0)
        .ok_or_else(|| "want a port number 1-65535".to_owned())
}

/// `--timeout`: seconds, possibly fractional, more than zero.
pub fn timeout(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| "want a number of seconds more than 0, such as 10 or 2.5".to_owned())
}

/// `--ehlo`: the name sent in `EHLO`, one word of printable ASCII.
pub fn ehlo(name: &str) -> Result<String, String> {
    if name.is_empty() || name.len() > 255 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("want a domain name or address literal, such as mail.example.org".to_owned());
    }
    Ok(name.to_owned())
}

/// `--resolver`: `IP:PORT`, `[IPv6]:PORT`, or an IP address (port 53).
pub fn server(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err("want IP:PORT, such as 127.0.0.1:53 or [::1]:53".to_owned())
}

/// `--connect`: `IP:PORT` or `[IPv6]:PORT`, a port 1-65535.
pub fn connect(text: &str) -> Result<SocketAddr, String> {
    match text.parse::<SocketAddr>() {
        Ok(addr) if addr.port() > 0 => Ok(addr),
        _ => Err("want IP:PORT, such as 127.0.0.1:2525 or [::1]:2525".to_owned()),
    }
}

/// The `HOST` of `HOST[:PORT]`.
#[derive(Clone, Debug)]
pub enum Host {
    Ip(IpAddr),
    Name(ReferenceName),
}

/// `HOST[:PORT]`: the host, and the port when one is given.
#[derive(Clone, Debug)]
pub struct Target {
    pub host: Host,
    pub port: Option<u16>,
}

/// Splits `HOST[:PORT]`: a DNS name, an IPv4 address, or an IPv6 address (in brackets when
/// a port follows: `[::1]:25`).
pub fn target(target: &str) -> Result<Target, String> {
    let port_of = |p: &str| -> Result<u16, String> {
        match p.parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(format!("bad port {p:?} (want a port number 1-65535)")),
        }
    };
    if let Some(rest) = target.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or_else(|| "no ']' after the IPv6 address".to_owned())?;
        let ip: Ipv6Addr = ip
            .parse()
            .map_err(|_| format!("{ip:?} is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(port_of(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| "want [IPv6]:PORT".to_owned())?,
            )?),
        };
        return Ok(Target {
            host: Host::Ip(IpAddr::V6(ip)),
            port,
        });
    }
    if let Ok(ip) = target.parse::<IpAddr>() {
        return Ok(Target {
            host: Host::Ip(ip),
            port: None,
        });
    }
    let (host, port) = match target.rsplit_once(':') {
        Some((host, port)) => (host, Some(port_of(port)?)),
        None => (target, None),
    };
    if host.contains(':') {
        return Err(format!(
            "put an IPv6 address in brackets before a port: [::1]:{}",
            port.unwrap_or_default()
        ));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Target {
            host: Host::Ip(IpAddr::V4(ip)),
            port,
        });
    }
    let name = ReferenceName::new(host).map_err(|e| format!("host {host:?}: {e}"))?;
    Ok(Target {
        host: Host::Name(name),
        port,
    })
}
