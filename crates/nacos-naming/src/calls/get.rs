//! `get_naming_instance`: reading one instance.

use crate::calls::params::{check_instance, FirstError, InstanceKey};
use crate::client::{ClientInner, NamingClient};
use crate::error::Error;
use crate::instance::Instance;
use crate::wire::operation::Operation;

impl ClientInner {
    /// Reads one instance, with the group (which the Python client forgets) and the cluster.
    pub(crate) fn get(&self, instance: &InstanceKey) -> Result<Instance, Error> {
        self.transport()
            .perform(&Operation::Get(instance))?
            .instance(instance)
    }
}

pub(crate) fn decode_instance(body: &str) -> Result<Instance, Error> {
    crate::wire::lenient::object_from_str(body).map_err(|source| Error::Decode {
        what: "instance",
        source,
    })
}

/// The builder of [`NamingClient::get_naming_instance`]; [`send`](Self::send) reads the
/// instance.
#[must_use = "nothing is sent until send() is called"]
#[derive(Debug)]
pub struct GetInstance<'a> {
    client: &'a NamingClient,
    instance: InstanceKey,
    errors: FirstError,
}

impl<'a> GetInstance<'a> {
    pub(crate) fn new(client: &'a NamingClient, instance: InstanceKey) -> GetInstance<'a> {
        let mut errors = FirstError::default();
        check_instance(&mut errors, &instance);
        GetInstance {
            client,
            instance,
            errors,
        }
    }

    crate::calls::builder_setters::instance_setters!(instance);

    /// Reads the instance.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for the first invalid argument, before anything is sent;
    /// [`Error::Server`] when a server refuses (an unknown instance: 404 on official servers,
    /// 500 with a reason on others); [`Error::Request`] when no server answers;
    /// [`Error::Decode`] when the answer is not an instance.
    pub fn send(self) -> Result<Instance, Error> {
        self.errors.into_result()?;
        self.client.inner.get(&self.instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_an_instance_or_says_why_not() {
        let i = decode_instance(
            r#"{"ip":"10.0.0.1","port":8080,"weight":2.0,"healthy":false,"enabled":true,
                "ephemeral":true,"clusterName":"c1","serviceName":"G@@svc","metadata":{"k":"v"}}"#,
        )
        .unwrap();
        assert_eq!((i.ip.as_str(), i.port, i.weight), ("10.0.0.1", 8080, 2.0));
        assert!(!i.healthy);
        assert_eq!(i.metadata["k"], "v");
        for bad in ["", "ok", "{}", r#"{"ip":"h","port":70000}"#] {
            assert!(
                matches!(
                    decode_instance(bad),
                    Err(Error::Decode {
                        what: "instance",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_bad_arguments_before_sending() {
        let c = NamingClient::new("127.0.0.1:1").unwrap();
        let r = c.get_naming_instance("s", "not an ip", 1).send();
        assert!(
            matches!(r, Err(Error::InvalidParam { param: "ip", .. })),
            "{r:?}"
        );
        let r = c.get_naming_instance("s", "h", 1).cluster_name("").send();
        assert!(
            matches!(
                r,
                Err(Error::InvalidParam {
                    param: "cluster_name",
                    ..
                })
            ),
            "{r:?}"
        );
    }
}
