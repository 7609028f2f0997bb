//! The rustls adapter (feature `rustls`): [`DaneVerifier`], a
//! `rustls::client::danger::ServerCertVerifier` whose certificate decision is [`verify`].
//!
//! The three problems of DANE in rustls, and how they are solved here:
//! - **TLSA data is per connection.** A [`DaneVerifier`] holds one host's records; build a
//!   `ClientConfig` per connection ([`DaneVerifier::client_config`], a few microseconds), or
//!   share one `ClientConfig` whose verifier looks records up by `ServerName` in a
//!   [`TlsaStore`].
//! - **rustls does not parse X.509.** The core does what DANE needs (a DER walk for DANE-EE,
//!   rustls-webpki below DANE-TA anchors); handshake signatures are checked with the
//!   configured `CryptoProvider`'s algorithms, as rustls' own verifier does.
//! - **Verifying after the handshake is unsafe.** The decision is made inside the handshake;
//!   the [`Outcome`] is only a record of it, readable afterwards for logging.
//!
//! Without usable TLSA records (RFC 7671 §4) the verifier does what the caller chose with
//! [`NoUsableRecords`]: fail (the default), fall back to another verifier (for example
//! rustls' `WebPkiServerVerifier`), or, only through [`danger::accept_unauthenticated`],
//! accept an unauthenticated peer (RFC 7672 §2.2 opportunistic SMTP). A DANE *failure*
//! (usable records, none matched) never falls back.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, DigitallySignedStruct, OtherError, PeerMisbehaved, SignatureScheme,
};

use crate::error::Error;
use crate::names::ReferenceName;
use crate::rrset::TlsaSet;
use crate::verify::{Policy, Profile, Verified, verify, verify_raw_public_key};

/// What to do when the TLSA RRset has no usable record (RFC 7671 §4, RFC 7672 §2.2).
///
/// Never applies to a DANE failure: when usable records exist and none matches, the
/// handshake fails whatever is chosen here.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum NoUsableRecords {
    /// Fail the handshake with [`Error::NoUsableRecords`].
    #[default]
    Fail,
    /// Let another verifier decide (for example rustls' `WebPkiServerVerifier`).
    FallBack(Arc<dyn ServerCertVerifier>),
    /// Accept the peer unauthenticated. Only made by [`danger::accept_unauthenticated`].
    AcceptUnauthenticated(danger::Unauthenticated),
}

impl fmt::Debug for NoUsableRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fail => f.write_str("Fail"),
            Self::FallBack(v) => f.debug_tuple("FallBack").field(v).finish(),
            Self::AcceptUnauthenticated(_) => f.write_str("AcceptUnauthenticated"),
        }
    }
}

/// Choices that weaken authentication, named so.
pub mod danger {
    use super::NoUsableRecords;

    /// Proof that the caller asked for [`accept_unauthenticated`].
    #[derive(Clone, Copy, Debug)]
    pub struct Unauthenticated(());

    /// Accept a peer without authentication when the TLSA RRset has no usable records.
    ///
    /// This is RFC 7672 §2.2 for SMTP: with a secure TLSA RRset whose records are all
    /// unusable, TLS is still mandatory but the server is not authenticated. Use it only where
    /// the alternative is cleartext, never for a service that must be authenticated, and
    /// never for a lookup that was insecure, bogus or failed (those are the resolver's to
    /// refuse, before a verifier is built).
    pub fn accept_unauthenticated() -> NoUsableRecords {
        NoUsableRecords::AcceptUnauthenticated(Unauthenticated(()))
    }
}

/// How a handshake's peer was accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Authenticated by a TLSA record: which one, at which depth, for which name.
    Dane(Verified),
    /// No usable TLSA records; the fallback verifier accepted the peer.
    FallBack,
    /// No usable TLSA records; accepted unauthenticated (see [`danger`]).
    Unauthenticated,
}

impl fmt::Display for Outcome {
    /// Postfix style: `Verified TLS connection (DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dane(v) => write!(f, "Verified TLS connection ({v})"),
            Self::FallBack => {
                f.write_str("Trusted TLS connection (no usable TLSA records, fallback verifier)")
            }
            Self::Unauthenticated => {
                f.write_str("Untrusted TLS connection (no usable TLSA records, unauthenticated)")
            }
        }
    }
}

/// Where the reference identifiers come from.
#[derive(Clone, Debug)]
enum Names {
    /// The policy's own (the caller may connect by IP address).
    Policy(Policy),
    /// The handshake's `ServerName` is the TLSA base domain; this template gives the rest.
    FromServerName(Policy),
}

/// Per-host TLSA data: records, policy and what to do without usable records.
#[derive(Clone, Debug)]
struct HostData {
    tlsa: Arc<TlsaSet>,
    names: Names,
    no_usable: NoUsableRecords,
}

/// A rustls `ServerCertVerifier` that authenticates the server by TLSA records.
///
/// ```
/// use std::sync::Arc;
/// use dane::{DaneVerifier, Policy, ReferenceName, Tlsa, TlsaSet};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let records = TlsaSet::new(["3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6".parse::<Tlsa>()?]);
/// let verifier = DaneVerifier::new(records, Policy::smtp(ReferenceName::new("mx.example.net")?), provider);
/// let config = verifier.client_config()?;
/// // connect with `config` (tokio-rustls, rustls::StreamOwned, lettre…), then:
/// if let Some(outcome) = verifier.outcome() {
///     println!("{outcome}");
/// }
/// # let _ = config; Ok(()) }
/// ```
#[derive(Clone)]
pub struct DaneVerifier {
    source: Source,
    provider: Arc<CryptoProvider>,
    raw_public_keys: bool,
    outcome: Arc<Mutex<Option<Outcome>>>,
}

#[derive(Clone)]
enum Source {
    Fixed(HostData),
    Store(Arc<TlsaStore>),
}

impl DaneVerifier {
    /// A verifier for one host: `tlsa` and `policy` (whose reference identifiers are used
    /// whatever `ServerName` the connection is made with, so connecting by IP address works).
    pub fn new(tlsa: TlsaSet, policy: Policy, provider: Arc<CryptoProvider>) -> Self {
        Self::fixed(
            HostData {
                tlsa: Arc::new(tlsa),
                names: Names::Policy(policy_for(policy, &provider)),
                no_usable: NoUsableRecords::Fail,
            },
            provider,
        )
    }

    /// A verifier for one host whose TLSA base domain (and first reference identifier) is
    /// the `ServerName` the connection is made with, under `profile`'s rules.
    pub fn for_server_name(tlsa: TlsaSet, profile: Profile, provider: Arc<CryptoProvider>) -> Self {
        // A placeholder base domain, replaced by the ServerName in each handshake.
        let template = match profile {
            Profile::Smtp => Policy::smtp(ReferenceName::placeholder()),
            _ => Policy::generic(ReferenceName::placeholder()),
        };
        Self::fixed(
            HostData {
                tlsa: Arc::new(tlsa),
                names: Names::FromServerName(policy_for(template, &provider)),
                no_usable: NoUsableRecords::Fail,
            },
            provider,
        )
    }

    /// A verifier that looks up each handshake's `ServerName` in `store`, so one shared
    /// `ClientConfig` serves every host. A name without an entry fails the handshake.
    pub fn with_store(store: Arc<TlsaStore>, provider: Arc<CryptoProvider>) -> Self {
        Self {
            source: Source::Store(store),
            provider,
            raw_public_keys: false,
            outcome: Arc::default(),
        }
    }

    fn fixed(data: HostData, provider: Arc<CryptoProvider>) -> Self {
        Self {
            source: Source::Fixed(data),
            provider,
            raw_public_keys: false,
            outcome: Arc::default(),
        }
    }

    /// What to do without usable records (default: [`NoUsableRecords::Fail`]). For a
    /// store-backed verifier, set it per host with [`TlsaStore::insert_with`].
    pub fn with_no_usable_records(mut self, action: NoUsableRecords) -> Self {
        if let Source::Fixed(data) = &mut self.source {
            data.no_usable = action;
        }
        self
    }

    /// Ask the server for a raw public key (RFC 7250) instead of a certificate chain.
    ///
    /// Sensible when every usable record is DANE-EE SPKI (`3 1 x`): only those can
    /// authenticate a bare key. rustls supports this on the client for TLS 1.3 only, and a
    /// client that asks for raw keys cannot accept certificates, so against a server without
    /// RFC 7250 the handshake fails: make it a per-connection choice. A raw key has no
    /// names: with a policy that asks for DANE-EE name checks every handshake fails with
    /// [`Error::RawPublicKeyNameChecks`].
    pub fn with_raw_public_keys(mut self) -> Self {
        self.raw_public_keys = true;
        self
    }

    /// A `ClientConfig` using this verifier, the same provider, the provider's default
    /// protocol versions (TLS 1.3 only when asking for raw public keys), no client
    /// authentication, and session resumption off: a resumed session skips certificate
    /// verification, so it would neither check the current TLSA records nor produce an
    /// [`Outcome`]. (Re-enable it on the returned config if that is what you want.)
    pub fn client_config(&self) -> Result<rustls::ClientConfig, rustls::Error> {
        let builder = rustls::ClientConfig::builder_with_provider(self.provider.clone());
        let builder = if self.raw_public_keys {
            builder.with_protocol_versions(&[&rustls::version::TLS13])?
        } else {
            builder.with_safe_default_protocol_versions()?
        };
        let mut config = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(self.clone()))
            .with_no_client_auth();
        config.resumption = rustls::client::Resumption::disabled();
        Ok(config)
    }

    /// How the last handshake verified by this verifier (or its clones) accepted the peer;
    /// `None` before a handshake got that far, or when the last certificate was refused.
    ///
    /// The slot is shared by every connection made with configs from this verifier: for a
    /// per-connection outcome, build one verifier per connection (≈ 0.4 µs with its
    /// config). The outcome is written when the certificate is accepted; a handshake can
    /// still fail afterwards (for example on its signature), so read it only after a
    /// successful handshake. With a store, see [`TlsaStore::outcome`].
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The leaf's SubjectPublicKeyInfo (the entity itself for a raw public key).
    fn leaf_spki<'a>(
        &self,
        cert: &'a CertificateDer<'_>,
    ) -> Result<SubjectPublicKeyInfoDer<'a>, rustls::Error> {
        if self.raw_public_keys {
            return Ok(SubjectPublicKeyInfoDer::from(cert.as_ref()));
        }
        crate::cert::CertView::parse(cert)
            .map(|v| SubjectPublicKeyInfoDer::from(v.spki))
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))
    }

    /// The provider's verification algorithms for a TLS signature scheme.
    fn algorithms_for(
        &self,
        scheme: SignatureScheme,
    ) -> Result<&'static [&'static dyn pki_types::SignatureVerificationAlgorithm], rustls::Error>
    {
        self.provider
            .signature_verification_algorithms
            .mapping
            .iter()
            .find(|(s, _)| *s == scheme)
            .map(|(_, algs)| *algs)
            .ok_or_else(|| PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into())
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "private helper of verify_server_cert"
    )]
    fn decide(
        &self,
        data: &HostData,
        chain: &[CertificateDer<'_>],
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<Outcome, rustls::Error> {
        let policy_owned;
        let policy = match &data.names {
            Names::Policy(p) => p,
            Names::FromServerName(template) => {
                let ServerName::DnsName(name) = server_name else {
                    return Err(other(Error::Unsupported(
                        "the server name is an IP address: give the policy its reference identifiers".into(),
                    )));
                };
                let base = ReferenceName::new(name.as_ref()).map_err(|e| {
                    other(Error::Unsupported(format!(
                        "server name {:?}: {e}",
                        name.as_ref()
                    )))
                })?;
                policy_owned = template.clone().with_base_domain(base);
                &policy_owned
            }
        };
        let result = if self.raw_public_keys {
            chain
                .first()
                .ok_or(Error::EmptyChain)
                .and_then(|spki| verify_raw_public_key(spki, &data.tlsa, policy))
        } else {
            verify(chain, &data.tlsa, policy, now)
        };
        match result {
            Ok(v) => Ok(Outcome::Dane(v)),
            // RFC 7671 §4 / RFC 7672 §2.2: only "no usable records" reaches the caller's choice.
            Err(Error::NoUsableRecords) => match &data.no_usable {
                NoUsableRecords::Fail => Err(other(Error::NoUsableRecords)),
                NoUsableRecords::FallBack(fallback) => {
                    let (end_entity, _) = chain
                        .split_first()
                        .ok_or_else(|| other(Error::EmptyChain))?;
                    fallback.verify_server_cert(
                        end_entity,
                        intermediates,
                        server_name,
                        ocsp,
                        now,
                    )?;
                    Ok(Outcome::FallBack)
                }
                NoUsableRecords::AcceptUnauthenticated(_) => Ok(Outcome::Unauthenticated),
            },
            Err(e) => Err(other(e)),
        }
    }
}

/// The provider's signature algorithms are the ones accepted in chains, too.
fn policy_for(policy: Policy, provider: &CryptoProvider) -> Policy {
    policy.with_signature_algorithms(provider.signature_verification_algorithms.all)
}

fn bad_key(_: webpki::Error) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
}

fn other(e: Error) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
}

impl fmt::Debug for DaneVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("DaneVerifier");
        match &self.source {
            Source::Fixed(data) => d.field("tlsa", &data.tlsa).field("names", &data.names),
            Source::Store(_) => d.field("source", &"TlsaStore"),
        };
        d.field("raw_public_keys", &self.raw_public_keys)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for DaneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(CertificateDer::from(end_entity.as_ref()));
        chain.extend(
            intermediates
                .iter()
                .map(|c| CertificateDer::from(c.as_ref())),
        );
        let mut entry: Option<Arc<Entry>> = None;
        let data = match &self.source {
            Source::Fixed(data) => data,
            Source::Store(store) => {
                let found = store.get(server_name).ok_or_else(|| {
                    other(Error::Unsupported(format!(
                        "no TLSA data registered for {}",
                        server_name.to_str()
                    )))
                })?;
                &entry.insert(found).data
            }
        };
        let result = self.decide(data, &chain, intermediates, server_name, ocsp_response, now);
        let outcome = result.as_ref().ok().cloned();
        if let Some(entry) = &entry {
            *entry.outcome.lock().unwrap_or_else(PoisonError::into_inner) = outcome.clone();
        }
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = outcome;
        result.map(|_| ServerCertVerified::assertion())
    }

    // Handshake signatures are checked against the leaf's SubjectPublicKeyInfo, found by the
    // same DER walk the matcher uses: the key is what DANE authenticated, and a leaf that
    // DANE-EE accepts (a v1 certificate, an unknown critical extension…) must not then fail
    // in rustls-webpki's stricter certificate parser.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Only schemes in the provider's mapping are accepted (as rustls' own check does).
        let algorithms = self.algorithms_for(dss.scheme)?;
        let spki = self.leaf_spki(cert)?;
        let key = webpki::RawPublicKeyEntity::try_from(&spki).map_err(bad_key)?;
        // TLS 1.2 schemes can map to several algorithms: try each that fits the key (as
        // rustls does).
        for alg in algorithms {
            match key.verify_signature(*alg, message, dss.signature()) {
                Ok(()) => return Ok(HandshakeSignatureValid::assertion()),
                Err(webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)) => {}
                Err(_) => break,
            }
        }
        Err(rustls::Error::InvalidCertificate(
            CertificateError::BadSignature,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &self.leaf_spki(cert)?,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.raw_public_keys
    }
}

/// TLSA data for many hosts, keyed by the `ServerName` of the connection, for one
/// `ClientConfig` shared by all connections ([`DaneVerifier::with_store`]).
///
/// Entries are replaced by inserting again (for example when the records' TTL expires) and
/// should be removed when no longer needed. A handshake takes only a read lock. The outcome
/// of the last handshake per name is kept for logging; with concurrent connections to one
/// name it is the latest one's.
#[derive(Default)]
pub struct TlsaStore {
    hosts: RwLock<HashMap<String, Arc<Entry>>>,
}

/// One host's data; a handshake keeps its entry, so the outcome lands where the decision
/// was taken even if the entry is replaced meanwhile, and no write lock is needed.
struct Entry {
    data: HostData,
    outcome: Mutex<Option<Outcome>>,
}

impl TlsaStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `tlsa` for connections made with `server_name` (case-insensitive, trailing
    /// dot ignored), authenticated under `policy`; no usable records fail the handshake.
    pub fn insert(
        &self,
        server_name: &str,
        tlsa: TlsaSet,
        policy: Policy,
        provider: &CryptoProvider,
    ) {
        self.insert_with(server_name, tlsa, policy, provider, NoUsableRecords::Fail);
    }

    /// Like [`insert`](Self::insert), with the action for an RRset without usable records.
    pub fn insert_with(
        &self,
        server_name: &str,
        tlsa: TlsaSet,
        policy: Policy,
        provider: &CryptoProvider,
        no_usable: NoUsableRecords,
    ) {
        let data = HostData {
            tlsa: Arc::new(tlsa),
            names: Names::Policy(policy_for(policy, provider)),
            no_usable,
        };
        self.write().insert(
            key(server_name),
            Arc::new(Entry {
                data,
                outcome: Mutex::default(),
            }),
        );
    }

    /// Removes a host's entry.
    pub fn remove(&self, server_name: &str) {
        self.write().remove(&key(server_name));
    }

    /// The outcome of the last handshake with `server_name`.
    pub fn outcome(&self, server_name: &str) -> Option<Outcome> {
        let entry = self.read().get(&key(server_name)).cloned()?;
        entry
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn get(&self, server_name: &ServerName<'_>) -> Option<Arc<Entry>> {
        self.read().get(&key(&server_name.to_str())).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Entry>>> {
        self.hosts.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Entry>>> {
        self.hosts.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for TlsaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsaStore")
            .field("hosts", &self.read().len())
            .finish()
    }
}

fn key(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}
