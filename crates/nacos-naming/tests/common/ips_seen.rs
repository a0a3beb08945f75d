//! A subscriber that keeps, for each event, the sorted ips it lists: what the upgrade tests
//! compare with the changes they made.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nacos_naming::{NamingClient, ServiceEvent};
use nacos_test_support::expect_within;

/// The events of one subscription, each as its sorted ips.
#[derive(Clone, Default)]
pub struct IpsSeen(Arc<Mutex<Vec<Vec<String>>>>);

impl IpsSeen {
    /// Subscribes to `service` through `client`.
    pub fn subscribe(client: &NamingClient, service: &str) -> IpsSeen {
        let seen = IpsSeen::default();
        let events = seen.0.clone();
        client
            .subscribe(service, move |e: &ServiceEvent| {
                let mut ips: Vec<String> = e.service.hosts.iter().map(|h| h.ip.clone()).collect();
                ips.sort();
                events.lock().unwrap().push(ips);
            })
            .send()
            .unwrap();
        seen
    }

    /// Waits until the last event lists exactly `want`.
    pub fn wait_for(&self, want: &[&str]) {
        let events = self.0.clone();
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        expect_within(
            &format!("an event listing {want:?}"),
            Duration::from_secs(10),
            move || events.lock().unwrap().last() == Some(&want),
        );
    }

    /// Every event so far.
    pub fn all(&self) -> Vec<Vec<String>> {
        self.0.lock().unwrap().clone()
    }
}
