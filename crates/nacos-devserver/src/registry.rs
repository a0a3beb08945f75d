//! The naming registry: namespaces → services → clusters → instances, with health, checksums
//! and push subscribers. It knows nothing of HTTP, files or sockets; callers get back what to
//! persist, and a listener hears which services changed.
//!
//! Locking: one `RwLock` over the map of namespaces and services, held only to find or
//! insert a service, then one `Mutex` per service for everything inside it. The map lock is
//! always taken before a service lock, never the other way round.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use nacos_naming::Instance;

use tokio::sync::Notify;

use crate::list_cache::{ListCache, DEFAULT_LIST_CACHE_MEMORY};
use crate::observe::{Census, Metrics};
use crate::service::{
    Beat, ListQuery, Metadata, Modification, Registration, Service, EXPIRE_TIMEOUT_KEY,
    HEALTH_TIMEOUT_KEY,
};
use crate::store::{Change, Journal, KeptModify, Receipt, ServiceRecord, StoredInstance};
use crate::subscribers::{Limits, SUBSCRIPTIONS_PER_IP};
use crate::version::Identity;

/// Called with each service whose instance set changed while it had push subscribers.
pub(crate) type ChangeListener = Box<dyn Fn(&Arc<Service>) + Send + Sync>;

/// Timings of the registry, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timings {
    /// An ephemeral instance without a beat for this long is marked unhealthy.
    pub(crate) health_timeout: u64,
    /// An ephemeral instance without a beat for this long is removed.
    pub(crate) expire_timeout: u64,
    /// A push subscriber that has not listed again for this long is forgotten.
    pub(crate) subscriber_ttl: u64,
    /// A service without instances for this long, and without push subscribers, is dropped,
    /// its definition with it (official servers clean empty services too). Keeping it a while
    /// keeps its `lastRefTime` increasing for clients that list it again.
    pub(crate) empty_service_ttl: u64,
}

/// Why a call found nothing to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No such service (or only an implicit, empty one).
    ServiceNotFound,
    /// The service exists; the instance does not.
    InstanceNotFound,
    /// `create_service` of a service that exists.
    ServiceExists,
    /// `delete_service` of a service that still has instances.
    ServiceNotEmpty,
    /// A registration of the kind the service does not hold (2.x and 3.x): `true` when the
    /// service is ephemeral.
    OtherKind { ephemeral_service: bool },
    /// A modify the service has no room to keep (see `MAX_MODIFIES_BEYOND_INSTANCES`).
    TooManyModifies,
}

/// Another cluster a change found the instance it names in (2.x identity: a move, or a
/// deregister that named another cluster), set while the change runs.
type Elsewhere = std::cell::Cell<Option<Box<str>>>;

/// What a change may have changed of persistent state: what is written if it did.
#[derive(Clone, Copy)]
enum Touched<'a> {
    /// One instance, at `cluster` and maybe at the cluster `elsewhere` names.
    Instance {
        cluster: &'a str,
        ip: &'a str,
        port: u16,
        elsewhere: &'a Elsewhere,
    },
    /// The service's definition.
    Definition,
    /// Only the kept modifies that changed (written whatever the call touched).
    Modifies,
}

/// A service's definition as the service API shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServiceDetail {
    pub(crate) namespace: String,
    pub(crate) group: String,
    pub(crate) name: String,
    pub(crate) protect_threshold: f32,
    pub(crate) metadata: Metadata,
    pub(crate) clusters: Vec<String>,
    /// Whether it holds ephemeral instances (persistent when nothing fixed it yet).
    pub(crate) ephemeral: bool,
}

/// One service as the admin service list shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServiceSummary {
    pub(crate) group: String,
    pub(crate) name: String,
    pub(crate) clusters: usize,
    pub(crate) instances: usize,
    pub(crate) healthy: usize,
    /// The share of healthy instances is at or below the protection threshold.
    pub(crate) protected: bool,
}

/// The services of one namespace, by grouped name.
type Namespace = HashMap<Box<str>, Arc<Service>>;

/// The registry.
pub(crate) struct Registry {
    namespaces: RwLock<HashMap<Box<str>, Namespace>>,
    timings: Timings,
    identity: Identity,
    epoch: Instant,
    /// Where persistent changes are written, when the server has a data directory.
    journal: OnceLock<Arc<Journal>>,
    on_change: ChangeListener,
    /// Wakes the health loop when a change brings a deadline before its planned scan.
    wake: Notify,
    /// When the health loop scans next (registry clock); `u64::MAX` while it waits for a change.
    planned: AtomicU64,
    /// The shortest timeout of the deadlines that woke the health loop since its last scan.
    woken_by: AtomicU64,
    /// Health scans so far: how tests see that an idle server stays idle.
    scans: AtomicU64,
    /// The cap on push subscriptions per client IP address.
    push_limits: Arc<Limits>,
    /// Requests and pushes counted for `/nacos/actuator/prometheus`.
    metrics: Metrics,
    /// The rendered list answers of all services, within one budget.
    list_cache: ListCache,
}

/// What a health scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scan {
    /// When the scan ran (registry clock).
    pub(crate) at: u64,
    /// When the next thing is due, if anything is.
    pub(crate) next: Option<u64>,
    /// The shortest timeout among the instances it saw (the server's when there are none).
    pub(crate) shortest_timeout: u64,
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new(timings: Timings, identity: Identity, on_change: ChangeListener) -> Registry {
        Registry {
            namespaces: RwLock::new(HashMap::new()),
            timings,
            identity,
            epoch: Instant::now(),
            journal: OnceLock::new(),
            on_change,
            wake: Notify::new(),
            planned: AtomicU64::new(u64::MAX),
            woken_by: AtomicU64::new(u64::MAX),
            scans: AtomicU64::new(0),
            push_limits: Limits::new(SUBSCRIPTIONS_PER_IP),
            metrics: Metrics::default(),
            list_cache: ListCache::new(DEFAULT_LIST_CACHE_MEMORY),
        }
    }

    /// The server's counters.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// How many namespaces, services, instances, subscribers and cached answers there are now.
    pub(crate) fn census(&self) -> Census {
        let services: Vec<Arc<Service>> = {
            let map = self
                .namespaces
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            map.values().flat_map(|s| s.values().cloned()).collect()
        };
        let mut census = Census {
            namespaces: services
                .iter()
                .map(|s| &s.namespace)
                .collect::<std::collections::HashSet<_>>()
                .len(),
            services: services.len(),
            cached_answers: self.list_cache.len(),
            cached_answer_bytes: self.list_cache.bytes(),
            ..Census::default()
        };
        for service in &services {
            {
                let state = service.lock();
                for (_, _, _, record) in state.records() {
                    census.instances += 1;
                    census.healthy_instances += usize::from(record.healthy);
                }
            }
            census.subscribers += self.subscribers(service).len();
        }
        census
    }

    /// Caps the push subscriptions of one IP address, across all services.
    pub(crate) fn subscriptions_per_ip(mut self, max: usize) -> Registry {
        self.push_limits = Limits::new(max);
        self
    }

    /// Bounds the bytes of rendered list answers kept, all services together.
    pub(crate) fn list_cache_memory(mut self, bytes: usize) -> Registry {
        self.list_cache = ListCache::new(bytes);
        self
    }

    /// The rendered list answers of all services.
    pub(crate) fn list_cache(&self) -> &ListCache {
        &self.list_cache
    }

    /// Resolves when a change brought a deadline before the planned scan (see
    /// [`plan`](Self::plan)).
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// The health loop is about to scan: every deadline a change brings from now on wakes it
    /// (it learns of those before the scan from the scan itself).
    pub(crate) fn scanning(&self) {
        self.planned.store(u64::MAX, Ordering::SeqCst);
        self.woken_by.store(u64::MAX, Ordering::SeqCst);
    }

    /// The shortest timeout among the deadlines that woke the health loop since its last scan.
    pub(crate) fn woken_by(&self) -> u64 {
        self.woken_by.load(Ordering::SeqCst)
    }

    /// The health loop plans its next scan for `next` (none: it waits for a change); returns
    /// the plan, moved earlier if a change brought an earlier deadline meanwhile.
    pub(crate) fn plan(&self, next: Option<u64>) -> u64 {
        let next = next.unwrap_or(u64::MAX);
        self.planned.fetch_min(next, Ordering::SeqCst).min(next)
    }

    /// A change at `now` brought something due `after` ms later: wakes the health loop if that
    /// comes before its planned scan. Most changes (a beat, a registration with the server's
    /// timeouts) bring nothing earlier than what is planned, and cost one atomic read.
    fn schedule(&self, now: u64, after: u64) {
        let at = now.saturating_add(after);
        if at < self.planned.load(Ordering::SeqCst)
            && at < self.planned.fetch_min(at, Ordering::SeqCst)
        {
            self.woken_by.fetch_min(after, Ordering::SeqCst);
            // A permit is kept if the loop is not waiting yet, so no wake-up is lost.
            self.wake.notify_one();
        }
    }

    /// How many health scans have run.
    #[cfg(test)]
    pub(crate) fn scans(&self) -> u64 {
        self.scans.load(Ordering::Relaxed)
    }

    /// Milliseconds since the registry was made: the clock of beats and deadlines.
    pub(crate) fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The instant of a registry-clock time.
    pub(crate) fn instant(&self, at: u64) -> Instant {
        self.epoch + Duration::from_millis(at)
    }

    fn find(&self, namespace: &str, grouped: &str) -> Option<Arc<Service>> {
        let map = self
            .namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(namespace)?.get(grouped).cloned()
    }

    fn find_or_create(&self, namespace: &str, grouped: &str) -> Arc<Service> {
        if let Some(found) = self.find(namespace, grouped) {
            return found;
        }
        let mut map = self
            .namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(namespace.into())
            .or_default()
            .entry(grouped.into())
            .or_insert_with(|| Arc::new(Service::new(namespace, grouped)))
            .clone()
    }

    /// Writes persistent changes to `journal` from now on (set once, before serving).
    pub(crate) fn keep_in(&self, journal: Arc<Journal>) {
        let _ = self.journal.set(journal);
    }

    /// Runs `change` on the service's state (created if `create`), then settles the change:
    /// cached answers dropped, subscribers told, and, if persistent state moved, what
    /// `touched` names queued for the data directory (a receipt to wait for).
    fn change<R>(
        &self,
        namespace: &str,
        grouped: &str,
        create: bool,
        touched: Touched<'_>,
        change: impl FnOnce(&mut crate::service::ServiceState, u64) -> R,
    ) -> Option<(R, Option<Receipt>)> {
        let mut change = Some(change);
        loop {
            let service = if create {
                self.find_or_create(namespace, grouped)
            } else {
                self.find(namespace, grouped)?
            };
            let mut state = service.lock();
            if state.removed {
                // Lost a race with a cleanup or a delete: look it up again.
                drop(state);
                if create {
                    continue;
                }
                return None;
            }
            let now = self.now();
            let change = change.take()?;
            let result = change(&mut state, now);
            // No deadline a change brings (an instance's health or expiry, an emptied service's
            // cleanup) comes sooner than this, except an instance's own shorter timeouts, which
            // the callers schedule.
            let soonest = self
                .timings
                .health_timeout
                .min(self.timings.expire_timeout)
                .min(self.timings.empty_service_ttl);
            self.schedule(now, soonest);
            let changed = state.settle(now, wall_ms());
            let notify = changed && !state.subscribers.is_empty();
            let receipt = if std::mem::take(&mut state.persist_changed) {
                self.persist(&service, &mut state, touched)
            } else {
                None
            };
            drop(state);
            if notify {
                (self.on_change)(&service);
            }
            return Some((result, receipt));
        }
    }

    /// Queues the new state of what `touched` names for the data directory, if there is one.
    /// Called under the service's lock, so one service's changes are logged in order; the cost
    /// is that of one instance (or one definition), whatever the service holds.
    fn persist(
        &self,
        service: &Service,
        state: &mut crate::service::ServiceState,
        touched: Touched<'_>,
    ) -> Option<Receipt> {
        let modifies = state.take_changed_modifies();
        let journal = self.journal.get()?;
        let namespace = service.namespace.to_string();
        let grouped = service.grouped.to_string();
        let changes = match touched {
            Touched::Instance {
                cluster,
                ip,
                port,
                elsewhere,
            } => {
                let mut changes = vec![instance_change(service, state, cluster, ip, port)];
                match elsewhere.take() {
                    Some(other) if *other != *cluster => {
                        changes.push(instance_change(service, state, &other, ip, port));
                    }
                    _ => {}
                }
                changes
            }
            Touched::Definition => vec![Change::Define {
                namespace: namespace.clone(),
                service: grouped.clone(),
                defined: state.defined && !state.removed,
                protect_threshold: state.protect_threshold,
                metadata: state.metadata.clone(),
                ephemeral: state.kind(),
            }],
            Touched::Modifies => Vec::new(),
        };
        let changes = changes
            .into_iter()
            .chain(modifies.into_iter().map(|(key, kept)| {
                let (cluster, ip, port) = (key.0.into_string(), key.1.into_string(), key.2);
                match kept {
                    Some((weight, enabled, metadata)) => Change::Modify {
                        namespace: namespace.clone(),
                        service: grouped.clone(),
                        modify: KeptModify {
                            cluster,
                            ip,
                            port,
                            weight,
                            enabled,
                            metadata,
                        },
                    },
                    None => Change::Unmodify {
                        namespace: namespace.clone(),
                        service: grouped.clone(),
                        cluster,
                        ip,
                        port,
                    },
                }
            }));
        Some(journal.submit(changes.collect()))
    }

    /// Registers (or replaces) an instance; a receipt when persistent state changed. Refused
    /// when the service holds the other kind of instance (2.x and 3.x).
    pub(crate) fn register(
        &self,
        namespace: &str,
        grouped: &str,
        reg: Registration,
    ) -> Result<Option<Receipt>, Refusal> {
        let own = own_timeout(&reg);
        let touched = (reg.cluster.clone(), reg.ip.clone(), reg.port);
        let left = Elsewhere::default();
        let touched = Touched::Instance {
            cluster: &touched.0,
            ip: &touched.1,
            port: touched.2,
            elsewhere: &left,
        };
        let outcome = self.change(namespace, grouped, true, touched, |s, now| {
            if !s.admits(self.identity, reg.ephemeral) {
                return Err(Refusal::OtherKind {
                    ephemeral_service: !reg.ephemeral,
                });
            }
            left.set(s.register(reg, now, self.identity));
            Ok(())
        });
        let receipt = match outcome {
            Some((Err(refusal), _)) => return Err(refusal),
            Some((Ok(()), receipt)) => receipt,
            None => None,
        };
        if let Some(own) = own {
            self.schedule(self.now(), own);
        }
        Ok(receipt)
    }

    /// Removes an instance (nothing happens for an unknown one). Under 2.x identity the
    /// instance of kind `ephemeral` at `ip:port` goes, whatever its cluster.
    pub(crate) fn deregister(
        &self,
        namespace: &str,
        grouped: &str,
        cluster: &str,
        ip: &str,
        port: u16,
        ephemeral: bool,
    ) -> Option<Receipt> {
        let found = Elsewhere::default();
        let touched = Touched::Instance {
            cluster,
            ip,
            port,
            elsewhere: &found,
        };
        self.change(namespace, grouped, false, touched, |s, now| {
            found.set(s.deregister_named(self.identity, cluster, ip, port, ephemeral, now));
        })
        .and_then(|(_, receipt)| receipt)
    }

    /// Replaces weight, enabled, metadata (and health when given) of a known instance (1.4), or
    /// keeps them for the address and lays them over the registration there (2.x, where a
    /// known service is enough: a modify of an address no instance holds changes nothing
    /// visible until one registers there).
    pub(crate) fn modify(
        &self,
        namespace: &str,
        grouped: &str,
        cluster: &str,
        ip: &str,
        port: u16,
        m: Modification,
    ) -> Result<Option<Receipt>, Refusal> {
        // Timeouts of its own count from its last beat, maybe long ago: due at once, maybe.
        let own = metadata_timeout(&m.metadata).is_some();
        let nowhere = Elsewhere::default();
        let touched = Touched::Instance {
            cluster,
            ip,
            port,
            elsewhere: &nowhere,
        };
        let outcome = self.change(namespace, grouped, false, touched, |s, _| {
            s.modify(self.identity, cluster, ip, port, m)
        });
        if own {
            self.schedule(self.now(), 0);
        }
        match outcome {
            None => Err(Refusal::ServiceNotFound),
            Some((Err(crate::service::TooManyModifies), _)) => Err(Refusal::TooManyModifies),
            Some((Ok(false), _)) if self.identity == Identity::PerCluster => {
                Err(Refusal::InstanceNotFound)
            }
            Some((Ok(_), receipt)) => Ok(receipt),
        }
    }

    /// A beat: refreshes a known instance, or registers it from `body` when given (a full beat
    /// carries the instance). `Beat::Unknown` when neither.
    pub(crate) fn beat(
        &self,
        namespace: &str,
        grouped: &str,
        cluster: &str,
        ip: &str,
        port: u16,
        body: Option<Registration>,
    ) -> (Beat, Option<Receipt>) {
        let create = body.is_some();
        let own = body.as_ref().and_then(own_timeout);
        let mut registered = false;
        let mut lapses = Vec::new();
        let left = Elsewhere::default();
        let touched = Touched::Instance {
            cluster,
            ip,
            port,
            elsewhere: &left,
        };
        let outcome = self.change(namespace, grouped, create, touched, |s, now| {
            let beat = s.beat(self.identity, cluster, ip, port, now);
            lapses = s.take_lapses();
            match (beat, body) {
                // The beat's instance is of the kind the service does not hold: its
                // registration would be refused, so the client learns it is unknown.
                (Beat::Unknown, Some(reg)) if !s.admits(self.identity, reg.ephemeral) => {
                    Beat::Unknown
                }
                (Beat::Unknown, Some(reg)) => {
                    let interval = reg
                        .metadata
                        .get(crate::service::BEAT_INTERVAL_KEY)
                        .and_then(|v| v.trim().parse().ok());
                    left.set(s.register(reg, now, self.identity));
                    registered = true;
                    Beat::Accepted(interval)
                }
                (beat, _) => beat,
            }
        });
        for lapse in &lapses {
            crate::observe::lapse(namespace, grouped, lapse);
        }
        if let (Some(own), true) = (own, registered) {
            self.schedule(self.now(), own);
        }
        match outcome {
            Some((beat, receipt)) => (beat, receipt),
            None => (Beat::Unknown, None),
        }
    }

    /// One instance.
    pub(crate) fn instance(
        &self,
        namespace: &str,
        grouped: &str,
        cluster: &str,
        ip: &str,
        port: u16,
    ) -> Result<Instance, Refusal> {
        self.read(namespace, grouped, |service, state| {
            let record = state
                .record(cluster, ip, port)
                .ok_or(Refusal::InstanceNotFound)?;
            Ok(service.instance(cluster, ip, port, record))
        })
    }

    /// `read` of a visible service's state, under its lock; `ServiceNotFound` for any other.
    fn read<R>(
        &self,
        namespace: &str,
        grouped: &str,
        read: impl FnOnce(&Service, &crate::service::ServiceState) -> Result<R, Refusal>,
    ) -> Result<R, Refusal> {
        let service = self
            .find(namespace, grouped)
            .ok_or(Refusal::ServiceNotFound)?;
        let state = service.lock();
        if state.removed || !state.visible() {
            return Err(Refusal::ServiceNotFound);
        }
        read(&service, &state)
    }

    /// Every instance of one cluster, disabled and unhealthy ones included (the v3 admin
    /// list, official `CatalogServiceV2Impl.listInstances`): refused when the service or the
    /// cluster is unknown.
    pub(crate) fn cluster_instances(
        &self,
        namespace: &str,
        grouped: &str,
        cluster: &str,
    ) -> Result<Vec<Instance>, Refusal> {
        self.read(namespace, grouped, |service, state| {
            let instances: Vec<Instance> = state
                .records()
                .filter(|(c, ..)| *c == cluster)
                .map(|(c, ip, port, r)| service.instance(c, ip, port, r))
                .collect();
            if instances.is_empty() {
                return Err(Refusal::InstanceNotFound);
            }
            Ok(instances)
        })
    }

    /// The list answer (JSON), and records `subscriber` for pushes when given.
    pub(crate) fn list(
        &self,
        namespace: &str,
        grouped: &str,
        query: ListQuery<'_>,
        subscriber: Option<SocketAddr>,
    ) -> Bytes {
        // A subscriber is remembered even before the service exists, so it hears of the first
        // registration; a plain query of an unknown service creates nothing.
        loop {
            let service = match subscriber {
                Some(_) => Some(self.find_or_create(namespace, grouped)),
                None => self.find(namespace, grouped),
            };
            let service = service.unwrap_or_else(|| Arc::new(Service::new(namespace, grouped)));
            let mut state = service.lock();
            if let Some(addr) = subscriber {
                if state.removed {
                    // Dropped by a cleanup meanwhile: subscribe to the one replacing it.
                    continue;
                }
                let now = self.now();
                let ttl = self.timings.subscriber_ttl;
                if !state
                    .subscribers
                    .subscribe(addr, query.clusters, now, ttl, &self.push_limits)
                {
                    log::debug!("{addr} not subscribed to {grouped}: it holds its cap");
                }
                // It may have created the service: its cleanup comes no sooner than this.
                self.schedule(now, self.timings.empty_service_ttl);
            }
            return service.render(state, query, &self.list_cache).0;
        }
    }

    /// The instances a list shows (enabled ones of the clusters named, comma-separated, or of
    /// all when empty), health as the protection threshold leaves it; none for an unknown
    /// service.
    pub(crate) fn instances(
        &self,
        namespace: &str,
        grouped: &str,
        clusters: &str,
    ) -> Vec<Instance> {
        let Some(service) = self.find(namespace, grouped) else {
            return Vec::new();
        };
        let state = service.lock();
        if state.removed {
            return Vec::new();
        }
        let query = ListQuery {
            clusters,
            healthy_only: false,
            cache_millis: 0,
        };
        service.service_info(&state, query).hosts
    }

    /// The live subscribers of `service`, with their cluster filters.
    pub(crate) fn subscribers(&self, service: &Service) -> Vec<(SocketAddr, Box<str>)> {
        let now = self.now();
        service
            .lock()
            .subscribers
            .live(now, self.timings.subscriber_ttl)
    }

    /// Creates a service definition, for instances of kind `ephemeral` (official 2.x and 3.x
    /// refuse registrations of the other kind in it).
    pub(crate) fn create_service(
        &self,
        namespace: &str,
        grouped: &str,
        protect_threshold: f32,
        metadata: Metadata,
        ephemeral: bool,
    ) -> Result<Option<Receipt>, Refusal> {
        self.define_service(
            namespace,
            grouped,
            protect_threshold,
            metadata,
            Some(ephemeral),
        )
        .ok_or(Refusal::ServiceExists)
    }

    /// Replaces a service's threshold and metadata.
    pub(crate) fn update_service(
        &self,
        namespace: &str,
        grouped: &str,
        protect_threshold: f32,
        metadata: Metadata,
    ) -> Result<Option<Receipt>, Refusal> {
        self.define_service(namespace, grouped, protect_threshold, metadata, None)
            .ok_or(Refusal::ServiceNotFound)
    }

    /// Sets a service's definition when the service is absent (a create, which names the kind
    /// of its instances) or present (an update); `None` when it is not in the state the call
    /// needs.
    fn define_service(
        &self,
        namespace: &str,
        grouped: &str,
        protect_threshold: f32,
        metadata: Metadata,
        created_kind: Option<bool>,
    ) -> Option<Option<Receipt>> {
        let create = created_kind.is_some();
        let outcome = self.change(namespace, grouped, create, Touched::Definition, |s, _| {
            if s.visible() == create {
                return false;
            }
            if let Some(ephemeral) = created_kind {
                s.set_kind(ephemeral);
            }
            s.defined = true;
            s.protect_threshold = protect_threshold;
            s.metadata = metadata;
            s.definition_changed();
            true
        });
        match outcome {
            Some((true, receipt)) => Some(receipt),
            _ => None,
        }
    }

    /// Deletes an empty service.
    pub(crate) fn delete_service(
        &self,
        namespace: &str,
        grouped: &str,
    ) -> Result<Option<Receipt>, Refusal> {
        let service = self
            .find(namespace, grouped)
            .ok_or(Refusal::ServiceNotFound)?;
        let mut map = self
            .namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut state = service.lock();
        if state.removed || !state.visible() {
            return Err(Refusal::ServiceNotFound);
        }
        if state.len() > 0 {
            return Err(Refusal::ServiceNotEmpty);
        }
        state.removed = true;
        if let Some(services) = map.get_mut(namespace) {
            services.remove(grouped);
            if services.is_empty() {
                map.remove(namespace);
            }
        }
        Ok(self.persist(&service, &mut state, Touched::Definition))
    }

    /// A service's definition.
    pub(crate) fn service_detail(
        &self,
        namespace: &str,
        grouped: &str,
    ) -> Result<ServiceDetail, Refusal> {
        let service = self
            .find(namespace, grouped)
            .ok_or(Refusal::ServiceNotFound)?;
        let state = service.lock();
        if state.removed || !state.visible() {
            return Err(Refusal::ServiceNotFound);
        }
        Ok(ServiceDetail {
            namespace: namespace.to_owned(),
            group: service.group().to_owned(),
            name: service.name().to_owned(),
            protect_threshold: state.protect_threshold,
            metadata: state.metadata.clone(),
            clusters: state.cluster_names().map(str::to_owned).collect(),
            ephemeral: state.kind().unwrap_or(false),
        })
    }

    /// A summary of every visible service of a namespace, sorted by group and name.
    pub(crate) fn service_summaries(&self, namespace: &str) -> Vec<ServiceSummary> {
        let services: Vec<Arc<Service>> = {
            let map = self
                .namespaces
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            match map.get(namespace) {
                Some(services) => services.values().cloned().collect(),
                None => return Vec::new(),
            }
        };
        let mut summaries: Vec<ServiceSummary> = services
            .iter()
            .filter_map(|service| {
                let state = service.lock();
                if state.removed || !state.visible() {
                    return None;
                }
                let healthy = state.records().filter(|(_, _, _, r)| r.healthy).count();
                let total = state.len();
                Some(ServiceSummary {
                    group: service.group().to_owned(),
                    name: service.name().to_owned(),
                    clusters: state.cluster_names().count(),
                    instances: total,
                    healthy,
                    protected: total > 0
                        && (healthy as f64 / total as f64) <= f64::from(state.protect_threshold),
                })
            })
            .collect();
        summaries.sort_unstable_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
        summaries
    }

    /// The namespaces that hold a service, and `public` always, sorted.
    pub(crate) fn namespace_names(&self) -> Vec<String> {
        let map = self
            .namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = map.keys().map(ToString::to_string).collect();
        if !map.contains_key(nacos_naming::DEFAULT_NAMESPACE) {
            names.push(nacos_naming::DEFAULT_NAMESPACE.to_owned());
        }
        names.sort_unstable();
        names
    }

    /// Every instance of a service as it is held: disabled ones too, health as the beat rules
    /// set it (no protection threshold); sorted by cluster and address; none for an unknown
    /// service.
    pub(crate) fn held_instances(&self, namespace: &str, grouped: &str) -> Vec<Instance> {
        let Some(service) = self.find(namespace, grouped) else {
            return Vec::new();
        };
        let state = service.lock();
        if state.removed {
            return Vec::new();
        }
        state
            .records()
            .map(|(cluster, ip, port, r)| service.instance(cluster, ip, port, r))
            .collect()
    }

    /// The names (without group) of the visible services of a group, sorted.
    pub(crate) fn service_names(&self, namespace: &str, group: &str) -> Vec<String> {
        let services: Vec<Arc<Service>> = {
            let map = self
                .namespaces
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            match map.get(namespace) {
                Some(services) => services
                    .values()
                    .filter(|s| s.group() == group)
                    .cloned()
                    .collect(),
                None => return Vec::new(),
            }
        };
        let mut names: Vec<String> = services
            .iter()
            .filter(|s| {
                let state = s.lock();
                !state.removed && state.visible()
            })
            .map(|s| s.name().to_owned())
            .collect();
        names.sort_unstable();
        names
    }

    /// Applies the health rules to every ephemeral instance and drops implicit services that
    /// stayed empty; returns when the next thing is due (registry clock), if anything is.
    pub(crate) fn expire(&self) -> Scan {
        self.scans.fetch_add(1, Ordering::Relaxed);
        let at = self.now();
        let services: Vec<Arc<Service>> = {
            let map = self
                .namespaces
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            map.values().flat_map(|s| s.values().cloned()).collect()
        };
        let Timings {
            health_timeout,
            expire_timeout,
            subscriber_ttl,
            empty_service_ttl,
        } = self.timings;
        let mut next: Option<u64> = None;
        let mut due = |at: u64| next = Some(next.map_or(at, |n: u64| n.min(at)));
        let mut shortest_timeout = health_timeout.min(expire_timeout);
        let mut empty = Vec::new();
        for service in services {
            let now = self.now();
            let mut state = service.lock();
            if state.removed {
                continue;
            }
            if let Some(at) =
                state.expire(now, health_timeout, expire_timeout, &mut shortest_timeout)
            {
                due(at);
            }
            let changed = state.settle(now, wall_ms());
            let notify = changed && !state.subscribers.is_empty();
            let lapses = state.take_lapses();
            if std::mem::take(&mut state.persist_changed) {
                // Modifies a persistent service dropped: nobody waits for the write.
                let _ = self.persist(&service, &mut state, Touched::Modifies);
            }
            if state.len() == 0 {
                let since = state.empty_since().unwrap_or(now);
                let at = since
                    .saturating_add(empty_service_ttl)
                    .max(state.subscribers.until(subscriber_ttl).unwrap_or(0));
                if at <= now {
                    empty.push(service.clone());
                } else {
                    due(at);
                }
            }
            drop(state);
            for lapse in &lapses {
                crate::observe::lapse(&service.namespace, &service.grouped, lapse);
            }
            if notify {
                (self.on_change)(&service);
            }
        }
        for service in empty {
            self.drop_if_empty(&service);
        }
        Scan {
            at,
            next,
            shortest_timeout,
        }
    }

    fn drop_if_empty(&self, service: &Arc<Service>) {
        let mut map = self
            .namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut state = service.lock();
        let now = self.now();
        let subscribed = state
            .subscribers
            .until(self.timings.subscriber_ttl)
            .is_some_and(|until| until > now);
        if state.removed || state.len() > 0 || subscribed {
            return;
        }
        state.removed = true;
        if let Some(services) = map.get_mut(&*service.namespace) {
            services.remove(&*service.grouped);
            if services.is_empty() {
                map.remove(&*service.namespace);
            }
        }
        if state.defined {
            // Its definition was kept: the removal is, too. Nobody waits for the write.
            crate::observe::cleaned(
                &service.namespace,
                &service.grouped,
                self.timings.empty_service_ttl,
            );
            let _ = self.persist(service, &mut state, Touched::Definition);
        }
    }

    /// Loads persisted services (at start, before serving).
    pub(crate) fn load(&self, records: Vec<ServiceRecord>) {
        for record in records {
            self.change(
                &record.namespace,
                &record.service,
                true,
                Touched::Definition,
                |s, now| {
                    s.defined = record.defined;
                    s.protect_threshold = record.protect_threshold;
                    s.metadata = record.metadata;
                    if let Some(ephemeral) = record.ephemeral {
                        s.set_kind(ephemeral);
                    }
                    for m in record.modifies {
                        s.load_modify(&m.cluster, &m.ip, m.port, m.weight, m.enabled, m.metadata);
                    }
                    for i in record.instances {
                        s.register(
                            Registration {
                                cluster: i.cluster,
                                ip: i.ip,
                                port: i.port,
                                weight: i.weight,
                                healthy: i.healthy,
                                enabled: i.enabled,
                                ephemeral: false,
                                metadata: i.metadata,
                            },
                            now,
                            // Loaded as stored, even instances a 1.4 run kept in two clusters.
                            Identity::PerCluster,
                        );
                    }
                    // What was just read needs no writing back.
                    s.persist_changed = false;
                },
            );
        }
    }

    /// Every instance of every namespace as `(namespace, grouped service, instance)`, sorted:
    /// a view for tests and diagnostics.
    #[cfg(test)]
    pub(crate) fn dump(&self) -> Vec<(String, String, Instance)> {
        let map = self
            .namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut all = Vec::new();
        for (ns, services) in map.iter() {
            for service in services.values() {
                let state = service.lock();
                for (c, ip, port, r) in state.records() {
                    all.push((
                        ns.to_string(),
                        service.grouped.to_string(),
                        service.instance(c, ip, port, r),
                    ));
                }
            }
        }
        all.sort_by(|a, b| {
            (&a.0, &a.1, &a.2.cluster_name, &a.2.ip, a.2.port).cmp(&(
                &b.0,
                &b.1,
                &b.2.cluster_name,
                &b.2.ip,
                b.2.port,
            ))
        });
        all
    }
}

/// The shortest timeout an ephemeral registration sets for itself in its metadata.
fn own_timeout(reg: &Registration) -> Option<u64> {
    reg.ephemeral
        .then(|| metadata_timeout(&reg.metadata))
        .flatten()
}

/// The shortest of the timeouts `metadata` sets (`preserved.heart.beat.timeout`,
/// `preserved.ip.delete.timeout`).
fn metadata_timeout(metadata: &Metadata) -> Option<u64> {
    [HEALTH_TIMEOUT_KEY, EXPIRE_TIMEOUT_KEY]
        .iter()
        .filter_map(|key| metadata.get(*key)?.trim().parse::<u64>().ok())
        .min()
}

/// What to write of the instance at `ip:port` in `cluster`: it, when there and persistent;
/// else its removal.
fn instance_change(
    service: &Service,
    state: &crate::service::ServiceState,
    cluster: &str,
    ip: &str,
    port: u16,
) -> Change {
    let (namespace, grouped) = (service.namespace.to_string(), service.grouped.to_string());
    match state.record(cluster, ip, port) {
        Some(r) if !r.ephemeral && !state.removed => Change::Put {
            namespace,
            service: grouped,
            instance: StoredInstance {
                cluster: cluster.to_owned(),
                ip: ip.to_owned(),
                port,
                weight: r.weight,
                healthy: r.healthy,
                enabled: r.enabled,
                metadata: service.instance(cluster, ip, port, r).metadata,
            },
        },
        _ => Change::Remove {
            namespace,
            service: grouped,
            cluster: cluster.to_owned(),
            ip: ip.to_owned(),
            port,
        },
    }
}

/// Wall-clock milliseconds since the epoch (`lastRefTime`).
pub(crate) fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::service::ServiceState;

    const NS: &str = "public";
    const SVC: &str = "DEFAULT_GROUP@@svc";

    fn registry(health: u64, expire: u64) -> (Registry, Arc<Mutex<Vec<String>>>) {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let seen = changes.clone();
        let timings = Timings {
            health_timeout: health,
            expire_timeout: expire,
            subscriber_ttl: 60_000,
            empty_service_ttl: 60_000,
        };
        // These tests were written for 1.4 identity (an address may sit in two clusters).
        let registry = Registry::new(
            timings,
            Identity::PerCluster,
            Box::new(move |s: &Arc<Service>| seen.lock().unwrap().push(s.grouped.to_string())),
        );
        (registry, changes)
    }

    fn reg(cluster: &str, ip: &str, port: u16) -> Registration {
        Registration {
            cluster: cluster.into(),
            ip: ip.into(),
            port,
            weight: 1.0,
            healthy: true,
            enabled: true,
            ephemeral: true,
            metadata: Metadata::new(),
        }
    }

    fn all() -> ListQuery<'static> {
        ListQuery {
            clusters: "",
            healthy_only: false,
            cache_millis: 3000,
        }
    }

    fn list(r: &Registry, query: ListQuery<'_>) -> nacos_naming::ServiceInfo {
        serde_json::from_slice(&r.list(NS, SVC, query, None)).unwrap()
    }

    fn modification(weight: f64) -> Modification {
        Modification {
            weight,
            enabled: true,
            metadata: Metadata::new(),
            healthy: None,
        }
    }

    #[test]
    fn registers_lists_and_deregisters() {
        let (r, _) = registry(15_000, 30_000);
        r.register(NS, SVC, reg("DEFAULT", "10.0.0.2", 80)).unwrap();
        r.register(NS, SVC, reg("DEFAULT", "10.0.0.1", 80)).unwrap();
        let info = list(&r, all());
        assert_eq!(
            (info.name.as_str(), info.group_name.as_str()),
            ("svc", "DEFAULT_GROUP")
        );
        let ips: Vec<_> = info.hosts.iter().map(|h| h.ip.as_str()).collect();
        assert_eq!(ips, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(
            info.hosts[0].instance_id.as_deref(),
            Some("10.0.0.1#80#DEFAULT#DEFAULT_GROUP@@svc")
        );
        assert_eq!(info.hosts[0].service_name, SVC);
        r.deregister(NS, SVC, "DEFAULT", "10.0.0.1", 80, true);
        r.deregister(NS, SVC, "DEFAULT", "10.9.9.9", 80, true);
        assert_eq!(list(&r, all()).hosts.len(), 1);
        assert!(r.dump().iter().all(|(_, _, i)| i.ip == "10.0.0.2"));
    }

    #[test]
    fn checksum_changes_exactly_when_the_instance_set_changes() {
        let (r, _) = registry(15_000, 30_000);
        let sum = |r: &Registry| {
            let info = list(r, all());
            (info.checksum, info.last_ref_time)
        };
        let empty = sum(&r);
        r.register(NS, SVC, reg("DEFAULT", "1.1.1.1", 80)).unwrap();
        let one = sum(&r);
        assert_ne!(one.0, empty.0);
        assert!(one.1 > empty.1 || empty.1 == 0);

        // Things that change nothing: the same registration, a beat, a modify to the same
        // values, removing an unknown instance.
        r.register(NS, SVC, reg("DEFAULT", "1.1.1.1", 80)).unwrap();
        r.beat(NS, SVC, "DEFAULT", "1.1.1.1", 80, None);
        r.modify(NS, SVC, "DEFAULT", "1.1.1.1", 80, modification(1.0))
            .unwrap();
        r.deregister(NS, SVC, "DEFAULT", "9.9.9.9", 80, true);
        let same = sum(&r);
        assert_eq!(same.0, one.0);
        assert!(same.1 >= one.1, "lastRefTime never goes back");
        let one = same;

        // Each of these changes the set, so the checksum and lastRefTime move.
        let mut seen = vec![one.clone()];
        let mut step = |r: &Registry| {
            let now = sum(r);
            assert_ne!(now.0, seen.last().unwrap().0, "checksum did not move");
            assert!(now.1 > seen.last().unwrap().1, "lastRefTime did not move");
            seen.push(now);
        };
        r.modify(NS, SVC, "DEFAULT", "1.1.1.1", 80, modification(2.0))
            .unwrap();
        step(&r);
        let mut m = modification(2.0);
        m.metadata.insert("k".into(), "v".into());
        r.modify(NS, SVC, "DEFAULT", "1.1.1.1", 80, m).unwrap();
        step(&r);
        let mut m = modification(2.0);
        m.enabled = false;
        r.modify(NS, SVC, "DEFAULT", "1.1.1.1", 80, m).unwrap();
        step(&r);
        r.register(NS, SVC, reg("OTHER", "1.1.1.1", 80)).unwrap();
        step(&r);
        let mut unhealthy = reg("OTHER", "1.1.1.1", 80);
        unhealthy.healthy = false;
        r.register(NS, SVC, unhealthy).unwrap();
        step(&r);
        r.deregister(NS, SVC, "OTHER", "1.1.1.1", 80, true);
        step(&r);
        // Back to the set of three steps ago: its checksum again.
        assert_eq!(seen[seen.len() - 1].0, seen[seen.len() - 4].0);

        // The same content gives the same checksum again.
        r.deregister(NS, SVC, "DEFAULT", "1.1.1.1", 80, true);
        r.register(NS, SVC, reg("DEFAULT", "1.1.1.1", 80)).unwrap();
        assert_eq!(sum(&r).0, one.0);
    }

    #[test]
    fn last_ref_time_is_stamped_into_cached_answers() {
        let (r, _) = registry(15_000, 30_000);
        let mut tricky = reg("DEFAULT", "1.1.1.1", 80);
        let lookalike = format!("\"lastRefTime\":{}", i64::MIN);
        tricky.metadata.insert(lookalike.clone(), lookalike.clone());
        r.register(NS, SVC, tricky).unwrap();
        let first = list(&r, all());
        assert!(first.last_ref_time >= wall_ms() - 60_000);
        assert_eq!(first.hosts[0].metadata[&lookalike], lookalike);
        let again = list(&r, all());
        assert!(again.last_ref_time >= first.last_ref_time);
        assert_eq!((again.hosts, again.checksum), (first.hosts, first.checksum));
        r.register(NS, SVC, reg("DEFAULT", "2.2.2.2", 80)).unwrap();
        assert!(list(&r, all()).last_ref_time > again.last_ref_time);
    }

    #[test]
    fn filters_by_cluster_health_and_enabled() {
        let (r, _) = registry(15_000, 30_000);
        r.register(NS, SVC, reg("A", "1.1.1.1", 80)).unwrap();
        let mut sick = reg("B", "2.2.2.2", 80);
        sick.healthy = false;
        r.register(NS, SVC, sick).unwrap();
        let mut off = reg("A", "3.3.3.3", 80);
        off.enabled = false;
        r.register(NS, SVC, off).unwrap();

        let info = list(&r, all());
        assert_eq!(info.hosts.len(), 2, "the disabled instance is left out");
        assert!(!info.reach_protection_threshold);
        let healthy = list(
            &r,
            ListQuery {
                healthy_only: true,
                ..all()
            },
        );
        assert_eq!(healthy.hosts.len(), 1);
        assert_eq!(healthy.hosts[0].ip, "1.1.1.1");
        let b = list(
            &r,
            ListQuery {
                clusters: "B",
                ..all()
            },
        );
        assert_eq!(b.clusters, "B");
        assert_eq!(b.hosts.len(), 1);
        assert_eq!(b.hosts[0].cluster_name, "B");
        let both = list(
            &r,
            ListQuery {
                clusters: "A, B,C",
                ..all()
            },
        );
        assert_eq!(both.hosts.len(), 2);
    }

    #[test]
    fn protection_threshold_returns_everything_marked_healthy() {
        let (r, _) = registry(15_000, 30_000);
        let mut a = reg("DEFAULT", "1.1.1.1", 80);
        a.healthy = false;
        let mut b = reg("DEFAULT", "2.2.2.2", 80);
        b.healthy = false;
        r.register(NS, SVC, a).unwrap();
        r.register(NS, SVC, b).unwrap();
        // Threshold 0, all unhealthy: 0 <= 0, so all come back healthy (official and rnacos).
        let info = list(
            &r,
            ListQuery {
                healthy_only: true,
                ..all()
            },
        );
        assert!(info.reach_protection_threshold);
        assert_eq!(info.hosts.len(), 2);
        assert!(info.hosts.iter().all(|h| h.healthy));

        r.register(NS, SVC, reg("DEFAULT", "3.3.3.3", 80)).unwrap();
        let info = list(&r, all());
        assert!(!info.reach_protection_threshold);
        assert_eq!(info.hosts.iter().filter(|h| h.healthy).count(), 1);
        r.update_service(NS, SVC, 0.5, Metadata::new()).unwrap();
        let info = list(
            &r,
            ListQuery {
                healthy_only: true,
                ..all()
            },
        );
        assert!(info.reach_protection_threshold);
        assert_eq!(info.hosts.len(), 3);
    }

    #[test]
    fn health_marks_unhealthy_then_removes() {
        let (r, changes) = registry(0, 3_600_000);
        r.list(NS, SVC, all(), Some("127.0.0.1:9".parse().unwrap()));
        r.register(NS, SVC, reg("DEFAULT", "1.1.1.1", 80)).unwrap();
        r.register(NS, SVC, reg("DEFAULT", "2.2.2.2", 80)).unwrap();
        let mut persistent = reg("DEFAULT", "3.3.3.3", 80);
        persistent.ephemeral = false;
        r.register(NS, SVC, persistent).unwrap();
        changes.lock().unwrap().clear();
        let next = r.expire().next;
        assert!(next.is_some());
        assert_eq!(changes.lock().unwrap().len(), 1, "one change, pushed once");
        let info = list(&r, all());
        let sick: Vec<_> = info
            .hosts
            .iter()
            .filter(|h| !h.healthy)
            .map(|h| h.ip.as_str())
            .collect();
        assert_eq!(
            sick,
            ["1.1.1.1", "2.2.2.2"],
            "persistent instances are not beat-checked"
        );
        // A beat heals at once.
        assert_eq!(
            r.beat(NS, SVC, "DEFAULT", "1.1.1.1", 80, None).0,
            Beat::Accepted(None)
        );
        assert!(list(&r, all()).hosts[0].healthy);

        let (r, _) = registry(0, 0);
        r.register(NS, SVC, reg("DEFAULT", "1.1.1.1", 80)).unwrap();
        r.expire();
        assert!(list(&r, all()).hosts.is_empty());
    }

    #[test]
    fn expiry_deadlines_follow_the_beats() {
        let mut s = ServiceState::default();
        s.register(reg("DEFAULT", "1.1.1.1", 80), 1_000, Identity::PerCluster);
        assert_eq!(s.expire(1_000, 100, 300, &mut { u64::MAX }), Some(1_100));
        assert_eq!(s.expire(1_150, 100, 300, &mut { u64::MAX }), Some(1_300));
        assert!(s.settle(1_150, 1));
        assert_eq!(
            s.beat(Identity::PerCluster, "DEFAULT", "1.1.1.1", 80, 1_200),
            Beat::Accepted(None)
        );
        assert!(s.settle(1_200, 2), "healing is a change");
        assert_eq!(s.expire(1_250, 100, 300, &mut { u64::MAX }), Some(1_300));
        assert_eq!(s.expire(1_500, 100, 300, &mut { u64::MAX }), None);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn instances_may_set_their_own_timeouts_and_beat_interval() {
        let mut s = ServiceState::default();
        let mut own = reg("DEFAULT", "1.1.1.1", 80);
        own.metadata.insert(HEALTH_TIMEOUT_KEY.into(), "50".into());
        own.metadata.insert(EXPIRE_TIMEOUT_KEY.into(), "80".into());
        own.metadata
            .insert(crate::service::BEAT_INTERVAL_KEY.into(), "20".into());
        s.register(own, 1_000, Identity::PerCluster);
        let mut broken = reg("DEFAULT", "2.2.2.2", 80);
        broken
            .metadata
            .insert(HEALTH_TIMEOUT_KEY.into(), "soon".into());
        s.register(broken, 1_000, Identity::PerCluster);
        assert_eq!(s.expire(1_000, 100, 300, &mut { u64::MAX }), Some(1_050));
        assert_eq!(s.expire(1_050, 100, 300, &mut { u64::MAX }), Some(1_080));
        assert_eq!(
            s.expire(1_080, 100, 300, &mut { u64::MAX }),
            Some(1_100),
            "an unreadable value is ignored"
        );
        assert_eq!(s.len(), 1);
        assert_eq!(
            s.beat(Identity::PerCluster, "DEFAULT", "2.2.2.2", 80, 1_090),
            Beat::Accepted(None)
        );

        let (r, _) = registry(15_000, 30_000);
        let mut body = reg("DEFAULT", "1.1.1.1", 80);
        body.metadata
            .insert(crate::service::BEAT_INTERVAL_KEY.into(), "1234".into());
        let beat = r.beat(NS, SVC, "DEFAULT", "1.1.1.1", 80, Some(body)).0;
        assert_eq!(beat, Beat::Accepted(Some(1234)));
        let light = r.beat(NS, SVC, "DEFAULT", "1.1.1.1", 80, None).0;
        assert_eq!(light, Beat::Accepted(Some(1234)));
        let mut own = Metadata::new();
        own.insert(HEALTH_TIMEOUT_KEY.into(), "100".into());
        own.insert(EXPIRE_TIMEOUT_KEY.into(), "x".into());
        assert_eq!(metadata_timeout(&own), Some(100));
        own.insert(EXPIRE_TIMEOUT_KEY.into(), "70".into());
        assert_eq!(metadata_timeout(&own), Some(70));
    }

    #[test]
    fn beats_for_unknown_instances_and_re_registration() {
        let (r, _) = registry(15_000, 30_000);
        assert_eq!(
            r.beat(NS, SVC, "DEFAULT", "1.1.1.1", 80, None).0,
            Beat::Unknown
        );
        let mut body = reg("DEFAULT", "1.1.1.1", 80);
        body.weight = 3.0;
        body.metadata.insert("from".into(), "beat".into());
        assert_eq!(
            r.beat(NS, SVC, "DEFAULT", "1.1.1.1", 80, Some(body)).0,
            Beat::Accepted(None)
        );
        let i = r.instance(NS, SVC, "DEFAULT", "1.1.1.1", 80).unwrap();
        assert_eq!(i.weight, 3.0);
        assert_eq!(i.metadata["from"], "beat");
        assert_eq!(
            r.instance(NS, SVC, "DEFAULT", "1.1.1.2", 80),
            Err(Refusal::InstanceNotFound)
        );
        assert_eq!(
            r.instance(NS, "G@@none", "DEFAULT", "1.1.1.1", 80),
            Err(Refusal::ServiceNotFound)
        );
    }

    #[test]
    fn subscribers_hear_changes_only_when_there_are_any() {
        let (r, changes) = registry(15_000, 30_000);
        r.register(NS, SVC, reg("DEFAULT", "1.1.1.1", 80)).unwrap();
        assert!(changes.lock().unwrap().is_empty());
        let addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        r.list(NS, "G@@later", all(), Some(addr));
        r.register(NS, "G@@later", reg("DEFAULT", "1.1.1.1", 80))
            .unwrap();
        r.register(NS, "G@@later", reg("DEFAULT", "1.1.1.1", 80))
            .unwrap();
        assert_eq!(*changes.lock().unwrap(), ["G@@later"]);
        let service = r.find(NS, "G@@later").unwrap();
        assert_eq!(r.subscribers(&service), [(addr, "".into())]);
    }

    #[test]
    fn service_definitions() {
        let (r, _) = registry(15_000, 30_000);
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(dir.path()).unwrap();
        r.keep_in(Arc::new(journal));
        let mut meta = Metadata::new();
        meta.insert("owner".into(), "team".into());
        r.create_service(NS, "G@@s", 0.3, meta.clone(), true)
            .unwrap()
            .unwrap()
            .wait()
            .unwrap();
        assert!(matches!(
            r.create_service(NS, "G@@s", 0.3, meta.clone(), true),
            Err(Refusal::ServiceExists)
        ));
        let d = r.service_detail(NS, "G@@s").unwrap();
        assert_eq!(
            (d.group.as_str(), d.name.as_str(), d.protect_threshold),
            ("G", "s", 0.3)
        );
        assert_eq!(d.metadata, meta);
        assert!(matches!(
            r.update_service(NS, "G@@t", 0.1, Metadata::new()),
            Err(Refusal::ServiceNotFound)
        ));
        r.register(NS, "G@@s", reg("C1", "1.1.1.1", 80)).unwrap();
        r.register(NS, "G@@b", reg("C1", "1.1.1.1", 80)).unwrap();
        assert_eq!(r.service_detail(NS, "G@@s").unwrap().clusters, ["C1"]);
        assert_eq!(r.service_names(NS, "G"), ["b", "s"]);
        assert!(r.service_names("other", "G").is_empty());
        assert!(matches!(
            r.delete_service(NS, "G@@s"),
            Err(Refusal::ServiceNotEmpty)
        ));
        r.deregister(NS, "G@@s", "C1", "1.1.1.1", 80, true);
        r.delete_service(NS, "G@@s")
            .unwrap()
            .unwrap()
            .wait()
            .unwrap();
        assert!(matches!(
            r.delete_service(NS, "G@@s"),
            Err(Refusal::ServiceNotFound)
        ));
        assert_eq!(r.service_names(NS, "G"), ["b"]);
        // An implicit service that has lost its instances is no longer visible.
        r.deregister(NS, "G@@b", "C1", "1.1.1.1", 80, true);
        assert!(r.service_names(NS, "G").is_empty());
        assert_eq!(r.service_detail(NS, "G@@b"), Err(Refusal::ServiceNotFound));
    }

    #[test]
    fn persistent_changes_are_logged_one_instance_at_a_time_and_load_back() {
        let (plain, _) = registry(15_000, 30_000);
        let mut p = reg("DEFAULT", "2.2.2.2", 80);
        p.ephemeral = false;
        assert!(
            plain.register(NS, SVC, p.clone()).unwrap().is_none(),
            "nothing is built without a data directory"
        );

        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(dir.path()).unwrap();
        let journal = Arc::new(journal);
        let (r, _) = registry(15_000, 30_000);
        r.keep_in(journal.clone());
        assert!(r
            .register(NS, SVC, reg("DEFAULT", "1.1.1.1", 80))
            .unwrap()
            .is_none());
        p.metadata.insert("k".into(), "v".into());
        r.register(NS, SVC, p.clone())
            .unwrap()
            .unwrap()
            .wait()
            .unwrap();
        assert!(
            r.register(NS, SVC, p).unwrap().is_none(),
            "no change, nothing to write"
        );
        r.modify(NS, SVC, "DEFAULT", "2.2.2.2", 80, modification(5.0))
            .unwrap()
            .unwrap()
            .wait()
            .unwrap();
        journal.stop();

        let (_, records) = Journal::open(dir.path()).unwrap();
        let (loaded, _) = registry(15_000, 30_000);
        loaded.load(records);
        let i = loaded.instance(NS, SVC, "DEFAULT", "2.2.2.2", 80).unwrap();
        assert_eq!((i.weight, i.ephemeral), (5.0, false));
        assert!(loaded.instance(NS, SVC, "DEFAULT", "1.1.1.1", 80).is_err());

        let (journal, _) = Journal::open(dir.path()).unwrap();
        loaded.keep_in(Arc::new(journal));
        loaded
            .deregister(NS, SVC, "DEFAULT", "2.2.2.2", 80, true)
            .unwrap()
            .wait()
            .unwrap();
        drop(loaded);
        let (_, records) = Journal::open(dir.path()).unwrap();
        assert!(records.is_empty(), "{records:?}");
    }

    #[test]
    fn empty_implicit_services_go_after_a_while() {
        let (r, _) = registry(15_000, 30_000);
        r.register(NS, SVC, reg("DEFAULT", "1.1.1.1", 80)).unwrap();
        r.deregister(NS, SVC, "DEFAULT", "1.1.1.1", 80, true);
        let due = r.expire().next.unwrap();
        assert!(due >= r.timings.empty_service_ttl);
        assert!(r.find(NS, SVC).is_some());
        // Pretend the time has passed.
        let service = r.find(NS, SVC).unwrap();
        service.lock().settle(0, 0);
        r.drop_if_empty(&service);
        assert!(r.find(NS, SVC).is_none());
        assert!(service.lock().removed);
        // A registration racing with the cleanup lands in a fresh service.
        r.register(NS, SVC, reg("DEFAULT", "1.1.1.1", 80)).unwrap();
        assert_eq!(list(&r, all()).hosts.len(), 1);
    }

    /// A registry under 2.x identity, with the server's default timeouts.
    fn registry_v2() -> Registry {
        let timings = Timings {
            health_timeout: 15_000,
            expire_timeout: 30_000,
            subscriber_ttl: 60_000,
            empty_service_ttl: 60_000,
        };
        Registry::new(
            timings,
            Identity::PerAddress,
            Box::new(|_: &Arc<Service>| {}),
        )
    }

    fn places(r: &Registry) -> Vec<(String, String, u16, bool)> {
        r.dump()
            .into_iter()
            .map(|(_, _, i)| (i.cluster_name, i.ip, i.port, i.ephemeral))
            .collect()
    }

    #[test]
    fn v2_keeps_one_instance_per_address_and_kind() {
        let r = registry_v2();
        r.register(NS, SVC, reg("A", "1.1.1.1", 80)).unwrap();
        r.register(NS, SVC, reg("B", "1.1.1.1", 80)).unwrap();
        assert_eq!(places(&r), [("B".into(), "1.1.1.1".into(), 80, true)]);
        // A persistent instance in an ephemeral service is refused, as 2.x refuses it.
        let persistent = Registration {
            ephemeral: false,
            ..reg("C", "1.1.1.1", 80)
        };
        let refused = r.register(NS, SVC, persistent.clone());
        assert!(
            matches!(
                refused,
                Err(Refusal::OtherKind {
                    ephemeral_service: true
                })
            ),
            "{refused:?}"
        );
        assert_eq!(places(&r).len(), 1);

        // A beat naming no cluster (DEFAULT) or another one finds the ephemeral instance.
        assert!(matches!(
            r.beat(NS, SVC, "DEFAULT", "1.1.1.1", 80, None).0,
            Beat::Accepted(_)
        ));
        assert_eq!(places(&r).len(), 1, "the beat created nothing");
        assert_eq!(
            r.beat(NS, SVC, "DEFAULT", "1.1.1.1", 81, None).0,
            Beat::Unknown
        );
        // A full beat of the other kind is not registered either.
        let (beat, _) = r.beat(NS, SVC, "C", "1.1.1.1", 81, Some(persistent.clone()));
        assert_eq!(beat, Beat::Unknown);

        // A deregister without the cluster removes the instance of its kind only.
        r.deregister(NS, SVC, "DEFAULT", "1.1.1.1", 80, false);
        assert_eq!(places(&r).len(), 1, "no persistent instance to remove");
        r.deregister(NS, SVC, "DEFAULT", "1.1.1.1", 80, true);
        assert!(places(&r).is_empty());
        // The emptied service keeps its kind until it is dropped.
        assert!(r.register(NS, SVC, persistent).is_err());
    }

    #[test]
    fn v2_modify_lays_over_the_registration() {
        let r = registry_v2();
        let mut first = reg("A", "1.1.1.1", 80);
        first.metadata = Metadata::from([("a".into(), "1".into()), ("b".into(), "2".into())]);
        r.register(NS, SVC, first.clone()).unwrap();
        let metadata = |r: &Registry| r.dump()[0].2.metadata.clone();

        let mut m = modification(3.0);
        m.metadata = Metadata::from([("b".into(), "20".into()), ("c".into(), "30".into())]);
        r.modify(NS, SVC, "A", "1.1.1.1", 80, m).unwrap();
        let expected = Metadata::from([
            ("a".into(), "1".into()),
            ("b".into(), "20".into()),
            ("c".into(), "30".into()),
        ]);
        assert_eq!(metadata(&r), expected);
        assert_eq!(r.dump()[0].2.weight, 3.0);

        // The next modify starts again from the registration.
        let mut m = modification(1.0);
        m.metadata = Metadata::from([("d".into(), "4".into())]);
        r.modify(NS, SVC, "A", "1.1.1.1", 80, m.clone()).unwrap();
        let expected = Metadata::from([
            ("a".into(), "1".into()),
            ("b".into(), "2".into()),
            ("d".into(), "4".into()),
        ]);
        assert_eq!(metadata(&r), expected);

        // Registering again in the same cluster keeps the modify; a move drops it.
        r.register(NS, SVC, first.clone()).unwrap();
        assert_eq!(metadata(&r), expected);
        r.register(NS, SVC, reg("B", "1.1.1.1", 80)).unwrap();
        assert!(metadata(&r).is_empty());

        // A modify naming another cluster, or an address the service lacks, changes nothing
        // and is no error; an unknown service is.
        r.modify(NS, SVC, "A", "1.1.1.1", 80, m.clone()).unwrap();
        r.modify(NS, SVC, "B", "9.9.9.9", 80, m.clone()).unwrap();
        assert!(metadata(&r).is_empty());
        assert!(matches!(
            r.modify(NS, "DEFAULT_GROUP@@nope", "B", "1.1.1.1", 80, m),
            Err(Refusal::ServiceNotFound)
        ));
    }
    /// 2.x keeps a modify for the address it names, applies it when an instance registers
    /// there, and drops it `MODIFY_RETENTION` after the instance went (deregistered or
    /// expired) unless one registers there again meanwhile.
    #[test]
    fn v2_a_modify_waits_for_its_address_and_outlives_its_instance_a_while() {
        use crate::service::MODIFY_RETENTION;
        const PA: Identity = Identity::PerAddress;
        let mut s = ServiceState::default();
        s.register(reg("A", "1.1.1.1", 80), 0, PA);
        let mut m = modification(7.0);
        m.metadata = Metadata::from([("m".into(), "1".into())]);
        assert_eq!(s.modify(PA, "B", "1.1.1.1", 80, m), Ok(false));
        let weight =
            |s: &ServiceState, cluster: &str| s.record(cluster, "1.1.1.1", 80).map(|r| r.weight);
        assert_eq!(weight(&s, "A"), Some(1.0), "nothing visible changed");

        // The move into B applies it; leaving A orphans nothing (no modify there).
        s.register(reg("B", "1.1.1.1", 80), 10, PA);
        assert_eq!(weight(&s, "B"), Some(7.0));
        let r = s.record("B", "1.1.1.1", 80).unwrap();
        assert_eq!(&*r.metadata, &[("m".into(), "1".into())]);

        // Deregistered: kept a while, and a registration meanwhile gets it back.
        s.deregister_named(PA, "B", "1.1.1.1", 80, true, 100);
        let never = 1 << 40;
        let mut shortest = u64::MAX;
        assert_eq!(
            s.expire(150, never, never, &mut shortest),
            Some(100 + MODIFY_RETENTION)
        );
        s.register(reg("B", "1.1.1.1", 80), 200, PA);
        assert_eq!(weight(&s, "B"), Some(7.0));
        assert_eq!(
            s.expire(100 + MODIFY_RETENTION, never, never, &mut shortest),
            Some(200 + never),
            "only the instance's own deadline"
        );
        assert_eq!(s.modifies(), 1, "claimed again: no longer orphaned");

        // Expired: orphaned at its expiry, then dropped; a later registration is plain.
        assert_eq!(
            s.expire(1_000, 100, 500, &mut shortest),
            Some(1_000 + MODIFY_RETENTION)
        );
        assert_eq!(s.len(), 0);
        assert_eq!(s.modifies(), 1);
        assert_eq!(
            s.expire(1_000 + MODIFY_RETENTION - 1, 100, 500, &mut shortest),
            Some(1_000 + MODIFY_RETENTION)
        );
        s.expire(1_000 + MODIFY_RETENTION, 100, 500, &mut shortest);
        assert_eq!(s.modifies(), 0);
        s.register(reg("B", "1.1.1.1", 80), 2_000_000, PA);
        assert_eq!(weight(&s, "B"), Some(1.0));

        // In a persistent service, a dropped modify is to be written.
        let mut kept = ServiceState::default();
        let persistent = Registration {
            ephemeral: false,
            ..reg("B", "1.1.1.1", 80)
        };
        kept.register(persistent, 0, PA);
        kept.modify(PA, "B", "1.1.1.1", 80, modification(2.0))
            .unwrap();
        let written = kept.take_changed_modifies();
        assert_eq!(written.len(), 1);
        assert_eq!(written[0].1.as_ref().map(|w| w.0), Some(2.0));
        kept.deregister_named(PA, "B", "1.1.1.1", 80, false, 10);
        kept.expire(10 + MODIFY_RETENTION, never, never, &mut shortest);
        assert_eq!(kept.modifies(), 0);
        let written = kept.take_changed_modifies();
        assert_eq!((written.len(), written[0].1.is_none()), (1, true));

        // 1.4 keeps no modify: one of an absent instance is refused by the registry.
        let mut old = ServiceState::default();
        assert_eq!(
            old.modify(Identity::PerCluster, "B", "1.1.1.1", 80, modification(2.0)),
            Ok(false)
        );
        assert_eq!(old.modifies(), 0);
    }

    /// Modifies of addresses without an instance are bounded per service; replacing a kept
    /// one, or one more instance, makes room.
    #[test]
    fn v2_kept_modifies_are_bounded() {
        use crate::service::{TooManyModifies, MAX_MODIFIES_BEYOND_INSTANCES};
        const PA: Identity = Identity::PerAddress;
        let mut s = ServiceState::default();
        let ip = |i: usize| format!("10.{}.{}.1", i / 256, i % 256);
        for i in 0..MAX_MODIFIES_BEYOND_INSTANCES {
            assert_eq!(s.modify(PA, "X", &ip(i), 80, modification(2.0)), Ok(false));
        }
        let extra = ip(MAX_MODIFIES_BEYOND_INSTANCES);
        assert_eq!(
            s.modify(PA, "X", &extra, 80, modification(2.0)),
            Err(TooManyModifies)
        );
        assert_eq!(s.modify(PA, "X", &ip(0), 80, modification(3.0)), Ok(false));
        s.register(reg("A", "9.9.9.9", 80), 0, PA);
        assert_eq!(s.modify(PA, "X", &extra, 80, modification(2.0)), Ok(false));
        assert_eq!(s.modifies(), MAX_MODIFIES_BEYOND_INSTANCES + 1);

        let r = registry_v2();
        r.register(NS, SVC, reg("A", "9.9.9.9", 80)).unwrap();
        for i in 0..=MAX_MODIFIES_BEYOND_INSTANCES {
            r.modify(NS, SVC, "X", &ip(i), 80, modification(2.0))
                .unwrap();
        }
        let refused = r.modify(NS, SVC, "X", "11.0.0.1", 80, modification(2.0));
        assert!(
            matches!(refused, Err(Refusal::TooManyModifies)),
            "{refused:?}"
        );
    }
    /// A persistent service's kept modifies are written to the data directory and read back:
    /// after a restart, a modify of another cluster still applies when the instance moves
    /// there.
    #[test]
    fn v2_kept_modifies_of_persistent_services_persist() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(dir.path()).unwrap();
        let journal = Arc::new(journal);
        let r = registry_v2();
        r.keep_in(journal.clone());
        let persistent = |cluster: &str| Registration {
            ephemeral: false,
            ..reg(cluster, "1.1.1.1", 80)
        };
        r.register(NS, SVC, persistent("A")).unwrap();
        let mut m = modification(6.0);
        m.metadata = Metadata::from([("m".into(), "1".into())]);
        r.modify(NS, SVC, "B", "1.1.1.1", 80, m)
            .unwrap()
            .unwrap()
            .wait()
            .unwrap();
        journal.stop();

        let (_, records) = Journal::open(dir.path()).unwrap();
        assert_eq!(records[0].modifies.len(), 1, "{records:?}");
        let loaded = registry_v2();
        loaded.load(records);
        assert_eq!(loaded.dump()[0].2.weight, 1.0, "nothing visible in A");
        loaded.register(NS, SVC, persistent("B")).unwrap();
        let moved = loaded.instance(NS, SVC, "B", "1.1.1.1", 80).unwrap();
        assert_eq!(moved.weight, 6.0);
        assert_eq!(moved.metadata["m"], "1");
    }
}
