//! The health loop: marks ephemeral instances unhealthy after the health timeout without a
//! beat and removes them after the expire timeout.
//!
//! It is driven by the deadlines that exist now: it sleeps until the next one a scan found, and
//! a change that brings an earlier one (a registration with timeouts of its own, the first
//! instance of an idle server) wakes it. With nothing due it waits for a change, so an idle
//! server does nothing, whatever instances came and went before. Deadlines closer together than
//! a sixteenth of the shortest timeout in play (at most a second) share one scan. Shutting the
//! runtime down ends it.

use std::sync::Arc;

use crate::registry::Registry;

/// Runs until the runtime is shut down.
pub(crate) async fn run(registry: Arc<Registry>) {
    loop {
        registry.scanning();
        let scan = registry.expire();
        loop {
            let due = registry.plan(scan.next);
            if due == u64::MAX {
                registry.woken().await;
                continue;
            }
            let shortest = scan.shortest_timeout.min(registry.woken_by());
            let earliest = scan.at.saturating_add(coalescing(shortest));
            let wake = registry.instant(due.max(earliest));
            tokio::select! {
                () = tokio::time::sleep_until(wake.into()) => break,
                // An earlier deadline, maybe: plan again.
                () = registry.woken() => {}
            }
        }
    }
}

/// Deadlines closer together than this are handled in one pass: with thousands of instances that
/// stopped beating at slightly different times, one scan, not thousands.
fn coalescing(shortest_timeout: u64) -> u64 {
    (shortest_timeout / 16).clamp(1, 1_000)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::registry::Timings;
    use crate::service::{Metadata, Registration, HEALTH_TIMEOUT_KEY};

    const NS: &str = "public";
    const SVC: &str = "DEFAULT_GROUP@@svc";

    /// The health of each instance (a list answer would apply the protection threshold).
    fn healthy(registry: &Registry) -> Vec<bool> {
        registry.dump().iter().map(|(_, _, i)| i.healthy).collect()
    }

    fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// An instance with a 1 ms timeout of its own is marked in time; once it is gone the loop
    /// sleeps, instead of scanning every millisecond for good.
    #[test]
    fn a_short_own_timeout_does_not_make_an_idle_server_spin() {
        let timings = Timings {
            health_timeout: 15_000,
            expire_timeout: 30_000,
            subscriber_ttl: 30_000,
            empty_service_ttl: 60_000,
        };
        let registry = Arc::new(Registry::new(
            timings,
            crate::version::Identity::PerAddress,
            Box::new(|_| {}),
        ));
        // A defined, empty service: nothing is due before its cleanup, a minute away.
        registry
            .create_service(NS, SVC, 0.0, Metadata::new(), true)
            .unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        runtime.spawn(run(registry.clone()));
        wait_until("the first scan", || registry.scans() > 0);

        let mut metadata = Metadata::new();
        metadata.insert(HEALTH_TIMEOUT_KEY.into(), "1".into());
        registry
            .register(
                NS,
                SVC,
                Registration {
                    cluster: "DEFAULT".into(),
                    ip: "10.0.0.1".into(),
                    port: 80,
                    weight: 1.0,
                    healthy: true,
                    enabled: true,
                    ephemeral: true,
                    metadata,
                },
            )
            .unwrap();
        wait_until("its own timeout marks it", || healthy(&registry) == [false]);
        registry.deregister(NS, SVC, "DEFAULT", "10.0.0.1", 80, true);

        let before = registry.scans();
        std::thread::sleep(Duration::from_millis(300));
        let scans = registry.scans() - before;
        assert!(scans <= 1, "{scans} scans in 300 ms of an idle server");
    }
}
