//! The v3 API of Nacos 3.x: the client API (`/nacos/v3/client/ns/*`) for register, renew,
//! deregister and list, and the admin API (`/nacos/v3/admin/ns/*`) for get, modify and the
//! service list when the login is accepted by it.
//!
//! Parameters go in the query string; answers are an envelope `{"code":0,"message":…,
//! "data":…}`. What the v3 client API lacks is made up here in one request each: the list is
//! filtered by health and cluster on this side (the server ignores `healthyOnly` and takes one
//! cluster), `get` without the admin API reads the instance's cluster from the client list, and
//! `modify` without it registers the instance again with every field.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::beat_info::{BeatInfo, BEAT_OK, BEAT_RESOURCE_NOT_FOUND};
use crate::calls::heartbeat_request::BeatRequest;
use crate::calls::list::ListQuery;
use crate::calls::params::{InstanceKey, ServiceKey};
use crate::calls::register::Registration;
use crate::calls::service_list::{ServiceList, ServicesQuery};
use crate::error::Error;
use crate::instance::Instance;
use crate::service_info::ServiceInfo;
use crate::wire::lenient;
use crate::wire::operation::Operation;
use crate::wire::transport::{Call, Method};
use crate::wire::values::{metadata_param, weight_param};

/// Register and renew (`POST`), deregister (`DELETE`).
pub(crate) const INSTANCE_PATH: &str = "/nacos/v3/client/ns/instance";
pub(crate) const LIST_PATH: &str = "/nacos/v3/client/ns/instance/list";
/// Detail (`GET`) and update (`PUT`) of one instance; needs an admin token by default.
pub(crate) const ADMIN_INSTANCE_PATH: &str = "/nacos/v3/admin/ns/instance";
pub(crate) const ADMIN_SERVICE_LIST_PATH: &str = "/nacos/v3/admin/ns/service/list";
pub(crate) const LOGIN_PATH: &str = "/nacos/v3/auth/user/login";
/// `data.version` on 3.x; answers without a token.
pub(crate) const STATE_PATH: &str = "/nacos/v3/admin/core/state";

/// The renew answer's code for an instance the server does not know (HTTP 200).
const INSTANCE_NOT_FOUND: i64 = 21003;
/// The metadata key an instance names its beat interval with (milliseconds).
const BEAT_INTERVAL_KEY: &str = "preserved.heart.beat.interval";
/// The server's beat interval when the metadata names none.
const DEFAULT_BEAT_INTERVAL_MS: u64 = 5000;
/// v3 lists carry no `cacheMillis`: subscriptions poll this often unless configured.
pub(crate) const POLL_INTERVAL_MS: u64 = 10_000;

/// Where an operation goes on a v3 server and what the request looks like.
///
/// `admin`: the login is configured and this server has not refused it on the admin API.
/// `lists_one_cluster`: the server is known to list only DEFAULT when no cluster is named
/// (3.0–3.1), so a list of every cluster cannot be answered without naming them.
pub(crate) fn request(
    op: &Operation<'_>,
    admin: bool,
    lists_one_cluster: bool,
) -> Result<Call, Refusal> {
    Ok(match *op {
        Operation::Register(r) => registration(Call::new(Method::Post, INSTANCE_PATH), r),
        Operation::Deregister {
            instance,
            ephemeral,
        } => instance_params(Call::new(Method::Delete, INSTANCE_PATH), instance)
            .param("ephemeral", ephemeral.to_string()),
        Operation::Beat(beat) => renewal(beat),
        Operation::List(query) => {
            let clusters = match query.clusters.as_slice() {
                [] if lists_one_cluster => return Err(Refusal::NamedClustersOnly),
                [] => None,
                [one] => Some(one.clone()),
                // 3.0-3.1 split `clusterName` on commas (`ServiceUtil.doSelectInstances`); later
                // servers list every cluster, filtered here.
                several if lists_one_cluster => Some(several.join(",")),
                _ => None,
            };
            list(&query.service, clusters.as_deref())
        }
        Operation::Get(instance) if admin => {
            instance_params(Call::new(Method::Get, ADMIN_INSTANCE_PATH), instance)
        }
        Operation::Get(instance) => list(&instance.service, Some(&instance.cluster_name)),
        Operation::Update(r) if admin => {
            registration(Call::new(Method::Put, ADMIN_INSTANCE_PATH), r)
        }
        // Registering again replaces every field, which is what an update does.
        Operation::Update(r) => registration(Call::new(Method::Post, INSTANCE_PATH), r),
        Operation::ListServices(query) if admin => {
            let call = Call::new(Method::Get, ADMIN_SERVICE_LIST_PATH)
                .param("pageNo", query.page_no.to_string())
                .param("pageSize", query.page_size.to_string())
                .param("groupNameParam", &query.group_name);
            call.namespace(query.namespace_id.as_ref())
        }
        Operation::ListServices(_) => return Err(Refusal::NoServiceList),
    })
}

/// An operation a v3 server cannot answer as asked, before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The v3 client API has no service list; only the admin API does.
    NoServiceList,
    /// This server lists DEFAULT alone when no cluster is named.
    NamedClustersOnly,
}

impl Refusal {
    /// What is missing and what would work, for an error that also names the server and line.
    pub(crate) fn explain(self) -> &'static str {
        match self {
            Refusal::NoServiceList => {
                "has no endpoint to list services without admin credentials: give the client \
                 a username and password the v3 admin API accepts"
            }
            Refusal::NamedClustersOnly => {
                "lists only DEFAULT through the v3 client API when no cluster is named: name \
                 the clusters, or use the V1 API, which this server still serves"
            }
        }
    }
}

/// `serviceName` (plain), `groupName` and, unless it is the default, `namespaceId`.
fn service_params(call: Call, service: &ServiceKey) -> Call {
    let (group, name) = service.group_and_name();
    let call = call.param("serviceName", name).param("groupName", group);
    call.namespace(service.namespace_id.as_ref())
}

fn instance_params(call: Call, instance: &InstanceKey) -> Call {
    service_params(call, &instance.service)
        .param("ip", &instance.ip)
        .param("port", instance.port.to_string())
        .param("clusterName", &instance.cluster_name)
}

fn registration(call: Call, r: &Registration) -> Call {
    instance_params(call, &r.instance)
        .param("weight", weight_param(r.weight))
        .param("healthy", r.healthy.to_string())
        .param("enabled", r.enabled.to_string())
        .param("ephemeral", r.ephemeral.to_string())
        .param("metadata", metadata_param(&r.metadata))
}

/// The renew is the register request with `heartBeat=true`; it carries the whole instance so
/// that a server which validates the form finds every field it checks.
fn renewal(beat: &BeatRequest) -> Call {
    instance_params(Call::new(Method::Post, INSTANCE_PATH), &beat.instance)
        .param("weight", weight_param(beat.weight))
        .param("ephemeral", beat.ephemeral.to_string())
        .param("metadata", metadata_param(&beat.metadata))
        .param("heartBeat", "true")
}

/// The client list, of one cluster or (no cluster named) of the server's default choice.
fn list(service: &ServiceKey, cluster: Option<&str>) -> Call {
    let call = service_params(Call::new(Method::Get, LIST_PATH), service);
    match cluster {
        Some(c) => call.param("clusterName", c),
        None => call,
    }
}

/// `{"code":0,"message":"success","data":…}`.
#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default, deserialize_with = "lenient::int")]
    code: i64,
    #[serde(default)]
    message: Option<String>,
    #[serde(default = "none")]
    data: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// A v3 answer that is not code 0, for the transport to turn into an error naming the server.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) code: i64,
    pub(crate) message: String,
}

/// What reading a v3 answer can end in.
#[derive(Debug)]
pub(crate) enum ReadError {
    Failed(Failure),
    Decode(Error),
}

fn envelope<T: DeserializeOwned>(what: &'static str, body: &str) -> Result<Envelope<T>, Error> {
    lenient::object_from_str(body).map_err(|source| Error::Decode { what, source })
}

fn data<T: DeserializeOwned>(what: &'static str, body: &str) -> Result<Option<T>, ReadError> {
    let e: Envelope<T> = envelope(what, body).map_err(ReadError::Decode)?;
    if e.code != 0 {
        return Err(ReadError::Failed(Failure {
            code: e.code,
            message: e.message.unwrap_or_default(),
        }));
    }
    Ok(e.data)
}

pub(crate) fn read_done(body: &str) -> Result<(), ReadError> {
    data::<serde::de::IgnoredAny>("write answer", body).map(|_| ())
}

/// Code 0 is a beat taken; 21003 asks for a full registration, which the heartbeat scheduler
/// does for [`BEAT_RESOURCE_NOT_FOUND`] whatever the generation. The interval is the one the
/// instance's metadata names, else the server's 5 s.
pub(crate) fn read_beat(beat: &BeatRequest, body: &str) -> Result<BeatInfo, ReadError> {
    let e: Envelope<serde::de::IgnoredAny> =
        envelope("beat answer", body).map_err(ReadError::Decode)?;
    let code = match e.code {
        0 => BEAT_OK,
        INSTANCE_NOT_FOUND => BEAT_RESOURCE_NOT_FOUND,
        code => {
            return Err(ReadError::Failed(Failure {
                code,
                message: e.message.unwrap_or_default(),
            }))
        }
    };
    let interval = beat
        .metadata
        .get(BEAT_INTERVAL_KEY)
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .unwrap_or(DEFAULT_BEAT_INTERVAL_MS);
    Ok(BeatInfo {
        client_beat_interval: interval,
        code,
        light_beat_enabled: false,
    })
}

/// The bare array of instances becomes the same [`ServiceInfo`] a V1 list gives, with the
/// query's clusters and health applied here.
pub(crate) fn read_list(query: &ListQuery, body: &str) -> Result<ServiceInfo, ReadError> {
    let mut hosts: Vec<Instance> = data("instance list", body)?.unwrap_or_default();
    if !query.clusters.is_empty() {
        hosts.retain(|i| query.clusters.contains(&i.cluster_name));
    }
    if query.healthy_only {
        hosts.retain(|i| i.healthy);
    }
    let (group, name) = query.service.group_and_name();
    let mut info = ServiceInfo::new(name, group);
    info.clusters = query.clusters.join(",");
    info.cache_millis = POLL_INTERVAL_MS;
    info.hosts = hosts;
    info.last_ref_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Ok(info)
}

/// The admin detail, or the instance picked out of its cluster's client list (`None`: not
/// listed, which a disabled instance never is).
pub(crate) fn read_instance(
    instance: &InstanceKey,
    admin: bool,
    body: &str,
) -> Result<Option<Instance>, ReadError> {
    if admin {
        return data("instance", body);
    }
    let hosts: Vec<Instance> = data("instance list", body)?.unwrap_or_default();
    Ok(hosts.into_iter().find(|i| {
        i.ip == instance.ip && i.port == instance.port && i.cluster_name == instance.cluster_name
    }))
}

/// `data.version` of `/nacos/v3/admin/core/state`.
pub(crate) fn read_version(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct State {
        #[serde(default, deserialize_with = "lenient::opt_string")]
        version: Option<String>,
    }
    data::<State>("server state", body).ok()??.version
}

/// The admin API's page of services, `{"totalCount":…,"pageItems":[{"name","groupName"}]}`.
/// Its group filter matches by pattern, so names of other groups are dropped here.
pub(crate) fn read_services(query: &ServicesQuery, body: &str) -> Result<ServiceList, ReadError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Page {
        #[serde(default, deserialize_with = "lenient::uint")]
        total_count: u64,
        #[serde(default)]
        page_items: Vec<Item>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Item {
        #[serde(default, deserialize_with = "lenient::string")]
        name: String,
        #[serde(default, deserialize_with = "lenient::string")]
        group_name: String,
    }
    let page: Page = data("service list", body)?.ok_or_else(|| {
        ReadError::Failed(Failure {
            code: 0,
            message: "service list answer without data".into(),
        })
    })?;
    Ok(ServiceList {
        count: page.total_count,
        services: page
            .page_items
            .into_iter()
            .filter(|i| i.group_name.is_empty() || i.group_name == query.group_name)
            .map(|i| i.name)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    //! Shapes from the official server's `InstanceOpenApiController` and
    //! `InstanceControllerV3` (3.x): the parameters each endpoint binds and the envelopes it
    //! answers with.

    use super::*;
    use crate::calls::register::Registration;
    use crate::wire::transport::Method;

    fn key() -> InstanceKey {
        let mut key = InstanceKey::new(
            ServiceKey {
                namespace_id: Some("ns".into()),
                group_name: "G".into(),
                service_name: "svc".into(),
            },
            "10.0.0.1".into(),
            8080,
        );
        key.cluster_name = "c1".into();
        key
    }

    fn params(call: &Call, names: &[&str]) -> Vec<Option<String>> {
        names
            .iter()
            .map(|n| call.get(n).map(str::to_owned))
            .collect()
    }

    #[test]
    fn registers_with_plain_name_group_and_metadata_as_json() {
        let mut r = Registration::new(key());
        r.metadata.insert("k".into(), "v".into());
        r.weight = 2.0;
        let call = request(&Operation::Register(&r), false, false).unwrap();
        assert_eq!((call.method(), call.path()), (Method::Post, INSTANCE_PATH));
        let got = params(
            &call,
            &[
                "serviceName",
                "groupName",
                "namespaceId",
                "ip",
                "port",
                "clusterName",
                "weight",
                "healthy",
                "enabled",
                "ephemeral",
                "metadata",
                "heartBeat",
            ],
        );
        let want = [
            Some("svc"),
            Some("G"),
            Some("ns"),
            Some("10.0.0.1"),
            Some("8080"),
            Some("c1"),
            Some("2.0"),
            Some("true"),
            Some("true"),
            Some("true"),
            Some(r#"{"k":"v"}"#),
            None,
        ];
        assert_eq!(got, want.map(|v| v.map(str::to_owned)));
    }

    #[test]
    fn a_grouped_name_is_split_into_name_and_group() {
        let mut k = key();
        k.service.service_name = "G2@@other".into();
        let call = request(
            &Operation::Deregister {
                instance: &k,
                ephemeral: false,
            },
            false,
            false,
        )
        .unwrap();
        assert_eq!(
            (call.method(), call.path()),
            (Method::Delete, INSTANCE_PATH)
        );
        assert_eq!(
            params(&call, &["serviceName", "groupName", "ephemeral"]),
            [
                Some("other".into()),
                Some("G2".into()),
                Some("false".into())
            ]
        );
    }

    #[test]
    fn renews_with_heart_beat_true_on_the_register_endpoint() {
        let beat = BeatRequest::new(key());
        let call = request(&Operation::Beat(&beat), false, false).unwrap();
        assert_eq!((call.method(), call.path()), (Method::Post, INSTANCE_PATH));
        assert_eq!(call.get("heartBeat"), Some("true"));
        assert_eq!(call.get("clusterName"), Some("c1"));
    }

    #[test]
    fn reads_a_renew_and_code_21003_as_instance_not_found() {
        let mut beat = BeatRequest::new(key());
        let ok = read_beat(&beat, r#"{"code":0,"message":"success","data":"ok"}"#).unwrap();
        assert_eq!((ok.code, ok.client_beat_interval), (BEAT_OK, 5000));
        let lost = read_beat(
            &beat,
            r#"{"code":21003,"message":"instance not found","data":null}"#,
        )
        .unwrap();
        assert!(lost.instance_not_found());
        beat.metadata
            .insert(BEAT_INTERVAL_KEY.into(), "1500".into());
        assert_eq!(
            read_beat(&beat, r#"{"code":0,"data":"ok"}"#)
                .unwrap()
                .client_beat_interval,
            1500
        );
        assert!(matches!(
            read_beat(&beat, r#"{"code":30000,"message":"server error"}"#),
            Err(ReadError::Failed(Failure { code: 30000, .. }))
        ));
    }

    #[test]
    fn names_the_clusters_a_server_line_needs_named() {
        let mut q = ListQuery::new(key().service);
        let all = request(&Operation::List(&q), false, false).unwrap();
        assert_eq!((all.method(), all.path()), (Method::Get, LIST_PATH));
        assert_eq!(all.get("clusterName"), None);
        assert_eq!(all.get("healthyOnly"), None, "ignored by the server");
        assert_eq!(
            request(&Operation::List(&q), false, true).unwrap_err(),
            Refusal::NamedClustersOnly
        );
        q.clusters = vec!["a".into()];
        let one = request(&Operation::List(&q), false, true).unwrap();
        assert_eq!(one.get("clusterName"), Some("a"));
        q.clusters = vec!["a".into(), "b".into()];
        let several = request(&Operation::List(&q), false, true).unwrap();
        assert_eq!(
            several.get("clusterName"),
            Some("a,b"),
            "3.0-3.1 split on commas"
        );
        let later = request(&Operation::List(&q), false, false).unwrap();
        assert_eq!(
            later.get("clusterName"),
            None,
            "every cluster, filtered here"
        );
    }

    #[test]
    fn reads_the_bare_list_into_a_service_info_filtered_here() {
        let body = r#"{"code":0,"message":"success","data":[
            {"ip":"10.0.0.1","port":1,"weight":1.0,"healthy":true,"enabled":true,
             "ephemeral":true,"clusterName":"a","serviceName":"G@@svc","metadata":{}},
            {"instanceId":"x","ip":"10.0.0.2","port":2,"healthy":false,"clusterName":"b",
             "serviceName":"G@@svc","metadata":{"n":1}},
            {"ip":"10.0.0.3","port":3,"healthy":true,"clusterName":"c","serviceName":"G@@svc"}]}"#;
        let mut q = ListQuery::new(key().service);
        let all = read_list(&q, body).unwrap();
        assert_eq!((all.name.as_str(), all.group_name.as_str()), ("svc", "G"));
        assert_eq!(all.hosts.len(), 3);
        assert_eq!(all.cache_millis, POLL_INTERVAL_MS);
        q.clusters = vec!["a".into(), "b".into()];
        assert_eq!(read_list(&q, body).unwrap().hosts.len(), 2);
        q.healthy_only = true;
        let healthy = read_list(&q, body).unwrap();
        assert_eq!(healthy.hosts.len(), 1);
        assert_eq!(healthy.hosts[0].ip, "10.0.0.1");
        let empty = read_list(&q, r#"{"code":0,"message":"success","data":[]}"#).unwrap();
        assert!(empty.hosts.is_empty());
    }

    #[test]
    fn gets_through_the_admin_api_or_picks_from_the_cluster_list() {
        let k = key();
        let admin = request(&Operation::Get(&k), true, false).unwrap();
        assert_eq!(
            (admin.method(), admin.path()),
            (Method::Get, ADMIN_INSTANCE_PATH)
        );
        let client = request(&Operation::Get(&k), false, false).unwrap();
        assert_eq!(client.path(), LIST_PATH);
        assert_eq!(client.get("clusterName"), Some("c1"));
        let detail = r#"{"code":0,"data":{"ip":"10.0.0.1","port":8080,"clusterName":"c1",
            "weight":2.0,"enabled":false,"metadata":{"k":"v"}}}"#;
        let i = read_instance(&k, true, detail).unwrap().unwrap();
        assert_eq!((i.weight, i.enabled), (2.0, false));
        let list = r#"{"code":0,"data":[{"ip":"10.0.0.1","port":8081,"clusterName":"c1"},
            {"ip":"10.0.0.1","port":8080,"clusterName":"c1","weight":3.0}]}"#;
        assert_eq!(read_instance(&k, false, list).unwrap().unwrap().weight, 3.0);
        assert!(read_instance(&k, false, r#"{"code":0,"data":[]}"#)
            .unwrap()
            .is_none());
    }

    #[test]
    fn updates_through_the_admin_api_or_registers_again() {
        let r = Registration::new(key());
        let admin = request(&Operation::Update(&r), true, false).unwrap();
        assert_eq!(
            (admin.method(), admin.path()),
            (Method::Put, ADMIN_INSTANCE_PATH)
        );
        let again = request(&Operation::Update(&r), false, false).unwrap();
        assert_eq!(
            (again.method(), again.path()),
            (Method::Post, INSTANCE_PATH)
        );
        assert_eq!(again.get("healthy"), Some("true"));
    }

    #[test]
    fn lists_services_only_through_the_admin_api() {
        let q = ServicesQuery {
            namespace_id: None,
            group_name: "G".into(),
            page_no: 2,
            page_size: 10,
        };
        assert_eq!(
            request(&Operation::ListServices(&q), false, false).unwrap_err(),
            Refusal::NoServiceList
        );
        let call = request(&Operation::ListServices(&q), true, false).unwrap();
        assert_eq!(call.path(), ADMIN_SERVICE_LIST_PATH);
        assert_eq!(
            params(&call, &["pageNo", "pageSize", "groupNameParam"]),
            [Some("2".into()), Some("10".into()), Some("G".into())]
        );
        let page = r#"{"code":0,"data":{"totalCount":3,"pageNumber":2,"pagesAvailable":1,
            "pageItems":[{"name":"a","groupName":"G"},{"name":"b","groupName":"G-other"}]}}"#;
        let list = read_services(&q, page).unwrap();
        assert_eq!((list.count, list.services), (3, vec!["a".to_owned()]));
    }

    #[test]
    fn reads_a_write_envelope_and_its_failures() {
        assert!(read_done(r#"{"code":0,"message":"success","data":"ok"}"#).is_ok());
        assert!(matches!(
            read_done(r#"{"code":21001,"message":"weight out of range","data":null}"#),
            Err(ReadError::Failed(Failure { code: 21001, .. }))
        ));
        assert!(matches!(read_done("ok"), Err(ReadError::Decode(_))));
        assert_eq!(
            read_version(r#"{"code":0,"data":{"version":"3.1.0","standalone_mode":"standalone"}}"#),
            Some("3.1.0".into())
        );
    }
}
