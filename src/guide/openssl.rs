//! # Migrating from OpenSSL's DANE API
//!
//! OpenSSL (1.1.0 and later) implements DANE inside its X.509 verifier, driven per `SSL`
//! object; Postfix and Exim use it that way. This crate keeps the same rules (where the
//! RFCs leave a choice, OpenSSL's verdict is the reference; the few deliberate differences
//! are in the crate root's table) and splits the API into values.
//!
//! | OpenSSL | `dane` |
//! |---|---|
//! | `SSL_CTX_dane_enable(ctx)` | nothing: a [`DaneVerifier`](crate::DaneVerifier) per connection, or one config over a [`TlsaStore`](crate::TlsaStore) |
//! | `SSL_CTX_dane_mtype_set(ctx, EVP_sha512(), 2, 1)` (digest preference, RFC 7671 §9) | [`TlsaSet::with_digest_order`](crate::TlsaSet::with_digest_order) (strongest first; a digest left out is unsupported, so its records are unusable) |
//! | `SSL_dane_enable(ssl, base_domain)` | [`Policy::smtp(base)`](crate::Policy::smtp) (RFC 7672) or [`Policy::generic(base)`](crate::Policy::generic) (RFC 7671); SNI is the rustls `ServerName` |
//! | `SSL_add1_host(ssl, name)` (more reference identifiers) | [`Policy::with_reference_name`](crate::Policy::with_reference_name) |
//! | `SSL_dane_tlsa_add(ssl, u, s, m, data, len)` | [`Tlsa::new(u, s, m, data)`](crate::Tlsa::new) (or parse presentation / wire RDATA), collected into a [`TlsaSet`](crate::TlsaSet) |
//! | … its return value 0 (record unusable, ignored) | kept in the set with its [`RecordStatus`](crate::RecordStatus); [`TlsaSet::has_usable`](crate::TlsaSet::has_usable) |
//! | … its return value −1 (malformed) | [`TlsaParseError`](crate::TlsaParseError) when parsing; a malformed record in a DNS answer is counted as unusable |
//! | `SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS)` | the default of both profiles (RFC 7671 §5.1, RFC 7672 §3.1.1); OpenSSL's default is [`Policy::with_dane_ee_name_checks(true)`](crate::Policy::with_dane_ee_name_checks) |
//! | `X509_VERIFY_PARAM_set_hostflags(…NO_PARTIAL_WILDCARDS)` | always: partial-label wildcards are refused (as Postfix configures OpenSSL) |
//! | the `SSL_CTX`'s trust store for PKIX-TA(0)/PKIX-EE(1) | [`Policy::with_pkix_roots`](crate::Policy::with_pkix_roots) with [`PkixRoots`](crate::PkixRoots); without roots, usages 0 and 1 are unusable |
//! | no usable records: OpenSSL falls back to PKIX against its store | the caller chooses: [`NoUsableRecords`](crate::NoUsableRecords) (`Fail`, `FallBack(verifier)`, or [`danger::accept_unauthenticated`](crate::danger::accept_unauthenticated) for RFC 7672 §2.2) |
//! | `SSL_get_verify_result(ssl) == X509_V_OK` after the handshake | the handshake succeeded; the decision is made inside it |
//! | `X509_V_ERR_DANE_NO_MATCH` and friends | [`Error`](crate::Error) (`NoMatch`, `NameMismatch`, `Expired`, …) inside rustls' `Error::InvalidCertificate(CertificateError::Other(..))`; [`Error::category`](crate::Error::category) for logs |
//! | `SSL_get0_dane_authority(ssl, &mcert, &mspki)` (depth of the match) | [`Outcome::Dane(verified)`](crate::Outcome::Dane): [`Verified::depth`](crate::Verified::depth) counts like OpenSSL (0 = leaf); [`Verified::anchor_from_record`](crate::Verified::anchor_from_record) for a `2 x 0` key taken from DNS |
//! | `SSL_get0_dane_tlsa(ssl, &u, &s, &m, &data, &len)` (the matching record) | [`Verified::record`](crate::Verified::record), [`Verified::record_index`](crate::Verified::record_index) |
//! | `SSL_get0_peername(ssl)` (the name that matched) | [`Verified::name`](crate::Verified::name) |
//! | `X509_V_FLAG_*` time override (`-attime`) | the `now` argument of [`verify`](crate::verify) |
//!
//! ## One connection, side by side
//!
//! OpenSSL (C):
//!
//! ```text
//! SSL_CTX_dane_enable(ctx);
//! SSL_dane_enable(ssl, "mx.example.net");
//! SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
//! SSL_dane_tlsa_add(ssl, 3, 1, 1, digest, 32);
//! SSL_set_tlsext_host_name(ssl, "mx.example.net");
//! SSL_connect(ssl);
//! if (SSL_get0_dane_authority(ssl, NULL, NULL) >= 0) { /* DANE-verified */ }
//! ```
//!
//! `dane` with rustls:
//!
//! ```
//! use std::sync::Arc;
//! use dane::{DaneVerifier, Outcome, Policy, ReferenceName, Tlsa, TlsaSet};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let digest = [0u8; 32];
//! let records = TlsaSet::new([Tlsa::new(3, 1, 1, digest)]);
//! let policy = Policy::smtp(ReferenceName::new("mx.example.net")?); // no DANE-EE name checks
//! let provider = Arc::new(rustls::crypto::ring::default_provider());
//! let verifier = DaneVerifier::new(records, policy, provider);
//! let config = Arc::new(verifier.client_config()?);
//! // connect with `config` and ServerName "mx.example.net" (the SNI) …
//! if let Some(Outcome::Dane(v)) = verifier.outcome() {
//!     println!("DANE-verified at depth {}", v.depth());
//! }
//! # let _ = config; Ok(()) }
//! ```
//!
//! Without a TLS stack (a chain you already have, as `openssl s_client -dane_tlsa_rrdata`
//! checks one): [`verify(chain, &records, &policy, now)`](crate::verify).
