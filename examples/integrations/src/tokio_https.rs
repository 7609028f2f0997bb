//! HTTPS over tokio-rustls, authenticated by the TLSA records of `_<port>._tcp.<host>`.
//!
//! The DANE part is the three steps marked below: a DNSSEC-secure TLSA lookup, a rustls
//! `ClientConfig` from [`ConfigDaneExt::with_dane`], and the handshake. Nothing else about
//! the TLS client changes.
//!
//! Pitfalls:
//! - Only a **secure** answer with records means DANE. An insecure or secure-absent answer
//!   means the host does not use DANE (fall back to WebPKI if your application allows it;
//!   this example refuses), and a lookup **error** (bogus, SERVFAIL, timeout) must never be
//!   read as "no DANE": that is the downgrade an attacker would cause.
//! - The TLSA owner name carries the port: records for `_443._tcp` say nothing about 8443.
//! - `with_dane` fails every handshake when no record is usable (RFC 7671 §4); build a
//!   [`DaneVerifier`](dane::DaneVerifier) to choose otherwise.
//! - The records' TTL bounds how long the config may be reused; look up again after it
//!   (the resolver's cache makes that cheap).

use std::net::SocketAddr;
use std::sync::Arc;

use dane::pki_types::ServerName;
use dane::resolver::{DnsSource, TlsaLookup, TlsaResolver};
use dane::{ConfigDaneExt, Policy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::BoxError;

/// `GET /` from `https://host:port/` at `addr`; returns the response's status line.
pub async fn get<S: DnsSource>(
    resolver: &TlsaResolver<S>,
    host: &str,
    port: u16,
    addr: SocketAddr,
) -> Result<String, BoxError> {
    // -- DANE: 1. the secure TLSA RRset of _<port>._tcp.<host>
    let TlsaLookup::Secure { records, base, .. } = resolver.lookup_tlsa(port, "tcp", host).await?
    else {
        return Err(format!("{host}:{port} publishes no secure TLSA records").into());
    };
    // -- 2. a rustls config that accepts only a server those records authenticate
    let config = rustls::ClientConfig::with_dane(records, Policy::generic(base))?;
    // -- 3. connect as with any rustls config (the ServerName is also the SNI)
    let connector = TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await?;
    let mut tls = connector
        .connect(ServerName::try_from(host.to_owned())?, tcp)
        .await?;
    // -- end of the DANE part

    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    Ok(response.lines().next().unwrap_or_default().to_owned())
}
