//! `verify` on arbitrary chains and RRsets must return, never panic, and a success must
//! name a record of the set.
//!
//! Input: one mode octet, then items, each prefixed by a 16-bit big-endian length. The high
//! four bits of the mode are the number of certificates (the first items, leaf first); the
//! other items are records: wire RDATA, or, for an item `fe i u s m`, the record
//! `Tlsa::from_certificate(chain[i % n], u, s, m)`, so that records matching the chain (and
//! with them the DANE-TA and PKIX paths) are reached. Mode bits: 0 generic profile (else
//! SMTP), 1 DANE-EE name checks, 2 the last certificate is a PKIX root, 3 a second
//! reference name.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use dane::pki_types::{CertificateDer, UnixTime};
use dane::{CertUsage, PkixRoots, Policy, ReferenceName, Tlsa, TlsaSet};
use libfuzzer_sys::fuzz_target;

fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let [a, b, rest @ ..] = data {
        let n = usize::from(u16::from_be_bytes([*a, *b])).min(rest.len());
        let (item, tail) = rest.split_at(n);
        out.push(item);
        data = tail;
    }
    out
}

fn record(item: &[u8], certs: &[&[u8]]) -> Option<Tlsa> {
    match item {
        [0xfe, i, u, s, m] if !certs.is_empty() => {
            let cert = certs[usize::from(*i) % certs.len()];
            Tlsa::from_certificate(cert, (*u).into(), (*s).into(), (*m).into()).ok()
        }
        _ => Tlsa::from_rdata(item).ok(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let items = split(rest);
    let (certs, records) = items.split_at(usize::from(mode >> 4).min(items.len()));
    let chain: Vec<CertificateDer<'_>> = certs.iter().map(|c| CertificateDer::from(*c)).collect();
    let set = TlsaSet::new(records.iter().filter_map(|r| record(r, certs)));

    let Ok(name) = ReferenceName::new("mx.example.net") else {
        return;
    };
    let mut policy = if mode & 1 == 0 {
        Policy::smtp(name)
    } else {
        Policy::generic(name)
    };
    if mode & 2 != 0 {
        policy = policy.with_dane_ee_name_checks(true);
    }
    if mode & 4 != 0
        && let Some(root) = certs.last()
        && let Ok(roots) = PkixRoots::from_certificates([CertificateDer::from(root.to_vec())])
    {
        policy = policy.with_pkix_roots(Arc::new(roots));
    }
    if mode & 8 != 0
        && let Ok(next_hop) = ReferenceName::new("example.net")
    {
        policy = policy.with_reference_name(next_hop);
    }

    let now = UnixTime::since_unix_epoch(Duration::from_secs(1_830_000_000));
    match dane::verify(&chain, &set, &policy, now) {
        Ok(v) => {
            assert_eq!(set.records().get(v.record_index()), Some(v.record()));
            assert!(set.usable(&policy).any(|(i, _)| i == v.record_index()));
            let _ = v.to_string();
            if v.usage() == CertUsage::DaneEe {
                assert_eq!(v.depth(), 0);
                assert!(!v.anchor_from_record());
            }
            // Only an anchor the server did not send (from a record, or a PKIX root) is
            // counted as appended to the chain.
            assert!(v.depth() <= chain.len(), "{v}: depth beyond the chain");
            if v.usage() == CertUsage::DaneTa && !v.anchor_from_record() {
                assert!(v.depth() < chain.len(), "{v}: depth beyond the chain");
            }
        }
        Err(e) => {
            let _ = (e.to_string(), e.tls_rpt_result());
        }
    }
    if let Some(first) = certs.first() {
        let _ = dane::verify_raw_public_key(first, &set, &policy);
    }
});
