//! One test per rule of the design, named after its RFC section.

mod common;
use common::pki::{Alg, Cert, Hierarchy, Spec, now};

use std::sync::Arc;

use dane::pki_types::CertificateDer;
use dane::{
    CertUsage, Error, Matching, PkixRoots, Policy, RecordStatus, ReferenceName, Selector, Tlsa,
    TlsaSet, Unusable, verify,
};
use rcgen::ExtendedKeyUsagePurpose;

const HOST: &str = "mx.example.net";

fn name(s: &str) -> ReferenceName {
    ReferenceName::new(s).unwrap()
}
fn smtp() -> Policy {
    Policy::smtp(name(HOST))
}
fn generic() -> Policy {
    Policy::generic(name(HOST))
}
fn rec(der: &CertificateDer<'_>, u: u8, s: u8, m: u8) -> Tlsa {
    Tlsa::from_certificate(der, u.into(), s.into(), m.into()).unwrap()
}
fn set(records: impl IntoIterator<Item = Tlsa>) -> TlsaSet {
    TlsaSet::new(records)
}
fn flipped(t: &Tlsa) -> Tlsa {
    let mut d = t.data().to_vec();
    d[0] ^= 1;
    Tlsa::new(t.usage(), t.selector(), t.matching(), d)
}

// ---------------------------------------------------------------- records and RRsets

#[test]
fn digest_length_must_match_rfc6698_2_1_3() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let good = rec(&h.leaf.der, 3, 1, 1);
    let short = Tlsa::new(3, 1, 1, &good.data()[..31]);
    let sha256_as_512 = Tlsa::new(3, 1, 2, good.data());
    let s = set([short.clone(), sha256_as_512]);
    assert_eq!(
        s.status(0),
        Some(RecordStatus::Unusable(Unusable::BadDigestLength))
    );
    assert_eq!(
        s.status(1),
        Some(RecordStatus::Unusable(Unusable::BadDigestLength))
    );
    assert_eq!(
        verify(&h.chain2(), &s, &smtp(), now()),
        Err(Error::NoUsableRecords)
    );
    // A bad-length record beside a good one does not hide it.
    let v = verify(&h.chain2(), &set([short, good]), &smtp(), now()).unwrap();
    assert_eq!(v.record_index(), 1);
}

#[test]
fn unknown_or_private_parameters_are_unusable_rfc7671_4() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let good = rec(&h.leaf.der, 3, 1, 1);
    let d = good.data().to_vec();
    let bad = [
        Tlsa::new(4, 1, 1, d.clone()),
        Tlsa::new(255, 1, 1, d.clone()),
        Tlsa::new(3, 2, 1, d.clone()),
        Tlsa::new(3, 255, 1, d.clone()),
        Tlsa::new(3, 1, 3, d.clone()),
        Tlsa::new(3, 1, 255, d.clone()),
    ];
    let s = set(bad.clone());
    let why: Vec<_> = s.iter().map(|(_, st)| st).collect();
    assert_eq!(
        why,
        [
            RecordStatus::Unusable(Unusable::UnknownUsage),
            RecordStatus::Unusable(Unusable::UnknownUsage),
            RecordStatus::Unusable(Unusable::UnknownSelector),
            RecordStatus::Unusable(Unusable::UnknownSelector),
            RecordStatus::Unusable(Unusable::UnknownMatching),
            RecordStatus::Unusable(Unusable::UnknownMatching),
        ]
    );
    // All unusable: "no usable records", which the caller must see as such (RFC 7672 §2.2:
    // TLS still mandatory, unauthenticated), never as a match and never as a mismatch.
    assert!(!s.has_usable(&smtp()));
    assert_eq!(
        verify(&h.chain2(), &s, &smtp(), now()),
        Err(Error::NoUsableRecords)
    );
    // Mixed RRset: only the usable record counts.
    let mixed = set(bad.into_iter().chain([good]));
    let v = verify(&h.chain2(), &mixed, &smtp(), now()).unwrap();
    assert_eq!(v.record_index(), 6);
}

#[test]
fn malformed_full_data_is_unusable_rfc7671_4() {
    let s = set([
        Tlsa::new(2, 0, 0, vec![0x30, 0x03, 1, 2, 3]),
        Tlsa::new(2, 1, 0, vec![0x30, 0x00]),
    ]);
    assert_eq!(
        s.status(0),
        Some(RecordStatus::Unusable(Unusable::MalformedData))
    );
    assert_eq!(
        s.status(1),
        Some(RecordStatus::Unusable(Unusable::MalformedData))
    );
}

#[test]
fn digest_agility_uses_strongest_digest_per_usage_selector_rfc7671_9() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let sha256 = rec(&h.leaf.der, 3, 1, 1);
    let sha512 = rec(&h.leaf.der, 3, 1, 2);
    // SHA2-512 published (and wrong): the matching SHA2-256 record must not be used.
    let s = set([sha256.clone(), flipped(&sha512)]);
    assert_eq!(
        s.status(0),
        Some(RecordStatus::Unusable(Unusable::WeakerDigest))
    );
    assert_eq!(verify(&h.chain2(), &s, &smtp(), now()), Err(Error::NoMatch));
    // The strongest digest matches.
    let s = set([flipped(&sha256), sha512.clone()]);
    assert_eq!(
        verify(&h.chain2(), &s, &smtp(), now())
            .unwrap()
            .record_index(),
        1
    );
    // A verifier that does not support SHA2-512 uses the SHA2-256 records.
    let s = TlsaSet::with_digest_order([sha256.clone(), flipped(&sha512)], &[Matching::Sha256]);
    assert_eq!(
        s.status(1),
        Some(RecordStatus::Unusable(Unusable::UnsupportedDigest))
    );
    assert_eq!(
        verify(&h.chain2(), &s, &smtp(), now())
            .unwrap()
            .record_index(),
        0
    );
    // Agility is per (usage, selector): a 3 0 2 record leaves 3 1 1 usable.
    let s = set([sha256.clone(), flipped(&rec(&h.leaf.der, 3, 0, 2))]);
    assert_eq!(s.status(0), Some(RecordStatus::Usable));
    assert_eq!(
        verify(&h.chain2(), &s, &smtp(), now())
            .unwrap()
            .record_index(),
        0
    );
}

#[test]
fn full_matching_is_exact_data_not_a_digest_rfc7671_9() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let full = rec(&h.leaf.der, 3, 1, 0);
    let s = set([flipped(&rec(&h.leaf.der, 3, 1, 2)), full]);
    assert_eq!(s.status(1), Some(RecordStatus::Usable));
    assert_eq!(
        verify(&h.chain2(), &s, &smtp(), now())
            .unwrap()
            .record_index(),
        1
    );
}

// ---------------------------------------------------------------- DANE-EE(3)

#[test]
fn dane_ee_ignores_expiry_names_and_chain_rfc7671_5_1_rfc7672_3_1_1() {
    // Self-signed, expired in 2001, for another name, with a client-only EKU.
    let leaf = Cert::self_signed(
        &Spec::leaf(&["other.example.org"])
            .valid((2000, 1, 1), (2001, 1, 1))
            .eku(vec![ExtendedKeyUsagePurpose::ClientAuth]),
    );
    let chain = vec![leaf.der.clone()];
    for (s, m) in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)] {
        for policy in [smtp(), generic()] {
            let v = verify(&chain, &set([rec(&leaf.der, 3, s, m)]), &policy, now()).unwrap();
            assert_eq!(
                (v.usage(), v.depth(), v.name()),
                (CertUsage::DaneEe, 0, None)
            );
        }
    }
}

#[test]
fn dane_ee_matches_only_the_leaf_rfc7671_5_1() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let s = set([rec(&h.intermediate.der, 3, 1, 1), rec(&h.root.der, 3, 0, 1)]);
    assert_eq!(verify(&h.chain3(), &s, &smtp(), now()), Err(Error::NoMatch));
}

#[test]
fn dane_ee_name_checks_are_opt_in_openssl_default_rfc7671_5_1() {
    let leaf = Cert::self_signed(&Spec::leaf(&["other.example.org"]));
    let chain = vec![leaf.der.clone()];
    let s = set([rec(&leaf.der, 3, 1, 1)]);
    assert!(verify(&chain, &s, &generic(), now()).is_ok());
    let checked = generic().with_dane_ee_name_checks(true);
    assert!(matches!(
        verify(&chain, &s, &checked, now()),
        Err(Error::NameMismatch { .. })
    ));
    let ok = generic()
        .with_reference_name(name("other.example.org"))
        .with_dane_ee_name_checks(true);
    let v = verify(&chain, &s, &ok, now()).unwrap();
    assert_eq!(v.name().map(|n| n.as_str()), Some("other.example.org"));
}

#[test]
fn dane_ee_spki_authenticates_raw_public_keys_rfc7250_rfc7671_5_1() {
    let h = Hierarchy::new(Alg::Ed25519, &[HOST]);
    let spki = h.leaf.spki();
    let s = set([rec(&h.leaf.der, 3, 0, 1), rec(&h.leaf.der, 3, 1, 1)]);
    let v = dane::verify_raw_public_key(&spki, &s, &smtp()).unwrap();
    assert_eq!(
        v.record_index(),
        1,
        "a 3 0 x record cannot match a bare key"
    );
    let other = Hierarchy::new(Alg::Ed25519, &[HOST]).leaf.spki();
    assert_eq!(
        dane::verify_raw_public_key(&other, &s, &smtp()),
        Err(Error::NoMatch)
    );
    assert!(matches!(
        dane::verify_raw_public_key(&[0x30, 0x01, 0x00], &s, &smtp()),
        Err(Error::MalformedCertificate { depth: 0, .. })
    ));
}

#[test]
fn raw_public_keys_refuse_dane_ee_name_checks_rfc7250_rfc7671_5_1() {
    // A raw public key carries no names: a policy that asks for DANE-EE name checks cannot
    // be satisfied, and must not be silently ignored.
    let h = Hierarchy::new(Alg::Ed25519, &[HOST]);
    let spki = h.leaf.spki();
    let s = set([rec(&h.leaf.der, 3, 1, 1)]);
    for policy in [
        generic().with_dane_ee_name_checks(true),
        smtp().with_dane_ee_name_checks(true),
    ] {
        let got = dane::verify_raw_public_key(&spki, &s, &policy);
        assert_eq!(
            got.as_ref().err().map(Error::category),
            Some("raw-public-key-name-check"),
            "{got:?}"
        );
    }
    assert!(dane::verify_raw_public_key(&spki, &s, &generic()).is_ok());
}

// ---------------------------------------------------------------- DANE-TA(2)

#[test]
fn dane_ta_certificate_in_chain_rfc7671_5_2_rfc7672_3_1_2() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let v = verify(
        &h.chain2(),
        &set([rec(&h.intermediate.der, 2, 1, 1)]),
        &smtp(),
        now(),
    )
    .unwrap();
    assert_eq!(
        (v.usage(), v.depth(), v.anchor_from_record()),
        (CertUsage::DaneTa, 1, false)
    );
    assert_eq!(v.name().unwrap().as_str(), HOST);
    let v = verify(
        &h.chain3(),
        &set([rec(&h.root.der, 2, 0, 1)]),
        &smtp(),
        now(),
    )
    .unwrap();
    assert_eq!(v.depth(), 2);
}

#[test]
fn dane_ta_never_matches_the_leaf_openssl() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    assert_eq!(
        verify(
            &h.chain2(),
            &set([rec(&h.leaf.der, 2, 1, 1)]),
            &smtp(),
            now()
        ),
        Err(Error::NoMatch)
    );
}

#[test]
fn dane_ta_never_matches_a_copy_of_the_leaf_sent_above_it_openssl() {
    let leaf = Cert::self_signed(&Spec::leaf(&[HOST]));
    let chain = vec![leaf.der.clone(), leaf.der.clone()];
    for (s, m) in [(0, 1), (1, 1), (0, 0)] {
        assert_eq!(
            verify(&chain, &set([rec(&leaf.der, 2, s, m)]), &smtp(), now()),
            Err(Error::NoMatch),
            "2 {s} {m}"
        );
    }
}

#[test]
fn policy_base_domain_replacement_keeps_other_names() {
    let p = smtp()
        .with_reference_name(name("example.net"))
        .with_base_domain(name("mx2.example.net"));
    let names: Vec<&str> = p.reference_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["mx2.example.net", "example.net"]);
    let p = smtp()
        .with_reference_name(name("example.net"))
        .with_base_domain(name("example.net"));
    let names: Vec<&str> = p.reference_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["example.net"]);
}

#[test]
fn dane_ta_from_the_record_when_not_sent_rfc7671_5_2_2() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    // 2 0 0: the full root certificate in the record; counts as appended to the chain.
    let v = verify(
        &h.chain2(),
        &set([rec(&h.root.der, 2, 0, 0)]),
        &smtp(),
        now(),
    )
    .unwrap();
    assert_eq!((v.depth(), v.anchor_from_record()), (2, true));
    // 2 1 0: the bare root key; reports the topmost presented certificate it signed.
    let v = verify(
        &h.chain2(),
        &set([rec(&h.root.der, 2, 1, 0)]),
        &smtp(),
        now(),
    )
    .unwrap();
    assert_eq!((v.depth(), v.anchor_from_record()), (1, true));
    // The intermediate's bare key, chain of the leaf alone.
    let v = verify(
        std::slice::from_ref(&h.leaf.der),
        &set([rec(&h.intermediate.der, 2, 1, 0)]),
        &smtp(),
        now(),
    )
    .unwrap();
    assert_eq!(v.depth(), 0);
    // A digest of a certificate that was not sent cannot match anything.
    assert_eq!(
        verify(
            &h.chain2(),
            &set([rec(&h.root.der, 2, 0, 1)]),
            &smtp(),
            now()
        ),
        Err(Error::NoMatch)
    );
    // Another key as 2 1 0: the leaf's chain does not lead to it.
    let other = Hierarchy::new(Alg::P256, &[HOST]);
    assert!(matches!(
        verify(
            &h.chain2(),
            &set([rec(&other.root.der, 2, 1, 0)]),
            &smtp(),
            now()
        ),
        Err(Error::ChainInvalid { .. })
    ));
}

#[test]
fn dane_ta_checks_reference_identifiers_rfc7672_3_2_2() {
    let h = Hierarchy::new(Alg::P256, &["mx.other.example"]);
    let s = set([rec(&h.intermediate.der, 2, 1, 1)]);
    assert!(matches!(
        verify(&h.chain2(), &s, &smtp(), now()),
        Err(Error::NameMismatch { .. })
    ));
    // The next-hop domain, as a second reference identifier (secure MX, RFC 7672 §3.2.2).
    let p = smtp().with_reference_name(name("mx.other.example"));
    assert_eq!(
        verify(&h.chain2(), &s, &p, now())
            .unwrap()
            .name()
            .unwrap()
            .as_str(),
        "mx.other.example"
    );
}

#[test]
fn dane_ta_checks_validity_below_the_anchor_not_of_the_anchor_rfc7671_5_2() {
    let root = Cert::self_signed(&Spec::ca("Root"));
    // An expired trust anchor is still a trust anchor (name + key).
    let old_int = root.issue(&Spec::ca("Old Int").valid((2010, 1, 1), (2011, 1, 1)));
    let leaf = old_int.issue(&Spec::leaf(&[HOST]));
    let s = set([rec(&old_int.der, 2, 1, 1)]);
    assert!(verify(&[leaf.der.clone(), old_int.der.clone()], &s, &smtp(), now()).is_ok());
    // Below the anchor, dates count: expired intermediate under a root anchor.
    let s_root = set([rec(&root.der, 2, 1, 1)]);
    let chain = vec![leaf.der.clone(), old_int.der.clone(), root.der.clone()];
    assert_eq!(
        verify(&chain, &s_root, &smtp(), now()),
        Err(Error::Expired { depth: Some(1) })
    );
    // Expired and not-yet-valid leaves.
    let int = root.issue(&Spec::ca("Int"));
    let expired = int.issue(&Spec::leaf(&[HOST]).valid((2020, 1, 1), (2021, 1, 1)));
    let early = int.issue(&Spec::leaf(&[HOST]).valid((2030, 1, 1), (2031, 1, 1)));
    let s_int = set([rec(&int.der, 2, 1, 1)]);
    assert_eq!(
        verify(
            &[expired.der.clone(), int.der.clone()],
            &s_int,
            &smtp(),
            now()
        ),
        Err(Error::Expired { depth: Some(0) })
    );
    assert_eq!(
        verify(
            &[early.der.clone(), int.der.clone()],
            &s_int,
            &smtp(),
            now()
        ),
        Err(Error::NotYetValid { depth: Some(0) })
    );
}

#[test]
fn dane_ta_requires_ca_intermediates_and_server_auth_eku_rfc7671_5_2() {
    let root = Cert::self_signed(&Spec::ca("Root"));
    // A non-CA certificate cannot issue.
    let not_ca = root.issue(&Spec::leaf(&["not-a-ca.example"]).cn("Not A CA"));
    let leaf = not_ca.issue(&Spec::leaf(&[HOST]));
    let chain = vec![leaf.der.clone(), not_ca.der.clone()];
    assert!(matches!(
        verify(&chain, &set([rec(&root.der, 2, 0, 0)]), &smtp(), now()),
        Err(Error::ChainInvalid { .. })
    ));
    // EKU: clientAuth only is refused under DANE-TA; no EKU at all is accepted.
    let int = root.issue(&Spec::ca("Int"));
    let client_only =
        int.issue(&Spec::leaf(&[HOST]).eku(vec![ExtendedKeyUsagePurpose::ClientAuth]));
    let no_eku = int.issue(&Spec::leaf(&[HOST]).eku(vec![]));
    let s = set([rec(&int.der, 2, 1, 1)]);
    assert!(matches!(
        verify(
            &[client_only.der.clone(), int.der.clone()],
            &s,
            &smtp(),
            now()
        ),
        Err(Error::ChainInvalid { .. })
    ));
    assert!(verify(&[no_eku.der.clone(), int.der.clone()], &s, &smtp(), now()).is_ok());
    // DANE-EE checks neither.
    let s_ee = set([rec(&client_only.der, 3, 1, 1)]);
    assert!(
        verify(
            std::slice::from_ref(&client_only.der),
            &s_ee,
            &smtp(),
            now()
        )
        .is_ok()
    );
}

#[test]
fn dane_ta_chain_out_of_order_extra_certs_two_issuers_rfc7671_5_2() {
    let root = Cert::self_signed(&Spec::ca("Root"));
    let int = root.issue(&Spec::ca("Int"));
    let leaf = int.issue(&Spec::leaf(&[HOST]));
    // Same subject name, different key: a second candidate issuer that did not sign the leaf.
    let decoy = root.issue(&Spec::ca("Int"));
    let stranger = Cert::self_signed(&Spec::ca("Stranger"));
    let chain = vec![
        leaf.der.clone(),
        root.der.clone(),
        stranger.der.clone(),
        decoy.der.clone(),
        int.der.clone(),
    ];
    let v = verify(&chain, &set([rec(&root.der, 2, 1, 1)]), &smtp(), now()).unwrap();
    assert_eq!(v.depth(), 1);
    let v = verify(&chain, &set([rec(&int.der, 2, 1, 1)]), &smtp(), now()).unwrap();
    assert_eq!(v.depth(), 4);
    // The decoy as the anchor: the leaf's signature does not verify under its key.
    assert!(matches!(
        verify(&chain, &set([rec(&decoy.der, 2, 1, 1)]), &smtp(), now()),
        Err(Error::ChainInvalid { .. })
    ));
}

/// OpenSSL's `X509_V_ERR_INVALID_CA` for a DANE-TA anchor: the matched certificate is no CA.
fn is_invalid_ca(r: &Result<dane::Verified, Error>) -> bool {
    matches!(
        r,
        Err(Error::ChainInvalid { usage: CertUsage::DaneTa, reason })
            if format!("{reason:?}") == "EndEntityUsedAsCa"
    )
}

/// Under `issuer` (a CA), a certificate of `spec` and a leaf it issued.
fn anchor_and_leaf(issuer: &Cert, spec: &Spec) -> (Cert, Cert) {
    let anchor = issuer.issue(spec);
    let leaf = anchor.issue(&Spec::leaf(&[HOST]));
    (anchor, leaf)
}

/// Every way a DANE-TA record can name `anchor` above `leaf` in the chain: 2 0 1, 2 1 1 and
/// 2 1 0 of the sent certificate, 2 0 0 of the one not sent.
fn ta_verdicts(anchor: &Cert, leaf: &Cert) -> Vec<(&'static str, Result<dane::Verified, Error>)> {
    let sent = [leaf.der.clone(), anchor.der.clone()];
    let alone = std::slice::from_ref(&leaf.der);
    [
        ("2 0 1 sent", &sent[..], rec(&anchor.der, 2, 0, 1)),
        ("2 1 1 sent", &sent[..], rec(&anchor.der, 2, 1, 1)),
        ("2 1 0 sent", &sent[..], rec(&anchor.der, 2, 1, 0)),
        ("2 0 0 not sent", alone, rec(&anchor.der, 2, 0, 0)),
    ]
    .into_iter()
    .map(|(what, chain, r)| (what, verify(chain, &set([r]), &smtp(), now())))
    .collect()
}

#[test]
fn dane_ta_anchor_with_ca_false_is_refused_rfc7671_5_2_rfc5280_4_2_1_9() {
    use rcgen::KeyUsagePurpose as Ku;
    let root = Cert::self_signed(&Spec::ca("Root"));
    // CA:FALSE: OpenSSL refuses the chain (invalid CA certificate), so do we.
    let (anchor, leaf) = anchor_and_leaf(
        &root,
        &Spec::not_ca("Not A CA", true, &[Ku::DigitalSignature]),
    );
    for (what, r) in ta_verdicts(&anchor, &leaf) {
        assert!(is_invalid_ca(&r), "CA:FALSE, {what}: {r:?}");
    }
    // CA:FALSE even with keyCertSign: basicConstraints decide.
    let (anchor, leaf) =
        anchor_and_leaf(&root, &Spec::not_ca("Not A CA", true, &[Ku::KeyCertSign]));
    for (what, r) in ta_verdicts(&anchor, &leaf) {
        assert!(is_invalid_ca(&r), "CA:FALSE + keyCertSign, {what}: {r:?}");
    }
    // CA:TRUE whose keyUsage lacks keyCertSign (RFC 5280 §4.2.1.3): refused by OpenSSL too.
    let (anchor, leaf) = anchor_and_leaf(
        &root,
        &Spec::ca("No Cert Sign").key_usages(&[Ku::DigitalSignature]),
    );
    for (what, r) in ta_verdicts(&anchor, &leaf) {
        assert!(
            is_invalid_ca(&r),
            "CA:TRUE without keyCertSign, {what}: {r:?}"
        );
    }
    // The control: a CA:TRUE anchor.
    let (anchor, leaf) = anchor_and_leaf(&root, &Spec::ca("Int"));
    for (what, r) in ta_verdicts(&anchor, &leaf) {
        assert_eq!(r.map(|v| v.depth()), Ok(1), "CA:TRUE, {what}");
    }
}

#[test]
fn dane_ta_anchor_without_basic_constraints_rfc7671_5_2_rfc5280_4_2_1_9() {
    use rcgen::KeyUsagePurpose as Ku;
    let root = Cert::self_signed(&Spec::ca("Root"));
    // v3, neither basicConstraints nor keyUsage: not a CA for OpenSSL either.
    let (anchor, leaf) = anchor_and_leaf(&root, &Spec::not_ca("No BC", false, &[]));
    for (what, r) in ta_verdicts(&anchor, &leaf) {
        assert!(is_invalid_ca(&r), "no basicConstraints, {what}: {r:?}");
    }
    // No basicConstraints, keyUsage without keyCertSign: refused.
    let (anchor, leaf) = anchor_and_leaf(
        &root,
        &Spec::not_ca("No BC", false, &[Ku::DigitalSignature]),
    );
    for (what, r) in ta_verdicts(&anchor, &leaf) {
        assert!(
            is_invalid_ca(&r),
            "no basicConstraints, digitalSignature, {what}: {r:?}"
        );
    }
    // No basicConstraints, keyUsage with keyCertSign: OpenSSL's legacy exception for the top
    // of the chain (check_ca returns 4): accepted.
    let (anchor, leaf) = anchor_and_leaf(&root, &Spec::not_ca("No BC", false, &[Ku::KeyCertSign]));
    for (what, r) in ta_verdicts(&anchor, &leaf) {
        assert_eq!(
            r.map(|v| v.depth()),
            Ok(1),
            "no basicConstraints, keyCertSign, {what}"
        );
    }
}

#[test]
fn dane_ta_v1_anchor_only_as_a_self_signed_root_rfc7671_5_2_rfc5280_4_2_1_9() {
    let root = Cert::self_signed(&Spec::ca("Root"));
    // A v1 certificate issued by another: no way to say it is a CA, refused.
    let (v3, leaf) = anchor_and_leaf(&root, &Spec::ca("V1 Int"));
    let v1 = v3.to_v1(&root.key);
    for (what, r) in ta_verdicts(&v1, &leaf) {
        assert!(is_invalid_ca(&r), "v1 issued by a root, {what}: {r:?}");
    }
    // A self-signed v1 certificate (a "v1 root"): OpenSSL's exception, accepted.
    let v3_root = Cert::self_signed(&Spec::ca("V1 Root"));
    let leaf = v3_root.issue(&Spec::leaf(&[HOST]));
    let v1_root = v3_root.to_v1(&v3_root.key);
    for (what, r) in ta_verdicts(&v1_root, &leaf) {
        assert_eq!(r.map(|v| v.depth()), Ok(1), "v1 root, {what}");
    }
}

#[test]
fn dane_ta_bare_key_of_a_non_ca_not_sent_is_accepted_rfc7671_5_2_2() {
    use rcgen::KeyUsagePurpose as Ku;
    let root = Cert::self_signed(&Spec::ca("Root"));
    let (anchor, leaf) = anchor_and_leaf(
        &root,
        &Spec::not_ca("Not A CA", true, &[Ku::DigitalSignature]),
    );
    // 2 1 0 is a bare key: when its certificate is not sent, nothing says it is no CA
    // (OpenSSL: "signed the certificate at depth 0").
    let v = verify(
        std::slice::from_ref(&leaf.der),
        &set([rec(&anchor.der, 2, 1, 0)]),
        &smtp(),
        now(),
    )
    .unwrap();
    assert_eq!((v.depth(), v.anchor_from_record()), (0, true));
    // Sent, the certificate is met first and refused, with or without its root.
    for chain in [
        vec![leaf.der.clone(), anchor.der.clone()],
        vec![leaf.der.clone(), anchor.der.clone(), root.der.clone()],
    ] {
        let r = verify(&chain, &set([rec(&anchor.der, 2, 1, 0)]), &smtp(), now());
        assert!(is_invalid_ca(&r), "{} certificates: {r:?}", chain.len());
    }
    // A non-CA that matches but is not on the leaf's path does not spoil a good anchor.
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let chain = vec![
        h.leaf.der.clone(),
        anchor.der.clone(),
        h.intermediate.der.clone(),
    ];
    let records = set([rec(&anchor.der, 2, 0, 1), rec(&h.intermediate.der, 2, 0, 1)]);
    assert_eq!(
        verify(&chain, &records, &smtp(), now()).map(|v| v.depth()),
        Ok(2)
    );
}

#[test]
fn dane_ta_self_signed_leaf_needs_no_ca_bit_rfc7671_5_2_openssl() {
    // A self-signed CA:FALSE leaf is never an anchor above itself: its own 2 1 0 key
    // authenticates it at depth 0 (alone or sent twice), its 2 0 1 / 2 0 0 never match.
    let leaf = Cert::self_signed(&Spec::leaf(&[HOST]));
    for chain in [
        vec![leaf.der.clone()],
        vec![leaf.der.clone(), leaf.der.clone()],
    ] {
        let v = verify(&chain, &set([rec(&leaf.der, 2, 1, 0)]), &smtp(), now()).unwrap();
        assert_eq!(v.depth(), 0);
        for (s, m) in [(0, 1), (0, 0)] {
            assert_eq!(
                verify(&chain, &set([rec(&leaf.der, 2, s, m)]), &smtp(), now()),
                Err(Error::NoMatch),
                "2 {s} {m}, {} certificates",
                chain.len()
            );
        }
    }
}

// ---------------------------------------------------------------- PKIX-TA(0), PKIX-EE(1)

fn roots(c: &Cert) -> Arc<PkixRoots> {
    Arc::new(PkixRoots::from_certificates([c.der.clone()]).unwrap())
}

#[test]
fn pkix_ee_needs_pkix_validation_and_names_rfc6698_2_1_1_rfc7671_5_4() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let s = set([rec(&h.leaf.der, 1, 1, 1)]);
    let p = generic().with_pkix_roots(roots(&h.root));
    let v = verify(&h.chain2(), &s, &p, now()).unwrap();
    assert_eq!(
        (v.usage(), v.depth(), v.name().unwrap().as_str()),
        (CertUsage::PkixEe, 0, HOST)
    );
    // No roots: never authenticated (OpenSSL with an empty trust store).
    assert_eq!(
        verify(&h.chain2(), &s, &generic(), now()),
        Err(Error::NoPkixRoots)
    );
    // Roots that do not issue this chain.
    let other = Hierarchy::new(Alg::P256, &[HOST]);
    let p_other = generic().with_pkix_roots(roots(&other.root));
    assert!(matches!(
        verify(&h.chain2(), &s, &p_other, now()),
        Err(Error::Pkix(_))
    ));
    // A PKIX-EE record that matches nothing is "no match", whatever the roots say.
    let s_other = set([rec(&other.leaf.der, 1, 1, 1)]);
    assert_eq!(
        verify(&h.chain2(), &s_other, &generic(), now()),
        Err(Error::NoMatch)
    );
    assert_eq!(
        verify(&h.chain2(), &s_other, &p_other, now()),
        Err(Error::NoMatch)
    );
    // Wrong name.
    let p_name = Policy::generic(name("www.example.net")).with_pkix_roots(roots(&h.root));
    assert!(matches!(
        verify(&h.chain2(), &s, &p_name, now()),
        Err(Error::NameMismatch { .. })
    ));
}

#[test]
fn pkix_ta_matches_a_certificate_of_the_validated_path_rfc7671_5_3() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let p = generic().with_pkix_roots(roots(&h.root));
    let v = verify(
        &h.chain2(),
        &set([rec(&h.intermediate.der, 0, 1, 1)]),
        &p,
        now(),
    )
    .unwrap();
    assert_eq!((v.usage(), v.depth()), (CertUsage::PkixTa, 1));
    // The root, not sent: found through the caller's roots; depth as if appended.
    let v = verify(&h.chain2(), &set([rec(&h.root.der, 0, 0, 1)]), &p, now()).unwrap();
    assert_eq!(v.depth(), 2);
    let v = verify(&h.chain3(), &set([rec(&h.root.der, 0, 1, 2)]), &p, now()).unwrap();
    assert_eq!(v.depth(), 2);
    // A CA outside the validated path does not count.
    let other = Hierarchy::new(Alg::P256, &[HOST]);
    assert_eq!(
        verify(
            &h.chain2(),
            &set([rec(&other.intermediate.der, 0, 1, 1)]),
            &p,
            now()
        ),
        Err(Error::NoMatch)
    );
}

#[test]
fn pkix_usages_are_unusable_for_smtp_rfc7672_3_1_3() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let s = set([rec(&h.leaf.der, 1, 1, 1), rec(&h.intermediate.der, 0, 1, 1)]);
    let p = smtp().with_pkix_roots(roots(&h.root));
    assert!(!s.has_usable(&p));
    assert_eq!(
        verify(&h.chain2(), &s, &p, now()),
        Err(Error::NoUsableRecords)
    );
    // The Generic profile can opt out too.
    let g = generic()
        .with_pkix_roots(roots(&h.root))
        .without_pkix_usages();
    assert_eq!(
        verify(&h.chain2(), &s, &g, now()),
        Err(Error::NoUsableRecords)
    );
}

// ---------------------------------------------------------------- names

#[test]
fn names_wildcard_only_whole_leftmost_label_rfc7672_3_2_3() {
    let root = Cert::self_signed(&Spec::ca("Root"));
    let s = set([rec(&root.der, 2, 1, 1)]);
    let check = |sans: &[&str], host: &str| {
        let leaf = root.issue(&Spec::leaf(sans));
        verify(
            &[leaf.der.clone(), root.der.clone()],
            &s,
            &Policy::smtp(name(host)),
            now(),
        )
    };
    assert!(check(&["*.example.net"], "mx.example.net").is_ok());
    assert!(check(&["*.EXAMPLE.NET"], "MX.example.net.").is_ok());
    assert!(check(&["*.example.net"], "a.mx.example.net").is_err());
    assert!(check(&["*.example.net"], "example.net").is_err());
    assert!(check(&["m*.example.net"], "mx.example.net").is_err());
    assert!(check(&["mx.*.net"], "mx.example.net").is_err());
    assert!(check(&["*.net"], "example.net").is_err());
}

#[test]
fn names_presented_trailing_dot_never_matches_rfc5280_4_2_1_6() {
    // A dNSName has no final dot (RFC 1034 preferred name syntax); OpenSSL and
    // rustls-webpki refuse `mx.example.net.`. A final dot on the reference name is fine.
    let root = Cert::self_signed(&Spec::ca("Root"));
    let s = set([rec(&root.der, 2, 1, 1)]);
    for san in ["mx.example.net.", "*.example.net."] {
        let leaf = root.issue(&Spec::leaf(&[san]));
        let chain = [leaf.der.clone(), root.der.clone()];
        assert!(verify(&chain, &s, &smtp(), now()).is_err(), "{san}");
        // DANE-EE with name checks reads the names itself.
        let ee = set([rec(&leaf.der, 3, 1, 1)]);
        let checked = generic().with_dane_ee_name_checks(true);
        assert!(
            matches!(
                verify(&chain, &ee, &checked, now()),
                Err(Error::NameMismatch { .. })
            ),
            "{san}"
        );
        // As a CN, without SANs.
        let cn = root.issue(&Spec::leaf(&[]).cn(san));
        let got = verify(&[cn.der.clone(), root.der.clone()], &s, &smtp(), now());
        assert!(matches!(got, Err(Error::NameMismatch { .. })), "CN {san}");
    }
    let leaf = root.issue(&Spec::leaf(&[HOST]));
    let dotted = Policy::smtp(name("mx.example.net."));
    assert!(verify(&[leaf.der.clone(), root.der.clone()], &s, &dotted, now()).is_ok());
}

#[test]
fn names_wildcard_covers_only_letters_digits_hyphen_rfc6125_6_4_3_openssl() {
    // As OpenSSL's X509_check_host: the label `*` stands for holds only letters, digits and
    // hyphens, and a presented pattern with any other character (such as `_`) is no
    // wildcard at all.
    let root = Cert::self_signed(&Spec::ca("Root"));
    let s = set([rec(&root.der, 2, 1, 1)]);
    let check = |san: &str, host: &str| {
        let leaf = root.issue(&Spec::leaf(&[san]));
        verify(
            &[leaf.der.clone(), root.der.clone()],
            &s,
            &Policy::smtp(name(host)),
            now(),
        )
    };
    assert!(check("*.example.net", "a_b.example.net").is_err());
    assert!(check("*.example.net", "_x.example.net").is_err());
    assert!(check("*._tcp.example.net", "x._tcp.example.net").is_err());
    assert!(check("*.-ex.example.net", "a.-ex.example.net").is_err());
    assert!(check("*.example.net", "a-b.example.net").is_ok());
    assert!(check("_x.example.net", "_x.example.net").is_ok());
    assert!(check("x._tcp.example.net", "x._tcp.example.net").is_ok());
}

#[test]
fn names_common_name_only_without_dns_san_rfc6125_6_4_4() {
    let root = Cert::self_signed(&Spec::ca("Root"));
    let s = set([rec(&root.der, 2, 1, 1)]);
    let run = |spec: Spec| {
        let leaf = root.issue(&spec);
        verify(&[leaf.der.clone(), root.der.clone()], &s, &smtp(), now())
    };
    // No SAN at all: the CN is used.
    assert!(run(Spec::leaf(&[]).cn(HOST)).is_ok());
    // A DNS SAN is present: the CN is ignored.
    assert!(matches!(
        run(Spec::leaf(&["other.example.net"]).cn(HOST)),
        Err(Error::NameMismatch { .. })
    ));
}

/// The leaf's CN lies outside the name constraints of its path.
fn is_constraint_violation(r: &Result<dane::Verified, Error>) -> bool {
    matches!(r, Err(Error::NameConstraintViolation { .. }))
}

/// An empty subjectAltName extension (`SEQUENCE {}`), OID 2.5.29.17.
const EMPTY_SAN: (&[u64], &[u8]) = (&[2, 5, 29, 17], &[0x30, 0x00]);

#[test]
fn cn_fallback_respects_name_constraints_rfc5280_4_2_1_10() {
    // R -> I (permitted dNSName attacker.example) -> leaf naming mx.victim.example in its CN
    // only. OpenSSL checks such a CN against the dNSName constraints
    // (NAME_CONSTRAINTS_check_CN); rustls-webpki checks SANs only, so we must.
    let victim = "mx.victim.example";
    let root = Cert::self_signed(&Spec::ca("Root"));
    let int = root.issue(&Spec::ca("Constrained Int").permit(&["attacker.example"]));
    let leaves = [
        ("no SAN", int.issue(&Spec::leaf(&[]).cn(victim))),
        (
            "iPAddress SAN only",
            int.issue(&Spec::leaf(&[]).cn(victim).ip("192.0.2.1")),
        ),
        (
            "empty SAN",
            int.issue(
                &Spec::leaf(&[])
                    .cn(victim)
                    .extension(EMPTY_SAN.0, EMPTY_SAN.1),
            ),
        ),
    ];
    let p = Policy::smtp(name(victim));
    let records = [
        ("2 0 0 R", rec(&root.der, 2, 0, 0)),
        ("2 1 0 R", rec(&root.der, 2, 1, 0)),
        ("2 1 1 I", rec(&int.der, 2, 1, 1)),
    ];
    for (shape, leaf) in &leaves {
        let chain = [leaf.der.clone(), int.der.clone()];
        for (what, r) in &records {
            let got = verify(&chain, &set([r.clone()]), &p, now());
            assert!(is_constraint_violation(&got), "{shape}, {what}: {got:?}");
        }
        // The anchor sent as well.
        let chain3 = [leaf.der.clone(), int.der.clone(), root.der.clone()];
        let got = verify(&chain3, &set([rec(&root.der, 2, 1, 1)]), &p, now());
        assert!(
            is_constraint_violation(&got),
            "{shape}, 2 1 1 R sent: {got:?}"
        );
    }
    // The same name in a SAN: rustls-webpki refuses the chain.
    let san = int.issue(&Spec::leaf(&[victim]));
    assert!(
        verify(
            &[san.der.clone(), int.der.clone()],
            &set([rec(&int.der, 2, 1, 1)]),
            &p,
            now()
        )
        .is_err()
    );

    // A CN inside the permitted subtree still verifies (DANE-TA, SMTP profile).
    let inside_name = "mx.attacker.example";
    let inside = int.issue(&Spec::leaf(&[]).cn(inside_name));
    let ip_inside = int.issue(&Spec::leaf(&[]).cn(inside_name).ip("192.0.2.1"));
    let p_inside = Policy::smtp(name(inside_name));
    for leaf in [&inside, &ip_inside] {
        for (what, r) in &records {
            let v = verify(
                &[leaf.der.clone(), int.der.clone()],
                &set([r.clone()]),
                &p_inside,
                now(),
            );
            assert_eq!(
                v.map(|v| v.name().unwrap().as_str().to_owned())
                    .ok()
                    .as_deref(),
                Some(inside_name),
                "{what}"
            );
        }
    }

    // Excluded subtrees count too, on the anchor itself (2 1 1 of the constrained CA).
    let excluding = root.issue(&Spec::ca("Excluding Int").exclude(&["victim.example"]));
    let s_ex = set([rec(&excluding.der, 2, 1, 1)]);
    let bad = excluding.issue(&Spec::leaf(&[]).cn(victim));
    let got = verify(&[bad.der.clone(), excluding.der.clone()], &s_ex, &p, now());
    assert!(is_constraint_violation(&got), "excluded subtree: {got:?}");
    let fine = excluding.issue(&Spec::leaf(&[]).cn(HOST));
    assert!(
        verify(
            &[fine.der.clone(), excluding.der.clone()],
            &s_ex,
            &smtp(),
            now()
        )
        .is_ok()
    );
}

#[test]
fn pkix_usages_use_no_cn_ids_rfc9525() {
    // RFC 9525 retires CN-IDs; rustls' own verifier never uses them. Under PKIX-TA/PKIX-EE
    // only dNSName SANs count, with or without name constraints on the path.
    let victim = "mx.victim.example";
    let root = Cert::self_signed(&Spec::ca("Root"));
    let int = root.issue(&Spec::ca("Constrained Int").permit(&["attacker.example"]));
    let plain = root.issue(&Spec::ca("Plain Int"));
    let g = |host: &str| Policy::generic(name(host)).with_pkix_roots(roots(&root));
    for (ca, host) in [
        (&int, victim),
        (&int, "mx.attacker.example"),
        (&plain, victim),
    ] {
        for leaf in [
            ca.issue(&Spec::leaf(&[]).cn(host)),
            ca.issue(&Spec::leaf(&[]).cn(host).ip("192.0.2.1")),
        ] {
            let chain = [leaf.der.clone(), ca.der.clone()];
            for r in [
                rec(&root.der, 0, 1, 1),
                rec(&ca.der, 0, 1, 1),
                rec(&leaf.der, 1, 1, 1),
            ] {
                let got = verify(&chain, &set([r.clone()]), &g(host), now());
                assert!(
                    matches!(got, Err(Error::NameMismatch { .. })),
                    "{host} {r}: {got:?}"
                );
            }
        }
    }
    // A dNSName SAN still works.
    let ok = plain.issue(&Spec::leaf(&[victim]));
    let chain = [ok.der.clone(), plain.der.clone()];
    assert!(verify(&chain, &set([rec(&root.der, 0, 1, 1)]), &g(victim), now()).is_ok());
}

// ---------------------------------------------------------------- input errors

#[test]
fn malformed_certificates_give_a_typed_error_with_depth() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01]);
    let s_ee = set([rec(&h.leaf.der, 3, 1, 1)]);
    assert!(matches!(
        verify(std::slice::from_ref(&garbage), &s_ee, &smtp(), now()),
        Err(Error::MalformedCertificate { depth: 0, .. })
    ));
    // DANE-EE never looks above the leaf, so a bad certificate there does not matter ...
    assert!(
        verify(
            &[h.leaf.der.clone(), garbage.clone()],
            &s_ee,
            &smtp(),
            now()
        )
        .is_ok()
    );
    // ... but DANE-TA has to decode it.
    let s_ta = set([rec(&h.intermediate.der, 2, 1, 1)]);
    assert!(matches!(
        verify(
            &[h.leaf.der.clone(), h.intermediate.der.clone(), garbage],
            &s_ta,
            &smtp(),
            now()
        ),
        Err(Error::MalformedCertificate { depth: 2, .. })
    ));
    let mut truncated = h.leaf.der.to_vec();
    truncated.pop();
    assert!(matches!(
        verify(&[truncated.into()], &s_ee, &smtp(), now()),
        Err(Error::MalformedCertificate { depth: 0, .. })
    ));
    assert_eq!(verify(&[], &s_ee, &smtp(), now()), Err(Error::EmptyChain));
}

/// The TLVs of `der` (definite lengths, as rcgen writes them), each whole.
fn tlvs(mut der: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let (len, header) = match der[1] {
            n if n < 0x80 => (usize::from(n), 2),
            n => {
                let k = usize::from(n & 0x7f);
                let len = der[2..2 + k]
                    .iter()
                    .fold(0, |acc, &b| (acc << 8) | usize::from(b));
                (len, 2 + k)
            }
        };
        out.push(der[..header + len].to_vec());
        der = &der[header + len..];
    }
    out
}

/// A TLV of `tag` around `contents`.
fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match contents.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(contents);
    out
}

/// The contents of a TLV.
fn contents(whole: &[u8]) -> &[u8] {
    let header = if whole[1] < 0x80 {
        2
    } else {
        2 + usize::from(whole[1] & 0x7f)
    };
    &whole[header..]
}

/// `cert` with its TBSCertificate fields rewritten by `edit` (the signature no longer
/// verifies; DANE-EE never checks it).
fn edit_tbs(
    cert: &CertificateDer<'_>,
    edit: impl FnOnce(&mut Vec<Vec<u8>>),
) -> CertificateDer<'static> {
    let outer = tlvs(contents(cert.as_ref()));
    let mut fields = tlvs(contents(&outer[0]));
    edit(&mut fields);
    let tbs = tlv(0x30, &fields.concat());
    CertificateDer::from(tlv(
        0x30,
        &[tbs, outer[1].clone(), outer[2].clone()].concat(),
    ))
}

/// A subjectAltName extnValue holding one dNSName.
fn san_value(dns: &str) -> Vec<u8> {
    tlv(0x30, &tlv(0x82, dns.as_bytes()))
}

#[test]
fn duplicate_extensions_are_malformed_rfc5280_4_2() {
    // "A certificate MUST NOT include more than one instance of a particular extension."
    // A second subjectAltName must not be read (nor ignored) under DANE-EE name checks.
    let checked = generic().with_dane_ee_name_checks(true);
    let root = Cert::self_signed(&Spec::ca("Root"));
    let two_sans = root
        .issue(&Spec::leaf(&[HOST]).extension(&[2, 5, 29, 17], &san_value("other.example.org")));
    let two_others = root.issue(
        &Spec::leaf(&[HOST])
            .extension(&[1, 3, 6, 1, 4, 1, 99999, 1], &[0x05, 0x00])
            .extension(&[1, 3, 6, 1, 4, 1, 99999, 1], &[0x05, 0x00]),
    );
    for leaf in [&two_sans, &two_others] {
        let chain = [leaf.der.clone(), root.der.clone()];
        let ee = set([rec(&leaf.der, 3, 1, 1)]);
        let got = verify(&chain, &ee, &checked, now());
        assert!(
            matches!(got, Err(Error::MalformedCertificate { depth: 0, .. })),
            "{got:?}"
        );
        // Without name checks DANE-EE reads no extension (RFC 7671 §5.1).
        assert!(verify(&chain, &ee, &generic(), now()).is_ok());
        // DANE-TA: rustls-webpki refuses such a leaf too.
        assert!(verify(&chain, &set([rec(&root.der, 2, 1, 1)]), &smtp(), now()).is_err());
    }
}

#[test]
fn tbs_optional_fields_once_and_in_order_rfc5280_4_1() {
    // TBSCertificate ends with issuerUniqueID [1], subjectUniqueID [2], extensions [3], each
    // optional, at most once and in that order. A second [3] must not replace the first.
    let root = Cert::self_signed(&Spec::ca("Root"));
    let leaf = root.issue(&Spec::leaf(&["other.example.org"]));
    let ee = set([rec(&leaf.der, 3, 1, 1)]);
    let checked = generic().with_dane_ee_name_checks(true);
    let unique_id = tlv(0x81, &[0x00, 0xaa]);
    let second_exts = tlv(
        0xa3,
        &tlv(
            0x30,
            &tlv(
                0x30,
                &[tlv(0x06, &[0x55, 0x1d, 0x11]), tlv(0x04, &san_value(HOST))].concat(),
            ),
        ),
    );
    let before_exts = |extra: Vec<Vec<u8>>| {
        edit_tbs(&leaf.der, |f| {
            let at = f.len() - 1;
            for (i, e) in extra.into_iter().enumerate() {
                f.insert(at + i, e);
            }
        })
    };
    let shapes = [
        (
            "[3] [3]",
            edit_tbs(&leaf.der, |f| f.push(second_exts.clone())),
        ),
        (
            "[3] [1]",
            edit_tbs(&leaf.der, |f| f.push(unique_id.clone())),
        ),
        (
            "[1] [1] [3]",
            before_exts(vec![unique_id.clone(), unique_id.clone()]),
        ),
        (
            "[2] [1] [3]",
            before_exts(vec![tlv(0x82, &[0x00, 0xbb]), unique_id.clone()]),
        ),
    ];
    for (shape, bad) in shapes {
        for policy in [generic(), checked.clone()] {
            let got = verify(std::slice::from_ref(&bad), &ee, &policy, now());
            assert!(
                matches!(got, Err(Error::MalformedCertificate { depth: 0, .. })),
                "{shape}: {got:?}"
            );
        }
    }
    // In order, once each: accepted (DANE-EE checks no signature).
    let fine = before_exts(vec![unique_id.clone(), tlv(0x82, &[0x00, 0xbb])]);
    assert!(verify(std::slice::from_ref(&fine), &ee, &generic(), now()).is_ok());
}

#[test]
fn failures_map_to_tls_rpt_result_types_rfc8460_4_3() {
    use dane::TlsRptResult as R;
    let cases = [
        (Error::NoUsableRecords, R::TlsaInvalid, "tlsa-invalid"),
        (
            Error::NoMatch,
            R::CertificateNotTrusted,
            "certificate-not-trusted",
        ),
        (
            Error::Expired { depth: Some(0) },
            R::CertificateExpired,
            "certificate-expired",
        ),
        (
            Error::NotYetValid { depth: None },
            R::CertificateExpired,
            "certificate-expired",
        ),
        (
            Error::NameMismatch { names: HOST.into() },
            R::CertificateHostMismatch,
            "certificate-host-mismatch",
        ),
        (
            Error::MalformedCertificate {
                depth: 1,
                reason: "x",
            },
            R::ValidationFailure,
            "validation-failure",
        ),
        (
            Error::EmptyChain,
            R::ValidationFailure,
            "validation-failure",
        ),
        (
            Error::NameConstraintViolation {
                name: "mx.victim.example".into(),
            },
            R::CertificateNotTrusted,
            "certificate-not-trusted",
        ),
        (
            Error::RawPublicKeyNameChecks,
            R::CertificateHostMismatch,
            "certificate-host-mismatch",
        ),
        (
            Error::NoPkixRoots,
            R::CertificateNotTrusted,
            "certificate-not-trusted",
        ),
    ];
    for (e, r, s) in cases {
        assert_eq!(e.tls_rpt_result(), r, "{e}");
        assert_eq!(r.as_str(), s);
    }
}

#[test]
fn generated_records_match_what_operators_publish() {
    use sha2::Digest;
    let h = Hierarchy::new(Alg::Rsa2048, &[HOST]);
    let spki = h.leaf.spki();
    let t = Tlsa::from_certificate(
        &h.leaf.der,
        CertUsage::DaneEe,
        Selector::Spki,
        Matching::Sha256,
    )
    .unwrap();
    assert_eq!(t.data(), sha2::Sha256::digest(&spki).as_slice());
    let t = Tlsa::from_certificate(
        &h.leaf.der,
        CertUsage::DaneTa,
        Selector::Cert,
        Matching::Sha512,
    )
    .unwrap();
    assert_eq!(t.data(), sha2::Sha512::digest(&h.leaf.der).as_slice());
    let t = Tlsa::from_certificate(
        &h.leaf.der,
        CertUsage::DaneTa,
        Selector::Spki,
        Matching::Full,
    )
    .unwrap();
    assert_eq!(t.data(), spki.as_slice());
    assert!(
        Tlsa::from_certificate(
            &h.leaf.der,
            CertUsage::DaneEe,
            Selector::Other(7),
            Matching::Sha256
        )
        .is_err()
    );
}

/// RFC 5280 §4.2.1.3: a CA certificate whose keyUsage lacks keyCertSign may not sign
/// certificates. rustls-webpki checks only basicConstraints on intermediates; OpenSSL
/// (`check_ca`, "invalid CA certificate") refuses such an intermediate below a DANE-TA or
/// PKIX-TA anchor, and so do we.
#[test]
fn intermediate_without_key_cert_sign_is_refused_rfc5280_4_2_1_3() {
    use rcgen::KeyUsagePurpose as Ku;
    let root = Cert::self_signed(&Spec::ca("Root"));
    let bad =
        root.issue(&Spec::ca("No Cert Sign").key_usages(&[Ku::DigitalSignature, Ku::CrlSign]));
    let good = root.issue(&Spec::ca("Int"));
    for (int, ok) in [(&bad, false), (&good, true)] {
        let leaf = int.issue(&Spec::leaf(&[HOST]));
        let chain = [leaf.der.clone(), int.der.clone(), root.der.clone()];
        // DANE-TA: the root sent and matched (2 0 1), or given by its key (2 1 0).
        for r in [rec(&root.der, 2, 0, 1), rec(&root.der, 2, 1, 1)] {
            let v = verify(&chain, &set([r.clone()]), &smtp(), now());
            if ok {
                assert_eq!(v.map(|v| v.depth()), Ok(2), "{r}");
            } else {
                assert!(
                    matches!(
                        v,
                        Err(Error::ChainInvalid {
                            usage: CertUsage::DaneTa,
                            ..
                        })
                    ),
                    "{r}: {v:?}"
                );
            }
        }
        // PKIX-TA with the root as a PKIX root.
        let p = generic().with_pkix_roots(roots(&root));
        let v = verify(&chain, &set([rec(&root.der, 0, 0, 1)]), &p, now());
        if ok {
            assert!(v.is_ok(), "{v:?}");
        } else {
            assert!(matches!(v, Err(Error::Pkix(_))), "{v:?}");
        }
    }
}

/// RFC 5280 §4.2.1.3: a TLS server's key must be allowed to sign (digitalSignature) or to
/// take part in key establishment (keyEncipherment, keyAgreement). Below a DANE-TA or PKIX
/// anchor OpenSSL's `sslserver` purpose refuses a leaf whose keyUsage allows none of them;
/// under DANE-EE the record names the key itself and no purpose is checked.
#[test]
fn leaf_key_usage_must_allow_tls_below_an_anchor_rfc5280_4_2_1_3() {
    use rcgen::KeyUsagePurpose as Ku;
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let leaf = |ku: &[Ku]| h.intermediate.issue(&Spec::leaf(&[HOST]).key_usages(ku));
    let p = smtp().with_pkix_roots(roots(&h.root));
    for (ku, ok) in [
        (vec![Ku::ContentCommitment], false),
        (vec![Ku::DataEncipherment], false),
        (vec![Ku::DigitalSignature], true),
        (vec![Ku::KeyEncipherment], true),
        (vec![Ku::KeyAgreement], true),
        (vec![], true), // no keyUsage extension at all
    ] {
        let l = leaf(&ku);
        let chain = [l.der.clone(), h.intermediate.der.clone()];
        let ta = verify(
            &chain,
            &set([rec(&h.intermediate.der, 2, 1, 1)]),
            &smtp(),
            now(),
        );
        let pkix = verify(
            &chain,
            &set([rec(&h.root.der, 0, 1, 1)]),
            &generic().with_pkix_roots(roots(&h.root)),
            now(),
        );
        let ee = verify(&chain, &set([rec(&l.der, 3, 1, 1)]), &p, now());
        assert_eq!(ee.map(|v| v.depth()), Ok(0), "DANE-EE, {ku:?}");
        if ok {
            assert_eq!(ta.map(|v| v.depth()), Ok(1), "DANE-TA, {ku:?}");
            assert!(pkix.is_ok(), "PKIX-TA, {ku:?}: {pkix:?}");
        } else {
            assert_eq!(
                ta,
                Err(Error::InvalidPurpose {
                    usage: CertUsage::DaneTa
                }),
                "{ku:?}"
            );
            assert_eq!(
                pkix,
                Err(Error::InvalidPurpose {
                    usage: CertUsage::PkixTa
                }),
                "{ku:?}"
            );
        }
    }
}

/// An X.509 v1 leaf (no extensions: names from the CN only) issued directly by a DANE-TA
/// anchor is accepted, as by OpenSSL (RFC 7671 §5.2; rustls-webpki refuses v1 end-entity
/// certificates, so this one step is checked by the crate): its signature must verify under
/// the anchor's key, its dates must hold, its CN must match and lie within the anchor's
/// name constraints (RFC 5280 §4.2.1.10).
#[test]
fn dane_ta_v1_leaf_issued_by_the_anchor_rfc7671_5_2_rfc5280_4_1() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let other = Hierarchy::new(Alg::P256, &[HOST]);
    let v1 = |spec: &Spec, signer: &Cert| h.intermediate.issue(spec).to_v1(&signer.key);
    let ta = || set([rec(&h.intermediate.der, 2, 1, 1)]);
    let check = |leaf: &Cert| {
        verify(
            &[leaf.der.clone(), h.intermediate.der.clone()],
            &ta(),
            &smtp(),
            now(),
        )
    };
    let good = v1(&Spec::leaf(&[HOST]), &h.intermediate);
    assert_eq!(check(&good).map(|v| v.depth()), Ok(1));
    // The anchor's key as a bare 2 1 0 record, the leaf sent alone.
    let bare = set([rec(&h.intermediate.der, 2, 1, 0)]);
    assert_eq!(
        verify(std::slice::from_ref(&good.der), &bare, &smtp(), now()).map(|v| v.depth()),
        Ok(0)
    );
    // Another key signed it: refused.
    let forged = v1(&Spec::leaf(&[HOST]), &other.intermediate);
    assert!(check(&forged).is_err());
    // Expired: refused as such.
    let expired = v1(
        &Spec::leaf(&[HOST]).valid((2020, 1, 1), (2021, 1, 1)),
        &h.intermediate,
    );
    assert_eq!(check(&expired), Err(Error::Expired { depth: Some(0) }));
    // Another name: refused.
    let wrong = v1(&Spec::leaf(&["other.example.org"]), &h.intermediate);
    assert!(matches!(check(&wrong), Err(Error::NameMismatch { .. })));
    // An anchor whose name constraints exclude the CN: refused.
    let constrained = h
        .root
        .issue(&Spec::ca("Constrained").permit(&["attacker.example"]));
    let leaf = constrained
        .issue(&Spec::leaf(&[HOST]))
        .to_v1(&constrained.key);
    let r = verify(
        &[leaf.der.clone(), constrained.der.clone()],
        &set([rec(&constrained.der, 2, 1, 1)]),
        &smtp(),
        now(),
    );
    assert!(
        matches!(r, Err(Error::NameConstraintViolation { .. })),
        "{r:?}"
    );
}
