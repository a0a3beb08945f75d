//! The v3 admin service calls (`/nacos/v3/admin/ns/service`, official `ServiceControllerV3`):
//! create, detail, update and delete of a service definition (its protection threshold and
//! metadata), all refusals in the v3 envelope with status 400.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::handlers::Context;
use crate::params::{self, Params};
use crate::registry::Refusal as Missing;
use crate::reply::Reply;
use crate::service::Metadata;
use crate::version::NacosVersion;

use super::envelope::{self, Code};
use super::form::{self, Refusal};

/// What a service call names and sets (official `ServiceForm`, defaults filled in).
struct ServiceForm {
    namespace: String,
    /// `group@@name`.
    service: String,
    protect_threshold: f32,
    metadata: Metadata,
    /// The kind of instances a created service holds: persistent unless `ephemeral=true`.
    ephemeral: bool,
}

/// Reads the form: `serviceName` required (code 10000); `protectThreshold` a number from 0 to
/// 1 (0 when absent); `metadata` JSON or `k=v` pairs (code 21002 otherwise); `selector` none
/// (code 21006 for any other: the devserver holds no selectors).
fn service_form(version: NacosVersion, p: &Params) -> Result<ServiceForm, Refusal> {
    let (namespace, service) = form::service(version, p)?;
    let protect_threshold = match p.get("protectThreshold").map(str::trim) {
        None | Some("") => 0.0,
        Some(text) => match text.parse::<f32>() {
            Ok(threshold) if (0.0..=1.0).contains(&threshold) => threshold,
            _ => {
                return Err(form::invalid(
                    version,
                    params::illegal(
                        "protectThreshold",
                        format!("{text:?} is not between 0 and 1"),
                    ),
                ))
            }
        },
    };
    let metadata = p.metadata("metadata").map_err(|_| {
        let text = p.get("metadata").unwrap_or_default();
        form::refuse(envelope::failure(
            400,
            Code::InstanceMetadataError,
            Some(format!("metadata format incorrect:{text}")),
        ))
    })?;
    check_selector(p.get("selector").unwrap_or_default())?;
    let ephemeral = p
        .bool("ephemeral", false)
        .map_err(|e| form::invalid(version, e))?;
    Ok(ServiceForm {
        namespace,
        service,
        protect_threshold,
        metadata,
        ephemeral,
    })
}

/// A selector is accepted when blank or of type `none`. Official servers also take `label`
/// selectors; the devserver does not apply selectors, so it refuses them rather than keep one
/// it would ignore.
fn check_selector(text: &str) -> Result<(), Refusal> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let kind = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|selector| selector.get("type")?.as_str().map(str::to_owned));
    match kind.as_deref() {
        Some("none") => Ok(()),
        Some("label") => Err(selector_error(
            "label selectors are not supported by the devserver",
        )),
        _ => Err(selector_error("not match any type of selector!")),
    }
}

fn selector_error(detail: &str) -> Refusal {
    refusal(Code::SelectorError, detail.to_owned())
}

/// A `NacosApiException` of code 400, as the v3 API answers it.
fn refusal(code: Code, detail: String) -> Refusal {
    form::refuse(envelope::failure(400, code, Some(detail)))
}

fn not_found(service: &str) -> Refusal {
    refusal(
        Code::ServiceNotExist,
        format!("service {service} not found!"),
    )
}

/// `POST`: creates the service, persistent unless `ephemeral=true`; 21007 when it exists.
pub(crate) fn create(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let f = service_form(cx.version, p)?;
    match cx.registry.create_service(
        &f.namespace,
        &f.service,
        f.protect_threshold,
        f.metadata,
        f.ephemeral,
    ) {
        Ok(persist) => Ok(envelope::success("ok").persisting(persist)),
        Err(_) => Err(refusal(
            Code::ServiceAlreadyExist,
            format!("specified service {} already exists!", f.service),
        )),
    }
}

/// `PUT`: replaces the threshold and metadata (both, as official updates do); 21008 for an
/// unknown service.
pub(crate) fn update(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let f = service_form(cx.version, p)?;
    match cx
        .registry
        .update_service(&f.namespace, &f.service, f.protect_threshold, f.metadata)
    {
        Ok(persist) => Ok(envelope::success("ok").persisting(persist)),
        Err(_) => Err(not_found(&f.service)),
    }
}

/// `DELETE`: removes an empty service; 21009 while it holds instances, 21008 when unknown.
pub(crate) fn delete(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let (namespace, service) = form::service(cx.version, p)?;
    match cx.registry.delete_service(&namespace, &service) {
        Ok(persist) => Ok(envelope::success("ok").persisting(persist)),
        Err(Missing::ServiceNotEmpty) => Err(refusal(
            Code::ServiceDeleteFailure,
            format!(
                "Service {service} is not empty, can't be delete. Please unregister instance first"
            ),
        )),
        Err(_) => Err(not_found(&service)),
    }
}

/// The detail answer (official `ServiceDetailInfo`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceDetailView {
    namespace_id: String,
    service_name: String,
    group_name: String,
    cluster_map: BTreeMap<String, ClusterView>,
    metadata: Metadata,
    protect_threshold: f32,
    selector: SelectorView,
    ephemeral: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SelectorView {
    r#type: &'static str,
    context_type: &'static str,
}

/// One cluster of the detail (official `ClusterInfo`: the defaults of a cluster nobody
/// configured, its instances not included).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterView {
    cluster_name: String,
    health_checker: HealthCheckerView,
    healthy_check_port: u16,
    use_instance_port_for_check: bool,
    metadata: Metadata,
    hosts: Option<()>,
}

#[derive(Serialize)]
struct HealthCheckerView {
    r#type: &'static str,
}

/// `GET`: the service's definition and clusters; 21008 for an unknown service.
pub(crate) fn detail(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    let (namespace, service) = form::service(cx.version, p)?;
    let detail = cx
        .registry
        .service_detail(&namespace, &service)
        .map_err(|_| {
            refusal(
                Code::ServiceNotExist,
                format!("service not found, namespace: {namespace}, serviceName: {service}"),
            )
        })?;
    let cluster_map = detail
        .clusters
        .into_iter()
        .map(|name| {
            let cluster = ClusterView {
                cluster_name: name.clone(),
                health_checker: HealthCheckerView { r#type: "TCP" },
                healthy_check_port: 80,
                use_instance_port_for_check: true,
                metadata: Metadata::new(),
                hosts: None,
            };
            (name, cluster)
        })
        .collect();
    Ok(envelope::success(ServiceDetailView {
        namespace_id: detail.namespace,
        service_name: detail.name,
        group_name: detail.group,
        cluster_map,
        metadata: detail.metadata,
        protect_threshold: detail.protect_threshold,
        selector: SelectorView {
            r#type: "none",
            context_type: "NONE",
        },
        ephemeral: detail.ephemeral,
    }))
}
