//! Every example against loopback servers, with its records from the in-process signed DNS
//! server: the right certificate is accepted, an impostor (same names, another key) is
//! refused, and a host without records gets no connection. Each refusal is one that a
//! client without the DANE check would not make.

mod common;
use common::*;

use std::sync::Arc;

use dane::resolver::DaneStatus;
use dane::{Policy, ReferenceName, TlsaSet, TlsaStore};
use dane_integrations::hyper_connector::DaneConnector;
use dane_integrations::{lettre_post_handshake, mail_send_mx, reqwest_store, tokio_https};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The `dane::Error` a refused handshake carries somewhere in `e`'s sources (inside
/// rustls' `InvalidCertificate(Other(..))`, perhaps inside an `io::Error`), as
/// `category: message`; `None` when the failure was not a DANE refusal.
fn dane_refusal(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(e);
    while let Some(e) = current {
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(found) = dane_refusal(inner)
        {
            return Some(found);
        }
        if let Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) =
            e.downcast_ref::<rustls::Error>()
            && let Some(dane) = other.0.downcast_ref::<dane::Error>()
        {
            return Some(format!("{}: {dane}", dane.category()));
        }
        current = e.source();
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_https_accepts_the_published_certificate_and_refuses_an_impostor() {
    let lab = Lab::start().await;
    let port = lab.https.addr.port();
    let status = tokio_https::get(&lab.resolver, WWW, port, lab.https.addr)
        .await
        .unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(lab.https.requests(), 1);

    // Same names, another key, on a port whose records are the real server's.
    let port = lab.https_impostor.addr.port();
    let err = tokio_https::get(&lab.resolver, WWW, port, lab.https_impostor.addr)
        .await
        .unwrap_err();
    let refusal = dane_refusal(&*err).unwrap_or_else(|| panic!("{err}"));
    assert!(refusal.starts_with("no-match"), "{refusal}");
    assert_eq!(
        lab.https_impostor.requests(),
        0,
        "no request after a refused handshake"
    );

    // No TLSA records (secure absence): no connection at all.
    let err = tokio_https::get(&lab.resolver, NODANE, port, lab.https.addr)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no secure TLSA records"), "{err}");
}

fn message() -> mail_send::smtp::message::Message<'static> {
    let body =
        b"From: <a@client.test>\r\nTo: <b@mail.secure.dane.test>\r\nSubject: t\r\n\r\nHello.\r\n";
    mail_send::smtp::message::Message::new("a@client.test", ["b@mail.secure.dane.test"], &body[..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_send_skips_an_mx_that_fails_dane_and_delivers_to_the_next() {
    let lab = Lab::start().await;
    let msg = message();
    let report = mail_send_mx::deliver(
        &lab.resolver,
        DOMAIN_FIRST_MX_IMPOSTOR,
        lab.smtp_port,
        "client.test",
        &msg,
    )
    .await
    .unwrap();
    let log = report.log.join("\n");
    // MX 10 (the impostor) was tried first and refused in the handshake: no mail command.
    let refused = format!("{MX_IMPOSTOR}[127.0.0.2:{}]: DANE failure: ", lab.smtp_port);
    assert!(
        log.starts_with(&refused) && log.contains("[no-match]"),
        "{log}"
    );
    assert!(
        lab.smtp_impostor
            .transcript()
            .contains(&"STARTTLS".to_owned()),
        "{log}"
    );
    assert!(
        !lab.smtp_impostor.saw_mail_from(),
        "{:?}",
        lab.smtp_impostor.transcript()
    );
    // MX 20 took it, authenticated by its DANE-EE record.
    let (host, addr, how) = report.delivered.expect(&log);
    assert_eq!((host.as_str(), addr), (MX_GOOD, loopback(lab.smtp_port)));
    assert!(
        how.starts_with("Verified TLS connection (DANE-EE(3)"),
        "{how}"
    );
    assert!(
        lab.smtp.got_message_over_tls(),
        "{:?}",
        lab.smtp.transcript()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_send_does_not_deliver_when_every_mx_fails_dane() {
    let lab = Lab::start().await;
    let msg = message();
    let report = mail_send_mx::deliver(
        &lab.resolver,
        DOMAIN_ONLY_IMPOSTOR,
        lab.smtp_port,
        "client.test",
        &msg,
    )
    .await
    .unwrap();
    assert!(report.delivered.is_none(), "{:?}", report.log);
    assert!(report.log[0].contains("[no-match]"), "{:?}", report.log);
    assert!(
        !lab.smtp_impostor.saw_mail_from(),
        "{:?}",
        lab.smtp_impostor.transcript()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_send_skips_an_unusable_host_and_uses_tls_without_usable_records() {
    let lab = Lab::start().await;
    let msg = message();
    // MX 10 has a bogus TLSA RRset: skipped (never downgraded), MX 20 takes it with DANE.
    let report = mail_send_mx::deliver(
        &lab.resolver,
        DOMAIN_FIRST_MX_BOGUS,
        lab.smtp_port,
        "client.test",
        &msg,
    )
    .await
    .unwrap();
    assert!(
        report.log[0].starts_with("mx.bogus.dane.test: skipped, lookup failed"),
        "{:?}",
        report.log
    );
    let (host, _, how) = report.delivered.expect("delivered to MX 20");
    assert_eq!(host, MX_GOOD);
    assert!(how.starts_with("Verified TLS connection (DANE"), "{how}");

    // Only unusable records: TLS is mandatory, but nothing can authenticate the server.
    let plan = lab
        .resolver
        .smtp_targets(DOMAIN_UNUSABLE_TLSA, lab.smtp_port)
        .await
        .unwrap();
    assert!(matches!(
        plan.targets[0].status,
        DaneStatus::TlsRequiredUnauthenticated { .. }
    ));
    let report = mail_send_mx::deliver(
        &lab.resolver,
        DOMAIN_UNUSABLE_TLSA,
        lab.smtp_port,
        "client.test",
        &msg,
    )
    .await
    .unwrap();
    let (host, _, how) = report
        .delivered
        .expect("delivered over unauthenticated TLS");
    assert_eq!(host, MX_UNUSABLE);
    assert!(
        how.starts_with("Untrusted TLS connection (no usable TLSA records"),
        "{how}"
    );
}

/// lettre is blocking: run it beside the loopback servers' runtime.
async fn lettre_deliver(
    lab: &Lab,
    addr: std::net::SocketAddr,
    mx: &str,
) -> Result<dane::Verified, String> {
    let tlsa = TlsaSet::new([lab.good.tlsa()]);
    let policy = Policy::smtp(ReferenceName::new(mx).unwrap());
    let mx = mx.to_owned();
    tokio::task::spawn_blocking(move || {
        let envelope = lettre::address::Envelope::new(
            Some("a@client.test".parse().unwrap()),
            vec!["b@mail.secure.dane.test".parse().unwrap()],
        )
        .unwrap();
        let helo = lettre::transport::smtp::extension::ClientId::Domain("client.test".to_owned());
        let email = b"Subject: t\r\n\r\nHello.\r\n";
        lettre_post_handshake::deliver(addr, &mx, &tlsa, &policy, &helo, &envelope, email)
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lettre_checks_the_chain_after_the_handshake_and_before_mail_from() {
    let lab = Lab::start().await;
    let verified = lettre_deliver(&lab, lab.smtp.addr, MX_GOOD).await.unwrap();
    assert_eq!(verified.depth(), 0);
    assert!(
        lab.smtp.got_message_over_tls(),
        "{:?}",
        lab.smtp.transcript()
    );

    // The impostor completes the handshake (lettre accepts any certificate whose key
    // signed the handshake) and is refused by the check: QUIT, no MAIL FROM.
    let err = lettre_deliver(&lab, lab.smtp_impostor.addr, MX_IMPOSTOR)
        .await
        .unwrap_err();
    assert!(err.starts_with("DANE failure, not delivered"), "{err}");
    let transcript = lab.smtp_impostor.transcript();
    assert!(
        transcript.contains(&"TLS QUIT".to_owned()),
        "{transcript:?}"
    );
    assert!(!lab.smtp_impostor.saw_mail_from(), "{transcript:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_with_a_prefetched_store_fails_closed_for_other_hosts() {
    let lab = Lab::start().await;
    let (good, impostor) = (lab.https.addr, lab.https_impostor.addr);
    let store = Arc::new(TlsaStore::new());
    reqwest_store::prefetch(
        &lab.resolver,
        &store,
        &[(WWW, good.port()), (NODANE, good.port())],
    )
    .await
    .unwrap();
    let builder = reqwest::Client::builder()
        .resolve(WWW, good)
        .resolve(NODANE, good)
        .resolve("impostor.test", impostor);
    let client = reqwest_store::client(builder, store.clone()).unwrap();

    let response = client
        .get(format!("https://{WWW}:{}/", good.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "hello");
    let outcome = store.outcome(WWW).unwrap().to_string();
    assert!(
        outcome.starts_with("Verified TLS connection (DANE-EE(3)"),
        "{outcome}"
    );

    // Same server, a host without TLSA records: no entry, the handshake fails.
    let err = client
        .get(format!("https://{NODANE}:{}/", good.port()))
        .send()
        .await
        .unwrap_err();
    let refusal = dane_refusal(&err).unwrap_or_else(|| panic!("{err:?}"));
    assert!(
        refusal.contains(&format!("no TLSA data registered for {NODANE}")),
        "{refusal}"
    );
    // A host that was never prefetched fails the same way.
    let err = client
        .get(format!("https://impostor.test:{}/", impostor.port()))
        .send()
        .await
        .unwrap_err();
    let refusal = dane_refusal(&err).unwrap_or_else(|| panic!("{err:?}"));
    assert!(
        refusal.contains("no TLSA data registered for impostor.test"),
        "{refusal}"
    );
    assert_eq!(lab.https.requests(), 1);
    assert_eq!(lab.https_impostor.requests(), 0);

    // Records for www, but the server on that port is an impostor.
    let store = Arc::new(TlsaStore::new());
    reqwest_store::prefetch(&lab.resolver, &store, &[(WWW, impostor.port())])
        .await
        .unwrap();
    let client =
        reqwest_store::client(reqwest::Client::builder().resolve(WWW, impostor), store).unwrap();
    let err = client
        .get(format!("https://{WWW}:{}/", impostor.port()))
        .send()
        .await
        .unwrap_err();
    let refusal = dane_refusal(&err).unwrap_or_else(|| panic!("{err:?}"));
    assert!(refusal.starts_with("no-match"), "{refusal}");
    assert_eq!(lab.https_impostor.requests(), 0);
}

/// A hyper-util DNS resolver that sends every name to 127.0.0.1 (the names are in the
/// test zone, which the system resolver does not know).
#[derive(Clone)]
struct Loopback;

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for Loopback {
    type Response = std::vec::IntoIter<std::net::SocketAddr>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        std::future::ready(Ok(vec![loopback(0)].into_iter()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_connector_looks_up_records_per_port() {
    let lab = Lab::start().await;
    let mut tcp = HttpConnector::new_with_resolver(Loopback);
    tcp.enforce_http(false);
    let connector = DaneConnector::new(lab.resolver.clone(), tcp);
    let client: Client<_, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector.clone());
    let get = |port: u16, host: &str| {
        let uri = format!("https://{host}:{port}/").parse().unwrap();
        client.get(uri)
    };

    // One host, two ports, two certificates, each port with its own record.
    for (server, port) in [
        (&lab.https, lab.https.addr.port()),
        (&lab.https_other, lab.https_other.addr.port()),
    ] {
        let response = get(port, WWW).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"hello");
        assert_eq!(server.requests(), 1);
        let outcome = connector
            .store(port)
            .unwrap()
            .outcome(WWW)
            .unwrap()
            .to_string();
        assert!(
            outcome.starts_with("Verified TLS connection (DANE-EE(3)"),
            "{outcome}"
        );
    }

    // The real record on the impostor's port: refused in the handshake.
    let err = get(lab.https_impostor.addr.port(), WWW).await.unwrap_err();
    let refusal = dane_refusal(&err).unwrap_or_else(|| panic!("{err:?}"));
    assert!(refusal.starts_with("no-match"), "{refusal}");
    assert_eq!(lab.https_impostor.requests(), 0);

    // No records: no connection.
    let err = get(lab.https.addr.port(), NODANE).await.unwrap_err();
    assert!(
        format!("{err:?}").contains("no secure TLSA records"),
        "{err:?}"
    );
    assert_eq!(lab.https.requests(), 1);
}
