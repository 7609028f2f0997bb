//! DNSSEC-authenticated TLSA lookups and the RFC 7672 (SMTP) and RFC 7673 (SRV) policies
//! (feature `resolver`).
//!
//! A DANE library is only as safe as its lookups: a bogus or failed lookup read as "no TLSA"
//! is a downgrade attack. Every lookup here returns one of:
//! - a **secure** answer (validated from a trust anchor down),
//! - a **secure absence** (NSEC/NSEC3 proof),
//! - an **insecure** answer (provably unsigned: DANE does not apply),
//! - or a [`LookupError`] (bogus, SERVFAIL, timeout, …) that has no conversion to any of
//!   the above.
//!
//! Two trust modes, both behind the [`DnsSource`] trait (implement it to plug in another
//! validating resolver):
//! - [`ValidatingSource`]: local validation with hickory's validator against
//!   [`TrustAnchor`]s (the IANA root by default);
//! - [`TrustedAdSource`]: the AD bit of a validating resolver on a trusted path (the Postfix
//!   + local Unbound model), safe only over loopback or an equally trusted link.
//!
//! [`TlsaResolver`] adds a TTL-bounded cache (secure answers stay secure, negative answers
//! are cached for a bounded time, concurrent identical lookups are coalesced, the size is
//! bounded) and the SMTP and SRV helpers.

mod answer;
mod cache;
mod key_cache;
mod memo;
mod smtp;
mod source;
#[cfg(feature = "tlsrpt")]
mod tlsrpt;
mod validating;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::rr::{Name, RData, RecordType};

use crate::names::ReferenceName;
use crate::record::Tlsa;
use crate::rrset::TlsaSet;

#[doc(hidden)]
pub use answer::judge_wire_for_fuzzing;
pub use answer::{AnswerKind, DnsAnswer, Security, SignatureValidity};
/// The hickory-proto version whose types (`Name`, `RecordType`, `RData`) appear in this
/// module's API.
pub use hickory_proto;
pub use smtp::{DaneStatus, SmtpPlan, SrvPlan, Step, Target};
pub use source::{DnsSource, ServerSettings, TrustAnchor, TrustedAdSource};
#[cfg(feature = "tlsrpt")]
pub use tlsrpt::TlsRptRecord;
pub use validating::ValidatingSource;

/// Why a lookup gave no usable answer. None of these means "no DANE": the host is unusable
/// for authenticated delivery (RFC 7672 §2.2: try the next MX, or defer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// DNSSEC validation failed (bad signature, DS mismatch, expired signatures, or a
    /// failure inside the chain of trust).
    #[error("DNSSEC validation failed (bogus)")]
    Bogus,
    /// The server answered SERVFAIL (a validating resolver's answer to bogus data, too).
    #[error("SERVFAIL")]
    ServFail,
    /// No answer in time.
    #[error("timeout")]
    Timeout,
    /// Another error response code.
    #[error("error response {0}")]
    Rcode(String),
    /// An answer whose DNSSEC status could not be determined.
    #[error("DNSSEC status indeterminate")]
    Indeterminate,
    /// The domain does not exist.
    #[error("no such domain")]
    NoSuchDomain,
    /// A name that is not a valid DNS name.
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// Bad configuration (trust anchor, servers).
    #[error("configuration: {0}")]
    Config(String),
    /// Transport or other failure.
    #[error("{0}")]
    Other(String),
}

impl LookupError {
    /// A stable kebab-case name (used in `danecheck --json` as the `status`).
    pub fn category(&self) -> &'static str {
        match self {
            Self::Bogus => "bogus",
            Self::ServFail => "servfail",
            Self::Timeout => "timeout",
            Self::Rcode(_) => "rcode",
            Self::Indeterminate => "indeterminate",
            Self::NoSuchDomain => "nxdomain",
            Self::InvalidName(_) => "invalid-name",
            Self::Config(_) => "config",
            Self::Other(_) => "error",
        }
    }
}

/// The DANE-relevant result of a TLSA lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsaLookup {
    /// A validated TLSA RRset.
    Secure {
        /// The records, parsed with the core's types (usability is decided by the set).
        records: TlsaSet,
        /// Records whose RDATA could not be read as TLSA; counted, never silently dropped
        /// (they are unusable, RFC 7671 §4).
        malformed: usize,
        /// The smallest TTL of the answer; from the cache, the TTL left (RFC 2181 §8).
        ttl: u32,
        /// The TLSA base domain (the host the records were looked up for; a CNAME at the
        /// TLSA owner name does not change it, RFC 7671 §7).
        base: ReferenceName,
    },
    /// Validated denial of existence (NSEC/NSEC3): the host publishes no TLSA records.
    SecureAbsent,
    /// The answer is provably insecure: DANE does not apply.
    Insecure,
}

impl TlsaLookup {
    /// `secure`, `secure-absent` or `insecure` (as `danecheck tlsa --json` prints them).
    pub fn status(&self) -> &'static str {
        match self {
            Self::Secure { .. } => "secure",
            Self::SecureAbsent => "secure-absent",
            Self::Insecure => "insecure",
        }
    }
}

/// Cache limits of a [`TlsaResolver`].
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// Most entries kept.
    pub max_entries: usize,
    /// Upper bound on any positive TTL.
    pub max_ttl: Duration,
    /// Upper bound on the time a negative answer (NODATA, NXDOMAIN) is kept.
    pub max_negative_ttl: Duration,
    /// How long a failure (bogus, SERVFAIL, timeout) is remembered, so a broken zone is not
    /// asked again for every message; 0 disables.
    pub error_ttl: Duration,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_ttl: Duration::from_secs(3600),
            max_negative_ttl: Duration::from_secs(300),
            error_ttl: Duration::from_secs(5),
        }
    }
}

/// What [`TlsaResolver::cache_stats`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheStats {
    /// Answers (and remembered failures) in the answer cache.
    pub answers: usize,
    /// Lookups under way (each with at least one caller waiting).
    pub pending: usize,
    /// Hosts in the memo of finished TLSA lookups.
    pub tlsa_hosts: usize,
}

/// TLSA lookups, and the SMTP and SRV policies, over a [`DnsSource`], with a cache.
pub struct TlsaResolver<S> {
    source: S,
    cache: cache::Cache,
    memo: memo::TlsaMemo,
}

impl<S> fmt::Debug for TlsaResolver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsaResolver").finish_non_exhaustive()
    }
}

impl<S: DnsSource> TlsaResolver<S> {
    /// A resolver over `source` with [`CacheLimits::default`].
    pub fn new(source: S) -> Self {
        Self::with_cache_limits(source, CacheLimits::default())
    }

    /// A resolver over `source` with the given cache limits.
    pub fn with_cache_limits(source: S, limits: CacheLimits) -> Self {
        Self {
            source,
            cache: cache::Cache::new(limits),
            memo: memo::TlsaMemo::new(limits.max_entries),
        }
    }

    /// The source this resolver asks (for what its answers do not carry, such as
    /// [`ValidatingSource::signature_validity`]).
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Sizes of the caches, for monitoring (each is bounded by
    /// [`CacheLimits::max_entries`], the pending lookups by the callers waiting).
    pub fn cache_stats(&self) -> CacheStats {
        let (answers, pending) = self.cache.sizes();
        CacheStats {
            answers,
            pending,
            tlsa_hosts: self.memo.len(),
        }
    }

    /// One cached, coalesced query. The answer's TTL is what is left of it in the cache
    /// (RFC 2181 §8: a cached answer's TTL counts down).
    pub async fn query(&self, name: &Name, rtype: RecordType) -> Result<DnsAnswer, LookupError> {
        self.query_until(name, rtype).await.0
    }

    /// [`query`](Self::query), and when its answer (or failure) leaves the cache.
    pub(crate) async fn query_until(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> (Result<DnsAnswer, LookupError>, Instant) {
        let (answer, expires) = self.query_shared(name, rtype).await;
        let answer = answer.map(|a| {
            let mut a = Arc::unwrap_or_clone(a);
            let left = remaining_secs(expires, Instant::now());
            match &mut a.kind {
                AnswerKind::Records { ttl, .. }
                | AnswerKind::NoData { ttl }
                | AnswerKind::NxDomain { ttl } => *ttl = (*ttl).min(left),
            }
            a
        });
        (answer, expires)
    }

    /// [`query`](Self::query) without copying the cached answer.
    async fn query_shared(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> (Result<Arc<DnsAnswer>, LookupError>, std::time::Instant) {
        self.cache
            .get_or_fetch(name, rtype, || async {
                self.source.query(name, rtype).await.map(Arc::new)
            })
            .await
    }

    /// Looks up the TLSA RRset of `_<port>._<proto>.<host>`. A cached answer reports the
    /// TTL left (RFC 2181 §8).
    pub async fn lookup_tlsa(
        &self,
        port: u16,
        proto: &str,
        host: &str,
    ) -> Result<TlsaLookup, LookupError> {
        self.lookup_tlsa_until(port, proto, host).await.0
    }

    /// [`lookup_tlsa`](Self::lookup_tlsa), and when its answer (or failure) leaves the cache.
    pub(crate) async fn lookup_tlsa_until(
        &self,
        port: u16,
        proto: &str,
        host: &str,
    ) -> (Result<TlsaLookup, LookupError>, Instant) {
        let found = self.lookup_tlsa_inner(port, proto, host).await;
        crate::trace::tlsa_lookup(port, proto, host, &found.0);
        found
    }

    async fn lookup_tlsa_inner(
        &self,
        port: u16,
        proto: &str,
        host: &str,
    ) -> (Result<TlsaLookup, LookupError>, Instant) {
        // Hot path: a finished lookup for exactly these arguments, still in the cache.
        if let Some(hit) = self.memo.get(port, proto, host) {
            return (Ok(hit.0), hit.1);
        }
        let base = match ReferenceName::new(host) {
            Ok(base) => base,
            Err(e) => {
                let e = LookupError::InvalidName(format!("{host}: {e}"));
                return (Err(e), Instant::now());
            }
        };
        let owner = match tlsa_owner(port, proto, &base) {
            Ok(owner) => owner,
            Err(e) => return (Err(e), Instant::now()),
        };
        let (answer, expires) = self.query_until(&owner, RecordType::TLSA).await;
        let lookup = match answer {
            Ok(answer) => tlsa_from_answer(&answer, base),
            Err(e) => return (Err(e), expires),
        };
        self.memo.insert(port, proto, host, &lookup, expires);
        (Ok(lookup), expires)
    }
}

/// hickory's TLSA record data as the crate's record (for MTAs with their own DNS layer):
/// every value is kept, unknown ones too.
impl From<&hickory_proto::rr::rdata::TLSA> for Tlsa {
    fn from(t: &hickory_proto::rr::rdata::TLSA) -> Self {
        Self::new(
            u8::from(t.cert_usage),
            u8::from(t.selector),
            u8::from(t.matching),
            &t.cert_data,
        )
    }
}

impl From<hickory_proto::rr::rdata::TLSA> for Tlsa {
    fn from(t: hickory_proto::rr::rdata::TLSA) -> Self {
        Self::from(&t)
    }
}

/// The crate's record as hickory's TLSA record data (to publish or compare records).
impl From<&Tlsa> for hickory_proto::rr::rdata::TLSA {
    fn from(t: &Tlsa) -> Self {
        Self::new(
            u8::from(t.usage()).into(),
            u8::from(t.selector()).into(),
            u8::from(t.matching()).into(),
            t.data().to_vec(),
        )
    }
}

/// Seconds left until `expires`, rounded up (a fresh answer keeps its TTL; 0 once passed).
pub(crate) fn remaining_secs(expires: Instant, now: Instant) -> u32 {
    let left = expires.saturating_duration_since(now);
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    u32::try_from(secs).unwrap_or(u32::MAX)
}

/// `_<port>._<proto>.<host>.` as a DNS name.
fn tlsa_owner(port: u16, proto: &str, base: &ReferenceName) -> Result<Name, LookupError> {
    fqdn(&format!("_{port}._{proto}.{}", base.as_str()))
}

pub(crate) fn fqdn(name: &str) -> Result<Name, LookupError> {
    let mut n =
        Name::from_ascii(name).map_err(|e| LookupError::InvalidName(format!("{name}: {e}")))?;
    n.set_fqdn(true);
    Ok(n)
}

fn tlsa_from_answer(answer: &DnsAnswer, base: ReferenceName) -> TlsaLookup {
    match (answer.security, &answer.kind) {
        (Security::Insecure, _) => TlsaLookup::Insecure,
        (Security::Secure, AnswerKind::Records { ttl, rdata, .. }) => {
            let mut malformed = 0;
            let records: Vec<Tlsa> = rdata
                .iter()
                .filter_map(|r| match r {
                    RData::TLSA(t) => Some(Tlsa::from(t)),
                    _ => {
                        malformed += 1;
                        None
                    }
                })
                .collect();
            TlsaLookup::Secure {
                records: TlsaSet::new(records),
                malformed,
                ttl: *ttl,
                base,
            }
        }
        (Security::Secure, _) => TlsaLookup::SecureAbsent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::TLSA;

    #[test]
    fn tlsa_converts_to_and_from_hickory_keeping_unknown_values_rfc7671_4() {
        for (u, sel, m) in [(3, 1, 1), (2, 0, 0), (255, 1, 1), (3, 9, 200)] {
            let ours = Tlsa::new(u, sel, m, [1u8, 2, 3]);
            let theirs = TLSA::from(&ours);
            assert_eq!(u8::from(theirs.cert_usage), u);
            assert_eq!(u8::from(theirs.selector), sel);
            assert_eq!(u8::from(theirs.matching), m);
            assert_eq!(theirs.cert_data, [1, 2, 3]);
            assert_eq!(Tlsa::from(theirs), ours);
        }
    }
}
