//! Wire RDATA: `Tlsa::from_rdata` must never panic, what parses must round-trip through
//! `to_rdata` and the presentation forms, and a `TlsaSet` built from records must keep them
//! in order with a consistent usability verdict.
//!
//! Input: the whole input is one RDATA; read again as a sequence of RDATAs, each prefixed by
//! a one-octet length, it is an RRset.
#![no_main]

use dane::{Matching, Policy, RecordStatus, ReferenceName, Tlsa, TlsaSet};
use libfuzzer_sys::fuzz_target;

fn check_one(rdata: &[u8]) -> Option<Tlsa> {
    let Ok(t) = Tlsa::from_rdata(rdata) else {
        assert!(rdata.len() < 3, "RDATA of {} octets refused", rdata.len());
        return None;
    };
    assert_eq!(t.to_rdata(), rdata);
    assert_eq!(
        [
            u8::from(t.usage()),
            t.selector().into(),
            t.matching().into()
        ],
        rdata[..3]
    );
    assert_eq!(t.data(), &rdata[3..]);
    assert_eq!(Tlsa::new(rdata[0], rdata[1], rdata[2], &rdata[3..]), t);
    assert_eq!(t.to_string().parse::<Tlsa>().ok().as_ref(), Some(&t));
    assert_eq!(format!("{t:#}").parse::<Tlsa>().ok().as_ref(), Some(&t));
    Some(t)
}

fn check_set(set: &TlsaSet, records: &[Tlsa], policy: &Policy) {
    assert_eq!(set.records(), records);
    assert_eq!(set.len(), records.len());
    assert!(set.status(records.len()).is_none());
    let usable: Vec<(usize, &Tlsa)> = set.usable(policy).collect();
    assert_eq!(set.has_usable(policy), !usable.is_empty());
    for &(i, r) in &usable {
        assert_eq!(set.status(i), Some(RecordStatus::Usable));
        assert_eq!(&set.records()[i], r);
        assert!(policy.allows_usage(r.usage()));
        // Digest agility (RFC 7671 §9): one digest per (usage, selector).
        if r.matching() != Matching::Full {
            assert!(usable.iter().all(|&(_, o)| {
                o.usage() != r.usage()
                    || o.selector() != r.selector()
                    || o.matching() == Matching::Full
                    || o.matching() == r.matching()
            }));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check_one(data);

    let mut records = Vec::new();
    let mut rest = data;
    while let [n, tail @ ..] = rest {
        let (item, tail) = tail.split_at(usize::from(*n).min(tail.len()));
        records.extend(check_one(item));
        rest = tail;
    }
    let Ok(name) = ReferenceName::new("mx.example.net") else {
        return;
    };
    let smtp = Policy::smtp(name.clone());
    let generic = Policy::generic(name);
    let set = TlsaSet::new(records.iter().cloned());
    check_set(&set, &records, &smtp);
    check_set(&set, &records, &generic);
    let sha256_only = TlsaSet::with_digest_order(records.iter().cloned(), &[Matching::Sha256]);
    check_set(&sha256_only, &records, &generic);
    assert!(
        sha256_only
            .usable(&generic)
            .all(|(_, r)| r.matching() != Matching::Sha512)
    );
    assert_eq!(set, TlsaSet::from_iter(records.iter().cloned()));
});
