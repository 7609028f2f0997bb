//! # HTTPS with DANE (RFC 7671)
//!
//! For HTTPS and other TLS services the TLSA name is `_<port>._tcp.<host>` and the rules
//! are RFC 7671's ([`Policy::generic`](crate::Policy::generic)): all four usages, with
//! PKIX-TA(0)/PKIX-EE(1) checked against roots you give
//! ([`Policy::with_pkix_roots`](crate::Policy::with_pkix_roots)), and no CN fallback.
//! Whether a host without TLSA records is still reached through the WebPKI is the
//! application's choice.
//!
//! ## One connection
//!
//! ```no_run
//! use std::sync::Arc;
//! use dane::resolver::{ServerSettings, TlsaLookup, TlsaResolver, TrustedAdSource};
//! use dane::{ConfigDaneExt, Policy, ReferenceName};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let source = TrustedAdSource::connect(ServerSettings::new("127.0.0.1:53".parse()?), ".").await?;
//! let resolver = TlsaResolver::new(source);
//! let host = "www.example.net";
//! match resolver.lookup_tlsa(443, "tcp", host).await? {
//!     TlsaLookup::Secure { records, base, .. } => {
//!         let config = rustls::ClientConfig::with_dane(records, Policy::generic(base))?;
//!         // tokio_rustls::TlsConnector::from(Arc::new(config)).connect(host, tcp) …
//! #       let _ = Arc::new(config);
//!     }
//!     // No TLSA records, or an unsigned zone: DANE does not apply (WebPKI, or refuse).
//!     TlsaLookup::SecureAbsent | TlsaLookup::Insecure => {}
//!     _ => {}
//! }
//! // An `Err` is a bogus or failed lookup: never connect as if there were no DANE.
//! # Ok(()) }
//! ```
//!
//! ## Many hosts, one config
//!
//! An HTTP client keeps one `ClientConfig` for all connections. Give it a verifier over a
//! [`TlsaStore`](crate::TlsaStore) ([`DaneVerifier::with_store`](crate::DaneVerifier::with_store))
//! and insert each host's records (looked up before connecting, by its `ServerName`); a
//! host without an entry fails closed. Inserting or removing an entry forgets the host's TLS
//! sessions, so a session never resumes under records it was not authenticated by. With
//! [`NoUsableRecords::FallBack`](crate::NoUsableRecords::FallBack) a host whose records
//! are all unusable is checked by another verifier (for example rustls-platform-verifier);
//! a DANE failure never falls back.
//!
//! ## Pitfalls
//!
//! - The TLSA base domain is the host name you connect to, after CNAMEs in the address
//!   lookup only as RFC 7671 §7 allows; [`TlsaLookup::Secure::base`](crate::resolver::TlsaLookup::Secure)
//!   gives the one to use in the policy.
//! - Connecting by IP address: keep the host name in the policy; the verifier checks the
//!   policy's names, not the `ServerName`.
