//! What the console shows: the namespaces with their services' counts, and one service's
//! instances as they are held.

use nacos_naming::Instance;
use serde::Serialize;

use crate::handlers::Context;
use crate::params::Params;
use crate::reply::ApiError;
use crate::service::Metadata;

/// The whole server at a glance.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Overview {
    /// The official server line behaved as (`1.4`, `2`, `3.1`, `3.2`).
    server_line: String,
    /// Whether calls need a token.
    auth: bool,
    namespaces: Vec<NamespaceView>,
}

/// One namespace and its visible services, sorted by group and name.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceView {
    id: String,
    services: Vec<ServiceView>,
}

/// One service's counts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceView {
    group: String,
    name: String,
    clusters: usize,
    instances: usize,
    healthy: usize,
    /// At or below the protection threshold: lists show every instance.
    protected: bool,
}

/// One service's instances (disabled ones too, health as the beat rules set it) and its
/// definition.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstancesView {
    namespace: String,
    /// `group@@name`.
    service: String,
    /// 0 and none for a service no service call defined.
    protect_threshold: f32,
    metadata: Metadata,
    instances: Vec<Instance>,
}

pub(crate) fn overview(cx: &Context) -> Overview {
    let namespaces = cx
        .registry
        .namespace_names()
        .into_iter()
        .map(|id| NamespaceView {
            services: cx
                .registry
                .service_summaries(&id)
                .into_iter()
                .map(|s| ServiceView {
                    group: s.group,
                    name: s.name,
                    clusters: s.clusters,
                    instances: s.instances,
                    healthy: s.healthy,
                    protected: s.protected,
                })
                .collect(),
            id,
        })
        .collect();
    Overview {
        server_line: cx.version.to_string(),
        auth: cx.client_auth,
        namespaces,
    }
}

/// The instances of the service `namespaceId` and `serviceName` (with `groupName`) name.
pub(crate) fn instances(cx: &Context, p: &Params) -> Result<InstancesView, ApiError> {
    let namespace = p.namespace()?;
    let service = p.grouped_service()?;
    let (protect_threshold, metadata) = cx
        .registry
        .service_detail(&namespace, &service)
        .map_or_else(
            |_| (0.0, Metadata::new()),
            |d| (d.protect_threshold, d.metadata),
        );
    Ok(InstancesView {
        instances: cx.registry.held_instances(&namespace, &service),
        protect_threshold,
        metadata,
        namespace,
        service,
    })
}
