//! The V1 open API (`/nacos/v1/ns/*`): Nacos 1.x and 2.x, the open calls of 3.0–3.1, rnacos.
//!
//! Parameters go in the query string, as every released V1 client sends them; answers are
//! plain JSON (or `ok` for writes).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::calls::get::decode_instance;
use crate::calls::heartbeat_request::{decode_beat_info, BeatRequest};
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
use crate::BeatInfo;

/// Register (`POST`), deregister (`DELETE`), get (`GET`) and update (`PUT`) an instance.
pub(crate) const INSTANCE_PATH: &str = "/nacos/v1/ns/instance";
/// A list answer proves a server still serves the V1 naming API.
pub(crate) const LIST_PATH: &str = "/nacos/v1/ns/instance/list";
pub(crate) const BEAT_PATH: &str = "/nacos/v1/ns/instance/beat";
pub(crate) const SERVICE_LIST_PATH: &str = "/nacos/v1/ns/service/list";
pub(crate) const LOGIN_PATH: &str = "/nacos/v1/auth/login";
/// `{"version":…}` on 1.x and 2.x.
pub(crate) const STATE_PATH: &str = "/nacos/v1/console/server/state";

/// The request of `op`.
pub(crate) fn request(op: &Operation<'_>) -> Call {
    match *op {
        Operation::Register(r) => registration(Call::new(Method::Post, INSTANCE_PATH), r)
            .param("healthy", r.healthy.to_string()),
        Operation::Deregister {
            instance: key,
            ephemeral,
        } => instance(Call::new(Method::Delete, INSTANCE_PATH), key)
            .param("ephemeral", ephemeral.to_string()),
        Operation::Beat(request) => beat(request),
        Operation::List(query) => list(query),
        Operation::Get(key) => instance(Call::new(Method::Get, INSTANCE_PATH), key),
        Operation::Update(r) => registration(Call::new(Method::Put, INSTANCE_PATH), r),
        Operation::ListServices(query) => services(query),
    }
}

/// `serviceName`, `groupName` and, unless it is the default, `namespaceId`.
pub(crate) fn service(call: Call, service: &ServiceKey) -> Call {
    let call = call
        .param("serviceName", &service.service_name)
        .param("groupName", &service.group_name);
    call.namespace(service.namespace_id.as_ref())
}

/// The service's parameters, then `ip`, `port` and `clusterName`.
pub(crate) fn instance(call: Call, key: &InstanceKey) -> Call {
    service(call, &key.service)
        .param("ip", &key.ip)
        .param("port", key.port.to_string())
        .param("clusterName", &key.cluster_name)
}

/// The parameters a registration and an update share. `enabled` goes twice: official servers
/// read `enabled` and fall back to `enable` (what released clients send), rnacos reads only
/// `enabled`.
pub(crate) fn registration(call: Call, r: &Registration) -> Call {
    instance(call, &r.instance)
        .param("weight", weight_param(r.weight))
        .param("enable", r.enabled.to_string())
        .param("enabled", r.enabled.to_string())
        .param("ephemeral", r.ephemeral.to_string())
        .param("metadata", metadata_param(&r.metadata))
}

/// `serviceName` goes grouped (`group@@svc`) both outside and inside the beat: with a plain
/// name, Nacos 2.x refreshes the DEFAULT_GROUP service instead and the instance flaps.
pub(crate) fn beat(request: &BeatRequest) -> Call {
    let key = &request.instance;
    let grouped = key.service.grouped_name();
    let mut call = Call::new(Method::Put, BEAT_PATH)
        .param("serviceName", &grouped)
        .param("groupName", &key.service.group_name);
    call = call.namespace(key.service.namespace_id.as_ref());
    // The instance is named in the query for full beats too: rnacos reads the cluster only
    // from `clusterName` and would otherwise move the instance to DEFAULT on every beat.
    call = call
        .param("ip", &key.ip)
        .param("port", key.port.to_string())
        .param("clusterName", &key.cluster_name);
    if request.light {
        return call;
    }
    let body = BeatBody {
        service_name: &grouped,
        ip: &key.ip,
        port: key.port,
        weight: request.weight,
        ephemeral: request.ephemeral,
        cluster: &key.cluster_name,
        metadata: &request.metadata,
    };
    // Strings, numbers and a map of strings always serialize; the fallback only keeps this
    // free of panics.
    call.param("beat", serde_json::to_string(&body).unwrap_or_default())
}

/// The `beat` parameter: the instance, as the servers' beat info reads it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BeatBody<'a> {
    service_name: &'a str,
    ip: &'a str,
    port: u16,
    weight: f64,
    ephemeral: bool,
    cluster: &'a str,
    metadata: &'a BTreeMap<String, String>,
}

/// `healthyOnly` is always sent: rnacos takes a missing one as `true`, official servers as
/// `false`.
pub(crate) fn list(query: &ListQuery) -> Call {
    let mut call = service(Call::new(Method::Get, LIST_PATH), &query.service)
        .param("healthyOnly", query.healthy_only.to_string());
    if !query.clusters.is_empty() {
        call = call.param("clusters", query.clusters.join(","));
    }
    if let Some(port) = query.udp_port {
        call = call.param("udpPort", port.to_string());
    }
    if let Some(ip) = &query.client_ip {
        call = call.param("clientIP", ip);
    }
    call
}

/// A page of service names.
pub(crate) fn services(query: &ServicesQuery) -> Call {
    let call = Call::new(Method::Get, SERVICE_LIST_PATH)
        .param("pageNo", query.page_no.to_string())
        .param("pageSize", query.page_size.to_string())
        .param("groupName", &query.group_name);
    call.namespace(query.namespace_id.as_ref())
}

/// Write calls answer `ok`. Any 2xx means the server applied the write, so another body is
/// only logged: failing would make callers retry a write that took effect.
pub(crate) fn read_done(op: &Operation<'_>, body: &str) {
    if body.trim() != "ok" {
        log::debug!("{} answered {body:?} instead of \"ok\"", op.name());
    }
}

pub(crate) fn read_beat(body: &str) -> Result<BeatInfo, Error> {
    decode_beat_info(body)
}

pub(crate) fn read_list(query: &ListQuery, body: &str) -> Result<ServiceInfo, Error> {
    query.decode(body)
}

pub(crate) fn read_instance(body: &str) -> Result<Instance, Error> {
    decode_instance(body)
}

pub(crate) fn read_services(body: &str) -> Result<ServiceList, Error> {
    lenient::object_from_str(body).map_err(|source| Error::Decode {
        what: "service list",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_instance_and_its_service() {
        let mut key = InstanceKey::new(
            ServiceKey::new(Some("ns".into()), "svc".into()),
            "h".into(),
            9,
        );
        key.service.group_name = "G".into();
        let call = instance(Call::new(Method::Get, "/p"), &key);
        for (k, v) in [
            ("serviceName", "svc"),
            ("groupName", "G"),
            ("namespaceId", "ns"),
            ("ip", "h"),
            ("port", "9"),
            ("clusterName", "DEFAULT"),
        ] {
            assert_eq!(call.get(k), Some(v), "{k}");
        }
        let public = service(
            Call::new(Method::Get, "/p"),
            &ServiceKey::new(None, "svc".into()),
        );
        assert_eq!(public.get("namespaceId"), None);
    }
}
