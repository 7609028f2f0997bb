//! `GET /` over HTTPS, the server authenticated by its TLSA records (tokio-rustls).
//!
//! ```text
//! DANE_RESOLVER=127.0.0.1:53 cargo run -p dane-integrations --example tokio_https -- HOST [PORT]
//! ```
//!
//! The records come from a validating resolver on loopback (see
//! `dane_integrations::local_resolver`); the code is in `src/tokio_https.rs`.

use dane_integrations::{BoxError, local_resolver, tokio_https};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let host = args.next().ok_or("usage: tokio_https HOST [PORT]")?;
    let port = args.next().map_or(Ok(443), |p| p.parse())?;
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await?
        .next()
        .ok_or("no address")?;
    let status = tokio_https::get(&local_resolver()?, &host, port, addr).await?;
    println!("{host}:{port}: {status}");
    Ok(())
}
