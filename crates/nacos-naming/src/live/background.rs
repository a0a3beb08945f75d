//! The client's background work, wired to its core: heartbeats for the instances it registers
//! and the subscriptions it holds.
//!
//! Threads reach the core through a `Weak<ClientInner>`: they never keep a client alive, and
//! once the last handle is gone their next call finds nothing and they end. Dropping the core
//! drops [`Background`], which stops every thread and joins it (except the thread doing the
//! drop, when a listener or a beat let go of the last handle).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::beat_info::BeatInfo;
use crate::calls::heartbeat_request::BeatRequest;
use crate::calls::list::ListQuery;
use crate::calls::params::{InstanceKey, ServiceKey};
use crate::calls::register::Registration;
use crate::client::ClientInner;
use crate::error::Error;
use crate::live::disk_cache::DiskCache;
use crate::live::heartbeat::{BeatConfig, Beater, Heartbeats};
use crate::live::poller::ListSource;
use crate::live::push_receiver::{self, PushSocket};
use crate::live::subscriber::{PushTarget, Subscriber, SubscriberConfig};
use crate::live::subscription::{Policy, SubscriptionKey};
use crate::service_info::ServiceInfo;
use crate::wire::server_list::ServerAddr;

/// The settings of heartbeats and subscriptions, filled by the builder's setters.
#[derive(Debug, Clone)]
pub(crate) struct BackgroundConfig {
    pub(crate) heartbeat_threads: usize,
    pub(crate) heartbeat_interval: Option<Duration>,
    pub(crate) poll_interval: Option<Duration>,
    pub(crate) poll_max_backoff: Duration,
    pub(crate) deliver_empty_lists: bool,
    pub(crate) notify_threads: usize,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) load_cache_at_start: bool,
    pub(crate) udp_push: bool,
    pub(crate) udp_port: u16,
    pub(crate) client_ip: Option<IpAddr>,
    pub(crate) stop_timeout: Duration,
    pub(crate) deregister_on_shutdown: bool,
}

impl Default for BackgroundConfig {
    fn default() -> BackgroundConfig {
        BackgroundConfig {
            heartbeat_threads: 4,
            heartbeat_interval: None,
            poll_interval: None,
            poll_max_backoff: Duration::from_secs(60),
            deliver_empty_lists: true,
            notify_threads: 4,
            cache_dir: None,
            load_cache_at_start: false,
            udp_push: true,
            udp_port: 0,
            client_ip: None,
            stop_timeout: Duration::from_secs(5),
            deregister_on_shutdown: false,
        }
    }
}

/// What can fail when a client is built, done before the core exists.
pub(crate) struct Prepared {
    config: BackgroundConfig,
    push: Option<PushSocket>,
    servers: Vec<(String, u16)>,
}

/// Checks the settings and binds the push socket, so a bad setting or a port in use is an
/// error of `build()`.
pub(crate) fn prepare(config: BackgroundConfig, servers: &[ServerAddr]) -> Result<Prepared, Error> {
    if config.heartbeat_threads == 0 {
        return Err(Error::invalid("heartbeat_threads", "must be at least 1"));
    }
    if config.notify_threads == 0 {
        return Err(Error::invalid("notify_threads", "must be at least 1"));
    }
    for (param, d) in [
        ("heartbeat_interval", config.heartbeat_interval),
        ("poll_interval", config.poll_interval),
        ("poll_max_backoff", Some(config.poll_max_backoff)),
    ] {
        if d.is_some_and(|d| d.is_zero()) {
            return Err(Error::invalid(param, "must be above zero"));
        }
    }
    let servers: Vec<(String, u16)> = servers
        .iter()
        .map(|s| (s.host().to_owned(), s.port()))
        .collect();
    let push = if config.udp_push {
        let client_ip = config.client_ip.unwrap_or_else(|| {
            push_receiver::guess_client_ip(servers.iter().map(|(h, p)| (h.as_str(), *p)))
        });
        Some(PushSocket::bind(config.udp_port, client_ip)?)
    } else {
        None
    };
    Ok(Prepared {
        config,
        push,
        servers,
    })
}

/// Heartbeats and subscriptions of one client.
pub(crate) struct Background {
    pub(crate) heartbeats: Heartbeats<Beats>,
    pub(crate) subscriber: Subscriber,
    client: Weak<ClientInner>,
    servers: Vec<(String, u16)>,
    cache: Option<Arc<DiskCache>>,
    load_cache_at_start: bool,
    stop_timeout: Duration,
    deregister_on_shutdown: bool,
    shut_down: AtomicBool,
}

impl Prepared {
    /// The background of the client `client` will point to (called inside `Arc::new_cyclic`).
    pub(crate) fn start(self, client: Weak<ClientInner>) -> Background {
        let c = self.config;
        let cache = c.cache_dir.map(|dir| Arc::new(DiskCache::new(dir)));
        let heartbeats = Heartbeats::new(
            Arc::new(Beats {
                client: client.clone(),
            }),
            BeatConfig {
                max_threads: c.heartbeat_threads,
                interval: c.heartbeat_interval,
            },
        );
        let subscriber = Subscriber::new(
            SubscriberConfig {
                policy: Policy {
                    deliver_empty: c.deliver_empty_lists,
                    poll_interval: c.poll_interval,
                    max_backoff: c.poll_max_backoff,
                },
                notify_threads: c.notify_threads,
                cache: cache.clone(),
                load_cache_at_start: c.load_cache_at_start,
            },
            self.push,
        );
        Background {
            heartbeats,
            subscriber,
            client,
            servers: self.servers,
            cache,
            load_cache_at_start: c.load_cache_at_start,
            stop_timeout: c.stop_timeout,
            deregister_on_shutdown: c.deregister_on_shutdown,
            shut_down: AtomicBool::new(false),
        }
    }
}

impl Background {
    /// [`Error::Shutdown`] once [`Background::shutdown`] ran.
    pub(crate) fn check_open(&self) -> Result<(), Error> {
        if self.shut_down.load(Ordering::SeqCst) {
            Err(Error::Shutdown)
        } else {
            Ok(())
        }
    }

    /// How long a stop waits for listeners and requests still running.
    pub(crate) fn stop_timeout(&self) -> Duration {
        self.stop_timeout
    }

    /// Adds a listener to a subscription, starting the subscription threads if needed.
    pub(crate) fn subscribe(
        &self,
        key: SubscriptionKey,
        listener: Arc<crate::live::notifier::Listener>,
    ) -> Result<crate::live::subscription::ListenerId, Error> {
        self.check_open()?;
        let push = self.subscriber.push_target();
        let client = self.client.clone();
        self.subscriber.subscribe(
            key,
            listener,
            || Arc::new(Lists { client, push }),
            || push_receiver::resolve_servers(self.servers.iter().map(|(h, p)| (h.as_str(), *p))),
        )
    }

    /// The last known list of a service while no server answers: the subscription's, or the
    /// disk cache's when the client was built to start from it.
    pub(crate) fn fallback_list(&self, key: &SubscriptionKey) -> Option<ServiceInfo> {
        self.subscriber.held(key).or_else(|| match &self.cache {
            Some(cache) if self.load_cache_at_start => cache.read(key),
            _ => None,
        })
    }

    /// Stops every thread; with `deregister`, first deregisters the instances kept alive.
    /// Reports the first failure (a deregistration refused, a thread that did not stop).
    pub(crate) fn shutdown(&self, client: &ClientInner) -> Result<(), Error> {
        self.shut_down.store(true, Ordering::SeqCst);
        let registrations = self.heartbeats.registrations();
        let mut stuck = if self.deregister_on_shutdown {
            self.heartbeats.stop_for_deregistration(self.stop_timeout)
        } else {
            self.heartbeats.stop(self.stop_timeout)
        };
        let mut first_error = None;
        if self.deregister_on_shutdown {
            for r in registrations {
                if let Err(e) = client.deregister(&r.instance, r.ephemeral) {
                    log::warn!(
                        "cannot deregister {}:{} of {}: {e}",
                        r.instance.ip,
                        r.instance.port,
                        r.instance.service.grouped_name()
                    );
                    first_error.get_or_insert(e);
                }
            }
        }
        stuck.extend(self.subscriber.stop(self.stop_timeout));
        match first_error {
            Some(e) => Err(e),
            None if stuck.is_empty() => Ok(()),
            None => Err(Error::Io(std::io::Error::other(format!(
                "threads still running after {:?}: {}",
                self.stop_timeout,
                stuck.join(", ")
            )))),
        }
    }
}

impl Background {
    /// Stops heartbeats and subscriptions and joins their threads (all but the calling one).
    fn stop(&self) {
        let mut stuck = self.heartbeats.stop(self.stop_timeout);
        stuck.extend(self.subscriber.stop(self.stop_timeout));
        if !stuck.is_empty() {
            log::warn!("threads still running after the client was dropped: {stuck:?}");
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Shared by the clones of one `NamingClient`, and only by them. The core itself may outlive
/// the last clone for a moment (a beat or poll in progress holds it), so the background is
/// stopped when the last clone goes, not when the core does: dropping the client joins its
/// threads before the drop returns.
pub(crate) struct Clones(pub(crate) Arc<ClientInner>);

impl Drop for Clones {
    fn drop(&mut self) {
        self.0.background().stop();
    }
}

/// Beats through the client core, while it exists.
pub(crate) struct Beats {
    client: Weak<ClientInner>,
}

impl Beater for Beats {
    type Key = InstanceKey;
    type Registration = Registration;

    fn describe(key: &InstanceKey) -> String {
        format!("{}:{} of {}", key.ip, key.port, key.service.grouped_name())
    }

    fn beat(&self, registration: &Registration, light: bool) -> Result<BeatInfo, Error> {
        let client = self.client.upgrade().ok_or(Error::Shutdown)?;
        let mut beat = BeatRequest::for_registration(registration);
        beat.light = light;
        client.beat(&beat)
    }

    fn register(&self, registration: &Registration) -> Result<(), Error> {
        let client = self.client.upgrade().ok_or(Error::Shutdown)?;
        client.register(registration)
    }

    fn deregister(&self, registration: &Registration) -> Result<(), Error> {
        let client = self.client.upgrade().ok_or(Error::Shutdown)?;
        client.deregister(&registration.instance, registration.ephemeral)
    }
}

/// Lists subscribed services through the client core, while it exists.
struct Lists {
    client: Weak<ClientInner>,
    push: Option<PushTarget>,
}

impl ListSource for Lists {
    fn list(&self, key: &SubscriptionKey) -> Result<ServiceInfo, Error> {
        let client = self.client.upgrade().ok_or(Error::Shutdown)?;
        let mut query = ListQuery::new(ServiceKey {
            namespace_id: key.namespace.clone(),
            group_name: key.group.clone(),
            service_name: key.service.clone(),
        });
        query.clusters = key.cluster_list();
        query.healthy_only = false;
        if let Some(push) = self.push {
            query.udp_port = Some(push.udp_port);
            query.client_ip = Some(push.client_ip.to_string());
        }
        client.list(&query)
    }
}

/// The subscription key of a service filtered to `clusters`.
pub(crate) fn subscription_key(service: &ServiceKey, clusters: &[String]) -> SubscriptionKey {
    SubscriptionKey::new(
        service.namespace_id.as_deref(),
        &service.group_name,
        &service.service_name,
        clusters,
    )
}

impl crate::client::NamingClient {
    /// Stops the client's background work, as dropping its last clone does, but reporting
    /// what went wrong: heartbeats stop, subscriptions end and every thread is joined. With
    /// [`deregister_on_shutdown`](crate::NamingClientBuilder::deregister_on_shutdown), the
    /// instances the client kept alive are deregistered first.
    ///
    /// It affects every clone: afterwards `subscribe` and registering an instance with
    /// heartbeats fail with [`Error::Shutdown`]; other calls still work.
    ///
    /// # Errors
    ///
    /// The first deregistration that failed, or [`Error::Io`] naming the threads still running
    /// (in a listener that did not return) after the
    /// [`stop_timeout`](crate::NamingClientBuilder::stop_timeout).
    pub fn shutdown(self) -> Result<(), Error> {
        self.inner.background().shutdown(&self.inner)
    }
}
