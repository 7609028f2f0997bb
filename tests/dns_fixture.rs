//! Tests of the in-process DNSSEC test server (`tests/common/dns.rs`): hickory-resolver with
//! local validation against the fixture's trust anchor must reach the RFC 4035 verdict in every
//! scenario, and the wire behaviour (AA, EDNS/DO, TC, TCP) must be right.
#![cfg(feature = "resolver")]

mod common;

use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::Arc;

use common::dns::{self, TestDns, ZoneSet};
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::dnssec::{Algorithm, DigestType, Proof, PublicKey, TrustAnchors};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use hickory_proto::rr::rdata::{A, CNAME, MX, TLSA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::TokioResolver;
use hickory_resolver::net::{DnsError, NetError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const LOCALHOST: RData = RData::A(A(Ipv4Addr::LOCALHOST));

fn tlsa(usage: CertUsage, selector: Selector, matching: Matching, fill: u8) -> RData {
    let len = if matching == Matching::Sha512 { 64 } else { 32 };
    RData::TLSA(TLSA::new(usage, selector, matching, vec![fill; len]))
}

fn tlsa311(fill: u8) -> RData {
    tlsa(CertUsage::DaneEe, Selector::Spki, Matching::Sha256, fill)
}

fn cname(target: &str) -> RData {
    RData::CNAME(CNAME(dns::name(target)))
}

/// Content modelled on the shared DNSSEC lab (scenarios 1-6 and 8).
fn zones() -> ZoneSet {
    let mut z = ZoneSet::new();
    z.add(
        "secure",
        "@",
        300,
        RData::MX(MX::new(10, dns::name("mx.secure.dane.test."))),
    )
    .add("secure", "mx", 300, LOCALHOST)
    .add("secure", "_25._tcp.mx", 300, tlsa311(0x11))
    .add(
        "secure",
        "_25._tcp.mx",
        300,
        tlsa(CertUsage::DaneEe, Selector::Spki, Matching::Sha512, 0x12),
    )
    .add("secure", "notlsa", 300, LOCALHOST)
    .add(
        "secure",
        "_25._tcp.nodata",
        300,
        RData::TXT(TXT::new(vec!["no TLSA".into()])),
    )
    .add("secure", "mx-cname", 300, cname("mx.secure.dane.test."))
    .add(
        "secure",
        "mx-cname-ins",
        300,
        cname("mx.insecure.dane.test."),
    )
    .add(
        "secure",
        "_25._tcp.mx-tlsacname",
        300,
        cname("_25._tcp.mx.secure.dane.test."),
    )
    .add(
        "secure",
        "_25._tcp.mx-tlsacname-ins",
        300,
        cname("_25._tcp.mx.insecure.dane.test."),
    );
    // 20 × 200 bytes of TXT: larger than any UDP payload size, so only TCP can carry it.
    for i in 0..20u8 {
        let text = format!("{i:02}{}", "x".repeat(198));
        z.add("secure", "big", 300, RData::TXT(TXT::new(vec![text])));
    }
    z.add_str(
        "secure.dane.test.",
        "_443._tcp.www.secure.dane.test.",
        300,
        RecordType::TLSA,
        "2 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    );
    for zone in [
        "rsa",
        "insecure",
        "bogus",
        "expired",
        "badds",
        "unsupported",
    ] {
        z.add(
            zone,
            "@",
            300,
            RData::MX(MX::new(10, dns::name(&format!("mx.{zone}.dane.test.")))),
        )
        .add(zone, "mx", 300, LOCALHOST)
        .add(zone, "_25._tcp.mx", 300, tlsa311(0x33));
    }
    z.add(
        "dane.test",
        "wild",
        300,
        RData::MX(MX::new(10, dns::name("mx.wild.dane.test."))),
    )
    .add("dane.test", "*.wild", 300, LOCALHOST)
    .add("dane.test", "*.wild", 300, tlsa311(0x44));
    z
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Secure,
    Insecure,
    Bogus,
    /// Some record has another proof (Indeterminate), or the set is empty.
    Mixed,
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Records (RRSIGs left out) and the verdict over all of them.
    Answer(Verdict, Vec<Record>),
    /// NOERROR without the type / NXDOMAIN: the verdict over the authority records and the SOA.
    NoData(Verdict),
    NxDomain(Verdict),
    /// `Err(NetError::Dns(DnsError::DnssecBogus))`.
    Bogus,
    Error(String),
}

fn verdict<'a>(records: impl IntoIterator<Item = &'a Record>) -> Verdict {
    let proofs: Vec<Proof> = records
        .into_iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
        .map(|r| r.proof)
        .collect();
    if proofs.is_empty() {
        Verdict::Mixed
    } else if proofs.contains(&Proof::Bogus) {
        Verdict::Bogus
    } else if proofs.contains(&Proof::Insecure) {
        Verdict::Insecure
    } else if proofs.iter().all(|p| *p == Proof::Secure) {
        Verdict::Secure
    } else {
        Verdict::Mixed
    }
}

async fn lookup(resolver: &TokioResolver, name: &str, rtype: RecordType) -> Outcome {
    match resolver.lookup(dns::name(name), rtype).await {
        Ok(lookup) => {
            let records: Vec<Record> = lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() != RecordType::RRSIG)
                .cloned()
                .collect();
            Outcome::Answer(verdict(&records), records)
        }
        Err(NetError::Dns(DnsError::NoRecordsFound(no))) => {
            let soa = no.soa.map(|s| s.into_record_of_rdata());
            let mut records: Vec<Record> = no
                .authorities
                .iter()
                .flat_map(|a| a.iter())
                .cloned()
                .collect();
            if let Some(soa) = soa
                && !records.contains(&soa)
            {
                records.push(soa);
            }
            let v = verdict(&records);
            match no.response_code {
                ResponseCode::NXDomain => Outcome::NxDomain(v),
                ResponseCode::NoError => Outcome::NoData(v),
                rc => Outcome::Error(format!("NoRecordsFound with {rc}")),
            }
        }
        Err(NetError::Dns(DnsError::DnssecBogus)) => Outcome::Bogus,
        Err(e) => Outcome::Error(e.to_string()),
    }
}

fn types(outcome: &Outcome) -> Vec<RecordType> {
    match outcome {
        Outcome::Answer(_, records) => {
            let mut t: Vec<RecordType> = records.iter().map(Record::record_type).collect();
            t.sort_by_key(|t| u16::from(*t));
            t
        }
        _ => Vec::new(),
    }
}

#[track_caller]
fn expect_answer(outcome: &Outcome, want: Verdict, want_types: &[RecordType]) {
    match outcome {
        Outcome::Answer(v, _) if *v == want => {
            let mut w = want_types.to_vec();
            w.sort_by_key(|t| u16::from(*t));
            assert_eq!(types(outcome), w, "{outcome:?}");
        }
        _ => panic!("want an answer, {want:?}; got {outcome:?}"),
    }
}

async fn server() -> TestDns {
    dns::start(zones()).await
}

#[tokio::test]
async fn secure_alg13_and_alg8() {
    let dns = server().await;
    let r = dns.resolver(true);
    let o = lookup(&r, "_25._tcp.mx.secure.dane.test.", RecordType::TLSA).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::TLSA, RecordType::TLSA]);
    let o = lookup(&r, "_443._tcp.www.secure.dane.test.", RecordType::TLSA).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::TLSA]);
    let o = lookup(&r, "secure.dane.test.", RecordType::MX).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::MX]);
    let o = lookup(&r, "mx.secure.dane.test.", RecordType::A).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::A]);

    let o = lookup(&r, "_25._tcp.mx.rsa.dane.test.", RecordType::TLSA).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::TLSA]);
    let o = lookup(&r, "mx.rsa.dane.test.", RecordType::A).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::A]);
    // The child's DNSKEY and DS come from the right zones.
    let o = lookup(&r, "rsa.dane.test.", RecordType::DNSKEY).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::DNSKEY]);
    let o = lookup(&r, "secure.dane.test.", RecordType::DS).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::DS]);
}

#[tokio::test]
async fn authenticated_denial() {
    let dns = server().await;
    let r = dns.resolver(true);
    // NODATA: the name has a TXT only.
    let o = lookup(&r, "_25._tcp.nodata.secure.dane.test.", RecordType::TLSA).await;
    assert_eq!(o, Outcome::NoData(Verdict::Secure));
    // NODATA at an empty non-terminal.
    let o = lookup(&r, "_tcp.mx.secure.dane.test.", RecordType::TLSA).await;
    assert_eq!(o, Outcome::NoData(Verdict::Secure));
    // NXDOMAIN: the host exists, the TLSA name does not.
    let o = lookup(&r, "_25._tcp.notlsa.secure.dane.test.", RecordType::TLSA).await;
    assert_eq!(o, Outcome::NxDomain(Verdict::Secure));
    let o = lookup(&r, "nothing.secure.dane.test.", RecordType::A).await;
    assert_eq!(o, Outcome::NxDomain(Verdict::Secure));
    // In the alg-8 zone too.
    let o = lookup(&r, "_25._tcp.other.rsa.dane.test.", RecordType::TLSA).await;
    assert_eq!(o, Outcome::NxDomain(Verdict::Secure));
    // DS absence for the insecure delegation, proven by the parent.
    let o = lookup(&r, "insecure.dane.test.", RecordType::DS).await;
    assert_eq!(o, Outcome::NoData(Verdict::Secure));
    // NXDOMAIN in the apex zone.
    let o = lookup(&r, "nonexistent.dane.test.", RecordType::TLSA).await;
    assert_eq!(o, Outcome::NxDomain(Verdict::Secure));
}

#[tokio::test]
async fn insecure_delegation() {
    let dns = server().await;
    let r = dns.resolver(true);
    let o = lookup(&r, "_25._tcp.mx.insecure.dane.test.", RecordType::TLSA).await;
    expect_answer(&o, Verdict::Insecure, &[RecordType::TLSA]);
    let o = lookup(&r, "insecure.dane.test.", RecordType::MX).await;
    expect_answer(&o, Verdict::Insecure, &[RecordType::MX]);
    let o = lookup(&r, "mx.insecure.dane.test.", RecordType::A).await;
    expect_answer(&o, Verdict::Insecure, &[RecordType::A]);
    let o = lookup(&r, "nonexistent.insecure.dane.test.", RecordType::TLSA).await;
    assert_eq!(o, Outcome::NxDomain(Verdict::Insecure));
}

#[tokio::test]
async fn bogus_expired_and_bad_ds() {
    let dns = server().await;
    let r = dns.resolver(true);
    let o = lookup(&r, "_25._tcp.mx.bogus.dane.test.", RecordType::TLSA).await;
    assert_eq!(o, Outcome::Bogus);
    // Only the TLSA RRSIG is broken.
    let o = lookup(&r, "mx.bogus.dane.test.", RecordType::A).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::A]);

    for name in [
        "_25._tcp.mx.expired.dane.test.",
        "_25._tcp.mx.badds.dane.test.",
    ] {
        let o = lookup(&r, name, RecordType::TLSA).await;
        assert_eq!(o, Outcome::Bogus, "{name}");
    }
    for name in ["mx.expired.dane.test.", "mx.badds.dane.test."] {
        let o = lookup(&r, name, RecordType::A).await;
        assert_eq!(o, Outcome::Bogus, "{name}");
    }

    // Without validation the same data comes back (it is the signatures that are wrong).
    let plain = dns.resolver(false);
    for zone in ["bogus", "expired", "badds"] {
        let o = lookup(
            &plain,
            &format!("_25._tcp.mx.{zone}.dane.test."),
            RecordType::TLSA,
        )
        .await;
        match o {
            Outcome::Answer(Verdict::Mixed, records) => {
                assert_eq!(records.len(), 1);
                assert_eq!(records[0].data, tlsa311(0x33));
                assert_eq!(records[0].proof, Proof::Indeterminate);
            }
            o => panic!("{zone}: {o:?}"),
        }
    }
}

#[tokio::test]
async fn unsupported_algorithm_is_insecure_rfc4035_5_2() {
    // Precondition: hickory 0.26.3 has no ED448, with either crypto backend.
    let alg = Algorithm::from_u8(dns::UNSUPPORTED_ALGORITHM);
    assert_eq!(alg, Algorithm::Unknown(16));
    assert!(!alg.is_supported());

    let dns = server().await;
    let r = dns.resolver(true);
    // The parent's DS RRset is secure and lists algorithm 16 only ...
    let o = lookup(&r, "unsupported.dane.test.", RecordType::DS).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::DS]);
    // ... so the zone is insecure, not bogus (RFC 4035 §5.2), although no signature in it
    // verifies: hickory-net 0.26.3 (`DnssecDnsHandle::fetch_ds_records`) returns Insecure
    // (`UnknownKeyAlgorithm`) when every DS has an algorithm that `is_supported()` rejects.
    // (A manual control, the same random bytes labelled algorithm 13, makes the TLSA and A
    // lookups below Bogus.)
    let o = lookup(&r, "_25._tcp.mx.unsupported.dane.test.", RecordType::TLSA).await;
    expect_answer(&o, Verdict::Insecure, &[RecordType::TLSA]);
    let o = lookup(&r, "mx.unsupported.dane.test.", RecordType::A).await;
    expect_answer(&o, Verdict::Insecure, &[RecordType::A]);
    let o = lookup(&r, "unsupported.dane.test.", RecordType::MX).await;
    expect_answer(&o, Verdict::Insecure, &[RecordType::MX]);
    let o = lookup(&r, "unsupported.dane.test.", RecordType::DNSKEY).await;
    expect_answer(&o, Verdict::Insecure, &[RecordType::DNSKEY]);
    let o = lookup(&r, "nonexistent.unsupported.dane.test.", RecordType::TLSA).await;
    assert_eq!(o, Outcome::NxDomain(Verdict::Insecure));

    // On the wire: only the algorithm makes the zone unusable. The DS matches the DNSKEY
    // (key tag, algorithm, SHA-256 digest); the RRSIGs name that key.
    let apex = dns::name("unsupported.dane.test.");
    let resp = query_udp(
        &dns,
        "unsupported.dane.test.",
        RecordType::DNSKEY,
        Some(1232),
        true,
    )
    .await;
    let keys: Vec<_> = resp
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    assert_eq!(key.flags(), 257);
    assert_eq!(key.public_key().algorithm(), alg);
    assert_eq!(key.public_key().public_bytes().len(), 57, "ED448 key size");
    let tag = key.calculate_key_tag().unwrap();
    let resp = query_udp(
        &dns,
        "unsupported.dane.test.",
        RecordType::DS,
        Some(1232),
        true,
    )
    .await;
    let ds: Vec<_> = resp
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(d)) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(
        (ds[0].key_tag(), ds[0].algorithm(), ds[0].digest_type()),
        (tag, alg, DigestType::SHA256)
    );
    let digest = key.to_digest(&apex, DigestType::SHA256).unwrap();
    assert_eq!(ds[0].digest(), digest.as_ref());
    assert!(ds[0].covers(&apex, key).unwrap());
    let resp = query_udp(
        &dns,
        "mx.unsupported.dane.test.",
        RecordType::A,
        Some(1232),
        true,
    )
    .await;
    let sigs: Vec<_> = resp
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(sigs.len(), 1, "{sigs:?}");
    let input = sigs[0].input();
    assert_eq!(
        (input.algorithm, input.key_tag, &input.signer_name),
        (alg, tag, &apex)
    );
    assert_eq!(sigs[0].sig().len(), 114, "ED448 signature size");
}

#[tokio::test]
async fn cnames() {
    let dns = server().await;
    let r = dns.resolver(true);
    let o = lookup(&r, "mx-cname.secure.dane.test.", RecordType::A).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::A, RecordType::CNAME]);
    let o = lookup(
        &r,
        "_25._tcp.mx-tlsacname.secure.dane.test.",
        RecordType::TLSA,
    )
    .await;
    expect_answer(
        &o,
        Verdict::Secure,
        &[RecordType::CNAME, RecordType::TLSA, RecordType::TLSA],
    );
    // The CNAME is secure, the target in the insecure zone is not.
    for (name, t) in [
        ("mx-cname-ins.secure.dane.test.", RecordType::A),
        (
            "_25._tcp.mx-tlsacname-ins.secure.dane.test.",
            RecordType::TLSA,
        ),
    ] {
        let o = lookup(&r, name, t).await;
        expect_answer(&o, Verdict::Insecure, &[t, RecordType::CNAME]);
        let Outcome::Answer(_, records) = &o else {
            unreachable!()
        };
        for rec in records {
            let want = if rec.record_type() == RecordType::CNAME {
                Proof::Secure
            } else {
                Proof::Insecure
            };
            assert_eq!(rec.proof, want, "{rec}");
        }
    }
    // The alias itself has no TLSA.
    let o = lookup(&r, "_25._tcp.mx-cname.secure.dane.test.", RecordType::TLSA).await;
    assert_eq!(o, Outcome::NxDomain(Verdict::Secure));
}

#[tokio::test]
async fn wildcards() {
    let dns = server().await;
    let r = dns.resolver(true);
    let o = lookup(&r, "_25._tcp.mx.wild.dane.test.", RecordType::TLSA).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::TLSA]);
    let Outcome::Answer(_, records) = &o else {
        unreachable!()
    };
    assert_eq!(records[0].name, dns::name("_25._tcp.mx.wild.dane.test."));
    let o = lookup(&r, "x.mx.wild.dane.test.", RecordType::A).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::A]);
    let o = lookup(&r, "wild.dane.test.", RecordType::MX).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::MX]);
    // Wildcard NODATA: the wildcard has A and TLSA, not AAAA.
    let o = lookup(&r, "_25._tcp.mx.wild.dane.test.", RecordType::AAAA).await;
    assert_eq!(o, Outcome::NoData(Verdict::Secure));
    // hickory 0.26.3 bug (RUST-STACK.md, "Mismatches" 1): an NSEC wildcard expansion one label
    // below the wildcard is called Bogus. The answer is the RFC 4035 one (checked below on the
    // wire); this assertion flips when hickory is fixed.
    let o = lookup(&r, "mx.wild.dane.test.", RecordType::A).await;
    assert_eq!(
        o,
        Outcome::Bogus,
        "hickory fixed its NSEC wildcard check? {o:?}"
    );

    let resp = query_udp(&dns, "mx.wild.dane.test.", RecordType::A, Some(1232), true).await;
    assert_eq!(resp.metadata.response_code, ResponseCode::NoError);
    let rrsig = resp
        .answers
        .iter()
        .find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) => Some(s.input().num_labels),
            _ => None,
        })
        .expect("RRSIG");
    assert_eq!(rrsig, 3, "labels field of the wildcard *.wild.dane.test.");
    let nsec: Vec<_> = resp
        .authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) => {
                Some((r.name.clone(), n.next_domain_name().clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(nsec.len(), 1, "{nsec:?}");
    let (owner, next) = &nsec[0];
    let q = dns::name("mx.wild.dane.test.");
    // The covering NSEC (here the last of the zone, whose next name wraps to the apex).
    assert!(
        *owner < q && (q < *next || next <= owner),
        "NSEC {owner} -> {next} covers {q}"
    );
}

#[tokio::test]
async fn truncation_and_tcp() {
    let dns = server().await;
    // Over UDP the TXT RRset does not fit: TC=1, no records.
    let resp = query_udp(
        &dns,
        "big.secure.dane.test.",
        RecordType::TXT,
        Some(1232),
        true,
    )
    .await;
    assert!(resp.metadata.truncation);
    assert!(resp.answers.is_empty());
    assert_eq!(resp.edns.as_ref().map(|e| e.flags().dnssec_ok), Some(true));
    // Without EDNS the limit is 512 bytes.
    let resp = query_udp(&dns, "secure.dane.test.", RecordType::DNSKEY, None, false).await;
    assert!(!resp.metadata.truncation);
    assert!(resp.edns.is_none());
    // Over TCP it does.
    let resp = query_tcp(&dns, "big.secure.dane.test.", RecordType::TXT, true).await;
    assert!(!resp.metadata.truncation);
    assert_eq!(
        resp.answers
            .iter()
            .filter(|r| r.record_type() == RecordType::TXT)
            .count(),
        20
    );
    assert_eq!(
        resp.answers
            .iter()
            .filter(|r| r.record_type() == RecordType::RRSIG)
            .count(),
        1
    );
    // The resolver retries over TCP and validates.
    let r = dns.resolver(true);
    let o = lookup(&r, "big.secure.dane.test.", RecordType::TXT).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::TXT; 20]);
    assert!(
        dns.queries()
            .iter()
            .any(|q| q.tcp && q.name == dns::name("big.secure.dane.test."))
    );
}

#[tokio::test]
async fn wire_behaviour() {
    let dns = server().await;
    // DO=1: AA, OPT with DO, RRSIG.
    let resp = query_udp(
        &dns,
        "_25._tcp.mx.secure.dane.test.",
        RecordType::TLSA,
        Some(1232),
        true,
    )
    .await;
    assert_eq!(resp.metadata.message_type, MessageType::Response);
    assert!(resp.metadata.authoritative);
    assert!(!resp.metadata.recursion_available);
    assert_eq!(resp.edns.as_ref().map(|e| e.flags().dnssec_ok), Some(true));
    assert_eq!(
        resp.answers
            .iter()
            .filter(|r| r.record_type() == RecordType::TLSA)
            .count(),
        2
    );
    assert_eq!(
        resp.answers
            .iter()
            .filter(|r| r.record_type() == RecordType::RRSIG)
            .count(),
        1
    );
    // DO=0: no DNSSEC records.
    let resp = query_udp(
        &dns,
        "_25._tcp.mx.secure.dane.test.",
        RecordType::TLSA,
        Some(1232),
        false,
    )
    .await;
    assert_eq!(resp.edns.as_ref().map(|e| e.flags().dnssec_ok), Some(false));
    assert!(
        resp.answers
            .iter()
            .all(|r| r.record_type() == RecordType::TLSA)
    );
    let resp = query_udp(
        &dns,
        "nothing.secure.dane.test.",
        RecordType::A,
        Some(1232),
        false,
    )
    .await;
    assert_eq!(resp.metadata.response_code, ResponseCode::NXDomain);
    assert!(
        resp.authorities
            .iter()
            .all(|r| r.record_type() == RecordType::SOA)
    );
    // NXDOMAIN with DO: SOA, NSECs, RRSIGs from the secure zone.
    let resp = query_udp(
        &dns,
        "nothing.secure.dane.test.",
        RecordType::A,
        Some(1232),
        true,
    )
    .await;
    assert_eq!(resp.metadata.response_code, ResponseCode::NXDomain);
    let soa = resp
        .authorities
        .iter()
        .find(|r| r.record_type() == RecordType::SOA)
        .expect("SOA");
    assert_eq!(soa.name, dns::name("secure.dane.test."));
    assert!(
        resp.authorities
            .iter()
            .any(|r| r.record_type() == RecordType::NSEC)
    );
    // DS from the parent, DNSKEY from the child.
    let resp = query_udp(&dns, "secure.dane.test.", RecordType::DS, Some(1232), true).await;
    let sig = resp
        .answers
        .iter()
        .find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) => Some(s.input().signer_name.clone()),
            _ => None,
        })
        .expect("RRSIG over DS");
    assert_eq!(sig, dns::name("dane.test."));
    let resp = query_udp(
        &dns,
        "insecure.dane.test.",
        RecordType::DS,
        Some(1232),
        true,
    )
    .await;
    assert!(resp.answers.is_empty());
    let nsec = resp
        .authorities
        .iter()
        .find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) if r.name == dns::name("insecure.dane.test.") => {
                Some(n.type_set().iter().collect::<Vec<_>>())
            }
            _ => None,
        })
        .expect("NSEC at the delegation point");
    assert!(
        nsec.contains(&RecordType::NS) && !nsec.contains(&RecordType::DS),
        "{nsec:?}"
    );
    // Outside the served zones: REFUSED.
    let resp = query_udp(&dns, "example.com.", RecordType::A, Some(1232), true).await;
    assert_eq!(resp.metadata.response_code, ResponseCode::Refused);
    // TCP answers the same, several queries on one connection.
    let mut tcp = TcpStream::connect(dns.addr).await.unwrap();
    for _ in 0..3 {
        let resp = exchange_tcp(&mut tcp, "mx.secure.dane.test.", RecordType::A, true).await;
        assert!(resp.metadata.authoritative);
        assert_eq!(resp.answers.len(), 2);
    }
    assert!(dns.queries().iter().filter(|q| q.tcp).count() >= 3);
}

#[tokio::test]
async fn anchors_from_zone_file_text() {
    let dns = server().await;
    assert_eq!(dns.anchor.len(), 1);
    assert!(
        dns.anchor_zone_file
            .starts_with("dane.test. 300 IN DNSKEY 257 3 13 ")
    );
    assert!(dns.ds_zone_file.starts_with("dane.test. 300 IN DS "));
    let anchors = TrustAnchors::from_str(&dns.anchor_zone_file).expect("anchor file parses");
    // The same resolver as `TestDns::resolver(true)`, but with the anchor parsed from text.
    let r = resolver_with_anchors(&dns, anchors);
    let o = lookup(&r, "_25._tcp.mx.secure.dane.test.", RecordType::TLSA).await;
    expect_answer(&o, Verdict::Secure, &[RecordType::TLSA, RecordType::TLSA]);
    // A foreign anchor makes everything bogus.
    let other = dns::start(ZoneSet::new()).await;
    let r = resolver_with_anchors(&dns, other.trust_anchors());
    let o = lookup(&r, "secure.dane.test.", RecordType::SOA).await;
    assert_eq!(o, Outcome::Bogus);
}

fn resolver_with_anchors(dns: &TestDns, anchors: TrustAnchors) -> TokioResolver {
    use hickory_resolver::Resolver;
    use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
    use hickory_resolver::net::runtime::TokioRuntimeProvider;
    let mut udp = ConnectionConfig::udp();
    udp.port = dns.addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = dns.addr.port();
    let config = ResolverConfig::from_name_servers(vec![NameServerConfig::new(
        dns.addr.ip(),
        true,
        vec![udp, tcp],
    )]);
    let mut builder = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    builder.options_mut().recursion_desired = false;
    builder.options_mut().validate = true;
    builder
        .with_trust_anchor(Arc::new(anchors))
        .build()
        .unwrap()
}

fn request(name: &str, rtype: RecordType, payload: Option<u16>, dnssec_ok: bool) -> Message {
    let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(Name::from_str(name).unwrap(), rtype));
    if let Some(p) = payload {
        let mut e = Edns::new();
        e.set_max_payload(p);
        e.set_dnssec_ok(dnssec_ok);
        m.set_edns(e);
    }
    m
}

async fn query_udp(
    dns: &TestDns,
    name: &str,
    rtype: RecordType,
    payload: Option<u16>,
    dnssec_ok: bool,
) -> Message {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.connect(dns.addr).await.unwrap();
    sock.send(&request(name, rtype, payload, dnssec_ok).to_vec().unwrap())
        .await
        .unwrap();
    let mut buf = vec![0u8; 65_535];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), sock.recv(&mut buf))
        .await
        .expect("UDP answer")
        .unwrap();
    if let Some(p) = payload {
        assert!(n <= usize::from(p.max(512)), "{n} bytes over UDP");
    } else {
        assert!(n <= 512, "{n} bytes over UDP");
    }
    let m = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(m.metadata.id, 0x1234);
    m
}

async fn query_tcp(dns: &TestDns, name: &str, rtype: RecordType, dnssec_ok: bool) -> Message {
    let mut tcp = TcpStream::connect(dns.addr).await.unwrap();
    exchange_tcp(&mut tcp, name, rtype, dnssec_ok).await
}

async fn exchange_tcp(
    tcp: &mut TcpStream,
    name: &str,
    rtype: RecordType,
    dnssec_ok: bool,
) -> Message {
    let req = request(name, rtype, Some(1232), dnssec_ok)
        .to_vec()
        .unwrap();
    let mut framed = u16::try_from(req.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(&req);
    tcp.write_all(&framed).await.unwrap();
    let mut len = [0u8; 2];
    tcp.read_exact(&mut len).await.unwrap();
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    tcp.read_exact(&mut buf).await.unwrap();
    Message::from_vec(&buf).unwrap()
}
