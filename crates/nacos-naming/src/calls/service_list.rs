//! `list_services`: the names of the services of a group, a page at a time.

use serde::{Deserialize, Serialize};

use crate::calls::params::FirstError;
use crate::client::NamingClient;
use crate::error::Error;
use crate::instance::DEFAULT_GROUP;
use crate::wire::lenient;
use crate::wire::operation::Operation;

/// One page of service names, as answered by `/nacos/v1/ns/service/list`.
///
/// Serializes in the wire form, `{"count":2,"doms":["a","b"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceList {
    /// How many services the group holds in all, across pages.
    #[serde(default, deserialize_with = "lenient::uint")]
    pub count: u64,
    /// The service names of this page, without their group.
    #[serde(rename = "doms", default)]
    pub services: Vec<String>,
}

impl NamingClient {
    /// Lists the names of the services of a group (`GET /nacos/v1/ns/service/list`), a page
    /// at a time: page 1 of 100 names unless the builder says otherwise.
    ///
    /// ```no_run
    /// # let client = nacos_naming::NamingClient::new("127.0.0.1:8848")?;
    /// let page = client.list_services().group_name("microservices").page_size(50).send()?;
    /// println!("{} of {} services: {:?}", page.services.len(), page.count, page.services);
    /// # Ok::<(), nacos_naming::Error>(())
    /// ```
    pub fn list_services(&self) -> ListServices<'_> {
        ListServices {
            client: self,
            query: ServicesQuery {
                namespace_id: self.inner.namespace().map(str::to_owned),
                group_name: DEFAULT_GROUP.to_owned(),
                page_no: 1,
                page_size: 100,
            },
            errors: FirstError::default(),
        }
    }
}

/// The builder of [`NamingClient::list_services`]; [`send`](Self::send) lists.
#[must_use = "nothing is sent until send() is called"]
#[derive(Debug)]
pub struct ListServices<'a> {
    client: &'a NamingClient,
    query: ServicesQuery,
    errors: FirstError,
}

/// Which page of which group's service names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServicesQuery {
    pub(crate) namespace_id: Option<String>,
    pub(crate) group_name: String,
    pub(crate) page_no: u32,
    pub(crate) page_size: u32,
}

impl ListServices<'_> {
    crate::calls::builder_setters::string_setters! {
        /// The group whose services to list.
        ///
        /// Defaults to `DEFAULT_GROUP`.
        group_name / set_group_name => query.group_name
    }

    crate::calls::builder_setters::string_setters! {
        /// The namespace to list, for this call only.
        ///
        /// Defaults to the client's namespace.
        namespace_id / set_namespace_id => query.namespace_id = Some
    }

    /// The page, from 1.
    ///
    /// Defaults to 1.
    pub fn page_no(mut self, page_no: u32) -> Self {
        if page_no == 0 {
            self.errors
                .check(Err(Error::invalid("page_no", "pages count from 1")));
        }
        self.query.page_no = page_no;
        self
    }

    /// How many names a page holds, at least 1.
    ///
    /// Defaults to 100.
    pub fn page_size(mut self, page_size: u32) -> Self {
        if page_size == 0 {
            self.errors
                .check(Err(Error::invalid("page_size", "must be above zero")));
        }
        self.query.page_size = page_size;
        self
    }

    #[cfg(test)]
    fn call(&self) -> crate::wire::transport::Call {
        crate::wire::v1::services(&self.query)
    }

    /// Lists the page.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for the first invalid argument, before anything is sent;
    /// [`Error::Server`] when a server refuses; [`Error::Request`] when no server answers;
    /// [`Error::Decode`] when the answer is not a service list.
    pub fn send(self) -> Result<ServiceList, Error> {
        self.errors.into_result()?;
        self.client
            .inner
            .transport()
            .perform(&Operation::ListServices(&self.query))?
            .services(&self.query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> NamingClient {
        // Port 1: nothing listens, so a request that got out would fail with Error::Request.
        NamingClient::new("127.0.0.1:1").unwrap()
    }

    #[test]
    fn sends_the_page_group_and_namespace() {
        let c = client();
        let call = c
            .list_services()
            .group_name("G")
            .namespace_id("ns")
            .page_no(3)
            .page_size(7)
            .call();
        for (k, v) in [
            ("pageNo", "3"),
            ("pageSize", "7"),
            ("groupName", "G"),
            ("namespaceId", "ns"),
        ] {
            assert_eq!(call.get(k), Some(v), "{k}");
        }
        let call = c.list_services().call();
        assert_eq!(call.get("pageNo"), Some("1"));
        assert_eq!(call.get("pageSize"), Some("100"));
        assert_eq!(call.get("groupName"), Some(DEFAULT_GROUP));
        assert_eq!(call.get("namespaceId"), None);
    }

    #[test]
    fn refuses_bad_arguments_before_sending() {
        let c = client();
        for (builder, param) in [
            (c.list_services().page_no(0), "page_no"),
            (c.list_services().page_size(0), "page_size"),
            (c.list_services().group_name("a@@b"), "group_name"),
            (c.list_services().namespace_id(" "), "namespace_id"),
        ] {
            match builder.send() {
                Err(Error::InvalidParam { param: p, .. }) => assert_eq!(p, param),
                other => panic!("expected InvalidParam for {param}, got {other:?}"),
            }
        }
    }

    #[test]
    fn decodes_what_servers_send() {
        let list: ServiceList = serde_json::from_str(r#"{"count":2,"doms":["a","b"]}"#).unwrap();
        assert_eq!(list.count, 2);
        assert_eq!(list.services, ["a", "b"]);
        let list: ServiceList = serde_json::from_str(r#"{"count":"0","extra":1}"#).unwrap();
        assert_eq!(list.count, 0);
        assert!(list.services.is_empty());
        assert_eq!(
            serde_json::to_string(&ServiceList {
                count: 1,
                services: vec!["a".into()]
            })
            .unwrap(),
            r#"{"count":1,"doms":["a"]}"#
        );
    }
}
