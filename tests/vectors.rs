//! Table-driven: usage × selector × matching type × depth × key algorithm, against a
//! three-certificate chain (leaf, intermediate, root), plus the ways a record can fail.

mod common;
use common::pki::{ALGS, Alg, Hierarchy, now};

use std::sync::Arc;

use dane::{CertUsage, Error, PkixRoots, Policy, ReferenceName, Tlsa, TlsaSet, verify};

const HOST: &str = "mx.example.net";

/// What RFC 6698/7671 (and OpenSSL where they leave a choice) say a record derived from the
/// certificate at `depth` of a 3-certificate chain gives.
fn expected(usage: u8, depth: usize) -> Option<usize> {
    match (usage, depth) {
        // EE usages match the leaf only (RFC 7671 §5.1, §5.4).
        (1 | 3, 0) => Some(0),
        // TA usages match above the leaf only (RFC 7671 §5.2, §5.3; OpenSSL).
        (0 | 2, 1 | 2) => Some(depth),
        _ => None,
    }
}

#[test]
fn usage_selector_matching_depth_table() {
    for alg in ALGS {
        let h = Hierarchy::new(alg, &[HOST]);
        let chain = h.chain3();
        let roots = Arc::new(PkixRoots::from_certificates([h.root.der.clone()]).unwrap());
        let policy = Policy::generic(ReferenceName::new(HOST).unwrap()).with_pkix_roots(roots);
        let mut cases = 0;
        for usage in 0..=3u8 {
            for selector in 0..=1u8 {
                for matching in 0..=2u8 {
                    for (depth, cert) in chain.iter().enumerate() {
                        let record = Tlsa::from_certificate(
                            cert,
                            usage.into(),
                            selector.into(),
                            matching.into(),
                        )
                        .unwrap();
                        let label =
                            format!("{alg:?} {usage} {selector} {matching} at depth {depth}");
                        let got = verify(&chain, &TlsaSet::new([record.clone()]), &policy, now());
                        match expected(usage, depth) {
                            Some(d) => {
                                let v = got.unwrap_or_else(|e| panic!("{label}: {e}"));
                                assert_eq!(v.depth(), d, "{label}");
                                assert_eq!(v.usage(), CertUsage::from(usage), "{label}");
                                assert_eq!(v.record(), &record, "{label}");
                                // Names are checked for every usage but DANE-EE.
                                assert_eq!(v.name().is_some(), usage != 3, "{label}");
                            }
                            // A bare key in a DANE-TA record is tried as an anchor even when
                            // the server did not send it (RFC 7671 §5.2.2): the leaf's own key
                            // does not sign the leaf. (A 2 0 0 copy of the leaf is not an
                            // anchor at all, as in OpenSSL: no match.)
                            None if usage == 2 && matching == 0 && selector == 1 => assert!(
                                matches!(got, Err(Error::ChainInvalid { .. })),
                                "{label}: {got:?}"
                            ),
                            None => assert_eq!(got, Err(Error::NoMatch), "{label}"),
                        }
                        // The same record with one bit flipped never matches.
                        let mut data = record.data().to_vec();
                        let last = data.len() - 1;
                        data[last] ^= 0x01;
                        let wrong = Tlsa::new(usage, selector, matching, data);
                        let got = verify(&chain, &TlsaSet::new([wrong]), &policy, now());
                        if usage == 2 && matching == 0 {
                            // The record carries a name and a key of its own (RFC 7671 §5.2.2).
                            // A flipped signature byte leaves both intact, so the anchor still
                            // works, from the record; a flipped key signs nothing.
                            match got {
                                Ok(v) => assert!(
                                    v.anchor_from_record() && selector == 0,
                                    "{label} flipped"
                                ),
                                Err(e) => assert!(
                                    matches!(
                                        e,
                                        Error::ChainInvalid { .. } | Error::NoUsableRecords
                                    ),
                                    "{label} flipped: {e:?}"
                                ),
                            }
                        } else if matching == 0 && selector == 0 {
                            // A flipped certificate may not decode at all: unusable, or no match.
                            assert!(
                                matches!(got, Err(Error::NoMatch | Error::NoUsableRecords)),
                                "{label} flipped: {got:?}"
                            );
                        } else {
                            assert_eq!(got, Err(Error::NoMatch), "{label} flipped");
                        }
                        // Truncated digests are unusable (RFC 6698 §2.1.3).
                        if matching != 0 {
                            let short = Tlsa::new(usage, selector, matching, &record.data()[1..]);
                            assert_eq!(
                                verify(&chain, &TlsaSet::new([short]), &policy, now()),
                                Err(Error::NoUsableRecords),
                                "{label} short"
                            );
                        }
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 4 * 2 * 3 * 3);
    }
}

#[test]
fn dane_ee_and_ta_under_smtp_for_every_algorithm() {
    for alg in [Alg::P256, Alg::Ed25519, Alg::Rsa2048] {
        let h = Hierarchy::new(alg, &[HOST]);
        let policy = Policy::smtp(ReferenceName::new(HOST).unwrap());
        for (der, usage, depth) in [(&h.leaf.der, 3u8, 0usize), (&h.intermediate.der, 2, 1)] {
            let record = Tlsa::from_certificate(der, usage.into(), 1.into(), 1.into()).unwrap();
            let v = verify(&h.chain2(), &TlsaSet::new([record]), &policy, now()).unwrap();
            assert_eq!(v.depth(), depth, "{alg:?} {usage} 1 1");
        }
        // A chain of another key never verifies.
        let other = Hierarchy::new(alg, &[HOST]);
        let rrset: TlsaSet = [
            Tlsa::from_certificate(&h.leaf.der, CertUsage::DaneEe, 1.into(), 1.into()).unwrap(),
            Tlsa::from_certificate(&h.intermediate.der, CertUsage::DaneTa, 1.into(), 1.into())
                .unwrap(),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            verify(&other.chain2(), &rrset, &policy, now()),
            Err(Error::NoMatch),
            "{alg:?}"
        );
    }
}
