//! Property tests: format round-trips, and `verify` never panics on any input.

mod common;
use common::pki::{Alg, Hierarchy, now};

use std::sync::OnceLock;

use dane::pki_types::CertificateDer;
use dane::{Policy, ReferenceName, Tlsa, TlsaSet, verify, verify_raw_public_key};
use proptest::prelude::*;

fn tlsa() -> impl Strategy<Value = Tlsa> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..80),
    )
        .prop_map(|(u, s, m, d)| Tlsa::new(u, s, m, d))
}

fn sample() -> &'static Hierarchy {
    static H: OnceLock<Hierarchy> = OnceLock::new();
    H.get_or_init(|| Hierarchy::new(Alg::P256, &["mx.example.net"]))
}

proptest! {
    #[test]
    fn presentation_round_trips(t in tlsa()) {
        prop_assert_eq!(t.to_string().parse::<Tlsa>().unwrap(), t.clone());
        prop_assert_eq!(t.to_mnemonic_string().parse::<Tlsa>().unwrap(), t);
    }

    #[test]
    fn rdata_round_trips(t in tlsa()) {
        prop_assert_eq!(Tlsa::from_rdata(&t.to_rdata()).unwrap(), t);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(s in "\\PC{0,120}") {
        let _ = s.parse::<Tlsa>();
    }

    #[test]
    fn verify_never_panics_on_arbitrary_certificates_and_records(
        certs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..4),
        records in proptest::collection::vec(tlsa(), 0..4),
    ) {
        let chain: Vec<CertificateDer<'_>> = certs.into_iter().map(Into::into).collect();
        let set = TlsaSet::new(records);
        for policy in [Policy::smtp(ReferenceName::new("mx.example.net").unwrap()),
                       Policy::generic(ReferenceName::new("mx.example.net").unwrap())] {
            prop_assert!(verify(&chain, &set, &policy, now()).is_err());
        }
        if let Some(c) = chain.first() {
            let _ = verify_raw_public_key(c, &set, &Policy::smtp(ReferenceName::new("a.b").unwrap()));
        }
    }

    /// Mutations of a real chain: flipped bytes and truncations anywhere.
    #[test]
    fn verify_never_panics_on_mutated_real_chains(
        which in 0usize..2, pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>(),
    ) {
        let h = sample();
        let mut chain = h.chain2();
        let mut der = chain[which].to_vec();
        let i = pos.index(der.len());
        if cut { der.truncate(i) } else { der[i] ^= byte | 1 }
        chain[which] = der.into();
        let set = TlsaSet::new([
            Tlsa::from_certificate(&h.intermediate.der, 2.into(), 1.into(), 1.into()).unwrap(),
            Tlsa::from_certificate(&h.root.der, 2.into(), 1.into(), 0.into()).unwrap(),
            Tlsa::from_certificate(&h.root.der, 2.into(), 0.into(), 0.into()).unwrap(),
        ]);
        let policy = Policy::smtp(ReferenceName::new("mx.example.net").unwrap());
        let _ = verify(&chain, &set, &policy, now());
    }
}
