//! The whole job of the crate, offline: `cargo run --example demo`.
//!
//! 1. An operator's PKI is generated in memory: a root CA, an intermediate CA and two server
//!    certificates, one for `mx.example.net` and one for another customer of the same CA.
//! 2. The operator derives the TLSA records to publish at `_25._tcp.mx.example.net`:
//!    `3 1 1` (DANE-EE, the server's own key) and `2 1 1` (DANE-TA, the intermediate CA).
//! 3. A client verifies the real server's chain under each record, and refuses two impostors:
//!    another customer's valid certificate from the same CA, and a self-signed certificate
//!    with the right name but another key.
//! 4. The same over real TLS (rustls, feature `rustls`): a server on 127.0.0.1 with the real
//!    certificate is verified with [`dane::DaneVerifier`] and the outcome is printed the way
//!    Postfix logs it; then an impostor server is refused, with the reason.
//! 5. DNS (feature `resolver`: `cargo run --features resolver --example demo`): the records
//!    are served from a DNSSEC-signed zone by an in-process name server, fetched with local
//!    validation, and used for the handshake; the same records in a zone with broken
//!    signatures are refused (bogus), never read as "no DANE". The in-process server only
//!    serves `dane.test.`, so this step uses a server certificate for `mx.secure.dane.test`.

#[cfg(feature = "resolver")]
#[path = "../tests/common/dns.rs"]
mod dns;

use dane::pki_types::{CertificateDer, UnixTime};
use dane::{CertUsage, Matching, Policy, ReferenceName, Selector, Tlsa, TlsaSet, verify};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A certificate with the key and parameters needed to issue others.
struct Ca {
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca_params(name: &str) -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::new())?;
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(p)
}

fn root(name: &str) -> Result<Ca> {
    let key = KeyPair::generate()?;
    let params = ca_params(name)?;
    let der = params.self_signed(&key)?.der().clone();
    Ok(Ca {
        der,
        issuer: Issuer::new(params, key),
    })
}

fn intermediate(name: &str, parent: &Ca) -> Result<Ca> {
    let key = KeyPair::generate()?;
    let params = ca_params(name)?;
    let der = params.signed_by(&key, &parent.issuer)?.der().clone();
    Ok(Ca {
        der,
        issuer: Issuer::new(params, key),
    })
}

/// A server certificate and its key.
struct Server {
    der: CertificateDer<'static>,
    key: KeyPair,
}

fn server(host: &str, parent: &Ca) -> Result<Server> {
    let params = CertificateParams::new(vec![host.to_owned()])?;
    let key = KeyPair::generate()?;
    let der = params.signed_by(&key, &parent.issuer)?.der().clone();
    Ok(Server { der, key })
}

fn main() -> Result<()> {
    let host = "mx.example.net";

    // 1. The PKI.
    let root = root("Example Root CA")?;
    let int = intermediate("Example Issuing CA", &root)?;
    let mx_server = server(host, &int)?;
    let other_server = server("www.example.org", &int)?;
    let (mx, other_customer) = (mx_server.der.clone(), other_server.der.clone());
    let self_signed = CertificateParams::new(vec![host.to_owned()])?
        .self_signed(&KeyPair::generate()?)?
        .der()
        .clone();

    // 2. What the operator publishes.
    let owner = format!("_25._tcp.{host}.");
    let ee = Tlsa::from_certificate(&mx, CertUsage::DaneEe, Selector::Spki, Matching::Sha256)?;
    let ta = Tlsa::from_certificate(
        &int.der,
        CertUsage::DaneTa,
        Selector::Spki,
        Matching::Sha256,
    )?;
    println!("Zone data the operator publishes:");
    println!("  {owner} IN TLSA {ee}");
    println!("  {owner} IN TLSA {ta}\n");

    // 3. What a client sees. SMTP profile (RFC 7672); the TLSA base domain is the MX host.
    let policy = Policy::smtp(ReferenceName::new(host)?);
    let now = UnixTime::now();
    let chains: [(&str, Vec<CertificateDer<'static>>); 3] = [
        (
            "the real server (leaf + intermediate)",
            vec![mx.clone(), int.der.clone()],
        ),
        (
            "another customer of the same CA",
            vec![other_customer, int.der.clone()],
        ),
        (
            "a self-signed impostor for the right name",
            vec![self_signed],
        ),
    ];
    let mut refused = 0;
    for (record_name, record) in [("3 1 1 (DANE-EE)", &ee), ("2 1 1 (DANE-TA)", &ta)] {
        println!("RRset {{ {record_name} }}:");
        let rrset = TlsaSet::new([record.clone()]);
        for (label, chain) in &chains {
            match verify(chain, &rrset, &policy, now) {
                Ok(v) => println!("  verified  {label}: {v}"),
                Err(e) => {
                    refused += 1;
                    println!("  REFUSED   {label}: {e} [TLS-RPT: {}]", e.tls_rpt_result());
                }
            }
        }
        println!();
    }
    if refused != 4 {
        return Err(format!("expected 4 refusals, saw {refused}").into());
    }
    println!("Both records authenticate the real server; every impostor was refused.\n");

    // 4. Real TLS handshakes on loopback.
    let rrset = TlsaSet::new([ee, ta]);
    let real = tls::serve(vec![mx.clone(), int.der.clone()], &mx_server.key)?;
    let fake = tls::serve(
        vec![other_server.der.clone(), int.der.clone()],
        &other_server.key,
    )?;
    println!("TLS on loopback, RRset {{ 3 1 1, 2 1 1 }}:");
    let outcome = tls::connect(real, host, &rrset, &policy)?;
    println!("  {real}: {outcome}");
    match tls::connect(fake, host, &rrset, &policy) {
        Ok(outcome) => return Err(format!("the impostor was accepted: {outcome}").into()),
        Err(e) => println!("  {fake}: handshake refused: {}", tls::reason(&*e)),
    }

    // 5. The records from DNSSEC-signed DNS.
    #[cfg(feature = "resolver")]
    dns_step::run(&int)?;
    #[cfg(not(feature = "resolver"))]
    println!(
        "\n(run with --features resolver to also fetch the records from a DNSSEC-signed zone)"
    );
    Ok(())
}

/// Step 5: publish, fetch with DNSSEC validation, connect; and refuse a bogus zone.
#[cfg(feature = "resolver")]
mod dns_step {
    use dane::pki_types::CertificateDer;
    use dane::resolver::{
        LookupError, ServerSettings, TlsaLookup, TlsaResolver, TrustAnchor, ValidatingSource,
    };
    use dane::{CertUsage, Matching, Policy, Selector, Tlsa};
    use hickory_proto::rr::RecordType;

    use super::{Ca, Result, dns, server, tls};

    pub(crate) fn run(int: &Ca) -> Result<()> {
        let host = "mx.secure.dane.test";
        let mx = server(host, int)?;
        let spki_sha256 = |der: &CertificateDer<'_>, usage| {
            Tlsa::from_certificate(der, usage, Selector::Spki, Matching::Sha256)
        };
        let rrset = [
            spki_sha256(&mx.der, CertUsage::DaneEe)?,
            spki_sha256(&int.der, CertUsage::DaneTa)?,
        ];
        // The records in secure.dane.test, and in bogus.dane.test, whose signatures over TLSA
        // records are corrupted.
        let mut zones = dns::ZoneSet::new();
        for zone in ["secure", "bogus"] {
            for record in &rrset {
                let text = record.to_string();
                zones.add_str(zone, "_25._tcp.mx", 300, RecordType::TLSA, &text);
            }
        }

        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let (server_addr, secure, bogus) = rt.block_on(async {
            let dns = dns::start(zones).await;
            let mut settings = ServerSettings::new(dns.addr);
            settings.recursion_desired = false; // an authoritative server
            // The trust anchor: the key of dane.test. (in real life, the IANA root).
            let anchor = TrustAnchor::DnskeyText(dns.anchor_zone_file.clone());
            let resolver = TlsaResolver::new(ValidatingSource::new(&settings, &anchor)?);
            let secure = resolver.lookup_tlsa(25, "tcp", host).await?;
            let bogus = resolver.lookup_tlsa(25, "tcp", "mx.bogus.dane.test").await;
            Result::Ok((dns.addr, secure, bogus))
        })?;

        println!(
            "\nDNSSEC lookup from the signed zone on {server_addr}, validated from the dane.test. key:"
        );
        let TlsaLookup::Secure {
            records, ttl, base, ..
        } = secure
        else {
            return Err(format!("expected a secure RRset, got {secure:?}").into());
        };
        println!("  _25._tcp.{base}: secure, TTL {ttl}");
        for record in records.records() {
            println!("    _25._tcp.{base}. {ttl} IN TLSA {record}");
        }
        let addr = tls::serve(vec![mx.der.clone(), int.der.clone()], &mx.key)?;
        let outcome = tls::connect(addr, host, &records, &Policy::smtp(base))?;
        println!("  TLS to {addr} with the fetched RRset: {outcome}");
        match bogus {
            Err(e @ LookupError::Bogus) => println!(
                "  _25._tcp.mx.bogus.dane.test: {e}: refused, the host is unusable (never \"no DANE\")"
            ),
            other => return Err(format!("expected bogus, got {other:?}").into()),
        }
        Ok(())
    }
}

/// Blocking rustls client and server on loopback, one std thread per server.
mod tls {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::Arc;

    use dane::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use dane::{DaneVerifier, Outcome, Policy, TlsaSet};
    use rcgen::KeyPair;

    use super::Result;

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// Serves `chain` on a fresh loopback port: each connection completes the handshake and
    /// echoes one message.
    pub(crate) fn serve(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> Result<SocketAddr> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(chain, key)?,
        );
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                    continue;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut buf = [0u8; 64];
                if let Ok(n) = tls.read(&mut buf) {
                    let _ = tls.write_all(&buf[..n]);
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            }
        });
        Ok(addr)
    }

    /// Our error, when the handshake failed because the verifier refused the peer.
    pub(crate) fn reason(e: &(dyn std::error::Error + 'static)) -> String {
        let rustls_error = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match rustls_error {
            Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) => {
                match other.0.downcast_ref::<dane::Error>() {
                    Some(dane) => format!("{dane} [TLS-RPT: {}]", dane.tls_rpt_result()),
                    None => other.0.to_string(),
                }
            }
            _ => e.to_string(),
        }
    }

    /// Connects to `addr` as `host` and authenticates it by `rrset` under `policy`.
    pub(crate) fn connect(
        addr: SocketAddr,
        host: &str,
        rrset: &TlsaSet,
        policy: &Policy,
    ) -> Result<Outcome> {
        let verifier = DaneVerifier::new(rrset.clone(), policy.clone(), provider());
        let conn = rustls::ClientConnection::new(
            Arc::new(verifier.client_config()?),
            ServerName::try_from(host.to_owned())?,
        )?;
        let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(addr)?);
        tls.write_all(b"hello")?; // drives the handshake; fails if the verifier refuses
        let mut echo = [0u8; 5];
        tls.read_exact(&mut echo)?;
        verifier
            .outcome()
            .ok_or_else(|| "no outcome after the handshake".into())
    }
}
