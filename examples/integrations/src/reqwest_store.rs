//! reqwest with one shared rustls `ClientConfig` for many hosts: a store-backed
//! [`DaneVerifier`] whose [`TlsaStore`] is filled before the requests.
//!
//! reqwest 0.12 (`default-features = false`, feature `rustls-tls-manual-roots-no-provider`)
//! takes a finished rustls config through `ClientBuilder::use_preconfigured_tls`. The
//! verifier looks up each handshake's `ServerName` (the URL's host) in the store; a host
//! without an entry fails the handshake, so a URL nobody prefetched cannot silently go
//! unauthenticated.
//!
//! Pitfalls:
//! - The store is keyed by host name only, while TLSA records belong to
//!   `_<port>._tcp.<host>`: one client serves each host on one port. [`prefetch`] refuses a
//!   host given with two ports; for several ports per host see
//!   [`hyper_connector`](crate::hyper_connector).
//! - Entries do not expire by themselves: insert again when the records' TTL runs out (or
//!   build a new store), and remove hosts you no longer talk to.
//! - Keep the config's resumption as `client_config()` sets it (a `DaneSessionStore`):
//!   a session then resumes only under the entry it was authenticated with.
//! - reqwest follows redirects: a redirect to a host without an entry fails (closed), as
//!   it should; prefetch it if it is expected.

use std::collections::HashMap;
use std::sync::Arc;

use dane::resolver::{DnsSource, TlsaLookup, TlsaResolver};
use dane::{DaneVerifier, Policy, TlsaStore};

use crate::{BoxError, provider};

/// Looks up the TLSA records of each `(host, port)` and stores the secure ones under
/// `host`. A host without secure records gets no entry (its handshakes will fail); a failed
/// lookup is an error.
pub async fn prefetch<S: DnsSource>(
    resolver: &TlsaResolver<S>,
    store: &TlsaStore,
    hosts: &[(&str, u16)],
) -> Result<(), BoxError> {
    let mut ports = HashMap::new();
    for &(host, port) in hosts {
        if *ports.entry(host).or_insert(port) != port {
            return Err(format!("{host}: one store holds one port per host").into());
        }
        match resolver.lookup_tlsa(port, "tcp", host).await? {
            TlsaLookup::Secure { records, base, .. } => {
                store.insert(host, records, Policy::generic(base), &provider());
            }
            _ => store.remove(host), // no DANE for this host: no entry, fail closed
        }
    }
    Ok(())
}

/// A reqwest client whose every HTTPS connection is authenticated by `store`.
/// `builder` carries the caller's other settings (timeouts, proxies, resolve overrides).
pub fn client(
    builder: reqwest::ClientBuilder,
    store: Arc<TlsaStore>,
) -> Result<reqwest::Client, BoxError> {
    let verifier = DaneVerifier::with_store(store, provider());
    let config = verifier.client_config()?;
    Ok(builder
        .use_preconfigured_tls(config)
        .https_only(true)
        .build()?)
}
