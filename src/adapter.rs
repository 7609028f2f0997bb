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
//!
//! **Session resumption.** rustls resumes a session (TLS 1.2 session ID or ticket, TLS 1.3
//! PSK) without calling the verifier. A session is therefore accepted only if it was
//! authenticated under the TLSA records, policy and no-usable-records choice that apply
//! now: every `ClientConfig` the crate builds keeps its sessions in a [`DaneSessionStore`],
//! which namespaces them by a digest of those (as Postfix keys its session cache by the
//! TLSA RRset digest and security level), and a [`TlsaStore`] forgets a name's sessions
//! whenever its entry is inserted, replaced or removed. A resumed handshake reports
//! [`Outcome::Resumed`]. A config of your own around a [`DaneVerifier`] must use
//! [`DaneVerifier::resumption`] (or `Resumption::disabled()`), never rustls' plain stores.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use pki_types::{CertificateDer, DnsName, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, Resumption, Tls12ClientSessionValue,
    Tls13ClientSessionValue,
};
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, DigitallySignedStruct, NamedGroup, OtherError, PeerMisbehaved,
    SignatureScheme,
};
use sha2::{Digest, Sha256};

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
    /// A session resumed without a certificate, from an earlier handshake accepted under
    /// the same TLSA records, policy and no-usable-records choice (see [`DaneSessionStore`]).
    /// That handshake's outcome is not kept per session: log it when it happens.
    Resumed,
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
            Self::Resumed => f.write_str(
                "Resumed TLS session (accepted earlier under the same TLSA records and policy)",
            ),
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

impl HostData {
    /// A digest of everything that decides whether a peer is accepted: the records (and
    /// which are usable), the policy (profile, reference names, switches, roots, algorithms)
    /// and the no-usable-records choice. Sessions are namespaced by it.
    fn digest(&self, raw_public_keys: bool) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"dane session namespace 1\0");
        self.tlsa.digest_into(&mut h);
        let (tag, policy) = match &self.names {
            Names::Policy(p) => (0u8, p),
            Names::FromServerName(p) => (1, p),
        };
        h.update([tag]);
        policy.digest_into(&mut h);
        match &self.no_usable {
            NoUsableRecords::Fail => h.update([0]),
            NoUsableRecords::FallBack(v) => {
                // By identity: the entry keeps the fallback verifier alive.
                h.update([1]);
                h.update((Arc::as_ptr(v).cast::<()>() as usize as u64).to_be_bytes());
            }
            NoUsableRecords::AcceptUnauthenticated(_) => h.update([2]),
        }
        h.update([u8::from(raw_public_keys)]);
        h.finalize().into()
    }
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
    ///
    /// Session resumption skips this verifier: build the config with
    /// [`client_config`](Self::client_config), or give a config of your own
    /// [`resumption`](Self::resumption), so that a session resumes only under the entry it
    /// was authenticated with (see [`DaneSessionStore`]).
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
    /// authentication, and session resumption through a [`DaneSessionStore`]
    /// ([`resumption`](Self::resumption)): a session resumes only under the TLSA records,
    /// policy and no-usable-records choice it was authenticated with.
    ///
    /// A resumed handshake does not call the verifier; its outcome is [`Outcome::Resumed`].
    /// Do not replace `config.resumption` with rustls' own stores
    /// (`Resumption::in_memory_sessions`, `Resumption::default`): they resume across
    /// record and policy changes. To turn resumption off, set `Resumption::disabled()`; to
    /// tune it, start from [`resumption`](Self::resumption) or
    /// [`session_store`](Self::session_store).
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
        config.resumption = self.resumption();
        Ok(config)
    }

    /// Session resumption for a `ClientConfig` using this verifier: rustls' defaults (256
    /// hosts in memory, TLS 1.2 session IDs and tickets, TLS 1.3 tickets) behind a
    /// [`DaneSessionStore`].
    pub fn resumption(&self) -> Resumption {
        Resumption::store(Arc::new(
            self.session_store(Arc::new(ClientSessionMemoryCache::new(256))),
        ))
    }

    /// A [`DaneSessionStore`] keeping this verifier's sessions in `inner`, for
    /// `rustls::client::Resumption::store`.
    pub fn session_store(&self, inner: Arc<dyn ClientSessionStore>) -> DaneSessionStore {
        let source = match &self.source {
            Source::Fixed(data) => {
                let mut prefix = Sha256::new();
                prefix.update(data.digest(self.raw_public_keys));
                SessionSource::Fixed(prefix)
            }
            Source::Store(store) => SessionSource::Store(store.clone()),
        };
        DaneSessionStore {
            inner,
            source,
            outcome: self.outcome.clone(),
        }
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
                let Some(found) = store.get(server_name) else {
                    let e = other(Error::Unsupported(format!(
                        "no TLSA data registered for {}",
                        server_name.to_str()
                    )));
                    crate::trace::verifier_decision(server_name, &Err(e.clone()));
                    return Err(e);
                };
                &entry.insert(found).data
            }
        };
        let result = self.decide(data, &chain, intermediates, server_name, ocsp_response, now);
        crate::trace::verifier_decision(server_name, &result);
        let outcome = result.as_ref().ok().cloned();
        if let (Some(entry), Source::Store(store)) = (&entry, &self.source) {
            if outcome.is_some() {
                store.accepted_under(&key(&server_name.to_str()), entry);
            }
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
///
/// **Sessions.** With a [`DaneSessionStore`] (every config the crate builds has one), a
/// session resumes only under the entry it was authenticated with: inserting, replacing or
/// removing a name's entry forgets its sessions, even when the new data is the same. A
/// TLS 1.3 ticket can arrive at any time on a connection accepted under an entry since
/// replaced, and cannot be told apart from the others; so once a name has had a connection
/// accepted under different records or policy than its current entry's, its sessions are
/// no longer stored (every later handshake with it is a full one). Build a new store and
/// config to start afresh. For that rule a removed entry under which a connection was
/// accepted is remembered (its name, digest and records) until the name is inserted again.
#[derive(Default)]
pub struct TlsaStore {
    hosts: RwLock<Hosts>,
}

#[derive(Default)]
struct Hosts {
    current: HashMap<String, Arc<Entry>>,
    /// Removed entries that accepted a connection (or were held by a handshake when
    /// removed): their connections may still deliver sessions.
    retired: HashMap<String, Arc<Entry>>,
}

/// One host's data; a handshake keeps its entry, so the outcome lands where the decision
/// was taken even if the entry is replaced meanwhile, and no write lock is needed.
struct Entry {
    data: HostData,
    outcome: Mutex<Option<Outcome>>,
    /// [`HostData::digest`].
    digest: [u8; 32],
    /// This entry's namespace in the session store (name, digest, a generation unique to
    /// the entry); `None` (never in practice) stores no sessions.
    session_key: Option<ServerName<'static>>,
    /// A handshake was accepted under this entry.
    accepted: AtomicBool,
    /// Sessions may be stored under this entry: no connection accepted under other data
    /// for this name can be live.
    sessions_ok: AtomicBool,
}

/// Entries get a generation each, so an entry replaced by the same data starts with no
/// sessions.
static GENERATION: AtomicU64 = AtomicU64::new(0);

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
        let name = key(server_name);
        let digest = data.digest(false);
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        let mut h = Sha256::new();
        h.update(b"dane store entry\0");
        h.update((name.len() as u64).to_be_bytes());
        h.update(name.as_bytes());
        h.update(digest);
        h.update(generation.to_be_bytes());
        let entry = Entry {
            data,
            outcome: Mutex::default(),
            digest,
            session_key: namespace(h),
            accepted: AtomicBool::new(false),
            sessions_ok: AtomicBool::new(true),
        };
        let mut hosts = self.write();
        let prior = match hosts.current.remove(&name) {
            Some(p) => Some(p),
            None => hosts.retired.remove(&name),
        };
        if let Some(prior) = prior {
            let ok = prior.sessions_ok.load(Ordering::SeqCst)
                && !(prior.accepted.load(Ordering::SeqCst) && prior.digest != digest);
            entry.sessions_ok.store(ok, Ordering::SeqCst);
        }
        hosts.current.insert(name, Arc::new(entry));
    }

    /// Removes a host's entry (and forgets its sessions).
    pub fn remove(&self, server_name: &str) {
        let name = key(server_name);
        let mut hosts = self.write();
        if let Some(entry) = hosts.current.remove(&name) {
            // Held by a handshake (count > 1): it may still accept under it.
            if entry.accepted.load(Ordering::SeqCst)
                || !entry.sessions_ok.load(Ordering::SeqCst)
                || Arc::strong_count(&entry) > 1
            {
                hosts.retired.insert(name, entry);
            }
        }
    }

    /// Records that a handshake was accepted under `entry`; if `entry` is no longer
    /// `name`'s, that connection's sessions must not land under the current entry.
    fn accepted_under(&self, name: &str, entry: &Arc<Entry>) {
        {
            // Under the read lock, so that insert/remove (write lock) see the flag, or
            // this sees their change.
            let hosts = self.read();
            entry.accepted.store(true, Ordering::SeqCst);
            if hosts
                .current
                .get(name)
                .is_some_and(|current| Arc::ptr_eq(current, entry))
            {
                return;
            }
        }
        let mut hosts = self.write();
        let hosts = &mut *hosts;
        match hosts.current.get(name).or_else(|| hosts.retired.get(name)) {
            Some(now) if Arc::ptr_eq(now, entry) => {}
            Some(now) => {
                if now.digest != entry.digest || !entry.sessions_ok.load(Ordering::SeqCst) {
                    now.sessions_ok.store(false, Ordering::SeqCst);
                }
            }
            None => {
                hosts.retired.insert(name.to_owned(), entry.clone());
            }
        }
    }

    /// The outcome of the last handshake with `server_name`.
    pub fn outcome(&self, server_name: &str) -> Option<Outcome> {
        let entry = self.read().current.get(&key(server_name)).cloned()?;
        entry
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn get(&self, server_name: &ServerName<'_>) -> Option<Arc<Entry>> {
        self.read()
            .current
            .get(&key(&server_name.to_str()))
            .cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Hosts> {
        self.hosts.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Hosts> {
        self.hosts.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for TlsaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsaStore")
            .field("hosts", &self.read().current.len())
            .finish()
    }
}

fn key(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// The session-store name for a namespace digest: `<32 hex digits>.dane.invalid`.
fn namespace(h: Sha256) -> Option<ServerName<'static>> {
    let digest = h.finalize();
    let mut name = String::with_capacity(45);
    for b in &digest[..16] {
        name.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        name.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    name.push_str(".dane.invalid");
    DnsName::try_from(name).ok().map(ServerName::DnsName)
}

/// A rustls `ClientSessionStore` that keeps a session only for the TLSA data it was
/// authenticated with; every `ClientConfig` the crate builds uses one
/// ([`DaneVerifier::resumption`], [`DaneVerifier::session_store`]).
///
/// rustls resumes a session (TLS 1.2 session ID or ticket, TLS 1.3 PSK) without calling
/// the certificate verifier, so a plain store would carry an authentication across a change
/// of records or policy: a session made under [`danger::accept_unauthenticated`] would
/// resume after the host published records that the server does not match. This store
/// keys each session by the `ServerName` *and* a digest of the TLSA records, the policy
/// (profile, reference names, switches) and the [`NoUsableRecords`] choice (as Postfix keys
/// its session cache by the TLSA RRset digest and security level):
/// - for a one-host verifier ([`DaneVerifier::new`], [`DaneVerifier::for_server_name`]) the
///   data never changes, so sessions resume while the config is reused;
/// - for a [`TlsaStore`], each entry is its own namespace: inserting, replacing or removing
///   a name's entry forgets its sessions (see [`TlsaStore`] for the rule on connections
///   still open under an older entry), and a name without an entry has none.
///
/// A resumed handshake records [`Outcome::Resumed`] (in [`DaneVerifier::outcome`] and
/// [`TlsaStore::outcome`]); if the server declines the session, the full handshake's
/// outcome replaces it.
pub struct DaneSessionStore {
    inner: Arc<dyn ClientSessionStore>,
    source: SessionSource,
    outcome: Arc<Mutex<Option<Outcome>>>,
}

enum SessionSource {
    /// One host's data: its digest, hashed with each `ServerName`.
    Fixed(Sha256),
    Store(Arc<TlsaStore>),
}

/// Where a name's sessions live now.
enum Slot {
    Fixed(ServerName<'static>),
    Entry(Arc<Entry>, ServerName<'static>),
}

impl Slot {
    fn key(&self) -> &ServerName<'static> {
        match self {
            Self::Fixed(k) | Self::Entry(_, k) => k,
        }
    }
}

impl DaneSessionStore {
    fn slot(&self, server_name: &ServerName<'_>) -> Option<Slot> {
        match &self.source {
            SessionSource::Fixed(prefix) => {
                let mut h = prefix.clone();
                let name = server_name.to_str();
                h.update((name.len() as u64).to_be_bytes());
                h.update(name.as_bytes());
                namespace(h).map(Slot::Fixed)
            }
            SessionSource::Store(store) => {
                let entry = store.get(server_name)?;
                let key = entry.session_key.clone()?;
                Some(Slot::Entry(entry, key))
            }
        }
    }

    /// The slot to store a new session in, if sessions may be stored there now.
    fn slot_to_store(&self, server_name: &ServerName<'_>) -> Option<Slot> {
        let slot = self.slot(server_name)?;
        if let Slot::Entry(entry, _) = &slot {
            // An entry that accepted nothing yet cannot have made this session.
            if !(entry.accepted.load(Ordering::SeqCst) && entry.sessions_ok.load(Ordering::SeqCst))
            {
                return None;
            }
        }
        Some(slot)
    }

    /// The slot to resume from; records the outcome of a resumption.
    fn slot_to_resume(&self, server_name: &ServerName<'_>) -> Option<Slot> {
        let slot = self.slot(server_name)?;
        if let Slot::Entry(entry, _) = &slot
            && !entry.sessions_ok.load(Ordering::SeqCst)
        {
            return None;
        }
        Some(slot)
    }

    fn resuming(&self, slot: &Slot) {
        if let Slot::Entry(entry, _) = slot {
            *entry.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(Outcome::Resumed);
        }
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(Outcome::Resumed);
    }
}

impl fmt::Debug for DaneSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaneSessionStore")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl ClientSessionStore for DaneSessionStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        if let Some(slot) = self.slot(&server_name) {
            self.inner.set_kx_hint(slot.key().clone(), group);
        }
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.inner.kx_hint(self.slot(server_name)?.key())
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        if let Some(slot) = self.slot_to_store(&server_name) {
            self.inner.set_tls12_session(slot.key().clone(), value);
        }
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        let slot = self.slot_to_resume(server_name)?;
        let value = self.inner.tls12_session(slot.key())?;
        self.resuming(&slot);
        Some(value)
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        if let Some(slot) = self.slot(server_name) {
            self.inner.remove_tls12_session(slot.key());
        }
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        if let Some(slot) = self.slot_to_store(&server_name) {
            self.inner.insert_tls13_ticket(slot.key().clone(), value);
        }
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        let slot = self.slot_to_resume(server_name)?;
        let value = self.inner.take_tls13_ticket(slot.key())?;
        self.resuming(&slot);
        Some(value)
    }
}

/// One call from TLSA records to a rustls `ClientConfig`, in the style of
/// rustls-platform-verifier's `ConfigVerifierExt`.
///
/// ```
/// use dane::{ConfigDaneExt, Policy, ReferenceName, TlsaSet};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let records = TlsaSet::new(["3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6".parse()?]);
/// let config = rustls::ClientConfig::with_dane(records, Policy::smtp(ReferenceName::new("mx.example.net")?))?;
/// # let _ = config; Ok(()) }
/// ```
///
/// To read the [`Outcome`] of the handshake (for a log line, or for TLS-RPT), or to choose
/// what happens without usable records, build a [`DaneVerifier`] and call its
/// [`client_config`](DaneVerifier::client_config) instead; to keep your own protocol
/// versions or a client certificate, use [`BuilderDaneExt`].
pub trait ConfigDaneExt: Sized {
    /// A config that authenticates the server by `tlsa` under `policy`: the process-default
    /// `CryptoProvider` (ring's when none is installed), rustls' safe default protocol
    /// versions, no client certificate, session resumption through a [`DaneSessionStore`].
    /// Without usable records every handshake fails ([`NoUsableRecords::Fail`]).
    fn with_dane(tlsa: TlsaSet, policy: Policy) -> Result<Self, rustls::Error>;
}

impl ConfigDaneExt for rustls::ClientConfig {
    fn with_dane(tlsa: TlsaSet, policy: Policy) -> Result<Self, rustls::Error> {
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        DaneVerifier::new(tlsa, policy, provider).client_config()
    }
}

/// A rustls `ConfigBuilder` step that installs a [`DaneVerifier`], for a config whose
/// crypto provider, protocol versions or client certificate you choose yourself.
///
/// ```
/// use std::sync::Arc;
/// use dane::{BuilderDaneExt, DaneVerifier, Policy, ReferenceName, TlsaSet};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let records = TlsaSet::new(["3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6".parse()?]);
/// let verifier = DaneVerifier::new(records, Policy::smtp(ReferenceName::new("mx.example.net")?), provider.clone());
/// let config = rustls::ClientConfig::builder_with_provider(provider)
///     .with_protocol_versions(&[&rustls::version::TLS13])?
///     .with_dane(&verifier)
///     .with_no_client_auth();
/// // … handshake with `config` …, then `verifier.outcome()`.
/// # let _ = config; Ok(()) }
/// ```
pub trait BuilderDaneExt {
    /// Uses `verifier` for the server's certificate. The returned builder finishes the
    /// config like rustls' own (`with_no_client_auth`, `with_client_auth_cert`,
    /// `with_client_cert_resolver`) and also sets the config's session resumption to
    /// [`DaneVerifier::resumption`], so that no session resumes across a change of TLSA
    /// records or policy (rustls' default store would).
    ///
    /// With [`DaneVerifier::with_raw_public_keys`], allow TLS 1.3 only (rustls supports
    /// raw public keys on the client for TLS 1.3 only).
    fn with_dane(self, verifier: &DaneVerifier) -> DaneConfigBuilder;
}

impl BuilderDaneExt for rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier> {
    fn with_dane(self, verifier: &DaneVerifier) -> DaneConfigBuilder {
        DaneConfigBuilder {
            builder: self
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier.clone())),
            resumption: verifier.resumption(),
        }
    }
}

/// The last step of [`BuilderDaneExt::with_dane`]: client authentication, like rustls'
/// `ConfigBuilder<ClientConfig, WantsClientCert>`, then a config with DANE-aware session
/// resumption.
pub struct DaneConfigBuilder {
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    resumption: Resumption,
}

impl fmt::Debug for DaneConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaneConfigBuilder").finish_non_exhaustive()
    }
}

impl DaneConfigBuilder {
    /// No client certificate.
    pub fn with_no_client_auth(self) -> rustls::ClientConfig {
        let config = self.builder.with_no_client_auth();
        Self::set(config, self.resumption)
    }

    /// A client certificate chain and its private key (for example an MTA's certificate
    /// for receivers that ask for one).
    pub fn with_client_auth_cert(
        self,
        chain: Vec<CertificateDer<'static>>,
        key: pki_types::PrivateKeyDer<'static>,
    ) -> Result<rustls::ClientConfig, rustls::Error> {
        let config = self.builder.with_client_auth_cert(chain, key)?;
        Ok(Self::set(config, self.resumption))
    }

    /// Client certificates chosen per handshake by `resolver`.
    pub fn with_client_cert_resolver(
        self,
        resolver: Arc<dyn rustls::client::ResolvesClientCert>,
    ) -> rustls::ClientConfig {
        let config = self.builder.with_client_cert_resolver(resolver);
        Self::set(config, self.resumption)
    }

    fn set(mut config: rustls::ClientConfig, resumption: Resumption) -> rustls::ClientConfig {
        config.resumption = resumption;
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tlsa;

    fn records(b: u8) -> TlsaSet {
        TlsaSet::new([Tlsa::new(3, 1, 1, [b; 32])])
    }

    fn sessions_ok(store: &TlsaStore, name: &str) -> bool {
        store.read().current[name]
            .sessions_ok
            .load(Ordering::SeqCst)
    }

    /// A handshake decided under an entry that was replaced (or removed) meanwhile: its
    /// sessions must not land under the current entry.
    #[test]
    fn acceptance_under_a_replaced_entry_stops_sessions_for_the_name() {
        let p = rustls::crypto::ring::default_provider();
        let policy = || Policy::smtp(ReferenceName::new("mx.example.net").unwrap());
        let store = TlsaStore::new();
        let name = "mx.example.net";
        store.insert(name, records(1), policy(), &p);
        let old = store.read().current[name].clone();
        // Replaced by the same data: a late acceptance under the old one is harmless.
        store.insert(name, records(1), policy(), &p);
        store.accepted_under(name, &old);
        assert!(sessions_ok(&store, name));
        // Replaced by other data while a handshake held the old entry.
        let old = store.read().current[name].clone();
        store.insert(name, records(2), policy(), &p);
        assert!(sessions_ok(&store, name));
        store.accepted_under(name, &old);
        assert!(!sessions_ok(&store, name));
        // ... and that sticks across later inserts.
        store.insert(name, records(1), policy(), &p);
        assert!(!sessions_ok(&store, name));

        // Removed while held, accepted afterwards, inserted again with other data.
        let name = "mx2.example.net";
        store.insert(name, records(1), policy(), &p);
        let old = store.read().current[name].clone();
        store.remove(name);
        store.accepted_under(name, &old);
        drop(old);
        store.insert(name, records(2), policy(), &p);
        assert!(!sessions_ok(&store, name));
        // A removed entry nothing held nor accepted under leaves nothing behind.
        let name = "mx3.example.net";
        store.insert(name, records(1), policy(), &p);
        store.remove(name);
        assert!(store.read().retired.is_empty() || !store.read().retired.contains_key(name));
        store.insert(name, records(2), policy(), &p);
        assert!(sessions_ok(&store, name));
    }

    /// Sessions are keyed by the PKIX roots' content, not by the address of the object that
    /// holds them (an address is reused once an `Arc` is freed).
    #[test]
    fn the_digest_covers_the_pkix_roots_by_content() {
        let p = rustls::crypto::ring::default_provider();
        let cert = |name: &str| {
            let key = rcgen::KeyPair::generate().unwrap();
            let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
            params.self_signed(&key).unwrap().der().clone()
        };
        let (a, b) = (cert("a.example"), cert("b.example"));
        let digest = |root: &pki_types::CertificateDer<'static>| {
            let roots = crate::PkixRoots::from_certificates([root.clone()]).unwrap();
            let policy = Policy::generic(ReferenceName::new("www.example.net").unwrap())
                .with_pkix_roots(Arc::new(roots));
            HostData {
                tlsa: Arc::new(records(1)),
                names: Names::Policy(policy_for(policy, &p)),
                no_usable: NoUsableRecords::Fail,
            }
            .digest(false)
        };
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), digest(&b));
    }

    #[test]
    fn the_digest_covers_records_policy_and_no_usable_choice() {
        let p = rustls::crypto::ring::default_provider();
        let data = |tlsa, policy: Policy, no_usable| HostData {
            tlsa: Arc::new(tlsa),
            names: Names::Policy(policy_for(policy, &p)),
            no_usable,
        };
        let mx = || Policy::smtp(ReferenceName::new("mx.example.net").unwrap());
        let base = data(records(1), mx(), NoUsableRecords::Fail).digest(false);
        assert_eq!(
            base,
            data(records(1), mx(), NoUsableRecords::Fail).digest(false)
        );
        for other in [
            data(records(2), mx(), NoUsableRecords::Fail).digest(false),
            data(records(1), mx(), NoUsableRecords::Fail).digest(true),
            data(records(1), mx(), danger::accept_unauthenticated()).digest(false),
            data(
                records(1),
                mx().with_reference_name(ReferenceName::new("example.net").unwrap()),
                NoUsableRecords::Fail,
            )
            .digest(false),
            data(
                records(1),
                mx().with_dane_ee_name_checks(true),
                NoUsableRecords::Fail,
            )
            .digest(false),
            data(
                TlsaSet::with_digest_order(
                    [Tlsa::new(3, 1, 1, [1; 32])],
                    &[crate::Matching::Sha512],
                ),
                mx(),
                NoUsableRecords::Fail,
            )
            .digest(false),
        ] {
            assert_ne!(base, other);
        }
    }
}
