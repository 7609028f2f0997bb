//! The one place that judges a validated DNS response: which of its records answer the
//! question, and what they prove. Pure (no I/O), so it can be tested and fuzzed on any
//! message.
//!
//! hickory's validator gives every RRset of a response its own `Proof`, but it does not relate
//! the authority section of a negative answer to the question: it returns a response early
//! when every authority record is provably insecure, whatever zone those records belong to.
//! An on-path attacker can therefore forge an NXDOMAIN or NODATA carrying the unsigned SOA of
//! *some* insecure zone for a name in a signed zone. The rules applied here (RFC 4035 §5.2,
//! §5.4; RFC 7672 §2.1.1-2.2):
//! - only the CNAME chain from the question and the asked-for RRset at its end count for a
//!   positive answer; other records in the response prove nothing;
//! - a denial is judged for the last name asked: its SOA must be owned by an ancestor-or-self
//!   of that name and every NSEC/NSEC3 record must lie in the SOA's zone;
//! - a denial is secure only with a secure SOA and at least one secure NSEC/NSEC3 record
//!   (which the validator has checked against the question), and insecure only with an SOA
//!   that the validator proved insecure (an insecure delegation at or above the SOA's owner,
//!   hence above the name);
//! - anything else is an error (`Indeterminate` or `Bogus`), never "insecure" and never a
//!   negative answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::dnssec::Proof;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinDecodable;

use super::LookupError;

/// Whether an answer was proven by DNSSEC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Security {
    /// Validated from a trust anchor down (RFC 4035 "secure").
    Secure,
    /// Provably not signed (an insecure delegation at or above the name, or only unsupported
    /// algorithms, RFC 4035 §5.2): DANE does not apply.
    Insecure,
}

impl Security {
    /// The weaker of two: insecure if either is.
    pub(crate) fn and(self, other: Self) -> Self {
        if self == Self::Secure && other == Self::Secure {
            Self::Secure
        } else {
            Self::Insecure
        }
    }
}

/// One DNS answer, after any CNAME chain, with its DNSSEC status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnswer {
    /// Secure only if every record of the answer (the CNAME chain included) is secure.
    pub security: Security,
    /// What the answer holds.
    pub kind: AnswerKind,
}

/// The content of a [`DnsAnswer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerKind {
    /// Records of the queried type.
    Records {
        /// The name the records are at (the end of the CNAME chain).
        owner: Name,
        /// The names of the CNAME chain, in order, from the query name (excluded).
        cnames: Vec<Name>,
        /// The smallest TTL of the answer.
        ttl: u32,
        /// The RDATA of the queried type.
        rdata: Vec<RData>,
    },
    /// The name exists without records of this type (NODATA), possibly after a CNAME chain.
    NoData {
        /// Negative TTL (the SOA minimum), if known.
        ttl: u32,
    },
    /// The name does not exist (NXDOMAIN).
    NxDomain {
        /// Negative TTL (the SOA minimum), if known.
        ttl: u32,
    },
}

impl AnswerKind {
    /// The TTL of the answer (positive or negative).
    pub fn ttl(&self) -> u32 {
        match self {
            Self::Records { ttl, .. } | Self::NoData { ttl } | Self::NxDomain { ttl } => *ttl,
        }
    }
}

/// What one validated response says about a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Judgement {
    /// The answer (positive, or a denial for the question's own name).
    Answer(DnsAnswer),
    /// The response holds a CNAME chain from the question's name, proven with `security`,
    /// but not the final records or their denial: ask again at `target`.
    Follow {
        /// The names of the chain after the question's name; the last one is the target.
        cnames: Vec<Name>,
        /// The security of the chain's links.
        security: Security,
        /// The smallest TTL of the links.
        ttl: u32,
    },
}

/// Judges one response to `(qname, qtype)` whose records carry the validator's proofs.
/// `nsec_proof` is the validator's verdict on the denial when it reported one (hickory's
/// `DnsError::Nsec`); `None` when it returned the response as valid.
pub(crate) fn judge(
    qname: &Name,
    qtype: RecordType,
    rcode: ResponseCode,
    answers: &[Record],
    authorities: &[Record],
    nsec_proof: Option<Proof>,
) -> Result<Judgement, LookupError> {
    match rcode {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        ResponseCode::ServFail => return Err(LookupError::ServFail),
        code => return Err(LookupError::Rcode(code.to_string())),
    }
    let relevant = relevant_records(qname, qtype, answers);
    // A record synthesised from a wildcard (its RRSIG has fewer labels than its owner) is
    // proven only together with the NSEC/NSEC3 proof that no closer name exists (RFC 4035
    // §5.3.4, RFC 5155 §8.8): the validator's verdict on that proof decides. A record signed
    // under its own name needs no denial, whatever the validator thought of one.
    let synthesised = relevant
        .links
        .iter()
        .chain(relevant.rrset.iter())
        .any(|r| wildcard_expanded(r, answers));
    match nsec_proof {
        // hickory 0.26.3 calls an NSEC wildcard answer one label below the wildcard bogus
        // (it looks for an NSEC covering the wildcard's own name). The proof RFC 4035 §5.3.4
        // asks for is checked here instead: a secure NSEC of the signing zone covering the
        // next closer name. Without it, bogus.
        Some(Proof::Bogus)
            if synthesised && !wildcard_denial_proven(&relevant, answers, authorities) =>
        {
            return Err(LookupError::Bogus);
        }
        Some(Proof::Bogus) => {}
        Some(p) if synthesised && p != Proof::Secure => return Err(LookupError::Indeterminate),
        _ => {}
    }
    // Every link of the chain, and the final RRset, must carry a proof. A CNAME synthesised
    // from a DNAME (unsigned by design) carries the DNAME's.
    let chain_security = proof_security(relevant.links.iter().map(|l| dname_proven(l, answers)))?;
    let chain_ttl = relevant.links.iter().map(|r| r.ttl).min();
    if !relevant.rrset.is_empty() {
        let security = chain_security.and(proof_security(relevant.rrset.iter().copied())?);
        let ttl = relevant
            .links
            .iter()
            .chain(relevant.rrset.iter())
            .map(|r| r.ttl)
            .min()
            .unwrap_or(0);
        return Ok(Judgement::Answer(DnsAnswer {
            security,
            kind: AnswerKind::Records {
                owner: relevant.owner,
                cnames: relevant.cnames,
                ttl,
                rdata: relevant.rrset.iter().map(|r| r.data.clone()).collect(),
            },
        }));
    }
    if !relevant.cnames.is_empty() {
        // A proven chain without its end: the denial (if any) in this response is about
        // the target, which is judged on its own with a question of its own.
        return Ok(Judgement::Follow {
            cnames: relevant.cnames,
            security: chain_security,
            ttl: chain_ttl.unwrap_or(0),
        });
    }
    judge_denial(qname, rcode, authorities, nsec_proof).map(Judgement::Answer)
}

/// RFC 6672 §3.4, §5.3.1: a server answering through a DNAME adds the DNAME RRset (signed)
/// and a CNAME synthesised from it (unsigned). Such a CNAME is proven by the DNAME: when a
/// DNAME in `answers` owned by a proper ancestor of the CNAME's owner maps the owner onto
/// exactly the CNAME's target, the DNAME record stands in for the link (its proof is what
/// counts); otherwise the link itself.
fn dname_proven<'a>(link: &'a Record, answers: &'a [Record]) -> &'a Record {
    if matches!(link.proof, Proof::Secure | Proof::Insecure) {
        return link;
    }
    let RData::CNAME(target) = &link.data else {
        return link;
    };
    answers
        .iter()
        .find(|d| {
            let RData::Unknown { code, rdata } = &d.data else {
                return false;
            };
            if *code != RecordType::DNAME || d.name == link.name || !d.name.zone_of(&link.name) {
                return false;
            }
            // The DNAME target is never compressed on the wire (RFC 6672 §2.5).
            let Ok(dname_target) = Name::from_bytes(&rdata.anything) else {
                return false;
            };
            let keep = usize::from(link.name.num_labels() - d.name.num_labels());
            Name::from_labels(link.name.iter().take(keep))
                .and_then(|prefix| prefix.append_domain(&dname_target))
                .is_ok_and(|synthesised| synthesised == target.0)
        })
        .unwrap_or(link)
}

/// Whether an RRSIG in `answers` over `record`'s RRset was made for a wildcard (RFC 4034
/// §3.1.3: its labels field is smaller than the owner's label count).
fn wildcard_expanded(record: &Record, answers: &[Record]) -> bool {
    answers.iter().any(|r| match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => {
            r.name == record.name
                && sig.input().type_covered == record.record_type()
                && sig.input().num_labels < record.name.num_labels()
        }
        _ => false,
    })
}

/// RFC 4035 §5.3.4: every wildcard-synthesised record among the relevant ones comes with a
/// secure NSEC record of the zone that signed it, proving that the next closer name (the
/// query name cut one label below the wildcard's closest encloser) does not exist: its owner
/// sorts before that name and its next name after it (or wraps to the apex), and it is not a
/// parent-side NSEC of a delegation above the name (RFC 6840 §4.1).
fn wildcard_denial_proven(
    relevant: &Relevant<'_>,
    answers: &[Record],
    authorities: &[Record],
) -> bool {
    let mut any = false;
    for record in relevant.links.iter().chain(relevant.rrset.iter()) {
        for sig in answers.iter().filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig))
                if r.name == record.name
                    && sig.input().type_covered == record.record_type()
                    && sig.input().num_labels < record.name.num_labels() =>
            {
                Some(sig)
            }
            _ => None,
        }) {
            any = true;
            let zone = &sig.input().signer_name;
            let next_closer = record.name.trim_to(usize::from(sig.input().num_labels) + 1);
            if !zone.zone_of(&next_closer) {
                return false;
            }
            let covered = authorities.iter().any(|a| {
                let RData::DNSSEC(DNSSECRData::NSEC(nsec)) = &a.data else {
                    return false;
                };
                let (owner, next) = (&a.name, nsec.next_domain_name());
                let types = nsec.type_set();
                let delegation_above = types.contains(RecordType::NS)
                    && !types.contains(RecordType::SOA)
                    && owner.zone_of(&next_closer);
                a.proof == Proof::Secure
                    && zone.zone_of(owner)
                    && !delegation_above
                    && *owner < next_closer
                    && (next_closer < *next || (next <= owner && next == zone))
            });
            if !covered {
                return false;
            }
        }
    }
    any
}

/// A denial (NODATA or NXDOMAIN) for `last`, the last name asked.
pub(crate) fn judge_denial(
    last: &Name,
    rcode: ResponseCode,
    authorities: &[Record],
    nsec_proof: Option<Proof>,
) -> Result<DnsAnswer, LookupError> {
    match nsec_proof {
        Some(Proof::Bogus) => return Err(LookupError::Bogus),
        Some(Proof::Secure | Proof::Insecure) | None => {}
        Some(_) => return Err(LookupError::Indeterminate),
    }
    let mut soa: Option<&Record> = None;
    for r in authorities
        .iter()
        .filter(|r| matches!(r.data, RData::SOA(_)))
    {
        match soa {
            // Two SOA records of different zones, or with different proofs: which zone is
            // this denial from? Nothing can tell.
            Some(s) if s.name != r.name || s.proof != r.proof => {
                return Err(LookupError::Indeterminate);
            }
            _ => soa = Some(r),
        }
    }
    // No SOA: the response does not say which zone denies the name.
    let Some(soa) = soa else {
        return Err(LookupError::Indeterminate);
    };
    // The zone that denies the name must be the name's own zone or an ancestor's: an SOA of
    // any other zone proves nothing about this name (RFC 4035 §5.4).
    if !soa.name.zone_of(last) {
        return Err(LookupError::Indeterminate);
    }
    let denials: Vec<&Record> = authorities
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3))
        .collect();
    if denials.iter().any(|r| !soa.name.zone_of(&r.name)) {
        return Err(LookupError::Indeterminate);
    }
    if denials
        .iter()
        .chain(std::iter::once(&soa))
        .any(|r| r.proof == Proof::Bogus)
    {
        return Err(LookupError::Bogus);
    }
    let security = match soa.proof {
        // A secure denial needs its NSEC/NSEC3 proof, all secure, and checked by the
        // validator against the question (it reports a failed check as `nsec_proof`).
        Proof::Secure
            if !denials.is_empty()
                && denials.iter().all(|r| r.proof == Proof::Secure)
                && nsec_proof.is_none_or(|p| p == Proof::Secure) =>
        {
            Security::Secure
        }
        // Insecure: the validator found an insecure delegation at or above the SOA's owner,
        // which is at or above the name. Denial records of an insecure zone prove nothing
        // either way, but a secure one here would contradict the SOA.
        Proof::Insecure
            if denials.iter().all(|r| r.proof == Proof::Insecure)
                && nsec_proof.is_none_or(|p| p == Proof::Insecure) =>
        {
            Security::Insecure
        }
        _ => return Err(LookupError::Indeterminate),
    };
    let ttl = match &soa.data {
        // RFC 2308 §5: the smaller of the SOA's TTL and its MINIMUM field.
        RData::SOA(data) => soa.ttl.min(data.minimum),
        _ => 0,
    };
    let kind = if rcode == ResponseCode::NXDomain {
        AnswerKind::NxDomain { ttl }
    } else {
        AnswerKind::NoData { ttl }
    };
    Ok(DnsAnswer { security, kind })
}

/// Secure only if every record is secure; any bogus or indeterminate record fails.
pub(crate) fn proof_security<'a>(
    records: impl Iterator<Item = &'a Record>,
) -> Result<Security, LookupError> {
    let mut security = Security::Secure;
    for r in records {
        match r.proof {
            Proof::Secure => {}
            Proof::Insecure => security = Security::Insecure,
            Proof::Bogus => return Err(LookupError::Bogus),
            _ => return Err(LookupError::Indeterminate),
        }
    }
    Ok(security)
}

/// The records that answer a question: the CNAMEs of the chain and the `rtype` RRset at
/// its end.
pub(crate) struct Relevant<'a> {
    /// The end of the chain.
    pub(crate) owner: Name,
    /// The chain's names after the question's.
    pub(crate) cnames: Vec<Name>,
    /// The CNAME records of the chain.
    pub(crate) links: Vec<&'a Record>,
    /// The `rtype` records at `owner`.
    pub(crate) rrset: Vec<&'a Record>,
}

pub(crate) fn relevant_records<'a>(
    name: &Name,
    rtype: RecordType,
    answers: &'a [Record],
) -> Relevant<'a> {
    let mut owner = name.clone();
    let mut cnames: Vec<Name> = Vec::new();
    let mut links = Vec::new();
    // Bounded: a loop of CNAMEs cannot run forever.
    if rtype != RecordType::CNAME {
        for _ in 0..answers.len() {
            let next = answers.iter().find_map(|r| match &r.data {
                RData::CNAME(target) if r.name == owner => Some((r, target.0.clone())),
                _ => None,
            });
            match next {
                Some((link, target)) if target != *name && !cnames.contains(&target) => {
                    // Every CNAME record at this owner is part of the chain (several would
                    // be malformed; each must then carry a proof).
                    links.extend(
                        answers.iter().filter(|r| {
                            r.record_type() == RecordType::CNAME && r.name == link.name
                        }),
                    );
                    cnames.push(target.clone());
                    owner = target;
                }
                _ => break,
            }
        }
    }
    let rrset = answers
        .iter()
        .filter(|r| r.record_type() == rtype && r.name == owner)
        .collect();
    Relevant {
        owner,
        cnames,
        links,
        rrset,
    }
}

/// The validity window of the RRSIG that proved an RRset (RFC 4034 §3.1.5), from
/// [`ValidatingSource::signature_validity`](super::ValidatingSource::signature_validity) or
/// [`TrustedAdSource::signature_validity`](super::TrustedAdSource::signature_validity): for
/// monitoring when a zone must be re-signed (`danecheck audit`). It says nothing about the
/// RRset's security; it is only returned for an RRset that validated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignatureValidity {
    /// The signature's inception time.
    pub inception: SystemTime,
    /// The signature's expiration time: after it the RRset is bogus unless re-signed.
    pub expiration: SystemTime,
    /// The RRset's TTL in the zone (the RRSIG's original TTL field), which a cache may
    /// have lowered in the answer.
    pub original_ttl: u32,
    /// The zone that signed the RRset.
    pub signer: Name,
    /// The key tag of the signing key.
    pub key_tag: u16,
}

/// The validity of the RRSIG over `rtype` at `owner` among `answers` that expires last; with
/// `proven`, only an RRSIG the validator used for a secure proof counts.
pub(crate) fn signature_validity(
    owner: &Name,
    rtype: RecordType,
    answers: &[Record],
    proven: bool,
    now: SystemTime,
) -> Option<SignatureValidity> {
    answers
        .iter()
        .filter(|r| r.name == *owner && (!proven || r.proof == Proof::Secure))
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) if sig.input().type_covered == rtype => {
                let input = sig.input();
                Some(SignatureValidity {
                    inception: serial_time(input.sig_inception.get(), now),
                    expiration: serial_time(input.sig_expiration.get(), now),
                    original_ttl: input.original_ttl,
                    signer: input.signer_name.clone(),
                    key_tag: input.key_tag,
                })
            }
            _ => None,
        })
        .max_by_key(|v| v.expiration)
}

/// A 32-bit RRSIG time as the time nearest `now` with those low 32 bits (RFC 4034 §3.1.5:
/// serial number arithmetic, RFC 1982).
fn serial_time(serial: u32, now: SystemTime) -> SystemTime {
    let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // The low 32 bits of now; the difference read as a signed 32-bit offset.
    let offset = i64::from(serial.wrapping_sub(now_secs as u32) as i32);
    let secs = i64::try_from(now_secs)
        .unwrap_or(i64::MAX)
        .saturating_add(offset)
        .max(0);
    UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
}

/// For fuzzing and property tests only (not part of the API): reads `data` as a DNS message,
/// gives each record a validator proof chosen by the low bits of its TTL (0 secure, 1
/// insecure, 2 bogus, 3 indeterminate), and judges it as the answer to its first question
/// (or `_25._tcp.example.` TLSA), with an optional validator verdict on the denial from the
/// message ID. Returns `Ok` with what [`judge`] returned, rendered, or `Err` naming a broken
/// invariant (a fuzz target panics on it); `None` when `data` is not a DNS message.
#[doc(hidden)]
pub fn judge_wire_for_fuzzing(data: &[u8]) -> Option<Result<String, String>> {
    let mut message = hickory_proto::op::Message::from_vec(data).ok()?;
    let proof = |ttl: u32| match ttl & 3 {
        0 => Proof::Secure,
        1 => Proof::Insecure,
        2 => Proof::Bogus,
        _ => Proof::Indeterminate,
    };
    for r in message
        .answers
        .iter_mut()
        .chain(message.authorities.iter_mut())
    {
        r.proof = proof(r.ttl);
    }
    let (qname, qtype) = match message.queries.first() {
        Some(q) => (q.name().clone(), q.query_type()),
        None => (
            Name::from_ascii("_25._tcp.example.").ok()?,
            RecordType::TLSA,
        ),
    };
    let nsec_proof = match message.metadata.id % 5 {
        4 => None,
        n => Some(proof(u32::from(n))),
    };
    let judged = judge(
        &qname,
        qtype,
        message.metadata.response_code,
        &message.answers,
        &message.authorities,
        nsec_proof,
    );
    // The invariants the resolver relies on, checked on every input.
    if let Ok(Judgement::Answer(a)) = &judged {
        match &a.kind {
            AnswerKind::NoData { .. } | AnswerKind::NxDomain { .. } => {
                // A denial names an SOA at or above the question.
                let soa_ok = message
                    .authorities
                    .iter()
                    .any(|r| matches!(r.data, RData::SOA(_)) && r.name.zone_of(&qname));
                if !soa_ok {
                    return Some(Err(format!(
                        "a denial without an SOA at or above the name: {a:?}"
                    )));
                }
                if a.security == Security::Secure && nsec_proof.is_some_and(|p| p != Proof::Secure)
                {
                    return Some(Err(format!("a secure denial the validator refused: {a:?}")));
                }
            }
            AnswerKind::Records { rdata, .. } if rdata.is_empty() => {
                return Some(Err("a positive answer without records".into()));
            }
            AnswerKind::Records { .. } => {}
        }
    }
    Some(Ok(format!("{judged:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrsig_times_use_serial_arithmetic_rfc4034_3_1_5() {
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        let now = at(1_800_000_000);
        assert_eq!(serial_time(1_800_086_400, now), at(1_800_086_400));
        assert_eq!(serial_time(1_799_913_600, now), at(1_799_913_600));
        // After 2106 the 32-bit field wraps: the time nearest now.
        let later = at(u64::from(u32::MAX) + 100);
        assert_eq!(
            serial_time(1_000, later),
            at(u64::from(u32::MAX) + 1 + 1_000)
        );
        assert_eq!(
            serial_time(u32::MAX - 10, later),
            at(u64::from(u32::MAX) - 10)
        );
        // Never before the epoch.
        assert_eq!(serial_time(u32::MAX, at(5)), UNIX_EPOCH);
    }
    use hickory_proto::dnssec::rdata::{NSEC, RRSIG, SigInput};
    use hickory_proto::rr::rdata::{A, CNAME, SOA, TLSA};

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn rec(name: &str, data: RData, proof: Proof) -> Record {
        let mut r = Record::from_rdata(n(name), 300, data);
        r.proof = proof;
        r
    }

    fn tlsa() -> RData {
        RData::TLSA(TLSA::new(3.into(), 1.into(), 1.into(), vec![0; 32]))
    }

    fn soa(zone: &str, proof: Proof) -> Record {
        let data = SOA::new(n("ns.dane.test."), n("h.dane.test."), 1, 2, 3, 4, 60);
        rec(zone, RData::SOA(data), proof)
    }

    fn nsec(owner: &str, next: &str, proof: Proof) -> Record {
        let data = NSEC::new(n(next), [RecordType::A, RecordType::NSEC]);
        rec(owner, RData::DNSSEC(DNSSECRData::NSEC(data)), proof)
    }

    fn answer(j: Result<Judgement, LookupError>) -> Result<DnsAnswer, LookupError> {
        match j? {
            Judgement::Answer(a) => Ok(a),
            other => panic!("expected an answer, got {other:?}"),
        }
    }

    const Q: &str = "_25._tcp.mx.secure.dane.test.";

    fn deny(rcode: ResponseCode, auth: &[Record]) -> Result<DnsAnswer, LookupError> {
        answer(judge(&n(Q), RecordType::TLSA, rcode, &[], auth, None))
    }

    #[test]
    fn unrelated_insecure_records_do_not_downgrade_a_secure_answer() {
        let answers = [
            rec(Q, tlsa(), Proof::Secure),
            // Injected or merely unrelated: an RRset of an unsigned zone.
            rec(
                "junk.insecure.dane.test.",
                RData::A(A::new(192, 0, 2, 1)),
                Proof::Insecure,
            ),
        ];
        let a = answer(judge(
            &n(Q),
            RecordType::TLSA,
            ResponseCode::NoError,
            &answers,
            &[soa("insecure.dane.test.", Proof::Insecure)],
            None,
        ))
        .unwrap();
        assert_eq!(a.security, Security::Secure);
        assert!(matches!(a.kind, AnswerKind::Records { ref rdata, .. } if rdata.len() == 1));
    }

    #[test]
    fn an_insecure_link_of_the_cname_chain_makes_the_answer_insecure() {
        let q = n("_25._tcp.alias.example.");
        let target = n("_25._tcp.mx.unsigned.example.");
        let link = |p| {
            rec(
                "_25._tcp.alias.example.",
                RData::CNAME(CNAME(target.clone())),
                p,
            )
        };
        let answers = [
            link(Proof::Secure),
            rec("_25._tcp.mx.unsigned.example.", tlsa(), Proof::Insecure),
        ];
        let a = answer(judge(
            &q,
            RecordType::TLSA,
            ResponseCode::NoError,
            &answers,
            &[],
            None,
        ));
        assert_eq!(a.unwrap().security, Security::Insecure);
        let answers = [
            link(Proof::Secure),
            rec("_25._tcp.mx.unsigned.example.", tlsa(), Proof::Bogus),
        ];
        assert_eq!(
            answer(judge(
                &q,
                RecordType::TLSA,
                ResponseCode::NoError,
                &answers,
                &[],
                None
            )),
            Err(LookupError::Bogus)
        );
        // A chain without its end is followed with a question of its own.
        let answers = [link(Proof::Secure)];
        let j = judge(
            &q,
            RecordType::TLSA,
            ResponseCode::NoError,
            &answers,
            &[],
            None,
        );
        assert_eq!(
            j,
            Ok(Judgement::Follow {
                cnames: vec![target.clone()],
                security: Security::Secure,
                ttl: 300
            })
        );
        let answers = [link(Proof::Indeterminate)];
        let j = judge(
            &q,
            RecordType::TLSA,
            ResponseCode::NoError,
            &answers,
            &[],
            None,
        );
        assert_eq!(j, Err(LookupError::Indeterminate));
    }

    #[test]
    fn a_positive_response_without_the_records_proves_nothing() {
        let answers = [rec("other.dane.test.", tlsa(), Proof::Secure)];
        let j = judge(
            &n(Q),
            RecordType::TLSA,
            ResponseCode::NoError,
            &answers,
            &[],
            None,
        );
        assert_eq!(j, Err(LookupError::Indeterminate));
    }

    /// RFC 4035 §5.4, RFC 7672 §2.1.1: the SOA of an unrelated insecure zone proves nothing
    /// about a name in a signed zone (the forged-denial downgrade).
    #[test]
    fn rfc4035_5_4_denial_with_an_unrelated_insecure_soa_is_never_insecure() {
        for rcode in [ResponseCode::NXDomain, ResponseCode::NoError] {
            for zone in [
                "insecure.dane.test.",
                "x.insecure.dane.test.",
                "other.secure.dane.test.",
                "_26._tcp.mx.secure.dane.test.",
            ] {
                let r = deny(rcode, &[soa(zone, Proof::Insecure)]);
                assert_eq!(r, Err(LookupError::Indeterminate), "{zone} {rcode}");
            }
        }
    }

    #[test]
    fn rfc4035_5_2_insecure_denial_needs_an_insecure_soa_at_or_above_the_name() {
        let q = "_25._tcp.mx.insecure.dane.test.";
        for zone in ["insecure.dane.test.", q] {
            let a = answer(judge(
                &n(q),
                RecordType::TLSA,
                ResponseCode::NXDomain,
                &[],
                &[soa(zone, Proof::Insecure)],
                None,
            ))
            .unwrap();
            assert_eq!(a.security, Security::Insecure);
            assert_eq!(a.kind, AnswerKind::NxDomain { ttl: 60 });
        }
    }

    #[test]
    fn rfc4035_5_4_secure_denial_needs_secure_nsec_of_the_soa_zone() {
        let z = "secure.dane.test.";
        let good = [
            soa(z, Proof::Secure),
            nsec(
                "mx.secure.dane.test.",
                "notlsa.secure.dane.test.",
                Proof::Secure,
            ),
        ];
        let a = deny(ResponseCode::NoError, &good).unwrap();
        assert_eq!(a.security, Security::Secure);
        assert_eq!(a.kind, AnswerKind::NoData { ttl: 60 });
        // A secure SOA alone proves nothing.
        assert_eq!(
            deny(ResponseCode::NoError, &[soa(z, Proof::Secure)]),
            Err(LookupError::Indeterminate)
        );
        // NSEC of another zone.
        let other = [
            soa(z, Proof::Secure),
            nsec("a.rsa.dane.test.", "z.rsa.dane.test.", Proof::Secure),
        ];
        assert_eq!(
            deny(ResponseCode::NXDomain, &other),
            Err(LookupError::Indeterminate)
        );
        // A stripped or unvalidated NSEC.
        let unsigned = [
            soa(z, Proof::Secure),
            nsec(
                "mx.secure.dane.test.",
                "n.secure.dane.test.",
                Proof::Indeterminate,
            ),
        ];
        assert_eq!(
            deny(ResponseCode::NXDomain, &unsigned),
            Err(LookupError::Indeterminate)
        );
        // The validator found that the NSEC does not prove the denial.
        let j = judge(
            &n(Q),
            RecordType::TLSA,
            ResponseCode::NXDomain,
            &[],
            &good,
            Some(Proof::Bogus),
        );
        assert_eq!(answer(j), Err(LookupError::Bogus));
        // Mixed: secure SOA with an insecure NSEC, or insecure SOA with a secure NSEC.
        let mixed = [
            soa(z, Proof::Insecure),
            nsec("mx.secure.dane.test.", "n.secure.dane.test.", Proof::Secure),
        ];
        assert_eq!(
            deny(ResponseCode::NXDomain, &mixed),
            Err(LookupError::Indeterminate)
        );
    }

    #[test]
    fn two_zones_soa_or_no_soa_is_indeterminate_and_bogus_soa_is_bogus() {
        let two = [
            soa("secure.dane.test.", Proof::Insecure),
            soa("dane.test.", Proof::Insecure),
        ];
        assert_eq!(
            deny(ResponseCode::NXDomain, &two),
            Err(LookupError::Indeterminate)
        );
        assert_eq!(
            deny(ResponseCode::NXDomain, &[]),
            Err(LookupError::Indeterminate)
        );
        assert_eq!(
            deny(
                ResponseCode::NXDomain,
                &[soa("secure.dane.test.", Proof::Bogus)]
            ),
            Err(LookupError::Bogus)
        );
    }

    fn rrsig_over(owner: &str, covered: RecordType, labels: u8) -> Record {
        let input = SigInput {
            type_covered: covered,
            algorithm: hickory_proto::dnssec::Algorithm::ECDSAP256SHA256,
            num_labels: labels,
            original_ttl: 300,
            sig_expiration: 0.into(),
            sig_inception: 0.into(),
            key_tag: 1,
            signer_name: n("secure.dane.test."),
        };
        rec(
            owner,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![0; 64]))),
            Proof::Secure,
        )
    }

    /// RFC 4035 §5.3.4: a wildcard expansion stands only with its denial of the closer name; a
    /// replayed wildcard signature over a name that exists must not pass.
    #[test]
    fn rfc4035_5_3_4_wildcard_answer_needs_its_denial() {
        let answers = [
            rec(Q, tlsa(), Proof::Secure),
            rrsig_over(Q, RecordType::TLSA, 3),
        ];
        for (proof, want) in [
            (Some(Proof::Bogus), Err(LookupError::Bogus)),
            (Some(Proof::Indeterminate), Err(LookupError::Indeterminate)),
            (Some(Proof::Insecure), Err(LookupError::Indeterminate)),
        ] {
            let j = answer(judge(
                &n(Q),
                RecordType::TLSA,
                ResponseCode::NoError,
                &answers,
                &[],
                proof,
            ));
            assert_eq!(j, want, "{proof:?}");
        }
        let j = answer(judge(
            &n(Q),
            RecordType::TLSA,
            ResponseCode::NoError,
            &answers,
            &[],
            None,
        ));
        assert_eq!(j.unwrap().security, Security::Secure);
        // Signed under its own name (labels = owner's): the denial's verdict is irrelevant.
        let own = [
            rec(Q, tlsa(), Proof::Secure),
            rrsig_over(Q, RecordType::TLSA, 6),
        ];
        let j = judge(
            &n(Q),
            RecordType::TLSA,
            ResponseCode::NoError,
            &own,
            &[],
            Some(Proof::Bogus),
        );
        assert_eq!(answer(j).unwrap().security, Security::Secure);
        // A wildcard CNAME link is held to the same rule.
        let target = n("_25._tcp.mx.rsa.dane.test.");
        let chain = [
            rec(Q, RData::CNAME(CNAME(target)), Proof::Secure),
            rrsig_over(Q, RecordType::CNAME, 4),
        ];
        let j = judge(
            &n(Q),
            RecordType::TLSA,
            ResponseCode::NoError,
            &chain,
            &[],
            Some(Proof::Bogus),
        );
        assert_eq!(j, Err(LookupError::Bogus));
    }

    /// RFC 4035 §5.3.4 checked by the crate where hickory 0.26.3 calls a correct NSEC
    /// wildcard answer one label below the wildcard bogus; a missing, insecure, foreign or
    /// non-covering NSEC keeps it bogus.
    #[test]
    fn rfc4035_5_3_4_wildcard_one_label_below_proven_by_a_covering_nsec() {
        let q = "mx.wild.secure.dane.test.";
        let answers = [
            rec(q, RData::A(A::new(127, 0, 0, 1)), Proof::Secure),
            // Made for `*.wild.secure.dane.test.` (4 labels, the `*` not counted).
            rrsig_over(q, RecordType::A, 4),
        ];
        let judge_with = |auth: &[Record]| {
            answer(judge(
                &n(q),
                RecordType::A,
                ResponseCode::NoError,
                &answers,
                auth,
                Some(Proof::Bogus),
            ))
        };
        let covering = nsec(
            "*.wild.secure.dane.test.",
            "x.wild.secure.dane.test.",
            Proof::Secure,
        );
        assert_eq!(judge_with(&[covering]).unwrap().security, Security::Secure);
        // The wrap-around NSEC (next = the apex) covers names after its owner.
        let wrap = nsec(
            "*.wild.secure.dane.test.",
            "secure.dane.test.",
            Proof::Secure,
        );
        assert_eq!(judge_with(&[wrap]).unwrap().security, Security::Secure);
        for (auth, why) in [
            (vec![], "no NSEC"),
            (
                vec![nsec(
                    "*.wild.secure.dane.test.",
                    "x.wild.secure.dane.test.",
                    Proof::Insecure,
                )],
                "insecure NSEC",
            ),
            (
                vec![nsec("a.rsa.dane.test.", "z.rsa.dane.test.", Proof::Secure)],
                "NSEC of another zone",
            ),
            (
                vec![nsec(
                    "n.wild.secure.dane.test.",
                    "x.wild.secure.dane.test.",
                    Proof::Secure,
                )],
                "NSEC after the name",
            ),
            (
                vec![nsec(
                    "*.wild.secure.dane.test.",
                    "mx.wild.secure.dane.test.",
                    Proof::Secure,
                )],
                "NSEC ending at the name (it exists)",
            ),
        ] {
            assert_eq!(judge_with(&auth), Err(LookupError::Bogus), "{why}");
        }
        // A delegation NSEC above the name (parent side of a cut) proves nothing below it.
        let cut = {
            let data = NSEC::new(
                n("x.secure.dane.test."),
                [RecordType::NS, RecordType::RRSIG, RecordType::NSEC],
            );
            rec(
                "wild.secure.dane.test.",
                RData::DNSSEC(DNSSECRData::NSEC(data)),
                Proof::Secure,
            )
        };
        assert_eq!(judge_with(&[cut]), Err(LookupError::Bogus));
    }

    fn dname(owner: &str, target: &str, proof: Proof) -> Record {
        use hickory_proto::rr::rdata::NULL;
        use hickory_proto::serialize::binary::BinEncodable;
        let bytes = n(target).to_bytes().unwrap();
        let data = RData::Unknown {
            code: RecordType::DNAME,
            rdata: NULL::with(bytes),
        };
        rec(owner, data, proof)
    }

    /// RFC 6672 §5.3.1: a CNAME synthesised from a DNAME is proven by the DNAME, and only by
    /// a DNAME that maps the owner onto exactly that target.
    #[test]
    fn rfc6672_5_3_1_synthesised_cname_carries_the_dname_proof() {
        let q = "_25._tcp.mx.dn.secure.dane.test.";
        let target = "_25._tcp.mx.rsa.dane.test.";
        let chain = |dname_rec: Record, cname_target: &str| {
            vec![
                dname_rec,
                rec(q, RData::CNAME(CNAME(n(cname_target))), Proof::Bogus),
                rec(target, tlsa(), Proof::Secure),
            ]
        };
        let judge_chain = |answers: Vec<Record>| {
            answer(judge(
                &n(q),
                RecordType::TLSA,
                ResponseCode::NoError,
                &answers,
                &[],
                None,
            ))
        };
        let good = chain(
            dname("dn.secure.dane.test.", "rsa.dane.test.", Proof::Secure),
            target,
        );
        assert_eq!(judge_chain(good).unwrap().security, Security::Secure);
        let insecure = chain(
            dname("dn.secure.dane.test.", "rsa.dane.test.", Proof::Insecure),
            target,
        );
        assert_eq!(judge_chain(insecure).unwrap().security, Security::Insecure);
        for (answers, why) in [
            (
                chain(
                    dname("dn.secure.dane.test.", "rsa.dane.test.", Proof::Bogus),
                    target,
                ),
                "bogus DNAME",
            ),
            (
                chain(
                    dname("dn.secure.dane.test.", "rsa.dane.test.", Proof::Secure),
                    "_25._tcp.evil.rsa.dane.test.",
                ),
                "CNAME target not the DNAME's mapping",
            ),
            (
                chain(
                    dname("dn.secure.dane.test.", "other.dane.test.", Proof::Secure),
                    target,
                ),
                "DNAME to another target",
            ),
            (
                chain(
                    dname("other.secure.dane.test.", "rsa.dane.test.", Proof::Secure),
                    target,
                ),
                "DNAME not above the name",
            ),
        ] {
            assert_eq!(judge_chain(answers), Err(LookupError::Bogus), "{why}");
        }
    }

    #[test]
    fn error_rcodes_are_errors() {
        let j = judge(
            &n(Q),
            RecordType::TLSA,
            ResponseCode::ServFail,
            &[],
            &[],
            None,
        );
        assert_eq!(j, Err(LookupError::ServFail));
        let j = judge(
            &n(Q),
            RecordType::TLSA,
            ResponseCode::Refused,
            &[],
            &[],
            None,
        );
        assert!(matches!(j, Err(LookupError::Rcode(_))));
    }
}
