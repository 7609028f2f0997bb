//! A hyper-rustls connector that authenticates each connection by the TLSA records of
//! `_<port>._tcp.<host>`, looked up when the connection is made.
//!
//! hyper-rustls 0.27 builds its connector from a rustls config
//! (`HttpsConnectorBuilder::new().with_tls_config(config)`) and gives the handshake the
//! URI's host as `ServerName`. A store-backed [`DaneVerifier`] only sees that name, never
//! the port, while the records depend on both. The port is in the `Uri` the connector is
//! called with (`uri.port_u16()`, or 443 for `https`), so [`DaneConnector`] wraps the
//! hyper-rustls connector:
//!
//! 1. from the `Uri`: host and port;
//! 2. look up `_<port>._tcp.<host>` (the resolver caches by TTL);
//! 3. insert the records under the host into **the store for that port** (one
//!    [`TlsaStore`] and one hyper-rustls connector per port, so that `host:443` and
//!    `host:8443` never overwrite each other's entry, not even concurrently);
//! 4. let that port's hyper-rustls connector connect and handshake.
//!
//! A host without secure TLSA records, or whose lookup fails, gets no connection.
//!
//! Pitfalls:
//! - Do not key a single store by host and reuse it across ports: a connection to one port
//!   would be checked against the other port's records.
//! - hyper's pool reuses connections per scheme, host and port; a pooled connection was
//!   authenticated under the records at its handshake (so were resumed sessions, which the
//!   store forgets when an entry changes).
//! - `https_only`: an `http://` URI must not bypass DANE.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use dane::resolver::{DnsSource, TlsaLookup, TlsaResolver};
use dane::{DaneVerifier, Policy, ReferenceName, TlsaSet, TlsaStore};
use hyper::Uri;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::Connection;
use tower_service::Service;

use crate::{BoxError, provider};

/// A hyper connector that looks up TLSA records per `(host, port)` and authenticates the
/// handshake by them. `T` is the TCP connector (hyper-util's `HttpConnector`, with the
/// resolver of your choice).
pub struct DaneConnector<S, T> {
    inner: Arc<Inner<S, T>>,
}

/// One port's store (keyed by host) and the hyper-rustls connector that uses it.
type PortConnector<T> = (Arc<TlsaStore>, HttpsConnector<T>);

struct Inner<S, T> {
    resolver: Arc<TlsaResolver<S>>,
    tcp: T,
    /// Per port: the store (keyed by host) and the hyper-rustls connector using it.
    ports: Mutex<HashMap<u16, PortConnector<T>>>,
    /// What each store holds per host, so that an unchanged lookup does not replace the
    /// entry (replacing it forgets the host's TLS sessions).
    stored: Mutex<HashMap<(u16, String), (TlsaSet, ReferenceName)>>,
}

impl<S, T> Clone for DaneConnector<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S, T: Clone> DaneConnector<S, T> {
    /// A connector over `tcp`, taking records from `resolver`.
    pub fn new(resolver: Arc<TlsaResolver<S>>, tcp: T) -> Self {
        Self {
            inner: Arc::new(Inner {
                resolver,
                tcp,
                ports: Mutex::default(),
                stored: Mutex::default(),
            }),
        }
    }

    /// The store for `port`, if a connection to that port was made (to read a host's
    /// [`outcome`](TlsaStore::outcome) for a log line).
    pub fn store(&self, port: u16) -> Option<Arc<TlsaStore>> {
        let ports = self
            .inner
            .ports
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        ports.get(&port).map(|(store, _)| store.clone())
    }

    /// The store and connector for `port`, made on first use.
    fn for_port(&self, port: u16) -> Result<PortConnector<T>, BoxError> {
        let mut ports = self
            .inner
            .ports
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = ports.get(&port) {
            return Ok(entry.clone());
        }
        let store = Arc::new(TlsaStore::new());
        let verifier = DaneVerifier::with_store(store.clone(), provider());
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(verifier.client_config()?)
            .https_only()
            .enable_http1()
            .wrap_connector(self.inner.tcp.clone());
        ports.insert(port, (store.clone(), https.clone()));
        Ok((store, https))
    }
}

impl<S, T> Service<Uri> for DaneConnector<S, T>
where
    S: DnsSource + Send + Sync + 'static,
    T: Service<Uri> + Clone + Send + Sync + 'static,
    T::Response: Connection + hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
    T::Future: Send + 'static,
    T::Error: Into<BoxError>,
    HttpsConnector<T>: Service<Uri, Response = MaybeHttpsStream<T::Response>, Error = BoxError>,
    <HttpsConnector<T> as Service<Uri>>::Future: Send + 'static,
{
    type Response = MaybeHttpsStream<T::Response>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            if uri.scheme_str() != Some("https") {
                return Err(format!("{uri}: only https is allowed").into());
            }
            let host = uri.host().ok_or("URI without a host")?.to_owned();
            // Where the port comes from: the URI, else the scheme's default.
            let port = uri.port_u16().unwrap_or(443);
            let TlsaLookup::Secure { records, base, .. } =
                this.inner.resolver.lookup_tlsa(port, "tcp", &host).await?
            else {
                return Err(format!("{host}:{port} publishes no secure TLSA records").into());
            };
            let (store, mut https) = this.for_port(port)?;
            {
                let mut stored = this
                    .inner
                    .stored
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let data = (records, base);
                if stored.get(&(port, host.clone())) != Some(&data) {
                    let (records, base) = data.clone();
                    store.insert(&host, records, Policy::generic(base), &provider());
                    stored.insert((port, host), data);
                }
            }
            https.call(uri).await
        })
    }
}
