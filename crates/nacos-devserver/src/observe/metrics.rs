//! Prometheus metrics at `/nacos/actuator/prometheus`, where official Nacos serves its own:
//! counters kept as requests and pushes happen, gauges counted from the registry when scraped.
//!
//! The text exposition format is a few lines per metric; it is written here rather than
//! through a metrics crate, whose registry and types would outweigh what is counted.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// The counters of one server.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Requests answered, by endpoint and status.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Push packets sent to subscribers, first sends and resends.
    pushes: AtomicU64,
    /// Pushes that failed: a send error, or no ack after every resend.
    push_failures: AtomicU64,
}

/// What the registry holds at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Census {
    pub(crate) namespaces: usize,
    pub(crate) services: usize,
    pub(crate) instances: usize,
    pub(crate) healthy_instances: usize,
    pub(crate) subscribers: usize,
    /// Rendered list answers kept, and the bytes counted for them against the budget.
    pub(crate) cached_answers: usize,
    pub(crate) cached_answer_bytes: usize,
}

impl Metrics {
    /// Counts one answered request.
    pub(crate) fn request(&self, endpoint: &'static str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *requests.entry((endpoint, status)).or_default() += 1;
    }

    /// Counts one push packet sent.
    pub(crate) fn pushed(&self) {
        self.pushes.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one push that failed.
    pub(crate) fn push_failed(&self) {
        self.push_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The metrics in Prometheus's text format (version 0.0.4).
    pub(crate) fn render(&self, census: Census) -> String {
        let mut out = String::new();
        let gauges = [
            (
                "nacos_devserver_namespaces",
                "Namespaces holding services.",
                census.namespaces,
            ),
            (
                "nacos_devserver_services",
                "Services, over all namespaces.",
                census.services,
            ),
            (
                "nacos_devserver_instances",
                "Instances, over all services.",
                census.instances,
            ),
            (
                "nacos_devserver_healthy_instances",
                "Instances that pass their health check.",
                census.healthy_instances,
            ),
            (
                "nacos_devserver_subscribers",
                "Live push subscriptions (address and service).",
                census.subscribers,
            ),
            (
                "nacos_devserver_list_cache_answers",
                "Rendered list answers kept for reuse.",
                census.cached_answers,
            ),
            (
                "nacos_devserver_list_cache_bytes",
                "Bytes counted for the kept list answers, within --max-list-cache-memory.",
                census.cached_answer_bytes,
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP nacos_devserver_requests_total HTTP requests answered, by endpoint and status.\n\
             # TYPE nacos_devserver_requests_total counter"
        );
        let requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        for ((endpoint, status), count) in requests.iter() {
            let _ = writeln!(
                out,
                "nacos_devserver_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {count}"
            );
        }
        drop(requests);
        for (name, help, value) in [
            (
                "nacos_devserver_pushes_total",
                "UDP push packets sent to subscribers, resends included.",
                &self.pushes,
            ),
            (
                "nacos_devserver_push_failures_total",
                "Pushes that failed: a send error, or no ack after every resend.",
                &self.push_failures,
            ),
        ] {
            let value = value.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let metrics = Metrics::default();
        metrics.request("register", 200);
        metrics.request("register", 200);
        metrics.request("list", 400);
        metrics.pushed();
        metrics.push_failed();
        let text = metrics.render(Census {
            namespaces: 1,
            services: 2,
            instances: 3,
            healthy_instances: 2,
            subscribers: 1,
            cached_answers: 4,
            cached_answer_bytes: 5000,
        });
        for line in [
            "# TYPE nacos_devserver_instances gauge",
            "nacos_devserver_instances 3",
            "nacos_devserver_healthy_instances 2",
            "nacos_devserver_services 2",
            "nacos_devserver_subscribers 1",
            "nacos_devserver_list_cache_answers 4",
            "nacos_devserver_list_cache_bytes 5000",
            "nacos_devserver_requests_total{endpoint=\"register\",status=\"200\"} 2",
            "nacos_devserver_requests_total{endpoint=\"list\",status=\"400\"} 1",
            "nacos_devserver_pushes_total 1",
            "nacos_devserver_push_failures_total 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing from\n{text}"
            );
        }
    }
}
