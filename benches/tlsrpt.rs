//! Criterion benchmarks of the TLS-RPT aggregator (feature `tlsrpt`).
//!
//! - `tlsrpt/record_uncontended`: one thread recording session outcomes.
//! - `tlsrpt/record_contended`: 8 threads recording into one shared `Aggregator` at once.
//!
//! Both report the time per recorded event (for the contended case: wall time of the batch
//! divided by all events of the 8 threads). The outcomes are built before the clock starts;
//! the mix is 4 DANE policy domains, 1 session in 10 a failure, failures spread over 3
//! receiving addresses.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dane::tlsrpt::{Aggregator, DateTime, Failure, PolicyDetails, SessionOutcome};
use dane::{Error, ReferenceName, Tlsa, TlsaSet};

const THREADS: u64 = 8;

fn outcomes(n: u64, seed: u64) -> Vec<SessionOutcome> {
    let records = TlsaSet::new([
        "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"
            .parse::<Tlsa>()
            .expect("record"),
    ]);
    let policies: Vec<PolicyDetails> = (0..4)
        .map(|i| {
            let host = ReferenceName::new(&format!("mx{i}.example.net")).expect("name");
            PolicyDetails::tlsa(&host, &records)
        })
        .collect();
    (0..n)
        .map(|i| {
            let k = i.wrapping_add(seed);
            let policy = policies[(k % 4) as usize].clone();
            if k % 10 == 0 {
                let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, (k % 3) as u8));
                let f = Failure::from_error(&Error::NoMatch).with_receiving_ip(ip);
                SessionOutcome::failed(policy, f)
            } else {
                SessionOutcome::success(policy)
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let now = DateTime::from_unix(1_459_468_800);
    let mut g = c.benchmark_group("tlsrpt");
    g.throughput(Throughput::Elements(1));
    g.bench_function("record_uncontended", |b| {
        b.iter_custom(|iters| {
            let agg = Aggregator::new("bench", "bench@example.net");
            let batch = outcomes(iters, 0);
            let start = Instant::now();
            for o in batch {
                agg.record_at(black_box(o), now);
            }
            start.elapsed()
        });
    });
    g.bench_function("record_contended", |b| {
        b.iter_custom(|iters| {
            let per_thread = iters.div_ceil(THREADS);
            let agg = Arc::new(Aggregator::new("bench", "bench@example.net"));
            let barrier = Arc::new(Barrier::new(THREADS as usize + 1));
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (agg, barrier) = (Arc::clone(&agg), Arc::clone(&barrier));
                    let batch = outcomes(per_thread, t);
                    std::thread::spawn(move || {
                        barrier.wait();
                        for o in batch {
                            agg.record_at(black_box(o), now);
                        }
                    })
                })
                .collect();
            barrier.wait();
            let start = Instant::now();
            for t in threads {
                t.join().expect("thread");
            }
            let elapsed = start.elapsed();
            // Per event: the batch ran per_thread × THREADS events.
            let events = per_thread * THREADS;
            Duration::from_secs_f64(elapsed.as_secs_f64() * iters as f64 / events as f64)
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
