//! Soak: many lookups through the on-path forger with random loss, delay and forgery mixed
//! in, 50 in flight, over secure, insecure and absent names. Zero wrong classifications are
//! allowed (a lookup may fail; it may never be `Insecure`/`SecureAbsent` for a signed name
//! with records, nor `Secure` with records the zone does not hold), and the caches and the
//! pending map stay bounded.
//!
//! `cargo test` runs a scaled version (2,000 lookups); the full run is the same test with
//! `DANE_SOAK_LOOKUPS=50000 cargo test --release --all-features --test resolver_soak --
//! --nocapture`, which prints its figures (peak cache sizes, peak RSS).
#![cfg(feature = "resolver")]

mod common;
use common::dns::{self, ZoneSet};
use common::forge::{self, ForgingProxy, Verdict};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dane::resolver::{
    CacheLimits, ServerSettings, TlsaLookup, TlsaResolver, TrustAnchor, ValidatingSource,
};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::TLSA;
use hickory_proto::rr::{RData, Record, RecordType};
use rand::Rng;

const HOSTS: usize = 40;
const T311: &str = "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Truth {
    Secure,
    Insecure,
    Absent,
}

fn zones() -> ZoneSet {
    let mut z = ZoneSet::new();
    for i in 0..HOSTS {
        z.add_str(
            "secure",
            &format!("_25._tcp.h{i}"),
            300,
            RecordType::TLSA,
            T311,
        );
        z.add_str(
            "rsa",
            &format!("_25._tcp.h{i}"),
            300,
            RecordType::TLSA,
            T311,
        );
        z.add_str(
            "insecure",
            &format!("_25._tcp.h{i}"),
            300,
            RecordType::TLSA,
            T311,
        );
    }
    z
}

fn host(i: usize) -> (String, Truth) {
    match i % 4 {
        0 => (
            format!("h{}.secure.dane.test", i / 4 % HOSTS),
            Truth::Secure,
        ),
        1 => (format!("h{}.rsa.dane.test", i / 4 % HOSTS), Truth::Secure),
        2 => (
            format!("h{}.insecure.dane.test", i / 4 % HOSTS),
            Truth::Insecure,
        ),
        _ => (
            format!("n{}.secure.dane.test", i / 4 % HOSTS),
            Truth::Absent,
        ),
    }
}

/// Loss 5 %, delay up to 30 ms 10 %, one of several forgeries 10 %.
fn chaos() -> forge::Rule {
    Arc::new(|_, q, resp| {
        let mut rng = rand::thread_rng();
        let roll: f64 = rng.r#gen();
        let Some(resp) = resp else {
            return Verdict::Drop;
        };
        if roll < 0.05 {
            return Verdict::Drop;
        }
        if roll < 0.15 {
            let ms = rng.gen_range(1..30);
            return Verdict::Delay(Duration::from_millis(ms), Box::new(Verdict::Reply(resp)));
        }
        if roll < 0.25 {
            let qname = forge::question(q).map(|q| q.name().clone());
            let Some(qname) = qname else {
                return Verdict::Drop;
            };
            return match rng.gen_range(0..6) {
                0 => Verdict::Reply(forge::response(
                    q,
                    ResponseCode::NXDomain,
                    vec![],
                    vec![forge::unsigned_soa(&dns::name("insecure.dane.test."))],
                    vec![],
                )),
                1 => Verdict::Reply(forge::response(
                    q,
                    ResponseCode::NoError,
                    vec![],
                    vec![forge::unsigned_soa(&dns::name("x.insecure.dane.test."))],
                    vec![],
                )),
                2 => Verdict::Reply(forge::response(
                    q,
                    ResponseCode::NoError,
                    vec![Record::from_rdata(
                        qname,
                        300,
                        RData::TLSA(TLSA::new(3.into(), 1.into(), 1.into(), vec![0xee; 32])),
                    )],
                    vec![],
                    vec![],
                )),
                3 => {
                    let mut m = resp;
                    m.answers.retain(|r| r.record_type() != RecordType::RRSIG);
                    m.authorities
                        .retain(|r| r.record_type() != RecordType::RRSIG);
                    Verdict::Reply(m)
                }
                4 => Verdict::Reply(forge::response(
                    q,
                    ResponseCode::ServFail,
                    vec![],
                    vec![],
                    vec![],
                )),
                _ => {
                    let mut m = resp;
                    m.metadata.id = m.metadata.id.wrapping_add(1);
                    Verdict::Reply(m)
                }
            };
        }
        Verdict::Reply(resp)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_random_loss_delay_and_forgery_50_in_flight() {
    let lookups: usize = std::env::var("DANE_SOAK_LOOKUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dns = dns::start(zones()).await;
    let proxy = ForgingProxy::start(dns.addr).await;
    proxy.set_rule(chaos());
    let settings = ServerSettings {
        servers: vec![proxy.addr],
        timeout: Duration::from_millis(400),
        attempts: 2,
        recursion_desired: false,
    };
    let source = ValidatingSource::new(
        &settings,
        &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
    )
    .unwrap();
    let limits = CacheLimits {
        max_entries: 64,
        // Short lifetimes so that the run keeps going to the network.
        max_ttl: Duration::from_millis(300),
        max_negative_ttl: Duration::from_millis(300),
        error_ttl: Duration::from_millis(100),
    };
    let resolver = Arc::new(TlsaResolver::with_cache_limits(source, limits));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(50));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let peak = Arc::new(std::sync::Mutex::new(dane::resolver::CacheStats::default()));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(lookups);
    for _ in 0..lookups {
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        let (resolver, ok, failed, peak) =
            (resolver.clone(), ok.clone(), failed.clone(), peak.clone());
        let pick = rand::thread_rng().gen_range(0..HOSTS * 4);
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let (name, truth) = host(pick);
            let got = resolver.lookup_tlsa(25, "tcp", &name).await;
            {
                let s = resolver.cache_stats();
                let mut p = peak.lock().unwrap();
                p.answers = p.answers.max(s.answers);
                p.pending = p.pending.max(s.pending);
                p.tlsa_hosts = p.tlsa_hosts.max(s.tlsa_hosts);
            }
            let right = match (&got, truth) {
                (Err(_), _) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                (Ok(TlsaLookup::Secure { records, .. }), Truth::Secure) => {
                    let r: Vec<String> = records.records().iter().map(|t| t.to_string()).collect();
                    r == [T311.to_string()]
                }
                (Ok(TlsaLookup::Insecure), Truth::Insecure) => true,
                (Ok(TlsaLookup::SecureAbsent), Truth::Absent) => true,
                _ => false,
            };
            if right {
                ok.fetch_add(1, Ordering::Relaxed);
                Ok(())
            } else {
                Err(format!("{name} ({truth:?}): {got:?}"))
            }
        }));
    }
    let mut wrong = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            wrong.push(e);
        }
    }
    let elapsed = started.elapsed();
    let peak = *peak.lock().unwrap();
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    eprintln!(
        "soak: {lookups} lookups in {elapsed:?}: {} right, {} failed (fail closed), {} wrong; \
         upstream queries {}; peak cache {peak:?}; peak RSS {rss}",
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        wrong.len(),
        proxy.queries()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(peak.answers <= 64 && peak.tlsa_hosts <= 64, "{peak:?}");
    assert!(peak.pending <= 50 * 2, "{peak:?}");
    let end = resolver.cache_stats();
    assert_eq!(end.pending, 0, "{end:?}");
    // Most lookups must still succeed under 25 % chaos (availability).
    assert!(ok.load(Ordering::Relaxed) * 2 > lookups, "too few answers");
}
