//! # dane
//!
//! `dane` decides whether a TLS peer is authenticated by the TLSA records published for it
//! in DNSSEC-signed DNS: DANE, as specified by RFC 6698, updated by RFC 7671, with the SMTP
//! rules of RFC 7672.
//!
//! The crate has layers, each usable alone:
//!
//! - **the core** (always built): [`Tlsa`] records, [`TlsaSet`] RRsets and the matcher
//!   [`verify`]. It is a pure function of (certificate chain, records, [`Policy`], time):
//!   no I/O, no async, no clock, no DNS. The DANE-EE path decodes nothing but the leaf's
//!   outer DER structure and computes each digest once.
//! - **the rustls adapter** (feature `rustls`, default): [`DaneVerifier`], a rustls
//!   `ServerCertVerifier` that plugs the core into any rustls client (tokio-rustls, hyper,
//!   lettre, an MTA). See `examples/rustls_client.rs` for a complete tokio-rustls client.
//! - **the resolver** (feature `resolver`): [`resolver::TlsaResolver`], DNSSEC-authenticated
//!   TLSA lookups (local validation with hickory, or the AD bit of a trusted validating
//!   resolver) whose result cannot confuse "insecure" with "bogus" or "failed", and the
//!   RFC 7672 MX and RFC 7673 SRV policies.
//!
//! Guides for whole jobs (an MTA, a migration from OpenSSL's DANE API, HTTPS) are in the
//! `guide` module (built with the features `rustls` and `resolver`, as on docs.rs).
//!
//! ## Example
//!
//! An SMTP client (RFC 7672) has looked up the secure TLSA RRset of `_25._tcp.mx.example.net`
//! and received a certificate chain in the handshake:
//!
//! ```
//! use dane::pki_types::{CertificateDer, UnixTime};
//! use dane::{CertUsage, Matching, Policy, ReferenceName, Selector, Tlsa, TlsaSet, verify};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let key = rcgen::KeyPair::generate()?;
//! # let server_cert = rcgen::CertificateParams::new(vec!["mx.example.net".into()])?.self_signed(&key)?;
//! # let published = Tlsa::from_certificate(server_cert.der(), CertUsage::DaneEe, Selector::Spki, Matching::Sha256)?;
//! # let published = published.to_string();
//! // The RRset, as DNS returned it (presentation format here; `Tlsa::from_rdata` for wire).
//! let records = TlsaSet::new([published.parse::<Tlsa>()?]);
//! // The TLSA base domain is the first reference identifier (and the SNI name).
//! let policy = Policy::smtp(ReferenceName::new("mx.example.net")?);
//! // The chain as the server sent it, leaf first.
//! let chain: Vec<CertificateDer<'_>> = vec![server_cert.der().clone()];
//!
//! let verified = verify(&chain, &records, &policy, UnixTime::now())?;
//! assert_eq!(verified.usage(), CertUsage::DaneEe);
//! println!("Verified TLS connection: {verified}"); // DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0
//! # Ok(()) }
//! ```
//!
//! With rustls, the same decision is made inside the handshake:
//!
//! ```no_run
//! # #[cfg(feature = "rustls")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use dane::{DaneVerifier, Policy, ReferenceName, Tlsa, TlsaSet};
//!
//! let provider = Arc::new(rustls::crypto::ring::default_provider());
//! let records = TlsaSet::new(["3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6".parse::<Tlsa>()?]);
//! let verifier = DaneVerifier::new(records, Policy::smtp(ReferenceName::new("mx.example.net")?), provider);
//! let config = Arc::new(verifier.client_config()?);
//! let name = "mx.example.net".try_into()?; // also the SNI name (RFC 7672 §8.1)
//! let mut tls = rustls::StreamOwned::new(
//!     rustls::ClientConnection::new(config, name)?,
//!     std::net::TcpStream::connect("192.0.2.25:25")?, // after EHLO/STARTTLS for SMTP
//! );
//! std::io::Write::flush(&mut tls)?;
//! println!("{}", verifier.outcome().ok_or("no handshake")?); // Verified TLS connection (DANE-EE(3) …)
//! # Ok(()) }
//! # #[cfg(not(feature = "rustls"))] fn main() {}
//! ```
//!
//! A refusal is an [`Error`] that says why (no usable records, no match, name mismatch,
//! expired below a trust anchor, malformed certificate at depth N…) and maps to its RFC 8460
//! TLS-RPT result type with [`Error::tls_rpt_result`].
//!
//! ## Current features
//! - All four certificate usages: DANE-EE(3), DANE-TA(2) with the anchor in the chain or in
//!   the record (2 0 0, 2 1 0), PKIX-TA(0) and PKIX-EE(1) against caller-supplied roots.
//! - Both selectors and the three matching types; RFC 7671 §9 digest algorithm agility with a
//!   configurable digest order; unusable records (RFC 7671 §4) reported, not guessed at.
//! - RFC 6125 / RFC 7672 name checks: dNSName SANs, CN only without them (DANE usages
//!   only, and within the path's name constraints), whole-label wildcards; several
//!   reference identifiers (TLSA base domain, next-hop domain).
//! - SMTP (RFC 7672) and Generic (RFC 7671) profiles; OpenSSL's "check names for DANE-EE
//!   too" as an option.
//! - Presentation format (numbers, RFC 7218 mnemonics, RFC 3597 `\#`), wire RDATA, and the
//!   record an operator should publish for a certificate ([`Tlsa::from_certificate`]).
//! - Raw public keys (RFC 7250) against DANE-EE SPKI records ([`verify_raw_public_key`]).
//!
//! ## Non-features
//! - **No DNS in the core.** Whether a TLSA RRset is DNSSEC-secure is the resolver's
//!   business; the core trusts the records it is given. Passing records from an insecure or
//!   bogus lookup is a downgrade the caller must not make.
//! - **No clock in the core.** `now` is an argument, so results are reproducible.
//! - **No revocation checking** (neither OCSP nor CRLs): DANE's answer to revocation is
//!   changing the TLSA RRset.
//! - **No hand-written cryptography.** Digests come from `sha2`, signatures from
//!   `rustls-webpki` with `ring` as the crypto backend.
//!
//! ## Choices where the RFCs leave one
//! Like OpenSSL's DANE code (the engine under Postfix): DANE-TA records match certificates
//! above the leaf only; a trust anchor's own validity dates are not checked (it is a name and
//! a key), but it must be a CA certificate as OpenSSL's `X509_check_ca` judges the top of a
//! chain (RFC 5280 §4.2.1.9; see [`verify`] for each case, a bare 2 1 0 key whose
//! certificate is not sent included); PKIX usages without PKIX roots can never succeed;
//! records are tried DANE-EE first. `tests/openssl_interop.rs` runs the same inputs through
//! `openssl s_server` / `s_client -dane_tlsa_rrdata` and through [`verify`], and checks that
//! the verdicts and depths agree.
//!
//! Deliberate differences from OpenSSL 3.0 and Postfix (the README carries the same table):
//!
//! | case | OpenSSL 3.0 / Postfix | `dane` | why (RFC) |
//! |---|---|---|---|
//! | DANE-TA leaf that is itself a CA certificate (CA:TRUE, digitalSignature) | accepted | refused (rustls-webpki: `CaUsedAsEndEntity`) | RFC 5280 §4.2.1.9: `cA` marks a key that signs certificates; rustls-webpki keeps the CA and end-entity roles apart |
//! | X.509 v1 leaf below an intermediate below the DANE-TA anchor (or below a PKIX anchor) | accepted | refused (rustls-webpki, which validates the path: `UnsupportedCertVersion`); a v1 leaf issued directly by the matched DANE-TA anchor is accepted as by OpenSSL (the crate checks that one step: signature, dates, names, the anchor's name constraints), and under DANE-EE no path is built | RFC 5280 §4.1.2.1: end-entity certificates with extensions are v3; the path validator we build on takes v3 only |
//! | partial-label wildcard `mx*.example.net` | accepted by plain `s_client`; refused by Postfix (`NO_PARTIAL_WILDCARDS`) | refused, as Postfix | RFC 7672 §3.2.3, RFC 6125 §6.4.3: a wildcard is the whole leftmost label |
//! | TLSA RRset with no usable record | OpenSSL: DANE off, PKIX against its trust store; Postfix `dane`: mandatory unauthenticated TLS | [`Error::NoUsableRecords`], never a PKIX fallback inside [`verify`]; the caller decides (the rustls adapter fails unless told `NoUsableRecords::FallBack`) | RFC 7671 §4, RFC 7672 §2.2: unusable records give no DANE authentication; what follows is the application's policy, not the matcher's |
//! | insecure MX RRset | Postfix's default name matching also admits the next-hop domain | the next-hop domain is no reference identifier; only the TLSA base domain (the MX host) | RFC 7672 §2.2.1, §3.2.2: only a secure MX RRset binds the next-hop domain to the MX host |
//! | a non-self-signed certificate in [`PkixRoots`] (PKIX-TA/PKIX-EE) | a trust anchor only with `X509_V_FLAG_PARTIAL_CHAIN` | every certificate given is a trust anchor (the rustls convention) | RFC 5280 §6.1.1 (d): a trust anchor is a name and a key, whatever certificate carries them |
//! | depth in [`Verified::depth`] for a chain sent out of order or with extra certificates | depth in the chain OpenSSL built | position in the chain as presented (0 = leaf) | RFC 8446 §4.4.2: certificates after the leaf may come in any order; the position names the certificate the peer sent |
//! | reference name with a final dot `mx.example.net.` vs SAN `mx.example.net` | refused (`X509_check_host` compares literally) | accepted (reference names are normalised) | RFC 1034 §3.1: the final dot marks the same, fully qualified name |
//! | DANE-EE with name checks, leaf with two subjectAltName extensions | accepted (falls back to the CN) | refused: malformed wherever extensions are read | RFC 5280 §4.2: an extension appears at most once |
//! | DANE-EE, TBSCertificate with `[1]`/`[2]`/`[3]` repeated or out of order | certificate not loaded | refused: malformed under every usage | RFC 5280 §4.1 |
//! | NSEC3 denial with an iteration count above the validator's limit | Unbound (Postfix's resolver): insecure (RFC 9276 §3.2 allows it) | indeterminate: the host is unusable, never "no DANE" | RFC 9276 §3.2 permits, not requires, treating it as insecure; failing closed keeps a forged high-iteration chain from switching DANE off |
//!
//! ## Cargo features
//! - `rustls` (default): the rustls adapter, [`DaneVerifier`].
//! - `resolver`: the [`resolver`] module (hickory-resolver 0.26 with DNSSEC, tokio).
//! - `serde`: `Serialize`/`Deserialize` for [`Tlsa`] (as its presentation string).
//! - `tlsrpt`: the [`tlsrpt`] module, SMTP TLS Reporting (RFC 8460): the report model,
//!   every DANE outcome as a report entry, an aggregator, and the report's delivery forms
//!   (JSON, gzip, file name, the `multipart/report` message; enables `serde` and brings
//!   serde_json, flate2 and mail-builder).

#![forbid(unsafe_code, unused_must_use)]
#![warn(
    missing_docs,
    unreachable_pub,
    clippy::use_self,
    trivial_casts,
    trivial_numeric_casts
)]

#[cfg(feature = "rustls")]
mod adapter;
mod cert;
mod der;
mod error;
#[cfg(all(feature = "rustls", feature = "resolver"))]
pub mod guide;
mod names;
mod pkix;
mod record;
#[cfg(feature = "resolver")]
pub mod resolver;
mod rrset;
#[cfg(feature = "tlsrpt")]
pub mod tlsrpt;
mod trace;
mod verify;

#[cfg(feature = "rustls")]
pub use adapter::{
    BuilderDaneExt, ConfigDaneExt, DaneConfigBuilder, DaneSessionStore, DaneVerifier,
    NoUsableRecords, Outcome, TlsaStore, danger,
};
pub use error::{Error, TlsRptResult, TlsaParseError};
pub use names::{InvalidName, ReferenceName};
/// The certificate, key and time types shared with rustls and rustls-webpki.
pub use pki_types;
pub use pkix::PkixRoots;
pub use record::{CertUsage, Matching, Selector, Tlsa};
pub use rrset::{DEFAULT_DIGEST_ORDER, RecordStatus, TlsaSet, Unusable};
pub use verify::{Policy, Profile, Verified, verify, verify_raw_public_key};

/// The README's example, compiled as a doctest so it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
