//! `subscribe`, `unsubscribe` and `stop_subscribe`: listening to a service's changes.

use std::sync::Arc;

use crate::calls::params::{FirstError, ServiceKey};
use crate::calls::validate;
use crate::client::NamingClient;
use crate::error::Error;
use crate::live::background::subscription_key;
use crate::live::subscription::{canonical_clusters, ListenerId};
use crate::service_event::ServiceEvent;

impl NamingClient {
    /// Calls `listener` with every change of `service_name`'s instances, from now until
    /// [`unsubscribe`](Self::unsubscribe), [`stop_subscribe`](Self::stop_subscribe),
    /// [`shutdown`](Self::shutdown) or the last clone of the client is dropped.
    ///
    /// The first event carries the current list, every instance in `added`; each later event
    /// carries the new list and what was added, removed and modified since the previous one.
    /// Changes arrive by UDP push from servers that push, and by polling at the service's
    /// `cacheMillis` in any case. While no server answers, the listener keeps what it was last
    /// told and hears nothing; it hears of the next change once a server answers.
    ///
    /// Listeners run on the client's `nacos-notify` threads, one event at a time and in order
    /// for each listener; a listener that panics or blocks holds up no other listener. A
    /// listener still running when more changes arrive is called once more afterwards, with
    /// the newest list and what changed since the list it last received: it never falls
    /// behind the current list, and a flood of changes costs no memory while it runs. A
    /// listener that captures a clone of this client keeps the client alive until it is
    /// unsubscribed.
    ///
    /// ```no_run
    /// # let client = nacos_naming::NamingClient::new("127.0.0.1:8848")?;
    /// use nacos_naming::ServiceEvent;
    ///
    /// let id = client
    ///     .subscribe("user-service", |event: &ServiceEvent| {
    ///         for instance in &event.added {
    ///             println!("up: {}", instance.address());
    ///         }
    ///         for instance in &event.removed {
    ///             println!("down: {}", instance.address());
    ///         }
    ///     })
    ///     .cluster_name("production")
    ///     .group_name("microservices")
    ///     .send()?;
    /// // Later:
    /// client.unsubscribe("user-service").listener(id).group_name("microservices").send()?;
    /// # Ok::<(), nacos_naming::Error>(())
    /// ```
    pub fn subscribe<F>(&self, service_name: impl Into<String>, listener: F) -> Subscribe<'_>
    where
        F: Fn(&ServiceEvent) + Send + Sync + 'static,
    {
        let service = self.service(service_name.into());
        let mut errors = FirstError::default();
        errors.check(validate::service_name(&service.service_name));
        Subscribe {
            client: self,
            service,
            clusters: Vec::new(),
            listener: Arc::new(listener),
            errors,
        }
    }

    /// Removes listeners of `service_name`: the one [`listener`](Unsubscribe::listener) names,
    /// or all of them. A service left without listeners is no longer polled.
    ///
    /// Without [`cluster_name`](Unsubscribe::cluster_name) or
    /// [`clusters`](Unsubscribe::clusters) it applies to the service's subscriptions of any
    /// clusters. Unsubscribing what is not subscribed does nothing. After it returns the
    /// listeners are not called again (a call already running finishes).
    pub fn unsubscribe(&self, service_name: impl Into<String>) -> Unsubscribe<'_> {
        let service = self.service(service_name.into());
        let mut errors = FirstError::default();
        errors.check(validate::service_name(&service.service_name));
        Unsubscribe {
            client: self,
            service,
            clusters: None,
            listener: None,
            errors,
        }
    }

    /// Ends every subscription and stops the `nacos-poll`, `nacos-push` and `nacos-notify`
    /// threads, waiting for them (a listener still running gets up to the
    /// [`stop_timeout`](crate::NamingClientBuilder::stop_timeout)). Subscribing again starts
    /// them again.
    pub fn stop_subscribe(&self) {
        let background = self.inner.background();
        let stuck = background.subscriber.stop(background.stop_timeout());
        if !stuck.is_empty() {
            log::warn!("threads still running after stop_subscribe: {stuck:?}");
        }
    }
}

/// The builder of [`NamingClient::subscribe`]; [`send`](Self::send) subscribes.
#[must_use = "nothing is subscribed until send() is called"]
pub struct Subscribe<'a> {
    client: &'a NamingClient,
    service: ServiceKey,
    clusters: Vec<String>,
    listener: Arc<crate::live::notifier::Listener>,
    errors: FirstError,
}

impl std::fmt::Debug for Subscribe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscribe")
            .field("service", &self.service)
            .field("clusters", &self.clusters)
            .finish_non_exhaustive()
    }
}

impl Subscribe<'_> {
    crate::calls::builder_setters::cluster_filter_setters! {
        clusters;
        /// Watch only the instances of this cluster (letters, digits and `-`); may be called more
        /// than once.
        cluster_name;
        /// Watch only the instances of these clusters.
        clusters;
    }

    crate::calls::builder_setters::service_setters! {
        service;
        /// The group of the service; must not contain `@@`.
        group_name;
        /// The namespace of the service, for this subscription only.
        namespace_id;
    }

    /// Subscribes, and returns the id that unsubscribes this listener alone. The first event
    /// follows as soon as a server answers (or the disk cache, see
    /// [`load_cache_at_start`](crate::NamingClientBuilder::load_cache_at_start)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for the first invalid argument; [`Error::Shutdown`] after
    /// [`shutdown`](NamingClient::shutdown); [`Error::Io`] when a thread cannot be started.
    /// An unreachable server is not an error: the subscription waits for it.
    pub fn send(self) -> Result<ListenerId, Error> {
        self.errors.into_result()?;
        let key = subscription_key(&self.service, &self.clusters);
        self.client.inner.background().subscribe(key, self.listener)
    }
}

/// The builder of [`NamingClient::unsubscribe`]; [`send`](Self::send) unsubscribes.
#[must_use = "nothing is unsubscribed until send() is called"]
#[derive(Debug)]
pub struct Unsubscribe<'a> {
    client: &'a NamingClient,
    service: ServiceKey,
    clusters: Option<Vec<String>>,
    listener: Option<ListenerId>,
    errors: FirstError,
}

impl Unsubscribe<'_> {
    /// Remove only this listener (the id [`Subscribe::send`] returned).
    ///
    /// Defaults to every listener of the service.
    pub fn listener(mut self, id: ListenerId) -> Self {
        self.listener = Some(id);
        self
    }

    /// Only the subscription filtered to this cluster (with the others given); may be called
    /// more than once.
    ///
    /// Defaults to subscriptions of any clusters.
    pub fn cluster_name(mut self, cluster_name: impl Into<String>) -> Self {
        let cluster_name = cluster_name.into();
        self.errors.check(validate::cluster_name(&cluster_name));
        self.clusters
            .get_or_insert_with(Vec::new)
            .push(cluster_name);
        self
    }

    /// Only the subscription filtered to exactly these clusters.
    ///
    /// Defaults to subscriptions of any clusters.
    pub fn clusters<I, S>(mut self, clusters: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.clusters.get_or_insert_with(Vec::new);
        for cluster in clusters {
            self = self.cluster_name(cluster);
        }
        self
    }

    crate::calls::builder_setters::service_setters! {
        service;
        /// The group of the service.
        group_name;
        /// The namespace of the service.
        namespace_id;
    }

    /// Unsubscribes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for the first invalid argument.
    pub fn send(self) -> Result<(), Error> {
        self.errors.into_result()?;
        let target = subscription_key(&self.service, &[]);
        let clusters = self.clusters.map(canonical_clusters);
        self.client
            .inner
            .background()
            .subscriber
            .unsubscribe(self.listener, |key| {
                key.namespace == target.namespace
                    && key.grouped_name() == target.grouped_name()
                    && clusters.as_ref().is_none_or(|c| *c == key.clusters)
            });
        Ok(())
    }
}
