//! The v3 client API (`/nacos/v3/client/ns/instance`): register, renew, deregister and list,
//! on the same registry as the V1 API.

use crate::handlers::{self, Context};
use crate::params::{self, Params};
use crate::reply::Reply;
use crate::service::{Beat, Registration};
use crate::version::NacosVersion;

use super::envelope::{self, Code};
use super::form::{self, Refusal};

/// Official weights range from 0 to 10000.
const MAX_WEIGHT: f64 = 10_000.0;

/// `POST`: registers the instance, or with `heartBeat=true` renews it (200 with code 21003
/// when the server does not know it: the client registers again in full).
pub(crate) fn register(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let version = cx.version;
    let renew = p
        .bool("heartBeat", false)
        .map_err(|e| form::invalid(version, e))?;
    let at = form::instance(version, p)?;
    if renew {
        let (beat, persist) = cx.registry.beat(
            &at.namespace,
            &at.service,
            &at.cluster,
            &at.ip,
            at.port,
            None,
        );
        return Ok(match beat {
            Beat::Accepted(_) => envelope::success("ok").persisting(persist),
            Beat::Unknown => envelope::failure(200, Code::InstanceNotFound, None),
        });
    }
    register_instance(cx, p)
}

/// Registers the instance the parameters name (the client register without `heartBeat`, and
/// the admin register).
pub(crate) fn register_instance(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let version = cx.version;
    let at = form::instance(version, p)?;
    let weight = weight(version, p)?;
    let bool_param = |name: &str| p.bool(name, true).map_err(|e| form::invalid(version, e));
    let reg = Registration {
        cluster: at.cluster,
        ip: at.ip,
        port: at.port,
        weight,
        healthy: bool_param("healthy")?,
        enabled: bool_param("enabled")?,
        ephemeral: bool_param("ephemeral")?,
        metadata: p
            .metadata("metadata")
            .map_err(|e| envelope::failure(400, Code::InstanceMetadataError, Some(e.message)))?,
    };
    // Refused as the v3 API's exception handler answers a `NacosRuntimeException`: its status,
    // code 30000 and the exception's message.
    let persist = cx
        .registry
        .register(&at.namespace, &at.service, reg)
        .map_err(|refusal| {
            let message = handlers::other_kind(&at.service, refusal);
            form::refuse(envelope::failure(400, Code::ServerError, Some(message)))
        })?;
    Ok(envelope::success("ok").persisting(persist))
}

/// The weight: 1 when absent, 400 with code 21001 outside 0–10000.
pub(super) fn weight(version: NacosVersion, p: &Params) -> Result<f64, Refusal> {
    let Some(text) = p.get("weight") else {
        return Ok(1.0);
    };
    let weight = text
        .trim()
        .parse::<f64>()
        .map_err(|_| form::invalid(version, params::illegal("weight", "not a number")))?;
    if !(0.0..=MAX_WEIGHT).contains(&weight) {
        return Err(form::refuse(envelope::failure(
            400,
            Code::WeightError,
            Some("instance format invalid: The weights range from 0.0 to 10000.0".into()),
        )));
    }
    Ok(weight)
}

/// `DELETE`: removes the instance (`ephemeral=false` for a persistent one); success also
/// when there is none.
pub(crate) fn deregister(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let version = cx.version;
    let at = form::instance(version, p)?;
    let ephemeral = p
        .bool("ephemeral", true)
        .map_err(|e| form::invalid(version, e))?;
    let persist = cx.registry.deregister(
        &at.namespace,
        &at.service,
        &at.cluster,
        &at.ip,
        at.port,
        ephemeral,
    );
    Ok(envelope::success("ok").persisting(persist))
}

/// `GET …/list`: `data` is the bare array of enabled instances, healthy or not. A blank
/// `clusterName` means DEFAULT on 3.0–3.1 and every cluster on 3.2.
pub(crate) fn list(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let version = cx.version;
    let (namespace, service) = form::service(version, p)?;
    let clusters = match p.get("clusterName").map(str::trim) {
        Some(cluster) if !cluster.is_empty() => {
            params::check_cluster("clusterName", cluster).map_err(|e| form::invalid(version, e))?;
            cluster
        }
        _ if version == NacosVersion::V3_1 => nacos_naming::DEFAULT_CLUSTER,
        _ => "",
    };
    let instances = cx.registry.instances(&namespace, &service, clusters);
    Ok(envelope::success(instances))
}
