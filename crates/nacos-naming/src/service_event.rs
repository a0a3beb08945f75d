//! What a subscriber is told: the current list of a service and what changed in it.

use std::collections::HashMap;

use crate::instance::Instance;
use crate::service_info::ServiceInfo;

/// A change to a subscribed service, as delivered to its listeners.
///
/// The first event a listener receives carries the whole current list, every instance in
/// [`added`](ServiceEvent::added). Each later event carries the new list and what changed since
/// the previous event that listener received. Instances are identified by
/// `(ip, port, cluster_name)`; an instance whose weight, health, enabled flag, ephemeral flag or
/// metadata changed is in [`modified`](ServiceEvent::modified), with its new values.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServiceEvent {
    /// The service as the server last described it: `service.hosts` is the whole current list.
    pub service: ServiceInfo,
    /// Instances that were not in the previous list.
    pub added: Vec<Instance>,
    /// Instances of the previous list that are gone, as they were last seen.
    pub removed: Vec<Instance>,
    /// Instances present in both lists whose attributes changed, with their new values.
    pub modified: Vec<Instance>,
}

impl ServiceEvent {
    /// The first event of a listener: everything in the list is new to it.
    pub(crate) fn initial(service: ServiceInfo) -> ServiceEvent {
        ServiceEvent {
            added: service.hosts.clone(),
            removed: Vec::new(),
            modified: Vec::new(),
            service,
        }
    }

    /// What changed from `old` to `new`, or `None` when the instance lists are the same.
    ///
    /// The one place that decides what a change is: polls, pushes and cached lists all come
    /// through here. Fields of the answer that are not about instances (`lastRefTime`,
    /// `checksum`, `cacheMillis`) are not changes.
    pub(crate) fn between(old: &ServiceInfo, new: ServiceInfo) -> Option<ServiceEvent> {
        let (added, removed, modified) = changes(old, &new);
        if added.is_empty() && removed.is_empty() && modified.is_empty() {
            return None;
        }
        Some(ServiceEvent {
            service: new,
            added,
            removed,
            modified,
        })
    }

    /// Whether [`between`](Self::between) `old` and `new` there is a change, copying only the
    /// instances that changed.
    pub(crate) fn differs(old: &ServiceInfo, new: &ServiceInfo) -> bool {
        let (added, removed, modified) = changes(old, new);
        !(added.is_empty() && removed.is_empty() && modified.is_empty())
    }

    /// Whether the event changes nothing (a first event of an empty service).
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }
}

/// How instances are told apart: servers build `instanceId` differently, so never by that.
/// The instances added, removed and modified from `old` to `new`.
fn changes(old: &ServiceInfo, new: &ServiceInfo) -> (Vec<Instance>, Vec<Instance>, Vec<Instance>) {
    let before: HashMap<Identity<'_>, &Instance> =
        old.hosts.iter().map(|i| (Identity::of(i), i)).collect();
    let mut seen = HashMap::with_capacity(new.hosts.len());
    let mut added = Vec::new();
    let mut modified = Vec::new();
    for instance in &new.hosts {
        let id = Identity::of(instance);
        // A server that lists an instance twice is described by its first entry only.
        if seen.insert(id, ()).is_some() {
            continue;
        }
        match before.get(&id) {
            None => added.push(instance.clone()),
            Some(previous) if !same_attributes(previous, instance) => {
                modified.push(instance.clone())
            }
            Some(_) => {}
        }
    }
    let mut removed = Vec::new();
    let mut gone = HashMap::with_capacity(before.len());
    for instance in &old.hosts {
        let id = Identity::of(instance);
        if !seen.contains_key(&id) && gone.insert(id, ()).is_none() {
            removed.push(instance.clone());
        }
    }
    (added, removed, modified)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Identity<'a> {
    ip: &'a str,
    port: u16,
    cluster: &'a str,
}

impl<'a> Identity<'a> {
    fn of(instance: &'a Instance) -> Identity<'a> {
        Identity {
            ip: &instance.ip,
            port: instance.port,
            cluster: &instance.cluster_name,
        }
    }
}

/// Whether two entries of the same instance describe it the same way, as far as a user cares.
fn same_attributes(a: &Instance, b: &Instance) -> bool {
    a.weight.to_bits() == b.weight.to_bits()
        && a.healthy == b.healthy
        && a.enabled == b.enabled
        && a.ephemeral == b.ephemeral
        && a.metadata == b.metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(hosts: Vec<Instance>) -> ServiceInfo {
        let mut s = ServiceInfo::new("svc", "G");
        s.hosts = hosts;
        s
    }

    fn host(ip: &str, port: u16, cluster: &str) -> Instance {
        let mut i = Instance::new(ip, port);
        i.cluster_name = cluster.into();
        i
    }

    #[test]
    fn the_first_event_adds_everything() {
        let e = ServiceEvent::initial(service(vec![host("a", 1, "C"), host("b", 2, "C")]));
        assert_eq!(e.added.len(), 2);
        assert!(e.removed.is_empty() && e.modified.is_empty());
        assert!(ServiceEvent::initial(service(vec![])).is_empty());
    }

    #[test]
    fn tells_added_removed_and_modified_apart() {
        let old = service(vec![
            host("a", 1, "C"),
            host("b", 2, "C"),
            host("c", 3, "C"),
        ]);
        let mut b = host("b", 2, "C");
        b.metadata.insert("v".into(), "2".into());
        let new = service(vec![host("a", 1, "C"), b.clone(), host("d", 4, "C")]);
        let e = ServiceEvent::between(&old, new).unwrap();
        assert_eq!(e.added, vec![host("d", 4, "C")]);
        assert_eq!(e.removed, vec![host("c", 3, "C")]);
        assert_eq!(e.modified, vec![b]);
        assert_eq!(e.service.hosts.len(), 3);
    }

    #[test]
    fn identity_is_ip_port_and_cluster_not_instance_id() {
        let mut a = host("a", 1, "C");
        a.instance_id = Some("a#1#C#G@@svc".into());
        let mut a2 = host("a", 1, "C");
        a2.instance_id = Some("a#1".into());
        assert_eq!(
            ServiceEvent::between(&service(vec![a]), service(vec![a2])),
            None
        );
        let e = ServiceEvent::between(
            &service(vec![host("a", 1, "C")]),
            service(vec![host("a", 1, "D")]),
        )
        .unwrap();
        assert_eq!((e.added.len(), e.removed.len()), (1, 1));
    }

    #[test]
    fn every_attribute_a_user_sees_is_a_modification() {
        let base = host("a", 1, "C");
        let changes: Vec<fn(&mut Instance)> = vec![
            |i| i.weight = 0.5,
            |i| i.healthy = false,
            |i| i.enabled = false,
            |i| i.ephemeral = false,
            |i| {
                i.metadata.insert("k".into(), "v".into());
            },
        ];
        for change in changes {
            let mut changed = base.clone();
            change(&mut changed);
            let e = ServiceEvent::between(&service(vec![base.clone()]), service(vec![changed]));
            assert_eq!(e.map(|e| e.modified.len()), Some(1));
        }
    }

    #[test]
    fn answer_fields_that_are_not_instances_are_no_change() {
        let old = service(vec![host("a", 1, "C")]);
        let mut new = old.clone();
        new.last_ref_time = 99;
        new.checksum = "x".into();
        new.cache_millis = 1;
        assert_eq!(ServiceEvent::between(&old, new), None);
    }

    #[test]
    fn duplicates_from_a_server_count_once() {
        let old = service(vec![host("a", 1, "C"), host("a", 1, "C")]);
        let e = ServiceEvent::between(&old, service(vec![])).unwrap();
        assert_eq!(e.removed.len(), 1);
        let e = ServiceEvent::between(&service(vec![]), old).unwrap();
        assert_eq!(e.added.len(), 1);
    }
}
