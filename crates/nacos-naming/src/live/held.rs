//! The lists held for subscriptions, as immutable snapshots a pick reads without a lock.
//!
//! A poll or push that changes a subscribed list builds a new [`HeldList`] (the instances that
//! can take traffic, each behind an `Arc`, and their running weight totals, prepared once) and
//! swaps a new map of lists in whole. A pick loads the current map (no lock, no reference
//! count touched), finds its list by borrowed names, draws one number and binary-searches the
//! totals: nothing is allocated or copied in proportion to the list, and a reader never waits
//! for a writer. Writers are rare (a change of a subscribed service) and copy the map of
//! subscriptions, never the instances of other services.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::instance::Instance;
use crate::live::subscription::SubscriptionKey;

/// A list prepared for weighted picks: only the instances that qualify, with running totals.
#[derive(Debug, Default)]
pub(crate) struct HeldList {
    instances: Box<[Arc<Instance>]>,
    /// `ends[i]` is the total weight of `instances[..=i]`.
    ends: Box<[f64]>,
}

impl HeldList {
    /// The instances of `hosts` that [`qualify`](qualifies), in order.
    pub(crate) fn new(hosts: impl IntoIterator<Item = Instance>) -> HeldList {
        let mut instances = Vec::new();
        let mut ends = Vec::new();
        let mut total = 0.0;
        for instance in hosts.into_iter().filter(qualifies) {
            total += instance.weight;
            ends.push(total);
            instances.push(Arc::new(instance));
        }
        if !total.is_finite() {
            // Only reachable with an absurd number of maximal weights: pick nothing rather
            // than divide infinity.
            return HeldList::default();
        }
        HeldList {
            instances: instances.into(),
            ends: ends.into(),
        }
    }

    /// One instance, each with a chance proportional to its weight, or `None` when none
    /// qualifies. `random` is a number in `0.0..1.0`, a parameter so tests can pin it.
    pub(crate) fn pick(&self, random: f64) -> Option<&Arc<Instance>> {
        let total = *self.ends.last()?;
        let point = random.clamp(0.0, 1.0) * total;
        let at = self.ends.partition_point(|end| *end <= point);
        // A point at the very total (or a hair above, by rounding) belongs to the last.
        self.instances.get(at.min(self.instances.len() - 1))
    }
}

/// Whether an instance may be chosen: healthy, enabled and of a usable weight above 0.
pub(crate) fn qualifies(instance: &Instance) -> bool {
    instance.healthy && instance.enabled && instance.weight.is_finite() && instance.weight > 0.0
}

/// Held lists by subscription, hashed with foldhash: the keys are the application's own
/// subscriptions, so a fast hash without resistance to chosen keys is enough.
type ListMap = HashMap<SubscriptionKey, Arc<HeldList>, foldhash::fast::RandomState>;

/// The held lists of one client's subscriptions.
#[derive(Default)]
pub(crate) struct HeldLists {
    lists: ArcSwap<ListMap>,
}

impl HeldLists {
    /// Picks from the list held for `key` with `random` (see [`HeldList::pick`]) and lends the
    /// instance to `lend`: `Ok(None)` when none qualifies, and `lend` given back when the
    /// service is not subscribed that way or no server has answered yet.
    pub(crate) fn pick<R, F>(&self, key: KeyRef<'_>, random: f64, lend: F) -> Result<Option<R>, F>
    where
        F: FnOnce(&Arc<Instance>) -> R,
    {
        let lists = self.lists.load();
        match lists.get(&key as &dyn AsKeyRef) {
            Some(list) => Ok(list.pick(random).map(lend)),
            None => Err(lend),
        }
    }

    /// Holds `list` for `key` from now on (replacing what was held), or forgets `key`.
    pub(crate) fn set(&self, key: &SubscriptionKey, list: Option<HeldList>) {
        let list = list.map(Arc::new);
        self.lists.rcu(|lists| {
            let mut lists = ListMap::clone(lists);
            match &list {
                Some(list) => lists.insert(key.clone(), list.clone()),
                None => lists.remove(key),
            };
            lists
        });
    }

    /// Forgets every list.
    pub(crate) fn clear(&self) {
        self.lists.store(Arc::default());
    }
}

/// A subscription key's parts, borrowed: what a pick looks its list up by, so it builds no
/// owned key per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyRef<'a> {
    pub(crate) namespace: Option<&'a str>,
    pub(crate) group: &'a str,
    pub(crate) service: &'a str,
    /// In [`canonical_clusters`](crate::live::subscription::canonical_clusters) form.
    pub(crate) clusters: &'a str,
}

/// Both an owned key and a borrowed one, seen as parts: lets the map of owned keys be searched
/// with a borrowed one (std's maps need a `Borrow` target both hash alike).
pub(crate) trait AsKeyRef {
    fn key_ref(&self) -> KeyRef<'_>;
}

impl AsKeyRef for SubscriptionKey {
    fn key_ref(&self) -> KeyRef<'_> {
        KeyRef {
            namespace: self.namespace.as_deref(),
            group: &self.group,
            service: &self.service,
            clusters: &self.clusters,
        }
    }
}

impl AsKeyRef for KeyRef<'_> {
    fn key_ref(&self) -> KeyRef<'_> {
        *self
    }
}

impl<'a> Borrow<dyn AsKeyRef + 'a> for SubscriptionKey {
    fn borrow(&self) -> &(dyn AsKeyRef + 'a) {
        self
    }
}

/// Hashed by the service name alone: keys equal in every part hash alike, and the few keys
/// sharing a name (other groups, namespaces, cluster filters) are told apart by `eq`. A pick
/// hashes one string instead of four.
impl Hash for dyn AsKeyRef + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key_ref().service.hash(state);
    }
}

impl PartialEq for dyn AsKeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.key_ref() == other.key_ref()
    }
}

impl Eq for dyn AsKeyRef + '_ {}

/// Hashed as the borrowed form is (by the service name): the two must hash alike.
impl Hash for SubscriptionKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn AsKeyRef).hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(port: u16, weight: f64) -> Instance {
        let mut i = Instance::new("10.0.0.1", port);
        i.weight = weight;
        i
    }

    fn port(hosts: &[Instance], random: f64) -> Option<u16> {
        HeldList::new(hosts.iter().cloned())
            .pick(random)
            .map(|i| i.port)
    }

    #[test]
    fn none_when_nothing_qualifies() {
        assert_eq!(port(&[], 0.5), None);
        let mut sick = host(1, 1.0);
        sick.healthy = false;
        let mut off = host(2, 1.0);
        off.enabled = false;
        let hosts = [sick, off, host(3, 0.0), host(4, f64::NAN), host(5, -1.0)];
        for r in [0.0, 0.5, 0.999] {
            assert_eq!(port(&hosts, r), None);
        }
    }

    #[test]
    fn skips_what_does_not_qualify() {
        let mut sick = host(1, 100.0);
        sick.healthy = false;
        let hosts = [sick, host(2, 0.0), host(3, 1.0)];
        for r in [0.0, 0.5, 0.999_999, 1.0] {
            assert_eq!(port(&hosts, r), Some(3));
        }
    }

    #[test]
    fn splits_by_fractional_weights() {
        let hosts = [host(1, 0.25), host(2, 0.75)];
        assert_eq!(port(&hosts, 0.0), Some(1));
        assert_eq!(port(&hosts, 0.249), Some(1));
        assert_eq!(port(&hosts, 0.251), Some(2));
        assert_eq!(port(&hosts, 1.0), Some(2));
        assert_eq!(port(&hosts, 7.0), Some(2), "out of range is clamped");
    }

    #[test]
    fn the_share_follows_the_weight() {
        let list = HeldList::new([host(1, 0.5), host(2, 1.5), host(3, 2.0)]);
        // Evenly spaced draws stand in for a uniform generator, so the shares are exact.
        let n = 20_000;
        let mut counts = [0; 3];
        for i in 0..n {
            let port = list.pick((i as f64 + 0.5) / n as f64).unwrap().port;
            counts[usize::from(port) - 1] += 1;
        }
        assert_eq!(counts, [n / 8, 3 * n / 8, n / 2]);
    }

    fn key(service: &str, clusters: &str) -> SubscriptionKey {
        SubscriptionKey::new(Some("ns"), "G", service, [clusters])
    }

    #[test]
    fn found_by_borrowed_parts_replaced_whole_and_forgotten() {
        let lists = HeldLists::default();
        let by = |service, clusters| KeyRef {
            namespace: Some("ns"),
            group: "G",
            service,
            clusters,
        };
        let first_port = |k| lists.pick(k, 0.0, |i| i.port).ok().flatten();
        lists.set(&key("a", ""), Some(HeldList::new([host(1, 1.0)])));
        lists.set(&key("a", "c1"), Some(HeldList::new([host(2, 1.0)])));
        assert_eq!(first_port(by("a", "")), Some(1));
        assert_eq!(first_port(by("a", "c1")), Some(2));
        assert!(lists.pick(by("b", ""), 0.0, |_| ()).is_err());
        assert!(lists
            .pick(
                KeyRef {
                    namespace: None,
                    ..by("a", "")
                },
                0.0,
                |_| ()
            )
            .is_err());

        lists.set(&key("a", ""), Some(HeldList::new([host(3, 1.0)])));
        assert_eq!(first_port(by("a", "")), Some(3));
        lists.set(&key("a", ""), None);
        assert!(lists.pick(by("a", ""), 0.0, |_| ()).is_err());
        lists.clear();
        assert!(lists.pick(by("a", "c1"), 0.0, |_| ()).is_err());
    }
}
