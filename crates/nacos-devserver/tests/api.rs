//! The V1 open API, call by call, over HTTP against a server on 127.0.0.1:0.

mod common;

use std::time::Duration;

use common::Api;
use nacos_devserver::{DevServer, NacosVersion};

const INSTANCE: &str = "/nacos/v1/ns/instance";
const LIST: &str = "/nacos/v1/ns/instance/list";
const BEAT: &str = "/nacos/v1/ns/instance/beat";
const SERVICE: &str = "/nacos/v1/ns/service";
const SERVICES: &str = "/nacos/v1/ns/service/list";

/// Register, get, modify and deregister one instance with the seed's parameters.
#[test]
fn instance_round_trip() {
    let api = Api::start();
    api.register(
        "user-service",
        "192.168.1.100",
        8080,
        &[
            ("clusterName", "production"),
            ("weight", "1.5"),
            ("metadata", r#"{"version":"1.0.0","n":3}"#),
            ("groupName", "microservices"),
            ("ephemeral", "True"),
            ("enable", "true"),
            ("healthy", "true"),
        ],
    );
    let get = [
        ("serviceName", "user-service"),
        ("ip", "192.168.1.100"),
        ("port", "8080"),
        ("clusterName", "production"),
        ("groupName", "microservices"),
    ];
    let instance = api.json("GET", INSTANCE, &get);
    assert_eq!(instance["ip"], "192.168.1.100");
    assert_eq!(instance["port"], 8080);
    assert_eq!(instance["weight"], 1.5);
    assert_eq!(instance["clusterName"], "production");
    assert_eq!(instance["serviceName"], "microservices@@user-service");
    assert_eq!(
        instance["instanceId"],
        "192.168.1.100#8080#production#microservices@@user-service"
    );
    assert_eq!(instance["metadata"]["version"], "1.0.0");
    assert_eq!(instance["metadata"]["n"], "3");

    // Modify replaces weight and enabled and lays its metadata over the registration's
    // (official 2.x, the default line).
    api.ok(
        "PUT",
        INSTANCE,
        &[
            ("serviceName", "microservices@@user-service"),
            ("ip", "192.168.1.100"),
            ("port", "8080"),
            ("clusterName", "production"),
            ("weight", "2.0"),
            ("metadata", "status=updated"),
            ("enabled", "false"),
        ],
    );
    let instance = api.json("GET", INSTANCE, &get);
    assert_eq!(instance["weight"], 2.0);
    assert_eq!(instance["enabled"], false);
    assert_eq!(
        instance["metadata"],
        serde_json::json!({"version": "1.0.0", "n": "3", "status": "updated"})
    );
    let listed = api.list("user-service", &[("groupName", "microservices")]);
    assert!(listed.hosts.is_empty(), "a disabled instance is not listed");

    api.ok(
        "DELETE",
        INSTANCE,
        &[
            ("serviceName", "user-service"),
            ("groupName", "microservices"),
            ("ip", "192.168.1.100"),
            ("port", "8080"),
            ("clusterName", "production"),
            ("ephemeral", "true"),
        ],
    );
    assert_eq!(api.call("GET", INSTANCE, &get).0, 404);
    // Removing an unknown instance answers ok, as official servers do.
    api.ok(
        "DELETE",
        INSTANCE,
        &[("serviceName", "nothing"), ("ip", "1.1.1.1"), ("port", "1")],
    );
}

/// Parameters sent as a form body work like query parameters.
#[test]
fn form_body_parameters() {
    let api = Api::start();
    let (status, body) = api.form(
        "POST",
        INSTANCE,
        &[
            ("serviceName", "svc"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
            ("metadata", "a=1,b=2"),
        ],
    );
    assert_eq!((status, body.as_str()), (200, "ok"));
    let listed = api.list("svc", &[]);
    assert_eq!(listed.hosts.len(), 1);
    assert_eq!(listed.hosts[0].metadata["b"], "2");
}

/// The list answer: official 2.x shape, cluster filter, healthyOnly default false, cacheMillis.
#[test]
fn list_filters_and_shape() {
    let api = Api::start();
    api.register("svc", "10.0.0.1", 80, &[("clusterName", "A")]);
    api.register(
        "svc",
        "10.0.0.2",
        80,
        &[("clusterName", "B"), ("healthy", "false")],
    );
    api.register("svc", "10.0.0.3", 80, &[("clusterName", "C")]);
    api.register(
        "svc",
        "10.0.0.4",
        80,
        &[("clusterName", "A"), ("enabled", "false")],
    );

    let raw = api.json("GET", LIST, &[("serviceName", "svc")]);
    assert_eq!(raw["name"], "DEFAULT_GROUP@@svc");
    assert_eq!(raw["groupName"], "DEFAULT_GROUP");
    assert_eq!(raw["cacheMillis"], 3000);
    assert!(raw["lastRefTime"].as_i64().unwrap() > 0);
    assert_eq!(raw["checksum"].as_str().unwrap().len(), 32);
    assert_eq!(raw["reachProtectionThreshold"], false);

    let all = api.list("svc", &[]);
    let ips: Vec<_> = all.hosts.iter().map(|h| h.ip.as_str()).collect();
    assert_eq!(
        ips,
        ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
        "unhealthy listed, disabled not"
    );
    let healthy = api.list("svc", &[("healthyOnly", "true")]);
    assert_eq!(healthy.hosts.len(), 2);
    let some = api.list("svc", &[("clusters", "A,B")]);
    assert_eq!(some.clusters, "A,B");
    let clusters: Vec<_> = some.hosts.iter().map(|h| h.cluster_name.as_str()).collect();
    assert_eq!(clusters, ["A", "B"]);
    assert!(api.list("svc", &[("clusters", "Z")]).hosts.is_empty());

    // Listing with udpPort asks for push: the answer may be cached longer.
    let pushed = api.list("svc", &[("udpPort", "9"), ("clientIP", "127.0.0.1")]);
    assert_eq!(pushed.cache_millis, 10_000);
    // An unknown service lists empty, not 404.
    assert!(api.list("unknown", &[]).hosts.is_empty());
}

/// Groups, grouped names and namespaces keep services apart.
#[test]
fn groups_and_namespaces() {
    let api = Api::start();
    api.register("svc", "10.0.0.1", 80, &[]);
    api.register("svc", "10.0.0.2", 80, &[("groupName", "G1")]);
    api.register("G1@@svc", "10.0.0.3", 80, &[]);
    api.register("svc", "10.0.0.4", 80, &[("namespaceId", "dev")]);
    assert_eq!(api.list("svc", &[]).hosts.len(), 1);
    assert_eq!(api.list("svc", &[("groupName", "G1")]).hosts.len(), 2);
    assert_eq!(
        api.list("G1@@svc", &[("groupName", "ignored")]).hosts.len(),
        2
    );
    let dev = api.list("svc", &[("namespaceId", "dev")]);
    assert_eq!(dev.hosts.len(), 1);
    assert_eq!(dev.hosts[0].ip, "10.0.0.4");
}

/// The protection threshold returns every instance, marked healthy, below the healthy share.
#[test]
fn protection_threshold() {
    let api = Api::start();
    api.register("svc", "10.0.0.1", 80, &[("healthy", "false")]);
    api.register("svc", "10.0.0.2", 80, &[("healthy", "false")]);
    // Threshold 0 and all unhealthy: all returned as healthy (official 1.4 and rnacos agree).
    let listed = api.list("svc", &[("healthyOnly", "true")]);
    assert!(listed.reach_protection_threshold);
    assert_eq!(listed.hosts.len(), 2);
    assert!(listed.hosts.iter().all(|h| h.healthy));

    api.register("svc", "10.0.0.3", 80, &[]);
    assert_eq!(api.list("svc", &[("healthyOnly", "true")]).hosts.len(), 1);
    api.ok(
        "PUT",
        SERVICE,
        &[("serviceName", "svc"), ("protectThreshold", "0.5")],
    );
    let listed = api.list("svc", &[("healthyOnly", "true")]);
    assert!(listed.reach_protection_threshold);
    assert_eq!(listed.hosts.len(), 3);
}

/// Service definitions: create, get, update, list with paging, delete.
#[test]
fn service_definitions() {
    let api = Api::start();
    let create = [
        ("serviceName", "orders"),
        ("groupName", "G"),
        ("protectThreshold", "0.3"),
        ("metadata", r#"{"owner":"team-a"}"#),
    ];
    api.ok("POST", SERVICE, &create);
    let (status, body) = api.call("POST", SERVICE, &create);
    assert_eq!(status, 400);
    assert!(body.contains("already exists"), "{body}");
    let detail = api.json(
        "GET",
        SERVICE,
        &[("serviceName", "orders"), ("groupName", "G")],
    );
    assert_eq!(detail["name"], "orders");
    assert_eq!(detail["groupName"], "G");
    assert_eq!(detail["namespaceId"], "public");
    assert!((detail["protectThreshold"].as_f64().unwrap() - 0.3).abs() < 1e-6);
    assert_eq!(detail["metadata"]["owner"], "team-a");
    api.ok(
        "PUT",
        SERVICE,
        &[("serviceName", "G@@orders"), ("metadata", "owner=team-b")],
    );
    let detail = api.json("GET", SERVICE, &[("serviceName", "G@@orders")]);
    assert_eq!(detail["metadata"]["owner"], "team-b");
    assert_eq!(
        detail["protectThreshold"], 0.0,
        "update replaces the threshold too"
    );

    for name in ["c", "a", "b"] {
        api.register(name, "10.0.0.1", 80, &[("groupName", "G")]);
    }
    let page = |no: &str, size: &str| {
        api.json(
            "GET",
            SERVICES,
            &[("pageNo", no), ("pageSize", size), ("groupName", "G")],
        )
    };
    assert_eq!(
        page("1", "2"),
        serde_json::json!({"count": 4, "doms": ["a", "b"]})
    );
    assert_eq!(
        page("2", "2"),
        serde_json::json!({"count": 4, "doms": ["c", "orders"]})
    );
    assert_eq!(page("3", "2")["doms"], serde_json::json!([]));
    let default_group = api.json("GET", SERVICES, &[]);
    assert_eq!(default_group, serde_json::json!({"count": 0, "doms": []}));

    let (status, body) = api.call("DELETE", SERVICE, &[("serviceName", "G@@a")]);
    assert_eq!(status, 400);
    assert!(body.contains("not empty"), "{body}");
    api.ok("DELETE", SERVICE, &[("serviceName", "G@@orders")]);
    assert_eq!(
        api.call("GET", SERVICE, &[("serviceName", "G@@orders")]).0,
        404
    );
    assert_eq!(page("1", "10")["count"], 3);
}

/// Every missing or bad parameter answers 400 with a text naming it.
#[test]
fn bad_parameters_are_400_naming_the_parameter() {
    let api = Api::start();
    let base = [("serviceName", "svc"), ("ip", "10.0.0.1"), ("port", "80")];
    let with = |name: &str, value: &'static str| {
        let mut p: Vec<(&str, &str)> = base.iter().copied().filter(|(k, _)| *k != name).collect();
        if !value.is_empty() {
            p.push((Box::leak(name.to_owned().into_boxed_str()), value));
        }
        p
    };
    // (method, path, parameters, the parameter the answer must name)
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        ("POST", INSTANCE, with("serviceName", ""), "serviceName"),
        ("POST", INSTANCE, with("ip", ""), "ip"),
        ("POST", INSTANCE, with("port", ""), "port"),
        ("POST", INSTANCE, with("port", "65536"), "port"),
        ("POST", INSTANCE, with("ip", "not an ip"), "ip"),
        ("POST", INSTANCE, with("weight", "10001"), "weight"),
        ("POST", INSTANCE, with("weight", "-1"), "weight"),
        ("POST", INSTANCE, with("weight", "abc"), "weight"),
        ("POST", INSTANCE, with("metadata", "novalue"), "metadata"),
        ("POST", INSTANCE, with("metadata", "{bad json"), "metadata"),
        (
            "POST",
            INSTANCE,
            with("clusterName", "bad_name"),
            "clusterName",
        ),
        ("POST", INSTANCE, with("ephemeral", "maybe"), "ephemeral"),
        ("POST", INSTANCE, with("groupName", "a@@b"), "groupName"),
        (
            "POST",
            INSTANCE,
            with("serviceName", "a@@b@@c"),
            "serviceName",
        ),
        ("PUT", INSTANCE, with("weight", "NaN"), "weight"),
        ("DELETE", INSTANCE, with("ip", ""), "ip"),
        ("GET", INSTANCE, with("port", "x"), "port"),
        ("GET", LIST, vec![], "serviceName"),
        (
            "GET",
            LIST,
            vec![("serviceName", "svc"), ("healthyOnly", "1")],
            "healthyOnly",
        ),
        (
            "GET",
            LIST,
            vec![("serviceName", "svc"), ("udpPort", "-3")],
            "udpPort",
        ),
        (
            "GET",
            LIST,
            vec![("serviceName", "svc"), ("udpPort", "9"), ("clientIP", "x")],
            "clientIP",
        ),
        (
            "PUT",
            BEAT,
            vec![("serviceName", "svc"), ("beat", "{")],
            "beat",
        ),
        (
            "PUT",
            BEAT,
            vec![("serviceName", "svc"), ("beat", r#"{"ip":"1.1.1.1"}"#)],
            "beat",
        ),
        (
            "PUT",
            BEAT,
            vec![("serviceName", "svc"), ("port", "80")],
            "ip",
        ),
        (
            "POST",
            SERVICE,
            vec![("serviceName", "s"), ("protectThreshold", "2")],
            "protectThreshold",
        ),
        ("GET", SERVICES, vec![("pageNo", "0")], "pageNo"),
        ("GET", SERVICES, vec![("pageSize", "x")], "pageSize"),
        ("GET", SERVICE, vec![], "serviceName"),
    ];
    for (method, path, params, param) in cases {
        let (status, body) = api.call(method, path, &params);
        assert_eq!(status, 400, "{method} {path} {params:?}: {body}");
        assert!(
            body.contains(&format!("'{param}'")),
            "{method} {path} {params:?}: {body}"
        );
    }
    let (_, body) = api.call("POST", INSTANCE, &with("ip", ""));
    assert_eq!(body, "caused: Param 'ip' is required.;");
}

/// Unknown instances, services and paths answer 404; a known path with the wrong method 405.
#[test]
fn unknown_resources_are_404() {
    let api = Api::start();
    api.register("svc", "10.0.0.1", 80, &[]);
    let (status, body) = api.call(
        "GET",
        INSTANCE,
        &[("serviceName", "svc"), ("ip", "10.0.0.1"), ("port", "81")],
    );
    assert_eq!(
        (status, body.as_str()),
        (404, "caused: no matched ip found!;")
    );
    // A get matches the cluster too, on every line.
    let (status, _) = api.call(
        "GET",
        INSTANCE,
        &[
            ("serviceName", "svc"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
            ("clusterName", "X"),
        ],
    );
    assert_eq!(status, 404);
    let (status, body) = api.call(
        "GET",
        INSTANCE,
        &[("serviceName", "none"), ("ip", "10.0.0.1"), ("port", "80")],
    );
    assert_eq!(status, 404);
    assert!(body.contains("DEFAULT_GROUP@@none"), "{body}");
    // 2.x: a modify needs the service only (it changes nothing of an address the service
    // lacks); 1.4 needs the instance.
    let modify = [("serviceName", "svc"), ("ip", "10.0.0.9"), ("port", "80")];
    assert_eq!(api.call("PUT", INSTANCE, &modify), (200, "ok".to_owned()));
    let (status, body) = api.call(
        "PUT",
        INSTANCE,
        &[("serviceName", "none"), ("ip", "10.0.0.9"), ("port", "80")],
    );
    assert_eq!(status, 400);
    assert!(body.contains("service not found"), "{body}");
    let v1_4 = Api::with(DevServer::builder().nacos_version(NacosVersion::V1_4));
    v1_4.register("svc", "10.0.0.1", 80, &[]);
    assert_eq!(v1_4.call("PUT", INSTANCE, &modify).0, 404);
    for method in ["GET", "PUT", "DELETE"] {
        assert_eq!(api.call(method, SERVICE, &[("serviceName", "none")]).0, 404);
    }
    assert_eq!(api.call("GET", "/nacos/v1/ns/nothing", &[]).0, 404);
    assert_eq!(api.call("DELETE", LIST, &[]).0, 405);
}

/// The liveness and readiness probes of official Nacos answer OK.
#[test]
fn health_probes() {
    let api = Api::start();
    for path in [
        "/nacos/v1/console/health/liveness",
        "/nacos/v1/console/health/readiness",
    ] {
        assert_eq!(api.call("GET", path, &[]), (200, "OK".to_owned()));
    }
}

/// Hostile input (huge bodies, odd bytes, every route) never breaks the server.
#[test]
fn hostile_input_is_refused_cleanly() {
    let api = Api::start();
    assert_eq!(oversized_body_status(&api), "413");
    let long = "s".repeat(600);
    let values = [
        "",
        " ",
        "%",
        "\u{0}",
        "💥",
        "@@",
        "{}",
        "[",
        "-0",
        "1e400",
        "99999999999999999999",
        &long,
    ];
    let names = [
        "serviceName",
        "ip",
        "port",
        "weight",
        "metadata",
        "clusterName",
        "clusters",
        "beat",
        "healthyOnly",
        "udpPort",
        "clientIP",
        "pageNo",
        "pageSize",
        "protectThreshold",
        "namespaceId",
        "groupName",
        "enabled",
    ];
    let paths = [INSTANCE, LIST, BEAT, SERVICE, SERVICES];
    for path in paths {
        for method in ["GET", "POST", "PUT", "DELETE"] {
            for name in names {
                for value in values {
                    let params = [
                        ("serviceName", "svc"),
                        ("ip", "10.0.0.1"),
                        ("port", "80"),
                        (name, value),
                    ];
                    let (status, body) = api.call(method, path, &params);
                    assert!(
                        status < 500,
                        "{method} {path} {name}={value:?}: {status} {body}"
                    );
                }
            }
        }
    }
    assert_eq!(
        api.call("GET", "/nacos/v1/console/health/liveness", &[]).0,
        200
    );
}

/// Sends the head of a 2 MiB form and a little more than the 1 MiB the server reads; the status
/// it answers.
fn oversized_body_status(api: &Api) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(api.server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST {INSTANCE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        2 << 20
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..17 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut answer = vec![0u8; 512];
    let n = stream.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_string();
    answer.split(' ').nth(1).unwrap_or_default().to_owned()
}

/// A caller-owned listener, explicit shutdown, and a drop inside an async context.
#[test]
fn lifecycle() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = DevServer::builder().listener(listener).start().unwrap();
    assert_eq!(server.addr(), addr);
    let api = Api::on(server);
    api.register("svc", "10.0.0.1", 80, &[]);
    api.server.push_addr().expect("push is on by default");
    let Api { server, .. } = api;
    server.shutdown().unwrap();
    let refused = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500));
    assert!(refused.is_err(), "the listener is closed after shutdown");

    let server = DevServer::builder().push(false).start().unwrap();
    assert!(server.push_addr().is_none());
    let addr = server.addr();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async move { drop(server) });
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}
