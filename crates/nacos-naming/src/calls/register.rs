//! `add_naming_instance`: registering an instance.

use std::collections::BTreeMap;

use crate::calls::params::{check_instance, FirstError, InstanceKey};
use crate::client::{ClientInner, NamingClient};
use crate::error::Error;
use crate::wire::operation::Operation;

/// Everything a registration says about an instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Registration {
    pub(crate) instance: InstanceKey,
    pub(crate) weight: f64,
    pub(crate) enabled: bool,
    pub(crate) healthy: bool,
    pub(crate) ephemeral: bool,
    pub(crate) metadata: BTreeMap<String, String>,
}

impl Registration {
    /// The defaults of the seed: weight 1, enabled, healthy, ephemeral, no metadata.
    pub(crate) fn new(instance: InstanceKey) -> Registration {
        Registration {
            instance,
            weight: 1.0,
            enabled: true,
            healthy: true,
            ephemeral: true,
            metadata: BTreeMap::new(),
        }
    }
}

impl ClientInner {
    /// Registers with every field, in the API each server speaks.
    pub(crate) fn register(&self, r: &Registration) -> Result<(), Error> {
        let op = Operation::Register(r);
        self.transport().perform(&op)?.done(&op)
    }
}

/// The builder of [`NamingClient::add_naming_instance`]; [`send`](Self::send) registers.
#[must_use = "nothing is sent until send() is called"]
#[derive(Debug)]
pub struct RegisterInstance<'a> {
    client: &'a NamingClient,
    registration: Registration,
    heartbeat: bool,
    heartbeat_interval: Option<std::time::Duration>,
    errors: FirstError,
}

impl<'a> RegisterInstance<'a> {
    pub(crate) fn new(client: &'a NamingClient, instance: InstanceKey) -> RegisterInstance<'a> {
        let mut errors = FirstError::default();
        check_instance(&mut errors, &instance);
        RegisterInstance {
            client,
            registration: Registration::new(instance),
            heartbeat: true,
            heartbeat_interval: None,
            errors,
        }
    }

    crate::calls::builder_setters::instance_setters! {
        registration.instance;
        /// The cluster within the service: letters, digits and `-`.
        cluster_name;
        /// The group of the service; must not contain `@@`.
        group_name;
        /// The namespace to register in, for this call only.
        namespace_id;
    }

    crate::calls::builder_setters::weight_setters! {
        /// The load-balancing weight, from 0 (no traffic) to 10000.
        ///
        /// Defaults to 1.0.
        registration.weight
    }

    crate::calls::builder_setters::metadata_setters! {
        /// The instance's metadata: any pairs of strings (an array of tuples, a `HashMap`, a
        /// `BTreeMap`…). Replaces metadata given earlier in the chain.
        ///
        /// Defaults to none.
        registration.metadata
    }

    crate::calls::builder_setters::bool_setters! {
        /// Whether the instance is ephemeral (kept by heartbeats, removed when they stop) or
        /// persistent (kept until deregistered, health-checked by the server).
        ///
        /// Defaults to `true`.
        ephemeral / set_ephemeral => registration.ephemeral
    }

    crate::calls::builder_setters::bool_setters! {
        /// Whether the instance takes traffic; disabled instances are left out of lists.
        ///
        /// Defaults to `true`.
        enabled / set_enabled => registration.enabled
    }

    crate::calls::builder_setters::bool_setters! {
        /// The health to register with (servers may ignore it for ephemeral instances, whose
        /// health comes from heartbeats).
        ///
        /// Defaults to `true`.
        healthy / set_healthy => registration.healthy
    }

    /// Whether the client keeps an ephemeral instance alive with heartbeats from now until
    /// it is removed (see [`NamingClient::remove_naming_instance`]) or the client stops.
    /// `false` leaves the beats to the caller ([`NamingClient::send_heartbeat`]) and stops
    /// beats an earlier registration of the same instance started. Persistent instances are
    /// never beaten.
    ///
    /// Defaults to `true`.
    pub fn heartbeat(mut self, heartbeat: bool) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// The interval of this instance's heartbeats, instead of the one the server asks for
    /// (`clientBeatInterval`, 5 s on every known server) or the client's
    /// [`heartbeat_interval`](crate::NamingClientBuilder::heartbeat_interval).
    ///
    /// Defaults to the instance's `preserved.heart.beat.interval` metadata (milliseconds) when
    /// it has one, else the client's setting, else the server's.
    pub fn heartbeat_interval(mut self, interval: std::time::Duration) -> Self {
        if interval.is_zero() {
            self.errors.check(Err(Error::invalid(
                "heartbeat_interval",
                "must be above zero",
            )));
        }
        self.heartbeat_interval = Some(interval);
        self
    }

    crate::calls::builder_setters::option_twin!(set_heartbeat_interval => heartbeat_interval(std::time::Duration));

    /// Registers the instance and, when it is ephemeral, keeps it alive with heartbeats
    /// (unless [`heartbeat(false)`](Self::heartbeat)). Registering the same instance again
    /// (same service, group, namespace, ip, port and cluster) replaces what its beats carry.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for the first invalid argument, before anything is sent;
    /// [`Error::Server`] when a server refuses; [`Error::Request`] when no server answers;
    /// [`Error::Shutdown`] after [`shutdown`](NamingClient::shutdown) (nothing sent).
    pub fn send(self) -> Result<(), Error> {
        self.errors.into_result()?;
        let inner = &self.client.inner;
        let keep_alive = self.heartbeat && self.registration.ephemeral;
        let heartbeats = &inner.background().heartbeats;
        if keep_alive {
            inner.background().check_open()?;
        } else {
            heartbeats.remove(
                &self.registration.instance,
                inner.background().stop_timeout(),
            );
        }
        inner.register(&self.registration)?;
        if keep_alive {
            let metadata = self.registration.metadata.iter();
            let interval = self.heartbeat_interval.or_else(|| {
                crate::live::heartbeat::interval_from_metadata(
                    metadata.map(|(k, v)| (k.as_str(), v.as_str())),
                )
            });
            let key = self.registration.instance.clone();
            heartbeats.add(key, self.registration, interval)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::params::ServiceKey;
    use crate::wire::transport::{Call, Method};
    use crate::wire::v1::{self, INSTANCE_PATH};

    fn client() -> NamingClient {
        // Port 1: nothing listens, so a request that got out would fail with Error::Request.
        NamingClient::new("127.0.0.1:1").unwrap()
    }

    fn refused(r: Result<(), Error>) -> &'static str {
        match r {
            Err(Error::InvalidParam { param, .. }) => param,
            other => panic!("expected InvalidParam, got {other:?}"),
        }
    }

    #[test]
    fn refuses_bad_arguments_before_sending() {
        let c = client();
        assert_eq!(
            refused(c.add_naming_instance(" ", "1.2.3.4", 1).send()),
            "service_name"
        );
        assert_eq!(refused(c.add_naming_instance("s", "1.2.3", 1).send()), "ip");
        assert_eq!(refused(c.add_naming_instance("s", "h", 0).send()), "port");
        let chain = c
            .add_naming_instance("s", "h", 1)
            .weight(f64::NAN)
            .cluster_name("bad_cluster")
            .group_name("a@@b");
        assert_eq!(refused(chain.send()), "weight");
        assert_eq!(
            refused(
                c.add_naming_instance("s", "h", 1)
                    .cluster_name("None!")
                    .send()
            ),
            "cluster_name"
        );
        assert_eq!(
            refused(c.add_naming_instance("s", "h", 1).group_name("").send()),
            "group_name"
        );
        assert_eq!(
            refused(
                c.add_naming_instance("s", "h", 1)
                    .metadata([("", "v")])
                    .send()
            ),
            "metadata"
        );
        assert_eq!(
            refused(c.add_naming_instance("s", "h", 1).namespace_id(" ").send()),
            "namespace_id"
        );
        assert_eq!(
            refused(c.add_naming_instance("s", "h", 1).weight(10_001.0).send()),
            "weight"
        );
    }

    #[test]
    fn option_twins_set_on_some_and_keep_the_default_on_none() {
        let c = client();
        let unset = c
            .add_naming_instance("s", "h", 1)
            .set_cluster_name(None::<String>)
            .set_group_name(None::<String>)
            .set_namespace_id(None::<String>)
            .set_weight(None)
            .set_metadata(None::<[(&str, &str); 0]>)
            .set_ephemeral(None)
            .set_enabled(None)
            .set_healthy(None)
            .set_heartbeat_interval(None);
        assert_eq!(unset.heartbeat_interval, None);
        assert_eq!(
            unset.registration,
            Registration::new(InstanceKey::new(
                ServiceKey::new(None, "s".into()),
                "h".into(),
                1
            ))
        );
        let set = c
            .add_naming_instance("s", "h", 1)
            .set_cluster_name(Some("c"))
            .set_group_name(Some("g"))
            .set_namespace_id(Some("ns"))
            .set_weight(Some(2.5))
            .set_metadata(Some([("k", "v")]))
            .set_ephemeral(Some(false))
            .set_enabled(Some(false))
            .set_healthy(Some(false))
            .set_heartbeat_interval(Some(std::time::Duration::from_millis(100)));
        assert_eq!(
            set.heartbeat_interval,
            Some(std::time::Duration::from_millis(100))
        );
        let r = &set.registration;
        assert_eq!(r.instance.cluster_name, "c");
        assert_eq!(r.instance.service.group_name, "g");
        assert_eq!(r.instance.service.namespace_id.as_deref(), Some("ns"));
        assert_eq!(r.weight, 2.5);
        assert_eq!(r.metadata.get("k").map(String::as_str), Some("v"));
        assert!(!r.ephemeral && !r.enabled && !r.healthy);
        assert_eq!(
            refused(
                c.add_naming_instance("s", "h", 1)
                    .set_weight(Some(-1.0))
                    .send()
            ),
            "weight"
        );
        assert_eq!(
            refused(
                c.add_naming_instance("s", "h", 1)
                    .set_group_name(Some("a@@b"))
                    .send()
            ),
            "group_name"
        );
    }

    #[test]
    fn writes_every_parameter() {
        let mut r = Registration::new(InstanceKey::new(
            ServiceKey::new(None, "svc".into()),
            "10.0.0.1".into(),
            8080,
        ));
        r.metadata.insert("version".into(), "1.0".into());
        r.enabled = false;
        let call = v1::registration(Call::new(Method::Post, INSTANCE_PATH), &r);
        for (k, v) in [
            ("serviceName", "svc"),
            ("groupName", "DEFAULT_GROUP"),
            ("ip", "10.0.0.1"),
            ("port", "8080"),
            ("clusterName", "DEFAULT"),
            ("weight", "1.0"),
            ("enable", "false"),
            ("enabled", "false"),
            ("ephemeral", "true"),
            ("metadata", r#"{"version":"1.0"}"#),
        ] {
            assert_eq!(call.get(k), Some(v), "{k}");
        }
        assert_eq!(call.get("namespaceId"), None);
    }
}
