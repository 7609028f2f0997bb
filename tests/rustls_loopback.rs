//! Real rustls handshakes on 127.0.0.1 (tokio + tokio-rustls) with `DaneVerifier`.
#![cfg(feature = "rustls")]

mod common;
use common::pki::{ALGS, Alg, Cert, Hierarchy, Spec};

use std::net::SocketAddr;
use std::sync::Arc;

use dane::pki_types::{CertificateDer, ServerName};
use dane::{
    CertUsage, DaneVerifier, Error, NoUsableRecords, Outcome, Policy, Profile, ReferenceName, Tlsa,
    TlsaSet, TlsaStore, danger,
};
use rustls::crypto::CryptoProvider;
use rustls::version::{TLS12, TLS13};
use rustls::{ServerConfig, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HOST: &str = "mx.example.net";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn rec(der: &CertificateDer<'_>, u: u8, s: u8, m: u8) -> Tlsa {
    Tlsa::from_certificate(der, u.into(), s.into(), m.into()).unwrap()
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    leaf: &Cert,
    version: &'static SupportedProtocolVersion,
) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[version])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, leaf.private_key())
            .unwrap(),
    )
}

/// Serves `config` on a fresh loopback port: each connection completes the handshake, reads
/// one line and echoes it back.
async fn serve(config: Arc<ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 64];
                    if let Ok(n) = tls.read(&mut buf).await {
                        let _ = tls.write_all(&buf[..n]).await;
                        let _ = tls.shutdown().await;
                    }
                }
            });
        }
    });
    addr
}

/// Connects with `verifier`'s config under `name`, exchanges a line, returns the outcome.
async fn connect_with(
    addr: SocketAddr,
    config: rustls::ClientConfig,
    name: &str,
) -> Result<(), rustls::Error> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let server_name = ServerName::try_from(name.to_owned()).unwrap();
    let mut tls = connector.connect(server_name, tcp).await.map_err(|e| {
        e.into_inner()
            .and_then(|i| i.downcast::<rustls::Error>().ok())
            .map(|b| *b)
            .unwrap_or(rustls::Error::General("I/O error".into()))
    })?;
    tls.write_all(b"ping\n").await.unwrap();
    let mut buf = Vec::new();
    tls.read_to_end(&mut buf).await.unwrap();
    assert_eq!(buf, b"ping\n");
    Ok(())
}

async fn connect(
    addr: SocketAddr,
    verifier: &DaneVerifier,
    name: &str,
) -> Result<Outcome, rustls::Error> {
    connect_with(addr, verifier.client_config().unwrap(), name).await?;
    Ok(verifier
        .outcome()
        .expect("an outcome after a verified handshake"))
}

/// Our error inside rustls' `InvalidCertificate(Other(..))`.
fn dane_error(e: &rustls::Error) -> &Error {
    match e {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(o)) => {
            o.0.downcast_ref::<Error>()
                .unwrap_or_else(|| panic!("not a dane::Error: {e:?}"))
        }
        other => panic!("expected InvalidCertificate(Other(dane::Error)), got {other:?}"),
    }
}

fn smtp(name: &str) -> Policy {
    Policy::smtp(ReferenceName::new(name).unwrap())
}

#[tokio::test]
async fn dane_ee_311_with_expired_self_signed_leaf_and_wrong_name_rfc7672_3_1_1() {
    let leaf = Cert::self_signed(
        &Spec::leaf(&["something.else.example"]).valid((2000, 1, 1), (2001, 1, 1)),
    );
    for version in [&TLS12, &TLS13] {
        let addr = serve(server_config(vec![leaf.der.clone()], &leaf, version)).await;
        let v = DaneVerifier::new(
            TlsaSet::new([rec(&leaf.der, 3, 1, 1)]),
            smtp(HOST),
            provider(),
        );
        let outcome = connect(addr, &v, HOST).await.unwrap();
        let Outcome::Dane(verified) = &outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!((verified.usage(), verified.depth()), (CertUsage::DaneEe, 0));
        assert!(
            outcome
                .to_string()
                .starts_with("Verified TLS connection (DANE-EE(3) SPKI(1) SHA2-256(1)")
        );
    }
}

#[tokio::test]
async fn every_key_type_and_version_dane_ee_and_dane_ta() {
    for alg in ALGS {
        let h = Hierarchy::new(alg, &[HOST]);
        for version in [&TLS12, &TLS13] {
            let addr = serve(server_config(h.chain2(), &h.leaf, version)).await;
            for (record, usage, depth) in [
                (rec(&h.leaf.der, 3, 1, 1), CertUsage::DaneEe, 0),
                (rec(&h.intermediate.der, 2, 1, 1), CertUsage::DaneTa, 1),
            ] {
                let v = DaneVerifier::for_server_name(
                    TlsaSet::new([record]),
                    Profile::Smtp,
                    provider(),
                );
                let outcome = connect(addr, &v, HOST)
                    .await
                    .unwrap_or_else(|e| panic!("{alg:?} {version:?}: {e}"));
                let Outcome::Dane(verified) = outcome else {
                    panic!()
                };
                assert_eq!(
                    (verified.usage(), verified.depth()),
                    (usage, depth),
                    "{alg:?} {version:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn dane_ta_211_checks_the_name_rfc7672_3_2_2() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let addr = serve(server_config(h.chain2(), &h.leaf, &TLS13)).await;
    let records = || TlsaSet::new([rec(&h.intermediate.der, 2, 1, 1)]);
    let ok = DaneVerifier::for_server_name(records(), Profile::Smtp, provider());
    assert!(connect(addr, &ok, HOST).await.is_ok());
    let wrong = DaneVerifier::for_server_name(records(), Profile::Smtp, provider());
    let e = connect(addr, &wrong, "mx2.example.net").await.unwrap_err();
    assert!(
        matches!(dane_error(&e), Error::NameMismatch { .. }),
        "{e:?}"
    );
    assert_eq!(wrong.outcome(), None);
}

#[tokio::test]
async fn impostor_is_refused_with_our_error_and_never_falls_back() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let impostor = Hierarchy::new(Alg::P256, &[HOST]);
    let addr = serve(server_config(impostor.chain2(), &impostor.leaf, &TLS13)).await;
    // The fallback would accept the impostor (its own root): it must not be consulted.
    let roots = {
        let mut r = rustls::RootCertStore::empty();
        r.add(impostor.root.der.clone()).unwrap();
        Arc::new(r)
    };
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider())
        .build()
        .unwrap();
    let v = DaneVerifier::new(
        TlsaSet::new([rec(&h.leaf.der, 3, 1, 1), rec(&h.intermediate.der, 2, 1, 1)]),
        smtp(HOST),
        provider(),
    )
    .with_no_usable_records(NoUsableRecords::FallBack(webpki));
    let e = connect(addr, &v, HOST).await.unwrap_err();
    assert_eq!(dane_error(&e), &Error::NoMatch);
    assert_eq!(v.outcome(), None);
}

#[tokio::test]
async fn no_usable_records_is_the_callers_choice_rfc7671_4_rfc7672_2_2() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let addr = serve(server_config(h.chain2(), &h.leaf, &TLS13)).await;
    let unusable = || TlsaSet::new([Tlsa::new(255, 1, 1, rec(&h.leaf.der, 3, 1, 1).data())]);
    // Default: fail.
    let v = DaneVerifier::new(unusable(), smtp(HOST), provider());
    let e = connect(addr, &v, HOST).await.unwrap_err();
    assert_eq!(dane_error(&e), &Error::NoUsableRecords);
    // Fall back to WebPKI: accepted with the right root, refused with another.
    let webpki = |root: &CertificateDer<'static>| {
        let mut r = rustls::RootCertStore::empty();
        r.add(root.clone()).unwrap();
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(r), provider())
            .build()
            .unwrap()
    };
    let v = DaneVerifier::new(unusable(), smtp(HOST), provider())
        .with_no_usable_records(NoUsableRecords::FallBack(webpki(&h.root.der)));
    assert_eq!(connect(addr, &v, HOST).await.unwrap(), Outcome::FallBack);
    let other = Hierarchy::new(Alg::P256, &[HOST]);
    let v = DaneVerifier::new(unusable(), smtp(HOST), provider())
        .with_no_usable_records(NoUsableRecords::FallBack(webpki(&other.root.der)));
    let e = connect(addr, &v, HOST).await.unwrap_err();
    // WebPKI's own refusal (same root name, another key: a bad signature), not ours.
    assert!(
        matches!(&e, rustls::Error::InvalidCertificate(c) if !matches!(c, rustls::CertificateError::Other(_))),
        "{e:?}"
    );
    // Opportunistic SMTP: TLS, unauthenticated.
    let v = DaneVerifier::new(unusable(), smtp(HOST), provider())
        .with_no_usable_records(danger::accept_unauthenticated());
    assert_eq!(
        connect(addr, &v, HOST).await.unwrap(),
        Outcome::Unauthenticated
    );
}

#[tokio::test]
async fn connect_by_ip_address_authenticating_the_mx_name() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let addr = serve(server_config(h.chain2(), &h.leaf, &TLS13)).await;
    let records = TlsaSet::new([rec(&h.intermediate.der, 2, 1, 1)]);
    let v = DaneVerifier::new(records.clone(), smtp(HOST), provider());
    let Outcome::Dane(verified) = connect(addr, &v, "127.0.0.1").await.unwrap() else {
        panic!()
    };
    assert_eq!(verified.name().unwrap().as_str(), HOST);
    // Without a policy, an IP address gives no reference identifier: refused.
    let v = DaneVerifier::for_server_name(records, Profile::Smtp, provider());
    assert!(connect(addr, &v, "127.0.0.1").await.is_err());
}

#[tokio::test]
async fn chain_out_of_order_and_trust_anchor_not_sent_rfc7671_5_2_2() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    // leaf, root, intermediate: out of order, with the root.
    let shuffled = vec![
        h.leaf.der.clone(),
        h.root.der.clone(),
        h.intermediate.der.clone(),
    ];
    let addr = serve(server_config(shuffled, &h.leaf, &TLS13)).await;
    let v = DaneVerifier::new(
        TlsaSet::new([rec(&h.root.der, 2, 0, 1)]),
        smtp(HOST),
        provider(),
    );
    let Outcome::Dane(verified) = connect(addr, &v, HOST).await.unwrap() else {
        panic!()
    };
    assert_eq!(verified.depth(), 1);
    // The root is not sent: 2 0 0 and 2 1 0 carry it.
    let addr = serve(server_config(h.chain2(), &h.leaf, &TLS12)).await;
    for (s, depth) in [(0, 2), (1, 1)] {
        let v = DaneVerifier::new(
            TlsaSet::new([rec(&h.root.der, 2, s, 0)]),
            smtp(HOST),
            provider(),
        );
        let Outcome::Dane(verified) = connect(addr, &v, HOST).await.unwrap() else {
            panic!()
        };
        assert_eq!(
            (verified.depth(), verified.anchor_from_record()),
            (depth, true),
            "2 {s} 0"
        );
    }
}

#[tokio::test]
async fn one_shared_config_with_a_store_keyed_by_server_name() {
    let a = Hierarchy::new(Alg::P256, &["a.example.net"]);
    let b = Hierarchy::new(Alg::Ed25519, &["b.example.net"]);
    let addr_a = serve(server_config(a.chain2(), &a.leaf, &TLS13)).await;
    let addr_b = serve(server_config(b.chain2(), &b.leaf, &TLS12)).await;
    let p = provider();
    let store = Arc::new(TlsaStore::new());
    store.insert(
        "a.example.net",
        TlsaSet::new([rec(&a.leaf.der, 3, 1, 1)]),
        smtp("a.example.net"),
        &p,
    );
    store.insert(
        "B.Example.Net.",
        TlsaSet::new([rec(&b.intermediate.der, 2, 1, 1)]),
        smtp("b.example.net"),
        &p,
    );
    let config = DaneVerifier::with_store(store.clone(), p)
        .client_config()
        .unwrap();
    connect_with(addr_a, config.clone(), "a.example.net")
        .await
        .unwrap();
    connect_with(addr_b, config.clone(), "b.example.net")
        .await
        .unwrap();
    assert!(
        matches!(store.outcome("a.example.net"), Some(Outcome::Dane(v)) if v.usage() == CertUsage::DaneEe)
    );
    assert!(
        matches!(store.outcome("b.example.net"), Some(Outcome::Dane(v)) if v.usage() == CertUsage::DaneTa)
    );
    // Swapped: each server fails the other's records.
    assert!(
        connect_with(addr_a, config.clone(), "b.example.net")
            .await
            .is_err()
    );
    // A name without an entry fails closed.
    let e = connect_with(addr_a, config, "c.example.net")
        .await
        .unwrap_err();
    assert!(matches!(dane_error(&e), Error::Unsupported(_)), "{e:?}");
}

#[tokio::test]
async fn raw_public_key_rfc7250_tls13() {
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let p = provider();
    let spki = CertificateDer::from(h.leaf.spki());
    let key = p
        .key_provider
        .load_private_key(h.leaf.private_key())
        .unwrap();
    let certified = Arc::new(rustls::sign::CertifiedKey::new(vec![spki], key));
    let config = ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[&TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(
            rustls::server::AlwaysResolvesServerRawPublicKeys::new(certified),
        ));
    let addr = serve(Arc::new(config)).await;
    let v = DaneVerifier::new(
        TlsaSet::new([rec(&h.leaf.der, 3, 1, 1)]),
        smtp(HOST),
        p.clone(),
    )
    .with_raw_public_keys();
    let Outcome::Dane(verified) = connect(addr, &v, HOST).await.unwrap() else {
        panic!()
    };
    assert_eq!(verified.usage(), CertUsage::DaneEe);
    // Another key is refused.
    let other = Hierarchy::new(Alg::P256, &[HOST]);
    let v = DaneVerifier::new(
        TlsaSet::new([rec(&other.leaf.der, 3, 1, 1)]),
        smtp(HOST),
        p.clone(),
    )
    .with_raw_public_keys();
    assert_eq!(
        dane_error(&connect(addr, &v, HOST).await.unwrap_err()),
        &Error::NoMatch
    );
    // Asking an X.509-only server for a raw key fails: RPK is a per-connection choice.
    let x509 = serve(server_config(h.chain2(), &h.leaf, &TLS13)).await;
    let v = DaneVerifier::new(TlsaSet::new([rec(&h.leaf.der, 3, 1, 1)]), smtp(HOST), p)
        .with_raw_public_keys();
    assert!(connect(x509, &v, HOST).await.is_err());
}

/// An X.509 v1 certificate made by `openssl x509 -req` (no extensions), as older MTAs
/// still present: DANE-EE binds only its key (RFC 7671 §5.1), so the handshake must succeed
/// although rustls-webpki refuses to parse v1 end-entity certificates.
#[tokio::test]
async fn dane_ee_accepts_an_x509_v1_leaf_tls12_and_tls13() {
    let dir = std::env::temp_dir().join(format!("dane-v1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let openssl = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
    };
    match openssl(&["version"]) {
        Ok(o) if o.status.success() => {}
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and no openssl binary")
        }
        _ => {
            eprintln!("*** openssl not found: SKIPPING the X.509 v1 test ***");
            return;
        }
    }
    let ok = |o: std::io::Result<std::process::Output>| {
        let o = o.unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    ok(openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "key.pem",
        "-subj",
        "/CN=mx.example.net",
        "-out",
        "req.csr",
    ]));
    ok(openssl(&[
        "x509", "-req", "-in", "req.csr", "-signkey", "key.pem", "-days", "30", "-out", "cert.pem",
    ]));
    use dane::pki_types::pem::PemObject;
    let cert = CertificateDer::from_pem_file(dir.join("cert.pem")).unwrap();
    let key = dane::pki_types::PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        cert.as_ref()[4],
        0x30,
        "a v1 certificate has no [0] version field"
    );
    assert!(
        webpki::EndEntityCert::try_from(&cert).is_err(),
        "rustls-webpki refuses v1 leaves"
    );

    let p = provider();
    let signing_key = p.key_provider.load_private_key(key).unwrap();
    let certified = Arc::new(rustls::sign::CertifiedKey::new(
        vec![cert.clone()],
        signing_key,
    ));
    for version in [&TLS12, &TLS13] {
        let config = ServerConfig::builder_with_provider(p.clone())
            .with_protocol_versions(&[version])
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Always(certified.clone())));
        let addr = serve(Arc::new(config)).await;
        let v = DaneVerifier::new(TlsaSet::new([rec(&cert, 3, 1, 1)]), smtp(HOST), p.clone());
        let outcome = connect(addr, &v, HOST)
            .await
            .unwrap_or_else(|e| panic!("{version:?}: {e}"));
        assert!(matches!(outcome, Outcome::Dane(_)), "{version:?}");
    }
}

/// Serves one certified key without rustls' own checks of the certificate (which, like
/// rustls-webpki, would refuse a v1 certificate).
#[derive(Debug)]
struct Always(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Always {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

// ---- Session resumption across TLSA changes -------------------------------------------

/// How the server offers resumption.
#[derive(Clone, Copy, Debug)]
enum Resume {
    /// TLS 1.2 session IDs (the server's session cache).
    Tls12SessionId,
    /// TLS 1.2 RFC 5077 tickets.
    Tls12Ticket,
    /// TLS 1.3 PSK from stateful tickets (the server's session cache).
    Tls13Stateful,
    /// TLS 1.3 PSK from stateless tickets.
    Tls13Ticket,
}

const RESUME_MODES: [Resume; 4] = [
    Resume::Tls12SessionId,
    Resume::Tls12Ticket,
    Resume::Tls13Stateful,
    Resume::Tls13Ticket,
];

fn resuming_server(h: &Hierarchy, mode: Resume) -> Arc<ServerConfig> {
    let version = match mode {
        Resume::Tls12SessionId | Resume::Tls12Ticket => &TLS12,
        Resume::Tls13Stateful | Resume::Tls13Ticket => &TLS13,
    };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(h.chain2(), h.leaf.private_key())
        .unwrap();
    if matches!(mode, Resume::Tls12Ticket | Resume::Tls13Ticket) {
        config.ticketer = rustls::crypto::ring::Ticketer::new().unwrap();
    }
    Arc::new(config)
}

/// One connection with `config` (the same `Arc` each time, so its session store is
/// shared), exchanging a line; returns how the handshake went.
async fn connect_kind(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    name: &str,
) -> Result<rustls::HandshakeKind, rustls::Error> {
    let connector = tokio_rustls::TlsConnector::from(config.clone());
    let tcp = TcpStream::connect(addr).await.unwrap();
    let server_name = ServerName::try_from(name.to_owned()).unwrap();
    let mut tls = connector.connect(server_name, tcp).await.map_err(|e| {
        e.into_inner()
            .and_then(|i| i.downcast::<rustls::Error>().ok())
            .map(|b| *b)
            .unwrap_or(rustls::Error::General("I/O error".into()))
    })?;
    tls.write_all(b"ping\n").await.unwrap();
    let mut buf = Vec::new();
    // Reading to the end also takes in TLS 1.3 tickets.
    tls.read_to_end(&mut buf).await.unwrap();
    assert_eq!(buf, b"ping\n");
    Ok(tls.get_ref().1.handshake_kind().unwrap())
}

/// A record set that matches nothing the tests serve.
fn unusable_records(h: &Hierarchy) -> TlsaSet {
    TlsaSet::new([Tlsa::new(255, 1, 1, rec(&h.leaf.der, 3, 1, 1).data())])
}

#[tokio::test]
async fn a_session_made_unauthenticated_does_not_resume_after_records_appear() {
    use rustls::HandshakeKind::{Full, Resumed};
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let other = Hierarchy::new(Alg::P256, &[HOST]);
    let p = provider();
    for mode in RESUME_MODES {
        let addr = serve(resuming_server(&h, mode)).await;
        let store = Arc::new(TlsaStore::new());
        store.insert_with(
            HOST,
            unusable_records(&h),
            smtp(HOST),
            &p,
            danger::accept_unauthenticated(),
        );
        let config = Arc::new(
            DaneVerifier::with_store(store.clone(), p.clone())
                .client_config()
                .unwrap(),
        );
        assert_eq!(connect_kind(addr, &config, HOST).await.unwrap(), Full);
        assert_eq!(store.outcome(HOST), Some(Outcome::Unauthenticated));
        // The sessions resume while nothing changes.
        assert_eq!(
            connect_kind(addr, &config, HOST).await.unwrap(),
            Resumed,
            "{mode:?}"
        );
        // Usable records that do not match the server: the DANE failure, not a resumption.
        store.insert(
            HOST,
            TlsaSet::new([rec(&other.leaf.der, 3, 1, 1)]),
            smtp(HOST),
            &p,
        );
        let e = connect_kind(addr, &config, HOST).await.unwrap_err();
        assert_eq!(dane_error(&e), &Error::NoMatch, "{mode:?}");
        assert_eq!(store.outcome(HOST), None, "{mode:?}");
    }
}

#[tokio::test]
async fn a_session_resumes_only_under_the_records_and_policy_it_was_authenticated_with() {
    use rustls::HandshakeKind::{Full, Resumed};
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let p = provider();
    for mode in RESUME_MODES {
        let addr = serve(resuming_server(&h, mode)).await;
        let store = Arc::new(TlsaStore::new());
        let ee = || TlsaSet::new([rec(&h.leaf.der, 3, 1, 1)]);
        store.insert(HOST, ee(), smtp(HOST), &p);
        let config = Arc::new(
            DaneVerifier::with_store(store.clone(), p.clone())
                .client_config()
                .unwrap(),
        );
        assert_eq!(connect_kind(addr, &config, HOST).await.unwrap(), Full);
        assert!(matches!(store.outcome(HOST), Some(Outcome::Dane(_))));
        // Nothing changed: resumed, and the outcome says so.
        assert_eq!(
            connect_kind(addr, &config, HOST).await.unwrap(),
            Resumed,
            "{mode:?}"
        );
        assert_eq!(store.outcome(HOST), Some(Outcome::Resumed), "{mode:?}");
        // Other records that also match: a full handshake under them.
        store.insert(
            HOST,
            TlsaSet::new([rec(&h.intermediate.der, 2, 1, 1)]),
            smtp(HOST),
            &p,
        );
        assert_eq!(
            connect_kind(addr, &config, HOST).await.unwrap(),
            Full,
            "{mode:?}"
        );
        assert!(
            matches!(store.outcome(HOST), Some(Outcome::Dane(v)) if v.usage() == CertUsage::DaneTa),
            "{mode:?}"
        );
        // Same records, another policy (another reference name): a full handshake too.
        store.insert(
            HOST,
            TlsaSet::new([rec(&h.intermediate.der, 2, 1, 1)]),
            smtp(HOST).with_reference_name(ReferenceName::new("example.net").unwrap()),
            &p,
        );
        assert_eq!(
            connect_kind(addr, &config, HOST).await.unwrap(),
            Full,
            "{mode:?}"
        );
        // Removed: no entry, no resumption, the handshake fails closed.
        store.remove(HOST);
        let e = connect_kind(addr, &config, HOST).await.unwrap_err();
        assert!(
            matches!(dane_error(&e), Error::Unsupported(_)),
            "{mode:?}: {e:?}"
        );
    }
}

#[tokio::test]
async fn same_data_reinserted_forgets_sessions_then_resumes_again_and_a_change_stops_them() {
    use rustls::HandshakeKind::{Full, Resumed};
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let p = provider();
    for mode in RESUME_MODES {
        let addr = serve(resuming_server(&h, mode)).await;
        let store = Arc::new(TlsaStore::new());
        let ee = || TlsaSet::new([rec(&h.leaf.der, 3, 1, 1)]);
        store.insert(HOST, ee(), smtp(HOST), &p);
        // A config of the caller's own, given the crate's resumption.
        let verifier = DaneVerifier::with_store(store.clone(), p.clone());
        let mut config = rustls::ClientConfig::builder_with_provider(p.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier.clone()))
            .with_no_client_auth();
        config.resumption = verifier.resumption();
        let config = Arc::new(config);
        assert_eq!(connect_kind(addr, &config, HOST).await.unwrap(), Full);
        assert_eq!(connect_kind(addr, &config, HOST).await.unwrap(), Resumed);
        // The same data again (a TTL refresh): sessions forgotten, then made anew.
        store.insert(HOST, ee(), smtp(HOST), &p);
        assert_eq!(
            connect_kind(addr, &config, HOST).await.unwrap(),
            Full,
            "{mode:?}"
        );
        assert_eq!(
            connect_kind(addr, &config, HOST).await.unwrap(),
            Resumed,
            "{mode:?}"
        );
        assert_eq!(verifier.outcome(), Some(Outcome::Resumed));
        // Other data after connections under the old: no session is stored any more, as a
        // ticket from an old connection could not be told apart.
        store.insert(
            HOST,
            TlsaSet::new([rec(&h.intermediate.der, 2, 1, 1)]),
            smtp(HOST),
            &p,
        );
        for _ in 0..2 {
            assert_eq!(
                connect_kind(addr, &config, HOST).await.unwrap(),
                Full,
                "{mode:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_one_host_config_resumes_while_reused_and_reports_resumed() {
    use rustls::HandshakeKind::{Full, Resumed};
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    for mode in RESUME_MODES {
        let addr = serve(resuming_server(&h, mode)).await;
        let v = DaneVerifier::new(
            TlsaSet::new([rec(&h.leaf.der, 3, 1, 1)]),
            smtp(HOST),
            provider(),
        );
        let config = Arc::new(v.client_config().unwrap());
        assert_eq!(connect_kind(addr, &config, HOST).await.unwrap(), Full);
        assert!(matches!(v.outcome(), Some(Outcome::Dane(_))));
        assert_eq!(
            connect_kind(addr, &config, HOST).await.unwrap(),
            Resumed,
            "{mode:?}"
        );
        assert_eq!(v.outcome(), Some(Outcome::Resumed), "{mode:?}");
        // Another verifier's config (other data) never resumes this one's sessions.
        let other = DaneVerifier::new(
            TlsaSet::new([rec(&h.intermediate.der, 2, 1, 1)]),
            smtp(HOST),
            provider(),
        );
        let config = Arc::new(other.client_config().unwrap());
        assert_eq!(
            connect_kind(addr, &config, HOST).await.unwrap(),
            Full,
            "{mode:?}"
        );
    }
}

// ---- One-call entry points -------------------------------------------------------------

#[tokio::test]
async fn one_call_config_authenticates_and_refuses_an_impostor() {
    use dane::ConfigDaneExt;
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let impostor = Hierarchy::new(Alg::P256, &[HOST]);
    let addr = serve(server_config(h.chain2(), &h.leaf, &TLS13)).await;
    let records = || TlsaSet::new([rec(&h.leaf.der, 3, 1, 1)]);
    let config = rustls::ClientConfig::with_dane(records(), smtp(HOST)).unwrap();
    connect_with(addr, config, HOST).await.unwrap();
    let bad = serve(server_config(impostor.chain2(), &impostor.leaf, &TLS13)).await;
    let config = rustls::ClientConfig::with_dane(records(), smtp(HOST)).unwrap();
    let e = connect_with(bad, config, HOST).await.unwrap_err();
    assert_eq!(dane_error(&e), &Error::NoMatch);
    // No usable records: fails (the one-call config never accepts unauthenticated).
    let config = rustls::ClientConfig::with_dane(unusable_records(&h), smtp(HOST)).unwrap();
    let e = connect_with(addr, config, HOST).await.unwrap_err();
    assert_eq!(dane_error(&e), &Error::NoUsableRecords);
}

/// The builder step keeps the caller's versions and client authentication, and gives the
/// config DANE-aware resumption: a session never resumes across a change of records.
#[tokio::test]
async fn builder_step_keeps_dane_resumption_rules() {
    use dane::BuilderDaneExt;
    use rustls::HandshakeKind::{Full, Resumed};
    let h = Hierarchy::new(Alg::P256, &[HOST]);
    let other = Hierarchy::new(Alg::P256, &[HOST]);
    let p = provider();
    for mode in RESUME_MODES {
        let addr = serve(resuming_server(&h, mode)).await;
        let store = Arc::new(TlsaStore::new());
        store.insert(
            HOST,
            TlsaSet::new([rec(&h.leaf.der, 3, 1, 1)]),
            smtp(HOST),
            &p,
        );
        let verifier = DaneVerifier::with_store(store.clone(), p.clone());
        let config = Arc::new(
            rustls::ClientConfig::builder_with_provider(p.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_dane(&verifier)
                .with_no_client_auth(),
        );
        assert_eq!(connect_kind(addr, &config, HOST).await.unwrap(), Full);
        assert_eq!(
            connect_kind(addr, &config, HOST).await.unwrap(),
            Resumed,
            "{mode:?}"
        );
        assert_eq!(store.outcome(HOST), Some(Outcome::Resumed), "{mode:?}");
        // Records that do not match the server: refused, not resumed.
        store.insert(
            HOST,
            TlsaSet::new([rec(&other.leaf.der, 3, 1, 1)]),
            smtp(HOST),
            &p,
        );
        let e = connect_kind(addr, &config, HOST).await.unwrap_err();
        assert_eq!(dane_error(&e), &Error::NoMatch, "{mode:?}");
    }
    // Only the versions the caller allowed are offered.
    let addr = serve(server_config(h.chain2(), &h.leaf, &TLS12)).await;
    let verifier = DaneVerifier::new(
        TlsaSet::new([rec(&h.leaf.der, 3, 1, 1)]),
        smtp(HOST),
        p.clone(),
    );
    let config = rustls::ClientConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[&TLS13])
        .unwrap()
        .with_dane(&verifier)
        .with_no_client_auth();
    assert!(connect_with(addr, config, HOST).await.is_err());
    assert_eq!(verifier.outcome(), None);
}
