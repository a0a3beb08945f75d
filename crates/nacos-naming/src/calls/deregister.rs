//! `remove_naming_instance`: deregistering an instance.

use crate::calls::params::{check_instance, FirstError, InstanceKey};
use crate::client::{ClientInner, NamingClient};
use crate::error::Error;
use crate::wire::operation::Operation;

impl ClientInner {
    /// Deregisters; `ephemeral` tells the server which store holds it.
    pub(crate) fn deregister(&self, instance: &InstanceKey, ephemeral: bool) -> Result<(), Error> {
        let op = Operation::Deregister {
            instance,
            ephemeral,
        };
        self.transport().perform(&op)?.done(&op)
    }
}

/// The builder of [`NamingClient::remove_naming_instance`]; [`send`](Self::send) deregisters.
#[must_use = "nothing is sent until send() is called"]
#[derive(Debug)]
pub struct DeregisterInstance<'a> {
    client: &'a NamingClient,
    instance: InstanceKey,
    ephemeral: bool,
    errors: FirstError,
}

impl<'a> DeregisterInstance<'a> {
    pub(crate) fn new(client: &'a NamingClient, instance: InstanceKey) -> DeregisterInstance<'a> {
        let mut errors = FirstError::default();
        check_instance(&mut errors, &instance);
        DeregisterInstance {
            client,
            instance,
            ephemeral: true,
            errors,
        }
    }

    crate::calls::builder_setters::instance_setters! {
        instance;
        /// The cluster the instance was registered in.
        cluster_name;
        /// The group of the service.
        group_name;
        /// The namespace the instance is in, for this call only.
        namespace_id;
    }

    crate::calls::builder_setters::bool_setters! {
        /// Whether the instance was registered as ephemeral; a persistent one needs `false`.
        ///
        /// Defaults to `true`.
        ephemeral / set_ephemeral => ephemeral
    }

    /// Deregisters the instance. Servers answer success for an unknown instance too.
    ///
    /// The client's heartbeats for the instance stop first, whether or not the deregistration
    /// then succeeds. A beat in flight is waited for, up to
    /// [`stop_timeout`](crate::NamingClientBuilder::stop_timeout), so that it cannot bring the
    /// instance back on servers that register instances from beats; a beat that takes longer
    /// is followed, when it ends, by a second deregistration from the beat thread (unless the
    /// instance was registered again meanwhile). A beat that a server processes only after
    /// both can still bring it back until the server expires it for want of further beats.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for the first invalid argument, before anything is sent;
    /// [`Error::Server`] when a server refuses; [`Error::Request`] when no server answers.
    pub fn send(self) -> Result<(), Error> {
        self.errors.into_result()?;
        let inner = &self.client.inner;
        let background = inner.background();
        background
            .heartbeats
            .remove_for_deregistration(&self.instance, background.stop_timeout());
        inner.deregister(&self.instance, self.ephemeral)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::params::ServiceKey;
    use crate::wire::transport::Method;
    use crate::wire::v1;

    #[test]
    fn refuses_bad_arguments_before_sending() {
        let c = NamingClient::new("127.0.0.1:1").unwrap();
        let r = c
            .remove_naming_instance("s", "h", 1)
            .group_name("a@@b")
            .cluster_name("x y")
            .send();
        assert!(
            matches!(
                r,
                Err(Error::InvalidParam {
                    param: "group_name",
                    ..
                })
            ),
            "{r:?}"
        );
        let r = c.remove_naming_instance("", "h", 1).send();
        assert!(
            matches!(
                r,
                Err(Error::InvalidParam {
                    param: "service_name",
                    ..
                })
            ),
            "{r:?}"
        );
    }

    #[test]
    fn writes_every_parameter() {
        let mut key = InstanceKey::new(
            ServiceKey::new(Some("ns".into()), "svc".into()),
            "h".into(),
            1,
        );
        key.cluster_name = "c1".into();
        let call = v1::request(&Operation::Deregister {
            instance: &key,
            ephemeral: false,
        });
        assert_eq!(call.method(), Method::Delete);
        for (k, v) in [
            ("serviceName", "svc"),
            ("groupName", "DEFAULT_GROUP"),
            ("namespaceId", "ns"),
            ("ip", "h"),
            ("port", "1"),
            ("clusterName", "c1"),
            ("ephemeral", "false"),
        ] {
            assert_eq!(call.get(k), Some(v), "{k}");
        }
    }
}
