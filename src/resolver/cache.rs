//! The answer cache of a `TlsaResolver`: TTL-bounded, size-bounded, with concurrent
//! identical lookups coalesced into one query.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hickory_proto::rr::{Name, RecordType};
use tokio::sync::OnceCell;

use super::{AnswerKind, CacheLimits, DnsAnswer, LookupError};

type Key = (Name, RecordType);
type Answer = Result<Arc<DnsAnswer>, LookupError>;

struct Entry {
    answer: Answer,
    expires: Instant,
}

#[derive(Default)]
struct Inner {
    ready: HashMap<Key, Entry>,
    pending: HashMap<Key, Arc<OnceCell<Answer>>>,
}

/// One caller's claim on a pending lookup. Every clone and drop of a pending cell's `Arc`
/// happens under the cache lock, so the last waiter to leave sees a count of one (the map's)
/// and removes the entry: a lookup whose callers all gave up does not stay in `pending`.
struct Waiter<'a> {
    cache: &'a Cache,
    key: Key,
    cell: Option<Arc<OnceCell<Answer>>>,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let mut inner = self.cache.lock();
        if let Some(cell) = self.cell.take() {
            let ours = inner
                .pending
                .get(&self.key)
                .is_some_and(|c| Arc::ptr_eq(c, &cell));
            drop(cell);
            if ours
                && let Some(c) = inner.pending.get(&self.key)
                && Arc::strong_count(c) == 1
            {
                inner.pending.remove(&self.key);
            }
        }
    }
}

pub(super) struct Cache {
    limits: CacheLimits,
    inner: Mutex<Inner>,
}

impl Cache {
    pub(super) fn new(limits: CacheLimits) -> Self {
        Self {
            limits,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer, and when it leaves the cache.
    pub(super) async fn get_or_fetch<F, Fut>(
        &self,
        name: &Name,
        rtype: RecordType,
        fetch: F,
    ) -> (Answer, Instant)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Answer>,
    {
        // `Name`'s Hash and Eq ignore ASCII case: no lower-cased copy needed.
        let key = (name.clone(), rtype);
        let waiter = {
            let mut inner = self.lock();
            let now = Instant::now();
            match inner.ready.get(&key) {
                Some(e) if e.expires > now => return (e.answer.clone(), e.expires),
                Some(_) => {
                    inner.ready.remove(&key);
                }
                None => {}
            }
            // Cloned under the lock, like every copy of a pending cell (see `Waiter`).
            Waiter {
                cache: self,
                key: key.clone(),
                cell: Some(inner.pending.entry(key.clone()).or_default().clone()),
            }
        };
        // If this caller gives up (timeout, cancelled task) while waiting, `Waiter::drop`
        // removes the pending entry when nobody else waits for it.
        let Some(cell) = waiter.cell.as_ref() else {
            return (
                Err(LookupError::Other("no pending lookup".into())),
                Instant::now(),
            );
        };
        let answer = cell.get_or_init(fetch).await.clone();
        let lifetime = self.lifetime(&answer);
        let now = Instant::now();
        let expires = now.checked_add(lifetime).unwrap_or(now);
        let mut inner = self.lock();
        let ours = inner
            .pending
            .get(&key)
            .is_some_and(|c| Arc::ptr_eq(c, cell));
        if ours {
            inner.pending.remove(&key);
            if !lifetime.is_zero() {
                if inner.ready.len() >= self.limits.max_entries {
                    let now = Instant::now();
                    inner.ready.retain(|_, e| e.expires > now);
                    if inner.ready.len() >= self.limits.max_entries
                        && let Some(k) = inner.ready.keys().next().cloned()
                    {
                        inner.ready.remove(&k);
                    }
                }
                if self.limits.max_entries > 0 {
                    inner.ready.insert(
                        key,
                        Entry {
                            answer: answer.clone(),
                            expires,
                        },
                    );
                }
            }
        }
        (answer, expires)
    }

    /// Entries waiting for an answer (for tests of the bound).
    #[cfg(test)]
    fn pending_len(&self) -> usize {
        self.lock().pending.len()
    }

    /// (cached answers, pending lookups).
    pub(super) fn sizes(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.ready.len(), inner.pending.len())
    }

    fn lifetime(&self, answer: &Answer) -> Duration {
        match answer {
            Ok(a) => match a.kind {
                AnswerKind::Records { ttl, .. } => {
                    Duration::from_secs(u64::from(ttl)).min(self.limits.max_ttl)
                }
                AnswerKind::NoData { ttl } | AnswerKind::NxDomain { ttl } => {
                    Duration::from_secs(u64::from(ttl)).min(self.limits.max_negative_ttl)
                }
            },
            // Configuration and name errors are the caller's; do not remember them.
            Err(LookupError::Config(_) | LookupError::InvalidName(_)) => Duration::ZERO,
            Err(_) => self.limits.error_ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Callers that give up (a timeout, a cancelled task) leave nothing behind in `pending`.
    #[tokio::test]
    async fn abandoned_lookups_leave_no_pending_entries() {
        let cache = Cache::new(CacheLimits::default());
        for i in 0..1000 {
            let name = Name::from_ascii(format!("n{i}.example.")).unwrap();
            let never = cache.get_or_fetch(&name, RecordType::TLSA, std::future::pending);
            let r = tokio::time::timeout(Duration::from_micros(1), never).await;
            assert!(r.is_err());
        }
        assert_eq!(cache.pending_len(), 0);
        // Two waiters on one key: the entry stays while one still waits.
        let name = Name::from_ascii("shared.example.").unwrap();
        let first = cache.get_or_fetch(&name, RecordType::A, std::future::pending);
        let second = cache.get_or_fetch(&name, RecordType::A, std::future::pending);
        let mut first = Box::pin(first);
        let mut second = Box::pin(second);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        assert_eq!(cache.pending_len(), 1);
        drop(first);
        assert_eq!(cache.pending_len(), 1);
        drop(second);
        assert_eq!(cache.pending_len(), 0);
    }
}
