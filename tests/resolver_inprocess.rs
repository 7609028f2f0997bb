//! The resolver against real DNS: an in-process authoritative server (tests/common/dns.rs)
//! serving zones signed at test time, validated locally with the apex key as trust anchor.
#![cfg(feature = "resolver")]

mod common;
use common::dns::{self, TestDns, ZoneSet};

use std::sync::Arc;
use std::time::Duration;

use dane::resolver::{
    DaneStatus, LookupError, ServerSettings, TlsaLookup, TlsaResolver, TrustAnchor,
    ValidatingSource,
};
use dane::{Policy, ReferenceName};
use hickory_proto::rr::RecordType;

const T311: &str = "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";
const T211: &str = "2 1 1 8bd1da95272f7fa4ffb24137fc0ed03aae67e5c4d8b3c50734e1050a7920b922";
const UNUSABLE: &str = "255 1 1 8bd1da95272f7fa4ffb24137fc0ed03aae67e5c4d8b3c50734e1050a7920b922";

fn zones() -> ZoneSet {
    let mut z = ZoneSet::new();
    let a = |z: &mut ZoneSet, zone: &str, owner: &str| {
        z.add_str(zone, owner, 300, RecordType::A, "127.0.0.1");
    };
    // secure.dane.test (alg 13)
    z.add_str(
        "secure",
        "@",
        300,
        RecordType::MX,
        "10 mx.secure.dane.test.",
    );
    a(&mut z, "secure", "mx");
    z.add_str("secure", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    z.add_str("secure", "_25._tcp.mx", 300, RecordType::TLSA, T211);
    a(&mut z, "secure", "notlsa");
    a(&mut z, "secure", "nodata");
    z.add_str(
        "secure",
        "_25._tcp.nodata",
        300,
        RecordType::TXT,
        "\"no TLSA here\"",
    );
    a(&mut z, "secure", "unusable");
    z.add_str(
        "secure",
        "_25._tcp.unusable",
        300,
        RecordType::TLSA,
        UNUSABLE,
    );
    // RFC 7672 §2.2.2: a CNAME'd MX host; TLSA at the target.
    z.add_str(
        "secure",
        "cname",
        300,
        RecordType::MX,
        "10 alias.secure.dane.test.",
    );
    z.add_str(
        "secure",
        "alias",
        300,
        RecordType::CNAME,
        "mx.secure.dane.test.",
    );
    // ... and one whose target has no TLSA, while the alias has.
    z.add_str(
        "secure",
        "fallback",
        300,
        RecordType::MX,
        "10 alias2.secure.dane.test.",
    );
    z.add_str(
        "secure",
        "alias2",
        300,
        RecordType::CNAME,
        "notlsa.secure.dane.test.",
    );
    z.add_str("secure", "_25._tcp.alias2", 300, RecordType::TLSA, T311);
    // A CNAME into the insecure zone: addresses not secure, no DANE.
    z.add_str(
        "secure",
        "cname-ins",
        300,
        RecordType::MX,
        "10 alias3.secure.dane.test.",
    );
    z.add_str(
        "secure",
        "alias3",
        300,
        RecordType::CNAME,
        "mx.insecure.dane.test.",
    );
    // An MX pointing at hosts in bogus zones, and one good host.
    z.add_str(
        "secure",
        "mixed",
        300,
        RecordType::MX,
        "10 mx.bogus.dane.test.",
    );
    z.add_str(
        "secure",
        "mixed",
        300,
        RecordType::MX,
        "20 mx.expired.dane.test.",
    );
    z.add_str(
        "secure",
        "mixed",
        300,
        RecordType::MX,
        "30 mx.secure.dane.test.",
    );
    // Implicit MX: a domain with an address and no MX.
    a(&mut z, "secure", "implicit");
    z.add_str("secure", "_25._tcp.implicit", 300, RecordType::TLSA, T311);
    // A secure CNAME into the insecure zone with TLSA at the alias (RFC 7672 §2.2.2).
    z.add_str(
        "secure",
        "alias-ins-dane",
        300,
        RecordType::CNAME,
        "mx.insecure.dane.test.",
    );
    z.add_str(
        "secure",
        "_25._tcp.alias-ins-dane",
        300,
        RecordType::TLSA,
        T311,
    );
    z.add_str(
        "secure",
        "cid",
        300,
        RecordType::MX,
        "10 alias-ins-dane.secure.dane.test.",
    );
    // A next-hop domain that is a secure CNAME to the name holding the MX RRset.
    z.add_str(
        "secure",
        "nh",
        300,
        RecordType::CNAME,
        "cname.secure.dane.test.",
    );
    // SRV (RFC 7673).
    z.add_str(
        "secure",
        "_xmpp-server._tcp",
        300,
        RecordType::SRV,
        "5 0 5269 mx.secure.dane.test.",
    );
    z.add_str("secure", "_5269._tcp.mx", 300, RecordType::TLSA, T311);
    // rsa.dane.test (alg 8)
    z.add_str("rsa", "@", 300, RecordType::MX, "10 mx.rsa.dane.test.");
    a(&mut z, "rsa", "mx");
    z.add_str("rsa", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    // insecure.dane.test: no DS; its MX host in the secure zone still gets DANE.
    z.add_str(
        "insecure",
        "@",
        300,
        RecordType::MX,
        "10 mx.secure.dane.test.",
    );
    a(&mut z, "insecure", "mx");
    z.add_str("insecure", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    // bogus / expired / badds.
    a(&mut z, "bogus", "mx");
    z.add_str("bogus", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    a(&mut z, "expired", "mx");
    z.add_str("expired", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    a(&mut z, "badds", "mx");
    z.add_str("badds", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    // unsupported.dane.test: DS and DNSKEY with algorithm 16 (ED448), which hickory lacks.
    a(&mut z, "unsupported", "mx");
    z.add_str("unsupported", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    // More hosts with TLSA (query counting: a new name in a zone already validated).
    for h in ["new1", "new2"] {
        z.add_str(
            "secure",
            &format!("_25._tcp.{h}"),
            300,
            RecordType::TLSA,
            T311,
        );
        z.add_str(
            "insecure",
            &format!("_25._tcp.{h}"),
            300,
            RecordType::TLSA,
            T311,
        );
    }
    z
}

fn settings(dns: &TestDns) -> ServerSettings {
    ServerSettings {
        servers: vec![dns.addr],
        timeout: Duration::from_secs(3),
        attempts: 2,
        recursion_desired: false,
    }
}

async fn setup() -> (TestDns, TlsaResolver<ValidatingSource>) {
    let dns = dns::start(zones()).await;
    let source = ValidatingSource::new(
        &settings(&dns),
        &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
    )
    .unwrap();
    (dns, TlsaResolver::new(source))
}

fn secure_records(l: &TlsaLookup) -> Vec<String> {
    match l {
        TlsaLookup::Secure { records, .. } => {
            records.records().iter().map(|t| t.to_string()).collect()
        }
        other => panic!("expected secure, got {other:?}"),
    }
}

#[tokio::test]
async fn secure_tlsa_alg13_and_alg8() {
    let (_dns, r) = setup().await;
    let l = r
        .lookup_tlsa(25, "tcp", "mx.secure.dane.test")
        .await
        .unwrap();
    let mut got = secure_records(&l);
    got.sort();
    assert_eq!(got, [T211, T311]);
    let TlsaLookup::Secure {
        base,
        ttl,
        malformed,
        ..
    } = &l
    else {
        unreachable!()
    };
    assert_eq!(
        (base.as_str(), *ttl, *malformed),
        ("mx.secure.dane.test", 300, 0)
    );
    let l = r.lookup_tlsa(25, "tcp", "mx.rsa.dane.test.").await.unwrap();
    assert_eq!(secure_records(&l), [T311]);
}

#[tokio::test]
async fn validated_denial_nsec_nodata_and_nxdomain_rfc4035_5_4() {
    let (_dns, r) = setup().await;
    assert_eq!(
        r.lookup_tlsa(25, "tcp", "nodata.secure.dane.test")
            .await
            .unwrap(),
        TlsaLookup::SecureAbsent
    );
    assert_eq!(
        r.lookup_tlsa(25, "tcp", "notlsa.secure.dane.test")
            .await
            .unwrap(),
        TlsaLookup::SecureAbsent
    );
}

#[tokio::test]
async fn insecure_delegation_means_no_dane() {
    let (_dns, r) = setup().await;
    assert_eq!(
        r.lookup_tlsa(25, "tcp", "mx.insecure.dane.test")
            .await
            .unwrap(),
        TlsaLookup::Insecure
    );
    assert_eq!(
        r.lookup_tlsa(25, "tcp", "none.insecure.dane.test")
            .await
            .unwrap(),
        TlsaLookup::Insecure
    );
}

#[tokio::test]
async fn bogus_expired_and_bad_ds_are_errors_never_insecure() {
    let (_dns, r) = setup().await;
    for host in [
        "mx.bogus.dane.test",
        "mx.expired.dane.test",
        "mx.badds.dane.test",
    ] {
        let got = r.lookup_tlsa(25, "tcp", host).await;
        assert_eq!(got, Err(LookupError::Bogus), "{host}");
    }
}

/// RFC 4035 §5.2: a secure DS RRset listing only algorithms the validator does not implement
/// makes the zone insecure: no DANE, but not an error either. The zone's signatures are random
/// bytes; only the algorithm number (16, ED448) keeps the validator from calling them bogus.
#[tokio::test]
async fn unsupported_algorithm_is_insecure_not_bogus_rfc4035_5_2() {
    let (_dns, r) = setup().await;
    assert_eq!(
        r.lookup_tlsa(25, "tcp", "mx.unsupported.dane.test").await,
        Ok(TlsaLookup::Insecure)
    );
    assert_eq!(
        r.lookup_tlsa(25, "tcp", "none.unsupported.dane.test").await,
        Ok(TlsaLookup::Insecure)
    );
}

#[tokio::test]
async fn wrong_trust_anchor_makes_everything_bogus() {
    let dns = dns::start(zones()).await;
    let other = dns::start(ZoneSet::new()).await;
    let source = ValidatingSource::new(
        &settings(&dns),
        &TrustAnchor::DnskeyText(other.anchor_zone_file.clone()),
    )
    .unwrap();
    let r = TlsaResolver::new(source);
    assert!(
        r.lookup_tlsa(25, "tcp", "mx.secure.dane.test")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn ds_trust_anchor_is_converted_to_the_validated_dnskey() {
    let dns = dns::start(zones()).await;
    let source = ValidatingSource::connect(
        &settings(&dns),
        &TrustAnchor::DsText(dns.ds_zone_file.clone()),
    )
    .await
    .unwrap();
    let r = TlsaResolver::new(source);
    assert!(matches!(
        r.lookup_tlsa(25, "tcp", "mx.secure.dane.test").await,
        Ok(TlsaLookup::Secure { .. })
    ));
    // A DS that matches no key of the zone is refused.
    let other = dns::start(ZoneSet::new()).await;
    let refused = ValidatingSource::connect(
        &settings(&dns),
        &TrustAnchor::DsText(other.ds_zone_file.clone()),
    )
    .await;
    assert!(
        matches!(refused, Err(LookupError::Config(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn unreachable_server_is_a_timeout_not_insecure() {
    let dns = dns::start(zones()).await;
    let mut s = settings(&dns);
    // A port where nothing answers.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.servers = vec![sock.local_addr().unwrap()];
    s.timeout = Duration::from_millis(300);
    s.attempts = 1;
    let r = TlsaResolver::new(
        ValidatingSource::new(&s, &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone())).unwrap(),
    );
    let got = r.lookup_tlsa(25, "tcp", "mx.secure.dane.test").await;
    assert!(got.is_err(), "{got:?}");
}

#[tokio::test]
async fn cache_answers_from_memory_and_coalesces_identical_lookups() {
    let (dns, r) = setup().await;
    let r = Arc::new(r);
    r.lookup_tlsa(25, "tcp", "mx.secure.dane.test")
        .await
        .unwrap();
    dns.clear_queries();
    for _ in 0..10 {
        r.lookup_tlsa(25, "tcp", "MX.Secure.dane.test.")
            .await
            .unwrap();
    }
    assert_eq!(
        dns.queries().len(),
        0,
        "cached lookups must not reach the server"
    );
    // Ten concurrent lookups of a new name: one TLSA query on the wire.
    dns.clear_queries();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            r.lookup_tlsa(25, "tcp", "mx.rsa.dane.test").await
        }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Ok(TlsaLookup::Secure { .. })));
    }
    let tlsa_queries = dns
        .queries()
        .iter()
        .filter(|q| q.qtype == RecordType::TLSA)
        .count();
    assert_eq!(tlsa_queries, 1, "{:?}", dns.queries());
    // A bogus answer stays bogus from the cache.
    assert_eq!(
        r.lookup_tlsa(25, "tcp", "mx.bogus.dane.test").await,
        Err(LookupError::Bogus)
    );
    assert_eq!(
        r.lookup_tlsa(25, "tcp", "mx.bogus.dane.test").await,
        Err(LookupError::Bogus)
    );
}

// ---------------------------------------------------------------- RFC 7672 §2

fn required(status: &DaneStatus) -> (&Policy, &ReferenceName, usize) {
    match status {
        DaneStatus::Required { policy, sni, tlsa } => (policy, sni, tlsa.len()),
        other => panic!("expected DANE required, got {other:?}"),
    }
}

fn names(p: &Policy) -> Vec<&str> {
    p.reference_names().iter().map(|n| n.as_str()).collect()
}

#[tokio::test]
async fn smtp_secure_mx_secure_host_dane_required_rfc7672_2_2() {
    let (_dns, r) = setup().await;
    let plan = r.smtp_targets("secure.dane.test", 25).await.unwrap();
    assert!(plan.mx_secure && !plan.implicit_mx);
    assert_eq!(plan.targets.len(), 1);
    let t = &plan.targets[0];
    assert_eq!(t.host.to_ascii(), "mx.secure.dane.test.");
    assert_eq!(
        t.secure_addresses,
        ["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    let (policy, sni, n) = required(&t.status);
    assert_eq!((sni.as_str(), n), ("mx.secure.dane.test", 2));
    // Secure MX: the next-hop domain is a reference identifier too (RFC 7672 §3.2.2).
    assert_eq!(names(policy), ["mx.secure.dane.test", "secure.dane.test"]);
    assert_eq!(policy.profile(), dane::Profile::Smtp);
}

#[tokio::test]
async fn smtp_insecure_mx_secure_host_only_its_own_name_rfc7672_2_2_1() {
    let (_dns, r) = setup().await;
    let plan = r.smtp_targets("insecure.dane.test", 25).await.unwrap();
    assert!(!plan.mx_secure);
    let (policy, _, _) = required(&plan.targets[0].status);
    assert_eq!(names(policy), ["mx.secure.dane.test"]);
}

#[tokio::test]
async fn smtp_implicit_mx_rfc5321_5_1() {
    let (_dns, r) = setup().await;
    let plan = r
        .smtp_targets("implicit.secure.dane.test", 25)
        .await
        .unwrap();
    assert!(plan.implicit_mx && plan.mx_secure);
    let (_, sni, _) = required(&plan.targets[0].status);
    assert_eq!(sni.as_str(), "implicit.secure.dane.test");
}

#[tokio::test]
async fn smtp_cname_expanded_name_first_then_original_rfc7672_2_2_2() {
    let (_dns, r) = setup().await;
    // TLSA at the expanded name.
    let plan = r.smtp_targets("cname.secure.dane.test", 25).await.unwrap();
    let (policy, sni, _) = required(&plan.targets[0].status);
    assert_eq!(sni.as_str(), "mx.secure.dane.test");
    // RFC 7672 §3.2.2 as Postfix: TLSA found at the expanded name, so the reference
    // identifiers are that name and the next-hop domain; the alias is not one.
    assert_eq!(
        names(policy),
        ["mx.secure.dane.test", "cname.secure.dane.test"]
    );
    // No TLSA at the expanded name: the alias's.
    let plan = r
        .smtp_targets("fallback.secure.dane.test", 25)
        .await
        .unwrap();
    let (_, sni, _) = required(&plan.targets[0].status);
    assert_eq!(sni.as_str(), "alias2.secure.dane.test");
    // A secure CNAME into an insecure zone without TLSA at the alias: no DANE.
    let plan = r
        .smtp_targets("cname-ins.secure.dane.test", 25)
        .await
        .unwrap();
    let t = &plan.targets[0];
    assert!(t.secure_addresses.is_empty() && !t.insecure_addresses.is_empty());
    assert!(
        matches!(t.status, DaneStatus::Opportunistic),
        "{:?}",
        t.status
    );
}

#[tokio::test]
async fn smtp_bogus_hosts_are_unusable_never_downgraded_rfc7672_2_2() {
    let (_dns, r) = setup().await;
    let plan = r.smtp_targets("mixed.secure.dane.test", 25).await.unwrap();
    let labels: Vec<&str> = plan.targets.iter().map(|t| t.status.label()).collect();
    // mx.bogus: addresses fine, TLSA bogus; mx.expired: addresses bogus; mx.secure: DANE.
    assert_eq!(labels, ["unusable", "unusable", "dane"]);
    assert!(matches!(
        plan.targets[0].status,
        DaneStatus::Unusable(LookupError::Bogus)
    ));
}

#[tokio::test]
async fn smtp_all_unusable_records_tls_required_unauthenticated_rfc7672_2_2() {
    let (_dns, r) = setup().await;
    let l = r
        .lookup_tlsa(25, "tcp", "unusable.secure.dane.test")
        .await
        .unwrap();
    assert_eq!(secure_records(&l), [UNUSABLE]);
    let plan = r
        .smtp_targets("unusable.secure.dane.test", 25)
        .await
        .unwrap();
    assert!(
        matches!(
            plan.targets[0].status,
            DaneStatus::TlsRequiredUnauthenticated { ref sni, .. } if sni.as_str() == "unusable.secure.dane.test"
        ),
        "{:?}",
        plan.targets[0].status
    );
}

#[tokio::test]
async fn smtp_bogus_mx_lookup_defers_the_domain() {
    let (_dns, r) = setup().await;
    // Every signature of expired.dane.test has expired: its MX lookup is bogus.
    assert_eq!(
        r.smtp_targets("expired.dane.test", 25).await.unwrap_err(),
        LookupError::Bogus
    );
    assert_eq!(
        r.smtp_targets("nonexistent.secure.dane.test", 25)
            .await
            .unwrap_err(),
        LookupError::NoSuchDomain
    );
}

#[tokio::test]
async fn srv_targets_rfc7673() {
    let (_dns, r) = setup().await;
    let plan = r
        .srv_targets("xmpp-server", "tcp", "secure.dane.test")
        .await
        .unwrap();
    assert!(plan.srv_secure);
    let t = &plan.targets[0];
    assert_eq!(t.port, 5269);
    let (policy, sni, _) = required(&t.status);
    assert_eq!(sni.as_str(), "mx.secure.dane.test");
    assert_eq!(names(policy)[0], "mx.secure.dane.test");
    // RFC 7673 is not SMTP: PKIX usages stay usable.
    assert_eq!(policy.profile(), dane::Profile::Generic);
}

/// Counts the queries that reach the source, below the resolver's own cache.
struct Counting<S> {
    inner: S,
    calls: Arc<std::sync::atomic::AtomicUsize>,
}

impl<S: dane::resolver::DnsSource> dane::resolver::DnsSource for Counting<S> {
    async fn query(
        &self,
        name: &hickory_proto::rr::Name,
        rtype: RecordType,
    ) -> Result<dane::resolver::DnsAnswer, LookupError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.query(name, rtype).await
    }
}

#[tokio::test]
async fn cache_size_is_bounded() {
    let dns = dns::start(zones()).await;
    let counting = |calls: &Arc<std::sync::atomic::AtomicUsize>| Counting {
        inner: ValidatingSource::new(
            &settings(&dns),
            &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
        )
        .unwrap(),
        calls: calls.clone(),
    };
    let count = |calls: &Arc<std::sync::atomic::AtomicUsize>| {
        calls.load(std::sync::atomic::Ordering::SeqCst)
    };
    // Five names; the answer cache and the lookup memo hold two each at most.
    let hosts = [
        "mx.secure.dane.test",
        "mx.rsa.dane.test",
        "nodata.secure.dane.test",
        "notlsa.secure.dane.test",
        "unusable.secure.dane.test",
    ];
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let limits = dane::resolver::CacheLimits {
        max_entries: 2,
        ..Default::default()
    };
    let r = TlsaResolver::with_cache_limits(counting(&calls), limits);
    for _ in 0..2 {
        for host in hosts {
            r.lookup_tlsa(25, "tcp", host).await.unwrap();
        }
    }
    // The second round finds at most four of the five in memory.
    assert!(
        count(&calls) > 5,
        "{} source queries for 2 × 5 lookups",
        count(&calls)
    );
    // With room for all five, the second round is served from memory.
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r = TlsaResolver::new(counting(&calls));
    for _ in 0..2 {
        for host in hosts {
            r.lookup_tlsa(25, "tcp", host).await.unwrap();
        }
    }
    assert_eq!(count(&calls), 5);
}

#[tokio::test]
async fn secure_negative_answers_are_cached_rfc2308_5() {
    let (dns, r) = setup().await;
    assert_eq!(
        r.lookup_tlsa(25, "tcp", "nodata.secure.dane.test")
            .await
            .unwrap(),
        TlsaLookup::SecureAbsent
    );
    dns.clear_queries();
    assert_eq!(
        r.lookup_tlsa(25, "tcp", "nodata.secure.dane.test")
            .await
            .unwrap(),
        TlsaLookup::SecureAbsent
    );
    assert_eq!(dns.queries().len(), 0, "{:?}", dns.queries());
}

#[test]
fn trusting_the_ad_bit_needs_a_loopback_resolver() {
    let remote = ServerSettings::new("192.0.2.53:53".parse().unwrap());
    assert!(matches!(
        dane::resolver::TrustedAdSource::new(remote),
        Err(LookupError::Config(_))
    ));
    let local = ServerSettings::new("127.0.0.1:53".parse().unwrap());
    assert!(dane::resolver::TrustedAdSource::new(local).is_ok());
}

/// RFC 2181 §8: a cached answer's TTL counts down; plans say when they go stale.
#[tokio::test]
async fn cached_ttls_count_down_and_plans_expire_rfc2181_8() {
    let (_dns, r) = setup().await;
    let ttl = |l: &TlsaLookup| match l {
        TlsaLookup::Secure { ttl, .. } => *ttl,
        other => panic!("expected secure, got {other:?}"),
    };
    let first = r
        .lookup_tlsa(25, "tcp", "mx.secure.dane.test")
        .await
        .unwrap();
    assert!(ttl(&first) <= 300 && ttl(&first) >= 299, "{first:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let later = r
        .lookup_tlsa(25, "tcp", "mx.secure.dane.test")
        .await
        .unwrap();
    assert!(
        ttl(&later) <= 298,
        "a cached TTL must count down: {later:?}"
    );
    let owner =
        dane::resolver::hickory_proto::rr::Name::from_ascii("_25._tcp.mx.secure.dane.test.")
            .unwrap();
    let answer = r.query(&owner, RecordType::TLSA).await.unwrap();
    assert!(answer.kind.ttl() <= 298, "{answer:?}");
    let plan = r.smtp_targets("secure.dane.test", 25).await.unwrap();
    let left = plan
        .expires
        .saturating_duration_since(std::time::Instant::now());
    assert!(left <= Duration::from_secs(298), "{left:?}");
    assert!(left >= Duration::from_secs(290), "{left:?}");
    assert!(plan.targets.iter().all(|t| t.expires >= plan.expires));
}

/// A DNSSEC source asks DNS, never the hosts file or a built-in answer: `localhost.` goes to
/// the server like any other name (which refuses it here: outside its zones).
#[tokio::test]
async fn the_validating_source_reads_no_hosts_file() {
    let (dns, r) = setup().await;
    dns.clear_queries();
    let localhost = dane::resolver::hickory_proto::rr::Name::from_ascii("localhost.").unwrap();
    let answer = r.query(&localhost, RecordType::A).await;
    assert!(answer.is_err(), "{answer:?}");
    assert!(
        dns.queries().iter().any(|q| q.name == localhost),
        "{:?}",
        dns.queries()
    );
}

/// RFC 7672 §2.2.2 as Postfix applies it: an MX host that is a *secure* CNAME into an
/// unsigned zone keeps DANE at its own name when a secure TLSA RRset is there (the common
/// hosted setup: the customer's signed zone aliases the MX host to a provider's unsigned one).
#[tokio::test]
async fn smtp_secure_cname_into_an_unsigned_zone_keeps_dane_at_the_alias_rfc7672_2_2_2() {
    let (_dns, r) = setup().await;
    let plan = r.smtp_targets("cid.secure.dane.test", 25).await.unwrap();
    let t = &plan.targets[0];
    let (policy, sni, n) = required(&t.status);
    assert_eq!(sni.as_str(), "alias-ins-dane.secure.dane.test");
    assert_eq!(n, 1);
    assert_eq!(
        names(policy),
        ["alias-ins-dane.secure.dane.test", "cid.secure.dane.test"]
    );
    // DANE covers the target's addresses, reached through the secure alias.
    assert!(
        !t.secure_addresses.is_empty() && t.insecure_addresses.is_empty(),
        "{t:?}"
    );
}

/// RFC 7672 §3.2.2 as Postfix: a next-hop domain that is a secure CNAME to the name holding
/// the MX RRset gives both names as reference identifiers.
#[tokio::test]
async fn smtp_next_hop_secure_cname_both_names_are_reference_identifiers_rfc7672_3_2_2() {
    let (_dns, r) = setup().await;
    let plan = r.smtp_targets("nh.secure.dane.test", 25).await.unwrap();
    let (policy, sni, _) = required(&plan.targets[0].status);
    assert_eq!(sni.as_str(), "mx.secure.dane.test");
    assert_eq!(
        names(policy),
        [
            "mx.secure.dane.test",
            "nh.secure.dane.test",
            "cname.secure.dane.test"
        ]
    );
}

/// What the server was asked since the last call (and forgets it).
fn asked(dns: &TestDns) -> Vec<String> {
    let q = dns
        .queries()
        .iter()
        .map(|q| format!("{} {}", q.qtype, q.name))
        .collect();
    dns.clear_queries();
    q
}

#[tokio::test]
async fn key_cache_new_name_in_a_known_zone_costs_one_query() {
    let (dns, r) = setup().await;
    // Cold: TLSA, then the chain of trust (DNSKEY and DS of the zone, DNSKEY of the anchor).
    let cold = r
        .lookup_tlsa(25, "tcp", "mx.secure.dane.test")
        .await
        .unwrap();
    assert!(secure_records(&cold).contains(&T311.to_string()));
    let q = asked(&dns);
    assert_eq!(q.len(), 4, "{q:?}");
    // A never-asked name in the same zone: the TLSA question only.
    let warm = r
        .lookup_tlsa(25, "tcp", "new1.secure.dane.test")
        .await
        .unwrap();
    assert_eq!(secure_records(&warm), vec![T311]);
    assert_eq!(asked(&dns), vec!["TLSA _25._tcp.new1.secure.dane.test."]);

    // The insecure zone: the first name walks to the zone cut and proves the missing DS.
    let l = r
        .lookup_tlsa(25, "tcp", "mx.insecure.dane.test")
        .await
        .unwrap();
    assert_eq!(l, TlsaLookup::Insecure);
    let first = asked(&dns);
    assert!(first.len() > 1, "{first:?}");
    // A new name under the known insecure delegation: at most 2 queries (here the TLSA
    // question only: the walk stops at the cached cut, whose DS denial is validated again).
    let l = r
        .lookup_tlsa(25, "tcp", "new1.insecure.dane.test")
        .await
        .unwrap();
    assert_eq!(l, TlsaLookup::Insecure);
    assert_eq!(asked(&dns), vec!["TLSA _25._tcp.new1.insecure.dane.test."]);

    // A fresh resolver on the same server is cold again (nothing shared between sources).
    let fresh = TlsaResolver::new(
        ValidatingSource::new(
            &settings(&dns),
            &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
        )
        .unwrap(),
    );
    let l = fresh
        .lookup_tlsa(25, "tcp", "new2.secure.dane.test")
        .await
        .unwrap();
    assert_eq!(secure_records(&l), vec![T311]);
    assert_eq!(asked(&dns).len(), 4);
}

/// `ValidatingSource::signature_validity`: the window of the RRSIG that proved a secure
/// RRset (the fixture signs from an hour ago to a day ahead), after a CNAME chain too;
/// nothing for an insecure answer or a denial; an error for bogus data.
#[tokio::test]
async fn signature_validity_of_validated_rrsets() {
    use std::time::{SystemTime, UNIX_EPOCH};
    let dns = dns::start(zones()).await;
    let source = ValidatingSource::new(
        &settings(&dns),
        &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
    )
    .unwrap();
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let now = secs(SystemTime::now());
    let name = |n: &str| dns::name(n);
    let v = source
        .signature_validity(&name("_25._tcp.mx.secure.dane.test."), RecordType::TLSA)
        .await
        .unwrap()
        .expect("a secure RRset has a signature");
    assert!(secs(v.inception).abs_diff(now - 3600) < 60, "{v:?}");
    assert!(secs(v.expiration).abs_diff(now + 86_400) < 60, "{v:?}");
    assert_eq!(v.original_ttl, 300);
    assert_eq!(v.signer, name("secure.dane.test."));
    // Through the CNAME alias.secure → mx.secure: the signature over the target's A RRset.
    let through = source
        .signature_validity(&name("alias.secure.dane.test."), RecordType::A)
        .await
        .unwrap()
        .expect("the A RRset at the end of the chain is signed");
    assert_eq!(through.signer, name("secure.dane.test."));
    for (owner, rtype) in [
        ("_25._tcp.mx.insecure.dane.test.", RecordType::TLSA),
        ("_25._tcp.notlsa.secure.dane.test.", RecordType::TLSA),
        ("_25._tcp.nodata.secure.dane.test.", RecordType::TLSA),
    ] {
        assert_eq!(
            source.signature_validity(&name(owner), rtype).await,
            Ok(None),
            "{owner}"
        );
    }
    assert_eq!(
        source
            .signature_validity(&name("_25._tcp.mx.bogus.dane.test."), RecordType::TLSA)
            .await,
        Err(LookupError::Bogus)
    );
}
