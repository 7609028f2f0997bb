//! The resolver under attack: an on-path forger (tests/common/forge.rs) between the resolver
//! and the in-process signed server rewrites the answers to one question at a time. For every
//! (forgery, question) row, in both trust modes where the forgery is something a stub can see:
//! never `Secure` with wrong data, never `Insecure`, `SecureAbsent` or `Opportunistic` for a
//! signed name, never a verified plan with wrong records, and never a negative answer that
//! outlives the attack (RFC 4035 §5.2-5.4, RFC 7672 §2.1.1-2.2).
#![cfg(feature = "resolver")]

mod common;
use common::dns::{self, ZoneSet};
use common::forge::{self, ForgingProxy, Rule, Transport, Verdict};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dane::resolver::{
    CacheLimits, DaneStatus, DnsSource, ServerSettings, TlsaLookup, TlsaResolver, TrustAnchor,
    TrustedAdSource, ValidatingSource,
};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, MX, NS, SRV, TLSA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

const T311: &str = "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";
const WILD: &str = "3 1 1 eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const TIMEOUT: Duration = Duration::from_millis(600);

fn n(s: &str) -> Name {
    dns::name(s)
}

fn zones() -> ZoneSet {
    let mut z = ZoneSet::new();
    z.add_str(
        "secure",
        "@",
        300,
        RecordType::MX,
        "10 mx.secure.dane.test.",
    );
    z.add_str("secure", "mx", 300, RecordType::A, "127.0.0.1");
    z.add_str("secure", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    z.add_str("secure", "_5222._tcp.mx", 300, RecordType::TLSA, T311);
    z.add_str(
        "secure",
        "_xmpp._tcp",
        300,
        RecordType::SRV,
        "0 5 5222 mx.secure.dane.test.",
    );
    z.add_str("secure", "notlsa", 300, RecordType::A, "127.0.0.1");
    // A CNAME to a name without AAAA (CNAME, then a secure NODATA at the target).
    z.add_str(
        "secure",
        "al",
        300,
        RecordType::CNAME,
        "mx.secure.dane.test.",
    );
    // A name with its own TLSA RRset below a TLSA wildcard with other data.
    z.add_str("secure", "_25._tcp.w", 300, RecordType::TLSA, T311);
    z.add_str("secure", "*._tcp.w", 300, RecordType::TLSA, WILD);
    z.add_str("rsa", "a", 300, RecordType::A, "127.0.0.1");
    z.add_str("insecure", "mx", 300, RecordType::A, "127.0.0.1");
    z.add_str("insecure", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    z
}

/// The questions attacked, and how their outcome is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `_25._tcp.mx.secure` TLSA, through `lookup_tlsa`.
    Tlsa,
    /// `_25._tcp.notlsa.secure` TLSA: a secure NXDOMAIN.
    AbsentTlsa,
    /// `secure` MX, through `smtp_targets`.
    Mx,
    /// `mx.secure` A, through `smtp_targets`.
    A,
    /// `mx.secure` AAAA (secure NODATA), through `smtp_targets`.
    Aaaa,
    /// `_xmpp._tcp.secure` SRV, through `srv_targets`.
    Srv,
    /// `secure` DS (the delegation), through `lookup_tlsa`.
    Ds,
    /// `_25._tcp.w.secure` TLSA: its own RRset, below a TLSA wildcard with other data.
    WildSibling,
}

const TARGETS: [Target; 8] = [
    Target::WildSibling,
    Target::Tlsa,
    Target::AbsentTlsa,
    Target::Mx,
    Target::A,
    Target::Aaaa,
    Target::Srv,
    Target::Ds,
];

impl Target {
    fn question(self) -> (Name, RecordType) {
        match self {
            Self::Tlsa => (n("_25._tcp.mx.secure.dane.test."), RecordType::TLSA),
            Self::AbsentTlsa => (n("_25._tcp.notlsa.secure.dane.test."), RecordType::TLSA),
            Self::Mx => (n("secure.dane.test."), RecordType::MX),
            Self::A => (n("mx.secure.dane.test."), RecordType::A),
            Self::Aaaa => (n("mx.secure.dane.test."), RecordType::AAAA),
            Self::Srv => (n("_xmpp._tcp.secure.dane.test."), RecordType::SRV),
            Self::Ds => (n("secure.dane.test."), RecordType::DS),
            Self::WildSibling => (n("_25._tcp.w.secure.dane.test."), RecordType::TLSA),
        }
    }
}

fn is_t311(records: &dane::TlsaSet) -> bool {
    let got: Vec<String> = records.records().iter().map(|t| t.to_string()).collect();
    got == [T311.to_string()]
}

fn check_status(status: &DaneStatus) -> Result<(), String> {
    match status {
        DaneStatus::Required { tlsa, .. } if is_t311(tlsa) => Ok(()),
        DaneStatus::Unusable(_) => Ok(()),
        other => Err(format!("status {other:?}")),
    }
}

/// `Ok` when the outcome is the truth or a failure; `Err` describes a violation.
async fn outcome<S: DnsSource>(r: &TlsaResolver<S>, target: Target) -> Result<bool, String> {
    match target {
        Target::Tlsa | Target::Ds => match r.lookup_tlsa(25, "tcp", "mx.secure.dane.test").await {
            Ok(TlsaLookup::Secure { records, .. }) if is_t311(&records) => Ok(true),
            Ok(other) => Err(format!("{other:?}")),
            Err(_) => Ok(false),
        },
        Target::WildSibling => match r.lookup_tlsa(25, "tcp", "w.secure.dane.test").await {
            Ok(TlsaLookup::Secure { records, .. }) if is_t311(&records) => Ok(true),
            Ok(other) => Err(format!("{other:?}")),
            Err(_) => Ok(false),
        },
        Target::AbsentTlsa => match r.lookup_tlsa(25, "tcp", "notlsa.secure.dane.test").await {
            Ok(TlsaLookup::SecureAbsent) => Ok(true),
            Ok(other) => Err(format!("{other:?}")),
            Err(_) => Ok(false),
        },
        Target::Mx | Target::A | Target::Aaaa => match r.smtp_targets("secure.dane.test", 25).await
        {
            Err(_) => Ok(false),
            Ok(plan) => {
                if !plan.mx_secure || plan.implicit_mx || plan.targets.len() != 1 {
                    return Err(format!("plan {plan:?}"));
                }
                let t = &plan.targets[0];
                if t.host != n("mx.secure.dane.test.") || !t.insecure_addresses.is_empty() {
                    return Err(format!("target {t:?}"));
                }
                if !t.secure_addresses.is_empty()
                    && t.secure_addresses != ["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
                {
                    return Err(format!("addresses {t:?}"));
                }
                check_status(&t.status)?;
                Ok(matches!(t.status, DaneStatus::Required { .. }))
            }
        },
        Target::Srv => match r.srv_targets("xmpp", "tcp", "secure.dane.test").await {
            Err(_) => Ok(false),
            Ok(plan) => {
                if !plan.srv_secure || plan.targets.len() != 1 {
                    return Err(format!("plan {plan:?}"));
                }
                let t = &plan.targets[0];
                if t.host != n("mx.secure.dane.test.") || t.port != 5222 {
                    return Err(format!("target {t:?}"));
                }
                check_status(&t.status)?;
                Ok(matches!(t.status, DaneStatus::Required { .. }))
            }
        },
    }
}

/// What the forger does to the answers of the attacked question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forgery {
    NxDomainUnrelatedInsecureSoa,
    NoDataUnrelatedInsecureSoa,
    NxDomainDeepInsecureSoa,
    NxDomainSiblingSoa,
    NxDomainParentSoa,
    NxDomainOwnZoneSoa,
    NxDomainSoaAtTheName,
    ZoneCutAtTheNameWithItsOwnSoa,
    ZoneCutAtTheNameDsDeniedByItsOwnSoa,
    ReplayedDenialSameZone,
    ReplayedDenialOtherZone,
    ReplayedInsecureDenial,
    StrippedRrsigs,
    UnsignedPositive,
    Referral,
    DsDenialOfTheParent,
    CorruptedSignatures,
    ExpiredSignaturesReplayed,
    ReplayedWildcardExpansion,
    ExtraRecordsEverySection,
    WrongId,
    WrongQuestion,
    TruncatedTcpFails,
    ServFail,
    Refused,
    Lost,
    DelayedPastTimeout,
    Garbage,
}

const FORGERIES: [Forgery; 28] = [
    Forgery::ZoneCutAtTheNameDsDeniedByItsOwnSoa,
    Forgery::ReplayedWildcardExpansion,
    Forgery::NxDomainUnrelatedInsecureSoa,
    Forgery::NoDataUnrelatedInsecureSoa,
    Forgery::NxDomainDeepInsecureSoa,
    Forgery::NxDomainSiblingSoa,
    Forgery::NxDomainParentSoa,
    Forgery::NxDomainOwnZoneSoa,
    Forgery::NxDomainSoaAtTheName,
    Forgery::ZoneCutAtTheNameWithItsOwnSoa,
    Forgery::ReplayedDenialSameZone,
    Forgery::ReplayedDenialOtherZone,
    Forgery::ReplayedInsecureDenial,
    Forgery::StrippedRrsigs,
    Forgery::UnsignedPositive,
    Forgery::Referral,
    Forgery::DsDenialOfTheParent,
    Forgery::CorruptedSignatures,
    Forgery::ExpiredSignaturesReplayed,
    Forgery::ExtraRecordsEverySection,
    Forgery::WrongId,
    Forgery::WrongQuestion,
    Forgery::TruncatedTcpFails,
    Forgery::ServFail,
    Forgery::Refused,
    Forgery::Lost,
    Forgery::DelayedPastTimeout,
    Forgery::Garbage,
];

impl Forgery {
    /// Forgeries a stub behind a trusted validating resolver can meet on its own link
    /// (transport faults; the resolver does the DNSSEC work).
    fn applies_to_trusted_ad(self) -> bool {
        matches!(
            self,
            Self::WrongId
                | Self::WrongQuestion
                | Self::TruncatedTcpFails
                | Self::ServFail
                | Self::Refused
                | Self::Lost
                | Self::DelayedPastTimeout
                | Self::Garbage
        )
    }
}

/// Real records collected before the attack, to replay.
#[derive(Clone)]
struct Replay {
    same_zone_denial: Vec<Record>,
    other_zone_denial: Vec<Record>,
    insecure_denial: Vec<Record>,
    expired_tlsa: Message,
    wildcard_tlsa: Message,
}

impl Replay {
    async fn collect(server: SocketAddr) -> Self {
        let auth = |m: Message| m.authorities;
        Self {
            same_zone_denial: auth(
                forge::fetch(server, &n("nope.secure.dane.test."), RecordType::A).await,
            ),
            other_zone_denial: auth(
                forge::fetch(server, &n("nope.rsa.dane.test."), RecordType::A).await,
            ),
            insecure_denial: auth(
                forge::fetch(server, &n("nope.insecure.dane.test."), RecordType::A).await,
            ),
            expired_tlsa: forge::fetch(
                server,
                &n("_25._tcp.mx.expired.dane.test."),
                RecordType::TLSA,
            )
            .await,
            wildcard_tlsa: forge::fetch(
                server,
                &n("_99._tcp.w.secure.dane.test."),
                RecordType::TLSA,
            )
            .await,
        }
    }
}

fn junk() -> Vec<Record> {
    vec![
        Record::from_rdata(
            n("junk.insecure.dane.test."),
            300,
            RData::A(A::new(192, 0, 2, 66)),
        ),
        forge::unsigned_soa(&n("insecure.dane.test.")),
        Record::from_rdata(
            n("insecure.dane.test."),
            300,
            RData::NS(NS(n("ns.evil.insecure.dane.test."))),
        ),
    ]
}

fn forged_rdata(rtype: RecordType) -> RData {
    match rtype {
        RecordType::TLSA => RData::TLSA(TLSA::new(3.into(), 1.into(), 1.into(), vec![0xee; 32])),
        RecordType::MX => RData::MX(MX::new(10, n("mx.insecure.dane.test."))),
        RecordType::A => RData::A(A::new(192, 0, 2, 66)),
        RecordType::AAAA => RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 66)),
        RecordType::SRV => RData::SRV(SRV::new(0, 5, 5222, n("mx.insecure.dane.test."))),
        _ => RData::NS(NS(n("ns.evil.insecure.dane.test."))),
    }
}

fn reply(m: Option<Message>) -> Verdict {
    m.map_or(Verdict::Drop, Verdict::Reply)
}

fn strip_rrsigs(mut m: Message) -> Message {
    let keep = |rs: &mut Vec<Record>| rs.retain(|r| r.record_type() != RecordType::RRSIG);
    keep(&mut m.answers);
    keep(&mut m.authorities);
    keep(&mut m.additionals);
    m
}

fn corrupt_rrsigs(mut m: Message) -> Message {
    use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG};
    let corrupt = |rs: &mut Vec<Record>| {
        for r in rs.iter_mut() {
            if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data {
                let mut bytes = sig.sig().to_vec();
                if let Some(b) = bytes.first_mut() {
                    *b ^= 0x55;
                }
                r.data = RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(
                    sig.input().clone(),
                    bytes,
                )));
            }
        }
    };
    corrupt(&mut m.answers);
    corrupt(&mut m.authorities);
    m
}

/// The rule of one row: forge the answers to `(qname, qtype)`.
fn rule(f: Forgery, target: Target, replay: &Replay) -> Rule {
    let (qname, qtype) = target.question();
    let replay = replay.clone();
    if matches!(
        f,
        Forgery::ZoneCutAtTheNameWithItsOwnSoa | Forgery::ZoneCutAtTheNameDsDeniedByItsOwnSoa
    ) {
        // Claim a zone cut at the name (unsigned NS answer, as in a referral) and deny the name
        // with an unsigned SOA of that "zone"; in the second variant, deny its DS the same way
        // (the validator's insecure-delegation proof is what is attacked).
        let deny_ds = f == Forgery::ZoneCutAtTheNameDsDeniedByItsOwnSoa;
        let cut = qname.clone();
        return Arc::new(move |_, q, resp| {
            let Some(question) = forge::question(q) else {
                return reply(resp);
            };
            if question.name() != &cut {
                return reply(resp);
            }
            match question.query_type() {
                RecordType::NS => Verdict::Reply(forge::response(
                    q,
                    ResponseCode::NoError,
                    vec![Record::from_rdata(
                        cut.clone(),
                        300,
                        RData::NS(NS(n("ns.evil.insecure.dane.test."))),
                    )],
                    vec![],
                    vec![],
                )),
                RecordType::DS if deny_ds => Verdict::Reply(forge::response(
                    q,
                    ResponseCode::NoError,
                    vec![],
                    vec![forge::unsigned_soa(&cut)],
                    vec![],
                )),
                t if t == qtype => Verdict::Reply(forge::response(
                    q,
                    ResponseCode::NXDomain,
                    vec![],
                    vec![forge::unsigned_soa(&cut)],
                    vec![],
                )),
                _ => reply(resp),
            }
        });
    }
    let question = qname.clone();
    forge::on_question(&question, qtype, move |transport, q, resp| {
        let deny = |rcode, authorities| {
            Verdict::Reply(forge::response(q, rcode, vec![], authorities, vec![]))
        };
        let soa = |zone: &str| vec![forge::unsigned_soa(&n(zone))];
        match f {
            Forgery::NxDomainUnrelatedInsecureSoa => {
                deny(ResponseCode::NXDomain, soa("insecure.dane.test."))
            }
            Forgery::NoDataUnrelatedInsecureSoa => {
                deny(ResponseCode::NoError, soa("insecure.dane.test."))
            }
            Forgery::NxDomainDeepInsecureSoa => {
                deny(ResponseCode::NXDomain, soa("a.b.mx.insecure.dane.test."))
            }
            Forgery::NxDomainSiblingSoa => deny(ResponseCode::NXDomain, soa("rsa.dane.test.")),
            Forgery::NxDomainParentSoa => deny(ResponseCode::NXDomain, soa("dane.test.")),
            Forgery::NxDomainOwnZoneSoa => deny(ResponseCode::NXDomain, soa("secure.dane.test.")),
            Forgery::NxDomainSoaAtTheName => {
                deny(ResponseCode::NXDomain, vec![forge::unsigned_soa(&qname)])
            }
            Forgery::ZoneCutAtTheNameWithItsOwnSoa
            | Forgery::ZoneCutAtTheNameDsDeniedByItsOwnSoa => {
                unreachable!("handled above")
            }
            Forgery::ReplayedDenialSameZone => {
                deny(ResponseCode::NXDomain, replay.same_zone_denial.clone())
            }
            Forgery::ReplayedDenialOtherZone => {
                deny(ResponseCode::NXDomain, replay.other_zone_denial.clone())
            }
            Forgery::ReplayedInsecureDenial => {
                deny(ResponseCode::NXDomain, replay.insecure_denial.clone())
            }
            Forgery::StrippedRrsigs => reply(resp.map(strip_rrsigs)),
            Forgery::UnsignedPositive => Verdict::Reply(forge::response(
                q,
                ResponseCode::NoError,
                vec![Record::from_rdata(qname.clone(), 300, forged_rdata(qtype))],
                vec![],
                vec![],
            )),
            Forgery::Referral => Verdict::Reply({
                let mut m = forge::response(
                    q,
                    ResponseCode::NoError,
                    vec![],
                    vec![Record::from_rdata(
                        qname.clone(),
                        300,
                        RData::NS(NS(n("ns.evil.insecure.dane.test."))),
                    )],
                    vec![Record::from_rdata(
                        n("ns.evil.insecure.dane.test."),
                        300,
                        RData::A(A::new(127, 0, 0, 1)),
                    )],
                );
                m.metadata.authoritative = false;
                m
            }),
            Forgery::DsDenialOfTheParent => deny(ResponseCode::NoError, soa("dane.test.")),
            Forgery::CorruptedSignatures => reply(resp.map(corrupt_rrsigs)),
            Forgery::ExpiredSignaturesReplayed => {
                // Real, once-valid RRSIGs (the `expired` zone's window is in 2020) moved to
                // the attacked name.
                let mut m = forge::response(q, ResponseCode::NoError, vec![], vec![], vec![]);
                for r in &replay.expired_tlsa.answers {
                    let mut r = r.clone();
                    r.name = qname.clone();
                    if r.record_type() == RecordType::TLSA {
                        r.data = forged_rdata(qtype);
                    }
                    m.add_answer(r);
                }
                Verdict::Reply(m)
            }
            Forgery::ReplayedWildcardExpansion => {
                // A real wildcard expansion (TLSA and its RRSIG, whose labels field names the
                // wildcard) moved to the attacked name, without the denial of that name.
                let mut m = forge::response(q, ResponseCode::NoError, vec![], vec![], vec![]);
                for r in &replay.wildcard_tlsa.answers {
                    let mut r = r.clone();
                    r.name = qname.clone();
                    m.add_answer(r);
                }
                Verdict::Reply(m)
            }
            Forgery::ExtraRecordsEverySection => reply(resp.map(|mut m| {
                m.answers.extend(junk());
                m.authorities.extend(junk());
                m.additionals.extend(junk());
                m
            })),
            Forgery::WrongId => reply(resp.map(|mut m| {
                m.metadata.id = m.metadata.id.wrapping_add(1);
                m
            })),
            Forgery::WrongQuestion => reply(resp.map(|mut m| {
                for q in &mut m.queries {
                    q.set_name(n("other.secure.dane.test."));
                }
                m
            })),
            Forgery::TruncatedTcpFails => match transport {
                Transport::Udp => {
                    let mut m = forge::response(q, ResponseCode::NoError, vec![], vec![], vec![]);
                    m.metadata.truncation = true;
                    Verdict::Reply(m)
                }
                Transport::Tcp => Verdict::Drop,
            },
            Forgery::ServFail => deny(ResponseCode::ServFail, vec![]),
            Forgery::Refused => deny(ResponseCode::Refused, vec![]),
            Forgery::Lost => Verdict::Drop,
            Forgery::DelayedPastTimeout => Verdict::Delay(TIMEOUT * 3, Box::new(reply(resp))),
            Forgery::Garbage => Verdict::Raw(vec![0xde, 0xad, 0xbe, 0xef, 0, 1, 2]),
        }
    })
}

fn settings(addr: SocketAddr) -> ServerSettings {
    ServerSettings {
        servers: vec![addr],
        timeout: TIMEOUT,
        attempts: 1,
        recursion_desired: false,
    }
}

/// A validating resolver whose server sits behind a forger applying `rule` (keep the proxy
/// alive while the resolver is used).
async fn behind_forger(
    dns: &dns::TestDns,
    rule: Rule,
) -> (ForgingProxy, TlsaResolver<ValidatingSource>) {
    let proxy = ForgingProxy::start(dns.addr).await;
    proxy.set_rule(rule);
    let source = ValidatingSource::new(
        &settings(proxy.addr),
        &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
    )
    .unwrap();
    (proxy, TlsaResolver::new(source))
}

fn no_error_cache() -> CacheLimits {
    CacheLimits {
        error_ttl: Duration::ZERO,
        ..CacheLimits::default()
    }
}

/// One row: a fresh proxy and resolver, the attack, then the truth through the same resolver
/// (an answer forged under attack must not outlive it).
async fn row(
    dns_addr: SocketAddr,
    anchor: String,
    replay: Replay,
    f: Forgery,
    target: Target,
) -> Result<(), String> {
    let proxy = ForgingProxy::start(dns_addr).await;
    let source = ValidatingSource::new(&settings(proxy.addr), &TrustAnchor::DnskeyText(anchor))
        .map_err(|e| e.to_string())?;
    let resolver = TlsaResolver::with_cache_limits(source, no_error_cache());
    if f == Forgery::TruncatedTcpFails {
        proxy.set_tcp(false);
    }
    proxy.set_rule(rule(f, target, &replay));
    let attacked = outcome(&resolver, target).await;
    proxy.set_rule(forge::pass_through());
    proxy.set_tcp(true);
    // The validator remembers a failed validation for up to a second (and the resolver's
    // error cache is off here): the truth must be back after that.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = outcome(&resolver, target).await;
    match (attacked, after) {
        (Err(v), _) => Err(format!("{f:?} on {target:?}: under attack: {v}")),
        (_, Err(v)) => Err(format!("{f:?} on {target:?}: after the attack: {v}")),
        (_, Ok(false)) => Err(format!(
            "{f:?} on {target:?}: the truth is not back after the attack (a cached failure or forgery)"
        )),
        (Ok(_), Ok(true)) => Ok(()),
    }
}

/// The whole matrix against the validating source, rows in parallel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_validating_source_never_downgrades_rfc4035_5_rfc7672_2_2() {
    let dns = dns::start(zones()).await;
    let replay = Replay::collect(dns.addr).await;
    // Without an attacker every target gives the truth (so the checks can fail).
    for target in TARGETS {
        let r = row(
            dns.addr,
            dns.anchor_zone_file.clone(),
            replay.clone(),
            Forgery::Lost,
            target,
        );
        // `Lost` then pass-through: the second half is the honest run.
        r.await.unwrap();
    }
    let only = std::env::var("DANE_MATRIX_ONLY").ok();
    let mut tasks = Vec::new();
    for f in FORGERIES {
        if only
            .as_ref()
            .is_some_and(|o| !format!("{f:?}").contains(o.as_str()))
        {
            continue;
        }
        for target in TARGETS {
            let (addr, anchor, replay) = (dns.addr, dns.anchor_zone_file.clone(), replay.clone());
            tasks.push(tokio::spawn(async move {
                // A lookup that never ends is a failure too (a host must be decided on).
                tokio::time::timeout(
                    Duration::from_secs(30),
                    row(addr, anchor, replay, f, target),
                )
                .await
                .unwrap_or_else(|_| Err(format!("{f:?} on {target:?}: no result in 30 s")))
            }));
        }
    }
    let mut violations = Vec::new();
    for t in tasks {
        if let Err(v) = t.await.unwrap() {
            violations.push(v);
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// The critical downgrade of the review, stated on its own: one forged NXDOMAIN carrying
/// the unsigned SOA of an unrelated insecure zone must not make a signed host "insecure".
#[tokio::test]
async fn forged_nxdomain_with_an_unrelated_insecure_soa_is_not_insecure_rfc4035_5_4() {
    let dns = dns::start(zones()).await;
    let proxy = ForgingProxy::start(dns.addr).await;
    let source = ValidatingSource::new(
        &settings(proxy.addr),
        &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
    )
    .unwrap();
    let resolver = TlsaResolver::new(source);
    let replay = Replay::collect(dns.addr).await;
    proxy.set_rule(rule(
        Forgery::NxDomainUnrelatedInsecureSoa,
        Target::Tlsa,
        &replay,
    ));
    let r = resolver.lookup_tlsa(25, "tcp", "mx.secure.dane.test").await;
    assert!(r.is_err(), "{r:?}");
    // The MX NODATA variant: a signed domain must not become an insecure implicit MX.
    proxy.set_rule(rule(
        Forgery::NoDataUnrelatedInsecureSoa,
        Target::Mx,
        &replay,
    ));
    let plan = resolver.smtp_targets("secure.dane.test", 25).await;
    assert!(plan.is_err(), "{plan:?}");
}

/// What a stub behind a trusted validating resolver can meet on its link: every fault is an
/// error, never an (insecure) answer. (The in-process server never sets AD, so any answer at
/// all would be "insecure".)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_trusted_ad_source_transport_faults_are_errors() {
    let dns = dns::start(zones()).await;
    let replay = Replay::collect(dns.addr).await;
    let mut tasks = Vec::new();
    for f in FORGERIES.into_iter().filter(|f| f.applies_to_trusted_ad()) {
        for target in [Target::Tlsa, Target::Mx, Target::A] {
            let (addr, replay) = (dns.addr, replay.clone());
            tasks.push(tokio::spawn(async move {
                let proxy = ForgingProxy::start(addr).await;
                if f == Forgery::TruncatedTcpFails {
                    proxy.set_tcp(false);
                }
                proxy.set_rule(rule(f, target, &replay));
                let source = TrustedAdSource::new(settings(proxy.addr)).unwrap();
                let resolver = TlsaResolver::with_cache_limits(source, no_error_cache());
                let (name, rtype) = target.question();
                match resolver.query(&name, rtype).await {
                    Err(_) => Ok(()),
                    Ok(a) => Err(format!("{f:?} on {target:?}: {a:?}")),
                }
            }));
        }
    }
    let mut violations = Vec::new();
    for t in tasks {
        if let Err(v) = t.await.unwrap() {
            violations.push(v);
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// A resolver that does not validate (here an authoritative server: AD is never set) would
/// make every answer "insecure" in trusted-AD mode: `TrustedAdSource::connect` refuses it.
#[tokio::test]
async fn trusted_ad_source_refuses_a_non_validating_resolver() {
    let dns = dns::start(zones()).await;
    let r = TrustedAdSource::connect(settings(dns.addr), "dane.test").await;
    assert!(
        matches!(r, Err(dane::resolver::LookupError::Config(_))),
        "{r:?}"
    );
    // Forging AD=1 on the probe is what an on-path attacker could do: that is why the
    // source only trusts loopback (the probe is no defence against a forger).
    let proxy = ForgingProxy::start(dns.addr).await;
    proxy.set_rule(Arc::new(|_, _, resp: Option<Message>| {
        reply(resp.map(|mut m| {
            m.metadata.authentic_data = true;
            m
        }))
    }));
    assert!(
        TrustedAdSource::connect(settings(proxy.addr), "dane.test")
            .await
            .is_ok()
    );
}

/// RFC 4035 §5.3.4: an NSEC wildcard answer one label below the wildcard is secure with its
/// denial of the next closer name (hickory alone calls it bogus), and never without it: the
/// denial stripped, replaced by another name's denial of the same zone, or its signature
/// corrupted.
#[tokio::test]
async fn wildcard_one_label_below_is_secure_and_its_forgeries_are_not_rfc4035_5_3_4() {
    let dns = dns::start(zones()).await;
    let replay = Replay::collect(dns.addr).await;
    let wild = |r: Result<TlsaLookup, dane::resolver::LookupError>| match r {
        Ok(TlsaLookup::Secure { records, .. }) => {
            let got: Vec<String> = records.records().iter().map(|t| t.to_string()).collect();
            got == [WILD.to_string()]
        }
        _ => false,
    };
    let question = n("_99._tcp.w.secure.dane.test.");
    let forgeries: Vec<(&str, Rule)> = vec![
        ("honest", forge::pass_through()),
        (
            "denial stripped",
            forge::on_question(&question, RecordType::TLSA, |_, _, resp| {
                reply(resp.map(|mut m| {
                    m.authorities.clear();
                    m
                }))
            }),
        ),
        ("other name's denial", {
            let other = replay.same_zone_denial.clone();
            forge::on_question(&question, RecordType::TLSA, move |_, _, resp| {
                let other = other.clone();
                reply(resp.map(move |mut m| {
                    m.authorities = other;
                    m
                }))
            })
        }),
        (
            "signatures corrupted",
            forge::on_question(&question, RecordType::TLSA, |_, _, resp| {
                reply(resp.map(corrupt_rrsigs))
            }),
        ),
    ];
    for (what, rule) in forgeries {
        let (_proxy, resolver) = behind_forger(&dns, rule).await;
        let r = resolver.lookup_tlsa(99, "tcp", "w.secure.dane.test").await;
        if what == "honest" {
            assert!(wild(r.clone()), "{what}: {r:?}");
        } else {
            assert!(r.is_err(), "{what}: {r:?}");
        }
    }
}

/// A secure CNAME followed by a secure NODATA is secure (one question per link; hickory alone
/// calls the combined answer bogus), and stays an error when either piece is forged: a bad
/// signature on the CNAME, on the NODATA proof, or the proof stripped.
#[tokio::test]
async fn cname_then_nodata_is_secure_and_its_forgeries_are_not() {
    let dns = dns::start(zones()).await;
    let alias = n("al.secure.dane.test.");
    let target = n("mx.secure.dane.test.");
    let cases: Vec<(&str, Rule)> = vec![
        ("honest", forge::pass_through()),
        (
            "CNAME signature corrupted",
            forge::on_question(&alias, RecordType::AAAA, |_, _, resp| {
                reply(resp.map(corrupt_rrsigs))
            }),
        ),
        (
            "NODATA proof signature corrupted",
            forge::on_question(&target, RecordType::AAAA, |_, _, resp| {
                reply(resp.map(corrupt_rrsigs))
            }),
        ),
        (
            "NODATA proof stripped",
            forge::on_question(&target, RecordType::AAAA, |_, _, resp| {
                reply(resp.map(|mut m| {
                    m.authorities.retain(|r| {
                        !matches!(r.record_type(), RecordType::NSEC | RecordType::RRSIG)
                    });
                    m
                }))
            }),
        ),
    ];
    for (what, rule) in cases {
        let (_proxy, resolver) = behind_forger(&dns, rule).await;
        let got = resolver.query(&alias, RecordType::AAAA).await;
        if what == "honest" {
            let a = got.unwrap();
            assert_eq!(a.security, dane::resolver::Security::Secure, "{a:?}");
            assert!(
                matches!(a.kind, dane::resolver::AnswerKind::NoData { .. }),
                "{a:?}"
            );
        } else {
            assert!(got.is_err(), "{what}: {got:?}");
        }
    }
}

/// The answer with every DNSKEY replaced by another key (one byte of the public key flipped:
/// the zone's DS no longer matches).
fn forge_keys(mut m: Message) -> Message {
    use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData};
    use hickory_proto::dnssec::{PublicKey, PublicKeyBuf};
    for r in &mut m.answers {
        if let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = &r.data {
            let mut bytes = key.public_key().public_bytes().to_vec();
            if let Some(b) = bytes.last_mut() {
                *b ^= 0x01;
            }
            let forged = PublicKeyBuf::new(bytes, key.public_key().algorithm());
            r.data = RData::DNSSEC(DNSSECRData::DNSKEY(DNSKEY::with_flags(key.flags(), forged)));
        }
    }
    m
}

/// Forges the DNSKEY answer of `secure.dane.test.` (another key) `times` times, then
/// forwards the truth; counts the DNSKEY questions seen.
fn forge_dnskey(times: usize, seen: Arc<std::sync::atomic::AtomicUsize>) -> Rule {
    use std::sync::atomic::Ordering;
    forge::on_question(
        &n("secure.dane.test."),
        RecordType::DNSKEY,
        move |_, _, resp| {
            let k = seen.fetch_add(1, Ordering::SeqCst);
            if k < times {
                reply(resp.map(forge_keys))
            } else {
                reply(resp)
            }
        },
    )
}

/// A forged DNSKEY answer that got into the key cache below the validator can only make
/// the zone bogus, and only until the bogus result evicts it: the question is asked once
/// more through a fresh validator, and the zone is secure again at once.
#[tokio::test]
async fn a_forged_dnskey_in_the_key_cache_is_evicted_and_the_lookup_recovers() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dns = dns::start(zones()).await;
    let proxy = ForgingProxy::start(dns.addr).await;
    let seen = Arc::new(AtomicUsize::new(0));
    proxy.set_rule(forge_dnskey(1, seen.clone()));
    let source = ValidatingSource::new(
        &settings(proxy.addr),
        &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
    )
    .unwrap();
    let tlsa = source
        .query(&n("_25._tcp.mx.secure.dane.test."), RecordType::TLSA)
        .await;
    assert!(
        matches!(&tlsa, Ok(a) if a.security == dane::resolver::Security::Secure),
        "{tlsa:?}"
    );
    // The forged key was fetched, then evicted and fetched again.
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    // The next lookup in the zone uses the (true) cached key.
    let a = source
        .query(&n("mx.secure.dane.test."), RecordType::A)
        .await;
    assert!(
        matches!(&a, Ok(a) if a.security == dane::resolver::Security::Secure),
        "{a:?}"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

/// A zone that always serves bad keys cannot make the key cache refetch on every lookup:
/// evictions are rate-limited per name, and every lookup is bogus.
#[tokio::test]
async fn evictions_of_a_hostile_zones_keys_are_rate_limited() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dns = dns::start(zones()).await;
    let proxy = ForgingProxy::start(dns.addr).await;
    let seen = Arc::new(AtomicUsize::new(0));
    proxy.set_rule(forge_dnskey(usize::MAX, seen.clone()));
    let source = ValidatingSource::new(
        &settings(proxy.addr),
        &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
    )
    .unwrap();
    for _ in 0..5 {
        let r = source
            .query(&n("mx.secure.dane.test."), RecordType::A)
            .await;
        assert_eq!(r, Err(dane::resolver::LookupError::Bogus));
    }
    // One fetch, one eviction and refetch; then the cached (bad) key until the next
    // eviction is allowed.
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}
