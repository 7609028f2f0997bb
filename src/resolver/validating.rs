//! [`ValidatingSource`]: local DNSSEC validation with hickory's validator.
//!
//! The stack is built from hickory's public parts instead of `hickory_resolver::Resolver`:
//! name-server pool (UDP, TCP on truncation) → retries → [`KeyCache`] (raw DNSKEY, DS and NS
//! answers for the validator's sub-queries) → `DnssecDnsHandle` (the validator, unchanged,
//! which validates every answer, cached or not, on every use). Without the resolver's response cache and CNAME follower above the validator:
//! - every answer this source returns was validated for this question, in one response whose
//!   records all carry the validator's proofs (no cached answer stripped of the CNAME that led
//!   to it, no hosts file, no special-use names answered locally);
//! - a CNAME chain is followed one link at a time, each target with a question of its own,
//!   so a denial is always judged for the name it denies ([`answer::judge`]).
//!
//! The caching that matters is above this source ([`TlsaResolver`](super::TlsaResolver)'s
//! answer cache). Pinned to the hickory 0.26 line: `NameServerPool::from_config`,
//! `PoolContext::new`, `RetryDnsHandle::new` and `DnssecDnsHandle::with_trust_anchor`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hickory_proto::dnssec::TrustAnchors;
use hickory_proto::op::{DnsRequestOptions, Query};
use hickory_proto::rr::{Name, RecordType};
use hickory_resolver::config::{NameServerConfig, ResolverOpts};
use hickory_resolver::net::dnssec::DnssecDnsHandle;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::{DnsHandle, FirstAnswer, RetryDnsHandle};
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::{NameServerPool, PoolContext, TlsConfig};

use super::LookupError;
use super::answer::{self, AnswerKind, DnsAnswer, Judgement, Security, SignatureValidity};
use super::key_cache::KeyCache;
use super::source::{DnsSource, ServerSettings, TrustAnchor, dnskeys_from_ds};

/// How many CNAME links a lookup follows (each a question of its own).
const MAX_CHAIN: usize = 8;

/// The longest time the validator remembers a failed validation.
pub(crate) const NEGATIVE_VALIDATION_TTL: Duration = Duration::from_secs(1);

/// How many full exchange timeouts one validated question may take.
const MAX_SEQUENTIAL_EXCHANGES: u32 = 8;

type Keys = KeyCache<RetryDnsHandle<NameServerPool<TokioRuntimeProvider>>>;
type Handle = DnssecDnsHandle<Keys>;

/// Local DNSSEC validation with hickory's validator against [`TrustAnchor`]s, querying the
/// configured servers over UDP with TCP fallback.
///
/// What it guarantees: an answer is [`Security::Secure`] only if the validator proved every
/// record that answers the question from the anchors down; [`Security::Insecure`] only if
/// the validator proved an insecure delegation at or above the name (for a denial: at or
/// above the zone whose SOA denies the name, which must be the name's own zone or an
/// ancestor's). Everything else is a [`LookupError`]. The upstream server is not trusted.
#[derive(Clone)]
pub struct ValidatingSource {
    handle: Arc<Handle>,
    /// The raw DNSKEY / DS / NS answers under the validator (shared with `handle`).
    keys: Keys,
    anchors: Arc<TrustAnchors>,
    options: DnsRequestOptions,
    /// Bound on one question, validation included.
    deadline: Duration,
}

impl std::fmt::Debug for ValidatingSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatingSource").finish_non_exhaustive()
    }
}

impl ValidatingSource {
    /// Like [`new`](Self::new), and also accepts [`TrustAnchor::DsText`], which needs a
    /// (non-validated) DNSKEY query to the configured servers.
    pub async fn connect(
        settings: &ServerSettings,
        anchor: &TrustAnchor,
    ) -> Result<Self, LookupError> {
        match anchor {
            TrustAnchor::DsText(text) => {
                let dnskeys = dnskeys_from_ds(settings, text).await?;
                Self::new(settings, &TrustAnchor::DnskeyText(dnskeys))
            }
            other => Self::new(settings, other),
        }
    }

    /// A validating source (call it inside a tokio runtime).
    pub fn new(settings: &ServerSettings, anchor: &TrustAnchor) -> Result<Self, LookupError> {
        let anchors = match anchor {
            TrustAnchor::IanaRoot => TrustAnchors::default(),
            TrustAnchor::DnskeyText(text) => text
                .parse::<TrustAnchors>()
                .map_err(|e| LookupError::Config(format!("trust anchor: {e}")))?,
            TrustAnchor::DsText(_) => {
                return Err(LookupError::Config(
                    "a DS trust anchor needs ValidatingSource::connect".into(),
                ));
            }
        };
        let servers: Vec<NameServerConfig> = settings
            .servers
            .iter()
            .map(|addr| {
                // UDP first, TCP on truncation (and for large answers).
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut ns.connections {
                    c.port = addr.port();
                }
                ns
            })
            .collect();
        if servers.is_empty() {
            return Err(LookupError::Config("no name server configured".into()));
        }
        let mut opts = ResolverOpts::default();
        opts.validate = true;
        opts.timeout = settings.timeout;
        opts.attempts = settings.attempts;
        opts.recursion_desired = settings.recursion_desired;
        let tls = TlsConfig::new().map_err(|e| LookupError::Config(format!("resolver: {e}")))?;
        let cx = Arc::new(PoolContext::new(opts, tls));
        let pool = NameServerPool::from_config(servers, cx, TokioRuntimeProvider::default());
        // The validator's DNSKEY, DS and NS sub-queries go through a cache of raw answers
        // (`KeyCache`), which the validator re-validates on every use.
        let keys = KeyCache::new(RetryDnsHandle::new(pool, settings.attempts.max(1)));
        let anchors = Arc::new(anchors);
        let handle = validator(&keys, &anchors);
        let mut options = DnsRequestOptions::default();
        options.recursion_desired = settings.recursion_desired;
        options.use_edns = true;
        options.edns_set_dnssec_ok = true;
        // A validated answer needs a few sequential exchanges (the answer, DNSKEY and DS
        // RRsets up to a cached key, NS queries to find a zone cut); a question that takes
        // longer than that many full timeouts is abandoned. hickory 0.26.3 can loop without end
        // on some forged denials (seen with a replayed child-side NXDOMAIN for a DS query).
        let per_exchange = settings
            .timeout
            .saturating_mul(u32::try_from(settings.attempts.max(1)).unwrap_or(u32::MAX));
        let deadline = per_exchange.saturating_mul(MAX_SEQUENTIAL_EXCHANGES);
        Ok(Self {
            handle: Arc::new(handle),
            keys,
            anchors,
            options,
            deadline,
        })
    }

    /// One question, judged on its own. A bogus result may come from a forged DNSKEY, DS or
    /// NS answer held by the key cache: the cached answers of the question's name and its
    /// ancestors are then forgotten (at most once per name a second) and the
    /// question is asked once more, through a fresh validator (whose memo of failed
    /// validations is empty).
    async fn ask(&self, name: &Name, rtype: RecordType) -> Result<Judgement, LookupError> {
        match self.ask_with(&self.handle, name, rtype).await {
            Err(LookupError::Bogus) if self.keys.evict_zones_of(name) => {
                let fresh = validator(&self.keys, &self.anchors);
                self.ask_with(&fresh, name, rtype).await
            }
            other => other,
        }
    }

    async fn ask_with(
        &self,
        handle: &Handle,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Judgement, LookupError> {
        let query = Query::query(name.clone(), rtype);
        let lookup = handle.lookup(query, self.options).first_answer();
        let result = tokio::time::timeout(self.deadline, lookup)
            .await
            .map_err(|_| LookupError::Timeout)?;
        match result {
            Ok(response) => answer::judge(
                name,
                rtype,
                response.response_code,
                &response.answers,
                &response.authorities,
                None,
            ),
            Err(NetError::Dns(DnsError::Nsec {
                proof, response, ..
            })) => answer::judge(
                name,
                rtype,
                response.response_code,
                &response.answers,
                &response.authorities,
                Some(proof),
            ),
            Err(e) => Err(net_error(e)),
        }
    }
}

impl ValidatingSource {
    /// The validity window (inception, expiration) of the RRSIG that proved the `rtype`
    /// RRset at `name` (after any CNAME chain), asked afresh (no cache): `None` when the
    /// answer is not a secure RRset (insecure, a denial). For monitoring signature expiry
    /// (`danecheck audit`); the decision about the records is [`DnsSource::query`]'s.
    pub async fn signature_validity(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Option<SignatureValidity>, LookupError> {
        let mut asked = name.clone();
        let mut seen: Vec<Name> = Vec::new();
        for _ in 0..MAX_CHAIN {
            let query = Query::query(asked.clone(), rtype);
            let lookup = self.handle.lookup(query, self.options).first_answer();
            let response = match tokio::time::timeout(self.deadline, lookup)
                .await
                .map_err(|_| LookupError::Timeout)?
            {
                Ok(response) => response,
                Err(e) => return Err(net_error(e)),
            };
            let judged = answer::judge(
                &asked,
                rtype,
                response.response_code,
                &response.answers,
                &response.authorities,
                None,
            )?;
            match judged {
                Judgement::Answer(DnsAnswer {
                    security: Security::Secure,
                    kind: AnswerKind::Records { owner, .. },
                }) => {
                    return Ok(answer::signature_validity(
                        &owner,
                        rtype,
                        &response.answers,
                        true,
                        SystemTime::now(),
                    ));
                }
                Judgement::Answer(_) => return Ok(None),
                Judgement::Follow { cnames, .. } => {
                    let Some(last) = cnames.last() else {
                        return Ok(None);
                    };
                    if *last == *name || seen.contains(last) {
                        return Err(LookupError::Other("CNAME loop".into()));
                    }
                    seen.extend(cnames.iter().cloned());
                    asked = last.clone();
                }
            }
        }
        Err(LookupError::Other("CNAME chain too long".into()))
    }
}

impl DnsSource for ValidatingSource {
    async fn query(&self, name: &Name, rtype: RecordType) -> Result<DnsAnswer, LookupError> {
        let mut asked = name.clone();
        let mut chain: Vec<Name> = Vec::new();
        let mut security = Security::Secure;
        let mut chain_ttl = u32::MAX;
        for _ in 0..MAX_CHAIN {
            match self.ask(&asked, rtype).await? {
                Judgement::Answer(mut answer) => {
                    if !chain.is_empty() {
                        answer.security = security.and(answer.security);
                        answer.kind = match answer.kind {
                            AnswerKind::Records {
                                owner,
                                cnames,
                                ttl,
                                rdata,
                            } => AnswerKind::Records {
                                owner,
                                cnames: chain.into_iter().chain(cnames).collect(),
                                ttl: ttl.min(chain_ttl),
                                rdata,
                            },
                            AnswerKind::NoData { ttl } => AnswerKind::NoData {
                                ttl: ttl.min(chain_ttl),
                            },
                            AnswerKind::NxDomain { ttl } => AnswerKind::NxDomain {
                                ttl: ttl.min(chain_ttl),
                            },
                        };
                    }
                    return Ok(answer);
                }
                Judgement::Follow {
                    cnames,
                    security: link_security,
                    ttl,
                } => {
                    security = security.and(link_security);
                    chain_ttl = chain_ttl.min(ttl);
                    for target in cnames {
                        // A loop through earlier questions: no answer.
                        if target == *name || chain.contains(&target) {
                            return Err(LookupError::Other("CNAME loop".into()));
                        }
                        chain.push(target);
                    }
                    if let Some(last) = chain.last() {
                        asked = last.clone();
                    }
                }
            }
        }
        Err(LookupError::Other("CNAME chain too long".into()))
    }
}

/// hickory's validator over the key cache.
fn validator(keys: &Keys, anchors: &Arc<TrustAnchors>) -> Handle {
    // Failed validations (bogus, and the transport failures inside a chain walk that
    // hickory reports as bogus) are remembered by the validator for at most a second
    // (hickory's default: up to 60 s): one lost or forged packet must not keep a zone
    // bogus after the attack. Not zero: within one lookup the validator meets the same
    // RRsets many times, and without the memo a wrong anchor costs seconds of CPU.
    // `TlsaResolver` remembers failures for `CacheLimits::error_ttl`.
    DnssecDnsHandle::with_trust_anchor(keys.clone(), Arc::clone(anchors))
        .negative_validation_ttl(Duration::ZERO..=NEGATIVE_VALIDATION_TTL)
}

/// Errors of the validating stack. None of them is a negative answer.
pub(crate) fn net_error(e: NetError) -> LookupError {
    match e {
        NetError::Dns(DnsError::DnssecBogus) => LookupError::Bogus,
        NetError::Dns(DnsError::ResponseCode(hickory_proto::op::ResponseCode::ServFail)) => {
            LookupError::ServFail
        }
        NetError::Dns(DnsError::ResponseCode(code)) => LookupError::Rcode(code.to_string()),
        // The validating handle turns the pool's negative answers into responses; one that
        // still arrives here was never validated.
        NetError::Dns(DnsError::NoRecordsFound(_)) => LookupError::Indeterminate,
        NetError::Timeout => LookupError::Timeout,
        other => LookupError::Other(other.to_string()),
    }
}
