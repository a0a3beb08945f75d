//! `send_heartbeat`: one beat for an ephemeral instance.

use std::collections::BTreeMap;

use crate::beat_info::BeatInfo;
use crate::calls::params::{check_instance, FirstError, InstanceKey};
use crate::calls::register::Registration;
use crate::client::{ClientInner, NamingClient};
use crate::error::Error;
use crate::wire::operation::Operation;

/// One beat. A full beat carries the instance (weight, metadata), from which a server that
/// lost it can register it again; a light one (`light`, when the server allows it) names only
/// ip, port and cluster.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BeatRequest {
    pub(crate) instance: InstanceKey,
    pub(crate) weight: f64,
    pub(crate) ephemeral: bool,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) light: bool,
}

impl BeatRequest {
    pub(crate) fn new(instance: InstanceKey) -> BeatRequest {
        BeatRequest {
            instance,
            weight: 1.0,
            ephemeral: true,
            metadata: BTreeMap::new(),
            light: false,
        }
    }

    /// The full beat of a registered instance.
    #[allow(dead_code)] // For the heartbeat scheduler, which beats what was registered.
    pub(crate) fn for_registration(r: &Registration) -> BeatRequest {
        BeatRequest {
            instance: r.instance.clone(),
            weight: r.weight,
            ephemeral: r.ephemeral,
            metadata: r.metadata.clone(),
            light: false,
        }
    }
}

impl ClientInner {
    /// One beat (V1) or renew (v3).
    pub(crate) fn beat(&self, beat: &BeatRequest) -> Result<BeatInfo, Error> {
        self.transport().perform(&Operation::Beat(beat))?.beat(beat)
    }
}

pub(crate) fn decode_beat_info(body: &str) -> Result<BeatInfo, Error> {
    crate::wire::lenient::object_from_str(body).map_err(|source| Error::Decode {
        what: "beat answer",
        source,
    })
}

/// The builder of [`NamingClient::send_heartbeat`]; [`send`](Self::send) sends one beat.
#[must_use = "nothing is sent until send() is called"]
#[derive(Debug)]
pub struct SendHeartbeat<'a> {
    client: &'a NamingClient,
    beat: BeatRequest,
    errors: FirstError,
}

impl<'a> SendHeartbeat<'a> {
    pub(crate) fn new(client: &'a NamingClient, instance: InstanceKey) -> SendHeartbeat<'a> {
        let mut errors = FirstError::default();
        check_instance(&mut errors, &instance);
        SendHeartbeat {
            client,
            beat: BeatRequest::new(instance),
            errors,
        }
    }

    crate::calls::builder_setters::instance_setters!(beat.instance);

    crate::calls::builder_setters::weight_setters! {
        /// The weight the beat carries (used when the server registers the instance from it).
        ///
        /// Defaults to 1.0.
        beat.weight
    }

    crate::calls::builder_setters::metadata_setters! {
        /// The metadata the beat carries: any pairs of strings (an array of tuples, a `HashMap`…).
        ///
        /// Defaults to none.
        beat.metadata
    }

    crate::calls::builder_setters::bool_setters! {
        /// Whether the instance is ephemeral (only ephemeral instances live by beats).
        ///
        /// Defaults to `true`.
        ephemeral / set_ephemeral => beat.ephemeral
    }

    /// Sends the beat. The answer says when to beat next ([`BeatInfo::client_beat_interval`])
    /// and whether the server still knows the instance ([`BeatInfo::instance_not_found`]: then
    /// register it again).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for the first invalid argument, before anything is sent;
    /// [`Error::Server`] when a server refuses; [`Error::Request`] when no server answers;
    /// [`Error::Decode`] when the answer cannot be understood.
    pub fn send(self) -> Result<BeatInfo, Error> {
        self.errors.into_result()?;
        self.client.inner.beat(&self.beat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::params::ServiceKey;
    use crate::wire::transport::Method;
    use crate::wire::v1;

    fn beat() -> BeatRequest {
        let mut service = ServiceKey::new(Some("ns".into()), "svc".into());
        service.group_name = "G1".into();
        let mut key = InstanceKey::new(service, "10.0.0.1".into(), 8080);
        key.cluster_name = "c1".into();
        let mut b = BeatRequest::new(key);
        b.weight = 1.5;
        b.metadata.insert("k".into(), "v".into());
        b
    }

    #[test]
    fn groups_the_service_name_inside_and_out_and_names_the_instance() {
        let call = v1::beat(&beat());
        assert_eq!(call.method(), Method::Put);
        assert_eq!(call.get("serviceName"), Some("G1@@svc"));
        assert_eq!(call.get("groupName"), Some("G1"));
        assert_eq!(call.get("namespaceId"), Some("ns"));
        let body: serde_json::Value = serde_json::from_str(call.get("beat").unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"serviceName":"G1@@svc","ip":"10.0.0.1","port":8080,
                "weight":1.5,"ephemeral":true,"cluster":"c1","metadata":{"k":"v"}})
        );
        assert_eq!(call.get("ip"), Some("10.0.0.1"));
        assert_eq!(call.get("clusterName"), Some("c1"));
    }

    #[test]
    fn a_light_beat_names_only_the_instance() {
        let mut b = beat();
        b.light = true;
        let call = v1::beat(&b);
        assert_eq!(call.get("beat"), None);
        assert_eq!(call.get("ip"), Some("10.0.0.1"));
        assert_eq!(call.get("port"), Some("8080"));
        assert_eq!(call.get("clusterName"), Some("c1"));
    }

    #[test]
    fn decodes_beat_answers() {
        let b =
            decode_beat_info(r#"{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}"#)
                .unwrap();
        assert_eq!(b.client_beat_interval, 5000);
        assert!(matches!(
            decode_beat_info("ok"),
            Err(Error::Decode {
                what: "beat answer",
                ..
            })
        ));
    }

    #[test]
    fn refuses_bad_arguments_before_sending() {
        let c = NamingClient::new("127.0.0.1:1").unwrap();
        let r = c.send_heartbeat("s", "h", 1).weight(f64::INFINITY).send();
        assert!(
            matches!(
                r,
                Err(Error::InvalidParam {
                    param: "weight",
                    ..
                })
            ),
            "{r:?}"
        );
    }
}
