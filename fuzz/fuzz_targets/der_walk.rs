//! The crate's own DER walk of a certificate, reached through the public API only: the
//! input is one certificate.
//!
//! - `Tlsa::from_certificate` for every selector and matching type: the walk either accepts
//!   the input or refuses it, the same way for all six, and what it gives is the input
//!   (`0 0`), a DER SubjectPublicKeyInfo (`1 0`) or a digest of the right length.
//! - A certificate the walk accepts is verified, as a one-certificate chain, by the DANE-EE
//!   records made from it (no name checks), and its key by `verify_raw_public_key`.
//! - The rest (names with DANE-EE name checks, DANE-TA and PKIX-TA over itself) must return.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use dane::pki_types::{CertificateDer, UnixTime};
use dane::{CertUsage, Matching, PkixRoots, Policy, ReferenceName, Selector, Tlsa, TlsaSet};
use libfuzzer_sys::fuzz_target;

const SELECTORS: [Selector; 2] = [Selector::Cert, Selector::Spki];
const MATCHINGS: [Matching; 3] = [Matching::Full, Matching::Sha256, Matching::Sha512];

fuzz_target!(|der: &[u8]| {
    let mut made = Vec::new();
    for s in SELECTORS {
        for m in MATCHINGS {
            match Tlsa::from_certificate(der, CertUsage::DaneEe, s, m) {
                Ok(t) => made.push(t),
                Err(e) => {
                    let _ = (e.to_string(), e.tls_rpt_result());
                }
            }
        }
    }
    for (s, m) in [
        (Selector::PrivSel, Matching::Sha256),
        (Selector::Cert, Matching::PrivMatch),
    ] {
        assert!(Tlsa::from_certificate(der, CertUsage::DaneEe, s, m).is_err());
    }
    if made.is_empty() {
        return;
    }
    assert_eq!(
        made.len(),
        6,
        "the walk accepted the certificate only for some records"
    );
    let [cert_full, cert_256, cert_512, spki_full, spki_256, spki_512] = &made[..] else {
        unreachable!()
    };
    assert_eq!(cert_full.data(), der);
    assert_eq!(cert_256.data().len(), 32);
    assert_eq!(cert_512.data().len(), 64);
    assert_eq!(spki_256.data().len(), 32);
    assert_eq!(spki_512.data().len(), 64);
    let spki = spki_full.data();
    assert!(der.windows(spki.len()).any(|w| w == spki));
    assert_eq!(
        Tlsa::from_spki(spki, Matching::Sha256).ok().as_ref(),
        Some(spki_256)
    );

    let Ok(name) = ReferenceName::new("mx.example.net") else {
        return;
    };
    let now = UnixTime::since_unix_epoch(Duration::from_secs(1_830_000_000));
    let chain = [CertificateDer::from(der)];
    let smtp = Policy::smtp(name.clone());
    for (i, t) in made.iter().enumerate() {
        let set = TlsaSet::new([t.clone()]);
        let v = dane::verify(&chain, &set, &smtp, now)
            .unwrap_or_else(|e| panic!("record {i} ({t}) made from the certificate: {e}"));
        assert_eq!((v.record_index(), v.depth()), (0, 0));
        assert_eq!(v.record(), t);
    }
    let ee_spki = TlsaSet::new([spki_256.clone()]);
    assert!(dane::verify_raw_public_key(spki, &ee_spki, &smtp).is_ok());

    // Names (SANs or CNs) under DANE-EE name checks; any verdict will do.
    let checked = Policy::generic(name.clone())
        .with_reference_name(ReferenceName::new("example.net").expect("valid name"))
        .with_dane_ee_name_checks(true);
    let _ = dane::verify(&chain, &TlsaSet::new([cert_256.clone()]), &checked, now);

    // The certificate as its own DANE-TA anchor and as a PKIX root.
    let ta = |s, m| Tlsa::from_certificate(der, CertUsage::DaneTa, s, m).ok();
    let ta_set = TlsaSet::new(
        [
            ta(Selector::Cert, Matching::Sha256),
            ta(Selector::Spki, Matching::Full),
        ]
        .into_iter()
        .flatten(),
    );
    let _ = dane::verify(&chain, &ta_set, &smtp, now);
    if let Ok(roots) = PkixRoots::from_certificates([CertificateDer::from(der.to_vec())]) {
        let pkix = Policy::generic(name).with_pkix_roots(Arc::new(roots));
        let pkix_ta =
            Tlsa::from_certificate(der, CertUsage::PkixTa, Selector::Cert, Matching::Sha256);
        let _ = dane::verify(&chain, &TlsaSet::new(pkix_ta), &pkix, now);
    }
});
