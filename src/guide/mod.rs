//! Guides: how to use the crate for a whole job (documentation only, no items).
//!
//! - [`mta`]: DANE for a mail transfer agent (RFC 7672): per-MX policy, connect, log,
//!   what to do on each status, TLS-RPT, and the post-handshake pattern for SMTP stacks
//!   that take no custom verifier.
//! - [`openssl`]: migrating from OpenSSL's DANE API (`SSL_dane_enable`,
//!   `SSL_dane_tlsa_add`, `DANE_FLAG_NO_DANE_EE_NAMECHECKS`, `SSL_get0_dane_authority` …).
//! - [`https`]: HTTPS (or any TLS service) with DANE (RFC 7671): records from the
//!   resolver, one connection, or one shared config for many hosts.
//!
//! The guides' examples need the features `rustls` and `resolver`.

pub mod https;
pub mod mta;
pub mod openssl;
