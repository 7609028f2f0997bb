//! # DANE for an MTA (RFC 7672)
//!
//! An MTA that delivers to a domain does four things per delivery: look up the domain's
//! DANE plan, connect to each MX host in order, authenticate the TLS handshake by the host's
//! TLSA records, and log (and report) what happened. The crate does the DNS and the
//! authentication; the MTA keeps its queue, its SMTP dialogue and its retry policy.
//!
//! ## 1. One resolver per process
//!
//! Pick the trust mode once (see the README's resolver section for numbers):
//!
//! - [`TrustedAdSource`](crate::resolver::TrustedAdSource): a validating resolver on
//!   loopback (Unbound, as Postfix uses it) does DNSSEC; the crate trusts its AD bit.
//!   [`connect`](crate::resolver::TrustedAdSource::connect) refuses a resolver that does not
//!   validate. The fastest mode.
//! - [`ValidatingSource`](crate::resolver::ValidatingSource): the crate validates itself
//!   from the IANA root anchor, with any recursive resolver upstream (which it does not
//!   trust).
//!
//! Share one [`TlsaResolver`](crate::resolver::TlsaResolver) (in an `Arc`) between all
//! delivery tasks: it caches answers by their TTLs and coalesces concurrent lookups.
//!
//! ## 2. The plan of a next-hop domain
//!
//! [`smtp_targets(domain, 25)`](crate::resolver::TlsaResolver::smtp_targets) returns the MX
//! hosts in preference order (or the domain itself, implicit MX), each with its secure and
//! insecure addresses and a [`DaneStatus`](crate::resolver::DaneStatus). An `Err` means the
//! MX lookup itself was bogus or failed: **defer the whole domain** (never "no DANE"). A
//! plan is valid until [`SmtpPlan::expires`](crate::resolver::SmtpPlan::expires).
//!
//! | status of a target | TLS | authentication | on failure |
//! |---|---|---|---|
//! | `Required { tlsa, policy, sni }` | mandatory: no STARTTLS means do not deliver | the handshake must verify under `tlsa` and `policy`; send `sni` as SNI (RFC 7672 §8.1) | try the next MX, then defer |
//! | `TlsRequiredUnauthenticated { sni, .. }` | mandatory | none possible (no usable record, RFC 7672 §2.2) | try the next MX, then defer |
//! | `Opportunistic` | if offered | none | deliver in clear text if STARTTLS is not offered |
//! | `Unusable(error)` | — | — | skip this host (bogus or failed lookup); try the next MX, then defer |
//!
//! `Required` covers only the target's
//! [`secure_addresses`](crate::resolver::Target::secure_addresses); its
//! `insecure_addresses` get opportunistic TLS at most (RFC 7672 §2.2.1, as Postfix).
//!
//! ## 3. Connect and authenticate
//!
//! One [`DaneVerifier`](crate::DaneVerifier) per connection (building it and its config
//! takes well under a microsecond): its [`outcome`](crate::DaneVerifier::outcome) then
//! belongs to that connection.
//!
//! ```no_run
//! use std::sync::Arc;
//! use dane::pki_types::ServerName;
//! use dane::resolver::{DaneStatus, Target};
//! use dane::{DaneVerifier, TlsaSet, danger};
//!
//! /// The rustls config for one connection to `target`, and the SNI to send; `None`: do
//! /// not connect to this host (try the next one).
//! fn tls_for(target: &Target) -> Option<(DaneVerifier, ServerName<'static>)> {
//!     let provider = Arc::new(rustls::crypto::ring::default_provider());
//!     match &target.status {
//!         DaneStatus::Required { tlsa, policy, sni } => Some((
//!             DaneVerifier::new(tlsa.clone(), policy.clone(), provider),
//!             ServerName::try_from(sni.as_str().to_owned()).ok()?,
//!         )),
//!         DaneStatus::TlsRequiredUnauthenticated { sni, .. } => Some((
//!             // TLS, and rustls still checks the handshake signature, but no record can
//!             // authenticate the peer.
//!             DaneVerifier::new(TlsaSet::new([]), dane::Policy::smtp(sni.clone()), provider)
//!                 .with_no_usable_records(danger::accept_unauthenticated()),
//!             ServerName::try_from(sni.as_str().to_owned()).ok()?,
//!         )),
//!         // Opportunistic: the MTA's usual opportunistic TLS (an empty `TlsaSet` with
//!         // `accept_unauthenticated`, as above, is a safe one).
//!         DaneStatus::Opportunistic => None,
//!         DaneStatus::Unusable(_) => None,
//!         _ => None,
//!     }
//! }
//!
//! # fn main() {}
//! ```
//!
//! Then: TCP to an address, read the greeting, `EHLO`; if the server does not offer
//! `STARTTLS` under `Required` or `TlsRequiredUnauthenticated`, quit and try the next host
//! (TLS-RPT `starttls-not-supported`). Otherwise `STARTTLS`, and the TLS handshake with
//! `verifier.client_config()` and the SNI. A handshake error is a DANE failure for this
//! host: quit, try the next one, never retry in clear text. After a successful handshake,
//! `verifier.outcome()` says how the peer was accepted.
//!
//! ## 4. The log line
//!
//! [`Outcome`](crate::Outcome)'s `Display` is Postfix's wording:
//!
//! ```text
//! Verified TLS connection established to mx.example.net[192.0.2.1]:25: Verified TLS connection (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0)
//! ```
//!
//! A refused handshake carries the crate's [`Error`](crate::Error) inside rustls'
//! `Error::InvalidCertificate(CertificateError::Other(..))`; its
//! [`category`](crate::Error::category) is a stable kebab-case word for logs and metrics.
//!
//! ## 5. TLS reporting (feature `tlsrpt`)
//!
//! Record one [`SessionOutcome`](crate::tlsrpt::SessionOutcome) per session into a shared
//! [`Aggregator`](crate::tlsrpt::Aggregator): the policy is
//! [`PolicyDetails::tlsa`](crate::tlsrpt::PolicyDetails::tlsa) of the TLSA base domain and
//! records (or `no_policy_found` for opportunistic targets), the result comes from the
//! handshake's error or success. Once a day, drain the aggregate into one report per policy
//! domain and send it to the `rua` of the domain's `_smtp._tls` record.
//!
//! ## Stacks that take no custom verifier: check after the handshake
//!
//! Some SMTP libraries (lettre's high-level transport, for example) let you choose a rustls
//! config but not inspect the session before they speak. Where you can reach the connection
//! between the handshake and the first mail command (lettre's low-level `SmtpConnection`,
//! your own STARTTLS code), this pattern is safe:
//!
//! 1. Handshake with a verifier that accepts any certificate **but still checks the
//!    handshake signature** with the certificate's key: `DaneVerifier::new(TlsaSet::new([]),
//!    policy, provider).with_no_usable_records(danger::accept_unauthenticated())` does
//!    exactly that. Turn session resumption off (`config.resumption =
//!    rustls::client::Resumption::disabled()`), so every connection has a full handshake.
//! 2. Before `MAIL FROM`, run [`verify`](crate::verify) on the peer's certificates
//!    (`peer_certificates()`, leaf first) with the TLSA records and the policy; on an error,
//!    send `QUIT` and treat it as a DANE failure.
//!
//! ```
//! use dane::pki_types::{CertificateDer, UnixTime};
//! use dane::{Policy, TlsaSet, Verified, verify};
//!
//! /// After STARTTLS and the handshake, before any mail command.
//! fn check_peer(peer: &[CertificateDer<'_>], tlsa: &TlsaSet, policy: &Policy) -> Result<Verified, dane::Error> {
//!     verify(peer, tlsa, policy, UnixTime::now())
//! }
//! ```
//!
//! Pitfalls: never use an "accept everything" verifier that also skips
//! `verify_tls12_signature`/`verify_tls13_signature` (many "dangerous" examples online do):
//! then anyone can present the real server's certificate without its private key, and the
//! check after the handshake passes. Never send mail, or even `EHLO` again with
//! credentials, before the check. With a verifier inside the handshake
//! ([`DaneVerifier`](crate::DaneVerifier)), none of this can go wrong: prefer it wherever the
//! library accepts a `rustls::ClientConfig`.
