//! Subscriptions as a whole: the registry and the threads that feed it and drain it.
//!
//! The `nacos-poll`, `nacos-push` and `nacos-notify` threads start with the first subscription
//! and stop with [`Subscriber::stop`] (`stop_subscribe`, `shutdown`, the last client dropped).
//! The push socket is bound when the client is built, so a bind error reaches the caller, and
//! stays bound across stops: the port a server knows keeps working.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::Error;
use crate::instance::Instance;
use crate::live::disk_cache::DiskCache;
use crate::live::held::{HeldLists, KeyRef};
use crate::live::notifier::Listener;
use crate::live::poller::{self, ListSource};
use crate::live::push_receiver::{PushReceiver, PushSocket};
use crate::live::subscription::{ListenerId, Policy, Registry, SubscriptionKey};
use crate::live::worker::{self, Worker};
use crate::service_info::ServiceInfo;

/// How subscriptions behave; see the builder setters that fill it.
#[derive(Debug, Clone)]
pub(crate) struct SubscriberConfig {
    pub(crate) policy: Policy,
    pub(crate) notify_threads: usize,
    pub(crate) cache: Option<Arc<DiskCache>>,
    /// Whether subscriptions start from the disk cache while no server answers.
    pub(crate) load_cache_at_start: bool,
}

/// Where servers push to, as the list queries of subscriptions say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PushTarget {
    pub(crate) udp_port: u16,
    pub(crate) client_ip: IpAddr,
}

/// The subscriptions of one client.
pub(crate) struct Subscriber {
    config: SubscriberConfig,
    push: Option<Arc<PushSocket>>,
    next_id: AtomicU64,
    running: Mutex<Option<Running>>,
    /// The held lists every registry this subscriber runs writes to, for picks that must not
    /// wait for `running`'s lock: one shared map for the subscriber's life, so a pick loads one
    /// snapshot, not a registry and then its map. Cleared when the registry stops.
    held: Arc<HeldLists>,
}

/// One start of the threads, until the next stop.
struct Running {
    registry: Arc<Registry>,
    poll: Worker,
    push: Option<(PushReceiver, Worker)>,
}

impl Subscriber {
    /// Subscriptions receiving pushes on `push` when given.
    pub(crate) fn new(config: SubscriberConfig, push: Option<PushSocket>) -> Subscriber {
        Subscriber {
            config,
            push: push.map(Arc::new),
            next_id: AtomicU64::new(1),
            running: Mutex::new(None),
            held: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where servers push to, when the client receives pushes.
    pub(crate) fn push_target(&self) -> Option<PushTarget> {
        self.push.as_ref().map(|socket| PushTarget {
            udp_port: socket.port(),
            client_ip: socket.client_ip(),
        })
    }

    /// Adds `listener` to `key`'s subscription, starting the threads if they are not running:
    /// `source` polls, pushes are accepted from `servers`.
    pub(crate) fn subscribe(
        &self,
        key: SubscriptionKey,
        listener: Arc<Listener>,
        source: impl FnOnce() -> Arc<dyn ListSource>,
        servers: impl FnOnce() -> Vec<IpAddr>,
    ) -> Result<ListenerId, Error> {
        let mut running = self.lock();
        if running.is_none() {
            let started = self.start(source(), servers())?;
            *running = Some(started);
        }
        let registry = &running.as_ref().expect("just started").registry;
        let id = ListenerId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let cache = match (&self.config.cache, self.config.load_cache_at_start) {
            (Some(cache), true) => Some(cache.clone()),
            _ => None,
        };
        registry.subscribe(key.clone(), id, listener, || cache?.read(&key));
        Ok(id)
    }

    fn start(&self, source: Arc<dyn ListSource>, servers: Vec<IpAddr>) -> Result<Running, Error> {
        let registry = Arc::new(
            Registry::new(
                self.config.policy.clone(),
                self.config.notify_threads,
                self.config.cache.clone(),
            )
            .holding_lists_in(self.held.clone()),
        );
        let poll = poller::spawn(registry.clone(), source)?;
        let push = match &self.push {
            None => None,
            Some(socket) => match PushReceiver::spawn(socket.clone(), registry.clone(), servers) {
                Ok(push) => Some(push),
                Err(e) => {
                    registry.stop(Duration::ZERO);
                    worker::join_all(vec![poll], Duration::from_secs(1));
                    return Err(Error::Io(e));
                }
            },
        };
        Ok(Running {
            registry,
            poll,
            push,
        })
    }

    /// Removes `id` (or, without one, every listener) from the subscriptions `matches`
    /// selects; a subscription left without listeners is no longer polled.
    pub(crate) fn unsubscribe(
        &self,
        id: Option<ListenerId>,
        matches: impl Fn(&SubscriptionKey) -> bool,
    ) {
        if let Some(running) = &*self.lock() {
            running.registry.unsubscribe(id, matches);
        }
    }

    /// The list held for `key`, when it is subscribed and known.
    pub(crate) fn held(&self, key: &SubscriptionKey) -> Option<ServiceInfo> {
        self.lock().as_ref()?.registry.held(key)
    }

    /// Picks from the list held for `key` without taking a lock and lends the instance to
    /// `lend`; see [`HeldLists::pick`].
    pub(crate) fn pick_held<R, F>(
        &self,
        key: KeyRef<'_>,
        random: f64,
        lend: F,
    ) -> Result<Option<R>, F>
    where
        F: FnOnce(&Arc<Instance>) -> R,
    {
        self.held.pick(key, random, lend)
    }

    /// Drops every subscription and stops the threads, waiting at most `timeout` for
    /// listeners still running. Returns the names of threads that did not stop in time.
    pub(crate) fn stop(&self, timeout: Duration) -> Vec<String> {
        let Some(running) = self.lock().take() else {
            return Vec::new();
        };
        self.held.clear();
        let mut stuck = running.registry.stop(timeout);
        let mut workers = vec![running.poll];
        if let Some((receiver, worker)) = running.push {
            receiver.stop();
            workers.push(worker);
        }
        stuck.extend(worker::join_all(workers, timeout));
        stuck
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let stuck = self.stop(Duration::from_secs(5));
        if !stuck.is_empty() {
            log::warn!("threads still running after the client was dropped: {stuck:?}");
        }
    }
}
