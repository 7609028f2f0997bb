//! TLSA RRsets: which records are usable (RFC 7671 §4) and digest algorithm agility
//! (RFC 7671 §9).

use crate::cert::CertView;
use crate::der;
use crate::record::{CertUsage, Matching, Selector, Tlsa};
use crate::verify::Policy;

/// Why a record of a [`TlsaSet`] will not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unusable {
    /// The certificate usage is unknown or private (RFC 7671 §4).
    UnknownUsage,
    /// The selector is unknown or private.
    UnknownSelector,
    /// The matching type is unknown or private.
    UnknownMatching,
    /// The digest has the wrong length for its matching type (RFC 6698 §2.1.3): it could
    /// never match.
    BadDigestLength,
    /// Full(0) data that is not a DER certificate (selector 0) or SubjectPublicKeyInfo
    /// (selector 1).
    MalformedData,
    /// The digest is not in the set's digest order, so this verifier does not support it.
    UnsupportedDigest,
    /// A stronger digest was published for the same usage and selector (RFC 7671 §9).
    WeakerDigest,
}

/// Whether a record of a [`TlsaSet`] is used by the matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordStatus {
    /// The record takes part in matching (subject to the [`Policy`], which can exclude
    /// PKIX usages).
    Usable,
    /// The record is ignored, and why.
    Unusable(Unusable),
}

/// The digest order used when none is given: SHA2-512 over SHA2-256 (RFC 7671 §9), the same
/// as OpenSSL's defaults.
pub const DEFAULT_DIGEST_ORDER: &[Matching] = &[Matching::Sha512, Matching::Sha256];

/// A TLSA RRset, with each record's usability decided once at construction.
///
/// Construction applies RFC 7671 §4 (records with unknown or private parameters, bad digest
/// lengths or malformed full data are unusable) and RFC 7671 §9 digest agility: for each
/// (usage, selector) pair only the records with the strongest supported digest among those
/// published are used. Full(0) records are exact data, not digests, and are never dropped by
/// agility (OpenSSL does the same).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsaSet {
    records: Vec<Tlsa>,
    status: Vec<RecordStatus>,
    /// Indexes of the usable records, grouped by usage (index = usage value 0..=3), so the
    /// matcher visits only what it can use.
    by_usage: [Vec<usize>; 4],
}

impl TlsaSet {
    /// A set using [`DEFAULT_DIGEST_ORDER`].
    pub fn new(records: impl IntoIterator<Item = Tlsa>) -> Self {
        Self::with_digest_order(records, DEFAULT_DIGEST_ORDER)
    }

    /// A set whose supported digests are `order`, strongest first. A digest not listed is
    /// unsupported, so its records are unusable.
    pub fn with_digest_order(records: impl IntoIterator<Item = Tlsa>, order: &[Matching]) -> Self {
        let records: Vec<Tlsa> = records.into_iter().collect();
        let rank = |m: Matching| order.iter().position(|o| *o == m);
        let mut status: Vec<RecordStatus> = records
            .iter()
            .map(|r| match intrinsic_check(r) {
                Err(why) => RecordStatus::Unusable(why),
                Ok(()) if r.matching() != Matching::Full && rank(r.matching()).is_none() => {
                    RecordStatus::Unusable(Unusable::UnsupportedDigest)
                }
                Ok(()) => RecordStatus::Usable,
            })
            .collect();
        // RFC 7671 §9: per (usage, selector), keep only the best-ranked digest present.
        for i in 0..records.len() {
            let r = &records[i];
            if status[i] != RecordStatus::Usable || r.matching() == Matching::Full {
                continue;
            }
            let my_rank = rank(r.matching());
            let stronger_exists = records.iter().zip(&status).any(|(o, s)| {
                *s == RecordStatus::Usable
                    && o.usage() == r.usage()
                    && o.selector() == r.selector()
                    && o.matching() != Matching::Full
                    && rank(o.matching()) < my_rank
            });
            if stronger_exists {
                status[i] = RecordStatus::Unusable(Unusable::WeakerDigest);
            }
        }
        let mut by_usage: [Vec<usize>; 4] = Default::default();
        for (i, (r, st)) in records.iter().zip(&status).enumerate() {
            if *st == RecordStatus::Usable
                && let Some(list) = by_usage.get_mut(usize::from(u8::from(r.usage())))
            {
                list.push(i);
            }
        }
        Self {
            records,
            status,
            by_usage,
        }
    }

    /// Feeds the records and their status (which reflects the digest order) into `h`.
    #[cfg(feature = "rustls")]
    pub(crate) fn digest_into(&self, h: &mut sha2::Sha256) {
        use sha2::Digest;
        h.update((self.records.len() as u64).to_be_bytes());
        for (r, status) in self.records.iter().zip(&self.status) {
            h.update([
                u8::from(r.usage()),
                u8::from(r.selector()),
                u8::from(r.matching()),
                u8::from(*status == RecordStatus::Usable),
            ]);
            h.update((r.data().len() as u64).to_be_bytes());
            h.update(r.data());
        }
    }

    /// All records, usable or not, in the order given.
    pub fn records(&self) -> &[Tlsa] {
        &self.records
    }

    /// Each record with its status.
    pub fn iter(&self) -> impl Iterator<Item = (&Tlsa, RecordStatus)> {
        self.records.iter().zip(self.status.iter().copied())
    }

    /// The status of record `index`.
    pub fn status(&self, index: usize) -> Option<RecordStatus> {
        self.status.get(index).copied()
    }

    /// Number of records (usable or not).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the set has no records at all.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records `policy` lets the matcher use, with their index in the set.
    pub fn usable<'s, 'p>(
        &'s self,
        policy: &'p Policy,
    ) -> impl Iterator<Item = (usize, &'s Tlsa)> + use<'s, 'p> {
        self.records
            .iter()
            .zip(&self.status)
            .enumerate()
            .filter(move |(_, (r, s))| {
                **s == RecordStatus::Usable && policy.allows_usage(r.usage())
            })
            .map(|(i, (r, _))| (i, r))
    }

    /// The usable records of one usage (policy not applied), with their index.
    pub(crate) fn usable_of(&self, usage: CertUsage) -> impl Iterator<Item = (usize, &Tlsa)> {
        let list = match usage {
            CertUsage::PkixTa => &self.by_usage[0],
            CertUsage::PkixEe => &self.by_usage[1],
            CertUsage::DaneTa => &self.by_usage[2],
            CertUsage::DaneEe => &self.by_usage[3],
            _ => &self.by_usage[0][..0],
        };
        list.iter()
            .filter_map(|&i| self.records.get(i).map(|r| (i, r)))
    }

    /// Whether records of `usage` are usable under `policy`.
    pub(crate) fn has_usable_of(&self, usage: CertUsage, policy: &Policy) -> bool {
        policy.allows_usage(usage) && self.usable_of(usage).next().is_some()
    }

    /// Whether at least one record is usable under `policy`. When not, RFC 7672 §2.2 and
    /// RFC 7671 §4 say DANE authentication is not possible; what follows (fail,
    /// unauthenticated TLS, another verifier) is the caller's choice.
    pub fn has_usable(&self, policy: &Policy) -> bool {
        [
            CertUsage::DaneEe,
            CertUsage::DaneTa,
            CertUsage::PkixEe,
            CertUsage::PkixTa,
        ]
        .into_iter()
        .any(|u| self.has_usable_of(u, policy))
    }
}

impl FromIterator<Tlsa> for TlsaSet {
    fn from_iter<I: IntoIterator<Item = Tlsa>>(iter: I) -> Self {
        Self::new(iter)
    }
}

fn intrinsic_check(r: &Tlsa) -> Result<(), Unusable> {
    if !matches!(
        r.usage(),
        CertUsage::PkixTa | CertUsage::PkixEe | CertUsage::DaneTa | CertUsage::DaneEe
    ) {
        return Err(Unusable::UnknownUsage);
    }
    if !matches!(r.selector(), Selector::Cert | Selector::Spki) {
        return Err(Unusable::UnknownSelector);
    }
    match r.matching() {
        Matching::Full => {
            // Like OpenSSL's SSL_dane_tlsa_add: full data must decode as what it claims.
            let ok = match r.selector() {
                Selector::Cert => CertView::parse(r.data()).is_ok(),
                _ => der::spki_contents(r.data()).is_ok(),
            };
            if ok {
                Ok(())
            } else {
                Err(Unusable::MalformedData)
            }
        }
        m => match m.digest_len() {
            Some(len) if len == r.data().len() => Ok(()),
            Some(_) => Err(Unusable::BadDigestLength),
            None => Err(Unusable::UnknownMatching),
        },
    }
}
