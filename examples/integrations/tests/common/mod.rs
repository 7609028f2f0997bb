//! Loopback servers for the integration tests: HTTPS and SMTP (with STARTTLS) over
//! tokio-rustls with rcgen certificates, and the in-process signed DNS server of the
//! `dane` test suite, serving the names the examples look up.
#![allow(dead_code, reason = "each test uses a different part")]

#[path = "../../../../tests/common/dns.rs"]
pub mod dns;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dane::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use dane::resolver::{ServerSettings, TlsaResolver, TrustAnchor, ValidatingSource};
use dane::{CertUsage, Matching, Selector, Tlsa};
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A self-signed certificate and its key.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    /// A P-256 self-signed certificate for `names`.
    pub fn new(names: &[&str]) -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }

    /// The DANE-EE SPKI SHA2-256 record (`3 1 1 <hex>`) of the certificate.
    pub fn tlsa(&self) -> Tlsa {
        Tlsa::from_certificate(
            &self.chain[0],
            CertUsage::DaneEe,
            Selector::Spki,
            Matching::Sha256,
        )
        .unwrap()
    }

    fn acceptor(&self) -> TlsAcceptor {
        let config = rustls::ServerConfig::builder_with_provider(dane_integrations::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }
}

const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTPS server: each request gets `200 OK` and the body `hello`.
pub struct Https {
    pub addr: SocketAddr,
    /// Requests answered (only after a completed handshake).
    pub requests: Arc<AtomicUsize>,
}

impl Https {
    pub async fn start(identity: &Identity) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = identity.acceptor();
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, count) = (acceptor.clone(), count.clone());
                tokio::spawn(tokio::time::timeout(SERVER_TIMEOUT, async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut tls = BufReader::new(tls);
                    let mut line = String::new();
                    // The request head, up to its empty line.
                    loop {
                        line.clear();
                        match tls.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
                                    Content-Length: 5\r\nConnection: close\r\n\r\nhello";
                    let mut tls = tls.into_inner();
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                }));
            }
        });
        Self { addr, requests }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// An SMTP server with STARTTLS that accepts every message; logs each command it reads
/// (`TLS ` before those read over TLS, `MESSAGE <n lines>` for a message's content).
pub struct Smtp {
    pub addr: SocketAddr,
    transcript: Arc<Mutex<Vec<String>>>,
}

impl Smtp {
    pub fn start(listener: TcpListener, identity: &Identity) -> Self {
        let addr = listener.local_addr().unwrap();
        let acceptor = identity.acceptor();
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let log = transcript.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, log) = (acceptor.clone(), log.clone());
                tokio::spawn(tokio::time::timeout(SERVER_TIMEOUT, async move {
                    if let Ok(Some(tcp)) = smtp_dialogue(tcp, false, &log).await
                        && let Ok(tls) = acceptor.accept(tcp).await
                    {
                        let _ = smtp_dialogue(tls, true, &log).await;
                    }
                }));
            }
        });
        Self { addr, transcript }
    }

    pub fn transcript(&self) -> Vec<String> {
        self.transcript.lock().unwrap().clone()
    }

    /// Whether a message was accepted over TLS.
    pub fn got_message_over_tls(&self) -> bool {
        self.transcript()
            .iter()
            .any(|l| l.starts_with("TLS MESSAGE"))
    }

    /// Whether any mail transaction started (over TLS or not).
    pub fn saw_mail_from(&self) -> bool {
        self.transcript().iter().any(|l| {
            l.trim_start_matches("TLS ")
                .to_ascii_uppercase()
                .starts_with("MAIL FROM")
        })
    }
}

/// One SMTP dialogue; returns the stream when the client asked for STARTTLS (and got 220).
async fn smtp_dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    tls: bool,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<Option<S>> {
    let mut s = BufReader::new(stream);
    let prefix = if tls { "TLS " } else { "" };
    if !tls {
        s.write_all(b"220 mx.test ESMTP loopback\r\n").await?;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if s.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let command = line.trim_end().to_owned();
        log.lock().unwrap().push(format!("{prefix}{command}"));
        let verb = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if tls => b"250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
            "EHLO" => b"250-mx.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
            "STARTTLS" if !tls => {
                s.write_all(b"220 2.0.0 ready\r\n").await?;
                s.flush().await?;
                return Ok(Some(s.into_inner()));
            }
            "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 ok\r\n",
            "DATA" => {
                s.write_all(b"354 go ahead\r\n").await?;
                s.flush().await?;
                let mut lines = 0;
                loop {
                    line.clear();
                    if s.read_line(&mut line).await? == 0 {
                        return Ok(None);
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    lines += 1;
                }
                log.lock()
                    .unwrap()
                    .push(format!("{prefix}MESSAGE {lines} lines"));
                b"250 2.0.0 queued\r\n"
            }
            "QUIT" => {
                s.write_all(b"221 2.0.0 bye\r\n").await?;
                s.flush().await?;
                let _ = s.shutdown().await;
                return Ok(None);
            }
            _ => b"502 5.5.2 unknown command\r\n",
        };
        s.write_all(reply).await?;
        s.flush().await?;
    }
}

/// Two listeners on the same port, on 127.0.0.1 and 127.0.0.2 (two MX hosts that
/// `smtp_targets(domain, port)` sends to the same port).
pub async fn listener_pair() -> (TcpListener, TcpListener) {
    for _ in 0..50 {
        let first = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = first.local_addr().unwrap().port();
        if let Ok(second) = TcpListener::bind((Ipv4Addr::new(127, 0, 0, 2), port)).await {
            return (first, second);
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

/// The names every test uses, in `secure.dane.test` (signed, validated from the apex key).
pub const WWW: &str = "www.secure.dane.test";
pub const NODANE: &str = "nodane.secure.dane.test";
pub const MX_IMPOSTOR: &str = "mx1.secure.dane.test";
pub const MX_GOOD: &str = "mx2.secure.dane.test";
pub const MX_UNUSABLE: &str = "mx3.secure.dane.test";
/// MX 10 mx1 (an impostor at 127.0.0.2), MX 20 mx2 (the real server at 127.0.0.1).
pub const DOMAIN_FIRST_MX_IMPOSTOR: &str = "mail.secure.dane.test";
/// MX 10 mx1 only.
pub const DOMAIN_ONLY_IMPOSTOR: &str = "impostor.secure.dane.test";
/// MX 10 mx3, whose TLSA RRset has no usable record.
pub const DOMAIN_UNUSABLE_TLSA: &str = "unusable.secure.dane.test";
/// MX 10 mx.bogus.dane.test (TLSA signatures corrupted), MX 20 mx2.
pub const DOMAIN_FIRST_MX_BOGUS: &str = "withbogus.secure.dane.test";

/// Servers, records and a validating resolver for one test.
pub struct Lab {
    pub dns: dns::TestDns,
    pub resolver: Arc<TlsaResolver<ValidatingSource>>,
    /// The real certificate of `www` (port of `https`) and of the real MX host.
    pub good: Identity,
    /// `www` on a second port, with another certificate and its own record.
    pub other: Identity,
    /// `www`'s real record is published for this port too, but the server there presents
    /// another certificate for the same names.
    pub https: Https,
    pub https_other: Https,
    pub https_impostor: Https,
    /// The real MX host (127.0.0.1) and the impostor (127.0.0.2), on `smtp_port`.
    pub smtp: Smtp,
    pub smtp_impostor: Smtp,
    pub smtp_port: u16,
}

impl Lab {
    pub async fn start() -> Self {
        let good = Identity::new(&[WWW, MX_GOOD, MX_IMPOSTOR]);
        let other = Identity::new(&[WWW]);
        let impostor = Identity::new(&[WWW, MX_GOOD, MX_IMPOSTOR]);
        let https = Https::start(&good).await;
        let https_other = Https::start(&other).await;
        let https_impostor = Https::start(&impostor).await;
        let (l1, l2) = listener_pair().await;
        let smtp_port = l1.local_addr().unwrap().port();
        let smtp = Smtp::start(l1, &good);
        let smtp_impostor = Smtp::start(l2, &impostor);

        let real = good.tlsa().to_string();
        let mut z = dns::ZoneSet::new();
        let mut add = |zone: &str, owner: &str, rtype: RecordType, data: &str| {
            z.add_str(zone, owner, 300, rtype, data);
        };
        add("secure", "www", RecordType::A, "127.0.0.1");
        add(
            "secure",
            &format!("_{}._tcp.www", https.addr.port()),
            RecordType::TLSA,
            &real,
        );
        let other_record = other.tlsa().to_string();
        add(
            "secure",
            &format!("_{}._tcp.www", https_other.addr.port()),
            RecordType::TLSA,
            &other_record,
        );
        add(
            "secure",
            &format!("_{}._tcp.www", https_impostor.addr.port()),
            RecordType::TLSA,
            &real,
        );
        add("secure", "nodane", RecordType::A, "127.0.0.1");
        add("secure", "mx1", RecordType::A, "127.0.0.2");
        add("secure", "mx2", RecordType::A, "127.0.0.1");
        add("secure", "mx3", RecordType::A, "127.0.0.1");
        add(
            "secure",
            &format!("_{smtp_port}._tcp.mx1"),
            RecordType::TLSA,
            &real,
        );
        add(
            "secure",
            &format!("_{smtp_port}._tcp.mx2"),
            RecordType::TLSA,
            &real,
        );
        let unusable = "255 1 1 8bd1da95272f7fa4ffb24137fc0ed03aae67e5c4d8b3c50734e1050a7920b922";
        add(
            "secure",
            &format!("_{smtp_port}._tcp.mx3"),
            RecordType::TLSA,
            unusable,
        );
        add("secure", "mail", RecordType::MX, "10 mx1.secure.dane.test.");
        add("secure", "mail", RecordType::MX, "20 mx2.secure.dane.test.");
        add(
            "secure",
            "impostor",
            RecordType::MX,
            "10 mx1.secure.dane.test.",
        );
        add(
            "secure",
            "unusable",
            RecordType::MX,
            "10 mx3.secure.dane.test.",
        );
        add(
            "secure",
            "withbogus",
            RecordType::MX,
            "10 mx.bogus.dane.test.",
        );
        add(
            "secure",
            "withbogus",
            RecordType::MX,
            "20 mx2.secure.dane.test.",
        );
        add("bogus", "mx", RecordType::A, "127.0.0.1");
        add(
            "bogus",
            &format!("_{smtp_port}._tcp.mx"),
            RecordType::TLSA,
            &real,
        );

        let dns = dns::start(z).await;
        let settings = ServerSettings {
            servers: vec![dns.addr],
            timeout: Duration::from_secs(3),
            attempts: 2,
            recursion_desired: false,
        };
        let anchor = TrustAnchor::DnskeyText(dns.anchor_zone_file.clone());
        let resolver = Arc::new(TlsaResolver::new(
            ValidatingSource::new(&settings, &anchor).unwrap(),
        ));
        Self {
            dns,
            resolver,
            good,
            other,
            https,
            https_other,
            https_impostor,
            smtp,
            smtp_impostor,
            smtp_port,
        }
    }
}

/// 127.0.0.1 at `port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}
