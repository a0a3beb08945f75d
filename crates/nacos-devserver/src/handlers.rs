//! The V1 open API: one function per call. Each reads and checks its parameters, calls the
//! registry and renders the answer; none does I/O (persistence is returned in the reply).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use nacos_naming::{BeatInfo, Instance, BEAT_OK, BEAT_RESOURCE_NOT_FOUND};
use serde::Serialize;
use serde_json::Value;

use crate::auth::{Auth, Login};
use crate::params::{self, illegal, Params};
use crate::registry::{Refusal, Registry};
use crate::reply::{ApiError, Reply};
use crate::service::{Beat, ListQuery, Modification, Registration};
use crate::version::{Identity, NacosVersion};

/// `cacheMillis` for a lister without push: poll again soon.
const POLL_CACHE_MILLIS: u64 = 3_000;
/// `cacheMillis` for a lister that asked for push: changes arrive by UDP.
pub(crate) const PUSH_CACHE_MILLIS: u64 = 10_000;

/// What the handlers share.
pub(crate) struct Context {
    pub(crate) registry: Arc<Registry>,
    /// Issues and checks tokens: in auth mode, and on 3.x lines (whose admin API needs one).
    pub(crate) auth: Option<Auth>,
    /// Auth mode: every call but the open ones needs a token.
    pub(crate) client_auth: bool,
    /// The beat interval asked of clients, in milliseconds.
    pub(crate) beat_interval: u64,
    pub(crate) push: bool,
    /// The server line behaved as.
    pub(crate) version: NacosVersion,
    /// Push to the list call's `clientIP` instead of the address the call came from.
    pub(crate) push_to_client_ip: bool,
}

/// The calls, by method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Register,
    Deregister,
    Modify,
    GetInstance,
    List,
    Beat,
    CreateService,
    UpdateService,
    DeleteService,
    GetService,
    ListServices,
    Login,
    Health,
    Prometheus,
    /// `GET /nacos/v1/ns/operator/metrics`.
    Metrics,
    /// `GET /nacos/v1/console/server/state`.
    ServerState,
    /// A call of the 3.x API.
    V3(crate::v3::Call),
    /// The web console's page and calls (every line).
    Console(crate::console::Call),
}

impl Route {
    /// The route of a request; `Err(true)` when the path exists but not for that method.
    pub(crate) fn find(method: &str, path: &str) -> Result<Route, bool> {
        if let Some(call) = crate::console::Call::find(method, path) {
            return call.map(Route::Console).map_err(|()| true);
        }
        let path = path.strip_suffix('/').unwrap_or(path);
        let routes: &[(&str, Route)] = match path {
            "/nacos/v1/ns/instance" => &[
                ("POST", Route::Register),
                ("DELETE", Route::Deregister),
                ("PUT", Route::Modify),
                ("GET", Route::GetInstance),
            ],
            "/nacos/v1/ns/instance/list" => &[("GET", Route::List)],
            "/nacos/v1/ns/instance/beat" => &[("PUT", Route::Beat)],
            "/nacos/v1/ns/service" => &[
                ("POST", Route::CreateService),
                ("PUT", Route::UpdateService),
                ("DELETE", Route::DeleteService),
                ("GET", Route::GetService),
            ],
            "/nacos/v1/ns/service/list" => &[("GET", Route::ListServices)],
            "/nacos/v1/auth/login" | "/nacos/v1/auth/users/login" => &[("POST", Route::Login)],
            "/nacos/v1/ns/operator/metrics" => &[("GET", Route::Metrics)],
            "/nacos/v1/console/server/state" => &[("GET", Route::ServerState)],
            "/nacos/v1/console/health/liveness" | "/nacos/v1/console/health/readiness" => {
                &[("GET", Route::Health)]
            }
            "/nacos/actuator/prometheus" => &[("GET", Route::Prometheus)],
            _ => return Err(false),
        };
        routes
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, r)| *r)
            .ok_or(true)
    }

    /// Whether the call is allowed without a token in auth mode.
    pub(crate) fn is_open(self) -> bool {
        match self {
            Route::Login
            | Route::Health
            | Route::Metrics
            | Route::ServerState
            | Route::Prometheus => true,
            Route::V3(call) => call.is_open(),
            Route::Console(call) => call.is_open(),
            _ => false,
        }
    }

    /// The endpoint's name in metrics: `register`, `list`, `v3`…
    pub(crate) fn name(self) -> &'static str {
        match self {
            Route::Register => "register",
            Route::Deregister => "deregister",
            Route::Modify => "modify",
            Route::GetInstance => "get_instance",
            Route::List => "list",
            Route::Beat => "beat",
            Route::CreateService => "create_service",
            Route::UpdateService => "update_service",
            Route::DeleteService => "delete_service",
            Route::GetService => "get_service",
            Route::ListServices => "list_services",
            Route::Login => "login",
            Route::Health => "health",
            Route::Metrics => "operator_metrics",
            Route::ServerState => "server_state",
            Route::Prometheus => "prometheus",
            Route::V3(_) => "v3",
            Route::Console(call) => call.name(),
        }
    }
}

/// Answers one call.
pub(crate) fn handle(
    cx: &Context,
    route: Route,
    p: &Params,
    peer: SocketAddr,
) -> Result<Reply, ApiError> {
    match route {
        Route::Register => register(cx, p),
        Route::Deregister => deregister(cx, p),
        Route::Modify => modify(cx, p),
        Route::GetInstance => get_instance(cx, p),
        Route::List => list(cx, p, peer),
        Route::Beat => beat(cx, p),
        Route::CreateService => create_service(cx, p),
        Route::UpdateService => update_service(cx, p),
        Route::DeleteService => delete_service(cx, p),
        Route::GetService => get_service(cx, p),
        Route::ListServices => list_services(cx, p),
        Route::Login => login(cx, p),
        Route::Health => Ok(Reply::text("OK")),
        Route::Prometheus => {
            let text = cx.registry.metrics().render(cx.registry.census());
            Ok(Reply::plain(text))
        }
        Route::Metrics => Ok(Reply::text_json(r#"{"status":"UP"}"#)),
        Route::ServerState => Ok(Reply::to_json(&server_state(cx))),
        Route::V3(call) => Ok(crate::v3::handle(cx, call, p)),
        Route::Console(call) => crate::console::handle(cx, call, p),
    }
}

pub(crate) fn register(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let ns = p.namespace()?;
    let service = p.grouped_service()?;
    let reg = Registration {
        ip: p.ip()?,
        port: p.port()?,
        cluster: p.cluster()?,
        weight: p.weight()?,
        healthy: p.bool("healthy", true)?,
        enabled: p.enabled()?,
        ephemeral: p.bool("ephemeral", true)?,
        metadata: p.metadata("metadata")?,
    };
    let line = format!(
        "registered {service} {} cluster={} namespace={ns} weight={} ephemeral={} enabled={}",
        address(&reg.ip, reg.port),
        reg.cluster,
        reg.weight,
        reg.ephemeral,
        reg.enabled
    );
    let persist = match cx.registry.register(&ns, &service, reg) {
        Ok(persist) => persist,
        // The exception's message is the whole body.
        Err(refusal) => return Ok(Reply::plain(other_kind(&service, refusal)).with_status(400)),
    };
    log::info!("{line}");
    Ok(Reply::ok().persisting(persist))
}

/// The official text of a registration refused for its kind (2.x and 3.x: a service holds
/// ephemeral or persistent instances, not both), a `NacosRuntimeException`'s message.
pub(crate) fn other_kind(service: &str, refusal: Refusal) -> String {
    let (service_kind, instance_kind) = match refusal {
        Refusal::OtherKind {
            ephemeral_service: false,
        } => ("persistent", "ephemeral"),
        _ => ("ephemeral", "persistent"),
    };
    format!(
        "errCode: 400, errMsg: Current service {service} is {service_kind} service, can't \
         register {instance_kind} instance. "
    )
}

pub(crate) fn deregister(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let ns = p.namespace()?;
    let service = p.grouped_service()?;
    let (ip, port, cluster) = (p.ip()?, p.port()?, p.cluster()?);
    let ephemeral = p.bool("ephemeral", true)?;
    let existed = cx
        .registry
        .instance(&ns, &service, &cluster, &ip, port)
        .is_ok();
    let persist = cx
        .registry
        .deregister(&ns, &service, &cluster, &ip, port, ephemeral);
    if existed {
        log::info!(
            "deregistered {service} {} cluster={cluster} namespace={ns}",
            address(&ip, port)
        );
    }
    Ok(Reply::ok().persisting(persist))
}

pub(crate) fn modify(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let ns = p.namespace()?;
    let service = p.grouped_service()?;
    let (ip, port, cluster) = (p.ip()?, p.port()?, p.cluster()?);
    p.bool("ephemeral", true)?;
    // Official 2.x replaces these as a whole: what is not sent is reset to its default.
    let m = Modification {
        weight: p.weight()?,
        enabled: p.enabled()?,
        metadata: p.metadata("metadata")?,
        healthy: p.opt_bool("healthy")?,
    };
    let line = format!(
        "modified {service} {} cluster={cluster} namespace={ns} weight={} enabled={}",
        address(&ip, port),
        m.weight,
        m.enabled
    );
    match cx.registry.modify(&ns, &service, &cluster, &ip, port, m) {
        Ok(persist) => {
            log::info!("{line}");
            Ok(Reply::ok().persisting(persist))
        }
        Err(Refusal::ServiceNotFound) if cx.version.identity() == Identity::PerAddress => {
            Err(ApiError::bad_request(format!(
                "service not found, namespace: {ns}, service: {service}"
            )))
        }
        Err(Refusal::TooManyModifies) => Err(ApiError::bad_request(too_many_modifies(&service))),
        Err(_) => Err(ApiError::not_found(format!(
            "instance not exist: {ip}:{port} in cluster {cluster} of service {service}"
        ))),
    }
}

/// Why a modify was refused: the service keeps as many modifies of addresses without an
/// instance as it may (a devserver bound; official servers keep any number).
pub(crate) fn too_many_modifies(service: &str) -> String {
    format!(
        "service {service} keeps {} modifies beyond its instances already: modifies of \
         addresses without an instance are refused until some go",
        crate::service::MAX_MODIFIES_BEYOND_INSTANCES
    )
}

/// `10.0.0.1:80`, `[::1]:80`: an instance in a log line.
pub(crate) fn address(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn get_instance(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let ns = p.namespace()?;
    let service = p.grouped_service()?;
    let (ip, port, cluster) = (p.ip()?, p.port()?, p.cluster()?);
    match cx.registry.instance(&ns, &service, &cluster, &ip, port) {
        Ok(instance) => Ok(Reply::to_json(&instance)),
        Err(Refusal::InstanceNotFound) => Err(ApiError::not_found("no matched ip found!")),
        Err(_) => Err(ApiError::not_found(format!("no service {service} found!"))),
    }
}

fn list(cx: &Context, p: &Params, peer: SocketAddr) -> Result<Reply, ApiError> {
    let ns = p.namespace()?;
    let service = p.grouped_service()?;
    let clusters = p.get("clusters").unwrap_or("").trim();
    let healthy_only = p.bool("healthyOnly", false)?;
    let udp_port = u16::try_from(p.number("udpPort", 0, 0, 65_535)?).unwrap_or(0);
    let client_ip = match p.get("clientIP") {
        None => peer.ip(),
        Some(ip) => ip
            .trim()
            .parse::<IpAddr>()
            .map_err(|_| illegal("clientIP", format!("{ip:?} is not an IP address")))?,
    };
    // Without auth anyone can send any clientIP: trusting it would let a list call aim pushes
    // at a third party. The address the call came from at least asked for them.
    let push_ip = if cx.push_to_client_ip {
        client_ip
    } else {
        peer.ip()
    };
    let subscriber = (cx.push && udp_port > 0).then(|| SocketAddr::new(push_ip, udp_port));
    let query = ListQuery {
        clusters,
        healthy_only,
        cache_millis: if subscriber.is_some() {
            PUSH_CACHE_MILLIS
        } else {
            POLL_CACHE_MILLIS
        },
    };
    Ok(Reply::json(
        cx.registry.list(&ns, &service, query, subscriber),
    ))
}

fn beat(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let ns = p.namespace()?;
    let service = p.grouped_service()?;
    let (cluster, ip, port, body) = match p.get("beat") {
        Some(beat) => {
            let reg = beat_registration(beat)?;
            (reg.cluster.clone(), reg.ip.clone(), reg.port, Some(reg))
        }
        None => (p.cluster()?, p.ip()?, p.port()?, None),
    };
    let (beat, persist) = cx.registry.beat(&ns, &service, &cluster, &ip, port, body);
    let (code, interval) = match beat {
        Beat::Accepted(interval) => (BEAT_OK, interval),
        Beat::Unknown => (BEAT_RESOURCE_NOT_FOUND, None),
    };
    let answer = BeatInfo {
        // The instance's own interval (`preserved.heart.beat.interval`) wins, as on 2.x.
        client_beat_interval: interval.unwrap_or(cx.beat_interval),
        code,
        light_beat_enabled: true,
    };
    Ok(Reply::to_json(&answer).persisting(persist))
}

/// The instance a full beat carries: `{ip, port, cluster, weight, metadata, ephemeral, …}`.
fn beat_registration(beat: &str) -> Result<Registration, ApiError> {
    let mut value: Value =
        serde_json::from_str(beat).map_err(|e| illegal("beat", format!("not JSON ({e})")))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| illegal("beat", "not a JSON object"))?;
    // The beat names its cluster `cluster`; the instance decoder reads `clusterName`.
    let cluster = object.remove("cluster").unwrap_or(Value::Null);
    object.insert("clusterName".into(), cluster);
    let metadata = object.remove("metadata").unwrap_or(Value::Null);
    for required in ["ip", "port"] {
        if object.get(required).is_none_or(Value::is_null) {
            return Err(illegal("beat", format!("'{required}' is missing")));
        }
    }
    let instance: Instance = serde_json::from_value(value).map_err(|e| illegal("beat", e))?;
    let cluster = if instance.cluster_name.is_empty() {
        nacos_naming::DEFAULT_CLUSTER.to_owned()
    } else {
        instance.cluster_name
    };
    params::check_cluster("beat", &cluster)?;
    params::check_ip("beat", &instance.ip)?;
    Ok(Registration {
        cluster,
        ip: instance.ip,
        port: instance.port,
        weight: params::check_weight("beat", instance.weight)?,
        healthy: true,
        enabled: true,
        ephemeral: instance.ephemeral,
        metadata: params::metadata_from_json(metadata).map_err(|e| illegal("beat", e))?,
    })
}

fn create_service(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let (ns, service, threshold, metadata) = service_definition(p)?;
    // Official 2.x creates a persistent service here (`ServiceController.create`).
    match cx
        .registry
        .create_service(&ns, &service, threshold, metadata, false)
    {
        Ok(persist) => Ok(Reply::ok().persisting(persist)),
        Err(_) => Err(ApiError::bad_request(format!(
            "specified service already exists, serviceName : {service}"
        ))),
    }
}

fn update_service(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let (ns, service, threshold, metadata) = service_definition(p)?;
    match cx
        .registry
        .update_service(&ns, &service, threshold, metadata)
    {
        Ok(persist) => Ok(Reply::ok().persisting(persist)),
        Err(_) => Err(service_not_found(&service)),
    }
}

fn service_definition(
    p: &Params,
) -> Result<(String, String, f32, crate::service::Metadata), ApiError> {
    let ns = p.namespace()?;
    let service = p.grouped_service()?;
    let threshold = match p.get("protectThreshold") {
        None => 0.0,
        Some(t) => match t.trim().parse::<f32>() {
            Ok(t) if (0.0..=1.0).contains(&t) => t,
            _ => {
                return Err(illegal(
                    "protectThreshold",
                    format!("{t:?} is not a number between 0 and 1"),
                ))
            }
        },
    };
    Ok((ns, service, threshold, p.metadata("metadata")?))
}

fn delete_service(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let ns = p.namespace()?;
    let service = p.grouped_service()?;
    match cx.registry.delete_service(&ns, &service) {
        Ok(persist) => Ok(Reply::ok().persisting(persist)),
        Err(Refusal::ServiceNotEmpty) => Err(ApiError::bad_request(format!(
            "service {service} is not empty, can't be delete. Please unregister instance first"
        ))),
        Err(_) => Err(service_not_found(&service)),
    }
}

fn service_not_found(service: &str) -> ApiError {
    ApiError::not_found(format!("service {service} not found!"))
}

/// The service detail, in the official shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceView {
    namespace_id: String,
    name: String,
    group_name: String,
    protect_threshold: f32,
    metadata: crate::service::Metadata,
    selector: Selector,
    clusters: Vec<ClusterView>,
}

#[derive(Serialize)]
struct Selector {
    r#type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterView {
    name: String,
    health_checker: Selector,
    metadata: crate::service::Metadata,
}

fn get_service(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let ns = p.namespace()?;
    let service = p.grouped_service()?;
    let detail = cx
        .registry
        .service_detail(&ns, &service)
        .map_err(|_| service_not_found(&service))?;
    Ok(Reply::to_json(&ServiceView {
        namespace_id: detail.namespace,
        name: detail.name,
        group_name: detail.group,
        protect_threshold: detail.protect_threshold,
        metadata: detail.metadata,
        selector: Selector { r#type: "none" },
        clusters: detail
            .clusters
            .into_iter()
            .map(|name| ClusterView {
                name,
                health_checker: Selector { r#type: "TCP" },
                metadata: Default::default(),
            })
            .collect(),
    }))
}

#[derive(Serialize)]
struct ServiceList {
    count: usize,
    doms: Vec<String>,
}

fn list_services(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let ns = p.namespace()?;
    let group = p.group()?;
    let page_no = p.number("pageNo", 1, 1, u64::from(u32::MAX))?;
    let page_size = p.number("pageSize", 20, 1, u64::from(u32::MAX))?;
    let names = cx.registry.service_names(&ns, &group);
    let start = usize::try_from((page_no - 1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let doms = names
        .iter()
        .skip(start)
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .cloned()
        .collect();
    Ok(Reply::to_json(&ServiceList {
        count: names.len(),
        doms,
    }))
}

/// What the server-state calls report (a subset of the official keys).
pub(crate) fn server_state(cx: &Context) -> std::collections::BTreeMap<&'static str, String> {
    std::collections::BTreeMap::from([
        ("version", cx.version.release().to_owned()),
        ("standalone_mode", "standalone".to_owned()),
        ("startup_mode", "standalone".to_owned()),
        ("function_mode", "naming".to_owned()),
        ("auth_enabled", cx.client_auth.to_string()),
    ])
}

fn login(cx: &Context, p: &Params) -> Result<Reply, ApiError> {
    let username = p.required("username")?;
    let password = p.required("password")?;
    match issue_token(cx, username, password) {
        Some(login) => Ok(Reply::to_json(&login)),
        None => Err(ApiError::forbidden("unknown user!")),
    }
}

/// A token for the right credentials; `None` when refused. Without auth mode any credentials
/// log in, so clients configured with credentials work against it unchanged (the token is
/// then checked only by 3.x admin calls).
pub(crate) fn issue_token(cx: &Context, username: &str, password: &str) -> Option<Login> {
    match &cx.auth {
        Some(auth) => auth.login(username, password),
        None => Some(Login {
            access_token: crate::auth::random_token().unwrap_or_default(),
            token_ttl: 18_000,
            global_admin: true,
            username: username.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_method_and_path() {
        assert_eq!(
            Route::find("POST", "/nacos/v1/ns/instance"),
            Ok(Route::Register)
        );
        assert_eq!(
            Route::find("GET", "/nacos/v1/ns/instance/list/"),
            Ok(Route::List)
        );
        assert_eq!(Route::find("POST", "/nacos/v1/ns/instance/list"), Err(true));
        assert_eq!(Route::find("GET", "/nacos/v1/ns/nothing"), Err(false));
        assert!(Route::find("POST", "/nacos/v1/auth/users/login")
            .unwrap()
            .is_open());
        assert!(!Route::Register.is_open());
    }

    #[test]
    fn full_beats_carry_the_instance() {
        let reg = beat_registration(
            r#"{"serviceName":"G@@s","ip":"1.2.3.4","port":"80","weight":2,"cluster":"c1",
                "metadata":{"a":"b"},"ephemeral":true,"scheduled":false}"#,
        )
        .unwrap();
        assert_eq!(
            (reg.ip.as_str(), reg.port, reg.cluster.as_str()),
            ("1.2.3.4", 80, "c1")
        );
        assert_eq!(reg.weight, 2.0);
        assert_eq!(reg.metadata["a"], "b");
        let reg = beat_registration(r#"{"ip":"h","port":1,"cluster":""}"#).unwrap();
        assert_eq!(reg.cluster, "DEFAULT");
        for bad in [
            "x",
            "[]",
            r#"{"port":1}"#,
            r#"{"ip":"h"}"#,
            r#"{"ip":"h","port":70000}"#,
            r#"{"ip":"h","port":1,"weight":-1}"#,
            r#"{"ip":"h","port":1,"cluster":"a_b"}"#,
            r#"{"ip":"h","port":1,"metadata":[1]}"#,
        ] {
            let e = beat_registration(bad).unwrap_err();
            assert!(e.message.contains("'beat'"), "{bad}: {}", e.message);
        }
    }
}
