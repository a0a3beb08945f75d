//! One service: its definition, its instances by cluster, its push subscribers, and the list
//! answers rendered from them.
//!
//! Everything here runs under the service's own lock, so a service never waits on another.
//! A list answer is built outside it: under the lock it only takes a snapshot of shared
//! handles (`Arc`s, one per instance), so a large service's rendering holds up neither its
//! writers nor the health checks.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use nacos_naming::{Instance, ServiceInfo, GROUP_SEPARATOR};

use crate::list_cache::ListCache;
use crate::subscribers::Subscribers;
use crate::version::Identity;

/// Instance or service metadata.
pub(crate) type Metadata = BTreeMap<String, String>;

/// Instances of one cluster, by `(ip, port)`; ordered so answers are stable. Shared handles,
/// so that a snapshot for rendering costs a count increment per instance, not a copy; a
/// change while a snapshot is out copies that one record (`Arc::make_mut`).
type Cluster = BTreeMap<Address, Arc<Record>>;
/// `(ip, port)`.
type Address = (Arc<str>, u16);

/// Cluster filters longer than this are answered but not cached (they are not the common case).
const MAX_CACHED_FILTER: usize = 256;

/// Instance metadata as kept: sorted pairs in one boxed slice. A `BTreeMap` allocates a node
/// of eleven slots even for one pair (over 500 bytes); this is what keeps 100,000 instances
/// small.
pub(crate) type CompactMetadata = Box<[(Box<str>, Box<str>)]>;

fn compact(metadata: Metadata) -> CompactMetadata {
    metadata
        .into_iter()
        .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
        .collect()
}

fn expand(metadata: &CompactMetadata) -> Metadata {
    metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `lastRefTime` a cached answer is rendered with, to be replaced in every answer. Inside a
/// JSON string a quote is always escaped, so `"lastRefTime":` followed by this number can only
/// be the field itself.
const STAMP_PLACEHOLDER: i64 = i64::MIN;

/// A rendered list answer, split around its `lastRefTime` value.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    head: Bytes,
    tail: Bytes,
}

impl Rendered {
    pub(crate) fn new(json: Vec<u8>) -> Rendered {
        let json = Bytes::from(json);
        let marker = format!("\"lastRefTime\":{STAMP_PLACEHOLDER}");
        match find_last(&json, marker.as_bytes()) {
            Some(at) => Rendered {
                head: json.slice(..at + marker.len() - STAMP_PLACEHOLDER.to_string().len()),
                tail: json.slice(at + marker.len()..),
            },
            // Not reached: the field is always rendered. Without it, the answer stays whole.
            None => Rendered {
                head: json,
                tail: Bytes::new(),
            },
        }
    }

    /// Its size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// The answer with `stamp` as its `lastRefTime`.
    pub(crate) fn with_stamp(&self, stamp: i64) -> Bytes {
        if self.tail.is_empty() {
            return self.head.clone();
        }
        let stamp = stamp.to_string();
        let mut answer = Vec::with_capacity(self.head.len() + stamp.len() + self.tail.len());
        answer.extend_from_slice(&self.head);
        answer.extend_from_slice(stamp.as_bytes());
        answer.extend_from_slice(&self.tail);
        Bytes::from(answer)
    }
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// An instance as the registry keeps it; its key (cluster, ip, port) is held by the maps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub(crate) weight: f64,
    pub(crate) metadata: CompactMetadata,
    /// The last beat (or registration), in milliseconds on the registry's clock.
    pub(crate) last_beat: u64,
    pub(crate) healthy: bool,
    pub(crate) enabled: bool,
    pub(crate) ephemeral: bool,
    /// What a 2.x modify laid over the registration, while it holds.
    pub(crate) overlay: Option<Box<Overlay>>,
}

/// Weight, enabled and metadata: what a registration and a modify both set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    weight: f64,
    enabled: bool,
    metadata: CompactMetadata,
}

/// A 2.x modify is kept apart from the registration it modifies (official servers store it
/// as instance metadata of its own): the next modify starts again from the registration, and
/// a re-registration in the same cluster keeps the modify.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Overlay {
    registered: Settings,
    modified: Settings,
}

impl Overlay {
    /// The registration with the modify laid over it: the modify's weight and enabled, the
    /// registration's metadata with the modify's keys put over it.
    fn effective(&self) -> Settings {
        let mut metadata = expand(&self.registered.metadata);
        metadata.extend(expand(&self.modified.metadata));
        Settings {
            weight: self.modified.weight,
            enabled: self.modified.enabled,
            metadata: compact(metadata),
        }
    }
}

impl Record {
    fn settings(&self) -> Settings {
        Settings {
            weight: self.weight,
            enabled: self.enabled,
            metadata: self.metadata.clone(),
        }
    }

    fn apply(&mut self, settings: Settings) {
        self.weight = settings.weight;
        self.enabled = settings.enabled;
        self.metadata = settings.metadata;
    }

    /// Whether `other` says the same thing (the beat time aside).
    fn same_content(&self, other: &Record) -> bool {
        self.weight == other.weight
            && self.healthy == other.healthy
            && self.enabled == other.enabled
            && self.ephemeral == other.ephemeral
            && self.metadata == other.metadata
    }
}

/// How many modifies a service keeps beyond the number of its instances (2.x): a modify may
/// name an address no instance holds, and is kept for when one registers there; this bounds
/// what clients can make the server keep.
pub(crate) const MAX_MODIFIES_BEYOND_INSTANCES: usize = 1024;

/// How long a modify is kept once its instance is gone (deregistered or expired), in
/// milliseconds: an instance registering again meanwhile gets it back (official 2.x and 3.x
/// clean such metadata after `nacos.naming.clean.expired-metadata.expired-time`, 60 s).
pub(crate) const MODIFY_RETENTION: u64 = 60_000;

/// A 2.x modify as the service keeps it, by the address it names: `ip:port` in a cluster
/// (official servers key it `ip:port:cluster`), whether an instance is there or not.
#[derive(Debug, Clone, PartialEq)]
struct StoredModify {
    settings: Settings,
    /// When the instance it applied to went away (registry clock): it is dropped
    /// [`MODIFY_RETENTION`] later unless an instance registers there again.
    orphaned_at: Option<u64>,
}

/// `(cluster, ip, port)`: the address a modify names.
pub(crate) type ModifyKey = (Box<str>, Box<str>, u16);

fn modify_key(cluster: &str, ip: &str, port: u16) -> ModifyKey {
    (cluster.into(), ip.into(), port)
}

/// A modify refused: the service keeps [`MAX_MODIFIES_BEYOND_INSTANCES`] modifies beyond its
/// instances already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooManyModifies;

/// What a registration (or a beat that re-registers) says of an instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Registration {
    pub(crate) cluster: String,
    pub(crate) ip: String,
    pub(crate) port: u16,
    pub(crate) weight: f64,
    pub(crate) healthy: bool,
    pub(crate) enabled: bool,
    pub(crate) ephemeral: bool,
    pub(crate) metadata: Metadata,
}

/// What a modify call replaces (official 2.x semantics: weight, enabled and metadata are
/// replaced as a whole; health only when given).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Modification {
    pub(crate) weight: f64,
    pub(crate) enabled: bool,
    pub(crate) metadata: Metadata,
    pub(crate) healthy: Option<bool>,
}

/// The filters of a list query, and the cache time to announce.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListQuery<'a> {
    /// Comma-separated cluster names; empty for all clusters.
    pub(crate) clusters: &'a str,
    pub(crate) healthy_only: bool,
    pub(crate) cache_millis: u64,
}

/// One service of one namespace.
#[derive(Debug)]
pub(crate) struct Service {
    pub(crate) namespace: Box<str>,
    /// `group@@name`.
    pub(crate) grouped: Box<str>,
    group_len: usize,
    /// Names its answers in the [`ListCache`].
    cache_id: u64,
    state: Mutex<ServiceState>,
}

impl Service {
    /// An empty, implicitly created service; `grouped` must be `group@@name`.
    pub(crate) fn new(namespace: &str, grouped: &str) -> Service {
        let group_len = grouped.find(GROUP_SEPARATOR).unwrap_or(0);
        let state = ServiceState {
            last_ref_time: crate::registry::wall_ms(),
            ..ServiceState::default()
        };
        Service {
            namespace: namespace.into(),
            grouped: grouped.into(),
            group_len,
            cache_id: ListCache::service_id(),
            state: Mutex::new(state),
        }
    }

    /// The group.
    pub(crate) fn group(&self) -> &str {
        &self.grouped[..self.group_len]
    }

    /// The name without its group.
    pub(crate) fn name(&self) -> &str {
        self.grouped[self.group_len..]
            .strip_prefix(GROUP_SEPARATOR)
            .unwrap_or(&self.grouped)
    }

    /// Locks the state. A panic elsewhere never leaves the state half-changed (every change is
    /// made in one step), so a poisoned lock is simply taken over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ServiceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The list answer for `query` and its `lastRefTime`. The JSON is rendered once per change
    /// and filter and then shared through `cache`; only `lastRefTime`, the time of the answer,
    /// is filled in each time. A render takes a snapshot under `state` and lets the lock go
    /// while it builds the JSON.
    pub(crate) fn render(
        &self,
        mut state: MutexGuard<'_, ServiceState>,
        query: ListQuery<'_>,
        cache: &ListCache,
    ) -> (Bytes, i64) {
        let stamp = state.stamp(crate::registry::wall_ms());
        let generation = state.generation;
        let cached = query.clusters.len() <= MAX_CACHED_FILTER;
        if cached {
            if let Some(rendered) = cache.get(self.cache_id, generation, query) {
                return (rendered.with_stamp(stamp), stamp);
            }
        }
        let snapshot = state.snapshot(query);
        drop(state);

        let mut info = self.service_info_of(snapshot, query);
        info.last_ref_time = STAMP_PLACEHOLDER;
        // Serializing plain strings, numbers and maps cannot fail.
        let rendered = Rendered::new(serde_json::to_vec(&info).unwrap_or_default());
        let answer = rendered.with_stamp(stamp);
        if cached {
            self.keep(generation, query, rendered, cache);
        }
        (answer, stamp)
    }

    /// Caches a rendered answer of the state at `generation`, unless something changed since:
    /// it could never be served, only take room.
    fn keep(&self, generation: u64, query: ListQuery<'_>, rendered: Rendered, cache: &ListCache) {
        if self.lock().generation == generation {
            cache.keep(self.cache_id, generation, query, rendered);
        }
    }

    /// The list answer as a value: enabled instances of the selected clusters, the protection
    /// threshold applied as official 2.x does.
    pub(crate) fn service_info(&self, state: &ServiceState, query: ListQuery<'_>) -> ServiceInfo {
        self.service_info_of(state.snapshot(query), query)
    }

    fn service_info_of(&self, snapshot: Snapshot, query: ListQuery<'_>) -> ServiceInfo {
        let Snapshot {
            selected,
            protect_threshold,
            last_ref_time,
            checksum,
        } = snapshot;
        let healthy = selected.iter().filter(|(_, _, r)| r.healthy).count();
        // Official servers compare with `<=`: with the default threshold 0 a service whose
        // instances are all unhealthy is answered with all of them, marked healthy.
        let protect = !selected.is_empty()
            && (healthy as f64 / selected.len() as f64) <= f64::from(protect_threshold);
        let mut info = ServiceInfo::new(self.name(), self.group());
        info.clusters = query.clusters.to_owned();
        info.cache_millis = query.cache_millis;
        info.last_ref_time = last_ref_time;
        info.checksum = checksum;
        info.reach_protection_threshold = protect;
        info.hosts = selected
            .iter()
            .filter(|(_, _, r)| protect || !query.healthy_only || r.healthy)
            .map(|(cluster, (ip, port), r)| {
                let mut instance = self.instance(cluster, ip, *port, r);
                instance.healthy |= protect;
                instance
            })
            .collect();
        info
    }

    /// The wire form of one record.
    pub(crate) fn instance(&self, cluster: &str, ip: &str, port: u16, r: &Record) -> Instance {
        Instance {
            instance_id: Some(format!("{ip}#{port}#{cluster}#{}", self.grouped)),
            ip: ip.to_owned(),
            port,
            weight: r.weight,
            healthy: r.healthy,
            enabled: r.enabled,
            ephemeral: r.ephemeral,
            cluster_name: cluster.to_owned(),
            service_name: self.grouped.to_string(),
            metadata: expand(&r.metadata),
        }
    }
}

/// What a beat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Beat {
    /// The instance is known; its beat time was refreshed (and its health restored). The beat
    /// interval its metadata asks for, if any.
    Accepted(Option<u64>),
    /// No such instance.
    Unknown,
}

/// A health change the beat rules made on their own (not a client's call), kept until the
/// registry takes it to log it with the service's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lapse {
    pub(crate) cluster: Box<str>,
    pub(crate) ip: Box<str>,
    pub(crate) port: u16,
    pub(crate) kind: LapseKind,
    /// How long the instance had gone without a beat, in milliseconds.
    pub(crate) silent_ms: u64,
}

/// What became of an ephemeral instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LapseKind {
    /// No beat within its health timeout: marked unhealthy.
    Unhealthy,
    /// A beat came for an instance marked unhealthy: healthy again.
    Recovered,
    /// No beat within its expire timeout: removed.
    Expired,
}

/// Instance metadata that overrides the server's beat interval, in milliseconds (official 2.x).
pub(crate) const BEAT_INTERVAL_KEY: &str = "preserved.heart.beat.interval";
/// Instance metadata that overrides the health timeout, in milliseconds.
pub(crate) const HEALTH_TIMEOUT_KEY: &str = "preserved.heart.beat.timeout";
/// Instance metadata that overrides the expire timeout, in milliseconds.
pub(crate) const EXPIRE_TIMEOUT_KEY: &str = "preserved.ip.delete.timeout";

/// A millisecond setting from an instance's metadata; absent or unreadable values give `None`.
fn preserved(metadata: &CompactMetadata, key: &str) -> Option<u64> {
    let at = metadata.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
    metadata.get(at)?.1.trim().parse().ok()
}

/// What a list answer is built from, taken under the lock: the enabled instances of the
/// selected clusters as shared handles, and the service fields the answer carries.
pub(crate) struct Snapshot {
    selected: Vec<(Arc<str>, Address, Arc<Record>)>,
    protect_threshold: f32,
    last_ref_time: i64,
    checksum: String,
}

/// The mutable part of a service, behind its lock.
#[derive(Debug, Default)]
pub(crate) struct ServiceState {
    clusters: BTreeMap<Box<str>, Cluster>,
    count: usize,
    /// Below this share of healthy instances, lists return every instance (0..=1).
    pub(crate) protect_threshold: f32,
    /// Service metadata (service API only).
    pub(crate) metadata: Metadata,
    /// Created or updated through the service API: persisted and listed; dropped like any
    /// service once empty for the empty-service time to live.
    pub(crate) defined: bool,
    /// Sum of the instances' content hashes: order-independent and updated in O(1) per change.
    checksum: u128,
    last_ref_time: i64,
    /// Counts changes that invalidate rendered answers: those of an older generation are not
    /// served (see [`ListCache`]).
    generation: u64,
    /// Who is pushed this service's changes.
    pub(crate) subscribers: Subscribers,
    /// The instance set changed since the last `settle`.
    changed: bool,
    /// Something persistent (a persistent instance or the definition) changed.
    pub(crate) persist_changed: bool,
    /// When the service last became empty (registry clock), for the empty-service cleanup.
    empty_since: Option<u64>,
    /// Taken out of the registry; whoever holds an `Arc` to it must look the service up again.
    pub(crate) removed: bool,
    /// Whether its instances are ephemeral: set by its first registration and kept until the
    /// service is dropped. 2.x and 3.x hold one kind per service.
    kind: Option<bool>,
    /// Health changes not yet logged (see [`ServiceState::take_lapses`]).
    lapses: Vec<Lapse>,
    /// The 2.x modifies, by the address they name (see [`StoredModify`]).
    modifies: BTreeMap<ModifyKey, StoredModify>,
    /// Addresses whose kept modify was kept, replaced or dropped since the registry last wrote
    /// them: only in a persistent service, whose modifies are persisted.
    modifies_changed: Vec<ModifyKey>,
}

impl ServiceState {
    /// The health changes made since the last call, for the log.
    pub(crate) fn take_lapses(&mut self) -> Vec<Lapse> {
        std::mem::take(&mut self.lapses)
    }

    /// Number of instances, disabled and unhealthy ones included.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The `lastRefTime` of an answer given now: the time of the answer, never lower than an
    /// earlier answer's, and above every answer given before the last change.
    fn stamp(&mut self, wall_ms: i64) -> i64 {
        self.last_ref_time = self.last_ref_time.max(wall_ms);
        self.last_ref_time
    }

    /// The checksum of the instance set, as answered.
    pub(crate) fn checksum_text(&self) -> String {
        format!("{:032x}", self.checksum)
    }

    /// Whether the service is visible: defined through the service API or holding instances.
    pub(crate) fn visible(&self) -> bool {
        self.defined || self.count > 0
    }

    /// The enabled instances of the clusters `query` names (all when empty), as shared handles.
    fn snapshot(&self, query: ListQuery<'_>) -> Snapshot {
        let wanted: Vec<&str> = query
            .clusters
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let mut selected = Vec::new();
        for (name, cluster) in &self.clusters {
            if !wanted.is_empty() && !wanted.contains(&&**name) {
                continue;
            }
            let name: Arc<str> = Arc::from(&**name);
            selected.extend(
                cluster
                    .iter()
                    .filter(|(_, r)| r.enabled)
                    .map(|(address, r)| (name.clone(), address.clone(), r.clone())),
            );
        }
        Snapshot {
            selected,
            protect_threshold: self.protect_threshold,
            last_ref_time: self.last_ref_time,
            checksum: self.checksum_text(),
        }
    }

    /// Names of the clusters that hold instances.
    pub(crate) fn cluster_names(&self) -> impl Iterator<Item = &str> {
        self.clusters.keys().map(|k| &**k)
    }

    /// Every instance with its cluster, in order (metrics count them).
    pub(crate) fn records(&self) -> impl Iterator<Item = (&str, &str, u16, &Record)> {
        self.clusters.iter().flat_map(|(c, cluster)| {
            cluster
                .iter()
                .map(move |((ip, port), r)| (&**c, &**ip, *port, &**r))
        })
    }

    /// One instance.
    pub(crate) fn record(&self, cluster: &str, ip: &str, port: u16) -> Option<&Record> {
        self.clusters
            .get(cluster)?
            .get(&(Arc::from(ip), port))
            .map(|r| &**r)
    }

    /// Where the instance a call names lives, under `identity`: with `PerCluster` in `cluster`
    /// only; with `PerAddress` in any cluster (`cluster` first), of the kind `ephemeral` names
    /// (any kind when `None`).
    fn locate(
        &self,
        identity: Identity,
        cluster: &str,
        ip: &str,
        port: u16,
        ephemeral: Option<bool>,
    ) -> Option<Box<str>> {
        let key = (Arc::from(ip), port);
        let fits = |r: &Arc<Record>| ephemeral.is_none_or(|e| r.ephemeral == e);
        if let Some((name, instances)) = self.clusters.get_key_value(cluster) {
            if identity == Identity::PerCluster || instances.get(&key).is_some_and(fits) {
                return instances.contains_key(&key).then(|| name.clone());
            }
        }
        if identity == Identity::PerCluster {
            return None;
        }
        self.clusters
            .iter()
            .find(|(_, instances)| instances.get(&key).is_some_and(fits))
            .map(|(name, _)| name.clone())
    }

    /// Whether its instances are ephemeral, once its first registration or its creation
    /// through the service API fixed it.
    pub(crate) fn kind(&self) -> Option<bool> {
        self.kind
    }

    /// Fixes the kind of instances it holds (a service created through the service API).
    pub(crate) fn set_kind(&mut self, ephemeral: bool) {
        self.kind = Some(ephemeral);
    }

    /// Whether an instance of kind `ephemeral` may be registered: under `PerAddress` only one
    /// of the service's kind (official 2.x and 3.x refuse the other kind).
    pub(crate) fn admits(&self, identity: Identity, ephemeral: bool) -> bool {
        identity == Identity::PerCluster || self.kind.is_none_or(|kind| kind == ephemeral)
    }

    /// Adds or replaces an instance. Under `PerAddress` the instance of the same kind at the
    /// same address leaves any other cluster (a move), and a modify laid over it stays when it
    /// registers again in its cluster.
    ///
    /// Returns the cluster the instance left, when it moved.
    pub(crate) fn register(
        &mut self,
        reg: Registration,
        now: u64,
        identity: Identity,
    ) -> Option<Box<str>> {
        self.kind.get_or_insert(reg.ephemeral);
        let mut modified = None;
        let mut left = None;
        if identity == Identity::PerAddress {
            if let Some(at) = self.locate(
                identity,
                &reg.cluster,
                &reg.ip,
                reg.port,
                Some(reg.ephemeral),
            ) {
                if *at != *reg.cluster {
                    // The modify of the cluster it leaves stays there, as official servers
                    // keep it, for when it comes back.
                    self.deregister(&at, &reg.ip, reg.port);
                    left = Some(at);
                }
            }
            modified = self.claim_modify(&reg.cluster, &reg.ip, reg.port);
        }
        let mut record = Record {
            weight: reg.weight,
            metadata: compact(reg.metadata),
            last_beat: now,
            healthy: reg.healthy,
            enabled: reg.enabled,
            ephemeral: reg.ephemeral,
            overlay: None,
        };
        if let Some(modified) = modified {
            let overlay = Overlay {
                registered: record.settings(),
                modified,
            };
            record.apply(overlay.effective());
            record.overlay = Some(Box::new(overlay));
        }
        let new_hash = record_hash(&reg.cluster, &reg.ip, reg.port, &record);
        let persistent = !record.ephemeral;
        // Looked up first: the common call re-registers into an existing cluster, and the
        // entry API would allocate its name every time.
        let cluster = match self.clusters.get_mut(reg.cluster.as_str()) {
            Some(cluster) => cluster,
            None => self
                .clusters
                .entry(reg.cluster.as_str().into())
                .or_default(),
        };
        let record = Arc::new(record);
        match cluster.entry((Arc::from(reg.ip), reg.port)) {
            Entry::Occupied(mut slot) => {
                let old = slot.insert(record);
                if !old.same_content(slot.get()) {
                    let old_hash = record_hash(&reg.cluster, &slot.key().0, reg.port, &old);
                    self.checksum = self.checksum.wrapping_sub(old_hash).wrapping_add(new_hash);
                    self.changed = true;
                    self.persist_changed |= persistent || !old.ephemeral;
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(record);
                self.checksum = self.checksum.wrapping_add(new_hash);
                self.count += 1;
                self.changed = true;
                self.persist_changed |= persistent;
            }
        }
        left
    }

    /// Removes the instance a deregister names (under `identity`, see `locate`) at `now`; the
    /// cluster it was found in, when another than `cluster`.
    pub(crate) fn deregister_named(
        &mut self,
        identity: Identity,
        cluster: &str,
        ip: &str,
        port: u16,
        ephemeral: bool,
        now: u64,
    ) -> Option<Box<str>> {
        match self.locate(identity, cluster, ip, port, Some(ephemeral)) {
            Some(at) if identity == Identity::PerAddress => {
                self.deregister(&at, ip, port);
                self.orphan_modify(&at, ip, port, now);
                (*at != *cluster).then_some(at)
            }
            // 1.4 removes the instance of the cluster whatever its kind.
            _ => {
                self.deregister(cluster, ip, port);
                None
            }
        }
    }

    /// Removes an instance; whether it was there.
    pub(crate) fn deregister(&mut self, cluster: &str, ip: &str, port: u16) -> bool {
        let Some(instances) = self.clusters.get_mut(cluster) else {
            return false;
        };
        let Some(old) = instances.remove(&(Arc::from(ip), port)) else {
            return false;
        };
        if instances.is_empty() {
            self.clusters.remove(cluster);
        }
        self.checksum = self
            .checksum
            .wrapping_sub(record_hash(cluster, ip, port, &old));
        self.count -= 1;
        self.changed = true;
        self.persist_changed |= !old.ephemeral;
        true
    }

    /// Applies a modify call to the instance at `ip:port` in `cluster`; whether it exists.
    /// `PerCluster` (1.4) replaces weight, enabled and metadata; `PerAddress` (2.x) keeps the
    /// modify for that address, replacing an earlier one, and lays it over the registration's
    /// (see [`Overlay`]) of the instance there now or registering there later.
    pub(crate) fn modify(
        &mut self,
        identity: Identity,
        cluster: &str,
        ip: &str,
        port: u16,
        m: Modification,
    ) -> Result<bool, TooManyModifies> {
        let modified = Settings {
            weight: m.weight,
            enabled: m.enabled,
            metadata: compact(m.metadata),
        };
        if identity == Identity::PerAddress {
            self.keep_modify(cluster, ip, port, modified.clone())?;
        }
        let Some(r) = self
            .clusters
            .get_mut(cluster)
            .and_then(|c| c.get_mut(&(Arc::from(ip), port)))
        else {
            return Ok(false);
        };
        let r = Arc::make_mut(r);
        let old_hash = record_hash(cluster, ip, port, r);
        let before = r.clone();
        match identity {
            Identity::PerCluster => r.apply(modified),
            Identity::PerAddress => {
                let registered = match r.overlay.take() {
                    Some(overlay) => overlay.registered,
                    None => r.settings(),
                };
                let overlay = Overlay {
                    registered,
                    modified,
                };
                r.apply(overlay.effective());
                r.overlay = Some(Box::new(overlay));
            }
        }
        if let Some(healthy) = m.healthy {
            r.healthy = healthy;
        }
        if !before.same_content(r) {
            let new_hash = record_hash(cluster, ip, port, r);
            self.checksum = self.checksum.wrapping_sub(old_hash).wrapping_add(new_hash);
            self.changed = true;
            self.persist_changed |= !r.ephemeral;
        }
        Ok(true)
    }

    /// Keeps a modify for `ip:port` in `cluster`, replacing the one there (whose orphaning
    /// still counts, as official servers keep their clean-up entry); refused when the service
    /// already keeps [`MAX_MODIFIES_BEYOND_INSTANCES`] beyond its instances.
    fn keep_modify(
        &mut self,
        cluster: &str,
        ip: &str,
        port: u16,
        settings: Settings,
    ) -> Result<(), TooManyModifies> {
        let key = modify_key(cluster, ip, port);
        let full = self.modifies.len() >= self.count + MAX_MODIFIES_BEYOND_INSTANCES;
        if self.kind == Some(false) && (!full || self.modifies.contains_key(&key)) {
            self.modifies_changed.push(key.clone());
            self.persist_changed = true;
        }
        match self.modifies.entry(key) {
            Entry::Occupied(mut kept) => kept.get_mut().settings = settings,
            Entry::Vacant(_) if full => return Err(TooManyModifies),
            Entry::Vacant(slot) => {
                slot.insert(StoredModify {
                    settings,
                    orphaned_at: None,
                });
            }
        }
        Ok(())
    }

    /// The modify kept for `ip:port` in `cluster`, for an instance registering there: no longer
    /// orphaned.
    fn claim_modify(&mut self, cluster: &str, ip: &str, port: u16) -> Option<Settings> {
        if self.modifies.is_empty() {
            return None;
        }
        let kept = self.modifies.get_mut(&modify_key(cluster, ip, port))?;
        kept.orphaned_at = None;
        Some(kept.settings.clone())
    }

    /// The instance at `ip:port` in `cluster` went away at `now`: its modify, if any, is
    /// dropped after [`MODIFY_RETENTION`] unless an instance registers there again.
    fn orphan_modify(&mut self, cluster: &str, ip: &str, port: u16, now: u64) {
        orphan(&mut self.modifies, cluster, ip, port, now);
    }

    /// The addresses whose modify changed since the last call, each with the modify kept there
    /// now (`None`: dropped) as `(weight, enabled, metadata)`, for the data directory.
    #[allow(clippy::type_complexity)]
    pub(crate) fn take_changed_modifies(
        &mut self,
    ) -> Vec<(ModifyKey, Option<(f64, bool, Metadata)>)> {
        let mut changed = std::mem::take(&mut self.modifies_changed);
        changed.sort_unstable();
        changed.dedup();
        changed
            .into_iter()
            .map(|key| {
                let kept = self.modifies.get(&key).map(|kept| {
                    let s = &kept.settings;
                    (s.weight, s.enabled, expand(&s.metadata))
                });
                (key, kept)
            })
            .collect()
    }

    /// Keeps a modify read back from the data directory.
    pub(crate) fn load_modify(
        &mut self,
        cluster: &str,
        ip: &str,
        port: u16,
        weight: f64,
        enabled: bool,
        metadata: Metadata,
    ) {
        let settings = Settings {
            weight,
            enabled,
            metadata: compact(metadata),
        };
        let kept = StoredModify {
            settings,
            orphaned_at: None,
        };
        self.modifies.insert(modify_key(cluster, ip, port), kept);
    }

    /// How many modifies the service keeps.
    #[cfg(test)]
    pub(crate) fn modifies(&self) -> usize {
        self.modifies.len()
    }

    /// Refreshes an ephemeral instance's beat time and heals it at once. Under `PerAddress`
    /// the beat finds the ephemeral instance at `ip:port` in whatever cluster it names.
    pub(crate) fn beat(
        &mut self,
        identity: Identity,
        cluster: &str,
        ip: &str,
        port: u16,
        now: u64,
    ) -> Beat {
        let found = match identity {
            Identity::PerCluster => None,
            Identity::PerAddress => match self.locate(identity, cluster, ip, port, Some(true)) {
                Some(at) => Some(at),
                None => return Beat::Unknown,
            },
        };
        let cluster = found.as_deref().unwrap_or(cluster);
        let Some(r) = self
            .clusters
            .get_mut(cluster)
            .and_then(|c| c.get_mut(&(Arc::from(ip), port)))
        else {
            return Beat::Unknown;
        };
        let interval = preserved(&r.metadata, BEAT_INTERVAL_KEY);
        // Persistent instances are not kept alive by beats (official servers probe them).
        if r.ephemeral {
            let r = Arc::make_mut(r);
            let silent_ms = now.saturating_sub(r.last_beat);
            r.last_beat = now;
            if !r.healthy {
                self.lapses.push(Lapse {
                    cluster: cluster.into(),
                    ip: ip.into(),
                    port,
                    kind: LapseKind::Recovered,
                    silent_ms,
                });
                let old_hash = record_hash(cluster, ip, port, r);
                r.healthy = true;
                let new_hash = record_hash(cluster, ip, port, r);
                self.checksum = self.checksum.wrapping_sub(old_hash).wrapping_add(new_hash);
                self.changed = true;
            }
        }
        Beat::Accepted(interval)
    }

    /// Marks ephemeral instances unhealthy after `health` ms without a beat and removes them
    /// after `expire` ms (unless their metadata sets their own timeouts); returns the next
    /// instant (registry clock) something is due, and lowers `shortest` to the shortest timeout
    /// of the instances it keeps. Modifies orphaned [`MODIFY_RETENTION`] ago go too.
    pub(crate) fn expire(
        &mut self,
        now: u64,
        health: u64,
        expire: u64,
        shortest: &mut u64,
    ) -> Option<u64> {
        let mut next: Option<u64> = None;
        let ServiceState {
            clusters,
            count,
            checksum,
            changed,
            lapses,
            modifies,
            modifies_changed,
            kind,
            persist_changed,
            ..
        } = self;
        for (cluster_name, cluster) in clusters.iter_mut() {
            cluster.retain(|(ip, port), r| {
                if !r.ephemeral {
                    return true;
                }
                let (health, expire) = if r.metadata.is_empty() {
                    (health, expire)
                } else {
                    (
                        preserved(&r.metadata, HEALTH_TIMEOUT_KEY).unwrap_or(health),
                        preserved(&r.metadata, EXPIRE_TIMEOUT_KEY).unwrap_or(expire),
                    )
                };
                let age = now.saturating_sub(r.last_beat);
                let mut lapse = |kind| {
                    lapses.push(Lapse {
                        cluster: cluster_name.clone(),
                        ip: Box::from(&**ip),
                        port: *port,
                        kind,
                        silent_ms: age,
                    });
                };
                if age >= expire {
                    lapse(LapseKind::Expired);
                    orphan(modifies, cluster_name, ip, *port, now);
                    *checksum = checksum.wrapping_sub(record_hash(cluster_name, ip, *port, r));
                    *count -= 1;
                    *changed = true;
                    return false;
                }
                if r.healthy && age >= health {
                    lapse(LapseKind::Unhealthy);
                    let old_hash = record_hash(cluster_name, ip, *port, r);
                    let r = Arc::make_mut(r);
                    r.healthy = false;
                    let new_hash = record_hash(cluster_name, ip, *port, r);
                    *checksum = checksum.wrapping_sub(old_hash).wrapping_add(new_hash);
                    *changed = true;
                }
                *shortest = (*shortest).min(health.min(expire));
                let due = if r.healthy {
                    r.last_beat.saturating_add(health.min(expire))
                } else {
                    r.last_beat.saturating_add(expire)
                };
                next = Some(next.map_or(due, |n| n.min(due)));
                true
            });
        }
        clusters.retain(|_, c| !c.is_empty());
        modifies.retain(|key, kept| match kept.orphaned_at {
            Some(at) if now.saturating_sub(at) >= MODIFY_RETENTION => {
                if *kind == Some(false) {
                    modifies_changed.push(key.clone());
                    *persist_changed = true;
                }
                false
            }
            Some(at) => {
                let due = at.saturating_add(MODIFY_RETENTION);
                next = Some(next.map_or(due, |n| n.min(due)));
                true
            }
            None => true,
        });
        next
    }

    /// Ends a round of changes: if the instance set changed, the cached answers go and
    /// `lastRefTime` moves past every answer given so far; returns whether it changed.
    pub(crate) fn settle(&mut self, now: u64, wall_ms: i64) -> bool {
        if self.count == 0 {
            self.empty_since.get_or_insert(now);
        } else {
            self.empty_since = None;
        }
        if !std::mem::take(&mut self.changed) {
            return false;
        }
        self.generation += 1;
        self.last_ref_time = wall_ms.max(self.last_ref_time.saturating_add(1));
        true
    }

    /// A change to the definition (not the instance set): cached answers stay valid except
    /// for the threshold, which changes what lists show.
    pub(crate) fn definition_changed(&mut self) {
        self.generation += 1;
        self.persist_changed = true;
    }

    /// Since when the service is empty (registry clock).
    pub(crate) fn empty_since(&self) -> Option<u64> {
        self.empty_since
    }
}

/// Marks the modify kept for `ip:port` in `cluster`, if any, orphaned at `now` (a first mark
/// stays: official servers count from the first).
fn orphan(
    modifies: &mut BTreeMap<ModifyKey, StoredModify>,
    cluster: &str,
    ip: &str,
    port: u16,
    now: u64,
) {
    if modifies.is_empty() {
        return;
    }
    if let Some(kept) = modifies.get_mut(&modify_key(cluster, ip, port)) {
        kept.orphaned_at.get_or_insert(now);
    }
}

/// A 128-bit hash of one instance's whole content; fixed keys, so the same content gives the
/// same checksum in every run.
fn record_hash(cluster: &str, ip: &str, port: u16, r: &Record) -> u128 {
    let mut halves = [0u64; 2];
    for (seed, half) in (0u8..).zip(halves.iter_mut()) {
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        cluster.hash(&mut h);
        ip.hash(&mut h);
        port.hash(&mut h);
        // `+ 0.0` folds -0.0 into 0.0: the same weight, the same hash.
        (r.weight + 0.0).to_bits().hash(&mut h);
        r.healthy.hash(&mut h);
        r.enabled.hash(&mut h);
        r.ephemeral.hash(&mut h);
        r.metadata.hash(&mut h);
        *half = h.finish();
    }
    (u128::from(halves[0]) << 64) | u128::from(halves[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(ip: &str, weight: f64) -> Registration {
        Registration {
            cluster: "DEFAULT".into(),
            ip: ip.into(),
            port: 80,
            weight,
            healthy: true,
            enabled: true,
            ephemeral: true,
            metadata: Metadata::new(),
        }
    }

    const ALL: ListQuery<'static> = ListQuery {
        clusters: "",
        healthy_only: false,
        cache_millis: 0,
    };

    /// A snapshot taken for rendering is not changed by writes made while it is out, and the
    /// writes do not wait for it.
    #[test]
    fn a_snapshot_keeps_what_it_saw_while_writes_go_on() {
        let service = Service::new("public", "DEFAULT_GROUP@@svc");
        let mut state = service.lock();
        state.register(registration("10.0.0.1", 1.0), 0, Identity::PerAddress);
        let snapshot = state.snapshot(ALL);

        state.register(registration("10.0.0.1", 5.0), 1, Identity::PerAddress);
        state.register(registration("10.0.0.2", 1.0), 1, Identity::PerAddress);
        state.beat(Identity::PerAddress, "DEFAULT", "10.0.0.1", 80, 2);
        drop(state);

        let info = service.service_info_of(snapshot, ALL);
        assert_eq!(info.hosts.len(), 1);
        assert_eq!(info.hosts[0].weight, 1.0);
        let now = service.service_info(&service.lock(), ALL);
        assert_eq!(now.hosts.len(), 2);
    }

    /// A render whose snapshot predates a change is answered but not kept: the next list
    /// renders the new state.
    #[test]
    fn a_render_overtaken_by_a_change_is_not_cached() {
        let service = Service::new("public", "DEFAULT_GROUP@@svc");
        let mut state = service.lock();
        state.register(registration("10.0.0.1", 1.0), 0, Identity::PerAddress);
        state.settle(0, 1);
        let started = state.generation;
        drop(state);
        let stale = Rendered::new(b"{\"hosts\":[]}".to_vec());

        let mut state = service.lock();
        state.register(registration("10.0.0.2", 1.0), 1, Identity::PerAddress);
        assert!(state.settle(1, 2));
        drop(state);
        let cache = ListCache::new(1 << 20);
        service.keep(started, ALL, stale.clone(), &cache);
        assert_eq!(cache.len(), 0, "a stale answer was kept");

        let current = service.lock().generation;
        service.keep(current, ALL, stale, &cache);
        assert_eq!(cache.len(), 1);
        let (answer, _) = service.render(service.lock(), ALL, &cache);
        assert_eq!(&answer[..], b"{\"hosts\":[]}", "the kept answer is served");
    }

    /// Many services, each listed with many filters, past a small budget: what the cache
    /// counts stays within it, and every answer (from the cache or rendered again) shows the
    /// service's current instances.
    #[test]
    fn many_services_and_filters_stay_within_one_budget() {
        const BUDGET: usize = 16 << 10;
        let cache = ListCache::new(BUDGET);
        let services: Vec<Service> = (0..40)
            .map(|i| Service::new("public", &format!("DEFAULT_GROUP@@svc{i}")))
            .collect();
        let filters = ["", "DEFAULT", "c1", "c1,DEFAULT", "c2"];
        let ips = |service: &Service| -> Vec<String> {
            let query = ListQuery {
                clusters: "DEFAULT",
                healthy_only: true,
                cache_millis: 10_000,
            };
            let (answer, _) = service.render(service.lock(), query, &cache);
            let info: ServiceInfo = serde_json::from_slice(&answer).unwrap();
            assert_eq!(info.name, service.name());
            info.hosts.into_iter().map(|h| h.ip).collect()
        };
        for round in 0..3u8 {
            for (i, service) in services.iter().enumerate() {
                let mut state = service.lock();
                state.register(
                    registration(&format!("10.{round}.0.{i}"), 1.0),
                    0,
                    Identity::PerAddress,
                );
                state.settle(0, i64::from(round) + 1);
                drop(state);
                for filter in filters {
                    for healthy_only in [false, true] {
                        let query = ListQuery {
                            clusters: filter,
                            healthy_only,
                            cache_millis: 10_000,
                        };
                        let (answer, stamp) = service.render(service.lock(), query, &cache);
                        let info: ServiceInfo = serde_json::from_slice(&answer).unwrap();
                        assert_eq!(info.last_ref_time, stamp);
                        let wanted =
                            if filter.split(',').any(|c| c == "DEFAULT") || filter.is_empty() {
                                usize::from(round) + 1
                            } else {
                                0
                            };
                        assert_eq!(info.hosts.len(), wanted, "{} {filter:?}", service.grouped);
                        assert!(cache.bytes() <= BUDGET, "{} counted", cache.bytes());
                    }
                }
            }
        }
        assert!(cache.len() > 1, "answers are kept");
        assert!(
            cache.len() < services.len() * filters.len() * 2,
            "answers were let go"
        );
        // Answers kept or not, each service shows its own instances.
        for (i, service) in services.iter().enumerate() {
            let want: Vec<String> = (0..3).map(|round| format!("10.{round}.0.{i}")).collect();
            let mut got = ips(service);
            got.sort();
            assert_eq!(got, want);
            assert_eq!(ips(service), want, "the kept answer is the same");
        }
    }
}
