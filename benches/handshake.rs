//! Criterion benchmarks of full rustls 0.23 handshakes, WebPKI against DANE.
//!
//! Client and server run in one thread over an in-memory transport (two `Vec<u8>` buffers,
//! no sockets), so each `handshake/*` iteration is the CPU cost of one full TLS 1.3
//! handshake, both sides: key exchange, the server's signature, and the client's
//! certificate decision. Everything but the client's `ServerCertVerifier` is the same in
//! every id: certificates (P-256 root → intermediate → leaf, generated once per run), the
//! server's chain (leaf + intermediate), the provider (`ring`), the versions offered.
//! Session resumption is off on the client and the server sends no tickets, so every
//! handshake is full.
//!
//! - `handshake/webpki`: rustls' `WebPkiServerVerifier`, root CA as the only root.
//! - `handshake/dane_ee_311`: `DaneVerifier`, one `3 1 1` record of the leaf.
//! - `handshake/dane_ta_211`: `DaneVerifier`, one `2 1 1` record of the intermediate.
//!
//! `rustls/config_per_connection` is what a client building one `ClientConfig` per
//! connection pays on top (`DaneVerifier::new(..).client_config()`), and
//! `rustls/config_shared_store_insert` the alternative: registering one host's records in
//! a shared `TlsaStore`. Both include cloning the records and the policy.

#[path = "../tests/common/pki.rs"]
mod pki;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use dane::pki_types::ServerName;
use dane::{
    CertUsage, DaneVerifier, Matching, Outcome, Policy, ReferenceName, Selector, Tlsa, TlsaSet,
    TlsaStore,
};
use pki::{Alg, Hierarchy};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig};
use rustls::{ServerConnection, version::TLS13};

const HOST: &str = "mx.example.net";

/// Moves everything `from` has to send into `to`, and lets `to` process it. Returns the
/// number of bytes moved.
fn transfer(
    from: &mut Connection,
    to: &mut Connection,
    buf: &mut Vec<u8>,
) -> Result<usize, rustls::Error> {
    buf.clear();
    while from.wants_write() {
        from.write_tls(buf).expect("writing to a Vec");
    }
    let mut rest = &buf[..];
    while !rest.is_empty() {
        to.read_tls(&mut rest).expect("reading from a slice");
        to.process_new_packets()?;
    }
    Ok(buf.len())
}

/// One full handshake between fresh connections; `Err` is the first side's error.
fn handshake(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    name: &ServerName<'static>,
    buf: &mut Vec<u8>,
) -> Result<(), rustls::Error> {
    let mut client = Connection::Client(ClientConnection::new(client.clone(), name.clone())?);
    let mut server = Connection::Server(ServerConnection::new(server.clone())?);
    while client.is_handshaking() || server.is_handshaking() {
        let moved =
            transfer(&mut client, &mut server, buf)? + transfer(&mut server, &mut client, buf)?;
        assert!(moved > 0, "handshake stalled");
    }
    Ok(())
}

fn no_resumption(mut config: ClientConfig) -> Arc<ClientConfig> {
    config.resumption = Resumption::disabled();
    Arc::new(config)
}

fn benches(c: &mut Criterion) {
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let name = ServerName::try_from(HOST).unwrap();
    let policy = Policy::smtp(ReferenceName::new(HOST).unwrap());
    let rec = |der: &[u8], u: CertUsage| {
        Tlsa::from_certificate(der, u, Selector::Spki, Matching::Sha256).unwrap()
    };

    let mut server = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(h.chain2(), h.leaf.private_key())
        .unwrap();
    server.send_tls13_tickets = 0;
    let server = Arc::new(server);

    let mut roots = RootCertStore::empty();
    roots.add(h.root.der.clone()).unwrap();
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let webpki = no_resumption(
        ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_webpki_verifier(webpki)
            .with_no_client_auth(),
    );

    let ee311 = TlsaSet::new([rec(&h.leaf.der, CertUsage::DaneEe)]);
    let ee_verifier = DaneVerifier::new(ee311.clone(), policy.clone(), provider.clone());
    let ee = no_resumption(ee_verifier.client_config().unwrap());
    let ta211 = TlsaSet::new([rec(&h.intermediate.der, CertUsage::DaneTa)]);
    let ta_verifier = DaneVerifier::new(ta211, policy.clone(), provider.clone());
    let ta = no_resumption(ta_verifier.client_config().unwrap());

    // Each configuration must complete a handshake, DANE ones by a TLSA record, before
    // being timed.
    let mut buf = Vec::with_capacity(16 * 1024);
    handshake(&webpki, &server, &name, &mut buf).expect("WebPKI handshake");
    for (verifier, config, usage, depth) in [
        (&ee_verifier, &ee, CertUsage::DaneEe, 0),
        (&ta_verifier, &ta, CertUsage::DaneTa, 1),
    ] {
        handshake(config, &server, &name, &mut buf).expect("DANE handshake");
        match verifier.outcome() {
            Some(Outcome::Dane(v)) => {
                assert_eq!((v.usage(), v.depth()), (usage, depth), "{v}")
            }
            other => panic!("DANE handshake without a DANE outcome: {other:?}"),
        }
    }

    let mut g = c.benchmark_group("handshake");
    for (id, config) in [
        ("webpki", &webpki),
        ("dane_ee_311", &ee),
        ("dane_ta_211", &ta),
    ] {
        g.bench_function(id, |b| {
            b.iter(|| handshake(black_box(config), &server, &name, &mut buf).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("rustls");
    g.bench_function("config_per_connection", |b| {
        b.iter(|| {
            DaneVerifier::new(black_box(&ee311).clone(), policy.clone(), provider.clone())
                .client_config()
                .unwrap()
        })
    });
    let store = TlsaStore::new();
    g.bench_function("config_shared_store_insert", |b| {
        b.iter(|| store.insert(HOST, black_box(&ee311).clone(), policy.clone(), &provider))
    });
    g.finish();
}

criterion_group!(handshakes, benches);
criterion_main!(handshakes);
