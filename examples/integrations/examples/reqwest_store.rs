//! Fetches several HTTPS URLs with one reqwest client whose rustls config authenticates
//! every host by its TLSA records, prefetched into a `TlsaStore`.
//!
//! ```text
//! DANE_RESOLVER=127.0.0.1:53 cargo run -p dane-integrations --example reqwest_store -- URL...
//! ```
//!
//! The code is in `src/reqwest_store.rs`.

use std::sync::Arc;

use dane::TlsaStore;
use dane_integrations::{BoxError, local_resolver, reqwest_store};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let urls: Vec<reqwest::Url> = std::env::args()
        .skip(1)
        .map(|u| u.parse())
        .collect::<Result<_, _>>()?;
    let mut hosts = Vec::new();
    for url in &urls {
        let host = url.host_str().ok_or("URL without a host")?;
        hosts.push((host, url.port_or_known_default().unwrap_or(443)));
    }
    let store = Arc::new(TlsaStore::new());
    reqwest_store::prefetch(&local_resolver()?, &store, &hosts).await?;
    let client = reqwest_store::client(reqwest::Client::builder(), store.clone())?;
    for url in urls {
        match client.get(url.clone()).send().await {
            Ok(response) => {
                let host = url.host_str().unwrap_or_default();
                let how = store
                    .outcome(host)
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                println!("{url}: {} ({how})", response.status());
            }
            Err(e) => println!("{url}: {e}"),
        }
    }
    Ok(())
}
