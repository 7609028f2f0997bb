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
        let cell = {
            let mut inner = self.lock();
            let now = Instant::now();
            match inner.ready.get(&key) {
                Some(e) if e.expires > now => return (e.answer.clone(), e.expires),
                Some(_) => {
                    inner.ready.remove(&key);
                }
                None => {}
            }
            inner.pending.entry(key.clone()).or_default().clone()
        };
        let answer = cell.get_or_init(fetch).await.clone();
        let lifetime = self.lifetime(&answer);
        let now = Instant::now();
        let expires = now.checked_add(lifetime).unwrap_or(now);
        let mut inner = self.lock();
        let ours = inner
            .pending
            .get(&key)
            .is_some_and(|c| Arc::ptr_eq(c, &cell));
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
