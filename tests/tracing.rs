//! Structured diagnostics (feature `tracing`): the events an MTA logs, with their fields,
//! from a real resolver (in-process signed DNS) and real rustls handshakes on loopback.
#![cfg(all(feature = "tracing", feature = "resolver", feature = "rustls"))]

mod common;
use common::dns::{self, ZoneSet};
use common::pki::{Alg, Hierarchy};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dane::pki_types::ServerName;
use dane::resolver::{ServerSettings, TlsaResolver, TrustAnchor, ValidatingSource};
use dane::{DaneVerifier, Policy, ReferenceName, Tlsa, TlsaSet};
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const T311: &str = "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";

/// One captured event: level, target and fields (`message` included) as text.
#[derive(Debug, Clone)]
struct Captured {
    level: tracing::Level,
    target: String,
    fields: BTreeMap<String, String>,
}

impl Captured {
    fn get(&self, k: &str) -> Option<&str> {
        self.fields.get(k).map(String::as_str)
    }
}

#[derive(Default)]
struct Capture(Mutex<Vec<Captured>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for &'static Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn events(capture: &Capture, message: &str) -> Vec<Captured> {
    capture
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.get("message") == Some(message))
        .cloned()
        .collect()
}

fn zones() -> ZoneSet {
    let mut z = ZoneSet::new();
    z.add_str(
        "secure",
        "@",
        300,
        RecordType::MX,
        "10 mx.secure.dane.test.",
    );
    z.add_str("secure", "mx", 300, RecordType::A, "127.0.0.1");
    z.add_str("secure", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    z.add_str(
        "secure",
        "nomx",
        300,
        RecordType::MX,
        "10 mx.bogus.dane.test.",
    );
    z.add_str("bogus", "mx", 300, RecordType::A, "127.0.0.1");
    z.add_str("bogus", "_25._tcp.mx", 300, RecordType::TLSA, T311);
    z
}

/// One test (one process-wide subscriber): resolver events, then verifier events.
#[test]
fn events_for_lookups_plans_and_certificate_decisions() {
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    let capture: &'static Capture = CAPTURE.get_or_init(Capture::default);
    tracing::subscriber::set_global_default(capture).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // ---- resolver
        let dns = dns::start(zones()).await;
        let settings = ServerSettings {
            servers: vec![dns.addr],
            timeout: Duration::from_secs(3),
            attempts: 2,
            recursion_desired: false,
        };
        let source = ValidatingSource::new(
            &settings,
            &TrustAnchor::DnskeyText(dns.anchor_zone_file.clone()),
        )
        .unwrap();
        let r = TlsaResolver::new(source);
        r.lookup_tlsa(25, "tcp", "mx.secure.dane.test")
            .await
            .unwrap();
        assert!(
            r.lookup_tlsa(25, "tcp", "mx.bogus.dane.test")
                .await
                .is_err()
        );
        let lookups = events(capture, "tlsa lookup");
        let secure = lookups
            .iter()
            .find(|e| e.get("tlsa_name") == Some("_25._tcp.mx.secure.dane.test"))
            .expect("an event for the secure lookup");
        assert_eq!(secure.target, "dane");
        assert_eq!(secure.level, tracing::Level::DEBUG);
        assert_eq!(secure.get("status"), Some("secure"));
        assert_eq!(secure.get("records"), Some("1"));
        assert_eq!(secure.get("base"), Some("mx.secure.dane.test"));
        let bogus = lookups
            .iter()
            .find(|e| e.get("tlsa_name") == Some("_25._tcp.mx.bogus.dane.test"))
            .expect("an event for the bogus lookup");
        assert_eq!(bogus.get("status"), Some("error"));
        assert_eq!(bogus.get("reason"), Some("bogus"));

        let plan = r.smtp_targets("nomx.secure.dane.test", 25).await.unwrap();
        assert_eq!(plan.targets.len(), 1);
        let p = events(capture, "smtp plan");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].get("domain"), Some("nomx.secure.dane.test"));
        assert_eq!(p[0].get("mx_secure"), Some("true"));
        let t = events(capture, "smtp target");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].level, tracing::Level::INFO);
        assert_eq!(t[0].get("host"), Some("mx.bogus.dane.test."));
        assert_eq!(t[0].get("status"), Some("unusable"));
        assert_eq!(t[0].get("reason"), Some("bogus"));

        // ---- verifier: a DANE match, then an impostor
        let h = Hierarchy::new(Alg::P256, &["mx.example.net"]);
        let impostor = Hierarchy::new(Alg::P256, &["mx.example.net"]);
        let record =
            Tlsa::from_certificate(&h.leaf.der, 3u8.into(), 1u8.into(), 1u8.into()).unwrap();
        for (server, ok) in [(&h, true), (&impostor, false)] {
            let addr = serve(server).await;
            let verifier = DaneVerifier::new(
                TlsaSet::new([record.clone()]),
                Policy::smtp(ReferenceName::new("mx.example.net").unwrap()),
                Arc::new(rustls::crypto::ring::default_provider()),
            );
            let connector =
                tokio_rustls::TlsConnector::from(Arc::new(verifier.client_config().unwrap()));
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = ServerName::try_from("mx.example.net").unwrap();
            assert_eq!(connector.connect(name, tcp).await.is_ok(), ok);
        }
        let verified = events(capture, "dane verified");
        assert_eq!(verified.len(), 1);
        assert_eq!(verified[0].get("server_name"), Some("mx.example.net"));
        assert_eq!(verified[0].get("record"), Some(record.to_string().as_str()));
        assert_eq!(verified[0].get("depth"), Some("0"));
        assert_eq!(verified[0].get("usage"), Some("3"));
        let refused = events(capture, "dane refused");
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].level, tracing::Level::INFO);
        assert_eq!(
            refused[0].get("reason"),
            Some(dane::Error::NoMatch.category())
        );
        assert_eq!(
            refused[0].get("tlsrpt_result"),
            Some(dane::Error::NoMatch.tls_rpt_result().as_str())
        );
    });
}

/// A TLS 1.3 server for `h`'s leaf on a fresh loopback port; reads one byte, then closes.
async fn serve(h: &Hierarchy) -> std::net::SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(h.chain2(), h.leaf.private_key())
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut b = [0u8; 1];
                    let _ = tls.read(&mut b).await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}
