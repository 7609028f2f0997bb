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
//! Cold lookups rotate over `_25._tcp.hN.secure.dane.test` so no two consecutive iterations
//! ask for the same name (each resolver is fresh anyway).

#[path = "../tests/common/dns.rs"]
mod dns;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dane::resolver::{ServerSettings, TlsaLookup, TlsaResolver, TrustAnchor, ValidatingSource};
use hickory_proto::rr::RecordType;

const T311: &str = "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";
/// Names with a TLSA RRset for the cold lookups.
const COLD_NAMES: usize = 1000;

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
    z
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
    g.finish();
    drop(dns);
}

criterion_group!(benches, resolver);
criterion_main!(benches);
