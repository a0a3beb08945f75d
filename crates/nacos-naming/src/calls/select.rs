//! Choosing one instance to call: weighted random over the instances that can take traffic.

use std::sync::Arc;

use crate::calls::list::ListQuery;
use crate::calls::params::{FirstError, ServiceKey};
use crate::calls::validate;
use crate::client::NamingClient;
use crate::error::Error;
use crate::instance::Instance;
use crate::instance::DEFAULT_GROUP;
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
        // The name is checked only when no held list answers (see `pick`).
        SelectInstance {
            client: self,
            service_name: service_name.into(),
            group_name: None,
            namespace_id: None,
            clusters: Vec::new(),
            errors: FirstError::default(),
        }
    }
}

/// The builder of [`NamingClient::select_one_healthy_instance`]; [`send`](Self::send) picks.
#[must_use = "nothing is selected until send() is called"]
#[derive(Debug)]
pub struct SelectInstance<'a> {
    client: &'a NamingClient,
    // The parts of a service key, with the defaults left unfilled: a pick from a held list
    // then allocates nothing but what the caller passed in.
    service_name: String,
    /// `None`: `DEFAULT_GROUP`.
    group_name: Option<String>,
    /// `None`: the client's namespace.
    namespace_id: Option<String>,
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

    crate::calls::builder_setters::string_setters! {
        /// The group of the service; must not contain `@@`.
        ///
        /// Defaults to `DEFAULT_GROUP`.
        group_name / set_group_name => group_name = Some
    }

    crate::calls::builder_setters::string_setters! {
        /// The namespace of the service, for this call only.
        ///
        /// Defaults to the client's namespace.
        namespace_id / set_namespace_id => namespace_id = Some
    }

    /// Picks one instance.
    ///
    /// The instance comes behind an `Arc`: from a subscription, it is the one held in the
    /// subscription's list, shared rather than copied, because copying an instance (its
    /// strings and metadata) would cost several times the pick itself. Clone it out with
    /// `Instance::clone(&picked)` where an owned one is needed. On a hot path picked from
    /// several threads at once, [`send_with`](Self::send_with) is cheaper.
    ///
    /// # Errors
    ///
    /// [`Error::NoInstanceAvailable`] when no instance qualifies; [`Error::InvalidParam`] for
    /// the first invalid argument; otherwise the errors of
    /// [`list_naming_instance`](NamingClient::list_naming_instance).
    pub fn send(self) -> Result<Arc<Instance>, Error> {
        self.pick(Arc::clone)
    }

    /// Picks one instance and lends it to `use_instance`, returning what that returns: the
    /// pick for a hot path called from many threads at once.
    ///
    /// [`send`](Self::send) hands out an `Arc` of the instance held in the subscription's
    /// list, so threads picking the same instance all write its one reference count, a write
    /// each core must take over from the others (one shared cache line per instance). Lending
    /// writes nothing shared: threads picking from the same subscription only read, and scale
    /// with the cores. Take out what the call needs (the address, a port, a metadata value).
    ///
    /// ```no_run
    /// # let client = nacos_naming::NamingClient::new("127.0.0.1:8848")?;
    /// let address = client
    ///     .select_one_healthy_instance("user-service")
    ///     .send_with(|instance| instance.address())?;
    /// println!("calling {address}");
    /// # Ok::<(), nacos_naming::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); `use_instance` runs only when an instance was picked.
    pub fn send_with<R>(self, use_instance: impl FnOnce(&Instance) -> R) -> Result<R, Error> {
        self.pick(|picked| use_instance(picked))
    }

    /// Picks one instance and runs `lend` on it, from the subscription's held list when there
    /// is one, otherwise from a fresh list.
    fn pick<R>(mut self, lend: impl FnOnce(&Arc<Instance>) -> R) -> Result<R, Error> {
        let errors = std::mem::take(&mut self.errors);
        let clusters = canonical_clusters(&self.clusters);
        let inner = &self.client.inner;
        let namespace = self.namespace_id.as_deref().or(inner.namespace());
        let group = self.group_name.as_deref().unwrap_or(DEFAULT_GROUP);
        let lend = if errors.is_empty() {
            let key = KeyRef {
                namespace,
                group,
                service: &self.service_name,
                clusters: &clusters,
            };
            match inner
                .background()
                .subscriber
                .pick_held(key, random::unit(), lend)
            {
                Ok(picked) => return picked.ok_or_else(|| self.nothing_to_pick()),
                Err(not_held) => not_held,
            }
        } else {
            lend
        };
        // A name found among the held lists was checked when it was subscribed: only a name
        // that is not is checked here, on the path that asks a server. Its error comes first,
        // as the name is the first argument.
        validate::service_name(&self.service_name)?;
        errors.into_result()?;
        let mut service = ServiceKey::new(namespace.map(str::to_owned), self.service_name.clone());
        service.group_name = group.to_owned();
        let mut query = ListQuery::new(service);
        query.clusters = self.clusters.clone();
        let listed = inner.list(&query)?;
        HeldList::new(listed.hosts)
            .pick(random::unit())
            .map(lend)
            .ok_or_else(|| self.nothing_to_pick())
    }

    fn nothing_to_pick(&self) -> Error {
        let group = self.group_name.as_deref().unwrap_or(DEFAULT_GROUP);
        Error::NoInstanceAvailable {
            service: crate::service_info::grouped_name(group, &self.service_name),
        }
    }
}
