//! Push subscribers: those of one service, and the cap on subscriptions per client address.
//!
//! Pushes are UDP, so whoever can make the server push can make it send datagrams to an
//! address that never asked for them. What bounds that: one subscriber per (service, address)
//! however many cluster filters it lists with (the last few are kept, each pushed as its own
//! answer); a cap on the subscriptions of one IP address across all services; and, in the
//! request layer, the address being the one the list call came from unless configured otherwise.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

/// Subscriptions an IP address may hold across all services, unless configured otherwise.
pub(crate) const SUBSCRIPTIONS_PER_IP: usize = 4096;
/// Subscribers kept per service; a bound so a flood of list calls cannot grow memory for ever.
const MAX_PER_SERVICE: usize = 4096;
/// Cluster filters kept per subscriber (the most recent ones): a client may list one service
/// with a few filters, but 4,096 filters must not mean 4,096 pushes per change.
pub(crate) const MAX_FILTERS: usize = 4;

/// How many subscriptions each IP address holds, across all services, and the cap on them.
#[derive(Debug)]
pub(crate) struct Limits {
    max_per_ip: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

impl Limits {
    /// At most `max_per_ip` subscriptions per IP address.
    pub(crate) fn new(max_per_ip: usize) -> Arc<Limits> {
        Arc::new(Limits {
            max_per_ip,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A subscription for `ip`, if it holds fewer than the cap.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<Ticket> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(ip).or_insert(0);
        if *count >= self.max_per_ip {
            return None;
        }
        *count += 1;
        Some(Ticket {
            limits: self.clone(),
            ip,
        })
    }

    /// How many subscriptions `ip` holds.
    #[cfg(test)]
    pub(crate) fn held(&self, ip: IpAddr) -> usize {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.get(&ip).copied().unwrap_or(0)
    }
}

/// One subscription counted against its IP address; given back when dropped, however the
/// subscriber goes (forgotten, its service dropped or deleted).
#[derive(Debug)]
struct Ticket {
    limits: Arc<Limits>,
    ip: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut held = self
            .limits
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// A client address that listed the service with `udpPort`.
#[derive(Debug)]
struct Subscriber {
    addr: SocketAddr,
    /// Its cluster filters, the most recently listed last.
    filters: Vec<Box<str>>,
    last_seen: u64,
    _ticket: Ticket,
}

/// The subscribers of one service.
#[derive(Debug, Default)]
pub(crate) struct Subscribers {
    list: Vec<Subscriber>,
}

impl Subscribers {
    /// Records a list call from `addr` with `clusters` (or refreshes it), forgetting those not
    /// seen for `ttl` ms; false when refused (the address holds its cap, or the service does).
    pub(crate) fn subscribe(
        &mut self,
        addr: SocketAddr,
        clusters: &str,
        now: u64,
        ttl: u64,
        limits: &Arc<Limits>,
    ) -> bool {
        self.forget(now, ttl);
        if let Some(s) = self.list.iter_mut().find(|s| s.addr == addr) {
            s.last_seen = now;
            if let Some(at) = s.filters.iter().position(|f| &**f == clusters) {
                let filter = s.filters.remove(at);
                s.filters.push(filter);
            } else {
                if s.filters.len() >= MAX_FILTERS {
                    s.filters.remove(0);
                }
                s.filters.push(clusters.into());
            }
            return true;
        }
        if self.list.len() >= MAX_PER_SERVICE {
            return false;
        }
        let Some(ticket) = limits.take(addr.ip()) else {
            return false;
        };
        self.list.push(Subscriber {
            addr,
            filters: vec![clusters.into()],
            last_seen: now,
            _ticket: ticket,
        });
        true
    }

    /// The subscribers seen within `ttl` ms, once per cluster filter; forgets the others.
    pub(crate) fn live(&mut self, now: u64, ttl: u64) -> Vec<(SocketAddr, Box<str>)> {
        self.forget(now, ttl);
        self.list
            .iter()
            .flat_map(|s| s.filters.iter().map(|f| (s.addr, f.clone())))
            .collect()
    }

    /// Whether anyone listens for pushes.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// When the subscriber seen last will be forgotten (registry clock), if any.
    pub(crate) fn until(&self, ttl: u64) -> Option<u64> {
        self.list
            .iter()
            .map(|s| s.last_seen.saturating_add(ttl))
            .max()
    }

    fn forget(&mut self, now: u64, ttl: u64) {
        self.list.retain(|s| now.saturating_sub(s.last_seen) < ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: &str, port: u16) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), port)
    }

    #[test]
    fn one_subscriber_per_address_with_its_latest_filters() {
        let limits = Limits::new(100);
        let mut subscribers = Subscribers::default();
        let a = addr("127.0.0.1", 5000);
        for i in 0..4096 {
            assert!(subscribers.subscribe(a, &format!("C{i}"), 0, 1_000, &limits));
        }
        assert!(subscribers.subscribe(a, "C4093", 0, 1_000, &limits));
        let live = subscribers.live(0, 1_000);
        let filters: Vec<&str> = live.iter().map(|(_, f)| &**f).collect();
        assert_eq!(filters, ["C4092", "C4094", "C4095", "C4093"]);
        assert!(live.iter().all(|(to, _)| *to == a));
        assert_eq!(limits.held(a.ip()), 1, "one subscription for the address");
    }

    #[test]
    fn an_address_holds_at_most_its_cap_across_services_until_forgotten() {
        let limits = Limits::new(2);
        let ip = "127.0.0.1";
        let mut services: Vec<Subscribers> = (0..3).map(|_| Subscribers::default()).collect();
        assert!(services[0].subscribe(addr(ip, 1), "", 0, 1_000, &limits));
        assert!(services[1].subscribe(addr(ip, 2), "", 0, 1_000, &limits));
        assert!(!services[2].subscribe(addr(ip, 3), "", 0, 1_000, &limits));
        assert!(
            services[2].subscribe(addr("127.0.0.9", 3), "", 0, 1_000, &limits),
            "another address has its own cap"
        );
        assert!(
            services[0].subscribe(addr(ip, 1), "A", 10, 1_000, &limits),
            "a refresh"
        );
        assert_eq!(limits.held(ip.parse().unwrap()), 2);

        // Forgotten subscribers, and dropped services, give their subscriptions back.
        assert!(services[1].live(2_000, 1_000).is_empty());
        assert!(services[2].subscribe(addr(ip, 3), "", 2_000, 1_000, &limits));
        services.clear();
        assert_eq!(limits.held(ip.parse().unwrap()), 0);
        assert_eq!(limits.held("127.0.0.9".parse().unwrap()), 0);
    }
}
