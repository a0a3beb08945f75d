//! Choosing one instance to call: weighted random over the instances that can take traffic.

use std::sync::Arc;

use crate::calls::list::ListQuery;
use crate::calls::params::{FirstError, ServiceKey};
use crate::calls::validate;
use crate::client::NamingClient;
use crate::error::Error;
use crate::instance::Instance;
use crate::live::held::{HeldList, KeyRef};
use crate::live::subscription::canonical_clusters;
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
    /// The instance comes behind an `Arc`: from a subscription, it is the one held in the
    /// subscription's list, shared rather than copied, because copying an instance (its
    /// strings and metadata) would cost several times the pick itself. Clone it out with
    /// `Instance::clone(&picked)` where an owned one is needed.
    ///
    /// # Errors
    ///
    /// [`Error::NoInstanceAvailable`] when no instance qualifies; [`Error::InvalidParam`] for
    /// the first invalid argument; otherwise the errors of
    /// [`list_naming_instance`](NamingClient::list_naming_instance).
    pub fn send(self) -> Result<Arc<Instance>, Error> {
        self.errors.into_result()?;
        let clusters = canonical_clusters(&self.clusters);
        let key = KeyRef {
            namespace: self.service.namespace_id.as_deref(),
            group: &self.service.group_name,
            service: &self.service.service_name,
            clusters: &clusters,
        };
        let subscriber = &self.client.inner.background().subscriber;
        let picked = match subscriber.with_held(key, |list| list.pick(random::unit()).cloned()) {
            Some(picked) => picked,
            None => {
                let mut query = ListQuery::new(self.service.clone());
                query.clusters = self.clusters;
                let service = self.client.inner.list(&query)?;
                HeldList::new(service.hosts).pick(random::unit()).cloned()
            }
        };
        picked.ok_or_else(|| Error::NoInstanceAvailable {
            service: self.service.grouped_name(),
        })
    }
}
