//! Choosing one instance to call: weighted random over the instances that can take traffic.

use crate::calls::list::ListQuery;
use crate::calls::params::{FirstError, ServiceKey};
use crate::calls::validate;
use crate::client::NamingClient;
use crate::error::Error;
use crate::instance::Instance;
use crate::live::background::subscription_key;
use crate::random;

impl NamingClient {
    /// Picks one instance of `service_name` to call: weighted random over the instances that
    /// are healthy, enabled and of weight above 0 (fractional weights count), so an instance
    /// of weight 2 is picked twice as often as one of weight 1.
    ///
    /// The list is the subscription's when the service is subscribed with the same group,
    /// namespace and clusters (no request), otherwise a fresh `list_naming_instance`.
    ///
    /// ```no_run
    /// # let client = nacos_naming::NamingClient::new("127.0.0.1:8848")?;
    /// let instance = client
    ///     .select_one_healthy_instance("user-service")
    ///     .group_name("microservices")
    ///     .send()?;
    /// println!("calling {}", instance.address());
    /// # Ok::<(), nacos_naming::Error>(())
    /// ```
    pub fn select_one_healthy_instance(
        &self,
        service_name: impl Into<String>,
    ) -> SelectInstance<'_> {
        let service = self.service(service_name.into());
        let mut errors = FirstError::default();
        errors.check(validate::service_name(&service.service_name));
        SelectInstance {
            client: self,
            service,
            clusters: Vec::new(),
            errors,
        }
    }
}

/// The builder of [`NamingClient::select_one_healthy_instance`]; [`send`](Self::send) picks.
#[must_use = "nothing is selected until send() is called"]
#[derive(Debug)]
pub struct SelectInstance<'a> {
    client: &'a NamingClient,
    service: ServiceKey,
    clusters: Vec<String>,
    errors: FirstError,
}

impl SelectInstance<'_> {
    crate::calls::builder_setters::cluster_filter_setters! {
        clusters;
        /// Pick only from this cluster (letters, digits and `-`); may be called more than once.
        cluster_name;
        /// Pick only from these clusters.
        clusters;
    }

    crate::calls::builder_setters::service_setters! {
        service;
        /// The group of the service; must not contain `@@`.
        group_name;
        /// The namespace of the service, for this call only.
        namespace_id;
    }

    /// Picks one instance.
    ///
    /// # Errors
    ///
    /// [`Error::NoInstanceAvailable`] when no instance qualifies; [`Error::InvalidParam`] for
    /// the first invalid argument; otherwise the errors of
    /// [`list_naming_instance`](NamingClient::list_naming_instance).
    pub fn send(self) -> Result<Instance, Error> {
        self.errors.into_result()?;
        let key = subscription_key(&self.service, &self.clusters);
        let inner = &self.client.inner;
        let service = match inner.background().subscriber.held(&key) {
            Some(held) => held,
            None => {
                let mut query = ListQuery::new(self.service.clone());
                query.clusters = key.cluster_list();
                inner.list(&query)?
            }
        };
        weighted_random(&service.hosts, random::unit())
            .cloned()
            .ok_or_else(|| Error::NoInstanceAvailable {
                service: self.service.grouped_name(),
            })
    }
}

/// Whether an instance may be chosen: healthy, enabled and of a usable weight above 0.
pub(crate) fn qualifies(instance: &Instance) -> bool {
    instance.healthy && instance.enabled && instance.weight.is_finite() && instance.weight > 0.0
}

/// One of the qualifying `instances`, each with a chance proportional to its weight
/// (fractional weights count), or `None` when none qualifies.
///
/// `random` is a number in `0.0..1.0`; it is a parameter so tests can pin it.
pub(crate) fn weighted_random(instances: &[Instance], random: f64) -> Option<&Instance> {
    let total: f64 = instances
        .iter()
        .filter(|i| qualifies(i))
        .map(|i| i.weight)
        .sum();
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    let mut point = random.clamp(0.0, 1.0) * total;
    let mut last = None;
    for instance in instances.iter().filter(|i| qualifies(i)) {
        if point < instance.weight {
            return Some(instance);
        }
        point -= instance.weight;
        last = Some(instance);
    }
    // Rounding can leave `point` a hair above the last weight: that point belongs to the last.
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(port: u16, weight: f64) -> Instance {
        let mut i = Instance::new("10.0.0.1", port);
        i.weight = weight;
        i
    }

    #[test]
    fn none_when_nothing_qualifies() {
        assert!(weighted_random(&[], 0.5).is_none());
        let mut sick = host(1, 1.0);
        sick.healthy = false;
        let mut off = host(2, 1.0);
        off.enabled = false;
        let hosts = [sick, off, host(3, 0.0), host(4, f64::NAN)];
        for r in [0.0, 0.5, 0.999] {
            assert!(weighted_random(&hosts, r).is_none());
        }
    }

    #[test]
    fn skips_what_does_not_qualify() {
        let mut sick = host(1, 100.0);
        sick.healthy = false;
        let hosts = [sick, host(2, 0.0), host(3, 1.0)];
        for r in [0.0, 0.5, 0.999_999, 1.0] {
            assert_eq!(weighted_random(&hosts, r).unwrap().port, 3);
        }
    }

    #[test]
    fn splits_by_fractional_weights() {
        let hosts = [host(1, 0.25), host(2, 0.75)];
        assert_eq!(weighted_random(&hosts, 0.0).unwrap().port, 1);
        assert_eq!(weighted_random(&hosts, 0.249).unwrap().port, 1);
        assert_eq!(weighted_random(&hosts, 0.251).unwrap().port, 2);
        assert_eq!(weighted_random(&hosts, 1.0).unwrap().port, 2);
    }

    #[test]
    fn the_share_follows_the_weight() {
        let hosts = [host(1, 0.5), host(2, 1.5)];
        // Evenly spaced draws stand in for a uniform generator, so the share is exact.
        let n = 20_000;
        let first = (0..n)
            .filter(|i| {
                weighted_random(&hosts, (*i as f64 + 0.5) / n as f64)
                    .unwrap()
                    .port
                    == 1
            })
            .count();
        assert_eq!(first, n / 4);
    }
}
