//! RFC 7672 delivery with mail-send: each MX host of a domain in preference order, each
//! connection with its own verifier chosen by the host's [`DaneStatus`].
//!
//! mail-send 0.7 takes a `tokio_rustls::TlsConnector`, so any rustls `ClientConfig`
//! works, including one from [`DaneVerifier::client_config`]. Its high-level
//! `SmtpClientBuilder` connects to `"host:port"` through the system resolver and to any
//! of the host's addresses, which is wrong for DANE (RFC 7672 §2.2.1: only addresses from
//! a secure lookup are covered by the TLSA records). This example therefore uses
//! mail-send's lower-level `SmtpClient`: connect to one address of the plan, read the
//! greeting, `EHLO`, `STARTTLS` with the connection's own config, `EHLO` again, send.
//!
//! | status | what this example does |
//! |---|---|
//! | `Required` | STARTTLS is mandatory; the handshake must verify under the records (a `DaneVerifier`), SNI = the TLSA base domain; secure addresses only |
//! | `TlsRequiredUnauthenticated` | STARTTLS is mandatory; `danger::accept_unauthenticated()` (rustls still checks the handshake signature) |
//! | `Opportunistic` | mail-send has no opportunistic mode: STARTTLS when offered (unauthenticated, as above), clear text otherwise |
//! | `Unusable` | skip the host (never downgrade), try the next |
//!
//! A handshake that fails DANE is a failure of that host: the next MX is tried, and the
//! message is never sent in clear text to a host that required TLS.
//!
//! Pitfalls:
//! - One verifier **per connection**: its `outcome()` then says how this connection was
//!   authenticated (for the log line and TLS-RPT).
//! - The addresses of a `Required` target's insecure lookups are not covered by DANE; this
//!   example skips them (Postfix would try them with opportunistic TLS).
//! - A failed MX lookup (`smtp_targets` returns `Err`) defers the whole domain.
//! - Here every failure moves on to the next host; a real MTA stops at a permanent (5xx)
//!   rejection of the message and defers on the rest, as RFC 5321 says.

use std::net::SocketAddr;
use std::time::Duration;

use dane::resolver::{DaneStatus, DnsSource, TlsaResolver};
use dane::{DaneVerifier, Policy, ReferenceName, TlsaSet, danger};
use mail_send::SmtpClient;
use mail_send::smtp::message::Message;
use smtp_proto::EXT_START_TLS;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::{BoxError, provider};

/// Time allowed for each SMTP step.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What happened to one delivery.
#[derive(Debug, Default)]
pub struct Report {
    /// The host and address that took the message, and how TLS was authenticated.
    pub delivered: Option<(String, SocketAddr, String)>,
    /// One line per host or address tried (or skipped), in order.
    pub log: Vec<String>,
}

/// How to secure one connection.
enum Tls {
    /// STARTTLS mandatory, with this verifier and SNI.
    Mandatory(DaneVerifier, String),
    /// STARTTLS when offered, unauthenticated; clear text otherwise.
    Opportunistic(String),
}

/// A verifier that accepts any certificate but still checks the handshake signature.
fn unauthenticated(sni: &ReferenceName) -> DaneVerifier {
    DaneVerifier::new(TlsaSet::new([]), Policy::smtp(sni.clone()), provider())
        .with_no_usable_records(danger::accept_unauthenticated())
}

/// Delivers `message` to `domain`'s MX hosts (SMTP port `port`, 25 in production) in
/// order, stopping at the first that accepts it. `Err` only when the MX lookup failed.
pub async fn deliver<S: DnsSource>(
    resolver: &TlsaResolver<S>,
    domain: &str,
    port: u16,
    helo: &str,
    message: &Message<'_>,
) -> Result<Report, BoxError> {
    let plan = resolver.smtp_targets(domain, port).await?;
    let mut report = Report::default();
    for target in plan.targets {
        let host = target.host.to_ascii().trim_end_matches('.').to_owned();
        let addresses = match &target.status {
            // RFC 7672 §2.2.1: DANE covers only the addresses from secure lookups.
            DaneStatus::Required { .. } | DaneStatus::TlsRequiredUnauthenticated { .. } => {
                target.secure_addresses.clone()
            }
            DaneStatus::Opportunistic => {
                let mut all = target.secure_addresses.clone();
                all.extend(&target.insecure_addresses);
                all
            }
            DaneStatus::Unusable(e) => {
                report
                    .log
                    .push(format!("{host}: skipped, lookup failed: {e}"));
                continue;
            }
            other => {
                report
                    .log
                    .push(format!("{host}: skipped, {}", other.label()));
                continue;
            }
        };
        if addresses.is_empty() {
            report.log.push(format!("{host}: no address to connect to"));
        }
        for ip in addresses {
            let addr = SocketAddr::new(ip, port);
            // A fresh verifier per connection (cheap), so its outcome is this connection's.
            let tls = match &target.status {
                DaneStatus::Required { tlsa, policy, sni } => Tls::Mandatory(
                    DaneVerifier::new(tlsa.clone(), policy.clone(), provider()),
                    sni.as_str().to_owned(),
                ),
                DaneStatus::TlsRequiredUnauthenticated { sni, .. } => {
                    Tls::Mandatory(unauthenticated(sni), sni.as_str().to_owned())
                }
                _ => Tls::Opportunistic(host.clone()),
            };
            match attempt(addr, tls, helo, message).await {
                Ok(how) => {
                    report.log.push(format!("{host}[{addr}]: delivered, {how}"));
                    report.delivered = Some((host, addr, how));
                    return Ok(report);
                }
                Err(e) => report.log.push(format!("{host}[{addr}]: {e}")),
            }
        }
    }
    Ok(report)
}

/// One SMTP session to `addr`; the description of its TLS on success.
async fn attempt(
    addr: SocketAddr,
    tls: Tls,
    helo: &str,
    message: &Message<'_>,
) -> Result<String, BoxError> {
    let mut client = SmtpClient::connect(addr, TIMEOUT).await?;
    let greeting = client.read().await?;
    if !(200..300).contains(&greeting.code) {
        return Err(format!("greeting {greeting}").into());
    }
    let offers_starttls = client.ehlo(helo).await?.has_capability(EXT_START_TLS);
    let (verifier, sni) = match tls {
        Tls::Mandatory(verifier, sni) => {
            if !offers_starttls {
                let _ = client.quit().await;
                return Err("STARTTLS not offered, and TLS is required: not delivered".into());
            }
            (verifier, sni)
        }
        Tls::Opportunistic(host) if offers_starttls => {
            let sni = ReferenceName::new(&host)?;
            (unauthenticated(&sni), host)
        }
        Tls::Opportunistic(_) => {
            send(&mut client, message).await?;
            let _ = client.quit().await;
            return Ok("no TLS (opportunistic, STARTTLS not offered)".to_owned());
        }
    };
    let connector = TlsConnector::from(std::sync::Arc::new(verifier.client_config()?));
    // A handshake error here is a DANE failure of this host: never retry in clear text.
    let mut client = start_tls(client, &connector, &sni).await?;
    let how = verifier
        .outcome()
        .map_or_else(|| "TLS".to_owned(), |o| o.to_string());
    client.ehlo(helo).await?;
    send(&mut client, message).await?;
    let _ = client.quit().await;
    Ok(how)
}

async fn start_tls(
    client: SmtpClient<TcpStream>,
    connector: &TlsConnector,
    sni: &str,
) -> Result<SmtpClient<tokio_rustls::client::TlsStream<TcpStream>>, BoxError> {
    client.start_tls(connector, sni).await.map_err(|e| {
        // A DANE refusal travels inside rustls' `InvalidCertificate(Other(..))`: log the
        // crate's error and its stable category (also the TLS-RPT failure reason).
        if let mail_send::Error::Tls(tls) = &e
            && let rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) =
                &**tls
            && let Some(dane) = other.0.downcast_ref::<dane::Error>()
        {
            return format!("DANE failure: {dane} [{}]", dane.category()).into();
        }
        format!("TLS handshake failed: {e}").into()
    })
}

async fn send<T>(client: &mut SmtpClient<T>, message: &Message<'_>) -> Result<(), BoxError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let reply = client.send(message.clone()).await?;
    if !(200..300).contains(&reply.code) {
        return Err(format!("message refused: {reply}").into());
    }
    Ok(())
}
