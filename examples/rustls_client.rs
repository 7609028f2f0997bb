//! The smallest complete tokio-rustls client that authenticates its server by TLSA records.
//!
//! ```text
//! cargo run --example rustls_client -- HOST[:PORT] "3 1 1 <hex>" ["2 1 1 <hex>"…]
//! ```
//!
//! The records would come from a DNSSEC-validated lookup of `_PORT._tcp.HOST`; here they are
//! given on the command line. The port defaults to 443.

use std::sync::Arc;

use dane::pki_types::ServerName;
use dane::{DaneVerifier, Policy, ReferenceName, Tlsa, TlsaSet};
use tokio::io::AsyncWriteExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let target = args
        .next()
        .ok_or("usage: rustls_client HOST[:PORT] \"U S M HEX\"...")?;
    let (host, port) = match target.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.parse::<u16>()?),
        None => (target.clone(), 443),
    };
    let records: TlsaSet = args.map(|r| r.parse::<Tlsa>()).collect::<Result<_, _>>()?;

    // The TLSA base domain is the host; it is also the SNI name rustls sends.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let policy = Policy::generic(ReferenceName::new(&host)?);
    let verifier = DaneVerifier::new(records, policy, provider);
    let connector = tokio_rustls::TlsConnector::from(Arc::new(verifier.client_config()?));

    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    let mut tls = connector
        .connect(ServerName::try_from(host.clone())?, tcp)
        .await?;
    if let Some(outcome) = verifier.outcome() {
        println!("{host}:{port}: {outcome}");
    }
    tls.shutdown().await?;
    Ok(())
}
