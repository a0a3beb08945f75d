//! One registered service instance, as servers describe it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::wire::lenient;

/// The default cluster name servers use when none is given.
pub const DEFAULT_CLUSTER: &str = "DEFAULT";
/// The default group name servers use when none is given.
pub const DEFAULT_GROUP: &str = "DEFAULT_GROUP";
/// The namespace servers use when no `namespaceId` is sent.
pub const DEFAULT_NAMESPACE: &str = "public";

/// A service instance: where it listens and what the registry knows of it.
///
/// Decoding is tolerant of the shapes official Nacos 1.4, 2.x and rnacos send: numbers may
/// arrive as strings, missing fields take the server defaults and unknown fields are ignored.
/// It serializes in the official 2.x form.
///
/// Identify an instance by `(ip, port, cluster_name)`, never by `instance_id`: servers build
/// that id differently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// The server's id for the instance; its format differs between servers.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub instance_id: Option<String>,
    /// IP address or host name.
    #[serde(deserialize_with = "lenient::string")]
    pub ip: String,
    /// Port.
    #[serde(deserialize_with = "lenient::port")]
    pub port: u16,
    /// Load-balancing weight in `0.0..=10000.0`; 0 takes no traffic.
    #[serde(default = "one", deserialize_with = "lenient::weight")]
    pub weight: f64,
    /// Whether the instance passes its health check (beats, for an ephemeral instance).
    #[serde(default = "yes", deserialize_with = "lenient::bool_true")]
    pub healthy: bool,
    /// Whether the instance takes traffic; disabled instances are left out of lists.
    #[serde(default = "yes", deserialize_with = "lenient::bool_true")]
    pub enabled: bool,
    /// Ephemeral instances live by heartbeats; persistent ones are probed by the server.
    #[serde(default = "yes", deserialize_with = "lenient::bool_true")]
    pub ephemeral: bool,
    /// The cluster the instance belongs to (`DEFAULT` unless given).
    #[serde(default = "default_cluster", deserialize_with = "lenient::string")]
    pub cluster_name: String,
    /// The service name as the server reports it (often `group@@service`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub service_name: String,
    /// Free-form string metadata.
    #[serde(default, deserialize_with = "lenient::metadata")]
    pub metadata: BTreeMap<String, String>,
}

impl Instance {
    /// A healthy, enabled, ephemeral instance of weight 1 in the default cluster.
    pub fn new(ip: impl Into<String>, port: u16) -> Instance {
        Instance {
            instance_id: None,
            ip: ip.into(),
            port,
            weight: 1.0,
            healthy: true,
            enabled: true,
            ephemeral: true,
            cluster_name: DEFAULT_CLUSTER.to_owned(),
            service_name: String::new(),
            metadata: BTreeMap::new(),
        }
    }

    /// `ip:port`, the address to connect to.
    pub fn address(&self) -> String {
        if self.ip.contains(':') {
            format!("[{}]:{}", self.ip, self.port)
        } else {
            format!("{}:{}", self.ip, self.port)
        }
    }

    /// Whether `other` is the same registration: same ip, port and cluster.
    pub fn same_registration(&self, other: &Instance) -> bool {
        self.ip == other.ip && self.port == other.port && self.cluster_name == other.cluster_name
    }
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

fn default_cluster() -> String {
    DEFAULT_CLUSTER.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_official_2x_host() {
        let json = r#"{"instanceId":"10.0.0.1#8080#DEFAULT#G@@svc","ip":"10.0.0.1","port":8080,
            "weight":1.5,"healthy":true,"enabled":true,"ephemeral":true,"clusterName":"DEFAULT",
            "serviceName":"G@@svc","metadata":{"version":"1.0"},"instanceHeartBeatInterval":5000,
            "ipDeleteTimeout":30000,"instanceHeartBeatTimeOut":15000}"#;
        let i: Instance = serde_json::from_str(json).unwrap();
        assert_eq!(
            i.instance_id.as_deref(),
            Some("10.0.0.1#8080#DEFAULT#G@@svc")
        );
        assert_eq!(i.port, 8080);
        assert_eq!(i.weight, 1.5);
        assert_eq!(i.metadata["version"], "1.0");
    }

    #[test]
    fn decodes_loose_types_and_missing_fields() {
        let json = r#"{"ip":"h","port":"81","weight":"2","healthy":"False","metadata":{"n":3,"b":true,"z":null}}"#;
        let i: Instance = serde_json::from_str(json).unwrap();
        assert_eq!(i.port, 81);
        assert_eq!(i.weight, 2.0);
        assert!(!i.healthy);
        assert!(i.enabled && i.ephemeral);
        assert_eq!(i.cluster_name, "DEFAULT");
        assert_eq!(i.metadata["n"], "3");
        assert_eq!(i.metadata["b"], "true");
        assert_eq!(i.metadata["z"], "");
        assert_eq!(i.instance_id, None);
    }

    #[test]
    fn decodes_metadata_sent_as_a_json_string() {
        let json = r#"{"ip":"h","port":1,"metadata":"{\"a\":\"b\"}"}"#;
        let i: Instance = serde_json::from_str(json).unwrap();
        assert_eq!(i.metadata["a"], "b");
    }

    #[test]
    fn rejects_bad_ports_with_an_error() {
        for port in ["70000", "-1", "1.5", "\"x\""] {
            let json = format!(r#"{{"ip":"h","port":{port}}}"#);
            assert!(serde_json::from_str::<Instance>(&json).is_err(), "{port}");
        }
    }

    #[test]
    fn round_trips_through_its_own_serialization() {
        let mut i = Instance::new("::1", 9);
        i.metadata.insert("k".into(), "v".into());
        let back: Instance = serde_json::from_str(&serde_json::to_string(&i).unwrap()).unwrap();
        assert_eq!(back, i);
        assert_eq!(i.address(), "[::1]:9");
    }
}
