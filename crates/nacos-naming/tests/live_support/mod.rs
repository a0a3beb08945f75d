//! What the live-discovery suites share: a listener that records events, short-interval
//! clients and the client's thread count.
#![allow(dead_code)]

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nacos_naming::{Instance, NamingClient, NamingClientBuilder, ServiceEvent};

/// Generous deadlines: the machines tests run on are shared and slow.
pub const WAIT: Duration = Duration::from_secs(20);

/// A client builder for `servers` with every interval short, so tests take milliseconds.
pub fn fast_client(servers: &str) -> NamingClientBuilder {
    NamingClient::builder()
        .server_addresses(servers)
        .timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_millis(500))
        .poll_interval(Duration::from_millis(50))
        .poll_max_backoff(Duration::from_millis(200))
        .heartbeat_interval(Duration::from_millis(100))
}

/// The events a listener received, in order.
#[derive(Default)]
pub struct Events {
    seen: Mutex<Vec<ServiceEvent>>,
    changed: Condvar,
}

impl Events {
    pub fn new() -> Arc<Events> {
        Arc::default()
    }

    /// A new recorder, subscribed to `service` in `group` (`None`: the default group).
    pub fn subscribe(client: &NamingClient, service: &str, group: Option<&str>) -> Arc<Events> {
        let events = Events::new();
        client
            .subscribe(service, events.listener())
            .set_group_name(group)
            .send()
            .unwrap();
        events
    }

    /// A listener that records into these events.
    pub fn listener(self: &Arc<Events>) -> impl Fn(&ServiceEvent) + Send + Sync + 'static {
        let events = self.clone();
        move |event: &ServiceEvent| {
            events.seen.lock().unwrap().push(event.clone());
            events.changed.notify_all();
        }
    }

    /// Every event so far.
    pub fn all(&self) -> Vec<ServiceEvent> {
        self.seen.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Waits until `done` holds for the events, and returns them; panics at the deadline.
    #[track_caller]
    pub fn wait(&self, what: &str, done: impl Fn(&[ServiceEvent]) -> bool) -> Vec<ServiceEvent> {
        let deadline = Instant::now() + WAIT;
        let mut seen = self.seen.lock().unwrap();
        while !done(&seen) {
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out waiting for {what}; events: {seen:#?}"
            );
            seen = self.changed.wait_timeout(seen, deadline - now).unwrap().0;
        }
        seen.clone()
    }

    /// Waits for the `n`th event (1-based) and returns it.
    #[track_caller]
    pub fn nth(&self, n: usize) -> ServiceEvent {
        self.wait(&format!("event {n}"), |e| e.len() >= n)[n - 1].clone()
    }

    /// Asserts that no event arrives for `quiet`.
    #[track_caller]
    pub fn assert_quiet_for(&self, quiet: Duration) {
        let before = self.len();
        let deadline = Instant::now() + quiet;
        let mut seen = self.seen.lock().unwrap();
        while Instant::now() < deadline {
            let left = deadline - Instant::now();
            seen = self.changed.wait_timeout(seen, left).unwrap().0;
            assert_eq!(
                seen.len(),
                before,
                "unexpected event: {:#?}",
                &seen[before..]
            );
        }
    }
}

/// `ip:port` of each instance, sorted.
pub fn addresses(instances: &[Instance]) -> Vec<String> {
    let mut a: Vec<String> = instances.iter().map(Instance::address).collect();
    a.sort();
    a
}

/// The client's threads in this process (beat, poll, push and notify threads) that still run,
/// by name.
pub fn client_threads() -> Vec<String> {
    nacos_test_support::running_threads("nacos-")
        .unwrap_or_default()
        .into_iter()
        .filter(|name| {
            name.starts_with("nacos-beat-")
                || ["nacos-poll", "nacos-push", "nacos-notify"].contains(&name.as_str())
        })
        .collect()
}

/// Waits until the client has no thread left; panics with their names at the deadline.
#[track_caller]
pub fn assert_no_client_threads() {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = client_threads();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "client threads left: {left:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
