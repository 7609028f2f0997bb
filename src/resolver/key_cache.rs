//! [`KeyCache`]: a small cache of raw DNSKEY, DS and NS answers *below* hickory's validator.
//!
//! hickory's `DnssecDnsHandle<H>` sends every sub-query of a validation (the DNSKEY RRset of
//! each signer, the DS RRset of each zone, the NS queries that find a zone cut) through `H`.
//! Placed as `H`, this cache answers those sub-queries from memory, so a new name in a zone
//! whose keys were fetched a moment ago costs one upstream query. It never decides anything:
//! every answer it returns is validated again by the validator above it, so a forged answer
//! that got in can make a lookup fail (until [`KeyCache::evict_zones_of`]) but never succeed.
//!
//! Rules:
//! - cached questions: DNSKEY, DS, and NS asked by the validator itself (a request without
//!   the AD bit: the validator sets AD on every question it validates); every other question
//!   (TLSA, A, MX, …, and NS asked by a caller) goes upstream;
//! - the key is the name (case-insensitive), type, class, DO and CD bits;
//! - kept: NOERROR answers holding an RRset of the question's type at the question's name,
//!   for min(record TTLs, earliest RRSIG expiry, 1 h); and, for DS and NS only, NOERROR/NXDOMAIN
//!   answers without records, for min(negative TTL, 5 min). Never SERVFAIL, REFUSED, other
//!   errors, truncated answers or answers to another question;
//! - NS questions for a name strictly below a zone whose NS RRset and DS denial are both cached
//!   (a known insecure delegation) get a synthesised "no NS here": the validator's walk up to
//!   the zone cut stops at that zone, whose DS denial it validates again. Everything below an
//!   insecure delegation is insecure, wherever the deeper cuts are;
//! - positive answers (cached or not) lose their authority NS RRsets (with their RRSIGs) and
//!   their additional section before the validator sees them (each extra RRset costs a DNSKEY
//!   fetch and a signature check); NSEC/NSEC3 and everything else is kept;
//! - bounded entry count ([`MAX_ENTRIES`]).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, Stream, StreamExt};
use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG};
use hickory_proto::op::{DnsRequest, DnsResponse, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_resolver::net::xfer::DnsHandle;
use hickory_resolver::net::{DnsError, NetError, NoRecords};

/// The longest a positive answer is kept.
const MAX_TTL: Duration = Duration::from_secs(3600);
/// The longest a negative (DS or NS) answer is kept.
const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(300);
/// The most entries kept.
pub(crate) const MAX_ENTRIES: usize = 4096;
/// At most one eviction per zone name in this interval: as long as the validator remembers
/// a failed validation, so one forged answer keeps a zone bogus no longer than that.
pub(crate) const EVICTION_INTERVAL: Duration = super::validating::NEGATIVE_VALIDATION_TTL;

type Response = Pin<Box<dyn Stream<Item = Result<DnsResponse, NetError>> + Send>>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    name: Name,
    qtype: RecordType,
    class: DNSClass,
    dnssec_ok: bool,
    checking_disabled: bool,
}

struct Entry {
    value: Result<DnsResponse, NetError>,
    expires: Instant,
}

#[derive(Default)]
struct State {
    entries: HashMap<Key, Entry>,
    /// When each name's entries were last evicted.
    evicted: HashMap<Name, Instant>,
}

/// A cache of raw DNSKEY / DS / NS answers as a `DnsHandle` (see the module documentation).
pub(crate) struct KeyCache<H> {
    inner: H,
    state: Arc<Mutex<State>>,
}

impl<H: Clone> Clone for KeyCache<H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            state: Arc::clone(&self.state),
        }
    }
}

impl<H> KeyCache<H> {
    pub(crate) fn new(inner: H) -> Self {
        Self {
            inner,
            state: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets the entries of `name` and of each of its ancestors, except names evicted less
    /// than [`EVICTION_INTERVAL`] ago (a hostile zone cannot keep its parents' keys out of
    /// the cache). True if anything was forgotten.
    pub(crate) fn evict_zones_of(&self, name: &Name) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        state
            .evicted
            .retain(|_, at| now.duration_since(*at) < EVICTION_INTERVAL);
        let mut zones = Vec::new();
        let mut n = name.to_lowercase();
        loop {
            if !state.evicted.contains_key(&n) {
                zones.push(n.clone());
            }
            if n.is_root() {
                break;
            }
            n = n.base_name();
        }
        let before = state.entries.len();
        state.entries.retain(|k, _| !zones.contains(&k.name));
        let evicted = state.entries.len() < before;
        if evicted {
            for z in zones {
                state.evicted.insert(z, now);
            }
        }
        evicted
    }

    fn get(&self, key: &Key) -> Option<Result<DnsResponse, NetError>> {
        let state = self.lock();
        let e = state.entries.get(key)?;
        (Instant::now() < e.expires).then(|| e.value.clone())
    }

    /// A zone strictly above `key.name` whose NS RRset and DS denial are both cached.
    fn insecure_cut_above(&self, key: &Key) -> bool {
        let now = Instant::now();
        let state = self.lock();
        let live = |k: &Key| state.entries.get(k).filter(|e| now < e.expires);
        let mut n = key.name.clone();
        while !n.is_root() {
            n = n.base_name();
            let at = |qtype| Key {
                name: n.clone(),
                qtype,
                ..key.clone()
            };
            let has_ns = live(&at(RecordType::NS)).is_some_and(|e| e.value.is_ok());
            let no_ds = live(&at(RecordType::DS)).is_some_and(|e| e.value.is_err());
            if has_ns && no_ds {
                return true;
            }
        }
        false
    }

    fn insert(&self, key: Key, value: &Result<DnsResponse, NetError>) {
        let Some(ttl) = cacheable(&key, value) else {
            return;
        };
        let now = Instant::now();
        let mut state = self.lock();
        if state.entries.len() >= MAX_ENTRIES {
            state.entries.retain(|_, e| now < e.expires);
            while state.entries.len() >= MAX_ENTRIES {
                let Some(k) = state.entries.keys().next().cloned() else {
                    break;
                };
                state.entries.remove(&k);
            }
        }
        state.entries.insert(
            key,
            Entry {
                value: value.clone(),
                expires: now + ttl,
            },
        );
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// min(TTL, time to the earliest RRSIG expiry) over `records`, in seconds.
fn records_ttl<'a>(records: impl Iterator<Item = &'a Record>) -> u64 {
    let now = now_unix();
    let mut ttl = u64::MAX;
    for r in records {
        ttl = ttl.min(u64::from(r.ttl));
        if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data {
            let expiry = u64::from(sig.input().sig_expiration.get());
            ttl = ttl.min(expiry.saturating_sub(now));
        }
    }
    ttl
}

/// How long `value`, the answer to `key`, may be kept (None: not at all).
fn cacheable(key: &Key, value: &Result<DnsResponse, NetError>) -> Option<Duration> {
    let secs = match value {
        Ok(response) => {
            let [query] = response.queries.as_slice() else {
                return None;
            };
            if response.response_code != ResponseCode::NoError
                || response.truncation
                || !matches_key(query, key)
                || !response
                    .answers
                    .iter()
                    .any(|r| r.record_type() == key.qtype && r.name == key.name)
            {
                return None;
            }
            records_ttl(response.answers.iter()).min(MAX_TTL.as_secs())
        }
        Err(NetError::Dns(DnsError::NoRecordsFound(NoRecords {
            query,
            negative_ttl,
            response_code,
            authorities,
            ..
        }))) => {
            if !matches!(key.qtype, RecordType::DS | RecordType::NS)
                || !matches!(
                    response_code,
                    ResponseCode::NoError | ResponseCode::NXDomain
                )
                || !matches_key(query, key)
            {
                return None;
            }
            let from_records = authorities
                .as_deref()
                .map_or(u64::MAX, |a| records_ttl(a.iter()));
            from_records
                .min(negative_ttl.map_or(u64::MAX, u64::from))
                .min(MAX_NEGATIVE_TTL.as_secs())
        }
        Err(_) => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

fn matches_key(query: &Query, key: &Key) -> bool {
    query.name() == &key.name && query.query_type() == key.qtype && query.query_class() == key.class
}

/// Drops the authority NS RRsets (and the RRSIGs over them) and the additional section of a
/// positive answer.
fn strip(result: Result<DnsResponse, NetError>) -> Result<DnsResponse, NetError> {
    let Ok(response) = result else {
        return result;
    };
    let is_ns = |r: &Record| match &r.data {
        RData::NS(_) => true,
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => covers_ns(sig),
        _ => false,
    };
    if response.response_code != ResponseCode::NoError
        || response.answers.is_empty()
        || (response.additionals.is_empty() && !response.authorities.iter().any(is_ns))
    {
        return Ok(response);
    }
    let mut message = response.into_message();
    message.authorities.retain(|r| !is_ns(r));
    message.additionals.clear();
    DnsResponse::from_message(message).map_err(NetError::from)
}

fn covers_ns(sig: &RRSIG) -> bool {
    sig.input().type_covered == RecordType::NS
}

impl<H: DnsHandle> DnsHandle for KeyCache<H> {
    type Response = Response;
    type Runtime = H::Runtime;

    fn is_verifying_dnssec(&self) -> bool {
        self.inner.is_verifying_dnssec()
    }

    fn is_using_edns(&self) -> bool {
        self.inner.is_using_edns()
    }

    fn send(&self, request: DnsRequest) -> Self::Response {
        let question = match request.queries.as_slice() {
            [q] if request.op_code == OpCode::Query => q.clone(),
            _ => return Box::pin(self.inner.send(request)),
        };
        let cached_type = match question.query_type() {
            RecordType::DNSKEY | RecordType::DS => true,
            // The validator's own zone-cut walk (a caller's NS question carries AD).
            RecordType::NS => !request.metadata.authentic_data,
            _ => false,
        };
        if !cached_type {
            return Box::pin(self.inner.send(request).map(strip));
        }
        let key = Key {
            name: question.name().to_lowercase(),
            qtype: question.query_type(),
            class: question.query_class(),
            dnssec_ok: request.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok),
            checking_disabled: request.metadata.checking_disabled,
        };
        if let Some(hit) = self.get(&key) {
            return Box::pin(stream::once(async move { hit }));
        }
        if key.qtype == RecordType::NS && self.insecure_cut_above(&key) {
            let none = NoRecords::new(question, ResponseCode::NoError);
            let denial = Err(NetError::Dns(DnsError::NoRecordsFound(none)));
            return Box::pin(stream::once(async move { denial }));
        }
        let cache = self.clone();
        Box::pin(self.inner.send(request).map(move |result| {
            let result = strip(result);
            cache.insert(key.clone(), &result);
            result
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Message;
    use hickory_proto::rr::rdata::A;

    fn key(name: &str, qtype: RecordType) -> Key {
        Key {
            name: Name::from_ascii(name).unwrap(),
            qtype,
            class: DNSClass::IN,
            dnssec_ok: true,
            checking_disabled: false,
        }
    }

    fn response(k: &Key, rcode: ResponseCode, answers: Vec<Record>) -> DnsResponse {
        let mut m = Message::query();
        m.add_query(Query::query(k.name.clone(), k.qtype));
        m.metadata.response_code = rcode;
        for a in answers {
            m.add_answer(a);
        }
        DnsResponse::from_message(m.into_response()).unwrap()
    }

    fn ns(owner: &Name, ttl: u32) -> Record {
        let target = Name::from_ascii("ns.example.").unwrap();
        Record::from_rdata(
            owner.clone(),
            ttl,
            RData::NS(hickory_proto::rr::rdata::NS(target)),
        )
    }

    #[test]
    fn only_noerror_answers_to_the_question_are_kept_for_at_most_an_hour() {
        let k = key("example.", RecordType::NS);
        let ok = response(&k, ResponseCode::NoError, vec![ns(&k.name, 7200)]);
        assert_eq!(cacheable(&k, &Ok(ok.clone())), Some(MAX_TTL));
        let short = response(&k, ResponseCode::NoError, vec![ns(&k.name, 60)]);
        assert_eq!(cacheable(&k, &Ok(short)), Some(Duration::from_secs(60)));
        // Another question, another rcode, truncation, a record of another type.
        let other = key("other.", RecordType::NS);
        assert_eq!(cacheable(&other, &Ok(ok.clone())), None);
        for rcode in [ResponseCode::ServFail, ResponseCode::Refused] {
            let r = response(&k, rcode, vec![ns(&k.name, 60)]);
            assert_eq!(cacheable(&k, &Ok(r)), None, "{rcode}");
        }
        let mut tc = ok.clone().into_message();
        tc.metadata.truncation = true;
        let tc = DnsResponse::from_message(tc).unwrap();
        assert_eq!(cacheable(&k, &Ok(tc)), None);
        let a = Record::from_rdata(k.name.clone(), 60, RData::A(A::new(192, 0, 2, 1)));
        let wrong = response(&k, ResponseCode::NoError, vec![a]);
        assert_eq!(cacheable(&k, &Ok(wrong)), None);
        assert_eq!(cacheable(&k, &Err(NetError::Timeout)), None);
    }

    #[test]
    fn denials_only_for_ds_and_ns_and_for_at_most_five_minutes() {
        for (qtype, kept) in [
            (RecordType::DS, true),
            (RecordType::NS, true),
            (RecordType::DNSKEY, false),
        ] {
            let k = key("example.", qtype);
            let mut none =
                NoRecords::new(Query::query(k.name.clone(), qtype), ResponseCode::NoError);
            none.negative_ttl = Some(3600);
            let denial = Err(NetError::Dns(DnsError::NoRecordsFound(none)));
            let expect = kept.then_some(MAX_NEGATIVE_TTL);
            assert_eq!(cacheable(&k, &denial), expect, "{qtype}");
        }
        let k = key("example.", RecordType::DS);
        let servfail = NoRecords::new(
            Query::query(k.name.clone(), k.qtype),
            ResponseCode::ServFail,
        );
        let e = Err(NetError::Dns(DnsError::NoRecordsFound(servfail)));
        assert_eq!(cacheable(&k, &e), None);
    }

    fn rrsig(owner: &Name, covered: RecordType) -> Record {
        use hickory_proto::dnssec::Algorithm;
        use hickory_proto::dnssec::rdata::SigInput;
        use hickory_proto::rr::SerialNumber;
        let input = SigInput {
            type_covered: covered,
            algorithm: Algorithm::ECDSAP256SHA256,
            num_labels: owner.num_labels(),
            original_ttl: 300,
            sig_expiration: SerialNumber::new(2_000_000_000),
            sig_inception: SerialNumber::new(1_000_000_000),
            key_tag: 1,
            signer_name: Name::from_ascii("example.").unwrap(),
        };
        Record::from_rdata(
            owner.clone(),
            300,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![0; 64]))),
        )
    }

    /// Positive answers reach the validator without the authority NS RRset (and its RRSIG)
    /// and without additional records, each of which it would validate at the cost of a
    /// signature check (and, for another zone's NS, a DNSKEY fetch); NSEC/NSEC3 in the
    /// authority section (the proof that no closer name matched a wildcard, RFC 4035
    /// §3.1.3.3) are kept, and negative answers are passed on untouched.
    #[test]
    fn strip_drops_authority_ns_and_additionals_of_positive_answers_only() {
        use hickory_proto::dnssec::rdata::NSEC;
        let zone = Name::from_ascii("example.").unwrap();
        let k = key("www.example.", RecordType::A);
        let a = Record::from_rdata(k.name.clone(), 300, RData::A(A::new(192, 0, 2, 1)));
        let nsec = Record::from_rdata(
            zone.clone(),
            300,
            RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
                Name::from_ascii("zzz.example.").unwrap(),
                [RecordType::A],
            ))),
        );
        let mut m = response(
            &k,
            ResponseCode::NoError,
            vec![a.clone(), rrsig(&k.name, RecordType::A)],
        )
        .into_message();
        m.add_authority(ns(&zone, 300));
        m.add_authority(rrsig(&zone, RecordType::NS));
        m.add_authority(nsec.clone());
        m.add_authority(rrsig(&zone, RecordType::NSEC));
        m.add_additional(Record::from_rdata(
            Name::from_ascii("ns.example.").unwrap(),
            300,
            RData::A(A::new(192, 0, 2, 53)),
        ));
        let full = DnsResponse::from_message(m).unwrap();
        let stripped = strip(Ok(full.clone())).unwrap();
        assert_eq!(stripped.answers, full.answers);
        let kinds: Vec<RecordType> = stripped
            .authorities
            .iter()
            .map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig.input().type_covered,
                _ => r.record_type(),
            })
            .collect();
        assert_eq!(kinds, [RecordType::NSEC, RecordType::NSEC]);
        assert!(stripped.additionals.is_empty());

        // A negative answer (no answer records) keeps everything: its proofs are there.
        let mut neg = response(&k, ResponseCode::NXDomain, vec![]).into_message();
        neg.add_authority(ns(&zone, 300));
        neg.add_authority(nsec);
        let neg = DnsResponse::from_message(neg).unwrap();
        let kept = strip(Ok(neg.clone())).unwrap();
        assert_eq!(kept.authorities, neg.authorities);
    }
}
