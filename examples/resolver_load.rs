//! Load test of the TLSA resolver against real DNS servers: the interop lab's NSD
//! (authoritative) and Unbound (validating recursive), see `tests/lab/README.md`.
//!
//! 1,000 distinct TLSA names (`_25._tcp.h0` .. `h49` in each of the lab's 20 signed load
//! zones `load0.dane.test` .. `load19.dane.test`), 50 lookups in flight, through one
//! `TlsaResolver`. Each mode runs in its own process (so its peak RSS is its own) and prints
//! two rounds: `cold` (fresh resolver and source: the trust chain of every zone is fetched
//! and validated on the way) and `warm` (a fresh `TlsaResolver`, so no answer is cached,
//! over the same source: the keys are known, every name is asked upstream again).
//!
//! Modes:
//! - `unvalidated`: the same stack without DNSSEC (a [`TrustedAdSource`] pointed at NSD,
//!   which never sets AD: every answer is "insecure"), one query per lookup: the floor.
//! - `validating`: [`ValidatingSource`] against NSD from the lab's DS anchor (local
//!   validation, the mode for a host without a trusted local resolver).
//! - `trusted-ad`: [`TrustedAdSource`] against the lab's Unbound (the mode for a host with
//!   a validating resolver on loopback, as Postfix uses it); `warm` is Unbound's cache.
//!
//! ```text
//! bash tests/lab/lab.sh up && set -a && . "$LAB_DIR/env" && set +a
//! cargo run --release --features resolver --example resolver_load [-- MODE...]
//! ```
//! Without `LAB_AUTH`, `LAB_RESOLVER` and `LAB_ANCHOR_DS` in the environment it says so
//! and exits with status 2.

use std::net::SocketAddr;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dane::resolver::{
    DnsSource, ServerSettings, TlsaLookup, TlsaResolver, TrustAnchor, TrustedAdSource,
    ValidatingSource,
};

const ZONES: usize = 20;
const NAMES: usize = 50;
const IN_FLIGHT: usize = 50;
const MODES: [&str; 3] = ["unvalidated", "validating", "trusted-ad"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, mode] = args.as_slice()
        && flag == "--child"
    {
        return child(mode);
    }
    let modes: Vec<&str> = if args.is_empty() {
        MODES.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    if let Some(bad) = modes.iter().find(|m| !MODES.contains(m)) {
        eprintln!(
            "resolver_load: unknown mode {bad:?} (modes: {})",
            MODES.join(", ")
        );
        return ExitCode::from(2);
    }
    if lab().is_none() {
        eprintln!(
            "resolver_load: the DNSSEC lab is not configured (LAB_AUTH, LAB_RESOLVER, LAB_ANCHOR_DS): \
             run tests/lab/lab.sh up and export its env file"
        );
        return ExitCode::from(2);
    }
    println!(
        "{} names over {ZONES} zones, {IN_FLIGHT} in flight, one process per mode",
        ZONES * NAMES
    );
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("resolver_load: {e}");
            return ExitCode::FAILURE;
        }
    };
    for mode in modes {
        match Command::new(&exe).args(["--child", mode]).status() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("resolver_load: mode {mode} failed ({s})");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("resolver_load: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

struct Lab {
    auth: SocketAddr,
    resolver: SocketAddr,
    ds: String,
}

fn lab() -> Option<Lab> {
    let var = |k: &str| std::env::var(k).ok();
    Some(Lab {
        auth: var("LAB_AUTH")?.parse().ok()?,
        resolver: var("LAB_RESOLVER")?.parse().ok()?,
        ds: std::fs::read_to_string(var("LAB_ANCHOR_DS")?).ok()?,
    })
}

fn settings(server: SocketAddr, recursion_desired: bool) -> ServerSettings {
    ServerSettings {
        servers: vec![server],
        timeout: Duration::from_secs(3),
        attempts: 2,
        recursion_desired,
    }
}

fn child(mode: &str) -> ExitCode {
    let Some(lab) = lab() else {
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("resolver_load: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match mode {
            "unvalidated" => {
                let source =
                    TrustedAdSource::new(settings(lab.auth, false)).map_err(|e| e.to_string())?;
                rounds(mode, source, false).await
            }
            "validating" => {
                let source = ValidatingSource::connect(
                    &settings(lab.auth, false),
                    &TrustAnchor::DsText(lab.ds.clone()),
                )
                .await
                .map_err(|e| e.to_string())?;
                rounds(mode, source, true).await
            }
            _ => {
                let source = TrustedAdSource::connect(settings(lab.resolver, true), "dane.test")
                    .await
                    .map_err(|e| e.to_string())?;
                rounds(mode, source, true).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("resolver_load: {mode}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn rounds<S>(mode: &str, source: S, secure: bool) -> Result<(), String>
where
    S: DnsSource + Clone + Send + Sync + 'static,
{
    for round in ["cold", "warm"] {
        let resolver = Arc::new(TlsaResolver::new(source.clone()));
        let sem = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(ZONES * NAMES);
        for n in 0..NAMES {
            for z in 0..ZONES {
                let (resolver, sem) = (resolver.clone(), sem.clone());
                tasks.push(tokio::spawn(async move {
                    let _permit = sem.acquire().await.map_err(|e| e.to_string())?;
                    let t = Instant::now();
                    let host = format!("h{n}.load{z}.dane.test");
                    let lookup = resolver
                        .lookup_tlsa(25, "tcp", &host)
                        .await
                        .map_err(|e| format!("{host}: {e}"))?;
                    let ok = match &lookup {
                        TlsaLookup::Secure { records, .. } => {
                            secure && records.records().len() == 1
                        }
                        TlsaLookup::Insecure => !secure,
                        _ => false,
                    };
                    if !ok {
                        return Err(format!("{host}: unexpected {}", lookup.status()));
                    }
                    Ok::<Duration, String>(t.elapsed())
                }));
            }
        }
        let mut latencies = Vec::with_capacity(tasks.len());
        for task in tasks {
            latencies.push(task.await.map_err(|e| e.to_string())??);
        }
        let total = start.elapsed();
        latencies.sort();
        let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
        println!(
            "{mode:>11} {round}: {:>6.0} lookups/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} lookups in {:.0} ms)  peak RSS {}",
            latencies.len() as f64 / total.as_secs_f64(),
            pct(50).as_secs_f64() * 1e3,
            pct(99).as_secs_f64() * 1e3,
            latencies.len(),
            total.as_secs_f64() * 1e3,
            peak_rss(),
        );
    }
    Ok(())
}

/// The process's peak resident set size (`VmHWM`), where the platform reports it.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "n/a".into())
}
