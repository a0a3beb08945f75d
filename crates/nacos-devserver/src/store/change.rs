//! What the data files hold: one line of the log per change, and the persistent state those
//! changes add up to (what a snapshot holds).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A persistent instance as stored: its identity in its service and what can change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StoredInstance {
    pub(crate) cluster: String,
    pub(crate) ip: String,
    pub(crate) port: u16,
    pub(crate) weight: f64,
    pub(crate) healthy: bool,
    pub(crate) enabled: bool,
    #[serde(default)]
    pub(crate) metadata: BTreeMap<String, String>,
}

impl StoredInstance {
    /// What is wrong with it, naming the field; `None` when it can be loaded.
    pub(crate) fn problem(&self) -> Option<String> {
        address_problem(&self.cluster, &self.ip, self.port, self.weight)
    }

    fn key(&self) -> InstanceKey {
        (self.cluster.clone(), self.ip.clone(), self.port)
    }
}

/// What is wrong with the fields a stored instance and a kept modify share, naming the
/// field; `None` when they can be loaded.
fn address_problem(cluster: &str, ip: &str, port: u16, weight: f64) -> Option<String> {
    if ip.trim().is_empty() {
        return Some("ip: empty".into());
    }
    if port == 0 {
        return Some("port: 0 is not a port".into());
    }
    if cluster.trim().is_empty() {
        return Some("cluster: empty".into());
    }
    if !(weight.is_finite() && (0.0..=10_000.0).contains(&weight)) {
        return Some(format!("weight: {weight} is not a weight (0 to 10000)"));
    }
    None
}

/// A modify kept for an address (2.x and 3.x, persistent services): what it sets, whether an
/// instance is there or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct KeptModify {
    pub(crate) cluster: String,
    pub(crate) ip: String,
    pub(crate) port: u16,
    pub(crate) weight: f64,
    pub(crate) enabled: bool,
    #[serde(default)]
    pub(crate) metadata: BTreeMap<String, String>,
}

impl KeptModify {
    /// What is wrong with it, naming the field; `None` when it can be loaded.
    pub(crate) fn problem(&self) -> Option<String> {
        // The same fields as an instance's, the same rules.
        address_problem(&self.cluster, &self.ip, self.port, self.weight)
    }

    fn key(&self) -> InstanceKey {
        (self.cluster.clone(), self.ip.clone(), self.port)
    }
}

/// One line of the log: the new state of one instance or one service definition. Each line
/// says what is, not what to do, so replaying a line twice changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "op",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub(crate) enum Change {
    /// A persistent instance was registered or changed.
    Put {
        namespace: String,
        /// `group@@service`.
        service: String,
        instance: StoredInstance,
    },
    /// A persistent instance was removed (or became ephemeral).
    Remove {
        namespace: String,
        service: String,
        cluster: String,
        ip: String,
        port: u16,
    },
    /// A service's definition was created, updated or deleted (`defined` false).
    Define {
        namespace: String,
        service: String,
        defined: bool,
        protect_threshold: f32,
        #[serde(default)]
        metadata: BTreeMap<String, String>,
        /// The kind of instances a service created through the service API holds (2.x and
        /// 3.x); absent when its first registration decides.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ephemeral: Option<bool>,
    },
    /// A modify was kept for an address, replacing the one there.
    Modify {
        namespace: String,
        service: String,
        modify: KeptModify,
    },
    /// The modify kept for an address was dropped.
    Unmodify {
        namespace: String,
        service: String,
        cluster: String,
        ip: String,
        port: u16,
    },
}

impl Change {
    /// What is wrong with it, naming the field; `None` when it can be loaded.
    pub(crate) fn problem(&self) -> Option<String> {
        let (namespace, service) = self.service();
        if let Some(problem) = service_problem(namespace, service) {
            return Some(problem);
        }
        match self {
            Change::Put { instance, .. } => instance.problem().map(|p| format!("instance.{p}")),
            Change::Modify { modify, .. } => modify.problem().map(|p| format!("modify.{p}")),
            Change::Remove { ip, .. } | Change::Unmodify { ip, .. } if ip.trim().is_empty() => {
                Some("ip: empty".into())
            }
            Change::Define {
                protect_threshold, ..
            } if !(0.0..=1.0).contains(protect_threshold) => Some(format!(
                "protectThreshold: {protect_threshold} is not between 0 and 1"
            )),
            _ => None,
        }
    }

    fn service(&self) -> (&str, &str) {
        match self {
            Change::Put {
                namespace, service, ..
            }
            | Change::Remove {
                namespace, service, ..
            }
            | Change::Define {
                namespace, service, ..
            }
            | Change::Modify {
                namespace, service, ..
            }
            | Change::Unmodify {
                namespace, service, ..
            } => (namespace, service),
        }
    }
}

/// What is wrong with a namespace and grouped service name; `None` when they can be loaded.
pub(crate) fn service_problem(namespace: &str, service: &str) -> Option<String> {
    if namespace.is_empty() {
        return Some("namespace: empty".into());
    }
    let grouped = service
        .split_once(nacos_naming::GROUP_SEPARATOR)
        .is_some_and(|(g, s)| !g.is_empty() && !s.is_empty());
    if !grouped {
        return Some(format!("service: {service:?} is not group@@service"));
    }
    None
}

/// What is persisted of one service: a snapshot's entry, and what the registry loads.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ServiceRecord {
    pub(crate) namespace: String,
    /// `group@@service`.
    pub(crate) service: String,
    /// Created or updated through the service API.
    #[serde(default)]
    pub(crate) defined: bool,
    #[serde(default)]
    pub(crate) protect_threshold: f32,
    #[serde(default)]
    pub(crate) metadata: BTreeMap<String, String>,
    /// The kind of instances the definition fixed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ephemeral: Option<bool>,
    /// The persistent instances.
    #[serde(default)]
    pub(crate) instances: Vec<StoredInstance>,
    /// The modifies kept for addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) modifies: Vec<KeptModify>,
}

impl ServiceRecord {
    /// What is wrong with it, naming the field; `None` when it can be loaded.
    pub(crate) fn problem(&self) -> Option<String> {
        if let Some(problem) = service_problem(&self.namespace, &self.service) {
            return Some(problem);
        }
        if !(0.0..=1.0).contains(&self.protect_threshold) {
            return Some(format!(
                "protectThreshold: {} is not between 0 and 1",
                self.protect_threshold
            ));
        }
        let instances = self
            .instances
            .iter()
            .enumerate()
            .find_map(|(i, instance)| Some(format!("instances[{i}].{}", instance.problem()?)));
        instances.or_else(|| {
            self.modifies
                .iter()
                .enumerate()
                .find_map(|(i, modify)| Some(format!("modifies[{i}].{}", modify.problem()?)))
        })
    }
}

type InstanceKey = (String, String, u16);

#[derive(Debug, Default)]
struct ServiceState {
    defined: bool,
    protect_threshold: f32,
    metadata: BTreeMap<String, String>,
    ephemeral: Option<bool>,
    instances: BTreeMap<InstanceKey, StoredInstance>,
    /// Kept while the service has a definition or persistent instances.
    modifies: BTreeMap<InstanceKey, KeptModify>,
}

/// The persistent state the log and the snapshot add up to, kept by the store to write the
/// next snapshot without asking the registry (whose locks serve requests).
#[derive(Debug, Default)]
pub(crate) struct Persistent {
    services: BTreeMap<(String, String), ServiceState>,
}

impl Persistent {
    /// Applies one change.
    pub(crate) fn apply(&mut self, change: Change) {
        let (key, state) = match change {
            Change::Put {
                namespace,
                service,
                instance,
            } => {
                let state = self.services.entry((namespace, service)).or_default();
                state.instances.insert(instance.key(), instance);
                return;
            }
            Change::Modify {
                namespace,
                service,
                modify,
            } => {
                let state = self
                    .services
                    .entry((namespace.clone(), service.clone()))
                    .or_default();
                state.modifies.insert(modify.key(), modify);
                ((namespace, service), state)
            }
            Change::Unmodify {
                namespace,
                service,
                cluster,
                ip,
                port,
            } => {
                let key = (namespace, service);
                let Some(state) = self.services.get_mut(&key) else {
                    return;
                };
                state.modifies.remove(&(cluster, ip, port));
                (key, state)
            }
            Change::Remove {
                namespace,
                service,
                cluster,
                ip,
                port,
            } => {
                let key = (namespace, service);
                let Some(state) = self.services.get_mut(&key) else {
                    return;
                };
                state.instances.remove(&(cluster, ip, port));
                (key, state)
            }
            Change::Define {
                namespace,
                service,
                defined,
                protect_threshold,
                metadata,
                ephemeral,
            } => {
                let state = self
                    .services
                    .entry((namespace.clone(), service.clone()))
                    .or_default();
                state.defined = defined;
                state.protect_threshold = protect_threshold;
                state.metadata = metadata;
                state.ephemeral = ephemeral;
                ((namespace, service), state)
            }
        };
        if !state.defined && state.instances.is_empty() {
            self.services.remove(&key);
        }
    }

    /// Replaces a whole service (a snapshot's entry or an older format's file).
    pub(crate) fn insert(&mut self, record: ServiceRecord) {
        let state = ServiceState {
            defined: record.defined,
            protect_threshold: record.protect_threshold,
            metadata: record.metadata,
            ephemeral: record.ephemeral,
            instances: record.instances.into_iter().map(|i| (i.key(), i)).collect(),
            modifies: record.modifies.into_iter().map(|m| (m.key(), m)).collect(),
        };
        let key = (record.namespace, record.service);
        if state.defined || !state.instances.is_empty() {
            self.services.insert(key, state);
        } else {
            self.services.remove(&key);
        }
    }

    /// Every service, in order.
    pub(crate) fn records(&self) -> Vec<ServiceRecord> {
        self.services
            .iter()
            .map(|((namespace, service), state)| ServiceRecord {
                namespace: namespace.clone(),
                service: service.clone(),
                defined: state.defined,
                protect_threshold: state.protect_threshold,
                metadata: state.metadata.clone(),
                ephemeral: state.ephemeral,
                instances: state.instances.values().cloned().collect(),
                modifies: state.modifies.values().cloned().collect(),
            })
            .collect()
    }

    /// The number of persistent instances.
    pub(crate) fn instances(&self) -> usize {
        self.services.values().map(|s| s.instances.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn instance(ip: &str, port: u16) -> StoredInstance {
        StoredInstance {
            cluster: "DEFAULT".into(),
            ip: ip.into(),
            port,
            weight: 1.0,
            healthy: true,
            enabled: true,
            metadata: BTreeMap::new(),
        }
    }

    fn put(service: &str, ip: &str) -> Change {
        Change::Put {
            namespace: "public".into(),
            service: service.into(),
            instance: instance(ip, 80),
        }
    }

    #[test]
    fn lines_read_back_and_refuse_unknown_fields() {
        let line = serde_json::to_string(&put("G@@s", "1.1.1.1")).unwrap();
        assert!(
            line.starts_with(r#"{"op":"put","namespace":"public""#),
            "{line}"
        );
        let back: Change = serde_json::from_str(&line).unwrap();
        assert_eq!(back, put("G@@s", "1.1.1.1"));
        let misspelled = line.replace("\"weight\"", "\"wieght\"");
        assert!(serde_json::from_str::<Change>(&misspelled).is_err());
        let extra = line.replacen("{\"op\"", "{\"extra\":1,\"op\"", 1);
        assert!(serde_json::from_str::<Change>(&extra).is_err());
    }

    #[test]
    fn problems_name_the_field() {
        let mut bad = instance("1.1.1.1", 80);
        bad.weight = -5.0;
        let change = Change::Put {
            namespace: "public".into(),
            service: "G@@s".into(),
            instance: bad,
        };
        assert!(change.problem().unwrap().starts_with("instance.weight"));
        let mut empty_ip = put("G@@s", "");
        assert_eq!(empty_ip.problem().unwrap(), "instance.ip: empty");
        empty_ip = put("nogroup", "1.1.1.1");
        assert!(empty_ip.problem().unwrap().starts_with("service"));
        assert_eq!(put("G@@s", "1.1.1.1").problem(), None);
    }

    #[test]
    fn changes_add_up_and_replay_alike() {
        let mut state = Persistent::default();
        let changes = [
            put("G@@a", "1.1.1.1"),
            put("G@@a", "2.2.2.2"),
            put("G@@b", "3.3.3.3"),
            Change::Remove {
                namespace: "public".into(),
                service: "G@@a".into(),
                cluster: "DEFAULT".into(),
                ip: "1.1.1.1".into(),
                port: 80,
            },
            Change::Remove {
                namespace: "public".into(),
                service: "G@@b".into(),
                cluster: "DEFAULT".into(),
                ip: "3.3.3.3".into(),
                port: 80,
            },
            Change::Define {
                namespace: "public".into(),
                service: "G@@c".into(),
                defined: true,
                protect_threshold: 0.5,
                metadata: BTreeMap::new(),
                ephemeral: Some(false),
            },
        ];
        for change in changes.iter().cloned() {
            state.apply(change);
        }
        let once = state.records();
        for change in changes {
            state.apply(change);
        }
        assert_eq!(
            state.records(),
            once,
            "replaying changes twice changes nothing"
        );
        let names: Vec<_> = once.iter().map(|r| r.service.as_str()).collect();
        assert_eq!(names, ["G@@a", "G@@c"], "an empty, undefined service goes");
        assert_eq!(once[0].instances, [instance("2.2.2.2", 80)]);
        assert_eq!(state.instances(), 1);
    }
    /// Modifies kept for addresses: written, replaced, dropped, read back from a line, and kept
    /// only while the service has a definition or persistent instances.
    #[test]
    fn kept_modifies_add_up() {
        let modify = |ip: &str, weight: f64| Change::Modify {
            namespace: "public".into(),
            service: "G@@a".into(),
            modify: KeptModify {
                cluster: "B".into(),
                ip: ip.into(),
                port: 80,
                weight,
                enabled: false,
                metadata: BTreeMap::from([("k".into(), "v".into())]),
            },
        };
        let line = serde_json::to_string(&modify("1.1.1.1", 2.0)).unwrap();
        assert!(line.starts_with(r#"{"op":"modify","#), "{line}");
        assert_eq!(
            serde_json::from_str::<Change>(&line).unwrap(),
            modify("1.1.1.1", 2.0)
        );
        assert_eq!(
            modify("1.1.1.1", -1.0).problem().unwrap(),
            "modify.weight: -1 is not a weight (0 to 10000)"
        );

        let mut state = Persistent::default();
        state.apply(modify("1.1.1.1", 2.0));
        assert!(state.records().is_empty(), "nothing holds the service");
        state.apply(put("G@@a", "1.1.1.1"));
        state.apply(modify("1.1.1.1", 2.0));
        state.apply(modify("1.1.1.1", 3.0));
        state.apply(modify("2.2.2.2", 4.0));
        state.apply(Change::Unmodify {
            namespace: "public".into(),
            service: "G@@a".into(),
            cluster: "B".into(),
            ip: "2.2.2.2".into(),
            port: 80,
        });
        let records = state.records();
        let kept: Vec<_> = records[0]
            .modifies
            .iter()
            .map(|m| (m.ip.as_str(), m.weight))
            .collect();
        assert_eq!(kept, [("1.1.1.1", 3.0)]);
        let snapshot = serde_json::to_string(&records[0]).unwrap();
        let back: ServiceRecord = serde_json::from_str(&snapshot).unwrap();
        assert_eq!(back, records[0]);
        assert_eq!(back.problem(), None);
    }
}
