//! The `nacos-poll` thread: refreshes every subscribed service when it is due.
//!
//! Polling is what keeps subscribers right on servers that do not push (rnacos) and what
//! tells a pushing server that the client still listens (official servers forget a push
//! subscriber that stops listing). The registry decides when each service is due (its
//! `cacheMillis`, or a backoff of up to a minute after errors); this thread only asks and
//! hands the answer back. It ends when the registry stops, never because of an error.

use std::io;
use std::sync::Arc;

use crate::error::Error;
use crate::live::subscription::{Registry, SubscriptionKey};
use crate::live::worker::Worker;
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
            let answer = source.list(&ticket.key);
            if matches!(answer, Err(Error::Shutdown)) {
                return;
            }
            registry.poll_done(ticket, answer);
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

    #[test]
    fn polls_changes_through_outages_and_stops_with_the_subscription() {
        let registry = Arc::new(Registry::new(
            Policy {
                deliver_empty: true,
                poll_interval: Some(Duration::from_millis(5)),
                max_backoff: Duration::from_millis(20),
            },
            1,
            None,
        ));
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
}
