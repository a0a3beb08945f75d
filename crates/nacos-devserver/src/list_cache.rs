//! The rendered list answers of every service, kept within one budget of bytes.
//!
//! A list answer is rendered once per change and filter and then shared (see
//! [`Service::render`](crate::service::Service::render)). What is kept is bounded for the
//! whole server, not per service: many services, each listed with many cluster filters, cannot
//! grow memory past the budget. When an answer would exceed it, the least recently used
//! answers go first; a list that misses is rendered again, never refused.
//!
//! An answer is kept with the generation of the service state it was rendered from and is
//! served only while the service is at that generation: a change needs no visit here, the
//! stale answer is dropped when next looked up or when the budget needs its room.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use crate::service::{ListQuery, Rendered};

/// The budget when none is set: room for a few answers of services of 100,000 instances (about
/// 20 MB each) or thousands of ordinary ones, small beside what a developer machine has.
pub(crate) const DEFAULT_LIST_CACHE_MEMORY: usize = 128 << 20;

/// What keeping one answer costs beyond its bytes and its filter's: the key and the value,
/// the cache's own links and its hash table slot, rounded up.
const ENTRY_OVERHEAD: usize = 128;

/// Rendered list answers of all services, least recently used first out.
#[derive(Debug)]
pub(crate) struct ListCache {
    budget: usize,
    kept: Mutex<Kept>,
}

#[derive(Debug)]
struct Kept {
    answers: LruCache<Key, Answer>,
    /// What [`cost`] counts for every answer in `answers`; never above the budget.
    bytes: usize,
}

/// Which answer: the service (by [`ListCache::service_id`]) and the filters of the query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    service: u64,
    clusters: Box<str>,
    healthy_only: bool,
    cache_millis: u64,
}

#[derive(Debug)]
struct Answer {
    /// The generation of the service state it shows.
    generation: u64,
    rendered: Rendered,
}

fn cost(key: &Key, answer: &Answer) -> usize {
    answer.rendered.len() + key.clusters.len() + ENTRY_OVERHEAD
}

impl Key {
    fn new(service: u64, query: ListQuery<'_>) -> Key {
        Key {
            service,
            clusters: query.clusters.into(),
            healthy_only: query.healthy_only,
            cache_millis: query.cache_millis,
        }
    }
}

impl ListCache {
    /// A cache holding at most `budget` bytes of answers (counted with their bookkeeping).
    pub(crate) fn new(budget: usize) -> ListCache {
        ListCache {
            budget,
            kept: Mutex::new(Kept {
                answers: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// A number naming one service for the life of the process: never reused, unlike the
    /// address of a dropped service, so an answer can never be taken for another service's.
    pub(crate) fn service_id() -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    /// A poisoned lock is taken over: every change here is made in one step.
    fn lock(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer to `query` rendered from `service` at `generation`, when kept; marks it as
    /// just used. An answer of an older generation is dropped.
    pub(crate) fn get(
        &self,
        service: u64,
        generation: u64,
        query: ListQuery<'_>,
    ) -> Option<Rendered> {
        let key = Key::new(service, query);
        let mut kept = self.lock();
        let found = kept.answers.get(&key)?;
        if found.generation == generation {
            return Some(found.rendered.clone());
        }
        if found.generation < generation {
            if let Some((key, stale)) = kept.answers.pop_entry(&key) {
                kept.bytes -= cost(&key, &stale);
            }
        }
        None
    }

    /// Keeps `rendered`, the answer to `query` from `service` at `generation`, replacing an
    /// older one, and lets the least recently used answers go until the budget holds. Not
    /// kept: an answer larger than a quarter of the budget (one answer must not take the room
    /// of all the others; at the default budget, 32 MiB is a service of over 100,000
    /// instances) or older than the one kept (a newer answer is never shadowed).
    pub(crate) fn keep(
        &self,
        service: u64,
        generation: u64,
        query: ListQuery<'_>,
        rendered: Rendered,
    ) {
        let key = Key::new(service, query);
        let answer = Answer {
            generation,
            rendered,
        };
        let size = cost(&key, &answer);
        if size > self.budget / 4 {
            return;
        }
        let mut kept = self.lock();
        if let Some(found) = kept.answers.peek(&key) {
            if found.generation > generation {
                return;
            }
        }
        if let Some((key, replaced)) = kept.answers.push(key, answer) {
            kept.bytes -= cost(&key, &replaced);
        }
        kept.bytes += size;
        while kept.bytes > self.budget {
            let Some((key, evicted)) = kept.answers.pop_lru() else {
                break;
            };
            kept.bytes -= cost(&key, &evicted);
        }
    }

    /// The bytes counted for the answers kept now.
    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// How many answers are kept now.
    pub(crate) fn len(&self) -> usize {
        self.lock().answers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(clusters: &str) -> ListQuery<'_> {
        ListQuery {
            clusters,
            healthy_only: false,
            cache_millis: 10_000,
        }
    }

    fn answer(text: &str) -> Rendered {
        Rendered::new(format!("{{\"name\":\"{text}\",\"lastRefTime\":{}}}", i64::MIN).into_bytes())
    }

    fn text(rendered: &Rendered) -> String {
        String::from_utf8(rendered.with_stamp(7).to_vec()).unwrap()
    }

    #[test]
    fn serves_only_the_generation_it_was_rendered_from() {
        let cache = ListCache::new(1 << 20);
        cache.keep(1, 5, query(""), answer("a"));
        assert_eq!(
            text(&cache.get(1, 5, query("")).unwrap()),
            "{\"name\":\"a\",\"lastRefTime\":7}"
        );
        assert!(cache.get(2, 5, query("")).is_none(), "another service");
        assert!(cache.get(1, 5, query("c1")).is_none(), "another filter");
        assert!(cache.get(1, 4, query("")).is_none(), "an older state");
        assert_eq!(cache.len(), 1, "a newer answer stays");
        assert!(cache.get(1, 6, query("")).is_none(), "a newer state");
        assert_eq!(
            (cache.len(), cache.bytes()),
            (0, 0),
            "the stale answer is dropped"
        );
    }

    #[test]
    fn a_newer_answer_is_not_shadowed_by_an_older_one() {
        let cache = ListCache::new(1 << 20);
        cache.keep(1, 6, query(""), answer("new"));
        cache.keep(1, 5, query(""), answer("old"));
        assert!(text(&cache.get(1, 6, query("")).unwrap()).contains("new"));
        cache.keep(1, 7, query(""), answer("newer"));
        assert!(text(&cache.get(1, 7, query("")).unwrap()).contains("newer"));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn stays_within_the_budget_letting_the_least_recently_used_go() {
        let one = cost(
            &Key::new(0, query("")),
            &Answer {
                generation: 0,
                rendered: answer("s0"),
            },
        );
        let cache = ListCache::new(4 * one);
        for service in 0..4 {
            cache.keep(service, 0, query(""), answer(&format!("s{service}")));
        }
        assert_eq!((cache.len(), cache.bytes()), (4, 4 * one));
        // Service 0 used again: service 1 is now the least recently used.
        assert!(cache.get(0, 0, query("")).is_some());
        cache.keep(4, 0, query(""), answer("s4"));
        assert_eq!((cache.len(), cache.bytes()), (4, 4 * one));
        assert!(cache.get(1, 0, query("")).is_none());
        for service in [0, 2, 3, 4] {
            assert!(
                text(&cache.get(service, 0, query("")).unwrap()).contains(&format!("s{service}"))
            );
        }
    }

    #[test]
    fn an_answer_larger_than_a_quarter_of_the_budget_is_not_kept() {
        let cache = ListCache::new(4 * 1024);
        cache.keep(1, 0, query(""), answer(&"x".repeat(1024)));
        assert_eq!((cache.len(), cache.bytes()), (0, 0));
        cache.keep(1, 0, query(""), answer(&"x".repeat(512)));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn ids_are_never_reused() {
        let a = ListCache::service_id();
        let b = ListCache::service_id();
        assert_ne!(a, b);
    }
}
