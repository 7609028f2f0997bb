//! `verify` on arbitrary certificates and records must return, never panic.
//! Input: a chain and an RRset, each element prefixed by a 16-bit big-endian length; the
//! first byte picks the profile.
#![no_main]

use dane::pki_types::{CertificateDer, UnixTime};
use dane::{Policy, ReferenceName, Tlsa, TlsaSet};
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

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let items = split(rest);
    let (certs, records) = items.split_at(items.len() / 2);
    let chain: Vec<CertificateDer<'_>> = certs.iter().map(|c| CertificateDer::from(*c)).collect();
    let set = TlsaSet::new(records.iter().filter_map(|r| Tlsa::from_rdata(r).ok()));
    let Ok(name) = ReferenceName::new("mx.example.net") else { return };
    let policy = if mode & 1 == 0 { Policy::smtp(name) } else { Policy::generic(name) };
    let _ = dane::verify(&chain, &set, &policy, UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_000_000)));
    if let Some(first) = certs.first() {
        let _ = dane::verify_raw_public_key(first, &set, &policy);
    }
});
