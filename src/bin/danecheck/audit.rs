//! `danecheck audit`: the check a domain owner runs before and after a certificate or key
//! change. For every MX host (or the HTTPS server of `--https`) and every address: the
//! DNSSEC status of each DNS step, the TLSA RRset and its signature's expiry, the chain the
//! server presents, which records match it (and at which depth), then warnings in the
//! spirit of RFC 7671 §8 (rollover) and the operators' DANE guidance, each with a short
//! code. Text for people, `--json` (one object) for monitoring.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dane::pki_types::{CertificateDer, UnixTime};
use dane::resolver::hickory_proto::rr::{Name, RData, RecordType};
use dane::resolver::{
    AnswerKind, DaneStatus, DnsAnswer, LookupError, Security, SignatureValidity, Step, TlsaLookup,
    TlsaResolver,
};
use dane::{
    CertUsage, Matching, Outcome, Policy, RecordStatus, ReferenceName, Selector, Tlsa, TlsaSet,
    Unusable, Verified,
};
use serde::Serialize;

use crate::args::{self, DEFAULT_EHLO, Host, Target};
use crate::connect::{Failure, Protocol, Session, check_address_chain, outcome_status};
use crate::dns::{DnsArgs, Failed, Setup, Source, block_on, describe, resolver};
use crate::output;
use crate::verbose::{QueryLine, TlsaLine, show};
use crate::{
    EXIT_DANE_FAILURE, EXIT_LOOKUP_FAILED, EXIT_NO_DANE, EXIT_OK, Fatal, Result, say, worst,
};

/// Exit status of `audit` when every address was authenticated by DANE but there are
/// warnings (a rollover that will break delivery, a signature or certificate about to
/// expire, …).
pub const EXIT_WARNINGS: u8 = 5;

/// The default of `--warn-days`.
const DEFAULT_WARN_DAYS: &str = "14";

const DAY: u64 = 86_400;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    dns: DnsArgs,
    /// Audit the HTTPS server HOST (port 443 unless given; TLS at once, `_PORT._tcp.HOST`
    /// TLSA, the RFC 7671 rules) instead of the MX hosts of a mail domain.
    #[arg(
        long,
        value_name = "HOST[:PORT]",
        value_parser = args::target,
        conflicts_with_all = ["domain", "smtp_port", "ehlo"]
    )]
    https: Option<Target>,
    /// The SMTP port: of the TLSA owner names `_PORT._tcp.MX` and of the connections.
    #[arg(long, value_name = "PORT", default_value = "25", value_parser = args::port)]
    smtp_port: u16,
    /// Connect to this address (a test instance) instead of each host's addresses; the
    /// lookups, the names and the SNI stay those of production.
    #[arg(long, value_name = "IP:PORT", value_parser = args::connect)]
    connect: Option<SocketAddr>,
    /// Seconds (fractions allowed) for the TCP connection and for each read and write.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = args::timeout)]
    timeout: Duration,
    /// The name sent in EHLO.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_EHLO, value_parser = args::ehlo)]
    ehlo: String,
    /// Warn about TLSA signatures and (under DANE-TA) certificates that expire within DAYS
    /// days.
    #[arg(long, value_name = "DAYS", default_value = DEFAULT_WARN_DAYS, value_parser = days)]
    warn_days: u32,
    /// One JSON object (hosts, addresses, records, matches, warnings) instead of the text.
    #[arg(long)]
    json: bool,
    /// The mail (next-hop) domain.
    #[arg(value_name = "DOMAIN", value_parser = args::name, required_unless_present = "https")]
    domain: Option<ReferenceName>,
}

/// `--warn-days`: 0 to 36500.
fn days(text: &str) -> std::result::Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|d| *d <= 36_500)
        .ok_or_else(|| "want a number of days 0-36500, such as 14".to_owned())
}

// ----------------------------------------------------------------------------- report

/// The `--json` object.
#[derive(Serialize)]
struct Report {
    /// The mail domain, or the HTTPS host.
    target: String,
    /// `smtp` or `https`.
    service: &'static str,
    port: u16,
    /// `verified`, `warnings`, `dane-failure`, `no-dane` or `lookup-failed`.
    status: &'static str,
    exit: u8,
    /// The MX lookup (SMTP).
    mx: Option<StepOut>,
    /// Why there are no hosts (a failed MX lookup, a null MX).
    error: Option<&'static str>,
    message: Option<String>,
    hosts: Vec<HostOut>,
    warnings: Vec<Warning>,
    /// Information that does not count as a warning.
    notes: Vec<Warning>,
    warn_days: u32,
}

/// One DNS step and its DNSSEC status.
#[derive(Serialize)]
struct StepOut {
    rtype: String,
    name: String,
    /// `secure`, `insecure`, `bogus` or `failed`.
    status: &'static str,
    /// `records`, `nodata`, `nxdomain`; for TLSA: `secure`, `secure-absent`, `insecure`.
    answer: Option<&'static str>,
    cnames: Vec<String>,
    records: Vec<String>,
    ttl: Option<u32>,
    error: Option<&'static str>,
    /// The line of `-v` (and of the text report).
    text: String,
}

#[derive(Serialize)]
struct HostOut {
    host: String,
    preference: Option<u16>,
    port: u16,
    /// `dane`, `tls-unauthenticated`, `opportunistic`, `unusable` (or `no-dane` for
    /// `--https` without secure TLSA records).
    status: &'static str,
    error: Option<&'static str>,
    message: Option<String>,
    tlsa_base: Option<String>,
    reference_names: Vec<String>,
    steps: Vec<StepOut>,
    tlsa: Option<TlsaOut>,
    addresses: Vec<AddressOut>,
}

#[derive(Serialize)]
struct TlsaOut {
    owner: String,
    ttl: u32,
    /// The TTL in the zone (the RRSIG's original TTL), when known.
    zone_ttl: Option<u32>,
    signature_inception: Option<u64>,
    signature_expiration: Option<u64>,
    signer: Option<String>,
    key_tag: Option<u16>,
    malformed: usize,
    records: Vec<RecordOut>,
}

#[derive(Serialize)]
struct RecordOut {
    index: usize,
    record: String,
    usage: u8,
    selector: u8,
    matching: u8,
    usable: bool,
    /// Why the record is not used (`unknown-usage`, `weaker-digest`, …).
    unusable: Option<&'static str>,
}

#[derive(Serialize)]
struct AddressOut {
    address: String,
    /// Where the connection went (`--connect`), when not to the address itself.
    connected_to: Option<String>,
    /// Whether the address lookup was secure (DANE covers only those).
    secure: bool,
    /// Null when no connection was made.
    verified: Option<bool>,
    usage: Option<u8>,
    selector: Option<u8>,
    matching: Option<u8>,
    record_index: Option<usize>,
    depth: Option<usize>,
    error: Option<&'static str>,
    message: Option<String>,
    chain: Vec<CertOut>,
    matches: Vec<MatchOut>,
}

#[derive(Serialize, Clone)]
struct CertOut {
    depth: usize,
    subject: String,
    issuer: String,
    not_before: Option<i64>,
    not_after: Option<i64>,
    /// SHA-256 of the SubjectPublicKeyInfo (what `3 1 1` publishes).
    spki_sha256: String,
}

#[derive(Serialize)]
struct MatchOut {
    index: usize,
    record: String,
    usable: bool,
    /// Whether the record's data matches a certificate of the chain (for DANE-EE and
    /// PKIX-EE: the leaf), and the first depth it matches at.
    matches: bool,
    depth: Option<usize>,
    /// For a usable record: whether it alone authenticates the chain (names, CA bits and
    /// validity included), and if not, why (an error category).
    authenticates: Option<bool>,
    error: Option<&'static str>,
}

/// A warning (or a note) with a stable code.
#[derive(Serialize, Clone, PartialEq, Eq)]
struct Warning {
    code: &'static str,
    host: Option<String>,
    addresses: Vec<String>,
    message: String,
}

// ------------------------------------------------------------------------------ run

pub fn run(opts: &Args) -> Result<u8> {
    let setup = Setup::new(&opts.dns)?;
    let now = SystemTime::now();
    let mut report = match (&opts.https, &opts.domain) {
        (Some(target), _) => https_report(opts, &setup, target, now)?,
        (None, Some(domain)) => smtp_report(opts, &setup, domain, now)?,
        (None, None) => return Err(Fatal::new("give a DOMAIN, or --https HOST[:PORT]")),
    };
    finish(&mut report);
    if opts.json {
        output::print(&report)?;
    } else {
        print_text(&report)?;
    }
    Ok(report.exit)
}

/// The exit status and the status word, from the hosts' codes (already in `report.exit`)
/// and the warnings.
fn finish(report: &mut Report) {
    if report.exit == EXIT_OK && !report.warnings.is_empty() {
        report.exit = EXIT_WARNINGS;
    }
    report.status = match report.exit {
        EXIT_OK => "verified",
        EXIT_WARNINGS => "warnings",
        EXIT_DANE_FAILURE => "dane-failure",
        EXIT_NO_DANE => "no-dane",
        _ => "lookup-failed",
    };
}

fn empty_report(target: &str, service: &'static str, port: u16, warn_days: u32) -> Report {
    Report {
        target: target.to_owned(),
        service,
        port,
        status: "verified",
        exit: EXIT_OK,
        mx: None,
        error: None,
        message: None,
        hosts: Vec::new(),
        warnings: Vec::new(),
        notes: Vec::new(),
        warn_days,
    }
}

/// What one host needs for its connections and its analysis.
struct Plan {
    out: HostOut,
    tlsa: Option<TlsaSet>,
    policy: Option<Policy>,
    session: Option<Session>,
    /// The addresses to connect to: (address shown, where to connect, secure).
    connect: Vec<(IpAddr, SocketAddr, bool)>,
    /// Every address of the host, and whether its lookup was secure.
    all: Vec<(IpAddr, bool)>,
    /// The exit status from DNS alone (0 when connections decide).
    code: u8,
    signature: Option<SignatureValidity>,
}

fn smtp_report(
    opts: &Args,
    setup: &Setup,
    domain: &ReferenceName,
    now: SystemTime,
) -> Result<Report> {
    let port = opts.smtp_port;
    let mut report = empty_report(domain.as_str(), "smtp", port, opts.warn_days);
    let looked_up = block_on(async {
        let resolver = resolver(setup).await?;
        let plan = resolver
            .smtp_targets(domain.as_str(), port)
            .await
            .map_err(Failed::Lookup)?;
        let mut signatures = Vec::new();
        for target in &plan.targets {
            signatures.push(signature_of(&resolver, &target.status, port).await);
        }
        Ok::<_, Failed>((plan, signatures))
    })?;
    let (plan, signatures) = match looked_up {
        Ok(found) => found,
        Err(failed) => {
            report.exit = EXIT_LOOKUP_FAILED;
            report.error = Some(failed.category());
            report.message = Some(match &failed {
                Failed::Lookup(e) => format!("MX lookup failed: {}", describe(e)),
                Failed::Anchor(why) => why.clone(),
            });
            return Ok(report);
        }
    };
    report.mx = plan.steps().first().map(step_out);
    if plan.targets.is_empty() {
        report.exit = EXIT_NO_DANE;
        report.error = Some("null-mx");
        report.message = Some("null MX: the domain accepts no mail".to_owned());
        return Ok(report);
    }
    let mut code = EXIT_OK;
    for (target, signature) in plan.targets.iter().zip(signatures) {
        let mut host = plan_smtp_host(opts, target, signature)?;
        let (out, warnings, notes) = check_host(&mut host, opts, now);
        code = worst(code, host.code);
        report.hosts.push(out);
        report.warnings.extend(warnings);
        report.notes.extend(notes);
    }
    report.exit = code;
    Ok(report)
}

/// The RRSIG validity of the TLSA RRset a host's status was decided on.
async fn signature_of(
    resolver: &TlsaResolver<Source>,
    status: &DaneStatus,
    port: u16,
) -> Option<std::result::Result<Option<SignatureValidity>, LookupError>> {
    let base = match status {
        DaneStatus::Required { sni, .. } | DaneStatus::TlsRequiredUnauthenticated { sni, .. } => {
            sni
        }
        _ => return None,
    };
    let owner = tlsa_owner(port, base)?;
    Some(
        resolver
            .source()
            .signature_validity(&owner, RecordType::TLSA)
            .await,
    )
}

fn tlsa_owner(port: u16, base: &ReferenceName) -> Option<Name> {
    let mut name = Name::from_ascii(format!("_{port}._tcp.{}", base.as_str())).ok()?;
    name.set_fqdn(true);
    Some(name)
}

fn plan_smtp_host(
    opts: &Args,
    target: &dane::resolver::Target,
    signature: Option<std::result::Result<Option<SignatureValidity>, LookupError>>,
) -> Result<Plan> {
    let out = HostOut {
        host: show(&target.host),
        preference: Some(target.preference),
        port: target.port,
        status: target.status.label(),
        error: None,
        message: None,
        tlsa_base: None,
        reference_names: Vec::new(),
        steps: target.steps().iter().map(step_out).collect(),
        tlsa: None,
        addresses: Vec::new(),
    };
    let secure = target.secure_addresses.iter().map(|&ip| (ip, true));
    let insecure = target.insecure_addresses.iter().map(|&ip| (ip, false));
    let all: Vec<(IpAddr, bool)> = secure.chain(insecure).collect();
    let mut plan = Plan {
        out,
        tlsa: None,
        policy: None,
        session: None,
        connect: Vec::new(),
        all: Vec::new(),
        code: EXIT_OK,
        signature: None,
    };
    let (lookup_ttl, malformed) = secure_tlsa(target.steps());
    match &target.status {
        DaneStatus::Required { tlsa, policy, sni } => {
            plan.out.tlsa_base = Some(sni.as_str().to_owned());
            plan.out.reference_names = policy
                .reference_names()
                .iter()
                .map(|n| n.as_str().to_owned())
                .collect();
            plan.session = Some(Session::new(
                Protocol::Smtp,
                tlsa.clone(),
                policy.clone(),
                opts.timeout,
                opts.ehlo.clone(),
            )?);
            plan.tlsa = Some(tlsa.clone());
            plan.policy = Some(policy.clone());
        }
        DaneStatus::TlsRequiredUnauthenticated { sni, tlsa } => {
            plan.out.tlsa_base = Some(sni.as_str().to_owned());
            let policy = Policy::smtp(sni.clone());
            plan.session = Some(
                Session::new(
                    Protocol::Smtp,
                    TlsaSet::new([]),
                    policy.clone(),
                    opts.timeout,
                    opts.ehlo.clone(),
                )?
                .accepting_unauthenticated(),
            );
            plan.tlsa = Some(tlsa.clone());
            plan.policy = Some(policy);
        }
        DaneStatus::Unusable(e) => {
            plan.code = EXIT_LOOKUP_FAILED;
            plan.out.error = Some(e.category());
            plan.out.message = Some(describe(e));
        }
        DaneStatus::Opportunistic => plan.code = EXIT_NO_DANE,
        _ => {
            plan.code = EXIT_LOOKUP_FAILED;
            plan.out.error = Some("unknown-status");
        }
    }
    if let (Some(tlsa), Some(base)) = (&plan.tlsa, &plan.out.tlsa_base) {
        plan.out.tlsa = Some(tlsa_out(
            format!("_{}._tcp.{base}", target.port),
            tlsa,
            plan.policy.as_ref(),
            lookup_ttl,
            malformed,
        ));
    }
    plan.signature = signature_note(&mut plan.out, signature);
    plan.connect = addresses_to_connect(&all, target.port, opts.connect, plan.session.is_some());
    plan.all = all;
    Ok(plan)
}

/// The TTL and the count of malformed records of the secure TLSA lookup among `steps`.
fn secure_tlsa(steps: &[Step]) -> (u32, usize) {
    steps
        .iter()
        .rev()
        .find_map(|s| match s {
            Step::Tlsa {
                result: Ok(TlsaLookup::Secure { ttl, malformed, .. }),
                ..
            } => Some((*ttl, *malformed)),
            _ => None,
        })
        .unwrap_or((0, 0))
}

/// Fills the signature fields of the host's TLSA output; the validity when known.
fn signature_note(
    out: &mut HostOut,
    signature: Option<std::result::Result<Option<SignatureValidity>, LookupError>>,
) -> Option<SignatureValidity> {
    let tlsa = out.tlsa.as_mut()?;
    let found = signature.and_then(std::result::Result::ok).flatten()?;
    tlsa.zone_ttl = Some(found.original_ttl);
    tlsa.signature_inception = Some(unix(found.inception));
    tlsa.signature_expiration = Some(unix(found.expiration));
    tlsa.signer = Some(show(&found.signer));
    tlsa.key_tag = Some(found.key_tag);
    Some(found)
}

/// The addresses to connect to when TLS is required (every secure one, or `--connect`
/// standing in for them), each with where the connection goes; the others are listed
/// without a connection.
fn addresses_to_connect(
    all: &[(IpAddr, bool)],
    port: u16,
    connect: Option<SocketAddr>,
    tls_required: bool,
) -> Vec<(IpAddr, SocketAddr, bool)> {
    if !tls_required {
        return Vec::new();
    }
    match connect {
        Some(to) => match all.iter().find(|(_, secure)| *secure) {
            Some(&(ip, secure)) => vec![(ip, to, secure)],
            None => vec![(to.ip(), to, true)],
        },
        None => all
            .iter()
            .filter(|(_, secure)| *secure)
            .map(|&(ip, secure)| (ip, SocketAddr::new(ip, port), secure))
            .collect(),
    }
}

fn https_report(opts: &Args, setup: &Setup, target: &Target, now: SystemTime) -> Result<Report> {
    let Host::Name(host) = &target.host else {
        return Err(Fatal::new(
            "--https needs a host name (the TLSA base domain); use --connect IP:PORT to reach \
             an address",
        ));
    };
    let port = target.port.unwrap_or(Protocol::Https.default_port());
    let mut report = empty_report(host.as_str(), "https", port, opts.warn_days);
    let mut name =
        Name::from_ascii(host.as_str()).map_err(|e| Fatal(format!("{}: {e}", host.as_str())))?;
    name.set_fqdn(true);
    let owner = tlsa_owner(port, host)
        .ok_or_else(|| Fatal(format!("_{port}._tcp.{}: not a DNS name", host.as_str())))?;
    let looked_up = block_on(async {
        let resolver = resolver(setup).await?;
        let mut answers = Vec::new();
        for rtype in [RecordType::A, RecordType::AAAA] {
            answers.push((rtype, resolver.query(&name, rtype).await));
        }
        let tlsa = resolver.lookup_tlsa(port, "tcp", host.as_str()).await;
        let signature = match &tlsa {
            Ok(TlsaLookup::Secure { .. }) => Some(
                resolver
                    .source()
                    .signature_validity(&owner, RecordType::TLSA)
                    .await,
            ),
            _ => None,
        };
        Ok::<_, Failed>((answers, tlsa, signature))
    })?;
    let (answers, tlsa, signature) = match looked_up {
        Ok(found) => found,
        Err(failed) => {
            report.exit = EXIT_LOOKUP_FAILED;
            report.error = Some(failed.category());
            report.message = Some(failed.to_string());
            return Ok(report);
        }
    };
    let mut steps: Vec<StepOut> = answers
        .iter()
        .map(|(rtype, answer)| query_step(&name, *rtype, answer))
        .collect();
    steps.push(tlsa_step(&show(&owner), tlsa.as_ref()));
    let mut all = Vec::new();
    let mut address_error = None;
    for (_, answer) in &answers {
        match answer {
            Ok(DnsAnswer {
                security,
                kind: AnswerKind::Records { rdata, .. },
            }) => all.extend(rdata.iter().filter_map(|r| match r {
                RData::A(a) => Some((IpAddr::V4(a.0), *security == Security::Secure)),
                RData::AAAA(a) => Some((IpAddr::V6(a.0), *security == Security::Secure)),
                _ => None,
            })),
            Ok(_) => {}
            Err(e) => address_error = Some(e.clone()),
        }
    }
    let out = HostOut {
        host: host.as_str().to_owned(),
        preference: None,
        port,
        status: "no-dane",
        error: None,
        message: None,
        tlsa_base: None,
        reference_names: Vec::new(),
        steps,
        tlsa: None,
        addresses: Vec::new(),
    };
    let mut plan = Plan {
        out,
        tlsa: None,
        policy: None,
        session: None,
        connect: Vec::new(),
        all: Vec::new(),
        code: EXIT_OK,
        signature: None,
    };
    match tlsa {
        Ok(TlsaLookup::Secure {
            records,
            malformed,
            ttl,
            base,
        }) => {
            let policy = Policy::generic(base.clone());
            plan.out.tlsa_base = Some(base.as_str().to_owned());
            plan.out.reference_names = vec![base.as_str().to_owned()];
            plan.out.tlsa = Some(tlsa_out(
                show(&owner),
                &records,
                Some(&policy),
                ttl,
                malformed,
            ));
            if records.has_usable(&policy) {
                plan.out.status = "dane";
                plan.session = Some(Session::new(
                    Protocol::Https,
                    records.clone(),
                    policy.clone(),
                    opts.timeout,
                    DEFAULT_EHLO.to_owned(),
                )?);
            } else {
                // RFC 7671 §4.1: without a usable record, DANE does not apply (PKIX or
                // opportunistic TLS, as the application decides).
                plan.out.status = "tls-unauthenticated";
                plan.session = Some(
                    Session::new(
                        Protocol::Https,
                        TlsaSet::new([]),
                        policy.clone(),
                        opts.timeout,
                        DEFAULT_EHLO.to_owned(),
                    )?
                    .accepting_unauthenticated(),
                );
            }
            plan.tlsa = Some(records);
            plan.policy = Some(policy);
        }
        Ok(other) => {
            plan.code = EXIT_NO_DANE;
            plan.out.message = Some(format!("TLSA {}", other.status()));
        }
        Err(e) => {
            plan.code = EXIT_LOOKUP_FAILED;
            plan.out.status = "unusable";
            plan.out.error = Some(e.category());
            plan.out.message = Some(describe(&e));
        }
    }
    plan.signature = signature_note(&mut plan.out, signature);
    // `https` connects to the host's addresses, secure or not (the TLSA lookup decided
    // about DANE).
    let all: Vec<(IpAddr, bool)> = all.into_iter().map(|(ip, _)| (ip, true)).collect();
    plan.connect = addresses_to_connect(&all, port, opts.connect, plan.session.is_some());
    plan.all = all;
    if plan.session.is_some() && plan.connect.is_empty() {
        plan.code = EXIT_LOOKUP_FAILED;
        plan.out.error = Some(
            address_error
                .as_ref()
                .map_or("no-address", |e| e.category()),
        );
        plan.out.message = Some(match address_error {
            Some(e) => format!("address lookup failed: {}", describe(&e)),
            None => "no address".to_owned(),
        });
    }
    let (out, warnings, notes) = check_host(&mut plan, opts, now);
    report.exit = plan.code;
    report.hosts.push(out);
    report.warnings = warnings;
    report.notes = notes;
    Ok(report)
}

// ------------------------------------------------------------------------- analysis

/// What was found at one address, for the host-level warnings.
struct Seen {
    address: String,
    chain: Vec<CertificateDer<'static>>,
    /// `verified`, or the failure's category.
    verdict: String,
}

/// Connects to each address of the host, analyses what it presents, and returns the
/// host's output with its warnings and notes. Updates `plan.code` with the connections'
/// statuses.
fn check_host(
    plan: &mut Plan,
    opts: &Args,
    now: SystemTime,
) -> (HostOut, Vec<Warning>, Vec<Warning>) {
    let mut warnings: Vec<Warning> = Vec::new();
    let mut notes: Vec<Warning> = Vec::new();
    let host = plan.out.host.clone();
    let warn_secs = u64::from(opts.warn_days) * DAY;
    let mut seen: Vec<Seen> = Vec::new();
    if let (Some(tlsa), Some(policy)) = (&plan.tlsa, &plan.policy) {
        record_warnings(&host, tlsa, policy, plan.out.tlsa.as_ref(), &mut warnings);
        signature_warning(
            &host,
            plan.signature.as_ref(),
            warn_secs,
            now,
            &mut warnings,
            &mut notes,
        );
    }
    let connect = std::mem::take(&mut plan.connect);
    if let Some(session) = &plan.session {
        for (ip, to, secure) in connect {
            let shown = SocketAddr::new(ip, plan.out.port);
            let (result, chain) = check_address_chain(to, session);
            plan.code = worst(plan.code, outcome_status(&result));
            let mut out = address_out(shown, to, secure, &result);
            out.chain = chain
                .iter()
                .enumerate()
                .map(|(d, c)| cert_out(d, c))
                .collect();
            if let (Some(tlsa), Some(policy)) = (&plan.tlsa, &plan.policy) {
                out.matches = record_matches(tlsa, policy, &chain);
                let ctx = Context {
                    host: &host,
                    address: &out.address,
                    warn_secs,
                    now,
                    ttl: plan.out.tlsa.as_ref().map(|t| t.zone_ttl.unwrap_or(t.ttl)),
                };
                address_warnings(&ctx, tlsa, &out, &mut warnings, &mut notes);
            }
            seen.push(Seen {
                address: out.address.clone(),
                chain,
                verdict: match (out.verified, out.error) {
                    (Some(true), _) => "verified".to_owned(),
                    (_, Some(e)) => e.to_owned(),
                    _ => "not verified".to_owned(),
                },
            });
            plan.out.addresses.push(out);
        }
    }
    // The addresses DANE does not cover (RFC 7672 §2.2), or of a host without DANE.
    let connected: BTreeSet<String> = plan
        .out
        .addresses
        .iter()
        .map(|a| a.address.clone())
        .collect();
    let tls_required = plan.session.is_some();
    for &(ip, secure) in &plan.all {
        let address = SocketAddr::new(ip, plan.out.port).to_string();
        // `--connect` stands in for the secure addresses of a host where TLS is required.
        if connected.contains(&address) || (opts.connect.is_some() && tls_required && secure) {
            continue;
        }
        let message = if tls_required {
            // An insecure address of a DANE host: opportunistic TLS only there.
            plan.code = worst(plan.code, EXIT_NO_DANE);
            "no connection: an insecure address, which DANE does not cover (RFC 7672 §2.2)"
        } else if plan.out.status == "unusable" {
            "no connection: the host is unusable (a lookup failed)"
        } else {
            "no connection: DANE does not apply (opportunistic TLS)"
        };
        plan.out.addresses.push(AddressOut {
            address,
            connected_to: None,
            secure,
            verified: None,
            usage: None,
            selector: None,
            matching: None,
            record_index: None,
            depth: None,
            error: None,
            message: Some(message.to_owned()),
            chain: Vec::new(),
            matches: Vec::new(),
        });
    }
    disagreement(&host, &seen, &mut warnings);
    dedupe(&mut warnings);
    dedupe(&mut notes);
    let out = std::mem::replace(
        &mut plan.out,
        HostOut {
            host: String::new(),
            preference: None,
            port: 0,
            status: "",
            error: None,
            message: None,
            tlsa_base: None,
            reference_names: Vec::new(),
            steps: Vec::new(),
            tlsa: None,
            addresses: Vec::new(),
        },
    );
    (out, warnings, notes)
}

/// Merges warnings that say the same about the same host: one, with every address.
fn dedupe(list: &mut Vec<Warning>) {
    let mut merged: Vec<Warning> = Vec::new();
    for w in list.drain(..) {
        match merged
            .iter_mut()
            .find(|m| m.code == w.code && m.host == w.host && m.message == w.message)
        {
            Some(m) => {
                for a in w.addresses {
                    if !m.addresses.contains(&a) {
                        m.addresses.push(a);
                    }
                }
            }
            None => merged.push(w),
        }
    }
    *list = merged;
}

fn warning(code: &'static str, host: &str, address: Option<&str>, message: String) -> Warning {
    Warning {
        code,
        host: Some(host.to_owned()),
        addresses: address.map(str::to_owned).into_iter().collect(),
        message,
    }
}

/// Whether a record's parameters are known and well-formed (usable by some client, even if
/// digest agility or the digest order set it aside here).
fn params_ok(status: RecordStatus) -> bool {
    matches!(
        status,
        RecordStatus::Usable
            | RecordStatus::Unusable(Unusable::WeakerDigest | Unusable::UnsupportedDigest)
    )
}

fn unusable_word(why: Unusable) -> &'static str {
    match why {
        Unusable::UnknownUsage => "unknown-usage",
        Unusable::UnknownSelector => "unknown-selector",
        Unusable::UnknownMatching => "unknown-matching",
        Unusable::BadDigestLength => "bad-digest-length",
        Unusable::MalformedData => "malformed-data",
        Unusable::UnsupportedDigest => "unsupported-digest",
        Unusable::WeakerDigest => "weaker-digest",
        _ => "unusable",
    }
}

/// Whether record `i` takes part in matching under `policy`.
fn usable(tlsa: &TlsaSet, policy: &Policy, i: usize, r: &Tlsa) -> bool {
    tlsa.status(i) == Some(RecordStatus::Usable) && policy.allows_usage(r.usage())
}

/// `3 1 1 5c3f…`: the record with its data shortened.
fn short(r: &Tlsa) -> String {
    let text = r.to_string();
    let cut = text.char_indices().nth(24).map_or(text.len(), |(i, _)| i);
    if cut < text.len() {
        format!("{}…", &text[..cut])
    } else {
        text
    }
}

/// `unusable-record`, `no-sha256`, `dane-ee-cert`: about the RRset alone.
fn record_warnings(
    host: &str,
    tlsa: &TlsaSet,
    policy: &Policy,
    out: Option<&TlsaOut>,
    warnings: &mut Vec<Warning>,
) {
    for (i, (r, status)) in tlsa.iter().enumerate() {
        let why = match status {
            RecordStatus::Unusable(why) if !params_ok(status) => Some(unusable_word(why)),
            _ if !policy.allows_usage(r.usage()) => Some("usage-not-allowed"),
            _ => None,
        };
        if let Some(why) = why {
            warnings.push(warning(
                "unusable-record",
                host,
                None,
                format!(
                    "record [{i}] {}: unusable ({why}); clients ignore it (RFC 7671 §4{})",
                    short(r),
                    if why == "usage-not-allowed" {
                        ", RFC 7672 §3.1.3: no PKIX usages for SMTP"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    if let Some(malformed) = out.map(|t| t.malformed).filter(|m| *m > 0) {
        warnings.push(warning(
            "unusable-record",
            host,
            None,
            format!("{malformed} record(s) whose data is not TLSA: unusable"),
        ));
    }
    let considered: Vec<&Tlsa> = tlsa
        .iter()
        .filter(|(r, s)| params_ok(*s) && policy.allows_usage(r.usage()))
        .map(|(r, _)| r)
        .collect();
    let has = |m: Matching| considered.iter().any(|r| r.matching() == m);
    if has(Matching::Sha512) && !has(Matching::Sha256) && !has(Matching::Full) {
        warnings.push(warning(
            "no-sha256",
            host,
            None,
            "only SHA2-512 records: clients that support only SHA2-256 (RFC 7671 §9 makes \
             SHA2-256 mandatory to implement) find no usable record; publish SHA2-256 \
             records too"
                .to_owned(),
        ));
    }
    for (i, r) in tlsa.iter().enumerate().filter_map(|(i, (r, s))| {
        (params_ok(s) && r.usage() == CertUsage::DaneEe && r.selector() == Selector::Cert)
            .then_some((i, r))
    }) {
        warnings.push(warning(
            "dane-ee-cert",
            host,
            None,
            format!(
                "record [{i}] {}: DANE-EE of the full certificate breaks on every renewal, \
                 even with the same key; publish 3 1 x (the key) instead",
                short(r)
            ),
        ));
    }
}

/// `rrsig-expiring` (or a note when the signature's validity is unknown).
fn signature_warning(
    host: &str,
    signature: Option<&SignatureValidity>,
    warn_secs: u64,
    now: SystemTime,
    warnings: &mut Vec<Warning>,
    notes: &mut Vec<Warning>,
) {
    let Some(sig) = signature else {
        notes.push(warning(
            "rrsig-unknown",
            host,
            None,
            "the expiry of the TLSA RRset's signature is unknown (no RRSIG in the answer)"
                .to_owned(),
        ));
        return;
    };
    let left = sig
        .expiration
        .duration_since(now)
        .map_or(0, |d| d.as_secs());
    if left < warn_secs {
        warnings.push(warning(
            "rrsig-expiring",
            host,
            None,
            format!(
                "the TLSA RRset's signature expires {} ({}; signer {}, key tag {}): re-sign \
                 the zone before then, or validators find the records bogus and mail is \
                 deferred",
                time_text(unix(sig.expiration)),
                left_text(left),
                show(&sig.signer),
                sig.key_tag
            ),
        ));
    }
}

/// What the warnings of one address need.
struct Context<'a> {
    host: &'a str,
    address: &'a str,
    warn_secs: u64,
    now: SystemTime,
    /// The TLSA RRset's TTL (in the zone, when known).
    ttl: Option<u32>,
}

/// `no-rollover`, `ta-not-in-chain`, `cert-expiring`, `ttl-too-long` for one address.
fn address_warnings(
    ctx: &Context<'_>,
    tlsa: &TlsaSet,
    out: &AddressOut,
    warnings: &mut Vec<Warning>,
    notes: &mut Vec<Warning>,
) {
    if out.chain.is_empty() {
        return;
    }
    let w = |code, message| warning(code, ctx.host, Some(ctx.address), message);
    let records = tlsa.records();
    let record = |m: &MatchOut| records.get(m.index);
    let usage_of = |m: &MatchOut| record(m).map(Tlsa::usage);
    let usable: Vec<&MatchOut> = out.matches.iter().filter(|m| m.usable).collect();
    let authenticating: Vec<&MatchOut> = usable
        .iter()
        .copied()
        .filter(|m| m.authenticates == Some(true))
        .collect();
    // Rollover (RFC 7671 §8.1, 8.4): a record that survives a new leaf key.
    let ee = |u: Option<CertUsage>| matches!(u, Some(CertUsage::DaneEe | CertUsage::PkixEe));
    let ta_matches = authenticating.iter().any(|m| !ee(usage_of(m)));
    let next_key = usable.iter().any(|m| ee(usage_of(m)) && !m.matches);
    if !authenticating.is_empty() && !ta_matches && !next_key {
        warnings.push(w(
            "no-rollover",
            "every record that matches depends on the current leaf key (DANE-EE only), with \
             no record for a next key and no DANE-TA record: a key change breaks delivery; \
             publish the next key's 3 1 1 (\"current + next\") or a 2 1 1 of the issuing CA \
             before changing the key (RFC 7671 §8.1)"
                .to_owned(),
        ));
    }
    // DANE-TA records whose certificate is not in the chain (RFC 7671 §5.2.2).
    for m in usable
        .iter()
        .filter(|m| usage_of(m) == Some(CertUsage::DaneTa) && !m.matches)
    {
        let Some(r) = record(m) else { continue };
        let message = if r.matching() == Matching::Full && m.authenticates == Some(true) {
            format!(
                "record [{}] {}: the trust anchor is not in the chain the server sends; it \
                 matches only as a key taken from DNS, which clients do not all support \
                 (RFC 7671 §5.2.2): send the anchor's certificate",
                m.index,
                short(r)
            )
        } else {
            format!(
                "record [{}] {}: no certificate of the chain the server sends matches it; a \
                 DANE-TA record matches only when the server sends the anchor's \
                 certificate (RFC 7671 §5.2.2): send it, unless the record is a prepared \
                 next anchor",
                m.index,
                short(r)
            )
        };
        warnings.push(w("ta-not-in-chain", message));
    }
    // Expiry: under DANE-TA and PKIX it counts; under DANE-EE it does not (RFC 7672
    // §3.1.1).
    let now_secs = unix(ctx.now);
    let left = |c: &CertOut| c.not_after.map(|t| t.saturating_sub(now_secs as i64));
    let expiry_counts: Vec<&MatchOut> = usable
        .iter()
        .copied()
        .filter(|m| m.matches && !matches!(usage_of(m), Some(CertUsage::DaneEe)))
        .collect();
    let leaf = &out.chain[0];
    let soon = |secs: i64| secs < i64::try_from(ctx.warn_secs).unwrap_or(i64::MAX);
    if let Some(secs) = left(leaf).filter(|s| soon(*s)) {
        if expiry_counts.is_empty() {
            notes.push(w(
                "cert-expiry-ignored",
                format!(
                    "the leaf certificate expires {} ({}); DANE-EE ignores its validity \
                     period (RFC 7672 §3.1.1), but other clients may not",
                    time_text(leaf.not_after.unwrap_or_default() as u64),
                    left_text(secs.max(0) as u64)
                ),
            ));
        } else {
            warnings.push(w(
                "cert-expiring",
                format!(
                    "the leaf certificate expires {} ({}), and a DANE-TA or PKIX record \
                     authenticates it: renew it before then",
                    time_text(leaf.not_after.unwrap_or_default() as u64),
                    left_text(secs.max(0) as u64)
                ),
            ));
        }
    }
    let mut anchors: Vec<usize> = expiry_counts
        .iter()
        .filter_map(|m| m.depth)
        .filter(|d| *d > 0)
        .collect();
    anchors.sort_unstable();
    anchors.dedup();
    for depth in anchors {
        let Some(cert) = out.chain.get(depth) else {
            continue;
        };
        if let Some(secs) = left(cert).filter(|s| soon(*s)) {
            warnings.push(w(
                "cert-expiring",
                format!(
                    "the trust-anchor certificate at depth {depth} ({}) expires {} ({}): \
                     replace it (and its TLSA record) before then",
                    cert.subject,
                    time_text(cert.not_after.unwrap_or_default() as u64),
                    left_text(secs.max(0) as u64)
                ),
            ));
        }
    }
    // A renewal needs the TTL to reach every cache.
    if let (Some(ttl), Some(secs)) = (ctx.ttl, left(leaf))
        && secs > 0
        && i64::from(ttl) > secs
    {
        warnings.push(w(
            "ttl-too-long",
            format!(
                "the TLSA RRset's TTL ({ttl} s) is longer than the {secs} s left before the \
                 leaf certificate expires: records for its successor cannot reach every \
                 cache in time; publish them now, or lower the TTL"
            ),
        ));
    }
}

/// `addresses-disagree`: the addresses of one host present different keys or chains, or
/// get different verdicts.
fn disagreement(host: &str, seen: &[Seen], warnings: &mut Vec<Warning>) {
    if seen.len() < 2 {
        return;
    }
    let keys: BTreeSet<Option<String>> = seen
        .iter()
        .filter(|s| !s.chain.is_empty())
        .map(|s| s.chain.first().and_then(|c| spki_sha256(c)))
        .collect();
    let chains: BTreeSet<Vec<&[u8]>> = seen
        .iter()
        .filter(|s| !s.chain.is_empty())
        .map(|s| s.chain.iter().map(AsRef::as_ref).collect())
        .collect();
    let verdicts: BTreeSet<&str> = seen.iter().map(|s| s.verdict.as_str()).collect();
    let addresses: Vec<String> = seen.iter().map(|s| s.address.clone()).collect();
    let mut what = Vec::new();
    if keys.len() > 1 {
        what.push("different keys".to_owned());
    } else if chains.len() > 1 {
        what.push("different certificate chains".to_owned());
    }
    if verdicts.len() > 1 {
        let list: Vec<String> = seen
            .iter()
            .map(|s| format!("{}: {}", s.address, s.verdict))
            .collect();
        what.push(format!("different verdicts ({})", list.join(", ")));
    }
    if !what.is_empty() {
        warnings.push(Warning {
            code: "addresses-disagree",
            host: Some(host.to_owned()),
            addresses,
            message: format!(
                "the addresses of this host present {}: a client's result depends on the \
                 address it picks",
                what.join(" and ")
            ),
        });
    }
}

/// For each record: whether its data matches a certificate of the chain, and whether it
/// alone authenticates the chain.
fn record_matches(
    tlsa: &TlsaSet,
    policy: &Policy,
    chain: &[CertificateDer<'static>],
) -> Vec<MatchOut> {
    if chain.is_empty() {
        return Vec::new();
    }
    let now = UnixTime::now();
    tlsa.records()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let usable = usable(tlsa, policy, i, r);
            let depth = if chain.is_empty() {
                None
            } else {
                match_depth(r, chain)
            };
            let verdict = (usable && !chain.is_empty()).then(|| {
                let alone = TlsaSet::new([r.clone()]);
                dane::verify(chain, &alone, policy, now)
            });
            MatchOut {
                index: i,
                record: r.to_string(),
                usable,
                matches: depth.is_some(),
                depth,
                authenticates: verdict.as_ref().map(std::result::Result::is_ok),
                error: verdict.and_then(|v| v.err()).map(|e| e.category()),
            }
        })
        .collect()
}

/// The first depth whose certificate (or key) the record's data matches; only the leaf
/// for the end-entity usages.
fn match_depth(r: &Tlsa, chain: &[CertificateDer<'static>]) -> Option<usize> {
    let known_selector = matches!(r.selector(), Selector::Cert | Selector::Spki);
    let known_matching = matches!(
        r.matching(),
        Matching::Full | Matching::Sha256 | Matching::Sha512
    );
    if !known_selector || !known_matching {
        return None;
    }
    let end_entity = matches!(r.usage(), CertUsage::DaneEe | CertUsage::PkixEe);
    chain
        .iter()
        .enumerate()
        .take(if end_entity { 1 } else { chain.len() })
        .find_map(|(depth, cert)| {
            Tlsa::from_certificate(cert, r.usage(), r.selector(), r.matching())
                .ok()
                .filter(|t| t.data() == r.data())
                .map(|_| depth)
        })
}

fn address_out(
    shown: SocketAddr,
    to: SocketAddr,
    secure: bool,
    result: &std::result::Result<Outcome, Failure>,
) -> AddressOut {
    let verified: Option<&Verified> = match result {
        Ok(Outcome::Dane(v)) => Some(v),
        _ => None,
    };
    let (error, message) = match result {
        Ok(Outcome::Dane(_)) => (None, None),
        Ok(Outcome::Unauthenticated) => (
            Some("no-usable-records"),
            Some("TLS without authentication (no usable TLSA records)".to_owned()),
        ),
        Ok(other) => (Some("not-dane"), Some(other.to_string())),
        Err(f) => (Some(f.error), Some(f.message.clone())),
    };
    AddressOut {
        address: shown.to_string(),
        connected_to: (shown != to).then(|| to.to_string()),
        secure,
        verified: Some(verified.is_some()),
        usage: verified.map(|v| u8::from(v.usage())),
        selector: verified.map(|v| u8::from(v.record().selector())),
        matching: verified.map(|v| u8::from(v.record().matching())),
        record_index: verified.map(Verified::record_index),
        depth: verified.map(Verified::depth),
        error,
        message,
        chain: Vec::new(),
        matches: Vec::new(),
    }
}

fn tlsa_out(
    owner: String,
    tlsa: &TlsaSet,
    policy: Option<&Policy>,
    ttl: u32,
    malformed: usize,
) -> TlsaOut {
    let records = tlsa
        .iter()
        .enumerate()
        .map(|(i, (r, status))| {
            let allowed = policy.is_none_or(|p| p.allows_usage(r.usage()));
            RecordOut {
                index: i,
                record: r.to_string(),
                usage: u8::from(r.usage()),
                selector: u8::from(r.selector()),
                matching: u8::from(r.matching()),
                usable: status == RecordStatus::Usable && allowed,
                unusable: match status {
                    RecordStatus::Unusable(why) => Some(unusable_word(why)),
                    RecordStatus::Usable if !allowed => Some("usage-not-allowed"),
                    RecordStatus::Usable => None,
                },
            }
        })
        .collect();
    TlsaOut {
        owner,
        ttl,
        zone_ttl: None,
        signature_inception: None,
        signature_expiration: None,
        signer: None,
        key_tag: None,
        malformed,
        records,
    }
}

fn cert_out(depth: usize, der: &CertificateDer<'_>) -> CertOut {
    let parsed = x509_parser::parse_x509_certificate(der.as_ref()).ok();
    let cert = parsed.as_ref().map(|(_, c)| c);
    CertOut {
        depth,
        subject: cert.map_or_else(
            || "(unreadable certificate)".to_owned(),
            |c| c.subject().to_string(),
        ),
        issuer: cert.map_or_else(String::new, |c| c.issuer().to_string()),
        not_before: cert.map(|c| c.validity().not_before.timestamp()),
        not_after: cert.map(|c| c.validity().not_after.timestamp()),
        spki_sha256: spki_sha256(der).unwrap_or_default(),
    }
}

/// SHA-256 of the certificate's SubjectPublicKeyInfo, in hex.
fn spki_sha256(der: &CertificateDer<'_>) -> Option<String> {
    let r =
        Tlsa::from_certificate(der, CertUsage::DaneEe, Selector::Spki, Matching::Sha256).ok()?;
    let mut hex = String::with_capacity(64);
    for b in r.data() {
        let _ = write!(hex, "{b:02x}");
    }
    Some(hex)
}

// ------------------------------------------------------------------------------ steps

fn security_word(s: Security) -> &'static str {
    match s {
        Security::Secure => "secure",
        Security::Insecure => "insecure",
    }
}

fn failed_word(e: &LookupError) -> &'static str {
    match e {
        LookupError::Bogus => "bogus",
        _ => "failed",
    }
}

fn step_out(step: &Step) -> StepOut {
    match step {
        Step::Query {
            name,
            rtype,
            answer,
        } => query_step(name, *rtype, answer),
        Step::Tlsa {
            port,
            proto,
            host,
            result,
        } => tlsa_step(&format!("_{port}._{proto}.{host}"), result.as_ref()),
        other => StepOut {
            rtype: "?".to_owned(),
            name: String::new(),
            status: "failed",
            answer: None,
            cnames: Vec::new(),
            records: Vec::new(),
            ttl: None,
            error: Some("unknown-step"),
            text: format!("{other:?}"),
        },
    }
}

fn query_step(
    name: &Name,
    rtype: RecordType,
    answer: &std::result::Result<DnsAnswer, LookupError>,
) -> StepOut {
    let text = QueryLine {
        name,
        rtype,
        answer,
    }
    .to_string();
    let mut out = StepOut {
        rtype: rtype.to_string(),
        name: show(name),
        status: "failed",
        answer: None,
        cnames: Vec::new(),
        records: Vec::new(),
        ttl: None,
        error: None,
        text,
    };
    match answer {
        Ok(a) => {
            out.status = security_word(a.security);
            out.ttl = Some(a.kind.ttl());
            match &a.kind {
                AnswerKind::Records { cnames, rdata, .. } => {
                    out.answer = Some("records");
                    out.cnames = cnames.iter().map(show).collect();
                    out.records = rdata.iter().map(ToString::to_string).collect();
                }
                AnswerKind::NoData { .. } => out.answer = Some("nodata"),
                AnswerKind::NxDomain { .. } => out.answer = Some("nxdomain"),
            }
        }
        Err(e) => {
            out.status = failed_word(e);
            out.error = Some(e.category());
        }
    }
    out
}

fn tlsa_step(owner: &str, result: std::result::Result<&TlsaLookup, &LookupError>) -> StepOut {
    let text = TlsaLine { owner, result }.to_string();
    let mut out = StepOut {
        rtype: "TLSA".to_owned(),
        name: owner.to_owned(),
        status: "failed",
        answer: None,
        cnames: Vec::new(),
        records: Vec::new(),
        ttl: None,
        error: None,
        text,
    };
    match result {
        Ok(lookup) => {
            out.answer = Some(lookup.status());
            out.status = match lookup {
                TlsaLookup::Insecure => "insecure",
                _ => "secure",
            };
            if let TlsaLookup::Secure { records, ttl, .. } = lookup {
                out.records = records.records().iter().map(ToString::to_string).collect();
                out.ttl = Some(*ttl);
            }
        }
        Err(e) => {
            out.status = failed_word(e);
            out.error = Some(e.category());
        }
    }
    out
}

// ------------------------------------------------------------------------------- text

fn print_text(report: &Report) -> Result<()> {
    let service = if report.service == "smtp" {
        "SMTP"
    } else {
        "HTTPS"
    };
    say(format_args!(
        "audit {} ({service}, port {})",
        report.target, report.port
    ))?;
    if let Some(mx) = &report.mx {
        say(&mx.text)?;
    }
    if let Some(message) = &report.message {
        say(format_args!("{}: {message}", report.target))?;
    }
    for host in &report.hosts {
        say("")?;
        print_host(host)?;
    }
    say("")?;
    if report.warnings.is_empty() {
        say("warnings: none")?;
    } else {
        say(format_args!("warnings: {}", report.warnings.len()))?;
        for w in &report.warnings {
            say(format_args!("  {}", WarningText(w)))?;
        }
    }
    for n in &report.notes {
        say(format_args!("note: {}", WarningText(n)))?;
    }
    say(format_args!(
        "result: {} (exit status {})",
        report.status, report.exit
    ))
}

struct WarningText<'a>(&'a Warning);

impl fmt::Display for WarningText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.0;
        write!(f, "[{}] ", w.code)?;
        if let Some(host) = &w.host {
            f.write_str(host)?;
            if !w.addresses.is_empty() {
                write!(f, " ({})", w.addresses.join(", "))?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&w.message)
    }
}

fn print_host(host: &HostOut) -> Result<()> {
    let mut head = host.host.clone();
    if let Some(p) = host.preference {
        let _ = write!(head, " (preference {p})");
    }
    let _ = write!(head, ": {}", host.status);
    if let Some(base) = &host.tlsa_base {
        let _ = write!(head, ", TLSA base {base}");
    }
    if !host.reference_names.is_empty() {
        let _ = write!(head, ", names {}", host.reference_names.join(", "));
    }
    if let Some(m) = &host.message {
        let _ = write!(head, ": {m}");
    }
    say(head)?;
    for step in &host.steps {
        match (step.rtype.as_str(), step.answer, host.tlsa.as_ref()) {
            // The records are listed below, with their usability.
            ("TLSA", Some("secure"), Some(_)) => say(format_args!(
                "  TLSA {}: secure: {} record(s) (ttl {})",
                step.name,
                step.records.len(),
                step.ttl.unwrap_or_default()
            ))?,
            _ => say(format_args!("  {}", step.text))?,
        }
    }
    if let Some(t) = &host.tlsa {
        let mut line = format!("  TLSA RRset {}: ttl {}", t.owner, t.ttl);
        if let Some(z) = t.zone_ttl {
            let _ = write!(line, " (zone {z})");
        }
        if let Some(exp) = t.signature_expiration {
            let left = exp.saturating_sub(unix(SystemTime::now()));
            let _ = write!(
                line,
                ", signature expires {} ({})",
                time_text(exp),
                left_text(left)
            );
        }
        say(line)?;
        for r in &t.records {
            let state = match r.unusable {
                None => "usable".to_owned(),
                Some(why) => format!("unusable ({why})"),
            };
            say(format_args!("    [{}] {}: {state}", r.index, r.record))?;
        }
    }
    for a in &host.addresses {
        let mut line = format!("  {}", a.address);
        if let Some(to) = &a.connected_to {
            let _ = write!(line, " (via {to})");
        }
        if !a.secure {
            line.push_str(" (insecure address)");
        }
        match (a.verified, a.usage, a.selector, a.matching, a.depth) {
            (Some(true), Some(u), Some(s), Some(m), Some(d)) => {
                let _ = write!(line, ": verified by {u} {s} {m} at depth {d}");
            }
            (Some(_), ..) => {
                let _ = write!(
                    line,
                    ": not verified: {}",
                    a.message.as_deref().unwrap_or("no DANE match")
                );
            }
            (None, ..) => {
                let _ = write!(
                    line,
                    ": {}",
                    a.message.as_deref().unwrap_or("no connection")
                );
            }
        }
        say(line)?;
        for c in &a.chain {
            let expires = c
                .not_after
                .map_or_else(|| "unknown".to_owned(), |t| time_text(t.max(0) as u64));
            say(format_args!(
                "    chain {}: {} (issuer {}; expires {expires}; SPKI SHA-256 {})",
                c.depth, c.subject, c.issuer, c.spki_sha256
            ))?;
        }
        for m in a.matches.iter() {
            let mut line = format!("    record [{}]: ", m.index);
            match m.depth {
                Some(d) => {
                    let _ = write!(line, "matches at depth {d}");
                }
                None => line.push_str("does not match"),
            }
            match (m.usable, m.authenticates, m.error) {
                (false, ..) => line.push_str(" (unusable)"),
                (true, Some(true), _) => line.push_str(", authenticates"),
                // A record that matches nothing authenticates nothing: no more to say.
                (true, Some(false), Some("no-match")) if !m.matches => {}
                (true, Some(false), Some(e)) => {
                    let _ = write!(line, ", does not authenticate ({e})");
                }
                _ => {}
            }
            say(line)?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------- time

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `2026-12-31T23:59:59Z`.
fn time_text(secs: u64) -> String {
    let days = i64::try_from(secs / DAY).unwrap_or(i64::MAX / 2);
    let rem = secs % DAY;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `in 3 days`, `in 5 hours`, `expired`.
fn left_text(secs: u64) -> String {
    match secs {
        0 => "expired".to_owned(),
        s if s >= 2 * DAY => format!("in {} days", s / DAY),
        s if s >= 2 * 3600 => format!("in {} hours", s / 3600),
        s => format!("in {s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_words() {
        assert_eq!(time_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(time_text(1_780_272_000), "2026-06-01T00:00:00Z");
        assert_eq!(time_text(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(left_text(0), "expired");
        assert_eq!(left_text(3 * DAY + 5), "in 3 days");
        assert_eq!(left_text(3 * 3600), "in 3 hours");
        assert_eq!(left_text(59), "in 59 s");
    }

    #[test]
    fn warn_days_parser() {
        assert_eq!(days("14"), Ok(14));
        assert_eq!(days("0"), Ok(0));
        assert!(days("-1").is_err());
        assert!(days("36501").is_err());
        assert!(days("x").is_err());
    }
}
