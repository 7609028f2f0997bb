//! Fetches HTTPS URLs through a hyper-rustls connector that looks up the TLSA records of
//! `_<port>._tcp.<host>` for each connection, the port taken from the URL.
//!
//! ```text
//! DANE_RESOLVER=127.0.0.1:53 cargo run -p dane-integrations --example hyper_connector -- URL...
//! ```
//!
//! The code is in `src/hyper_connector.rs`.

use std::sync::Arc;

use dane_integrations::hyper_connector::DaneConnector;
use dane_integrations::{BoxError, local_resolver};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false); // the URIs are https; the TLS layer is ours
    let connector = DaneConnector::new(Arc::new(local_resolver()?), tcp);
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    for url in std::env::args().skip(1) {
        match client.get(url.parse()?).await {
            Ok(response) => println!("{url}: {}", response.status()),
            Err(e) => println!("{url}: {e:?}"),
        }
    }
    Ok(())
}
