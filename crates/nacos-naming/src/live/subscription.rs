//! The subscription registry: which services are watched, by which listeners, what is known
//! of each, and when each is polled next.
//!
//! Every list that reaches a subscriber, polled, pushed or read from the disk cache, goes
//! through [`Registry::apply`]: drop it if it is older than what is held, compute the change
//! ([`ServiceEvent::between`]), store it, queue the event for each listener. One place decides
//! what changed, under one lock, so listeners see changes in the order they were applied.
//!
//! Pushes are ordered by their `lastRefTime`, which a sender sets as it likes: a push stamped
//! more than [`FUTURE_TOLERANCE_MS`] ahead of this host's clock is dropped (an `i64::MAX` would
//! otherwise make every genuine push look older), and a held list stamped that far ahead
//! orders nothing. A push that lies within the tolerance is undone by the next poll, which
//! always wins.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::deadline;
use crate::live::disk_cache::DiskCache;
use crate::live::held::{HeldList, HeldLists};
use crate::live::notifier::{Listener, Notifier};
use crate::service_event::ServiceEvent;
use crate::service_info::ServiceInfo;

/// Identifies one subscription's listener, to [`unsubscribe`](crate::NamingClient::unsubscribe)
/// it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(pub(crate) u64);

/// What a subscription watches: a service in a namespace and group, filtered to clusters.
/// (`Hash` is implemented in `held`, alike for the owned and the borrowed form.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubscriptionKey {
    /// The namespace id; `None` for the server's default (none sent).
    pub(crate) namespace: Option<String>,
    pub(crate) group: String,
    pub(crate) service: String,
    /// Cluster names sorted, without duplicates, comma-separated; empty for all clusters.
    pub(crate) clusters: String,
}

impl SubscriptionKey {
    pub(crate) fn new<S: AsRef<str>>(
        namespace: Option<&str>,
        group: &str,
        service: &str,
        clusters: impl IntoIterator<Item = S>,
    ) -> SubscriptionKey {
        SubscriptionKey {
            namespace: namespace.map(str::to_owned),
            group: group.to_owned(),
            service: service.to_owned(),
            clusters: canonical_clusters(clusters),
        }
    }

    /// The clusters as a list.
    pub(crate) fn cluster_list(&self) -> Vec<String> {
        if self.clusters.is_empty() {
            Vec::new()
        } else {
            self.clusters.split(',').map(str::to_owned).collect()
        }
    }

    /// `group@@service`.
    pub(crate) fn grouped_name(&self) -> String {
        crate::service_info::grouped_name(&self.group, &self.service)
    }
}

/// Sorted, without duplicates or blanks, comma-separated: how the same set is always written.
pub(crate) fn canonical_clusters<S: AsRef<str>>(clusters: impl IntoIterator<Item = S>) -> String {
    let mut clusters = clusters.into_iter().peekable();
    // The common case, every cluster, allocates nothing (a pick calls this each time).
    if clusters.peek().is_none() {
        return String::new();
    }
    let mut list: Vec<String> = clusters
        .flat_map(|c| {
            c.as_ref()
                .split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty())
        .collect();
    list.sort();
    list.dedup();
    list.join(",")
}

/// How far ahead of this host's clock a push may be stamped: clocks kept by NTP differ by far
/// less. A server whose clock is further ahead has its pushes dropped, and its lists arrive by
/// polling instead.
pub(crate) const FUTURE_TOLERANCE_MS: i64 = 60_000;

/// This host's clock in epoch milliseconds, as servers stamp lists.
pub(crate) fn now_millis() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// How lists are accepted and polled.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// Whether an empty list from a server replaces a non-empty one (and is delivered).
    pub(crate) deliver_empty: bool,
    /// Poll every this often instead of the server's `cacheMillis`.
    pub(crate) poll_interval: Option<Duration>,
    /// The longest wait between polls of a service whose polls fail.
    pub(crate) max_backoff: Duration,
}

/// Where a list came from: it decides which lists count as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The answer to a poll started at the given push count of the service.
    Poll { pushes_before: u64 },
    /// A server's push.
    Push,
    /// The disk cache, used while no server answers.
    Cache,
}

/// What [`Registry::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The service is no longer subscribed.
    Unknown,
    /// Older than what is held, or an empty list not to be delivered: ignored.
    Ignored,
    /// Stored; nothing changed for listeners.
    Unchanged,
    /// Stored and listeners notified.
    Changed,
}

/// A poll to make now.
#[derive(Debug, Clone)]
pub(crate) struct PollTicket {
    pub(crate) key: SubscriptionKey,
    pushes_before: u64,
}

impl PollTicket {
    /// Ends a poll whose handling panicked: its answer counts as a failure.
    pub(crate) fn after_panic(key: SubscriptionKey) -> PollTicket {
        PollTicket {
            key,
            pushes_before: 0,
        }
    }
}

struct Entry {
    listeners: Vec<ListenerId>,
    /// The newest list; listeners' mailboxes share it rather than copy it.
    held: Option<Arc<ServiceInfo>>,
    /// A list from the disk cache, served only while no server has answered.
    cached: Option<ServiceInfo>,
    next_poll: Instant,
    polling: bool,
    failures: u32,
    pushes: u64,
}

#[derive(Default)]
struct State {
    entries: HashMap<SubscriptionKey, Entry>,
    /// Changes applied so far: orders the disk cache's writes.
    changes: u64,
    listener_keys: HashMap<ListenerId, SubscriptionKey>,
    stopping: bool,
}

/// The registry, shared by the client, the poll thread and the push receiver.
pub(crate) struct Registry {
    state: Mutex<State>,
    /// Wakes the poll thread: a new service to poll, or stop.
    poll_wake: Condvar,
    notifier: Notifier,
    policy: Policy,
    cache: Option<Arc<DiskCache>>,
    /// The change last written to the disk cache, per subscription.
    cache_written: Mutex<HashMap<SubscriptionKey, u64>>,
    /// The held lists prepared for picks, changed under `state`'s lock as `held` changes.
    held_lists: Arc<HeldLists>,
}

impl Registry {
    pub(crate) fn new(
        policy: Policy,
        notify_threads: usize,
        cache: Option<Arc<DiskCache>>,
    ) -> Registry {
        Registry {
            state: Mutex::new(State::default()),
            poll_wake: Condvar::new(),
            notifier: Notifier::new(notify_threads),
            policy,
            cache,
            cache_written: Mutex::default(),
            held_lists: Arc::default(),
        }
    }

    /// Prepares the lists for picks in `lists` (which the owner reads without this registry's
    /// lock) instead of a map of its own.
    pub(crate) fn holding_lists_in(mut self, lists: Arc<HeldLists>) -> Registry {
        self.held_lists = lists;
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock; a panic here leaves consistent data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `listener` to `key`'s subscription, creating it (polled at once) if new. A listener
    /// joining a service already known gets the current list as its first event.
    /// `cached` is the disk cache's list for `key`, read only when the subscription is new.
    pub(crate) fn subscribe(
        &self,
        key: SubscriptionKey,
        id: ListenerId,
        listener: Arc<Listener>,
        cached: impl FnOnce() -> Option<ServiceInfo>,
    ) {
        let mut state = self.lock();
        if state.stopping {
            return;
        }
        self.notifier.add(id, listener);
        state.listener_keys.insert(id, key.clone());
        let is_new = !state.entries.contains_key(&key);
        let entry = state.entries.entry(key).or_insert_with(|| Entry {
            listeners: Vec::new(),
            held: None,
            cached: cached(),
            next_poll: Instant::now(),
            polling: false,
            failures: 0,
            pushes: 0,
        });
        entry.listeners.push(id);
        if let Some(held) = &entry.held {
            self.notifier.send(id, held.clone());
        }
        if is_new {
            self.poll_wake.notify_all();
        }
    }

    /// Removes listeners: `id` alone, or every listener of the keys `matches` selects. A
    /// subscription left without listeners is dropped and no longer polled. Returns whether
    /// no subscription is left.
    pub(crate) fn unsubscribe(
        &self,
        id: Option<ListenerId>,
        matches: impl Fn(&SubscriptionKey) -> bool,
    ) -> bool {
        let mut state = self.lock();
        let state = &mut *state;
        let ids: Vec<ListenerId> = match id {
            Some(id) => state
                .listener_keys
                .get(&id)
                .filter(|key| matches(key))
                .map(|_| vec![id])
                .unwrap_or_default(),
            None => state
                .listener_keys
                .iter()
                .filter(|(_, key)| matches(key))
                .map(|(id, _)| *id)
                .collect(),
        };
        for id in ids {
            self.notifier.remove(id);
            let Some(key) = state.listener_keys.remove(&id) else {
                continue;
            };
            if let Some(entry) = state.entries.get_mut(&key) {
                entry.listeners.retain(|l| *l != id);
                if entry.listeners.is_empty() {
                    state.entries.remove(&key);
                    self.held_lists.set(&key, None);
                }
            }
        }
        state.entries.is_empty()
    }

    /// The list held for `key`, if subscribed and known.
    pub(crate) fn held(&self, key: &SubscriptionKey) -> Option<ServiceInfo> {
        self.lock()
            .entries
            .get(key)
            .and_then(|e| e.held.as_deref().cloned())
    }

    /// The subscriptions `matches` selects.
    pub(crate) fn keys(&self, matches: impl Fn(&SubscriptionKey) -> bool) -> Vec<SubscriptionKey> {
        self.lock()
            .entries
            .keys()
            .filter(|k| matches(k))
            .cloned()
            .collect()
    }

    /// The keys and lists of every subscribed service (for the push `dump` answer).
    pub(crate) fn snapshot(&self) -> Vec<(SubscriptionKey, Option<ServiceInfo>)> {
        self.lock()
            .entries
            .iter()
            .map(|(k, e)| (k.clone(), e.held.as_deref().cloned()))
            .collect()
    }

    /// The one path of every list to the listeners. See the module docs.
    pub(crate) fn apply(&self, key: &SubscriptionKey, new: ServiceInfo, origin: Origin) -> Applied {
        let mut state = self.lock();
        let Some(entry) = state.entries.get_mut(key) else {
            return Applied::Unknown;
        };
        let horizon = now_millis().saturating_add(FUTURE_TOLERANCE_MS);
        if origin == Origin::Push && new.last_ref_time > horizon {
            log::debug!(
                "dropped a push for {} stamped {} ms ahead of this host's clock",
                key.grouped_name(),
                new.last_ref_time
                    .saturating_sub(horizon - FUTURE_TOLERANCE_MS)
            );
            return Applied::Ignored;
        }
        if let Some(held) = &entry.held {
            let older = held.last_ref_time <= horizon && new.last_ref_time < held.last_ref_time;
            let stale = match origin {
                // A poll answer is the freshest list of the server that gave it, unless a
                // push came in while it was on its way and is newer still. Comparing polls
                // with each other by time would trust the clocks of two servers to agree.
                Origin::Poll { pushes_before } => pushes_before != entry.pushes && older,
                Origin::Push => older,
                Origin::Cache => true,
            };
            if stale {
                return Applied::Ignored;
            }
        }
        if new.hosts.is_empty()
            && !self.policy.deliver_empty
            && entry.held.as_ref().is_none_or(|h| !h.hosts.is_empty())
        {
            return Applied::Ignored;
        }
        if origin == Origin::Push {
            entry.pushes += 1;
        }
        let changed = entry
            .held
            .as_deref()
            .is_none_or(|held| ServiceEvent::differs(held, &new));
        if entry
            .held
            .as_ref()
            .is_none_or(|held| held.hosts != new.hosts)
        {
            let list = HeldList::new(new.hosts.iter().cloned());
            self.held_lists.set(key, Some(list));
        }
        let new = Arc::new(new);
        entry.held = Some(new.clone());
        if !changed {
            return Applied::Unchanged;
        }
        // Each listener is told what changed since the list it last received, when it is
        // called: until then its mailbox shares this list.
        for id in &entry.listeners {
            self.notifier.send(*id, new.clone());
        }
        state.changes += 1;
        let change = state.changes;
        drop(state);
        if origin != Origin::Cache {
            self.write_cache(key, &new, change);
        }
        Applied::Changed
    }

    /// Writes change number `change` of `key` to the disk cache, unless a later change was
    /// written already. Written on the receiving thread after the listeners were queued (a
    /// slow disk delays the next list, never this event); the poll and push threads may race
    /// here, so the change number, not the order of arrival, decides what stays on disk.
    fn write_cache(&self, key: &SubscriptionKey, service: &ServiceInfo, change: u64) {
        let Some(cache) = &self.cache else {
            return;
        };
        let mut written = self.cache_written.lock().unwrap_or_else(|e| e.into_inner());
        if written.get(key).is_some_and(|done| *done > change) {
            return;
        }
        match cache.write(key, service) {
            Ok(()) => {
                written.insert(key.clone(), change);
            }
            Err(e) => log::warn!("cannot cache the list of {}: {e}", key.grouped_name()),
        }
    }

    /// Waits until a subscribed service is due for a poll, and hands it out; `None` once the
    /// registry is stopping.
    pub(crate) fn next_poll(&self) -> Option<PollTicket> {
        let mut state = self.lock();
        loop {
            if state.stopping {
                return None;
            }
            let now = Instant::now();
            let due = state
                .entries
                .iter()
                .filter(|(_, e)| !e.polling)
                .min_by_key(|(_, e)| e.next_poll)
                .map(|(k, e)| (k.clone(), e.next_poll));
            match due {
                Some((key, at)) if at <= now => {
                    let entry = state.entries.get_mut(&key).expect("just found");
                    entry.polling = true;
                    return Some(PollTicket {
                        pushes_before: entry.pushes,
                        key,
                    });
                }
                Some((_, at)) => {
                    state = self
                        .poll_wake
                        .wait_timeout(state, at - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                None => {
                    state = self
                        .poll_wake
                        .wait(state)
                        .unwrap_or_else(|e| e.into_inner())
                }
            }
        }
    }

    /// Takes the result of the poll `ticket` stood for: applies the list and schedules the next
    /// poll at the service's `cacheMillis` (or the configured interval), or, on an error, backs
    /// off and, while no server has answered yet, serves the disk cache's list.
    pub(crate) fn poll_done(
        &self,
        ticket: PollTicket,
        result: Result<ServiceInfo, crate::Error>,
    ) -> Applied {
        let interval = |cache_millis: Option<u64>| match (self.policy.poll_interval, cache_millis) {
            (Some(configured), _) => configured,
            // Servers say 3000 or 10000; guard against a 0 that would spin and a huge value
            // that would stall.
            (None, Some(ms)) => Duration::from_millis(ms.clamp(1000, 60_000)),
            (None, None) => Duration::from_secs(10),
        };
        let key = ticket.key;
        match result {
            Ok(service) => {
                let next = interval(Some(service.cache_millis));
                let applied = self.apply(
                    &key,
                    service,
                    Origin::Poll {
                        pushes_before: ticket.pushes_before,
                    },
                );
                if let Some(entry) = self.lock().entries.get_mut(&key) {
                    entry.polling = false;
                    entry.failures = 0;
                    entry.cached = None;
                    entry.next_poll = deadline::from_now(next);
                }
                applied
            }
            Err(e) => {
                let mut state = self.lock();
                let Some(entry) = state.entries.get_mut(&key) else {
                    return Applied::Unknown;
                };
                entry.polling = false;
                entry.failures = entry.failures.saturating_add(1);
                let base = interval(entry.held.as_ref().map(|h| h.cache_millis));
                let backoff = base
                    .saturating_mul(1 << (entry.failures - 1).min(16))
                    .min(self.policy.max_backoff.max(base));
                entry.next_poll = deadline::from_now(backoff);
                if entry.failures == 1 {
                    log::warn!("polling {} failed, retrying: {e}", key.grouped_name());
                } else {
                    log::debug!("polling {} failed again: {e}", key.grouped_name());
                }
                let cached = if entry.held.is_none() {
                    entry.cached.take()
                } else {
                    None
                };
                drop(state);
                match cached {
                    Some(cached) => self.apply(&key, cached, Origin::Cache),
                    None => Applied::Ignored,
                }
            }
        }
    }

    /// Makes the services `matches` selects due for a poll now.
    pub(crate) fn poll_soon(&self, matches: impl Fn(&SubscriptionKey) -> bool) {
        let mut state = self.lock();
        let now = Instant::now();
        for (_, entry) in state.entries.iter_mut().filter(|(k, _)| matches(k)) {
            entry.next_poll = entry.next_poll.min(now);
        }
        self.poll_wake.notify_all();
    }

    /// Drops every subscription and stops the notify threads, waiting at most `timeout` for
    /// listeners still running; the poll thread returns from [`Registry::next_poll`]. Returns
    /// the names of the threads that did not stop in time.
    pub(crate) fn stop(&self, timeout: Duration) -> Vec<String> {
        {
            let mut state = self.lock();
            state.stopping = true;
            state.entries.clear();
            state.listener_keys.clear();
            self.held_lists.clear();
        }
        self.poll_wake.notify_all();
        self.notifier.stop(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::Instance;
    use crate::Error;
    use std::sync::mpsc;

    const WAIT: Duration = Duration::from_secs(5);

    fn policy() -> Policy {
        Policy {
            deliver_empty: true,
            poll_interval: None,
            max_backoff: Duration::from_secs(60),
        }
    }

    fn key() -> SubscriptionKey {
        SubscriptionKey::new(None, "G", "svc", ["b", "a"])
    }

    fn list(ports: &[u16], at: i64) -> ServiceInfo {
        let mut s = ServiceInfo::new("svc", "G");
        s.hosts = ports.iter().map(|p| Instance::new("h", *p)).collect();
        s.last_ref_time = at;
        s
    }

    type Seen = mpsc::Receiver<(Vec<u16>, Vec<u16>, Vec<u16>)>;

    fn recorder() -> (Arc<Listener>, Seen) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let ports = |v: &[Instance]| v.iter().map(|i| i.port).collect::<Vec<_>>();
        let listener: Arc<Listener> = Arc::new(move |e: &ServiceEvent| {
            let seen = (ports(&e.service.hosts), ports(&e.added), ports(&e.removed));
            let _ = tx.lock().unwrap().send(seen);
        });
        (listener, rx)
    }

    fn down() -> Error {
        Error::Shutdown
    }

    #[test]
    fn keys_write_clusters_one_way() {
        assert_eq!(key().clusters, "a,b");
        assert_eq!(canonical_clusters(["b,a", " a", ""]), "a,b");
        assert_eq!(key().cluster_list(), vec!["a", "b"]);
        assert!(SubscriptionKey::new(None, "G", "s", [""; 0])
            .cluster_list()
            .is_empty());
    }

    #[test]
    fn first_event_then_changes_only() {
        let r = Registry::new(policy(), 1, None);
        let (l, rx) = recorder();
        r.subscribe(key(), ListenerId(1), l, || None);
        assert_eq!(
            r.apply(&key(), list(&[1], 1), Origin::Push),
            Applied::Changed
        );
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), (vec![1], vec![1], vec![]));
        assert_eq!(
            r.apply(&key(), list(&[1], 2), Origin::Push),
            Applied::Unchanged
        );
        assert_eq!(
            r.apply(&key(), list(&[2], 3), Origin::Push),
            Applied::Changed
        );
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), (vec![2], vec![2], vec![1]));
        // A second listener starts from the list held now.
        let (l2, rx2) = recorder();
        r.subscribe(key(), ListenerId(2), l2, || None);
        assert_eq!(rx2.recv_timeout(WAIT).unwrap(), (vec![2], vec![2], vec![]));
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        assert!(r.stop(WAIT).is_empty());
    }

    #[test]
    fn stale_pushes_are_dropped_but_polls_trust_their_server() {
        let r = Registry::new(policy(), 1, None);
        let (l, rx) = recorder();
        r.subscribe(key(), ListenerId(1), l, || None);
        r.apply(&key(), list(&[1], 100), Origin::Push);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![1]);
        assert_eq!(
            r.apply(&key(), list(&[2], 50), Origin::Push),
            Applied::Ignored
        );
        // A poll started before a newer push arrived is stale too.
        let ticket = r.next_poll().unwrap();
        r.apply(&key(), list(&[3], 200), Origin::Push);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![3]);
        assert_eq!(r.poll_done(ticket, Ok(list(&[4], 150))), Applied::Ignored);
        // A poll without a push in between wins even when its server's clock is behind.
        r.poll_soon(|_| true);
        let ticket = r.next_poll().unwrap();
        assert_eq!(r.poll_done(ticket, Ok(list(&[5], 10))), Applied::Changed);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![5]);
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        r.stop(WAIT);
    }

    #[test]
    fn a_push_from_the_future_blocks_no_genuine_push_and_polls_heal_lies() {
        let r = Registry::new(policy(), 1, None);
        let (l, rx) = recorder();
        r.subscribe(key(), ListenerId(1), l, || None);
        let now = now_millis();
        let push = |ports: &[u16], at: i64| r.apply(&key(), list(ports, at), Origin::Push);
        assert_eq!(push(&[1], now), Applied::Changed);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![1]);
        assert_eq!(push(&[9], i64::MAX), Applied::Ignored);
        assert_eq!(push(&[9], now + 2 * FUTURE_TOLERANCE_MS), Applied::Ignored);
        assert_eq!(push(&[2], now + 1), Applied::Changed);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![2]);

        // A poll answer stamped far ahead (a server clock off, or a lie) still wins, and
        // orders no push after it.
        let ticket = r.next_poll().unwrap();
        assert_eq!(
            r.poll_done(ticket, Ok(list(&[3], i64::MAX))),
            Applied::Changed
        );
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![3]);
        assert_eq!(push(&[4], now + 2), Applied::Changed);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![4]);

        // A lie within the tolerance holds until the next poll, which undoes it.
        assert_eq!(push(&[6], now + FUTURE_TOLERANCE_MS / 2), Applied::Changed);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![6]);
        assert_eq!(push(&[5], now + 3), Applied::Ignored);
        r.poll_soon(|_| true);
        let ticket = r.next_poll().unwrap();
        assert_eq!(r.poll_done(ticket, Ok(list(&[5], now))), Applied::Changed);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![5]);
        r.stop(WAIT);
    }

    #[test]
    fn empty_lists_are_delivered_unless_configured_otherwise() {
        let r = Registry::new(policy(), 1, None);
        let (l, rx) = recorder();
        r.subscribe(key(), ListenerId(1), l, || None);
        r.apply(&key(), list(&[1], 1), Origin::Push);
        rx.recv_timeout(WAIT).unwrap();
        assert_eq!(
            r.apply(&key(), list(&[], 2), Origin::Push),
            Applied::Changed
        );
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), (vec![], vec![], vec![1]));
        r.stop(WAIT);

        let r = Registry::new(
            Policy {
                deliver_empty: false,
                ..policy()
            },
            1,
            None,
        );
        let (l, rx) = recorder();
        r.subscribe(key(), ListenerId(1), l, || None);
        assert_eq!(
            r.apply(&key(), list(&[], 1), Origin::Push),
            Applied::Ignored
        );
        r.apply(&key(), list(&[1], 2), Origin::Push);
        assert_eq!(
            r.apply(&key(), list(&[], 3), Origin::Push),
            Applied::Ignored
        );
        assert_eq!(r.held(&key()).unwrap().hosts.len(), 1);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![1]);
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        r.stop(WAIT);
    }

    #[test]
    fn failed_polls_back_off_keep_the_list_and_never_stop() {
        let r = Registry::new(
            Policy {
                poll_interval: Some(Duration::from_millis(10)),
                max_backoff: Duration::from_millis(40),
                ..policy()
            },
            1,
            None,
        );
        let (l, rx) = recorder();
        r.subscribe(key(), ListenerId(1), l, || None);
        let t = r.next_poll().unwrap();
        r.poll_done(t, Ok(list(&[1], 1)));
        rx.recv_timeout(WAIT).unwrap();
        let mut gaps = Vec::new();
        let mut last = Instant::now();
        for _ in 0..5 {
            let t = r.next_poll().unwrap();
            gaps.push(last.elapsed());
            last = Instant::now();
            assert_eq!(r.poll_done(t, Err(down())), Applied::Ignored);
        }
        // 10, 20, 40, 40 ms: doubling up to the cap.
        assert!(gaps[4] >= Duration::from_millis(40), "{gaps:?}");
        assert!(gaps[4] < Duration::from_secs(2), "{gaps:?}");
        assert!(rx.recv_timeout(Duration::from_millis(20)).is_err());
        assert_eq!(r.held(&key()).unwrap().hosts.len(), 1);
        let t = r.next_poll().unwrap();
        assert_eq!(r.poll_done(t, Ok(list(&[2], 2))), Applied::Changed);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![2]);
        r.stop(WAIT);
    }

    #[test]
    fn the_disk_cache_serves_only_while_no_server_answers() {
        let r = Registry::new(policy(), 1, None);
        let (l, rx) = recorder();
        r.subscribe(key(), ListenerId(1), l, || Some(list(&[7], 1)));
        let t = r.next_poll().unwrap();
        assert_eq!(r.poll_done(t, Err(down())), Applied::Changed);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![7]);
        r.poll_soon(|_| true);
        let t = r.next_poll().unwrap();
        r.poll_done(t, Ok(list(&[8], 0)));
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), (vec![8], vec![8], vec![7]));
        r.stop(WAIT);

        // With a server answering first, the cache is never used.
        let r = Registry::new(policy(), 1, None);
        let (l, rx) = recorder();
        r.subscribe(key(), ListenerId(1), l, || Some(list(&[7], 1)));
        let t = r.next_poll().unwrap();
        r.poll_done(t, Ok(list(&[8], 0)));
        r.poll_soon(|_| true);
        let t = r.next_poll().unwrap();
        r.poll_done(t, Err(down()));
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, vec![8]);
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        r.stop(WAIT);
    }

    #[test]
    fn unsubscribing_the_last_listener_stops_polling_that_service() {
        let r = Arc::new(Registry::new(policy(), 1, None));
        let (l, _rx) = recorder();
        r.subscribe(key(), ListenerId(1), l.clone(), || None);
        r.subscribe(key(), ListenerId(2), l.clone(), || None);
        let other = SubscriptionKey::new(None, "G", "other", [""; 0]);
        r.subscribe(other.clone(), ListenerId(3), l, || None);
        assert!(!r.unsubscribe(Some(ListenerId(1)), |_| true));
        assert_eq!(r.snapshot().len(), 2);
        // An id given with the wrong service removes nothing.
        assert!(!r.unsubscribe(Some(ListenerId(2)), |k| k.service == "other"));
        assert!(!r.unsubscribe(None, |k| k.service == "svc"));
        assert_eq!(r.snapshot().len(), 1);
        let t = r.next_poll().unwrap();
        assert_eq!(t.key, other);
        assert!(r.unsubscribe(None, |_| true));
        assert_eq!(r.poll_done(t, Ok(list(&[1], 1))), Applied::Unknown);
        // Nothing is left to poll: the poll thread waits until stopped.
        let waiting = r.clone();
        let poll = std::thread::spawn(move || waiting.next_poll().is_none());
        std::thread::sleep(Duration::from_millis(20));
        r.stop(WAIT);
        assert!(poll.join().unwrap());
    }
}
