//! The `nacos-poll` thread: refreshes every subscribed service when it is due.
//!
//! Polling is what keeps subscribers right on servers that do not push (rnacos) and what
//! tells a pushing server that the client still listens (official servers forget a push
//! subscriber that stops listing). The registry decides when each service is due (its
//! `cacheMillis`, or a backoff of up to a minute after errors); this thread only asks and
//! hands the answer back. It ends when the registry stops, never because of an error, and a
//! panic in one poll costs that poll only: the service is polled again after a backoff.

use std::io;
use std::sync::Arc;

use crate::error::Error;
use crate::live::heartbeat::panicked;
use crate::live::subscription::{PollTicket, Registry, SubscriptionKey};
use crate::live::worker::{self, Worker};
use crate::service_info::ServiceInfo;

/// Asks a server for a subscribed service's list.
pub(crate) trait ListSource: Send + Sync + 'static {
    /// The current list of the service, all instances (healthy or not), carrying the push
    /// address when the client receives pushes. [`Error::Shutdown`] when the client is gone.
    fn list(&self, key: &SubscriptionKey) -> Result<ServiceInfo, Error>;
}

/// Starts the poll thread.
pub(crate) fn spawn(registry: Arc<Registry>, source: Arc<dyn ListSource>) -> io::Result<Worker> {
    Worker::spawn("nacos-poll".into(), move || {
        while let Some(ticket) = registry.next_poll() {
            let key = ticket.key.clone();
            let what = || format!("the poll of {}", key.grouped_name());
            let answer = worker::contain(what, || source.list(&key))
                .unwrap_or_else(|message| Err(panicked("poll", &message)));
            if matches!(answer, Err(Error::Shutdown)) {
                return;
            }
            if worker::contain(what, || registry.poll_done(ticket, answer)).is_err() {
                registry.poll_done(
                    PollTicket::after_panic(key),
                    Err(panicked("poll", "taking in its answer")),
                );
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::Instance;
    use crate::live::notifier::port_recorder;
    use crate::live::subscription::{ListenerId, Policy};
    use crate::live::worker::join_all;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    use nacos_test_support::expect_within;

    /// A server in memory: a list per service, and a switch that makes every call fail.
    #[derive(Default)]
    struct FakeServer {
        lists: Mutex<HashMap<String, Vec<u16>>>,
        calls: Mutex<HashMap<String, usize>>,
        down: AtomicBool,
    }

    impl ListSource for FakeServer {
        fn list(&self, key: &SubscriptionKey) -> Result<ServiceInfo, Error> {
            *self
                .calls
                .lock()
                .unwrap()
                .entry(key.service.clone())
                .or_default() += 1;
            if self.down.load(Ordering::SeqCst) {
                return Err(Error::invalid("server", "down"));
            }
            let mut s = ServiceInfo::new(&key.service, &key.group);
            let ports = self.lists.lock().unwrap().get(&key.service).cloned();
            s.hosts = ports
                .unwrap_or_default()
                .into_iter()
                .map(|p| Instance::new("10.0.0.1", p))
                .collect();
            Ok(s)
        }
    }

    impl FakeServer {
        fn set(&self, service: &str, ports: &[u16]) {
            self.lists
                .lock()
                .unwrap()
                .insert(service.into(), ports.to_vec());
        }

        fn calls(&self, service: &str) -> usize {
            self.calls
                .lock()
                .unwrap()
                .get(service)
                .copied()
                .unwrap_or(0)
        }
    }

    fn key(service: &str) -> SubscriptionKey {
        SubscriptionKey::new(None, "G", service, [""; 0])
    }

    const WAIT: Duration = Duration::from_secs(10);

    /// A registry polling every 5 ms, backing off to 20 ms.
    fn fast_registry() -> Arc<Registry> {
        Arc::new(Registry::new(
            Policy {
                deliver_empty: true,
                poll_interval: Some(Duration::from_millis(5)),
                max_backoff: Duration::from_millis(20),
            },
            1,
            None,
        ))
    }

    #[test]
    fn polls_changes_through_outages_and_stops_with_the_subscription() {
        let registry = fast_registry();
        let server = Arc::new(FakeServer::default());
        let poll = spawn(registry.clone(), server.clone()).unwrap();
        let (listener, rx) = port_recorder();
        server.set("a", &[1]);
        registry.subscribe(key("a"), ListenerId(1), listener.clone(), || None);
        let wait = Duration::from_secs(5);
        assert_eq!(rx.recv_timeout(wait).unwrap(), vec![1]);
        server.set("a", &[1, 2]);
        assert_eq!(rx.recv_timeout(wait).unwrap(), vec![1, 2]);

        // Down: no event, and polling goes on.
        server.down.store(true, Ordering::SeqCst);
        let calls = server.calls("a");
        server.set("a", &[3]);
        expect_within("five more polls of a", WAIT, || {
            server.calls("a") >= calls + 5
        });
        assert!(rx.try_recv().is_err());
        server.down.store(false, Ordering::SeqCst);
        assert_eq!(rx.recv_timeout(wait).unwrap(), vec![3]);

        // Another service polls on its own; unsubscribing stops the first one's polls.
        registry.subscribe(key("b"), ListenerId(2), listener, || None);
        assert!(!registry.unsubscribe(Some(ListenerId(1)), |_| true));
        let calls = server.calls("a");
        let b_calls = server.calls("b");
        expect_within("five more polls of b", WAIT, || {
            server.calls("b") >= b_calls + 5
        });
        assert!(server.calls("a") <= calls + 1);

        assert!(registry.stop(wait).is_empty());
        assert!(join_all(vec![poll], wait).is_empty());
    }

    /// A source that panics on its first two polls, then lists one instance.
    struct Panicky(std::sync::atomic::AtomicU64);

    impl ListSource for Panicky {
        fn list(&self, key: &SubscriptionKey) -> Result<ServiceInfo, Error> {
            if self.0.fetch_add(1, Ordering::SeqCst) < 2 {
                panic!("a bug in a poll");
            }
            let mut s = ServiceInfo::new(&key.service, &key.group);
            s.hosts.push(Instance::new("10.0.0.1", 7));
            Ok(s)
        }
    }

    #[test]
    fn a_poll_that_panics_costs_that_poll_only() {
        let registry = fast_registry();
        let poll = spawn(registry.clone(), Arc::new(Panicky(Default::default()))).unwrap();
        let (listener, rx) = port_recorder();
        registry.subscribe(key("a"), ListenerId(1), listener, || None);
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), vec![7]);
        assert!(!poll.is_finished());
        assert!(registry.stop(WAIT).is_empty());
        assert!(join_all(vec![poll], WAIT).is_empty());
    }
}
