//! A service and its instances: the list answer and the push payload.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Deserializer, Serialize};

use crate::instance::{Instance, DEFAULT_GROUP};
use crate::wire::lenient;

/// Separates the group from the service name in Nacos's grouped names (`group@@service`).
pub const GROUP_SEPARATOR: &str = "@@";

/// A service's current instances, as answered by `/nacos/v1/ns/instance/list` or pushed.
///
/// `name` is the plain service name and `group_name` its group, whichever form the server used
/// (official 2.x sends `name` as `group@@service`). Every field but `hosts` is optional on the
/// wire, unknown fields are ignored and `checksum` may be a string or a number. It serializes
/// in the official 2.x form, with `name` grouped.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(into = "WireServiceInfo")]
pub struct ServiceInfo {
    /// The service name, without its group.
    pub name: String,
    /// The group (`DEFAULT_GROUP` unless given).
    pub group_name: String,
    /// The clusters the answer was filtered to, comma-separated; empty for all.
    pub clusters: String,
    /// How long, in milliseconds, the server allows this answer to be cached.
    pub cache_millis: u64,
    /// The instances; disabled instances are never listed.
    pub hosts: Vec<Instance>,
    /// When the server produced this answer (epoch milliseconds); orders pushes and polls.
    pub last_ref_time: i64,
    /// A digest of the instance set that changes when the set changes.
    pub checksum: String,
    /// Whether the answer lists all addresses regardless of filters (official servers only).
    pub all_ips: bool,
    /// Whether the protection threshold was reached, so unhealthy instances were returned too.
    pub reach_protection_threshold: bool,
}

impl ServiceInfo {
    /// An empty answer for `group_name@@name`.
    pub fn new(name: impl Into<String>, group_name: impl Into<String>) -> ServiceInfo {
        ServiceInfo {
            name: name.into(),
            group_name: group_name.into(),
            clusters: String::new(),
            cache_millis: 10_000,
            hosts: Vec::new(),
            last_ref_time: 0,
            checksum: String::new(),
            all_ips: false,
            reach_protection_threshold: false,
        }
    }

    /// `group@@name`, the key servers use for the service.
    pub fn grouped_name(&self) -> String {
        grouped_name(&self.group_name, &self.name)
    }
}

/// `group@@service`, unless `service` is grouped already.
pub fn grouped_name(group: &str, service: &str) -> String {
    if service.contains(GROUP_SEPARATOR) {
        service.to_owned()
    } else {
        format!("{group}{GROUP_SEPARATOR}{service}")
    }
}

/// The field-for-field wire form, decoded tolerantly.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireServiceInfo {
    #[serde(default, deserialize_with = "lenient::string")]
    name: String,
    /// Official 1.4 sends the grouped name as `dom` too; older servers only as `dom`.
    #[serde(default, skip_serializing, deserialize_with = "lenient::string")]
    dom: String,
    #[serde(default, deserialize_with = "lenient::string")]
    group_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    clusters: String,
    #[serde(default = "default_cache_millis", deserialize_with = "lenient::uint")]
    cache_millis: u64,
    #[serde(default, deserialize_with = "null_as_empty")]
    hosts: Vec<Instance>,
    #[serde(default, deserialize_with = "lenient::int")]
    last_ref_time: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    checksum: String,
    #[serde(default, rename = "allIPs", deserialize_with = "lenient::bool_false")]
    all_ips: bool,
    #[serde(default, deserialize_with = "lenient::bool_false")]
    reach_protection_threshold: bool,
}

/// Only a JSON object is a list answer: `[]`, a number or a string is an error, never a service
/// without instances.
impl<'de> Deserialize<'de> for ServiceInfo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ServiceInfo, D::Error> {
        lenient::object::<D, WireServiceInfo>(d).map(ServiceInfo::from)
    }
}

/// Whether duplicate hosts were reported already: a server that sends them does so in every
/// answer, and one warning says all there is to say.
static DUPLICATES_REPORTED: AtomicBool = AtomicBool::new(false);

/// Keeps the first of hosts with the same identity (ip, port, cluster), as a server that lists
/// one twice means it once; duplicates would count twice in weighted selection and in events.
fn drop_duplicate_hosts(service: &str, hosts: &mut Vec<Instance>) {
    let before = hosts.len();
    let mut seen = HashSet::with_capacity(before);
    hosts.retain(|h| seen.insert((h.ip.clone(), h.port, h.cluster_name.clone())));
    let dropped = before - hosts.len();
    if dropped > 0 {
        if DUPLICATES_REPORTED.swap(true, Ordering::Relaxed) {
            log::debug!("dropped {dropped} duplicate hosts in an answer for {service}");
        } else {
            log::warn!(
                "dropped {dropped} duplicate hosts in an answer for {service} (ip, port and \
                 cluster listed twice); further duplicates are logged at debug level"
            );
        }
    }
}

fn default_cache_millis() -> u64 {
    3000
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Instance>, D::Error> {
    Ok(Option::<Vec<Instance>>::deserialize(d)?.unwrap_or_default())
}

impl From<WireServiceInfo> for ServiceInfo {
    fn from(w: WireServiceInfo) -> ServiceInfo {
        let name = if w.name.is_empty() { w.dom } else { w.name };
        let (group, name) = match name.split_once(GROUP_SEPARATOR) {
            Some((group, name)) => (group.to_owned(), name.to_owned()),
            None => (String::new(), name),
        };
        let group_name = match (w.group_name.is_empty(), group.is_empty()) {
            (false, _) => w.group_name,
            (true, false) => group,
            (true, true) => DEFAULT_GROUP.to_owned(),
        };
        let mut hosts = w.hosts;
        drop_duplicate_hosts(&grouped_name(&group_name, &name), &mut hosts);
        ServiceInfo {
            name,
            group_name,
            clusters: w.clusters,
            cache_millis: w.cache_millis,
            hosts,
            last_ref_time: w.last_ref_time,
            checksum: w.checksum,
            all_ips: w.all_ips,
            reach_protection_threshold: w.reach_protection_threshold,
        }
    }
}

impl From<ServiceInfo> for WireServiceInfo {
    fn from(s: ServiceInfo) -> WireServiceInfo {
        WireServiceInfo {
            name: grouped_name(&s.group_name, &s.name),
            dom: String::new(),
            group_name: s.group_name,
            clusters: s.clusters,
            cache_millis: s.cache_millis,
            hosts: s.hosts,
            last_ref_time: s.last_ref_time,
            checksum: s.checksum,
            all_ips: s.all_ips,
            reach_protection_threshold: s.reach_protection_threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_official_2x() {
        let json = r#"{"name":"G1@@svc","groupName":"G1","clusters":"","cacheMillis":10000,
            "hosts":[{"ip":"1.1.1.1","port":80}],"lastRefTime":1700000000000,"checksum":"",
            "allIPs":false,"reachProtectionThreshold":false,"valid":true}"#;
        let s: ServiceInfo = serde_json::from_str(json).unwrap();
        assert_eq!((s.name.as_str(), s.group_name.as_str()), ("svc", "G1"));
        assert_eq!(s.hosts.len(), 1);
        assert_eq!(s.last_ref_time, 1_700_000_000_000);
    }

    #[test]
    fn decodes_official_1_4_and_rnacos() {
        let v14 = r#"{"dom":"DEFAULT_GROUP@@svc","name":"DEFAULT_GROUP@@svc","cacheMillis":3000,
            "lastRefTime":1,"checksum":"abc","useSpecifiedURL":false,"clusters":"","env":"",
            "hosts":[],"metadata":{}}"#;
        let s: ServiceInfo = serde_json::from_str(v14).unwrap();
        assert_eq!(
            (s.name.as_str(), s.group_name.as_str()),
            ("svc", "DEFAULT_GROUP")
        );
        let rnacos = r#"{"name":"svc","clusters":"","cacheMillis":10000,"hosts":null,
            "lastRefTime":"5","checksum":123,"protectThreshold":0.0}"#;
        let s: ServiceInfo = serde_json::from_str(rnacos).unwrap();
        assert_eq!(
            (s.name.as_str(), s.group_name.as_str()),
            ("svc", "DEFAULT_GROUP")
        );
        assert_eq!(s.checksum, "123");
        assert_eq!(s.last_ref_time, 5);
        assert!(s.hosts.is_empty());
    }

    #[test]
    fn serializes_grouped_and_round_trips() {
        let mut s = ServiceInfo::new("svc", "G");
        s.hosts.push(Instance::new("1.2.3.4", 5));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["name"], "G@@svc");
        assert_eq!(json["allIPs"], false);
        let back: ServiceInfo = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn an_answer_that_is_not_an_object_is_an_error_not_an_empty_list() {
        for bad in ["[]", "[\"svc\"]", "0", "\"svc\"", "null", "true"] {
            assert!(serde_json::from_str::<ServiceInfo>(bad).is_err(), "{bad}");
            assert!(
                serde_json::from_value::<ServiceInfo>(serde_json::from_str(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
        assert!(serde_json::from_str::<ServiceInfo>("{}").is_ok());
    }

    #[test]
    fn duplicate_hosts_are_dropped() {
        let json = r#"{"name":"svc","hosts":[{"ip":"1.1.1.1","port":80},
            {"ip":"1.1.1.1","port":80,"weight":5},{"ip":"1.1.1.1","port":80,"clusterName":"B"},
            {"ip":"1.1.1.1","port":81}]}"#;
        let s: ServiceInfo = serde_json::from_str(json).unwrap();
        let hosts: Vec<_> = s
            .hosts
            .iter()
            .map(|h| (h.port, h.cluster_name.as_str(), h.weight))
            .collect();
        assert_eq!(
            hosts,
            vec![(80, "DEFAULT", 1.0), (80, "B", 1.0), (81, "DEFAULT", 1.0)]
        );
    }

    #[test]
    fn grouped_name_keeps_names_already_grouped() {
        assert_eq!(grouped_name("G", "svc"), "G@@svc");
        assert_eq!(grouped_name("G", "H@@svc"), "H@@svc");
    }
}
