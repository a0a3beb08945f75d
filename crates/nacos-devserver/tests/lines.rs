//! Each official server line, over HTTP: 1.4 and 2.x instance identity, the 3.1 and 3.2 doors
//! (410 and 404 bodies), the v3 client API and its envelope, the v3 login.

mod common;

use common::Api;
use nacos_devserver::{DevServer, NacosVersion};
use serde_json::{json, Value};

const INSTANCE: &str = "/nacos/v1/ns/instance";
const BEAT: &str = "/nacos/v1/ns/instance/beat";
const V3_INSTANCE: &str = "/nacos/v3/client/ns/instance";
const V3_LIST: &str = "/nacos/v3/client/ns/instance/list";
const V3_LOGIN: &str = "/nacos/v3/auth/user/login";

fn line(version: NacosVersion) -> Api {
    Api::with(DevServer::builder().nacos_version(version))
}

/// `(cluster, ip, port)` of every listed host.
fn places(api: &Api, service: &str) -> Vec<(String, String, u16)> {
    let mut places: Vec<_> = api
        .list(service, &[])
        .hosts
        .into_iter()
        .map(|h| (h.cluster_name, h.ip, h.port))
        .collect();
    places.sort();
    places
}

fn place(cluster: &str, ip: &str, port: u16) -> (String, String, u16) {
    (cluster.to_owned(), ip.to_owned(), port)
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// 1.4: the same ip:port may sit in two clusters; a deregister names the cluster.
#[test]
fn v1_4_keeps_an_instance_per_cluster() {
    let api = line(NacosVersion::V1_4);
    api.register("svc", "10.0.0.1", 80, &[("clusterName", "A")]);
    api.register("svc", "10.0.0.1", 80, &[("clusterName", "B")]);
    assert_eq!(
        places(&api, "svc"),
        [place("A", "10.0.0.1", 80), place("B", "10.0.0.1", 80)]
    );
    // A light beat without the cluster looks in DEFAULT only.
    assert_eq!(api.beat("svc", "10.0.0.1", 80), 20404);
    let deregister = [("serviceName", "svc"), ("ip", "10.0.0.1"), ("port", "80")];
    api.ok("DELETE", INSTANCE, &deregister);
    assert_eq!(
        places(&api, "svc").len(),
        2,
        "DEFAULT held nothing to remove"
    );
}

/// 2.x and 3.x: a service holds ephemeral or persistent instances, fixed by its first
/// registration; the other kind is refused as `EphemeralClientOperationServiceImpl` and
/// `PersistentClientOperationServiceImpl` refuse it (a `NacosRuntimeException` of code 400,
/// whose message is the V1 body and, on the v3 API, the envelope's data with code 30000).
/// 1.4 holds both.
#[test]
fn one_kind_of_instance_per_service_from_2_x() {
    let persistent = [
        ("serviceName", "svc"),
        ("ip", "10.0.0.2"),
        ("port", "80"),
        ("ephemeral", "false"),
    ];
    for version in [NacosVersion::V2, NacosVersion::V3_1] {
        let api = line(version);
        api.register("svc", "10.0.0.1", 80, &[]);
        let (status, body) = api.call("POST", INSTANCE, &persistent);
        assert_eq!(
            (status, body.as_str()),
            (
                400,
                "errCode: 400, errMsg: Current service DEFAULT_GROUP@@svc is ephemeral service, \
                 can't register persistent instance. "
            ),
            "{version:?}"
        );
        // A persistent service refuses an ephemeral instance, on the v3 API too.
        api.register("kept", "10.0.0.1", 80, &[("ephemeral", "false")]);
        let ephemeral = [("serviceName", "kept"), ("ip", "10.0.0.2"), ("port", "80")];
        let refusal = "errCode: 400, errMsg: Current service DEFAULT_GROUP@@kept is persistent \
                       service, can't register ephemeral instance. ";
        assert_eq!(
            api.call("POST", INSTANCE, &ephemeral),
            (400, refusal.into())
        );
        if version == NacosVersion::V3_1 {
            let (status, body) = api.call("POST", V3_INSTANCE, &ephemeral);
            assert_eq!(status, 400, "{body}");
            let answer = parse(&body);
            assert_eq!(
                answer,
                json!({"code": 30000, "message": "server error", "data": refusal})
            );
        }
        assert_eq!(places(&api, "svc").len(), 1, "nothing was added");
        assert_eq!(places(&api, "kept").len(), 1, "nothing was added");
    }
    let old = line(NacosVersion::V1_4);
    old.register("svc", "10.0.0.1", 80, &[]);
    old.ok("POST", INSTANCE, &persistent);
    assert_eq!(places(&old, "svc").len(), 2, "1.4 holds both kinds");
}

/// 3.0–3.1 still push to V1 subscribers over UDP (`PushExecutorUdpImpl` is in 3.0.3); 3.2
/// removed UDP push, so no push socket is opened there.
#[test]
fn udp_push_ends_with_3_2() {
    for version in NacosVersion::ALL {
        let server = DevServer::builder().nacos_version(version).start().unwrap();
        assert_eq!(
            server.push_addr().is_some(),
            version != NacosVersion::V3_2,
            "{version:?}"
        );
    }
}

/// 2.x: one instance per (service, ip, port, ephemeral); the cluster is an attribute.
#[test]
fn v2_moves_an_instance_between_clusters() {
    let api = line(NacosVersion::V2);
    api.register("svc", "10.0.0.1", 80, &[("clusterName", "A")]);
    api.register("svc", "10.0.0.1", 80, &[("clusterName", "B")]);
    assert_eq!(places(&api, "svc"), [place("B", "10.0.0.1", 80)]);

    // A beat without the cluster finds it and creates no second instance.
    assert_eq!(api.beat("svc", "10.0.0.1", 80), 10200);
    let full_beat = json!({"serviceName": "DEFAULT_GROUP@@svc", "ip": "10.0.0.1", "port": 80,
        "cluster": "DEFAULT", "weight": 1.0, "ephemeral": true, "metadata": {}})
    .to_string();
    let (status, _) = api.call(
        "PUT",
        BEAT,
        &[("serviceName", "DEFAULT_GROUP@@svc"), ("beat", &full_beat)],
    );
    assert_eq!(status, 200);
    assert_eq!(places(&api, "svc"), [place("B", "10.0.0.1", 80)]);

    // A deregister without the cluster finds it.
    let deregister = [("serviceName", "svc"), ("ip", "10.0.0.1"), ("port", "80")];
    api.ok("DELETE", INSTANCE, &deregister);
    assert!(places(&api, "svc").is_empty());
}

/// 2.x modify: needs the service, answers ok for an instance it holds in another cluster (and
/// changes nothing there), lays its metadata over the registration's.
#[test]
fn v2_modify_rules() {
    let api = line(NacosVersion::V2);
    api.register(
        "svc",
        "10.0.0.1",
        80,
        &[
            ("clusterName", "A"),
            ("weight", "3"),
            ("metadata", r#"{"version":"1","zone":"a"}"#),
        ],
    );
    let get = [
        ("serviceName", "svc"),
        ("ip", "10.0.0.1"),
        ("port", "80"),
        ("clusterName", "A"),
    ];
    let modify = |extra: &[(&str, &str)]| {
        let mut params = vec![("serviceName", "svc"), ("ip", "10.0.0.1"), ("port", "80")];
        params.extend_from_slice(extra);
        api.call("PUT", INSTANCE, &params)
    };

    // Another cluster: ok, and the instance is as registered.
    let answer = modify(&[("clusterName", "other"), ("weight", "9")]);
    assert_eq!(answer, (200, "ok".to_owned()));
    assert_eq!(api.json("GET", INSTANCE, &get)["weight"], 3.0);

    // Its own cluster: weight set (1 when not sent), metadata laid over.
    let answer = modify(&[("clusterName", "A"), ("metadata", r#"{"zone":"b"}"#)]);
    assert_eq!(answer, (200, "ok".to_owned()));
    let got = api.json("GET", INSTANCE, &get);
    assert_eq!(got["weight"], 1.0);
    assert_eq!(got["metadata"], json!({"version": "1", "zone": "b"}));

    let (status, body) = api.call(
        "PUT",
        INSTANCE,
        &[
            ("serviceName", "unknown"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
        ],
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("service not found"), "{body}");
}

/// 3.1: the V1 open calls work; the admin-type ones answer the official 410 body.
#[test]
fn v3_1_refuses_v1_admin_calls_with_410() {
    let api = line(NacosVersion::V3_1);
    api.register("svc", "10.0.0.1", 80, &[]);
    assert_eq!(api.list("svc", &[]).hosts.len(), 1);
    assert_eq!(api.beat("svc", "10.0.0.1", 80), 10200);

    let params = [("serviceName", "svc"), ("ip", "10.0.0.1"), ("port", "80")];
    for (method, path, alternative) in [
        (
            "PUT",
            INSTANCE,
            "PUT ${contextPath:nacos}/v3/admin/ns/instance",
        ),
        (
            "GET",
            INSTANCE,
            "GET ${contextPath:nacos}/v3/admin/ns/instance",
        ),
        (
            "GET",
            "/nacos/v1/ns/service",
            "GET ${contextPath:nacos}/v3/admin/ns/service",
        ),
    ] {
        let (status, body) = api.call(method, path, &params);
        assert_eq!(status, 410, "{method} {path}: {body}");
        let page = parse(&body);
        assert_eq!(page["status"], 410);
        assert_eq!(page["error"], "Gone");
        assert_eq!(page["path"], path);
        let inner = parse(page["message"].as_str().unwrap());
        assert_eq!(inner["code"], 40000);
        let message = inner["message"].as_str().unwrap();
        assert!(
            message.starts_with("Current API will be deprecated, please use API(s) `"),
            "{message}"
        );
        assert!(message.contains(alternative), "{message}");
        assert!(
            message.contains("nacos.core.api.compatibility.admin.enabled=true"),
            "{message}"
        );
    }
    assert_eq!(
        api.call("GET", "/nacos/v1/ns/service/list", &[]).0,
        200,
        "the service list is an open call"
    );
}

/// 3.2: no V1 naming path but the operator metrics; the V1 logins stay.
#[test]
fn v3_2_answers_404_on_v1_naming_paths() {
    let api = line(NacosVersion::V3_2);
    let (status, body) = api.call("GET", "/nacos/v1/ns/instance/list", &[("serviceName", "s")]);
    assert_eq!(status, 404);
    let page = parse(&body);
    assert_eq!(
        page["message"],
        "No endpoint GET /nacos/v1/ns/instance/list."
    );
    assert_eq!(page["path"], "/nacos/v1/ns/instance/list");
    for (method, path) in [
        ("POST", INSTANCE),
        ("PUT", BEAT),
        ("GET", "/nacos/v1/ns/service/list"),
        ("GET", "/nacos/v1/console/server/state"),
    ] {
        assert_eq!(api.call(method, path, &[]).0, 404, "{method} {path}");
    }
    assert_eq!(
        api.call("GET", "/nacos/v1/ns/operator/metrics", &[]),
        (200, r#"{"status":"UP"}"#.to_owned())
    );
    let login = api.json(
        "POST",
        "/nacos/v1/auth/users/login",
        &[("username", "nacos"), ("password", "nacos")],
    );
    assert!(login["accessToken"].as_str().is_some_and(|t| !t.is_empty()));
}

/// The v3 client API on 3.1 and 3.2: register, list, renew, deregister in the envelope.
#[test]
fn v3_client_api_round_trip() {
    for version in [NacosVersion::V3_1, NacosVersion::V3_2] {
        let api = line(version);
        let register = [
            ("serviceName", "svc"),
            ("groupName", "G"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
            ("clusterName", "c1"),
            ("weight", "2.5"),
            ("metadata", "k=v,k2=v2"),
        ];
        let ok = json!({"code": 0, "message": "success", "data": "ok"});
        assert_eq!(api.json("POST", V3_INSTANCE, &register), ok, "{version}");

        let listed = api.json(
            "GET",
            V3_LIST,
            &[
                ("serviceName", "svc"),
                ("groupName", "G"),
                ("clusterName", "c1"),
            ],
        );
        assert_eq!(listed["code"], 0);
        let hosts = listed["data"].as_array().expect("a bare array");
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0]["serviceName"], "G@@svc");
        assert_eq!(hosts[0]["weight"], 2.5);
        assert_eq!(hosts[0]["metadata"], json!({"k": "v", "k2": "v2"}));

        // A blank clusterName: DEFAULT only on 3.1, every cluster on 3.2.
        let blank = api.json(
            "GET",
            V3_LIST,
            &[("serviceName", "svc"), ("groupName", "G")],
        );
        let expected = if version == NacosVersion::V3_1 { 0 } else { 1 };
        assert_eq!(
            blank["data"].as_array().unwrap().len(),
            expected,
            "{version}"
        );
        let unknown = api.json("GET", V3_LIST, &[("serviceName", "nothing")]);
        assert_eq!(unknown["data"], json!([]));

        // Renew: the cluster may be left out (2.x identity); an unknown instance is 21003
        // with HTTP 200.
        let renew = [
            ("serviceName", "svc"),
            ("groupName", "G"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
            ("heartBeat", "true"),
        ];
        assert_eq!(api.json("POST", V3_INSTANCE, &renew), ok);
        let unknown_renew = [
            ("serviceName", "svc"),
            ("groupName", "G"),
            ("ip", "10.0.0.9"),
            ("port", "80"),
            ("heartBeat", "true"),
        ];
        assert_eq!(
            api.json("POST", V3_INSTANCE, &unknown_renew),
            json!({"code": 21003, "message": "instance not found", "data": null})
        );

        let deregister = [
            ("serviceName", "svc"),
            ("groupName", "G"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
        ];
        assert_eq!(api.json("DELETE", V3_INSTANCE, &deregister), ok);
        assert_eq!(
            api.json("DELETE", V3_INSTANCE, &deregister),
            ok,
            "absent: ok"
        );
        let after = api.json(
            "GET",
            V3_LIST,
            &[("serviceName", "svc"), ("groupName", "G")],
        );
        assert_eq!(after["data"], json!([]));
    }
}

/// The v3 client API and the V1 API share one registry on 3.1.
#[test]
fn v3_and_v1_share_the_registry() {
    let api = line(NacosVersion::V3_1);
    api.register("svc", "10.0.0.1", 80, &[]);
    let listed = api.json("GET", V3_LIST, &[("serviceName", "svc")]);
    assert_eq!(listed["data"][0]["ip"], "10.0.0.1");
    let register = [("serviceName", "svc"), ("ip", "10.0.0.2"), ("port", "80")];
    api.json("POST", V3_INSTANCE, &register);
    assert_eq!(api.list("svc", &[]).hosts.len(), 2);
}

/// Bad parameters: 400 with code 10000 when missing, 21001 for a weight out of range, and
/// the binding refusal for one that does not parse (plain text on 3.1, code 20002 on 3.2).
#[test]
fn v3_bad_parameters() {
    for version in [NacosVersion::V3_1, NacosVersion::V3_2] {
        let api = line(version);
        let (status, body) = api.call("POST", V3_INSTANCE, &[("ip", "10.0.0.1"), ("port", "80")]);
        assert_eq!(status, 400);
        assert_eq!(
            parse(&body),
            json!({"code": 10000, "message": "parameter missing",
                "data": "Required parameter 'serviceName' type String is not present"})
        );
        let (status, body) = api.call("POST", V3_INSTANCE, &[("serviceName", "s"), ("ip", "h")]);
        assert_eq!((status, parse(&body)["code"].clone()), (400, json!(10000)));
        let (status, body) = api.call("GET", V3_LIST, &[]);
        assert_eq!((status, parse(&body)["code"].clone()), (400, json!(10000)));

        let heavy = [
            ("serviceName", "s"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
            ("weight", "10001"),
        ];
        let (status, body) = api.call("POST", V3_INSTANCE, &heavy);
        assert_eq!(status, 400);
        assert_eq!(parse(&body)["code"], 21001);

        let bad_port = [("serviceName", "s"), ("ip", "10.0.0.1"), ("port", "eighty")];
        let (status, body) = api.call("POST", V3_INSTANCE, &bad_port);
        assert_eq!(status, 400, "{body}");
        match version {
            NacosVersion::V3_2 => assert_eq!(parse(&body)["code"], 20002),
            _ => assert!(body.contains("port"), "{body}"),
        }
    }
}

/// The v3 login answers the V1 login's JSON and the token as `Authorization: Bearer`, which
/// then works as a token; wrong credentials in auth mode are refused.
#[test]
fn v3_login_and_bearer_token() {
    let server = DevServer::builder()
        .nacos_version(NacosVersion::V3_2)
        .auth("nacos", "secret")
        .start()
        .unwrap();
    let base = format!("http://{}", server.addr());
    let agent = common::agent();
    let mut answer = agent
        .post(&format!("{base}{V3_LOGIN}"))
        .send_form([("username", "nacos"), ("password", "secret")])
        .unwrap();
    assert_eq!(answer.status(), 200);
    let header = answer.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    let login = parse(&answer.body_mut().read_to_string().unwrap());
    let token = login["accessToken"].as_str().unwrap();
    assert_eq!(header, format!("Bearer {token}"));
    assert_eq!(login["tokenTtl"], 18000);
    assert_eq!(login["username"], "nacos");
    assert!(login.get("code").is_none(), "no envelope: {login}");

    let list = format!("{base}{V3_LIST}");
    let without = agent.get(&list).query("serviceName", "s").call().unwrap();
    assert_eq!(without.status(), 403);
    let with_bearer = agent
        .get(&list)
        .query("serviceName", "s")
        .header("Authorization", &header)
        .call()
        .unwrap();
    assert_eq!(with_bearer.status(), 200);
    let with_param = agent
        .get(&list)
        .query("serviceName", "s")
        .query("accessToken", token)
        .call()
        .unwrap();
    assert_eq!(with_param.status(), 200);

    let refused = agent
        .post(&format!("{base}{V3_LOGIN}"))
        .send_form([("username", "nacos"), ("password", "wrong")])
        .unwrap();
    assert_eq!(refused.status(), 403);
}

/// 2.x moves and cluster-less deregisters of persistent instances reach the data directory:
/// after a restart the instance is where it moved, or gone.
#[test]
fn v2_moves_persist() {
    let dir = tempfile::tempdir().unwrap();
    let start = || Api::with(DevServer::builder().data_dir(dir.path()));
    let persistent = |cluster: &'static str| [("clusterName", cluster), ("ephemeral", "false")];
    {
        let api = start();
        api.register("svc", "10.0.0.1", 80, &persistent("A"));
        api.register("svc", "10.0.0.1", 80, &persistent("B"));
        api.register("svc", "10.0.0.2", 80, &persistent("A"));
        let deregister = [
            ("serviceName", "svc"),
            ("ip", "10.0.0.2"),
            ("port", "80"),
            ("ephemeral", "false"),
        ];
        api.ok("DELETE", INSTANCE, &deregister);
    }
    let api = start();
    assert_eq!(places(&api, "svc"), [place("B", "10.0.0.1", 80)]);
}

/// Logs in over the v3 login; the token.
fn v3_token(api: &Api) -> String {
    let login = api.json(
        "POST",
        V3_LOGIN,
        &[("username", "nacos"), ("password", "nacos")],
    );
    login["accessToken"].as_str().unwrap().to_owned()
}

/// The v3 admin API: refused without a token on 3.x (even without auth mode), then instance
/// detail and update, the service list; the core state needs no token.
#[test]
fn v3_admin_api_needs_a_token() {
    for version in [NacosVersion::V3_1, NacosVersion::V3_2] {
        let api = line(version);
        let register = [
            ("serviceName", "svc"),
            ("groupName", "G"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
            ("clusterName", "c1"),
            ("metadata", r#"{"version":"1"}"#),
        ];
        api.json("POST", V3_INSTANCE, &register);
        let detail = [
            ("serviceName", "svc"),
            ("groupName", "G"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
            ("clusterName", "c1"),
        ];
        let (status, body) = api.call("GET", ADMIN_INSTANCE, &detail);
        assert_eq!(status, 403, "{version}: {body}");
        assert_eq!(parse(&body)["status"], 403);
        assert_eq!(api.call("GET", ADMIN_SERVICES, &[]).0, 403);
        assert_eq!(api.call("PUT", ADMIN_INSTANCE, &detail).0, 403);
        let (status, _) = api.call(
            "GET",
            ADMIN_INSTANCE,
            &with(&detail, "accessToken", "forged"),
        );
        assert_eq!(status, 403);

        let token = v3_token(&api);
        let got = api.json("GET", ADMIN_INSTANCE, &with(&detail, "accessToken", &token));
        assert_eq!(got["code"], 0);
        assert_eq!(got["data"]["ip"], "10.0.0.1");
        assert_eq!(got["data"]["clusterName"], "c1");

        // Update: the 2.x modify.
        let mut update = with(&detail, "accessToken", &token);
        update.extend([("weight", "4"), ("metadata", r#"{"zone":"z"}"#)]);
        assert_eq!(
            api.json("PUT", ADMIN_INSTANCE, &update),
            json!({"code": 0, "message": "success", "data": "ok"})
        );
        let got = api.json("GET", ADMIN_INSTANCE, &with(&detail, "accessToken", &token));
        assert_eq!(got["data"]["weight"], 4.0);
        assert_eq!(
            got["data"]["metadata"],
            json!({"version": "1", "zone": "z"})
        );

        // Unknown instance 404/20004; update of an unknown service 400/21004.
        let mut other = with(&detail, "accessToken", &token);
        other[2] = ("ip", "10.0.0.9");
        let (status, body) = api.call("GET", ADMIN_INSTANCE, &other);
        assert_eq!((status, parse(&body)["code"].clone()), (404, json!(20004)));
        other[0] = ("serviceName", "nothing");
        let (status, body) = api.call("PUT", ADMIN_INSTANCE, &other);
        assert_eq!((status, parse(&body)["code"].clone()), (400, json!(21004)));

        let services = api.json(
            "GET",
            ADMIN_SERVICES,
            &[("accessToken", token.as_str()), ("groupNameParam", "G")],
        );
        assert_eq!(services["data"]["totalCount"], 1);
        let item = &services["data"]["pageItems"][0];
        assert_eq!(item["name"], "svc");
        assert_eq!(item["groupName"], "G");
        assert_eq!(item["ipCount"], 1);
        assert_eq!(item["healthyInstanceCount"], 1);

        let state = api.json("GET", "/nacos/v3/admin/core/state", &[]);
        assert_eq!(state["code"], 0);
        assert!(state["data"]["version"].as_str().unwrap().starts_with('3'));
    }
}

/// The v3 admin instance register, list and deregister (`InstanceControllerV3`): a token
/// needed; the list names one cluster (DEFAULT when blank), holds disabled instances too,
/// filters by `healthyOnly`, and answers an unknown service or cluster with 404 and code 30000
/// (`CatalogServiceV2Impl.listInstances` throws a `NacosException` of code 404).
#[test]
fn v3_admin_instance_register_list_and_deregister() {
    for version in [NacosVersion::V3_1, NacosVersion::V3_2] {
        let api = line(version);
        let at = |ip: &'static str, cluster: &'static str| {
            vec![
                ("serviceName", "svc"),
                ("ip", ip),
                ("port", "80"),
                ("clusterName", cluster),
            ]
        };
        assert_eq!(
            api.call("POST", ADMIN_INSTANCE, &at("10.0.0.1", "c1")).0,
            403
        );
        let token = v3_token(&api);
        let ok = json!({"code": 0, "message": "success", "data": "ok"});
        for (ip, cluster, enabled, healthy) in [
            ("10.0.0.1", "c1", "true", "true"),
            ("10.0.0.2", "c1", "false", "true"),
            ("10.0.0.3", "c1", "true", "false"),
            ("10.0.0.4", "DEFAULT", "true", "true"),
        ] {
            let mut register = with(&at(ip, cluster), "accessToken", &token);
            register.extend([
                ("enabled", enabled),
                ("healthy", healthy),
                ("ephemeral", "false"),
            ]);
            assert_eq!(api.json("POST", ADMIN_INSTANCE, &register), ok, "{version}");
        }
        let list = |extra: &[(&'static str, &'static str)]| {
            let mut params = vec![("serviceName", "svc"), ("accessToken", token.as_str())];
            params.extend_from_slice(extra);
            let answer = api.json("GET", ADMIN_LIST, &params);
            assert_eq!(answer["code"], 0, "{answer}");
            let mut ips: Vec<String> = answer["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["ip"].as_str().unwrap().to_owned())
                .collect();
            ips.sort();
            ips
        };
        assert_eq!(list(&[]), ["10.0.0.4"], "DEFAULT when no cluster is named");
        assert_eq!(
            list(&[("clusterName", "c1")]),
            ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
            "disabled and unhealthy ones too"
        );
        assert_eq!(
            list(&[("clusterName", "c1"), ("healthyOnly", "true")]),
            ["10.0.0.1", "10.0.0.2"]
        );
        for (service, cluster, text) in [
            ("svc", "nowhere", "cluster nowhere is not found!"),
            (
                "nothing",
                "c1",
                "service DEFAULT_GROUP@@nothing is not found!",
            ),
        ] {
            let params = [
                ("serviceName", service),
                ("clusterName", cluster),
                ("accessToken", token.as_str()),
            ];
            let (status, body) = api.call("GET", ADMIN_LIST, &params);
            assert_eq!(status, 404, "{body}");
            assert_eq!(
                parse(&body),
                json!({"code": 30000, "message": "server error", "data": text})
            );
        }
        let mut deregister = with(&at("10.0.0.2", "c1"), "accessToken", &token);
        deregister.push(("ephemeral", "false"));
        assert_eq!(api.json("DELETE", ADMIN_INSTANCE, &deregister), ok);
        assert_eq!(list(&[("clusterName", "c1")]), ["10.0.0.1", "10.0.0.3"]);
    }
}

/// The older lines report their version on the V1 console state, and serve no v3 path.
#[test]
fn older_lines_report_their_version() {
    for (version, prefix) in [(NacosVersion::V1_4, "1.4"), (NacosVersion::V2, "2.")] {
        let api = line(version);
        let state = api.json("GET", "/nacos/v1/console/server/state", &[]);
        assert!(
            state["version"].as_str().unwrap().starts_with(prefix),
            "{state}"
        );
        assert_eq!(api.call("GET", "/nacos/v3/admin/core/state", &[]).0, 404);
        assert_eq!(api.call("POST", V3_LOGIN, &[]).0, 404);
    }
}

const ADMIN_INSTANCE: &str = "/nacos/v3/admin/ns/instance";
const ADMIN_SERVICES: &str = "/nacos/v3/admin/ns/service/list";
const ADMIN_LIST: &str = "/nacos/v3/admin/ns/instance/list";

/// `params` and one more.
fn with<'a>(
    params: &[(&'a str, &'a str)],
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut all = params.to_vec();
    all.push((name, value));
    all
}

/// 2.x and 3.x keep a modify for the address it names (`ip:port:cluster`, official
/// `InstanceOperatorClientImpl.updateInstance`), whether an instance is there or not: a modify
/// naming another cluster than the instance's answers ok and changes nothing visible, and
/// applies once the instance moves into that cluster. Through the V1 modify (2) and the v3
/// admin update (3.1, 3.2).
#[test]
fn a_modify_of_another_cluster_waits_for_the_instance() {
    for version in [NacosVersion::V2, NacosVersion::V3_1, NacosVersion::V3_2] {
        let api = line(version);
        let token = if version != NacosVersion::V2 {
            v3_token(&api)
        } else {
            String::new()
        };
        let at = |cluster: &'static str| {
            vec![
                ("serviceName", "svc"),
                ("ip", "10.0.0.1"),
                ("port", "80"),
                ("clusterName", cluster),
                ("accessToken", token.as_str()),
            ]
        };
        let (register_path, modify_path, get_path) = if version == NacosVersion::V2 {
            (INSTANCE, INSTANCE, INSTANCE)
        } else {
            (V3_INSTANCE, ADMIN_INSTANCE, ADMIN_INSTANCE)
        };
        let register = |cluster: &'static str| {
            let mut params = at(cluster);
            params.extend([("weight", "3"), ("metadata", r#"{"version":"1"}"#)]);
            let (status, body) = api.call("POST", register_path, &params);
            assert_eq!(status, 200, "{version}: {body}");
        };
        let get = |cluster: &'static str| {
            let got = api.json("GET", get_path, &at(cluster));
            if version == NacosVersion::V2 {
                got
            } else {
                got["data"].clone()
            }
        };
        register("A");

        let mut modify = at("B");
        modify.extend([
            ("weight", "9"),
            ("enabled", "false"),
            ("metadata", r#"{"zone":"b"}"#),
        ]);
        let (status, body) = api.call("PUT", modify_path, &modify);
        assert_eq!(status, 200, "{version}: {body}");
        let got = get("A");
        assert_eq!(
            (&got["weight"], &got["enabled"], &got["metadata"]),
            (&json!(3.0), &json!(true), &json!({"version": "1"})),
            "{version}: nothing visible changed"
        );

        register("B");
        let got = get("B");
        assert_eq!(
            (&got["weight"], &got["enabled"], &got["metadata"]),
            (
                &json!(9.0),
                &json!(false),
                &json!({"version": "1", "zone": "b"})
            ),
            "{version}: the modify applies in its cluster"
        );

        // Back in A, the instance is as registered; in B again, the modify is still kept.
        register("A");
        assert_eq!(get("A")["weight"], 3.0, "{version}");
        register("B");
        assert_eq!(get("B")["weight"], 9.0, "{version}");
    }
}
