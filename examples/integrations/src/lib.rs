//! Using `dane` from the usual Rust TLS, HTTP and SMTP stacks.
//!
//! This crate is not published: it exists so that the examples below (and their loopback
//! tests) can depend on tokio-rustls, hyper-rustls, reqwest, lettre and mail-send without
//! those dependencies ever reaching the users of `dane`. Each module is one integration,
//! written to be copied; the programs in `examples/` run them against real hosts and the
//! tests in `tests/` run them against loopback servers and the in-process signed DNS
//! server of the `dane` test suite.
//!
//! | module | stack | records from | what it shows |
//! |---|---|---|---|
//! | [`tokio_https`] | tokio-rustls | [`TlsaResolver::lookup_tlsa`](dane::resolver::TlsaResolver::lookup_tlsa) | the shortest path: lookup → `ClientConfig::with_dane` → connect |
//! | [`mail_send_mx`] | mail-send 0.7 | [`smtp_targets`](dane::resolver::TlsaResolver::smtp_targets) | RFC 7672 delivery to each MX in order, one `DaneVerifier` per connection |
//! | [`lettre_post_handshake`] | lettre 0.11 `SmtpConnection` | given by the caller | a stack that takes no custom verifier: check the chain after the handshake, before any mail command |
//! | [`reqwest_store`] | reqwest 0.12 | prefetched into a `TlsaStore` | one shared `ClientConfig` for many hosts; a host without an entry fails closed |
//! | [`hyper_connector`] | hyper-rustls 0.27 | looked up per connection | a connector that knows the port, one `TlsaStore` per port |
//!
//! Every handshake here is authenticated by DANE or refused; none falls back to WebPKI,
//! and none of this code trusts an answer that was not DNSSEC-secure.

pub mod hyper_connector;
pub mod lettre_post_handshake;
pub mod mail_send_mx;
pub mod reqwest_store;
pub mod tokio_https;

use std::sync::Arc;

use dane::resolver::{ServerSettings, TlsaResolver, TrustedAdSource};

/// The error type of the examples: anything, with its message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The crypto provider every example uses (ring, as `dane` itself).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The resolver the example programs use: a validating resolver (Unbound, as with Postfix)
/// at `DANE_RESOLVER` (default `127.0.0.1:53`), trusted for its AD bit, which is safe only
/// on loopback (`TrustedAdSource::new` refuses anything else). Without one, use
/// [`ValidatingSource`](dane::resolver::ValidatingSource) with the IANA root anchor.
pub fn local_resolver() -> Result<TlsaResolver<TrustedAdSource>, BoxError> {
    let addr = std::env::var("DANE_RESOLVER").unwrap_or_else(|_| "127.0.0.1:53".to_owned());
    let source = TrustedAdSource::new(ServerSettings::new(addr.parse()?))?;
    Ok(TlsaResolver::new(source))
}
