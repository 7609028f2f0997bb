//! Criterion benchmarks of TLSA lookups against the in-process DNSSEC-signed server
//! (tests/common/dns.rs) on 127.0.0.1, on one multi-thread tokio runtime kept for the run.
//!
//! - `resolver/cached_tlsa`: `TlsaResolver::lookup_tlsa` answered from its cache (the cost a
//!   mail server pays per delivery to a known MX host).
//! - `resolver/cold_tlsa_validated`: the first lookup of a fresh `TlsaResolver` over a fresh
//!   `ValidatingSource`: the TLSA query plus the whole chain of trust, validated: four
//!   queries (TLSA, DNSKEY of `secure.dane.test.`, its DS, DNSKEY of the `dane.test.`
//!   anchor). Building the resolver is not timed.
//! - `resolver/cold_tlsa_unvalidated`: the same TLSA query through a fresh non-validating
//!   hickory resolver, for comparison (one round trip, no DNSSEC).
//!
//! - `resolver/warm_zone_new_name_validated`: a validated lookup of a name never asked before
//!   in a zone whose DNSKEY and DS were validated by an earlier lookup (a fresh `TlsaResolver`
//!   over one shared `ValidatingSource`, whose key cache holds the zone's keys): one query.
//! - `…_1ms`: `warm_zone_new_name_validated` and `cold_tlsa_unvalidated` again with every
//!   server response delayed by 1 ms (a nearby remote resolver).
//! - `thousand_names_50_in_flight` (printed, not a criterion benchmark): 1,000 distinct names
//!   over 20 signed zones through one fresh `TlsaResolver<ValidatingSource>`, 50 lookups in
//!   flight: throughput and p50/p99 latency, on loopback and with the 1 ms delay.
//!
//! Cold lookups rotate over `_25._tcp.hN.secure.dane.test` so no two consecutive iterations
//! ask for the same name (each resolver is fresh anyway); the warm-zone benchmark asks each
//! name once (it warns if the names run out).

#[path = "../tests/common/dns.rs"]
mod dns;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dane::resolver::{ServerSettings, TlsaLookup, TlsaResolver, TrustAnchor, ValidatingSource};
use hickory_proto::rr::RecordType;

const T311: &str = "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";
/// Names with a TLSA RRset for the cold lookups.
const COLD_NAMES: usize = 20_000;
/// Zones and names per zone of the concurrent run.
const FLEET_ZONES: usize = 20;
const FLEET_NAMES: usize = 50;
const IN_FLIGHT: usize = 50;

fn zones() -> dns::ZoneSet {
    let mut z = dns::ZoneSet::new();
    z.add_str("secure", "mx", 300, RecordType::A, "127.0.0.1");
    z.add_str("secure", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    for n in 0..COLD_NAMES {
        let rdata = format!("3 1 1 {n:064x}");
        z.add_str(
            "secure",
            &format!("_25._tcp.h{n}"),
            300,
            RecordType::TLSA,
            &rdata,
        );
    }
    for zi in 0..FLEET_ZONES {
        let zone = format!("z{zi}");
        z.add_zone(&zone, dns::Signing::Ecdsa);
        for n in 0..FLEET_NAMES {
            z.add_str(
                &zone,
                &format!("_25._tcp.h{n}"),
                300,
                RecordType::TLSA,
                T311,
            );
        }
    }
    z
}

/// 1,000 names over 20 zones, `IN_FLIGHT` at a time, through one fresh resolver: prints the
/// throughput and the p50/p99 latency of one lookup.
fn fleet(rt: &tokio::runtime::Runtime, dns: &dns::TestDns, label: &str) {
    let r = std::sync::Arc::new(validating(dns));
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let start = Instant::now();
    let mut lat: Vec<Duration> = rt.block_on(async {
        let mut tasks = Vec::new();
        for n in 0..FLEET_NAMES {
            for zi in 0..FLEET_ZONES {
                let (r, sem) = (r.clone(), sem.clone());
                tasks.push(tokio::spawn(async move {
                    let _permit = sem.acquire().await.expect("semaphore");
                    let t = Instant::now();
                    let host = format!("h{n}.z{zi}.dane.test");
                    let l = r.lookup_tlsa(25, "tcp", &host).await.expect("lookup");
                    assert_secure(&l);
                    t.elapsed()
                }));
            }
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.push(t.await.expect("task"));
        }
        lat
    });
    let total = start.elapsed();
    lat.sort();
    let pct = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
    eprintln!(
        "resolver/thousand_names_50_in_flight{label}: {} lookups in {:.1} ms: {:.0} lookups/s, p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        total.as_secs_f64() * 1e3,
        lat.len() as f64 / total.as_secs_f64(),
        pct(50).as_secs_f64() * 1e3,
        pct(99).as_secs_f64() * 1e3,
    );
}

fn settings(dns: &dns::TestDns) -> ServerSettings {
    ServerSettings {
        servers: vec![dns.addr],
        timeout: Duration::from_secs(3),
        attempts: 2,
        recursion_desired: false,
    }
}

fn validating(dns: &dns::TestDns) -> TlsaResolver<ValidatingSource> {
    let anchor = TrustAnchor::DnskeyText(dns.anchor_zone_file.clone());
    TlsaResolver::new(ValidatingSource::new(&settings(dns), &anchor).expect("source"))
}

fn assert_secure(l: &TlsaLookup) {
    assert!(matches!(l, TlsaLookup::Secure { records, .. } if records.records().len() == 1));
}

fn resolver(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dns = rt.block_on(dns::start(zones()));
    let mut g = c.benchmark_group("resolver");

    let warm = validating(&dns);
    let first = rt.block_on(warm.lookup_tlsa(25, "tcp", "mx.secure.dane.test"));
    assert_secure(&first.expect("secure answer"));
    dns.clear_queries();
    g.bench_function("cached_tlsa", |b| {
        b.to_async(&rt).iter(|| async {
            warm.lookup_tlsa(25, "tcp", black_box("mx.secure.dane.test"))
                .await
                .unwrap()
        })
    });
    assert!(
        dns.queries().is_empty(),
        "cached lookups reached the server"
    );

    // What one cold validated lookup asks the server (printed once, for the record).
    dns.clear_queries();
    let r = validating(&dns);
    assert_secure(
        &rt.block_on(r.lookup_tlsa(25, "tcp", "mx.secure.dane.test"))
            .unwrap(),
    );
    let asked: Vec<String> = dns
        .queries()
        .iter()
        .map(|q| format!("{} {}", q.qtype, q.name))
        .collect();
    eprintln!("cold validated lookup, queries: {}", asked.join(", "));
    drop(r);

    let mut next = 0usize;
    let mut host = move || {
        next = (next + 1) % COLD_NAMES;
        format!("h{next}.secure.dane.test")
    };
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("cold_tlsa_validated", |b| {
        b.to_async(&rt).iter_batched(
            || (validating(&dns), host()),
            |(r, host)| async move {
                let l = r.lookup_tlsa(25, "tcp", &host).await.unwrap();
                assert_secure(&l);
                (r, l) // dropped after the clock stops
            },
            BatchSize::PerIteration,
        )
    });

    g.bench_function("cold_tlsa_unvalidated", |b| {
        b.to_async(&rt).iter_batched(
            || {
                (
                    dns.resolver(false),
                    dns::name(&format!("_25._tcp.{}", host())),
                )
            },
            |(r, owner)| async move {
                let l = r.lookup(owner, RecordType::TLSA).await.unwrap();
                assert_eq!(l.answers().len(), 1);
                (r, l)
            },
            BatchSize::PerIteration,
        )
    });

    // A new name in a zone whose keys the shared source validated a moment ago.
    let shared = ValidatingSource::new(
        &settings(&dns),
        &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
    )
    .expect("source");
    let first = rt.block_on(TlsaResolver::new(shared.clone()).lookup_tlsa(
        25,
        "tcp",
        "mx.secure.dane.test",
    ));
    assert_secure(&first.expect("secure answer"));
    let fresh_names = std::cell::Cell::new(0usize);
    let new_host = || {
        let n = fresh_names.get();
        fresh_names.set(n + 1);
        if n == COLD_NAMES {
            eprintln!("warning: warm-zone names repeat from here on");
        }
        format!("h{}.secure.dane.test", n % COLD_NAMES)
    };
    dns.clear_queries();
    let r = TlsaResolver::new(shared.clone());
    assert_secure(&rt.block_on(r.lookup_tlsa(25, "tcp", &new_host())).unwrap());
    eprintln!(
        "warm zone, new name, queries: {}",
        dns.queries()
            .iter()
            .map(|q| format!("{} {}", q.qtype, q.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for delay in [None, Some(Duration::from_millis(1))] {
        let suffix = if delay.is_some() { "_1ms" } else { "" };
        dns.set_delay(delay.unwrap_or_default());
        g.measurement_time(Duration::from_secs(if delay.is_some() { 8 } else { 4 }));
        g.sample_size(if delay.is_some() { 30 } else { 100 });
        g.bench_function(format!("warm_zone_new_name_validated{suffix}"), |b| {
            b.to_async(&rt).iter_batched(
                || (TlsaResolver::new(shared.clone()), new_host()),
                |(r, host)| async move {
                    let l = r.lookup_tlsa(25, "tcp", &host).await.unwrap();
                    assert_secure(&l);
                    (r, l)
                },
                BatchSize::PerIteration,
            )
        });
        if delay.is_some() {
            g.bench_function("cold_tlsa_unvalidated_1ms", |b| {
                b.to_async(&rt).iter_batched(
                    || {
                        (
                            dns.resolver(false),
                            dns::name(&format!("_25._tcp.{}", host())),
                        )
                    },
                    |(r, owner)| async move {
                        let l = r.lookup(owner, RecordType::TLSA).await.unwrap();
                        assert_eq!(l.answers().len(), 1);
                        (r, l)
                    },
                    BatchSize::PerIteration,
                )
            });
        }
    }
    g.finish();
    dns.set_delay(Duration::ZERO);
    fleet(&rt, &dns, "");
    dns.set_delay(Duration::from_millis(1));
    fleet(&rt, &dns, "_1ms");
    dns.set_delay(Duration::ZERO);
    drop(dns);
}

criterion_group!(benches, resolver);
criterion_main!(benches);
