//! A lookup's result does not depend on what was looked up before it: through a CNAME, the
//! same question gives the same status, records and chain on a cold and on a warm resolver
//! (hickory-resolver's response cache used to return a CNAME target's cached answer without
//! the CNAME, so the alias's lookup ended `Indeterminate` once the target was cached).
#![cfg(feature = "resolver")]

mod common;
use common::dns::{self, TestDns, ZoneSet};

use std::time::Duration;

use dane::resolver::{
    AnswerKind, DnsAnswer, LookupError, ServerSettings, TlsaResolver, TrustAnchor, ValidatingSource,
};
use hickory_proto::rr::{Name, RecordType};
use rand::Rng;

const T311: &str = "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";

fn zones() -> ZoneSet {
    let mut z = ZoneSet::new();
    let cname = |z: &mut ZoneSet, zone: &str, owner: &str, target: &str| {
        z.add_str(zone, owner, 300, RecordType::CNAME, target);
    };
    z.add_str("secure", "mx", 300, RecordType::A, "127.0.0.1");
    z.add_str("secure", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    z.add_str("secure", "_5222._tcp.mx", 300, RecordType::TLSA, T311);
    // TLSA owner via CNAME, in the same zone and from another signed zone.
    cname(
        &mut z,
        "secure",
        "_25._tcp.alias",
        "_25._tcp.mx.secure.dane.test.",
    );
    cname(&mut z, "rsa", "_25._tcp.x", "_25._tcp.mx.secure.dane.test.");
    // MX hosts that are CNAMEs to one provider host (two customer domains).
    z.add_str(
        "secure",
        "cust1",
        300,
        RecordType::MX,
        "10 mxalias.secure.dane.test.",
    );
    z.add_str(
        "rsa",
        "cust2",
        300,
        RecordType::MX,
        "10 mxalias.rsa.dane.test.",
    );
    cname(&mut z, "secure", "mxalias", "mx.secure.dane.test.");
    cname(&mut z, "rsa", "mxalias", "mx.secure.dane.test.");
    // SRV target via CNAME.
    z.add_str(
        "secure",
        "_xmpp._tcp",
        300,
        RecordType::SRV,
        "0 5 5222 srvalias.secure.dane.test.",
    );
    cname(&mut z, "secure", "srvalias", "mx.secure.dane.test.");
    // A chain of two links.
    cname(&mut z, "secure", "a1", "a2.secure.dane.test.");
    cname(&mut z, "secure", "a2", "mx.secure.dane.test.");
    // Into the unsigned zone.
    z.add_str("insecure", "mx", 300, RecordType::A, "127.0.0.1");
    cname(&mut z, "secure", "ins", "mx.insecure.dane.test.");
    z
}

fn resolver(dns: &TestDns) -> TlsaResolver<ValidatingSource> {
    let settings = ServerSettings {
        servers: vec![dns.addr],
        timeout: Duration::from_secs(3),
        attempts: 2,
        recursion_desired: false,
    };
    let source = ValidatingSource::new(
        &settings,
        &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
    )
    .unwrap();
    TlsaResolver::new(source)
}

/// The answer without its TTL (which counts down between lookups).
fn shape(a: Result<DnsAnswer, LookupError>) -> Result<DnsAnswer, LookupError> {
    a.map(|mut a| {
        match &mut a.kind {
            AnswerKind::Records { ttl, .. }
            | AnswerKind::NoData { ttl }
            | AnswerKind::NxDomain { ttl } => *ttl = 0,
        }
        a
    })
}

const QUESTIONS: [(&str, RecordType); 12] = [
    ("_25._tcp.mx.secure.dane.test.", RecordType::TLSA),
    ("_25._tcp.alias.secure.dane.test.", RecordType::TLSA),
    ("_25._tcp.x.rsa.dane.test.", RecordType::TLSA),
    ("mx.secure.dane.test.", RecordType::A),
    ("mx.secure.dane.test.", RecordType::AAAA),
    ("mxalias.secure.dane.test.", RecordType::A),
    ("mxalias.rsa.dane.test.", RecordType::A),
    ("mxalias.secure.dane.test.", RecordType::AAAA),
    ("srvalias.secure.dane.test.", RecordType::A),
    ("a1.secure.dane.test.", RecordType::A),
    ("a2.secure.dane.test.", RecordType::A),
    ("ins.secure.dane.test.", RecordType::A),
];

async fn fresh(dns: &TestDns, q: (&str, RecordType)) -> Result<DnsAnswer, LookupError> {
    shape(
        resolver(dns)
            .query(&Name::from_ascii(q.0).unwrap(), q.1)
            .await,
    )
}

#[tokio::test]
async fn target_then_alias_and_alias_then_target_match_a_fresh_resolver() {
    let dns = dns::start(zones()).await;
    let pairs = [
        (QUESTIONS[0], QUESTIONS[1]),
        (QUESTIONS[0], QUESTIONS[2]),
        (QUESTIONS[3], QUESTIONS[5]),
        (QUESTIONS[3], QUESTIONS[6]),
        (QUESTIONS[4], QUESTIONS[7]),
        (QUESTIONS[3], QUESTIONS[8]),
        (QUESTIONS[3], QUESTIONS[9]),
        (QUESTIONS[10], QUESTIONS[9]),
    ];
    for (target, alias) in pairs {
        let (want_t, want_a) = (fresh(&dns, target).await, fresh(&dns, alias).await);
        assert!(want_a.is_ok(), "{alias:?}: {want_a:?}");
        for order in [
            [target, alias, alias, target],
            [alias, target, target, alias],
        ] {
            let r = resolver(&dns);
            for q in order {
                let got = shape(r.query(&Name::from_ascii(q.0).unwrap(), q.1).await);
                let want = if q == target { &want_t } else { &want_a };
                assert_eq!(&got, want, "{q:?} after {order:?}");
            }
        }
    }
}

#[tokio::test]
async fn plans_through_cnames_do_not_depend_on_the_cache() {
    let dns = dns::start(zones()).await;
    let summary = |p: &dane::resolver::SmtpPlan| {
        p.targets
            .iter()
            .map(|t| {
                (
                    t.host.to_string(),
                    t.status.label(),
                    t.secure_addresses.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let cold1 = summary(
        &resolver(&dns)
            .smtp_targets("cust1.secure.dane.test", 25)
            .await
            .unwrap(),
    );
    let cold2 = summary(
        &resolver(&dns)
            .smtp_targets("cust2.rsa.dane.test", 25)
            .await
            .unwrap(),
    );
    assert_eq!(cold1[0].1, "dane", "{cold1:?}");
    assert_eq!(cold2[0].1, "dane", "{cold2:?}");
    // Two customers of one provider host, one after the other, on one resolver.
    let r = resolver(&dns);
    for _ in 0..2 {
        let p1 = r.smtp_targets("cust1.secure.dane.test", 25).await.unwrap();
        let p2 = r.smtp_targets("cust2.rsa.dane.test", 25).await.unwrap();
        assert_eq!(summary(&p1), cold1);
        assert_eq!(summary(&p2), cold2);
    }
    // SRV target via CNAME, after its target was looked up.
    let srv = |p: &dane::resolver::SrvPlan| {
        p.targets
            .iter()
            .map(|t| t.status.label())
            .collect::<Vec<_>>()
    };
    let cold = srv(&resolver(&dns)
        .srv_targets("xmpp", "tcp", "secure.dane.test")
        .await
        .unwrap());
    assert_eq!(cold, ["dane"]);
    let r = resolver(&dns);
    r.query(
        &Name::from_ascii("mx.secure.dane.test.").unwrap(),
        RecordType::A,
    )
    .await
    .unwrap();
    assert_eq!(
        srv(&r
            .srv_targets("xmpp", "tcp", "secure.dane.test")
            .await
            .unwrap()),
        cold
    );
}

/// Random sequences of lookups on one resolver give what fresh resolvers give.
#[tokio::test]
async fn random_sequences_match_fresh_resolvers() {
    let dns = dns::start(zones()).await;
    let mut truth = Vec::new();
    for q in QUESTIONS {
        truth.push(fresh(&dns, q).await);
    }
    for _ in 0..4 {
        let r = resolver(&dns);
        for _ in 0..30 {
            let i = rand::thread_rng().gen_range(0..QUESTIONS.len());
            let q = QUESTIONS[i];
            let got = shape(r.query(&Name::from_ascii(q.0).unwrap(), q.1).await);
            assert_eq!(got, truth[i], "{q:?}");
        }
    }
}
