//! The client against each Nacos server line, and through an upgrade from one to the next, on
//! a small loopback server that answers as the line does: 2.x (V1 in full), 3.1 (V1 open API,
//! V1 get and modify 410, the v3 client API listing DEFAULT alone when no cluster is named)
//! and 3.2 (every V1 naming path 404, the v3 client API). Restarting a lone server on another
//! line empties it; servers started as one cluster share what is registered, as replicating
//! Nacos servers do, so one can change line while the others keep the data.
//!
//! The shapes of its v3 answers are the official controller's (`InstanceOpenApiController`):
//! an envelope `{"code":0,"message":"success","data":…}`, a bare array for the list, code 21003
//! (HTTP 200) for a renew of an unknown instance, disabled instances left out of the list.

#[path = "common/ips_seen.rs"]
mod ips_seen;

use std::collections::BTreeMap;
use std::io::BufReader;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use ips_seen::IpsSeen;
use nacos_naming::{NamingClient, ServerApi};
use nacos_test_support::{write_response, ReceivedRequest};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Nacos2,
    Nacos31,
    Nacos32,
}

#[derive(Debug, Clone)]
struct Stored {
    cluster: String,
    weight: f64,
    enabled: bool,
    healthy: bool,
    metadata: BTreeMap<String, String>,
}

/// (group@@service, ip, port) → instance.
type Store = BTreeMap<(String, String, u16), Stored>;

/// One server's own state: its line and the requests it saw (`METHOD path`, in order).
struct Node {
    line: Line,
    /// Restarting: every request answers 503, so clients fail over.
    down: bool,
    requests: Vec<String>,
}

/// A server that answers as one Nacos line, on `127.0.0.1:0`.
struct LineServer {
    addr: SocketAddr,
    node: Arc<Mutex<Node>>,
    store: Arc<Mutex<Store>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl LineServer {
    fn start(line: Line) -> LineServer {
        LineServer::start_sharing(line, Arc::default())
    }

    /// Three servers of one cluster on `line`.
    fn cluster(line: Line) -> [LineServer; 3] {
        let store: Arc<Mutex<Store>> = Arc::default();
        [(); 3].map(|()| LineServer::start_sharing(line, store.clone()))
    }

    fn start_sharing(line: Line, store: Arc<Mutex<Store>>) -> LineServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let node = Arc::new(Mutex::new(Node {
            line,
            down: false,
            requests: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (node, store, stop) = (node.clone(), store.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (node, store) = (node.clone(), store.clone());
                    thread::spawn(move || serve(stream, &node, &store));
                }
            })
        };
        LineServer {
            addr,
            node,
            store,
            stop,
            acceptor: Some(acceptor),
        }
    }

    fn address(&self) -> String {
        self.addr.to_string()
    }

    /// A lone server restarted on another line: same port, nothing registered.
    fn restart_as(&self, line: Line) {
        self.node.lock().unwrap().line = line;
        self.store.lock().unwrap().clear();
    }

    /// A cluster member going down for its restart (`true`) and coming back (`false`).
    fn set_down(&self, down: bool) {
        self.node.lock().unwrap().down = down;
    }

    /// A cluster member restarted on another line; its peers kept the data and hand it over.
    fn switch_line(&self, line: Line) {
        self.node.lock().unwrap().line = line;
    }

    fn requests(&self) -> Vec<String> {
        self.node.lock().unwrap().requests.clone()
    }

    fn forget_requests(&self) {
        self.node.lock().unwrap().requests.clear();
    }

    fn holds(&self, service: &str, ip: &str, port: u16) -> Option<Stored> {
        let key = (format!("DEFAULT_GROUP@@{service}"), ip.to_owned(), port);
        self.store.lock().unwrap().get(&key).cloned()
    }
}

impl Drop for LineServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, node: &Mutex<Node>, store: &Mutex<Store>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = ReceivedRequest::read(&mut reader) {
        let line = {
            let mut node = node.lock().unwrap();
            node.requests
                .push(format!("{} {}", request.method, request.path));
            (node.line, node.down)
        };
        let (status, body) = match line {
            (_, true) => (503, "restarting".to_owned()),
            (line, false) => answer(line, &mut store.lock().unwrap(), &request),
        };
        if write_response(reader.get_mut(), status, "application/json", &body, false).is_err() {
            return;
        }
    }
}

fn param<'a>(r: &'a ReceivedRequest, name: &str) -> &'a str {
    r.param(name).unwrap_or_default()
}

/// `group@@service` from `serviceName` (plain or grouped) and `groupName`.
fn grouped(r: &ReceivedRequest) -> String {
    let name = param(r, "serviceName");
    if name.contains("@@") {
        return name.to_owned();
    }
    let group = match param(r, "groupName") {
        "" => "DEFAULT_GROUP",
        g => g,
    };
    format!("{group}@@{name}")
}

fn key(r: &ReceivedRequest) -> (String, String, u16) {
    (
        grouped(r),
        param(r, "ip").to_owned(),
        param(r, "port").parse().unwrap_or(0),
    )
}

fn cluster(r: &ReceivedRequest) -> String {
    match param(r, "clusterName") {
        "" => "DEFAULT".to_owned(),
        c => c.to_owned(),
    }
}

fn stored(r: &ReceivedRequest, healthy_default: bool) -> Stored {
    Stored {
        cluster: cluster(r),
        weight: param(r, "weight").parse().unwrap_or(1.0),
        enabled: param(r, "enabled") != "false",
        healthy: match param(r, "healthy") {
            "" => healthy_default,
            h => h == "true",
        },
        metadata: serde_json::from_str(param(r, "metadata")).unwrap_or_default(),
    }
}

fn host(k: &(String, String, u16), s: &Stored) -> Value {
    json!({
        "ip": k.1, "port": k.2, "weight": s.weight, "healthy": s.healthy, "enabled": s.enabled,
        "ephemeral": true, "clusterName": s.cluster, "serviceName": k.0, "metadata": s.metadata,
    })
}

fn ok(data: Value) -> (u16, String) {
    (
        200,
        json!({"code": 0, "message": "success", "data": data}).to_string(),
    )
}

fn answer(line: Line, instances: &mut Store, r: &ReceivedRequest) -> (u16, String) {
    let v1_naming = r.path.starts_with("/nacos/v1/ns/");
    let v3_client = r.path.starts_with("/nacos/v3/client/ns/");
    if v1_naming && line == Line::Nacos32 {
        return (
            404,
            format!(
                r#"{{"status":404,"message":"No endpoint {} {}."}}"#,
                r.method, r.path
            ),
        );
    }
    if v3_client && line == Line::Nacos2 {
        return (404, "{}".into());
    }
    match (r.method.as_str(), r.path.as_str()) {
        ("GET" | "PUT", "/nacos/v1/ns/instance") if line == Line::Nacos31 => (
            410,
            r#"{"status":410,"error":"Gone","message":"{\"code\":40000,\"message\":\"Current API will be deprecated\"}"}"#
                .into(),
        ),
        ("POST", "/nacos/v1/ns/instance") => {
            instances.insert(key(r), stored(r, true));
            (200, "ok".into())
        }
        ("DELETE", "/nacos/v1/ns/instance") | ("DELETE", "/nacos/v3/client/ns/instance") => {
            instances.remove(&key(r));
            if v3_client {
                ok(json!("ok"))
            } else {
                (200, "ok".into())
            }
        }
        ("PUT", "/nacos/v1/ns/instance") => match instances.get_mut(&key(r)) {
            Some(s) => {
                let healthy = s.healthy;
                *s = stored(r, healthy);
                (200, "ok".into())
            }
            None => (400, "service not found".into()),
        },
        ("GET", "/nacos/v1/ns/instance") => {
            let k = key(r);
            match instances.get(&k) {
                Some(s) => (200, host(&k, s).to_string()),
                None => (404, "no matched ip found!".into()),
            }
        }
        ("PUT", "/nacos/v1/ns/instance/beat") => {
            let code = if instances.contains_key(&key(r)) {
                10200
            } else {
                20404
            };
            (
                200,
                json!({"clientBeatInterval": 5000, "code": code, "lightBeatEnabled": false})
                    .to_string(),
            )
        }
        ("GET", "/nacos/v1/ns/instance/list") => {
            let name = grouped(r);
            let wanted: Vec<&str> = param(r, "clusters")
                .split(',')
                .filter(|c| !c.is_empty())
                .collect();
            let hosts: Vec<Value> = instances
                .iter()
                .filter(|(k, s)| {
                    k.0 == name
                        && s.enabled
                        && (wanted.is_empty() || wanted.contains(&s.cluster.as_str()))
                })
                .map(|(k, s)| host(k, s))
                .collect();
            let body = json!({"name": name, "clusters": param(r, "clusters"),
                "cacheMillis": 3000, "hosts": hosts, "lastRefTime": 1, "checksum": ""});
            (200, body.to_string())
        }
        ("GET", "/nacos/v1/ns/service/list") => {
            let group = param(r, "groupName");
            let doms: Vec<String> = instances
                .keys()
                .filter_map(|k| k.0.strip_prefix(&format!("{group}@@")).map(str::to_owned))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            (200, json!({"count": doms.len(), "doms": doms}).to_string())
        }
        ("POST", "/nacos/v3/client/ns/instance") => {
            let k = key(r);
            if param(r, "heartBeat") == "true" {
                if instances.contains_key(&k) {
                    return ok(json!("ok"));
                }
                return (
                    200,
                    r#"{"code":21003,"message":"instance not found","data":null}"#.into(),
                );
            }
            instances.insert(k, stored(r, true));
            ok(json!("ok"))
        }
        ("GET", "/nacos/v3/client/ns/instance/list") => {
            let name = grouped(r);
            let named = r.param("clusterName").filter(|c| !c.is_empty());
            let hosts: Vec<Value> = instances
                .iter()
                .filter(|(k, s)| {
                    k.0 == name
                        && s.enabled
                        && match (named, line) {
                            (Some(c), _) => c.split(',').any(|n| n == s.cluster),
                            (None, Line::Nacos31) => s.cluster == "DEFAULT",
                            (None, _) => true,
                        }
                })
                .map(|(k, s)| host(k, s))
                .collect();
            ok(Value::Array(hosts))
        }
        ("GET", "/nacos/v3/admin/core/state") if line != Line::Nacos2 => {
            ok(json!({"version": if line == Line::Nacos31 { "3.1.0" } else { "3.2.0" }}))
        }
        ("GET", "/nacos/v1/console/server/state") if line == Line::Nacos2 => {
            (200, json!({"version": "2.4.3"}).to_string())
        }
        ("GET", p) if p.starts_with("/nacos/v3/admin/") => (403, "authorization failed".into()),
        _ => (404, format!("No endpoint {} {}.", r.method, r.path)),
    }
}

fn client(servers: &[&LineServer], api: ServerApi) -> NamingClient {
    let addresses: Vec<String> = servers.iter().map(|s| s.address()).collect();
    NamingClient::builder()
        .server_addresses(addresses.join(","))
        .api(api)
        .heartbeat_interval(Duration::from_millis(50))
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap()
}

/// Every seed call and `list_services` on one line, with no setting.
fn every_call_works_on(line: Line) -> LineServer {
    let server = LineServer::start(line);
    let c = client(&[&server], ServerApi::Auto);
    c.add_naming_instance("svc", "10.0.0.1", 8080)
        .cluster_name("c1")
        .metadata([("k", "v")])
        .heartbeat(false)
        .send()
        .unwrap();
    c.add_naming_instance("svc", "10.0.0.2", 8080)
        .heartbeat(false)
        .send()
        .unwrap();
    let all = c.list_naming_instance("svc").send().unwrap();
    assert_eq!(all.hosts.len(), 2, "{line:?}: {all:?}");
    let c1 = c
        .list_naming_instance("svc")
        .clusters(["c1"])
        .send()
        .unwrap();
    assert_eq!(c1.hosts.len(), 1, "{line:?}");
    assert_eq!(c1.hosts[0].ip, "10.0.0.1");
    let got = c
        .get_naming_instance("svc", "10.0.0.1", 8080)
        .cluster_name("c1")
        .send()
        .unwrap();
    assert_eq!(got.metadata["k"], "v", "{line:?}");
    c.modify_naming_instance("svc", "10.0.0.1", 8080)
        .cluster_name("c1")
        .weight(3.0)
        .send()
        .unwrap();
    let stored = server.holds("svc", "10.0.0.1", 8080).unwrap();
    assert_eq!(stored.weight, 3.0, "{line:?}");
    assert_eq!(
        stored.metadata["k"], "v",
        "{line:?}: modify kept the metadata"
    );
    let beat = c.send_heartbeat("svc", "10.0.0.2", 8080).send().unwrap();
    assert!(!beat.instance_not_found(), "{line:?}");
    let lost = c.send_heartbeat("svc", "10.9.9.9", 1).send().unwrap();
    assert!(lost.instance_not_found(), "{line:?}: {lost:?}");
    c.remove_naming_instance("svc", "10.0.0.2", 8080)
        .send()
        .unwrap();
    assert!(server.holds("svc", "10.0.0.2", 8080).is_none());
    server
}

/// Nacos 2.x: V1 throughout, and not one request more than V1 needs.
#[test]
fn nacos_2_is_spoken_to_in_v1_alone() {
    let server = every_call_works_on(Line::Nacos2);
    assert!(
        server.requests().iter().all(|r| r.contains("/nacos/v1/")),
        "{:?}",
        server.requests()
    );
    let c = client(&[&server], ServerApi::Auto);
    assert_eq!(c.list_services().send().unwrap().services, ["svc"]);
}

/// Nacos 3.1: V1 for the open calls; get and modify move to the v3 client API after the first
/// 410, once per server.
#[test]
fn nacos_3_1_answers_get_and_modify_through_the_v3_client_api() {
    let server = every_call_works_on(Line::Nacos31);
    let gone: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r == "GET /nacos/v1/ns/instance" || r == "PUT /nacos/v1/ns/instance")
        .collect();
    assert_eq!(
        gone,
        ["GET /nacos/v1/ns/instance"],
        "one 410, then remembered"
    );
    let c = client(&[&server], ServerApi::Auto);
    assert_eq!(c.list_services().send().unwrap().services, ["svc"]);
}

/// Nacos 3.2: the first V1 404 moves the server to v3, once; the service list, which needs the
/// admin API, fails with an error naming the server line.
#[test]
fn nacos_3_2_is_learnt_from_one_404_and_spoken_to_in_v3() {
    let server = every_call_works_on(Line::Nacos32);
    let v1: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.contains("/nacos/v1/"))
        .collect();
    assert_eq!(
        v1,
        ["POST /nacos/v1/ns/instance"],
        "one 404, then remembered"
    );
    let c = client(&[&server], ServerApi::Auto);
    c.list_naming_instance("svc").send().unwrap();
    let e = c.list_services().send().unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("Nacos 3.2+") && text.contains("admin") && text.contains(&server.address()),
        "{text}"
    );
}

/// v3 lists are filtered by health and by several clusters on the client.
#[test]
fn v3_lists_apply_health_and_clusters_on_the_client() {
    let server = LineServer::start(Line::Nacos32);
    let c = client(&[&server], ServerApi::V3);
    for (ip, cluster, healthy) in [
        ("10.0.0.1", "a", true),
        ("10.0.0.2", "b", false),
        ("10.0.0.3", "c", true),
    ] {
        c.add_naming_instance("svc", ip, 1)
            .cluster_name(cluster)
            .healthy(healthy)
            .heartbeat(false)
            .send()
            .unwrap();
    }
    let ab = c
        .list_naming_instance("svc")
        .clusters(["a", "b"])
        .send()
        .unwrap();
    let mut ips: Vec<&str> = ab.hosts.iter().map(|h| h.ip.as_str()).collect();
    ips.sort();
    assert_eq!(ips, ["10.0.0.1", "10.0.0.2"]);
    let healthy = c
        .list_naming_instance("svc")
        .healthy_only(true)
        .send()
        .unwrap();
    assert_eq!(healthy.hosts.len(), 2);
    assert!(healthy.hosts.iter().all(|h| h.healthy));
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.contains("/list"))
            .count(),
        2
    );
}

/// On 3.1, a list of every cluster goes through V1 (complete); pinned to v3 it is refused
/// with the reason, never answered with DEFAULT alone as if complete; named clusters work.
#[test]
fn a_partial_v3_list_is_an_error_not_an_answer() {
    let server = LineServer::start(Line::Nacos31);
    let auto = client(&[&server], ServerApi::Auto);
    auto.add_naming_instance("svc", "10.0.0.1", 1)
        .cluster_name("c1")
        .heartbeat(false)
        .send()
        .unwrap();
    assert_eq!(
        auto.list_naming_instance("svc").send().unwrap().hosts.len(),
        1
    );
    let v3 = client(&[&server], ServerApi::V3);
    let e = v3.list_naming_instance("svc").send().unwrap_err();
    assert!(e.to_string().contains("Nacos 3.0–3.1"), "{e}");
    let named = v3
        .list_naming_instance("svc")
        .clusters(["c1", "DEFAULT"])
        .send()
        .unwrap();
    assert_eq!(named.hosts.len(), 1);
}

/// A server upgraded in place (same port, now 3.2) is looked at again and the call repeated:
/// the caller sees no error.
#[test]
fn an_upgraded_server_is_probed_again_without_an_error() {
    let server = LineServer::start(Line::Nacos2);
    let c = client(&[&server], ServerApi::Auto);
    c.add_naming_instance("svc", "10.0.0.1", 1)
        .heartbeat(false)
        .send()
        .unwrap();
    server.restart_as(Line::Nacos32);
    server.forget_requests();
    c.add_naming_instance("svc", "10.0.0.1", 1)
        .heartbeat(false)
        .send()
        .unwrap();
    assert_eq!(c.list_naming_instance("svc").send().unwrap().hosts.len(), 1);
    assert_eq!(
        server.requests(),
        [
            "POST /nacos/v1/ns/instance",
            "POST /nacos/v3/client/ns/instance",
            "GET /nacos/v3/client/ns/instance/list"
        ]
    );
    // And back, should the upgrade be rolled back.
    server.restart_as(Line::Nacos2);
    c.add_naming_instance("svc", "10.0.0.1", 1)
        .heartbeat(false)
        .send()
        .unwrap();
    assert!(server.holds("svc", "10.0.0.1", 1).is_some());
}

/// Pinned to V1, a 3.2 server's 404 is the caller's error: nothing is switched.
#[test]
fn a_pinned_v1_client_never_switches() {
    let server = LineServer::start(Line::Nacos32);
    let c = client(&[&server], ServerApi::V1);
    let e = c
        .add_naming_instance("svc", "10.0.0.1", 1)
        .heartbeat(false)
        .send()
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(server.requests().iter().all(|r| r.contains("/nacos/v1/")));
}

/// `probe_servers` tells each server's API and version apart.
#[test]
fn probing_names_each_servers_api_and_version() {
    let (a, b, d) = (
        LineServer::start(Line::Nacos2),
        LineServer::start(Line::Nacos31),
        LineServer::start(Line::Nacos32),
    );
    let c = client(&[&a, &b, &d], ServerApi::Auto);
    let reports = c.probe_servers();
    let seen: Vec<(String, String, Option<String>)> = reports
        .iter()
        .map(|r| (r.server.clone(), r.api.clone(), r.version.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (a.address(), "V1".into(), Some("2.4.3".into())),
            (b.address(), "V1 + v3 client".into(), Some("3.1.0".into())),
            (d.address(), "v3 client".into(), Some("3.2.0".into())),
        ]
    );
    assert!(reports.iter().all(|r| r.answered && r.round_trip.is_some()));
}

/// Three servers of one cluster on 2.x under calls, beats and a subscription, each restarted
/// on 3.2 in turn: no call fails, nothing registered is lost, and the subscriber sees exactly
/// the changes made, in order.
#[test]
fn a_rolling_upgrade_loses_nothing() {
    let servers = LineServer::cluster(Line::Nacos2);
    let refs: Vec<&LineServer> = servers.iter().collect();
    let c = client(&refs, ServerApi::Auto);
    // Registered before subscribing, so the first event already lists it.
    c.add_naming_instance("svc", "10.0.0.1", 1).send().unwrap();
    let events = IpsSeen::subscribe(&c, "svc");
    let seen = |want: &[&str]| events.wait_for(want);
    seen(&["10.0.0.1"]);
    let changes: [(&str, &[&str]); 3] = [
        ("10.0.0.2", &["10.0.0.1", "10.0.0.2"]),
        ("10.0.0.3", &["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
        (
            "10.0.0.4",
            &["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"],
        ),
    ];
    let calls = || {
        for _ in 0..10 {
            c.list_naming_instance("svc").send().unwrap();
            c.send_heartbeat("svc", "10.0.0.1", 1).send().unwrap();
            c.get_naming_instance("svc", "10.0.0.1", 1).send().unwrap();
        }
    };
    for (server, (ip, after)) in servers.iter().zip(changes) {
        server.set_down(true);
        calls();
        server.switch_line(Line::Nacos32);
        server.set_down(false);
        calls();
        c.add_naming_instance("svc", ip, 1).send().unwrap();
        seen(after);
        // The next server's restart sends the client here, on the new line.
    }
    c.remove_naming_instance("svc", "10.0.0.2", 1)
        .send()
        .unwrap();
    seen(&["10.0.0.1", "10.0.0.3", "10.0.0.4"]);
    let got = events.all();
    let want: Vec<Vec<&str>> = vec![
        vec!["10.0.0.1"],
        vec!["10.0.0.1", "10.0.0.2"],
        vec!["10.0.0.1", "10.0.0.2", "10.0.0.3"],
        vec!["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"],
        vec!["10.0.0.1", "10.0.0.3", "10.0.0.4"],
    ];
    assert_eq!(got, want, "exactly the changes made, in order");
    let v3_calls = servers
        .iter()
        .filter(|s| s.requests().iter().any(|r| r.contains("/nacos/v3/client/")))
        .count();
    // The last restart sends the client to an upgraded server, whichever it was on.
    assert!(
        v3_calls >= 1,
        "the client moved to v3 on the upgraded servers it used: {:?}",
        servers.iter().map(|s| s.requests()).collect::<Vec<_>>()
    );
}
