//! The v3 admin API this server serves: instance register, deregister, detail and update
//! (`/nacos/v3/admin/ns/instance`), the instance list (`…/instance/list`), the service list
//! (`/nacos/v3/admin/ns/service/list`) and the server state (`/nacos/v3/admin/core/state`).
//! All but the state need a token. The service calls are in `service_admin`.

use std::collections::BTreeMap;

use nacos_naming::{Instance, GROUP_SEPARATOR};
use serde::Serialize;

use crate::handlers::{self, Context};
use crate::params::Params;
use crate::registry::Refusal as Missing;
use crate::reply::Reply;
use crate::service::{Metadata, Modification};

use super::client::weight;
use super::envelope::{self, Code};
use super::form::{self, Refusal};

/// `GET /nacos/v3/admin/ns/instance`: one instance; 404 with code 20004 when the service holds
/// no such instance in that cluster.
pub(crate) fn instance(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let at = form::instance(cx.version, p)?;
    match cx
        .registry
        .instance(&at.namespace, &at.service, &at.cluster, &at.ip, at.port)
    {
        Ok(instance) => Ok(envelope::success(instance)),
        Err(Missing::InstanceNotFound) => Err(not_found("no matched ip found!".into())),
        Err(_) => Err(not_found(format!(
            "no ips found for cluster {} in service {}",
            at.cluster, at.service
        ))),
    }
}

/// `GET /nacos/v3/admin/ns/instance/list`: every instance of one cluster (`clusterName`,
/// DEFAULT when blank), disabled ones included, healthy ones alone with `healthyOnly=true`;
/// 404 with code 30000 for an unknown service or cluster, as official `NacosException`s of
/// code 404 are answered.
pub(crate) fn list(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let version = cx.version;
    let (namespace, service) = form::service(version, p)?;
    let cluster = p.cluster().map_err(|e| form::invalid(version, e))?;
    let healthy_only = p
        .bool("healthyOnly", false)
        .map_err(|e| form::invalid(version, e))?;
    match cx
        .registry
        .cluster_instances(&namespace, &service, &cluster)
    {
        Ok(mut instances) => {
            instances.retain(|i| i.healthy || !healthy_only);
            Ok(envelope::success(instances))
        }
        Err(Missing::ServiceNotFound) => Err(server_error(
            404,
            format!("service {service} is not found!"),
        )),
        Err(_) => Err(server_error(
            404,
            format!("cluster {cluster} is not found!"),
        )),
    }
}

/// A `NacosException` as the v3 API answers it: its status, code 30000, its text as data.
fn server_error(status: u16, detail: String) -> Refusal {
    form::refuse(envelope::failure(status, Code::ServerError, Some(detail)))
}

fn not_found(detail: String) -> Refusal {
    form::refuse(envelope::failure(404, Code::ResourceNotFound, Some(detail)))
}

/// `PUT /nacos/v3/admin/ns/instance`: the 2.x modify (weight and enabled set, metadata laid
/// over the registration's); 400 with code 21004 when the service does not exist.
pub(crate) fn update(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let version = cx.version;
    let at = form::instance(version, p)?;
    let m = Modification {
        weight: weight(version, p)?,
        enabled: p
            .bool("enabled", true)
            .map_err(|e| form::invalid(version, e))?,
        metadata: p.metadata("metadata").map_err(|e| {
            form::refuse(envelope::failure(
                400,
                Code::InstanceMetadataError,
                Some(e.message),
            ))
        })?,
        healthy: None,
    };
    match cx
        .registry
        .modify(&at.namespace, &at.service, &at.cluster, &at.ip, at.port, m)
    {
        Ok(persist) => Ok(envelope::success("ok").persisting(persist)),
        Err(Missing::TooManyModifies) => Err(form::refuse(envelope::failure(
            400,
            Code::InstanceError,
            Some(handlers::too_many_modifies(&at.service)),
        ))),
        Err(_) => Err(form::refuse(envelope::failure(
            400,
            Code::InstanceError,
            Some(format!(
                "service not found, namespace: {}, service: {}",
                at.namespace, at.service
            )),
        ))),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page<T: Serialize> {
    total_count: usize,
    page_number: u64,
    pages_available: u64,
    page_items: Vec<T>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceView {
    name: String,
    group_name: String,
    cluster_count: usize,
    ip_count: usize,
    healthy_instance_count: usize,
    trigger_flag: &'static str,
}

/// One service of the list with `withInstances=true` (official `pageListServiceDetail`: a
/// `ServiceDetailInfo` with names, metadata and its instances by cluster, the rest unset).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceWithInstances {
    namespace_id: Option<()>,
    service_name: String,
    group_name: String,
    cluster_map: BTreeMap<String, ClusterWithInstances>,
    metadata: Metadata,
    protect_threshold: f32,
    selector: Option<()>,
    ephemeral: Option<()>,
}

/// A cluster of [`ServiceWithInstances`]: a fresh official `ClusterInfo` holding the hosts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterWithInstances {
    cluster_name: Option<()>,
    health_checker: Option<()>,
    healthy_check_port: u16,
    use_instance_port_for_check: bool,
    metadata: Option<()>,
    hosts: Vec<Instance>,
}

fn service_with_instances(
    cx: &Context,
    namespace: &str,
    group: &str,
    name: &str,
) -> ServiceWithInstances {
    let grouped = format!("{group}{GROUP_SEPARATOR}{name}");
    let metadata = cx
        .registry
        .service_detail(namespace, &grouped)
        .map(|d| d.metadata)
        .unwrap_or_default();
    let mut cluster_map = BTreeMap::new();
    for instance in cx.registry.held_instances(namespace, &grouped) {
        cluster_map
            .entry(instance.cluster_name.clone())
            .or_insert_with(|| ClusterWithInstances {
                cluster_name: None,
                health_checker: None,
                healthy_check_port: 80,
                use_instance_port_for_check: true,
                metadata: None,
                hosts: Vec::new(),
            })
            .hosts
            .push(instance);
    }
    ServiceWithInstances {
        namespace_id: None,
        service_name: name.to_owned(),
        group_name: group.to_owned(),
        cluster_map,
        metadata,
        protect_threshold: 0.0,
        selector: None,
        ephemeral: None,
    }
}

/// `GET /nacos/v3/admin/ns/service/list`: a page of services of a namespace, filtered by
/// `groupNameParam` and `serviceNameParam` (parts of the names), `ignoreEmptyService` leaving
/// out those without instances; with `withInstances=true` each with its metadata and
/// instances instead of its counts.
pub(crate) fn services(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let version = cx.version;
    let namespace = p.namespace().map_err(|e| form::invalid(version, e))?;
    let group_part = p.get("groupNameParam").unwrap_or("").trim();
    let name_part = p.get("serviceNameParam").unwrap_or("").trim();
    let ignore_empty = p
        .bool("ignoreEmptyService", false)
        .map_err(|e| form::invalid(version, e))?;
    let with_instances = p
        .bool("withInstances", false)
        .map_err(|e| form::invalid(version, e))?;
    let page_no = p
        .number("pageNo", 1, 1, u64::from(u32::MAX))
        .map_err(|e| form::invalid(version, e))?;
    let page_size = p
        .number("pageSize", 100, 1, 500)
        .map_err(|e| form::invalid(version, e))?;
    let matching: Vec<_> = cx
        .registry
        .service_summaries(&namespace)
        .into_iter()
        .filter(|s| s.group.contains(group_part) && s.name.contains(name_part))
        // Official servers leave no service out of the list with instances.
        .filter(|s| !ignore_empty || with_instances || s.instances > 0)
        .collect();
    let total = matching.len();
    let skip = usize::try_from((page_no - 1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let on_page = matching
        .into_iter()
        .skip(skip)
        .take(usize::try_from(page_size).unwrap_or(usize::MAX));
    let page = |page_items| Page {
        total_count: total,
        page_number: page_no,
        pages_available: (total as u64).div_ceil(page_size),
        page_items,
    };
    if with_instances {
        let items = on_page
            .map(|s| service_with_instances(cx, &namespace, &s.group, &s.name))
            .map(Item::WithInstances)
            .collect();
        return Ok(envelope::success(page(items)));
    }
    let page_items = on_page
        .map(|s| ServiceView {
            name: s.name,
            group_name: s.group,
            cluster_count: s.clusters,
            ip_count: s.instances,
            healthy_instance_count: s.healthy,
            trigger_flag: if s.protected { "true" } else { "false" },
        })
        .map(Item::Counts)
        .collect();
    Ok(envelope::success(page(page_items)))
}

/// An item of the service list, as `withInstances` asks.
#[derive(Serialize)]
#[serde(untagged)]
enum Item {
    Counts(ServiceView),
    WithInstances(ServiceWithInstances),
}

/// `GET /nacos/v3/admin/core/state`: the server's state, `data.version` among it.
pub(crate) fn state(cx: &Context) -> Reply {
    envelope::success(handlers::server_state(cx))
}
