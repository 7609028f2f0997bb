//! Finished TLSA lookups keyed by the caller's own arguments, so that a cache hit needs no
//! name validation, no `Name`, no hashing of a `Name` and no RDATA conversion. An entry
//! never outlives the answer-cache entry it was built from (same expiry instant); errors are
//! not kept here (the answer cache remembers them).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::TlsaLookup;

struct Entry {
    port: u16,
    proto: Box<str>,
    lookup: TlsaLookup,
    expires: Instant,
}

pub(super) struct TlsaMemo {
    max_entries: usize,
    /// By host exactly as the caller wrote it (`&str` lookups, no allocation); a host has
    /// one entry per (port, protocol) it was asked for, usually one.
    by_host: Mutex<HashMap<Box<str>, Vec<Entry>>>,
}

impl TlsaMemo {
    pub(super) fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            by_host: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Vec<Entry>>> {
        self.by_host.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hosts with an entry.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    /// The lookup with its TTL counted down to what is left of it (RFC 2181 §8), and when
    /// it expires.
    pub(super) fn get(&self, port: u16, proto: &str, host: &str) -> Option<(TlsaLookup, Instant)> {
        let map = self.lock();
        let e = map
            .get(host)?
            .iter()
            .find(|e| e.port == port && &*e.proto == proto)?;
        let now = Instant::now();
        if e.expires <= now {
            return None;
        }
        let mut lookup = e.lookup.clone();
        if let TlsaLookup::Secure { ttl, .. } = &mut lookup {
            *ttl = (*ttl).min(super::remaining_secs(e.expires, now));
        }
        Some((lookup, e.expires))
    }

    pub(super) fn insert(
        &self,
        port: u16,
        proto: &str,
        host: &str,
        lookup: &TlsaLookup,
        expires: Instant,
    ) {
        let now = Instant::now();
        if self.max_entries == 0 || expires <= now {
            return;
        }
        let mut map = self.lock();
        if map.len() >= self.max_entries && !map.contains_key(host) {
            map.retain(|_, v| {
                v.retain(|e| e.expires > now);
                !v.is_empty()
            });
            if map.len() >= self.max_entries
                && let Some(k) = map.keys().next().cloned()
            {
                map.remove(&k);
            }
        }
        let entries = map.entry(host.into()).or_default();
        entries.retain(|e| !(e.port == port && &*e.proto == proto) && e.expires > now);
        entries.push(Entry {
            port,
            proto: proto.into(),
            lookup: lookup.clone(),
            expires,
        });
    }
}
