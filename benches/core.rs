//! Criterion benchmarks of the pure core, DER in → verdict out.
//!
//! Ids are stable so runs can be compared: `core/sha256_leaf_spki` is the floor (one bare
//! SHA-256 of the leaf's SPKI, what any DANE-EE 3 1 1 check must at least do);
//! `core/ecdsa_p256_verify` is one P-256 signature verification, the floor of a DANE-TA
//! check whose anchor is the leaf's issuer.

#[path = "../tests/common/pki.rs"]
mod pki;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use dane::{PkixRoots, Policy, ReferenceName, Tlsa, TlsaSet, verify};
use pki::{Alg, Hierarchy};
use rcgen::SigningKey;
use sha2::Digest;

fn core(c: &mut Criterion) {
    let host = "mx.example.net";
    let h = Hierarchy::new(Alg::P256, &[host]);
    let old = Hierarchy::new(Alg::P256, &[host]);
    let chain3 = h.chain3();
    let chain2 = h.chain2();
    let now = pki::now();
    let smtp = Policy::smtp(ReferenceName::new(host).unwrap());
    let roots = Arc::new(PkixRoots::from_certificates([h.root.der.clone()]).unwrap());
    let generic = Policy::generic(ReferenceName::new(host).unwrap()).with_pkix_roots(roots);
    let rec = |der: &[u8], u: u8, s: u8, m: u8| {
        Tlsa::from_certificate(der, u.into(), s.into(), m.into()).unwrap()
    };
    let spki = h.leaf.spki();

    let mut g = c.benchmark_group("core");
    g.bench_function("sha256_leaf_spki", |b| {
        b.iter(|| sha2::Sha256::digest(black_box(&spki)))
    });

    // A rollover RRset: the retired key first, the current one second.
    let ee311 = TlsaSet::new([rec(&old.leaf.der, 3, 1, 1), rec(&h.leaf.der, 3, 1, 1)]);
    g.bench_function("dane_ee_311", |b| {
        b.iter(|| verify(black_box(&chain3), &ee311, &smtp, now).unwrap())
    });
    let ee301 = TlsaSet::new([rec(&old.leaf.der, 3, 0, 1), rec(&h.leaf.der, 3, 0, 1)]);
    g.bench_function("dane_ee_301", |b| {
        b.iter(|| verify(black_box(&chain3), &ee301, &smtp, now).unwrap())
    });

    let ta211 = TlsaSet::new([rec(&h.intermediate.der, 2, 1, 1)]);
    g.bench_function("dane_ta_211", |b| {
        b.iter(|| verify(black_box(&chain3), &ta211, &smtp, now).unwrap())
    });
    let ta210 = TlsaSet::new([rec(&h.root.der, 2, 1, 0)]);
    g.bench_function("dane_ta_210_bare_key", |b| {
        b.iter(|| verify(black_box(&chain2), &ta210, &smtp, now).unwrap())
    });
    let pkix111 = TlsaSet::new([rec(&h.leaf.der, 1, 1, 1)]);
    g.bench_function("pkix_ee_111", |b| {
        b.iter(|| verify(black_box(&chain2), &pkix111, &generic, now).unwrap())
    });

    // The same 3 1 1 check on an RSA-2048 chain (294-byte SPKI: five SHA-256 blocks
    // instead of two), with its own floor.
    let rsa = Hierarchy::new(Alg::Rsa2048, &[host]);
    let rsa_old = Hierarchy::new(Alg::Rsa2048, &[host]);
    let rsa_spki = rsa.leaf.spki();
    let rsa_chain = rsa.chain3();
    let rsa311 = TlsaSet::new([rec(&rsa_old.leaf.der, 3, 1, 1), rec(&rsa.leaf.der, 3, 1, 1)]);
    g.bench_function("sha256_leaf_spki_rsa2048", |b| {
        b.iter(|| sha2::Sha256::digest(black_box(&rsa_spki)))
    });
    g.bench_function("dane_ee_311_rsa2048", |b| {
        b.iter(|| verify(black_box(&rsa_chain), &rsa311, &smtp, now).unwrap())
    });

    let text = format!(
        "3 1 1 {}",
        rec(&h.leaf.der, 3, 1, 1)
            .to_string()
            .split(' ')
            .nth(3)
            .unwrap()
    );
    g.bench_function("parse_presentation", |b| {
        b.iter(|| black_box(&text).parse::<Tlsa>().unwrap())
    });

    // One P-256 signature verification of a certificate-sized message: the cost DANE-TA
    // 2 1 1 cannot avoid when the anchor is the leaf's issuer.
    let msg = vec![0x5a_u8; 400];
    let sig = h.intermediate.key.sign(&msg).unwrap();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        h.intermediate.key.public_key_raw().to_vec(),
    );
    g.bench_function("ecdsa_p256_verify", |b| {
        b.iter(|| public.verify(black_box(&msg), &sig).unwrap())
    });
    g.finish();
}

criterion_group!(benches, core);
criterion_main!(benches);
