//! `list_naming_instance`: the instances of a service.

use crate::calls::params::{FirstError, ServiceKey};
use crate::calls::validate;
use crate::client::{ClientInner, NamingClient};
use crate::error::Error;
use crate::service_info::ServiceInfo;
use crate::wire::operation::Operation;

/// One list query. `udp_port` and `client_ip` ask official servers to push changes of the
/// service to that UDP address (subscribers set them; plain calls leave them `None`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ListQuery {
    pub(crate) service: ServiceKey,
    /// Empty for every cluster.
    pub(crate) clusters: Vec<String>,
    pub(crate) healthy_only: bool,
    pub(crate) udp_port: Option<u16>,
    pub(crate) client_ip: Option<String>,
}

impl ListQuery {
    pub(crate) fn new(service: ServiceKey) -> ListQuery {
        ListQuery {
            service,
            clusters: Vec::new(),
            healthy_only: false,
            udp_port: None,
            client_ip: None,
        }
    }

    /// Decodes a list answer. It describes the service asked for, whatever name the server
    /// gave it (servers differ: `group@@svc`, `svc`, or none).
    pub(crate) fn decode(&self, body: &str) -> Result<ServiceInfo, Error> {
        let mut info: ServiceInfo = serde_json::from_str(body).map_err(|source| Error::Decode {
            what: "instance list",
            source,
        })?;
        let (group, name) = self.service.group_and_name();
        info.group_name = group.to_owned();
        info.name = name.to_owned();
        Ok(info)
    }
}

impl ClientInner {
    /// The instances of a service, in the API each server speaks.
    pub(crate) fn list(&self, query: &ListQuery) -> Result<ServiceInfo, Error> {
        self.transport()
            .perform(&Operation::List(query))?
            .service(query)
    }
}

/// The builder of [`NamingClient::list_naming_instance`]; [`send`](Self::send) lists.
#[must_use = "nothing is sent until send() is called"]
#[derive(Debug)]
pub struct ListInstances<'a> {
    client: &'a NamingClient,
    query: ListQuery,
    errors: FirstError,
}

impl<'a> ListInstances<'a> {
    pub(crate) fn new(client: &'a NamingClient, service: ServiceKey) -> ListInstances<'a> {
        let mut errors = FirstError::default();
        errors.check(validate::service_name(&service.service_name));
        ListInstances {
            client,
            query: ListQuery::new(service),
            errors,
        }
    }

    /// Only instances of these clusters. Some servers (rnacos) ignore this filter.
    ///
    /// Defaults to every cluster.
    pub fn clusters<I, S>(mut self, clusters: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let clusters: Vec<String> = clusters.into_iter().map(Into::into).collect();
        for c in &clusters {
            self.errors.check(validate::cluster_name(c));
        }
        self.query.clusters = clusters;
        self
    }

    /// Only healthy instances. Note that when too few instances are healthy (below the
    /// service's protection threshold) servers return all of them, marked healthy.
    ///
    /// Defaults to `false`.
    pub fn healthy_only(mut self, healthy_only: bool) -> Self {
        self.query.healthy_only = healthy_only;
        self
    }

    crate::calls::builder_setters::service_setters! {
        query.service;
        /// The group of the service.
        group_name;
        /// The namespace to list in, for this call only.
        namespace_id;
    }

    /// Lists the instances. Disabled instances are never listed.
    ///
    /// When no server answers and the client subscribes to the service (same group,
    /// namespace and clusters), the subscription's last list is returned instead, and with
    /// [`load_cache_at_start`](crate::NamingClientBuilder::load_cache_at_start) the disk
    /// cache's; `healthy_only` is then applied by the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for the first invalid argument, before anything is sent;
    /// [`Error::Server`] when a server refuses; [`Error::Request`] when no server answers;
    /// [`Error::Decode`] when the answer is not a service.
    pub fn send(self) -> Result<ServiceInfo, Error> {
        self.errors.into_result()?;
        let inner = &self.client.inner;
        match inner.list(&self.query) {
            Err(Error::Request(failure)) => {
                let q = &self.query;
                let key = crate::live::background::subscription_key(&q.service, &q.clusters);
                match inner.background().fallback_list(&key) {
                    Some(mut known) => {
                        log::debug!(
                            "no server answered; listing {} from memory",
                            key.grouped_name()
                        );
                        if q.healthy_only {
                            known.hosts.retain(|i| i.healthy);
                        }
                        Ok(known)
                    }
                    None => Err(Error::Request(failure)),
                }
            }
            answer => answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::v1;

    fn query() -> ListQuery {
        let mut service = ServiceKey::new(Some("ns".into()), "svc".into());
        service.group_name = "G".into();
        ListQuery::new(service)
    }

    #[test]
    fn always_sends_healthy_only_and_only_the_filters_given() {
        let call = v1::list(&query());
        assert_eq!(call.get("healthyOnly"), Some("false"));
        assert_eq!(call.get("groupName"), Some("G"));
        assert_eq!(call.get("namespaceId"), Some("ns"));
        for absent in ["clusters", "udpPort", "clientIP", "clusterName", "ip"] {
            assert_eq!(call.get(absent), None, "{absent}");
        }
        let mut q = query();
        q.clusters = vec!["a".into(), "b".into()];
        q.healthy_only = true;
        q.udp_port = Some(5353);
        q.client_ip = Some("10.0.0.9".into());
        let call = v1::list(&q);
        assert_eq!(call.get("clusters"), Some("a,b"));
        assert_eq!(call.get("healthyOnly"), Some("true"));
        assert_eq!(call.get("udpPort"), Some("5353"));
        assert_eq!(call.get("clientIP"), Some("10.0.0.9"));
    }

    #[test]
    fn decodes_answers_as_the_service_asked_for() {
        let rnacos = r#"{"name":"svc","clusters":"","cacheMillis":10000,"hosts":[
            {"ip":"1.1.1.1","port":80,"weight":1.0,"healthy":true,"enabled":true}],
            "lastRefTime":1,"checksum":"c","useSpecifiedURL":false,"protectThreshold":0.0}"#;
        let info = query().decode(rnacos).unwrap();
        assert_eq!((info.name.as_str(), info.group_name.as_str()), ("svc", "G"));
        assert_eq!(info.hosts.len(), 1);
        assert_eq!(info.cache_millis, 10_000);
        for bad in ["", "ok", r#"{"hosts":[{"port":1}]}"#] {
            assert!(
                matches!(
                    query().decode(bad),
                    Err(Error::Decode {
                        what: "instance list",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_bad_clusters_before_sending() {
        let c = NamingClient::new("127.0.0.1:1").unwrap();
        let r = c
            .list_naming_instance("s")
            .clusters(["ok", "not,ok"])
            .send();
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
        let r = c.list_naming_instance("\t").send();
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
}
